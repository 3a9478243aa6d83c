// Strict, bounded parser for one HTTP/1.1 request head (request line and
// header fields, RFC 9112). It only collects the head; bodies are not read.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "websocket/options.h"

namespace kreuz::ws {

struct HttpHeader {
    std::string name;   // as sent; compare case-insensitively
    std::string value;  // optional whitespace around it removed
};

struct HttpRequest {
    std::string method;
    std::string target;   // request-target as sent, e.g. "/ws?x=1"
    std::string version;  // "HTTP/1.1"
    std::vector<HttpHeader> headers;
    std::string body;     // of a plain request, as its Content-Length framed it

    // target up to the first '?'.
    std::string_view path() const;
    // Field value by case-insensitive name; repeated fields are joined with
    // ", " (RFC 9110 5.3). nullopt when the field is absent.
    std::optional<std::string> header(std::string_view name) const;
};

class HttpRequestParser {
public:
    enum class Status { incomplete, complete, error };

    explicit HttpRequestParser(HttpLimits limits = {});

    // Consumes bytes up to and including the blank line that ends the head and
    // returns how many it consumed. Bytes after the head are not consumed:
    // they belong to whatever protocol the request switches to.
    std::size_t feed(std::string_view data);

    Status status() const { return status_; }
    HttpRequest& request() { return request_; }
    // When status() == error: 400, 431 or 505, and a one-line reason.
    int error_status() const { return error_status_; }
    const std::string& error_reason() const { return error_reason_; }

private:
    void parse_head();
    void fail(int status, std::string reason);

    HttpLimits limits_;
    std::string head_;
    Status status_ = Status::incomplete;
    HttpRequest request_;
    int error_status_ = 0;
    std::string error_reason_;
};

// Optional whitespace (SP / HTAB) of RFC 9110 section 5.6.3, and a copy of
// `s` without it at either end.
bool is_ows(char c);
std::string_view trim_ows(std::string_view s);
// tchar of RFC 9110 section 5.6.2.
bool is_tchar(char c);

// Case-insensitive ASCII comparison, used for header names and tokens.
bool iequals(std::string_view a, std::string_view b);

// True when the comma-separated token list `list` contains `token`
// (case-insensitive, optional whitespace around elements ignored).
bool token_list_contains(std::string_view list, std::string_view token);

}  // namespace kreuz::ws
