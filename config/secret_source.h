// The one key of a mapping that gives a secret: the secret itself
// ("secret", "password"), an environment variable that holds it ("…_env") or
// a file that holds it ("…_file"). A second such key is an error as soon as
// it is read. Used by realm users, publish-bridge keys and the cluster's
// Redis password. Internal to config/.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/yaml_reader.h"

namespace kreuz::config {

class SecretSource {
public:
    explicit SecretSource(const YamlReader& reader) : r_(reader) {}
    SecretSource(const SecretSource&) = delete;  // the keys' readers point at it
    SecretSource& operator=(const SecretSource&) = delete;

    // The table entry of one of the keys that can give the secret; the kind
    // of source follows from the name's ending.
    Key key(std::string_view name);

    bool given() const { return value_.has_value(); }
    // The secret itself, never empty; an error when no key gave it. `item`
    // is the mapping of the keys.
    std::string read(const Value& item) const;

    std::string_view name() const { return name_; }
    const Value& value() const { return *value_; }

private:
    const YamlReader& r_;
    std::vector<std::string_view> names_;
    std::optional<Value> value_;
    std::string_view name_;
};

}  // namespace kreuz::config
