// kreuz-bench: a load generator for kreuz (and any WebSocket echo server or
// WAMP v1 router). One process, one libuv loop, one scenario per run.
#include <arpa/inet.h>
#include <sys/resource.h>
#include <uv.h>

#include <csignal>
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>

#include "bench/runner.h"

namespace {

using kreuz::bench::Options;

// Only loopback: a load generator must never be pointed at another machine
// by accident.
bool is_loopback(const std::string& host) {
    in_addr address{};
    if (inet_pton(AF_INET, host.c_str(), &address) != 1) return false;
    return (ntohl(address.s_addr) >> 24) == 127;
}

// Raises the soft limit on open files to the hard limit; returns the limit.
rlim_t raise_fd_limit() {
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return 0;
    if (limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        setrlimit(RLIMIT_NOFILE, &limit);
        getrlimit(RLIMIT_NOFILE, &limit);
    }
    return limit.rlim_cur;
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    CLI::App app{
        "kreuz-bench: load generator for kreuz. Runs one scenario against a server on the loopback\n"
        "interface and reports messages/s, latency percentiles and (with --server-pid) the server's\n"
        "CPU seconds per message and RSS. Output: a human-readable report and one JSON line.\n\n"
        "Scenarios:\n"
        "  echo    N connections to a WebSocket echo endpoint, K messages in flight each, S bytes\n"
        "  rpc     N WAMP sessions CALLing the echo procedure, K calls in flight each (closed loop)\n"
        "          or --rate R calls/s in all (open loop)\n"
        "  routed  1 session registers --procedure and answers each CALL; N sessions call it, K calls\n"
        "          in flight each (routed RPC; across nodes with --more-ports)\n"
        "  fanout  1 publisher -> N subscribers on one topic; --rate R (open loop) or a window of W\n"
        "          publications not yet received by every subscriber (closed loop, the default)\n"
        "  chat    N sessions publishing to one shared topic with excludeMe=false; K own publications\n"
        "          in flight each (closed loop) or --rate R per session (open loop)\n"
        "  idle    N open sessions doing nothing (server memory per connection)\n"
        "  churn   C loops of: connect, WELCOME, one CALL, close"};
    app.add_option("scenario", o.scenario, "echo, rpc, routed, fanout, chat, idle or churn")
        ->required()
        ->check(CLI::IsMember({"echo", "rpc", "routed", "fanout", "chat", "idle", "churn"}));
    app.add_option("-p,--port", o.port, "Port of the server under test")->required()->check(CLI::Range(1, 65535));
    app.add_option("--host", o.host, "IPv4 loopback address of the server")->capture_default_str();
    app.add_option("--path", o.path, "Request path (default: /echo for echo, /ws otherwise)");
    app.add_option("-n,--connections", o.connections,
                   "N: connections, sessions or subscribers (default: echo/rpc 16, fanout 100, chat 20, idle 1000)");
    app.add_option("-k,--inflight", o.inflight, "K: messages or calls in flight per connection (default 16; chat 4)")
        ->check(CLI::Range(std::size_t{1}, std::size_t{1'000'000}));
    app.add_option("-s,--size", o.size, "S: payload bytes (echo message, call argument, event), at least 32")
        ->capture_default_str()
        ->check(CLI::Range(kreuz::bench::stamp_size, std::size_t{16} << 20));
    app.add_option("-r,--rate", o.rate, "R: publications per second (fanout; chat: per session), calls per second (rpc); 0 = closed loop")
        ->capture_default_str()
        ->check(CLI::Range(0.0, 10'000'000.0));
    app.add_option("-w,--window", o.window, "W: fanout closed-loop window")
        ->capture_default_str()
        ->check(CLI::Range(std::size_t{1}, std::size_t{1'000'000}));
    app.add_option("-c,--concurrency", o.concurrency, "C: concurrent churn loops")
        ->capture_default_str()
        ->check(CLI::Range(std::size_t{1}, std::size_t{10'000}));
    app.add_option("--warmup", o.warmup, "Seconds of traffic before the measurement (excluded)")
        ->capture_default_str()
        ->check(CLI::Range(0.0, 3600.0));
    app.add_option("-d,--duration", o.duration, "Seconds measured")
        ->capture_default_str()
        ->check(CLI::Range(0.01, 3600.0));
    app.add_option("--max-messages", o.max_messages, "The measurement (and the warm-up) also ends after this many")
        ->capture_default_str()
        ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1} << 40));
    app.add_option("--server-pid", o.server_pid, "PID of the server, for CPU time and RSS from /proc")
        ->check(CLI::Range(1, 1 << 30));
    app.add_option("--more-ports", o.more_ports,
                   "Further nodes of a cluster: connection i goes to the (i mod nodes)-th of --port and these, "
                   "and latencies are also reported apart for the publisher's node and the others")
        ->check(CLI::Range(1, 65535));
    app.add_option("--more-server-pids", o.more_server_pids, "PIDs of the further nodes; their CPU is summed")
        ->check(CLI::Range(1, 1 << 30));
    app.add_option("--beside-pids", o.beside_pids, "PIDs whose CPU is reported beside the servers' (Redis)")
        ->check(CLI::Range(1, 1 << 30));
    app.add_option("--connect-timeout", o.connect_timeout, "Seconds allowed to connect all sessions")
        ->capture_default_str()
        ->check(CLI::Range(0.1, 3600.0));
    app.add_option("--connect-concurrency", o.connect_concurrency, "Opening handshakes run at once")
        ->capture_default_str()
        ->check(CLI::Range(std::size_t{1}, std::size_t{100'000}));
    app.add_option("--topic", o.topic, "Topic URI of fanout and chat")->capture_default_str();
    app.add_option("--procedure", o.procedure, "Procedure URI of rpc and churn")->capture_default_str();
    app.add_flag("--binary", o.binary, "echo: send binary frames instead of text");
    app.add_option("--format", o.format, "text, json or both")
        ->capture_default_str()
        ->check(CLI::IsMember({"text", "json", "both"}));
    app.add_option("--label", o.label, "A name copied into the JSON line");

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    }

    if (o.host == "localhost") o.host = "127.0.0.1";
    if (!is_loopback(o.host)) {
        std::cerr << "kreuz-bench: error: --host must be an IPv4 loopback address (127.x.x.x), not " << o.host
                  << std::endl;
        return 1;
    }
    if (!o.path.empty() && o.path.front() != '/') {
        std::cerr << "kreuz-bench: error: --path must start with /" << std::endl;
        return 1;
    }
    o.resolve_defaults();

    const std::size_t sockets =
        o.scenario == "churn" ? o.concurrency : o.connections + (o.scenario == "fanout" ? 1 : 0);
    const rlim_t limit = raise_fd_limit();
    if (limit != 0 && limit != RLIM_INFINITY && sockets + 32 > limit) {
        std::cerr << "kreuz-bench: error: " << sockets << " connections need more open files than the limit of "
                  << limit << " (raise it with ulimit -n)" << std::endl;
        return 1;
    }

    std::signal(SIGPIPE, SIG_IGN);
    uv_loop_t loop;
    uv_loop_init(&loop);
    int code;
    {
        kreuz::bench::Runner runner(&loop, o);
        code = runner.run();
    }
    uv_run(&loop, UV_RUN_DEFAULT);  // any close callbacks still due
    if (uv_loop_close(&loop) != 0 && code == 0) {
        std::cerr << "kreuz-bench: warning: handles were still open at exit" << std::endl;
    }
    return code;
}
