"""Graceful shutdown on SIGTERM/SIGINT: Close 1001 to every client, close handshake timeout,
no new connections, exit code 0. Also --version and --help."""
import signal
import socket
import subprocess
import time

from wsraw import OP_CLOSE, OP_TEXT, RawClient, describe_rc, kreuz_bin, t


def _wait_exit(srv, limit):
    start = time.monotonic()
    rc = srv.wait(limit)
    return rc, time.monotonic() - start


def test_sigterm_idle_server_exits_0_quickly(make_server):
    srv = make_server()
    srv.terminate()
    rc, elapsed = _wait_exit(srv, t(5))
    assert rc == 0, describe_rc(rc)
    assert elapsed < t(1.0), f"idle server took {elapsed:.2f}s to exit"


def test_sigint_exits_0(make_server):
    srv = make_server()
    srv.stopped = True
    srv.proc.send_signal(signal.SIGINT)
    rc, _ = _wait_exit(srv, t(5))
    assert rc == 0, describe_rc(rc)


def test_sigterm_client_never_answers_close(make_server):
    srv = make_server("--close-timeout-ms", "500")
    c = srv.ws()
    c.echo(OP_TEXT, "hi")
    srv.terminate()
    f = c.recv_frame(timeout=3)
    assert f.opcode == OP_CLOSE and f.close_code == 1001, f"expected Close 1001 on shutdown, got {f}"
    # we never answer
    rc, elapsed = _wait_exit(srv, t(5))
    assert rc == 0, describe_rc(rc)
    assert elapsed < t(0.5 + 1.5), f"exit {elapsed:.2f}s after SIGTERM with a 500 ms close timeout"
    c.expect_eof(1.0, what="at exit")


def test_sigterm_client_answers_close(make_server):
    srv = make_server("--close-timeout-ms", "30000")
    clients = [srv.ws() for _ in range(3)]
    for i, c in enumerate(clients):
        c.echo(OP_TEXT, f"client {i}")
    start = time.monotonic()
    srv.terminate()
    for c in clients:
        f = c.recv_frame(timeout=3)
        assert f.opcode == OP_CLOSE and f.close_code == 1001, f"expected Close 1001 on shutdown, got {f}"
        c.send_close(1001)
        c.expect_eof(2.0, what="after the closing handshake")
        # as any client does on EOF; kreuz half-closes and waits (up to the close timeout) for
        # the peer's FIN before it lets go of the connection
        c.close()
    rc = srv.wait(t(5))
    elapsed = time.monotonic() - start
    assert rc == 0, describe_rc(rc)
    assert elapsed < t(2.0), f"exit {elapsed:.2f}s after SIGTERM although every client answered"


def test_sigterm_with_handshake_in_progress(make_server):
    srv = make_server("--close-timeout-ms", "500")
    c = RawClient(srv.port)
    c.send(b"GET /echo HTTP/1.1\r\nHost: x\r\n")
    time.sleep(0.1)
    srv.terminate()
    rc, elapsed = _wait_exit(srv, t(5))
    assert rc == 0, describe_rc(rc)
    assert elapsed < t(2.0), f"exit took {elapsed:.2f}s"


def test_no_new_connections_after_sigterm(make_server):
    srv = make_server("--close-timeout-ms", "3000")
    c = srv.ws()
    srv.terminate()
    f = c.recv_frame(timeout=3)
    assert f.opcode == OP_CLOSE and f.close_code == 1001, f
    # the server is now draining (we hold our close); a new connection must not be served
    refused = False
    try:
        n = RawClient(srv.port, timeout=2)
    except ConnectionRefusedError:
        refused = True
    if not refused:
        try:
            resp = n.handshake("/echo", expect_status=None, timeout=2)
            raise AssertionError(f"new connection during shutdown got {resp.raw_head!r}")
        except (ConnectionResetError, BrokenPipeError, socket.timeout, AssertionError) as e:
            if isinstance(e, AssertionError) and "new connection during shutdown" in str(e):
                raise
    c.send_close(1001)
    rc, _ = _wait_exit(srv, t(5))
    assert rc == 0, describe_rc(rc)


def test_version_and_help():
    out = subprocess.run([kreuz_bin(), "--version"], capture_output=True, timeout=10, text=True)
    assert out.returncode == 0, out
    assert out.stdout.strip().startswith("kreuz "), out.stdout
    out = subprocess.run([kreuz_bin(), "--help"], capture_output=True, timeout=10, text=True)
    assert out.returncode == 0, out
    for flag in ("--host", "--port", "--echo-path", "--max-message-size", "--ping-interval-ms",
                 "--pong-timeout-ms", "--handshake-timeout-ms", "--close-timeout-ms", "--idle-timeout-ms",
                 "--write-high-water", "--write-queue-limit", "--slow-consumer-timeout-ms", "--no-deflate",
                 "--log-level"):
        assert flag in out.stdout, f"{flag} missing from --help"


def test_bad_option_fails():
    out = subprocess.run([kreuz_bin(), "--no-such-option"], capture_output=True, timeout=10, text=True)
    assert out.returncode != 0
    assert out.returncode > 0, f"crashed: {describe_rc(out.returncode)}"


def test_port_in_use_fails_cleanly(make_server):
    srv = make_server()
    out = subprocess.run([kreuz_bin(), "--host", "127.0.0.1", "--port", str(srv.port), "--echo-path", "/echo",
                          "--log-level", "warn"], capture_output=True, timeout=t(10), text=True)
    assert out.returncode == 1, f"second server on a used port: {describe_rc(out.returncode)} {out.stderr}"
