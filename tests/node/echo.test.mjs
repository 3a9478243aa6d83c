// Third-party client: the npm package ws (v8) against the kreuz echo endpoint.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, test } from 'node:test';

import WebSocket from 'ws';

import { SLOW, startKreuz } from './kreuz.mjs';

let kreuz;

before(async () => {
  kreuz = await startKreuz();
});

after(async () => {
  await kreuz.stop();
});

function withTimeout(promise, ms, what) {
  let timer;
  const t = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timeout: ${what}${kreuz ? '\n' + kreuz.log() : ''}`)), ms * SLOW);
  });
  return Promise.race([promise, t]).finally(() => clearTimeout(timer));
}

function open(options = {}, path = '/echo') {
  const ws = new WebSocket(kreuz.url + path, options);
  const headers = {};
  ws.on('upgrade', (res) => Object.assign(headers, res.headers));
  return withTimeout(new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ ws, headers }));
    ws.once('error', reject);
  }), 5000, 'open');
}

function nextMessage(ws) {
  return withTimeout(new Promise((resolve, reject) => {
    ws.once('message', (data, isBinary) => resolve({ data, isBinary }));
    ws.once('close', (code) => reject(new Error(`closed with ${code} while waiting for a message`)));
  }), 20000, 'message');
}

function closed(ws) {
  return withTimeout(new Promise((resolve) => {
    ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() }));
  }), 10000, 'close');
}

async function echo(ws, payload, binary) {
  const got = nextMessage(ws);
  ws.send(payload, { binary });
  const { data, isBinary } = await got;
  assert.equal(isBinary, binary);
  if (binary) {
    assert.ok(Buffer.compare(Buffer.from(data), Buffer.from(payload)) === 0, `binary echo of ${payload.length} bytes`);
  } else {
    assert.equal(data.toString('utf8'), payload);
  }
}

const texts = [
  '',
  'Hello, kreuz!',
  'κόσμε 😀 €'.repeat(10),
  'x'.repeat(125),
  'y'.repeat(126),
  'z'.repeat(65536),
  'kreuz '.repeat(20000),
];
const binaries = [0, 1, 125, 126, 65535, 65536, 200000].map((n) => crypto.randomBytes(n));

for (const deflate of [false, true]) {
  describe(`ws perMessageDeflate=${deflate}`, () => {
    const options = deflate ? { perMessageDeflate: { threshold: 0 } } : { perMessageDeflate: false };

    test('negotiated extension', async () => {
      const { ws, headers } = await open(options);
      assert.equal(ws.extensions, deflate ? 'permessage-deflate' : '');
      assert.equal(headers['sec-websocket-extensions'], deflate ? 'permessage-deflate' : undefined);
      assert.equal(ws.protocol, '');
      ws.close(1000);
      await closed(ws);
    });

    test('text echo', async () => {
      const { ws } = await open(options);
      for (const t of texts) await echo(ws, t, false);
      ws.close(1000);
      await closed(ws);
    });

    test('binary echo', async () => {
      const { ws } = await open(options);
      for (const b of binaries) await echo(ws, b, true);
      ws.close(1000);
      await closed(ws);
    });

    test('1 MiB messages', async () => {
      const { ws } = await open(options);
      await echo(ws, crypto.randomBytes(1 << 20), true);
      await echo(ws, 'ü'.repeat(1 << 19), false);
      ws.close(1000);
      await closed(ws);
    });

    test('many messages pipelined', async () => {
      const { ws } = await open(options);
      const sent = [];
      for (let i = 0; i < 200; i++) sent.push(`message ${i} `.repeat(1 + (i % 50)));
      const received = [];
      const done = withTimeout(new Promise((resolve) => {
        ws.on('message', (data) => {
          received.push(data.toString());
          if (received.length === sent.length) resolve();
        });
      }), 20000, 'pipelined echoes');
      for (const m of sent) ws.send(m);
      await done;
      assert.deepEqual(received, sent);
      ws.close(1000);
      await closed(ws);
    });
  });
}

describe('ws perMessageDeflate parameters', () => {
  const cases = [
    [{ serverMaxWindowBits: 10 }, 'permessage-deflate; server_max_window_bits=10'],
    [{ clientNoContextTakeover: true }, 'permessage-deflate; client_no_context_takeover'],
    [{ serverNoContextTakeover: true }, 'permessage-deflate; server_no_context_takeover'],
    [{ clientMaxWindowBits: 9 }, 'permessage-deflate; client_max_window_bits=9'],
    [{ serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 12, clientMaxWindowBits: 11 },
      'permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=12; ' +
      'client_max_window_bits=11'],
  ];
  for (const [pmd, expected] of cases) {
    test(JSON.stringify(pmd), async () => {
      const { ws, headers } = await open({ perMessageDeflate: { threshold: 0, ...pmd } });
      assert.equal(headers['sec-websocket-extensions'], expected);
      for (const t of texts) await echo(ws, t, false);
      for (const b of binaries) await echo(ws, b, true);
      ws.close(1000);
      await closed(ws);
    });
  }
});

describe('ws control frames', () => {
  test('ping gets a pong with the same payload', async () => {
    const { ws } = await open({ perMessageDeflate: false });
    for (const payload of [Buffer.alloc(0), Buffer.from('ping!'), crypto.randomBytes(125)]) {
      const pong = withTimeout(new Promise((resolve) => ws.once('pong', resolve)), 5000, 'pong');
      ws.ping(payload);
      assert.ok(Buffer.compare(await pong, payload) === 0);
    }
    ws.close(1000);
    await closed(ws);
  });

  test('close code 1000 round trip', async () => {
    const { ws } = await open({ perMessageDeflate: false });
    await echo(ws, 'before close', false);
    const c = closed(ws);
    ws.close(1000, 'done');
    const { code } = await c;
    assert.equal(code, 1000);
  });

  test('close code 4000 round trip', async () => {
    const { ws } = await open();
    const c = closed(ws);
    ws.close(4000);
    assert.equal((await c).code, 4000);
  });
});

describe('ws handshake failures', () => {
  test('unknown path fails with 404', async () => {
    const ws = new WebSocket(kreuz.url + '/no-such-path');
    ws.on('error', () => {}); // destroying the request after the answer is ours to ignore
    const status = await withTimeout(new Promise((resolve, reject) => {
      ws.on('unexpected-response', (req, res) => {
        resolve(res.statusCode);
        req.destroy();
      });
      ws.on('open', () => reject(new Error('opened on an unknown path')));
    }), 5000, 'unexpected-response');
    assert.equal(status, 404);
  });
});
