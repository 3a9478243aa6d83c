"""What the cluster tests share: a node's configuration, its pages, and waiting for Redis and
the nodes to agree, without sleeping for a guess."""
import asyncio
import json
import time
import urllib.request

from wampclient import CALLRESULT, EVENT, t, unique

REGISTER = "urn:kreuz:procedure:register"
ALREADY_EXISTS = "urn:kreuz:error:procedure-already-exists"


def node_config(redis_port: int, node_id: str) -> str:
    return f"""\
cluster:
  redis: "redis://127.0.0.1:{redis_port}/0"
  node_id: {node_id}
  connect_timeout: 500ms
  reconnect_max: 300ms
  heartbeat: 200ms
  node_timeout: 1s
realms:
  - name: default
    paths: [/ws]
    callee_timeout: 1500ms
    publish_bridge: {{path: /publish}}
  - name: other
    paths: [/other]
"""


def http_get(port, path):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=t(5)) as r:
        return r.status, r.read().decode()


def health(port) -> dict:
    return json.loads(http_get(port, "/health")[1])


def metric(port, name) -> float:
    for line in http_get(port, "/metrics")[1].splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"no metric {name}")


def wait_for(predicate, what, timeout=10.0):
    deadline = time.monotonic() + t(timeout)
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


def channel(topic, realm="default"):
    return f"kreuz:e:{len(realm)}:{realm}:{topic}"


async def held_by(cluster, topic, nodes, realm="default"):
    """Waits until exactly `nodes` nodes hold the topic's channel in Redis: from then on a
    publication anywhere reaches each of them."""
    count = None
    for _ in range(400):
        count = cluster.redis.command("PUBSUB", "NUMSUB", channel(topic, realm))[1]
        if count == nodes:
            return
        await asyncio.sleep(0.025)
    raise AssertionError(f"{channel(topic, realm)}: {count} nodes subscribed in Redis, expected {nodes}")


async def subscribed(client, *topics):
    for topic in topics:
        await client.subscribe(topic)
    await client.barrier()


async def until_sync(client, sync_topic, marker, limit=1000) -> list:
    """Every EVENT before the publisher's marker on sync_topic, in arrival order."""
    got = []
    for _ in range(limit):
        msg = await client.recv(timeout=10)
        if msg == [EVENT, sync_topic, marker]:
            return got
        got.append(msg)
    raise AssertionError(f"{client.name}: no sync marker within {limit} messages")


async def propagated(cluster, source, destination):
    """Once it returns, the destination's node has processed everything the source's node sent the
    cluster before (a registration): a publication of the source reached the destination, and a
    node's messages travel in order."""
    topic = unique("propagate")
    await subscribed(destination, topic)
    await held_by(cluster, topic, 1)
    await source.publish(topic, "sync")
    assert await destination.recv(timeout=10) == [EVENT, topic, "sync"]
    await destination.unsubscribe(topic)
    await destination.barrier()


def pending_calls(node) -> float:
    return metric(node.port, "kreuz_cluster_calls_pending")


async def register_once_free(client, uri, limit=100):
    """Registers `uri`, retrying while another (dead) node's claim on it has not expired yet."""
    for _ in range(limit):
        reply = await client.call(REGISTER, uri)
        if reply[0] == CALLRESULT:
            return
        assert reply[2] == ALREADY_EXISTS, reply
        await asyncio.sleep(0.05)
    raise AssertionError(f"{uri} could not be registered again: its claim did not expire")


def stop_nodes(nodes) -> list:
    """SIGTERM to every node still running; the errors of those that did not exit cleanly."""
    errors = []
    for node in nodes:
        try:
            if node.alive():
                node.stop()
        except AssertionError as e:
            errors.append(str(e))
    return errors
