#include "http/prometheus.h"

#include <cmath>
#include <cstdio>

namespace kreuz::http {

std::string escape_label_value(std::string_view value) {
    std::string out;
    out.reserve(value.size());
    for (char c : value) {
        if (c == '\\' || c == '"') {
            out += '\\';
            out += c;
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out += c;
        }
    }
    return out;
}

void append_help(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
    out.append("# HELP ").append(name).append(" ").append(help).append("\n");
    out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

namespace {

std::string format_value(double value) {
    if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
    char buffer[40];
    // Counters are integers and must print as such, however large.
    if (value == std::floor(value) && std::fabs(value) < 1e18) {
        std::snprintf(buffer, sizeof buffer, "%lld", static_cast<long long>(value));
    } else {
        std::snprintf(buffer, sizeof buffer, "%.9g", value);
    }
    return buffer;
}

}  // namespace

void append_sample(std::string& out, std::string_view name, std::string_view labels, double value) {
    out.append(name);
    if (!labels.empty()) out.append("{").append(labels).append("}");
    out.append(" ").append(format_value(value)).append("\n");
}

void append_histogram(std::string& out, std::string_view name, std::string_view labels,
                      const router::LatencyHistogram& histogram) {
    const std::string bucket_name = std::string(name) + "_bucket";
    const std::string prefix = labels.empty() ? std::string() : std::string(labels) + ",";
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < router::LatencyHistogram::bounds.size(); ++i) {
        cumulative += histogram.bucket(i);
        append_sample(out, bucket_name, prefix + "le=\"" + format_value(router::LatencyHistogram::bounds[i]) + "\"",
                      static_cast<double>(cumulative));
    }
    append_sample(out, bucket_name, prefix + "le=\"+Inf\"", static_cast<double>(histogram.count()));
    append_sample(out, std::string(name) + "_sum", labels, histogram.sum());
    append_sample(out, std::string(name) + "_count", labels, static_cast<double>(histogram.count()));
}

}  // namespace kreuz::http
