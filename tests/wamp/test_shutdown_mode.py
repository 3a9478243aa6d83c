"""websocket.shutdown_mode (docs/CONFIG.md): on SIGTERM the default ("close") sends every open
WAMP session a Close 1001; "drop" sends no Close frame at all: what was queued still leaves,
then the TCP connection ends, so clients see an unclean close (1006) and reconnect. Checked
with python3-websockets and with a raw socket that reads every frame; the router exits 0 in
both modes."""
import asyncio
import json
import signal
import socket
import struct
import time

import websockets.exceptions

import conftest
from wampclient import CALL, CALLRESULT, EVENT, PING, SUBSCRIBE, RawSession, WampClient, t, unique

N_EVENTS = 100
EVENT_SIZE = 8000  # 800 kB queued to a raw client that does not read: more than the socket buffers hold


async def subscribed_raw(port, topic) -> RawSession:
    raw = await asyncio.to_thread(RawSession, port, None)
    raw.send([SUBSCRIBE, topic])
    raw.send([CALL, "sync", PING])
    frame = await asyncio.to_thread(raw.next_frame)
    assert frame == (1, frame[1]) and json.loads(frame[1]) == [CALLRESULT, "sync", None], frame
    return raw


async def queue_events(port, topic, ws_sub, raw_sub):
    """The publisher's barrier returns once every EVENT is queued to both subscribers; the raw
    one has read none of them, the websockets one has them in its buffers."""
    pub = await WampClient.connect(port)
    for i in range(N_EVENTS):
        await pub.publish(topic, {"i": i, "pad": "x" * EVENT_SIZE})
    await pub.barrier()
    return pub


def expected_events(topic):
    return [[EVENT, topic, {"i": i, "pad": "x" * EVENT_SIZE}] for i in range(N_EVENTS)]


async def ws_messages_until_closed(client, timeout=10.0):
    """Every message up to the end, and the ConnectionClosed that ended them."""
    msgs = []
    deadline = time.monotonic() + t(timeout)
    while True:
        try:
            data = await asyncio.wait_for(client.ws.recv(), max(0.1, deadline - time.monotonic()))
        except websockets.exceptions.ConnectionClosed as e:
            return msgs, e
        except asyncio.TimeoutError:
            raise AssertionError(f"the connection did not end within {t(timeout)} s (after {len(msgs)} messages)")
        msgs.append(json.loads(data))


async def sigterm_and_wait(srv, timeout=10.0) -> int:
    srv.proc.send_signal(signal.SIGTERM)
    srv.stopped = True  # this test stops it; the fixture must not
    try:
        return await asyncio.wait_for(asyncio.to_thread(srv.proc.wait), t(timeout))
    except asyncio.TimeoutError:
        srv.proc.kill()
        srv.proc.wait()
        raise AssertionError(f"kreuz did not exit within {t(timeout)} s of SIGTERM\n{srv.log_tail()}")


async def run_shutdown(srv, expect_close_frame: bool):
    topic = unique("shutdown")
    sub = await WampClient.connect(srv.port)
    await sub.subscribe(topic)
    await sub.barrier()
    raw = await subscribed_raw(srv.port, topic)
    try:
        pub = await queue_events(srv.port, topic, sub, raw)
        started = time.monotonic()
        srv.proc.send_signal(signal.SIGTERM)
        srv.stopped = True
        raw_frames, (ws_msgs, ws_end), (pub_msgs, pub_end) = await asyncio.gather(
            asyncio.to_thread(raw.frames_until_eof),
            ws_messages_until_closed(sub),
            ws_messages_until_closed(pub))
    finally:
        raw.close()
    try:
        rc = await asyncio.wait_for(asyncio.to_thread(srv.proc.wait), t(10))
    except asyncio.TimeoutError:
        srv.proc.kill()
        srv.proc.wait()
        raise AssertionError(f"kreuz did not exit within {t(10)} s of SIGTERM\n{srv.log_tail()}")
    assert rc == 0, f"kreuz exited with {conftest.describe_rc(rc)}\n{srv.log_tail()}"
    assert time.monotonic() - started < t(8), "the shutdown took longer than expected"

    events = expected_events(topic)
    # everything queued before the signal still arrived, in order, before the end
    texts = [json.loads(p) for op, p in raw_frames if op == 1]
    assert texts == events, f"raw client got {len(texts)} of {N_EVENTS} events"
    assert ws_msgs == events, f"websockets client got {len(ws_msgs)} of {N_EVENTS} events"
    assert pub_msgs == []
    closes = [p for op, p in raw_frames if op == 8]
    if expect_close_frame:
        assert raw_frames[-1][0] == 8 and len(closes) == 1, [op for op, _ in raw_frames]
        assert struct.unpack("!H", closes[0][:2])[0] == 1001, closes
        for end in (ws_end, pub_end):
            assert end.rcvd is not None and end.rcvd.code == 1001, end
    else:
        assert closes == [], "drop mode sent a Close frame"
        assert [op for op, _ in raw_frames] == [1] * N_EVENTS, [op for op, _ in raw_frames]
        for end in (ws_end, pub_end):
            assert end.rcvd is None, f"drop mode: a Close frame arrived: {end}"
            assert end.code == 1006, end
    return srv.log()


async def test_drop_mode_sends_no_close_frame(make_server):
    srv = make_server("websocket: {shutdown_mode: drop}\n")
    await run_shutdown(srv, expect_close_frame=False)


async def test_default_mode_sends_close_1001(make_server):
    srv = make_server(None)
    await run_shutdown(srv, expect_close_frame=True)


async def test_explicit_close_mode_sends_close_1001(make_server):
    srv = make_server("websocket: {shutdown_mode: close}\n")
    await run_shutdown(srv, expect_close_frame=True)


class CliServer(conftest.KreuzServer):
    """The router started with extra command-line options."""

    def __init__(self, extra):
        super().__init__(None)
        self.extra = extra

    @property
    def args(self):
        return super().args + self.extra


async def test_drop_mode_from_the_command_line():
    srv = CliServer(["--shutdown-mode", "drop"])
    conftest.ALL_SERVERS.append(srv)
    srv.start()
    try:
        await run_shutdown(srv, expect_close_frame=False)
    finally:
        srv.kill()


async def test_drop_mode_with_idle_and_half_open_connections(make_server):
    """Connections that are not WAMP sessions (still in the handshake, plain HTTP) do not hold
    the shutdown up, and the router exits 0."""
    srv = make_server("websocket: {shutdown_mode: drop}\n")
    idle = socket.create_connection(("127.0.0.1", srv.port), timeout=t(5))
    half = socket.create_connection(("127.0.0.1", srv.port), timeout=t(5))
    half.sendall(b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # an unfinished head
    c = await WampClient.connect(srv.port)
    assert await c.call(PING, call_id="p") == [CALLRESULT, "p", None]
    try:
        started = time.monotonic()
        rc = await sigterm_and_wait(srv)
        assert rc == 0, f"kreuz exited with {conftest.describe_rc(rc)}\n{srv.log_tail()}"
        assert time.monotonic() - started < t(8)
        msgs, end = await ws_messages_until_closed(c)
        assert msgs == [] and end.rcvd is None and end.code == 1006, (msgs, end)
        for s in (idle, half):
            s.settimeout(t(5))
            try:
                data = s.recv(100)
            except ConnectionResetError:
                data = b""
            assert data == b"", f"a connection in the handshake got {data!r} instead of its end"
    finally:
        idle.close()
        half.close()
