#include <doctest/doctest.h>

#include <string>

#include "wamp/curie.h"

using kreuz::wamp::PrefixMap;

TEST_CASE("wamp curie: the spec's example prefix expands by plain concatenation") {
    PrefixMap map;
    map.set("calc", "http://example.com/simple/calc#");
    CHECK(map.resolve("calc:square") == "http://example.com/simple/calc#square");
    CHECK(map.resolve("calc:") == "http://example.com/simple/calc#");
    CHECK(map.size() == 1);
}

TEST_CASE("wamp curie: strings without a declared prefix pass through") {
    PrefixMap map;
    map.set("event", "http://example.com/event#");
    CHECK(map.resolve("http://example.com/x") == "http://example.com/x");
    CHECK(map.resolve("https://example.com/x") == "https://example.com/x");
    CHECK(map.resolve("other:x") == "other:x");
    CHECK(map.resolve("onNewData") == "onNewData");
    CHECK(map.resolve("chat.updatejson.5") == "chat.updatejson.5");
    CHECK(map.resolve("") == "");
    CHECK(map.resolve("Event:x") == "Event:x");  // prefixes are case-sensitive
    CHECK(PrefixMap{}.resolve("event:x") == "event:x");
}

TEST_CASE("wamp curie: only the text before the first colon is the prefix") {
    PrefixMap map;
    map.set("a", "http://a/");
    map.set("a:b", "http://ab/");
    CHECK(map.resolve("a:b:c") == "http://a/b:c");
    CHECK(map.resolve("a:") == "http://a/");
    SUBCASE("a prefix containing a colon is stored but never takes effect") {
        PrefixMap only;
        only.set("a:b", "http://ab/");
        CHECK(only.size() == 1);
        CHECK(only.resolve("a:b:c") == "a:b:c");
    }
}

TEST_CASE("wamp curie: the empty prefix never applies, as in AutobahnPython") {
    PrefixMap map;
    map.set("", "http://default/");
    CHECK(map.resolve(":foo") == ":foo");
    CHECK(map.resolve("foo") == "foo");
    CHECK_FALSE(map.shrink("http://default/foo").has_value());
}

TEST_CASE("wamp curie: redefining a prefix overwrites it") {
    PrefixMap map;
    map.set("calc", "http://example.com/simple/calc#");
    map.set("calc", "http://example.com/v2/calc#");
    CHECK(map.size() == 1);
    CHECK(map.resolve("calc:square") == "http://example.com/v2/calc#square");
    CHECK_FALSE(map.shrink("http://example.com/simple/calc#square").has_value());
    CHECK(map.shrink("http://example.com/v2/calc#square") == "calc:square");
}

TEST_CASE("wamp curie: the http prefix quirk rewrites full http URIs") {
    PrefixMap map;
    map.set("http", "http://mirror.example.com/");
    CHECK(map.resolve("http://example.com/x") == "http://mirror.example.com///example.com/x");
    CHECK(map.resolve("https://example.com/x") == "https://example.com/x");
}

TEST_CASE("wamp curie: maps are independent") {
    PrefixMap one;
    PrefixMap two;
    one.set("p", "http://one/");
    two.set("p", "http://two/");
    CHECK(one.resolve("p:x") == "http://one/x");
    CHECK(two.resolve("p:x") == "http://two/x");
}

TEST_CASE("wamp curie: shrink picks the longest declared URI") {
    PrefixMap map;
    CHECK_FALSE(map.shrink("http://api.wamp.ws/error#generic").has_value());
    map.set("api", "http://api.wamp.ws/");
    map.set("error", "http://api.wamp.ws/error#");
    map.set("other", "http://example.com/");
    CHECK(map.shrink("http://api.wamp.ws/error#generic") == "error:generic");
    CHECK(map.shrink("http://api.wamp.ws/procedure#auth") == "api:procedure#auth");
    CHECK(map.shrink("http://api.wamp.ws/error#") == "error:");
    CHECK_FALSE(map.shrink("http://api.wamp.ws").has_value());
    CHECK_FALSE(map.shrink("urn:x").has_value());
    for (const std::string uri :
         {"http://api.wamp.ws/error#generic", "http://api.wamp.ws/procedure#auth", "http://example.com/a:b"}) {
        CAPTURE(uri);
        REQUIRE(map.shrink(uri).has_value());
        CHECK(map.resolve(*map.shrink(uri)) == uri);
    }
    SUBCASE("two prefixes for one URI: the alphabetically first is used") {
        map.set("b", "http://dup/");
        map.set("a", "http://dup/");
        CHECK(map.shrink("http://dup/x") == "a:x");
    }
    SUBCASE("a prefix that resolve() would not honour is never used") {
        map.set("x:y", "http://api.wamp.ws/error#generic");
        CHECK(map.shrink("http://api.wamp.ws/error#generic") == "error:generic");
    }
}
