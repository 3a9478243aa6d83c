"""Write-queue limits: a client that sends but never reads is disconnected (1008 or a plain
TCP close) while other clients keep being served, and the server's memory stays bounded."""
import errno
import socket
import threading
import time

from wsraw import (OP_BINARY, OP_CLOSE, OP_TEXT, ConnectionEnded, build_frame, make_binary, t)

KiB = 1024
MiB = 1024 * 1024


def _flood(hog, frame, good, limit_s, max_bytes):
    """Sends `frame` on the hog without reading until the server drops it, the time is up or
    max_bytes were sent; the good client echoes in between. Returns (bytes sent, dropped,
    worst echo time of the good client)."""
    hog.sock.setblocking(False)
    sent = 0
    dropped = False
    worst = 0.0
    pending = memoryview(b"")
    start = time.monotonic()
    last_echo = 0.0
    while time.monotonic() - start < limit_s and sent < max_bytes:
        if not pending:
            pending = memoryview(frame)
        try:
            n = hog.sock.send(pending)
            pending = pending[n:]
            sent += n
        except BlockingIOError:
            time.sleep(0.005)
        except (BrokenPipeError, ConnectionResetError):
            dropped = True
            break
        except OSError as e:
            if e.errno in (errno.EPIPE, errno.ECONNRESET):
                dropped = True
                break
            raise
        now = time.monotonic()
        if good is not None and now - last_echo > 0.05:
            last_echo = now
            s = time.monotonic()
            good.echo(OP_TEXT, f"good {now:.3f}", timeout=3)
            worst = max(worst, time.monotonic() - s)
    hog.sock.setblocking(True)
    return sent, dropped, worst


def _drain_until_end(hog, limit):
    """Reads what the server sent before it dropped the hog: echoes, then Close 1008 or EOF/RST.
    Returns (echoes, close code or None)."""
    echoes = 0
    deadline = time.monotonic() + t(limit)
    while time.monotonic() < deadline:
        try:
            f = hog.recv_frame(timeout=max(0.01, (deadline - time.monotonic()) / t(1)))
        except ConnectionEnded:
            return echoes, None
        except socket.timeout:
            break
        if f.opcode == OP_CLOSE:
            assert f.close_code == 1008, f"slow consumer closed with {f.close_code}, expected 1008"
            return echoes, 1008
        assert f.opcode == OP_BINARY, f
        echoes += 1
    raise AssertionError(f"the slow consumer was not disconnected: still open after reading "
                         f"{echoes} echoes for {t(limit)}s")


def test_slow_consumer_disconnected_others_served(make_server):
    srv = make_server("--write-high-water", "65536", "--slow-consumer-timeout-ms", "500")
    good = srv.ws()
    hog = srv.client(rcvbuf=4096)
    hog.handshake("/echo")
    frame = build_frame(OP_BINARY, make_binary(16 * KiB))
    sent, dropped, worst = _flood(hog, frame, good, limit_s=t(8), max_bytes=256 * MiB)
    rss_mib = srv.rss_kib() / 1024
    echoes, code = _drain_until_end(hog, 5)
    assert worst < t(1.0), f"the well-behaved client waited {worst:.2f}s for an echo during the flood"
    good.echo(OP_TEXT, "after the flood")
    good.close_handshake(1000)
    assert rss_mib < 200, f"server RSS {rss_mib:.0f} MiB with a slow consumer ({sent / MiB:.0f} MiB sent)"
    assert echoes * 16 * KiB < sent, "every message was echoed: was the hog ever slow?"


def test_write_queue_limit_closes_at_once(make_server):
    """Above --write-queue-limit the connection is closed at once, long before the slow-consumer
    timeout. (kreuz requires write_queue_limit >= write_high_water and >= max_message_size;
    with the high-water mark equal to the limit, reading never pauses before the limit.)"""
    srv = make_server("--max-message-size", "65536", "--write-high-water", "131072",
                      "--write-queue-limit", "131072", "--slow-consumer-timeout-ms", "60000")
    good = srv.ws()
    hog = srv.client(rcvbuf=4096)
    hog.handshake("/echo")
    frame = build_frame(OP_BINARY, make_binary(60 * KiB, seed=8))
    start = time.monotonic()
    sent, dropped, worst = _flood(hog, frame, good, limit_s=t(6), max_bytes=256 * MiB)
    echoes, code = _drain_until_end(hog, 5)
    elapsed = time.monotonic() - start
    assert elapsed < t(12), f"queue limit: the hog was dropped only after {elapsed:.1f}s"
    assert worst < t(1.0), f"the well-behaved client waited {worst:.2f}s for an echo during the flood"
    good.echo(OP_TEXT, "after the flood")


def test_max_size_message_echoed_when_queue_limit_equals_max_size(make_server):
    """kreuz accepts write_queue_limit == max_message_size; an echo of a message of exactly the
    maximum size (plus its frame header) to a client that reads must still go out."""
    srv = make_server("--max-message-size", "65536", "--write-high-water", "65536",
                      "--write-queue-limit", "65536")
    c = srv.ws()
    for n in (65535, 65536):
        data = make_binary(n, seed=n)
        c.send_frame(OP_BINARY, data)
        c.expect_message(OP_BINARY, data)
    c.close_handshake(1000)


def test_slow_reader_that_catches_up_is_kept(make_server):
    """A client above the high-water mark for less than the timeout is not dropped."""
    srv = make_server("--write-high-water", "65536", "--slow-consumer-timeout-ms", "3000")
    c = srv.client(rcvbuf=8192)
    c.handshake("/echo")
    data = make_binary(32 * KiB, seed=3)
    n = 20
    errors = []

    def writer():
        try:
            c.send(b"".join(build_frame(OP_BINARY, data) for _ in range(n)))
        except OSError as e:
            errors.append(e)

    th = threading.Thread(target=writer, daemon=True)
    th.start()
    time.sleep(0.5)
    for _ in range(n):
        c.expect_message(OP_BINARY, data)
    th.join(t(5))
    assert not errors, errors
    c.close_handshake(1000)
