#!/usr/bin/python3
"""Redis Cluster scenarios for t/41N-redis-cluster*.t, run like client.py:

    cluster.py --port N SCENARIO [key=value ...]

The test file's cluster (t/lib/WsPerf/Cluster.pm) has its first node on
$TEST_NGINX_CLUSTER_PORT.  The module's Lua library is read from its
source, ngx_ws_perf_module/ngx_ws_perf_lua.c, as the module sends it.
The scenarios of redis.py and reliable.py that ask nothing of Redis
itself run here too.
"""

import ast
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True      # no __pycache__ in the source tree
import client                       # noqa: E402
import redis as rd                  # noqa: E402
import reliable                     # noqa: E402
from client import check_ledger, out, scenario  # noqa: E402
from fakeredis import crc16, keyslot  # noqa: E402
from wsclient import (Timeout, connect, connect_many, publish,  # noqa
                      pump, request)


SEED = int(os.environ.get("TEST_NGINX_CLUSTER_PORT", "7401"))
PORTS = [SEED + i for i in range(6)]
DIR = os.environ.get("TEST_NGINX_CLUSTER_DIR", "/tmp")


def pidfile(port):
    """where the node writes its pid, as t/lib/WsPerf/Cluster.pm says"""
    return os.path.join(os.environ.get("TEST_NGINX_CLUSTER_PIDDIR",
                                       tempfile.gettempdir()),
                        "ws-perf-cluster-%d.pid" % port)


def start_node(port):
    """a node of the cluster, as t/lib/WsPerf/Cluster.pm starts it (its
    nodes.conf and AOF, if any, are read again)"""
    d = os.path.join(DIR, str(port))
    subprocess.run(["redis-server", "--port", str(port), "--bind",
                    "127.0.0.1", "--cluster-enabled", "yes",
                    "--cluster-config-file", os.path.join(d, "nodes.conf"),
                    "--cluster-node-timeout", "1000", "--save", "",
                    "--appendonly", "yes", "--appendfsync", "always",
                    "--enable-debug-command", "local", "--dir", d,
                    "--logfile", os.path.join(d, "redis.log"),
                    "--pidfile", pidfile(port), "--daemonize", "yes"],
                   check=True, timeout=10)


class Node:
    """One connection to a node, RESP in and out."""

    def __init__(self, port, timeout=5):
        self.s = socket.create_connection(("127.0.0.1", port),
                                          timeout=timeout)
        self.f = self.s.makefile("rb")

    def send(self, *args):
        req = b"*%d\r\n" % len(args)
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            req += b"$%d\r\n%s\r\n" % (len(a), a)
        self.s.sendall(req)

    def reply(self):
        line = self.f.readline()
        if not line:
            raise ConnectionError("the node closed the connection")
        t, rest = line[:1], line[1:-2]
        if t == b"+":
            return rest.decode()
        if t == b"-":
            raise RuntimeError(rest.decode())
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            return None if n < 0 else self.f.read(n + 2)[:-2].decode()
        if t == b"*":
            n = int(rest)
            return None if n < 0 else [self.reply() for _ in range(n)]
        raise RuntimeError("unexpected reply %r" % line)

    def call(self, *args):
        self.send(*args)
        return self.reply()

    def close(self):
        self.s.close()


def call(port, *args):
    n = Node(port)
    try:
        return n.call(*args)
    finally:
        n.close()


def slot(key):
    return keyslot(key.encode())


def masters():
    """{slot range: port} of the masters, from CLUSTER SLOTS."""
    return [(r[0], r[1], r[2][1]) for r in call(SEED, "CLUSTER", "SLOTS")]


def owner(key, ranges):
    s = slot(key)
    for lo, hi, port in ranges:
        if lo <= s <= hi:
            return port
    raise AssertionError("no master owns slot %d" % s)


def library():
    src = open("ngx_ws_perf_module/ngx_ws_perf_lua.c").read()
    body = src.split("ngx_ws_perf_lua_library[] =", 1)[1].split(";\n", 1)[0]
    return "".join(ast.literal_eval(s) for s in
                   re.findall(r'^"(?:[^"\\]|\\.)*"$', body, re.M))


@scenario
def functions(port, shards="16"):
    """Every function of the library, called on keys of one shard (hash
    tag "{n}"), touches that shard's slot only: a cluster runs each on the
    master that owns the slot and refuses a call that reaches further.
    A shard's messages go out by sharded pub/sub, on that master alone."""
    ranges = masters()
    lib = library()
    for port_ in sorted({p for _, _, p in ranges}):
        call(port_, "FUNCTION", "LOAD", "REPLACE", lib)
    out("%d masters, the library loaded on each" % len({p for _, _, p
                                                        in ranges}))
    used = set()
    failures = []
    for n in range(int(shards)):
        p = "ws_perf:{%d}" % n
        ch, u = p + "ch:room", p + "u:ann"
        m = owner(ch, ranges)
        used.add(m)
        sub = Node(m)
        sub.call("SSUBSCRIBE", ch)
        plain = Node(m)
        plain.call("SUBSCRIBE", ch)
        try:
            call(m, "HSET", p + "config", "history", "5", "ack_timeout", "1",
                 "offline_ttl", "1",
                 "max_attempts", "1")
            call(m, "FCALL", "ws_perf_publish", 1, ch, "hi")
            got = sub.reply()
            if got[:2] != ["smessage", ch] or not got[2].endswith("\nhi"):
                failures.append("shard %d: sharded subscriber got %r"
                                % (n, got))
            call(m, "FCALL", "ws_perf_info", 2, ch, p + "n:ch:room", p + "w:")
            call(m, "FCALL", "ws_perf_resume", 1, ch, 0, 10, 0)
            aid = call(m, "FCALL", "ws_perf_publish", 1, u, "x", "normal",
                       "a")[0]
            call(m, "FCALL", "ws_perf_ack", 1, u, aid)
            call(m, "FCALL", "ws_perf_publish", 1, u, "y", "normal", "a")
            deadline = time.monotonic() + 5
            while call(m, "FCALL", "ws_perf_redeliver", 1, p + "due",
                       100)[1] == 0:
                if time.monotonic() > deadline:
                    raise AssertionError("shard %d: nothing dead-lettered"
                                         % n)
                time.sleep(0.01)
            sid = call(m, "FCALL", "ws_perf_schedule", 1, ch, "later",
                       "normal", "-", "", 0)
            call(m, "FCALL", "ws_perf_release", 1, p + "sched", 10)
            sid = call(m, "FCALL", "ws_perf_schedule", 1, ch, "never",
                       "normal", "-", "", 9999999999999)
            call(m, "FCALL", "ws_perf_cancel", 1, p + "sched", sid)
            dl = call(m, "FCALL", "ws_perf_dlq_list", 1, p + "dlq", "", 10,
                      "", "")
            call(m, "FCALL", "ws_perf_dlq_replay", 1, p + "dlq",
                 dl[2][0])
            call(m, "FCALL", "ws_perf_dlq_delete", 1, p + "dlq", "all")
            plain.s.settimeout(0.05)
            try:
                stray = plain.reply()
                failures.append("shard %d: a plain SUBSCRIBE got %r"
                                % (n, stray))
            except socket.timeout:
                pass
        except (RuntimeError, AssertionError) as e:
            failures.append("shard %d: %s" % (n, e))
        finally:
            sub.close()
            plain.close()
    out("%s shards over %d masters: %s" % (
        shards, len(used), "every call served by the shard's master"
        if not failures else "; ".join(failures[:3])))
    other = [p for _, _, p in ranges if p != owner("ws_perf:{0}ch:room",
                                                   ranges)][0]
    try:
        call(other, "FCALL", "ws_perf_publish", 1, "ws_perf:{0}ch:room", "x")
        out("another master: accepted")
    except RuntimeError as e:
        out("another master: %s" % str(e).split()[0])


SHARDS = 16


def shard_key(kind, name, shards=SHARDS):
    """The key of a target as the module names it in a cluster."""
    return "ws_perf:{%d}%s:%s" % (crc16(("%s:%s" % (kind, name)).encode())
                                  % shards, kind, name)


def spread_names(kind, n, ranges):
    """n names whose shards cover every master."""
    names, seen = [], set()
    i = 0
    while len(names) < n and i < 10000:
        name = "%s%d" % (kind, i)
        m = owner(shard_key("ch" if kind == "c" else "u", name), ranges)
        if m not in seen or len(seen) == len({p for _, _, p in ranges}):
            seen.add(m)
            names.append(name)
        i += 1
    return names, len(seen)


@scenario
def spread_shards(port, ws="", per="5", msgs="100"):
    """Channels on every master: each subscriber gets its channel's
    messages once, in publish order."""
    ranges = masters()
    chans, nm = spread_names("c", 8, ranges)
    out("%d channels on %d masters" % (len(chans), nm))
    ws = int(ws or port)
    conns = {ch: connect_many(ws, ["/ws?channels=" + ch] * int(per))
             for ch in chans}
    for ch in chans:
        rd.wait_info([port], "channel=" + ch, int(per))
    out("%d subscribers counted" % (len(chans) * int(per)))
    want = {ch: [] for ch in chans}
    for seq in range(int(msgs)):
        for ch in chans:
            r = rd.publish_ready(port, {"channel": ch, "data": {"seq": seq}})
            want[ch].append((r["ids"][0], {"seq": seq}))
    problems = []
    for ch in chans:
        publish(port, {"channel": ch, "data": "end"})
        rd.collect(conns[ch], "end")
        for n, c in enumerate(conns[ch]):
            p = check_ledger("%s subscriber %d" % (ch, n),
                             rd.ledger(c, "end"), want[ch])
            if p:
                problems.append(p)
    out(*problems[:5]) if problems else out(
        "every subscriber got its channel's %s messages once, in order"
        % msgs)
    for cs in conns.values():
        for c in cs:
            c.abort()


@scenario
def dlq_shards(port, users="6"):
    """Users on every master each get a dead letter; the list pages
    through all of them in the order they died, and a purge takes all."""
    ranges = masters()
    names, nm = spread_names("u", int(users), ranges)
    conns = [connect(port, "/ws?user=" + name) for name in names]
    for name in names:
        rd.wait_info([port], "user=" + name, 1)
    for name in names:
        publish(port, {"user": name, "data": name, "ack": True})
        time.sleep(0.01)

    def dead():
        _, _, body = request(port, "GET", "/dlq?count=100")
        return json.loads(body)["entries"]
    rd.wait_for(lambda: len(dead()) == len(names), 30, "the dead letters")
    out("%d users on %d masters, one dead letter each" % (len(names), nm))
    order = [e["target"] for e in dead()]
    st, _, body = request(port, "GET", "/dlq?count=4")
    page = json.loads(body)
    st, _, body = request(port, "GET", "/dlq?count=4&after=" + page["next"])
    page2 = json.loads(body)
    got = [e["target"] for e in page["entries"] + page2["entries"]]
    ids = [e["dlq_id"] for e in page["entries"] + page2["entries"]]
    out("pages of 4: %d then %d, in the order they died: %s" % (
        len(page["entries"]), len(page2["entries"]),
        got == order and ids == sorted(ids, key=lambda i: tuple(
            int(x) for x in i.split("-")))))
    st, _, body = request(port, "DELETE", "/dlq?id=all")
    out("purge: %d %s" % (st, json.loads(body)))
    for c in conns:
        c.abort()


@scenario
def scheduled_shards(port):
    """Scheduled messages to channels of every master go out once each;
    a cancel names the shard in its id."""
    ranges = masters()
    chans, nm = spread_names("c", 4, ranges)
    conns = [connect(port, "/ws?channels=" + ch) for ch in chans]
    for ch in chans:
        rd.wait_info([port], "channel=" + ch, 1)
    at = int(time.time() * 1000) + 500
    ids = [publish(port, {"channel": ch, "data": d, "deliver_at": at})
           ["ids"][0] for ch, d in zip(chans, ("a", "b", "c", "x"))]
    out("%d scheduled on %d masters" % (len(ids), nm))
    st, _, body = request(port, "DELETE", "/pub?schedule=" + ids[3])
    out("cancel: %d %s" % (st, body.decode().strip()))
    st, _, body = request(port, "DELETE", "/pub?schedule=" + ids[3])
    out("cancel again: %d" % st)
    st, _, body = request(port, "DELETE", "/pub?schedule=99.s1")
    out("cancel of an id of no shard: %d" % st)
    pump(conns[:3], lambda: all(reliable.msgs(c) for c in conns[:3]), 10,
         "the scheduled messages")
    time.sleep(0.5)
    out("delivered once each: %s" % sorted(
        m["data"] for c in conns for m in reliable.msgs(c)))
    for c in conns:
        c.abort()


@scenario
def failover(port, channel="fo", subs="8"):
    """The master of a channel's shard is killed while a publisher goes
    on: what is answered 2xx reaches every subscriber, the rest is 503,
    but for what one worker answered before another had subscribed on
    the promoted replica: that worker's subscribers miss only messages
    from before the notice that says they may have; once promoted,
    delivery comes back within 5 s without a reload."""
    ranges = masters()
    key = shard_key("ch", channel)
    victim = owner(key, ranges)
    conns = connect_many(port, ["/ws?channels=" + channel] * int(subs))
    rd.wait_info([port], "channel=" + channel, int(subs))
    pid = int(re.search(r"process_id:(\d+)",
                        call(victim, "INFO", "server")).group(1))
    others = [p for _, _, p in ranges if p != victim]
    statuses, accepted = set(), []
    seq = 0

    def publish_one():
        nonlocal seq
        seq += 1
        st, _, body = request(port, "POST", "/pub",
                              {"channel": channel, "data": seq})
        statuses.add(st)
        if 200 <= st < 300:
            accepted.append(seq)
        return st

    for _ in range(20):
        publish_one()
    os.kill(pid, signal.SIGKILL)
    killed = time.monotonic()

    def promoted():
        try:
            return owner(key, [(a, b, p) for a, b, p in
                               [(r[0], r[1], r[2][1]) for r in
                                call(others[0], "CLUSTER", "SLOTS")]]) \
                != victim
        except (OSError, RuntimeError, AssertionError):
            return False
    while not promoted():
        publish_one()
        if time.monotonic() - killed > 30:
            raise Timeout("a replica to be promoted")
        time.sleep(0.02)
    up = time.monotonic()
    while publish_one() != 202:
        if time.monotonic() - up > 10:
            break
        time.sleep(0.02)
    took = time.monotonic() - up
    out("publishes while its master was down: %s" % (
        "2xx or 503 only" if statuses <= {202, 503} else sorted(statuses)))

    # each worker subscribes on the new master at its own time, and its
    # subscribers hear the notice before anything that subscription
    # carries: a message the publishing worker had answered 2xx before
    # then is one they may have missed; after it, they miss nothing
    def told(c):
        return c.eof or any(m.get("type") == "notice" for m in c.messages())
    try:
        pump(conns, lambda: all(told(c) for c in conns), 10,
             "every subscriber's notice")
    except Timeout:
        pass
    for _ in range(10):
        publish_one()
    publish(port, {"channel": channel, "data": "end"})
    rd.collect(conns, "end")

    def since_notice(c):
        """the numbers that came after the subscriber's last notice"""
        after = None
        for m in c.messages():
            if m.get("type") == "notice":
                after = []
            elif (after is not None and m.get("type") == "msg"
                  and isinstance(m.get("data"), int)):
                after.append(m["data"])
        return after or []

    got = [{m.get("data") for m in c.messages() if m.get("type") == "msg"}
           for c in conns]
    missed = [sorted(set(accepted) - g) for g in got]
    after = [since_notice(c) for c in conns]
    out("every 2xx message reached every subscriber, but for those "
        "answered before its notice: %s" % all(
            a and (not m or m[-1] < a[0]) for m, a in zip(missed, after)))
    sys.stderr.write("failover: %d accepted, statuses %s, promoted %.1f s "
                     "after the kill, 202 again %.1f s later; missed per "
                     "subscriber %s; first after its notice %s\n" % (
                         len(accepted), sorted(statuses), up - killed,
                         took, [m[:10] for m in missed],
                         [a[:1] for a in after]))
    out("delivery resumed within 5 s of the promotion" if took <= 5
        else "delivery resumed after %.1f s" % took)
    notices = [any(m.get("type") == "notice" for m in c.messages())
               for c in conns]
    out("every subscriber got the reconnect notice" if all(notices)
        else "notices: %s" % notices)
    for c in conns:
        c.abort()


if __name__ == "__main__":
    sys.exit(client.main())
