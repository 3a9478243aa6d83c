// The input layout shared by the stream targets: the fuzzer chooses where a
// byte stream is cut into reads, and a few switches of the target.
//
//   byte 0:        bits 0-2: how many piece lengths follow (0-7)
//                  bits 3-7: switches, each target documents its own
//   next n bytes:  piece lengths, used in turn until the stream is used up
//   the rest:      the stream
//
// Cuts come from the input rather than from a random source so that a crash
// reproduces from its file alone.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace kreuz::fuzz {

class FuzzInput {
public:
    FuzzInput(const std::uint8_t* data, std::size_t size) {
        if (size == 0) return;
        flags_ = data[0] >> 3;
        const std::size_t count = std::min<std::size_t>(data[0] & 7, size - 1);
        lengths_.assign(data + 1, data + 1 + count);
        // Lengths that are all zero would never advance.
        if (std::all_of(lengths_.begin(), lengths_.end(), [](std::size_t n) { return n == 0; })) lengths_.clear();
        stream_ = data + 1 + count;
        stream_size_ = size - 1 - count;
    }

    // Switch i of bits 3-7 of byte 0, i in 0..4.
    bool flag(int i) const { return (flags_ >> i) & 1; }
    unsigned flags() const { return flags_; }

    const std::uint8_t* stream() const { return stream_; }
    std::size_t stream_size() const { return stream_size_; }

    // The sizes of the reads the stream arrives in; they add up to
    // stream_size(). A zero length becomes an empty read, which the parsers
    // must take without harm too.
    std::vector<std::size_t> pieces() const {
        std::vector<std::size_t> out;
        std::size_t left = stream_size_;
        for (std::size_t i = 0; left > 0; ++i) {
            const std::size_t n = lengths_.empty() ? left : std::min(lengths_[i % lengths_.size()], left);
            out.push_back(n);
            left -= n;
        }
        return out;
    }

private:
    unsigned flags_ = 0;
    std::vector<std::size_t> lengths_;
    const std::uint8_t* stream_ = nullptr;
    std::size_t stream_size_ = 0;
};

// Invariant checks stay active whatever NDEBUG says, and stop at once so that
// libFuzzer records the input.
inline void check(bool condition) {
    if (!condition) __builtin_trap();
}

}  // namespace kreuz::fuzz
