#include "wamp/curie.h"

#include <utility>

namespace kreuz::wamp {

namespace {

// Whether resolve() can ever expand a CURIE written with this prefix.
bool usable(std::string_view prefix) {
    return !prefix.empty() && prefix.find(':') == std::string_view::npos;
}

}  // namespace

void PrefixMap::set(std::string prefix, std::string uri) {
    uris_.insert_or_assign(std::move(prefix), std::move(uri));
}

std::string PrefixMap::resolve(std::string_view curie_or_uri) const {
    const std::size_t colon = curie_or_uri.find(':');
    if (colon != std::string_view::npos && colon > 0) {
        const auto it = uris_.find(curie_or_uri.substr(0, colon));
        if (it != uris_.end()) {
            std::string uri;
            uri.reserve(it->second.size() + curie_or_uri.size() - colon - 1);
            uri += it->second;
            uri += curie_or_uri.substr(colon + 1);
            return uri;
        }
    }
    return std::string(curie_or_uri);
}

std::optional<std::string> PrefixMap::shrink(std::string_view uri) const {
    const std::pair<const std::string, std::string>* best = nullptr;
    for (const auto& entry : uris_) {
        const std::string& declared = entry.second;
        if (!usable(entry.first) || !uri.starts_with(declared)) continue;
        if (best == nullptr || declared.size() > best->second.size()) best = &entry;
    }
    if (best == nullptr) return std::nullopt;
    std::string curie;
    curie.reserve(best->first.size() + 1 + uri.size() - best->second.size());
    curie += best->first;
    curie += ':';
    curie += uri.substr(best->second.size());
    return curie;
}

}  // namespace kreuz::wamp
