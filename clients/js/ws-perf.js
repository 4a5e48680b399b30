// ws-perf.js: a client of the ws-perf.v1 protocol (docs/protocol.md,
// docs/clients.md).  One ES module, no dependencies, for browsers and for
// Node 18+ (with the global WebSocket, or a constructor such as the "ws"
// package's passed as options.WebSocket).  With options.sse it falls back
// to the event stream of a ws_perf_sse location, read over fetch.

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
    sse: null,
    publishUrl: null,
    sseAfter: 2,
    webSocketRetry: 300000,
    sseIdleTimeout: 75000,
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


// Reads a text/event-stream as the WHATWG rules say (lines end with CRLF,
// LF or CR; "data" lines are joined with LF; a blank line dispatches; a
// line starting with ":" is a comment) and calls onEvent(type, data, id)
// per event.  A line longer than maxLine throws: a stream that never ends
// its lines cannot grow the buffer without bound.
export class EventStreamParser {
    constructor(onEvent, maxLine = DEFAULTS.maxFrameSize) {
        this.onEvent = onEvent;
        this.maxLine = maxLine;
        this.lastEventId = '';
        this._decoder = new TextDecoder('utf-8');
        this._buf = '';
        this._type = '';
        this._data = null;
    }

    push(chunk) {
        this._buf += typeof chunk === 'string'
                     ? chunk : this._decoder.decode(chunk, { stream: true });

        for (;;) {
            const m = /\r\n|\r|\n/.exec(this._buf);

            if (!m || (m[0] === '\r' && m.index === this._buf.length - 1)) {
                break;
            }
            const line = this._buf.slice(0, m.index);
            this._buf = this._buf.slice(m.index + m[0].length);
            this._line(line);
        }

        if (this._buf.length > this.maxLine) {
            throw new WsPerfError('event stream: a line longer than '
                                  + this.maxLine + ' characters');
        }
    }

    _line(line) {
        let field, value;

        if (line === '') {
            if (this._data !== null) {
                this.onEvent(this._type || 'message', this._data,
                             this.lastEventId);
            }
            this._type = '';
            this._data = null;
            return;
        }
        if (line[0] === ':') {
            return;
        }

        const colon = line.indexOf(':');
        if (colon < 0) {
            field = line;
            value = '';
        } else {
            field = line.slice(0, colon);
            value = line.slice(colon + (line[colon + 1] === ' ' ? 2 : 1));
        }

        switch (field) {
        case 'event':
            this._type = value;
            break;
        case 'data':
            this._data = this._data === null ? value
                                             : this._data + '\n' + value;
            break;
        case 'id':
            if (value.indexOf('\0') < 0) {
                this.lastEventId = value;
            }
            break;
        }
    }
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
            this._WebSocket = null;
            if (!this.options.sse) {
                throw new TypeError('no WebSocket: pass options.WebSocket'
                                    + ' (e.g. the "ws" package), or'
                                    + ' options.sse');
            }
        }
        this._fetch = options.fetch
                      || (typeof globalThis.fetch === 'function'
                          ? (...a) => globalThis.fetch(...a) : null);
        if (this.options.sse && !this._fetch) {
            throw new TypeError('options.sse needs fetch: pass'
                                + ' options.fetch');
        }
        this._mode = this._WebSocket ? 'websocket' : 'sse';
        this._wsFails = 0;
        this._sseFrom = 0;
        this._stream = null;            // the event stream, in sse mode
        this._streamChannels = new Set();
        this._cuts = new Map();         // target -> where a resume stopped

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

    _emit(type, ev, extra) {
        const out = [];
        const set = this._listeners.get(type);

        if (!set) {
            return out;
        }
        for (const fn of [...set]) {
            try {
                out.push(fn(ev, extra));
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

    // a new state, or the same one on another transport
    _setState(state) {
        if (this.state !== state || this._stateMode !== this._mode) {
            this.state = state;
            this._stateMode = this._mode;
            this._emit('state', state, this._mode);
        }
    }


    // ------------------------------------------------------- connection

    connect() {
        this._wanted = true;
        if (!this._ws && !this._stream && !this._timer) {
            this._attempt = 0;
            this._mode = this._WebSocket ? 'websocket' : 'sse';
            this._wsFails = 0;
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
        clearTimeout(this._restreamTimer);
        this._restreamTimer = null;
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

    // "websocket" or "sse": the one in use, or being tried
    get transport() {
        return this._mode;
    }

    _open() {
        const o = this.options;
        const protocols = !o.subprotocols ? []
                          : o.lz4 ? [PROTOCOL_LZ4, PROTOCOL] : [PROTOCOL];
        let gen, ws;

        if (this._mode === 'sse') {
            this._openStream(false);
            return;
        }

        gen = ++this._gen;
        this._setState(this._attempt ? 'reconnecting' : 'connecting');
        try {
            ws = o.webSocketOptions
                 ? new this._WebSocket(this.url, protocols,
                                       o.webSocketOptions)
                 : new this._WebSocket(this.url, protocols);
        } catch (e) {
            this._emit('error', e);
            this._wsFailed();
            this._retry();
            return;
        }
        ws.binaryType = 'arraybuffer';
        this._ws = ws;

        const connectTimer = this._connectTimer = setTimeout(() => {
            if (gen === this._gen && ws.readyState !== 1) {
                this._emit('error', new WsPerfError('connect timed out'));
                this._wsFailed();
                this._lost(gen);
            }
        }, o.connectTimeout);

        ws.onopen = () => {
            clearTimeout(connectTimer);
            if (gen === this._gen) {
                this._wsFails = 0;
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
                if (this.state !== 'open') {
                    this._wsFailed();
                }
                this._lost(gen);
            }
        };
    }

    // a WebSocket that did not open: after options.sseAfter of them in a
    // row, the event stream takes over (when options.sse names one)
    _wsFailed() {
        if (++this._wsFails >= this.options.sseAfter && this.options.sse) {
            this._mode = 'sse';
            this._sseFrom = Date.now();
            this._attempt = 0;
        }
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
        const streamed = this._stream !== null && this._stream.open;

        if (gen !== this._gen) {
            return;
        }
        this._drop();
        if (this._wanted) {
            if (streamed && this._WebSocket && Date.now() - this._sseFrom
                                               >= this.options.webSocketRetry)
            {
                // long enough on the stream: WebSocket gets another chance
                this._mode = 'websocket';
                this._wsFails = 0;
            }
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
        clearTimeout(this._idleTimer);
        this._dropStream();
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


    // ------------------------------------------------------ event stream

    // The stream's URL: options.sse(channels), or options.sse with the
    // client's channels added to its "channels" argument, unescaped
    // (nginx's $arg_channels is the raw query)
    _streamUrl() {
        const sse = this.options.sse;
        const chans = [...this._channels];

        if (typeof sse === 'function') {
            return String(sse(chans));
        }

        const base = typeof location !== 'undefined' && location.href
                     ? location.href : undefined;
        const u = new URL(sse, base);
        const args = u.search.slice(1).split('&').filter((a) => a !== '');
        const named = args.filter((a) => a.startsWith('channels='))
                          .flatMap((a) => a.slice(9).split(','))
                          .filter((c) => c !== '');
        const all = [...new Set(named.concat(chans))];
        const rest = args.filter((a) => !a.startsWith('channels='));

        if (all.length) {
            rest.push('channels=' + all.join(','));
        }
        u.search = rest.length ? '?' + rest.join('&') : '';
        return u.href;
    }

    // One Last-Event-ID serves every subscription of a stream, and ids are
    // numbered per channel and user: the oldest position of them all is
    // the one from which no target misses anything.  The others get what
    // they had seen again (dropped by the dedup window) and maybe a gap
    // notice that only says the history does not reach back that far:
    // such a notice is held until that target's "resumed" and shown only
    // if what came does not reach back to the target's own position.
    _streamSince() {
        let since = null;

        for (const last of this._last.values()) {
            if (since === null || last.order < since.order) {
                since = last;
            }
        }
        return since;
    }

    _openStream(reopen) {
        const o = this.options;
        const fo = o.fetchOptions || {};
        const gen = ++this._gen;
        const since = this._streamSince();
        const headers = { ...(fo.headers || {}),
                          Accept: 'text/event-stream' };
        const ctl = typeof AbortController === 'function'
                    ? new AbortController() : null;
        let url;

        this._setState(this._attempt || reopen ? 'reconnecting'
                                               : 'connecting');
        try {
            url = this._streamUrl();
        } catch (e) {
            this._emit('error', e);
            this._retry();
            return;
        }

        const st = { gen, ctl, url, since, channels: [...this._channels],
                     hold: new Map(), known: new Set(this._last.keys()),
                     cut: new Map(),
                     open: false, reader: null };
        if (since) {
            headers['Last-Event-ID'] = since.id;
            for (const [target, last] of this._last) {
                if (last.order > since.order) {
                    st.hold.set(target, { last, gap: null, reached: false });
                }
            }
        }
        this._stream = st;

        this._connectTimer = setTimeout(() => {
            if (gen === this._gen && !st.open) {
                this._emit('error', new WsPerfError('connect timed out'));
                this._lost(gen);
            }
        }, o.connectTimeout);

        this._fetch(url, { ...fo, method: 'GET', headers, cache: 'no-store',
                           signal: ctl ? ctl.signal : undefined })
            .then((res) => this._streamResponse(st, res),
                  (e) => {
                      if (gen === this._gen) {
                          this._emit('error', new WsPerfError(
                              'event stream: ' + (e && e.message), 0, e));
                          this._lost(gen);
                      }
                  });
    }

    _streamResponse(st, res) {
        const type = res.headers.get('content-type') || '';

        if (st.gen !== this._gen) {
            this._cancelBody(res);
            return;
        }
        if (res.status !== 200 || !type.startsWith('text/event-stream')
            || !res.body)
        {
            this._cancelBody(res);
            this._streamRefused(new WsPerfError('event stream refused: HTTP '
                                                + res.status, res.status));
            this._lost(st.gen);
            return;
        }

        clearTimeout(this._connectTimer);
        st.open = true;
        st.reader = res.body.getReader();
        this._streamOpened(st);

        const parser = new EventStreamParser((t, data) => {
            if (st.gen === this._gen) {
                this._streamEvent(t, data);
            }
        }, this.options.maxFrameSize);

        const fail = (e) => {
            if (st.gen === this._gen) {
                this._emit('error', e instanceof WsPerfError ? e
                           : new WsPerfError('event stream: '
                                             + (e && e.message), 0, e));
                this._lost(st.gen);
            }
        };
        const read = () => {
            st.reader.read().then(({ done, value }) => {
                if (st.gen !== this._gen) {
                    return;
                }
                if (done) {
                    this._lost(st.gen);
                    return;
                }
                this._armIdle(st);
                try {
                    parser.push(value);
                } catch (e) {
                    fail(e);
                    return;
                }
                read();
            }, fail);
        };

        this._armIdle(st);
        read();
    }

    _cancelBody(res) {
        if (res.body) {
            res.body.cancel().catch(() => {});
        }
    }

    // nothing at all (not even the server's ": ping") for that long: the
    // connection is dead without having said so
    _armIdle(st) {
        clearTimeout(this._idleTimer);
        this._idleTimer = setTimeout(() => {
            if (st.gen === this._gen) {
                this._emit('error', new WsPerfError('event stream: nothing'
                                                    + ' received in time'));
                this._lost(st.gen);
            }
        }, this.options.sseIdleTimeout);
    }

    _dropStream() {
        const st = this._stream;

        this._stream = null;
        if (!st) {
            return;
        }
        if (st.ctl) {
            st.ctl.abort();
        }
        if (st.reader) {
            st.reader.cancel().catch(() => {});
        }
    }

    _streamOpened(st) {
        const outbox = this._outbox;

        this.protocol = null;
        this._attempt = 0;
        this._streamChannels = new Set(st.channels);
        for (const ch of st.channels) {
            this._confirmed.add(ch);
        }
        this._setState('open');
        for (const ch of st.channels) {
            this._settleWaiters(ch, null);
        }

        // what waited for a WebSocket: publishes go over HTTP, the stream
        // itself resumes, and acks cannot be sent on it
        this._outbox = [];
        this._ackQueued.clear();
        for (const it of outbox) {
            if (it.type === 'pub') {
                this._httpPublish(it);
            } else if (it.type === 'unsub') {
                it.resolve();
            }
        }
    }

    // a refused stream rejects the subscriptions it was opened for, which
    // leave the list: the next attempt goes without them
    _streamRefused(err) {
        const fresh = [...this._channels].filter(
            (ch) => !this._streamChannels.has(ch) && this._waiters.has(ch));

        if (fresh.length === 0 || err.code >= 500) {
            this._emit('error', err);
            return;
        }
        for (const ch of fresh) {
            this._channels.delete(ch);
            this._settleWaiters(ch, new WsPerfError('subscribe: '
                                                    + err.message,
                                                    err.code));
        }
    }

    // the channel list changed: a new stream, from the oldest position
    _restream() {
        if (this._restreamTimer || !this._stream) {
            return;
        }
        this._restreamTimer = setTimeout(() => {
            this._restreamTimer = null;
            if (this._stream && this._wanted && this._mode === 'sse') {
                this._drop();
                this._openStream(true);
            }
        }, 0);
    }

    _streamEvent(type, data) {
        let env;

        try {
            env = JSON.parse(data);
        } catch (e) {
            this._emit('error', new WsPerfError('undecodable event: '
                                                + e.message, 0, e));
            return;
        }
        if (env === null || typeof env !== 'object') {
            this._emit('error', new WsPerfError('event is not an object'));
            return;
        }

        switch (env.type) {
        case 'msg':
            this._message(env);
            break;
        case 'gap':
            this._streamGap(env);
            break;
        case 'resumed':
            this._streamResumed(env);
            break;
        case 'join':
        case 'leave':
        case 'presence':
            this._presence(env);
            break;
        case 'notice':
            this._emit('notice', env);
            if (env.code === 'redis_reconnected') {
                this._restream();
            }
            break;
        case 'error':
            this._emit('error', new WsPerfError(env.reason, env.code, env));
            break;
        }
    }

    _streamGap(env) {
        const target = targetOf(env);
        const st = this._stream;
        const h = st.hold.get(target);

        if (env.more) {
            st.cut.set(target, env);
            return;
        }
        if (h) {
            h.gap = env;
            return;
        }
        if (!st.known.has(target)) {
            // no position to lose anything from, as a WebSocket client
            // that does not resume it
            return;
        }
        this.stats.gaps++;
        this._emit('gap', env);
    }

    // A resume cut short by the send queue ("more") cannot be asked for
    // again on the stream: a new stream resumes from the positions, as
    // long as the cut moves on; one that does not is shown as a gap.
    _streamResumed(env) {
        const target = targetOf(env);
        const st = this._stream;
        const h = st.hold.get(target);
        const cut = st.cut.get(target);

        if (h) {
            st.hold.delete(target);
            if (h.gap && !h.reached
                && idOrder(h.gap.last) > h.last.order)
            {
                this.stats.gaps++;
                this._emit('gap', { ...h.gap, since: h.last.id });
            }
        }
        this._emit('resumed', { ...env, more: !!cut });

        if (!cut) {
            this._cuts.delete(target);
            if (this._cuts.size === 0) {
                this._moreRounds = 0;
            }
            return;
        }
        st.cut.delete(target);
        if (this._cuts.get(target) !== cut.since
            && this._moreRounds++ < MAX_MORE_ROUNDS)
        {
            this._cuts.set(target, cut.since);
            this._restream();
        } else {
            this._cuts.delete(target);
            this.stats.gaps++;
            this._emit('gap', cut);
        }
    }

    _httpPublish(it) {
        const url = this.options.publishUrl;
        const fo = this.options.fetchOptions || {};
        const { type, ...body } = it.cmd;

        if (!url) {
            it.reject(new WsPerfError('publish: not available on the event'
                                      + ' stream without options.publishUrl',
                                      501));
            return;
        }
        this._fetch(url, { ...fo, method: 'POST', body: JSON.stringify(body),
                           headers: { ...(fo.headers || {}),
                                      'Content-Type': 'application/json' } })
            .then((res) => res.text().then((text) => {
                let r = null;

                try {
                    r = JSON.parse(text);
                } catch (e) {
                    /* the status says enough */
                }
                if (res.status === 202 && r && Array.isArray(r.ids)
                    && typeof r.ids[0] === 'string')
                {
                    it.resolve(r.ids[0]);
                } else {
                    it.reject(new WsPerfError('publish: '
                        + (r && r.error ? r.error : 'HTTP ' + res.status),
                        res.status, r));
                }
            }))
            .catch((e) => it.reject(new WsPerfError('publish: '
                                                    + (e && e.message),
                                                    0, e)));
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
                if (this._mode === 'sse') {
                    this._restream();
                } else {
                    this._enqueue({ type: 'sub', channel });
                }
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

        if (this._mode === 'sse') {
            this._restream();
            return Promise.resolve();
        }
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
            if (this._mode === 'sse') {
                this._httpPublish({ type: 'pub', cmd, resolve, reject });
                return;
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
            this._presence(env);
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

    _presence(env) {
        if (typeof env.channel === 'string'
            && Number.isSafeInteger(env.count) && env.count >= 0) {
            this._members.set(env.channel, env.count);
        }
        this._emit(env.type, env);
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
        if (this._stream) {
            // a history that still holds the newest message seen holds all
            // that came after it (histories lose their oldest first)
            const h = this._stream.hold.get(target);
            if (h && id === h.last.id) {
                h.reached = true;
            }
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
        if (this._mode === 'sse') {
            // acked over a WebSocket if the server sends it there again
            this._emit('error', new WsPerfError(
                'ack: not available on the event stream; the server sends'
                + ' the message again until ws_perf_max_attempts', 501,
                env));
            return;
        }
        this._queueAck(env.id);
    }
}


export default WsPerfClient;
