'use strict';
// permessage-deflate sessions held by node's "ws" client (installed by
// util/deps.sh into build/npm; run with NODE_PATH=build/npm/node_modules):
//
//   node deflate_client.js ws://127.0.0.1:PORT/echo
//
// For each set of perMessageDeflate options, every message is compressed
// (threshold 0): texts and binaries of 16 B to 128 KB must come back the
// same.  Prints the server's answer and the result per set, and exits 0,
// or prints "FAIL <set>: <why>" and exits 1.

const WebSocket = require('ws');

const url = process.argv[2];
const SIZES = [16, 64, 256, 1024, 4096, 16384, 65536, 131072];
const SETS = {
  'default': {},
  'client-window-10': { clientMaxWindowBits: 10 },
  'server-window-15': { serverMaxWindowBits: 15 },
  'no-context': { clientNoContextTakeover: true,
                  serverNoContextTakeover: true },
};

function text(n, seed) {
  const unit = '{"seq":' + seed + ',"data":"hello world","ok":true} ';
  return unit.repeat(Math.ceil(n / unit.length)).slice(0, n);
}

function binary(n, seed) {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 7 + seed) & 0x3f;
  return b;
}

function session(name, options) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, {
      perMessageDeflate: Object.assign({ threshold: 0 }, options),
      maxPayload: 1 << 21,
      handshakeTimeout: 10000,
    });
    const timer = setTimeout(() => reject(new Error('no end within 30s')),
                             30000);
    let answer = null;
    const want = [];
    for (const n of SIZES) want.push(text(n, n), binary(n, n));
    let got = 0;

    ws.on('upgrade', (res) => {
      answer = res.headers['sec-websocket-extensions'];
    });
    ws.on('open', () => {
      for (const m of want) ws.send(m);
    });
    ws.on('message', (data, isBinary) => {
      const w = want[got++];
      const same = isBinary ? Buffer.isBuffer(w) && data.equals(w)
                            : !Buffer.isBuffer(w) && data.toString() === w;
      if (!same) {
        clearTimeout(timer);
        reject(new Error('echo ' + got + ' differs'));
        ws.terminate();
        return;
      }
      if (got === want.length) ws.close(1000);
    });
    ws.on('close', (code) => {
      clearTimeout(timer);
      if (got !== want.length) {
        reject(new Error('closed with ' + code + ' after ' + got));
        return;
      }
      console.log('node ' + name + ': ' + answer);
      console.log('node ' + name + ': ' + got + ' echoes ok, close ' + code);
      resolve();
    });
    ws.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

async function main() {
  for (const name of Object.keys(SETS)) {
    try {
      await session(name, SETS[name]);
    } catch (e) {
      console.log('FAIL ' + name + ': ' + (e.message || e));
      return 1;
    }
  }
  return 0;
}

main().then((rc) => process.exit(rc));
