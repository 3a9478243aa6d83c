#include "router/metrics.h"

namespace kreuz::router {

void LatencyHistogram::observe(double seconds) {
    ++count_;
    sum_ += seconds;
    for (std::size_t i = 0; i < bounds.size(); ++i) {
        if (seconds <= bounds[i]) {
            ++buckets_[i];
            return;
        }
    }
}

}  // namespace kreuz::router
