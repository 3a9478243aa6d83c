// End-to-end test of the demo page (www/) in Debian's chromium, driven by playwright-core.
// Starts the real kreuz binary (env KREUZ_BIN, default /work/main/build/kreuz) on a free port of
// 127.0.0.1, opens the page in two tabs and drives the Broadcast, RPC and PubSub examples. Also
// checks that the page talks to no other host, logs no console error, and that the router exits 0
// on SIGTERM. Run: cd tests/browser && npm install && node --test
// Env: CHROMIUM (default /usr/bin/chromium), KREUZ_DEMO_SCREENSHOT (default /tmp/kreuz-demo.png),
// TRACE=1 prints how long each wait took.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const BIN = process.env.KREUZ_BIN || '/work/main/build/kreuz';
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const SCREENSHOT = process.env.KREUZ_DEMO_SCREENSHOT || '/tmp/kreuz-demo.png';
// Bound on every single wait below; longer for a sanitizer build (KREUZ_SANITIZED=1).
const WAIT_MS = ['', '0'].includes(process.env.KREUZ_SANITIZED ?? '') ? 5000 : 15000;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function canConnect(port) {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => { s.destroy(); resolve(false); });
  });
}

async function startKreuz() {
  if (!fs.existsSync(BIN)) throw new Error(`kreuz binary not found at ${BIN} (set KREUZ_BIN)`);
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kreuz-browser-'));
  const logPath = path.join(dir, 'kreuz.log');
  const fd = fs.openSync(logPath, 'w');
  const child = spawn(BIN, ['--host', '127.0.0.1', '--port', String(port), '--log-level', 'warn'],
    { stdio: ['ignore', fd, fd] });
  fs.closeSync(fd);
  let exited = null;
  const exit = new Promise((resolve) => child.once('exit', (code, signal) => resolve(exited = { code, signal })));
  const log = () => { try { return fs.readFileSync(logPath, 'utf8'); } catch { return ''; } };
  const deadline = Date.now() + WAIT_MS;
  while (!(await canConnect(port))) {
    if (exited) throw new Error(`kreuz exited at start: ${JSON.stringify(exited)}\n${log()}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`kreuz did not accept connections within ${WAIT_MS} ms\n${log()}`);
    }
    await sleep(20);
  }
  return {
    port,
    log,
    kill() { if (!exited) child.kill('SIGKILL'); },
    async stop() {
      assert.equal(exited, null, `kreuz exited early: ${JSON.stringify(exited)}\n${log()}`);
      child.kill('SIGTERM');
      let timer;
      const res = await Promise.race([exit, new Promise((r) => { timer = setTimeout(r, 10000, null); })]);
      clearTimeout(timer);
      if (res === null) child.kill('SIGKILL');
      assert.notEqual(res, null, `kreuz did not exit within 10 s of SIGTERM\n${log()}`);
      assert.deepEqual(res, { code: 0, signal: null }, `kreuz exit after SIGTERM\n${log()}`);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

// Polls fn() until it returns a truthy value; fails with `what` and the last value seen.
async function waitFor(what, fn, timeout = WAIT_MS) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    last = await fn();
    if (last) { if (process.env.TRACE) console.error(`${Date.now() - deadline + timeout} ms: ${what}`); return last; }
    if (Date.now() > deadline) assert.fail(`timed out after ${timeout} ms waiting for ${what} (last: ${JSON.stringify(last)})`);
    await sleep(25);
  }
}

const text = (page, selector) => page.locator(selector).textContent();
const itemTexts = (page, listId) => page.locator(`#${listId} > li`).allTextContents();

async function waitForItem(page, listId, needle, label) {
  return waitFor(`${label}: "${needle}" in #${listId}`,
    async () => (await itemTexts(page, listId)).find((t) => t.includes(needle)));
}

// A round trip on the page's own session: once #ping has answered, the router has processed
// every message this page sent before it (one connection, in order).
async function pingBarrier(page, label) {
  await page.click('#rpc-ping');
  await waitFor(`${label}: #ping result`, async () => (await text(page, '#rpc-ping-result')).startsWith('null'));
}

async function pubsubEvents(page, topic) {
  return page.$$eval('#ps-events > li', (items) => items.map((li) => ({
    topic: li.querySelector('.topic')?.textContent,
    event: li.querySelector('.event')?.textContent,
  }))).then((all) => all.filter((e) => e.topic === topic).map((e) => e.event));
}

async function publish(page, topic, event, excludeMe) {
  await page.fill('#ps-pub-topic', topic);
  await page.fill('#ps-pub-event', event);
  await page.setChecked('#ps-exclude-me', excludeMe);
  await page.click('#ps-publish');
}

// Runs inside the page: exercises kreuz-wamp.js directly with two sessions of its own.
async function apiChecks(url) {
  const { connect } = await import('/kreuz-wamp.js');
  const open = () => new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no WELCOME')), 3000);
    connect(url, {
      onopen(session) { clearTimeout(timer); resolve(session); },
      onclose(code, reason) { reject(new Error(`closed ${code} ${reason}`)); },
    });
  });
  const s1 = await open();
  const s2 = await open();
  const out = { protocol: s1.id !== s2.id && s1.protocolVersion === 1 ? 'ok' : `bad ${s1.id} ${s2.id}` };

  s1.prefix('p', 'http://api.wamp.ws/procedure#');
  out.echoCurie = await s1.call('p:echo', 5);
  out.echoFirstArg = await s1.call('http://api.wamp.ws/procedure#echo', 'a', 'b', 'c');
  out.errorShape = await s1.call('http://kreuz.local/test#missing').then(() => 'resolved', (e) => Object.keys(e));

  const topic = `http://kreuz.local/test#api-${Math.random()}`;
  const got = { self: [], other: [] };
  s1.subscribe(topic, (t, e) => got.self.push(e));
  s2.subscribe(topic, (t, e) => got.other.push(e));
  // Both SUBSCRIBEs processed (ping round trips), then one publish per layout. Each case ends
  // with a barrier event that both sessions receive, so what came before it is complete.
  await s1.call('http://api.wamp.ws/procedure#ping');
  await s2.call('http://api.wamp.ws/procedure#ping');
  const barrier = async () => {
    const marker = `barrier-${Math.random()}`;
    s1.publish(topic, marker, false);
    const deadline = Date.now() + 3000;
    while (!(got.self.includes(marker) && got.other.includes(marker))) {
      if (Date.now() > deadline) throw new Error('barrier event did not arrive');
      await new Promise((r) => setTimeout(r, 10));
    }
    const result = { self: got.self.filter((e) => e !== marker), other: got.other.filter((e) => e !== marker) };
    got.self = [];
    got.other = [];
    return result;
  };
  s1.publish(topic, 'd');
  out.defaultLayout = await barrier();
  s1.publish(topic, 'x', []);
  out.excludeEmpty = await barrier();
  s1.publish(topic, 'y', [s1.id]);
  out.excludeSelf = await barrier();
  s1.publish(topic, 'e', [], [s2.id]);
  out.eligibleOther = await barrier();
  s1.publish(topic, 'n', [], []);
  out.eligibleEmpty = await barrier();

  // Two local handlers: removing one keeps the subscription, removing the last ends it.
  const topic2 = `${topic}-2`;
  const seen = [];
  const h1 = () => seen.push('h1');
  const h2 = () => seen.push('h2');
  s2.subscribe(topic2, h1);
  s2.subscribe(topic2, h2);
  out.twoHandlers = [];
  for (const step of [() => {}, () => s2.unsubscribe(topic2, h1), () => s2.unsubscribe(topic2)]) {
    step();
    await s2.call('http://api.wamp.ws/procedure#ping');
    s1.publish(topic2, 1);
    await barrier();
    out.twoHandlers.push(seen.splice(0));
  }

  // close(): pending calls are rejected, then onclose runs with the close code.
  let pending;
  const closed = new Promise((resolve) => {
    connect(url, {
      onopen(s3) {
        pending = s3.call('http://api.wamp.ws/procedure#ping').then(() => 'resolved', () => 'pending call rejected');
        s3.close();
      },
      async onclose(code) { resolve([code, await pending]); },
    });
  });
  out.closed = await closed;
  s1.close();
  s2.close();
  return out;
}

test('demo page: broadcast, RPC and PubSub across two tabs', { timeout: 60000 }, async (t) => {
  const server = await startKreuz();
  const base = `http://127.0.0.1:${server.port}`;
  let browser;
  try {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      timeout: 20000,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });

    const urls = [];       // every HTTP request and WebSocket the pages opened
    const problems = [];   // console errors, page errors, failed or 4xx/5xx requests
    const pages = {};
    const frames = {};     // WAMP messages on each page's WebSocket, as seen by the browser
    for (const name of ['A', 'B']) {
      // One context (window) per tab: a background tab in a shared window gets its animation
      // frames throttled, which makes every playwright action on it slow.
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      context.setDefaultTimeout(WAIT_MS);
      const page = await context.newPage();
      page.on('request', (r) => urls.push(r.url()));
      frames[name] = { sent: [], received: [] };
      page.on('websocket', (ws) => {
        urls.push(ws.url());
        const record = (list) => (f) => {
          try { list.push(JSON.parse(f.payload)); } catch { list.push(String(f.payload)); }
        };
        if (frames[name].url) return;  // only the demo's own socket, the first one
        frames[name].url = ws.url();
        ws.on('framesent', record(frames[name].sent));
        ws.on('framereceived', record(frames[name].received));
      });
      page.on('console', (m) => { if (m.type() === 'error') problems.push(`${name} console: ${m.text()}`); });
      page.on('pageerror', (e) => problems.push(`${name} page error: ${e.message}`));
      page.on('requestfailed', (r) => problems.push(`${name} request failed: ${r.url()} ${r.failure()?.errorText}`));
      page.on('response', (r) => { if (r.status() >= 400) problems.push(`${name} HTTP ${r.status()}: ${r.url()}`); });
      const response = await page.goto(`${base}/`);
      assert.equal(response.status(), 200);
      pages[name] = page;
    }
    const { A, B } = pages;

    const ids = {};
    for (const [name, page] of Object.entries(pages)) {
      await waitFor(`${name}: connection open`,
        async () => (await page.getAttribute('#conn-state', 'data-state')) === 'open');
      ids[name] = await text(page, '#session-id');
      assert.match(ids[name], /^\S+$/, `${name}: session id shown`);
    }
    assert.notEqual(ids.A, ids.B, 'two tabs, two sessions');
    for (const name of ['A', 'B']) {
      const welcome = frames[name].received[0];
      assert.ok(Array.isArray(welcome) && welcome[0] === 0 && welcome[1] === ids[name] && welcome[2] === 1,
        `${name}: first message is WELCOME with the shown session id (got ${JSON.stringify(welcome)})`);
    }

    await t.test('broadcast from A reaches A and B', async () => {
      const message = `hello <b>from</b> A ${Date.now()}`;  // markup must show up as text
      await A.fill('#bc-input', message);
      await A.click('#bc-send');
      const onA = await waitForItem(A, 'bc-list', message, 'A');
      const onB = await waitForItem(B, 'bc-list', message, 'B');
      assert.match(onA, /me/, 'A marks its own message');
      assert.ok(onB.includes(ids.A), 'B shows the sender session id');
      for (const page of [A, B]) assert.equal(await page.locator('#bc-list b').count(), 0, 'received text is not parsed as HTML');
    });

    await t.test('RPC: echo, ping and a missing procedure', async () => {
      const value = 'echo ✓ <i>x</i> "quoted"';
      await A.fill('#rpc-echo-input', value);
      await A.click('#rpc-echo');
      await waitFor('echo result', async () => (await text(A, '#rpc-echo-result')) === JSON.stringify(value));

      await pingBarrier(A, 'A');
      assert.match(await text(A, '#rpc-ping-result'), /^null — round trip \d+(\.\d+)? ms$/);

      await A.click('#rpc-missing');
      await waitFor('error uri', async () => (await A.locator('#rpc-missing-result .uri').count()) > 0);
      assert.equal(await text(A, '#rpc-missing-result .uri'), 'http://api.wamp.ws/error#NoSuchRPCEndpoint');
      assert.ok((await text(A, '#rpc-missing-result .desc')).length > 0, 'error description shown');
    });

    await t.test('PubSub: subscribe, exclude me, unsubscribe', async () => {
      const topic = `http://kreuz.local/test#topic-${Date.now()}`;
      for (const [name, page] of Object.entries(pages)) {
        await page.fill('#ps-sub-topic', topic);
        await page.click('#ps-subscribe');
        await waitFor(`${name}: subscription listed`,
          async () => (await page.locator('#ps-subs > li .topic').allTextContents()).includes(topic));
        await pingBarrier(page, name);  // the SUBSCRIBE has reached the router
      }

      // Excluded: B gets it, A (also subscribed) must not.
      await publish(A, topic, '{"n": 1}', true);
      await waitFor('B: event 1', async () => (await pubsubEvents(B, topic)).includes('{"n":1}'));
      // Not excluded: both get it. Events from one publisher arrive in order, so once A has
      // event 2, event 1 would have arrived before it had it been sent to A.
      await publish(A, topic, '{"n": 2}', false);
      await waitFor('A: event 2', async () => (await pubsubEvents(A, topic)).includes('{"n":2}'));
      await waitFor('B: event 2', async () => (await pubsubEvents(B, topic)).includes('{"n":2}'));
      assert.deepEqual(await pubsubEvents(A, topic), ['{"n":2}'], 'A did not receive its excluded event');

      // B unsubscribes; then A publishes again and follows up with a broadcast as an ordering
      // barrier: once B has the broadcast, any EVENT for the topic would already be there.
      await B.fill('#ps-sub-topic', topic);
      await B.click('#ps-unsubscribe');
      await waitFor('B: subscription list empty', async () => (await B.locator('#ps-subs > li').count()) === 0);
      await pingBarrier(B, 'B');
      await publish(A, topic, '"after unsubscribe"', false);
      await waitFor('A: event 3', async () => (await pubsubEvents(A, topic)).includes('"after unsubscribe"'));
      const barrier = `barrier ${Date.now()}`;
      await A.fill('#bc-input', barrier);
      await A.click('#bc-send');
      await waitForItem(B, 'bc-list', barrier, 'B');
      assert.deepEqual(await pubsubEvents(B, topic), ['{"n":1}', '{"n":2}'], 'B got nothing after unsubscribing');

      // The same on the wire: the PUBLISH layouts, one SUBSCRIBE / UNSUBSCRIBE, and no EVENT
      // reaching B's socket after its UNSUBSCRIBE (not merely dropped by the page).
      const about = (list, type) => list.filter((m) => Array.isArray(m) && m[0] === type && m[1] === topic);
      assert.deepEqual(about(frames.A.sent, 7),
        [[7, topic, { n: 1 }, true], [7, topic, { n: 2 }, false], [7, topic, 'after unsubscribe', false]]);
      assert.deepEqual(about(frames.B.sent, 5), [[5, topic]], 'B: one SUBSCRIBE');
      assert.deepEqual(about(frames.B.sent, 6), [[6, topic]], 'B: one UNSUBSCRIBE');
      assert.deepEqual(about(frames.B.received, 8), [[8, topic, { n: 1 }], [8, topic, { n: 2 }]], 'B: EVENTs received');
      assert.deepEqual(about(frames.A.received, 8), [[8, topic, { n: 2 }], [8, topic, 'after unsubscribe']], 'A: EVENTs received');
    });

    await t.test('kreuz-wamp.js API in the page', async () => {
      const report = await A.evaluate(apiChecks, `ws://127.0.0.1:${server.port}/ws`);
      assert.deepEqual(report, {
        protocol: 'ok',
        echoCurie: 5,
        echoFirstArg: 'a',
        errorShape: ['uri', 'desc'],
        defaultLayout: { self: [], other: ['d'] },
        excludeEmpty: { self: ['x'], other: ['x'] },
        excludeSelf: { self: [], other: ['y'] },
        eligibleOther: { self: [], other: ['e'] },
        eligibleEmpty: { self: [], other: [] },
        twoHandlers: [['h1', 'h2'], ['h2'], []],
        closed: [1000, 'pending call rejected'],
      });
    });

    await A.screenshot({ path: SCREENSHOT, fullPage: true });

    for (const u of urls) {
      const { protocol, hostname } = new URL(u);
      if (protocol === 'data:') continue;
      assert.equal(hostname, '127.0.0.1', `request to another host: ${u}`);
    }
    assert.ok(urls.some((u) => u === `ws://127.0.0.1:${server.port}/ws`), `page opened ws://…/ws (saw ${urls.join(', ')})`);
    assert.deepEqual(problems, [], 'no console errors, page errors or failed requests');

    await browser.close();
    browser = null;
    await server.stop();
  } finally {
    if (browser) await browser.close().catch(() => {});
    server.kill();
  }
});
