# The floor run of make bench, sourced by bench/run.sh when BENCH_PEER=floor:
# ws_perf next to floor (bench/floor.c, one send() per subscriber and
# nothing else) on the fan-out and many-channels scenarios, $runs times,
# interleaved, with bench/sendfloor's kernel floor measured at the start of
# each run.  The tables quote medians and the ratio of every run.  It
# writes the part of bench/RESULTS.md between the floor-peer markers,
# nothing else.

floor_peer_scenarios=${BENCH_SCENARIOS:-"fanout many-channels-max"}
servers="ws_perf floor"

for m in $servers; do
    if ! why=$(server_setup "$m") || ! why=$(server_start "$m") \
            || ! why=$(server_probe "$m"); then
        status[$m]="not measured: $why"
        log "$m: ${status[$m]}"
        server_stop "$m"
        continue
    fi
    server_stop "$m"
    status[$m]=measured
    measured+=("$m")
done

# sendfloor before each run, in the same machine state as the servers
sendfloor_ok=0
if cc -O2 -std=gnu99 -Wall -Wextra -Werror -o "$out/sendfloor" \
        bench/sendfloor.c; then
    sendfloor_ok=1
fi

twin_run_start() {
    [ $sendfloor_ok = 1 ] || return 0
    "$out/sendfloor" 10000 20 66 2>&1 | sed "s/^/run $1: /" \
        >>"$res/floor-sendfloor.txt"
}

twin_after() {
    if [ "$1" = floor ]; then
        server_stop floor
        tail -n1 "$out/floor/logs/floor.log" >>"$res/$1-$2-r$3.txt"
    fi
}

: >"$res/floor-sendfloor.txt"
twins_run "$floor_peer_scenarios" floor-load.txt

elapsed=$(( $(date +%s) - t0 ))
commit="$(git rev-parse --short HEAD 2>/dev/null || echo '(no commit)')"
table="python3 bench/floor_table.py $res $runs"

{
    echo "<!-- floor-peer begin: written by floor runs of bench/run.sh -->"
    echo "## The limit as a peer: ws_perf next to floor"
    echo
    echo "floor is bench/floor.c: one thread, one epoll loop, each publish"
    echo "made into one WebSocket frame and one \`send()\` per subscriber,"
    echo "nothing else.  A subscriber whose socket cannot take the whole"
    echo "frame is closed and counted (\"closed by server\", its messages"
    echo "lost); floor's own counts end each of its outputs below.  It is"
    echo "what the kernel allows with our own load tool; \`ws_perf / floor\`"
    echo "above 1 is better for publishes/s and deliveries/s, below 1 for"
    echo "latency and CPU.  Runs are interleaved (run 1 of both servers,"
    echo "then run 2), so run r's ratio compares neighbours in time."
    echo
    echo '```'
    echo "BENCH_PEER=floor BENCH_RUNS=$runs" \
        "BENCH_SCENARIOS=\"$floor_peer_scenarios\" BENCH_PORT=$port" \
        "make bench"
    echo "$out/sendfloor 10000 20 66    # at the start of each run"
    for m in "${measured[@]}"; do
        if [ "$m" = floor ]; then
            echo "$out/floor-server 127.0.0.1:$port $(pidfile floor)" \
                "   # fresh for each scenario"
        else
            echo "nginx -p $out/$m/ -c conf/$m.conf    # fresh for each" \
                "scenario"
        fi
        for sc in $floor_peer_scenarios; do
            echo "$wsbench -s bench/scenarios/$sc.conf --label=$m" \
                "--quiet=1 --server_pidfile=$(pidfile "$m")" \
                "--json=$res/$m-$sc-rN.json    # N = 1..$runs"
        done
    done
    echo "$table \"$floor_peer_scenarios\" summary"
    echo '```'
    echo
    echo "- date: $started, $elapsed s; $runs runs, interleaved"
    echo "- machine: $(machine)"
    twins_load floor-load.txt
    echo "- ws_perf: ngx_ws_perf_module $commit, worker_processes 1:" \
        "${status[ws_perf]:-not asked for}"
    echo "- floor: bench/floor.c at $commit: ${status[floor]:-not asked for}"
    echo "- the kernel's floor (bench/sendfloor.c, one 66-byte send() to"
    echo "  each of 10,000 loopback connections a round), each run:"
    echo
    echo '```'
    if [ -s "$res/floor-sendfloor.txt" ]; then
        cat "$res/floor-sendfloor.txt"
    else
        echo "not measured"
    fi
    echo '```'
    echo
    $table "$floor_peer_scenarios" summary
    echo "<details><summary>Every run</summary>"
    echo
    $table "$floor_peer_scenarios" runs
    echo
    twins_outputs "$floor_peer_scenarios"
    echo "</details>"
    echo "<!-- floor-peer end -->"
} >"$res/floor-peer.md"

results_part floor-peer "$res/floor-peer.md"

log "wrote the floor part of bench/RESULTS.md in $elapsed s"
exit 0
