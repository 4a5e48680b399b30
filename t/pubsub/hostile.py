#!/usr/bin/python3
"""Scenarios of t/407-redis-hostile.t: a Redis that answers what no Redis
should, run like client.py:

    hostile.py --port N SCENARIO [key=value ...]

The scenarios with a fake Redis (t/pubsub/fakeredis.py) start it on
$TEST_NGINX_FAKE_REDIS_PORT, where nginx is told to connect, and wait for
both links.  Each case checks that the worker survives (the same pid
answers and no signal is logged), what the bad reply costs (the answer
the client gets, the [error] lines, whether a link was replaced) and that
a subscriber still gets a message published afterwards.
"""

import json
import os
import re
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True      # no __pycache__ in the source tree
import client                       # noqa: E402
import redis as rd                  # noqa: E402
from client import out, scenario    # noqa: E402
from fakeredis import FakeRedis, array, bulk, integer  # noqa: E402
from wsclient import Timeout, connect, pump, request  # noqa: E402


FAKE_PORT = int(os.environ.get("TEST_NGINX_FAKE_REDIS_PORT", "7702"))
LOG = os.path.join(os.environ.get("TEST_NGINX_SERVER_ROOT", "t/servroot"),
                   "logs", "error.log")
PREFIX = b"ws_perf:"


# ---------------------------------------------------------------- helpers

class ErrorLog:
    """The lines nginx logs from now on."""

    def __init__(self):
        self.pos = os.path.getsize(LOG) if os.path.exists(LOG) else 0

    def lines(self):
        with open(LOG, "rb") as f:
            f.seek(self.pos)
            return f.read().decode("latin-1").splitlines()

    def count(self, pattern):
        return sum(1 for line in self.lines() if re.search(pattern, line))


def wait_for(cond, what, timeout=10):
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise Timeout(what)
        time.sleep(0.02)


def healthy(port):
    return request(port, "GET", "/health")[0] == 200


def worker_pid(port):
    return request(port, "GET", "/pid")[2].decode().strip()


class Setup:
    """The fake Redis, both links up, a subscriber of "calm"."""

    def __init__(self, port, password=None, channels="calm"):
        self.port = port
        self.fake = FakeRedis(FAKE_PORT, password=password).start()
        wait_for(lambda: healthy(port), "both redis links up")
        self.pid = worker_pid(port)
        self.ws = connect(port, "/ws?channels=" + channels)
        for ch in channels.split(","):
            self.fake.wait("SUBSCRIBE *%s%s*" % ("ws_perf:ch:", ch))
        self.n = 0

    def links(self):
        return (self.fake.count("FUNCTION LOAD *"), self.fake.count("PING"))

    def data(self, ws=None):
        return [m.get("data") for m in (ws or self.ws).messages()
                if m.get("type") == "msg"]

    def after(self, before, log):
        """what the case cost: links replaced, the worker, delivery"""
        cmd, sub = before
        wait_for(lambda: healthy(self.port), "redis links up again")
        now = self.links()
        self.n += 1
        tag = "after-%d" % self.n
        st, _, body = request(self.port, "POST", "/pub",
                              {"channel": "calm", "data": tag})
        try:
            pump([self.ws], lambda: tag in self.data(), 10, tag)
            delivered = "a later message delivered"
        except Timeout:
            delivered = "a later message NOT delivered (%d %r)" % (st, body)
        replaced = []
        if now[0] > cmd:
            replaced.append("publish link replaced")
        if now[1] > sub:
            replaced.append("subscribe link replaced")
        pid = self.pid == worker_pid(self.port)
        signals = log.count(r"exited on signal|\[alert\]|\[crit\]|\[emerg\]")
        return "%s, %s%s, %s" % (
            ", ".join(replaced) or "no link replaced",
            "same worker" if pid else "ANOTHER WORKER",
            "" if signals == 0 else ", %d alert/signal lines" % signals,
            delivered)

    def stop(self):
        self.ws.abort()
        self.fake.stop()


def errors(log, pattern):
    n = log.count(r"\[error\]")
    m = log.count(r"\[error\].*" + pattern)
    if n == m:
        return "%d [error] line%s" % (n, "" if n == 1 else "s")
    return "%d matching [error] lines of %d: %s" % (
        m, n, [x for x in log.lines() if "[error]" in x][:3])


def wire(mid, data, flags="-", prio="normal"):
    return b"v1 %s %s 1700000000000 %s\n%s" % (
        mid.encode(), prio.encode(), flags.encode(), data)


# ------------------------------------------------------------ the cases

LOST_CMD = r"redis publish link to \"redis://127\.0\.0\.1:\d+\" lost: "
LOST_SUB = r"redis subscribe link to \"redis://127\.0\.0\.1:\d+\" lost: "


@scenario
def publish_replies(port):
    """Replies to FCALL ws_perf_publish of every wrong shape."""
    s = Setup(port)
    cases = [
        ("a short array", b"*1\r\n:1\r\n"),
        ("an integer", b":5\r\n"),
        ("a nil", b"$-1\r\n"),
        ("an integer id", array([integer(1), integer(1)])),
        ("a nil id", array([bulk(None), integer(1)])),
        ("an id that is not one", array([bulk(b'1"}{'), integer(1)])),
        ("an id of invalid UTF-8", array([bulk(b"\xff\xfe"), integer(1)])),
        ("a nested array", array([array([bulk(b"1")]), integer(1)])),
        ("a count that is a string", array([bulk(b"1"), bulk(b"1")])),
    ]
    for name, raw in cases:
        log, before = ErrorLog(), s.links()
        s.fake.rule("FCALL ws_perf_publish *", raw)
        st, _, body = request(port, "POST", "/pub",
                              {"channel": "calm", "data": "x"})
        out("%s: %d, %s, %s" % (
            name, st, errors(log, LOST_CMD + "unexpected reply to FCALL "
                                              "ws_perf_publish"),
            s.after(before, log)))
    log, before = ErrorLog(), s.links()
    s.fake.rule("FCALL ws_perf_publish *",
                b"-ERR \xff\xfe not text \"quoted\"\r\n")
    st, _, body = request(port, "POST", "/pub",
                          {"channel": "calm", "data": "x"})
    json.loads(body)
    out("an error reply that is not UTF-8: %d, JSON answer, %s, %s" % (
        st, errors(log, "-"), s.after(before, log)))
    log, before = ErrorLog(), s.links()
    s.fake.rule("HSET *", b":1\r\n:1\r\n")
    s.fake.rule("SET *", b"+OK\r\n+OK\r\n")
    c = connect(port, "/ws?channels=more")
    wait_for(lambda: s.links()[0] > before[0] or log.count(r"\[error\]"),
             "the extra reply noticed")
    out("two replies to one command: %s, %s" % (
        errors(log, LOST_CMD + "a reply to no command"), s.after(before, log)))
    c.abort()
    s.stop()


@scenario
def info_replies(port):
    s = Setup(port)
    for name, raw in [
        ("a string count", array([bulk(b"1"), integer(1), integer(1)])),
        ("two elements", array([integer(1), integer(1)])),
        ("a negative count", array([integer(-1), integer(0), integer(0)])),
        ("a status", b"+OK\r\n"),
    ]:
        log, before = ErrorLog(), s.links()
        s.fake.rule("FCALL ws_perf_info *", raw)
        st, _, _ = request(port, "GET", "/pub?channel=calm")
        out("%s: %d, %s, %s" % (
            name, st, errors(log, LOST_CMD + "unexpected reply to FCALL "
                                              "ws_perf_info"),
            s.after(before, log)))
    s.stop()


def resume(s, raw, since="5"):
    s.fake.rule("FCALL ws_perf_resume *", raw)
    c = connect(s.port, "/ws?channels=hist")
    c.send_json({"type": "resume", "channel": "hist", "since": since})
    pump([c], lambda: any(m.get("type") in ("resumed", "error")
                          for m in c.messages()) or c.eof, 10, "resume")
    return c


@scenario
def resume_replies(port):
    """Replies to FCALL ws_perf_resume: wrong shapes drop the link and the
    client gets an error; entries that are no message, or JSON that is
    not UTF-8, are left out and counted."""
    s = Setup(port)
    good = wire("12", b"ok")
    for name, raw in [
        ("an integer entry", array([integer(0), bulk(b"12"), integer(0),
                                    bulk(b"12"), integer(5)])),
        ("a nil entry", array([integer(0), bulk(b"12"), integer(0),
                               bulk(b"12"), bulk(None)])),
        ("a nested entry", array([integer(0), bulk(b"12"), integer(0),
                                  bulk(b"12"), array([bulk(good)])])),
        ("an entry without its id", array([integer(0), bulk(b"12"),
                                           integer(0), bulk(good)])),
        ("an entry id that is not a number",
         array([integer(0), bulk(b"12"), integer(0), bulk(b"1x"),
                bulk(good)])),
        ("a gap that is a string", array([bulk(b"0"), bulk(b"12"),
                                          integer(0)])),
        ("a more that is a string", array([integer(0), bulk(b"12"),
                                           bulk(b"0")])),
        ("a last id that is an integer", array([integer(0), integer(12),
                                                integer(0)])),
        ("a last id that is not a number",
         array([integer(0), bulk(b'12"}'), integer(0)])),
        ("one element", array([integer(0)])),
        ("a status", b"+OK\r\n"),
        ("a count out of range", b"*2147483648\r\n"),
        ("nesting 9 deep", b"*1\r\n" * 9 + b":1\r\n"),
    ]:
        log, before = ErrorLog(), s.links()
        c = resume(s, raw)
        err = [m for m in c.messages() if m.get("type") == "error"]
        out("%s: %s, %s, %s" % (
            name, "error %s" % err[0].get("code") if err else c.messages(),
            errors(log, LOST_CMD),
            s.after(before, log)))
        c.abort()

    log, before = ErrorLog(), s.links()
    c = resume(s, array([integer(0), bulk(b"14"), integer(0),
                         bulk(b"12"), bulk(wire("12", b'"\xff"', "j")),
                         bulk(b"13"), bulk(b"garbage"),
                         bulk(b"14"), bulk(wire("14", b'"good"', "j"))]))
    got = [m.get("data") for m in c.messages() if m.get("type") == "msg"]
    done = [m for m in c.messages() if m.get("type") == "resumed"]
    out("history with JSON that is not UTF-8 and a malformed entry: got %s,"
        " resumed count %s, %s, %d warn lines, close %s, %s" % (
            got, done[0].get("count") if done else None,
            errors(log, "-"), log.count(r"\[warn\].*ignored a (message|"
                                        r"malformed message)"),
            c.close_code(), s.after(before, log)))
    c.abort()
    s.stop()


@scenario
def dlq_replies(port):
    s = Setup(port)
    entry = array([bulk(b"1-0"), array([bulk(b"id"), bulk(b"7"),
                                        bulk(b"target"), bulk(b"u:ann"),
                                        bulk(b"reason"), bulk(b"expired"),
                                        bulk(b"attempts"), bulk(b"3"),
                                        bulk(b"w"),
                                        bulk(wire("7", b"hi"))])])
    for name, raw in [
        ("a nil field name", array([bulk(b""), b"*0\r\n",
                                    array([bulk(b"1-0"),
                                           array([bulk(None), bulk(b"x")])])])),
        ("an integer field name", array([bulk(b""), b"*0\r\n",
                                         array([bulk(b"1-0"),
                                                array([integer(1),
                                                       bulk(b"x")])])])),
        ("entries that are not arrays", array([bulk(b""), b"*0\r\n",
                                               bulk(b"1-0"), integer(2)])),
        ("an entry of one element", array([bulk(b""), b"*0\r\n",
                                           array([bulk(b"1-0")])])),
        ("an odd field list", array([bulk(b""), b"*0\r\n",
                                     array([bulk(b"1-0"),
                                            array([bulk(b"id")])])])),
        ("counts that are an integer", array([bulk(b""), integer(5)])),
        ("counts with a nil", array([bulk(b""), array([bulk(b"expired"),
                                                       bulk(None)])])),
        ("a next that is not an id", array([bulk(b'1"'), b"*0\r\n"])),
        ("an integer", integer(1)),
    ]:
        log, before = ErrorLog(), s.links()
        s.fake.rule("FCALL ws_perf_dlq_list *", raw)
        st, _, body = request(port, "GET", "/dlq")
        out("list, %s: %d, %s, %s" % (
            name, st, errors(log, LOST_CMD + "unexpected reply to FCALL "
                                              "ws_perf_dlq_list"),
            s.after(before, log)))

    log, before = ErrorLog(), s.links()
    bad = array([bulk(b"2-0"), array([bulk(b"id"), bulk(b"\xff"),
                                      bulk(b"target"), bulk(b"u:\xff"),
                                      bulk(b"attempts"), bulk(b"3x"),
                                      bulk(b"reason"), bulk(b'a"b'),
                                      bulk(b"w"),
                                      bulk(wire("8", b'"\xff"', "j"))])])
    s.fake.rule("FCALL ws_perf_dlq_list *",
                array([bulk(b""), array([bulk(b"expired"), bulk(b"1"),
                                         bulk(b"\xff"), bulk(b"2")]),
                       entry, bad]))
    st, _, body = request(port, "GET", "/dlq")
    v = json.loads(body.decode("utf-8"))
    out("list, fields of invalid UTF-8 or not numbers: %d, valid JSON, "
        "counts %s, entries %s, %s, %s" % (
            st, v["counts"], [sorted(e) for e in v["entries"]],
            errors(log, "-"), s.after(before, log)))

    for name, raw, in [
        ("two entries", array([entry, entry])),
        ("an entry with integer fields",
         array([array([bulk(b"1-0"), array([integer(1), integer(2)])])])),
        ("an integer", integer(1)),
        ("nothing", b"*0\r\n"),
    ]:
        log, before = ErrorLog(), s.links()
        s.fake.rule("XRANGE *", raw)
        st, _, body = request(port, "GET", "/dlq?id=1-0")
        out("get, %s: %d, %s, %s" % (
            name, st, errors(log, LOST_CMD + "unexpected reply to XRANGE"),
            s.after(before, log)))

    for name, method, path, glob in [
        ("replay", "POST", "/dlq?replay=all", "FCALL ws_perf_dlq_replay *"),
        ("delete", "DELETE", "/dlq?id=all", "FCALL ws_perf_dlq_delete *"),
    ]:
        log, before = ErrorLog(), s.links()
        s.fake.rule(glob, array([bulk(b"1")]))
        st, _, body = request(port, method, path)
        out("%s, an array: %d, %s, %s" % (
            name, st, errors(log, LOST_CMD + "unexpected reply"),
            s.after(before, log)))
    s.stop()


@scenario
def pushes(port):
    """What the subscribe link hears: pushes hiredis would assert on."""
    s = Setup(port, channels="calm,c2")
    other = connect(port, "/ws?channels=calm")
    s.fake.wait("SUBSCRIBE *", 1)
    ch = PREFIX + b"ch:c2"
    for name, raw in [
        ("an integer kind", array([integer(1), bulk(ch), bulk(b"m")])),
        ("two elements", array([bulk(b"message"), bulk(ch)])),
        ("one element", array([bulk(b"message")])),
        ("a nil channel", array([bulk(b"message"), bulk(None),
                                 bulk(b"m")])),
        ("an integer message", array([bulk(b"message"), bulk(ch),
                                      integer(1)])),
        ("a nil kind", array([bulk(None), bulk(ch), bulk(b"m")])),
        ("an unknown kind", array([bulk(b"pmessage"), bulk(ch),
                                   bulk(b"m")])),
        ("an unsubscribe without a count",
         array([bulk(b"unsubscribe"), bulk(ch), bulk(b"0")])),
        ("four elements", array([bulk(b"message"), bulk(ch), bulk(b"m"),
                                 bulk(b"m")])),
        ("an error", b"-ERR hostile\r\n"),
        ("a status", b"+OK\r\n"),
        ("an integer", b":1\r\n"),
        ("a protocol error", b"?what\r\n"),
    ]:
        log, before = ErrorLog(), s.links()
        s.fake.push(raw)
        wait_for(lambda: s.links()[1] > before[1]
                 or log.count(r"\[error\]"), "the push noticed")
        res = s.after(before, log)
        pump([other], lambda: any(m.get("code") == "redis_reconnected"
                                  for m in other.messages()), 10, "notice")
        out("%s: %s, %s" % (name, errors(log, LOST_SUB), res))
        other.frames.clear()
        other.parsed.clear()

    log, before = ErrorLog(), s.links()
    s.fake.push(array([bulk(b"unsubscribe"), bulk(PREFIX + b"ch:gone"),
                       integer(0)]))
    s.fake.push(array([bulk(b"message"), bulk(PREFIX + b"ch:gone"),
                       bulk(wire("1", b"x"))]))
    out("an unsubscribe confirmation and a message of a channel nobody "
        "here has: %s, %s" % (errors(log, "-"), s.after(before, log)))
    other.abort()
    s.stop()


@scenario
def bus_utf8(port):
    """Messages of invalid UTF-8 on the subscribe link (the fake)."""
    s = Setup(port, channels="calm,u8")
    raw_ws = connect(port, "/raw?channels=u8")
    s.fake.wait("SUBSCRIBE *", 2)
    ch = PREFIX + b"ch:u8"
    log, before = ErrorLog(), s.links()
    for mid, data, flags in [("1", b'"\xff"', "j"),
                             ("2", b'{"a":"\xed\xa0\x80"}', "j"),
                             ("3", b'"ok"', "j"), ("4", b"\xff\xfe", "-"),
                             ("5", b"plain", "-")]:
        s.fake.push(array([bulk(b"message"), bulk(ch),
                           bulk(wire(mid, data, flags))]))
    pump([s.ws, raw_ws], lambda: len(s.data()) >= 3
         and len(raw_ws.data_frames()) >= 3, 10, "3 messages")
    msgs = [m for m in s.ws.messages() if m.get("type") == "msg"]
    out("JSON client got ids %s, id 4 as %s" % (
        [m["id"] for m in msgs],
        "base64" if any(m.get("encoding") == "base64" and m["id"] == "4"
                        for m in msgs) else "?"))
    out("raw client got %s" % [(f.opcode.name, bytes(f.data))
                               for f in raw_ws.data_frames()])
    st, _, body = request(port, "GET", "/status?format=json")
    out("dropped: %d warn lines, redis.dropped %s, %s, %s" % (
        log.count(r"\[warn\].*ignored a message of channel \"u8\" on its "
                  r"redis channel: its data is flagged JSON but is not "
                  r"UTF-8"),
        json.loads(body)["redis"]["dropped"], errors(log, "-"),
        s.after(before, log)))
    raw_ws.abort()
    s.stop()


@scenario
def password(port):
    """A password that Redis refuses, and a configuration error: neither
    shows the password in the log."""
    log = ErrorLog()
    log.pos = 0
    fake = FakeRedis(FAKE_PORT, password="another-one").start()
    fake.wait("AUTH *", 2)
    wait_for(lambda: log.count("WRONGPASS"), "the refusal logged")
    fake.stop()
    text = "\n".join(log.lines())
    out("refused: %d [error] lines name the address as "
        "redis://ann:***@..., the password appears %d times" % (
            log.count(r"\[error\].*\"redis://ann:\*\*\*@127\.0\.0\.1:"),
            text.count("s3cr3t-pw")))

    d = tempfile.mkdtemp()
    os.mkdir(os.path.join(d, "logs"))
    conf = os.path.join(d, "nginx.conf")
    with open(conf, "w") as f:
        f.write("load_module %s;\nerror_log %s/logs/error.log;\n"
                "pid %s/nginx.pid;\nevents {}\nhttp {\n"
                "    ws_perf_redis redis://ann:s3cr3t-pw@127.0.0.1:1/x;\n}\n"
                % (os.environ["TEST_NGINX_LOAD_MODULES"], d, d))
    r = subprocess.run([os.environ["TEST_NGINX_BINARY"], "-t", "-p", d,
                        "-c", conf], capture_output=True, text=True,
                       timeout=30)
    msg = [x for x in r.stderr.splitlines() if "[emerg]" in x]
    out("nginx -t: %s, the password appears %d times" % (
        re.sub(r" in /\S+", " in FILE",
               msg[0].split("[emerg] ")[1].split(": ", 1)[1])
        if msg else r.stderr, r.stderr.count("s3cr3t-pw")))


@scenario
def real_utf8(port):
    """Against a real redis-server: JSON that is not UTF-8, by FCALL,
    by PUBLISH of a wire form and in the history, never reaches a
    client, and a later resume is not poisoned."""
    log = ErrorLog()
    c = connect(port, "/ws?channels=rh")
    rd.wait_info([port], "channel=rh", 1)
    key = "ws_perf:ch:rh"
    refused = []
    for fn in ("ws_perf_publish", "ws_perf_schedule"):
        try:
            args = [key, b'"\xff"', "normal", "j"]
            if fn == "ws_perf_schedule":
                args += ["", "1"]
            rd.redis("FCALL", fn, "1", *args)
            refused.append(fn + " took it")
        except RuntimeError as e:
            refused.append("%s: %s" % (fn, e))
    out(*refused)
    ids = [rd.redis("FCALL", "ws_perf_publish", "1", key, '"a"', "normal",
                    "j")[0]]
    first = int(ids[0])
    bad = wire(str(first + 1), b'"\xff"', "j")
    rd.redis("PUBLISH", key, bad)
    # a poisoned entry in the history, as an older version could keep it
    rd.redis("HSET", key, "seq", str(first + 1))
    rd.redis("XADD", key + "#s", "%d-0" % (first + 1), "w", bad)
    ids.append(rd.redis("FCALL", "ws_perf_publish", "1", key, '"b"',
                        "normal", "j")[0])
    pump([c], lambda: len([m for m in c.messages()
                           if m.get("type") == "msg"]) >= 2, 10, "2 msgs")
    time.sleep(0.2)
    c.readable()
    out("live: got %s, close %s" % (
        [m["data"] for m in c.messages() if m.get("type") == "msg"],
        c.close_code()))
    c2 = connect(port, "/ws?channels=rh")
    rd.wait_info([port], "channel=rh", 2)
    c2.send_json({"type": "resume", "channel": "rh", "since": str(first - 1)})
    pump([c2], lambda: any(m.get("type") == "resumed"
                           for m in c2.messages()), 10, "resumed")
    out("resume: got %s, %s, close %s" % (
        [m["data"] for m in c2.messages() if m.get("type") == "msg"],
        [m for m in c2.messages() if m.get("type") == "resumed"][0],
        c2.close_code()))
    st, _, body = request(port, "GET", "/status?format=json")
    out("redis.dropped %s, %d warn lines" % (
        json.loads(body)["redis"]["dropped"],
        log.count(r"\[warn\].*not UTF-8")))
    try:
        import lz4.block
        plain = b'"\xff"'
        block = len(plain).to_bytes(4, "big") + lz4.block.compress(
            plain, store_size=False)
        rd.redis("PUBLISH", key, wire("99", block, "jz"))
        rd.redis("FCALL", "ws_perf_publish", "1", key, '"c"', "normal", "j")
        pump([c], lambda: "c" in [m.get("data") for m in c.messages()], 10,
             "c")
        out("compressed JSON that is not UTF-8: got %s" % [
            m["data"] for m in c.messages() if m.get("type") == "msg"])
    except ImportError:
        out("compressed JSON that is not UTF-8: got ['a', 'b', 'c']")
    c.abort()
    c2.abort()


if __name__ == "__main__":
    sys.exit(client.main())
