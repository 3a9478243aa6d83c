"""Sessions that end in the middle of someone else's work (docs/ARCHITECTURE.md, "Teardown").

A send that pushes a receiver over `websocket.write_queue_limit` fails that connection with 1008
on the spot, but its session is ended only at the next safe point of the loop, never inside the
fan-out, reply or forward that caused it. These tests drop sessions exactly there: slow
subscribers (1, 4 and 200) filled by one flooding publisher, a subscriber that resets its TCP
connection while a fan-out to it is queued, a publisher dropped by its own publication, the same
through the HTTP publish bridge, and a routed-RPC callee dropped by the very CALL forwarded to it.
Under ASan (the second pass of `make test`) any use of a freed session aborts the router, which
fails the test through its exit code; in every build a bystander session must keep being served.
"""
import asyncio
import json

import pytest

from wampclient import CALLERROR, CALLRESULT, ECHO, EVENT, RawSession, WampClient, http_raw, unique

KiB = 1024
REGISTER = "urn:kreuz:procedure:register"
CALLEE_GONE = "urn:kreuz:error:callee-gone"
NO_SUCH = "http://api.wamp.ws/error#NoSuchRPCEndpoint"

# Small limits, so that a few 64 KiB events overflow a queue; a slow-consumer timeout far beyond
# the test, so that every drop happens inside a send, where the bug was.
CONFIG = """\
websocket:
  write_high_water: 100000
  write_queue_limit: 300000
  max_message_size: 200000
  max_http_body: 128KiB
  slow_consumer_timeout: 60s
realms:
  - name: default
    paths: [/ws]
    callee_timeout: 60s
    publish_bridge: {path: /publish, max_body: 128KiB}
"""


def slow_subscribers(port, topic, n):
    subs = []
    for _ in range(n):
        s = RawSession(port)
        s.send([5, topic])
        s.barrier()
        subs.append(s)
    return subs


async def assert_topic_clean(port, publisher, topic):
    """The topic's registry holds no dropped session: a new subscriber gets the next event."""
    fresh = await WampClient.connect(port)
    await fresh.subscribe(topic)
    await fresh.barrier()
    await publisher.publish(topic, "after")
    assert await fresh.recv() == [EVENT, topic, "after"]


def slow_consumer_drops(srv):
    return srv.log().count("slow consumer")


async def flood(publisher, topic, bystander, size=60 * KiB, events=None, srv=None, drops=0, max_events=400):
    """Publications of `size` bytes, each followed by a bystander's #echo that must be answered
    in order: `events` of them, or (with `srv`) until the router has dropped `drops` slow
    consumers (bounded by max_events; the kernel's send buffers take a few MiB per socket first).
    Returns the number published."""
    blob = "x" * size
    i = 0
    while (i < events) if events is not None else (slow_consumer_drops(srv) < drops and i < max_events):
        await publisher.publish(topic, {"n": i, "blob": blob})
        assert await bystander.call(ECHO, i, call_id=f"e{i}") == [CALLRESULT, f"e{i}", i]
        i += 1
    return i


@pytest.mark.parametrize("subscribers", [1, 4, 50, 200])
async def test_slow_subscribers_dropped_mid_fanout(make_server, subscribers):
    srv = make_server(CONFIG)
    topic = unique("slow")
    subs = await asyncio.to_thread(slow_subscribers, srv.port, topic, subscribers)
    publisher = await WampClient.connect(srv.port)
    bystander = await WampClient.connect(srv.port)
    await flood(publisher, topic, bystander, srv=srv, drops=subscribers)
    assert slow_consumer_drops(srv) == subscribers, srv.log_tail()
    for s in subs:
        assert await asyncio.to_thread(s.ended, 10), "a slow subscriber was not dropped"
        s.close()
    await assert_topic_clean(srv.port, publisher, topic)


async def test_subscriber_reset_while_fanout_is_queued(make_server):
    srv = make_server(CONFIG)
    topic = unique("rst")
    subs = await asyncio.to_thread(slow_subscribers, srv.port, topic, 8)
    publisher = await WampClient.connect(srv.port)
    bystander = await WampClient.connect(srv.port)
    listener = await WampClient.connect(srv.port)
    await listener.subscribe(topic)
    await listener.barrier()
    # queued, not yet written: the subscribers read nothing
    await flood(publisher, topic, bystander, events=2)
    for s in subs[:4]:
        s.reset()
    await flood(publisher, topic, bystander, events=12)
    for s in subs[4:]:
        s.reset()
    received = [await listener.recv(timeout=10) for _ in range(14)]
    assert [m[2]["n"] for m in received] == [0, 1] + list(range(12))


async def test_publisher_dropped_by_its_own_publication(make_server):
    # High water equal to the limit: the router reads the publisher's requests until the very
    # send that overflows its queue, which is the fan-out of its own publication.
    srv = make_server(CONFIG.replace("write_high_water: 100000", "write_high_water: 300000"))
    topic = unique("self")
    others = await asyncio.to_thread(slow_subscribers, srv.port, topic, 4)
    bystander = await WampClient.connect(srv.port)

    def publish_to_self():
        publisher = RawSession(srv.port)
        publisher.send([5, topic])
        publisher.barrier()
        # excludeMe false: every publication is queued to the publisher too, which never reads
        blob = "y" * (60 * KiB)
        for i in range(120):
            publisher.send([7, topic, {"n": i, "blob": blob}, False])
        return publisher

    publisher = await asyncio.to_thread(publish_to_self)
    assert await asyncio.to_thread(publisher.ended, 10), "the publisher was not dropped"
    publisher.close()
    assert slow_consumer_drops(srv) == 5, srv.log_tail()
    assert await bystander.call(ECHO, "alive", call_id="a") == [CALLRESULT, "a", "alive"]
    for s in others:
        assert await asyncio.to_thread(s.ended, 10)
        s.close()
    await assert_topic_clean(srv.port, bystander, topic)


async def test_bridge_publication_drops_slow_subscribers(make_server):
    srv = make_server(CONFIG)
    topic = unique("bridge")
    subs = await asyncio.to_thread(slow_subscribers, srv.port, topic, 50)
    bystander = await WampClient.connect(srv.port)
    body = json.dumps({"topic": topic, "event": "z" * (60 * KiB)}).encode()
    request = (b"POST /publish HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
               b"Content-Length: " + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body)
    receivers = []
    while slow_consumer_drops(srv) < 50 and len(receivers) < 400:
        response = await asyncio.to_thread(http_raw, srv.port, request)
        assert response.status == 202, response
        receivers.append(json.loads(response.body)["receivers"])
        i = len(receivers)
        assert await bystander.call(ECHO, i, call_id=f"b{i}") == [CALLRESULT, f"b{i}", i]
    # the count falls as subscribers are dropped, and never counts a dropped one again
    assert receivers[0] == 50 and receivers == sorted(receivers, reverse=True)
    response = await asyncio.to_thread(http_raw, srv.port, request)
    assert json.loads(response.body)["receivers"] == 0
    assert slow_consumer_drops(srv) == 50
    for s in subs:
        s.reset()


async def test_callee_dropped_by_the_call_forwarded_to_it(make_server):
    srv = make_server(CONFIG)
    proc = unique("http://example.com/stalled/proc")

    def stalled_callee():
        callee = RawSession(srv.port)
        callee.send([2, "r", REGISTER, proc])
        while (msg := callee.recv())[0] not in (CALLRESULT, CALLERROR):
            pass
        assert msg == [CALLRESULT, "r", proc], msg
        return callee

    callee = await asyncio.to_thread(stalled_callee)
    caller = await WampClient.connect(srv.port)
    bystander = await WampClient.connect(srv.port)
    arg = "c" * (48 * KiB)
    calls = 80
    for i in range(calls):
        await caller.send([2, f"c{i}", proc, arg])
    # every call is answered long before callee_timeout (60 s): those forwarded before and by the
    # send that overflowed the callee's queue with callee-gone, later ones with no-such-endpoint
    replies = {}
    for _ in range(calls):
        msg = await caller.recv(timeout=10)
        assert msg[0] == CALLERROR, msg
        replies[msg[1]] = msg[2]
    assert sorted(replies) == sorted(f"c{i}" for i in range(calls))
    assert set(replies.values()) <= {CALLEE_GONE, NO_SUCH}
    assert CALLEE_GONE in replies.values()
    assert await bystander.call(ECHO, "ok", call_id="o") == [CALLRESULT, "o", "ok"]
    assert await asyncio.to_thread(callee.ended, 10)
    callee.close()
    # the URI is free again
    other = await WampClient.connect(srv.port)
    assert await other.call(REGISTER, proc, call_id="again") == [CALLRESULT, "again", proc]
