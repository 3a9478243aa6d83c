#include "wamp/cra.h"

#include <cstdio>
#include <ctime>
#include <limits>
#include <stdexcept>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace kreuz::wamp::cra {

namespace {

using nlohmann::json;

[[noreturn]] void openssl_failed(const char* what) {
    char reason[256];
    ERR_error_string_n(ERR_get_error(), reason, sizeof reason);
    throw std::runtime_error(std::string(what) + " failed: " + reason);
}

// Strings in the challenge come from the client and the configuration; a bad
// byte must not make the router throw while answering authreq.
std::string dump(const json& value) { return value.dump(-1, ' ', false, json::error_handler_t::replace); }

}  // namespace

std::string base64(std::string_view bytes) {
    std::string out(4 * ((bytes.size() + 2) / 3), '\0');
    // EVP_EncodeBlock takes an int length; challenges and keys are far smaller.
    const int written = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                        reinterpret_cast<const unsigned char*>(bytes.data()),
                                        static_cast<int>(bytes.size()));
    out.resize(static_cast<std::size_t>(written));
    return out;
}

std::string sign(std::string_view key, std::string_view challenge) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (!HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
              reinterpret_cast<const unsigned char*>(challenge.data()), challenge.size(), digest, &length)) {
        openssl_failed("HMAC-SHA256");
    }
    return base64(std::string_view(reinterpret_cast<const char*>(digest), length));
}

std::string derive_key(std::string_view secret, std::string_view salt, std::uint32_t iterations,
                       std::uint32_t keylen) {
    constexpr std::uint32_t int_max = std::numeric_limits<int>::max();
    if (iterations == 0 || keylen == 0 || iterations > int_max || keylen > int_max) {
        throw std::invalid_argument("PBKDF2 iterations and keylen must be between 1 and 2^31-1");
    }
    std::string key(keylen, '\0');
    if (PKCS5_PBKDF2_HMAC(secret.data(), static_cast<int>(secret.size()),
                          reinterpret_cast<const unsigned char*>(salt.data()), static_cast<int>(salt.size()),
                          static_cast<int>(iterations), EVP_sha256(), static_cast<int>(keylen),
                          reinterpret_cast<unsigned char*>(key.data())) != 1) {
        openssl_failed("PBKDF2-HMAC-SHA256");
    }
    return base64(key);
}

bool signatures_equal(std::string_view a, std::string_view b) {
    // The length of a Base64 HMAC-SHA256 is public; only the content is secret.
    return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string utc_timestamp(std::chrono::system_clock::time_point time) {
    const auto ms = std::chrono::floor<std::chrono::milliseconds>(time);
    const std::time_t seconds = std::chrono::system_clock::to_time_t(std::chrono::floor<std::chrono::seconds>(ms));
    const auto millis = (ms - std::chrono::floor<std::chrono::seconds>(ms)).count();
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    char text[64];  // wide enough for any int in every field, as -Wformat-truncation demands
    std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900, utc.tm_mon + 1,
                  utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, static_cast<int>(millis));
    return text;
}

json to_json(const Permissions& permissions) {
    json pubsub = json::array();
    for (const PubSubPermission& p : permissions.pubsub) {
        pubsub.push_back({{"uri", p.uri}, {"prefix", p.prefix}, {"pub", p.pub}, {"sub", p.sub}});
    }
    json rpc = json::array();
    for (const RpcPermission& p : permissions.rpc) rpc.push_back({{"uri", p.uri}, {"call", p.call}});
    return {{"pubsub", std::move(pubsub)}, {"rpc", std::move(rpc)}};
}

std::string serialize(const Challenge& challenge) {
    // Written key by key: nlohmann's object type sorts its keys, and the order
    // of the digest is the one people compare against when they read a capture.
    std::string out = "{\"authid\":" + dump(challenge.authid);
    out += ",\"authkey\":" + dump(challenge.authkey);
    out += ",\"timestamp\":" + dump(challenge.timestamp);
    out += ",\"sessionid\":" + dump(challenge.sessionid);
    out += ",\"extra\":" + dump(challenge.extra);
    out += ",\"permissions\":" + dump(challenge.permissions);
    if (challenge.authextra) {
        const Salt& salt = *challenge.authextra;
        out += ",\"authextra\":{\"salt\":" + dump(salt.salt) + ",\"keylen\":" + std::to_string(salt.keylen) +
               ",\"iterations\":" + std::to_string(salt.iterations) + "}";
    }
    return out + "}";
}

}  // namespace kreuz::wamp::cra
