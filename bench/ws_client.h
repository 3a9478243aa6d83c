// The client side of RFC 6455 on libuv, as much as a load generator needs:
// the opening handshake with a random key (and optionally a subprotocol),
// masked frames out, unmasked frames in (fragments reassembled, ping
// answered), the closing handshake. No extensions are offered.
//
// A WsClient is never destroyed while its loop runs; once closed it can
// connect again (the churn scenario reuses one per loop).
#pragma once

#include <uv.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "bench/common.h"

namespace kreuz::bench {

class WsClient;

// Shared by all clients of one loop: the read buffer, the mask generator and
// the write batching. Frames queued during a loop turn leave together, from
// the check phase (after reads) or the idle phase (after timers).
class Context {
public:
    explicit Context(uv_loop_t* loop);
    Context(const Context&) = delete;
    Context& operator=(const Context&) = delete;

    uv_loop_t* loop() const { return loop_; }
    Rng& rng() { return rng_; }
    void mark_dirty(WsClient& client);
    void close();  // closes the context's own handles; call once at the end

    static constexpr std::size_t read_buffer_size = 64 * 1024;
    char* read_buffer() { return read_buffer_.data(); }

private:
    static void on_check(uv_check_t* handle);
    static void on_idle(uv_idle_t* handle);
    void flush_dirty();

    uv_loop_t* loop_;
    uv_check_t check_{};
    uv_idle_t idle_{};
    bool idle_active_ = false;
    std::vector<WsClient*> dirty_;
    std::vector<WsClient*> flushing_;
    std::vector<char> read_buffer_;
    Rng rng_;
};

struct CloseInfo {
    bool clean = false;            // both Close frames were exchanged and the TCP connection ended
    bool initiated_by_us = false;  // we sent the first Close (or aborted)
    std::uint16_t code = 0;        // the peer's close code; 0 if it sent none
    std::string reason;            // the peer's close reason
    std::string error;             // what went wrong; empty for a normal close
};

class WsClient {
public:
    class Handler {
    public:
        virtual ~Handler() = default;
        virtual void on_open(WsClient& client) = 0;
        virtual void on_message(WsClient& client, std::string_view payload, bool binary) = 0;
        // The socket is closed; the client may connect() again from here.
        virtual void on_closed(WsClient& client, const CloseInfo& info) = 0;
    };

    enum class State { idle, connecting, handshake, open, closing, draining, closing_handle };

    WsClient(Context& context, Handler& handler, std::size_t index);
    WsClient(const WsClient&) = delete;
    WsClient& operator=(const WsClient&) = delete;

    // Starts a connection; the whole opening handshake must finish within timeout_ns.
    void connect(const sockaddr* address, std::string host_header, std::string path, std::string subprotocol,
                 std::uint64_t timeout_ns);
    void send_text(std::string_view payload) { queue_frame(0x1, payload); }
    void send_binary(std::string_view payload) { queue_frame(0x2, payload); }
    // Starts the closing handshake (or drops a connection not yet open); the
    // peer has timeout_ns to answer and end the TCP connection.
    void close(std::uint16_t code, std::uint64_t timeout_ns);
    // Drops the connection at once; `error` empty means this is no failure.
    void abort(std::string error);
    // Enforces the handshake and close deadlines; call it now and then.
    void check_deadline(std::uint64_t now);

    State state() const { return state_; }
    bool is_idle() const { return state_ == State::idle; }
    bool is_open() const { return state_ == State::open; }
    std::size_t index() const { return index_; }
    std::size_t queued_bytes() const { return out_.size() + in_flight_.size(); }

    void flush();  // called by the Context

private:
    static void on_connect(uv_connect_t* request, int status);
    static void on_alloc(uv_handle_t* handle, std::size_t suggested, uv_buf_t* buf);
    static void on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf);
    static void on_write(uv_write_t* request, int status);
    static void on_handle_closed(uv_handle_t* handle);

    void queue_frame(unsigned opcode, std::string_view payload);
    void fail(std::string error);
    void close_handle();
    void handle_head(const char* data, std::size_t size);
    bool check_response(std::string_view head, std::string& error) const;
    void handle_frames(const char* data, std::size_t size);
    std::size_t parse_frames(const char* data, std::size_t size);
    bool handle_frame(unsigned opcode, bool fin, std::string_view payload);
    bool readable() const {
        return state_ == State::open || state_ == State::closing || state_ == State::draining;
    }

    Context& context_;
    Handler& handler_;
    std::size_t index_;
    State state_ = State::idle;
    uv_tcp_t tcp_{};
    uv_connect_t connect_request_{};
    uv_write_t write_request_{};
    bool dirty_ = false;
    bool writing_ = false;
    std::string out_;        // frames not yet handed to the kernel
    std::string in_flight_;  // the buffer of the uv_write in progress
    std::string head_;       // the handshake response so far
    std::string in_;         // an incomplete frame carried over to the next read
    std::string message_;    // a fragmented message being reassembled
    bool in_message_ = false;
    bool message_binary_ = false;
    std::string key_;
    std::string subprotocol_;
    std::uint64_t deadline_ = 0;  // 0: none
    CloseInfo info_;

    friend class Context;
};

}  // namespace kreuz::bench
