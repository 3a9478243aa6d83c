#!/usr/bin/env python3
"""Instructions and heap allocations per message of kreuz's steady state, from callgrind.

usage: callgrind.py KREUZ KREUZ_BENCH [JSON_PARSE_COST] > callgrind.jsonl

For each scenario, kreuz runs twice under `valgrind --tool=callgrind` with the
same sessions and kreuz-bench arguments, the second time with more messages.
Connecting, WELCOME, subscribing, closing and the process's start and exit
are the same in both runs, so the difference of the two totals divided by the
difference of the messages is what one more message costs once everything is
set up: instructions (Ir, what callgrind counts; not time, so the same
binary and inputs give the same figure on a busy machine) and calls to
malloc/calloc/realloc (operator new ends in malloc). The messages are
counted by kreuz itself, from GET /metrics after the load, so that calls
still in flight when kreuz-bench stops are counted too.

With JSON_PARSE_COST (bench/tools/json_parse_cost.cpp), the same difference
of two runs gives what one parse of a CALL costs with nlohmann/json (kreuz's
parser) and with simdjson: the measurement behind the raw-payload decision.

One caveat of the method: under valgrind kreuz runs about 50 times slower
than natively, so more messages arrive per read and leave per writev than at
native speed; the per-message figures are those of a busy server.
"""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

# name, kreuz-bench arguments, the metric that counts messages and how many of
# its units one message is, and the two message counts (the --max-messages of
# the two runs). The echo endpoint has no message counter: each echo of a
# 32-byte text is a 34-byte frame sent, and the handshakes and closes, the
# other bytes sent, are the same in both runs.
SCENARIOS = [
    ("echo", ["echo", "-n", "16", "-k", "16", "-s", "32"],
     "kreuz_sent_bytes_total", 34, "echo of 32 bytes", 20000, 60000),
    ("rpc", ["rpc", "-n", "16", "-k", "16", "-s", "32"],
     'kreuz_messages_received_total{realm="default",type="CALL"}', 1, "CALL", 4000, 12000),
    ("fanout", ["fanout", "-n", "100", "-w", "16", "-s", "100"],
     'kreuz_messages_sent_total{realm="default",type="EVENT"}', 1, "EVENT delivered", 40000, 120000),
]
ALLOCATORS = ("malloc", "calloc", "realloc")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, proc, limit=30.0):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"kreuz under valgrind exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"kreuz under valgrind did not listen on {port} within {limit} s")


def metric(port, name):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as answer:
        for line in answer.read().decode().splitlines():
            if line.startswith(name + " "):
                return int(float(line.split()[-1]))
    raise RuntimeError(f"/metrics has no {name}")


def totals(path):
    """Total Ir and the number of calls to the allocators in a callgrind file
    written with --compress-strings=no."""
    instructions = None
    allocations = 0
    calling_allocator = False
    with open(path) as f:
        for line in f:
            if line.startswith("cfn="):
                calling_allocator = line[4:].strip() in ALLOCATORS
            elif line.startswith("calls=") and calling_allocator:
                allocations += int(line[6:].split()[0])
                calling_allocator = False
            elif line.startswith("totals:") or line.startswith("summary:"):
                instructions = int(line.split()[1])
    if instructions is None:
        raise RuntimeError(f"{path} has no totals line")
    return instructions, allocations


# A CALL as kreuz-bench sends it: the argument is its 32-byte stamp.
SAMPLE_CALL = '[2,"1:42","http://api.wamp.ws/procedure#echo","00000000000001a2000000010000002a"]'


def instructions_of(command, work, tag):
    out = os.path.join(work, f"callgrind.{tag}.out")
    subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", *command],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=300)
    return totals(out)[0]


def parse_costs(tool, work):
    for library, shown in (("nlohmann", "nlohmann/json (kreuz's fallback parser): DOM, then dump of the argument"),
                           ("simdjson", "simdjson (kreuz's fast path; DOM parser reused, full validation), then minify of the argument")):
        try:
            small = instructions_of([tool, library, "1000", SAMPLE_CALL], work, f"{library}.1")
            large = instructions_of([tool, library, "3000", SAMPLE_CALL], work, f"{library}.3")
            print(json.dumps({"kind": "json", "name": shown, "ok": True,
                              "instructions_per_message": (large - small) / 2000}), flush=True)
        except (OSError, subprocess.SubprocessError) as e:
            print(json.dumps({"kind": "json", "name": shown, "ok": False, "error": str(e)}), flush=True)


def one_run(kreuz, bench, args, metric_name, max_messages, work):
    port = free_port()
    out = os.path.join(work, f"callgrind.{port}.out")
    server = subprocess.Popen(
        ["valgrind", "--tool=callgrind", "--compress-strings=no", "--compress-pos=no",
         f"--callgrind-out-file={out}", kreuz, "--port", str(port), "--echo-path", "/echo",
         "--log-level", "warn"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for_port(port, server)
        subprocess.run([bench, *args, "-p", str(port), "--warmup", "0", "-d", "120",
                        "--max-messages", str(max_messages), "--connect-timeout", "60", "--format", "json"],
                       check=True, stdout=subprocess.DEVNULL, timeout=300)
        messages = metric(port, metric_name)
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    instructions, allocations = totals(out)
    return messages, instructions, allocations


def main():
    kreuz, bench = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory() as work:
        for name, args, metric_name, per_message, unit, small, large in SCENARIOS:
            try:
                m1, i1, a1 = one_run(kreuz, bench, args, metric_name, small, work)
                m2, i2, a2 = one_run(kreuz, bench, args, metric_name, large, work)
                m1, m2 = m1 // per_message, m2 // per_message
                if m2 <= m1:
                    raise RuntimeError(f"the second run counted {m2} messages, the first {m1}")
                print(json.dumps({
                    "kind": "server", "name": name, "ok": True, "unit": unit,
                    "command": "kreuz-bench " + " ".join(args) + " --warmup 0 --max-messages N",
                    "messages": [m1, m2], "instructions": [i1, i2], "allocations": [a1, a2],
                    "instructions_per_message": (i2 - i1) / (m2 - m1),
                    "allocations_per_message": (a2 - a1) / (m2 - m1),
                }), flush=True)
            except (RuntimeError, OSError, subprocess.SubprocessError) as e:
                print(json.dumps({"kind": "server", "name": name, "ok": False, "error": str(e)}), flush=True)
        if len(sys.argv) > 3:
            parse_costs(sys.argv[3], work)


if __name__ == "__main__":
    main()
