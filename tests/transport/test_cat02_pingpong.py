"""Category 2: ping and pong."""
import time

import pytest

from wsraw import OP_BINARY, OP_PING, OP_PONG, OP_TEXT, build_frame, make_binary


@pytest.mark.parametrize("n", [0, 1, 10, 124, 125])
def test_ping_payload_echoed_in_pong(server, n):
    c = server.ws()
    payload = b"P" * n
    c.send_frame(OP_PING, payload)
    c.expect_frame(OP_PONG, payload)
    c.close_handshake(1000)


def test_ping_with_binary_payload(server):
    c = server.ws()
    payload = bytes([0x00, 0xFF, 0xFE, 0xFD, 0xFC, 0xFB, 0x00, 0xFF])
    c.send_frame(OP_PING, payload)
    c.expect_frame(OP_PONG, payload)
    payload = bytes(range(125))[::-1]
    c.send_frame(OP_PING, payload)
    c.expect_frame(OP_PONG, payload)


def test_ping_125_bytes_sent_bytewise(server):
    c = server.ws()
    payload = make_binary(125, seed=2)
    c.send(build_frame(OP_PING, payload), chop=1)
    c.expect_frame(OP_PONG, payload)


@pytest.mark.parametrize("n", [126, 200, 65535])
def test_ping_too_long_is_1002(server, n):
    c = server.ws()
    c.echo(OP_TEXT, "before")
    c.send_frame(OP_PING, b"x" * n)
    c.expect_close(1002)


def test_ping_too_long_header_only_is_1002(server):
    """The 16-bit length marker alone already breaks the control-frame rule."""
    c = server.ws()
    c.send(bytes([0x89, 0x80 | 126]) + (126).to_bytes(2, "big"))
    c.expect_close(1002)


def test_pong_too_long_is_1002(server):
    c = server.ws()
    c.send_frame(OP_PONG, b"x" * 126)
    c.expect_close(1002)


@pytest.mark.parametrize("payload", [b"", b"unsolicited", b"u" * 125])
def test_unsolicited_pong_ignored(server, payload):
    c = server.ws()
    c.send_frame(OP_PONG, payload)
    c.send_frame(OP_TEXT, b"after pong")
    # the very next frame must be the echo: no answer to the pong
    c.expect_message(OP_TEXT, b"after pong")


def test_unsolicited_pong_then_ping(server):
    c = server.ws()
    c.send_frame(OP_PONG, b"unsolicited")
    c.send_frame(OP_PING, b"solicited")
    c.expect_frame(OP_PONG, b"solicited")


def test_ten_pings_ten_pongs_in_order(server):
    c = server.ws()
    payloads = [f"payload-{i}".encode() for i in range(10)]
    c.send(b"".join(build_frame(OP_PING, p) for p in payloads))
    for p in payloads:
        c.expect_frame(OP_PONG, p)


def test_ten_pings_bytewise(server):
    c = server.ws()
    payloads = [f"payload-{i}".encode() * (i + 1) for i in range(10)]
    c.send(b"".join(build_frame(OP_PING, p) for p in payloads), chop=1)
    for p in payloads:
        c.expect_frame(OP_PONG, p)


def test_ping_between_messages(server):
    c = server.ws()
    c.send(build_frame(OP_TEXT, b"a") + build_frame(OP_PING, b"p") + build_frame(OP_BINARY, b"b"))
    c.expect_message(OP_TEXT, b"a")
    c.expect_frame(OP_PONG, b"p")
    c.expect_message(OP_BINARY, b"b")


def test_ping_answered_promptly(server):
    c = server.ws()
    start = time.monotonic()
    for i in range(50):
        c.send_frame(OP_PING, str(i).encode())
        c.expect_frame(OP_PONG, str(i).encode())
    per_ping = (time.monotonic() - start) / 50
    assert per_ping < 0.1, f"ping round trip {per_ping * 1000:.1f} ms"


def test_ping_after_close_not_answered(server):
    c = server.ws()
    c.send_close(1000)
    c.send_frame(OP_PING, b"late")
    c.expect_close(1000)
