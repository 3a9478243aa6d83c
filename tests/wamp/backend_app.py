"""An HTTP/1.1 backend for the tests of procedures served by HTTP backends, on the standard
library only (asyncio streams), with keep-alive, so that connection reuse can be observed and
a thousand slow requests can be open at once.

    python3 backend_app.py            prints "PORT <n>" once it listens on 127.0.0.1:<n>

The path chooses the answer; a query may change it:

    /reflect              200 {"method", "path", "headers" (lower-case names), "body" (parsed JSON)}
    /answer?status=500&body=<text>&type=<content type>&delay=<seconds>
                          that status and body, after that delay (defaults 200, "null", application/json, 0)
    /big?size=<n>         200 with a JSON string of n characters plus its quotes
    /garbage              a line that is not HTTP, then the connection is closed
    /_stats               {"connections": accepted so far, "requests": count, "active": now, "peak": most at once}
    /_log                 the last 2000 requests as the reflect answers describe them
    /_reset               zeroes the counters and empties the log

Every path but /reflect and /_* takes `delay`.
"""
import asyncio
import collections
import json
import resource
import sys
import urllib.parse


class Stats:
    def __init__(self):
        self.reset()

    def reset(self):
        self.connections = 0
        self.requests = 0
        self.active = 0
        self.peak = 0
        self.log = collections.deque(maxlen=2000)


stats = Stats()


def response(status, body: bytes, content_type="application/json", close=False) -> bytes:
    head = (f"HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
            f"Connection: {'close' if close else 'keep-alive'}\r\n\r\n")
    return head.encode("latin-1") + body


async def read_request(reader):
    """(method, target, headers, body) or None at a clean end of the connection."""
    line = await reader.readline()
    if not line:
        return None
    method, target, _version = line.decode("latin-1").rstrip("\r\n").split(" ", 2)
    headers = {}
    while True:
        h = (await reader.readline()).decode("latin-1").rstrip("\r\n")
        if not h:
            break
        name, _, value = h.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    body = await reader.readexactly(length) if length else b""
    return method, target, headers, body


async def answer(method, target, headers, body):
    """(bytes to send, close after them)."""
    url = urllib.parse.urlsplit(target)
    query = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
    path = url.path
    if path == "/_stats":
        return response(200, json.dumps({"connections": stats.connections, "requests": stats.requests,
                                         "active": stats.active, "peak": stats.peak}).encode()), False
    if path == "/_log":
        return response(200, json.dumps(list(stats.log)).encode()), False
    if path == "/_reset":
        stats.reset()
        return response(200, b"null"), False
    try:
        parsed = json.loads(body) if body else None
    except ValueError:
        parsed = body.decode("utf-8", "replace")
    seen = {"method": method, "path": path, "headers": headers, "body": parsed}
    stats.requests += 1
    stats.log.append(seen)
    stats.active += 1
    stats.peak = max(stats.peak, stats.active)
    try:
        delay = float(query.get("delay", "0"))
        if delay > 0:
            await asyncio.sleep(delay)
        if path == "/reflect":
            return response(200, json.dumps(seen).encode()), False
        if path == "/answer":
            return response(int(query.get("status", "200")), query.get("body", "null").encode(),
                            query.get("type", "application/json")), False
        if path == "/big":
            return response(200, json.dumps("x" * int(query["size"])).encode()), False
        if path == "/garbage":
            return b"this is not HTTP\r\n\r\n", True
        return response(404, b'"no such path"'), False
    finally:
        stats.active -= 1


async def serve(reader, writer):
    stats.connections += 1
    try:
        while True:
            request = await read_request(reader)
            if request is None:
                break
            data, close = await answer(*request)
            writer.write(data)
            await writer.drain()
            if close or request[2].get("connection", "").lower() == "close":
                break
    except (ConnectionError, asyncio.IncompleteReadError, ValueError):
        pass
    finally:
        writer.close()


async def main():
    # A thousand concurrent requests are a thousand sockets.
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    server = await asyncio.start_server(serve, "127.0.0.1", 0, backlog=4096)
    print(f"PORT {server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
