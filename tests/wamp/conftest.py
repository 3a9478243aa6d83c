"""Fixtures for the WAMP v1 integration tests: the kreuz binary (env KREUZ_BIN, default
/work/main/build/kreuz) started on a free port of 127.0.0.1.

- `kreuz`: the router with its embedded default configuration (realm `default` on /ws), shared
  by the whole session (restarted if a test crashed it).
- `multi`: the router with MULTI_CONFIG below (several realms, one per configuration feature
  under test), shared by the whole session.
- `make_server(yaml_text)`: a router of its own with the given configuration.
Every server is stopped with SIGTERM and must exit with code 0 within 10 s (a crash or a
sanitizer report shows as a non-zero exit); a server that dies during a test fails that test.
Test functions may be `async def`: they run in a fresh event loop, and every WAMP client still
open at the end is closed.
"""
import asyncio
import atexit
import inspect
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import pytest

sys.path.insert(0, os.path.dirname(__file__))

import wampclient  # noqa: E402
from wampclient import t  # noqa: E402

MULTI_CONFIG = """\
realms:
  - name: default
    paths: [/ws, /ws2]
  - name: other
    paths: [/other]
  - name: open
    paths: [/open]
    accept_no_subprotocol: true
  - name: strict
    paths: [/strict]
    strict: true
  - name: limits
    paths: [/limits]
    limits: {max_prefixes: 2, max_subscriptions: 2, max_pending_calls: 1}
  - name: nocalls
    paths: [/nocalls]
    limits: {max_pending_calls: 0}
  - name: small
    paths: [/small]
    max_message_size: 1000
  - name: smallstrict
    paths: [/smallstrict]
    strict: true
    max_message_size: 1000
  - name: nobuiltins
    paths: [/nobuiltins]
    builtins: {ping: false, echo: false, testee_dispatch: false}
  - name: noecho
    paths: [/noecho]
    builtins: {echo: false}
"""


def kreuz_bin() -> str:
    return os.environ.get("KREUZ_BIN", "/work/main/build/kreuz")


def kreuz_version() -> str:
    out = subprocess.run([kreuz_bin(), "--version"], capture_output=True, text=True, timeout=10).stdout
    assert out.startswith("kreuz "), out
    return out.split()[1]


def free_port() -> int:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def describe_rc(rc) -> str:
    if isinstance(rc, int) and rc < 0:
        try:
            return f"signal {signal.Signals(-rc).name}"
        except ValueError:
            return f"signal {-rc}"
    return f"exit code {rc}"


class KreuzServer:
    def __init__(self, config_text=None):
        self.binary = kreuz_bin()
        self.port = 0
        self.proc = None
        self.stopped = False
        self.dir = tempfile.mkdtemp(prefix="kreuz-wamp-")
        self.logname = os.path.join(self.dir, "kreuz.log")
        self.config = None
        if config_text is not None:
            self.config = os.path.join(self.dir, "kreuz.yaml")
            with open(self.config, "w") as f:
                f.write(config_text)

    @property
    def args(self):
        a = [self.binary, "--host", "127.0.0.1", "--port", str(self.port), "--log-level",
             os.environ.get("KREUZ_LOG_LEVEL", "warn")]
        if self.config:
            a += ["--config", self.config]
        return a

    def start(self, ready_timeout=5.0):
        if not os.path.exists(self.binary):
            raise AssertionError(f"kreuz binary not found at {self.binary} (set KREUZ_BIN)")
        if self.config:
            chk = subprocess.run([self.binary, "--check-config", self.config], capture_output=True,
                                 text=True, timeout=t(10))
            assert chk.returncode == 0, f"config rejected: {chk.stdout}{chk.stderr}"
        for _attempt in range(3):  # a free port may be taken between probe and bind
            self.port = free_port()
            with open(self.logname, "ab") as log:
                self.proc = subprocess.Popen(self.args, stdin=subprocess.DEVNULL, stdout=log,
                                             stderr=subprocess.STDOUT)
            deadline = time.monotonic() + t(ready_timeout)
            while time.monotonic() < deadline and self.proc.poll() is None:
                try:
                    socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                    return self
                except OSError:
                    time.sleep(0.02)
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError(f"kreuz did not accept connections in time\n{self.log_tail()}")
            if "address already in use" not in self.log().lower():
                raise AssertionError(f"kreuz exited at start with {describe_rc(self.proc.returncode)}\n"
                                     f"{self.log_tail()}")
        raise AssertionError(f"kreuz could not bind a port\n{self.log_tail()}")

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=10.0):
        """SIGTERM; asserts exit code 0 within `timeout` s."""
        if self.proc is None or self.stopped:
            return
        self.stopped = True
        if self.proc.poll() is not None:
            raise AssertionError(f"kreuz had already exited with {describe_rc(self.proc.returncode)}\n"
                                 f"{self.log_tail()}")
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=t(timeout))
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"kreuz did not exit within {t(timeout)} s of SIGTERM\n{self.log_tail()}")
        if rc != 0:
            raise AssertionError(f"kreuz exited with {describe_rc(rc)} after SIGTERM (expected 0)\n"
                                 f"{self.log_tail()}")
        shutil.rmtree(self.dir, ignore_errors=True)

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.stopped = True

    def log(self):
        try:
            with open(self.logname, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def log_tail(self, lines=100):
        text = self.log().splitlines()
        return "\n".join([f"--- kreuz output ({' '.join(self.args)}) ---"] + text[-lines:] +
                         ["--- end of kreuz output ---"])


ALL_SERVERS = []


@atexit.register
def _kill_leftovers():
    """A run that was interrupted must not leave routers behind; logs of failed servers were
    attached to the test reports, so the temporary directories go too."""
    for srv in ALL_SERVERS:
        srv.kill()
        shutil.rmtree(srv.dir, ignore_errors=True)


def _new_server(config_text=None):
    srv = KreuzServer(config_text)
    ALL_SERVERS.append(srv)
    srv.start()
    return srv


class _Shared:
    def __init__(self, config_text=None):
        self.config_text = config_text
        self.srv = None
        self.errors = []

    def get(self):
        if self.srv is None or not self.srv.alive():
            if self.srv is not None:
                self.srv.stopped = True
            self.srv = _new_server(self.config_text)
        return self.srv

    def finish(self):
        if self.srv is not None:
            self.srv.stop()


@pytest.fixture(scope="session")
def _shared_default():
    holder = _Shared()
    yield holder
    holder.finish()


@pytest.fixture(scope="session")
def _shared_multi():
    holder = _Shared(MULTI_CONFIG)
    yield holder
    holder.finish()


@pytest.fixture
def kreuz(_shared_default):
    """The router with its embedded default configuration."""
    return _shared_default.get()


@pytest.fixture
def multi(_shared_multi):
    """The router with MULTI_CONFIG."""
    return _shared_multi.get()


@pytest.fixture
def make_server():
    mine = []

    def factory(config_text=None):
        srv = _new_server(config_text)
        mine.append(srv)
        return srv

    yield factory
    errors = []
    for srv in mine:
        try:
            srv.stop()
        except AssertionError as e:
            errors.append(str(e))
    if errors:
        pytest.fail("\n\n".join(errors), pytrace=False)


@pytest.fixture(scope="session")
def version():
    return kreuz_version()


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem):
    """Runs `async def` tests in a fresh event loop with an overall time limit."""
    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    kwargs = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}

    async def run():
        try:
            await asyncio.wait_for(pyfuncitem.obj(**kwargs), t(30))
        finally:
            await wampclient.close_all_clients()

    asyncio.run(run())
    return True


@pytest.fixture(autouse=True)
def _server_died_check():
    yield
    problems = []
    for srv in ALL_SERVERS:
        if not srv.stopped and srv.proc is not None and srv.proc.poll() is not None:
            srv.stopped = True
            problems.append(f"kreuz (port {srv.port}) died during this test with "
                            f"{describe_rc(srv.proc.returncode)}\n{srv.log_tail()}")
    if problems:
        pytest.fail("\n\n".join(problems), pytrace=False)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed:
        for srv in ALL_SERVERS:
            # running servers, and a dead one only in the report of the test it died in
            if srv.log() and (srv.alive() or not getattr(srv, "reported", False)):
                if not srv.alive():
                    srv.reported = True
                rep.sections.append((f"kreuz output (port {srv.port})", srv.log_tail(40)))


def pytest_report_header(config):
    return [f"kreuz binary: {kreuz_bin()}  sanitized: {wampclient.SANITIZED}"]
