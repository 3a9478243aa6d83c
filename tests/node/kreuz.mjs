// Starts and stops the kreuz binary for the node tests (env KREUZ_BIN, default
// /work/main/build/kreuz): a free port on 127.0.0.1, the echo endpoint on /echo, output in a
// temp file that is printed when something goes wrong. stop() sends SIGTERM and asserts a
// clean exit (code 0) within 10 s: a crash or a sanitizer report fails the test.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const BIN = process.env.KREUZ_BIN || '/work/main/build/kreuz';
export const SLOW = ['', '0'].includes(process.env.KREUZ_SANITIZED ?? '') ? 1 : 3;

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function tryConnect(port) {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => { s.destroy(); resolve(false); });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export async function startKreuz(extraArgs = []) {
  if (!fs.existsSync(BIN)) throw new Error(`kreuz binary not found at ${BIN} (set KREUZ_BIN)`);
  const port = await freePort();
  const logPath = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'kreuz-node-')), 'kreuz.log');
  const fd = fs.openSync(logPath, 'w');
  const args = ['--host', '127.0.0.1', '--port', String(port), '--echo-path', '/echo', '--log-level', 'warn',
    ...extraArgs];
  const child = spawn(BIN, args, { stdio: ['ignore', fd, fd] });
  fs.closeSync(fd);
  let exited = null;
  const exit = new Promise((resolve) => child.once('exit', (code, signal) => {
    exited = { code, signal };
    resolve(exited);
  }));
  const log = () => {
    try { return fs.readFileSync(logPath, 'utf8'); } catch { return ''; }
  };
  const deadline = Date.now() + 5000 * SLOW;
  for (;;) {
    if (exited) throw new Error(`kreuz exited at start: ${JSON.stringify(exited)}\n${log()}`);
    if (await tryConnect(port)) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`kreuz did not accept connections within 5 s\n${log()}`);
    }
    await sleep(20);
  }
  return {
    port,
    url: `ws://127.0.0.1:${port}`,
    log,
    async stop() {
      if (exited) throw new Error(`kreuz had already exited: ${JSON.stringify(exited)}\n${log()}`);
      child.kill('SIGTERM');
      let timer;
      const timeout = new Promise((resolve) => { timer = setTimeout(() => resolve(null), 10000); });
      const res = await Promise.race([exit, timeout]);
      clearTimeout(timer);
      if (res === null) {
        child.kill('SIGKILL');
        throw new Error(`kreuz did not exit within 10 s of SIGTERM\n${log()}`);
      }
      if (res.code !== 0) {
        throw new Error(`kreuz exited with ${JSON.stringify(res)} after SIGTERM (expected code 0)\n${log()}`);
      }
      fs.rmSync(path.dirname(logPath), { recursive: true, force: true });
    },
  };
}
