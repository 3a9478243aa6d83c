#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "websocket/utf8.h"

using kreuz::ws::is_valid_utf8;
using kreuz::ws::Utf8Validator;

namespace {

std::vector<std::uint8_t> bytes(std::initializer_list<int> list) {
    std::vector<std::uint8_t> out;
    for (int b : list) out.push_back(static_cast<std::uint8_t>(b));
    return out;
}

// Offset of the first bad byte when fed whole, or -1 when valid so far.
long first_bad(const std::vector<std::uint8_t>& data) {
    Utf8Validator v;
    const std::size_t n = v.feed(data.data(), data.size());
    return n == data.size() ? -1 : static_cast<long>(n);
}

// The same, fed one byte at a time: the failure must come at the same byte.
long first_bad_bytewise(const std::vector<std::uint8_t>& data) {
    Utf8Validator v;
    for (std::size_t i = 0; i < data.size(); ++i) {
        if (v.feed(&data[i], 1) != 1) return static_cast<long>(i);
    }
    return -1;
}

}  // namespace

TEST_CASE("utf8: valid sequences, including the boundaries of RFC 3629's table") {
    const std::vector<std::vector<std::uint8_t>> valid = {
        {},
        bytes({'a', 'b', 'c'}),
        bytes({0x00}),
        bytes({0x7F}),
        bytes({0xC2, 0x80}),                      // U+0080, smallest 2-byte
        bytes({0xDF, 0xBF}),                      // U+07FF
        bytes({0xE0, 0xA0, 0x80}),                // U+0800, smallest 3-byte
        bytes({0xED, 0x9F, 0xBF}),                // U+D7FF, just below the surrogates
        bytes({0xEE, 0x80, 0x80}),                // U+E000, just above them
        bytes({0xEF, 0xBF, 0xBE}),                // U+FFFE, a noncharacter: valid
        bytes({0xEF, 0xBF, 0xBF}),                // U+FFFF
        bytes({0xF0, 0x90, 0x80, 0x80}),          // U+10000, smallest 4-byte
        bytes({0xF4, 0x8F, 0xBF, 0xBF}),          // U+10FFFF, the largest
        bytes({0xCE, 0xBA, 0xE1, 0xBD, 0xB9, 0xCF, 0x83, 0xCE, 0xBC, 0xCE, 0xB5}),  // "κόσμε"
    };
    for (const auto& v : valid) {
        CHECK(is_valid_utf8(v.data(), v.size()));
        CHECK(first_bad_bytewise(v) == -1);
    }
}

TEST_CASE("utf8: the exact byte where invalid input fails") {
    struct Case {
        std::vector<std::uint8_t> data;
        long bad;
    };
    const std::vector<Case> cases = {
        {bytes({0x80}), 0},                          // lone continuation byte
        {bytes({0xBF}), 0},
        {bytes({0xC0, 0x80}), 0},                    // overlong NUL: C0 can never lead
        {bytes({0xC1, 0xBF}), 0},                    // overlong U+007F
        {bytes({0xE0, 0x80, 0x80}), 1},              // overlong 3-byte
        {bytes({0xE0, 0x9F, 0xBF}), 1},              // overlong U+07FF
        {bytes({0xF0, 0x80, 0x80, 0x80}), 1},        // overlong 4-byte
        {bytes({0xF0, 0x8F, 0xBF, 0xBF}), 1},        // overlong U+FFFF
        {bytes({0xED, 0xA0, 0x80}), 1},              // U+D800, first high surrogate
        {bytes({0xED, 0xBF, 0xBF}), 1},              // U+DFFF, last low surrogate
        {bytes({0xF4, 0x90, 0x80, 0x80}), 1},        // U+110000
        {bytes({0xF5, 0x80, 0x80, 0x80}), 0},        // lead bytes above F4
        {bytes({0xFE}), 0},
        {bytes({0xFF}), 0},
        {bytes({'a', 'b', 0xC3, 0x41}), 3},          // continuation missing
        {bytes({0xE2, 0x82, 0x41}), 2},
        {bytes({0xF0, 0x9F, 0x98, 0x41}), 3},
        {bytes({0xCE, 0xBA, 0xE1, 0xBD, 0xB9, 0xCF, 0x83, 0xCE, 0xBC, 0xCE, 0xB5, 0xED, 0xA0, 0x80, 'e', 'd', 'i', 't', 'e', 'd'}), 12},
    };
    for (const auto& c : cases) {
        CAPTURE(c.bad);
        CHECK(first_bad(c.data) == c.bad);
        CHECK(first_bad_bytewise(c.data) == c.bad);
        CHECK_FALSE(is_valid_utf8(c.data.data(), c.data.size()));
    }
}

TEST_CASE("utf8: truncated sequences are valid so far but not at a boundary") {
    for (const auto& data : {bytes({0xC3}), bytes({0xE2, 0x82}), bytes({0xF0, 0x9F, 0x98}), bytes({'a', 0xF4, 0x8F})}) {
        Utf8Validator v;
        CHECK(v.feed(data.data(), data.size()) == data.size());
        CHECK_FALSE(v.at_boundary());
        CHECK_FALSE(is_valid_utf8(data.data(), data.size()));
    }
}

TEST_CASE("utf8: a code point split across pieces validates like the whole") {
    const auto euro = bytes({'x', 0xE2, 0x82, 0xAC, 'y', 0xF0, 0x9F, 0x98, 0x80});
    for (std::size_t cut = 0; cut <= euro.size(); ++cut) {
        Utf8Validator v;
        CHECK(v.feed(euro.data(), cut) == cut);
        CHECK(v.feed(euro.data() + cut, euro.size() - cut) == euro.size() - cut);
        CHECK(v.at_boundary());
    }
}

TEST_CASE("utf8: the ASCII fast path finds a bad byte at any position") {
    for (std::size_t pos = 0; pos < 40; ++pos) {
        std::vector<std::uint8_t> data(40, 'a');
        data[pos] = 0xFF;
        CAPTURE(pos);
        CHECK(first_bad(data) == static_cast<long>(pos));
    }
}
