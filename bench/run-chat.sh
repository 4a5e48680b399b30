#!/usr/bin/env bash
# make bench-chat: the chat scenarios (bench/scenarios/chat-*.conf) against
# ngx_ws_perf_module and nchan in Redis mode, 2 and 4 workers, plain and
# TLS; a fresh redis-server and a fresh nginx for every run; writes
# bench/RESULTS-chat.md (medians of BENCH_RUNS runs).
#
#   BENCH_PORT=8190            the servers' plain port (8090)
#   BENCH_TLS_PORT=8593        their TLS port (8493)
#   BENCH_REDIS_PORT=6591      the redis-server's port (6391)
#   BENCH_RUNS=3               runs of every row and server
#   BENCH_CHAT_ROWS="s100 x1000"   a subset of: s100 s500 s1000 s2000
#                              (the seed's rows) x1000 x5000 x10000 x20000
#                              (ten times the connections or the rate)
#   BENCH_CHAT_SERVERS="ws_perf_2w nchan_2w_tls"  a subset of
#                              {ws_perf,nchan}_{2w,4w}[_tls]
#   BENCH_CHAT_DURATION=10     seconds of publishing per run
#   BENCH_CHAT_OUT=file.md     where the table goes (bench/RESULTS-chat.md)
#   BENCH_CHAT_ARGS="--pub_conns=32"  more wsbench keys for every run
#   BENCH_CHAT_RESULTS=dir     where each run's JSON and text go (emptied
#                              first; build/bench-chat/results)
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1

nginx=${NGINX_BIN:-/usr/sbin/nginx}
nchan_so=/usr/lib/nginx/modules/ngx_nchan_module.so
out=build/bench-chat
res=${BENCH_CHAT_RESULTS:-$out/results}
port=${BENCH_PORT:-8090}
tls_port=${BENCH_TLS_PORT:-8493}
redis_port=${BENCH_REDIS_PORT:-6391}
runs=${BENCH_RUNS:-3}
rows=${BENCH_CHAT_ROWS:-"s100 s500 s1000 s2000 x1000 x5000 x10000 x20000"}
servers=${BENCH_CHAT_SERVERS:-"ws_perf_2w ws_perf_2w_tls nchan_2w
    nchan_2w_tls ws_perf_4w ws_perf_4w_tls nchan_4w nchan_4w_tls"}
duration=${BENCH_CHAT_DURATION:-10}
extra=${BENCH_CHAT_ARGS:-}
results_md=${BENCH_CHAT_OUT:-bench/RESULTS-chat.md}
started=$(date -u '+%Y-%m-%d %H:%M:%S UTC')
commit=$(git rev-parse --short HEAD 2>/dev/null || echo '(no commit)')
t0=$(date +%s)

log() { echo "run-chat: $*" >&2; }

mkdir -p "$res" "$out/redis"
rm -f "$res"/*.json "$res"/*.txt

make -s -C bench/wsbench OUT="$top/$out" CFLAGS="-O2 -g" || {
    log "wsbench does not build"
    exit 1
}
wsbench=$out/wsbench

if ! make -s BUILD="${BUILD:-build}" all >"$out/module-build.log" 2>&1; then
    log "the module does not build (see $out/module-build.log)"
    exit 1
fi
case ${BUILD:-build} in
/*) so=$BUILD/ngx_ws_perf_module.so ;;
*)  so=$top/${BUILD:-build}/ngx_ws_perf_module.so ;;
esac

redis_stop() {
    local i

    redis-cli -p "$redis_port" shutdown nosave >/dev/null 2>&1 || return 0
    for i in $(seq 50); do
        redis-cli -p "$redis_port" ping >/dev/null 2>&1 || return 0
        sleep 0.1
    done
}

redis_fresh() {
    local i

    redis_stop
    redis-server --port "$redis_port" --bind 127.0.0.1 --save '' \
        --appendonly no --daemonize yes --dir "$top/$out/redis" \
        --logfile "$top/$out/redis/redis.log" \
        --pidfile "$top/$out/redis/redis.pid" || return 1
    for i in $(seq 50); do
        redis-cli -p "$redis_port" ping >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    return 1
}

# server_setup NAME: prefix, conf with ports and workers, certificate
server_setup() {
    local name=$1 prefix=$out/$1 base workers

    base=${name%%_[24]w*}
    [[ $name =~ _([0-9]+)w ]] && workers=${BASH_REMATCH[1]} || workers=2
    mkdir -p "$prefix/conf" "$prefix/logs" "$prefix/modules"
    sed -e "s/127\.0\.0\.1:8090/127.0.0.1:$port/g" \
        -e "s/127\.0\.0\.1:8493/127.0.0.1:$tls_port/g" \
        -e "s/127\.0\.0\.1:6391/127.0.0.1:$redis_port/g" \
        -e "s/^worker_processes .*/worker_processes      $workers;/" \
        "bench/conf/${base}_chat.conf" >"$prefix/conf/nginx.conf"
    if [ ! -f "$prefix/conf/bench.crt" ]; then
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
            -nodes -days 30 -subj /CN=127.0.0.1 \
            -keyout "$prefix/conf/bench.key" -out "$prefix/conf/bench.crt" \
            >"$prefix/logs/cert.log" 2>&1 || return 1
    fi
    case $base in
    ws_perf) ln -sf "$so" "$prefix/modules/" ;;
    nchan)   [ -f "$nchan_so" ] || return 1 ;;
    esac
    "$nginx" -p "$prefix/" -c conf/nginx.conf -t >"$prefix/logs/test.log" 2>&1
}

server_stop() {
    local pf=$out/$1/logs/nginx.pid pid i

    pid=$(cat "$pf" 2>/dev/null) || return 0
    kill -QUIT "$pid" 2>/dev/null
    for i in $(seq 100); do
        kill -0 "$pid" 2>/dev/null || { rm -f "$pf"; return 0; }
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null
    rm -f "$pf"
}

# does an upgrade get 101 (nchan answers 503 until Redis is there)?
server_ready() {
    local path line

    case $1 in
    ws_perf*) path="/ws?user=ready&channels=ready" ;;
    *)        path="/sub?chs=ready" ;;
    esac
    { exec 3<>"/dev/tcp/127.0.0.1/$port"; } 2>/dev/null || return 1
    printf '%s\r\n' "GET $path HTTP/1.1" 'Host: localhost' \
        'Upgrade: websocket' 'Connection: Upgrade' \
        'Sec-WebSocket-Version: 13' \
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' '' >&3
    read -t 2 -r line <&3
    exec 3<&-
    [[ $line == *" 101 "* ]]
}

server_start() {
    local i

    server_stop "$1"
    "$nginx" -p "$out/$1/" -c conf/nginx.conf || return 1
    for i in $(seq 50); do
        server_ready "$1" && return 0
        sleep 0.2
    done
    return 1
}

# run_one SERVER ROW RUN: one scenario against a fresh redis and nginx
run_one() {
    local s=$1 row=$2 r=$3 base sub pub args=() f

    base=${s%%_[24]w*}
    f=$res/$s-$row-r$r
    sub=ws://127.0.0.1:$port
    case $s in *_tls) sub=wss://127.0.0.1:$tls_port ;; esac

    case $base in
    ws_perf)
        args=(--sub_url="$sub/ws?user={user}&channels={rooms}"
              --pub_url="http://127.0.0.1:$port/pub")
        ;;
    nchan)
        args=(--sub_url="$sub/sub?chs={rooms},{user}"
              --pub_url="http://127.0.0.1:$port/pub/{t}"
              --pub_format=raw --ack=0 --resume=0)
        ;;
    esac

    if ! redis_fresh; then
        echo "redis-server does not start on $redis_port" >"$f.txt"
        return 1
    fi
    if ! server_start "$s"; then
        echo "nginx does not start: $(tail -n 2 "$out/$s/logs/error.log")" \
            >"$f.txt"
        redis_stop
        return 1
    fi

    timeout 300 "$wsbench" -s "bench/scenarios/chat-$row.conf" \
        --label="$s" --duration="$duration" --quiet=1 "${args[@]}" \
        $extra --server_pidfile="$out/$s/logs/nginx.pid" --json="$f.json" \
        >"$f.txt" 2>&1

    server_stop "$s"
    redis_stop
}

declare -A ok
for s in $servers; do
    if server_setup "$s"; then
        ok[$s]=1
    else
        log "$s not measured: $(tail -n 1 "$out/$s/logs/test.log" 2>/dev/null)"
    fi
done

load_before=$(cut -d' ' -f1-3 /proc/loadavg)

# interleaved: run 1 of everything, then run 2, ...
for r in $(seq "$runs"); do
    for row in $rows; do
        for s in $servers; do
            [ -n "${ok[$s]:-}" ] || continue
            log "run $r/$runs: $s chat-$row"
            run_one "$s" "$row" "$r"
        done
    done
done

load_after=$(cut -d' ' -f1-3 /proc/loadavg)
elapsed=$(( $(date +%s) - t0 ))

{
    echo "# Chat scenarios: ngx_ws_perf_module and nchan"
    echo
    echo "Written by \`make bench-chat\` (bench/run-chat.sh); what the"
    echo "scenarios do and how wsbench counts: bench/README.md, \"chat\"."
    echo
    echo "- command: BENCH_RUNS=$runs BENCH_CHAT_ROWS=\"$(echo $rows)\"" \
        "BENCH_CHAT_SERVERS=\"$(echo $servers)\"" \
        "BENCH_CHAT_DURATION=$duration bench/run-chat.sh"
    echo "- date: $started, $elapsed s"
    echo "- machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo \
        | cut -d: -f2 | sed 's/^ //'), Linux $(uname -r);" \
        "load average before $load_before, after $load_after"
    echo "- nginx: $("$nginx" -v 2>&1 | sed 's/nginx version: //');" \
        "ngx_ws_perf_module and wsbench $commit;" \
        "$(dpkg-query -W -f='libnginx-mod-nchan ${Version}' \
            libnginx-mod-nchan 2>/dev/null); redis-server" \
        "$(redis-server --version | grep -o 'v=[0-9.]*' | cut -c3-)"
    echo
    python3 bench/chat_table.py "$res" "$runs" "$(echo $rows)" \
        "$(echo $servers)"
    echo
    echo "Each row: 10 s of publishing (BENCH_CHAT_DURATION), 8 publisher"
    echo "connections of up to 64 pipelined POSTs, churn 1% a second with"
    echo "resume, 1% slow readers kept out of the figures.  wsbench, nginx"
    echo "and redis-server share the machine's CPUs: a row whose"
    echo "published/s is under the rate asked found the publish path"
    echo "(HTTP, Redis, fan-out) saturated, and its latency is the queue."
} >"$results_md"

log "wrote $results_md in $elapsed s"
