// permessage-deflate (RFC 7692) message compression with zlib, one Deflater
// and one Inflater per connection.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <zlib.h>

namespace kreuz::ws {

class Deflater {
public:
    // window_bits 8..15 as agreed in server_max_window_bits.
    Deflater(int window_bits, bool no_context_takeover, int mem_level);
    ~Deflater();
    Deflater(const Deflater&) = delete;
    Deflater& operator=(const Deflater&) = delete;

    // Appends the compressed form of one whole message to `out`, without the
    // trailing 00 00 ff ff (RFC 7692 7.2.1). False on a zlib failure.
    bool compress(std::string_view message, std::string& out);

private:
    z_stream stream_{};
    bool ready_ = false;
    bool no_context_takeover_;
    int window_bits_;
    int mem_level_;
};

class Inflater {
public:
    enum class Result { ok, error, too_big };

    // Always inflates with a 32 KiB window, which decodes anything a peer
    // limited to a smaller window produces.
    explicit Inflater(bool no_context_takeover);
    ~Inflater();
    Inflater(const Inflater&) = delete;
    Inflater& operator=(const Inflater&) = delete;

    // Inflates one chunk of a compressed message and appends the output to
    // `out`. too_big as soon as out.size() would exceed `limit`, before the
    // memory for it is taken.
    Result feed(const std::uint8_t* data, std::size_t size, std::string& out, std::size_t limit);
    // Ends the message: inflates the 00 00 ff ff tail and resets the window
    // when context takeover is off.
    Result finish(std::string& out, std::size_t limit);

private:
    Result run(const std::uint8_t* data, std::size_t size, std::string& out, std::size_t limit);

    z_stream stream_{};
    bool ready_ = false;
    bool no_context_takeover_;
    // No input since the last message ended or the peer ended its deflate
    // stream with a final block: there is no open block for the tail to close.
    bool idle_ = true;
};

}  // namespace kreuz::ws
