// The frame every scenario runs in: connect (throttled), warm up, measure,
// close, report. Every phase has a deadline and the measured phase also a
// message count limit, so a run always ends by itself.
#pragma once

#include <sys/types.h>
#include <uv.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/common.h"
#include "bench/ws_client.h"

namespace kreuz::bench {

struct Options {
    std::string scenario;
    std::string host = "127.0.0.1";
    std::uint16_t port = 0;
    std::string path;             // empty: /echo for echo, /ws for the WAMP scenarios
    std::size_t connections = 0;  // 0: the scenario's default
    std::size_t inflight = 0;     // 0: the scenario's default
    std::size_t size = 32;
    double rate = 0;              // 0: closed loop
    std::size_t window = 16;
    std::size_t concurrency = 8;
    double warmup = 1.0;
    double duration = 5.0;
    std::uint64_t max_messages = 20'000'000;
    pid_t server_pid = 0;
    // A cluster under test: connection i goes to the (i mod nodes)-th of
    // port, more_ports...; the servers' CPU is summed over server_pid and
    // more_server_pids; beside_pids (Redis) are measured and reported apart.
    std::vector<std::uint16_t> more_ports;
    std::vector<pid_t> more_server_pids;
    std::vector<pid_t> beside_pids;
    double connect_timeout = 30.0;
    std::size_t connect_concurrency = 64;
    std::string topic = "http://kreuz.dev/bench#topic";
    std::string procedure = "http://api.wamp.ws/procedure#echo";
    bool binary = false;
    std::string format = "both";  // text, json or both
    std::string label;

    // Resolved by resolve_defaults().
    void resolve_defaults();
};

class Runner;

// A scenario is the handler of all of its clients. The runner calls setup()
// once, start() when every session is ready and the warm-up begins, stop()
// when the measurement ends, tick() every millisecond for paced scenarios.
class Scenario : public WsClient::Handler {
public:
    explicit Scenario(Runner& runner) : runner_(runner) {}
    virtual const char* unit() const = 0;         // what one counted message is
    virtual std::size_t connections() const = 0;  // for RSS per connection; 0: not applicable
    virtual void setup() = 0;
    virtual void start() = 0;
    virtual void stop() {}
    virtual void tick(std::uint64_t) {}
    virtual bool paced() const { return false; }
    virtual void describe(nlohmann::ordered_json& params) const = 0;  // the scenario's parameters
    virtual void add_results(nlohmann::ordered_json&, double) const {}  // extra figures for the measured interval

    void on_open(WsClient& client) final;
    void on_closed(WsClient& client, const CloseInfo& info) override;

protected:
    virtual void opened(WsClient&) {}
    Runner& runner_;
};

std::unique_ptr<Scenario> make_scenario(Runner& runner);

class Runner {
public:
    Runner(uv_loop_t* loop, const Options& options);
    Runner(const Runner&) = delete;
    Runner& operator=(const Runner&) = delete;

    // Runs the scenario to the end; returns the process exit code.
    int run();

    // ---- for scenarios
    const Options& options() const { return options_; }
    Context& context() { return context_; }
    WsClient& add_client(WsClient::Handler& handler);
    std::vector<std::unique_ptr<WsClient>>& clients() { return clients_; }
    // Connects now or as soon as fewer than connect_concurrency handshakes run.
    void connect(WsClient& client, bool wamp);
    void connect_now(WsClient& client, bool wamp);
    void expect_ready(std::size_t sessions) { expected_ready_ = sessions; }
    void ready();
    bool traffic_allowed() const { return phase_ == Phase::warmup || phase_ == Phase::measuring; }
    bool stopping() const { return phase_ == Phase::stopping || phase_ == Phase::done; }
    // `remote`: measured across nodes of a cluster, kept apart as well.
    void record(std::uint64_t latency_ns, bool remote = false);
    // Which node of the cluster the client with this index talks to.
    std::size_t node_of(std::size_t client_index) const { return client_index % addresses_.size(); }
    void count_published() {
        if (phase_ == Phase::measuring) ++published_;
    }
    std::uint64_t published() const { return published_; }
    void fatal(std::string message);
    void opened(WsClient& client);
    void closed(WsClient& client, const CloseInfo& info);
    static std::string describe_close(const WsClient& client, const CloseInfo& info);

private:
    enum class Phase { connecting, warmup, measuring, stopping, done };

    static void on_tick(uv_timer_t* timer);
    void tick();
    void begin_warmup();
    void begin_measure();
    void end_measure();
    void begin_stop(bool graceful);
    void finish();
    void report() const;
    void start_pending_connects();
    std::vector<pid_t> server_pids() const;
    static std::optional<double> cpu_seconds_of(const std::vector<pid_t>& pids);

    const Options& options_;
    uv_loop_t* loop_;
    Context context_;
    std::unique_ptr<Scenario> scenario_;
    std::vector<std::unique_ptr<WsClient>> clients_;
    std::deque<std::pair<WsClient*, bool>> pending_connects_;
    std::size_t handshakes_running_ = 0;
    std::vector<sockaddr_in> addresses_;  // port, then more_ports
    std::vector<std::string> host_headers_;

    uv_timer_t timer_{};
    Phase phase_ = Phase::connecting;
    std::uint64_t started_ = 0;
    std::uint64_t hard_deadline_ = 0;
    std::uint64_t phase_deadline_ = 0;
    std::uint64_t last_deadline_scan_ = 0;
    std::size_t expected_ready_ = 0;
    std::size_t ready_ = 0;

    std::uint64_t warm_messages_ = 0;
    std::uint64_t messages_ = 0;
    std::uint64_t published_ = 0;
    Histogram latency_;
    Histogram local_latency_;   // with more_ports: on the publisher's own node
    Histogram remote_latency_;  // with more_ports: across nodes

    std::uint64_t measure_start_ = 0;
    std::uint64_t measure_end_ = 0;
    std::optional<double> server_cpu_start_, server_cpu_end_;
    std::optional<double> beside_cpu_start_, beside_cpu_end_;
    double self_cpu_start_ = 0, self_cpu_end_ = 0;
    std::optional<std::uint64_t> rss_before_, rss_connected_, rss_end_;
    double connect_seconds_ = 0;
    std::uint64_t warmup_start_ = 0;
    double warmup_seconds_ = 0;

    std::string error_;
    std::size_t close_problems_ = 0;
    std::string first_close_problem_;
};

}  // namespace kreuz::bench
