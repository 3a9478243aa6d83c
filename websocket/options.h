// Plain settings of the WebSocket layer. config/ fills them from YAML and the
// command line; nothing here has behaviour, so any layer may include it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace kreuz::ws {

struct HttpLimits {
    std::size_t max_head_bytes = 8192;  // request line + headers + final CRLF
    std::size_t max_headers = 64;
    // Request bodies of plain HTTP requests (the publish bridge); larger ones
    // get 413 before a byte of them is stored.
    std::size_t max_body_bytes = 1u << 20;
    bool operator==(const HttpLimits&) const = default;
};

struct DeflateOptions {
    bool enabled = true;              // accept permessage-deflate offers at all
    std::size_t min_size = 64;        // smaller outgoing messages are sent uncompressed
    int mem_level = 8;                // zlib memLevel of the per-connection compressor (1..9)
    bool operator==(const DeflateOptions&) const = default;
};

struct WebSocketOptions {
    std::size_t max_message_size = 16u << 20;  // after reassembly and inflation
    std::size_t max_fragments = 1u << 20;      // frames per message
    HttpLimits http;
    DeflateOptions deflate;

    std::uint32_t handshake_timeout_ms = 10000;  // accept -> 101 sent
    std::uint32_t close_timeout_ms = 5000;       // our Close sent -> peer's Close received
    std::uint32_t ping_interval_ms = 30000;      // 0 disables keepalive pings
    std::uint32_t pong_timeout_ms = 10000;
    std::uint32_t idle_timeout_ms = 0;           // no data message for this long -> close 1001; 0 = off

    // Guards against floods; 0 disables each.
    std::size_t max_connections = 50000;       // open TCP connections in total
    std::size_t max_connections_per_ip = 0;    // per client address (0: behind a proxy every client shares one)
    std::size_t max_handshakes = 1000;         // connections still in the opening handshake
    double message_rate = 0;                   // messages per second per connection (token bucket)
    std::size_t message_burst = 1000;          // bucket size: messages accepted at once after a quiet spell

    std::size_t write_high_water = 4u << 20;     // above it: reading pauses, slow-consumer clock runs
    std::size_t write_queue_limit = 64u << 20;   // above it: closed with 1008 at once
    std::uint32_t slow_consumer_timeout_ms = 10000;  // above high water this long -> 1008

    // On SIGTERM/SIGINT: send Close 1001 to every peer (clean), or drop TCP
    // without a closing handshake, which AutobahnJS 0.8 clients answer by
    // reconnecting (they never reconnect after a clean close).
    bool shutdown_drop = false;
    bool operator==(const WebSocketOptions&) const = default;
};

enum class TlsVersion : std::uint8_t { tls1_2, tls1_3 };

// wss:// on a listener. The files are read when the listener starts and again
// on every reload (SIGHUP), so a renewed certificate needs no restart.
struct TlsOptions {
    std::string cert;     // PEM: the server certificate, then its intermediates
    std::string key;      // PEM: the private key of cert
    std::string ca;       // PEM: CAs for client certificates; empty: none are requested
    TlsVersion min_version = TlsVersion::tls1_2;
    std::string ciphers;  // TLS 1.2 cipher list in OpenSSL syntax; empty: ECDHE with AES-GCM or ChaCha20
    bool operator==(const TlsOptions&) const = default;
};

struct ListenOptions {
    std::string host = "127.0.0.1";
    std::uint16_t port = 8080;
    int backlog = 511;
    std::optional<TlsOptions> tls;  // absent: plain ws://
    bool operator==(const ListenOptions&) const = default;
};

}  // namespace kreuz::ws
