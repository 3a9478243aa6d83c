#include "router/uri_rules.h"

#include "wamp/cra.h"

namespace kreuz::router {

namespace {

nlohmann::json permissions_object(const std::vector<config::UriRule>& rules) {
    wamp::cra::Permissions permissions;
    if (rules.empty()) {
        permissions.pubsub.push_back({"", true, true, true});
        permissions.rpc.push_back({"", true});
    }
    for (const config::UriRule& rule : rules) {
        permissions.pubsub.push_back({rule.uri, rule.prefix, rule.publish, rule.subscribe});
        permissions.rpc.push_back({rule.uri, rule.call});
    }
    return wamp::cra::to_json(permissions);
}

}  // namespace

UriRules::UriRules(std::vector<config::UriRule> rules)
    : rules_(std::move(rules)), permissions_(permissions_object(rules_)) {}

Permissions UriRules::decide(std::string_view uri) const {
    const config::UriRule* best = nullptr;
    for (const config::UriRule& rule : rules_) {
        if (uri.substr(0, rule.uri.size()) != rule.uri) continue;
        if (!best || rule.uri.size() > best->uri.size()) best = &rule;
    }
    if (!best || (best->uri.size() != uri.size() && !best->prefix)) return {};
    return {best->publish, best->subscribe, best->call, best->register_procedure};
}

Permissions UriRules::lookup(const std::string& uri) const {
    if (open()) return {true, true, true, true};
    if (auto it = cache_.find(uri); it != cache_.end()) return it->second;
    const Permissions decision = decide(uri);
    if (cache_.size() >= max_cached) cache_.clear();
    cache_.emplace(uri, decision);
    return decision;
}

}  // namespace kreuz::router
