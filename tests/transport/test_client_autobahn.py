"""Third-party client: python3-autobahn 22.7.1 (asyncio WebSocketClientProtocol), with
permessage-deflate offers of many parameter combinations."""
import asyncio

import pytest
from autobahn.asyncio.websocket import WebSocketClientFactory, WebSocketClientProtocol
from autobahn.websocket.compress import (PerMessageDeflateOffer, PerMessageDeflateResponse,
                                         PerMessageDeflateResponseAccept)
from autobahn.websocket.compress_deflate import PerMessageDeflateMixin

from wsraw import make_binary, make_text, t


def _messages(seed):
    out = []
    for i, n in enumerate([0, 10, 63, 64, 200, 5000, 70000, 300000]):
        out.append((make_text(n, seed + i), False))
        out.append((make_binary(n, seed + i), True))
    out.append((("autobahn " * 40000).encode(), False))  # very compressible
    out.append((make_text(100, seed), False))
    out.append((make_text(100, seed), False))  # identical: context takeover in play
    return out


def run_client(port, offers=None, messages=(), pings=(), close_code=1000, timeout=30):
    """Connects, echoes `messages` one by one, sends `pings`, then closes with close_code.
    Returns a dict with what happened."""
    result = {"accepted": None, "echoes": 0, "pongs": [], "close": None, "ext_header": None,
              "errors": []}

    async def main():
        loop = asyncio.get_running_loop()
        done = loop.create_future()
        queue = list(messages)

        class Client(WebSocketClientProtocol):
            def onOpen(self):
                result["ext_header"] = self.http_headers.get("sec-websocket-extensions")
                result["extensions"] = list(self.websocket_extensions_in_use)
                for p in pings:
                    self.sendPing(p)
                self._next()

            def _next(self):
                if queue:
                    payload, binary = queue[0]
                    self.sendMessage(payload, isBinary=binary)
                elif len(result["pongs"]) == len(pings):
                    self.sendClose(code=close_code)

            def onPong(self, payload):
                result["pongs"].append(payload)
                if not queue:
                    self._next()

            def onMessage(self, payload, isBinary):
                expected, binary = queue.pop(0)
                if payload != expected or isBinary != binary:
                    result["errors"].append(f"echo {result['echoes']} differs: {len(expected)} bytes binary="
                                            f"{binary} -> {len(payload)} bytes binary={isBinary}")
                result["echoes"] += 1
                self._next()

            def onClose(self, wasClean, code, reason):
                if not done.done():
                    done.set_result((wasClean, code, reason))

        factory = WebSocketClientFactory(f"ws://127.0.0.1:{port}/echo")
        factory.protocol = Client
        if offers is not None:
            def accept(response):
                if isinstance(response, PerMessageDeflateResponse):
                    result["accepted"] = response
                    return PerMessageDeflateResponseAccept(response)
                return None
            factory.setProtocolOptions(perMessageCompressionOffers=offers, perMessageCompressionAccept=accept)
        factory.setProtocolOptions(openHandshakeTimeout=t(5), closeHandshakeTimeout=t(5))
        transport, _proto = await loop.create_connection(factory, "127.0.0.1", port)
        try:
            result["close"] = await asyncio.wait_for(done, t(timeout))
        finally:
            transport.close()

    asyncio.run(main())
    return result


def test_autobahn_plain_echo(server):
    msgs = _messages(1) + [(make_binary(1 << 20, 2), True)]
    r = run_client(server.port, messages=msgs, pings=[b"", b"ping-1", bytes(range(125))])
    assert not r["errors"], r["errors"]
    assert r["echoes"] == len(msgs)
    assert r["pongs"] == [b"", b"ping-1", bytes(range(125))]
    assert r["ext_header"] is None
    assert r["close"] == (True, 1000, None) or r["close"][:2] == (True, 1000), r["close"]


# (accept_no_context_takeover, accept_max_window_bits, request_no_context_takeover,
#  request_max_window_bits) -> the exact response header
OFFERS = [
    ((False, False, False, 0), "permessage-deflate"),
    ((True, False, False, 0), "permessage-deflate; client_no_context_takeover"),
    ((False, True, False, 0), "permessage-deflate"),
    ((True, True, False, 0), "permessage-deflate; client_no_context_takeover"),
    ((False, False, True, 0), "permessage-deflate; server_no_context_takeover"),
    ((True, True, True, 0), "permessage-deflate; server_no_context_takeover; client_no_context_takeover"),
] + [
    ((False, False, False, bits), f"permessage-deflate; server_max_window_bits={bits}") for bits in range(9, 16)
] + [
    ((True, True, True, bits),
     f"permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits={bits}")
    for bits in (9, 12, 15)
]


@pytest.mark.parametrize("params,expected", OFFERS, ids=[
    "anct={}-amwb={}-rnct={}-rmwb={}".format(*p) for p, _ in OFFERS])
def test_autobahn_deflate_offers(server, params, expected):
    offer = PerMessageDeflateOffer(*params)
    msgs = _messages(sum(params))
    r = run_client(server.port, offers=[offer], messages=msgs, pings=[b"with deflate"])
    assert r["ext_header"] == expected, f"offer {offer.get_extension_string()!r}: response {r['ext_header']!r}"
    acc = r["accepted"]
    assert acc is not None
    assert acc.server_no_context_takeover == params[2]
    assert acc.client_no_context_takeover == params[0]
    assert acc.server_max_window_bits == params[3]
    assert len(r["extensions"]) == 1
    assert not r["errors"], r["errors"]
    assert r["echoes"] == len(msgs)
    assert r["close"][:2] == (True, 1000), r["close"]


def test_autobahn_deflate_server_window_8(server, monkeypatch):
    """autobahn only knows window sizes 9-15; with 8 allowed, it inflates the server's messages
    with a 256-byte window, which only works if the server really keeps to it."""
    monkeypatch.setattr(PerMessageDeflateMixin, "WINDOW_SIZE_PERMISSIBLE_VALUES", list(range(8, 16)))
    offer = PerMessageDeflateOffer(False, False, False, 8)
    msgs = _messages(8)
    r = run_client(server.port, offers=[offer], messages=msgs)
    assert r["ext_header"] == "permessage-deflate; server_max_window_bits=8"
    assert not r["errors"], r["errors"]
    assert r["echoes"] == len(msgs)
    assert r["close"][:2] == (True, 1000), r["close"]


def test_autobahn_several_offers_first_acceptable_wins(server):
    offers = [PerMessageDeflateOffer(True, False, True, 10), PerMessageDeflateOffer()]
    r = run_client(server.port, offers=offers, messages=_messages(3))
    assert r["ext_header"] == ("permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
                               "server_max_window_bits=10")
    assert not r["errors"], r["errors"]


@pytest.mark.parametrize("code", [1000, 3000, 4000, 4999])  # autobahn itself sends no others
def test_autobahn_close_codes(server, code):
    r = run_client(server.port, messages=[(b"x", False)], close_code=code)
    assert r["close"][:2] == (True, code), r["close"]
