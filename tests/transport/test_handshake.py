"""The opening handshake (RFC 6455 section 4) and its rejections."""
import base64
import socket
import time

import pytest

from wsraw import (OP_BINARY, OP_TEXT, RawClient, accept_key, build_frame, new_key, t)


def raw_request(port, request: bytes, timeout=5.0):
    c = RawClient(port)
    c.send(request)
    return c, c.read_http_response(timeout=timeout)


def request(port, _unused=None, path="/echo", method="GET", version="HTTP/1.1", drop=(), extra=()):
    """A handshake request with the standard fields, less those named in `drop`, plus `extra`."""
    std = [("Host", f"127.0.0.1:{port}"), ("Upgrade", "websocket"), ("Connection", "Upgrade"),
           ("Sec-WebSocket-Key", new_key()), ("Sec-WebSocket-Version", "13")]
    hdrs = [(k, v) for k, v in std if k not in drop] + list(extra)
    head = f"{method} {path} {version}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in hdrs) + "\r\n"
    return head.encode()


def assert_rejection(client, resp, status):
    """Status line 'HTTP/1.1 <code> <one-line reason>', Connection: close, body = the reason
    line, and the server closes the connection."""
    assert resp.status == status, f"expected {status}, got {resp.raw_head!r} {resp.body!r}"
    assert resp.version == "HTTP/1.1", resp.raw_head
    assert resp.reason.strip() != "", f"empty reason phrase: {resp.raw_head!r}"
    assert "\r" not in resp.reason and "\n" not in resp.reason
    conn = resp.header("Connection")
    assert conn is not None and conn.lower() == "close", f"no Connection: close in {resp.raw_head!r}"
    body = resp.body.decode("utf-8", "replace")
    assert body.strip() == resp.reason.strip(), (f"body {resp.body!r} is not the reason line "
                                                  f"{resp.reason!r}")
    assert body.count("\n") <= 1, f"body is more than one line: {resp.body!r}"
    assert resp.header("Sec-WebSocket-Accept") is None, resp.raw_head
    client.expect_eof(3.0, what="after an HTTP error response")


def test_upgrade_101(server):
    c = RawClient(server.port)
    resp = c.handshake("/echo")
    assert resp.status == 101
    assert resp.version == "HTTP/1.1"
    assert resp.header("Sec-WebSocket-Protocol") is None, "echo speaks no subprotocol"
    assert resp.header("Sec-WebSocket-Extensions") is None, "no extension was offered"
    c.echo(OP_TEXT, "hello")
    c.close_handshake(1000)


def test_accept_key_rfc_example(server):
    # The example of RFC 6455 section 1.3.
    assert accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    c = RawClient(server.port)
    resp = c.handshake("/echo", key="dGhlIHNhbXBsZSBub25jZQ==")
    assert resp.header("Sec-WebSocket-Accept") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


def test_subprotocol_offered_but_none_spoken(server):
    c = RawClient(server.port)
    resp = c.handshake("/echo", protocols="wamp, chat")
    assert resp.status == 101
    assert resp.header("Sec-WebSocket-Protocol") is None, resp.raw_head
    c.echo(OP_TEXT, "x")


def test_header_names_and_tokens_case_insensitive(server):
    key = new_key()
    req = (f"GET /echo HTTP/1.1\r\nhost: 127.0.0.1\r\nUPGRADE: WebSocket\r\n"
           f"connection: keep-alive, Upgrade\r\nsec-websocket-key: {key}\r\n"
           f"SEC-WEBSOCKET-VERSION: 13\r\n\r\n").encode()
    c, resp = raw_request(server.port, req)
    assert resp.status == 101, resp.raw_head
    assert resp.header("Sec-WebSocket-Accept") == accept_key(key)
    c.echo(OP_BINARY, b"\x00\x01")


def test_query_string_on_echo_path(server):
    c = RawClient(server.port)
    c.handshake("/echo?x=1&y=2")
    c.echo(OP_TEXT, "query ok")


def test_head_sent_byte_by_byte(server):
    c = RawClient(server.port)
    key = new_key()
    c.send(request(server.port, [], drop=("Sec-WebSocket-Key",), extra=[("Sec-WebSocket-Key", key)]), chop=1)
    resp = c.read_http_response()
    assert resp.status == 101
    assert resp.header("Sec-WebSocket-Accept") == accept_key(key)
    c.echo(OP_TEXT, "after a slow head")


def test_frames_in_same_packet_as_head(server):
    """Bytes after the blank line belong to the WebSocket stream."""
    c = RawClient(server.port)
    key = new_key()
    head = (f"GET /echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode()
    c.send(head + build_frame(OP_TEXT, b"first") + build_frame(OP_BINARY, b"second"))
    resp = c.read_http_response()
    assert resp.status == 101
    c.expect_message(OP_TEXT, b"first")
    c.expect_message(OP_BINARY, b"second")


# ---- rejections

@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "OPTIONS"])
def test_not_get_is_405(server, method):
    c, resp = raw_request(server.port, request(server.port, [], method=method))
    allow = resp.header("Allow")
    assert_rejection(c, resp, 405)
    assert allow is not None and allow.replace(" ", "") == "GET", f"Allow: {allow!r}"


def test_http10_is_400(server):
    c, resp = raw_request(server.port, request(server.port, [], version="HTTP/1.0"))
    assert_rejection(c, resp, 400)


def test_missing_host_is_400(server):
    c, resp = raw_request(server.port, request(server.port, [], drop=("Host",)))
    assert_rejection(c, resp, 400)


def test_no_upgrade_header_is_426(server):
    c, resp = raw_request(server.port, request(server.port, [], drop=("Upgrade",)))
    assert_rejection(c, resp, 426)


def test_upgrade_other_protocol_is_426(server):
    c, resp = raw_request(server.port, request(server.port, [], drop=("Upgrade",),
                                               extra=[("Upgrade", "h2c")]))
    assert_rejection(c, resp, 426)


def test_plain_get_on_echo_is_426(server):
    c, resp = raw_request(server.port, b"GET /echo HTTP/1.1\r\nHost: x\r\n\r\n")
    assert_rejection(c, resp, 426)


@pytest.mark.parametrize("value", ["keep-alive", "close", None])
def test_connection_without_upgrade_is_400(server, value):
    extra = [("Connection", value)] if value else []
    c, resp = raw_request(server.port, request(server.port, [], drop=("Connection",), extra=extra))
    assert_rejection(c, resp, 400)


@pytest.mark.parametrize("version", ["8", "12", "14", "7", "13x"])
def test_wrong_version_is_426(server, version):
    c, resp = raw_request(server.port, request(server.port, [], drop=("Sec-WebSocket-Version",),
                                               extra=[("Sec-WebSocket-Version", version)]))
    hdr = resp.header("Sec-WebSocket-Version")
    assert_rejection(c, resp, 426)
    assert hdr == "13", f"426 must carry Sec-WebSocket-Version: 13, got {hdr!r}"


def test_missing_version_is_rejected(server):
    c, resp = raw_request(server.port, request(server.port, [], drop=("Sec-WebSocket-Version",)))
    assert resp.status in (400, 426), resp.raw_head
    if resp.status == 426:
        assert resp.header("Sec-WebSocket-Version") == "13"
    assert_rejection(c, resp, resp.status)


@pytest.mark.parametrize("key", [
    None,                                               # missing
    "",                                                 # empty
    "abc",                                              # not base64 of 16 bytes
    base64.b64encode(b"x" * 15).decode(),               # 15 bytes
    base64.b64encode(b"x" * 17).decode(),               # 17 bytes
    "!!!!!!!!!!!!!!!!!!!!!!==",                         # 24 chars, not base64
    base64.b64encode(b"y" * 16).decode().rstrip("="),   # padding missing
])
def test_bad_key_is_400(server, key):
    extra = [("Sec-WebSocket-Key", key)] if key is not None else []
    c, resp = raw_request(server.port, request(server.port, [], drop=("Sec-WebSocket-Key",), extra=extra))
    assert_rejection(c, resp, 400)


def test_unknown_path_is_404(server):
    c, resp = raw_request(server.port, request(server.port, [], path="/nope"))
    assert_rejection(c, resp, 404)


def test_echo_path_prefix_is_not_echo(server):
    c, resp = raw_request(server.port, request(server.port, [], path="/echoes"))
    assert_rejection(c, resp, 404)


@pytest.mark.parametrize("line", [
    b"GET\r\n",
    b"GET /echo\r\n",
    b"GET  /echo HTTP/1.1\r\n",
    b"GET /echo HTTP/1.1 extra\r\n",
    b"\x00\x01\x02 garbage\r\n",
    b"GET /echo HTTP/1.x\r\n",
])
def test_malformed_request_line_is_400(server, line):
    rest = b"Host: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + \
        new_key().encode() + b"\r\nSec-WebSocket-Version: 13\r\n\r\n"
    c, resp = raw_request(server.port, line + rest)
    assert_rejection(c, resp, 400)


def test_malformed_header_line_is_400(server):
    req = request(server.port, []).replace(b"Upgrade: websocket\r\n", b"Upgrade: websocket\r\nNoColonHere\r\n")
    c, resp = raw_request(server.port, req)
    assert_rejection(c, resp, 400)


def _padded_request(port, total_len):
    """A valid handshake whose head is exactly total_len bytes long."""
    base = request(port, [], extra=[("X-Pad", "")])
    pad = total_len - len(base)
    assert pad >= 0
    return base.replace(b"X-Pad: \r\n", b"X-Pad: " + b"a" * pad + b"\r\n")


def test_head_of_8192_bytes_is_accepted(server):
    req = _padded_request(server.port, 8192)
    assert len(req) == 8192
    c, resp = raw_request(server.port, req)
    assert resp.status == 101, resp.raw_head
    c.echo(OP_TEXT, "big head ok")


def test_head_of_8193_bytes_is_431(server):
    req = _padded_request(server.port, 8193)
    c, resp = raw_request(server.port, req)
    assert_rejection(c, resp, 431)


def test_huge_head_is_431_without_waiting_for_the_end(server):
    """A head that never ends must be rejected once it passes the limit."""
    c = RawClient(server.port)
    c.send(b"GET /echo HTTP/1.1\r\nHost: x\r\nX-Long: " + b"a" * 9000)
    resp = c.read_http_response()
    assert_rejection(c, resp, 431)


def test_64_header_fields_accepted(server):
    extra = [(f"X-F{i}", "v") for i in range(64 - 5)]
    c, resp = raw_request(server.port, request(server.port, [], extra=extra))
    assert resp.status == 101, resp.raw_head


def test_65_header_fields_is_431(server):
    extra = [(f"X-F{i}", "v") for i in range(65 - 5)]
    c, resp = raw_request(server.port, request(server.port, [], extra=extra))
    assert_rejection(c, resp, 431)


def test_connection_refused_path_does_not_affect_server(server):
    """After a series of rejections the server still upgrades normally."""
    for _ in range(5):
        c, resp = raw_request(server.port, request(server.port, [], path="/nope"))
        assert resp.status == 404
        c.close()
    c = RawClient(server.port)
    c.handshake("/echo")
    c.echo(OP_TEXT, "still fine")


# ---- handshake timeout

def _expect_dropped(c, within):
    """The server closes the connection (after an optional 'HTTP/1.1 408 ...') within `within` s."""
    start = time.monotonic()
    deadline = start + t(within)
    while not c.eof and time.monotonic() < deadline:
        try:
            c._fill(max(0.01, (deadline - time.monotonic()) / t(1)))
        except socket.timeout:
            break
    assert c.eof, f"server did not close an unfinished handshake within {t(within)}s"
    if c.buf:
        text = bytes(c.buf)
        assert text.startswith(b"HTTP/1.1 408 "), f"unexpected bytes before close: {text[:200]!r}"
    return time.monotonic() - start


def test_handshake_timeout_silent_client(make_server):
    srv = make_server("--handshake-timeout-ms", "300")
    c = RawClient(srv.port)
    elapsed = _expect_dropped(c, 3.0)
    assert elapsed >= 0.2, f"closed after {elapsed:.3f}s, before the 300 ms timeout"


def test_handshake_timeout_slow_head(make_server):
    srv = make_server("--handshake-timeout-ms", "300")
    c = RawClient(srv.port)
    start = time.monotonic()
    # trickle a head that never completes; the server must not extend the deadline per byte
    for b in b"GET /echo HTTP/1.1\r\nHost: x\r\n":
        if c.is_closed_by_peer(0.0):
            break
        try:
            c.sock.send(bytes([b]))
        except (BrokenPipeError, ConnectionResetError):
            c.eof = True
            break
        time.sleep(0.04)
        if time.monotonic() - start > t(3.0):
            break
    _expect_dropped(c, 3.0)
    assert time.monotonic() - start < t(3.5)


def test_completed_handshake_outlives_handshake_timeout(make_server):
    srv = make_server("--handshake-timeout-ms", "300")
    c = RawClient(srv.port)
    c.handshake("/echo")
    time.sleep(0.8)
    c.echo(OP_TEXT, "still open after the handshake timeout")
    c.close_handshake(1000)


# ---- RFC 9112 strictness

def test_two_host_fields_is_400(server):
    """RFC 9112 3.2: more than one Host field line -> 400."""
    c, resp = raw_request(server.port, request(server.port, [], extra=[("Host", "other")]))
    assert_rejection(c, resp, 400)


def test_whitespace_before_colon_is_400(server):
    """RFC 9112 5.1: whitespace between field name and colon -> 400."""
    req = request(server.port, []).replace(b"Upgrade: websocket", b"Upgrade : websocket")
    c, resp = raw_request(server.port, req)
    assert_rejection(c, resp, 400)


def test_two_keys_is_400(server):
    c, resp = raw_request(server.port, request(server.port, [], extra=[("Sec-WebSocket-Key", new_key())]))
    assert_rejection(c, resp, 400)
