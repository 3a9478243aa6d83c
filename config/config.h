// The router's whole configuration as plain values. The command line fills it
// today; the YAML loader fills the same struct.
#pragma once

#include <string>

#include "websocket/options.h"

namespace kreuz::config {

struct Config {
    ws::ListenOptions listen;
    ws::WebSocketOptions websocket;
    std::string echo_path;          // empty: no echo endpoint
    std::string log_level = "info";
};

}  // namespace kreuz::config
