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
    c.on('message', (m) => { c.got.push(m); });
    c.on('error', (e) => { c.errors.push(e); });
    c.on('state', (s) => { c.states.push(s); });
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

async function ledger() {
    const fault = args.fault || 'none';
    const nu = Number(args.users || 4);
    const nm = Number(args.msgs || 200);
    const us = [];
    const accepted = new Map();         // id -> [user, k]
    const uncertain = new Set();        // "u/k" answered 503 or not at all
    const seen = new Map();             // id -> deliveries to the app
    let stranger = 0;

    for (let i = 0; i < nu; i++) {
        const name = fault + i;
        const c = client('/ws?user=' + name);
        c.on('message', (m) => {
            seen.set(m.id, (seen.get(m.id) || 0) + 1);
            if (m.user !== name) {
                stranger++;
            }
            // every other message is handled asynchronously: acked when
            // the promise resolves, for some only after the server has
            // sent it again (ws_perf_ack_timeout 300ms)
            if (m.data && m.data.k % 10 === 1) {
                return sleep(450);
            }
            if (m.data && m.data.k % 2) {
                return sleep(20 + (m.data.k * 37) % 100);
            }
            return undefined;
        });
        us.push(c);
    }
    await until(() => us.every((c) => c.state === 'open'), 10, 'open');

    let faulted = fault === 'none';
    for (let k = 0; k < nm; k++) {
        const u = k % nu;
        const r = await http('POST', '/pub', { user: fault + u,
                                              data: { k }, ack: true });
        if (r.status === 202) {
            accepted.set(JSON.parse(r.body).ids[0], [u, k]);
        } else if (r.status === 503 || r.status === 0) {
            uncertain.add(u + '/' + k);
            await sleep(50);
        } else {
            fail('publish answered ' + r.status + ' ' + r.body);
        }
        // connections drop at random and come back
        if (k % 10 === 3) {
            const s = us[Math.floor(k / 10) % nu].socket;
            if (s) {
                s.terminate();
            }
        }
        if (!faulted && k >= nm / 2) {
            faulted = true;
            inject(fault);
        }
    }

    const missing = () => [...accepted.keys()].filter((id) => !seen.has(id));
    await until(() => missing().length === 0, 60,
                () => 'deliveries: missing ' + missing().slice(0, 5));
    let due = dueAcks();
    const end = Date.now() + 30000 * slow;
    while (due !== 0 && Date.now() < end) {
        await sleep(100);
        due = dueAcks();
    }

    const twice = [...seen.values()].filter((n) => n > 1).length;
    const all = new Map(us.flatMap((c) => c.got).map((m) => [m.id, m]));
    const unknown = [...seen.keys()].filter((id) => {
        const m = all.get(id);
        return !accepted.has(id)
               && !(m && m.data && uncertain.has(
                   m.user.slice(fault.length) + '/' + m.data.k));
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
        + '; to another user: ' + stranger);
    out('every client reconnected: '
        + (us.every((c) => c.stats.reconnects > 0) ? 'yes' : 'no'));
    out('awaiting an ack at the end: ' + due);
    process.stderr.write('reconnects: ' + us.map((c) => c.stats.reconnects)
                         + '; duplicates dropped: ' + us.reduce(
        (s, c) => s + c.stats.duplicates, 0) + '; uncertain ' + uncertain.size
        + '\n');
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
                    more, presence };

(async () => {
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
