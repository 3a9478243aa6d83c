"""WAMP-CRA (digest section 8) and per-role authorization: #authreq/#auth with plain, salted and
anonymous users, every error URI of 8.6, the auth timeout, AutobahnJS 0.8.2's ab.launch on the
wire, and what each role may publish, subscribe to and call."""
import asyncio
import base64
import datetime
import hashlib
import hmac
import json
import random
import re
import time

import pytest

from wampclient import (CALL, CALLERROR, CALLRESULT, ECHO, EVENT, NO_SUCH, PING, Closed, WampClient,
                        connect_all, t)

AUTHREQ = "http://api.wamp.ws/procedure#authreq"
AUTH = "http://api.wamp.ws/procedure#auth"
ERROR = "http://api.wamp.ws/error#"
NOT_AUTHORIZED = ERROR + "not_authorized"

# The key AutobahnJS derives from "secret" with the digest's salt (section 8.4).
DAVE_KEY = "znWa4bxY1glpbQlZziHIlXA2shfF+HoCr9bnmZ5HPQg="

ADMIN = [{"uri": "", "prefix": True}]
USER = [
    {"uri": "http://example.com/", "prefix": True, "publish": False},
    {"uri": "http://example.com/pub/", "prefix": True},
    {"uri": "http://example.com/pub/readonly", "publish": False},
    {"uri": "http://example.com/anon/", "prefix": True, "publish": False, "subscribe": False},
    {"uri": "http://api.wamp.ws/procedure#echo", "publish": False, "subscribe": False},
    {"uri": "http://api.wamp.ws/procedure#ping", "publish": False, "subscribe": False},
]
ANONYMOUS = [
    {"uri": "http://example.com/public/", "prefix": True, "publish": False},
    {"uri": "http://example.com/anon/", "prefix": True},
    # authreq and auth stay callable although this denies every call below it.
    {"uri": "http://api.wamp.ws/procedure#", "prefix": True, "publish": False, "subscribe": False,
     "call": False},
    {"uri": "http://api.wamp.ws/procedure#ping", "publish": False, "subscribe": False},
]
ROLES = {"admin": ADMIN, "user": USER, "anonymous": ANONYMOUS}

# Every kind of rule match: exact, prefix, longest match, an exact-only rule that ends the
# search, no rule at all.
URIS = [
    "http://example.com/", "http://example.com/x", "http://example.com", "http://example.com/pub/",
    "http://example.com/pub/x", "http://example.com/pub/readonly", "http://example.com/pub/readonly2",
    "http://example.com/public/x", "http://example.com/anon/x", "http://example.org/x", "urn:x",
    "http://api.wamp.ws/procedure#echo", "http://api.wamp.ws/procedure#echo2", "http://api.wamp.ws/procedure#ping",
]

TIMESTAMP_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
AUTHID_RE = re.compile(r"^[A-Za-z0-9_-]{16}$")


def flow(value) -> str:
    """A Python value as YAML flow text (JSON is YAML)."""
    return json.dumps(value)


def cra_config(tmp_path, monkeypatch, auth_extra: str = "", roles=None, rules=None) -> str:
    monkeypatch.setenv("KREUZ_TEST_CRA_BOB", "bob's secret")
    carol = tmp_path / "carol.secret"
    carol.write_text("carol's secret\n")
    roles = ROLES if roles is None else roles
    text = f"""
realms:
  - name: cra
    paths: [/ws]
    auth:
      failure_delay: 10ms
{auth_extra}      users:
        - {{key: alice, secret: "s3cret", role: admin}}
        - {{key: bob, secret_env: KREUZ_TEST_CRA_BOB, role: user}}
        - {{key: carol, secret_file: "{carol}", role: user}}
        - {{key: dave, derived_key: "{DAVE_KEY}", salt: "RANDOM SALT", iterations: 1000, keylen: 32, role: user}}
        - {{key: erin, secret: "pw", salt: "S", iterations: 1000, keylen: 32, role: admin}}
    roles:
"""
    for name, role_rules in roles.items():
        text += f"      {name}: {flow(role_rules)}\n"
    if rules is not None:
        text += f"    rules: {flow(rules)}\n"
    return text


@pytest.fixture
def cra(make_server, tmp_path, monkeypatch):
    return make_server(cra_config(tmp_path, monkeypatch))


# ------------------------------------------------------------------ the client side of WAMP-CRA


def authsign(challenge: str, secret) -> str:
    """AutobahnJS's authsign: HMAC-SHA256 of the challenge text, Base64; no secret signs with ""."""
    return base64.b64encode(hmac.new((secret or "").encode(), challenge.encode(), hashlib.sha256).digest()).decode()


def derive_key(secret: str, extra) -> str:
    """AutobahnJS's ab.deriveKey: PBKDF2-HMAC-SHA256 only when the challenge's authextra has a salt."""
    if extra and extra.get("salt"):
        key = hashlib.pbkdf2_hmac("sha256", secret.encode(), extra["salt"].encode(), extra.get("iterations") or 10000,
                                  extra.get("keylen") or 32)
        return base64.b64encode(key).decode()
    return secret


def permissions(rules) -> dict:
    """The permissions object (digest 8.5) of a list of rules, as the router reports it."""
    if not rules:
        return {"pubsub": [{"uri": "", "prefix": True, "pub": True, "sub": True}], "rpc": [{"uri": "", "call": True}]}
    return {
        "pubsub": [{"uri": r["uri"], "prefix": r.get("prefix", False), "pub": r.get("publish", True),
                    "sub": r.get("subscribe", True)} for r in rules],
        "rpc": [{"uri": r["uri"], "call": r.get("call", True)} for r in rules],
    }


def allowed(rules, uri) -> dict:
    """The admission decision of docs/CONFIG.md: the longest rule that is a leading part of the
    URI decides, if it equals the URI or is a prefix rule; no rule, no permission."""
    if not rules:
        return {"publish": True, "subscribe": True, "call": True}
    best = None
    for rule in rules:
        if uri.startswith(rule["uri"]) and (best is None or len(rule["uri"]) > len(best["uri"])):
            best = rule
    if best is None or (best["uri"] != uri and not best.get("prefix", False)):
        return {"publish": False, "subscribe": False, "call": False}
    return {k: best.get(k, True) for k in ("publish", "subscribe", "call")}


def error(call_id: str, fragment: str, description: str) -> list:
    return [CALLERROR, call_id, ERROR + fragment, description]


async def challenge_of(client: WampClient, key, extra=None) -> str:
    reply = await client.call(AUTHREQ, key, extra, call_id="req")
    assert reply[0] == CALLRESULT and isinstance(reply[2], str), reply
    return reply[2]


async def login(client: WampClient, key: str, secret: str) -> list:
    """authreq + auth as AutobahnJS does it; returns the auth reply."""
    challenge = await challenge_of(client, key)
    signature = authsign(challenge, derive_key(secret, json.loads(challenge).get("authextra")))
    return await client.call(AUTH, signature, call_id="auth")


async def login_anonymously(client: WampClient) -> list:
    assert await client.call(AUTHREQ, None, None, call_id="req") == [CALLRESULT, "req", None]
    return await client.call(AUTH, None, call_id="auth")


def js_call_id() -> str:
    """What AutobahnJS's Math.random().toString(36) looks like."""
    return "0." + "".join(random.choice("0123456789abcdefghijklmnopqrstuvwxyz") for _ in range(11))


async def ab_launch(client: WampClient, appkey=None, appsecret=None, appextra=None) -> list:
    """AutobahnJS 0.8.2's ab.launch after the WELCOME, message for message (digest 8.7): JSON as
    JSON.stringify writes it, an argument left undefined sent as null. Returns the auth reply, or
    the authreq reply when that is an error."""
    async def call(*message):
        call_id = js_call_id()
        await client.send_raw(json.dumps([CALL, call_id, *message], separators=(",", ":")))
        reply = await client.recv()
        assert reply[1] == call_id, reply
        return reply

    if not appkey:
        # session.authreq().then(() => session.auth())
        reply = await call(AUTHREQ, None, None)
        assert reply[0] == CALLRESULT and reply[2] is None, reply
        return await call(AUTH, None)
    reply = await call(AUTHREQ, appkey, appextra)
    if reply[0] == CALLERROR:
        return reply
    challenge = reply[2]
    secret = derive_key(appsecret, json.loads(challenge).get("authextra"))
    return await call(AUTH, authsign(challenge, secret))


# ------------------------------------------------------------------ authentication


async def test_unsalted_challenge_and_success(cra):
    c = await WampClient.connect(cra.port)
    before = datetime.datetime.now(datetime.timezone.utc)
    text = await challenge_of(c, "alice", {"app": "demo", "n": [1, None]})
    challenge = json.loads(text)
    assert list(challenge) == ["authid", "authkey", "timestamp", "sessionid", "extra", "permissions"]
    assert AUTHID_RE.match(challenge["authid"])
    assert challenge["authkey"] == "alice"
    assert challenge["sessionid"] == c.id
    assert challenge["extra"] == {"app": "demo", "n": [1, None]}
    assert challenge["permissions"] == permissions(ADMIN)
    assert TIMESTAMP_RE.match(challenge["timestamp"])
    stamp = datetime.datetime.strptime(challenge["timestamp"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc)
    assert abs((stamp - before).total_seconds()) < 5

    assert await c.call(AUTH, authsign(text, "s3cret"), call_id="a") == [CALLRESULT, "a", permissions(ADMIN)]


@pytest.mark.parametrize("key,secret,role", [
    ("alice", "s3cret", ADMIN),
    ("bob", "bob's secret", USER),      # secret_env
    ("carol", "carol's secret", USER),  # secret_file, its line break stripped
])
async def test_unsalted_users(cra, key, secret, role):
    c = await WampClient.connect(cra.port)
    assert await login(c, key, secret) == [CALLRESULT, "auth", permissions(role)]


@pytest.mark.parametrize("key,role,iterations", [
    ("dave", USER, 1000),   # derived_key given in the configuration
    ("erin", ADMIN, 1000),  # secret and salt, derived by the router at startup
])
async def test_salted_users(cra, key, role, iterations):
    secret = {"dave": "secret", "erin": "pw"}[key]
    salt = {"dave": "RANDOM SALT", "erin": "S"}[key]
    c = await WampClient.connect(cra.port)
    text = await challenge_of(c, key)
    challenge = json.loads(text)
    assert challenge["authextra"] == {"salt": salt, "keylen": 32, "iterations": iterations}
    if key == "dave":
        assert derive_key(secret, challenge["authextra"]) == DAVE_KEY
    # The plain secret is not the key: one try, used up.
    assert await c.call(AUTH, authsign(text, secret), call_id="plain") == \
        error("plain", "invalid-signature", "signature for authentication request is invalid")
    assert await login(c, key, secret) == [CALLRESULT, "auth", permissions(role)]


async def test_wrong_signature_uses_up_the_challenge(cra):
    c = await WampClient.connect(cra.port)
    text = await challenge_of(c, "alice")
    assert await c.call(AUTH, authsign(text, "wrong"), call_id="w") == \
        error("w", "invalid-signature", "signature for authentication request is invalid")
    # One try per authreq: the right signature of the same challenge comes too late.
    assert await c.call(AUTH, authsign(text, "s3cret"), call_id="late") == \
        error("late", "no-authentication-requested", "no authentication previously requested")
    assert await login(c, "alice", "s3cret") == [CALLRESULT, "auth", permissions(ADMIN)]


async def test_replayed_signature_fails(cra):
    """Every challenge has its own authid and time, so a signature that was valid once is worth
    nothing for a new authreq, in another session or in the same one."""
    first, second = await connect_all(cra.port, 2)
    text = await challenge_of(first, "alice")
    valid = authsign(text, "s3cret")
    assert (await first.call(AUTH, valid, call_id="ok"))[0] == CALLRESULT

    replayed = await challenge_of(second, "alice")
    assert replayed != text
    assert json.loads(replayed)["authid"] != json.loads(text)["authid"]
    assert await second.call(AUTH, valid, call_id="r") == \
        error("r", "invalid-signature", "signature for authentication request is invalid")

    # Within one session: a signature computed for an earlier challenge.
    third = await WampClient.connect(cra.port)
    earlier = authsign(await challenge_of(third, "bob"), "bob's secret")
    assert (await third.call(AUTH, "not it", call_id="x"))[2] == ERROR + "invalid-signature"
    await challenge_of(third, "bob")
    assert await third.call(AUTH, earlier, call_id="r2") == \
        error("r2", "invalid-signature", "signature for authentication request is invalid")


async def test_already_authenticated(cra):
    keyed, anonymous = await connect_all(cra.port, 2)
    assert (await login(keyed, "alice", "s3cret"))[0] == CALLRESULT
    assert (await login_anonymously(anonymous))[0] == CALLRESULT
    for c in (keyed, anonymous):
        assert await c.call(AUTHREQ, "bob", None, call_id="again") == \
            error("again", "already-authenticated", "already authenticated")
        assert await c.call(AUTHREQ, None, None, call_id="anon") == \
            error("anon", "already-authenticated", "already authenticated")
        assert await c.call(AUTH, "x", call_id="auth") == \
            error("auth", "already-authenticated", "already authenticated")


async def test_authentication_already_requested(cra):
    c = await WampClient.connect(cra.port)
    text = await challenge_of(c, "alice")
    for key in ("alice", "bob", None):
        assert await c.call(AUTHREQ, key, None, call_id="twice") == \
            error("twice", "authentication-already-requested",
                  "authentication request already issued - authentication pending")
    # The pending request is untouched.
    assert await c.call(AUTH, authsign(text, "s3cret"), call_id="a") == [CALLRESULT, "a", permissions(ADMIN)]


async def test_invalid_arguments(cra):
    c = await WampClient.connect(cra.port)
    cases = [
        ([5, None], "authentication key must be a string or null (was number)"),
        ([["alice"], None], "authentication key must be a string or null (was array)"),
        (["alice", [1]], "authExtra must be an object or null (was array)"),
        (["alice", "extra"], "authExtra must be an object or null (was string)"),
        ([None, 0], "authExtra must be an object or null (was number)"),
        (["alice", {}, 3], "authreq takes (authKey, authExtra), got 3 arguments"),
    ]
    for args, description in cases:
        assert await c.call(AUTHREQ, *args, call_id="i") == error("i", "invalid-argument", description)

    text = await challenge_of(c, "alice")
    for signature, kind in ((5, "number"), ({}, "object"), (["x"], "array"), (True, "boolean")):
        assert await c.call(AUTH, signature, call_id="s") == \
            error("s", "invalid-argument", f"signature must be a string or null (was {kind})")
    assert await c.call(AUTH, "a", "b", call_id="n") == \
        error("n", "invalid-argument", "auth takes (signature), got 2 arguments")
    # An argument that cannot be a signature does not use up the challenge.
    assert await c.call(AUTH, authsign(text, "s3cret"), call_id="a") == [CALLRESULT, "a", permissions(ADMIN)]


async def test_no_such_authkey(cra):
    c = await WampClient.connect(cra.port)
    for key in ("mallory", "Alice", "", "alice "):
        assert await c.call(AUTHREQ, key, None, call_id="k") == \
            error("k", "no-such-authkey", f"authentication key '{key}' does not exist.")
    assert (await login(c, "alice", "s3cret"))[0] == CALLRESULT


async def test_no_authentication_requested(cra):
    c = await WampClient.connect(cra.port)
    for signature in ("x", None):
        assert await c.call(AUTH, signature, call_id="n") == \
            error("n", "no-authentication-requested", "no authentication previously requested")
    assert await c.call(AUTH, call_id="none") == \
        error("none", "no-authentication-requested", "no authentication previously requested")


async def test_anonymous_authentication(cra):
    c = await WampClient.connect(cra.port)
    # Arguments left out are null, as AutobahnJS sends them.
    assert await c.call(AUTHREQ, call_id="r") == [CALLRESULT, "r", None]
    assert await c.call(AUTH, call_id="a") == [CALLRESULT, "a", permissions(ANONYMOUS)]


async def test_anonymous_and_keyed_signatures_do_not_mix(cra):
    a, b = await connect_all(cra.port, 2)
    assert await a.call(AUTHREQ, None, None, call_id="r") == [CALLRESULT, "r", None]
    assert await a.call(AUTH, "a signature", call_id="x") == \
        error("x", "invalid-signature", "signature for authentication request is invalid")
    await challenge_of(b, "alice")
    assert await b.call(AUTH, None, call_id="y") == \
        error("y", "invalid-signature", "signature for authentication request is invalid")


async def test_anonymous_forbidden(make_server, tmp_path, monkeypatch):
    srv = make_server(cra_config(tmp_path, monkeypatch, auth_extra="      anonymous: false\n"))
    c = await WampClient.connect(srv.port)
    for args in ([None, None], [], [None, {"x": 1}]):
        assert await c.call(AUTHREQ, *args, call_id="f") == \
            error("f", "anonymous-auth-forbidden", "authentication as anonymous forbidden")
    assert await login(c, "bob", "bob's secret") == [CALLRESULT, "auth", permissions(USER)]


async def test_procedure_curies(cra):
    c = await WampClient.connect(cra.port)
    await c.prefix("api", "http://api.wamp.ws/procedure#")
    reply = await c.call("api:authreq", "alice", None, call_id="r")
    assert reply[0] == CALLRESULT
    assert await c.call("api:auth", authsign(reply[2], "s3cret"), call_id="a") == \
        [CALLRESULT, "a", permissions(ADMIN)]
    assert await c.call("api:authreq", None, None, call_id="again") == \
        error("again", "already-authenticated", "already authenticated")

    anonymous = await WampClient.connect(cra.port)
    await anonymous.prefix("wampcra", "http://api.wamp.ws/procedure#auth")
    assert await anonymous.call("wampcra:req", None, None, call_id="r") == [CALLRESULT, "r", None]
    assert await anonymous.call("wampcra:", None, call_id="a") == [CALLRESULT, "a", permissions(ANONYMOUS)]


async def test_invalid_signature_is_delayed_without_blocking(make_server, tmp_path, monkeypatch):
    """The delay is a timer on the loop: while one session waits for its invalid-signature, its
    own and other sessions' calls are answered at once. The delay is random, so a few tries are
    allowed for it to be long enough to observe."""
    srv = make_server(cra_config(tmp_path, monkeypatch).replace("failure_delay: 10ms", "failure_delay: 500ms"))
    c, other = await connect_all(srv.port, 2)
    overtaken = False
    for attempt in range(4):
        text = await challenge_of(c, "alice")
        await c.send([CALL, "bad", AUTH, authsign(text, "wrong")])
        await c.send([CALL, "ping", PING])
        assert await other.call(PING, call_id="p") == [CALLRESULT, "p", None]
        first, second = await c.recv(timeout=5), await c.recv(timeout=5)
        replies = {first[1]: first, second[1]: second}
        assert replies["bad"] == error("bad", "invalid-signature", "signature for authentication request is invalid")
        assert replies["ping"] == [CALLRESULT, "ping", None]
        if first[1] == "ping":
            overtaken = True
            break
    assert overtaken, "the invalid-signature answer never came after a later call"


async def test_invalid_signature_delay_is_random_and_capped(make_server, tmp_path, monkeypatch):
    srv = make_server(cra_config(tmp_path, monkeypatch).replace("failure_delay: 10ms", "failure_delay: 100ms"))
    c = await WampClient.connect(srv.port)
    delays = []
    for _ in range(20):
        text = await challenge_of(c, "bob")
        start = time.monotonic()
        assert (await c.call(AUTH, authsign(text, "wrong"), call_id="w"))[2] == ERROR + "invalid-signature"
        delays.append(time.monotonic() - start)
    # Exponential with a mean of 100 ms, at most four times that.
    assert max(delays) < 0.4 + t(0.2), delays
    assert sum(delays) / len(delays) > 0.03, delays
    assert len({round(d, 3) for d in delays}) > 5, delays


async def test_caller_gone_before_invalid_signature(make_server, tmp_path, monkeypatch):
    """The delayed answer finds no caller: nothing breaks, for the leaving session nor others,
    and the router still stops cleanly (checked by the fixture)."""
    srv = make_server(cra_config(tmp_path, monkeypatch).replace("failure_delay: 10ms", "failure_delay: 300ms"))
    for leave in ("close", "abort"):
        c = await WampClient.connect(srv.port)
        text = await challenge_of(c, "alice")
        await c.send([CALL, "bad", AUTH, authsign(text, "wrong")])
        await c.barrier()
        if leave == "close":
            await c.close()
        else:
            c.abort()
    await asyncio.sleep(t(1.5))
    c = await WampClient.connect(srv.port)
    assert (await login(c, "alice", "s3cret"))[0] == CALLRESULT


async def test_pending_invalid_signature_does_not_delay_shutdown(make_server, tmp_path, monkeypatch):
    srv = make_server(cra_config(tmp_path, monkeypatch).replace("failure_delay: 10ms", "failure_delay: 20s"))
    c = await WampClient.connect(srv.port)
    text = await challenge_of(c, "bob")
    await c.send([CALL, "bad", AUTH, authsign(text, "wrong")])
    await c.barrier()
    start = time.monotonic()
    # In a thread, so that this loop can answer the router's Close meanwhile.
    await asyncio.get_running_loop().run_in_executor(None, srv.stop)
    assert time.monotonic() - start < t(3)


async def test_auth_timeout(make_server, tmp_path, monkeypatch):
    srv = make_server(cra_config(tmp_path, monkeypatch, auth_extra="      timeout: 700ms\n"))
    idle, requested, keyed, anonymous = await connect_all(srv.port, 4)
    await challenge_of(requested, "alice")
    assert (await login(keyed, "bob", "bob's secret"))[0] == CALLRESULT
    assert (await login_anonymously(anonymous))[0] == CALLRESULT
    start = time.monotonic()
    for c in (idle, requested):
        with pytest.raises(Closed) as closed:
            await c.recv(timeout=5)
        assert closed.value.code == 1008
        assert closed.value.reason == "not authenticated in time"
    assert time.monotonic() - start < t(3)
    await asyncio.sleep(t(0.5))
    for c in (keyed, anonymous):
        assert c.is_open()
        assert await c.call(PING, call_id="p") == [CALLRESULT, "p", None]


async def test_no_auth_timeout_by_default(cra):
    c = await WampClient.connect(cra.port)
    await asyncio.sleep(t(1.0))
    assert await c.call(AUTHREQ, None, None, call_id="r") == [CALLRESULT, "r", None]


# ------------------------------------------------------------------ AutobahnJS 0.8.2 ab.launch


@pytest.mark.parametrize("appkey,appsecret,role", [
    ("alice", "s3cret", ADMIN),       # unsalted
    ("carol", "carol's secret", USER),
    ("dave", "secret", USER),         # salted: derived from authextra
    ("erin", "pw", ADMIN),
])
async def test_ab_launch(cra, appkey, appsecret, role):
    c = await WampClient.connect(cra.port)
    reply = await ab_launch(c, appkey, appsecret)
    assert reply[0] == CALLRESULT and reply[2] == permissions(role)


@pytest.mark.parametrize("appkey,appsecret", [("alice", "secret"), ("dave", "s3cret"), ("erin", "")])
async def test_ab_launch_wrong_secret(cra, appkey, appsecret):
    c = await WampClient.connect(cra.port)
    reply = await ab_launch(c, appkey, appsecret)
    assert reply[0] == CALLERROR and reply[2:] == [ERROR + "invalid-signature",
                                                    "signature for authentication request is invalid"]


async def test_ab_launch_appextra_and_unknown_key(cra):
    c = await WampClient.connect(cra.port)
    reply = await ab_launch(c, "bob", "bob's secret", {"client": "autobahn.js"})
    assert reply[0] == CALLRESULT and reply[2] == permissions(USER)
    c = await WampClient.connect(cra.port)
    reply = await ab_launch(c, "nobody", "x")
    assert reply[0] == CALLERROR
    assert reply[2:] == [ERROR + "no-such-authkey", "authentication key 'nobody' does not exist."]


async def test_ab_launch_anonymous(cra):
    c = await WampClient.connect(cra.port)
    reply = await ab_launch(c)
    assert reply[0] == CALLRESULT and reply[2] == permissions(ANONYMOUS)


async def test_ab_launch_anonymous_on_the_open_default_realm(kreuz):
    """The embedded default has no users and no rules: anyone may do anything."""
    c = await WampClient.connect(kreuz.port)
    reply = await ab_launch(c)
    assert reply[0] == CALLRESULT and reply[2] == permissions([])
    c = await WampClient.connect(kreuz.port)
    reply = await ab_launch(c, "someone", "secret")
    assert reply[0] == CALLERROR and reply[2] == ERROR + "no-such-authkey"


# ------------------------------------------------------------------ authorization per role


async def observed(subject: WampClient, observer: WampClient) -> dict:
    """What `subject` may do with each of URIS, as seen on the wire: a publication reaches the
    observer (subscribed to everything), a publication by the observer reaches the subject, a call
    is answered with anything but not_authorized."""
    for uri in URIS:
        await observer.subscribe(uri)
        await subject.subscribe(uri)
    await observer.barrier()
    await subject.barrier()
    for uri in URIS:
        await subject.publish(uri, "from subject")
    await subject.barrier()
    got_by_observer = {m[1] for m in await observer.barrier() if m[0] == EVENT}
    for uri in URIS:
        await observer.publish(uri, "from observer")
    await observer.barrier()
    got_by_subject = {m[1] for m in await subject.barrier() if m[0] == EVENT}
    result = {}
    for uri in URIS:
        reply = await subject.call(uri, "x", call_id="c")
        if reply[0] == CALLERROR:
            assert reply[2] in (NOT_AUTHORIZED, NO_SUCH), reply
        result[uri] = {"publish": uri in got_by_observer, "subscribe": uri in got_by_subject,
                       "call": not (reply[0] == CALLERROR and reply[2] == NOT_AUTHORIZED)}
    for uri in URIS:
        await subject.unsubscribe(uri)
    return result


@pytest.mark.parametrize("who", ["unauthenticated", "anonymous", "bob", "dave", "alice"])
async def test_role_matrix(cra, who):
    """For every rule shape: a session can do exactly what its role's rules allow, no more."""
    subject, observer = await connect_all(cra.port, 2)
    assert (await login(observer, "alice", "s3cret"))[0] == CALLRESULT
    role = {"unauthenticated": ANONYMOUS, "anonymous": ANONYMOUS, "bob": USER, "dave": USER, "alice": ADMIN}[who]
    if who == "anonymous":
        assert (await login_anonymously(subject))[0] == CALLRESULT
    elif who != "unauthenticated":
        secret = {"bob": "bob's secret", "dave": "secret", "alice": "s3cret"}[who]
        assert (await login(subject, who, secret))[0] == CALLRESULT
    assert await observed(subject, observer) == {uri: allowed(role, uri) for uri in URIS}


async def test_role_switch_on_auth(cra):
    c, observer = await connect_all(cra.port, 2)
    assert (await login(observer, "alice", "s3cret"))[0] == CALLRESULT
    topic = "http://example.com/pub/t"
    anon_topic = "http://example.com/anon/t"
    await observer.subscribe(topic)
    await c.subscribe(anon_topic)
    await observer.barrier()
    await c.barrier()

    # Anonymous: may not publish to .../pub/, may receive .../anon/; may not call echo.
    await c.publish(topic, 1)
    assert await c.barrier() == []
    assert await observer.barrier() == []
    await observer.publish(anon_topic, "a")
    assert await observer.barrier() == []
    assert await c.barrier() == [[EVENT, anon_topic, "a"]]
    assert (await c.call(ECHO, 1, call_id="e"))[2] == NOT_AUTHORIZED

    assert (await login(c, "bob", "bob's secret"))[0] == CALLRESULT
    # As user: publishes reach the observer, echo answers, and the subscription the user role
    # does not allow has ended with the role switch.
    await c.publish(topic, 2)
    assert await c.barrier() == []
    assert await observer.barrier() == [[EVENT, topic, 2]]
    assert await c.call(ECHO, 1, call_id="e") == [CALLRESULT, "e", 1]
    await observer.publish(anon_topic, "b")
    await observer.barrier()
    assert await c.barrier() == []
    await c.subscribe(anon_topic)
    await observer.publish(anon_topic, "c")
    await observer.barrier()
    assert await c.barrier() == []


async def test_denied_actions_are_silent(cra):
    c = await WampClient.connect(cra.port)
    await c.publish("http://example.com/public/x", 1)
    await c.subscribe("urn:nothing")
    await c.publish("urn:nothing", 1)
    assert await c.barrier() == []
    assert await c.call(ECHO, 1, call_id="e") == [CALLERROR, "e", NOT_AUTHORIZED, f"not authorized to call {ECHO}"]
    assert await c.call(PING, call_id="p") == [CALLRESULT, "p", None]


async def test_rules_apply_to_resolved_curies(cra):
    c, observer = await connect_all(cra.port, 2)
    assert (await login(observer, "alice", "s3cret"))[0] == CALLRESULT
    await c.prefix("ex", "http://example.com/")
    await observer.subscribe("http://example.com/public/x")
    await observer.barrier()
    await c.publish("ex:public/x", "no")        # anonymous may not publish there
    await c.subscribe("ex:public/y")            # but may subscribe
    await c.barrier()
    await observer.publish("http://example.com/public/y", "yes")
    assert await observer.barrier() == []
    assert await c.barrier() == [[EVENT, "http://example.com/public/y", "yes"]]
    await c.prefix("p", "http://api.wamp.ws/procedure#")
    assert (await c.call("p:echo", 1, call_id="e"))[2] == NOT_AUTHORIZED


async def test_realm_rules_for_roles_not_configured(make_server, tmp_path, monkeypatch):
    """Without roles.anonymous, unauthenticated sessions follow the realm's rules; a user's role
    from roles replaces them."""
    rules = [{"uri": "http://example.com/open/", "prefix": True},
             {"uri": "http://api.wamp.ws/procedure#ping", "publish": False, "subscribe": False}]
    srv = make_server(cra_config(tmp_path, monkeypatch, roles={"admin": ADMIN, "user": USER}, rules=rules))
    subject, observer = await connect_all(srv.port, 2)
    assert (await login(observer, "alice", "s3cret"))[0] == CALLRESULT
    assert await observed(subject, observer) == {uri: allowed(rules, uri) for uri in URIS}
    assert (await login_anonymously(subject))[2] == permissions(rules)
    bob = await WampClient.connect(srv.port)
    assert await login(bob, "bob", "bob's secret") == [CALLRESULT, "auth", permissions(USER)]
    assert await observed(bob, observer) == {uri: allowed(USER, uri) for uri in URIS}


async def test_empty_role_allows_everything(make_server, tmp_path, monkeypatch):
    srv = make_server(cra_config(tmp_path, monkeypatch, roles={"admin": [], "user": USER, "anonymous": USER}))
    subject, observer = await connect_all(srv.port, 2)
    for c in (subject, observer):
        assert await login(c, "alice", "s3cret") == [CALLRESULT, "auth", permissions([])]
    assert await observed(subject, observer) == {uri: allowed([], uri) for uri in URIS}


# ------------------------------------------------------------------ over wss://


def self_signed(tmp_path) -> tuple:
    """A throwaway self-signed certificate for 127.0.0.1, made with the openssl command."""
    import subprocess
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True, timeout=30)
    return cert, key


@pytest.mark.parametrize("appkey,appsecret,role", [("alice", "s3cret", ADMIN), ("dave", "secret", USER)])
async def test_ab_launch_over_wss(make_server, tmp_path, monkeypatch, appkey, appsecret, role):
    """The acceptance case: AutobahnJS's ab.launch over wss://, unsalted (alice) and salted (dave)."""
    import ssl
    import websockets
    cert, key = self_signed(tmp_path)
    listen = f"listen:\n  - host: 127.0.0.1\n    port: 0\n    tls: {{cert: \"{cert}\", key: \"{key}\"}}\n"
    srv = make_server(listen + cra_config(tmp_path, monkeypatch))
    context = ssl.create_default_context(cafile=str(cert))
    ws = await websockets.connect(f"wss://127.0.0.1:{srv.port}/ws", ssl=context, subprotocols=["wamp"],
                                  ping_interval=None, open_timeout=10)
    client = WampClient(ws, "wss")
    try:
        await client.read_welcome()
        reply = await ab_launch(client, appkey, appsecret)
        assert reply[0] == CALLRESULT and reply[2] == permissions(role)
        wrong = WampClient(await websockets.connect(f"wss://127.0.0.1:{srv.port}/ws", ssl=context,
                                                    subprotocols=["wamp"], ping_interval=None), "wss-wrong")
        await wrong.read_welcome()
        reply = await ab_launch(wrong, appkey, appsecret + "x")
        assert reply[0] == CALLERROR and reply[2] == ERROR + "invalid-signature"
        await wrong.close()
    finally:
        await client.close()
