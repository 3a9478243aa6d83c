#include "router/authentication.h"

#include <chrono>
#include <memory>

#include <spdlog/spdlog.h>

#include "router/realm.h"
#include "wamp/cra.h"
#include "wamp/session_id.h"

namespace kreuz::router {

namespace {

using nlohmann::json;

// AutobahnJS sends an argument the application left out as null, so a
// missing argument is read as null too.
const json& argument(const json& args, std::size_t index) {
    static const json null_value;
    return index < args.size() ? args[index] : null_value;
}

// The descriptions are AutobahnPython's, which WAMP v1 clients already show.
// (Its auth-permissions-error is never needed here: a user's permissions are
// settled when the realm is built, so looking them up cannot fail.)
void authreq(Realm& realm, Session& session, const json& args, CallReply reply) {
    AuthState& state = session.auth();
    if (state.authenticated) {
        reply.error(error_uri::already_authenticated, "already authenticated");
        return;
    }
    if (state.pending) {
        reply.error(error_uri::authentication_already_requested,
                    "authentication request already issued - authentication pending");
        return;
    }
    if (args.size() > 2) {
        reply.error(error_uri::invalid_argument, "authreq takes (authKey, authExtra), got " +
                                                     std::to_string(args.size()) + " arguments");
        return;
    }
    const json& key = argument(args, 0);
    const json& extra = argument(args, 1);
    if (!extra.is_null() && !extra.is_object()) {
        reply.error(error_uri::invalid_argument,
                    std::string("authExtra must be an object or null (was ") + extra.type_name() + ")");
        return;
    }
    if (key.is_null() && !realm.config().auth.anonymous) {
        ++realm.metrics().auth_failures;
        reply.error(error_uri::anonymous_auth_forbidden, "authentication as anonymous forbidden");
        return;
    }
    if (!key.is_null() && !key.is_string()) {
        reply.error(error_uri::invalid_argument,
                    std::string("authentication key must be a string or null (was ") + key.type_name() + ")");
        return;
    }

    if (key.is_null()) {
        // Nothing to sign: auth(null) completes it.
        state.pending = std::make_unique<AuthState::Pending>(std::nullopt, "", std::string(anonymous_role));
        reply.result(nullptr);
        return;
    }
    const std::string& authkey = key.get_ref<const std::string&>();
    const User* user = realm.find_user(authkey);
    if (!user) {
        ++realm.metrics().auth_failures;
        reply.error(error_uri::no_such_authkey, "authentication key '" + authkey + "' does not exist.");
        return;
    }
    wamp::cra::Challenge challenge;
    // A fresh authid and the time make every challenge, and so every valid
    // signature, unique: a signature seen once is worth nothing later.
    challenge.authid = wamp::new_session_id();
    challenge.authkey = authkey;
    challenge.timestamp = wamp::cra::utc_timestamp(std::chrono::system_clock::now());
    challenge.sessionid = session.id();
    if (extra.is_object()) challenge.extra = extra;
    challenge.permissions = realm.rules_for(user->role).permissions();
    challenge.authextra = user->salt;
    std::string text = wamp::cra::serialize(challenge);
    state.pending = std::make_unique<AuthState::Pending>(wamp::cra::sign(user->hmac_key, text), authkey, user->role);
    reply.result(text);
}

void auth(Realm& realm, Session& session, const json& args, CallReply reply) {
    AuthState& state = session.auth();
    if (state.authenticated) {
        reply.error(error_uri::already_authenticated, "already authenticated");
        return;
    }
    if (!state.pending) {
        reply.error(error_uri::no_authentication_requested, "no authentication previously requested");
        return;
    }
    if (args.size() > 1) {
        reply.error(error_uri::invalid_argument,
                    "auth takes (signature), got " + std::to_string(args.size()) + " arguments");
        return;
    }
    const json& signature = argument(args, 0);
    if (!signature.is_null() && !signature.is_string()) {
        reply.error(error_uri::invalid_argument,
                    std::string("signature must be a string or null (was ") + signature.type_name() + ")");
        return;
    }

    // One try per authreq: whatever the outcome, the challenge is used up.
    const AuthState::Pending pending = std::move(*state.pending);
    state.pending.reset();
    bool valid = signature.is_null() && !pending.signature;
    if (signature.is_string() && pending.signature) {
        valid = wamp::cra::signatures_equal(*pending.signature, signature.get_ref<const std::string&>());
    }
    if (!valid) {
        ++realm.metrics().auth_failures;
        spdlog::info("[session {}] WAMP-CRA: invalid signature for {} in realm {}", session.id(),
                     pending.signature ? "key " + pending.authkey : "anonymous", realm.name());
        // Answered after a random delay, so that the time of the answer tells
        // an attacker nothing. The reply finds no caller if the session has
        // gone by then; the session drops the timer when it closes.
        auto delayed = std::make_shared<CallReply>(std::move(reply));
        session.after(realm.failure_delay_ms(), [delayed] {
            delayed->error(error_uri::invalid_signature, "signature for authentication request is invalid");
        });
        return;
    }

    state.authenticated = true;
    state.authkey = pending.authkey;
    if (state.timeout != 0) {
        session.cancel(state.timeout);
        state.timeout = 0;
    }
    session.set_role(pending.role);
    const UriRules& rules = session.rules();
    spdlog::debug("[session {}] WAMP-CRA: authenticated {}", session.id(),
                  pending.signature ? "as " + pending.authkey : "anonymously");
    reply.result(rules.permissions());
}

}  // namespace

bool is_auth_procedure(std::string_view procedure) {
    return procedure == procedure_uri::authreq || procedure == procedure_uri::auth;
}

void add_auth_procedures(Realm& realm) {
    realm.dealer().add(procedure_uri::authreq, [&realm](Session& session, const wamp::Call& call, CallReply reply) {
        authreq(realm, session, call.args, std::move(reply));
    });
    realm.dealer().add(procedure_uri::auth, [&realm](Session& session, const wamp::Call& call, CallReply reply) {
        auth(realm, session, call.args, std::move(reply));
    });
}

}  // namespace kreuz::router
