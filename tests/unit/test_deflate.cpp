#include <doctest/doctest.h>

#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "websocket/deflate.h"

using kreuz::ws::Deflater;
using kreuz::ws::Inflater;

namespace {

constexpr std::size_t kWhole = std::numeric_limits<std::size_t>::max();
constexpr std::size_t kNoLimit = std::numeric_limits<std::size_t>::max();

std::string bytes(std::initializer_list<int> list) {
    std::string out;
    for (int b : list) out.push_back(static_cast<char>(b));
    return out;
}

std::string random_bytes(std::size_t n, unsigned seed) {
    std::mt19937 rng(seed);
    std::string out(n, '\0');
    for (char& c : out) c = static_cast<char>(rng() & 0xff);
    return out;
}

// A typical WAMP EVENT: short enough that even a 9-bit window reaches back
// over a whole copy of it.
const std::string kEvent =
    R"([8,"com.example.sensors.temperature",{"id":7231,"room":"lab-2","celsius":21.4,)"
    R"("humidity":0.43,"ts":"2024-05-01T12:00:00Z","unit":"C"}])";

std::string repeated_text() {
    std::string out;
    for (int i = 0; i < 300; ++i) out += "The quick brown fox jumps over the lazy dog " + std::to_string(i % 17) + ". ";
    return out;
}

std::vector<std::string> sample_messages() {
    const std::string text = repeated_text();
    const std::string noise = random_bytes(100 * 1000, 1);
    return {"", "x", text, noise, kEvent, kEvent, text, "", kEvent, "x", kEvent};
}

std::string compress(Deflater& deflater, std::string_view message) {
    std::string out;
    REQUIRE(deflater.compress(message, out));
    return out;
}

Inflater::Result inflate_message(Inflater& inflater, std::string_view payload, std::string& out,
                                 std::size_t chunk = kWhole, std::size_t limit = kNoLimit) {
    const auto* data = reinterpret_cast<const std::uint8_t*>(payload.data());
    for (std::size_t i = 0; i < payload.size(); i += chunk) {
        const auto result = inflater.feed(data + i, std::min(chunk, payload.size() - i), out, limit);
        if (result != Inflater::Result::ok) return result;
    }
    return inflater.finish(out, limit);
}

// A peer that agreed to server_max_window_bits=8 and inflates with exactly that
// window. zlib checks distances only against its window plus what the current
// call wrote, so handing it one output byte at a time makes the window the
// whole limit.
class StrictPeer {
public:
    explicit StrictPeer(int window_bits) { REQUIRE(inflateInit2(&stream_, -window_bits) == Z_OK); }
    ~StrictPeer() { inflateEnd(&stream_); }
    StrictPeer(const StrictPeer&) = delete;
    StrictPeer& operator=(const StrictPeer&) = delete;

    // Z_OK with the message in `out`, or zlib's error.
    int decode(std::string payload, std::string& out) {
        payload += bytes({0x00, 0x00, 0xff, 0xff});
        out.clear();
        stream_.next_in = reinterpret_cast<Bytef*>(payload.data());
        stream_.avail_in = static_cast<uInt>(payload.size());
        for (;;) {
            char byte = 0;
            stream_.next_out = reinterpret_cast<Bytef*>(&byte);
            stream_.avail_out = 1;
            const int rc = inflate(&stream_, Z_SYNC_FLUSH);
            if (stream_.avail_out == 0) out.push_back(byte);
            if (rc == Z_BUF_ERROR && stream_.avail_in == 0) return Z_OK;
            if (rc != Z_OK) return rc;
        }
    }

    void reset() { REQUIRE(inflateReset(&stream_) == Z_OK); }

private:
    z_stream stream_{};
};

// Copies of a 300-byte block with random gaps: the best matches lie 300 to 500
// bytes back, beyond an 8-bit window.
std::string far_repeats(unsigned seed) {
    std::mt19937 rng(seed);
    const std::string block = random_bytes(300, seed);
    std::string out;
    for (int i = 0; i < 40; ++i) {
        out += block;
        out += random_bytes(rng() % 200, seed + 1 + static_cast<unsigned>(i));
    }
    return out;
}

}  // namespace

TEST_CASE("deflate: round trips for every window size, context takeover setting and chunking") {
    const auto messages = sample_messages();
    for (int bits = 8; bits <= 15; ++bits) {
        for (bool deflate_reset : {false, true}) {
            Deflater deflater(bits, deflate_reset, 8);
            std::vector<std::string> payloads;
            for (const auto& message : messages) payloads.push_back(compress(deflater, message));

            // An inflater that keeps its window also decodes a peer that resets
            // its own; one that resets cannot follow a peer that keeps it.
            for (bool inflate_reset : {false, true}) {
                if (inflate_reset && !deflate_reset) continue;
                for (std::size_t chunk : {kWhole, std::size_t{1}, std::size_t{7}, std::size_t{1000}}) {
                    CAPTURE(bits);
                    CAPTURE(deflate_reset);
                    CAPTURE(inflate_reset);
                    CAPTURE(chunk);
                    Inflater inflater(inflate_reset);
                    for (std::size_t i = 0; i < messages.size(); ++i) {
                        CAPTURE(i);
                        std::string out;
                        REQUIRE(inflate_message(inflater, payloads[i], out, chunk) == Inflater::Result::ok);
                        REQUIRE(out.size() == messages[i].size());
                        REQUIRE((out == messages[i]));
                    }
                }
            }
        }
    }
}

TEST_CASE("deflate: compress appends to the caller's buffer") {
    Deflater deflater(15, false, 8);
    std::string out = "head";
    REQUIRE(deflater.compress(kEvent, out));
    REQUIRE(out.substr(0, 4) == "head");

    Inflater inflater(false);
    std::string message;
    REQUIRE(inflate_message(inflater, std::string_view(out).substr(4), message) == Inflater::Result::ok);
    CHECK(message == kEvent);
}

TEST_CASE("deflate: context takeover shrinks a repeated message, no_context_takeover does not") {
    for (int bits = 9; bits <= 15; ++bits) {
        CAPTURE(bits);
        Deflater keep(bits, false, 8);
        const std::string first = compress(keep, kEvent);
        const std::string second = compress(keep, kEvent);
        CHECK(second.size() * 4 < first.size());

        Deflater reset(bits, true, 8);
        const std::string a = compress(reset, kEvent);
        const std::string b = compress(reset, kEvent);
        CHECK(a.size() == b.size());
        CHECK(a == b);
    }
}

TEST_CASE("deflate: an empty message is a single 0x00 that inflates to nothing") {
    for (int bits : {8, 15}) {
        for (bool reset : {false, true}) {
            CAPTURE(bits);
            CAPTURE(reset);
            Deflater deflater(bits, reset, 8);
            Inflater inflater(reset);
            for (std::string_view message : {"", "abc", "", "", "abc"}) {
                const std::string payload = compress(deflater, message);
                if (message.empty()) CHECK(payload == bytes({0x00}));
                std::string out;
                REQUIRE(inflate_message(inflater, payload, out) == Inflater::Result::ok);
                CHECK(out == message);
            }
        }
    }
}

TEST_CASE("deflate: window 8 output inflates in a strict 8-bit window") {
    std::vector<std::string> messages;
    for (unsigned seed = 10; seed < 14; ++seed) messages.push_back(far_repeats(seed));

    // Without this the test below would prove nothing.
    {
        Deflater wide(15, true, 8);
        StrictPeer peer(8);
        std::string out;
        REQUIRE(peer.decode(compress(wide, messages[0]), out) == Z_DATA_ERROR);
    }

    for (bool reset : {false, true}) {
        CAPTURE(reset);
        Deflater deflater(8, reset, 8);
        StrictPeer peer(8);
        for (const auto& message : messages) {
            std::string out;
            REQUIRE(peer.decode(compress(deflater, message), out) == Z_OK);
            REQUIRE((out == message));
            if (reset) peer.reset();
        }
    }
}

TEST_CASE("inflate: payloads from RFC 7692 section 7.2.3, whole and byte by byte") {
    const std::string hello = bytes({0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00});
    const std::size_t chunks[] = {kWhole, 1};

    SUBCASE("7.2.3.1: a message compressed on its own") {
        for (std::size_t chunk : chunks) {
            Inflater inflater(true);
            std::string out;
            REQUIRE(inflate_message(inflater, hello, out, chunk) == Inflater::Result::ok);
            CHECK(out == "Hello");
        }
    }
    SUBCASE("7.2.3.2: a second message that refers to the shared window") {
        const std::string again = bytes({0xf2, 0x00, 0x11, 0x00, 0x00});
        for (std::size_t chunk : chunks) {
            Inflater keep(false);
            std::string first, second;
            REQUIRE(inflate_message(keep, hello, first, chunk) == Inflater::Result::ok);
            REQUIRE(inflate_message(keep, again, second, chunk) == Inflater::Result::ok);
            CHECK(first == "Hello");
            CHECK(second == "Hello");

            // Without the window the back-reference has nothing to point at.
            Inflater reset(true);
            first.clear();
            second.clear();
            REQUIRE(inflate_message(reset, hello, first, chunk) == Inflater::Result::ok);
            CHECK(inflate_message(reset, again, second, chunk) == Inflater::Result::error);
        }
    }
    SUBCASE("7.2.3.3: a block with no compression") {
        const std::string stored = bytes({0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00});
        for (std::size_t chunk : chunks) {
            Inflater inflater(false);
            std::string out;
            REQUIRE(inflate_message(inflater, stored, out, chunk) == Inflater::Result::ok);
            CHECK(out == "Hello");
        }
    }
    SUBCASE("7.2.3.4: a final block, with or without the padding byte, then more messages") {
        const std::string padded = bytes({0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00});
        const std::string unpadded = bytes({0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00});
        for (std::size_t chunk : chunks) {
            for (const std::string& payload : {padded, unpadded}) {
                Inflater inflater(false);
                for (int i = 0; i < 3; ++i) {
                    std::string first, second;
                    REQUIRE(inflate_message(inflater, payload, first, chunk) == Inflater::Result::ok);
                    REQUIRE(inflate_message(inflater, hello, second, chunk) == Inflater::Result::ok);
                    CHECK(first == "Hello");
                    CHECK(second == "Hello");
                }
            }
        }
    }
    SUBCASE("7.2.3.5: two blocks in one message") {
        const std::string two = bytes({0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00});
        for (std::size_t chunk : chunks) {
            Inflater inflater(false);
            std::string out;
            REQUIRE(inflate_message(inflater, two, out, chunk) == Inflater::Result::ok);
            CHECK(out == "Hello");
        }
    }
    SUBCASE("7.2.3.6: an empty message, and an empty payload taken as one") {
        for (std::size_t chunk : chunks) {
            Inflater inflater(false);
            for (const std::string& payload : {bytes({0x00}), std::string(), bytes({0x00})}) {
                std::string empty, after;
                REQUIRE(inflate_message(inflater, payload, empty, chunk) == Inflater::Result::ok);
                REQUIRE(inflate_message(inflater, hello, after, chunk) == Inflater::Result::ok);
                CHECK(empty.empty());
                CHECK(after == "Hello");
            }
        }
    }
}

TEST_CASE("inflate: the limit counts every byte and is exact") {
    const std::string message = repeated_text();
    Deflater deflater(15, true, 8);
    const std::string payload = compress(deflater, message);

    for (std::size_t chunk : {kWhole, std::size_t{7}}) {
        CAPTURE(chunk);
        Inflater inflater(true);
        std::string out;
        CHECK(inflate_message(inflater, payload, out, chunk, message.size()) == Inflater::Result::ok);
        CHECK(out == message);

        Inflater tight(true);
        out.clear();
        CHECK(inflate_message(tight, payload, out, chunk, message.size() - 1) == Inflater::Result::too_big);

        // Bytes already in the buffer, earlier fragments of the message, count too.
        Inflater prefixed(true);
        out = "ab";
        CHECK(inflate_message(prefixed, payload, out, chunk, message.size() + 1) == Inflater::Result::too_big);
    }
}

TEST_CASE("inflate: a deflate bomb stops at the limit without allocating its full size") {
    const std::string zeros(16u << 20, '\0');
    Deflater deflater(15, false, 8);
    const std::string payload = compress(deflater, zeros);
    CHECK(payload.size() < 32 * 1024);

    const std::size_t limit = 1u << 20;
    for (std::size_t chunk : {kWhole, std::size_t{1000}}) {
        CAPTURE(chunk);
        Inflater inflater(false);
        std::string out;
        CHECK(inflate_message(inflater, payload, out, chunk, limit) == Inflater::Result::too_big);
        CHECK(out.capacity() <= 2 * limit + 2);
    }
}

TEST_CASE("inflate: corrupt input is an error") {
    SUBCASE("a reserved block type") {
        Inflater inflater(false);
        std::string out;
        CHECK(inflate_message(inflater, bytes({0xff, 0xff, 0xff, 0xff}), out) == Inflater::Result::error);
    }
    SUBCASE("stored block lengths that do not match") {
        Inflater inflater(false);
        std::string out;
        CHECK(inflate_message(inflater, bytes({0x00, 0x05, 0x00, 0xfa, 0xfe, 0x48}), out) == Inflater::Result::error);
    }
    SUBCASE("garbage after a good message") {
        Inflater inflater(false);
        std::string out;
        REQUIRE(inflate_message(inflater, bytes({0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}), out) == Inflater::Result::ok);
        out.clear();
        CHECK(inflate_message(inflater, bytes({0xff, 0xff, 0xff, 0xff}), out, 1) == Inflater::Result::error);
    }
}
