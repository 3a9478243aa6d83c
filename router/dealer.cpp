#include "router/dealer.h"

#include <spdlog/spdlog.h>

#include "router/realm.h"
#include "router/session.h"

namespace kreuz::router {

CallReply::CallReply(Realm& realm, std::string session_id, std::string call_id)
    : realm_(&realm),
      session_id_(std::move(session_id)),
      call_id_(std::move(call_id)),
      started_(std::chrono::steady_clock::now()) {}

CallReply::CallReply(RemoteSink sink, std::string call_id)
    : realm_(nullptr), sink_(std::move(sink)), call_id_(std::move(call_id)), started_(std::chrono::steady_clock::now()) {}

CallReply::CallReply(CallReply&& other) noexcept
    : realm_(other.realm_),
      sink_(std::move(other.sink_)),
      session_id_(std::move(other.session_id_)),
      call_id_(std::move(other.call_id_)),
      started_(other.started_),
      answered_(other.answered_) {
    other.answered_ = true;
}

CallReply::~CallReply() {
    if (!answered_) error(error_uri::internal, "the procedure ended without an answer");
}

void CallReply::result(const nlohmann::json& value) {
    if (answered_) return;
    answered_ = true;
    deliver(wamp::serialize(wamp::CallResult{call_id_, value}), true);
}

void CallReply::error(const std::string& uri, const std::string& description,
                      std::optional<nlohmann::json> details) {
    if (answered_) return;
    answered_ = true;
    deliver(wamp::serialize(wamp::CallError{call_id_, uri, description, std::move(details)}), false);
}

void CallReply::deliver(std::string message, bool is_result) {
    if (sink_) {
        sink_(std::move(message));
        return;
    }
    RealmMetrics& metrics = realm_->metrics();
    Session* session = realm_->find_session(session_id_);
    if (!session) {  // the caller left; nobody to tell
        ++metrics.calls.dropped;
        return;
    }
    ++(is_result ? metrics.calls.results : metrics.calls.errors);
    metrics.call_latency.observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count());
    session->call_finished();
    session->send(std::move(message));
}

void Dealer::add(std::string uri, Procedure procedure) { procedures_[std::move(uri)] = std::move(procedure); }

void Dealer::add_prefix(std::string uri, Procedure procedure) { prefixes_[std::move(uri)] = std::move(procedure); }

const Procedure* Dealer::find(const std::string& uri) const {
    if (auto it = procedures_.find(uri); it != procedures_.end()) return &it->second;
    // Every prefix of uri sorts before it, and a longer prefix after a
    // shorter one, so walking back from uri meets the longest first. The table
    // is the size of a configuration, not of the traffic.
    for (auto it = prefixes_.upper_bound(uri); it != prefixes_.begin();) {
        --it;
        if (uri.compare(0, it->first.size(), it->first) == 0) return &it->second;
    }
    return nullptr;
}

void Dealer::call(Session& caller, const wamp::Call& call) {
    CallReply reply(realm_, caller.id(), call.call_id);
    if (!caller.call_started()) {
        reply.error(error_uri::too_many_pending_calls, "too many outstanding calls on this session");
        return;
    }
    const Procedure* procedure = find(call.procedure);
    if (!procedure) {
        reply.error(error_uri::no_such_procedure, "No RPC endpoint registered for " + call.procedure + ".");
        return;
    }
    try {
        (*procedure)(caller, call, std::move(reply));
    } catch (const std::exception& e) {
        // Unwinding destroyed the reply the procedure held, which answered the
        // caller with an internal error; the operator needs to know why.
        spdlog::error("[session {}] procedure {} threw: {}", caller.id(), call.procedure, e.what());
    }
}

}  // namespace kreuz::router
