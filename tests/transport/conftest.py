"""Fixtures for the transport tests (RFC 6455 layer): the kreuz binary (env KREUZ_BIN, default
/work/main/build/kreuz) started on a free port of 127.0.0.1 with the echo endpoint on /echo.

- `server`: the default server, shared by the whole session (restarted if a test crashed it).
- `make_server(*flags)`: a server of its own with extra command-line flags.
Every server is stopped with SIGTERM and must exit with code 0 within 10 s; a server that dies
during a test (a crash, or a sanitizer report, which aborts it) fails that test, and the
server's output is attached to every failing test's report.
"""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

import wsraw  # noqa: E402

ALL_SERVERS = []  # every server that is or was running during the current test


def _new_server(args=(), **kw):
    srv = wsraw.KreuzServer(args, **kw)
    ALL_SERVERS.append(srv)
    srv.start()
    return srv


class _DefaultServer:
    def __init__(self):
        self.srv = None
        self.dead = []

    def get(self):
        if self.srv is None or not self.srv.alive():
            if self.srv is not None:
                self.dead.append(self.srv)
            self.srv = _new_server()
        return self.srv


@pytest.fixture(scope="session")
def _default_server():
    holder = _DefaultServer()
    yield holder
    wsraw.close_all_clients()
    try:
        if holder.srv is not None:
            holder.srv.stop(timeout=10.0)
            holder.srv.cleanup()
            ALL_SERVERS.remove(holder.srv)
    finally:
        for s in holder.dead:
            s.cleanup()


@pytest.fixture
def server(_default_server):
    """The shared default server (no extra flags)."""
    return _default_server.get()


@pytest.fixture
def make_server():
    """Factory: make_server('--max-message-size', '1000') -> a started KreuzServer; each one is
    stopped at teardown and must exit 0 within 10 s of SIGTERM."""
    mine = []

    def factory(*args, **kw):
        srv = _new_server(list(args), **kw)
        mine.append(srv)
        return srv

    yield factory
    wsraw.close_all_clients()
    errors = []
    for srv in mine:
        try:
            srv.stop(timeout=10.0)
        except AssertionError as e:
            errors.append(str(e))
        finally:
            if srv in ALL_SERVERS:
                ALL_SERVERS.remove(srv)
            srv.cleanup()
    if errors:
        pytest.fail("\n\n".join(errors), pytrace=False)


@pytest.fixture(autouse=True)
def _each_test():
    yield
    wsraw.close_all_clients()
    problems = []
    for srv in list(ALL_SERVERS):
        if not srv.stopped and srv.proc is not None and srv.proc.poll() is not None:
            srv.stopped = True
            problems.append(f"kreuz (port {srv.port}) died during this test with "
                            f"{wsraw.describe_rc(srv.proc.returncode)}\n{srv.log_tail()}")
    if problems:
        pytest.fail("\n\n".join(problems), pytrace=False)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed:
        for srv in ALL_SERVERS:
            rep.sections.append((f"kreuz output (port {srv.port})", srv.log_tail()))


def pytest_report_header(config):
    return [f"kreuz binary: {wsraw.kreuz_bin()}  sanitized: {wsraw.SANITIZED}  timeout scale: {wsraw.SLOW}"]


def pytest_terminal_summary(terminalreporter):
    if wsraw.TIMINGS:
        terminalreporter.section("kreuz timings")
        for name, secs in wsraw.TIMINGS:
            terminalreporter.write_line(f"{secs * 1000:10.1f} ms  {name}")
