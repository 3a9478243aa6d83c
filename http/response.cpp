#include "http/response.h"

namespace kreuz::http {

std::string reason_phrase(int status) {
    switch (status) {
        case 200: return "OK";
        case 202: return "Accepted";
        case 400: return "Bad Request";
        case 401: return "Unauthorized";
        case 403: return "Forbidden";
        case 404: return "Not Found";
        case 405: return "Method Not Allowed";
        case 413: return "Content Too Large";
        case 415: return "Unsupported Media Type";
        case 503: return "Service Unavailable";
        default: return "Status";
    }
}

std::string http_response(int status, std::string_view content_type, std::string_view body,
                          std::string_view extra_headers, Caching caching) {
    std::string out = "HTTP/1.1 " + std::to_string(status) + " " + reason_phrase(status) + "\r\n";
    out.append("Content-Type: ").append(content_type).append("\r\n");
    out.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n");
    out.append(caching == Caching::no_store ? "Cache-Control: no-store\r\n" : "Cache-Control: no-cache\r\n");
    out.append("X-Content-Type-Options: nosniff\r\nConnection: close\r\n");
    out.append(extra_headers).append("\r\n");
    out.append(body);
    return out;
}

std::string json_response(int status, const nlohmann::json& body, std::string_view extra_headers) {
    // Replacement keeps a reply valid UTF-8 whatever bytes a request carried.
    const std::string text = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    return http_response(status, "application/json", text, extra_headers);
}

std::string json_error(int status, std::string_view message, std::string_view extra_headers) {
    return json_response(status, {{"error", message}, {"status", status}}, extra_headers);
}

}  // namespace kreuz::http
