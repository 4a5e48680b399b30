#!/usr/bin/python3
"""Scenarios of t/230-presence.t: ws_perf_presence, run like client.py:

    presence.py --port N SCENARIO [key=value ...]

ws= is the port of a "reuseport" listener where each worker has a socket
of its own: a connection is put on the worker a scenario wants
(users.py).  Presence events are waited for with deadlines; GET
?presence= on /pub is polled until it says what is expected.
"""

import json
import os
import signal
import sys
import time

sys.dont_write_bytecode = True      # no __pycache__ in the source tree
import client                       # noqa: E402
import redis as rd                  # noqa: E402
import users                        # noqa: E402
import wsclient                     # noqa: E402
from client import out, scenario    # noqa: E402
from sse import stream              # noqa: E402
from users import anywhere, on_worker, workers  # noqa: E402
from wsclient import Timeout, pump, request, wait_subscribers  # noqa


def events(ws, kinds=("join", "leave", "presence")):
    return [m for m in ws.messages() if m.get("type") in kinds]


def seen(ws, kind, user):
    return [m for m in events(ws) if m["type"] == kind
            and m.get("user") == user]


def wait_event(ws, kind, user, timeout=10, n=1):
    pump([ws], lambda: len(seen(ws, kind, user)) >= n, timeout,
         "%s of %s" % (kind, user))


def presence(port, channel):
    status, _, data = request(port, "GET", "/pub?presence=" + channel)
    if status != 200:
        raise AssertionError("presence %s: %d %r" % (channel, status, data))
    return json.loads(data)


def wait_presence(port, channel, users, timeout=10):
    deadline = time.monotonic() + timeout * wsclient.SCALE
    while True:
        status, _, data = request(port, "GET", "/pub?presence=" + channel)
        # 503: redis not back yet
        got = json.loads(data) if status in (200, 503) else None
        if got is None:
            raise AssertionError("presence %s: %d %r"
                                 % (channel, status, data))
        if status == 200 and got["users"] == users \
                and got["count"] == len(users):
            return got
        if time.monotonic() > deadline:
            raise Timeout("presence of %s is %s, not %s"
                          % (channel, got, users))
        time.sleep(0.02)


def show(got):
    return json.dumps(got, separators=(",", ":"), sort_keys=True)


def subscribed(ws, what, port=None, ch=None, n=1):
    """a connection answered 101 (its handshake channels are in place
    once a ping has its pong: the worker handled the upgrade first); with
    port and ch, the channel has n subscribers in the channel info (with
    Redis: once the worker's SUBSCRIBE is confirmed, before which an event
    published there would not reach it)"""
    if ws.status() != 101:
        raise AssertionError("%s: handshake %s" % (what, ws.status()))
    ws.send_json({"type": "ping"})
    pump([ws], lambda: any(m.get("type") == "pong" for m in ws.messages()),
         10, "pong of " + what)
    if port is not None:
        wait_subscribers(port, "channel=" + ch, n)


# ------------------------------------------------------------ scenarios

@scenario
def tabs(port, ws, ch="room.1"):
    """Two users, one with a tab on each worker: one join per user, a
    leave only when the user's last tab goes, GET lists both while
    present; the observer (no user) is no member."""
    ws = int(ws)
    a, b = workers(ws)
    obs = on_worker(ws, "/ws?channels=" + ch, a)
    subscribed(obs, "observer", port, ch)

    alice1 = on_worker(ws, "/ws?channels=%s&user=alice" % ch, a)
    wait_event(obs, "join", "alice")
    alice2 = on_worker(ws, "/ws?channels=%s&user=alice" % ch, b)
    subscribed(alice2, "alice's 2nd tab")
    bob = on_worker(ws, "/ws?channels=%s&user=bob" % ch, b)
    wait_event(obs, "join", "bob")
    got = wait_presence(port, ch, ["alice", "bob"])
    out("GET: %s" % show(got))
    j = seen(obs, "join", "bob")[0]
    out("bob's join: %s" % show(j))

    alice1.close()
    pump([alice1], lambda: alice1.eof, 10, "alice's 1st tab closed")
    wait_presence(port, ch, ["alice", "bob"])
    bob.close()
    wait_event(obs, "leave", "bob")
    out("alice's 1st tab gone, bob gone: %s"
        % show(wait_presence(port, ch, ["alice"])))
    alice2.close()
    wait_event(obs, "leave", "alice")
    wait_presence(port, ch, [])

    got = [(m["type"], m["user"]) for m in events(obs)]
    out("the observer saw: %s" % " ".join("%s %s" % g for g in got))
    obs.close()


@scenario
def subs(port, ch="room.2"):
    """sub and unsub of a channel count as join and leave; a connection
    without a user is no member; a raw one is a member but gets none; an
    event stream gets them as events of their type, without an id"""
    obs = anywhere(port, "/ws?channels=" + ch)
    subscribed(obs, "observer")
    es = stream(port, "/events?channels=" + ch)
    wait_subscribers(port, "channel=" + ch, 2)
    raw = anywhere(port, "/raw?channels=%s&user=rawuser" % ch)
    wait_event(obs, "join", "rawuser")
    anon = anywhere(port, "/ws?channels=other")
    anon.send_json({"type": "sub", "channel": ch})
    pump([anon], lambda: any(m.get("type") == "subscribed"
                             for m in anon.messages()), 10, "anon sub")

    carol = anywhere(port, "/ws?channels=other&user=carol")
    subscribed(carol, "carol")
    carol.send_json({"type": "sub", "channel": ch})
    wait_event(obs, "join", "carol")
    out("GET: %s" % show(wait_presence(port, ch, ["carol", "rawuser"])))
    carol.send_json({"type": "unsub", "channel": ch})
    wait_event(obs, "leave", "carol")
    carol.send_json({"type": "sub", "channel": ch})
    wait_event(obs, "join", "carol", n=2)
    out("sub, unsub, sub: %s" % " ".join(
        "%s %s" % (m["type"], m["user"]) for m in events(obs)
        if m.get("user") == "carol"))

    pump([es], lambda: len([e for e in es.events
                            if e["event"] == "join"]) >= 3, 10,
         "the stream's joins")
    e = [e for e in es.events if e["event"] in ("join", "leave")]
    out("the stream: %s" % " ".join(
        "%s(%s,id=%r)" % (x["event"], json.loads(x["data"])["user"], x["id"])
        for x in e))
    out("users in events: %s" % " ".join(sorted(set(
        m.get("user", "-") for m in events(obs)))))
    for c in (carol, anon):
        c.close()
    wait_event(obs, "leave", "carol", n=2)
    raw.abort()
    wait_event(obs, "leave", "rawuser")
    raw_frames = [f for f in raw.data_frames()]
    out("the raw connection got %d frames" % len(raw_frames))
    es.close()
    obs.close()


@scenario
def rate(port, ch="room.3", n="30"):
    """ws_perf_presence_rate 5: a burst of joins gives at most the bucket's
    events, then counts only, once a second, the last one the real count;
    a quiet second later a join is sent again"""
    n = int(n)
    obs = anywhere(port, "/ws?channels=" + ch)
    subscribed(obs, "observer", port, ch)
    users = ["u%02d" % i for i in range(n)]
    conns = wsclient.connect_many(port, ["/ws?channels=%s&user=%s"
                                         % (ch, u) for u in users])
    out("%d users: %s" % (n, " ".join(sorted(set(str(c.status())
                                                  for c in conns)))))
    pump([obs], lambda: any(m["type"] == "presence" and m["count"] == n
                            for m in events(obs)), 10,
         "a count of %d" % n)
    joins = len([m for m in events(obs) if m["type"] == "join"])
    counts = [m for m in events(obs) if m["type"] == "presence"]
    # the bucket's 5, and what it refilled (5 a second) before it ran dry
    out("joins sent: %s" % ("a few" if 1 <= joins <= 10 else joins))
    out("then counts: %s" % show(counts[-1]))
    wait_presence(port, ch, sorted(users))

    # a second without an event held back: events again
    time.sleep(1.5)
    late = anywhere(port, "/ws?channels=%s&user=late" % ch)
    wait_event(obs, "join", "late", timeout=5)
    out("a join after a quiet second: %s"
        % show(seen(obs, "join", "late")[0]))
    for c in conns + [late]:
        c.abort()
    n_late = len(events(obs))
    pump([obs], lambda: any(m["count"] == 0 for m in events(obs)[n_late:]),
         10, "a count of 0")
    out("all gone: count 0")
    obs.close()


@scenario
def killed(port, ws, ch="room.4", bound="10"):
    """a worker killed with SIGKILL: its members go from GET and their
    leave events reach the other worker's subscribers within the bound"""
    ws = int(ws)
    a, b = workers(ws)
    obs = on_worker(ws, "/ws?channels=" + ch, a)
    subscribed(obs, "observer", port, ch)
    dave = on_worker(ws, "/ws?channels=%s&user=dave" % ch, b)
    wait_event(obs, "join", "dave")
    eve = on_worker(ws, "/ws?channels=%s&user=eve" % ch, a)
    wait_event(obs, "join", "eve")
    wait_presence(port, ch, ["dave", "eve"])

    start = time.monotonic()
    os.kill(b, signal.SIGKILL)
    wait_event(obs, "leave", "dave", timeout=float(bound))
    got = wait_presence(port, ch, ["eve"], timeout=float(bound))
    took = time.monotonic() - start
    out("dave's worker killed: leave and GET %s within %ss: %s"
        % (show(got), bound, took < float(bound) * wsclient.SCALE))
    out("eve stays: %s" % (seen(obs, "leave", "eve") == []))
    dave.abort()
    eve.close()
    obs.close()


@scenario
def bad(port):
    """bad ?presence= values get 400 with a reason"""
    for q in ("", "a%20b", "x" * 129, "..%2F", "%00", "a,b", "a%C3%A9"):
        status, _, data = request(port, "GET", "/pub?presence=" + q)
        out("%r: %d %s" % (q[:12], status,
                           json.loads(data).get("error", "")[:24]))
    status, _, data = request(port, "GET", "/pub?presence=nobody.here")
    out("an empty channel: %d %s" % (status, data.decode().strip()))


@scenario
def full(port, n="150"):
    """a zone too small for the members of 4 users on 150 channels each:
    the handshakes pass, presence stops growing at half the zone (one warn
    line), publishes still fit and GET still answers"""
    n = int(n)
    chs = ",".join("f%04d" % i for i in range(n))
    conns = wsclient.connect_many(port, ["/ws?channels=%s&user=u%d"
                                         % (chs, i) for i in range(4)])
    out("handshakes: %s" % " ".join(str(c.status()) for c in conns))
    wsclient.settle(port)
    r = wsclient.publish(port, {"channel": "f0007", "data": "still"})
    pump(conns, lambda: all(any(m.get("type") == "msg"
                                for m in c.messages()) for c in conns),
         10, "the message")
    out("a publish: %d ids, reached all 4" % len(r["ids"]))
    got = presence(port, "f%04d" % (n - 1))
    out("GET of the last channel: %d (fewer than 4: %s)"
        % (200, got["count"] < 4))
    for c in conns:
        c.abort()
    wait_presence(port, "f0000", [])
    out("all gone: f0000 has nobody")


# ------------------------------------------------ Redis: nodes, restarts

def kill_node(node):
    """SIGKILL to a node's master and workers: nothing of it says goodbye.
    The master goes first: a master that saw a worker die first would
    start another, which nothing would then stop."""
    pidfile = os.path.join(node.prefix, "logs", "nginx.pid")
    with open(pidfile) as f:
        master = int(f.read())
    workers = rd.children(master)
    os.kill(master, signal.SIGKILL)
    for p in workers:
        os.kill(p, signal.SIGKILL)
    users.wait_for(lambda: not users.alive(master), 10, "the node to die")
    os.unlink(pidfile)


@scenario
def nodes(port, node, node_ws, node_p, prefix, ttl="2", ch="room.n"):
    """a member on a second nginx node: its join reaches the first node's
    subscribers and GET lists it there; the node killed with SIGKILL, its
    member leaves (GET and the event) within the worker TTL and a sweep"""
    node, node_ws, node_p = int(node), int(node_ws), int(node_p)
    users.redis_ready(prefix, 2)
    second = rd.Node(node, node_ws, 1, """
    ws_perf_redis_worker_ttl %ss;
    server {
        listen 127.0.0.1:%d;
        location /wsp { ws_perf; ws_perf_presence on;
                        ws_perf_channels $arg_channels;
                        ws_perf_user $arg_user; }
    }""" % (ttl, node_p))
    killed = False
    try:
        users.redis_ready(prefix, 3)
        obs = anywhere(port, "/ws?channels=" + ch)
        subscribed(obs, "observer", port, ch)
        frank = anywhere(node_p, "/wsp?channels=%s&user=frank" % ch)
        wait_event(obs, "join", "frank")
        out("a join from the other node: %s"
            % show(seen(obs, "join", "frank")[0]))
        mine = anywhere(port, "/ws?channels=%s&user=gina" % ch)
        wait_event(obs, "join", "gina")
        out("GET on this node: %s"
            % show(wait_presence(port, ch, ["frank", "gina"])))
        start = time.monotonic()
        kill_node(second)
        killed = True
        wait_presence(port, ch, ["gina"], timeout=float(ttl) + 8)
        wait_event(obs, "leave", "frank", timeout=float(ttl) + 8)
        took = time.monotonic() - start
        out("the other node killed: frank leaves within the TTL and a "
            "sweep: %s" % (took < (float(ttl) + 8) * wsclient.SCALE))
        frank.abort()
        mine.close()
        obs.close()
    finally:
        if not killed:
            second.stop()


@scenario
def restart(port, prefix, ch="room.r"):
    """Redis restarted empty: each worker writes its members again once
    its link is back, GET lists them again, without events for users who
    never left"""
    users.redis_ready(prefix, 2)
    obs = anywhere(port, "/ws?channels=" + ch)
    subscribed(obs, "observer", port, ch)
    hal = anywhere(port, "/ws?channels=%s&user=hal" % ch)
    wait_event(obs, "join", "hal")
    wait_presence(port, ch, ["hal"])
    rd.redis_stop()
    status, _, _ = request(port, "GET", "/pub?presence=" + ch)
    out("Redis down: GET %d" % status)
    rd.redis_start()
    got = wait_presence(port, ch, ["hal"], timeout=15)
    out("Redis back: %s" % show(got))
    # the observer's worker has its subscriptions back (it says so with a
    # notice): an event published before that would not reach it
    pump([obs], lambda: any(m.get("type") == "notice"
                            and m.get("code") == "redis_reconnected"
                            for m in obs.messages()), 15,
         "the observer's reconnect notice")
    ivy = anywhere(port, "/ws?channels=%s&user=ivy" % ch)
    wait_event(obs, "join", "ivy", timeout=15)
    out("a join after it: %s" % show(seen(obs, "join", "ivy")[0]))
    # written again, hal may be announced again to a subscription back
    # in place first: never as gone
    out("hal's leaves: %d" % len([m for m in events(obs)
                                  if m.get("user") == "hal"
                                  and m["type"] == "leave"]))
    for c in (hal, ivy, obs):
        c.close()


@scenario
def unread_reset(port, fifo, ch="room.u"):
    """GET ?presence= on two keep-alive connections of one worker, taken
    in a pass during which Redis reset the worker's links
    (rd.across_unread_reset): each is answered, and each connection
    answers its next GET"""
    rd.across_unread_reset(port, "GET", "/pub?presence=" + ch, fifo)


@scenario
def hostile(port, prefix, ch="room.h"):
    """presence wires that are not: dropped and logged like any malformed
    message; events still flow"""
    users.redis_ready(prefix, 2)
    obs = anywhere(port, "/ws?channels=" + ch)
    subscribed(obs, "observer", port, ch)
    k = rd.key("ch", ch)
    for bad in ("p1 ", "p1 join x\nalice", "p1 leave 1\nbad user",
                "p1 join 1\n", "p1 kick 1\nalice",
                "p1 join 99999999999999999999\nalice",
                "p1 join 1\n" + "a" * 129):
        rd.publish_raw(k, bad)
    jo = anywhere(port, "/ws?channels=%s&user=jo" % ch)
    wait_event(obs, "join", "jo")
    out("events: %s" % " ".join("%s %s" % (m["type"], m.get("user"))
                                for m in events(obs)))
    for c in (jo, obs):
        c.close()


if __name__ == "__main__":
    sys.exit(client.main())
