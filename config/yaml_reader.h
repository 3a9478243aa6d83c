// The typed reading of YAML values that every configuration section shares:
// mappings of known keys, mappings of the operator's own names, lists,
// scalars, sizes and durations, each refusing what it cannot read with an
// error that names the file, line, column and key path. Internal to config/.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <limits>
#include <map>
#include <string>
#include <string_view>
#include <utility>
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

enum class Presence { optional, required };

// One key of a mapping and how to read it; a section lists each of its keys
// once, in such a table.
struct Key {
    // Not explicit: the tables are written as {"name", reader, ...}.
    Key(std::string_view key_name, std::function<void(const Value&)> reader = {},
        Presence key_presence = Presence::optional, std::string_view why = {})
        : name(key_name), read(std::move(reader)), presence(key_presence), why_required(why) {}

    std::string_view name;
    // Empty for a key that is read after the table, together with the keys
    // its meaning depends on.
    std::function<void(const Value&)> read;
    Presence presence;
    std::string_view why_required;  // said after "missing required key", when it is not obvious
};

class YamlReader {
public:
    explicit YamlReader(const std::string& file_name) : file_(file_name) {}

    [[noreturn]] void fail(const YAML::Mark& mark, const std::string& path, const std::string& message) const;
    [[noreturn]] void fail(const Value& value, const std::string& message) const;

    // Reads a mapping of known keys: refuses the others and repeated ones,
    // then reads each key that is present in the order of `keys` (a required
    // one that is missing is an error when its turn comes). The order is the
    // one the messages list the keys in, and it decides which of two errors
    // is reported. Returns the values, for the keys read together afterwards.
    Mapping read_keys(const Value& value, std::initializer_list<Key> keys) const;

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
