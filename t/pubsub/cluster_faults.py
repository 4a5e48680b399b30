#!/usr/bin/python3
"""Redis Cluster faults for t/415-redis-cluster-faults.t, run like
cluster.py (whose helpers they use):

    cluster_faults.py --port N SCENARIO [key=value ...]

Slots moved with redis-cli --cluster reshard while a publisher goes on,
and the ledger of reliable.py with a master killed.  The test file's
cluster (t/lib/WsPerf/Cluster.pm) has its first node on
$TEST_NGINX_CLUSTER_PORT, its files under $TEST_NGINX_CLUSTER_DIR.
"""

import json
import os
import re
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True      # no __pycache__ in the source tree
import acl                          # noqa: E402,F401  its scenarios
import client                       # noqa: E402
import cluster as cl                # noqa: E402
import redis as rd                  # noqa: E402
import reliable                     # noqa: E402
from client import out, scenario    # noqa: E402
from wsclient import (WS, Timeout, connect, connect_many,  # noqa: E402
                      info, pump, request)


DIR = os.environ.get("TEST_NGINX_CLUSTER_DIR", "/tmp")

# keys moved per MIGRATE: a slot's keys in several batches, as a shard
# with many channels has them
PIPELINE = 2


def scaled(secs):
    return secs * client.wsclient.SCALE


def nodes(port=None):
    """{port: (id, role, [slots], its master's id or "-")} of the nodes
    one knows (the seed)"""
    r = {}
    for line in cl.call(port or cl.SEED, "CLUSTER", "NODES").splitlines():
        f = line.split()
        p = int(f[1].split("@")[0].rsplit(":", 1)[1])
        slots = []
        for s in f[8:]:
            if s.startswith("["):
                continue            # a slot being migrated or imported
            lo, _, hi = s.partition("-")
            slots.extend(range(int(lo), int(hi or lo) + 1))
        role = "master" if "master" in f[2].split(",") else "replica"
        if "fail" in f[2] or "noaddr" in f[2]:
            role = "failed"
        r[p] = (f[0], role, slots, f[3])
    return r


def agreed():
    """The map, once every node that answers sees the same slots of the
    same masters, and the cluster ok (redis-cli --cluster reshard asks as
    much); else None"""
    views = set()
    for port in nodes():
        try:
            view = nodes(port)
            if "cluster_state:ok" not in cl.call(port, "CLUSTER", "INFO"):
                return None
        except (OSError, RuntimeError, ConnectionError):
            continue
        views.add(json.dumps(sorted((i, s) for i, role, s, _ in
                                    view.values() if role == "master")))
    if len(views) != 1:
        return None
    return cl.masters()


def wait_agreed(what):
    rd.wait_for(lambda: agreed() is not None, 20, what, step=0.05)
    return agreed()


def shard_slot(shard):
    return cl.crc16(str(shard).encode()) & 16383


def names_in(shards, n, prefix):
    """n channel names whose shards are among shards"""
    names, i = [], 0
    while len(names) < n and i < 100000:
        name = "%s%d" % (prefix, i)
        if cl.crc16(("ch:" + name).encode()) % cl.SHARDS in shards:
            names.append(name)
        i += 1
    return names


class Reshard:
    """redis-cli --cluster reshard of the lowest slots of a master, as
    many as it takes to move the slots given: run in the background, its
    output in the cluster's directory"""

    def __init__(self, n, src, dst, slots):
        ns = nodes()
        own = sorted(ns[src][2])
        self.count = max(own.index(s) for s in slots) + 1
        if self.count > 2000:
            raise AssertionError("%d slots to move from %d" % (self.count,
                                                                src))
        self.src, self.dst = src, dst
        self.log = os.path.join(DIR, "reshard-%d.log" % n)
        self.proc = subprocess.Popen(
            ["redis-cli", "--cluster", "reshard", "127.0.0.1:%d" % src,
             "--cluster-from", ns[src][0], "--cluster-to", ns[dst][0],
             "--cluster-slots", str(self.count), "--cluster-yes",
             "--cluster-pipeline", str(PIPELINE)],
            stdout=open(self.log, "w"), stderr=subprocess.STDOUT)

    def done(self):
        rc = self.proc.poll()
        if rc is None:
            return False
        if rc != 0:
            with open(self.log) as f:
                tail = f.read()[-600:]
            raise AssertionError("redis-cli --cluster reshard failed (%d): "
                                 "%s" % (rc, tail))
        return True

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


class Sub:
    """A subscriber of one channel: what it got, live and by resume."""

    def __init__(self, ch, conn):
        self.ch, self.c = ch, conn

    def live(self):
        """(id, seq) of the messages before the end marker; the number of
        notices among them"""
        got, notices = [], 0
        for m in self.c.messages():
            if m.get("type") == "notice":
                notices += 1
            if m.get("type") != "msg":
                continue
            if m.get("data") == "end":
                break
            got.append((m["id"], m["data"]["seq"]))
        return got, notices

    def before_notice(self):
        """the last id it got before its first notice"""
        last = None
        for m in self.c.messages():
            if m.get("type") == "notice":
                return last
            if m.get("type") == "msg":
                last = m["id"]
        return last


def drain(conns):
    """reads whatever the subscribers have, without waiting"""
    sel = selectors.DefaultSelector()
    for c in conns:
        if not c.eof:
            sel.register(c.sock, selectors.EVENT_READ, c)
    try:
        for key, _ in sel.select(0):
            key.data.readable()
    finally:
        sel.close()


def worker_of(c, ws):
    """the pid of the nginx worker that holds c's connection (ss), or
    "?" """
    try:
        mine = c.sock.getsockname()[1]
        r = subprocess.run(["ss", "-Htnp", "state", "established",
                            "( sport = :%d and dport = :%d )" % (ws, mine)],
                           capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return "?"
    m = re.search(r"pid=(\d+)", r.stdout)
    return m.group(1) if m else "?"


def missed_end(subs, ws, per):
    """those of subs without the end marker: each one's channel and
    worker, what it got, and how many subscriptions of the channel each
    master holds (one per worker with subscribers is expected at the
    slot's master)"""
    ranges = cl.masters()
    lines = []
    for n, s in enumerate(subs):
        if s.c.eof or any(m.get("data") == "end" for m in s.c.messages()):
            continue
        key = cl.shard_key("ch", s.ch)
        held = {}
        for p in sorted({p for _, _, p in ranges}):
            try:
                held[p] = cl.call(p, "PUBSUB", "SHARDNUMSUB", key)[1]
            except (OSError, RuntimeError, ConnectionError) as e:
                held[p] = str(e).split()[0]
        msgs = [m for m in s.c.messages() if m.get("type") == "msg"]
        notices = sum(m.get("type") == "notice" for m in s.c.messages())
        lines.append("%s subscriber %d (worker %s): %d messages, the last "
                     "seq %s, %d notices; slot %d on %d, subscriptions "
                     "per master %s" % (
                         s.ch, n % per, worker_of(s.c, ws), len(msgs),
                         msgs[-1]["data"].get("seq") if msgs
                         and isinstance(msgs[-1]["data"], dict) else None,
                         notices, cl.slot(key), cl.owner(key, ranges),
                         held))
    return lines


def resume(s, since):
    """the history of s's channel after since: [(id, seq)]"""
    n = len(s.c.messages())
    s.c.send_json({"type": "resume", "channel": s.ch, "since": since})
    pump([s.c], lambda: any(m.get("type") in ("resumed", "error")
                            for m in s.c.messages()[n:]), 20,
         "the resume of " + s.ch)
    got = []
    for m in s.c.messages()[n:]:
        if m.get("type") == "error":
            raise AssertionError("resume of %s: %s" % (s.ch, m))
        if m.get("type") == "gap":
            got.append(("gap", m))
        if m.get("type") == "msg" and m.get("data") != "end":
            got.append((m["id"], m["data"]["seq"]))
    return got


@scenario
def reshard(port, ws="", per="3", msgs="2000", moves="2"):
    """Subscribers on channels of every master; a publisher sends msgs
    messages (each with its sequence number) while redis-cli --cluster
    reshard moves the slots of two shards, moves times (from a master to
    a second, to a third, back to the first...).  Every publish is
    answered 202 or 503 (a 503 is sent again, same payload); every 202
    message reaches every subscriber once, in order, or, for one that got
    the redis_reconnected notice, is in the history a resume gives, with
    the same id."""
    ws, per, msgs, moves = int(ws or port), int(per), int(msgs), int(moves)
    m0 = wait_agreed("the cluster to agree on its map")
    masters = sorted({p for _, _, p in m0})
    # the shards whose slots come first in their master's range: the
    # fewest slots to move
    own = {p: sorted(s for lo, hi, q in m0 if q == p
                     for s in range(lo, hi + 1)) for p in masters}
    rank = sorted((own[q].index(shard_slot(sh)), sh, q)
                  for sh in range(cl.SHARDS) for q in masters
                  if shard_slot(sh) in own[q])
    src = rank[0][2]
    moving = [sh for r, sh, q in rank if q == src][:2]
    slots = [shard_slot(sh) for sh in moving]
    # then on to the others, lowest range first, and round again: the
    # slots moved are the lowest of each master they reach, and move
    # again with few others
    route = [src] + sorted((p for p in masters if p != src),
                           key=lambda p: own[p][0])
    route = [route[i % len(route)] for i in range(moves + 1)]
    moved = names_in(set(moving), 4, "mv")
    still, _ = cl.spread_names("c", 6, m0)
    chans = moved + [c for c in still
                     if cl.owner(cl.shard_key("ch", c), m0) != src][:4]
    out("%d channels on %d masters, %d of them in the shards that move"
        % (len(chans), len({cl.owner(cl.shard_key("ch", c), m0)
                            for c in chans}), len(moved)))

    subs = []
    for ch in chans:
        subs += [Sub(ch, c) for c in
                 connect_many(ws, ["/ws?channels=" + ch] * per)]
    conns = [s.c for s in subs]
    for ch in chans:
        rd.wait_info([port], "channel=" + ch, per)

    accepted = {ch: [] for ch in chans}     # [(id, seq)] in publish order
    statuses, retried = {}, 0
    seq = 0

    def publish_one(ch, data):
        """202 at last (503s sent again); the id"""
        nonlocal retried
        deadline = time.monotonic() + scaled(30)
        while True:
            st, _, body = request(port, "POST", "/pub",
                                  {"channel": ch, "data": data})
            statuses[st] = statuses.get(st, 0) + 1
            if st == 202:
                return json.loads(body)["ids"][0]
            if st != 503 or time.monotonic() > deadline:
                return None
            retried += 1
            drain(conns)
            time.sleep(0.01)

    # one message each first: every channel's keys exist before a move
    for ch in chans:
        i = publish_one(ch, {"seq": seq})
        if i:
            accepted[ch].append((i, seq))
        seq += 1

    started = time.monotonic()
    job, done, jobs = None, 0, []
    while seq < msgs or done < moves:
        if time.monotonic() - started > scaled(90):
            if job:
                job.stop()
            raise Timeout("%d reshards of %d while publishing (%d sent)"
                          % (done, moves, seq))
        if job is None and done < moves and seq >= 100 * (done + 1):
            wait_agreed("the nodes to agree before reshard %d" % done)
            job = Reshard(done, route[done], route[done + 1], slots)
            jobs.append("%d -> %d: %d slots" % (job.src, job.dst,
                                                job.count))
        if job and job.done():
            job, done = None, done + 1
        ch = chans[seq % len(chans)]
        if seq < msgs or done < moves:
            i = publish_one(ch, {"seq": seq})
            if i:
                accepted[ch].append((i, seq))
            seq += 1
        drain(conns)
    took = time.monotonic() - started
    m1 = wait_agreed("the nodes to agree after the reshards")
    out("%d reshards while publishing, the moved shards' slots where the "
        "last one put them: %s" % (moves, all(
            cl.owner(cl.shard_key("ch", c), m1) == route[moves]
            for c in moved)))
    sys.stderr.write("reshard: %s; %d published in %.1f s, statuses %s, "
                     "%d sent again\n" % ("; ".join(jobs), seq, took,
                                          statuses, retried))
    out("every publish answered 202 or 503" if set(statuses) <= {202, 503}
        else "statuses: %s" % statuses)

    for ch in chans:
        rd.publish_ready(port, {"channel": ch, "data": "end"})
    try:
        rd.collect(conns, "end")
    except Timeout:
        raise Timeout("every subscriber's end marker: " + "; ".join(
            missed_end(subs, ws, per)))

    problems, noticed, resumed, late = [], 0, 0, 0
    for n, s in enumerate(subs):
        name = "%s subscriber %d" % (s.ch, n % per)
        want = accepted[s.ch]
        got, notices = s.live()
        ids = [i for i, _ in got]
        if len(set(ids)) != len(ids):
            problems.append("%s: got some twice live" % name)
        if ids != sorted(ids, key=int):
            problems.append("%s: out of order live" % name)
        late += len(set(want) - set(got))
        back = []
        if notices:
            noticed += 1
            back = resume(s, s.before_notice())
            gaps = [m for i, m in back if i == "gap"]
            if gaps:
                problems.append("%s: the resume says %s" % (name, gaps[0]))
            back = [x for x in back if x[0] != "gap"]
            resumed += len(back)
            if [i for i, _ in back] != sorted((i for i, _ in back),
                                              key=int):
                problems.append("%s: the resume out of order" % name)
        # each sequence number with the one id its 202 gave, live or not
        seen = {}
        for i, q in got + back:
            seen.setdefault(q, set()).add(i)
        twice = sorted(q for q, i in seen.items() if len(i) > 1)
        if twice:
            problems.append("%s: with two ids: %s" % (
                name, client.summary(twice)))
        stray = sorted(set(got + back) - set(want))
        if stray:
            problems.append("%s: not as accepted: %s" % (
                name, client.summary(stray)))
        missing = [x for x in want if x not in set(got + back)]
        if missing:
            problems.append("%s: missing %s (%d notices)" % (
                name, client.summary(missing), notices))
    sys.stderr.write("reshard: %d of %d subscribers got the notice, %d "
                     "messages resumed, %d of them had not come live\n"
                     % (noticed, len(subs), resumed, late))
    if problems:
        for n in range(moves):
            with open(os.path.join(DIR, "reshard-%d.log" % n)) as f:
                sys.stderr.write(f.read()[-600:])
    mv = [s for s in subs if s.ch in moved]
    out(*problems[:8]) if problems else out(
        "every 202 message reached every subscriber, live or by a resume "
        "after the notice", "none twice, but resumed copies with their "
        "ids; none that was not accepted", "per channel in publish order")
    out("every subscriber of a moved channel got the notice" if all(
        s.live()[1] for s in mv) else "notices: %s" % [s.live()[1]
                                                        for s in mv])
    for c in conns:
        c.abort()


def history(port, key, n, asking=False):
    """the ids of the newest n messages the history of key holds on the
    master on port"""
    node = cl.Node(port)
    try:
        if asking:
            node.call("ASKING")
        newest = node.call("XREVRANGE", key + "#s", "+", "-", "COUNT", n)
        return [e[0].split("-")[0] for e in newest][::-1]
    finally:
        node.close()


@scenario
def wait_moved(port, channel="w"):
    """ws_perf_redis_wait_replicas in a cluster: the WAIT goes to the
    master the FCALL ran on, also when a redirection took it there.  The
    slot of the channel's shard is moved by hand: while its keys are on
    the new master (ASK) a publish is taken once that master's replica
    has it, and refused while that replica sleeps; once the slot is
    moved (MOVED, the workers' map still the old one), taken again."""
    m = wait_agreed("the cluster to agree on its map")
    key = cl.shard_key("ch", channel)
    sl = cl.slot(key)
    src = cl.owner(key, m)
    masters = sorted({p for _, _, p in m})
    dst = [p for p in masters if p != src][0]
    ns = nodes()
    rep = [p for p, v in ns.items() if v[3] == ns[dst][0]][0]

    def pub(data):
        st, h, body = request(port, "POST", "/pub",
                              {"channel": channel, "data": data})
        b = json.loads(body)
        return st, b.get("ids", [b.get("error")])[0]

    rd.publish_ready(port, {"channel": channel, "data": "first"})
    st, i = pub("before")
    out("before: %d, the id its history has: %s" % (
        st, history(src, key, 1) == [i]))

    cl.call(dst, "CLUSTER", "SETSLOT", sl, "IMPORTING", ns[src][0])
    cl.call(src, "CLUSTER", "SETSLOT", sl, "MIGRATING", ns[dst][0])
    try:
        keys = cl.call(src, "CLUSTER", "GETKEYSINSLOT", sl, 1000)
        cl.call(src, "MIGRATE", "127.0.0.1", dst, "", 0, 5000, "KEYS",
                *keys)
        got = [pub("asked %d" % n) for n in range(5)]
        out("with the slot's keys on the new master (ASK): %s, the ids "
            "its history has: %s" % (
                sorted({st for st, _ in got}),
                history(dst, key, 5, asking=True) == [i for _, i in got]))
        # DEBUG SLEEP blocks the replica; sent without waiting for it
        sleeper = socket.create_connection(("127.0.0.1", rep))
        sleeper.sendall(b"*3\r\n$5\r\nDEBUG\r\n$5\r\nSLEEP\r\n"
                        b"$3\r\n0.8\r\n")
        time.sleep(0.1)
        st, err = pub("unconfirmed")
        out("while the new master's replica sleeps: %d, %s" % (st, err))
        sleeper.recv(100)
        sleeper.close()
    finally:
        for p in [dst, src] + [p for p in masters if p not in (src, dst)]:
            cl.call(p, "CLUSTER", "SETSLOT", sl, "NODE", ns[dst][0])
    wait_agreed("the nodes to agree on the move")
    st, i = pub("moved")
    out("moved (MOVED): %d, the id its history has: %s" % (
        st, history(dst, key, 1) == [i]))


def named(kind, shard, prefix):
    """a name of a channel ("ch") or user ("u") of the shard given"""
    for i in range(100000):
        name = "%s%d" % (prefix, i)
        if cl.crc16(("%s:%s" % (kind, name)).encode()) % cl.SHARDS == shard:
            return name
    raise AssertionError("no name of shard %d" % shard)


@scenario
def slow_move(port, ws="", wait="1.5"):
    """A slot moved by hand the way a large one moves, a few keys at a
    time: the shard's sets (acks awaited, scheduled messages) and a
    channel's hash first, the rest a while later.  Meanwhile a channel
    gets publishes, a user a message it never acks, and a message
    scheduled for then is due.  Every publish is 202 or 503 and every
    202 one is in the history once, in order; the unacked message comes
    again after the move, the scheduled one comes once (live, if the
    move's interruption did not take it, and once in the history)."""
    ws, wait = int(ws or port), float(wait)
    m = wait_agreed("the cluster to agree on its map")
    masters = sorted({p for _, _, p in m})
    src = masters[0]
    shard = [sh for sh in range(cl.SHARDS)
             if cl.owner("{%d}" % sh, m) == src][0]
    sl = shard_slot(shard)
    dst = masters[1]
    ns = nodes()
    ch, user = named("ch", shard, "slow"), named("u", shard, "slow")
    sub = connect_many(ws, ["/ws?channels=" + ch])[0]
    u = connect_many(ws, ["/ws?user=" + user])[0]
    rd.wait_info([port], "channel=" + ch, 1)
    rd.wait_info([port], "user=" + user, 1)
    first = rd.publish_ready(port, {"channel": ch, "data": -1})["ids"][0]
    mid = rd.publish_ready(port, {"user": user, "data": "unacked",
                                  "ack": True})["ids"][0]
    rd.publish_ready(port, {"channel": ch, "data": "scheduled",
                            "delay": int(wait * 500)})
    out("a slot's keys moved a few at a time (the sets and a channel's "
        "hash first, the rest %.1f s later)" % wait)

    statuses, accepted = {}, []

    def publish_for(secs):
        end = time.monotonic() + secs
        while time.monotonic() < end:
            n = len(accepted)
            st, _, body = request(port, "POST", "/pub",
                                  {"channel": ch, "data": n})
            statuses[st] = statuses.get(st, 0) + 1
            if st == 202:
                accepted.append(json.loads(body)["ids"][0])
            drain([sub, u])
            time.sleep(0.02)

    def copies():
        return len([x for x in u.messages() if x.get("id") == mid])

    pfx = "ws_perf:{%d}" % shard
    early = [pfx + "due", pfx + "sched", pfx + "ch:" + ch]
    cl.call(dst, "CLUSTER", "SETSLOT", sl, "IMPORTING", ns[src][0])
    cl.call(src, "CLUSTER", "SETSLOT", sl, "MIGRATING", ns[dst][0])
    try:
        cl.call(src, "MIGRATE", "127.0.0.1", dst, "", 0, 5000, "KEYS",
                *early)
        publish_for(wait)
        rest = cl.call(src, "CLUSTER", "GETKEYSINSLOT", sl, 1000)
        cl.call(src, "MIGRATE", "127.0.0.1", dst, "", 0, 5000, "KEYS",
                *rest)
    finally:
        for p in [dst, src] + [p for p in masters if p not in (src, dst)]:
            cl.call(p, "CLUSTER", "SETSLOT", sl, "NODE", ns[dst][0])
    wait_agreed("the nodes to agree on the move")
    before = copies()
    publish_for(0.5)
    rd.publish_ready(port, {"channel": ch, "data": "end"})
    try:
        # the scheduled message, due long before the end, is ahead of it
        # if it comes live at all
        pump([sub, u], lambda: copies() > before and any(
            x.get("data") == "end" for x in sub.messages()), 10,
            "the end and the unacked message again")
    except Timeout:
        pass
    # whatever else is on its way (a scheduled message twice)
    time.sleep(0.3)
    drain([sub, u])
    sys.stderr.write("slow move: statuses %s, %d copies of the unacked "
                     "message before the move ended\n" % (statuses,
                                                           before))

    live = [x["id"] for x in sub.messages()
            if x.get("type") == "msg" and isinstance(x.get("data"), int)
            and x["data"] >= 0]
    n0 = len(sub.messages())
    sub.send_json({"type": "resume", "channel": ch, "since": first})
    pump([sub], lambda: any(x.get("type") == "resumed"
                            for x in sub.messages()[n0:]), 20, "the resume")
    back = sub.messages()[n0:]
    kept = [x["id"] for x in back if x.get("type") == "msg"]
    problems = []
    if any(x.get("type") == "gap" for x in back):
        problems.append("a gap in the history")
    if kept != sorted(set(kept), key=int):
        problems.append("the history out of order or twice")
    if [i for i in accepted if i not in kept]:
        problems.append("not in the history: %s" % client.summary(
            i for i in accepted if i not in kept))
    if live != sorted(set(live), key=int) or set(live) - set(accepted):
        problems.append("live: %s, accepted %s" % (
            client.summary(live), client.summary(accepted)))
    out("publishes while it moved: %s" % (
        "202 or 503 only" if set(statuses) <= {202, 503} else statuses))
    out("; ".join(problems) if problems else "every 202 one in the "
        "history once, in order; live, none twice, in order")
    out("the unacked message came again after the move, with its id: %s"
        % (copies() > before))
    # the move interrupts the subscription (a notice says messages may
    # be missed): the scheduled message may have come live or not, and
    # the resume from the first message gives it again
    sched = [(i < n0, x.get("id")) for i, x in enumerate(sub.messages())
             if x.get("data") == "scheduled"]
    n_live = len([1 for live, _ in sched if live])
    n_back = len(sched) - n_live
    out("the scheduled message went out once (in the history once, "
        "live at most once): %s" % (
        n_back == 1 and n_live <= 1 and len({i for _, i in sched}) == 1))
    if n_back != 1 or n_live > 1:
        sys.stderr.write("the scheduled message's copies (live, id): %s\n"
                         % sched)
    # acked at last: nothing is left awaiting an ack (the ledger counts)
    n0 = len(u.messages())
    u.send_json({"type": "ack", "id": mid})
    pump([u], lambda: any(x.get("type") in ("acked", "error")
                          for x in u.messages()[n0:]), 10, "the ack")
    if not any(x.get("type") == "acked" for x in u.messages()[n0:]):
        out("the ack at the end: %s" % u.messages()[n0:])
    for c in (sub, u):
        c.abort()


def tryagains(ports):
    """the TRYAGAIN errors the nodes on ports answered so far"""
    n = 0
    for p in ports:
        m = re.search(r"errorstat_TRYAGAIN:count=(\d+)",
                      cl.call(p, "INFO", "errorstats"))
        n += int(m.group(1)) if m else 0
    return n


class Call(threading.Thread):
    """an HTTP request to the gateway, answered in the background"""

    def __init__(self, port, method, path):
        super().__init__(daemon=True)
        self.args, self.answer = (port, method, path), None
        self.start()

    def run(self):
        st, _, body = request(*self.args, timeout=20)
        self.answer = (st, json.loads(body) if body else None)


@scenario
def locality(port, ws="", wait="0.4"):
    """While a slot has some of its keys on each master (the hashes of a
    channel and of two users, and the channel's subscriber counts, moved
    first), the functions that read or write them are called: the
    channel's info, a user's connection admitted and another one gone,
    a resume of the channel's history, and the replay of a dead letter
    whose id also waits for an ack.  Each is refused with TRYAGAIN
    rather than run on part of the keys, nothing is written meanwhile,
    and once the rest of the keys moved the gateway's retries answer
    them exactly."""
    ws, wait = int(ws or port), float(wait)
    m = wait_agreed("the cluster to agree on its map")
    masters = sorted({p for _, _, p in m})
    src, dst = masters[0], masters[1]
    shard = [sh for sh in range(cl.SHARDS)
             if cl.owner("{%d}" % sh, m) == src][0]
    sl = shard_slot(shard)
    ns = nodes()
    pfx = "ws_perf:{%d}" % shard
    ch, user = named("ch", shard, "loc"), named("u", shard, "loc")
    dead = named("u", shard, "dead")
    sub = connect(ws, "/ws?channels=" + ch)
    u1 = connect(ws, "/ws?user=" + user)
    d = connect(ws, "/ws?user=" + dead)
    rd.wait_info([port], "channel=" + ch, 1)
    rd.wait_info([port], "user=" + user, 1)
    rd.wait_info([port], "user=" + dead, 1)
    ids = [rd.publish_ready(port, {"channel": ch, "data": n})["ids"][0]
           for n in range(4)]
    rd.publish_ready(port, {"user": user, "data": "hello"})
    pump([sub], lambda: len([x for x in sub.messages()
                             if x.get("type") == "msg"]) == 4, 10,
         "the channel's messages")
    # a dead letter (never acked, one attempt), then a message of the
    # same id that waits for an ack of a user gone
    rd.publish_ready(port, {"user": dead, "data": "first", "ack": True,
                            "id": "dl1"})

    def letters():
        _, _, body = request(port, "GET", "/dlq?count=100&target=u:" + dead)
        return json.loads(body)["entries"]
    rd.wait_for(lambda: len(letters()) == 1, 20, "the dead letter")
    sid = letters()[0]["dlq_id"]
    d.abort()
    rd.wait_info([port], "user=" + dead, 0)
    rd.publish_ready(port, {"user": dead, "data": "second", "ack": True,
                            "id": "dl1"})
    pending = pfx + "u:" + dead + "#p"
    member = pfx + "u:" + dead + "|dl1"

    def awaiting(p):
        """whether the dead letter's id awaits an ack on the master on p
        (a key gone from a slot being moved is answered ASK)"""
        try:
            return (cl.call(p, "HEXISTS", pending, "dl1") == 1
                    and cl.call(p, "ZSCORE", pfx + "due", member)
                    is not None)
        except RuntimeError as e:
            if str(e).startswith("ASK "):
                return False
            raise
    out("a channel with 1 subscriber and 4 messages kept, a user with 1 "
        "connection, a dead letter whose id awaits an ack: %s" % (
            awaiting(src)))

    early = [pfx + "ch:" + ch, pfx + "n:ch:" + ch, pfx + "u:" + user,
             pfx + "u:" + dead]
    errors = tryagains(masters)
    cl.call(dst, "CLUSTER", "SETSLOT", sl, "IMPORTING", ns[src][0])
    cl.call(src, "CLUSTER", "SETSLOT", sl, "MIGRATING", ns[dst][0])
    try:
        cl.call(src, "MIGRATE", "127.0.0.1", dst, "", 0, 5000, "KEYS",
                *early)
        try:
            cl.call(src, "FCALL", "ws_perf_dlq_replay", 1, pfx + "dlq",
                    sid)
            said = "run"
        except RuntimeError as e:
            said = str(e).split(" ")[0]
        out("the replay of the dead letter with its keys apart: %s, its "
            "id still awaiting an ack: %s" % (said, awaiting(src)))
        info = Call(port, "GET", "/pub?channel=" + ch)
        replay = Call(port, "POST", "/dlq?replay=" + sid)
        u2 = WS(ws, "/ws?user=" + user)
        u1.abort()
        n0 = len(sub.messages())
        sub.send_json({"type": "resume", "channel": ch, "since": ids[0]})
        # the slot stays split a while: the gateway tries them again
        time.sleep(wait)
        refused = tryagains(masters) - errors
        rest = cl.call(src, "CLUSTER", "GETKEYSINSLOT", sl, 1000)
        if rest:
            cl.call(src, "MIGRATE", "127.0.0.1", dst, "", 0, 5000, "KEYS",
                    *rest)
    finally:
        for p in [dst, src] + [p for p in masters if p not in (src, dst)]:
            cl.call(p, "CLUSTER", "SETSLOT", sl, "NODE", ns[dst][0])
    wait_agreed("the nodes to agree on the move")
    out("refused with TRYAGAIN while the keys were apart: %s" % (
        refused >= 4))
    pump([sub, u2], lambda: u2.response is not None and any(
        x.get("type") in ("resumed", "error")
        for x in sub.messages()[n0:]), 10, "the resume and the handshake")
    for c in (info, replay):
        c.join(scaled(20))
    st, i = info.answer
    out("the channel's info: %d, %s subscriber(s)" % (
        st, i.get("subscribers")))
    out("the user's connection made meanwhile: %s" % u2.status())

    def counted():
        c = cl.call(dst, "HGETALL", pfx + "u:" + user + "#c") or []
        return sum(int(v) for v in c[1::2])
    try:
        rd.wait_for(lambda: counted() == 1, 5, "the user's count")
    except Timeout:
        pass
    out("the user's connections counted after the move: %d" % counted())
    back = sub.messages()[n0:]
    problems = [x.get("type") for x in back
                if x.get("type") in ("gap", "error")]
    kept = [x["id"] for x in back if x.get("type") == "msg"]
    out("the resume: %s" % (", ".join(problems) if problems else
                            "%d messages, no gap: %s" % (
                                len(kept), kept == ids[1:])))
    st, r = replay.answer
    out("the replay: %d %s; dead letters of the user left: %d, its id "
        "awaiting an ack once: %s" % (st, r, len(letters()),
                                      awaiting(dst)))
    for c in (sub, u2):
        c.abort()


PORTS = cl.PORTS


def live_map():
    """the map, from the first node that answers"""
    for p in PORTS:
        try:
            return [(r[0], r[1], r[2][1])
                    for r in cl.call(p, "CLUSTER", "SLOTS")]
        except (OSError, ConnectionError, RuntimeError):
            continue
    raise ConnectionError("no node of the cluster answers")


def route(key, *args):
    """a command about key, to the master of its slot now"""
    return cl.call(cl.owner(key, live_map()), *args)


start_node = cl.start_node


class Comeback(threading.Thread):
    """Once the cluster has promoted the replica of the master killed, the
    old master is started again: it comes back as the new one's replica
    (until then, with ws_perf_redis_wait_replicas, its shards' publishes
    are 503: no replica has them)"""

    def __init__(self, victim, slot):
        super().__init__(daemon=True)
        self.victim, self.slot = victim, slot
        self.killed = self.promoted = self.back = None
        self.error = None

    def promoted_yet(self):
        try:
            return [p for lo, hi, p in live_map()
                    if lo <= self.slot <= hi] not in ([], [self.victim])
        except (OSError, ConnectionError, RuntimeError):
            return False

    def replica_yet(self):
        try:
            i = cl.call(self.victim, "INFO", "replication")
        except (OSError, ConnectionError, RuntimeError):
            return False
        return "role:slave" in i and "master_link_status:up" in i

    def run(self):
        try:
            rd.wait_for(self.promoted_yet, 30, "the replica's promotion",
                        step=0.05)
            self.promoted = time.monotonic() - self.killed
            start_node(self.victim)
            rd.wait_for(self.replica_yet, 30, "the old master to be a "
                        "replica", step=0.05)
            self.back = time.monotonic() - self.killed
        except Exception as e:
            self.error = e


@scenario
def failover_ledger(port, users="100", msgs_="1000"):
    """The ledger of t/405 (reliable.py) on the cluster: halfway through a
    master is killed with SIGKILL, its replica takes over and the old one
    comes back as its replica.  Every message the publisher was told was
    accepted reaches its user; copies carry the same id.  The publisher
    names its messages and sends every 503 again (with
    ws_perf_redis_wait_replicas a 503 may be a message published but on
    no replica in time)."""
    m = wait_agreed("the cluster to agree on its map")
    # not the seed: the workers' cluster links start there
    victim = [p for _, _, p in m if p != cl.SEED][0]
    slot = [lo for lo, _, p in m if p == victim][0]
    back = Comeback(victim, slot)

    def kill():
        pid = int(re.search(r"process_id:(\d+)",
                            cl.call(victim, "INFO", "server")).group(1))
        os.kill(pid, signal.SIGKILL)
        back.killed = time.monotonic()
        back.start()

    reliable.FAULTS["failover"] = kill
    reliable.DUE_KEYS = ["ws_perf:{%d}due" % s for s in range(cl.SHARDS)]
    reliable.ROUTE = route
    reliable.OWN_IDS = True
    reliable.ledger(port, users, msgs_, fault="failover")
    back.join(scaled(60))
    if back.error or back.back is None:
        try:
            seen = cl.call(victim, "INFO", "replication")
        except (OSError, ConnectionError, RuntimeError) as e:
            seen = str(e)
        with open(os.path.join(DIR, str(victim), "redis.log")) as f:
            log = f.read()[-1500:]
        raise AssertionError("the old master: %s\n%s\n%s" % (
            back.error or "not back in 60 s", seen, log))
    sys.stderr.write("failover ledger: promoted %.1f s after the kill, the "
                     "old master a replica after %.1f s\n" % (
                         back.promoted, back.back))
    out("the old master is back, as its replica")


def cluster_down():
    """Every node shut down (its nodes.conf and its AOF, written at every
    write, stay), and nothing listens on their ports"""
    rd.cluster_stop()


def cluster_up():
    """Every node started again with its nodes.conf and AOF; returns once
    they agree on the map and say cluster_state:ok"""
    rd.cluster_start()

    def ok():
        try:
            return agreed() is not None
        except (OSError, ConnectionError, RuntimeError):
            return False
    rd.wait_for(ok, 20, "the nodes to agree on the map", step=0.05)


def spread_groups(port, ws, chans, per):
    """per subscribers of each of chans channels whose shards cover every
    master, on the workers of the ws port: {channel: conns}, and the
    number of masters"""
    m = wait_agreed("the cluster to agree on its map")
    names, nm = cl.spread_names("c", chans, m)
    groups = {ch: connect_many(ws, ["/ws?channels=" + ch] * per)
              for ch in names}
    for ch in names:
        rd.wait_info([port], "channel=" + ch, per)
    return groups, nm


def workers_of(port, groups):
    """{channel: how many workers subscribe to it}"""
    return {ch: info(port, "channel=" + ch)["workers"] for ch in groups}


def shard_subscribers(m, channel):
    """how many links its master has subscribing to a channel's topic"""
    key = cl.shard_key("ch", channel)
    return cl.call(cl.owner(key, m), "PUBSUB", "SHARDNUMSUB", key)[1]


@scenario
def cluster_outage(port, ws="", chans="6", per="4"):
    """The whole cluster stops (all six nodes) and starts again: what
    outage() of redis.py shows for one server, on channels of every
    master; then every worker has read the map again and subscribed each
    of its topics again on the topic's master."""
    ws = int(ws or port)
    groups, nm = spread_groups(port, ws, int(chans), int(per))
    nworkers = len(rd.pids_of_workers())
    before = workers_of(port, groups)
    out("%d subscribers of %d channels on %d masters, on %d workers" % (
        sum(len(c) for c in groups.values()), len(groups), nm,
        max(before.values())))
    rd.survive(port, groups, cluster_down, cluster_up, 5,
               nworkers * (1 + 2 * nm), r'link to "[^"]*"')
    m = cl.masters()
    asked = 0
    for p in PORTS:
        stats = cl.call(p, "INFO", "commandstats")
        found = re.search(r"cmdstat_cluster\|slots:calls=(\d+)", stats)
        asked += int(found.group(1)) if found else 0
    out("the map asked for again by every worker: %s" % (
        asked >= nworkers or "%d CLUSTER SLOTS" % asked))
    again = {ch: shard_subscribers(m, ch) for ch in groups}
    out("each topic subscribed again on its master by every worker that "
        "has subscribers of it: %s" % (again == before or "%s, before %s"
                                       % (again, before)))
    for cs in groups.values():
        for c in cs:
            c.abort()


@scenario
def cluster_restarts(port, ws="", n="5", chans="6", per="3"):
    """n restarts of the whole cluster under live subscribers of every
    master: delivery comes back each time, the workers hold no more fds
    or memory after than before (restarted() of redis.py)"""
    ws = int(ws or port)
    groups, nm = spread_groups(port, ws, int(chans), int(per))
    out("%d channels on %d masters" % (len(groups), nm))
    # a sanitizer's quarantine keeps what each restart frees: seven links
    # in every worker (the map's, two per master), against two to one
    # server
    rd.restarted(port, groups, int(n), cluster_down, cluster_up, warm=2,
                 bounds=(1, 12, 16))
    for cs in groups.values():
        for c in cs:
            c.abort()


def pub_open(port, channel, data):
    """a publish sent without waiting for its answer"""
    h = socket.create_connection(("127.0.0.1", port))
    body = json.dumps({"channel": channel, "data": data}).encode()
    h.sendall(b"POST /pub HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
              b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
    h.setblocking(False)
    return [h, b"", None]


def pub_answers(held, timeout):
    """waits for the answers of publishes sent by pub_open(); [(status,
    when it was answered)]"""
    deadline = time.monotonic() + scaled(timeout)
    sel = selectors.DefaultSelector()
    for p in held:
        sel.register(p[0], selectors.EVENT_READ, p)
    try:
        while sel.get_map() and time.monotonic() < deadline:
            for key, _ in sel.select(0.1):
                p = key.data
                chunk = p[0].recv(4096)
                p[1] += chunk
                if not chunk:
                    p[2] = time.monotonic()
                    sel.unregister(p[0])
                    p[0].close()
    finally:
        sel.close()
    if any(p[2] is None for p in held):
        raise Timeout("the answers of the publishes held")
    return [(int(p[1].split(b" ", 2)[1]), p[2]) for p in held]


@scenario
def stuck_master(port, ws="", per="3", timeout_ms="1500", cap="8"):
    """One master SIGSTOPped: no failover (cluster-node-timeout set to a
    minute on every node for the while), publishes to its shards' channels
    are answered 503 once the command timeout has passed and its links are
    replaced, and those beyond ws_perf_redis_max_pending 429 at once; the
    other masters' channels keep taking publishes and delivering them, and
    their subscribers hear nothing.  After SIGCONT its channels deliver
    again, their subscribers told once."""
    ws, timeout = int(ws or port), int(timeout_ms) / 1000.0
    m = wait_agreed("the cluster to agree on its map")
    for p in PORTS:
        cl.call(p, "CONFIG", "SET", "cluster-node-timeout", "60000")
    try:
        groups, nm = spread_groups(port, ws, 6, int(per))
        # not the seed: the workers' cluster links start there
        victim = [p for _, _, p in m if p != cl.SEED][0]
        stuck = sorted(ch for ch in groups
                       if cl.owner(cl.shard_key("ch", ch), m) == victim)
        free = sorted(ch for ch in groups if ch not in stuck)
        out("%d channels on %d masters, %d of them on the master stopped"
            % (len(groups), nm, len(stuck)))
        pid = int(re.search(r"process_id:(\d+)",
                            cl.call(victim, "INFO", "server")).group(1))
        os.kill(pid, signal.SIGSTOP)
        stopped = time.monotonic()
        try:
            held_at(port, groups, victim, stuck, free, stopped, timeout,
                    int(cap))
        finally:
            os.kill(pid, signal.SIGCONT)
        cont = time.monotonic()
        back = {ch: groups[ch] for ch in stuck}
        rd.wait_for(lambda: rd.probe_all(port, back, "probe"), 10,
                    "delivery on its channels", step=0.05)
        took = time.monotonic() - cont
        out("after SIGCONT its channels delivered again %s" % (
            "within 5 s" if took < scaled(5) else "after %.1f s" % took))
        for ch in groups:
            rd.publish(port, {"channel": ch, "data": "end"})
        conns = [c for cs in groups.values() for c in cs]
        rd.collect(conns, "end")

        def notices(chs):
            return [sum(1 for x in c.messages() if x.get("type") == "notice"
                        and x.get("code") == "redis_reconnected")
                    for ch in chs for c in groups[ch]]
        out("its channels' subscribers got the notice once: %s" % (
            set(notices(stuck)) == {1} or notices(stuck)))
        out("the other channels' subscribers got none: %s" % (
            set(notices(free)) == {0} or notices(free)))
    finally:
        for p in PORTS:
            try:
                cl.call(p, "CONFIG", "SET", "cluster-node-timeout", "1000")
            except (OSError, ConnectionError, RuntimeError):
                pass
    for cs in groups.values():
        for c in cs:
            c.abort()


def held_at(port, groups, victim, stuck, free, stopped, timeout, cap):
    """stuck_master() while the master is stopped"""
    workers = len(rd.pids_of_workers())
    held = [pub_open(port, stuck[0], "held %d" % i) for i in range(3)]

    # the other masters, meanwhile
    took = []
    for n in range(3):
        t = time.monotonic()
        tag = "free %d" % n
        ok = rd.probe_all(port, {ch: groups[ch] for ch in free}, tag)
        took.append(time.monotonic() - t if ok else None)
    out("meanwhile the other masters' channels: %s" % (
        "202, delivered to every subscriber" if None not in took
        and time.monotonic() - stopped < timeout
        else "answered and delivered in %s" % took))

    more = [pub_open(port, stuck[0], "more %d" % i)
            for i in range(workers * cap + 4)]
    answers = pub_answers(held + more, timeout + 3)
    early = [st for st, at in answers if at - stopped < timeout * 0.9]
    late = [st for st, at in answers if at - stopped >= timeout * 0.9]
    out("its channel's publishes beyond the pending cap: %s" % (
        "429 at once" if set(early) == {429}
        and len(early) >= len(more) + 3 - workers * cap
        else "answered before the timeout: %s" % early))
    last = max(at for _, at in answers) - stopped
    out("the others it held: %s" % (
        "503 once the command timeout passed" if set(late) == {503}
        and last < timeout + scaled(1.5)
        else "%s, the last %.1f s after the stop" % (late, last)))

    rd.wait_for(lambda: all(request(port, "POST", "/pub", {
        "channel": stuck[0], "data": "down"})[0] == 503 for _ in range(4)),
        5, "the link replaced")
    st, h, body = request(port, "POST", "/pub",
                          {"channel": stuck[0], "data": "down"})
    out("then, its links replaced: %d, Retry-After %s, %s" % (
        st, h.get("retry-after"), json.loads(body).get("error")))
    ok = rd.probe_all(port, {ch: groups[ch] for ch in free}, "free after")
    out("the other masters' channels still: %s" % (
        "202, delivered" if ok else "not delivered"))

    # its subscribe links too, their PING unanswered past the timeout
    def subs_lost():
        return sum(1 for l in rd.error_log_lines()
                   if 'subscribe link to "cluster master 127.0.0.1:%d" lost'
                   % victim in l)
    rd.wait_for(lambda: subs_lost() >= workers, timeout + 3,
                "its subscribe links to be replaced", step=0.05)


@scenario
def acl_nodes(port, user="ann"):
    """The user the module logs in as holds, on every node of the
    cluster, the rule docs/redis.md recommends, and nothing more"""
    rules = set()
    for p in PORTS:
        r = cl.call(p, "ACL", "GETUSER", user)
        got = dict(zip(r[::2], r[1::2]))
        rules.add("keys %s, channels %s, commands %s" % (
            got.get("keys"), got.get("channels"), got.get("commands")))
    out("on all %d nodes: %s" % (len(PORTS), " | ".join(sorted(rules))))
    rd.publish_ready(port, {"channel": "acl", "data": "x"})
    out("publish: 202")


@scenario
def acl_refused(port, says, secret):
    """refused() of acl.py, and the secret in no line of the error log"""
    acl.refused(port, says)
    lines = [l for l in acl.error_log().splitlines() if secret in l]
    out("lines of the error log with the password: %d" % len(lines))


def ssubscribes(p):
    """the SSUBSCRIBE calls the node on p ran, and the subscriptions its
    clients hold"""
    m = re.search(r"cmdstat_ssubscribe:calls=(\d+)",
                  cl.call(p, "INFO", "commandstats"))
    held = sum(int(x) for x in re.findall(r" ssub=(\d+)",
                                          cl.call(p, "CLIENT", "LIST")))
    return (int(m.group(1)) if m else 0), held


@scenario
def resubscribe(port, ws="", channels="200"):
    """A master with the subscriptions of many channels is killed; its
    replica takes over and the old one comes back as its replica.  Each
    worker asks the new master once for each of its topics (one
    SSUBSCRIBE per topic per connection of its subscribe link), not
    again on every tick while confirmations are on their way."""
    ws = int(ws or port)
    m = wait_agreed("the cluster to agree on its map")
    victim = [p for _, _, p in m if p != cl.SEED][0]
    ns = nodes()
    rep = [p for p, v in ns.items() if v[3] == ns[victim][0]][0]
    shards = [sh for sh in range(cl.SHARDS)
              if cl.owner("{%d}" % sh, m) == victim]
    names = names_in(shards, int(channels), "re")
    conns = connect_many(ws, ["/ws?channels=" + n for n in names] * 2)
    for n in names[:: max(len(names) // 8, 1)]:
        rd.wait_info([port], "channel=" + n, 2)
    out("%d channels on the master killed, 2 subscribers each" % len(names))
    rd.wait_for(lambda: "master_link_status:up" in cl.call(
        rep, "INFO", "replication"), 30, "the replica in sync", step=0.05)
    before = ssubscribes(rep)
    back = Comeback(victim, [lo for lo, _, p in m if p == victim][0])
    pid = int(re.search(r"process_id:(\d+)",
                        cl.call(victim, "INFO", "server")).group(1))
    os.kill(pid, signal.SIGKILL)
    back.killed = time.monotonic()
    back.start()

    def noticed():
        drain(conns)
        return all(any(x.get("type") == "notice" for x in c.messages())
                   for c in conns)
    try:
        rd.wait_for(noticed, 30, "the notices", step=0.05)
    except Timeout:
        left = [c.path for c in conns
                if not any(x.get("type") == "notice" for x in c.messages())]
        raise Timeout("no notice for %d of %d: %s; map %s" % (
            len(left), len(conns), left[:4], live_map()))
    back.join(scaled(60))
    if back.error or back.back is None:
        raise AssertionError("the old master: %s" % (back.error
                                                    or "not back in 60 s"))
    calls, held = ssubscribes(rep)
    sys.stderr.write("resubscribe: %d SSUBSCRIBE calls for %d "
                     "subscriptions (%d before)\n" % (calls, held,
                                                       before[0]))
    out("every subscriber told, the old master back as a replica")
    out("SSUBSCRIBE calls on the new master: one per topic of each "
        "worker: %s" % (held > 0 and calls - before[0] == held
                        or "%d for %d" % (calls - before[0], held)))
    n0 = [len(c.messages()) for c in conns]
    rd.publish_ready(port, {"channel": names[-1], "data": "after"})
    pump(conns, lambda: all(
        any(x.get("data") == "after" for x in c.messages()[n:])
        for c, n in zip(conns, n0) if c.path.endswith("=" + names[-1])),
        10, "the message after")
    out("delivered after")
    for c in conns:
        c.abort()


if __name__ == "__main__":
    sys.exit(client.main())
