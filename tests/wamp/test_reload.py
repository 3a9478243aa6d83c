"""SIGHUP reloads the configuration file without dropping sessions (issue 5, operations): a good
file is taken over (rules, builtins, publish bridge, registrations), a bad one or one that would
need a restart is refused with the error in the log while the running configuration stays."""
import asyncio
import json
import signal
import time

from wampclient import (CALLERROR, CALLRESULT, ECHO, EVENT, WampClient, http_raw, t, unique)

BEFORE = """\
realms:
  - name: default
    paths: [/ws]
    rules:
      - {uri: "http://example.com/open", prefix: true, register: true}
      - {uri: "http://api.wamp.ws/procedure#", prefix: true}
      - {uri: "urn:kreuz:", prefix: true}
"""

AFTER = """\
realms:
  - name: default
    paths: [/ws]
    builtins: {echo: false}
    rules:
      - {uri: "http://example.com/open", prefix: true, register: true}
      - {uri: "http://example.com/open/closed", subscribe: false}
      - {uri: "http://example.com/later", prefix: true}
      - {uri: "http://api.wamp.ws/procedure#", prefix: true}
      - {uri: "urn:kreuz:", prefix: true}
    publish_bridge: {path: /publish}
"""


def post(port, path, body: str):
    req = (f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
           f"Content-Length: {len(body.encode())}\r\n\r\n{body}").encode()
    return http_raw(port, req)


def rewrite_and_hup(srv, text):
    with open(srv.config, "w") as f:
        f.write(text)
    srv.proc.send_signal(signal.SIGHUP)


async def wait_for(predicate, what, timeout=5.0):
    deadline = time.monotonic() + t(timeout)
    while time.monotonic() < deadline:
        if await predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"not seen within {timeout} s: {what}")


async def refused(srv, timeout=5.0):
    deadline = time.monotonic() + t(timeout)
    while "reload refused" not in srv.log():
        assert time.monotonic() < deadline, "no refusal in the log:\n" + srv.log()
        await asyncio.sleep(0.05)


async def test_good_reload_applies_without_dropping_sessions(make_server):
    srv = make_server(BEFORE)
    sub = await WampClient.connect(srv.port, name="sub")
    pub = await WampClient.connect(srv.port, name="pub")
    callee = await WampClient.connect(srv.port, name="callee")
    await sub.subscribe("http://example.com/open/closed")
    await sub.subscribe("http://example.com/later/x")  # denied now: no rule covers it
    proc = "http://example.com/open/calc#twice"
    assert (await callee.call("urn:kreuz:procedure:register", proc))[0] == CALLRESULT
    assert (await pub.call(ECHO, 1))[0] == CALLRESULT
    assert post(srv.port, "/publish", '{"topic": "t"}').status == 405  # no bridge yet: a static path

    rewrite_and_hup(srv, AFTER)

    async def echo_gone():
        return (await pub.call(ECHO, 1))[0] == CALLERROR
    await wait_for(echo_gone, "echo switched off by the reload")

    # The bridge exists now, and the subscription the new rules forbid has ended.
    r = post(srv.port, "/publish", json.dumps({"topic": "http://example.com/open/closed", "event": 1}))
    assert r.status == 202, r
    assert json.loads(r.body) == {"receivers": 0}
    # A subscription the new rules allow is made and served.
    await sub.subscribe("http://example.com/later/x")
    await sub.barrier()
    r = post(srv.port, "/publish", json.dumps({"topic": "http://example.com/later/x", "event": "hi"}))
    assert json.loads(r.body) == {"receivers": 1}, r
    assert await sub.recv() == [EVENT, "http://example.com/later/x", "hi"]
    # The registration survived: a CALL still reaches the callee.
    await pub.send([2, "c1", proc, 21])
    msg = json.loads(await callee.recv_raw())  # recv() refuses a server-to-client CALL
    assert msg[0] == 2 and msg[2] == proc and msg[3] == 21
    await callee.send([3, msg[1], 42])
    assert await pub.recv() == [CALLRESULT, "c1", 42]
    for c in (sub, pub, callee):
        assert c.is_open()
    assert srv.alive()


async def test_registration_the_new_rules_forbid_ends(make_server):
    srv = make_server(BEFORE)
    callee = await WampClient.connect(srv.port, name="callee")
    caller = await WampClient.connect(srv.port, name="caller")
    proc = "http://example.com/open/calc#x"
    assert (await callee.call("urn:kreuz:procedure:register", proc))[0] == CALLRESULT
    rewrite_and_hup(srv, BEFORE.replace("register: true", "register: false"))

    # While the procedure is still served, the probe reaches the callee; answer it.
    async def probe():
        await caller.send([2, "probe", proc])
        for _ in range(2):
            try:
                msg = json.loads(await callee.recv_raw(timeout=0.2))
            except AssertionError:  # nothing arrived
                msg = None
            if msg and msg[0] == 2:
                await callee.send([3, msg[1], None])
        reply = await caller.recv()
        return reply[0] == CALLERROR and reply[2] == "http://api.wamp.ws/error#NoSuchRPCEndpoint"
    await wait_for(probe, "registration ended by the reload")
    assert "registration of http://example.com/open/calc#x ended by the reload" in srv.log()


async def test_bad_file_is_refused_and_the_running_configuration_stays(make_server):
    srv = make_server(AFTER)
    c = await WampClient.connect(srv.port)
    rewrite_and_hup(srv, AFTER.replace("builtins: {echo: false}", "builtins: {echo: false, pong: true}"))
    await refused(srv)
    log = srv.log()
    assert "reload refused, the running configuration stays" in log
    assert "kreuz.yaml:4:" in log and 'unknown key "pong"' in log, log
    assert post(srv.port, "/publish", '{"topic": "http://example.com/later/t"}').status == 202
    assert (await c.call(ECHO, 1))[0] == CALLERROR  # still off, as before
    assert c.is_open() and srv.alive()


async def test_change_that_needs_a_restart_is_refused(make_server):
    srv = make_server(BEFORE)
    c = await WampClient.connect(srv.port)
    rewrite_and_hup(srv, BEFORE.replace("paths: [/ws]", "paths: [/ws, /more]"))
    await refused(srv)
    assert "realms[0].paths changed, which takes a restart" in srv.log(), srv.log()
    assert (await c.call(ECHO, 5))[2] == 5
    # The file that was refused stays refused; a good one afterwards is taken.
    rewrite_and_hup(srv, AFTER)

    async def echo_gone():
        return (await c.call(ECHO, 1))[0] == CALLERROR
    await wait_for(echo_gone, "the later good reload")
    assert c.is_open() and srv.alive()
