#!/usr/bin/env python3
"""The chat table of bench/RESULTS-chat.md from bench/run-chat.sh's JSON.

chat_table.py RESULTS_DIR RUNS "ROWS" "SERVERS": one line per row and
server, the median of the runs of each figure, then ws_perf / nchan
ratios of the medians for every configuration both ran.
"""

import json
import os
import statistics
import sys


def load(res, server, row, runs):
    out = []
    for r in range(1, runs + 1):
        path = os.path.join(res, "%s-%s-r%d.json" % (server, row, r))
        try:
            with open(path) as f:
                out.append(json.load(f)["scenarios"][0])
        except (OSError, ValueError, KeyError, IndexError):
            continue
    return out


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def figures(runs):
    m = [x["messages"] for x in runs]
    lat = [x["latency_ms"] for x in runs]
    chat = [x.get("chat", {}) for x in runs]
    return {
        "n": len(runs),
        "conns": runs[0]["config"]["connections"],
        "rate": runs[0]["config"]["rate"],
        "published": med([x["published"] for x in m]),
        "pps": med([x["published"] / x["seconds"] if x["seconds"] else 0
                    for x in (dict(x["messages"], seconds=x["seconds"])
                              for x in runs)]),
        "dps": med([x["deliveries_per_s"] for x in runs]),
        "p50": med([x["p50"] for x in lat]),
        "p95": med([x["p95"] for x in lat]),
        "p99": med([x["p99"] for x in lat]),
        "err": med([x["error_rate"] * 100 for x in runs]),
        "lost": med([x["lost"] for x in m]),
        "dup": med([x["duplicated"] for x in m]),
        "redeliv": med([c.get("redelivered", 0) for c in chat]),
        "reconn": med([c.get("reconnects", 0) for c in chat]),
        "resumed": med([c.get("resumed", 0) for c in chat]),
        "gaps": med([c.get("gaps", 0) for c in chat]),
        "seed": "/".join(c.get("seed_grade", "?") for c in chat),
        "grade": "/".join(x["grade"] for x in runs),
        "cpu": med([x["server"]["cpu_pct"] for x in runs]),
    }


def main():
    res, runs = sys.argv[1], int(sys.argv[2])
    rows, servers = sys.argv[3].split(), sys.argv[4].split()
    table = {}

    print("Medians of %d run(s); seed grade and strict grade per run "
          "(run 1/run 2/...). Seed: p95 < 100 ms, p99 < 200 ms, errors "
          "< 1%%; strict: wsbench's A+ to F (bench/README.md)." % runs)
    print()
    print("| row | server | conns | msg/s asked | published/s | deliveries/s "
          "| p50 ms | p95 ms | p99 ms | errors % | lost | dup | redelivered "
          "| reconnects | resumed | gaps | server CPU % | seed | strict |")
    print("|" + "---|" * 19)

    for row in rows:
        for s in servers:
            got = load(res, s, row, runs)
            if not got:
                print("| %s | %s | not measured (see build/bench-chat/"
                      "results/%s-%s-r*.txt) |" % (row, s, s, row)
                      + " |" * 16)
                continue
            f = figures(got)
            table[(row, s)] = f
            print("| %s | %s | %d | %.0f | %.0f | %.0f | %.2f | %.2f | %.2f "
                  "| %.3f "
                  "| %.0f | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f | %s | %s |"
                  % (row, s, f["conns"], f["rate"], f["pps"], f["dps"],
                     f["p50"],
                     f["p95"], f["p99"], f["err"], f["lost"], f["dup"],
                     f["redeliv"], f["reconn"], f["resumed"], f["gaps"],
                     f["cpu"], f["seed"], f["grade"]))

    print()
    print("ws_perf / nchan, ratios of the medians (below 1: ws_perf "
          "lower; deliveries/s above 1: ws_perf delivered more). nchan "
          "has no acks and no resume: its reconnected clients start from "
          "the newest message, and wsbench owes them only what was "
          "published after they came back.")
    print()
    print("| row | configuration | published/s | deliveries/s | p50 | p95 "
          "| p99 |")
    print("|---|---|---|---|---|---|---|")

    for row in rows:
        for s in servers:
            if not s.startswith("ws_perf"):
                continue
            peer = "nchan" + s[len("ws_perf"):]
            a, b = table.get((row, s)), table.get((row, peer))
            if not a or not b:
                continue

            def ratio(k):
                return "%.2f" % (a[k] / b[k]) if b[k] else "-"

            print("| %s | %s | %s | %s | %s | %s | %s |"
                  % (row, s[len("ws_perf_"):], ratio("pps"), ratio("dps"),
                     ratio("p50"),
                     ratio("p95"), ratio("p99")))


main()
