#include "router/broker.h"

#include <algorithm>
#include <memory>

#include "router/realm.h"
#include "router/session.h"

namespace kreuz::router {

bool Broker::subscribe(Session& session, const std::string& topic) {
    if (!session.add_subscription(topic)) return false;
    topics_[topic].push_back(&session);
    return true;
}

void Broker::unsubscribe(Session& session, const std::string& topic) {
    if (!session.remove_subscription(topic)) return;
    auto it = topics_.find(topic);
    if (it == topics_.end()) return;
    std::erase(it->second, &session);
    if (it->second.empty()) topics_.erase(it);
}

void Broker::remove_session(Session& session) {
    for (const std::string& topic : session.subscriptions()) {
        auto it = topics_.find(topic);
        if (it == topics_.end()) continue;
        std::erase(it->second, &session);
        if (it->second.empty()) topics_.erase(it);
    }
    session.clear_subscriptions();
}

std::size_t Broker::subscriber_count(const std::string& topic) const {
    auto it = topics_.find(topic);
    return it == topics_.end() ? 0 : it->second.size();
}

std::size_t Broker::publish(const wamp::Publish& publication, std::string_view publisher_id) {
    RealmMetrics& metrics = realm_.metrics();
    ++metrics.publications;
    auto it = topics_.find(publication.topic);
    if (it == topics_.end()) return 0;

    // Exclude and eligible name session ids; turn them into sessions once,
    // dropping ids that belong to nobody (section 3.7), so that the rule
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

    std::shared_ptr<const std::string> frame;
    std::size_t receivers = 0;
    for (Session* subscriber : it->second) {
        const bool receives = wamp::receives(
            publication, [&] { return subscriber == publisher; },
            [&] { return std::binary_search(eligible.begin(), eligible.end(), subscriber); },
            [&] { return std::binary_search(excluded.begin(), excluded.end(), subscriber); });
        // A subscriber that this loop (or an earlier one) pushed over its queue
        // limit stays listed until the check phase ends it; it receives nothing.
        if (!receives || !subscriber->open()) continue;
        if (!frame) {
            frame = std::make_shared<const std::string>(
                wamp::serialize(wamp::Event{publication.topic, publication.event}));
        }
        subscriber->send(frame);
        ++receivers;
    }
    metrics.deliveries += receivers;
    metrics.messages_out[wamp::Event::type_id] += receivers;
    return receivers;
}

}  // namespace kreuz::router
