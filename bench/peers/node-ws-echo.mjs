// A WebSocket echo server on Node's `ws` (the version pinned in package.json),
// the Node peer of kreuz-bench's echo scenario (bench/run.sh).
//
//   node bench/peers/node-ws-echo.mjs PORT
//
// Listens on 127.0.0.1:PORT, accepts WebSocket connections on /echo only (no
// subprotocol, no permessage-deflate) and sends every message back as it came,
// text as text and binary as binary. Stops on SIGTERM or SIGINT.
import { WebSocketServer } from 'ws';

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port < 1 || port > 65535) {
  console.error('usage: node node-ws-echo.mjs PORT');
  process.exit(1);
}

const server = new WebSocketServer({
  host: '127.0.0.1',
  port,
  path: '/echo',
  perMessageDeflate: false,
  clientTracking: true,
  maxPayload: 64 * 1024 * 1024,
});

server.on('connection', (socket) => {
  socket.on('message', (data, isBinary) => {
    socket.send(data, { binary: isBinary });
  });
  socket.on('error', () => socket.terminate());
});

server.on('error', (error) => {
  console.error(`node-ws-echo: ${error.message}`);
  process.exit(1);
});

server.on('listening', () => {
  console.log(`node-ws-echo: listening on 127.0.0.1:${port}/echo`);
});

function stop() {
  for (const socket of server.clients) socket.terminate();
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 1000).unref();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
