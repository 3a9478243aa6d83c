#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <iterator>
#include <optional>
#include <string>
#include <utility>

#include "config/option_limits.h"
#include "config/redis_url.h"
#include "config/secret_source.h"
#include "config/sections.h"

namespace kreuz::config {

namespace {

// The least whole number of a key that may or may not be 0.
constexpr unsigned least(bool zero_allowed) { return zero_allowed ? 0 : 1; }

// A file that is read again later (on a reload): it must be readable now,
// so that a typo in its name stops the router here rather than at the
// first reload.
std::string read_readable_file(const YamlReader& r, const Value& value) {
    const std::string path = r.read_string(value);
    if (path.empty()) r.fail(value, "must not be empty");
    // One byte tells whether it can be read; the TLS layer reads it at start.
    if (const FileRead file = read_file(path, 1); file.failed_step) {
        r.fail(value, "cannot read " + quote(path) + ": " + file.reason);
    }
    return path;
}

// The files are only checked for being readable here; whether they hold a
// certificate and its key is found out when the listener starts, where
// OpenSSL reads them (config/ does not link it).
ws::TlsOptions read_tls(const YamlReader& r, const Value& value) {
    ws::TlsOptions tls;
    std::optional<Value> cert;
    r.read_keys(value, {
        // A missing key is reported before an unreadable certificate file.
        {"cert", [&](const Value& v) { cert = v; }, Presence::required},
        {"key", [&](const Value& v) {
             tls.cert = read_readable_file(r, *cert);
             tls.key = read_readable_file(r, v);
         }, Presence::required},
        {"ca", [&](const Value& v) { tls.ca = read_readable_file(r, v); }},
        {"min_version", [&](const Value& v) {
             const std::string text = r.read_string(v);
             if (text == "1.2") {
                 tls.min_version = ws::TlsVersion::tls1_2;
             } else if (text == "1.3") {
                 tls.min_version = ws::TlsVersion::tls1_3;
             } else {
                 r.fail(v, "expected \"1.2\" or \"1.3\" (older versions are not offered), got " + quote(text));
             }
         }},
        {"ciphers", [&](const Value& v) {
             tls.ciphers = r.read_string(v);
             if (tls.ciphers.empty()) r.fail(v, "must not be empty; leave the key out for the default ciphers");
         }},
    });
    return tls;
}

std::vector<ws::ListenOptions> read_listeners(const YamlReader& r, const Value& value) {
    const std::vector<Value> items = r.read_list(value);
    if (items.empty()) r.fail(value, "at least one listener is needed");
    std::vector<ws::ListenOptions> listeners;
    for (const Value& item : items) {
        ws::ListenOptions& listen = listeners.emplace_back();
        r.read_keys(item, {
            {"host", [&](const Value& v) {
                 listen.host = r.read_string(v);
                 unsigned char address[sizeof(in6_addr)];
                 if (inet_pton(AF_INET, listen.host.c_str(), address) != 1 &&
                     inet_pton(AF_INET6, listen.host.c_str(), address) != 1) {
                     r.fail(v, "expected an IPv4 or IPv6 address such as 127.0.0.1, 0.0.0.0, ::1 or :: "
                               "(no brackets; host names are not resolved), got " + quote(listen.host));
                 }
             }},
            {"port", [&](const Value& v) { listen.port = r.read_integer<std::uint16_t>(v); }},
            {"backlog", [&](const Value& v) { listen.backlog = r.read_integer<int>(v); }},
            {"tls", [&](const Value& v) { listen.tls = read_tls(r, v); }},
        });
    }
    return listeners;
}

LogConfig read_log(const YamlReader& r, const Value& value) {
    LogConfig log;
    r.read_keys(value, {
        {"level", [&](const Value& v) {
             log.level = r.read_string(v);
             if (std::find(std::begin(log_levels), std::end(log_levels), log.level) == std::end(log_levels)) {
                 r.fail(v, "expected " + either(log_levels) + ", got " + quote(log.level));
             }
         }},
        {"format", [&](const Value& v) {
             const std::string format = r.read_string(v);
             if (std::find(std::begin(log_formats), std::end(log_formats), format) == std::end(log_formats)) {
                 r.fail(v, "expected " + either(log_formats) + ", got " + quote(format));
             }
             log.json = format == "json";
         }},
    });
    return log;
}

ws::DeflateOptions read_deflate(const YamlReader& r, const Value& value) {
    ws::DeflateOptions deflate;
    r.read_keys(value, {
        {"enabled", [&](const Value& v) { deflate.enabled = r.read_bool(v); }},
        {"min_size", [&](const Value& v) { deflate.min_size = r.read_size(v, true); }},
        {"mem_level", [&](const Value& v) { deflate.mem_level = r.read_integer<int>(v, 1, 9); }},
    });
    return deflate;
}

// Fills `ws` and returns the echo_path value, which can only be checked once
// the realms' paths are known.
std::optional<Value> read_websocket(const YamlReader& r, const Value& value, ws::WebSocketOptions& ws) {
    std::optional<Value> echo_path;
    const Mapping m = r.read_keys(value, {
        {"max_message_size", [&](const Value& v) {
             ws.max_message_size = r.read_size(v, zero_allowed::max_message_size);
         }},
        {"max_fragments", [&](const Value& v) { ws.max_fragments = r.read_integer<std::size_t>(v, 1); }},
        {"max_http_head", [&](const Value& v) { ws.http.max_head_bytes = r.read_size(v, false); }},
        {"max_http_headers", [&](const Value& v) { ws.http.max_headers = r.read_integer<std::size_t>(v, 1); }},
        {"max_http_body", [&](const Value& v) { ws.http.max_body_bytes = r.read_size(v, true); }},
        {"handshake_timeout", [&](const Value& v) {
             ws.handshake_timeout_ms = r.read_duration_ms(v, zero_allowed::handshake_timeout);
         }},
        {"close_timeout", [&](const Value& v) {
             ws.close_timeout_ms = r.read_duration_ms(v, zero_allowed::close_timeout);
         }},
        {"ping_interval", [&](const Value& v) {
             ws.ping_interval_ms = r.read_duration_ms(v, zero_allowed::ping_interval);
         }},
        {"pong_timeout", [&](const Value& v) {
             ws.pong_timeout_ms = r.read_duration_ms(v, zero_allowed::pong_timeout);
         }},
        {"idle_timeout", [&](const Value& v) {
             ws.idle_timeout_ms = r.read_duration_ms(v, zero_allowed::idle_timeout);
         }},
        {"write_high_water", [&](const Value& v) {
             ws.write_high_water = r.read_size(v, zero_allowed::write_high_water);
         }},
        {"write_queue_limit", [&](const Value& v) {
             ws.write_queue_limit = r.read_size(v, zero_allowed::write_queue_limit);
         }},
        {"slow_consumer_timeout", [&](const Value& v) {
             ws.slow_consumer_timeout_ms = r.read_duration_ms(v, zero_allowed::slow_consumer_timeout);
         }},
        {"echo_path", [&](const Value& v) { echo_path = v; }},
        {"deflate", [&](const Value& v) { ws.deflate = read_deflate(r, v); }},
        {"max_connections", [&](const Value& v) {
             ws.max_connections = r.read_integer<std::size_t>(v, least(zero_allowed::max_connections));
         }},
        {"max_connections_per_ip", [&](const Value& v) {
             ws.max_connections_per_ip = r.read_integer<std::size_t>(v, least(zero_allowed::max_connections_per_ip));
         }},
        {"max_handshakes", [&](const Value& v) {
             ws.max_handshakes = r.read_integer<std::size_t>(v, least(zero_allowed::max_handshakes));
         }},
        {"message_rate", [&](const Value& v) {
             ws.message_rate = static_cast<double>(r.read_integer<std::uint32_t>(v, least(zero_allowed::message_rate)));
         }},
        {"message_burst", [&](const Value& v) {
             ws.message_burst = r.read_integer<std::size_t>(v, least(zero_allowed::message_burst));
         }},
        {"shutdown_mode", [&](const Value& v) {
             const std::string mode = r.read_string(v);
             if (std::find(std::begin(shutdown_modes), std::end(shutdown_modes), mode) == std::end(shutdown_modes)) {
                 r.fail(v, "expected " + either(shutdown_modes) + ", got " + quote(mode));
             }
             ws.shutdown_drop = mode == "drop";
         }},
    });

    // The defaults agree with each other, so whenever a check fails one of
    // the keys involved is in the file; the error points at the limit if it
    // is there, else at the key that outgrew it.
    const Value* queue_limit = find(m, "write_queue_limit");
    if (std::string problem = queue_limit_below_high_water(ws); !problem.empty()) {
        r.fail(queue_limit ? *queue_limit : *find(m, "write_high_water"), problem);
    }
    if (std::string problem = queue_limit_below_message_size(ws); !problem.empty()) {
        r.fail(queue_limit ? *queue_limit : *find(m, "max_message_size"), problem);
    }
    return echo_path;
}

HttpConfig read_http(const YamlReader& r, const Value& value) {
    HttpConfig http;
    r.read_keys(value, {
        {"serve_www", [&](const Value& v) { http.serve_www = r.read_bool(v); }},
        {"www_root", [&](const Value& v) { http.www_root = r.read_string(v); }},
        {"health", [&](const Value& v) { http.health = r.read_bool(v); }},
        {"metrics", [&](const Value& v) { http.metrics = r.read_bool(v); }},
        {"admin", [&](const Value& v) { http.admin = r.read_bool(v); }},
    });
    return http;
}

ClusterConfig read_cluster(const YamlReader& r, const Value& value) {
    ClusterConfig cluster;
    SecretSource password(r);
    const Mapping m = r.read_keys(value, {
        {"redis", [&](const Value& v) {
             if (auto problem = parse_redis_url(r.read_string(v), cluster)) r.fail(v, *problem);
         }, Presence::required},
        {"node_id", [&](const Value& v) {
             cluster.node_id = r.read_string(v);
             const bool valid = !cluster.node_id.empty() && cluster.node_id.size() <= 64 &&
                 std::all_of(cluster.node_id.begin(), cluster.node_id.end(), [](char c) {
                     return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
                 });
             // Session ids are "<node_id>.<random>": a "." inside would blur where the node id ends.
             if (!valid) r.fail(v, "must be 1 to 64 characters of A-Z a-z 0-9 - _, got " + quote(cluster.node_id));
         }},
        password.key("password"),
        password.key("password_env"),
        password.key("password_file"),
        {"channel_prefix", [&](const Value& v) {
             cluster.channel_prefix = r.read_string(v);
             if (cluster.channel_prefix.empty()) r.fail(v, "must not be empty");
         }},
        {"heartbeat", [&](const Value& v) { cluster.heartbeat_ms = r.read_duration_ms(v, false); }},
        {"node_timeout", [&](const Value& v) {
             cluster.node_timeout_ms = r.read_duration_ms(v, false);
             if (cluster.node_timeout_ms <= 2 * cluster.heartbeat_ms) {
                 r.fail(v, "node_timeout (" + std::to_string(cluster.node_timeout_ms) +
                               " ms) must be more than twice heartbeat (" + std::to_string(cluster.heartbeat_ms) +
                               " ms), or one late heartbeat ends a live node");
             }
         }},
        {"connect_timeout", [&](const Value& v) { cluster.connect_timeout_ms = r.read_duration_ms(v, false); }},
        {"reconnect_max", [&](const Value& v) { cluster.reconnect_max_ms = r.read_duration_ms(v, false); }},
        {"max_pending", [&](const Value& v) { cluster.max_pending = r.read_integer<std::size_t>(v, 1); }},
    });
    // node_timeout checked itself when given; its default must fit a given heartbeat too.
    if (cluster.node_timeout_ms <= 2 * cluster.heartbeat_ms) {
        r.fail(*find(m, "heartbeat"), "heartbeat (" + std::to_string(cluster.heartbeat_ms) +
                                          " ms) must be less than half of node_timeout (" +
                                          std::to_string(cluster.node_timeout_ms) + " ms)");
    }
    if (password.given()) {
        if (!cluster.password.empty()) r.fail(password.value(), "the redis URL already holds a password");
        cluster.password = password.read(value);
    }
    return cluster;
}

}  // namespace

SessionLimits read_limits(const YamlReader& r, const Value& value, SessionLimits base) {
    r.read_keys(value, {
        {"max_prefixes", [&](const Value& v) { base.max_prefixes = r.read_integer<std::size_t>(v); }},
        {"max_subscriptions", [&](const Value& v) { base.max_subscriptions = r.read_integer<std::size_t>(v); }},
        {"max_pending_calls", [&](const Value& v) { base.max_pending_calls = r.read_integer<std::size_t>(v); }},
        {"max_registrations", [&](const Value& v) { base.max_registrations = r.read_integer<std::size_t>(v); }},
    });
    return base;
}

Config read_config(const YamlReader& r, const YAML::Node& root) {
    Config config;
    std::optional<Value> echo_path;
    PathOwners path_owners;
    bool realms_given = false;
    if (!root.IsNull()) {
        // Realm limits inherit from `limits` and realm sizes are checked
        // against `websocket`, so realms come last whatever the order of the
        // keys in the file.
        r.read_keys({root, "", root.Mark()}, {
            {"listen", [&](const Value& v) { config.listeners = read_listeners(r, v); }},
            {"log", [&](const Value& v) { config.log = read_log(r, v); }},
            {"websocket", [&](const Value& v) { echo_path = read_websocket(r, v, config.websocket); }},
            {"http", [&](const Value& v) { config.http = read_http(r, v); }},
            {"limits", [&](const Value& v) { config.limits = read_limits(r, v, config.limits); }},
            {"realms", [&](const Value& v) {
                 config.realms = read_realms(r, v, config, path_owners);
                 realms_given = true;
             }},
            {"cluster", [&](const Value& v) { config.cluster = read_cluster(r, v); }},
        });
    }
    if (config.listeners.empty()) config.listeners.emplace_back();
    if (!realms_given) {
        RealmConfig& realm = config.realms.emplace_back();
        realm.name = "default";
        realm.paths = {"/ws"};
        realm.limits = config.limits;
        path_owners.claim("/ws", "the default realm (realms is not set)");
    }
    // Checked after the realms so that a clash always points at echo_path,
    // also when the realm it clashes with is the implicit default one.
    if (echo_path && !echo_path->node.IsNull()) {
        config.echo_path = r.read_url_path(*echo_path);
        if (std::string problem = reserved_path(config.echo_path); !problem.empty()) r.fail(*echo_path, problem);
        if (std::string problem = path_owners.claim(config.echo_path, "the echo endpoint"); !problem.empty()) {
            r.fail(*echo_path, problem);
        }
    }
    return config;
}

}  // namespace kreuz::config
