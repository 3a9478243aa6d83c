#!/usr/bin/env python3
"""A bystander's latency while slow consumers are filled and dropped (issue 15, item 3).

One kreuz with its default limits (write_high_water 4 MiB, write_queue_limit 64 MiB), N
subscribers that never read (4 KiB receive buffers; with --deflate they negotiated
permessage-deflate), one publisher flooding 60 KiB events to their topic as fast as kreuz reads
them, and a bystander session that calls #echo every 5 ms. Publisher and bystander are
processes of their own on raw sockets; the publisher runs at nice 10, so that on a 2-core machine
the bystander's own scheduling delay is not what gets measured. Only the calls made after the
publisher started count. The run ends when every subscriber has been dropped, or after --seconds; it prints
one JSON line: the bystander's p50/p99/max round trip, its number of calls, publications sent,
subscribers dropped, and kreuz's CPU seconds.

usage: bystander.py KREUZ [--subscribers N] [--deflate] [--seconds S]
"""
import argparse
import json
import multiprocessing
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "wamp"))

import kreuz_process  # noqa: E402
from wampclient import RawSession  # noqa: E402

ECHO = "http://api.wamp.ws/procedure#echo"
EVENT_BYTES = 60 * 1024


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def publisher(port, topic, stop, sent):
    # Three busy processes share two cores here; the flood must not take the
    # bystander's CPU, or its own scheduling delay is what gets measured.
    os.nice(10)
    session = RawSession(port, rcvbuf=1 << 20)
    blob = os.urandom(EVENT_BYTES // 2).hex()
    n = 0
    while not stop.is_set() and n < 100_000:
        session.send([7, topic, {"n": n, "blob": blob}])
        n += 1
        sent.value = n
    session.close()


def bystander(port, stop, out):
    session = RawSession(port, rcvbuf=1 << 20)
    latencies = []
    while not stop.is_set() and len(latencies) < 100_000:
        start = time.monotonic()
        session.send([2, "e", ECHO, 1])
        while session.recv()[1] != "e":
            pass
        latencies.append((start, time.monotonic() - start))
        time.sleep(0.005)
    out.put(latencies)
    session.close()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("kreuz")
    parser.add_argument("--subscribers", type=int, default=200)
    parser.add_argument("--deflate", action="store_true")
    parser.add_argument("--seconds", type=float, default=30)
    args = parser.parse_args()

    log = tempfile.NamedTemporaryFile(prefix="kreuz-bystander-", suffix=".log", delete=False)
    server, port = kreuz_process.start(args.kreuz, log)
    try:
        topic = "http://example.com/bystander"
        subscribers = []
        for _ in range(args.subscribers):
            s = RawSession(port, deflate=args.deflate)
            s.send([5, topic])
            s.barrier()
            subscribers.append(s)
        stop = multiprocessing.Event()
        sent = multiprocessing.Value("q", 0)
        out = multiprocessing.Queue()
        cpu_before = cpu_seconds(server.pid)
        procs = [multiprocessing.Process(target=bystander, args=(port, stop, out)),
                 multiprocessing.Process(target=publisher, args=(port, topic, stop, sent))]
        # The bystander first: its own start (a forked interpreter) is not part of what is measured.
        procs[0].start()
        time.sleep(0.5)
        start = time.monotonic()
        procs[1].start()

        def dropped():
            with open(log.name, errors="replace") as f:
                return f.read().count("slow consumer")

        while time.monotonic() - start < args.seconds:
            if args.subscribers and dropped() >= args.subscribers:
                break
            time.sleep(0.1)
        elapsed = time.monotonic() - start
        stop.set()
        # Only the calls made while the flood ran count.
        latencies = sorted(latency for sent, latency in out.get(timeout=30) if start <= sent)
        for p in procs:
            p.join(timeout=30)
        cpu = cpu_seconds(server.pid) - cpu_before
        for s in subscribers:
            s.close()

        def pct(q):
            return round(1000 * latencies[min(len(latencies) - 1, int(q * len(latencies)))], 2)

        print(json.dumps({"subscribers": args.subscribers, "deflate": args.deflate, "seconds": round(elapsed, 2),
                          "publications": sent.value, "dropped": dropped(), "calls": len(latencies),
                          "p50_ms": pct(0.5), "p99_ms": pct(0.99), "max_ms": round(1000 * latencies[-1], 2),
                          "server_cpu_s": round(cpu, 2)}))
    finally:
        server.terminate()
        server.wait(timeout=30)
        os.unlink(log.name)


if __name__ == "__main__":
    main()
