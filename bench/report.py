#!/usr/bin/env python3
"""Writes BENCHMARKS.md from what bench/run.sh collected.

usage: report.py META COMMANDS RESULTS [CALLGRIND [BYSTANDER [ATTACK [CLUSTER]]]] > BENCHMARKS.md
  META      key=value lines (date, nproc, cpu, kernel, peer states, versions, ...)
  COMMANDS  name<TAB>system<TAB>server command<TAB>kreuz-bench command, one run a line
  RESULTS   the JSON line of each kreuz-bench run, with "system" added
  CALLGRIND the JSON lines of bench/callgrind.py
  BYSTANDER the JSON lines of bench/bystander.py
  ATTACK    the JSON line of bench/attack.py
  CLUSTER   the JSON lines of bench/cluster.py
"""
import json
import sys

REFERENCE = "kreuz"

SECTIONS = [
    ("echo", "echo: WebSocket echo",
     "N connections to the server's plain echo endpoint (`/echo`; kreuz's `--echo-path`), closed loop "
     "with K text messages of S bytes in flight per connection. K=1 measures one round trip through the "
     "event loop at a time; K=16 lets writes batch. One message = one echo received back."),
    ("rpc", "rpc: WAMP CALL to an echo procedure",
     "N WAMP sessions, each with K CALLs to `http://api.wamp.ws/procedure#echo` in flight (built into "
     "kreuz; registered by the wamp.io server). One message = one CALLRESULT received."),
    ("fanout", "fanout: 1 publisher, N subscribers on one topic",
     "Closed loop: publication i+W leaves when every subscriber has received event i. Open loop: "
     "R publications/s, paced by a 1 ms timer (so they leave in small bursts); a load generator that "
     "falls behind shows as publications/s below R, a server that falls behind as events/s below "
     "N × R and growing latency. One message = one EVENT received by one subscriber."),
    ("chat", "chat: N sessions publishing to one shared topic",
     "Every session subscribes and publishes with excludeMe=false, keeping K of its own "
     "publications in flight (a publication is complete when it comes back to its publisher). "
     "One message = one EVENT received; each publication yields N of them."),
    ("idle", "idle: N open sessions doing nothing",
     "Server memory only: RSS before connecting, after all N sessions have their WELCOME, and the "
     "difference per connection. Server CPU is over the idle period."),
    ("churn", "churn: connect, WELCOME, one CALL, close",
     "C loops, each: TCP connect, WebSocket handshake, WELCOME, one echo CALL, closing handshake, "
     "repeat. One message = one complete session; latency is the whole cycle."),
]

UNITS = {"echo": "echoes/s", "rpc": "calls/s", "fanout": "events/s", "chat": "events/s", "churn": "sessions/s"}

# What each peer is and what was done to run it; versions come from META.
PEERS = {
    "node-ws": {
        "name": "Node ws",
        "scenarios": "echo",
        "what": lambda m: (f"`bench/peers/node-ws-echo.mjs`: an echo server on the npm package `ws` "
                           f"{m.get('npm.ws', '?')} (Node {m.get('node', '?')}), one process, "
                           "permessage-deflate off, every message sent back as it came."),
    },
    "websocketpp": {
        "name": "WebSocket++",
        "scenarios": "echo",
        "what": lambda m: (f"`bench/peers/wspp_echo.cpp`: an echo server on WebSocket++ "
                           f"(Debian libwebsocketpp-dev {m.get('deb.libwebsocketpp-dev', '?')}) over Boost.Asio "
                           f"(libboost-dev {m.get('deb.libboost-dev', '?')}), one thread, TCP_NODELAY, logging off, "
                           f"built by run.sh with `g++ {m.get('wspp_flags', '?')}` "
                           f"({m.get('wspp_compiler', '?')}). C++17: WebSocket++ 0.8.2 does not compile as C++20."),
    },
    "wamp.io": {
        "name": "wamp.io",
        "scenarios": "rpc, fanout, chat, idle, churn",
        "what": lambda m: (f"`bench/peers/wampio-server.js`: the npm package `wamp.io` {m.get('npm.wamp.io', '?')} "
                           f"(a WAMP v1 server for Node; an open broker) on `ws` {m.get('npm.ws-0.4', '?')}, the "
                           f"ws line its package.json names (`~0.4.25`), Node {m.get('node', '?')}. It registers "
                           "`http://api.wamp.ws/procedure#echo` (returns its argument) and `#ping` (returns null; "
                           "kreuz-bench calls it behind a SUBSCRIBE). Three adaptations for Node 20, none of "
                           "which changes wamp.io's messages: `process.EventEmitter`, which wamp.io inherits from "
                           "and Node no longer has, is set to `events.EventEmitter`; ws 0.4's native helpers are "
                           "not built (`npm ci --ignore-scripts`; ws uses its JavaScript fallbacks); and a send "
                           "to a socket that is no longer open is dropped instead of throwing, which in ws 0.4 "
                           "killed the process when a publication met a closing subscriber. kreuz-bench needed "
                           "no change for it: its WELCOME `[0, id, 1, \"wamp.io\"]`, the echoed `wamp` "
                           "subprotocol and its event format are what kreuz-bench reads, and the chat scenario "
                           "sends excludeMe=false explicitly (wamp.io, like WAMP v1, defaults to true)."),
    },
}


def load_meta(path):
    meta = {}
    with open(path) as f:
        for line in f:
            key, _, value = line.rstrip("\n").partition("=")
            meta[key] = value
    return meta


def load_commands(path):
    commands = []
    with open(path) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) == 4:
                commands.append(parts)
    return commands


def load_results(path):
    results = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                try:
                    results.append(json.loads(line))
                except json.JSONDecodeError:
                    pass
    return results


def num(value, fmt="{:,.0f}"):
    return "–" if value is None else fmt.format(value)


def lat(result, key):
    latency = result.get("latency_us")
    if not latency:
        return "–"
    us = latency[key]
    return f"{us / 1000:.2f} ms" if us >= 1000 else f"{us:.0f} µs"


def cpu_per_msg(result):
    value = result.get("server_cpu_s_per_msg")
    return "–" if value is None else f"{value * 1e6:.2f} µs"


def util(value):
    return "–" if value is None else f"{value * 100:.0f} %"


def client_util(result):
    duration = result.get("duration_s") or 0
    return "–" if not duration else f"{result['client_cpu_s'] / duration * 100:.0f} %"


def mib(kib):
    return "–" if kib is None else f"{kib / 1024:.1f} MiB"


def ratio(a, b):
    """a / b as text, or – when either is missing or b is 0."""
    if a is None or b is None or b == 0:
        return "–"
    r = a / b
    if r >= 10:
        return f"{r:.0f}×"
    if r >= 1:
        return f"{r:.1f}×"
    return f"{r:#.2g}×"  # two significant digits: 0.054×, 0.60×


def system_name(system):
    return PEERS.get(system, {}).get("name", system)


def params(result):
    p = result.get("params", {})
    short = {"connections": "N", "sessions": "N", "subscribers": "N", "inflight": "K", "size": "S",
             "window": "W", "rate": "R", "rate_per_session": "R", "concurrency": "C"}
    order = ["mode", "connections", "sessions", "subscribers", "inflight", "window", "rate", "rate_per_session",
             "concurrency", "size"]
    parts = []
    for key, value in sorted(p.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else len(order)):
        if key in ("path", "procedure", "frames"):
            continue
        if key == "mode":
            parts.append(str(value))
        elif isinstance(value, float) and value.is_integer():
            parts.append(f"{short.get(key, key)}={int(value)}")
        else:
            parts.append(f"{short.get(key, key)}={value}")
    return " ".join(parts)


def run_order(rows):
    """Run labels in the order they ran, and per label the rows, kreuz first."""
    labels = []
    for r in rows:
        if r.get("label") not in labels:
            labels.append(r.get("label"))
    out = []
    for label in labels:
        group = [r for r in rows if r.get("label") == label]
        group.sort(key=lambda r: 0 if r.get("system") == REFERENCE else 1)
        out.append((label, group))
    return out


def reference_of(group):
    for r in group:
        if r.get("system") == REFERENCE:
            return r
    return None


def table(scenario, rows):
    out = []
    if scenario == "idle":
        out.append("| run | system | sessions | server RSS before | after connecting | RSS per connection | "
                   "server CPU | kreuz/peer RSS per connection |")
        out.append("|---|---|---:|---:|---:|---:|---:|---:|")
        for label, group in run_order(rows):
            ref = reference_of(group)
            for r in group:
                rss = r.get("server_rss_kib", {})
                per = r.get("rss_per_conn_bytes")
                versus = "–" if r is ref or ref is None else ratio(ref.get("rss_per_conn_bytes"), per)
                out.append(f"| {label} | {system_name(r.get('system'))} | {r.get('connections', '–')} | "
                           f"{mib(rss.get('before'))} | {mib(rss.get('connected'))} | "
                           f"{num(per / 1024 if per is not None else None, '{:.1f} KiB')} | "
                           f"{num(r.get('server_cpu_s'), '{:.2f} s')} in {r.get('duration_s', 0):.1f} s | {versus} |")
        return out
    unit = UNITS[scenario]
    extra = scenario in ("fanout", "chat")
    out.append(f"| run | system | {unit} |" + (" publications/s |" if extra else "") +
               " server CPU per message | server CPU | p50 | p99 | p99.9 | client CPU | server RSS at end |"
               " kreuz/peer messages/s | kreuz/peer CPU per message |")
    out.append("|---|---|---:|" + ("---:|" if extra else "") + "---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for label, group in run_order(rows):
        ref = reference_of(group)
        for r in group:
            rss = r.get("server_rss_kib", {})
            if r is ref or ref is None:
                versus = "– | –"
            else:
                versus = (f"{ratio(ref.get('msgs_per_s'), r.get('msgs_per_s'))} | "
                          f"{ratio(ref.get('server_cpu_s_per_msg'), r.get('server_cpu_s_per_msg'))}")
            line = f"| {label} | {system_name(r.get('system'))} | {num(r.get('msgs_per_s'))} |"
            if extra:
                line += f" {num(r.get('published_per_s'))} |"
            line += (f" {cpu_per_msg(r)} | {util(r.get('server_cpu_util'))} | {lat(r, 'p50')} | {lat(r, 'p99')} |"
                     f" {lat(r, 'p999')} | {client_util(r)} | {mib(rss.get('end'))} | {versus} |")
            out.append(line)
    return out


def summary(results):
    """One line per (run, peer): the ratios of the tables, in one place."""
    out = ["| run | peer | kreuz/peer messages/s | kreuz/peer CPU per message | kreuz/peer p99 latency | "
           "kreuz/peer RSS per connection |",
           "|---|---|---:|---:|---:|---:|"]
    good = [r for r in results if r.get("ok")]
    lines = 0
    for label, group in run_order(good):
        ref = reference_of(group)
        if ref is None:
            continue
        for r in group:
            if r is ref:
                continue
            if r.get("scenario") == "idle":
                out.append(f"| {label} | {system_name(r.get('system'))} | – | – | – | "
                           f"{ratio(ref.get('rss_per_conn_bytes'), r.get('rss_per_conn_bytes'))} |")
            else:
                p99_ref = (ref.get("latency_us") or {}).get("p99")
                p99 = (r.get("latency_us") or {}).get("p99")
                out.append(f"| {label} | {system_name(r.get('system'))} | "
                           f"{ratio(ref.get('msgs_per_s'), r.get('msgs_per_s'))} | "
                           f"{ratio(ref.get('server_cpu_s_per_msg'), r.get('server_cpu_s_per_msg'))} | "
                           f"{ratio(p99_ref, p99)} | – |")
            lines += 1
    return out if lines else []


def find(results, label, system):
    return next((r for r in results if r.get("ok") and r.get("label") == label and r.get("system") == system), None)


def verdict(ok):
    if ok is None:
        return "not measured"
    return "**met**" if ok else "**not met**"


def targets(results):
    """The targets of issue 6, each from the run of this report that measures it."""
    rows = ["| target | measured in this run | run | verdict |", "|---|---|---|---|"]

    def cpu(label, system):
        r = find(results, label, system)
        return r.get("server_cpu_s_per_msg") if r else None

    def cpu_ratio_row(label, peer, limit):
        a, b = cpu(label, "kreuz"), cpu(label, peer)
        ok = None if a is None or b is None else a / b <= limit
        shown = "–" if ok is None else f"{a / b:.2f}× ({a * 1e6:.2f} µs vs {b * 1e6:.2f} µs)"
        rows.append(f"| echo: server CPU per message ≤ {limit}× {system_name(peer)} | {shown} | `{label}` | "
                    f"{verdict(ok)} |")

    cpu_ratio_row("echo-k16", "websocketpp", 0.5)
    cpu_ratio_row("echo-k16", "node-ws", 0.25)
    for label, what, floor, peer, factor in (("rpc", "calls", 200_000, "wamp.io", 10),
                                            ("fanout-closed", "deliveries", 2_000_000, "wamp.io", 20),
                                            ("fanout-w64", "deliveries", 2_000_000, "wamp.io", 20)):
        a, b = cpu(label, "kreuz"), cpu(label, peer)
        per_s = None if not a else 1 / a
        rows.append(f"| {label.split('-')[0]}: ≥ {floor:,} {what} per server-CPU-second | "
                    f"{num(per_s)} | `{label}` | {verdict(None if per_s is None else per_s >= floor)} |")
        ok = None if not a or not b else b / a >= factor
        shown = "–" if ok is None else f"{b / a:.1f}× ({num(1 / a)} vs {num(1 / b)} per CPU-second)"
        rows.append(f"| {label.split('-')[0]}: ≥ {factor}× {system_name(peer)} ({what} per server-CPU-second) | "
                    f"{shown} | `{label}` | {verdict(ok)} |")
    half = find(results, "rpc-half", "kreuz")
    p99 = ((half or {}).get("latency_us") or {}).get("p99")
    shown = "–" if p99 is None else (f"p99 {lat(half, 'p99')} at {num(half.get('msgs_per_s'))} calls/s "
                                     f"(server CPU {util(half.get('server_cpu_util'))})")
    rows.append(f"| rpc p99 < 1 ms at half of the measured maximum rate | {shown} | `rpc-half` | "
                f"{verdict(None if p99 is None else p99 < 1000)} |")
    idle = find(results, "idle", "kreuz")
    per_conn = (idle or {}).get("rss_per_conn_bytes")
    shown = "–" if per_conn is None else f"{per_conn:,} bytes at {idle.get('connections'):,} sessions"
    rows.append(f"| idle: ≤ 2 KB (2,048 bytes) per WAMP session at 15,000 sessions | {shown} | `idle` | "
                f"{verdict(None if per_conn is None else per_conn <= 2048 and idle.get('connections', 0) >= 15000)} |")
    return rows


def callgrind_section(path):
    out = []
    try:
        with open(path) as f:
            lines = [json.loads(line) for line in f if line.strip()]
    except (OSError, json.JSONDecodeError) as e:
        return [f"callgrind figures are missing: {e}"]
    servers = [r for r in lines if r.get("kind", "server") == "server"]
    parsers = [r for r in lines if r.get("kind") == "json"]
    if servers:
        out.append("| scenario | one message is | instructions per message | allocations per message | "
                   "messages counted (two runs) | kreuz-bench |")
        out.append("|---|---|---:|---:|---:|---|")
        for r in servers:
            if not r.get("ok"):
                out.append(f"| {r.get('name')} | – | – | – | – | failed: {r.get('error')} |")
                continue
            out.append(f"| {r['name']} | {r['unit']} | {r['instructions_per_message']:,.0f} | "
                       f"{r['allocations_per_message']:.2f} | {r['messages'][0]:,} / {r['messages'][1]:,} | "
                       f"`{r['command']}` |")
    if parsers:
        out.append("")
        out.append("| JSON library | instructions to parse the CALL and take its argument's bytes |")
        out.append("|---|---:|")
        for r in parsers:
            shown = f"{r['instructions_per_message']:,.0f}" if r.get("ok") else f"failed: {r.get('error')}"
            out.append(f"| {r['name']} | {shown} |")
    return out


def json_lines(path, what):
    """The JSON objects of a script's output file, and what to print instead when it is missing."""
    try:
        with open(path) as f:
            return [json.loads(line) for line in f if line.startswith("{")], ""
    except OSError as e:
        return [], f"{what} figures are missing: {e}"


def bystander_section(path):
    out = ["## A bystander while slow consumers are dropped",
           "",
           "`python3 bench/bystander.py build/kreuz [--subscribers N] [--deflate]`: kreuz with its default "
           "limits (high water 4 MiB, queue limit 64 MiB), N subscribers that never read (4 KiB receive "
           "buffers; `deflate`: they negotiated permessage-deflate), one publisher flooding 60 KiB events "
           "to their topic, and a bystander session calling `#echo` every 5 ms; the run ends when every "
           "subscriber is dropped (30 s at most). Publisher and bystander are processes of their own; the "
           "publisher runs at nice 10 so that on 2 cores the bystander's own scheduling is not what is "
           "measured. The goal: the bystander's maximum under 100 ms.",
           "",
           "| subscribers | deflate | run s | publications | dropped | bystander calls | p50 ms | p99 ms | "
           "max ms | kreuz CPU s |",
           "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    rows, missing = json_lines(path, "bystander")
    if missing:
        return out + [missing]
    for r in rows:
        out.append(f"| {r['subscribers']} | {'yes' if r['deflate'] else 'no'} | {r['seconds']} | "
                   f"{r['publications']:,} | {r['dropped']} | {r['calls']} | {r['p50_ms']} | {r['p99_ms']} | "
                   f"{r['max_ms']} | {r['server_cpu_s']} |")
    return out


def attack_section(path):
    out = ["## Memory through an attack",
           "",
           "`python3 bench/attack.py build/kreuz [--idle N] [--churn N]`: kreuz with its default configuration; "
           "N idle sessions connect and stay, then, with them open, the churn sessions of "
           "tests/wamp/test_attack.py come and go from 4 threads (RSTs, half-closes, cuts in the handshake "
           "and in frames) while kreuz's RSS is sampled every 20 ms; then the idle sessions close.",
           "",
           "| idle | churn | RSS before KiB | with idle KiB | bytes per idle connection | peak KiB | after KiB | "
           "churn sessions/s | connections left |",
           "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    rows, missing = json_lines(path, "attack")
    if missing:
        return out + [missing]
    for r in rows:
        out.append(f"| {r['idle']:,} | {r['churn']:,} | {r['rss_before_kib']:,} | {r['rss_with_idle_kib']:,} | "
                   f"{r['bytes_per_idle_connection']:,} | {r['rss_peak_kib']:,} | {r['rss_after_kib']:,} | "
                   f"{r['churn_sessions_per_s']:,} | {r['connections_left']:.0f} |")
    return out


def cluster_section(path):
    out = ["## Cluster: nodes through Redis against one node",
           "",
           "`python3 bench/cluster.py build/kreuz build/kreuz-bench`: one redis-server (no persistence), then "
           "for each run fresh kreuz nodes on it, every one with the `cluster` key, so that the layouts differ "
           "only in where the sessions are. Per server-CPU-second figures sum the CPU of every node; Redis's "
           "CPU is beside. Latency includes the load generator's own queueing.",
           "",
           "**Fan-out**: kreuz-bench fanout, open loop, 1,000 subscribers spread round-robin over the nodes, "
           "one publisher on one node, 100-byte events. Local and cross-node latency are the deliveries on "
           "the publisher's node and on the others; cross-node includes the load generator taking each "
           "publication's local EVENTs off its sockets first.",
           "",
           "| layout | publications/s | deliveries/s | deliveries per server-CPU-s | server CPU | Redis CPU s | "
           "local p50 / p99 ms | cross-node p50 / p99 ms | added p50 / p99 ms |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    rows, missing = json_lines(path, "cluster")
    if missing:
        return out + [missing]

    def ms(lat, key):
        return lat[key] / 1000 if lat else None

    def per_cpu(r):
        return r["msgs_per_s"] / r["server_cpu_util"] if r.get("server_cpu_util") else 0

    for r in (r for r in rows if r["scenario"] == "fanout"):
        local = r.get("local_latency_us") or r.get("latency_us")
        remote = r.get("remote_latency_us")
        cross = f"{ms(remote, 'p50'):.1f} / {ms(remote, 'p99'):.1f}" if remote else "–"
        added = (f"{ms(remote, 'p50') - ms(local, 'p50'):.1f} / {ms(remote, 'p99') - ms(local, 'p99'):.1f}"
                 if remote else "–")
        out.append(f"| {r['layout']} | {r['published_per_s']:,.0f} | {r['msgs_per_s']:,.0f} | {per_cpu(r):,.0f} | "
                   f"{r['server_cpu_util'] * 100:.0f} % | {r.get('beside_cpu_s', 0)} | "
                   f"{ms(local, 'p50'):.1f} / {ms(local, 'p99'):.1f} | {cross} | {added} |")
    out += ["",
            "**Routed RPC**: kreuz-bench routed, closed loop: one callee registers a procedure and answers "
            "every CALL with its argument; 15 callers call it, 4 calls in flight each, all on the callee's "
            "node or all on another node.",
            "",
            "| layout | calls/s | calls per server-CPU-s | server CPU | Redis CPU s | p50 ms | p99 ms |",
            "|---|---:|---:|---:|---:|---:|---:|"]
    for r in (r for r in rows if r["scenario"] == "routed"):
        lat = r["latency_us"]
        out.append(f"| {r['layout']} | {r['msgs_per_s']:,.0f} | {per_cpu(r):,.0f} | "
                   f"{r['server_cpu_util'] * 100:.0f} % | {r.get('beside_cpu_s', 0)} | "
                   f"{ms(lat, 'p50'):.2f} | {ms(lat, 'p99'):.2f} |")
    return out


def mask(command):
    parts = command.split()
    masked = []
    i = 0
    while i < len(parts):
        if parts[i] == "-p" and i + 1 < len(parts):
            masked += ["-p", "PORT"]
            i += 2
        elif parts[i] == "--server-pid" and i + 1 < len(parts):
            masked += ["--server-pid", "PID"]
            i += 2
        else:
            masked.append(parts[i])
            i += 1
    return " ".join(masked)


def main():
    meta = load_meta(sys.argv[1])
    commands = load_commands(sys.argv[2])
    results = load_results(sys.argv[3])
    peer_state = {peer: meta.get(f"peer.{peer}", "not set up") for peer in PEERS}
    w = []
    w.append("# Benchmarks")
    w.append("")
    w.append(f"Written by `make bench` (`bench/run.sh`) on {meta.get('date', '?')}, "
             f"commit `{meta.get('commit', '?')}`. Rerun it to refresh this file.")
    w.append("")
    w.append("## Machine")
    w.append("")
    w.append("| | |")
    w.append("|---|---|")
    w.append(f"| CPUs (`nproc`) | {meta.get('nproc', '?')} |")
    w.append(f"| CPU model | {meta.get('cpu', '?')} |")
    w.append(f"| Kernel | {meta.get('kernel', '?')} |")
    w.append(f"| Memory | {meta.get('memory', '?')} |")
    w.append(f"| Load average when the run started | {meta.get('load', '?')} |")
    w.append(f"| Compiler, build type | {meta.get('compiler', '?')}, {meta.get('build_type', '?')} |")
    if meta.get("node"):
        w.append(f"| Node.js (peers) | {meta['node']} |")
    w.append("")
    w.append("The server under test (kreuz or a peer, one at a time) and kreuz-bench (one thread) share these "
             "cores, and anything else running on the machine competes with both: a load average above the "
             "number of CPUs means the figures are noisy. Compare runs made on the same machine under the "
             "same load only; the ratios of one `make bench` are the most comparable figures, since kreuz and "
             "its peers ran minutes apart. On a busy machine, CPU per message is the steadier comparison: "
             "messages/s also depends on how much CPU time the scheduler gave the server and the load "
             "generator.")
    w.append("")
    w.append("## Method")
    w.append("")
    w.append(f"- Every run starts a fresh server, connects all sessions, sends traffic for a "
             f"{meta.get('warmup', '?')} s warm-up that is excluded, then measures for {meta.get('duration', '?')} s "
             "(or until the message count limit), then closes every connection with a closing handshake and "
             "stops the server. Each run goes against kreuz first and then, back to back with the same "
             "kreuz-bench arguments, against each peer that has the scenario's features (see Peers).")
    w.append("- **Messages/s**: messages received by the load generator in the measured interval "
             "(what one message is depends on the scenario, see each table).")
    w.append("- **Server CPU per message**: utime + stime of the server process from `/proc/PID/stat`, "
             "sampled at the start and end of the measured interval (10 ms resolution), divided by the "
             "messages. **Server CPU** is the same time as a share of one core (Node's own helper threads, "
             "garbage collection among them, are part of its process and so counted).")
    w.append("- **Latency** p50/p99/p99.9: every message carries the monotonic time it was sent "
             "(in the echo payload, the CALL argument, the published event), read back on receipt; "
             "histogram with under 1 % relative error. It includes the load generator's own queueing.")
    w.append("- **RSS**: VmRSS from `/proc/PID/status`; per connection = (RSS with all sessions "
             "connected − RSS before connecting) / connections. Only the idle run, with many "
             "connections, makes the per-connection figure meaningful; in the other runs one-time "
             "allocations dominate it. A Node server starts at about 50 MiB before any connection.")
    w.append("- **Client CPU**: the load generator's own CPU time as a share of one core; near 100 % "
             "it, not the server, is the bottleneck.")
    w.append("- **kreuz/peer**: kreuz's figure divided by the peer's in the same run. For messages/s above 1 "
             "means kreuz carried more; for CPU per message, latency and RSS per connection below 1 means "
             "kreuz needed less. In open-loop runs both servers are offered the same rate, so messages/s "
             "differ only where one falls behind.")
    w.append("")
    w.append("## Peers")
    w.append("")
    for peer, info in PEERS.items():
        state = peer_state[peer]
        if state == "ok":
            w.append(f"- **{info['name']}** ({info['scenarios']}): {info['what'](meta)}")
        else:
            w.append(f"- **{info['name']}** ({info['scenarios']}): **not measured in this run**: {state}. "
                     "No figures are given for it.")
    w.append("")
    w.append("## Commands")
    w.append("")
    w.append("Each run, with PORT a free port and PID the server's process id; the server is started, then "
             "kreuz-bench runs against it, then the server gets SIGTERM:")
    w.append("")
    w.append("```sh")
    shown = []
    for _name, system, server, _bench in commands:
        if (system, server) not in shown:
            shown.append((system, server))
    for system, server in shown:
        w.append(f"{server} &    # {system_name(system)}")
    for name, system, _server, bench in commands:
        w.append(f"{mask(bench)}    # {system_name(system)}")
    w.append("```")
    w.append("")
    w.append("## Targets")
    w.append("")
    w.append("Each target of issue 6, from this run. Ratios are kreuz against the peer in the same run; "
             "per server-CPU-second figures are 1 / (server CPU per message). `fanout-closed` keeps 16 "
             "publications in flight, `fanout-w64` 64: the more arrive per loop turn, the more frames share "
             "one writev per subscriber, and the writev is most of what a delivery costs.")
    w.append("")
    w.extend(targets(results))
    if len(sys.argv) > 4:
        w.append("")
        w.append("## Instructions and allocations per message (callgrind)")
        w.append("")
        w.append("`python3 bench/callgrind.py build/kreuz build/kreuz-bench`: kreuz runs twice under "
                 "`valgrind --tool=callgrind` with the same sessions, the second time with more messages "
                 "(counted by kreuz's /metrics); the difference of the two totals over the difference of the "
                 "messages is the cost of one more message in the steady state, set-up and exit excluded. "
                 "Instructions (Ir) are deterministic for a binary and its input, unlike time, so a change in "
                 "review shows here. Allocations are calls to malloc, calloc and realloc. Under valgrind kreuz "
                 "runs about 50× slower, so reads and writes carry more messages than at native speed.")
        w.append("")
        w.extend(callgrind_section(sys.argv[4]))
    if len(sys.argv) > 5:
        w.append("")
        w.extend(bystander_section(sys.argv[5]))
    if len(sys.argv) > 6:
        w.append("")
        w.extend(attack_section(sys.argv[6]))
    if len(sys.argv) > 7:
        w.append("")
        w.extend(cluster_section(sys.argv[7]))
    w.append("")
    w.append("## Results")
    lines = summary(results)
    if lines:
        w.append("")
        w.append("### Summary: kreuz relative to each peer")
        w.append("")
        w.extend(lines)
    for scenario, title, text in SECTIONS:
        rows = [r for r in results if r.get("scenario") == scenario]
        if not rows:
            continue
        w.append("")
        w.append(f"### {title}")
        w.append("")
        w.append(text)
        good = [r for r in rows if r.get("ok")]
        w.append("")
        for label, group in run_order(rows):
            systems = ", ".join(system_name(r.get("system")) for r in group if r.get("ok"))
            first = next((r for r in group if r.get("ok")), None)
            if first is not None:
                w.append(f"- `{label}`: {params(first)}; {systems}")
        if good:
            w.append("")
            w.extend(table(scenario, good))
        for r in rows:
            if not r.get("ok"):
                w.append("")
                w.append(f"**{r.get('label', scenario)} on {system_name(r.get('system'))} failed:** "
                         f"{r.get('error', 'unknown error')}")
        for r in good:
            if r.get("close_problems"):
                w.append("")
                w.append(f"Note: in {r.get('label')} on {system_name(r.get('system'))}, {r['close_problems']} "
                         "connection(s) did not close cleanly after the measurement.")
        labels = {r.get("label") for r in rows}
        for label in sorted(labels):
            for peer in meta.get(f"peers_for.{label}", "").split():
                if peer_state.get(peer, "ok") != "ok":
                    w.append("")
                    w.append(f"{system_name(peer)} is not in `{label}`: {peer_state[peer]}.")
    print("\n".join(w))


if __name__ == "__main__":
    main()
