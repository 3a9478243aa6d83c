"""Third-party client: python3-websockets 10.4 (asyncio API)."""
import asyncio

import pytest
import websockets
import websockets.client
import websockets.exceptions

from wsraw import make_binary, make_text, t


def run(coro, timeout=60):
    return asyncio.run(asyncio.wait_for(coro, t(timeout)))


SIZES = [0, 1, 125, 126, 65535, 65536, 100000, 1 << 20]


@pytest.mark.parametrize("compression", [None, "deflate"], ids=["plain", "deflate"])
def test_websockets_echo(server, compression):
    async def main():
        async with websockets.client.connect(f"ws://127.0.0.1:{server.port}/echo", compression=compression,
                                             max_size=None, open_timeout=t(5)) as ws:
            ext = ws.response_headers.get("Sec-WebSocket-Extensions")
            if compression is None:
                assert ext is None, ext
                assert ws.extensions == []
            else:
                # websockets offers "permessage-deflate; client_max_window_bits"
                assert ext == "permessage-deflate", ext
                assert [e.name for e in ws.extensions] == ["permessage-deflate"]
            assert ws.subprotocol is None
            for n in SIZES:
                text = make_text(n, seed=n).decode()
                await ws.send(text)
                got = await ws.recv()
                assert isinstance(got, str) and got == text, f"text echo of {n} bytes differs"
                data = make_binary(n, seed=n)
                await ws.send(data)
                got = await ws.recv()
                assert isinstance(got, bytes) and got == data, f"binary echo of {n} bytes differs"
            # compressible large content, too
            big = ("kreuz " * 200000)[: 1 << 20]
            await ws.send(big)
            assert await ws.recv() == big
    run(main())


def test_websockets_fragmented_send(server):
    async def main():
        async with websockets.client.connect(f"ws://127.0.0.1:{server.port}/echo", max_size=None) as ws:
            parts = [make_text(1000, seed=i).decode() for i in range(10)]
            await ws.send(iter(parts))  # an iterable is sent as a fragmented message
            assert await ws.recv() == "".join(parts)
    run(main())


def test_websockets_ping_pong(server):
    async def main():
        async with websockets.client.connect(f"ws://127.0.0.1:{server.port}/echo", ping_interval=None) as ws:
            for payload in (b"", b"abc", bytes(range(125))):
                waiter = await ws.ping(payload)
                latency = await asyncio.wait_for(waiter, t(5))
                assert latency is None or latency >= 0
            # pings and data interleaved
            w1 = await ws.ping(b"1")
            await ws.send("between")
            w2 = await ws.ping(b"2")
            assert await ws.recv() == "between"
            await asyncio.wait_for(asyncio.gather(w1, w2), t(5))
    run(main())


def test_websockets_close_1000(server):
    async def main():
        ws = await websockets.client.connect(f"ws://127.0.0.1:{server.port}/echo")
        await ws.send("bye")
        assert await ws.recv() == "bye"
        await ws.close(code=1000, reason="done")
        await ws.wait_closed()
        assert ws.close_code == 1000, ws.close_code
        # the server sent its close frame with the same code
        assert ws.close_rcvd is not None and ws.close_rcvd.code == 1000
    run(main())


@pytest.mark.parametrize("code", [1001, 3000, 4999])
def test_websockets_close_codes(server, code):
    async def main():
        ws = await websockets.client.connect(f"ws://127.0.0.1:{server.port}/echo")
        await ws.close(code=code)
        await ws.wait_closed()
        assert ws.close_rcvd is not None and ws.close_rcvd.code == code
    run(main())


def test_websockets_unknown_path_404(server):
    async def main():
        with pytest.raises(websockets.exceptions.InvalidStatusCode) as ei:
            await websockets.client.connect(f"ws://127.0.0.1:{server.port}/nope")
        assert ei.value.status_code == 404
    run(main())


def test_websockets_many_messages_deflate(server):
    async def main():
        async with websockets.client.connect(f"ws://127.0.0.1:{server.port}/echo", max_size=None) as ws:
            msgs = [make_text(10 + (i * 53) % 4000, seed=i).decode() for i in range(300)]
            for m in msgs:
                await ws.send(m)
            for m in msgs:
                assert await ws.recv() == m
    run(main())
