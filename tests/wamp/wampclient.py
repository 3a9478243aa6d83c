"""A small WAMP v1 test client over Debian's python3-websockets 10.4 (asyncio), plus a raw HTTP
helper for handshake checks.

The client checks everything the router sends against the layouts of wamp-v1.md section 2/3:
WELCOME only first, never PREFIX and never a client->server type, CALLRESULT with exactly 3
elements, CALLERROR with 4 or 5 (details never null), EVENT with exactly 3. It can send any raw
text or binary message, so tests can say byte for byte what goes on the wire.
"""
from __future__ import annotations

import asyncio
import itertools
import json
import os
import re
import socket
import struct
import time
import zlib

import websockets
import websockets.exceptions

SANITIZED = os.environ.get("KREUZ_SANITIZED", "") not in ("", "0")
SLOW = 3.0 if SANITIZED else 1.0


def t(seconds: float) -> float:
    """A timeout in seconds, scaled for sanitized builds."""
    return seconds * SLOW


WELCOME, PREFIX, CALL, CALLRESULT, CALLERROR, SUBSCRIBE, UNSUBSCRIBE, PUBLISH, EVENT = range(9)

PING = "http://api.wamp.ws/procedure#ping"
ECHO = "http://api.wamp.ws/procedure#echo"
DISPATCH = "http://api.testsuite.wamp-proto.org/testee/control#dispatch"
DISPATCH_LEGACY = "http://api.testsuite.wamp.ws/testee/control#dispatch"
NO_SUCH = "http://api.wamp.ws/error#NoSuchRPCEndpoint"
TOO_MANY_CALLS = "urn:kreuz:error:too-many-pending-calls"

# 16 characters as AutobahnPython makes them; a cluster node puts its id and a "." in front.
SESSION_ID_RE = re.compile(r"^(?:[A-Za-z0-9_-]{1,64}\.)?[A-Za-z0-9_-]{16}$")

_ids = itertools.count(1)
OPEN_CLIENTS: list["WampClient"] = []


def no_such(call_id: str, uri: str) -> list:
    """The exact CALLERROR for an unknown procedure (digest section 7)."""
    return [CALLERROR, call_id, NO_SUCH, f"No RPC endpoint registered for {uri}."]


class Closed(Exception):
    """The server closed the connection while a message was awaited."""

    def __init__(self, code, reason):
        super().__init__(f"connection closed by the server with {code} {reason!r}")
        self.code = code
        self.reason = reason


def check_server_message(raw: str) -> list:
    """Parses one message from the router and asserts the layout of its type."""
    try:
        msg = json.loads(raw)
    except ValueError as e:
        raise AssertionError(f"router sent invalid JSON {raw!r}: {e}")
    assert isinstance(msg, list) and msg, f"router sent a non-array or empty array: {raw!r}"
    kind = msg[0]
    assert type(kind) is int, f"element 0 is not an integer: {raw!r}"
    if kind == WELCOME:
        raise AssertionError(f"router sent a second WELCOME: {raw!r}")
    if kind in (PREFIX, CALL, SUBSCRIBE, UNSUBSCRIBE, PUBLISH):
        raise AssertionError(f"router sent a client->server message type {kind}: {raw!r}")
    if kind == CALLRESULT:
        assert len(msg) == 3, f"CALLRESULT must have exactly 3 elements: {raw!r}"
        assert isinstance(msg[1], str), f"CALLRESULT callId not a string: {raw!r}"
    elif kind == CALLERROR:
        assert len(msg) in (4, 5), f"CALLERROR must have 4 or 5 elements: {raw!r}"
        assert all(isinstance(x, str) for x in msg[1:4]), f"CALLERROR callId/uri/desc not strings: {raw!r}"
        if len(msg) == 5:
            assert msg[4] is not None, f"CALLERROR errorDetails must not be null: {raw!r}"
    elif kind == EVENT:
        assert len(msg) == 3, f"EVENT must have exactly 3 elements: {raw!r}"
        assert isinstance(msg[1], str) and msg[1], f"EVENT topic not a non-empty string: {raw!r}"
    else:
        raise AssertionError(f"router sent unknown message type {kind}: {raw!r}")
    return msg


class WampClient:
    def __init__(self, ws, name: str):
        self.ws = ws
        self.name = name
        self.session_id: str | None = None
        self.welcome: list | None = None
        self.welcome_raw: str | None = None

    # ---------------------------------------------------------------- connecting

    @classmethod
    async def connect(cls, port: int, path: str = "/ws", subprotocols=("wamp",), name: str = "",
                      compression="deflate", read_welcome: bool = True) -> "WampClient":
        ws = await asyncio.wait_for(
            websockets.connect(f"ws://127.0.0.1:{port}{path}",
                               subprotocols=list(subprotocols) if subprotocols is not None else None,
                               compression=compression, max_size=None, max_queue=None,
                               ping_interval=None, open_timeout=t(5), close_timeout=t(5)),
            t(6))
        client = cls(ws, name or f"c{next(_ids)}")
        OPEN_CLIENTS.append(client)
        if read_welcome:
            await client.read_welcome()
        return client

    async def read_welcome(self):
        raw = await self.recv_raw()
        msg = json.loads(raw)
        assert isinstance(msg, list) and len(msg) == 4 and type(msg[0]) is int and msg[0] == WELCOME, \
            f"first message is not a 4-element WELCOME: {raw!r}"
        assert isinstance(msg[1], str) and SESSION_ID_RE.match(msg[1]), f"bad session id in {raw!r}"
        assert type(msg[2]) is int and msg[2] == 1, f"protocolVersion must be the integer 1: {raw!r}"
        assert isinstance(msg[3], str), f"serverIdent must be a string: {raw!r}"
        self.welcome, self.welcome_raw, self.session_id = msg, raw, msg[1]
        return msg

    @property
    def id(self) -> str:
        return self.session_id

    async def close(self):
        try:
            await asyncio.wait_for(self.ws.close(), t(5))
        except (asyncio.TimeoutError, OSError, websockets.exceptions.WebSocketException):
            pass
        if self in OPEN_CLIENTS:
            OPEN_CLIENTS.remove(self)

    def abort(self):
        """Drops the TCP connection without a closing handshake."""
        self.ws.transport.abort()
        if self in OPEN_CLIENTS:
            OPEN_CLIENTS.remove(self)

    # ---------------------------------------------------------------- sending

    async def send_raw(self, data):
        """Sends one WebSocket message: str as a text message, bytes as a binary one."""
        await self.ws.send(data)

    async def send(self, msg: list):
        await self.ws.send(json.dumps(msg))

    async def prefix(self, prefix, uri):
        await self.send([PREFIX, prefix, uri])

    async def subscribe(self, topic):
        await self.send([SUBSCRIBE, topic])

    async def unsubscribe(self, topic):
        await self.send([UNSUBSCRIBE, topic])

    async def publish(self, topic, event, *tail):
        await self.send([PUBLISH, topic, event, *tail])

    # ---------------------------------------------------------------- receiving

    async def recv_raw(self, timeout: float = 5.0) -> str:
        try:
            data = await asyncio.wait_for(self.ws.recv(), t(timeout))
        except websockets.exceptions.ConnectionClosed as e:
            raise Closed(e.rcvd.code if e.rcvd else None, e.rcvd.reason if e.rcvd else None) from None
        except asyncio.TimeoutError:
            raise AssertionError(f"{self.name}: nothing received within {t(timeout)} s") from None
        assert isinstance(data, str), f"{self.name}: router sent a binary message {data!r}"
        return data

    async def recv(self, timeout: float = 5.0) -> list:
        return check_server_message(await self.recv_raw(timeout))

    async def call(self, procedure, *args, call_id: str | None = None) -> list:
        """Sends a CALL and returns the reply; asserts nothing else arrives before it."""
        cid = call_id if call_id is not None else f"call-{next(_ids)}"
        await self.send([CALL, cid, procedure, *args])
        msg = await self.recv()
        assert msg[0] in (CALLRESULT, CALLERROR) and msg[1] == cid, \
            f"{self.name}: expected the reply to {cid!r}, got {msg!r}"
        return msg

    async def barrier(self, limit: int = 5000) -> list:
        """A ping round trip. Everything this client sent before has been processed by the
        router, and everything queued to it before has been received, when it returns: the
        messages that arrived before the ping's reply."""
        cid = f"barrier-{next(_ids)}"
        await self.send([CALL, cid, PING])
        before = []
        for _ in range(limit):
            msg = await self.recv()
            if msg[0] in (CALLRESULT, CALLERROR) and msg[1] == cid:
                if msg[0] == CALLRESULT:
                    assert msg == [CALLRESULT, cid, None], f"ping returned {msg!r}"
                return before
            before.append(msg)
        raise AssertionError(f"{self.name}: more than {limit} messages before the barrier reply")

    async def expect_nothing(self):
        got = await self.barrier()
        assert got == [], f"{self.name} ({self.session_id}) expected nothing, got {got!r}"

    async def expect_close(self, code: int, timeout: float = 5.0, limit: int = 100) -> list:
        """Waits for the server's close frame; asserts its code. Returns what arrived before."""
        before = []
        for _ in range(limit):
            try:
                before.append(await self.recv_raw(timeout))
            except Closed as e:
                assert e.code == code, \
                    f"{self.name}: expected close code {code}, got {e.code} {e.reason!r} (after {before!r})"
                return before
        raise AssertionError(f"{self.name}: no close within {limit} messages")

    def is_open(self) -> bool:
        return self.ws.open


async def connect_all(port, n, path="/ws", **kw) -> list[WampClient]:
    return list(await asyncio.gather(*(WampClient.connect(port, path, **kw) for _ in range(n))))


async def close_all_clients():
    clients = list(OPEN_CLIENTS)
    OPEN_CLIENTS.clear()
    await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)


async def receivers(publisher: WampClient, peers: list[WampClient], topic: str, event) -> set[int]:
    """After a publication: which of `peers` (by index) received exactly one [8, topic, event].
    The publisher's barrier makes sure the PUBLISH was processed (its EVENTs are queued before
    the barrier's reply goes out), then each peer's barrier collects what was queued to it."""
    got = {}
    got[id(publisher)] = await publisher.barrier()
    for p in peers:
        if id(p) not in got:
            got[id(p)] = await p.barrier()
    result = set()
    for i, p in enumerate(peers):
        msgs = got[id(p)]
        assert all(m == [EVENT, topic, event] for m in msgs), f"peer {i} got unexpected {msgs!r}"
        assert len(msgs) <= 1, f"peer {i} got the event {len(msgs)} times: {msgs!r}"
        if msgs:
            result.add(i)
    return result


def with_ids(template: str, p0: str, p1: str) -> str:
    """Replaces the tokens p0 and p1 with the JSON strings of the two session ids, in one pass
    (a session id may itself contain "p1")."""
    return re.sub(r"p[01]", lambda m: json.dumps(p0 if m.group(0) == "p0" else p1), template)


def unique(name: str = "t") -> str:
    """A topic URI no other test uses."""
    return f"http://example.com/kreuz-test/{name}#{next(_ids)}-{os.getpid()}-{time.monotonic_ns()}"


# -------------------------------------------------------------------- raw HTTP


class HttpResponse:
    def __init__(self, raw: bytes, eof: bool):
        self.raw = raw
        self.eof = eof
        head, _, self.body = raw.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        self.status_line = lines[0]
        parts = self.status_line.split(" ", 2)
        self.status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
        self.reason = parts[2] if len(parts) > 2 else ""
        self.headers: dict[str, list[str]] = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            self.headers.setdefault(name.strip().lower(), []).append(value.strip())

    def header(self, name: str):
        values = self.headers.get(name.lower())
        return values[0] if values else None

    def __repr__(self):
        return f"<HttpResponse {self.status_line!r} {self.headers!r} body={self.body[:200]!r}>"


def http_raw(port: int, request: bytes, timeout: float = 5.0, until_eof: bool = True) -> HttpResponse:
    """Sends `request` as is and reads the response: until EOF, or (until_eof=False) until the
    end of the head plus Content-Length bytes of body. A 101 response is read up to the end of
    the first WebSocket frame after it."""
    deadline = time.monotonic() + t(timeout)
    with socket.create_connection(("127.0.0.1", port), timeout=t(timeout)) as s:
        s.sendall(request)
        buf = b""
        eof = False
        while time.monotonic() < deadline:
            s.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                eof = True
                break
            if not chunk:
                eof = True
                break
            buf += chunk
            if b"\r\n\r\n" in buf:
                head, _, body = buf.partition(b"\r\n\r\n")
                if head.startswith(b"HTTP/1.1 101"):
                    # an upgrade: stop once the first (short) frame, the WELCOME, is complete
                    if len(body) >= 2 and len(body) >= 2 + (body[1] & 0x7F):
                        break
                    continue
                m = re.search(rb"(?im)^content-length:\s*(\d+)", head)
                if not until_eof and (m is None or len(body) >= int(m.group(1))):
                    break
        return HttpResponse(buf, eof)


def upgrade_request(path: str = "/ws", protocols: str | None = "wamp", extra: str = "") -> bytes:
    req = (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           f"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n")
    if protocols is not None:
        req += f"Sec-WebSocket-Protocol: {protocols}\r\n"
    return (req + extra + "\r\n").encode()


def get_request(path: str, method: str = "GET") -> bytes:
    return f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode("latin-1")


def masked_frame(payload: bytes, opcode: int = 0x1, fin: bool = True) -> bytes:
    """One client frame (RFC 6455 5.2), masked as a client must."""
    mask = os.urandom(4)
    n = len(payload)
    head = bytes([(0x80 if fin else 0) | opcode])
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 65536:
        head += bytes([0x80 | 126]) + struct.pack("!H", n)
    else:
        head += bytes([0x80 | 127]) + struct.pack("!Q", n)
    key = (mask * (n // 4 + 1))[:n]
    masked = (int.from_bytes(payload, "little") ^ int.from_bytes(key, "little")).to_bytes(n, "little")
    return head + mask + masked


def read_http_head(sock) -> tuple[bytes, bytes]:
    """Reads up to the end of an HTTP response head; returns (head, the bytes after it). The head
    is what arrived when the peer closes before finishing it."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            return buf, b""
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    return head, rest


class RawSession:
    """A blocking WAMP v1 session on a plain socket, to see every frame and the EOF. With a small
    receive buffer (the default) it reads only when told to, so the router's queue for it fills
    up exactly as a stalled browser tab's would. With deflate=True it offers permessage-deflate
    (the router's defaults: context takeover both ways) and inflates what it reads; without, it
    asserts that no extension was agreed and no RSV bit is set."""

    def __init__(self, port, rcvbuf=4096, deflate=False, path="/ws"):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf is not None:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.settimeout(t(10))
        self.sock.connect(("127.0.0.1", port))
        extra = "Sec-WebSocket-Extensions: permessage-deflate\r\n" if deflate else ""
        self.sock.sendall(upgrade_request(path, extra=extra))
        self.deflate = deflate
        self.inflater = zlib.decompressobj(-15)
        self.eof = False
        head, self.buf = read_http_head(self.sock)
        assert head.startswith(b"HTTP/1.1 101"), head
        assert deflate or b"sec-websocket-extensions" not in head.lower(), head
        welcome = self.recv()
        assert welcome[0] == WELCOME, welcome
        self.id = welcome[1]

    def send_frame(self, opcode, payload: bytes):
        self.sock.settimeout(t(10))  # reads leave their own deadline on the socket
        self.sock.sendall(masked_frame(payload, opcode))

    def send(self, msg):
        self.send_frame(0x1, json.dumps(msg).encode())

    def _fill(self, deadline):
        self.sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            chunk = self.sock.recv(1 << 20)
        except socket.timeout:
            raise AssertionError("nothing received in time")
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            self.eof = True
        self.buf += chunk

    def next_frame(self, timeout=10.0):
        """(opcode, payload), inflated when compressed; None at EOF."""
        deadline = time.monotonic() + t(timeout)
        while True:
            if len(self.buf) >= 2:
                b0, b1 = self.buf[0], self.buf[1]
                assert b1 & 0x80 == 0, "the server masked a frame"
                assert b0 & 0x70 == 0 or (self.deflate and b0 & 0x70 == 0x40), "RSV bits without an extension"
                n, pos = b1 & 0x7F, 2
                if n == 126 and len(self.buf) >= 4:
                    n, pos = struct.unpack("!H", self.buf[2:4])[0], 4
                elif n == 127 and len(self.buf) >= 10:
                    n, pos = struct.unpack("!Q", self.buf[2:10])[0], 10
                if (b1 & 0x7F) < 126 or pos > 2:
                    if len(self.buf) >= pos + n:
                        assert b0 & 0x80, "fragmented frame"
                        payload = self.buf[pos:pos + n]
                        self.buf = self.buf[pos + n:]
                        if b0 & 0x40:
                            payload = self.inflater.decompress(payload + b"\x00\x00\xff\xff")
                        return b0 & 0x0F, payload
            if self.eof:
                assert not self.buf, f"EOF inside a frame: {self.buf[:50]!r}"
                return None
            assert time.monotonic() < deadline, "no complete frame in time"
            self._fill(deadline)

    def recv(self, timeout=10.0):
        """The next WAMP message; ConnectionError at a Close or the EOF."""
        frame = self.next_frame(timeout)
        if frame is None:
            raise ConnectionError("EOF")
        opcode, payload = frame
        if opcode == 0x8:
            raise ConnectionError(f"Close {payload[:2].hex()}")
        return json.loads(payload)

    def frames_until_eof(self, timeout=10.0):
        """Every frame up to the end of the connection; a Close is answered, as a client does."""
        frames = []
        deadline = time.monotonic() + t(timeout)
        while True:
            frame = self.next_frame(max(0.1, (deadline - time.monotonic()) / t(1)))
            if frame is None:
                return frames
            frames.append(frame)
            if frame[0] == 0x8:
                self.send_frame(0x8, frame[1][:2])

    def barrier(self):
        """A #ping round trip: everything sent before it has been handled."""
        self.send([2, "barrier", "http://api.wamp.ws/procedure#ping"])
        while True:
            msg = self.recv()
            if msg[0] in (CALLRESULT, CALLERROR) and msg[1] == "barrier":
                return

    def ended(self, timeout):
        """True once the router has closed this connection (Close frame, EOF or RST)."""
        deadline = time.monotonic() + t(timeout)
        # a wider window, or the MiBs the kernel holds would trickle through 4 KiB at a time
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self.sock.settimeout(0.2)
        while time.monotonic() < deadline:
            try:
                if not self.sock.recv(1 << 20):
                    return True
            except socket.timeout:
                continue
            except OSError:
                return True
        return False

    def reset(self):
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()

    def close(self):
        self.sock.close()

