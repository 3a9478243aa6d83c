"""Digest section 4 (and 3.2): PREFIX and CURIE resolution for CALL, SUBSCRIBE, UNSUBSCRIBE and
PUBLISH; EVENT always carries the full URI; prefixes are per session."""
import pytest

from wampclient import CALLRESULT, EVENT, WampClient, connect_all, no_such, unique

PROC_BASE = "http://api.wamp.ws/procedure#"


async def test_call_with_curie(kreuz):
    c = await WampClient.connect(kreuz.port)
    await c.prefix("api", PROC_BASE)
    assert await c.call("api:echo", [1, "two"], call_id="c1") == [CALLRESULT, "c1", [1, "two"]]
    assert await c.call("api:ping", call_id="c2") == [CALLRESULT, "c2", None]


async def test_call_unknown_curie_names_the_resolved_uri(kreuz):
    c = await WampClient.connect(kreuz.port)
    await c.prefix("api", PROC_BASE)
    await c.prefix("err", "http://api.wamp.ws/error#")
    # the error names the resolved procedure and carries the full error URI
    assert await c.call("api:nope", call_id="x") == no_such("x", PROC_BASE + "nope")


async def test_subscribe_with_curie_event_has_full_uri(kreuz):
    base = unique("sub") + "/"
    sub, pub = await connect_all(kreuz.port, 2)
    await sub.prefix("ev", base)
    await sub.subscribe("ev:news")
    await sub.barrier()
    await pub.publish(base + "news", "n1")
    assert await pub.barrier() == []
    assert await sub.barrier() == [[EVENT, base + "news", "n1"]]


async def test_publish_with_curie(kreuz):
    base = unique("pub") + "/"
    sub, pub = await connect_all(kreuz.port, 2)
    await sub.subscribe(base + "x")
    await sub.barrier()
    await pub.prefix("q", base)
    await pub.publish("q:x", {"v": 1})
    assert await pub.barrier() == []
    assert await sub.barrier() == [[EVENT, base + "x", {"v": 1}]]


async def test_publish_with_curie_to_curie_subscriber_both_full(kreuz):
    base = unique("both") + "#"
    a, b = await connect_all(kreuz.port, 2)
    await a.prefix("t", base)
    await b.prefix("u", base)
    await a.subscribe("t:x")
    await b.subscribe("u:x")
    await a.barrier()
    await b.barrier()
    await a.publish("t:x", 5, False)
    assert await a.barrier() == [[EVENT, base + "x", 5]]
    assert await b.barrier() == [[EVENT, base + "x", 5]]


async def test_unsubscribe_with_curie(kreuz):
    base = unique("unsub") + "#"
    sub, pub = await connect_all(kreuz.port, 2)
    await sub.subscribe(base + "a")       # subscribed by full URI
    await sub.prefix("p", base)
    await sub.unsubscribe("p:a")          # unsubscribed by CURIE
    await sub.barrier()
    await pub.publish(base + "a", 1)
    await pub.barrier()
    assert await sub.barrier() == []
    await sub.subscribe("p:a")            # and the reverse
    await sub.unsubscribe(base + "a")
    await sub.barrier()
    await pub.publish(base + "a", 2)
    await pub.barrier()
    assert await sub.barrier() == []


async def test_prefix_redefinition_overwrites(kreuz):
    one, two = unique("one") + "#", unique("two") + "#"
    sub, pub = await connect_all(kreuz.port, 2)
    await sub.prefix("p", one)
    await sub.subscribe("p:x")             # -> one#x
    await sub.prefix("p", two)
    await sub.subscribe("p:x")             # -> two#x
    await sub.barrier()
    await pub.publish(one + "x", "a")
    await pub.publish(two + "x", "b")
    assert await pub.barrier() == []
    assert await sub.barrier() == [[EVENT, one + "x", "a"], [EVENT, two + "x", "b"]]
    await sub.unsubscribe("p:x")           # resolves with the new mapping: two#x
    await sub.barrier()
    await pub.publish(one + "x", "c")
    await pub.publish(two + "x", "d")
    assert await pub.barrier() == []
    assert await sub.barrier() == [[EVENT, one + "x", "c"]]
    await sub.prefix("api", "http://nowhere/")
    await sub.prefix("api", PROC_BASE)
    assert await sub.call("api:echo", 3, call_id="r") == [CALLRESULT, "r", 3]


async def test_full_uris_pass_through(kreuz):
    topic = unique("full")
    sub, pub = await connect_all(kreuz.port, 2)
    await sub.prefix("ex", "http://other.example/")   # unrelated prefix
    await pub.prefix("ex", "http://other.example/")
    await sub.subscribe(topic)
    await sub.barrier()
    await pub.publish(topic, 1)
    assert await pub.barrier() == []
    assert await sub.barrier() == [[EVENT, topic, 1]]
    assert await sub.call(PROC_BASE + "echo", 1, call_id="q") == [CALLRESULT, "q", 1]


@pytest.mark.parametrize("topic", ["zz:undeclared", ":leading-colon", "urn:x:y", "a:b:c"])
async def test_undeclared_prefix_passes_through_literally(kreuz, topic):
    sub, pub = await connect_all(kreuz.port, 2)
    await sub.subscribe(topic)
    await sub.barrier()
    await pub.publish(topic, "lit")
    assert await pub.barrier() == []
    assert await sub.barrier() == [[EVENT, topic, "lit"]]


async def test_only_first_colon_splits(kreuz):
    base = unique("first") + "/"
    sub, pub = await connect_all(kreuz.port, 2)
    await sub.prefix("a", base)
    await sub.subscribe("a:b:c")          # -> base + "b:c"
    await sub.barrier()
    await pub.publish(base + "b:c", 1)
    assert await pub.barrier() == []
    assert await sub.barrier() == [[EVENT, base + "b:c", 1]]


async def test_plain_concatenation_nothing_inserted(kreuz):
    base = unique("concat")               # no trailing separator
    sub, pub = await connect_all(kreuz.port, 2)
    await sub.prefix("c", base)
    await sub.subscribe("c:tail")
    await sub.barrier()
    await pub.publish(base + "tail", 1)    # not base + "#tail" (Ratchet) nor base + "/tail"
    await pub.publish(base + "#tail", 2)
    assert await pub.barrier() == []
    assert await sub.barrier() == [[EVENT, base + "tail", 1]]


async def test_declaring_http_prefix_rewrites_http_uris(kreuz):
    # accepted quirk of section 4: a declared prefix "http" rewrites full http URIs
    tail = unique("quirk")[len("http:"):]   # "//example.com/..."
    sub, pub = await connect_all(kreuz.port, 2)
    await sub.prefix("http", "urn:rewritten:")
    await sub.subscribe("http:" + tail)     # -> "urn:rewritten:" + tail
    await sub.barrier()
    await pub.publish("http:" + tail, 1)    # pub has no such prefix: full http URI, no match
    await pub.publish("urn:rewritten:" + tail, 2)
    assert await pub.barrier() == []
    assert await sub.barrier() == [[EVENT, "urn:rewritten:" + tail, 2]]


async def test_prefix_uri_is_taken_literally(kreuz):
    sub, pub = await connect_all(kreuz.port, 2)
    b = unique("lit") + "#"
    await sub.prefix("b", b)
    await sub.prefix("a", "b:")             # not resolved through "b"
    await sub.subscribe("a:x")              # -> "b:x" literally
    await sub.barrier()
    await pub.publish(b + "x", 1)
    await pub.publish("b:x", 2)
    assert await pub.barrier() == []
    assert await sub.barrier() == [[EVENT, "b:x", 2]]


async def test_empty_prefix_is_not_usable(kreuz):
    # AB-Py resolves only a non-empty prefix: ":x" always passes through
    sub, pub = await connect_all(kreuz.port, 2)
    base = unique("empty") + "#"
    await sub.send([1, "", base])
    await sub.subscribe(":x")
    await sub.barrier()
    await pub.publish(base + "x", 1)
    await pub.publish(":x", 2)
    assert await pub.barrier() == []
    assert await sub.barrier() == [[EVENT, ":x", 2]]


async def test_two_sessions_bind_same_prefix_differently(kreuz):
    ua, ub = unique("A") + "#", unique("B") + "#"
    a, b, third = await connect_all(kreuz.port, 3)
    await a.prefix("p", ua)
    await b.prefix("p", ub)
    await a.subscribe("p:x")
    await b.subscribe("p:x")
    await a.barrier()
    await b.barrier()
    await third.publish(ua + "x", "to-a")
    await third.publish(ub + "x", "to-b")
    await third.barrier()
    assert await a.barrier() == [[EVENT, ua + "x", "to-a"]]
    assert await b.barrier() == [[EVENT, ub + "x", "to-b"]]
    # each publishes "p:x" with its own mapping and receives only its own event
    await a.publish("p:x", "from-a", False)
    await b.publish("p:x", "from-b", False)
    got_a = await a.barrier()
    got_b = await b.barrier()
    assert got_a == [[EVENT, ua + "x", "from-a"]]
    assert got_b == [[EVENT, ub + "x", "from-b"]]
    assert await a.barrier() == [] and await b.barrier() == []


async def test_prefixes_are_per_session_not_shared(kreuz):
    base = unique("scope") + "#"
    a, b = await connect_all(kreuz.port, 2)
    await a.prefix("s", base)
    await a.subscribe(base + "x")
    await a.barrier()
    await b.publish("s:x", 1)               # b never declared "s": literal "s:x", no match
    await b.barrier()
    assert await a.barrier() == []
    # a prefix of a closed session does not survive in a new one
    await a.close()
    c, d = await connect_all(kreuz.port, 2)
    await c.subscribe("s:x")
    await c.barrier()
    await d.publish("s:x", 2)
    assert await d.barrier() == []
    assert await c.barrier() == [[EVENT, "s:x", 2]]
