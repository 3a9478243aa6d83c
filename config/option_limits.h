// What the keys that both the YAML file and the command line set may hold,
// written once for config/'s sections and app/main.cpp's options, so that the
// two cannot accept different values. The largest value of a number is its
// type's.
#pragma once

#include <string_view>

namespace kreuz::config {

inline constexpr std::string_view log_levels[] = {"trace", "debug", "info", "warn", "error", "critical", "off"};
inline constexpr std::string_view log_formats[] = {"text", "json"};
inline constexpr std::string_view shutdown_modes[] = {"close", "drop"};

// Whether a websocket size, clock or count may be 0. Where it may, 0 switches
// the feature off or means no limit; where it may not, 0 would make no sense:
// a pong, close or slow-consumer clock of 0 fires at once, a queue limit of 0
// closes every connection, and a burst of 0 lets no message through.
namespace zero_allowed {
inline constexpr bool max_message_size = false;
inline constexpr bool handshake_timeout = true;
inline constexpr bool close_timeout = false;
inline constexpr bool ping_interval = true;
inline constexpr bool pong_timeout = false;
inline constexpr bool idle_timeout = true;
inline constexpr bool write_high_water = false;
inline constexpr bool write_queue_limit = false;
inline constexpr bool slow_consumer_timeout = false;
inline constexpr bool max_connections = true;
inline constexpr bool max_connections_per_ip = true;
inline constexpr bool max_handshakes = true;
inline constexpr bool message_rate = true;
inline constexpr bool message_burst = false;
}  // namespace zero_allowed

}  // namespace kreuz::config
