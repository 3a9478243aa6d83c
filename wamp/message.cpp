#include "wamp/message.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <limits>
#include <utility>

#include "wamp/json_reader.h"

namespace kreuz::wamp {

namespace {

using nlohmann::json;

// Thrown by the element readers below and caught in parse(), so each message
// parser reads as a straight list of expectations.
struct Failure {
    ParseError error;
};

bool nesting_exceeds(std::string_view text, std::size_t limit) {
    std::size_t depth = 0;
    bool in_string = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (in_string) {
            if (c == '\\') {
                ++i;  // an escaped quote must not end the string
            } else if (c == '"') {
                in_string = false;
            }
        } else if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            if (++depth > limit) return true;
        } else if ((c == ']' || c == '}') && depth > 0) {
            --depth;
        }
    }
    return false;
}

// nlohmann's what() ends in "; last read: '...'" quoting the client's raw
// bytes, which may be invalid UTF-8 and do not belong in logs or replies; the
// rest of the text is fixed ASCII.
std::string describe(const json::parse_error& e) {
    const std::string_view what = e.what();
    const std::size_t colon = what.find(": ");
    const std::size_t start = colon == std::string_view::npos ? 0 : colon + 2;
    const std::size_t end = what.find("; last read", start);
    return "invalid JSON at byte " + std::to_string(e.byte) + ": " +
           std::string(what.substr(start, end == std::string_view::npos ? end : end - start));
}

std::optional<int> type_id_of(const json& element) {
    if (element.is_number_unsigned()) {
        const auto value = element.get<std::uint64_t>();
        if (value <= static_cast<std::uint64_t>(Event::type_id)) return static_cast<int>(value);
    } else if (element.is_number_integer()) {
        const auto value = element.get<std::int64_t>();
        if (value >= 0 && value <= Event::type_id) return static_cast<int>(value);
    }
    return std::nullopt;
}

constexpr std::size_t unbounded = std::numeric_limits<std::size_t>::max();

// The elements of one message array, read by index. Values are moved out of
// the parsed document rather than copied.
class Elements {
public:
    Elements(json& array, const char* name) : array_(array), name_(name) {}

    std::size_t size() const { return array_.size(); }

    void require_count(std::size_t low, std::size_t high) const {
        const std::size_t n = size();
        if (n >= low && n <= high) return;
        std::string expected;
        if (high == unbounded) {
            expected = "at least " + std::to_string(low);
        } else if (low == high) {
            expected = "exactly " + std::to_string(low);
        } else if (high == low + 1) {
            expected = std::to_string(low) + " or " + std::to_string(high);
        } else {
            expected = std::to_string(low) + " to " + std::to_string(high);
        }
        throw Failure{{ParseError::Kind::bad_element,
                       std::string(name_) + " must have " + expected + " elements, got " + std::to_string(n)}};
    }

    std::string take_string(std::size_t index, const char* field) {
        if (!array_[index].is_string()) fail(index, field, "must be a string");
        return std::move(array_[index].get_ref<std::string&>());
    }

    std::string take_non_empty_string(std::size_t index, const char* field) {
        if (!array_[index].is_string() || array_[index].get_ref<const std::string&>().empty()) {
            fail(index, field, "must be a non-empty string");
        }
        return std::move(array_[index].get_ref<std::string&>());
    }

    std::int64_t integer(std::size_t index, const char* field) const {
        const json& element = array_[index];
        if (element.is_number_unsigned()) {
            const auto value = element.get<std::uint64_t>();
            if (value <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
                return static_cast<std::int64_t>(value);
            }
        } else if (element.is_number_integer()) {
            return element.get<std::int64_t>();
        }
        fail(index, field, "must be an integer");
    }

    json take(std::size_t index) { return std::move(array_[index]); }

    const json& at(std::size_t index) const { return array_[index]; }

    [[noreturn]] void fail(std::size_t index, const char* field, const char* expectation) const {
        throw Failure{{ParseError::Kind::bad_element, std::string(name_) + " element " + std::to_string(index) +
                                                          " (" + field + ") " + expectation}};
    }

private:
    json& array_;
    const char* name_;
};

Welcome parse_welcome(json& doc) {
    Elements e(doc, "WELCOME");
    e.require_count(4, 4);
    Welcome m;
    m.session_id = e.take_string(1, "sessionId");
    m.protocol_version = e.integer(2, "protocolVersion");
    m.server_ident = e.take_string(3, "serverIdent");
    return m;
}

Prefix parse_prefix(json& doc) {
    Elements e(doc, "PREFIX");
    e.require_count(3, 3);
    Prefix m;
    m.prefix = e.take_non_empty_string(1, "prefix");
    m.uri = e.take_string(2, "uri");
    return m;
}

Call parse_call(json& doc) {
    Elements e(doc, "CALL");
    e.require_count(3, unbounded);
    Call m;
    m.call_id = e.take_string(1, "callId");
    m.procedure = e.take_non_empty_string(2, "procUri");
    doc.erase(doc.begin(), doc.begin() + 3);
    m.args = std::move(doc);
    return m;
}

CallResult parse_call_result(json& doc) {
    Elements e(doc, "CALLRESULT");
    e.require_count(3, 3);
    CallResult m;
    m.call_id = e.take_string(1, "callId");
    m.result = e.take(2);
    return m;
}

CallError parse_call_error(json& doc) {
    Elements e(doc, "CALLERROR");
    e.require_count(4, 5);
    CallError m;
    m.call_id = e.take_string(1, "callId");
    m.error_uri = e.take_string(2, "errorUri");
    m.description = e.take_string(3, "errorDesc");
    if (e.size() == 5) {
        if (e.at(4).is_null()) e.fail(4, "errorDetails", "must not be null");
        m.details = e.take(4);
    }
    return m;
}

template <typename TopicMessage>
TopicMessage parse_topic_only(json& doc, const char* name) {
    Elements e(doc, name);
    e.require_count(2, 2);
    TopicMessage m;
    m.topic = e.take_non_empty_string(1, "topicUri");
    return m;
}

// AutobahnPython's reading: a 4th element that is neither a bool nor a list
// (its own client sends null) and a 5th that is not a list mean "default".
Publish parse_publish(json& doc) {
    Elements e(doc, "PUBLISH");
    e.require_count(3, 5);
    Publish m;
    m.topic = e.take_non_empty_string(1, "topicUri");
    m.event = e.take(2);
    if (e.size() >= 4) {
        json& fourth = doc[3];
        if (fourth.is_boolean()) {
            m.exclude_me = fourth.get<bool>();
        } else if (fourth.is_array()) {
            m.exclude = read_session_ids(fourth);
            m.exclude_me = false;
        }
    }
    if (e.size() == 5) m.eligible = read_session_ids(doc[4]);
    return m;
}

Event parse_event(json& doc) {
    Elements e(doc, "EVENT");
    e.require_count(3, 3);
    Event m;
    m.topic = e.take_string(1, "topicUri");
    m.event = e.take(2);
    return m;
}

Message parse_message(int type_id, json& doc) {
    switch (type_id) {
    case Welcome::type_id: return parse_welcome(doc);
    case Prefix::type_id: return parse_prefix(doc);
    case Call::type_id: return parse_call(doc);
    case CallResult::type_id: return parse_call_result(doc);
    case CallError::type_id: return parse_call_error(doc);
    case Subscribe::type_id: return parse_topic_only<Subscribe>(doc, "SUBSCRIBE");
    case Unsubscribe::type_id: return parse_topic_only<Unsubscribe>(doc, "UNSUBSCRIBE");
    case Publish::type_id: return parse_publish(doc);
    default: return parse_event(doc);  // type_id_of() admits nothing above Event::type_id
    }
}

// Strings, integers and the containers of what WAMP payloads mostly carry are
// written straight into `out`: json::dump() builds a temporary string per call
// (and per string a json copy), looks up the locale and appends byte by byte,
// which was a fifth of an echo CALL's instructions. ASCII strings are the fast
// path; other text and floating-point numbers go through dump(), whose
// formatting and invalid-UTF-8 replacement stay the reference.
void append_json(std::string& out, const json& value);

void append_string(std::string& out, std::string_view text) {
    static constexpr char hex[] = "0123456789abcdef";
    if (std::any_of(text.begin(), text.end(), [](char c) { return static_cast<unsigned char>(c) >= 0x80; })) {
        out += json(text).dump(-1, ' ', false, json::error_handler_t::replace);
        return;
    }
    out += '"';
    std::size_t plain_from = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        out.append(text, plain_from, i - plain_from);
        plain_from = i + 1;
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\b': out += "\\b"; break;
            case '\f': out += "\\f"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            default:
                out += "\\u00";
                out += hex[c >> 4];
                out += hex[c & 0xf];
        }
    }
    out.append(text, plain_from, text.size() - plain_from);
    out += '"';
}

template <typename Integer>
void append_integer(std::string& out, Integer number) {
    char digits[24];
    const auto end = std::to_chars(digits, digits + sizeof digits, number).ptr;
    out.append(digits, end);
}

void append_json(std::string& out, const json& value) {
    switch (value.type()) {
        case json::value_t::string:
            append_string(out, value.get_ref<const std::string&>());
            return;
        case json::value_t::number_integer:
            append_integer(out, value.get<std::int64_t>());
            return;
        case json::value_t::number_unsigned:
            append_integer(out, value.get<std::uint64_t>());
            return;
        case json::value_t::boolean:
            out += value.get<bool>() ? "true" : "false";
            return;
        case json::value_t::null:
            out += "null";
            return;
        case json::value_t::array: {
            out += '[';
            bool first = true;
            for (const json& item : value) {
                if (!first) out += ',';
                first = false;
                append_json(out, item);
            }
            out += ']';
            return;
        }
        case json::value_t::object: {
            out += '{';
            bool first = true;
            for (const auto& [key, item] : value.items()) {
                if (!first) out += ',';
                first = false;
                append_string(out, key);
                out += ':';
                append_json(out, item);
            }
            out += '}';
            return;
        }
        default:
            out += value.dump(-1, ' ', false, json::error_handler_t::replace);
    }
}

void append_string_list(std::string& out, const std::vector<std::string>& list) {
    out += '[';
    for (std::size_t i = 0; i < list.size(); ++i) {
        if (i > 0) out += ',';
        append_string(out, list[i]);
    }
    out += ']';
}

// The pieces are dumped one by one into the output rather than assembled as
// a json array first, which would deep-copy the event or the arguments.
std::string begin_message(int type_id) {
    static_assert(Event::type_id < 10, "type ids are single digits");
    return std::string{'[', static_cast<char>('0' + type_id)};
}

bool contains(const std::vector<std::string>& ids, std::string_view id) {
    return std::find(ids.begin(), ids.end(), id) != ids.end();
}

}  // namespace

std::optional<json> parse_json(std::string_view text, std::string& error, JsonReader* reader) {
    if (nesting_exceeds(text, max_nesting_depth)) {
        error = "JSON nesting deeper than " + std::to_string(max_nesting_depth) + " levels";
        return std::nullopt;
    }
    if (reader != nullptr) {
        if (std::optional<json> value = reader->read(text)) return value;
    }
    try {
        return json::parse(text);
    } catch (const json::parse_error& e) {
        error = describe(e);
    } catch (const json::out_of_range&) {
        // A number literal beyond the range of a double, such as 1e400.
        error = "number out of range";
    }
    return std::nullopt;
}

namespace {

// Reads the start of a text as SAX events and stops after the CALL's
// envelope, so it never reaches (or allocates for) the arguments that
// failed: the whole text has been refused already, and only
// `[2, "<callId>", "<procURI>"` matters.
class CallIdScanner final : public nlohmann::json_sax<json> {
public:
    std::optional<std::string> call_id;

    bool null() override { return scalar(); }
    bool boolean(bool) override { return scalar(); }
    bool number_integer(number_integer_t value) override { return type_id(value == Call::type_id); }
    bool number_unsigned(number_unsigned_t value) override { return type_id(value == Call::type_id); }
    bool number_float(number_float_t, const string_t&) override { return scalar(); }
    bool string(string_t& value) override {
        if (position_ == 1) {
            id_ = std::move(value);
            position_ = 2;
            return true;
        }
        // The procedure URI completes the envelope; what follows is arguments.
        if (position_ == 2) call_id = std::move(id_);
        return false;
    }
    bool binary(binary_t&) override { return scalar(); }
    bool start_object(std::size_t) override { return scalar(); }
    bool key(string_t&) override { return false; }
    bool end_object() override { return false; }
    bool start_array(std::size_t) override {
        if (position_ != -1) return false;
        position_ = 0;
        return true;
    }
    bool end_array() override { return false; }
    bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override { return false; }

private:
    bool scalar() { return false; }
    bool type_id(bool is_call) {
        if (position_ != 0 || !is_call) return false;
        position_ = 1;
        return true;
    }
    int position_ = -1;  // the array element expected next; -1 before the array
    std::string id_;
};

std::optional<std::string> readable_call_id(std::string_view text) {
    CallIdScanner scanner;
    json::sax_parse(text, &scanner, json::input_format_t::json, false);
    return std::move(scanner.call_id);
}

ParseResult parse_document(std::string_view text, JsonReader* reader) {
    std::string error;
    std::optional<json> parsed = parse_json(text, error, reader);
    if (!parsed) return ParseError{ParseError::Kind::invalid_json, std::move(error), readable_call_id(text)};
    json& doc = *parsed;
    if (!doc.is_array()) {
        return ParseError{ParseError::Kind::not_array, "message must be a JSON array"};
    }
    if (doc.empty() || !doc[0].is_number_integer()) {
        return ParseError{ParseError::Kind::bad_type_id, "element 0 must be an integer message type id"};
    }
    const std::optional<int> type_id = type_id_of(doc[0]);
    if (!type_id) {
        return ParseError{ParseError::Kind::unknown_type,
                          "message type " + doc[0].dump() + " is not a WAMP v1 message type"};
    }
    try {
        return parse_message(*type_id, doc);
    } catch (const Failure& failure) {
        return failure.error;
    }
}

}  // namespace

ParseResult parse(std::string_view text) { return parse_document(text, nullptr); }

ParseResult parse(std::string_view text, JsonReader& reader) { return parse_document(text, &reader); }

std::optional<std::vector<std::string>> read_session_ids(const json& list) {
    if (!list.is_array()) return std::nullopt;
    std::vector<std::string> ids;
    ids.reserve(list.size());
    for (const json& id : list) {
        if (id.is_string()) ids.push_back(id.get<std::string>());
    }
    return ids;
}

bool receives(const Publish& publish, std::string_view publisher_id, std::string_view subscriber_id) {
    return receives(
        publish, [&] { return subscriber_id == publisher_id; },
        [&] { return contains(*publish.eligible, subscriber_id); },
        [&] { return contains(*publish.exclude, subscriber_id); });
}

std::string serialize(const Welcome& message) {
    std::string out = begin_message(Welcome::type_id);
    out += ',';
    append_string(out, message.session_id);
    out += ',';
    out += std::to_string(message.protocol_version);
    out += ',';
    append_string(out, message.server_ident);
    out += ']';
    return out;
}

std::string serialize(const Prefix& message) {
    std::string out = begin_message(Prefix::type_id);
    out += ',';
    append_string(out, message.prefix);
    out += ',';
    append_string(out, message.uri);
    out += ']';
    return out;
}

std::string serialize(const Call& message) {
    std::string out = begin_message(Call::type_id);
    out += ',';
    append_string(out, message.call_id);
    out += ',';
    append_string(out, message.procedure);
    for (const json& arg : message.args) {
        out += ',';
        append_json(out, arg);
    }
    out += ']';
    return out;
}

std::string serialize(const CallResult& message) {
    std::string out = begin_message(CallResult::type_id);
    out += ',';
    append_string(out, message.call_id);
    out += ',';
    append_json(out, message.result);
    out += ']';
    return out;
}

std::string serialize(const CallError& message) {
    std::string out = begin_message(CallError::type_id);
    out += ',';
    append_string(out, message.call_id);
    out += ',';
    append_string(out, message.error_uri);
    out += ',';
    append_string(out, message.description);
    if (message.details && !message.details->is_null()) {
        out += ',';
        append_json(out, *message.details);
    }
    out += ']';
    return out;
}

std::string serialize(const Subscribe& message) {
    std::string out = begin_message(Subscribe::type_id);
    out += ',';
    append_string(out, message.topic);
    out += ']';
    return out;
}

std::string serialize(const Unsubscribe& message) {
    std::string out = begin_message(Unsubscribe::type_id);
    out += ',';
    append_string(out, message.topic);
    out += ']';
    return out;
}

std::string serialize(const Publish& message) {
    std::string out = begin_message(Publish::type_id);
    out += ',';
    append_string(out, message.topic);
    out += ',';
    append_json(out, message.event);
    if (message.exclude) {
        out += ',';
        append_string_list(out, *message.exclude);
    } else if (message.eligible || !message.exclude_me) {
        out += message.exclude_me ? ",true" : ",false";
    }
    if (message.eligible) {
        out += ',';
        append_string_list(out, *message.eligible);
    }
    out += ']';
    return out;
}

std::string serialize(const Event& message) {
    std::string out = begin_message(Event::type_id);
    out += ',';
    append_string(out, message.topic);
    out += ',';
    append_json(out, message.event);
    out += ']';
    return out;
}

std::string serialize(const Message& message) {
    return std::visit([](const auto& m) { return serialize(m); }, message);
}

}  // namespace kreuz::wamp
