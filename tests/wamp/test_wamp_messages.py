"""Digest sections 2, 3 and 5: the layout of every message the router sends, callIds echoed
verbatim, session ids."""
import json

import pytest

from wampclient import (CALLRESULT, DISPATCH, ECHO, EVENT, PING, SESSION_ID_RE, WampClient,
                        connect_all, no_such, unique)


async def test_welcome_is_first_and_exact(kreuz, version):
    c = await WampClient.connect(kreuz.port)
    # [0, sessionId, 1, "kreuz/<version>"], 4 elements, an integer version (not true/1.0)
    assert c.welcome == [0, c.session_id, 1, f"kreuz/{version}"]
    raw = json.loads(c.welcome_raw)
    assert type(raw[0]) is int and type(raw[2]) is int
    assert SESSION_ID_RE.match(c.session_id)


async def test_welcome_arrives_first_even_if_client_talks_first(kreuz):
    c = await WampClient.connect(kreuz.port, read_welcome=False)
    await c.send([2, "early", PING])
    await c.read_welcome()
    assert await c.recv() == [CALLRESULT, "early", None]


async def test_no_second_welcome_and_no_prefix_from_router(kreuz):
    a, b = await connect_all(kreuz.port, 2)
    topic = unique()
    await a.prefix("p", "http://example.com/")
    await b.prefix("p", "http://example.com/")
    await a.subscribe(topic)
    await a.barrier()
    await b.call(PING)
    await b.publish(topic, 1)
    await b.call(ECHO, 1)
    # WampClient.recv() fails on any WELCOME or PREFIX; everything arrives as expected.
    assert await a.barrier() == [[EVENT, topic, 1]]
    await b.expect_nothing()


async def test_callresult_layout(kreuz):
    c = await WampClient.connect(kreuz.port)
    raw_reply = None
    await c.send_raw('[2,"r1","http://api.wamp.ws/procedure#echo",{"a":[1,2,{"b":null}]}]')
    raw_reply = await c.recv_raw()
    assert json.loads(raw_reply) == [3, "r1", {"a": [1, 2, {"b": None}]}]


async def test_callerror_layout_for_unknown_procedure(kreuz):
    c = await WampClient.connect(kreuz.port)
    uri = "http://example.com/no/such#proc"
    await c.send_raw(json.dumps([2, "e1", uri, 1, 2]))
    reply = json.loads(await c.recv_raw())
    assert reply == [4, "e1", "http://api.wamp.ws/error#NoSuchRPCEndpoint", f"No RPC endpoint registered for {uri}."]
    assert len(reply) == 4  # no errorDetails, and certainly not a null one


async def test_event_layout(kreuz):
    a, b = await connect_all(kreuz.port, 2)
    topic = unique()
    await a.subscribe(topic)
    await a.barrier()
    await b.send_raw(json.dumps([7, topic, {"k": ["v", 1.5, True, None]}]))
    raw = await a.recv_raw()
    assert json.loads(raw) == [8, topic, {"k": ["v", 1.5, True, None]}]


CALL_IDS = [
    "0.k2j9xq7pkvi",                 # AutobahnJS Math.random().toString(36)
    "0.5n3x8fwb2bv1c3di",
    "Qx3kTn8bLw0aZpRm",              # AutobahnPython newid()
    "",                              # empty
    "1",
    " leading and trailing ",
    "ünïcödé ☃ 日本語",
    "emoji 😀👍🏽",
    'quote " backslash \\ slash /',
    "tab\tnewline\ncr\r",
    "\u0000nul\u0001ctl\u001f",
    "\u2028\u2029",
    "x" * 5000,
    "[2,\"nested\",\"json\"]",
    "<script>alert(1)</script>",
]


@pytest.mark.parametrize("call_id", CALL_IDS, ids=range(len(CALL_IDS)))
async def test_call_id_echoed_verbatim(kreuz, call_id):
    c = await WampClient.connect(kreuz.port)
    assert await c.call(ECHO, call_id, call_id=call_id) == [CALLRESULT, call_id, call_id]
    assert await c.call(PING, call_id=call_id) == [CALLRESULT, call_id, None]
    uri = "http://example.com/none"
    assert await c.call(uri, call_id=call_id) == no_such(call_id, uri)


async def test_call_id_with_escaped_and_raw_unicode_forms(kreuz):
    c = await WampClient.connect(kreuz.port)
    # the same callId written with \u escapes (incl. a surrogate pair) and as raw UTF-8
    await c.send_raw('[2,"\\u00fc\\ud83d\\ude00\\/x","http://api.wamp.ws/procedure#ping"]')
    assert await c.recv() == [CALLRESULT, "ü😀/x", None]
    await c.send_raw('[2,"ü😀/x","http://api.wamp.ws/procedure#ping"]')
    assert await c.recv() == [CALLRESULT, "ü😀/x", None]


async def test_duplicate_call_ids_are_each_answered(kreuz):
    c = await WampClient.connect(kreuz.port)
    for i in range(3):
        await c.send([2, "same", ECHO, i])
    assert [await c.recv() for _ in range(3)] == [[CALLRESULT, "same", i] for i in range(3)]


# ---------------------------------------------------------------------------- section 5


async def test_session_ids_unique_and_well_formed(kreuz):
    clients = await connect_all(kreuz.port, 40)
    ids = [c.session_id for c in clients]
    assert all(SESSION_ID_RE.match(i) for i in ids), ids
    assert len(set(ids)) == len(ids), ids
    for c in clients[:20]:
        await c.close()
    more = await connect_all(kreuz.port, 20)
    ids2 = [c.session_id for c in more]
    assert len(set(ids) | set(ids2)) == 60


async def test_session_id_is_fixed_for_the_connection(kreuz):
    a, b = await connect_all(kreuz.port, 2)
    topic = unique()
    await a.subscribe(topic)
    await b.subscribe(topic)
    await a.barrier()
    await b.barrier()
    # b excludes a by the id from a's WELCOME: a gets nothing, b (not excluded) gets it
    await b.publish(topic, "x", [a.session_id])
    assert await b.barrier() == [[EVENT, topic, "x"]]
    assert await a.barrier() == []


@pytest.mark.parametrize("how", ["close", "abort"])
async def test_departed_session_no_longer_receives_or_counts(kreuz, how):
    topic = unique("departed")
    p0, p1, gone = await connect_all(kreuz.port, 3)
    for c in (p0, p1, gone):
        await c.subscribe(topic)
        await c.barrier()
    gone_id = gone.session_id
    if how == "close":
        await gone.close()
    else:
        gone.abort()
    # the router may see the abort a little later; a fresh connection + barrier gives it time to
    # process the EOF (it is one loop), then publish many events at the departed subscriber.
    probe = await WampClient.connect(kreuz.port)
    await probe.barrier()
    for i in range(50):
        await p0.publish(topic, i, False)
    got0 = await p0.barrier()
    got1 = await p1.barrier()
    assert got0 == [[EVENT, topic, i] for i in range(50)]
    assert got1 == [[EVENT, topic, i] for i in range(50)]
    # eligible = only the departed id: nobody
    await p0.publish(topic, "e1", [], [gone_id])
    assert await p0.barrier() == [] and await p1.barrier() == []
    # eligible = departed + p1: p1
    await p0.publish(topic, "e2", [], [gone_id, p1.session_id])
    assert await p0.barrier() == [] and await p1.barrier() == [[EVENT, topic, "e2"]]
    # exclude = [departed] replaces the default: the publisher gets its own event too
    await p0.publish(topic, "e3", [gone_id])
    assert await p0.barrier() == [[EVENT, topic, "e3"]] and await p1.barrier() == [[EVENT, topic, "e3"]]
    # dispatch with the departed id in eligible / exclude
    assert await p1.call(DISPATCH, topic, "d1", {"eligible": [gone_id]}, call_id="d1") == [CALLRESULT, "d1", None]
    assert await p0.barrier() == [] and await p1.barrier() == []
    await p1.send([2, "d2", DISPATCH, topic, "d2", {"exclude": [gone_id]}])
    assert await p1.recv() == [EVENT, topic, "d2"]  # exclude replaces excludeMe: the caller gets it
    assert await p1.recv() == [CALLRESULT, "d2", None]
    assert await p0.barrier() == [[EVENT, topic, "d2"]]


async def test_dispatch_reaches_caller_before_result(kreuz):
    topic = unique()
    c = await WampClient.connect(kreuz.port)
    await c.subscribe(topic)
    await c.send([2, "d", DISPATCH, topic, "ev", {"excludeMe": False}])
    assert await c.recv() == [EVENT, topic, "ev"]
    assert await c.recv() == [CALLRESULT, "d", None]


async def test_subscriptions_of_closed_session_do_not_leak_to_new_session(kreuz):
    topic = unique()
    old = await WampClient.connect(kreuz.port)
    await old.subscribe(topic)
    await old.barrier()
    await old.close()
    pub, new = await connect_all(kreuz.port, 2)
    await pub.publish(topic, 1)
    await pub.barrier()
    assert await new.barrier() == []
