'use strict';
// Scenarios of the JavaScript SDK (clients/js/ws-perf.js) against the real
// module, for t/801-js-sdk.t; run like t/pubsub/client.py:
//
//   NODE_PATH=build/npm/node_modules node t/js/sdk.js --port N [--slow S]
//       SCENARIO [key=value ...]
//
// Prints a verdict, one line per fact, and exits 0; a failed wait prints
// "FAIL <what>" and exits 1.  Every wait has a deadline.  Faults reuse the
// helpers of t/pubsub/redis.py (pids of workers, stopping and starting
// the test's redis-server), run with /usr/bin/python3 ($WS_PERF_PYTHON),
// which also makes the reference lz4 blocks (python3-lz4).

const { execFileSync } = require('child_process');
const fs = require('fs');
const httpc = require('http');
const path = require('path');
const { pathToFileURL } = require('url');
const WebSocket = require('ws');

const top = path.resolve(__dirname, '..', '..');
const argv = process.argv.slice(2);
const opt = { slow: 1 };
const args = {};
let scenario;

for (let i = 0; i < argv.length; i++) {
    if (argv[i].startsWith('--')) {
        opt[argv[i].slice(2)] = argv[++i];
    } else if (!scenario) {
        scenario = argv[i];
    } else {
        const eq = argv[i].indexOf('=');
        args[argv[i].slice(0, eq)] = argv[i].slice(eq + 1);
    }
}

const port = Number(opt.port);
const slow = Number(opt.slow) || 1;
let sdk;

function out(line) {
    process.stdout.write(line + '\n');
}

function fail(why) {
    out('FAIL ' + why);
    process.exit(1);
}

function sleep(ms) {
    return new Promise((r) => setTimeout(r, ms));
}

// waits until cond() is true, checking every 10 ms, at most `s` seconds
async function until(cond, s, what) {
    const end = Date.now() + s * 1000 * slow;
    while (!cond()) {
        if (Date.now() > end) {
            fail('timeout after ' + s + ' s waiting for '
                 + (typeof what === 'function' ? what() : what));
        }
        await sleep(10);
    }
}

function withTimeout(p, s, what) {
    let t;
    return Promise.race([
        p,
        new Promise((_, rej) => {
            t = setTimeout(() => rej(new Error('timeout after ' + s
                                               + ' s: ' + what)),
                           s * 1000 * slow);
        }),
    ]).finally(() => clearTimeout(t));
}

// python3 running one of the t/pubsub/ helpers
function py(code, input) {
    return execFileSync(process.env.WS_PERF_PYTHON || '/usr/bin/python3', ['-c',
        'import sys; sys.path.insert(0, "t/pubsub");'
        + 'sys.dont_write_bytecode = True\n' + code],
        { cwd: top, input, timeout: 30000 * slow, maxBuffer: 1 << 26 })
        .toString();
}

// one request on a connection of its own (a kept-alive one could be to a
// worker that was killed); status 0 when no answer came
function http(method, p, body) {
    return new Promise((resolve) => {
        const data = body === undefined ? undefined : JSON.stringify(body);
        const req = httpc.request({ host: '127.0.0.1', port, path: p, method,
                                    agent: false,
                                    timeout: 10000 * slow }, (res) => {
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (d) => { text += d; });
            res.on('end', () => resolve({ status: res.statusCode,
                                          body: text }));
            res.on('error', (e) => resolve({ status: 0, body: String(e) }));
        });
        req.on('timeout', () => req.destroy(new Error('timeout')));
        req.on('error', (e) => resolve({ status: 0, body: String(e) }));
        req.end(data);
    });
}

// a "ws" WebSocket that keeps the binary frames it received
function recorder(frames) {
    return class extends WebSocket {
        constructor(...a) {
            super(...a);
            this.on('message', (data, isBinary) => {
                if (isBinary) {
                    frames.push(Buffer.from(data));
                }
            });
        }
    };
}

function client(p, options = {}) {
    const url = options.url || 'ws://127.0.0.1:' + port + p;
    const c = new sdk.WsPerfClient(url, { WebSocket, minDelay: 50,
                                         maxDelay: 500, ...options });
    c.got = [];
    c.errors = [];
    c.states = [];
    c.transports = [];
    c.on('message', (m) => { c.got.push(m); });
    c.on('error', (e) => { c.errors.push(e); });
    c.on('state', (s, t) => {
        c.states.push(s);
        c.transports.push(s + '/' + t);
    });
    return c.connect();
}

// publishes over HTTP until `c` has something for which pred is true (a
// subscription may take a moment to reach Redis); the publishes are
// plain (no ack), on a marker the caller ignores
async function warm(clients, body) {
    const end = Date.now() + 10000 * slow;
    let n = 0;
    for (;;) {
        const r = await http('POST', '/pub', { ...body, data: { warm: n++ } });
        if (r.status !== 202) {
            fail('warm-up publish: ' + r.status + ' ' + r.body);
        }
        const t = Date.now() + 200;
        while (Date.now() < t) {
            if (clients.every((c) => c.got.some((m) => m.data
                                                && m.data.warm !== undefined)))
            {
                return;
            }
            await sleep(10);
        }
        if (Date.now() > end) {
            fail('warm-up: nothing arrived in 10 s');
        }
    }
}


// --------------------------------------------------------- lz4 decoder

const VECTORS = `
import json, os, random, base64, lz4.block
rnd = random.Random(7)
def rb(n): return bytes(rnd.getrandbits(8) for _ in range(n))
words = [b"order", b"price", b"qty", b"side", b"buy", b"sell", b"{", b"}"]
text = b",".join(rnd.choice(words) + str(rnd.randrange(999)).encode()
                 for _ in range(20000))
data = {
    "empty": b"", "one": b"x", "fifteen": b"a" * 15, "sixteen": b"a" * 16,
    "overlap2": b"ab" * 1000, "overlap1": b"z" * 100000,
    "random300": rb(300), "random70k": rb(70000),
    "mixed": rb(5000) + b"q" * 70000 + rb(5000) + rb(200) * 400,
    "text": text,
}
modes = [("default", {}), ("hc12", {"mode": "high_compression",
          "compression": 12}), ("fast8", {"mode": "fast",
          "acceleration": 8})]
out = []
for name, d in data.items():
    for mname, kw in modes:
        blk = lz4.block.compress(d, store_size=False, **kw)
        out.append({"name": name + "/" + mname,
                    "orig": base64.b64encode(d).decode(),
                    "block": base64.b64encode(blk).decode()})
print(json.dumps(out))
`;

function b(...bytes) {
    return Uint8Array.from(bytes.flat());
}

// blocks a hostile or broken server could send, each with the size its
// header would claim; every one must be refused
const HOSTILE = [
    ['empty block', b(), 1],
    ['offset 0', b(0x10, 0x41, 0x00, 0x00, 0x50, 1, 2, 3, 4, 5), 10],
    ['offset before the output', b(0x10, 0x41, 0x02, 0x00, 0x50, 1, 2, 3,
                                   4, 5), 10],
    ['offset far before the output', b(0x10, 0x41, 0xff, 0xff, 0x50, 1, 2,
                                       3, 4, 5), 10],
    ['literals past the end', b(0x50, 1, 2), 5],
    ['long literal length past the end', b(0xf0, 0xff, 0xff, 0x10, 1), 600],
    ['length bytes run off the end', b(0xf0, 0xff, 0xff), 600],
    ['output over the declared size (literals)', b(0x50, 1, 2, 3, 4, 5), 4],
    ['output over the declared size (match)',
     b(0x1f, 0x41, 0x01, 0x00, 0xff, 0xff, 0xff, 0x10, 0x50, 1, 2, 3, 4, 5),
     1000],
    ['expands far over the bound',
     b(0x1f, 0x41, 0x01, 0x00, Array(4000).fill(0xff), 0x00, 0x50, 1, 2, 3,
       4, 5), 65536],
    ['fewer bytes than declared', b(0x30, 1, 2, 3), 4],
    ['ends inside an offset', b(0x10, 0x41, 0x01), 10],
    ['ends after a match', b(0x10, 0x41, 0x01, 0x00), 5],
];

async function lz4Vectors() {
    const vec = JSON.parse(py(VECTORS));
    let exact = 0;
    let bad = [];
    const blocks = [];

    for (const v of vec) {
        const orig = Buffer.from(v.orig, 'base64');
        const block = new Uint8Array(Buffer.from(v.block, 'base64'));
        blocks.push([block, orig.length]);
        try {
            const d = sdk.lz4DecodeBlock(block, orig.length);
            if (Buffer.compare(Buffer.from(d), orig) === 0) {
                exact++;
            } else {
                bad.push(v.name + ': wrong bytes');
            }
        } catch (e) {
            bad.push(v.name + ': ' + e.message);
        }
    }
    out('python3-lz4 blocks decoded exactly: ' + exact + ' of ' + vec.length
        + (bad.length ? ' (' + bad.join('; ') + ')' : ''));

    let refused = 0;
    bad = [];
    for (const [name, block, size] of HOSTILE) {
        try {
            sdk.lz4DecodeBlock(block, size);
            bad.push(name + ': decoded');
        } catch (e) {
            if (e instanceof sdk.Lz4Error) {
                refused++;
            } else {
                bad.push(name + ': ' + e);
            }
        }
    }
    out('hostile blocks refused with Lz4Error: ' + refused + ' of '
        + HOSTILE.length + (bad.length ? ' (' + bad.join('; ') + ')' : ''));

    // frame headers: a size over the bound is refused before any decoding
    const huge = b(0xff, 0xff, 0xff, 0xff, 0x00);
    let frameOk = 0;
    for (const [frame, max] of [[huge, undefined], [b(0, 0, 0x10, 1, 0x00),
                                                    4096], [b(0, 0, 0), 10]]) {
        try {
            sdk.lz4DecodeFrame(frame, max);
        } catch (e) {
            frameOk += e instanceof sdk.Lz4Error ? 1 : 0;
        }
    }
    out('frames over the size bound or short refused: ' + frameOk + ' of 3');

    // mutations of real blocks: each refused, or exactly the declared size
    let seed = 12345;
    const rnd = (n) => {
        seed = (seed * 1103515245 + 12345) >>> 0;
        return seed % n;
    };
    const n = Number(args.mutations || 3000);
    let wrong = 0;
    const t0 = Date.now();
    for (let i = 0; i < n; i++) {
        const [block, size] = blocks[rnd(blocks.length)];
        const m = Uint8Array.from(block);
        const flips = 1 + rnd(4);
        for (let j = 0; j < flips && m.length; j++) {
            m[rnd(m.length)] = rnd(256);
        }
        const cut = rnd(4) === 0 ? rnd(m.length + 1) : m.length;
        const claim = rnd(3) === 0 ? rnd(size + 64) : size;
        try {
            const d = sdk.lz4DecodeBlock(m.subarray(0, cut), claim);
            if (d.length !== claim) {
                wrong++;
            }
        } catch (e) {
            if (!(e instanceof sdk.Lz4Error)) {
                wrong++;
            }
        }
    }
    out('mutated blocks: ' + n + ', ' + (wrong ? wrong + ' misbehaved'
        : 'each refused or decoded to its declared size')
        + (Date.now() - t0 < 60000 * slow ? '' : ' (too slow)'));
}


// ------------------------------------------------ lz4 frames of nginx

function orders(n) {
    const o = [];
    for (let i = 0; i < n; i++) {
        o.push({ id: 'ord-' + i, side: i % 3 ? 'buy' : 'sell',
                 price: 100 + (i % 17), qty: i % 50, venue: 'XPAR' });
    }
    return o;
}

async function lz4Module() {
    const frames = [];
    const ch = args.channel || 'big';
    const a = client('/ws?channels=' + ch, { WebSocket: recorder(frames) });
    const p = client('/ws?channels=' + ch, { lz4: false });

    await until(() => a.state === 'open' && p.state === 'open', 10, 'open');
    out('lz4 client: protocol ' + a.protocol + '; plain client: protocol '
        + p.protocol);
    await warm([a, p], { channel: ch });

    const page = { page: orders(120) };
    let r = await http('POST', '/pub', { channel: ch, data: page });
    r = await http('POST', '/pub', { channel: ch, data: 'small' });
    if (r.status !== 202) {
        fail('publish: ' + r.status);
    }
    const got = (c) => c.got.filter((m) => m.data && m.data.warm
                                           === undefined);
    await until(() => got(a).length === 2 && got(p).length === 2, 10,
                'both messages on both clients');

    const same = JSON.stringify(got(a)[0].data) === JSON.stringify(page)
                 && JSON.stringify(got(p)[0].data) === JSON.stringify(page);
    out('large message: ' + (same ? 'the page' : 'WRONG DATA')
        + ' on both clients; binary frames on the lz4 client: '
        + frames.length + ', lz4 frames decoded by the sdk: '
        + a.stats.lz4Frames + '; on the plain client: ' + p.stats.lz4Frames);
    out('small message: ' + got(a)[1].data + ' as text');

    const mine = Buffer.from(sdk.lz4DecodeFrame(frames[0]));
    const theirs = Buffer.from(py(
        'import lz4.block\n'
        + 'f = sys.stdin.buffer.read()\n'
        + 'sys.stdout.buffer.write(lz4.block.decompress(f[4:], '
        + 'uncompressed_size=int.from_bytes(f[:4], "big")))', frames[0]));
    const env = JSON.parse(mine.toString());
    out('the frame decoded by the sdk and by python3-lz4: '
        + (Buffer.compare(mine, theirs) === 0 ? 'the same bytes'
                                              : 'DIFFERENT')
        + '; ratio under one half: ' + (frames[0].length * 2 < mine.length)
        + '; envelope id ' + (env.id === got(a)[0].id ? 'matches' : 'WRONG'));
    out('errors: ' + (a.errors.length + p.errors.length));
    a.close();
    p.close();
}


// --------------------------------------------- subscribe and publish

async function basic() {
    const tls = args.tls ? { url: 'wss://127.0.0.1:' + args.tls + '/ws',
                             webSocketOptions: {
                                 ca: fs.readFileSync(args.ca) } }
                         : {};
    const u = (q) => tls.url ? { ...tls, url: tls.url + q } : {};
    const timers = () => process.getActiveResourcesInfo()
                         .filter((r) => r === 'Timeout').length;
    const before = timers();
    const a = client('/ws?user=anna', u('?user=anna'));
    const b = client('/ws?user=ben', u('?user=ben'));

    await until(() => a.state === 'open' && b.state === 'open', 10, 'open');
    out('states: ' + a.states.join(' '));
    await withTimeout(Promise.all([a.subscribe('room.1'),
                                   a.subscribe('room.2')]), 10, 'subscribe');
    out('subscribed to room.1 and room.2');

    let refused = await a.subscribe('secret').then(() => 'subscribed',
                                                   (e) => e.code);
    out('subscribe to secret: ' + refused);
    refused = await b.publish('secret', 1).then(() => 'published',
                                                (e) => e.code);
    out('publish to secret: ' + refused);

    // a subscription reaches Redis a moment after its reply: publish until
    // one arrives (the copies are dropped below)
    const end = Date.now() + 10000 * slow;
    let id;
    let n = 0;
    for (;;) {
        id = await withTimeout(b.publish('room.1', { n: n++ }), 10, 'pub');
        await sleep(100);
        if (a.got.some((m) => m.id === id) || Date.now() > end) {
            break;
        }
    }
    const m = a.got.find((x) => x.id === id);
    out('publish by the sdk: ' + (m ? 'arrived, channel ' + m.channel
                                      + ', the id publish returned'
                                    : 'NOT ARRIVED'));

    await withTimeout(a.unsubscribe('room.1'), 10, 'unsubscribe');
    a.got.length = 0;
    await b.publish('room.1', { after: 'unsub' });
    const id2 = await b.publish('room.2', { after: 'unsub' });
    await until(() => a.got.some((x) => x.id === id2), 10,
                'the room.2 message');
    out('after unsubscribe: ' + a.got.map((x) => x.channel).join(' '));

    a.close();
    b.close();
    out('states at the end: ' + a.states.join(' '));
    const end2 = Date.now() + 5000 * slow;
    while (timers() > before && Date.now() < end2) {
        await new Promise((r) => setImmediate(r));
    }
    out('timers left by the clients after close(): ' + (timers() - before));
    out('errors: ' + (a.errors.length + b.errors.length));
}


// ------------------------------------------------ at-least-once, once

function workers() {
    return JSON.parse(py('import json, redis as rd\n'
                         + 'print(json.dumps(rd.pids_of_workers()))'));
}

function masterPid() {
    return Number(fs.readFileSync(path.join(
        process.env.TEST_NGINX_SERVER_ROOT, 'logs', 'nginx.pid'), 'utf8'));
}

function inject(fault) {
    if (fault === 'reload') {
        process.kill(masterPid(), 'SIGHUP');
    } else if (fault === 'kill') {
        process.kill(workers()[0], 'SIGKILL');
    } else if (fault === 'redis') {
        py('import redis as rd\nrd.redis_stop()\nrd.redis_start()');
    }
}

function dueAcks() {
    try {
        return Number(py('import redis as rd\n'
                         + 'print(rd.redis("ZCARD", "ws_perf:due"))'));
    } catch (e) {
        return -1;
    }
}

// what the app of the ledger saw, for ledgerVerdict(): app.deliver(name,
// m) is the message handler of user `name`; it acks some messages late,
// for some only after the server has sent them again (ws_perf_ack_timeout
// 300ms), by returning a promise
function ledgerApp() {
    const app = { seen: new Map(), got: new Map(), stranger: 0 };

    app.deliver = (name, m) => {
        app.seen.set(m.id, (app.seen.get(m.id) || 0) + 1);
        app.got.set(m.id, m);
        if (m.user !== name) {
            app.stranger++;
        }
        if (m.data && m.data.k % 10 === 1) {
            return sleep(450);
        }
        if (m.data && m.data.k % 2) {
            return sleep(20 + (m.data.k * 37) % 100);
        }
        return undefined;
    };
    return app;
}

// publishes nm ack-required messages over HTTP to the users who0 ..
// who(nu-1), cutting the connection of one of them (await drop(i)) every
// ten messages, and injects the fault halfway
async function ledgerPublish(fault, who, nu, nm, drop) {
    const accepted = new Map();         // id -> [user, k]
    const uncertain = new Set();        // "u/k" answered 503 or not at all
    let faulted = fault === 'none';

    for (let k = 0; k < nm; k++) {
        const u = k % nu;
        const r = await http('POST', '/pub', { user: who + u,
                                              data: { k }, ack: true });
        if (r.status === 202) {
            accepted.set(JSON.parse(r.body).ids[0], [u, k]);
        } else if (r.status === 503 || r.status === 0) {
            uncertain.add(u + '/' + k);
            await sleep(50);
        } else {
            fail('publish answered ' + r.status + ' ' + r.body);
        }
        if (k % 10 === 3) {
            await drop(Math.floor(k / 10) % nu);
        }
        if (!faulted && k >= nm / 2) {
            faulted = true;
            inject(fault);
        }
    }
    return { accepted, uncertain };
}

// waits for every accepted message to reach the app and for Redis to
// hold no ack due, then prints the verdict; stats() gives the clients'
// stats (or a promise of them)
async function ledgerVerdict(fault, who, nu, nm, app, pub, stats) {
    const { accepted, uncertain } = pub;
    const missing = () => [...accepted.keys()].filter((id) => !app.seen
                                                               .has(id));
    await until(() => missing().length === 0, 60,
                () => 'deliveries: missing ' + missing().slice(0, 5));
    let due = dueAcks();
    const end = Date.now() + 30000 * slow;
    while (due !== 0 && Date.now() < end) {
        await sleep(100);
        due = dueAcks();
    }

    const st = await stats();
    const twice = [...app.seen.values()].filter((n) => n > 1).length;
    const unknown = [...app.seen.keys()].filter((id) => {
        const m = app.got.get(id);
        return !accepted.has(id)
               && !(m && m.data && uncertain.has(
                   m.user.slice(who.length) + '/' + m.data.k));
    });
    out(nm + ' messages published for ' + nu + ' users (' + fault + ')');
    if (fault !== 'none') {
        // a publish may be answered 503 (or not at all: its worker was
        // killed or exiting) during a fault: it is uncertain, and its
        // message may or may not arrive
        out('accepted: ' + (accepted.size >= nm / 2 ? 'every one but those'
                            + ' refused or cut during the fault'
                            : 'ONLY ' + accepted.size));
    } else {
        out('accepted: ' + (uncertain.size ? 'all but ' + uncertain.size
                                           : 'every one'));
    }
    out('received by the app: every accepted one'
        + (missing().length ? ' BUT ' + missing().length + ' missing' : ''));
    out('delivered to the app twice: ' + twice);
    out('received that was not sent: ' + unknown.length
        + '; to another user: ' + app.stranger);
    out('every client reconnected: '
        + (st.every((s) => s.reconnects > 0) ? 'yes' : 'no'));
    out('awaiting an ack at the end: ' + due);
    process.stderr.write('reconnects: ' + st.map((s) => s.reconnects)
                         + '; duplicates dropped: ' + st.reduce(
        (n, s) => n + s.duplicates, 0) + '; uncertain ' + uncertain.size
        + '\n');
}

async function ledger() {
    const fault = args.fault || 'none';
    const who = args.who || fault;
    const nu = Number(args.users || 4);
    const nm = Number(args.msgs || 200);
    const app = ledgerApp();
    const us = [];

    for (let i = 0; i < nu; i++) {
        const c = client('/ws?user=' + who + i);
        c.on('message', (m) => app.deliver(who + i, m));
        us.push(c);
    }
    await until(() => us.every((c) => c.state === 'open'), 10, 'open');

    const pub = await ledgerPublish(fault, who, nu, nm, (i) => {
        if (us[i].socket) {
            us[i].socket.terminate();
        }
    });
    await ledgerVerdict(fault, who, nu, nm, app, pub,
                        () => us.map((c) => c.stats));
    for (const c of us) {
        c.close();
    }
}


// ---------------------------------------------------------- gap event

async function gap() {
    const user = args.user || 'gapu';
    const keep = Number(args.keep || 5);
    const events = [];
    const c = client('/ws?user=' + user);
    c.on('gap', (g) => events.push(['gap', g]));
    c.on('message', (m) => events.push(['msg', m]));
    c.on('resumed', (r) => events.push(['resumed', r]));

    const pub = async (data) => {
        const r = await http('POST', '/pub', { user, data });
        if (r.status !== 202) {
            fail('publish: ' + r.status + ' ' + r.body);
        }
        return JSON.parse(r.body).ids[0];
    };

    await until(() => c.state === 'open', 10, 'open');
    // users' messages go to the inbox whether or not the user is online,
    // but live delivery needs the subscription in Redis: publish until one
    // arrives
    const end = Date.now() + 10000 * slow;
    let first;
    do {
        first = await pub({ n: 0 });
        await sleep(100);
    } while (!c.got.some((m) => m.id === first) && Date.now() < end);
    if (!c.got.some((m) => m.id === first)) {
        fail('nothing arrived live in 10 s');
    }
    const seenBefore = c.got.length;

    // closed, more messages than the inbox keeps, then back
    c.close();
    const ids = [];
    for (let i = 1; i <= keep * 2; i++) {
        ids.push(await pub({ n: i }));
    }
    events.length = 0;
    c.connect();
    await until(() => events.some((e) => e[0] === 'resumed'), 10,
                'the resumed event after the reconnect');
    const g = events.find((e) => e[0] === 'gap');
    out('gap event: ' + (g ? 'since ' + (g[1].since === first
                                         ? 'the last id seen' : g[1].since)
                             + ', last ' + (g[1].last === ids[ids.length - 1]
                                            ? 'the newest id' : g[1].last)
                           : 'NONE'));
    out('gap before the messages: ' + (events[0] && events[0][0] === 'gap'));
    const after = c.got.slice(seenBefore).map((m) => m.data.n);
    out('messages after it: ' + after.join(' '));
    const r = events[events.length - 1];
    out('then: ' + r[0] + ' user ' + r[1].user + ' count ' + r[1].count
        + ' more ' + r[1].more);

    // a short absence: everything back, no gap
    c.close();
    const more = [await pub({ n: 'a' }), await pub({ n: 'b' })];
    events.length = 0;
    c.connect();
    await until(() => events.some((e) => e[0] === 'resumed'), 10,
                'the resume of the short absence');
    out('after a short absence: '
        + events.map((e) => e[0] + (e[0] === 'msg' ? ' ' + e[1].data.n
                                                  : ' ' + e[1].count))
            .join(', '));
    out('gaps counted: ' + c.stats.gaps + '; errors: ' + c.errors.length);
    c.close();
}


// ------------------------------- a resume longer than the send queue

async function more() {
    const user = args.user || 'moreu';
    const n = Number(args.n || 60);
    const texts = [];
    const Rec = class extends WebSocket {
        constructor(...a) {
            super(...a);
            this.on('message', (d, bin) => {
                if (!bin) {
                    texts.push(d.toString());
                }
            });
        }
    };
    // /wsq lists no subprotocol: "ws" needs none offered
    const c = client('/wsq?user=' + user, { subprotocols: false,
                                           WebSocket: Rec });
    const gaps = [];
    c.on('gap', (g) => gaps.push(g));

    await until(() => c.state === 'open', 10, 'open');
    await warm([c], { user });
    c.close();

    // about 1 KB each, that lz4 would not shrink much either
    let seed = 99;
    const noise = () => {
        let t = '';
        for (let i = 0; i < 1000; i++) {
            seed = (seed * 1103515245 + 12345) >>> 0;
            t += String.fromCharCode(48 + (seed >>> 16) % 75);
        }
        return t;
    };
    const ids = [];
    for (let i = 0; i < n; i++) {
        const r = await http('POST', '/pub', { user, data: { i, t: noise() } });
        if (r.status !== 202) {
            fail('publish: ' + r.status + ' ' + r.body);
        }
        ids.push(JSON.parse(r.body).ids[0]);
    }
    c.got.length = 0;
    c.connect();
    await until(() => c.got.some((m) => m.id === ids[n - 1]), 20,
                () => 'the last message; got ' + c.got.length);
    const got = c.got.map((m) => m.data.i);
    const inOrder = got.every((x, k) => x === k);
    out('resume cut short by the send queue: '
        + (texts.some((t) => /"more":true/.test(t)) ? 'yes' : 'NO')
        + '; asked again by the sdk until done');
    out('protocol: ' + c.protocol);
    out('messages: ' + got.length + ' of ' + n + (inOrder ? ', in order'
                                                          : ', OUT OF ORDER')
        + '; gap events: ' + gaps.length + '; errors: ' + c.errors.length);
    c.close();
}


// ------------------------------------------------------ manual acks

async function acks() {
    const man = client('/ws?user=' + (args.user || 'acku'),
                       { autoAck: false });
    const auto = client('/ws?user=' + (args.user || 'acku') + 'f');
    const calls = [];
    auto.on('message', (m) => {
        calls.push(m.id);
        if (m.data && m.data.fail && calls.filter((x) => x === m.id)
                                          .length === 1)
        {
            throw new Error('the app failed once');
        }
    });

    await until(() => man.state === 'open' && auto.state === 'open', 10,
                'open');
    await warm([man], { user: (args.user || 'acku') });
    await warm([auto], { user: (args.user || 'acku') + 'f' });

    // manual: redelivered while unacked, the copies never reach the app
    let r = await http('POST', '/pub', { user: args.user || 'acku',
                                        data: { manual: 1 }, ack: true });
    const id = JSON.parse(r.body).ids[0];
    await until(() => man.got.some((m) => m.id === id), 10, 'the message');
    await until(() => man.stats.duplicates >= 1, 10, 'a redelivery');
    out('unacked: redelivered, the app saw it '
        + man.got.filter((m) => m.id === id).length + ' time(s)');
    man.got.find((m) => m.id === id).ack();
    await until(() => dueAcks() === 0, 10, 'the ack to reach Redis');
    out('after msg.ack(): nothing awaits an ack');

    // a handler that throws: not acked, and the next delivery reaches the
    // app again
    r = await http('POST', '/pub', { user: (args.user || 'acku') + 'f',
                                    data: { fail: true }, ack: true });
    const id2 = JSON.parse(r.body).ids[0];
    await until(() => calls.filter((x) => x === id2).length >= 2, 10,
                'the delivery after the failure');
    await until(() => dueAcks() === 0, 10, 'the ack to reach Redis');
    out('handler threw: delivered again, then acked; errors: '
        + auto.errors.map((e) => e.message).join(', '));
    man.close();
    auto.close();
}


// --------------------------------- the event stream when WebSocket fails

// a client of /wsno (a location that answers the upgrade with 403) that
// falls back to /sse; over https with tls=PORT (fetch trusts the test's
// certificate through NODE_EXTRA_CA_CERTS, set by t/801)
function fallbackClient(user, options = {}) {
    const base = args.tls ? 'https://127.0.0.1:' + args.tls
                          : 'http://127.0.0.1:' + port;
    const c = client('', {
        url: (args.tls ? 'wss://127.0.0.1:' + args.tls
                       : 'ws://127.0.0.1:' + port) + '/wsno?user=' + user,
        webSocketOptions: args.tls ? { ca: fs.readFileSync(args.ca) }
                                   : undefined,
        sse: base + '/sse?user=' + user,
        publishUrl: base + '/pub',
        ...options,
    });
    c.events = [];
    c.on('gap', (g) => c.events.push(['gap', g]));
    c.on('resumed', (r) => c.events.push(['resumed', r]));
    return c;
}

const isWarm = (m) => m.data && m.data.warm !== undefined;

// states with a repeated "reconnecting/X open/X" said once: a connection
// made during a reload may reach an old worker, which closes it at once
function squeeze(states) {
    const out = [];
    for (const s of states) {
        const n = out.length;
        out.push(s);
        if (n >= 3 && out[n - 3] === out[n - 1] && out[n - 2] === s) {
            out.length -= 2;
        }
    }
    return out;
}

async function fallback() {
    const user = args.user || 'fbu';
    const timers = () => process.getActiveResourcesInfo()
                         .filter((r) => r === 'Timeout').length;
    const before = timers();
    const c = fallbackClient(user);

    await until(() => c.state === 'open', 15, 'the fallback to open');
    out('states: ' + c.transports.join(' ') + '; socket: ' + c.socket);

    await withTimeout(Promise.all([c.subscribe('room.1'),
                                   c.subscribe('room.2')]), 10,
                      'subscribe on the event stream');
    out('subscribed on the stream to room.1 and room.2, state '
        + c.state + '/' + c.transport);
    const bad = await withTimeout(c.subscribe('bad/name').then(
        () => 'subscribed', (e) => e.code), 10, 'a bad subscribe');
    await until(() => c.state === 'open', 10, 'the stream again');
    out('subscribe to an invalid name: ' + bad + '; the stream goes on: '
        + c.state);
    await warm([c], { channel: 'room.1' });
    await warm([c], { channel: 'room.2' });
    await warm([c], { user });

    // published by the sdk (POST to publishUrl) while on the stream
    const id = await withTimeout(c.publish('room.1', { by: 'sdk' }), 10,
                                 'publish over HTTP');
    await until(() => c.got.some((m) => m.id === id), 10, 'the sdk publish');
    out('publish by the sdk over HTTP: arrived on the stream with its id');

    // messages to the three targets, and nginx reloads halfway: the old
    // worker's stream ends, the new one resumes from Last-Event-ID
    const sent = new Map();
    const targets = [{ channel: 'room.1' }, { channel: 'room.2' },
                     { user }];
    c.events.length = 0;
    const opens = c.transports.length;
    for (let k = 0; k < 30; k++) {
        const r = await http('POST', '/pub', { ...targets[k % 3],
                                              data: { k } });
        if (r.status === 202) {
            sent.set(JSON.parse(r.body).ids[0] + '/' + (k % 3), k);
        }
        if (k === 15) {
            process.kill(masterPid(), 'SIGHUP');
            await until(() => c.transports.length > opens, 10,
                        'the stream to drop at the reload');
        }
    }
    const key = (m) => m.id + '/' + (m.channel === 'room.1' ? 0
                                     : m.channel === 'room.2' ? 1 : 2);
    const mine = () => c.got.filter((m) => !isWarm(m) && m.data
                                           && m.data.k !== undefined);
    await until(() => [...sent.keys()].every(
        (k) => mine().some((m) => key(m) === k)), 20,
                () => 'every message; got ' + mine().length);
    await until(() => c.state === 'open', 10, 'the stream after the reload');
    const counts = new Map();
    for (const m of mine()) {
        counts.set(key(m), (counts.get(key(m)) || 0) + 1);
    }
    out('through a reload: ' + sent.size + ' messages, each reached the app '
        + ([...counts.values()].every((n) => n === 1) ? 'once' : 'TWICE')
        + '; states after it: '
        + squeeze(c.transports.slice(opens)).join(' '));
    out('resumed events: ' + [...new Set(c.events.filter(
        (e) => e[0] === 'resumed').map((e) => e[1].channel || 'user'))]
        .sort().join(' ')
        + '; gap events: ' + c.events.filter((e) => e[0] === 'gap').length);

    // unsubscribe on the stream
    await withTimeout(c.unsubscribe('room.2'), 10, 'unsubscribe');
    await until(() => c.state === 'open', 10, 'the stream after unsubscribe');
    await warm([c], { user });
    c.got.length = 0;
    await http('POST', '/pub', { channel: 'room.2', data: { after: 1 } });
    const r2 = await http('POST', '/pub', { channel: 'room.1',
                                           data: { after: 1 } });
    const id2 = JSON.parse(r2.body).ids[0];
    await until(() => c.got.some((m) => m.id === id2), 10, 'room.1 after');
    out('after unsubscribe: ' + c.got.filter((m) => !isWarm(m))
        .map((m) => m.channel).join(' '));

    // a message that asks for an ack: once to the app, no ack possible
    c.errors.length = 0;
    const ra = await http('POST', '/pub', { user, data: 'ack me', ack: true });
    const ida = JSON.parse(ra.body).ids[0];
    const dups = c.stats.duplicates;
    await until(() => c.got.some((m) => m.id === ida), 10, 'the ack message');
    await until(() => c.stats.duplicates > dups, 10,
                'the server to send it again');
    out('a message asking for an ack: reached the app '
        + c.got.filter((m) => m.id === ida).length + ' time(s), sent again'
        + ' by the server; errors: ' + c.errors.map(
            (e) => e.code + ' ' + e.message.split(';')[0]).join(', '));

    c.close();
    out('states at the end: ' + c.transports.slice(-1).join(' '));
    const end = Date.now() + 5000 * slow;
    while (timers() > before && Date.now() < end) {
        await new Promise((r) => setImmediate(r));
    }
    out('timers left after close(): ' + (timers() - before));
}

// history that no longer reaches back: a gap for the target that lost
// messages (with its own last id), none for the one whose history still
// reaches its position, although one Last-Event-ID serves both
async function fallbackGap() {
    const user = args.user || 'fbg';
    const ch = 'room.g';
    const c = fallbackClient(user, { sse: 'http://127.0.0.1:' + port
                                          + '/sse?user=' + user
                                          + '&channels=' + ch,
                                     WebSocket: undefined });
    const pub = async (body) => {
        const r = await http('POST', '/pub', body);
        if (r.status !== 202) {
            fail('publish: ' + r.status + ' ' + r.body);
        }
        return JSON.parse(r.body).ids[0];
    };

    await until(() => c.state === 'open', 10, 'open');
    out('no WebSocket: states ' + c.transports.join(' '));
    await warm([c], { user });
    await warm([c], { channel: ch });
    const lastUser = await pub({ user, data: { n: 0 } });
    const lastCh = await pub({ channel: ch, data: { n: 0 } });
    await until(() => c.got.some((m) => m.id === lastCh)
                      && c.got.some((m) => m.id === lastUser), 10, 'live');

    c.close();
    const ids = [];
    for (let i = 1; i <= 8; i++) {
        ids.push(await pub({ user, data: { n: i } }));
    }
    await pub({ channel: ch, data: { n: 'c1' } });
    await pub({ channel: ch, data: { n: 'c2' } });
    c.got.length = 0;
    c.events.length = 0;
    c.connect();
    await until(() => c.events.filter((e) => e[0] === 'resumed').length
                      === 2, 10, 'two resumed events');
    const gaps = c.events.filter((e) => e[0] === 'gap');
    out('gap events: ' + gaps.map((g) => (g[1].user ? 'user' : g[1].channel)
        + ' since ' + (g[1].since === lastUser ? 'its last id seen'
                                               : g[1].since)
        + ', last ' + (g[1].last === ids[ids.length - 1] ? 'the newest'
                                                         : g[1].last))
        .join('; '));
    out('user messages after it: ' + c.got.filter((m) => m.user)
        .map((m) => m.data.n).join(' '));
    out('channel messages after it: ' + c.got.filter((m) => m.channel)
        .map((m) => m.data.n).join(' '));
    out('errors: ' + c.errors.map((e) => e.message).join(', '));
    c.close();
}

// WebSocket refused twice (by a front proxy that drops the Upgrade
// header: /wsstrip), then let through: the client reads the stream,
// and once the stream drops (a reload) after webSocketRetry it tries
// WebSocket again, which resumes where the stream stopped
async function fallbackReturn() {
    const user = args.user || 'fbr';
    let made = 0;
    const Flaky = class extends WebSocket {
        constructor(url, ...a) {
            super(made++ < 2 ? url.replace('/ws?', '/wsstrip?') : url,
                  ...a);
        }
    };
    const c = fallbackClient(user, { url: 'ws://127.0.0.1:' + port
                                          + '/ws?user=' + user,
                                     WebSocket: Flaky,
                                     webSocketRetry: 0 });
    const pub = async (k) => {
        const r = await http('POST', '/pub', { user, data: { k } });
        if (r.status !== 202) {
            fail('publish: ' + r.status + ' ' + r.body);
        }
        return JSON.parse(r.body).ids[0];
    };

    await until(() => c.state === 'open', 15, 'the stream');
    await warm([c], { user });
    const ids = [];
    for (let k = 0; k < 5; k++) {
        ids.push(await pub(k));
    }
    await until(() => ids.every((id) => c.got.some((m) => m.id === id)), 10,
                'the messages on the stream');
    const opens = c.transports.length;
    process.kill(masterPid(), 'SIGHUP');
    await until(() => c.transports.length > opens, 10, 'the stream to drop');
    for (let k = 5; k < 10; k++) {
        ids.push(await pub(k));
    }
    await until(() => ids.every((id) => c.got.some((m) => m.id === id)), 15,
                'every message after the switch');
    await until(() => c.state === 'open', 10, 'open');
    out('states: ' + squeeze(c.transports).join(' '));
    out('messages: ' + ids.length + ', each once: '
        + ids.every((id) => c.got.filter((m) => m.id === id).length === 1)
        + '; the last ones over ' + c.transport + ' (protocol '
        + c.protocol + ')');
    c.close();
}


// a resume longer than the stream's send queue: the "more" gap is followed
// by a new stream from where it stopped, until all came
async function fallbackMore() {
    const user = args.user || 'fbm';
    const n = Number(args.n || 60);
    const c = client('', { url: 'ws://127.0.0.1:' + port + '/wsno',
                           WebSocket: undefined,
                           sse: 'http://127.0.0.1:' + port + '/sseq?user='
                                + user });
    const gaps = [];
    const resumed = [];
    c.on('gap', (g) => gaps.push(g));
    c.on('resumed', (r) => resumed.push(r));

    await until(() => c.state === 'open', 10, 'open');
    await warm([c], { user });
    c.close();

    let seed = 7;
    const noise = () => {
        let t = '';
        for (let i = 0; i < 1000; i++) {
            seed = (seed * 1103515245 + 12345) >>> 0;
            t += String.fromCharCode(48 + (seed >>> 16) % 75);
        }
        return t;
    };
    const ids = [];
    for (let i = 0; i < n; i++) {
        const r = await http('POST', '/pub', { user,
                                              data: { i, t: noise() } });
        if (r.status !== 202) {
            fail('publish: ' + r.status + ' ' + r.body);
        }
        ids.push(JSON.parse(r.body).ids[0]);
    }
    c.got.length = 0;
    c.connect();
    await until(() => c.got.some((m) => m.id === ids[n - 1]), 20,
                () => 'the last message; got ' + c.got.length);
    const got = c.got.map((m) => m.data.i);
    out('resume cut short by the send queue: '
        + (resumed.some((r) => r.more) ? 'yes' : 'NO')
        + '; followed by new streams until done');
    out('messages: ' + got.length + ' of ' + n
        + (got.every((x, k) => x === k) ? ', in order' : ', OUT OF ORDER')
        + '; gap events: ' + gaps.length + '; errors: ' + c.errors.length);
    c.close();
}


// the stream reader: every way of cutting a stream into chunks gives the
// same events; CRLF, LF and CR; comments; a line over the bound refused
function sseParser() {
    const text = ': ping\r\n\r\nid: 17\r\nevent: high\r\ndata: {"a":1}\r\n\r\n'
                 + 'data: line one\ndata:line two\n\n'
                 + 'id: 18\rdata: caf\u00e9 \u20ac\r\r'
                 + 'event: gap\ndata\n\n'
                 + 'id: 19\n\ndata: after an id alone\n\n';
    const bytes = new TextEncoder().encode(text);
    const run = (cuts) => {
        const ev = [];
        const p = new sdk.EventStreamParser((t, d, id) => ev.push([t, d, id]));
        let at = 0;
        for (const c of cuts.concat(bytes.length)) {
            p.push(bytes.subarray(at, c));
            at = c;
        }
        return JSON.stringify(ev);
    };
    const whole = run([]);
    let same = 0;
    let cases = 0;
    for (let i = 0; i <= bytes.length; i++) {
        cases++;
        same += run([i]) === whole ? 1 : 0;
    }
    const each = [];
    for (let i = 1; i < bytes.length; i++) {
        each.push(i);
    }
    cases++;
    same += run(each) === whole ? 1 : 0;
    out('events: ' + whole);
    out('cut into two at every byte, and byte by byte: ' + same + ' of '
        + cases + ' the same');
    const p = new sdk.EventStreamParser(() => {}, 100);
    let refused = 'no';
    try {
        p.push('data: ' + 'x'.repeat(200));
    } catch (e) {
        refused = e instanceof sdk.WsPerfError ? 'WsPerfError' : String(e);
    }
    out('a line over the bound: ' + refused);
}


// the same in headless Chromium: t/interop/chromium_echo.js drives the
// page (fallback.html, in the test's html/) and prints what it logged
async function browser() {
    const { spawnSync } = require('child_process');
    const r = spawnSync('node', [path.join(top, 't', 'interop',
                                           'chromium_echo.js'),
                                 'http://127.0.0.1:' + port
                                 + (args.page || '/fallback.html')],
                        { timeout: 90000 * slow, env: process.env });
    process.stdout.write(r.stdout ? r.stdout.toString() : '');
    if (r.status !== 0) {
        process.stderr.write(r.stderr ? r.stderr.toString().slice(-3000)
                                      : '');
        out('chromium exit status ' + r.status);
    }
}


// ------------------------------------------------------------ presence

async function presence() {
    const ev = [];
    const o = client('/wsp?channels=room.p');

    for (const t of ['join', 'leave']) {
        o.on(t, (e) => { ev.push(e.type + ' ' + e.user); });
    }
    await until(() => o.state === 'open', 10, 'open');
    // the observer's subscription in Redis: before it, events miss it
    const end = Date.now() + 10000 * slow;
    while (JSON.parse((await http('GET', '/pub?channel=room.p')).body)
           .subscribers < 1) {
        if (Date.now() > end) {
            fail('the subscription did not reach Redis');
        }
        await sleep(20);
    }

    const p1 = client('/wsp?channels=room.p&user=pia');
    await until(() => ev.includes('join pia'), 10, 'join pia');
    const p2 = client('/wsp?channels=room.p&user=pia');
    const q = client('/wsp?user=quin');
    await until(() => p2.state === 'open' && q.state === 'open', 10, 'open');
    await withTimeout(q.subscribe('room.p'), 10, 'subscribe');
    await until(() => ev.includes('join quin'), 10, 'join quin');
    p1.close();
    p2.close();
    await until(() => ev.includes('leave pia'), 10, 'leave pia');
    out('events: ' + ev.join(', '));
    out('presence(room.p): ' + o.presence('room.p'));
    out('errors: ' + (o.errors.length + q.errors.length + p1.errors.length
                      + p2.errors.length));
    o.close();
    q.close();
}


const SCENARIOS = { 'lz4-vectors': lz4Vectors, 'lz4-module': lz4Module,
                    basic, ledger, gap, acks,
                    more, fallback, 'fallback-gap': fallbackGap,
                    'fallback-return': fallbackReturn,
                    'fallback-more': fallbackMore,
                    'sse-parser': sseParser, browser, presence };

// t/js/chromium.js runs the ledger with the SDK in Chromium
module.exports = { scenario, args, slow, port, out, fail, ledgerApp,
                   ledgerPublish, ledgerVerdict };

if (require.main === module) (async () => {
    sdk = await import(pathToFileURL(path.join(top, 'clients', 'js',
                                               'ws-perf.js')).href);
    const f = SCENARIOS[scenario];
    if (!f) {
        fail('unknown scenario ' + scenario);
    }
    const guard = setTimeout(() => fail('scenario did not end in 100 s'),
                             100000 * slow);
    await f();
    clearTimeout(guard);
    process.exit(0);
})().catch((e) => fail(e && e.stack ? e.stack : String(e)));
