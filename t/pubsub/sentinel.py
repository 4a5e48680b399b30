#!/usr/bin/python3
"""Scenarios of t/410-redis-sentinel.t, run like client.py:

    sentinel.py --port N SCENARIO [key=value ...]

The test file's master, replica and three sentinels are those of
t/lib/WsPerf/Sentinel.pm: their ports and the directory of their
configuration and pid files come from the environment.  Which server is
the master changes as the scenarios kill it; each scenario that needs
them asks the sentinels, and leaves both servers up and in sync.  Fake
sentinels (t/pubsub/fakeredis.py) listen on $TEST_NGINX_FAKE_SENTINEL_PORT
and the port after it where a scenario starts them.
"""

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
import redis as rd                  # noqa: E402
from client import out, scenario    # noqa: E402
from fakeredis import FakeRedis, array, bulk  # noqa: E402
from wsclient import Timeout, connect_many, pump, request  # noqa: E402


P = int(os.environ.get("TEST_NGINX_REDIS_PORT", "6410"))
SERVERS = [P, int(os.environ.get("TEST_NGINX_REPLICA_PORT", P + 1))]
SENTINELS = [int(p) for p in os.environ.get(
    "TEST_NGINX_SENTINEL_PORTS", "%d %d %d" % (P + 20000, P + 20001,
                                               P + 20002)).split()]
FAKE = int(os.environ.get("TEST_NGINX_FAKE_SENTINEL_PORT", P + 20003))
NAME = os.environ.get("TEST_NGINX_SENTINEL_NAME", "mym")
DIR = os.environ.get("TEST_NGINX_SENTINEL_DIR", "/tmp")
LOG = os.path.join(os.environ.get("TEST_NGINX_SERVER_ROOT", "t/servroot"),
                   "logs", "error.log")
PONG = b"*2\r\n$4\r\npong\r\n$0\r\n\r\n"


# -------------------------------------------------------------- servers

def cmd(port, *args, timeout=2):
    """One command to a server or sentinel; the decoded reply."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        req = b"*%d\r\n" % len(args)
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            req += b"$%d\r\n%s\r\n" % (len(a), a)
        s.sendall(req)
        return rd._reply(s.makefile("rb"))
    finally:
        s.close()


def ask(port, *args):
    try:
        return cmd(port, *args)
    except (OSError, ConnectionError, RuntimeError, ValueError):
        return None


def master_says():
    """{sentinel port: the master's port it names, or None}"""
    r = {}
    for s in SENTINELS:
        a = ask(s, "SENTINEL", "get-master-addr-by-name", NAME)
        r[s] = int(a[1]) if isinstance(a, list) and len(a) == 2 else None
    return r


def role(port):
    r = ask(port, "ROLE")
    return r[0] if isinstance(r, list) and r else None


def in_sync(replica):
    i = ask(replica, "INFO", "replication") or ""
    return "master_link_status:up" in i


def healthy_topology():
    """The master's port when both servers are up, one the master, the
    other its replica in sync, and every sentinel agrees and sees the
    replica up; None otherwise."""
    says = set(master_says().values())
    if len(says) != 1:
        return None
    master = says.pop()
    if master not in SERVERS or role(master) != "master":
        return None
    replica = [p for p in SERVERS if p != master][0]
    if role(replica) != "slave" or not in_sync(replica):
        return None
    for s in SENTINELS:
        m = ask(s, "SENTINEL", "MASTER", NAME)
        if not isinstance(m, list):
            return None
        f = dict(zip(m[::2], m[1::2]))
        if f.get("num-slaves") != "1" or f.get("flags") != "master":
            return None
        reps = ask(s, "SENTINEL", "REPLICAS", NAME) or []
        for r in reps:
            rf = dict(zip(r[::2], r[1::2]))
            if "s_down" in rf.get("flags", "") \
                    or rf.get("master-link-status") != "ok":
                return None
    return master


def start_server(port):
    subprocess.run(["redis-server", os.path.join(DIR, "redis-%d.conf"
                                                 % port)],
                   check=True, timeout=10)
    rd.wait_for(lambda: ask(port, "PING") == "PONG", 10,
                "redis-server on %d to answer" % port)


def settle(timeout=60):
    """Both servers up and the sentinels agreeing: the master's port."""
    for p in SERVERS:
        if ask(p, "PING") is None:
            start_server(p)
    deadline = time.monotonic() + timeout
    while True:
        m = healthy_topology()
        if m:
            return m
        if time.monotonic() > deadline:
            raise Timeout("the master, its replica and the sentinels to "
                          "agree: %s, roles %s" % (
                              master_says(), {p: role(p) for p in SERVERS}))
        time.sleep(0.1)


def kill(port):
    with open(os.path.join(DIR, "redis-%d.pid" % port)) as f:
        os.kill(int(f.read()), signal.SIGKILL)
    rd.wait_for(lambda: ask(port, "PING") is None, 10,
                "redis-server on %d to die" % port)


# ---------------------------------------------------------------- nginx

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

    def wait(self, pattern, n=1, timeout=10):
        rd.wait_for(lambda: self.count(pattern) >= n, timeout,
                    "%d error log line(s) matching %r" % (n, pattern))


def healthy(port):
    return request(port, "GET", "/health")[0] == 200


def subscribe(port, channel, subs):
    conns = connect_many(port, ["/ws?channels=" + channel] * subs)
    rd.wait_info([port], "channel=" + channel, subs)
    return conns


def got(c, data):
    return any(m.get("data") == data for m in c.messages())


def delivered(port, conns, channel, data, wait=0.5):
    """One publish; True when it was taken and every subscriber got it
    within wait seconds"""
    st, _, _ = request(port, "POST", "/pub", {"channel": channel,
                                              "data": data})
    if st != 202:
        return False
    try:
        pump(conns, lambda: all(got(c, data) for c in conns), wait, data)
        return True
    except Timeout:
        return False


def drain(conns, secs):
    """Reads whatever the subscribers have for secs seconds."""
    try:
        pump(conns, lambda: False, secs, "nothing")
    except Timeout:
        pass


def notices(c):
    return sum(1 for m in c.messages() if m.get("type") == "notice"
               and m.get("code") == "redis_reconnected")


# ------------------------------------------------------------ scenarios

@scenario
def basic(port, channel="news", subs="8", workers="2", msgs="50"):
    """The workers find the master through the sentinels; subscribers on
    every worker get every message once, in order."""
    subs, msgs, workers = int(subs), int(msgs), int(workers)
    master = settle()
    log = ErrorLog()
    log.pos = 0
    rd.wait_for(lambda: healthy(port), 10, "both redis links up")
    conns = subscribe(port, channel, subs)
    out("%d subscribers, through the sentinels" % subs)
    ids = []
    for i in range(msgs):
        ids += rd.publish_ready(port, {"channel": channel,
                                       "data": {"seq": i}})["ids"]
    rd.publish_ready(port, {"channel": channel, "data": "end"})
    rd.collect(conns, "end")
    want = [(i, {"seq": s}) for s, i in enumerate(ids)]
    bad = [n for n, c in enumerate(conns) if rd.ledger(c, "end") != want]
    out("every subscriber got the %d messages once, in order" % msgs
        if not bad else "subscribers %s did not" % bad)
    n = log.count(r'\[notice\] .*ws_perf: redis master of "%s" is now '
                  r'127\.0\.0\.1:%d, says sentinel 127\.0\.0\.1:\d+'
                  % (NAME, master))
    out("error log: the master named once per worker" if n == workers
        else "error log: the master named %d times" % n)
    for c in conns:
        c.abort()


@scenario
def failover(port, channel="fo", subs="8", workers="2"):
    """The master is killed (SIGKILL) in the middle of a publishing run:
    until a sentinel promotes the replica every publish is refused with
    503, never accepted; delivery resumes within 5 s of the promotion
    without a reload; every subscriber gets one redis_reconnected notice;
    what is published after that reaches every subscriber."""
    subs, workers = int(subs), int(workers)
    old = settle()
    new = [p for p in SERVERS if p != old][0]
    rd.wait_for(lambda: healthy(port), 10, "both redis links up")
    conns = subscribe(port, channel, subs)
    pids = rd.pids_of_workers()
    log = ErrorLog()

    answers = []            # (sent, answered, status, seq)
    seq = 0

    def pub():
        nonlocal seq
        t = time.monotonic()
        st, _, _ = request(port, "POST", "/pub", {"channel": channel,
                                                  "data": {"seq": seq}})
        answers.append((t, time.monotonic(), st, seq))
        seq += 1

    start = time.monotonic()
    while time.monotonic() - start < 1:
        pub()
        drain(conns, 0.01)
    t_kill = time.monotonic()
    kill(old)
    # t_old: the start of the last poll in which every sentinel still
    # named the old master (the replica was not promoted before it);
    # t_promo: when a poll first saw one name the replica
    t_old = t_kill
    t_promo = None
    deadline = t_kill + 30
    last_poll = 0
    while t_promo is None:
        pub()
        if time.monotonic() - last_poll > 0.05:
            last_poll = time.monotonic()
            if new in master_says().values():
                t_promo = time.monotonic()
            else:
                t_old = last_poll
        if time.monotonic() > deadline:
            raise Timeout("a sentinel to promote the replica")
        time.sleep(0.01)
    # the first message published after the promotion that every
    # subscriber gets
    resumed = None
    while resumed is None:
        t = time.monotonic()
        if delivered(port, conns, channel, "probe-%d" % seq):
            resumed = time.monotonic()
        answers.append((t, time.monotonic(), 202 if resumed else 0, None))
        seq += 1
        if time.monotonic() - t_promo > 30:
            raise Timeout("delivery to resume")
    after = []
    for i in range(20):
        after.append(rd.publish_ready(port, {"channel": channel,
                                             "data": "after-%d" % i}))
    rd.publish_ready(port, {"channel": channel, "data": "end"})
    rd.collect(conns, "end")

    before = [a for a in answers if a[1] < t_kill]
    outage = [a for a in answers if a[0] > t_kill and a[1] < t_old]
    other = sorted(set(a[2] for a in answers
                       if a[2] not in (202, 503, 0)))
    out("publishes before the kill: %s" % (
        "all 202" if before and all(a[2] == 202 for a in before)
        else sorted(set(a[2] for a in before))))
    out("publishes between the kill and the promotion: %s" % (
        "all 503" if outage and all(a[2] == 503 for a in outage)
        else "none" if not outage
        else "%d x 202" % sum(1 for a in outage if a[2] == 202)))
    out("no status but 202 and 503" if not other else "statuses %s" % other)
    out("delivery resumed within 5 s of the promotion" if resumed - t_promo < 5
        * client.wsclient.SCALE else "delivery resumed after %.1f s"
        % (resumed - t_promo))
    sys.stderr.write("kill -> promotion %.1f s, promotion -> delivery %.2f "
                     "s, %d publishes during the outage\n" % (
                         t_promo - t_kill, resumed - t_promo, len(outage)))
    out("no reload: the same workers" if rd.pids_of_workers() == pids
        else "workers changed")
    n = [notices(c) for c in conns]
    out("every subscriber got one redis_reconnected notice" if set(n) == {1}
        else "redis_reconnected notices: %s" % n)
    taken = ["after-%d" % i for i in range(20)]
    missed = [k for k, c in enumerate(conns)
              if [m.get("data") for m in c.messages()
                  if m.get("data") in taken] != taken]
    out("every subscriber got all 20 published after, in order"
        if not missed else "subscribers %s missed some" % missed)
    # before the kill: every message taken reached every subscriber
    seqs = [a[3] for a in before if a[2] == 202]
    lost = [k for k, c in enumerate(conns)
            if not set(seqs) <= set((m.get("data") or {}).get("seq")
                                    for m in c.messages()
                                    if isinstance(m.get("data"), dict))]
    out("and all %s taken before the kill" % ("of those" if not lost
                                                else "NOT"))
    moved = log.count(r'\[warn\] .*ws_perf: redis master of "%s" is now '
                      r'127\.0\.0\.1:%d' % (NAME, new))
    out("error log: the move named once per worker" if moved == workers
        else "error log: the move named %d times" % moved)
    for c in conns:
        c.abort()
    start_server(old)
    settle()
    out("the old master is back, as its replica")


@scenario
def switch(port, channel="sw", subs="4"):
    """SENTINEL FAILOVER, with the master up: the workers hear
    +switch-master and move both links to the new master with a warning
    and no error line; every subscriber gets one redis_reconnected notice
    and what is published after."""
    subs = int(subs)
    old = settle()
    new = [p for p in SERVERS if p != old][0]
    rd.wait_for(lambda: healthy(port), 10, "both redis links up")
    conns = subscribe(port, channel, subs)
    log = ErrorLog()
    cmd(SENTINELS[0], "SENTINEL", "FAILOVER", NAME)
    rd.wait_for(lambda: set(master_says().values()) == {new}, 30,
                "the sentinels to name the replica")
    log.wait(r'\[warn\] .*ws_perf: redis master of "%s" is now '
             r'127\.0\.0\.1:%d' % (NAME, new), 2)
    rd.wait_for(lambda: all(notices(c) for c in conns) or drain(conns, 0.1),
                10, "the notices")
    rd.publish_ready(port, {"channel": channel, "data": "end"})
    rd.collect(conns, "end")
    out("the links moved to the new master, a warning per worker")
    out("every subscriber got one redis_reconnected notice, then the next "
        "message" if all(notices(c) == 1 and got(c, "end") for c in conns)
        else "notices %s" % [notices(c) for c in conns])
    errors = log.count(r"\[error\]")
    out("no error line" if not errors else "%d error lines" % errors)
    for c in conns:
        c.abort()
    settle()


@scenario
def replica(port, seconds="3"):
    """A sentinel (a fake) that names the replica as the master: the
    workers find out with ROLE and never send it a write; they ask the
    sentinel again, at a bounded rate; publishes get 503.  Once it names
    the master, publishing works."""
    master = settle()
    rep = [p for p in SERVERS if p != master][0]
    fake = FakeRedis(FAKE).start()
    try:
        fake.rule("SENTINEL get-master-addr-by-name *",
                  array([bulk("127.0.0.1"), bulk(str(rep))]), times=None)
        fake.rule("PING", PONG, times=None)
        cmd(rep, "CONFIG", "RESETSTAT")
        log = ErrorLog()
        log.wait(r"is a replica, not the master \(ROLE\)", 2)
        t0 = time.monotonic()
        n0 = fake.count("SENTINEL get-master-addr-by-name *")
        codes = set()
        while time.monotonic() - t0 < float(seconds):
            codes.add(request(port, "POST", "/pub",
                              {"channel": "r", "data": "x"})[0])
            time.sleep(0.1)
        n = fake.count("SENTINEL get-master-addr-by-name *") - n0
        out("publishes while the sentinel names the replica: %s"
            % sorted(codes))
        # 2 workers, a wait from 50 ms doubling to 200 ms (the config)
        bound = 2 * (float(seconds) / 0.2 + 3)
        out("the sentinel asked again, at a bounded rate" if 2 <= n <= bound
            else "the sentinel asked %d times in %s s" % (n, seconds))
        stats = cmd(rep, "INFO", "commandstats")
        called = sorted(set(re.findall(r"cmdstat_(\w+(?:\|\w+)?):", stats)))
        # what the module writes (DEL and PUBLISH come down from the
        # master: its expiries, the sentinels' hellos)
        writes = [c for c in called if c.split("|")[0] in
                  ("fcall", "function", "hset", "hdel", "set", "select",
                   "xadd", "zadd", "eval", "evalsha")]
        out("the replica heard ROLE and no write: %s"
            % ("yes" if "role" in called and not writes
               else "called %s" % called))
        fake.clear_rules()
        fake.rule("SENTINEL get-master-addr-by-name *",
                  array([bulk("127.0.0.1"), bulk(str(master))]), times=None)
        fake.rule("PING", PONG, times=None)
        rd.wait_for(lambda: healthy(port), 10, "both redis links up")
        st, _, _ = request(port, "POST", "/pub", {"channel": "r",
                                                  "data": "x"})
        out("once it names the master: %d" % st)
        bad = log.count(r"\[alert\]|\[crit\]|exited on signal")
        out("no worker died" if not bad else "%d alert lines" % bad)
    finally:
        fake.stop()


# the rules of t/418-redis-sentinel-acl.t: the data user holds what
# docs/redis.md recommends, the sentinel user only what the module asks a
# sentinel (docs/redis.md, "Sentinel")
DATA_RULE = ["on", "resetkeys", "~ws_perf:*", "resetchannels", "&ws_perf:*",
             "+@all", "-@dangerous", "+role"]
WATCH_RULE = ["on", "resetchannels", "&+switch-master", "-@all", "+auth",
              "+ping", "+subscribe", "+sentinel|get-master-addr-by-name"]


def users_on(port, user):
    """the clients of the server or sentinel on port logged in as user"""
    lst = ask(port, "CLIENT", "LIST") or ""
    return sum(1 for line in lst.splitlines() if " user=%s " % user in line)


def grant(user, password, watcher, watch_password):
    """the data user on both servers (a replica promoted later must know
    it), the sentinel user on every sentinel"""
    for p in SERVERS:
        cmd(p, "ACL", "SETUSER", user, "reset", ">" + password, *DATA_RULE)
    for p in SENTINELS:
        cmd(p, "ACL", "SETUSER", watcher, "reset", ">" + watch_password,
            *WATCH_RULE)


@scenario
def acl(port, user="app", password="App-s3cret", watcher="watch",
        watch_password="Watch-s3cret", channel="acl", subs="4",
        workers="2"):
    """The workers log in to the sentinels and to the master as their own
    users, which hold only the rules above: pub/sub works; after the
    master is killed and the replica promoted, the links log in to the
    new master as the same user and delivery resumes; no password is in
    the error log."""
    subs, workers = int(subs), int(workers)
    grant(user, password, watcher, watch_password)
    old = settle()
    new = [p for p in SERVERS if p != old][0]
    rd.wait_for(lambda: healthy(port), 20, "both redis links up")
    conns = subscribe(port, channel, subs)
    rd.wait_for(lambda: sum(users_on(s, watcher) for s in SENTINELS)
                >= workers, 10, "a sentinel link per worker")
    out("sentinel links as %s: %d" % (
        watcher, sum(users_on(s, watcher) for s in SENTINELS)))
    out("master links as %s: %d" % (user, users_on(old, user)))
    rd.publish_ready(port, {"channel": channel, "data": "before"})
    rd.collect(conns, "before")
    out("delivered as the users")
    kill(old)
    rd.wait_for(lambda: new in master_says().values(), 30,
                "a sentinel to promote the replica")
    rd.wait_for(lambda: delivered(port, conns, channel, "probe"), 15,
                "delivery through the promoted replica")
    rd.wait_for(lambda: users_on(new, user) >= 2 * workers, 10,
                "the links on the promoted replica")
    out("after the failover, links as %s on the new master: %d"
        % (user, users_on(new, user)))
    rd.publish_ready(port, {"channel": channel, "data": "end"})
    rd.collect(conns, "end")
    out("every subscriber got the message after the failover")
    for c in conns:
        c.abort()
    start_server(old)
    grant(user, password, watcher, watch_password)
    settle()
    log = ErrorLog()
    log.pos = 0
    n = log.count(re.escape(password)) + log.count(re.escape(watch_password))
    out("lines with a password in the error log: %d" % n)


@scenario
def acl_refused(port, says, secret, user="app", password="App-s3cret",
                watcher="watch", watch_password="Watch-s3cret"):
    """A wrong password, to the sentinels or to the master: once a worker
    has logged the refusal, publishes are answered 503, and the secret
    given is in no line of the error log."""
    import acl as acls
    grant(user, password, watcher, watch_password)
    settle()
    acls.refused(port, says)
    log = ErrorLog()
    log.pos = 0
    out("lines with the password in the error log: %d"
        % log.count(re.escape(secret)))


@scenario
def failover_ledger(port, users="100", msgs_="1000"):
    """The ledger of t/405 (reliable.py) with the fault "failover":
    halfway through the master is killed with SIGKILL, a sentinel
    promotes the replica, and every message the publisher was told was
    accepted still reaches its user; copies carry the same id."""
    import reliable
    old = settle()
    rd.REDIS_PORT = old

    def master():
        says = [p for p in master_says().values() if p]
        return max(set(says), key=says.count) if says else None

    reliable.FAULTS["failover"] = lambda: kill(old)
    reliable.MASTER = master
    reliable.ledger(port, users, msgs_, fault="failover")
    start_server(old)
    settle()
    out("the old master is back, as its replica")


@scenario
def wait_replicas(port, channel="w"):
    """With ws_perf_redis_wait_replicas 1 100ms a publish is taken once
    the replica has it; while the replica sleeps publishes get 503 with
    the reason (and were published all the same); then 202 again."""
    master = settle()
    rep = [p for p in SERVERS if p != master][0]
    rd.wait_for(lambda: healthy(port), 10, "both redis links up")
    conns = subscribe(port, channel, 1)
    st, _, _ = request(port, "POST", "/pub", {"channel": channel,
                                              "data": "one"})
    out("with the replica in sync: %d" % st)
    # DEBUG SLEEP blocks the replica; sent without waiting for it
    s = socket.create_connection(("127.0.0.1", rep))
    s.sendall(b"*3\r\n$5\r\nDEBUG\r\n$5\r\nSLEEP\r\n$3\r\n0.8\r\n")
    time.sleep(0.1)
    t = time.monotonic()
    st, headers, body = request(port, "POST", "/pub", {"channel": channel,
                                                      "data": "two"})
    took = time.monotonic() - t
    out("while the replica sleeps: %d, Retry-After %s, %s, %s" % (
        st, headers.get("retry-after"), json.loads(body).get("error"),
        "after the wait" if 0.09 < took < 0.5 else "after %.2f s" % took))
    s.recv(100)
    s.close()
    pump(conns, lambda: got(conns[0], "two"), 5, "two")
    out("the subscriber got that one all the same")
    rd.wait_for(lambda: request(port, "POST", "/pub", {
        "channel": channel, "data": "three"})[0] == 202, 10,
        "a publish to be taken again")
    out("once the replica answers: 202")
    conns[0].abort()
    settle()


def worker_pid(port):
    return request(port, "GET", "/pid")[2].decode().strip()


HOSTILE = [
    # (what, answer to the get-master-addr query, what the log says)
    ("a status reply", b"+OK\r\n",
     r"unexpected reply to SENTINEL get-master-addr-by-name"),
    ("an array of three", b"*3\r\n$9\r\n127.0.0.1\r\n$4\r\n6379\r\n"
                          b"$1\r\nx\r\n",
     r"unexpected reply to SENTINEL get-master-addr-by-name"),
    ("an integer port", b"*2\r\n$9\r\n127.0.0.1\r\n:6379\r\n",
     r"unexpected reply to SENTINEL get-master-addr-by-name"),
    ("a port out of range", b"*2\r\n$9\r\n127.0.0.1\r\n$5\r\n65536\r\n",
     r"unexpected reply to SENTINEL get-master-addr-by-name"),
    ("a nested array", b"*2\r\n*1\r\n$1\r\na\r\n$4\r\n6379\r\n",
     r"unexpected reply to SENTINEL get-master-addr-by-name"),
    ("a host name", b"*2\r\n$9\r\nredis-one\r\n$4\r\n6379\r\n",
     r'names the master by a host name, "redis-one", not an IP '
     r'address'),
    ("a 1 MB address", b"*2\r\n$1048576\r\n" + b"1" * 1048576
     + b"\r\n$4\r\n6379\r\n",
     r"unexpected reply to SENTINEL get-master-addr-by-name"),
    ("nil (no such master)", b"*-1\r\n",
     r"it monitors no master of that name"),
    ("an error", b"-ERR unknown command 'sentinel'\r\n",
     r"ERR unknown command 'sentinel'"),
    ("not RESP", b"!what\r\n", r"Protocol error"),
    ("arrays nested 9 deep", b"*1\r\n" * 9 + b":1\r\n",
     r"nested multi bulk replies with depth > 7"),
    ("a closed connection", None, r"Connection reset by peer|closed"),
    ("no answer", b"", r"connect or handshake timed out"),
]

PUSHES = [
    # (what, push on the subscribed link, log pattern or None)
    ("a push of a wrong shape", b"*3\r\n$7\r\nmessage\r\n$14\r\n"
     b"+switch-master\r\n:5\r\n", r"a pub/sub push of an unexpected shape"),
    ("a push on another channel", b"*3\r\n$7\r\nmessage\r\n$5\r\nother"
     b"\r\n$1\r\nx\r\n", r"a pub/sub push of an unexpected shape"),
    ("a switch to a host name", None, r"names the master by a host name"),
    ("a switch of another master", None, None),
]


def subscribed(fake, n):
    """waits for the fake's n+1-th SUBSCRIBE, then for the link it came
    on to be the only one subscribed there"""
    rd.wait_for(lambda: fake.count("SUBSCRIBE *") > n, 10,
                "a SUBSCRIBE on the fake sentinel %d" % fake.port)
    rd.wait_for(lambda: fake.subscribers(b"+switch-master") == 1, 10,
                "one link subscribed on the fake sentinel %d" % fake.port)


@scenario
def hostile(port):
    """Two fake sentinels; before each case the one in use drops its
    connection, and the other answers the case: garbage RESP, replies of
    the wrong shape, host names, a 1 MB value, errors, silence.  Each
    costs one [error] line about that sentinel and has the next one
    asked; the worker lives on, its data links stay on the master.  Then
    pushes of every wrong kind on the subscribed link."""
    master = settle()
    good = array([bulk("127.0.0.1"), bulk(str(master))])
    fakes = [FakeRedis(FAKE).start(), FakeRedis(FAKE + 1).start()]

    def answer(f, first=False):
        """the fake's answers: first to the next query (None: it closes
        the connection), good ones after"""
        f.clear_rules()
        if first is not False:
            f.rule("SENTINEL get-master-addr-by-name *", first)
            if first == b"":
                f.rule("SUBSCRIBE *", b"")
        f.rule("SENTINEL get-master-addr-by-name *", good, times=None)
        f.rule("PING", PONG, times=None)

    def verdict(what, log, bad, pid):
        errors = log.count(r"\[error\]")
        mine = log.count(r"\[error\] .*ws_perf: redis sentinel "
                         r"127\.0\.0\.1:%d " % bad.port)
        out("%s: %s, %s, %s" % (
            what, "one [error] line" if mine == 1 and errors <= 2
            else "%d [error] lines (%d about it)" % (errors, mine),
            "same worker" if worker_pid(port) == pid
            else "ANOTHER WORKER",
            "publishing works" if request(port, "POST", "/pub", {
                "channel": "h", "data": "x"})[0] == 202
            else "publishing FAILS"))

    try:
        for f in fakes:
            answer(f)
        rd.wait_for(lambda: healthy(port), 10, "both redis links up")
        rd.wait_for(lambda: sum(f.subscribers(b"+switch-master")
                                for f in fakes) == 1, 10,
                    "one sentinel link subscribed")
        cur = [f for f in fakes if f.subscribers(b"+switch-master")][0]
        pid = worker_pid(port)

        for what, raw, pattern in HOSTILE:
            other = fakes[1 - fakes.index(cur)]
            answer(other, raw)
            n = cur.count("SUBSCRIBE *")
            log = ErrorLog()
            cur.drop_clients()
            log.wait(r"\[error\] .*ws_perf: redis sentinel 127\.0\.0\.1:%d "
                     r'of "%s" failed: .*(?:%s)' % (other.port, NAME, pattern))
            # the next one, the first again, is asked and answers
            subscribed(cur, n)
            verdict(what, log, other, pid)

        for what, raw, pattern in PUSHES:
            other = fakes[1 - fakes.index(cur)]
            answer(other)
            if raw is None and "host" in what:
                raw = array([bulk("message"), bulk("+switch-master"),
                             bulk("%s 127.0.0.1 %d db.example %d"
                                  % (NAME, master, master))])
            elif raw is None:
                raw = array([bulk("message"), bulk("+switch-master"),
                             bulk("other 127.0.0.1 %d 127.0.0.1 1"
                                  % master)])
            log = ErrorLog()
            n = other.count("SUBSCRIBE *")
            k = cur.count("PING")
            cur.push(raw)
            if pattern:
                log.wait(r"\[error\] .*ws_perf: redis sentinel "
                         r"127\.0\.0\.1:%d .*failed: .*%s"
                         % (cur.port, pattern))
                subscribed(other, n)
                verdict(what, log, cur, pid)
                cur = other
            else:
                # a PING after the push: it was read, and let be
                rd.wait_for(lambda: cur.count("PING") > k + 1, 5,
                            "a PING after the push")
                out("%s: %s, %s" % (
                    what, "no [error] line, the link kept"
                    if not log.count(r"\[error\]")
                    and cur.subscribers(b"+switch-master") == 1
                    else "%d [error] lines" % log.count(r"\[error\]"),
                    "same worker" if worker_pid(port) == pid
                    else "ANOTHER WORKER"))
        bad = ErrorLog()
        bad.pos = 0
        out("no alert, no signal" if not bad.count(
            r"\[alert\]|\[crit\]|exited on signal") else "alerts logged")
    finally:
        for f in fakes:
            f.stop()


if __name__ == "__main__":
    sys.exit(client.main())
