#include "config/secret_source.h"

#include <cstdlib>
#include <utility>

#include "config/cross_checks.h"

namespace kreuz::config {

namespace {

// The largest secret file read.
constexpr std::size_t max_secret_file = 64u << 10;

// A secret kept out of the configuration file. The line break that ends
// the file is not part of the secret.
std::string read_secret_file(const YamlReader& r, const Value& value, const std::string& path) {
    FileRead file = read_file(path, max_secret_file);
    if (file.failed_step) {
        r.fail(value, std::string("cannot ") + file.failed_step + " " + quote(path) + ": " + file.reason);
    }
    if (file.larger) r.fail(value, quote(path) + " is larger than " + describe_size(max_secret_file));
    std::string text = std::move(file.text);
    if (text.ends_with('\n')) text.pop_back();
    if (text.ends_with('\r')) text.pop_back();
    return text;
}

}  // namespace

Key SecretSource::key(std::string_view name) {
    names_.push_back(name);
    return {name, [this, name](const Value& v) {
                if (value_) {
                    r_.fail(v, std::string(name_) + " and " + std::string(name) + " both give the secret; keep one");
                }
                value_ = v;
                name_ = name;
            }};
}

std::string SecretSource::read(const Value& item) const {
    if (!value_) r_.fail(item, "missing the secret: one of " + either(names_) + " is required");
    const Value& source = *value_;
    std::string secret;
    if (name_.ends_with("_env")) {
        const std::string variable = r_.read_string(source);
        const char* text = variable.empty() ? nullptr : std::getenv(variable.c_str());
        if (!text) r_.fail(source, "environment variable " + quote(variable) + " is not set");
        secret = text;
        if (secret.empty()) r_.fail(source, "environment variable " + quote(variable) + " is empty");
    } else if (name_.ends_with("_file")) {
        const std::string path = r_.read_string(source);
        secret = read_secret_file(r_, source, path);
        if (secret.empty()) r_.fail(source, "the file " + quote(path) + " is empty");
    } else {
        secret = r_.read_string(source);
        if (secret.empty()) r_.fail(source, "must not be empty");
    }
    return secret;
}

}  // namespace kreuz::config
