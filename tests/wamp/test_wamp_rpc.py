"""Digest sections 7 and 10: RPC against the built-in procedures, unknown procedures, many
outstanding calls, disabled built-ins, and the testee dispatch procedure."""
import json

import pytest

from wampclient import (CALLERROR, CALLRESULT, DISPATCH, DISPATCH_LEGACY, ECHO, EVENT, PING,
                        TOO_MANY_CALLS, WampClient, connect_all, no_such, unique, with_ids)

ECHO_VALUES = [
    None, True, False, 0, 1, -1, 42, 2 ** 31, -2 ** 31, 2 ** 53, 2 ** 63 - 1, -2 ** 63, 2 ** 64 - 1,
    0.5, -1.25, 1e300, -2.5e-300, 3.141592653589793, 0.1,
    "", "text", "ünïcödé ☃ 😀", "\u0000\n\t\"\\", "x" * 10000,
    [], {}, [1, "a", None, True, 2.5, [], {}], {"a": 1, "b": [None, {"c": "d"}], "": "empty key"},
    [[[[[[[[[[1]]]]]]]]]], {"nested": {"deeper": {"deepest": [0, -0.5]}}},
]


@pytest.mark.parametrize("value", ECHO_VALUES, ids=range(len(ECHO_VALUES)))
async def test_echo_returns_first_argument(kreuz, value):
    c = await WampClient.connect(kreuz.port)
    reply = await c.call(ECHO, value, call_id="e")
    assert reply == [CALLRESULT, "e", value]
    assert type(reply[2]) is type(value)  # 1 stays 1 (not 1.0 / true), 0.5 stays a float


async def test_echo_large_integers_exact(kreuz):
    c = await WampClient.connect(kreuz.port)
    for n in (2 ** 53 + 1, 2 ** 63 - 1, -2 ** 63, 2 ** 64 - 1, 9007199254740993):
        await c.send_raw(f'[2,"n",{json.dumps(ECHO)},{n}]')
        raw = await c.recv_raw()
        assert raw.replace(" ", "") == f'[3,"n",{n}]', raw


async def test_echo_without_argument_returns_null(kreuz):
    c = await WampClient.connect(kreuz.port)
    assert await c.call(ECHO, call_id="n") == [CALLRESULT, "n", None]


async def test_echo_with_several_arguments_returns_the_first(kreuz):
    c = await WampClient.connect(kreuz.port)
    assert await c.call(ECHO, "first", "second", 3, call_id="s") == [CALLRESULT, "s", "first"]
    assert await c.call(ECHO, None, "second", call_id="t") == [CALLRESULT, "t", None]


async def test_echo_single_array_argument_is_not_unwrapped(kreuz):
    # Ratchet's quirk (unwrap a lone array argument) must not be copied (digest 3.3)
    c = await WampClient.connect(kreuz.port)
    assert await c.call(ECHO, [1, 2, 3], call_id="a") == [CALLRESULT, "a", [1, 2, 3]]
    assert await c.call(ECHO, [[1]], call_id="b") == [CALLRESULT, "b", [[1]]]


async def test_ping(kreuz):
    c = await WampClient.connect(kreuz.port)
    assert await c.call(PING, call_id="p") == [CALLRESULT, "p", None]
    assert await c.call(PING, 1, "x", call_id="q") == [CALLRESULT, "q", None]


@pytest.mark.parametrize("uri", [
    "http://example.com/simple/calc#square",
    "http://api.wamp.ws/procedure#echo2",
    "http://api.wamp.ws/procedure#Echo",
    "http://api.wamp.ws/procedure#",
    "http://api.wamp.ws/procedure#echo ",
    "http://api.wamp.ws/procedure#authrequest",
    "onNewData",
    "ü://日本",
    "http://api.testsuite.wamp.ws/autobahn/testee/control#dispatch",
])
async def test_unknown_procedure_error_exact(kreuz, uri):
    c = await WampClient.connect(kreuz.port)
    assert await c.call(uri, 1, {"a": 2}, call_id="u") == no_such("u", uri)
    # and the session keeps working
    assert await c.call(PING, call_id="p") == [CALLRESULT, "p", None]


async def test_50_outstanding_calls(kreuz):
    c = await WampClient.connect(kreuz.port)
    ids = [f"0.{i:x}k2j9x{i}" for i in range(50)]
    for i, cid in enumerate(ids):
        if i % 10 == 9:
            await c.send([2, cid, "http://example.com/missing", i])
        else:
            await c.send([2, cid, ECHO, {"n": i}])
    replies = {}
    for _ in range(50):
        m = await c.recv()
        assert m[1] not in replies, f"second reply for {m[1]!r}"
        replies[m[1]] = m
    for i, cid in enumerate(ids):
        if i % 10 == 9:
            assert replies[cid] == no_such(cid, "http://example.com/missing")
        else:
            assert replies[cid] == [CALLRESULT, cid, {"n": i}]
    await c.expect_nothing()


async def test_outstanding_calls_of_two_sessions_do_not_mix(kreuz):
    a, b = await connect_all(kreuz.port, 2)
    for i in range(25):
        await a.send([2, f"c{i}", ECHO, ["a", i]])
        await b.send([2, f"c{i}", ECHO, ["b", i]])
    ra = [await a.recv() for _ in range(25)]
    rb = [await b.recv() for _ in range(25)]
    assert sorted(ra, key=lambda m: int(m[1][1:])) == [[CALLRESULT, f"c{i}", ["a", i]] for i in range(25)]
    assert sorted(rb, key=lambda m: int(m[1][1:])) == [[CALLRESULT, f"c{i}", ["b", i]] for i in range(25)]


# ---------------------------------------------------------------------------- disabled built-ins


@pytest.mark.parametrize("uri", [PING, ECHO, DISPATCH, DISPATCH_LEGACY])
async def test_disabled_builtins_are_unknown(multi, uri):
    c = await WampClient.connect(multi.port, "/nobuiltins")
    assert await c.call(uri, "t", 1, call_id="d") == no_such("d", uri)


async def test_disabling_echo_keeps_others(multi):
    c = await WampClient.connect(multi.port, "/noecho")
    assert await c.call(ECHO, 1, call_id="e") == no_such("e", ECHO)
    assert await c.call(PING, call_id="p") == [CALLRESULT, "p", None]
    topic = unique()
    await c.subscribe(topic)
    await c.send([2, "d", DISPATCH, topic, "x", {"excludeMe": False}])
    assert await c.recv() == [EVENT, topic, "x"]
    assert await c.recv() == [CALLRESULT, "d", None]


async def test_default_config_has_all_builtins(kreuz):
    c = await WampClient.connect(kreuz.port)
    for uri in (PING, ECHO, DISPATCH, DISPATCH_LEGACY):
        m = await c.call(uri, unique(), None, call_id="b")
        assert m[0] == CALLRESULT, m


# ---------------------------------------------------------------------------- section 10: dispatch

# (options, receivers among (p0 = caller, p1)); p0/p1 in option strings become session ids
DISPATCH_CASES = [
    (None, {1}),                               # no options argument at all
    ("null", {1}),
    ("{}", {1}),
    ('{"excludeMe": true}', {1}),
    ('{"excludeMe": null}', {1}),
    ('{"excludeMe": false}', {0, 1}),
    ('{"exclude": []}', {0, 1}),
    ('{"exclude": [p0]}', {1}),
    ('{"exclude": [p1]}', {0}),
    ('{"exclude": [p0, p1]}', set()),
    ('{"exclude": [], "excludeMe": true}', {0, 1}),     # exclude replaces everything
    ('{"exclude": [p1], "excludeMe": true}', {0}),
    ('{"exclude": [p0], "excludeMe": false}', {1}),
    ('{"eligible": [p1]}', {1}),
    ('{"eligible": [p0]}', set()),                       # caller excluded by default
    ('{"eligible": [p0], "excludeMe": false}', {0}),
    ('{"eligible": [p0, p1], "excludeMe": false}', {0, 1}),
    ('{"eligible": []}', {1}),                           # empty eligible = no filter (testee)
    ('{"eligible": [], "excludeMe": false}', {0, 1}),
    ('{"eligible": [], "exclude": [p1]}', {0}),
    ('{"exclude": [], "eligible": [p1]}', {1}),
    ('{"exclude": [p1], "eligible": [p0, p1]}', {0}),
    ('{"eligible": null}', {1}),
]


@pytest.mark.parametrize("uri", [DISPATCH, DISPATCH_LEGACY], ids=["wamp-proto.org", "wamp.ws"])
@pytest.mark.parametrize("options,expected", DISPATCH_CASES, ids=range(len(DISPATCH_CASES)))
async def test_dispatch_options(kreuz, uri, options, expected):
    topic = unique("dispatch")
    p0, p1 = await connect_all(kreuz.port, 2)
    await p0.subscribe(topic)
    await p1.subscribe(topic)
    await p0.barrier()
    await p1.barrier()
    event = {"opts": options}
    args = f"{json.dumps(topic)}, {json.dumps(event)}"
    if options is not None:
        args += ", " + with_ids(options, p0.session_id, p1.session_id)
    await p0.send_raw(f'[2, "disp", {json.dumps(uri)}, {args}]')
    got0 = []
    for _ in range(3):
        m = await p0.recv()
        if m[0] == CALLRESULT:
            assert m == [CALLRESULT, "disp", None]
            break
        got0.append(m)
    else:
        raise AssertionError(f"no CALLRESULT for dispatch: {got0!r}")
    got1 = await p1.barrier()
    assert all(m == [EVENT, topic, event] for m in got0 + got1), (got0, got1)
    assert len(got0) <= 1 and len(got1) <= 1, (got0, got1)
    assert {i for i, g in enumerate((got0, got1)) if g} == expected


async def test_dispatch_by_curie_and_to_unsubscribed_topic(kreuz):
    p0, p1 = await connect_all(kreuz.port, 2)
    await p0.prefix("ctl", "http://api.testsuite.wamp-proto.org/testee/control#")
    topic = unique()
    await p1.subscribe(topic)
    await p1.barrier()
    assert await p0.call("ctl:dispatch", topic, "c", call_id="c") == [CALLRESULT, "c", None]
    assert await p1.barrier() == [[EVENT, topic, "c"]]
    assert await p0.call("ctl:dispatch", unique("nobody"), "z", {}, call_id="z") == [CALLRESULT, "z", None]
    await p1.expect_nothing()


async def test_dispatch_needs_no_publisher_subscription_and_reaches_all(kreuz):
    topic = unique()
    caller, *subs = await connect_all(kreuz.port, 4)
    for s in subs:
        await s.subscribe(topic)
        await s.barrier()
    assert await caller.call(DISPATCH, topic, [1, 2], {"excludeMe": False}, call_id="x") == [CALLRESULT, "x", None]
    for s in subs:
        assert await s.barrier() == [[EVENT, topic, [1, 2]]]


# ---------------------------------------------------------------------------- pending-call limit


async def test_max_pending_calls_zero_refuses_every_call(multi):
    c = await WampClient.connect(multi.port, "/nocalls")
    for cid, uri in (("a", PING), ("b", ECHO), ("c", "http://example.com/none")):
        m = await c.call(uri, 1, call_id=cid)
        assert m[:3] == [CALLERROR, cid, TOO_MANY_CALLS], m
        assert len(m) == 4 and isinstance(m[3], str) and m[3], m
    # the session keeps working for PubSub
    topic = unique()
    other = await WampClient.connect(multi.port, "/nocalls")
    await c.subscribe(topic)
    # The refused call's answer proves the router has processed the subscription
    # (a ping barrier is refused here too, so it is the only ordering signal).
    assert (await c.call(PING, call_id="sync"))[0] == CALLERROR
    await other.publish(topic, 1)
    assert await c.recv() == [EVENT, topic, 1]


async def test_pending_call_counter_does_not_leak(multi):
    # max_pending_calls: 1 and synchronous built-ins: pipelined calls (results, errors) all succeed
    c = await WampClient.connect(multi.port, "/limits")
    n = 60
    for i in range(n):
        uri = (ECHO, PING, "http://example.com/none")[i % 3]
        await c.send([2, f"k{i}", uri, i])
    for i in range(n):
        m = await c.recv()
        assert m[1] == f"k{i}"
        if i % 3 == 0:
            assert m == [CALLRESULT, f"k{i}", i]
        elif i % 3 == 1:
            assert m == [CALLRESULT, f"k{i}", None]
        else:
            assert m == no_such(f"k{i}", "http://example.com/none")


@pytest.mark.parametrize("args", [[], [5, "e"], [None, "e", {}], [["t"], "e"]], ids=range(4))
async def test_dispatch_without_string_topic_is_an_error_not_a_crash(kreuz, args):
    c = await WampClient.connect(kreuz.port)
    m = await c.call(DISPATCH, *args, call_id="bad")
    assert m[0] == CALLERROR and m[1] == "bad" and len(m) == 4, m
    assert await c.call(PING, call_id="ok") == [CALLRESULT, "ok", None]
