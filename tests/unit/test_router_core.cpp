// The WAMP core without sockets: sessions on recording transports, a realm
// built from YAML, and the safe point of the teardown rule played by the test
// (end_closed()), so that what happens inside a fan-out, a forward or a reply
// is checked step by step.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <uv.h>

#include "config/loader.h"
#include "router/authentication.h"
#include "router/builtin_procedures.h"
#include "router/realm.h"
#include "router/session.h"
#include "router/timers.h"
#include "router/transport.h"
#include "router/uris.h"
#include "wamp/message.h"

namespace {

using nlohmann::json;
using namespace kreuz;
using namespace kreuz::router;

// Keeps what is sent; closes itself, as a connection over its queue limit
// does, when a send would take it past `capacity` bytes.
class RecordingTransport final : public Transport {
public:
    std::vector<json> received;
    std::size_t capacity = SIZE_MAX;
    std::size_t bytes = 0;
    std::optional<std::uint16_t> closed_with;

    bool is_open() const override { return !closed_with; }
    void send(const std::shared_ptr<const std::string>& message) override {
        if (closed_with) return;
        if (bytes + message->size() > capacity) {
            closed_with = 1008;  // what a queue over write_queue_limit gets
            return;
        }
        bytes += message->size();
        received.push_back(json::parse(*message));
    }
    void close(std::uint16_t code, std::string_view) override {
        if (!closed_with) closed_with = code;
    }
    const std::string& remote_address() const override { return address_; }

    // The messages of one type id, taken out.
    std::vector<json> take(int type) {
        std::vector<json> out;
        std::erase_if(received, [&](const json& m) {
            if (m[0] != type) return false;
            out.push_back(m);
            return true;
        });
        return out;
    }

private:
    std::string address_ = "test";
};

struct Client {
    RecordingTransport transport;
    std::optional<Session> session;
    bool ended = false;
};

// What the broker tells the other nodes, kept for the test to read.
class RecordingBackplane final : public Backplane {
public:
    std::vector<std::string> log;  // "+topic", "-topic", "relay topic <EVENT>"
    bool up = true;

    void topic_held(Realm&, const std::string& topic) override { log.push_back("+" + topic); }
    void topic_released(Realm&, const std::string& topic) override { log.push_back("-" + topic); }
    bool relaying() const override { return up; }
    void relay(const Realm&, const wamp::Publish& publication, const std::string& event_message) override {
        log.push_back("relay " + publication.topic + " " + event_message);
    }
    BackplaneStatus status() const override { return {}; }

    // Claims wait for the test to answer them, as they wait for Redis.
    std::vector<ClaimDone> claims;
    std::vector<CallReply> forwarded;
    void claim_procedure(Realm&, const std::string& uri, const std::string&, ClaimDone done) override {
        log.push_back("claim " + uri);
        claims.push_back(std::move(done));
    }
    void release_procedure(Realm&, const std::string& uri, const std::string&) override {
        log.push_back("release " + uri);
    }
    void forward_call(Realm&, const RemoteProcedure& procedure, const wamp::Call& call, CallReply reply) override {
        log.push_back("forward " + call.procedure + " to " + procedure.node + " " + procedure.callee_id);
        forwarded.push_back(std::move(reply));
    }
};

// A realm on a loop that never runs: timers are scheduled and never fire.
class Core {
public:
    explicit Core(const std::string& realm_yaml = "realms: [{name: r, paths: [/ws]}]",
                  RecordingBackplane* backplane = nullptr)
        : config_(config::parse_config(realm_yaml, "<test>")), backplane_(backplane) {
        uv_loop_init(&loop_);
        timers_.emplace(&loop_);
        realm_.emplace(config_.realms.at(0), "kreuz/test", *timers_);
        if (backplane) realm_->join_cluster(*backplane, "node-a");
        add_builtin_procedures(*realm_);
        add_auth_procedures(*realm_);
        realm_->registrations().add_procedures();
    }
    ~Core() {
        // What the backplane still holds answers its calls now, while the
        // realm that delivers the answers is there.
        if (backplane_) {
            backplane_->claims.clear();
            backplane_->forwarded.clear();
        }
        for (Client& c : clients_) {
            if (!c.ended) c.session->on_close(1001);
        }
        realm_.reset();
        timers_.reset();
        uv_run(&loop_, UV_RUN_NOWAIT);
        uv_loop_close(&loop_);
    }

    Realm& realm() { return *realm_; }

    Client& connect(std::size_t capacity = SIZE_MAX) {
        Client& c = clients_.emplace_back();
        c.session.emplace(*realm_, c.transport);
        REQUIRE(c.transport.take(wamp::Welcome::type_id).size() == 1);
        c.transport.bytes = 0;  // the capacity counts from here
        c.transport.capacity = capacity;
        return c;
    }

    // The safe point: every session whose transport closed is told now, as
    // the Server does at the start of its check phase.
    std::size_t end_closed() {
        std::size_t ended = 0;
        for (Client& c : clients_) {
            if (c.ended || !c.transport.closed_with) continue;
            c.session->on_close(*c.transport.closed_with);
            c.ended = true;
            ++ended;
        }
        return ended;
    }

    static void send(Client& c, const json& message) { c.session->on_message(false, message.dump()); }

private:
    config::Config config_;
    RecordingBackplane* backplane_;
    uv_loop_t loop_{};
    std::optional<Timers> timers_;
    std::optional<Realm> realm_;
    std::list<Client> clients_;  // stable addresses: sessions point at their transports
};

constexpr int SUBSCRIBE = wamp::Subscribe::type_id;
constexpr int UNSUBSCRIBE = wamp::Unsubscribe::type_id;
constexpr int PUBLISH = wamp::Publish::type_id;
constexpr int CALL = wamp::Call::type_id;
constexpr int CALLRESULT = wamp::CallResult::type_id;
constexpr int CALLERROR = wamp::CallError::type_id;
constexpr int EVENT = wamp::Event::type_id;

}  // namespace

TEST_CASE("router core: a subscriber dropped in the middle of a fan-out") {
    Core core;
    std::vector<Client*> subscribers;
    for (int i = 0; i < 50; ++i) {
        // The 10th and the 40th can take one event ([8,"t","first"]) but not two.
        Client& c = core.connect(i == 10 || i == 40 ? 20 : SIZE_MAX);
        Core::send(c, {SUBSCRIBE, "t"});
        subscribers.push_back(&c);
    }
    Client& publisher = core.connect();
    Core::send(publisher, {PUBLISH, "t", "first"});
    Core::send(publisher, {PUBLISH, "t", "secnd"});  // closes #10 and #40 inside the loop
    CHECK(core.realm().broker().subscriber_count("t") == 50);  // listed until the safe point
    for (int i = 0; i < 50; ++i) {
        const std::size_t expected = i == 10 || i == 40 ? 1 : 2;
        CHECK(subscribers[i]->transport.take(EVENT).size() == expected);
    }
    CHECK(core.end_closed() == 2);
    CHECK(core.realm().broker().subscriber_count("t") == 48);
    Core::send(publisher, {PUBLISH, "t", "third"});
    for (int i = 0; i < 50; ++i) CHECK(subscribers[i]->transport.take(EVENT).size() == (i == 10 || i == 40 ? 0 : 1));
}

TEST_CASE("router core: the publisher dropped by its own publication") {
    Core core;
    Client& other = core.connect();
    Core::send(other, {SUBSCRIBE, "t"});
    Client& publisher = core.connect(40);
    Core::send(publisher, {SUBSCRIBE, "t"});
    Core::send(publisher, {PUBLISH, "t", std::string(100, 'x'), false});
    CHECK(publisher.transport.closed_with == 1008);
    CHECK(other.transport.take(EVENT).size() == 1);  // the loop went on past it
    CHECK(core.end_closed() == 1);
    CHECK(core.realm().broker().subscriber_count("t") == 1);
    CHECK(core.realm().session_count() == 1);
}

TEST_CASE("router core: receivers follow the 6.3 rule with sessions") {
    Core core;
    Client& a = core.connect();
    Client& b = core.connect();
    Client& c = core.connect();
    for (Client* s : {&a, &b, &c}) Core::send(*s, {SUBSCRIBE, "t"});
    auto got = [&] {
        std::string who;
        for (auto [name, s] : {std::pair{"a", &a}, std::pair{"b", &b}, std::pair{"c", &c}}) {
            if (!s->transport.take(EVENT).empty()) who += name;
        }
        return who;
    };
    Core::send(a, {PUBLISH, "t", 1});  // excludeMe defaults to true
    CHECK(got() == "bc");
    Core::send(a, {PUBLISH, "t", 1, false});
    CHECK(got() == "abc");
    Core::send(a, {PUBLISH, "t", 1, {b.session->id(), "nobody"}});
    CHECK(got() == "ac");
    Core::send(a, {PUBLISH, "t", 1, json::array(), {c.session->id(), a.session->id()}});
    CHECK(got() == "ac");
    Core::send(a, {PUBLISH, "t", 1, {a.session->id()}, {a.session->id(), b.session->id()}});
    CHECK(got() == "b");
}

TEST_CASE("router core: a callee dropped by the call forwarded to it") {
    Core core("realms: [{name: r, paths: [/ws], callee_timeout: 60s}]");
    Client& callee = core.connect(200);
    Core::send(callee, {CALL, "r", procedure_uri::register_procedure, "p"});
    REQUIRE(callee.transport.take(CALLRESULT).size() == 1);
    Client& caller = core.connect();
    Core::send(caller, {CALL, "c1", "p", std::string(50, 'a')});    // fits
    Core::send(caller, {CALL, "c2", "p", std::string(500, 'b')});   // overflows the callee
    CHECK(callee.transport.closed_with == 1008);
    Core::send(caller, {CALL, "c3", "p", 3});                       // to a callee that is not open
    CHECK(caller.transport.take(CALLERROR) ==
          std::vector<json>{{CALLERROR, "c3", error_uri::callee_gone, "the session that served p has left"}});
    // At the safe point both calls it held are answered at once, not after callee_timeout.
    CHECK(core.end_closed() == 1);
    const std::vector<json> errors = caller.transport.take(CALLERROR);
    REQUIRE(errors.size() == 2);
    for (const json& e : errors) CHECK(e[2] == error_uri::callee_gone);
    Core::send(caller, {CALL, "c4", "p"});
    CHECK(caller.transport.take(CALLERROR).at(0)[2] == error_uri::no_such_procedure);
    Client& next = core.connect();
    Core::send(next, {CALL, "r2", procedure_uri::register_procedure, "p"});
    CHECK(next.transport.take(CALLRESULT).size() == 1);
}

TEST_CASE("router core: a caller dropped by its own answer") {
    Core core;
    Client& caller = core.connect(60);
    Core::send(caller, {CALL, "e", procedure_uri::echo, std::string(100, 'x')});
    CHECK(caller.transport.closed_with == 1008);
    CHECK(core.end_closed() == 1);
    CHECK(core.realm().session_count() == 0);
    CHECK(core.realm().metrics().calls.results == 1);
}

TEST_CASE("router core: new rules for a session's role end the subscriptions they refuse") {
    Core core;
    Client& s = core.connect();
    Core::send(s, {SUBSCRIBE, "http://example.com/public/a"});
    Core::send(s, {SUBSCRIBE, "http://example.com/private/b"});
    CHECK(s.session->subscriptions().size() == 2);
    CHECK(s.session->role() == "anonymous");
    const config::Config next = config::parse_config(R"(
realms:
  - name: r
    paths: [/ws]
    roles:
      anonymous:
        - {uri: "http://example.com/public/", prefix: true}
)", "<test>");
    core.realm().reconfigure(next.realms.at(0));
    CHECK(s.session->role() == "anonymous");
    CHECK(s.session->subscriptions().size() == 1);
    CHECK(core.realm().broker().subscriber_count("http://example.com/private/b") == 0);
    CHECK(core.realm().broker().subscriber_count("http://example.com/public/a") == 1);
    Core::send(s, {SUBSCRIBE, "http://example.com/private/c"});
    CHECK(s.session->subscriptions().size() == 1);
}

TEST_CASE("router core: limits close the session with 1008 and answer too many calls") {
    Core core("realms: [{name: r, paths: [/ws], limits: {max_subscriptions: 2, max_pending_calls: 0}}]");
    Client& s = core.connect();
    Core::send(s, {CALL, "c", procedure_uri::ping});
    CHECK(s.transport.take(CALLERROR).at(0)[2] == error_uri::too_many_pending_calls);
    Core::send(s, {SUBSCRIBE, "a"});
    Core::send(s, {SUBSCRIBE, "b"});
    CHECK_FALSE(s.transport.closed_with);
    Core::send(s, {SUBSCRIBE, "c"});
    CHECK(s.transport.closed_with == 1008);
    Core::send(s, {SUBSCRIBE, "d"});  // after the close, before the safe point: nothing changes
    CHECK(s.session->subscriptions().size() == 2);
    CHECK(core.end_closed() == 1);
    CHECK(core.realm().broker().topic_count() == 0);
}

TEST_CASE("router core: the backplane holds a topic from its first local subscriber to its last") {
    RecordingBackplane backplane;
    Core core("realms: [{name: r, paths: [/ws]}]", &backplane);
    Client& a = core.connect();
    Client& b = core.connect();
    CHECK(a.session->id().starts_with("node-a."));  // unique across nodes without asking them
    Core::send(a, {SUBSCRIBE, "t"});
    Core::send(b, {SUBSCRIBE, "t"});
    Core::send(b, {SUBSCRIBE, "u"});
    CHECK(backplane.log == std::vector<std::string>{"+t", "+u"});
    Core::send(a, {UNSUBSCRIBE, "t"});
    CHECK(backplane.log.size() == 2);  // b still holds t
    b.transport.close(1000, "");
    core.end_closed();  // the session's end releases what it held
    REQUIRE(backplane.log.size() == 4);
    std::sort(backplane.log.begin() + 2, backplane.log.end());
    CHECK(backplane.log == std::vector<std::string>{"+t", "+u", "-t", "-u"});
}

TEST_CASE("router core: a publication reaches local subscribers, then the backplane, with the same bytes") {
    RecordingBackplane backplane;
    Core core("realms: [{name: r, paths: [/ws]}]", &backplane);
    Client& subscriber = core.connect();
    Client& publisher = core.connect();
    Core::send(subscriber, {SUBSCRIBE, "t"});
    backplane.log.clear();
    Core::send(publisher, {PUBLISH, "t", {{"n", 1}}});
    REQUIRE(subscriber.transport.take(EVENT).size() == 1);
    CHECK(backplane.log == std::vector<std::string>{R"(relay t [8,"t",{"n":1}])"});
    // Nobody here on "u": the other nodes may still have subscribers.
    Core::send(publisher, {PUBLISH, "u", 2});
    CHECK(backplane.log.back() == R"(relay u [8,"u",2])");
    // Redis away: local delivery goes on, nothing is serialized for the relay.
    backplane.up = false;
    Core::send(publisher, {PUBLISH, "t", 3});
    CHECK(subscriber.transport.take(EVENT).size() == 1);
    CHECK(backplane.log.size() == 2);
}

TEST_CASE("router core: a remote publication follows 6.3 with ids of this node and others") {
    RecordingBackplane backplane;
    Core core("realms: [{name: r, paths: [/ws]}]", &backplane);
    Client& a = core.connect();
    Client& b = core.connect();
    for (Client* s : {&a, &b}) Core::send(*s, {SUBSCRIBE, "t"});
    auto event = std::make_shared<const std::string>(R"([8,"t","remote"])");
    auto deliver = [&](std::optional<std::vector<std::string>> exclude, std::optional<std::vector<std::string>> eligible) {
        wamp::Publish filters{"t", nullptr, false, std::move(exclude), std::move(eligible)};
        const std::size_t count = core.realm().broker().deliver_remote(filters, event);
        std::string who;
        if (!a.transport.take(EVENT).empty()) who += "a";
        if (!b.transport.take(EVENT).empty()) who += "b";
        CHECK(who.size() == count);
        return who;
    };
    CHECK(deliver(std::nullopt, std::nullopt) == "ab");
    CHECK(deliver(std::vector<std::string>{b.session->id(), "node-b.x"}, std::nullopt) == "a");
    CHECK(deliver(std::nullopt, std::vector<std::string>{"node-b.x"}) == "");
    CHECK(deliver(std::vector<std::string>{}, std::vector<std::string>{a.session->id()}) == "a");
    CHECK(core.realm().broker().deliver_remote(wamp::Publish{"nobody-here", nullptr, false, {}, {}}, event) == 0);
}

TEST_CASE("router core: a registration in a cluster waits for its claim") {
    RecordingBackplane backplane;
    Core core("realms: [{name: r, paths: [/ws]}]", &backplane);
    Client& callee = core.connect();
    Client& rival = core.connect();
    Client& caller = core.connect();
    Core::send(callee, {CALL, "r1", procedure_uri::register_procedure, "p"});
    CHECK(callee.transport.take(CALLRESULT).empty());  // Redis has not answered
    Core::send(rival, {CALL, "r2", procedure_uri::register_procedure, "p"});  // refused here at once
    CHECK(rival.transport.take(CALLERROR).at(0)[2] == error_uri::procedure_already_exists);
    Core::send(caller, {CALL, "c0", "p"});  // not callable before the claim holds
    CHECK(caller.transport.take(CALLERROR).at(0)[2] == error_uri::no_such_procedure);
    REQUIRE(backplane.claims.size() == 1);
    backplane.claims[0](nullptr, "");
    CHECK(callee.transport.take(CALLRESULT).at(0) == json{CALLRESULT, "r1", "p"});
    Core::send(caller, {CALL, "c1", "p", 1});
    const json forwarded = callee.transport.take(CALL).at(0);
    Core::send(callee, {CALLRESULT, forwarded[1], 2});
    CHECK(caller.transport.take(CALLRESULT).at(0) == json{CALLRESULT, "c1", 2});
    callee.transport.close(1000, "");
    core.end_closed();
    CHECK(backplane.log.back() == "release p");

    // A claim another node holds: the session gets the error, and may try again.
    Core::send(rival, {CALL, "r3", procedure_uri::register_procedure, "q"});
    backplane.claims.at(1)(error_uri::procedure_already_exists, "q is already registered on another node");
    CHECK(rival.transport.take(CALLERROR).at(0) ==
          json{CALLERROR, "r3", error_uri::procedure_already_exists, "q is already registered on another node"});
    Core::send(rival, {CALL, "r4", procedure_uri::register_procedure, "q"});
    CHECK(backplane.claims.size() == 3);
}

TEST_CASE("router core: procedures of other nodes are reached through the backplane") {
    RecordingBackplane backplane;
    Core core("realms: [{name: r, paths: [/ws]}]", &backplane);
    Client& caller = core.connect();
    core.realm().registrations().add_remote("node-b", "p", "node-b.callee");
    core.realm().registrations().add_remote("node-b", "http://api.wamp.ws/procedure#echo", "node-b.x");
    Core::send(caller, {CALL, "c1", "p", 1});
    CHECK(backplane.log.back() == "forward p to node-b node-b.callee");
    backplane.forwarded.at(0).result(5);
    CHECK(caller.transport.take(CALLRESULT).at(0) == json{CALLRESULT, "c1", 5});
    // A procedure this node serves itself stays its own.
    Core::send(caller, {CALL, "c2", "http://api.wamp.ws/procedure#echo", "here"});
    CHECK(caller.transport.take(CALLRESULT).at(0) == json{CALLRESULT, "c2", "here"});
    CHECK(core.realm().registrations().remote_count() == 1);
    // The node is gone: so are its procedures.
    core.realm().registrations().remove_node("node-b");
    Core::send(caller, {CALL, "c3", "p"});
    CHECK(caller.transport.take(CALLERROR).at(0)[2] == error_uri::no_such_procedure);
}

TEST_CASE("router core: a CALL forwarded from another node is answered through its sink") {
    RecordingBackplane backplane;
    Core core("realms: [{name: r, paths: [/ws]}]", &backplane);
    Client& callee = core.connect();
    Core::send(callee, {CALL, "r1", procedure_uri::register_procedure, "p"});
    backplane.claims.at(0)(nullptr, "");
    std::vector<std::string> answers;
    core.realm().registrations().serve_remote(
        callee.session->id(), wamp::Call{"", "p", json::array({7})},
        CallReply([&answers](std::string message) { answers.push_back(std::move(message)); }, "42"));
    const json forwarded = callee.transport.take(CALL).at(0);
    CHECK(forwarded[3] == 7);
    Core::send(callee, {CALLERROR, forwarded[1], "http://example.com/e", "no"});
    CHECK(answers == std::vector<std::string>{R"([4,"42","http://example.com/e","no"])"});
    // A callee that is not here (any more) answers callee-gone.
    core.realm().registrations().serve_remote(
        "node-a.nobody", wamp::Call{"", "p", json::array()},
        CallReply([&answers](std::string message) { answers.push_back(std::move(message)); }, "43"));
    CHECK(json::parse(answers.back())[2] == error_uri::callee_gone);
}
