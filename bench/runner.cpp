#include "bench/runner.h"

#include <algorithm>

#include <cmath>
#include <cstdio>
#include <iostream>
#include <sstream>

namespace kreuz::bench {

namespace {

constexpr std::uint64_t ms = 1'000'000ULL;
constexpr std::uint64_t close_timeout_ns = 3000 * ms;
constexpr std::uint64_t stop_timeout_ns = 5000 * ms;

std::uint64_t seconds_to_ns(double seconds) { return static_cast<std::uint64_t>(std::llround(seconds * 1e9)); }

std::string format_ns(std::uint64_t ns) {
    char buf[32];
    if (ns < 1'000'000) std::snprintf(buf, sizeof buf, "%.1f us", static_cast<double>(ns) / 1e3);
    else std::snprintf(buf, sizeof buf, "%.2f ms", static_cast<double>(ns) / 1e6);
    return buf;
}

std::string format_kib(std::uint64_t kib) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(kib) / 1024.0);
    return buf;
}

// Rounds to a number of decimals so that the JSON line shows short numbers.
double round_to(double value, int decimals) {
    const double scale = std::pow(10.0, decimals);
    return std::round(value * scale) / scale;
}

}  // namespace

void Options::resolve_defaults() {
    const bool echo = scenario == "echo";
    if (path.empty()) path = echo ? "/echo" : "/ws";
    if (connections == 0) {
        if (scenario == "fanout") connections = 100;
        else if (scenario == "chat") connections = 20;
        else if (scenario == "idle") connections = 1000;
        else connections = 16;
    }
    if (inflight == 0) inflight = scenario == "chat" ? 4 : 16;
}

// ---------------------------------------------------------------- Scenario

void Scenario::on_open(WsClient& client) {
    runner_.opened(client);
    opened(client);
}

void Scenario::on_closed(WsClient& client, const CloseInfo& info) { runner_.closed(client, info); }

// ---------------------------------------------------------------- Runner

Runner::Runner(uv_loop_t* loop, const Options& options) : options_(options), loop_(loop), context_(loop) {
    std::vector<std::uint16_t> ports{options_.port};
    ports.insert(ports.end(), options_.more_ports.begin(), options_.more_ports.end());
    for (std::uint16_t port : ports) {
        uv_ip4_addr(options_.host.c_str(), port, &addresses_.emplace_back());
        host_headers_.push_back(options_.host + ":" + std::to_string(port));
    }
    uv_timer_init(loop_, &timer_);
    timer_.data = this;
}

WsClient& Runner::add_client(WsClient::Handler& handler) {
    clients_.push_back(std::make_unique<WsClient>(context_, handler, clients_.size()));
    return *clients_.back();
}

void Runner::connect(WsClient& client, bool wamp) {
    pending_connects_.emplace_back(&client, wamp);
    start_pending_connects();
}

void Runner::connect_now(WsClient& client, bool wamp) {
    const std::size_t node = node_of(client.index());
    client.connect(reinterpret_cast<const sockaddr*>(&addresses_[node]), host_headers_[node], options_.path, wamp ? "wamp" : "",
                   seconds_to_ns(options_.connect_timeout));
}

void Runner::start_pending_connects() {
    while (!pending_connects_.empty() && handshakes_running_ < options_.connect_concurrency && !stopping()) {
        auto [client, wamp] = pending_connects_.front();
        pending_connects_.pop_front();
        ++handshakes_running_;
        connect_now(*client, wamp);
    }
}

void Runner::opened(WsClient&) {
    if (handshakes_running_ > 0) --handshakes_running_;
    start_pending_connects();
}

void Runner::ready() {
    ++ready_;
    if (phase_ == Phase::connecting && ready_ == expected_ready_) begin_warmup();
}

void Runner::record(std::uint64_t latency_ns, bool remote) {
    if (phase_ == Phase::measuring) {
        ++messages_;
        latency_.add(latency_ns);
        if (!options_.more_ports.empty()) (remote ? remote_latency_ : local_latency_).add(latency_ns);
        if (messages_ >= options_.max_messages) end_measure();
    } else if (phase_ == Phase::warmup) {
        if (++warm_messages_ >= options_.max_messages) begin_measure();
    }
}

std::string Runner::describe_close(const WsClient& client, const CloseInfo& info) {
    std::ostringstream out;
    out << "connection #" << client.index() << ": ";
    if (!info.error.empty()) {
        out << info.error;
        if (info.code != 0) out << " (close code " << info.code << ")";
    } else if (!info.initiated_by_us) {
        out << "the server closed the connection";
        if (info.code != 0) out << " with code " << info.code;
        if (!info.reason.empty()) out << " \"" << info.reason << "\"";
    } else {
        out << "closed";
    }
    return out.str();
}

void Runner::closed(WsClient& client, const CloseInfo& info) {
    if (handshakes_running_ > 0 && phase_ == Phase::connecting && !info.error.empty()) {
        // A failed handshake frees its slot too (the run is failing anyway).
        --handshakes_running_;
    }
    if (!stopping()) {
        fatal(describe_close(client, info));
        return;
    }
    if (!info.error.empty() && error_.empty()) {
        if (close_problems_++ == 0) first_close_problem_ = describe_close(client, info);
    }
}

void Runner::fatal(std::string message) {
    if (!error_.empty() || phase_ == Phase::done) return;
    error_ = std::move(message);
    std::cerr << "kreuz-bench: error: " << error_ << std::endl;
    begin_stop(false);
}

int Runner::run() {
    if (options_.server_pid > 0) {
        rss_before_ = process_rss_kib(options_.server_pid);
        if (!rss_before_) {
            std::cerr << "kreuz-bench: error: cannot read /proc/" << options_.server_pid
                      << "/status: is the server running?" << std::endl;
            finish();
            uv_run(loop_, UV_RUN_DEFAULT);
            return 2;
        }
    }
    scenario_ = make_scenario(*this);
    started_ = now_ns();
    hard_deadline_ = started_ + seconds_to_ns(options_.connect_timeout + options_.warmup + options_.duration) +
                     2 * stop_timeout_ns;
    phase_deadline_ = started_ + seconds_to_ns(options_.connect_timeout);
    uv_timer_start(&timer_, on_tick, scenario_->paced() ? 1 : 10, scenario_->paced() ? 1 : 10);
    scenario_->setup();
    if (phase_ == Phase::connecting && ready_ >= expected_ready_) begin_warmup();
    uv_run(loop_, UV_RUN_DEFAULT);
    if (!error_.empty()) {
        if (options_.format != "text") {
            nlohmann::ordered_json line;
            line["scenario"] = options_.scenario;
            if (!options_.label.empty()) line["label"] = options_.label;
            line["ok"] = false;
            line["error"] = error_;
            std::cout << line.dump() << std::endl;
        }
        return 2;
    }
    report();
    return 0;
}

void Runner::on_tick(uv_timer_t* timer) { static_cast<Runner*>(timer->data)->tick(); }

void Runner::tick() {
    const std::uint64_t now = now_ns();
    if (now - last_deadline_scan_ >= 100 * ms) {
        last_deadline_scan_ = now;
        for (auto& client : clients_) client->check_deadline(now);
        if (options_.server_pid > 0 && !stopping() && !process_rss_kib(options_.server_pid)) {
            fatal("the server process " + std::to_string(options_.server_pid) + " is gone");
        }
    }
    if (phase_ != Phase::done && now >= hard_deadline_) {
        if (!stopping()) {
            fatal("the run exceeded its overall time limit");
        } else {
            for (auto& client : clients_) client->abort("");
        }
    }
    switch (phase_) {
        case Phase::connecting:
            if (now >= phase_deadline_) {
                fatal("only " + std::to_string(ready_) + " of " + std::to_string(expected_ready_) +
                      " sessions were ready after " + std::to_string(options_.connect_timeout) + " s");
            }
            break;
        case Phase::warmup:
            scenario_->tick(now);
            if (now >= phase_deadline_) begin_measure();
            break;
        case Phase::measuring:
            scenario_->tick(now);
            if (now >= phase_deadline_) end_measure();
            break;
        case Phase::stopping: {
            bool all_idle = true;
            for (auto& client : clients_) all_idle = all_idle && client->is_idle();
            if (all_idle) {
                finish();
            } else if (now >= phase_deadline_) {
                for (auto& client : clients_) {
                    if (!client->is_idle()) {
                        if (close_problems_++ == 0 && error_.empty()) {
                            first_close_problem_ = "connection #" + std::to_string(client->index()) +
                                                   ": not closed within the stop timeout";
                        }
                        client->abort("");
                    }
                }
                phase_deadline_ = hard_deadline_;
            }
            break;
        }
        case Phase::done:
            break;
    }
}

void Runner::begin_warmup() {
    const std::uint64_t now = now_ns();
    connect_seconds_ = static_cast<double>(now - started_) / 1e9;
    if (options_.server_pid > 0) rss_connected_ = process_rss_kib(options_.server_pid);
    phase_ = Phase::warmup;
    warmup_start_ = now;
    phase_deadline_ = now + seconds_to_ns(options_.warmup);
    scenario_->start();
    if (options_.warmup <= 0 && phase_ == Phase::warmup) begin_measure();
}

void Runner::begin_measure() {
    if (phase_ != Phase::warmup) return;
    phase_ = Phase::measuring;
    messages_ = 0;
    published_ = 0;
    latency_.clear();
    local_latency_.clear();
    remote_latency_.clear();
    if (options_.server_pid > 0) server_cpu_start_ = cpu_seconds_of(server_pids());
    if (!options_.beside_pids.empty()) beside_cpu_start_ = cpu_seconds_of(options_.beside_pids);
    self_cpu_start_ = self_cpu_seconds();
    measure_start_ = now_ns();
    warmup_seconds_ = static_cast<double>(measure_start_ - warmup_start_) / 1e9;
    phase_deadline_ = measure_start_ + seconds_to_ns(options_.duration);
}

void Runner::end_measure() {
    if (phase_ != Phase::measuring) return;
    measure_end_ = now_ns();
    if (options_.server_pid > 0) {
        server_cpu_end_ = cpu_seconds_of(server_pids());
        rss_end_ = process_rss_kib(options_.server_pid);
    }
    if (!options_.beside_pids.empty()) beside_cpu_end_ = cpu_seconds_of(options_.beside_pids);
    self_cpu_end_ = self_cpu_seconds();
    begin_stop(true);
}

void Runner::begin_stop(bool graceful) {
    if (stopping()) return;
    phase_ = Phase::stopping;
    phase_deadline_ = now_ns() + stop_timeout_ns;
    pending_connects_.clear();
    if (scenario_) scenario_->stop();
    for (auto& client : clients_) {
        if (graceful) client->close(1000, close_timeout_ns);
        else client->abort("");
    }
}

std::vector<pid_t> Runner::server_pids() const {
    std::vector<pid_t> pids{options_.server_pid};
    pids.insert(pids.end(), options_.more_server_pids.begin(), options_.more_server_pids.end());
    return pids;
}

std::optional<double> Runner::cpu_seconds_of(const std::vector<pid_t>& pids) {
    double sum = 0;
    for (pid_t pid : pids) {
        const std::optional<double> cpu = process_cpu_seconds(pid);
        if (!cpu) return std::nullopt;
        sum += *cpu;
    }
    return sum;
}

void Runner::finish() {
    phase_ = Phase::done;
    uv_timer_stop(&timer_);
    uv_close(reinterpret_cast<uv_handle_t*>(&timer_), nullptr);
    context_.close();
}

void Runner::report() const {
    const double seconds = static_cast<double>(measure_end_ - measure_start_) / 1e9;
    const double rate = seconds > 0 ? static_cast<double>(messages_) / seconds : 0.0;
    const std::size_t conns = scenario_->connections();

    nlohmann::ordered_json params = nlohmann::ordered_json::object();
    scenario_->describe(params);

    nlohmann::ordered_json line;
    line["scenario"] = options_.scenario;
    if (!options_.label.empty()) line["label"] = options_.label;
    line["ok"] = true;
    line["params"] = params;
    line["unit"] = scenario_->unit();
    line["connect_s"] = round_to(connect_seconds_, 3);
    line["warmup_s"] = round_to(warmup_seconds_, 3);
    line["duration_s"] = round_to(seconds, 3);
    line["messages"] = messages_;
    line["msgs_per_s"] = round_to(rate, 1);
    std::optional<double> server_cpu;
    if (server_cpu_start_ && server_cpu_end_) server_cpu = *server_cpu_end_ - *server_cpu_start_;
    line["server_cpu_s"] = server_cpu ? nlohmann::ordered_json(round_to(*server_cpu, 3)) : nlohmann::ordered_json(nullptr);
    line["server_cpu_util"] =
        server_cpu && seconds > 0 ? nlohmann::ordered_json(round_to(*server_cpu / seconds, 3)) : nlohmann::ordered_json(nullptr);
    line["server_cpu_s_per_msg"] =
        server_cpu && messages_ > 0 ? nlohmann::ordered_json(*server_cpu / static_cast<double>(messages_)) : nlohmann::ordered_json(nullptr);
    const double client_cpu = self_cpu_end_ - self_cpu_start_;
    line["client_cpu_s"] = round_to(client_cpu, 3);
    auto percentiles = [](const Histogram& h) {
        if (h.count() == 0) return nlohmann::ordered_json(nullptr);
        auto us = [](std::uint64_t ns) { return round_to(static_cast<double>(ns) / 1e3, 1); };
        return nlohmann::ordered_json{{"samples", h.count()},     {"p50", us(h.quantile(0.5))},
                                      {"p99", us(h.quantile(0.99))}, {"p999", us(h.quantile(0.999))},
                                      {"max", us(h.max())},         {"mean", round_to(h.mean() / 1e3, 1)}};
    };
    line["latency_us"] = percentiles(latency_);
    if (!options_.more_ports.empty()) {
        std::vector<std::uint16_t> ports{options_.port};
        ports.insert(ports.end(), options_.more_ports.begin(), options_.more_ports.end());
        std::sort(ports.begin(), ports.end());
        line["nodes"] = std::unique(ports.begin(), ports.end()) - ports.begin();
        line["local_latency_us"] = percentiles(local_latency_);
        line["remote_latency_us"] = percentiles(remote_latency_);
    }
    if (beside_cpu_start_ && beside_cpu_end_) line["beside_cpu_s"] = round_to(*beside_cpu_end_ - *beside_cpu_start_, 3);
    auto opt = [](const std::optional<std::uint64_t>& v) { return v ? nlohmann::ordered_json(*v) : nlohmann::ordered_json(nullptr); };
    line["server_rss_kib"] = {{"before", opt(rss_before_)}, {"connected", opt(rss_connected_)}, {"end", opt(rss_end_)}};
    std::optional<double> per_conn;
    if (rss_before_ && rss_connected_ && conns > 0) {
        per_conn = (static_cast<double>(*rss_connected_) - static_cast<double>(*rss_before_)) * 1024.0 /
                   static_cast<double>(conns);
    }
    line["connections"] = conns;
    line["rss_per_conn_bytes"] = per_conn ? nlohmann::ordered_json(std::llround(*per_conn)) : nlohmann::ordered_json(nullptr);
    line["close_problems"] = close_problems_;
    scenario_->add_results(line, seconds);

    if (options_.format != "json") {
        std::ostringstream out;
        char buf[256];
        out << "kreuz-bench " << options_.scenario << ": " << params.dump() << "\n";
        std::snprintf(buf, sizeof buf, "  measured        %.2f s after %.1f s warm-up (connecting took %.2f s)\n",
                      seconds, warmup_seconds_, connect_seconds_);
        out << buf;
        if (options_.scenario != "idle") {
            std::snprintf(buf, sizeof buf, "  throughput      %.0f %s/s (%llu in %.2f s)\n", rate, scenario_->unit(),
                          static_cast<unsigned long long>(messages_), seconds);
            out << buf;
        }
        if (line.contains("published_per_s")) {
            std::snprintf(buf, sizeof buf, "  published       %.0f/s\n", line["published_per_s"].get<double>());
            out << buf;
        }
        if (latency_.count() > 0) {
            out << "  latency         p50 " << format_ns(latency_.quantile(0.5)) << ", p99 "
                << format_ns(latency_.quantile(0.99)) << ", p99.9 " << format_ns(latency_.quantile(0.999))
                << ", max " << format_ns(latency_.max()) << " (" << latency_.count() << " samples)\n";
        }
        if (server_cpu) {
            std::snprintf(buf, sizeof buf, "  server CPU      %.2f s in %.2f s (%.0f %%)", *server_cpu, seconds,
                          seconds > 0 ? 100.0 * *server_cpu / seconds : 0.0);
            out << buf;
            if (messages_ > 0) {
                std::snprintf(buf, sizeof buf, ", %.2f us per %s", 1e6 * *server_cpu / static_cast<double>(messages_),
                              scenario_->unit());
                out << buf;
            }
            out << "\n";
        } else {
            out << "  server CPU      not measured (no --server-pid)\n";
        }
        std::snprintf(buf, sizeof buf, "  client CPU      %.2f s (%.0f %%)\n", client_cpu,
                      seconds > 0 ? 100.0 * client_cpu / seconds : 0.0);
        out << buf;
        if (rss_before_) {
            out << "  server RSS      " << format_kib(*rss_before_) << " before";
            if (rss_connected_) out << ", " << format_kib(*rss_connected_) << " connected";
            if (rss_end_) out << ", " << format_kib(*rss_end_) << " at the end";
            if (per_conn) {
                std::snprintf(buf, sizeof buf, "; %.1f KiB per connection (%zu connections)", *per_conn / 1024.0,
                              conns);
                out << buf;
            }
            out << "\n";
        }
        if (close_problems_ > 0) {
            out << "  warning         " << close_problems_ << " connection(s) did not close cleanly, first: "
                << first_close_problem_ << "\n";
        }
        std::cout << out.str();
    }
    if (options_.format != "text") std::cout << line.dump() << std::endl;
}

}  // namespace kreuz::bench
