#!/usr/bin/python3
"""Shared-memory engine scenarios for t/209-shm-engine.t, run like
client.py (whose helpers they use):

    shm.py --port N SCENARIO [key=value ...]
"""

import json
import os
import signal
import sys
import time

sys.dont_write_bytecode = True      # no __pycache__ in the source tree
import client                       # noqa: E402
import redis as rd                  # noqa: E402
from client import out, scenario    # noqa: E402
from wsclient import (connect, connect_many, info, publish,  # noqa: E402
                      pump, request)


def spread_over(port, channel, workers, most=400, step=20):
    """connections to channel until info says they are on every worker;
    at most `most`"""
    conns = []
    while len(conns) < most:
        conns += connect_many(port, ["/ws?channels=" + channel] * step)
        deadline = time.monotonic() + 5 * client.wsclient.SCALE
        i = info(port, "channel=" + channel)
        while (i["subscribers"] < len(conns)
               and time.monotonic() < deadline):
            time.sleep(0.05)
            i = info(port, "channel=" + channel)
        if i.get("workers") == workers:
            break
    return conns, i


@scenario
def cross(port, workers="4", msgs="200", channel="x"):
    """Subscribers on every worker (the channel info counts the workers
    that have some) each get every message once, in publish order,
    whichever worker took each publish."""
    nw, nm = int(workers), int(msgs)
    conns, i = spread_over(port, channel, nw)
    out("subscribers on all %d workers: %s" % (nw, i.get("workers") == nw))
    out("info counts every worker's subscribers: %s"
        % (i["subscribers"] == len(conns)))
    ids = []
    for k in range(0, nm, 10):
        if k % 20:
            r = publish(port, [{"channel": channel, "data": {"seq": k + j}}
                               for j in range(10)])
            ids += r["ids"]
        else:
            for j in range(10):
                ids += publish(port, {"channel": channel,
                                      "data": {"seq": k + j}})["ids"]
    publish(port, {"channel": channel, "data": {"end": True}})
    pump(conns, lambda: all(any(m.get("data") == {"end": True}
                                for m in c.messages()) or c.eof
                            for c in conns), 30, "every end marker")
    bad = 0
    for c in conns:
        got = [(m.get("id"), (m.get("data") or {}).get("seq"))
               for m in c.messages() if m.get("type") == "msg"
               and m.get("data") != {"end": True}]
        if got != list(zip(ids, range(nm))):
            bad += 1
    out("%d messages; subscribers that got them all once, in order: %s"
        % (nm, "all" if bad == 0 else "%d missing some" % bad))
    for c in conns:
        c.abort()

    # every worker took messages another put on the bus, and says so
    deadline = time.monotonic() + 5 * client.wsclient.SCALE
    while True:
        st, _, body = request(port, "GET", "/status?format=json")
        shm = json.loads(body)["shm"]
        if (shm["size_bytes"] and shm["bus_latency"]["count"]) \
                or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    out("status: zone %d bytes, some in use: %s, repairs %d, bus latencies "
        "recorded: %s" % (shm["size_bytes"],
                          0 < shm["used_bytes"] < shm["size_bytes"],
                          shm["repairs"], shm["bus_latency"]["count"] > 0))


def req(port, method, path, body=None, timeout=3):
    """(status, body) on a connection of its own, whichever worker takes
    it; (0, b"") when it went unanswered"""
    from http.client import HTTPConnection
    c = HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request(method, path, body=json.dumps(body) if body is not None
                  else None, headers={"Connection": "close"})
        r = c.getresponse()
        return r.status, r.read()
    except (OSError, Exception):
        return 0, b""
    finally:
        c.close()


@scenario
def full(port, size="1000"):
    """A worker stopped (SIGSTOP) holds the bus: publishes fill it, then
    get 503 with the reason; the status still answers; once the worker
    runs again (SIGCONT) and takes its records, publishes work again.
    Then ack waits fill the zone itself: 507 with the reason; once the
    user acks them, publishes work again."""
    data = "x" * int(size)
    w = rd.pids_of_workers()
    os.kill(w[0], signal.SIGSTOP)
    try:
        codes, body = [], b""
        for _ in range(2000):
            st, body = req(port, "POST", "/pub",
                           {"channel": "f", "data": data})
            if st == 0:
                continue        # it reached the stopped worker
            codes.append(st)
            if st != 202:
                break
        out("bus full: %d after some 202s: %s" % (
            codes[-1], codes.count(202) > 10))
        out("reason: %s" % json.loads(body or b"{}").get("error", "")
            .split(":")[0])
        st = 0
        for _ in range(10):
            st, _ = req(port, "GET", "/status")
            if st:
                break
        out("status while full: %d" % st)
    finally:
        os.kill(w[0], signal.SIGCONT)
    deadline = time.monotonic() + 10 * client.wsclient.SCALE
    st = 0
    while time.monotonic() < deadline:
        st, _ = req(port, "POST", "/pub", {"channel": "f", "data": 1})
        if st == 202:
            break
        time.sleep(0.05)
    out("after SIGCONT: %d" % st)

    accepted = []
    body = b""
    for k in range(5000):
        st, body = req(port, "POST", "/pub",
                       {"user": "filler", "data": data + str(k),
                        "ack": True})
        if st in (0, 503):
            # the bus, not the zone: the other workers catch up at once
            time.sleep(0.02)
            continue
        if st != 202:
            break
        accepted.append(json.loads(body)["ids"][0])
    out("zone full: %d: %s" % (st, json.loads(body or b"{}")
                                .get("error", "").split(":")[0]))
    c = connect(port, "/ws?user=filler")
    acked = set()

    def ack_new():
        for m in c.messages():
            if m.get("type") == "msg" and m["id"] not in acked:
                acked.add(m["id"])
                c.send_json({"type": "ack", "id": m["id"]})
        return set(accepted) <= acked or c.eof

    # the ack waits go out again (ws_perf_ack_timeout) to the connection
    pump([c], ack_new, 20, "the redeliveries")
    pump([c], lambda: len([m for m in c.messages()
                           if m.get("type") == "acked"]) >= len(acked)
         or c.eof, 10, "acked")
    got = acked
    out("the user got what was accepted: %s" % (set(accepted) <= set(got)))
    st, body = req(port, "POST", "/pub", {"user": "filler",
                                          "data": data, "ack": True})
    out("after the acks: %d" % st)
    c.abort()


@scenario
def die(port, channel="c"):
    """A worker dies holding the zone's lock in the middle of a change
    (the test hook): the master unlocks the zone, the next locker repairs
    it, and publishes and deliveries go on.  The subscriber connects
    after the death: one connected before could be on the dying worker."""
    st, _ = req(port, "POST", "/pub",
                {"channel": "ws-perf-test-die", "data": 1})
    out("the dying publish got no answer: %s" % (st == 0 or st >= 500))
    ws = connect(port, "/ws?channels=" + channel)
    ok = 0
    for k in range(20):
        st, _ = req(port, "POST", "/pub", {"channel": channel, "data": k})
        ok += st == 202
    out("publishes after it: %d of 20 accepted" % ok)
    pump([ws], lambda: len([m for m in ws.messages()
                            if m.get("type") == "msg"]) >= ok or ws.eof,
         10, "the messages")
    out("a subscriber got them: %s" % (len([m for m in ws.messages()
                                            if m.get("type") == "msg"])
                                       == ok))
    ws.abort()


if __name__ == "__main__":
    sys.exit(client.main())
