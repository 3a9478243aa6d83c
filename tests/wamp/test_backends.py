"""Procedures served by HTTP backends (realms[].backends): the request a backend receives, how
its answers map to CALLRESULT and CALLERROR, timeouts, unreachable and overloaded backends,
callers that leave, connection reuse, metrics, shutdown, and the acceptance case: a thousand
calls to a slow backend are served at once while the router goes on serving everyone else.

The backend is tests/wamp/backend_app.py, one process for the module, reset before each test.
"""
import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import urllib.parse

import pytest

from conftest import free_port
from wampclient import (CALL, CALLERROR, CALLRESULT, ECHO, EVENT, NO_SUCH, WampClient, http_raw, t,
                        get_request, unique)

HERE = os.path.dirname(os.path.abspath(__file__))
INTERNAL = "http://api.wamp.ws/error#internal"
BACKEND = "urn:kreuz:error:backend"
HTTP_STATUS = "urn:kreuz:error:backend-http-status"
INVALID = "urn:kreuz:error:backend-invalid-response"
TIMEOUT = "urn:kreuz:error:backend-timeout"
UNREACHABLE = "urn:kreuz:error:backend-unreachable"
OVERLOADED = "urn:kreuz:error:backend-overloaded"
API = "http://example.com/api#"


class BackendApp:
    def __init__(self):
        self.proc = subprocess.Popen([sys.executable, os.path.join(HERE, "backend_app.py")],
                                     stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
        line = self.proc.stdout.readline()
        assert line.startswith("PORT "), f"backend_app did not start: {line!r}"
        self.port = int(line.split()[1])

    def url(self, path, **query):
        q = urllib.parse.urlencode(query)
        return f"http://127.0.0.1:{self.port}{path}" + (f"?{q}" if q else "")

    async def get(self, path):
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        await writer.drain()
        data = await asyncio.wait_for(reader.read(), t(5))
        writer.close()
        return json.loads(data.partition(b"\r\n\r\n")[2])

    async def stats(self):
        return await self.get("/_stats")

    def stop(self):
        self.proc.kill()
        self.proc.wait()


@pytest.fixture(scope="module")
def _app():
    app = BackendApp()
    yield app
    app.stop()


@pytest.fixture
def app(_app):
    assert _app.proc.poll() is None, "backend_app died"
    asyncio.run(_app.get("/_reset"))
    return _app


def config(*backends, realm_keys=""):
    """A realm "default" on /ws with these backends (dicts, written as YAML flow mappings)."""
    text = "realms:\n  - name: default\n    paths: [/ws]\n" + realm_keys + "    backends:\n"
    return text + "".join(f"      - {json.dumps(b)}\n" for b in backends)


async def send_calls(client, procedure, n, *args, prefix="c"):
    ids = [f"{prefix}{i}" for i in range(n)]
    for cid in ids:
        await client.send([CALL, cid, procedure, *args])
    return ids


async def replies(client, n, timeout=5.0):
    """The next n CALLRESULT/CALLERRORs by call id, each with its arrival time."""
    got = {}
    for _ in range(n):
        msg = await client.recv(timeout)
        assert msg[0] in (CALLRESULT, CALLERROR), f"expected a call reply, got {msg!r}"
        assert msg[1] not in got, f"two replies to {msg[1]!r}"
        got[msg[1]] = (msg, time.monotonic())
    return got


# ------------------------------------------------------------------------ the request


async def test_request_body_and_headers(make_server, app):
    srv = make_server(config({"procedure": API + "reflect", "url": app.url("/reflect"),
                              "headers": {"Authorization": "Bearer x", "X-Api-Version": 2}}))
    c = await WampClient.connect(srv.port)
    msg = await c.call(API + "reflect", 1, "two", {"three": [3]})
    assert msg[0] == CALLRESULT, msg
    seen = msg[2]
    assert seen["method"] == "POST" and seen["path"] == "/reflect"
    assert seen["body"] == {"procedure": API + "reflect", "args": [1, "two", {"three": [3]}],
                            "session": c.session_id}
    headers = seen["headers"]
    assert headers["content-type"] == "application/json"
    assert headers["authorization"] == "Bearer x"
    assert headers["x-api-version"] == "2"
    assert headers["user-agent"].startswith("kreuz/")
    assert "expect" not in headers, headers
    # No arguments are an empty list.
    msg = await c.call(API + "reflect")
    assert msg[2]["body"] == {"procedure": API + "reflect", "args": [], "session": c.session_id}


async def test_exact_and_prefix_procedures(make_server, app):
    srv = make_server(config({"procedure": API, "prefix": True, "url": app.url("/reflect")},
                             {"procedure": API + "exact", "url": app.url("/answer", body='"exact"')}))
    c = await WampClient.connect(srv.port)
    msg = await c.call(API + "add", 1, 2)
    assert msg[0] == CALLRESULT and msg[2]["body"]["procedure"] == API + "add", msg
    assert msg[2]["body"]["args"] == [1, 2]
    # A CURIE is resolved before the backend sees it.
    await c.prefix("api", API)
    msg = await c.call("api:users/list")
    assert msg[0] == CALLRESULT and msg[2]["body"]["procedure"] == API + "users/list", msg
    # An exact procedure under the prefix has its own backend.
    msg = await c.call(API + "exact")
    assert msg == [CALLRESULT, msg[1], "exact"]
    # The prefix itself is covered; a URI outside it is not.
    msg = await c.call(API)
    assert msg[0] == CALLRESULT and msg[2]["body"]["procedure"] == API, msg
    msg = await c.call("http://example.com/other#x", call_id="no")
    assert msg == [CALLERROR, "no", NO_SUCH, "No RPC endpoint registered for http://example.com/other#x."]
    # The built-ins are still there.
    assert (await c.call(ECHO, 5))[2] == 5


# ------------------------------------------------------------------------ answers


ANSWERS = [
    # (name, query of /answer, expected reply without the call id)
    ("result", {"body": '{"sum": 3, "list": [1, null]}'}, [CALLRESULT, {"sum": 3, "list": [1, None]}]),
    ("null", {"body": "null"}, [CALLRESULT, None]),
    ("created", {"status": 201, "body": "[1]"}, [CALLRESULT, [1]]),
    ("error", {"body": json.dumps({"error": {"uri": "http://example.com/error#nope", "desc": "no way",
                                             "details": {"why": 1}}})},
     [CALLERROR, "http://example.com/error#nope", "no way", {"why": 1}]),
    ("error-defaults", {"body": '{"error": {}}'}, [CALLERROR, BACKEND, "backend error"]),
    ("error-null-details", {"body": '{"error": {"uri": "urn:x", "desc": "d", "details": null}}'},
     [CALLERROR, "urn:x", "d"]),
    # Only an object whose single key is "error", holding an object, is an error.
    ("error-and-more", {"body": '{"error": {"uri": "urn:x"}, "more": 1}'},
     [CALLRESULT, {"error": {"uri": "urn:x"}, "more": 1}]),
    ("error-string", {"body": '{"error": "text"}'}, [CALLRESULT, {"error": "text"}]),
    ("500-error", {"status": 500, "body": '{"error": {"uri": "urn:app:broken", "desc": "db down"}}'},
     [CALLERROR, "urn:app:broken", "db down"]),
    ("500-text", {"status": 500, "body": "oops", "type": "text/plain"},
     [CALLERROR, HTTP_STATUS, "backend answered HTTP 500", {"status": 500}]),
    ("404-json", {"status": 404, "body": '{"not": "an error object"}'},
     [CALLERROR, HTTP_STATUS, "backend answered HTTP 404", {"status": 404}]),
    ("302", {"status": 302, "body": ""}, [CALLERROR, HTTP_STATUS, "backend answered HTTP 302", {"status": 302}]),
    ("not-json", {"body": "hello", "type": "text/plain"}, [CALLERROR, INVALID, "backend answer is not JSON"]),
    ("empty", {"body": ""}, [CALLERROR, INVALID, "backend answer is not JSON"]),
]


async def test_answer_mapping(make_server, app):
    srv = make_server(config(*({"procedure": API + name, "url": app.url("/answer", **query)}
                               for name, query, _ in ANSWERS)))
    c = await WampClient.connect(srv.port)
    for name, _query, expected in ANSWERS:
        msg = await c.call(API + name, call_id=name)
        assert msg == [expected[0], name, *expected[1:]], f"{name}: {msg!r}"


async def test_invalid_responses(make_server, app):
    srv = make_server(config({"procedure": API + "garbage", "url": app.url("/garbage")},
                             {"procedure": API + "big", "url": app.url("/big", size=20000)},
                             {"procedure": API + "small", "url": app.url("/big", size=9000)},
                             realm_keys="    max_message_size: 10000\n"))
    c = await WampClient.connect(srv.port)
    msg = await c.call(API + "garbage")
    assert msg[0] == CALLERROR and msg[2] == INVALID and msg[3].startswith("backend answer is not HTTP"), msg
    msg = await c.call(API + "big")
    assert msg[0] == CALLERROR and msg[2:] == [INVALID, "backend answer larger than 10000 bytes"], msg
    msg = await c.call(API + "small")
    assert msg[0] == CALLRESULT and msg[2] == "x" * 9000, msg[:2]


async def test_timeout(make_server, app):
    srv = make_server(config({"procedure": API + "slow", "url": app.url("/answer", delay=3), "timeout_ms": 300}))
    c = await WampClient.connect(srv.port)
    start = time.monotonic()
    msg = await c.call(API + "slow", call_id="s")
    elapsed = time.monotonic() - start
    assert msg == [CALLERROR, "s", TIMEOUT, "backend did not answer within 300 ms"]
    assert 0.25 <= elapsed < t(2), elapsed


async def test_timeout_counts_the_time_queued(make_server, app):
    srv = make_server(config({"procedure": API + "slow", "url": app.url("/answer", delay=3), "timeout_ms": 500,
                              "max_concurrent": 1}))
    c = await WampClient.connect(srv.port)
    start = time.monotonic()
    await send_calls(c, API + "slow", 2)
    got = await replies(c, 2)
    for cid in ("c0", "c1"):
        msg, at = got[cid]
        assert msg == [CALLERROR, cid, TIMEOUT, "backend did not answer within 500 ms"]
        # The queued call waited 500 ms for the slot; that was its whole time.
        assert at - start < t(1.5), (cid, at - start)
    # The queued call's deadline is a moment after the first one's: when the first times out,
    # the queued one may still have a millisecond left and go out with it (seen on a loaded
    # machine); it never gets a time of its own.
    assert (await app.stats())["requests"] in (1, 2)


async def test_unreachable(make_server, app):
    port = free_port()  # nobody listens there
    srv = make_server(config({"procedure": API + "gone", "url": f"http://127.0.0.1:{port}/rpc"},
                             {"procedure": API + "nohost", "url": "http://no-such-host.invalid/rpc",
                              "timeout_ms": 8000}))
    c = await WampClient.connect(srv.port)
    msg = await c.call(API + "gone")
    assert msg[0] == CALLERROR and msg[2] == UNREACHABLE, msg
    assert msg[3].startswith("backend unreachable: ") and str(port) in msg[3], msg
    msg = await c.call(API + "nohost")
    assert msg[0] == CALLERROR and msg[2] == UNREACHABLE and "no-such-host.invalid" in msg[3], msg
    assert "backend unreachable" in srv.log()


async def test_queue_full_is_overloaded(make_server, app):
    srv = make_server(config({"procedure": API + "slow", "url": app.url("/answer", delay=1, body="7"),
                              "max_concurrent": 1, "max_queued": 1}))
    c = await WampClient.connect(srv.port)
    await send_calls(c, API + "slow", 3)
    first = await c.recv()
    assert first == [CALLERROR, "c2", OVERLOADED,
                     "backend overloaded: 1 requests in flight and 1 calls waiting"], first
    got = await replies(c, 2)
    assert got["c0"][0] == [CALLRESULT, "c0", 7] and got["c1"][0] == [CALLRESULT, "c1", 7]
    # One after the other: max_concurrent is a limit.
    assert got["c1"][1] - got["c0"][1] > 0.8
    stats = await app.stats()
    assert stats["requests"] == 2 and stats["peak"] == 1, stats


async def test_caller_that_leaves(make_server, app):
    srv = make_server(config({"procedure": API + "slow", "url": app.url("/reflect", delay=1),
                              "max_concurrent": 1}))
    leaver = await WampClient.connect(srv.port)
    stayer = await WampClient.connect(srv.port)
    await send_calls(leaver, API + "slow", 3, prefix="gone")
    await leaver.barrier()  # the three calls are in the router: one in flight, two queued
    leaver.abort()
    await stayer.send([CALL, "mine", API + "slow", "still here"])
    msg = await stayer.recv(timeout=5)
    assert msg[0] == CALLRESULT and msg[1] == "mine", msg
    assert msg[2]["body"] == {"procedure": API + "slow", "args": ["still here"], "session": stayer.session_id}
    # The leaver's first request was made; its queued calls were not, nobody would see them.
    log = await app.get("/_log")
    assert [r["body"]["session"] for r in log] == [leaver.session_id, stayer.session_id], log
    await stayer.expect_nothing()
    assert srv.alive()


async def test_connection_reuse(make_server, app):
    srv = make_server(config({"procedure": API + "reflect", "url": app.url("/reflect")}))
    c = await WampClient.connect(srv.port)
    before = (await app.stats())["connections"]
    for i in range(50):
        msg = await c.call(API + "reflect", i)
        assert msg[0] == CALLRESULT and msg[2]["body"]["args"] == [i], msg
    stats = await app.stats()
    assert stats["requests"] == 50
    assert stats["connections"] - before <= 2, f"50 calls took {stats['connections'] - before} connections"


async def test_metrics(make_server, app):
    srv = make_server(config({"procedure": API, "prefix": True, "url": app.url("/answer", body="1")},
                             {"procedure": API, "url": app.url("/answer", status=503)}))
    c = await WampClient.connect(srv.port)
    assert (await c.call(API + "x"))[0] == CALLRESULT
    assert (await c.call(API + "y"))[0] == CALLRESULT
    assert (await c.call(API))[2] == HTTP_STATUS
    text = http_raw(srv.port, get_request("/metrics")).body.decode()
    prefix_labels = f'realm="default",procedure="{API}*"'
    exact_labels = f'realm="default",procedure="{API}"'
    for line in (f'kreuz_backend_requests_total{{{prefix_labels},outcome="result"}} 2',
                 f'kreuz_backend_requests_total{{{prefix_labels},outcome="timeout"}} 0',
                 f'kreuz_backend_requests_total{{{exact_labels},outcome="http_status"}} 1',
                 f'kreuz_backend_in_flight{{{prefix_labels}}} 0',
                 f'kreuz_backend_queued{{{exact_labels}}} 0',
                 f'kreuz_backend_latency_seconds_count{{{prefix_labels}}} 2',
                 "# TYPE kreuz_backend_latency_seconds histogram"):
        assert line in text.splitlines(), f"{line!r} not in /metrics:\n{text}"


async def test_reload_updates_a_backend(make_server, app):
    def backend(version):
        return {"procedure": API + "r", "url": app.url("/reflect"), "headers": {"X-Version": version}}

    srv = make_server(config(backend(1)))
    c = await WampClient.connect(srv.port)
    assert (await c.call(API + "r"))[2]["headers"]["x-version"] == "1"
    with open(srv.config, "w") as f:
        f.write(config(backend(2), {"procedure": API + "new", "url": app.url("/answer", body="2")}))
    srv.proc.send_signal(signal.SIGHUP)
    # The new procedure appears with the reload.
    for _ in range(200):
        msg = await c.call(API + "new")
        if msg[0] == CALLRESULT:
            break
        assert msg[2] == NO_SUCH, msg
        await asyncio.sleep(0.02)
    else:
        raise AssertionError(f"no reload\n{srv.log_tail()}")
    assert msg[2] == 2
    assert (await c.call(API + "r"))[2]["headers"]["x-version"] == "2"
    # Still one backend for API + "r", which counted both calls.
    text = http_raw(srv.port, get_request("/metrics")).body.decode()
    series = f'kreuz_backend_requests_total{{realm="default",procedure="{API}r",outcome="result"}}'
    assert [line for line in text.splitlines() if line.startswith(series)] == [series + " 2"], text


async def test_shutdown_with_calls_in_flight(make_server, app):
    srv = make_server(config({"procedure": API + "slow", "url": app.url("/answer", delay=20), "max_concurrent": 1}))
    c = await WampClient.connect(srv.port)
    await send_calls(c, API + "slow", 2)
    await c.barrier()
    start = time.monotonic()
    await asyncio.get_running_loop().run_in_executor(None, srv.stop, 5.0)
    assert time.monotonic() - start < t(3), "SIGTERM waited for the backend"
    got = await replies(c, 2)
    for cid in ("c0", "c1"):
        assert got[cid][0] == [CALLERROR, cid, INTERNAL, "the router is shutting down"], got


# ------------------------------------------------------------------------ acceptance


async def test_a_thousand_slow_calls_at_once(make_server, app):
    """1000 calls to a backend that answers after 1 s are all answered within seconds, and
    while they are pending other sessions' calls and events go through at once."""
    n = 1000
    srv = make_server(config({"procedure": API + "slow", "url": app.url("/reflect", delay=1),
                              "max_concurrent": n, "timeout_ms": 30000}))
    callers = [await WampClient.connect(srv.port) for _ in range(2)]
    echoer = await WampClient.connect(srv.port)
    publisher = await WampClient.connect(srv.port)
    subscriber = await WampClient.connect(srv.port)
    topic = unique("backend")
    await subscriber.subscribe(topic)
    await subscriber.barrier()

    arrivals = []  # (monotonic time, what) as the test sees them, in order

    async def collect(client, count):
        got = {}
        for _ in range(count):
            msg = await client.recv(timeout=20)
            assert msg[0] == CALLRESULT, msg
            got[msg[1]] = msg
            if len(got) == 1:
                arrivals.append((time.monotonic(), "first backend answer"))
        return got

    start = time.monotonic()
    sent = []
    for i, caller in enumerate(callers):
        sent.append(await send_calls(caller, API + "slow", n // len(callers), i, prefix=f"k{i}-"))
    collectors = [asyncio.ensure_future(collect(caller, n // len(callers))) for caller in callers]

    # The first request has reached the backend, so every answer is at least 1 s away.
    for _ in range(1000):
        if (await app.stats())["active"] > 0:
            break
        await asyncio.sleep(0.005)
    else:
        raise AssertionError("no request reached the backend")
    msg = await echoer.call(ECHO, "quick")
    assert msg[2] == "quick"
    arrivals.append((time.monotonic(), "echo"))
    await publisher.publish(topic, {"n": 1})
    assert await subscriber.recv() == [EVENT, topic, {"n": 1}]
    arrivals.append((time.monotonic(), "event"))

    results = await asyncio.wait_for(asyncio.gather(*collectors), t(20))
    elapsed = time.monotonic() - start
    order = [what for _, what in sorted(arrivals)]
    assert order[:2] == ["echo", "event"], order
    assert elapsed < t(10), f"{n} calls of 1 s took {elapsed:.1f} s"
    for i, (caller, got) in enumerate(zip(callers, results)):
        assert sorted(got) == sorted(sent[i])
        for cid, msg in got.items():
            assert msg[2]["body"] == {"procedure": API + "slow", "args": [i], "session": caller.session_id}, msg
    stats = await app.stats()
    assert stats["requests"] == n
    assert stats["peak"] > n // 2, f"at most {stats['peak']} requests were in flight at once"
