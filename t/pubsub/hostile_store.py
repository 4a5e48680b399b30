#!/usr/bin/python3
"""Scenarios for t/703-hostile-store.t, run like reliable.py (whose
helpers they use):

    hostile_store.py --port N SCENARIO [key=value ...]
"""

import json
import sys
import time

sys.dont_write_bytecode = True      # no __pycache__ in the source tree
import client                       # noqa: E402
import redis as rd                  # noqa: E402
from client import command, out, scenario  # noqa: E402
from reliable import msgs, wait_type  # noqa: E402
from wsclient import Timeout, connect, publish, pump, request  # noqa: E402


def dead(port, user):
    _, _, body = request(port, "GET", "/dlq?target=u:" + user)
    return json.loads(body)["entries"]


def answer(st, h, body):
    return "%d %s, Retry-After %s" % (st, body.decode().strip(),
                                      h.get("retry-after"))


@scenario
def replay_at_cap(port, user="ursula", cap="2"):
    """Dead letters of a user at ws_perf_max_pending_acks are kept when a
    replay cannot publish them (429), and replay=all replays what it can,
    highest priority first, and keeps the rest."""
    cap = int(cap)
    c = connect(port, "/ws?user=" + user)
    rd.wait_info([port], "user=" + user, 1)
    waiting = publish(port, [{"user": user, "data": "w%d" % i, "ack": True}
                             for i in range(cap)])["ids"]
    publish(port, [{"user": user, "data": p, "priority": p, "ack": True,
                    "delay": 50} for p in ("low", "high")])
    rd.wait_for(lambda: len(dead(port, user)) == 2, 10, "the dead letters")

    st, h, body = request(port, "POST",
                          "/dlq?replay=" + dead(port, user)[0]["dlq_id"])
    out("replay of one at the cap: " + answer(st, h, body))
    out("dead letters after it: %d" % len(dead(port, user)))

    out("ack of one waiting: %s" % command(c, {"type": "ack",
                                               "id": waiting[0]})["type"])
    st, h, body = request(port, "POST", "/dlq?replay=all")
    out("replay=all with room for one: " + answer(st, h, body))
    out("kept: %s" % [e["message"]["data"] for e in dead(port, user)])
    pump([c], lambda: any(m.get("data") == "high" for m in msgs(c)), 10,
         "the replayed message")

    command(c, {"type": "ack", "id": waiting[1]})
    st, h, body = request(port, "POST", "/dlq?replay=all")
    out("replay=all with room again: " + answer(st, h, body))
    out("dead letters after it: %d" % len(dead(port, user)))
    pump([c], lambda: any(m.get("data") == "low" for m in msgs(c)), 10,
         "the replayed message")
    out("replayed: %s" % [m["data"] for m in msgs(c)
                          if m["data"] in ("low", "high")])
    c.abort()


@scenario
def lua_errors(port, prefix="ws_perf:"):
    """An error inside a Lua function reaches the API client without the
    function's source location (the error log has all of it)."""
    st, _, body = request(port, "POST", "/dlq?replay=nonsense")
    out("replay of a malformed id: %d %s" % (st, body.decode().strip()))
    rd.redis("SET", prefix + "dlq", "not a stream")
    st, _, body = request(port, "POST", "/dlq?replay=all")
    rd.redis("DEL", prefix + "dlq")
    out("replay with the dead letters not a stream: %d %s" % (
        st, body.decode().strip()))


def health_latency(port, seconds):
    """The slowest /health answer over seconds of asking, in seconds."""
    worst = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        t0 = time.monotonic()
        try:
            request(port, "GET", "/health", timeout=30)
        except Exception:
            return 30
        worst = max(worst, time.monotonic() - t0)
        time.sleep(0.05)
    return worst


@scenario
def resume_flood(port, channel="big", n="50", size="900000",
                 resumes="200", bound="2"):
    """Many resumes of a big history in one write: the worker keeps
    answering, the first resume gets what fits the send queue and a notice
    of exactly where to go on, the others are refused while it is sent;
    resuming from the notice, round after round, gets every message once,
    in order."""
    n, size, resumes = int(n), int(size), int(resumes)
    ids = []
    for i in range(n):
        ids += publish(port, {"channel": channel,
                              "data": "%d:" % i + "x" * size})["ids"]
    c = connect(port, "/ws?channels=" + channel)
    rd.wait_info([port], "channel=" + channel, 1)

    for _ in range(resumes):
        c.proto.send_text(json.dumps({"type": "resume", "channel": channel,
                                      "since": ids[0]}).encode())
    c.sock.setblocking(True)
    c.sock.sendall(b"".join(c.proto.data_to_send()))
    c.sock.setblocking(False)

    worst = health_latency(port, 2)
    out("/health on the worker while the resumes run: %s" % (
        "under %s s" % bound if worst < float(bound)
        else "%.1f s" % worst))

    def settled():
        return (len(msgs(c, "resumed")) + len(msgs(c, "error"))
                >= resumes or c.eof)
    try:
        pump([c], settled, 60, "the answers")
    except Timeout:
        pass
    got = [m["id"] for m in msgs(c)]
    gaps = msgs(c, "gap")
    errors = set((m["code"], m["reason"]) for m in msgs(c, "error"))
    done = msgs(c, "resumed")
    out("answers: %d resumed, %d errors %s" % (
        len(done), len(msgs(c, "error")), sorted(e[0] for e in errors)))
    out("first answer: %s" % (
        "the next %s in order" % ("few" if 0 < len(got) < n - 1 else
                                  len(got))
        if got == ids[1:1 + len(got)] else client.summary(got)))
    out("then the notice: %s" % (
        "since the last one sent, last the newest, more"
        if len(gaps) == 1 and got and gaps[0].get("since") == got[-1]
        and gaps[0].get("last") == ids[-1] and gaps[0].get("more") is True
        else gaps))
    out("resumed count: %s" % (
        "the messages sent" if done and done[0].get("count") == len(got)
        else done))

    rounds, seen = 0, len(gaps)
    last = gaps[-1] if gaps else {}
    while last.get("more") and rounds < n:
        rounds += 1
        k = len(msgs(c, "resumed"))
        c.send_json({"type": "resume", "channel": channel,
                     "since": last["since"]})
        wait_type(c, "resumed", k + 1, timeout=30)
        new = msgs(c, "gap")[seen:]
        seen += len(new)
        last = new[-1] if new else {}
    got = [m["id"] for m in msgs(c)]
    out("resuming from each notice: every message once, in order: %s" % (
        "yes" if got == ids[1:] else client.summary(got)))
    c.abort()


if __name__ == "__main__":
    sys.exit(client.main())
