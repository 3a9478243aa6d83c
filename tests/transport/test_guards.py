"""Connection guards: total and per-address connection limits, handshakes in flight, the
slowloris defence of the handshake timeout, the per-connection message rate limit, and the
Origin allow-list. Each guard that trips leaves the other connections untouched."""
import select
import socket
import time

from wsraw import OP_TEXT, RawClient, build_frame

ORIGIN_CONFIG = """
realms:
  - name: browsers
    paths: [/ws]
    accept_no_subprotocol: true
    allowed_origins: ["https://good.example", "http://localhost:8080"]
"""


def refused_with(port, reason, source=None):
    """Connects (optionally from a given local address) and expects the one-line 503."""
    s = socket.socket()
    s.settimeout(5)
    if source:
        s.bind((source, 0))
    s.connect(("127.0.0.1", port))
    data = b""
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    s.close()
    assert data.startswith(f"HTTP/1.1 503 {reason}\r\n".encode()), data


def test_max_connections(make_server):
    srv = make_server("--max-connections", "3")
    clients = [srv.ws() for _ in range(3)]
    refused_with(srv.port, "too many connections")
    for i, c in enumerate(clients):
        c.echo(OP_TEXT, f"still here {i}".encode())
    clients[0].close_handshake(1000)
    clients[0].close()
    time.sleep(0.3)  # the server sees the FIN and lets the connection go
    srv.ws().echo(OP_TEXT, b"a place came free")


def test_max_connections_per_ip(make_server):
    srv = make_server("--max-connections-per-ip", "2")
    a, b = srv.ws(), srv.ws()
    refused_with(srv.port, "too many connections from this address")
    # Another loopback address is another client.
    s = socket.socket()
    s.settimeout(5)
    s.bind(("127.0.0.2", 0))
    s.connect(("127.0.0.1", srv.port))
    s.sendall(b"GET /echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
    assert s.recv(4096).startswith(b"HTTP/1.1 101 ")
    s.close()
    a.echo(OP_TEXT, b"a")
    b.echo(OP_TEXT, b"b")


def test_max_handshakes_in_flight(make_server):
    srv = make_server("--max-handshakes", "2", "--handshake-timeout-ms", "3000")
    time.sleep(0.2)  # the fixture's readiness probe must be gone: it too was a handshake in flight
    idle = [RawClient(srv.port) for _ in range(2)]
    time.sleep(0.2)
    refused_with(srv.port, "too many handshakes in progress")
    # Completing one handshake makes room.
    idle[0].handshake("/echo")
    time.sleep(0.1)
    srv.ws().echo(OP_TEXT, b"room again")


def test_slowloris_is_cut_at_the_handshake_timeout(make_server):
    """Trickling one header byte at a time does not extend the handshake timeout."""
    srv = make_server("--handshake-timeout-ms", "600")
    c = RawClient(srv.port)
    request = b"GET /echo HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100
    start = time.monotonic()
    for byte in request:
        c.sock.send(bytes([byte]))
        readable, _, _ = select.select([c.sock], [], [], 0.05)
        if readable:
            break
    resp = c.read_http_response(timeout=3)
    assert resp.status == 408, resp.raw_head
    assert time.monotonic() - start < 2
    srv.ws().echo(OP_TEXT, b"others unaffected")


def test_message_rate_limit(make_server):
    srv = make_server("--message-rate", "5", "--message-burst", "5")
    calm = srv.ws()
    flood = srv.ws()
    flood.send(b"".join(build_frame(OP_TEXT, f"m{i}".encode()) for i in range(20)))
    got = []
    frame = flood.recv_frame()
    while frame.opcode == OP_TEXT:
        got.append(frame.payload)
        frame = flood.recv_frame()
    assert got == [f"m{i}".encode() for i in range(5)]
    assert frame.close_code == 1008
    assert frame.close_reason == b"message rate limit exceeded"
    # The bucket refills: a well-behaved connection keeps talking.
    for i in range(3):
        calm.echo(OP_TEXT, f"calm {i}".encode())
        time.sleep(0.25)


def test_origin_allow_list(make_server, tmp_path):
    config = tmp_path / "origins.yaml"
    config.write_text(ORIGIN_CONFIG)
    srv = make_server("--config", str(config))
    bad = RawClient(srv.port)
    resp = bad.handshake("/ws", headers=[("Origin", "https://evil.example")], expect_status=403)
    assert resp.reason == "origin not allowed"
    RawClient(srv.port).handshake("/ws", headers=[("Origin", "HTTPS://GOOD.EXAMPLE")])
    RawClient(srv.port).handshake("/ws", headers=[("Origin", "http://localhost:8080")])
    RawClient(srv.port).handshake("/ws")  # no Origin: not a browser, not affected
