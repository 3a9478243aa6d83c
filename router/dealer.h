// The RPC endpoint table of one realm: procedure URI -> the code that answers
// it. Built-in procedures, procedures forwarded to HTTP backends and
// procedures registered by clients are all a Procedure; the table neither
// knows nor cares which kind answers.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
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
// Routed RPC (router/registrations.h).
inline constexpr const char* procedure_already_exists = "urn:kreuz:error:procedure-already-exists";
inline constexpr const char* no_such_registration = "urn:kreuz:error:no-such-registration";
inline constexpr const char* too_many_registrations = "urn:kreuz:error:too-many-registrations";
inline constexpr const char* callee_gone = "urn:kreuz:error:callee-gone";
inline constexpr const char* callee_timeout = "urn:kreuz:error:callee-timeout";
// Answers of procedures served by HTTP backends (router/http_backend.h).
inline constexpr const char* backend = "urn:kreuz:error:backend";
inline constexpr const char* backend_http_status = "urn:kreuz:error:backend-http-status";
inline constexpr const char* backend_invalid_response = "urn:kreuz:error:backend-invalid-response";
inline constexpr const char* backend_timeout = "urn:kreuz:error:backend-timeout";
inline constexpr const char* backend_unreachable = "urn:kreuz:error:backend-unreachable";
inline constexpr const char* backend_overloaded = "urn:kreuz:error:backend-overloaded";
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

    const std::string& session_id() const { return session_id_; }
    bool answered() const { return answered_; }

private:
    void deliver(std::string message, bool is_result);

    Realm* realm_;
    std::string session_id_;
    std::string call_id_;
    std::chrono::steady_clock::time_point started_;
    bool answered_ = false;
};

// `call` has its procedure resolved from any CURIE; a prefix procedure reads
// which URI it was called under there.
using Procedure = std::function<void(Session& caller, const wamp::Call& call, CallReply reply)>;

class Dealer {
public:
    explicit Dealer(Realm& realm) : realm_(realm) {}

    void add(std::string uri, Procedure procedure);
    // Serves every URI that starts with `uri` and has no exact procedure of
    // its own; the longest such prefix wins.
    void add_prefix(std::string uri, Procedure procedure);
    void remove(const std::string& uri) { procedures_.erase(uri); }
    // Forgets every procedure, before a reload adds them anew.
    void clear() {
        procedures_.clear();
        prefixes_.clear();
    }
    // An exact procedure or a prefix procedure covers `uri`.
    bool has(const std::string& uri) const { return find(uri) != nullptr; }
    bool has_exact(const std::string& uri) const { return procedures_.count(uri) != 0; }

    // Runs the CALL (procedure already resolved from a CURIE) for `caller`.
    void call(Session& caller, const wamp::Call& call);

private:
    const Procedure* find(const std::string& uri) const;

    Realm& realm_;
    std::unordered_map<std::string, Procedure> procedures_;
    // Ordered, so the candidates for a URI are found by walking back from its
    // position rather than scanning every prefix.
    std::map<std::string, Procedure, std::less<>> prefixes_;
};

}  // namespace kreuz::router
