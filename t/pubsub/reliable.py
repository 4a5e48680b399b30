#!/usr/bin/python3
"""Reliable-delivery scenarios for t/404-*.t and t/405-*.t, run like
client.py and redis.py (whose helpers they use):

    reliable.py --port N SCENARIO [key=value ...]
"""

import json
import os
import random
import re
import select
import signal
import sys
import time

sys.dont_write_bytecode = True      # no __pycache__ in the source tree
import client                       # noqa: E402
import redis as rd                  # noqa: E402
from client import command, out, scenario  # noqa: E402
from http.client import HTTPException  # noqa: E402
from wsclient import (WS, connect, publish, pump,  # noqa: E402
                      request)


LOCAL = False       # the ledger without Redis: local ids, no redis to ask

# the ledger's faults that other scenario files add, by name
# (t/pubsub/sentinel.py: "failover"), and a function that names the port
# of the Redis master when a fault may move it
FAULTS = {}
MASTER = None

# in a Redis Cluster (t/pubsub/cluster_faults.py): the sets of the acks
# awaited, one per shard, and a function that sends a command to the
# master of the key it names; and the publisher gives each message an
# id of its own and sends every 503 again with it, as a publisher does
# where a 503 may say "published, but not on a replica in time"
# (ws_perf_redis_wait_replicas)
DUE_KEYS = ["ws_perf:due"]
ROUTE = None
OWN_IDS = False


def follow_master():
    """rd.redis() asks the master that MASTER names, if any"""
    port = MASTER() if MASTER else None
    if port:
        rd.REDIS_PORT = port


def follow_engine():
    """in a Redis Cluster (WS_PERF_ENGINE=cluster) unless told otherwise:
    the sets of the acks awaited, one per shard, each asked of its
    master"""
    global DUE_KEYS, ROUTE
    if ROUTE is None and rd.in_cluster():
        DUE_KEYS = rd.shard_keys("due")
        ROUTE = rd.route


def ask(key, *args):
    """a command about key, to the master that has it"""
    if ROUTE:
        return ROUTE(key, *args)
    follow_master()
    return rd.redis(*args, timeout=2)


def msgs(c, kind="msg"):
    return [m for m in c.messages() if m.get("type") == kind]


def wait_type(c, kind, n=1, timeout=10):
    pump([c], lambda: len(msgs(c, kind)) >= n or c.eof, timeout,
         "%d %s" % (n, kind))


def now_ms():
    return int(time.time() * 1000)


# ------------------------------------------------------------ functional

@scenario
def inbox(port, user="bob", keep="5"):
    """An offline user's messages wait in the inbox (ws_perf_offline_max of
    them); resume gives every newer one in order, says when older ones are
    gone, and gives nothing twice."""
    keep = int(keep)
    ids = []
    for i in range(keep + 2):
        ids += publish(port, {"user": user, "data": "m%d" % i})["ids"]
    c = connect(port, "/ws?user=" + user)
    rd.wait_info([port], "user=" + user, 1)

    c.send_json({"type": "resume", "user": True, "since": ids[0]})
    wait_type(c, "resumed")
    gap = msgs(c, "gap")
    got = [(m["id"], m["data"]) for m in msgs(c)]
    out("resume after the first of %d: gap notice %s, then %s" % (
        keep + 2, "since it, last %s" % ("the newest id" if gap and
                                          gap[0]["last"] == ids[-1]
                                          else gap) if gap else "missing",
        "the newest %d in order" % keep
        if got == [(ids[i], "m%d" % i) for i in range(2, keep + 2)]
        else got))
    out("resumed: %s" % {k: v for k, v in msgs(c, "resumed")[0].items()
                         if k != "type"})

    c.send_json({"type": "resume", "user": True, "since": ids[-1]})
    wait_type(c, "resumed", 2)
    out("resume after the newest: %d more, %d gap notices" % (
        len(msgs(c)) - keep, len(msgs(c, "gap")) - 1))

    c.send_json({"type": "resume", "user": True, "since": ids[-3]})
    wait_type(c, "resumed", 3)
    out("resume after the third newest: %s" % [m["data"]
                                               for m in msgs(c)[keep:]])
    for since, what in (("abc", "not a number"),):
        r = command(c, {"type": "resume", "user": True, "since": since})
        out("resume since %s: %s %s" % (what, r.get("type"), r.get("code")))
    r = command(c, {"type": "resume", "channel": "elsewhere", "since": "1"})
    out("resume of a channel it is not in: %s %s" % (r.get("type"),
                                                     r.get("code")))
    c.abort()


@scenario
def history(port, channel="hist", n="15", keep="10"):
    """A channel keeps its last ws_perf_history messages for resume."""
    n, keep = int(n), int(keep)
    ids = []
    for i in range(n):
        ids += publish(port, {"channel": channel, "data": i})["ids"]
    c = connect(port, "/ws?channels=" + channel)
    rd.wait_info([port], "channel=" + channel, 1)
    c.send_json({"type": "resume", "channel": channel, "since": ids[n - 4]})
    wait_type(c, "resumed")
    out("resume after the 4th newest of %d: %s, gap notices %d" % (
        n, [m["data"] for m in msgs(c)], len(msgs(c, "gap"))))
    c.send_json({"type": "resume", "channel": channel, "since": ids[0]})
    wait_type(c, "resumed", 2)
    out("resume after the first: gap notice %s, then %d messages" % (
        "given" if msgs(c, "gap") else "missing", len(msgs(c)) - 3))
    c.abort()


@scenario
def seam(port, user="seam", n="300"):
    """Messages published while a resume is under way arrive once each, in
    order, after the history: no gap and no duplicate at the seam."""
    n = int(n)
    first = publish(port, {"user": user, "data": -1})["ids"][0]
    c = connect(port, "/ws?user=" + user)
    rd.wait_info([port], "user=" + user, 1)
    ids = []
    half = n // 2
    for i in range(half):
        ids += publish(port, {"user": user, "data": i})["ids"]
    # the resume goes while publishes continue
    c.send_json({"type": "resume", "user": True, "since": first})
    for i in range(half, n):
        ids += publish(port, {"user": user, "data": i})["ids"]
    publish(port, {"user": user, "data": "end"})
    pump([c], lambda: msgs(c, "resumed") and any(m.get("data") == "end"
                                                 for m in msgs(c)), 20,
         "end")
    seq = [m["id"] for m in msgs(c) if m.get("data") != "end"]
    # the replay starts at the second copy of the first message
    at = [i for i, x in enumerate(seq) if x == ids[0]]
    out("live before the replay: %s" % (
        "the first ones, in order" if len(at) == 2
        and seq[:at[1]] == ids[:at[1]] else client.summary(seq)))
    out("from the replay on: every message once, in order: %s" % (
        "yes" if len(at) == 2 and seq[at[1]:] == ids
        else "no: %s" % client.summary(seq[at[-1]:] if at else seq)))
    c.abort()


@scenario
def acks(port, user="carol", attempts="3"):
    """A message that asks for an ack comes again, with the same id and a
    growing wait, until acked; unacked after ws_perf_max_attempts it is
    dead-lettered; the admin API lists, shows, replays and deletes it."""
    attempts = int(attempts)
    c = connect(port, "/ws?user=" + user)
    rd.wait_info([port], "user=" + user, 1)
    r = publish(port, [{"user": user, "data": "ignored", "ack": True},
                       {"user": user, "data": "acked", "ack": True}])
    ign, ackd = r["ids"]
    wait_type(c, "msg", 2)
    r = command(c, {"type": "ack", "id": ackd})
    out("ack of the second: %s" % r.get("type"))
    r = command(c, {"type": "ack", "id": ackd})
    out("the same ack again: %s %s" % (r.get("type"), r.get("code")))

    def dead():
        _, _, body = request(port, "GET", "/dlq?target=u:" + user)
        return json.loads(body)["entries"]
    pump([c], lambda: len([m for m in msgs(c) if m.get("id") == ign])
         >= attempts, 30, "the redeliveries")
    rd.wait_for(lambda: dead(), 30, "the dead letter")
    pump([c], lambda: False if c.unread() else True, 5, "the rest")
    times = [m for m in msgs(c) if m.get("id") == ign]
    out("the unacked one came %d times, always with its id" % len(times))
    out("the acked one came once: %s" % (
        len([m for m in msgs(c) if m.get("id") == ackd]) == 1))
    e = dead()[0]
    out("dead letter: id %s, reason %s, attempts %d, message data %s" % (
        "the message's" if e["id"] == ign else e["id"], e["reason"],
        e["attempts"], e["message"]["data"]))
    st, _, body = request(port, "GET", "/dlq?id=" + e["dlq_id"])
    out("GET ?id=: %d, %s" % (st, "the entry" if json.loads(body)
                              ["dlq_id"] == e["dlq_id"] else body))
    st, _, body = request(port, "GET", "/dlq?reason=expired")
    out("filter by another reason: %d entries" % len(
        json.loads(body)["entries"]))
    st, _, body = request(port, "GET", "/dlq?count=0")
    out("count=0: %d" % st)
    n = len(msgs(c))
    st, _, body = request(port, "POST", "/dlq?replay=" + e["dlq_id"])
    out("replay: %d %s" % (st, body.decode().strip()))
    pump([c], lambda: len(msgs(c)) > n, 10, "the replayed message")
    m = msgs(c)[n]
    out("replayed message: same id %s, data %s" % (m["id"] == ign,
                                                   m["data"]))
    command(c, {"type": "ack", "id": ign})
    st, _, body = request(port, "GET", "/dlq?target=u:" + user)
    out("dead letters after the replay: %d" % len(json.loads(body)
                                                  ["entries"]))
    st, _, body = request(port, "DELETE", "/dlq?id=" + e["dlq_id"])
    out("delete of a replayed entry: %d" % st)
    st, _, body = request(port, "GET", "/dlq")
    out("counts by reason: %s" % json.loads(body)["counts"])
    c.abort()


@scenario
def ack_priority(port, user="frank"):
    """ws_perf_ack_priorities: a user's critical message needs an ack
    without asking for one; a low one does not."""
    c = connect(port, "/ws?user=" + user)
    rd.wait_info([port], "user=" + user, 1)
    crit = publish(port, {"user": user, "data": "c",
                          "priority": "critical"})["ids"][0]
    publish(port, {"user": user, "data": "l", "priority": "low"})
    pump([c], lambda: len([m for m in msgs(c) if m["id"] == crit]) >= 2,
         10, "the critical one again")
    out("critical: ack %s, came again unacked" % msgs(c)[0]["ack"])
    r = command(c, {"type": "ack", "id": crit})
    out("acked: %s" % r.get("type"))
    low = [m for m in msgs(c) if m["data"] == "l"]
    out("low: ack %s, came %d time(s)" % (low[0]["ack"], len(low)))
    c.abort()


@scenario
def lost_ack(port, user="lee"):
    """A message whose ack was lost (the client got it, its ack never
    reached redis) comes again after the client resumed past it, though
    nothing newer came for the user: the live copies a resume drops are
    only those its history gave."""
    c = connect(port, "/ws?user=" + user)
    rd.wait_info([port], "user=" + user, 1)
    mid = publish(port, {"user": user, "data": "ack lost",
                         "ack": True})["ids"][0]
    wait_type(c, "msg")
    # no ack; the resume goes before the first redelivery is due
    c.send_json({"type": "resume", "user": True, "since": mid})
    wait_type(c, "resumed")
    n = len(c.messages())
    out("resume after it: %s" % {k: v for k, v in msgs(c, "resumed")[0]
                                 .items() if k != "type"})
    pump([c], lambda: any(m.get("id") == mid for m in c.messages()[n:]),
         10, "the redelivery after the resume")
    out("it came again after the resume, with its id")
    r = command(c, {"type": "ack", "id": mid})
    out("ack: %s" % r.get("type"))
    c.abort()


@scenario
def dlq_admin(port, user="dave", n="3"):
    """Paging through dead letters, and purging them."""
    n = int(n)
    c = connect(port, "/ws?user=" + user)
    rd.wait_info([port], "user=" + user, 1)
    publish(port, [{"user": user, "data": i, "ack": True} for i in range(n)])

    def dead():
        _, _, body = request(port, "GET", "/dlq?target=u:" + user)
        return json.loads(body)["entries"]
    rd.wait_for(lambda: len(dead()) == n, 30, "the dead letters")
    st, _, body = request(port, "GET", "/dlq?target=u:%s&count=2" % user)
    page = json.loads(body)
    st, _, body = request(port, "GET", "/dlq?target=u:%s&count=2&after=%s"
                          % (user, page["next"]))
    page2 = json.loads(body)
    out("pages of 2: %d then %d, next then %s" % (
        len(page["entries"]), len(page2["entries"]), page2["next"]))
    out("in order: %s" % ([e["message"]["data"] for e in page["entries"]
                           + page2["entries"]] == list(range(n))))
    st, _, body = request(port, "DELETE", "/dlq?id=all")
    out("purge: %d %s" % (st, json.loads(body)))
    st, _, body = request(port, "GET", "/dlq")
    out("after the purge: %d entries" % len(json.loads(body)["entries"]))
    st, _, body = request(port, "DELETE", "/dlq?id=1-0")
    out("delete of an unknown id: %d" % st)
    st, _, body = request(port, "PUT", "/dlq")
    out("PUT: %d" % st)
    c.abort()


@scenario
def pending_cap(port, user="erin", cap="3"):
    """Past ws_perf_max_pending_acks unacked messages, a user's publishes
    that ask for acks are refused with 429."""
    cap = int(cap)
    for i in range(cap):
        publish(port, {"user": user, "data": i, "ack": True})
    st, h, body = request(port, "POST", "/pub", {"user": user, "data": "x",
                                                 "ack": True})
    out("one more: %d, %s" % (st, json.loads(body)["error"]))
    publish(port, {"user": user, "data": "no ack needed"})
    out("one without an ack: accepted")


@scenario
def scheduled(port, channel="sch", node="", node_ws=""):
    """Scheduled messages go out once cluster-wide, when due, those due
    together highest priority first; a cancelled one never does; one
    scheduled through a node that then stops is still delivered (with
    node=, in redis mode)."""
    c = connect(port, "/ws?channels=" + channel)
    rd.wait_info([port], "channel=" + channel, 1)
    at = now_ms() + 600
    r = publish(port, [{"channel": channel, "data": p, "priority": p,
                        "deliver_at": at}
                       for p in ("low", "normal", "critical", "high")])
    # "s<n>", in a Redis Cluster "<shard>.s<n>"
    out("scheduled ids: %s" % ("given" if all(
        re.fullmatch(r"(\d+\.)?s\d+", i) for i in r["ids"]) else r))
    x = publish(port, {"channel": channel, "data": "cancelled",
                       "delay": 300})["ids"][0]
    st, _, body = request(port, "DELETE", "/pub?schedule=" + x)
    out("cancel: %d %s" % (st, body.decode().strip()))
    st, _, body = request(port, "DELETE", "/pub?schedule=" + x)
    out("cancel again: %d" % st)
    n = 4
    if node:
        # redis mode: a second node takes one and stops before it is due
        n = 5
        second = rd.Node(int(node), int(node_ws), 2)
        try:
            rd.publish_ready(int(node), {"channel": channel,
                                         "data": "via the node",
                                         "delay": 900})
        finally:
            bad = second.stop()
        out("the node that took it stopped%s" % ("" if not bad else
                                                   ": %s" % bad[:3]))
    pump([c], lambda: len(msgs(c)) >= n, 10, "the scheduled messages")
    t = time.time() * 1000
    got = [m["data"] for m in msgs(c)]
    out("delivered: %s" % got)
    late = max(0, t - at - (900 if node else 0))
    sys.stderr.write("lateness of the last: %.0f ms\n" % late)
    time.sleep(0.5)
    out("nothing more came: %s" % (len(msgs(c)) == n))
    st, _, body = request(port, "POST", "/pub", {"channel": channel,
                                                 "data": 1, "delay": -5})
    out("a negative delay: %d" % st)
    c.abort()


@scenario
def expiry(port, user="ida"):
    """Local mode, ws_perf_offline_ttl 1s: a message waiting for an ack
    longer than that is dead-lettered as expired; an inbox without a new
    message for that long is let go, and a resume says so."""
    ids = publish(port, [{"user": user, "data": "kept"},
                         {"user": user, "data": "acked?", "ack": True}])["ids"]

    def dead():
        _, _, body = request(port, "GET", "/dlq?target=u:" + user)
        return json.loads(body)["entries"]
    rd.wait_for(lambda: dead(), 10, "the dead letter")
    e = dead()[0]
    out("dead letter: %s, attempts %d, id the message's: %s" % (
        e["reason"], e["attempts"], e["id"] == ids[1]))
    time.sleep(1.2)
    c = connect(port, "/ws?user=" + user)
    rd.wait_info([port], "user=" + user, 1)
    c.send_json({"type": "resume", "user": True, "since": ids[0]})
    wait_type(c, "resumed")
    out("resume after the ttl: gap notice %s, %d messages" % (
        "given" if msgs(c, "gap") else "missing", len(msgs(c))))
    c.abort()


@scenario
def undeliverable(port, user="gina", cap="1", dlq_max="2"):
    """Local mode: scheduled messages for a user at
    ws_perf_max_pending_acks are dead-lettered as undeliverable when due;
    the dead letters are bounded by ws_perf_dlq_max, the oldest dropped."""
    cap, dlq_max = int(cap), int(dlq_max)
    for i in range(cap):
        publish(port, {"user": user, "data": "waits", "ack": True})
    publish(port, [{"user": user, "data": i, "ack": True, "delay": 100}
                   for i in range(dlq_max + 1)])

    def dead():
        _, _, body = request(port, "GET", "/dlq?reason=undeliverable")
        return json.loads(body)
    rd.wait_for(lambda: dead()["counts"].get("undeliverable") == dlq_max + 1,
                10, "the dead letters")
    d = dead()
    out("counts: %s" % d["counts"])
    out("kept, the newest: %s" % [e["message"]["data"]
                                  for e in d["entries"]])
    e = d["entries"][0]
    out("entry: id %r, target %s, attempts %d, message id %s, ack %s" % (
        e["id"], e["target"], e["attempts"], e["message"]["id"],
        e["message"]["ack"]))


@scenario
def replay_order(port, user="hank"):
    """Local mode: dead letters replayed with ?replay=all go out highest
    priority first, each with its id."""
    c = connect(port, "/ws?user=" + user)
    rd.wait_info([port], "user=" + user, 1)
    ids = publish(port, [{"user": user, "data": p, "priority": p,
                          "ack": True}
                         for p in ("low", "critical", "normal")])["ids"]

    def dead():
        _, _, body = request(port, "GET", "/dlq?target=u:" + user)
        return json.loads(body)["entries"]
    rd.wait_for(lambda: len(dead()) == 3, 20, "the dead letters")
    pump([c], lambda: False if c.unread() else True, 5, "the rest")
    n = len(msgs(c))
    st, _, body = request(port, "POST", "/dlq?replay=all")
    out("replay all: %d %s" % (st, body.decode().strip()))
    pump([c], lambda: len(msgs(c)) >= n + 3, 10, "the replayed messages")
    got = msgs(c)[n:n + 3]
    out("replayed: %s, ids kept: %s" % (
        [m["data"] for m in got],
        sorted(m["id"] for m in got) == sorted(ids)))
    for i in ids:
        command(c, {"type": "ack", "id": i})
    st, _, body = request(port, "POST", "/dlq?replay=all")
    out("replay of nothing: %d %s" % (st, body.decode().strip()))
    c.abort()


@scenario
def reload_keeps(port, user="jo"):
    """Without Redis the inbox lives in the shared zone, which nginx keeps
    across a reload: a resume on a new worker, once every old one has
    exited, gets the message without a gap notice."""
    ids = publish(port, [{"user": user, "data": i} for i in range(2)])["ids"]

    def resume():
        c = connect(port, "/ws?user=" + user)
        try:
            c.send_json({"type": "resume", "user": True, "since": ids[0]})
        except Exception:
            c.abort()
            return None
        wait_type(c, "resumed")
        r = (len(msgs(c, "gap")), len(msgs(c))) if msgs(c, "resumed") \
            else None
        c.abort()
        return r
    out("before the reload: %d gap notices, %d messages" % resume())
    old = set(rd.pids_of_workers())
    os.kill(rd.master_pid(), signal.SIGHUP)
    deadline = time.monotonic() + 10 * client.wsclient.SCALE
    while time.monotonic() < deadline:
        now = set(rd.pids_of_workers())
        if now and not (now & old):
            break
        time.sleep(0.05)
    out("the old workers are gone: %s" % (not (set(rd.pids_of_workers())
                                               & old)))
    r = resume()
    out("after the reload: %s" % ("%d gap notices, %d messages" % r if r
                                  else "no answer"))


# ------------------------------------------------------------- the ledger

# the runner kills a scenario at 120 s (WsPerf::PubSub): the ledger gives
# up before that, saying what it still waits for, and a wait it cannot
# leave by itself is broken by an alarm a little later
LEDGER_LIMIT = 100
LEDGER_ALARM = 110


class GiveUp(Exception):
    pass


class User:
    def __init__(self, port, name):
        self.port, self.name = port, name
        self.conn = None
        self.last = 0
        self.got = {}           # (u, k) -> set of ids
        self.copies = 0
        self.reconnects = 0
        self.down_until = 0
        self.dropped = False
        self.resuming = None    # when the resume went that is unanswered
        self.event = (time.monotonic(), "created")
        self.acks = 0
        self.times = {}         # id -> copies received (each acked)
        self.last_seq = 0
        self.last_local = None

    def note(self, what):
        self.event = (time.monotonic(), what)

    def connect(self):
        self.conn = WS(self.port, "/ws?user=" + self.name)
        self.fresh = True
        self.handled = 0
        self.resuming = None
        self.note("connecting")

    def step(self):
        c = self.conn
        if c is None:
            if time.monotonic() >= self.down_until:
                self.connect()
            return
        if c.eof:
            self.conn = None
            self.reconnects += 1
            self.down_until = time.monotonic() + random.uniform(0, 0.2)
            self.note("connection closed (close code %s)" % c.close_code())
            return
        if self.fresh and c.response is not None:
            self.fresh = False
            if c.status() != 101:
                self.note("handshake answered %s" % c.status())
                c.abort()
                return
            self.note("connected")
            self.resume()
        ms = c.messages()
        for m in ms[self.handled:]:
            t = m.get("type")
            if t == "notice":
                self.note("notice %s" % m.get("code"))
                self.resume()
            elif t == "resumed":
                self.resuming = None
                self.note("resumed, %s messages" % m.get("count"))
            elif t in ("gap", "error"):
                self.note("%s %s" % (t, json.dumps(m, sort_keys=True)))
            if t != "msg":
                continue
            d = m.get("data") or {}
            key = (d.get("u"), d.get("k"))
            ids = self.got.setdefault(key, set())
            if ids:
                self.copies += 1
            ids.add(m["id"])
            self.times[m["id"]] = self.times.get(m["id"], 0) + 1
            if m["id"].isdigit():
                self.last = max(self.last, int(m["id"]))
            elif m["id"].count("-") == 2 and m["id"].replace("-", "") \
                    .isdigit() and int(m["id"].rsplit("-", 1)[1]) \
                    > self.last_seq:
                # the shared-memory engine's "<ms>-<worker>-<seq>"
                self.last_seq = int(m["id"].rsplit("-", 1)[1])
                self.last_local = m["id"]
            self.note("msg %s (k=%s), acked" % (m["id"], d.get("k")))
            self.send({"type": "ack", "id": m["id"]})
            self.acks += 1
        self.handled = len(ms)

    def resume(self):
        self.resuming = time.monotonic()
        since = self.last_local or ("0-0-0" if LOCAL else str(self.last))
        self.send({"type": "resume", "user": True, "since": since})

    def send(self, obj):
        """a connection the server is closing takes nothing more"""
        try:
            self.conn.send_json(obj)
        except Exception:
            self.conn.abort()

    def state(self, now):
        if self.conn is None:
            s = "no connection (reconnects in %.1f s)" % max(
                0, self.down_until - now)
        elif self.conn.response is None:
            s = "waiting for the handshake answer"
        elif self.resuming is not None:
            s = "waiting %.1f s for resumed" % (now - self.resuming)
        else:
            s = "connected, idle"
        return "%s; last id %d; last event %.1f s ago: %s; %d reconnects" % (
            s, self.last, now - self.event[0], self.event[1],
            self.reconnects)


def pending_acks(us):
    """{user index: [(id, attempts, due in s)]} of what waits for an ack
    in redis, or a string saying why it cannot be read"""
    try:
        due = []
        for key in DUE_KEYS:
            due += ask(key, "ZRANGE", key, 0, -1, "WITHSCORES")
        t = ask(DUE_KEYS[0], "TIME")
    except (OSError, ConnectionError, RuntimeError) as e:
        return "redis: %s" % e
    now = int(t[0]) * 1000 + int(t[1]) // 1000
    names = {u.name: i for i, u in enumerate(us)}
    r = {}
    for member, score in zip(due[::2], due[1::2]):
        key, _, mid = member.rpartition("|")
        # <prefix>u:NAME, in a cluster <prefix>{shard}u:NAME
        name = re.split(r"[:}]u:", key, 1)[-1]
        if name not in names:
            continue
        try:
            v = ask(key, "HGET", key + "#p", mid) or ""
        except (OSError, ConnectionError, RuntimeError):
            v = ""
        tries = v.split(" ", 1)[0] if v else "?"
        r.setdefault(names[name], []).append(
            (mid, tries, (float(score) - now) / 1000))
    return r


def ledger_report(us, accepted, k, nm, phase, started):
    """What the ledger still waits for, when it gives up."""
    now = time.monotonic()
    out("GAVE UP after %.1f s, %s; %d of %d published, %d accepted" % (
        now - started, phase, k, nm, len(accepted)))
    missing = sorted(key for key in accepted if not us[key[0]].got.get(key))
    out("missing (never received): %d%s" % (len(missing), "".join(
        "\n  user %s k=%d id %s" % (us[u].name, kk, accepted[(u, kk)])
        for u, kk in missing[:40])))
    pend = pending_acks(us)
    if isinstance(pend, str):
        out("awaiting an ack: unknown (%s)" % pend)
        pend = {}
    else:
        out("awaiting an ack in redis: %d%s" % (
            sum(len(v) for v in pend.values()), "".join(
                "\n  user %s id %s: %s attempts, due again in %.1f s, "
                "%s" % (us[u].name, mid, tries, left,
                        "received %d time(s), an ack sent for each"
                        % us[u].times[mid] if mid in us[u].times
                        else "never received")
                for u, v in sorted(pend.items()) for mid, tries, left in
                v[:5])))
    who = sorted(set(u for u, _ in missing) | set(pend))
    out("their connections:%s" % "".join(
        "\n  %s: %s" % (us[u].name, us[u].state(now)) for u in who[:40]))


@scenario
def ledger(port, users="100", msgs_="1000", fault="none", store="redis"):
    """1,000 messages that ask for acks to 100 users whose clients drop
    their connections at random and resume; with fault=reload an nginx
    reload, fault=kill a worker killed with SIGKILL, fault=redis a redis
    restart (AOF on) halfway.  Every message the publisher was told was
    accepted reaches its user (or the dead-letter queue); copies carry the
    same id.  Gives up before the runner's limit, printing what is missing
    and what each connection waits for.  store=shm: without Redis (the
    shared-memory engine), a fault of redis does not apply."""
    global LOCAL
    LOCAL = store == "shm"
    follow_engine()
    nu, nm = int(users), int(msgs_)
    # users of their own: earlier runs' inboxes are in the same redis
    us = [User(port, "%s%d" % (fault, i)) for i in range(nu)]
    started = time.monotonic()
    deadline = started + LEDGER_LIMIT * client.wsclient.SCALE
    accepted, uncertain, refused = {}, set(), 0
    k = 0
    faulted = fault == "none"
    drops = 0
    phase = "connecting"

    def alarm(signum, frame):
        raise GiveUp("stuck in a wait (alarm)")
    signal.signal(signal.SIGALRM, alarm)
    signal.alarm(int(LEDGER_ALARM * client.wsclient.SCALE))
    try:
        for u in us:
            u.connect()
        while True:
            if time.monotonic() > deadline:
                raise GiveUp("deadline")
            for u in us:
                if u.conn is not None:
                    try:
                        u.conn.readable()
                    except OSError:
                        u.conn.eof = True
                u.step()
                # every client drops its connection once at its turn, and
                # now and then at random
                turn = int(u.name[len(fault):]) * nm // nu
                if u.conn is not None and (random.random() < 0.002
                                           or (not u.dropped
                                               and k >= turn)):
                    u.dropped = True
                    u.conn.abort()
                    drops += 1
            # publish a few per pass
            phase = "publishing"
            for _ in range(5):
                if k >= nm:
                    break
                u = k % nu
                m = {"user": "%s%d" % (fault, u), "data": {"u": u, "k": k},
                     "ack": True}
                if OWN_IDS:
                    m["id"] = "k%d" % k
                st, _, body = request(port, "POST", "/pub", m)
                if st == 202:
                    accepted[(u, k)] = json.loads(body)["ids"][0]
                    k += 1
                elif b"unavailable" in body or st == 429 or \
                        OWN_IDS and st == 503:
                    # never reached redis, or may go again with its id
                    refused += 1
                    break
                else:
                    uncertain.add((u, k))
                    k += 1
            if not faulted and k >= nm // 2:
                faulted = True
                phase = "injecting the fault (%s)" % fault
                if fault == "reload":
                    os.kill(rd.master_pid(), signal.SIGHUP)
                elif fault == "kill":
                    w = rd.pids_of_workers()
                    os.kill(w[0], signal.SIGKILL)
                elif fault == "redis":
                    rd.redis_stop()
                    rd.redis_start()
                elif fault in FAULTS:
                    FAULTS[fault]()
            if k >= nm:
                phase = "waiting for deliveries"
                missing = [key for key in accepted
                           if not us[key[0]].got.get(key)]
                if not missing and store == "shm":
                    break
                if not missing:
                    phase = "waiting for acks to reach redis"
                    try:
                        pending = sum(ask(key, "ZCARD", key)
                                      for key in DUE_KEYS)
                    except (OSError, ConnectionError, RuntimeError):
                        pending = -1
                    if pending == 0:
                        break
            time.sleep(0.002)
    except GiveUp as e:
        signal.alarm(0)
        ledger_report(us, accepted, k, nm, "%s, %s" % (e, phase), started)
        raise
    signal.alarm(0)
    got = {}
    for u in us:
        for key, ids in u.got.items():
            got[key] = ids
    lost = [key for key in accepted if key not in got]
    stray = [key for key in got if key not in accepted
             and key not in uncertain]
    twoids = [key for key, ids in got.items() if len(ids) > 1]
    wrong = [key for key in accepted if key in got
             and accepted[key] not in got[key]]
    _, _, body = request(port, "GET", "/dlq?target=")
    dead = len(json.loads(body)["entries"]) if body else 0
    out("%d messages accepted for %d users (%s)" % (
        len(accepted), nu, fault))
    out("received: every accepted one" if not lost
        else "LOST: %s" % client.summary(lost))
    out("none received that was not sent" if not stray
        else "stray: %s" % client.summary(stray))
    out("copies always with the message's id" if not twoids and not wrong
        else "ids differ: %s %s" % (client.summary(twoids),
                                    client.summary(wrong)))
    out("dead letters: %d; awaiting an ack at the end: 0" % dead)
    sys.stderr.write("ledger %s: %d accepted, %d refused and retried, %d "
                     "uncertain, %d copies, %d drops, %d reconnects, "
                     "%.1f s\n" % (
                         fault, len(accepted), refused, len(uncertain),
                         sum(u.copies for u in us), drops,
                         sum(u.reconnects for u in us),
                         time.monotonic() - started))
    for u in us:
        if u.conn:
            u.conn.abort()


@scenario
def soak_ledger(port, users="200", seconds="1800", rate="20", drain="120",
                name="soak"):
    """For make soak (bench/soak.sh), while something else injects the
    faults: ack-required messages at rate per second to users whose
    clients drop their connections now and then (each about once a
    minute) and resume, for seconds; then at most drain seconds for the
    ledger to balance: every accepted message received, none that was not
    sent, copies with the same id, nothing left awaiting an ack."""
    nu, secs, rate = int(users), float(seconds), float(rate)
    us = [User(port, "%s%d" % (name, i)) for i in range(nu)]
    started = time.monotonic()
    stop_at = started + secs
    deadline = stop_at + float(drain)
    accepted, uncertain, refused = {}, set(), 0
    k = drops = 0
    next_report = started + 60
    phase = "traffic"
    last_pass = started
    try:
        while True:
            now = time.monotonic()
            # each client drops its connection about once a minute
            p_drop = (now - last_pass) / 60
            last_pass = now
            if now > deadline:
                raise GiveUp("the drain took more than %s s" % drain)
            socks = {}
            for u in us:
                if u.conn is not None and not u.conn.eof:
                    socks[u.conn.sock.fileno()] = u
            poll = select.poll()
            for fd in socks:
                poll.register(fd, select.POLLIN)
            for fd, _ in poll.poll(10):
                c = socks[fd].conn
                try:
                    c.readable()
                except OSError:
                    c.eof = True
            for u in us:
                try:
                    u.step()
                except OSError as e:
                    # nginx between generations (a reload, a killed worker)
                    u.note("connect failed: %s" % e)
                    u.conn = None
                    u.down_until = time.monotonic() + 0.2
                if u.conn is not None and now < stop_at and \
                        random.random() < p_drop:
                    u.conn.abort()
                    drops += 1
            due = min(int((now - started) * rate), int(secs * rate))
            while k < due and now < stop_at:
                u = k % nu
                try:
                    st, _, body = request(port, "POST", "/pub", {
                        "user": "%s%d" % (name, u),
                        "data": {"u": u, "k": k}, "ack": True}, timeout=5)
                except (OSError, HTTPException) as e:
                    st, body = 0, str(e).encode()
                if st == 202:
                    accepted[(u, k)] = json.loads(body)["ids"][0]
                    k += 1
                elif st in (429, 503) or st == 0 and \
                        b"refused" in body.lower():
                    refused += 1        # never reached redis: again later
                    break
                else:
                    uncertain.add((u, k))   # may or may not have
                    k += 1
            if now >= stop_at:
                phase = "drain"
                missing = [key for key in accepted
                           if not us[key[0]].got.get(key)]
                if not missing:
                    try:
                        pending = rd.redis("ZCARD", "ws_perf:due",
                                           timeout=2)
                    except (OSError, ConnectionError, RuntimeError):
                        pending = -1
                    if pending == 0:
                        break
            if now >= next_report:
                next_report += 60
                sys.stderr.write(
                    "soak ledger %.0f s: %d accepted, %d uncertain, %d "
                    "refused, %d received, %d drops, %d reconnects\n" % (
                        now - started, len(accepted), len(uncertain),
                        refused, sum(len(u.got) for u in us), drops,
                        sum(u.reconnects for u in us)))
    except GiveUp as e:
        ledger_report(us, accepted, k, k, "%s, %s" % (e, phase), started)
        raise
    got = {}
    for u in us:
        got.update(u.got)
    lost = [key for key in accepted if key not in got]
    stray = [key for key in got if key not in accepted
             and key not in uncertain]
    twoids = [key for key, ids in got.items() if len(ids) > 1]
    wrong = [key for key in accepted if key in got
             and accepted[key] not in got[key]]
    try:
        _, _, body = request(port, "GET", "/dlq?target=")
        dead = len(json.loads(body)["entries"])
    except (OSError, ValueError, KeyError):
        dead = -1
    out("soak ledger: %d users, %d accepted, %d uncertain (%d of them "
        "received), %d refused and retried, %d copies, %d drops, %d "
        "reconnects, balanced after %.1f s of drain" % (
            nu, len(accepted), len(uncertain),
            len([x for x in uncertain if x in got]), refused,
            sum(u.copies for u in us), drops,
            sum(u.reconnects for u in us), time.monotonic() - stop_at))
    out("received: every accepted one" if not lost
        else "LOST: %s" % client.summary(lost))
    out("none received that was not sent" if not stray
        else "stray: %s" % client.summary(stray))
    out("copies always with the message's id" if not twoids and not wrong
        else "ids differ: %s %s" % (client.summary(twoids),
                                    client.summary(wrong)))
    out("dead letters: %d; awaiting an ack at the end: 0" % dead)
    for u in us:
        if u.conn:
            u.conn.abort()
    if lost or stray or twoids or wrong or dead:
        raise AssertionError("the ledger does not balance")


if __name__ == "__main__":
    sys.exit(client.main())
