// Complete HTTP/1.1 responses for kreuz's own pages. Every one closes the
// connection: the plain-HTTP side serves one request per connection.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace kreuz::router {

std::string reason_phrase(int status);

// `extra_headers` is zero or more "Name: value\r\n" lines.
std::string http_response(int status, std::string_view content_type, std::string_view body,
                          std::string_view extra_headers = {});

std::string json_response(int status, const nlohmann::json& body, std::string_view extra_headers = {});

// {"error": message, "status": status}: the form every refusal of the
// publish bridge and the health pages takes.
std::string json_error(int status, std::string_view message, std::string_view extra_headers = {});

}  // namespace kreuz::router
