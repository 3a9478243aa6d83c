"""Category 5: fragmentation."""
import socket

import pytest

from wsraw import (OP_BINARY, OP_CONT, OP_PING, OP_PONG, OP_TEXT, build_frame, fragment_frames,
                   make_binary, make_text)


@pytest.mark.parametrize("opcode", [OP_TEXT, OP_BINARY], ids=["text", "binary"])
def test_two_fragments(server, opcode):
    c = server.ws()
    c.send(build_frame(opcode, b"fragment1", fin=False) + build_frame(OP_CONT, b"fragment2"))
    c.expect_message(opcode, b"fragment1fragment2")


@pytest.mark.parametrize("size", [1, 2, 3, 7, 64, 1000])
@pytest.mark.parametrize("opcode", [OP_TEXT, OP_BINARY], ids=["text", "binary"])
def test_many_fragments(server, opcode, size):
    c = server.ws()
    data = make_text(5000) if opcode == OP_TEXT else make_binary(5000)
    c.send(fragment_frames(opcode, data, size))
    c.expect_message(opcode, data)


def test_fragments_sent_bytewise(server):
    c = server.ws()
    data = make_text(700)
    c.send(fragment_frames(OP_TEXT, data, 100), chop=1)
    c.expect_message(OP_TEXT, data)


def test_empty_fragments(server):
    """Autobahn 5.x/6.1.2: empty first, middle and last fragments."""
    c = server.ws()
    c.send(build_frame(OP_TEXT, b"", fin=False) + build_frame(OP_CONT, b"", fin=False)
           + build_frame(OP_CONT, b""))
    c.expect_message(OP_TEXT, b"")
    c.send(build_frame(OP_TEXT, b"", fin=False) + build_frame(OP_CONT, b"middle", fin=False)
           + build_frame(OP_CONT, b""))
    c.expect_message(OP_TEXT, b"middle")
    c.send(build_frame(OP_BINARY, b"a", fin=False) + build_frame(OP_CONT, b"", fin=False)
           + build_frame(OP_CONT, b"", fin=False) + build_frame(OP_CONT, b"b"))
    c.expect_message(OP_BINARY, b"ab")


def _assert_nothing_arrives(c, wait=0.3):
    try:
        f = c.recv_frame(timeout=wait)
    except socket.timeout:
        return
    raise AssertionError(f"server sent {f} before the message was complete")


@pytest.mark.parametrize("chop", [None, 1])
def test_ping_between_fragments_answered_at_once(server, chop):
    c = server.ws()
    c.send(build_frame(OP_TEXT, b"fragment1", fin=False), chop=chop)
    c.send(build_frame(OP_PING, b"ping payload"), chop=chop)
    # the pong comes now, while the message is still incomplete
    c.expect_frame(OP_PONG, b"ping payload")
    _assert_nothing_arrives(c)
    c.send(build_frame(OP_CONT, b"fragment2", fin=False), chop=chop)
    c.send(build_frame(OP_PING, b"second"), chop=chop)
    c.expect_frame(OP_PONG, b"second")
    c.send(build_frame(OP_CONT, b"fragment3"), chop=chop)
    c.expect_message(OP_TEXT, b"fragment1fragment2fragment3")


def test_pong_between_fragments_ignored(server):
    c = server.ws()
    c.send(build_frame(OP_BINARY, b"f1", fin=False) + build_frame(OP_PONG, b"unsolicited")
           + build_frame(OP_CONT, b"f2"))
    c.expect_message(OP_BINARY, b"f1f2")


def test_many_fragments_each_with_ping(server):
    """Autobahn 5.19/5.20 style: fragments interleaved with pings, all in one write."""
    c = server.ws()
    parts = [f"frag{i}".encode() for i in range(20)]
    out = []
    for i, p in enumerate(parts):
        out.append(build_frame(OP_TEXT if i == 0 else OP_CONT, p, fin=(i == len(parts) - 1)))
        if i < len(parts) - 1:
            out.append(build_frame(OP_PING, f"ping{i}".encode()))
    c.send(b"".join(out))
    for i in range(len(parts) - 1):
        c.expect_frame(OP_PONG, f"ping{i}".encode())
    c.expect_message(OP_TEXT, b"".join(parts))


def test_fragmented_ping_is_1002(server):
    c = server.ws()
    c.send(build_frame(OP_PING, b"fragment1", fin=False) + build_frame(OP_CONT, b"fragment2"))
    c.expect_close(1002)


def test_fragmented_pong_is_1002(server):
    c = server.ws()
    c.send(build_frame(OP_PONG, b"fragment1", fin=False) + build_frame(OP_CONT, b"fragment2"))
    c.expect_close(1002)


def test_fragmented_close_is_1002(server):
    c = server.ws()
    c.send(build_frame(0x8, b"\x03\xe8", fin=False) + build_frame(OP_CONT, b"x"))
    c.expect_close(1002)


@pytest.mark.parametrize("fin", [True, False], ids=["fin", "nofin"])
def test_continuation_without_start_is_1002(server, fin):
    c = server.ws()
    c.send_frame(OP_CONT, b"non-continuation payload", fin=fin)
    c.expect_close(1002)


def test_continuation_after_complete_message_is_1002(server):
    c = server.ws()
    c.send(build_frame(OP_TEXT, b"complete") + build_frame(OP_CONT, b"stray"))
    c.expect_message(OP_TEXT, b"complete")
    c.expect_close(1002)


def test_continuation_then_text_is_1002(server):
    """Autobahn 5.9-5.14: a stray continuation followed by a valid message: fail at once."""
    c = server.ws()
    c.send(build_frame(OP_CONT, b"fragment1", fin=False) + build_frame(OP_TEXT, b"fragment2", fin=False)
           + build_frame(OP_CONT, b"fragment3"))
    c.expect_close(1002)


@pytest.mark.parametrize("second", [OP_TEXT, OP_BINARY], ids=["text", "binary"])
@pytest.mark.parametrize("second_fin", [True, False], ids=["fin", "nofin"])
def test_new_data_frame_while_fragmented_is_1002(server, second, second_fin):
    c = server.ws()
    c.send(build_frame(OP_TEXT, b"fragment1", fin=False) + build_frame(second, b"fragment2", fin=second_fin))
    c.expect_close(1002)


def test_fragmented_message_then_normal_ones(server):
    c = server.ws()
    for i in range(5):
        data = make_binary(1000 + i, seed=i)
        c.send(fragment_frames(OP_BINARY, data, 333))
        c.expect_message(OP_BINARY, data)
        c.echo(OP_TEXT, f"plain {i}")
