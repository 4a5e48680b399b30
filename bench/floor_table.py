#!/usr/bin/env python3
"""The tables of an interleaved run of two servers by bench/run.sh: ws_perf
next to floor, the minimal fan-out server of bench/floor.c
(bench/run-floor.sh), or next to the module of another revision
(bench/run-base.sh).  Medians over the runs, the ratio of the first
server to the second in every run, and in how many runs the first was
ahead.

    floor_table.py RESULTS_DIR RUNS "SCENARIOS" summary|runs [A B]

A and B are the servers, ws_perf and floor when not given.  RESULTS_DIR
holds <server>-<scenario>-r<run>.json as wsbench wrote them.  Run r of A
and run r of B ran one after the other, so their ratio is the one least
moved by the machine's other work.
"""

import sys

from twin_table import cell, load, median, ratio, value

SERVERS = ["ws_perf", "floor"]

COLUMNS = [
    # heading, how to read it from a scenario, format
    ("publishes/s", "publishes_per_s", "{:,.0f}"),
    ("deliveries/s", "deliveries_per_s", "{:,.0f}"),
    ("lost+dup", "lost_dup", "{:,.0f}"),
    ("closed by server", "connections.server_closed", "{:,.0f}"),
    ("p50 ms", "latency_ms.p50", "{:.2f}"),
    ("p99 ms", "latency_ms.p99", "{:.2f}"),
    ("server CPU %", "server.cpu_pct", "{:.0f}"),
    ("bytes/conn", "server.mem_per_conn_bytes", "{:,.0f}"),
    ("wsbench us/msg", "tool.us_per_msg", "{:.2f}"),
]

RATIOS = [
    # heading, how to read it, 1 when more is better
    ("publishes/s", "publishes_per_s", 1),
    ("deliveries/s", "deliveries_per_s", 1),
    ("p50", "latency_ms.p50", 0),
    ("p99", "latency_ms.p99", 0),
    ("server CPU", "server.cpu_pct", 0),
]


def ahead(pairs, key, more):
    """In how many runs, of those both servers have, the first did better."""
    n = k = 0
    for a, b in pairs:
        x, y = value(a, key), value(b, key)
        if x is None or y is None:
            continue
        n += 1
        if (x > y) if more else (x < y):
            k += 1
    return "%d of %d" % (k, n) if n else "-"


def summary(res, runs, scenarios):
    for sc in scenarios:
        data = {s: load(res, s, sc, runs) for s in SERVERS}
        print("### %s, medians of %d runs" % (sc, runs))
        print()
        print("| server | " + " | ".join(c[0] for c in COLUMNS) + " |")
        print("|---|" + "---:|" * len(COLUMNS))
        for s in SERVERS:
            n = sum(1 for x in data[s] if x is not None)
            label = s + ("" if n == runs else " (%d runs)" % n)
            print("| " + label + " | " + " | ".join(
                cell(median(data[s], c[1]), c[2]) for c in COLUMNS) + " |")
        print()
        first, second = SERVERS
        print("| %s / %s | " % (first, second)
              + " | ".join(r[0] for r in RATIOS) + " |")
        print("|---|" + "---:|" * len(RATIOS))
        print("| ratio of medians | " + " | ".join(
            ratio(median(data[first], r[1]), median(data[second], r[1]))
            for r in RATIOS) + " |")
        for r in range(runs):
            a, b = data[first][r], data[second][r]
            print("| run %d | " % (r + 1) + " | ".join(
                ratio(value(a, x[1]), value(b, x[1])) for x in RATIOS)
                + " |")
        pairs = list(zip(data[first], data[second]))
        print("| %s better in | " % first + " | ".join(
            ahead(pairs, r[1], r[2]) for r in RATIOS) + " |")
        print()


def every_run(res, runs, scenarios):
    print("| scenario | server | run | " + " | ".join(c[0] for c in COLUMNS)
          + " |")
    print("|---|---|---:|" + "---:|" * len(COLUMNS))
    for sc in scenarios:
        for s in SERVERS:
            for r, x in enumerate(load(res, s, sc, runs), 1):
                print("| %s | %s | %d | " % (sc, s, r) + " | ".join(
                    cell(value(x, c[1]), c[2]) for c in COLUMNS) + " |")


def main():
    if len(sys.argv) not in (5, 7) or sys.argv[4] not in ("summary", "runs"):
        sys.stderr.write(__doc__)
        return 2
    if len(sys.argv) == 7:
        SERVERS[:] = sys.argv[5:7]
    res, runs, scenarios = sys.argv[1], int(sys.argv[2]), sys.argv[3].split()
    if sys.argv[4] == "summary":
        summary(res, runs, scenarios)
    else:
        every_run(res, runs, scenarios)
    return 0


if __name__ == "__main__":
    sys.exit(main())
