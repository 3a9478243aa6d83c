"""Bounded, seeded fuzzing of the frame parser: random bytes and bit-flipped valid frame
sequences. Whatever arrives, the server answers only with echoes, pongs and a Close whose code
fits a protocol failure, ends the connection when the client is done, and never crashes (the
sanitizer build makes any memory error a crash)."""
import random
import socket
import time

import pytest

from wsraw import (OP_BINARY, OP_CLOSE, OP_CONT, OP_PING, OP_PONG, OP_TEXT, ConnectionEnded,
                   build_frame, close_payload, make_text, t)

ALLOWED_CLOSE = {None, 1000, 1002, 1007, 1009}
SEEDS = 8
CASES_PER_SEED = 25


def _valid_sequence(rng):
    out = []
    for _ in range(rng.randint(1, 6)):
        kind = rng.random()
        if kind < 0.4:
            out.append(build_frame(OP_TEXT, make_text(rng.choice([0, 5, 125, 126, 300, 70000]), rng.randint(0, 9))))
        elif kind < 0.6:
            out.append(build_frame(OP_BINARY, rng.randbytes(rng.choice([0, 1, 200, 1000]))))
        elif kind < 0.75:
            out.append(build_frame(OP_PING, rng.randbytes(rng.randint(0, 125))))
        elif kind < 0.9:
            n = rng.randint(2, 5)
            data = make_text(rng.randint(n, 500), rng.randint(0, 9))
            step = max(1, len(data) // n)
            for i in range(0, len(data), step):
                out.append(build_frame(OP_TEXT if i == 0 else OP_CONT, data[i:i + step], fin=i + step >= len(data)))
        else:
            out.append(build_frame(OP_CLOSE, close_payload(rng.choice([1000, 1001, 3000, 1005, 999]))))
    return b"".join(out)


def _mutate(rng, data):
    data = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        if not data:
            break
        i = rng.randrange(len(data))
        choice = rng.random()
        if choice < 0.6:
            data[i] ^= 1 << rng.randrange(8)
        elif choice < 0.8:
            data[i] = rng.randrange(256)
        else:
            del data[i:i + rng.randint(1, 8)]
    return bytes(data)


def _run_case(server, payload, rng):
    c = server.ws()
    chop = rng.choice([None, 1, 7, 100] if len(payload) < 5000 else [None, 7, 1000])
    try:
        c.send(payload, chop=chop)
        c.sock.shutdown(socket.SHUT_WR)  # we are done: the server must end the connection
    except (BrokenPipeError, ConnectionResetError):
        pass
    deadline = time.monotonic() + t(5)
    while True:
        if time.monotonic() > deadline:
            raise AssertionError(f"server kept the connection open after the client's FIN; sent "
                                 f"{payload[:60]!r}... ({len(payload)} bytes)")
        try:
            f = c.recv_frame(timeout=5)
        except ConnectionEnded:
            return
        except socket.timeout:
            continue
        assert f.opcode in (OP_TEXT, OP_BINARY, OP_PONG, OP_CLOSE, OP_CONT, OP_PING), f
        if f.opcode == OP_CLOSE:
            code = f.close_code
            assert code in ALLOWED_CLOSE or 3000 <= code <= 4999 or code == 1001, (
                f"unexpected Close {code} for {payload[:60]!r}")
            try:
                c.expect_eof(3.0, what="after its Close")
            except AssertionError as e:
                raise AssertionError(f"{e}; sent {payload[:60]!r}") from None
            return


@pytest.mark.parametrize("seed", range(SEEDS))
def test_fuzz_random_bytes(server, seed):
    rng = random.Random(1000 + seed)
    for _ in range(CASES_PER_SEED):
        n = rng.choice([1, 2, 3, 6, 10, 50, 200, 2000])
        _run_case(server, rng.randbytes(n), rng)
    c = server.ws()
    c.echo(OP_TEXT, "alive")


@pytest.mark.parametrize("seed", range(SEEDS))
def test_fuzz_mutated_frames(server, seed):
    rng = random.Random(2000 + seed)
    for _ in range(CASES_PER_SEED):
        _run_case(server, _mutate(rng, _valid_sequence(rng)), rng)
    c = server.ws()
    c.echo(OP_TEXT, "alive")


@pytest.mark.parametrize("seed", range(4))
def test_fuzz_mutated_handshakes(server, seed):
    """Bit-flipped upgrade requests: some valid answer (101 or 4xx) or a closed connection,
    never a hang past the client's FIN and never a crash."""
    rng = random.Random(3000 + seed)
    base = (f"GET /echo HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            f"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Extensions: permessage-deflate; "
            f"client_max_window_bits\r\n\r\n").encode()
    for _ in range(CASES_PER_SEED):
        from wsraw import RawClient
        c = RawClient(server.port)
        c.send(_mutate(rng, base))
        c.sock.shutdown(socket.SHUT_WR)
        deadline = time.monotonic() + t(5)
        while not c.eof:
            assert time.monotonic() < deadline, f"no answer/close for a mutated handshake {c.buf[:80]!r}"
            try:
                c._fill(1.0)
            except socket.timeout:
                pass
        if c.buf:
            assert c.buf.startswith(b"HTTP/1.1 "), bytes(c.buf[:100])
            status = int(bytes(c.buf[9:12]))
            assert status == 101 or 400 <= status < 500, bytes(c.buf[:100])
        c.close()
    c = server.ws()
    c.echo(OP_TEXT, "alive")
