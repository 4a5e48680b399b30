#!/usr/bin/python3
"""Redis-mode scenarios for t/4NN-redis-*.t, run like client.py:

    redis.py --port N SCENARIO [key=value ...]

The test file's redis-server listens on $TEST_NGINX_REDIS_PORT with its
files in $TEST_NGINX_REDIS_DIR (t/lib/WsPerf/Redis.pm); scenarios that stop
and restart it use the same arguments.  Under WS_PERF_ENGINE=cluster the
block's nginx.conf names the file's Redis Cluster instead ("where Redis
is", below).  A second nginx node, where a scenario needs one, is started
here from $TEST_NGINX_BINARY with the module of $TEST_NGINX_LOAD_MODULES,
on the block's Redis, and stopped before the verdict.
"""

import base64
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

sys.dont_write_bytecode = True      # no __pycache__ in the source tree
import client                       # noqa: E402
import wsclient                     # noqa: E402
from client import check_ledger, command, out, scenario  # noqa: E402
from wsclient import (Timeout, connect, connect_many, info, publish,  # noqa
                      pump, request)


REDIS_PORT = int(os.environ.get("TEST_NGINX_REDIS_PORT", "6399"))
REDIS_DIR = os.environ.get("TEST_NGINX_REDIS_DIR", "/tmp")


# ------------------------------------------------------------------ redis

def redis(*args, timeout=5):
    """One command; the decoded reply (errors as RuntimeError)."""
    s = socket.create_connection(("127.0.0.1", REDIS_PORT), timeout=timeout)
    try:
        req = b"*%d\r\n" % len(args)
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            req += b"$%d\r\n%s\r\n" % (len(a), a)
        s.sendall(req)
        f = s.makefile("rb")
        return _reply(f)
    finally:
        s.close()


def _reply(f):
    line = f.readline()
    if not line:
        raise ConnectionError("redis closed the connection")
    t, rest = line[:1], line[1:-2]
    if t == b"+":
        return rest.decode()
    if t == b"-":
        raise RuntimeError(rest.decode())
    if t == b":":
        return int(rest)
    if t == b"$":
        n = int(rest)
        if n < 0:
            return None
        data = f.read(n + 2)[:-2]
        return data.decode(errors="replace")
    if t == b"*":
        n = int(rest)
        return None if n < 0 else [_reply(f) for _ in range(n)]
    raise RuntimeError("unexpected reply %r" % line)


def redis_up():
    try:
        return redis("PING", timeout=1) == "PONG"
    except (OSError, ConnectionError, RuntimeError):
        # RuntimeError: "LOADING", an AOF being read
        return False


def redis_stop():
    """Shuts the server down and waits until nothing listens (in a
    cluster, every node)."""
    if in_cluster():
        return cluster_stop()
    try:
        redis("SHUTDOWN", "NOSAVE", timeout=2)
    except (OSError, ConnectionError):
        pass
    wait_for(lambda: not redis_up(), 10, "redis-server to stop")


def redis_start():
    """Starts it again as it was started (in a cluster, every node)."""
    if in_cluster():
        return cluster_start()
    aof = (["--appendonly", "yes", "--appendfsync", "always"]
           if os.environ.get("TEST_NGINX_REDIS_AOF") == "1"
           else ["--appendonly", "no"])
    subprocess.run(["redis-server", "--port", str(REDIS_PORT),
                    "--bind", "127.0.0.1", "--save", ""] + aof + [
                    "--daemonize", "yes", "--enable-debug-command", "local",
                    "--dir", REDIS_DIR,
                    "--logfile", os.path.join(REDIS_DIR, "redis.log"),
                    "--pidfile", os.path.join(REDIS_DIR, "redis.pid")],
                   check=True, timeout=10)
    wait_for(redis_up, 10, "redis-server to answer")


# ------------------------------------------------------ where Redis is
#
# The block's nginx.conf names the Redis it runs on: ws_perf_redis, the
# file's redis-server, or ws_perf_redis_cluster, the file's Redis Cluster
# (t/lib/WsPerf/Cluster.pm; WS_PERF_ENGINE=cluster puts it in every block,
# t/lib/WsPerf/Engine.pm), and ws_perf_redis_prefix the keys' prefix.  In
# a cluster every key of a channel or a user carries its shard's hash tag
# (docs/redis.md, "Keys per slot"): key() names it as the module does,
# and route() sends a command about a key to the master of its slot.

_conf = None
_map = None


def redis_conf():
    """{"cluster", "prefix", "shards", "lines"} of the block's engine,
    "lines" its ws_perf_redis* directives (for a second node)"""
    global _conf
    if _conf is not None:
        return _conf
    path = os.path.join(os.environ.get("TEST_NGINX_SERVER_ROOT", ""),
                        "conf", "nginx.conf")
    try:
        with open(path) as f:
            text = f.read()
    except OSError:
        text = ""
    lines = re.findall(r"^[ \t]*(ws_perf_redis(?:_cluster|_prefix)?[ \t]"
                       r"[^;]*;)", text, re.M)
    c = {"cluster": False, "prefix": "ws_perf:", "shards": 16,
         "lines": lines or ["ws_perf_redis redis://127.0.0.1:%d;"
                            % REDIS_PORT]}
    for line in lines:
        words = line.rstrip(";").split()
        if words[0] == "ws_perf_redis_cluster":
            c["cluster"] = True
            for w in words[1:]:
                if w.startswith("shards="):
                    c["shards"] = int(w[len("shards="):])
        elif words[0] == "ws_perf_redis_prefix":
            c["prefix"] = words[1]
    _conf = c
    return c


def in_cluster():
    return redis_conf()["cluster"]


def key(kind, name):
    """the key of a channel ("ch") or a user ("u")"""
    c = redis_conf()
    if not c["cluster"]:
        return "%s%s:%s" % (c["prefix"], kind, name)
    import cluster as cl
    shard = cl.crc16(("%s:%s" % (kind, name)).encode()) % c["shards"]
    return "%s{%d}%s:%s" % (c["prefix"], shard, kind, name)


def shard_keys(name):
    """a key every shard has ("due", "dlq"): one server has one"""
    c = redis_conf()
    if not c["cluster"]:
        return [c["prefix"] + name]
    return ["%s{%d}%s" % (c["prefix"], n, name) for n in range(c["shards"])]


def owner(k):
    """the port of the server that has key k"""
    global _map
    if not in_cluster():
        return REDIS_PORT
    import cluster as cl
    if _map is None:
        _map = cl.masters()
    return cl.owner(k, _map)


def route(k, *args, timeout=5):
    """a command about key k, to the server that has it; a MOVED (or a
    master gone) has the map asked for again"""
    global _map
    if not in_cluster():
        return redis(*args, timeout=timeout)
    import cluster as cl
    for attempt in range(3):
        try:
            return cl.call(owner(k), *args)
        except (OSError, ConnectionError, RuntimeError) as e:
            if attempt == 2 or isinstance(e, RuntimeError) and \
                    not str(e).startswith(("MOVED", "CLUSTERDOWN")):
                raise
            _map = None
            time.sleep(0.1)


def publish_raw(k, payload):
    """a message PUBLISHed by hand, as a backend does (SPUBLISH in a
    cluster, where the workers subscribe by sharded pub/sub)"""
    return route(k, "SPUBLISH" if in_cluster() else "PUBLISH", k, payload)


def node_up(port):
    import cluster as cl
    try:
        return cl.call(port, "PING") == "PONG"
    except (OSError, ConnectionError, RuntimeError):
        return False


def cluster_stop():
    """Every node of the cluster shut down (its nodes.conf and AOF kept:
    every write is in the AOF before it is answered)."""
    import cluster as cl

    def down(p):
        try:
            cl.call(p, "SHUTDOWN", "NOSAVE", "NOW")
        except (OSError, ConnectionError):
            return True
        except RuntimeError:
            # a replica still writing its first AOF refuses: again later
            return False
        return not node_up(p)
    for p in cl.PORTS:
        wait_for(lambda: down(p), 15, "the node %d to stop" % p, step=0.05)
    wait_for(lambda: not any(node_up(p) for p in cl.PORTS), 15,
             "the cluster's nodes to stop")


def cluster_start():
    """Every node started again: the cluster it was, once every node
    says so."""
    global _map
    import cluster as cl
    for p in cl.PORTS:
        cl.start_node(p)

    def ok():
        for p in cl.PORTS:
            try:
                if "cluster_state:ok" not in cl.call(p, "CLUSTER", "INFO"):
                    return False
            except (OSError, ConnectionError, RuntimeError):
                return False
        return True
    wait_for(ok, 20, "the cluster to be ok again", step=0.05)
    _map = None


def wait_for(cond, timeout, what, step=0.02):
    deadline = time.monotonic() + timeout * client.wsclient.SCALE
    while not cond():
        if time.monotonic() > deadline:
            raise Timeout(what)
        time.sleep(step)


def publish_ready(port, body, timeout=10):
    """publish() that waits while the node's redis links come up (503)."""
    deadline = time.monotonic() + timeout * client.wsclient.SCALE
    while True:
        status, _, data = request(port, "POST", "/pub", body)
        if status == 202:
            return json.loads(data)
        if status != 503 or time.monotonic() > deadline:
            raise AssertionError("publish to %d: %d %r" % (port, status,
                                                           data))
        time.sleep(0.02)


def wait_info(ports, query, subs, workers=None, timeout=10):
    """Polls every node's info until all report subs (and workers)."""
    def ok():
        for p in ports:
            status, _, data = request(p, "GET", "/pub?" + query)
            if status == 503:
                return False
            i = json.loads(data)
            if i["subscribers"] != subs:
                return False
            if workers is not None and i.get("workers") != workers:
                return False
        return True
    try:
        wait_for(ok, timeout, "info")
    except Timeout:
        raise Timeout("%s: %s, not %d subscribers on %s workers"
                      % (query, [info(p, query) for p in ports], subs,
                         workers))


# ------------------------------------------------------------ second node

class Node:
    """Another nginx instance with the module, sharing the test's redis."""

    def __init__(self, port, ws_port, workers=2, extra=""):
        engine = "\n    ".join(redis_conf()["lines"])
        self.port = port
        self.prefix = os.path.join(REDIS_DIR, "node-%d" % port)
        os.makedirs(os.path.join(self.prefix, "conf"), exist_ok=True)
        os.makedirs(os.path.join(self.prefix, "logs"), exist_ok=True)
        mods = os.environ["TEST_NGINX_LOAD_MODULES"].split()
        conf = "".join("load_module %s;\n" % m for m in mods) + """
worker_processes %d;
error_log logs/error.log info;
pid logs/nginx.pid;
events { worker_connections 1024; }
http {
    access_log off;
    %s
    %s
    server {
        listen 127.0.0.1:%d;
        location /ws { ws_perf; ws_perf_channels $arg_channels;
                       ws_perf_user $arg_user; }
        location /pub { ws_perf_publish; }
    }
    server {
        listen 127.0.0.1:%d reuseport;
        location /ws { ws_perf; ws_perf_channels $arg_channels;
                       ws_perf_user $arg_user; }
    }
}
""" % (workers, engine, extra, port, ws_port)
        with open(os.path.join(self.prefix, "conf", "nginx.conf"), "w") as f:
            f.write(conf)
        self.binary = os.environ.get("TEST_NGINX_BINARY", "/usr/sbin/nginx")
        subprocess.run([self.binary, "-p", self.prefix + "/",
                        "-c", "conf/nginx.conf"], check=True)
        wait_for(self.answers, 10, "the second node to answer")

    def answers(self):
        try:
            s = socket.create_connection(("127.0.0.1", self.port), timeout=1)
            s.close()
            return True
        except OSError:
            return False

    def stop(self):
        """Stops it; the lines of its error log that say something broke."""
        pidfile = os.path.join(self.prefix, "logs", "nginx.pid")
        try:
            with open(pidfile) as f:
                os.kill(int(f.read()), signal.SIGQUIT)
        except (OSError, ValueError):
            pass
        wait_for(lambda: not os.path.exists(pidfile), 20,
                 "the second node to stop")
        bad = []
        with open(os.path.join(self.prefix, "logs", "error.log")) as f:
            for line in f:
                if any(w in line for w in ("[alert]", "[crit]", "[emerg]",
                                           "[error]", "AddressSanitizer",
                                           "runtime error:")):
                    bad.append(line.rstrip())
        return bad


# -------------------------------------------------------------- helpers

def collect(conns, end, timeout=30):
    """Pumps until every connection got the data value end (or closed)."""
    pump(conns, lambda: all(any(m.get("data") == end for m in c.messages())
                            or c.eof for c in conns), timeout,
         "every subscriber's end marker")


def ledger(c, end):
    got = []
    for m in c.messages():
        if m.get("data") == end:
            break
        if m.get("type") == "msg":
            got.append((m.get("id"), m.get("data")))
    return got


def numeric_increasing(ids):
    """Redis ids are numbers; the memory engine's "<ms>-<worker>-<seq>"
    increase by their zone-wide seq, whichever worker numbered them"""
    try:
        nums = [int(i.rsplit("-", 1)[-1]) if "-" in i else int(i)
                for i in ids]
    except (AttributeError, TypeError, ValueError):
        return False
    return all(a < b for a, b in zip(nums, nums[1:]))


# ------------------------------------------------------------ scenarios

@scenario
def spread(port, ws="", subs="40", msgs="100", channel="spread",
           workers="4", node="", node_ws="", node_workers="2"):
    """Subscribers on every worker of one node (and of a second node when
    node= names its port) get every message once, in publish order, with
    ids that grow per channel, wherever it was published."""
    subs, msgs = int(subs), int(msgs)
    ws_ports = [int(ws or port)]
    pub_ports = [port]
    nworkers = int(workers)
    second = None
    if node:
        second = Node(int(node), int(node_ws), int(node_workers))
        ws_ports.append(int(node_ws))
        pub_ports.append(int(node))
        nworkers += int(node_workers)
    try:
        conns = []
        for p in ws_ports:
            conns += connect_many(p, ["/ws?channels=" + channel] * subs)
        bad = [c.status() for c in conns if c.status() != 101]
        out("%d of %d handshakes answered 101"
            % (len(conns) - len(bad), len(conns)))
        wait_info(pub_ports, "channel=" + channel, len(conns), nworkers)
        out("every node's info: %d subscribers on %d workers"
            % (len(conns), nworkers))

        ids, want = [], []
        for seq in range(msgs):
            p = pub_ports[seq % len(pub_ports)]
            # of every ten, five one by one and five in an array
            if seq % 10 < 5:
                r = publish_ready(p, {"channel": channel,
                                      "data": {"seq": seq}})
                ids += r["ids"]
                want.append(seq)
            elif seq % 10 == 5:
                batch = list(range(seq, min(seq + 5, msgs)))
                r = publish_ready(p, [{"channel": channel,
                                       "data": {"seq": s}} for s in batch])
                ids += r["ids"]
                want += batch
        out("%d messages published, ids %s" % (
            len(ids), "distinct and increasing" if numeric_increasing(ids)
            else "NOT increasing: %s" % client.summary(ids)))
        publish(pub_ports[-1], {"channel": channel, "data": "end"})
        collect(conns, "end")

        expect = [(i, {"seq": s}) for i, s in zip(ids, want)]
        problems = []
        for n, c in enumerate(conns):
            p = check_ledger("subscriber %d" % n, ledger(c, "end"), expect)
            if p:
                problems.append(p)
        if problems:
            out(*problems[:10])
        else:
            out("every subscriber got every message once, in publish order")
        i = info(pub_ports[0], "channel=" + channel)
        out("messages counted: %d" % i["messages"])
        for c in conns:
            c.abort()
        wait_info(pub_ports, "channel=" + channel, 0, 0)
        out("all gone: every node's info says 0 subscribers")
    finally:
        if second:
            bad = second.stop()
            out("second node stopped, its error log clean" if not bad
                else "second node's error log: %s" % bad[:5])


@scenario
def info_format(port, query="channel=lonely"):
    """A channel's info in redis mode, once the links are up."""
    wait_info([port], query, 0)
    _, _, data = request(port, "GET", "/pub?" + query)
    out(data.decode().strip())


@scenario
def users(port, ws="", user="alice", others="3"):
    """A user's connections on several workers all get what is published
    to the user; other users get nothing of it."""
    ws = int(ws or port)
    mine = connect_many(ws, ["/ws?user=" + user] * 8)
    theirs = connect_many(ws, ["/ws?user=bob%d" % i
                               for i in range(int(others))])
    wait_info([port], "user=" + user, 8)
    out("user %s: 8 connections counted" % user)
    r = publish(port, [{"user": user, "data": "one"},
                       {"user": user, "data": "two", "priority": "high"},
                       {"user": user, "data": "end"}])
    collect(mine, "end")
    got = set()
    for c in mine:
        # "two" is high priority: it may overtake "one"
        got.add(tuple(sorted((m.get("user"), m.get("data"), m.get("id"))
                             for m in c.messages() if m.get("data") != "end")))
    want = ((user, "one", r["ids"][0]), (user, "two", r["ids"][1]))
    out("each connection got both, once, with their ids" if got == {want}
        else "connections got: %s" % sorted(got))
    publish(port, [{"user": "bob0", "data": "end"},
                   {"user": "bob1", "data": "end"},
                   {"user": "bob2", "data": "end"}])
    collect(theirs, "end")
    stray = [m for c in theirs for m in c.messages() if m.get("data") != "end"]
    out("other users got nothing else" if not stray
        else "other users got: %s" % stray[:3])
    for c in mine + theirs:
        c.abort()


@scenario
def client_publish(port, ws="", channel="room.1"):
    """A client's "pub" goes through redis to subscribers on other workers,
    and the publisher gets the id redis gave."""
    ws = int(ws or port)
    subs = connect_many(ws, ["/wsc?channels=" + channel] * 8)
    p = connect(port, "/wsc")
    wait_info([port], "channel=" + channel, 8)
    r = command(p, {"type": "pub", "channel": channel, "data": "end"})
    rid = r.get("id")
    # Redis ids are numbers, the memory engine's "<ms>-<worker>-<seq>"
    out("publisher: %s, id %s" % (r.get("type"), "numeric"
                                  if re.fullmatch(r"\d+", str(rid))
                                  else "ms-worker-seq"
                                  if re.fullmatch(r"\d+-\d+-\d+", str(rid))
                                  else rid))
    collect(subs, "end")
    ids = {m.get("id") for c in subs for m in c.messages()}
    out("8 subscribers got it with that id" if ids == {r.get("id")}
        else "subscribers saw ids %s" % ids)
    for c in subs + [p]:
        c.abort()


@scenario
def direct(port, channel="direct"):
    """Backends publish into redis themselves: FCALL ws_perf_publish gives
    ids and checks its arguments; a bad message PUBLISHed by hand is
    dropped (and logged), the next good one still arrives."""
    c = connect(port, "/ws?channels=" + channel)
    wait_info([port], "channel=" + channel, 1)
    k = key("ch", channel)
    a = route(k, "FCALL", "ws_perf_publish", 1, k, '{"x":[1,2]}', "high",
              "j")
    b = route(k, "FCALL", "ws_perf_publish", 1, k, "plain text")
    out("FCALL answered [id, receivers]: %s"
        % ("yes" if a[1] >= 1 and numeric_increasing([a[0], b[0]])
           else "%r %r" % (a, b)))
    for args, what in (((k, "x", "urgent"), "a bad priority"),
                       ((k, "{", "normal", "j"), "JSON that is not"),
                       ((k, "x", "normal", "q"), "unknown flags"),
                       ((k, "x", "normal", "-", "a b"), "a bad id")):
        try:
            route(k, "FCALL", "ws_perf_publish", 1, *args)
            out("%s: accepted" % what)
        except RuntimeError as e:
            out("%s: refused (%s)" % (what, str(e).split(":")[0]))
    publish_raw(k, "v2 nonsense")
    publish_raw(k, "v1 own-1 low 1700000000000 -\nby hand")
    # low like the one by hand: one priority keeps the order
    route(k, "FCALL", "ws_perf_publish", 1, k, "end", "low")
    collect([c], "end")
    got = [(m.get("data"), m.get("priority"), m.get("id"))
           for m in c.messages()]
    got = [(d, p, "<id>" if re.fullmatch(r"\d+", str(i)) else i)
           for d, p, i in got]
    out("subscriber got: %s" % json.dumps(got[:-1]))
    c.abort()


def master_pid():
    with open(os.path.join(os.environ["TEST_NGINX_SERVER_ROOT"], "logs",
                           "nginx.pid")) as f:
        return int(f.read())


def proc_stat(pid):
    """the fields of /proc/PID/stat after the command's name: the state,
    the parent's pid..."""
    with open("/proc/%s/stat" % pid) as f:
        return f.read().rsplit(")", 1)[1].split()


def children(pid):
    """the pids whose parent is pid (a master's workers), in order"""
    got = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                if int(proc_stat(d)[1]) == pid:
                    got.append(int(d))
            except (OSError, ValueError, IndexError):
                pass
    return sorted(got)


def pids_of_workers():
    return children(master_pid())


def fds_and_rss(pids):
    r = {}
    for p in pids:
        fds = len(os.listdir("/proc/%d/fd" % p))
        with open("/proc/%d/status" % p) as f:
            rss = [int(l.split()[1]) for l in f if l.startswith("VmRSS:")][0]
        r[p] = (fds, rss)
    return r


def error_log_lines():
    """the module's redis lines of the block's error log, but debug ones"""
    with open(os.path.join(os.environ["TEST_NGINX_SERVER_ROOT"], "logs",
                           "error.log")) as f:
        text = f.read()
    return [l for l in text.splitlines() if "ws_perf: redis" in l
            and "[debug]" not in l]


def probe_all(port, groups, tag):
    """One publish of tag to each channel of groups ({channel: conns});
    True once every one was 202 and reached every open subscriber"""
    try:
        for channel in groups:
            status, _, _ = request(port, "POST", "/pub",
                                   {"channel": channel, "data": tag})
            if status != 202:
                return False
        conns = [c for cs in groups.values() for c in cs]
        pump(conns, lambda: all(any(m.get("data") == tag
                                    for m in c.messages())
                                for c in conns), 0.5, tag)
        return True
    except Timeout:
        return False


def survive(port, groups, stop, start, bound, links, lost_at,
            publishes=50):
    """Redis (stop() and start(): one server, or a whole cluster) goes
    away for a second under the subscribers of groups ({channel:
    conns}): what outage() says, for every channel; links is the number
    of links the workers hold, lost_at what a lost line names."""
    conns = [c for cs in groups.values() for c in cs]
    channels = sorted(groups)
    for channel in channels:
        publish(port, {"channel": channel, "data": "before"})
    collect(conns, "before")

    stop()
    t_down = time.monotonic()
    codes = {}
    for i in range(publishes):
        status, headers, body = request(port, "POST", "/pub", {
            "channel": channels[i % len(channels)], "data": i})
        try:
            reason = json.loads(body).get("error")
        except ValueError:
            reason = None
        key = (status, headers.get("retry-after"), bool(reason))
        codes[key] = codes.get(key, 0) + 1
    out("%d publishes while redis is down: %s" % (publishes, ", ".join(
        "%d x %d (Retry-After %s, %s)" % (n, s, ra, "JSON reason" if j
                                          else "no reason")
        for (s, ra, j), n in sorted(codes.items()))))
    status, _, _ = request(port, "GET", "/pub?channel=" + channels[0])
    out("channel info while down: %d" % status)
    for c in conns:
        c.send_json({"type": "ping"})
    pump(conns, lambda: all(any(m.get("type") == "pong"
                                for m in c.messages()) or c.eof
                            for c in conns), 10, "pongs")
    out("WebSocket connections open, answering: %d of %d"
        % (sum(1 for c in conns if not c.eof), len(conns)))

    time.sleep(max(0, 1.0 - (time.monotonic() - t_down)))
    start()
    t_up = time.monotonic()

    wait_for(lambda: probe_all(port, groups, "probe"), 10,
             "delivery to resume", step=0.05)
    took = time.monotonic() - t_up
    # under valgrind every worker is many times slower (--slow)
    limit = bound if wsclient.SCALE == 1 else 40
    out("delivery resumed %s" % (
        "within the bound (%d s; 40 s under valgrind)" % bound
        if took < limit else "after %.1f s" % took))
    for channel in channels:
        publish(port, {"channel": channel, "data": "end"})
    collect(conns, "end")
    notices = [sum(1 for m in c.messages() if m.get("type") == "notice"
                   and m.get("code") == "redis_reconnected") for c in conns]
    out("every subscriber got one reconnect notice" if set(notices) == {1}
        else "reconnect notices per subscriber: %s" % notices)
    datas = [[m.get("data") for m in c.messages() if m.get("type") == "msg"
              and m.get("data") != "probe"] for c in conns]
    out("and, besides probes, exactly: %s" % json.dumps(datas[0])
        if all(d == datas[0] for d in datas) else "differing: %s" % datas)

    lines = error_log_lines()
    lost = sum(1 for l in lines if re.search(lost_at + " lost", l))
    failed = sum(1 for l in lines if "failed: " in l)
    back = sum(1 for l in lines if "is up again" in l)
    out("error log: %s lost, %s reconnect failures logged, %s back"
        % ("one line per link" if lost == links else lost,
           "none of the" if failed == 0 else failed,
           "one line per link" if back == links else back))
    return t_up


@scenario
def outage(port, channel="out", subs="8", workers="4"):
    """Redis goes away: publishes get 503 with a JSON reason, WebSocket
    connections stay, the log says it once per link; when it is back the
    workers reconnect and resubscribe on their own, subscribers hear a
    notice, and delivery resumes within 2 seconds."""
    conns = connect_many(port, ["/ws?channels=" + channel] * int(subs))
    wait_info([port], "channel=" + channel, int(subs))
    survive(port, {channel: conns}, redis_stop, redis_start, 2,
            2 * int(workers), '"redis://127.0.0.1:%d"' % REDIS_PORT)
    for c in conns:
        c.abort()


def restarted(port, groups, n, stop, start, warm=3, bounds=(1, 4, 8)):
    """n restarts (stop() then start()) under the subscribers of groups
    ({channel: conns}): delivery comes back each time; the workers' fds
    and RSS before and after, told; bounds: the MB RSS may grow by, plain,
    under a sanitizer, under valgrind"""
    pids = pids_of_workers()

    def roundtrip(tag):
        wait_for(lambda: probe_all(port, groups, tag), 10,
                 "delivery of " + tag, step=0.05)

    roundtrip("warm")
    # the first restarts touch pages of paths not run before (reconnects,
    # notices): a leak grows with every restart after them
    for i in range(warm):
        stop()
        start()
        roundtrip("w%d" % i)
    before = fds_and_rss(pids)
    for i in range(n):
        stop()
        start()
        roundtrip("r%d" % i)
    after = fds_and_rss(pids)
    fd_change = {p: after[p][0] - before[p][0] for p in pids}
    rss_change = {p: after[p][1] - before[p][1] for p in pids}
    out("%d restarts: delivery came back every time" % n)
    out("worker fds: %s" % ("unchanged" if set(fd_change.values()) == {0}
                            else fd_change))
    grew = max(rss_change.values())
    # a sanitizer's quarantine holds freed memory for a while; valgrind's
    # own translations grow with every new path (its leak check is the
    # test there)
    bound = bounds[1] if os.environ.get("WS_PERF_SANITIZE") == "1" \
        else bounds[0]
    if os.environ.get("TEST_NGINX_USE_VALGRIND"):
        bound = bounds[2]
    out("worker RSS: %s" % (
        "grew less than the bound (%d MB; %d MB under a sanitizer, %d MB "
        "under valgrind)" % bounds if grew < bound * 1024
        else "grew %d kB" % grew))
    sys.stderr.write("rss before %s after %s (kB)\n"
                     % ({p: before[p][1] for p in pids},
                        {p: after[p][1] for p in pids}))


@scenario
def restarts(port, channel="rs", n="20", subs="20"):
    """20 redis restarts under live subscribers: each time delivery comes
    back, and the workers hold no more fds or memory after than before."""
    conns = connect_many(port, ["/ws?channels=" + channel] * int(subs))
    wait_info([port], "channel=" + channel, int(subs))
    restarted(port, {channel: conns}, int(n), redis_stop, redis_start)
    for c in conns:
        c.abort()


def _post_once(port, body):
    """a POST /pub of body (a JSON value) on its own connection, sent and
    not waited for; the socket, to read the answer from"""
    body = json.dumps(body).encode()
    h = socket.create_connection(("127.0.0.1", port))
    h.sendall(b"POST /pub HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
              b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
    return h


def _answer(h, timeout=10):
    """what the server wrote on h until it closed (b"" if it reset)"""
    h.settimeout(timeout)
    data = b""
    try:
        while True:
            chunk = h.recv(4096)
            if not chunk:
                break
            data += chunk
    except OSError:
        pass
    h.close()
    return data


@scenario
def slow_redis(port, channel="slow"):
    """A redis that stops answering: publishes waiting on it get 503 once
    ws_perf_redis_command_timeout passes (the link is replaced), publishes
    beyond ws_perf_redis_max_pending get 429 at once (the worker's own
    heartbeats and store ticks, also waiting, take no place), and delivery
    resumes when it answers again."""
    c = connect(port, "/ws?channels=" + channel)
    wait_info([port], "channel=" + channel, 1)
    # DEBUG SLEEP blocks the server; send it without waiting
    s = socket.create_connection(("127.0.0.1", REDIS_PORT))
    s.sendall(b"*3\r\n$5\r\nDEBUG\r\n$5\r\nSLEEP\r\n$1\r\n2\r\n")
    time.sleep(0.1)
    socks = []
    for i in range(4):
        socks.append(_post_once(port, {"channel": channel, "data": i}))
    statuses = []
    t0 = time.monotonic()
    for h in socks:
        statuses.append(int(_answer(h).split(b" ", 2)[1]))
    took = time.monotonic() - t0
    out("4 publishes while redis sleeps: statuses %s, answered %s" % (
        sorted(statuses),
        "before it woke up" if took < 1.8 else "after %.1f s" % took))
    s.recv(100)
    s.close()

    def ok():
        status, _, _ = request(port, "POST", "/pub",
                               {"channel": channel, "data": "end"})
        return status == 202
    wait_for(ok, 10, "publishing to work again", step=0.05)
    collect([c], "end")
    out("after it woke up the subscriber got: %s" % json.dumps(
        [m.get("data") for m in c.messages() if m.get("type") == "msg"
         and m.get("data") == "end"][:1]))
    c.abort()



def _socket_inodes(pid):
    inodes = set()
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            link = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(link[8:-1])
    return inodes


def _tcp_sockets():
    """(local port, remote port, state, bytes unread, inode) of each IPv4
    TCP socket (/proc/net/tcp)"""
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            col = line.split()
            hexa = [int(col[i].split(":")[1], 16) for i in (1, 2, 4)]
            yield hexa[0], hexa[1], col[3], hexa[2], col[9]


def _unread_from_redis(pid):
    """bytes waiting unread in pid's sockets connected to redis"""
    inodes = _socket_inodes(pid)
    return sum(rx for _, rport, _, rx, inode in _tcp_sockets()
               if inode in inodes and rport == REDIS_PORT)


def _redis_backlog():
    """the most bytes waiting unread by redis in one of its sockets"""
    return max([rx for lport, _, st, rx, _ in _tcp_sockets()
                if lport == REDIS_PORT and st == "01"] or [0])


@scenario
def worker_behind(port, fifo, channel="behind", timeout_ms="1000",
                  busy="600"):
    """A worker stalled in its own loop (here a blocking write of an access
    log line to a full pipe, as a long pass through many connections
    stalls it) while a publish waits on redis, and longer than
    ws_perf_redis_command_timeout and the subscribe heartbeat allow; busy
    connections become readable during the stall, before redis answers,
    more than one epoll_wait() returns (512), so the worker's first look
    after the stall sees them and not redis's reply, with the clock past
    the timeout.  The reply is waiting unread in its socket when its timer
    runs out, so no link is dropped, the publish is answered 202 and
    delivered, and no subscriber is told of a reconnection."""
    timeout = int(timeout_ms) / 1000.0
    worker = pids_of_workers()[0]
    c = connect(port, "/ws?channels=" + channel)
    others = connect_many(port, ["/ws?channels=busy"] * int(busy))
    wait_info([port], "channel=" + channel, 1)
    wait_info([port], "channel=busy", int(busy))
    # the links up and subscribed: a publish goes through redis and back
    publish_ready(port, {"channel": channel, "data": "ready"})
    collect([c], "ready")

    # the pipe full to the last byte: the worker's next access log line
    # blocks it
    pipe = fill_pipe(fifo)

    # redis asleep, so that the publish's reply comes while the worker
    # stalls: the publish reaches redis first, then the stall begins
    info = redis("INFO", "server")
    info = info.decode() if isinstance(info, bytes) else info
    rpid = int(re.search(r"process_id:(\d+)", info).group(1))

    def asleep():
        with open("/proc/%d/task/%d/syscall" % (rpid, rpid)) as f:
            return f.read().split()[0] in ("35", "230")  # (clock_)nanosleep
    sleeper = socket.create_connection(("127.0.0.1", REDIS_PORT))
    sleeper.sendall(b"*3\r\n$5\r\nDEBUG\r\n$5\r\nSLEEP\r\n$3\r\n1.5\r\n")
    wait_for(asleep, 5, "redis asleep")
    # not compressible: its bytes at redis tell the publish is there
    data = base64.b64encode(os.urandom(2400)).decode()
    h = _post_once(port, {"channel": channel, "data": data})
    written = time.monotonic()
    wait_for(lambda: _redis_backlog() >= 3000, 5,
             "the publish waiting at redis")
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"GET /stall HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")

    def stalled():
        return writing_to(worker, fifo)
    wait_for(stalled, 5, "the worker blocked writing its access log")
    for w in others:
        w.send_json({"type": "ping"})

    # redis answers while the worker stalls; the stall outlasts the
    # command timeout and the subscribe heartbeat's
    sleeper.settimeout(5)
    sleeper.recv(100)
    sleeper.close()
    wait_for(lambda: _unread_from_redis(worker) > 0, 5,
             "the reply in the worker's socket")
    stall = timeout + 2 * 0.5 + 0.5
    while time.monotonic() - written < stall:
        time.sleep(0.05)
    unread = _unread_from_redis(worker) > 0
    still = stalled()
    out("the worker stalled %.1f s (over the command timeout and two"
        " heartbeat ticks) with redis's reply unread: %s"
        % (stall, unread and still))

    drain_pipe(pipe)

    answer = _answer(h)
    s.close()
    out("the publish: %s" % answer.split(b"\r\n", 1)[0].decode())
    pump([c], lambda: any(m.get("data") == data for m in c.messages())
         or c.eof, 10, "the message")
    got = [m for m in c.messages() if m.get("data") == data]
    notices = [m.get("code") for m in c.messages()
               if m.get("type") == "notice"]
    out("the subscriber got it: %d time(s), notices %s" % (len(got), notices))
    published, _, _ = request(port, "POST", "/pub",
                              {"channel": channel, "data": "after"})
    if published == 202:
        collect([c], "after")
    out("a publish after: %d%s" % (published, ", delivered" if any(
        m.get("data") == "after" for m in c.messages()) else ""))
    pump(others, lambda: all(any(m.get("type") == "pong"
                                 for m in w.messages()) or w.eof
                             for w in others), 10, "the pongs")
    out("the busy connections answered: %s" % all(
        any(m.get("type") == "pong" for m in w.messages()) for w in others))
    for w in others:
        w.abort()
    out("redis links dropped: %s" % [l for l in error_log_lines()
                                     if "lost" in l or "not heard" in l])
    c.abort()


@scenario
def reload_waiting(port, n="8"):
    """Publishes waiting on a redis that sleeps when nginx reloads: the old
    worker stays until redis answers them and each gets its 202, none cut
    off or reset (the error log has no "open socket left")."""
    n = int(n)
    pids = pids_of_workers()
    s = socket.create_connection(("127.0.0.1", REDIS_PORT))
    s.sendall(b"*3\r\n$5\r\nDEBUG\r\n$5\r\nSLEEP\r\n$1\r\n1\r\n")
    socks = []
    for i in range(n):
        socks.append(_post_once(port, {"channel": "rw", "data": i}))

    def waiting():
        _, _, body = request(port, "GET", "/status?format=prometheus")
        m = re.search(rb"^ws_perf_redis_pending_commands (\d+)", body, re.M)
        return m is not None and int(m.group(1)) >= n
    wait_for(waiting, 5, "the publishes to wait on redis")
    os.kill(master_pid(), signal.SIGHUP)
    statuses = []
    for h in socks:
        data = _answer(h)
        statuses.append(int(data.split(b" ", 2)[1]) if data else 0)
    s.recv(100)
    s.close()
    out("%d publishes waiting on redis across a reload: %s" % (
        n, "all 202" if statuses == [202] * n else sorted(statuses)))
    wait_for(lambda: not set(pids) & set(pids_of_workers()), 10,
             "the old workers to go")
    out("the old workers went once they were answered")


# ------------------------------------------- a reset the worker has not read
#
# A worker busy in its loop while Redis goes away learns it only when it
# next reads its links; requests it takes before that, in the same pass,
# send their commands to a link Redis has reset.  The first write to such
# a link may still pass (the peer answers it with a reset), a later one
# fails at once.  The pass is held by an access log on a pipe that the
# scenario fills and drains (worker_behind).

class Keepalive:
    """A keep-alive HTTP/1.1 connection whose requests are sent and read
    apart: a request can wait in the kernel, unread by a stopped worker."""

    def __init__(self, port):
        self.port = port
        self.sock = socket.create_connection(("127.0.0.1", port),
                                             timeout=10 * wsclient.SCALE)
        self.buf = b""
        self.sent = 0

    def send(self, method, path):
        req = ("%s %s HTTP/1.1\r\nHost: localhost\r\n\r\n"
               % (method, path)).encode()
        self.sock.sendall(req)
        self.sent = len(req)

    def answer(self, timeout=10):
        """(status, headers, body) of the next answer; (0, {}, b"") when
        nginx closed the connection, None when nothing came in time"""
        deadline = time.monotonic() + timeout * wsclient.SCALE
        while True:
            head, sep, rest = self.buf.partition(b"\r\n\r\n")
            if sep:
                lines = head.decode("latin-1").split("\r\n")
                headers = dict((k.strip().lower(), v.strip()) for k, _, v in
                               (l.partition(":") for l in lines[1:]))
                n = int(headers.get("content-length", "0"))
                if len(rest) >= n:
                    self.buf = rest[n:]
                    return int(lines[0].split()[1]), headers, rest[:n]
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                return None
            except OSError:
                chunk = b""
            if not chunk:
                return 0, {}, b""
            self.buf += chunk

    def request(self, method, path, timeout=10):
        try:
            self.send(method, path)
        except OSError:
            return 0, {}, b""
        return self.answer(timeout)

    def unread(self):
        """bytes of this connection that nginx has not read yet"""
        mine = self.sock.getsockname()[1]
        return sum(rx for lport, rport, _, rx, _ in _tcp_sockets()
                   if lport == self.port and rport == mine)

    def close(self):
        self.sock.close()


def one_worker(port, n):
    """(pid, [n Keepalive]): connections that one worker accepted (each
    asks GET /pid); the others opened on the way are closed"""
    by_pid = {}
    while True:
        k = Keepalive(port)
        status, _, body = k.request("GET", "/pid")
        if status != 200:
            raise AssertionError("GET /pid: %d %r" % (status, body))
        pid = int(body)
        by_pid.setdefault(pid, []).append(k)
        if len(by_pid[pid]) == n:
            break
    for p, conns in by_pid.items():
        if p != pid:
            for k in conns:
                k.close()
    return pid, by_pid[pid]


def redis_ports():
    if not in_cluster():
        return {REDIS_PORT}
    import cluster as cl
    return set(cl.PORTS)


def links_open(pid):
    """pid's sockets to Redis that are established (not reset or closed)"""
    inodes = _socket_inodes(pid)
    ports = redis_ports()
    return [inode for _, rport, st, _, inode in _tcp_sockets()
            if inode in inodes and rport in ports and st == "01"]


def fill_pipe(fifo):
    """the pipe full to the last byte: the next line written to it blocks
    the writer; the descriptor to drain it with"""
    pipe = os.open(fifo, os.O_RDWR | os.O_NONBLOCK)
    for size in (4096, 1):
        try:
            while True:
                os.write(pipe, b"x" * size)
        except BlockingIOError:
            pass
    return pipe


def drain_pipe(pipe):
    try:
        while os.read(pipe, 65536):
            pass
    except BlockingIOError:
        pass
    os.close(pipe)


def writing_to(pid, fifo):
    """pid is in write() on its descriptor of fifo"""
    fds = [fd for fd in os.listdir("/proc/%d/fd" % pid)
           if os.path.realpath("/proc/%d/fd/%s" % (pid, fd))
           == os.path.realpath(fifo)]
    with open("/proc/%d/syscall" % pid) as f:
        call = f.read().split()
    return call[0] == "1" and "%d" % int(call[1], 16) in fds


def reset_unread(pid, stall, conns, method, path, fifo):
    """The worker pid takes a request on each of conns (its connections)
    in a pass during which Redis resets its links: GET /stall on stall
    (its access log is the pipe fifo, filled) holds the pass, Redis shuts
    down and the pipe is drained, then the worker goes on to the requests,
    whose commands go to the links Redis has reset.  The worker is stopped
    (SIGSTOP) while they are sent, each waiting unread in its socket, so
    that it takes them in one pass: none of its timers (a store tick
    writes to the link every 50 ms) comes between the stall and them.
    The answers to the requests, in conns' order (None: none in 5 s)."""
    pipe = fill_pipe(fifo)
    try:
        os.kill(pid, signal.SIGSTOP)
        try:
            wait_for(lambda: proc_stat(pid)[0] == "T", 5,
                     "the worker stopped")
            for k, p in [(stall, "/stall")] + [(k, path) for k in conns]:
                k.send("GET" if k is stall else method, p)
                wait_for(lambda: k.unread() >= k.sent, 5,
                         "the request in the worker's socket")
        finally:
            os.kill(pid, signal.SIGCONT)
        wait_for(lambda: writing_to(pid, fifo), 5,
                 "the worker blocked writing its access log")
        redis_stop()
        wait_for(lambda: not links_open(pid), 5,
                 "the resets in the worker's sockets")
    finally:
        drain_pipe(pipe)
    stall.answer(5)
    return [k.answer(5) for k in conns]


def told(answer):
    """an answer as the verdict says it: the status and the JSON error"""
    if answer is None:
        return "no answer in 5 s"
    status, _, body = answer
    if status == 0:
        return "closed"
    try:
        error = json.loads(body).get("error")
    except (ValueError, AttributeError):
        error = None
    if error is None:
        return str(status)
    return "%d %s" % (status, error)


def until_ok(k, method, path, timeout=15):
    """the request sent again on k until it is answered 200 (503 while
    the worker's links come back); the last answer"""
    deadline = time.monotonic() + timeout * wsclient.SCALE
    while True:
        got = k.request(method, path, 5)
        if got is None or got[0] != 503 or time.monotonic() > deadline:
            return got
        time.sleep(0.05)


def across_unread_reset(port, method, path, fifo):
    """a request that calls Redis, on two keep-alive connections of one
    worker, taken in a pass during which Redis reset the worker's links
    (reset_unread): each is answered 503 with a JSON error once the link
    is dropped, and each connection answers its next request, with Redis
    down and once it is back"""
    pid, conns = one_worker(port, 3)
    stall, conns = conns[0], conns[1:]
    before = [until_ok(k, method, path) for k in conns]
    out("two connections of one worker, before: %s"
        % ", ".join(told(a) for a in before))
    held = reset_unread(pid, stall, conns, method, path, fifo)
    out("taken in a pass with Redis gone unread: %s"
        % ", ".join(told(a) for a in held))
    nxt = [k.request(method, path, 5) for k in conns]
    out("the next on each connection, Redis down: %s"
        % ", ".join(told(a) for a in nxt))
    redis_start()
    back = [until_ok(k, method, path) for k in conns]
    out("once Redis is back: %s" % ", ".join(told(a) for a in back))
    for k in conns + [stall]:
        k.close()


@scenario
def admin_unread_reset(port, fifo):
    """a dead-letter list (GET on a ws_perf_dlq location, FCALL
    ws_perf_dlq_list) taken in a pass during which Redis reset the
    worker's links"""
    across_unread_reset(port, "GET", "/dlq", fifo)


if __name__ == "__main__":
    sys.exit(client.main())
