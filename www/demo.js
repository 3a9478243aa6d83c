// The demo page: Broadcast, RPC and PubSub on one WAMP v1 session.
// Everything received is shown with textContent, never parsed as HTML.
import { connect, webSocketUrl } from './kreuz-wamp.js';

const PROCEDURE = 'http://api.wamp.ws/procedure#';
const MISSING_PROCEDURE = 'http://kreuz.local/demo#noSuchProcedure';
const DEMO_PREFIX = 'demo';
const DEMO_BASE = 'http://kreuz.local/demo#';
const BROADCAST_TOPIC = 'demo:broadcast';  // a CURIE; expands to http://kreuz.local/demo#broadcast
const MAX_LIST_ITEMS = 200;

const $ = (id) => document.getElementById(id);

let session = null;
const subscriptions = new Map();  // topic as typed -> handler

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function show(value) {
  return value === undefined ? 'undefined' : JSON.stringify(value);
}

function time() {
  return new Date().toLocaleTimeString();
}

function append(list, item) {
  list.append(item);
  while (list.children.length > MAX_LIST_ITEMS) list.firstElementChild.remove();
  list.scrollTop = list.scrollHeight;
}

function setState(state, text) {
  const node = $('conn-state');
  node.dataset.state = state;
  node.textContent = text;
  $('reconnect').hidden = state !== 'closed';
  for (const button of document.querySelectorAll('main button')) button.disabled = state !== 'open';
}

// ---- 1. Broadcast -----------------------------------------------------------------------

function onBroadcast(topic, event) {
  const item = el('li');
  item.append(el('span', 'time', time()));
  const fromSelf = event && typeof event === 'object' && event.from === session?.id;
  const from = event && typeof event === 'object' && typeof event.from === 'string' ? event.from : '?';
  item.append(el('span', fromSelf ? 'from self' : 'from', fromSelf ? 'me' : from));
  const text = event && typeof event === 'object' && typeof event.text === 'string' ? event.text : show(event);
  item.append(el('span', 'text', text));
  append($('bc-list'), item);
}

$('bc-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const input = $('bc-input');
  session.publish(BROADCAST_TOPIC, { text: input.value, from: session.id }, false);
  input.value = '';
  input.focus();
});

// ---- 2. RPC -----------------------------------------------------------------------------

function showError(output, error) {
  output.replaceChildren();
  output.classList.add('error');
  if (error && typeof error === 'object' && 'uri' in error) {
    output.append(el('code', 'uri', String(error.uri)), ' ', el('span', 'desc', String(error.desc)));
    if ('detail' in error) output.append(' ', el('span', 'detail', show(error.detail)));
  } else {
    output.textContent = String(error);
  }
}

function showResult(output, text) {
  output.classList.remove('error');
  output.textContent = text;
}

$('rpc-echo-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const output = $('rpc-echo-result');
  output.textContent = '…';
  try {
    showResult(output, show(await session.call(PROCEDURE + 'echo', $('rpc-echo-input').value)));
  } catch (error) {
    showError(output, error);
  }
});

$('rpc-ping').addEventListener('click', async () => {
  const output = $('rpc-ping-result');
  output.textContent = '…';
  const start = performance.now();
  try {
    const result = await session.call(PROCEDURE + 'ping');
    showResult(output, `${show(result)} — round trip ${(performance.now() - start).toFixed(1)} ms`);
  } catch (error) {
    showError(output, error);
  }
});

$('rpc-missing').addEventListener('click', async () => {
  const output = $('rpc-missing-result');
  output.textContent = '…';
  try {
    const result = await session.call(MISSING_PROCEDURE, 'hello');
    showResult(output, `unexpected result ${show(result)}`);
  } catch (error) {
    showError(output, error);
  }
});

// ---- 3. PubSub --------------------------------------------------------------------------

function renderSubscriptions() {
  const list = $('ps-subs');
  list.replaceChildren();
  for (const topic of subscriptions.keys()) {
    const item = el('li');
    item.dataset.topic = topic;
    const button = el('button', 'small', 'Unsubscribe');
    button.type = 'button';
    button.disabled = !session?.isOpen;
    button.addEventListener('click', () => unsubscribe(topic));
    item.append(el('code', 'topic', topic), ' ', button);
    list.append(item);
  }
  $('ps-subs-empty').hidden = subscriptions.size > 0;
}

function onEvent(topic, event) {
  const item = el('li');
  item.append(el('span', 'time', time()), el('code', 'topic', topic), el('span', 'event', show(event)));
  append($('ps-events'), item);
}

function subscribe(topic) {
  if (!topic || subscriptions.has(topic)) return;
  const handler = (t, event) => onEvent(t, event);
  session.subscribe(topic, handler);
  subscriptions.set(topic, handler);
  renderSubscriptions();
}

function unsubscribe(topic) {
  const handler = subscriptions.get(topic);
  if (!handler) return;
  subscriptions.delete(topic);
  if (session?.isOpen) session.unsubscribe(topic, handler);
  renderSubscriptions();
}

$('ps-sub-form').addEventListener('submit', (e) => {
  e.preventDefault();
  subscribe($('ps-sub-topic').value.trim());
});

$('ps-unsubscribe').addEventListener('click', () => unsubscribe($('ps-sub-topic').value.trim()));

$('ps-pub-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const raw = $('ps-pub-event').value;
  let event;
  try {
    event = JSON.parse(raw);
  } catch {
    event = raw;  // not JSON: publish the text as a string
  }
  session.publish($('ps-pub-topic').value.trim(), event, $('ps-exclude-me').checked);
});

// ---- Connection -------------------------------------------------------------------------

function start() {
  setState('connecting', 'connecting…');
  connect(webSocketUrl('/ws'), {
    onopen(s) {
      session = s;
      $('session-id').textContent = s.id;
      $('server-ident').textContent = String(s.serverIdent);
      s.prefix(DEMO_PREFIX, DEMO_BASE);
      s.subscribe(BROADCAST_TOPIC, onBroadcast);
      for (const [topic, handler] of subscriptions) s.subscribe(topic, handler);
      setState('open', 'open');
    },
    onclose(code, reason) {
      session = null;
      $('session-id').textContent = '—';
      setState('closed', `closed (${code}${reason ? `: ${reason}` : ''})`);
    },
  });
}

$('bc-topic').textContent = `${DEMO_BASE}broadcast`;
$('reconnect').addEventListener('click', start);
renderSubscriptions();
start();
