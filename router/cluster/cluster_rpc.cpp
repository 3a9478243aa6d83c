// Routed RPC across nodes, and the nodes' knowledge of each other
// (cluster.h). Every state change here is driven by the loop: a heartbeat
// timer, a message from Redis, or a reply to a command.
#include <hiredis/hiredis.h>

#include <charconv>
#include <vector>

#include <spdlog/spdlog.h>

#include "router/cluster/cluster.h"
#include "router/cluster/wire_format.h"
#include "router/realm.h"
#include "router/uris.h"

namespace kreuz::cluster {

namespace {

using nlohmann::json;

using router::error_uri::cluster_unavailable;

// Renews this node's claim, or takes it again when Redis lost it (a restart
// without persistence, or an absence longer than the TTL); 0 when another
// node holds the key now. One script, so that nothing comes in between.
constexpr std::string_view renew_script =
    "local v = redis.call('GET', KEYS[1]) "
    "if v == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end "
    "if not v then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end "
    "return 0";
// Deletes the claim only if it is still this node's.
constexpr std::string_view release_script =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";

std::string string_field(const json& object, const char* key) {
    auto it = object.find(key);
    return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

void Cluster::claim_procedure(Realm& realm, const std::string& uri, const std::string& callee_id, ClaimDone done) {
    const std::string no_redis = "registering needs the cluster's Redis, which keeps a procedure's URI unique, "
                                 "and this node has no connection to it";
    if (!link_.up()) {
        done(cluster_unavailable, no_redis);
        return;
    }
    std::string key = procedure_key(config_.channel_prefix, realm.name(), uri);
    const std::string ttl = std::to_string(config_.node_timeout_ms);
    const bool sent = link_.command(
        {"SET", key, claim_value(callee_id), "NX", "PX", ttl},
        [this, key, realm = &realm, uri, callee_id, done, no_redis](const redisReply* reply) {
            if (!reply || reply->type == REDIS_REPLY_ERROR) {
                done(cluster_unavailable, reply ? std::string(reply->str, reply->len) : no_redis);
                return;
            }
            if (reply->type == REDIS_REPLY_NIL) {
                done(router::error_uri::procedure_already_exists, uri + " is already registered on another node");
                return;
            }
            claims_[key] = Claim{realm, uri, callee_id};
            send_control("reg", json{{"node", node_id_}, {"realm", realm->name()}, {"uri", uri}, {"callee", callee_id}}
                                    .dump());
            done(nullptr, {});
        });
    if (!sent) done(cluster_unavailable, no_redis);
}

void Cluster::release_procedure(Realm& realm, const std::string& uri, const std::string& callee_id) {
    const std::string key = procedure_key(config_.channel_prefix, realm.name(), uri);
    claims_.erase(key);
    // Without Redis the claim is not renewed and expires by itself.
    link_.command({"EVAL", release_script, "1", key, claim_value(callee_id)});
    send_control("unreg", json{{"node", node_id_}, {"realm", realm.name()}, {"uri", uri}}.dump());
}

void Cluster::forward_call(Realm& realm, const router::RemoteProcedure& procedure, const wamp::Call& call,
                           router::CallReply reply) {
    if (!link_.up()) {
        reply.error(cluster_unavailable,
                    call.procedure + " is served on node " + procedure.node + ", and this node has no connection to Redis");
        return;
    }
    const std::uint64_t seq = next_call_++;
    // The callee's node times the callee out and answers so; this is for a
    // node that never answers at all.
    const std::uint64_t limit = std::uint64_t{realm.config().callee_timeout_ms} + config_.node_timeout_ms;
    const Timers::Id timeout = timers_.schedule(limit, [this, seq, node = procedure.node] {
        fail_call(seq, router::error_uri::callee_timeout, "node " + node + " did not answer in time");
    });
    calls_.emplace(seq, RemoteCall{procedure.node, std::move(reply), timeout});
    ++calls_forwarded_;
    const std::string body = json{{"node", node_id_},
                                  {"seq", seq},
                                  {"realm", realm.name()},
                                  {"callee", procedure.callee_id},
                                  {"procedure", call.procedure},
                                  {"args", call.args}}
                                 .dump();
    const bool sent = link_.publish(node_channel(config_.channel_prefix, procedure.node), control_header("call"), body,
                                    [this, seq, node = procedure.node](const redisReply* published) {
                                        // Nobody listens on the node's channel: it is gone.
                                        if (published && published->type == REDIS_REPLY_INTEGER && published->integer == 0) {
                                            fail_call(seq, router::error_uri::callee_gone,
                                                      "node " + node + " is no longer in the cluster");
                                        }
                                    });
    if (!sent) fail_call(seq, cluster_unavailable, "the cluster's Redis is not taking more commands");
}

void Cluster::fail_call(std::uint64_t seq, const char* error_uri, const std::string& description) {
    auto it = calls_.find(seq);
    if (it == calls_.end()) return;
    timers_.cancel(it->second.timeout);
    router::CallReply reply = std::move(it->second.reply);
    calls_.erase(it);
    reply.error(error_uri, description);
}

void Cluster::fail_calls(const std::string& node_or_all, const char* error_uri, const std::string& description) {
    std::vector<std::uint64_t> failing;
    for (const auto& [seq, call] : calls_) {
        if (node_or_all.empty() || call.node == node_or_all) failing.push_back(seq);
    }
    for (std::uint64_t seq : failing) fail_call(seq, error_uri, description);
}

void Cluster::on_subscribed(std::string_view channel) {
    if (channel == control_channel_) control_subscribed_ = true;
    if (channel == own_channel_) own_subscribed_ = true;
    if ((channel != control_channel_ && channel != own_channel_) || !control_subscribed_ || !own_subscribed_) return;
    // (Back) in the cluster: the claims are renewed before anything is
    // announced, every node known gets a full timeout from now, and the
    // others learn what this node holds and answer with what they hold.
    renew_claims();
    const std::uint64_t now = uv_now(loop_);
    for (auto& [node, last_seen] : nodes_) last_seen = now;
    send_control("hello", state());
}

void Cluster::on_down() {
    control_subscribed_ = own_subscribed_ = false;
    fail_calls({}, cluster_unavailable, "the connection to Redis was lost before the answer came");
}

void Cluster::heartbeat() {
    heartbeat_timer_ = timers_.schedule(config_.heartbeat_ms, [this] { heartbeat(); });
    if (!link_.up() || !control_subscribed_ || !own_subscribed_) return;
    send_control("hb", json{{"node", node_id_}}.dump());
    renew_claims();
    const std::uint64_t now = uv_now(loop_);
    std::vector<std::string> silent;
    for (const auto& [node, last_seen] : nodes_) {
        if (now - last_seen > config_.node_timeout_ms) silent.push_back(node);
    }
    for (const std::string& node : silent) node_gone(node, "sent no heartbeat within node_timeout");
}

void Cluster::renew_claims() {
    const std::string ttl = std::to_string(config_.node_timeout_ms);
    for (const auto& [key, claim] : claims_) {
        link_.command({"EVAL", renew_script, "1", key, claim_value(claim.callee_id), ttl},
                      [this, key](const redisReply* reply) {
                          if (!reply || reply->type != REDIS_REPLY_INTEGER || reply->integer != 0) return;
                          auto it = claims_.find(key);
                          if (it == claims_.end()) return;
                          // The rule of docs/CLUSTER.md: the claim in Redis wins.
                          const Claim lost = it->second;
                          claims_.erase(it);
                          lost.realm->registrations().lose_claim(lost.uri, lost.callee_id);
                      });
    }
}

void Cluster::seen(const std::string& node) {
    if (node.empty() || node == node_id_) return;
    auto [it, joined] = nodes_.try_emplace(node, uv_now(loop_));
    it->second = uv_now(loop_);
    if (!joined) return;
    spdlog::info("cluster: node {} joined", node);
    // A node heard for the first time tells what it holds.
    send_to(node, "sync", json{{"node", node_id_}}.dump());
}

void Cluster::node_gone(const std::string& node, const char* why) {
    if (nodes_.erase(node) != 0) {
        // A goodbye is routine; silence is what an operator must look into.
        const bool said_goodbye = std::string_view(why) == "left the cluster";
        spdlog::log(said_goodbye ? spdlog::level::info : spdlog::level::warn, "cluster: node {} {}; its procedures are gone",
                    node, why);
    }
    for (const auto& [name, realm] : realms_) realm->registrations().remove_node(node);
    fail_calls(node, router::error_uri::callee_gone, "node " + node + " left the cluster");
}

std::string Cluster::state() const {
    json realms = json::object();
    for (const auto& [name, realm] : realms_) {
        json procedures = json::object();
        for (const auto& [uri, callee_id] : realm->registrations().claimed()) procedures[uri] = callee_id;
        if (!procedures.empty()) realms[name] = std::move(procedures);
    }
    return json{{"node", node_id_}, {"realms", std::move(realms)}}.dump();
}

void Cluster::take_state(const json& message) {
    const std::string node = string_field(message, "node");
    const json* realms = nullptr;
    if (auto it = message.find("realms"); it != message.end() && it->is_object()) realms = &*it;
    for (const auto& [name, realm] : realms_) {
        realm->registrations().remove_node(node);
        if (!realms) continue;
        auto procedures = realms->find(name);
        if (procedures == realms->end() || !procedures->is_object()) continue;
        for (const auto& [uri, callee] : procedures->items()) {
            if (callee.is_string()) realm->registrations().add_remote(node, uri, callee.get<std::string>());
        }
    }
}

void Cluster::send_control(std::string_view type, std::string_view body) {
    link_.publish(control_channel_, control_header(type), body);
}

void Cluster::send_to(const std::string& node, std::string_view type, std::string_view body) {
    link_.publish(node_channel(config_.channel_prefix, node), control_header(type), body);
}

Realm* Cluster::find_realm(const std::string& name) const {
    auto it = realms_.find(name);
    return it == realms_.end() ? nullptr : it->second;
}

void Cluster::on_control(std::string_view type, std::string_view body) {
    if (type == "reply") {
        on_reply(body);
        return;
    }
    const json message = json::parse(body, nullptr, false);
    const std::string node = message.is_object() ? string_field(message, "node") : std::string();
    if (node.empty()) {
        ++invalid_;
        report_dropped(control_channel_, "a " + std::string(type) + " message without its node");
        return;
    }
    if (node == node_id_) return;  // this node's own announcements come back on the control channel
    if (type == "bye") {
        node_gone(node, "left the cluster");
        return;
    }
    seen(node);
    if (type == "hb") return;
    if (type == "sync") {
        send_to(node, "state", state());
        return;
    }
    if (type == "hello" || type == "state") {
        take_state(message);
        if (type == "hello") send_to(node, "state", state());
        return;
    }
    if (type == "call") {
        on_call(message, node);
        return;
    }
    Realm* realm = find_realm(string_field(message, "realm"));
    const std::string uri = string_field(message, "uri");
    if (type == "reg" || type == "unreg") {
        if (!realm || uri.empty()) return;  // a realm only the other node has
        if (type == "reg") {
            realm->registrations().add_remote(node, uri, string_field(message, "callee"));
        } else {
            realm->registrations().remove_remote(node, uri);
        }
        return;
    }
    // A type of a newer node within the same version: ignored, as a newer
    // version's messages are.
    ++invalid_;
    report_dropped(control_channel_, "unknown message type " + std::string(type));
}

void Cluster::on_call(const json& message, const std::string& node) {
    const auto seq = message.find("seq");
    if (seq == message.end() || !seq->is_number_unsigned()) {
        ++invalid_;
        report_dropped(own_channel_, "a call without its number");
        return;
    }
    ++calls_served_;
    router::CallReply reply(
        [self = std::weak_ptr<Cluster*>(self_), node](std::string answer) {
            if (auto cluster = self.lock()) (*cluster)->send_to(node, "reply", answer);
        },
        std::to_string(seq->get<std::uint64_t>()));
    const std::string procedure = string_field(message, "procedure");
    Realm* realm = find_realm(string_field(message, "realm"));
    if (!realm) {
        reply.error(router::error_uri::no_such_procedure, "No RPC endpoint registered for " + procedure + ".");
        return;
    }
    wamp::Call call{{}, procedure, json::array()};
    if (auto args = message.find("args"); args != message.end() && args->is_array()) call.args = *args;
    realm->registrations().serve_remote(string_field(message, "callee"), call, std::move(reply));
}

void Cluster::on_reply(std::string_view body) {
    const wamp::ParseResult parsed = wamp::parse(body);
    const auto* message = std::get_if<wamp::Message>(&parsed);
    const auto* result = message ? std::get_if<wamp::CallResult>(message) : nullptr;
    const auto* error = message ? std::get_if<wamp::CallError>(message) : nullptr;
    const std::string* id = result ? &result->call_id : error ? &error->call_id : nullptr;
    std::uint64_t seq = 0;
    if (!id || std::from_chars(id->data(), id->data() + id->size(), seq).ptr != id->data() + id->size()) {
        ++invalid_;
        report_dropped(own_channel_, "an answer that is no CALLRESULT or CALLERROR of a call made here");
        return;
    }
    auto it = calls_.find(seq);
    if (it == calls_.end()) return;  // timed out, or its node was given up on
    timers_.cancel(it->second.timeout);
    router::CallReply reply = std::move(it->second.reply);
    calls_.erase(it);
    if (result) {
        reply.result(result->result);
    } else {
        reply.error(error->error_uri, error->description, error->details);
    }
}

void Cluster::shutdown() {
    if (stopped_) return;
    stopped_ = true;
    timers_.cancel(heartbeat_timer_);
    heartbeat_timer_ = 0;
    for (const auto& [key, claim] : claims_) {
        link_.command({"EVAL", release_script, "1", key, claim_value(claim.callee_id)});
    }
    claims_.clear();
    send_control("bye", json{{"node", node_id_}}.dump());
    fail_calls({}, cluster_unavailable, "the router is shutting down");
    link_.stop();
}

}  // namespace kreuz::cluster
