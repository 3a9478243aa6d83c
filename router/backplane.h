// What a realm's broker tells the other nodes of a cluster, and what the
// operator pages read of it. The core knows only this interface: a single
// node has no backplane object at all (Realm::backplane() is null and the
// publish path pays one branch), and the Redis implementation lives in
// router/cluster/, which the core never includes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "router/dealer.h"
#include "wamp/message.h"

namespace kreuz::router {

class Realm;

struct BackplaneStatus {
    std::string node_id;
    bool connected = false;   // cross-node traffic flows
    std::string redis;        // where Redis is, as configured
    std::string last_error;   // why it is not connected; empty when it is
    std::uint64_t connects = 0;            // times the link came up
    std::uint64_t reconnect_attempts = 0;  // attempts after a failure or loss
    std::size_t redis_pending = 0;         // commands sent to Redis and not answered yet
    std::uint64_t events_sent = 0;         // publications relayed to the other nodes
    std::uint64_t events_not_sent = 0;     // publications kept local: Redis away or backlogged
    std::uint64_t events_received = 0;     // publications of other nodes heard
    std::uint64_t remote_deliveries = 0;   // EVENTs queued to local subscribers for those
    std::uint64_t invalid = 0;             // messages between nodes that were not understood
    std::size_t subscriptions = 0;         // Redis channels held for local subscribers
    std::size_t nodes = 0;                 // other nodes heard from within node_timeout
    std::uint64_t calls_forwarded = 0;     // CALLs sent to a callee on another node
    std::uint64_t calls_served = 0;        // CALLs of other nodes' callers run here
    std::size_t calls_pending = 0;         // forwarded CALLs not answered yet
};

// A procedure a session of another node registered.
struct RemoteProcedure {
    std::string node;
    std::string callee_id;
};

class Backplane {
public:
    // The first local subscriber of a topic, and the last one gone: the node
    // listens to the other nodes' publications on the topic only in between.
    virtual void topic_held(Realm& realm, const std::string& topic) = 0;
    virtual void topic_released(Realm& realm, const std::string& topic) = 0;
    // False while nothing would reach the other nodes, so that the broker
    // does not serialize an EVENT only to drop it.
    virtual bool relaying() const = 0;
    // A publication made on this node, already delivered to its own
    // subscribers; `event_message` is the EVENT as sent to them.
    virtual void relay(const Realm& realm, const wamp::Publish& publication, const std::string& event_message) = 0;
    virtual BackplaneStatus status() const = 0;

    // Routed RPC across nodes. A URI is registered once in the cluster: the
    // claim asks Redis and answers later, with a null error_uri when the URI
    // is this callee's now, else the CALLERROR to give the registering session.
    using ClaimDone = std::function<void(const char* error_uri, const std::string& description)>;
    virtual void claim_procedure(Realm& realm, const std::string& uri, const std::string& callee_id,
                                 ClaimDone done) = 0;
    // The callee unregistered it or left.
    virtual void release_procedure(Realm& realm, const std::string& uri, const std::string& callee_id) = 0;
    // A CALL for a procedure of another node; answered through `reply`, always.
    virtual void forward_call(Realm& realm, const RemoteProcedure& procedure, const wamp::Call& call,
                              CallReply reply) = 0;

protected:
    ~Backplane() = default;
};

}  // namespace kreuz::router
