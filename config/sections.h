// The sections of a configuration file, each read into its part of Config.
// The top-level ones are in config/top_level_sections.cpp, the realms and what
// they hold in config/realm_sections.cpp. Internal to config/.
#pragma once

#include <vector>

#include "config/config.h"
#include "config/cross_checks.h"
#include "config/yaml_reader.h"

namespace kreuz::config {

// The whole document; a null root (a file of comments only) is the
// all-defaults configuration.
Config read_config(const YamlReader& reader, const YAML::Node& root);

// Keys that are given replace those of base; the others keep base's values.
SessionLimits read_limits(const YamlReader& reader, const Value& value, SessionLimits base);

// Read after the top-level sections, whose values realms inherit or are
// checked against. path_owners collects every realm path with a description
// of its owner, for the messages about paths used twice.
std::vector<RealmConfig> read_realms(const YamlReader& reader, const Value& value, const Config& config,
                                     PathOwners& path_owners);

}  // namespace kreuz::config
