#include "router/dealer.h"

#include <spdlog/spdlog.h>

#include "router/realm.h"
#include "router/session.h"

namespace kreuz::router {

CallReply::CallReply(Realm& realm, std::string session_id, std::string call_id)
    : realm_(&realm), session_id_(std::move(session_id)), call_id_(std::move(call_id)) {}

CallReply::CallReply(CallReply&& other) noexcept
    : realm_(other.realm_),
      session_id_(std::move(other.session_id_)),
      call_id_(std::move(other.call_id_)),
      answered_(other.answered_) {
    other.answered_ = true;
}

CallReply::~CallReply() {
    if (!answered_) error(error_uri::internal, "the procedure ended without an answer");
}

void CallReply::result(const nlohmann::json& value) {
    if (answered_) return;
    answered_ = true;
    deliver(wamp::serialize(wamp::CallResult{call_id_, value}));
}

void CallReply::error(const std::string& uri, const std::string& description,
                      std::optional<nlohmann::json> details) {
    if (answered_) return;
    answered_ = true;
    deliver(wamp::serialize(wamp::CallError{call_id_, uri, description, std::move(details)}));
}

void CallReply::deliver(const std::string& message) {
    Session* session = realm_->find_session(session_id_);
    if (!session) return;  // the caller left; nobody to tell
    session->call_finished();
    session->send(message);
}

void Dealer::add(std::string uri, Procedure procedure) { procedures_[std::move(uri)] = std::move(procedure); }

void Dealer::call(Session& caller, const wamp::Call& call) {
    CallReply reply(realm_, caller.id(), call.call_id);
    if (!caller.call_started()) {
        reply.error(error_uri::too_many_pending_calls, "too many outstanding calls on this session");
        return;
    }
    auto it = procedures_.find(call.procedure);
    if (it == procedures_.end()) {
        reply.error(error_uri::no_such_procedure, "No RPC endpoint registered for " + call.procedure + ".");
        return;
    }
    try {
        it->second(caller, call.args, std::move(reply));
    } catch (const std::exception& e) {
        // Unwinding destroyed the reply the procedure held, which answered the
        // caller with an internal error; the operator needs to know why.
        spdlog::error("[session {}] procedure {} threw: {}", caller.id(), call.procedure, e.what());
    }
}

}  // namespace kreuz::router
