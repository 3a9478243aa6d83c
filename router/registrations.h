// Procedures served by clients (routed RPC, a kreuz extension of WAMP v1).
// A session whose role allows it calls urn:kreuz:procedure:register(uri);
// from then on a CALL for that URI is sent to it as a server-to-client CALL
// under a call id of the router's own (AutobahnPython 0.8's "symmetric RPC"),
// and its CALLRESULT or CALLERROR goes back to the caller under the caller's
// call id. A callee that leaves or does not answer in time gives the caller a
// CALLERROR, never silence.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "router/backplane.h"
#include "router/dealer.h"
#include "router/timers.h"
#include "router/uris.h"
#include "wamp/message.h"

namespace kreuz::router {

class Realm;
class Session;

class Registrations {
public:
    explicit Registrations(Realm& realm) : realm_(realm) {}
    Registrations(const Registrations&) = delete;
    Registrations& operator=(const Registrations&) = delete;

    // Adds register and unregister to the realm's dealer.
    void add_procedures();
    // After a reload renewed the dealer: puts the sessions' procedures back,
    // except those the router now serves itself or the callee's rules no
    // longer allow, which end with a log line.
    void restore();

    // The callee's answer to a forwarded CALL; false when it answers no call
    // the router sent it (unknown, already timed out, or another's).
    bool on_result(Session& callee, const wamp::CallResult& result);
    bool on_error(Session& callee, const wamp::CallError& error);

    // The session is gone: its procedures are unregistered and the calls
    // waiting for it fail.
    void remove_session(const std::string& session_id);

    std::size_t registration_count() const { return owners_.size(); }
    std::size_t pending_count() const { return pending_.size(); }

    // In a cluster (router/backplane.h): the procedures this node's sessions
    // hold (claimed in the cluster), by URI and callee...
    std::vector<std::pair<std::string, std::string>> claimed() const;
    // ...and those of other nodes' sessions, which a CALL here reaches
    // through the backplane. A URI this node serves itself (configured, or
    // registered here) keeps its own procedure: built-in and backend
    // procedures run where the CALL arrives.
    void add_remote(const std::string& node, const std::string& uri, const std::string& callee_id);
    void remove_remote(const std::string& node, const std::string& uri);
    void remove_node(const std::string& node);
    // This node lost its claim on `uri` (Redis gave it to another node while
    // this one was cut off): the local registration ends.
    void lose_claim(const std::string& uri, const std::string& callee_id);
    // A CALL that another node forwarded to `callee_id`, a session of this node.
    void serve_remote(const std::string& callee_id, const wamp::Call& call, CallReply reply);
    std::size_t remote_count() const { return remote_.size(); }

private:
    struct PendingCall {
        std::string callee_id;
        CallReply reply;
        Timers::Id timeout;
    };

    void register_procedure(Session& caller, const wamp::Call& call, CallReply reply);
    void unregister_procedure(Session& caller, const wamp::Call& call, CallReply reply);
    void forward(const std::string& callee_id, const wamp::Call& call, CallReply reply);
    void install(const std::string& uri, const std::string& callee_id);
    void install_remote(const std::string& uri);
    // Drops the local registration of `uri` by `callee_id`, and its claim in the cluster.
    void drop(const std::string& uri, const std::string& callee_id);
    // The pending call `call_id` of `callee`, taken out of the table.
    std::optional<PendingCall> take(const Session& callee, const std::string& call_id);

    Realm& realm_;
    std::unordered_map<std::string, std::string> owners_;  // procedure URI -> callee session id
    std::unordered_map<std::string, std::unordered_set<std::string>> by_callee_;  // session id -> its URIs
    std::unordered_map<std::string, PendingCall> pending_;  // router call id -> the call
    std::unordered_map<std::string, RemoteProcedure> remote_;  // procedure URI -> its node and callee
    std::unordered_set<std::string> claiming_;  // URIs in owners_ whose claim in the cluster is not answered yet
    std::uint64_t next_call_ = 1;
};

}  // namespace kreuz::router
