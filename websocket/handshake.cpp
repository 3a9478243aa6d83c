#include "websocket/handshake.h"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <string>
#include <utility>
#include <vector>

namespace kreuz::ws {

namespace {

constexpr std::string_view websocket_guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

// RFC 6455 section 4.1: the key is a base64-encoded 16-byte nonce, which is
// always 22 data characters and "==". EVP_DecodeBlock alone is not enough:
// it accepts '=' anywhere and does not report the padding.
bool valid_websocket_key(std::string_view key) {
    if (key.size() != 24 || !key.ends_with("==") || key.find('=') != 22) return false;
    std::array<unsigned char, 18> decoded{};
    int n = EVP_DecodeBlock(decoded.data(), reinterpret_cast<const unsigned char*>(key.data()),
                            static_cast<int>(key.size()));
    // 18 = 16 bytes of nonce plus the two zero bytes the padding stands for.
    return n == 18;
}

// The first protocol in the client's order that the server supports: the
// client lists them by its own preference (RFC 6455 section 4.1).
std::string choose_subprotocol(std::string_view offered, const std::vector<std::string>& supported) {
    while (true) {
        std::size_t comma = offered.find(',');
        std::string_view element = trim_ows(offered.substr(0, comma));
        if (!element.empty() &&
            std::find(supported.begin(), supported.end(), element) != supported.end()) {
            return std::string(element);
        }
        if (comma == std::string_view::npos) return {};
        offered.remove_prefix(comma + 1);
    }
}

HandshakeResult reject(int status, std::string reason, std::string_view extra_headers = {}) {
    HandshakeResult result;
    result.status = status;
    result.response = http_error_response(status, reason, extra_headers);
    result.reason = std::move(reason);
    return result;
}

// One element of a Sec-WebSocket-Extensions list (RFC 6455 section 9.1).
struct ExtensionParam {
    std::string_view name;
    std::optional<std::string> value;  // unquoted
};

struct ExtensionOffer {
    std::string_view name;
    std::vector<ExtensionParam> params;
};

// Reads the grammar of RFC 6455 section 9.1 with the optional whitespace and
// empty list elements of RFC 9110 section 5.6.
class ExtensionListReader {
public:
    explicit ExtensionListReader(std::string_view text) : text_(text) {}

    // nullopt when the header is malformed anywhere.
    std::optional<std::vector<ExtensionOffer>> read() {
        std::vector<ExtensionOffer> offers;
        skip_ows();
        while (!at_end()) {
            if (accept(',')) {
                skip_ows();
                continue;
            }
            ExtensionOffer offer;
            offer.name = token();
            if (offer.name.empty()) return std::nullopt;
            skip_ows();
            while (accept(';')) {
                skip_ows();
                ExtensionParam param;
                param.name = token();
                if (param.name.empty()) return std::nullopt;
                skip_ows();
                if (accept('=')) {
                    skip_ows();
                    param.value = value();
                    if (!param.value) return std::nullopt;
                    skip_ows();
                }
                offer.params.push_back(std::move(param));
            }
            if (!at_end() && !accept(',')) return std::nullopt;
            offers.push_back(std::move(offer));
            skip_ows();
        }
        return offers;
    }

private:
    bool at_end() const { return pos_ == text_.size(); }

    bool accept(char c) {
        if (at_end() || text_[pos_] != c) return false;
        ++pos_;
        return true;
    }

    void skip_ows() {
        while (!at_end() && is_ows(text_[pos_])) ++pos_;
    }

    std::string_view token() {
        std::size_t start = pos_;
        while (!at_end() && is_tchar(text_[pos_])) ++pos_;
        return text_.substr(start, pos_ - start);
    }

    // token or quoted-string; section 9.1 requires an unquoted value to be a
    // token as well.
    std::optional<std::string> value() {
        if (!accept('"')) {
            std::string_view t = token();
            if (t.empty()) return std::nullopt;
            return std::string(t);
        }
        std::string unquoted;
        while (!at_end()) {
            char c = text_[pos_++];
            if (c == '"') {
                if (unquoted.empty() || !std::all_of(unquoted.begin(), unquoted.end(), is_tchar)) {
                    return std::nullopt;
                }
                return unquoted;
            }
            if (c == '\\') {
                if (at_end()) return std::nullopt;
                c = text_[pos_++];
            }
            unquoted.push_back(c);
        }
        return std::nullopt;  // unterminated
    }

    std::string_view text_;
    std::size_t pos_ = 0;
};

// RFC 7692 section 7.1.2: 8..15 as a decimal without leading zeros.
std::optional<int> window_bits(std::string_view v) {
    if (v.size() == 1 && (v[0] == '8' || v[0] == '9')) return v[0] - '0';
    if (v.size() == 2 && v[0] == '1' && v[1] >= '0' && v[1] <= '5') return 10 + (v[1] - '0');
    return std::nullopt;
}

// nullopt declines the offer; otherwise `response` holds our answer to it.
std::optional<DeflateParams> accept_deflate_offer(const ExtensionOffer& offer, std::string& response) {
    bool server_no_context_takeover = false;
    bool client_no_context_takeover = false;
    std::optional<int> server_max_window_bits;
    std::optional<int> client_max_window_bits;

    for (std::size_t i = 0; i < offer.params.size(); ++i) {
        const ExtensionParam& p = offer.params[i];
        // Section 7: an offer with a parameter given twice must be declined.
        for (std::size_t j = 0; j < i; ++j) {
            if (iequals(offer.params[j].name, p.name)) return std::nullopt;
        }
        if (iequals(p.name, "server_no_context_takeover")) {
            if (p.value) return std::nullopt;
            server_no_context_takeover = true;
        } else if (iequals(p.name, "client_no_context_takeover")) {
            if (p.value) return std::nullopt;
            client_no_context_takeover = true;
        } else if (iequals(p.name, "server_max_window_bits")) {
            if (!p.value) return std::nullopt;
            server_max_window_bits = window_bits(*p.value);
            if (!server_max_window_bits) return std::nullopt;
        } else if (iequals(p.name, "client_max_window_bits")) {
            // Without a value it only says the client could honour a limit
            // from us; we set none, so it needs no answer.
            if (p.value) {
                client_max_window_bits = window_bits(*p.value);
                if (!client_max_window_bits) return std::nullopt;
            }
        } else {
            return std::nullopt;
        }
    }

    DeflateParams params;
    params.server_no_context_takeover = server_no_context_takeover;
    params.client_no_context_takeover = client_no_context_takeover;
    params.server_max_window_bits = server_max_window_bits.value_or(15);
    params.client_max_window_bits = client_max_window_bits.value_or(15);

    response = "permessage-deflate";
    if (server_no_context_takeover) response += "; server_no_context_takeover";
    if (client_no_context_takeover) response += "; client_no_context_takeover";
    if (server_max_window_bits) {
        response += "; server_max_window_bits=" + std::to_string(*server_max_window_bits);
    }
    if (client_max_window_bits) {
        response += "; client_max_window_bits=" + std::to_string(*client_max_window_bits);
    }
    return params;
}

}  // namespace

std::string websocket_accept_key(std::string_view client_key) {
    std::string input;
    input.reserve(client_key.size() + websocket_guid.size());
    input.append(client_key);
    input.append(websocket_guid);

    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int digest_size = 0;
    // SHA-1 is a built-in digest of every provider, FIPS included; should it
    // still fail, the key comes out empty and the client rejects the handshake.
    EVP_Digest(input.data(), input.size(), digest.data(), &digest_size, EVP_sha1(), nullptr);

    // 4 output characters per 3 input bytes, plus the NUL EVP_EncodeBlock writes.
    std::array<unsigned char, (EVP_MAX_MD_SIZE + 2) / 3 * 4 + 1> encoded{};
    int n = EVP_EncodeBlock(encoded.data(), digest.data(), static_cast<int>(digest_size));
    return std::string(reinterpret_cast<const char*>(encoded.data()), static_cast<std::size_t>(n));
}

std::optional<DeflateParams> negotiate_deflate(std::string_view extensions_header,
                                               std::string& response_extension) {
    std::optional<std::vector<ExtensionOffer>> offers = ExtensionListReader(extensions_header).read();
    if (!offers) return std::nullopt;
    for (const ExtensionOffer& offer : *offers) {
        if (!iequals(offer.name, "permessage-deflate")) continue;
        std::string response;
        if (std::optional<DeflateParams> params = accept_deflate_offer(offer, response)) {
            response_extension = std::move(response);
            return params;
        }
    }
    return std::nullopt;
}

HandshakeResult accept_handshake(const HttpRequest& request, const HandshakePolicy& policy) {
    if (request.method != "GET") {
        return reject(405, "method not allowed: WebSocket upgrade requires GET", "Allow: GET\r\n");
    }
    if (request.version != "HTTP/1.1") {
        return reject(400, "WebSocket upgrade requires HTTP/1.1");
    }
    std::optional<std::string> host = request.header("Host");
    if (!host || host->empty()) {
        return reject(400, "missing Host header");
    }
    std::optional<std::string> upgrade = request.header("Upgrade");
    if (!upgrade || !token_list_contains(*upgrade, "websocket")) {
        return reject(426, "WebSocket upgrade required",
                      "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n");
    }
    std::optional<std::string> connection = request.header("Connection");
    if (!connection || !token_list_contains(*connection, "upgrade")) {
        return reject(400, "Connection header must contain upgrade");
    }
    std::optional<std::string> version = request.header("Sec-WebSocket-Version");
    if (!version || *version != "13") {
        return reject(426, "unsupported WebSocket version", "Sec-WebSocket-Version: 13\r\n");
    }
    std::optional<std::string> key = request.header("Sec-WebSocket-Key");
    if (!key || !valid_websocket_key(*key)) {
        return reject(400, "invalid Sec-WebSocket-Key");
    }
    if (!policy.allowed_origins.empty()) {
        if (std::optional<std::string> origin = request.header("Origin")) {
            const bool allowed = std::any_of(policy.allowed_origins.begin(), policy.allowed_origins.end(),
                                             [&](const std::string& o) { return iequals(o, *origin); });
            if (!allowed) return reject(403, "origin not allowed");
        }
    }

    HandshakeResult result;
    if (std::optional<std::string> offered = request.header("Sec-WebSocket-Protocol")) {
        result.subprotocol = choose_subprotocol(*offered, policy.subprotocols);
    }
    if (result.subprotocol.empty() && policy.subprotocol_required) {
        return reject(400, policy.subprotocol_missing_reason);
    }

    std::string extension_response;
    if (policy.deflate.enabled) {
        if (std::optional<std::string> extensions = request.header("Sec-WebSocket-Extensions")) {
            result.deflate = negotiate_deflate(*extensions, extension_response);
        }
    }

    result.status = 101;
    result.reason = "Switching Protocols";
    result.response =
        "HTTP/1.1 101 Switching Protocols\r\n"
        "Upgrade: websocket\r\n"
        "Connection: Upgrade\r\n"
        "Sec-WebSocket-Accept: " + websocket_accept_key(*key) + "\r\n";
    if (!result.subprotocol.empty()) {
        result.response += "Sec-WebSocket-Protocol: " + result.subprotocol + "\r\n";
    }
    if (result.deflate) {
        result.response += "Sec-WebSocket-Extensions: " + extension_response + "\r\n";
    }
    result.response += "\r\n";
    return result;
}

std::string http_error_response(int status, std::string_view reason, std::string_view extra_headers) {
    // The reason may come from configuration; a CR or LF in it would split
    // the status line into forged header fields.
    std::string line(reason);
    std::replace_if(
        line.begin(), line.end(),
        [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }, ' ');

    std::string body = line + "\n";
    std::string response = "HTTP/1.1 " + std::to_string(status) + " " + line + "\r\n";
    response += "Content-Type: text/plain; charset=utf-8\r\n";
    response += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    response += "Connection: close\r\n";
    response += extra_headers;
    response += "\r\n";
    response += body;
    return response;
}

}  // namespace kreuz::ws
