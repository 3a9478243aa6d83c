#include <doctest/doctest.h>

#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "wamp/message.h"

using namespace kreuz::wamp;
using Kind = ParseError::Kind;
using nlohmann::json;

namespace {

Message parsed(std::string_view text) {
    INFO("text: ", text);
    ParseResult result = parse(text);
    if (const auto* error = std::get_if<ParseError>(&result)) FAIL("unexpected parse error: ", error->message);
    return std::get<Message>(std::move(result));
}

template <typename T>
T parsed_as(std::string_view text) {
    Message message = parsed(text);
    INFO("text: ", text);
    REQUIRE(std::holds_alternative<T>(message));
    return std::get<T>(std::move(message));
}

ParseError parse_error(std::string_view text) {
    INFO("text: ", text);
    ParseResult result = parse(text);
    REQUIRE(std::holds_alternative<ParseError>(result));
    return std::get<ParseError>(result);
}

bool is_ascii(std::string_view text) {
    for (const char c : text) {
        if (static_cast<unsigned char>(c) >= 0x80) return false;
    }
    return true;
}

}  // namespace

TEST_CASE("wamp message: every type round-trips through parse and serialize unchanged") {
    const std::vector<std::string> texts = {
        R"([0,"k3YpX0-aQ9vT_m2L",1,"MyRouter/1.0.0"])",
        R"([1,"calc","http://example.com/simple/calc#"])",
        R"([1,"p",""])",
        R"([2,"0.k2j9x","calc:square"])",
        R"([2,"id","http://example.com/p",23,null,"s",[1,2],{"a":true},-7,2.5])",
        R"([3,"id",null])",
        R"([3,"id",{"x":[1,2.5,"y"]}])",
        R"([4,"id","http://autobahn.tavendo.de/error#generic","math domain error"])",
        R"([4,"id","http://example.com/error#number_too_big","1001 too big for me, max is 1000",1000])",
        R"([4,"id","e","",[0,3]])",
        R"([5,"http://example.com/simple"])",
        R"([6,"event:myevent1"])",
        R"([7,"t","hello"])",
        R"([7,"t",null,false])",
        R"([7,"event:myevent1","hello",["NwtXQ8rdfPsy-ewS","dYqgDl0FthI6_hjb"]])",
        R"([7,"event:myevent1","hello",[],["NwtXQ8rdfPsy-ewS"]])",
        R"([7,"t","e",true,["a"]])",
        R"([7,"t","e",false,[]])",
        R"([8,"http://example.com/simple#1",{"n":1}])",
        R"([8,"t",null])",
        "[8,\"gr\xc3\xbc\xc3\x9f\xc3\xa9 \xe2\x9c\x93\",\"\xf0\x9f\x98\x80\"]",
    };
    for (const std::string& text : texts) {
        CAPTURE(text);
        CHECK(serialize(parsed(text)) == text);
    }
}

TEST_CASE("wamp message: parsed fields") {
    SUBCASE("WELCOME") {
        const auto m = parsed_as<Welcome>(R"([0,"k3YpX0-aQ9vT_m2L",1,"MyRouter/1.0.0"])");
        CHECK(m == Welcome{"k3YpX0-aQ9vT_m2L", 1, "MyRouter/1.0.0"});
    }
    SUBCASE("PREFIX") {
        const auto m = parsed_as<Prefix>(R"([1,"calc","http://example.com/simple/calc#"])");
        CHECK(m == Prefix{"calc", "http://example.com/simple/calc#"});
    }
    SUBCASE("CALL without arguments has an empty argument array") {
        const auto m = parsed_as<Call>(R"([2,"c1","calc:square"])");
        CHECK(m.call_id == "c1");
        CHECK(m.procedure == "calc:square");
        CHECK(m.args == json::array());
    }
    SUBCASE("CALL arguments are the elements after index 2, nulls included") {
        const auto m = parsed_as<Call>(R"([2,"c1","p",null,[1],{"k":"v"}])");
        CHECK(m.args == json::array({nullptr, json::array({1}), json{{"k", "v"}}}));
    }
    SUBCASE("CALLRESULT") {
        CHECK(parsed_as<CallResult>(R"([3,"c1",null])") == CallResult{"c1", nullptr});
        CHECK(parsed_as<CallResult>(R"([3,"c1",[1,2]])") == CallResult{"c1", json::array({1, 2})});
    }
    SUBCASE("CALLERROR details are present only when element 4 exists") {
        const auto without = parsed_as<CallError>(R"([4,"c1","http://x/error#e","desc"])");
        CHECK(without == CallError{"c1", "http://x/error#e", "desc", std::nullopt});
        const auto with = parsed_as<CallError>(R"([4,"c1","u","",false])");
        CHECK(with.description.empty());
        REQUIRE(with.details.has_value());
        CHECK(*with.details == false);
    }
    SUBCASE("SUBSCRIBE and UNSUBSCRIBE keep the topic as sent") {
        CHECK(parsed_as<Subscribe>(R"([5,"event:a"])") == Subscribe{"event:a"});
        CHECK(parsed_as<Unsubscribe>(R"([6,"onNewData"])") == Unsubscribe{"onNewData"});
    }
    SUBCASE("EVENT") {
        CHECK(parsed_as<Event>(R"([8,"http://x/t",{"a":1}])") == Event{"http://x/t", json{{"a", 1}}});
    }
    SUBCASE("whitespace and escapes are accepted and normalized") {
        const auto m = parsed_as<Event>("  [ 8 , \"t\\u00e9\\/\" , \"a\\\"b\\\\c\\n\\u0001\" ]\n");
        CHECK(m.topic == "t\xc3\xa9/");
        CHECK(m.event == "a\"b\\c\n\x01");
        CHECK(serialize(m) == "[8,\"t\xc3\xa9/\",\"a\\\"b\\\\c\\n\\u0001\"]");
    }
    SUBCASE("an embedded NUL survives") {
        const auto m = parsed_as<Subscribe>(R"([5,"a\u0000b"])");
        CHECK(m.topic == std::string("a\0b", 3));
        CHECK(serialize(m) == R"([5,"a\u0000b"])");
    }
}

TEST_CASE("wamp message: serialize from constructed values") {
    CHECK(serialize(Welcome{"abc", 1, "kreuz/0.1.0"}) == R"([0,"abc",1,"kreuz/0.1.0"])");
    CHECK(serialize(Call{"c", "p", json::array()}) == R"([2,"c","p"])");
    CHECK(serialize(CallResult{"c", nullptr}) == R"([3,"c",null])");
    CHECK(serialize(CallError{"c", "u", "d", std::nullopt}) == R"([4,"c","u","d"])");
    CHECK(serialize(CallError{"c", "u", "d", json::array({0, 3})}) == R"([4,"c","u","d",[0,3]])");
    SUBCASE("a null errorDetails is sent as no details, which the spec forbids being null") {
        CHECK(serialize(CallError{"c", "u", "d", json(nullptr)}) == R"([4,"c","u","d"])");
    }
    SUBCASE("the Message overload dispatches on the alternative") {
        CHECK(serialize(Message{Event{"t", 1}}) == R"([8,"t",1])");
        CHECK(serialize(Message{Unsubscribe{"t"}}) == R"([6,"t"])");
    }
    SUBCASE("PUBLISH forms") {
        CHECK(serialize(Publish{"t", 1, true, std::nullopt, std::nullopt}) == R"([7,"t",1])");
        CHECK(serialize(Publish{"t", 1, false, std::nullopt, std::nullopt}) == R"([7,"t",1,false])");
        // exclude_me does not matter once an exclude list is given
        CHECK(serialize(Publish{"t", 1, true, std::vector<std::string>{"a"}, std::nullopt}) ==
              R"([7,"t",1,["a"]])");
        CHECK(serialize(Publish{"t", 1, true, std::nullopt, std::vector<std::string>{"b"}}) ==
              R"([7,"t",1,true,["b"]])");
        CHECK(serialize(Publish{"t", 1, false, std::vector<std::string>{}, std::vector<std::string>{}}) ==
              R"([7,"t",1,[],[]])");
    }
    SUBCASE("invalid UTF-8 in a string becomes U+FFFD, so the output stays valid") {
        const std::string out = serialize(Event{"t\xff", "x\xc3"});
        CHECK(out == "[8,\"t\xef\xbf\xbd\",\"x\xef\xbf\xbd\"]");
        CHECK(std::holds_alternative<Message>(parse(out)));
    }
    SUBCASE("non-finite numbers are sent as null") {
        CHECK(serialize(CallResult{"c", std::numeric_limits<double>::infinity()}) == R"([3,"c",null])");
    }
}

TEST_CASE("wamp message: invalid JSON") {
    for (const std::string_view text : {"", " ", "[2,\"a\"", "[1,2] x", "[1,2,]", "[01]", "['a']", "[5,\"a\nb\"]",
                                        "[5,\"t\"]\xef\xbb\xbf", "[NaN]", "[1] // comment"}) {
        CAPTURE(text);
        const ParseError e = parse_error(text);
        CHECK(e.kind == Kind::invalid_json);
        CHECK(e.message.starts_with("invalid JSON at byte "));
        CHECK(is_ascii(e.message));
    }
    SUBCASE("the reason is kept and the client's bytes are not echoed") {
        const ParseError e = parse_error("[2,\"a\"");
        CHECK(e.message.find("unexpected end of input") != std::string::npos);
        CHECK(e.message.find("last read") == std::string::npos);
    }
}

TEST_CASE("wamp message: session id lists have one policy") {
    using nlohmann::json;
    CHECK(read_session_ids(json::parse(R"(["a", 5, null, "b", ["c"], {"d": 1}])")) ==
          std::vector<std::string>{"a", "b"});
    CHECK(read_session_ids(json::array()) == std::vector<std::string>{});
    for (const char* not_a_list : {R"("a")", "5", "null", "{}", "true"}) {
        CAPTURE(not_a_list);
        CHECK_FALSE(read_session_ids(json::parse(not_a_list)).has_value());
    }
    // PUBLISH reads its lists with it
    const auto publish = std::get<Publish>(std::get<Message>(parse(R"([7,"t",1,["a",2],["b",null]])")));
    CHECK(publish.exclude == std::vector<std::string>{"a"});
    CHECK(publish.eligible == std::vector<std::string>{"b"});
}

TEST_CASE("wamp message: the call id of a CALL whose arguments cannot be read") {
    const std::string deep = std::string(200, '[') + std::string(200, ']');
    for (const std::string& text :
         {std::string("[2,\"id\",\"p\",1e400]"), std::string("[2, \"id\" ,\"p\",\"\\ud800\"]"),
          std::string("[2,\"id\",\"p\",{\"a\":-1e999}]"), std::string("[2,\"id\",\"p\""),
          std::string("[2,\"id\",\"p\"] x"), std::string("[2,\"id\",\"p\",") + deep + "]"}) {
        CAPTURE(text);
        const ParseError e = parse_error(text);
        CHECK(e.kind == Kind::invalid_json);
        CHECK(e.call_id == std::optional<std::string>("id"));
    }
    // Without the whole envelope, or not a CALL, there is nobody to answer.
    for (const std::string_view text : {"[2,\"id\",1e400]", "[2,\"\\ud800\",\"p\"]", "[2,\"id\"", "[7,\"id\",\"p\",1e400]",
                                        "[2.0,\"id\",\"p\",1e400]", "{\"2\":\"id\",\"p\":1e400}", "[[2],\"id\",\"p\",1e400]"}) {
        CAPTURE(text);
        const ParseError e = parse_error(text);
        CHECK(e.kind == Kind::invalid_json);
        CHECK_FALSE(e.call_id.has_value());
    }
}

TEST_CASE("wamp message: invalid UTF-8 inside strings is invalid JSON") {
    const std::vector<std::string> texts = {
        "[5,\"t\xff\"]",              // byte that never occurs in UTF-8
        "[5,\"t\x80\"]",              // lone continuation byte
        "[5,\"t\xc3\"]",              // truncated sequence
        "[5,\"\xc0\xaf\"]",           // overlong '/'
        "[5,\"\xe0\x80\xaf\"]",       // overlong, three bytes
        "[5,\"\xed\xa0\x80\"]",       // UTF-16 surrogate encoded in UTF-8
        "[5,\"\xf4\x90\x80\x80\"]",   // above U+10FFFF
        "[5,\"\\ud800\"]",            // escaped lone high surrogate
        "[5,\"\\udc00x\"]",           // escaped lone low surrogate
    };
    for (const std::string& text : texts) {
        CAPTURE(text);
        const ParseError e = parse_error(text);
        CHECK(e.kind == Kind::invalid_json);
        CHECK(is_ascii(e.message));
    }
    CHECK(parse_error("[5,\"t\xff\"]").message.find("UTF-8") != std::string::npos);
    CHECK(parsed_as<Subscribe>("[5,\"\\ud83d\\ude00\"]").topic == "\xf0\x9f\x98\x80");
    CHECK(parsed_as<Subscribe>("[5,\"\xf4\x8f\xbf\xbf\"]").topic == "\xf4\x8f\xbf\xbf");
}

TEST_CASE("wamp message: nesting depth is limited before parsing") {
    const auto nested = [](std::size_t depth) {
        return R"([8,"t",)" + std::string(depth - 1, '[') + std::string(depth - 1, ']') + "]";
    };
    CHECK(std::holds_alternative<Message>(parse(nested(max_nesting_depth))));
    const ParseError e = parse_error(nested(max_nesting_depth + 1));
    CHECK(e.kind == Kind::invalid_json);
    CHECK(e.message == "JSON nesting deeper than 128 levels");
    SUBCASE("a very deep document fails fast instead of exhausting the stack") {
        CHECK(parse_error(std::string(1'000'000, '[')).kind == Kind::invalid_json);
        CHECK(parse_error(std::string(500'000, '{')).kind == Kind::invalid_json);
    }
    SUBCASE("brackets inside strings, escaped quotes included, do not count") {
        const std::string text = R"([8,"\"[[[)" + std::string(300, '[') + R"(","{{{"])";
        CHECK(parsed_as<Event>(text).event == "{{{");
    }
}

TEST_CASE("wamp message: not an array") {
    for (const std::string_view text : {R"({"a":1})", R"("x")", "5", "null", "true", "{}"}) {
        CAPTURE(text);
        CHECK(parse_error(text) == ParseError{Kind::not_array, "message must be a JSON array"});
    }
}

TEST_CASE("wamp message: element 0 must be an integer type id") {
    for (const std::string_view text : {"[]", R"(["2","c","p"])", R"([2.0,"c","p"])", "[true]", "[null]",
                                        "[[5],\"t\"]", R"([{"t":5}])", "[5e0,\"t\"]"}) {
        CAPTURE(text);
        CHECK(parse_error(text) == ParseError{Kind::bad_type_id, "element 0 must be an integer message type id"});
    }
}

TEST_CASE("wamp message: unknown type ids") {
    CHECK(parse_error("[9]") == ParseError{Kind::unknown_type, "message type 9 is not a WAMP v1 message type"});
    CHECK(parse_error(R"([-1,"x"])") ==
          ParseError{Kind::unknown_type, "message type -1 is not a WAMP v1 message type"});
    CHECK(parse_error("[18446744073709551615]") ==
          ParseError{Kind::unknown_type, "message type 18446744073709551615 is not a WAMP v1 message type"});
    CHECK(parse_error("[-9223372036854775808]") ==
          ParseError{Kind::unknown_type, "message type -9223372036854775808 is not a WAMP v1 message type"});
    // WAMP v2 HELLO reaching a v1 endpoint
    CHECK(parse_error(R"([1,"realm1",{}])").kind == Kind::bad_element);
    CHECK(parse_error(R"([48,1,{},"p"])").kind == Kind::unknown_type);
}

TEST_CASE("wamp message: element errors name the element and the expectation") {
    struct Case {
        std::string_view text;
        std::string_view message;
    };
    const std::vector<Case> cases = {
        {R"([0,"s",1])", "WELCOME must have exactly 4 elements, got 3"},
        {R"([0,"s",1,"x",2])", "WELCOME must have exactly 4 elements, got 5"},
        {R"([0,1,1,"x"])", "WELCOME element 1 (sessionId) must be a string"},
        {R"([0,"s","1","x"])", "WELCOME element 2 (protocolVersion) must be an integer"},
        {R"([0,"s",1.5,"x"])", "WELCOME element 2 (protocolVersion) must be an integer"},
        {R"([0,"s",18446744073709551615,"x"])", "WELCOME element 2 (protocolVersion) must be an integer"},
        {R"([0,"s",1,null])", "WELCOME element 3 (serverIdent) must be a string"},
        {R"([1,"p"])", "PREFIX must have exactly 3 elements, got 2"},
        {R"([1,"p","u","v"])", "PREFIX must have exactly 3 elements, got 4"},
        {R"([1,"","http://x#"])", "PREFIX element 1 (prefix) must be a non-empty string"},
        {R"([1,null,"http://x#"])", "PREFIX element 1 (prefix) must be a non-empty string"},
        {R"([1,"p",5])", "PREFIX element 2 (uri) must be a string"},
        {R"([2])", "CALL must have at least 3 elements, got 1"},
        {R"([2,"c"])", "CALL must have at least 3 elements, got 2"},
        {R"([2,5,"p"])", "CALL element 1 (callId) must be a string"},
        {R"([2,null,"p"])", "CALL element 1 (callId) must be a string"},
        {R"([2,"c",""])", "CALL element 2 (procUri) must be a non-empty string"},
        {R"([2,"c",["p"]])", "CALL element 2 (procUri) must be a non-empty string"},
        {R"([3,"c"])", "CALLRESULT must have exactly 3 elements, got 2"},
        {R"([3,"c",1,2])", "CALLRESULT must have exactly 3 elements, got 4"},
        {R"([3,1,1])", "CALLRESULT element 1 (callId) must be a string"},
        {R"([4,"c","u"])", "CALLERROR must have 4 or 5 elements, got 3"},
        {R"([4,"c","u","d",1,2])", "CALLERROR must have 4 or 5 elements, got 6"},
        {R"([4,[],"u","d"])", "CALLERROR element 1 (callId) must be a string"},
        {R"([4,"c",1,"d"])", "CALLERROR element 2 (errorUri) must be a string"},
        {R"([4,"c","u",null])", "CALLERROR element 3 (errorDesc) must be a string"},
        {R"([4,"c","u","d",null])", "CALLERROR element 4 (errorDetails) must not be null"},
        {R"([5])", "SUBSCRIBE must have exactly 2 elements, got 1"},
        {R"([5,"t","x"])", "SUBSCRIBE must have exactly 2 elements, got 3"},
        {R"([5,""])", "SUBSCRIBE element 1 (topicUri) must be a non-empty string"},
        {R"([5,7])", "SUBSCRIBE element 1 (topicUri) must be a non-empty string"},
        {R"([6])", "UNSUBSCRIBE must have exactly 2 elements, got 1"},
        {R"([6,{}])", "UNSUBSCRIBE element 1 (topicUri) must be a non-empty string"},
        {R"([7,"t"])", "PUBLISH must have 3 to 5 elements, got 2"},
        {R"([7,"t","e",true,[],1])", "PUBLISH must have 3 to 5 elements, got 6"},
        {R"([7,1,"e"])", "PUBLISH element 1 (topicUri) must be a non-empty string"},
        {R"([7,"","e"])", "PUBLISH element 1 (topicUri) must be a non-empty string"},
        {R"([8,"t"])", "EVENT must have exactly 3 elements, got 2"},
        {R"([8,"t",1,2])", "EVENT must have exactly 3 elements, got 4"},
        {R"([8,1,"e"])", "EVENT element 1 (topicUri) must be a string"},
    };
    for (const Case& c : cases) {
        CAPTURE(c.text);
        CHECK(parse_error(c.text) == ParseError{Kind::bad_element, std::string(c.message)});
    }
}

namespace {

const std::string p0 = "NwtXQ8rdfPsy-ewS";  // the publisher
const std::string p1 = "dYqgDl0FthI6_hjb";

// Publishes with `tail` (P0 and P1 standing for the quoted peer ids) after the
// event and names who of the two subscribed peers receives it.
std::string receivers(std::string tail) {
    for (const auto& [token, id] : {std::pair{"P0", p0}, std::pair{"P1", p1}}) {
        for (std::size_t at = tail.find(token); at != std::string::npos; at = tail.find(token)) {
            tail.replace(at, 2, '"' + id + '"');
        }
    }
    const auto publish = parsed_as<Publish>(R"([7,"http://example.com/simple#t","hello")" + tail + "]");
    std::string who;
    if (receives(publish, p0, p0)) who = "p0";
    if (receives(publish, p0, p1)) who += who.empty() ? "p1" : ",p1";
    return who.empty() ? "nobody" : who;
}

}  // namespace

TEST_CASE("wamp message: PUBLISH receivers, the truth table of digest 6.3") {
    CHECK(receivers(",null") == "p1");
    CHECK(receivers("") == "p1");
    CHECK(receivers(",false") == "p0,p1");
    CHECK(receivers(",[]") == "p0,p1");
    CHECK(receivers(",[P0]") == "p1");
    CHECK(receivers(",[P1]") == "p0");
    CHECK(receivers(",[P0,P1]") == "nobody");
    CHECK(receivers(",[P0],[]") == "nobody");
    CHECK(receivers(",[P0],[P0]") == "nobody");
    CHECK(receivers(",[P0],[P1]") == "p1");
    CHECK(receivers(",[P0],[P0,P1]") == "p1");
    CHECK(receivers(",[],[P0]") == "p0");
    CHECK(receivers(",[],[P0,P1]") == "p0,p1");
    CHECK(receivers(",[P1],[P0,P1]") == "p0");
}

TEST_CASE("wamp message: PUBLISH option forms beyond the table") {
    CHECK(receivers(",true") == "p1");
    CHECK(receivers(",true,[P0,P1]") == "p1");
    CHECK(receivers(",false,[P0]") == "p0");
    CHECK(receivers(",false,[]") == "nobody");
    CHECK(receivers(",[P1,P1,\"unknown\"]") == "p0");
    SUBCASE("a 4th element that is neither bool nor list means the defaults") {
        for (const char* tail : {",null", ",P0", ",0", ",1", ",{}", ",{\"excludeMe\":false}"}) {
            CAPTURE(tail);
            CHECK(receivers(tail) == "p1");
        }
        CHECK(receivers(",null,[P0,P1]") == "p1");
        CHECK(receivers(",5,[P0]") == "nobody");
    }
    SUBCASE("a 5th element that is not a list means no eligible filter") {
        for (const char* tail : {",[],null", ",[],P0", ",[],{}", ",[],true", ",[],0"}) {
            CAPTURE(tail);
            CHECK(receivers(tail) == "p0,p1");
        }
        CHECK(receivers(",[P0],null") == "p1");
    }
    SUBCASE("non-strings inside the lists are ignored") {
        CHECK(receivers(",[1,null,P0,[P1]]") == "p1");
        CHECK(receivers(",[],[1,{},false]") == "nobody");
        CHECK(receivers(",[],[1,P1]") == "p1");
    }
}

TEST_CASE("wamp message: [7,t,e,null] is [7,t,e]") {
    const auto with_null = parsed_as<Publish>(R"([7,"t","e",null])");
    CHECK(with_null == parsed_as<Publish>(R"([7,"t","e"])"));
    CHECK(with_null.exclude_me);
    CHECK_FALSE(with_null.exclude.has_value());
    CHECK_FALSE(with_null.eligible.has_value());
    CHECK(serialize(with_null) == R"([7,"t","e"])");
}

TEST_CASE("wamp message: PUBLISH fields") {
    const auto listed = parsed_as<Publish>(R"([7,"t",{"a":1},["x",2,"y"],["z"]])");
    CHECK(listed.topic == "t");
    CHECK(listed.event == json{{"a", 1}});
    CHECK_FALSE(listed.exclude_me);
    CHECK(listed.exclude == std::vector<std::string>{"x", "y"});
    CHECK(listed.eligible == std::vector<std::string>{"z"});
    CHECK(serialize(listed) == R"([7,"t",{"a":1},["x","y"],["z"]])");

    const auto flagged = parsed_as<Publish>(R"([7,"t",null,false])");
    CHECK(flagged.event.is_null());
    CHECK_FALSE(flagged.exclude_me);
    CHECK_FALSE(flagged.exclude.has_value());

    SUBCASE("wrong-typed options are normalized away on serialization") {
        CHECK(serialize(parsed(R"([7,"t","e","x",{}])")) == R"([7,"t","e"])");
        CHECK(serialize(parsed(R"([7,"t","e",false,0])")) == R"([7,"t","e",false])");
    }
}

TEST_CASE("wamp parse: a number beyond the range of a double is invalid JSON, not a crash") {
    for (const char* text : {"[7,\"t\",1e400]", "[2,\"c\",\"p\",-1e999]", "1e400"}) {
        auto result = kreuz::wamp::parse(text);
        auto* error = std::get_if<kreuz::wamp::ParseError>(&result);
        REQUIRE(error != nullptr);
        CHECK(error->kind == kreuz::wamp::ParseError::Kind::invalid_json);
        CHECK(error->message == "number out of range");
    }
}

TEST_CASE("serialize writes every JSON value exactly as json::dump does") {
    using nlohmann::json;
    const std::vector<json> values = {
        json(nullptr), json(true), json(false), json(0), json(-1), json(std::numeric_limits<std::int64_t>::min()),
        json(std::numeric_limits<std::uint64_t>::max()), json(1.5), json(-0.0), json(1e300), json(""),
        json("plain"), json("quote \" backslash \\ slash /"), json("\b\f\n\r\t"), json(std::string("\x01\x1f\x7f", 3)),
        json(std::string("nul\0byte", 8)), json("ünïcödé €"), json(std::string("bad \xff utf-8")),
        json::array(), json::object(), json::parse(R"([1,[2,[3,{}]],{"b":1,"a":[true,null,"x"]}])"),
        json::parse(R"({"z":{"y":{"x":"\u00e9\ud83d\ude00"}},"":0,"k\"ey":-2.5e-7})"),
    };
    for (const json& value : values) {
        CAPTURE(value.dump(-1, ' ', false, json::error_handler_t::replace));
        const std::string id = "id\"\x02";
        CHECK(kreuz::wamp::serialize(kreuz::wamp::CallResult{id, value}) ==
              "[3," + json(id).dump() + "," + value.dump(-1, ' ', false, json::error_handler_t::replace) + "]");
    }
}
