#include "websocket/message_assembler.h"

#include <algorithm>

namespace kreuz::ws {

namespace {
// A message buffer that grew beyond this is released after delivery, so one
// large message does not pin its memory to an otherwise idle connection.
constexpr std::size_t kept_message_capacity = 1u << 20;
}  // namespace

void MessageAssembler::enable_inflate(bool client_no_context_takeover) {
    inflater_ = std::make_unique<Inflater>(client_no_context_takeover);
}

void MessageAssembler::begin(Opcode opcode, bool compressed) {
    opcode_ = opcode;
    compressed_ = compressed;
    utf8_.reset();
}

bool MessageAssembler::valid_text(const std::uint8_t* data, std::size_t size) {
    return opcode_ != Opcode::text || utf8_.feed(data, size) == size;
}

MessageAssembler::Step MessageAssembler::feed(const std::uint8_t* data, std::size_t size, bool last,
                                              std::size_t limit) {
    if (compressed_) {
        const std::size_t before = message_.size();
        Inflater::Result r = inflater_->feed(data, size, message_, limit);
        if (r == Inflater::Result::ok && last) r = inflater_->finish(message_, limit);
        if (r == Inflater::Result::too_big) return fail(close_code::message_too_big, "message too big after inflation");
        if (r == Inflater::Result::error) return fail(close_code::invalid_payload, "invalid compressed data");
        if (!valid_text(reinterpret_cast<const std::uint8_t*>(message_.data()) + before, message_.size() - before)) {
            return fail(close_code::invalid_payload, "invalid UTF-8 in text message");
        }
    } else {
        if (!valid_text(data, size)) return fail(close_code::invalid_payload, "invalid UTF-8 in text message");
        if (last && message_.empty()) {
            if (opcode_ == Opcode::text && !utf8_.at_boundary()) {
                return fail(close_code::invalid_payload, "text message ends inside a UTF-8 sequence");
            }
            return {Step::Status::message, {reinterpret_cast<const char*>(data), size}};
        }
        message_.append(reinterpret_cast<const char*>(data), size);
    }
    if (!last) return {};
    if (opcode_ == Opcode::text && !utf8_.at_boundary()) {
        return fail(close_code::invalid_payload, "text message ends inside a UTF-8 sequence");
    }
    return {Step::Status::message, message_};
}

void MessageAssembler::delivered() {
    if (message_.capacity() > kept_message_capacity) {
        std::string().swap(message_);
    } else {
        message_.clear();
    }
}

bool MessageRateLimit::take(double per_second, std::size_t burst, std::uint64_t now_ms) {
    if (per_second <= 0) return true;
    tokens_ = std::min(static_cast<double>(burst), tokens_ + static_cast<double>(now_ms - at_) * per_second / 1000.0);
    at_ = now_ms;
    if (tokens_ < 1) return false;
    tokens_ -= 1;
    return true;
}

}  // namespace kreuz::ws
