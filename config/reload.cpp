#include "config/reload.h"

#include <cstddef>
#include <cstdlib>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

namespace kreuz::config {

namespace {

// Each field of a configuration struct, marked with what a change to it on a
// reload takes, in one table per struct (as Redis marks each option
// immutable or modifiable in one table). A static_assert compares each
// table's length with the number of fields of its struct, so a field added to
// the struct stops the build until it is given a class here: none becomes
// reloadable by omission.

// Open connections were accepted under it: only a restart applies a change.
template <class T>
struct Restart {
    std::string_view key;
    const T& value;
    std::string_view note = {};
};

// A reload applies a change to it.
template <class T>
struct Reloadable {
    std::string_view key;
    const T& value;
};

// Parts of it are one, parts the other; its own table says which.
template <class T>
struct Parts {
    std::string_view key;
    const T& value;
};

template <class T>
Restart<T> restart(std::string_view key, const T& value, std::string_view note = {}) {
    return {key, value, note};
}
template <class T>
Reloadable<T> reloadable(std::string_view key, const T& value) {
    return {key, value};
}
template <class T>
Parts<T> parts(std::string_view key, const T& value) {
    return {key, value};
}

// The number of fields of an aggregate: the most initializers it accepts
// from a value that converts to anything.
struct AnyField {
    template <class T>
    operator T() const {  // only named in unevaluated contexts; defined for clang's -Wundefined-internal
        std::abort();
    }
};

template <class T, class... Fields>
constexpr std::size_t field_count() {
    if constexpr (requires { T{std::declval<Fields>()..., AnyField{}}; }) {
        return field_count<T, Fields..., AnyField>();
    } else {
        return sizeof...(Fields);
    }
}

// The entries are in the order they are checked in, which decides what is
// reported when several changed.
auto reload_table(const LogConfig& log) {
    return std::tuple{reloadable("level", log.level), restart("format", log.json)};
}

auto reload_table(const RealmConfig& realm) {
    return std::tuple{
        restart("name", realm.name, " (realms must keep their order and names)"),
        restart("paths", realm.paths),
        restart("accept_no_subprotocol", realm.accept_no_subprotocol),
        restart("allowed_origins", realm.allowed_origins),
        restart("max_message_size", realm.max_message_size),
        reloadable("strict", realm.strict),
        reloadable("limits", realm.limits),
        reloadable("builtins", realm.builtins),
        reloadable("rules", realm.rules),
        reloadable("auth", realm.auth),
        reloadable("roles", realm.roles),
        reloadable("backends", realm.backends),
        reloadable("publish_bridge", realm.publish_bridge),
        reloadable("callee_timeout", realm.callee_timeout_ms),
    };
}

auto reload_table(const Config& config) {
    return std::tuple{
        restart("listen", config.listeners),
        restart("websocket", config.websocket),
        restart("websocket.echo_path", config.echo_path),
        parts("log", config.log),
        reloadable("http", config.http),
        reloadable("limits", config.limits),
        parts("realms", config.realms),
        // The node's identity and its Redis: sessions ids were given under it.
        restart("cluster", config.cluster),
    };
}

template <class T>
constexpr bool covers_every_field =
    std::tuple_size_v<decltype(reload_table(std::declval<const T&>()))> == field_count<T>();
static_assert(covers_every_field<Config>, "a field of Config has no reload class");
static_assert(covers_every_field<LogConfig>, "a field of LogConfig has no reload class");
static_assert(covers_every_field<RealmConfig>, "a field of RealmConfig has no reload class");

std::string changed(std::string_view prefix, std::string_view key, std::string_view note = {}) {
    std::string text(prefix);
    return text.append(key).append(" changed").append(note);
}

template <class T>
std::string first_change(const T& running, const T& next, std::string_view prefix);
std::string first_change(const std::vector<RealmConfig>& running, const std::vector<RealmConfig>& next,
                         std::string_view prefix);

template <class T>
std::string change(const Restart<T>& running, const Restart<T>& next, std::string_view prefix) {
    return running.value == next.value ? std::string() : changed(prefix, running.key, running.note);
}

template <class T>
std::string change(const Reloadable<T>&, const Reloadable<T>&, std::string_view) {
    return {};
}

template <class T>
std::string change(const Parts<T>& running, const Parts<T>& next, std::string_view prefix) {
    std::string inner(prefix);
    inner.append(running.key).append(".");
    return first_change(running.value, next.value, inner);
}

// Realms are matched by position, so one added or removed shifts the others.
std::string first_change(const std::vector<RealmConfig>& running, const std::vector<RealmConfig>& next,
                         std::string_view) {
    if (running.size() != next.size()) return "realms were added or removed";
    for (std::size_t i = 0; i < running.size(); ++i) {
        std::string prefix = "realms[";
        prefix.append(std::to_string(i)).append("].");
        if (std::string found = first_change(running[i], next[i], prefix); !found.empty()) return found;
    }
    return {};
}

template <class T>
std::string first_change(const T& running, const T& next, std::string_view prefix) {
    const auto a = reload_table(running);
    const auto b = reload_table(next);
    std::string found;
    [&]<std::size_t... I>(std::index_sequence<I...>) {
        ((found.empty() ? void(found = change(std::get<I>(a), std::get<I>(b), prefix)) : void()), ...);
    }(std::make_index_sequence<std::tuple_size_v<decltype(a)>>{});
    return found;
}

}  // namespace

std::string restart_required(const Config& running, const Config& next) {
    return first_change(running, next, "");
}

}  // namespace kreuz::config
