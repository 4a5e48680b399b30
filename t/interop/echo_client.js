'use strict';
// An echo session held by node's "ws" client (installed by util/deps.sh
// into build/npm; run with NODE_PATH=build/npm/node_modules).
//
//   node echo_client.js ws://127.0.0.1:PORT/echo
//   node echo_client.js --ca CERT --max N [--idle URL] wss://127.0.0.1:PORT/echo
//
// Prints one line per step ("text ok", ...) and exits 0, or prints
// "FAIL <step>: <why>" and exits 1.
//
// --ca: verify the wss:// server against this certificate.  --max: instead
// of the interop session, echo messages of 1 byte up to N bytes (the
// location's ws_perf_max_message_size) and expect 1009 for N + 1.  --idle:
// then wait on that location until the server closes (idle timeout).

const fs = require('fs');
const WebSocket = require('ws');

const MIB = 1 << 20;
const opt = {};
let url;
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  if (a.startsWith('--')) opt[a.slice(2)] = process.argv[++i];
  else url = a;
}
const tls = opt.ca ? { ca: fs.readFileSync(opt.ca) } : {};

function pattern(n, seed) {
  const block = Buffer.alloc(1021);
  for (let i = 0; i < 1021; i++) block[i] = (i * 167 + seed * 13 + 11) & 0xff;
  const out = Buffer.alloc(n);
  for (let off = 0; off < n; off += block.length) block.copy(out, off);
  return out;
}

function fail(why) {
  console.log('FAIL ' + why);
  process.exit(1);
}

const timer = setTimeout(() => fail('timeout: no result within 30s'), 30000);

// the defaults: permessage-deflate is offered (and must be declined)
let ws;
const queue = [];
let waiting = null;

function open(u, options) {
  const w = new WebSocket(u, { maxPayload: 4 * MIB, handshakeTimeout: 10000,
                              ...tls, ...options });
  w.on('message', (data, isBinary) => {
    const m = { data, isBinary };
    if (waiting) {
      const f = waiting;
      waiting = null;
      f(m);
    } else {
      queue.push(m);
    }
  });
  w.on('error', (e) => fail('error: ' + e.message));
  return w;
}

function next() {
  if (queue.length) return Promise.resolve(queue.shift());
  return new Promise((resolve) => { waiting = resolve; });
}

function opened(w) {
  return new Promise((resolve) => w.once('open', resolve));
}

function closed(w) {
  return new Promise((resolve) => w.once('close', (code) => resolve(code)));
}

async function expect(want, binary, step, quiet) {
  const m = await next();
  if (m.isBinary !== binary) fail(step + ': got a ' + (m.isBinary ? 'binary' : 'text') + ' message');
  const wantBuf = Buffer.isBuffer(want) ? want : Buffer.from(want, 'utf8');
  if (!wantBuf.equals(m.data)) fail(step + ': echo differs (' + m.data.length + ' bytes, want ' + wantBuf.length + ')');
  if (!quiet) console.log(step + ' ok');
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// lengths around every frame header size and TLS record (16 KiB) boundary
function sizesUpTo(limit) {
  const s = [1, 125, 126, 127, 16383, 16384, 16385, 65535, 65536, 65537,
             100000, Math.floor(limit / 2), limit - 1, limit];
  return [...new Set(s.filter((n) => n >= 1 && n <= limit))]
    .sort((a, b) => a - b);
}

async function sizes(limit) {
  ws = open(url, { maxPayload: 4 * limit });
  await opened(ws);
  console.log('open ok');
  for (const n of sizesUpTo(limit)) {
    const bin = pattern(n, n % 7);
    ws.send(bin);
    await expect(bin, true, 'binary of ' + n + ' bytes', true);
    const text = '0123456789abcdef'.repeat(Math.floor(n / 16) + 1).slice(0, n);
    ws.send(text);
    await expect(text, false, 'text of ' + n + ' bytes', true);
  }
  console.log('echo 1 byte to max_message_size ok');

  const pong = new Promise((resolve) => ws.once('pong', resolve));
  ws.ping(Buffer.from('tls ping'));
  if ((await pong).toString() !== 'tls ping') fail('ping: pong payload');
  console.log('ping ok');

  let start = Date.now();
  let c = closed(ws);
  ws.close(1000, 'bye');
  let code = await c;
  if (Date.now() - start > 1000) fail('close took ' + (Date.now() - start) + 'ms');
  console.log('close ' + code + ', answered at once');

  ws = open(url, { maxPayload: 4 * limit });
  await opened(ws);
  c = closed(ws);
  ws.send(pattern(limit + 1, 1));
  code = await c;
  if (queue.length) fail('an echo of ' + (limit + 1) + ' bytes');
  console.log('max_message_size + 1: close ' + code);

  if (opt.idle) {
    ws = open(opt.idle);
    await opened(ws);
    start = Date.now();
    code = await closed(ws);
    // the location's idle timeout is well under a second
    if (Date.now() - start > 3000) fail('idle close took ' + (Date.now() - start) + 'ms');
    console.log('idle: server closed with ' + code);
  }
  clearTimeout(timer);
  process.exit(0);
}

if (opt.max) {
  sizes(parseInt(opt.max, 10)).catch((e) => fail(e.stack || String(e)));
} else {
  ws = open(url, {});
  ws.on('open', interop);
}

async function interop() {
  try {
    if (ws.protocol !== '') fail('subprotocol selected: ' + ws.protocol);
    if (ws.extensions !== '') fail('extensions answered: ' + ws.extensions);
    console.log('open ok');

    ws.send('hello from node ws');
    await expect('hello from node ws', false, 'text');

    const word = '\u03ba\u1f79\u03c3\u03bc\u03b5 \u{1f600} \u4e16\u754c';
    ws.send(word);
    await expect(word, false, 'unicode');

    const all = Buffer.from([...Array(256).keys()]);
    ws.send(all);
    await expect(all, true, 'binary');

    ws.send(Buffer.alloc(0));
    await expect(Buffer.alloc(0), true, 'empty binary');

    const big = pattern(MIB, 2);
    ws.send(big);
    await expect(big, true, '1MiB binary');

    const text = '0123456789abcdef'.repeat(MIB / 16);
    ws.send(text);
    await expect(text, false, '1MiB text');

    // one message sent as three frames comes back whole
    ws.send('frag', { fin: false });
    ws.send('ment', { fin: false });
    ws.send('ed', { fin: true });
    await expect('fragmented', false, 'fragmented');

    const pong = new Promise((resolve) => ws.once('pong', resolve));
    ws.ping(Buffer.from('node ping'));
    const payload = await pong;
    if (payload.toString() !== 'node ping') fail('ping: pong payload ' + payload.toString());
    console.log('ping ok');

    // longer than the idle timeout: ws answers the server's pings
    let pings = 0;
    ws.on('ping', () => { pings++; });
    await sleep(1500);
    if (pings < 2) fail('after idle: only ' + pings + ' server pings seen');
    ws.send('still open');
    await expect('still open', false, 'after idle');

    const start = Date.now();
    ws.on('close', (code, reason) => {
      const took = (Date.now() - start) / 1000;
      if (took > 3) fail('close took ' + took + 's');
      console.log("close " + code + " '" + reason.toString() + "'");
      clearTimeout(timer);
      process.exit(0);
    });
    ws.close(1000, 'bye');
  } catch (e) {
    fail(e.stack || String(e));
  }
}
