// The topic registry of one realm: who is subscribed to what, and the fan-out
// of a publication. Subscriptions are on exact, fully resolved topic URIs
// (WAMP v1 has no pattern subscriptions).
#pragma once

#include <cstddef>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "wamp/message.h"

namespace kreuz::router {

class Session;
class Realm;

class Broker {
public:
    explicit Broker(Realm& realm) : realm_(realm) {}

    // False when the session was already subscribed (subscribing is idempotent).
    bool subscribe(Session& session, const std::string& topic);
    // Silently does nothing when the session was not subscribed.
    void unsubscribe(Session& session, const std::string& topic);
    // Drops every subscription of a session that is going away.
    void remove_session(Session& session);

    // Delivers `event` on `topic` to (subscribers ∩ eligible) − exclude, as
    // section 6.3 of the protocol digest defines it; `publisher_id` is empty
    // for publications by the router itself. The EVENT is serialized and
    // framed once, and the same bytes are queued to every receiver. Returns
    // the number of receivers.
    std::size_t publish(const wamp::Publish& publication, std::string_view publisher_id);

    std::size_t topic_count() const { return topics_.size(); }
    std::size_t subscriber_count(const std::string& topic) const;

private:
    Realm& realm_;
    // Topic -> subscribers, in subscription order. A vector iterates fastest
    // on the hot fan-out path; removal is a linear scan, which only
    // unsubscribe and session end pay.
    std::unordered_map<std::string, std::vector<Session*>> topics_;
};

}  // namespace kreuz::router
