#include "wamp/session_id.h"

#include <array>
#include <cstdint>
#include <stdexcept>
#include <string_view>

#include <openssl/err.h>
#include <openssl/rand.h>

namespace kreuz::wamp {

namespace {

// 64 symbols, so each takes exactly 6 random bits and none is more likely
// than another (no modulo bias).
constexpr std::string_view alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
static_assert(alphabet.size() == 64);
static_assert(session_id_length % 4 == 0, "ids are built from 3-byte groups of 4 symbols");

}  // namespace

std::string new_session_id() {
    std::array<unsigned char, session_id_length / 4 * 3> random{};
    if (RAND_bytes(random.data(), static_cast<int>(random.size())) != 1) {
        char reason[256];
        ERR_error_string_n(ERR_get_error(), reason, sizeof reason);
        throw std::runtime_error(std::string("RAND_bytes failed: ") + reason);
    }
    std::string id;
    id.reserve(session_id_length);
    for (std::size_t i = 0; i < random.size(); i += 3) {
        const std::uint32_t group = static_cast<std::uint32_t>(random[i]) << 16 |
                                    static_cast<std::uint32_t>(random[i + 1]) << 8 | random[i + 2];
        for (int shift = 18; shift >= 0; shift -= 6) id += alphabet[(group >> shift) & 0x3F];
    }
    return id;
}

}  // namespace kreuz::wamp
