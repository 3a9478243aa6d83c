#include <doctest/doctest.h>

#include <chrono>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

#include "wamp/cra.h"

namespace cra = kreuz::wamp::cra;
using nlohmann::json;

namespace {

// The challenge of the digest's section 8.4, byte for byte (AutobahnPython's
// json.dumps spacing): clients sign the text they receive, whatever its layout.
constexpr std::string_view digest_challenge =
    R"({"authid": "Qx3kTn8bLw0aZpRm", "authkey": "foobar", "timestamp": "2014-03-20T12:00:00.000Z", )"
    R"("sessionid": "v59mbCGDXZ7WTyxB", "extra": {}, "permissions": {"pubsub": [], "rpc": []}, )"
    R"("authextra": {"salt": "RANDOM SALT", "keylen": 32, "iterations": 1000}})";

std::chrono::system_clock::time_point utc(int year, unsigned month, unsigned day, int hour, int minute, int second,
                                          int millisecond) {
    using namespace std::chrono;
    return sys_days{std::chrono::year{year} / std::chrono::month{month} / std::chrono::day{day}} + hours{hour} +
           minutes{minute} + seconds{second} + milliseconds{millisecond};
}

}  // namespace

TEST_CASE("wamp-cra: the test vectors of digest section 8.4") {
    const std::string derived = cra::derive_key("secret", "RANDOM SALT", 1000, 32);
    CHECK(derived == "znWa4bxY1glpbQlZziHIlXA2shfF+HoCr9bnmZ5HPQg=");
    CHECK(cra::derive_key("secret", "RANDOM SALT", 10000, 32) == "tx5xMrgXtMuatZmkJZ0CuesYLSE6qCxmXDgv6q7rDIo=");
    // AutobahnJS's defaults are 10000 iterations and 32 bytes.
    CHECK(cra::derive_key("secret", "RANDOM SALT") == "tx5xMrgXtMuatZmkJZ0CuesYLSE6qCxmXDgv6q7rDIo=");
    // The Base64 text of the derived key is the HMAC key.
    CHECK(cra::sign(derived, digest_challenge) == "P85EuKew+hrtmzCOS+zSWaVSRGTwO/HM65gc1Y7YqDs=");
    CHECK(cra::sign("secret", digest_challenge) == "8OMpp8J8eIbcIPnVfIsv4rVmpSOwk5kcPjRjKnKAk8k=");
}

TEST_CASE("wamp-cra: HMAC-SHA256 and PBKDF2-HMAC-SHA256 against their RFC vectors") {
    // RFC 4231 test case 2, and the empty key and message.
    CHECK(cra::sign("Jefe", "what do ya want for nothing?") == "W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM=");
    CHECK(cra::sign("", "") == "thNnmggU2ex3L5XXeMNfxf8Wl8STcVZTxscSFEKSxa0=");
    // RFC 7914 section 11, first PBKDF2-HMAC-SHA256 vector (64 bytes).
    CHECK(cra::derive_key("passwd", "salt", 1, 64) ==
          "VawEblbjCJ/sFpHCJUS2BflBhSFt3gRl5oudV8INrLxJypzM8Xm2RZkWZLOdd+8xfHG4RbHjC9UJESBB06GXgw==");
    // keylen is in bytes: a shorter key is a prefix of the longer one.
    CHECK(cra::derive_key("secret", "RANDOM SALT", 1000, 20) == "znWa4bxY1glpbQlZziHIlXA2shc=");
    CHECK(cra::derive_key("secret", "RANDOM SALT", 1000, 1) == "zg==");
    CHECK_THROWS_AS(cra::derive_key("secret", "salt", 0, 32), std::invalid_argument);
    CHECK_THROWS_AS(cra::derive_key("secret", "salt", 1000, 0), std::invalid_argument);
}

TEST_CASE("wamp-cra: Base64 is standard, padded, without line breaks (RFC 4648 section 10)") {
    CHECK(cra::base64("") == "");
    CHECK(cra::base64("f") == "Zg==");
    CHECK(cra::base64("fo") == "Zm8=");
    CHECK(cra::base64("foo") == "Zm9v");
    CHECK(cra::base64("foob") == "Zm9vYg==");
    CHECK(cra::base64("fooba") == "Zm9vYmE=");
    CHECK(cra::base64("foobar") == "Zm9vYmFy");
    CHECK(cra::base64("\xfb\xff\xbf") == "+/+/");
    const std::string long_input(200, 'x');
    CHECK(cra::base64(long_input).find('\n') == std::string::npos);
    CHECK(cra::base64(long_input).size() == 268);
}

TEST_CASE("wamp-cra: signature comparison") {
    CHECK(cra::signatures_equal("P85EuKew+hrtmzCOS+zSWaVSRGTwO/HM65gc1Y7YqDs=",
                                "P85EuKew+hrtmzCOS+zSWaVSRGTwO/HM65gc1Y7YqDs="));
    CHECK_FALSE(cra::signatures_equal("P85EuKew+hrtmzCOS+zSWaVSRGTwO/HM65gc1Y7YqDs=",
                                      "P85EuKew+hrtmzCOS+zSWaVSRGTwO/HM65gc1Y7YqDt="));
    CHECK_FALSE(cra::signatures_equal("abc", "abcd"));
    CHECK_FALSE(cra::signatures_equal("abc", ""));
    CHECK(cra::signatures_equal("", ""));
}

TEST_CASE("wamp-cra: timestamps are UTC ISO 8601 with milliseconds and Z") {
    CHECK(cra::utc_timestamp(std::chrono::system_clock::time_point{}) == "1970-01-01T00:00:00.000Z");
    CHECK(cra::utc_timestamp(utc(2014, 3, 20, 12, 0, 0, 0)) == "2014-03-20T12:00:00.000Z");
    CHECK(cra::utc_timestamp(utc(2024, 2, 29, 23, 59, 59, 999)) == "2024-02-29T23:59:59.999Z");
    // Finer than milliseconds is cut, not rounded: the clock never runs ahead.
    CHECK(cra::utc_timestamp(utc(2031, 12, 31, 1, 2, 3, 45) + std::chrono::microseconds(999)) ==
          "2031-12-31T01:02:03.045Z");
}

TEST_CASE("wamp-cra: the permissions object of section 8.5") {
    cra::Permissions permissions;
    CHECK(cra::to_json(permissions) == json::parse(R"({"pubsub": [], "rpc": []})"));
    permissions.pubsub.push_back({"http://example.com/simple", true, true, false});
    permissions.pubsub.push_back({"http://example.com/foobar", false, false, true});
    permissions.rpc.push_back({"http://example.com/procedure#", true});
    permissions.rpc.push_back({"", false});
    CHECK(cra::to_json(permissions) == json::parse(R"({
        "pubsub": [{"uri": "http://example.com/simple", "prefix": true, "pub": true, "sub": false},
                   {"uri": "http://example.com/foobar", "prefix": false, "pub": false, "sub": true}],
        "rpc": [{"uri": "http://example.com/procedure#", "call": true}, {"uri": "", "call": false}]})"));
}

TEST_CASE("wamp-cra: the challenge of section 8.3") {
    cra::Challenge challenge;
    challenge.authid = "Qx3kTn8bLw0aZpRm";
    challenge.authkey = "foobar";
    challenge.timestamp = "2014-03-20T12:00:00.000Z";
    challenge.sessionid = "v59mbCGDXZ7WTyxB";
    challenge.permissions = cra::to_json({});

    SUBCASE("unsalted: no authextra, keys in the digest's order") {
        const std::string text = cra::serialize(challenge);
        CHECK(text == R"({"authid":"Qx3kTn8bLw0aZpRm","authkey":"foobar","timestamp":"2014-03-20T12:00:00.000Z",)"
                      R"("sessionid":"v59mbCGDXZ7WTyxB","extra":{},"permissions":{"pubsub":[],"rpc":[]}})");
    }
    SUBCASE("salted: the same object as the digest's vector, and its signatures") {
        challenge.authextra = cra::Salt{"RANDOM SALT", 32, 1000};
        const std::string text = cra::serialize(challenge);
        CHECK(json::parse(text) == json::parse(digest_challenge));
        CHECK(text.ends_with(R"(,"authextra":{"salt":"RANDOM SALT","keylen":32,"iterations":1000}})"));
        // What AutobahnJS's ab.launch does with it: derive from authextra, sign the text as received.
        const json authextra = json::parse(text)["authextra"];
        const std::string key = cra::derive_key("secret", authextra["salt"].get<std::string>(),
                                                authextra["iterations"].get<std::uint32_t>(),
                                                authextra["keylen"].get<std::uint32_t>());
        CHECK(key == "znWa4bxY1glpbQlZziHIlXA2shfF+HoCr9bnmZ5HPQg=");
        CHECK(cra::sign(key, text) == cra::sign("znWa4bxY1glpbQlZziHIlXA2shfF+HoCr9bnmZ5HPQg=", text));
        CHECK(cra::sign(key, text) != cra::sign("secret", text));
    }
    SUBCASE("the client's authExtra and the permissions are embedded as given") {
        challenge.extra = json::parse(R"({"app": "demo", "n": [1, 2.5, null], "nested": {"t": true}})");
        cra::Permissions permissions;
        permissions.pubsub.push_back({"", true, true, true});
        permissions.rpc.push_back({"", true});
        challenge.permissions = cra::to_json(permissions);
        const json parsed = json::parse(cra::serialize(challenge));
        CHECK(parsed["extra"] == challenge.extra);
        CHECK(parsed["permissions"] == challenge.permissions);
        CHECK_FALSE(parsed.contains("authextra"));
    }
    SUBCASE("strings that need escaping, and bytes that are not UTF-8, still give valid JSON") {
        challenge.authkey = "quote\" backslash\\ newline\n \xff";
        const json parsed = json::parse(cra::serialize(challenge));
        CHECK(parsed["authkey"] == "quote\" backslash\\ newline\n \xef\xbf\xbd");
    }
}
