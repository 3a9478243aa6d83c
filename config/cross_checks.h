// The rules that tie one key to another, each written once. The YAML loader
// applies them where it reads the keys involved, so that an error points at
// the right line; inconsistency() applies all of them to a finished
// configuration, for the command line's values laid over the file. Each
// returns an empty string when the rule holds, else what is wrong.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>

#include "config/config.h"

namespace kreuz::config {

// Sizes the way the configuration writes them ("4MiB", "1500 bytes").
std::string describe_size(std::uint64_t bytes);
std::string quote(std::string_view text);
// "a, b or c": how messages and the command line's help list the choices of a key.
std::string either(std::span<const std::string_view> choices);

std::string queue_limit_below_high_water(const ws::WebSocketOptions& ws);
std::string queue_limit_below_message_size(const ws::WebSocketOptions& ws);
std::string realm_message_size_above_transport(const RealmConfig& realm, const ws::WebSocketOptions& ws);
std::string bridge_body_above_http_limit(const PublishBridgeConfig& bridge, const ws::WebSocketOptions& ws);
// A path every HTTP request of which kreuz answers itself.
std::string reserved_path(std::string_view path);

// Who serves which path: realms, publish bridges and the echo endpoint share
// one namespace of paths, and a path has one owner.
class PathOwners {
public:
    // Records `owner` for `path`, or says who has it already.
    std::string claim(const std::string& path, std::string owner);

private:
    std::map<std::string, std::string, std::less<>> owners_;
};

// Every rule above, on a whole configuration.
std::string inconsistency(const Config& config);

}  // namespace kreuz::config
