// Complete HTTP/1.1 responses for kreuz's own pages. Every one closes the
// connection: the plain-HTTP side serves one request per connection.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace kreuz::http {

std::string reason_phrase(int status);

// How long a client may keep a response: never (the operator pages, the
// bridge's answers) or until it has asked again (static files).
enum class Caching { no_store, revalidate };

// The one writer of kreuz's HTTP responses. `extra_headers` is zero or more
// "Name: value\r\n" lines. (The WebSocket layer writes its handshake
// refusals itself: websocket/ knows nothing above it.)
std::string http_response(int status, std::string_view content_type, std::string_view body,
                          std::string_view extra_headers = {}, Caching caching = Caching::no_store);

std::string json_response(int status, const nlohmann::json& body, std::string_view extra_headers = {});

// {"error": message, "status": status}: the form every refusal of the
// publish bridge and the health pages takes.
std::string json_error(int status, std::string_view message, std::string_view extra_headers = {});

}  // namespace kreuz::http
