#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "websocket/deflate.h"
#include "websocket/message_assembler.h"

using kreuz::ws::Deflater;
using kreuz::ws::MessageAssembler;
using kreuz::ws::MessageRateLimit;
using kreuz::ws::Opcode;
using Status = MessageAssembler::Step::Status;

namespace {

const std::uint8_t* bytes(std::string_view s) { return reinterpret_cast<const std::uint8_t*>(s.data()); }

}  // namespace

TEST_CASE("message assembler: a message whole in one piece is handed on without a copy") {
    MessageAssembler a;
    const std::string text = "[2,\"id\",\"p\"]";
    a.begin(Opcode::text, false);
    const auto step = a.feed(bytes(text), text.size(), true, 1000);
    REQUIRE(step.status == Status::message);
    CHECK(step.message.data() == text.data());
    CHECK(step.message == text);
}

TEST_CASE("message assembler: fragments and split UTF-8 are joined") {
    MessageAssembler a;
    const std::string text = "gr\xc3\xbc\xc3\x9f dich";  // a two-byte sequence cut between pieces
    a.begin(Opcode::text, false);
    CHECK(a.feed(bytes(text), 3, false, 1000).status == Status::more);
    const auto step = a.feed(bytes(text) + 3, text.size() - 3, true, 1000);
    REQUIRE(step.status == Status::message);
    CHECK(step.message == text);
    a.delivered();
    a.begin(Opcode::binary, false);
    CHECK(a.feed(bytes("\xff"), 1, true, 1000).message == "\xff");  // binary is not UTF-8 checked
}

TEST_CASE("message assembler: invalid UTF-8 fails at the byte, a cut sequence at the end") {
    MessageAssembler a;
    a.begin(Opcode::text, false);
    auto step = a.feed(bytes("ok\xff"), 3, false, 1000);
    CHECK(step.status == Status::failed);
    CHECK(step.code == 1007);
    MessageAssembler b;
    b.begin(Opcode::text, false);
    step = b.feed(bytes("ok\xc3"), 3, true, 1000);
    CHECK(step.status == Status::failed);
    CHECK(std::string_view(step.reason) == "text message ends inside a UTF-8 sequence");
}

TEST_CASE("message assembler: compressed messages are inflated within the limit") {
    Deflater deflater(15, false, 8);
    std::string compressed;
    const std::string text(5000, 'a');
    REQUIRE(deflater.compress(text, compressed));
    MessageAssembler a;
    a.enable_inflate(false);
    a.begin(Opcode::text, true);
    auto step = a.feed(bytes(compressed), compressed.size(), true, 10000);
    REQUIRE(step.status == Status::message);
    CHECK(step.message == text);
    a.delivered();
    std::string again;
    REQUIRE(deflater.compress(text, again));
    a.begin(Opcode::text, true);
    step = a.feed(bytes(again), again.size(), true, 4999);  // one byte short
    CHECK(step.status == Status::failed);
    CHECK(step.code == 1009);
}

TEST_CASE("message rate limit: a bucket of `burst` refilled at `rate` per second") {
    MessageRateLimit limit;
    limit.reset(3, 1000);
    for (int i = 0; i < 3; ++i) CHECK(limit.take(10, 3, 1000));
    CHECK_FALSE(limit.take(10, 3, 1000));
    CHECK_FALSE(limit.take(10, 3, 1050));  // half a token
    CHECK(limit.take(10, 3, 1100));
    CHECK(limit.take(0, 3, 1100));  // rate 0: no limit
    CHECK(limit.take(10, 3, 10'000));
    CHECK(limit.take(10, 3, 10'000));
    CHECK(limit.take(10, 3, 10'000));
    CHECK_FALSE(limit.take(10, 3, 10'000));  // never more than the burst
}
