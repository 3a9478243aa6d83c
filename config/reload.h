// What a reload (SIGHUP) may take over from a changed configuration file, and
// what only a restart can apply.
#pragma once

#include <string>

#include "config/config.h"

namespace kreuz::config {

// What a reload cannot take over without a restart: listeners, WebSocket
// options, the echo path, the log format, and each realm's name, paths and
// handshake settings (accept_no_subprotocol, allowed_origins,
// max_message_size), which open connections were accepted under. Returns an
// empty string when `next` differs from `running` only in what a reload
// applies, else what differs.
std::string restart_required(const Config& running, const Config& next);

}  // namespace kreuz::config
