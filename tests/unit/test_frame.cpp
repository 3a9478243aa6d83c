#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "websocket/frame.h"

using namespace kreuz::ws;

namespace {

using Bytes = std::vector<std::uint8_t>;

Bytes frame(int b0, const std::string& payload, std::uint32_t mask = 0x37FA213D, bool masked = true) {
    Bytes out{static_cast<std::uint8_t>(b0)};
    const std::uint8_t m = masked ? 0x80 : 0;
    const std::size_t n = payload.size();
    if (n < 126) {
        out.push_back(static_cast<std::uint8_t>(m | n));
    } else if (n <= 0xFFFF) {
        out.push_back(m | 126);
        out.push_back(static_cast<std::uint8_t>(n >> 8));
        out.push_back(static_cast<std::uint8_t>(n));
    } else {
        out.push_back(m | 127);
        for (int i = 7; i >= 0; --i) out.push_back(static_cast<std::uint8_t>(std::uint64_t{n} >> (8 * i)));
    }
    const std::uint8_t key[4] = {static_cast<std::uint8_t>(mask >> 24), static_cast<std::uint8_t>(mask >> 16),
                                 static_cast<std::uint8_t>(mask >> 8), static_cast<std::uint8_t>(mask)};
    if (masked) out.insert(out.end(), key, key + 4);
    for (std::size_t i = 0; i < n; ++i) {
        out.push_back(static_cast<std::uint8_t>(payload[i]) ^ (masked ? key[i % 4] : 0));
    }
    return out;
}

Bytes cat(std::initializer_list<Bytes> parts) {
    Bytes out;
    for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
}

// Records events in a normal form: adjacent payload pieces are merged, so any
// split of the input must produce the very same log.
struct Recorder final : FrameSink {
    std::vector<std::string> log;
    bool payload_open = false;

    void on_message_begin(Opcode op, bool compressed) override {
        log.push_back("begin " + std::to_string(static_cast<int>(op)) + (compressed ? " z" : ""));
        payload_open = false;
    }
    bool on_message_data(const std::uint8_t* data, std::size_t size, bool last) override {
        if (!payload_open) log.emplace_back("data ");
        payload_open = true;
        log.back().append(reinterpret_cast<const char*>(data), size);
        if (last) {
            log.emplace_back("end");
            payload_open = false;
        }
        return true;
    }
    bool on_control(Opcode op, const std::uint8_t* payload, std::size_t size) override {
        log.push_back("control " + std::to_string(static_cast<int>(op)) + " " +
                      std::string(reinterpret_cast<const char*>(payload), size));
        payload_open = false;
        return op != Opcode::close;
    }
    void on_protocol_error(std::uint16_t code, const char* reason) override {
        log.push_back("error " + std::to_string(code) + " " + reason);
    }
};

std::vector<std::string> parse_in_pieces(const Bytes& input, const std::vector<std::size_t>& cuts,
                                         FrameLimits limits = {}) {
    Bytes copy = input;
    FrameParser parser(limits);
    Recorder rec;
    std::size_t from = 0;
    for (std::size_t cut : cuts) {
        if (!parser.feed(copy.data() + from, cut - from, rec)) return rec.log;
        from = cut;
    }
    parser.feed(copy.data() + from, copy.size() - from, rec);
    return rec.log;
}

std::vector<std::string> parse_whole(const Bytes& input, FrameLimits limits = {}) {
    return parse_in_pieces(input, {}, limits);
}

// Every split into two pieces, every byte alone, and a few three-way splits.
void check_every_split(const Bytes& input, FrameLimits limits = {}) {
    const auto expected = parse_whole(input, limits);
    const std::size_t step = input.size() > 4096 ? input.size() / 997 + 1 : 1;
    for (std::size_t cut = 0; cut <= input.size(); cut += step) {
        CAPTURE(cut);
        REQUIRE(parse_in_pieces(input, {cut}, limits) == expected);
    }
    std::vector<std::size_t> bytewise;
    for (std::size_t i = 1; i < input.size(); ++i) bytewise.push_back(i);
    CHECK(parse_in_pieces(input, bytewise, limits) == expected);
    for (std::size_t a = 0; a < input.size(); a += 7 * step) {
        for (std::size_t b = a; b <= input.size(); b += 13 * step) {
            REQUIRE(parse_in_pieces(input, {a, b}, limits) == expected);
        }
    }
}

}  // namespace

TEST_CASE("frame: RFC 6455 section 5.7 examples") {
    // A single-frame masked text message "Hello".
    const Bytes hello = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58};
    CHECK(parse_whole(hello) == std::vector<std::string>{"begin 1", "data Hello", "end"});
    // The fragmented "Hel" + "lo", and a masked ping "Hello".
    const Bytes fragmented = cat({frame(0x01, "Hel"), frame(0x80, "lo")});
    CHECK(parse_whole(fragmented) == std::vector<std::string>{"begin 1", "data Hello", "end"});
    CHECK(parse_whole(frame(0x89, "Hello")) == std::vector<std::string>{"control 9 Hello"});
}

TEST_CASE("frame: valid streams give identical events for every split") {
    const std::string s125(125, 'a'), s126(126, 'b'), s127(127, 'c'), s65535(65535, 'd'), s65536(65536, 'e');
    const std::vector<Bytes> corpus = {
        frame(0x81, ""),
        frame(0x81, "Hello"),
        frame(0x82, s125),
        frame(0x82, s126),
        frame(0x81, s127, 0x01020304),
        frame(0x82, s65535, 0xA1B2C3D4),
        frame(0x82, s65536, 0xDEADBEEF),
        cat({frame(0x01, "frag"), frame(0x89, "ping in between"), frame(0x00, "mented"), frame(0x80, "!")}),
        cat({frame(0x02, ""), frame(0x00, ""), frame(0x80, "")}),
        cat({frame(0x81, "one"), frame(0x82, "two"), frame(0x8A, "pong"), frame(0x81, s126)}),
        cat({frame(0x81, "before close"), frame(0x88, "\x03\xe8" "bye"), frame(0x81, "after close is ignored")}),
    };
    for (const auto& input : corpus) {
        CAPTURE(input.size());
        check_every_split(input);
    }
}

TEST_CASE("frame: the payload of a large frame arrives unmasked") {
    std::string big(70000, '\0');
    for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 31 + 7);
    const auto log = parse_whole(frame(0x82, big, 0x9A8B7C6D));
    REQUIRE(log.size() == 3);
    CHECK(log[1] == "data " + big);
}

TEST_CASE("frame: protocol violations fail with the right code, for every split") {
    struct Case {
        Bytes input;
        std::string error;
        FrameLimits limits;
    };
    FrameLimits deflate;
    deflate.allow_rsv1 = true;
    FrameLimits small;
    small.max_message_size = 10;
    Bytes huge = {0x82, 0xFF, 0x40, 0, 0, 0, 0, 0, 0, 0};  // claims 2^62 bytes
    Bytes msb = {0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 1};   // most significant bit set
    const std::vector<Case> cases = {
        {frame(0x81, "plain", 0, false), "error 1002 client frame not masked", {}},
        {frame(0xC1, "rsv1"), "error 1002 RSV1 set without permessage-deflate", {}},
        {frame(0xA1, "rsv2"), "error 1002 RSV2/RSV3 set without an extension that defines them", {}},
        {frame(0x91, "rsv3"), "error 1002 RSV2/RSV3 set without an extension that defines them", {}},
        {frame(0x83, "op3"), "error 1002 reserved opcode", {}},
        {frame(0x87, "op7"), "error 1002 reserved opcode", {}},
        {frame(0x8B, "opB"), "error 1002 reserved opcode", {}},
        {frame(0x8F, "opF"), "error 1002 reserved opcode", {}},
        {frame(0x09, "frag ping"), "error 1002 fragmented control frame", {}},
        {frame(0x89, std::string(126, 'p')), "error 1002 control frame payload longer than 125 bytes", {}},
        {frame(0x80, "orphan"), "error 1002 continuation frame without a message to continue", {}},
        {cat({frame(0x01, "open"), frame(0x81, "new")}), "error 1002 new data frame while a fragmented message is open", {}},
        {cat({frame(0x41, "z"), frame(0xC0, "z")}), "error 1002 RSV1 set on a continuation frame", deflate},
        {frame(0xC9, "p"), "error 1002 RSV1 set on a control frame", deflate},
        {huge, "error 1009 message too big", {}},
        {msb, "error 1002 64-bit payload length has its most significant bit set", {}},
        {frame(0x81, "eleven byte"), "error 1009 message too big", small},
        {cat({frame(0x01, "six by"), frame(0x80, "six by")}), "error 1009 message too big", small},
    };
    for (const auto& c : cases) {
        const auto log = parse_whole(c.input, c.limits);
        CAPTURE(c.error);
        REQUIRE(!log.empty());
        CHECK(log.back() == c.error);
        check_every_split(c.input, c.limits);
    }
}

TEST_CASE("frame: a bad header fails before its payload arrives") {
    // Only the first two bytes of an unmasked frame: the error is already known.
    Bytes two = {0x81, 0x05};
    FrameParser parser;
    Recorder rec;
    CHECK_FALSE(parser.feed(two.data(), two.size(), rec));
    CHECK(rec.log == std::vector<std::string>{"error 1002 client frame not masked"});
    // After an error nothing more is parsed.
    Bytes more = frame(0x81, "x");
    CHECK_FALSE(parser.feed(more.data(), more.size(), rec));
    CHECK(rec.log.size() == 1);
}

TEST_CASE("frame: compressed messages report RSV1 on their first frame") {
    FrameLimits deflate;
    deflate.allow_rsv1 = true;
    const auto input = cat({frame(0x41, "ab"), frame(0x80, "cd")});
    CHECK(parse_whole(input, deflate) == std::vector<std::string>{"begin 1 z", "data abcd", "end"});
    check_every_split(input, deflate);
}

TEST_CASE("frame: the fragment limit") {
    FrameLimits limits;
    limits.max_fragments = 3;
    const auto ok = cat({frame(0x01, "a"), frame(0x00, "b"), frame(0x80, "c")});
    CHECK(parse_whole(ok, limits).back() == "end");
    const auto too_many = cat({frame(0x01, "a"), frame(0x00, "b"), frame(0x00, "c"), frame(0x80, "d")});
    CHECK(parse_whole(too_many, limits).back() == "error 1009 too many fragments");
}

TEST_CASE("frame: server frame headers use the shortest length encoding") {
    std::uint8_t h[10];
    CHECK(write_frame_header(h, Opcode::text, 0) == 2);
    CHECK(h[0] == 0x81);
    CHECK(h[1] == 0);
    CHECK(write_frame_header(h, Opcode::binary, 125) == 2);
    CHECK(h[1] == 125);
    CHECK(write_frame_header(h, Opcode::binary, 126) == 4);
    CHECK(h[1] == 126);
    CHECK(h[2] == 0);
    CHECK(h[3] == 126);
    CHECK(write_frame_header(h, Opcode::binary, 65535) == 4);
    CHECK(write_frame_header(h, Opcode::binary, 65536) == 10);
    CHECK(h[1] == 127);
    CHECK(h[7] == 1);
    CHECK(write_frame_header(h, Opcode::text, 5, true, true) == 2);
    CHECK(h[0] == 0xC1);
}

TEST_CASE("frame: close codes allowed on the wire") {
    for (int c : {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999}) {
        CHECK(is_valid_close_code(static_cast<std::uint16_t>(c)));
    }
    for (int c : {0, 999, 1004, 1005, 1006, 1012, 1013, 1014, 1015, 1016, 1100, 2000, 2999, 5000, 65535}) {
        CHECK_FALSE(is_valid_close_code(static_cast<std::uint16_t>(c)));
    }
}
