"""Category 12: permessage-deflate payloads (RFC 7692), with a raw client compressing with
Python's zlib. Compressed messages (RSV1 on the first frame only) of many sizes and contents,
fragmented ones, and uncompressed ones in the same session; the server compresses its messages
of 64 bytes or more."""
import json
import struct
import zlib

import pytest

from wsraw import (OP_BINARY, OP_CLOSE, OP_CONT, OP_PING, OP_PONG, OP_TEXT, RSV1, RSV2, RSV3,
                   DeflateClient, build_frame, make_binary, make_text)

SIZES = [0, 1, 16, 63, 64, 65, 128, 256, 1024, 4096, 16384, 65536, 131072, 1 << 20]


def connect(server, offer="permessage-deflate"):
    c = server.client()
    resp = c.handshake("/echo", extensions=offer)
    ext = resp.header("Sec-WebSocket-Extensions")
    assert ext is not None, f"permessage-deflate not accepted for offer {offer!r}"
    return c, DeflateClient(c, ext)


def content(kind, n, seed=0):
    if kind == "text":
        return make_text(n, seed)
    if kind == "random":
        return make_binary(n, seed)
    if kind == "zeros":
        return bytes(n)
    if kind == "json":
        items = []
        size = 0
        i = 0
        while size < n:
            s = json.dumps({"id": i, "topic": "com.example.topic", "args": [i * 7, "κόσμε"], "ok": True})
            items.append(s)
            size += len(s.encode()) + 1
            i += 1
        return ("\n".join(items)).encode()[:n].decode("utf-8", "ignore").encode().ljust(n, b" ")
    raise ValueError(kind)


def opcode_for(kind):
    return OP_BINARY if kind in ("random", "zeros") else OP_TEXT


@pytest.mark.parametrize("kind", ["text", "random", "zeros", "json"])
def test_12_sizes_and_contents(server, kind):
    """Autobahn 12.x: one session, messages of every size, compressed by us, echoed compressed
    (>= 64 bytes) or plain (< 64 bytes) by the server, with context takeover both ways."""
    c, d = connect(server)
    op = opcode_for(kind)
    for n in SIZES:
        for rep in range(2):
            data = content(kind, n, seed=n + rep)
            d.send_compressed(op, data)
            d.expect(op, data, timeout=20)
    c.close_handshake(1000)


def test_12_same_message_repeated_uses_context(server):
    """The second copy of a message compresses to a few bytes when our compressor keeps its
    window; the server must keep its inflater's window too."""
    c, d = connect(server)
    data = make_binary(4000, seed=9)
    first = d.send_compressed(OP_BINARY, data)
    d.expect(OP_BINARY, data)
    second = d.send_compressed(OP_BINARY, data)
    assert len(second) < len(first) // 10, "test setup: our compressor did not take over context"
    d.expect(OP_BINARY, data)


@pytest.mark.parametrize("fragment", [1, 7, 64, 1000, 4096])
def test_12_fragmented_compressed(server, fragment):
    c, d = connect(server)
    for n in (100, 5000, 70000):
        data = make_text(n, seed=fragment)
        d.send_compressed(OP_TEXT, data, fragment_size=fragment)
        d.expect(OP_TEXT, data, timeout=10)


def test_12_fragmented_compressed_chopped(server):
    c, d = connect(server)
    data = make_text(20000, seed=4)
    d.send_compressed(OP_TEXT, data, fragment_size=333, chop=[1, 2, 5, 100])
    d.expect(OP_TEXT, data)


def test_12_ping_between_compressed_fragments(server):
    c, d = connect(server)
    data = make_text(5000)
    body = d.compress(data)
    half = len(body) // 2
    c.send(build_frame(OP_TEXT, body[:half], fin=False, rsv=RSV1))
    c.send(build_frame(OP_PING, b"mid"))
    c.expect_frame(OP_PONG, b"mid")
    c.send(build_frame(OP_CONT, body[half:]))
    d.expect(OP_TEXT, data)


def test_12_uncompressed_messages_in_same_session(server):
    c, d = connect(server)
    for i, n in enumerate([10, 100, 1000, 64, 63, 100000]):
        data = make_text(n, seed=i)
        if i % 2:
            c.send(build_frame(OP_TEXT, data))  # RSV1 clear: not compressed
        else:
            d.send_compressed(OP_TEXT, data)
        d.expect(OP_TEXT, data)
        bdata = make_binary(n, seed=i)
        c.send(build_frame(OP_BINARY, bdata))
        d.expect(OP_BINARY, bdata)


def test_12_uncompressed_fragmented_in_session(server):
    c, d = connect(server)
    data = make_binary(3000)
    c.send(build_frame(OP_BINARY, data[:1000], fin=False) + build_frame(OP_CONT, data[1000:]))
    d.expect(OP_BINARY, data)


def test_12_threshold_63_plain_64_compressed(server):
    c, d = connect(server)
    for n in (62, 63):
        data = b"a" * n
        c.send(build_frame(OP_TEXT, data))
        d.expect(OP_TEXT, data, compressed=False)
    for n in (64, 65):
        data = b"a" * n
        c.send(build_frame(OP_TEXT, data))
        d.expect(OP_TEXT, data, compressed=True)


def test_12_empty_compressed_message_forms(server):
    """An empty message: the compressed form of nothing (one 0x00 byte), or RSV1 with an empty
    payload (RFC 7692 7.2.3.6)."""
    c, d = connect(server)
    d.send_compressed(OP_TEXT, b"")
    d.expect(OP_TEXT, b"", compressed=False)
    c.send(build_frame(OP_BINARY, b"", rsv=RSV1))
    d.expect(OP_BINARY, b"", compressed=False)
    d.send_compressed(OP_TEXT, b"after empties " * 10)
    d.expect(OP_TEXT, b"after empties " * 10)


def test_12_stored_block(server):
    """A message encoded as a DEFLATE stored block (BTYPE=00), legal for any sender."""
    c, d = connect(server)
    data = b"stored block payload"
    # a stored block, then the 3 header bits of the empty stored block that the receiver's
    # 00 00 ff ff completes (what a sync flush at a byte boundary produces)
    stored = bytes([0x00]) + struct.pack("<HH", len(data), len(data) ^ 0xFFFF) + data + b"\x00"
    c.send(build_frame(OP_TEXT, stored, rsv=RSV1))
    d.expect(OP_TEXT, data, compressed=False)
    d.send_compressed(OP_TEXT, b"after the stored block " * 5, reset=True)
    d.expect(OP_TEXT, b"after the stored block " * 5)


def test_12_final_block(server):
    """RFC 7692 7.2.3.3: a sender may end a message with a block that has BFINAL=1 (here with
    client_no_context_takeover agreed, so every message starts a new stream)."""
    c, d = connect(server, "permessage-deflate; client_no_context_takeover")
    for i in range(3):
        data = f"final block {i} ".encode() * 20
        comp = zlib.compressobj(6, zlib.DEFLATED, -15)
        c.send(build_frame(OP_TEXT, comp.compress(data) + comp.flush(zlib.Z_FINISH), rsv=RSV1))
        d.expect(OP_TEXT, data)


def test_12_rsv1_on_continuation_is_1002(server):
    c, d = connect(server)
    body = d.compress(b"hello hello hello")
    c.send(build_frame(OP_TEXT, body[:3], fin=False, rsv=RSV1) + build_frame(OP_CONT, body[3:], rsv=RSV1))
    c.expect_close(1002)


def test_12_rsv1_on_ping_is_1002(server):
    c, d = connect(server)
    c.send_frame(OP_PING, b"x", rsv=RSV1)
    c.expect_close(1002)


def test_12_rsv1_on_close_is_1002(server):
    c, d = connect(server)
    c.send_frame(OP_CLOSE, struct.pack("!H", 1000), rsv=RSV1)
    c.expect_close(1002)


@pytest.mark.parametrize("rsv", [RSV2, RSV3, RSV1 | RSV2])
def test_12_other_rsv_bits_still_1002(server, rsv):
    c, d = connect(server)
    c.send_frame(OP_TEXT, d.compress(b"hello"), rsv=rsv)
    c.expect_close(1002)


def test_12_compressed_invalid_utf8_is_1007(server):
    c, d = connect(server)
    d.send_compressed(OP_TEXT, "κόσμε".encode() + b"\xed\xa0\x80" + b"edited" * 20)
    c.expect_close(1007)


def test_12_compressed_invalid_utf8_fail_fast(server):
    """The first compressed fragment inflates to invalid UTF-8: 1007 without the rest."""
    c, d = connect(server)
    body = d.compress(b"abc\xf4\x90\x80\x80" + make_text(50000))
    c.send(build_frame(OP_TEXT, body[:len(body) // 2], fin=False, rsv=RSV1))
    c.expect_close(1007)


def test_12_corrupt_deflate_data_fails_connection(server):
    """Data that is not DEFLATE fails the connection (RFC 7692 section 8: _Fail the WebSocket
    Connection_). The code is not fixed by the RFC; 1007 (invalid payload) or 1002 are the
    sensible ones."""
    c, d = connect(server)
    c.send(build_frame(OP_BINARY, b"\xff\xff\xff\xff\xff\xff\xff\xff", rsv=RSV1))
    f = c.recv_frame()
    assert f.opcode == OP_CLOSE, f"corrupt deflate data: expected a Close, got {f}"
    assert f.close_code in (1002, 1007), f"corrupt deflate data: Close {f.close_code}"
    c.expect_eof(2.0)


def test_12_binary_random_large_fragmented_chopped(server):
    c, d = connect(server)
    data = make_binary(300000, seed=12)
    d.send_compressed(OP_BINARY, data, fragment_size=4096, chop=[1000, 1, 7])
    d.expect(OP_BINARY, data, timeout=10)


def test_12_many_small_messages_context(server):
    """Autobahn 12.1.x runs many messages per case; context takeover must stay in sync."""
    c, d = connect(server)
    msgs = [content("json", 50 + (i * 97) % 500, seed=i) for i in range(300)]
    for m in msgs:
        d.send_compressed(OP_TEXT, m)
        d.expect(OP_TEXT, m)


def test_12_many_messages_pipelined(server):
    c, d = connect(server)
    msgs = [make_text(20 + (i * 131) % 3000, seed=i) for i in range(100)]
    wire = b""
    for m in msgs:
        wire += build_frame(OP_TEXT, d.compress(m), rsv=RSV1)
    c.send(wire)
    for m in msgs:
        d.expect(OP_TEXT, m)


@pytest.mark.parametrize("kind,size", [("text", 16 << 20), ("random", 4 << 20)], ids=["text-16M", "random-4M"])
def test_12_large_compressed_messages(server, kind, size):
    """The largest message the default limit allows, compressed, and a big incompressible one
    (whose compressed form is larger than the message)."""
    c, d = connect(server)
    data = content(kind, size, seed=size)
    d.send_compressed(opcode_for(kind), data, fragment_size=1 << 20)
    d.expect(opcode_for(kind), data, timeout=60)
    c.close_handshake(1000)
