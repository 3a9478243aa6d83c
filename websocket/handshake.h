// The server side of the RFC 6455 opening handshake: validates an upgrade
// request, computes Sec-WebSocket-Accept, picks a subprotocol and negotiates
// permessage-deflate (RFC 7692). Pure functions, no I/O.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "websocket/http_request.h"
#include "websocket/options.h"

namespace kreuz::ws {

// Agreed permessage-deflate parameters. "server" is us (we compress with
// server_max_window_bits), "client" the peer.
struct DeflateParams {
    bool server_no_context_takeover = false;
    bool client_no_context_takeover = false;
    int server_max_window_bits = 15;
    int client_max_window_bits = 15;
};

// What an endpoint (a URL path) accepts.
struct HandshakePolicy {
    std::vector<std::string> subprotocols;  // supported, in order of preference
    bool subprotocol_required = false;      // reject a client that offers none of them
    std::string subprotocol_missing_reason = "no supported subprotocol offered";
    // Browsers send Origin; when this list is not empty, a request whose
    // Origin is not in it gets 403. Requests without Origin (non-browser
    // clients) are not affected. Compared case-insensitively.
    std::vector<std::string> allowed_origins;
    DeflateOptions deflate;
};

struct HandshakeResult {
    int status = 0;             // 101 when accepted
    std::string reason;         // one line, for rejections and logs
    std::string response;       // complete HTTP response head (and body, for errors)
    std::string subprotocol;    // chosen one, empty when none
    std::optional<DeflateParams> deflate;
};

// base64(SHA-1(key + GUID)) of RFC 6455 section 4.2.2.
std::string websocket_accept_key(std::string_view client_key);

HandshakeResult accept_handshake(const HttpRequest& request, const HandshakePolicy& policy);

// Negotiates permessage-deflate from a Sec-WebSocket-Extensions value: the
// first acceptable offer wins; unknown or malformed offers are declined
// (skipped), as RFC 7692 section 5 requires. On success `response_extension`
// receives the header value to send back.
std::optional<DeflateParams> negotiate_deflate(std::string_view extensions_header,
                                               std::string& response_extension);

// A complete error response: status line with `reason` as reason phrase,
// a text/plain body of the same line, Connection: close, plus `extra_headers`
// (each "Name: value\r\n"). The transport's own refusals (handshake, guards,
// 404 for unknown paths) are written here because websocket/ may use nothing
// above it; every other HTTP answer comes from http/response.h.
std::string http_error_response(int status, std::string_view reason,
                                std::string_view extra_headers = {});

}  // namespace kreuz::ws
