#!/usr/bin/env python3
"""Writes BENCHMARKS.md from what bench/run.sh collected.

usage: report.py META COMMANDS RESULTS > BENCHMARKS.md
  META      key=value lines (date, nproc, cpu, kernel, ...)
  COMMANDS  name<TAB>server command<TAB>kreuz-bench command, one run a line
  RESULTS   the JSON line of each kreuz-bench run
"""
import json
import sys

SECTIONS = [
    ("echo", "echo: WebSocket echo",
     "N connections to kreuz's plain echo endpoint (`--echo-path /echo`), closed loop with K text "
     "messages of S bytes in flight per connection. K=1 measures one round trip through the event "
     "loop at a time; K=16 lets writes batch. One message = one echo received back."),
    ("rpc", "rpc: WAMP CALL to the built-in echo procedure",
     "N WAMP sessions, each with K CALLs to `http://api.wamp.ws/procedure#echo` in flight. One "
     "message = one CALLRESULT received."),
    ("fanout", "fanout: 1 publisher, N subscribers on one topic",
     "Closed loop: publication i+W leaves when every subscriber has received event i. Open loop: "
     "R publications/s, paced by a 1 ms timer (so they leave in small bursts); a load generator that "
     "falls behind shows as publications/s below R. One message = one EVENT received by one subscriber."),
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
            if len(parts) == 3:
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


def table(scenario, rows):
    out = []
    if scenario == "idle":
        out.append("| run | sessions | server RSS before | after connecting | RSS per connection | server CPU |")
        out.append("|---|---:|---:|---:|---:|---:|")
        for r in rows:
            rss = r.get("server_rss_kib", {})
            per = r.get("rss_per_conn_bytes")
            out.append(f"| {r.get('label', '')} | {r.get('connections', '–')} | {mib(rss.get('before'))} | "
                       f"{mib(rss.get('connected'))} | {num(per / 1024 if per is not None else None, '{:.1f} KiB')} | "
                       f"{num(r.get('server_cpu_s'), '{:.2f} s')} in {r.get('duration_s', 0):.1f} s |")
        return out
    unit = {"echo": "echoes/s", "rpc": "calls/s", "fanout": "events/s", "chat": "events/s",
            "churn": "sessions/s"}[scenario]
    extra = scenario in ("fanout", "chat")
    header = f"| run | parameters | {unit} |" + (" publications/s |" if extra else "") + \
        " server CPU per message | server CPU | p50 | p99 | p99.9 | client CPU | server RSS at end |"
    out.append(header)
    out.append("|---|---|---:|" + ("---:|" if extra else "") + "---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        rss = r.get("server_rss_kib", {})
        line = f"| {r.get('label', '')} | {params(r)} | {num(r.get('msgs_per_s'))} |"
        if extra:
            line += f" {num(r.get('published_per_s'))} |"
        line += (f" {cpu_per_msg(r)} | {util(r.get('server_cpu_util'))} | {lat(r, 'p50')} | {lat(r, 'p99')} |"
                 f" {lat(r, 'p999')} | {client_util(r)} | {mib(rss.get('end'))} |")
        out.append(line)
    return out


def main():
    meta = load_meta(sys.argv[1])
    commands = load_commands(sys.argv[2])
    results = load_results(sys.argv[3])
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
    w.append("")
    w.append("kreuz (one thread) and kreuz-bench (one thread) share these cores, and anything else running on "
             "the machine competes with both: a load average above the number of CPUs means the figures are "
             "noisy. Compare runs made on the same machine under the same load only.")
    w.append("")
    w.append("## Method")
    w.append("")
    w.append(f"- Every run starts a fresh kreuz, connects all sessions, sends traffic for a "
             f"{meta.get('warmup', '?')} s warm-up that is excluded, then measures for {meta.get('duration', '?')} s "
             "(or until the message count limit), then closes every connection with a closing handshake.")
    w.append("- **Messages/s**: messages received by the load generator in the measured interval "
             "(what one message is depends on the scenario, see each table).")
    w.append("- **Server CPU per message**: utime + stime of the kreuz process from `/proc/PID/stat`, "
             "sampled at the start and end of the measured interval (10 ms resolution), divided by the "
             "messages. **Server CPU** is the same time as a share of one core.")
    w.append("- **Latency** p50/p99/p99.9: every message carries the monotonic time it was sent "
             "(in the echo payload, the CALL argument, the published event), read back on receipt; "
             "histogram with under 1 % relative error. It includes the load generator's own queueing.")
    w.append("- **RSS**: VmRSS from `/proc/PID/status`; per connection = (RSS with all sessions "
             "connected − RSS before connecting) / connections. Only the idle run, with many "
             "connections, makes the per-connection figure meaningful; in the other runs one-time "
             "allocations dominate it.")
    w.append("- **Client CPU**: the load generator's own CPU time as a share of one core; near 100 % "
             "it, not kreuz, is the bottleneck.")
    w.append("")
    w.append("## Commands")
    w.append("")
    w.append("Each run, with PORT a free port and PID the server's process id:")
    w.append("")
    w.append("```sh")
    w.append("kreuz --port PORT --echo-path /echo --log-level warn &")
    for name, _server, bench in commands:
        parts = bench.split()
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
        w.append(" ".join(masked))
    w.append("```")
    w.append("")
    w.append("## Results")
    for scenario, title, text in SECTIONS:
        rows = [r for r in results if r.get("scenario") == scenario]
        if not rows:
            continue
        w.append("")
        w.append(f"### {title}")
        w.append("")
        w.append(text)
        w.append("")
        good = [r for r in rows if r.get("ok")]
        if good:
            w.extend(table(scenario, good))
        for r in rows:
            if not r.get("ok"):
                w.append("")
                w.append(f"**{r.get('label', scenario)} failed:** {r.get('error', 'unknown error')}")
        problems = [r for r in good if r.get("close_problems")]
        for r in problems:
            w.append("")
            w.append(f"Note: in {r.get('label')}, {r['close_problems']} connection(s) did not close cleanly.")
    w.append("")
    w.append("## Peers: not yet measured")
    w.append("")
    w.append("The same scenarios against other servers (a Node `ws` echo server for echo; wamp.io for the "
             "WAMP scenarios) are planned but have not been run. No peer figures exist yet, and none are "
             "given here.")
    print("\n".join(w))


if __name__ == "__main__":
    main()
