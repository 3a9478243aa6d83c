// Callbacks run after a delay on the router's loop, all served by one libuv
// timer armed for the earliest deadline.
//
// The uv_timer_t exists only while a callback is pending: it is closed when
// the last one has run or been cancelled. An idle router therefore holds no
// timer handle, and once every session is gone (sessions cancel their own
// callbacks when they close) nothing of this keeps the loop from ending.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <unordered_map>
#include <utility>

#include <uv.h>

namespace kreuz::router {

class Timers {
public:
    using Id = std::uint64_t;

    explicit Timers(uv_loop_t* loop) : loop_(loop) {}
    ~Timers();  // pending callbacks are dropped without running
    Timers(const Timers&) = delete;
    Timers& operator=(const Timers&) = delete;

    // Runs `callback` once, `delay_ms` from now (never from within this call).
    Id schedule(std::uint64_t delay_ms, std::function<void()> callback);
    // Drops a pending callback; nothing happens when it has run or was cancelled.
    void cancel(Id id);

    std::size_t pending() const { return deadlines_.size(); }

private:
    static void on_timer(uv_timer_t* handle);
    void run_due();
    // Arms the handle for the earliest deadline, or closes it when nothing is pending.
    void update();

    uv_loop_t* loop_;
    uv_timer_t* handle_ = nullptr;
    bool running_ = false;  // inside run_due(): callbacks may schedule and cancel
    Id next_id_ = 1;
    // (deadline, id) -> callback, earliest first; ids keep equal deadlines in
    // the order they were scheduled.
    std::map<std::pair<std::uint64_t, Id>, std::function<void()>> queue_;
    std::unordered_map<Id, std::uint64_t> deadlines_;
};

}  // namespace kreuz::router
