// ws-perf.js: a client of the ws-perf.v1 protocol (docs/protocol.md,
// docs/clients.md).  One ES module, no dependencies, for browsers and for
// Node 18+ (with the global WebSocket, or a constructor such as the "ws"
// package's passed as options.WebSocket).

const PROTOCOL = 'ws-perf.v1';
const PROTOCOL_LZ4 = 'ws-perf.v1+lz4';

const DEFAULTS = {
    subprotocols: true,
    lz4: true,
    autoAck: true,
    minDelay: 250,
    maxDelay: 10000,
    maxAttempts: Infinity,
    connectTimeout: 10000,
    commandTimeout: 15000,
    dedupWindow: 1024,
    maxFrameSize: 16 * 1024 * 1024,
    maxQueued: 10000,
};

// A resume that keeps answering "more" is asked again at most this often.
const MAX_MORE_ROUNDS = 1000;


export class Lz4Error extends Error {
    constructor(message) {
        super(message);
        this.name = 'Lz4Error';
    }
}


function lz4Length(src, ip, n) {
    let b;

    if (n !== 15) {
        return [n, ip];
    }

    do {
        if (ip >= src.length) {
            throw new Lz4Error('length runs past the end of the block');
        }
        b = src[ip++];
        n += b;
    } while (b === 255);

    return [n, ip];
}


// Decodes one raw LZ4 block (no frame header) into exactly `size` bytes.
// Throws Lz4Error for a block that is malformed, that would write past
// `size` or that decodes to fewer bytes; never reads or writes out of
// bounds, and every loop consumes input, so it always ends.
export function lz4DecodeBlock(src, size) {
    let ip = 0;
    let op = 0;
    let token, lit, ml, off, m;

    if (!(src instanceof Uint8Array)) {
        throw new TypeError('lz4DecodeBlock: src must be a Uint8Array');
    }
    if (!Number.isSafeInteger(size) || size < 0) {
        throw new Lz4Error('bad decoded size');
    }

    const out = new Uint8Array(size);
    const end = src.length;

    for (;;) {
        if (ip >= end) {
            throw new Lz4Error('block ends without its last literals');
        }
        token = src[ip++];

        [lit, ip] = lz4Length(src, ip, token >>> 4);
        if (lit > end - ip) {
            throw new Lz4Error('literals run past the end of the block');
        }
        if (lit > size - op) {
            throw new Lz4Error('literals run past the decoded size');
        }
        out.set(src.subarray(ip, ip + lit), op);
        ip += lit;
        op += lit;

        if (ip === end) {
            break;
        }

        if (end - ip < 2) {
            throw new Lz4Error('block ends inside a match offset');
        }
        off = src[ip] | (src[ip + 1] << 8);
        ip += 2;
        if (off === 0 || off > op) {
            throw new Lz4Error('match offset ' + off + ' points before'
                               + ' the start of the output');
        }

        [ml, ip] = lz4Length(src, ip, token & 15);
        ml += 4;
        if (ml > size - op) {
            throw new Lz4Error('match runs past the decoded size');
        }

        m = op - off;
        if (off >= ml) {
            out.copyWithin(op, m, m + ml);
            op += ml;
        } else {
            // an overlapping match repeats the last `off` bytes
            while (ml-- > 0) {
                out[op++] = out[m++];
            }
        }
    }

    if (op !== size) {
        throw new Lz4Error('block decodes to ' + op + ' bytes, not '
                           + size);
    }

    return out;
}


// A binary frame of ws-perf.v1+lz4: 4 bytes of decoded size (big-endian),
// then one LZ4 block.  Sizes over maxSize are refused before decoding.
export function lz4DecodeFrame(frame, maxSize = DEFAULTS.maxFrameSize) {
    const buf = frame instanceof Uint8Array ? frame : new Uint8Array(frame);

    if (buf.length < 5) {
        throw new Lz4Error('frame shorter than its header');
    }

    const size = ((buf[0] << 24) | (buf[1] << 16) | (buf[2] << 8)
                  | buf[3]) >>> 0;
    if (size > maxSize) {
        throw new Lz4Error('decoded size ' + size + ' is over the bound '
                           + maxSize);
    }

    return lz4DecodeBlock(buf.subarray(4), size);
}


// Server ids: "<seq>" (Redis) or "<ms>-<worker>-<seq>" (local mode); the
// number resume compares.  Publisher-chosen ids give null.
function idOrder(id) {
    let m;

    if (typeof id !== 'string') {
        return null;
    }
    if (/^\d{1,30}$/.test(id)) {
        return BigInt(id);
    }
    m = /^\d{1,20}-\d{1,10}-(\d{1,20})$/.exec(id);
    return m ? BigInt(m[1]) : null;
}


function targetOf(env) {
    if (typeof env.channel === 'string') {
        return 'c:' + env.channel;
    }
    if (env.user !== undefined) {
        return 'u';
    }
    return null;
}


function resumeCommand(target, since) {
    return target === 'u'
           ? { type: 'resume', user: true, since }
           : { type: 'resume', channel: target.slice(2), since };
}


export class WsPerfError extends Error {
    constructor(message, code, detail) {
        super(message);
        this.name = 'WsPerfError';
        this.code = code;
        this.detail = detail;
    }
}


export class WsPerfClient {

    constructor(url, options = {}) {
        this.url = url;
        this.options = { ...DEFAULTS, ...options };
        this.state = 'closed';
        this.protocol = null;
        this.stats = { messages: 0, duplicates: 0, lz4Frames: 0,
                       reconnects: 0, gaps: 0 };

        this._WebSocket = options.WebSocket || globalThis.WebSocket;
        if (typeof this._WebSocket !== 'function') {
            throw new TypeError('no WebSocket: pass options.WebSocket'
                                + ' (e.g. the "ws" package)');
        }

        this._listeners = new Map();
        this._ws = null;
        this._gen = 0;
        this._wanted = false;
        this._attempt = 0;
        this._timer = null;

        this._channels = new Set();     // client subscriptions wanted
        this._confirmed = new Set();    // ... and confirmed on this socket
        this._waiters = new Map();      // channel -> [{resolve, reject}]
        this._last = new Map();         // target -> {id, order}
        this._seen = new Map();         // target -> Map(id -> state)
        this._members = new Map();      // channel -> the last member count

        this._outbox = [];
        this._inflight = null;          // {acks: [ids]} or one item
        this._ackQueued = new Set();
        this._syncing = 0;
        this._moreRounds = 0;
        this._decoder = new TextDecoder('utf-8', { fatal: true });
    }


    // ------------------------------------------------------------ events

    on(type, fn) {
        if (!this._listeners.has(type)) {
            this._listeners.set(type, new Set());
        }
        this._listeners.get(type).add(fn);
        return () => this.off(type, fn);
    }

    off(type, fn) {
        const set = this._listeners.get(type);
        if (set) {
            set.delete(fn);
        }
    }

    _emit(type, ev) {
        const out = [];
        const set = this._listeners.get(type);

        if (!set) {
            return out;
        }
        for (const fn of [...set]) {
            try {
                out.push(fn(ev));
            } catch (e) {
                if (type === 'message') {
                    throw e;
                }
                if (type !== 'error') {
                    this._emit('error', e);
                }
            }
        }
        return out;
    }

    _setState(state) {
        if (this.state !== state) {
            this.state = state;
            this._emit('state', state);
        }
    }


    // ------------------------------------------------------- connection

    connect() {
        this._wanted = true;
        if (!this._ws && !this._timer) {
            this._attempt = 0;
            this._open();
        }
        return this;
    }

    // Closes and stops reconnecting; subscriptions and positions are kept,
    // so connect() again resumes from where this connection stopped.
    close() {
        this._wanted = false;
        clearTimeout(this._timer);
        this._timer = null;
        this._drop(1000, 'closed by the client');
        this._failPublishes('the client closed the connection');
        this._setState('closed');
    }

    get socket() {
        return this._ws;
    }

    // The member count the channel's last presence event carried (on a
    // location with ws_perf_presence), or null before one came; who is
    // present is the publish API's GET ?presence= (docs/protocol.md).
    presence(channel) {
        const n = this._members.get(channel);
        return n === undefined ? null : n;
    }

    _open() {
        const o = this.options;
        const protocols = !o.subprotocols ? []
                          : o.lz4 ? [PROTOCOL_LZ4, PROTOCOL] : [PROTOCOL];
        const gen = ++this._gen;
        let ws;

        this._setState(this._attempt ? 'reconnecting' : 'connecting');
        try {
            ws = o.webSocketOptions
                 ? new this._WebSocket(this.url, protocols,
                                       o.webSocketOptions)
                 : new this._WebSocket(this.url, protocols);
        } catch (e) {
            this._emit('error', e);
            this._retry();
            return;
        }
        ws.binaryType = 'arraybuffer';
        this._ws = ws;

        const connectTimer = this._connectTimer = setTimeout(() => {
            if (gen === this._gen && ws.readyState !== 1) {
                this._emit('error', new WsPerfError('connect timed out'));
                this._lost(gen);
            }
        }, o.connectTimeout);

        ws.onopen = () => {
            clearTimeout(connectTimer);
            if (gen === this._gen) {
                this._opened();
            }
        };
        ws.onmessage = (ev) => {
            if (gen === this._gen) {
                this._frame(ev.data);
            }
        };
        ws.onerror = () => {
            if (gen === this._gen) {
                this._emit('error', new WsPerfError('websocket error'));
            }
        };
        ws.onclose = (ev) => {
            clearTimeout(connectTimer);
            if (gen === this._gen) {
                this._closeInfo = { code: ev.code, reason: ev.reason };
                this._lost(gen);
            }
        };
    }

    _opened() {
        const sync = [];

        this.protocol = this._ws.protocol || null;
        this._setState('open');

        // what a new connection needs first: the client's subscriptions,
        // then a resume of every target from the last id seen
        for (const ch of this._channels) {
            sync.push({ type: 'sub', channel: ch, sync: true });
        }
        for (const target of this._last.keys()) {
            sync.push(this._resumeItem(target, true));
        }
        for (const it of this._outbox) {
            if (it.type === 'unsub') {
                it.resolve();
            }
        }
        this._outbox = sync.concat(this._outbox.filter(
            (it) => it.type === 'pub' || it.type === 'ack'));
        this._syncing = sync.length;
        if (this._syncing === 0) {
            this._attempt = 0;
        }
        this._pump();
    }

    // the socket went (or never came): forget what was on the wire
    _lost(gen) {
        if (gen !== this._gen) {
            return;
        }
        this._drop();
        if (this._wanted) {
            this._retry();
        } else {
            this._setState('closed');
        }
    }

    _drop(code, reason) {
        const ws = this._ws;
        const inflight = this._inflight;

        this._gen++;
        this._ws = null;
        this._inflight = null;
        clearTimeout(this._connectTimer);
        clearTimeout(this._cmdTimer);
        this._syncing = 0;
        this._confirmed.clear();

        if (ws) {
            ws.onopen = ws.onmessage = ws.onerror = ws.onclose = null;
            try {
                ws.close(code, reason);
            } catch (e) {
                /* a socket still connecting may refuse a code */
                try { ws.close(); } catch (e2) { /* nothing left to do */ }
            }
        }

        if (inflight && inflight.acks) {
            for (const id of inflight.acks) {
                this._queueAck(id);
            }
        } else if (inflight && inflight.type === 'unsub') {
            inflight.resolve();
        } else if (inflight && inflight.type === 'pub') {
            inflight.reject(new WsPerfError('the connection closed before'
                                            + ' the publish was answered;'
                                            + ' it may have been published'));
        }
    }

    _retry() {
        const o = this.options;

        if (this._attempt >= o.maxAttempts) {
            this._wanted = false;
            this._failPublishes('gave up reconnecting');
            this._emit('error', new WsPerfError('gave up after '
                                                + this._attempt
                                                + ' attempts'));
            this._setState('closed');
            return;
        }

        // exponential backoff with full jitter
        const cap = Math.min(o.maxDelay,
                             o.minDelay * Math.pow(2, this._attempt));
        const delay = Math.floor(Math.random() * cap);

        this._attempt++;
        this.stats.reconnects++;
        this._setState('reconnecting');
        this._timer = setTimeout(() => {
            this._timer = null;
            if (this._wanted) {
                this._open();
            }
        }, delay);
    }

    _failPublishes(why) {
        const keep = [];

        for (const it of this._outbox) {
            if (it.type === 'pub') {
                it.reject(new WsPerfError(why));
            } else {
                keep.push(it);
            }
        }
        this._outbox = keep;
    }


    // --------------------------------------------------------- commands

    subscribe(channel) {
        if (this._confirmed.has(channel)) {
            return Promise.resolve();
        }
        return new Promise((resolve, reject) => {
            const w = this._waiters.get(channel) || [];

            w.push({ resolve, reject });
            this._waiters.set(channel, w);
            if (!this._channels.has(channel)) {
                this._channels.add(channel);
                this._enqueue({ type: 'sub', channel });
            }
        });
    }

    unsubscribe(channel) {
        this._channels.delete(channel);
        this._confirmed.delete(channel);
        this._last.delete('c:' + channel);
        this._seen.delete('c:' + channel);
        this._outbox = this._outbox.filter(
            (it) => !(it.type === 'sub' && it.channel === channel));
        this._settleWaiters(channel,
                            new WsPerfError('unsubscribed', 499));

        if (this.state !== 'open') {
            return Promise.resolve();
        }
        return new Promise((resolve) => {
            this._enqueue({ type: 'unsub', channel, resolve,
                            reject: resolve });
        });
    }

    publish(channel, data, opts = {}) {
        return new Promise((resolve, reject) => {
            const cmd = { type: 'pub', channel, data };

            if (opts.priority) {
                cmd.priority = opts.priority;
            }
            if (this._outbox.length >= this.options.maxQueued) {
                reject(new WsPerfError('too many commands queued', 429));
                return;
            }
            this._enqueue({ type: 'pub', cmd, resolve, reject });
        });
    }

    _resumeItem(target, sync) {
        const last = this._last.get(target);

        return { type: 'resume', target, sync,
                 cmd: resumeCommand(target, last.id) };
    }

    _resumeAll() {
        for (const target of this._last.keys()) {
            if (!this._outbox.some((it) => it.type === 'resume'
                                           && it.target === target))
            {
                this._outbox.push(this._resumeItem(target, false));
            }
        }
        this._pump();
    }

    _queueAck(id) {
        if (!this._ackQueued.has(id)) {
            this._ackQueued.add(id);
            this._outbox.push({ type: 'ack', id });
        }
        this._pump();
    }

    _enqueue(item) {
        this._outbox.push(item);
        this._pump();
    }

    _send(obj) {
        this._ws.send(JSON.stringify(obj));
    }

    // Replies carry no request id and errors do not say what they answer,
    // so either one command waits for its reply, or a run of acks does
    // (each gets exactly one reply, "acked" or an error).
    _pump() {
        let it;

        if (this.state !== 'open' || !this._ws || this._ws.readyState !== 1
            || this._inflight)
        {
            return;
        }

        it = this._outbox[0];
        if (!it) {
            return;
        }

        if (it.type === 'ack') {
            const acks = [];
            while (this._outbox.length && this._outbox[0].type === 'ack') {
                it = this._outbox.shift();
                this._ackQueued.delete(it.id);
                acks.push(it.id);
                this._send({ type: 'ack', id: it.id });
            }
            this._inflight = { acks, left: acks.length };
        } else {
            this._outbox.shift();
            if (it.type === 'resume' && !this._last.has(it.target)) {
                this._done(it);
                return;
            }
            this._inflight = it;
            this._send(it.cmd || { type: it.type, channel: it.channel });
        }

        this._armCommandTimer();
    }

    _armCommandTimer() {
        const gen = this._gen;
        const inflight = this._inflight;

        clearTimeout(this._cmdTimer);
        this._cmdTimer = setTimeout(() => {
            if (gen === this._gen && this._inflight === inflight) {
                this._emit('error', new WsPerfError('no reply to a command'
                                                    + ' in time'));
                this._lost(gen);
            }
        }, this.options.commandTimeout);
    }

    _done(it) {
        clearTimeout(this._cmdTimer);
        this._inflight = null;
        if (it && it.sync && --this._syncing === 0) {
            this._attempt = 0;
        }
        this._pump();
    }

    _settleWaiters(channel, err) {
        const w = this._waiters.get(channel);

        if (!w) {
            return;
        }
        this._waiters.delete(channel);
        for (const p of w) {
            if (err) {
                p.reject(err);
            } else {
                p.resolve();
            }
        }
    }

    _reply(env) {
        const it = this._inflight;

        if (it && it.acks) {
            if (env.type === 'acked' || env.type === 'error') {
                if (env.type === 'error' && env.code !== 404) {
                    this._emit('error', new WsPerfError(
                        'ack: ' + env.reason, env.code, env));
                }
                if (--it.left === 0) {
                    this._done(null);
                }
                return;
            }
        }

        if (!it || it.acks) {
            if (env.type === 'error') {
                this._emit('error', new WsPerfError(env.reason, env.code,
                                                    env));
            }
            return;
        }

        if (env.type === 'error') {
            this._failed(it, env);
            return;
        }

        switch (it.type) {
        case 'sub':
            if (env.type === 'subscribed' && env.channel === it.channel) {
                if (this._channels.has(it.channel)) {
                    this._confirmed.add(it.channel);
                }
                this._settleWaiters(it.channel, null);
                this._done(it);
            }
            break;
        case 'unsub':
            if (env.type === 'unsubscribed' && env.channel === it.channel) {
                it.resolve();
                this._done(it);
            }
            break;
        case 'pub':
            if (env.type === 'published') {
                it.resolve(env.id);
                this._done(it);
            }
            break;
        case 'resume':
            if (env.type === 'resumed' && targetOf(env) === it.target) {
                this._resumed(it, env);
            }
            break;
        }
    }

    _failed(it, env) {
        const err = new WsPerfError(it.type + ': ' + env.reason, env.code,
                                    env);

        switch (it.type) {
        case 'sub':
            this._channels.delete(it.channel);
            this._last.delete('c:' + it.channel);
            if (this._waiters.has(it.channel)) {
                this._settleWaiters(it.channel, err);
            } else {
                this._emit('error', err);
            }
            break;
        case 'unsub':
            it.resolve();
            break;
        case 'pub':
            it.reject(err);
            break;
        case 'resume':
            if (env.code === 404) {
                this._last.delete(it.target);
            }
            this._emit('error', err);
            break;
        default:
            this._emit('error', err);
        }
        this._done(it);
    }

    _resumed(it, env) {
        const more = this._more;

        this._more = null;
        this._done(it);
        this._emit('resumed', { ...env, more: !!more });
        if (more && more.target === it.target
            && this._moreRounds++ < MAX_MORE_ROUNDS)
        {
            this._outbox.unshift(this._resumeItem(it.target, false));
            this._pump();
        } else if (!more) {
            this._moreRounds = 0;
        }
    }


    // ----------------------------------------------------------- frames

    _frame(data) {
        let text, env;

        try {
            if (typeof data === 'string') {
                text = data;
            } else {
                text = this._decoder.decode(
                    lz4DecodeFrame(new Uint8Array(data),
                                   this.options.maxFrameSize));
                this.stats.lz4Frames++;
            }
            env = JSON.parse(text);
        } catch (e) {
            this._emit('error', new WsPerfError('undecodable frame: '
                                                + e.message, 0, e));
            return;
        }

        if (env === null || typeof env !== 'object') {
            this._emit('error', new WsPerfError('frame is not an object'));
            return;
        }

        switch (env.type) {
        case 'msg':
            this._message(env);
            break;
        case 'gap':
            this._gap(env);
            break;
        case 'join':
        case 'leave':
        case 'presence':
            // events of ws_perf_presence, never a command's reply
            if (typeof env.channel === 'string'
                && Number.isSafeInteger(env.count) && env.count >= 0) {
                this._members.set(env.channel, env.count);
            }
            this._emit(env.type, env);
            break;
        case 'notice':
            this._emit('notice', env);
            if (env.code === 'redis_reconnected') {
                this._resumeAll();
            }
            break;
        default:
            this._reply(env);
        }
    }

    _gap(env) {
        const target = targetOf(env);

        if (env.more) {
            this._more = { target };
            return;
        }
        this.stats.gaps++;
        this._emit('gap', env);
    }

    _window(target) {
        let w = this._seen.get(target);

        if (!w) {
            w = new Map();
            this._seen.set(target, w);
        }
        return w;
    }

    _message(env) {
        const target = targetOf(env);
        const id = env.id;
        const order = idOrder(id);
        let w, state;

        if (target === null || typeof id !== 'string') {
            this._emit('error', new WsPerfError('message without a target'
                                                + ' or an id', 0, env));
            return;
        }
        if (order !== null) {
            const last = this._last.get(target);
            if (!last || order > last.order) {
                this._last.set(target, { id, order });
            }
        }

        w = this._window(target);
        state = w.get(id);
        if (state !== undefined) {
            this.stats.duplicates++;
            if (state === 'acked' && env.ack) {
                this._queueAck(id);
            }
            return;
        }
        w.set(id, 'delivered');
        if (w.size > this.options.dedupWindow) {
            w.delete(w.keys().next().value);
        }

        this.stats.messages++;
        this._deliver(target, env);
    }

    _deliver(target, env) {
        const msg = {
            id: env.id,
            channel: env.channel,
            user: env.user,
            priority: env.priority,
            ts: env.ts,
            needsAck: env.ack === true,
            encoding: env.encoding,
            data: env.data,
            envelope: env,
            ack: () => this._ackMessage(target, env),
        };
        let results;

        try {
            results = this._emit('message', msg);
        } catch (e) {
            this._handlerFailed(target, env, e);
            return;
        }

        if (!this.options.autoAck || !msg.needsAck) {
            return;
        }

        const pending = results.filter((r) => r && typeof r.then
                                              === 'function');
        if (pending.length === 0) {
            msg.ack();
            return;
        }
        Promise.all(pending).then(() => msg.ack(),
                                  (e) => this._handlerFailed(target, env,
                                                             e));
    }

    // the app did not take it: the next delivery must reach the app again
    _handlerFailed(target, env, e) {
        const w = this._seen.get(target);

        if (w && w.get(env.id) !== 'acked') {
            w.delete(env.id);
        }
        this._emit('error', new WsPerfError('message handler failed: '
                                            + (e && e.message), 0, e));
    }

    _ackMessage(target, env) {
        const w = this._window(target);

        if (!env.ack || w.get(env.id) === 'acked') {
            return;
        }
        w.set(env.id, 'acked');
        this._queueAck(env.id);
    }
}


export default WsPerfClient;
