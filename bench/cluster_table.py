#!/usr/bin/env python3
"""The tables of a cluster run of bench/run.sh (bench/run-cluster.sh): ws_perf
on one redis-server next to ws_perf on a Redis Cluster, medians over the
runs, the ratios, what Redis spent, and every run's numbers.

    cluster_table.py RESULTS_DIR RUNS "SCENARIOS" summary|runs

RESULTS_DIR holds <server>-<scenario>-r<run>.json as wsbench wrote them, and
next to each a .redis.txt: a line per redis-server and phase, "PHASE PORT
ROLE TIME CPU" (CPU = used_cpu_sys + used_cpu_user in seconds), PHASE
"idle" (nginx up, no clients), "start" (5 s later, the scenario begins) and
"end" (the scenario is over).  A scenario named *-quiet (subscribers,
next to no publishing) gives what the subscriptions cost Redis, which the
others' "publishing only" figures leave out.
"""

import os
import statistics
import sys

from twin_table import cell, load, ratio, value

ONE, CLUSTER = "ws_perf_redis", "ws_perf_cluster"


def redis_cpu(res, server, scenario, r):
    """{phase: {port: (role, time, cpu)}} of one run, or None"""
    p = os.path.join(res, "%s-%s-r%d.redis.txt" % (server, scenario, r))
    out = {}
    try:
        with open(p) as f:
            for line in f:
                w = line.split()
                if len(w) != 5 or w[2] == "none":
                    continue
                out.setdefault(w[0], {})[w[1]] = (w[2], float(w[3]),
                                                  float(w[4]))
    except (OSError, ValueError):
        return None
    if not all(k in out for k in ("idle", "start", "end")):
        return None
    return out


def measures(sc, cpu):
    """the numbers of one run: wsbench's, and what Redis spent"""
    m = sc["messages"]
    accepted = m["published"] - m["publish_errors"]
    out = {
        "accepted": accepted,
        "pub_s": accepted / sc["seconds"] if sc["seconds"] else 0,
        "deliveries_s": sc["deliveries_per_s"],
        "lost_dup": value(sc, "lost_dup"),
        "p50": value(sc, "latency_ms.p50"),
        "p99": value(sc, "latency_ms.p99"),
        "ack_p99": value(sc, "publish_ack_ms.p99"),
        "nginx_cpu": value(sc, "server.cpu_pct"),
        "tool_cpu": value(sc, "tool.cpu_pct"),
        "grade": sc["grade"],
    }
    if accepted > 0:
        out["nginx_us"] = 1e4 * out["nginx_cpu"] * sc["seconds"] / accepted
    if cpu is None:
        return out

    start, end, idle = cpu["start"], cpu["end"], cpu["idle"]
    ports = [p for p in start if p in end and p in idle]
    if not ports:
        return out
    wall = max(end[p][1] for p in ports) - min(start[p][1] for p in ports)
    idle_wall = min(start[p][1] for p in ports) \
        - max(idle[p][1] for p in ports)
    if wall <= 0 or idle_wall <= 0:
        return out

    for role, key in (("master", "m"), ("slave", "r")):
        nodes = [p for p in ports if start[p][0] == role]
        if not nodes:
            continue
        spent = {p: end[p][2] - start[p][2] for p in nodes}
        idle_rate = sum(start[p][2] - idle[p][2] for p in nodes) / idle_wall
        total = sum(spent.values())
        out[key + "_cpu"] = 100 * total / wall
        out[key + "_top"] = 100 * max(spent.values()) / wall
        out[key + "_idle"] = 100 * idle_rate
        out[key + "_busy_s"] = max(total - idle_rate * wall, 0)
        if accepted > 0:
            out[key + "_us"] = 1e6 * total / accepted
    return out


def runs_of(res, runs, server, scenario):
    out = []
    for r, sc in enumerate(load(res, server, scenario, runs), 1):
        out.append(None if sc is None
                   else measures(sc, redis_cpu(res, server, scenario, r)))
    return out


def median(runs, key):
    vals = [x[key] for x in runs if x is not None and key in x]
    return statistics.median(vals) if vals else None


def spread(runs, key, fmt):
    """the lowest and the highest run, where the median hides the noise"""
    vals = [x[key] for x in runs if x is not None and key in x]
    if not vals:
        return "-"
    return fmt.format(min(vals)) + " to " + fmt.format(max(vals))


def publishing_only(runs, quiet):
    """Redis us per publish without the idle rate and the subscriptions"""
    for x in runs:
        if x is None or not x["accepted"]:
            continue
        for key in ("m", "r"):
            if key + "_busy_s" in x and quiet.get(key) is not None:
                x[key + "_pub_us"] = 1e6 * max(
                    x[key + "_busy_s"] - quiet[key], 0) / x["accepted"]


CLIENTS = [
    ("publishes/s", "pub_s", "{:,.0f}"),
    ("publishes/s of the runs", "pub_s", "range {:,.0f}"),
    ("deliveries/s", "deliveries_s", "{:,.0f}"),
    ("lost+dup", "lost_dup", "{:,.0f}"),
    ("p50 ms", "p50", "{:.2f}"),
    ("p99 ms", "p99", "{:.2f}"),
    ("p99 of the runs", "p99", "range {:.1f}"),
    ("publish ack p99 ms", "ack_p99", "{:.2f}"),
    ("nginx CPU %", "nginx_cpu", "{:.0f}"),
    ("nginx us/publish", "nginx_us", "{:.0f}"),
    ("wsbench CPU %", "tool_cpu", "{:.0f}"),
]

REDIS = [
    ("masters CPU %", "m_cpu", "{:.1f}"),
    ("busiest master %", "m_top", "{:.1f}"),
    ("masters us/publish", "m_us", "{:.1f}"),
    ("publishing only", "m_pub_us", "{:.1f}"),
    ("replicas CPU %", "r_cpu", "{:.1f}"),
    ("replicas us/publish", "r_us", "{:.1f}"),
    ("publishing only ", "r_pub_us", "{:.1f}"),
]

QUIET = [
    ("masters idle %", "m_idle", "{:.2f}"),
    ("replicas idle %", "r_idle", "{:.2f}"),
    ("masters: subscriptions, s", "m_busy_s", "{:.3f}"),
    ("replicas: subscriptions, s", "r_busy_s", "{:.3f}"),
]

RATIOS = [
    ("publishes/s", "pub_s"),
    ("p50", "p50"),
    ("p99", "p99"),
    ("publish ack p99", "ack_p99"),
    ("nginx us/publish", "nginx_us"),
    ("Redis CPU (masters)", "m_cpu"),
    ("busiest master", "m_top"),
    ("us/publish (masters)", "m_us"),
    ("publishing only", "m_pub_us"),
]


def table(cols, data, runs):
    print("| server | " + " | ".join(c[0] for c in cols) + " |")
    print("|---|" + "---:|" * len(cols))
    for s in (ONE, CLUSTER):
        n = sum(1 for x in data[s] if x is not None)
        label = s + ("" if n == runs else " (%d runs)" % n)
        print("| " + label + " | " + " | ".join(
            spread(data[s], c[1], c[2][6:]) if c[2].startswith("range ")
            else cell(median(data[s], c[1]), c[2]) for c in cols) + " |")
    print()


def quiet_of(res, runs, scenarios):
    """the quiet scenario's runs, and its medians per server"""
    names = [sc for sc in scenarios if sc.endswith("-quiet")]
    if not names:
        return None, None, {ONE: {}, CLUSTER: {}}
    data = {s: runs_of(res, runs, s, names[0]) for s in (ONE, CLUSTER)}
    med = {s: {k: median(data[s], k + "_busy_s") for k in ("m", "r")}
           for s in data}
    return names[0], data, med


def ceilings(data):
    """what the measured Redis cost per publish means for a core each"""
    one = median(data[ONE], "m_pub_us")
    clu = median(data[CLUSTER], "m_pub_us")
    top = median(data[CLUSTER], "m_top")
    tot = median(data[CLUSTER], "m_cpu")
    if not one or not clu or not top or not tot:
        return
    share = top / tot
    low, high = 1e6 / (clu * share), 1e6 / (one * share)
    print("Arithmetic, not a measurement: at the Redis CPU per publish "
          "measured here (publishing only), one redis-server with a core "
          "of its own saturates at about {:,.0f} publishes/s.  The "
          "cluster's busiest master did {:.0f}% of the masters' work, and "
          "a cluster saturates when its busiest master does: three masters "
          "on a core each at about {:,.0f} publishes/s at this run's cost "
          "per publish on a master ({:.1f} us), up to {:,.0f} at one "
          "server's ({:.1f} us), which a saturated master's deeper "
          "pipelines approach, less what feeding its replica costs it: "
          "{:.2f} to {:.2f} times one server.".format(
              1e6 / one, 100 * share, low, clu, high, one,
              low * one / 1e6, high * one / 1e6))
    print()


def summary(res, runs, scenarios):
    quiet, qdata, qmed = quiet_of(res, runs, scenarios)

    for sc in scenarios:
        if sc == quiet:
            continue
        data = {s: runs_of(res, runs, s, sc) for s in (ONE, CLUSTER)}
        for s in data:
            publishing_only(data[s], qmed[s])
        print("### One Redis and a cluster: %s, medians of %d runs"
              % (sc, runs))
        print()
        print("What the clients saw (nginx: both workers, over the "
              "publishing seconds):")
        print()
        table(CLIENTS, data, runs)
        print("What Redis spent (INFO cpu: used_cpu_sys + used_cpu_user), "
              "in %% of one core over the whole scenario run, and in us per "
              "accepted publish: everything the run cost, then publishing "
              "only (less the idle rate, and what the subscriptions cost in "
              "%s); one Redis is its own master:"
              % (quiet or "a *-quiet scenario, not run"))
        print()
        table(REDIS, data, runs)
        print("| ratio of medians | "
              + " | ".join(r[0] for r in RATIOS) + " |")
        print("|---|" + "---:|" * len(RATIOS))
        print("| %s / %s | " % (CLUSTER, ONE) + " | ".join(
            ratio(median(data[CLUSTER], r[1]), median(data[ONE], r[1]))
            for r in RATIOS) + " |")
        print()
        ceilings(data)

    if quiet:
        print("### What Redis spends without publishing (%s), medians of "
              "%d runs" % (quiet, runs))
        print()
        print("Idle: nginx connected, no clients (the module's sweeps of "
              "every shard, heartbeats, the cluster bus), in % of one core; "
              "subscriptions: Redis CPU beyond the idle rate in a run of "
              "10,000 subscribers on 1,000 channels with one message a "
              "second (their subscriptions, the run, their close), in "
              "seconds:")
        print()
        table(QUIET, qdata, runs)


def every_run(res, runs, scenarios):
    quiet, _, qmed = quiet_of(res, runs, scenarios)

    print("| scenario | server | run | publishes/s | lost+dup | p99 ms "
          "| nginx CPU % | masters CPU % | busiest master % "
          "| masters us/publish | publishing only | replicas us/publish "
          "| grade |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for sc in scenarios:
        for s in (ONE, CLUSTER):
            data = runs_of(res, runs, s, sc)
            if sc != quiet:
                publishing_only(data, qmed[s])
            for r, x in enumerate(data, 1):
                if x is not None and sc == quiet:
                    x.pop("m_us", None)
                    x.pop("r_us", None)
                if x is None:
                    print("| %s | %s | %d | not measured |||||||||"
                          % (sc, s, r))
                    continue
                print("| %s | %s | %d | %s | %s | %s | %s | %s | %s | %s "
                      "| %s | %s | %s |" % (
                          sc, s, r, cell(x["pub_s"], "{:,.0f}"),
                          cell(x["lost_dup"], "{:,.0f}"),
                          cell(x["p99"], "{:.2f}"),
                          cell(x["nginx_cpu"], "{:.0f}"),
                          cell(x.get("m_cpu"), "{:.1f}"),
                          cell(x.get("m_top"), "{:.1f}"),
                          cell(x.get("m_us"), "{:.1f}"),
                          cell(x.get("m_pub_us"), "{:.1f}"),
                          cell(x.get("r_us"), "{:.1f}"), x["grade"]))


def main():
    if len(sys.argv) != 5 or sys.argv[4] not in ("summary", "runs"):
        print(__doc__, file=sys.stderr)
        return 2
    res, runs, scenarios = sys.argv[1], int(sys.argv[2]), sys.argv[3].split()
    if sys.argv[4] == "summary":
        summary(res, runs, scenarios)
    else:
        every_run(res, runs, scenarios)
    return 0


if __name__ == "__main__":
    sys.exit(main())
