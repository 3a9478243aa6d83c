#include <doctest/doctest.h>

#include <memory>
#include <vector>

#include "websocket/frame_queue.h"

using kreuz::ws::FrameQueue;

namespace {

std::vector<int> contents(const FrameQueue<int>& q) { return {q.begin(), q.end()}; }

}  // namespace

TEST_CASE("frame queue: first in, first out, with pops at both ends") {
    FrameQueue<int> q;
    CHECK(q.empty());
    for (int i = 0; i < 5; ++i) q.push_back(i);
    CHECK(q.size() == 5);
    CHECK(q.front() == 0);
    q.pop_front();
    q.pop_back();
    CHECK(contents(q) == std::vector<int>{1, 2, 3});
    CHECK(q.back() == 3);
    q.pop_front();
    q.pop_front();
    q.pop_front();
    CHECK(q.empty());
    q.push_back(7);
    CHECK(contents(q) == std::vector<int>{7});
}

TEST_CASE("frame queue: a queue that never drains keeps its order through compactions") {
    FrameQueue<int> q;
    int next_in = 0;
    int next_out = 0;
    for (int round = 0; round < 1000; ++round) {
        q.push_back(next_in++);
        q.push_back(next_in++);
        CHECK(q.front() == next_out);
        q.pop_front();
        ++next_out;
    }
    CHECK(q.size() == 1000);
    for (int expected = next_out; !q.empty(); ++expected) {
        REQUIRE(q.front() == expected);
        q.pop_front();
    }
}

TEST_CASE("frame queue: a popped frame lets go of its payload at once") {
    FrameQueue<std::shared_ptr<int>> q;
    auto payload = std::make_shared<int>(1);
    q.push_back(payload);
    q.push_back(payload);
    CHECK(payload.use_count() == 3);
    q.pop_front();
    CHECK(payload.use_count() == 2);
    q.pop_back();
    CHECK(payload.use_count() == 1);
}
