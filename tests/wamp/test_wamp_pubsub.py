"""Digest section 6: PubSub. Every row of the 6.3 truth table, sent wire-exact as the table's
"wire tail" column; subscribe/unsubscribe edge cases; wrong types in the 4th/5th element;
ordering; plain-word topics."""
import asyncio
import json

import pytest

from wampclient import EVENT, WampClient, connect_all, receivers, unique, with_ids

# (wire tail after `event`, with p0/p1 standing for the peers' session ids; receivers)
# Rows of the 6.3 table; rows with "X or Y" appear once per alternative.
TRUTH_TABLE = [
    (", null", {1}),
    ("", {1}),
    (", false", {0, 1}),
    (", []", {0, 1}),
    (", [p0]", {1}),
    (", [p1]", {0}),
    (", [p0,p1]", set()),
    (", [p0], []", set()),
    (", [p0], [p0]", set()),
    (", [p0], [p1]", {1}),
    (", [p0], [p0,p1]", {1}),
    (", [], [p0]", {0}),
    (", [], [p0,p1]", {0, 1}),
    (", [], [p0]", {0}),          # the "any | [] | [p0]" row: same wire as the row above
    (", [p1], [p0,p1]", {0}),
    # the excludeMe boolean as AutobahnJS sends it (digest 3.7 form 2)
    (", true", {1}),
]


def wire(topic, event, tail, p0, p1):
    tail = with_ids(tail, p0, p1)
    return f"[7, {json.dumps(topic)}, {json.dumps(event)}{tail}]"


@pytest.mark.parametrize("tail,expected", TRUTH_TABLE, ids=[f"row{i + 1}:{r[0] or 'none'}"
                                                           for i, r in enumerate(TRUTH_TABLE)])
async def test_truth_table(kreuz, tail, expected):
    topic = unique("truth")
    p0, p1 = await connect_all(kreuz.port, 2)
    await p0.subscribe(topic)
    await p1.subscribe(topic)
    await p0.barrier()
    await p1.barrier()
    event = {"row": tail}
    await p0.send_raw(wire(topic, event, tail, p0.session_id, p1.session_id))
    assert await receivers(p0, [p0, p1], topic, event) == expected


@pytest.mark.parametrize("tail,expected", TRUTH_TABLE[:7] + TRUTH_TABLE[-1:], ids=range(8))
async def test_truth_table_with_unsubscribed_third_peer(kreuz, tail, expected):
    # a third session that is named nowhere and not subscribed changes nothing and gets nothing
    topic = unique("truth3")
    p0, p1, p2 = await connect_all(kreuz.port, 3)
    await p0.subscribe(topic)
    await p1.subscribe(topic)
    await p0.barrier()
    await p1.barrier()
    await p0.send_raw(wire(topic, 1, tail, p0.session_id, p1.session_id))
    assert await receivers(p0, [p0, p1, p2], topic, 1) == expected


# 4th/5th elements of the wrong type mean "default" (digest 3.7, AB-Py)
WRONG_TYPES = [
    (", null", {1}),
    (', "x"', {1}),
    (", 0", {1}),
    (", 1", {1}),
    (", {}", {1}),
    (', {"exclude": []}', {1}),
    (", null, null", {1}),
    (', null, "x"', {1}),
    (", false, null", {0, 1}),
    (", false, {}", {0, 1}),
    (", true, 7", {1}),
    (", [p1], null", {0}),
    (", [p1], {}", {0}),
    (", [], true", {0, 1}),
    (', "x", [p0]', set()),       # default exclusion (publisher) + eligible [p0]
    (", null, [p0,p1]", {1}),
    (", false, [p0]", {0}),       # boolean excludeMe with an eligible list
    (", true, [p0,p1]", {1}),
    (", [1, null, p1], [p0, 2, p1]", {0}),  # non-strings in the lists are dropped
]


@pytest.mark.parametrize("tail,expected", WRONG_TYPES, ids=range(len(WRONG_TYPES)))
async def test_wrong_types_in_4th_5th_mean_defaults(kreuz, tail, expected):
    topic = unique("wrong")
    p0, p1 = await connect_all(kreuz.port, 2)
    await p0.subscribe(topic)
    await p1.subscribe(topic)
    await p0.barrier()
    await p1.barrier()
    await p0.send_raw(wire(topic, "w", tail, p0.session_id, p1.session_id))
    assert await receivers(p0, [p0, p1], topic, "w") == expected


@pytest.mark.parametrize("tail,expected", [
    (", [unknown]", {0, 1}),
    (", [p1, unknown]", {0}),
    (", [], [unknown]", set()),
    (", [], [unknown, p1]", {1}),
    (", [unknown], [p0, p1, unknown]", {0, 1}),
], ids=range(5))
async def test_unknown_session_ids_are_ignored(kreuz, tail, expected):
    topic = unique("unknown")
    p0, p1 = await connect_all(kreuz.port, 2)
    await p0.subscribe(topic)
    await p1.subscribe(topic)
    await p0.barrier()
    await p1.barrier()
    tail = tail.replace("unknown", json.dumps("NoSuchSession-00"))
    await p0.send_raw(wire(topic, "u", tail, p0.session_id, p1.session_id))
    assert await receivers(p0, [p0, p1], topic, "u") == expected


@pytest.mark.parametrize("event", [None, 0, "", False, [], {}, "s", 1.25, -7, [None], {"a": {"b": [1]}}],
                         ids=range(11))
async def test_any_event_value_is_delivered(kreuz, event):
    topic = unique("ev")
    p0, p1 = await connect_all(kreuz.port, 2)
    await p1.subscribe(topic)
    await p1.barrier()
    await p0.publish(topic, event)
    assert await receivers(p0, [p0, p1], topic, event) == {1}


async def test_null_event_with_null_excludeme(kreuz):
    # [7, t, e, null] with e itself null (AB-Py client publishing None)
    topic = unique()
    p0, p1 = await connect_all(kreuz.port, 2)
    await p0.subscribe(topic)
    await p1.subscribe(topic)
    await p0.barrier()
    await p1.barrier()
    await p0.send_raw(f"[7,{json.dumps(topic)},null,null]")
    assert await receivers(p0, [p0, p1], topic, None) == {1}


async def test_idempotent_subscribe_one_event(kreuz):
    topic = unique("idem")
    sub, pub = await connect_all(kreuz.port, 2)
    await sub.prefix("p", topic[:-3])
    for _ in range(3):
        await sub.subscribe(topic)
    await sub.subscribe("p:" + topic[-3:])  # same topic via CURIE
    await sub.barrier()
    await pub.publish(topic, "once")
    assert await receivers(pub, [pub, sub], topic, "once") == {1}
    # a single UNSUBSCRIBE undoes the repeated SUBSCRIBEs
    await sub.unsubscribe(topic)
    await sub.barrier()
    await pub.publish(topic, "gone")
    assert await receivers(pub, [pub, sub], topic, "gone") == set()


async def test_unsubscribe_when_not_subscribed_is_silent(kreuz):
    topic = unique("nosub")
    c, other = await connect_all(kreuz.port, 2)
    await c.unsubscribe(topic)
    await c.unsubscribe("never:subscribed")
    await c.expect_nothing()
    await c.subscribe(topic)
    await c.unsubscribe(topic)
    await c.unsubscribe(topic)
    await c.expect_nothing()
    # the session keeps working
    await c.subscribe(topic)
    await c.barrier()
    await other.publish(topic, 1)
    assert await receivers(other, [other, c], topic, 1) == {1}


async def test_unsubscribe_only_affects_that_session(kreuz):
    topic = unique()
    a, b, pub = await connect_all(kreuz.port, 3)
    await a.subscribe(topic)
    await b.subscribe(topic)
    await a.unsubscribe(topic)
    await a.barrier()
    await b.barrier()
    await pub.publish(topic, 2)
    assert await receivers(pub, [pub, a, b], topic, 2) == {2}


async def test_publish_without_subscribers(kreuz):
    pub, idle = await connect_all(kreuz.port, 2)
    for form in ([], [True], [False], [[]], [[pub.session_id]], [[], []], [[], [pub.session_id]]):
        await pub.publish(unique("nobody"), {"f": repr(form)}, *form)
    await pub.expect_nothing()
    await idle.expect_nothing()


async def test_publisher_need_not_be_subscribed(kreuz):
    topic = unique()
    pub, sub = await connect_all(kreuz.port, 2)
    await sub.subscribe(topic)
    await sub.barrier()
    await pub.publish(topic, "x", False)   # excludeMe false, but pub is not a subscriber
    assert await receivers(pub, [pub, sub], topic, "x") == {1}


async def test_events_only_for_exact_topic(kreuz):
    base = unique("exact")
    pub, sub = await connect_all(kreuz.port, 2)
    await sub.subscribe(base)
    await sub.barrier()
    for other in (base + "/sub", base[:-1], base + "#", base.upper(), " " + base):
        await pub.publish(other, "no")
    await pub.publish(base, "yes")
    await pub.barrier()
    assert await sub.barrier() == [[EVENT, base, "yes"]]


@pytest.mark.parametrize("topic", ["onNewData", "chat.x.5", "chat.updatejson.5", "a", "x y z", "ü/日本",
                                   "event:myevent1", "#", "1"])
async def test_plain_word_topics(kreuz, topic):
    sub, pub = await connect_all(kreuz.port, 2)
    await sub.subscribe(topic)
    await sub.barrier()
    await pub.publish(topic, {"t": topic})
    assert await receivers(pub, [pub, sub], topic, {"t": topic}) == {1}
    await sub.unsubscribe(topic)
    await sub.barrier()
    await pub.publish(topic, 2)
    assert await receivers(pub, [pub, sub], topic, 2) == set()


async def test_fifo_200_events_to_two_subscribers(kreuz):
    topic = unique("fifo")
    pub, s1, s2 = await connect_all(kreuz.port, 3)
    await s1.subscribe(topic)
    await s2.subscribe(topic)
    await s1.barrier()
    await s2.barrier()
    events = [{"i": i, "pad": "x" * ((i % 7) * 40)} for i in range(200)]  # sizes around deflate's min_size
    for e in events:
        await pub.publish(topic, e)
    for s in (s1, s2):
        got = [await s.recv() for _ in range(200)]
        assert [m[2]["i"] for m in got] == list(range(200)), [m[2]["i"] for m in got][:20]
        assert got == [[EVENT, topic, e] for e in events]
    assert await pub.barrier() == []
    assert await s1.barrier() == [] and await s2.barrier() == []


async def test_fifo_per_publisher_with_two_interleaved_publishers(kreuz):
    topic = unique("fifo2")
    a, b, s = await connect_all(kreuz.port, 3)
    await s.subscribe(topic)
    await s.barrier()

    async def run(c, tag):
        for i in range(100):
            await c.publish(topic, [tag, i])

    await asyncio.gather(run(a, "a"), run(b, "b"))
    got = [await s.recv() for _ in range(200)]
    assert all(m[0] == EVENT and m[1] == topic for m in got)
    assert [m[2][1] for m in got if m[2][0] == "a"] == list(range(100))
    assert [m[2][1] for m in got if m[2][0] == "b"] == list(range(100))
    assert await s.barrier() == []


async def test_fanout_to_many_subscribers(kreuz):
    topic = unique("fan")
    pub = await WampClient.connect(kreuz.port)
    subs = await connect_all(kreuz.port, 20)
    for s in subs:
        await s.subscribe(topic)
        await s.barrier()
    await pub.publish(topic, "all", [], [s.session_id for s in subs[::2]])
    assert await receivers(pub, [pub] + subs, topic, "all") == set(range(1, 21, 2))
