#!/usr/bin/env python3
"""The large version of tests/wamp/test_attack.py: memory before, at the peak of and after an
attack (issue 15, item 6).

One kreuz with its default configuration. First --idle sessions connect and stay (RSS per idle
connection); then, with those still open, --churn sessions come and go in every abrupt way
(RSTs, half-closes, cuts in the handshake and in frames) from 4 threads, while kreuz's RSS is
sampled every 20 ms; then the idle sessions close. Prints one JSON line: RSS before, with the
idle sessions, at the peak, and after everything closed (KiB), bytes per idle connection, and
the churn's rate.

usage: attack.py KREUZ [--idle N] [--churn N]
"""
import argparse
import json
import os
import resource
import socket
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "wamp"))

import kreuz_process  # noqa: E402

from test_attack import churn  # noqa: E402
from wampclient import get_request, http_raw, read_http_head, upgrade_request  # noqa: E402


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def connections(port):
    for line in http_raw(port, get_request("/metrics")).body.decode().splitlines():
        if line.startswith("kreuz_connections "):
            return float(line.split()[1])
    return -1


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("kreuz")
    parser.add_argument("--idle", type=int, default=5000)
    parser.add_argument("--churn", type=int, default=20000)
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    log = tempfile.TemporaryFile()
    server, port = kreuz_process.start(args.kreuz, log, log_level="error")
    try:
        time.sleep(0.2)
        before = rss_kib(server.pid)

        idle = []
        for _ in range(args.idle):
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            s.sendall(upgrade_request("/ws"))
            head, _ = read_http_head(s)
            assert head.startswith(b"HTTP/1.1 101"), head
            idle.append(s)
        time.sleep(0.5)
        with_idle = rss_kib(server.pid)

        peak = with_idle
        stop = threading.Event()

        def sample():
            nonlocal peak
            while not stop.is_set():
                peak = max(peak, rss_kib(server.pid))
                time.sleep(0.02)

        sampler = threading.Thread(target=sample)
        sampler.start()
        start = time.monotonic()
        workers = [threading.Thread(target=churn, args=(port, args.churn // 4, seed)) for seed in range(4)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        churn_seconds = time.monotonic() - start
        for s in idle:
            s.close()
        deadline = time.monotonic() + 30
        while connections(port) > 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)
        stop.set()
        sampler.join()
        after = rss_kib(server.pid)
        print(json.dumps({"idle": args.idle, "churn": args.churn, "rss_before_kib": before,
                          "rss_with_idle_kib": with_idle,
                          "bytes_per_idle_connection": round((with_idle - before) * 1024 / max(1, args.idle)),
                          "rss_peak_kib": peak, "rss_after_kib": after,
                          "churn_sessions_per_s": round(args.churn / churn_seconds),
                          "connections_left": connections(port) - 1}))
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
