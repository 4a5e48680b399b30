'use strict';
// Drives headless Chromium (Debian's /usr/bin/chromium) with playwright-core
// (installed by util/deps.sh into build/npm; run with
// NODE_PATH=build/npm/node_modules):
//
//   node chromium_echo.js http://127.0.0.1:PORT/interop.html
//
// The page, served by nginx, holds WebSocket sessions itself and writes
// one line per step into <pre id="result">, then sets its title to "done"
// (or "failed").  This prints those lines and exits 0 when the page is
// done, 1 otherwise.  An https:// page (and its wss:// sessions) may use
// the test's self-signed certificate: certificate errors are ignored then.

const fs = require('fs');
const os = require('os');
const path = require('path');
const { chromium } = require('playwright-core');

const url = process.argv[2];
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
const tls = url.startsWith('https:');

async function main() {
  if (!fs.existsSync(executablePath)) {
    console.log('FAIL no Chromium at ' + executablePath + ' (make deps installs it)');
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

    await page.goto(url, { timeout: 20000 });
    await page.waitForFunction(
      () => document.title === 'done' || document.title === 'failed',
      null, { timeout: 30000 });
    const title = await page.title();
    process.stdout.write(await page.textContent('#result'));
    return title === 'done' ? 0 : 1;
  } catch (e) {
    console.log('FAIL ' + (e.message || e));
    return 1;
  } finally {
    if (context) await context.close().catch(() => {});
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

main().then((rc) => process.exit(rc), (e) => {
  console.log('FAIL ' + (e.stack || e));
  process.exit(1);
});
