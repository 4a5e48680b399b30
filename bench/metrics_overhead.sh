#!/usr/bin/env bash
# The cost of the metrics (issue 7): one scenario against the module with
# "ws_perf_metrics on" and with "off", alternating, each a fresh nginx
# from bench/conf/ws_perf.conf on 127.0.0.1:8093.  Prints one line per run
# and the medians; writes nothing under bench/ (paste the output into
# bench/RESULTS.md).
#
#   bench/metrics_overhead.sh [scenario [rounds]]    # fanout 2
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

scenario=${1:-fanout}
rounds=${2:-2}
nginx=${NGINX_BIN:-/usr/sbin/nginx}
out=build/bench/overhead
wsbench=build/bench/wsbench

make -s -C bench/wsbench OUT="$top/build/bench" CFLAGS="-O2 -g"
make -s all

for m in on off; do
    prefix=$out/$m
    mkdir -p "$prefix/conf" "$prefix/logs" "$prefix/modules"
    ln -sf "$top/build/ngx_ws_perf_module.so" "$prefix/modules/"
    sed -e "s/127.0.0.1:8090/127.0.0.1:8093/" \
        -e "s/^http {/http {\n    ws_perf_metrics  $m;/" \
        bench/conf/ws_perf.conf > "$prefix/conf/nginx.conf"
    "$nginx" -p "$prefix/" -c conf/nginx.conf -t -q
done

run() {
    local m=$1 i=$2 prefix=$out/$1 pid

    "$nginx" -p "$prefix/" -c conf/nginx.conf
    for _ in $(seq 50); do
        (exec 3<>/dev/tcp/127.0.0.1/8093) 2>/dev/null && break
        sleep 0.1
    done

    "$wsbench" -s "bench/scenarios/$scenario.conf" --label="metrics-$m" \
        --sub_url="$(sed -n 's/^sub_url *= *//p' \
                     "bench/scenarios/$scenario.conf" | sed 's/8090/8093/')" \
        --pub_url="$(sed -n 's/^pub_url *= *//p' \
                     "bench/scenarios/$scenario.conf" | sed 's/8090/8093/')" \
        --server_pidfile="$prefix/logs/nginx.pid" \
        --json="$out/$m-$i.json" > "$out/$m-$i.txt" 2>&1 || true

    pid=$(cat "$prefix/logs/nginx.pid")
    "$nginx" -p "$prefix/" -c conf/nginx.conf -s quit
    for _ in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
}

for i in $(seq "$rounds"); do
    run on "$i"
    run off "$i"
done

python3 - "$out" "$scenario" "$rounds" <<'END'
import json, statistics, sys
out, scenario, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
rows = {}
for m in ("on", "off"):
    for i in range(1, rounds + 1):
        s = json.load(open("%s/%s-%d.json" % (out, m, i)))["scenarios"][0]
        r = (s["deliveries_per_s"], s["latency_ms"]["p50"],
             s["latency_ms"]["p95"], s["latency_ms"]["p99"],
             s["server"]["cpu_pct"], s["messages"]["lost"])
        rows.setdefault(m, []).append(r)
        print("%s metrics %-3s run %d: %.0f deliveries/s, p50 %.2f ms, "
              "p95 %.2f ms, p99 %.2f ms, server CPU %.1f%%, lost %d"
              % ((scenario, m, i) + r))
med = {m: [statistics.median(c) for c in zip(*rows[m])] for m in rows}
names = ("deliveries/s", "p50 ms", "p95 ms", "p99 ms", "server CPU %")
for k, n in enumerate(names):
    on, off = med["on"][k], med["off"][k]
    print("median %-13s on %10.2f  off %10.2f  on/off %.3f"
          % (n, on, off, on / off if off else float("nan")))
END
