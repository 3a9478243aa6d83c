"""A raw WebSocket client and a handle on the kreuz process, for the transport tests.

The client writes frames byte for byte as the test says (any FIN/RSV/opcode, masked or not,
any length encoding, even lying lengths) and sends them in any chops; it parses what the server
sends strictly: every server frame must be unmasked and use the minimal length encoding.
Stdlib only, so it runs on Debian's python3 as it is.
"""
from __future__ import annotations

import base64
import hashlib
import os
import signal
import socket
import struct
import subprocess
import tempfile
import time
import zlib
from dataclasses import dataclass, field

WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

OP_CONT = 0x0
OP_TEXT = 0x1
OP_BINARY = 0x2
OP_CLOSE = 0x8
OP_PING = 0x9
OP_PONG = 0xA

RSV1 = 4
RSV2 = 2
RSV3 = 1

SANITIZED = os.environ.get("KREUZ_SANITIZED", "") not in ("", "0")
# Timeouts scale with the build: an ASan/UBSan server is about 3x slower.
SLOW = 3.0 if SANITIZED else 1.0


def t(seconds: float) -> float:
    """A timeout in seconds, scaled for sanitized builds."""
    return seconds * SLOW


def kreuz_bin() -> str:
    return os.environ.get("KREUZ_BIN", "/work/main/build/kreuz")


def free_port() -> int:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def accept_key(key: str) -> str:
    return base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()


def new_key() -> str:
    return base64.b64encode(os.urandom(16)).decode()


# --------------------------------------------------------------------------------------------
# The server process


class ServerExited(AssertionError):
    pass


class KreuzServer:
    """One kreuz process on a free port, its output in a temp file."""

    def __init__(self, extra_args=(), echo_path="/echo", log_level="warn"):
        self.binary = kreuz_bin()
        self.port = 0
        self.extra_args = list(extra_args)
        self.echo_path = echo_path
        self.log_level = log_level
        self.proc: subprocess.Popen | None = None
        self.logfile = tempfile.NamedTemporaryFile(prefix="kreuz-", suffix=".log", delete=False)
        self.stopped = False
        self.returncode = None

    @property
    def args(self):
        a = [self.binary, "--host", "127.0.0.1", "--port", str(self.port)]
        if self.echo_path:
            a += ["--echo-path", self.echo_path]
        if self.log_level:
            a += ["--log-level", self.log_level]
        return a + self.extra_args

    def start(self, ready_timeout=5.0):
        if not os.path.exists(self.binary):
            raise AssertionError(f"kreuz binary not found at {self.binary} (set KREUZ_BIN)")
        last_err = None
        for _attempt in range(3):  # a free port may be taken between probe and bind
            self.port = free_port()
            self.proc = subprocess.Popen(self.args, stdin=subprocess.DEVNULL, stdout=self.logfile,
                                         stderr=subprocess.STDOUT, env=os.environ.copy())
            deadline = time.monotonic() + ready_timeout * SLOW
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    break
                try:
                    socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                    return self
                except OSError as e:
                    last_err = e
                    time.sleep(0.02)
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError(f"kreuz did not accept connections within {ready_timeout * SLOW}s "
                                     f"({last_err})\n{self.log_tail()}")
            log = self.log()
            if "address already in use" not in log.lower():
                raise AssertionError(f"kreuz exited at start with {self.proc.returncode}: {self.args}\n"
                                     f"{self.log_tail()}")
        raise AssertionError(f"kreuz could not bind a port: {self.log_tail()}")

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def check_alive(self):
        if self.proc is not None and not self.stopped and self.proc.poll() is not None:
            raise ServerExited(f"kreuz died unexpectedly with {describe_rc(self.proc.returncode)}\n"
                               f"{self.log_tail()}")

    def rss_kib(self) -> int:
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise AssertionError("no VmRSS")

    def terminate(self):
        """Sends SIGTERM (graceful shutdown) without waiting."""
        self.check_alive()
        self.stopped = True
        self.proc.send_signal(signal.SIGTERM)

    def wait(self, timeout) -> int:
        try:
            self.returncode = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            self.returncode = "reported"  # the failure is raised here, not again at teardown
            raise AssertionError(f"kreuz did not exit within {timeout}s of SIGTERM\n{self.log_tail()}")
        return self.returncode

    def stop(self, timeout=10.0):
        """SIGTERM, then asserts a clean exit (code 0) within `timeout` seconds."""
        if self.proc is None:
            return
        if self.stopped:
            rc = self.returncode if self.returncode is not None else self.wait(timeout)
            if rc == "reported":
                return
        else:
            if self.proc.poll() is not None:
                self.stopped = True
                raise ServerExited(f"kreuz had already exited with {describe_rc(self.proc.returncode)}\n"
                                   f"{self.log_tail()}")
            self.terminate()
            rc = self.wait(timeout)
        if rc != 0:
            raise AssertionError(f"kreuz exited with {describe_rc(rc)} after SIGTERM (expected 0)\n"
                                 f"{self.log_tail()}")

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.stopped = True

    def log(self) -> str:
        try:
            with open(self.logfile.name, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def log_tail(self, lines=200) -> str:
        text = self.log().splitlines()
        head = f"--- kreuz output ({self.logfile.name}, args: {' '.join(self.args)}) ---"
        return "\n".join([head] + text[-lines:] + ["--- end of kreuz output ---"])

    def cleanup(self):
        self.kill()
        try:
            os.unlink(self.logfile.name)
        except OSError:
            pass

    # convenience
    def client(self, **kw) -> "RawClient":
        return RawClient(self.port, **kw)

    def ws(self, path=None, **kw) -> "RawClient":
        """A connected and upgraded raw client on the echo path."""
        c = RawClient(self.port)
        c.handshake(path or self.echo_path, **kw)
        return c


def describe_rc(rc) -> str:
    if rc is None:
        return "no exit"
    if rc < 0:
        try:
            return f"signal {signal.Signals(-rc).name}"
        except ValueError:
            return f"signal {-rc}"
    return f"exit code {rc}"


# --------------------------------------------------------------------------------------------
# Frames


def mask_bytes(data: bytes, key: bytes) -> bytes:
    n = len(data)
    if n == 0:
        return b""
    reps = (n + 3) // 4
    m = (key * reps)[:n]
    return (int.from_bytes(data, "little") ^ int.from_bytes(m, "little")).to_bytes(n, "little")


def build_frame(opcode: int, payload: bytes = b"", *, fin: bool = True, rsv: int = 0, mask: bool = True,
                mask_key: bytes | None = None, length_mode: str | None = None,
                declared_length: int | None = None) -> bytes:
    """One frame as bytes.

    length_mode: None = minimal encoding; "7", "16" or "64" forces an encoding, also a
    non-minimal one. declared_length: the length written in the header when it should differ
    from len(payload) (lying headers, e.g. 2**62 with no payload following).
    """
    if isinstance(payload, str):
        payload = payload.encode()
    n = len(payload) if declared_length is None else declared_length
    b0 = (0x80 if fin else 0) | ((rsv & 7) << 4) | (opcode & 0x0F)
    mbit = 0x80 if mask else 0
    if length_mode is None:
        length_mode = "7" if n <= 125 else ("16" if n <= 0xFFFF else "64")
    if length_mode == "7":
        assert n <= 125
        head = bytes([b0, mbit | n])
    elif length_mode == "16":
        assert n <= 0xFFFF
        head = bytes([b0, mbit | 126]) + struct.pack("!H", n)
    elif length_mode == "64":
        head = bytes([b0, mbit | 127]) + struct.pack("!Q", n)
    else:
        raise ValueError(length_mode)
    if mask:
        key = mask_key if mask_key is not None else os.urandom(4)
        return head + key + mask_bytes(payload, key)
    return head + payload


def close_payload(code: int | None, reason: bytes | str = b"") -> bytes:
    if code is None:
        return b""
    if isinstance(reason, str):
        reason = reason.encode()
    return struct.pack("!H", code) + reason


@dataclass
class Frame:
    fin: bool
    rsv: int
    opcode: int
    payload: bytes
    masked: bool = False
    header_len: int = 2

    @property
    def close_code(self):
        assert self.opcode == OP_CLOSE
        if len(self.payload) >= 2:
            return struct.unpack("!H", self.payload[:2])[0]
        return None

    @property
    def close_reason(self) -> bytes:
        return self.payload[2:]

    def __repr__(self):
        p = self.payload if len(self.payload) <= 40 else self.payload[:40] + b"..."
        return (f"Frame(fin={int(self.fin)}, rsv={self.rsv}, op={self.opcode:#x}, len={len(self.payload)}, "
                f"payload={p!r})")


@dataclass
class Message:
    opcode: int
    payload: bytes
    compressed: bool = False
    frames: list = field(default_factory=list)


class ConnectionEnded(AssertionError):
    """The TCP connection ended (EOF or RST) while a frame was expected."""


@dataclass
class HttpResponse:
    status: int
    reason: str
    version: str
    headers: list  # [(name, value)]
    body: bytes
    raw_head: bytes

    def header(self, name: str):
        vals = [v for k, v in self.headers if k.lower() == name.lower()]
        if not vals:
            return None
        return ", ".join(vals)

    def header_all(self, name: str):
        return [v for k, v in self.headers if k.lower() == name.lower()]


# --------------------------------------------------------------------------------------------
# The raw client


OPEN_CLIENTS: list = []


def close_all_clients():
    """Closes every RawClient a test left open (called between tests and before a server stops)."""
    while OPEN_CLIENTS:
        OPEN_CLIENTS.pop().close()


class RawClient:
    def __init__(self, port: int, host: str = "127.0.0.1", timeout: float = 5.0, rcvbuf: int | None = None,
                 nodelay: bool = True):
        self.closed = False
        self.port = port
        self.host = host
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        OPEN_CLIENTS.append(self)
        if rcvbuf is not None:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        if nodelay:
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.settimeout(t(timeout))
        self.sock.connect((host, port))
        self.buf = bytearray()
        self.eof = False
        self.reset = False
        self.key = None
        self.response: HttpResponse | None = None

    # ---- low level I/O
    def send(self, data: bytes, chop=None, delay: float = 0.0):
        """Sends data; chop is None (one sendall), an int (chunks of that size) or a list of
        sizes used in a cycle."""
        # a timeout bounds a whole sendall(), so it has to allow for large writes to a slow
        # (sanitized) server
        self.sock.settimeout(t(60))
        if chop is None:
            self.sock.sendall(data)
            return
        sizes = [chop] if isinstance(chop, int) else list(chop)
        i = 0
        k = 0
        mv = memoryview(data)
        while i < len(data):
            n = sizes[k % len(sizes)]
            k += 1
            self.sock.sendall(mv[i:i + n])
            i += n
            if delay:
                time.sleep(delay)

    def _fill(self, timeout: float | None) -> bool:
        """Reads more bytes into the buffer; False on EOF/RST. Raises socket.timeout."""
        if self.eof:
            return False
        self.sock.settimeout(t(timeout) if timeout is not None else None)
        try:
            data = self.sock.recv(1 << 20)
        except ConnectionResetError:
            self.eof = True
            self.reset = True
            return False
        if not data:
            self.eof = True
            return False
        self.buf += data
        return True

    def _need(self, n: int, deadline: float):
        while len(self.buf) < n:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise socket.timeout(f"timed out waiting for {n} bytes (have {len(self.buf)})")
            if not self._fill(remaining / SLOW):
                raise ConnectionEnded(f"connection ended ({'RST' if self.reset else 'EOF'}) "
                                      f"with {len(self.buf)} of {n} bytes of a frame")

    # ---- HTTP
    def handshake(self, path="/echo", *, extensions: str | None = None, protocols: str | None = None,
                  headers: list | None = None, expect_status: int | None = 101,
                  key: str | None = None, timeout: float = 5.0) -> HttpResponse:
        self.key = key or new_key()
        lines = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{self.port}", "Upgrade: websocket",
                 "Connection: Upgrade", f"Sec-WebSocket-Key: {self.key}", "Sec-WebSocket-Version: 13"]
        if extensions is not None:
            lines.append(f"Sec-WebSocket-Extensions: {extensions}")
        if protocols is not None:
            lines.append(f"Sec-WebSocket-Protocol: {protocols}")
        for h in headers or []:
            lines.append(h if isinstance(h, str) else f"{h[0]}: {h[1]}")
        self.send(("\r\n".join(lines) + "\r\n\r\n").encode())
        resp = self.read_http_response(timeout=timeout)
        if expect_status is not None:
            assert resp.status == expect_status, f"expected HTTP {expect_status}, got {resp.raw_head!r} {resp.body!r}"
        if resp.status == 101:
            assert resp.header("Sec-WebSocket-Accept") == accept_key(self.key), resp.raw_head
            up = resp.header("Upgrade")
            assert up is not None and up.lower() == "websocket", resp.raw_head
            conn = resp.header("Connection")
            assert conn is not None and "upgrade" in [x.strip().lower() for x in conn.split(",")], resp.raw_head
        return resp

    def read_http_response(self, timeout: float = 5.0) -> HttpResponse:
        deadline = time.monotonic() + t(timeout)
        while b"\r\n\r\n" not in self.buf:
            if len(self.buf) > 65536:
                raise AssertionError(f"HTTP response head too long: {bytes(self.buf[:300])!r}")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise socket.timeout(f"no complete HTTP response head; got {bytes(self.buf)!r}")
            if not self._fill(remaining / SLOW):
                raise ConnectionEnded(f"connection ended before a complete HTTP response head; got "
                                      f"{bytes(self.buf)!r}")
        end = self.buf.index(b"\r\n\r\n") + 4
        head = bytes(self.buf[:end])
        del self.buf[:end]
        lines = head[:-4].decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        assert len(parts) >= 2 and parts[0].startswith("HTTP/"), f"bad status line {lines[0]!r}"
        version, status = parts[0], int(parts[1])
        reason = parts[2] if len(parts) > 2 else ""
        hdrs = []
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            assert sep, f"bad header line {line!r} in {head!r}"
            assert name == name.strip() and name, f"bad header name in {line!r}"
            hdrs.append((name, value.strip()))
        resp = HttpResponse(status, reason, version, hdrs, b"", head)
        if status != 101:
            cl = resp.header("Content-Length")
            if cl is not None:
                n = int(cl)
                try:
                    self._need(n, deadline)
                except ConnectionEnded:
                    raise AssertionError(f"body shorter than Content-Length {n}: {head!r} {bytes(self.buf)!r}")
                resp.body = bytes(self.buf[:n])
                del self.buf[:n]
            else:
                # Connection: close delimits the body
                while self._fill(max(0.01, deadline - time.monotonic()) / SLOW):
                    pass
                resp.body = bytes(self.buf)
                self.buf.clear()
        self.response = resp
        return resp

    # ---- frames out
    def send_frame(self, opcode, payload=b"", chop=None, **kw):
        self.send(build_frame(opcode, payload, **kw), chop=chop)

    def send_text(self, text, **kw):
        if isinstance(text, str):
            text = text.encode()
        self.send_frame(OP_TEXT, text, **kw)

    def send_binary(self, data, **kw):
        self.send_frame(OP_BINARY, data, **kw)

    def send_close(self, code=None, reason=b"", **kw):
        self.send_frame(OP_CLOSE, close_payload(code, reason), **kw)

    # ---- frames in
    def recv_frame(self, timeout: float = 5.0) -> Frame:
        deadline = time.monotonic() + t(timeout)
        self._need(2, deadline)
        b0, b1 = self.buf[0], self.buf[1]
        masked = bool(b1 & 0x80)
        n = b1 & 0x7F
        hl = 2
        if n == 126:
            self._need(4, deadline)
            n = struct.unpack("!H", self.buf[2:4])[0]
            hl = 4
            assert n >= 126, f"server used a non-minimal 16-bit length {n}"
        elif n == 127:
            self._need(10, deadline)
            n = struct.unpack("!Q", self.buf[2:10])[0]
            hl = 10
            assert n > 0xFFFF and n < (1 << 63), f"server used a bad 64-bit length {n}"
        assert not masked, f"server sent a masked frame (header {bytes(self.buf[:hl])!r})"
        self._need(hl + n, deadline)
        payload = bytes(self.buf[hl:hl + n])
        del self.buf[:hl + n]
        return Frame(bool(b0 & 0x80), (b0 >> 4) & 7, b0 & 0x0F, payload, masked, hl)

    def recv_message(self, timeout: float = 5.0, allow_control: bool = False) -> Message:
        """The next data message (reassembled). Control frames in between fail the assertion
        unless allow_control; then pings/pongs are skipped (close still fails)."""
        deadline = time.monotonic() + t(timeout)
        frames = []
        while True:
            f = self.recv_frame(timeout=max(0.0, (deadline - time.monotonic()) / SLOW))
            if f.opcode >= 8:
                assert f.fin, f"server sent a fragmented control frame {f}"
                assert len(f.payload) <= 125, f"server sent a control frame with {len(f.payload)} bytes"
                if allow_control and f.opcode in (OP_PING, OP_PONG):
                    continue
                raise AssertionError(f"expected a data message, got control frame {f} "
                                     f"(close code {f.close_code if f.opcode == OP_CLOSE else '-'})")
            if not frames:
                assert f.opcode in (OP_TEXT, OP_BINARY), f"server sent {f} where a message starts"
            else:
                assert f.opcode == OP_CONT, f"server sent {f} inside a fragmented message"
                assert f.rsv & RSV1 == 0, f"server set RSV1 on a continuation frame {f}"
            frames.append(f)
            if f.fin:
                break
        first = frames[0]
        payload = b"".join(fr.payload for fr in frames) if len(frames) > 1 else first.payload
        return Message(first.opcode, payload, bool(first.rsv & RSV1), frames)

    def expect_message(self, opcode, payload, timeout: float = 5.0):
        if isinstance(payload, str):
            payload = payload.encode()
        m = self.recv_message(timeout=timeout)
        assert m.opcode == opcode, f"expected opcode {opcode}, got {m.opcode}"
        assert not m.compressed, "unexpected RSV1 (no extension negotiated)"
        for f in m.frames:
            assert f.rsv == 0, f"RSV bits set without extension: {f}"
        if m.payload != payload:
            raise AssertionError(f"echo differs: expected {len(payload)} bytes {payload[:60]!r}..., got "
                                 f"{len(m.payload)} bytes {m.payload[:60]!r}... (first difference at "
                                 f"{first_diff(payload, m.payload)})")
        return m

    def echo(self, opcode, payload, timeout=5.0, **kw):
        if isinstance(payload, str):
            payload = payload.encode()
        self.send_frame(opcode, payload, **kw)
        return self.expect_message(opcode, payload, timeout=timeout)

    def expect_frame(self, opcode, payload=None, timeout=5.0) -> Frame:
        f = self.recv_frame(timeout=timeout)
        assert f.opcode == opcode, f"expected opcode {opcode:#x}, got {f}" + (
            f" (close code {f.close_code})" if f.opcode == OP_CLOSE else "")
        assert f.fin, f
        if payload is not None:
            assert f.payload == payload, f"expected payload {payload!r}, got {f.payload!r}"
        return f

    def expect_close(self, code, timeout: float = 5.0, eof_timeout: float = 2.0, skip_data=False) -> Frame:
        """The next frame must be a Close with `code` (None = empty payload); then the server
        must end the TCP connection within eof_timeout seconds."""
        deadline = time.monotonic() + t(timeout)
        while True:
            try:
                f = self.recv_frame(timeout=max(0.0, (deadline - time.monotonic()) / SLOW))
            except ConnectionEnded as e:
                raise AssertionError(f"expected Close {code}, but the connection ended without one: {e}")
            except socket.timeout:
                raise AssertionError(f"expected Close {code}, nothing arrived within {timeout * SLOW}s")
            if skip_data and f.opcode in (OP_TEXT, OP_BINARY, OP_CONT, OP_PING, OP_PONG):
                continue
            break
        assert f.opcode == OP_CLOSE, f"expected Close {code}, got {f}"
        assert f.fin, f"fragmented close frame {f}"
        if code is None:
            assert f.payload == b"", f"expected an empty Close, got code {f.close_code} payload {f.payload!r}"
        else:
            assert len(f.payload) >= 2, f"expected Close {code}, got a Close with payload {f.payload!r}"
            assert f.close_code == code, (f"expected Close {code}, got Close {f.close_code} "
                                          f"reason {f.close_reason!r}")
            try:
                f.close_reason.decode("utf-8")
            except UnicodeDecodeError:
                raise AssertionError(f"server close reason is not UTF-8: {f.close_reason!r}")
        if eof_timeout is not None:
            self.expect_eof(eof_timeout, what=f"after Close {code}")
        return f

    def expect_eof(self, timeout: float = 2.0, what: str = ""):
        """The server must end the TCP connection (FIN or RST) within `timeout` seconds; any
        further bytes are an error."""
        deadline = time.monotonic() + t(timeout)
        while not self.eof:
            if self.buf:
                raise AssertionError(f"server sent more bytes {what}: {bytes(self.buf[:80])!r}")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"server did not close the TCP connection {what} within {timeout * SLOW}s")
            try:
                self._fill(remaining / SLOW)
            except socket.timeout:
                raise AssertionError(f"server did not close the TCP connection {what} within {timeout * SLOW}s")
        if self.buf:
            raise AssertionError(f"server sent more bytes {what}: {bytes(self.buf[:80])!r}")

    def close_handshake(self, code=1000, timeout=5.0):
        """Client-initiated clean close: sends Close(code), expects the same code back and EOF."""
        self.send_close(code)
        return self.expect_close(code, timeout=timeout)

    def is_closed_by_peer(self, timeout=0.0) -> bool:
        try:
            return not self._fill(timeout) if not self.eof else True
        except socket.timeout:
            return False
        except BlockingIOError:
            return False

    def close(self):
        if not self.closed:
            self.closed = True
            try:
                self.sock.close()
            except OSError:
                pass

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()


def first_diff(a: bytes, b: bytes):
    n = min(len(a), len(b))
    for i in range(0, n, 4096):
        if a[i:i + 4096] != b[i:i + 4096]:
            for j in range(i, min(n, i + 4096)):
                if a[j] != b[j]:
                    return j
    return n if len(a) != len(b) else None


# --------------------------------------------------------------------------------------------
# permessage-deflate on top of the raw client


def parse_extensions(value: str):
    """'a; x=1, b' -> [('a', [('x','1')]), ('b', [])] (no quoted-string support needed here)."""
    out = []
    if value is None:
        return out
    for ext in value.split(","):
        parts = [p.strip() for p in ext.split(";")]
        name = parts[0]
        params = []
        for p in parts[1:]:
            k, sep, v = p.partition("=")
            params.append((k.strip(), v.strip() if sep else None))
        out.append((name, params))
    return out


class DeflateClient:
    """permessage-deflate with the parameters agreed in the 101, for a RawClient.

    client_window: what our compressor may use (client_max_window_bits); server_window: what
    we decode the server's messages with (server_max_window_bits); a message that uses a longer
    distance than agreed then fails to inflate, which is how the tests see the server honour
    the parameter."""

    def __init__(self, client: RawClient, response_header: str):
        self.c = client
        exts = parse_extensions(response_header)
        assert len(exts) == 1 and exts[0][0] == "permessage-deflate", response_header
        p = dict(exts[0][1])
        self.server_no_context_takeover = "server_no_context_takeover" in p
        self.client_no_context_takeover = "client_no_context_takeover" in p
        self.server_window = int(p["server_max_window_bits"]) if p.get("server_max_window_bits") else 15
        self.client_window = int(p["client_max_window_bits"]) if p.get("client_max_window_bits") else 15
        self._comp = None
        self._decomp = None

    # compression of what we send
    def _compressor(self, reset):
        if self._comp is None or reset or self.client_no_context_takeover:
            if self.client_window == 8:
                # zlib's deflate cannot do a 256-byte window; Huffman-only output has no
                # back-references at all, so it fits any window.
                self._comp = zlib.compressobj(6, zlib.DEFLATED, -9, 8, zlib.Z_HUFFMAN_ONLY)
            else:
                self._comp = zlib.compressobj(6, zlib.DEFLATED, -self.client_window, 8)
        return self._comp

    def compress(self, data: bytes, reset=False) -> bytes:
        c = self._compressor(reset)
        out = c.compress(data) + c.flush(zlib.Z_SYNC_FLUSH)
        assert out.endswith(b"\x00\x00\xff\xff")
        return out[:-4]

    def send_compressed(self, opcode, data: bytes, fragment_size=None, chop=None, reset=False):
        body = self.compress(data, reset=reset)
        self.send_compressed_raw(opcode, body, fragment_size=fragment_size, chop=chop)
        return body

    def send_compressed_raw(self, opcode, body: bytes, fragment_size=None, chop=None):
        if fragment_size is None or fragment_size >= len(body):
            self.c.send(build_frame(opcode, body, rsv=RSV1), chop=chop)
            return
        frames = []
        for i in range(0, len(body), fragment_size):
            chunk = body[i:i + fragment_size]
            last = i + fragment_size >= len(body)
            frames.append(build_frame(opcode if i == 0 else OP_CONT, chunk, fin=last,
                                      rsv=RSV1 if i == 0 else 0))
        self.c.send(b"".join(frames), chop=chop)

    # decompression of what we receive
    def inflate(self, data: bytes) -> bytes:
        if self._decomp is None or self.server_no_context_takeover:
            self._decomp = zlib.decompressobj(-self.server_window)
        d = self._decomp
        # Output in pieces of one window: zlib lets a back-reference reach into the output of
        # the current call, so only small calls make it check distances against the window.
        step = max(64, (1 << self.server_window) // 4)
        pieces = []
        try:
            pieces.append(d.decompress(data + b"\x00\x00\xff\xff", step))
            rounds = 0
            while True:
                rounds += 1
                assert rounds < (1 << 22), "inflate does not progress"
                chunk = d.decompress(d.unconsumed_tail, step)
                if not chunk and not d.unconsumed_tail:
                    break
                pieces.append(chunk)
            out = b"".join(pieces)
        except zlib.error as e:
            raise AssertionError(f"server's compressed message does not inflate with window "
                                 f"{self.server_window} (takeover={not self.server_no_context_takeover}): {e}")
        return out

    def recv(self, timeout=5.0) -> Message:
        m = self.c.recv_message(timeout=timeout)
        for i, f in enumerate(m.frames):
            assert f.rsv & (RSV2 | RSV3) == 0, f"server set RSV2/RSV3: {f}"
            if i > 0:
                assert f.rsv == 0, f"server set RSV1 on a continuation: {f}"
        if m.compressed:
            m.payload = self.inflate(m.payload)
        return m

    def expect(self, opcode, data: bytes, timeout=5.0, compressed=None) -> Message:
        m = self.recv(timeout=timeout)
        assert m.opcode == opcode, f"expected opcode {opcode}, got {m.opcode}"
        if m.payload != data:
            raise AssertionError(f"echo differs: expected {len(data)} bytes {data[:60]!r}, got "
                                 f"{len(m.payload)} bytes {m.payload[:60]!r} (first difference at "
                                 f"{first_diff(data, m.payload)})")
        if compressed is None:
            compressed = len(data) >= 64
        assert m.compressed == compressed, (f"server message of {len(data)} bytes: RSV1={m.compressed}, "
                                            f"expected {compressed} (threshold 64 bytes)")
        return m


# --------------------------------------------------------------------------------------------
# Test data


_TEXT_UNIT = "Hello-µ@ßöäüàá-κόσμε-€-😀-UTF-8!! ".encode("utf-8")


def make_text(nbytes: int, seed: int = 0) -> bytes:
    """Valid UTF-8 of exactly nbytes bytes, with 1-, 2-, 3- and 4-byte characters."""
    unit = _TEXT_UNIT[seed % 7:] + _TEXT_UNIT[:seed % 7]
    # rotate only at ASCII boundaries: the first 6 bytes of the unit are ASCII
    reps = nbytes // len(unit) + 1
    data = (unit * reps)[:nbytes]
    # cut back to a character boundary and pad with ASCII
    end = len(data)
    while end > 0 and (data[end - 1] & 0xC0) == 0x80:
        end -= 1
    if end > 0 and data[end - 1] >= 0xC0:
        end -= 1
    data = data[:end] + b"." * (nbytes - end)
    data.decode("utf-8")
    assert len(data) == nbytes
    return data


def make_binary(nbytes: int, seed: int = 1) -> bytes:
    import random
    return random.Random(seed).randbytes(nbytes)


def fragment_frames(opcode: int, payload: bytes, size: int, rsv_first: int = 0) -> bytes:
    """A message as a sequence of frames of `size` payload bytes each (masked)."""
    if len(payload) <= size:
        return build_frame(opcode, payload, rsv=rsv_first)
    out = []
    for i in range(0, len(payload), size):
        out.append(build_frame(opcode if i == 0 else OP_CONT, payload[i:i + size],
                               fin=i + size >= len(payload), rsv=rsv_first if i == 0 else 0))
    return b"".join(out)


# --------------------------------------------------------------------------------------------
# Timings, printed in the pytest summary

TIMINGS: list = []


def record_timing(name: str, seconds: float):
    TIMINGS.append((name, seconds))
