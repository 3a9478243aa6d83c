// WAMP v1 text -> message -> text, and CURIE expansion.
//
// The whole input is one WebSocket text message for wamp::parse. A message it
// accepts must survive serialize -> parse unchanged, and serializing that
// again must give the same text. Errors must carry ASCII only, since they end
// up in logs and CALLERROR replies.
//
// The fast path (JsonReader, simdjson) must give what the nlohmann path gives:
// the same message or the same error, and where it reads a value, the same
// value with the same number types at every node.
//
// The input is also read as lines for a PrefixMap: "prefix uri" declares a
// prefix (the part before the first space; empty ones and ones containing ':'
// included, which resolve() must never use), and every line and every URI
// field of the parsed message is a URI to shrink. resolve(*shrink(u)) == u
// must hold for each.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include "fuzz_input.h"
#include "wamp/curie.h"
#include "wamp/json_reader.h"
#include "wamp/message.h"
#include "websocket/utf8.h"

namespace {

using namespace kreuz::wamp;
using kreuz::fuzz::check;

bool is_valid_utf8(std::string_view text) {
    return kreuz::ws::is_valid_utf8(reinterpret_cast<const std::uint8_t*>(text.data()), text.size());
}

void check_round_trip(const Message& message) {
    const std::string text = serialize(message);
    check(is_valid_utf8(text));
    const ParseResult again = parse(text);
    const Message* reparsed = std::get_if<Message>(&again);
    check(reparsed != nullptr);
    check(*reparsed == message);
    check(serialize(*reparsed) == text);
}

bool same_json(const nlohmann::json& a, const nlohmann::json& b) {
    if (a.type() != b.type()) return false;
    if (a.is_array()) {
        if (a.size() != b.size()) return false;
        for (std::size_t i = 0; i < a.size(); ++i) {
            if (!same_json(a[i], b[i])) return false;
        }
        return true;
    }
    if (a.is_object()) {
        if (a.size() != b.size()) return false;
        for (auto ia = a.begin(), ib = b.begin(); ia != a.end(); ++ia, ++ib) {
            if (ia.key() != ib.key() || !same_json(ia.value(), ib.value())) return false;
        }
        return true;
    }
    return a == b;
}

void check_fast_path(std::string_view text, const ParseResult& slow) {
    static JsonReader reader;  // a fuzz target has no main() to own it
    // read() promises json::parse's value; the depth guard is parse()'s.
    if (const std::optional<nlohmann::json> fast = reader.read(text)) {
        nlohmann::json reference;
        try {
            reference = nlohmann::json::parse(text);
        } catch (const nlohmann::json::exception&) {
            check(false);
        }
        check(same_json(*fast, reference));
    }
    const ParseResult quick = parse(text, reader);
    check(quick.index() == slow.index());
    if (const Message* message = std::get_if<Message>(&slow)) {
        check(std::get<Message>(quick) == *message);
        check(serialize(std::get<Message>(quick)) == serialize(*message));
    } else {
        const ParseError& a = std::get<ParseError>(slow);
        const ParseError& b = std::get<ParseError>(quick);
        check(a.kind == b.kind && a.message == b.message);
    }
}

void check_error(const ParseError& error) {
    check(!error.message.empty());
    for (char c : error.message) check(static_cast<unsigned char>(c) < 0x80);
}

// The fields of a message that name a topic, procedure or error: those that a
// session resolves and shrinks.
std::vector<std::string_view> uris_of(const Message& message) {
    return std::visit(
        [](const auto& m) -> std::vector<std::string_view> {
            using T = std::decay_t<decltype(m)>;
            if constexpr (std::is_same_v<T, Prefix>) return {m.uri};
            if constexpr (std::is_same_v<T, Call>) return {m.procedure};
            if constexpr (std::is_same_v<T, CallError>) return {m.error_uri};
            if constexpr (std::is_same_v<T, Subscribe> || std::is_same_v<T, Unsubscribe> ||
                          std::is_same_v<T, Publish> || std::is_same_v<T, Event>) {
                return {m.topic};
            }
            return {};
        },
        message);
}

std::vector<std::string_view> lines_of(std::string_view text) {
    std::vector<std::string_view> lines;
    while (!text.empty()) {
        const std::size_t end = text.find('\n');
        lines.push_back(text.substr(0, end));
        if (end == std::string_view::npos) break;
        text.remove_prefix(end + 1);
    }
    return lines;
}

void check_prefixes(std::string_view text, const Message* message) {
    // A session is limited to a few hundred prefixes; a few dozen lines keep
    // each run quick without losing any case.
    constexpr std::size_t max_lines = 64;
    std::vector<std::string_view> lines = lines_of(text);
    if (lines.size() > max_lines) lines.resize(max_lines);

    PrefixMap map;
    std::vector<std::string_view> uris = lines;
    for (std::string_view line : lines) {
        const std::size_t space = line.find(' ');
        if (space == std::string_view::npos) continue;
        map.set(std::string(line.substr(0, space)), std::string(line.substr(space + 1)));
        uris.push_back(line.substr(space + 1));
    }
    if (message) {
        if (const Prefix* prefix = std::get_if<Prefix>(message)) map.set(prefix->prefix, prefix->uri);
        for (std::string_view uri : uris_of(*message)) uris.push_back(uri);
    }

    for (std::string_view uri : uris) {
        if (uri.find(':') == std::string_view::npos) check(map.resolve(uri) == uri);
        const std::optional<std::string> curie = map.shrink(uri);
        if (!curie) continue;
        check(curie->find(':') != std::string::npos && curie->front() != ':');
        check(map.contains(std::string_view(*curie).substr(0, curie->find(':'))));
        check(map.resolve(*curie) == uri);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const ParseResult result = parse(text);
    check_fast_path(text, result);
    const Message* message = std::get_if<Message>(&result);
    if (message) {
        check_round_trip(*message);
    } else {
        check_error(std::get<ParseError>(result));
    }
    check_prefixes(text, message);
    return 0;
}
