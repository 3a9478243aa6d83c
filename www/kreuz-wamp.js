// kreuz-wamp.js: a small WAMP v1 client for browsers (ES module, no dependencies).
//
//   import { connect } from './kreuz-wamp.js';
//   connect('ws://host/ws', {
//     onopen(session) { ... },          // after WELCOME; session.id is the server's session id
//     onclose(code, reason) { ... },    // once, whether or not the session was ever open
//   });
//
// Session API:
//   session.prefix(p, uri)                       declare CURIE prefix p for uri (PREFIX)
//   session.call(procUri, ...args)               Promise of the result; rejects with {uri, desc[, detail]}
//   session.subscribe(topic, handler)            handler(topic, event); SUBSCRIBE on the first handler
//   session.unsubscribe(topic, handler?)         UNSUBSCRIBE when the last handler goes
//   session.publish(topic, event)                       [7, topic, event]
//   session.publish(topic, event, excludeMe)            [7, topic, event, excludeMe]   (boolean)
//   session.publish(topic, event, exclude)              [7, topic, event, exclude]     (session ids)
//   session.publish(topic, event, exclude, eligible)    [7, topic, event, exclude, eligible]
//   session.close()

export const SUBPROTOCOL = 'wamp';

const WELCOME = 0;
const PREFIX = 1;
const CALL = 2;
const CALLRESULT = 3;
const CALLERROR = 4;
const SUBSCRIBE = 5;
const UNSUBSCRIBE = 6;
const PUBLISH = 7;
const EVENT = 8;

// Error reported to pending calls when the connection goes away before their answer.
export const CONNECTION_CLOSED_URI = 'urn:kreuz-wamp:error#connectionClosed';

const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

function randomId(length = 16) {
  const bytes = new Uint8Array(length);
  crypto.getRandomValues(bytes);
  let id = '';
  for (const b of bytes) id += ID_ALPHABET[b & 63];
  return id;
}

// The WebSocket URL for a page served by the router itself: same host, ws:// or wss://.
export function webSocketUrl(path = '/ws', loc = globalThis.location) {
  const scheme = loc.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${loc.host}${path}`;
}

class Session {
  #ws;
  #prefixes = new Map();     // prefix -> uri
  #pending = new Map();      // callId -> {resolve, reject}
  #handlers = new Map();     // resolved topic uri -> {wire: topic as first sent, set: Set<handler>}

  constructor(ws, id, protocolVersion, serverIdent) {
    this.#ws = ws;
    this.id = id;
    this.protocolVersion = protocolVersion;
    this.serverIdent = serverIdent;
  }

  get isOpen() {
    return this.#ws.readyState === WebSocket.OPEN;
  }

  // Expands a CURIE with this session's own prefixes; anything else passes unchanged.
  resolve(uri) {
    const colon = uri.indexOf(':');
    if (colon > 0) {
      const base = this.#prefixes.get(uri.slice(0, colon));
      if (base !== undefined) return base + uri.slice(colon + 1);
    }
    return uri;
  }

  prefix(p, uri) {
    if (typeof p !== 'string' || typeof uri !== 'string') throw new TypeError('prefix and uri must be strings');
    this.#send([PREFIX, p, uri]);
    this.#prefixes.set(p, uri);
  }

  call(procUri, ...args) {
    return new Promise((resolve, reject) => {
      let callId;
      do callId = randomId(); while (this.#pending.has(callId));
      this.#send([CALL, callId, procUri, ...args.map((a) => (a === undefined ? null : a))]);
      this.#pending.set(callId, { resolve, reject });
    });
  }

  subscribe(topic, handler) {
    if (typeof handler !== 'function') throw new TypeError('handler must be a function');
    const key = this.resolve(topic);
    let entry = this.#handlers.get(key);
    if (!entry) {
      this.#send([SUBSCRIBE, topic]);
      entry = { wire: topic, set: new Set() };
      this.#handlers.set(key, entry);
    }
    entry.set.add(handler);
  }

  unsubscribe(topic, handler) {
    const key = this.resolve(topic);
    const entry = this.#handlers.get(key);
    if (!entry) return;
    if (handler === undefined) entry.set.clear();
    else entry.set.delete(handler);
    if (entry.set.size === 0) {
      this.#handlers.delete(key);
      this.#send([UNSUBSCRIBE, topic]);
    }
  }

  publish(topic, event, excludeMeOrExclude, eligible) {
    const msg = [PUBLISH, topic, event === undefined ? null : event];
    if (eligible !== undefined) {
      if (!Array.isArray(excludeMeOrExclude) || !Array.isArray(eligible)) {
        throw new TypeError('exclude and eligible must both be arrays of session ids');
      }
      msg.push(excludeMeOrExclude, eligible);
    } else if (excludeMeOrExclude !== undefined) {
      if (typeof excludeMeOrExclude !== 'boolean' && !Array.isArray(excludeMeOrExclude)) {
        throw new TypeError('third argument must be a boolean (excludeMe) or an array of session ids');
      }
      msg.push(excludeMeOrExclude);
    }
    this.#send(msg);
  }

  close() {
    this.#ws.close(1000);
  }

  #send(msg) {
    if (!this.isOpen) throw new Error('WAMP session is not open');
    this.#ws.send(JSON.stringify(msg));
  }

  // Called by connect() for every message after WELCOME. Anything unexpected is ignored.
  _receive(msg) {
    const type = msg[0];
    if ((type === CALLRESULT || type === CALLERROR) && this.#pending.has(msg[1])) {
      const { resolve, reject } = this.#pending.get(msg[1]);
      this.#pending.delete(msg[1]);
      if (type === CALLRESULT) {
        resolve(msg[2]);
      } else {
        const error = { uri: msg[2], desc: msg[3] };
        if (msg.length > 4) error.detail = msg[4];
        reject(error);
      }
    } else if (type === EVENT && typeof msg[1] === 'string') {
      const entry = this.#handlers.get(this.resolve(msg[1]));
      if (!entry) return;
      for (const handler of [...entry.set]) {
        try {
          handler(msg[1], msg[2]);
        } catch (e) {
          setTimeout(() => { throw e; });  // report, but keep delivering to the other handlers
        }
      }
    }
  }

  _closed() {
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const { reject } of pending) reject({ uri: CONNECTION_CLOSED_URI, desc: 'connection closed' });
  }
}

// Opens a WAMP v1 session. Returns a handle whose close() works before and after WELCOME.
export function connect(url, { onopen = () => {}, onclose = () => {} } = {}) {
  const ws = new WebSocket(url, [SUBPROTOCOL]);
  let session = null;
  let closed = false;

  const finish = (code, reason) => {
    if (closed) return;
    closed = true;
    if (session) session._closed();
    onclose(code, reason);
  };
  const abort = (reason) => {
    ws.close(1000, reason);
    finish(1000, reason);
  };

  ws.onopen = () => {
    if (ws.protocol !== SUBPROTOCOL) abort('server does not speak WAMP');
  };
  ws.onmessage = (e) => {
    if (closed || typeof e.data !== 'string') return;
    let msg;
    try {
      msg = JSON.parse(e.data);
    } catch {
      return;
    }
    if (!Array.isArray(msg)) return;
    if (msg[0] === WELCOME) {
      if (session) {
        abort('protocol error: second WELCOME');
      } else if (typeof msg[1] === 'string') {
        session = new Session(ws, msg[1], msg[2], msg[3]);
        onopen(session);
      }
    } else if (session) {
      session._receive(msg);
    }
  };
  ws.onclose = (e) => finish(e.code, e.reason);

  return {
    close() {
      if (ws.readyState === WebSocket.CONNECTING || ws.readyState === WebSocket.OPEN) ws.close(1000);
    },
  };
}
