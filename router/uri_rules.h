// Which URIs the sessions of a realm, or of one role in it, may publish to,
// subscribe to and call (the admission model of the digest's section 6.1,
// extended to calls).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/config.h"

namespace kreuz::router {

struct Permissions {
    bool publish = false;
    bool subscribe = false;
    bool call = false;
    bool register_procedure = false;  // serve the URI as a callee (routed RPC)
};

class UriRules {
public:
    explicit UriRules(std::vector<config::UriRule> rules);

    // No rules: the realm is open and every lookup allows everything.
    bool open() const { return rules_.empty(); }

    // The longest rule whose uri is a leading part of `uri` decides, if it
    // equals `uri` or is a prefix rule; otherwise nothing is allowed (there is
    // no fallback to a shorter rule). Decisions are cached per URI, so the
    // rules are scanned once per URI, not once per message.
    Permissions lookup(const std::string& uri) const;

    // The rules as the WAMP-CRA permissions object (digest 8.5): every rule
    // once under "pubsub" and once under "rpc", in the order given; an open
    // set is the one rule that allows everything.
    const nlohmann::json& permissions() const { return permissions_; }

private:
    Permissions decide(std::string_view uri) const;

    std::vector<config::UriRule> rules_;
    nlohmann::json permissions_;
    // Bounded: a client inventing endless topic names cannot grow it forever.
    static constexpr std::size_t max_cached = 4096;
    mutable std::unordered_map<std::string, Permissions> cache_;
};

}  // namespace kreuz::router
