#include "router/registrations.h"

#include <spdlog/spdlog.h>

#include "router/realm.h"
#include "router/session.h"

namespace kreuz::router {

namespace {

using nlohmann::json;

// The procedure URI argument of register/unregister, resolved like any URI
// the session sends.
std::optional<std::string> procedure_argument(Session& caller, const wamp::Call& call, CallReply& reply) {
    if (call.args.size() != 1 || !call.args[0].is_string() || call.args[0].get_ref<const std::string&>().empty()) {
        reply.error(error_uri::invalid_argument, call.procedure + " takes one argument: the procedure URI");
        return std::nullopt;
    }
    return caller.resolve(call.args[0].get_ref<const std::string&>());
}

}  // namespace

void Registrations::add_procedures() {
    realm_.dealer().add(procedure_uri::register_procedure, [this](Session& caller, const wamp::Call& call,
                                                                  CallReply reply) {
        register_procedure(caller, call, std::move(reply));
    });
    realm_.dealer().add(procedure_uri::unregister_procedure, [this](Session& caller, const wamp::Call& call,
                                                                    CallReply reply) {
        unregister_procedure(caller, call, std::move(reply));
    });
}

void Registrations::register_procedure(Session& caller, const wamp::Call& call, CallReply reply) {
    const std::optional<std::string> uri = procedure_argument(caller, call, reply);
    if (!uri) return;
    if (!caller.rules().lookup(*uri).register_procedure) {
        reply.error(error_uri::not_authorized, "not authorized to register " + *uri);
        return;
    }
    // A URI being claimed in the cluster is in owners_ but not yet in the dealer.
    if (realm_.dealer().has(*uri) || owners_.count(*uri) != 0) {
        reply.error(error_uri::procedure_already_exists, *uri + " is already served by the router or another session");
        return;
    }
    auto& mine = by_callee_[caller.id()];
    if (mine.size() >= realm_.config().limits.max_registrations) {
        reply.error(error_uri::too_many_registrations,
                    "at most " + std::to_string(realm_.config().limits.max_registrations) +
                        " procedures per session");
        return;
    }
    mine.insert(*uri);
    owners_.emplace(*uri, caller.id());
    Backplane* backplane = realm_.backplane();
    if (!backplane) {
        install(*uri, caller.id());
        spdlog::debug("[session {}] registered {}", caller.id(), *uri);
        reply.result(*uri);
        return;
    }
    // Claimed in the cluster first; meanwhile the URI is this session's here,
    // so that a second register on this node is refused at once. Shared
    // because std::function copies what it holds and a reply is moved only.
    auto pending = std::make_shared<CallReply>(std::move(reply));
    claiming_.insert(*uri);
    backplane->claim_procedure(realm_, *uri, caller.id(),
                               [this, uri = *uri, callee_id = caller.id(), pending](const char* error,
                                                                                   const std::string& description) {
        claiming_.erase(uri);
        auto owner = owners_.find(uri);
        const bool still_held = owner != owners_.end() && owner->second == callee_id;
        if (error) {
            if (still_held) {
                owners_.erase(owner);
                by_callee_[callee_id].erase(uri);
            }
            pending->error(error, description);
            return;
        }
        if (!still_held) {
            // Unregistered, or the session left, while Redis answered.
            realm_.backplane()->release_procedure(realm_, uri, callee_id);
        } else if (realm_.dealer().has(uri)) {
            // A reload made it a procedure of the configuration meanwhile.
            by_callee_[callee_id].erase(uri);
            owners_.erase(owner);
            realm_.backplane()->release_procedure(realm_, uri, callee_id);
            pending->error(error_uri::procedure_already_exists, uri + " is served by the router now");
            return;
        } else {
            install(uri, callee_id);
            spdlog::debug("[session {}] registered {} in the cluster", callee_id, uri);
        }
        pending->result(uri);
    });
}

void Registrations::install(const std::string& uri, const std::string& callee_id) {
    realm_.dealer().add(uri, [this, callee_id](Session&, const wamp::Call& c, CallReply r) {
        forward(callee_id, c, std::move(r));
    });
}

void Registrations::install_remote(const std::string& uri) {
    realm_.dealer().add(uri, [this, uri](Session&, const wamp::Call& c, CallReply r) {
        auto it = remote_.find(uri);
        if (it == remote_.end()) {
            r.error(error_uri::callee_gone, "the session that served " + c.procedure + " has left");
            return;
        }
        realm_.backplane()->forward_call(realm_, it->second, c, std::move(r));
    });
}

std::vector<std::pair<std::string, std::string>> Registrations::claimed() const {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& [uri, callee_id] : owners_) {
        if (claiming_.count(uri) == 0) out.emplace_back(uri, callee_id);
    }
    return out;
}

void Registrations::add_remote(const std::string& node, const std::string& uri, const std::string& callee_id) {
    if (owners_.count(uri) != 0) return;  // Redis let only one claim it; a stale word from a node gone since
    const bool installed = remote_.count(uri) != 0;
    if (!installed && realm_.dealer().has_exact(uri)) return;  // configured here: it runs here
    remote_[uri] = RemoteProcedure{node, callee_id};
    if (!installed) install_remote(uri);
}

void Registrations::remove_remote(const std::string& node, const std::string& uri) {
    auto it = remote_.find(uri);
    if (it == remote_.end() || it->second.node != node) return;
    remote_.erase(it);
    realm_.dealer().remove(uri);
}

void Registrations::remove_node(const std::string& node) {
    for (auto it = remote_.begin(); it != remote_.end();) {
        if (it->second.node != node) {
            ++it;
            continue;
        }
        realm_.dealer().remove(it->first);
        it = remote_.erase(it);
    }
}

void Registrations::lose_claim(const std::string& uri, const std::string& callee_id) {
    auto owner = owners_.find(uri);
    if (owner == owners_.end() || owner->second != callee_id) return;
    spdlog::warn("[session {}] registration of {} ended: another node holds it in the cluster", callee_id, uri);
    owners_.erase(owner);
    by_callee_[callee_id].erase(uri);
    realm_.dealer().remove(uri);
}

void Registrations::serve_remote(const std::string& callee_id, const wamp::Call& call, CallReply reply) {
    forward(callee_id, call, std::move(reply));
}

void Registrations::drop(const std::string& uri, const std::string& callee_id) {
    owners_.erase(uri);
    realm_.dealer().remove(uri);
    if (Backplane* backplane = realm_.backplane()) backplane->release_procedure(realm_, uri, callee_id);
}

void Registrations::restore() {
    for (auto it = owners_.begin(); it != owners_.end();) {
        const auto& [uri, callee_id] = *it;
        if (claiming_.count(uri) != 0) {  // installed once its claim holds
            ++it;
            continue;
        }
        const Session* callee = realm_.find_session(callee_id);
        const bool taken = realm_.dealer().has(uri);
        if (callee && !taken && callee->rules().lookup(uri).register_procedure) {
            install(uri, callee_id);
            ++it;
            continue;
        }
        spdlog::warn("[session {}] registration of {} ended by the reload: {}", callee_id, uri,
                     taken ? "the configuration serves it now" : "the session's rules no longer allow it");
        if (Backplane* backplane = realm_.backplane()) backplane->release_procedure(realm_, uri, callee_id);
        by_callee_[callee_id].erase(uri);
        it = owners_.erase(it);
    }
    for (auto it = remote_.begin(); it != remote_.end();) {
        if (realm_.dealer().has(it->first)) {  // configured here now: it runs here
            it = remote_.erase(it);
        } else {
            install_remote(it->first);
            ++it;
        }
    }
}

void Registrations::unregister_procedure(Session& caller, const wamp::Call& call, CallReply reply) {
    const std::optional<std::string> uri = procedure_argument(caller, call, reply);
    if (!uri) return;
    auto owner = owners_.find(*uri);
    if (owner == owners_.end() || owner->second != caller.id()) {
        reply.error(error_uri::no_such_registration, "this session has not registered " + *uri);
        return;
    }
    by_callee_[caller.id()].erase(*uri);
    drop(*uri, caller.id());
    spdlog::debug("[session {}] unregistered {}", caller.id(), *uri);
    reply.result(*uri);
}

void Registrations::forward(const std::string& callee_id, const wamp::Call& call, CallReply reply) {
    Session* callee = realm_.find_session(callee_id);
    if (!callee || !callee->open()) {
        reply.error(error_uri::callee_gone, "the session that served " + call.procedure + " has left");
        return;
    }
    // Ours, so that calls of different callers with equal call ids never meet
    // at one callee; never reused, so a late answer cannot hit a newer call.
    std::string router_call_id = "kreuz-" + std::to_string(next_call_++);
    const Timers::Id timeout = realm_.timers().schedule(realm_.config().callee_timeout_ms, [this, router_call_id] {
        auto it = pending_.find(router_call_id);
        if (it == pending_.end()) return;
        PendingCall timed_out = std::move(it->second);
        pending_.erase(it);
        spdlog::info("[session {}] routed call {} not answered in {} ms", timed_out.callee_id, router_call_id,
                     realm_.config().callee_timeout_ms);
        timed_out.reply.error(error_uri::callee_timeout, "the callee did not answer in time");
    });
    // Recorded before the send: a send that overflows the callee's queue ends
    // its session at the next safe point, and remove_session must find this
    // call there to answer it with callee-gone.
    std::string message = wamp::serialize(wamp::Call{router_call_id, call.procedure, call.args});
    pending_.emplace(std::move(router_call_id), PendingCall{callee_id, std::move(reply), timeout});
    callee->send(std::move(message));
}

std::optional<Registrations::PendingCall> Registrations::take(const Session& callee, const std::string& call_id) {
    auto it = pending_.find(call_id);
    if (it == pending_.end() || it->second.callee_id != callee.id()) return std::nullopt;
    PendingCall call = std::move(it->second);
    pending_.erase(it);
    realm_.timers().cancel(call.timeout);
    return call;
}

bool Registrations::on_result(Session& callee, const wamp::CallResult& result) {
    std::optional<PendingCall> call = take(callee, result.call_id);
    if (!call) return false;
    call->reply.result(result.result);
    return true;
}

bool Registrations::on_error(Session& callee, const wamp::CallError& error) {
    std::optional<PendingCall> call = take(callee, error.call_id);
    if (!call) return false;
    call->reply.error(error.error_uri, error.description, error.details);
    return true;
}

void Registrations::remove_session(const std::string& session_id) {
    // Calls are forwarded only to sessions that registered, and every
    // registration attempt leaves an entry here: a session without one has no
    // call waiting for it, and closing it costs one lookup.
    auto mine = by_callee_.find(session_id);
    if (mine == by_callee_.end()) return;
    for (const std::string& uri : mine->second) drop(uri, session_id);
    by_callee_.erase(mine);
    for (auto it = pending_.begin(); it != pending_.end();) {
        if (it->second.callee_id != session_id) {
            ++it;
            continue;
        }
        realm_.timers().cancel(it->second.timeout);
        CallReply reply = std::move(it->second.reply);
        it = pending_.erase(it);
        reply.error(error_uri::callee_gone, "the callee left before answering");
    }
}

}  // namespace kreuz::router
