// kreuz: command line, configuration, logging, signals, and the event loop.
#include <algorithm>
#include <csignal>
#include <pthread.h>
#include <sys/resource.h>
#include <cstdio>
#include <exception>
#include <functional>
#include <iostream>
#include <iterator>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <curl/curl.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <uv.h>

#include "config/config.h"
#include "config/cross_checks.h"
#include "config/loader.h"
#include "config/option_limits.h"
#include "config/reload.h"
#include "app/json_log.h"
#include "app/node.h"
#include "websocket/server.h"

namespace {

using kreuz::config::Config;

// Command-line values are applied over the loaded configuration, and only
// those the user actually gave: each option remembers how to apply itself.
class Overrides {
public:
    template <class T, class Apply>
    void add(CLI::App& app, const std::string& name, const std::string& help, Apply apply) {
        auto value = std::make_shared<T>();
        CLI::Option* option = app.add_option(name, *value, help);
        appliers_.push_back([option, value, apply](Config& config) {
            if (option->count() > 0) apply(config, *value);
        });
        last_ = option;
    }
    CLI::Option* last() const { return last_; }
    void apply(Config& config) const {
        for (const auto& a : appliers_) a(config);
    }

private:
    std::vector<std::function<void(Config&)>> appliers_;
    CLI::Option* last_ = nullptr;
};

// An option takes its choices and its least value from config/option_limits.h,
// as the YAML loader does, so that the two cannot accept different values.
CLI::IsMember one_of(std::span<const std::string_view> choices) {
    return CLI::IsMember(std::vector<std::string>(choices.begin(), choices.end()));
}

template <class T>
void refuse_zero_unless(bool zero_allowed, CLI::Option* option) {
    if (!zero_allowed) option->check(CLI::Range(T{1}, std::numeric_limits<T>::max()).description("at least 1"));
}

kreuz::ws::ListenOptions& first_listener(Config& c) {
    if (c.listeners.empty()) c.listeners.emplace_back();
    return c.listeners.front();
}

void add_overrides(CLI::App& app, Overrides& o) {
    using Ms = std::uint32_t;
    namespace zero_allowed = kreuz::config::zero_allowed;
    o.add<std::string>(app, "--host", "Address to listen on (replaces the first listener's)",
                       [](Config& c, const std::string& v) { first_listener(c).host = v; });
    o.add<std::uint16_t>(app, "--port", "TCP port to listen on, 0 for any free one (replaces the first listener's)",
                         [](Config& c, std::uint16_t v) { first_listener(c).port = v; });
    o.add<std::string>(app, "--echo-path", "Serve a plain WebSocket echo endpoint at this path (conformance testing)",
                       [](Config& c, const std::string& v) { c.echo_path = v; });
    o.add<std::string>(app, "--log-level", kreuz::config::either(kreuz::config::log_levels),
                       [](Config& c, const std::string& v) { c.log.level = v; });
    o.last()->check(one_of(kreuz::config::log_levels));
    o.add<std::string>(app, "--log-format",
                       kreuz::config::either(kreuz::config::log_formats) + " (one JSON object per line)",
                       [](Config& c, const std::string& v) { c.log.json = v == "json"; });
    o.last()->check(one_of(kreuz::config::log_formats));
    o.add<std::string>(app, "--shutdown-mode",
                       "On SIGTERM: close (Close 1001 to every peer) or drop (end TCP without a Close, so "
                       "AutobahnJS 0.8 clients reconnect)",
                       [](Config& c, const std::string& v) { c.websocket.shutdown_drop = v == "drop"; });
    o.last()->check(one_of(kreuz::config::shutdown_modes));
    o.add<std::size_t>(app, "--max-message-size", "Largest message accepted, in bytes",
                       [](Config& c, std::size_t v) { c.websocket.max_message_size = v; });
    refuse_zero_unless<std::size_t>(zero_allowed::max_message_size, o.last());
    o.add<Ms>(app, "--ping-interval-ms", "Ping a silent peer after this long (0: never)",
              [](Config& c, Ms v) { c.websocket.ping_interval_ms = v; });
    refuse_zero_unless<Ms>(zero_allowed::ping_interval, o.last());
    o.add<Ms>(app, "--pong-timeout-ms", "Drop a peer that stays silent this long after a ping",
              [](Config& c, Ms v) { c.websocket.pong_timeout_ms = v; });
    refuse_zero_unless<Ms>(zero_allowed::pong_timeout, o.last());
    o.add<Ms>(app, "--handshake-timeout-ms", "Time allowed for the opening handshake",
              [](Config& c, Ms v) { c.websocket.handshake_timeout_ms = v; });
    refuse_zero_unless<Ms>(zero_allowed::handshake_timeout, o.last());
    o.add<Ms>(app, "--close-timeout-ms", "Time allowed for the closing handshake",
              [](Config& c, Ms v) { c.websocket.close_timeout_ms = v; });
    refuse_zero_unless<Ms>(zero_allowed::close_timeout, o.last());
    o.add<Ms>(app, "--idle-timeout-ms", "Close a connection with no message for this long (0: off)",
              [](Config& c, Ms v) { c.websocket.idle_timeout_ms = v; });
    refuse_zero_unless<Ms>(zero_allowed::idle_timeout, o.last());
    o.add<std::size_t>(app, "--write-high-water", "Queued bytes above which reading pauses and the slow-consumer clock runs",
                       [](Config& c, std::size_t v) { c.websocket.write_high_water = v; });
    refuse_zero_unless<std::size_t>(zero_allowed::write_high_water, o.last());
    o.add<std::size_t>(app, "--write-queue-limit", "Queued bytes that close a connection at once (1008)",
                       [](Config& c, std::size_t v) { c.websocket.write_queue_limit = v; });
    refuse_zero_unless<std::size_t>(zero_allowed::write_queue_limit, o.last());
    o.add<std::size_t>(app, "--max-connections", "Open connections in total (0: no limit)",
                       [](Config& c, std::size_t v) { c.websocket.max_connections = v; });
    refuse_zero_unless<std::size_t>(zero_allowed::max_connections, o.last());
    o.add<std::size_t>(app, "--max-connections-per-ip", "Open connections per client address (0: no limit)",
                       [](Config& c, std::size_t v) { c.websocket.max_connections_per_ip = v; });
    refuse_zero_unless<std::size_t>(zero_allowed::max_connections_per_ip, o.last());
    o.add<std::size_t>(app, "--max-handshakes", "Connections in the opening handshake at once (0: no limit)",
                       [](Config& c, std::size_t v) { c.websocket.max_handshakes = v; });
    refuse_zero_unless<std::size_t>(zero_allowed::max_handshakes, o.last());
    o.add<std::uint32_t>(app, "--message-rate", "Messages per second per connection (0: no limit)",
                         [](Config& c, std::uint32_t v) { c.websocket.message_rate = v; });
    refuse_zero_unless<std::uint32_t>(zero_allowed::message_rate, o.last());
    o.add<std::size_t>(app, "--message-burst", "Messages a connection may send at once after a quiet spell",
                       [](Config& c, std::size_t v) { c.websocket.message_burst = v; });
    refuse_zero_unless<std::size_t>(zero_allowed::message_burst, o.last());
    o.add<Ms>(app, "--slow-consumer-timeout-ms", "Close a connection that stays above the high-water mark this long (1008)",
              [](Config& c, Ms v) { c.websocket.slow_consumer_timeout_ms = v; });
    refuse_zero_unless<Ms>(zero_allowed::slow_consumer_timeout, o.last());
}

// libcurl's global state, set up before the router exists and torn down after
// it is gone (curl_global_init must precede every other curl call).
class CurlGlobal {
public:
    CurlGlobal() : ok_(curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK) {}
    ~CurlGlobal() {
        if (ok_) curl_global_cleanup();
    }
    CurlGlobal(const CurlGlobal&) = delete;
    CurlGlobal& operator=(const CurlGlobal&) = delete;
    bool ok() const { return ok_; }

private:
    bool ok_;
};

// The configuration as it runs: the file (or the embedded default), then the
// command line over it, then the consistency check. Throws ConfigError, or
// returns the problem the command line caused in `problem`.
struct ConfigSource {
    std::string file;  // empty: the embedded default
    const Overrides& overrides;
    bool no_deflate;

    Config load(std::string& problem) const {
        Config config = file.empty()
            ? kreuz::config::parse_config(kreuz::config::default_config_yaml(), "<embedded default>")
            : kreuz::config::load_config_file(file);
        overrides.apply(config);
        if (no_deflate) config.websocket.deflate.enabled = false;
        problem = kreuz::config::inconsistency(config);
        return config;
    }
};

// What the signals act on.
// A connection costs a file descriptor, and the soft limit (often 1024) is
// far below what max_connections promises: raise it toward what is needed,
// as far as the hard limit allows, and say so when that is not enough.
// Connections past the limit are refused with 503 by the Server.
void fit_descriptor_limit(std::size_t max_connections) {
    constexpr rlim_t spare = 64;  // listeners, log, backends, the Server's reserve descriptor
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
    const rlim_t wanted = max_connections == 0 ? limit.rlim_max : static_cast<rlim_t>(max_connections) + spare;
    if (limit.rlim_cur < wanted) {
        rlimit raised = limit;
        raised.rlim_cur = std::min(wanted, limit.rlim_max);
        if (setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
    }
    if (max_connections != 0 && limit.rlim_cur < wanted) {
        spdlog::warn("websocket.max_connections is {}, but the file-descriptor limit of {} allows about {}; "
                     "connections beyond it are refused with 503 (raise it with ulimit -n or LimitNOFILE)",
                     max_connections, static_cast<unsigned long long>(limit.rlim_cur),
                     static_cast<unsigned long long>(limit.rlim_cur > spare ? limit.rlim_cur - spare : 0));
    }
}

struct Daemon {
    kreuz::ws::Server& server;
    kreuz::app::Node& node;
    Config& config;
    const ConfigSource& source;
};

// SIGHUP: the file is read again and, when it is valid and reloadable, taken
// over by the running router; otherwise the error is logged and the running
// configuration stays as it was. The TLS files are read again either way.
void reload(Daemon& daemon) {
    const std::string& file = daemon.source.file;
    spdlog::info("received SIGHUP, reloading {}", file.empty() ? "the TLS certificates" : file);
    if (!file.empty()) {
        std::string problem;
        Config next;
        try {
            next = daemon.source.load(problem);
        } catch (const kreuz::config::ConfigError& e) {
            problem = e.what();
        }
        if (problem.empty()) {
            if (const std::string change = kreuz::config::restart_required(daemon.config, next); !change.empty()) {
                problem = file + ": " + change + ", which takes a restart";
            }
        }
        if (!problem.empty()) {
            spdlog::error("reload refused, the running configuration stays: {}", problem);
        } else {
            daemon.node.reload(next);
            spdlog::set_level(spdlog::level::from_str(next.log.level));
            daemon.config = std::move(next);
            spdlog::info("configuration reloaded from {}", file);
        }
    }
    daemon.server.reload_tls();
}

void start_signal_handling(uv_loop_t* loop, Daemon& daemon, uv_signal_t (&handles)[3]) {
    auto on_signal = [](uv_signal_t* handle, int signum) {
        auto* stopping = static_cast<Daemon*>(handle->data);
        spdlog::info("received {}, shutting down", signum == SIGINT ? "SIGINT" : "SIGTERM");
        // First, so that calls waiting for a backend are answered before
        // their sessions get the Close.
        stopping->node.shutdown();
        stopping->server.shutdown([loop = handle->loop] {
            // With the server's handles gone, closing the signal handles lets uv_run return.
            uv_walk(loop, [](uv_handle_t* h, void*) {
                if (h->type == UV_SIGNAL && !uv_is_closing(h)) uv_close(h, nullptr);
            }, nullptr);
        });
    };
    const int signums[2] = {SIGINT, SIGTERM};
    for (int i = 0; i < 2; ++i) {
        uv_signal_init(loop, &handles[i]);
        handles[i].data = &daemon;
        uv_signal_start(&handles[i], on_signal, signums[i]);
    }
    uv_signal_init(loop, &handles[2]);
    handles[2].data = &daemon;
    uv_signal_start(&handles[2], [](uv_signal_t* handle, int) { reload(*static_cast<Daemon*>(handle->data)); },
                    SIGHUP);
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"kreuz: a WAMP v1 router"};
    app.set_version_flag("--version", std::string("kreuz ") + KREUZ_VERSION);
    std::string config_file;
    std::string check_file;
    bool no_deflate = false;
    app.add_option("-c,--config", config_file, "YAML configuration file (default: the embedded configuration)")
        ->check(CLI::ExistingFile);
    app.add_option("--check-config", check_file, "Validate a configuration file and exit 0 (valid) or 1");
    app.add_flag("--no-deflate", no_deflate, "Decline permessage-deflate offers");
    Overrides overrides;
    add_overrides(app, overrides);
    CLI11_PARSE(app, argc, argv);

    if (!check_file.empty()) {
        try {
            kreuz::config::load_config_file(check_file);
            std::cout << check_file << ": configuration is valid\n";
            return 0;
        } catch (const kreuz::config::ConfigError& e) {
            std::cerr << e.what() << "\n";
            return 1;
        }
    }

    // Until the loop's handlers are installed, the signals an operator or a
    // supervisor sends (a reload, a stop) wait instead of taking their default
    // action: a SIGHUP during a slow start (key derivation of many users)
    // would otherwise end the process with status 129 and no log line.
    sigset_t startup_signals;
    sigemptyset(&startup_signals);
    for (int signum : {SIGHUP, SIGINT, SIGTERM}) sigaddset(&startup_signals, signum);
    pthread_sigmask(SIG_BLOCK, &startup_signals, nullptr);

    const ConfigSource source{config_file, overrides, no_deflate};
    Config config;
    try {
        std::string problem;
        config = source.load(problem);
        if (!problem.empty()) {
            std::cerr << "command line: " << problem << "\n";
            return 1;
        }
    } catch (const kreuz::config::ConfigError& e) {
        std::cerr << e.what() << "\n";
        return 1;
    }

    auto logger = spdlog::stderr_color_mt("kreuz");
    spdlog::set_default_logger(logger);
    if (config.log.json) {
        kreuz::app::use_json_log_format(*logger);
    } else {
        spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
    }
    spdlog::set_level(spdlog::level::from_str(config.log.level));

    fit_descriptor_limit(config.websocket.max_connections);

    // A peer that vanishes mid-write must give EPIPE, not kill the process.
    std::signal(SIGPIPE, SIG_IGN);

    const CurlGlobal curl;
    if (!curl.ok()) {
        spdlog::critical("libcurl could not be initialized");
        return 1;
    }
    uv_loop_t* loop = uv_default_loop();
    kreuz::ws::Server server(loop, config.websocket);
    kreuz::app::Node node(config, server);
    // Installed before the first listener opens, so that a client can never
    // reach a process that a signal would still kill; the signals that came
    // during the start are delivered now and handled once the loop runs.
    uv_signal_t signals[3];
    Daemon daemon{server, node, config, source};
    start_signal_handling(loop, daemon, signals);
    pthread_sigmask(SIG_UNBLOCK, &startup_signals, nullptr);
    try {
        for (const auto& listen : config.listeners) {
            const auto port = server.listen(listen);
            spdlog::info("{} listening on {}:{}{}", kreuz::app::server_ident(), listen.host, port,
                         listen.tls ? " (TLS)" : "");
        }
    } catch (const std::exception& e) {
        spdlog::critical("{}", e.what());
        for (uv_signal_t& handle : signals) uv_close(reinterpret_cast<uv_handle_t*>(&handle), nullptr);
        node.shutdown();  // a cluster node's link to Redis would keep the loop alive
        server.shutdown({});
        uv_run(loop, UV_RUN_DEFAULT);
        return 1;
    }
    uv_run(loop, UV_RUN_DEFAULT);
    uv_loop_close(loop);
    spdlog::info("stopped");
    return 0;
}
