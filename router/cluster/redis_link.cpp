#include "router/cluster/redis_link.h"

#include <arpa/inet.h>
#include <netdb.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <spdlog/spdlog.h>

#include "router/cluster/redis_uv_adapter.h"

namespace kreuz::cluster {

namespace {

constexpr std::uint32_t first_backoff_ms = 100;
// How long stop() lets the commands connection flush (a node's goodbye)
// before closing it regardless, so that shutdown never waits on Redis.
constexpr std::uint64_t stop_grace_ms = 500;
constexpr std::uint64_t unsubscribe_linger_ms = 1000;

RedisLink* link_of(const redisAsyncContext* context) { return static_cast<RedisLink*>(context->data); }

std::string_view text_of(const redisReply* reply) { return {reply->str, reply->len}; }

std::string describe_address(const config::ClusterConfig& config) {
    if (!config.redis_unix_path.empty()) return config.redis_unix_path;
    const bool ipv6 = config.redis_host.find(':') != std::string::npos;
    return (ipv6 ? "[" + config.redis_host + "]" : config.redis_host) + ":" + std::to_string(config.redis_port);
}

std::string error_of(const redisAsyncContext* context) {
    return context->errstr[0] != '\0' ? context->errstr : "connection closed";
}

void append_bulk(std::string& out, std::string_view value) {
    out += '$';
    out += std::to_string(value.size());
    out += "\r\n";
    out += value;
    out += "\r\n";
}

}  // namespace

struct RedisLink::Lookup {
    uv_getaddrinfo_t request{};
    RedisLink* owner = nullptr;
};

RedisLink::RedisLink(uv_loop_t* loop, Timers& timers, const config::ClusterConfig& config, Events events)
    : loop_(loop), timers_(timers), config_(config), events_(std::move(events)), where_(describe_address(config)) {}

RedisLink::~RedisLink() {
    timers_.cancel(attempt_timer_);
    timers_.cancel(sweep_timer_);
    abandon_lookup();
    // Callbacks that run while hiredis frees the contexts find no link.
    for (redisAsyncContext* context : {commands_, subscriber_}) {
        if (!context) continue;
        context->data = nullptr;
        redisAsyncFree(context);
    }
}

void RedisLink::abandon_lookup() {
    if (!lookup_) return;
    // The lookup runs on libuv's thread pool and may not be cancellable any
    // more; its callback frees it and, finding no owner, does nothing else.
    lookup_->owner = nullptr;
    uv_cancel(reinterpret_cast<uv_req_t*>(&lookup_->request));
    lookup_ = nullptr;
}

void RedisLink::start() {
    if (state_ == State::idle) resolve();
}

void RedisLink::resolve() {
    state_ = State::resolving;
    attempt_timer_ = timers_.schedule(config_.connect_timeout_ms, [this] {
        attempt_timer_ = 0;
        lose("no connection within " + std::to_string(config_.connect_timeout_ms) + " ms", nullptr);
    });
    if (!config_.redis_unix_path.empty()) {
        connect({});
        return;
    }
    auto* lookup = new Lookup;
    lookup->owner = this;
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    const int rc = uv_getaddrinfo(loop_, &lookup->request, on_resolved, config_.redis_host.c_str(), nullptr, &hints);
    if (rc != 0) {
        delete lookup;
        lose(std::string("cannot resolve ") + config_.redis_host + ": " + uv_strerror(rc), nullptr);
        return;
    }
    lookup_ = lookup;
}

void RedisLink::on_resolved(uv_getaddrinfo_t* request, int status, addrinfo* result) {
    auto* lookup = reinterpret_cast<Lookup*>(request);
    RedisLink* link = lookup->owner;
    std::string address;
    if (status == 0 && result) {
        std::array<char, INET6_ADDRSTRLEN> text{};
        const void* bytes = result->ai_family == AF_INET6
            ? static_cast<const void*>(&reinterpret_cast<const sockaddr_in6*>(result->ai_addr)->sin6_addr)
            : static_cast<const void*>(&reinterpret_cast<const sockaddr_in*>(result->ai_addr)->sin_addr);
        if (inet_ntop(result->ai_family, bytes, text.data(), text.size())) address = text.data();
    }
    uv_freeaddrinfo(result);
    delete lookup;
    if (!link) return;
    link->lookup_ = nullptr;
    if (address.empty()) {
        link->lose("cannot resolve " + link->config_.redis_host + ": " +
                       (status < 0 ? uv_strerror(status) : "no address"),
                   nullptr);
        return;
    }
    link->connect(address);
}

void RedisLink::connect(const std::string& address) {
    state_ = State::connecting;
    const bool opened = open(address, commands_) && open(address, subscriber_);
    if (!opened) lose(last_error_.empty() ? "cannot connect" : last_error_, nullptr);
}

bool RedisLink::open(const std::string& address, redisAsyncContext*& slot) {
    redisAsyncContext* context = address.empty() ? redisAsyncConnectUnix(config_.redis_unix_path.c_str())
                                                  : redisAsyncConnect(address.c_str(), config_.redis_port);
    if (!context) {
        last_error_ = "out of memory";
        return false;
    }
    if (context->err != 0 || !attach_to_loop(context, loop_)) {
        last_error_ = context->err != 0 ? error_of(context) : "cannot watch the socket";
        redisAsyncFree(context);
        return false;
    }
    // In its slot before the setup is queued: send_setup and the replies tell
    // the two connections apart by it.
    slot = context;
    context->data = this;
    redisAsyncSetConnectCallback(context, on_connect);
    redisAsyncSetDisconnectCallback(context, on_disconnect);
    // Queued now: hiredis 0.14 watches a connecting socket only once a
    // command waits to be written, so without one a refused or silent
    // connect would never be noticed.
    send_setup(context);
    return true;
}

void RedisLink::on_connect(const redisAsyncContext* context, int status) {
    RedisLink* link = link_of(context);
    if (!link) return;
    if (status != REDIS_OK) {
        // hiredis frees the context when this callback returns.
        if (context == link->commands_) link->commands_ = nullptr;
        if (context == link->subscriber_) link->subscriber_ = nullptr;
        link->lose("cannot connect: " + error_of(context), context);
        return;
    }
    // Connected: the setup commands queued by open() go out now.
}

void RedisLink::on_disconnect(const redisAsyncContext* context, int) {
    RedisLink* link = link_of(context);
    if (!link) return;
    // A context the link already let go of is being freed on purpose.
    if (context != link->commands_ && context != link->subscriber_) return;
    if (context == link->commands_) link->commands_ = nullptr;
    if (context == link->subscriber_) link->subscriber_ = nullptr;
    if (link->state_ == State::stopped) {
        link->timers_.cancel(link->attempt_timer_);
        link->attempt_timer_ = 0;
        return;
    }
    link->lose("connection lost: " + error_of(context), context);
}

void RedisLink::send_setup(redisAsyncContext* context) {
    int& owed = context == commands_ ? commands_setup_ : subscriber_setup_;
    owed = 0;
    if (!config_.password.empty()) {
        std::array<const char*, 3> argv{"AUTH", nullptr, nullptr};
        std::array<std::size_t, 3> lengths{4, 0, 0};
        int argc = 1;
        if (!config_.username.empty()) {
            argv[argc] = config_.username.c_str();
            lengths[argc++] = config_.username.size();
        }
        argv[argc] = config_.password.c_str();
        lengths[argc++] = config_.password.size();
        if (redisAsyncCommandArgv(context, on_setup_reply, nullptr, argc, argv.data(), lengths.data()) == REDIS_OK) {
            ++owed;
        }
    }
    // Pub/Sub ignores databases; SELECT still tells a wrong number early.
    if (context == commands_ && config_.redis_db != 0) {
        const std::string db = std::to_string(config_.redis_db);
        std::array<const char*, 2> argv{"SELECT", db.c_str()};
        std::array<std::size_t, 2> lengths{6, db.size()};
        if (redisAsyncCommandArgv(context, on_setup_reply, nullptr, 2, argv.data(), lengths.data()) == REDIS_OK) {
            ++owed;
        }
    }
    // Last: its PONG says the connection is ready whatever came before.
    if (redisAsyncCommand(context, on_setup_reply, nullptr, "PING") == REDIS_OK) ++owed;
}

void RedisLink::on_setup_reply(redisAsyncContext* context, void* reply, void*) {
    RedisLink* link = link_of(context);
    auto* r = static_cast<redisReply*>(reply);
    if (!link || !r) return;  // the context is being freed
    if (r->type == REDIS_REPLY_ERROR) {
        link->lose("Redis refused the connection's setup: " + std::string(text_of(r)), nullptr);
        return;
    }
    int& owed = context == link->commands_ ? link->commands_setup_ : link->subscriber_setup_;
    if (--owed == 0) link->setup_done(context);
}

void RedisLink::setup_done(redisAsyncContext* context) {
    if (context == commands_) commands_ready_ = true;
    if (context == subscriber_) {
        subscriber_ready_ = true;
        std::vector<std::string> names;
        names.reserve(channels_.size());
        for (const auto& [name, channel] : channels_) names.push_back(name);
        for (const std::string& name : names) reconcile(name);
    }
    if (!commands_ready_ || !subscriber_ready_) return;
    state_ = State::up;
    timers_.cancel(attempt_timer_);
    attempt_timer_ = 0;
    backoff_ms_ = 0;
    last_error_.clear();
    ++stats_.connects;
    spdlog::info("cluster: connected to Redis at {}", where_);
}

bool RedisLink::accepting() const { return state_ == State::up && pending_ < config_.max_pending; }

// Commands are formatted here rather than by hiredis's printf-like formatter:
// one buffer, sized once, for commands that carry whole EVENTs.
bool RedisLink::command(std::initializer_list<std::string_view> arguments, OnReply on_reply) {
    if (!accepting()) return false;
    std::size_t size = 16;
    for (std::string_view argument : arguments) size += argument.size() + 16;
    std::string text;
    text.reserve(size);
    text += '*';
    text += std::to_string(arguments.size());
    text += "\r\n";
    for (std::string_view argument : arguments) append_bulk(text, argument);
    return send(text, std::move(on_reply));
}

bool RedisLink::publish(std::string_view channel, std::string_view header, std::string_view body, OnReply on_reply) {
    if (!accepting()) return false;
    // Header and body are one argument, written straight into the command:
    // an EVENT's bytes are copied once on their way out, not first into a
    // payload and then into the command.
    std::string text;
    text.reserve(64 + channel.size() + header.size() + body.size());
    text += "*3\r\n";
    append_bulk(text, "PUBLISH");
    append_bulk(text, channel);
    text += '$';
    text += std::to_string(header.size() + body.size());
    text += "\r\n";
    text.append(header).append(body).append("\r\n");
    return send(text, std::move(on_reply));
}

bool RedisLink::send(const std::string& text, OnReply on_reply) {
    // Freed by on_command_reply, which hiredis calls exactly once, with a
    // null reply when the connection goes first.
    auto* callback = on_reply ? new OnReply(std::move(on_reply)) : nullptr;
    if (redisAsyncFormattedCommand(commands_, on_command_reply, callback, text.data(), text.size()) != REDIS_OK) {
        delete callback;
        return false;
    }
    ++pending_;
    return true;
}

void RedisLink::on_command_reply(redisAsyncContext* context, void* reply, void* privdata) {
    std::unique_ptr<OnReply> callback(static_cast<OnReply*>(privdata));
    RedisLink* link = link_of(context);
    if (!link) return;  // the link itself is being destroyed: nobody to tell
    --link->pending_;
    if (callback) (*callback)(static_cast<const redisReply*>(reply));
}

void RedisLink::subscribe(const std::string& channel) {
    channels_[channel].wanted = true;
    if (subscriber_ready_) reconcile(channel);
}

void RedisLink::unsubscribe(const std::string& channel) {
    auto it = channels_.find(channel);
    if (it == channels_.end()) return;
    it->second.wanted = false;
    it->second.unwanted_since_ms = uv_now(loop_);
    if (it->second.state == Subscription::none) {
        channels_.erase(it);
    } else if (sweep_timer_ == 0 && state_ != State::stopped) {
        sweep_timer_ = timers_.schedule(unsubscribe_linger_ms, [this] { sweep(); });
    }
}

void RedisLink::sweep() {
    sweep_timer_ = 0;
    std::vector<std::string> unwanted;
    for (const auto& [name, channel] : channels_) {
        if (!channel.wanted) unwanted.push_back(name);
    }
    if (subscriber_ready_) {
        for (const std::string& name : unwanted) reconcile(name);
    }
    const bool lingering = std::any_of(channels_.begin(), channels_.end(), [](const auto& entry) {
        return !entry.second.wanted && entry.second.state != Subscription::none;
    });
    if (lingering && state_ != State::stopped) {
        sweep_timer_ = timers_.schedule(unsubscribe_linger_ms, [this] { sweep(); });
    }
}

void RedisLink::reconcile(const std::string& name) {
    auto it = channels_.find(name);
    if (it == channels_.end()) return;
    Channel& channel = it->second;
    const char* command = nullptr;
    if (channel.wanted && channel.state == Subscription::none) {
        command = "SUBSCRIBE";
        channel.state = Subscription::subscribing;
    } else if (!channel.wanted && channel.state == Subscription::subscribed &&
               uv_now(loop_) - channel.unwanted_since_ms >= unsubscribe_linger_ms) {
        command = "UNSUBSCRIBE";
        channel.state = Subscription::unsubscribing;
    } else if (!channel.wanted && channel.state == Subscription::none) {
        channels_.erase(it);
        return;
    }
    if (!command) return;
    std::array<const char*, 2> argv{command, name.c_str()};
    std::array<std::size_t, 2> lengths{std::char_traits<char>::length(command), name.size()};
    redisAsyncCommandArgv(subscriber_, on_subscriber_reply, nullptr, 2, argv.data(), lengths.data());
}

void RedisLink::on_subscriber_reply(redisAsyncContext* context, void* reply, void*) {
    RedisLink* link = link_of(context);
    auto* r = static_cast<redisReply*>(reply);
    if (!link || !r || r->type != REDIS_REPLY_ARRAY || r->elements < 3) return;
    const redisReply* kind = r->element[0];
    const redisReply* channel = r->element[1];
    if (kind->type != REDIS_REPLY_STRING || channel->type != REDIS_REPLY_STRING) return;
    const std::string_view type = text_of(kind);
    if (type == "message") {
        const redisReply* payload = r->element[2];
        if (payload->type != REDIS_REPLY_STRING) return;
        link->events_.message(text_of(channel), text_of(payload));
        return;
    }
    const std::string name(text_of(channel));
    auto it = link->channels_.find(name);
    if (it == link->channels_.end()) return;
    if (type == "subscribe") {
        it->second.state = Subscription::subscribed;
        if (it->second.wanted && link->events_.subscribed) link->events_.subscribed(name);
    } else if (type == "unsubscribe") {
        it->second.state = Subscription::none;
    }
    link->reconcile(name);
}

void RedisLink::lose(const std::string& reason, const redisAsyncContext* dying) {
    if (state_ == State::stopped || state_ == State::backoff) return;
    const bool was_up = state_ == State::up;
    state_ = State::backoff;
    timers_.cancel(attempt_timer_);
    attempt_timer_ = 0;
    abandon_lookup();
    commands_ready_ = subscriber_ready_ = false;
    for (auto it = channels_.begin(); it != channels_.end();) {
        it->second.state = Subscription::none;
        it = it->second.wanted ? std::next(it) : channels_.erase(it);
    }
    // Let go of both first, so that the disconnect callbacks these frees
    // run see contexts that are no longer the link's.
    redisAsyncContext* contexts[2] = {commands_, subscriber_};
    commands_ = subscriber_ = nullptr;
    for (redisAsyncContext* context : contexts) {
        if (context && context != dying) redisAsyncFree(context);
    }
    if (was_up) {
        spdlog::warn("cluster: lost Redis at {} ({}); serving local sessions only, reconnecting", where_, reason);
    } else if (reason != last_error_) {
        // Once per change of reason: a Redis that stays away does not fill the log.
        spdlog::warn("cluster: no Redis at {} ({}); serving local sessions only, retrying", where_, reason);
    }
    last_error_ = reason;
    if (was_up && events_.down) events_.down();
    schedule_reconnect();
}

void RedisLink::schedule_reconnect() {
    backoff_ms_ = backoff_ms_ == 0 ? first_backoff_ms : std::min(backoff_ms_ * 2, config_.reconnect_max_ms);
    // Half fixed, half random: every node that lost the same Redis comes back
    // within the same bound, but not all in the same millisecond.
    const std::uint32_t half = backoff_ms_ / 2;
    const std::uint32_t delay = half + std::uniform_int_distribution<std::uint32_t>(0, backoff_ms_ - half)(jitter_);
    attempt_timer_ = timers_.schedule(delay, [this] {
        attempt_timer_ = 0;
        ++stats_.attempts;
        resolve();
    });
}

std::size_t RedisLink::subscribed_count() const {
    return static_cast<std::size_t>(std::count_if(channels_.begin(), channels_.end(), [](const auto& entry) {
        return entry.second.state == Subscription::subscribed;
    }));
}

void RedisLink::stop() {
    const State was = state_;
    state_ = State::stopped;
    timers_.cancel(attempt_timer_);
    attempt_timer_ = 0;
    timers_.cancel(sweep_timer_);
    sweep_timer_ = 0;
    abandon_lookup();
    if (redisAsyncContext* subscriber = subscriber_) {
        subscriber_ = nullptr;
        redisAsyncFree(subscriber);
    }
    if (!commands_) return;
    if (was != State::up) {
        redisAsyncContext* commands = commands_;
        commands_ = nullptr;
        redisAsyncFree(commands);
        return;
    }
    // Flushes what is queued, then closes; on_disconnect clears commands_.
    redisAsyncDisconnect(commands_);
    if (!commands_) return;
    attempt_timer_ = timers_.schedule(stop_grace_ms, [this] {
        attempt_timer_ = 0;
        if (redisAsyncContext* commands = commands_) {
            commands_ = nullptr;
            redisAsyncFree(commands);
        }
    });
}

}  // namespace kreuz::cluster
