#include "router/builtin_procedures.h"

#include "router/realm.h"

namespace kreuz::router {

namespace {

using nlohmann::json;

// dispatch(topic, event, options): a publication made by the router on the
// tester's behalf. The options follow the testsuite's testee: `exclude`
// replaces everything; otherwise `excludeMe` (default true) excludes the
// caller; a non-empty `eligible` restricts the receivers.
void testee_dispatch(Realm& realm, Session& caller, const json& args, CallReply reply) {
    if (args.empty() || !args[0].is_string()) {
        reply.error(error_uri::invalid_argument, "dispatch(topic, event, options): topic must be a string");
        return;
    }
    const json no_options = json::object();
    const json& options = args.size() > 2 && args[2].is_object() ? args[2] : no_options;
    wamp::Publish publication;
    publication.topic = args[0].get<std::string>();
    publication.event = args.size() > 1 ? args[1] : json(nullptr);
    publication.exclude_me = false;
    if (auto it = options.find("exclude"); it != options.end()) {
        publication.exclude = wamp::read_session_ids(*it).value_or(std::vector<std::string>{});
    } else {
        auto me = options.find("excludeMe");
        const bool exclude_me = me == options.end() || me->is_null() || (me->is_boolean() && me->get<bool>());
        publication.exclude = exclude_me ? std::vector<std::string>{caller.id()} : std::vector<std::string>{};
    }
    if (auto it = options.find("eligible"); it != options.end()) {
        auto eligible = wamp::read_session_ids(*it);
        if (eligible && !eligible->empty()) publication.eligible = std::move(eligible);
    }
    realm.broker().publish(publication, caller.id());
    reply.result(nullptr);
}

}  // namespace

void add_builtin_procedures(Realm& realm) {
    const config::BuiltinProcedures& enabled = realm.config().builtins;
    Dealer& dealer = realm.dealer();
    if (enabled.ping) {
        dealer.add(procedure_uri::ping, [](Session&, const wamp::Call&, CallReply reply) { reply.result(nullptr); });
    }
    if (enabled.echo) {
        dealer.add(procedure_uri::echo, [](Session&, const wamp::Call& call, CallReply reply) {
            reply.result(call.args.empty() ? json(nullptr) : call.args[0]);
        });
    }
    if (enabled.testee_dispatch) {
        for (const char* uri : {procedure_uri::testee_dispatch, procedure_uri::testee_dispatch_legacy}) {
            dealer.add(uri, [&realm](Session& caller, const wamp::Call& call, CallReply reply) {
                testee_dispatch(realm, caller, call.args, std::move(reply));
            });
        }
    }
}

}  // namespace kreuz::router
