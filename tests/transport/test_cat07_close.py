"""Category 7: the closing handshake and close codes."""
import struct

import pytest

from wsraw import (OP_BINARY, OP_CLOSE, OP_CONT, OP_PING, OP_TEXT, build_frame, close_payload,
                   make_text)


def test_text_then_close(server):
    c = server.ws()
    c.echo(OP_TEXT, "Hello World!")
    c.send_close(1000)
    c.expect_close(1000)


def test_close_then_close(server):
    """Autobahn 7.1.2: a second close after the first gets nothing more."""
    c = server.ws()
    c.send(build_frame(OP_CLOSE, close_payload(1000)) + build_frame(OP_CLOSE, close_payload(1000)))
    c.expect_close(1000)


def test_close_then_ping(server):
    c = server.ws()
    c.send(build_frame(OP_CLOSE, close_payload(1000)) + build_frame(OP_PING, b"Hello World!"))
    c.expect_close(1000)


def test_close_then_text(server):
    c = server.ws()
    c.send(build_frame(OP_CLOSE, close_payload(1000)) + build_frame(OP_TEXT, b"Hello World!"))
    c.expect_close(1000)


def test_fragment_close_fragment(server):
    """Autobahn 7.1.5: a close between fragments closes; the rest is ignored."""
    c = server.ws()
    c.send(build_frame(OP_TEXT, b"fragment1", fin=False) + build_frame(OP_CLOSE, close_payload(1000))
           + build_frame(OP_CONT, b"fragment2"))
    c.expect_close(1000)


def test_large_message_then_close(server):
    """Autobahn 7.1.6: a 256 KiB text, then close, then ping: echo, close, nothing else."""
    c = server.ws()
    data = make_text(256 * 1024)
    c.send(build_frame(OP_TEXT, data) + build_frame(OP_CLOSE, close_payload(1000))
           + build_frame(OP_PING, b"Hello World!"))
    c.expect_message(OP_TEXT, data, timeout=10)
    c.expect_close(1000)


def test_close_empty_payload(server):
    """Autobahn 7.3.1: a close without payload is answered with a close without payload."""
    c = server.ws()
    c.send_close(None)
    c.expect_close(None)


def test_close_one_byte_payload_is_1002(server):
    c = server.ws()
    c.send_frame(OP_CLOSE, b"\x03")
    c.expect_close(1002)


@pytest.mark.parametrize("code", [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999])
def test_valid_close_code_echoed(server, code):
    c = server.ws()
    c.send_close(code)
    c.expect_close(code)


@pytest.mark.parametrize("code", [1000, 3000, 4999])
def test_valid_close_code_with_reason(server, code):
    c = server.ws()
    c.send_close(code, "Hello World! κόσμε")
    c.expect_close(code)


@pytest.mark.parametrize("code", [0, 999, 1004, 1005, 1006, 1012, 1013, 1014, 1015, 1016, 1100, 2000, 2999,
                                  5000, 65535])
def test_invalid_close_code_is_1002(server, code):
    c = server.ws()
    c.send_close(code)
    c.expect_close(1002)


def test_close_payload_125_bytes(server):
    c = server.ws()
    c.send_frame(OP_CLOSE, close_payload(1000, "*" * 123))
    c.expect_close(1000)


def test_close_payload_126_bytes_is_1002(server):
    c = server.ws()
    c.send_frame(OP_CLOSE, close_payload(1000, "*" * 124))
    c.expect_close(1002)


@pytest.mark.parametrize("reason", [b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited",
                                    b"\xff", b"\xc0\xaf", b"abc\xe2\x82"])
def test_close_reason_invalid_utf8_is_1007(server, reason):
    c = server.ws()
    c.send_frame(OP_CLOSE, struct.pack("!H", 1000) + reason)
    c.expect_close(1007)


def test_close_reason_valid_utf8(server):
    c = server.ws()
    c.send_frame(OP_CLOSE, struct.pack("!H", 1000) + "κόσμε 😀".encode())
    c.expect_close(1000)


def test_close_sent_bytewise(server):
    c = server.ws()
    c.send(build_frame(OP_CLOSE, close_payload(3001, "bye")), chop=1)
    c.expect_close(3001)


def test_frames_after_server_close_are_ignored(server):
    """After the server sent its Close (here: for a protocol error), anything the client still
    sends is neither echoed nor answered; the server only ends the connection."""
    c = server.ws()
    c.send_frame(5, b"")
    f = c.recv_frame()
    assert f.opcode == OP_CLOSE and f.close_code == 1002, f
    try:
        c.send(build_frame(OP_TEXT, b"late text") + build_frame(OP_PING, b"late ping")
               + build_frame(OP_BINARY, b"late"))
    except (BrokenPipeError, ConnectionResetError):
        pass
    c.expect_eof(2.0, what="after its Close")


def test_client_close_after_server_close(server):
    c = server.ws()
    c.send_frame(OP_CONT, b"stray")
    f = c.recv_frame()
    assert f.opcode == OP_CLOSE and f.close_code == 1002, f
    try:
        c.send_close(1002)
    except (BrokenPipeError, ConnectionResetError):
        pass
    c.expect_eof(2.0, what="after the closing handshake")
