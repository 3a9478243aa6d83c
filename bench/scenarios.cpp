// The six scenarios. Each one is the handler of all its clients; latency is
// always measured from the stamp the message carries back (see common.h).
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "bench/runner.h"

namespace kreuz::bench {

namespace {

using json = nlohmann::ordered_json;

constexpr std::uint64_t close_timeout_ns = 3'000'000'000ULL;
constexpr std::uint64_t max_burst = 10'000;  // publications one tick may catch up
constexpr const char* ping_procedure = "http://api.wamp.ws/procedure#ping";
constexpr std::string_view sync_call_id = "sync";

std::string shorten(std::string_view text) {
    if (text.size() <= 200) return std::string(text);
    return std::string(text.substr(0, 200)) + "...";
}

void append_hex(std::string& out, std::uint64_t value) {
    constexpr char digits[] = "0123456789abcdef";
    char buf[16];
    int n = 0;
    do {
        buf[n++] = digits[value & 0xF];
        value >>= 4;
    } while (value != 0);
    while (n > 0) out.push_back(buf[--n]);
}

// The fields of a WAMP v1 message that the scenarios look at: the type,
// element 1 when it is a string (session id, call id, topic) and element 2
// (the result or event, without quotes when it is a string). Messages as
// kreuz writes them are read in place; anything else goes through a full
// JSON parse.
struct WampMessage {
    int type = -1;
    std::string_view first;
    std::string_view second;
    bool second_is_string = false;
    std::string first_storage;
    std::string second_storage;
};

bool parse_wamp_slow(std::string_view text, WampMessage& m) {
    const json j = json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_array() || j.empty() || !j[0].is_number_integer()) return false;
    m = WampMessage{};
    m.type = j[0].get<int>();
    if (j.size() > 1 && j[1].is_string()) {
        m.first_storage = j[1].get<std::string>();
        m.first = m.first_storage;
    }
    if (j.size() > 2) {
        m.second_is_string = j[2].is_string();
        m.second_storage = m.second_is_string ? j[2].get<std::string>() : j[2].dump();
        m.second = m.second_storage;
    }
    return true;
}

bool parse_wamp(std::string_view text, WampMessage& m) {
    std::size_t i = 0;
    const std::size_t n = text.size();
    auto skip_space = [&] {
        while (i < n && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r')) ++i;
    };
    auto string = [&](std::string_view& out) {
        if (i >= n || text[i] != '"') return false;
        const std::size_t start = ++i;
        while (i < n && text[i] != '"') {
            if (text[i] == '\\') return false;  // escapes: leave them to the JSON parser
            ++i;
        }
        if (i >= n) return false;
        out = text.substr(start, i - start);
        ++i;
        return true;
    };
    auto slow = [&] { return parse_wamp_slow(text, m); };

    skip_space();
    if (i >= n || text[i] != '[') return slow();
    ++i;
    skip_space();
    int type = 0;
    const std::size_t digits = i;
    while (i < n && text[i] >= '0' && text[i] <= '9' && i - digits < 4) type = type * 10 + (text[i++] - '0');
    if (i == digits) return slow();
    m.type = type;
    skip_space();
    if (i >= n || text[i] != ',') return slow();
    ++i;
    skip_space();
    if (!string(m.first)) return slow();
    skip_space();
    if (i < n && text[i] == ']') return true;
    if (i >= n || text[i] != ',') return slow();
    ++i;
    skip_space();
    if (i >= n) return slow();
    if (text[i] == '"') {
        if (!string(m.second)) return slow();
        m.second_is_string = true;
        return true;
    }
    if (text[i] == '[' || text[i] == '{') return slow();
    const std::size_t start = i;
    while (i < n && text[i] != ',' && text[i] != ']') ++i;
    if (i >= n) return slow();
    m.second = text.substr(start, i - start);
    return true;
}

// ---------------------------------------------------------------- echo

class EchoScenario final : public Scenario {
public:
    using Scenario::Scenario;
    const char* unit() const override { return "echo"; }
    std::size_t connections() const override { return runner_.options().connections; }
    bool paced() const override { return false; }

    void describe(json& params) const override {
        const Options& o = runner_.options();
        params = {{"connections", o.connections}, {"inflight", o.inflight}, {"size", o.size},
                  {"frames", o.binary ? "binary" : "text"}, {"path", o.path}};
    }

    void setup() override {
        const Options& o = runner_.options();
        seq_.assign(o.connections, 0);
        runner_.expect_ready(o.connections);
        for (std::size_t i = 0; i < o.connections; ++i) runner_.connect(runner_.add_client(*this), false);
    }

    void start() override {
        for (auto& client : runner_.clients()) {
            for (std::size_t k = 0; k < runner_.options().inflight; ++k) send(*client);
        }
    }

    void on_message(WsClient& client, std::string_view payload, bool) override {
        const auto stamp = parse_stamp(payload);
        if (!stamp || payload.size() != runner_.options().size) {
            runner_.fatal("connection #" + std::to_string(client.index()) +
                          ": the echo does not match what was sent: " + shorten(payload));
            return;
        }
        runner_.record(now_ns() - stamp->sent_ns);
        if (runner_.traffic_allowed() && client.is_open()) send(client);
    }

protected:
    void opened(WsClient&) override { runner_.ready(); }

private:
    void send(WsClient& client) {
        scratch_.clear();
        append_stamp(scratch_, Stamp{now_ns(), static_cast<std::uint32_t>(client.index()), seq_[client.index()]++},
                     runner_.options().size);
        if (runner_.options().binary) client.send_binary(scratch_);
        else client.send_text(scratch_);
    }

    std::vector<std::uint32_t> seq_;
    std::string scratch_;
};

// ---------------------------------------------------------------- WAMP base

class WampScenario : public Scenario {
public:
    explicit WampScenario(Runner& runner)
        : Scenario(runner),
          quoted_topic_(json(runner.options().topic).dump()),
          quoted_procedure_(json(runner.options().procedure).dump()) {}

    void on_message(WsClient& client, std::string_view text, bool binary) override {
        if (binary) {
            runner_.fatal(where(client) + "the server sent a binary message");
            return;
        }
        WampMessage m;
        if (!parse_wamp(text, m)) {
            runner_.fatal(where(client) + "not a WAMP message: " + shorten(text));
            return;
        }
        Session& session = sessions_[client.index()];
        switch (m.type) {
            case 0:
                if (session.welcomed) {
                    runner_.fatal(where(client) + "a second WELCOME");
                    return;
                }
                session.welcomed = true;
                welcomed(client, session);
                break;
            case 3:
                if (m.first == sync_call_id) {
                    synced(client, session);
                } else {
                    result(client, session, m);
                }
                break;
            case 2:
                called(client, text);
                break;
            case 4:
                call_error(client, text);
                break;
            case 8:
                event(client, session, m);
                break;
            default:
                runner_.fatal(where(client) + "unexpected WAMP message: " + shorten(text));
                break;
        }
    }

protected:
    struct Session {
        bool welcomed = false;
        std::uint64_t calls = 0;
        std::uint32_t seq = 0;
        std::uint64_t published = 0;  // open-loop chat: publications sent so far
        std::uint64_t cycle_start = 0;
    };

    virtual void welcomed(WsClient& client, Session& session) = 0;
    virtual void synced(WsClient&, Session&) {}
    virtual void result(WsClient&, Session&, const WampMessage&) {}
    virtual void event(WsClient&, Session&, const WampMessage&) {}
    // A CALL from the router to a session that registered a procedure.
    virtual void called(WsClient& client, std::string_view text) {
        runner_.fatal(where(client) + "unexpected WAMP message: " + shorten(text));
    }

    static std::string where(const WsClient& client) { return "connection #" + std::to_string(client.index()) + ": "; }

    std::optional<Stamp> stamp_of(const WsClient& client, const WampMessage& m) {
        auto stamp = m.second_is_string ? parse_stamp(m.second) : std::nullopt;
        if (!stamp) runner_.fatal(where(client) + "a result or event without the stamp that was sent: " + shorten(m.second));
        return stamp;
    }

    void call_error(const WsClient& client, std::string_view text) {
        const json j = json::parse(text, nullptr, false);
        std::string what = shorten(text);
        if (!j.is_discarded() && j.is_array() && j.size() >= 4 && j[2].is_string() && j[3].is_string()) {
            what = j[2].get<std::string>() + " \"" + j[3].get<std::string>() + "\"";
        }
        runner_.fatal(where(client) + "CALLERROR " + what);
    }

    void send_call(WsClient& client, Session& session, const std::string& quoted_procedure, std::uint64_t sent_ns) {
        scratch_.assign("[2,\"");
        append_hex(scratch_, session.calls++);
        scratch_ += "\",";
        scratch_ += quoted_procedure;
        scratch_ += ",\"";
        append_stamp(scratch_, Stamp{sent_ns, static_cast<std::uint32_t>(client.index()), session.seq++},
                     runner_.options().size);
        scratch_ += "\"]";
        client.send_text(scratch_);
    }

    // SUBSCRIBE has no answer in WAMP v1; a CALL behind it on the same
    // connection is answered after the subscription is in place.
    void subscribe_and_sync(WsClient& client) {
        client.send_text("[5," + quoted_topic_ + "]");
        client.send_text(std::string("[2,\"") + std::string(sync_call_id) + "\",\"" + ping_procedure + "\"]");
    }

    void send_publish(WsClient& client, Session& session, std::uint64_t sent_ns, const char* tail) {
        scratch_.assign("[7,");
        scratch_ += quoted_topic_;
        scratch_ += ",\"";
        append_stamp(scratch_, Stamp{sent_ns, static_cast<std::uint32_t>(client.index()), session.seq++},
                     runner_.options().size);
        scratch_ += '"';
        scratch_ += tail;
        client.send_text(scratch_);
        runner_.count_published();
    }

    void connect_sessions(std::size_t count) {
        sessions_.assign(count, Session{});
        for (std::size_t i = 0; i < count; ++i) runner_.connect(runner_.add_client(*this), true);
    }

    std::vector<Session> sessions_;
    std::string quoted_topic_;
    std::string quoted_procedure_;
    std::string scratch_;
};

// ---------------------------------------------------------------- rpc

class RpcScenario final : public WampScenario {
public:
    using WampScenario::WampScenario;
    const char* unit() const override { return "call"; }
    std::size_t connections() const override { return runner_.options().connections; }
    bool paced() const override { return runner_.options().rate > 0; }

    void describe(json& params) const override {
        const Options& o = runner_.options();
        params = {{"sessions", o.connections}, {"size", o.size}, {"procedure", o.procedure}};
        if (o.rate > 0) {
            params["rate"] = o.rate;
        } else {
            params["inflight"] = o.inflight;
        }
    }

    void setup() override {
        runner_.expect_ready(runner_.options().connections);
        connect_sessions(runner_.options().connections);
    }

    void start() override {
        start_ns_ = now_ns();
        if (runner_.options().rate > 0) return;  // tick() paces
        for (auto& client : runner_.clients()) {
            for (std::size_t k = 0; k < runner_.options().inflight; ++k) {
                send_call(*client, sessions_[client->index()], quoted_procedure_, now_ns());
            }
        }
    }

    // Open loop: R calls/s in all, dealt to the sessions in turn.
    void tick(std::uint64_t now) override {
        const double rate = runner_.options().rate;
        if (rate <= 0 || !runner_.traffic_allowed()) return;
        const auto due = static_cast<std::uint64_t>(static_cast<double>(now - start_ns_) * rate / 1e9);
        auto& clients = runner_.clients();
        for (std::uint64_t burst = 0; sent_ < due && burst < max_burst; ++burst, ++sent_) {
            WsClient& client = *clients[sent_ % clients.size()];
            if (client.is_open()) send_call(client, sessions_[client.index()], quoted_procedure_, now_ns());
        }
    }

protected:
    void welcomed(WsClient&, Session&) override { runner_.ready(); }

    void result(WsClient& client, Session& session, const WampMessage& m) override {
        const auto stamp = stamp_of(client, m);
        if (!stamp) return;
        runner_.record(now_ns() - stamp->sent_ns);
        if (runner_.options().rate <= 0 && runner_.traffic_allowed() && client.is_open()) {
            send_call(client, session, quoted_procedure_, now_ns());
        }
    }

private:
    std::uint64_t start_ns_ = 0;
    std::uint64_t sent_ = 0;
};

// ---------------------------------------------------------------- routed

// Routed RPC: connection 0 registers the procedure and answers every CALL the
// router forwards to it with its argument; connections 1..N call it, K calls
// in flight each. With --more-ports the callee is on the first node and each
// caller's latency counts as local or remote by the node it is on.
class RoutedScenario final : public WampScenario {
public:
    using WampScenario::WampScenario;
    const char* unit() const override { return "call"; }
    std::size_t connections() const override { return callers() + 1; }

    void describe(json& params) const override {
        const Options& o = runner_.options();
        params = {{"callers", o.connections}, {"size", o.size}, {"procedure", o.procedure}, {"inflight", o.inflight}};
    }

    void setup() override {
        runner_.expect_ready(callers() + 1);
        sessions_.assign(callers() + 1, Session{});
        runner_.connect(runner_.add_client(*this), true);  // the callee; the callers once it has registered
    }

    void start() override {
        auto& clients = runner_.clients();
        for (std::size_t i = 1; i < clients.size(); ++i) {
            for (std::size_t k = 0; k < runner_.options().inflight; ++k) {
                send_call(*clients[i], sessions_[i], quoted_procedure_, now_ns());
            }
        }
    }

protected:
    void welcomed(WsClient& client, Session&) override {
        if (client.index() != 0) {
            runner_.ready();
            return;
        }
        client.send_text(std::string("[2,\"register\",\"urn:kreuz:procedure:register\",") + quoted_procedure_ + "]");
    }

    void result(WsClient& client, Session& session, const WampMessage& m) override {
        if (client.index() == 0) {
            if (m.first != "register") {
                runner_.fatal(where(client) + "an answer the callee did not ask for");
                return;
            }
            runner_.ready();
            // Only now: a caller's first CALL must find the procedure
            // registered, on its own node too.
            for (std::size_t i = 0; i < callers(); ++i) runner_.connect(runner_.add_client(*this), true);
            return;
        }
        const auto stamp = stamp_of(client, m);
        if (!stamp) return;
        runner_.record(now_ns() - stamp->sent_ns, runner_.node_of(client.index()) != runner_.node_of(0));
        if (runner_.traffic_allowed() && client.is_open()) send_call(client, session, quoted_procedure_, now_ns());
    }

    void called(WsClient& client, std::string_view text) override {
        const json call = json::parse(text, nullptr, false);
        if (client.index() != 0 || !call.is_array() || call.size() != 4) {
            WampScenario::called(client, text);
            return;
        }
        client.send_text(json::array({3, call[1], call[3]}).dump());
    }

private:
    std::size_t callers() const { return runner_.options().connections; }
};

// ---------------------------------------------------------------- fanout

class FanoutScenario final : public WampScenario {
public:
    using WampScenario::WampScenario;
    const char* unit() const override { return "event"; }
    std::size_t connections() const override { return subscribers() + 1; }
    bool paced() const override { return runner_.options().rate > 0; }

    void describe(json& params) const override {
        const Options& o = runner_.options();
        params = {{"subscribers", o.connections}, {"size", o.size}};
        if (o.rate > 0) {
            params["mode"] = "open-loop";
            params["rate"] = o.rate;
        } else {
            params["mode"] = "closed-loop";
            params["window"] = o.window;
        }
    }

    void add_results(json& line, double seconds) const override {
        line["published"] = runner_.published();
        line["published_per_s"] = seconds > 0 ? std::round(static_cast<double>(runner_.published()) / seconds * 10) / 10 : 0.0;
    }

    void setup() override {
        acks_.assign(std::max<std::size_t>(runner_.options().window, 1), 0);
        runner_.expect_ready(subscribers() + 1);
        connect_sessions(subscribers() + 1);  // the last one publishes
    }

    void start() override {
        start_ns_ = now_ns();
        if (runner_.options().rate > 0) return;  // tick() paces
        for (std::size_t k = 0; k < acks_.size(); ++k) publish(now_ns());
    }

    void tick(std::uint64_t now) override {
        const double rate = runner_.options().rate;
        if (rate <= 0 || !runner_.traffic_allowed()) return;
        const auto due = static_cast<std::uint64_t>(static_cast<double>(now - start_ns_) * rate / 1e9);
        // Stamped when sent, not at the intended time: the pacing timer's
        // millisecond granularity would otherwise dominate the figures. A
        // load generator that falls behind shows as publications/s below R.
        for (std::uint64_t burst = 0; sent_ < due && burst < max_burst; ++burst) publish(now_ns());
    }

protected:
    void welcomed(WsClient& client, Session&) override {
        if (client.index() == subscribers()) runner_.ready();
        else subscribe_and_sync(client);
    }

    void synced(WsClient&, Session&) override { runner_.ready(); }

    void event(WsClient& client, Session&, const WampMessage& m) override {
        const auto stamp = stamp_of(client, m);
        if (!stamp) return;
        runner_.record(now_ns() - stamp->sent_ns, runner_.node_of(client.index()) != runner_.node_of(subscribers()));
        if (runner_.options().rate > 0) return;
        // Closed loop: publication i + W leaves once every subscriber has
        // event i. Each subscriber receives in order, so completions come in
        // order too and W counters suffice.
        ++acks_[stamp->seq % acks_.size()];
        while (head_ < sent_ && acks_[head_ % acks_.size()] >= subscribers()) {
            acks_[head_ % acks_.size()] = 0;
            ++head_;
            if (runner_.traffic_allowed()) publish(now_ns());
        }
    }

private:
    std::size_t subscribers() const { return runner_.options().connections; }

    void publish(std::uint64_t sent_ns) {
        WsClient& publisher = *runner_.clients()[subscribers()];
        if (!publisher.is_open()) return;
        Session& session = sessions_[subscribers()];
        session.seq = static_cast<std::uint32_t>(sent_);
        send_publish(publisher, session, sent_ns, "]");
        ++sent_;
    }

    std::vector<std::size_t> acks_;
    std::uint64_t head_ = 0;
    std::uint64_t sent_ = 0;
    std::uint64_t start_ns_ = 0;
};

// ---------------------------------------------------------------- chat

class ChatScenario final : public WampScenario {
public:
    using WampScenario::WampScenario;
    const char* unit() const override { return "event"; }
    std::size_t connections() const override { return runner_.options().connections; }
    bool paced() const override { return runner_.options().rate > 0; }

    void describe(json& params) const override {
        const Options& o = runner_.options();
        params = {{"sessions", o.connections}, {"size", o.size}};
        if (o.rate > 0) {
            params["mode"] = "open-loop";
            params["rate_per_session"] = o.rate;
        } else {
            params["mode"] = "closed-loop";
            params["inflight"] = o.inflight;
        }
    }

    void add_results(json& line, double seconds) const override {
        line["published"] = runner_.published();
        line["published_per_s"] = seconds > 0 ? std::round(static_cast<double>(runner_.published()) / seconds * 10) / 10 : 0.0;
    }

    void setup() override {
        runner_.expect_ready(runner_.options().connections);
        connect_sessions(runner_.options().connections);
    }

    void start() override {
        start_ns_ = now_ns();
        if (runner_.options().rate > 0) return;
        for (auto& client : runner_.clients()) {
            for (std::size_t k = 0; k < runner_.options().inflight; ++k) {
                send_publish(*client, sessions_[client->index()], now_ns(), ",false]");
            }
        }
    }

    void tick(std::uint64_t now) override {
        const double rate = runner_.options().rate;
        if (rate <= 0 || !runner_.traffic_allowed()) return;
        const auto due = static_cast<std::uint64_t>(static_cast<double>(now - start_ns_) * rate / 1e9);
        for (auto& client : runner_.clients()) {
            Session& session = sessions_[client->index()];
            for (std::uint64_t burst = 0; session.published < due && burst < max_burst && client->is_open(); ++burst) {
                send_publish(*client, session, now_ns(), ",false]");
                ++session.published;
            }
        }
    }

protected:
    void welcomed(WsClient& client, Session&) override { subscribe_and_sync(client); }
    void synced(WsClient&, Session&) override { runner_.ready(); }

    void event(WsClient& client, Session& session, const WampMessage& m) override {
        const auto stamp = stamp_of(client, m);
        if (!stamp) return;
        runner_.record(now_ns() - stamp->sent_ns);
        // Closed loop: a session's own event coming back frees a slot.
        if (runner_.options().rate <= 0 && stamp->sender == client.index() && runner_.traffic_allowed() &&
            client.is_open()) {
            send_publish(client, session, now_ns(), ",false]");
        }
    }

private:
    std::uint64_t start_ns_ = 0;
};

// ---------------------------------------------------------------- idle

class IdleScenario final : public WampScenario {
public:
    using WampScenario::WampScenario;
    const char* unit() const override { return "message"; }
    std::size_t connections() const override { return runner_.options().connections; }

    void describe(json& params) const override { params = {{"sessions", runner_.options().connections}}; }

    void setup() override {
        runner_.expect_ready(runner_.options().connections);
        connect_sessions(runner_.options().connections);
    }

    void start() override {}

protected:
    void welcomed(WsClient&, Session&) override { runner_.ready(); }
};

// ---------------------------------------------------------------- churn

class ChurnScenario final : public WampScenario {
public:
    using WampScenario::WampScenario;
    const char* unit() const override { return "session"; }
    std::size_t connections() const override { return 0; }

    void describe(json& params) const override {
        params = {{"concurrency", runner_.options().concurrency}, {"procedure", runner_.options().procedure}};
    }

    void setup() override {
        const std::size_t loops = runner_.options().concurrency;
        sessions_.assign(loops, Session{});
        for (std::size_t i = 0; i < loops; ++i) runner_.add_client(*this);
        runner_.expect_ready(0);
    }

    void start() override {
        for (auto& client : runner_.clients()) begin_cycle(*client);
    }

    void on_closed(WsClient& client, const CloseInfo& info) override {
        if (runner_.stopping() || !info.error.empty() || !info.initiated_by_us) {
            runner_.closed(client, info);  // fails the run unless it is stopping
            return;
        }
        const Session& session = sessions_[client.index()];
        runner_.record(now_ns() - session.cycle_start);
        if (runner_.traffic_allowed()) begin_cycle(client);
    }

protected:
    void welcomed(WsClient& client, Session& session) override {
        send_call(client, session, quoted_procedure_, session.cycle_start);
    }

    void result(WsClient& client, Session&, const WampMessage& m) override {
        if (!stamp_of(client, m)) return;
        client.close(1000, close_timeout_ns);
    }

private:
    void begin_cycle(WsClient& client) {
        Session& session = sessions_[client.index()];
        const std::uint64_t calls = session.calls;
        session = Session{};
        session.calls = calls;
        session.cycle_start = now_ns();
        runner_.connect_now(client, true);
    }
};

}  // namespace

std::unique_ptr<Scenario> make_scenario(Runner& runner) {
    const std::string& name = runner.options().scenario;
    if (name == "echo") return std::make_unique<EchoScenario>(runner);
    if (name == "rpc") return std::make_unique<RpcScenario>(runner);
    if (name == "routed") return std::make_unique<RoutedScenario>(runner);
    if (name == "fanout") return std::make_unique<FanoutScenario>(runner);
    if (name == "chat") return std::make_unique<ChatScenario>(runner);
    if (name == "idle") return std::make_unique<IdleScenario>(runner);
    return std::make_unique<ChurnScenario>(runner);
}

}  // namespace kreuz::bench
