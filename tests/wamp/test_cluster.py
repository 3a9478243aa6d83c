"""PubSub across kreuz nodes through Redis (docs/CLUSTER.md).

The module starts three nodes a, b and c first and its own redis-server (Debian's package, on a
free loopback port, persistence off) only after them, so that every test also stands on "nodes
that started before Redis existed joined once it came". Cross-node delivery has no barrier like a
ping round trip: a subscriber knows it has everything a publisher sent before once that
publisher's next publication, on a sync topic, reaches it. That leans on the per-publisher order
the cluster promises, and so tests it every time.
"""
import json
import socket
import subprocess
import time
import urllib.request

import pytest

import conftest
from cluster_nodes import (channel, health, held_by, http_get, metric, node_config, pending_calls, propagated,
                           register_once_free, stop_nodes, subscribed, until_sync, wait_for)
from redis_server import RedisServer
from wampclient import CALL, CALLERROR, CALLRESULT, EVENT, PING, WampClient, t, unique

REGISTER = "urn:kreuz:procedure:register"
UNREGISTER = "urn:kreuz:procedure:unregister"
CALLEE_GONE = "urn:kreuz:error:callee-gone"
CALLEE_TIMEOUT = "urn:kreuz:error:callee-timeout"
UNAVAILABLE = "urn:kreuz:error:cluster-unavailable"
ALREADY_EXISTS = "urn:kreuz:error:procedure-already-exists"
NO_SUCH_PROCEDURE = "http://api.wamp.ws/error#NoSuchRPCEndpoint"


class Cluster:
    def __init__(self):
        self.redis = RedisServer(conftest.free_port())
        self.nodes = {name: conftest._new_server(node_config(self.redis.port, name)) for name in ("a", "b", "c")}

    def __getitem__(self, name):
        return self.nodes[name]

    def all_ok(self):
        return all(health(n.port)["status"] == "ok" for n in self.nodes.values())


@pytest.fixture(scope="module")
def cluster():
    c = Cluster()
    yield c
    errors = stop_nodes(c.nodes.values())
    c.redis.finish()
    assert not errors, "\n\n".join(errors)


def receives(tail, publisher_id, subscriber_id):
    """The receiver rule of digest 6.3, written out again as the test expects it."""
    exclude_me, exclude, eligible = True, None, None
    if len(tail) >= 1:
        if isinstance(tail[0], bool):
            exclude_me = tail[0]
        else:
            exclude = tail[0]
    if len(tail) >= 2:
        eligible = tail[1]
    if eligible is not None and subscriber_id not in eligible:
        return False
    if exclude is not None:
        return subscriber_id not in exclude
    return not (exclude_me and subscriber_id == publisher_id)


# The first test: the nodes have been up without Redis until now.
async def test_nodes_started_before_redis_join_once_it_comes(cluster):
    for node in cluster.nodes.values():
        h = health(node.port)
        assert h["status"] == "degraded" and h["ready"] is True, h
        assert h["cluster"]["redis"] == "disconnected" and h["cluster"]["node_id"] in "abc", h
        assert http_get(node.port, "/health/ready")[0] == 200
    # Sessions and local PubSub work before Redis exists.
    topic = unique("early")
    sub = await WampClient.connect(cluster["a"].port)
    await subscribed(sub, topic)
    pub = await WampClient.connect(cluster["a"].port)
    await pub.publish(topic, "local")
    assert await sub.recv() == [EVENT, topic, "local"]

    cluster.redis.start()
    wait_for(cluster.all_ok, "every node to reach Redis")
    # The subscription made before Redis came is in Redis now, with no new SUBSCRIBE.
    remote = await WampClient.connect(cluster["b"].port)
    await held_by(cluster, topic, 1)
    await remote.publish(topic, "from b")
    assert await sub.recv() == [EVENT, topic, "from b"]
    assert metric(cluster["a"].port, "kreuz_cluster_redis_connected") == 1
    wait_for(lambda: metric(cluster["a"].port, "kreuz_cluster_redis_pending") == 0, "Redis to answer every command")


async def test_session_ids_name_their_node(cluster):
    for name in ("a", "b", "c"):
        c = await WampClient.connect(cluster[name].port)
        assert c.session_id.startswith(name + "."), c.session_id


async def test_every_exclude_and_eligible_form_across_nodes(cluster):
    topic, sync = unique("xform"), unique("xsync")
    peers = []
    for name in ("a", "b", "c"):
        for _ in range(2):
            peers.append(await WampClient.connect(cluster[name].port, name=f"{name}{len(peers)}"))
    pub = await WampClient.connect(cluster["a"].port, name="pub")
    everyone = peers + [pub]
    for c in everyone:
        await subscribed(c, topic, sync)
    await held_by(cluster, topic, 3)
    await held_by(cluster, sync, 3)
    ids = [p.session_id for p in peers]  # ids[0:2] on a, [2:4] on b, [4:6] on c
    forms = [
        [],                                     # default: the publisher excluded
        [False],                                # excludeMe false: the publisher too
        [True],
        [[]],                                   # empty exclude: everyone, the publisher too
        [[ids[2], ids[5]]],                     # exclude one on b and one on c
        [[pub.session_id, ids[0]]],             # exclude two on the publisher's node
        [[], [ids[1], ids[3], ids[4]]],         # eligible on all three nodes
        [[ids[3]], [ids[2], ids[3], ids[5]]],   # both lists
        [[], []],                               # nobody is eligible
        [[], [ids[4]]],                         # only one on c
        [[], [ids[0], pub.session_id]],         # only sessions of the publisher's node
        [[ids[2]], [ids[2]]],                   # eligible and excluded: nobody
        [["no.such-session", "zz.AAAAAAAAAAAAAAAA"]],  # ids of nobody are ignored
        [False, [ids[3], "c.unknown"]],         # excludeMe false with eligible (4-element form)
    ]
    for n, tail in enumerate(forms):
        await pub.publish(topic, {"form": n}, *tail)
        await pub.publish(sync, n, [])
        for c in everyone:
            got = await until_sync(c, sync, n)
            expected = [[EVENT, topic, {"form": n}]] if receives(tail, pub.session_id, c.session_id) else []
            assert got == expected, f"form {tail!r}: {c.name} ({c.session_id}) got {got!r}"


async def test_500_events_arrive_complete_and_in_order_on_every_other_node(cluster):
    t1, t2, sync = unique("o1"), unique("o2"), unique("osync")
    subs = [await WampClient.connect(cluster[n].port, name=f"s{n}") for n in ("b", "c")]
    for s in subs:
        await subscribed(s, t1, t2, sync)
    for topic in (t1, t2, sync):
        await held_by(cluster, topic, 2)
    pub = await WampClient.connect(cluster["a"].port)
    for i in range(500):
        await pub.publish(t1 if i % 3 else t2, i)  # two topics: the order holds across them too
    await pub.publish(sync, "end")
    for s in subs:
        got = await until_sync(s, sync, "end", limit=600)
        assert [m[2] for m in got] == list(range(500)), f"{s.name}: events lost or out of order"
        assert all(m[1] == (t1 if m[2] % 3 else t2) for m in got)


async def test_realms_stay_apart_across_nodes(cluster):
    topic = unique("realm")
    other = await WampClient.connect(cluster["b"].port, path="/other")
    same = await WampClient.connect(cluster["b"].port)
    await subscribed(other, topic)
    await subscribed(same, topic)
    await held_by(cluster, topic, 1)
    await held_by(cluster, topic, 1, realm="other")
    pub = await WampClient.connect(cluster["a"].port)
    await pub.publish(topic, "default realm")
    assert await same.recv() == [EVENT, topic, "default realm"]
    assert await other.barrier() == []


async def test_the_publish_bridge_reaches_other_nodes(cluster):
    topic = unique("bridge")
    subs = [await WampClient.connect(cluster[n].port) for n in ("b", "c")]
    for s in subs:
        await subscribed(s, topic)
    await held_by(cluster, topic, 2)
    body = json.dumps({"topic": topic, "event": {"from": "http"}}).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{cluster['a'].port}/publish", data=body,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=t(5)) as r:
        assert r.status == 202
    for s in subs:
        assert await s.recv() == [EVENT, topic, {"from": "http"}]


async def test_the_last_unsubscribe_and_a_disconnect_release_the_redis_channel(cluster):
    topic, sync = unique("release"), unique("rsync")
    first = await WampClient.connect(cluster["b"].port)
    second = await WampClient.connect(cluster["b"].port)
    for s in (first, second):
        await subscribed(s, topic)
    await subscribed(first, sync)
    await held_by(cluster, topic, 1)
    pub = await WampClient.connect(cluster["a"].port)
    # A page reload (unsubscribe and subscribe again at once) keeps the channel: nothing published
    # just after is missed.
    await first.unsubscribe(topic)
    await first.subscribe(topic)
    await first.barrier()
    await pub.publish(topic, "kept")
    await pub.publish(sync, "kept")
    assert await until_sync(first, sync, "kept") == [[EVENT, topic, "kept"]]
    await first.unsubscribe(topic)
    await first.barrier()
    await held_by(cluster, topic, 1)  # second still holds it
    await second.close()  # the session's end drops its last topic
    await held_by(cluster, topic, 0)
    assert topic not in " ".join(cluster.redis.command("PUBSUB", "CHANNELS", "kreuz:*"))


async def test_messages_from_unknown_versions_are_dropped_not_misread(cluster):
    topic = unique("wire")
    sub = await WampClient.connect(cluster["c"].port)
    await subscribed(sub, topic)
    await held_by(cluster, topic, 1)
    before = metric(cluster["c"].port, "kreuz_cluster_invalid_messages_total")
    for payload in ("2\nfuture-node\n\n[8,\"" + topic + "\",\"v2\"]", "garbage", "1\nx\n{not json\n[8]"):
        assert cluster.redis.command("PUBLISH", channel(topic), payload) == 1
    pub = await WampClient.connect(cluster["a"].port)
    await pub.publish(topic, "still fine")
    assert await sub.recv() == [EVENT, topic, "still fine"]
    assert metric(cluster["c"].port, "kreuz_cluster_invalid_messages_total") == before + 3
    assert "newer than this node's" in cluster["c"].log()


def test_a_node_that_cannot_listen_exits_instead_of_waiting_on_redis(cluster, tmp_path):
    config = tmp_path / "node.yaml"
    config.write_text(node_config(cluster.redis.port, "late"))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        result = subprocess.run([conftest.kreuz_bin(), "--config", str(config), "--host", "127.0.0.1",
                                 "--port", str(taken.getsockname()[1])],
                                capture_output=True, text=True, timeout=t(20))
    assert result.returncode == 1, result.stdout + result.stderr


async def test_routed_rpc_across_nodes(cluster):
    uri = unique("proc")
    callee = await WampClient.connect(cluster["b"].port, name="callee")
    assert await callee.call(REGISTER, uri, call_id="reg") == [CALLRESULT, "reg", uri]
    for name in ("a", "c", "b"):
        caller = await WampClient.connect(cluster[name].port, name=f"caller-{name}")
        if name != "b":
            await propagated(cluster, callee, caller)
        await caller.send([CALL, "c1", uri, 20, {"x": [1, 2]}])
        forwarded = json.loads(await callee.recv_raw())
        assert forwarded[0] == CALL and forwarded[2:] == [uri, 20, {"x": [1, 2]}], forwarded
        await callee.send([CALLRESULT, forwarded[1], {"node": name}])
        assert await caller.recv() == [CALLRESULT, "c1", {"node": name}]
        # An error with details goes back as it came.
        await caller.send([CALL, "c2", uri])
        forwarded = json.loads(await callee.recv_raw())
        await callee.send([CALLERROR, forwarded[1], "http://example.com/error#bad", "no", {"why": 1}])
        assert await caller.recv() == [CALLERROR, "c2", "http://example.com/error#bad", "no", {"why": 1}]
    # The URI is taken cluster-wide, and the built-in procedures stay each node's own.
    rival = await WampClient.connect(cluster["c"].port)
    reply = await rival.call(REGISTER, uri, call_id="r2")
    assert reply[:3] == [CALLERROR, "r2", ALREADY_EXISTS], reply
    assert await rival.call(PING, call_id="p") == [CALLRESULT, "p", None]
    # Unregistered on b: gone on every node.
    assert (await callee.call(UNREGISTER, uri, call_id="u"))[0] == CALLRESULT
    caller = await WampClient.connect(cluster["a"].port)
    await propagated(cluster, callee, caller)
    assert (await caller.call(uri, call_id="u2"))[2] == NO_SUCH_PROCEDURE
    assert (await rival.call(REGISTER, uri, call_id="r3"))[0] == CALLRESULT


async def test_many_concurrent_calls_across_nodes_each_get_their_own_answer(cluster):
    uri = unique("many")
    callee = await WampClient.connect(cluster["c"].port, name="callee")
    await callee.call(REGISTER, uri, call_id="reg")
    callers = [await WampClient.connect(cluster[n].port, name=f"caller{i}") for i, n in enumerate("abab")]
    for caller in callers:
        await propagated(cluster, callee, caller)
    for i, caller in enumerate(callers):
        for k in range(25):
            await caller.send([CALL, f"k{k}", uri, i, k])
    for _ in range(100):
        forwarded = json.loads(await callee.recv_raw())
        await callee.send([CALLRESULT, forwarded[1], forwarded[3:]])
    for i, caller in enumerate(callers):
        got = sorted([await caller.recv() for _ in range(25)], key=lambda m: int(m[1][1:]))
        assert got == [[CALLRESULT, f"k{k}", [i, k]] for k in range(25)]
    for node in cluster.nodes.values():
        wait_for(lambda: pending_calls(node) == 0, "no remote call pending")


async def test_callee_leaving_or_silent_and_caller_leaving_across_nodes(cluster):
    uri = unique("leaver")
    callee = await WampClient.connect(cluster["c"].port, name="callee")
    await callee.call(REGISTER, uri, call_id="reg")
    caller = await WampClient.connect(cluster["a"].port, name="caller")
    await propagated(cluster, callee, caller)
    # The callee does not answer: its node times it out after callee_timeout.
    start = time.monotonic()
    await caller.send([CALL, "slow", uri])
    await callee.recv_raw()
    reply = await caller.recv(timeout=10)
    assert reply[:3] == [CALLERROR, "slow", CALLEE_TIMEOUT], reply
    assert 1.4 < time.monotonic() - start < t(5)
    # The caller leaves while its call waits: the answer is dropped, nothing stays pending.
    leaving = await WampClient.connect(cluster["b"].port, name="leaving")
    await propagated(cluster, callee, leaving)
    await leaving.send([CALL, "gone", uri])
    forwarded = json.loads(await callee.recv_raw())
    await leaving.close()
    await callee.send([CALLRESULT, forwarded[1], "too late"])
    wait_for(lambda: pending_calls(cluster["b"]) == 0, "b to drop the answer")
    # The callee leaves with a call waiting: the caller gets callee-gone, never silence.
    await caller.send([CALL, "pending", uri])
    await callee.recv_raw()
    await callee.close()
    reply = await caller.recv()
    assert reply[:3] == [CALLERROR, "pending", CALLEE_GONE], reply


async def test_a_killed_node_takes_its_procedures_and_calls_with_it(cluster):
    uri = unique("doomed")
    doomed = conftest._new_server(node_config(cluster.redis.port, "doomed"))
    callee = await WampClient.connect(doomed.port, name="callee")
    await callee.call(REGISTER, uri, call_id="reg")
    caller = await WampClient.connect(cluster["a"].port, name="caller")
    await propagated(cluster, callee, caller)
    await caller.send([CALL, "inflight", uri])
    await callee.recv_raw()
    doomed.kill()  # SIGKILL: no goodbye
    start = time.monotonic()
    reply = await caller.recv(timeout=10)
    assert reply[:3] == [CALLERROR, "inflight", CALLEE_GONE], reply
    # The bound of docs/CLUSTER.md: node_timeout (1 s here) and a heartbeat.
    assert time.monotonic() - start < t(1.2 + 1.5)
    assert (await caller.call(uri, call_id="after"))[2] == NO_SUCH_PROCEDURE
    # Its claim expires within node_timeout: the URI can be registered again elsewhere.
    heir = await WampClient.connect(cluster["b"].port, name="heir")

    await register_once_free(heir, uri)


async def test_a_node_stopped_with_sigterm_releases_its_procedures_at_once(cluster):
    uri = unique("leaving-node")
    leaving = conftest._new_server(node_config(cluster.redis.port, "leaving"))
    callee = await WampClient.connect(leaving.port)
    await callee.call(REGISTER, uri, call_id="reg")
    leaving.stop()
    heir = await WampClient.connect(cluster["c"].port)
    reply = await heir.call(REGISTER, uri, call_id="again")
    assert reply == [CALLRESULT, "again", uri], reply


# Last: it takes Redis away and brings it back.
async def test_redis_killed_and_restarted(cluster):
    a, b = cluster["a"], cluster["b"]
    topic, sync, local_topic = unique("rr"), unique("rrsync"), unique("rrlocal")
    uri = unique("rrproc")
    callee = await WampClient.connect(b.port, name="callee")
    assert (await callee.call(REGISTER, uri, call_id="reg"))[0] == CALLRESULT
    remote_sub = await WampClient.connect(b.port, name="remote-sub")
    await subscribed(remote_sub, topic, sync)
    local_sub = await WampClient.connect(a.port, name="local-sub")
    await subscribed(local_sub, local_topic)
    pub = await WampClient.connect(a.port, name="pub")
    await held_by(cluster, topic, 1)
    await held_by(cluster, sync, 1)
    await pub.publish(topic, "before")
    await pub.publish(sync, "before")
    assert await until_sync(remote_sub, sync, "before") == [[EVENT, topic, "before"]]

    cluster.redis.kill()
    for node in cluster.nodes.values():
        wait_for(lambda: health(node.port)["status"] == "degraded", "every node to report degraded")
    assert http_get(a.port, "/health/ready")[0] == 200
    assert metric(a.port, "kreuz_cluster_redis_connected") == 0
    # Local traffic is untouched, and no session was closed.
    for i in range(50):
        await pub.publish(local_topic, i)
    assert [(await local_sub.recv())[2] for _ in range(50)] == list(range(50))
    await pub.publish(topic, "lost")  # at-most-once across nodes while Redis is away
    assert await pub.call(PING, call_id="p") == [CALLRESULT, "p", None]
    reply = await pub.call(uri, call_id="r")  # a procedure of another node answers at once, saying why
    assert reply[:3] == [CALLERROR, "r", UNAVAILABLE], reply
    reply = await pub.call(REGISTER, unique("during"), call_id="reg2")
    assert reply[:3] == [CALLERROR, "reg2", UNAVAILABLE], reply
    for c in (remote_sub, local_sub, pub, callee):
        assert c.is_open(), f"{c.name} was closed"

    cluster.redis.start()
    wait_for(cluster.all_ok, "every node back on Redis")
    # The subscriptions held before the outage come back without a new SUBSCRIBE.
    await held_by(cluster, topic, 1)
    await held_by(cluster, sync, 1)
    await pub.publish(topic, "after")
    await pub.publish(sync, "after")
    assert await until_sync(remote_sub, sync, "after") == [[EVENT, topic, "after"]]
    assert metric(a.port, "kreuz_cluster_redis_connects_total") >= 2
    # The registration made before the outage is claimed again and known again, with no new
    # register from the client.
    await propagated(cluster, callee, pub)
    await pub.send([CALL, "again", uri, 1])
    forwarded = json.loads(await callee.recv_raw())
    await callee.send([CALLRESULT, forwarded[1], "back"])
    assert await pub.recv() == [CALLRESULT, "again", "back"]
    assert cluster.redis.command("EXISTS", f"kreuz:p:7:default:{uri}") == 1
