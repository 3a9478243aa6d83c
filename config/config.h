// The router's whole configuration as plain values. The YAML loader
// (config/loader.h) and the command line fill it; nothing here has behaviour.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "websocket/options.h"

namespace kreuz::config {

// Per-session limits of the WAMP layer.
struct SessionLimits {
    std::size_t max_prefixes = 256;
    std::size_t max_subscriptions = 4096;
    std::size_t max_pending_calls = 1024;  // outstanding CALLs of one session
    std::size_t max_registrations = 256;   // procedures one session may register
};

struct BuiltinProcedures {
    bool ping = true;             // http://api.wamp.ws/procedure#ping
    bool echo = true;             // http://api.wamp.ws/procedure#echo
    bool testee_dispatch = true;  // http://api.testsuite.wamp-proto.org/testee/control#dispatch
};

// What a session may do with the URIs a rule covers. The rule that applies to
// a URI is the longest one whose uri is a leading part of it; it applies when
// it equals the URI or has prefix set. A URI no rule applies to is denied.
struct UriRule {
    std::string uri;
    bool prefix = false;
    bool publish = true;
    bool subscribe = true;
    bool call = true;
    bool register_procedure = false;  // YAML `register`: serve these URIs as a callee
};

// Salted WAMP-CRA (digest section 8.4): the key is PBKDF2 of the secret, and
// the challenge tells the client how to derive it.
struct SaltedKey {
    std::string salt;
    std::uint32_t iterations = 10000;  // AutobahnJS's defaults
    std::uint32_t keylen = 32;         // bytes
};

// A user that authenticates with WAMP-CRA under its key.
struct AuthUser {
    std::string key;   // the authKey of authreq
    std::string role;  // a role of RealmConfig::roles; empty or unknown only in an open realm
    // Unsalted: the secret. Salted: the secret, or the derived key itself when
    // secret_is_derived_key (the router derives the others once at startup).
    std::string secret;
    std::optional<SaltedKey> salted;
    bool secret_is_derived_key = false;
};

struct AuthConfig {
    bool anonymous = true;                 // authreq(null) allowed
    std::uint32_t timeout_ms = 0;          // close (1008) sessions not authenticated by then; 0: never
    std::uint32_t failure_delay_ms = 800;  // mean of the random delay before invalid-signature
    std::vector<AuthUser> users;
};

// A procedure served by an HTTP backend: a CALL becomes a POST of
// {"procedure", "args", "session"} to url, and the JSON answer its result.
struct BackendConfig {
    std::string procedure;               // the procedure URI, or its leading part when prefix is set
    bool prefix = false;
    std::string url;                     // http:// or https://
    std::uint32_t timeout_ms = 10000;    // from the CALL to the answer, queueing included
    std::size_t max_concurrent = 100;    // requests in flight to this backend at once
    std::size_t max_queued = 10000;      // calls waiting for a free slot; beyond: overloaded error
    std::map<std::string, std::string> headers;  // sent with every request
};

// A key the publish bridge accepts signed requests from.
struct BridgeKey {
    std::string key;
    std::string secret;
    std::string role;  // whose rules its publications obey; empty: the realm's rules
};

// HTTP POST -> PUBLISH for the application's backends (docs/CONFIG.md).
struct PublishBridgeConfig {
    std::string path;                         // e.g. "/publish"
    std::size_t max_body = 64u << 10;         // 413 beyond; at most websocket.max_http_body
    std::size_t max_batch = 1000;             // publications in one request
    std::uint32_t timestamp_window_ms = 300000;  // allowed skew of a signed request's timestamp
    std::vector<BridgeKey> keys;              // empty: unsigned requests; else every request is signed
};

struct RealmConfig {
    std::string name;
    std::vector<std::string> paths;      // URL paths the realm's WebSocket endpoint is served on
    bool accept_no_subprotocol = false;  // accept clients that offer no "wamp" subprotocol
    bool strict = false;                 // fail the connection on bad input instead of log-and-ignore
    std::size_t max_message_size = 0;    // 0: websocket.max_message_size
    SessionLimits limits;
    BuiltinProcedures builtins;
    std::vector<UriRule> rules;          // empty: everything is allowed (open realm)
    AuthConfig auth;
    // Role name -> its rules, which replace `rules` for the sessions of that
    // role. Sessions not (or anonymously) authenticated have the role "anonymous".
    std::map<std::string, std::vector<UriRule>, std::less<>> roles;
    std::vector<std::string> allowed_origins;  // empty: any Origin; else others get 403
    std::vector<BackendConfig> backends;       // procedures served by HTTP backends
    std::optional<PublishBridgeConfig> publish_bridge;
    std::uint32_t callee_timeout_ms = 30000;   // a registered callee's time to answer a CALL
};

struct LogConfig {
    std::string level = "info";  // trace, debug, info, warn, error, critical, off
    bool json = false;           // one JSON object per line instead of text
};

struct HttpConfig {
    bool serve_www = true;  // the demo page at "/"
    std::string www_root;   // empty: the pages built into the binary
    bool health = true;     // GET /health, /health/live, /health/ready
    bool metrics = true;    // GET /metrics (Prometheus)
    bool admin = false;     // POST /admin/trace from loopback addresses
};

// Several nodes as one router through Redis (docs/CLUSTER.md).
struct ClusterConfig {
    std::string redis_host;        // from redis://[[user]:password@]host[:port][/db]; empty with a Unix socket
    std::uint16_t redis_port = 6379;
    std::string redis_unix_path;   // from unix:///path[?db=N]
    int redis_db = 0;              // SELECTed; Pub/Sub itself ignores databases (see channel_prefix)
    std::string username;          // Redis 6 ACL user; empty: AUTH with the password alone
    std::string password;          // empty: no AUTH
    std::string node_id;           // empty: host name, pid and a random suffix, chosen at start
    std::string channel_prefix = "kreuz";  // of every channel, so that clusters can share one Redis
    std::uint32_t heartbeat_ms = 1000;      // how often a node tells the others it is alive
    std::uint32_t node_timeout_ms = 5000;   // a node silent this long is gone, with its procedures
    std::uint32_t connect_timeout_ms = 2000;
    std::uint32_t reconnect_max_ms = 5000;  // the backoff between attempts doubles up to this
    std::size_t max_pending = 65536;        // PUBLISHes awaiting Redis before cross-node traffic is dropped
    bool operator==(const ClusterConfig&) const = default;
};

struct Config {
    std::vector<ws::ListenOptions> listeners;  // default: one on 127.0.0.1:8080
    LogConfig log;
    ws::WebSocketOptions websocket;
    std::string echo_path;  // empty: no echo endpoint
    HttpConfig http;
    SessionLimits limits;   // defaults for realms that set none
    std::vector<RealmConfig> realms;
    std::optional<ClusterConfig> cluster;  // none: a single node, no Redis
};

}  // namespace kreuz::config
