#include "router/cluster/wire_format.h"

#include <charconv>

#include <nlohmann/json.hpp>

namespace kreuz::cluster {

namespace {

// The text up to the next '\n', which is consumed; nullopt when there is none.
std::optional<std::string_view> take_line(std::string_view& rest) {
    const auto newline = rest.find('\n');
    if (newline == std::string_view::npos) return std::nullopt;
    std::string_view line = rest.substr(0, newline);
    rest.remove_prefix(newline + 1);
    return line;
}

// The version line, consumed; false (and why) when it is missing or newer.
bool take_version(std::string_view& rest, DecodeFailure& failure) {
    const auto text = take_line(rest);
    unsigned version = 0;
    if (!text || text->empty() ||
        std::from_chars(text->data(), text->data() + text->size(), version).ptr != text->data() + text->size()) {
        failure = {"no version line", false};
        return false;
    }
    if (version > wire_version) {
        failure = {"wire format version " + std::to_string(version) + " is newer than this node's " +
                       std::to_string(wire_version),
                   true};
        return false;
    }
    return true;
}

std::string length_prefixed(std::string_view prefix, std::string_view kind, std::string_view realm,
                            std::string_view name) {
    const std::string length = std::to_string(realm.size());
    std::string out;
    out.reserve(prefix.size() + kind.size() + length.size() + realm.size() + name.size() + 4);
    out.append(prefix).append(kind).append(length).append(":").append(realm).append(":").append(name);
    return out;
}

}  // namespace

std::string event_channel(std::string_view prefix, std::string_view realm, std::string_view topic) {
    return length_prefixed(prefix, ":e:", realm, topic);
}

std::string procedure_key(std::string_view prefix, std::string_view realm, std::string_view uri) {
    return length_prefixed(prefix, ":p:", realm, uri);
}

std::string control_channel(std::string_view prefix) { return std::string(prefix) + ":ctl"; }

std::string node_channel(std::string_view prefix, std::string_view node) {
    return std::string(prefix).append(":n:").append(node);
}

std::string control_header(std::string_view type) {
    return std::to_string(wire_version).append("\n").append(type).append("\n");
}

std::optional<ControlMessage> decode_control(std::string_view payload, DecodeFailure& failure) {
    std::string_view rest = payload;
    if (!take_version(rest, failure)) return std::nullopt;
    const auto type = take_line(rest);
    if (!type || type->empty()) {
        failure = {"no message type", false};
        return std::nullopt;
    }
    return ControlMessage{*type, rest};
}

std::string event_header(std::string_view origin_node, const wamp::Publish& publication) {
    std::string filters;
    // exclude_me needs nothing: the publisher is a session of the origin,
    // which applied it to its own subscribers.
    if (publication.exclude || publication.eligible) {
        nlohmann::json lists = nlohmann::json::object();
        if (publication.exclude) lists["exclude"] = *publication.exclude;
        if (publication.eligible) lists["eligible"] = *publication.eligible;
        filters = lists.dump();
    }
    const std::string version = std::to_string(wire_version);
    std::string header;
    header.reserve(version.size() + origin_node.size() + filters.size() + 3);
    header.append(version).append("\n").append(origin_node).append("\n").append(filters).append("\n");
    return header;
}

std::optional<RemoteEvent> decode_event(std::string_view payload, DecodeFailure& failure) {
    std::string_view rest = payload;
    if (!take_version(rest, failure)) return std::nullopt;
    const auto origin = take_line(rest);
    const auto filters = origin ? take_line(rest) : std::nullopt;
    if (!origin || origin->empty() || !filters) {
        failure = {"truncated header", false};
        return std::nullopt;
    }
    RemoteEvent event;
    event.origin_node = *origin;
    event.event_message = rest;
    if (!filters->empty()) {
        const nlohmann::json lists = nlohmann::json::parse(*filters, nullptr, false);
        if (!lists.is_object()) {
            failure = {"filters are not a JSON object", false};
            return std::nullopt;
        }
        if (auto it = lists.find("exclude"); it != lists.end()) event.exclude = wamp::read_session_ids(*it);
        if (auto it = lists.find("eligible"); it != lists.end()) event.eligible = wamp::read_session_ids(*it);
    }
    if (event.event_message.empty()) {
        failure = {"no EVENT", false};
        return std::nullopt;
    }
    return event;
}

}  // namespace kreuz::cluster
