"""The router's own HTTP pages (http.health, http.metrics in docs/CONFIG.md): GET /health,
/health/live, /health/ready and /metrics (the Prometheus text format 0.0.4, checked line by
line), HEAD, other methods, the pages switched off; and the exact counts /metrics reports
after a known workload on a router of the test's own."""
import asyncio
import json
import math
import re
import socket
import time

import pytest

from wampclient import (CALLERROR, CALLRESULT, ECHO, EVENT, PING, WampClient, connect_all, get_request, http_raw,
                        no_such, t, unique)

AUTHREQ = "http://api.wamp.ws/procedure#authreq"
NO_SUCH_AUTHKEY = "http://api.wamp.ws/error#no-such-authkey"
TYPES = ["WELCOME", "PREFIX", "CALL", "CALLRESULT", "CALLERROR", "SUBSCRIBE", "UNSUBSCRIBE", "PUBLISH", "EVENT"]

CONFIG = """\
realms:
  - name: default
    paths: [/ws]
    auth:
      failure_delay: 10ms
      users:
        - {key: alice, secret: "s3cret"}
    publish_bridge: {path: /publish}
  - name: other
    paths: [/other]
"""


async def get(port, path, method="GET", body=b""):
    if body or method not in ("GET", "HEAD"):
        request = (f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                   f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body
    else:
        request = get_request(path, method)
    return await asyncio.to_thread(http_raw, port, request)


# ------------------------------------------------------------------ the Prometheus text format

SAMPLE_RE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$")
LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"')
METRIC_TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}


def parse_labels(text: str, line: str) -> tuple:
    labels = []
    pos = 0
    while pos < len(text):
        m = LABEL_RE.match(text, pos)
        assert m, f"bad label set at {text[pos:]!r} in {line!r}"
        labels.append((m.group(1), m.group(2)))
        pos = m.end()
        if pos < len(text):
            assert text[pos] == ",", f"labels not separated by commas in {line!r}"
            pos += 1
    names = [n for n, _ in labels]
    assert len(names) == len(set(names)), f"a label repeated in {line!r}"
    return tuple(sorted(labels))


def parse_value(text: str, line: str) -> float:
    if text in ("+Inf", "-Inf", "NaN"):
        return float(text.replace("Inf", "inf").replace("NaN", "nan"))
    assert re.match(r"^-?\d+(\.\d+)?([eE][-+]?\d+)?$", text), f"bad value {text!r} in {line!r}"
    return float(text)


class Metrics:
    """A scrape, validated: every line a HELP, a TYPE or a sample; every family with HELP and
    TYPE before its samples and all its lines together; no sample twice; histograms with
    cumulative buckets whose +Inf equals _count."""

    def __init__(self, text: str):
        assert text.endswith("\n"), "the exposition must end with a line break"
        self.samples = {}       # (name, labels) -> value
        self.types = {}         # family -> type
        helps = {}
        finished = set()
        current = None

        def enter(family):
            nonlocal current
            if family != current:
                assert family not in finished, f"the lines of family {family} are not together"
                if current is not None:
                    finished.add(current)
                current = family

        for line in text[:-1].split("\n"):
            assert line, "empty line in the exposition"
            if line.startswith("#"):
                parts = line.split(" ", 3)
                assert len(parts) >= 3 and parts[0] == "#" and parts[1] in ("HELP", "TYPE"), f"bad comment {line!r}"
                family = parts[2]
                assert re.match(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$", family), line
                enter(family)
                if parts[1] == "HELP":
                    assert family not in helps, f"second HELP for {family}"
                    assert len(parts) == 4 and parts[3].strip(), f"empty HELP text: {line!r}"
                    helps[family] = parts[3]
                else:
                    assert family not in self.types, f"second TYPE for {family}"
                    assert len(parts) == 4 and parts[3] in METRIC_TYPES, f"bad TYPE {line!r}"
                    self.types[family] = parts[3]
                continue
            m = SAMPLE_RE.match(line)
            assert m, f"not a sample line: {line!r}"
            name, labels, value = m.group(1), parse_labels(m.group(2) or "", line), parse_value(m.group(3), line)
            family = name
            if name not in self.types:
                for suffix in ("_bucket", "_sum", "_count"):
                    base = name[:-len(suffix)]
                    if name.endswith(suffix) and self.types.get(base) == "histogram":
                        family = base
            enter(family)
            assert family in helps and family in self.types, f"sample {line!r} before its HELP and TYPE"
            if self.types[family] == "counter":
                assert value >= 0, f"negative counter {line!r}"
                assert name.endswith("_total"), f"counter {name} not named *_total"
            if self.types[family] == "histogram":
                assert name != family, f"histogram {family} has a bare sample {line!r}"
                if name.endswith("_bucket"):
                    assert "le" in dict(labels), f"bucket without le: {line!r}"
            assert (name, labels) not in self.samples, f"sample {line!r} appears twice"
            self.samples[(name, labels)] = value
        for family, kind in self.types.items():
            assert family in helps, f"{family} has a TYPE but no HELP"
            if kind == "histogram":
                self._check_histogram(family)

    def _check_histogram(self, family):
        series = {}
        for (name, labels), value in self.samples.items():
            if name == family + "_bucket":
                rest = tuple(kv for kv in labels if kv[0] != "le")
                series.setdefault(rest, []).append((parse_value(dict(labels)["le"], "le"), value))
        assert series, f"histogram {family} has no buckets"
        for rest, buckets in series.items():
            buckets.sort()
            values = [v for _, v in buckets]
            assert values == sorted(values), f"{family}{rest}: buckets not cumulative: {buckets}"
            assert buckets[-1][0] == math.inf, f"{family}{rest}: no +Inf bucket"
            count = self.samples.get((family + "_count", rest))
            assert count is not None and (family + "_sum", rest) in self.samples, f"{family}{rest}: no _count/_sum"
            assert buckets[-1][1] == count, f"{family}{rest}: +Inf bucket {buckets[-1][1]} != _count {count}"

    def value(self, name, **labels):
        key = (name, tuple(sorted(labels.items())))
        assert key in self.samples, f"no sample {name}{labels}"
        return self.samples[key]


async def scrape(port) -> Metrics:
    r = await get(port, "/metrics")
    assert r.status == 200, r
    assert r.header("content-type") == "text/plain; version=0.0.4; charset=utf-8", r
    assert int(r.header("content-length")) == len(r.body), r
    return Metrics(r.body.decode("utf-8"))


async def scrape_when(port, predicate, what, timeout=5.0) -> Metrics:
    """Scrapes until predicate(metrics) holds (connections close asynchronously)."""
    deadline = time.monotonic() + t(timeout)
    while True:
        m = await scrape(port)
        if predicate(m):
            return m
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not reached within {t(timeout)} s")
        await asyncio.sleep(0.02)


async def health_when(port, predicate, what, timeout=5.0) -> dict:
    deadline = time.monotonic() + t(timeout)
    while True:
        r = await get(port, "/health")
        assert r.status == 200, r
        doc = json.loads(r.body)
        if predicate(doc):
            return doc
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not reached within {t(timeout)} s (last {doc})")
        await asyncio.sleep(0.02)


# ------------------------------------------------------------------ /health


async def test_health(make_server, version):
    srv = make_server(CONFIG)
    r = await get(srv.port, "/health")
    assert r.status == 200, r
    assert r.header("content-type") == "application/json", r
    assert r.header("cache-control") == "no-store", r
    doc = json.loads(r.body)
    assert set(doc) == {"status", "live", "ready", "version", "connections", "sessions"}, doc
    assert doc["status"] == "ok" and doc["live"] is True and doc["ready"] is True, doc
    assert doc["version"] == f"kreuz/{version}", doc
    assert type(doc["connections"]) is int and type(doc["sessions"]) is int, doc
    # the asking connection is the only one
    await health_when(srv.port, lambda d: d["connections"] == 1 and d["sessions"] == 0, "idle router")

    a, b = await connect_all(srv.port, 2)
    c = await WampClient.connect(srv.port, "/other")  # sessions of every realm count
    await health_when(srv.port, lambda d: (d["connections"], d["sessions"]) == (4, 3), "three sessions")
    # a TCP connection that has not even sent a request is a connection, not a session
    idle = socket.create_connection(("127.0.0.1", srv.port), timeout=t(5))
    try:
        await health_when(srv.port, lambda d: (d["connections"], d["sessions"]) == (5, 3), "an idle connection")
    finally:
        idle.close()
    await health_when(srv.port, lambda d: (d["connections"], d["sessions"]) == (4, 3), "idle connection gone")
    await a.close()
    await health_when(srv.port, lambda d: (d["connections"], d["sessions"]) == (3, 2), "a closed")
    b.abort()  # no closing handshake: the router learns it from the TCP connection
    await health_when(srv.port, lambda d: (d["connections"], d["sessions"]) == (2, 1), "b dropped")
    await c.close()
    await health_when(srv.port, lambda d: (d["connections"], d["sessions"]) == (1, 0), "all gone")


@pytest.mark.parametrize("path", ["/health/live", "/health/ready"])
async def test_live_and_ready(kreuz, path):
    r = await get(kreuz.port, path)
    assert r.status == 200, r
    assert r.header("content-type") == "application/json", r
    assert json.loads(r.body) == {"status": "ok"}


async def test_query_string_is_ignored(kreuz):
    r = await get(kreuz.port, "/health?verbose=1")
    assert r.status == 200 and json.loads(r.body)["status"] == "ok", r
    r = await get(kreuz.port, "/metrics?x=y")
    assert r.status == 200, r


@pytest.mark.parametrize("path", ["/health", "/health/live", "/health/ready", "/metrics"])
async def test_head(kreuz, path):
    r = await get(kreuz.port, path, "HEAD")
    assert r.status == 200, r
    assert r.body == b"", r
    assert int(r.header("content-length")) > 0, r
    g = await get(kreuz.port, path)
    assert r.header("content-type") == g.header("content-type")
    if path != "/metrics":  # the metrics text grows with every request counted
        assert int(r.header("content-length")) == len(g.body), (r, g)


@pytest.mark.parametrize("path", ["/health", "/health/live", "/health/ready", "/metrics"])
@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
async def test_other_methods_are_405(kreuz, path, method):
    r = await get(kreuz.port, path, method, body=b"{}")
    assert r.status == 405, r
    assert r.header("allow") == "GET, HEAD", r
    assert r.header("content-type") == "application/json", r
    doc = json.loads(r.body)
    assert set(doc) == {"error", "status"} and doc["status"] == 405 and doc["error"], doc
    c = await WampClient.connect(kreuz.port)
    assert await c.call(ECHO, 1, call_id="e") == [CALLRESULT, "e", 1]


@pytest.mark.parametrize("health,metrics", [(False, False), (False, True), (True, False)])
async def test_pages_switched_off_are_404(make_server, health, metrics):
    srv = make_server(f"http: {{health: {str(health).lower()}, metrics: {str(metrics).lower()}}}\n")
    for path in ("/health", "/health/live", "/health/ready"):
        r = await get(srv.port, path)
        assert r.status == (200 if health else 404), (path, r)
    r = await get(srv.port, "/metrics")
    assert r.status == (200 if metrics else 404), r
    if metrics:
        Metrics(r.body.decode())
    # the router itself works as ever
    c = await WampClient.connect(srv.port)
    assert await c.call(ECHO, "x", call_id="e") == [CALLRESULT, "e", "x"]


async def test_head_of_a_switched_off_page_has_no_body(make_server):
    # RFC 9110 9.3.2: the answer to HEAD has no content, a 404 included
    srv = make_server("http: {health: false, metrics: false, serve_www: false}\n")
    for path in ("/health", "/metrics"):
        r = await get(srv.port, path, "HEAD")
        assert r.status == 404, r
        assert r.body == b"", r


# ------------------------------------------------------------------ /metrics


async def test_metrics_format_of_the_shared_router(multi):
    m = await scrape(multi.port)
    for family, kind in [("kreuz_build_info", "gauge"), ("kreuz_connections", "gauge"),
                         ("kreuz_sessions", "gauge"), ("kreuz_sessions_opened_total", "counter"),
                         ("kreuz_messages_received_total", "counter"), ("kreuz_messages_sent_total", "counter"),
                         ("kreuz_publications_total", "counter"), ("kreuz_deliveries_total", "counter"),
                         ("kreuz_calls_total", "counter"), ("kreuz_call_duration_seconds", "histogram"),
                         ("kreuz_auth_failures_total", "counter"), ("kreuz_denied_total", "counter"),
                         ("kreuz_bridge_requests_total", "counter")]:
        assert m.types.get(family) == kind, (family, m.types.get(family))
    # one series per realm of MULTI_CONFIG
    realms = {dict(labels)["realm"] for (name, labels) in m.samples if name == "kreuz_sessions"}
    assert {"default", "other", "open", "strict", "limits", "small", "nobuiltins"} <= realms, realms


def deltas(before: Metrics, after: Metrics, realm="default"):
    def d(name, **labels):
        return after.value(name, realm=realm, **labels) - before.value(name, realm=realm, **labels)
    return d


async def test_metrics_after_a_known_workload(make_server):
    srv = make_server(CONFIG)
    port = srv.port
    m0 = await scrape_when(port, lambda m: m.value("kreuz_connections") == 1, "only the scraping connection")
    assert m0.value("kreuz_sessions", realm="default") == 0

    # N = 3 sessions
    a, b, c = await connect_all(port, 3)
    t1, t2, nobody = unique("m1"), unique("m2"), unique("m-none")
    # K = 3 subscribes
    await b.subscribe(t1)
    await c.subscribe(t1)
    await c.subscribe(t2)
    # round trips that also are part of the count: a failed WAMP-CRA authreq (unknown key),
    # and an echo
    reply = await b.call(AUTHREQ, "nobody", None, call_id="auth")
    assert reply[:3] == [CALLERROR, "auth", NO_SUCH_AUTHKEY], reply
    assert await c.call(ECHO, 0, call_id="sync") == [CALLRESULT, "sync", 0]
    # P = 4 publications: 2 + 2 + 1 + 0 receivers
    await a.publish(t1, "e1")
    await a.publish(t1, "e2")
    await a.publish(t2, "e3")
    await a.publish(nobody, "e4")
    # C = 5 echo calls in all (one above), one unknown procedure
    for i in range(4):
        assert await a.call(ECHO, i, call_id=f"e{i}") == [CALLRESULT, f"e{i}", i]
    assert await a.call("http://example.com/missing", call_id="u") == no_such("u", "http://example.com/missing")
    # the bridge: one accepted (2 receivers), one refused
    r = await get(port, "/publish", "POST", json.dumps({"topic": t1, "event": "br"}).encode())
    assert r.status == 202 and json.loads(r.body) == {"receivers": 2}, r
    r = await get(port, "/publish", "POST", b"{not json")
    assert r.status == 400, r
    # what the subscribers got, so the counts are the messages really sent
    assert [await b.recv() for _ in range(3)] == [[EVENT, t1, "e1"], [EVENT, t1, "e2"], [EVENT, t1, "br"]]
    assert [await c.recv() for _ in range(4)] == [[EVENT, t1, "e1"], [EVENT, t1, "e2"], [EVENT, t2, "e3"],
                                                  [EVENT, t1, "br"]]

    m1 = await scrape_when(port, lambda m: m.value("kreuz_connections") == 4, "3 sessions + the scrape")
    d = deltas(m0, m1)
    assert m1.value("kreuz_sessions", realm="default") == 3
    assert d("kreuz_sessions_opened_total") == 3
    received = {name: d("kreuz_messages_received_total", type=name) for name in TYPES}
    assert received == {"WELCOME": 0, "PREFIX": 0, "CALL": 7, "CALLRESULT": 0, "CALLERROR": 0, "SUBSCRIBE": 3,
                        "UNSUBSCRIBE": 0, "PUBLISH": 4, "EVENT": 0}, received
    sent = {name: d("kreuz_messages_sent_total", type=name) for name in TYPES}
    assert sent == {"WELCOME": 3, "PREFIX": 0, "CALL": 0, "CALLRESULT": 5, "CALLERROR": 2, "SUBSCRIBE": 0,
                    "UNSUBSCRIBE": 0, "PUBLISH": 0, "EVENT": 7}, sent
    assert d("kreuz_publications_total") == 5
    assert d("kreuz_deliveries_total") == 7
    assert d("kreuz_calls_total", outcome="result") == 5
    assert d("kreuz_calls_total", outcome="error") == 2
    assert d("kreuz_calls_total", outcome="caller_gone") == 0
    assert d("kreuz_call_duration_seconds_count") == 7
    assert d("kreuz_call_duration_seconds_sum") >= 0
    assert m1.value("kreuz_call_duration_seconds_bucket", realm="default", le="+Inf") == \
        m1.value("kreuz_call_duration_seconds_count", realm="default")
    assert d("kreuz_auth_failures_total") == 1
    assert d("kreuz_bridge_requests_total", outcome="accepted") == 1
    assert d("kreuz_bridge_requests_total", outcome="refused") == 1
    for action in ("publish", "subscribe", "call"):
        assert d("kreuz_denied_total", action=action) == 0
    assert m1.value("kreuz_connections") - m0.value("kreuz_connections") == 3
    assert m1.value("kreuz_websockets_opened_total") - m0.value("kreuz_websockets_opened_total") == 3
    # the other realm saw nothing; it has no bridge, so no bridge series
    o = deltas(m0, m1, "other")
    assert m1.value("kreuz_sessions", realm="other") == 0
    assert o("kreuz_sessions_opened_total") == 0
    assert all(o("kreuz_messages_received_total", type=name) == 0 for name in TYPES)
    assert o("kreuz_calls_total", outcome="result") == 0
    assert not any(name == "kreuz_bridge_requests_total" and dict(labels)["realm"] == "other"
                   for name, labels in m1.samples)

    # sessions leave: the gauges go back, the counters stay
    await a.close()
    b.abort()
    await c.close()
    m2 = await scrape_when(port, lambda m: m.value("kreuz_connections") == 1 and
                           m.value("kreuz_sessions", realm="default") == 0, "all sessions gone")
    assert deltas(m0, m2)("kreuz_sessions_opened_total") == 3
    assert deltas(m1, m2)("kreuz_deliveries_total") == 0
    assert deltas(m1, m2)("kreuz_calls_total", outcome="result") == 0


async def test_metrics_denied_and_caller_gone(make_server):
    """kreuz_denied_total by action, a failed WAMP-CRA auth, and calls answered after their
    caller left."""
    srv = make_server("""\
realms:
  - name: default
    paths: [/ws]
    auth:
      failure_delay: 20ms
      users:
        - {key: alice, secret: "s3cret", role: user}
    roles:
      user: [{uri: "", prefix: true}]
    rules:
      - {uri: "http://example.com/ro/", prefix: true, publish: false}
      - {uri: "http://example.com/svc/", prefix: true, register: true}
      - {uri: "http://api.wamp.ws/procedure#ping"}
""")
    m0 = await scrape(srv.port)
    c = await WampClient.connect(srv.port)
    await c.publish("http://example.com/x", 1)           # no rule: denied
    await c.publish("http://example.com/ro/y", 1)        # publish: false
    await c.subscribe("http://example.com/z")             # denied
    reply = await c.call(ECHO, 1, call_id="d")            # no rule for echo: denied
    assert reply[:3] == [CALLERROR, "d", "http://api.wamp.ws/error#not_authorized"], reply
    await c.barrier()
    m1 = await scrape(srv.port)
    d = deltas(m0, m1)
    assert d("kreuz_denied_total", action="publish") == 2
    assert d("kreuz_denied_total", action="subscribe") == 1
    assert d("kreuz_denied_total", action="call") == 1
    assert d("kreuz_publications_total") == 0
    # a wrong WAMP-CRA signature: counted when it arrives; its answer comes after a random
    # delay, to the session or, if it has left by then, to nobody
    challenge = await c.call(AUTHREQ, "alice", None, call_id="r")
    assert challenge[0] == CALLRESULT, challenge
    await c.send([2, "late", "http://api.wamp.ws/procedure#auth", "wrong signature"])
    await c.close()
    m2 = await scrape_when(srv.port, lambda m: m.value("kreuz_sessions", realm="default") == 0, "session gone")
    d = deltas(m1, m2)
    assert d("kreuz_auth_failures_total") == 1
    assert d("kreuz_calls_total", outcome="result") == 1  # the authreq
    assert d("kreuz_calls_total", outcome="caller_gone") + d("kreuz_calls_total", outcome="error") == 1

    # a routed call whose caller leaves before the callee answers
    callee, caller = await connect_all(srv.port, 2)
    uri = "http://example.com/svc/slow"
    assert await callee.call("urn:kreuz:procedure:register", uri, call_id="reg") == [CALLRESULT, "reg", uri]
    m3 = await scrape(srv.port)
    await caller.send([2, "gone", uri, 1])
    raw = json.loads(await callee.recv_raw())
    assert raw[0] == 2 and raw[2:] == [uri, 1], raw
    await caller.close()
    await scrape_when(srv.port, lambda m: m.value("kreuz_sessions", realm="default") == 1, "caller gone")
    await callee.send([3, raw[1], "for nobody"])
    assert await callee.call(PING, call_id="p") == [CALLRESULT, "p", None]
    m4 = await scrape(srv.port)
    d = deltas(m3, m4)
    assert d("kreuz_calls_total", outcome="caller_gone") == 1
    assert d("kreuz_calls_total", outcome="result") == 1  # the ping
    assert d("kreuz_calls_total", outcome="error") == 0
    assert d("kreuz_call_duration_seconds_count") == 1
