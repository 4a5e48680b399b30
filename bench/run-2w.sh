# The two-worker run of make bench, sourced by bench/run.sh when
# BENCH_SERVERS names two-worker servers only (ws_perf_2w, nchan_2w): two
# nginx workers and no Redis, so every message a worker takes reaches the
# other worker's subscribers through the server's own shared memory (our
# shared-memory engine; nchan's memory store and its IPC).  Each server
# comes with its one-worker twin (ws_perf, nchan) in the same run; the
# whole set runs $runs times, interleaved, and the tables quote medians.
# It writes the part of bench/RESULTS.md between the two-workers markers,
# nothing else.

# ws_perf's own measure of crossing workers: from one worker putting a
# message on the zone's bus to another taking it (its status, shm)
twin_after() {
    case $1 in
    ws_perf_2w)
        curl -s -m 5 "http://127.0.0.1:8090/status?format=json" \
            >"$res/$1-$2-r$3.status.json" 2>/dev/null
        ;;
    esac
}

# the bus latency of each scenario, medians over the runs
bus_latency() {
    python3 - "$res" "$runs" $w2_scenarios <<'END'
import json, statistics, sys
res, runs, scenarios = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
print("| scenario | bus latencies | p50 ms | p99 ms | p99.9 ms |")
print("|---|---:|---:|---:|---:|")
for sc in scenarios:
    vals = []
    for r in range(1, runs + 1):
        try:
            with open("%s/ws_perf_2w-%s-r%d.status.json" % (res, sc, r)) as f:
                vals.append(json.load(f)["shm"]["bus_latency"])
        except (OSError, ValueError, KeyError):
            pass
    if not vals:
        print("| %s | not measured |||" % sc)
        continue
    med = lambda k: statistics.median(v[k] for v in vals)
    print("| %s | %s | %.3f | %.3f | %.3f |" % (
        sc, "{:,.0f}".format(med("count")), med("p50"), med("p99"),
        med("p99_9")))
END
}

twins_setup _2w
twins_run "$w2_scenarios" 2w-load.txt

elapsed=$(( $(date +%s) - t0 ))
commit="$(git rev-parse --short HEAD 2>/dev/null || echo '(no commit)')"
table="python3 bench/twin_table.py $res $runs"

{
    echo "<!-- two-workers begin: written by two-worker runs of" \
        "bench/run.sh -->"
    echo "## Two workers, no Redis"
    echo
    echo "The scenarios above with worker_processes 2 and no Redis: the"
    echo "publisher's connection lands on one worker, about half of the"
    echo "subscribers on the other, so about half of all deliveries cross"
    echo "from one worker to the other through shared memory, and the p99"
    echo "covers them.  Each server next to itself with one worker, in the"
    echo "same run."
    echo
    echo '```'
    echo "BENCH_SERVERS=\"$servers\" make bench"
    for m in "${measured[@]}"; do
        echo "nginx -p $out/$m/ -c conf/$m.conf    # fresh for each scenario"
        for sc in $w2_scenarios; do
            echo "$wsbench -s bench/scenarios/$sc.conf --label=$m" \
                "--quiet=1 --server_pidfile=$out/$m/logs/nginx.pid" \
                "--json=$res/$m-$sc-rN.json    # N = 1..$runs"
        done
    done
    echo "$table \"$w2_scenarios\" \"$servers\" summary 2w"
    echo '```'
    echo
    echo "- date: $started, $elapsed s; $runs runs, interleaved"
    echo "- machine: $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.0f GB", \
        $2 / 1048576}' /proc/meminfo) RAM, Linux $(uname -r)"
    twins_load 2w-load.txt
    echo "- ws_perf: ngx_ws_perf_module $commit:" \
        "two workers ${status[ws_perf_2w]:-not asked for}," \
        "one ${status[ws_perf]:-not asked for}"
    echo "- nchan: $(dpkg-query -W -f='libnginx-mod-nchan ${Version}' \
        libnginx-mod-nchan 2>/dev/null || echo 'not installed'):" \
        "two workers ${status[nchan_2w]:-not asked for}," \
        "one ${status[nchan]:-not asked for}"
    echo "- server CPU % and RSS are the sum over the workers"
    echo
    $table "$w2_scenarios" "$servers" summary 2w \
        | sed 's/^### /### Two workers: /'
    echo "### Crossing workers: ws_perf's bus latency, medians of $runs runs"
    echo
    echo "From one worker putting a message on the shared-memory bus to the"
    echo "other taking it, as ws_perf_2w's status counted it in each run"
    echo "(JSON \`shm.bus_latency\`); the hub-to-socket write and the"
    echo "network come after it, and are in the p99 above."
    echo
    bus_latency
    echo
    echo "<details><summary>Every run</summary>"
    echo
    $table "$w2_scenarios" "$servers" runs 2w
    echo
    twins_outputs "$w2_scenarios"
    echo "</details>"
    echo "<!-- two-workers end -->"
} >"$res/two-workers.md"

results_part two-workers "$res/two-workers.md"

log "wrote the Two workers part of bench/RESULTS.md in $elapsed s"
exit 0
