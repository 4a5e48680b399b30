#!/usr/bin/python3
"""EventSource scenarios for t/220-sse.t, run like client.py:

    sse.py --port N SCENARIO [key=value ...]

The stream is read with a parser of its own, written from the
text/event-stream rules of the HTML standard (fields "id", "event",
"data", comment lines, CR / LF / CRLF line ends), not from the module's
code.  Every wait has a deadline.
"""

import json
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import time

sys.dont_write_bytecode = True      # no __pycache__ in the source tree
import client                       # noqa: E402
import wsclient                     # noqa: E402
from client import out, scenario, summary    # noqa: E402
from wsclient import (Timeout, info, publish, pump, request,  # noqa: E402
                      wait_subscribers)


class SSE:
    """One event stream: the response head, then the events as dicts
    {"id", "event", "data"} in self.events, comments in self.comments."""

    def __init__(self, port, path, headers=(), version="1.1", rcvbuf=None,
                 extra=b"", unix=None):
        """unix: the path of a unix socket nginx listens on (a fixed
        amount in the kernel's buffers), instead of the TCP port"""
        if unix:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            addr = unix
        else:
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            addr = (wsclient.HOST, port)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(10 * wsclient.SCALE)
        self.sock.connect(addr)
        self.tls = wsclient.TLS is not None and not unix
        if self.tls:
            self.sock = wsclient.TLS.wrap_socket(
                self.sock, server_hostname=wsclient.HOST)
        req = "GET %s HTTP/%s\r\nHost: localhost\r\n" % (path, version)
        req += "Accept: text/event-stream\r\n"
        for k, v in headers:
            req += "%s: %s\r\n" % (k, v)
        self.sock.sendall(req.encode() + b"\r\n" + extra)
        self.sock.setblocking(False)
        self.buf = b""
        self.status = None
        self.headers = {}
        self.body = b""         # of a response that is not a stream
        self.events = []
        self.comments = []
        self.last_id = ""       # as an EventSource keeps it
        self.eof = False
        self.bytes_in = 0
        self._event = {"data": [], "event": None}

    def fileno(self):
        return self.sock.fileno()

    def readable(self, limit=262144):
        try:
            data = self.sock.recv(limit)
            while self.tls and data and self.sock.pending():
                data += self.sock.recv(self.sock.pending())
        except (BlockingIOError, InterruptedError, ssl.SSLWantReadError):
            return
        except (ConnectionResetError, ssl.SSLEOFError):
            data = b""
        if not data:
            self.eof = True
            return
        self.bytes_in += len(data)
        self.buf += data
        if self.status is None:
            self._head()
        if self.status == 200:
            self._lines()
        elif self.status is not None:
            self.body += self.buf
            self.buf = b""

    def _head(self):
        end = self.buf.find(b"\r\n\r\n")
        if end < 0:
            return
        lines = self.buf[:end].decode("latin-1").split("\r\n")
        self.buf = self.buf[end + 4:]
        self.status = int(lines[0].split()[1])
        for line in lines[1:]:
            k, _, v = line.partition(":")
            self.headers[k.strip().lower()] = v.strip()

    def _lines(self):
        while True:
            m = re.search(rb"\r\n|\r|\n", self.buf)
            # a lone CR at the end may be the start of a CRLF
            if m is None or (m.group() == b"\r" and m.end() == len(self.buf)):
                return
            line = self.buf[:m.start()].decode("utf-8")
            self.buf = self.buf[m.end():]
            self._line(line)

    def _line(self, line):
        ev = self._event
        if line == "":
            if ev["data"]:
                e = {"id": self.last_id, "event": ev["event"] or "message",
                     "data": "\n".join(ev["data"])}
                self.events.append(e)
            self._event = {"data": [], "event": None}
            return
        if line.startswith(":"):
            self.comments.append(line[1:].strip())
            return
        field, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if field == "data":
            ev["data"].append(value)
        elif field == "event":
            ev["event"] = value
        elif field == "id" and "\0" not in value:
            self.last_id = value

    def msgs(self):
        """(event, envelope) of the message events"""
        got = []
        for e in self.events:
            try:
                v = json.loads(e["data"])
            except ValueError:
                v = {"type": "NOT-JSON", "text": e["data"]}
            if v.get("type") == "msg":
                got.append((e, v))
        return got

    def of_type(self, t):
        return [json.loads(e["data"]) for e in self.events if e["event"] == t]

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def stream(port, path, headers=(), timeout=10, **kw):
    """A stream whose response head has arrived"""
    s = SSE(port, path, headers, **kw)
    pump([s], lambda: s.status is not None or s.eof, timeout,
         "the response to " + path)
    return s


def pub(port, target, name, data, priority="normal"):
    body = {target: name, "data": data, "priority": priority}
    return publish(port, body)["ids"][0]


def wait_events(s, n, what, timeout=10):
    pump([s], lambda: len(s.events) >= n, timeout, what)


# ----------------------------------------------------------- scenarios

@scenario
def deliver(port, path="/sse"):
    """Channels and a user on one stream: ids, event types, the JSON
    envelope as data, the response head a proxy needs."""
    s = stream(port, path + "?channels=a,b&user=eve")
    out("status %s, %s" % (s.status, s.headers.get("content-type")))
    out("cache-control: %s, x-accel-buffering: %s" % (
        s.headers.get("cache-control"), s.headers.get("x-accel-buffering")))
    wait_subscribers(port, "channel=a", 1)
    wait_subscribers(port, "channel=b", 1)
    wait_subscribers(port, "user=eve", 1)
    sent = [
        ("channel", "a", "one", "normal"),
        ("channel", "b", {"x": [1, 2]}, "high"),
        ("channel", "a", "three", "low"),
        ("user", "eve", "four", "critical"),
        ("channel", "b", "line\nbreak", "normal"),
    ]
    ids = [pub(port, t, n, d, p) for t, n, d, p in sent]
    wait_events(s, len(sent), "the messages")
    # a queue sends higher priorities first: matched by target and id (ids
    # are unique per target), not by order; a stream of several targets
    # has its positions as the event's id, the target's part the message's
    order = ["a", "b", "eve"]
    got = {(v.get("channel", v.get("user")),
            e["id"].split(",")[order.index(v.get("channel", v.get("user")))]):
           (e, v) for e, v in s.msgs()}
    ok = len(got) == len(sent) == len(s.events)
    for (t, n, d, p), i in zip(sent, ids):
        e, v = got.get((n, i), ({}, {}))
        want_event = "message" if p == "normal" else p
        if (v.get("id") != i or e.get("event") != want_event
                or v.get(t) != n or v.get("data") != d
                or v.get("priority") != p):
            ok = False
            out("mismatch: sent %s %s %r %s id %s, got %r" % (
                t, n, d, p, i, e))
    out("%d messages, each with its id, event type and envelope: %s" % (
        len(got), "yes" if ok else "no"))
    out("last id as an EventSource keeps it is the last event's: %s" % (
        s.last_id == s.events[-1]["id"] != ""))
    s.close()
    wait_subscribers(port, "channel=a", 0)
    wait_subscribers(port, "user=eve", 0)
    out("a closed stream leaves its channels and user: yes")


@scenario
def ping(port, path="/sse"):
    """Comment lines at the ping interval keep an idle stream alive."""
    s = stream(port, path + "?channels=p")
    pump([s], lambda: len(s.comments) >= 2, 10, "two comment lines")
    out("comments: %s, events: %d" % (summary(set(s.comments)),
                                      len(s.events)))
    s.close()


@scenario
def resume(port, path="/sse", channel="r", history="5"):
    """Last-Event-ID: what came after it, then "resumed"; a gap event
    first when the history no longer reaches back; then live messages."""
    keep = int(history)
    first = [pub(port, "channel", channel, "m%d" % i) for i in range(3)]
    s = stream(port, path + "?channels=" + channel,
               headers=[("Last-Event-ID", first[0])])
    pump([s], lambda: s.of_type("resumed"), 10, "resumed")
    data = [v["data"] for _, v in s.msgs()]
    out("after the first of 3: %s; gap events: %d; resumed count %s" % (
        summary(data), len(s.of_type("gap")),
        s.of_type("resumed")[0]["count"]))
    live = pub(port, "channel", channel, "live")
    wait_events(s, len(s.events) + 1, "the live message")
    out("then live: %s, id %s" % (s.msgs()[-1][1]["data"],
                                   s.msgs()[-1][0]["id"] == live))
    s.close()
    wait_subscribers(port, "channel=" + channel, 0)

    more = [pub(port, "channel", channel, "n%d" % i) for i in range(keep + 3)]
    s = stream(port, path + "?channels=" + channel,
               headers=[("Last-Event-ID", first[0])])
    pump([s], lambda: s.of_type("resumed"), 10, "resumed")
    order = [e["event"] for e in s.events]
    gaps = s.of_type("gap")
    data = [v["data"] for _, v in s.msgs()]
    out("events in order: %s" % summary(
        [k for i, k in enumerate(order) if i == 0 or order[i - 1] != k]))
    out("gap since the Last-Event-ID: %s, last is the newest: %s" % (
        bool(gaps) and gaps[0]["since"] == first[0],
        bool(gaps) and gaps[0]["last"] == more[-1]))
    out("kept: %d, the newest %d in order: %s" % (
        len(data), keep, data == ["n%d" % i for i in range(3, keep + 3)]))
    s.close()


@scenario
def bounded(port, unix, path="/sseq", channel="q", size="4000", n="400"):
    """A client that stops reading: its queue holds at most the bound
    (low messages are shed, counted), the others are not held up, and
    once it reads again it gets the newest in order."""
    size, n = int(size), int(n)
    slow = stream(port, path + "?channels=" + channel, unix=unix)
    fast = stream(port, "/sse?channels=" + channel)
    wait_subscribers(port, "channel=" + channel, 2)
    pad = "x" * size
    ids = []
    for i in range(0, n, 50):
        batch = [{"channel": channel, "data": "%d %s" % (j, pad),
                  "priority": "low"} for j in range(i, min(i + 50, n))]
        ids += publish(port, batch)["ids"]
        pump([fast], lambda: len(fast.events) >= len(ids), 20,
             "the fast reader's events")
    out("the reading stream got all %d: %s" % (n, [e["id"] for e in
                                                   fast.events] == ids))
    st, _, body = request(port, "GET", "/status?format=json")
    dropped = json.loads(body)["messages"]["dropped_by_priority"]["low"]
    out("low messages dropped for the stalled stream: %s" % (
        dropped >= n // 2))
    # a low message that finds the queue full is dropped itself; a high
    # one takes the place of the oldest low ones and leaves before them
    mark = pub(port, "channel", channel, "-1 mark", "high")
    pump([slow], lambda: any(e["id"] == mark for e in slow.events), 20,
         "the stalled stream's high message")
    end = pub(port, "channel", channel, "%d end" % n, "low")
    pump([slow], lambda: slow.events[-1]["id"] == end, 20,
         "the stalled stream's last message")
    got = [int(v["data"].split()[0]) for _, v in slow.msgs()]
    low = [i for i in got if 0 <= i < n]
    out("then it got %s of the %d low ones, in order: %s; the high one "
        "too: %s" % ("fewer" if len(low) < n else "all", n,
                     low == sorted(set(low)), -1 in got))
    slow.close()
    fast.close()


@scenario
def stalled(port, unix, path="/sseq", channel="st", size="4000", n="100"):
    """A client that never reads is closed after ws_perf_idle_timeout
    while its queue is not empty: its subscription goes."""
    slow = stream(port, path + "?channels=" + channel, unix=unix)
    wait_subscribers(port, "channel=" + channel, 1)
    pad = "x" * int(size)
    publish(port, [{"channel": channel, "data": pad}
                   for _ in range(int(n))])
    t0 = time.monotonic()
    wait_subscribers(port, "channel=" + channel, 0, timeout=20)
    out("the stream that reads nothing is gone: yes")
    out("not before the idle timeout: %s" % (time.monotonic() - t0 >= 0.8))
    slow.close()


@scenario
def critical_overflow(port, unix, path="/sseq", channel="co",
                      size="3000"):
    """A critical message that cannot fit closes the stream, as it closes
    a WebSocket (with 1008)."""
    slow = stream(port, path + "?channels=" + channel, unix=unix)
    wait_subscribers(port, "channel=" + channel, 1)
    pad = "x" * int(size)
    for _ in range(40):
        if info(port, "channel=" + channel)["subscribers"] == 0:
            break
        publish(port, [{"channel": channel, "data": pad,
                        "priority": "critical"} for _ in range(20)])
    wait_subscribers(port, "channel=" + channel, 0)
    pump([slow], lambda: slow.eof, 20, "the end of the stream")
    out("the stream is closed at its end: yes")
    slow.close()


@scenario
def hostile(port, path="/sse"):
    """Requests a stream refuses, each with its status; a client that
    writes after its request does not disturb the stream."""
    cases = [
        ("Last-Event-ID garbage", [("Last-Event-ID", "a b\x01")], "1.1"),
        ("two Last-Event-IDs", [("Last-Event-ID", "1"),
                                ("Last-Event-ID", "2")], "1.1"),
        ("a Last-Event-ID of 65 characters", [("Last-Event-ID", "1" * 65)],
         "1.1"),
        ("a huge header", [("X-Big", "y" * 70000)], "1.1"),
    ]
    for what, headers, version in cases:
        s = stream(port, path + "?channels=h", headers=headers,
                   version=version)
        out("%s: %s" % (what, s.status if s.status else "closed"))
        s.close()
    st, hd, body = request(port, "POST", path + "?channels=h", body="x")
    out("POST: %d, Allow: %s" % (st, hd.get("allow")))
    st, hd, body = request(port, "GET", path)
    out("no channel: %d %s" % (st, body.decode().strip()))
    st, hd, body = request(port, "GET", path + "?channels=a%20b")
    out("bad channel name: %d" % st)
    st, hd, body = request(port, "GET", path + "?channels=h",
                           headers={"Content-Length": "3"}, body="abc")
    out("a body: %d" % st)

    s = stream(port, path + "?channels=h", headers=[("Origin",
                                                     "http://elsewhere")])
    out("a foreign Origin: %s" % s.status)
    s.close()
    s = stream(port, path + "?channels=h", headers=[("Origin",
                                                     "http://localhost")])
    out("the host's Origin: %s, Access-Control-Allow-Origin: %s" % (
        s.status, s.headers.get("access-control-allow-origin")))
    s.close()
    s = stream(port, path + "?channels=h",
               headers=[("Last-Event-ID", "not-an-id")])
    wait_events(s, 1, "the answer to an id the server did not number")
    out("an id the server did not number: %s, then %s" % (
        s.events[0]["event"], json.loads(s.events[0]["data"])["code"]))
    wait_subscribers(port, "channel=h", 1)
    pub(port, "channel", "h", "live after it")
    wait_events(s, 2, "a live message after the error")
    out("the stream goes on: %s" % s.msgs()[0][1]["data"])
    s.close()
    wait_subscribers(port, "channel=h", 0)

    one = stream(port, path + "?user=solo")
    two = stream(port, path + "?user=solo")
    out("a second stream of a user with ws_perf_max_connections_per_user "
        "1: %s %s" % (one.status, two.status))
    one.close()
    two.close()

    old = stream(port, path + "?channels=h&x=old", version="1.0",
                 extra=b"GET / HTTP/1.1\r\n\r\n" + b"\0garbage" * 1000)
    wait_subscribers(port, "channel=h", 1)
    pub(port, "channel", "h", "to 1.0")
    wait_events(old, 1, "the HTTP/1.0 stream's message")
    out("HTTP/1.0: %s %s, connection: %s, got %s" % (
        old.status, old.headers.get("content-type"),
        old.headers.get("connection"), old.msgs()[0][1]["data"]))
    old.sock.sendall(b"more bytes after the request\r\n" * 100)
    pub(port, "channel", "h", "still")
    wait_events(old, 2, "a message after the client wrote")
    out("after the client wrote: %s" % old.msgs()[1][1]["data"])
    old.sock.shutdown(socket.SHUT_WR)
    pump([old], lambda: old.eof, 10, "the end of the stream")
    wait_subscribers(port, "channel=h", 0)
    out("a client that half-closes ends its stream: yes")
    old.close()


def _by_target(s):
    """{target name: [data, ...]} of the stream's messages, in order"""
    got = {}
    for _, v in s.msgs():
        got.setdefault(v.get("channel", v.get("user")), []).append(v["data"])
    return got


def _streams_gone(port, targets):
    for t, n in targets:
        wait_subscribers(port, "%s=%s" % (t, n), 0)


@scenario
def positions(port, path="/sse", a="pa", b="pb", user="pu", history="5"):
    """A stream of two channels and a user: each event's id is the
    stream's positions (the last id queued on each target, channels in
    the order given, then the user); a reconnect with the last id seen
    resumes every target exactly, gap only where the history no longer
    reaches back; an empty part is a target not resumed."""
    keep = int(history)
    targets = [("channel", a), ("channel", b), ("user", user)]
    url = "%s?channels=%s,%s&user=%s" % (path, a, b, user)
    # the counters differ: a's runs ahead of b's (Redis numbers each one)
    for i in range(3):
        pub(port, "channel", a, "early%d" % i)

    s = stream(port, url)
    for t, n in targets:
        wait_subscribers(port, "%s=%s" % (t, n), 1)
    # one at a time: a cluster may bring two channels' messages in any order
    ia = pub(port, "channel", a, "a1")
    wait_events(s, 1, "the first message")
    ib = pub(port, "channel", b, "b1")
    wait_events(s, 2, "the second message")
    iu = pub(port, "user", user, "u1")
    wait_events(s, 3, "the third message")
    out("ids are the positions: %s" % (
        [e["id"] for e in s.events]
        == [ia + ",,", ia + "," + ib + ",", ",".join([ia, ib, iu])]))
    last = s.last_id
    s.close()
    _streams_gone(port, targets)

    away = [("channel", a, "a2"), ("user", user, "u2"), ("channel", a, "a3"),
            ("channel", b, "b2"), ("user", user, "u3")]
    ids = {d: pub(port, t, n, d) for t, n, d in away}
    s = stream(port, url, headers=[("Last-Event-ID", last)])
    pump([s], lambda: len(s.of_type("resumed")) == 3, 10, "3 resumed")
    got = _by_target(s)
    out("resumed from the positions: %s %s, %s %s, %s %s; gaps %d" % (
        a, summary(got.get(a, [])), b, summary(got.get(b, [])),
        user, summary(got.get(user, [])), len(s.of_type("gap"))))
    out("after the resume the id holds the newest of each: %s" % (
        s.last_id == ",".join([ids["a3"], ids["b2"], ids["u3"]])))
    ib3 = pub(port, "channel", b, "b3")
    wait_events(s, len(s.events) + 1, "a live message")
    out("live: %s, id %s" % (
        s.msgs()[-1][1]["data"],
        s.last_id == ",".join([ids["a3"], ib3, ids["u3"]])))
    last = s.last_id
    s.close()
    _streams_gone(port, targets)

    more = [pub(port, "channel", a, "x%d" % i) for i in range(keep + 3)]
    iu4 = pub(port, "user", user, "u4")
    s = stream(port, url, headers=[("Last-Event-ID", last)])
    pump([s], lambda: len(s.of_type("resumed")) == 3, 10, "3 resumed")
    got = _by_target(s)
    gaps = s.of_type("gap")
    out("%s's history no longer reaches back: gaps %s, since its own "
        "position: %s, last %s" % (
            a, summary([g.get("channel", g.get("user")) for g in gaps]),
            bool(gaps) and gaps[0].get("since") == last.split(",")[0],
            bool(gaps) and gaps[0].get("last") == more[-1]))
    out("then %s the newest %d: %s; %s: %s; %s: %s" % (
        a, keep, got.get(a) == ["x%d" % i for i in range(3, keep + 3)],
        b, summary(got.get(b, [])), user, summary(got.get(user, []))))
    out("id: %s" % (s.last_id == ",".join([more[-1], ib3, iu4])))
    s.close()
    _streams_gone(port, targets)

    pub(port, "channel", a, "a9")
    ib9 = pub(port, "channel", b, "b9")
    pub(port, "user", user, "u8")
    s = stream(port, url, headers=[("Last-Event-ID", ",%s,%s" % (ib3, iu4))])
    pump([s], lambda: len(s.of_type("resumed")) == 2, 10, "2 resumed")
    iu9 = pub(port, "user", user, "u9")
    wait_events(s, len(s.events) + 1, "a live message")
    got = _by_target(s)
    out("an empty part is not resumed: resumed %s; %s %s, %s %s, %s %s" % (
        summary(sorted(r.get("channel", r.get("user"))
                       for r in s.of_type("resumed"))),
        a, summary(got.get(a, [])), b, summary(got.get(b, [])),
        user, summary(got.get(user, []))))
    out("its part stays empty: %s" % (
        s.last_id == ",".join(["", ib9, iu9])))
    s.close()


@scenario
def positions_hostile(port, path="/sse", a="ha", b="hb"):
    """Last-Event-ID values a stream of two channels refuses (400, the
    reason said) or takes"""
    two = "%s?channels=%s,%s" % (path, a, b)
    i = pub(port, "channel", a, "h1")
    cases = [
        ("three parts for two", two, "%s,%s,%s" % (i, i, i)),
        ("one part of garbage", two, "%s,a b" % i),
        ("a part of 65 characters", two, "%s,%s" % (i, "1" * 65)),
        ("commas only, over the bound", two, "," * 200),
        ("two parts for one channel", path + "?channels=" + a, i + ","),
        ("a repeated channel is one target", "%s?channels=%s,%s,%s" % (
            path, a, b, a), "%s,%s,%s" % (i, i, i)),
    ]
    for what, url, last_id in cases:
        st, _, body = request(port, "GET", url,
                              headers={"Last-Event-ID": last_id})
        out("%s: %d %s" % (what, st, body.decode().strip()))
    for what, last_id in [("one id", i), ("two empty parts", ","),
                          ("a repeated channel, two parts", i + ",")]:
        url = two if what != "a repeated channel, two parts" else \
            "%s?channels=%s,%s,%s" % (path, a, b, a)
        s = stream(port, url, headers=[("Last-Event-ID", last_id)])
        out("%s: %s" % (what, s.status))
        s.close()


@scenario
def positions_shed(port, unix, path="/sseb", a="sq", b="so", size="4000",
                   n="400"):
    """A stream of two channels that stops reading: low messages are shed
    from its queue as from any stream's, each event that leaves carries
    the positions of what was queued up to it (the other channel's stays),
    and the send queue's bytes go back to nothing."""
    size, n = int(size), int(n)
    q = "?channels=%s,%s" % (a, b)
    slow = stream(port, path + q, unix=unix)
    fast = stream(port, "/sse" + q)
    wait_subscribers(port, "channel=" + a, 2)
    wait_subscribers(port, "channel=" + b, 2)
    other = pub(port, "channel", b, "other")
    pump([fast, slow], lambda: fast.events and slow.events, 10,
         "the other channel's message")
    pad = "x" * size
    ids = []
    for i in range(0, n, 50):
        batch = [{"channel": a, "data": "%d %s" % (j, pad),
                  "priority": "low"} for j in range(i, min(i + 50, n))]
        ids += publish(port, batch)["ids"]
        pump([fast], lambda: len(fast.events) >= len(ids) + 1, 20,
             "the fast reader's events")
    out("the reading stream got all %d, each id its positions: %s" % (
        n, [e["id"] for e in fast.events[1:]]
        == ["%s,%s" % (i, other) for i in ids]))
    mark = pub(port, "channel", a, "-1 mark", "high")
    pump([slow], lambda: any(v["id"] == mark for _, v in slow.msgs()), 20,
         "the stalled stream's high message")
    end = pub(port, "channel", a, "%d end" % n, "low")
    pump([slow], lambda: slow.msgs()[-1][1]["id"] == end, 20,
         "the stalled stream's last message")
    got = [(e["id"], v) for e, v in slow.msgs()[1:]]
    low = [int(v["data"].split()[0]) for _, v in got
           if v["priority"] == "low"]
    out("the stalled one got fewer of the low ones, in order: %s" % (
        len(low) < n + 1 and low == sorted(set(low))))
    out("its ids are the positions of what was queued up to each: %s" % all(
        i.split(",") == [v["id"], other] for i, v in got))
    out("the high one carries its own: %s" % any(
        v["id"] == mark and i == "%s,%s" % (mark, other) for i, v in got))
    slow.close()
    fast.close()
    wait_subscribers(port, "channel=" + a, 0)
    st, _, body = request(port, "GET", "/status?format=json")
    out("send queues hold nothing after: %s" % (
        json.loads(body)["send_queue"]["bytes"] == 0))


@scenario
def reload(port, pidfile, path="/sse"):
    """A reload ends the streams of the old workers at once (a browser
    reconnects to the new ones); a new stream works."""
    s = stream(port, path + "?channels=rl")
    wait_subscribers(port, "channel=rl", 1)
    with open(pidfile) as f:
        os.kill(int(f.read()), signal.SIGHUP)
    start = time.monotonic()
    pump([s], lambda: s.eof, 10, "the end of the stream")
    out("reload: the stream ended%s" % (
        ", promptly" if time.monotonic() - start < 3 else ", late"))
    s.close()
    deadline = time.monotonic() + 10 * wsclient.SCALE
    while True:
        n = stream(port, path + "?channels=rl")
        try:
            wait_subscribers(port, "channel=rl", 1, timeout=1)
            break
        except Timeout:
            # answered by an old worker on its way out
            n.close()
            if time.monotonic() > deadline:
                raise
    pub(port, "channel", "rl", "after")
    wait_events(n, 1, "a message after the reload")
    out("a new stream after the reload: %s, got %s" % (
        n.status, n.msgs()[0][1]["data"]))
    n.close()


@scenario
def h2(port, unix, path="/sse"):
    """HTTP/2 (h2c here, over a unix socket) is refused with 505"""
    r = subprocess.run(["curl", "-s", "--http2-prior-knowledge",
                        "--max-time", str(int(10 * wsclient.SCALE)),
                        "--unix-socket", unix, "-o", "/dev/null",
                        "-w", "%{http_version} %{http_code}",
                        "http://localhost%s?channels=x" % path],
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    out("HTTP/%s" % r.stdout.decode())


@scenario
def curl(port, path="/sse", channel="c"):
    """curl -N: what an unbuffered HTTP client prints"""
    url = "http://127.0.0.1:%d%s?channels=%s" % (port, path, channel)
    p = subprocess.Popen(["curl", "-sN", "--max-time",
                          str(int(20 * wsclient.SCALE)), url],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        wait_subscribers(port, "channel=" + channel, 1)
        i = pub(port, "channel", channel, "via curl", "high")
        text = b""
        deadline = time.monotonic() + 10 * wsclient.SCALE
        os.set_blocking(p.stdout.fileno(), False)
        while b"\n\n" not in text and time.monotonic() < deadline:
            chunk = p.stdout.read()
            if chunk:
                text += chunk
            else:
                time.sleep(0.02)
        lines = text.decode().split("\n")
        out("curl printed: %s" % " | ".join(
            re.sub(r"\d{13}", "<ts>", l.replace(i, "<id>"))
            for l in lines[:3]))
    finally:
        p.kill()
        p.wait()
    wait_subscribers(port, "channel=" + channel, 0)
    out("curl gone, its stream too: yes")


@scenario
def chromium(port, page="/es.html"):
    """A page in headless Chromium (t/interop/chromium_echo.js drives it)
    holds an EventSource; what the page logs is printed."""
    top = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                       "..")
    env = dict(os.environ,
               NODE_PATH=os.path.join(top, "build", "npm", "node_modules"))
    try:
        r = subprocess.run(["node", os.path.join(top, "t", "interop",
                                                 "chromium_echo.js"),
                            "http://127.0.0.1:%d%s" % (port, page)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           stdin=subprocess.DEVNULL, env=env,
                           timeout=90 * wsclient.SCALE)
    except subprocess.TimeoutExpired:
        out("chromium: no verdict within 90 s")
        return
    sys.stdout.write(r.stdout.decode(errors="replace"))
    if r.returncode:
        sys.stderr.write(r.stderr.decode(errors="replace")[-3000:])
        out("chromium exit status %d" % r.returncode)


if __name__ == "__main__":
    sys.exit(client.main())
