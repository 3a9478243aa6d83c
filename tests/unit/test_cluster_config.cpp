// The cluster key: the Redis address in every form, and the errors, with
// file and line, for what is wrong.
#include <doctest/doctest.h>

#include <cstdlib>
#include <string>

#include "config/loader.h"
#include "config/reload.h"
#include "config/redis_url.h"

using namespace kreuz;

namespace {

std::string error_of(const std::string& yaml) {
    try {
        config::parse_config(yaml, "c.yaml");
    } catch (const config::ConfigError& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST_CASE("config: Redis URLs") {
    config::ClusterConfig c;
    CHECK_FALSE(config::parse_redis_url("redis://127.0.0.1:6380/2", c));
    CHECK(c.redis_host == "127.0.0.1");
    CHECK(c.redis_port == 6380);
    CHECK(c.redis_db == 2);
    CHECK_FALSE(config::parse_redis_url("redis://:s3cret@[::1]", c));
    CHECK(c.redis_host == "::1");
    CHECK(c.password == "s3cret");
    CHECK(c.username.empty());
    CHECK_FALSE(config::parse_redis_url("redis://kreuz:pw@redis.internal/", c));
    CHECK(c.username == "kreuz");
    CHECK(c.redis_host == "redis.internal");
    config::ClusterConfig u;
    CHECK_FALSE(config::parse_redis_url("unix:///run/redis/redis.sock?db=3", u));
    CHECK(u.redis_unix_path == "/run/redis/redis.sock");
    CHECK(u.redis_db == 3);
    CHECK(u.redis_host.empty());

    auto error_of = [](const char* url) {
        config::ClusterConfig ignored;
        return config::parse_redis_url(url, ignored).value_or("");
    };
    CHECK(error_of("rediss://h").find("TLS") != std::string::npos);
    CHECK(error_of("http://h").starts_with("must start with redis:// or unix://"));
    CHECK(error_of("redis://h:0") == "the port must be 1 to 65535, got \"0\"");
    CHECK(error_of("redis://h:70000") == "the port must be 1 to 65535, got \"70000\"");
    CHECK(error_of("redis://h:") == "the port must be 1 to 65535, got \"\"");
    CHECK(error_of("redis://:6379") == "names no host");
    CHECK(error_of("redis://h/x") == "the database must be a number, got \"x\"");
    CHECK(error_of("redis://pw@h") == "the part before @ must be :password or user:password");
    CHECK(error_of("redis://user:@h") == "the password before @ is empty");
    CHECK(error_of("redis://[::1") == "an IPv6 address needs its closing ]");
    CHECK(error_of("unix://run/redis.sock").starts_with("the socket path must be absolute"));
    CHECK(error_of("unix:///r.sock?database=1") == "the only parameter is db=N, got \"database=1\"");
}

TEST_CASE("config: cluster") {
    const config::Config single = config::parse_config("realms: [{name: r, paths: [/ws]}]", "c.yaml");
    CHECK_FALSE(single.cluster);

    const config::Config c = config::parse_config(
        "cluster:\n  redis: redis://10.0.0.5:6390/1\n  node_id: node-a\n  channel_prefix: staging\n"
        "  connect_timeout: 750ms\n  reconnect_max: 10s\n  max_pending: 1000\n  heartbeat: 250ms\n  node_timeout: 2s\n",
        "c.yaml");
    REQUIRE(c.cluster);
    CHECK(c.cluster->redis_host == "10.0.0.5");
    CHECK(c.cluster->redis_port == 6390);
    CHECK(c.cluster->redis_db == 1);
    CHECK(c.cluster->node_id == "node-a");
    CHECK(c.cluster->channel_prefix == "staging");
    CHECK(c.cluster->connect_timeout_ms == 750);
    CHECK(c.cluster->reconnect_max_ms == 10000);
    CHECK(c.cluster->max_pending == 1000);
    CHECK(c.cluster->heartbeat_ms == 250);
    CHECK(c.cluster->node_timeout_ms == 2000);

    setenv("KREUZ_TEST_REDIS_PASSWORD", "from-env", 1);
    const config::Config env =
        config::parse_config("cluster: {redis: \"redis://h\", password_env: KREUZ_TEST_REDIS_PASSWORD}", "c.yaml");
    CHECK(env.cluster->password == "from-env");

    CHECK(error_of("cluster:\n  node_id: a\n") ==
          "c.yaml:2:3: cluster: missing required key \"redis\"");
    CHECK(error_of("cluster:\n  redis: redis://h:99999\n") ==
          "c.yaml:2:10: cluster.redis: the port must be 1 to 65535, got \"99999\"");
    CHECK(error_of("cluster:\n  redis: redis://h\n  node_id: a.b\n") ==
          "c.yaml:3:12: cluster.node_id: must be 1 to 64 characters of A-Z a-z 0-9 - _, got \"a.b\"");
    CHECK(error_of("cluster:\n  redis: redis://:pw@h\n  password: other\n") ==
          "c.yaml:3:13: cluster.password: the redis URL already holds a password");
    CHECK(error_of("cluster:\n  redis: redis://h\n  password: a\n  password_env: B\n") ==
          "c.yaml:4:17: cluster.password_env: password and password_env both give the secret; keep one");
    CHECK(error_of("cluster:\n  redis: redis://h\n  password_env: KREUZ_TEST_UNSET_VARIABLE\n") ==
          "c.yaml:3:17: cluster.password_env: environment variable \"KREUZ_TEST_UNSET_VARIABLE\" is not set");
    CHECK(error_of("cluster:\n  redis: redis://h\n  prefix: x\n").starts_with(
        "c.yaml:3:3: cluster.prefix: unknown key \"prefix\""));
    CHECK(error_of("cluster:\n  redis: redis://h\n  max_pending: 0\n").starts_with("c.yaml:3:16: cluster.max_pending:"));
    CHECK(error_of("cluster:\n  redis: redis://h\n  heartbeat: 1s\n  node_timeout: 2s\n") ==
          "c.yaml:4:17: cluster.node_timeout: node_timeout (2000 ms) must be more than twice heartbeat (1000 ms), "
          "or one late heartbeat ends a live node");
    CHECK(error_of("cluster:\n  redis: redis://h\n  heartbeat: 3s\n") ==
          "c.yaml:3:14: cluster.heartbeat: heartbeat (3000 ms) must be less than half of node_timeout (5000 ms)");
}

TEST_CASE("config: changing the cluster needs a restart") {
    const config::Config a = config::parse_config("cluster: {redis: \"redis://h\"}", "c.yaml");
    const config::Config b = config::parse_config("cluster: {redis: \"redis://h2\"}", "c.yaml");
    const config::Config none = config::parse_config("{}", "c.yaml");
    CHECK(config::restart_required(a, a).empty());
    CHECK(config::restart_required(a, b) == "cluster changed");
    CHECK(config::restart_required(none, a) == "cluster changed");
}
