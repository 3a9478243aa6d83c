"""Realm rules (digest 6.1, extended to calls): the admission model of AutobahnPython's
registerForPubSub, as the AutobahnTestsuite's testee sets it up, and not_authorized calls."""
from wampclient import CALLERROR, CALLRESULT, DISPATCH, ECHO, EVENT, PING, WampClient, connect_all

# The testee registers "http://example.com/simple" with prefix match and
# "http://example.com/foobar" exact; everything else may only be called.
TESTEE_CONFIG = """
realms:
  - name: testee
    paths: [/ws]
    rules:
      - {uri: "http://example.com/simple", prefix: true}
      - {uri: "http://example.com/foobar"}
      - {uri: "http://api.", prefix: true, publish: false, subscribe: false}
      - {uri: "urn:forbidden:", prefix: true, call: false}
"""

SIMPLE = "http://example.com/simple"
FOOBAR = "http://example.com/foobar"
BARBAZ = "http://example.com/barbaz"


async def test_testsuite_settings0_topics(make_server):
    """WampCase 2.1 SETTINGS0: a publication to a registered prefix reaches its subscribers;
    one to an unregistered topic reaches nobody, even peers that tried to subscribe to it."""
    srv = make_server(TESTEE_CONFIG)
    suffix = "#4711"
    peers = await connect_all(srv.port, 5)
    subscriptions = [[SIMPLE], [SIMPLE], [SIMPLE, FOOBAR], [FOOBAR], []]
    for peer, topics in zip(peers, subscriptions):
        for topic in topics:
            await peer.subscribe(topic + suffix)
        await peer.barrier()
    await peers[0].publish(SIMPLE + suffix, "hello")
    got = [await p.barrier() for p in peers]
    assert got == [[], [[EVENT, SIMPLE + suffix, "hello"]], [[EVENT, SIMPLE + suffix, "hello"]], [], []]

    for peer in peers[:3]:
        await peer.subscribe(BARBAZ + suffix)
        await peer.barrier()
    await peers[0].publish(BARBAZ + suffix, "nobody", False)
    assert [await p.barrier() for p in peers] == [[], [], [], [], []]


async def test_exact_rule_does_not_admit_longer_topics(make_server):
    srv = make_server(TESTEE_CONFIG)
    a, b = await connect_all(srv.port, 2)
    await b.subscribe(FOOBAR)
    await b.subscribe(FOOBAR + "#1")
    await b.barrier()
    await a.publish(FOOBAR, 1)
    await a.publish(FOOBAR + "#1", 2)
    assert await a.barrier() == []
    assert await b.barrier() == [[EVENT, FOOBAR, 1]]


async def test_calls_follow_the_rules(make_server):
    srv = make_server(TESTEE_CONFIG)
    c = await WampClient.connect(srv.port)
    assert await c.call(ECHO, "x", call_id="e") == [CALLRESULT, "e", "x"]
    assert await c.call(PING, call_id="p") == [CALLRESULT, "p", None]
    # Matched by a rule with call: false, and matched by no rule at all.
    for procedure in ("urn:forbidden:thing", "http://example.org/unlisted"):
        reply = await c.call(procedure, call_id="n")
        assert reply == [CALLERROR, "n", "http://api.wamp.ws/error#not_authorized",
                         f"not authorized to call {procedure}"]


async def test_denied_publication_and_subscription_are_silent(make_server):
    """WAMP v1 has no error for these: the session simply goes on."""
    srv = make_server(TESTEE_CONFIG)
    a, b = await connect_all(srv.port, 2)
    await b.subscribe("http://api.wamp.ws/topic#x")
    await a.publish("http://api.wamp.ws/topic#x", 1)
    assert await a.barrier() == []
    assert await b.barrier() == []
    assert await a.call(ECHO, 5, call_id="still") == [CALLRESULT, "still", 5]


async def test_server_side_dispatch_is_not_bound_by_rules(make_server):
    """The testee's dispatch publishes as the router (AutobahnPython's factory.dispatch has
    no admission check), so it reaches subscribers of admitted topics only because only
    those subscriptions exist."""
    srv = make_server(TESTEE_CONFIG)
    a, b = await connect_all(srv.port, 2)
    await b.subscribe(SIMPLE + "#d")
    await b.barrier()
    assert await a.call(DISPATCH, SIMPLE + "#d", "ev", {}, call_id="d") == [CALLRESULT, "d", None]
    assert await b.barrier() == [[EVENT, SIMPLE + "#d", "ev"]]
