"""Category 3: reserved bits. Any RSV bit without a negotiated extension fails with 1002, after
echoing what came before, and without answering what comes after."""
import pytest

from wsraw import (OP_BINARY, OP_CLOSE, OP_PING, OP_TEXT, build_frame, close_payload)


@pytest.mark.parametrize("rsv", range(1, 8))
def test_rsv_on_text_is_1002(server, rsv):
    c = server.ws()
    c.send_frame(OP_TEXT, b"Hello, world!", rsv=rsv)
    c.expect_close(1002)


@pytest.mark.parametrize("rsv", [1, 2, 4])
def test_text_then_rsv_then_ping(server, rsv):
    """Autobahn 3.2/3.3: the first text is echoed; the bad frame fails the connection; the ping
    after it is not answered."""
    c = server.ws()
    c.send(build_frame(OP_TEXT, b"Hello, world!") + build_frame(OP_TEXT, b"Hello, world!", rsv=rsv)
           + build_frame(OP_PING, b""))
    c.expect_message(OP_TEXT, b"Hello, world!")
    c.expect_close(1002)


def test_text_then_rsv_then_ping_bytewise(server):
    c = server.ws()
    c.send(build_frame(OP_TEXT, b"Hello, world!") + build_frame(OP_TEXT, b"Hello, world!", rsv=3)
           + build_frame(OP_PING, b""), chop=1)
    c.expect_message(OP_TEXT, b"Hello, world!")
    c.expect_close(1002)


def test_rsv_on_binary_is_1002(server):
    c = server.ws()
    c.send_frame(OP_BINARY, bytes(range(256)), rsv=5)
    c.expect_close(1002)


def test_rsv_on_ping_is_1002(server):
    c = server.ws()
    c.send_frame(OP_PING, b"Hello, world!", rsv=6)
    c.expect_close(1002)


def test_rsv_on_close_is_1002(server):
    c = server.ws()
    c.send_frame(OP_CLOSE, close_payload(1000), rsv=7)
    c.expect_close(1002)


def test_rsv1_without_deflate_negotiated_is_1002(server):
    """RSV1 means 'compressed' only after permessage-deflate was agreed."""
    c = server.ws()
    c.send_frame(OP_TEXT, b"\xf2\x48\xcd\xc9\xc9\x07\x00", rsv=4)
    c.expect_close(1002)
