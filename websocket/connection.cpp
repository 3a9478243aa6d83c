#include "websocket/connection.h"

#include <algorithm>
#include <cstring>
#include <tuple>
#include <utility>

#include <spdlog/spdlog.h>

#include "websocket/server.h"

namespace kreuz::ws {

namespace {

// Frames handed to one write call; bounds the iovec array on the stack.
constexpr std::size_t max_batch_frames = 64;
// Plaintext encrypted per TLS write: large enough that a big message costs few
// system calls, small enough to bound the ciphertext held at once.
constexpr std::size_t tls_batch_bytes = 256 * 1024;
// A TLS output buffer that grew beyond this is released once it is empty, so
// one burst does not pin its memory to an otherwise idle connection.
constexpr std::size_t kept_tls_output = 64 * 1024;

// The peer's address as "ip" and "ip:port" ("[ip]:port" for IPv6).
std::pair<std::string, std::string> peer_name(const uv_tcp_t* tcp) {
    sockaddr_storage addr{};
    int len = sizeof addr;
    if (uv_tcp_getpeername(tcp, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return {"?", "?"};
    char host[INET6_ADDRSTRLEN] = {};
    std::string name;
    if (addr.ss_family == AF_INET6) {
        const auto* a = reinterpret_cast<const sockaddr_in6*>(&addr);
        uv_ip6_name(a, host, sizeof host);
        name.append("[").append(host).append("]:").append(std::to_string(ntohs(a->sin6_port)));
    } else {
        const auto* a = reinterpret_cast<const sockaddr_in*>(&addr);
        uv_ip4_name(a, host, sizeof host);
        name.append(host).append(":").append(std::to_string(ntohs(a->sin_port)));
    }
    return {host, name};
}

}  // namespace

Connection::Connection(Server& server, std::uint64_t id) : server_(server), id_(id) {
    uv_tcp_init(server_.loop(), &tcp_);
    uv_timer_init(server_.loop(), &timer_);
    tcp_.data = this;
    timer_.data = this;
    open_handles_ = 2;
}

Connection::~Connection() = default;

std::uint64_t Connection::now() const { return uv_now(server_.loop()); }

void Connection::start() {
    std::tie(remote_ip_, remote_address_) = peer_name(&tcp_);
    uv_tcp_nodelay(&tcp_, 1);
    accepted_at_ = last_receive_ = now();
    if (auto refusal = server_.admit(*this)) {
        refuse(refusal->first, refusal->second);
        return;
    }
    http_ = std::make_unique<HttpRequestParser>(server_.options().http);
    if (uv_read_start(reinterpret_cast<uv_stream_t*>(&tcp_), on_alloc, on_read) != 0) {
        close_socket();
        return;
    }
    reading_ = true;
    arm_timer();
    spdlog::debug("[conn {}] accepted from {}", id_, remote_address_);
}

// ---------------------------------------------------------------- reading

void Connection::on_alloc(uv_handle_t* handle, std::size_t, uv_buf_t* buf) {
    auto* self = static_cast<Connection*>(handle->data);
    buf->base = reinterpret_cast<char*>(self->server_.read_buffer());
    buf->len = Server::read_buffer_size;
}

void Connection::on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
    auto* self = static_cast<Connection*>(stream->data);
    if (nread > 0) {
        self->server_.stats_.bytes_received += static_cast<std::uint64_t>(nread);
        self->last_receive_ = self->now();
        self->ping_sent_ = 0;  // any byte from the peer proves it is alive
        if (self->tls_) {
            self->handle_tls_input(reinterpret_cast<std::uint8_t*>(buf->base), static_cast<std::size_t>(nread));
        } else {
            self->handle_input(reinterpret_cast<std::uint8_t*>(buf->base), static_cast<std::size_t>(nread));
        }
        return;
    }
    if (nread == 0) return;
    if (self->state_ == State::open || self->state_ == State::closing) {
        spdlog::debug("[conn {}] {} without closing handshake", self->id_,
                      nread == UV_EOF ? "peer closed TCP" : uv_strerror(static_cast<int>(nread)));
    }
    self->close_socket();
}

void Connection::handle_input(std::uint8_t* data, std::size_t size) {
    switch (state_) {
    case State::handshake:
        handle_handshake_bytes(data, size);
        break;
    case State::open:
    case State::closing:
        parser_.feed(data, size, *this);
        break;
    case State::draining:
    case State::closed:
        break;  // after the Close exchange input is only read to see the FIN
    }
}

// The ciphertext stays in the read buffer, where OpenSSL reads it from; the
// plaintext goes to the server's second buffer and from there, like a plain
// connection's input, to the HTTP head or frame parser.
void Connection::handle_tls_input(const std::uint8_t* data, std::size_t size) {
    const bool was_established = tls_->handshake_done();
    std::uint8_t* plaintext = server_.plaintext_buffer();
    std::size_t offset = 0;
    // After the Close exchange (draining) input is only read to see the FIN.
    while (state_ == State::handshake || state_ == State::open || state_ == State::closing) {
        const TlsDecrypted r = tls_->decrypt({data + offset, size - offset}, {plaintext, Server::read_buffer_size});
        offset += r.consumed;
        if (r.produced > 0) handle_input(plaintext, r.produced);
        if (r.status == TlsDecrypted::Status::failed) {
            fail_tls(r.error);
            return;
        }
        if (r.status == TlsDecrypted::Status::peer_closed) {
            if (state_ == State::handshake || state_ == State::open || state_ == State::closing) {
                spdlog::debug("[conn {}] peer sent TLS close_notify without closing handshake", id_);
                close_socket();
            }
            return;
        }
        if (r.produced < Server::read_buffer_size) break;  // the input is used up
    }
    if (!was_established && tls_->handshake_done()) {
        spdlog::debug("[conn {}] TLS established with {}: {}", id_, remote_address_, tls_->description());
    }
    // Handshake messages, session tickets and key updates are answered at once.
    if (state_ != State::closed && !tls_->output().empty()) server_.schedule_flush(this);
}

void Connection::fail_tls(std::string_view reason) {
    spdlog::info("[conn {}] TLS failure with {}: {}", id_, remote_address_, reason);
    // The alert OpenSSL wrote tells the peer why; it goes if the socket takes it now.
    std::string& alert = tls_->output();
    if (!alert.empty() && !tls_writing_) {
        uv_buf_t buf = uv_buf_init(alert.data(), static_cast<unsigned>(alert.size()));
        uv_try_write(reinterpret_cast<uv_stream_t*>(&tcp_), &buf, 1);
    }
    close_socket();
}

void Connection::handle_handshake_bytes(std::uint8_t* data, std::size_t size) {
    if (body_remaining_ > 0) {
        collect_body(data, size);
        return;
    }
    const std::size_t used = http_->feed({reinterpret_cast<const char*>(data), size});
    switch (http_->status()) {
    case HttpRequestParser::Status::incomplete:
        return;
    case HttpRequestParser::Status::error:
        send_final_response(http_error_response(http_->error_status(), http_->error_reason()),
                            http_->error_status(), http_->error_reason());
        return;
    case HttpRequestParser::Status::complete:
        break;
    }
    path_ = std::string(http_->request().path());
    const Endpoint* endpoint = server_.find_endpoint(path_);
    const auto upgrade = http_->request().header("Upgrade");
    const bool wants_websocket = upgrade && token_list_contains(*upgrade, "websocket");
    if (!endpoint && !wants_websocket && server_.http_handler()) {
        start_plain_request(data + used, size - used);
        return;
    }
    const auto http = std::move(http_);
    const HttpRequest& request = http->request();
    if (!endpoint) {
        send_final_response(http_error_response(404, "no WebSocket endpoint at this path"), 404,
                            "no WebSocket endpoint at this path");
        return;
    }
    HandshakeResult result = accept_handshake(request, endpoint->policy);
    if (result.status != 101) {
        send_final_response(std::move(result.response), result.status, result.reason);
        return;
    }
    queue_raw(std::make_shared<const std::string>(std::move(result.response)));
    subprotocol_ = std::move(result.subprotocol);
    max_message_size_ = endpoint->max_message_size ? endpoint->max_message_size : server_.options().max_message_size;
    FrameLimits limits;
    limits.max_message_size = max_message_size_;
    limits.max_fragments = server_.options().max_fragments;
    if (result.deflate) {
        const DeflateParams& p = *result.deflate;
        limits.allow_rsv1 = true;
        assembler_.enable_inflate(p.client_no_context_takeover);
        deflater_ = std::make_unique<Deflater>(p.server_max_window_bits, p.server_no_context_takeover,
                                               endpoint->policy.deflate.mem_level);
        deflate_min_size_ = endpoint->policy.deflate.min_size;
    }
    parser_.set_limits(limits);
    leave_handshake();
    state_ = State::open;
    last_message_ = now();
    rate_limit_.reset(server_.options().message_burst, last_message_);
    spdlog::debug("[conn {}] WebSocket open on {} from {} (subprotocol '{}', deflate {})", id_, path_,
                  remote_address_, subprotocol_, deflater_ ? "on" : "off");
    ++server_.stats_.websockets_opened;
    handler_ = endpoint->open(*this);
    if (!handler_) {
        close(close_code::internal_error, "no handler for this endpoint");
        return;
    }
    arm_timer();
    if (used < size) handle_input(data + used, size - used);
}

// A plain request is answered once its body is in. Bodies are framed by
// Content-Length only: the requests kreuz serves (publish bridge, health,
// metrics) come from HTTP clients that all send one, and refusing chunked
// framing keeps request smuggling out of reach. The handshake timeout bounds
// the time the body may take.
void Connection::start_plain_request(std::uint8_t* rest, std::size_t size) {
    const HttpRequest& request = http_->request();
    if (request.header("Transfer-Encoding")) {
        send_final_response(http_error_response(411, "request bodies need Content-Length"), 411,
                            "chunked request body");
        return;
    }
    std::size_t length = 0;
    if (const auto value = request.header("Content-Length")) {
        // Repeated fields arrive joined with ", " and are refused with the rest.
        const bool digits = !value->empty() && value->size() <= 18 &&
                            std::all_of(value->begin(), value->end(), [](char c) { return c >= '0' && c <= '9'; });
        if (!digits) {
            send_final_response(http_error_response(400, "invalid Content-Length"), 400, "invalid Content-Length");
            return;
        }
        length = std::stoull(*value);
    }
    if (length > server_.options().http.max_body_bytes) {
        send_final_response(http_error_response(413, "request body too large"), 413, "request body too large");
        return;
    }
    body_remaining_ = length;
    http_->request().body.reserve(length);
    if (length == 0) {
        answer_plain_request();
        return;
    }
    if (size > 0) collect_body(rest, size);
}

void Connection::collect_body(const std::uint8_t* data, std::size_t size) {
    const std::size_t take = std::min(size, body_remaining_);
    http_->request().body.append(reinterpret_cast<const char*>(data), take);
    body_remaining_ -= take;
    // Bytes past the body would be a pipelined request; the connection closes
    // after this answer, so they are not read.
    if (body_remaining_ == 0) answer_plain_request();
}

void Connection::answer_plain_request() {
    ++server_.stats_.http_requests;
    const auto http = std::move(http_);
    std::string response = server_.http_handler()(http->request(), *this);
    // A response to HEAD has no body whatever the handler wrote (RFC 9110
    // 9.3.2); its Content-Length still tells what GET would send.
    if (http->request().method == "HEAD") {
        if (const std::size_t end = response.find("\r\n\r\n"); end != std::string::npos) response.resize(end + 4);
    }
    send_final_response(std::move(response), 0, "plain HTTP request");
}

void Connection::refuse(int status, std::string_view reason) {
    ++server_.stats_.refused;
    spdlog::warn("[conn {}] refused {}: {}", id_, remote_address_, reason);
    state_ = State::draining;  // never counted as a handshake in flight
    if (tls_) {
        // An answer would first need a TLS handshake, the very work the guard
        // is there to spare; the client sees the connection close.
        close_socket();
        return;
    }
    closing_since_ = now();
    queue_raw(std::make_shared<const std::string>(http_error_response(status, reason)));
    reading_ = uv_read_start(reinterpret_cast<uv_stream_t*>(&tcp_), on_alloc, on_read) == 0;
    arm_timer();
}

void Connection::leave_handshake() {
    if (state_ == State::handshake) server_.handshake_finished();
}

void Connection::send_final_response(std::string response, int status, std::string_view reason) {
    if (status != 0) spdlog::info("[conn {}] handshake from {} rejected: {} {}", id_, remote_address_, status, reason);
    http_.reset();
    queue_raw(std::make_shared<const std::string>(std::move(response)));
    start_draining();
}

// ---------------------------------------------------------------- frames in

void Connection::on_message_begin(Opcode opcode, bool compressed) { assembler_.begin(opcode, compressed); }

bool Connection::on_message_data(const std::uint8_t* data, std::size_t size, bool last) {
    if (state_ != State::open) return true;  // closing: only the peer's Close matters now
    const MessageAssembler::Step step = assembler_.feed(data, size, last, max_message_size_);
    switch (step.status) {
    case MessageAssembler::Step::Status::more:
        return true;
    case MessageAssembler::Step::Status::failed:
        fail_connection(step.code, step.reason);
        return false;
    case MessageAssembler::Step::Status::message:
        break;
    }
    deliver(step.message);
    assembler_.delivered();
    return true;
}

void Connection::deliver(std::string_view payload) {
    last_message_ = now();
    const WebSocketOptions& o = server_.options();
    if (!rate_limit_.take(o.message_rate, o.message_burst, last_message_)) {
        spdlog::warn("[conn {}] {} exceeds {} messages/s, closing", id_, remote_address_, o.message_rate);
        fail_connection(close_code::policy_violation, "message rate limit exceeded");
        return;
    }
    if (handler_ && !session_end_pending_) handler_->on_message(*this, assembler_.opcode(), payload);
}

bool Connection::on_control(Opcode opcode, const std::uint8_t* payload, std::size_t size) {
    if (opcode == Opcode::ping) {
        if (state_ == State::open) queue_control(Opcode::pong, payload, size);
        return true;
    }
    if (opcode == Opcode::pong) return true;

    std::uint16_t code = close_code::no_status;
    if (size == 1) {
        fail_connection(close_code::protocol_error, "close frame with a 1-byte payload");
        return false;
    }
    if (size >= 2) {
        code = static_cast<std::uint16_t>((payload[0] << 8) | payload[1]);
        if (!is_valid_close_code(code)) {
            fail_connection(close_code::protocol_error, "invalid close code");
            return false;
        }
        if (!is_valid_utf8(payload + 2, size - 2)) {
            fail_connection(close_code::invalid_payload, "close reason is not valid UTF-8");
            return false;
        }
    }
    if (state_ == State::open) {
        spdlog::debug("[conn {}] peer sent Close {}", id_, code);
        // Echo the peer's code (RFC 6455 5.5.1); a Close without code gets one without code.
        queue_control(Opcode::close, payload, size >= 2 ? 2 : 0);
        request_session_end(code);
    }
    start_draining();
    return false;
}

void Connection::on_protocol_error(std::uint16_t code, const char* reason) { fail_connection(code, reason); }

// ---------------------------------------------------------------- closing

void Connection::fail_connection(std::uint16_t code, std::string_view reason) {
    if (state_ == State::open) {
        spdlog::info("[conn {}] failing connection from {}: {} {}", id_, remote_address_, code, reason);
        close(code, reason);
    }
    if (state_ == State::closing) start_draining();
}

void Connection::close(std::uint16_t code, std::string_view reason) {
    if (state_ != State::open) return;
    std::uint8_t payload[125];
    payload[0] = static_cast<std::uint8_t>(code >> 8);
    payload[1] = static_cast<std::uint8_t>(code);
    // The reason is for humans; cut it at a code point boundary if too long.
    std::size_t n = std::min<std::size_t>(reason.size(), sizeof payload - 2);
    while (n > 0 && n < reason.size() && (static_cast<std::uint8_t>(reason[n]) & 0xC0) == 0x80) --n;
    std::memcpy(payload + 2, reason.data(), n);
    queue_control(Opcode::close, payload, 2 + n);
    state_ = State::closing;
    closing_since_ = now();
    request_session_end(code);
    arm_timer();
}

void Connection::close_for_shutdown() {
    switch (state_) {
    case State::handshake:
        close_socket();
        break;
    case State::open:
        if (server_.options().shutdown_drop) {
            // What is queued still leaves, then the FIN: no Close frame, so the
            // peer sees an unclean close (1006) and a reconnecting client does.
            request_session_end(close_code::abnormal);
            start_draining();
        } else {
            close(close_code::going_away, "server shutting down");
        }
        break;
    default:
        break;
    }
}

// Deferred by the teardown rule (connection.h): this runs inside sends, reads
// and handler callbacks, where the handler may be on the stack or in a list
// that is being walked.
void Connection::request_session_end(std::uint16_t code) {
    if (!handler_ || session_end_pending_) return;
    session_end_pending_ = true;
    session_end_code_ = code;
    server_.schedule_session_end(this);
}

void Connection::finish_session() {
    if (!session_end_pending_) return;
    session_end_pending_ = false;
    auto handler = std::move(handler_);
    handler->on_close(*this, session_end_code_);
}

void Connection::start_draining() {
    if (state_ == State::draining || state_ == State::closed) return;
    leave_handshake();
    state_ = State::draining;
    if (closing_since_ == 0) closing_since_ = now();
    if (!reading_) {
        // Keep reading (and discarding) so the peer's FIN is seen.
        reading_ = uv_read_start(reinterpret_cast<uv_stream_t*>(&tcp_), on_alloc, on_read) == 0;
    }
    server_.schedule_flush(this);
    arm_timer();
}

void Connection::close_socket() {
    if (state_ == State::closed) return;
    leave_handshake();
    state_ = State::closed;
    request_session_end(close_code::abnormal);
    server_.unschedule_flush(this);
    uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), on_handle_closed);
    uv_close(reinterpret_cast<uv_handle_t*>(&timer_), on_handle_closed);
}

void Connection::on_handle_closed(uv_handle_t* handle) {
    auto* self = static_cast<Connection*>(handle->data);
    if (--self->open_handles_ == 0) self->server_.remove(self);
}

// ---------------------------------------------------------------- writing

void Connection::send(Opcode opcode, std::string_view payload) {
    send(opcode, std::make_shared<const std::string>(payload));
}

void Connection::send(Opcode opcode, SharedBytes payload) {
    if (state_ != State::open) return;
    const bool deflate = deflater_ && payload->size() >= deflate_min_size_;
    queue_frame(opcode, std::move(payload), deflate);
}

void Connection::queue_frame(Opcode opcode, SharedBytes payload, bool deflate_pending) {
    OutFrame frame;
    frame.opcode = opcode;
    frame.deflate_pending = deflate_pending;
    if (!deflate_pending) {
        frame.header_size =
            static_cast<std::uint8_t>(write_frame_header(frame.header, opcode, payload->size(), true, false));
    }
    frame.payload = std::move(payload);
    queued_bytes_ += frame.size();
    deflate_pending_ += deflate_pending ? 1 : 0;
    frames_.push_back(std::move(frame));
    after_queue_change();
}

// Compresses the frames that the next write may carry (the first
// max_batch_frames) and gives them their headers; nothing of a frame is
// written before that. Returns how many of them are ready: all of the window,
// or fewer when `budget` (bytes of input) ran out first.
std::size_t Connection::deflate_pending_frames(std::size_t& budget) {
    if (deflate_pending_ == 0) return std::min(frames_.size(), max_batch_frames);
    std::size_t ready = 0;
    for (auto it = frames_.begin(); it != frames_.end() && ready < max_batch_frames; ++it, ++ready) {
        OutFrame& f = *it;
        if (!f.deflate_pending) continue;
        if (budget == 0) break;
        budget -= std::min(budget, f.payload->size());
        auto compressed = std::make_shared<std::string>();
        const bool ok = deflater_->compress(*f.payload, *compressed);
        if (!ok) spdlog::error("[conn {}] deflate failed; sending uncompressed", id_);
        queued_bytes_ -= f.size();
        if (ok) f.payload = std::move(compressed);
        f.header_size = static_cast<std::uint8_t>(write_frame_header(f.header, f.opcode, f.payload->size(), true, ok));
        f.deflate_pending = false;
        --deflate_pending_;
        queued_bytes_ += f.size();
    }
    return ready;
}

// The frames the next write may carry, compressed; 0 when the turn's budget
// cannot cover them, and the connection then goes on in the next turn.
std::size_t Connection::ready_frames(FlushBudget& budget) {
    const std::size_t ready = deflate_pending_frames(budget.deflate_bytes);
    if (budget.write_bytes > 0 && ready > 0) return ready;
    server_.flush_later(this);
    return 0;
}

void Connection::queue_raw(SharedBytes bytes) {
    OutFrame frame;
    frame.header_size = 0;
    frame.payload = std::move(bytes);
    queued_bytes_ += frame.size();
    frames_.push_back(std::move(frame));
    after_queue_change();
}

void Connection::queue_control(Opcode opcode, const std::uint8_t* payload, std::size_t size) {
    queue_frame(opcode, std::make_shared<const std::string>(reinterpret_cast<const char*>(payload), size));
}

void Connection::after_queue_change() {
    server_.schedule_flush(this);
    const WebSocketOptions& o = server_.options();
    // A single frame always fits: the message size limit bounds it, and the
    // configuration keeps the queue limit at least that large.
    if (queued_bytes_ > o.write_queue_limit && frames_.size() > 1 && state_ == State::open) {
        spdlog::warn("[conn {}] slow consumer {}: {} bytes queued, over the limit of {}", id_, remote_address_,
                     queued_bytes_, o.write_queue_limit);
        ++server_.stats_.slow_consumers;
        drop_unsent();
        fail_connection(close_code::policy_violation, "slow consumer");
        return;
    }
    if (queued_bytes_ > o.write_high_water && above_high_water_since_ == 0) {
        above_high_water_since_ = now();
        // Stop taking requests from a peer that does not take our answers.
        if (reading_ && state_ == State::open) {
            uv_read_stop(reinterpret_cast<uv_stream_t*>(&tcp_));
            reading_ = false;
        }
        arm_timer();
    }
}

void Connection::drop_unsent() {
    // Frames owned by a pending write, and a partly written front frame, must stay.
    const std::size_t keep = std::max<std::size_t>(in_flight_, front_written_ > 0 ? 1 : 0);
    while (frames_.size() > keep) {
        queued_bytes_ -= frames_.back().size();
        deflate_pending_ -= frames_.back().deflate_pending ? 1 : 0;
        frames_.pop_back();
    }
}

// The first `ready` frames (at most max_batch_frames, all compressed).
// header_copies: room for max_batch_frames headers that the buffers point
// at instead of the queue's elements; nullptr when the write is synchronous.
std::size_t Connection::gather(uv_buf_t* bufs, std::size_t& nframes, std::size_t ready,
                               std::uint8_t* header_copies) const {
    std::size_t nbufs = 0;
    std::size_t skip = front_written_;
    nframes = 0;
    for (auto it = frames_.begin(); it != frames_.end() && nframes < ready; ++it, ++nframes) {
        const OutFrame& f = *it;
        if (skip < f.header_size) {
            const std::uint8_t* header = f.header;
            if (header_copies != nullptr) {
                std::uint8_t* copy = header_copies + nframes * sizeof f.header;
                std::memcpy(copy, f.header, f.header_size);
                header = copy;
            }
            bufs[nbufs++] = uv_buf_init(reinterpret_cast<char*>(const_cast<std::uint8_t*>(header)) + skip,
                                        static_cast<unsigned>(f.header_size - skip));
            skip = 0;
        } else {
            skip -= f.header_size;
        }
        if (skip < f.payload->size()) {
            bufs[nbufs++] = uv_buf_init(const_cast<char*>(f.payload->data()) + skip,
                                        static_cast<unsigned>(f.payload->size() - skip));
        }
        skip = 0;
    }
    return nbufs;
}

std::size_t Connection::retire(std::size_t written) {
    server_.stats_.bytes_sent += written;
    std::size_t finished = 0;
    while (written > 0) {
        const std::size_t rest = frames_.front().size() - front_written_;
        if (written < rest) {
            front_written_ += written;
            queued_bytes_ -= written;
            break;
        }
        written -= rest;
        queued_bytes_ -= rest;
        front_written_ = 0;
        frames_.pop_front();
        ++finished;
    }
    return finished;
}

void Connection::flush(FlushBudget& budget) {
    flush_scheduled_ = false;
    if (state_ == State::closed || in_flight_ > 0) return;
    if (tls_) {
        flush_tls(budget);
        return;
    }
    uv_buf_t bufs[2 * max_batch_frames];
    auto* stream = reinterpret_cast<uv_stream_t*>(&tcp_);
    while (!frames_.empty()) {
        const std::size_t ready = ready_frames(budget);
        if (ready == 0) return;
        std::size_t nframes = 0;
        std::size_t nbufs = gather(bufs, nframes, ready);
        int written = uv_try_write(stream, bufs, static_cast<unsigned>(nbufs));
        if (written == UV_EAGAIN) written = 0;
        if (written < 0) {
            spdlog::debug("[conn {}] write failed: {}", id_, uv_strerror(written));
            close_socket();
            return;
        }
        budget.wrote(static_cast<std::size_t>(written));
        if (retire(static_cast<std::size_t>(written)) == nframes) continue;
        // The socket buffer is full: libuv writes the rest of the batch when the
        // socket becomes writable; those frames stay put until on_write.
        if (!write_headers_) write_headers_ = std::make_unique<std::uint8_t[]>(max_batch_frames * sizeof(OutFrame::header));
        nbufs = gather(bufs, nframes, ready, write_headers_.get());
        write_req_.data = this;
        if (uv_write(&write_req_, stream, bufs, static_cast<unsigned>(nbufs), on_write) != 0) {
            close_socket();
            return;
        }
        in_flight_ = nframes;
        return;
    }
    after_drain();
}

// The queue from front_written_ on as pieces for TLS: at most max_batch_frames
// frames and tls_batch_bytes of plaintext, so the last frame may be cut.
// bytes: plaintext gathered; nframes: frames it touches.
std::size_t Connection::gather_plaintext(std::string_view* pieces, std::size_t& bytes, std::size_t& nframes,
                                         std::size_t ready) const {
    std::size_t npieces = 0;
    std::size_t skip = front_written_;
    bytes = 0;
    nframes = 0;
    for (auto it = frames_.begin(); it != frames_.end() && nframes < ready && bytes < tls_batch_bytes;
         ++it, ++nframes) {
        const std::string_view parts[2] = {{reinterpret_cast<const char*>(it->header), it->header_size}, *it->payload};
        for (std::string_view part : parts) {
            if (skip >= part.size()) {
                skip -= part.size();
                continue;
            }
            part = part.substr(skip, tls_batch_bytes - bytes);
            skip = 0;
            if (part.empty()) continue;
            pieces[npieces++] = part;
            bytes += part.size();
        }
    }
    return npieces;
}

// flush() of a TLS connection: encrypt a batch, uv_try_write the ciphertext,
// and go on while the socket takes everything. When it is full, the rest of
// the ciphertext goes to uv_write and the frames it carries stay queued (and
// counted) until on_tls_write. The WebSocket Close, or an HTTP error
// response, is followed by close_notify before the write side is shut down.
void Connection::flush_tls(FlushBudget& budget) {
    if (tls_writing_) return;
    auto* stream = reinterpret_cast<uv_stream_t*>(&tcp_);
    std::string& out = tls_->output();
    for (;;) {
        std::size_t bytes = 0;
        std::size_t nframes = 0;
        if (tls_->handshake_done()) {
            if (!frames_.empty()) {
                const std::size_t ready = ready_frames(budget);
                if (ready == 0) return;
                std::string_view pieces[2 * max_batch_frames];
                const std::size_t npieces = gather_plaintext(pieces, bytes, nframes, ready);
                auto r = tls_->encrypt({pieces, npieces});
                if (const auto* e = std::get_if<TlsError>(&r)) {
                    fail_tls(e->reason);
                    return;
                }
            } else if (state_ == State::draining && !tls_close_sent_) {
                tls_->close();
                tls_close_sent_ = true;
            }
        }
        if (out.empty()) break;
        uv_buf_t buf = uv_buf_init(out.data(), static_cast<unsigned>(out.size()));
        int written = uv_try_write(stream, &buf, 1);
        if (written == UV_EAGAIN) written = 0;
        if (written < 0) {
            spdlog::debug("[conn {}] write failed: {}", id_, uv_strerror(written));
            close_socket();
            return;
        }
        budget.wrote(static_cast<std::size_t>(written));
        if (static_cast<std::size_t>(written) == out.size()) {
            out.clear();
            retire(bytes);
            continue;
        }
        // The pending write gets a buffer of its own: reads may add handshake
        // or alert records to the session's output before it completes.
        tls_in_flight_ = std::move(out);
        out.clear();
        tls_in_flight_plain_ = bytes;
        in_flight_ = nframes;
        tls_writing_ = true;
        buf = uv_buf_init(tls_in_flight_.data() + written, static_cast<unsigned>(tls_in_flight_.size() - written));
        write_req_.data = this;
        if (uv_write(&write_req_, stream, &buf, 1, on_tls_write) != 0) close_socket();
        return;
    }
    if (out.capacity() > kept_tls_output) std::string().swap(out);
    after_drain();
}

void Connection::on_tls_write(uv_write_t* req, int status) {
    auto* self = static_cast<Connection*>(req->data);
    if (self->state_ == State::closed) return;
    if (status < 0) {
        spdlog::debug("[conn {}] write failed: {}", self->id_, uv_strerror(status));
        self->close_socket();
        return;
    }
    self->tls_writing_ = false;
    self->in_flight_ = 0;
    std::string().swap(self->tls_in_flight_);
    self->retire(self->tls_in_flight_plain_);
    self->tls_in_flight_plain_ = 0;
    // More frames, a close_notify, or records the reads produced meanwhile;
    // flush_tls() finds out, and drains when there is nothing.
    self->server_.schedule_flush(self);
    if (self->queued_bytes_ <= self->server_.options().write_high_water) self->below_high_water();
}

void Connection::on_write(uv_write_t* req, int status) {
    auto* self = static_cast<Connection*>(req->data);
    if (self->state_ == State::closed) return;
    if (status < 0) {
        spdlog::debug("[conn {}] write failed: {}", self->id_, uv_strerror(status));
        self->close_socket();
        return;
    }
    for (; self->in_flight_ > 0; --self->in_flight_) {
        self->queued_bytes_ -= self->frames_.front().size() - self->front_written_;
        self->front_written_ = 0;
        self->frames_.pop_front();
    }
    if (self->frames_.empty()) {
        self->after_drain();
    } else {
        self->server_.schedule_flush(self);
    }
    if (self->queued_bytes_ <= self->server_.options().write_high_water) self->below_high_water();
}

void Connection::below_high_water() {
    if (above_high_water_since_ == 0) return;
    above_high_water_since_ = 0;
    if (state_ == State::open && !reading_) {
        reading_ = uv_read_start(reinterpret_cast<uv_stream_t*>(&tcp_), on_alloc, on_read) == 0;
    }
}

void Connection::after_drain() {
    below_high_water();
    if (state_ != State::draining || shutdown_sent_) return;
    // Everything we will ever send has left: half-close, then wait for the peer's FIN.
    shutdown_sent_ = true;
    shutdown_req_ = std::make_unique<uv_shutdown_t>();
    shutdown_req_->data = this;
    if (uv_shutdown(shutdown_req_.get(), reinterpret_cast<uv_stream_t*>(&tcp_), on_shutdown) != 0) close_socket();
}

void Connection::on_shutdown(uv_shutdown_t* req, int status) {
    auto* self = static_cast<Connection*>(req->data);
    if (status < 0 && self->state_ != State::closed) self->close_socket();
}

// ---------------------------------------------------------------- timers

// One timer per connection serves every deadline: it is armed for the
// earliest one, and deadlines that activity pushed later are re-checked when
// it fires, so reads never touch the timer.
void Connection::arm_timer() {
    if (state_ == State::closed) return;
    const WebSocketOptions& o = server_.options();
    std::uint64_t due = 0;
    auto consider = [&due](std::uint64_t t) {
        if (due == 0 || t < due) due = t;
    };
    switch (state_) {
    case State::handshake:
        if (o.handshake_timeout_ms) consider(accepted_at_ + o.handshake_timeout_ms);
        break;
    case State::open:
        if (o.ping_interval_ms) {
            consider(ping_sent_ ? ping_sent_ + o.pong_timeout_ms : last_receive_ + o.ping_interval_ms);
        }
        if (o.idle_timeout_ms) consider(last_message_ + o.idle_timeout_ms);
        if (above_high_water_since_) consider(above_high_water_since_ + o.slow_consumer_timeout_ms);
        break;
    case State::closing:
    case State::draining:
        consider(closing_since_ + o.close_timeout_ms);
        break;
    case State::closed:
        break;
    }
    if (due == 0) {
        uv_timer_stop(&timer_);
        return;
    }
    const std::uint64_t t = now();
    uv_timer_start(&timer_, on_timer, due > t ? due - t : 0, 0);
}

void Connection::on_timer(uv_timer_t* timer) { static_cast<Connection*>(timer->data)->on_tick(); }

void Connection::on_tick() {
    const WebSocketOptions& o = server_.options();
    const std::uint64_t t = now();
    switch (state_) {
    case State::handshake:
        if (o.handshake_timeout_ms && t >= accepted_at_ + o.handshake_timeout_ms) {
            if (tls_ && !tls_->handshake_done()) {
                // No channel to send a 408 on.
                spdlog::info("[conn {}] TLS handshake with {} not finished within {} ms, closing", id_,
                             remote_address_, o.handshake_timeout_ms);
                close_socket();
                return;
            }
            send_final_response(http_error_response(408, "handshake timeout"), 408, "handshake timeout");
            return;
        }
        break;
    case State::open:
        if (above_high_water_since_ && t >= above_high_water_since_ + o.slow_consumer_timeout_ms) {
            spdlog::warn("[conn {}] slow consumer {}: {} bytes queued for {} ms", id_, remote_address_,
                         queued_bytes_, t - above_high_water_since_);
            ++server_.stats_.slow_consumers;
            drop_unsent();
            fail_connection(close_code::policy_violation, "slow consumer");
            return;
        }
        if (o.ping_interval_ms) {
            if (ping_sent_ && t >= ping_sent_ + o.pong_timeout_ms) {
                fail_connection(close_code::going_away, "pong timeout");
                return;
            }
            if (!ping_sent_ && t >= last_receive_ + o.ping_interval_ms) {
                queue_control(Opcode::ping, nullptr, 0);
                ping_sent_ = t;
            }
        }
        if (o.idle_timeout_ms && t >= last_message_ + o.idle_timeout_ms) {
            spdlog::info("[conn {}] idle for {} ms, closing", id_, t - last_message_);
            close(close_code::going_away, "idle timeout");
            return;
        }
        break;
    case State::closing:
    case State::draining:
        if (t >= closing_since_ + o.close_timeout_ms) {
            spdlog::debug("[conn {}] close timeout, dropping TCP", id_);
            close_socket();
            return;
        }
        break;
    case State::closed:
        return;
    }
    arm_timer();
}

}  // namespace kreuz::ws
