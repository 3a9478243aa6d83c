#!/usr/bin/env python3
"""A complete callee for kreuz's routed RPC, in a few lines of python3-websockets.

    python3 example_callee.py [ws://127.0.0.1:8080/ws]

It registers http://example.com/calc#add with urn:kreuz:procedure:register and answers every
CALL the router forwards, [2, callId, procUri, args...], with [3, callId, sum of args] (or
[4, callId, errorUri, errorDesc] when an argument is not a number). Any session of the realm
can then call add: [2, "c1", "http://example.com/calc#add", 2, 3] gets [3, "c1", 5].
"""
import asyncio
import json
import sys

import websockets

ADD = "http://example.com/calc#add"
REGISTER = "urn:kreuz:procedure:register"
CALL, CALLRESULT, CALLERROR = 2, 3, 4


async def serve(url: str) -> int:
    async with websockets.connect(url, subprotocols=["wamp"], ping_interval=None) as ws:
        welcome = json.loads(await ws.recv())  # [0, sessionId, 1, serverIdent]
        await ws.send(json.dumps([CALL, "register", REGISTER, ADD]))
        async for raw in ws:
            msg = json.loads(raw)
            if msg[0] in (CALLRESULT, CALLERROR) and msg[1] == "register":
                if msg[0] == CALLERROR:
                    print(f"register failed: {msg[2]} {msg[3]}", file=sys.stderr, flush=True)
                    return 1
                print(f"session {welcome[1]} registered {msg[2]}", flush=True)
            elif msg[0] == CALL:
                call_id, procedure, args = msg[1], msg[2], msg[3:]
                if procedure == ADD and all(type(a) in (int, float) for a in args):
                    await ws.send(json.dumps([CALLRESULT, call_id, sum(args)]))
                else:
                    await ws.send(json.dumps([CALLERROR, call_id, "http://example.com/calc#invalid-argument",
                                              "add takes numbers only"]))
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(serve(sys.argv[1] if len(sys.argv) > 1 else "ws://127.0.0.1:8080/ws")))
