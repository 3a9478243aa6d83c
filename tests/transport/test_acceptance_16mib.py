"""Acceptance: a 16 MiB text message echoes intact (a) as one frame, (b) fragmented into
64-byte frames, (c) written by the client one byte per send() call."""
import os
import subprocess
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


def _byte_writer():
    path = os.environ.get("KREUZ_BYTE_WRITER") or os.path.join(
        os.path.dirname(os.environ.get("KREUZ_BIN", "/work/main/build/kreuz")), "byte_writer")
    assert os.access(path, os.X_OK), f"byte_writer not built at {path}"
    return path


def test_16mib_one_byte_per_write(server, tmp_path):
    """Every byte of the frame goes out in its own write() call, made by the small C++ tool
    tests/tools/byte_writer on this test's socket (Python's per-call overhead would take
    over a minute). Nagle's algorithm stays on, as an ordinary client has it, so the kernel
    may coalesce segments and the server sees reads of every size."""
    c = server.client(nodelay=False)
    c.handshake("/echo")
    data = _text()
    wire_file = tmp_path / "frame.bin"
    wire_file.write_bytes(build_frame(OP_TEXT, data))
    fd = c.sock.fileno()
    start = time.monotonic()
    subprocess.run([_byte_writer(), str(fd), str(wire_file)], pass_fds=[fd], check=True, timeout=240)
    sent_at = time.monotonic()
    c.expect_message(OP_TEXT, data, timeout=60)
    end = time.monotonic()
    record_timing("acceptance (c) 16 MiB text, 1 byte per write(): sending", sent_at - start)
    record_timing("acceptance (c) 16 MiB text, 1 byte per write(): total", end - start)
    c.close_handshake(1000)
