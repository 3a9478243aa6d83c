// A node's part in a cluster of kreuz nodes that share PubSub through Redis
// (docs/CLUSTER.md). It implements the broker's Backplane: it holds a Redis
// channel for each topic this node's sessions subscribe to, relays local
// publications to the other nodes, and hands their publications to the local
// broker. Local subscribers never wait for Redis: the broker serves them
// before relaying, and goes on serving them while Redis is away.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include <uv.h>

#include "config/config.h"
#include "router/backplane.h"
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
    Cluster(const Cluster&) = delete;
    Cluster& operator=(const Cluster&) = delete;

    // Connects in the background; the node serves its sessions meanwhile.
    void start();
    // Closes the link (within a short grace for what is queued), so that the
    // loop can end.
    void shutdown();

    const std::string& node_id() const { return node_id_; }

    void topic_held(Realm& realm, const std::string& topic) override;
    void topic_released(Realm& realm, const std::string& topic) override;
    bool relaying() const override { return link_.up(); }
    void relay(const Realm& realm, const wamp::Publish& publication, const std::string& event_message) override;
    router::BackplaneStatus status() const override;

private:
    struct TransparentHash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
    };

    void on_message(std::string_view channel, std::string_view payload);
    // At most one log line per interval for messages that are dropped, so
    // that a flood of them cannot flood the log.
    void report_dropped(std::string_view channel, const std::string& reason);

    const config::ClusterConfig config_;
    const std::string node_id_;
    const std::string own_prefix_;  // "<node_id>.", how this node's session ids start
    uv_loop_t* loop_;
    RedisLink link_;
    // Event channel -> the realm and topic it carries, for the topics held here.
    std::unordered_map<std::string, std::pair<Realm*, std::string>, TransparentHash, std::equal_to<>> topics_;
    std::uint64_t last_drop_report_ms_ = 0;
    std::uint64_t drops_unreported_ = 0;
    std::uint64_t events_sent_ = 0;
    std::uint64_t events_not_sent_ = 0;
    std::uint64_t events_received_ = 0;
    std::uint64_t remote_deliveries_ = 0;
    std::uint64_t invalid_ = 0;
};

}  // namespace kreuz::cluster
