// WAMP v1 messages: one struct per message type, parse() from the JSON text
// of a WebSocket message and serialize() back to compact JSON.
//
// parse() accepts all nine types; which direction a type may travel in is the
// router's decision, not the parser's. URI fields are kept exactly as received
// (possibly CURIEs): expanding them needs the session's PrefixMap.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

namespace kreuz::wamp {

// [0, sessionId, protocolVersion, serverIdent]
struct Welcome {
    static constexpr int type_id = 0;
    std::string session_id;
    std::int64_t protocol_version = 1;
    std::string server_ident;
    bool operator==(const Welcome&) const = default;
};

// [1, prefix, uri]
struct Prefix {
    static constexpr int type_id = 1;
    std::string prefix;
    std::string uri;
    bool operator==(const Prefix&) const = default;
};

// [2, callId, procUri, arg...]
struct Call {
    static constexpr int type_id = 2;
    std::string call_id;
    std::string procedure;
    nlohmann::json args = nlohmann::json::array();  // always an array, possibly empty
    bool operator==(const Call&) const = default;
};

// [3, callId, result]
struct CallResult {
    static constexpr int type_id = 3;
    std::string call_id;
    nlohmann::json result;  // null when the procedure returned nothing
    bool operator==(const CallResult&) const = default;
};

// [4, callId, errorUri, errorDesc] or [4, callId, errorUri, errorDesc, errorDetails]
struct CallError {
    static constexpr int type_id = 4;
    std::string call_id;
    std::string error_uri;
    std::string description;
    // The spec forbids a null errorDetails, so parse() rejects one and
    // serialize() sends a null value as "no details" (4 elements).
    std::optional<nlohmann::json> details;
    bool operator==(const CallError&) const = default;
};

// [5, topicUri]
struct Subscribe {
    static constexpr int type_id = 5;
    std::string topic;
    bool operator==(const Subscribe&) const = default;
};

// [6, topicUri]
struct Unsubscribe {
    static constexpr int type_id = 6;
    std::string topic;
    bool operator==(const Unsubscribe&) const = default;
};

// [7, topicUri, event] with an optional 4th element (excludeMe bool or exclude
// list) and 5th element (eligible list); defaults as AutobahnPython applies them.
struct Publish {
    static constexpr int type_id = 7;
    std::string topic;
    nlohmann::json event;
    // Only consulted when `exclude` is absent: a given exclude list replaces
    // the default exclusion of the publisher entirely.
    bool exclude_me = true;
    std::optional<std::vector<std::string>> exclude;
    // Absent: everyone is eligible. Present and empty: nobody is.
    std::optional<std::vector<std::string>> eligible;
    bool operator==(const Publish&) const = default;
};

// [8, topicUri, event]
struct Event {
    static constexpr int type_id = 8;
    std::string topic;
    nlohmann::json event;
    bool operator==(const Event&) const = default;
};

using Message =
    std::variant<Welcome, Prefix, Call, CallResult, CallError, Subscribe, Unsubscribe, Publish, Event>;

struct ParseError {
    enum class Kind {
        invalid_json,  // not JSON, not UTF-8, or nested deeper than max_nesting_depth
        not_array,     // JSON, but not an array
        bad_type_id,   // element 0 missing or not an integer
        unknown_type,  // an integer that is not one of the nine v1 type ids
        bad_element,   // wrong element count, or an element of the wrong type
    };
    Kind kind;
    std::string message;  // names the element and what was expected; always ASCII
    // invalid_json only: the call id of a text whose CALL envelope
    // ([2, "<callId>", "<procURI>") is readable before what is not, so that
    // the caller can be answered instead of waiting forever.
    std::optional<std::string> call_id = std::nullopt;
    bool operator==(const ParseError&) const = default;
};

using ParseResult = std::variant<Message, ParseError>;

// Deeper JSON is refused before it is parsed: nlohmann's serializer and copy
// constructor recurse per level, so an unbounded depth would let one message
// exhaust the stack when an EVENT is built from it.
inline constexpr std::size_t max_nesting_depth = 128;

// With a reader, its fast path is tried first (wamp/json_reader.h): the
// result is identical, only cheaper to reach.
class JsonReader;
ParseResult parse(std::string_view text);
ParseResult parse(std::string_view text, JsonReader& reader);

// Any JSON text under the same guards as parse() (nesting depth, invalid
// UTF-8, numbers out of range); nullopt with `error` set when it is not JSON.
// `error` is ASCII and quotes none of the input.
std::optional<nlohmann::json> parse_json(std::string_view text, std::string& error, JsonReader* reader = nullptr);

// The receiver rule of a publication (digest 6.3): the subscriber must be in
// `eligible` when that list is present, and must not be in the effective
// exclude set, which is `exclude` when present, else {publisher} when
// exclude_me, else empty. The three questions about one subscriber are asked
// only when the rule needs their answer, by callables that answer them the
// caller's way: the broker compares sessions, not id strings.
template <class IsPublisher, class InEligible, class InExclude>
bool receives(const Publish& publish, IsPublisher is_publisher, InEligible in_eligible, InExclude in_exclude) {
    if (publish.eligible && !in_eligible()) return false;
    if (publish.exclude) return !in_exclude();
    return !(publish.exclude_me && is_publisher());
}

// The rule for session ids.
bool receives(const Publish& publish, std::string_view publisher_id, std::string_view subscriber_id);

// The session ids of an exclude or eligible list, with the one policy of every
// reader (PUBLISH, the testsuite's dispatch, the HTTP publish bridge): a value
// that is not an array is no list (nullopt); entries that are not strings are
// dropped, since they cannot name a session, as AutobahnPython drops ids it
// cannot map to a session.
std::optional<std::vector<std::string>> read_session_ids(const nlohmann::json& list);

// Compact JSON in the layouts above. Strings that are not valid UTF-8 have
// their bad bytes replaced by U+FFFD, so the output is always valid UTF-8.
std::string serialize(const Welcome& message);
std::string serialize(const Prefix& message);
std::string serialize(const Call& message);
std::string serialize(const CallResult& message);
std::string serialize(const CallError& message);
std::string serialize(const Subscribe& message);
std::string serialize(const Unsubscribe& message);
// A Publish that has `eligible` but no `exclude` is written with excludeMe
// as the 4th element, a form AutobahnPython's server and parse() both read.
std::string serialize(const Publish& message);
std::string serialize(const Event& message);
std::string serialize(const Message& message);

}  // namespace kreuz::wamp
