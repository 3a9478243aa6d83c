// JsonReader: the fast path of message parsing. For the texts it takes it
// returns what json::parse(text) would; the depth guard stays parse_json()'s.
// simdjson validates a text for a seventh of the instructions nlohmann's
// lexer needs (docs/PERFORMANCE.md) and its parser, kept between messages,
// allocates nothing once warm; the document is then copied into the
// nlohmann value the rest of kreuz reads.
//
// It answers only where its result is certain to be what json::parse would
// return, value and number types alike; for everything else it declines and
// the caller parses with nlohmann, which also words the errors:
// - texts that simdjson refuses (invalid JSON, big integers, 1e400),
// - texts with a \u escape (the two libraries differ on lone surrogates),
// - texts with "-0" anywhere (nlohmann reads -0 as an integer),
// - floating-point numbers (strtod's rounding stays the reference),
// - texts above fast_path_limit, so that one large message does not leave the
//   parser holding its size for the rest of the process.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>
#include <simdjson.h>

namespace kreuz::wamp {

class JsonReader {
public:
    static constexpr std::size_t fast_path_limit = 64 * 1024;

    // The value of `text`, or nullopt when the fast path declines it.
    std::optional<nlohmann::json> read(std::string_view text);

private:
    simdjson::dom::parser parser_;
    std::string padded_;  // the text followed by simdjson's padding
};

}  // namespace kreuz::wamp
