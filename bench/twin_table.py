#!/usr/bin/env python3
"""The tables of a twin run of bench/run.sh: medians over the runs of every
server and its twin, the ratios against nchan and against the twin, and
every run's numbers.

    twin_table.py RESULTS_DIR RUNS "SCENARIOS" "SERVERS" summary|runs [KIND]

RESULTS_DIR holds <server>-<scenario>-r<run>.json as wsbench wrote them.
KIND "tls" (the default): SCENARIOS are the TLS ones (fanout-tls ...), a
plain twin runs the same name without "-tls"; SERVERS are the TLS servers
(ws_perf_tls nchan_tls), their twins the same names without "_tls".
KIND "2w": SERVERS run two workers (ws_perf_2w nchan_2w), their twins one
(ws_perf nchan), the same scenarios.
"""

import json
import os
import statistics
import sys

COLUMNS = [
    # heading, JSON path, format
    ("deliveries/s", "deliveries_per_s", "{:,.0f}"),
    ("lost+dup", "lost_dup", "{:,.0f}"),
    ("failed conns", "failed", "{:,.0f}"),
    ("p50 ms", "latency_ms.p50", "{:.2f}"),
    ("p99 ms", "latency_ms.p99", "{:.2f}"),
    ("server CPU %", "server.cpu_pct", "{:.0f}"),
    ("server RSS MB", "server.rss_connected_mb", "{:.1f}"),
    ("bytes/conn", "server.mem_per_conn_bytes", "{:,.0f}"),
    ("wsbench us/msg", "tool.us_per_msg", "{:.2f}"),
    ("wsbench CPU %", "tool.cpu_pct", "{:.0f}"),
]

RATIOS = [
    ("deliveries/s", "deliveries_per_s"),
    ("p50", "latency_ms.p50"),
    ("p99", "latency_ms.p99"),
    ("server CPU", "server.cpu_pct"),
    ("server RSS", "server.rss_connected_mb"),
    ("wsbench us/msg", "tool.us_per_msg"),
]


def value(sc, path):
    """a measure of one scenario's report: a dotted path into it, or one
    of the sums and rates named here; None for a run without a report"""
    if sc is None:
        return None
    if path == "lost_dup":
        m = sc["messages"]
        return m["lost"] + m["duplicated"]
    if path == "failed":
        c = sc["connections"]
        return c["failed"] + c["server_closed"]
    if path == "publishes_per_s":
        s = sc.get("seconds") or 0
        return sc["messages"]["published"] / s if s else None
    v = sc
    for k in path.split("."):
        v = v[k]
    return v


def load(res, server, scenario, runs):
    out = []
    for r in range(1, runs + 1):
        p = os.path.join(res, "%s-%s-r%d.json" % (server, scenario, r))
        try:
            with open(p) as f:
                out.append(json.load(f)["scenarios"][0])
        except (OSError, ValueError, KeyError, IndexError):
            out.append(None)
    return out


def median(runs, path):
    vals = [v for v in (value(sc, path) for sc in runs) if v is not None]
    return statistics.median(vals) if vals else None


def cell(v, fmt):
    return "-" if v is None else fmt.format(v)


def ratio(a, b):
    if a is None or b is None or b == 0:
        return "-"
    return "{:.2f}".format(a / b)


# the twin's name suffix, the scenario suffix, and how pairs are labelled
KINDS = {
    "tls": ("_tls", "-tls", "over TLS", "plain", "what TLS costs"),
    "2w": ("_2w", "", "two workers", "one worker", "what a 2nd worker gives"),
}
KIND = KINDS["tls"]


def twin(server):
    return server[:-len(KIND[0])]


def plain(scenario):
    if KIND[1] and scenario.endswith(KIND[1]):
        return scenario[:-len(KIND[1])]
    return scenario


def summary(res, runs, scenarios, servers):
    for sc in scenarios:
        cols = " | ".join(c[0] for c in COLUMNS)
        print("### %s (%s: %s), medians of %d runs"
              % (sc, KIND[3], plain(sc), runs))
        print()
        print("| server | " + cols + " |")
        print("|---|" + "---:|" * len(COLUMNS))
        data = {}
        for s in servers:
            for name, scen in ((s, sc), (twin(s), plain(sc))):
                data[name] = load(res, name, scen, runs)
                n = sum(1 for x in data[name] if x is not None)
                label = name + ("" if n == runs else " (%d runs)" % n)
                print("| " + label + " | " + " | ".join(
                    cell(median(data[name], c[1]), c[2]) for c in COLUMNS)
                    + " |")
        print()
        pairs = []
        if len(servers) > 1:
            a, b = servers[0], servers[1]
            pairs.append(("%s / %s (%s)" % (a, b, KIND[2]), a, b))
            pairs.append(("%s / %s (%s)" % (twin(a), twin(b), KIND[3]),
                          twin(a), twin(b)))
        for s in servers:
            pairs.append(("%s / %s (%s)" % (s, twin(s), KIND[4]),
                          s, twin(s)))
        print("| ratio of medians | "
              + " | ".join(r[0] for r in RATIOS) + " |")
        print("|---|" + "---:|" * len(RATIOS))
        for label, a, b in pairs:
            print("| " + label + " | " + " | ".join(
                ratio(median(data[a], r[1]), median(data[b], r[1]))
                for r in RATIOS) + " |")
        print()


def every_run(res, runs, scenarios, servers):
    print("| scenario | server | run | deliveries/s | lost+dup | p50 ms "
          "| p99 ms | server CPU % | wsbench us/msg | grade |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for sc in scenarios:
        for s in servers:
            for name, scen in ((s, sc), (twin(s), plain(sc))):
                for r, x in enumerate(load(res, name, scen, runs), 1):
                    if x is None:
                        print("| %s | %s | %d | not measured |||||||"
                              % (scen, name, r))
                        continue
                    print("| %s | %s | %d | %s | %s | %.2f | %.2f | %.0f "
                          "| %.2f | %s |" % (
                              scen, name, r,
                              "{:,.0f}".format(x["deliveries_per_s"]),
                              "{:,.0f}".format(value(x, "lost_dup")),
                              value(x, "latency_ms.p50"),
                              value(x, "latency_ms.p99"),
                              value(x, "server.cpu_pct"),
                              value(x, "tool.us_per_msg"), x["grade"]))


def main():
    global KIND
    if len(sys.argv) not in (6, 7) or sys.argv[6:] and \
            sys.argv[6] not in KINDS:
        print(__doc__, file=sys.stderr)
        return 2
    KIND = KINDS[sys.argv[6] if len(sys.argv) == 7 else "tls"]
    res, runs = sys.argv[1], int(sys.argv[2])
    scenarios, servers = sys.argv[3].split(), sys.argv[4].split()
    if sys.argv[5] == "summary":
        summary(res, runs, scenarios, servers)
    else:
        every_run(res, runs, scenarios, servers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
