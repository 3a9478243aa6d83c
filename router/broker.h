// The topic registry of one realm: who is subscribed to what, and the fan-out
// of a publication. Subscriptions are on exact, fully resolved topic URIs
// (WAMP v1 has no pattern subscriptions).
#pragma once

#include <cstddef>
#include <memory>
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
    // the number of receivers here. In a cluster the same bytes then go to
    // the other nodes: local subscribers never wait for Redis.
    std::size_t publish(const wamp::Publish& publication, std::string_view publisher_id);
    // A publication of another node: `event` is its EVENT, serialized there
    // once, and `filters` its topic, exclude and eligible lists, whose ids
    // name sessions here or elsewhere (elsewhere: ignored, as unknown ids are).
    std::size_t deliver_remote(const wamp::Publish& filters, std::shared_ptr<const std::string> event);

    std::size_t topic_count() const { return topics_.size(); }
    std::size_t subscriber_count(const std::string& topic) const;

private:
    // Queues the EVENT (serialized on first use when `event` is empty) to the
    // subscribers the 6.3 rule admits.
    std::size_t fan_out(const std::vector<Session*>& subscribers, const wamp::Publish& publication,
                        std::string_view publisher_id, std::shared_ptr<const std::string>& event);
    void hold_topic(const std::string& topic, Session& session);
    void drop_from_topic(const std::string& topic, Session& session);

    Realm& realm_;
    // Topic -> subscribers, in subscription order. A vector iterates fastest
    // on the hot fan-out path; removal is a linear scan, which only
    // unsubscribe and session end pay.
    std::unordered_map<std::string, std::vector<Session*>> topics_;
};

}  // namespace kreuz::router
