#include "config/loader.h"

#include <arpa/inet.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <set>
#include <sstream>
#include <limits>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "config/cross_checks.h"

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

std::string describe_node(const YAML::Node& node) {
    switch (node.Type()) {
        case YAML::NodeType::Sequence: return "a list";
        case YAML::NodeType::Map: return "a mapping";
        case YAML::NodeType::Scalar: return quote(node.Scalar());
        default: return "an empty value";
    }
}

// At most `max_bytes` of a file (`larger` says there was more), or which
// step failed ("open" or "read") and why: one reader for the configuration
// file, secret files and the TLS files' check. Bounded, since a path may name
// a device that never ends (/dev/zero).
struct FileRead {
    std::string text;
    bool larger = false;
    const char* failed_step = nullptr;
    std::string reason;
};

FileRead read_file(const std::string& path, std::size_t max_bytes) {
    FileRead result;
    std::FILE* file = std::fopen(path.c_str(), "rb");
    if (!file) {
        result.failed_step = "open";
        result.reason = std::strerror(errno);
        return result;
    }
    char buffer[8192];
    std::size_t n = 0;
    while (result.text.size() <= max_bytes && (n = std::fread(buffer, 1, sizeof buffer, file)) > 0) {
        result.text.append(buffer, n);
    }
    // fopen succeeds on a directory; reading from it is what fails. errno is
    // read before fclose, which may overwrite it.
    if (std::ferror(file) != 0) {
        result.failed_step = "read";
        result.reason = std::strerror(errno);
    }
    std::fclose(file);
    if (result.text.size() > max_bytes) {
        result.larger = true;
        result.text.resize(max_bytes);
    }
    return result;
}

// The largest configuration and secret files read.
constexpr std::size_t max_config_file = 16u << 20;
constexpr std::size_t max_secret_file = 64u << 10;

// Where each name of a list or mapping was first seen, for the "... is
// already used at line N" errors: one helper for every such check.
template <class Key>
class FirstSeen {
public:
    // 0 when `key` is new (it is recorded at `line`), else the line it was first seen at.
    int earlier(const Key& key, int line) {
        auto [it, added] = lines_.emplace(key, line);
        return added ? 0 : it->second;
    }

private:
    std::map<Key, int, std::less<>> lines_;
};

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

bool all_digits(std::string_view text) {
    return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string child_path(const std::string& parent, std::string_view key) {
    return parent.empty() ? std::string(key) : parent + "." + std::string(key);
}

std::string index_path(const std::string& parent, std::size_t index) {
    return parent + "[" + std::to_string(index) + "]";
}

// A node with what messages about it need: its key path, and the mark of the
// key it belongs to. yaml-cpp places an empty (null) value at the token after
// it, often on the next line, so errors about a null value point at its key.
struct Value {
    YAML::Node node;
    std::string path;
    YAML::Mark key_mark;

    YAML::Mark mark() const { return node.IsNull() ? key_mark : node.Mark(); }
};

// The values of one YAML mapping by key. Building it has already rejected
// duplicate and unknown keys, so readers only look up the keys they know.
using Mapping = std::map<std::string, Value, std::less<>>;

const Value* find(const Mapping& mapping, std::string_view key) {
    auto it = mapping.find(key);
    return it == mapping.end() ? nullptr : &it->second;
}

// A number followed by a unit, as in "64KiB" or "500ms"; spaces between them
// are allowed. number is empty when the text does not start with a digit.
struct Quantity {
    std::string_view number;
    std::string_view unit;
};

Quantity split_quantity(std::string_view text) {
    std::size_t digits = 0;
    while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
    std::size_t unit = digits;
    while (unit < text.size() && text[unit] == ' ') ++unit;
    return {text.substr(0, digits), text.substr(unit)};
}

class Loader {
public:
    explicit Loader(const std::string& file_name) : file_(file_name) {}

    Config load(const YAML::Node& root) {
        Config config;
        // An empty document (a file of comments only) is the all-defaults config.
        const Mapping top = root.IsNull()
            ? Mapping{}
            : read_mapping({root, "", root.Mark()}, {"listen", "log", "websocket", "http", "limits", "realms"});

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
            config.echo_path = read_path(*echo_path);
            if (std::string problem = reserved_path(config.echo_path); !problem.empty()) fail(*echo_path, problem);
            if (std::string problem = path_owners.claim(config.echo_path, "the echo endpoint"); !problem.empty()) {
                fail(*echo_path, problem);
            }
        }
        return config;
    }

private:
    [[noreturn]] void fail(const YAML::Mark& mark, const std::string& path, const std::string& message) const {
        throw ConfigError(file_, mark.line + 1, mark.column + 1, path, message);
    }

    [[noreturn]] void fail(const Value& value, const std::string& message) const {
        fail(value.mark(), value.path, message);
    }

    Mapping read_mapping(const Value& value, std::initializer_list<std::string_view> known) const {
        if (!value.node.IsMap()) {
            // "log:" with every line below commented out is the common way to get here.
            const char* hint = value.node.IsNull() ? "; leave the key out to keep the defaults" : "";
            fail(value, "expected a mapping, got " + describe_node(value.node) + hint);
        }
        Mapping mapping;
        for (auto it = value.node.begin(); it != value.node.end(); ++it) {
            const YAML::Node key = it->first;
            if (!key.IsScalar()) fail(key.Mark(), value.path, "keys must be names, got " + describe_node(key));
            const std::string& name = key.Scalar();
            const std::string path = child_path(value.path, name);
            // yaml-cpp keeps both entries of a repeated key; a silent "last one
            // wins" would hide a half-edited config.
            if (const Value* first = find(mapping, name)) {
                fail(key.Mark(), path,
                     "duplicate key " + quote(name) + "; it is first set at line " +
                         std::to_string(first->key_mark.line + 1));
            }
            if (std::find(known.begin(), known.end(), name) == known.end()) {
                std::string message = "unknown key " + quote(name);
                if (name == "<<") {
                    message += "; YAML merge keys are not supported, write the keys out";
                } else {
                    std::string names;
                    for (std::string_view k : known) names += (names.empty() ? "" : ", ") + std::string(k);
                    message += " (known here: " + names + ")";
                }
                fail(key.Mark(), path, message);
            }
            mapping.emplace(name, Value{it->second, path, key.Mark()});
        }
        return mapping;
    }

    std::vector<Value> read_list(const Value& value) const {
        if (!value.node.IsSequence()) fail(value, "expected a list, got " + describe_node(value.node));
        std::vector<Value> items;
        for (const YAML::Node& item : value.node) {
            // A null item has no position of its own; the list's is the nearest honest one.
            const YAML::Mark mark = item.IsNull() ? value.mark() : item.Mark();
            items.push_back({item, index_path(value.path, items.size()), mark});
        }
        return items;
    }

    std::string read_scalar(const Value& value, std::string_view expected) const {
        if (!value.node.IsScalar()) {
            fail(value, "expected " + std::string(expected) + ", got " + describe_node(value.node));
        }
        return value.node.Scalar();
    }

    std::string read_string(const Value& value) const { return read_scalar(value, "a string"); }

    // Only YAML 1.2's spellings: yes/no/on/off are strings there, and a value
    // that one reader takes for a boolean and another for a string is a trap.
    bool read_bool(const Value& value) const {
        const std::string text = read_scalar(value, "true or false");
        if (text == "true" || text == "True" || text == "TRUE") return true;
        if (text == "false" || text == "False" || text == "FALSE") return false;
        fail(value, "expected true or false, got " + quote(text));
    }

    std::uint64_t to_number(const Value& value, std::string_view digits) const {
        std::uint64_t n = 0;
        const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
        if (error != std::errc{} || end != digits.data() + digits.size()) {
            fail(value, quote(value.node.Scalar()) + " is too large");
        }
        return n;
    }

    // Whole decimal numbers only: no sign, no hex, no separators, so that a
    // typo cannot quietly mean something else.
    template <typename T>
    T read_integer(const Value& value, T min = 0, T max = std::numeric_limits<T>::max()) const {
        const std::string text = read_scalar(value, "a whole number");
        if (text.starts_with('-') && all_digits(std::string_view(text).substr(1))) {
            fail(value, "must not be negative, got " + text);
        }
        if (!all_digits(text)) fail(value, "expected a whole number, got " + quote(text));
        const std::uint64_t n = to_number(value, text);
        const auto low = static_cast<std::uint64_t>(min);
        const auto high = static_cast<std::uint64_t>(max);
        if (n < low || n > high) {
            fail(value, (low == 0 ? "must be at most " + std::to_string(high)
                                  : "must be between " + std::to_string(low) + " and " + std::to_string(high)) +
                            ", got " + text);
        }
        return static_cast<T>(n);
    }

    // Bytes: "65536", "65536B", "64KiB", "16MiB", "1GiB".
    std::size_t read_size(const Value& value, bool zero_allowed) const {
        const std::string text = read_scalar(value, "a size");
        const Quantity q = split_quantity(text);
        std::uint64_t scale = 0;
        if (q.unit.empty() || q.unit == "B") {
            scale = 1;
        } else if (q.unit == "KiB") {
            scale = std::uint64_t{1} << 10;
        } else if (q.unit == "MiB") {
            scale = std::uint64_t{1} << 20;
        } else if (q.unit == "GiB") {
            scale = std::uint64_t{1} << 30;
        }
        if (q.number.empty() || scale == 0) {
            fail(value, "expected a size: a whole number of bytes, optionally with the unit B, KiB, MiB or GiB "
                        "(e.g. 65536 or 64KiB), got " + quote(text));
        }
        const std::uint64_t n = to_number(value, q.number);
        if (n > std::numeric_limits<std::size_t>::max() / scale) fail(value, quote(text) + " is too large");
        if (n == 0 && !zero_allowed) fail(value, "must be greater than 0");
        return static_cast<std::size_t>(n * scale);
    }

    // "500ms", "30s", "2m", "1h". A bare number is refused because "30" could
    // as well mean seconds as milliseconds; only 0 needs no unit.
    std::uint32_t read_duration_ms(const Value& value, bool zero_disables) const {
        const std::string text = read_scalar(value, "a duration");
        const Quantity q = split_quantity(text);
        if (!q.number.empty() && q.unit.empty() && to_number(value, q.number) != 0) {
            fail(value, quote(text) + " has no unit; write e.g. " + text + "s for seconds or " + text +
                            "ms for milliseconds");
        }
        std::uint64_t scale = 0;
        if (q.unit.empty() || q.unit == "ms") {
            scale = 1;
        } else if (q.unit == "s") {
            scale = 1000;
        } else if (q.unit == "m") {
            scale = 60 * 1000;
        } else if (q.unit == "h") {
            scale = 60 * 60 * 1000;
        }
        if (q.number.empty() || scale == 0) {
            fail(value, "expected a duration: a whole number with the unit ms, s, m or h (e.g. 500ms, 30s, 2m), got " +
                            quote(text));
        }
        const std::uint64_t n = to_number(value, q.number);
        constexpr std::uint64_t max_ms = std::numeric_limits<std::uint32_t>::max();
        if (n > max_ms / scale) {
            fail(value, quote(text) + " is too long; the limit is " + std::to_string(max_ms) + "ms (about 49 days)");
        }
        if (n == 0 && !zero_disables) fail(value, "must be greater than 0");
        return static_cast<std::uint32_t>(n * scale);
    }

    // What the HTTP request target of a WebSocket upgrade can be matched against.
    std::string read_path(const Value& value) const {
        const std::string text = read_string(value);
        if (!text.starts_with('/')) fail(value, "must start with \"/\", got " + quote(text));
        for (char c : text) {
            const auto u = static_cast<unsigned char>(c);
            if (u <= 0x20 || u >= 0x7f || c == '?' || c == '#') {
                fail(value, quote(text) + " is not a plain URL path (no spaces, query, fragment or non-ASCII)");
            }
        }
        return text;
    }

    std::vector<ws::ListenOptions> read_listeners(const Value& value) const {
        const std::vector<Value> items = read_list(value);
        if (items.empty()) fail(value, "at least one listener is needed");
        std::vector<ws::ListenOptions> listeners;
        for (const Value& item : items) {
            const Mapping m = read_mapping(item, {"host", "port", "backlog", "tls"});
            ws::ListenOptions listen;
            if (const Value* v = find(m, "host")) {
                listen.host = read_string(*v);
                unsigned char address[sizeof(in6_addr)];
                if (inet_pton(AF_INET, listen.host.c_str(), address) != 1 &&
                    inet_pton(AF_INET6, listen.host.c_str(), address) != 1) {
                    fail(*v, "expected an IPv4 or IPv6 address such as 127.0.0.1, 0.0.0.0, ::1 or :: "
                             "(no brackets; host names are not resolved), got " + quote(listen.host));
                }
            }
            if (const Value* v = find(m, "port")) listen.port = read_integer<std::uint16_t>(*v);
            if (const Value* v = find(m, "backlog")) listen.backlog = read_integer<int>(*v);
            if (const Value* v = find(m, "tls")) listen.tls = read_tls(*v);
            listeners.push_back(std::move(listen));
        }
        return listeners;
    }

    // The files are only checked for being readable here; whether they hold a
    // certificate and its key is found out when the listener starts, where
    // OpenSSL reads them (config/ does not link it).
    ws::TlsOptions read_tls(const Value& value) const {
        const Mapping m = read_mapping(value, {"cert", "key", "ca", "min_version", "ciphers"});
        ws::TlsOptions tls;
        const Value* cert = find(m, "cert");
        if (!cert) fail(value, "missing required key \"cert\"");
        const Value* key = find(m, "key");
        if (!key) fail(value, "missing required key \"key\"");
        tls.cert = read_readable_file(*cert);
        tls.key = read_readable_file(*key);
        if (const Value* v = find(m, "ca")) tls.ca = read_readable_file(*v);
        if (const Value* v = find(m, "min_version")) {
            const std::string text = read_string(*v);
            if (text == "1.2") {
                tls.min_version = ws::TlsVersion::tls1_2;
            } else if (text == "1.3") {
                tls.min_version = ws::TlsVersion::tls1_3;
            } else {
                fail(*v, "expected \"1.2\" or \"1.3\" (older versions are not offered), got " + quote(text));
            }
        }
        if (const Value* v = find(m, "ciphers")) {
            tls.ciphers = read_string(*v);
            if (tls.ciphers.empty()) fail(*v, "must not be empty; leave the key out for the default ciphers");
        }
        return tls;
    }

    // A file that is read again later (on a reload): it must be readable now,
    // so that a typo in its name stops the router here rather than at the
    // first reload.
    std::string read_readable_file(const Value& value) const {
        const std::string path = read_string(value);
        if (path.empty()) fail(value, "must not be empty");
        // One byte tells whether it can be read; the TLS layer reads it at start.
        if (const FileRead file = read_file(path, 1); file.failed_step) {
            fail(value, "cannot read " + quote(path) + ": " + file.reason);
        }
        return path;
    }

    LogConfig read_log(const Value& value) const {
        const Mapping m = read_mapping(value, {"level", "format"});
        LogConfig log;
        if (const Value* v = find(m, "format")) {
            const std::string format = read_string(*v);
            if (format != "text" && format != "json") fail(*v, "expected text or json, got " + quote(format));
            log.json = format == "json";
        }
        if (const Value* v = find(m, "level")) {
            log.level = read_string(*v);
            static constexpr std::string_view levels[] = {"trace", "debug", "info", "warn", "error", "critical", "off"};
            if (std::find(std::begin(levels), std::end(levels), log.level) == std::end(levels)) {
                fail(*v, "expected trace, debug, info, warn, error, critical or off, got " + quote(log.level));
            }
        }
        return log;
    }

    // Fills config.websocket and returns the echo_path value, which can only
    // be checked once the realms' paths are known.
    std::optional<Value> read_websocket(const Value& value, Config& config) const {
        const Mapping m = read_mapping(
            value, {"max_message_size", "max_fragments", "max_http_head", "max_http_headers", "max_http_body", "handshake_timeout",
                    "close_timeout", "ping_interval", "pong_timeout", "idle_timeout", "write_high_water",
                    "write_queue_limit", "slow_consumer_timeout", "echo_path", "deflate", "max_connections",
                    "max_connections_per_ip", "max_handshakes", "message_rate", "message_burst", "shutdown_mode"});
        ws::WebSocketOptions& ws = config.websocket;
        if (const Value* v = find(m, "max_message_size")) ws.max_message_size = read_size(*v, false);
        if (const Value* v = find(m, "max_fragments")) ws.max_fragments = read_integer<std::size_t>(*v, 1);
        if (const Value* v = find(m, "max_http_head")) ws.http.max_head_bytes = read_size(*v, false);
        if (const Value* v = find(m, "max_http_headers")) ws.http.max_headers = read_integer<std::size_t>(*v, 1);
        if (const Value* v = find(m, "max_http_body")) ws.http.max_body_bytes = read_size(*v, true);
        // A zero handshake timeout is off, as the connection treats it; the close,
        // pong and slow-consumer clocks have no "off", zero would fire at once.
        if (const Value* v = find(m, "handshake_timeout")) ws.handshake_timeout_ms = read_duration_ms(*v, true);
        if (const Value* v = find(m, "close_timeout")) ws.close_timeout_ms = read_duration_ms(*v, false);
        if (const Value* v = find(m, "ping_interval")) ws.ping_interval_ms = read_duration_ms(*v, true);
        if (const Value* v = find(m, "pong_timeout")) ws.pong_timeout_ms = read_duration_ms(*v, false);
        if (const Value* v = find(m, "idle_timeout")) ws.idle_timeout_ms = read_duration_ms(*v, true);
        if (const Value* v = find(m, "write_high_water")) ws.write_high_water = read_size(*v, false);
        if (const Value* v = find(m, "write_queue_limit")) ws.write_queue_limit = read_size(*v, false);
        if (const Value* v = find(m, "slow_consumer_timeout")) {
            ws.slow_consumer_timeout_ms = read_duration_ms(*v, false);
        }
        if (const Value* v = find(m, "deflate")) ws.deflate = read_deflate(*v);
        if (const Value* v = find(m, "max_connections")) ws.max_connections = read_integer<std::size_t>(*v);
        if (const Value* v = find(m, "max_connections_per_ip")) {
            ws.max_connections_per_ip = read_integer<std::size_t>(*v);
        }
        if (const Value* v = find(m, "max_handshakes")) ws.max_handshakes = read_integer<std::size_t>(*v);
        if (const Value* v = find(m, "message_rate")) {
            ws.message_rate = static_cast<double>(read_integer<std::uint32_t>(*v));
        }
        if (const Value* v = find(m, "message_burst")) ws.message_burst = read_integer<std::size_t>(*v, 1);
        if (const Value* v = find(m, "shutdown_mode")) {
            const std::string mode = read_string(*v);
            if (mode != "close" && mode != "drop") fail(*v, "expected close or drop, got " + quote(mode));
            ws.shutdown_drop = mode == "drop";
        }

        // The defaults agree with each other, so whenever a check fails one of
        // the keys involved is in the file; the error points at the limit if it
        // is there, else at the key that outgrew it.
        const Value* queue_limit = find(m, "write_queue_limit");
        if (std::string problem = queue_limit_below_high_water(ws); !problem.empty()) {
            fail(queue_limit ? *queue_limit : *find(m, "write_high_water"), problem);
        }
        if (std::string problem = queue_limit_below_message_size(ws); !problem.empty()) {
            fail(queue_limit ? *queue_limit : *find(m, "max_message_size"), problem);
        }

        if (const Value* v = find(m, "echo_path")) return *v;
        return std::nullopt;
    }

    ws::DeflateOptions read_deflate(const Value& value) const {
        const Mapping m = read_mapping(value, {"enabled", "min_size", "mem_level"});
        ws::DeflateOptions deflate;
        if (const Value* v = find(m, "enabled")) deflate.enabled = read_bool(*v);
        if (const Value* v = find(m, "min_size")) deflate.min_size = read_size(*v, true);
        if (const Value* v = find(m, "mem_level")) deflate.mem_level = read_integer<int>(*v, 1, 9);
        return deflate;
    }

    HttpConfig read_http(const Value& value) const {
        const Mapping m = read_mapping(value, {"serve_www", "www_root", "health", "metrics", "admin"});
        HttpConfig http;
        if (const Value* v = find(m, "admin")) http.admin = read_bool(*v);
        if (const Value* v = find(m, "health")) http.health = read_bool(*v);
        if (const Value* v = find(m, "metrics")) http.metrics = read_bool(*v);
        if (const Value* v = find(m, "serve_www")) http.serve_www = read_bool(*v);
        if (const Value* v = find(m, "www_root")) http.www_root = read_string(*v);
        return http;
    }

    // Keys that are given replace those of base; the others keep base's values.
    SessionLimits read_limits(const Value& value, SessionLimits base) const {
        const Mapping m =
            read_mapping(value, {"max_prefixes", "max_subscriptions", "max_pending_calls", "max_registrations"});
        if (const Value* v = find(m, "max_registrations")) base.max_registrations = read_integer<std::size_t>(*v);
        if (const Value* v = find(m, "max_prefixes")) base.max_prefixes = read_integer<std::size_t>(*v);
        if (const Value* v = find(m, "max_subscriptions")) base.max_subscriptions = read_integer<std::size_t>(*v);
        if (const Value* v = find(m, "max_pending_calls")) base.max_pending_calls = read_integer<std::size_t>(*v);
        return base;
    }

    BuiltinProcedures read_builtins(const Value& value) const {
        const Mapping m = read_mapping(value, {"ping", "echo", "testee_dispatch"});
        BuiltinProcedures builtins;
        if (const Value* v = find(m, "ping")) builtins.ping = read_bool(*v);
        if (const Value* v = find(m, "echo")) builtins.echo = read_bool(*v);
        if (const Value* v = find(m, "testee_dispatch")) builtins.testee_dispatch = read_bool(*v);
        return builtins;
    }

    std::vector<UriRule> read_rules(const Value& value) const {
        std::vector<UriRule> rules;
        FirstSeen<std::string> uri_lines;
        for (const Value& item : read_list(value)) {
            const Mapping m = read_mapping(item, {"uri", "prefix", "publish", "subscribe", "call", "register"});
            const Value* uri = find(m, "uri");
            if (!uri) fail(item, "missing required key \"uri\"");
            UriRule rule;
            rule.uri = read_string(*uri);
            if (const int first = uri_lines.earlier(rule.uri, uri->mark().line + 1)) {
                fail(*uri, "a rule for " + quote(rule.uri) + " is already at line " + std::to_string(first));
            }
            if (const Value* v = find(m, "prefix")) rule.prefix = read_bool(*v);
            if (const Value* v = find(m, "publish")) rule.publish = read_bool(*v);
            if (const Value* v = find(m, "subscribe")) rule.subscribe = read_bool(*v);
            if (const Value* v = find(m, "call")) rule.call = read_bool(*v);
            if (const Value* v = find(m, "register")) rule.register_procedure = read_bool(*v);
            rules.push_back(std::move(rule));
        }
        return rules;
    }

    // Role name -> its rules. Role names are the operator's own, so this
    // mapping cannot go through read_mapping, which knows its keys in advance.
    std::map<std::string, std::vector<UriRule>, std::less<>> read_roles(const Value& value) const {
        if (!value.node.IsMap()) {
            fail(value, "expected a mapping of role names to lists of rules, got " + describe_node(value.node));
        }
        std::map<std::string, std::vector<UriRule>, std::less<>> roles;
        FirstSeen<std::string> name_lines;
        for (auto it = value.node.begin(); it != value.node.end(); ++it) {
            const YAML::Node key = it->first;
            if (!key.IsScalar()) fail(key.Mark(), value.path, "role names must be names, got " + describe_node(key));
            const std::string& name = key.Scalar();
            const std::string path = child_path(value.path, name);
            if (name.empty()) fail(key.Mark(), path, "a role name must not be empty");
            if (const int first = name_lines.earlier(name, key.Mark().line + 1)) {
                fail(key.Mark(), path,
                     "duplicate key " + quote(name) + "; it is first set at line " + std::to_string(first));
            }
            roles.emplace(name, read_rules({it->second, path, key.Mark()}));
        }
        return roles;
    }

    // Read after the realm's rules and roles, which decide whether a user
    // needs a role and which names are roles.
    AuthConfig read_auth(const Value& value, const RealmConfig& realm) const {
        const Mapping m = read_mapping(value, {"anonymous", "timeout", "failure_delay", "users"});
        AuthConfig auth;
        if (const Value* v = find(m, "anonymous")) auth.anonymous = read_bool(*v);
        if (const Value* v = find(m, "timeout")) auth.timeout_ms = read_duration_ms(*v, true);
        if (const Value* v = find(m, "failure_delay")) auth.failure_delay_ms = read_duration_ms(*v, true);
        if (const Value* v = find(m, "users")) {
            FirstSeen<std::string> key_lines;
            for (const Value& item : read_list(*v)) auth.users.push_back(read_user(item, realm, key_lines));
        }
        return auth;
    }

    AuthUser read_user(const Value& item, const RealmConfig& realm,
                       FirstSeen<std::string>& key_lines) const {
        const Mapping m = read_mapping(item, {"key", "role", "secret", "secret_env", "secret_file", "derived_key",
                                              "salt", "iterations", "keylen"});
        AuthUser user;
        const Value* key = find(m, "key");
        if (!key) fail(item, "missing required key \"key\"");
        user.key = read_string(*key);
        if (user.key.empty()) fail(*key, "must not be empty");
        if (const int first = key_lines.earlier(user.key, key->mark().line + 1)) {
            fail(*key, "user key " + quote(user.key) + " is already used at line " + std::to_string(first));
        }

        // In an open realm every session may do everything whatever its role,
        // so a role there is only a name; elsewhere it decides what the user may do.
        const bool open = realm.rules.empty() && realm.roles.empty();
        if (const Value* v = find(m, "role")) {
            user.role = read_string(*v);
            if (!open && realm.roles.find(user.role) == realm.roles.end()) {
                std::string defined;
                for (const auto& [name, rules] : realm.roles) defined += (defined.empty() ? "" : ", ") + name;
                fail(*v, "role " + quote(user.role) + " is not defined in this realm's roles" +
                             (defined.empty() ? " (it has rules but no roles)" : " (defined: " + defined + ")"));
            }
        } else if (!open) {
            fail(item, "missing required key \"role\": the realm has rules or roles, so every user needs a role "
                       "from its roles");
        }

        std::string_view source_name;
        const Value* source = find_secret(m, item, {"secret", "secret_env", "secret_file", "derived_key"}, source_name);
        user.secret = read_secret(*source, source_name);
        user.secret_is_derived_key = source_name == "derived_key";

        if (const Value* salt = find(m, "salt")) {
            SaltedKey salted;
            salted.salt = read_string(*salt);
            // AutobahnJS derives only `if (extra.salt)`: an empty salt would leave it signing with the plain secret.
            if (salted.salt.empty()) fail(*salt, "must not be empty; clients treat an empty salt as no salt");
            constexpr auto int_max = static_cast<std::uint32_t>(std::numeric_limits<int>::max());
            if (const Value* v = find(m, "iterations")) salted.iterations = read_integer<std::uint32_t>(*v, 1, int_max);
            if (const Value* v = find(m, "keylen")) salted.keylen = read_integer<std::uint32_t>(*v, 1, 1024);
            if (user.secret_is_derived_key && !is_base64_of(user.secret, salted.keylen)) {
                fail(*source, "is not the Base64 of a " + std::to_string(salted.keylen) + "-byte key (keylen): " +
                                  std::to_string(4 * ((salted.keylen + 2) / 3)) + " characters of A-Z a-z 0-9 + / "
                                  "with \"=\" padding are expected");
            }
            user.salted = std::move(salted);
        } else {
            for (std::string_view name : {"iterations", "keylen"}) {
                if (const Value* v = find(m, name)) fail(*v, "only used with salt (salted WAMP-CRA)");
            }
            if (user.secret_is_derived_key) {
                fail(*source, "derived_key needs salt, and iterations and keylen when they differ from 10000 and 32");
            }
        }
        return user;
    }

    // The one key of `names` that gives a secret; none or two are errors.
    const Value* find_secret(const Mapping& m, const Value& item, std::initializer_list<std::string_view> names,
                             std::string_view& source_name) const {
        const Value* source = nullptr;
        std::string listed;
        std::size_t index = 0;
        for (std::string_view name : names) {
            if (index > 0) listed += index + 1 == names.size() ? " or " : ", ";
            listed += name;
            ++index;
            const Value* v = find(m, name);
            if (!v) continue;
            if (source) {
                fail(*v, std::string(source_name) + " and " + std::string(name) + " both give the secret; keep one");
            }
            source = v;
            source_name = name;
        }
        if (!source) fail(item, "missing the secret: one of " + listed + " is required");
        return source;
    }

    // The secret itself: the value, or what the environment variable or the
    // file it names holds. Never empty.
    std::string read_secret(const Value& source, std::string_view source_name) const {
        std::string secret;
        if (source_name == "secret_env") {
            const std::string variable = read_string(source);
            const char* text = variable.empty() ? nullptr : std::getenv(variable.c_str());
            if (!text) fail(source, "environment variable " + quote(variable) + " is not set");
            secret = text;
            if (secret.empty()) fail(source, "environment variable " + quote(variable) + " is empty");
        } else if (source_name == "secret_file") {
            const std::string path = read_string(source);
            secret = read_secret_file(source, path);
            if (secret.empty()) fail(source, "the file " + quote(path) + " is empty");
        } else {
            secret = read_string(source);
            if (secret.empty()) fail(source, "must not be empty");
        }
        return secret;
    }

    // Read after the realm's roles, which a key's role must name.
    PublishBridgeConfig read_publish_bridge(const Value& value, const RealmConfig& realm, const Config& config,
                                            PathOwners& path_owners) const {
        const Mapping m = read_mapping(value, {"path", "max_body", "max_batch", "timestamp_window", "keys"});
        PublishBridgeConfig bridge;
        const Value* path = find(m, "path");
        if (!path) fail(value, "missing required key \"path\"");
        bridge.path = read_string(*path);
        if (!bridge.path.starts_with('/')) fail(*path, "must start with \"/\", got " + quote(bridge.path));
        if (bridge.path.find_first_of("?# ") != std::string::npos) fail(*path, "must be a plain path");
        if (std::string problem = reserved_path(bridge.path); !problem.empty()) fail(*path, problem);
        const std::string owner = "the publish bridge of realm " + quote(realm.name) + " (line " +
                                  std::to_string(path->mark().line + 1) + ")";
        if (std::string problem = path_owners.claim(bridge.path, owner); !problem.empty()) fail(*path, problem);
        if (const Value* v = find(m, "max_body")) {
            bridge.max_body = read_size(*v, false);
            if (std::string problem = bridge_body_above_http_limit(bridge, config.websocket); !problem.empty()) {
                fail(*v, problem);
            }
        } else {
            bridge.max_body = std::min(bridge.max_body, config.websocket.http.max_body_bytes);
        }
        if (const Value* v = find(m, "max_batch")) bridge.max_batch = read_integer<std::size_t>(*v, 1);
        if (const Value* v = find(m, "timestamp_window")) bridge.timestamp_window_ms = read_duration_ms(*v, false);
        if (const Value* v = find(m, "keys")) {
            FirstSeen<std::string> key_lines;
            for (const Value& item : read_list(*v)) {
                const Mapping km = read_mapping(item, {"key", "secret", "secret_env", "secret_file", "role"});
                BridgeKey key;
                const Value* name = find(km, "key");
                if (!name) fail(item, "missing required key \"key\"");
                key.key = read_string(*name);
                if (key.key.empty()) fail(*name, "must not be empty");
                if (const int first = key_lines.earlier(key.key, name->mark().line + 1)) {
                    fail(*name, "key " + quote(key.key) + " is already used at line " + std::to_string(first));
                }
                std::string_view source_name;
                const Value* source = find_secret(km, item, {"secret", "secret_env", "secret_file"}, source_name);
                key.secret = read_secret(*source, source_name);
                if (const Value* r = find(km, "role")) {
                    key.role = read_string(*r);
                    if (realm.roles.find(key.role) == realm.roles.end()) {
                        fail(*r, "role " + quote(key.role) + " is not defined in this realm's roles");
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
            fail(value, std::string("cannot ") + file.failed_step + " " + quote(path) + ": " + file.reason);
        }
        if (file.larger) fail(value, quote(path) + " is larger than " + describe_size(max_secret_file));
        std::string text = std::move(file.text);
        if (text.ends_with('\n')) text.pop_back();
        if (text.ends_with('\r')) text.pop_back();
        return text;
    }

    std::vector<BackendConfig> read_backends(const Value& value) const {
        std::vector<BackendConfig> backends;
        // (procedure, prefix) -> line: the same one twice would leave one of them unused.
        FirstSeen<std::pair<std::string, bool>> procedure_lines;
        for (const Value& item : read_list(value)) {
            const Mapping m = read_mapping(
                item, {"procedure", "prefix", "url", "timeout_ms", "max_concurrent", "max_queued", "headers"});
            BackendConfig backend;
            const Value* procedure = find(m, "procedure");
            if (!procedure) fail(item, "missing required key \"procedure\"");
            backend.procedure = read_string(*procedure);
            if (backend.procedure.empty()) fail(*procedure, "must not be empty");
            if (const Value* v = find(m, "prefix")) backend.prefix = read_bool(*v);
            const std::pair key{backend.procedure, backend.prefix};
            if (const int first = procedure_lines.earlier(key, procedure->mark().line + 1)) {
                fail(*procedure, std::string(backend.prefix ? "a prefix backend" : "a backend") + " for " +
                                     quote(backend.procedure) + " is already at line " + std::to_string(first));
            }

            const Value* url = find(m, "url");
            if (!url) fail(item, "missing required key \"url\"");
            backend.url = read_string(*url);
            const std::size_t scheme = backend.url.starts_with("http://")    ? 7
                                       : backend.url.starts_with("https://") ? 8
                                                                             : 0;
            if (scheme == 0) fail(*url, "must start with http:// or https://, got " + quote(backend.url));
            if (backend.url.size() == scheme || backend.url[scheme] == '/') fail(*url, "has no host");
            if (std::any_of(backend.url.begin(), backend.url.end(),
                            [](char c) { return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f; })) {
                fail(*url, "must not contain spaces or control characters");
            }

            if (const Value* v = find(m, "timeout_ms")) backend.timeout_ms = read_integer<std::uint32_t>(*v, 1);
            if (const Value* v = find(m, "max_concurrent")) {
                backend.max_concurrent = read_integer<std::size_t>(*v, 1);
            }
            if (const Value* v = find(m, "max_queued")) backend.max_queued = read_integer<std::size_t>(*v);
            if (const Value* v = find(m, "headers")) backend.headers = read_headers(*v);
            backends.push_back(std::move(backend));
        }
        return backends;
    }

    // Header names are the operator's own, so this mapping cannot go through
    // read_mapping. What would break the request's framing is refused here
    // rather than sent.
    std::map<std::string, std::string> read_headers(const Value& value) const {
        if (!value.node.IsMap()) {
            fail(value, "expected a mapping of header names to values, got " + describe_node(value.node));
        }
        std::map<std::string, std::string> headers;
        FirstSeen<std::string> name_lines;  // by lowercase name: HTTP names ignore case
        for (auto it = value.node.begin(); it != value.node.end(); ++it) {
            const YAML::Node key = it->first;
            if (!key.IsScalar()) fail(key.Mark(), value.path, "header names must be names, got " + describe_node(key));
            const std::string& name = key.Scalar();
            const std::string path = child_path(value.path, name);
            static constexpr std::string_view token_symbols = "!#$%&'*+-.^_`|~";
            const bool token = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
                return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                       token_symbols.find(c) != std::string_view::npos;
            });
            if (!token) fail(key.Mark(), path, quote(name) + " is not an HTTP header name");
            std::string lower = name;
            std::transform(lower.begin(), lower.end(), lower.begin(),
                           [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; });
            if (lower == "content-type" || lower == "content-length" || lower == "transfer-encoding") {
                fail(key.Mark(), path, quote(name) + " is set by the router (the body is JSON)");
            }
            if (const int first = name_lines.earlier(lower, key.Mark().line + 1)) {
                fail(key.Mark(), path,
                     "duplicate header " + quote(name) + "; it is first set at line " + std::to_string(first));
            }
            const Value header{it->second, path, key.Mark()};
            std::string text = read_string(header);
            // curl drops a header whose value is empty.
            if (text.empty()) fail(header, "must not be empty");
            if (std::any_of(text.begin(), text.end(), [](char c) {
                    const auto u = static_cast<unsigned char>(c);
                    return (u < 0x20 && c != '\t') || u == 0x7f;
                })) {
                fail(header, "must not contain line breaks or control characters");
            }
            headers.emplace(name, std::move(text));
        }
        return headers;
    }

    // path_owners collects every realm path with a description of its owner,
    // for the messages about paths used twice.
    std::vector<RealmConfig> read_realms(const Value& value, const Config& config,
                                         PathOwners& path_owners) const {
        const std::vector<Value> items = read_list(value);
        if (items.empty()) fail(value, "at least one realm is needed");
        FirstSeen<std::string> name_lines;
        std::vector<RealmConfig> realms;
        for (const Value& item : items) {
            const Mapping m = read_mapping(item, {"name", "paths", "accept_no_subprotocol", "strict",
                                                  "max_message_size", "limits", "builtins", "rules", "roles", "auth",
                                                  "allowed_origins", "backends", "publish_bridge",
                                                  "callee_timeout"});
            RealmConfig realm;

            const Value* name = find(m, "name");
            if (!name) fail(item, "missing required key \"name\"");
            realm.name = read_string(*name);
            if (realm.name.empty()) fail(*name, "must not be empty");
            const int name_line = name->mark().line + 1;
            if (const int first = name_lines.earlier(realm.name, name_line)) {
                fail(*name,
                     "realm name " + quote(realm.name) + " is already used at line " + std::to_string(first));
            }

            const Value* paths = find(m, "paths");
            if (!paths) fail(item, "missing required key \"paths\"");
            const std::vector<Value> path_items = read_list(*paths);
            if (path_items.empty()) fail(*paths, "at least one path is needed");
            for (const Value& path_item : path_items) {
                std::string path = read_path(path_item);
                const std::string owner = "realm " + quote(realm.name) + " (line " +
                                          std::to_string(path_item.mark().line + 1) + ")";
                if (std::string problem = path_owners.claim(path, owner); !problem.empty()) fail(path_item, problem);
                realm.paths.push_back(std::move(path));
            }

            if (const Value* v = find(m, "accept_no_subprotocol")) realm.accept_no_subprotocol = read_bool(*v);
            if (const Value* v = find(m, "strict")) realm.strict = read_bool(*v);
            if (const Value* v = find(m, "max_message_size")) {
                realm.max_message_size = read_size(*v, true);
                if (std::string problem = realm_message_size_above_transport(realm, config.websocket);
                    !problem.empty()) {
                    fail(*v, problem);
                }
            }
            realm.limits = config.limits;
            if (const Value* v = find(m, "limits")) realm.limits = read_limits(*v, config.limits);
            if (const Value* v = find(m, "builtins")) realm.builtins = read_builtins(*v);
            if (const Value* v = find(m, "rules")) realm.rules = read_rules(*v);
            if (const Value* v = find(m, "roles")) realm.roles = read_roles(*v);
            if (const Value* v = find(m, "auth")) realm.auth = read_auth(*v, realm);
            if (const Value* v = find(m, "allowed_origins")) {
                for (const Value& origin : read_list(*v)) {
                    realm.allowed_origins.push_back(read_string(origin));
                    if (realm.allowed_origins.back().empty()) fail(origin, "must not be empty");
                }
            }
            if (const Value* v = find(m, "backends")) realm.backends = read_backends(*v);
            if (const Value* v = find(m, "publish_bridge")) {
                realm.publish_bridge = read_publish_bridge(*v, realm, config, path_owners);
            }
            if (const Value* v = find(m, "callee_timeout")) realm.callee_timeout_ms = read_duration_ms(*v, false);
            realms.push_back(std::move(realm));
        }
        return realms;
    }

    const std::string& file_;
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
