"""Bad input and limits. Non-strict realms log and ignore every malformed message (the session
keeps working and other sessions are unaffected); a strict realm closes with 1007 (invalid JSON,
not an array), 1003 (binary) or 1002 (any other protocol error). Per-session limits close with
1008, the realm's max_message_size with 1009; too many outstanding calls get a CALLERROR."""
import json

import pytest

from wampclient import CALLERROR, CALLRESULT, ECHO, EVENT, WampClient, connect_all, no_such, receivers, unique

# (id, message, strict close code). "T" stands for a topic both test sessions are subscribed to,
# "U" for one nobody is subscribed to: a router that wrongly accepted the message as an
# UNSUBSCRIBE / SUBSCRIBE / PUBLISH would show it in the checks that follow.
BINARY = [
    ("binary-call", b'[2,"bin","http://api.wamp.ws/procedure#ping"]', 1003),
    ("binary-publish", b'[7,"T","bin",false]', 1003),
    ("binary-garbage", b"\x00\xff\xfe", 1003),
    ("binary-empty", b"", 1003),
]
INVALID_JSON = [
    ("empty", "", 1007),
    ("space", " ", 1007),
    ("open-bracket", "[", 1007),
    ("words", "not json", 1007),
    ("open-brace", "{", 1007),
    ("trailing-garbage", '[6,"T"] x', 1007),
    ("two-arrays", '[6,"T"][6,"T"]', 1007),
    ("single-quotes", "[6,'T']", 1007),
    ("trailing-comma", '[6,"T",]', 1007),
    ("nan", '[7,"T",NaN]', 1007),
    ("unterminated-string", '[6,"T]', 1007),
    ("bad-escape", '[6,"T\\x"]', 1007),
    ("lone-surrogate", '[2,"\\ud800","http://api.wamp.ws/procedure#ping"]', 1007),
    ("comment", '[6,"T"] // c', 1007),
    ("nested-129", "[" * 129 + "]" * 129, 1007),
    ("nested-5000", "[" * 5000 + "]" * 5000, 1007),
    ("nested-objects-200", '[7,"T",' + '{"a":' * 200 + "1" + "}" * 200 + "]", 1007),
    # numbers out of the range of a double: syntactically JSON, but no value can hold them
    ("number-overflow-event", '[7,"T",1e400]', 1007),
    ("number-overflow-toplevel", "1e400", 1007),
]
# CALLs whose envelope [2, callId, procURI reads but whose arguments (or the rest) do not: a
# non-strict realm answers them with a CALLERROR, since the caller would wait forever otherwise.
UNREADABLE_CALLS = [
    ("truncated-call", '[2,"x","http://api.wamp.ws/procedure#ping"', 1007),
    ("number-overflow-arg", '[2,"x","http://api.wamp.ws/procedure#echo",-1e999]', 1007),
    ("number-overflow-1e400-arg", '[2,"x","http://api.wamp.ws/procedure#echo",1,1e400]', 1007),
    ("lone-surrogate-arg", '[2,"x","http://api.wamp.ws/procedure#echo","\\ud800"]', 1007),
    ("bad-escape-arg", '[2,"x","http://api.wamp.ws/procedure#echo",{"a":"\\q"}]', 1007),
    ("nested-200-arg", '[2,"x","http://api.wamp.ws/procedure#echo",' + "[" * 200 + "]" * 200 + "]", 1007),
]
NOT_ARRAY = [
    ("object", "{}", 1007),
    ("object-like-message", '{"0":6,"1":"T"}', 1007),
    ("number", "5", 1007),
    ("string", '"[6,\\"T\\"]"', 1007),
    ("null", "null", 1007),
    ("true", "true", 1007),
    ("float", "1.5", 1007),
]
UNKNOWN_TYPE = [
    ("empty-array", "[]", 1002),
    ("type-9", '[9,"T"]', 1002),
    ("type-10", '[10,"T"]', 1002),
    ("type-minus-1", '[-1,"T"]', 1002),
    ("type-huge", '[18446744073709551615,"T"]', 1002),
    ("type-too-big-for-int", '[18446744073709551616,"T"]', 1002),
    ("type-float", '[6.5,"T"]', 1002),
    ("type-string", '["6","T"]', 1002),
    ("type-true", '[true,"T"]', 1002),
    ("type-null", '[null,"T"]', 1002),
    ("type-array", '[[6],"T"]', 1002),
]
BAD_ELEMENTS = [
    ("prefix-short", '[1]', 1002),
    ("prefix-no-uri", '[1,"p"]', 1002),
    ("prefix-number", '[1,5,"http://x/"]', 1002),
    ("prefix-uri-number", '[1,"p",5]', 1002),
    ("prefix-null", '[1,null,"http://x/"]', 1002),
    ("prefix-extra", '[1,"p","http://x/","x"]', 1002),
    ("call-short", "[2]", 1002),
    ("call-no-proc", '[2,"id"]', 1002),
    ("call-id-number", '[2,5,"http://api.wamp.ws/procedure#ping"]', 1002),
    ("call-id-null", '[2,null,"http://api.wamp.ws/procedure#ping"]', 1002),
    ("call-id-array", '[2,["id"],"http://api.wamp.ws/procedure#ping"]', 1002),
    ("call-proc-number", '[2,"id",5]', 1002),
    ("call-proc-null", '[2,"id",null]', 1002),
    ("call-proc-object", '[2,"id",{"uri":"http://api.wamp.ws/procedure#ping"}]', 1002),
    ("subscribe-short", "[5]", 1002),
    ("subscribe-number", "[5,5]", 1002),
    ("subscribe-null", "[5,null]", 1002),
    ("subscribe-list", '[5,["U"]]', 1002),
    ("subscribe-extra", '[5,"U","x"]', 1002),
    ("subscribe-empty", '[5,""]', 1002),
    ("unsubscribe-short", "[6]", 1002),
    ("unsubscribe-number", "[6,6]", 1002),
    ("unsubscribe-extra", '[6,"T","x"]', 1002),
    ("unsubscribe-empty", '[6,""]', 1002),
    ("publish-short", "[7]", 1002),
    ("publish-no-event", '[7,"T"]', 1002),
    ("publish-topic-number", '[7,5,"bad"]', 1002),
    ("publish-topic-null", '[7,null,"bad"]', 1002),
    ("publish-topic-empty", '[7,"","bad"]', 1002),
    ("publish-six", '[7,"T","bad",[],[],"x"]', 1002),
]
SERVER_TYPES = [
    ("welcome", '[0,"AAAAAAAAAAAAAAAA",1,"evil/1.0"]', 1002),
    ("welcome-short", "[0]", 1002),
    ("callresult", '[3,"id",null]', 1002),
    ("callresult-short", "[3]", 1002),
    ("callerror", '[4,"id","http://api.wamp.ws/error#generic","x"]', 1002),
    ("callerror-details", '[4,"id","http://api.wamp.ws/error#generic","x",[1]]', 1002),
    ("event", '[8,"T","bad"]', 1002),
    ("event-short", "[8]", 1002),
]
ALL_BAD = BINARY + INVALID_JSON + NOT_ARRAY + UNKNOWN_TYPE + BAD_ELEMENTS + SERVER_TYPES
INVALID_ARGUMENT = "http://api.wamp.ws/error#invalid-argument"


def fill(data, t, u):
    if isinstance(data, bytes):
        return data.replace(b'"T"', json.dumps(t).encode()).replace(b'"U"', json.dumps(u).encode())
    return data.replace('"T"', json.dumps(t)).replace('"U"', json.dumps(u)).replace('"T]', json.dumps(t)[:-1] + "]")


@pytest.mark.parametrize("data", [c[1] for c in ALL_BAD], ids=[c[0] for c in ALL_BAD])
async def test_non_strict_ignores_and_keeps_working(kreuz, data):
    t, u = unique("bad-T"), unique("bad-U")
    a, b = await connect_all(kreuz.port, 2)
    for c in (a, b):
        await c.subscribe(t)
        await c.barrier()
    await a.send_raw(fill(data, t, u))
    assert await a.barrier() == [], "a reply or event for an ignored message"
    assert await b.barrier() == []
    # a's subscription is intact, no new one appeared, publishing still works both ways
    await a.publish(t, "from-a", False)
    await a.publish(u, "to-nobody", False)
    assert await receivers(a, [a, b], t, "from-a") == {0, 1}
    await b.publish(t, "from-b")
    assert await receivers(b, [a, b], t, "from-b") == {0}
    assert await a.call(ECHO, "still", call_id="s") == [CALLRESULT, "s", "still"]
    assert a.is_open() and b.is_open()


@pytest.mark.parametrize("data", [c[1] for c in UNREADABLE_CALLS], ids=[c[0] for c in UNREADABLE_CALLS])
async def test_non_strict_answers_a_call_it_cannot_read(kreuz, data):
    a, b = await connect_all(kreuz.port, 2)
    await a.send_raw(data)
    reply = await a.recv()
    assert reply[:3] == [CALLERROR, "x", INVALID_ARGUMENT], reply
    assert reply[3].startswith("the call cannot be read: "), reply
    assert await a.barrier() == []
    assert await b.barrier() == []
    assert await a.call(ECHO, "still", call_id="s") == [CALLRESULT, "s", "still"]


async def test_non_strict_many_bad_messages_in_a_row(kreuz):
    t, u = unique("burst-T"), unique("burst-U")
    a, b = await connect_all(kreuz.port, 2)
    await b.subscribe(t)
    await b.barrier()
    for _ in range(3):
        for _name, data, _code in ALL_BAD:
            await a.send_raw(fill(data, t, u))
    assert await a.barrier() == []
    await a.publish(t, 1)
    assert await receivers(a, [a, b], t, 1) == {1}


@pytest.mark.parametrize("path", ["/ws", "/strict"])
async def test_deep_but_reasonable_nesting_is_fine(multi, path):
    # 100 levels in an argument (101 with the message array) are ordinary JSON
    a, b = await connect_all(multi.port, 2, path=path)
    deep = json.loads("[" * 100 + "]" * 100)
    assert await a.call(ECHO, deep, call_id="d") == [CALLRESULT, "d", deep]
    t = unique("deep")
    await b.subscribe(t)
    await b.barrier()
    await a.publish(t, deep)
    assert await receivers(a, [a, b], t, deep) == {1}


async def test_empty_prefix_declaration_is_harmless(kreuz):
    # AutobahnJS lets an app declare the empty prefix; it can never be used (section 4)
    a = await WampClient.connect(kreuz.port)
    await a.send_raw('[1,"","http://api.wamp.ws/procedure#"]')
    assert await a.call(":ping", call_id="e") == no_such("e", ":ping")
    assert await a.call(ECHO, 1, call_id="f") == [CALLRESULT, "f", 1]


async def test_non_strict_binary_with_valid_wamp_is_not_executed(kreuz):
    a = await WampClient.connect(kreuz.port)
    await a.send_raw(json.dumps([2, "bin", ECHO, 1]).encode())
    await a.send_raw(json.dumps([2, "txt", ECHO, 2]))
    assert await a.recv() == [CALLRESULT, "txt", 2]


# ---------------------------------------------------------------------------- strict realm


@pytest.mark.parametrize("data,code", [(c[1], c[2]) for c in ALL_BAD + UNREADABLE_CALLS],
                         ids=[c[0] for c in ALL_BAD + UNREADABLE_CALLS])
async def test_strict_closes_with_exact_code(multi, data, code):
    t, u = unique("strict-T"), unique("strict-U")
    a, b = await connect_all(multi.port, 2, path="/strict")
    await b.subscribe(t)
    await b.barrier()
    await a.subscribe(t)
    await a.barrier()
    await a.send_raw(fill(data, t, u))
    before = await a.expect_close(code)
    assert before == [], f"messages before the close: {before!r}"
    # the other session of the strict realm is unaffected
    assert await b.barrier() == []
    c = await WampClient.connect(multi.port, "/strict")
    await c.publish(t, "after")
    assert await receivers(c, [c, b], t, "after") == {1}


TOLERATED = [
    '[7,"T","e",null]',
    '[7,"T","e","x"]',
    '[7,"T","e",{}]',
    '[7,"T","e",null,null]',
    '[7,"T","e",false,"x"]',
    '[7,"T","e",[1,null],[true]]',
    '[7,"T",null]',
    '[6,"U"]',
    '[5,"T"]',
    '[5,"onNewData"]',
    '[1,"p","http://x/"]',
    '[1,"p","http://y/"]',
    '[5,"p:a"]',
    '[5,"undeclared:a"]',
    '[2,"id","http://example.com/unknown"]',
    '[2,"","http://api.wamp.ws/procedure#ping"]',
    '[2,"id","http://api.wamp.ws/procedure#echo",null,[],{}]',
    '[1,"p",""]',
]


async def test_strict_tolerates_quirks_and_valid_messages(multi):
    t, u = unique("tol-T"), unique("tol-U")
    a, b = await connect_all(multi.port, 2, path="/strict")
    await b.subscribe(t)
    await b.barrier()
    for data in TOLERATED:
        await a.send_raw(fill(data, t, u))
        got = await a.barrier()
        assert all(m[0] in (3, 4, 8) for m in got), (data, got)
        assert a.is_open(), data
    assert a.is_open()
    # the seven PUBLISHes: defaults for the wrong types; lists of non-strings are empty lists
    assert await b.barrier() == [[EVENT, t, "e"]] * 5 + [[EVENT, t, None]]
    await a.publish(t, "ok")
    assert await receivers(a, [a, b], t, "ok") == {1}


# ---------------------------------------------------------------------------- limits


async def test_prefix_limit_closes_1008(multi):
    a, b = await connect_all(multi.port, 2, path="/limits")
    await a.prefix("a", "http://a/")
    await a.prefix("b", "http://b/")
    await a.prefix("a", "http://a2/")   # redefinition does not count
    await a.prefix("b", "http://b2/")
    assert await a.barrier() == []
    await a.prefix("c", "http://c/")
    assert await a.expect_close(1008) == []
    await b.prefix("x", "http://x/")
    await b.prefix("y", "http://y/")
    assert await b.call(ECHO, 1, call_id="b") == [CALLRESULT, "b", 1]


async def test_subscription_limit_closes_1008(multi):
    t1, t2, t3, t4 = (unique(f"lim{i}") for i in range(4))
    a, pub = await connect_all(multi.port, 2, path="/limits")
    await a.subscribe(t1)
    await a.subscribe(t2)
    await a.subscribe(t1)               # already subscribed: does not count
    await a.prefix("p", t1[:-2])
    await a.subscribe("p:" + t1[-2:])   # the same topic through a CURIE
    assert await a.barrier() == []
    await a.unsubscribe(t2)             # frees a slot
    await a.subscribe(t3)
    assert await a.barrier() == []
    await pub.publish(t3, "in")
    assert await receivers(pub, [pub, a], t3, "in") == {1}
    await a.subscribe(t4)
    assert await a.expect_close(1008) == []
    # the closed session's subscriptions are gone; the router is fine
    for tp in (t1, t3, t4):
        await pub.publish(tp, "late")
    assert await pub.barrier() == []


async def test_limits_are_per_session(multi):
    clients = await connect_all(multi.port, 3, path="/limits")
    topics = [unique("per") for _ in range(2)]
    for c in clients:
        for tp in topics:
            await c.subscribe(tp)
        await c.prefix("a", "http://a/")
        await c.prefix("b", "http://b/")
    for c in clients:
        assert await c.barrier() == []
    await clients[0].publish(topics[1], 9)
    assert await receivers(clients[0], clients, topics[1], 9) == {1, 2}


def sized_call(size: int, call_id: str = "m") -> str:
    head = f'[2,"{call_id}","{ECHO}","'
    text = head + "x" * (size - len(head) - 2) + '"]'
    assert len(text.encode()) == size
    return text


@pytest.mark.parametrize("path", ["/small", "/smallstrict"])
@pytest.mark.parametrize("compression", [None, "deflate"])
async def test_realm_max_message_size(multi, path, compression):
    a = await WampClient.connect(multi.port, path, compression=compression)
    msg = sized_call(1000)
    await a.send_raw(msg)
    assert await a.recv() == [CALLRESULT, "m", json.loads(msg)[3]]
    await a.send_raw(sized_call(1001, "n"))
    assert await a.expect_close(1009) == []


async def test_realm_max_message_size_fragmented(multi):
    a = await WampClient.connect(multi.port, "/small", compression=None)
    msg = sized_call(1000)
    await a.send_raw([msg[:300], msg[300:700], msg[700:]])   # one message in three fragments
    assert await a.recv() == [CALLRESULT, "m", json.loads(msg)[3]]
    big = sized_call(1500, "n")
    await a.send_raw([big[:500], big[500:1000], big[1000:]])
    assert await a.expect_close(1009) == []


async def test_max_message_size_is_per_realm(multi):
    a = await WampClient.connect(multi.port, "/ws")
    msg = sized_call(100_000)
    await a.send_raw(msg)
    assert await a.recv() == [CALLRESULT, "m", json.loads(msg)[3]]
    # the small realm's limit leaves its other sessions alone
    s1, s2 = await connect_all(multi.port, 2, path="/small")
    t = unique("small")
    await s2.subscribe(t)
    await s2.barrier()
    await s1.send_raw(sized_call(2000, "x"))
    await s1.expect_close(1009)
    c = await WampClient.connect(multi.port, "/small")
    await c.publish(t, "y" * 900)
    assert await receivers(c, [c, s2], t, "y" * 900) == {1}


async def test_realms_are_isolated(multi):
    t = unique("realm")
    a1, a2 = await connect_all(multi.port, 2, path="/ws")
    o1 = await WampClient.connect(multi.port, "/other")
    for c in (a1, a2, o1):
        await c.subscribe(t)
        await c.barrier()
    await o1.publish(t, "other-realm", False)
    assert await receivers(o1, [o1, a1, a2], t, "other-realm") == {0}
    # one realm on two paths: /ws and /ws2 share topics
    w2 = await WampClient.connect(multi.port, "/ws2")
    await w2.publish(t, "shared")
    assert await receivers(w2, [w2, a1, a2, o1], t, "shared") == {1, 2}
    # session ids of another realm are unknown here: eligible = [o1] reaches nobody
    await a1.publish(t, "x", [], [o1.session_id])
    assert await receivers(a1, [a1, a2, o1], t, "x") == set()
    assert await a1.call(ECHO, 1, call_id="q") == [CALLRESULT, "q", 1]
