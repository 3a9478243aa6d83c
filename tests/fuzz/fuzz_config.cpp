// YAML text -> Config. The loader's contract is that every bad file is a
// ConfigError, which --config and --check-config report as a message: any
// other exception escaping it would end the router with an uncaught
// exception instead. A file it accepts must also pass the relation checks
// that command-line overrides go through, and have a listener and a realm.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <string>
#include <string_view>
#include <typeinfo>

#include "config/cross_checks.h"
#include "config/loader.h"
#include "fuzz_input.h"

namespace {

using namespace kreuz::config;
using kreuz::fuzz::check;

void check_config(const Config& config) {
    check(inconsistency(config).empty());
    check(!config.listeners.empty());
    check(!config.realms.empty());
    for (const RealmConfig& realm : config.realms) {
        check(!realm.name.empty());
        check(!realm.paths.empty());
        for (const std::string& path : realm.paths) check(path.starts_with('/'));
    }
}

void check_error(const ConfigError& error) {
    check(error.line >= 0 && error.column >= 0);
    check(!error.message.empty());
    check(error.file == "fuzz.yaml");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    try {
        check_config(parse_config(text, "fuzz.yaml"));
    } catch (const ConfigError& error) {
        check_error(error);
    } catch (const std::exception& e) {
        // The trap's stack no longer shows the throw; the type and text do.
        std::fprintf(stderr, "parse_config threw %s: %s\n", typeid(e).name(), e.what());
        __builtin_trap();
    } catch (...) {
        __builtin_trap();
    }
    return 0;
}
