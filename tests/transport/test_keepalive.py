"""Keepalive pings, pong timeout and idle timeout."""
import socket
import time

from wsraw import OP_BINARY, OP_CLOSE, OP_PING, OP_PONG, OP_TEXT, build_frame, t

KEEPALIVE = ("--ping-interval-ms", "200", "--pong-timeout-ms", "300", "--close-timeout-ms", "1000")


def _next_frame(c, timeout):
    try:
        return c.recv_frame(timeout=timeout)
    except socket.timeout:
        return None


def test_idle_client_receives_ping(make_server):
    srv = make_server(*KEEPALIVE)
    c = srv.ws()
    start = time.monotonic()
    f = _next_frame(c, 1.0)
    assert f is not None, f"no keepalive ping within {t(1.0)}s"
    assert f.opcode == OP_PING, f"expected a keepalive Ping, got {f}"
    assert len(f.payload) <= 125
    assert time.monotonic() - start >= 0.1, "ping came before the interval"
    c.send_frame(OP_PONG, f.payload)
    c.echo(OP_TEXT, "alive")


def test_answering_client_stays_open(make_server):
    srv = make_server(*KEEPALIVE)
    c = srv.ws()
    pings = 0
    end = time.monotonic() + 1.6
    while time.monotonic() < end:
        f = _next_frame(c, max(0.01, (end - time.monotonic()) / t(1)))
        if f is None:
            continue
        assert f.opcode == OP_PING, f"unexpected {f}" + (f" code {f.close_code}" if f.opcode == OP_CLOSE else "")
        pings += 1
        c.send_frame(OP_PONG, f.payload)
    assert pings >= 2, f"only {pings} pings in 1.6 s with a 200 ms interval"
    c.echo(OP_TEXT, "still open after several intervals")
    c.close_handshake(1000)


def test_silent_client_closed_1001(make_server):
    srv = make_server(*KEEPALIVE)
    c = srv.ws()
    start = time.monotonic()
    saw_ping = False
    while True:
        f = _next_frame(c, 3.0)
        assert f is not None, f"no Close within {t(3.0)}s for a client that never answers pings"
        if f.opcode == OP_PING:
            saw_ping = True
            continue
        break
    elapsed = time.monotonic() - start
    assert saw_ping, "closed without a ping first"
    assert f.opcode == OP_CLOSE and f.close_code == 1001, f"expected Close 1001, got {f}"
    assert elapsed >= 0.4, f"closed after {elapsed:.2f}s, before interval + pong timeout (0.5 s)"
    assert elapsed < t(2.0), f"closed only after {elapsed:.2f}s"
    c.expect_eof(2.0, what="after Close 1001 for a dead peer")


def test_data_counts_as_liveness(make_server):
    """--pong-timeout-ms drops a peer that stays *silent* after a ping (kreuz --help); a peer
    that keeps sending messages is alive even if it never answers pings."""
    srv = make_server(*KEEPALIVE)
    c = srv.ws()
    end = time.monotonic() + 1.2
    while time.monotonic() < end:
        c.send_frame(OP_TEXT, b"chatty")
        while True:
            f = c.recv_frame(timeout=1.0)
            if f.opcode == OP_PING:
                continue  # never answered
            assert f.opcode == OP_TEXT and f.payload == b"chatty", f
            break
        time.sleep(0.05)


IDLE = ("--idle-timeout-ms", "600", "--ping-interval-ms", "200", "--pong-timeout-ms", "300",
        "--close-timeout-ms", "1000")


def _serve_pings_until_close(c, limit):
    """Answers pings; returns the Close frame and when it came."""
    start = time.monotonic()
    while True:
        f = _next_frame(c, limit)
        assert f is not None, f"no Close within {t(limit)}s"
        if f.opcode == OP_PING:
            c.send_frame(OP_PONG, f.payload)
            continue
        return f, time.monotonic() - start


def test_idle_timeout_closes_with_1001(make_server):
    srv = make_server(*IDLE)
    c = srv.ws()
    f, elapsed = _serve_pings_until_close(c, 3.0)
    assert f.opcode == OP_CLOSE and f.close_code == 1001, f"expected Close 1001, got {f}"
    assert elapsed >= 0.45, f"idle close after {elapsed:.2f}s, before the 600 ms idle timeout"
    assert elapsed < t(2.5), f"idle close only after {elapsed:.2f}s"
    c.send_close(1001)
    c.expect_eof(2.0)


def test_idle_timeout_not_reset_by_pings(make_server):
    srv = make_server(*IDLE)
    c = srv.ws()
    start = time.monotonic()
    while True:
        c.send_frame(OP_PING, b"mine")
        f = _next_frame(c, 0.15)
        if f is None:
            continue
        if f.opcode == OP_PONG:
            time.sleep(0.1)
            continue
        if f.opcode == OP_PING:
            c.send_frame(OP_PONG, f.payload)
            continue
        break
    elapsed = time.monotonic() - start
    assert f.opcode == OP_CLOSE and f.close_code == 1001, f"expected Close 1001, got {f}"
    assert elapsed < t(2.5), f"pings kept an idle connection open for {elapsed:.2f}s"


def test_idle_timeout_reset_by_messages(make_server):
    srv = make_server(*IDLE)
    c = srv.ws()
    end = time.monotonic() + 1.5
    while time.monotonic() < end:
        c.send(build_frame(OP_BINARY, b"busy"))
        while True:
            f = c.recv_frame(timeout=1.0)
            if f.opcode == OP_PING:
                c.send_frame(OP_PONG, f.payload)
                continue
            assert f.opcode == OP_BINARY and f.payload == b"busy", (
                f"a client sending a message every 200 ms got {f}" +
                (f" code {f.close_code}" if f.opcode == OP_CLOSE else ""))
            break
        time.sleep(0.2)
    # then silence: the idle close follows
    f, _ = _serve_pings_until_close(c, 3.0)
    assert f.opcode == OP_CLOSE and f.close_code == 1001, f
