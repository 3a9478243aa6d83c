"""Category 13: permessage-deflate parameters. The exact Sec-WebSocket-Extensions response to
each offer, declined offers, and echoes under every agreed window size and takeover mode."""
import pytest

from wsraw import OP_BINARY, OP_TEXT, RSV1, DeflateClient, build_frame, make_binary, make_text

PMD = "permessage-deflate"

# offer -> exact response value (None: no Sec-WebSocket-Extensions header at all)
NEGOTIATION = [
    (PMD, PMD),
    (f"{PMD}; client_max_window_bits", PMD),
    (f"{PMD}; server_no_context_takeover", f"{PMD}; server_no_context_takeover"),
    (f"{PMD}; client_no_context_takeover", f"{PMD}; client_no_context_takeover"),
    (f"{PMD}; server_max_window_bits=10", f"{PMD}; server_max_window_bits=10"),
    (f"{PMD}; server_max_window_bits=8", f"{PMD}; server_max_window_bits=8"),
    (f"{PMD}; server_max_window_bits=15", f"{PMD}; server_max_window_bits=15"),
    (f"{PMD}; client_max_window_bits=12", f"{PMD}; client_max_window_bits=12"),
    (f"{PMD}; client_max_window_bits=8", f"{PMD}; client_max_window_bits=8"),
    (f"{PMD}; client_max_window_bits=15", f"{PMD}; client_max_window_bits=15"),
    (f"{PMD}; client_max_window_bits=9; server_max_window_bits=8; client_no_context_takeover; "
     f"server_no_context_takeover",
     f"{PMD}; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=8; "
     f"client_max_window_bits=9"),
    (f"{PMD}; client_no_context_takeover; server_no_context_takeover",
     f"{PMD}; server_no_context_takeover; client_no_context_takeover"),
    (f"{PMD}; client_max_window_bits; server_max_window_bits=11",
     f"{PMD}; server_max_window_bits=11"),
    (f"{PMD};client_max_window_bits=10;server_no_context_takeover",
     f"{PMD}; server_no_context_takeover; client_max_window_bits=10"),
    # invalid offers are declined; the next offer is tried
    (f"{PMD}; server_max_window_bits=7, {PMD}; client_no_context_takeover", f"{PMD}; client_no_context_takeover"),
    (f"{PMD}; server_max_window_bits=16, {PMD}", PMD),
    (f"x-webkit-deflate-frame, {PMD}", PMD),
    (f"foo; bar=1, {PMD}; server_no_context_takeover", f"{PMD}; server_no_context_takeover"),
    (f"{PMD}; unknown_param, {PMD}; client_max_window_bits=9", f"{PMD}; client_max_window_bits=9"),
    # nothing acceptable
    (f"{PMD}; server_max_window_bits=7", None),
    (f"{PMD}; server_max_window_bits=16", None),
    (f"{PMD}; server_max_window_bits", None),
    (f"{PMD}; server_max_window_bits=abc", None),
    (f"{PMD}; client_max_window_bits=7", None),
    (f"{PMD}; client_max_window_bits=16", None),
    (f"{PMD}; client_max_window_bits=x", None),
    (f"{PMD}; server_no_context_takeover; server_no_context_takeover", None),
    (f"{PMD}; client_max_window_bits=10; client_max_window_bits=11", None),
    (f"{PMD}; server_no_context_takeover=1", None),
    (f"{PMD}; client_no_context_takeover=yes", None),
    (f"{PMD}; foo", None),
    (f"{PMD}; foo=bar", None),
    ("x-webkit-deflate-frame", None),
    ("deflate-frame; no_context_takeover", None),
]


@pytest.mark.parametrize("offer,expected", NEGOTIATION, ids=[f"{i}" for i in range(len(NEGOTIATION))])
def test_13_negotiation_response(server, offer, expected):
    c = server.client()
    resp = c.handshake("/echo", extensions=offer)
    got = resp.header_all("Sec-WebSocket-Extensions")
    if expected is None:
        assert got == [], f"offer {offer!r}: expected no extension, got {got!r}"
        # and RSV1 is then a protocol error
        c.echo(OP_TEXT, "plain")
        c.send(build_frame(OP_TEXT, b"\xf2\x48\xcd\xc9\xc9\x07\x00", rsv=RSV1))
        c.expect_close(1002)
    else:
        assert got == [expected], f"offer {offer!r}: expected {expected!r}, got {got!r}"
        d = DeflateClient(c, expected)
        data = make_text(3000, seed=len(offer))
        d.send_compressed(OP_TEXT, data)
        d.expect(OP_TEXT, data)


def test_13_offer_in_two_header_lines(server):
    """Repeated Sec-WebSocket-Extensions fields form one list (RFC 9110 5.3)."""
    c = server.client()
    resp = c.handshake("/echo", headers=[("Sec-WebSocket-Extensions", "x-foo"),
                                         ("Sec-WebSocket-Extensions", f"{PMD}; client_no_context_takeover")])
    assert resp.header_all("Sec-WebSocket-Extensions") == [f"{PMD}; client_no_context_takeover"]


def test_13_no_deflate_flag(make_server):
    srv = make_server("--no-deflate")
    for offer in (PMD, f"{PMD}; client_max_window_bits", f"{PMD}; server_max_window_bits=10, {PMD}"):
        c = srv.client()
        resp = c.handshake("/echo", extensions=offer)
        assert resp.header_all("Sec-WebSocket-Extensions") == [], resp.raw_head
        data = make_text(5000)
        c.echo(OP_TEXT, data)  # plain echo: no RSV1 from the server
        c.send(build_frame(OP_TEXT, b"\xf2\x48\xcd\xc9\xc9\x07\x00", rsv=RSV1))
        c.expect_close(1002)


def _long_distance(w, seed):
    """A message whose best compression references bytes more than 2**w back: a server that
    ignores server_max_window_bits=w produces distances our inflater (window w) rejects."""
    blk = make_binary(min(3 << (w - 1), 30000), seed=seed)  # distance 1.5 windows
    return blk + blk + blk


def _session(server, offer, expected_response):
    c = server.client()
    resp = c.handshake("/echo", extensions=offer)
    assert resp.header_all("Sec-WebSocket-Extensions") == [expected_response], resp.raw_head
    return c, DeflateClient(c, expected_response)


def _exercise(c, d, seed):
    msgs = [
        (OP_TEXT, make_text(100, seed)),
        (OP_TEXT, make_text(100, seed)),          # identical: context reuse if allowed
        (OP_BINARY, _long_distance(d.server_window, seed)),
        (OP_BINARY, _long_distance(d.server_window, seed)),
        (OP_TEXT, make_text(70000, seed + 1)),
        (OP_BINARY, make_binary(5000, seed)),
        (OP_BINARY, bytes(200000)),
        (OP_TEXT, b"short"),
        (OP_TEXT, make_text(64, seed)),
    ]
    for op, data in msgs:
        d.send_compressed(op, data)
        d.expect(op, data, timeout=10)
    # fragmented compressed message under the same parameters
    data = make_text(20000, seed + 2)
    d.send_compressed(OP_TEXT, data, fragment_size=500)
    d.expect(OP_TEXT, data)
    c.close_handshake(1000)


@pytest.mark.parametrize("bits", range(8, 16))
def test_13_server_max_window_bits(server, bits):
    offer = f"{PMD}; server_max_window_bits={bits}"
    c, d = _session(server, offer, offer)
    _exercise(c, d, bits)


@pytest.mark.parametrize("bits", range(8, 16))
def test_13_client_max_window_bits(server, bits):
    offer = f"{PMD}; client_max_window_bits={bits}"
    c, d = _session(server, offer, offer)
    _exercise(c, d, bits)


@pytest.mark.parametrize("bits", range(8, 16))
def test_13_both_window_bits_and_no_context_takeover(server, bits):
    offer = (f"{PMD}; client_max_window_bits={bits}; server_max_window_bits={bits}; "
             f"client_no_context_takeover; server_no_context_takeover")
    expected = (f"{PMD}; server_no_context_takeover; client_no_context_takeover; "
                f"server_max_window_bits={bits}; client_max_window_bits={bits}")
    c, d = _session(server, offer, expected)
    _exercise(c, d, bits + 100)


@pytest.mark.parametrize("flags", [
    "server_no_context_takeover",
    "client_no_context_takeover",
    "server_no_context_takeover; client_no_context_takeover",
])
def test_13_no_context_takeover(server, flags):
    offer = f"{PMD}; {flags}"
    c, d = _session(server, offer, offer)
    _exercise(c, d, 7)


def test_13_server_no_context_takeover_is_honoured(server):
    """With server_no_context_takeover every server message must inflate on its own: our
    DeflateClient uses a fresh inflater per message, so a reference into the previous message
    fails. Identical consecutive messages make such references tempting."""
    offer = f"{PMD}; server_no_context_takeover"
    c, d = _session(server, offer, offer)
    data = make_binary(3000, seed=77)
    for _ in range(5):
        d.send_compressed(OP_BINARY, data)
        d.expect(OP_BINARY, data)


def test_13_client_no_context_takeover_resets_server_inflater(server):
    """We agreed client_no_context_takeover: each of our messages is a fresh stream. A server
    that wrongly kept its inflater window would still decode these, so this checks the other
    direction: a server that resets per message must not choke on fresh streams."""
    offer = f"{PMD}; client_no_context_takeover"
    c, d = _session(server, offer, offer)
    for i in range(5):
        data = make_text(2000, seed=1)
        d.send_compressed(OP_TEXT, data)
        d.expect(OP_TEXT, data)


def test_13_context_takeover_default(server):
    """Without client_no_context_takeover the server must keep its inflater window across
    messages: our second message refers back into the first."""
    c, d = _session(server, PMD, PMD)
    data = make_binary(8000, seed=5)
    sizes = []
    for _ in range(3):
        sizes.append(len(d.send_compressed(OP_BINARY, data)))
        d.expect(OP_BINARY, data)
    assert sizes[1] < sizes[0] // 10, f"test setup: no back-reference in our second message {sizes}"
