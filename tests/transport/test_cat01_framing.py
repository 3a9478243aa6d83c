"""Category 1: framing. Text and binary echoes of every length encoding, sent whole, byte by
byte and in odd chunks; masking and length-encoding rules."""
import struct

import pytest

from wsraw import (OP_BINARY, OP_CLOSE, OP_TEXT, build_frame, make_binary, make_text)

LENGTHS = [0, 125, 126, 127, 128, 65535, 65536]
CHOPS = {"whole": None, "bytewise": 1, "odd": [1, 3, 7, 997, 2, 5000]}


@pytest.mark.parametrize("chop", CHOPS.keys())
@pytest.mark.parametrize("n", LENGTHS)
@pytest.mark.parametrize("opcode", [OP_TEXT, OP_BINARY], ids=["text", "binary"])
def test_echo_lengths(server, opcode, n, chop):
    c = server.ws()
    payload = make_text(n) if opcode == OP_TEXT else make_binary(n, seed=n)
    c.send(build_frame(opcode, payload), chop=CHOPS[chop])
    m = c.expect_message(opcode, payload, timeout=10)
    # the server uses the minimal length encoding (checked by the parser) in one frame
    assert len(m.frames) >= 1
    c.close_handshake(1000)


def test_header_split_between_every_byte_for_all_encodings(server):
    """Headers of all three length encodings, each split at every possible point."""
    c = server.ws()
    for n in (5, 200, 70000):
        data = make_binary(n, seed=3)
        frame = build_frame(OP_BINARY, data)
        header_len = 2 + (2 if 125 < n <= 0xFFFF else 8 if n > 0xFFFF else 0) + 4
        for split in range(1, header_len + 1):
            c.send(frame[:split])
            c.send(frame[split:])
            c.expect_message(OP_BINARY, data)


def test_many_messages_in_one_write(server):
    c = server.ws()
    msgs = [(OP_TEXT if i % 2 else OP_BINARY, (make_text if i % 2 else make_binary)(i * 37 % 300))
            for i in range(100)]
    c.send(b"".join(build_frame(op, p) for op, p in msgs))
    for op, p in msgs:
        c.expect_message(op, p)


def test_zero_mask_key(server):
    c = server.ws()
    c.send(build_frame(OP_TEXT, b"zero mask", mask_key=b"\x00\x00\x00\x00"))
    c.expect_message(OP_TEXT, b"zero mask")


def test_mask_key_changes_per_frame(server):
    c = server.ws()
    data = bytes(range(256)) * 4
    for key in (b"\x01\x02\x03\x04", b"\xff\xff\xff\xff", b"\x80\x00\x00\x01", b"\xa5\x5a\x0f\xf0"):
        c.send(build_frame(OP_BINARY, data, mask_key=key), chop=[3, 5, 1001])
        c.expect_message(OP_BINARY, data)


@pytest.mark.parametrize("opcode", [OP_TEXT, OP_BINARY], ids=["text", "binary"])
def test_unmasked_client_frame_is_1002(server, opcode):
    c = server.ws()
    c.echo(OP_TEXT, "before")
    c.send(build_frame(opcode, b"unmasked", mask=False))
    c.expect_close(1002)


def test_unmasked_close_frame_is_1002(server):
    c = server.ws()
    c.send(build_frame(OP_CLOSE, struct.pack("!H", 1000), mask=False))
    c.expect_close(1002)


def test_unmasked_empty_frame_is_1002(server):
    c = server.ws()
    c.send(build_frame(OP_BINARY, b"", mask=False))
    c.expect_close(1002)


def test_64bit_length_with_msb_set_is_1002(server):
    c = server.ws()
    c.echo(OP_BINARY, b"before")
    head = bytes([0x82, 0x80 | 127]) + struct.pack("!Q", (1 << 63) | 5) + b"\x00\x00\x00\x00"
    c.send(head)
    c.expect_close(1002)


@pytest.mark.parametrize("n,mode", [(5, "16"), (5, "64"), (125, "16"), (300, "64"), (65535, "64")])
def test_non_minimal_length_encoding(server, n, mode):
    """RFC 6455 asks senders for the minimal encoding; a receiver may accept a longer one or
    fail the connection with 1002. Either way it must be decided right away, without a hang
    and without corrupting the stream."""
    c = server.ws()
    data = make_binary(n, seed=n)
    c.send(build_frame(OP_BINARY, data, length_mode=mode))
    f = c.recv_frame(timeout=5)
    if f.opcode == OP_CLOSE:
        assert f.close_code == 1002, f"non-minimal length: expected echo or Close 1002, got {f.close_code}"
        c.expect_eof(2.0)
    else:
        assert f.opcode == OP_BINARY and f.fin and f.payload == data, f
        c.echo(OP_TEXT, "after non-minimal")
