// Type declarations of ws-perf.js (docs/clients.md).

export type Priority = 'low' | 'normal' | 'high' | 'critical';

export type State = 'connecting' | 'open' | 'reconnecting' | 'closed';

/** What carries the messages: a WebSocket, or the event stream. */
export type Transport = 'websocket' | 'sse';

export interface WsPerfOptions {
    /** A WebSocket constructor; default globalThis.WebSocket. */
    WebSocket?: new (url: string, protocols?: string | string[],
                     options?: unknown) => WebSocket;
    /** Third argument of that constructor (the "ws" package: TLS, ...). */
    webSocketOptions?: unknown;
    /** Offer subprotocols at all (default true; see docs/clients.md). */
    subprotocols?: boolean;
    /** Offer ws-perf.v1+lz4 before ws-perf.v1 (default true). */
    lz4?: boolean;
    /** Ack a message once every handler returned or resolved (true). */
    autoAck?: boolean;
    /** Backoff: the first cap and the largest, in ms (250, 10000). */
    minDelay?: number;
    maxDelay?: number;
    /** Reconnects in a row before giving up (Infinity). */
    maxAttempts?: number;
    /** ms for the handshake, and for a command's reply (10000, 15000). */
    connectTimeout?: number;
    commandTimeout?: number;
    /** Ids remembered per channel and for the user (1024). */
    dedupWindow?: number;
    /** Largest decoded size of an lz4 frame, in bytes (16 MiB). */
    maxFrameSize?: number;
    /** Commands waiting for the connection, at most (10000). */
    maxQueued?: number;
    /**
     * The event stream (a ws_perf_sse location) to fall back to: a URL,
     * whose "channels" argument gets the client's channels, or a function
     * of those channels that returns the URL.  Unset: no fallback.
     */
    sse?: string | URL | ((channels: string[]) => string | URL);
    /** WebSockets that fail to open in a row before the stream (2). */
    sseAfter?: number;
    /** ms on the stream before a lost stream tries WebSocket (300000). */
    webSocketRetry?: number;
    /** ms without a byte on the stream before it is made again (75000). */
    sseIdleTimeout?: number;
    /** A ws_perf_publish location: publish() POSTs there on the stream. */
    publishUrl?: string | URL;
    /** fetch for the stream and the publishes (default globalThis.fetch). */
    fetch?: (input: string | URL, init?: RequestInit) => Promise<Response>;
    /** Merged into every fetch: headers, credentials, ... */
    fetchOptions?: RequestInit;
}

export interface Envelope {
    type: 'msg';
    id: string;
    channel?: string;
    user?: string;
    priority: Priority;
    ts: number;
    ack: boolean;
    encoding?: 'base64';
    data: unknown;
}

export interface Message<T = unknown> {
    id: string;
    channel?: string;
    user?: string;
    priority: Priority;
    ts: number;
    /** The server waits for an ack of this message. */
    needsAck: boolean;
    encoding?: 'base64';
    data: T;
    envelope: Envelope;
    /** Acks it now (needed when autoAck is false; idempotent). */
    ack(): void;
}

export interface Gap {
    type: 'gap';
    channel?: string;
    user?: string;
    /** The id resumed from. */
    since: string;
    /** The newest id there is. */
    last: string;
    /** On the event stream: a resume cut short by the send queue here. */
    more?: boolean;
}

export interface Resumed {
    type: 'resumed';
    channel?: string;
    user?: string;
    /** Messages this resume sent (duplicates included). */
    count: number;
    /** The send queue cut it short: the client asks again from there. */
    more: boolean;
}

export interface Notice {
    type: 'notice';
    code: string;
    reason: string;
}

/** ws_perf_presence: a user's first connection on the channel, or last. */
export interface PresenceEvent {
    type: 'join' | 'leave';
    channel: string;
    user: string;
    /** The channel's members after it. */
    count: number;
}

/** Sent instead of joins and leaves over ws_perf_presence_rate. */
export interface PresenceCount {
    type: 'presence';
    channel: string;
    count: number;
}

export interface Stats {
    messages: number;
    duplicates: number;
    lz4Frames: number;
    reconnects: number;
    gaps: number;
}

export interface EventMap {
    message: Message;
    gap: Gap;
    resumed: Resumed;
    notice: Notice;
    join: PresenceEvent;
    leave: PresenceEvent;
    presence: PresenceCount;
    error: Error;
    state: State;
}

export class WsPerfError extends Error {
    /** The HTTP-like code of the server's error reply, when there is one. */
    code?: number;
    detail?: unknown;
}

export class Lz4Error extends Error {}

export class WsPerfClient {
    constructor(url: string, options?: WsPerfOptions);
    readonly url: string;
    readonly state: State;
    /** The subprotocol the server selected, once open. */
    readonly protocol: string | null;
    readonly stats: Stats;
    /** The current WebSocket, or null (always null on the stream). */
    readonly socket: WebSocket | null;
    /** The transport in use, or being tried. */
    readonly transport: Transport;

    connect(): this;
    /** Closes; connect() again resumes where it stopped. */
    close(): void;

    /**
     * Handlers of "message" may return a promise: the ack waits for it.
     * Handlers of "state" get the transport as their second argument.
     */
    on<K extends keyof EventMap>(type: K,
        fn: (ev: EventMap[K], transport?: Transport) => unknown): () => void;
    off<K extends keyof EventMap>(type: K,
        fn: (ev: EventMap[K], transport?: Transport) => unknown): void;

    /** The member count the channel's last presence event carried. */
    presence(channel: string): number | null;

    subscribe(channel: string): Promise<void>;
    unsubscribe(channel: string): Promise<void>;
    /**
     * Resolves with the id the server gave.  On the event stream it is a
     * POST to options.publishUrl; without one it rejects with code 501.
     */
    publish(channel: string, data: unknown,
            options?: { priority?: Priority }): Promise<string>;
}

/** The text/event-stream reader the client uses; exported for tests. */
export class EventStreamParser {
    constructor(onEvent: (type: string, data: string, id: string) => void,
                maxLine?: number);
    lastEventId: string;
    push(chunk: Uint8Array | string): void;
}

export function lz4DecodeBlock(src: Uint8Array, size: number): Uint8Array;
export function lz4DecodeFrame(frame: ArrayBuffer | Uint8Array,
                               maxSize?: number): Uint8Array;

export default WsPerfClient;
