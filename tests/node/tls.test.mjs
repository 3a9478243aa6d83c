// Third-party client over TLS: the npm package ws (v8) against a wss:// listener of kreuz. The
// test CA and the server certificate are made at run time with the openssl command into a
// temporary directory; traffic goes to 127.0.0.1 only.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import WebSocket from 'ws';

import { SLOW, startKreuz } from './kreuz.mjs';

let kreuz;
let dir;
let ca;
const SERIAL = '4242';

function openssl(...args) {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe', timeout: 30000 });
}

function makeCertificates() {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  openssl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=kreuz node test CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  fs.writeFileSync(path.join(dir, 'server.ext'),
    'basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1\n');
  openssl('req', '-new', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1');
  openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-set_serial', SERIAL,
    '-days', '2', '-out', 'server.crt', '-extfile', 'server.ext');
}

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kreuz-node-tls-'));
  makeCertificates();
  ca = fs.readFileSync(path.join(dir, 'ca.crt'));
  // JSON is YAML. --host/--port of startKreuz replace the first listener's.
  const config = path.join(dir, 'kreuz.yaml');
  fs.writeFileSync(config, JSON.stringify({
    listen: [{ host: '127.0.0.1', port: 0,
      tls: { cert: path.join(dir, 'server.crt'), key: path.join(dir, 'server.key') } }],
  }));
  kreuz = await startKreuz(['--config', config]);
});

after(async () => {
  if (kreuz) await kreuz.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

function withTimeout(promise, ms, what) {
  let timer;
  const t = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timeout: ${what}${kreuz ? '\n' + kreuz.log() : ''}`)), ms * SLOW);
  });
  return Promise.race([promise, t]).finally(() => clearTimeout(timer));
}

function open(options = {}) {
  const ws = new WebSocket(`wss://127.0.0.1:${kreuz.port}/echo`, { ca, ...options });
  return withTimeout(new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  }), 5000, 'open');
}

function closed(ws) {
  return withTimeout(new Promise((resolve) => {
    ws.once('close', (code) => resolve(code));
  }), 10000, 'close');
}

async function echo(ws, payload, binary) {
  const got = withTimeout(new Promise((resolve, reject) => {
    ws.once('message', (data, isBinary) => resolve({ data, isBinary }));
    ws.once('close', (code) => reject(new Error(`closed with ${code} while waiting for a message`)));
  }), 20000, 'message');
  ws.send(payload, { binary });
  const { data, isBinary } = await got;
  assert.equal(isBinary, binary);
  if (binary) {
    assert.ok(Buffer.compare(Buffer.from(data), Buffer.from(payload)) === 0, `binary echo of ${payload.length} bytes`);
  } else {
    assert.equal(data.toString('utf8'), payload);
  }
}

for (const deflate of [false, true]) {
  describe(`wss with perMessageDeflate=${deflate}`, () => {
    const options = deflate ? { perMessageDeflate: { threshold: 0 } } : { perMessageDeflate: false };

    test('the server certificate is the one configured', async () => {
      const ws = await open(options);
      const peer = ws._socket.getPeerCertificate();
      assert.equal(parseInt(peer.serialNumber, 16), parseInt(SERIAL, 10));
      assert.equal(ws._socket.getProtocol(), 'TLSv1.3');
      assert.equal(ws.extensions, deflate ? 'permessage-deflate' : '');
      const c = closed(ws);
      ws.close(1000);
      assert.equal(await c, 1000);
    });

    test('echo of every size up to 1 MiB', async () => {
      const ws = await open(options);
      for (const n of [0, 1, 125, 126, 16384, 65536, 200000, 1 << 20]) {
        await echo(ws, crypto.randomBytes(n), true);
        await echo(ws, 'ü'.repeat(n >> 1), false);
      }
      const c = closed(ws);
      ws.close(1000);
      assert.equal(await c, 1000);
    });

    test('many messages pipelined', async () => {
      const ws = await open(options);
      const sent = [];
      for (let i = 0; i < 300; i++) sent.push(`message ${i} `.repeat(1 + (i % 50)));
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
      const c = closed(ws);
      ws.close(1000);
      assert.equal(await c, 1000);
    });
  });
}

test('a client that does not trust the CA refuses the server', async () => {
  const ws = new WebSocket(`wss://127.0.0.1:${kreuz.port}/echo`);
  const error = await withTimeout(new Promise((resolve, reject) => {
    ws.once('error', resolve);
    ws.once('open', () => reject(new Error('opened without trusting the certificate')));
  }), 5000, 'error');
  assert.match(error.code ?? error.message, /VERIFY|CERT|certificate/i);
});
