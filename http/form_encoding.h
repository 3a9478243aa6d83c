// application/x-www-form-urlencoded, as query strings and form bodies carry
// it (WHATWG URL standard, "application/x-www-form-urlencoded parsing").
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kreuz::http {

using FormFields = std::vector<std::pair<std::string, std::string>>;

// name=value pairs split at '&', '+' read as a space, %XX decoded. A '%' not
// followed by two hex digits is kept as it is, as browsers do.
FormFields parse_form(std::string_view text);

// The first value of `name`, if any.
std::optional<std::string> form_value(const FormFields& fields, std::string_view name);

// The part of a request-target after the first '?', or empty.
std::string_view query_of(std::string_view target);

}  // namespace kreuz::http
