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

#include "router/uris.h"
#include "wamp/message.h"

namespace kreuz::router {

class Session;
class Realm;

// Answers one CALL, exactly once, now or later. It names the caller by id, so
// an answer that comes after the caller left is dropped instead of touching a
// dead session.
class CallReply {
public:
    // What carries the answer of a caller on another node of a cluster: the
    // CALLRESULT or CALLERROR as serialized for it; its node counts it.
    using RemoteSink = std::function<void(std::string message)>;

    CallReply(Realm& realm, std::string session_id, std::string call_id);
    CallReply(RemoteSink sink, std::string call_id);
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
    RemoteSink sink_;  // set instead of realm_ for a caller on another node
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
