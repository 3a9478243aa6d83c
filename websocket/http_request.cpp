#include "websocket/http_request.h"

#include <utility>

namespace kreuz::ws {

namespace {

constexpr std::string_view crlf = "\r\n";
constexpr std::string_view head_terminator = "\r\n\r\n";

char ascii_lower(char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool is_token(std::string_view s) {
    if (s.empty()) return false;
    for (char c : s) {
        if (!is_tchar(c)) return false;
    }
    return true;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// CTL of RFC 5234: 0x00-0x1F and DEL.
bool is_ctl(char c) {
    auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
}

// Any visible ASCII character. Stricter than RFC 3986 on purpose: a target
// with raw non-ASCII bytes is not something a WebSocket client sends.
bool is_target_char(char c) {
    auto u = static_cast<unsigned char>(c);
    return u > 0x20 && u < 0x7f;
}

}  // namespace

bool is_ows(char c) { return c == ' ' || c == '\t'; }

std::string_view trim_ows(std::string_view s) {
    while (!s.empty() && is_ows(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_ows(s.back())) s.remove_suffix(1);
    return s;
}

bool is_tchar(char c) {
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
    return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
    }
    return true;
}

bool token_list_contains(std::string_view list, std::string_view token) {
    while (true) {
        std::size_t comma = list.find(',');
        std::string_view element = trim_ows(list.substr(0, comma));
        if (!element.empty() && iequals(element, token)) return true;
        if (comma == std::string_view::npos) return false;
        list.remove_prefix(comma + 1);
    }
}

std::string_view HttpRequest::path() const {
    std::string_view t = target;
    return t.substr(0, t.find('?'));
}

std::optional<std::string> HttpRequest::header(std::string_view name) const {
    std::optional<std::string> joined;
    for (const HttpHeader& h : headers) {
        if (!iequals(h.name, name)) continue;
        if (joined) {
            joined->append(", ");
            joined->append(h.value);
        } else {
            joined = h.value;
        }
    }
    return joined;
}

HttpRequestParser::HttpRequestParser(HttpLimits limits) : limits_(limits) {}

std::size_t HttpRequestParser::feed(std::string_view data) {
    if (status_ != Status::incomplete) return 0;

    // Append one line (or the rest of the data) at a time so that every line
    // ending is checked as it arrives and nothing past the blank line is taken.
    std::size_t consumed = 0;
    while (consumed < data.size()) {
        std::string_view rest = data.substr(consumed, limits_.max_head_bytes - head_.size());
        std::size_t lf = rest.find('\n');
        std::size_t take = lf == std::string_view::npos ? rest.size() : lf + 1;
        head_.append(rest.substr(0, take));
        consumed += take;

        if (lf != std::string_view::npos) {
            // Without this a client using bare LF would never reach the
            // terminator and would only be stopped by the size limit or the
            // handshake timeout.
            if (head_.size() < 2 || head_[head_.size() - 2] != '\r') {
                fail(400, "bare LF line ending is not allowed");
                return consumed;
            }
            if (head_.ends_with(head_terminator)) {
                parse_head();
                return consumed;
            }
        }
        // A head that fills the limit without its terminator can only grow.
        if (head_.size() >= limits_.max_head_bytes) {
            fail(431, "request head too large");
            return consumed;
        }
    }
    return consumed;
}

void HttpRequestParser::fail(int status, std::string reason) {
    status_ = Status::error;
    error_status_ = status;
    error_reason_ = std::move(reason);
}

void HttpRequestParser::parse_head() {
    // Every line of the head, each still followed by its CRLF; the final
    // CRLF (the blank line) is dropped so that no empty line remains.
    std::string_view lines(head_);
    lines.remove_suffix(crlf.size());

    std::size_t end = lines.find(crlf);
    std::string_view request_line = lines.substr(0, end);
    lines.remove_prefix(end + crlf.size());

    std::size_t sp1 = request_line.find(' ');
    std::size_t sp2 = sp1 == std::string_view::npos ? sp1 : request_line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos) {
        fail(400, "malformed request line");
        return;
    }
    std::string_view method = request_line.substr(0, sp1);
    std::string_view target = request_line.substr(sp1 + 1, sp2 - sp1 - 1);
    std::string_view version = request_line.substr(sp2 + 1);

    if (!is_token(method) || target.empty()) {
        fail(400, "malformed request line");
        return;
    }
    for (char c : target) {
        if (!is_target_char(c)) {
            fail(400, "malformed request line");
            return;
        }
    }
    if (version.size() != 8 || !version.starts_with("HTTP/") || !is_digit(version[5]) ||
        version[6] != '.' || !is_digit(version[7])) {
        fail(400, "malformed request line");
        return;
    }
    if (target.front() != '/') {
        fail(400, "request target must be in origin form");
        return;
    }
    if (version != "HTTP/1.1" && version != "HTTP/1.0") {
        fail(505, "HTTP version not supported");
        return;
    }
    request_.method = method;
    request_.target = target;
    request_.version = version;

    bool seen_host = false;
    while (!lines.empty()) {
        end = lines.find(crlf);
        std::string_view line = lines.substr(0, end);
        lines.remove_prefix(end + crlf.size());

        if (is_ows(line.front())) {
            fail(400, "obsolete line folding is not allowed");
            return;
        }
        std::size_t colon = line.find(':');
        if (colon == std::string_view::npos || colon == 0) {
            fail(400, "malformed header field");
            return;
        }
        std::string_view name = line.substr(0, colon);
        // RFC 9112 section 5.1: such a field must be rejected, not trimmed,
        // because intermediaries disagree on what it means.
        if (is_ows(name.back())) {
            fail(400, "whitespace between header field name and colon");
            return;
        }
        if (!is_token(name)) {
            fail(400, "malformed header field");
            return;
        }
        std::string_view value = trim_ows(line.substr(colon + 1));
        for (char c : value) {
            if (is_ctl(c) && c != '\t') {
                fail(400, "control character in header field value");
                return;
            }
        }
        // RFC 9112 section 3.2: a request with several Host fields is invalid.
        if (iequals(name, "Host")) {
            if (seen_host) {
                fail(400, "multiple Host header fields");
                return;
            }
            seen_host = true;
        }
        if (request_.headers.size() >= limits_.max_headers) {
            fail(431, "too many header fields");
            return;
        }
        request_.headers.push_back(HttpHeader{std::string(name), std::string(value)});
    }
    status_ = Status::complete;
}

}  // namespace kreuz::ws
