#include "router/broker.h"

#include <algorithm>
#include <memory>

#include "router/realm.h"
#include "router/session.h"

namespace kreuz::router {

bool Broker::subscribe(Session& session, const std::string& topic) {
    if (!session.add_subscription(topic)) return false;
    hold_topic(topic, session);
    return true;
}

void Broker::unsubscribe(Session& session, const std::string& topic) {
    if (!session.remove_subscription(topic)) return;
    drop_from_topic(topic, session);
}

void Broker::remove_session(Session& session) {
    for (const std::string& topic : session.subscriptions()) drop_from_topic(topic, session);
    session.clear_subscriptions();
}

void Broker::hold_topic(const std::string& topic, Session& session) {
    auto [it, first] = topics_.try_emplace(topic);
    it->second.push_back(&session);
    if (first) {
        if (Backplane* backplane = realm_.backplane()) backplane->topic_held(realm_, topic);
    }
}

void Broker::drop_from_topic(const std::string& topic, Session& session) {
    auto it = topics_.find(topic);
    if (it == topics_.end()) return;
    std::erase(it->second, &session);
    if (!it->second.empty()) return;
    topics_.erase(it);
    if (Backplane* backplane = realm_.backplane()) backplane->topic_released(realm_, topic);
}

std::size_t Broker::subscriber_count(const std::string& topic) const {
    auto it = topics_.find(topic);
    return it == topics_.end() ? 0 : it->second.size();
}

std::size_t Broker::publish(const wamp::Publish& publication, std::string_view publisher_id) {
    ++realm_.metrics().publications;
    std::shared_ptr<const std::string> event;
    std::size_t receivers = 0;
    if (auto it = topics_.find(publication.topic); it != topics_.end()) {
        receivers = fan_out(it->second, publication, publisher_id, event);
    }
    Backplane* backplane = realm_.backplane();
    if (backplane && backplane->relaying()) {
        if (!event) event = std::make_shared<const std::string>(wamp::serialize(wamp::Event{publication.topic, publication.event}));
        backplane->relay(realm_, publication, *event);
    }
    return receivers;
}

std::size_t Broker::deliver_remote(const wamp::Publish& filters, std::shared_ptr<const std::string> event) {
    auto it = topics_.find(filters.topic);
    if (it == topics_.end()) return 0;
    return fan_out(it->second, filters, {}, event);
}

std::size_t Broker::fan_out(const std::vector<Session*>& subscribers, const wamp::Publish& publication,
                            std::string_view publisher_id, std::shared_ptr<const std::string>& event) {
    // Exclude and eligible name session ids; turn them into sessions once,
    // dropping ids that belong to nobody here (section 3.7), so that the rule
    // compares pointers in the loop.
    auto sessions_of = [this](const std::vector<std::string>& ids) {
        std::vector<const Session*> out;
        out.reserve(ids.size());
        for (const auto& id : ids) {
            if (const Session* s = realm_.find_session(id)) out.push_back(s);
        }
        std::sort(out.begin(), out.end());
        return out;
    };
    const std::vector<const Session*> excluded =
        publication.exclude ? sessions_of(*publication.exclude) : std::vector<const Session*>{};
    const std::vector<const Session*> eligible =
        publication.eligible ? sessions_of(*publication.eligible) : std::vector<const Session*>{};
    const Session* publisher = publisher_id.empty() ? nullptr : realm_.find_session(publisher_id);

    std::size_t receivers = 0;
    for (Session* subscriber : subscribers) {
        const bool receives = wamp::receives(
            publication, [&] { return subscriber == publisher; },
            [&] { return std::binary_search(eligible.begin(), eligible.end(), subscriber); },
            [&] { return std::binary_search(excluded.begin(), excluded.end(), subscriber); });
        // A subscriber that this loop (or an earlier one) pushed over its queue
        // limit stays listed until the check phase ends it; it receives nothing.
        if (!receives || !subscriber->open()) continue;
        if (!event) {
            event = std::make_shared<const std::string>(wamp::serialize(wamp::Event{publication.topic, publication.event}));
        }
        subscriber->send(event);
        ++receivers;
    }
    RealmMetrics& metrics = realm_.metrics();
    metrics.deliveries += receivers;
    metrics.messages_out[wamp::Event::type_id] += receivers;
    return receivers;
}

}  // namespace kreuz::router
