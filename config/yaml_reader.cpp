#include "config/yaml_reader.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>

#include "config/cross_checks.h"
#include "config/loader.h"

namespace kreuz::config {

namespace {

std::string describe_node(const YAML::Node& node) {
    switch (node.Type()) {
        case YAML::NodeType::Sequence: return "a list";
        case YAML::NodeType::Map: return "a mapping";
        case YAML::NodeType::Scalar: return quote(node.Scalar());
        default: return "an empty value";
    }
}

bool all_digits(std::string_view text) {
    return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string child_path(const std::string& parent, std::string_view key) {
    std::string path = parent;
    if (!path.empty()) path += '.';
    return path.append(key);
}

std::string index_path(const std::string& parent, std::size_t index) {
    return parent + "[" + std::to_string(index) + "]";
}

// A number followed by a unit, as in "64KiB" or "500ms"; spaces between them
// are allowed. number is empty when the text does not start with a digit.
struct Quantity {
    std::string_view number;
    std::string_view unit;
};

Quantity split_quantity(std::string_view text) {
    std::size_t digits = 0;
    while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
    std::size_t unit = digits;
    while (unit < text.size() && text[unit] == ' ') ++unit;
    return {text.substr(0, digits), text.substr(unit)};
}

}  // namespace

FileRead read_file(const std::string& path, std::size_t max_bytes) {
    FileRead result;
    std::FILE* file = std::fopen(path.c_str(), "rb");
    if (!file) {
        result.failed_step = "open";
        result.reason = std::strerror(errno);
        return result;
    }
    char buffer[8192];
    std::size_t n = 0;
    while (result.text.size() <= max_bytes && (n = std::fread(buffer, 1, sizeof buffer, file)) > 0) {
        result.text.append(buffer, n);
    }
    // fopen succeeds on a directory; reading from it is what fails. errno is
    // read before fclose, which may overwrite it.
    if (std::ferror(file) != 0) {
        result.failed_step = "read";
        result.reason = std::strerror(errno);
    }
    std::fclose(file);
    if (result.text.size() > max_bytes) {
        result.larger = true;
        result.text.resize(max_bytes);
    }
    return result;
}

const Value* find(const Mapping& mapping, std::string_view key) {
    auto it = mapping.find(key);
    return it == mapping.end() ? nullptr : &it->second;
}

void YamlReader::fail(const YAML::Mark& mark, const std::string& path, const std::string& message) const {
    throw ConfigError(file_, mark.line + 1, mark.column + 1, path, message);
}

void YamlReader::fail(const Value& value, const std::string& message) const {
    fail(value.mark(), value.path, message);
}

Mapping YamlReader::read_keys(const Value& value, std::initializer_list<Key> keys) const {
    if (!value.node.IsMap()) {
        // "log:" with every line below commented out is the common way to get here.
        const char* hint = value.node.IsNull() ? "; leave the key out to keep the defaults" : "";
        fail(value, "expected a mapping, got " + describe_node(value.node) + hint);
    }
    Mapping mapping;
    read_named_entries(value, "a mapping", "keys", [&](const std::string& name, const Value& entry) {
        // yaml-cpp keeps both entries of a repeated key; a silent "last one
        // wins" would hide a half-edited config.
        if (const Value* first = find(mapping, name)) {
            fail(entry.key_mark, entry.path,
                 "duplicate key " + quote(name) + "; it is first set at line " +
                     std::to_string(first->key_mark.line + 1));
        }
        if (std::none_of(keys.begin(), keys.end(), [&](const Key& key) { return key.name == name; })) {
            std::string message = "unknown key " + quote(name);
            if (name == "<<") {
                message += "; YAML merge keys are not supported, write the keys out";
            } else {
                std::string names;
                for (const Key& key : keys) names.append(names.empty() ? "" : ", ").append(key.name);
                message += " (known here: " + names + ")";
            }
            fail(entry.key_mark, entry.path, message);
        }
        mapping.emplace(name, entry);
    });
    for (const Key& key : keys) {
        const Value* given = find(mapping, key.name);
        if (!given && key.presence == Presence::required) {
            std::string message = "missing required key " + quote(key.name);
            if (!key.why_required.empty()) message.append(": ").append(key.why_required);
            fail(value, message);
        }
        if (given && key.read) key.read(*given);
    }
    return mapping;
}

void YamlReader::read_named_entries(
    const Value& value, std::string_view expected, std::string_view names,
    const std::function<void(const std::string& name, const Value& entry)>& entry) const {
    if (!value.node.IsMap()) fail(value, "expected " + std::string(expected) + ", got " + describe_node(value.node));
    for (auto it = value.node.begin(); it != value.node.end(); ++it) {
        const YAML::Node key = it->first;
        if (!key.IsScalar()) {
            fail(key.Mark(), value.path, std::string(names) + " must be names, got " + describe_node(key));
        }
        const std::string& name = key.Scalar();
        entry(name, Value{it->second, child_path(value.path, name), key.Mark()});
    }
}

std::vector<Value> YamlReader::read_list(const Value& value) const {
    if (!value.node.IsSequence()) fail(value, "expected a list, got " + describe_node(value.node));
    std::vector<Value> items;
    for (const YAML::Node& item : value.node) {
        // A null item has no position of its own; the list's is the nearest honest one.
        const YAML::Mark mark = item.IsNull() ? value.mark() : item.Mark();
        items.push_back({item, index_path(value.path, items.size()), mark});
    }
    return items;
}

std::string YamlReader::read_scalar(const Value& value, std::string_view expected) const {
    if (!value.node.IsScalar()) {
        fail(value, "expected " + std::string(expected) + ", got " + describe_node(value.node));
    }
    return value.node.Scalar();
}

// Only YAML 1.2's spellings: yes/no/on/off are strings there, and a value
// that one reader takes for a boolean and another for a string is a trap.
bool YamlReader::read_bool(const Value& value) const {
    const std::string text = read_scalar(value, "true or false");
    if (text == "true" || text == "True" || text == "TRUE") return true;
    if (text == "false" || text == "False" || text == "FALSE") return false;
    fail(value, "expected true or false, got " + quote(text));
}

std::uint64_t YamlReader::to_number(const Value& value, std::string_view digits) const {
    std::uint64_t n = 0;
    const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
    if (error != std::errc{} || end != digits.data() + digits.size()) {
        fail(value, quote(value.node.Scalar()) + " is too large");
    }
    return n;
}

std::uint64_t YamlReader::read_whole_number(const Value& value, std::uint64_t min, std::uint64_t max) const {
    const std::string text = read_scalar(value, "a whole number");
    if (text.starts_with('-') && all_digits(std::string_view(text).substr(1))) {
        fail(value, "must not be negative, got " + text);
    }
    if (!all_digits(text)) fail(value, "expected a whole number, got " + quote(text));
    const std::uint64_t n = to_number(value, text);
    if (n < min || n > max) {
        fail(value, (min == 0 ? "must be at most " + std::to_string(max)
                              : "must be between " + std::to_string(min) + " and " + std::to_string(max)) +
                        ", got " + text);
    }
    return n;
}

std::size_t YamlReader::read_size(const Value& value, bool zero_allowed) const {
    const std::string text = read_scalar(value, "a size");
    const Quantity q = split_quantity(text);
    std::uint64_t scale = 0;
    if (q.unit.empty() || q.unit == "B") {
        scale = 1;
    } else if (q.unit == "KiB") {
        scale = std::uint64_t{1} << 10;
    } else if (q.unit == "MiB") {
        scale = std::uint64_t{1} << 20;
    } else if (q.unit == "GiB") {
        scale = std::uint64_t{1} << 30;
    }
    if (q.number.empty() || scale == 0) {
        fail(value, "expected a size: a whole number of bytes, optionally with the unit B, KiB, MiB or GiB "
                    "(e.g. 65536 or 64KiB), got " + quote(text));
    }
    const std::uint64_t n = to_number(value, q.number);
    if (n > std::numeric_limits<std::size_t>::max() / scale) fail(value, quote(text) + " is too large");
    if (n == 0 && !zero_allowed) fail(value, "must be greater than 0");
    return static_cast<std::size_t>(n * scale);
}

// A bare number is refused because "30" could as well mean seconds as
// milliseconds; only 0 needs no unit.
std::uint32_t YamlReader::read_duration_ms(const Value& value, bool zero_disables) const {
    const std::string text = read_scalar(value, "a duration");
    const Quantity q = split_quantity(text);
    if (!q.number.empty() && q.unit.empty() && to_number(value, q.number) != 0) {
        fail(value, quote(text) + " has no unit; write e.g. " + text + "s for seconds or " + text +
                        "ms for milliseconds");
    }
    std::uint64_t scale = 0;
    if (q.unit.empty() || q.unit == "ms") {
        scale = 1;
    } else if (q.unit == "s") {
        scale = 1000;
    } else if (q.unit == "m") {
        scale = 60 * 1000;
    } else if (q.unit == "h") {
        scale = 60 * 60 * 1000;
    }
    if (q.number.empty() || scale == 0) {
        fail(value, "expected a duration: a whole number with the unit ms, s, m or h (e.g. 500ms, 30s, 2m), got " +
                        quote(text));
    }
    const std::uint64_t n = to_number(value, q.number);
    constexpr std::uint64_t max_ms = std::numeric_limits<std::uint32_t>::max();
    if (n > max_ms / scale) {
        fail(value, quote(text) + " is too long; the limit is " + std::to_string(max_ms) + "ms (about 49 days)");
    }
    if (n == 0 && !zero_disables) fail(value, "must be greater than 0");
    return static_cast<std::uint32_t>(n * scale);
}

std::string YamlReader::read_url_path(const Value& value) const {
    const std::string text = read_string(value);
    if (!text.starts_with('/')) fail(value, "must start with \"/\", got " + quote(text));
    for (char c : text) {
        const auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u >= 0x7f || c == '?' || c == '#') {
            fail(value, quote(text) + " is not a plain URL path (no spaces, query, fragment or non-ASCII)");
        }
    }
    return text;
}

}  // namespace kreuz::config
