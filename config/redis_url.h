// The address of the cluster's Redis, as operators write it:
//   redis://[[user]:password@]host[:port][/db]   IPv6 hosts in brackets
//   unix://[[user]:password@]/path/to/redis.sock[?db=N]
// Pure string work, so that every form and every mistake has a unit test.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "config/config.h"

namespace kreuz::config {

// Fills the Redis fields of `cluster`; returns what is wrong with `url`, or
// nullopt when it is fine.
std::optional<std::string> parse_redis_url(std::string_view url, ClusterConfig& cluster);

}  // namespace kreuz::config
