#include "router/cluster/cluster.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <memory>
#include <random>

#include <spdlog/spdlog.h>

#include "router/cluster/wire_format.h"
#include "router/realm.h"

namespace kreuz::cluster {

namespace {

constexpr std::uint64_t drop_report_interval_ms = 10000;

}  // namespace

std::string default_node_id() {
    std::array<char, 256> host{};
    if (gethostname(host.data(), host.size() - 1) != 0) host[0] = '\0';
    std::string id;
    for (const char* c = host.data(); *c != '\0' && id.size() < 40; ++c) {
        const bool allowed = std::isalnum(static_cast<unsigned char>(*c)) || *c == '-' || *c == '_';
        id += allowed ? *c : '-';
    }
    if (id.empty()) id = "kreuz";
    static constexpr std::string_view digits = "0123456789abcdefghijklmnopqrstuvwxyz";
    std::random_device random;
    std::string suffix;
    for (int i = 0; i < 6; ++i) suffix += digits[random() % digits.size()];
    return id + "-" + std::to_string(getpid()) + "-" + suffix;
}

Cluster::Cluster(const config::ClusterConfig& config, std::string node_id, uv_loop_t* loop, Timers& timers)
    : config_(config),
      node_id_(std::move(node_id)),
      own_prefix_(node_id_ + "."),
      loop_(loop),
      timers_(timers),
      link_(loop, timers, config,
            RedisLink::Events{[this](std::string_view channel, std::string_view payload) { on_message(channel, payload); },
                              [this](std::string_view channel) { on_subscribed(channel); }, [this] { on_down(); }}),
      control_channel_(control_channel(config.channel_prefix)),
      own_channel_(node_channel(config.channel_prefix, node_id_)) {}

Cluster::~Cluster() {
    timers_.cancel(heartbeat_timer_);
    for (auto& [seq, call] : calls_) timers_.cancel(call.timeout);
}

void Cluster::add_realm(Realm& realm) {
    realm.join_cluster(*this, node_id_);
    realms_.emplace(realm.name(), &realm);
}

void Cluster::start() {
    spdlog::info("cluster: node {}, Redis at {}, channels {}:*", node_id_, link_.address(), config_.channel_prefix);
    link_.subscribe(control_channel_);
    link_.subscribe(own_channel_);
    link_.start();
    heartbeat_timer_ = timers_.schedule(config_.heartbeat_ms, [this] { heartbeat(); });
}

void Cluster::topic_held(Realm& realm, const std::string& topic) {
    std::string channel = event_channel(config_.channel_prefix, realm.name(), topic);
    link_.subscribe(channel);
    topics_.emplace(std::move(channel), std::pair{&realm, topic});
}

void Cluster::topic_released(Realm& realm, const std::string& topic) {
    const std::string channel = event_channel(config_.channel_prefix, realm.name(), topic);
    link_.unsubscribe(channel);
    topics_.erase(channel);
}

void Cluster::relay(const Realm& realm, const wamp::Publish& publication, const std::string& event_message) {
    if (publication.eligible) {
        // Session ids carry their node: a list that names only this node's
        // sessions (or nobody) has no receiver elsewhere.
        const bool elsewhere = std::any_of(publication.eligible->begin(), publication.eligible->end(),
                                           [this](const std::string& id) { return !id.starts_with(own_prefix_); });
        if (!elsewhere) return;
    }
    const std::string channel = event_channel(config_.channel_prefix, realm.name(), publication.topic);
    if (link_.publish(channel, event_header(node_id_, publication), event_message)) {
        ++events_sent_;
    } else {
        ++events_not_sent_;
    }
}

void Cluster::on_message(std::string_view channel, std::string_view payload) {
    if (channel == control_channel_ || channel == own_channel_) {
        DecodeFailure failure;
        std::optional<ControlMessage> message = decode_control(payload, failure);
        if (!message) {
            ++invalid_;
            report_dropped(channel, failure.reason);
            return;
        }
        on_control(message->type, message->body);
        return;
    }
    // A publication that crossed our UNSUBSCRIBE finds no topic here.
    auto it = topics_.find(channel);
    if (it == topics_.end()) return;
    on_event(*it->second.first, it->second.second, payload);
}

void Cluster::on_event(Realm& realm, const std::string& topic, std::string_view payload) {
    DecodeFailure failure;
    std::optional<RemoteEvent> remote = decode_event(payload, failure);
    if (!remote) {
        ++invalid_;
        report_dropped(event_channel(config_.channel_prefix, realm.name(), topic), failure.reason);
        return;
    }
    // Redis hands this node's own publications back on the channels it holds;
    // their local subscribers had them when they were published.
    if (remote->origin_node == node_id_) return;
    ++events_received_;
    wamp::Publish filters{topic, nullptr, false, std::move(remote->exclude), std::move(remote->eligible)};
    remote_deliveries_ +=
        realm.broker().deliver_remote(filters, std::make_shared<const std::string>(remote->event_message));
}

void Cluster::report_dropped(std::string_view channel, const std::string& reason) {
    const std::uint64_t now = uv_now(loop_);
    if (last_drop_report_ms_ != 0 && now - last_drop_report_ms_ < drop_report_interval_ms) {
        ++drops_unreported_;
        return;
    }
    if (drops_unreported_ > 0) {
        spdlog::warn("cluster: dropped a message on {}: {} ({} more dropped since the last report)", channel, reason,
                     drops_unreported_);
    } else {
        spdlog::warn("cluster: dropped a message on {}: {}", channel, reason);
    }
    last_drop_report_ms_ = now;
    drops_unreported_ = 0;
}

router::BackplaneStatus Cluster::status() const {
    const RedisLinkStats& link = link_.stats();
    router::BackplaneStatus out;
    out.node_id = node_id_;
    out.connected = link_.up();
    out.redis = link_.address();
    if (!out.connected) out.last_error = link_.last_error().empty() ? "connecting" : link_.last_error();
    out.connects = link.connects;
    out.reconnect_attempts = link.attempts;
    out.redis_pending = link_.pending();
    out.events_sent = events_sent_;
    out.events_not_sent = events_not_sent_;
    out.events_received = events_received_;
    out.remote_deliveries = remote_deliveries_;
    out.invalid = invalid_;
    // This node's own two channels are not a topic's.
    const std::size_t own = (control_subscribed_ ? 1 : 0) + (own_subscribed_ ? 1 : 0);
    out.subscriptions = link_.subscribed_count() - std::min(own, link_.subscribed_count());
    out.nodes = nodes_.size();
    out.calls_forwarded = calls_forwarded_;
    out.calls_served = calls_served_;
    out.calls_pending = calls_.size();
    return out;
}

}  // namespace kreuz::cluster
