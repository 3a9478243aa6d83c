"""A redis-server of Debian's package, started by a test or a bench on a loopback port without
persistence, stopped by its pid, restartable on the same port; and one RESP command at a time,
so that nothing beyond the package is needed to look into it."""
import os
import shutil
import socket
import subprocess
import tempfile
import time

from wampclient import t


class RedisServer:
    """redis-server on one loopback port, without persistence; restartable on that port."""

    def __init__(self, port):
        self.port = port
        self.dir = tempfile.mkdtemp(prefix="kreuz-redis-")
        self.proc = None

    def start(self):
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        assert os.path.exists(binary), "redis-server is missing (scripts/install-deps.sh --test installs it)"
        with open(os.path.join(self.dir, "redis.log"), "ab") as log:
            self.proc = subprocess.Popen([binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                          "--appendonly", "no", "--dir", self.dir],
                                         stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + t(10)
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"redis-server exited: {self.log()}"
            try:
                if self.command("PING") == "PONG":
                    return self
            except OSError:
                time.sleep(0.05)
        raise AssertionError(f"redis-server did not answer PING\n{self.log()}")

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def log(self):
        try:
            with open(os.path.join(self.dir, "redis.log"), "rb") as f:
                return f.read().decode("utf-8", "replace")[-3000:]
        except OSError:
            return ""

    def finish(self):
        self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)

    def command(self, *args):
        """One command over RESP; integers, strings and arrays of them come back as Python values."""
        request = f"*{len(args)}\r\n" + "".join(f"${len(str(a).encode())}\r\n{a}\r\n" for a in args)
        with socket.create_connection(("127.0.0.1", self.port), timeout=t(5)) as s:
            s.sendall(request.encode())
            f = s.makefile("rb")

            def read():
                line = f.readline().rstrip(b"\r\n")
                kind, rest = line[:1], line[1:]
                if kind == b":":
                    return int(rest)
                if kind == b"$":
                    n = int(rest)
                    return None if n < 0 else f.read(n + 2)[:-2].decode()
                if kind == b"*":
                    return [read() for _ in range(int(rest))]
                if kind == b"-":
                    raise AssertionError(f"Redis error: {rest.decode()}")
                return rest.decode()
            return read()
