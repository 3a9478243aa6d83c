// The typed reading of YAML values that every configuration section shares:
// mappings of known keys, mappings of the operator's own names, lists,
// scalars, sizes and durations, each refusing what it cannot read with an
// error that names the file, line, column and key path. Internal to config/.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace kreuz::config {

// At most `max_bytes` of a file (`larger` says there was more), or which
// step failed ("open" or "read") and why: one reader for the configuration
// file, secret files and the TLS files' check. Bounded, since a path may name
// a device that never ends (/dev/zero).
struct FileRead {
    std::string text;
    bool larger = false;
    const char* failed_step = nullptr;
    std::string reason;
};

FileRead read_file(const std::string& path, std::size_t max_bytes);

// Where each name of a list or mapping was first seen, for the "... is
// already used at line N" errors: one helper for every such check.
template <class Key>
class FirstSeen {
public:
    // 0 when `key` is new (it is recorded at `line`), else the line it was first seen at.
    int earlier(const Key& key, int line) {
        auto [it, added] = lines_.emplace(key, line);
        return added ? 0 : it->second;
    }

private:
    std::map<Key, int, std::less<>> lines_;
};

// A node with what messages about it need: its key path, and the mark of the
// key it belongs to. yaml-cpp places an empty (null) value at the token after
// it, often on the next line, so errors about a null value point at its key.
struct Value {
    YAML::Node node;
    std::string path;
    YAML::Mark key_mark;

    YAML::Mark mark() const { return node.IsNull() ? key_mark : node.Mark(); }
};

// The values of one YAML mapping by key. Building it has already rejected
// duplicate and unknown keys, so readers only look up the keys they know.
using Mapping = std::map<std::string, Value, std::less<>>;

const Value* find(const Mapping& mapping, std::string_view key);

// "a, b or c": how the messages list the choices of a key.
std::string either(std::span<const std::string_view> choices);

class YamlReader {
public:
    explicit YamlReader(const std::string& file_name) : file_(file_name) {}

    [[noreturn]] void fail(const YAML::Mark& mark, const std::string& path, const std::string& message) const;
    [[noreturn]] void fail(const Value& value, const std::string& message) const;

    Mapping read_mapping(const Value& value, std::initializer_list<std::string_view> known) const;

    // A mapping whose keys are the operator's own names (roles, HTTP
    // headers): `entry` gets each name with its value, in the file's order,
    // and does its own checks of the name. `expected` describes the mapping
    // and `names` its keys in the messages about a value that is none.
    void read_named_entries(const Value& value, std::string_view expected, std::string_view names,
                            const std::function<void(const std::string& name, const Value& entry)>& entry) const;

    std::vector<Value> read_list(const Value& value) const;
    std::string read_scalar(const Value& value, std::string_view expected) const;
    std::string read_string(const Value& value) const { return read_scalar(value, "a string"); }
    bool read_bool(const Value& value) const;

    // Whole decimal numbers only: no sign, no hex, no separators, so that a
    // typo cannot quietly mean something else.
    template <typename T>
    T read_integer(const Value& value, T min = 0, T max = std::numeric_limits<T>::max()) const {
        return static_cast<T>(read_whole_number(value, static_cast<std::uint64_t>(min),
                                                static_cast<std::uint64_t>(max)));
    }

    // Bytes: "65536", "65536B", "64KiB", "16MiB", "1GiB".
    std::size_t read_size(const Value& value, bool zero_allowed) const;
    // "500ms", "30s", "2m", "1h", or 0.
    std::uint32_t read_duration_ms(const Value& value, bool zero_disables) const;
    // What the HTTP request target of a WebSocket upgrade can be matched against.
    std::string read_url_path(const Value& value) const;

private:
    std::uint64_t read_whole_number(const Value& value, std::uint64_t min, std::uint64_t max) const;
    std::uint64_t to_number(const Value& value, std::string_view digits) const;

    const std::string& file_;
};

}  // namespace kreuz::config
