"""Two kreuz nodes behind a real HAProxy (Debian's package), as one router (issue 18).

The module starts its own redis-server, two nodes on it, and haproxy on a free loopback port in
front of them: round robin, WebSocket-aware (HTTP mode; an upgraded connection is a tunnel),
health checks on /health/ready. Every client connects through HAProxy only; the node a session
landed on shows in its session id."""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time

import pytest
import yaml

import conftest
from cluster_nodes import health, node_config, propagated, register_once_free, stop_nodes, subscribed, wait_for
from redis_server import RedisServer
from wampclient import CALL, CALLERROR, CALLRESULT, EVENT, WampClient, t, unique

REGISTER = "urn:kreuz:procedure:register"
CALLEE_GONE = "urn:kreuz:error:callee-gone"


def haproxy_config(port, stats_port, nodes):
    servers = "\n".join(f"    server {name} 127.0.0.1:{node.port} check inter 200ms fall 2 rise 2"
                        for name, node in nodes.items())
    return f"""\
global
    maxconn 1000
defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    timeout tunnel 1h
frontend wamp
    bind 127.0.0.1:{port}
    default_backend kreuz
backend kreuz
    balance roundrobin
    option httpchk GET /health/ready
{servers}
frontend stats
    bind 127.0.0.1:{stats_port}
    http-request return status 200 content-type text/plain string ok
"""


class Deployment:
    def __init__(self):
        self.redis = RedisServer(conftest.free_port()).start()
        self.nodes = {name: conftest._new_server(node_config(self.redis.port, name)) for name in ("a", "b")}
        wait_for(lambda: all(health(n.port)["status"] == "ok" for n in self.nodes.values()), "both nodes on Redis")
        self.dir = tempfile.mkdtemp(prefix="kreuz-haproxy-")
        self.port = conftest.free_port()
        config = os.path.join(self.dir, "haproxy.cfg")
        with open(config, "w") as f:
            f.write(haproxy_config(self.port, conftest.free_port(), self.nodes))
        binary = shutil.which("haproxy") or "/usr/sbin/haproxy"
        assert os.path.exists(binary), "haproxy is missing (scripts/install-deps.sh --test installs it)"
        with open(os.path.join(self.dir, "haproxy.log"), "ab") as log:
            self.haproxy = subprocess.Popen([binary, "-f", config, "-db"], stdin=subprocess.DEVNULL, stdout=log,
                                            stderr=subprocess.STDOUT)
        wait_for(self.listening, "haproxy to listen")

    def listening(self):
        assert self.haproxy.poll() is None, f"haproxy exited:\n{self.log()}"
        try:
            health(self.port)
            return True
        except OSError:
            return False

    def log(self):
        with open(os.path.join(self.dir, "haproxy.log"), "rb") as f:
            return f.read().decode("utf-8", "replace")[-3000:]

    async def client(self, name):
        return await WampClient.connect(self.port, name=name)

    async def clients_on_both_nodes(self, prefix):
        """Connects through HAProxy until there is a session on each node (round robin: two or three)."""
        on = {}
        for i in range(6):
            c = await self.client(f"{prefix}{i}")
            on.setdefault(c.session_id.split(".")[0], c)
            if len(on) == 2:
                return on
        raise AssertionError(f"round robin did not reach both nodes: {sorted(on)}")

    def finish(self):
        if self.haproxy.poll() is None:
            self.haproxy.send_signal(signal.SIGTERM)
            self.haproxy.wait(timeout=10)
        self.redis.finish()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def deployment():
    d = Deployment()
    yield d
    errors = stop_nodes(d.nodes.values())
    d.finish()
    assert not errors, "\n\n".join(errors)


async def test_pubsub_and_routed_rpc_through_haproxy_then_a_node_is_killed(deployment):
    d = deployment
    on = await d.clients_on_both_nodes("s")
    a, b = on["a"], on["b"]
    # PubSub between the nodes, both ways.
    topic = unique("lb")
    for c in (a, b):
        await subscribed(c, topic)
    await a.publish(topic, "from a")
    assert await b.recv(timeout=10) == [EVENT, topic, "from a"]
    await b.publish(topic, "from b")
    assert await a.recv(timeout=10) == [EVENT, topic, "from b"]
    # Routed RPC between them: a callee on b, its caller on a.
    uri = unique("lbproc")
    assert await b.call(REGISTER, uri, call_id="reg") == [CALLRESULT, "reg", uri]
    await propagated(d, b, a)
    await a.send([CALL, "c1", uri, 1])
    forwarded = json.loads(await b.recv_raw())
    await b.send([CALLRESULT, forwarded[1], "b answers"])
    assert await a.recv() == [CALLRESULT, "c1", "b answers"]

    # b's node dies with a call of a's waiting for its callee.
    await a.send([CALL, "inflight", uri])
    await b.recv_raw()
    d.nodes["b"].kill()
    start = time.monotonic()
    reply = await a.recv(timeout=10)
    assert reply[:3] == [CALLERROR, "inflight", CALLEE_GONE], reply
    assert time.monotonic() - start < t(2.7)  # node_timeout 1 s + heartbeat 200 ms, with room

    # Sessions that reconnect through HAProxy land on the surviving node, once its health checks
    # took b out, and everything works there: the procedure can be registered again.
    wait_for(lambda: "Server kreuz/b is DOWN" in d.log(), "haproxy's health checks to take b out")
    again = []
    for i in range(4):
        c = await d.client(f"again{i}")
        assert c.session_id.startswith("a."), c.session_id
        again.append(c)

    await register_once_free(again[0], uri)
    await again[1].send([CALL, "c2", uri, 2])
    forwarded = json.loads(await again[0].recv_raw())
    await again[0].send([CALLRESULT, forwarded[1], "a answers"])
    assert await again[1].recv() == [CALLRESULT, "c2", "a answers"]
    assert a.is_open()


def test_the_deployment_files_are_valid():
    """docker/compose.cluster.yaml and what it mounts: the node configurations load, HAProxy takes
    its configuration (names that only resolve inside the compose network are allowed to fail), and
    every file the compose file names exists."""
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
    docker = os.path.join(root, "docker")
    for node in ("node-a", "node-b"):
        result = subprocess.run([conftest.kreuz_bin(), "--check-config", os.path.join(docker, "cluster", f"{node}.yaml")],
                                capture_output=True, text=True, timeout=t(10))
        assert result.returncode == 0, result.stdout + result.stderr
    binary = shutil.which("haproxy") or "/usr/sbin/haproxy"
    result = subprocess.run([binary, "-c", "-f", os.path.join(docker, "cluster", "haproxy.cfg")],
                            capture_output=True, text=True, timeout=t(10))
    assert result.returncode == 0, result.stdout + result.stderr
    with open(os.path.join(docker, "compose.cluster.yaml")) as f:
        compose = yaml.safe_load(f)
    assert set(compose["services"]) == {"redis", "kreuz-a", "kreuz-b", "haproxy"}
    for name, service in compose["services"].items():
        assert os.path.exists(os.path.join(docker, service["build"]["context"], service["build"]["dockerfile"])), name
        for volume in service.get("volumes", []):
            assert os.path.exists(os.path.join(docker, volume.split(":")[0])), volume
