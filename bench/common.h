// Small pieces shared by the load generator: the clock, a fast random number
// generator for frame masks, the timestamp stamp carried in every payload, a
// latency histogram and the /proc readers for the server under test.
#pragma once

#include <sys/types.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace kreuz::bench {

// Monotonic nanoseconds (CLOCK_MONOTONIC, through uv_hrtime).
std::uint64_t now_ns();

// xorshift64*: frame masks only need to differ from frame to frame; the
// seed comes from the OpenSSL CSPRNG.
class Rng {
public:
    Rng();
    std::uint64_t next() {
        state_ ^= state_ >> 12;
        state_ ^= state_ << 25;
        state_ ^= state_ >> 27;
        return state_ * 0x2545F4914F6CDD1DULL;
    }
    std::uint32_t next32() { return static_cast<std::uint32_t>(next() >> 32); }

private:
    std::uint64_t state_;
};

// Every payload starts with a 32-character stamp: 16 hex digits of the
// monotonic send time in ns, 8 of the sender's index and 8 of a sequence
// number. The rest of the payload is 'x' padding up to the requested size.
inline constexpr std::size_t stamp_size = 32;

struct Stamp {
    std::uint64_t sent_ns = 0;
    std::uint32_t sender = 0;
    std::uint32_t seq = 0;
};

// Appends the stamp and padding, `size` characters in all (at least stamp_size).
void append_stamp(std::string& out, const Stamp& stamp, std::size_t size);
std::optional<Stamp> parse_stamp(std::string_view text);

// Log-linear histogram of nanosecond values: exact below 256, then 128
// sub-buckets per power of two (under 0.8 % relative error), fixed memory.
class Histogram {
public:
    void add(std::uint64_t value);
    void clear();
    std::uint64_t count() const { return count_; }
    std::uint64_t max() const { return max_; }
    std::uint64_t min() const { return count_ ? min_ : 0; }
    double mean() const { return count_ ? static_cast<double>(sum_) / static_cast<double>(count_) : 0.0; }
    // The value at quantile q in [0, 1] (midpoint of its bucket, clamped to max).
    std::uint64_t quantile(double q) const;

private:
    static constexpr std::size_t exact = 256;
    static constexpr std::size_t sub = 128;
    static constexpr std::size_t buckets = exact + 57 * sub;
    static std::size_t index(std::uint64_t value);
    static std::uint64_t lower(std::size_t index);
    static std::uint64_t upper(std::size_t index);

    std::array<std::uint64_t, buckets> counts_{};
    std::uint64_t count_ = 0;
    std::uint64_t sum_ = 0;
    std::uint64_t min_ = ~0ULL;
    std::uint64_t max_ = 0;
};

// utime + stime of a process, in seconds, from /proc/PID/stat.
std::optional<double> process_cpu_seconds(pid_t pid);
// VmRSS of a process, in KiB, from /proc/PID/status.
std::optional<std::uint64_t> process_rss_kib(pid_t pid);
// This process's own user + system CPU time, in seconds.
double self_cpu_seconds();

}  // namespace kreuz::bench
