#!/usr/bin/python3
"""Pub/sub scenarios for t/2NN-*.t, run while the test's nginx is up.

    client.py --port N SCENARIO [key=value ...]

Each scenario connects its subscribers, waits until they are subscribed
(handshake answers, command replies and the channel info, never a fixed
sleep), publishes over HTTP, reads with deadlines and prints a verdict that
the test compares line by line.  The lines say what held; when something
does not hold they say what was seen instead.
"""

import argparse
import base64
import json
import os
import random
import select
import signal
import ssl
import subprocess
import sys
import time
import traceback

from websockets.frames import Opcode

sys.dont_write_bytecode = True      # no __pycache__ in the source tree
import wsclient                     # noqa: E402
from wsclient import (Timeout, WS, connect, connect_many, info, publish,  # noqa
                      pump, request, settle, wait_subscribers)


PRIOS = ("critical", "high", "normal", "low")

SCENARIOS = {}


def scenario(fn):
    SCENARIOS[fn.__name__.replace("_", "-")] = fn
    return fn


def out(*lines):
    for line in lines:
        print(line)
    sys.stdout.flush()


def summary(items, limit=8):
    items = list(items)
    s = " ".join(str(x) for x in items[:limit])
    if len(items) > limit:
        s += " ... (%d in all)" % len(items)
    return s


def frame_size(f):
    n = len(f.data)
    return n + (2 if n < 126 else 4 if n < 65536 else 10)


def check_ledger(name, got, want):
    """got and want: lists of keys; exactly once, same order."""
    if got == want:
        return None
    seen = {}
    for k in got:
        seen[k] = seen.get(k, 0) + 1
    missing = [k for k in want if k not in seen]
    dup = [k for k, n in seen.items() if n > 1]
    extra = [k for k in seen if k not in set(want)]
    parts = []
    if missing:
        parts.append("missing " + summary(missing))
    if dup:
        parts.append("duplicated " + summary(dup))
    if extra:
        parts.append("unexpected " + summary(extra))
    if not parts:
        first = next(i for i, (a, b) in enumerate(zip(got, want)) if a != b)
        parts.append("out of order from position %d: got %s, want %s"
                     % (first, summary(got[first:first + 5]),
                        summary(want[first:first + 5])))
    return "%s: %s" % (name, "; ".join(parts))


# ------------------------------------------------- slow consumer helpers

PAD = "x" * 1000


# A subscriber that is going to stop reading connects over a unix socket:
# there the kernel holds a fixed amount for it (nginx's socket's send
# buffer), while over TCP on loopback the buffers grow and shrink with
# autotuning, window probes and receive queue collapsing, at times no test
# controls.


def fill(port, ws, channel, beyond, prio="low", tag="L", batch=50):
    """Publishes ~1 KB messages until the kernel buffers towards the
    stalled ws are full, then `beyond` bytes more (they wait in nginx's
    queue, or are dropped).  Returns the count."""
    n = 0
    prev = -1
    while True:
        publish(port, [{"channel": channel, "priority": prio,
                        "data": {"k": tag, "seq": n + i, "pad": PAD}}
                       for i in range(batch)])
        n += batch
        settle(port)
        kb = ws.unread()
        # a write after a publish that the kernel took nothing of: full
        if kb == prev:
            break
        if n * 1100 > (16 << 20):
            raise AssertionError("the kernel took %d bytes and still grows"
                                 % kb)
        prev = kb
    more = 0
    while more < beyond:
        publish(port, [{"channel": channel, "priority": prio,
                        "data": {"k": tag, "seq": n + i, "pad": PAD}}
                       for i in range(batch)])
        n += batch
        more += batch * 1100
    settle(port)
    still_full(ws, kb)
    return n


def still_full(ws, kb):
    """The kernel took nothing more while the client was not reading."""
    if ws.unread() != kb:
        raise AssertionError("the kernel took %d bytes more while the"
                             " client was not reading"
                             % (ws.unread() - kb))


def burst(port, channel, prio, tag, count, batch=50, pad=PAD):
    n = 0
    while n < count:
        k = min(batch, count - n)
        publish(port, [{"channel": channel, "priority": prio,
                        "data": {"k": tag, "seq": n + i, "pad": pad}}
                       for i in range(k)])
        n += k
    settle(port)


def keyed(ws):
    """(tag, seq) of each message, in arrival order, and frame sizes."""
    keys = []
    sizes = []
    for f, m in ws.parsed:
        d = m.get("data") if isinstance(m, dict) else None
        if isinstance(d, dict) and "k" in d:
            keys.append((d["k"], d["seq"]))
            sizes.append(frame_size(f))
    return keys, sizes


def count_tag(ws, tag):
    return sum(1 for _, m in ws.parsed if isinstance(m, dict)
               and isinstance(m.get("data"), dict)
               and m["data"].get("k") == tag)


def wait_end(port, ws, channel, prio="low", tries=5, wait=2.0):
    """Publishes an end marker until it arrives (a marker that finds the
    queue full is dropped like any message, so it is sent again)."""
    for attempt in range(tries):
        publish(port, {"channel": channel, "priority": prio,
                       "data": {"end": attempt}})

        def got_end():
            for _, m in ws.parsed:
                d = m.get("data") if isinstance(m, dict) else None
                if isinstance(d, dict) and "end" in d:
                    return True
            return ws.eof

        try:
            pump([ws], got_end, wait, "end marker")
            return
        except Timeout:
            continue
    raise Timeout("no end marker after %d tries" % tries)


def runs(seqs):
    """[(first, last), ...] of consecutive integers"""
    r = []
    for s in seqs:
        if r and s == r[-1][1] + 1:
            r[-1][1] = s
        else:
            r.append([s, s])
    return [tuple(x) for x in r]


# ---------------------------------------------------------------- fan-out

@scenario
def fanout(port, subs="50", msgs="200", channel="fan", path="/ws"):
    """N subscribers each get every message once, in publish order."""
    subs, msgs = int(subs), int(msgs)
    conns = connect_many(port, ["%s?channels=%s" % (path, channel)] * subs)
    bad = [c.status() for c in conns if c.status() != 101]
    out("%d of %d handshakes answered 101" % (subs - len(bad), subs))
    wait_subscribers(port, "channel=" + channel, subs)
    out("channel info: %d subscribers" % subs)

    ids = []
    seq = 0
    # singles, then arrays of 10: both publish forms in one ledger
    while seq < msgs // 2:
        r = publish(port, {"channel": channel, "data": {"seq": seq}})
        ids += r["ids"]
        seq += 1
    while seq < msgs:
        k = min(10, msgs - seq)
        r = publish(port, [{"channel": channel, "data": {"seq": seq + i}}
                           for i in range(k)])
        ids += r["ids"]
        seq += k
    publish(port, {"channel": channel, "data": {"end": True}})
    out("%d messages published, %d distinct ids" % (msgs, len(set(ids))))

    def done():
        return all(any(m.get("data") == {"end": True} for m in c.messages())
                   or c.eof for c in conns)

    pump(conns, done, 30, "every subscriber's end marker")

    want = [(i, s, channel, "normal", "msg", False)
            for i, s in zip(ids, range(msgs))]
    now = time.time() * 1000
    problems = []
    for n, c in enumerate(conns):
        got = []
        for m in c.messages():
            if m.get("data") == {"end": True}:
                break
            got.append((m.get("id"), (m.get("data") or {}).get("seq"),
                        m.get("channel"), m.get("priority"), m.get("type"),
                        m.get("ack")))
            ts = m.get("ts")
            if not isinstance(ts, int) or abs(ts - now) > 60000:
                problems.append("subscriber %d: ts %r is not the publish"
                                " time in milliseconds" % (n, ts))
        p = check_ledger("subscriber %d" % n, got, want)
        if p:
            problems.append(p)
    if problems:
        out(*problems[:10])
    else:
        out("every subscriber got every message once, in publish order,"
            " with the ids the publisher was given")
    for c in conns:
        c.abort()


@scenario
def direct_churn(port, path="/ws", channel="dc", steady="8", churn="24",
                 rounds="40", batch="10"):
    """While arrays of messages fan out, subscribers come and go around
    each publish: some reset their connection with messages unread, some
    close it with a close frame, new ones connect; subscribers that stay
    send a ping just before some publishes.  Those that stay get every
    message once, in publish order, and a pong for each ping."""
    steady, churn = int(steady), int(churn)
    rounds, batch = int(rounds), int(batch)
    url = "%s?channels=%s" % (path, channel)
    stay = connect_many(port, [url] * steady)
    come = connect_many(port, [url] * churn)
    wait_subscribers(port, "channel=" + channel, steady + churn)
    out("%d subscribers stay, %d come and go" % (steady, churn))

    rnd = random.Random(11)
    pings = [0] * steady
    left = {"reset": 0, "close": 0}
    seq = 0
    for _ in range(rounds):
        for _ in range(2):
            c = come.pop(rnd.randrange(len(come)))
            if rnd.random() < 0.5:
                c.abort()
                left["reset"] += 1
            else:
                c.close()
                left["close"] += 1
            come.append(WS(port, url))
        for i in rnd.sample(range(steady), 2):
            stay[i].send_json({"type": "ping"})
            pings[i] += 1
        publish(port, [{"channel": channel, "data": {"seq": seq + i}}
                       for i in range(batch)])
        seq += batch
    publish(port, {"channel": channel, "data": {"end": True}})
    out("%d messages published; %d connections reset, %d closed"
        % (seq, left["reset"], left["close"]))

    def done():
        return all(any(m.get("data") == {"end": True} for m in c.messages())
                   or c.eof for c in stay)

    pump(stay, done, 30, "every staying subscriber's end marker")
    problems = []
    for n, c in enumerate(stay):
        got = [(m.get("data") or {}).get("seq") for m in c.messages()
               if m.get("type") == "msg" and m.get("data") != {"end": True}]
        e = check_ledger("subscriber %d" % n, got, list(range(seq)))
        if e:
            problems.append(e)
        pongs = sum(1 for m in c.messages() if m.get("type") == "pong")
        if pongs != pings[n]:
            problems.append("subscriber %d: %d pongs for %d pings"
                            % (n, pongs, pings[n]))
    out(*problems[:10]) if problems else out(
        "every staying subscriber got every message once, in publish"
        " order, and a pong for each ping")
    for c in stay + come:
        c.abort()


@scenario
def many_channels(port, path="/ws", conns="30", per="10", stay="2"):
    """A worker's table of channels grows from its first 64 buckets to
    512 as subscribers come, and shrinks back as most of them leave:
    every subscriber gets the message of each of its channels once and
    nothing of the others', before and after, and channels subscribed
    after the shrink are found too."""
    conns, per, stay = int(conns), int(per), int(stay)

    def names(i):
        return ["mc%d.%d" % (i, j) for j in range(per)]

    def connect_all(first, count):
        ws = connect_many(port, ["%s?channels=%s" % (path, ",".join(names(i)))
                                 for i in range(first, first + count)])
        for i in range(first, first + count):
            wait_subscribers(port, "channel=" + names(i)[-1], 1)
        return ws

    def round_(tag, ws, first, everyone):
        """publishes to the channels of the first `everyone` subscribers'
        names, then an end marker to each subscriber's first channel: what
        a subscriber got before its marker is what the round gave it"""
        chans = [c for i in range(everyone) for c in names(i)]
        for k in range(0, len(chans), 50):
            publish(port, [{"channel": c, "data": {"r": tag, "c": c}}
                           for c in chans[k:k + 50]])
        publish(port, [{"channel": names(i)[0], "data": {"r": tag, "end": 1}}
                       for i in first])

        def msgs(c):
            return [m.get("data") or {} for m in c.messages()
                    if m.get("type") == "msg"
                    and (m.get("data") or {}).get("r") == tag]

        pump(ws, lambda: all(any(d.get("end") for d in msgs(c)) or c.eof
                             for c in ws), 30, "every subscriber's end marker")
        bad = []
        for n, c in enumerate(ws):
            got = [d.get("c") for d in msgs(c) if not d.get("end")]
            if sorted(got) != sorted(names(first[n])):
                bad.append("subscriber of mc%d.*: %s"
                           % (first[n], summary(sorted(got))))
        return bad

    ws = connect_all(0, conns)
    out("%d subscribers of %d channels each: %d channels"
        % (conns, per, conns * per))
    bad = round_("a", ws, list(range(conns)), conns)
    out(*bad[:10]) if bad else out(
        "each got the message of each of its channels once, no other")

    for c in ws[stay:]:
        c.abort()
    for i in range(stay, conns):
        wait_subscribers(port, "channel=" + names(i)[0], 0)
    more = connect_all(conns, 1)
    keep = ws[:stay] + more
    out("%d left, 1 came: %d channels" % (conns - stay, (stay + 1) * per))
    bad = round_("b", keep, list(range(stay)) + [conns], conns + 1)
    out(*bad[:10]) if bad else out(
        "each got the message of each of its channels once, no other")
    for c in keep:
        c.abort()


@scenario
def coalesced(port, path="/ws", channel="co", n="30"):
    """n messages that reach a subscriber in one turn of the worker's loop
    (one publish of an array) leave in one write: the subscriber's
    kernel counts the segments that brought them."""
    n = int(n)
    ws = connect(port, "%s?channels=%s" % (path, channel))
    wait_subscribers(port, "channel=" + channel, 1)
    before = _data_segments_in(ws.sock)
    publish(port, [{"channel": channel, "data": {"seq": i}}
                   for i in range(n)])

    def seqs():
        return [(m.get("data") or {}).get("seq") for m in ws.messages()
                if m.get("type") == "msg"]

    pump([ws], lambda: len(seqs()) >= n or ws.eof, 10, "the messages")
    segs = _data_segments_in(ws.sock) - before
    out("%d messages, in publish order" % n if seqs() == list(range(n))
        else "got " + summary(seqs()))
    out("in at most 2 segments" if segs <= 2 else "in %d segments" % segs)
    ws.abort()


@scenario
def fanout_priorities(port, subs="10", msgs="400", channel="prio"):
    """Mixed priorities to readers that keep up: within each priority,
    publish order; every message exactly once."""
    subs, msgs = int(subs), int(msgs)
    conns = connect_many(port, ["/ws?channels=" + channel] * subs)
    wait_subscribers(port, "channel=" + channel, subs)
    rnd = random.Random(4)
    plan = [rnd.choice(PRIOS) for _ in range(msgs)]
    for start in range(0, msgs, 20):
        publish(port, [{"channel": channel, "priority": plan[i],
                        "data": {"seq": i}}
                       for i in range(start, min(start + 20, msgs))])
    out("%d messages published: %s" % (msgs, ", ".join(
        "%d %s" % (plan.count(p), p) for p in PRIOS)))

    pump(conns, lambda: all(len(c.messages()) >= msgs or c.eof
                            for c in conns), 30, "all messages")
    # anything more would arrive before a reply to a ping: there is none
    for c in conns:
        c.send_json({"type": "ping"})
    pump(conns, lambda: all(any(m.get("type") == "pong"
                                for m in c.messages()) or c.eof
                            for c in conns), 10, "pongs")

    problems = []
    for n, c in enumerate(conns):
        got = [(m["priority"], m["data"]["seq"]) for m in c.messages()
               if m.get("type") == "msg"]
        for p in PRIOS:
            want = [i for i in range(msgs) if plan[i] == p]
            have = [s for q, s in got if q == p]
            e = check_ledger("subscriber %d, %s" % (n, p), have, want)
            if e:
                problems.append(e)
        if len(got) != msgs:
            problems.append("subscriber %d: %d messages" % (n, len(got)))
    if problems:
        out(*problems[:10])
    else:
        out("every subscriber got every message once, in publish order"
            " within each priority")
    for c in conns:
        c.abort()


# ------------------------------------------------------- what to receive

@scenario
def channels(port, path, publish_to, end, check=""):
    """Connects to path, publishes one message to each channel of the
    comma-separated publish_to, then an end marker to `end`; prints the
    channels the connection received messages from."""
    ws = connect(port, path)
    out("handshake %s" % ws.status())
    if ws.status() != 101:
        return
    for ch in publish_to.split(","):
        publish(port, {"channel": ch, "data": "to " + ch})
    publish(port, {"channel": end, "data": "end"})
    pump([ws], lambda: any(m.get("data") == "end" for m in ws.messages())
         or ws.eof, 10, "end marker")
    if check:
        # asked once the end marker came: a subscription counts from the
        # moment it is in place (with Redis, once SUBSCRIBE is confirmed)
        out("subscribers: " + " ".join(
            "%s=%d" % (c, info(port, "channel=" + c)["subscribers"])
            for c in check.split(",")))
    got = []
    for m in ws.messages():
        if m.get("data") == "end":
            break
        got.append(m.get("channel"))
    out("received from: " + (" ".join(got) or "nothing"))
    ws.abort()


@scenario
def user(port, mode="arg", path="/wsu"):
    """Publishing to a user reaches each of the user's connections."""
    def open_as(name):
        if mode == "header":
            return connect(port, path, headers=[("X-User", name)])
        return connect(port, "%s?user=%s" % (path, name))

    alice = [open_as("alice"), open_as("alice")]
    bob = open_as("bob")
    out("handshakes: " + " ".join(str(c.status()) for c in alice + [bob]))
    na = info(port, "user=alice")["subscribers"]
    nb = info(port, "user=bob")["subscribers"]
    out("user info: alice %d, bob %d" % (na, nb))

    r = publish(port, {"user": "alice", "data": "for alice"})
    publish(port, {"user": "bob", "data": "end"})
    publish(port, {"user": "alice", "data": "end"})
    conns = alice + [bob]
    pump(conns, lambda: all(any(m.get("data") == "end"
                                for m in c.messages()) or c.eof
                            for c in conns), 10, "end markers")

    for name, c in (("alice#1", alice[0]), ("alice#2", alice[1]),
                    ("bob", bob)):
        got = []
        for m in c.messages():
            if m.get("data") == "end":
                break
            got.append("%s (user=%s, channel key %s, id %s)"
                       % (m.get("data"), m.get("user"),
                          "present" if "channel" in m else "absent",
                          "matches" if m.get("id") == r["ids"][0]
                          else "differs"))
        out("%s got: %s" % (name, "; ".join(got) or "nothing"))
    for c in conns:
        c.abort()


@scenario
def user_limit(port, path="/wsl"):
    """ws_perf_max_connections_per_user 2: the third one gets 429."""
    a1 = connect(port, path + "?user=alice")
    a2 = connect(port, path + "?user=alice")
    a3 = connect(port, path + "?user=alice")
    b1 = connect(port, path + "?user=bob")
    out("alice#1 %s, alice#2 %s, alice#3 %s, bob %s"
        % (a1.status(), a2.status(), a3.status(), b1.status()))
    a1.abort()
    wait_subscribers(port, "user=alice", 1)
    a4 = connect(port, path + "?user=alice")
    out("after alice#1 left: alice#4 %s" % a4.status())
    for c in (a2, a3, b1, a4):
        c.abort()


# ------------------------------------------------------- client commands

def command(ws, obj, timeout=10):
    """Sends a command and waits for the next reply."""
    n = len(ws.messages())
    ws.send_json(obj)
    pump([ws], lambda: len([m for m in ws.messages()[n:]
                            if m.get("type") != "msg"]) > 0 or ws.eof,
         timeout, "reply to %r" % obj)
    replies = [m for m in ws.messages()[n:] if m.get("type") != "msg"]
    return replies[0] if replies else None


@scenario
def client_pub(port, path="/wsc", channel="room.1"):
    """A client's pub reaches the other subscribers of the channel."""
    a = connect(port, path)
    b = connect(port, path)
    p = connect(port, path)
    for name, c in (("A", a), ("B", b)):
        r = command(c, {"type": "sub", "channel": channel})
        out("%s: %s" % (name, r.get("type")))
    wait_subscribers(port, "channel=" + channel, 2)
    r = command(p, {"type": "pub", "channel": channel, "data": "hi",
                    "priority": "high"})
    pid = r.get("id")
    out("publisher: %s, id %s" % (r.get("type"),
                                  "given" if pid else "missing"))
    pump([a, b], lambda: all(any(m.get("type") == "msg"
                                 for m in c.messages()) or c.eof
                             for c in (a, b)), 10, "the message")
    for name, c in (("A", a), ("B", b)):
        m = [m for m in c.messages() if m.get("type") == "msg"][0]
        out("%s got: channel %s, priority %s, data %s, id %s"
            % (name, m.get("channel"), m.get("priority"), m.get("data"),
               "the publisher's" if m.get("id") == pid else m.get("id")))
    r = command(p, {"type": "ping"})
    out("publisher then got: %s" % " ".join(m.get("type")
                                            for m in p.messages()))
    for c in (a, b, p):
        c.abort()


# ------------------------------------------------------------ publishing

@scenario
def array_atomic(port, channel="atom"):
    """An array with one bad message publishes none of them."""
    ws = connect(port, "/ws?channels=" + channel)
    wait_subscribers(port, "channel=" + channel, 1)
    status, _, body = request(port, "POST", "/pub", [
        {"channel": channel, "data": "first"},
        {"channel": channel, "data": "second"},
        {"channel": channel, "data": "third", "priority": "urgent"},
    ])
    err = json.loads(body).get("error") if body else None
    out("array with a bad third message: %d, %s" % (
        status, "with an error" if err else "no error: %r" % body))
    out("channel messages after it: %d"
        % info(port, "channel=" + channel)["messages"])
    publish(port, {"channel": channel, "data": "marker"})
    pump([ws], lambda: any(m.get("data") == "marker"
                           for m in ws.messages()) or ws.eof, 10, "marker")
    out("subscriber got: " + " ".join(m.get("data") for m in ws.messages()))
    out("channel messages after the marker: %d"
        % info(port, "channel=" + channel)["messages"])
    ws.abort()


@scenario
def info_counts(port, channel="inf"):
    """GET info counts the channel's subscribers and its messages."""
    conns = [connect(port, "/ws?channels=" + channel) for _ in range(3)]
    wait_subscribers(port, "channel=" + channel, 3)
    for i in range(4):
        publish(port, {"channel": channel, "data": i})
    publish(port, [{"channel": channel, "data": 4},
                   {"channel": channel, "data": 5}])
    i = info(port, "channel=" + channel)
    out("3 connected, 6 published: " + json.dumps(i, sort_keys=True))
    conns[0].abort()
    wait_subscribers(port, "channel=" + channel, 2)
    out("one left: subscribers %d" % info(port, "channel=" + channel)
        ["subscribers"])
    for c in conns[1:]:
        c.abort()


@scenario
def custom_id(port, channel="ids"):
    """A publisher's id comes back in the 202 and in the envelope."""
    ws = connect(port, "/ws?channels=" + channel)
    wait_subscribers(port, "channel=" + channel, 1)
    r = publish(port, {"channel": channel, "id": "order-42:a.b_c",
                       "data": 1, "ack": True})
    out("202 ids: %s" % json.dumps(r["ids"]))
    r = publish(port, [{"channel": channel, "id": "x-1", "data": 2},
                       {"channel": channel, "data": 3}])
    out("array 202 ids: first %s, second %s" % (
        r["ids"][0], "generated" if r["ids"][1] != "x-1" else "reused"))
    pump([ws], lambda: len(ws.messages()) >= 3 or ws.eof, 10, "messages")
    for m in ws.messages():
        out("envelope id %s, ack %s, data %s"
            % (m["id"] if m["data"] != 3 else
               ("the generated one" if m["id"] == r["ids"][1] else m["id"]),
               json.dumps(m.get("ack")), m.get("data")))
    ws.abort()


@scenario
def raw_publish(port, channel="rawch", body="hello world", priority=""):
    """A raw body (location with ws_perf_channels) reaches JSON and raw
    subscribers.  body=utf8: a text with 2-, 3- and 4-byte characters."""
    if body == "utf8":
        body = "caf\u00e9 \u2603 \U0001f600"
    j = connect(port, "/ws?channels=" + channel)
    r = connect(port, "/wsraw?channels=" + channel)
    wait_subscribers(port, "channel=" + channel, 2)
    path = "/pubraw/" + channel + ("?priority=" + priority if priority
                                   else "")
    status, _, resp = request(port, "POST", path, body.encode())
    out("POST %s: %d, %d id(s)" % (path, status,
                                    len(json.loads(resp).get("ids", []))))
    pump([j, r], lambda: j.data_frames() and r.data_frames(), 10,
         "the message")
    m = j.messages()[0]
    out("JSON subscriber: channel %s, priority %s, data %s, encoding %s"
        % (m.get("channel"), m.get("priority"), json.dumps(m.get("data")),
           m.get("encoding", "none")))
    f = r.data_frames()[0]
    out("raw subscriber: %s frame %s" % (f.opcode.name.lower(),
                                         ascii(f.data.decode())))
    for c in (j, r):
        c.abort()


@scenario
def raw_binary(port, channel="binch"):
    """A raw body that is not UTF-8: binary to raw subscribers, base64 to
    JSON subscribers."""
    payload = bytes(range(256)) + b"\xff\xfe\x00"
    j = connect(port, "/ws?channels=" + channel)
    r = connect(port, "/wsraw?channels=" + channel)
    wait_subscribers(port, "channel=" + channel, 2)
    status, _, _ = request(port, "POST", "/pubraw/" + channel, payload)
    out("POST: %d" % status)
    pump([j, r], lambda: j.data_frames() and r.data_frames(), 10,
         "the message")
    m = j.messages()[0]
    data = base64.b64decode(m["data"]) if m.get("encoding") == "base64" \
        else None
    out("JSON subscriber: encoding %s, data %s" % (
        m.get("encoding"), "decodes to the body" if data == payload
        else "differs: %r" % m.get("data")))
    f = r.data_frames()[0]
    out("raw subscriber: %s frame, %s" % (
        f.opcode.name.lower(), "the body" if f.data == payload
        else "differs: %r" % f.data))
    for c in (j, r):
        c.abort()


@scenario
def format_raw(port, channel="fr"):
    """ws_perf_format raw: the payloads alone, nothing else."""
    ws = connect(port, "/wsraw?channels=" + channel)
    wait_subscribers(port, "channel=" + channel, 1)
    publish(port, {"channel": channel, "data": {"x": 1, "y": [True, None]}})
    publish(port, {"channel": channel, "data": "plain text", "id": "abc"})
    publish(port, {"channel": channel, "data": 42})
    publish(port, {"channel": channel, "data": "end"})
    pump([ws], lambda: any(f.data == b"end" for f in ws.data_frames())
         or ws.eof, 10, "end")
    obj = {"x": 1, "y": [True, None]}
    for f in ws.frames:
        try:
            same = json.loads(f.data) == obj
        except ValueError:
            same = False
        out("%s %s" % (f.opcode.name.lower(), "(the JSON of the object)"
                       if same else f.data.decode(errors="replace")))
    ws.abort()


# ------------------------------------------------------- slow consumers

@scenario
def backlog(port, unix, path="/wsbig", channel="bk", markers="5",
            backlog="262144", mode="separate", ping="0"):
    """A subscriber that stopped reading gets, once it reads again, what
    was in flight, then the queued messages highest priority first.

    mode=separate: one request of normal messages, then one of high, then
    one of critical; mode=array: one request with the three interleaved.
    ping=1: the stalled client also sends a ping; its pong is critical."""
    k = int(markers)
    s = connect(port, "%s?channels=%s" % (path, channel), unix=unix)
    wait_subscribers(port, "channel=" + channel, 1)
    lows = fill(port, s, channel, int(backlog))
    kb = s.unread()
    if mode == "array":
        publish(port, [{"channel": channel, "priority": p,
                        "data": {"k": p[0].upper(), "seq": i}}
                       for i in range(k) for p in ("normal", "high",
                                                   "critical")])
        settle(port)
    else:
        for prio in ("normal", "high", "critical"):
            burst(port, channel, prio, prio[0].upper(), k, pad="")
    if ping == "1":
        s.send_json({"type": "ping"})
        settle(port)
    still_full(s, kb)

    total = lows + 3 * k + (1 if ping == "1" else 0)
    pump([s], lambda: len(s.parsed) >= total or s.eof, 60, "every message")

    keys = []
    for _, m in s.parsed:
        d = m.get("data")
        if m.get("type") == "pong":
            keys.append(("P", 0))
        elif isinstance(d, dict) and "k" in d:
            keys.append((d["k"], d["seq"]))
        else:
            keys.append(("?", json.dumps(m)))
    name = {"L": "low", "N": "normal", "H": "high", "C": "critical",
            "P": "pong", "?": "other"}

    problems = []
    for tag, n in (("L", lows), ("N", k), ("H", k), ("C", k)):
        e = check_ledger(name[tag], [q for t, q in keys if t == tag],
                         list(range(n)))
        if e:
            problems.append(e)
    out(*problems) if problems else out(
        "every message once, in publish order within its priority")

    first = next((i for i, (t, _) in enumerate(keys) if t == "C"), None)
    if first is None:
        out("no critical message arrived")
        return
    prefix = sorted(set(t for t, _ in keys[:first]))
    out("before the first critical: " + " ".join(name[t] for t in prefix))
    order = []
    for t, _ in keys[first:]:
        if not order or order[-1][0] != t:
            order.append([t, 0])
        order[-1][1] += 1
    out("from it on: " + ", ".join(
        "%d %s" % (n, name[t]) if t in "NHC" else name[t]
        for t, n in order))
    out("low messages were still queued behind them: %s"
        % ("yes" if order[-1][0] == "L" else "no (nothing was backed up)"))
    s.abort()


def resume(s, what, cond, timeout=60):
    pump([s], cond, timeout, what)


@scenario
def overflow_low_first(port, unix, path="/wsq", channel="ofl",
                       qsize="65536"):
    """Room for newer messages is made by dropping the oldest queued low
    ones; normal and high messages are all kept."""
    q = int(qsize)
    s = connect(port, "%s?channels=%s" % (path, channel), unix=unix)
    wait_subscribers(port, "channel=" + channel, 1)
    lows = fill(port, s, channel, 2 * q)
    kb = s.unread()
    count = q // 4 // 1100
    burst(port, channel, "normal", "N", count)
    burst(port, channel, "high", "H", count)
    still_full(s, kb)

    resume(s, "every normal message",
           lambda: count_tag(s, "N") >= count or s.eof)
    wait_end(port, s, channel)
    keys, sizes = keyed(s)
    first = next(i for i, (t, _) in enumerate(keys) if t != "L")
    prefix = [n for t, n in keys[:first]]
    after = keys[first:]

    ascending = prefix == sorted(set(prefix)) and prefix[:1] == [0]
    out("before the first high: %s" % (
        "low, in publish order from the first" if ascending
        else "not the low ones in order: " + summary(keys[:first])))
    tags = []
    for t, _ in after:
        if not tags or tags[-1] != t:
            tags.append(t)
    out("then: " + " ".join({"L": "low", "N": "normal", "H": "high"}[t]
                            for t in tags))
    out("high: " + ("all %d, in order" % count
                    if [n for t, n in after if t == "H"] == list(range(count))
                    else summary(n for t, n in after if t == "H")))
    out("normal: " + ("all %d, in order" % count
                      if [n for t, n in after if t == "N"]
                      == list(range(count))
                      else summary(n for t, n in after if t == "N")))
    # Nginx sends its queue head first, so the oldest low message queued
    # comes right after those in flight: dropped to make room, it leaves a
    # gap there.  (The queue itself may have holes: while the kernel's
    # buffers still grew, a full queue dropped new messages, then took
    # later ones.)
    queued = [n for t, n in after if t == "L"]
    last_prefix = prefix[-1] if prefix else -1
    if not queued:
        out("low after them: none")
    else:
        out("low after them: in publish order: %s; the oldest queued dropped"
            " (a gap right after the ones in flight): %s; the newest dropped"
            " when the queue was full: %s" % (
                "yes" if queued == sorted(set(queued)) else "no",
                "yes" if queued[0] > last_prefix + 1 else "no",
                "yes" if queued[-1] < lows - 1 else "no"))
    qbytes = sum(sizes[first:])
    out("bytes queued behind the kernel's: %s" % (
        "within ws_perf_send_queue_size" if qbytes <= q
        else "%d, over %d" % (qbytes, q)))
    s.abort()


@scenario
def overflow_normal_before_high(port, unix, path="/wsq", channel="ofn",
                                qsize="65536"):
    """Once no low message is left to drop, room for a high message is
    made by dropping the oldest queued normal ones."""
    q = int(qsize)
    s = connect(port, "%s?channels=%s" % (path, channel), unix=unix)
    wait_subscribers(port, "channel=" + channel, 1)
    fill(port, s, channel, 2 * q)
    kb = s.unread()
    normals = q // 2 // 1100
    highs = 3 * q // 4 // 1100
    burst(port, channel, "normal", "N", normals)
    burst(port, channel, "high", "H", highs)
    still_full(s, kb)

    resume(s, "a high message", lambda: count_tag(s, "H") > 0 or s.eof)
    wait_end(port, s, channel)
    keys, sizes = keyed(s)
    first = next(i for i, (t, _) in enumerate(keys) if t != "L")
    after = keys[first:]
    tags = []
    for t, _ in after:
        if not tags or tags[-1] != t:
            tags.append(t)
    out("after the low ones in flight: " + " ".join(
        {"L": "low", "N": "normal", "H": "high"}[t] for t in tags))
    hs = [n for t, n in after if t == "H"]
    out("high: " + ("all %d, in order" % highs if hs == list(range(highs))
                    else summary(hs)))
    r = runs(n for t, n in after if t == "N")
    out("normal: %s" % (
        "the newest ones (the oldest dropped), in order"
        if len(r) == 1 and r[0][0] > 0 and r[0][1] == normals - 1
        else "%s of %d" % (r, normals)))
    qbytes = sum(sizes[first:])
    out("bytes queued behind the kernel's: %s" % (
        "within ws_perf_send_queue_size" if qbytes <= q
        else "%d, over %d" % (qbytes, q)))
    s.abort()


@scenario
def overflow_critical(port, unix, path="/wsq", channel="ofc",
                      qsize="65536"):
    """A critical message that cannot fit closes the stalled connection
    with 1008; what nginx had queued for it is not sent."""
    q = int(qsize)
    s = connect(port, "%s?channels=%s" % (path, channel), unix=unix)
    wait_subscribers(port, "channel=" + channel, 1)
    fill(port, s, channel, 2 * q)
    kb = s.unread()
    burst(port, channel, "high", "H", q // 2 // 1100)
    burst(port, channel, "critical", "C", 2 * q // 1100)
    still_full(s, kb)

    resume(s, "the close frame", lambda: s.close_code() is not None
           or s.eof)
    keys, _ = keyed(s)
    first = next((i for i, (t, _) in enumerate(keys) if t != "L"), None)
    out("messages received: %s" % (
        "only low ones that were in flight" if first is None
        else "also %s" % summary(keys[first:])))
    after_close = [f for f in s.frames[[f.opcode for f in s.frames].index(
        Opcode.CLOSE) + 1:]] if s.close_code() is not None else []
    out("then close %s%s" % (s.close_code(),
                             ", then more frames" if after_close else ""))
    pump([s], lambda: s.eof, 10, "EOF after the close frame")
    out("then EOF")
    s.abort()
    wait_subscribers(port, "channel=" + channel, 0)
    out("the channel has no subscriber left")


@scenario
def stalled_neighbour(port, unix, path="/wsq", channel="nb",
                      qsize="65536"):
    """A subscriber that stops reading, overflows and is closed never
    costs another subscriber of the channel a message."""
    q = int(qsize)
    s = connect(port, "%s?channels=%s" % (path, channel), unix=unix)
    h = connect(port, "%s?channels=%s" % (path, channel), unix=unix)
    wait_subscribers(port, "channel=" + channel, 2)

    plan = []
    rnd = random.Random(7)
    seq = {p: 0 for p in PRIOS}

    def send(prio, n):
        batch = []
        for _ in range(n):
            batch.append({"channel": channel, "priority": prio,
                          "data": {"k": prio, "seq": seq[prio], "pad": PAD}})
            plan.append((prio, seq[prio]))
            seq[prio] += 1
        publish(port, batch)
        # the healthy one must have everything so far before we go on
        pump([h], lambda: len(h.data_frames()) >= len(plan) or h.eof, 10,
             "the healthy subscriber to catch up")

    fill_published = 0
    prev = -1
    while True:
        send("low", 50)
        fill_published += 50 * 1100
        kb = s.unread()
        if kb == prev and fill_published - kb >= 2 * q:
            break
        if fill_published > (16 << 20):
            raise AssertionError("the stalled connection never backed up")
        prev = kb
    # random priorities until twice the queue's size in critical messages
    # went out: the stalled one cannot hold them and has been closed
    while sum(1 for p, _ in plan if p == "critical") * 1100 <= 2 * q:
        send(rnd.choice(PRIOS), 20)

    resume(s, "the close frame", lambda: s.close_code() is not None
           or s.eof)
    out("stalled subscriber: close %s" % s.close_code())
    send("normal", 1)
    problems = []
    got = [(k["k"], k["seq"]) for k in
           (json.loads(f.data)["data"] for f in h.data_frames())]
    for p in PRIOS:
        e = check_ledger(p, [n for t, n in got if t == p],
                         [n for t, n in plan if t == p])
        if e:
            problems.append(e)
    if len(got) != len(plan):
        problems.append("%d messages, %d published" % (len(got), len(plan)))
    out(*problems) if problems else out(
        "healthy subscriber: every message once, in publish order within"
        " each priority")
    s.abort()
    h.abort()


# ------------------------------------------------------------ over TLS

@scenario
def commands(port, path="/ws", user="alice"):
    """Every ws-perf.v1 command, and a message published over HTTP(S)."""
    ws = connect(port, "%s?user=%s&channels=room.1" % (path, user))
    out("handshake %s" % ws.status())

    def got(cond, what):
        pump([ws], lambda: any(cond(m) for m in ws.messages()) or ws.eof,
             10, what)
        return [m for m in ws.messages() if cond(m)]

    publish(port, {"channel": "room.1", "data": "over http"})
    got(lambda m: m.get("data") == "over http", "the published message")
    out("subscribed by the url: got the published message")

    r = command(ws, {"type": "ping"})
    out("ping: %s" % r.get("type"))
    r = command(ws, {"type": "sub", "channel": "room.2"})
    out("sub: %s %s" % (r.get("type"), r.get("channel")))
    publish(port, {"channel": "room.2", "data": "to room.2"})
    got(lambda m: m.get("data") == "to room.2", "a message to room.2")
    out("got a message to room.2")
    r = command(ws, {"type": "unsub", "channel": "room.2"})
    out("unsub: %s %s" % (r.get("type"), r.get("channel")))
    publish(port, {"channel": "room.2", "data": "after unsub"})
    r = command(ws, {"type": "pub", "channel": "room.1", "data": "from me"})
    out("pub: %s, id %s" % (r.get("type"), "given" if r.get("id")
                                                   else "missing"))
    m = got(lambda m: m.get("data") == "from me", "the client's message")
    out("the client's message came back with that id: %s"
        % (m[0].get("id") == r.get("id")))
    out("after unsub, nothing from room.2: %s"
        % (not any(m.get("data") == "after unsub" for m in ws.messages())))

    publish(port, {"user": user, "data": "ack me", "ack": True})
    m = got(lambda m: m.get("data") == "ack me", "a message asking an ack")
    out("a message asking an ack: ack %s" % m[0].get("ack"))
    r = command(ws, {"type": "ack", "id": m[0]["id"]})
    out("ack: %s, same id %s" % (r.get("type"), r.get("id") == m[0]["id"]))

    ids = publish(port, [{"channel": "room.1", "data": "h%d" % i}
                         for i in range(3)])["ids"]
    got(lambda m: m.get("data") == "h2", "three messages")
    n = len(ws.messages())
    ws.send_json({"type": "resume", "channel": "room.1", "since": ids[0]})
    pump([ws], lambda: any(m.get("type") == "resumed"
                           for m in ws.messages()[n:]) or ws.eof,
         10, "resumed")
    again = [m.get("id") for m in ws.messages()[n:] if m.get("type") == "msg"]
    done = [m for m in ws.messages()[n:] if m.get("type") == "resumed"][0]
    out("resume since the first: the other two again in order %s, %s"
        % (again == ids[1:], json.dumps(done, sort_keys=True)))

    start = time.monotonic()
    ws.close(1000)
    pump([ws], lambda: ws.eof, 10, "the end of the connection")
    out("close: the server answered %s and closed%s"
        % (ws.close_code(), " at once" if time.monotonic() - start < 1
           else " late (%.1fs)" % (time.monotonic() - start)))


@scenario
def slow_echo(port, path="/slow", size="65536", rcvbuf="4096", cap="64"):
    """A client with a small receive buffer sends without reading until
    the server stops taking its bytes (the server's writes are partial and
    its queue is full), then reads: every echo whole and in order."""
    size, cap = int(size), int(cap) << 20
    ws = wsclient.WS(port, path, rcvbuf=int(rcvbuf))
    pump([ws], lambda: ws.response is not None or ws.eof, 10, "handshake")
    out("handshake %s" % ws.status())
    sock = ws.sock
    sent = []
    pending = b""

    def write_some(wait):
        nonlocal pending
        if not select.select([], [sock], [], wait)[1]:
            return False
        try:
            n = sock.send(pending[:262144])
        except (BlockingIOError, ssl.SSLWantWriteError,
                ssl.SSLWantReadError):
            return True
        pending = pending[n:]
        return True

    while True:
        if not pending:
            if len(sent) * size > cap:
                raise AssertionError("the server took %d bytes unread"
                                     % (len(sent) * size))
            msg = bytes((i * 31 + len(sent)) & 0xFF for i in range(256))
            msg = (msg * (size // 256 + 1))[:size]
            sent.append(msg)
            ws.proto.send_binary(msg)
            pending = b"".join(ws.proto.data_to_send())
        # a second without taking anything: the server stopped reading
        if not write_some(1.0 * wsclient.SCALE):
            break
    out("the server stopped reading with %s in flight"
        % ("over 1 MiB" if len(sent) * size > (1 << 20) else "little"))

    deadline = time.monotonic() + 60 * wsclient.SCALE
    while len(ws.data_frames()) < len(sent) and not ws.eof:
        if time.monotonic() > deadline:
            raise Timeout("%d of %d echoes" % (len(ws.data_frames()),
                                               len(sent)))
        r, w, _ = select.select([sock], [sock] if pending else [], [], 0.25)
        if r:
            ws.readable()
        if w:
            write_some(0)
    echoes = [f.data for f in ws.data_frames()]
    out("every echo whole and in order: %s" % (echoes == sent))
    ws.close(1000)
    pump([ws], lambda: ws.eof, 10, "the end of the connection")
    out("close %s" % ws.close_code())


@scenario
def h2_publish(port, cacert, channel="room.h2"):
    """curl over HTTP/2 on the listener the WebSocket uses (HTTP/1.1)."""
    ws = connect(port, "/ws?channels=" + channel)
    out("websocket handshake %s" % ws.status())
    wait_subscribers(port, "channel=" + channel, 1)

    def curl(*args):
        r = subprocess.run(["curl", "-sS", "--http2", "--cacert", cacert,
                            "-w", "\n%{http_version} %{http_code}", *args],
                           capture_output=True, timeout=10 * wsclient.SCALE)
        return r.stdout.decode()

    r = curl("-X", "POST", "--data",
             json.dumps({"channel": channel, "data": "over h2"}),
             "https://127.0.0.1:%d/pub" % port)
    out("curl publish: HTTP/%s" % r.rsplit("\n", 1)[-1])
    pump([ws], lambda: any(m.get("data") == "over h2"
                           for m in ws.messages()) or ws.eof,
         10, "the message published over h2")
    out("the subscriber got it")
    r = curl("https://127.0.0.1:%d/pub?channel=%s" % (port, channel))
    body, status = r.rsplit("\n", 1)
    out("curl channel info: HTTP/%s, %d subscriber(s)"
        % (status, json.loads(body)["subscribers"]))
    r = curl("-H", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
             "-H", "Sec-WebSocket-Version: 13",
             "https://127.0.0.1:%d/echo" % port)
    out("curl websocket handshake: HTTP/%s %s"
        % (r.rsplit("\n", 1)[-1], r.split("\n", 1)[0]))
    ws.close(1000)
    pump([ws], lambda: ws.eof, 10, "the end of the connection")


@scenario
def going_away(port, pidfile):
    """A reload closes open connections with 1001, promptly; new ones
    reach the new workers."""
    e = connect(port, "/echo")
    p = connect(port, "/ws?channels=room.ga")
    out("handshakes %s %s" % (e.status(), p.status()))
    e.send_text("before")
    pump([e], lambda: e.data_frames() or e.eof, 10, "echo")
    r = command(p, {"type": "ping"})
    out("echo %r, ping %s" % (bytes(e.data_frames()[0].data).decode(),
                              r.get("type")))

    with open(pidfile) as f:
        os.kill(int(f.read()), signal.SIGHUP)
    start = time.monotonic()
    pump([e, p], lambda: e.eof and p.eof, 10, "both closed")
    took = time.monotonic() - start
    out("reload: echo closed with %s, pub/sub closed with %s%s"
        % (e.close_code(), p.close_code(),
           ", promptly" if took < 3 else ", after %.1fs" % took))

    n = connect(port, "/echo")
    n.send_text("after")
    pump([n], lambda: n.data_frames() or n.eof, 10, "echo after reload")
    out("a new connection after the reload: %s, echo %r"
        % (n.status(), bytes(n.data_frames()[0].data).decode()
           if n.data_frames() else None))
    n.close(1000)
    pump([n], lambda: n.eof, 10, "the end of the connection")


def _data_segments_in(sock):
    """segments with data that the kernel received on sock (tcp_info's
    tcpi_data_segs_in, at byte 152)"""
    import socket
    import struct
    raw = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 160)
    return struct.unpack_from("I", raw, 152)[0]


def _answers(sock, buf, want, deadline):
    """reads until buf holds want answers or the deadline passes"""
    while buf.count(b"HTTP/1.1 ") < want and time.monotonic() < deadline:
        r, _, _ = select.select([sock], [], [],
                                max(0, deadline - time.monotonic()))
        if not r:
            continue
        try:
            data = sock.recv(65536)
        except (BlockingIOError, ssl.SSLWantReadError):
            continue
        if not data:
            break
        buf += data
        if isinstance(sock, ssl.SSLSocket):
            while sock.pending():
                buf += sock.recv(65536)
    return buf


@scenario
def pipelined(port, path, n="20", part="0"):
    """n publishes written at once on one connection (a publisher
    pipelining), then, with part=1, two whole ones and the head of a third,
    whose answers must not wait for the rest of it.  Prints the answers
    and how many segments they came in."""
    import socket
    n = int(n)
    req = ("POST %s HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2\r\n"
           "\r\nhi" % path).encode()
    sock = socket.create_connection((wsclient.HOST, port), timeout=10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if wsclient.TLS:
        sock = wsclient.TLS.wrap_socket(sock, server_hostname="localhost")
    # one answer first: the handshake's segments are behind us
    sock.sendall(req)
    buf = _answers(sock, b"", 1, time.monotonic() + 10 * wsclient.SCALE)
    out("first answer: %s" % buf.split(b"\r\n", 1)[0].decode())
    before = _data_segments_in(sock)
    sock.sendall(req * n)
    buf = _answers(sock, b"", n, time.monotonic() + 10 * wsclient.SCALE)
    segs = _data_segments_in(sock) - before
    out("%d answers 202 of %d" % (buf.count(b"HTTP/1.1 202 "), n))
    out("in %s segments" % ("at most 3" if segs <= 3 else "%d" % segs))
    if part == "1":
        # the kernel lets a cork hold data for 200 ms: the answers to the
        # whole requests must come well before that
        sock.sendall(req * 2 + req[:20])
        t = time.monotonic()
        buf = _answers(sock, b"", 2, t + 10 * wsclient.SCALE)
        took = time.monotonic() - t
        out("2 whole and a part: %d answers, %s" % (
            buf.count(b"HTTP/1.1 202 "),
            "not held back" if took < 0.15 * wsclient.SCALE
            else "held back %.0f ms" % (took * 1000)))
        sock.sendall(req[20:])
        buf = _answers(sock, b"", 1, time.monotonic() + 10 * wsclient.SCALE)
        out("the rest: %d answer" % buf.count(b"HTTP/1.1 202 "))
    sock.close()


@scenario
def pipelined_upgrade(port, pub, ws):
    """a publish and a WebSocket handshake written at once: the corked 202
    and the 101 both come, and so does a message published afterwards,
    none held back by a cork (the kernel lets one hold data 200 ms)"""
    import socket
    head = ("POST %s HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2\r\n"
            "\r\nhi" % pub).encode()
    key = base64.b64encode(os.urandom(16)).decode()
    up = ("GET %s HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"
          "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
          "Sec-WebSocket-Version: 13\r\n\r\n" % (ws, key)).encode()
    sock = socket.create_connection((wsclient.HOST, port), timeout=10)
    if wsclient.TLS:
        sock = wsclient.TLS.wrap_socket(sock, server_hostname="localhost")
    t = time.monotonic()
    sock.sendall(head + up)
    buf = _answers(sock, b"", 2, t + 10 * wsclient.SCALE)
    took = time.monotonic() - t
    out("answers: %s" % ", ".join(
        x.split(b"\r\n", 1)[0].decode()
        for x in buf.split(b"HTTP/1.1 ")[1:] for x in [b"HTTP/1.1 " + x]))
    out("the 202 and the 101 %s" % ("not held back" if took < 0.15 *
                                     wsclient.SCALE else
                                     "held back %.0f ms" % (took * 1000)))
    channel = ws.split("channels=", 1)[1]
    wait_subscribers(port, "channel=" + channel, 1)
    t = time.monotonic()
    publish(port, {"channel": channel, "data": "after-the-cork"})
    tail = buf.split(b"\r\n\r\n", 2)[-1]
    while b"after-the-cork" not in tail and \
            time.monotonic() - t < 10 * wsclient.SCALE:
        r, _, _ = select.select([sock], [], [], 0.05)
        if r:
            data = sock.recv(65536)
            if not data:
                break
            tail += data
    took = time.monotonic() - t
    out("message %s" % ("missing" if b"after-the-cork" not in tail else
                        "not held back" if took < 0.15 * wsclient.SCALE
                        else "held back %.0f ms" % (took * 1000)))
    sock.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--tls", metavar="CERT",
                    help="wss:// and https://, verified against CERT")
    ap.add_argument("--slow", type=float, default=1,
                    help="multiply every deadline (nginx under valgrind)")
    ap.add_argument("scenario", choices=sorted(SCENARIOS))
    ap.add_argument("args", nargs="*", help="key=value")
    a = ap.parse_args()
    kw = dict(x.split("=", 1) for x in a.args)
    wsclient.SCALE = a.slow
    if a.tls:
        wsclient.TLS = wsclient.tls_context(a.tls)
    try:
        SCENARIOS[a.scenario](a.port, **kw)
    except Exception as e:
        traceback.print_exc()
        out("FAILED: %s: %s" % (type(e).__name__, e))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
