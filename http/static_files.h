// Serves the demo pages over plain HTTP: from the files built into the
// binary, or from a directory when the configuration names one.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "websocket/http_request.h"

namespace kreuz::http {

class StaticFiles {
public:
    // An empty root serves the embedded copy of www/.
    explicit StaticFiles(std::string root) : root_(std::move(root)) {}

    // A complete HTTP response for GET/HEAD of a file, or nullopt when
    // nothing is served at that path (the caller answers 404).
    std::optional<std::string> respond(const ws::HttpRequest& request) const;

private:
    std::optional<std::string> read(std::string_view path) const;

    std::string root_;
};

// Content-Type for a file name, by extension.
std::string_view content_type_for(std::string_view path);

}  // namespace kreuz::http
