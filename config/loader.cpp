#include "config/loader.h"

#include <arpa/inet.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <initializer_list>
#include <limits>
#include <map>
#include <optional>
#include <sstream>
#include <utility>
#include <vector>

#include "config/cross_checks.h"
#include "config/yaml_reader.h"

namespace kreuz::config {

namespace {

std::string describe_location(const std::string& file, int line, int column, const std::string& key_path,
                              const std::string& message) {
    std::string out = file;
    if (line > 0) out += ":" + std::to_string(line) + ":" + std::to_string(column);
    out += ": ";
    if (!key_path.empty()) out += key_path + ": ";
    return out + message;
}

// The largest configuration and secret files read.
constexpr std::size_t max_config_file = 16u << 20;
constexpr std::size_t max_secret_file = 64u << 10;

// Standard Base64 with "=" padding that decodes to exactly `bytes` bytes.
bool is_base64_of(std::string_view text, std::size_t bytes) {
    if (text.size() != 4 * ((bytes + 2) / 3)) return false;
    const std::size_t padding = (3 - bytes % 3) % 3;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        const bool symbol = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
                            c == '/';
        if (i >= text.size() - padding ? c != '=' : !symbol) return false;
    }
    return true;
}

class Loader {
public:
    explicit Loader(const std::string& file_name) : r_(file_name) {}

    Config load(const YAML::Node& root) {
        Config config;
        // An empty document (a file of comments only) is the all-defaults config.
        const Mapping top = root.IsNull()
            ? Mapping{}
            : r_.read_mapping({root, "", root.Mark()}, {"listen", "log", "websocket", "http", "limits", "realms"});

        if (const Value* v = find(top, "listen")) {
            config.listeners = read_listeners(*v);
        } else {
            config.listeners.emplace_back();
        }
        if (const Value* v = find(top, "log")) config.log = read_log(*v);
        std::optional<Value> echo_path;
        if (const Value* v = find(top, "websocket")) echo_path = read_websocket(*v, config);
        if (const Value* v = find(top, "http")) config.http = read_http(*v);
        // Realm limits inherit from these, so they are read first whatever the
        // order of the keys in the file.
        if (const Value* v = find(top, "limits")) config.limits = read_limits(*v, config.limits);

        PathOwners path_owners;
        if (const Value* v = find(top, "realms")) {
            config.realms = read_realms(*v, config, path_owners);
        } else {
            RealmConfig realm;
            realm.name = "default";
            realm.paths = {"/ws"};
            realm.limits = config.limits;
            path_owners.claim("/ws", "the default realm (realms is not set)");
            config.realms.push_back(std::move(realm));
        }
        // Checked after the realms so that a clash always points at echo_path,
        // also when the realm it clashes with is the implicit default one.
        if (echo_path && !echo_path->node.IsNull()) {
            config.echo_path = r_.read_url_path(*echo_path);
            if (std::string problem = reserved_path(config.echo_path); !problem.empty()) r_.fail(*echo_path, problem);
            if (std::string problem = path_owners.claim(config.echo_path, "the echo endpoint"); !problem.empty()) {
                r_.fail(*echo_path, problem);
            }
        }
        return config;
    }

private:
    std::vector<ws::ListenOptions> read_listeners(const Value& value) const {
        const std::vector<Value> items = r_.read_list(value);
        if (items.empty()) r_.fail(value, "at least one listener is needed");
        std::vector<ws::ListenOptions> listeners;
        for (const Value& item : items) {
            const Mapping m = r_.read_mapping(item, {"host", "port", "backlog", "tls"});
            ws::ListenOptions listen;
            if (const Value* v = find(m, "host")) {
                listen.host = r_.read_string(*v);
                unsigned char address[sizeof(in6_addr)];
                if (inet_pton(AF_INET, listen.host.c_str(), address) != 1 &&
                    inet_pton(AF_INET6, listen.host.c_str(), address) != 1) {
                    r_.fail(*v, "expected an IPv4 or IPv6 address such as 127.0.0.1, 0.0.0.0, ::1 or :: "
                             "(no brackets; host names are not resolved), got " + quote(listen.host));
                }
            }
            if (const Value* v = find(m, "port")) listen.port = r_.read_integer<std::uint16_t>(*v);
            if (const Value* v = find(m, "backlog")) listen.backlog = r_.read_integer<int>(*v);
            if (const Value* v = find(m, "tls")) listen.tls = read_tls(*v);
            listeners.push_back(std::move(listen));
        }
        return listeners;
    }

    // The files are only checked for being readable here; whether they hold a
    // certificate and its key is found out when the listener starts, where
    // OpenSSL reads them (config/ does not link it).
    ws::TlsOptions read_tls(const Value& value) const {
        const Mapping m = r_.read_mapping(value, {"cert", "key", "ca", "min_version", "ciphers"});
        ws::TlsOptions tls;
        const Value* cert = find(m, "cert");
        if (!cert) r_.fail(value, "missing required key \"cert\"");
        const Value* key = find(m, "key");
        if (!key) r_.fail(value, "missing required key \"key\"");
        tls.cert = read_readable_file(*cert);
        tls.key = read_readable_file(*key);
        if (const Value* v = find(m, "ca")) tls.ca = read_readable_file(*v);
        if (const Value* v = find(m, "min_version")) {
            const std::string text = r_.read_string(*v);
            if (text == "1.2") {
                tls.min_version = ws::TlsVersion::tls1_2;
            } else if (text == "1.3") {
                tls.min_version = ws::TlsVersion::tls1_3;
            } else {
                r_.fail(*v, "expected \"1.2\" or \"1.3\" (older versions are not offered), got " + quote(text));
            }
        }
        if (const Value* v = find(m, "ciphers")) {
            tls.ciphers = r_.read_string(*v);
            if (tls.ciphers.empty()) r_.fail(*v, "must not be empty; leave the key out for the default ciphers");
        }
        return tls;
    }

    // A file that is read again later (on a reload): it must be readable now,
    // so that a typo in its name stops the router here rather than at the
    // first reload.
    std::string read_readable_file(const Value& value) const {
        const std::string path = r_.read_string(value);
        if (path.empty()) r_.fail(value, "must not be empty");
        // One byte tells whether it can be read; the TLS layer reads it at start.
        if (const FileRead file = read_file(path, 1); file.failed_step) {
            r_.fail(value, "cannot read " + quote(path) + ": " + file.reason);
        }
        return path;
    }

    LogConfig read_log(const Value& value) const {
        const Mapping m = r_.read_mapping(value, {"level", "format"});
        LogConfig log;
        if (const Value* v = find(m, "format")) {
            const std::string format = r_.read_string(*v);
            if (format != "text" && format != "json") r_.fail(*v, "expected text or json, got " + quote(format));
            log.json = format == "json";
        }
        if (const Value* v = find(m, "level")) {
            log.level = r_.read_string(*v);
            static constexpr std::string_view levels[] = {"trace", "debug", "info", "warn", "error", "critical", "off"};
            if (std::find(std::begin(levels), std::end(levels), log.level) == std::end(levels)) {
                r_.fail(*v, "expected trace, debug, info, warn, error, critical or off, got " + quote(log.level));
            }
        }
        return log;
    }

    // Fills config.websocket and returns the echo_path value, which can only
    // be checked once the realms' paths are known.
    std::optional<Value> read_websocket(const Value& value, Config& config) const {
        const Mapping m = r_.read_mapping(
            value, {"max_message_size", "max_fragments", "max_http_head", "max_http_headers", "max_http_body", "handshake_timeout",
                    "close_timeout", "ping_interval", "pong_timeout", "idle_timeout", "write_high_water",
                    "write_queue_limit", "slow_consumer_timeout", "echo_path", "deflate", "max_connections",
                    "max_connections_per_ip", "max_handshakes", "message_rate", "message_burst", "shutdown_mode"});
        ws::WebSocketOptions& ws = config.websocket;
        if (const Value* v = find(m, "max_message_size")) ws.max_message_size = r_.read_size(*v, false);
        if (const Value* v = find(m, "max_fragments")) ws.max_fragments = r_.read_integer<std::size_t>(*v, 1);
        if (const Value* v = find(m, "max_http_head")) ws.http.max_head_bytes = r_.read_size(*v, false);
        if (const Value* v = find(m, "max_http_headers")) ws.http.max_headers = r_.read_integer<std::size_t>(*v, 1);
        if (const Value* v = find(m, "max_http_body")) ws.http.max_body_bytes = r_.read_size(*v, true);
        // A zero handshake timeout is off, as the connection treats it; the close,
        // pong and slow-consumer clocks have no "off", zero would fire at once.
        if (const Value* v = find(m, "handshake_timeout")) ws.handshake_timeout_ms = r_.read_duration_ms(*v, true);
        if (const Value* v = find(m, "close_timeout")) ws.close_timeout_ms = r_.read_duration_ms(*v, false);
        if (const Value* v = find(m, "ping_interval")) ws.ping_interval_ms = r_.read_duration_ms(*v, true);
        if (const Value* v = find(m, "pong_timeout")) ws.pong_timeout_ms = r_.read_duration_ms(*v, false);
        if (const Value* v = find(m, "idle_timeout")) ws.idle_timeout_ms = r_.read_duration_ms(*v, true);
        if (const Value* v = find(m, "write_high_water")) ws.write_high_water = r_.read_size(*v, false);
        if (const Value* v = find(m, "write_queue_limit")) ws.write_queue_limit = r_.read_size(*v, false);
        if (const Value* v = find(m, "slow_consumer_timeout")) {
            ws.slow_consumer_timeout_ms = r_.read_duration_ms(*v, false);
        }
        if (const Value* v = find(m, "deflate")) ws.deflate = read_deflate(*v);
        if (const Value* v = find(m, "max_connections")) ws.max_connections = r_.read_integer<std::size_t>(*v);
        if (const Value* v = find(m, "max_connections_per_ip")) {
            ws.max_connections_per_ip = r_.read_integer<std::size_t>(*v);
        }
        if (const Value* v = find(m, "max_handshakes")) ws.max_handshakes = r_.read_integer<std::size_t>(*v);
        if (const Value* v = find(m, "message_rate")) {
            ws.message_rate = static_cast<double>(r_.read_integer<std::uint32_t>(*v));
        }
        if (const Value* v = find(m, "message_burst")) ws.message_burst = r_.read_integer<std::size_t>(*v, 1);
        if (const Value* v = find(m, "shutdown_mode")) {
            const std::string mode = r_.read_string(*v);
            if (mode != "close" && mode != "drop") r_.fail(*v, "expected close or drop, got " + quote(mode));
            ws.shutdown_drop = mode == "drop";
        }

        // The defaults agree with each other, so whenever a check fails one of
        // the keys involved is in the file; the error points at the limit if it
        // is there, else at the key that outgrew it.
        const Value* queue_limit = find(m, "write_queue_limit");
        if (std::string problem = queue_limit_below_high_water(ws); !problem.empty()) {
            r_.fail(queue_limit ? *queue_limit : *find(m, "write_high_water"), problem);
        }
        if (std::string problem = queue_limit_below_message_size(ws); !problem.empty()) {
            r_.fail(queue_limit ? *queue_limit : *find(m, "max_message_size"), problem);
        }

        if (const Value* v = find(m, "echo_path")) return *v;
        return std::nullopt;
    }

    ws::DeflateOptions read_deflate(const Value& value) const {
        const Mapping m = r_.read_mapping(value, {"enabled", "min_size", "mem_level"});
        ws::DeflateOptions deflate;
        if (const Value* v = find(m, "enabled")) deflate.enabled = r_.read_bool(*v);
        if (const Value* v = find(m, "min_size")) deflate.min_size = r_.read_size(*v, true);
        if (const Value* v = find(m, "mem_level")) deflate.mem_level = r_.read_integer<int>(*v, 1, 9);
        return deflate;
    }

    HttpConfig read_http(const Value& value) const {
        const Mapping m = r_.read_mapping(value, {"serve_www", "www_root", "health", "metrics", "admin"});
        HttpConfig http;
        if (const Value* v = find(m, "admin")) http.admin = r_.read_bool(*v);
        if (const Value* v = find(m, "health")) http.health = r_.read_bool(*v);
        if (const Value* v = find(m, "metrics")) http.metrics = r_.read_bool(*v);
        if (const Value* v = find(m, "serve_www")) http.serve_www = r_.read_bool(*v);
        if (const Value* v = find(m, "www_root")) http.www_root = r_.read_string(*v);
        return http;
    }

    // Keys that are given replace those of base; the others keep base's values.
    SessionLimits read_limits(const Value& value, SessionLimits base) const {
        const Mapping m =
            r_.read_mapping(value, {"max_prefixes", "max_subscriptions", "max_pending_calls", "max_registrations"});
        if (const Value* v = find(m, "max_registrations")) base.max_registrations = r_.read_integer<std::size_t>(*v);
        if (const Value* v = find(m, "max_prefixes")) base.max_prefixes = r_.read_integer<std::size_t>(*v);
        if (const Value* v = find(m, "max_subscriptions")) base.max_subscriptions = r_.read_integer<std::size_t>(*v);
        if (const Value* v = find(m, "max_pending_calls")) base.max_pending_calls = r_.read_integer<std::size_t>(*v);
        return base;
    }

    BuiltinProcedures read_builtins(const Value& value) const {
        const Mapping m = r_.read_mapping(value, {"ping", "echo", "testee_dispatch"});
        BuiltinProcedures builtins;
        if (const Value* v = find(m, "ping")) builtins.ping = r_.read_bool(*v);
        if (const Value* v = find(m, "echo")) builtins.echo = r_.read_bool(*v);
        if (const Value* v = find(m, "testee_dispatch")) builtins.testee_dispatch = r_.read_bool(*v);
        return builtins;
    }

    std::vector<UriRule> read_rules(const Value& value) const {
        std::vector<UriRule> rules;
        FirstSeen<std::string> uri_lines;
        for (const Value& item : r_.read_list(value)) {
            const Mapping m = r_.read_mapping(item, {"uri", "prefix", "publish", "subscribe", "call", "register"});
            const Value* uri = find(m, "uri");
            if (!uri) r_.fail(item, "missing required key \"uri\"");
            UriRule rule;
            rule.uri = r_.read_string(*uri);
            if (const int first = uri_lines.earlier(rule.uri, uri->mark().line + 1)) {
                r_.fail(*uri, "a rule for " + quote(rule.uri) + " is already at line " + std::to_string(first));
            }
            if (const Value* v = find(m, "prefix")) rule.prefix = r_.read_bool(*v);
            if (const Value* v = find(m, "publish")) rule.publish = r_.read_bool(*v);
            if (const Value* v = find(m, "subscribe")) rule.subscribe = r_.read_bool(*v);
            if (const Value* v = find(m, "call")) rule.call = r_.read_bool(*v);
            if (const Value* v = find(m, "register")) rule.register_procedure = r_.read_bool(*v);
            rules.push_back(std::move(rule));
        }
        return rules;
    }

    // Role name -> its rules.
    std::map<std::string, std::vector<UriRule>, std::less<>> read_roles(const Value& value) const {
        std::map<std::string, std::vector<UriRule>, std::less<>> roles;
        FirstSeen<std::string> name_lines;
        r_.read_named_entries(value, "a mapping of role names to lists of rules", "role names",
                              [&](const std::string& name, const Value& entry) {
            if (name.empty()) r_.fail(entry.key_mark, entry.path, "a role name must not be empty");
            if (const int first = name_lines.earlier(name, entry.key_mark.line + 1)) {
                r_.fail(entry.key_mark, entry.path,
                        "duplicate key " + quote(name) + "; it is first set at line " + std::to_string(first));
            }
            roles.emplace(name, read_rules(entry));
        });
        return roles;
    }

    // Read after the realm's rules and roles, which decide whether a user
    // needs a role and which names are roles.
    AuthConfig read_auth(const Value& value, const RealmConfig& realm) const {
        const Mapping m = r_.read_mapping(value, {"anonymous", "timeout", "failure_delay", "users"});
        AuthConfig auth;
        if (const Value* v = find(m, "anonymous")) auth.anonymous = r_.read_bool(*v);
        if (const Value* v = find(m, "timeout")) auth.timeout_ms = r_.read_duration_ms(*v, true);
        if (const Value* v = find(m, "failure_delay")) auth.failure_delay_ms = r_.read_duration_ms(*v, true);
        if (const Value* v = find(m, "users")) {
            FirstSeen<std::string> key_lines;
            for (const Value& item : r_.read_list(*v)) auth.users.push_back(read_user(item, realm, key_lines));
        }
        return auth;
    }

    AuthUser read_user(const Value& item, const RealmConfig& realm,
                       FirstSeen<std::string>& key_lines) const {
        const Mapping m = r_.read_mapping(item, {"key", "role", "secret", "secret_env", "secret_file", "derived_key",
                                              "salt", "iterations", "keylen"});
        AuthUser user;
        const Value* key = find(m, "key");
        if (!key) r_.fail(item, "missing required key \"key\"");
        user.key = r_.read_string(*key);
        if (user.key.empty()) r_.fail(*key, "must not be empty");
        if (const int first = key_lines.earlier(user.key, key->mark().line + 1)) {
            r_.fail(*key, "user key " + quote(user.key) + " is already used at line " + std::to_string(first));
        }

        // In an open realm every session may do everything whatever its role,
        // so a role there is only a name; elsewhere it decides what the user may do.
        const bool open = realm.rules.empty() && realm.roles.empty();
        if (const Value* v = find(m, "role")) {
            user.role = r_.read_string(*v);
            if (!open && realm.roles.find(user.role) == realm.roles.end()) {
                std::string defined;
                for (const auto& [name, rules] : realm.roles) defined += (defined.empty() ? "" : ", ") + name;
                r_.fail(*v, "role " + quote(user.role) + " is not defined in this realm's roles" +
                             (defined.empty() ? " (it has rules but no roles)" : " (defined: " + defined + ")"));
            }
        } else if (!open) {
            r_.fail(item, "missing required key \"role\": the realm has rules or roles, so every user needs a role "
                       "from its roles");
        }

        std::string_view source_name;
        const Value* source = find_secret(m, item, {"secret", "secret_env", "secret_file", "derived_key"}, source_name);
        user.secret = read_secret(*source, source_name);
        user.secret_is_derived_key = source_name == "derived_key";

        if (const Value* salt = find(m, "salt")) {
            SaltedKey salted;
            salted.salt = r_.read_string(*salt);
            // AutobahnJS derives only `if (extra.salt)`: an empty salt would leave it signing with the plain secret.
            if (salted.salt.empty()) r_.fail(*salt, "must not be empty; clients treat an empty salt as no salt");
            constexpr auto int_max = static_cast<std::uint32_t>(std::numeric_limits<int>::max());
            if (const Value* v = find(m, "iterations")) salted.iterations = r_.read_integer<std::uint32_t>(*v, 1, int_max);
            if (const Value* v = find(m, "keylen")) salted.keylen = r_.read_integer<std::uint32_t>(*v, 1, 1024);
            if (user.secret_is_derived_key && !is_base64_of(user.secret, salted.keylen)) {
                r_.fail(*source, "is not the Base64 of a " + std::to_string(salted.keylen) + "-byte key (keylen): " +
                                  std::to_string(4 * ((salted.keylen + 2) / 3)) + " characters of A-Z a-z 0-9 + / "
                                  "with \"=\" padding are expected");
            }
            user.salted = std::move(salted);
        } else {
            for (std::string_view name : {"iterations", "keylen"}) {
                if (const Value* v = find(m, name)) r_.fail(*v, "only used with salt (salted WAMP-CRA)");
            }
            if (user.secret_is_derived_key) {
                r_.fail(*source, "derived_key needs salt, and iterations and keylen when they differ from 10000 and 32");
            }
        }
        return user;
    }

    // The one key of `names` that gives a secret; none or two are errors.
    const Value* find_secret(const Mapping& m, const Value& item, std::initializer_list<std::string_view> names,
                             std::string_view& source_name) const {
        const Value* source = nullptr;
        for (std::string_view name : names) {
            const Value* v = find(m, name);
            if (!v) continue;
            if (source) {
                r_.fail(*v, std::string(source_name) + " and " + std::string(name) + " both give the secret; keep one");
            }
            source = v;
            source_name = name;
        }
        if (!source) {
            r_.fail(item, "missing the secret: one of " + either({names.begin(), names.size()}) + " is required");
        }
        return source;
    }

    // The secret itself: the value, or what the environment variable or the
    // file it names holds. Never empty.
    std::string read_secret(const Value& source, std::string_view source_name) const {
        std::string secret;
        if (source_name == "secret_env") {
            const std::string variable = r_.read_string(source);
            const char* text = variable.empty() ? nullptr : std::getenv(variable.c_str());
            if (!text) r_.fail(source, "environment variable " + quote(variable) + " is not set");
            secret = text;
            if (secret.empty()) r_.fail(source, "environment variable " + quote(variable) + " is empty");
        } else if (source_name == "secret_file") {
            const std::string path = r_.read_string(source);
            secret = read_secret_file(source, path);
            if (secret.empty()) r_.fail(source, "the file " + quote(path) + " is empty");
        } else {
            secret = r_.read_string(source);
            if (secret.empty()) r_.fail(source, "must not be empty");
        }
        return secret;
    }

    // Read after the realm's roles, which a key's role must name.
    PublishBridgeConfig read_publish_bridge(const Value& value, const RealmConfig& realm, const Config& config,
                                            PathOwners& path_owners) const {
        const Mapping m = r_.read_mapping(value, {"path", "max_body", "max_batch", "timestamp_window", "keys"});
        PublishBridgeConfig bridge;
        const Value* path = find(m, "path");
        if (!path) r_.fail(value, "missing required key \"path\"");
        bridge.path = r_.read_string(*path);
        if (!bridge.path.starts_with('/')) r_.fail(*path, "must start with \"/\", got " + quote(bridge.path));
        if (bridge.path.find_first_of("?# ") != std::string::npos) r_.fail(*path, "must be a plain path");
        if (std::string problem = reserved_path(bridge.path); !problem.empty()) r_.fail(*path, problem);
        const std::string owner = "the publish bridge of realm " + quote(realm.name) + " (line " +
                                  std::to_string(path->mark().line + 1) + ")";
        if (std::string problem = path_owners.claim(bridge.path, owner); !problem.empty()) r_.fail(*path, problem);
        if (const Value* v = find(m, "max_body")) {
            bridge.max_body = r_.read_size(*v, false);
            if (std::string problem = bridge_body_above_http_limit(bridge, config.websocket); !problem.empty()) {
                r_.fail(*v, problem);
            }
        } else {
            bridge.max_body = std::min(bridge.max_body, config.websocket.http.max_body_bytes);
        }
        if (const Value* v = find(m, "max_batch")) bridge.max_batch = r_.read_integer<std::size_t>(*v, 1);
        if (const Value* v = find(m, "timestamp_window")) bridge.timestamp_window_ms = r_.read_duration_ms(*v, false);
        if (const Value* v = find(m, "keys")) {
            FirstSeen<std::string> key_lines;
            for (const Value& item : r_.read_list(*v)) {
                const Mapping km = r_.read_mapping(item, {"key", "secret", "secret_env", "secret_file", "role"});
                BridgeKey key;
                const Value* name = find(km, "key");
                if (!name) r_.fail(item, "missing required key \"key\"");
                key.key = r_.read_string(*name);
                if (key.key.empty()) r_.fail(*name, "must not be empty");
                if (const int first = key_lines.earlier(key.key, name->mark().line + 1)) {
                    r_.fail(*name, "key " + quote(key.key) + " is already used at line " + std::to_string(first));
                }
                std::string_view source_name;
                const Value* source = find_secret(km, item, {"secret", "secret_env", "secret_file"}, source_name);
                key.secret = read_secret(*source, source_name);
                if (const Value* r = find(km, "role")) {
                    key.role = r_.read_string(*r);
                    if (realm.roles.find(key.role) == realm.roles.end()) {
                        r_.fail(*r, "role " + quote(key.role) + " is not defined in this realm's roles");
                    }
                }
                bridge.keys.push_back(std::move(key));
            }
        }
        return bridge;
    }

    // A secret kept out of the configuration file. The line break that ends
    // the file is not part of the secret.
    std::string read_secret_file(const Value& value, const std::string& path) const {
        FileRead file = read_file(path, max_secret_file);
        if (file.failed_step) {
            r_.fail(value, std::string("cannot ") + file.failed_step + " " + quote(path) + ": " + file.reason);
        }
        if (file.larger) r_.fail(value, quote(path) + " is larger than " + describe_size(max_secret_file));
        std::string text = std::move(file.text);
        if (text.ends_with('\n')) text.pop_back();
        if (text.ends_with('\r')) text.pop_back();
        return text;
    }

    std::vector<BackendConfig> read_backends(const Value& value) const {
        std::vector<BackendConfig> backends;
        // (procedure, prefix) -> line: the same one twice would leave one of them unused.
        FirstSeen<std::pair<std::string, bool>> procedure_lines;
        for (const Value& item : r_.read_list(value)) {
            const Mapping m = r_.read_mapping(
                item, {"procedure", "prefix", "url", "timeout_ms", "max_concurrent", "max_queued", "headers"});
            BackendConfig backend;
            const Value* procedure = find(m, "procedure");
            if (!procedure) r_.fail(item, "missing required key \"procedure\"");
            backend.procedure = r_.read_string(*procedure);
            if (backend.procedure.empty()) r_.fail(*procedure, "must not be empty");
            if (const Value* v = find(m, "prefix")) backend.prefix = r_.read_bool(*v);
            const std::pair key{backend.procedure, backend.prefix};
            if (const int first = procedure_lines.earlier(key, procedure->mark().line + 1)) {
                r_.fail(*procedure, std::string(backend.prefix ? "a prefix backend" : "a backend") + " for " +
                                     quote(backend.procedure) + " is already at line " + std::to_string(first));
            }

            const Value* url = find(m, "url");
            if (!url) r_.fail(item, "missing required key \"url\"");
            backend.url = r_.read_string(*url);
            const std::size_t scheme = backend.url.starts_with("http://")    ? 7
                                       : backend.url.starts_with("https://") ? 8
                                                                             : 0;
            if (scheme == 0) r_.fail(*url, "must start with http:// or https://, got " + quote(backend.url));
            if (backend.url.size() == scheme || backend.url[scheme] == '/') r_.fail(*url, "has no host");
            if (std::any_of(backend.url.begin(), backend.url.end(),
                            [](char c) { return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f; })) {
                r_.fail(*url, "must not contain spaces or control characters");
            }

            if (const Value* v = find(m, "timeout_ms")) backend.timeout_ms = r_.read_integer<std::uint32_t>(*v, 1);
            if (const Value* v = find(m, "max_concurrent")) {
                backend.max_concurrent = r_.read_integer<std::size_t>(*v, 1);
            }
            if (const Value* v = find(m, "max_queued")) backend.max_queued = r_.read_integer<std::size_t>(*v);
            if (const Value* v = find(m, "headers")) backend.headers = read_headers(*v);
            backends.push_back(std::move(backend));
        }
        return backends;
    }

    // What would break the request's framing is refused here rather than sent.
    std::map<std::string, std::string> read_headers(const Value& value) const {
        std::map<std::string, std::string> headers;
        FirstSeen<std::string> name_lines;  // by lowercase name: HTTP names ignore case
        r_.read_named_entries(value, "a mapping of header names to values", "header names",
                              [&](const std::string& name, const Value& header) {
            static constexpr std::string_view token_symbols = "!#$%&'*+-.^_`|~";
            const bool token = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
                return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                       token_symbols.find(c) != std::string_view::npos;
            });
            if (!token) r_.fail(header.key_mark, header.path, quote(name) + " is not an HTTP header name");
            std::string lower = name;
            std::transform(lower.begin(), lower.end(), lower.begin(),
                           [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; });
            if (lower == "content-type" || lower == "content-length" || lower == "transfer-encoding") {
                r_.fail(header.key_mark, header.path, quote(name) + " is set by the router (the body is JSON)");
            }
            if (const int first = name_lines.earlier(lower, header.key_mark.line + 1)) {
                r_.fail(header.key_mark, header.path,
                        "duplicate header " + quote(name) + "; it is first set at line " + std::to_string(first));
            }
            std::string text = r_.read_string(header);
            // curl drops a header whose value is empty.
            if (text.empty()) r_.fail(header, "must not be empty");
            if (std::any_of(text.begin(), text.end(), [](char c) {
                    const auto u = static_cast<unsigned char>(c);
                    return (u < 0x20 && c != '\t') || u == 0x7f;
                })) {
                r_.fail(header, "must not contain line breaks or control characters");
            }
            headers.emplace(name, std::move(text));
        });
        return headers;
    }

    // path_owners collects every realm path with a description of its owner,
    // for the messages about paths used twice.
    std::vector<RealmConfig> read_realms(const Value& value, const Config& config,
                                         PathOwners& path_owners) const {
        const std::vector<Value> items = r_.read_list(value);
        if (items.empty()) r_.fail(value, "at least one realm is needed");
        FirstSeen<std::string> name_lines;
        std::vector<RealmConfig> realms;
        for (const Value& item : items) {
            const Mapping m = r_.read_mapping(item, {"name", "paths", "accept_no_subprotocol", "strict",
                                                  "max_message_size", "limits", "builtins", "rules", "roles", "auth",
                                                  "allowed_origins", "backends", "publish_bridge",
                                                  "callee_timeout"});
            RealmConfig realm;

            const Value* name = find(m, "name");
            if (!name) r_.fail(item, "missing required key \"name\"");
            realm.name = r_.read_string(*name);
            if (realm.name.empty()) r_.fail(*name, "must not be empty");
            const int name_line = name->mark().line + 1;
            if (const int first = name_lines.earlier(realm.name, name_line)) {
                r_.fail(*name,
                     "realm name " + quote(realm.name) + " is already used at line " + std::to_string(first));
            }

            const Value* paths = find(m, "paths");
            if (!paths) r_.fail(item, "missing required key \"paths\"");
            const std::vector<Value> path_items = r_.read_list(*paths);
            if (path_items.empty()) r_.fail(*paths, "at least one path is needed");
            for (const Value& path_item : path_items) {
                std::string path = r_.read_url_path(path_item);
                const std::string owner = "realm " + quote(realm.name) + " (line " +
                                          std::to_string(path_item.mark().line + 1) + ")";
                if (std::string problem = path_owners.claim(path, owner); !problem.empty()) r_.fail(path_item, problem);
                realm.paths.push_back(std::move(path));
            }

            if (const Value* v = find(m, "accept_no_subprotocol")) realm.accept_no_subprotocol = r_.read_bool(*v);
            if (const Value* v = find(m, "strict")) realm.strict = r_.read_bool(*v);
            if (const Value* v = find(m, "max_message_size")) {
                realm.max_message_size = r_.read_size(*v, true);
                if (std::string problem = realm_message_size_above_transport(realm, config.websocket);
                    !problem.empty()) {
                    r_.fail(*v, problem);
                }
            }
            realm.limits = config.limits;
            if (const Value* v = find(m, "limits")) realm.limits = read_limits(*v, config.limits);
            if (const Value* v = find(m, "builtins")) realm.builtins = read_builtins(*v);
            if (const Value* v = find(m, "rules")) realm.rules = read_rules(*v);
            if (const Value* v = find(m, "roles")) realm.roles = read_roles(*v);
            if (const Value* v = find(m, "auth")) realm.auth = read_auth(*v, realm);
            if (const Value* v = find(m, "allowed_origins")) {
                for (const Value& origin : r_.read_list(*v)) {
                    realm.allowed_origins.push_back(r_.read_string(origin));
                    if (realm.allowed_origins.back().empty()) r_.fail(origin, "must not be empty");
                }
            }
            if (const Value* v = find(m, "backends")) realm.backends = read_backends(*v);
            if (const Value* v = find(m, "publish_bridge")) {
                realm.publish_bridge = read_publish_bridge(*v, realm, config, path_owners);
            }
            if (const Value* v = find(m, "callee_timeout")) realm.callee_timeout_ms = r_.read_duration_ms(*v, false);
            realms.push_back(std::move(realm));
        }
        return realms;
    }

    const YamlReader r_;
};


}  // namespace

ConfigError::ConfigError(std::string file_name, int line_number, int column_number, std::string path,
                         const std::string& text)
    : std::runtime_error(describe_location(file_name, line_number, column_number, path, text)),
      file(std::move(file_name)),
      line(line_number),
      column(column_number),
      key_path(std::move(path)),
      message(text) {}

namespace {

// Notes where documents start without building them. yaml-cpp 0.7's LoadAll
// allocates without end on some malformed input (a lone ",": its upstream
// issue 1040), so documents are counted with the event parser, which stops
// after the second, and only the first is loaded.
class DocumentStarts final : public YAML::EventHandler {
public:
    std::vector<YAML::Mark> marks;

    void OnDocumentStart(const YAML::Mark& mark) override { marks.push_back(mark); }
    void OnDocumentEnd() override {}
    void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
    void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
    void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
    void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
    void OnSequenceEnd() override {}
    void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
    void OnMapEnd() override {}
};

}  // namespace

Config parse_config(std::string_view yaml_text, const std::string& file_name) {
    const std::string text(yaml_text);
    YAML::Node root;
    try {
        std::istringstream in(text);
        YAML::Parser parser(in);
        DocumentStarts starts;
        for (int i = 0; i < 2 && parser.HandleNextDocument(starts); ++i) {
        }
        if (starts.marks.size() > 1) {
            // Only the first would be read; the rest would be ignored without a word.
            const YAML::Mark& mark = starts.marks[1];
            throw ConfigError(file_name, mark.line + 1, mark.column + 1, "",
                              "a configuration is one YAML document, this is the start of a second one");
        }
        if (!starts.marks.empty()) root = YAML::Load(text);
    } catch (const YAML::Exception& e) {
        const bool placed = !e.mark.is_null();
        throw ConfigError(file_name, placed ? e.mark.line + 1 : 0, placed ? e.mark.column + 1 : 0, "",
                          "YAML syntax error: " + e.msg);
    }
    return Loader(file_name).load(root);
}

Config load_config_file(const std::string& path) {
    const FileRead file = read_file(path, max_config_file);
    if (file.failed_step) {
        throw ConfigError(path, 0, 0, "", std::string("cannot ") + file.failed_step + ": " + file.reason);
    }
    if (file.larger) throw ConfigError(path, 0, 0, "", "larger than " + describe_size(max_config_file));
    return parse_config(file.text, path);
}

std::string restart_required(const Config& running, const Config& next) {
    if (running.listeners != next.listeners) return "listen changed";
    if (!(running.websocket == next.websocket)) return "websocket changed";
    if (running.echo_path != next.echo_path) return "websocket.echo_path changed";
    if (running.log.json != next.log.json) return "log.format changed";
    if (running.realms.size() != next.realms.size()) return "realms were added or removed";
    for (std::size_t i = 0; i < running.realms.size(); ++i) {
        const RealmConfig& a = running.realms[i];
        const RealmConfig& b = next.realms[i];
        const std::string which = "realms[" + std::to_string(i) + "]";
        if (a.name != b.name) return which + ".name changed (realms must keep their order and names)";
        if (a.paths != b.paths) return which + ".paths changed";
        if (a.accept_no_subprotocol != b.accept_no_subprotocol) return which + ".accept_no_subprotocol changed";
        if (a.allowed_origins != b.allowed_origins) return which + ".allowed_origins changed";
        if (a.max_message_size != b.max_message_size) return which + ".max_message_size changed";
    }
    return {};
}

}  // namespace kreuz::config
