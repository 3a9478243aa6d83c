// The RPC endpoint table of one realm: procedure URI -> the code that answers
// it. Built-in procedures live here today; HTTP-forwarded procedures and
// procedures registered by clients are further kinds of Procedure, added
// beside them without touching the broker or the session.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "wamp/message.h"

namespace kreuz::router {

class Session;
class Realm;

namespace error_uri {
inline constexpr const char* no_such_procedure = "http://api.wamp.ws/error#NoSuchRPCEndpoint";
inline constexpr const char* generic = "http://api.wamp.ws/error#generic";
inline constexpr const char* internal = "http://api.wamp.ws/error#internal";
inline constexpr const char* not_authorized = "http://api.wamp.ws/error#not_authorized";
inline constexpr const char* invalid_argument = "http://api.wamp.ws/error#invalid-argument";
inline constexpr const char* too_many_pending_calls = "urn:kreuz:error:too-many-pending-calls";
}  // namespace error_uri

// Answers one CALL, exactly once, now or later. It names the caller by id, so
// an answer that comes after the caller left is dropped instead of touching a
// dead session.
class CallReply {
public:
    CallReply(Realm& realm, std::string session_id, std::string call_id);
    CallReply(CallReply&& other) noexcept;
    CallReply& operator=(CallReply&&) = delete;
    CallReply(const CallReply&) = delete;
    ~CallReply();  // an unanswered call gets an internal error

    void result(const nlohmann::json& value);
    void error(const std::string& uri, const std::string& description,
               std::optional<nlohmann::json> details = std::nullopt);

private:
    void deliver(const std::string& message);

    Realm* realm_;
    std::string session_id_;
    std::string call_id_;
    bool answered_ = false;
};

using Procedure = std::function<void(Session& caller, const nlohmann::json& args, CallReply reply)>;

class Dealer {
public:
    explicit Dealer(Realm& realm) : realm_(realm) {}

    void add(std::string uri, Procedure procedure);
    bool has(const std::string& uri) const { return procedures_.count(uri) != 0; }

    // Runs the CALL (procedure already resolved from a CURIE) for `caller`.
    void call(Session& caller, const wamp::Call& call);

private:
    Realm& realm_;
    std::unordered_map<std::string, Procedure> procedures_;
};

}  // namespace kreuz::router
