#include "bench/ws_client.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <utility>

namespace kreuz::bench {

namespace {

constexpr std::uint64_t max_frame_size = 64ULL << 20;
constexpr std::size_t max_head_size = 16 * 1024;
constexpr std::uint64_t close_reply_timeout_ns = 5'000'000'000ULL;
constexpr std::string_view websocket_guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

std::string base64(const unsigned char* data, std::size_t size) {
    std::string out(4 * ((size + 2) / 3) + 1, '\0');
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(size));
    out.resize(static_cast<std::size_t>(n));
    return out;
}

std::string accept_for(std::string_view key) {
    std::string input(key);
    input += websocket_guid;
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (EVP_Digest(input.data(), input.size(), digest, &length, EVP_sha1(), nullptr) != 1) return {};
    return base64(digest, length);
}

std::string lower(std::string_view text) {
    std::string out(text);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

std::string_view trim(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
    return text;
}

bool has_token(std::string_view list, std::string_view token) {
    while (!list.empty()) {
        const auto comma = list.find(',');
        if (lower(trim(list.substr(0, comma))) == token) return true;
        if (comma == std::string_view::npos) break;
        list.remove_prefix(comma + 1);
    }
    return false;
}

// XORs `size` bytes of `from` with the 4-byte mask into `to`, 8 bytes at a time.
void mask_copy(char* to, const char* from, std::size_t size, const unsigned char key[4]) {
    unsigned char key8[8];
    for (int i = 0; i < 8; ++i) key8[i] = key[i % 4];
    std::uint64_t mask;
    std::memcpy(&mask, key8, 8);
    std::size_t i = 0;
    for (; i + 8 <= size; i += 8) {
        std::uint64_t word;
        std::memcpy(&word, from + i, 8);
        word ^= mask;
        std::memcpy(to + i, &word, 8);
    }
    for (; i < size; ++i) to[i] = static_cast<char>(from[i] ^ static_cast<char>(key[i % 4]));
}

}  // namespace

// ---------------------------------------------------------------- Context

Context::Context(uv_loop_t* loop) : loop_(loop), read_buffer_(read_buffer_size) {
    uv_check_init(loop_, &check_);
    check_.data = this;
    uv_check_start(&check_, on_check);
    uv_unref(reinterpret_cast<uv_handle_t*>(&check_));
    uv_idle_init(loop_, &idle_);
    idle_.data = this;
}

void Context::close() {
    uv_close(reinterpret_cast<uv_handle_t*>(&check_), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&idle_), nullptr);
}

void Context::mark_dirty(WsClient& client) {
    if (client.dirty_) return;
    client.dirty_ = true;
    dirty_.push_back(&client);
    // An active idle handle makes the loop poll without blocking, so frames
    // queued from a timer callback leave in the same turn.
    if (!idle_active_) {
        idle_active_ = true;
        uv_idle_start(&idle_, on_idle);
    }
}

void Context::on_check(uv_check_t* handle) { static_cast<Context*>(handle->data)->flush_dirty(); }
void Context::on_idle(uv_idle_t* handle) { static_cast<Context*>(handle->data)->flush_dirty(); }

void Context::flush_dirty() {
    flushing_.swap(dirty_);
    for (WsClient* client : flushing_) {
        client->dirty_ = false;
        client->flush();
    }
    flushing_.clear();
    if (dirty_.empty() && idle_active_) {
        idle_active_ = false;
        uv_idle_stop(&idle_);
    }
}

// ---------------------------------------------------------------- WsClient

WsClient::WsClient(Context& context, Handler& handler, std::size_t index)
    : context_(context), handler_(handler), index_(index) {}

void WsClient::connect(const sockaddr* address, std::string host_header, std::string path, std::string subprotocol,
                       std::uint64_t timeout_ns) {
    if (state_ != State::idle) return;
    out_.clear();
    head_.clear();
    in_.clear();
    message_.clear();
    in_message_ = false;
    info_ = CloseInfo{};
    subprotocol_ = std::move(subprotocol);

    unsigned char nonce[16];
    if (RAND_bytes(nonce, sizeof nonce) != 1) {
        for (auto& byte : nonce) byte = static_cast<unsigned char>(context_.rng().next32());
    }
    key_ = base64(nonce, sizeof nonce);

    out_ = "GET " + path + " HTTP/1.1\r\nHost: " + host_header +
           "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + key_ +
           "\r\nSec-WebSocket-Version: 13\r\n";
    if (!subprotocol_.empty()) out_ += "Sec-WebSocket-Protocol: " + subprotocol_ + "\r\n";
    out_ += "\r\n";

    uv_tcp_init(context_.loop(), &tcp_);
    tcp_.data = this;
    connect_request_.data = this;
    state_ = State::connecting;
    deadline_ = now_ns() + timeout_ns;
    const int r = uv_tcp_connect(&connect_request_, &tcp_, address, on_connect);
    if (r < 0) fail(std::string("cannot connect: ") + uv_strerror(r));
}

void WsClient::on_connect(uv_connect_t* request, int status) {
    auto* self = static_cast<WsClient*>(request->data);
    if (status == UV_ECANCELED || self->state_ != State::connecting) return;
    if (status < 0) {
        self->fail(std::string("cannot connect: ") + uv_strerror(status));
        return;
    }
    self->state_ = State::handshake;
    uv_tcp_nodelay(&self->tcp_, 1);
    const int r = uv_read_start(reinterpret_cast<uv_stream_t*>(&self->tcp_), on_alloc, on_read);
    if (r < 0) {
        self->fail(std::string("read: ") + uv_strerror(r));
        return;
    }
    self->flush();
}

void WsClient::on_alloc(uv_handle_t* handle, std::size_t, uv_buf_t* buf) {
    auto* self = static_cast<WsClient*>(handle->data);
    *buf = uv_buf_init(self->context_.read_buffer(), static_cast<unsigned>(Context::read_buffer_size));
}

void WsClient::on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
    auto* self = static_cast<WsClient*>(stream->data);
    if (nread == 0) return;
    if (nread < 0) {
        if (nread != UV_EOF) {
            self->fail(std::string("read: ") + uv_strerror(static_cast<int>(nread)));
            return;
        }
        switch (self->state_) {
            case State::draining:
                self->info_.clean = true;
                self->close_handle();
                break;
            case State::closing:
                self->fail("the server ended the TCP connection without answering our Close");
                break;
            case State::handshake:
                self->fail("the server ended the TCP connection during the opening handshake");
                break;
            case State::open:
                self->fail("the server ended the TCP connection without a Close frame");
                break;
            default:
                break;
        }
        return;
    }
    const auto size = static_cast<std::size_t>(nread);
    if (self->state_ == State::handshake) {
        self->handle_head(buf->base, size);
    } else if (self->readable()) {
        self->handle_frames(buf->base, size);
    }
}

void WsClient::handle_head(const char* data, std::size_t size) {
    head_.append(data, size);
    const auto end = head_.find("\r\n\r\n");
    if (end == std::string::npos) {
        if (head_.size() > max_head_size) fail("the handshake response head is larger than 16 KiB");
        return;
    }
    std::string error;
    if (!check_response(std::string_view(head_).substr(0, end + 2), error)) {
        fail(std::move(error));
        return;
    }
    std::string rest = head_.substr(end + 4);
    head_.clear();
    head_.shrink_to_fit();
    state_ = State::open;
    deadline_ = 0;
    handler_.on_open(*this);
    if (!rest.empty() && readable()) handle_frames(rest.data(), rest.size());
}

bool WsClient::check_response(std::string_view head, std::string& error) const {
    const auto first_end = head.find("\r\n");
    const std::string_view status_line = head.substr(0, first_end);
    if (status_line.substr(0, 13) != "HTTP/1.1 101 " && status_line != "HTTP/1.1 101") {
        error = "the server refused the WebSocket handshake: " + std::string(status_line);
        return false;
    }
    std::string upgrade, connection, accept, protocol, extensions;
    std::string_view rest = head.substr(first_end + 2);
    while (!rest.empty()) {
        const auto eol = rest.find("\r\n");
        const std::string_view line = rest.substr(0, eol);
        rest.remove_prefix(eol == std::string_view::npos ? rest.size() : eol + 2);
        const auto colon = line.find(':');
        if (colon == std::string_view::npos) continue;
        const std::string name = lower(trim(line.substr(0, colon)));
        const std::string value(trim(line.substr(colon + 1)));
        if (name == "upgrade") upgrade = value;
        else if (name == "connection") connection = value;
        else if (name == "sec-websocket-accept") accept = value;
        else if (name == "sec-websocket-protocol") protocol = value;
        else if (name == "sec-websocket-extensions") extensions = value;
    }
    if (lower(upgrade) != "websocket") {
        error = "handshake response without Upgrade: websocket";
    } else if (!has_token(connection, "upgrade")) {
        error = "handshake response without Connection: Upgrade";
    } else if (accept != accept_for(key_)) {
        error = "handshake response with a wrong Sec-WebSocket-Accept";
    } else if (protocol != subprotocol_) {
        error = subprotocol_.empty() ? "the server chose subprotocol \"" + protocol + "\", which was not offered"
                                     : "the server did not accept subprotocol \"" + subprotocol_ + "\"";
    } else if (!extensions.empty()) {
        error = "the server chose extensions that were not offered: " + extensions;
    }
    return error.empty();
}

void WsClient::handle_frames(const char* data, std::size_t size) {
    if (state_ == State::draining) return;  // the peer's Close is in: the rest is ignored
    if (in_.empty()) {
        const std::size_t used = parse_frames(data, size);
        if (used < size && readable() && state_ != State::draining) in_.assign(data + used, size - used);
    } else {
        in_.append(data, size);
        const std::size_t used = parse_frames(in_.data(), in_.size());
        if (readable() && state_ != State::draining) {
            in_.erase(0, used);
        } else {
            in_.clear();
        }
    }
}

std::size_t WsClient::parse_frames(const char* p, std::size_t n) {
    std::size_t pos = 0;
    while ((state_ == State::open || state_ == State::closing) && n - pos >= 2) {
        const auto b0 = static_cast<unsigned char>(p[pos]);
        const auto b1 = static_cast<unsigned char>(p[pos + 1]);
        if (b1 & 0x80) {
            fail("the server sent a masked frame");
            return n;
        }
        if (b0 & 0x70) {
            fail("the server set RSV bits that no extension allows");
            return n;
        }
        std::size_t header = 2;
        std::uint64_t length = b1 & 0x7F;
        if (length == 126) {
            header = 4;
            if (n - pos < header) break;
            length = (std::uint64_t{static_cast<unsigned char>(p[pos + 2])} << 8) | static_cast<unsigned char>(p[pos + 3]);
        } else if (length == 127) {
            header = 10;
            if (n - pos < header) break;
            length = 0;
            for (int i = 0; i < 8; ++i) length = (length << 8) | static_cast<unsigned char>(p[pos + 2 + i]);
        }
        if (length > max_frame_size) {
            fail("the server sent a frame of " + std::to_string(length) + " bytes (limit 64 MiB)");
            return n;
        }
        if (n - pos - header < length) break;
        const std::string_view payload(p + pos + header, static_cast<std::size_t>(length));
        pos += header + static_cast<std::size_t>(length);
        if (!handle_frame(b0 & 0x0F, (b0 & 0x80) != 0, payload)) return n;
    }
    return pos;
}

bool WsClient::handle_frame(unsigned opcode, bool fin, std::string_view payload) {
    if (opcode >= 0x8 && (!fin || payload.size() > 125)) {
        fail("the server sent a fragmented or oversized control frame");
        return false;
    }
    switch (opcode) {
        case 0x0:
            if (!in_message_) {
                fail("the server sent a continuation frame outside a message");
                return false;
            }
            message_.append(payload);
            if (fin) {
                in_message_ = false;
                if (state_ == State::open) handler_.on_message(*this, message_, message_binary_);
                message_.clear();
            }
            return state_ == State::open || state_ == State::closing;
        case 0x1:
        case 0x2:
            if (in_message_) {
                fail("the server started a message inside a fragmented one");
                return false;
            }
            if (fin) {
                if (state_ == State::open) handler_.on_message(*this, payload, opcode == 0x2);
                return state_ == State::open || state_ == State::closing;
            }
            in_message_ = true;
            message_binary_ = opcode == 0x2;
            message_.assign(payload);
            return true;
        case 0x8: {
            if (payload.size() == 1) {
                fail("the server sent a Close frame with a 1-byte payload");
                return false;
            }
            if (payload.size() >= 2) {
                info_.code = static_cast<std::uint16_t>((static_cast<unsigned char>(payload[0]) << 8) |
                                                        static_cast<unsigned char>(payload[1]));
                info_.reason.assign(payload.substr(2));
            }
            if (state_ == State::open) {
                // The server closes: answer with its code, then wait for its FIN.
                info_.initiated_by_us = false;
                queue_frame(0x8, payload.substr(0, std::min<std::size_t>(payload.size(), 2)));
                deadline_ = now_ns() + close_reply_timeout_ns;
            }
            state_ = State::draining;
            return false;
        }
        case 0x9:
            if (state_ == State::open) queue_frame(0xA, payload);
            return true;
        case 0xA:
            return true;
        default:
            fail("the server sent a frame with unknown opcode " + std::to_string(opcode));
            return false;
    }
}

void WsClient::queue_frame(unsigned opcode, std::string_view payload) {
    if (state_ != State::open) return;
    const std::size_t n = payload.size();
    unsigned char header[14];
    std::size_t h = 0;
    header[h++] = static_cast<unsigned char>(0x80 | opcode);
    if (n < 126) {
        header[h++] = static_cast<unsigned char>(0x80 | n);
    } else if (n <= 0xFFFF) {
        header[h++] = 0x80 | 126;
        header[h++] = static_cast<unsigned char>(n >> 8);
        header[h++] = static_cast<unsigned char>(n);
    } else {
        header[h++] = 0x80 | 127;
        for (int i = 7; i >= 0; --i) header[h++] = static_cast<unsigned char>(static_cast<std::uint64_t>(n) >> (8 * i));
    }
    const std::uint32_t key = context_.rng().next32();
    std::memcpy(header + h, &key, 4);
    h += 4;
    const std::size_t at = out_.size();
    out_.resize(at + h + n);
    std::memcpy(out_.data() + at, header, h);
    mask_copy(out_.data() + at + h, payload.data(), n, header + h - 4);
    context_.mark_dirty(*this);
}

void WsClient::flush() {
    if (state_ == State::idle || state_ == State::closing_handle) {
        out_.clear();
        return;
    }
    if (state_ == State::connecting || writing_ || out_.empty()) return;
    auto* stream = reinterpret_cast<uv_stream_t*>(&tcp_);
    uv_buf_t buf = uv_buf_init(out_.data(), static_cast<unsigned>(out_.size()));
    const int written = uv_try_write(stream, &buf, 1);
    if (written >= 0 && static_cast<std::size_t>(written) == out_.size()) {
        out_.clear();
        return;
    }
    if (written < 0 && written != UV_EAGAIN) {
        fail(std::string("write: ") + uv_strerror(written));
        return;
    }
    const std::size_t done = written > 0 ? static_cast<std::size_t>(written) : 0;
    in_flight_.assign(out_, done);
    out_.clear();
    writing_ = true;
    write_request_.data = this;
    buf = uv_buf_init(in_flight_.data(), static_cast<unsigned>(in_flight_.size()));
    const int r = uv_write(&write_request_, stream, &buf, 1, on_write);
    if (r < 0) {
        writing_ = false;
        fail(std::string("write: ") + uv_strerror(r));
    }
}

void WsClient::on_write(uv_write_t* request, int status) {
    auto* self = static_cast<WsClient*>(request->data);
    self->writing_ = false;
    self->in_flight_.clear();
    if (status < 0) {
        if (status != UV_ECANCELED) self->fail(std::string("write: ") + uv_strerror(status));
        return;
    }
    if (!self->out_.empty()) self->context_.mark_dirty(*self);
}

void WsClient::close(std::uint16_t code, std::uint64_t timeout_ns) {
    switch (state_) {
        case State::open: {
            const char payload[2] = {static_cast<char>(code >> 8), static_cast<char>(code & 0xFF)};
            queue_frame(0x8, std::string_view(payload, 2));
            info_.initiated_by_us = true;
            state_ = State::closing;
            deadline_ = now_ns() + timeout_ns;
            break;
        }
        case State::connecting:
        case State::handshake:
            info_.initiated_by_us = true;
            close_handle();
            break;
        default:
            break;
    }
}

void WsClient::abort(std::string error) {
    if (state_ == State::idle || state_ == State::closing_handle) return;
    info_.initiated_by_us = true;
    if (!error.empty() && info_.error.empty()) info_.error = std::move(error);
    close_handle();
}

void WsClient::check_deadline(std::uint64_t now) {
    if (deadline_ == 0 || now < deadline_) return;
    switch (state_) {
        case State::connecting:
        case State::handshake:
            fail("the opening handshake timed out");
            break;
        case State::closing:
        case State::draining:
            fail("the closing handshake timed out");
            break;
        default:
            deadline_ = 0;
            break;
    }
}

void WsClient::fail(std::string error) {
    if (state_ == State::idle || state_ == State::closing_handle) return;
    if (info_.error.empty()) info_.error = std::move(error);
    close_handle();
}

void WsClient::close_handle() {
    state_ = State::closing_handle;
    deadline_ = 0;
    uv_read_stop(reinterpret_cast<uv_stream_t*>(&tcp_));
    uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), on_handle_closed);
}

void WsClient::on_handle_closed(uv_handle_t* handle) {
    auto* self = static_cast<WsClient*>(handle->data);
    self->state_ = State::idle;
    self->out_.clear();
    self->in_flight_.clear();
    self->writing_ = false;
    self->in_.clear();
    self->message_.clear();
    self->in_message_ = false;
    CloseInfo info = std::move(self->info_);
    self->info_ = CloseInfo{};
    self->handler_.on_closed(*self, info);
}

}  // namespace kreuz::bench
