// json-parse-cost: parses the same WAMP message ITERATIONS times with one JSON
// library, so that bench/callgrind.py can take the instructions one parse
// costs (the difference of two runs with different ITERATIONS). It decides
// whether kreuz should validate PUBLISH / CALL with simdjson and forward the
// payload's bytes instead of nlohmann's parse -> DOM -> dump.
//
//   json-parse-cost nlohmann|simdjson ITERATIONS MESSAGE
//
// nlohmann: what kreuz does now, a DOM of the whole message. simdjson: its
// DOM parser (full validation, UTF-8 included) with one parser reused, as a
// router would keep one per loop; the payload element is then taken as raw
// bytes by re-serializing it (simdjson::minify), the most a forwarder would do.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>
#include <simdjson.h>

namespace {

std::size_t parse_nlohmann(std::string_view message) {
    nlohmann::json doc = nlohmann::json::parse(message);
    return doc.size() + doc.back().dump().size();
}

std::size_t parse_simdjson(simdjson::dom::parser& parser, const simdjson::padded_string& message) {
    simdjson::dom::element doc;
    if (parser.parse(message).get(doc) != simdjson::SUCCESS) std::abort();
    simdjson::dom::array items;
    if (doc.get_array().get(items) != simdjson::SUCCESS) std::abort();
    return items.size() + simdjson::minify(items.at(items.size() - 1)).size();
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 4) {
        std::fprintf(stderr, "usage: %s nlohmann|simdjson ITERATIONS MESSAGE\n", argv[0]);
        return 2;
    }
    const std::string library = argv[1];
    const long iterations = std::strtol(argv[2], nullptr, 10);
    const std::string message = argv[3];
    std::size_t sink = 0;
    if (library == "nlohmann") {
        for (long i = 0; i < iterations; ++i) sink += parse_nlohmann(message);
    } else if (library == "simdjson") {
        simdjson::dom::parser parser;
        const simdjson::padded_string padded(message);
        for (long i = 0; i < iterations; ++i) sink += parse_simdjson(parser, padded);
    } else {
        std::fprintf(stderr, "unknown library %s\n", library.c_str());
        return 2;
    }
    std::printf("%zu\n", sink);
    return 0;
}
