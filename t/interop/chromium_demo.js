'use strict';
// Drives the demo page (conf/html/index.html with the SDK beside it) in
// headless Chromium with playwright-core, as chromium_echo.js does:
//
//   node chromium_demo.js http://127.0.0.1:PORT/
//
// It clicks what a person would click: connect as alice, subscribe, get
// a message, ack one by hand and one automatically, disconnect and
// reconnect (the resume and its gap), schedule a message, and replay a
// dead letter of bob (a plain WebSocket in the same page that never
// acks).  It prints one line per step (values that vary are left out)
// and exits 0 when every step was seen, 1 otherwise.

const fs = require('fs');
const os = require('os');
const path = require('path');
const { chromium } = require('playwright-core');

const url = process.argv[2];
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
const tls = url.startsWith('https:');
const STEP = 20000;             // the longest wait for one step, ms
const DELAY = 1500;             // the scheduled message's delay, ms

const out = (s) => process.stdout.write(s + '\n');

// waits for a line of the page's log that matches re
async function logHas(page, re) {
  await page.waitForFunction(
    (src) => [...document.querySelectorAll('#ps-log div')]
             .some((d) => new RegExp(src).test(d.textContent)),
    re.source, { timeout: STEP });
}

async function message(page, data) {
  const li = page.locator('#messages li.msg', { hasText: data });
  await li.first().waitFor({ timeout: STEP });
  return li;
}

async function publish(page, body) {
  return page.evaluate(async (b) => {
    const r = await fetch('/pub', { method: 'POST', body: JSON.stringify(b),
      headers: { 'Content-Type': 'application/json' } });
    return r.status;
  }, body);
}

async function drive(page) {
  await page.goto(url, { timeout: STEP });
  await page.click('#ps-connect');
  await page.waitForFunction(
    () => document.getElementById('ps-state').textContent === 'open',
    null, { timeout: STEP });
  out('state open');

  await page.fill('#text', 'hello news');
  await page.click('#ps-pub');
  await message(page, 'hello news');
  out('message on news: hello news');

  await page.fill('#channel', 'chat.demo');
  await page.click('#ps-sub');
  await logHas(page, /subscribed chat\.demo/);
  await page.fill('#text', 'hello chat');
  await page.click('#ps-pub');
  let li = await message(page, 'hello chat');
  out('subscribed, message on chat.demo: '
      + (await li.first().textContent()).startsWith('chat.demo normal'));

  await page.check('#ack-manual');
  await page.fill('#text', 'ack me');
  await page.click('#ps-to-me');
  li = await message(page, 'ack me');
  const button = li.locator('button.ack');
  out('manual: ' + await button.textContent());
  await button.click();
  out('after the click: ' + await button.textContent());

  await page.check('#ack-auto');
  await page.fill('#text', 'acked for me');
  await page.click('#ps-to-me');
  li = await message(page, 'acked for me');
  out('automatic: ' + await li.locator('button.ack').textContent());

  await page.click('#ps-disconnect');
  await page.waitForFunction(
    () => document.getElementById('ps-state').textContent === 'closed',
    null, { timeout: STEP });
  out('disconnected');
  const away = [{ user: 'alice', data: 'while away' }];
  for (let i = 1; i <= 25; i++) {
    away.push({ channel: 'news', data: 'away ' + i });
  }
  out('published while away: ' + await publish(page, away));
  const before = await page.locator('#messages li.msg').count();
  await page.click('#ps-connect');
  await logHas(page, /resumed user alice count 1$/);
  await message(page, 'while away');
  out('reconnected: while away arrives, then resumed user alice count 1');
  await logHas(page, /resumed news count 20$/);
  const lines = await page.locator('#ps-log div').allTextContents();
  const gap = lines.findIndex((l) => / gap news since \d+ last \d+ /.test(l));
  const resumed = lines.findIndex((l) => / resumed news count 20$/.test(l));
  out('gap news, then resumed news count 20: ' + (gap >= 0 && gap < resumed));
  const shown = (await page.locator('#messages li.msg').allTextContents())
                .slice(before).map((t) => t.replace(/ \(id .*/, ''));
  out('shown after the reconnect: ' + shown.length + ', '
      + shown.filter((t) => t.startsWith('news ')).length + ' of news, from '
      + shown.find((t) => t.startsWith('news ')));

  await page.fill('#channel', 'chat.demo');
  await page.fill('#text', 'later');
  await page.fill('#delay', String(DELAY));
  await page.click('#ps-schedule');
  await logHas(page, /scheduled s\d+ in 1500 ms/);
  li = await message(page, 'later');
  const after = Number(await li.first().getAttribute('data-after'));
  out('scheduled message arrives after its delay: ' + (after >= DELAY));
  if (after < DELAY || after > DELAY + 5000) {
    out('  came after ' + after + ' ms');
  }

  await page.evaluate(() => new Promise((resolve, reject) => {
    const ws = new WebSocket('ws' + location.origin.slice(4)
                             + '/ws?user=bob', 'ws-perf.v1');
    window.bob = [];
    ws.onmessage = (e) => {
      const m = JSON.parse(e.data);
      if (m.type === 'msg') window.bob.push(m.id);
    };
    ws.onopen = resolve;
    ws.onerror = () => reject(new Error('bob: websocket error'));
  }));
  out('bob, who never acks: published '
      + await publish(page, { user: 'bob', data: 'never acked', ack: true }));
  await page.waitForFunction(() => window.bob.length >= 2, null,
                             { timeout: STEP });
  out('bob: sent again after the ack timeout, same id: '
      + await page.evaluate(() => window.bob[0] === window.bob[1]));

  const row = page.locator('#dlq-list tr.dead');
  for (let i = 0; i < 40 && await row.count() === 0; i++) {
    await page.click('#dlq-fetch');
    await page.waitForTimeout(500);
  }
  out('dead letters: ' + await row.count());
  out('  ' + (await row.first().locator('td').allTextContents())
               .slice(0, 4).join(' | '));

  const seen = await page.evaluate(() => window.bob.length);
  await row.first().locator('button.replay').click();
  await logHas(page, /replay \S+: 200 \{"replayed":1,"kept":0\}/);
  out('replayed: {"replayed":1,"kept":0}');
  await page.waitForFunction((n) => window.bob.length > n, seen,
                             { timeout: STEP });
  out('bob gets it again, same id: '
      + await page.evaluate(() => window.bob.at(-1) === window.bob[0]));
  await page.waitForFunction(
    () => document.querySelectorAll('#dlq-list tr.dead').length === 0,
    null, { timeout: STEP });
  out('dead letters after the replay: 0');

  await page.evaluate(() => window.bob.length = 0);
  for (let i = 0; i < 40 && await row.count() === 0; i++) {
    await page.click('#dlq-fetch');
    await page.waitForTimeout(500);
  }
  out('dead-lettered again (still no ack): ' + await row.count());
  await row.first().locator('button.delete').click();
  await logHas(page, /delete \S+: 200 \{"deleted":1\}/);
  out('deleted: {"deleted":1}');
  await page.waitForFunction(
    () => document.querySelectorAll('#dlq-list tr.dead').length === 0,
    null, { timeout: STEP });
  out('dead letters after the delete: 0');

  const errors = await page.locator('#ps-log div', { hasText: 'error' })
                           .allTextContents();
  out('errors in the page log: ' + errors.length);
  for (const e of errors) {
    out('  ' + e);
  }
}

async function main() {
  if (!fs.existsSync(executablePath)) {
    out('FAIL no Chromium at ' + executablePath + ' (make deps installs it)');
    return 1;
  }

  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'ws-perf-chromium-'));
  let context;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath,
      headless: true,
      timeout: 60000,
      ignoreHTTPSErrors: tls,
      args: [
        ...(tls ? ['--ignore-certificate-errors'] : []),
        '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
        '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync', '--no-proxy-server',
      ],
    });
    const page = context.pages()[0] || await context.newPage();
    page.on('pageerror', (e) => console.error('page error: ' + e.message));
    page.on('console', (m) => console.error('console: ' + m.text()));
    try {
      await drive(page);
    } finally {
      console.error(await page.textContent('#ps-log').catch(() => ''));
    }
    return 0;
  } catch (e) {
    out('FAIL ' + (e.message || e));
    return 1;
  } finally {
    if (context) await context.close().catch(() => {});
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

main().then((rc) => process.exit(rc), (e) => {
  out('FAIL ' + (e.stack || e));
  process.exit(1);
});
