// The configuration of the operations features: publish bridge, routed RPC
// permissions, health and metrics pages, log format, shutdown mode, and what
// a reload may change.
#include <doctest/doctest.h>

#include <stdexcept>
#include <string>
#include <string_view>

#include "config/loader.h"
#include "config/reload.h"

using kreuz::config::Config;
using kreuz::config::ConfigError;
using kreuz::config::restart_required;

namespace {

Config parse(std::string_view yaml) { return kreuz::config::parse_config(yaml, "ops.yaml"); }

std::string error_of(std::string_view yaml) {
    try {
        parse(yaml);
    } catch (const ConfigError& e) {
        return e.what();
    }
    throw std::logic_error("the configuration was accepted:\n" + std::string(yaml));
}

bool contains(const std::string& text, std::string_view part) { return text.find(part) != std::string::npos; }

constexpr std::string_view bridge_realm = R"(realms:
  - name: r
    paths: [/ws]
    roles: {pusher: [{uri: "http://x/", prefix: true}]}
)";

}  // namespace

TEST_CASE("publish_bridge: defaults and every key") {
    const Config none = parse("realms: [{name: r, paths: [/ws]}]\n");
    CHECK_FALSE(none.realms[0].publish_bridge.has_value());

    const Config plain = parse("realms: [{name: r, paths: [/ws], publish_bridge: {path: /publish}}]\n");
    REQUIRE(plain.realms[0].publish_bridge);
    CHECK(plain.realms[0].publish_bridge->path == "/publish");
    CHECK(plain.realms[0].publish_bridge->max_body == 64u << 10);
    CHECK(plain.realms[0].publish_bridge->max_batch == 1000);
    CHECK(plain.realms[0].publish_bridge->timestamp_window_ms == 300000);
    CHECK(plain.realms[0].publish_bridge->keys.empty());

    const Config full = parse(std::string(bridge_realm) + R"(    publish_bridge:
      path: /push
      max_body: 1KiB
      max_batch: 5
      timestamp_window: 30s
      keys:
        - {key: a, secret: s1}
        - {key: b, secret: s2, role: pusher}
)");
    const auto& b = *full.realms[0].publish_bridge;
    CHECK(b.max_body == 1024);
    CHECK(b.max_batch == 5);
    CHECK(b.timestamp_window_ms == 30000);
    REQUIRE(b.keys.size() == 2);
    CHECK(b.keys[1].key == "b");
    CHECK(b.keys[1].secret == "s2");
    CHECK(b.keys[1].role == "pusher");
}

TEST_CASE("publish_bridge: the small default max_body never exceeds max_http_body") {
    const Config c = parse("websocket: {max_http_body: 1KiB}\nrealms: [{name: r, paths: [/ws], publish_bridge: "
                           "{path: /p}}]\n");
    CHECK(c.realms[0].publish_bridge->max_body == 1024);
}

TEST_CASE("publish_bridge: errors name the place") {
    const std::string realm = std::string(bridge_realm) + "    publish_bridge:\n";
    CHECK(contains(error_of(realm + "      max_body: 1KiB\n"), "ops.yaml:6:7: realms[0].publish_bridge: missing "
                                                               "required key \"path\""));
    CHECK(contains(error_of(realm + "      path: publish\n"), "must start with \"/\""));
    CHECK(contains(error_of(realm + "      path: /ws\n"), "path \"/ws\" is already used by realm \"r\""));
    CHECK(contains(error_of(realm + "      path: /metrics\n"), "\"/metrics\" is kreuz's own page"));
    CHECK(contains(error_of(realm + "      path: /p\n      max_body: 2MiB\n"),
                   "ops.yaml:7:17: realms[0].publish_bridge.max_body: 2MiB exceeds websocket.max_http_body (1MiB)"));
    CHECK(contains(error_of(realm + "      path: /p\n      keys: [{key: a}]\n"), "missing the secret"));
    CHECK(contains(error_of(realm + "      path: /p\n      keys: [{key: a, secret: x, secret_env: Y}]\n"),
                   "secret and secret_env both give the secret"));
    CHECK(contains(error_of(realm + "      path: /p\n      keys: [{key: a, secret: x}, {key: a, secret: y}]\n"),
                   "key \"a\" is already used at line 7"));
    CHECK(contains(error_of(realm + "      path: /p\n      keys: [{key: a, secret: x, role: nobody}]\n"),
                   "role \"nobody\" is not defined"));
    CHECK(contains(error_of(realm + "      path: /p\n      timestamp_window: 0s\n"), "timestamp_window"));
    CHECK(contains(error_of(realm + "      path: /p\n      signed: true\n"), "unknown key \"signed\""));
    CHECK(contains(error_of("websocket: {echo_path: /p}\nrealms: [{name: r, paths: [/ws], publish_bridge: {path: "
                            "/p}}]\n"),
                   "echo_path"));
}

TEST_CASE("register permission, registrations limit and callee timeout") {
    const Config c = parse(R"(limits: {max_registrations: 7}
realms:
  - name: r
    paths: [/ws]
    callee_timeout: 2s
    rules:
      - {uri: "http://x/a"}
      - {uri: "http://x/b", register: true}
)");
    CHECK(c.limits.max_registrations == 7);
    CHECK(c.realms[0].limits.max_registrations == 7);
    CHECK(c.realms[0].callee_timeout_ms == 2000);
    CHECK_FALSE(c.realms[0].rules[0].register_procedure);
    CHECK(c.realms[0].rules[1].register_procedure);
    CHECK(parse("realms: [{name: r, paths: [/ws]}]\n").realms[0].callee_timeout_ms == 30000);
    CHECK(contains(error_of("realms: [{name: r, paths: [/ws], callee_timeout: 0s}]\n"), "callee_timeout"));
}

TEST_CASE("http pages, log format and shutdown mode") {
    const Config defaults = parse("");
    CHECK(defaults.http.health);
    CHECK(defaults.http.metrics);
    CHECK_FALSE(defaults.log.json);
    CHECK_FALSE(defaults.websocket.shutdown_drop);
    const Config c = parse("http: {health: false, metrics: false}\nlog: {format: json}\nwebsocket: {shutdown_mode: "
                           "drop}\n");
    CHECK_FALSE(c.http.health);
    CHECK_FALSE(c.http.metrics);
    CHECK(c.log.json);
    CHECK(c.websocket.shutdown_drop);
    CHECK(contains(error_of("log: {format: xml}\n"), "ops.yaml:1:15: log.format: expected text or json"));
    CHECK(contains(error_of("websocket: {shutdown_mode: rst}\n"), "expected close or drop"));
}

TEST_CASE("restart_required: what a reload cannot change") {
    const std::string base = "realms:\n  - name: r\n    paths: [/ws]\n";
    const Config running = parse(base);
    CHECK(restart_required(running, parse(base)).empty());
    // Everything a reload takes over.
    CHECK(restart_required(running, parse(base + "    rules: [{uri: x}]\n    builtins: {echo: false}\n"
                                                  "    publish_bridge: {path: /p}\n    strict: true\n"
                                                  "log: {level: debug}\nhttp: {metrics: false}\n"))
              .empty());
    CHECK(restart_required(running, parse("listen: [{port: 9}]\n" + base)) == "listen changed");
    CHECK(restart_required(running, parse("websocket: {ping_interval: 1s}\n" + base)) == "websocket changed");
    CHECK(restart_required(running, parse("log: {format: json}\n" + base)) == "log.format changed");
    CHECK(restart_required(running, parse("realms:\n  - name: q\n    paths: [/ws]\n")) ==
          "realms[0].name changed (realms must keep their order and names)");
    CHECK(restart_required(running, parse("realms:\n  - name: r\n    paths: [/ws, /x]\n")) ==
          "realms[0].paths changed");
    CHECK(restart_required(running, parse(base + "    accept_no_subprotocol: true\n")) ==
          "realms[0].accept_no_subprotocol changed");
    CHECK(restart_required(running, parse(base + "  - name: s\n    paths: [/s]\n")) ==
          "realms were added or removed");
    CHECK(restart_required(running, parse(base + "    allowed_origins: [https://a]\n")) ==
          "realms[0].allowed_origins changed");
    CHECK(restart_required(running, parse(base + "    max_message_size: 1KiB\n")) ==
          "realms[0].max_message_size changed");
    CHECK(restart_required(running, parse("websocket: {echo_path: /echo}\n" + base)) ==
          "websocket.echo_path changed");
    CHECK(restart_required(running, parse(base + "    callee_timeout: 1s\n    auth: {anonymous: false}\n"
                                                  "limits: {max_prefixes: 1}\n"))
              .empty());
}
