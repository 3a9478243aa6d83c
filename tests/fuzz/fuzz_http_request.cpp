// HTTP request head -> WebSocket handshake, as a connection in the handshake
// state runs them: HttpRequestParser fed the stream in the pieces the input
// chooses, then accept_handshake and negotiate_deflate on what it parsed.
//
// Switches (fuzz_input.h): 0 = a 256-byte head limit, 1 = at most 4 header
// fields (so that both 431 paths are reachable with short inputs), 2 = the
// endpoint requires the "wamp" subprotocol, 3 = the endpoint allows only the
// origins in allowed_origins below.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_input.h"
#include "websocket/handshake.h"
#include "websocket/http_request.h"

namespace {

using namespace kreuz::ws;
using kreuz::fuzz::check;
using Status = HttpRequestParser::Status;

const std::vector<std::string> allowed_origins = {"http://127.0.0.1:8080", "https://example.com"};

struct Outcome {
    Status status = Status::incomplete;
    std::size_t consumed = 0;
};

Outcome feed_pieces(HttpRequestParser& parser, const std::uint8_t* stream, const std::vector<std::size_t>& pieces) {
    Outcome outcome;
    std::size_t offset = 0;
    for (std::size_t n : pieces) {
        // A buffer of exactly the piece, so that ASan sees any read past it.
        const std::unique_ptr<char[]> piece(new char[n]);
        std::copy(stream + offset, stream + offset + n, piece.get());
        offset += n;
        const Status before = parser.status();
        const std::size_t used = parser.feed(std::string_view(piece.get(), n));
        check(used <= n);
        if (before != Status::incomplete) check(used == 0);
        // Only the end of the head stops the parser from taking everything.
        if (parser.status() == Status::incomplete) check(used == n);
        outcome.consumed += used;
    }
    outcome.status = parser.status();
    return outcome;
}

bool same_request(const HttpRequest& a, const HttpRequest& b) {
    if (a.method != b.method || a.target != b.target || a.version != b.version) return false;
    if (a.headers.size() != b.headers.size()) return false;
    for (std::size_t i = 0; i < a.headers.size(); ++i) {
        if (a.headers[i].name != b.headers[i].name || a.headers[i].value != b.headers[i].value) return false;
    }
    return true;
}

bool same_params(const DeflateParams& a, const DeflateParams& b) {
    return a.server_no_context_takeover == b.server_no_context_takeover &&
           a.client_no_context_takeover == b.client_no_context_takeover &&
           a.server_max_window_bits == b.server_max_window_bits &&
           a.client_max_window_bits == b.client_max_window_bits;
}

bool is_control(char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
}

void check_params(const DeflateParams& p) {
    check(p.server_max_window_bits >= 8 && p.server_max_window_bits <= 15);
    check(p.client_max_window_bits >= 8 && p.client_max_window_bits <= 15);
}

void check_parsed(const HttpRequest& request, const HttpLimits& limits) {
    check(!request.method.empty());
    check(request.target.starts_with('/'));
    check(request.version == "HTTP/1.1" || request.version == "HTTP/1.0");
    check(request.headers.size() <= limits.max_headers);
    for (const HttpHeader& h : request.headers) {
        check(!h.name.empty());
        for (char c : h.name) check(!is_control(c) && c != ' ' && c != ':');
        for (char c : h.value) check(!is_control(c) || c == '\t');
        if (!h.value.empty()) {
            check(h.value.front() != ' ' && h.value.front() != '\t');
            check(h.value.back() != ' ' && h.value.back() != '\t');
        }
    }
}

// Whatever the request held, the response must be one well-formed head:
// every line ended by CRLF, no other control character, so that nothing the
// client sent can split it into forged header fields.
void check_response(const HandshakeResult& result) {
    const std::string& response = result.response;
    check(response.starts_with("HTTP/1.1 " + std::to_string(result.status) + " "));
    const std::size_t head_end = response.find("\r\n\r\n");
    check(head_end != std::string::npos);
    const std::string_view head(response.data(), head_end + 2);
    for (std::size_t i = 0; i < head.size(); ++i) {
        if (head[i] == '\r') {
            check(i + 1 < head.size() && head[i + 1] == '\n');
        } else if (head[i] == '\n') {
            check(i > 0 && head[i - 1] == '\r');
        } else {
            check(!is_control(head[i]));
        }
    }
    const std::string_view body = std::string_view(response).substr(head_end + 4);
    if (result.status == 101) {
        check(body.empty());
        return;
    }
    check(!result.reason.empty());
    check(!result.deflate && result.subprotocol.empty());
    check(head.find("\r\nContent-Length: " + std::to_string(body.size()) + "\r\n") != std::string_view::npos);
    check(body.ends_with('\n') && body.find('\n') == body.size() - 1);
}

void check_handshake(const HttpRequest& request, bool subprotocol_required, bool check_origin) {
    HandshakePolicy policy;
    policy.subprotocols = {"wamp"};
    policy.subprotocol_required = subprotocol_required;
    if (check_origin) policy.allowed_origins = allowed_origins;
    policy.deflate.enabled = true;

    const HandshakeResult result = accept_handshake(request, policy);
    check(result.status == 101 || result.status == 400 || result.status == 403 || result.status == 405 ||
          result.status == 426);
    check(result.status != 403 || check_origin);
    check_response(result);
    if (result.status != 101) return;

    check(result.subprotocol.empty() || result.subprotocol == "wamp");
    if (subprotocol_required) check(result.subprotocol == "wamp");
    // A browser's Origin must be one of the allowed ones; other clients send none.
    if (const std::optional<std::string> origin = request.header("Origin"); origin && check_origin) {
        check(std::any_of(allowed_origins.begin(), allowed_origins.end(),
                          [&](const std::string& o) { return iequals(o, *origin); }));
    }
    const std::optional<std::string> key = request.header("Sec-WebSocket-Key");
    check(key.has_value());
    const std::string accept = websocket_accept_key(*key);
    check(accept.size() == 28);
    check(result.response.find("\r\nSec-WebSocket-Accept: " + accept + "\r\n") != std::string::npos);

    // The handshake must agree with negotiating the joined header on its own.
    std::optional<DeflateParams> expected;
    std::string ignored;
    if (const std::optional<std::string> offers = request.header("Sec-WebSocket-Extensions")) {
        expected = negotiate_deflate(*offers, ignored);
    }
    check(expected.has_value() == result.deflate.has_value());
    if (expected) {
        check_params(*result.deflate);
        check(same_params(*expected, *result.deflate));
    }
}

void check_negotiation(std::string_view offers) {
    const std::string untouched = "untouched";
    std::string response = untouched;
    const std::optional<DeflateParams> params = negotiate_deflate(offers, response);
    if (!params) {
        check(response == untouched);
        return;
    }
    check_params(*params);
    check(response.starts_with("permessage-deflate"));
    // Our answer, read as an offer, must stand for exactly what was agreed.
    std::string again;
    const std::optional<DeflateParams> reread = negotiate_deflate(response, again);
    check(reread.has_value() && same_params(*params, *reread) && again == response);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const kreuz::fuzz::FuzzInput input(data, size);
    HttpLimits limits;
    if (input.flag(0)) limits.max_head_bytes = 256;
    if (input.flag(1)) limits.max_headers = 4;

    HttpRequestParser split(limits);
    const Outcome outcome = feed_pieces(split, input.stream(), input.pieces());

    // The cuts must not matter: the same stream in one read gives the same result.
    HttpRequestParser whole(limits);
    const Outcome reference = feed_pieces(whole, input.stream(), {input.stream_size()});
    check(outcome.status == reference.status && outcome.consumed == reference.consumed);

    const std::string_view stream(reinterpret_cast<const char*>(input.stream()), input.stream_size());
    switch (outcome.status) {
    case Status::incomplete:
        check(outcome.consumed == stream.size() && outcome.consumed < limits.max_head_bytes);
        return 0;
    case Status::error:
        check(split.error_status() == 400 || split.error_status() == 431 || split.error_status() == 505);
        check(!split.error_reason().empty());
        check(split.error_status() == whole.error_status() && split.error_reason() == whole.error_reason());
        check(outcome.consumed <= limits.max_head_bytes);
        return 0;
    case Status::complete:
        break;
    }
    // Exactly the head is consumed: up to and including the first blank line.
    check(outcome.consumed <= limits.max_head_bytes);
    check(stream.find("\r\n\r\n") + 4 == outcome.consumed);
    check(same_request(split.request(), whole.request()));
    check_parsed(split.request(), limits);

    check_handshake(split.request(), input.flag(2), input.flag(3));
    for (const HttpHeader& header : split.request().headers) check_negotiation(header.value);
    return 0;
}
