// WAMP-CRA, the challenge-response authentication of WAMP v1 (digest section
// 8): the signature, the salted key derivation, and the challenge and
// permissions objects the router sends. Pure functions of their arguments:
// the caller supplies the time, the ids and the secrets.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace kreuz::wamp::cra {

// AutobahnJS's deriveKey defaults, used when a salted key names no others.
inline constexpr std::uint32_t default_iterations = 10000;
inline constexpr std::uint32_t default_keylen = 32;

// Standard Base64 (RFC 4648 section 4) with '=' padding and no line breaks.
std::string base64(std::string_view bytes);

// Base64(HMAC-SHA256(key, challenge)) over the exact challenge text the client
// received: signing a re-serialization would change the bytes.
std::string sign(std::string_view key, std::string_view challenge);

// Base64(PBKDF2-HMAC-SHA256(secret, salt, iterations, keylen bytes)). Clients
// sign with the Base64 text itself, so this is what sign() takes as the key
// of a salted user. iterations and keylen must be between 1 and 2^31-1
// (std::invalid_argument otherwise).
std::string derive_key(std::string_view secret, std::string_view salt, std::uint32_t iterations = default_iterations,
                       std::uint32_t keylen = default_keylen);

// String equality in a time that does not depend on where the strings differ,
// so the comparison leaks nothing about the expected signature.
bool signatures_equal(std::string_view a, std::string_view b);

// "2014-03-20T12:00:00.000Z": UTC, ISO 8601, milliseconds (AutobahnPython's utcnow()).
std::string utc_timestamp(std::chrono::system_clock::time_point time);

// The permissions object of section 8.5.
struct PubSubPermission {
    std::string uri;
    bool prefix = false;
    bool pub = false;
    bool sub = false;
};

struct RpcPermission {
    std::string uri;
    bool call = false;
};

struct Permissions {
    std::vector<PubSubPermission> pubsub;
    std::vector<RpcPermission> rpc;
};

// {"pubsub": [{"uri", "prefix", "pub", "sub"}...], "rpc": [{"uri", "call"}...]}
nlohmann::json to_json(const Permissions& permissions);

// The parameters of a salted key, sent to the client as the challenge's
// authextra so that it can derive the same key from its secret.
struct Salt {
    std::string salt;
    std::uint32_t keylen = default_keylen;
    std::uint32_t iterations = default_iterations;
};

// The challenge of section 8.3.
struct Challenge {
    std::string authid;     // fresh and random for every authreq
    std::string authkey;
    std::string timestamp;  // utc_timestamp()
    std::string sessionid;
    nlohmann::json extra = nlohmann::json::object();  // the client's authExtra
    nlohmann::json permissions;                       // to_json() of what auth grants
    std::optional<Salt> authextra;                    // only for salted keys
};

// Compact JSON with the keys in the order of section 8.3. This string is the
// CALLRESULT of authreq and the exact text both sides sign.
std::string serialize(const Challenge& challenge);

}  // namespace kreuz::wamp::cra
