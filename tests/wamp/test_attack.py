"""An attack of our own: what a hostile or careless crowd does to a router, at once, bounded in
count and time (the large version with memory figures is `make bench`'s territory).

While thousands of sessions come and go abruptly (clean closes, RSTs, half-closes, cuts in the
middle of the handshake and of a frame), malformed messages arrive on plain and strict realms,
and a publisher floods subscribers that never read, one bystander session keeps calling and
receiving: it must get every answer and every event of its topic, each exactly once and in
order, and the router must end up with no connection but the ones still open. Run in both passes
of `make test`, so under ASan/UBSan too.
"""
import asyncio
import json
import random
import socket
import struct
import threading
import time

from wampclient import (CALLRESULT, ECHO, EVENT, RawSession, WampClient, get_request, http_raw, masked_frame,
                        read_http_head, t, unique, upgrade_request)
from test_wamp_badinput import ALL_BAD, UNREADABLE_CALLS, fill

CONFIG = """\
websocket:
  write_high_water: 100000
  write_queue_limit: 300000
  max_message_size: 200000
  slow_consumer_timeout: 2s
  max_handshakes: 5000
realms:
  - name: default
    paths: [/ws]
  - name: strict
    paths: [/strict]
    strict: true
"""

CHURN_SESSIONS = 2000
BAD_MESSAGES = 2000


def metric(port, name):
    for line in http_raw(port, get_request("/metrics")).body.decode().splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not in /metrics")


def rst(sock):
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def churn(port, count, seed):
    """Sessions that end in every abrupt way there is; returns how many got their WELCOME."""
    rng = random.Random(seed)
    welcomed = 0
    for i in range(count):
        s = socket.create_connection(("127.0.0.1", port), timeout=t(10))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        way = i % 6
        if way == 0:  # cut in the middle of the handshake
            s.sendall(upgrade_request("/ws")[:rng.randrange(1, 60)])
            rst(s)
            continue
        s.sendall(upgrade_request("/ws" if i % 5 else "/strict"))
        head, _ = read_http_head(s)
        welcomed += head.startswith(b"HTTP/1.1 101")
        topic = f"http://example.com/churn/{i % 7}"
        s.sendall(masked_frame(json.dumps([5, topic]).encode()) +
                  masked_frame(json.dumps([2, f"c{i}", ECHO, "x" * rng.randrange(0, 3000)]).encode()) +
                  masked_frame(json.dumps([7, topic, i]).encode()))
        if way == 1:  # clean closing handshake, answer not awaited
            s.sendall(masked_frame(struct.pack("!H", 1000), opcode=0x8))
            s.close()
        elif way == 2:  # RST with answers in flight
            rst(s)
        elif way == 3:  # half-close, then gone
            s.shutdown(socket.SHUT_WR)
            s.close()
        elif way == 4:  # cut in the middle of a frame
            s.sendall(masked_frame(b'[2,"cut","' + b"y" * 500 + b'"]')[:rng.randrange(3, 200)])
            rst(s)
        else:  # a fragment of a message that never ends
            s.sendall(masked_frame(b'[7,"http://example.com/churn/0",', fin=False))
            s.close()
    return welcomed


def malformed(port, count):
    """Every kind of bad message, on a plain realm (ignored) and a strict one (closed)."""
    bad = ALL_BAD + UNREADABLE_CALLS
    sent = 0
    plain = RawSession(port, rcvbuf=1 << 20)
    while sent < count:
        for _name, data, _code in bad:
            payload = fill(data, "http://example.com/T", "http://example.com/U")
            binary = isinstance(payload, bytes)
            plain.sock.sendall(masked_frame(payload if binary else payload.encode(), opcode=0x2 if binary else 0x1))
            sent += 1
        plain.barrier()
        strict = socket.create_connection(("127.0.0.1", port), timeout=t(10))
        strict.sendall(upgrade_request("/strict"))
        strict.sendall(masked_frame(b"[2,\"x\""))
        rst(strict)
    plain.close()
    return sent


def slow_flood(port, stop):
    """Subscribers that never read and a publisher that floods them."""
    topic = "http://example.com/attack/flood"
    hogs = []
    for _ in range(20):
        h = RawSession(port)
        h.send([5, topic])
        h.barrier()
        hogs.append(h)
    pub = RawSession(port, rcvbuf=1 << 20)
    blob = "z" * (30 * 1024)
    n = 0
    while not stop.is_set() and n < 2000:
        pub.send([7, topic, {"n": n, "blob": blob}])
        n += 1
        if n % 20 == 0:
            pub.barrier()
    for h in hogs:
        rst(h.sock)
    pub.close()
    return n


async def test_attack_leaves_a_bystander_untouched(make_server):
    srv = make_server(CONFIG)
    port = srv.port
    topic = unique("bystander")
    bystander = await WampClient.connect(port)
    await bystander.subscribe(topic)
    await bystander.barrier()
    chatter = await WampClient.connect(port)

    stop = threading.Event()
    attacks = asyncio.gather(
        asyncio.to_thread(churn, port, CHURN_SESSIONS // 2, 1),
        asyncio.to_thread(churn, port, CHURN_SESSIONS // 2, 2),
        asyncio.to_thread(malformed, port, BAD_MESSAGES),
        asyncio.to_thread(slow_flood, port, stop),
    )

    # The bystander's traffic while the attacks run: a call and an event per step.
    events_sent = 0
    step = 0
    deadline = time.monotonic() + t(60)
    while not attacks.done() and time.monotonic() < deadline:
        await chatter.publish(topic, step)
        events_sent += 1
        await bystander.send([2, f"b{step}", ECHO, step])
        step += 1
        await asyncio.sleep(0.005)
    stop.set()
    welcomed_a, welcomed_b, bad_sent, flooded = await attacks
    print(f"churn: {welcomed_a + welcomed_b} sessions welcomed; {bad_sent} bad messages; {flooded} flood events; "
          f"{step} bystander steps")
    assert welcomed_a + welcomed_b > CHURN_SESSIONS // 2
    assert bad_sent >= BAD_MESSAGES and flooded > 0

    # Every answer and every event, once each, in order.
    answers, events = [], []
    while len(answers) < step or len(events) < events_sent:
        msg = await bystander.recv(timeout=10)
        if msg[0] == CALLRESULT:
            answers.append(msg)
        else:
            assert msg[0] == EVENT and msg[1] == topic, msg
            events.append(msg[2])
    assert answers == [[CALLRESULT, f"b{i}", i] for i in range(step)]
    assert events == list(range(events_sent))
    assert await bystander.barrier() == []

    # Every attacking connection is gone: only the bystander, the chatter and this request remain.
    deadline = time.monotonic() + t(20)
    while metric(port, "kreuz_connections") > 3 and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    assert metric(port, "kreuz_connections") == 3, srv.log_tail()
    assert metric(port, "kreuz_slow_consumers_dropped_total") >= 1
