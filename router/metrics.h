// Counters of the WAMP core, exported by GET /metrics (http/prometheus.h).
// They are plain integers bumped on the loop's thread: reading them for a
// scrape needs no lock, and counting costs an increment on the hot path.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace kreuz::router {

// Cumulative latency buckets in seconds, as Prometheus histograms keep them.
class LatencyHistogram {
public:
    static constexpr std::array<double, 14> bounds = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                                      0.025,  0.05,    0.1,    0.25,  0.5,    1,     2.5};

    void observe(double seconds);

    std::uint64_t count() const { return count_; }
    double sum() const { return sum_; }
    // Observations at or below bounds[i] (not cumulative; the exporter sums).
    std::uint64_t bucket(std::size_t i) const { return buckets_[i]; }

private:
    std::array<std::uint64_t, bounds.size()> buckets_{};
    std::uint64_t count_ = 0;
    double sum_ = 0;
};

// How CALLs ended, by the kind of answer.
struct CallCounts {
    std::uint64_t results = 0;
    std::uint64_t errors = 0;
    std::uint64_t dropped = 0;  // answered after the caller had left
};

struct RealmMetrics {
    // WAMP messages by type id (0..8), received from and sent to sessions.
    std::array<std::uint64_t, 9> messages_in{};
    std::array<std::uint64_t, 9> messages_out{};
    std::uint64_t sessions_opened = 0;
    std::uint64_t publications = 0;  // by sessions, the publish bridge and dispatch
    std::uint64_t deliveries = 0;    // EVENTs queued to receivers
    CallCounts calls;
    LatencyHistogram call_latency;  // CALL received -> CALLRESULT / CALLERROR queued
    std::uint64_t auth_failures = 0;
    // Actions the rules refused.
    std::uint64_t denied_publish = 0;
    std::uint64_t denied_subscribe = 0;
    std::uint64_t denied_call = 0;
    // The HTTP publish bridge: requests by answer status class.
    std::uint64_t bridge_accepted = 0;
    std::uint64_t bridge_refused = 0;
};

}  // namespace kreuz::router
