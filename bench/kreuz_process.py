"""A kreuz started for one bench script: on a free loopback port, its log in `log`, ready to
accept when start() returns."""
import socket
import subprocess
import time


def start(binary, log, log_level="warn", config=None):
    """Returns (process, port); raises when kreuz does not listen within 10 s."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    args = [binary, "--host", "127.0.0.1", "--port", str(port), "--log-level", log_level]
    if config:
        args += ["--config", config]
    process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return process, port
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise
            time.sleep(0.02)
