// The node's two connections to Redis, on the router's own loop through
// hiredis (router/cluster/redis_uv_adapter.h): one for commands (PUBLISH), one
// in subscribed mode (a Redis connection that subscribes can send nothing
// else). It knows channels and payloads, not what they mean;
// router/cluster/cluster.h gives them meaning.
//
// The link is up when both connections are connected and authenticated. Any
// failure takes both down together, so that "up" always means a node can both
// send and hear; then it reconnects with capped exponential backoff and
// jitter (so that nodes that lost the same Redis do not return in step) and
// subscribes again to every channel still wanted. Nothing here blocks the loop: the host
// name is resolved with uv_getaddrinfo and hiredis only ever gets an address.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <random>
#include <string>
#include <string_view>
#include <unordered_map>

#include <uv.h>

#include "config/config.h"
#include "router/timers.h"

struct redisAsyncContext;
struct redisReply;

namespace kreuz::cluster {

using router::Timers;

struct RedisLinkStats {
    std::uint64_t connects = 0;      // times the link came up
    std::uint64_t attempts = 0;      // connection attempts after the first
};

class RedisLink {
public:
    struct Events {
        // A message heard on a subscribed channel.
        std::function<void(std::string_view channel, std::string_view payload)> message;
        // Redis confirmed a subscription (again, after a reconnect).
        std::function<void(std::string_view channel)> subscribed;
        // The link went down after having been up.
        std::function<void()> down;
    };
    // The answer to one command: Redis's reply, or nullptr when the link went
    // down before it came.
    using OnReply = std::function<void(const redisReply* reply)>;

    RedisLink(uv_loop_t* loop, Timers& timers, const config::ClusterConfig& config, Events events);
    ~RedisLink();
    RedisLink(const RedisLink&) = delete;
    RedisLink& operator=(const RedisLink&) = delete;

    void start();
    // Sends what is queued (within a short grace), then closes for good.
    void stop();

    bool up() const { return state_ == State::up; }
    const std::string& last_error() const { return last_error_; }
    // "host:port" or the socket's path, for logs and /health.
    const std::string& address() const { return where_; }
    const RedisLinkStats& stats() const { return stats_; }
    std::size_t pending() const { return pending_; }
    // Channels Redis has confirmed and the link still holds.
    std::size_t subscribed_count() const;

    // False when the command was not sent: the link is down or max_pending
    // commands already wait for Redis. Commands are answered in the order
    // they were sent, on one connection.
    bool command(std::initializer_list<std::string_view> arguments, OnReply on_reply = {});
    // PUBLISH of the payload header + body (see wire_format.h).
    bool publish(std::string_view channel, std::string_view header, std::string_view body, OnReply on_reply = {});
    // Wanted until unsubscribe(); kept across reconnects. The UNSUBSCRIBE
    // waits a second: a page reload drops its topics and takes them again at
    // once, and keeping the channel through that gap costs nothing while
    // leaving and rejoining it would lose what is published in between.
    void subscribe(const std::string& channel);
    void unsubscribe(const std::string& channel);

private:
    enum class State { idle, resolving, connecting, up, backoff, stopped };
    // Where one channel stands in Redis. At most one SUBSCRIBE or UNSUBSCRIBE
    // per channel is in flight: hiredis keeps one callback per channel name
    // and drops it on an unsubscribe reply, so a SUBSCRIBE sent before that
    // reply would be confirmed and then never heard.
    enum class Subscription { none, subscribing, subscribed, unsubscribing };
    struct Channel {
        bool wanted = false;
        Subscription state = Subscription::none;
        std::uint64_t unwanted_since_ms = 0;
    };

    static void on_resolved(uv_getaddrinfo_t* request, int status, struct addrinfo* result);
    static void on_connect(const redisAsyncContext* context, int status);
    static void on_disconnect(const redisAsyncContext* context, int status);
    static void on_setup_reply(redisAsyncContext* context, void* reply, void* privdata);
    static void on_command_reply(redisAsyncContext* context, void* reply, void* privdata);
    static void on_subscriber_reply(redisAsyncContext* context, void* reply, void* privdata);

    void resolve();
    void abandon_lookup();
    bool accepting() const;
    bool send(const std::string& text, OnReply on_reply);
    // address: the resolved IP, or empty for the configured Unix socket.
    void connect(const std::string& address);
    bool open(const std::string& address, redisAsyncContext*& slot);
    void send_setup(redisAsyncContext* context);
    void setup_done(redisAsyncContext* context);
    void reconcile(const std::string& channel);
    // Sends the UNSUBSCRIBEs whose linger is over.
    void sweep();
    // Both connections go; a reconnect is scheduled unless the link is stopped.
    // `dying` is a context hiredis frees itself once its callback returns.
    void lose(const std::string& reason, const redisAsyncContext* dying);
    void schedule_reconnect();

    uv_loop_t* loop_;
    Timers& timers_;
    const config::ClusterConfig config_;
    Events events_;
    State state_ = State::idle;
    redisAsyncContext* commands_ = nullptr;
    redisAsyncContext* subscriber_ = nullptr;
    bool commands_ready_ = false;
    bool subscriber_ready_ = false;
    // Replies still owed by the connections' setup commands (AUTH, SELECT).
    int commands_setup_ = 0;
    int subscriber_setup_ = 0;
    // The pending host lookup; its callback finds the link through it, or not
    // at all once the link has gone.
    struct Lookup;
    Lookup* lookup_ = nullptr;
    Timers::Id attempt_timer_ = 0;  // connect timeout, backoff or stop grace
    Timers::Id sweep_timer_ = 0;
    std::uint32_t backoff_ms_ = 0;
    std::unordered_map<std::string, Channel> channels_;
    std::size_t pending_ = 0;  // command replies owed
    std::string last_error_;
    const std::string where_;
    std::minstd_rand jitter_{std::random_device{}()};
    RedisLinkStats stats_;
};

}  // namespace kreuz::cluster
