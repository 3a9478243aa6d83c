#include "http/publish_bridge.h"

#include <algorithm>
#include <ctime>
#include <optional>
#include <vector>

#include <spdlog/spdlog.h>

#include "http/form_encoding.h"
#include "http/response.h"
#include "router/realm.h"
#include "wamp/cra.h"

namespace kreuz::http {

namespace {

using nlohmann::json;

// A refusal: the status and what to tell the client.
struct Refusal {
    int status;
    std::string message;
};

// Standard and URL-safe Base64 with or without padding compare alike.
std::string url_safe(std::string text) {
    std::replace(text.begin(), text.end(), '+', '-');
    std::replace(text.begin(), text.end(), '/', '_');
    while (!text.empty() && text.back() == '=') text.pop_back();
    return text;
}

// "YYYY-MM-DDTHH:MM:SSZ", optionally with fractional seconds.
std::optional<std::chrono::system_clock::time_point> parse_timestamp(const std::string& text) {
    // Digits exactly where the layout has them: sscanf's %d would also take
    // signs and spaces.
    static constexpr std::string_view layout = "dddd-dd-ddTdd:dd:dd";
    if (text.size() < layout.size()) return std::nullopt;
    for (std::size_t k = 0; k < layout.size(); ++k) {
        const bool digit = text[k] >= '0' && text[k] <= '9';
        if (layout[k] == 'd' ? !digit : text[k] != layout[k]) return std::nullopt;
    }
    auto number = [&text](std::size_t at, std::size_t digits) {
        int value = 0;
        for (std::size_t k = at; k < at + digits; ++k) value = value * 10 + (text[k] - '0');
        return value;
    };
    std::tm t{};
    t.tm_year = number(0, 4);
    t.tm_mon = number(5, 2);
    t.tm_mday = number(8, 2);
    t.tm_hour = number(11, 2);
    t.tm_min = number(14, 2);
    t.tm_sec = number(17, 2);
    std::size_t i = layout.size();
    if (i < text.size() && text[i] == '.') {
        ++i;
        const std::size_t digits = i;
        while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
        if (i == digits) return std::nullopt;
    }
    if (i + 1 != text.size() || text[i] != 'Z') return std::nullopt;
    if (t.tm_mon < 1 || t.tm_mon > 12 || t.tm_mday < 1 || t.tm_mday > 31 || t.tm_hour > 23 || t.tm_min > 59 ||
        t.tm_sec > 60) {
        return std::nullopt;
    }
    t.tm_year -= 1900;
    t.tm_mon -= 1;
    return std::chrono::system_clock::from_time_t(timegm(&t));
}

std::vector<std::string> comma_list(const std::string& text) {
    std::vector<std::string> ids;
    std::size_t start = 0;
    while (start <= text.size()) {
        const std::size_t comma = std::min(text.find(',', start), text.size());
        if (comma > start) ids.push_back(text.substr(start, comma - start));
        start = comma + 1;
    }
    return ids;
}

// The session ids of an exclude or eligible list in a JSON publication; not a
// list is a 400, the rest is wamp::read_session_ids's policy.
std::vector<std::string> id_list(const json& value, const char* field, std::size_t index) {
    std::optional<std::vector<std::string>> ids = wamp::read_session_ids(value);
    if (!ids) throw Refusal{400, std::string(field) + " of publication " + std::to_string(index) +
                                     " must be a list of session ids"};
    return std::move(*ids);
}

json parse_event(std::string_view text, const char* what) {
    std::string error;
    std::optional<json> event = wamp::parse_json(text, error);
    if (!event) throw Refusal{400, std::string(what) + " is not JSON: " + error};
    return std::move(*event);
}

wamp::Publish router_publication(std::string topic, json event) {
    wamp::Publish p;
    p.topic = std::move(topic);
    p.event = std::move(event);
    p.exclude_me = false;  // the router publishes; nobody is the publisher
    return p;
}

wamp::Publish publication_from_json(const json& item, std::size_t index) {
    if (!item.is_object()) throw Refusal{400, "publication " + std::to_string(index) + " must be an object"};
    for (const auto& [field, value] : item.items()) {
        if (field != "topic" && field != "event" && field != "exclude" && field != "eligible") {
            throw Refusal{400, "publication " + std::to_string(index) + " has the unknown field \"" + field +
                                   "\" (known: topic, event, exclude, eligible)"};
        }
    }
    auto topic = item.find("topic");
    if (topic == item.end() || !topic->is_string() || topic->get_ref<const std::string&>().empty()) {
        throw Refusal{400, "publication " + std::to_string(index) + " needs a topic (a non-empty string)"};
    }
    auto event = item.find("event");
    wamp::Publish p = router_publication(topic->get<std::string>(), event == item.end() ? json(nullptr) : *event);
    if (auto v = item.find("exclude"); v != item.end()) p.exclude = id_list(*v, "exclude", index);
    if (auto v = item.find("eligible"); v != item.end()) p.eligible = id_list(*v, "eligible", index);
    return p;
}

void add_lists(wamp::Publish& p, const FormFields& fields) {
    if (auto v = form_value(fields, "exclude")) p.exclude = comma_list(*v);
    if (auto v = form_value(fields, "eligible")) p.eligible = comma_list(*v);
}

bool is_form(const ws::HttpRequest& request) {
    const auto type = request.header("Content-Type");
    return !type || type->starts_with("application/x-www-form-urlencoded");
}

// The publications of a request, in one of the three layouts of
// docs/CONFIG.md. `batch` tells whether the answer lists receivers per item.
std::vector<wamp::Publish> read_publications(const ws::HttpRequest& request, const FormFields& query,
                                             std::size_t max_batch, bool& batch) {
    batch = false;
    // Crossbar's REST pusher: topic in the query, the event as the body.
    if (auto topic = form_value(query, "topic")) {
        if (topic->empty()) throw Refusal{400, "topic must not be empty"};
        std::optional<json> event;
        if (is_form(request)) {
            if (auto field = form_value(parse_form(request.body), "event")) event = parse_event(*field, "event");
        }
        if (!event) event = parse_event(request.body, "the body");
        wamp::Publish p = router_publication(std::move(*topic), std::move(*event));
        add_lists(p, query);
        return {std::move(p)};
    }
    // An HTML form, or wamp.io's topicuri + body.
    if (is_form(request)) {
        const FormFields form = parse_form(request.body);
        auto topic = form_value(form, "topic");
        if (!topic) topic = form_value(form, "topicuri");
        if (topic) {
            if (topic->empty()) throw Refusal{400, "topic must not be empty"};
            auto event = form_value(form, "event");
            if (!event) event = form_value(form, "body");
            if (!event) throw Refusal{400, "the form needs an event (or body) field with the event as JSON"};
            wamp::Publish p = router_publication(std::move(*topic), parse_event(*event, "event"));
            add_lists(p, form);
            return {std::move(p)};
        }
    }
    // JSON: one publication, or a list of them.
    const json doc = parse_event(request.body, "the body");
    if (!doc.is_array()) return {publication_from_json(doc, 0)};
    batch = true;
    if (doc.empty()) throw Refusal{400, "the list of publications is empty"};
    if (doc.size() > max_batch) {
        throw Refusal{413, std::to_string(doc.size()) + " publications in one request, at most " +
                               std::to_string(max_batch) + " are allowed"};
    }
    std::vector<wamp::Publish> out;
    out.reserve(doc.size());
    for (std::size_t i = 0; i < doc.size(); ++i) out.push_back(publication_from_json(doc[i], i));
    return out;
}

}  // namespace

std::string bridge_signature(const std::string& secret, std::string_view topic, std::string_view key,
                             std::string_view timestamp, std::string_view body) {
    std::string signed_text;
    signed_text.reserve(topic.size() + key.size() + timestamp.size() + body.size());
    signed_text.append(topic).append(key).append(timestamp).append(body);
    return url_safe(wamp::cra::sign(secret, signed_text));
}

PublishBridge::PublishBridge(Realm& realm) : realm_(realm), config_(*realm.config().publish_bridge) {}

std::string PublishBridge::respond(const ws::HttpRequest& request, std::chrono::system_clock::time_point now) {
    router::RealmMetrics& metrics = realm_.metrics();
    try {
        if (request.method != "POST") throw Refusal{405, "the publish bridge takes POST requests"};
        if (request.body.size() > config_.max_body) {
            throw Refusal{413, "body of " + std::to_string(request.body.size()) + " bytes, at most " +
                                   std::to_string(config_.max_body) + " are allowed"};
        }
        const FormFields query = parse_form(query_of(request.target));
        const router::UriRules* rules = &realm_.rules_for({});
        if (!config_.keys.empty()) {
            auto key = form_value(query, "key");
            if (!key) key = form_value(query, "appkey");
            const auto timestamp = form_value(query, "timestamp");
            const auto signature = form_value(query, "signature");
            if (!key || !timestamp || !signature) {
                throw Refusal{401, "this bridge takes signed requests only: key, timestamp and signature are "
                                   "required in the query"};
            }
            auto entry = std::find_if(config_.keys.begin(), config_.keys.end(),
                                      [&](const config::BridgeKey& k) { return k.key == *key; });
            if (entry == config_.keys.end()) throw Refusal{401, "unknown key"};
            const auto when = parse_timestamp(*timestamp);
            if (!when) throw Refusal{400, "timestamp must read YYYY-MM-DDTHH:MM:SSZ (UTC)"};
            const auto skew = std::chrono::abs(now - *when);
            if (skew > std::chrono::milliseconds(config_.timestamp_window_ms)) {
                throw Refusal{401, "timestamp outside the allowed window of " +
                                       std::to_string(config_.timestamp_window_ms / 1000) + " s"};
            }
            const std::string topic = form_value(query, "topic").value_or("");
            const std::string expected = bridge_signature(entry->secret, topic, *key, *timestamp, request.body);
            if (!wamp::cra::signatures_equal(expected, url_safe(*signature))) {
                throw Refusal{401, "invalid signature"};
            }
            if (!entry->role.empty()) rules = &realm_.rules_for(entry->role);
            // The signature covers the body, not the query: receiver lists in
            // the query could be added to a replayed request unnoticed.
            if (form_value(query, "exclude") || form_value(query, "eligible")) {
                throw Refusal{400, "a signed request carries exclude and eligible in its JSON body, which the "
                                   "signature covers, not in the query"};
            }
        }
        bool batch = false;
        const std::vector<wamp::Publish> publications = read_publications(request, query, config_.max_batch, batch);
        // All or nothing: one topic refused refuses the request.
        for (const wamp::Publish& p : publications) {
            if (!rules->lookup(p.topic).publish) {
                ++metrics.denied_publish;
                throw Refusal{403, "publishing to " + p.topic + " is not allowed"};
            }
        }
        json receivers = json::array();
        for (const wamp::Publish& p : publications) receivers.push_back(realm_.broker().publish(p, {}));
        ++metrics.bridge_accepted;
        spdlog::debug("[bridge {}] {} publication(s) accepted", realm_.name(), publications.size());
        return json_response(202, {{"receivers", batch ? receivers : receivers[0]}});
    } catch (const Refusal& refusal) {
        ++metrics.bridge_refused;
        spdlog::info("[bridge {}] {} refused: {}", realm_.name(), refusal.status, refusal.message);
        return json_error(refusal.status, refusal.message, refusal.status == 405 ? "Allow: POST\r\n" : "");
    }
}

}  // namespace kreuz::http
