// From the frame parser's data events to whole messages, as RFC 6455 and
// RFC 7692 define them: text checked as UTF-8 the moment its bytes arrive,
// compressed messages inflated, fragments and reads joined, everything
// bounded by the message size limit. No socket and no timer: the connection
// feeds it, and the frames fuzzer (tests/fuzz/fuzz_frames.cpp) feeds the very
// same code.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "websocket/deflate.h"
#include "websocket/frame.h"
#include "websocket/utf8.h"

namespace kreuz::ws {

class MessageAssembler {
public:
    struct Step {
        enum class Status : std::uint8_t { more, message, failed };
        Status status = Status::more;
        // Status::message: the whole message, valid until the next call.
        std::string_view message;
        // Status::failed: how to fail the connection.
        std::uint16_t code = 0;
        const char* reason = nullptr;
    };

    // permessage-deflate was agreed: compressed messages may come.
    void enable_inflate(bool client_no_context_takeover);
    bool inflate_enabled() const { return inflater_ != nullptr; }

    void begin(Opcode opcode, bool compressed);
    Opcode opcode() const { return opcode_; }

    // One piece of the current message's (unmasked) payload; `last` ends the
    // message. A message that arrives whole in one piece is handed on from
    // `data` itself, without a copy.
    Step feed(const std::uint8_t* data, std::size_t size, bool last, std::size_t limit);

    // The message of the last step has been used: its buffer is reset, and
    // released if one large message made it grow.
    void delivered();

private:
    Step fail(std::uint16_t code, const char* reason) const { return {Step::Status::failed, {}, code, reason}; }
    bool valid_text(const std::uint8_t* data, std::size_t size);

    Opcode opcode_ = Opcode::text;
    bool compressed_ = false;
    std::string message_;
    Utf8Validator utf8_;
    std::unique_ptr<Inflater> inflater_;
};

// Messages per second per connection as a token bucket refilled by the time
// that passed. The options are passed in, not kept: every idle connection
// has one of these.
class MessageRateLimit {
public:
    // A full bucket at `now_ms`.
    void reset(std::size_t burst, std::uint64_t now_ms) {
        tokens_ = static_cast<double>(burst);
        at_ = now_ms;
    }
    // False when the message at `now_ms` is one too many; a rate of 0 allows all.
    bool take(double per_second, std::size_t burst, std::uint64_t now_ms);

private:
    double tokens_ = 0;
    std::uint64_t at_ = 0;
};

}  // namespace kreuz::ws
