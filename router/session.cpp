#include "router/session.h"

#include <vector>

#include <spdlog/spdlog.h>

#include "router/authentication.h"
#include "router/realm.h"

namespace kreuz::router {

namespace {

// Rejections logged at info level per session before the rest go to debug,
// so a misbehaving client cannot flood the log.
constexpr std::size_t logged_rejections = 10;

// Procedures every session may call whatever its rules: WAMP-CRA, and
// registration, which checks the register permission itself.
bool is_control_procedure(const std::string& procedure) {
    return is_auth_procedure(procedure) || procedure == procedure_uri::register_procedure ||
           procedure == procedure_uri::unregister_procedure;
}

template <class... F>
struct Overloaded : F... {
    using F::operator()...;
};
template <class... F>
Overloaded(F...) -> Overloaded<F...>;

}  // namespace

Session::Session(Realm& realm, Transport& transport)
    : realm_(realm),
      transport_(transport),
      id_(realm.new_session_id()),
      role_(anonymous_role),
      rules_(&realm.rules_for(role_)) {
    realm_.add_session(*this);
    send(wamp::serialize(wamp::Welcome{id_, 1, realm_.welcome_ident()}));
    spdlog::debug("[session {}] opened in realm {} from {}", id_, realm_.name(), transport_.remote_address());
    if (const std::uint32_t timeout = realm_.config().auth.timeout_ms; timeout > 0) {
        auth_.timeout = after(timeout, [this] {
            spdlog::info("[session {}] not authenticated in time in realm {}; closing with 1008", id_,
                         realm_.name());
            transport_.close(ws::close_code::policy_violation, "not authenticated in time");
        });
    }
}

Timers::Id Session::after(std::uint64_t delay_ms, std::function<void()> callback) {
    // The id is known only once scheduled, and the callback never runs before that.
    auto id = std::make_shared<Timers::Id>(0);
    *id = realm_.timers().schedule(delay_ms, [this, id, callback = std::move(callback)] {
        timers_.erase(*id);
        callback();
    });
    timers_.insert(*id);
    return *id;
}

void Session::set_role(std::string role) {
    role_ = std::move(role);
    const UriRules& rules = realm_.rules_for(role_);
    rules_ = &rules;
    std::vector<std::string> revoked;
    for (const std::string& topic : subscriptions_) {
        if (!rules.lookup(topic).subscribe) revoked.push_back(topic);
    }
    for (const std::string& topic : revoked) realm_.broker().unsubscribe(*this, topic);
}

void Session::cancel(Timers::Id id) {
    if (timers_.erase(id) != 0) realm_.timers().cancel(id);
}

// Shared bytes are the broker's EVENTs: it counts them once per publication,
// not here once per receiver.
void Session::send(const std::shared_ptr<const std::string>& message) {
    if (trace_) spdlog::info("[session {}] trace out: {}", id_, *message);
    transport_.send(message);
}

void Session::send(std::string&& message) {
    if (!open()) return;
    if (trace_) spdlog::info("[session {}] trace out: {}", id_, message);
    account_sent(message);
    transport_.send(std::make_shared<const std::string>(std::move(message)));
}

// Every message the router writes starts "[<type id>,", so the type is one
// byte away and counting costs no parse.
void Session::account_sent(std::string_view message) {
    if (message.size() < 2) return;
    const unsigned type = static_cast<unsigned char>(message[1]) - '0';
    if (type < realm_.metrics().messages_out.size()) ++realm_.metrics().messages_out[type];
}

bool Session::add_subscription(const std::string& topic) { return subscriptions_.insert(topic).second; }

bool Session::remove_subscription(const std::string& topic) { return subscriptions_.erase(topic) != 0; }

bool Session::call_started() { return ++pending_calls_ <= realm_.config().limits.max_pending_calls; }

void Session::call_finished() {
    if (pending_calls_ > 0) --pending_calls_;
}

void Session::on_message(bool binary, std::string_view payload) {
    if (trace_) spdlog::info("[session {}] trace in: {}", id_, payload);
    if (binary) {
        reject(ws::close_code::unsupported_data, "binary message on a WAMP session");
        return;
    }
    wamp::ParseResult parsed = wamp::parse(payload, realm_.json_reader());
    if (auto* error = std::get_if<wamp::ParseError>(&parsed)) {
        const bool not_wamp = error->kind == wamp::ParseError::Kind::invalid_json ||
                              error->kind == wamp::ParseError::Kind::not_array;
        // A CALL whose arguments cannot be read (1e400, a lone surrogate) but
        // whose call id can: its caller would otherwise wait forever.
        if (error->call_id && !realm_.config().strict) {
            send(wamp::serialize(wamp::CallError{*error->call_id, error_uri::invalid_argument,
                                                 "the call cannot be read: " + error->message, std::nullopt}));
        }
        reject(not_wamp ? ws::close_code::invalid_payload : ws::close_code::protocol_error, error->message);
        return;
    }
    handle(std::get<wamp::Message>(parsed));
}

void Session::handle(wamp::Message& message) {
    const config::SessionLimits& limits = realm_.config().limits;
    // The variant's alternatives are in type id order.
    ++realm_.metrics().messages_in[message.index()];
    std::visit(
        Overloaded{
            [&](wamp::Prefix& m) {
                if (prefixes_.size() >= limits.max_prefixes && !prefixes_.contains(m.prefix)) {
                    violate_limit("too many prefixes");
                    return;
                }
                prefixes_.set(m.prefix, m.uri);
            },
            [&](wamp::Call& m) {
                m.procedure = prefixes_.resolve(m.procedure);
                if (!rules_->lookup(m.procedure).call && !is_control_procedure(m.procedure)) {
                    ++realm_.metrics().denied_call;
                    spdlog::debug("[session {}] call to {} not authorized", id_, m.procedure);
                    send(wamp::serialize(wamp::CallError{m.call_id, error_uri::not_authorized,
                                                         "not authorized to call " + m.procedure, std::nullopt}));
                    return;
                }
                realm_.dealer().call(*this, m);
            },
            [&](wamp::Subscribe& m) {
                std::string topic = prefixes_.resolve(m.topic);
                // WAMP v1 has no way to refuse a subscription: it is dropped silently.
                if (!rules_->lookup(topic).subscribe) {
                    ++realm_.metrics().denied_subscribe;
                    spdlog::debug("[session {}] subscription to {} not authorized", id_, topic);
                    return;
                }
                if (subscriptions_.size() >= limits.max_subscriptions && !subscriptions_.count(topic)) {
                    violate_limit("too many subscriptions");
                    return;
                }
                realm_.broker().subscribe(*this, topic);
            },
            [&](wamp::Unsubscribe& m) { realm_.broker().unsubscribe(*this, prefixes_.resolve(m.topic)); },
            [&](wamp::Publish& m) {
                m.topic = prefixes_.resolve(m.topic);
                if (!rules_->lookup(m.topic).publish) {
                    ++realm_.metrics().denied_publish;
                    spdlog::debug("[session {}] publication to {} not authorized", id_, m.topic);
                    return;
                }
                realm_.broker().publish(m, id_);
            },
            [&](wamp::Welcome&) { reject(ws::close_code::protocol_error, "WELCOME is a server-to-client message"); },
            [&](wamp::CallResult& m) {
                if (!realm_.registrations().on_result(*this, m)) {
                    reject(ws::close_code::protocol_error, "CALLRESULT for no call the router sent this session");
                }
            },
            [&](wamp::CallError& m) {
                if (!realm_.registrations().on_error(*this, m)) {
                    reject(ws::close_code::protocol_error, "CALLERROR for no call the router sent this session");
                }
            },
            [&](wamp::Event&) { reject(ws::close_code::protocol_error, "EVENT is a server-to-client message"); },
        },
        message);
}

void Session::reject(std::uint16_t close_code, std::string_view what) {
    if (realm_.config().strict) {
        spdlog::info("[session {}] closing with {} (strict realm {}): {}", id_, close_code, realm_.name(), what);
        transport_.close(close_code, what);
        return;
    }
    if (++rejected_ <= logged_rejections) {
        spdlog::info("[session {}] ignored message: {}", id_, what);
    } else {
        spdlog::debug("[session {}] ignored message: {}", id_, what);
    }
}

void Session::violate_limit(std::string_view what) {
    spdlog::warn("[session {}] {} in realm {}; closing with 1008", id_, what, realm_.name());
    transport_.close(ws::close_code::policy_violation, what);
}

void Session::on_close(std::uint16_t code) {
    spdlog::debug("[session {}] closed ({})", id_, code);
    realm_.close_session(*this);
    // After close_session: a dropped callback may hold a CallReply, whose
    // unanswered destructor must find this session already gone.
    for (Timers::Id id : timers_) realm_.timers().cancel(id);
    timers_.clear();
}

}  // namespace kreuz::router
