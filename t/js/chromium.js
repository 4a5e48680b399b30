'use strict';
// The ledger scenario of t/js/sdk.js with the SDK inside headless
// Chromium, for t/802-js-sdk-chromium.t:
//
//   NODE_PATH=build/npm/node_modules node t/js/chromium.js --port N
//       [--slow S] ledger fault=none|reload|kill|redis [who=NAME]
//       [users=4] [msgs=200] [tls=PORT]
//
// Chromium opens t/js/ledger.html from the nginx under test (over https
// on PORT with tls=), which imports the SDK from there and connects the
// users with the browser's WebSocket; the app handlers are the ones of
// sdk.js's ledger, called through page.exposeFunction.  Publishing, the
// fault halfway and the verdict are sdk.js's; the connections are cut
// from the page.  Prints the verdict and exits 0; "FAIL <what>" and 1
// when a wait ran out or Chromium could not be driven.

const fs = require('fs');
const t = require('./sdk.js');

const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
const STEP = 20000;             // the longest wait for the page, ms

async function ledger(page) {
    const fault = t.args.fault || 'none';
    const who = t.args.who || fault;
    const nu = Number(t.args.users || 4);
    const nm = Number(t.args.msgs || 200);
    const app = t.ledgerApp();

    await page.exposeFunction('delivered', (name, m) => app.deliver(name, m));
    const origin = t.args.tls ? 'https://127.0.0.1:' + t.args.tls
                              : 'http://127.0.0.1:' + t.port;
    await page.goto(origin + '/ledger.html', { timeout: STEP * t.slow });
    await page.waitForFunction(() => window.ready === true, null,
                               { timeout: STEP * t.slow });
    await page.evaluate(([w, n]) => window.start(w, n), [who, nu]);
    await page.waitForFunction(
        () => window.clients.every((c) => c.state === 'open'), null,
        { timeout: 10000 * t.slow });

    const pub = await t.ledgerPublish(fault, who, nu, nm,
        (i) => page.evaluate((k) => window.drop(k), i));
    await t.ledgerVerdict(fault, who, nu, nm, app, pub,
        () => page.evaluate(() => window.clients.map((c) => c.stats)));

    const errors = await page.evaluate(() => {
        for (const c of window.clients) {
            c.close();
        }
        return window.errors;
    });
    process.stderr.write('errors in the page: ' + errors.length + '\n'
                         + errors.slice(0, 20).join('\n') + '\n');
}

async function main() {
    let chromium;

    if (!fs.existsSync(executablePath)) {
        t.fail('no Chromium at ' + executablePath + ' (make deps installs'
               + ' it)');
    }
    try {
        ({ chromium } = require('playwright-core'));
    } catch (e) {
        t.fail('no playwright-core (make deps installs it): ' + e.message);
    }

    const browser = await chromium.launch({
        executablePath,
        headless: true,
        timeout: 60000 * t.slow,
        args: [
            ...(t.args.tls ? ['--ignore-certificate-errors'] : []),
            '--no-sandbox', '--disable-gpu', '--disable-quic',
            '--no-first-run', '--disable-background-networking',
            '--disable-component-update', '--disable-sync',
            '--no-proxy-server',
        ],
    });
    try {
        const context = await browser.newContext(
            { ignoreHTTPSErrors: Boolean(t.args.tls) });
        const page = await context.newPage();
        page.on('pageerror', (e) => console.error('page error: '
                                                  + e.message));
        page.on('console', (m) => console.error('console: ' + m.text()));
        await ledger(page);
    } finally {
        await browser.close().catch(() => {});
    }
}

if (t.scenario !== 'ledger') {
    t.fail('the one scenario here is ledger');
}
const guard = setTimeout(() => t.fail('scenario did not end in 100 s'),
                         100000 * t.slow);
main().then(() => {
    clearTimeout(guard);
    process.exit(0);
}, (e) => t.fail(e && e.stack ? e.stack : String(e)));
