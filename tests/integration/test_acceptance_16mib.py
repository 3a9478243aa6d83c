"""Acceptance: a 16 MiB text message echoes intact (a) as one frame, (b) fragmented into
64-byte frames, (c) written by the client one byte per send() call."""
import os
import time

from wsraw import OP_TEXT, build_frame, fragment_frames, make_text, record_timing

SIZE = 16 << 20


def _text():
    data = make_text(SIZE, seed=16)
    assert len(data) == SIZE
    return data


def test_16mib_single_frame(server):
    c = server.ws()
    data = _text()
    start = time.monotonic()
    c.send(build_frame(OP_TEXT, data))
    c.expect_message(OP_TEXT, data, timeout=60)
    record_timing("acceptance (a) 16 MiB text, one frame", time.monotonic() - start)
    c.close_handshake(1000)


def test_16mib_in_64_byte_frames(server):
    c = server.ws()
    data = _text()
    wire = fragment_frames(OP_TEXT, data, 64)
    assert len(wire) == SIZE + (SIZE // 64) * 6
    start = time.monotonic()
    c.send(wire)
    c.expect_message(OP_TEXT, data, timeout=60)
    record_timing("acceptance (b) 16 MiB text, 64-byte frames", time.monotonic() - start)
    c.close_handshake(1000)


def test_16mib_one_byte_per_write(server):
    """Every byte of the frame goes out in its own write() call (Nagle's algorithm on, as an
    ordinary client would have it, so the kernel may coalesce segments). os.write with
    prebuilt one-byte objects is the fastest per-byte loop Python has (~3.7 us a call here);
    the time is printed in the summary."""
    c = server.client(nodelay=False)
    c.handshake("/echo")
    data = _text()
    wire = build_frame(OP_TEXT, data)
    c.sock.settimeout(None)
    c.sock.setblocking(True)  # os.write blocks while the server catches up
    fd = c.sock.fileno()
    write = os.write
    one = [bytes([i]) for i in range(256)]
    start = time.monotonic()
    for b in wire:
        if write(fd, one[b]) != 1:
            raise AssertionError("short write")
    sent_at = time.monotonic()
    c.expect_message(OP_TEXT, data, timeout=60)
    end = time.monotonic()
    record_timing("acceptance (c) 16 MiB text, 1 byte per write(): sending", sent_at - start)
    record_timing("acceptance (c) 16 MiB text, 1 byte per write(): total", end - start)
    c.close_handshake(1000)
