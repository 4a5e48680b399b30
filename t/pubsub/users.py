#!/usr/bin/python3
"""Scenarios of t/411-user-limit.t: ws_perf_max_connections_per_user
counted on every worker and every node, run like client.py:

    users.py --port N SCENARIO [key=value ...]

ws= is the port of a "reuseport" listener, where each worker has a socket
of its own.  A connection is put on the worker a scenario wants: a
keep-alive TCP connection asks GET /pid (nginx's $pid) first and, when
that worker answered, goes on with the WebSocket handshake; otherwise it
is closed and another tried.  With prefix= the nginx under test runs the
Redis engine with that ws_perf_redis_prefix, and the scenario first waits
until every worker's key is in Redis (its publish link is up).
"""

import os
import re
import signal
import socket
import sys
import time

sys.dont_write_bytecode = True      # no __pycache__ in the source tree
import client                       # noqa: E402
import redis as rd                  # noqa: E402
import wsclient                     # noqa: E402
from client import out, scenario    # noqa: E402
from fakeredis import FakeRedis, array, bulk, integer  # noqa: E402
from hostile import LOST_CMD, ErrorLog, errors  # noqa: E402
from wsclient import WS, Timeout, pump  # noqa: E402


FAKE_PORT = int(os.environ.get("TEST_NGINX_FAKE_REDIS_PORT", "7702"))
SERVROOT = os.environ.get("TEST_NGINX_SERVER_ROOT", "t/servroot")


# ---------------------------------------------------------------- helpers

def wait_for(cond, timeout, what, step=0.02):
    rd.wait_for(cond, timeout, what, step)


def ask_pid(sock):
    """GET /pid on a keep-alive connection: the worker that answered"""
    sock.sendall(b"GET /pid HTTP/1.1\r\nHost: localhost\r\n\r\n")
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("nginx closed the connection")
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    n = int(re.search(rb"(?i)\r\ncontent-length: *(\d+)", head).group(1))
    while len(body) < n:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("nginx closed the connection")
        body += chunk
    return int(body.strip())


def probe(port):
    s = socket.create_connection(("127.0.0.1", port),
                                 timeout=10 * wsclient.SCALE)
    try:
        return s, ask_pid(s)
    except (OSError, ConnectionError):
        s.close()
        raise


def workers(port, n=2, tries=200):
    """the pids of the n workers behind the listener"""
    seen = set()
    for _ in range(tries):
        s, pid = probe(port)
        s.close()
        seen.add(pid)
        if len(seen) == n:
            return sorted(seen)
    raise AssertionError("%d tries reached workers %s only" % (tries, seen))


def on_worker(port, path, pid, tries=200):
    """a WebSocket connection whose handshake worker pid answered"""
    for _ in range(tries):
        s, got = probe(port)
        if got != pid:
            s.close()
            continue
        ws = WS(port, path, sock=s)
        pump([ws], lambda: ws.response is not None or ws.eof, 10,
             "handshake of " + path)
        return ws
    raise AssertionError("no connection reached worker %d in %d tries"
                         % (pid, tries))


def anywhere(port, path):
    ws = WS(port, path)
    pump([ws], lambda: ws.response is not None or ws.eof, 10,
         "handshake of " + path)
    return ws


def admitted(connect, timeout, what):
    """connect() until a handshake gets 101: (the connection, seconds);
    each refused one is closed at once and holds no slot"""
    start = time.monotonic()
    deadline = start + timeout * wsclient.SCALE
    while True:
        c = connect()
        if c.status() == 101:
            return c, time.monotonic() - start
        c.abort()
        if time.monotonic() > deadline:
            raise Timeout(what)
        time.sleep(0.05)


def statuses(conns):
    return " ".join(str(c.status()) for c in conns)


def close(conns):
    for c in conns:
        c.abort()


def user_key(prefix, user):
    """<prefix>u:NAME (in a Redis Cluster <prefix>{shard}u:NAME)"""
    k = rd.key("u", user)
    if not k.startswith(prefix):
        raise AssertionError("%s is not under the prefix %s" % (k, prefix))
    return k


def workers_at(prefix, user="alice"):
    """where the workers' keys are, <prefix>w: (in a cluster every shard
    has them: those of the user's shard, where ws_perf_admit reads them)"""
    k = user_key(prefix, user)
    return k[:-len("u:" + user)] + "w:"


def redis_ready(prefix, n, timeout=10):
    """n workers' keys in Redis: their publish links are up"""
    w = workers_at(prefix)
    wait_for(lambda: len(rd.route(w, "KEYS", w + "*")) >= n, timeout,
             "%d workers' keys under %s" % (n, w))


def worker_keys(prefix):
    w = workers_at(prefix)
    return [k[len(w):] for k in rd.route(w, "KEYS", w + "*")]


def counted(prefix, user):
    """a user's connections as ws_perf_admit counts them: the fields of
    <prefix>u:NAME#c whose worker's key holds their session"""
    k = user_key(prefix, user)
    h = rd.route(k, "HGETALL", k + "#c") or []
    n = 0
    for field, count in zip(h[::2], h[1::2]):
        worker, session = field.rsplit(":", 1)
        cur = rd.route(k, "GET", workers_at(prefix, user) + worker)
        if cur is not None and int(cur) == int(session):
            n += int(count)
    return n


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


# ------------------------------------------------------------ scenarios

@scenario
def spread(port, ws, prefix="", user="alice"):
    """ws_perf_max_connections_per_user 3 and two workers: the user's
    connections on both count together, whichever worker is asked."""
    ws = int(ws)
    if prefix:
        redis_ready(prefix, 2)
    a, b = workers(ws)
    path = "/ws?user=" + user
    c = [on_worker(ws, path, a), on_worker(ws, path, a),
         on_worker(ws, path, b)]
    out("#1 and #2 on worker A, #3 on worker B: %s" % statuses(c))
    more = [on_worker(ws, path, a), on_worker(ws, path, b)]
    out("a 4th on worker A, on worker B: %s" % statuses(more))
    close(more)
    bob = on_worker(ws, "/ws?user=bob", a)
    out("another user on worker A: %s" % bob.status())

    c[2].abort()
    again, _ = admitted(lambda: on_worker(ws, path, a), 10,
                        "the slot of #3 back")
    out("#3 (worker B) closed: a new one on worker A gets 101")
    last = on_worker(ws, path, b)
    out("and one more on worker B: %s" % last.status())
    close(c + [bob, again, last])


@scenario
def race(port, ws, user="carol", n="12"):
    """n handshakes of one user at once, over both workers: exactly as
    many admitted as the limit (3)."""
    ws = int(ws)
    conns = [WS(ws, "/ws?user=" + user) for _ in range(int(n))]
    pump(conns, lambda: all(c.response is not None or c.eof
                            for c in conns), 20, "handshakes")
    got = sorted(c.status() for c in conns)
    out("%s at once: %d x 101, %d x 429" % (n, got.count(101),
                                            got.count(429)))
    close(conns)


@scenario
def nodes(port, ws, node, node_ws, prefix, user="alice", racer="dave"):
    """A second nginx node on the same Redis: the limit (3) holds for the
    user's connections on both nodes together, also when handshakes
    race on both."""
    ws, node, node_ws = int(ws), int(node), int(node_ws)
    redis_ready(prefix, 2)
    # the block's ws_perf_redis* lines, its prefix too, are the node's
    second = rd.Node(node, node_ws, 2, "ws_perf_max_connections_per_user 3;")
    try:
        redis_ready(prefix, 4)
        out("the second node's workers are in redis: %d workers' keys"
            % len(worker_keys(prefix)))
        path = "/ws?user=" + user
        c = [anywhere(ws, path), anywhere(ws, path), anywhere(node_ws, path)]
        out("#1, #2 on node 1, #3 on node 2: %s" % statuses(c))
        more = [anywhere(node_ws, path), anywhere(ws, path)]
        out("a 4th on node 2, on node 1: %s" % statuses(more))
        close(more)
        c[0].abort()
        again, _ = admitted(lambda: anywhere(node_ws, path), 10,
                            "the slot of #1 back")
        out("#1 (node 1) closed: a new one on node 2 gets 101")
        close(c + [again])

        conns = [WS(node_ws if i % 2 else ws, "/ws?user=" + racer)
                 for i in range(12)]
        pump(conns, lambda: all(x.response is not None or x.eof
                                for x in conns), 20, "handshakes")
        got = sorted(x.status() for x in conns)
        out("12 at once, 6 on each node: %d x 101, %d x 429"
            % (got.count(101), got.count(429)))
        close(conns)
    finally:
        bad = second.stop()
        out("second node stopped, its error log clean" if not bad
            else "second node's error log: %s" % bad[:5])


@scenario
def reload(port, ws, prefix="", user="alice"):
    """nginx -s reload with the user at its limit (2): the old workers'
    slots go with their connections, the new workers count anew."""
    ws = int(ws)
    if prefix:
        redis_ready(prefix, 2)
    old = workers(ws)
    path = "/ws?user=" + user
    c = [anywhere(ws, path) for _ in range(3)]
    out("before: %s" % statuses(c))
    os.kill(rd.master_pid(), signal.SIGHUP)
    pump(c[:2], lambda: c[0].eof and c[1].eof, 10,
         "the open connections closed")
    out("reload: the open ones closed with %s"
        % sorted({x.close_code() for x in c[:2]}))
    wait_for(lambda: not any(alive(p) for p in old), 20,
             "the old workers to exit")
    if prefix:
        redis_ready(prefix, 2)
        gone = not any(k.endswith(":%d" % p) for k in worker_keys(prefix)
                       for p in old)
        out("the old workers' keys in redis: %s"
            % ("gone" if gone else worker_keys(prefix)))
    n = [anywhere(ws, path) for _ in range(3)]
    out("after: %s" % statuses(n))
    close(c + n)


@scenario
def killed(port, ws, prefix="", bound="1", user="alice"):
    """The worker holding the user's 2 connections is killed (SIGKILL):
    its slots are free again within the bound."""
    ws = int(ws)
    if prefix:
        redis_ready(prefix, 2)
    a, b = workers(ws)
    path = "/ws?user=" + user
    c = [on_worker(ws, path, a), on_worker(ws, path, a)]
    out("#1 and #2 on worker A: %s" % statuses(c))
    os.kill(a, signal.SIGKILL)
    start = time.monotonic()
    pump(c, lambda: c[0].eof and c[1].eof, 10, "the killed worker's end")
    # a process killed is "gone" once nginx's master has reaped it
    wait_for(lambda: not os.path.exists("/proc/%d" % a), 10,
             "the master to reap worker A")
    first = on_worker(ws, path, b)
    out("right after worker A was killed, #3 on worker B: %s"
        % first.status())
    if first.status() == 101:
        later = first
    else:
        first.abort()
        later, _ = admitted(lambda: on_worker(ws, path, b), 30,
                            "the killed worker's slots back")
    took = time.monotonic() - start
    out("#3 admitted %s" % ("within %s s of the kill" % bound
                            if took <= float(bound) * wsclient.SCALE
                            else "after %.1f s" % took))
    more = [on_worker(ws, path, b), on_worker(ws, path, b)]
    out("#4 and #5 on worker B: %s" % statuses(more))
    close([later] + more)


@scenario
def outage(port, ws, prefix, user="alice"):
    """Redis down at the handshake: each worker admits up to the limit
    (2) of its own connections and says so once; once Redis is back the
    workers' counts are all in it again."""
    ws = int(ws)
    redis_ready(prefix, 2)
    a, b = workers(ws)
    path = "/ws?user=" + user
    log = ErrorLog()
    rd.redis_stop()
    c = [on_worker(ws, path, a), on_worker(ws, path, a)]
    third = on_worker(ws, path, a)
    d = on_worker(ws, path, b)
    out("redis down: #1, #2 on worker A: %s; #3 on worker A: %s; "
        "#3 on worker B: %s" % (statuses(c), third.status(), d.status()))
    third.abort()
    warns = [re.search(r"\[warn\] (\d+)#", x).group(1) for x in log.lines()
             if "counts the connections of this worker only" in x
             and "[warn]" in x]
    out("warnings: %s" % ("one from each worker" if sorted(warns)
                          == sorted(str(p) for p in (a, b)) else warns))

    rd.redis_start()
    wait_for(lambda: counted(prefix, user) == 3, 10,
             "the workers' counts back in redis")
    out("redis back: it counts the user's 3 connections")
    more = [on_worker(ws, path, a), on_worker(ws, path, b)]
    out("a new one on worker A, on worker B: %s" % statuses(more))
    close(more)
    close(c)
    again, _ = admitted(lambda: on_worker(ws, path, b), 10,
                        "the slots of #1 and #2 back")
    last = on_worker(ws, path, a)
    out("#1, #2 closed: one more gets 101, the next %s" % last.status())
    close([d, again, last])


@scenario
def slow(port, ws, prefix, user="alice"):
    """Redis stops answering (DEBUG SLEEP 2) at the handshake: the answer
    comes after the command timeout (500 ms), not when redis wakes up;
    afterwards redis counts that connection too."""
    ws = int(ws)
    redis_ready(prefix, 2)
    path = "/ws?user=" + user

    # in a cluster, the master of the user's shard
    server = rd.owner(user_key(prefix, user))

    def asleep():
        try:
            s = socket.create_connection(("127.0.0.1", server), timeout=0.1)
            try:
                s.settimeout(0.1)
                s.sendall(b"*1\r\n$4\r\nPING\r\n")
                s.recv(100)
            finally:
                s.close()
            return False
        except OSError:
            return True

    s = socket.create_connection(("127.0.0.1", server))
    s.sendall(b"*3\r\n$5\r\nDEBUG\r\n$5\r\nSLEEP\r\n$1\r\n2\r\n")
    wait_for(asleep, 5, "redis to sleep")
    start = time.monotonic()
    c = anywhere(ws, path)
    took = time.monotonic() - start
    out("a handshake while redis sleeps: %s, %s" % (
        c.status(), "answered before redis woke up" if took < 1.5
        else "answered after %.1f s" % took))
    s.settimeout(10)
    s.recv(100)
    s.close()
    wait_for(lambda: counted(prefix, user) == 1, 10,
             "the connection counted in redis")
    out("redis awake: it counts that connection")
    n = [anywhere(ws, path), anywhere(ws, path)]
    out("two more: %s" % statuses(n))
    close([c] + n)


@scenario
def hostile(port, ws):
    """A fake Redis answers ws_perf_admit with what it never returns: the
    handshake is admitted (counted by the worker, as without redis), the
    reply costs one [error] line and the link, the worker lives on; an
    error reply is a warning and keeps the link; a sane answer of 0
    still refuses."""
    ws = int(ws)
    fake = FakeRedis(FAKE_PORT).start()
    try:
        wait_for(lambda: fake.count("SET *w:*") >= 2, 10,
                 "both workers' publish links")
        a, _ = workers(ws)

        def case(n, raw):
            log = ErrorLog()
            loads = fake.count("FUNCTION LOAD *")
            fake.rule("FCALL ws_perf_admit *", raw)
            c = on_worker(ws, "/ws?user=u%d" % n, a)
            return c, log, loads

        cases = [
            ("a string", bulk(b"1")),
            ("an integer", integer(1)),
            ("a nil", bulk(None)),
            ("an empty array", b"*0\r\n"),
            ("three elements", array([integer(1), integer(1), integer(1)])),
            ("a count that is a string", array([integer(1), bulk(b"1")])),
            ("admitted 2", array([integer(2), integer(1)])),
            ("a negative count", array([integer(1), integer(-1)])),
            ("a nested array", array([array([integer(1)]), integer(1)])),
        ]
        for n, (name, raw) in enumerate(cases):
            c, log, loads = case(n, raw)
            wait_for(lambda: fake.count("FUNCTION LOAD *") > loads, 10,
                     "the publish link replaced")
            out("%s: %s, %s, link replaced, worker %s" % (
                name, c.status(),
                errors(log, LOST_CMD + "unexpected reply to FCALL "
                                       "ws_perf_admit"),
                "alive" if alive(a) else "GONE"))
            c.abort()

        c, log, loads = case(len(cases), b"-ERR boom\r\n")
        warned = log.count(r"\[warn\] .*ws_perf: redis refused ws_perf_admit"
                           r" \(\"ERR boom\"\): ws_perf_max_connections_"
                           r"per_user counts the connections of this "
                           r"worker only")
        out("an error reply: %s, %s, %d warning, %s" % (
            c.status(), errors(log, "-"), warned,
            "the link kept" if fake.count("FUNCTION LOAD *") == loads
            else "the link replaced"))
        c.abort()

        c, _, _ = case(len(cases) + 1, array([integer(0), integer(2)]))
        out("an answer of {0, 2}: %s" % c.status())
        c.abort()
        c = on_worker(ws, "/ws?user=last", a)
        out("then the fake's own {1, 1}: %s, worker %s"
            % (c.status(), "alive" if alive(a) else "GONE"))
        c.abort()
    finally:
        fake.stop()


if __name__ == "__main__":
    sys.exit(client.main())
