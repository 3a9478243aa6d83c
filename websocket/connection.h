// One accepted TCP socket from the first byte of its HTTP head to the end of
// the WebSocket closing handshake. The state machine, with the member that
// takes each step:
//
//   handshake --101--> open --close(): our Close--------------> closing
//       |                |  \--fail_connection(): a Close with
//       |                |     the error code (RFC 6455 7.1.7)--> closing
//       |                \--peer's Close echoed------------------------> draining
//       \--send_final_response(): an HTTP error or a plain-HTTP answer--> draining
//   closing --peer's Close, or close timeout--> draining
//   draining --queue empty: FIN; peer's FIN or close timeout--> closed
//   any --close_socket(): socket lost or given up--> closed (uv_close started;
//         the Server frees the object once both handles are closed)
//
//   closing: our Close is out; input is parsed only to find the peer's Close.
//   draining (start_draining()): nothing more will be sent; once the write
//   queue is empty the write side is shut down and input is discarded until
//   the peer's FIN or the close timeout, so that our last bytes are not
//   destroyed by an RST.
//   Every step out of open calls request_session_end(), see below.
//
// The teardown rule: a connection that stops being open never tears down its
// handler on the spot. Leaving the open state (a Close sent or received, a
// failure found while queueing a frame, a lost socket) only marks the session
// for ending; the Server calls MessageHandler::on_close at the next safe point,
// the start of its check phase, or at the latest just before the Connection is
// freed in the loop's close phase. Both are outside every callback that walks
// sessions, so a send that pushes a receiver over its queue limit, a reply to
// a caller, or a failure inside a handler's own on_message can never free an
// object a caller further up the stack still uses. Until then the handler
// stays alive and attached, send() is a no-op, and no message is delivered.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <uv.h>

#include "websocket/deflate.h"
#include "websocket/frame.h"
#include "websocket/frame_queue.h"
#include "websocket/handshake.h"
#include "websocket/http_request.h"
#include "websocket/message_assembler.h"
#include "websocket/tls.h"
#include "websocket/utf8.h"

namespace kreuz::ws {

class Server;
class Connection;
struct Endpoint;

// What the check phase of one loop turn may spend on writing, shared by all
// connections it flushes. Filling 200 empty socket buffers of 4 MiB each is
// 800 MiB of kernel copying, and compressing a 60 KiB event for 200 deflate
// sessions some 200 ms: done in one turn, either would hold every other
// session's answer for that long. The rest waits for the next turn, which
// comes at once (the idle handle keeps poll from blocking) after the reads
// that arrived meanwhile are served.
struct FlushBudget {
    std::size_t write_bytes;    // handed to the kernel
    std::size_t deflate_bytes;  // of messages compressed (at flush time, see OutFrame)
    void wrote(std::size_t bytes) { write_bytes -= std::min(write_bytes, bytes); }
};

// Immutable bytes shared by every queue they are sent on, so a message that
// goes to many connections is stored once.
using SharedBytes = std::shared_ptr<const std::string>;

// What an application attaches to an open connection.
class MessageHandler {
public:
    virtual ~MessageHandler() = default;
    // A complete text (valid UTF-8) or binary message.
    virtual void on_message(Connection& connection, Opcode opcode, std::string_view payload) = 0;
    // The WebSocket is no longer open (Close sent or received, or TCP lost).
    // Called at a safe point of the loop, never from inside a send() or any
    // other call into the connection (see the teardown rule above). Sending
    // is no longer possible; the handler is destroyed right after.
    virtual void on_close(Connection& connection, std::uint16_t code) = 0;
};

class Connection final : private FrameSink {
public:
    enum class State : std::uint8_t { handshake, open, closing, draining, closed };

    Connection(Server& server, std::uint64_t id);
    ~Connection();
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    std::uint64_t id() const { return id_; }
    State state() const { return state_; }
    bool is_open() const { return state_ == State::open; }
    const std::string& remote_address() const { return remote_address_; }
    const std::string& remote_ip() const { return remote_ip_; }
    const std::string& subprotocol() const { return subprotocol_; }
    const std::string& path() const { return path_; }
    bool deflate_enabled() const { return assembler_.inflate_enabled(); }
    std::size_t queued_bytes() const { return queued_bytes_; }

    // Queue a message; ignored unless the connection is open.
    void send(Opcode opcode, std::string_view payload);
    void send(Opcode opcode, SharedBytes payload);
    // Start the closing handshake with `code` (and an optional short reason).
    void close(std::uint16_t code, std::string_view reason = {});
    // Shutdown path of the server: leave without a word when still in handshake.
    void close_for_shutdown();

private:
    friend class Server;

    // Called by Server right after uv_accept.
    void start();
    // Called by Server instead of start() when a guard refuses the connection:
    // a one-line HTTP answer, then the socket closes.
    void refuse(int status, std::string_view reason);
    // Called by Server's check phase: push queued frames to the socket, within
    // what is left of the loop turn's budget (a connection that runs out of it
    // schedules itself again for the next turn).
    void flush(FlushBudget& budget);
    // Called by Server at a safe point: tell the handler the session is over
    // and destroy it, if request_session_end() asked for that.
    void finish_session();

    static void on_alloc(uv_handle_t* handle, std::size_t suggested, uv_buf_t* buf);
    static void on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf);
    static void on_write(uv_write_t* req, int status);
    static void on_tls_write(uv_write_t* req, int status);
    static void on_shutdown(uv_shutdown_t* req, int status);
    static void on_timer(uv_timer_t* timer);
    static void on_handle_closed(uv_handle_t* handle);

    void handle_input(std::uint8_t* data, std::size_t size);
    void handle_tls_input(const std::uint8_t* data, std::size_t size);
    void fail_tls(std::string_view reason);
    void handle_handshake_bytes(std::uint8_t* data, std::size_t size);
    void start_plain_request(std::uint8_t* rest, std::size_t size);
    void collect_body(const std::uint8_t* data, std::size_t size);
    void answer_plain_request();
    void send_final_response(std::string response, int status, std::string_view reason);

    // FrameSink
    void on_message_begin(Opcode opcode, bool compressed) override;
    bool on_message_data(const std::uint8_t* data, std::size_t size, bool last) override;
    bool on_control(Opcode opcode, const std::uint8_t* payload, std::size_t size) override;
    void on_protocol_error(std::uint16_t code, const char* reason) override;

    void deliver(std::string_view payload);
    void fail_connection(std::uint16_t code, std::string_view reason);
    void start_draining();
    void leave_handshake();
    void request_session_end(std::uint16_t code);
    void close_socket();

    void queue_frame(Opcode opcode, SharedBytes payload, bool deflate_pending = false);
    std::size_t deflate_pending_frames(std::size_t& budget);
    std::size_t ready_frames(FlushBudget& budget);
    void queue_raw(SharedBytes bytes);
    void queue_control(Opcode opcode, const std::uint8_t* payload, std::size_t size);
    void after_queue_change();
    void drop_unsent();
    std::size_t gather(uv_buf_t* bufs, std::size_t& nframes, std::size_t ready,
                       std::uint8_t* header_copies = nullptr) const;
    std::size_t gather_plaintext(std::string_view* pieces, std::size_t& bytes, std::size_t& nframes,
                                 std::size_t ready) const;
    void flush_tls(FlushBudget& budget);
    std::size_t retire(std::size_t written);
    void after_drain();
    void below_high_water();
    void arm_timer();
    void on_tick();
    std::uint64_t now() const;

    // A message for a deflate session is queued uncompressed (deflate_pending,
    // no header yet) and compressed when it is about to be written: frames
    // that a slow consumer never takes are never compressed, and compression
    // happens in queue order, as the shared context requires.
    struct OutFrame {
        std::uint8_t header[10] = {};
        std::uint8_t header_size = 0;
        Opcode opcode = Opcode::text;
        bool deflate_pending = false;
        SharedBytes payload;
        std::size_t size() const { return header_size + payload->size(); }
    };

    Server& server_;
    std::uint64_t id_;
    State state_ = State::handshake;
    uv_tcp_t tcp_{};
    uv_timer_t timer_{};
    uv_write_t write_req_{};
    std::unique_ptr<uv_shutdown_t> shutdown_req_;  // made at the one shutdown, not kept by every idle connection
    int open_handles_ = 0;

    std::string remote_address_;
    std::string remote_ip_;
    std::string subprotocol_;
    std::string path_;
    std::unique_ptr<HttpRequestParser> http_;
    std::size_t body_remaining_ = 0;  // bytes of a plain request's body still to come
    std::unique_ptr<MessageHandler> handler_;

    FrameParser parser_;
    MessageAssembler assembler_;
    std::unique_ptr<Deflater> deflater_;
    std::size_t deflate_min_size_ = 0;
    std::size_t max_message_size_ = 0;

    // Write queue: frames_[0 .. in_flight_) are owned by a pending uv_write;
    // front_written_ bytes of frames_[0] have left already.
    FrameQueue<OutFrame> frames_;
    // The headers of the frames a pending uv_write carries. They live in the
    // queue's elements, which move when it grows, so a write that outlasts
    // the loop turn takes copies; allocated the first time a socket is full.
    std::unique_ptr<std::uint8_t[]> write_headers_;
    std::size_t in_flight_ = 0;
    std::size_t front_written_ = 0;
    std::size_t queued_bytes_ = 0;
    std::size_t deflate_pending_ = 0;  // frames of the queue still to be compressed
    bool flush_scheduled_ = false;
    bool reading_ = false;
    bool shutdown_sent_ = false;
    bool admitted_ = false;  // counted by the Server's per-address guard
    bool session_end_pending_ = false;  // request_session_end() ran; the Server will call finish_session()
    std::uint16_t session_end_code_ = 0;

    // wss:// only; set by Server before start(). The write queue holds
    // plaintext frames, encrypted at flush time; frames whose ciphertext is
    // in a pending uv_write stay queued and counted until it completes.
    std::unique_ptr<TlsSession> tls_;
    std::string tls_in_flight_;             // the ciphertext of the pending uv_write
    std::size_t tls_in_flight_plain_ = 0;   // queue bytes it carries
    bool tls_writing_ = false;
    bool tls_close_sent_ = false;

    // Timer bookkeeping, in uv_now() milliseconds.
    std::uint64_t accepted_at_ = 0;
    MessageRateLimit rate_limit_;
    std::uint64_t last_receive_ = 0;
    std::uint64_t last_message_ = 0;
    std::uint64_t ping_sent_ = 0;       // 0: no ping outstanding
    std::uint64_t above_high_water_since_ = 0;
    std::uint64_t closing_since_ = 0;
};

}  // namespace kreuz::ws
