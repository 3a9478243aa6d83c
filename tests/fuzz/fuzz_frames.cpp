// Client frames -> messages, as an open connection processes them: FrameParser
// fed the stream in the pieces the input chooses, with a sink that hands the
// data events to the connection's own MessageAssembler (UTF-8 validation of
// text, inflation of compressed messages, reassembly), checks Close frames
// with the connection's rule, and sends every message back compressed, as an
// echo endpoint with deflate would.
//
// Switches (fuzz_input.h):
//   0    permessage-deflate was agreed (RSV1 allowed)
//   1    no_context_takeover for both directions
//   2    small limits: 1000-byte messages, 4 fragments (instead of 1 MiB, 2^20)
//   3-4  window bits of the echo compressor: 15, 12, 9 or 8
//
// Besides sanitizer findings it checks the promises the connection relies on:
// no event after the stream stopped, no message past its size limit, no
// invalid UTF-8 in a text message, and the same messages whatever the cuts.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "fuzz_input.h"
#include "websocket/deflate.h"
#include "websocket/frame.h"
#include "websocket/message_assembler.h"
#include "websocket/utf8.h"

namespace {

using namespace kreuz::ws;
using kreuz::fuzz::check;

struct Settings {
    FrameLimits limits;
    bool no_context_takeover = false;
    int echo_window_bits = 15;
};

class ConnectionSink final : public FrameSink {
public:
    // `echo` is off for the reference run, which only has to give the same log.
    ConnectionSink(const Settings& settings, bool echo) : settings_(settings) {
        if (settings.limits.allow_rsv1) assembler_.enable_inflate(settings.no_context_takeover);
        if (echo) {
            deflater_ = std::make_unique<Deflater>(settings.echo_window_bits, settings.no_context_takeover, 8);
            peer_inflater_ = std::make_unique<Inflater>(settings.no_context_takeover);
        }
    }

    // What happened, in a form that does not depend on how the input was cut.
    const std::vector<std::string>& log() const { return log_; }
    bool stopped() const { return stopped_; }

    void on_message_begin(Opcode opcode, bool compressed) override {
        check(!stopped_ && !in_message_);
        check(opcode == Opcode::text || opcode == Opcode::binary);
        check(!compressed || settings_.limits.allow_rsv1);
        in_message_ = true;
        compressed_ = compressed;
        wire_bytes_ = 0;
        assembler_.begin(opcode, compressed);
    }

    bool on_message_data(const std::uint8_t* data, std::size_t size, bool last) override {
        check(!stopped_ && in_message_);
        wire_bytes_ += size;
        check(wire_bytes_ <= wire_limit());
        const MessageAssembler::Step step = assembler_.feed(data, size, last, settings_.limits.max_message_size);
        switch (step.status) {
        case MessageAssembler::Step::Status::more:
            check(!last);
            return true;
        case MessageAssembler::Step::Status::failed:
            check(step.code == close_code::invalid_payload || step.code == close_code::message_too_big);
            return fail();
        case MessageAssembler::Step::Status::message:
            check(last);
            break;
        }
        in_message_ = false;
        deliver(step.message);
        assembler_.delivered();
        return true;
    }

    bool on_control(Opcode opcode, const std::uint8_t* payload, std::size_t size) override {
        check(!stopped_);
        check(opcode == Opcode::ping || opcode == Opcode::pong || opcode == Opcode::close);
        check(size <= 125);
        log_.push_back("control " + std::to_string(static_cast<int>(opcode)) + " " +
                       std::string(reinterpret_cast<const char*>(payload), size));
        if (opcode != Opcode::close) return true;
        // A Close ends the parsing whatever its payload, valid or not.
        if (size == 1) return fail();
        if (size >= 2) {
            const auto code = static_cast<std::uint16_t>((payload[0] << 8) | payload[1]);
            if (!is_valid_close_code(code) || !is_valid_utf8(payload + 2, size - 2)) return fail();
        }
        stopped_ = true;
        return false;
    }

    void on_protocol_error(std::uint16_t code, const char* reason) override {
        check(!stopped_);
        check(code == close_code::protocol_error || code == close_code::message_too_big);
        check(reason != nullptr && reason[0] != '\0');
        stopped_ = true;
        log_.push_back("error " + std::to_string(code));
    }

private:
    // The parser's bound for the payload of one message on the wire; a
    // compressed one may be slightly larger than inflated.
    std::uint64_t wire_limit() const {
        const std::uint64_t limit = settings_.limits.max_message_size;
        return compressed_ ? limit + (limit >> 6) + 1024 : limit;
    }

    // Whether a piece failed on UTF-8, inflation or size can depend on the
    // cuts (an invalid byte may be seen before or after the output that is
    // too big), so the log only says that the connection failed here.
    bool fail() {
        stopped_ = true;
        log_.emplace_back("fail");
        return false;
    }

    void deliver(std::string_view message) {
        check(message.size() <= settings_.limits.max_message_size);
        if (assembler_.opcode() == Opcode::text) {
            check(is_valid_utf8(reinterpret_cast<const std::uint8_t*>(message.data()), message.size()));
        }
        log_.push_back("message " + std::to_string(static_cast<int>(assembler_.opcode())) + " " + std::string(message));
        if (deflater_) echo(message);
    }

    // The reply a peer receives must inflate to the message exactly.
    void echo(std::string_view message) {
        std::string compressed;
        check(deflater_->compress(message, compressed));
        std::string inflated;
        Inflater::Result r = peer_inflater_->feed(reinterpret_cast<const std::uint8_t*>(compressed.data()),
                                                  compressed.size(), inflated, message.size());
        if (r == Inflater::Result::ok) r = peer_inflater_->finish(inflated, message.size());
        check(r == Inflater::Result::ok && inflated == message);
    }

    const Settings& settings_;
    MessageAssembler assembler_;
    std::unique_ptr<Deflater> deflater_;
    std::unique_ptr<Inflater> peer_inflater_;
    bool stopped_ = false;
    bool in_message_ = false;
    bool compressed_ = false;
    std::uint64_t wire_bytes_ = 0;
    std::vector<std::string> log_;
};

std::vector<std::string> run(const Settings& settings, const std::uint8_t* stream,
                             const std::vector<std::size_t>& pieces, bool echo) {
    FrameParser parser(settings.limits);
    ConnectionSink sink(settings, echo);
    std::size_t offset = 0;
    for (std::size_t n : pieces) {
        // Each read in a buffer of its own size, so that ASan sees any access
        // past it; the parser unmasks it in place. new[] gives an empty read
        // a real address too, as a socket read buffer always has one.
        const std::unique_ptr<std::uint8_t[]> piece(new std::uint8_t[n]);
        std::copy(stream + offset, stream + offset + n, piece.get());
        offset += n;
        const bool stopped_before = parser.stopped();
        const bool more = parser.feed(piece.get(), n, sink);
        check(more == !parser.stopped());
        check(parser.stopped() == sink.stopped());
        if (stopped_before) check(!more);
    }
    return sink.log();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const kreuz::fuzz::FuzzInput input(data, size);
    Settings settings;
    settings.limits.allow_rsv1 = input.flag(0);
    settings.no_context_takeover = input.flag(1);
    if (input.flag(2)) {
        settings.limits.max_message_size = 1000;
        settings.limits.max_fragments = 4;
    } else {
        settings.limits.max_message_size = 1u << 20;
    }
    static constexpr int window_bits[] = {15, 12, 9, 8};
    settings.echo_window_bits = window_bits[(input.flags() >> 3) & 3];

    const std::vector<std::string> log = run(settings, input.stream(), input.pieces(), true);
    const std::vector<std::string> reference = run(settings, input.stream(), {input.stream_size()}, false);
    check(log == reference);
    return 0;
}
