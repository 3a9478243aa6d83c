// log.format: json — one JSON object per line, for log collectors that
// would otherwise have to parse the text layout.
#pragma once

namespace spdlog {
class logger;
}

namespace kreuz::app {

// Replaces the logger's formatter: {"time": ISO 8601 UTC, "level", "msg"}.
void use_json_log_format(spdlog::logger& logger);

}  // namespace kreuz::app
