"""Message size limits: 1009 as soon as a header or the reassembled / inflated size shows the
limit is passed, and bounded memory for a deflate bomb."""
import struct
import time
import zlib

import pytest

from wsraw import (OP_BINARY, OP_CONT, OP_TEXT, RSV1, DeflateClient, build_frame, make_binary,
                   make_text)


def test_header_claiming_2_pow_62_is_1009_at_once(server):
    c = server.ws()
    c.echo(OP_BINARY, b"before")
    head = bytes([0x82, 0x80 | 127]) + struct.pack("!Q", 1 << 62) + b"\x01\x02\x03\x04"
    c.send(head)
    c.expect_close(1009, timeout=3)


def test_text_header_claiming_2_pow_62_is_1009(server):
    c = server.ws()
    c.send(bytes([0x81, 0x80 | 127]) + struct.pack("!Q", 1 << 62) + b"\x01\x02\x03\x04" + b"\x00" * 10)
    c.expect_close(1009, timeout=3)


def test_header_just_above_default_limit_is_1009(server):
    """The default limit is 16 MiB: a frame header declaring 16 MiB + 1 is refused at once."""
    c = server.ws()
    c.send(build_frame(OP_BINARY, b"", declared_length=(16 << 20) + 1))
    c.expect_close(1009, timeout=3)


def test_64bit_length_msb_set_is_1002(server):
    c = server.ws()
    c.send(bytes([0x82, 0x80 | 127]) + struct.pack("!Q", 0x8000000000000000) + b"\x00\x00\x00\x00")
    c.expect_close(1002)


@pytest.fixture
def small(make_server):
    return make_server("--max-message-size", "1000")


@pytest.mark.parametrize("opcode", [OP_TEXT, OP_BINARY], ids=["text", "binary"])
def test_max_size_exact_is_echoed(small, opcode):
    c = small.ws()
    data = make_text(1000) if opcode == OP_TEXT else make_binary(1000)
    c.echo(opcode, data)
    c.send(build_frame(opcode, data[:400], fin=False) + build_frame(OP_CONT, data[400:]))
    c.expect_message(opcode, data)


@pytest.mark.parametrize("opcode", [OP_TEXT, OP_BINARY], ids=["text", "binary"])
def test_max_size_plus_one_is_1009(small, opcode):
    c = small.ws()
    c.echo(opcode, b"x" * 10)
    c.send_frame(opcode, b"y" * 1001)
    c.expect_close(1009)


def test_max_size_plus_one_header_only_is_1009(small):
    """The header alone tells that the message is too big."""
    c = small.ws()
    c.send(build_frame(OP_BINARY, b"", declared_length=1001))
    c.expect_close(1009, timeout=3)


@pytest.mark.parametrize("split", [1, 500, 1000])
def test_max_size_plus_one_fragmented_is_1009(small, split):
    c = small.ws()
    data = b"z" * 1001
    c.send(build_frame(OP_TEXT, data[:split], fin=False) + build_frame(OP_CONT, data[split:]))
    c.expect_close(1009)


def test_max_size_fragmented_not_final_is_1009(small):
    """The limit counts the fragments received so far: no need to wait for FIN."""
    c = small.ws()
    c.send(build_frame(OP_BINARY, b"a" * 600, fin=False) + build_frame(OP_CONT, b"b" * 401, fin=False))
    c.expect_close(1009, timeout=3)


def test_max_size_many_small_fragments_is_1009(small):
    c = small.ws()
    frames = [build_frame(OP_BINARY if i == 0 else OP_CONT, b"q" * 10, fin=False) for i in range(101)]
    c.send(b"".join(frames))
    c.expect_close(1009, timeout=3)


def test_max_size_applies_after_inflation(make_server):
    srv = make_server("--max-message-size", "1000")
    c = srv.client()
    resp = c.handshake("/echo", extensions="permessage-deflate")
    d = DeflateClient(c, resp.header("Sec-WebSocket-Extensions"))
    d.send_compressed(OP_TEXT, b"a" * 1000)
    d.expect(OP_TEXT, b"a" * 1000)
    d.send_compressed(OP_TEXT, b"a" * 1001)  # ~10 bytes on the wire
    c.expect_close(1009)


def test_deflate_bomb_is_1009_with_bounded_memory(make_server):
    """16 MiB of zeros compress to ~16 KB. With a 1 MiB limit the server stops inflating at the
    limit: Close 1009, and its resident memory does not grow by anything like 16 MiB."""
    srv = make_server("--max-message-size", "1048576")
    c = srv.client()
    resp = c.handshake("/echo", extensions="permessage-deflate")
    d = DeflateClient(c, resp.header("Sec-WebSocket-Extensions"))
    # warm up the connection's buffers so that the baseline includes them
    d.send_compressed(OP_BINARY, bytes(1000))
    d.expect(OP_BINARY, bytes(1000))
    time.sleep(0.1)
    before = srv.rss_kib()
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    bomb = comp.compress(bytes(16 << 20)) + comp.flush(zlib.Z_SYNC_FLUSH)
    bomb = bomb[:-4]
    assert len(bomb) < 20000, len(bomb)
    c.send(build_frame(OP_BINARY, bomb, rsv=RSV1))
    c.expect_close(1009, timeout=5)
    after = srv.rss_kib()
    growth_mib = (after - before) / 1024
    assert growth_mib < 12, f"server RSS grew by {growth_mib:.1f} MiB ({before} -> {after} KiB) on a bomb"


def test_deflate_bomb_fragmented(make_server):
    srv = make_server("--max-message-size", "1048576")
    c = srv.client()
    resp = c.handshake("/echo", extensions="permessage-deflate")
    assert resp.header("Sec-WebSocket-Extensions") == "permessage-deflate"
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    bomb = (comp.compress(bytes(16 << 20)) + comp.flush(zlib.Z_SYNC_FLUSH))[:-4]
    frames = []
    step = 1000
    for i in range(0, len(bomb), step):
        frames.append(build_frame(OP_BINARY if i == 0 else OP_CONT, bomb[i:i + step],
                                  fin=i + step >= len(bomb), rsv=RSV1 if i == 0 else 0))
    c.send(b"".join(frames))
    c.expect_close(1009, timeout=5)


def test_limit_breach_does_not_disturb_other_connections(small):
    good = small.ws()
    bad = small.ws()
    good.echo(OP_TEXT, "a")
    bad.send_frame(OP_BINARY, b"x" * 5000)
    bad.expect_close(1009)
    good.echo(OP_TEXT, "b" * 1000)
    good.echo(OP_BINARY, b"c")
    good.close_handshake(1000)
