#include "http/static_files.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "http/embedded_files.h"
#include "http/response.h"
#include "websocket/handshake.h"

namespace kreuz::http {

namespace {

bool ends_with(std::string_view s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// Only plain relative names are served: no "..", no hidden files, no
// percent-escapes or backslashes that could smuggle either past this check.
bool is_safe_path(std::string_view path) {
    if (path.empty() || path[0] != '/') return false;
    for (char c : path) {
        if (c == '%' || c == '\\' || static_cast<unsigned char>(c) < 0x20) return false;
    }
    std::size_t start = 1;
    while (start <= path.size()) {
        const std::size_t end = std::min(path.find('/', start), path.size());
        const std::string_view segment = path.substr(start, end - start);
        if (!segment.empty() && segment[0] == '.') return false;
        start = end + 1;
    }
    return true;
}

}  // namespace

std::string_view content_type_for(std::string_view path) {
    if (ends_with(path, ".html")) return "text/html; charset=utf-8";
    if (ends_with(path, ".js")) return "text/javascript; charset=utf-8";
    if (ends_with(path, ".css")) return "text/css; charset=utf-8";
    if (ends_with(path, ".json")) return "application/json";
    if (ends_with(path, ".svg")) return "image/svg+xml";
    if (ends_with(path, ".png")) return "image/png";
    if (ends_with(path, ".ico")) return "image/x-icon";
    if (ends_with(path, ".txt")) return "text/plain; charset=utf-8";
    return "application/octet-stream";
}

std::optional<std::string> StaticFiles::read(std::string_view path) const {
    if (root_.empty()) {
        for (const EmbeddedFile& f : embedded_www_files()) {
            if (f.path == path) return std::string(f.content);
        }
        return std::nullopt;
    }
    const std::string file = root_ + std::string(path);
    std::error_code ec;
    if (!std::filesystem::is_regular_file(file, ec)) return std::nullopt;
    std::ifstream in(file, std::ios::binary);
    if (!in) return std::nullopt;
    std::ostringstream content;
    content << in.rdbuf();
    if (in.bad()) return std::nullopt;
    return std::move(content).str();
}

std::optional<std::string> StaticFiles::respond(const ws::HttpRequest& request) const {
    std::string path(request.path());
    if (!path.empty() && path.back() == '/') path += "index.html";
    if (!is_safe_path(path)) return std::nullopt;
    if (request.method != "GET" && request.method != "HEAD") {
        return ws::http_error_response(405, "method not allowed", "Allow: GET, HEAD\r\n");
    }
    auto content = read(path);
    if (!content) return std::nullopt;
    // The connection leaves the body out for HEAD.
    return http_response(200, content_type_for(path), *content, {}, Caching::revalidate);
}

}  // namespace kreuz::http
