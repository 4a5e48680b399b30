'use strict';
// An echo session held by node's "ws" client (installed by util/deps.sh
// into build/npm; run with NODE_PATH=build/npm/node_modules).
//
//   node echo_client.js ws://127.0.0.1:PORT/echo
//
// Prints one line per step ("text ok", ...) and exits 0, or prints
// "FAIL <step>: <why>" and exits 1.

const WebSocket = require('ws');

const MIB = 1 << 20;
const url = process.argv[2];

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
const ws = new WebSocket(url, { maxPayload: 4 * MIB, handshakeTimeout: 10000 });
const queue = [];
let waiting = null;

ws.on('message', (data, isBinary) => {
  const m = { data, isBinary };
  if (waiting) {
    const w = waiting;
    waiting = null;
    w(m);
  } else {
    queue.push(m);
  }
});
ws.on('error', (e) => fail('error: ' + e.message));

function next() {
  if (queue.length) return Promise.resolve(queue.shift());
  return new Promise((resolve) => { waiting = resolve; });
}

async function expect(want, binary, step) {
  const m = await next();
  if (m.isBinary !== binary) fail(step + ': got a ' + (m.isBinary ? 'binary' : 'text') + ' message');
  const wantBuf = Buffer.isBuffer(want) ? want : Buffer.from(want, 'utf8');
  if (!wantBuf.equals(m.data)) fail(step + ': echo differs (' + m.data.length + ' bytes, want ' + wantBuf.length + ')');
  console.log(step + ' ok');
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

ws.on('open', async () => {
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
});
