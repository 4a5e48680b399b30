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
import client                       # noqa: E402
import cluster as cl                # noqa: E402
import redis as rd                  # noqa: E402
import reliable                     # noqa: E402
from client import out, scenario    # noqa: E402
from wsclient import Timeout, connect_many, pump, request  # noqa: E402


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
    rd.collect(conns, "end")

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
    again after the move, the scheduled one comes once."""
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
        pump([sub, u], lambda: copies() > before and all(
            any(x.get("data") == d for x in sub.messages())
            for d in ("end", "scheduled")), 10,
            "the end, the unacked message again and the scheduled one")
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
    out("the scheduled message came %d time(s)" % len(
        [x for x in sub.messages() if x.get("data") == "scheduled"]))
    # acked at last: nothing is left awaiting an ack (the ledger counts)
    n0 = len(u.messages())
    u.send_json({"type": "ack", "id": mid})
    pump([u], lambda: any(x.get("type") in ("acked", "error")
                          for x in u.messages()[n0:]), 10, "the ack")
    if not any(x.get("type") == "acked" for x in u.messages()[n0:]):
        out("the ack at the end: %s" % u.messages()[n0:])
    for c in (sub, u):
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


if __name__ == "__main__":
    sys.exit(client.main())
