#!/usr/bin/python3
"""Redis Cluster scenarios for t/413-redis-cluster-*.t, run like client.py:

    cluster.py --port N SCENARIO [key=value ...]

The test file's cluster (t/lib/WsPerf/Cluster.pm) has its first node on
$TEST_NGINX_CLUSTER_PORT.  The module's Lua library is read from its
source, ngx_ws_perf_module/ngx_ws_perf_lua.c, as the module sends it.
"""

import ast
import os
import re
import socket
import sys
import time

sys.dont_write_bytecode = True      # no __pycache__ in the source tree
import client                       # noqa: E402
from client import out, scenario    # noqa: E402


SEED = int(os.environ.get("TEST_NGINX_CLUSTER_PORT", "7401"))


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


def crc16(data):
    crc = 0
    for b in data:
        crc ^= b << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xffff
    return crc


def slot(key):
    k = key.encode()
    i = k.find(b"{")
    if i >= 0:
        j = k.find(b"}", i + 1)
        if j > i + 1:
            k = k[i + 1:j]
    return crc16(k) & 16383


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


if __name__ == "__main__":
    sys.exit(client.main())
