#include <doctest/doctest.h>

#include <string>
#include <string_view>

#include "websocket/http_request.h"

using kreuz::ws::HttpLimits;
using kreuz::ws::HttpRequestParser;
using Status = kreuz::ws::HttpRequestParser::Status;
using namespace std::string_view_literals;

namespace {

constexpr std::string_view upgrade_head =
    "GET /ws?realm=demo HTTP/1.1\r\n"
    "Host: example.org:8080\r\n"
    "Upgrade: websocket\r\n"
    "Connection: keep-alive, Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Sec-WebSocket-Protocol: wamp\r\n"
    "sec-websocket-protocol:   x-other \t\r\n"
    "Sec-WebSocket-Version: 13\r\n"
    "\r\n";

// Parses `head` in one feed and checks the whole of it was consumed when it
// completed.
HttpRequestParser parse(std::string_view head, HttpLimits limits = {}) {
    HttpRequestParser parser(limits);
    std::size_t n = parser.feed(head);
    if (parser.status() == Status::complete) CHECK(n == head.size());
    return parser;
}

void check_error(std::string_view head, int status, std::string_view reason) {
    CAPTURE(head);
    HttpRequestParser parser = parse(head);
    REQUIRE(parser.status() == Status::error);
    CHECK(parser.error_status() == status);
    CHECK(parser.error_reason() == reason);
}

}  // namespace

TEST_CASE("http request parser: a complete upgrade request") {
    HttpRequestParser parser = parse(upgrade_head);
    REQUIRE(parser.status() == Status::complete);
    const auto& req = parser.request();
    CHECK(req.method == "GET");
    CHECK(req.target == "/ws?realm=demo");
    CHECK(req.path() == "/ws");
    CHECK(req.version == "HTTP/1.1");
    REQUIRE(req.headers.size() == 7);
    CHECK(req.headers[0].name == "Host");
    CHECK(req.headers[0].value == "example.org:8080");
    CHECK(req.headers[5].name == "sec-websocket-protocol");
    CHECK(req.headers[5].value == "x-other");
}

TEST_CASE("http request parser: header lookup is case-insensitive and joins repeated fields") {
    HttpRequestParser parser = parse(upgrade_head);
    REQUIRE(parser.status() == Status::complete);
    const auto& req = parser.request();
    CHECK(req.header("host") == "example.org:8080");
    CHECK(req.header("UPGRADE") == "websocket");
    CHECK(req.header("Sec-WebSocket-Protocol") == "wamp, x-other");
    CHECK_FALSE(req.header("Origin").has_value());
}

TEST_CASE("http request parser: an empty field value is present, not absent") {
    HttpRequestParser parser = parse("GET / HTTP/1.1\r\nHost: a\r\nX-Empty:\r\n\r\n");
    REQUIRE(parser.status() == Status::complete);
    CHECK(parser.request().header("x-empty") == "");
}

TEST_CASE("http request parser: path without a query is the whole target") {
    HttpRequestParser parser = parse("GET /a/b HTTP/1.0\r\n\r\n");
    REQUIRE(parser.status() == Status::complete);
    CHECK(parser.request().path() == "/a/b");
    CHECK(parser.request().version == "HTTP/1.0");
    CHECK(parser.request().headers.empty());
}

TEST_CASE("http request parser: byte-by-byte feeding matches a single feed") {
    std::string stream = std::string(upgrade_head) + "\x81\x05hello";
    HttpRequestParser whole = parse(upgrade_head);

    HttpRequestParser split;
    std::size_t consumed = 0;
    while (split.status() == Status::incomplete) {
        REQUIRE(consumed < stream.size());
        std::size_t n = split.feed(std::string_view(stream).substr(consumed, 1));
        REQUIRE(n == 1);
        consumed += n;
    }
    REQUIRE(split.status() == Status::complete);
    CHECK(consumed == upgrade_head.size());
    CHECK(split.request().method == whole.request().method);
    CHECK(split.request().target == whole.request().target);
    CHECK(split.request().version == whole.request().version);
    REQUIRE(split.request().headers.size() == whole.request().headers.size());
    for (std::size_t i = 0; i < whole.request().headers.size(); ++i) {
        CHECK(split.request().headers[i].name == whole.request().headers[i].name);
        CHECK(split.request().headers[i].value == whole.request().headers[i].value);
    }
}

TEST_CASE("http request parser: bytes after the head are not consumed") {
    std::string stream = std::string(upgrade_head) + "\x81\x05hello";
    HttpRequestParser parser;
    CHECK(parser.feed(stream) == upgrade_head.size());
    CHECK(parser.status() == Status::complete);
    CHECK(parser.feed("more") == 0);
}

TEST_CASE("http request parser: the terminator may arrive split across feeds") {
    HttpRequestParser parser;
    CHECK(parser.feed("GET / HTTP/1.1\r\nHost: a\r\n\r") == 26);
    CHECK(parser.status() == Status::incomplete);
    CHECK(parser.feed("\nrest") == 1);
    CHECK(parser.status() == Status::complete);
}

TEST_CASE("http request parser: bytes after an error are not consumed") {
    HttpRequestParser parser;
    parser.feed("GET / HTTP/1.1\nHost: a\n\n");
    REQUIRE(parser.status() == Status::error);
    CHECK(parser.feed("GET / HTTP/1.1\r\n\r\n") == 0);
}

TEST_CASE("http request parser: head size limit (431)") {
    HttpLimits limits;
    limits.max_head_bytes = 64;

    SUBCASE("a head of exactly the limit is accepted") {
        std::string head = "GET / HTTP/1.1\r\nX: " + std::string(64 - 23, 'a') + "\r\n\r\n";
        REQUIRE(head.size() == 64);
        CHECK(parse(head, limits).status() == Status::complete);
    }
    SUBCASE("one byte more is refused") {
        std::string head = "GET / HTTP/1.1\r\nX: " + std::string(64 - 22, 'a') + "\r\n\r\n";
        HttpRequestParser parser = parse(head, limits);
        REQUIRE(parser.status() == Status::error);
        CHECK(parser.error_status() == 431);
        CHECK(parser.error_reason() == "request head too large");
    }
    SUBCASE("an endless head is refused without taking more than the limit") {
        HttpRequestParser parser(limits);
        CHECK(parser.feed(std::string(1000, 'a')) == 64);
        CHECK(parser.status() == Status::error);
        CHECK(parser.error_status() == 431);
    }
    SUBCASE("the limit holds across small feeds") {
        HttpRequestParser parser(limits);
        for (int i = 0; i < 63; ++i) REQUIRE(parser.feed("a") == 1);
        CHECK(parser.status() == Status::incomplete);
        CHECK(parser.feed("a") == 1);
        CHECK(parser.status() == Status::error);
        CHECK(parser.error_status() == 431);
    }
}

TEST_CASE("http request parser: header count limit (431)") {
    HttpLimits limits;
    limits.max_headers = 3;
    std::string head = "GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n";

    CHECK(parse(head + "\r\n", limits).status() == Status::complete);

    HttpRequestParser parser = parse(head + "D: 4\r\n\r\n", limits);
    REQUIRE(parser.status() == Status::error);
    CHECK(parser.error_status() == 431);
    CHECK(parser.error_reason() == "too many header fields");
}

TEST_CASE("http request parser: malformed request lines (400)") {
    const char* reason = "malformed request line";
    check_error("\r\n\r\n", 400, reason);
    check_error("GET\r\n\r\n", 400, reason);
    check_error("GET /\r\n\r\n", 400, reason);
    check_error("GET  / HTTP/1.1\r\n\r\n", 400, reason);
    check_error("GET /  HTTP/1.1\r\n\r\n", 400, reason);
    check_error(" GET / HTTP/1.1\r\n\r\n", 400, reason);
    check_error("GET / HTTP/1.1 \r\n\r\n", 400, reason);
    check_error("GET\t/ HTTP/1.1\r\n\r\n", 400, reason);
    check_error("GET / x HTTP/1.1\r\n\r\n", 400, reason);
    check_error("G@T / HTTP/1.1\r\n\r\n", 400, reason);
    check_error("GET /a\x01 HTTP/1.1\r\n\r\n", 400, reason);
    check_error("GET /a\x7f HTTP/1.1\r\n\r\n", 400, reason);
    check_error("GET /\xc3\xa4 HTTP/1.1\r\n\r\n", 400, reason);
    check_error("GET / HTTP/1.1\r\r\n\r\n", 400, reason);
    check_error("GET / http/1.1\r\n\r\n", 400, reason);
    check_error("GET / HTTP/1\r\n\r\n", 400, reason);
    check_error("GET / HTTP/1.10\r\n\r\n", 400, reason);
    check_error("GET / HTTP/x.1\r\n\r\n", 400, reason);
    check_error("GET / HTTP/1,1\r\n\r\n", 400, reason);
}

TEST_CASE("http request parser: request target must be in origin form (400)") {
    const char* reason = "request target must be in origin form";
    check_error("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", 400, reason);
    check_error("GET http://a/ws HTTP/1.1\r\nHost: a\r\n\r\n", 400, reason);
    check_error("CONNECT a:443 HTTP/1.1\r\nHost: a\r\n\r\n", 400, reason);
}

TEST_CASE("http request parser: unsupported HTTP versions (505)") {
    check_error("GET / HTTP/2.0\r\n\r\n", 505, "HTTP version not supported");
    check_error("GET / HTTP/0.9\r\n\r\n", 505, "HTTP version not supported");
    check_error("GET / HTTP/1.2\r\n\r\n", 505, "HTTP version not supported");
}

TEST_CASE("http request parser: a lowercase method is a valid token") {
    HttpRequestParser parser = parse("get / HTTP/1.1\r\n\r\n");
    REQUIRE(parser.status() == Status::complete);
    CHECK(parser.request().method == "get");
}

TEST_CASE("http request parser: malformed header fields (400)") {
    check_error("GET / HTTP/1.1\r\nHost a\r\n\r\n", 400, "malformed header field");
    check_error("GET / HTTP/1.1\r\n: a\r\n\r\n", 400, "malformed header field");
    check_error("GET / HTTP/1.1\r\nHo(st: a\r\n\r\n", 400, "malformed header field");
    check_error("GET / HTTP/1.1\r\nHo st: a\r\n\r\n", 400, "malformed header field");
    check_error("GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400,
                "whitespace between header field name and colon");
    check_error("GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", 400,
                "whitespace between header field name and colon");
    check_error("GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n", 400, "obsolete line folding is not allowed");
    check_error("GET / HTTP/1.1\r\nX: a\r\n\tb\r\n\r\n", 400,
                "obsolete line folding is not allowed");
    check_error("GET / HTTP/1.1\r\n Host: a\r\n\r\n", 400, "obsolete line folding is not allowed");
    check_error("GET / HTTP/1.1\r\nX: a\x01z\r\n\r\n", 400,
                "control character in header field value");
    check_error("GET / HTTP/1.1\r\nX: a\x7fz\r\n\r\n", 400,
                "control character in header field value");
    check_error("GET / HTTP/1.1\r\nX: a\rz\r\n\r\n", 400, "control character in header field value");
    check_error("GET / HTTP/1.1\r\nX: a\0z\r\n\r\n"sv, 400,
                "control character in header field value");
    check_error("GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n", 400, "multiple Host header fields");
}

TEST_CASE("http request parser: tabs and obs-text are allowed in field values") {
    HttpRequestParser parser = parse("GET / HTTP/1.1\r\nX: a\tb \xc3\xa4\r\n\r\n");
    REQUIRE(parser.status() == Status::complete);
    CHECK(parser.request().header("X") == "a\tb \xc3\xa4");
}

TEST_CASE("http request parser: bare LF line endings (400)") {
    const char* reason = "bare LF line ending is not allowed";
    check_error("GET / HTTP/1.1\nHost: a\n\n", 400, reason);
    check_error("GET / HTTP/1.1\r\nHost: a\n\r\n", 400, reason);
    check_error("GET / HTTP/1.1\r\nHost: a\r\n\n", 400, reason);
    check_error("\n", 400, reason);

    SUBCASE("detected as soon as the line arrives") {
        HttpRequestParser parser;
        CHECK(parser.feed("GET / HTTP/1.1\nHost") == 15);
        CHECK(parser.status() == Status::error);
    }
}

TEST_CASE("http: iequals") {
    using kreuz::ws::iequals;
    CHECK(iequals("Upgrade", "upgrade"));
    CHECK(iequals("", ""));
    CHECK_FALSE(iequals("upgrade", "upgrades"));
    CHECK_FALSE(iequals("a", "b"));
    CHECK_FALSE(iequals("\xc3\xa4", "\xc3\x84"));
}

TEST_CASE("http: token_list_contains") {
    using kreuz::ws::token_list_contains;
    CHECK(token_list_contains("keep-alive, Upgrade", "upgrade"));
    CHECK(token_list_contains("Upgrade", "upgrade"));
    CHECK(token_list_contains(" ,\t, upgrade\t,", "upgrade"));
    CHECK(token_list_contains("a,b,c", "c"));
    CHECK_FALSE(token_list_contains("keep-alive", "upgrade"));
    CHECK_FALSE(token_list_contains("upgrade-x, xupgrade", "upgrade"));
    CHECK_FALSE(token_list_contains("", "upgrade"));
    CHECK_FALSE(token_list_contains("a, , b", ""));
}
