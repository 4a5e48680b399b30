#!/usr/bin/python3
"""Scenarios of t/417-redis-cluster-hostile.t: a Redis Cluster whose nodes
answer what no node should, run like client.py:

    hostile_cluster.py --port N SCENARIO [key=value ...]

The cluster is fake (t/pubsub/fakeredis.py, FakeCluster): the seed nginx
is told about on $TEST_NGINX_FAKE_REDIS_PORT, and its masters on the ports
after it.  The sane map gives every slot to the first master.  Each case
checks that the worker survives (the same pid answers, nothing worse than
[error] is logged), what the bad reply costs (the answer a publisher gets,
the [error] lines, the bad replies counted), and that a subscriber gets a
message published once the cluster is sane again.
"""

import json
import os
import re
import sys

sys.dont_write_bytecode = True      # no __pycache__ in the source tree
import client                       # noqa: E402
from client import out, scenario    # noqa: E402
from cluster import shard_key, slot  # noqa: E402
from fakeredis import (FakeCluster, array, bulk, integer,  # noqa: E402
                       slots_map)
from hostile import ErrorLog, errors, wait_for, wire, worker_pid  # noqa
from wsclient import Timeout, connect, pump, request  # noqa: E402


SEED = int(os.environ.get("TEST_NGINX_FAKE_REDIS_PORT", "7702"))
MASTER = SEED + 1
OTHER = SEED + 2
NOBODY = SEED + 3                   # a port nothing listens on
LOCAL = b"127.0.0.1"

WORSE = r"exited on signal|\[alert\]|\[crit\]|\[emerg\]"
MAP_LOST = r"redis cluster link to \"[^\"]*\" (lost|failed): "
CMD_LOST = (r"redis publish link to \"cluster master 127\.0\.0\.1:%d\" "
            r"lost: " % MASTER)
SUB_LOST = (r"redis subscribe link to \"cluster master 127\.0\.0\.1:%d\" "
            r"lost: " % MASTER)


# ---------------------------------------------------------------- helpers

def healthy(port):
    return request(port, "GET", "/health")[0] == 200


def bad_replies(port):
    st, _, body = request(port, "GET", "/status?format=json")
    return json.loads(body)["redis"]["bad_replies"] if st == 200 else None


def pub(port, channel, data):
    st, _, body = request(port, "POST", "/pub",
                          {"channel": channel, "data": data})
    return st, body


def ranges(port, lo=0, hi=16383):
    return [(lo, hi, LOCAL, port)]


class Setup:
    """The fake cluster: the seed and one master, both links up, the map
    link on the seed, a subscriber of "calm"."""

    def __init__(self, port, wait=True, slots=None):
        self.port = port
        self.cluster = FakeCluster(slots or ranges(MASTER))
        self.seed = self.cluster.node(SEED)
        self.master = self.cluster.node(MASTER)
        self.n = 0
        if wait:
            self.ready()

    def ready(self):
        wait_for(lambda: healthy(self.port), "the cluster's links up", 20)
        self.pid = worker_pid(self.port)
        self.ws = connect(self.port, "/ws?channels=calm")
        self.master.wait("SSUBSCRIBE %s" % shard_key("ch", "calm"))
        self.map_on_seed()

    def map_on_seed(self):
        """the map link asks the seed, whatever the case does to masters"""
        for _ in range(8):
            with self.seed.lock:
                if any(c.asked and not c.closed
                       for c in self.seed.clients):
                    return
            self.cluster.drop_map_links()
            wait_for(lambda: any(c.asked for n in self.cluster.nodes
                                 for c in n.clients), "the map asked again")
        raise Timeout("the map link never on the seed")

    def data(self, ws=None):
        return [m.get("data") for m in (ws or self.ws).messages()
                if m.get("type") == "msg"]

    def after(self, log, channel="calm", ws=None):
        """the worker, and a message published once all is sane again"""
        ws = ws or self.ws
        wait_for(lambda: healthy(self.port), "the cluster's links up", 20)
        self.n += 1
        tag = "after-%d" % self.n
        st, body = pub(self.port, channel, tag)
        try:
            pump([ws], lambda: tag in self.data(ws), 10, tag)
            delivered = "a later message delivered"
        except Timeout:
            delivered = "a later message NOT delivered (%d %r)" % (st, body)
        worse = log.count(WORSE)
        return "%s%s, %s" % (
            "same worker" if self.pid == worker_pid(self.port)
            else "ANOTHER WORKER",
            "" if worse == 0 else ", %d alert/signal lines" % worse,
            delivered)

    def served(self, before, n):
        """waits until n maps more than before were asked for"""
        wait_for(lambda: self.asks() >= before + n, "%d maps asked" % n, 20)

    def asks(self):
        return sum(n.count("CLUSTER SLOTS") for n in self.cluster.nodes)

    def stop(self):
        self.ws.abort()
        self.cluster.stop()


def lost(log, pattern):
    """how many [error] lines match, and the first one's reason"""
    lines = [x for x in log.lines()
             if re.search(r"\[error\].*" + pattern, x)]
    if not lines:
        return "0 [error] lines"
    why = re.search(r"(lost|failed): (.*?); (reconnecting|retrying)",
                    lines[0])
    return "%d [error] line%s (%s)" % (
        len(lines), "" if len(lines) == 1 else "s",
        why.group(2) if why else lines[0])


def others(log, *patterns):
    """the [error] lines that none of patterns explains"""
    lines = [x for x in log.lines() if "[error]" in x]
    rest = [x for x in lines if not any(re.search(p, x) for p in patterns)]
    return ("no other [error] line" if not rest
            else "%d other [error] lines: %s" % (len(rest), rest[:2]))


def warned(log):
    """the [warn] lines about a map with slots no master has"""
    lines = [x for x in log.lines()
             if re.search(r"\[warn\].*redis cluster: \d+ of", x)]
    if not lines:
        return "0 [warn] lines"
    m = re.search(r"cluster: (\d+ of \d+ slots have a master, \d+ ranges)",
                  lines[0])
    return "%d [warn] line%s (%s)" % (len(lines),
                                      "" if len(lines) == 1 else "s",
                                      m.group(1) if m else lines[0])


# ------------------------------------------------------------ the cases

NODE = array([bulk(LOCAL), integer(MASTER), bulk(b"id")])


def one(lo, hi, node=NODE):
    return array([array([integer(lo), integer(hi), node])])


def node(host, port):
    return array([bulk(host), integer(port), bulk(b"id")])


SLOTS_CASES = [
    ("a status", b"+OK\r\n"),
    ("an error", b"-ERR This instance has cluster support disabled\r\n"),
    ("an integer", b":1\r\n"),
    ("a nil", b"$-1\r\n"),
    ("an empty array", b"*0\r\n"),
    ("an array of integers", array([integer(0), integer(16383)])),
    ("a range nested one level too deep",
     array([array([array([integer(0), integer(16383), NODE])])])),
    ("a range without its master", array([array([integer(0),
                                                 integer(16383)])])),
    ("slot numbers that are strings",
     array([array([bulk(b"0"), bulk(b"16383"), NODE])])),
    ("a master that is a number",
     array([array([integer(0), integer(16383), integer(MASTER)])])),
    ("a master without its port", one(0, 16383, array([bulk(LOCAL)]))),
    ("a port that is a string",
     one(0, 16383, array([bulk(LOCAL), bulk(b"%d" % MASTER)]))),
    ("a slot past 16383", one(0, 16384)),
    ("a negative slot", one(-1, 100)),
    ("a start after its end", one(200, 100)),
    ("port 0", one(0, 16383, node(LOCAL, 0))),
    ("port 65536", one(0, 16383, node(LOCAL, 65536))),
    ("a host name", one(0, 16383, node(b"redis.example", MASTER))),
    ("a host name of hex digits", one(0, 16383, node(b"cafe", MASTER))),
    ("an unknown endpoint (?)", one(0, 16383, node(b"?", MASTER))),
    ("an address of 1,000 bytes", one(0, 16383, node(b"1" * 1000, MASTER))),
    ("100,000 ranges", b"*100000\r\n" + b"*3\r\n:0\r\n:0\r\n"
     + (b"*2\r\n$9\r\n127.0.0.1\r\n:%d\r\n" % MASTER)
     + (b"*3\r\n:1\r\n:1\r\n*2\r\n$9\r\n127.0.0.1\r\n:%d\r\n" % NOBODY)
     * 99999),
    ("nesting 9 deep", b"*1\r\n" * 9 + b":1\r\n"),
]


@scenario
def slots_replies(port):
    """CLUSTER SLOTS answers that are no map, while the master is away:
    each is counted, costs the cluster link one [error] line (one an
    outage, however often it comes), the map stays the one known, and
    publishes are 503 until a sane map and its master are back."""
    s = Setup(port)
    for name, raw in SLOTS_CASES:
        s.map_on_seed()
        log, bad, asked = ErrorLog(), bad_replies(port), s.asks()
        s.cluster.serve(raw, raw, raw)
        s.master.stop()
        s.served(asked, 3)
        st, _ = pub(port, "calm", "x")
        # a 4th ask: the 3rd answer was read, and its link replaced
        s.served(asked, 4)
        got = bad_replies(port) - bad
        s.master.start()
        res = s.after(log)
        out("%s: publish %d, %d bad replies counted, cluster link %s, "
            "%s, %s" % (name, st, got, lost(log, MAP_LOST),
                        others(log, MAP_LOST, CMD_LOST, SUB_LOST), res))
    s.stop()


@scenario
def slots_partial(port):
    """Maps that are maps, with slots no master owns: the ranges not
    understood are left out, said once in a [warn] line; a slot without
    a master is 503; an empty address is the node asked."""
    s = Setup(port)
    key = shard_key("ch", "calm")
    mine = slot(key)
    lo, hi = (0, mine - 1) if mine > 100 else (mine + 1, 16383)
    cases = [
        ("a gap where the channel is",
         slots_map([(lo, hi, LOCAL, MASTER)])),
        ("the channel's range in a host name",
         slots_map([(0, mine, b"redis.example", MASTER)]
                   + [(mine + 1, 16383, LOCAL, MASTER)] * (mine < 16383))),
        ("the channel's slot given twice, to another master second",
         slots_map([(0, 16383, b"127.0.0.2", NOBODY),
                    (mine, mine, LOCAL, MASTER)])),
        ("65 masters, the channel's the 65th",
         slots_map([(x, x, b"127.0.0.%d" % (i + 2), NOBODY)
                    for i, x in enumerate([x for x in range(65)
                                           if x != mine][:64])]
                   + [(mine, mine, LOCAL, MASTER)])),
    ]
    for name, raw in cases:
        s.map_on_seed()
        log, bad, asked = ErrorLog(), bad_replies(port), s.asks()
        s.cluster.serve(raw)
        s.cluster.drop_map_links()
        s.served(asked, 1)
        wait_for(lambda: log.count(r"\[warn\].*slots have a master"),
                 "the map taken")
        st, body = pub(port, "calm", "x")
        s.cluster.drop_map_links()
        s.served(asked, 2)
        res = s.after(log)
        out("%s: publish %d, %d bad replies, %s, %s, %s" % (
            name, st, bad_replies(port) - bad, warned(log),
            others(log, MAP_LOST, r"redis (publish|subscribe) link to "
                                  r"\"cluster master 127\.0\.\d+\.\d+:%d\" "
                                  r"failed" % NOBODY), res))

    log, asked, bad = ErrorLog(), s.asks(), bad_replies(port)
    s.cluster.serve(slots_map([(0, 16383, b"", MASTER)]),
                    slots_map([(0, 16383, None, MASTER)]))
    s.cluster.drop_map_links()
    s.served(asked, 2)
    s.cluster.drop_map_links()
    s.served(asked, 3)
    res = s.after(log)
    out("an empty and a nil address: the node asked, %d bad replies, %s, "
        "%s" % (bad_replies(port) - bad, warned(log), res))
    s.stop()


@scenario
def slots_silent(port):
    """A node that never answers CLUSTER SLOTS: the command timeout (or
    the handshake's) ends the wait, the publishes meanwhile are 503."""
    s = Setup(port)
    log, asked = ErrorLog(), s.asks()
    s.cluster.serve(b"", b"")
    s.master.stop()
    s.served(asked, 2)
    st, _ = pub(port, "calm", "x")
    wait_for(lambda: log.count(MAP_LOST), "the wait ended", 20)
    wait_for(lambda: s.asks() >= asked + 3, "asked again", 20)
    s.master.start()
    res = s.after(log)
    out("no answer: publish %d, cluster link %s, %s, %s"
        % (st, lost(log, MAP_LOST), others(log, MAP_LOST, CMD_LOST,
                                            SUB_LOST), res))
    s.stop()


@scenario
def slots_changing(port):
    """A map that names new masters every time it is asked: 70 of them,
    more than the table of masters holds; then a sane map with a master
    never seen before."""
    s = Setup(port)
    log = ErrorLog()
    s.cluster.maker = lambda i: slots_map([(0, 16383, b"127.0.1.%d"
                                            % (2 + i), NOBODY)])
    codes = set()
    for i in range(70):
        if s.cluster.made >= 70:
            break
        asked = s.asks()
        s.cluster.drop_map_links()
        s.served(asked, 1)
        if i % 10 == 9:
            codes.add(pub(port, "calm", "x")[0])
    s.cluster.maker = None
    # the sane map: every slot to another master, not seen before
    other = s.cluster.node(OTHER)
    s.cluster.set_map(ranges(OTHER))
    asked = s.asks()
    s.cluster.drop_map_links()
    s.served(asked, 1)
    joined = log.count(r"\[notice\].*redis cluster master 127\.0\.0\.1:%d "
                       r"joins" % OTHER)
    res = s.after(log)
    out("%s maps: publishes %s, %s masters joined, the new master %s, %s, "
        "%s" % ("70" if s.cluster.made >= 70 else s.cluster.made,
                sorted(codes),
                "70 or more" if log.count(r"\[notice\].*joins") >= 70
                else log.count(r"\[notice\].*joins"),
                "joined" if joined else "NEVER JOINED",
                others(log, MAP_LOST, r"redis (publish|subscribe) link to "
                                      r"\"cluster master 127\.0\.\d+\.\d+:"
                                      r"%d\" failed" % NOBODY,
                       CMD_LOST, SUB_LOST), res))
    other.stop()
    s.stop()


def fcall_rule(node, answer, times=1):
    node.rule("FCALL ws_perf_publish 1 %s *" % shard_key("ch", "calm"),
              answer, times)


@scenario
def redirects(port):
    """MOVED and ASK to no slot, no numeric address, no port: the publish
    is 503, and the redirection is a bad reply (one [error], the publish
    link replaced); a MOVED loop between two masters and an ASK answered
    by ASK end after three redirections with a 503."""
    key = shard_key("ch", "calm")
    mine = slot(key)
    # the other master serves a slot of no interest, so that it has links
    far = 0 if mine != 0 else 1
    s = Setup(port, wait=False,
              slots=[(far, far, LOCAL, OTHER)]
              + [(lo, hi, LOCAL, MASTER)
                 for lo, hi in ((0, far - 1), (far + 1, 16383))
                 if lo <= hi])
    other = s.cluster.node(OTHER)
    s.ready()
    for name, raw in [
        ("MOVED to slot 16384", b"-MOVED 16384 127.0.0.1:%d\r\n" % MASTER),
        ("MOVED to a host name", b"-MOVED %d redis.example:%d\r\n"
         % (mine, MASTER)),
        ("MOVED to port 0", b"-MOVED %d 127.0.0.1:0\r\n" % mine),
        ("MOVED without an address", b"-MOVED %d\r\n" % mine),
        ("ASK to a host name of hex digits", b"-ASK %d beef:%d\r\n"
         % (mine, MASTER)),
        ("ASK to a slot that is not a number", b"-ASK 1x 127.0.0.1:%d\r\n"
         % MASTER),
    ]:
        log, bad = ErrorLog(), bad_replies(port)
        fcall_rule(s.master, raw)
        st, body = pub(port, "calm", "x")
        res = s.after(log)
        out("%s: %d, publish link %s, %d bad replies, %s, %s" % (
            name, st, lost(log, CMD_LOST), bad_replies(port) - bad,
            others(log, CMD_LOST), res))

    for name, here, there in [
        ("a MOVED loop between two masters",
         b"-MOVED %d 127.0.0.1:%d\r\n" % (mine, OTHER),
         b"-MOVED %d 127.0.0.1:%d\r\n" % (mine, MASTER)),
        ("an ASK answered by ASK",
         b"-ASK %d 127.0.0.1:%d\r\n" % (mine, OTHER),
         b"-ASK %d 127.0.0.1:%d\r\n" % (mine, OTHER)),
    ]:
        log, bad = ErrorLog(), bad_replies(port)
        glob = "FCALL ws_perf_publish 1 %s *" % key
        sent = s.master.count(glob) + other.count(glob)
        fcall_rule(s.master, here, None)
        fcall_rule(other, there, None)
        st, body = pub(port, "calm", "x")
        tries = s.master.count(glob) + other.count(glob) - sent
        s.master.clear_rules()
        other.clear_rules()
        # the map is asked again after a MOVED: the slot is the master's
        wait_for(lambda: healthy(port), "links up")
        asked = s.asks()
        s.served(asked, 1)
        res = s.after(log)
        out("%s: %d (%s), %d sent in all, %s, %d bad replies, %s" % (
            name, st, json.loads(body).get("error", "?").split()[0],
            tries, others(log), bad_replies(port) - bad, res))
    other.stop()
    s.stop()


@scenario
def confirmations(port):
    """SSUBSCRIBE confirmations of the wrong shape: the subscribe link
    is replaced (one [error] line) and its subscribers told."""
    s = Setup(port)
    ch = shard_key("ch", "c2").encode()
    for name, raw in [
        ("a count that is a string",
         array([bulk(b"ssubscribe"), bulk(ch), bulk(b"1")])),
        ("two elements", array([bulk(b"ssubscribe"), bulk(ch)])),
        ("an unsharded confirmation",
         array([bulk(b"subscribe"), bulk(ch), integer(1)])),
        ("a nil channel", array([bulk(b"ssubscribe"), bulk(None),
                                 integer(1)])),
        ("an integer", b":1\r\n"),
        ("an error", b"-ERR hostile\r\n"),
        ("a status", b"+OK\r\n"),
    ]:
        log = ErrorLog()
        s.master.rule("SSUBSCRIBE %s" % ch.decode(), raw)
        c = connect(port, "/ws?channels=c2")
        wait_for(lambda: log.count(r"\[error\]"), "the answer noticed")
        pump([s.ws], lambda: any(m.get("code") == "redis_reconnected"
                                 for m in s.ws.messages()), 10, "notice")
        res = s.after(log)
        c2 = s.after(log, "c2", c)
        out("%s: subscribe link %s, %s, %s, the new channel: %s" % (
            name, lost(log, SUB_LOST), others(log, SUB_LOST), res,
            c2.split(", ")[-1]))
        c.abort()
        s.ws.frames.clear()
        s.ws.parsed.clear()
    s.stop()


@scenario
def pushes(port):
    """smessage pushes of the wrong shape: the subscribe link replaced;
    for a channel never subscribed: ignored; sunsubscribe by the
    thousand: the channel subscribed again, once or so, its subscribers
    told."""
    s = Setup(port)
    ch = shard_key("ch", "calm").encode()
    for name, raw in [
        ("data that is an integer",
         array([bulk(b"smessage"), bulk(ch), integer(1)])),
        ("two elements", array([bulk(b"smessage"), bulk(ch)])),
        ("four elements", array([bulk(b"smessage"), bulk(ch), bulk(b"m"),
                                 bulk(b"m")])),
        ("a nil channel", array([bulk(b"smessage"), bulk(None),
                                 bulk(wire("1", b"x"))])),
        ("an unsharded message",
         array([bulk(b"message"), bulk(ch), bulk(wire("1", b"x"))])),
        ("a pmessage", array([bulk(b"pmessage"), bulk(ch), bulk(ch),
                              bulk(b"m")])),
    ]:
        log = ErrorLog()
        s.master.push(raw)
        wait_for(lambda: log.count(r"\[error\]"), "the push noticed")
        pump([s.ws], lambda: any(m.get("code") == "redis_reconnected"
                                 for m in s.ws.messages()), 10, "notice")
        res = s.after(log)
        out("%s: subscribe link %s, %s, %s" % (
            name, lost(log, SUB_LOST), others(log, SUB_LOST), res))
        s.ws.frames.clear()
        s.ws.parsed.clear()

    log = ErrorLog()
    for other in (shard_key("ch", "never"), "ws_perf:{3}u:nobody",
                  "elsewhere"):
        s.master.push(array([bulk(b"smessage"), bulk(other.encode()),
                             bulk(wire("7", b"x"))]))
    res = s.after(log)
    out("smessage of channels never subscribed: %d [error] lines, "
        "got %s, %s" % (log.count(r"\[error\]"),
                        [d for d in s.data() if not d.startswith("after")],
                        res))

    log = ErrorLog()
    glob = "SSUBSCRIBE %s" % ch.decode()
    subs = s.master.count(glob)
    s.master.push(array([bulk(b"sunsubscribe"), bulk(ch), integer(0)])
                  * 2000)
    pump([s.ws], lambda: any(m.get("code") == "redis_reconnected"
                             for m in s.ws.messages()), 10, "notice")
    res = s.after(log)
    again = s.master.count(glob) - subs
    out("2,000 sunsubscribe of a channel: %d [error] lines, subscribed "
        "again %s, notices %d, %s" % (
            log.count(r"\[error\]"),
            "once or twice" if 1 <= again <= 2 else "%d times" % again,
            sum(1 for m in s.ws.messages()
                if m.get("code") == "redis_reconnected"), res))
    s.stop()


def served_by_other(slots):
    """ranges that give the slots to OTHER and the rest to MASTER"""
    r, lo = [], 0
    for sl in sorted(slots):
        if lo < sl:
            r.append((lo, sl - 1, LOCAL, MASTER))
        r.append((sl, sl, LOCAL, OTHER))
        lo = sl + 1
    if lo <= 16383:
        r.append((lo, 16383, LOCAL, MASTER))
    return r


@scenario
def moved_first(port):
    """A resharding that a publish sees before the map does: the master
    of the channel's slot answers the publish MOVED (the worker's map
    still gives it the slot), CLUSTER SLOTS says so from then on, and the
    old master ends the channel's subscription (sunsubscribe), before or
    after the worker reads the new map.  The channel is subscribed at the
    new master, its subscriber told (redis_reconnected), and a message
    published later reaches it."""
    key = shard_key("ch", "calm")
    mine = slot(key)
    # the other master serves a slot of no interest, so that it has links
    far = 0 if mine != 0 else 1
    s = Setup(port, wait=False, slots=served_by_other([far]))
    other = s.cluster.node(OTHER)
    s.ready()
    log = ErrorLog()
    glob = "SSUBSCRIBE %s" % key
    subs = other.count(glob)

    # the nodes serve the new map at once; CLUSTER SLOTS answers the old
    # one until the old master has answered MOVED to a command of the
    # slot, the publish or a count of the channel's subscribers (the
    # maker runs under the nodes' lock: their logs are read as they are)
    old, new = slots_map(served_by_other([far])), []

    def moved(cmd):
        w = cmd.split(" ")
        return w[0] == "FCALL" and len(w) > 3 and w[2] != "0" \
            and slot(w[3]) == mine

    def answer(i):
        if any(moved(c) for c in s.master.log[since:]):
            new.append(i)
            return s.cluster.sane
        return old
    s.cluster.maker = answer
    since = len(s.master.log)
    s.cluster.set_map(served_by_other([far, mine]))

    st, _ = pub(port, "calm", "during")
    s.master.push(array([bulk(b"sunsubscribe"), bulk(key), integer(0)]))
    with s.master.lock:
        for c in s.master.clients:
            c.subs.discard(key.encode())
    try:
        wait_for(lambda: new, "the new map asked", 10)
        wait_for(lambda: other.count(glob) > subs, "SSUBSCRIBE there", 10)
        again = other.count(glob) - subs
        placed = "subscribed at the new master %s" % (
            "once or twice" if again <= 2 else "%d times" % again)
    except Timeout as e:
        placed = "not subscribed at the new master (%s)" % e
    try:
        pump([s.ws], lambda: any(m.get("code") == "redis_reconnected"
                                 for m in s.ws.messages()), 10, "notice")
        told = "its subscriber told"
    except Timeout:
        told = "its subscriber NOT told"
    res = s.after(log)
    out("a publish answered MOVED before the map: %d, %s, %s, %s, %s" % (
        st, placed, told, others(log), res))
    other.stop()
    s.stop()


@scenario
def no_map(port):
    """A worker that never had a map: the seed answers garbage until it
    is sane; publishes are 503 meanwhile, the outage is one [error] line,
    and a subscriber that came meanwhile gets a message afterwards."""
    log = ErrorLog()
    log.pos = 0                     # since nginx started, the fake not yet
    s = Setup(port, wait=False)
    s.cluster.maker = lambda i: b"*1\r\n:1\r\n"
    wait_for(lambda: s.asks() >= 1, "the map asked", 20)
    ws = connect(port, "/ws?channels=calm")
    st, body = pub(port, "calm", "x")
    wait_for(lambda: s.asks() >= 5, "the map asked again", 20)
    st2, _ = pub(port, "calm", "x")
    s.cluster.maker = None
    s.ready()
    res = s.after(log, ws=ws)
    out("bad maps: publishes %d %d (%s), %s, cluster link %s, %s, %s" % (
        st, st2, json.loads(body).get("error"),
        "each counted as a bad reply" if bad_replies(port) == s.cluster.made
        else "%d bad replies of %d" % (bad_replies(port), s.cluster.made),
        lost(log, MAP_LOST), others(log, MAP_LOST), res))
    ws.abort()
    s.stop()


if __name__ == "__main__":
    sys.exit(client.main())
