#include "config/redis_url.h"

#include <algorithm>
#include <charconv>

namespace kreuz::config {

namespace {

bool all_digits(std::string_view text) {
    return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string quoted(std::string_view text) {
    std::string out = "\"";
    out.append(text).append("\"");
    return out;
}

// "[user]:password@" in front of the rest; the rest is returned.
std::optional<std::string> take_credentials(std::string_view& rest, ClusterConfig& cluster) {
    const auto at = rest.rfind('@');
    if (at == std::string_view::npos) return std::nullopt;
    const std::string_view credentials = rest.substr(0, at);
    rest.remove_prefix(at + 1);
    const auto colon = credentials.find(':');
    if (colon == std::string_view::npos) return "the part before @ must be :password or user:password";
    cluster.username = std::string(credentials.substr(0, colon));
    cluster.password = std::string(credentials.substr(colon + 1));
    if (cluster.password.empty()) return "the password before @ is empty";
    return std::nullopt;
}

std::optional<std::string> read_db(std::string_view text, ClusterConfig& cluster) {
    // Redis's default build has 16 databases; a larger number is Redis's to refuse.
    int db = 0;
    if (!all_digits(text) || text.size() > 5 || std::from_chars(text.data(), text.data() + text.size(), db).ec != std::errc{}) {
        return "the database must be a number, got " + quoted(text);
    }
    cluster.redis_db = db;
    return std::nullopt;
}

std::optional<std::string> parse_tcp(std::string_view rest, ClusterConfig& cluster) {
    if (auto error = take_credentials(rest, cluster)) return error;
    std::string_view host_port = rest;
    if (const auto slash = rest.find('/'); slash != std::string_view::npos) {
        host_port = rest.substr(0, slash);
        const std::string_view db = rest.substr(slash + 1);
        if (!db.empty()) {
            if (auto error = read_db(db, cluster)) return error;
        }
    }
    std::optional<std::string_view> port;
    if (host_port.starts_with('[')) {
        const auto close = host_port.find(']');
        if (close == std::string_view::npos) return std::string("an IPv6 address needs its closing ]");
        cluster.redis_host = std::string(host_port.substr(1, close - 1));
        const std::string_view after = host_port.substr(close + 1);
        if (!after.empty() && after[0] != ':') return std::string("expected :port after ]");
        if (!after.empty()) port = after.substr(1);
    } else {
        const auto colon = host_port.rfind(':');
        cluster.redis_host = std::string(host_port.substr(0, colon));
        if (colon != std::string_view::npos) port = host_port.substr(colon + 1);
    }
    if (cluster.redis_host.empty()) return std::string("names no host");
    if (port) {
        unsigned number = 0;
        const bool digits = all_digits(*port) && port->size() <= 5;
        if (digits) std::from_chars(port->data(), port->data() + port->size(), number);
        if (!digits || number == 0 || number > 65535) return "the port must be 1 to 65535, got " + quoted(*port);
        cluster.redis_port = static_cast<std::uint16_t>(number);
    }
    return std::nullopt;
}

std::optional<std::string> parse_unix(std::string_view rest, ClusterConfig& cluster) {
    if (auto error = take_credentials(rest, cluster)) return error;
    std::string_view path = rest;
    if (const auto question = rest.find('?'); question != std::string_view::npos) {
        path = rest.substr(0, question);
        const std::string_view query = rest.substr(question + 1);
        if (!query.starts_with("db=")) return "the only parameter is db=N, got " + quoted(query);
        if (auto error = read_db(query.substr(3), cluster)) return error;
    }
    if (!path.starts_with('/')) return "the socket path must be absolute (unix:///path), got " + quoted(path);
    cluster.redis_unix_path = std::string(path);
    return std::nullopt;
}

}  // namespace

std::optional<std::string> parse_redis_url(std::string_view url, ClusterConfig& cluster) {
    cluster.redis_host.clear();
    cluster.redis_unix_path.clear();
    if (url.starts_with("rediss://")) {
        return std::string("rediss:// (TLS) is not available: Debian 12's hiredis 0.14 has no TLS; reach Redis over "
                           "loopback, a Unix socket or a private network");
    }
    if (url.starts_with("redis://")) return parse_tcp(url.substr(8), cluster);
    if (url.starts_with("unix://")) return parse_unix(url.substr(7), cluster);
    return "must start with redis:// or unix://, got " + quoted(url);
}

}  // namespace kreuz::config
