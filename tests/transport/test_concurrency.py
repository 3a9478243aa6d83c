"""Connections are independent: interleaved traffic, and a protocol error on one leaves the
others untouched."""
import threading

import pytest

from wsraw import (OP_BINARY, OP_CONT, OP_PING, OP_PONG, OP_TEXT, build_frame, make_binary,
                   make_text)


def test_interleaved_fragmented_messages(server):
    a = server.ws()
    b = server.ws()
    a.send(build_frame(OP_TEXT, b"a1", fin=False))
    b.send(build_frame(OP_BINARY, b"b1", fin=False))
    a.send(build_frame(OP_CONT, b"a2", fin=False))
    b.send(build_frame(OP_CONT, b"b2"))
    b.expect_message(OP_BINARY, b"b1b2")
    a.send(build_frame(OP_CONT, b"a3"))
    a.expect_message(OP_TEXT, b"a1a2a3")


@pytest.mark.parametrize("bad_frame,code", [
    (build_frame(5, b""), 1002),
    (build_frame(OP_TEXT, b"\xff"), 1007),
    (build_frame(OP_TEXT, b"x", rsv=2), 1002),
    (build_frame(OP_BINARY, b"unmasked", mask=False), 1002),
    (build_frame(OP_PING, b"p" * 126), 1002),
], ids=["opcode", "utf8", "rsv", "unmasked", "bigping"])
def test_error_on_one_does_not_affect_other(server, bad_frame, code):
    good = server.ws()
    bad = server.ws()
    # the good one is in the middle of a fragmented message when the other fails
    good.send(build_frame(OP_TEXT, b"part1-", fin=False))
    bad.send(bad_frame)
    bad.expect_close(code)
    good.send(build_frame(OP_PING, b"still there?"))
    good.expect_frame(OP_PONG, b"still there?")
    good.send(build_frame(OP_CONT, b"part2"))
    good.expect_message(OP_TEXT, b"part1-part2")
    good.echo(OP_BINARY, make_binary(70000))
    good.close_handshake(1000)


def test_many_connections(server):
    clients = [server.ws() for _ in range(50)]
    for i, c in enumerate(clients):
        c.send_frame(OP_TEXT, f"hello from {i}".encode())
    for i, c in reversed(list(enumerate(clients))):
        c.expect_message(OP_TEXT, f"hello from {i}".encode())
    for c in clients[::2]:
        c.close_handshake(1000)
    for i, c in enumerate(clients[1::2]):
        c.echo(OP_BINARY, bytes([i]) * 100)


def test_parallel_large_echoes(server):
    """Four clients in threads, each echoing 1 MiB messages at the same time."""
    errors = []

    def run(seed):
        try:
            c = server.ws()
            for k in range(3):
                data = make_text(1 << 20, seed=seed + k)
                c.send(build_frame(OP_TEXT, data), chop=65536)
                c.expect_message(OP_TEXT, data, timeout=20)
            c.close_handshake(1000)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(f"client {seed}: {e!r}")

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(120)
        assert not th.is_alive(), "a client thread hung"
    assert not errors, errors


def test_abrupt_disconnects_do_not_hurt(server):
    """Clients that vanish mid-frame, mid-handshake or mid-message."""
    import socket as _s
    from wsraw import RawClient
    for cut in (1, 2, 5, 20):
        c = server.ws()
        c.send(build_frame(OP_BINARY, b"x" * 100)[:cut])
        c.sock.setsockopt(_s.SOL_SOCKET, _s.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        c.close()  # RST
    c = RawClient(server.port)
    c.send(b"GET /echo HTTP/1.1\r\nHo")
    c.close()
    c = server.ws()
    c.send(build_frame(OP_TEXT, b"abc", fin=False))
    c.close()
    survivor = server.ws()
    survivor.echo(OP_TEXT, make_text(1000))
