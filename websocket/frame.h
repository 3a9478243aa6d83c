// RFC 6455 section 5 framing: an incremental parser for client frames and the
// header writer for server frames.
//
// The parser is a byte-driven state machine that keeps at most one frame
// header and one control payload (<= 125 bytes) of its own; data payloads are
// unmasked in place and handed on as they arrive, so a split of the input at
// any byte gives the same events (with payload pieces cut differently) and a
// 16 MiB frame costs no buffering here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace kreuz::ws {

enum class Opcode : std::uint8_t {
    continuation = 0x0,
    text = 0x1,
    binary = 0x2,
    close = 0x8,
    ping = 0x9,
    pong = 0xA,
};

namespace close_code {
inline constexpr std::uint16_t normal = 1000;
inline constexpr std::uint16_t going_away = 1001;
inline constexpr std::uint16_t protocol_error = 1002;
inline constexpr std::uint16_t unsupported_data = 1003;
inline constexpr std::uint16_t no_status = 1005;   // never sent, reported when a Close had no code
inline constexpr std::uint16_t abnormal = 1006;    // never sent, reported when TCP ended without Close
inline constexpr std::uint16_t invalid_payload = 1007;
inline constexpr std::uint16_t policy_violation = 1008;
inline constexpr std::uint16_t message_too_big = 1009;
inline constexpr std::uint16_t internal_error = 1011;
}  // namespace close_code

// Codes a peer may put in a Close frame (RFC 6455 7.4): the defined ones that
// are not reserved for local use, and the registered/private 3000-4999 range.
bool is_valid_close_code(std::uint16_t code);

class FrameSink {
public:
    // A text or binary message starts; `compressed` is its RSV1 bit.
    virtual void on_message_begin(Opcode opcode, bool compressed) = 0;
    // Unmasked payload of the current message. `last` is set on the piece that
    // completes the message (it may be empty). Return false to stop parsing.
    virtual bool on_message_data(const std::uint8_t* data, std::size_t size, bool last) = 0;
    // A complete ping, pong or close frame. Return false to stop parsing.
    virtual bool on_control(Opcode opcode, const std::uint8_t* payload, std::size_t size) = 0;
    // The stream violated the protocol; parsing has stopped for good.
    virtual void on_protocol_error(std::uint16_t code, const char* reason) = 0;

protected:
    ~FrameSink() = default;
};

struct FrameLimits {
    std::uint64_t max_message_size = 16u << 20;  // payload bytes on the wire per message
    std::size_t max_fragments = 1u << 20;
    bool allow_rsv1 = false;                     // permessage-deflate was negotiated
};

class FrameParser {
public:
    explicit FrameParser(FrameLimits limits = {}) : limits_(limits) {}

    void set_limits(const FrameLimits& limits) { limits_ = limits; }

    // Consumes `data`, unmasking payload bytes in place. Returns false once the
    // stream is finished (after a protocol error, or when the sink said stop);
    // from then on nothing more is parsed.
    bool feed(std::uint8_t* data, std::size_t size, FrameSink& sink);

    bool stopped() const { return state_ == State::stopped; }

private:
    enum class State : std::uint8_t { header, payload, stopped };

    // Extended-length bytes the header in header_ carries (0, 2 or 8).
    std::size_t length_bytes() const;
    // Decodes and checks the length; false after reporting an error.
    bool length_complete(FrameSink& sink);
    // The masking key is in: the payload starts.
    void header_complete(FrameSink& sink);
    bool fail(FrameSink& sink, std::uint16_t code, const char* reason);
    void unmask(std::uint8_t* data, std::size_t size);

    FrameLimits limits_;
    State state_ = State::header;

    std::uint8_t header_[14];
    std::uint8_t header_size_ = 0;

    // Current frame.
    Opcode opcode_ = Opcode::continuation;
    bool fin_ = false;
    std::uint64_t remaining_ = 0;
    std::uint8_t mask_[4] = {};
    std::uint8_t mask_offset_ = 0;

    // Current data message (possibly spanning several frames).
    bool in_message_ = false;
    bool message_compressed_ = false;
    std::uint64_t message_bytes_ = 0;
    std::size_t message_fragments_ = 0;

    std::uint8_t control_[125];
    std::uint8_t control_size_ = 0;
};

// Writes the header of an unmasked server frame into `out` (room for 10
// bytes) and returns its length.
std::size_t write_frame_header(std::uint8_t* out, Opcode opcode, std::uint64_t payload_size,
                               bool fin = true, bool rsv1 = false);

}  // namespace kreuz::ws
