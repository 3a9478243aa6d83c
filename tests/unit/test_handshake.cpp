#include <doctest/doctest.h>

#include <optional>
#include <string>
#include <string_view>

#include "websocket/handshake.h"
#include "websocket/http_request.h"

using kreuz::ws::accept_handshake;
using kreuz::ws::DeflateParams;
using kreuz::ws::HandshakePolicy;
using kreuz::ws::HandshakeResult;
using kreuz::ws::HttpRequest;
using kreuz::ws::iequals;
using kreuz::ws::negotiate_deflate;

namespace {

constexpr std::string_view sample_key = "dGhlIHNhbXBsZSBub25jZQ==";
constexpr std::string_view sample_accept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

HttpRequest valid_request() {
    HttpRequest r;
    r.method = "GET";
    r.target = "/ws";
    r.version = "HTTP/1.1";
    r.headers = {
        {"Host", "example.org"},
        {"Upgrade", "websocket"},
        {"Connection", "Upgrade"},
        {"Sec-WebSocket-Key", std::string(sample_key)},
        {"Sec-WebSocket-Version", "13"},
    };
    return r;
}

void remove_header(HttpRequest& r, std::string_view name) {
    std::erase_if(r.headers, [&](const auto& h) { return iequals(h.name, name); });
}

void set_header(HttpRequest& r, std::string_view name, std::string_view value) {
    remove_header(r, name);
    r.headers.push_back({std::string(name), std::string(value)});
}

void add_header(HttpRequest& r, std::string_view name, std::string_view value) {
    r.headers.push_back({std::string(name), std::string(value)});
}

bool response_has_line(const HandshakeResult& result, std::string_view line) {
    return result.response.find(std::string(line) + "\r\n") != std::string::npos;
}

void check_rejected(const HandshakeResult& result, int status, std::string_view reason) {
    CHECK(result.status == status);
    CHECK(result.reason == reason);
    CHECK(result.response.starts_with("HTTP/1.1 " + std::to_string(status) + " " +
                                      std::string(reason) + "\r\n"));
    CHECK(response_has_line(result, "Connection: close"));
    CHECK(result.response.ends_with("\r\n\r\n" + std::string(reason) + "\n"));
    CHECK(result.subprotocol.empty());
    CHECK_FALSE(result.deflate.has_value());
}

// Negotiates `offer` and returns the parameters and our response value.
std::optional<DeflateParams> negotiate(std::string_view offer, std::string& response) {
    response.clear();
    return negotiate_deflate(offer, response);
}

void check_declined(std::string_view offer) {
    CAPTURE(offer);
    std::string response = "untouched";
    CHECK_FALSE(negotiate_deflate(offer, response).has_value());
    CHECK(response == "untouched");
}

}  // namespace

TEST_CASE("handshake: Sec-WebSocket-Accept of the RFC 6455 example") {
    CHECK(kreuz::ws::websocket_accept_key(sample_key) == sample_accept);
}

TEST_CASE("handshake: http_error_response format") {
    CHECK(kreuz::ws::http_error_response(400, "bad thing", "X-A: 1\r\n") ==
          "HTTP/1.1 400 bad thing\r\n"
          "Content-Type: text/plain; charset=utf-8\r\n"
          "Content-Length: 10\r\n"
          "Connection: close\r\n"
          "X-A: 1\r\n"
          "\r\n"
          "bad thing\n");
    CHECK(kreuz::ws::http_error_response(404, "not found") ==
          "HTTP/1.1 404 not found\r\n"
          "Content-Type: text/plain; charset=utf-8\r\n"
          "Content-Length: 10\r\n"
          "Connection: close\r\n"
          "\r\n"
          "not found\n");
}

TEST_CASE("handshake: a reason cannot inject header lines") {
    std::string response = kreuz::ws::http_error_response(400, "a\r\nSet-Cookie: x");
    CHECK(response.starts_with("HTTP/1.1 400 a  Set-Cookie: x\r\nContent-Type:"));
}

TEST_CASE("handshake: accepts a minimal valid request") {
    HandshakeResult result = accept_handshake(valid_request(), HandshakePolicy{});
    CHECK(result.status == 101);
    CHECK(result.subprotocol.empty());
    CHECK_FALSE(result.deflate.has_value());
    CHECK(result.response ==
          "HTTP/1.1 101 Switching Protocols\r\n"
          "Upgrade: websocket\r\n"
          "Connection: Upgrade\r\n"
          "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
          "\r\n");
}

TEST_CASE("handshake: accepts a parsed browser-like request") {
    kreuz::ws::HttpRequestParser parser;
    std::string_view head =
        "GET /ws HTTP/1.1\r\n"
        "Host: localhost:8080\r\n"
        "Connection: keep-alive, Upgrade\r\n"
        "Upgrade: WebSocket\r\n"
        "Sec-WebSocket-Version: 13\r\n"
        "Sec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4PEA==\r\n"
        "Sec-WebSocket-Protocol: wamp\r\n"
        "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
        "\r\n";
    REQUIRE(parser.feed(head) == head.size());
    REQUIRE(parser.status() == kreuz::ws::HttpRequestParser::Status::complete);

    HandshakePolicy policy;
    policy.subprotocols = {"wamp"};
    HandshakeResult result = accept_handshake(parser.request(), policy);
    CHECK(result.status == 101);
    CHECK(result.subprotocol == "wamp");
    REQUIRE(result.deflate.has_value());
    CHECK(result.response ==
          "HTTP/1.1 101 Switching Protocols\r\n"
          "Upgrade: websocket\r\n"
          "Connection: Upgrade\r\n"
          "Sec-WebSocket-Accept: " + kreuz::ws::websocket_accept_key("AQIDBAUGBwgJCgsMDQ4PEA==") +
              "\r\n"
              "Sec-WebSocket-Protocol: wamp\r\n"
              "Sec-WebSocket-Extensions: permessage-deflate\r\n"
              "\r\n");
}

TEST_CASE("handshake: rejections, each in its turn") {
    // Everything is wrong at first; fixing one thing at a time must reveal the
    // next check in the documented order.
    HandshakePolicy policy;
    policy.subprotocols = {"wamp"};
    policy.subprotocol_required = true;
    policy.subprotocol_missing_reason = "this server only speaks WAMP";

    HttpRequest r;
    r.method = "POST";
    r.target = "/ws";
    r.version = "HTTP/1.0";
    add_header(r, "Sec-WebSocket-Version", "8");
    add_header(r, "Sec-WebSocket-Key", "short");
    add_header(r, "Sec-WebSocket-Protocol", "mqtt");

    check_rejected(accept_handshake(r, policy), 405,
                   "method not allowed: WebSocket upgrade requires GET");
    r.method = "GET";
    check_rejected(accept_handshake(r, policy), 400, "WebSocket upgrade requires HTTP/1.1");
    r.version = "HTTP/1.1";
    check_rejected(accept_handshake(r, policy), 400, "missing Host header");
    add_header(r, "Host", "example.org");
    check_rejected(accept_handshake(r, policy), 426, "WebSocket upgrade required");
    add_header(r, "Upgrade", "websocket");
    check_rejected(accept_handshake(r, policy), 400, "Connection header must contain upgrade");
    add_header(r, "Connection", "upgrade");
    check_rejected(accept_handshake(r, policy), 426, "unsupported WebSocket version");
    set_header(r, "Sec-WebSocket-Version", "13");
    check_rejected(accept_handshake(r, policy), 400, "invalid Sec-WebSocket-Key");
    set_header(r, "Sec-WebSocket-Key", sample_key);
    check_rejected(accept_handshake(r, policy), 400, "this server only speaks WAMP");
    set_header(r, "Sec-WebSocket-Protocol", "wamp");
    CHECK(accept_handshake(r, policy).status == 101);
}

TEST_CASE("handshake: 405 for methods other than GET, with Allow") {
    for (const char* method : {"POST", "HEAD", "get", "OPTIONS"}) {
        CAPTURE(method);
        HttpRequest r = valid_request();
        r.method = method;
        HandshakeResult result = accept_handshake(r, HandshakePolicy{});
        check_rejected(result, 405, "method not allowed: WebSocket upgrade requires GET");
        CHECK(response_has_line(result, "Allow: GET"));
    }
}

TEST_CASE("handshake: HTTP/1.0 is refused") {
    HttpRequest r = valid_request();
    r.version = "HTTP/1.0";
    check_rejected(accept_handshake(r, HandshakePolicy{}), 400,
                   "WebSocket upgrade requires HTTP/1.1");
}

TEST_CASE("handshake: missing or empty Host") {
    HttpRequest r = valid_request();
    remove_header(r, "Host");
    check_rejected(accept_handshake(r, HandshakePolicy{}), 400, "missing Host header");
    set_header(r, "Host", "");
    check_rejected(accept_handshake(r, HandshakePolicy{}), 400, "missing Host header");
}

TEST_CASE("handshake: 426 when Upgrade does not name websocket") {
    for (const char* upgrade : {static_cast<const char*>(nullptr), "h2c", "websockets", ""}) {
        CAPTURE(upgrade ? upgrade : "<absent>");
        HttpRequest r = valid_request();
        remove_header(r, "Upgrade");
        if (upgrade) add_header(r, "Upgrade", upgrade);
        HandshakeResult result = accept_handshake(r, HandshakePolicy{});
        check_rejected(result, 426, "WebSocket upgrade required");
        CHECK(response_has_line(result, "Upgrade: websocket"));
        CHECK(response_has_line(result, "Sec-WebSocket-Version: 13"));
    }
}

TEST_CASE("handshake: Upgrade and Connection are token lists, case-insensitive") {
    HttpRequest r = valid_request();
    set_header(r, "Upgrade", "h2c, WebSocket");
    set_header(r, "Connection", "keep-alive, UPGRADE");
    CHECK(accept_handshake(r, HandshakePolicy{}).status == 101);

    add_header(r, "Connection", "close");
    CHECK(accept_handshake(r, HandshakePolicy{}).status == 101);
}

TEST_CASE("handshake: Connection without upgrade") {
    for (std::string_view connection : {"keep-alive", "", "upgraded"}) {
        CAPTURE(connection);
        HttpRequest r = valid_request();
        set_header(r, "Connection", connection);
        check_rejected(accept_handshake(r, HandshakePolicy{}), 400,
                       "Connection header must contain upgrade");
    }
    HttpRequest r = valid_request();
    remove_header(r, "Connection");
    check_rejected(accept_handshake(r, HandshakePolicy{}), 400,
                   "Connection header must contain upgrade");
}

TEST_CASE("handshake: 426 for a missing or other WebSocket version") {
    for (const char* version : {static_cast<const char*>(nullptr), "8", "13, 8", "013", "14"}) {
        CAPTURE(version ? version : "<absent>");
        HttpRequest r = valid_request();
        remove_header(r, "Sec-WebSocket-Version");
        if (version) add_header(r, "Sec-WebSocket-Version", version);
        HandshakeResult result = accept_handshake(r, HandshakePolicy{});
        check_rejected(result, 426, "unsupported WebSocket version");
        CHECK(response_has_line(result, "Sec-WebSocket-Version: 13"));
        CHECK_FALSE(response_has_line(result, "Upgrade: websocket"));
    }
}

TEST_CASE("handshake: invalid Sec-WebSocket-Key") {
    for (const char* key : {
             static_cast<const char*>(nullptr),
             "",
             "dGhlIHNhbXBsZSBub25jZQ",        // no padding
             "dGhlIHNhbXBsZSBub25jZQ=",       // short padding
             "dGhlIHNhbXBsZSBub25jZQ===",     // 25 characters
             "dGhlIHNhbXBsZSBub25jZ===",      // 15 bytes
             "dGhlIHNhbXBsZSBub25j=Q==",      // '=' inside
             "dGhlIHNhbXBsZSBub25jZQ=A",      // padding then data
             "dGhlIHNhbXBsZSBub25jZ!==",      // not the alphabet
             "dGhlIHNhbXBs SBub25jZQ==",      // space inside
             "dGhlIHNhbXBsZSBub25jZQAA",      // 18 bytes, no padding
             "dGhlIHNhbXBsZSBub25jZSBrZXk=",  // 20 bytes
         }) {
        CAPTURE(key ? key : "<absent>");
        HttpRequest r = valid_request();
        remove_header(r, "Sec-WebSocket-Key");
        if (key) add_header(r, "Sec-WebSocket-Key", key);
        check_rejected(accept_handshake(r, HandshakePolicy{}), 400, "invalid Sec-WebSocket-Key");
    }

    SUBCASE("a repeated key is refused") {
        HttpRequest r = valid_request();
        add_header(r, "Sec-WebSocket-Key", sample_key);
        check_rejected(accept_handshake(r, HandshakePolicy{}), 400, "invalid Sec-WebSocket-Key");
    }
}

TEST_CASE("handshake: subprotocol selection") {
    HandshakePolicy policy;
    policy.subprotocols = {"wamp.2.json", "wamp"};

    SUBCASE("the client's order decides, not the server's") {
        HttpRequest r = valid_request();
        add_header(r, "Sec-WebSocket-Protocol", "mqtt, wamp, wamp.2.json");
        HandshakeResult result = accept_handshake(r, policy);
        CHECK(result.status == 101);
        CHECK(result.subprotocol == "wamp");
        CHECK(response_has_line(result, "Sec-WebSocket-Protocol: wamp"));
    }
    SUBCASE("repeated fields are one list") {
        HttpRequest r = valid_request();
        add_header(r, "Sec-WebSocket-Protocol", "mqtt");
        add_header(r, "Sec-WebSocket-Protocol", "wamp.2.json");
        HandshakeResult result = accept_handshake(r, policy);
        CHECK(result.subprotocol == "wamp.2.json");
        CHECK(response_has_line(result, "Sec-WebSocket-Protocol: wamp.2.json"));
    }
    SUBCASE("whitespace and empty elements are ignored") {
        HttpRequest r = valid_request();
        add_header(r, "Sec-WebSocket-Protocol", " , \twamp ,");
        CHECK(accept_handshake(r, policy).subprotocol == "wamp");
    }
    SUBCASE("names compare case-sensitively") {
        HttpRequest r = valid_request();
        add_header(r, "Sec-WebSocket-Protocol", "WAMP");
        HandshakeResult result = accept_handshake(r, policy);
        CHECK(result.status == 101);
        CHECK(result.subprotocol.empty());
        CHECK(result.response.find("Sec-WebSocket-Protocol") == std::string::npos);
    }
    SUBCASE("optional: nothing supported offered, accepted without echo") {
        HttpRequest r = valid_request();
        add_header(r, "Sec-WebSocket-Protocol", "mqtt");
        HandshakeResult result = accept_handshake(r, policy);
        CHECK(result.status == 101);
        CHECK(result.subprotocol.empty());
        CHECK(result.response.find("Sec-WebSocket-Protocol") == std::string::npos);
    }
    SUBCASE("optional: nothing offered, accepted without echo") {
        HandshakeResult result = accept_handshake(valid_request(), policy);
        CHECK(result.status == 101);
        CHECK(result.response.find("Sec-WebSocket-Protocol") == std::string::npos);
    }
    SUBCASE("a server without subprotocols never echoes one") {
        HttpRequest r = valid_request();
        add_header(r, "Sec-WebSocket-Protocol", "wamp");
        HandshakeResult result = accept_handshake(r, HandshakePolicy{});
        CHECK(result.status == 101);
        CHECK(result.subprotocol.empty());
        CHECK(result.response.find("Sec-WebSocket-Protocol") == std::string::npos);
    }
    SUBCASE("required: nothing offered") {
        policy.subprotocol_required = true;
        check_rejected(accept_handshake(valid_request(), policy), 400,
                       "no supported subprotocol offered");
    }
    SUBCASE("required: nothing supported offered, with the configured reason") {
        policy.subprotocol_required = true;
        policy.subprotocol_missing_reason = "this server only speaks WAMP";
        HttpRequest r = valid_request();
        add_header(r, "Sec-WebSocket-Protocol", "mqtt, v12.stomp");
        check_rejected(accept_handshake(r, policy), 400, "this server only speaks WAMP");
    }
    SUBCASE("required: a supported one offered") {
        policy.subprotocol_required = true;
        HttpRequest r = valid_request();
        add_header(r, "Sec-WebSocket-Protocol", "mqtt, wamp");
        CHECK(accept_handshake(r, policy).subprotocol == "wamp");
    }
}

TEST_CASE("handshake: permessage-deflate in the 101") {
    HttpRequest r = valid_request();
    add_header(r, "Sec-WebSocket-Extensions",
               "permessage-deflate; client_max_window_bits; server_max_window_bits=10");

    SUBCASE("negotiated") {
        HandshakeResult result = accept_handshake(r, HandshakePolicy{});
        CHECK(result.status == 101);
        REQUIRE(result.deflate.has_value());
        CHECK(result.deflate->server_max_window_bits == 10);
        CHECK(result.deflate->client_max_window_bits == 15);
        CHECK(response_has_line(
            result, "Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=10"));
    }
    SUBCASE("disabled by policy") {
        HandshakePolicy policy;
        policy.deflate.enabled = false;
        HandshakeResult result = accept_handshake(r, policy);
        CHECK(result.status == 101);
        CHECK_FALSE(result.deflate.has_value());
        CHECK(result.response.find("Sec-WebSocket-Extensions") == std::string::npos);
    }
    SUBCASE("declined offer: accepted without the extension") {
        set_header(r, "Sec-WebSocket-Extensions", "permessage-deflate; mystery");
        HandshakeResult result = accept_handshake(r, HandshakePolicy{});
        CHECK(result.status == 101);
        CHECK_FALSE(result.deflate.has_value());
        CHECK(result.response.find("Sec-WebSocket-Extensions") == std::string::npos);
    }
    SUBCASE("repeated fields are one list") {
        set_header(r, "Sec-WebSocket-Extensions", "x-webkit-deflate-frame");
        add_header(r, "Sec-WebSocket-Extensions", "permessage-deflate; server_no_context_takeover");
        HandshakeResult result = accept_handshake(r, HandshakePolicy{});
        REQUIRE(result.deflate.has_value());
        CHECK(result.deflate->server_no_context_takeover);
        CHECK(response_has_line(
            result, "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover"));
    }
    SUBCASE("the extension line follows the subprotocol line") {
        HandshakePolicy policy;
        policy.subprotocols = {"wamp"};
        add_header(r, "Sec-WebSocket-Protocol", "wamp");
        HandshakeResult result = accept_handshake(r, policy);
        CHECK(result.response.ends_with(
            "Sec-WebSocket-Protocol: wamp\r\n"
            "Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=10\r\n"
            "\r\n"));
    }
}

TEST_CASE("deflate negotiation: a bare offer") {
    std::string response;
    std::optional<DeflateParams> p = negotiate("permessage-deflate", response);
    REQUIRE(p.has_value());
    CHECK(response == "permessage-deflate");
    CHECK_FALSE(p->server_no_context_takeover);
    CHECK_FALSE(p->client_no_context_takeover);
    CHECK(p->server_max_window_bits == 15);
    CHECK(p->client_max_window_bits == 15);
}

TEST_CASE("deflate negotiation: context takeover flags") {
    std::string response;
    std::optional<DeflateParams> p =
        negotiate("permessage-deflate; client_no_context_takeover; server_no_context_takeover",
                  response);
    REQUIRE(p.has_value());
    CHECK(p->server_no_context_takeover);
    CHECK(p->client_no_context_takeover);
    CHECK(response == "permessage-deflate; server_no_context_takeover; client_no_context_takeover");

    p = negotiate("permessage-deflate;client_no_context_takeover", response);
    REQUIRE(p.has_value());
    CHECK_FALSE(p->server_no_context_takeover);
    CHECK(p->client_no_context_takeover);
    CHECK(response == "permessage-deflate; client_no_context_takeover");

    check_declined("permessage-deflate; server_no_context_takeover=1");
    check_declined("permessage-deflate; client_no_context_takeover=true");
    check_declined("permessage-deflate; client_no_context_takeover=\"\"");
}

TEST_CASE("deflate negotiation: server_max_window_bits") {
    for (int bits = 8; bits <= 15; ++bits) {
        CAPTURE(bits);
        std::string response;
        std::optional<DeflateParams> p =
            negotiate("permessage-deflate; server_max_window_bits=" + std::to_string(bits), response);
        REQUIRE(p.has_value());
        CHECK(p->server_max_window_bits == bits);
        CHECK(p->client_max_window_bits == 15);
        CHECK(response == "permessage-deflate; server_max_window_bits=" + std::to_string(bits));
    }
    check_declined("permessage-deflate; server_max_window_bits");
    check_declined("permessage-deflate; server_max_window_bits=7");
    check_declined("permessage-deflate; server_max_window_bits=16");
    check_declined("permessage-deflate; server_max_window_bits=0");
    check_declined("permessage-deflate; server_max_window_bits=08");
    check_declined("permessage-deflate; server_max_window_bits=010");
    check_declined("permessage-deflate; server_max_window_bits=+9");
    check_declined("permessage-deflate; server_max_window_bits=9a");
    check_declined("permessage-deflate; server_max_window_bits=\"\"");
}

TEST_CASE("deflate negotiation: client_max_window_bits") {
    std::string response;
    std::optional<DeflateParams> p = negotiate("permessage-deflate; client_max_window_bits", response);
    REQUIRE(p.has_value());
    CHECK(p->client_max_window_bits == 15);
    CHECK(response == "permessage-deflate");

    for (int bits = 8; bits <= 15; ++bits) {
        CAPTURE(bits);
        p = negotiate("permessage-deflate; client_max_window_bits=" + std::to_string(bits), response);
        REQUIRE(p.has_value());
        CHECK(p->client_max_window_bits == bits);
        CHECK(p->server_max_window_bits == 15);
        CHECK(response == "permessage-deflate; client_max_window_bits=" + std::to_string(bits));
    }
    check_declined("permessage-deflate; client_max_window_bits=7");
    check_declined("permessage-deflate; client_max_window_bits=16");
    check_declined("permessage-deflate; client_max_window_bits=09");
    check_declined("permessage-deflate; client_max_window_bits=x");
}

TEST_CASE("deflate negotiation: every parameter at once, in the response's fixed order") {
    std::string response;
    std::optional<DeflateParams> p = negotiate(
        "permessage-deflate; client_max_window_bits=9; server_max_window_bits=12; "
        "client_no_context_takeover; server_no_context_takeover",
        response);
    REQUIRE(p.has_value());
    CHECK(p->server_no_context_takeover);
    CHECK(p->client_no_context_takeover);
    CHECK(p->server_max_window_bits == 12);
    CHECK(p->client_max_window_bits == 9);
    CHECK(response ==
          "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
          "server_max_window_bits=12; client_max_window_bits=9");
}

TEST_CASE("deflate negotiation: quoted values are unquoted first") {
    std::string response;
    std::optional<DeflateParams> p = negotiate(
        "permessage-deflate; server_max_window_bits=\"10\"; client_max_window_bits=\"1\\1\"",
        response);
    REQUIRE(p.has_value());
    CHECK(p->server_max_window_bits == 10);
    CHECK(p->client_max_window_bits == 11);
    CHECK(response == "permessage-deflate; server_max_window_bits=10; client_max_window_bits=11");

    check_declined("permessage-deflate; server_max_window_bits=\"16\"");
    check_declined("permessage-deflate; server_max_window_bits=\"08\"");
}

TEST_CASE("deflate negotiation: optional whitespace") {
    std::string response;
    std::optional<DeflateParams> p = negotiate(
        " \tpermessage-deflate ;\tserver_max_window_bits = 11 ; client_no_context_takeover\t",
        response);
    REQUIRE(p.has_value());
    CHECK(p->server_max_window_bits == 11);
    CHECK(p->client_no_context_takeover);
}

TEST_CASE("deflate negotiation: duplicated parameters decline the offer") {
    check_declined("permessage-deflate; server_no_context_takeover; server_no_context_takeover");
    check_declined("permessage-deflate; client_no_context_takeover; client_no_context_takeover");
    check_declined("permessage-deflate; server_max_window_bits=10; server_max_window_bits=10");
    check_declined("permessage-deflate; client_max_window_bits; client_max_window_bits=10");
    check_declined("permessage-deflate; client_max_window_bits=9; client_max_window_bits=10");
}

TEST_CASE("deflate negotiation: unknown parameters decline the offer") {
    check_declined("permessage-deflate; mystery");
    check_declined("permessage-deflate; mystery=1");
    check_declined("permessage-deflate; server_max_window_bits=10; x");
}

TEST_CASE("deflate negotiation: the first acceptable offer wins") {
    std::string response;
    std::optional<DeflateParams> p = negotiate(
        "permessage-deflate; server_max_window_bits=20, "
        "permessage-deflate; server_max_window_bits=9, "
        "permessage-deflate; server_max_window_bits=10",
        response);
    REQUIRE(p.has_value());
    CHECK(p->server_max_window_bits == 9);
    CHECK(response == "permessage-deflate; server_max_window_bits=9");

    p = negotiate("permessage-deflate; unknown, permessage-deflate; client_max_window_bits", response);
    REQUIRE(p.has_value());
    CHECK(response == "permessage-deflate");

    check_declined("permessage-deflate; unknown, permessage-deflate; server_max_window_bits=7");
}

TEST_CASE("deflate negotiation: other extensions are ignored") {
    std::string response;
    std::optional<DeflateParams> p = negotiate(
        "x-webkit-deflate-frame; no_context_takeover, permessage-deflate; "
        "client_no_context_takeover, foo",
        response);
    REQUIRE(p.has_value());
    CHECK(p->client_no_context_takeover);
    CHECK(response == "permessage-deflate; client_no_context_takeover");

    check_declined("x-webkit-deflate-frame");
    check_declined("deflate-frame, perframe-deflate; max_window_bits=10");
}

TEST_CASE("deflate negotiation: empty list elements are skipped") {
    std::string response;
    CHECK(negotiate(", ,permessage-deflate,", response).has_value());
    CHECK(response == "permessage-deflate");
    check_declined("");
    check_declined(" , ,");
}

TEST_CASE("deflate negotiation: a malformed header declines every offer") {
    check_declined("permessage-deflate; server_max_window_bits=\"10");
    check_declined("permessage-deflate, permessage-deflate; server_max_window_bits=\"10");
    check_declined("permessage-deflate, x; a=\"unterminated");
    check_declined("permessage-deflate; server_max_window_bits=\"1 0\"");
    check_declined("permessage-deflate; server_max_window_bits=");
    check_declined("permessage-deflate; =10");
    check_declined("permessage-deflate;");
    check_declined("permessage-deflate; ; client_no_context_takeover");
    check_declined("permessage-deflate client_no_context_takeover");
    check_declined("permessage-deflate; server_max_window_bits=10 11");
    check_declined("\"permessage-deflate\"");
    check_declined("permessage-deflate, ;");
    check_declined("permessage-deflate, @");
}
