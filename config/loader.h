// YAML text -> Config. Every unknown key, wrong type, bad value and
// contradiction between keys is an error that names the file, the line and
// column, and the key path, so an operator can fix a config without guessing.
// The schema, with every default, is documented in docs/CONFIG.md.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

#include "config/config.h"

namespace kreuz::config {

// what() reads "FILE:LINE:COLUMN: KEY.PATH: message". The key path is left out
// when the error belongs to no key (a YAML syntax error), and line and column
// when the error is not inside the text (a file that cannot be read).
struct ConfigError : std::runtime_error {
    ConfigError(std::string file_name, int line_number, int column_number, std::string path,
                const std::string& text);

    std::string file;
    int line;              // 1-based; 0 when the file could not be read
    int column;            // 1-based; 0 with line 0
    std::string key_path;  // "realms[0].builtins.echo"; empty when no key is to blame
    std::string message;   // what() without the location, for callers that place it themselves
};

// file_name appears in the errors only; nothing is read from it.
Config parse_config(std::string_view yaml_text, const std::string& file_name);

// Reads and parses the file. An unreadable file is a ConfigError with line 0.
Config load_config_file(const std::string& path);

// The configuration the router runs without --config (config/default_config.cpp).
// It is YAML rather than a default-constructed Config so that it goes through
// the same parsing and validation as every file.
std::string_view default_config_yaml();

}  // namespace kreuz::config
