#include "bench/common.h"

#include <openssl/rand.h>
#include <sys/resource.h>
#include <unistd.h>
#include <uv.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <fstream>
#include <sstream>

namespace kreuz::bench {

std::uint64_t now_ns() { return uv_hrtime(); }

Rng::Rng() : state_(0) {
    if (RAND_bytes(reinterpret_cast<unsigned char*>(&state_), sizeof state_) != 1) state_ = uv_hrtime();
    if (state_ == 0) state_ = 0x9E3779B97F4A7C15ULL;
}

namespace {

constexpr char hex_digits[] = "0123456789abcdef";

void append_hex(std::string& out, std::uint64_t value, int digits) {
    for (int i = digits - 1; i >= 0; --i) out.push_back(hex_digits[(value >> (4 * i)) & 0xF]);
}

bool parse_hex(std::string_view text, std::uint64_t& value) {
    value = 0;
    for (char c : text) {
        int d;
        if (c >= '0' && c <= '9') d = c - '0';
        else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
        else return false;
        value = (value << 4) | static_cast<std::uint64_t>(d);
    }
    return true;
}

}  // namespace

void append_stamp(std::string& out, const Stamp& stamp, std::size_t size) {
    append_hex(out, stamp.sent_ns, 16);
    append_hex(out, stamp.sender, 8);
    append_hex(out, stamp.seq, 8);
    if (size > stamp_size) out.append(size - stamp_size, 'x');
}

std::optional<Stamp> parse_stamp(std::string_view text) {
    if (text.size() < stamp_size) return std::nullopt;
    std::uint64_t sent = 0, sender = 0, seq = 0;
    if (!parse_hex(text.substr(0, 16), sent) || !parse_hex(text.substr(16, 8), sender) ||
        !parse_hex(text.substr(24, 8), seq)) {
        return std::nullopt;
    }
    return Stamp{sent, static_cast<std::uint32_t>(sender), static_cast<std::uint32_t>(seq)};
}

std::size_t Histogram::index(std::uint64_t value) {
    if (value < exact) return static_cast<std::size_t>(value);
    const int msb = 63 - std::countl_zero(value);
    const int e = msb - 7;  // >= 1
    const std::uint64_t m = value >> e;  // in [128, 256)
    return exact + static_cast<std::size_t>(e - 1) * sub + static_cast<std::size_t>(m - 128);
}

std::uint64_t Histogram::lower(std::size_t i) {
    if (i < exact) return i;
    const std::size_t j = i - exact;
    const std::size_t e = j / sub + 1;
    const std::uint64_t m = j % sub + 128;
    return m << e;
}

std::uint64_t Histogram::upper(std::size_t i) {
    if (i < exact) return i;
    const std::size_t j = i - exact;
    const std::size_t e = j / sub + 1;
    const std::uint64_t m = j % sub + 128;
    return ((m + 1) << e) - 1;
}

void Histogram::add(std::uint64_t value) {
    ++counts_[index(value)];
    ++count_;
    sum_ += value;
    min_ = std::min(min_, value);
    max_ = std::max(max_, value);
}

void Histogram::clear() { *this = Histogram{}; }

std::uint64_t Histogram::quantile(double q) const {
    if (count_ == 0) return 0;
    q = std::clamp(q, 0.0, 1.0);
    // The smallest value with at least ceil(q * count) values at or below it.
    auto rank = static_cast<std::uint64_t>(q * static_cast<double>(count_) + 0.999999);
    rank = std::clamp<std::uint64_t>(rank, 1, count_);
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < buckets; ++i) {
        seen += counts_[i];
        if (seen >= rank) {
            const std::uint64_t mid = lower(i) + (upper(i) - lower(i)) / 2;
            return std::clamp(mid, min(), max_);
        }
    }
    return max_;
}

std::optional<double> process_cpu_seconds(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!in || !std::getline(in, line)) return std::nullopt;
    // The command name (field 2) may contain spaces and parentheses: the
    // fields that follow start after the last ')'.
    const auto paren = line.rfind(')');
    if (paren == std::string::npos) return std::nullopt;
    std::istringstream fields(line.substr(paren + 1));
    std::string field;
    unsigned long long utime = 0, stime = 0;
    // After ')': field 3 (state) is token 0, so utime (14) is token 11 and stime (15) token 12.
    for (int token = 0; token <= 12; ++token) {
        if (!(fields >> field)) return std::nullopt;
        if (token == 11) utime = std::stoull(field);
        if (token == 12) stime = std::stoull(field);
    }
    const long ticks = sysconf(_SC_CLK_TCK);
    return static_cast<double>(utime + stime) / static_cast<double>(ticks > 0 ? ticks : 100);
}

std::optional<std::uint64_t> process_rss_kib(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (in && std::getline(in, line)) {
        if (line.rfind("VmRSS:", 0) == 0) {
            std::istringstream value(line.substr(6));
            std::uint64_t kib = 0;
            if (value >> kib) return kib;
            return std::nullopt;
        }
    }
    return std::nullopt;
}

double self_cpu_seconds() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    auto seconds = [](const timeval& tv) { return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6; };
    return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

}  // namespace kreuz::bench
