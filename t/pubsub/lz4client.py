#!/usr/bin/python3
"""lz4 scenarios for t/5NN-lz4*.t, run like client.py:

    lz4client.py --port N SCENARIO [key=value ...]

Clients that offer the subprotocol "ws-perf.v1+lz4" get large messages as
binary frames: 4 bytes of original size, big-endian, then an LZ4 block of
the JSON envelope.  They are decoded here with python3-lz4 (lz4.block), an
implementation independent of the module's.  In Redis mode, what Redis
carries is read from the Redis channel itself over a socket.

    lz4client.py measure      prints the saving on the realistic payloads below
"""

import json
import os
import random
import re
import socket
import sys
import time

import lz4.block
from websockets.frames import Opcode

sys.dont_write_bytecode = True      # no __pycache__ in the source tree
import client                       # noqa: E402
import wsclient                     # noqa: E402
from client import out, scenario    # noqa: E402
from wsclient import (connect, pump, publish, request,  # noqa: E402
                      wait_subscribers)


LZ4 = "ws-perf.v1+lz4"
V1 = "ws-perf.v1"

REDIS_PORT = int(os.environ.get("TEST_NGINX_REDIS_PORT", "6410"))


# ------------------------------------------------------- realistic data

def orders(target=4096, seed=7):
    """An order-book page: a JSON object of about target bytes."""
    rnd = random.Random(seed)
    statuses = ["pending", "paid", "shipped", "delivered", "cancelled"]
    products = [("SKU-%05d" % rnd.randrange(100000), name) for name in
                ("USB-C cable 2m", "Wireless mouse", "Mechanical keyboard",
                 "27in monitor", "Laptop stand", "HDMI adapter",
                 "Webcam 1080p", "Noise-cancelling headphones", "Desk lamp",
                 "Phone charger")]
    page = []
    while True:
        items = []
        for _ in range(rnd.randint(1, 3)):
            sku, name = rnd.choice(products)
            items.append({"sku": sku, "name": name, "qty": rnd.randint(1, 4),
                          "unit_price_cents": rnd.randrange(499, 49999)})
        o = {"order_id": "ord-%08d" % (31000000 + rnd.randrange(1000000)),
             "customer_id": "cus-%06d" % rnd.randrange(1000000),
             "status": rnd.choice(statuses),
             "created_at": "2026-11-27T%02d:%02d:%02dZ"
                           % (rnd.randrange(24), rnd.randrange(60),
                              rnd.randrange(60)),
             "currency": "EUR", "items": items,
             "total_cents": sum(x["qty"] * x["unit_price_cents"]
                                for x in items),
             "shipping": {"method": rnd.choice(["standard", "express"]),
                          "country": rnd.choice(["DE", "FR", "NL", "IT",
                                                 "ES"])}}
        cand = {"type": "orders.snapshot", "page": 1, "orders": page + [o]}
        if len(compact(cand)) > target:
            return {"type": "orders.snapshot", "page": 1, "orders": page}
        page.append(o)


def chat(target=4096, seed=3):
    """A chat room's recent history: a JSON object of about target bytes."""
    rnd = random.Random(seed)
    users = ["alice", "bob", "carol", "dave", "erin", "frank"]
    words = ("the deploy is done can you check the logs i think we should "
             "roll back after lunch looks good to me thanks for the review "
             "meeting moved to three pm latency is fine now ok").split()
    history = []
    while True:
        m = {"id": "m-%d" % (900000 + len(history)), "user": rnd.choice(users),
             "ts": 1795761700000 + len(history) * 37000
                   + rnd.randrange(30000),
             "text": " ".join(rnd.choice(words)
                              for _ in range(rnd.randint(4, 16))),
             "reactions": {}}
        cand = {"room": "team.backend", "history": history + [m]}
        if len(compact(cand)) > target:
            return {"room": "team.backend", "history": history}
        history.append(m)


def noise(n=3000, seed=11):
    """A string lz4 cannot shrink: random base64 characters."""
    rnd = random.Random(seed)
    abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    return "".join(rnd.choice(abc) for _ in range(n))


def compact(v):
    return json.dumps(v, separators=(",", ":"))


# ------------------------------------------------------------ decoding

def unblock(b):
    """The original of a block: 4 bytes big-endian size, an LZ4 block."""
    if len(b) < 5:
        raise ValueError("a block of %d bytes" % len(b))
    size = int.from_bytes(b[:4], "big")
    data = lz4.block.decompress(b[4:], uncompressed_size=size)
    if len(data) != size:
        raise ValueError("decoded %d bytes, declared %d" % (len(data), size))
    return data


def block(data):
    """data as a block, made by python3-lz4"""
    return len(data).to_bytes(4, "big") + lz4.block.compress(
        data, store_size=False)


def frames(ws):
    """[(kind, envelope bytes)] of the data frames: kind "text", "binary"
    (decoded) or "undecodable"."""
    r = []
    for f in ws.data_frames():
        if f.opcode is Opcode.TEXT:
            r.append(("text", f.data))
            continue
        try:
            r.append(("binary", unblock(f.data)))
        except Exception as e:
            r.append(("undecodable", repr(e).encode()))
    return r


def data_of(env):
    try:
        return json.loads(env).get("data")
    except ValueError:
        return None


def connect_offering(port, path, protocols):
    """A client whose handshake offers the subprotocols, in that order."""
    orig = wsclient.ClientConnection

    def offering(uri, max_size=None):
        return orig(uri, subprotocols=protocols, max_size=max_size)

    wsclient.ClientConnection = offering
    try:
        return connect(port, path)
    finally:
        wsclient.ClientConnection = orig


def protocol(ws):
    if ws.response is None:
        return "no answer"
    return ws.response.headers.get("Sec-WebSocket-Protocol", "none")


def wait_end(conns, end="end", timeout=10):
    pump(conns, lambda: all(any(data_of(e) == end for _, e in frames(c))
                            or c.eof for c in conns), timeout, "end marker")


def log_lines(pattern):
    """Lines of nginx's error log matching the regex: [(pid, match)]."""
    path = os.path.join(os.environ["TEST_NGINX_SERVER_ROOT"], "logs",
                        "error.log")
    r = []
    rx = re.compile(pattern)
    with open(path, errors="replace") as f:
        for line in f:
            m = rx.search(line)
            if m:
                pid = re.search(r" (\d+)#\d+: ", line)
                r.append((pid.group(1) if pid else "?", m))
    return r


# ----------------------------------------------------------- scenarios

@scenario
def lz4_frames(port, path="/ws", channel="mixed", subs="3"):
    """lz4 clients and plain clients on one channel: large messages reach
    the lz4 clients as binary frames that decode to the very envelope the
    plain clients get as text; small ones and replies are text for all."""
    q = "%s?channels=%s" % (path, channel)
    zs = [connect_offering(port, q, [LZ4, V1]) for _ in range(int(subs))]
    plain = connect(port, q)
    v1 = connect_offering(port, q, [V1])
    out("lz4 clients: protocol %s" % " ".join(sorted({protocol(z)
                                                      for z in zs})),
        "plain client: protocol %s; v1 client: protocol %s"
        % (protocol(plain), protocol(v1)))
    conns = zs + [plain, v1]
    wait_subscribers(port, "channel=" + channel, len(conns))

    sent = [("small", {"hello": "world"}), ("orders", orders()),
            ("chat", chat()), ("noise", noise())]
    for name, data in sent:
        publish(port, {"channel": channel, "data": data})
    r = client.command(zs[0], {"type": "ping"})
    publish(port, {"channel": channel, "data": "end"})
    wait_end(conns)

    got = {id(c): [(k, e) for k, e in frames(c) if data_of(e) != "end"]
           for c in conns}
    want = [e for _, e in got[id(plain)]]
    out("reply to a ping on the lz4 client: %s" % (r or {}).get("type"))

    for i, (name, data) in enumerate(sent):
        env = want[i] if i < len(want) else b""
        ok = data_of(env) == data
        kinds = {}
        for c in conns:
            g = [x for x in got[id(c)] if json.loads(x[1]).get("type")
                 == "msg"]
            k, e = g[i] if i < len(g) else ("missing", b"")
            who = "lz4" if c in zs else "plain"
            same = e == env
            kinds.setdefault(who, set()).add(k if same else k + " (differs)")
        line = "%s: %s bytes of envelope; lz4 clients %s, plain clients %s" \
               % (name, "~%dk" % round(len(env) / 1024) if len(env) >= 1024
                  else "<1k", "/".join(sorted(kinds["lz4"])),
                  "/".join(sorted(kinds["plain"])))
        if not ok:
            line += "; the plain client's data is not what was published"
        out(line)

    bins = [f.data for f in zs[0].data_frames() if f.opcode is Opcode.BINARY]
    same = all([f.data for f in z.data_frames() if f.opcode is Opcode.BINARY]
               == bins for z in zs)
    out("every lz4 client got the same binary frames, byte for byte: %s"
        % ("yes" if same else "no"))
    for b in bins:
        e = unblock(b)
        out("a binary frame under half its envelope: %s"
            % ("yes" if len(b) * 2 < len(e) else "no (%d of %d bytes)"
               % (len(b), len(e))))
    for c in conns:
        c.abort()


@scenario
def lz4_edge(port, path="/ws", channel="edge", limit="1024"):
    """The envelope size decides: limit - 1 bytes go as text, limit bytes
    as a binary frame (the publisher's ids keep envelopes' sizes fixed)."""
    q = "%s?channels=%s" % (path, channel)
    z = connect_offering(port, q, [LZ4])
    plain = connect(port, q)
    wait_subscribers(port, "channel=" + channel, 2)
    publish(port, {"channel": channel, "id": "probe-1", "data": "a" * 100})
    pump([plain], lambda: len(plain.data_frames()) >= 1, 10, "the probe")
    fixed = len(plain.data_frames()[0].data) - 100
    limit = int(limit)
    publish(port, {"channel": channel, "id": "under-1",
                   "data": "a" * (limit - 1 - fixed)})
    publish(port, {"channel": channel, "id": "equal-1",
                   "data": "a" * (limit - fixed)})
    publish(port, {"channel": channel, "data": "end"})
    wait_end([z, plain])
    pf = [e for _, e in frames(plain)]
    for i, (k, e) in enumerate(frames(z)[1:3]):
        env = pf[i + 1]
        out("%d bytes of envelope: %s%s" % (
            len(env), k, "" if e == env else " (differs from the plain one)"))
    z.abort()
    plain.abort()


@scenario
def lz4_text(port, path="/ws", channel="t", raw=""):
    """A client offering lz4 where it does not apply: the protocol chosen,
    and how a large message arrives."""
    q = "%s?channels=%s" % (path, channel)
    z = connect_offering(port, q, [LZ4, V1])
    out("protocol %s" % protocol(z))
    wait_subscribers(port, "channel=" + channel, 1)
    data = orders()
    publish(port, {"channel": channel, "data": data})
    publish(port, {"channel": channel, "data": "end"})
    pump([z], lambda: any(e == b"end" if raw else data_of(e) == "end"
                          for _, e in frames(z)), 10, "end marker")
    k, e = frames(z)[0]
    if raw:
        same = json.loads(e) == data
    else:
        same = data_of(e) == data
    out("orders (~4k) arrive as %s, %s" % (
        k, "as published" if same else "NOT as published"))
    z.abort()


# ----------------------------------------------------------- redis mode

class RedisSub:
    """A raw SUBSCRIBE to one Redis channel: what the workers hear (in a
    Redis Cluster an SSUBSCRIBE on the master of its slot)."""

    def __init__(self, channel):
        import redis as r      # t/pubsub/redis.py
        self.sharded = r.in_cluster()
        self.s = socket.create_connection(("127.0.0.1", r.owner(channel)),
                                          timeout=10)
        self.f = self.s.makefile("rb")
        ch = channel.encode()
        cmd = b"SSUBSCRIBE" if self.sharded else b"SUBSCRIBE"
        self.s.sendall(b"*2\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n"
                       % (len(cmd), cmd, len(ch), ch))
        self.read()

    def read(self):
        line = self.f.readline()
        if not line.startswith(b"*"):
            raise AssertionError("redis said %r" % line)
        items = []
        for _ in range(int(line[1:])):
            t = self.f.readline()
            if t.startswith(b":"):
                items.append(int(t[1:]))
            else:
                items.append(self.f.read(int(t[1:]) + 2)[:-2])
        return items

    def message(self):
        """(header fields, data) of the next message"""
        kind, _, payload = self.read()
        if kind != (b"smessage" if self.sharded else b"message"):
            raise AssertionError("redis sent %r" % kind)
        head, data = payload.split(b"\n", 1)
        return head.decode().split(" "), data

    def close(self):
        self.s.close()


def redis_cmd(*args):
    """a command about the key args[1] (FCALL: args[3]) to the server
    that has it"""
    import redis as r      # t/pubsub/redis.py
    if args[0] == "PUBLISH":
        return r.publish_raw(args[1], args[2])
    return r.route(args[3] if args[0] == "FCALL" else args[1], *args)


def channel_key(channel):
    import redis as r
    return r.key("ch", channel)


def wait_info(port, channel, n):
    deadline = time.monotonic() + 10 * wsclient.SCALE
    while time.monotonic() < deadline:
        _, _, body = request(port, "GET", "/pub?channel=" + channel)
        if json.loads(body).get("subscribers") == n:
            return
        time.sleep(0.05)
    raise AssertionError("%s never had %d subscribers" % (channel, n))


@scenario
def lz4_redis(port, path="/ws", channel="big", subs="8", raw_pub="/pubraw"):
    """In Redis mode a large payload travels (and would be stored)
    lz4-compressed with flag 'z'; subscribers get the original; each worker
    decompresses a message once and makes its lz4 frame once."""
    q = "%s?channels=%s" % (path, channel)
    zs = [connect_offering(port, q, [LZ4]) for _ in range(int(subs))]
    plain = connect(port, q)
    conns = zs + [plain]
    wait_info(port, channel, len(conns))
    rs = RedisSub(channel_key(channel))

    data = orders()
    text = " ".join(m["text"] for m in chat(3000)["history"])
    publish(port, {"channel": channel, "data": data})
    publish(port, {"channel": channel, "data": {"small": True}})
    publish(port, text, path="%s/%s" % (raw_pub, channel))
    publish(port, {"channel": channel, "data": "end"})

    heard = [rs.message() for _ in range(4)]
    rs.close()
    (h1, d1), (h2, d2), (h3, d3) = heard[:3]
    js = compact(data).encode()
    try:
        orig = unblock(d1)
    except Exception as e:
        orig = repr(e).encode()
    out("orders in redis: flags %s, %s bytes than the JSON, decoding to it: "
        "%s" % (h1[4], "fewer" if len(d1) < len(js) else "NOT fewer",
                "yes" if orig == js else "no"))
    sys.stderr.write("measure: orders JSON %d bytes, stored %d bytes\n"
                     % (len(js), len(d1)))
    out("small JSON in redis: flags %s, as published: %s"
        % (h2[4], "yes" if json.loads(d2) == {"small": True} else "no"))
    try:
        t3 = unblock(d3).decode()
    except Exception as e:
        t3 = repr(e)
    out("raw text body in redis: flags %s, decoding to the body: %s"
        % (h3[4], "yes" if t3 == text else "no"))

    wait_end(conns)
    penv = [e for _, e in frames(plain)]
    out("plain subscriber: %s" % ", ".join(
        "%s %s" % (k, "as published" if data_of(e) == d else "DIFFERENT")
        for (k, e), d in zip(frames(plain)[:3], [data, {"small": True},
                                                 text])))
    kinds = set()
    for z in zs:
        for (k, e), p in zip(frames(z)[:3], penv):
            kinds.add("%s%s" % (k, "" if e == p else " (differs)"))
    lz = [k for k, _ in frames(zs[0])[:3]]
    out("lz4 subscribers: %s; each the plain subscriber's envelope: %s"
        % (", ".join(lz), "yes" if kinds <= {"text", "binary"} else
           " ".join(sorted(kinds))))

    # debug lines: one compression for redis per large message, one
    # decompression and one lz4 frame per worker and message
    packed = log_lines(r"ws_perf redis lz4: (\d+) bytes of payload, "
                       r"([1-9]\d*) of block")
    unpacked = log_lines(r"ws_perf redis lz4: (\d+) bytes of block, "
                         r"(\d+) of payload")
    made = log_lines(r"websocket lz4 frame: (\d+) bytes of envelope")
    out("compressed for redis: %d times for 2 large payloads" % len(packed))

    def once_each(lines):
        seen = {}
        for pid, m in lines:
            k = (pid, m.group(1))
            seen[k] = seen.get(k, 0) + 1
        return seen and all(n == 1 for n in seen.values())

    # every worker with a subscriber of the channel decompresses, lz4
    # subscribers or not (a plain one's JSON is made from the payload)
    workers = len({pid for pid, _ in made} | {pid for pid, _ in unpacked})
    out("decompressed once per worker and message: %s"
        % ("yes" if once_each(unpacked) and len(unpacked) <= 2 * workers
           else "no: %r" % [(p, m.group(0)) for p, m in unpacked]))
    out("lz4 frames made once per worker and message, not per subscriber: "
        "%s" % ("yes" if once_each(made) and len(made) < len(zs) * 2
                else "no: %r" % [(p, m.group(0)) for p, m in made]))
    for c in conns:
        c.abort()


@scenario
def lz4_redis_hand(port, path="/ws", channel="hand"):
    """Backends may send compressed payloads themselves; a malformed 'z'
    message is dropped with a warning and the next one still arrives."""
    q = "%s?channels=%s" % (path, channel)
    z = connect_offering(port, q, [LZ4])
    plain = connect(port, q)
    wait_info(port, channel, 2)
    key = channel_key(channel)
    good = compact(orders()).encode()
    head = b"v1 %s normal 1700000000000 jz\n"

    redis_cmd("PUBLISH", key, head % b"bad-1" + b"\0\0\x10\0garbage!")
    redis_cmd("PUBLISH", key, head % b"bad-2" + b"\x06\0\0\0" + block(good)[4:])
    redis_cmd("PUBLISH", key, head % b"bad-3" + b"\0\0\0\x05")
    redis_cmd("PUBLISH", key, head % b"bad-4"
              + (len(good) + 1).to_bytes(4, "big") + block(good)[4:])
    redis_cmd("PUBLISH", key, head % b"hand-1" + block(good))
    # one priority: they leave in the order redis published them
    r = redis_cmd("FCALL", "ws_perf_publish", 1, key, block(good), "normal",
                  "jz")
    redis_cmd("FCALL", "ws_perf_publish", 1, key,
              block(b"plain text " * 100), "normal", "z")
    publish(port, {"channel": channel, "data": "end"})
    wait_end([z, plain])
    out("FCALL with flags jz: %s" % ("accepted" if isinstance(r, list)
                                     else r))
    pf = frames(plain)
    got = []
    for (k, e), (_, p) in zip(frames(z), pf):
        m = json.loads(p)
        d = m.get("data")
        what = ("the orders" if d == json.loads(good) else
                "plain text x100" if d == "plain text " * 100 else
                json.dumps(d)[:20])
        got.append("%s (%s, %s to lz4%s)" % (
            what, m.get("priority"), k, "" if e == p else ", DIFFERENT"))
    out("subscribers got: " + "; ".join(got))
    z.abort()
    plain.abort()


@scenario
def lz4_resume(port, path="/ws", channel="kept"):
    """A channel's history keeps what redis got, compressed; a client that
    resumes gets the originals (lz4 clients as lz4 frames)."""
    wait_info(port, channel, 0)         # redis answers
    data = orders()
    ids = publish(port, {"channel": channel, "data": {"first": 1}})["ids"]
    publish(port, {"channel": channel, "data": data})
    publish(port, {"channel": channel, "data": {"last": 1}})
    q = "%s?channels=%s" % (path, channel)
    z = connect_offering(port, q, [LZ4])
    plain = connect(port, q)
    wait_info(port, channel, 2)
    for c in (z, plain):
        c.send_json({"type": "resume", "channel": channel, "since": ids[0]})
    pump([z, plain], lambda: all(any(json.loads(e).get("type") == "resumed"
                                     for _, e in frames(c)) or c.eof
                                 for c in (z, plain)), 10, "resumed")
    for name, c in (("lz4", z), ("plain", plain)):
        got = []
        for k, e in frames(c):
            m = json.loads(e)
            if m.get("type") != "msg":
                got.append(m.get("type"))
                continue
            d = m.get("data")
            got.append("%s %s" % (k, "the orders" if d == data
                                  else json.dumps(d)))
        out("%s client after resume: %s" % (name, "; ".join(got)))
    z.abort()
    plain.abort()


def measure():
    """The saving on realistic payloads, as docs/redis.md quotes it: the
    call the module makes (liblz4's LZ4_compress_default, through ctypes)
    plus the 4 bytes of size."""
    import ctypes
    lib = ctypes.CDLL("liblz4.so.1")
    for name, make in (("orders", orders), ("chat history", chat)):
        for target in (512, 1024, 4096, 16384):
            js = compact(make(target)).encode()
            buf = ctypes.create_string_buffer(len(js))
            n = lib.LZ4_compress_default(js, buf, len(js), len(js) - 5)
            n = n + 4 if n > 0 else len(js)
            print("%-12s %6d bytes of JSON -> %6d stored (%3.0f%%)%s"
                  % (name, len(js), n, 100.0 * n / len(js),
                     "" if n < len(js) else ", not compressed"))


if __name__ == "__main__":
    if sys.argv[1:] == ["measure"]:
        measure()
        sys.exit(0)
    sys.exit(client.main())
