#include "websocket/utf8.h"

#include <cstring>

namespace kreuz::ws {

std::size_t Utf8Validator::feed(const std::uint8_t* data, std::size_t size) {
    std::size_t i = 0;
    while (i < size) {
        if (pending_ == 0) {
            // Text on the wire is mostly ASCII: skip it eight bytes at a time.
            while (i + 8 <= size) {
                std::uint64_t word;
                std::memcpy(&word, data + i, 8);
                if (word & 0x8080808080808080ull) break;
                i += 8;
            }
            if (i == size) break;
            const std::uint8_t b = data[i];
            if (b < 0x80) {
                ++i;
                continue;
            }
            // Lead bytes and the range of the first continuation byte
            // (RFC 3629 section 4): the narrowed ranges after E0, ED, F0 and
            // F4 exclude overlongs, surrogates and code points > U+10FFFF.
            if (b >= 0xC2 && b <= 0xDF) {
                pending_ = 1; next_low_ = 0x80; next_high_ = 0xBF;
            } else if (b == 0xE0) {
                pending_ = 2; next_low_ = 0xA0; next_high_ = 0xBF;
            } else if ((b >= 0xE1 && b <= 0xEC) || b == 0xEE || b == 0xEF) {
                pending_ = 2; next_low_ = 0x80; next_high_ = 0xBF;
            } else if (b == 0xED) {
                pending_ = 2; next_low_ = 0x80; next_high_ = 0x9F;
            } else if (b == 0xF0) {
                pending_ = 3; next_low_ = 0x90; next_high_ = 0xBF;
            } else if (b >= 0xF1 && b <= 0xF3) {
                pending_ = 3; next_low_ = 0x80; next_high_ = 0xBF;
            } else if (b == 0xF4) {
                pending_ = 3; next_low_ = 0x80; next_high_ = 0x8F;
            } else {
                return i;
            }
            ++i;
            continue;
        }
        const std::uint8_t b = data[i];
        if (b < next_low_ || b > next_high_) return i;
        --pending_;
        next_low_ = 0x80;
        next_high_ = 0xBF;
        ++i;
    }
    return size;
}

bool is_valid_utf8(const std::uint8_t* data, std::size_t size) {
    Utf8Validator v;
    return v.feed(data, size) == size && v.at_boundary();
}

}  // namespace kreuz::ws
