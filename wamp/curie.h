// A session's CURIE prefixes (digest section 4): PREFIX declares `p` -> `uri`,
// after which `p:rest` stands for `uri + rest` on that connection only.
//
// Semantics are AutobahnPython's server prefix map. A prefix only counts
// before the first ':' and only when it is non-empty, so `:foo` always passes
// through (AutobahnJS would expand it with a declared empty prefix, but
// parse() refuses PREFIX with an empty prefix, so no client can declare one).
// set() stores whatever it is given; an empty prefix or one containing ':'
// simply never takes effect.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace kreuz::wamp {

class PrefixMap {
public:
    // Declares `prefix`; declaring it again overwrites the earlier uri.
    void set(std::string prefix, std::string uri);

    // `prefix:rest` with a declared prefix -> uri + rest, by plain
    // concatenation; anything else is returned unchanged. Note that a client
    // declaring the prefix `http` thereby rewrites every `http://...` URI it
    // sends afterwards, as AutobahnPython does.
    std::string resolve(std::string_view curie_or_uri) const;

    // The inverse, for URIs the server sends back: the declared uri that is
    // the longest leading part of `uri` gives `prefix:remainder` (ties go to
    // the alphabetically first prefix). Only prefixes that resolve() honours
    // are used, so resolve(*shrink(u)) == u. nullopt when nothing matches.
    std::optional<std::string> shrink(std::string_view uri) const;

    // Declared prefixes, for the per-session limit.
    std::size_t size() const { return uris_.size(); }
    bool contains(std::string_view prefix) const { return uris_.find(prefix) != uris_.end(); }

private:
    std::map<std::string, std::string, std::less<>> uris_;  // prefix -> uri
};

}  // namespace kreuz::wamp
