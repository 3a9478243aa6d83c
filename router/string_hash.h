// A hash for std::string keys that also takes std::string_view, so that a
// lookup with a view (a session id, a Redis channel name) builds no string.
// With std::equal_to<> as the map's key comparison.
#pragma once

#include <cstddef>
#include <functional>
#include <string_view>

namespace kreuz::router {

struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

}  // namespace kreuz::router
