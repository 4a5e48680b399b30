'use strict';
// The dashboard (conf/html/dashboard.html) in headless Chromium while
// traffic runs (t/305-dashboard.t, through t/obs/client.py):
//
//   NODE_PATH=build/npm/node_modules \
//       node dashboard_check.js http://127.0.0.1:PORT/dashboard.html SHOT.png
//
// Holds WebSocket subscribers (node's "ws") on /ws?channels=dash, publishes
// to /pub every 20 ms, and checks that the numbers the page shows are the
// ones of the JSON status: the page's own last reading, and the status
// this script fetches itself for the same second.  Prints one line per
// check; exits 0 when it could run them all.

const fs = require('fs');
const os = require('os');
const path = require('path');
const WebSocket = require('ws');
const { chromium } = require('playwright-core');

const pageUrl = process.argv[2];
const shot = process.argv[3];
const origin = new URL(pageUrl).origin;
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
const SUBS = 20;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function until(what, fn, timeout = 15000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error('timed out: ' + what);
    await sleep(50);
  }
}

async function status() {
  const r = await fetch(origin + '/status?format=json', { cache: 'no-store' });
  if (!r.ok) throw new Error('status ' + r.status);
  return r.json();
}

/* the page's numbers and the status it rendered them from, at one moment */
function snapshot(page) {
  return page.evaluate(() => {
    const ids = ['connections', 'opened', 'closed', 'delivered-rate',
      'published-rate', 'delivered-total', 'published-total', 'p50', 'p95',
      'p99', 'p999', 'latency-count', 'dropped-rate', 'dropped-total',
      'redis', 'alerts-firing', 'workers'];
    const dom = {};
    for (const id of ids) dom[id] = document.getElementById(id).textContent;
    dom.alerts = Array.from(document.querySelectorAll('#alerts li'))
      .map((li) => li.textContent);
    return { dom, last: window.wsPerf.last, renders: window.wsPerf.renders };
  });
}

/* what the page must show for status s */
function expected(s) {
  const w = s.window;
  return {
    connections: String(s.connections.current),
    opened: String(s.connections.opened),
    closed: String(s.connections.closed),
    'delivered-rate': w.delivered_per_s.toFixed(1),
    'published-rate': w.published_per_s.toFixed(1),
    'delivered-total': String(s.messages.delivered),
    'published-total': String(s.messages.published),
    p50: w.latency.p50.toFixed(3),
    p95: w.latency.p95.toFixed(3),
    p99: w.latency.p99.toFixed(3),
    p999: w.latency.p99_9.toFixed(3),
    'latency-count': String(w.latency.count),
    'dropped-rate': w.dropped_per_s.toFixed(1),
    'dropped-total': String(s.messages.dropped),
    workers: String(s.workers.length),
  };
}

function diff(dom, want, keys) {
  const bad = [];
  for (const k of keys || Object.keys(want)) {
    if (dom[k] !== want[k]) bad.push(k + ' shows ' + dom[k] + ', want ' + want[k]);
  }
  return bad;
}

const WINDOW_KEYS = ['delivered-rate', 'published-rate', 'p50', 'p95', 'p99',
  'p999', 'latency-count', 'dropped-rate', 'connections'];

async function main() {
  const out = (l) => process.stdout.write(l + '\n');
  let received = 0;
  let publishing = true;
  let published = 0;

  const subs = [];
  for (let i = 0; i < SUBS; i++) {
    const ws = new WebSocket(origin.replace('http', 'ws') + '/ws?channels=dash');
    ws.on('message', () => { received++; });
    subs.push(new Promise((res, rej) => {
      ws.on('open', () => res(ws));
      ws.on('error', rej);
    }));
  }
  const sockets = await Promise.all(subs);

  const publisher = (async () => {
    while (publishing) {
      const r = await fetch(origin + '/pub', {
        method: 'POST',
        body: JSON.stringify({ channel: 'dash', data: { n: published } }),
      });
      await r.arrayBuffer();
      if (r.status !== 202) throw new Error('publish: ' + r.status);
      published++;
      await sleep(20);
    }
  })();

  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'ws-perf-dash-'));
  let context;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath, headless: true, timeout: 60000,
      viewport: { width: 1280, height: 900 },
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
        '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync', '--no-proxy-server'],
    });
    const page = context.pages()[0] || await context.newPage();
    const external = [];
    page.on('request', (r) => {
      if (!r.url().startsWith(origin)) external.push(r.url());
    });
    page.on('pageerror', (e) => console.error('page error: ' + e.message));

    await page.goto(pageUrl, { timeout: 20000 });

    // traffic shows on the page
    await until('deliveries per second on the page', async () => {
      const s = await snapshot(page);
      return s.last && s.last.window.delivered_per_s > 0
             && s.last.connections.current === SUBS;
    });

    let snap = await snapshot(page);
    let bad = diff(snap.dom, expected(snap.last));
    out('page shows the status it read: ' + (bad.length ? bad.join('; ') : 'yes'));

    // the same second read independently: the same numbers.  The page
    // reads once a second at its own phase; tries every 25 ms for up to
    // 20 s find that phase however late a loaded machine makes them, in
    // a second that had deliveries (on a loaded machine the publisher
    // here can miss one)
    let same = null;
    for (const end = Date.now() + 20000; !same && Date.now() < end;) {
      snap = await snapshot(page);
      const s = await status();
      if (s.window.time === snap.last.window.time
          && s.window.delivered_per_s > 0) same = s;
      else await sleep(25);
    }
    if (!same) {
      out('page and status never read the same second');
    } else {
      bad = diff(snap.dom, expected(same), WINDOW_KEYS);
      out('page matches the JSON status of the same second: '
          + (bad.length ? bad.join('; ') : 'yes'));
    }
    out('during traffic: ' + SUBS + ' connections, deliveries/s over 0: '
        + (Number(snap.dom['delivered-rate']) > 0 ? 'yes' : 'no'));
    out('alert on the page: ' + snap.dom.alerts.filter((t) =>
      t.startsWith('connections firing')).map((t) =>
      t.replace(/since \d\d:\d\d:\d\d/, 'since T')).join(', '));
    out('redis on the page: ' + snap.dom.redis);

    // a few seconds of history on the charts before the picture
    const r1 = snap.renders;
    await until('more renders', async () =>
      (await snapshot(page)).renders >= r1 + 4, 10000);
    fs.mkdirSync(path.dirname(shot), { recursive: true });
    await page.screenshot({ path: shot, fullPage: true });
    out('screenshot kept: ' + (fs.statSync(shot).size > 10000 ? 'yes' : 'no'));

    // traffic stops: the page's totals settle on the status's
    publishing = false;
    await publisher;
    await until('subscribers got every message',
      async () => received === published * SUBS, 10000);
    const final = await until('page totals equal the status totals', async () => {
      const s = await status();
      const p = await snapshot(page);
      return p.dom['delivered-total'] === String(s.messages.delivered)
             && p.dom['published-total'] === String(s.messages.published)
             && s.messages.delivered === published * SUBS ? s : null;
    });
    out('after traffic: page totals equal the JSON status and what the'
        + ' clients received: ' + (final ? 'yes' : 'no'));

    const charts = await page.evaluate(() => {
      const ids = ['connections', 'deliveries', 'latency', 'drops', 'redis',
        'alerts'];
      return ids.map((id) => {
        const c = document.getElementById('chart-' + id);
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let ink = 0;
        for (let i = 3; i < d.length; i += 4) if (d[i]) ink++;
        return id + (ink > 0 ? '' : ' (blank)');
      });
    });
    const r0 = (await snapshot(page)).renders;
    const t0 = Date.now();
    await until('three more renders', async () =>
      (await snapshot(page)).renders >= r0 + 3, 10000);
    const dt = Date.now() - t0;
    out('charts drawn: ' + charts.join(' ') + '; refreshed every second: '
        + (dt >= 2000 && dt <= 4500 ? 'yes' : 'no (3 renders in ' + dt + ' ms)'));
    out('requests outside nginx: ' + (external.length ? external.join(' ') : 'none'));

    for (const ws of sockets) ws.close(1000);
    return 0;
  } finally {
    publishing = false;
    if (context) await context.close().catch(() => {});
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

main().then((rc) => process.exit(rc), (e) => {
  console.log('FAIL ' + (e.stack || e));
  process.exit(1);
});
