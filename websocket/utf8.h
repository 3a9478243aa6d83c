// Incremental UTF-8 validation (RFC 3629) for text messages that arrive in
// pieces: fragments, partial reads, or the output of inflate.
#pragma once

#include <cstddef>
#include <cstdint>

namespace kreuz::ws {

class Utf8Validator {
public:
    // Validates the next piece of the byte stream. Returns `size` when every
    // byte so far can still be part of valid UTF-8, otherwise the offset of
    // the first byte that cannot (so a connection fails at that byte, not at
    // the end of the message).
    std::size_t feed(const std::uint8_t* data, std::size_t size);
    // True when the stream so far ends on a code point boundary: a message
    // that ends while this is false was truncated inside a sequence.
    bool at_boundary() const { return pending_ == 0; }
    void reset() { pending_ = 0; }

private:
    std::uint8_t pending_ = 0;     // continuation bytes still expected
    std::uint8_t next_low_ = 0;    // allowed range of the next continuation
    std::uint8_t next_high_ = 0;
};

// Whole-buffer convenience for close reasons and tests.
bool is_valid_utf8(const std::uint8_t* data, std::size_t size);

}  // namespace kreuz::ws
