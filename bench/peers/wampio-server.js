// A WAMP v1 server on wamp.io, the Node peer of kreuz-bench's WAMP scenarios
// (rpc, fanout, chat, idle, churn; bench/run.sh).
//
//   node bench/peers/wampio-server.js PORT
//
// Listens on 127.0.0.1:PORT and accepts WebSocket connections on /ws (any
// other path gets 404). wamp.io is an open broker: any session may subscribe
// and publish to any topic. Two procedures, as kreuz has them built in:
//   http://api.wamp.ws/procedure#echo  returns its first argument (null without one)
//   http://api.wamp.ws/procedure#ping  returns null (kreuz-bench calls it behind a
//                                      SUBSCRIBE to know the subscription is in place)
// Any other procedure gets a CALLERROR. Stops on SIGTERM or SIGINT.
//
// wamp.io 0.0.4 (the only version the registry has) was written for ws 0.4.x
// (its package.json: devDependencies ws ~0.4.25); it runs here on ws 0.4.32,
// installed under the alias `ws-0.4` so that the echo peer can use a current
// ws. Three things had to be done for Node 20, none of which changes what
// wamp.io does on the wire:
//   - wamp.io's server inherits from `process.EventEmitter`, which Node removed
//     long ago (it is undefined in Node 20, and requiring wamp.io throws); it is
//     set to events.EventEmitter before wamp.io is loaded.
//   - ws 0.4's send() throws "not opened" for a socket that is closing, unless
//     given a callback, and wamp.io calls it without one: a publication that
//     reaches a subscriber while that subscriber closes kills the process
//     (seen in the chat scenario's closing phase). Sends to a socket that is
//     no longer open are dropped instead, as current ws versions do.
//   - ws 0.4.32's optional native helpers (bufferutil, validation) are not
//     built (npm ci --ignore-scripts: their nan 1.0 sources do not compile
//     against Node 20); ws falls back to its own JavaScript versions, as it
//     does wherever the build fails.
'use strict';

const events = require('events');
const http = require('http');
const url = require('url');

if (typeof process.EventEmitter !== 'function') process.EventEmitter = events.EventEmitter;

const WebSocketServer = require('ws-0.4').Server;
const wamp = require('wamp.io');

const ECHO = 'http://api.wamp.ws/procedure#echo';
const PING = 'http://api.wamp.ws/procedure#ping';
const PATH = '/ws';

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port < 1 || port > 65535) {
  console.error('usage: node wampio-server.js PORT');
  process.exit(1);
}

const httpServer = http.createServer((req, res) => {
  res.writeHead(404, { 'Content-Type': 'text/plain' });
  res.end('Not found\n');
});
// ws 0.4 ignores upgrade requests for another path and leaves them hanging;
// answer them here instead.
httpServer.on('upgrade', (req, socket) => {
  if (url.parse(req.url).pathname !== PATH) {
    socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
  }
});

const wss = new WebSocketServer({ server: httpServer, path: PATH });
// What wamp.attach(wss) does, with the send guard described above.
const app = new wamp.Server();
wss.on('connection', (client) => {
  const send = client.send;
  client.send = function guardedSend(data, options, callback) {
    if (this.readyState !== client.OPEN) return undefined;
    return send.call(this, data, options, callback);
  };
  app.onConnection(client);
});

app.on('call', (procUri, args, callback) => {
  switch (procUri) {
    case ECHO:
      callback(null, args.length > 0 ? args[0] : null);
      break;
    case PING:
      callback(null, null);
      break;
    default:
      callback(`no such procedure: ${procUri}`);
      break;
  }
});

wss.on('error', (error) => console.error(`wampio-server: ${error.message}`));
httpServer.on('error', (error) => {
  console.error(`wampio-server: ${error.message}`);
  process.exit(1);
});
httpServer.listen(port, '127.0.0.1', () => {
  console.log(`wampio-server: wamp.io listening on 127.0.0.1:${port}${PATH}`);
});

function stop() {
  try {
    wss.close();  // terminates every client
  } catch (error) {
    // already closed
  }
  httpServer.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 1000).unref();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
