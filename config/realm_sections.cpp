#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "config/secret_source.h"
#include "config/sections.h"

namespace kreuz::config {

namespace {

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

// A name that identifies its entry among the others of a list (a realm, a
// user, a bridge key): not empty, and not one of theirs.
std::string read_unique_name(const YamlReader& r, const Value& value, FirstSeen<std::string>& lines,
                             std::string_view what) {
    std::string name = r.read_string(value);
    if (name.empty()) r.fail(value, "must not be empty");
    if (const int first = lines.earlier(name, value.mark().line + 1)) {
        std::string message(what);
        message.append(" ").append(quote(name)).append(" is already used at line ").append(std::to_string(first));
        r.fail(value, message);
    }
    return name;
}

BuiltinProcedures read_builtins(const YamlReader& r, const Value& value) {
    BuiltinProcedures builtins;
    r.read_keys(value, {
        {"ping", [&](const Value& v) { builtins.ping = r.read_bool(v); }},
        {"echo", [&](const Value& v) { builtins.echo = r.read_bool(v); }},
        {"testee_dispatch", [&](const Value& v) { builtins.testee_dispatch = r.read_bool(v); }},
    });
    return builtins;
}

std::vector<UriRule> read_rules(const YamlReader& r, const Value& value) {
    std::vector<UriRule> rules;
    FirstSeen<std::string> uri_lines;
    for (const Value& item : r.read_list(value)) {
        UriRule& rule = rules.emplace_back();
        r.read_keys(item, {
            {"uri", [&](const Value& v) {
                 rule.uri = r.read_string(v);
                 if (const int first = uri_lines.earlier(rule.uri, v.mark().line + 1)) {
                     r.fail(v, "a rule for " + quote(rule.uri) + " is already at line " + std::to_string(first));
                 }
             }, Presence::required},
            {"prefix", [&](const Value& v) { rule.prefix = r.read_bool(v); }},
            {"publish", [&](const Value& v) { rule.publish = r.read_bool(v); }},
            {"subscribe", [&](const Value& v) { rule.subscribe = r.read_bool(v); }},
            {"call", [&](const Value& v) { rule.call = r.read_bool(v); }},
            {"register", [&](const Value& v) { rule.register_procedure = r.read_bool(v); }},
        });
    }
    return rules;
}

// Role name -> its rules.
std::map<std::string, std::vector<UriRule>, std::less<>> read_roles(const YamlReader& r, const Value& value) {
    std::map<std::string, std::vector<UriRule>, std::less<>> roles;
    FirstSeen<std::string> name_lines;
    r.read_named_entries(value, "a mapping of role names to lists of rules", "role names",
                         [&](const std::string& name, const Value& entry) {
        if (name.empty()) r.fail(entry.key_mark, entry.path, "a role name must not be empty");
        if (const int first = name_lines.earlier(name, entry.key_mark.line + 1)) {
            r.fail(entry.key_mark, entry.path,
                   "duplicate key " + quote(name) + "; it is first set at line " + std::to_string(first));
        }
        roles.emplace(name, read_rules(r, entry));
    });
    return roles;
}

AuthUser read_user(const YamlReader& r, const Value& item, const RealmConfig& realm,
                   FirstSeen<std::string>& key_lines) {
    AuthUser user;
    // In an open realm every session may do everything whatever its role,
    // so a role there is only a name; elsewhere it decides what the user may do.
    const bool open = realm.rules.empty() && realm.roles.empty();
    SecretSource source(r);
    // salt decides what the secret, iterations and keylen mean, so these are
    // read together after the table.
    const Mapping m = r.read_keys(item, {
        {"key", [&](const Value& v) { user.key = read_unique_name(r, v, key_lines, "user key"); }, Presence::required},
        {"role", [&](const Value& v) {
             user.role = r.read_string(v);
             if (!open && realm.roles.find(user.role) == realm.roles.end()) {
                 std::string defined;
                 for (const auto& [name, rules] : realm.roles) defined += (defined.empty() ? "" : ", ") + name;
                 r.fail(v, "role " + quote(user.role) + " is not defined in this realm's roles" +
                               (defined.empty() ? " (it has rules but no roles)" : " (defined: " + defined + ")"));
             }
         }, open ? Presence::optional : Presence::required,
         "the realm has rules or roles, so every user needs a role from its roles"},
        source.key("secret"),
        source.key("secret_env"),
        source.key("secret_file"),
        source.key("derived_key"),
        {"salt"},
        {"iterations"},
        {"keylen"},
    });

    user.secret = source.read(item);
    user.secret_is_derived_key = source.name() == "derived_key";
    if (const Value* salt = find(m, "salt")) {
        SaltedKey salted;
        salted.salt = r.read_string(*salt);
        // AutobahnJS derives only `if (extra.salt)`: an empty salt would leave it signing with the plain secret.
        if (salted.salt.empty()) r.fail(*salt, "must not be empty; clients treat an empty salt as no salt");
        constexpr auto int_max = static_cast<std::uint32_t>(std::numeric_limits<int>::max());
        if (const Value* v = find(m, "iterations")) salted.iterations = r.read_integer<std::uint32_t>(*v, 1, int_max);
        if (const Value* v = find(m, "keylen")) salted.keylen = r.read_integer<std::uint32_t>(*v, 1, 1024);
        if (user.secret_is_derived_key && !is_base64_of(user.secret, salted.keylen)) {
            r.fail(source.value(), "is not the Base64 of a " + std::to_string(salted.keylen) +
                                       "-byte key (keylen): " + std::to_string(4 * ((salted.keylen + 2) / 3)) +
                                       " characters of A-Z a-z 0-9 + / with \"=\" padding are expected");
        }
        user.salted = std::move(salted);
    } else {
        for (std::string_view name : {"iterations", "keylen"}) {
            if (const Value* v = find(m, name)) r.fail(*v, "only used with salt (salted WAMP-CRA)");
        }
        if (user.secret_is_derived_key) {
            r.fail(source.value(),
                   "derived_key needs salt, and iterations and keylen when they differ from 10000 and 32");
        }
    }
    return user;
}

// Read after the realm's rules and roles, which decide whether a user
// needs a role and which names are roles.
AuthConfig read_auth(const YamlReader& r, const Value& value, const RealmConfig& realm) {
    AuthConfig auth;
    r.read_keys(value, {
        {"anonymous", [&](const Value& v) { auth.anonymous = r.read_bool(v); }},
        {"timeout", [&](const Value& v) { auth.timeout_ms = r.read_duration_ms(v, true); }},
        {"failure_delay", [&](const Value& v) { auth.failure_delay_ms = r.read_duration_ms(v, true); }},
        {"users", [&](const Value& v) {
             FirstSeen<std::string> key_lines;
             for (const Value& item : r.read_list(v)) auth.users.push_back(read_user(r, item, realm, key_lines));
         }},
    });
    return auth;
}

BridgeKey read_bridge_key(const YamlReader& r, const Value& item, const RealmConfig& realm,
                          FirstSeen<std::string>& key_lines) {
    BridgeKey key;
    SecretSource source(r);
    // The role is checked once the secret is known to be there.
    const Mapping m = r.read_keys(item, {
        {"key", [&](const Value& v) { key.key = read_unique_name(r, v, key_lines, "key"); }, Presence::required},
        source.key("secret"),
        source.key("secret_env"),
        source.key("secret_file"),
        {"role"},
    });
    key.secret = source.read(item);
    if (const Value* v = find(m, "role")) {
        key.role = r.read_string(*v);
        if (realm.roles.find(key.role) == realm.roles.end()) {
            r.fail(*v, "role " + quote(key.role) + " is not defined in this realm's roles");
        }
    }
    return key;
}

// Read after the realm's roles, which a key's role must name.
PublishBridgeConfig read_publish_bridge(const YamlReader& r, const Value& value, const RealmConfig& realm,
                                        const Config& config, PathOwners& path_owners) {
    PublishBridgeConfig bridge;
    bridge.max_body = std::min(bridge.max_body, config.websocket.http.max_body_bytes);
    r.read_keys(value, {
        {"path", [&](const Value& v) {
             bridge.path = r.read_string(v);
             if (!bridge.path.starts_with('/')) r.fail(v, "must start with \"/\", got " + quote(bridge.path));
             if (bridge.path.find_first_of("?# ") != std::string::npos) r.fail(v, "must be a plain path");
             if (std::string problem = reserved_path(bridge.path); !problem.empty()) r.fail(v, problem);
             const std::string owner = "the publish bridge of realm " + quote(realm.name) + " (line " +
                                       std::to_string(v.mark().line + 1) + ")";
             if (std::string problem = path_owners.claim(bridge.path, owner); !problem.empty()) r.fail(v, problem);
         }, Presence::required},
        {"max_body", [&](const Value& v) {
             bridge.max_body = r.read_size(v, false);
             if (std::string problem = bridge_body_above_http_limit(bridge, config.websocket); !problem.empty()) {
                 r.fail(v, problem);
             }
         }},
        {"max_batch", [&](const Value& v) { bridge.max_batch = r.read_integer<std::size_t>(v, 1); }},
        {"timestamp_window", [&](const Value& v) { bridge.timestamp_window_ms = r.read_duration_ms(v, false); }},
        {"keys", [&](const Value& v) {
             FirstSeen<std::string> key_lines;
             for (const Value& item : r.read_list(v)) bridge.keys.push_back(read_bridge_key(r, item, realm, key_lines));
         }},
    });
    return bridge;
}

// What would break the request's framing is refused here rather than sent.
std::map<std::string, std::string> read_headers(const YamlReader& r, const Value& value) {
    std::map<std::string, std::string> headers;
    FirstSeen<std::string> name_lines;  // by lowercase name: HTTP names ignore case
    r.read_named_entries(value, "a mapping of header names to values", "header names",
                         [&](const std::string& name, const Value& header) {
        static constexpr std::string_view token_symbols = "!#$%&'*+-.^_`|~";
        const bool token = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
            return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                   token_symbols.find(c) != std::string_view::npos;
        });
        if (!token) r.fail(header.key_mark, header.path, quote(name) + " is not an HTTP header name");
        std::string lower = name;
        std::transform(lower.begin(), lower.end(), lower.begin(),
                       [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; });
        if (lower == "content-type" || lower == "content-length" || lower == "transfer-encoding") {
            r.fail(header.key_mark, header.path, quote(name) + " is set by the router (the body is JSON)");
        }
        if (const int first = name_lines.earlier(lower, header.key_mark.line + 1)) {
            r.fail(header.key_mark, header.path,
                   "duplicate header " + quote(name) + "; it is first set at line " + std::to_string(first));
        }
        std::string text = r.read_string(header);
        // curl drops a header whose value is empty.
        if (text.empty()) r.fail(header, "must not be empty");
        if (std::any_of(text.begin(), text.end(), [](char c) {
                const auto u = static_cast<unsigned char>(c);
                return (u < 0x20 && c != '\t') || u == 0x7f;
            })) {
            r.fail(header, "must not contain line breaks or control characters");
        }
        headers.emplace(name, std::move(text));
    });
    return headers;
}

std::vector<BackendConfig> read_backends(const YamlReader& r, const Value& value) {
    std::vector<BackendConfig> backends;
    // (procedure, prefix) -> line: the same one twice would leave one of them unused.
    FirstSeen<std::pair<std::string, bool>> procedure_lines;
    for (const Value& item : r.read_list(value)) {
        BackendConfig& backend = backends.emplace_back();
        std::optional<Value> procedure;
        r.read_keys(item, {
            {"procedure", [&](const Value& v) {
                 backend.procedure = r.read_string(v);
                 if (backend.procedure.empty()) r.fail(v, "must not be empty");
                 procedure = v;
             }, Presence::required},
            {"prefix", [&](const Value& v) { backend.prefix = r.read_bool(v); }},
            {"url", [&](const Value& v) {
                 // Checked here, before the url, because the check takes prefix too.
                 const std::pair key{backend.procedure, backend.prefix};
                 if (const int first = procedure_lines.earlier(key, procedure->mark().line + 1)) {
                     r.fail(*procedure, std::string(backend.prefix ? "a prefix backend" : "a backend") + " for " +
                                            quote(backend.procedure) + " is already at line " + std::to_string(first));
                 }
                 backend.url = r.read_string(v);
                 const std::size_t scheme = backend.url.starts_with("http://")    ? 7
                                            : backend.url.starts_with("https://") ? 8
                                                                                  : 0;
                 if (scheme == 0) r.fail(v, "must start with http:// or https://, got " + quote(backend.url));
                 if (backend.url.size() == scheme || backend.url[scheme] == '/') r.fail(v, "has no host");
                 if (std::any_of(backend.url.begin(), backend.url.end(),
                                 [](char c) { return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f; })) {
                     r.fail(v, "must not contain spaces or control characters");
                 }
             }, Presence::required},
            {"timeout_ms", [&](const Value& v) { backend.timeout_ms = r.read_integer<std::uint32_t>(v, 1); }},
            {"max_concurrent", [&](const Value& v) { backend.max_concurrent = r.read_integer<std::size_t>(v, 1); }},
            {"max_queued", [&](const Value& v) { backend.max_queued = r.read_integer<std::size_t>(v); }},
            {"headers", [&](const Value& v) { backend.headers = read_headers(r, v); }},
        });
    }
    return backends;
}

}  // namespace

std::vector<RealmConfig> read_realms(const YamlReader& r, const Value& value, const Config& config,
                                     PathOwners& path_owners) {
    const std::vector<Value> items = r.read_list(value);
    if (items.empty()) r.fail(value, "at least one realm is needed");
    FirstSeen<std::string> name_lines;
    std::vector<RealmConfig> realms;
    for (const Value& item : items) {
        RealmConfig& realm = realms.emplace_back();
        realm.limits = config.limits;
        // In this order: auth and the publish bridge use the realm's rules and roles.
        r.read_keys(item, {
            {"name", [&](const Value& v) { realm.name = read_unique_name(r, v, name_lines, "realm name"); },
             Presence::required},
            {"paths", [&](const Value& v) {
                 const std::vector<Value> path_items = r.read_list(v);
                 if (path_items.empty()) r.fail(v, "at least one path is needed");
                 for (const Value& path_item : path_items) {
                     std::string path = r.read_url_path(path_item);
                     const std::string owner = "realm " + quote(realm.name) + " (line " +
                                               std::to_string(path_item.mark().line + 1) + ")";
                     if (std::string problem = path_owners.claim(path, owner); !problem.empty()) {
                         r.fail(path_item, problem);
                     }
                     realm.paths.push_back(std::move(path));
                 }
             }, Presence::required},
            {"accept_no_subprotocol", [&](const Value& v) { realm.accept_no_subprotocol = r.read_bool(v); }},
            {"strict", [&](const Value& v) { realm.strict = r.read_bool(v); }},
            {"max_message_size", [&](const Value& v) {
                 realm.max_message_size = r.read_size(v, true);
                 if (std::string problem = realm_message_size_above_transport(realm, config.websocket);
                     !problem.empty()) {
                     r.fail(v, problem);
                 }
             }},
            {"limits", [&](const Value& v) { realm.limits = read_limits(r, v, config.limits); }},
            {"builtins", [&](const Value& v) { realm.builtins = read_builtins(r, v); }},
            {"rules", [&](const Value& v) { realm.rules = read_rules(r, v); }},
            {"roles", [&](const Value& v) { realm.roles = read_roles(r, v); }},
            {"auth", [&](const Value& v) { realm.auth = read_auth(r, v, realm); }},
            {"allowed_origins", [&](const Value& v) {
                 for (const Value& origin : r.read_list(v)) {
                     realm.allowed_origins.push_back(r.read_string(origin));
                     if (realm.allowed_origins.back().empty()) r.fail(origin, "must not be empty");
                 }
             }},
            {"backends", [&](const Value& v) { realm.backends = read_backends(r, v); }},
            {"publish_bridge", [&](const Value& v) {
                 realm.publish_bridge = read_publish_bridge(r, v, realm, config, path_owners);
             }},
            {"callee_timeout", [&](const Value& v) { realm.callee_timeout_ms = r.read_duration_ms(v, false); }},
        });
    }
    return realms;
}

}  // namespace kreuz::config
