// A node's part in a cluster of kreuz nodes that share PubSub and routed RPC
// through Redis (docs/CLUSTER.md). It implements the core's Backplane.
//
// PubSub (cluster.cpp): it holds a Redis channel for each topic this node's
// sessions subscribe to, relays local publications to the other nodes, and
// hands their publications to the local broker. Local subscribers never wait
// for Redis: the broker serves them before relaying, and goes on serving them
// while Redis is away.
//
// Routed RPC (cluster_rpc.cpp): a procedure is claimed in Redis with a key
// whose TTL its node renews with every heartbeat, so that one URI has one
// callee in the cluster and a dead node's URIs free themselves; nodes tell
// each other what they hold, forward CALLs to the callee's node and relay
// the answers. A node not heard from within node_timeout is gone: its
// procedures go, and the calls waiting for them fail with callee-gone.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include <uv.h>

#include <nlohmann/json.hpp>

#include "config/config.h"
#include "router/backplane.h"
#include "router/string_hash.h"
#include "router/cluster/redis_link.h"
#include "router/timers.h"

namespace kreuz::cluster {

using router::Realm;

// The node id when the configuration gives none: host name, pid and a random
// suffix, so that two nodes on one host, or a node restarted with the same
// pid in a fresh container, still differ. Only characters node ids allow.
std::string default_node_id();

class Cluster final : public router::Backplane {
public:
    Cluster(const config::ClusterConfig& config, std::string node_id, uv_loop_t* loop, Timers& timers);
    ~Cluster();
    Cluster(const Cluster&) = delete;
    Cluster& operator=(const Cluster&) = delete;

    // Connects in the background; the node serves its sessions meanwhile.
    void start();
    // Releases this node's procedures, says goodbye, fails the calls waiting
    // for other nodes, and closes the link (within a short grace for what is
    // queued), so that the loop can end.
    void shutdown();

    const std::string& node_id() const { return node_id_; }
    // Makes `realm` part of the cluster, before any of its sessions opens:
    // its broker and registrations reach the other nodes through this
    // backplane, its session ids carry this node's id, and the other nodes
    // may name it.
    void add_realm(Realm& realm);

    void topic_held(Realm& realm, const std::string& topic) override;
    void topic_released(Realm& realm, const std::string& topic) override;
    bool relaying() const override { return link_.up(); }
    void relay(const Realm& realm, const wamp::Publish& publication, const std::string& event_message) override;
    router::BackplaneStatus status() const override;

    void claim_procedure(Realm& realm, const std::string& uri, const std::string& callee_id, ClaimDone done) override;
    void release_procedure(Realm& realm, const std::string& uri, const std::string& callee_id) override;
    void forward_call(Realm& realm, const router::RemoteProcedure& procedure, const wamp::Call& call,
                      router::CallReply reply) override;

private:
    struct Claim {
        Realm* realm;
        std::string uri;
        std::string callee_id;
    };
    struct RemoteCall {
        std::string node;
        router::CallReply reply;
        Timers::Id timeout;
    };
    void on_message(std::string_view channel, std::string_view payload);
    void on_event(Realm& realm, const std::string& topic, std::string_view payload);

    // cluster_rpc.cpp
    void on_subscribed(std::string_view channel);
    void on_down();
    void on_control(std::string_view type, std::string_view body);
    void on_reply(std::string_view body);
    void on_call(const nlohmann::json& message, const std::string& node);
    void heartbeat();
    // Renews (or, after Redis lost it, takes again) every claim of this node;
    // a claim another node holds now ends the local registration.
    void renew_claims();
    void seen(const std::string& node);
    void node_gone(const std::string& node, const char* why);
    std::string state() const;
    void take_state(const nlohmann::json& message);
    void send_control(std::string_view type, std::string_view body);
    void send_to(const std::string& node, std::string_view type, std::string_view body);
    void fail_call(std::uint64_t seq, const char* error_uri, const std::string& description);
    void fail_calls(const std::string& node_or_all, const char* error_uri, const std::string& description);
    Realm* find_realm(const std::string& name) const;
    std::string claim_value(const std::string& callee_id) const { return node_id_ + "\n" + callee_id; }
    // At most one log line per interval for messages that are dropped, so
    // that a flood of them cannot flood the log.
    void report_dropped(std::string_view channel, const std::string& reason);

    const config::ClusterConfig config_;
    const std::string node_id_;
    const std::string own_prefix_;  // "<node_id>.", how this node's session ids start
    uv_loop_t* loop_;
    Timers& timers_;
    RedisLink link_;
    const std::string control_channel_;
    const std::string own_channel_;
    std::unordered_map<std::string, Realm*> realms_;  // by name
    std::unordered_map<std::string, Claim> claims_;   // procedure key -> what this node holds under it
    std::unordered_map<std::string, std::uint64_t> nodes_;  // other nodes -> when last heard (loop ms)
    std::unordered_map<std::uint64_t, RemoteCall> calls_;   // forwarded CALLs by their number here
    std::uint64_t next_call_ = 1;
    Timers::Id heartbeat_timer_ = 0;
    bool control_subscribed_ = false;
    bool own_subscribed_ = false;
    bool stopped_ = false;
    // Held by the answers of CALLs served for other nodes (router::CallReply's
    // sink), which may outlive this object in a realm's table of pending
    // calls: once it is gone, they have nobody to tell.
    std::shared_ptr<Cluster*> self_ = std::make_shared<Cluster*>(this);
    // Event channel -> the realm and topic it carries, for the topics held here.
    std::unordered_map<std::string, std::pair<Realm*, std::string>, router::StringHash, std::equal_to<>> topics_;
    std::uint64_t last_drop_report_ms_ = 0;
    std::uint64_t drops_unreported_ = 0;
    std::uint64_t events_sent_ = 0;
    std::uint64_t events_not_sent_ = 0;
    std::uint64_t events_received_ = 0;
    std::uint64_t remote_deliveries_ = 0;
    std::uint64_t invalid_ = 0;
    std::uint64_t calls_forwarded_ = 0;
    std::uint64_t calls_served_ = 0;
};

}  // namespace kreuz::cluster
