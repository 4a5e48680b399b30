#!/usr/bin/env python3
"""The tables of a floor run of bench/run.sh (bench/run-floor.sh): ws_perf
next to floor, the minimal fan-out server of bench/floor.c, medians over
the runs and the ratio ws_perf / floor of every run.

    floor_table.py RESULTS_DIR RUNS "SCENARIOS" summary|runs

RESULTS_DIR holds <server>-<scenario>-r<run>.json as wsbench wrote them.
Run r of ws_perf and run r of floor ran one after the other, so their
ratio is the one least moved by the machine's other work.
"""

import sys

from twin_table import cell, load, median, ratio, value

SERVERS = ("ws_perf", "floor")

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
    ("publishes/s", "publishes_per_s"),
    ("deliveries/s", "deliveries_per_s"),
    ("p50", "latency_ms.p50"),
    ("p99", "latency_ms.p99"),
    ("server CPU", "server.cpu_pct"),
]


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
        print("| ws_perf / floor | " + " | ".join(r[0] for r in RATIOS)
              + " |")
        print("|---|" + "---:|" * len(RATIOS))
        print("| ratio of medians | " + " | ".join(
            ratio(median(data["ws_perf"], r[1]), median(data["floor"], r[1]))
            for r in RATIOS) + " |")
        for r in range(runs):
            a, b = data["ws_perf"][r], data["floor"][r]
            print("| run %d | " % (r + 1) + " | ".join(
                ratio(value(a, x[1]), value(b, x[1])) for x in RATIOS)
                + " |")
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
    if len(sys.argv) != 5 or sys.argv[4] not in ("summary", "runs"):
        sys.stderr.write(__doc__)
        return 2
    res, runs, scenarios = sys.argv[1], int(sys.argv[2]), sys.argv[3].split()
    if sys.argv[4] == "summary":
        summary(res, runs, scenarios)
    else:
        every_run(res, runs, scenarios)
    return 0


if __name__ == "__main__":
    sys.exit(main())
