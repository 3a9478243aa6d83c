#include "websocket/deflate.h"

#include <algorithm>
#include <cstring>
#include <limits>

namespace kreuz::ws {

namespace {

// Z_SYNC_FLUSH ends every message with these bytes; the sender strips them and
// the receiver appends them again (RFC 7692 7.2.1, 7.2.2).
constexpr std::uint8_t kTail[4] = {0x00, 0x00, 0xff, 0xff};

// The zlib manual asks for more than six bytes of room on a sync flush;
// with less, deflate() may emit the flush marker twice.
constexpr std::size_t kMinDeflateRoom = 8;
// Enough for a typical message in one deflate() call without reserving the
// full deflateBound() of a large, compressible one.
constexpr std::size_t kMaxDeflateFirstStep = 16 * 1024;
// Inflated output doubles from here, so a bomb cannot make us reserve much
// more than the limit.
constexpr std::size_t kMinInflateStep = 16 * 1024;

// zlib counts in uInt; larger buffers are handed over in pieces.
uInt clamp_uint(std::size_t n) {
    return static_cast<uInt>(std::min<std::size_t>(n, std::numeric_limits<uInt>::max()));
}

Bytef* output(char* p) {
    return reinterpret_cast<Bytef*>(p);
}

// zlib never writes through next_in; the pointer lacks const only because
// ZLIB_CONST is not defined where zlib.h is first included.
Bytef* input(const void* p) {
    return static_cast<Bytef*>(const_cast<void*>(p));
}

}  // namespace

Deflater::Deflater(int window_bits, bool no_context_takeover, int mem_level)
    : no_context_takeover_(no_context_takeover), window_bits_(window_bits), mem_level_(mem_level) {}

Deflater::~Deflater() {
    if (ready_) deflateEnd(&stream_);
}

bool Deflater::compress(std::string_view message, std::string& out) {
    if (!ready_) {
        // zlib (since 1.2.9) refuses raw windowBits 8, and a 9-bit window
        // allows distances up to 512 bytes, farther than a peer that asked
        // for 8 bits must accept (zlib happens to stop at 250 but does not
        // promise to). Huffman-only output has no back-references at all, so
        // it is valid for every window, and RFC 7692 lets the server use any
        // window up to the agreed maximum.
        const bool huffman_only = window_bits_ == 8;
        if (deflateInit2(&stream_, Z_DEFAULT_COMPRESSION, Z_DEFLATED, huffman_only ? -9 : -window_bits_,
                         mem_level_, huffman_only ? Z_HUFFMAN_ONLY : Z_DEFAULT_STRATEGY) != Z_OK) {
            return false;
        }
        ready_ = true;
    }

    const std::size_t start = out.size();
    std::size_t written = start;
    const char* in = message.data();
    std::size_t left = message.size();
    const std::size_t first_step =
        std::min<std::size_t>(deflateBound(&stream_, left) + kMinDeflateRoom, kMaxDeflateFirstStep);
    for (;;) {
        if (out.size() - written < kMinDeflateRoom) {
            out.resize(written + std::max(written - start, first_step));
        }
        const uInt in_now = clamp_uint(left);
        const uInt room = clamp_uint(out.size() - written);
        stream_.next_in = input(in);
        stream_.avail_in = in_now;
        stream_.next_out = output(out.data() + written);
        stream_.avail_out = room;
        const int rc = deflate(&stream_, in_now == left ? Z_SYNC_FLUSH : Z_NO_FLUSH);
        if (rc != Z_OK && rc != Z_BUF_ERROR) {
            out.resize(start);
            return false;
        }
        in += in_now - stream_.avail_in;
        left -= in_now - stream_.avail_in;
        written += room - stream_.avail_out;
        // The flush is complete once deflate() stops filling the buffer.
        if (left == 0 && stream_.avail_out != 0) break;
    }
    out.resize(written);

    if (written == start) {
        // zlib refuses a flush with no input since the previous one
        // (Z_BUF_ERROR), so an empty message after another yields nothing.
        // RFC 7692 7.2.3.6 gives its payload: a single 0x00, the header of an
        // empty stored block that the tail the peer appends completes.
        out.push_back('\0');
    } else if (written - start < sizeof kTail ||
               std::memcmp(out.data() + written - sizeof kTail, kTail, sizeof kTail) != 0) {
        out.resize(start);
        return false;
    } else {
        out.resize(written - sizeof kTail);
    }

    if (no_context_takeover_ && deflateReset(&stream_) != Z_OK) {
        out.resize(start);
        return false;
    }
    return true;
}

Inflater::Inflater(bool no_context_takeover) : no_context_takeover_(no_context_takeover) {}

Inflater::~Inflater() {
    if (ready_) inflateEnd(&stream_);
}

Inflater::Result Inflater::feed(const std::uint8_t* data, std::size_t size, std::string& out, std::size_t limit) {
    return run(data, size, out, limit);
}

Inflater::Result Inflater::finish(std::string& out, std::size_t limit) {
    // With nothing to close, the tail would only open a stored block that no
    // input finishes and garble the next message. That happens after a final
    // block (RFC 7692 7.2.3.4) and for an empty payload, which a sender may
    // use for an empty message instead of the 0x00 of RFC 7692 7.2.3.6.
    Result result = idle_ ? Result::ok : run(kTail, sizeof kTail, out, limit);
    idle_ = true;
    if (result == Result::ok && no_context_takeover_ && ready_ && inflateReset(&stream_) != Z_OK) {
        result = Result::error;
    }
    return result;
}

Inflater::Result Inflater::run(const std::uint8_t* data, std::size_t size, std::string& out, std::size_t limit) {
    if (!ready_) {
        if (inflateInit2(&stream_, -15) != Z_OK) return Result::error;
        ready_ = true;
    }
    if (size > 0) idle_ = false;

    Result result = Result::ok;
    std::size_t written = out.size();
    // A full buffer may hide more output that inflate() still holds back, so
    // it is called again even without new input.
    bool out_full = false;
    while (size > 0 || out_full) {
        if (written > limit) {
            result = Result::too_big;
            break;
        }
        if (out.size() == written) {
            // One byte past the limit is enough to know the message is too big.
            const std::size_t step = std::max(written, kMinInflateStep);
            out.resize(written + (limit - written < step ? limit - written + 1 : step));
        }
        const uInt in_now = clamp_uint(size);
        const uInt room = clamp_uint(out.size() - written);
        stream_.next_in = input(data);
        stream_.avail_in = in_now;
        stream_.next_out = output(out.data() + written);
        stream_.avail_out = room;
        const int rc = inflate(&stream_, Z_NO_FLUSH);
        data += in_now - stream_.avail_in;
        size -= in_now - stream_.avail_in;
        written += room - stream_.avail_out;
        out_full = stream_.avail_out == 0;

        if (rc == Z_STREAM_END) {
            // The peer ended its deflate stream with a final block (RFC 7692
            // 7.2.3.4). Whatever follows is a new stream, and a new stream
            // starts with an empty window.
            if (inflateReset(&stream_) != Z_OK) {
                result = Result::error;
                break;
            }
            idle_ = size == 0;
        } else if (rc == Z_BUF_ERROR && size == 0) {
            // No progress possible without more input: the next chunk brings it.
            break;
        } else if (rc != Z_OK) {
            result = Result::error;
            break;
        }
    }
    out.resize(written);
    if (result == Result::ok && written > limit) result = Result::too_big;
    return result;
}

}  // namespace kreuz::ws
