// Listening sockets, the set of live connections, the routing of an upgrade
// request to the endpoint registered for its path, the per-loop-turn write
// batching, and graceful shutdown.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <uv.h>

#include "websocket/connection.h"
#include "websocket/handshake.h"
#include "websocket/options.h"

namespace kreuz::ws {

struct Endpoint {
    std::string path;
    HandshakePolicy policy;
    std::size_t max_message_size = 0;  // 0: WebSocketOptions::max_message_size
    // Creates the handler of a connection that has just been upgraded. The
    // 101 response is already queued, so the handler may send at once.
    std::function<std::unique_ptr<MessageHandler>(Connection&)> open;
};

// Running totals for the router's metrics.
struct ServerStats {
    std::uint64_t accepted = 0;           // TCP connections
    std::uint64_t refused = 0;            // by a connection guard or the file-descriptor limit
    std::uint64_t refused_fd_limit = 0;   // of those, at the file-descriptor limit
    std::uint64_t websockets_opened = 0;  // upgrades answered with 101
    std::uint64_t http_requests = 0;      // plain requests answered by the HTTP handler
    std::uint64_t bytes_received = 0;     // from sockets (ciphertext on wss://)
    std::uint64_t bytes_sent = 0;         // queued frames that left (plaintext)
    std::uint64_t slow_consumers = 0;     // connections closed with 1008 for not reading
};

// Answers a plain HTTP request (one without Upgrade: websocket, its body read
// in full) with a complete response; the connection is closed after it is sent.
using HttpHandler = std::function<std::string(const HttpRequest&, const Connection&)>;

class Server {
public:
    Server(uv_loop_t* loop, WebSocketOptions options);
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    void add_endpoint(Endpoint endpoint);
    void set_http_handler(HttpHandler handler) { http_handler_ = std::move(handler); }

    // Binds and listens; throws std::runtime_error naming the address and the
    // libuv error, or the reason the TLS certificate or key cannot be used.
    // Returns the bound port (useful with port 0).
    std::uint16_t listen(const ListenOptions& listen);

    // Reads the certificate and key files of every TLS listener again. New
    // connections get the new context; open ones keep the one they started
    // with. A listener whose files fail to load keeps its context, and the
    // failure is logged. False when any failed.
    bool reload_tls();

    // Stops accepting, closes open connections with 1001, and calls `done`
    // once the last connection is gone and the server's own handles are closed.
    void shutdown(std::function<void()> done);

    uv_loop_t* loop() const { return loop_; }
    const WebSocketOptions& options() const { return options_; }
    std::size_t connection_count() const { return connections_.size(); }
    const ServerStats& stats() const { return stats_; }
    bool shutting_down() const { return shutting_down_; }

private:
    friend class Connection;

    struct Listener;

    static void on_acceptable(uv_poll_t* poll, int status, int events);
    static void on_check(uv_check_t* check);

    void accept_pending(Listener& listener);
    void open_connection(const Listener& listener, int fd);
    void refuse_beyond_fd_limit(Listener& listener);
    void pause_accepting();
    void reopen_reserve();

    // The connection guards: nullopt admits, else the HTTP status and reason
    // to refuse with. An admitted connection counts against its address and
    // as a handshake in flight until handshake_finished().
    std::optional<std::pair<int, std::string>> admit(Connection& connection);
    void handshake_finished() { --handshakes_in_flight_; }
    const Endpoint* find_endpoint(std::string_view path) const;
    const HttpHandler& http_handler() const { return http_handler_; }
    void schedule_flush(Connection* connection);
    void unschedule_flush(Connection* connection);
    // A flush that ran out of the turn's budget goes on in the next turn,
    // after the connections that get new frames meanwhile.
    void flush_later(Connection* connection);
    void schedule_session_end(Connection* connection);
    void finish_session_ends();
    void keep_polling_without_wait();
    void remove(Connection* connection);
    void maybe_finish_shutdown();
    std::uint8_t* read_buffer() { return read_buffer_.get(); }
    std::uint8_t* plaintext_buffer() { return plaintext_buffer_.get(); }

    // The listening socket is ours, polled for readability, and accept() is
    // called here rather than by uv_listen: libuv answers EMFILE by accepting
    // and closing the waiting connections without telling anyone, and a
    // router must refuse them visibly (a 503, a counter, a log line).
    struct Listener {
        int fd = -1;
        std::unique_ptr<uv_poll_t> poll;
        std::string name;                 // "host:port" as bound, for the log
        std::optional<TlsOptions> tls_options;
        std::optional<TlsContext> tls;    // set on a wss:// listener
    };

    uv_loop_t* loop_;
    WebSocketOptions options_;
    std::vector<Endpoint> endpoints_;
    HttpHandler http_handler_;
    std::vector<Listener> listeners_;
    std::unordered_map<Connection*, std::unique_ptr<Connection>> connections_;
    std::uint64_t next_connection_id_ = 1;
    std::unordered_map<std::string, std::size_t> connections_per_ip_;  // admitted connections only
    std::size_t handshakes_in_flight_ = 0;

    // Frames queued during a loop turn leave together in the check phase; the
    // idle handle keeps the loop from blocking in poll while any are waiting.
    uv_check_t check_{};
    uv_idle_t idle_{};
    std::vector<Connection*> flush_list_;
    std::vector<Connection*> flush_later_;
    // Connections whose handler is to be told of the end at the next safe
    // point (the teardown rule in connection.h).
    std::vector<Connection*> session_ends_;

    // Every read lands here and is consumed before the next one: connections
    // keep no receive buffer of their own.
    static constexpr std::size_t read_buffer_size = 64 * 1024;
    std::unique_ptr<std::uint8_t[]> read_buffer_;
    // TLS connections decrypt into this one (of the same size), as their
    // ciphertext is read from the read buffer in place; allocated with the
    // first TLS listener.
    std::unique_ptr<std::uint8_t[]> plaintext_buffer_;

    // Held open so that, at the file-descriptor limit, closing it frees the
    // one descriptor needed to accept a waiting connection and answer it 503.
    int reserve_fd_ = -1;
    // Stops the listeners for a moment when not even the reserve helps, so
    // that a readable listener cannot spin the loop.
    uv_timer_t accept_pause_{};
    std::uint64_t fd_limit_refused_unlogged_ = 0;
    std::uint64_t fd_limit_logged_at_ = 0;

    ServerStats stats_;
    bool shutting_down_ = false;
    int open_server_handles_ = 0;
    std::function<void()> shutdown_done_;
};

}  // namespace kreuz::ws
