// kreuz: command line, logging, signals, and the event loop.
#include <csignal>
#include <cstdio>
#include <exception>
#include <string>

#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <uv.h>

#include "config/config.h"
#include "websocket/echo.h"
#include "websocket/server.h"

namespace {

using kreuz::config::Config;

void add_options(CLI::App& app, Config& config) {
    auto& ws = config.websocket;
    app.add_option("--host", config.listen.host, "Address to listen on")->capture_default_str();
    app.add_option("--port", config.listen.port, "TCP port to listen on (0: any free port)")->capture_default_str();
    app.add_option("--echo-path", config.echo_path,
                   "Serve a plain WebSocket echo endpoint at this path (conformance testing)");
    app.add_option("--log-level", config.log_level, "trace, debug, info, warn, error, critical or off")
        ->capture_default_str()
        ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
    app.add_option("--max-message-size", ws.max_message_size, "Largest message accepted, in bytes")
        ->capture_default_str()
        ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 40));
    app.add_option("--ping-interval-ms", ws.ping_interval_ms, "Ping a silent peer after this long (0: never)")
        ->capture_default_str();
    app.add_option("--pong-timeout-ms", ws.pong_timeout_ms, "Drop a peer that stays silent this long after a ping")
        ->capture_default_str();
    app.add_option("--handshake-timeout-ms", ws.handshake_timeout_ms, "Time allowed for the opening handshake")
        ->capture_default_str();
    app.add_option("--close-timeout-ms", ws.close_timeout_ms, "Time allowed for the closing handshake")
        ->capture_default_str();
    app.add_option("--idle-timeout-ms", ws.idle_timeout_ms, "Close a connection with no message for this long (0: off)")
        ->capture_default_str();
    app.add_option("--write-high-water", ws.write_high_water,
                   "Queued bytes above which reading pauses and the slow-consumer clock runs")
        ->capture_default_str();
    app.add_option("--write-queue-limit", ws.write_queue_limit, "Queued bytes that close a connection at once (1008)")
        ->capture_default_str();
    app.add_option("--slow-consumer-timeout-ms", ws.slow_consumer_timeout_ms,
                   "Close a connection that stays above the high-water mark this long (1008)")
        ->capture_default_str();
    app.add_flag("--no-deflate", [&ws](std::int64_t) { ws.deflate.enabled = false; },
                 "Decline permessage-deflate offers");
}

struct Signals {
    uv_signal_t sigint{};
    uv_signal_t sigterm{};
};

}  // namespace

int main(int argc, char** argv) {
    Config config;
    CLI::App app{"kreuz: a WAMP v1 router"};
    app.set_version_flag("--version", std::string("kreuz ") + KREUZ_VERSION);
    add_options(app, config);
    CLI11_PARSE(app, argc, argv);

    auto logger = spdlog::stderr_color_mt("kreuz");
    spdlog::set_default_logger(logger);
    spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
    spdlog::set_level(spdlog::level::from_str(config.log_level));

    // A peer that vanishes mid-write must give EPIPE, not kill the process.
    std::signal(SIGPIPE, SIG_IGN);

    uv_loop_t* loop = uv_default_loop();
    kreuz::ws::Server server(loop, config.websocket);
    if (!config.echo_path.empty()) {
        server.add_endpoint(kreuz::ws::echo_endpoint(config.echo_path, config.websocket.deflate));
        spdlog::info("echo endpoint at {}", config.echo_path);
    }
    try {
        const auto port = server.listen(config.listen);
        spdlog::info("kreuz {} listening on {}:{}", KREUZ_VERSION, config.listen.host, port);
    } catch (const std::exception& e) {
        spdlog::critical("{}", e.what());
        server.shutdown({});
        uv_run(loop, UV_RUN_DEFAULT);
        return 1;
    }

    Signals signals;
    auto on_signal = [](uv_signal_t* handle, int signum) {
        auto* srv = static_cast<kreuz::ws::Server*>(handle->data);
        spdlog::info("received {}, shutting down", signum == SIGINT ? "SIGINT" : "SIGTERM");
        srv->shutdown([loop = handle->loop] {
            // Closing the signal handles lets uv_run return.
            uv_walk(loop, [](uv_handle_t* h, void*) {
                if (h->type == UV_SIGNAL && !uv_is_closing(h)) uv_close(h, nullptr);
            }, nullptr);
        });
    };
    for (auto [handle, signum] : {std::pair{&signals.sigint, SIGINT}, std::pair{&signals.sigterm, SIGTERM}}) {
        uv_signal_init(loop, handle);
        handle->data = &server;
        uv_signal_start(handle, on_signal, signum);
    }

    uv_run(loop, UV_RUN_DEFAULT);
    uv_loop_close(loop);
    spdlog::info("stopped");
    return 0;
}
