"""The publish bridge (realms[].publish_bridge, docs/CONFIG.md): HTTP POST -> PUBLISH.

The acceptance cases go through the real curl (/usr/bin/curl) to WAMP sessions that behave like
AutobahnJS 0.8 (subprotocol "wamp", SUBSCRIBE, then wait for EVENTs): unsigned and signed
publications are delivered as [8, topic, event]; a tampered request is refused with 401 and
delivers nothing. Then every layout (JSON object, JSON list, Crossbar's query + body, HTML /
wamp.io forms), exclude / eligible with the semantics of digest 6.3, and every refusal with its
status and JSON body. Sessions keep working after every refusal.

One router serves the whole module (unique topics keep the tests apart).
"""
import asyncio
import base64
import datetime
import hashlib
import hmac
import json
import os
import tempfile
import urllib.parse

import pytest

import conftest
from wampclient import EVENT, HttpResponse, WampClient, connect_all, http_raw, t, unique

CURL = "/usr/bin/curl"
ENV_SECRET_NAME = "KREUZ_TEST_BRIDGE_SECRET"
ENV_SECRET = "from the environment"
SECRETS = {"backend": "s3cret", "envkey": ENV_SECRET, "limited": "lim"}

CONFIG = """\
websocket:
  max_http_body: 64KiB
realms:
  - name: open
    paths: [/ws]
    publish_bridge:
      path: /publish
      max_body: 4KiB
      max_batch: 5
  - name: signed
    paths: [/signed]
    rules:
      - {uri: "", prefix: true}
    roles:
      limited:
        - {uri: "http://example.com/limited/", prefix: true}
    publish_bridge:
      path: /publish-signed
      timestamp_window: 300s
      keys:
        - {key: backend, secret: "s3cret"}
        - {key: envkey, secret_env: KREUZ_TEST_BRIDGE_SECRET}
        - {key: limited, secret: "lim", role: limited}
  - name: ruled
    paths: [/ruled]
    rules:
      - {uri: "http://example.com/allowed/", prefix: true}
      - {uri: "http://example.com/denied/", prefix: true, publish: false}
      - {uri: "http://api.wamp.ws/procedure#ping", publish: false, subscribe: false}
    publish_bridge: {path: /publish-ruled}
"""

ALLOWED = "http://example.com/allowed/"
DENIED = "http://example.com/denied/"
LIMITED = "http://example.com/limited/"


@pytest.fixture(scope="module")
def bridge():
    old = os.environ.get(ENV_SECRET_NAME)
    os.environ[ENV_SECRET_NAME] = ENV_SECRET
    try:
        srv = conftest._new_server(CONFIG)
    finally:
        if old is None:
            del os.environ[ENV_SECRET_NAME]
        else:
            os.environ[ENV_SECRET_NAME] = old
    yield srv
    srv.stop()


# ------------------------------------------------------------------ helpers


class Reply:
    def __init__(self, status, headers, body: bytes):
        self.status = status
        self.headers = headers
        self.body = body

    def header(self, name):
        values = self.headers.get(name.lower())
        return values[0] if values else None

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return f"<Reply {self.status} {self.headers!r} {self.body[:300]!r}>"


async def curl(port, target, *args, timeout=10.0) -> Reply:
    """Runs the real curl against 127.0.0.1:port/target; returns the (last) response."""
    with tempfile.TemporaryDirectory(prefix="kreuz-curl-") as d:
        head_file, body_file = os.path.join(d, "head"), os.path.join(d, "body")
        proc = await asyncio.create_subprocess_exec(
            CURL, "-sS", "--max-time", str(t(timeout)), "-D", head_file, "-o", body_file, "-w", "%{http_code}",
            *args, f"http://127.0.0.1:{port}{target}",
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        try:
            out, err = await asyncio.wait_for(proc.communicate(), t(timeout) + 5)
        except asyncio.TimeoutError:
            proc.kill()
            await proc.wait()
            raise AssertionError(f"curl {target} did not finish in time")
        assert proc.returncode == 0, f"curl failed with {proc.returncode}: {err.decode()!r}"
        with open(head_file, "rb") as f:
            heads = f.read().decode("latin-1")
        body = b""
        if os.path.exists(body_file):
            with open(body_file, "rb") as f:
                body = f.read()
    # the last response head (a 100 Continue may precede it)
    blocks = [b for b in heads.split("\r\n\r\n") if b.strip()]
    lines = blocks[-1].split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers.setdefault(name.strip().lower(), []).append(value.strip())
    status = int(lines[0].split(" ")[1])
    assert status == int(out.decode()), (status, out)
    return Reply(status, headers, body)


async def curl_post(port, target, body, content_type=None, extra=()) -> Reply:
    """POST with the exact bytes of `body` (curl --data-binary)."""
    data = body if isinstance(body, bytes) else body.encode()
    with tempfile.NamedTemporaryFile(prefix="kreuz-body-", delete=False) as f:
        f.write(data)
        name = f.name
    try:
        args = ["-X", "POST", "--data-binary", f"@{name}"]
        if content_type is not None:
            args += ["-H", f"Content-Type: {content_type}"]
        return await curl(port, target, *args, *extra)
    finally:
        os.unlink(name)


async def raw_post(port, target, body=b"", content_type="application/json", method="POST",
                   extra_headers="") -> HttpResponse:
    """A POST over a plain socket (for requests curl will not make, and for speed)."""
    data = body if isinstance(body, bytes) else body.encode()
    head = f"{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
    if content_type is not None:
        head += f"Content-Type: {content_type}\r\n"
    if method not in ("GET", "HEAD") or data:
        head += f"Content-Length: {len(data)}\r\n"
    request = (head + extra_headers + "\r\n").encode("latin-1") + data
    return await asyncio.to_thread(http_raw, port, request)


def check_refusal(reply, status):
    """Status, JSON content type and the body {"error": "...", "status": N}."""
    assert reply.status == status, reply
    assert (reply.header("content-type") or "").startswith("application/json"), reply
    doc = json.loads(reply.body)
    assert set(doc) == {"error", "status"}, doc
    assert doc["status"] == status, doc
    assert isinstance(doc["error"], str) and doc["error"], doc
    return doc


def check_accepted(reply, receivers):
    assert reply.status == 202, reply
    assert (reply.header("content-type") or "").startswith("application/json"), reply
    assert json.loads(reply.body) == {"receivers": receivers}, reply


def utc_now(offset_s: float = 0.0, fraction=False) -> str:
    now = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=offset_s)
    if fraction:
        return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
    return now.strftime("%Y-%m-%dT%H:%M:%SZ")


def sign(secret: str, topic: str, key: str, timestamp: str, body) -> str:
    """URL-safe Base64 without padding of HMAC-SHA256(secret, topic ‖ key ‖ timestamp ‖ body)."""
    data = body if isinstance(body, bytes) else body.encode()
    mac = hmac.new(secret.encode(), topic.encode() + key.encode() + timestamp.encode() + data, hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()).decode().rstrip("=")


def query(**params) -> str:
    return "?" + urllib.parse.urlencode(params, quote_via=urllib.parse.quote)


def signed_target(path, body, key="backend", topic=None, timestamp=None, secret=None, key_param="key",
                  **more) -> str:
    timestamp = utc_now() if timestamp is None else timestamp
    signature = sign(secret or SECRETS[key], topic or "", key, timestamp, body)
    params = {key_param: key, "timestamp": timestamp, "signature": signature}
    if topic is not None:
        params["topic"] = topic
    params.update(more)
    return path + query(**params)


async def subscribed(port, path, topic, n=1):
    """n sessions (AutobahnJS-like: subprotocol wamp) subscribed to topic, subscription processed."""
    clients = await connect_all(port, n, path)
    for c in clients:
        await c.subscribe(topic)
    for c in clients:
        await c.barrier()
    return clients


async def got(client) -> list:
    """What was queued to the client so far (the bridge publishes before it answers)."""
    return await client.barrier()


async def still_works(port, path, target):
    """After a refusal: a fresh publication through the bridge reaches a fresh subscriber, and
    the sessions of the realm go on working."""
    topic = unique("after")
    (sub,) = await subscribed(port, path, topic)
    body = json.dumps({"topic": topic, "event": "still"})
    if target == "/publish-signed":
        target = signed_target(target, body)
    check_accepted(await raw_post(port, target, body), 1)
    assert await got(sub) == [[EVENT, topic, "still"]]
    await sub.close()


# ------------------------------------------------------------------ acceptance with curl


async def test_curl_unsigned_publication_reaches_subscribers(bridge):
    topic = unique("curl")
    a, b = await subscribed(bridge.port, "/ws", topic, 2)
    other = await WampClient.connect(bridge.port)  # not subscribed
    event = {"title": "hello", "n": [1, 2.5, None, True], "ü": "☃"}
    reply = await curl(bridge.port, "/publish", "-X", "POST", "-H", "Content-Type: application/json",
                       "-d", json.dumps({"topic": topic, "event": event}))
    check_accepted(reply, 2)
    assert await got(a) == [[EVENT, topic, event]]
    assert await got(b) == [[EVENT, topic, event]]
    await other.expect_nothing()


async def test_curl_default_form_content_type_with_json_body(bridge):
    # `curl -d` says application/x-www-form-urlencoded; a JSON body is still read as JSON
    topic = unique("curl-d")
    (a,) = await subscribed(bridge.port, "/ws", topic)
    reply = await curl(bridge.port, "/publish", "-X", "POST", "-d", json.dumps({"topic": topic, "event": 7}))
    check_accepted(reply, 1)
    assert await got(a) == [[EVENT, topic, 7]]


@pytest.mark.parametrize("key", ["backend", "envkey"])
async def test_curl_signed_publication_reaches_subscribers(bridge, key):
    topic = unique("signed")
    (a,) = await subscribed(bridge.port, "/signed", topic)
    body = json.dumps({"topic": topic, "event": {"signed": key}})
    reply = await curl_post(bridge.port, signed_target("/publish-signed", body, key=key), body, "application/json")
    check_accepted(reply, 1)
    assert await got(a) == [[EVENT, topic, {"signed": key}]]


async def test_curl_signed_crossbar_layout(bridge):
    # topic in the query takes part in the signature
    topic = unique("signed-cb")
    (a,) = await subscribed(bridge.port, "/signed", topic)
    body = json.dumps(["crossbar", 1])
    reply = await curl_post(bridge.port, signed_target("/publish-signed", body, topic=topic), body,
                            "application/json")
    check_accepted(reply, 1)
    assert await got(a) == [[EVENT, topic, ["crossbar", 1]]]


def tamper(kind, topic, body):
    """A signed request with one thing changed after signing: (target, body sent)."""
    ts = utc_now()
    sig = sign(SECRETS["backend"], "", "backend", ts, body)
    params = {"key": "backend", "timestamp": ts, "signature": sig}
    if kind == "body":
        body = body.replace('"original"', '"tampered"')
    elif kind == "signature":
        params["signature"] = ("A" if sig[0] != "A" else "B") + sig[1:]
    elif kind == "signature-last-char":
        params["signature"] = sig[:-1] + ("A" if sig[-1] != "A" else "B")
    elif kind == "timestamp":
        params["timestamp"] = utc_now(-5)  # well inside the window, but not what was signed
    elif kind == "key":
        params["key"] = "envkey"  # a valid key, but the signature is backend's
    elif kind == "truncated-signature":
        params["signature"] = sig[:20]
    elif kind == "empty-signature":
        params["signature"] = ""
    elif kind == "wrong-secret":
        params["signature"] = sign("not the secret", "", "backend", ts, body)
    elif kind == "query-topic-added":
        params["topic"] = topic  # the signature was made with an empty topic
    return "/publish-signed" + query(**params), body


@pytest.mark.parametrize("kind", ["body", "signature", "signature-last-char", "timestamp", "key",
                                  "truncated-signature", "empty-signature", "wrong-secret",
                                  "query-topic-added"])
async def test_curl_tampered_request_is_refused_and_delivers_nothing(bridge, kind):
    topic = unique("tamper")
    (a,) = await subscribed(bridge.port, "/signed", topic)
    body = json.dumps({"topic": topic, "event": "original"})
    target, sent = tamper(kind, topic, body)
    reply = await curl_post(bridge.port, target, sent, "application/json")
    check_refusal(reply, 401)
    await a.expect_nothing()
    # the untampered request still goes through (nothing got blocked or consumed)
    check_accepted(await curl_post(bridge.port, signed_target("/publish-signed", body), body, "application/json"), 1)
    assert await got(a) == [[EVENT, topic, "original"]]


async def test_signed_crossbar_request_cannot_be_altered_by_query_lists(bridge):
    """docs/CONFIG.md: "the signature binds the body, so a replayed request cannot be altered".
    In Crossbar's layout exclude and eligible ride in the query: adding them to a signed
    request (same key, timestamp and signature) must not pass as that request."""
    topic = unique("alter")
    s0, s1 = await subscribed(bridge.port, "/signed", topic, 2)
    body = json.dumps("for everyone")
    target = signed_target("/publish-signed", body, topic=topic)
    check_accepted(await raw_post(bridge.port, target, body), 2)
    assert await got(s0) == [[EVENT, topic, "for everyone"]]
    assert await got(s1) == [[EVENT, topic, "for everyone"]]
    # replayed within the window with a list the signer never wrote
    altered = target + "&" + urllib.parse.urlencode({"exclude": s0.session_id})
    # docs/CONFIG.md: a signed request may not carry receiver lists in the query
    check_refusal(await raw_post(bridge.port, altered, body), 400)
    await s0.expect_nothing()
    await s1.expect_nothing()


# ------------------------------------------------------------------ signing details


async def test_appkey_alias_and_fractional_timestamp(bridge):
    topic = unique("appkey")
    (a,) = await subscribed(bridge.port, "/signed", topic)
    body = json.dumps({"topic": topic, "event": 1})
    target = signed_target("/publish-signed", body, key_param="appkey", timestamp=utc_now(fraction=True))
    check_accepted(await raw_post(bridge.port, target, body), 1)
    assert await got(a) == [[EVENT, topic, 1]]


async def test_signature_encodings(bridge):
    """URL-safe with and without padding, and standard Base64 (percent-encoded in the query)."""
    topic = unique("b64")
    (a,) = await subscribed(bridge.port, "/signed", topic)
    # find a body whose signature has a character that differs between the two alphabets
    for n in range(1000):
        body = json.dumps({"topic": topic, "event": n})
        ts = utc_now()
        url_safe = sign(SECRETS["backend"], "", "backend", ts, body)
        if "-" in url_safe or "_" in url_safe:
            break
    else:
        raise AssertionError("no signature with - or _ found")
    standard = url_safe.replace("-", "+").replace("_", "/")
    padded = url_safe + "=" * (-len(url_safe) % 4)
    standard_padded = standard + "=" * (-len(standard) % 4)
    assert padded != url_safe  # 32 bytes: 43 characters plus one "="
    for signature in (url_safe, padded, standard, standard_padded):
        target = "/publish-signed" + query(key="backend", timestamp=ts, signature=signature)
        check_accepted(await raw_post(bridge.port, target, body), 1)
        assert await got(a) == [[EVENT, topic, n]], signature


@pytest.mark.parametrize("offset,status", [(-200, 202), (200, 202), (-400, 401), (400, 401),
                                           (-86400 * 365, 401)])
async def test_timestamp_window_either_way(bridge, offset, status):
    topic = unique("window")
    (a,) = await subscribed(bridge.port, "/signed", topic)
    body = json.dumps({"topic": topic, "event": offset})
    reply = await raw_post(bridge.port, signed_target("/publish-signed", body, timestamp=utc_now(offset)), body)
    if status == 202:
        check_accepted(reply, 1)
        assert await got(a) == [[EVENT, topic, offset]]
    else:
        check_refusal(reply, 401)
        await a.expect_nothing()


def bad_timestamps():
    now = datetime.datetime.now(datetime.timezone.utc)
    return [
        now.strftime("%Y-%m-%d %H:%M:%SZ"),
        now.strftime("%Y-%m-%dT%H:%M:%S"),
        now.strftime("%Y-%m-%dT%H:%M:%S+00:00"),
        now.strftime("%Y-%m-%dT%H:%M:%S.Z"),
        now.strftime("%Y-%m-%dT%H:%MZ"),
        str(int(now.timestamp())),
        "2026-13-01T00:00:00Z",
        "",
        "yesterday",
    ]


@pytest.mark.parametrize("index", range(len(bad_timestamps())))
async def test_bad_timestamp_format_is_400(bridge, index):
    topic = unique("badts")
    (a,) = await subscribed(bridge.port, "/signed", topic)
    ts = bad_timestamps()[index]
    body = json.dumps({"topic": topic, "event": 1})
    reply = await raw_post(bridge.port, signed_target("/publish-signed", body, timestamp=ts), body)
    check_refusal(reply, 400)
    await a.expect_nothing()


@pytest.mark.parametrize("variant", ["seconds-plus-sign", "seconds-minus-zero", "seconds-leading-space"])
async def test_timestamp_fields_must_be_two_digits(bridge, variant):
    """YYYY-MM-DDTHH:MM:SSZ means digits: a sign or a space in a field is not that format, even
    when the signature is right and the time it denotes is inside the window."""
    now = datetime.datetime.now(datetime.timezone.utc)
    if variant == "seconds-plus-sign":
        ts = now.strftime("%Y-%m-%dT%H:%M:") + "+0Z"
    elif variant == "seconds-minus-zero":
        ts = now.strftime("%Y-%m-%dT%H:%M:") + "-0Z"
    else:
        ts = now.strftime("%Y-%m-%dT%H:%M:") + " 0Z"
    assert len(ts) == 20
    topic = unique("ts2")
    (a,) = await subscribed(bridge.port, "/signed", topic)
    body = json.dumps({"topic": topic, "event": 1})
    reply = await raw_post(bridge.port, signed_target("/publish-signed", body, timestamp=ts), body)
    check_refusal(reply, 400)
    await a.expect_nothing()


@pytest.mark.parametrize("missing", ["key", "timestamp", "signature", "all"])
async def test_missing_signature_parameters_are_401(bridge, missing):
    topic = unique("missing")
    (a,) = await subscribed(bridge.port, "/signed", topic)
    body = json.dumps({"topic": topic, "event": 1})
    ts = utc_now()
    params = {"key": "backend", "timestamp": ts, "signature": sign(SECRETS["backend"], "", "backend", ts, body)}
    if missing == "all":
        params = {}
    else:
        del params[missing]
    reply = await curl_post(bridge.port, "/publish-signed" + (query(**params) if params else ""), body,
                            "application/json")
    check_refusal(reply, 401)
    await a.expect_nothing()
    await still_works(bridge.port, "/signed", "/publish-signed")


async def test_unknown_key_is_401(bridge):
    topic = unique("unknownkey")
    (a,) = await subscribed(bridge.port, "/signed", topic)
    body = json.dumps({"topic": topic, "event": 1})
    target = signed_target("/publish-signed", body, key="nobody", secret="s3cret")
    check_refusal(await raw_post(bridge.port, target, body), 401)
    await a.expect_nothing()


async def test_key_role_rules(bridge):
    """A key with a role obeys that role's rules; a key without follows the realm's rules."""
    allowed = LIMITED + "x" + unique("role").rpartition("#")[2]
    elsewhere = unique("role-elsewhere")
    (a,) = await subscribed(bridge.port, "/signed", allowed)
    (b,) = await subscribed(bridge.port, "/signed", elsewhere)
    body = json.dumps({"topic": allowed, "event": "lim"})
    check_accepted(await raw_post(bridge.port, signed_target("/publish-signed", body, key="limited"), body), 1)
    assert await got(a) == [[EVENT, allowed, "lim"]]
    body = json.dumps({"topic": elsewhere, "event": "lim"})
    check_refusal(await raw_post(bridge.port, signed_target("/publish-signed", body, key="limited"), body), 403)
    await b.expect_nothing()
    # all or nothing for a batch with one topic the role may not publish to
    body = json.dumps([{"topic": allowed, "event": 1}, {"topic": elsewhere, "event": 2}])
    check_refusal(await raw_post(bridge.port, signed_target("/publish-signed", body, key="limited"), body), 403)
    await a.expect_nothing()
    await b.expect_nothing()
    # the realm's rules allow everything to a key without a role
    check_accepted(await raw_post(bridge.port, signed_target("/publish-signed", body, key="backend"), body), [1, 1])
    assert await got(a) == [[EVENT, allowed, 1]]
    assert await got(b) == [[EVENT, elsewhere, 2]]


async def test_unsigned_request_to_an_unsigned_bridge_ignores_signature_params(bridge):
    # a bridge without keys takes requests as they come; stray parameters change nothing
    topic = unique("nokeys")
    (a,) = await subscribed(bridge.port, "/ws", topic)
    body = json.dumps({"topic": topic, "event": 1})
    check_accepted(await raw_post(bridge.port, "/publish" + query(key="x", timestamp="bad", signature="x"), body), 1)
    assert await got(a) == [[EVENT, topic, 1]]


# ------------------------------------------------------------------ layouts


async def test_json_object_event_defaults_to_null(bridge):
    topic = unique("null")
    (a,) = await subscribed(bridge.port, "/ws", topic)
    check_accepted(await raw_post(bridge.port, "/publish", json.dumps({"topic": topic})), 1)
    assert await got(a) == [[EVENT, topic, None]]


@pytest.mark.parametrize("event", [None, 0, "", False, [], {}, "s", 1.25, -7, 2 ** 63 - 1, [None],
                                   {"a": {"b": [1]}}], ids=range(12))
async def test_any_event_value(bridge, event):
    topic = unique("anyev")
    (a,) = await subscribed(bridge.port, "/ws", topic)
    check_accepted(await raw_post(bridge.port, "/publish", json.dumps({"topic": topic, "event": event})), 1)
    assert await got(a) == [[EVENT, topic, event]]


# (exclude, eligible) naming the subscribers s0, s1, s2; who receives (6.3: with eligible only
# those may receive; the excluded never do)
LISTS = [
    (None, None, {0, 1, 2}),
    ([], None, {0, 1, 2}),
    (["s0"], None, {1, 2}),
    (["s0", "s2"], None, {1}),
    (None, ["s1"], {1}),
    (None, ["s0", "s2"], {0, 2}),
    (None, [], set()),
    (["s1"], ["s0", "s1"], {0}),
    (["s0", "s1", "s2"], None, set()),
    (["s0"], ["s0"], set()),
    ([], [], set()),
    (["NoSuchSession-00"], None, {0, 1, 2}),
    (None, ["NoSuchSession-00", "s2"], {2}),
]


def ids_of(names, clients):
    return None if names is None else [clients[int(n[1])].session_id if n.startswith("s") and n[1:].isdigit()
                                       else n for n in names]


@pytest.mark.parametrize("exclude,eligible,expected", LISTS, ids=range(len(LISTS)))
async def test_json_exclude_eligible(bridge, exclude, eligible, expected):
    topic = unique("lists")
    subs = await subscribed(bridge.port, "/ws", topic, 3)
    item = {"topic": topic, "event": "x"}
    if exclude is not None:
        item["exclude"] = ids_of(exclude, subs)
    if eligible is not None:
        item["eligible"] = ids_of(eligible, subs)
    check_accepted(await raw_post(bridge.port, "/publish", json.dumps(item)), len(expected))
    for i, s in enumerate(subs):
        assert await got(s) == ([[EVENT, topic, "x"]] if i in expected else []), (i, item)


async def test_json_lists_ignore_entries_that_are_not_ids(bridge):
    # the one policy of every reader of these lists (wamp::read_session_ids), as in a WAMP PUBLISH
    topic = unique("lists")
    subs = await subscribed(bridge.port, "/ws", topic, 3)
    item = {"topic": topic, "event": "x", "exclude": [1, subs[0].session_id, None],
            "eligible": [subs[0].session_id, {"id": subs[1].session_id}, subs[2].session_id, 2.5]}
    check_accepted(await raw_post(bridge.port, "/publish", json.dumps(item)), 1)
    for i, s in enumerate(subs):
        assert await got(s) == ([[EVENT, topic, "x"]] if i == 2 else []), i
    check_accepted(await raw_post(bridge.port, "/publish", json.dumps({"topic": topic, "event": "y", "eligible": [1]})), 0)
    for s in subs:
        assert await got(s) == []


@pytest.mark.parametrize("exclude,eligible,expected", LISTS, ids=range(len(LISTS)))
async def test_crossbar_query_exclude_eligible(bridge, exclude, eligible, expected):
    topic = unique("cb-lists")
    subs = await subscribed(bridge.port, "/ws", topic, 3)
    params = {"topic": topic}
    if exclude is not None:
        params["exclude"] = ",".join(ids_of(exclude, subs))
    if eligible is not None:
        params["eligible"] = ",".join(ids_of(eligible, subs))
    reply = await curl_post(bridge.port, "/publish" + query(**params), json.dumps({"cb": True}), "application/json")
    check_accepted(reply, len(expected))
    for i, s in enumerate(subs):
        assert await got(s) == ([[EVENT, topic, {"cb": True}]] if i in expected else []), (i, params)


async def test_json_batch(bridge):
    t1, t2, t3 = unique("b1"), unique("b2"), unique("b3")
    s1 = await subscribed(bridge.port, "/ws", t1, 2)
    (s2,) = await subscribed(bridge.port, "/ws", t2)
    body = json.dumps([
        {"topic": t1, "event": 1},
        {"topic": t2, "event": 2},
        {"topic": t3, "event": 3},          # nobody subscribed
        {"topic": t1, "event": 4, "exclude": [s1[0].session_id]},
        {"topic": t1, "event": 5, "eligible": [s1[0].session_id]},
    ])
    reply = await curl_post(bridge.port, "/publish", body, "application/json")
    check_accepted(reply, [2, 1, 0, 1, 1])
    # in request order
    assert await got(s1[0]) == [[EVENT, t1, 1], [EVENT, t1, 5]]
    assert await got(s1[1]) == [[EVENT, t1, 1], [EVENT, t1, 4]]
    assert await got(s2) == [[EVENT, t2, 2]]


async def test_batch_of_one_answers_a_list(bridge):
    topic = unique("b-one")
    (a,) = await subscribed(bridge.port, "/ws", topic)
    check_accepted(await raw_post(bridge.port, "/publish", json.dumps([{"topic": topic, "event": 1}])), [1])
    assert await got(a) == [[EVENT, topic, 1]]


async def test_batch_at_max_batch(bridge):
    topic = unique("b-max")
    (a,) = await subscribed(bridge.port, "/ws", topic)
    body = json.dumps([{"topic": topic, "event": i} for i in range(5)])
    check_accepted(await raw_post(bridge.port, "/publish", body), [1] * 5)
    assert await got(a) == [[EVENT, topic, i] for i in range(5)]


async def test_crossbar_layout_with_curl(bridge):
    topic = unique("crossbar")
    (a,) = await subscribed(bridge.port, "/ws", topic)
    reply = await curl(bridge.port, "/publish" + query(topic=topic), "-X", "POST", "-H",
                       "Content-Type: application/json", "-d", '{"a": [1, 2]}')
    check_accepted(reply, 1)
    assert await got(a) == [[EVENT, topic, {"a": [1, 2]}]]


async def test_crossbar_layout_event_in_form_field(bridge):
    topic = unique("crossbar-form")
    (a,) = await subscribed(bridge.port, "/ws", topic)
    reply = await curl(bridge.port, "/publish" + query(topic=topic), "-X", "POST",
                       "--data-urlencode", 'event={"x": "a b&c=d"}')
    check_accepted(reply, 1)
    assert await got(a) == [[EVENT, topic, {"x": "a b&c=d"}]]


async def test_crossbar_layout_topic_is_not_taken_from_the_body(bridge):
    # with ?topic=, a JSON object body is the event itself, "topic" key and all
    topic = unique("cb-obj")
    (a,) = await subscribed(bridge.port, "/ws", topic)
    event = {"topic": "http://example.com/elsewhere", "event": 1}
    check_accepted(await raw_post(bridge.port, "/publish" + query(topic=topic), json.dumps(event)), 1)
    assert await got(a) == [[EVENT, topic, event]]


@pytest.mark.parametrize("topic_field,event_field", [("topic", "event"), ("topicuri", "body"),
                                                     ("topic", "body"), ("topicuri", "event")])
async def test_form_layouts_with_curl(bridge, topic_field, event_field):
    topic = unique("form")
    subs = await subscribed(bridge.port, "/ws", topic, 3)
    event = {"form": [topic_field, event_field], "text": "a+b c&d=e ü"}
    reply = await curl(bridge.port, "/publish", "-X", "POST",
                       "--data-urlencode", f"{topic_field}={topic}",
                       "--data-urlencode", f"{event_field}={json.dumps(event)}",
                       "--data-urlencode", f"exclude={subs[0].session_id},{subs[1].session_id}")
    check_accepted(reply, 1)
    assert await got(subs[0]) == []
    assert await got(subs[1]) == []
    assert await got(subs[2]) == [[EVENT, topic, event]]


async def test_form_eligible(bridge):
    topic = unique("form-el")
    subs = await subscribed(bridge.port, "/ws", topic, 3)
    body = urllib.parse.urlencode({"topic": topic, "event": "5", "eligible": f"{subs[1].session_id}"})
    check_accepted(await raw_post(bridge.port, "/publish", body, "application/x-www-form-urlencoded"), 1)
    assert [await got(s) for s in subs] == [[], [[EVENT, topic, 5]], []]


async def test_signed_form(bridge):
    topic = unique("signed-form")
    (a,) = await subscribed(bridge.port, "/signed", topic)
    body = urllib.parse.urlencode({"topicuri": topic, "body": '{"f": 1}'})
    reply = await curl_post(bridge.port, signed_target("/publish-signed", body), body,
                            "application/x-www-form-urlencoded")
    check_accepted(reply, 1)
    assert await got(a) == [[EVENT, topic, {"f": 1}]]


async def test_publisher_is_nobody(bridge):
    """The router is the publisher: a subscriber whose id matches nothing is not excluded by
    default, and a WAMP session's PUBLISH and the bridge reach the same subscribers."""
    topic = unique("nobody")
    a, b = await subscribed(bridge.port, "/ws", topic, 2)
    check_accepted(await raw_post(bridge.port, "/publish", json.dumps({"topic": topic, "event": 1})), 2)
    assert await got(a) == [[EVENT, topic, 1]]
    assert await got(b) == [[EVENT, topic, 1]]


# ------------------------------------------------------------------ refusals


async def test_get_is_405_with_allow(bridge):
    reply = await curl(bridge.port, "/publish")
    check_refusal(reply, 405)
    assert reply.header("allow") == "POST"
    for method in ("PUT", "DELETE"):
        reply = await raw_post(bridge.port, "/publish", json.dumps({"topic": unique(), "event": 1}), method=method)
        check_refusal(reply, 405)
        assert reply.header("allow") == "POST"
    await still_works(bridge.port, "/ws", "/publish")


async def test_head_is_405_without_a_body(bridge):
    # RFC 9110 9.3.2: a response to HEAD carries no content (the Content-Length of a GET's)
    reply = await raw_post(bridge.port, "/publish", b"", method="HEAD", content_type=None)
    assert reply.status == 405, reply
    assert reply.header("allow") == "POST"
    assert reply.body == b"", reply


BAD_REQUESTS = [
    ("not-json", "application/json", b'{"topic": '),
    ("not-json-text", "application/json", b"hello"),
    ("empty-body", "application/json", b""),
    ("missing-topic", "application/json", b'{"event": 1}'),
    ("empty-topic", "application/json", b'{"topic": "", "event": 1}'),
    ("topic-not-string", "application/json", b'{"topic": 5, "event": 1}'),
    ("unknown-field", "application/json", b'{"topic": "http://example.com/x", "event": 1, "extra": 2}'),
    ("excludeMe-field", "application/json", b'{"topic": "http://example.com/x", "excludeMe": true}'),
    ("exclude-not-list", "application/json", b'{"topic": "http://example.com/x", "exclude": "abc"}'),
    ("not-object", "application/json", b'"http://example.com/x"'),
    ("empty-batch", "application/json", b"[]"),
    ("batch-item-not-object", "application/json", b'[{"topic": "http://example.com/x"}, 3]'),
    ("batch-item-missing-topic", "application/json", b'[{"topic": "http://example.com/x"}, {"event": 1}]'),
    ("form-without-event", "application/x-www-form-urlencoded", b"topic=http%3A%2F%2Fexample.com%2Fx"),
    ("form-event-not-json", "application/x-www-form-urlencoded",
     b"topic=http%3A%2F%2Fexample.com%2Fx&event=%7Bbad"),
    ("form-empty-topic", "application/x-www-form-urlencoded", b"topic=&event=1"),
]


@pytest.mark.parametrize("name,content_type,body", BAD_REQUESTS, ids=[b[0] for b in BAD_REQUESTS])
async def test_bad_request_is_400(bridge, name, content_type, body):
    topic = "http://example.com/x"
    (a,) = await subscribed(bridge.port, "/ws", topic)
    reply = await curl_post(bridge.port, "/publish", body, content_type)
    check_refusal(reply, 400)
    await a.expect_nothing()
    await a.close()
    await still_works(bridge.port, "/ws", "/publish")


@pytest.mark.parametrize("target,body", [
    ("?topic=", b"1"),
    ("?topic=http%3A%2F%2Fexample.com%2Fx", b"{bad json"),
    ("?topic=http%3A%2F%2Fexample.com%2Fx", b""),
], ids=["empty-query-topic", "bad-json-body", "empty-body"])
async def test_bad_crossbar_request_is_400(bridge, target, body):
    topic = "http://example.com/x"
    (a,) = await subscribed(bridge.port, "/ws", topic)
    check_refusal(await raw_post(bridge.port, "/publish" + target, body), 400)
    await a.expect_nothing()


async def test_bad_json_on_a_signed_bridge_is_400_after_the_signature(bridge):
    body = '{"topic": '
    check_refusal(await raw_post(bridge.port, signed_target("/publish-signed", body), body), 400)
    # unsigned, the same body is a 401: the signature is checked first
    check_refusal(await raw_post(bridge.port, "/publish-signed", body), 401)


async def test_rules_refuse_with_403_all_or_nothing(bridge):
    allowed = ALLOWED + unique("r").rpartition("#")[2]
    denied = DENIED + unique("r").rpartition("#")[2]
    (a,) = await subscribed(bridge.port, "/ruled", allowed)
    (d,) = await subscribed(bridge.port, "/ruled", denied)
    # a single publication to a denied topic
    check_refusal(await curl_post(bridge.port, "/publish-ruled", json.dumps({"topic": denied, "event": 1}),
                                  "application/json"), 403)
    # a topic no rule covers
    check_refusal(await raw_post(bridge.port, "/publish-ruled", json.dumps({"topic": unique(), "event": 1})), 403)
    # a batch with one denied topic publishes nothing, the allowed ones neither
    body = json.dumps([{"topic": allowed, "event": 1}, {"topic": allowed, "event": 2},
                       {"topic": denied, "event": 3}])
    check_refusal(await curl_post(bridge.port, "/publish-ruled", body, "application/json"), 403)
    # Crossbar and form layouts obey the rules too
    check_refusal(await raw_post(bridge.port, "/publish-ruled" + query(topic=denied), "1"), 403)
    form = urllib.parse.urlencode({"topic": denied, "event": "1"})
    check_refusal(await raw_post(bridge.port, "/publish-ruled", form, "application/x-www-form-urlencoded"), 403)
    await a.expect_nothing()
    await d.expect_nothing()
    # the allowed part alone goes through
    check_accepted(await raw_post(bridge.port, "/publish-ruled", json.dumps(json.loads(body)[:2])), [1, 1])
    assert await got(a) == [[EVENT, allowed, 1], [EVENT, allowed, 2]]
    await d.expect_nothing()


async def test_body_over_max_body_is_413(bridge):
    topic = unique("big")
    (a,) = await subscribed(bridge.port, "/ws", topic)
    prefix = json.dumps({"topic": topic, "event": ""})[:-2]
    exact = prefix + "x" * (4096 - len(prefix) - 2) + '"}'
    assert len(exact) == 4096
    check_accepted(await curl_post(bridge.port, "/publish", exact, "application/json"), 1)
    assert len((await got(a))[0][2]) == 4096 - len(prefix) - 2
    over = prefix + "x" * (4097 - len(prefix) - 2) + '"}'
    assert len(over) == 4097
    check_refusal(await curl_post(bridge.port, "/publish", over, "application/json"), 413)
    await a.expect_nothing()
    await still_works(bridge.port, "/ws", "/publish")


async def test_batch_over_max_batch_is_413(bridge):
    topic = unique("bigbatch")
    (a,) = await subscribed(bridge.port, "/ws", topic)
    body = json.dumps([{"topic": topic, "event": i} for i in range(6)])
    check_refusal(await curl_post(bridge.port, "/publish", body, "application/json"), 413)
    await a.expect_nothing()
    await still_works(bridge.port, "/ws", "/publish")


async def test_chunked_body_is_411(bridge):
    topic = unique("chunked")
    (a,) = await subscribed(bridge.port, "/ws", topic)
    reply = await curl(bridge.port, "/publish", "-X", "POST", "-H", "Transfer-Encoding: chunked",
                       "-H", "Content-Type: application/json", "-d", json.dumps({"topic": topic, "event": 1}))
    assert reply.status == 411, reply
    await a.expect_nothing()
    await still_works(bridge.port, "/ws", "/publish")


def check_transport_refusal(reply, status):
    # docs/CONFIG.md: the 411 and the transport's 413 come before the bridge sees the request,
    # as the WebSocket layer's one-line text/plain answers
    assert reply.status == status, reply
    assert (reply.header("content-type") or "").startswith("text/plain"), reply
    assert reply.body.count(b"\n") == 1 and reply.body.strip(), reply


async def test_chunked_refusal_is_the_transports_plain_text(bridge):
    reply = await curl(bridge.port, "/publish", "-X", "POST", "-H", "Transfer-Encoding: chunked",
                       "-H", "Content-Type: application/json", "-d", json.dumps({"topic": unique(), "event": 1}))
    check_transport_refusal(reply, 411)


async def test_body_over_max_http_body_is_refused_before_it_is_read(bridge):
    topic = unique("huge")
    (a,) = await subscribed(bridge.port, "/ws", topic)
    # only the head: the 413 must come without the body ever being sent
    head = (f"POST /publish HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {64 * 1024 + 1}\r\n\r\n").encode()
    reply = await asyncio.to_thread(http_raw, bridge.port, head, 5.0, False)
    assert reply.status == 413, reply
    # the same with curl sending the whole body
    body = json.dumps({"topic": topic, "event": "x" * (100 * 1024)})
    reply = await curl_post(bridge.port, "/publish", body, "application/json")
    assert reply.status == 413, reply
    # exactly max_http_body is read, then refused by the bridge's smaller max_body with JSON
    reply = await raw_post(bridge.port, "/publish", b"x" * (64 * 1024))
    check_refusal(reply, 413)
    await a.expect_nothing()
    await still_works(bridge.port, "/ws", "/publish")


async def test_transport_413_is_plain_text(bridge):
    head = (f"POST /publish HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {64 * 1024 + 1}\r\n\r\n").encode()
    reply = await asyncio.to_thread(http_raw, bridge.port, head, 5.0, False)
    check_transport_refusal(reply, 413)


async def test_sessions_keep_working_through_a_burst_of_refusals(bridge):
    topic = unique("burst")
    a, b = await subscribed(bridge.port, "/ws", topic, 2)
    refusals = [
        raw_post(bridge.port, "/publish", b"{bad"),
        raw_post(bridge.port, "/publish", json.dumps([{"topic": topic}] * 6)),
        raw_post(bridge.port, "/publish", b"x" * 5000),
        raw_post(bridge.port, "/publish", b"", method="GET", content_type=None),
        raw_post(bridge.port, "/publish-signed", json.dumps({"topic": topic})),
        raw_post(bridge.port, "/publish-ruled", json.dumps({"topic": DENIED + "x"})),
    ] * 5
    replies = await asyncio.gather(*refusals)
    assert sorted({r.status for r in replies}) == [400, 401, 403, 405, 413], replies
    await a.publish(topic, "wamp")
    assert await got(a) == []
    assert await got(b) == [[EVENT, topic, "wamp"]]
    check_accepted(await raw_post(bridge.port, "/publish", json.dumps({"topic": topic, "event": "http"})), 2)
    assert await got(a) == [[EVENT, topic, "http"]]
    assert await got(b) == [[EVENT, topic, "http"]]
