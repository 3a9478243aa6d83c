// FrameQueue: a connection's outgoing frames in order, as a vector read from a
// moving head instead of a std::deque. libstdc++'s deque allocates a 512-byte
// block and its map as soon as it is constructed, which is a quarter of an
// idle session's memory; an empty vector holds nothing. The head index keeps
// pop_front O(1); the consumed prefix is erased once it is half the vector,
// so a queue that never empties stays bounded, and the storage is released
// when a drained queue had grown beyond what steady traffic needs.
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

namespace kreuz::ws {

template <typename T>
class FrameQueue {
public:
    using iterator = typename std::vector<T>::iterator;
    using const_iterator = typename std::vector<T>::const_iterator;

    bool empty() const { return head_ == items_.size(); }
    std::size_t size() const { return items_.size() - head_; }
    T& front() { return items_[head_]; }
    const T& front() const { return items_[head_]; }
    T& back() { return items_.back(); }
    iterator begin() { return items_.begin() + static_cast<std::ptrdiff_t>(head_); }
    iterator end() { return items_.end(); }
    const_iterator begin() const { return items_.begin() + static_cast<std::ptrdiff_t>(head_); }
    const_iterator end() const { return items_.end(); }

    void push_back(T item) { items_.push_back(std::move(item)); }

    void pop_back() {
        items_.pop_back();
        if (empty()) reset();
    }

    void pop_front() {
        items_[head_++] = T();  // let go of the payload now, not at compaction
        if (empty()) {
            reset();
        } else if (head_ >= compact_from && head_ * 2 >= items_.size()) {
            items_.erase(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(head_));
            head_ = 0;
        }
    }

private:
    // Below this many consumed frames the prefix is not worth moving.
    static constexpr std::size_t compact_from = 32;
    // A drained queue keeps room for this many frames; beyond that it was a burst.
    static constexpr std::size_t kept_capacity = 64;

    void reset() {
        head_ = 0;
        if (items_.capacity() > kept_capacity) {
            std::vector<T>().swap(items_);
        } else {
            items_.clear();
        }
    }

    std::vector<T> items_;
    std::size_t head_ = 0;
};

}  // namespace kreuz::ws
