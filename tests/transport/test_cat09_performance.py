"""Category 9: large messages, single-frame, fragmented and chopped, and round trips. The
durations are printed in the summary, as the Autobahn suite records them."""
import time

import pytest

from wsraw import (OP_BINARY, OP_TEXT, build_frame, fragment_frames, make_binary, make_text,
                   record_timing)

KiB = 1024
MiB = 1024 * 1024


def _data(opcode, n, seed=0):
    return make_text(n, seed) if opcode == OP_TEXT else make_binary(n, seed)


@pytest.mark.parametrize("size", [64 * KiB, 256 * KiB, 1 * MiB, 4 * MiB, 16 * MiB],
                         ids=["64K", "256K", "1M", "4M", "16M"])
@pytest.mark.parametrize("opcode", [OP_TEXT, OP_BINARY], ids=["text", "binary"])
def test_9_1_2_single_frame(server, opcode, size):
    c = server.ws()
    data = _data(opcode, size)
    frame = build_frame(opcode, data)
    start = time.monotonic()
    c.send(frame)
    c.expect_message(opcode, data, timeout=60)
    record_timing(f"9.{1 if opcode == OP_TEXT else 2} {size // KiB} KiB single frame", time.monotonic() - start)
    c.close_handshake(1000)


@pytest.mark.parametrize("frame_size", [64, 256, 1 * KiB, 4 * KiB, 16 * KiB, 64 * KiB, 256 * KiB, 1 * MiB, 4 * MiB],
                         ids=["64", "256", "1K", "4K", "16K", "64K", "256K", "1M", "4M"])
@pytest.mark.parametrize("opcode", [OP_TEXT, OP_BINARY], ids=["text", "binary"])
def test_9_3_4_fragmented_4mib(server, opcode, frame_size):
    c = server.ws()
    data = _data(opcode, 4 * MiB, seed=frame_size % 7)
    wire = fragment_frames(opcode, data, frame_size)
    start = time.monotonic()
    c.send(wire)
    c.expect_message(opcode, data, timeout=60)
    record_timing(f"9.{3 if opcode == OP_TEXT else 4} 4 MiB in {frame_size} B frames", time.monotonic() - start)


@pytest.mark.parametrize("chop", [64, 128, 256, 512, 1024, 2048, 4096])
@pytest.mark.parametrize("opcode", [OP_TEXT, OP_BINARY], ids=["text", "binary"])
def test_9_5_6_chopped_1mib(server, opcode, chop):
    c = server.ws()
    data = _data(opcode, 1 * MiB, seed=chop % 5)
    start = time.monotonic()
    c.send(build_frame(opcode, data), chop=chop)
    c.expect_message(opcode, data, timeout=60)
    record_timing(f"9.{5 if opcode == OP_TEXT else 6} 1 MiB in {chop} B chops", time.monotonic() - start)


@pytest.mark.parametrize("size", [0, 16, 64, 256, 1024, 4096])
@pytest.mark.parametrize("opcode", [OP_TEXT, OP_BINARY], ids=["text", "binary"])
def test_9_7_8_round_trips(server, opcode, size):
    c = server.ws()
    data = _data(opcode, size, seed=3)
    frame = build_frame(opcode, data)
    start = time.monotonic()
    for _ in range(1000):
        c.send(frame)
        c.expect_message(opcode, data)
    elapsed = time.monotonic() - start
    record_timing(f"9.{7 if opcode == OP_TEXT else 8} 1000 round trips of {size} B", elapsed)
