#include <doctest/doctest.h>

#include "router/uri_rules.h"

using kreuz::config::UriRule;
using kreuz::router::UriRules;

namespace {

UriRule rule(std::string uri, bool prefix, bool publish = true, bool subscribe = true, bool call = true) {
    return UriRule{std::move(uri), prefix, publish, subscribe, call};
}

}  // namespace

TEST_CASE("uri rules: no rules means an open realm") {
    UriRules rules({});
    CHECK(rules.open());
    const auto p = rules.lookup("anything");
    CHECK(p.publish);
    CHECK(p.subscribe);
    CHECK(p.call);
}

TEST_CASE("uri rules: the AutobahnTestsuite testee's topics") {
    // registerForPubSub("http://example.com/simple", True) and ("http://example.com/foobar").
    UriRules rules({rule("http://example.com/simple", true), rule("http://example.com/foobar", false)});
    CHECK(rules.lookup("http://example.com/simple").publish);
    CHECK(rules.lookup("http://example.com/simple#1234").subscribe);
    CHECK(rules.lookup("http://example.com/foobar").subscribe);
    // The longest match is the exact-only foobar rule: no fallback to anything shorter.
    CHECK_FALSE(rules.lookup("http://example.com/foobar#1234").subscribe);
    CHECK_FALSE(rules.lookup("http://example.com/barbaz#1234").publish);
    CHECK_FALSE(rules.lookup("http://api.wamp.ws/procedure#echo").call);
}

TEST_CASE("uri rules: longest match wins, per permission kind") {
    UriRules rules({rule("", true, false, false, true), rule("http://a/", true, true, false, false),
                    rule("http://a/b", true, false, true, false), rule("http://a/b/exact", false, true, true, true)});
    auto p = rules.lookup("urn:other");
    CHECK_FALSE(p.publish);
    CHECK_FALSE(p.subscribe);
    CHECK(p.call);
    p = rules.lookup("http://a/x");
    CHECK(p.publish);
    CHECK_FALSE(p.subscribe);
    CHECK_FALSE(p.call);
    p = rules.lookup("http://a/bz");
    CHECK_FALSE(p.publish);
    CHECK(p.subscribe);
    p = rules.lookup("http://a/b/exact");
    CHECK(p.publish);
    CHECK(p.call);
    // Longer than the exact-only rule: that rule is the longest match and does not apply.
    p = rules.lookup("http://a/b/exactly");
    CHECK_FALSE(p.publish);
    CHECK_FALSE(p.subscribe);
    CHECK_FALSE(p.call);
}

TEST_CASE("uri rules: cached decisions stay correct past the cache bound") {
    UriRules rules({rule("t/", true, true, false, false)});
    for (int round = 0; round < 2; ++round) {
        for (int i = 0; i < 10000; ++i) {
            CHECK(rules.lookup("t/" + std::to_string(i)).publish);
            CHECK_FALSE(rules.lookup("u/" + std::to_string(i)).publish);
        }
    }
}

TEST_CASE("uri rules: the WAMP-CRA permissions object lists every rule") {
    const nlohmann::json open = UriRules({}).permissions();
    CHECK(open == nlohmann::json::parse(R"({"pubsub": [{"uri": "", "prefix": true, "pub": true, "sub": true}],
                                            "rpc": [{"uri": "", "call": true}]})"));
    UriRules rules({rule("http://example.com/", true, true, false, false),
                    rule("http://example.com/x", false, false, true, true)});
    CHECK(rules.permissions() == nlohmann::json::parse(R"({
        "pubsub": [{"uri": "http://example.com/", "prefix": true, "pub": true, "sub": false},
                   {"uri": "http://example.com/x", "prefix": false, "pub": false, "sub": true}],
        "rpc": [{"uri": "http://example.com/", "call": false}, {"uri": "http://example.com/x", "call": true}]})"));
}
