#include "router/timers.h"

namespace kreuz::router {

namespace {

void close_handle(uv_timer_t* handle) {
    uv_close(reinterpret_cast<uv_handle_t*>(handle),
             [](uv_handle_t* closed) { delete reinterpret_cast<uv_timer_t*>(closed); });
}

}  // namespace

Timers::~Timers() {
    // Destroying a callback may run destructors that look for their session
    // (a CallReply does); they must do so while this object is still whole.
    auto queue = std::move(queue_);
    deadlines_.clear();
    queue.clear();
    if (handle_) close_handle(handle_);
}

Timers::Id Timers::schedule(std::uint64_t delay_ms, std::function<void()> callback) {
    const Id id = next_id_++;
    const std::uint64_t deadline = uv_now(loop_) + delay_ms;
    queue_.emplace(std::pair{deadline, id}, std::move(callback));
    deadlines_.emplace(id, deadline);
    if (!running_) update();
    return id;
}

void Timers::cancel(Id id) {
    auto it = deadlines_.find(id);
    if (it == deadlines_.end()) return;
    auto node = queue_.extract(std::pair{it->second, id});
    deadlines_.erase(it);
    if (!running_) update();
    // The callback goes last, when this object is consistent again, because
    // its destructor may call back in here.
}

void Timers::on_timer(uv_timer_t* handle) { static_cast<Timers*>(handle->data)->run_due(); }

void Timers::run_due() {
    running_ = true;
    const std::uint64_t now = uv_now(loop_);
    // One at a time from the front: a callback may cancel or add others.
    while (!queue_.empty() && queue_.begin()->first.first <= now) {
        auto node = queue_.extract(queue_.begin());
        deadlines_.erase(node.key().second);
        node.mapped()();
    }
    running_ = false;
    update();
}

void Timers::update() {
    if (queue_.empty()) {
        if (handle_) {
            close_handle(handle_);
            handle_ = nullptr;
        }
        return;
    }
    if (!handle_) {
        handle_ = new uv_timer_t;
        uv_timer_init(loop_, handle_);
        handle_->data = this;
    }
    const std::uint64_t deadline = queue_.begin()->first.first;
    const std::uint64_t now = uv_now(loop_);
    uv_timer_start(handle_, on_timer, deadline > now ? deadline - now : 0, 0);
}

}  // namespace kreuz::router
