# The A/B run of make bench, sourced by bench/run.sh when BENCH_BASE names
# a git revision: the module of this tree (ws_perf) next to the module of
# that revision (ws_perf_base), with the same conf (bench/conf/ws_perf.conf)
# on the same scenarios, $runs times, interleaved, every other run in the
# other order.  On a noisy machine one pair of numbers says little: a
# change is measured by the ratio of neighbouring runs and by how many of
# them it won.  It prints the tables and writes them to $res/base.md;
# bench/RESULTS.md is not touched.

base_scenarios=${BENCH_SCENARIOS:-"fanout-10hz many-channels-max"}

if ! base_commit=$(git rev-parse --short "$BENCH_BASE^{commit}" 2>/dev/null)
then
    log "BENCH_BASE=$BENCH_BASE is not a revision of this repository"
    exit 2
fi

for m in ws_perf ws_perf_base; do
    if ! why=$(server_setup "$m") || ! why=$(server_start "$m") \
            || ! why=$(server_probe "$m"); then
        log "$m: not measured: $why"
        server_stop "$m"
        exit 1
    fi
    server_stop "$m"
    measured+=("$m")
done

twins_run "$base_scenarios" base-load.txt

elapsed=$(( $(date +%s) - t0 ))
commit="$(git rev-parse --short HEAD 2>/dev/null || echo '(no commit)')"
if ! git diff --quiet HEAD -- ngx_ws_perf_module config 2>/dev/null; then
    commit="$commit with changes not committed"
fi
table="python3 bench/floor_table.py $res $runs"

{
    echo "## ws_perf next to ws_perf_base"
    echo
    echo "- ws_perf: this tree, $commit"
    echo "- ws_perf_base: $BENCH_BASE ($base_commit)"
    echo "- date: $started, $elapsed s; $runs runs, interleaved"
    echo "- machine: $(machine)"
    twins_load base-load.txt
    echo
    $table "$base_scenarios" summary ws_perf ws_perf_base
    $table "$base_scenarios" runs ws_perf ws_perf_base
} >"$res/base.md"

cat "$res/base.md"
log "wrote $res/base.md in $elapsed s"
exit 0
