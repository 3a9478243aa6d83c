#include <doctest/doctest.h>

#include <cstddef>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "wamp/json_reader.h"
#include "wamp/message.h"

using kreuz::wamp::JsonReader;
using nlohmann::json;

namespace {

// Equal values with equal types at every node: json's operator== calls 1 and
// 1u equal, the rest of kreuz does not always.
bool same_json(const json& a, const json& b) {
    if (a.type() != b.type()) return false;
    if (a.is_array() || a.is_object()) {
        if (a.size() != b.size()) return false;
        for (auto ia = a.begin(), ib = b.begin(); ia != a.end(); ++ia, ++ib) {
            if (a.is_object() && ia.key() != ib.key()) return false;
            if (!same_json(ia.value(), ib.value())) return false;
        }
        return true;
    }
    return a == b;
}

void check_same_as_nlohmann(JsonReader& reader, const std::string& text, bool expect_fast) {
    CAPTURE(text);
    const std::optional<json> fast = reader.read(text);
    CHECK(fast.has_value() == expect_fast);
    if (fast) CHECK(same_json(*fast, json::parse(text)));
    const auto slow = kreuz::wamp::parse(text);
    const auto quick = kreuz::wamp::parse(text, reader);
    REQUIRE(slow.index() == quick.index());
    if (const auto* message = std::get_if<kreuz::wamp::Message>(&slow)) {
        CHECK(kreuz::wamp::serialize(*message) == kreuz::wamp::serialize(std::get<kreuz::wamp::Message>(quick)));
    } else {
        CHECK(std::get<kreuz::wamp::ParseError>(slow).kind == std::get<kreuz::wamp::ParseError>(quick).kind);
        CHECK(std::get<kreuz::wamp::ParseError>(slow).message == std::get<kreuz::wamp::ParseError>(quick).message);
    }
}

}  // namespace

TEST_CASE("json reader: the hot messages take the fast path and read as nlohmann reads them") {
    JsonReader reader;
    for (const char* text : {
             R"([2,"1:42","http://api.wamp.ws/procedure#echo","00000000000001a2000000010000002a"])",
             R"([7,"http://example.com/topic",{"a":[1,2,{"b":null}],"c":true,"d":"x"},["s1","s2"],["s3"]])",
             R"([7,"t",{"k":1,"k":2}])",
             R"([5,"t"])", R"( [ 6 , "t" ] )", R"([2,"id","p",18446744073709551615,-9223372036854775808,0,7])",
             R"("just a string")", R"(12)", R"([])", R"({})", R"([2,"ü","€",{"ключ":"значение"}])",
         }) {
        check_same_as_nlohmann(reader, text, true);
    }
}

TEST_CASE("json reader: declines what only nlohmann decides, and the result stays the same") {
    JsonReader reader;
    for (const char* text : {
             R"([2,"id","p",1.5])", R"([2,"id","p",-0])", R"([2,"id","p",-0.0])", R"([2,"id","p",1e400])",
             R"([2,"id","p",18446744073709551616])", R"([2,"id","p","\u00e9"])", R"([2,"id","p","\ud800"])",
             R"([2,"id","p","\udc00x"])", R"([2,"id","p",])", R"([2,"id","p"] x)", R"()", R"(   )",
             R"([2,"id","p",tru])", R"([2,"id","p",01])", "[2,\"id\",\"p\",\"\x01\"]", "[2,\"\xff\"]",
             "[2,\"\xed\xa0\x80\"]", R"({"a" 1})", R"([2,"id","p",NaN])",
         }) {
        check_same_as_nlohmann(reader, text, false);
    }
    std::string big = "[7,\"t\",\"" + std::string(JsonReader::fast_path_limit, 'x') + "\"]";
    check_same_as_nlohmann(reader, big, false);
    std::string deep = std::string(200, '[') + std::string(200, ']');
    const auto slow = kreuz::wamp::parse(deep);
    const auto quick = kreuz::wamp::parse(deep, reader);
    CHECK(std::get<kreuz::wamp::ParseError>(slow).message == std::get<kreuz::wamp::ParseError>(quick).message);
}

TEST_CASE("json reader: random texts built from JSON's pieces agree with nlohmann") {
    JsonReader reader;
    std::mt19937 random(20261202);
    const std::vector<std::string> pieces = {"[", "]", "{", "}", ",", ":", "\"a\"", "\"\\\"\"", "\"\\n\"", "1",
                                             "-1", "0", "-0", "2.5", "1e3", "true", "false", "null", " ",
                                             "99999999999999999999", "\"é\""};
    for (int round = 0; round < 20000; ++round) {
        std::string text;
        const std::size_t count = 1 + random() % 12;
        for (std::size_t i = 0; i < count; ++i) text += pieces[random() % pieces.size()];
        CAPTURE(text);
        if (const std::optional<json> fast = reader.read(text)) REQUIRE(same_json(*fast, json::parse(text)));
    }
}
