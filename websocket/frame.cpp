#include "websocket/frame.h"

#include <cstring>

namespace kreuz::ws {

bool is_valid_close_code(std::uint16_t code) {
    if (code >= 1000 && code <= 1003) return true;
    if (code >= 1007 && code <= 1011) return true;
    return code >= 3000 && code <= 4999;
}

namespace {

bool is_control(Opcode op) { return (static_cast<std::uint8_t>(op) & 0x8) != 0; }

bool is_known(std::uint8_t op) { return op <= 0x2 || (op >= 0x8 && op <= 0xA); }

}  // namespace

bool FrameParser::fail(FrameSink& sink, std::uint16_t code, const char* reason) {
    state_ = State::stopped;
    sink.on_protocol_error(code, reason);
    return false;
}

std::size_t FrameParser::length_bytes() const {
    const std::uint8_t len7 = header_[1] & 0x7F;
    return len7 == 126 ? 2 : len7 == 127 ? 8 : 0;
}

// Runs as soon as the payload length is known, before the masking key, so a
// frame that claims too much is refused without waiting for anything more.
bool FrameParser::length_complete(FrameSink& sink) {
    fin_ = (header_[0] & 0x80) != 0;
    const bool rsv1 = (header_[0] & 0x40) != 0;
    opcode_ = static_cast<Opcode>(header_[0] & 0x0F);
    std::uint64_t length = header_[1] & 0x7F;
    if (length >= 126) {
        length = 0;
        for (std::size_t i = 0; i < length_bytes(); ++i) length = (length << 8) | header_[2 + i];
        if (length >> 63) return fail(sink, close_code::protocol_error, "64-bit payload length has its most significant bit set");
    }
    remaining_ = length;
    if (is_control(opcode_)) return true;
    if (opcode_ != Opcode::continuation) {
        message_compressed_ = rsv1;
        message_bytes_ = 0;
        message_fragments_ = 0;
    }
    // A compressed message may legitimately be a little larger on the wire
    // than inflated (stored blocks); its inflated size is checked after
    // inflation, this only keeps a stream of empty blocks finite.
    const std::uint64_t wire_limit = message_compressed_
        ? limits_.max_message_size + (limits_.max_message_size >> 6) + 1024
        : limits_.max_message_size;
    if (length > wire_limit - message_bytes_) return fail(sink, close_code::message_too_big, "message too big");
    message_bytes_ += length;
    if (++message_fragments_ > limits_.max_fragments) return fail(sink, close_code::message_too_big, "too many fragments");
    return true;
}

void FrameParser::header_complete(FrameSink& sink) {
    std::memcpy(mask_, header_ + 2 + length_bytes(), 4);
    mask_offset_ = 0;
    header_size_ = 0;
    state_ = State::payload;
    if (is_control(opcode_)) {
        control_size_ = 0;
    } else if (opcode_ != Opcode::continuation) {
        in_message_ = true;
        sink.on_message_begin(opcode_, message_compressed_);
    }
}

void FrameParser::unmask(std::uint8_t* data, std::size_t size) {
    std::size_t i = 0;
    // Bring the mask phase to zero, then XOR eight bytes at a time with the
    // mask repeated twice.
    while (i < size && mask_offset_ != 0) {
        data[i++] ^= mask_[mask_offset_];
        mask_offset_ = (mask_offset_ + 1) & 3;
    }
    if (size - i >= 8) {
        std::uint8_t pattern[8];
        std::memcpy(pattern, mask_, 4);
        std::memcpy(pattern + 4, mask_, 4);
        std::uint64_t word_mask;
        std::memcpy(&word_mask, pattern, 8);
        for (; i + 8 <= size; i += 8) {
            std::uint64_t word;
            std::memcpy(&word, data + i, 8);
            word ^= word_mask;
            std::memcpy(data + i, &word, 8);
        }
    }
    for (; i < size; ++i) {
        data[i] ^= mask_[mask_offset_];
        mask_offset_ = (mask_offset_ + 1) & 3;
    }
}

bool FrameParser::feed(std::uint8_t* data, std::size_t size, FrameSink& sink) {
    std::size_t i = 0;
    while (state_ != State::stopped) {
        if (state_ == State::header) {
            if (i == size) return true;
            header_[header_size_++] = data[i++];
            if (header_size_ == 2) {
                // Everything checkable from the first two bytes is checked
                // before waiting for the rest, so a bad frame fails at once.
                const std::uint8_t b0 = header_[0];
                const std::uint8_t b1 = header_[1];
                const std::uint8_t op = b0 & 0x0F;
                if (!is_known(op)) return fail(sink, close_code::protocol_error, "reserved opcode");
                const Opcode opcode = static_cast<Opcode>(op);
                if (b0 & 0x30) return fail(sink, close_code::protocol_error, "RSV2/RSV3 set without an extension that defines them");
                if (b0 & 0x40) {
                    if (!limits_.allow_rsv1) return fail(sink, close_code::protocol_error, "RSV1 set without permessage-deflate");
                    if (is_control(opcode)) return fail(sink, close_code::protocol_error, "RSV1 set on a control frame");
                    if (opcode == Opcode::continuation) return fail(sink, close_code::protocol_error, "RSV1 set on a continuation frame");
                }
                if (is_control(opcode)) {
                    if (!(b0 & 0x80)) return fail(sink, close_code::protocol_error, "fragmented control frame");
                    if ((b1 & 0x7F) > 125) return fail(sink, close_code::protocol_error, "control frame payload longer than 125 bytes");
                } else if (opcode == Opcode::continuation) {
                    if (!in_message_) return fail(sink, close_code::protocol_error, "continuation frame without a message to continue");
                } else if (in_message_) {
                    return fail(sink, close_code::protocol_error, "new data frame while a fragmented message is open");
                }
                if (!(b1 & 0x80)) return fail(sink, close_code::protocol_error, "client frame not masked");
            }
            if (header_size_ < 2) continue;
            if (header_size_ == 2 + length_bytes() && !length_complete(sink)) return false;
            if (header_size_ < 2 + length_bytes() + 4) continue;
            header_complete(sink);
            // Fall through to deliver empty payloads without waiting for input.
        }

        const std::size_t available = size - i;
        const std::size_t take = remaining_ < available ? static_cast<std::size_t>(remaining_) : available;
        if (is_control(opcode_)) {
            unmask(data + i, take);
            std::memcpy(control_ + control_size_, data + i, take);
            control_size_ = static_cast<std::uint8_t>(control_size_ + take);
            i += take;
            remaining_ -= take;
            if (remaining_ != 0) return true;
            state_ = State::header;
            if (!sink.on_control(opcode_, control_, control_size_)) {
                state_ = State::stopped;
                return false;
            }
            continue;
        }
        if (take == 0 && remaining_ != 0) return true;
        unmask(data + i, take);
        remaining_ -= take;
        const bool last = remaining_ == 0 && fin_;
        if (remaining_ == 0) state_ = State::header;
        if (last) in_message_ = false;
        // An empty non-final piece carries nothing; every other piece is reported.
        if (take != 0 || last) {
            if (!sink.on_message_data(data + i, take, last)) {
                state_ = State::stopped;
                return false;
            }
        }
        i += take;
    }
    return false;
}

std::size_t write_frame_header(std::uint8_t* out, Opcode opcode, std::uint64_t payload_size, bool fin,
                               bool rsv1) {
    out[0] = static_cast<std::uint8_t>((fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | static_cast<std::uint8_t>(opcode));
    if (payload_size < 126) {
        out[1] = static_cast<std::uint8_t>(payload_size);
        return 2;
    }
    if (payload_size <= 0xFFFF) {
        out[1] = 126;
        out[2] = static_cast<std::uint8_t>(payload_size >> 8);
        out[3] = static_cast<std::uint8_t>(payload_size);
        return 4;
    }
    out[1] = 127;
    for (int i = 0; i < 8; ++i) out[2 + i] = static_cast<std::uint8_t>(payload_size >> (56 - 8 * i));
    return 10;
}

}  // namespace kreuz::ws
