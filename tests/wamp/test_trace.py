"""POST /admin/trace switches one session's message trace at run time (issue 5, observability)."""
import asyncio
import json
import time

from wampclient import ECHO, WampClient, http_raw, t

ADMIN = "http:\n  admin: true\n"


def trace(port, session, enable, method="POST"):
    req = (f"{method} /admin/trace?session={session}&enable={enable} HTTP/1.1\r\nHost: x\r\n"
           "Content-Length: 0\r\n\r\n").encode()
    return http_raw(port, req)


async def wait_in_log(srv, text, timeout=5.0):
    deadline = time.monotonic() + t(timeout)
    while text not in srv.log() and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    return text in srv.log()


async def test_trace_logs_one_session_only(make_server, monkeypatch):
    monkeypatch.setenv("KREUZ_LOG_LEVEL", "info")  # trace lines are info lines
    srv = make_server(ADMIN)
    traced = await WampClient.connect(srv.port, name="traced")
    other = await WampClient.connect(srv.port, name="other")
    r = trace(srv.port, traced.id, "true")
    assert r.status == 200, r
    assert json.loads(r.body) == {"session": traced.id, "realm": "default", "trace": True}
    await traced.call(ECHO, "traced-marker", call_id="m1")
    await other.call(ECHO, "untraced-marker", call_id="m2")
    assert await wait_in_log(srv, f'[session {traced.id}] trace in: [2, "m1", "http://api.wamp.ws/procedure#echo", "traced-marker"]')
    assert await wait_in_log(srv, f'[session {traced.id}] trace out: [3,"m1","traced-marker"]')
    assert "untraced-marker" not in srv.log()
    assert json.loads(trace(srv.port, traced.id, "false").body)["trace"] is False
    await traced.call(ECHO, "after-off", call_id="m3")
    await traced.barrier()
    assert "after-off" not in srv.log()


async def test_trace_errors(make_server):
    srv = make_server(ADMIN)
    c = await WampClient.connect(srv.port)
    assert trace(srv.port, "nobody", "true").status == 404
    assert trace(srv.port, c.id, "maybe").status == 400
    assert trace(srv.port, c.id, "true", method="GET").status == 405
    assert c.is_open()


async def test_admin_is_off_by_default(make_server):
    srv = make_server("realms: [{name: default, paths: [/ws]}]\n")
    c = await WampClient.connect(srv.port)
    assert trace(srv.port, c.id, "true").status != 200
