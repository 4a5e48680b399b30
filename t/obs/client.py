#!/usr/bin/python3
"""Observability scenarios for t/3NN-*.t, run while the test's nginx is up.

    client.py --port N SCENARIO [key=value ...]

Same contract as t/pubsub/client.py (whose connection helpers it uses):
each scenario makes traffic, waits for the status to show it (polling the
JSON status with a deadline, never a fixed sleep) and prints a verdict
that the test compares line by line.
"""

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import traceback

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "pubsub"))
import wsclient                     # noqa: E402
from wsclient import (Timeout, connect, publish, pump,  # noqa: E402
                      request)


SCENARIOS = {}


def scenario(fn):
    SCENARIOS[fn.__name__.replace("_", "-")] = fn
    return fn


def out(*lines):
    for line in lines:
        print(line)
    sys.stdout.flush()


def status(port, path="/status"):
    st, hdr, body = request(port, "GET", path + "?format=json")
    if st != 200:
        raise AssertionError("GET %s: %d %r" % (path, st, body))
    return json.loads(body)


def wait_status(port, cond, what, timeout=10, path="/status"):
    """Polls the JSON status until cond(status) holds; returns it."""
    deadline = time.monotonic() + timeout * wsclient.SCALE
    while True:
        st = status(port, path)
        if cond(st):
            return st
        if time.monotonic() > deadline:
            raise Timeout("%s; status: %s" % (what, json.dumps(st)[:1500]))
        time.sleep(0.05)


def alert(st, name):
    for a in st["alerts"]:
        if a["name"] == name:
            return a
    raise AssertionError("no alert %s in %r" % (name, st["alerts"]))


def subscribers(port, path, n):
    subs = [connect(port, path) for _ in range(n)]
    bad = [s.status() for s in subs if s.status() != 101]
    if bad:
        raise AssertionError("handshakes answered %r" % bad)
    return subs


# ------------------------------------------------------------ scenarios

@scenario
def counts(port, path="/ws?channels=c", channel="c", msgs="20"):
    """Connections, handshakes, closes by code, messages, bytes, latency."""
    msgs = int(msgs)
    subs = subscribers(port, path, 3)

    # refused handshakes: no Upgrade header, and a POST
    for method in ("GET", "POST"):
        st, _, _ = request(port, method, path)
        if st not in (405, 426):
            raise AssertionError("%s %s answered %d" % (method, path, st))

    for i in range(msgs):
        publish(port, {"channel": channel, "data": {"i": i}})

    pump(subs, lambda: all(len(s.data_frames()) >= msgs for s in subs), 10,
         "every subscriber gets every message")

    subs[0].close(1000)
    pump([subs[0]], lambda: subs[0].eof, 10, "the close handshake")
    subs[1].abort()

    st = wait_status(port, lambda s: s["connections"]["closed"] == 2,
                     "two connections closed")
    c = st["connections"]
    out("connections: current %d, opened %d, closed %d"
        % (c["current"], c["opened"], c["closed"]))
    out("closed by code: " + " ".join(
        "%s=%d" % (k, v) for k, v in sorted(c["closed_by_code"].items())
        if v))
    h = st["handshakes"]
    out("handshakes: accepted %d, rejected %d (%s)" % (
        h["accepted"], h["rejected"], " ".join(
            "%s=%d" % (k, v)
            for k, v in sorted(h["rejected_by_reason"].items()) if v)))
    m = st["messages"]
    out("messages: published %d, delivered %d, dropped %d"
        % (m["published"], m["delivered"], m["dropped"]))

    read = sum(s.bytes_in for s in subs)
    b = st["bytes"]
    out("bytes out equal to what the clients read: %s"
        % ("yes" if b["out"] == read else "no: %d, read %d"
           % (b["out"], read)))
    out("bytes in: %d (the client's close frame)" % b["in"])

    q = st["send_queue"]
    out("send queues: %d bytes now, largest %s"
        % (q["bytes"], "over 0" if q["max_bytes"] > 0 else "0"))

    lat = st["latency"]
    ps = [lat["p50"], lat["p95"], lat["p99"], lat["p99_9"]]
    ok = ps == sorted(ps) and 0 < ps[0] and ps[-1] < 1000
    out("latency: %d samples, one per delivery: %s; percentiles ordered"
        " and between 0 and 1s: %s"
        % (lat["count"], "yes" if lat["count"] == m["delivered"] else "no",
           "yes" if ok else "no: %r" % ps))

    _, _, text = request(port, "GET", "/status")
    text = text.decode()
    want = ("Active connections: 1\n"
            "connections opened closed errors\n 3 2 1\n"
            "handshakes accepted rejected\n 3 2\n"
            "messages published delivered dropped\n %d %d 0\n"
            % (msgs, 3 * msgs))
    out("text status starts as stub_status does: %s"
        % ("yes" if text.startswith(want) else "no:\n" + text))
    subs[2].abort()


PROM_FAMILIES = {
    "ws_perf_uptime_seconds": "gauge",
    "ws_perf_connections": "gauge",
    "ws_perf_connections_opened": "counter",
    "ws_perf_connections_closed": "counter",
    "ws_perf_handshakes_accepted": "counter",
    "ws_perf_handshakes_rejected": "counter",
    "ws_perf_messages_published": "counter",
    "ws_perf_messages_delivered": "counter",
    "ws_perf_messages_dropped": "counter",
    "ws_perf_messages_redelivered": "counter",
    "ws_perf_messages_dead_lettered": "counter",
    "ws_perf_messages_scheduled": "gauge",
    "ws_perf_received_bytes": "counter",
    "ws_perf_sent_bytes": "counter",
    "ws_perf_send_queue_bytes": "gauge",
    "ws_perf_send_queue_max_bytes": "gauge",
    "ws_perf_delivery_latency_seconds": "histogram",
    "ws_perf_redis_configured": "gauge",
    "ws_perf_redis_reconnects": "counter",
    "ws_perf_redis_pending_commands": "gauge",
    "ws_perf_redis_command_latency_seconds": "histogram",
    "ws_perf_shm_size_bytes": "gauge",
    "ws_perf_shm_used_bytes": "gauge",
    "ws_perf_shm_repairs": "counter",
    "ws_perf_shm_bus_latency_seconds": "histogram",
    "ws_perf_worker_resident_memory_bytes": "gauge",
    "ws_perf_worker_cpu_seconds": "counter",
}


def check_histogram(fam):
    buckets = [(s.labels["le"], s.value) for s in fam.samples
               if s.name.endswith("_bucket")]
    count = [s.value for s in fam.samples if s.name.endswith("_count")]
    total = [s.value for s in fam.samples if s.name.endswith("_sum")]
    if not buckets or buckets[-1][0] != "+Inf" or len(count) != 1 \
       or len(total) != 1:
        return "bucket, sum and count samples missing"
    les = [float(le) for le, _ in buckets]
    vals = [v for _, v in buckets]
    if les != sorted(les) or vals != sorted(vals):
        return "buckets not ordered or not cumulative"
    if vals[-1] != count[0]:
        return "+Inf bucket %r != count %r" % (vals[-1], count[0])
    return None


@scenario
def prometheus(port, path="/ws?channels=p", channel="p", msgs="5"):
    """The Prometheus text, by Accept header, read by a real parser."""
    from prometheus_client.parser import text_string_to_metric_families

    msgs = int(msgs)
    subs = subscribers(port, path, 2)
    for i in range(msgs):
        publish(port, {"channel": channel, "data": i})
    pump(subs, lambda: all(len(s.data_frames()) >= msgs for s in subs), 10,
         "deliveries")
    wait_status(port, lambda s: s["latency"]["count"] == 2 * msgs,
                "latencies recorded")

    st, hdr, body = request(port, "GET", "/status", headers={
        "Accept": "application/openmetrics-text;version=1.0.0,"
                  "text/plain;version=0.0.4;q=0.5,*/*;q=0.1"})
    out("content type: " + hdr.get("content-type", "none"))
    text = body.decode()

    fams = {f.name: f for f in text_string_to_metric_families(text)}
    problems = []
    for name, typ in sorted(PROM_FAMILIES.items()):
        f = fams.get(name)
        if f is None:
            problems.append("%s missing" % name)
        elif f.type != typ:
            problems.append("%s is a %s" % (name, f.type))
        elif not f.documentation:
            problems.append("%s has no HELP" % name)
    for name, f in fams.items():
        if f.type == "counter":
            bad = [s.name for s in f.samples if not s.name.endswith("_total")]
            if bad:
                problems.append("counter samples without _total: %r" % bad)
        if f.type == "histogram":
            e = check_histogram(f)
            if e:
                problems.append("%s: %s" % (name, e))
    out("parsed by prometheus_client: %d families; %s"
        % (len(fams), "; ".join(problems) if problems
           else "names, types, HELP, _total and histograms as expected"))

    def value(name, **labels):
        for f in fams.values():
            for s in f.samples:
                if s.name == name and all(s.labels.get(k) == v
                                          for k, v in labels.items()):
                    return s.value
        return None

    js = status(port)
    same = (value("ws_perf_messages_delivered_total")
            == js["messages"]["delivered"] == 2 * msgs
            and value("ws_perf_delivery_latency_seconds_count") == 2 * msgs
            and value("ws_perf_connections") == js["connections"]["current"]
            == 2)
    out("values agree with the JSON status: %s" % ("yes" if same else "no"))

    promtool = shutil.which("promtool")
    if promtool is None:
        out("promtool check metrics: promtool missing (make deps)")
    else:
        p = subprocess.run([promtool, "check", "metrics"], input=body,
                           capture_output=True, timeout=30)
        out("promtool check metrics: %s" % (
            "clean" if p.returncode == 0 and not p.stdout and not p.stderr
            else "rc %d %r %r" % (p.returncode, p.stdout, p.stderr)))

    st, hdr, body = request(port, "GET", "/status",
                            headers={"Accept": "application/json"})
    out("Accept: application/json gives %s" % hdr.get("content-type"))
    for s in subs:
        s.abort()


@scenario
def alerts(port, path="/ws?channels=al", channel="al"):
    """Alerts fire and resolve; the status lists them with since-when."""
    t0 = int(time.time())
    st = status(port)
    out("at start firing: %s" % (
        " ".join(a["name"] for a in st["alerts"] if a["firing"]) or "none"))

    subs = subscribers(port, path, 3)
    for method in ("POST", "POST"):
        request(port, method, path)
    for i in range(10):
        publish(port, {"channel": channel, "data": i})
    pump(subs, lambda: all(len(s.data_frames()) >= 10 for s in subs), 10,
         "deliveries")

    names = ("connections", "p99_latency", "error_rate")
    sent = [10]

    def firing(s):
        if all(alert(s, n)["firing"] for n in names):
            return True
        # keep traffic in the window however late the evaluation runs
        request(port, "POST", path)
        publish(port, {"channel": channel, "data": sent[0]})
        sent[0] += 1
        pump(subs, lambda: all(len(x.data_frames()) >= sent[0]
                               for x in subs), 10, "deliveries")
        return False

    st = wait_status(port, firing,
                     "connections, p99_latency and error_rate firing",
                     timeout=30)
    now = int(time.time())
    for n in names:
        a = alert(st, n)
        out("%s firing, since within the test: %s, value %s over %s" % (
            n, "yes" if t0 <= a["since"] <= now else "no: %d" % a["since"],
            "given" if a["value"] else "missing", a["threshold"]))
    out("drop_rate firing: %s" % alert(st, "drop_rate")["firing"])

    _, _, text = request(port, "GET", "/status")
    lines = [ln for ln in text.decode().splitlines()
             if ln.startswith("alert ")]
    out("text status lists: " + ", ".join(ln.split(" since ")[0]
                                           for ln in lines))
    _, _, prom = request(port, "GET", "/status?format=prometheus")
    out("prometheus: " + " ".join(
        ln for ln in prom.decode().splitlines()
        if ln.startswith("ws_perf_alert_firing{")))

    for s in subs:
        s.close(1000)
    pump(subs, lambda: all(s.eof for s in subs), 10, "closes")

    st = wait_status(port, lambda s: not any(a["firing"]
                                             for a in s["alerts"]),
                     "every alert resolved", timeout=30)
    out("after the traffic stopped every alert resolved")


@scenario
def drops(port, unix, path="/wsq", channel="ofl", qsize="65536"):
    """Drops by priority from the slow-consumer scenario of t/207."""
    sys.path.insert(0, os.path.join(os.path.dirname(
        os.path.abspath(__file__)), "..", "pubsub"))
    import client as pubsub_client
    pubsub_client.overflow_low_first(port, unix, path=path, channel=channel,
                                     qsize=qsize)
    st = wait_status(port, lambda s: s["messages"]["dropped"] > 0,
                     "drops counted")
    d = st["messages"]["dropped_by_priority"]
    out("dropped: low %s, normal %d, high %d, critical %d" % (
        "over 1" if d["low"] > 1 else d["low"], d["normal"], d["high"],
        d["critical"]))
    st = wait_status(port, lambda s: alert(s, "drop_rate")["firing"],
                     "drop_rate alert firing")
    out("drop_rate alert firing: %s" % alert(st, "drop_rate")["value"]
        .endswith("%"))
    q = st["send_queue"]
    out("largest send queue within ws_perf_send_queue_size: %s"
        % ("yes" if 0 < q["max_bytes"] <= int(qsize) else q["max_bytes"]))


@scenario
def reload(port, pidfile, path="/ws?channels=r", channel="r"):
    """Totals survive a reload; the old worker closes with 1001."""
    subs = subscribers(port, path, 2)
    for i in range(5):
        publish(port, {"channel": channel, "data": i})
    pump(subs, lambda: all(len(s.data_frames()) >= 5 for s in subs), 10,
         "deliveries")
    before = wait_status(port, lambda s: s["latency"]["count"] == 10,
                         "latencies")
    pids = set(w["pid"] for w in before["workers"])

    with open(pidfile) as f:
        os.kill(int(f.read().strip()), 1)     # SIGHUP

    pump(subs, lambda: all(s.eof for s in subs), 20,
         "the old worker closes its connections")
    out("connections closed by the old worker: "
        + " ".join(str(s.close_code()) for s in subs))

    after = wait_status(port, lambda s: s["workers"]
                        and not pids & set(w["pid"] for w in s["workers"])
                        and s["connections"]["closed"] == 2,
                        "new workers only", timeout=20)
    out("workers after the reload are new: yes (%d)"
        % len(after["workers"]))
    keep = all([after["connections"]["opened"] == 2,
                after["messages"]["published"] == 5,
                after["messages"]["delivered"] == 10,
                after["latency"]["count"] == 10,
                after["uptime"] >= before["uptime"]])
    out("totals kept across the reload: %s" % ("yes" if keep else "no: %s"
                                                % json.dumps(after)[:800]))
    out("closed by code 1001: %d" % after["connections"]["closed_by_code"]
        ["1001"])


def worker_pids(master):
    """The master's children, from /proc."""
    pids = set()
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/stat" % d) as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == master:
                        pids.add(int(d))
            except (OSError, IndexError, ValueError):
                pass
    return pids


@scenario
def late_upgrade(port, pidfile, path="/ws?channels=late"):
    """A connection accepted before a reload and upgraded after it, by the
    old worker that is shutting down, is closed with 1001 at once: it was
    not an idle WebSocket when the worker closed those."""
    with open(pidfile) as f:
        master = int(f.read().strip())
    old = worker_pids(master)

    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: x\r\n")
    # a full request on a second connection, answered: the worker accepted
    # the first one before it (one accept queue, first in, first out)
    status, _, _ = wsclient.request(port, "GET", "/pub?channel=late")
    out("a half-sent handshake is in the worker: %s" % (status == 200))

    log = os.path.join(os.path.dirname(pidfile), "error.log")

    def shutting_down(pid):
        with open(log, "rb") as f:
            return (b"%d#%d: gracefully shutting down" % (pid, pid)
                    in f.read())

    os.kill(master, 1)                        # SIGHUP
    deadline = time.monotonic() + 10 * wsclient.SCALE
    while (not all(shutting_down(p) for p in old)
           and time.monotonic() < deadline):
        time.sleep(0.05)
    out("the old worker is shutting down and still serves the half-sent "
        "one: %s" % all(shutting_down(p) for p in old))

    s.sendall(b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
              b"Sec-WebSocket-Version: 13\r\n"
              b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
    data = b""
    while b"\r\n\r\n" not in data or len(data.split(b"\r\n\r\n", 1)[1]) < 4:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    s.close()
    head, _, frame = data.partition(b"\r\n\r\n")
    out("answer: %s" % head.split(b"\r\n", 1)[0].decode())
    if len(frame) >= 4 and frame[0] == 0x88:
        out("then a close frame with code %d" % ((frame[2] << 8) | frame[3]))
    else:
        out("then no close frame: %r" % frame[:16])


@scenario
def firing(port, names):
    """Waits until the named alerts fire; lists what fires then."""
    names = names.split(",")
    st = wait_status(port, lambda s: all(alert(s, n)["firing"]
                                         for n in names),
                     "%s firing" % names)
    out("firing: " + " ".join(a["name"] for a in st["alerts"]
                              if a["firing"]))
    out("not firing: " + " ".join(a["name"] for a in st["alerts"]
                                  if not a["firing"]))
    _, _, text = request(port, "GET", "/status")
    out("text: " + " ".join(ln.split(" since ")[0] for ln
                            in text.decode().splitlines()
                            if ln.startswith("alert ")))


@scenario
def dashboard(port, shot, page="/dashboard.html"):
    """The dashboard in headless Chromium, by t/obs/dashboard_check.js."""
    top = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
    top = os.path.normpath(top)
    env = dict(os.environ, NODE_PATH=os.path.join(top, "build", "npm",
                                                  "node_modules"))
    missing = [p for p in (os.path.join(env["NODE_PATH"], "playwright-core"),
                           os.path.join(env["NODE_PATH"], "ws"),
                           "/usr/bin/chromium") if not os.path.exists(p)]
    if missing or shutil.which("node") is None:
        out("missing: %s (run make deps)" % " ".join(missing or ["node"]))
        return
    p = subprocess.run(["node", os.path.join(top, "t", "obs",
                                             "dashboard_check.js"),
                        "http://127.0.0.1:%d%s" % (port, page), shot],
                       capture_output=True, timeout=120 * wsclient.SCALE,
                       env=env)
    sys.stdout.write(p.stdout.decode())
    if p.returncode:
        out("dashboard_check.js exit status %d" % p.returncode)
        sys.stderr.write(p.stderr.decode()[-3000:])


RULES = {
    "p95_latency": "WsPerfDeliveryLatencyP95",
    "p99_latency": "WsPerfDeliveryLatencyP99",
    "error_rate": "WsPerfErrorRate",
    "drop_rate": "WsPerfDropRate",
    "connections": "WsPerfConnections",
    "memory": "WsPerfMemory",
}


def base_units(name, v):
    """A ws_perf_alert threshold in Prometheus units (seconds, ratios)."""
    import re
    m = re.fullmatch(r"([\d.]+)(us|ms|s|%|k|m|g)?", v)
    n, unit = float(m.group(1)), m.group(2)
    scale = {"us": 1e-6, "ms": 1e-3, "s": 1, "%": 0.01, "k": 1024,
             "m": 1024 ** 2, "g": 1024 ** 3, None: 1}[unit]
    return n * scale


@scenario
def rules(port, conf="conf/demo.conf", rules="conf/ws_perf_alerts.yml"):
    """The Prometheus rules mirror the demo's ws_perf_alert thresholds."""
    import re
    import yaml

    promtool = shutil.which("promtool")
    if promtool:
        p = subprocess.run([promtool, "check", "rules", rules],
                           capture_output=True, timeout=30)
        out("promtool check rules: " + (p.stdout.decode().strip()
                                        .splitlines()[-1].strip()
                                        if p.returncode == 0
                                        else "rc %d %r" % (p.returncode,
                                                           p.stderr)))
    else:
        out("promtool check rules: promtool missing (make deps)")

    with open(conf) as f:
        alerts = dict(re.findall(r"^\s*ws_perf_alert\s+(\w+)\s+(\S+);",
                                 f.read(), re.M))
    with open(rules) as f:
        doc = yaml.safe_load(f)
    exprs = {r["alert"]: r["expr"] for g in doc["groups"]
             for r in g["rules"]}

    for name in sorted(alerts):
        rule = RULES[name]
        expr = exprs.get(rule)
        m = re.search(r">\s*([\d.* ]+)\s*$", expr or "")
        got = eval(m.group(1)) if m else None       # "512 * 1024 * 1024"
        want = base_units(name, alerts[name])
        out("%s %s: %s" % (name, alerts[name],
                           "%s > %g" % (rule, got)
                           if got is not None and abs(got - want) < 1e-9
                           else "no matching rule (%r)" % expr))


def redis_do(*args):
    """One command to the test's redis-server; its first reply line."""
    import socket
    port = int(os.environ["TEST_NGINX_REDIS_PORT"])
    with socket.create_connection(("127.0.0.1", port), timeout=2) as c:
        req = "*%d\r\n" % len(args) + "".join(
            "$%d\r\n%s\r\n" % (len(a), a) for a in args)
        c.sendall(req.encode())
        return c.makefile("rb").readline().decode().strip()


def wait_health(port, code, what, timeout=10, lines=0):
    """The health answer once it is code (with at least lines lines)."""
    deadline = time.monotonic() + timeout * wsclient.SCALE
    while True:
        st, _, body = request(port, "GET", "/health")
        if st == code and len(body.decode().splitlines()) >= lines:
            return body.decode()
        if time.monotonic() > deadline:
            raise Timeout("%s: %d %r" % (what, st, body))
        time.sleep(0.05)


@scenario
def health_redis(port, workers="2"):
    """Health follows the Redis links of every worker (t/307)."""
    import re
    workers = int(workers)
    body = wait_health(port, 200, "healthy with redis up")
    out("redis up: 200 %s" % body.strip())

    import redis as rd      # t/pubsub/redis.py
    if rd.in_cluster():
        # WS_PERF_ENGINE=cluster: every node of the cluster, as one
        rd.cluster_stop()
    else:
        redis_do("SHUTDOWN", "NOSAVE")
    # each worker notices on its own: wait until every one says so
    body = wait_health(port, 503, "unhealthy with redis stopped",
                       lines=workers)
    # a link may be between two attempts (disconnected) or in one
    reasons = [re.sub(r"worker \d+ \(pid \d+\): redis \w+ since \d+",
                      "worker N (pid P): redis down since T", ln)
               for ln in body.splitlines()]
    out("redis stopped: 503, %d reasons: %s" % (
        len(reasons), "; ".join(sorted(set(reasons)))))

    if rd.in_cluster():
        rd.cluster_start()
    else:
        d = os.environ["TEST_NGINX_REDIS_DIR"]
        subprocess.run(["redis-server", "--port",
                        os.environ["TEST_NGINX_REDIS_PORT"], "--bind",
                        "127.0.0.1", "--save", "", "--appendonly", "no",
                        "--daemonize", "yes", "--enable-debug-command",
                        "local", "--dir", d, "--logfile", d + "/redis.log",
                        "--pidfile", d + "/redis.pid"], check=True)
    body = wait_health(port, 200, "healthy again")
    out("redis back: 200 %s" % body.strip())

    _, _, prom = request(port, "GET", "/status?format=prometheus")
    prom = prom.decode()
    ups = re.findall(r"^ws_perf_redis_up\{worker=\"\d+\"\} (\d)$", prom,
                     re.M)
    rec = re.search(r"^ws_perf_redis_reconnects_total (\d+)$", prom, re.M)
    out("prometheus: ws_perf_redis_up %s for %d workers, reconnects "
        "counted: %s" % ("1" if ups == ["1"] * workers else ups, len(ups),
                         "yes" if rec and int(rec.group(1)) > 0 else "no"))


@scenario
def metrics_off(port, path="/ws?channels=o", channel="o"):
    subs = subscribers(port, path, 1)
    publish(port, {"channel": channel, "data": 1})
    pump(subs, lambda: len(subs[0].data_frames()) >= 1, 10, "delivery")
    st = status(port)
    out("metrics: %s; opened %d, delivered %d, latencies %d; workers %d"
        % (st["metrics"], st["connections"]["opened"],
           st["messages"]["delivered"], st["latency"]["count"],
           len(st["workers"])))
    subs[0].abort()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--slow", type=float, default=1)
    ap.add_argument("scenario", choices=sorted(SCENARIOS))
    ap.add_argument("args", nargs="*", help="key=value")
    a = ap.parse_args()
    kw = dict(x.split("=", 1) for x in a.args)
    wsclient.SCALE = a.slow
    try:
        SCENARIOS[a.scenario](a.port, **kw)
    except Exception as e:
        traceback.print_exc()
        out("FAILED: %s: %s" % (type(e).__name__, e))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
