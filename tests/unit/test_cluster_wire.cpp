// The cluster's wire format: every message form and every way to break one,
// without a Redis.
#include <doctest/doctest.h>

#include <string>

#include "router/cluster/wire_format.h"

using namespace kreuz;

TEST_CASE("cluster wire: event channels keep realm and topic apart") {
    CHECK(cluster::event_channel("kreuz", "r", "a:b") == "kreuz:e:1:r:a:b");
    CHECK(cluster::event_channel("kreuz", "r:a", "b") == "kreuz:e:3:r:a:b");
}

TEST_CASE("cluster wire: an event round-trips with its lists") {
    wamp::Publish publication{"t", 1, true, std::vector<std::string>{"n.1", "n.2"}, std::vector<std::string>{}};
    const std::string payload = cluster::event_header("node-a", publication) + R"([8,"t",1])";
    cluster::DecodeFailure failure;
    const auto event = cluster::decode_event(payload, failure);
    REQUIRE(event);
    CHECK(event->origin_node == "node-a");
    CHECK(event->exclude == std::vector<std::string>{"n.1", "n.2"});
    CHECK(event->eligible == std::vector<std::string>{});
    CHECK(event->event_message == R"([8,"t",1])");

    const std::string plain = cluster::event_header("node-a", wamp::Publish{"t", 1, true, {}, {}}) + R"([8,"t","x\ny"])";
    const auto without_lists = cluster::decode_event(plain, failure);
    REQUIRE(without_lists);
    CHECK_FALSE(without_lists->exclude);
    CHECK_FALSE(without_lists->eligible);
    CHECK(without_lists->event_message == R"([8,"t","x\ny"])");
}

TEST_CASE("cluster wire: a newer version and broken messages are refused, never misread") {
    cluster::DecodeFailure failure;
    CHECK_FALSE(cluster::decode_event("2\nnode-b\n\n[8,\"t\",1]", failure));
    CHECK(failure.newer_version);
    for (const char* broken : {"", "x\nnode\n\n[8]", "1\n", "1\nnode\n", "1\n\n\n[8]", "1\nnode\n[1,2]\n[8]",
                               "1\nnode\n{\n[8]", "1\nnode\n\n"}) {
        CAPTURE(broken);
        CHECK_FALSE(cluster::decode_event(broken, failure));
        CHECK_FALSE(failure.newer_version);
    }
}
