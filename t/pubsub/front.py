#!/usr/bin/python3
"""Front-tier scenarios for t/601-front-proxy.t, run like client.py:

    front.py --port N SCENARIO [key=value ...]

--port is the front nginx (the test's own), which proxies to two module
nodes that the scenario starts here, each with a prefix of its own, from
$TEST_NGINX_BINARY with the module of $TEST_NGINX_LOAD_MODULES, on
$TEST_NGINX_NODE1_PORT and $TEST_NGINX_NODE2_PORT, sharing the test's
redis.  Every wait has a deadline; at its deadline a scenario prints what
it still misses instead of hanging.
"""

import json
import os
import random
import re
import selectors
import shutil
import ssl
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True      # no __pycache__ in the source tree
import client                       # noqa: E402
import redis as rd                  # noqa: E402
from client import out, scenario    # noqa: E402
from wsclient import WS, Timeout, pump, request  # noqa: E402


BINARY = os.environ.get("TEST_NGINX_BINARY", "/usr/sbin/nginx")
CONF = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                    "conf", "front")
BAD = ("[alert]", "[crit]", "[emerg]", "AddressSanitizer", "runtime error:")


def module():
    return os.environ["TEST_NGINX_LOAD_MODULES"].split()[0]


def deadline(seconds):
    return time.monotonic() + seconds * client.wsclient.SCALE


# ---------------------------------------------------- the shipped configs

@scenario
def conf_check(port, ports=""):
    """conf/front/front.conf and node.conf pass nginx -t, with the test's
    certificates as tls/ beside them.  Only what must differ on a test
    machine is changed: the listen ports (to free loopback ones, since
    nginx -t binds them) and the module's path."""
    free = [int(p) for p in ports.split(",")]
    tls = os.environ["TEST_NGINX_TLS_DIR"]
    prefix = tempfile.mkdtemp(prefix="ws-perf-front-")
    try:
        conf = os.path.join(prefix, "conf")
        shutil.copytree(CONF, conf)
        shutil.copytree(tls, os.path.join(conf, "tls"))
        os.makedirs(os.path.join(prefix, "logs"))
        for name in ("front.conf", "node.conf"):
            path = os.path.join(conf, name)
            with open(path) as f:
                text = f.read()
            shipped = sorted(set(re.findall(r"(?m)^\s*listen\s+(\d+)", text)))
            for i, p in enumerate(shipped):
                text = re.sub(r"(?m)^(\s*listen\s+)%s\b" % p,
                              r"\g<1>127.0.0.1:%d" % free[i], text)
            text = re.sub(r"(?m)^load_module\s+\S+;",
                          "load_module %s;" % module(), text)
            with open(path, "w") as f:
                f.write(text)
            r = subprocess.run([BINARY, "-t", "-p", prefix + "/",
                                "-c", "conf/" + name, "-e", "stderr"],
                               stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, timeout=30)
            said = r.stdout.decode(errors="replace")
            ok = r.returncode == 0 and "test is successful" in said
            out("%s (listen %s): %s" % (
                name, " ".join(shipped),
                "nginx -t is successful" if ok else "FAILED: " + said))
    finally:
        shutil.rmtree(prefix, ignore_errors=True)


# ------------------------------------------------------------------ nodes

class Node:
    """A module node as conf/front/node.conf has it, on loopback, with
    the delivery timings shortened for a test."""

    def __init__(self, name, port, prefix_key, workers=2):
        self.name, self.port = name, port
        self.prefix = os.path.join(rd.REDIS_DIR, "%s-%d" % (name, port))
        shutil.rmtree(self.prefix, ignore_errors=True)
        os.makedirs(os.path.join(self.prefix, "conf"))
        os.makedirs(os.path.join(self.prefix, "logs"))
        conf = """load_module %s;
worker_processes %d;
error_log logs/error.log info;
pid logs/nginx.pid;
events { worker_connections 1024; }
http {
    access_log off;
    ws_perf_redis redis://127.0.0.1:%d;
    ws_perf_redis_prefix %s;
    ws_perf_redis_reconnect 50ms 200ms;
    ws_perf_offline_max 1000;
    ws_perf_history 1000;
    ws_perf_ack_timeout 500ms;
    ws_perf_max_attempts 100;
    ws_perf_max_pending_acks 1000;
    ws_perf_ping_interval 30s;
    server {
        listen 127.0.0.1:%d backlog=1024;
        location = /ws {
            ws_perf;
            ws_perf_user $arg_user;
            ws_perf_channels $arg_channels;
            ws_perf_max_connections_per_user 16;
        }
        location = /pub { allow 127.0.0.1; deny all; ws_perf_publish; }
        location = /health { ws_perf_health; }
    }
}
""" % (module(), workers, rd.REDIS_PORT, prefix_key, port)
        with open(os.path.join(self.prefix, "conf", "nginx.conf"), "w") as f:
            f.write(conf)
        subprocess.run([BINARY, "-p", self.prefix + "/",
                        "-c", "conf/nginx.conf"], check=True, timeout=30)
        rd.wait_for(self.healthy, 10, "%s to answer 200 on /health" % name)

    def healthy(self):
        try:
            status, _, _ = request(self.port, "GET", "/health", timeout=1)
        except OSError:
            return False
        return status == 200

    def pidfile(self):
        return os.path.join(self.prefix, "logs", "nginx.pid")

    def quit(self):
        """nginx -s quit: graceful, every WebSocket gets close 1001"""
        subprocess.run([BINARY, "-p", self.prefix + "/",
                        "-c", "conf/nginx.conf", "-s", "quit"], check=True,
                       stderr=subprocess.DEVNULL, timeout=30)

    def wait_gone(self, timeout=20):
        rd.wait_for(lambda: not os.path.exists(self.pidfile()), timeout,
                    "%s to exit" % self.name)

    def stop(self):
        if os.path.exists(self.pidfile()):
            self.quit()
            self.wait_gone()

    def bad_lines(self):
        with open(os.path.join(self.prefix, "logs", "error.log")) as f:
            return [line.rstrip() for line in f
                    if any(w in line for w in BAD)]


# ----------------------------------------------------------------- users

class User:
    """One client: connects through the front, resumes its user and its
    channel from the last ids it saw, acks what asks for an ack, and
    reconnects (after a short random wait) whenever its connection ends."""

    def __init__(self, scene, i):
        self.s, self.i = scene, i
        self.name = "%s%d" % (scene.label, i)
        self.conn = None
        self.last = {"user": 0, "channel": 0}
        self.got = {}               # k -> ids received (user messages)
        self.chan = {}              # c -> [(connection, early, id)...]
        self.nodes = []             # the node of each connection
        self.closes = []            # close codes received
        self.down_until = 0
        self.reconnected_at = None
        self.resumed = 0
        self.errors = []

    def connect(self):
        self.conn = WS(self.s.port, "/ws?user=%s&channels=%s"
                       % (self.name, self.s.channel), tls=self.s.tls)
        self.handled = 0
        self.answered = False
        self.chan_resumed = False
        self.s.sel.register(self.conn.sock, selectors.EVENT_READ, self)

    def resume(self):
        self.send({"type": "resume", "user": True,
                   "since": str(self.last["user"])})
        self.send({"type": "resume", "channel": self.s.channel,
                   "since": str(self.last["channel"])})

    def send(self, obj):
        """a connection the server is closing takes nothing more"""
        try:
            self.conn.send_json(obj)
        except Exception:
            self.conn.abort()

    def step(self, now):
        c = self.conn
        if c is None:
            if now >= self.down_until:
                self.connect()
            return
        if not self.answered and c.response is not None:
            self.answered = True
            if c.status() != 101:
                self.errors.append("handshake %s" % c.status())
                c.abort()
            else:
                self.nodes.append(c.response.headers.get("X-Upstream"))
                self.resume()
        ms = c.messages()
        for m in ms[self.handled:]:
            t = m.get("type")
            if t == "msg":
                self.take(m)
            elif t == "resumed":
                self.resumed += 1
                if "channel" in m:
                    self.chan_resumed = True
                if self.reconnected_at is None and len(self.nodes) > 1:
                    self.reconnected_at = now
            elif t == "notice":
                self.resume()
            elif t == "error" and m.get("code") not in (404, 409):
                # 404: an ack that crossed a redelivery; 409: a resume
                # asked again while one is under way
                self.errors.append("%s %s" % (m.get("code"),
                                              m.get("reason")))
        self.handled = len(ms)
        if c.eof:
            self.s.sel.unregister(c.sock)
            c.abort()
            self.closes.append(c.close_code())
            self.conn = None
            self.down_until = now + random.uniform(0, 0.1)

    def take(self, m):
        d = m.get("data") or {}
        n = int(m["id"])
        if "user" in m:
            ids = self.got.setdefault(d.get("k"), [])
            ids.append(m["id"])
            self.last["user"] = max(self.last["user"], n)
            # every 7th message is left unacked the first time: it
            # must come again, with its id
            if m.get("ack") and (len(ids) > 1 or d.get("k") % 7):
                self.send({"type": "ack", "id": m["id"]})
        else:
            # early: before this connection's channel resume ended
            self.chan.setdefault(d.get("c"), []).append(
                (len(self.nodes), not self.chan_resumed, m["id"]))
            self.last["channel"] = max(self.last["channel"], n)


class Scene:
    def __init__(self, port, label, tls, users):
        self.port, self.label = port, label
        self.channel = label + ".all"
        self.tls = None
        if tls:
            self.tls = ssl.create_default_context(
                cafile=os.path.join(os.environ["TEST_NGINX_TLS_DIR"],
                                    "front.crt"))
        self.sel = selectors.DefaultSelector()
        self.users = [User(self, i) for i in range(users)]

    def pump(self, timeout):
        """reads what came within timeout s; the users that got
        something, and those waiting to reconnect, act"""
        busy = [u for u in self.users if u.conn is None]
        for key, _ in self.sel.select(timeout):
            u = key.data
            try:
                u.conn.readable()
            except OSError:
                u.conn.eof = True
            busy.append(u)
        now = time.monotonic()
        for u in busy:
            u.step(now)

    def until(self, cond, seconds, what):
        end = deadline(seconds)
        while not cond():
            if time.monotonic() > end:
                raise Timeout(what)
            self.pump(0.05)


def node_of(upstream, nodes):
    """the node that an $upstream_addr names (the last address tried)"""
    last = (upstream or "").split(",")[-1].strip()
    for n in nodes:
        if last == "127.0.0.1:%d" % n.port:
            return n
    return None


# -------------------------------------------------------------- failover

@scenario
def failover(port, users="200", msgs="2000", every="10", label="plain",
             ws="", tls=""):
    """users clients connect through the front (the consistent hash of the
    user picks the node), a publisher sends msgs messages through the
    front's /pub, every every-th one to the channel that all users are in
    and the others to the users with an ack asked; halfway the node that
    holds most users stops with nginx -s quit.  ws= is the front's port
    for the clients when it is not --port (tls=1: wss:// to it); the
    publisher uses --port.  Its clients get close
    1001, reconnect through the front to the other node and resume; the
    other node's clients keep their connections.  Every 7th message is
    left unacked when it first arrives, so that it comes again.  In the
    end every
    accepted user message has reached its user (copies only with the
    message's id: at least once), every channel message every user
    (resumed from the channel's history; a copy only where a resume
    replays what came live just before it), and nothing awaits an ack."""
    nu, nm, every = int(users), int(msgs), int(every)
    prefix_key = "fo%s:" % label
    nodes = [Node("node1", int(os.environ["TEST_NGINX_NODE1_PORT"]),
                  prefix_key),
             Node("node2", int(os.environ["TEST_NGINX_NODE2_PORT"]),
                  prefix_key)]
    s = Scene(int(ws or port), label, tls, nu)
    try:
        run_failover(s, nodes, port, nm, every, prefix_key)
    finally:
        for u in s.users:
            if u.conn:
                u.conn.abort()
        for n in nodes:
            n.stop()
    bad = [line for n in nodes for line in n.bad_lines()]
    out("the nodes' error logs: %s" % (
        "no alert, crit or emerg" if not bad else client.summary(bad, 3)))


def run_failover(s, nodes, pub, nm, every, prefix_key):
    t0 = time.monotonic()
    for u in s.users:
        u.connect()
    s.until(lambda: all(u.resumed >= 2 or u.errors for u in s.users), 30,
            "every user's first resume")
    refused = [u.name for u in s.users if u.errors]
    out("%d users connected through the front%s" % (
        len(s.users), ", each resumed its user and its channel"
        if not refused else ": REFUSED %s" % client.summary(
            "%s %s" % (u.name, u.errors) for u in s.users if u.errors)))
    by_node = {n: [u for u in s.users if node_of(u.nodes[0], nodes) is n]
               for n in nodes}
    sizes = [len(by_node[n]) for n in nodes]
    out("spread by the hash of the user: %s" % (
        "over both nodes" if all(sizes) and sum(sizes) == len(s.users)
        else "%s, %s" % (sizes, [u.nodes for u in s.users[:3]])))
    sys.stderr.write("connected in %.1f s; users per node %s\n"
                     % (time.monotonic() - t0, sizes))

    # a second connection of a user goes where the first one went
    same = 0
    for u in s.users[:20]:
        c = WS(s.port, "/ws?user=%s" % u.name, tls=s.tls)
        pump([c], lambda: c.response is not None or c.eof, 10,
             "a second handshake")
        same += c.response is not None and c.response.headers.get(
            "X-Upstream") == u.nodes[0]
        c.abort()
    out("a user's second connection went to its first one's node: %d of 20"
        % same)

    # a browser on the front's own origin passes (the front hands the
    # node the client's Host), another site's page does not
    seen = []
    for origin in ("%s://127.0.0.1:%d" % ("https" if s.tls else "http",
                                          s.port),
                   "https://evil.example"):
        c = WS(s.port, "/ws?user=browser", headers=[("Origin", origin)],
               tls=s.tls)
        pump([c], lambda: c.response is not None or c.eof, 10,
             "a browser's handshake")
        seen.append(c.status())
        c.abort()
    out("a browser's handshake through the front: its own origin %s, "
        "another site's %s" % tuple(seen))

    victim = max(nodes, key=lambda n: len(by_node[n]))
    other = [n for n in nodes if n is not victim][0]
    moved, stayed = by_node[victim], by_node[other]

    accepted, channel, uncertain, retried = {}, {}, set(), 0
    k = 0
    quit_at = None
    end = deadline(60)
    while k < nm:
        if time.monotonic() > end:
            raise Timeout("the publishes (%d of %d)" % (k, nm))
        if k % every == every - 1:
            body = {"channel": s.channel, "data": {"c": k}}
        else:
            body = {"user": s.users[k % len(s.users)].name,
                    "data": {"k": k}, "ack": True}
        try:
            st, _, data = request(pub, "POST", "/pub", body)
        except OSError as e:
            st, data = 0, str(e).encode()
        if st == 202:
            (channel if "channel" in body else accepted)[k] = \
                json.loads(data)["ids"][0]
            k += 1
        elif st in (429, 503):
            retried += 1            # never reached redis: again
        else:
            sys.stderr.write("publish %d: %d %r\n" % (k, st, data[:200]))
            uncertain.add(k)
            k += 1
        if quit_at is None and k >= nm // 2:
            quit_at = time.monotonic()
            victim.quit()
        s.pump(0)
    published = time.monotonic()

    def settled():
        if not all(k in u.got for k, id_ in accepted.items()
                   for u in [s.users[k % len(s.users)]]):
            return False
        if not all(len(u.chan) >= len(channel) for u in s.users):
            return False
        return rd.redis("ZCARD", prefix_key + "due") == 0

    try:
        s.until(settled, 60, "every message to arrive and be acked")
    except Timeout:
        report_missing(s, accepted, channel, prefix_key)
        raise
    victim.wait_gone()
    t_end = time.monotonic()

    # the verdict
    back = [u for u in moved if u.reconnected_at is not None]
    slow = max((u.reconnected_at - quit_at for u in back), default=0)
    got1001 = [u for u in moved if 1001 in u.closes]
    landed = [u for u in moved
              if node_of(u.nodes[-1], nodes) is other and u.conn]
    out("one node stopped with nginx -s quit halfway: each of its users "
        "got close 1001: %s" % ("yes" if len(got1001) == len(moved) else
                                "%d of %d" % (len(got1001), len(moved))))
    out("each of them reconnected through the front to the other node and "
        "resumed: %s" % ("yes" if len(back) == len(moved) == len(landed)
                         else "%d back, %d on the other node, of %d"
                         % (len(back), len(landed), len(moved))))
    kept = [u for u in stayed if len(u.nodes) == 1 and not u.closes]
    out("the other node's users kept their connections: %s" % (
        "yes" if len(kept) == len(stayed) else "%d of %d" % (len(kept),
                                                           len(stayed))))
    lost = [k for k in accepted if k not in s.users[k % len(s.users)].got]
    wrong = [k for k, id_ in accepted.items()
             if set(s.users[k % len(s.users)].got.get(k, [id_])) != {id_}]
    again = [k for k in accepted if k % 7 == 0
             and len(s.users[k % len(s.users)].got.get(k, ())) < 2]
    stray = [(u.name, k) for u in s.users for k in u.got
             if k not in accepted and k not in uncertain
             or k % len(s.users) != u.i]
    out("user messages (ack asked): every accepted one reached its user: %s"
        % ("yes" if not lost else "LOST %s" % client.summary(lost)))
    out("copies only with the message's id, none that was not sent: %s" % (
        "yes" if not wrong and not stray else "wrong ids %s, stray %s" % (
            client.summary(wrong), client.summary(stray))))
    out("each message left unacked once came again: %s" % (
        "yes" if not again else "not %s" % client.summary(again)))
    # a copy of a channel message is allowed only where the resume
    # replayed what had come live on the same connection before the
    # resume was answered (docs/reliable.md: only what is still queued is
    # taken back), with the same id
    seam = [(u.name, c) for u in s.users for c, got in u.chan.items()
            if len(got) == 2 and got[0][:2] == got[1][:2]
            and got[0][1] and got[0][2] == got[1][2]]
    twice = [(u.name, c, u.chan[c]) for u in s.users for c, got
             in u.chan.items() if len(got) > 1 and (u.name, c) not in seam]
    extra = [(u.name, c) for u in s.users for c in u.chan
             if c not in channel and c not in uncertain]
    missed = [(u.name, c) for u in s.users for c in channel
              if c not in u.chan]
    out("channel messages: every one reached every user, copies only "
        "from a resume: %s"
        % ("yes" if not twice and not extra and not missed else
           "missed %s, twice %s, stray %s" % (
               client.summary(missed), client.summary(twice),
               client.summary(extra))))
    out("nothing awaits an ack at the end; errors: %s" % (
        client.summary(e for u in s.users for e in u.errors) or "none"))
    # under valgrind every worker is many times slower (--slow)
    bound = 10 if client.wsclient.SCALE == 1 else 40
    out("every moved user resumed within 10 s of the quit (40 s under "
        "valgrind): %s" % ("yes" if slow < bound else "no, %.1f s" % slow))
    sys.stderr.write(
        "%d users (%d moved, %d stayed); %d user messages and %d channel "
        "messages accepted, %d retried (429/503), %d uncertain; published "
        "in %.1f s, the quit %.1f s in; the last moved user resumed %.2f s "
        "after the quit; all settled %.1f s after the start; %d copies "
        "received; %d copies of channel messages at a resume's seam\n" % (
            len(s.users), len(moved), len(stayed), len(accepted),
            len(channel), retried, len(uncertain), published - t0,
            quit_at - t0, slow, t_end - t0,
            sum(len(ids) - 1 for u in s.users for ids in u.got.values()),
            len(seam)))


def report_missing(s, accepted, channel, prefix_key):
    """at the deadline: what each user still misses"""
    for u in s.users:
        miss = [k for k in accepted if k % len(s.users) == u.i
                and k not in u.got]
        cmiss = [c for c in channel if c not in u.chan]
        if miss or cmiss:
            out("%s (nodes %s, closes %s, resumed %d): missing user %s, "
                "channel %s" % (u.name, u.nodes, u.closes, u.resumed,
                                client.summary(miss),
                                client.summary(cmiss)))
    try:
        out("awaiting an ack: %s" % rd.redis("ZCARD", prefix_key + "due"))
    except (OSError, ConnectionError, RuntimeError) as e:
        out("awaiting an ack: unknown (%s)" % e)


if __name__ == "__main__":
    sys.exit(client.main())
