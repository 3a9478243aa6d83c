// The Prometheus text exposition format (0.0.4) that GET /metrics answers in.
#pragma once

#include <string>
#include <string_view>

#include "router/metrics.h"

namespace kreuz::http {

// Prometheus text exposition helpers. `labels` is the inside of the braces,
// e.g. realm="default", already escaped with escape_label_value.
std::string escape_label_value(std::string_view value);
void append_help(std::string& out, std::string_view name, std::string_view type, std::string_view help);
void append_sample(std::string& out, std::string_view name, std::string_view labels, double value);
void append_histogram(std::string& out, std::string_view name, std::string_view labels,
                      const router::LatencyHistogram& histogram);

}  // namespace kreuz::http
