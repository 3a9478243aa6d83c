#include <doctest/doctest.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "config/cross_checks.h"
#include "config/loader.h"

using kreuz::config::Config;
using kreuz::config::ConfigError;
using kreuz::config::default_config_yaml;
using kreuz::config::load_config_file;
using kreuz::config::parse_config;
using kreuz::config::RealmConfig;
using kreuz::config::inconsistency;
using kreuz::config::queue_limit_below_message_size;

namespace {

Config parse(std::string_view yaml) { return parse_config(yaml, "test.yaml"); }

ConfigError error_of(std::string_view yaml) {
    try {
        parse(yaml);
    } catch (const ConfigError& e) {
        return e;
    }
    throw std::logic_error("the configuration was accepted:\n" + std::string(yaml));
}

bool contains(const std::string& text, std::string_view part) { return text.find(part) != std::string::npos; }

// The repository root, found from this file so that the test runs from any
// working directory: absolute under CMake, relative to the root otherwise.
std::filesystem::path source_root() {
    return std::filesystem::path(__FILE__).parent_path().parent_path().parent_path();
}

std::size_t size_of(const std::string& text) {
    const Config c = parse("websocket:\n  max_message_size: " + text + "\n  write_queue_limit: 4GiB\n");
    return c.websocket.max_message_size;
}

std::uint32_t ping_ms(const std::string& text) {
    return parse("websocket:\n  ping_interval: " + text + "\n").websocket.ping_interval_ms;
}

void check_defaults(const RealmConfig& realm, const Config& config) {
    CHECK(realm.name == "default");
    CHECK(realm.paths == std::vector<std::string>{"/ws"});
    CHECK_FALSE(realm.accept_no_subprotocol);
    CHECK_FALSE(realm.strict);
    CHECK(realm.max_message_size == 0);
    CHECK(realm.limits.max_prefixes == config.limits.max_prefixes);
    CHECK(realm.limits.max_subscriptions == config.limits.max_subscriptions);
    CHECK(realm.limits.max_pending_calls == config.limits.max_pending_calls);
    CHECK(realm.builtins.ping);
    CHECK(realm.builtins.echo);
    CHECK(realm.builtins.testee_dispatch);
}

}  // namespace

TEST_CASE("config: an empty document is all defaults") {
    for (std::string_view text : {"", "# only a comment\n", "{}"}) {
        const Config c = parse(text);
        REQUIRE(c.listeners.size() == 1);
        CHECK(c.listeners[0].host == "127.0.0.1");
        CHECK(c.listeners[0].port == 8080);
        CHECK(c.listeners[0].backlog == 511);
        CHECK(c.log.level == "info");
        CHECK(c.echo_path.empty());
        CHECK(c.http.serve_www);
        CHECK(c.http.www_root.empty());
        CHECK(c.limits.max_prefixes == 256);
        CHECK(c.limits.max_subscriptions == 4096);
        CHECK(c.limits.max_pending_calls == 1024);
        const kreuz::ws::WebSocketOptions defaults;
        CHECK(c.websocket.max_message_size == defaults.max_message_size);
        CHECK(c.websocket.max_fragments == defaults.max_fragments);
        CHECK(c.websocket.http.max_head_bytes == defaults.http.max_head_bytes);
        CHECK(c.websocket.http.max_headers == defaults.http.max_headers);
        CHECK(c.websocket.handshake_timeout_ms == defaults.handshake_timeout_ms);
        CHECK(c.websocket.close_timeout_ms == defaults.close_timeout_ms);
        CHECK(c.websocket.ping_interval_ms == defaults.ping_interval_ms);
        CHECK(c.websocket.pong_timeout_ms == defaults.pong_timeout_ms);
        CHECK(c.websocket.idle_timeout_ms == defaults.idle_timeout_ms);
        CHECK(c.websocket.write_high_water == defaults.write_high_water);
        CHECK(c.websocket.write_queue_limit == defaults.write_queue_limit);
        CHECK(c.websocket.slow_consumer_timeout_ms == defaults.slow_consumer_timeout_ms);
        CHECK(c.websocket.deflate.enabled == defaults.deflate.enabled);
        CHECK(c.websocket.deflate.min_size == defaults.deflate.min_size);
        CHECK(c.websocket.deflate.mem_level == defaults.deflate.mem_level);
        REQUIRE(c.realms.size() == 1);
        check_defaults(c.realms[0], c);
    }
}

TEST_CASE("config: the embedded default") {
    const Config c = parse_config(default_config_yaml(), "<embedded default>");
    REQUIRE(c.listeners.size() == 1);
    CHECK(c.listeners[0].host == "127.0.0.1");
    CHECK(c.listeners[0].port == 8080);
    CHECK(c.log.level == "info");
    CHECK(c.echo_path.empty());
    REQUIRE(c.realms.size() == 1);
    check_defaults(c.realms[0], c);
}

TEST_CASE("config: docker/kreuz.yaml loads") {
    const Config c = load_config_file((source_root() / "docker" / "kreuz.yaml").string());
    CHECK_FALSE(c.listeners.empty());
    CHECK_FALSE(c.realms.empty());
}

TEST_CASE("config: every YAML example in docs/CONFIG.md loads") {
    const std::filesystem::path doc = source_root() / "docs" / "CONFIG.md";
    std::ifstream in(doc);
    REQUIRE(in);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    constexpr std::string_view open = "```yaml\n";
    int examples = 0;
    for (std::size_t at = text.find(open); at != std::string::npos; at = text.find(open, at)) {
        at += open.size();
        const std::size_t end = text.find("```", at);
        REQUIRE(end != std::string::npos);
        const std::string example = text.substr(at, end - at);
        CAPTURE(example);
        CHECK_NOTHROW(parse_config(example, doc.string()));
        ++examples;
    }
    CHECK(examples >= 4);

    // The documented embedded default is the real one, less its comment line.
    const std::size_t section = text.find("## The embedded default");
    REQUIRE(section != std::string::npos);
    const std::size_t start = text.find(open, section) + open.size();
    const std::string documented = text.substr(start, text.find("```", start) - start);
    CHECK(default_config_yaml().ends_with(documented));
}

TEST_CASE("config: every key") {
    const Config c = parse(R"(
listen:
  - host: 0.0.0.0
    port: 9000
    backlog: 1024
  - host: "::1"
    port: 0
log:
  level: warn
websocket:
  max_message_size: 8MiB
  max_fragments: 1000
  max_http_head: 16KiB
  max_http_headers: 32
  handshake_timeout: 3s
  close_timeout: 1500ms
  ping_interval: 2m
  pong_timeout: 20s
  idle_timeout: 1h
  write_high_water: 1MiB
  write_queue_limit: 32MiB
  slow_consumer_timeout: 7s
  echo_path: /echo
  deflate:
    enabled: false
    min_size: 0
    mem_level: 9
http:
  serve_www: false
  www_root: /srv/www
limits:
  max_prefixes: 10
  max_subscriptions: 20
  max_pending_calls: 30
realms:
  - name: main
    paths: [/ws, /wamp]
    accept_no_subprotocol: true
    strict: true
    max_message_size: 1MiB
    limits: {max_prefixes: 5, max_subscriptions: 6, max_pending_calls: 7}
    builtins: {ping: false, echo: false, testee_dispatch: false}
  - name: second
    paths:
      - /second
)");
    REQUIRE(c.listeners.size() == 2);
    CHECK(c.listeners[0].host == "0.0.0.0");
    CHECK(c.listeners[0].port == 9000);
    CHECK(c.listeners[0].backlog == 1024);
    CHECK(c.listeners[1].host == "::1");
    CHECK(c.listeners[1].port == 0);
    CHECK(c.listeners[1].backlog == 511);
    CHECK(c.log.level == "warn");
    const auto& ws = c.websocket;
    CHECK(ws.max_message_size == 8u << 20);
    CHECK(ws.max_fragments == 1000);
    CHECK(ws.http.max_head_bytes == 16u << 10);
    CHECK(ws.http.max_headers == 32);
    CHECK(ws.handshake_timeout_ms == 3000);
    CHECK(ws.close_timeout_ms == 1500);
    CHECK(ws.ping_interval_ms == 120000);
    CHECK(ws.pong_timeout_ms == 20000);
    CHECK(ws.idle_timeout_ms == 3600000);
    CHECK(ws.write_high_water == 1u << 20);
    CHECK(ws.write_queue_limit == 32u << 20);
    CHECK(ws.slow_consumer_timeout_ms == 7000);
    CHECK(c.echo_path == "/echo");
    CHECK_FALSE(ws.deflate.enabled);
    CHECK(ws.deflate.min_size == 0);
    CHECK(ws.deflate.mem_level == 9);
    CHECK_FALSE(c.http.serve_www);
    CHECK(c.http.www_root == "/srv/www");
    CHECK(c.limits.max_prefixes == 10);
    CHECK(c.limits.max_subscriptions == 20);
    CHECK(c.limits.max_pending_calls == 30);
    REQUIRE(c.realms.size() == 2);
    const RealmConfig& main = c.realms[0];
    CHECK(main.name == "main");
    CHECK(main.paths == std::vector<std::string>{"/ws", "/wamp"});
    CHECK(main.accept_no_subprotocol);
    CHECK(main.strict);
    CHECK(main.max_message_size == 1u << 20);
    CHECK(main.limits.max_prefixes == 5);
    CHECK(main.limits.max_subscriptions == 6);
    CHECK(main.limits.max_pending_calls == 7);
    CHECK_FALSE(main.builtins.ping);
    CHECK_FALSE(main.builtins.echo);
    CHECK_FALSE(main.builtins.testee_dispatch);
    const RealmConfig& second = c.realms[1];
    CHECK(second.name == "second");
    CHECK(second.paths == std::vector<std::string>{"/second"});
    CHECK_FALSE(second.accept_no_subprotocol);
    CHECK(second.max_message_size == 0);
    CHECK(second.builtins.echo);
}

TEST_CASE("config: realm limits override the top-level ones key by key") {
    const Config c = parse(R"(
realms:
  - name: a
    paths: [/a]
    limits: {max_prefixes: 64}
  - name: b
    paths: [/b]
limits:
  max_subscriptions: 100
  max_pending_calls: 50
)");
    CHECK(c.realms[0].limits.max_prefixes == 64);
    CHECK(c.realms[0].limits.max_subscriptions == 100);
    CHECK(c.realms[0].limits.max_pending_calls == 50);
    CHECK(c.realms[1].limits.max_prefixes == 256);
    CHECK(c.realms[1].limits.max_subscriptions == 100);
    CHECK(c.realms[1].limits.max_pending_calls == 50);
    // The implicit default realm inherits them too.
    const Config d = parse("limits: {max_prefixes: 3}\n");
    CHECK(d.realms[0].limits.max_prefixes == 3);
}

TEST_CASE("config: sizes") {
    CHECK(size_of("65536") == 65536);
    CHECK(size_of("100B") == 100);
    CHECK(size_of("64KiB") == 64u << 10);
    CHECK(size_of("3MiB") == 3u << 20);
    CHECK(size_of("2GiB") == std::size_t{2} << 30);
    CHECK(size_of("64 KiB") == 64u << 10);
    CHECK(size_of("\"1024\"") == 1024);
    CHECK(parse("websocket: {deflate: {min_size: 0}}").websocket.deflate.min_size == 0);

    for (std::string bad : {"64KB", "64kib", "64k", "1.5MiB", "MiB", "-1", "1e6", "0x100", "64 KiB extra"}) {
        CAPTURE(bad);
        const ConfigError e = error_of("websocket:\n  max_message_size: " + bad + "\n");
        CHECK(e.line == 2);
        CHECK(e.key_path == "websocket.max_message_size");
        CHECK(contains(e.message, "B, KiB, MiB or GiB"));
    }
    const ConfigError zero = error_of("websocket:\n  max_http_head: 0\n");
    CHECK(zero.key_path == "websocket.max_http_head");
    CHECK(contains(zero.message, "greater than 0"));
    const ConfigError huge = error_of("websocket:\n  write_queue_limit: 99999999999999GiB\n");
    CHECK(huge.key_path == "websocket.write_queue_limit");
    CHECK(contains(huge.message, "too large"));
    const ConfigError overflow = error_of("websocket:\n  write_queue_limit: 99999999999999999999999\n");
    CHECK(contains(overflow.message, "too large"));
}

TEST_CASE("config: durations") {
    CHECK(ping_ms("250ms") == 250);
    CHECK(ping_ms("30s") == 30000);
    CHECK(ping_ms("2m") == 120000);
    CHECK(ping_ms("1h") == 3600000);
    CHECK(ping_ms("5 s") == 5000);
    CHECK(ping_ms("0") == 0);
    CHECK(ping_ms("0s") == 0);
    CHECK(ping_ms("0ms") == 0);
    CHECK(parse("websocket: {idle_timeout: 0}").websocket.idle_timeout_ms == 0);
    CHECK(parse("websocket: {handshake_timeout: 0s}").websocket.handshake_timeout_ms == 0);

    const ConfigError bare = error_of("websocket:\n  ping_interval: 30\n");
    CHECK(bare.line == 2);
    CHECK(bare.key_path == "websocket.ping_interval");
    CHECK(contains(bare.message, "no unit"));
    CHECK(contains(bare.message, "30s"));

    for (std::string bad : {"30sec", "1.5s", "s", "10d", "-5s", "30S", "1m30s"}) {
        CAPTURE(bad);
        const ConfigError e = error_of("websocket:\n  pong_timeout: " + bad + "\n");
        CHECK(e.line == 2);
        CHECK(e.key_path == "websocket.pong_timeout");
        CHECK(contains(e.message, "ms, s, m or h"));
    }
    for (std::string key : {"close_timeout", "pong_timeout", "slow_consumer_timeout"}) {
        CAPTURE(key);
        const ConfigError e = error_of("websocket:\n  " + key + ": 0s\n");
        CHECK(e.key_path == "websocket." + key);
        CHECK(contains(e.message, "greater than 0"));
    }
    const ConfigError too_long = error_of("websocket:\n  idle_timeout: 1200h\n");
    CHECK(contains(too_long.message, "too long"));
    CHECK(parse("websocket: {idle_timeout: 1193h}").websocket.idle_timeout_ms == 1193u * 3600000u);
}

TEST_CASE("config: integers and booleans") {
    const ConfigError negative = error_of("listen:\n  - port: -1\n");
    CHECK(negative.line == 2);
    CHECK(negative.key_path == "listen[0].port");
    CHECK(contains(negative.message, "negative"));

    const ConfigError port = error_of("listen:\n  - host: 127.0.0.1\n    port: 65536\n");
    CHECK(port.line == 3);
    CHECK(port.column == 11);
    CHECK(port.key_path == "listen[0].port");
    CHECK(contains(port.message, "at most 65535"));

    const ConfigError backlog = error_of("listen:\n  - backlog: 4294967296\n");
    CHECK(backlog.key_path == "listen[0].backlog");
    CHECK(contains(backlog.message, "at most 2147483647"));

    const ConfigError text = error_of("limits:\n  max_prefixes: many\n");
    CHECK(text.key_path == "limits.max_prefixes");
    CHECK(contains(text.message, "whole number"));

    const ConfigError mem = error_of("websocket:\n  deflate:\n    mem_level: 0\n");
    CHECK(mem.line == 3);
    CHECK(mem.key_path == "websocket.deflate.mem_level");
    CHECK(contains(mem.message, "between 1 and 9"));

    CHECK(contains(error_of("websocket: {max_fragments: 0}").message, "between 1 and"));

    const ConfigError yes = error_of("http:\n  serve_www: yes\n");
    CHECK(yes.key_path == "http.serve_www");
    CHECK(contains(yes.message, "true or false"));
}

TEST_CASE("config: unknown keys") {
    const ConfigError top = error_of("log:\n  level: info\nbogus: 1\n");
    CHECK(top.line == 3);
    CHECK(top.column == 1);
    CHECK(top.key_path == "bogus");
    CHECK(std::string(top.what()) == "test.yaml:3:1: bogus: unknown key \"bogus\" (known here: listen, log, websocket, "
                                     "http, limits, realms, cluster)");

    const ConfigError nested = error_of(R"(realms:
  - name: a
    paths: [/a]
  - name: b
    paths: [/b]
    builtins:
      ping: true
      pong: true
)");
    CHECK(nested.line == 8);
    CHECK(nested.column == 7);
    CHECK(nested.key_path == "realms[1].builtins.pong");
    CHECK(contains(nested.message, "unknown key \"pong\""));

    const ConfigError merge = error_of("limits:\n  <<: {max_prefixes: 1}\n");
    CHECK(contains(merge.message, "merge keys"));
}

TEST_CASE("config: wrong types") {
    const ConfigError map_for_list = error_of("listen:\n  host: 127.0.0.1\n");
    CHECK(map_for_list.line == 2);
    CHECK(map_for_list.key_path == "listen");
    CHECK(map_for_list.message == "expected a list, got a mapping");

    const ConfigError list_for_scalar = error_of("log:\n  level: [info]\n");
    CHECK(list_for_scalar.line == 2);
    CHECK(list_for_scalar.key_path == "log.level");
    CHECK(contains(list_for_scalar.message, "got a list"));

    const ConfigError scalar_for_map = error_of("websocket: fast\n");
    CHECK(scalar_for_map.key_path == "websocket");
    CHECK(scalar_for_map.message == "expected a mapping, got \"fast\"");

    // An empty value is reported on its key's line, not on the line after it.
    const ConfigError null_map = error_of("http:\nlimits: {}\n");
    CHECK(null_map.line == 1);
    CHECK(null_map.key_path == "http");
    CHECK(contains(null_map.message, "got an empty value"));

    const ConfigError top = error_of("- a\n- b\n");
    CHECK(top.line == 1);
    CHECK(top.key_path.empty());
    CHECK(std::string(top.what()) == "test.yaml:1:1: expected a mapping, got a list");

    const ConfigError key = error_of("? [a]\n: 1\n");
    CHECK(contains(key.message, "keys must be names"));
}

TEST_CASE("config: bad values") {
    const ConfigError host = error_of("listen:\n  - host: localhost\n");
    CHECK(host.key_path == "listen[0].host");
    CHECK(contains(host.message, "IPv4 or IPv6"));
    CHECK(contains(error_of("listen: [{host: \"[::1]\"}]").message, "no brackets"));
    CHECK(parse("listen: [{host: \"::\"}]").listeners[0].host == "::");

    const ConfigError level = error_of("log:\n  level: verbose\n");
    CHECK(level.key_path == "log.level");
    CHECK(contains(level.message, "trace, debug, info, warn, error, critical or off"));

    const ConfigError echo = error_of("websocket:\n  echo_path: echo\n");
    CHECK(echo.key_path == "websocket.echo_path");
    CHECK(contains(echo.message, "must start with \"/\""));
    CHECK(parse("websocket: {echo_path: null}").echo_path.empty());
    CHECK(parse("websocket: {echo_path: ~}").echo_path.empty());

    const ConfigError query = error_of("realms:\n  - name: a\n    paths:\n      - /a?x=1\n");
    CHECK(query.line == 4);
    CHECK(query.key_path == "realms[0].paths[0]");
    CHECK(contains(query.message, "plain URL path"));

    const ConfigError no_name = error_of("realms:\n  - paths: [/a]\n");
    CHECK(no_name.line == 2);
    CHECK(no_name.key_path == "realms[0]");
    CHECK(no_name.message == "missing required key \"name\"");

    const ConfigError empty_name = error_of("realms:\n  - name: \"\"\n    paths: [/a]\n");
    CHECK(empty_name.key_path == "realms[0].name");

    const ConfigError no_paths = error_of("realms:\n  - name: a\n");
    CHECK(no_paths.key_path == "realms[0]");
    CHECK(no_paths.message == "missing required key \"paths\"");

    const ConfigError empty_paths = error_of("realms:\n  - name: a\n    paths: []\n");
    CHECK(empty_paths.line == 3);
    CHECK(empty_paths.key_path == "realms[0].paths");

    const ConfigError no_listeners = error_of("listen: []\n");
    CHECK(contains(no_listeners.message, "at least one listener"));
}

TEST_CASE("config: empty realms") {
    const ConfigError e = error_of("log: {level: info}\nrealms: []\n");
    CHECK(e.line == 2);
    CHECK(e.column == 9);
    CHECK(e.key_path == "realms");
    CHECK(contains(e.message, "at least one realm"));
}

TEST_CASE("config: duplicate realm names and paths") {
    const ConfigError name = error_of(R"(realms:
  - name: a
    paths: [/a]
  - name: a
    paths: [/b]
)");
    CHECK(name.line == 4);
    CHECK(name.key_path == "realms[1].name");
    CHECK(contains(name.message, "already used at line 2"));

    const ConfigError path = error_of(R"(realms:
  - name: a
    paths: [/a, /shared]
  - name: b
    paths:
      - /b
      - /shared
)");
    CHECK(path.line == 7);
    CHECK(path.key_path == "realms[1].paths[1]");
    CHECK(contains(path.message, "path \"/shared\" is already used by realm \"a\" (line 3)"));

    const ConfigError same_realm = error_of("realms:\n  - name: a\n    paths: [/a, /a]\n");
    CHECK(same_realm.key_path == "realms[0].paths[1]");

    const ConfigError echo = error_of(R"(websocket:
  echo_path: /a
realms:
  - name: a
    paths: [/a]
)");
    CHECK(echo.line == 2);
    CHECK(echo.key_path == "websocket.echo_path");
    CHECK(contains(echo.message, "is already used by realm \"a\""));

    const ConfigError implicit = error_of("websocket:\n  echo_path: /ws\n");
    CHECK(implicit.line == 2);
    CHECK(contains(implicit.message, "the default realm"));
}

TEST_CASE("config: the cross-key rules hold for a configuration changed after loading") {
    // The command line lays its values over the file; the same rules apply.
    Config config = parse_config(R"(realms:
  - name: a
    paths: [/ws]
    publish_bridge: {path: /publish}
)", "x.yaml");
    CHECK(inconsistency(config).empty());
    config.echo_path = "/publish";
    CHECK(inconsistency(config) == "path \"/publish\" is already used by the publish bridge of realm \"a\"");
    config.echo_path = "/ws";
    CHECK(inconsistency(config) == "path \"/ws\" is already used by realm \"a\"");
    config.echo_path = "/metrics";
    CHECK(inconsistency(config) == "echo path \"/metrics\" is kreuz's own page");
    config.echo_path = "echo";
    CHECK(contains(inconsistency(config), "must start with"));
    config.echo_path = "/echo";
    CHECK(inconsistency(config).empty());
    config.websocket.max_message_size = config.websocket.write_queue_limit + 1;
    CHECK(inconsistency(config) == queue_limit_below_message_size(config.websocket));
    CHECK(contains(inconsistency(config), "must be at least max_message_size"));
    config.websocket.max_message_size = 1000;
    config.realms[0].max_message_size = 2000;
    CHECK(inconsistency(config) == "realm \"a\": max_message_size 2000 bytes exceeds websocket.max_message_size "
                                   "(1000 bytes), the bound the transport enforces for every endpoint");

    // ... and the loader says the same, at the line of the key.
    const ConfigError echo_on_bridge = error_of(R"(websocket:
  echo_path: /publish
realms:
  - name: a
    paths: [/ws]
    publish_bridge: {path: /publish}
)");
    CHECK(echo_on_bridge.line == 2);
    CHECK(contains(echo_on_bridge.message, "path \"/publish\" is already used by the publish bridge of realm \"a\""));
    CHECK(contains(error_of("websocket:\n  echo_path: /health\n").message, "\"/health\" is kreuz's own page"));
}

TEST_CASE("config: duplicate keys") {
    const ConfigError e = error_of(R"(websocket:
  ping_interval: 10s
  pong_timeout: 5s
  ping_interval: 20s
)");
    CHECK(e.line == 4);
    CHECK(e.column == 3);
    CHECK(e.key_path == "websocket.ping_interval");
    CHECK(contains(e.message, "duplicate key \"ping_interval\"; it is first set at line 2"));

    const ConfigError top = error_of("log: {level: info}\nlog: {level: warn}\n");
    CHECK(top.line == 2);
    CHECK(top.key_path == "log");
}

TEST_CASE("config: YAML syntax errors") {
    const ConfigError e = error_of("log:\n  level: info\nwebsocket:\n  ping_interval: 30s\n   pong_timeout: 5s\n");
    CHECK(e.line == 5);
    CHECK(e.key_path.empty());
    CHECK(e.file == "test.yaml");
    CHECK(contains(e.what(), "test.yaml:5:"));
    CHECK(contains(e.message, "YAML syntax error"));

    const ConfigError tab = error_of("log:\n\tlevel: info\n");
    CHECK(tab.line == 2);

    const ConfigError two = error_of("log: {level: info}\n---\nlog: {level: warn}\n");
    CHECK(two.line == 2);  // the "---" that starts the second document
    CHECK(contains(two.message, "one YAML document"));
}

TEST_CASE("config: write_queue_limit must hold the high-water mark and one message") {
    const ConfigError high_water = error_of(R"(websocket:
  write_high_water: 8MiB
  write_queue_limit: 4MiB
  max_message_size: 1MiB
)");
    CHECK(high_water.line == 3);
    CHECK(high_water.key_path == "websocket.write_queue_limit");
    CHECK(contains(high_water.message, "write_queue_limit (4MiB) must be at least write_high_water (8MiB)"));

    const ConfigError message = error_of(R"(websocket:
  write_queue_limit: 8MiB
)");
    CHECK(message.line == 2);
    CHECK(message.key_path == "websocket.write_queue_limit");
    CHECK(contains(message.message, "must be at least max_message_size (16MiB)"));
    CHECK(contains(message.message, "a single message must fit"));

    // Without a write_queue_limit in the file, the key that outgrew the default is to blame.
    const ConfigError grown = error_of("websocket:\n  deflate: {enabled: true}\n  max_message_size: 100MiB\n");
    CHECK(grown.line == 3);
    CHECK(grown.key_path == "websocket.max_message_size");

    CHECK(parse("websocket: {max_message_size: 64MiB}").websocket.max_message_size == 64u << 20);
}

TEST_CASE("config: a realm's max_message_size is bounded by the websocket one") {
    const ConfigError e = error_of(R"(websocket:
  max_message_size: 1MiB
realms:
  - name: a
    paths: [/a]
    max_message_size: 2MiB
)");
    CHECK(e.line == 6);
    CHECK(e.key_path == "realms[0].max_message_size");
    CHECK(contains(e.message, "2MiB exceeds websocket.max_message_size (1MiB)"));
    CHECK(parse("realms: [{name: a, paths: [/a], max_message_size: 16MiB}]").realms[0].max_message_size == 16u << 20);
    CHECK(parse("realms: [{name: a, paths: [/a], max_message_size: 0}]").realms[0].max_message_size == 0);
}

TEST_CASE("config: files") {
    const std::string missing = (std::filesystem::temp_directory_path() / "kreuz-no-such-config.yaml").string();
    try {
        load_config_file(missing);
        FAIL("a missing file was accepted");
    } catch (const ConfigError& e) {
        CHECK(e.file == missing);
        CHECK(e.line == 0);
        CHECK(e.column == 0);
        CHECK(std::string(e.what()) == missing + ": cannot open: No such file or directory");
    }
    try {
        load_config_file("/dev/zero");  // never ends: the read is bounded
        FAIL("an endless file was accepted");
    } catch (const ConfigError& e) {
        CHECK(std::string(e.what()) == "/dev/zero: larger than 16MiB");
    }
    CHECK_THROWS_WITH_AS(parse_config("realms:\n  - name: r\n    paths: [/ws]\n    auth:\n      users:\n"
                                      "        - {key: k, secret_file: /dev/zero}\n",
                                      "s.yaml"),
                         doctest::Contains("\"/dev/zero\" is larger than 64KiB"), ConfigError);
    try {
        load_config_file(std::filesystem::temp_directory_path().string());
        FAIL("a directory was accepted");
    } catch (const ConfigError& e) {
        CHECK(e.line == 0);
        CHECK(contains(e.message, "Is a directory"));
    }
}

TEST_CASE("config: realm rules") {
    const Config c = parse(R"(realms:
  - name: testee
    paths: [/ws]
    rules:
      - {uri: "http://example.com/simple", prefix: true}
      - {uri: "http://example.com/foobar"}
      - {uri: "", prefix: true, publish: false, subscribe: false}
)");
    const auto& rules = c.realms.at(0).rules;
    REQUIRE(rules.size() == 3);
    CHECK(rules[0].uri == "http://example.com/simple");
    CHECK(rules[0].prefix);
    CHECK(rules[0].publish);
    CHECK(rules[0].subscribe);
    CHECK(rules[0].call);
    CHECK_FALSE(rules[1].prefix);
    CHECK(rules[2].uri.empty());
    CHECK_FALSE(rules[2].publish);
    CHECK_FALSE(rules[2].subscribe);
    CHECK(rules[2].call);
    CHECK(parse("").realms.at(0).rules.empty());

    const ConfigError unknown = error_of("realms:\n  - name: a\n    paths: [/a]\n    rules:\n      - {uri: x, pub: true}\n");
    CHECK(unknown.line == 5);
    CHECK(unknown.key_path == "realms[0].rules[0].pub");
    const ConfigError missing = error_of("realms:\n  - name: a\n    paths: [/a]\n    rules:\n      - {prefix: true}\n");
    CHECK(contains(missing.message, "missing required key \"uri\""));
    const ConfigError twice = error_of("realms:\n  - name: a\n    paths: [/a]\n    rules:\n      - {uri: x}\n      - {uri: x}\n");
    CHECK(twice.line == 6);
    CHECK(contains(twice.message, "already at line 5"));
}

namespace {

// A realm "a" on /a with the given keys (each line indented for a realm item).
std::string realm_with(std::string_view keys) {
    return "realms:\n  - name: a\n    paths: [/a]\n" + std::string(keys);
}

std::filesystem::path temp_file(const std::string& name, std::string_view content) {
    const std::filesystem::path path = std::filesystem::temp_directory_path() / name;
    std::ofstream(path, std::ios::binary) << content;
    return path;
}

}  // namespace

TEST_CASE("config: auth defaults") {
    const RealmConfig realm = parse("").realms.at(0);
    CHECK(realm.auth.anonymous);
    CHECK(realm.auth.timeout_ms == 0);
    CHECK(realm.auth.failure_delay_ms == 800);
    CHECK(realm.auth.users.empty());
    CHECK(realm.roles.empty());
}

TEST_CASE("config: auth users and roles") {
    ::setenv("KREUZ_TEST_BOB_SECRET", "bob's secret", 1);
    const auto carol = temp_file("kreuz-test-carol-secret", "carol's secret\n");
    const auto dan = temp_file("kreuz-test-dan-secret", "dan's secret\r\n");
    const Config c = parse(realm_with(R"(    auth:
      anonymous: false
      timeout: 30s
      failure_delay: 10ms
      users:
        - {key: alice, secret: "s3cret", role: admin}
        - {key: bob, secret_env: KREUZ_TEST_BOB_SECRET, role: user}
        - {key: carol, secret_file: )" + carol.string() + R"(, role: user}
        - {key: dan, secret_file: )" + dan.string() + R"(, role: user}
        - {key: dave, derived_key: "znWa4bxY1glpbQlZziHIlXA2shfF+HoCr9bnmZ5HPQg=",
           salt: "RANDOM SALT", iterations: 1000, keylen: 32, role: user}
        - {key: erin, secret: "pw", salt: "S", role: anonymous}
    roles:
      admin: [{uri: "", prefix: true}]
      user:
        - {uri: "http://example.com/", prefix: true, publish: false}
      anonymous: []
)"));
    std::filesystem::remove(carol);
    std::filesystem::remove(dan);
    const RealmConfig& realm = c.realms.at(0);
    CHECK_FALSE(realm.auth.anonymous);
    CHECK(realm.auth.timeout_ms == 30000);
    CHECK(realm.auth.failure_delay_ms == 10);
    const auto& users = realm.auth.users;
    REQUIRE(users.size() == 6);
    CHECK(users[0].key == "alice");
    CHECK(users[0].secret == "s3cret");
    CHECK(users[0].role == "admin");
    CHECK_FALSE(users[0].salted);
    CHECK(users[1].secret == "bob's secret");
    CHECK(users[2].secret == "carol's secret");  // the file's line break is not part of it
    CHECK(users[3].secret == "dan's secret");
    CHECK(users[4].secret == "znWa4bxY1glpbQlZziHIlXA2shfF+HoCr9bnmZ5HPQg=");
    CHECK(users[4].secret_is_derived_key);
    REQUIRE(users[4].salted);
    CHECK(users[4].salted->salt == "RANDOM SALT");
    CHECK(users[4].salted->iterations == 1000);
    CHECK(users[4].salted->keylen == 32);
    // A salted secret is derived by the router; the defaults are AutobahnJS's.
    CHECK(users[5].secret == "pw");
    CHECK_FALSE(users[5].secret_is_derived_key);
    REQUIRE(users[5].salted);
    CHECK(users[5].salted->iterations == 10000);
    CHECK(users[5].salted->keylen == 32);
    CHECK(users[5].role == "anonymous");
    REQUIRE(realm.roles.size() == 3);
    CHECK(realm.roles.at("admin").size() == 1);
    CHECK(realm.roles.at("admin")[0].prefix);
    CHECK_FALSE(realm.roles.at("user")[0].publish);
    CHECK(realm.roles.at("user")[0].subscribe);
    CHECK(realm.roles.at("anonymous").empty());

    // An open realm (no rules, no roles): a role is only a name, and may be left out.
    const Config open = parse(realm_with("    auth:\n      users:\n        - {key: k, secret: s, role: whatever}\n"
                                         "        - {key: l, secret: s}\n"));
    CHECK(open.realms[0].auth.users[0].role == "whatever");
    CHECK(open.realms[0].auth.users[1].role.empty());
    CHECK(parse(realm_with("    auth: {failure_delay: 0}\n")).realms[0].auth.failure_delay_ms == 0);
    // Roles may come before or after auth in the file.
    const Config order = parse(realm_with("    roles: {r: []}\n    auth: {users: [{key: k, secret: s, role: r}]}\n"));
    CHECK(order.realms[0].auth.users[0].role == "r");
}

TEST_CASE("config: auth errors") {
    auto check_error = [](const std::string& yaml, int line, const std::string& key_path, std::string_view part) {
        const ConfigError e = error_of(yaml);
        CAPTURE(yaml);
        CHECK(e.line == line);
        CHECK(e.key_path == key_path);
        CHECK_MESSAGE(contains(e.message, part), e.message);
    };
    const std::string users = "    auth:\n      users:\n";
    check_error(realm_with("    auth: {anonymus: true}\n"), 4, "realms[0].auth.anonymus",
                "unknown key \"anonymus\" (known here: anonymous, timeout, failure_delay, users)");
    check_error(realm_with("    auth: {timeout: 30}\n"), 4, "realms[0].auth.timeout", "has no unit");
    check_error(realm_with("    auth: {anonymous: yes}\n"), 4, "realms[0].auth.anonymous", "expected true or false");
    check_error(realm_with(users + "        - {secret: s}\n"), 6, "realms[0].auth.users[0]",
                "missing required key \"key\"");
    check_error(realm_with(users + "        - {key: \"\", secret: s}\n"), 6, "realms[0].auth.users[0].key",
                "must not be empty");
    check_error(realm_with(users + "        - {key: k, secret: s}\n        - {key: k, secret: t}\n"), 7,
                "realms[0].auth.users[1].key", "user key \"k\" is already used at line 6");
    check_error(realm_with(users + "        - {key: k, secret: s, pasword: x}\n"), 6,
                "realms[0].auth.users[0].pasword", "unknown key \"pasword\"");
    check_error(realm_with(users + "        - {key: k}\n"), 6, "realms[0].auth.users[0]",
                "one of secret, secret_env, secret_file or derived_key is required");
    check_error(realm_with(users + "        - {key: k, secret: s,\n           secret_env: X}\n"), 7,
                "realms[0].auth.users[0].secret_env", "secret and secret_env both give the secret");
    check_error(realm_with(users + "        - {key: k, secret: \"\"}\n"), 6, "realms[0].auth.users[0].secret",
                "must not be empty");

    ::unsetenv("KREUZ_TEST_UNSET_SECRET");
    check_error(realm_with(users + "        - {key: k, secret_env: KREUZ_TEST_UNSET_SECRET}\n"), 6,
                "realms[0].auth.users[0].secret_env", "environment variable \"KREUZ_TEST_UNSET_SECRET\" is not set");
    ::setenv("KREUZ_TEST_EMPTY_SECRET", "", 1);
    check_error(realm_with(users + "        - {key: k, secret_env: KREUZ_TEST_EMPTY_SECRET}\n"), 6,
                "realms[0].auth.users[0].secret_env", "is empty");
    const std::string missing = (std::filesystem::temp_directory_path() / "kreuz-test-no-such-secret").string();
    check_error(realm_with(users + "        - {key: k, secret_file: " + missing + "}\n"), 6,
                "realms[0].auth.users[0].secret_file",
                "cannot open \"" + missing + "\": No such file or directory");
    const auto empty = temp_file("kreuz-test-empty-secret", "\n");
    check_error(realm_with(users + "        - {key: k, secret_file: " + empty.string() + "}\n"), 6,
                "realms[0].auth.users[0].secret_file", "is empty");
    std::filesystem::remove(empty);

    const std::string dave_key = "\"znWa4bxY1glpbQlZziHIlXA2shfF+HoCr9bnmZ5HPQg=\"";
    check_error(realm_with(users + "        - {key: k, derived_key: " + dave_key + "}\n"), 6,
                "realms[0].auth.users[0].derived_key", "derived_key needs salt");
    check_error(realm_with(users + "        - {key: k, derived_key: \"not base64\", salt: s}\n"), 6,
                "realms[0].auth.users[0].derived_key", "is not the Base64 of a 32-byte key (keylen): 44 characters");
    // A key derived with another keylen than the one clients are told.
    check_error(realm_with(users + "        - {key: k, derived_key: \"znWa4bxY1glpbQlZziHIlXA2shc=\", salt: s}\n"), 6,
                "realms[0].auth.users[0].derived_key", "32-byte key");
    CHECK(parse(realm_with(users + "        - {key: k, derived_key: \"znWa4bxY1glpbQlZziHIlXA2shc=\", salt: s, "
                                   "keylen: 20}\n"))
              .realms[0].auth.users[0].salted->keylen == 20);
    check_error(realm_with(users + "        - {key: k, secret: s, iterations: 1000}\n"), 6,
                "realms[0].auth.users[0].iterations", "only used with salt");
    check_error(realm_with(users + "        - {key: k, secret: s, salt: \"\"}\n"), 6, "realms[0].auth.users[0].salt",
                "clients treat an empty salt as no salt");
    check_error(realm_with(users + "        - {key: k, secret: s, salt: x, iterations: 0}\n"), 6,
                "realms[0].auth.users[0].iterations", "must be between 1 and 2147483647");
    check_error(realm_with(users + "        - {key: k, secret: s, salt: x, keylen: 2000}\n"), 6,
                "realms[0].auth.users[0].keylen", "must be between 1 and 1024");

    // Roles.
    check_error(realm_with("    roles: [admin]\n"), 4, "realms[0].roles",
                "expected a mapping of role names to lists of rules, got a list");
    check_error(realm_with("    roles:\n      admin: []\n      admin: []\n"), 6, "realms[0].roles.admin",
                "duplicate key \"admin\"; it is first set at line 5");
    check_error(realm_with("    roles:\n      admin: [{uri: x, pub: true}]\n"), 5, "realms[0].roles.admin[0].pub",
                "unknown key \"pub\"");
    check_error(realm_with("    roles:\n      admin: [{uri: x}, {uri: x}]\n"), 5, "realms[0].roles.admin[1].uri",
                "a rule for \"x\" is already at line 5");
    check_error(realm_with("    roles:\n      admin: {uri: x}\n"), 5, "realms[0].roles.admin", "expected a list");
    check_error(realm_with("    roles:\n      \"\": []\n"), 5, "realms[0].roles.", "a role name must not be empty");

    // A user's role must be one of the roles, unless the realm is open.
    const std::string roles = "    roles:\n      admin: []\n      user: []\n";
    check_error(realm_with(roles + users + "        - {key: k, secret: s, role: root}\n"), 9,
                "realms[0].auth.users[0].role",
                "role \"root\" is not defined in this realm's roles (defined: admin, user)");
    check_error(realm_with(roles + users + "        - {key: k, secret: s}\n"), 9, "realms[0].auth.users[0]",
                "missing required key \"role\"");
    check_error(realm_with("    rules: [{uri: x}]\n" + users + "        - {key: k, secret: s, role: admin}\n"), 7,
                "realms[0].auth.users[0].role", "(it has rules but no roles)");
}

TEST_CASE("config: realm backends") {
    const Config c = parse(realm_with(R"(    backends:
      - procedure: "http://example.com/api#"
        prefix: true
        url: http://127.0.0.1:9000/rpc
        timeout_ms: 2500
        max_concurrent: 1000
        max_queued: 0
        headers: {Authorization: "Bearer x", X-Api-Version: 2}
      - procedure: "http://example.com/api#"
        url: https://backend.example.com
      - {procedure: "http://example.com/calc#add", url: "http://[::1]:8000/add"}
)"));
    const auto& backends = c.realms.at(0).backends;
    REQUIRE(backends.size() == 3);
    CHECK(backends[0].procedure == "http://example.com/api#");
    CHECK(backends[0].prefix);
    CHECK(backends[0].url == "http://127.0.0.1:9000/rpc");
    CHECK(backends[0].timeout_ms == 2500);
    CHECK(backends[0].max_concurrent == 1000);
    CHECK(backends[0].max_queued == 0);
    CHECK(backends[0].headers == std::map<std::string, std::string>{{"Authorization", "Bearer x"},
                                                                    {"X-Api-Version", "2"}});
    // The same URI once as a prefix and once exactly is two different backends.
    CHECK_FALSE(backends[1].prefix);
    CHECK(backends[1].url == "https://backend.example.com");
    // The documented defaults.
    const kreuz::config::BackendConfig defaults;
    CHECK(defaults.timeout_ms == 10000);
    CHECK(defaults.max_concurrent == 100);
    CHECK(defaults.max_queued == 10000);
    CHECK(backends[2].timeout_ms == defaults.timeout_ms);
    CHECK(backends[2].max_concurrent == defaults.max_concurrent);
    CHECK(backends[2].max_queued == defaults.max_queued);
    CHECK(backends[2].headers.empty());
    CHECK(parse("").realms.at(0).backends.empty());
    CHECK(parse(realm_with("    backends: []\n")).realms.at(0).backends.empty());
}

TEST_CASE("config: backend errors") {
    auto check_error = [](const std::string& items, int line, const std::string& key_path, std::string_view part) {
        const std::string yaml = realm_with("    backends:\n" + items);
        const ConfigError e = error_of(yaml);
        CAPTURE(yaml);
        CHECK(e.line == line);
        CHECK(e.key_path == key_path);
        CHECK_MESSAGE(contains(e.message, part), e.message);
    };
    const std::string url = "url: http://127.0.0.1:9000/";
    check_error("      - {procedure: p, " + url + ", timeout: 5s}\n", 5, "realms[0].backends[0].timeout",
                "unknown key \"timeout\" (known here: procedure, prefix, url, timeout_ms, max_concurrent, max_queued, "
                "headers)");
    check_error("      - {" + url + "}\n", 5, "realms[0].backends[0]", "missing required key \"procedure\"");
    check_error("      - {procedure: \"\", " + url + "}\n", 5, "realms[0].backends[0].procedure", "must not be empty");
    check_error("      - {procedure: [p], " + url + "}\n", 5, "realms[0].backends[0].procedure", "expected a string");
    check_error("      - {procedure: p}\n", 5, "realms[0].backends[0]", "missing required key \"url\"");
    check_error("      - {procedure: p, url: ftp://example.com/}\n", 5, "realms[0].backends[0].url",
                "must start with http:// or https://, got \"ftp://example.com/\"");
    check_error("      - {procedure: p, url: \"http:///rpc\"}\n", 5, "realms[0].backends[0].url", "has no host");
    check_error("      - {procedure: p, url: \"http://a b/\"}\n", 5, "realms[0].backends[0].url",
                "must not contain spaces");
    check_error("      - {procedure: p, " + url + ", prefix: 1}\n", 5, "realms[0].backends[0].prefix",
                "expected true or false");
    check_error("      - {procedure: p, " + url + ", timeout_ms: 0}\n", 5, "realms[0].backends[0].timeout_ms",
                "must be between 1 and 4294967295, got 0");
    check_error("      - {procedure: p, " + url + ", timeout_ms: 10s}\n", 5, "realms[0].backends[0].timeout_ms",
                "expected a whole number, got \"10s\"");
    check_error("      - {procedure: p, " + url + ", max_concurrent: 0}\n", 5,
                "realms[0].backends[0].max_concurrent", "must be between 1 and");
    check_error("      - {procedure: p, " + url + ", max_queued: -1}\n", 5, "realms[0].backends[0].max_queued",
                "must not be negative");
    // The same procedure twice, both exact or both prefixes: the second names the first's line.
    check_error("      - {procedure: p, " + url + "}\n      - {procedure: q, " + url + "}\n      - {procedure: p, " +
                    url + "}\n",
                7, "realms[0].backends[2].procedure", "a backend for \"p\" is already at line 5");
    check_error("      - {procedure: p, prefix: true, " + url + "}\n"
                "      - {procedure: p, prefix: true, " + url + "}\n",
                6, "realms[0].backends[1].procedure", "a prefix backend for \"p\" is already at line 5");
    // Backends are per realm: another realm may use the same procedure.
    CHECK(parse("realms:\n  - name: a\n    paths: [/a]\n    backends: [{procedure: p, " + url +
                "}]\n  - name: b\n    paths: [/b]\n    backends: [{procedure: p, " + url + "}]\n")
              .realms.size() == 2);

    check_error("      - {procedure: p, " + url + ", headers: [x]}\n", 5, "realms[0].backends[0].headers",
                "expected a mapping of header names to values, got a list");
    check_error("      - procedure: p\n        " + url + "\n        headers:\n          \"Bad Name\": x\n", 8,
                "realms[0].backends[0].headers.Bad Name", "\"Bad Name\" is not an HTTP header name");
    check_error("      - procedure: p\n        " + url + "\n        headers:\n          Content-Type: text/plain\n", 8,
                "realms[0].backends[0].headers.Content-Type", "is set by the router");
    check_error("      - procedure: p\n        " + url + "\n        headers:\n          X-A: 1\n          x-a: 2\n", 9,
                "realms[0].backends[0].headers.x-a", "duplicate header \"x-a\"; it is first set at line 8");
    check_error("      - procedure: p\n        " + url + "\n        headers:\n          X-A: \"\"\n", 8,
                "realms[0].backends[0].headers.X-A", "must not be empty");
    check_error("      - procedure: p\n        " + url + "\n        headers:\n          X-A: \"a\\r\\nX-B: b\"\n", 8,
                "realms[0].backends[0].headers.X-A", "must not contain line breaks");
    check_error("      - procedure: p\n        " + url + "\n        headers:\n          X-A: {b: c}\n", 8,
                "realms[0].backends[0].headers.X-A", "expected a string, got a mapping");
    const ConfigError not_list = error_of(realm_with("    backends: {procedure: p}\n"));
    CHECK(not_list.key_path == "realms[0].backends");
    CHECK(contains(not_list.message, "expected a list, got a mapping"));
}

TEST_CASE("config: tls on a listener") {
    const std::string cert = temp_file("kreuz-test-tls.crt", "certificate").string();
    const std::string key = temp_file("kreuz-test-tls.key", "key").string();
    const std::string tls = "    tls:\n      cert: " + cert + "\n      key: " + key + "\n";

    const Config c = parse("listen:\n  - port: 8443\n" + tls + "      ca: " + cert +
                           "\n      min_version: \"1.3\"\n      ciphers: ECDHE+AESGCM\n  - port: 8080\n");
    REQUIRE(c.listeners.size() == 2);
    REQUIRE(c.listeners[0].tls);
    CHECK(c.listeners[0].tls->cert == cert);
    CHECK(c.listeners[0].tls->key == key);
    CHECK(c.listeners[0].tls->ca == cert);
    CHECK(c.listeners[0].tls->min_version == kreuz::ws::TlsVersion::tls1_3);
    CHECK(c.listeners[0].tls->ciphers == "ECDHE+AESGCM");
    CHECK_FALSE(c.listeners[1].tls);

    const Config defaults = parse("listen:\n  - port: 8443\n" + tls);
    CHECK(defaults.listeners[0].tls->ca.empty());
    CHECK(defaults.listeners[0].tls->ciphers.empty());
    CHECK(defaults.listeners[0].tls->min_version == kreuz::ws::TlsVersion::tls1_2);
    CHECK(parse("listen:\n  - port: 8443\n" + tls + "      min_version: 1.2\n").listeners[0].tls->min_version ==
          kreuz::ws::TlsVersion::tls1_2);

    auto check_error = [](const std::string& yaml, int line, const std::string& key_path, std::string_view part) {
        CAPTURE(yaml);
        const ConfigError e = error_of(yaml);
        CHECK(e.line == line);
        CHECK(e.key_path == key_path);
        CHECK_MESSAGE(contains(e.message, part), e.message);
    };
    const std::string missing = (std::filesystem::temp_directory_path() / "kreuz-test-no-such.crt").string();
    check_error("listen:\n  - port: 8443\n    tls: {key: " + key + "}\n", 3, "listen[0].tls",
                "missing required key \"cert\"");
    check_error("listen:\n  - port: 8443\n    tls: {cert: " + cert + "}\n", 3, "listen[0].tls",
                "missing required key \"key\"");
    check_error("listen:\n  - port: 8443\n    tls:\n      cert: " + missing + "\n      key: " + key + "\n", 4,
                "listen[0].tls.cert", "cannot read \"" + missing + "\": No such file or directory");
    check_error("listen:\n  - port: 8443\n    tls:\n      cert: " + cert + "\n      key: " +
                    std::filesystem::temp_directory_path().string() + "\n",
                5, "listen[0].tls.key", "Is a directory");
    check_error("listen:\n  - port: 8443\n" + tls + "      ca: " + missing + "\n", 6, "listen[0].tls.ca",
                "cannot read");
    check_error("listen:\n  - port: 8443\n" + tls + "      min_version: \"1.1\"\n", 6, "listen[0].tls.min_version",
                "expected \"1.2\" or \"1.3\" (older versions are not offered), got \"1.1\"");
    check_error("listen:\n  - port: 8443\n" + tls + "      ciphers: \"\"\n", 6, "listen[0].tls.ciphers",
                "must not be empty");
    check_error("listen:\n  - port: 8443\n" + tls + "      certificate: x\n", 6, "listen[0].tls.certificate",
                "unknown key \"certificate\" (known here: cert, key, ca, min_version, ciphers)");
    check_error("listen:\n  - port: 8443\n    tls: true\n", 3, "listen[0].tls", "expected a mapping");
}

TEST_CASE("config: input that makes yaml-cpp 0.7's LoadAll allocate without end is a prompt error") {
    // tests/fuzz/crashes/fuzz_config/yaml_cpp_loadall_comma_loop: a lone comma.
    const ConfigError comma = error_of(",");
    CHECK(comma.line >= 1);
    CHECK(contains(comma.message, "second one"));
    CHECK(parse("").realms.size() == 1);
    CHECK(parse("# only a comment\n").realms.size() == 1);
}
