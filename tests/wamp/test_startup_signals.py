"""Signals during a slow start, and the file-descriptor limit.

kreuz installs its SIGHUP/SIGTERM/SIGINT handlers before its first listener opens and keeps those
signals blocked until then, so a supervisor's reload or stop that comes while the router is still
starting (here: deriving the keys of salted WAMP-CRA users) is handled once the loop runs instead
of killing the process with its default action (status 129 for SIGHUP, and no log line).

At the file-descriptor limit, connections that cannot be accepted are refused visibly: a 503 from
the reserve descriptor, a counter in /metrics, a rate-limited log line, and the listener keeps
working for the connections that come once descriptors are free again.
"""
import asyncio
import resource
import signal
import socket
import subprocess
import time

import pytest

import conftest
import wampclient
from wampclient import CALLRESULT, ECHO, WampClient, get_request, http_raw, read_http_head, t, upgrade_request

# Eight salted users whose keys the router derives at start: a few hundred milliseconds (seconds
# under ASan) during which the process runs but does not listen yet.
SLOW_START = """\
realms:
  - name: default
    paths: [/ws]
    auth:
      users:
""" + "".join(f'        - {{key: u{i}, secret: "pw", salt: "S{i}", iterations: 500000, keylen: 32}}\n'
              for i in range(8))


def spawn(config_text, port, log_level="info", preexec_fn=None):
    srv = conftest.KreuzServer(config_text)
    conftest.ALL_SERVERS.append(srv)
    srv.port = port
    args = srv.args
    args[args.index("--log-level") + 1] = log_level
    log = open(srv.logname, "ab")
    srv.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                preexec_fn=preexec_fn)
    log.close()
    return srv


def wait_startup_mask(srv):
    """Until kreuz blocks its stop and reload signals, the first thing its main() does: before
    that, the dynamic loader is still mapping its libraries and no process can catch a signal.
    This is the earliest moment a signal can be sent and must be survived."""
    wanted = (1 << (signal.SIGHUP - 1)) | (1 << (signal.SIGINT - 1)) | (1 << (signal.SIGTERM - 1))
    deadline = time.monotonic() + t(10)
    while time.monotonic() < deadline:
        with open(f"/proc/{srv.proc.pid}/status") as f:
            blocked = next(int(line.split()[1], 16) for line in f if line.startswith("SigBlk:"))
        if blocked & wanted == wanted:
            return
        time.sleep(0.0005)
    raise AssertionError("kreuz never blocked SIGHUP/SIGINT/SIGTERM during its start")


def accepting(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


def wait_listening(srv, timeout=30):
    deadline = time.monotonic() + t(timeout)
    while time.monotonic() < deadline:
        assert srv.alive(), f"kreuz exited with {conftest.describe_rc(srv.proc.returncode)}\n{srv.log_tail()}"
        if accepting(srv.port):
            return
        time.sleep(0.02)
    raise AssertionError(f"kreuz did not listen in time\n{srv.log_tail()}")


@pytest.mark.parametrize("delay", [0.0, 0.05, 0.2])
def test_sighup_while_starting_is_a_reload(delay):
    port = conftest.free_port()
    srv = spawn(SLOW_START, port)
    wait_startup_mask(srv)
    time.sleep(delay)
    if delay > 0:
        # the signal lands in the window this test is about: running, not yet listening
        assert srv.alive() and not accepting(port), "the start was too quick to test the window"
    srv.proc.send_signal(signal.SIGHUP)
    wait_listening(srv)
    deadline = time.monotonic() + t(10)
    while "configuration reloaded" not in srv.log() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "configuration reloaded" in srv.log(), srv.log_tail()
    srv.stop()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
@pytest.mark.parametrize("delay", [0.0, 0.05])
def test_stop_signal_while_starting_exits_cleanly(signum, delay):
    port = conftest.free_port()
    srv = spawn(SLOW_START, port)
    wait_startup_mask(srv)
    time.sleep(delay)
    srv.proc.send_signal(signum)
    rc = srv.proc.wait(timeout=t(30))
    srv.stopped = True
    assert rc == 0, f"exit {conftest.describe_rc(rc)}\n{srv.log_tail()}"
    assert "shutting down" in srv.log()


FD_LIMIT = 64


def small_fd_limit():
    resource.setrlimit(resource.RLIMIT_NOFILE, (FD_LIMIT, FD_LIMIT))


def metric_in(body, name):
    for line in body.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not in /metrics")


def metric(port, name):
    return metric_in(http_raw(port, get_request("/metrics")).body.decode(), name)


# The sanitizers' runtime needs descriptors of its own (UBSan tests memory through a pipe before
# each dynamic type check, and exits at the limit), so a sanitized kreuz cannot be run there.
@pytest.mark.skipif(wampclient.SANITIZED, reason="the sanitizer runtime itself fails at the fd limit")
def test_connections_beyond_the_fd_limit_are_refused_visibly():
    port = conftest.free_port()
    srv = spawn(None, port, log_level="warn", preexec_fn=small_fd_limit)
    wait_listening(srv, timeout=10)
    assert "file-descriptor limit of 64" in srv.log(), "no warning that max_connections cannot be reached"
    socks, accepted, refused = [], 0, 0
    try:
        for _ in range(FD_LIMIT + 20):
            s = socket.create_connection(("127.0.0.1", port), timeout=t(5))
            s.sendall(upgrade_request("/ws"))
            socks.append(s)
            head, _ = read_http_head(s)
            if head.startswith(b"HTTP/1.1 101"):
                accepted += 1
            else:
                assert head.startswith(b"HTTP/1.1 503"), head
                refused += 1
        assert accepted > 20 and refused > 0, (accepted, refused)
        print(f"{accepted} sessions accepted, {refused} refused with 503")
        deadline = time.monotonic() + t(5)
        while "file-descriptor limit (64) is reached" not in srv.log() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "refused" in srv.log() and "file-descriptor limit (64) is reached" in srv.log(), srv.log_tail()
    finally:
        for s in socks:
            s.close()
    # descriptors are free again: the listener serves as before, and the refusals were counted
    deadline = time.monotonic() + t(10)
    while time.monotonic() < deadline:
        # Until kreuz has seen the closes, a request of ours may itself meet the limit: it is
        # refused like the others, and counted with them.
        response = http_raw(port, get_request("/metrics"))
        if response.status == 503:
            refused += 1
        elif metric_in(response.body.decode(), "kreuz_connections") <= 1:  # 1: this request
            break
        time.sleep(0.05)
    assert metric(port, "kreuz_connections_refused_fd_limit_total") == refused
    assert metric(port, "kreuz_connections_refused_total") >= refused

    async def session_works():
        c = await WampClient.connect(port)
        assert await c.call(ECHO, "after", call_id="a") == [CALLRESULT, "a", "after"]
        await c.close()

    asyncio.run(session_works())
    srv.stop()
