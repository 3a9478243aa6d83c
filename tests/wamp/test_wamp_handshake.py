"""Digest section 1 (subprotocol negotiation, accept_no_subprotocol) and the router's HTTP side."""
import json

import pytest
import websockets
import websockets.exceptions

from wampclient import (ECHO, PING, WampClient, get_request, http_raw, unique, upgrade_request,
                        CALLRESULT, EVENT)

REJECT_LINE = "HTTP/1.1 400 this server only speaks WAMP"


def assert_101_wamp(resp, protocol="wamp"):
    assert resp.status_line == "HTTP/1.1 101 Switching Protocols", resp
    assert resp.headers.get("sec-websocket-protocol") == [protocol], resp


def welcome_after_101(resp):
    """The first frame after the 101 head: an unmasked, unfragmented text frame with WELCOME."""
    data = resp.body
    assert len(data) >= 2, f"no frame after the 101 response: {resp!r}"
    assert data[0] == 0x81, f"first frame is not a final text frame: {data[:2]!r}"
    n = data[1]
    assert n < 126, "WELCOME unexpectedly long"
    msg = json.loads(data[2:2 + n].decode())
    assert msg[0] == 0, msg
    return msg


@pytest.mark.parametrize("offer", ["wamp", "wamp.2.json, wamp", "wamp.2.json,wamp", "foo, wamp, bar"])
def test_offer_containing_wamp_gets_wamp_and_welcome(kreuz, offer):
    resp = http_raw(kreuz.port, upgrade_request("/ws", offer), timeout=2)
    assert_101_wamp(resp)
    welcome_after_101(resp)


@pytest.mark.parametrize("offer", [None, "wamp.2.json", "wamp.2.msgpack, wamp.2.json", "foo", "wampx"])
def test_no_wamp_offer_is_rejected_with_400(kreuz, offer):
    resp = http_raw(kreuz.port, upgrade_request("/ws", offer), timeout=3, until_eof=True)
    assert resp.status_line == REJECT_LINE, resp
    assert resp.eof, "the router must drop the connection after the rejection"
    assert b"\x81" not in resp.body[:1]


async def test_no_subprotocol_rejected_for_websockets_client(kreuz):
    with pytest.raises(websockets.exceptions.InvalidStatusCode) as info:
        await WampClient.connect(kreuz.port, subprotocols=None)
    assert info.value.status_code == 400


async def test_websockets_client_negotiates_wamp(kreuz, version):
    c = await WampClient.connect(kreuz.port, subprotocols=["wamp"])
    assert c.ws.subprotocol == "wamp"
    assert c.welcome == [0, c.session_id, 1, f"kreuz/{version}"]
    assert await c.call(PING, call_id="p") == [CALLRESULT, "p", None]


async def test_dual_v1_v2_client_learns_v1(kreuz):
    c = await WampClient.connect(kreuz.port, subprotocols=["wamp.2.json", "wamp"])
    assert c.ws.subprotocol == "wamp"
    assert await c.call(ECHO, 7, call_id="a") == [CALLRESULT, "a", 7]


def test_accept_no_subprotocol_realm_accepts_missing_header(multi):
    resp = http_raw(multi.port, upgrade_request("/open", None), timeout=2)
    assert resp.status_line == "HTTP/1.1 101 Switching Protocols", resp
    assert "sec-websocket-protocol" not in resp.headers, resp
    welcome_after_101(resp)


def test_accept_no_subprotocol_realm_still_echoes_wamp(multi):
    resp = http_raw(multi.port, upgrade_request("/open", "wamp"), timeout=2)
    assert_101_wamp(resp)
    welcome_after_101(resp)


def test_accept_no_subprotocol_never_echoes_unoffered_protocol(multi):
    resp = http_raw(multi.port, upgrade_request("/open", "foo"), timeout=2)
    assert resp.headers.get("sec-websocket-protocol") in (None,), resp


def test_accept_no_subprotocol_is_per_realm(multi):
    for path in ("/ws", "/ws2", "/strict", "/other"):
        resp = http_raw(multi.port, upgrade_request(path, None), timeout=3, until_eof=True)
        assert resp.status_line == REJECT_LINE, (path, resp)


async def test_client_without_subprotocol_is_a_full_session(multi):
    topic = unique("open")
    a = await WampClient.connect(multi.port, "/open", subprotocols=None)
    b = await WampClient.connect(multi.port, "/open", subprotocols=["wamp"])
    assert a.ws.subprotocol is None and b.ws.subprotocol == "wamp"
    await a.subscribe(topic)
    await a.barrier()
    await b.publish(topic, {"x": 1})
    assert await a.recv() == [EVENT, topic, {"x": 1}]
    assert await a.call(ECHO, "hi", call_id="e") == [CALLRESULT, "e", "hi"]


def test_unknown_path_is_not_upgraded(kreuz):
    resp = http_raw(kreuz.port, upgrade_request("/nope", "wamp"), timeout=3, until_eof=True)
    assert resp.status == 404, resp


# ---------------------------------------------------------------------------- HTTP side


def test_get_root_serves_demo_page(kreuz):
    resp = http_raw(kreuz.port, get_request("/"), timeout=3)
    if resp.status == 404:
        pytest.skip("GET / answered 404: no www/ pages embedded in this build")
    assert resp.status == 200, resp
    assert resp.header("content-type").startswith("text/html"), resp
    assert b"<html" in resp.body.lower()


@pytest.mark.parametrize("path", ["/no-such-file.html", "/nope/", "/ws/x", "/favicon-nope.ico"])
def test_unknown_paths_are_404(kreuz, path):
    resp = http_raw(kreuz.port, get_request(path), timeout=3)
    assert resp.status == 404, resp


@pytest.mark.parametrize("path", [
    "/../etc/passwd", "/../../../../etc/passwd", "/%2e%2e/", "/%2e%2e/etc/passwd", "/%2E%2E/%2E%2E/etc/passwd",
    "/..%2f..%2fetc/passwd", "/.git/config", "/.git/", "/./.git/config", "/x/../../etc/passwd",
    "/..\\..\\etc\\passwd", "/%2e%2e%2f%2e%2e%2fetc%2fpasswd", "/.%2e/.%2e/etc/passwd", "/....//....//etc/passwd",
    "/www/../CMakeLists.txt", "/../CMakeLists.txt", "/.gitignore", "//etc/passwd",
])
def test_path_traversal_never_200(kreuz, path):
    resp = http_raw(kreuz.port, get_request(path), timeout=3)
    assert resp.status != 200, resp
    assert b"root:" not in resp.body and b"[core]" not in resp.body and b"cmake_minimum" not in resp.body.lower()
