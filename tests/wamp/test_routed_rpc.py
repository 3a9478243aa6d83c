"""Routed RPC, a kreuz extension (docs/CONFIG.md, "Routed RPC"): a session registers a
procedure with urn:kreuz:procedure:register; CALLs of other sessions reach it as
[2, routerCallId, procUri, args...], and its [3, ...] / [4, ...] answers go back under the
caller's own call id. Relaying, concurrency, callees that leave or never answer, unregister,
the errors of the table, limits, rules and roles, bad answers in plain and strict realms, and
tests/wamp/example_callee.py run as a separate process.

One router serves the module (unique URIs keep the tests apart); tests that need a router of
their own say so.
"""
import asyncio
import base64
import hashlib
import hmac
import json
import os
import random
import sys
import time

import pytest

import conftest
from wampclient import (CALL, CALLERROR, CALLRESULT, DISPATCH, ECHO, PING, WampClient, connect_all, no_such,
                        t, unique)

HERE = os.path.dirname(os.path.abspath(__file__))
REGISTER = "urn:kreuz:procedure:register"
UNREGISTER = "urn:kreuz:procedure:unregister"
CALLEE_GONE = "urn:kreuz:error:callee-gone"
CALLEE_TIMEOUT = "urn:kreuz:error:callee-timeout"
ALREADY_EXISTS = "urn:kreuz:error:procedure-already-exists"
TOO_MANY = "urn:kreuz:error:too-many-registrations"
NO_SUCH_REGISTRATION = "urn:kreuz:error:no-such-registration"
INVALID_ARGUMENT = "http://api.wamp.ws/error#invalid-argument"
NOT_AUTHORIZED = "http://api.wamp.ws/error#not_authorized"
AUTHREQ = "http://api.wamp.ws/procedure#authreq"
AUTH = "http://api.wamp.ws/procedure#auth"
SVC = "http://example.com/svc/"
PLAIN = "http://example.com/plain/"

CONFIG = """\
realms:
  - name: default
    paths: [/ws]
    callee_timeout: 500ms
  - name: strict
    paths: [/strict]
    strict: true
    callee_timeout: 500ms
  - name: limited
    paths: [/limited]
    limits: {max_registrations: 2}
  - name: ruled
    paths: [/ruled]
    rules:
      - {uri: "http://example.com/svc/", prefix: true, register: true}
      - {uri: "http://example.com/plain/", prefix: true}
      - {uri: "http://example.com/noreg/", prefix: true, register: false}
      - {uri: "http://api.wamp.ws/procedure#ping"}
  - name: cra
    paths: [/cra]
    auth:
      users:
        - {key: service, secret: "pw", role: service}
        - {key: user, secret: "pw2", role: anonymous}
    roles:
      service:
        - {uri: "http://example.com/svc/", prefix: true, register: true}
        - {uri: "http://api.wamp.ws/procedure#ping"}
      anonymous:
        - {uri: "http://example.com/svc/", prefix: true}
        - {uri: "http://api.wamp.ws/procedure#ping"}
"""


@pytest.fixture(scope="module")
def rpc():
    srv = conftest._new_server(CONFIG)
    yield srv
    srv.stop()


# ------------------------------------------------------------------ helpers


def proc(name="p"):
    return unique(name).replace("/kreuz-test/", "/kreuz-rpc/")


async def register(client, uri, call_id="reg"):
    reply = await client.call(REGISTER, uri, call_id=call_id)
    return reply


async def registered(client, uri, expected=None):
    reply = await register(client, uri)
    assert reply == [CALLRESULT, "reg", expected or uri], reply
    return uri


async def forwarded(callee, timeout=5.0) -> list:
    """The next message to a callee: a router-to-callee CALL [2, routerCallId, procUri, args...]."""
    raw = await callee.recv_raw(timeout)
    msg = json.loads(raw)
    assert isinstance(msg, list) and len(msg) >= 3 and msg[0] == CALL, f"expected a forwarded CALL, got {raw!r}"
    assert isinstance(msg[1], str) and msg[1] and isinstance(msg[2], str), raw
    return msg


async def answer(callee, router_call_id, result):
    await callee.send([CALLRESULT, router_call_id, result])


async def reply_to(caller, call_id, timeout=5.0) -> list:
    msg = await caller.recv(timeout)
    assert msg[0] in (CALLRESULT, CALLERROR) and msg[1] == call_id, f"expected the reply to {call_id!r}: {msg!r}"
    return msg


async def relay(caller, callee, uri, args, answer_msg, call_id="c1"):
    """caller calls uri(args); the callee gets it and answers answer_msg(routerCallId)."""
    await caller.send([CALL, call_id, uri, *args])
    fwd = await forwarded(callee)
    assert fwd[2:] == [uri, *args], fwd
    assert fwd[1] != call_id or call_id.startswith("kreuz-"), f"the router passed the caller's call id on: {fwd}"
    await callee.send(answer_msg(fwd[1]))
    return await reply_to(caller, call_id)


def authsign(challenge: str, secret: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), challenge.encode(), hashlib.sha256).digest()).decode()


async def login(client, key, secret):
    challenge = await client.call(AUTHREQ, key, None, call_id="authreq")
    assert challenge[0] == CALLRESULT, challenge
    reply = await client.call(AUTH, authsign(challenge[2], secret), call_id="auth")
    assert reply[0] == CALLRESULT, reply


# ------------------------------------------------------------------ register and relay


async def test_register_with_curie_and_relay_a_result(rpc):
    callee, caller = await connect_all(rpc.port, 2)
    base = proc("calc") + "/"
    await callee.prefix("calc", base)
    assert await register(callee, "calc:add") == [CALLRESULT, "reg", base + "add"]
    # the caller's own CURIE, resolved with the caller's prefixes
    await caller.prefix("c", base)
    await caller.send([CALL, "0.x7k2j", "c:add", 2, 3])
    fwd = await forwarded(callee)
    assert fwd[2:] == [base + "add", 2, 3], fwd
    assert fwd[1] != "0.x7k2j"
    await answer(callee, fwd[1], 5)
    assert await reply_to(caller, "0.x7k2j") == [CALLRESULT, "0.x7k2j", 5]
    await caller.expect_nothing()
    await callee.expect_nothing()


ARGS = [
    [],
    [None],
    [1, "a", {"x": [1, {"y": None}]}, [1, 2], 2.5, True, False],
    [[1, 2, 3]],  # a lone array argument stays one argument
    [{"nested": {"deeper": [{"deepest": "ü☃😀"}]}}],
    [2 ** 63 - 1, -2 ** 63, 2 ** 64 - 1, 0.1, 1e300],
    ["\u0000\n\t\"\\", "x" * 5000],
]


@pytest.mark.parametrize("args", ARGS, ids=range(len(ARGS)))
async def test_args_and_results_relayed_verbatim(rpc, args):
    callee, caller = await connect_all(rpc.port, 2)
    uri = await registered(callee, proc())
    result = {"echoed": args, "n": len(args)}
    assert await relay(caller, callee, uri, args, lambda rid: [CALLRESULT, rid, result]) == \
        [CALLRESULT, "c1", result]
    # the raw text of big integers survives (no float rounding on the way)
    await caller.send([CALL, "raw", uri, 2 ** 64 - 1])
    fwd_raw = await callee.recv_raw()
    assert str(2 ** 64 - 1) in fwd_raw, fwd_raw
    rid = json.loads(fwd_raw)[1]
    await callee.send_raw(f'[3, {json.dumps(rid)}, 18446744073709551615]')
    raw = await caller.recv_raw()
    assert raw.replace(" ", "") == '[3,"raw",18446744073709551615]', raw


@pytest.mark.parametrize("result", [None, 0, "", [], {}, [None], "s", -1.5], ids=range(8))
async def test_any_result_value(rpc, result):
    callee, caller = await connect_all(rpc.port, 2)
    uri = await registered(callee, proc())
    assert await relay(caller, callee, uri, [1], lambda rid: [CALLRESULT, rid, result]) == [CALLRESULT, "c1", result]


@pytest.mark.parametrize("details", [None, {"a": 1}, [1, 2], "text", 0, False, {}])
async def test_error_relayed_with_and_without_details(rpc, details):
    callee, caller = await connect_all(rpc.port, 2)
    uri = await registered(callee, proc())
    err = "http://example.com/error#oops"
    if details is None:
        msg = await relay(caller, callee, uri, ["x"], lambda rid: [CALLERROR, rid, err, "it went wrong"])
        assert msg == [CALLERROR, "c1", err, "it went wrong"]
    else:
        msg = await relay(caller, callee, uri, ["x"], lambda rid: [CALLERROR, rid, err, "it went wrong", details])
        assert msg == [CALLERROR, "c1", err, "it went wrong", details]


async def test_a_session_may_call_its_own_procedure(rpc):
    me = await WampClient.connect(rpc.port)
    uri = await registered(me, proc("self"))
    await me.send([CALL, "mine", uri, 7])
    fwd = await forwarded(me)
    assert fwd[2:] == [uri, 7]
    await answer(me, fwd[1], 8)
    assert await reply_to(me, "mine") == [CALLRESULT, "mine", 8]


async def test_two_callers_with_the_same_call_id(rpc):
    callee, a, b = await connect_all(rpc.port, 3)
    uri = await registered(callee, proc("same-id"))
    await a.send([CALL, "1", uri, "a"])
    await b.send([CALL, "1", uri, "b"])
    f1, f2 = await forwarded(callee), await forwarded(callee)
    assert f1[1] != f2[1], (f1, f2)
    by_arg = {f[3]: f[1] for f in (f1, f2)}
    assert set(by_arg) == {"a", "b"}
    # answered in the other order
    await answer(callee, by_arg["b"], "for-b")
    await answer(callee, by_arg["a"], "for-a")
    assert await reply_to(a, "1") == [CALLRESULT, "1", "for-a"]
    assert await reply_to(b, "1") == [CALLRESULT, "1", "for-b"]
    await a.expect_nothing()
    await b.expect_nothing()


async def test_many_concurrent_calls(rpc):
    callee = await WampClient.connect(rpc.port)
    callers = await connect_all(rpc.port, 4)
    uri = await registered(callee, proc("many"))
    n = 60
    for i in range(n):
        for k, c in enumerate(callers):
            await c.send([CALL, f"c{i}", uri, k, i])
    calls = [await forwarded(callee) for _ in range(n * len(callers))]
    assert len({f[1] for f in calls}) == len(calls), "router call ids repeat"
    random.Random(7).shuffle(calls)
    for f in calls:
        k, i = f[3], f[4]
        if i % 7 == 3:
            await callee.send([CALLERROR, f[1], "http://example.com/error#seven", f"{k}/{i}", {"k": k}])
        else:
            await answer(callee, f[1], [k, i, k * 1000 + i])
    for k, c in enumerate(callers):
        got = {}
        for _ in range(n):
            m = await c.recv()
            assert m[1] not in got, f"second reply for {m[1]}"
            got[m[1]] = m
        for i in range(n):
            if i % 7 == 3:
                assert got[f"c{i}"] == [CALLERROR, f"c{i}", "http://example.com/error#seven", f"{k}/{i}", {"k": k}]
            else:
                assert got[f"c{i}"] == [CALLRESULT, f"c{i}", [k, i, k * 1000 + i]]
        await c.expect_nothing()


# ------------------------------------------------------------------ callees that leave or do not answer


@pytest.mark.parametrize("how", ["close", "abort"])
async def test_callee_leaves_mid_call(rpc, how):
    callee, a, b = await connect_all(rpc.port, 3)
    uri = await registered(callee, proc("gone"))
    await a.send([CALL, "x1", uri, 1])
    await a.send([CALL, "x2", uri, 2])
    await b.send([CALL, "x1", uri, 3])
    for _ in range(3):
        await forwarded(callee)
    if how == "close":
        await callee.close()
    else:
        callee.abort()
    got_a = [await a.recv(), await a.recv()]
    got_b = [await b.recv()]
    for msg in got_a + got_b:
        assert msg[0] == CALLERROR and msg[2] == CALLEE_GONE and isinstance(msg[3], str) and len(msg) == 4, msg
    assert sorted(m[1] for m in got_a) == ["x1", "x2"]
    assert got_b[0][1] == "x1"
    # and the procedure is gone with its callee
    assert await a.call(uri, call_id="after") == no_such("after", uri)


async def test_after_the_callee_leaves_no_such_endpoint_until_it_registers_again(rpc):
    """Acceptance: a callee that reconnects and registers again serves the procedure again."""
    caller = await WampClient.connect(rpc.port)
    callee = await WampClient.connect(rpc.port)
    uri = await registered(callee, proc("again"))
    assert await relay(caller, callee, uri, [1], lambda rid: [CALLRESULT, rid, "first"]) == [CALLRESULT, "c1", "first"]
    callee.abort()
    deadline = time.monotonic() + t(5)
    while True:  # the router learns of the dropped TCP connection asynchronously
        reply = await caller.call(uri, call_id="probe")
        if reply == no_such("probe", uri):
            break
        assert reply[:3] == [CALLERROR, "probe", CALLEE_GONE], reply
        assert time.monotonic() < deadline, "the registration outlived its callee"
        await asyncio.sleep(0.02)
    again = await WampClient.connect(rpc.port)
    await registered(again, uri)
    assert await relay(caller, again, uri, [2], lambda rid: [CALLRESULT, rid, "second"]) == \
        [CALLRESULT, "c1", "second"]


async def test_clean_close_unregisters_at_once(rpc):
    caller, callee = await connect_all(rpc.port, 2)
    uri = await registered(callee, proc("closed"))
    await callee.close()
    assert await caller.call(uri, call_id="n") == no_such("n", uri)


async def test_callee_timeout(rpc):
    callee, caller = await connect_all(rpc.port, 2)
    uri = await registered(callee, proc("slow"))
    started = time.monotonic()
    await caller.send([CALL, "t1", uri, "wait"])
    fwd = await forwarded(callee)
    reply = await reply_to(caller, "t1", timeout=5)
    elapsed = time.monotonic() - started
    assert reply[:3] == [CALLERROR, "t1", CALLEE_TIMEOUT] and len(reply) == 4, reply
    assert 0.3 <= elapsed < t(4), f"callee_timeout 500ms, the error came after {elapsed:.3f} s"
    # the late answer is ignored: no second reply, and the callee's session goes on
    await answer(callee, fwd[1], "too late")
    await caller.expect_nothing()
    assert await callee.call(PING, call_id="p") == [CALLRESULT, "p", None]
    # the procedure is still registered and served
    assert await relay(caller, callee, uri, [1], lambda rid: [CALLRESULT, rid, "in time"]) == \
        [CALLRESULT, "c1", "in time"]


async def test_late_answer_in_a_strict_realm_closes_with_1002(rpc):
    callee, caller = await connect_all(rpc.port, 2, "/strict")
    uri = await registered(callee, proc("strict-late"))
    await caller.send([CALL, "t1", uri])
    fwd = await forwarded(callee)
    reply = await reply_to(caller, "t1")
    assert reply[:3] == [CALLERROR, "t1", CALLEE_TIMEOUT], reply
    await answer(callee, fwd[1], "too late")
    await callee.expect_close(1002)
    assert await caller.call(PING, call_id="p") == [CALLRESULT, "p", None]


@pytest.mark.parametrize("path", ["/ws", "/strict"])
async def test_caller_that_left_is_no_error_for_the_callee(rpc, path):
    callee, caller = await connect_all(rpc.port, 2, path)
    uri = await registered(callee, proc("left"))
    await caller.send([CALL, "c", uri])
    fwd = await forwarded(callee)
    await caller.close()
    await answer(callee, fwd[1], "nobody listens")
    # a known call id: no protocol error, even in the strict realm
    assert await callee.call(PING, call_id="p") == [CALLRESULT, "p", None]
    assert callee.is_open()


# ------------------------------------------------------------------ unregister and errors


async def test_unregister(rpc):
    callee, other, caller = await connect_all(rpc.port, 3)
    base = proc("unreg") + "/"
    uri = await registered(callee, base + "x")
    # another session may not unregister it
    reply = await other.call(UNREGISTER, uri, call_id="u")
    assert reply[:3] == [CALLERROR, "u", NO_SUCH_REGISTRATION] and len(reply) == 4, reply
    assert await relay(caller, callee, uri, [], lambda rid: [CALLRESULT, rid, 1]) == [CALLRESULT, "c1", 1]
    # the owner may, with a CURIE too
    await callee.prefix("u", base)
    assert await callee.call(UNREGISTER, "u:x", call_id="u") == [CALLRESULT, "u", uri]
    assert await caller.call(uri, call_id="n") == no_such("n", uri)
    # twice: not registered any more
    reply = await callee.call(UNREGISTER, uri, call_id="u2")
    assert reply[:3] == [CALLERROR, "u2", NO_SUCH_REGISTRATION], reply
    # never registered, and builtins
    for target in (proc("never"), ECHO):
        reply = await callee.call(UNREGISTER, target, call_id="u3")
        assert reply[:3] == [CALLERROR, "u3", NO_SUCH_REGISTRATION], reply
    assert await caller.call(ECHO, 1, call_id="e") == [CALLRESULT, "e", 1]
    # and it can be registered again, by anyone
    await registered(other, uri)
    assert await relay(caller, other, uri, [], lambda rid: [CALLRESULT, rid, 2]) == [CALLRESULT, "c1", 2]


async def test_registrations_are_per_realm(rpc):
    callee = await WampClient.connect(rpc.port, "/ws")
    elsewhere = await WampClient.connect(rpc.port, "/strict")
    uri = await registered(callee, proc("realm"))
    assert await elsewhere.call(uri, call_id="n") == no_such("n", uri)
    # and the same URI may be registered in the other realm by its own callee
    await registered(elsewhere, uri)
    caller = await WampClient.connect(rpc.port, "/strict")
    assert await relay(caller, elsewhere, uri, [], lambda rid: [CALLRESULT, rid, "strict"]) == \
        [CALLRESULT, "c1", "strict"]
    await callee.expect_nothing()


async def test_already_registered_by_another_session(rpc):
    a, b, caller = await connect_all(rpc.port, 3)
    uri = await registered(a, proc("taken"))
    reply = await register(b, uri)
    assert reply[:3] == [CALLERROR, "reg", ALREADY_EXISTS] and len(reply) == 4, reply
    # a keeps serving it
    assert await relay(caller, a, uri, [], lambda rid: [CALLRESULT, rid, "a"]) == [CALLRESULT, "c1", "a"]
    await b.expect_nothing()


@pytest.mark.parametrize("uri", [ECHO, PING, DISPATCH, REGISTER, UNREGISTER, AUTHREQ, AUTH])
async def test_builtins_cannot_be_registered(rpc, uri):
    c, caller = await connect_all(rpc.port, 2)
    reply = await register(c, uri)
    assert reply[:3] == [CALLERROR, "reg", ALREADY_EXISTS], reply
    if uri == ECHO:
        assert await caller.call(ECHO, "still", call_id="e") == [CALLRESULT, "e", "still"]


@pytest.mark.parametrize("args", [[], [1], [None], [""], ["http://a", "http://b"], [["http://a"]],
                                  [{"uri": "http://a"}], [True]], ids=range(8))
@pytest.mark.parametrize("procedure", [REGISTER, UNREGISTER])
async def test_bad_arguments(rpc, procedure, args):
    c = await WampClient.connect(rpc.port)
    reply = await c.call(procedure, *args, call_id="bad")
    assert reply[:3] == [CALLERROR, "bad", INVALID_ARGUMENT] and isinstance(reply[3], str), reply
    assert await c.call(PING, call_id="p") == [CALLRESULT, "p", None]


async def test_max_registrations(rpc):
    a, b, caller = await connect_all(rpc.port, 3, "/limited")
    u1, u2, u3 = proc("lim"), proc("lim"), proc("lim")
    await registered(a, u1)
    await registered(a, u2)
    reply = await register(a, u3)
    assert reply[:3] == [CALLERROR, "reg", TOO_MANY], reply
    assert await caller.call(u3, call_id="n") == no_such("n", u3)
    # the limit is per session
    await registered(b, u3)
    # unregistering makes room
    assert await a.call(UNREGISTER, u1, call_id="u") == [CALLRESULT, "u", u1]
    u4 = proc("lim")
    await registered(a, u4)
    assert await relay(caller, a, u4, [], lambda rid: [CALLRESULT, rid, 4]) == [CALLRESULT, "c1", 4]
    assert await relay(caller, b, u3, [], lambda rid: [CALLRESULT, rid, 3]) == [CALLRESULT, "c1", 3]


async def test_rules_need_register(rpc):
    callee, caller = await connect_all(rpc.port, 2, "/ruled")
    ok = SVC + proc("r").rpartition("/")[2]
    uri = await registered(callee, ok)
    assert await relay(caller, callee, uri, [1], lambda rid: [CALLRESULT, rid, "ok"]) == [CALLRESULT, "c1", "ok"]
    for denied in (PLAIN + "x", "http://example.com/noreg/x", "http://example.org/unruled"):
        reply = await register(callee, denied)
        assert reply[:3] == [CALLERROR, "reg", NOT_AUTHORIZED], (denied, reply)
    await caller.expect_nothing()


async def test_register_per_role_with_wamp_cra(rpc):
    callee, caller = await connect_all(rpc.port, 2, "/cra")
    uri = SVC + proc("role").rpartition("/")[2]
    # anonymous: no register permission
    reply = await register(callee, uri)
    assert reply[:3] == [CALLERROR, "reg", NOT_AUTHORIZED], reply
    # a user whose role lacks it neither
    await login(caller, "user", "pw2")
    reply = await register(caller, uri)
    assert reply[:3] == [CALLERROR, "reg", NOT_AUTHORIZED], reply
    # the service role has it
    await login(callee, "service", "pw")
    await registered(callee, uri)
    assert await relay(caller, callee, uri, [5], lambda rid: [CALLRESULT, rid, 6]) == [CALLRESULT, "c1", 6]
    # only below its rule
    reply = await register(callee, "http://example.com/elsewhere")
    assert reply[:3] == [CALLERROR, "reg", NOT_AUTHORIZED], reply


# ------------------------------------------------------------------ bad answers


@pytest.mark.parametrize("message", [
    [CALLRESULT, "kreuz-999999", 1],
    [CALLRESULT, "c1", 1],
    [CALLERROR, "kreuz-999999", "http://example.com/e", "x"],
], ids=["result-unknown", "result-callers-id", "error-unknown"])
async def test_answer_for_no_call_is_ignored(rpc, message):
    c = await WampClient.connect(rpc.port)
    await c.send(message)
    assert await c.call(PING, call_id="p") == [CALLRESULT, "p", None]
    assert c.is_open()


@pytest.mark.parametrize("message", [
    [CALLRESULT, "kreuz-999999", 1],
    [CALLERROR, "kreuz-999999", "http://example.com/e", "x"],
], ids=["result", "error"])
async def test_answer_for_no_call_in_a_strict_realm_closes_with_1002(rpc, message):
    c = await WampClient.connect(rpc.port, "/strict")
    await c.send(message)
    await c.expect_close(1002)


@pytest.mark.parametrize("path", ["/ws", "/strict"])
async def test_a_session_cannot_answer_another_callees_call(rpc, path):
    callee, thief, caller = await connect_all(rpc.port, 3, path)
    uri = await registered(callee, proc("steal"))
    await caller.send([CALL, "c", uri])
    fwd = await forwarded(callee)
    await thief.send([CALLRESULT, fwd[1], "stolen"])
    if path == "/strict":
        await thief.expect_close(1002)
    else:
        assert await thief.call(PING, call_id="p") == [CALLRESULT, "p", None]
    await caller.expect_nothing()
    await answer(callee, fwd[1], "genuine")
    assert await reply_to(caller, "c") == [CALLRESULT, "c", "genuine"]


async def test_answering_twice(rpc):
    callee, caller = await connect_all(rpc.port, 2)
    uri = await registered(callee, proc("twice"))
    await caller.send([CALL, "c", uri])
    fwd = await forwarded(callee)
    await answer(callee, fwd[1], 1)
    await answer(callee, fwd[1], 2)
    assert await reply_to(caller, "c") == [CALLRESULT, "c", 1]
    await caller.expect_nothing()
    assert await callee.call(PING, call_id="p") == [CALLRESULT, "p", None]


# ------------------------------------------------------------------ metrics


async def test_registration_metrics(make_server):
    srv = make_server("realms:\n  - {name: default, paths: [/ws], callee_timeout: 10s}\n")
    from test_http_api import scrape, scrape_when  # the validating Prometheus parser

    def gauges(m):
        return (m.value("kreuz_registrations", realm="default"), m.value("kreuz_routed_calls_pending", realm="default"))

    assert gauges(await scrape(srv.port)) == (0, 0)
    callee, caller = await connect_all(srv.port, 2)
    u1 = await registered(callee, proc("m"))
    await registered(callee, proc("m"))
    await caller.send([CALL, "a", u1])
    await caller.send([CALL, "b", u1])
    f1 = await forwarded(callee)
    await forwarded(callee)
    assert gauges(await scrape(srv.port)) == (2, 2)
    await answer(callee, f1[1], 1)
    assert (await reply_to(caller, "a"))[0] == CALLRESULT
    assert gauges(await scrape(srv.port)) == (2, 1)
    callee.abort()
    assert (await reply_to(caller, "b"))[2] == CALLEE_GONE
    await scrape_when(srv.port, lambda m: gauges(m) == (0, 0), "registrations gone with the callee")


# ------------------------------------------------------------------ the example callee


async def test_example_callee(rpc):
    script = os.path.join(HERE, "example_callee.py")
    proc_ = await asyncio.create_subprocess_exec(sys.executable, script, f"ws://127.0.0.1:{rpc.port}/ws",
                                                 stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
                                                 stderr=asyncio.subprocess.PIPE)
    try:
        line = await asyncio.wait_for(proc_.stdout.readline(), t(10))
        assert b"registered http://example.com/calc#add" in line, \
            (line, (await asyncio.wait_for(proc_.stderr.read(), t(5))) if not line else b"")
        caller = await WampClient.connect(rpc.port)
        assert await caller.call("http://example.com/calc#add", 2, 3, call_id="c1") == [CALLRESULT, "c1", 5]
        assert await caller.call("http://example.com/calc#add", 1, 2.5, -4, call_id="c2") == \
            [CALLRESULT, "c2", -0.5]
        reply = await caller.call("http://example.com/calc#add", "x", call_id="c3")
        assert reply[:3] == [CALLERROR, "c3", "http://example.com/calc#invalid-argument"], reply
    finally:
        if proc_.returncode is None:
            proc_.terminate()
        try:
            await asyncio.wait_for(proc_.wait(), t(5))
        except asyncio.TimeoutError:
            proc_.kill()
            await proc_.wait()
    # the example's session has gone, and its procedure with it
    caller = await WampClient.connect(rpc.port)
    deadline = time.monotonic() + t(5)
    while True:
        reply = await caller.call("http://example.com/calc#add", 1, call_id="gone")
        if reply == no_such("gone", "http://example.com/calc#add"):
            break
        assert time.monotonic() < deadline, reply
        await asyncio.sleep(0.02)
