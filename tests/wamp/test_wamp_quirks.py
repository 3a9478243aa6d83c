"""Digest section 12 (cross-implementation quirks, one test per row) and section 11 (what an
AutobahnJS 0.8 client sends and expects), with a small emulation of AutobahnJS's ab.Session."""
import json
import random

import pytest

from wampclient import (CALLRESULT, DISPATCH, EVENT, PING, WampClient, connect_all, http_raw, no_such, receivers,
                        unique, upgrade_request)


# ---------------------------------------------------------------------------- section 12


async def test_quirk_publish_with_null_excludeme_is_plain_publish(kreuz):
    topic = unique("q-null")
    p0, p1 = await connect_all(kreuz.port, 2)
    for c in (p0, p1):
        await c.subscribe(topic)
        await c.barrier()
    await p0.send_raw(f'[7,{json.dumps(topic)},"e",null]')
    with_null = await receivers(p0, [p0, p1], topic, "e")
    await p0.send_raw(f'[7,{json.dumps(topic)},"e"]')
    plain = await receivers(p0, [p0, p1], topic, "e")
    assert with_null == plain == {1}


async def test_quirk_publish_with_null_excludeme_in_strict_realm(multi):
    topic = unique("q-null-strict")
    p0, p1 = await connect_all(multi.port, 2, path="/strict")
    for c in (p0, p1):
        await c.subscribe(topic)
        await c.barrier()
    await p0.send_raw(f'[7,{json.dumps(topic)},"e",null]')
    assert await receivers(p0, [p0, p1], topic, "e") == {1}
    assert p0.is_open()


async def test_quirk_curies_in_all_four_message_kinds(kreuz):
    base = unique("q-curie") + "/"
    a, b = await connect_all(kreuz.port, 2)
    for c in (a, b):
        await c.prefix("q", base)
        await c.prefix("api", "http://api.wamp.ws/procedure#")
    await a.subscribe("q:t")                      # SUBSCRIBE
    await a.barrier()
    await b.publish("q:t", 1)                     # PUBLISH
    assert await receivers(b, [b, a], base + "t", 1) == {1}   # EVENT with the full URI
    assert await b.call("api:echo", 2, call_id="c") == [CALLRESULT, "c", 2]   # CALL
    await a.unsubscribe("q:t")                    # UNSUBSCRIBE
    await a.barrier()
    await b.publish("q:t", 3)
    assert await receivers(b, [b, a], base + "t", 3) == set()


@pytest.mark.parametrize("path", ["/ws", "/strict"])
async def test_quirk_plain_word_topics(multi, path):
    a, b = await connect_all(multi.port, 2, path=path)
    for topic in ("onNewData", "chat.x.5"):
        await a.subscribe(topic)
        await a.barrier()
        await b.publish(topic, {"w": topic})
        assert await receivers(b, [b, a], topic, {"w": topic}) == {1}
        await a.unsubscribe(topic)
        await a.barrier()
    assert a.is_open() and b.is_open()


def test_quirk_no_subprotocol_is_configurable(multi):
    rejected = http_raw(multi.port, upgrade_request("/ws", None), timeout=3)
    accepted = http_raw(multi.port, upgrade_request("/open", None), timeout=2)
    assert rejected.status_line == "HTTP/1.1 400 this server only speaks WAMP", rejected
    assert accepted.status_line == "HTTP/1.1 101 Switching Protocols", accepted


async def test_quirk_router_never_sends_prefix(kreuz):
    # WampClient.recv() already fails on a PREFIX; this provokes every situation where a router
    # might announce one: CURIE use everywhere, a CALLERROR whose URI matches a declared prefix.
    a, b = await connect_all(kreuz.port, 2)
    await a.prefix("err", "http://api.wamp.ws/error#")
    await a.prefix("ev", unique("q-pfx"))
    await a.subscribe("ev:x")
    await a.barrier()
    await a.publish("ev:x", 1, False)
    got = await a.barrier()
    assert len(got) == 1 and got[0][0] == EVENT and ":" in got[0][1] and not got[0][1].startswith("ev:"), got
    assert await a.call("err:nothing", call_id="x") == no_such("x", "http://api.wamp.ws/error#nothing")
    await b.prefix("err", "http://api.wamp.ws/error#")
    assert await b.barrier() == []


async def test_quirk_callerror_uri_is_full_even_with_matching_prefix(kreuz):
    c = await WampClient.connect(kreuz.port)
    await c.prefix("e", "http://api.wamp.ws/error#")
    await c.prefix("e2", "http://api.wamp.ws/")
    assert await c.call("http://example.com/none", call_id="z") == no_such("z", "http://example.com/none")


@pytest.mark.parametrize("data", ["[9]", "{}", "not json", '[8,"t","e"]'])
async def test_quirk_unknown_type_non_array_bad_json_ignored(kreuz, data):
    c = await WampClient.connect(kreuz.port)
    await c.send_raw(data)
    assert await c.call(PING, call_id="alive") == [CALLRESULT, "alive", None]


@pytest.mark.parametrize("data,code", [("[9]", 1002), ("{}", 1007), ("not json", 1007), ('[8,"t","e"]', 1002)])
async def test_quirk_strict_mode_closes(multi, data, code):
    c = await WampClient.connect(multi.port, "/strict")
    await c.send_raw(data)
    assert await c.expect_close(code) == []


# ---------------------------------------------------------------------------- section 11: AutobahnJS 0.8


def js_random_id(rng: random.Random) -> str:
    """What Math.random().toString(36) looks like: "0." followed by base-36 digits."""
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    return "0." + "".join(rng.choice(digits) for _ in range(rng.randint(9, 12)))


class AbJsSession:
    """The wire behaviour of AutobahnJS 0.8.2's ab.Session (digest 11.5)."""

    def __init__(self, client: WampClient, rng: random.Random):
        self.c = client
        self.rng = rng
        self.prefixes = {}

    async def prefix(self, p, uri):
        self.prefixes[p] = uri
        await self.c.send_raw(json.dumps([1, p, uri]))

    def shrink(self, uri):
        best = None
        for p, u in self.prefixes.items():
            if uri.startswith(u) and (best is None or len(u) > len(self.prefixes[best])):
                best = p
        return uri if best is None else best + ":" + uri[len(self.prefixes[best]):]

    def resolve(self, curie):
        i = curie.find(":")
        if i >= 0 and curie[:i] in self.prefixes:
            return self.prefixes[curie[:i]] + curie[i + 1:]
        return curie

    async def call(self, proc, *args):
        cid = js_random_id(self.rng)
        await self.c.send_raw(json.dumps([2, cid, self.shrink(proc), *args]))
        return cid

    async def subscribe(self, topic):
        await self.c.send_raw(json.dumps([5, topic]))   # as typed, not expanded

    async def unsubscribe(self, topic):
        await self.c.send_raw(json.dumps([6, topic]))

    async def publish(self, topic, event, *rest):
        # argument count and types decide the layout, as in ab.Session.prototype.publish
        if not rest:
            msg = [7, topic, event]
        elif len(rest) == 1 and isinstance(rest[0], bool):
            msg = [7, topic, event, rest[0]]
        elif len(rest) == 1:
            msg = [7, topic, event, rest[0]]
        else:
            msg = [7, topic, event, rest[0], rest[1]]
        await self.c.send_raw(json.dumps(msg))


async def test_abjs_handshake_and_welcome(kreuz, version):
    c = await WampClient.connect(kreuz.port, subprotocols=["wamp"])
    assert c.ws.subprotocol == "wamp"                   # 11.2: ws.protocol === "wamp"
    assert c.welcome == [0, c.session_id, 1, f"kreuz/{version}"]   # 11.3


async def test_abjs_shrunk_curie_calls(kreuz):
    rng = random.Random(11)
    c = await WampClient.connect(kreuz.port)
    js = AbJsSession(c, rng)
    await js.prefix("api", "http://api.wamp.ws/procedure#")
    await js.prefix("ex", "http://example.com/")
    cid = await js.call("http://api.wamp.ws/procedure#echo", {"hello": "world"})
    assert await c.recv() == [CALLRESULT, cid, {"hello": "world"}]
    cid = await js.call("http://api.wamp.ws/procedure#ping")
    assert await c.recv() == [CALLRESULT, cid, None]
    cid = await js.call("http://api.wamp.ws/procedure#echo", None)   # a JS undefined argument
    assert await c.recv() == [CALLRESULT, cid, None]
    cid = await js.call("http://example.com/calc#square", 3)         # sent as "ex:calc#square"
    # the error names the resolved URI; element 4 absent, so AB-JS rejects with {uri, desc}
    assert await c.recv() == no_such(cid, "http://example.com/calc#square")


async def test_abjs_many_concurrent_calls_with_js_ids(kreuz):
    rng = random.Random(5)
    c = await WampClient.connect(kreuz.port)
    js = AbJsSession(c, rng)
    await js.prefix("api", "http://api.wamp.ws/procedure#")
    sent = {}
    for i in range(30):
        sent[await js.call("http://api.wamp.ws/procedure#echo", i)] = i
    got = {}
    for _ in range(len(sent)):
        m = await c.recv()
        got[m[1]] = m
    assert got == {cid: [CALLRESULT, cid, i] for cid, i in sent.items()}


async def test_abjs_subscribe_as_typed_and_event_routing(kreuz):
    rng = random.Random(7)
    base = unique("abjs") + "/"
    ca, cb = await connect_all(kreuz.port, 2)
    a, b = AbJsSession(ca, rng), AbJsSession(cb, rng)
    await a.prefix("event", base)
    await b.prefix("event", base)
    await a.subscribe("event:myevent1")                 # CURIE on the wire
    await b.subscribe(base + "myevent1")                # full URI on the wire
    await ca.barrier()
    await cb.barrier()
    # 2 args -> [7, t, e]: publisher excluded
    await a.publish("event:myevent1", "hello")
    assert await receivers(ca, [ca, cb], base + "myevent1", "hello") == {1}
    # the EVENT topic resolves (pass-through) to what the handler is keyed by
    await b.publish("event:myevent1", "x")
    got = (await receivers(cb, [ca, cb], base + "myevent1", "x"))
    assert got == {0}
    assert a.resolve(base + "myevent1") == a.resolve("event:myevent1")


@pytest.mark.parametrize("layout,expected", [
    ("none", {1}),
    ("true", {1}),
    ("false", {0, 1}),
    ("exclude-me", {1}),
    ("exclude-other", {0}),
    ("exclude-none", {0, 1}),
    ("exclude-eligible", {0}),
    ("eligible-nobody", set()),
])
async def test_abjs_publish_layouts(kreuz, layout, expected):
    rng = random.Random(3)
    topic = unique("abjs-pub")
    ca, cb = await connect_all(kreuz.port, 2)
    a = AbJsSession(ca, rng)
    for c in (ca, cb):
        await c.subscribe(topic)
        await c.barrier()
    me, other = ca.session_id, cb.session_id
    args = {
        "none": (),
        "true": (True,),
        "false": (False,),
        "exclude-me": ([me],),
        "exclude-other": ([other],),
        "exclude-none": ([],),
        "exclude-eligible": ([other], [me, other]),
        "eligible-nobody": ([], []),
    }[layout]
    await a.publish(topic, {"layout": layout}, *args)
    assert await receivers(ca, [ca, cb], topic, {"layout": layout}) == expected


async def test_abjs_unsubscribe_when_last_handler_removed(kreuz):
    rng = random.Random(9)
    topic = unique("abjs-unsub")
    ca, cb = await connect_all(kreuz.port, 2)
    a = AbJsSession(ca, rng)
    await a.prefix("t", topic[:-1])
    await a.subscribe("t:" + topic[-1])
    await ca.barrier()
    await a.unsubscribe("t:" + topic[-1])
    await ca.barrier()
    await cb.publish(topic, 1)
    assert await receivers(cb, [cb, ca], topic, 1) == set()


async def test_abjs_clean_close(kreuz):
    c = await WampClient.connect(kreuz.port)
    await c.ws.close(1000, "bye")
    assert c.ws.close_code == 1000
    d = await WampClient.connect(kreuz.port)
    assert await d.call(DISPATCH, unique(), 1, call_id="after") == [CALLRESULT, "after", None]


async def test_abjs_chat_scenario(kreuz):
    rng = random.Random(42)
    base = "http://example.com/chat#"
    clients = await connect_all(kreuz.port, 3)
    sessions = [AbJsSession(c, rng) for c in clients]
    room = unique("room")
    for s in sessions:
        await s.prefix("chat", base)
        await s.prefix("room", room + "/")
        await s.subscribe("room:messages")
        await s.c.barrier()
    for i, s in enumerate(sessions):
        await s.publish("room:messages", {"from": i, "text": f"hi {i}"})
        got = await receivers(s.c, clients, room + "/messages", {"from": i, "text": f"hi {i}"})
        assert got == {0, 1, 2} - {i}
    cid = await sessions[0].call(base + "history")
    assert await clients[0].recv() == no_such(cid, base + "history")
