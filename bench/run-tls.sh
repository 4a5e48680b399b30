# The TLS run of make bench, sourced by bench/run.sh when BENCH_SERVERS
# names TLS servers only (ws_perf_tls, nchan_tls).  Each TLS server comes
# with its plain twin (ws_perf, nchan), which runs the same scenarios in
# the clear, so that every ratio is from one run on one machine state;
# the whole set runs $runs times, interleaved (run 1 of everything, then
# run 2, ...), and the tables quote medians.  It writes
# bench/RESULTS-tls.md and the part of bench/RESULTS.md between the
# over-tls markers, nothing else.

tls_keys='^(Protocol version|Ciphersuite|Peer signature type|Server Temp Key'
tls_keys="$tls_keys|Negotiated TLS1.3 group)"

# what each TLS server negotiates, read once it is measured
tls_probe() {
    case $1 in
    *_tls)
        tls_info[$1]=$(timeout 5 openssl s_client -brief \
            -connect 127.0.0.1:$tls_port </dev/null 2>&1 \
            | grep -E "$tls_keys" \
            | sed 's/: */ /' | paste -sd';' - | sed 's/;/; /g')
        ;;
    esac
}

twins_setup _tls tls_probe
twins_run "$tls_scenarios" tls-load.txt

elapsed=$(( $(date +%s) - t0 ))
commit="$(git rev-parse --short HEAD 2>/dev/null || echo '(no commit)')"
table="python3 bench/twin_table.py $res $runs"

tls_header() {
    echo "- date: $started, $elapsed s; $runs runs, interleaved"
    echo "- machine: $(machine)"
    twins_load tls-load.txt
    echo "- nginx: $("$nginx" -v 2>&1 | sed 's/nginx version: //')," \
        "worker_processes 1; $(openssl version | cut -d' ' -f1-2) for" \
        "nginx and wsbench"
    echo "- certificate: self-signed ECDSA P-256, made by bench/run.sh," \
        "the same kind for both servers; ssl_protocols TLSv1.2 TLSv1.3" \
        "(nginx 1.23.4's default) and nginx's default ciphers for both; no" \
        "session resumption (every subscriber makes a full handshake)"
    for m in "${measured[@]}"; do
        [ -n "${tls_info[$m]:-}" ] && echo "- $m negotiates: ${tls_info[$m]}"
    done
    echo "- ws_perf: ngx_ws_perf_module $commit:" \
        "TLS ${status[ws_perf_tls]:-not asked for}," \
        "plain ${status[ws_perf]:-not asked for}"
    echo "- nchan: $(dpkg-query -W -f='libnginx-mod-nchan ${Version}' \
        libnginx-mod-nchan 2>/dev/null || echo 'not installed'):" \
        "TLS ${status[nchan_tls]:-not asked for}," \
        "plain ${status[nchan]:-not asked for}"
}

tls_bounds() {
    echo "What bounds these numbers: wsbench decrypts what every subscriber"
    echo "receives on the same 2 cores as the server (\"wsbench us/msg\" and"
    echo "\"wsbench CPU %\", TLS against plain), and on loopback the"
    echo "receiver's half of TCP runs on the sender's CPU too (see the"
    echo "kernel's floor in RESULTS.md).  Every microsecond the tool spends"
    echo "decrypting is one the server does not have, so over TLS both"
    echo "servers run with less CPU left than in the clear, and the absolute"
    echo "TLS numbers are pessimistic for a server whose clients are on"
    echo "other machines.  The tool's cost is no fixed tax either: it"
    echo "depends on how a server cuts its deliveries into TLS records and"
    echo "segments (more and smaller records cost more per message), so"
    echo "read \"wsbench us/msg\" and \"wsbench CPU %\" next to a ratio"
    echo "between the servers: part of a difference over TLS can be CPU"
    echo "the tool takes from one server and leaves to the other."
    echo "Server CPU % is the"
    echo "nginx worker's share of one core while publishing; server RSS is"
    echo "once the subscribers are connected; deliveries/s is over the"
    echo "whole publishing time, so in the steady scenarios it is the asked"
    echo "rate when nothing is lost, and only the -max scenario shows a"
    echo "ceiling."
}

{
    echo "# Benchmark results over TLS"
    echo
    echo "Written by \`BENCH_SERVERS=\"$servers\" make bench\`" \
        "(bench/run.sh, bench/run-tls.sh); the summary is also in"
    echo "bench/RESULTS.md, \"Over TLS\".  How to read wsbench's numbers:" \
        "bench/README.md."
    echo
    tls_header
    echo
    echo "## Commands"
    echo
    echo '```'
    echo "BENCH_SERVERS=\"$servers\" make bench"
    for m in "${measured[@]}"; do
        echo "nginx -p $out/$m/ -c conf/$m.conf    # fresh for each scenario"
        for sc in $(scenarios_of "$m"); do
            echo "$wsbench -s bench/scenarios/$sc.conf --label=$m" \
                "--quiet=1 --server_pidfile=$out/$m/logs/nginx.pid" \
                "--json=$res/$m-$sc-rN.json    # N = 1..$runs"
        done
    done
    echo "$table \"$tls_scenarios\" \"$servers\" summary"
    echo '```'
    echo
    echo "## Medians"
    echo
    $table "$tls_scenarios" "$servers" summary
    tls_bounds
    echo
    echo "## Every run"
    echo
    $table "$tls_scenarios" "$servers" runs
    echo
    echo "## Every scenario as wsbench printed it"
    twins_outputs "$tls_scenarios"
} >bench/RESULTS-tls.md

{
    echo "<!-- over-tls begin: written by TLS runs of bench/run.sh -->"
    echo "## Over TLS"
    echo
    echo "10,000 subscribers on one channel over wss:// (the publisher on"
    echo "plain http to the same server), each server next to itself in the"
    echo "clear in the same run.  Every run, the commands and every output:"
    echo "[RESULTS-tls.md](RESULTS-tls.md)."
    echo
    echo '```'
    echo "BENCH_SERVERS=\"$servers\" make bench"
    echo '```'
    echo
    tls_header
    echo
    $table "$tls_scenarios" "$servers" summary | sed 's/^### /### Over TLS: /'
    tls_bounds
    echo "<!-- over-tls end -->"
} >"$res/over-tls.md"

results_part over-tls "$res/over-tls.md"

log "wrote bench/RESULTS-tls.md and the Over TLS part of bench/RESULTS.md" \
    "in $elapsed s"
exit 0
