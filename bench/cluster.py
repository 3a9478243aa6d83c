#!/usr/bin/env python3
"""kreuz nodes through Redis against the same workload on one node (issues 17 and 18).

Starts its own redis-server (Debian's package, loopback, no persistence), then for each run fresh
kreuz nodes on it (every one with the cluster key, so that layouts differ only in where the
sessions are) and one kreuz-bench:

- fanout: 1,000 subscribers spread round-robin over 1 node, then over 3, one publisher, open loop;
- routed: one callee registers a procedure and answers every CALL, 15 callers call it with 4
  calls in flight each (closed loop): all on the callee's node, then all on another node.

Each run prints kreuz-bench's JSON line with "layout" added. Messages per server-CPU-second (all
nodes summed) are msgs_per_s / server_cpu_util; "beside_cpu_s" is Redis's CPU;
"local_latency_us" and "remote_latency_us" split the deliveries or calls by whether they crossed
nodes.

usage: cluster.py KREUZ KREUZ_BENCH [--rate R] [--seconds S]
"""
import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "wamp"))

import kreuz_process  # noqa: E402
from redis_server import RedisServer  # noqa: E402

SUBSCRIBERS = 1000
TOPIC = "http://kreuz.dev/bench#topic"
CALLERS = 15
PROCEDURE = "http://kreuz.dev/bench#routed"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_held(redis, nodes, timeout=30):
    """Every node holds the topic's channel: remote deliveries start with the measurement."""
    channel = f"kreuz:e:7:default:{TOPIC}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if redis.command("PUBSUB", "NUMSUB", channel)[1] == nodes:
            return
        time.sleep(0.05)
    raise SystemExit(f"cluster.py: {nodes} nodes did not subscribe {channel} in Redis")


def start_nodes(args, redis, nodes, work, processes):
    for i in range(nodes):
        config = os.path.join(work, f"node{i}.yaml")
        with open(config, "w") as f:
            f.write(f'cluster: {{redis: "redis://127.0.0.1:{redis.port}/0", node_id: n{i}}}\n')
        with open(os.path.join(work, f"node{i}.log"), "ab") as log:
            processes.append(kreuz_process.start(args.kreuz, log, config=config))


def stop_nodes(processes):
    for process, _ in processes:
        process.terminate()
        process.wait(timeout=10)


def fanout(args, redis, nodes, work):
    processes = []
    try:
        start_nodes(args, redis, nodes, work, processes)
        ports = [port for _, port in processes]
        pids = [str(p.pid) for p, _ in processes]
        command = [args.bench, "fanout", "-n", str(SUBSCRIBERS), "-r", str(args.rate), "-s", "100",
                   "--port", str(ports[0]), "--server-pid", pids[0], "--beside-pids", str(redis.proc.pid),
                   "--warmup", "2", "--duration", str(args.seconds), "--format", "json",
                   "--label", f"{nodes} node{'s' if nodes > 1 else ''}"]
        if nodes > 1:
            command += ["--more-ports", *map(str, ports[1:]), "--more-server-pids", *pids[1:]]
        bench = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        # The warm-up starts once every subscriber is in; the channel must be held by then.
        wait_until_held(redis, nodes)
        out, _ = bench.communicate(timeout=args.seconds + 120)
        line = json.loads(out.strip().splitlines()[-1])
        line["layout"] = f"{nodes} node{'s' if nodes > 1 else ''}"
        return line
    finally:
        stop_nodes(processes)


def routed(args, redis, across, work):
    """The callee on the first node; the callers on it too, or all on a second node: kreuz-bench
    deals connection i to the (i mod ports)-th port, so the second node's port is given once per
    caller and connection 0, the callee, is the only one on the first."""
    processes = []
    try:
        start_nodes(args, redis, 2 if across else 1, work, processes)
        ports = [port for _, port in processes]
        pids = [str(p.pid) for p, _ in processes]
        command = [args.bench, "routed", "-n", str(CALLERS), "-k", "4", "-s", "32", "--procedure", PROCEDURE,
                   "--port", str(ports[0]), "--server-pid", pids[0], "--beside-pids", str(redis.proc.pid),
                   "--warmup", "1", "--duration", str(args.seconds), "--format", "json",
                   "--label", "callers on another node" if across else "callers on the callee's node"]
        if across:
            command += ["--more-ports", *[str(ports[1])] * CALLERS, "--more-server-pids", pids[1]]
        out = subprocess.run(command, stdout=subprocess.PIPE, text=True, timeout=args.seconds + 120).stdout
        line = json.loads(out.strip().splitlines()[-1])
        line["layout"] = line["label"]
        return line
    finally:
        stop_nodes(processes)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("kreuz")
    parser.add_argument("bench")
    parser.add_argument("--rate", type=int, default=50, help="publications per second (open loop)")
    parser.add_argument("--seconds", type=float, default=5)
    args = parser.parse_args()
    redis = RedisServer(free_port()).start()
    try:
        with tempfile.TemporaryDirectory(prefix="kreuz-cluster-bench-") as work:
            for nodes in (1, 3):
                print(json.dumps(fanout(args, redis, nodes, work)), flush=True)
            for across in (False, True):
                print(json.dumps(routed(args, redis, across, work)), flush=True)
    finally:
        redis.finish()


if __name__ == "__main__":
    main()
