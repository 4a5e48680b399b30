#!/usr/bin/env bash
# make bench-100k: 100,000 WebSocket subscribers on one channel, servers
# with six workers in Redis mode (ngx_ws_perf_module, then nchan), one
# 64-byte message a wave, about one wave a second for ten seconds, next to
# bench/sendfloor's kernel floor for the same 100,000 sockets, measured in
# the same run.  Writes bench/RESULTS-100k.md and links it from
# bench/RESULTS.md.
#
#   BENCH_PORT=8390               the servers' port
#   BENCH_REDIS_PORT=6393         a fresh redis-server for each server
#   BENCH_RUNS=1                  runs, one after the other; medians
#   BENCH_100K_SERVERS="ws_perf nchan"
#   BENCH_100K_CONNECTIONS=100000
#   BENCH_100K_WAVES=10           waves (messages) a run
#   BENCH_100K_NCHAN_SHM=256m     nchan_shared_memory_size
#   BENCH_100K_FLOOR_ROUNDS=10    sendfloor rounds a run
#   BENCH_100K_RESULTS=bench/RESULTS-100k.md
#
# Everything on loopback; it starts and stops its own redis-server and
# nginx (prefixes build/bench/<server>_100k) and kills nothing else.  Run
# as root, it raises net.core.somaxconn to the listen backlog (4096) if it
# is lower, says so, and puts it back at the end.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1

nginx=${NGINX_BIN:-/usr/sbin/nginx}
out=build/bench
res=$out/results-100k
wsbench=$out/wsbench
port=${BENCH_PORT:-8390}
redis_port=${BENCH_REDIS_PORT:-6393}
runs=${BENCH_RUNS:-1}
servers=${BENCH_100K_SERVERS:-"ws_perf nchan"}
conns=${BENCH_100K_CONNECTIONS:-100000}
waves=${BENCH_100K_WAVES:-10}
nchan_shm=${BENCH_100K_NCHAN_SHM:-256m}
floor_rounds=${BENCH_100K_FLOOR_ROUNDS:-10}
results=${BENCH_100K_RESULTS-bench/RESULTS-100k.md}
workers=6
backlog=4096
build=${BUILD:-build}
started=$(date -u '+%Y-%m-%d %H:%M:%S UTC')
t0=$(date +%s)

declare -A status
restore=()
sampler=

log() {
    echo "bench-100k: $*" >&2
}

for p in $port $redis_port; do
    case " 8090 8493 6391 " in
    *" $p "*)
        log "port $p is bench/run.sh's; give another (BENCH_PORT," \
            "BENCH_REDIS_PORT)"
        exit 1
        ;;
    esac
done

case $build in
/*) so=$build/ngx_ws_perf_module.so ;;
*)  so=$top/$build/ngx_ws_perf_module.so ;;
esac

mkdir -p "$res" "$out/scenarios"
rm -f "$res"/*

# sysctl_min NAME VALUE: raise NAME to VALUE when lower, as root only
sysctl_min() {
    local cur

    cur=$(sysctl -n "$1" 2>/dev/null) || return 0
    [ "$cur" -ge "$2" ] && return 0
    if [ "$(id -u)" != 0 ]; then
        echo "- $1 is $cur, under $2, and this is not root: left as it is"
        return 0
    fi
    sysctl -q -w "$1=$2" || return 0
    restore+=("$1=$cur")
    echo "- $1 raised from $cur to $2 for the run (restored at the end)"
}

limits() {
    local range span

    range=$(sysctl -n net.ipv4.ip_local_port_range | tr -s '\t ' ' ')
    span=$(( ${range#* } - ${range% *} + 1 ))
    echo "- files a process: soft $(ulimit -Sn), hard $(ulimit -Hn)" \
        "(nginx: worker_rlimit_nofile 20000, 19,800 connections a worker;" \
        "wsbench and sendfloor split into processes under the limit)"
    echo "- net.ipv4.ip_local_port_range $range: $span ports a source" \
        "address to one server port; wsbench uses 32 addresses, sendfloor" \
        "16 a reader"
    echo "- net.core.somaxconn $(sysctl -n net.core.somaxconn)," \
        "net.ipv4.tcp_max_syn_backlog" \
        "$(sysctl -n net.ipv4.tcp_max_syn_backlog)," \
        "net.ipv4.tcp_max_tw_buckets $(sysctl -n net.ipv4.tcp_max_tw_buckets)"
    echo "- net.ipv4.tcp_mem (pages) $(sysctl -n net.ipv4.tcp_mem |
        tr -s '\t ' ' '), fs.file-max $(sysctl -n fs.file-max)," \
        "memory $(awk '/MemTotal/ { printf "%.1f GB", $2 / 1048576 }' \
        /proc/meminfo)"
    sysctl_min net.core.somaxconn $backlog
}

redis_start() {
    local i

    redis_stop
    mkdir -p "$out/redis-100k"
    redis-server --port "$redis_port" --bind 127.0.0.1 --save '' \
        --appendonly no --daemonize yes --dir "$top/$out/redis-100k" \
        --logfile "$top/$out/redis-100k/redis.log" \
        --pidfile "$top/$out/redis-100k/redis.pid" || return 1
    for i in $(seq 50); do
        redis-cli -p "$redis_port" ping >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    return 1
}

redis_stop() {
    local pid i

    pid=$(cat "$out/redis-100k/redis.pid" 2>/dev/null) || return 0
    kill -TERM "$pid" 2>/dev/null
    for i in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null
    rm -f "$out/redis-100k/redis.pid"
}

prefix() {
    echo "$out/$1_100k"
}

# server_setup NAME: its prefix and conf with this run's ports; why not
server_setup() {
    local p

    p=$(prefix "$1")
    mkdir -p "$p/conf" "$p/logs" "$p/modules"
    sed -e "s/127\.0\.0\.1:8090/127.0.0.1:$port/" \
        -e "s/127\.0\.0\.1:6391/127.0.0.1:$redis_port/" \
        -e "s/nchan_shared_memory_size  256m/nchan_shared_memory_size  $nchan_shm/" \
        "bench/conf/$1_100k.conf" >"$p/conf/$1_100k.conf"
    case $1 in
    ws_perf)
        if ! make -s BUILD="$build" all >"$p/logs/build.log" 2>&1; then
            echo "the module does not build (see $p/logs/build.log)"
            return 1
        fi
        ln -sf "$so" "$p/modules/"
        ;;
    nchan)
        if [ ! -f /usr/lib/nginx/modules/ngx_nchan_module.so ]; then
            echo "nchan is not installed (libnginx-mod-nchan)"
            return 1
        fi
        ;;
    esac
    if ! "$nginx" -p "$p/" -c "conf/$1_100k.conf" -t \
            >"$p/logs/test.log" 2>&1; then
        echo "nginx -t fails: $(grep -m1 emerg "$p/logs/test.log")"
        return 1
    fi
}

server_pid() {
    cat "$(prefix "$1")/logs/nginx.pid" 2>/dev/null
}

server_stop() {
    local p pid i

    p=$(prefix "$1")
    pid=$(server_pid "$1") || return 0
    "$nginx" -p "$p/" -c "conf/$1_100k.conf" -s stop 2>/dev/null
    for i in $(seq 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null
    rm -f "$p/logs/nginx.pid"
}

ws_ready() {
    local line

    { exec 3<>/dev/tcp/127.0.0.1/$port; } 2>/dev/null || return 1
    printf '%s\r\n' 'GET /sub/ready HTTP/1.1' 'Host: localhost' \
        'Upgrade: websocket' 'Connection: Upgrade' \
        'Sec-WebSocket-Version: 13' \
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' '' >&3
    read -t 2 -r line <&3
    exec 3<&-
    [[ $line == *" 101 "* ]]
}

server_start() {
    local p i

    p=$(prefix "$1")
    server_stop "$1"
    : >"$p/logs/error.log"
    redis_start || { echo "redis-server does not start on $redis_port"; \
        return 1; }
    if ! "$nginx" -p "$p/" -c "conf/$1_100k.conf" \
            2>>"$p/logs/start.log"; then
        echo "nginx does not start: $(tail -n1 "$p/logs/start.log")"
        return 1
    fi
    for i in $(seq 100); do
        ws_ready && return 0
        sleep 0.1
    done
    echo "no WebSocket handshake answered on 127.0.0.1:$port"
    return 1
}

# rss MASTER: "rss_kb pss_kb procs" of the master and its workers
rss() {
    local pid r p n=0 rs=0 ps=0

    for pid in "$1" $(ps -o pid= --ppid "$1" 2>/dev/null); do
        r=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)
        p=$(awk '/^Pss:/ { print $2 }' "/proc/$pid/smaps_rollup" \
            2>/dev/null)
        [ -n "$r" ] || continue
        rs=$(( rs + r ))
        ps=$(( ps + ${p:-0} ))
        n=$(( n + 1 ))
    done
    echo "$rs $ps $n"
}

# sample MASTER FILE SECONDS: rss every second, at most SECONDS of them,
# and the server's status page (/status) in FILE.status
sample() {
    local i

    for i in $(seq "$3"); do
        echo "$(date +%s) $(rss "$1")" >>"$2"
        { echo "--- $(date +%s)"; curl -s -m 1 "http://127.0.0.1:$port/status"; } \
            >>"$2.status" 2>/dev/null
        sleep 1
    done
}

sampler_stop() {
    [ -n "$sampler" ] && kill "$sampler" 2>/dev/null
    [ -n "$sampler" ] && wait "$sampler" 2>/dev/null
    sampler=
}

cleanup() {
    local s kv

    sampler_stop
    for s in $servers; do
        server_stop "$s"
    done
    redis_stop
    for kv in "${restore[@]}"; do
        sysctl -q -w "$kv" && log "restored $kv"
    done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

make -s -C bench/wsbench OUT="$top/$out" CFLAGS="-O2 -g" || {
    log "wsbench does not build"
    exit 1
}
sendfloor_ok=0
cc -O2 -std=gnu99 -Wall -Wextra -Werror -o "$out/sendfloor" \
    bench/sendfloor.c && sendfloor_ok=1

sed -e "s/127\.0\.0\.1:8090/127.0.0.1:$port/" bench/scenarios/fanout-100k.conf \
    >"$out/scenarios/fanout-100k.conf"
duration=$(awk "BEGIN { print $waves + 0.5 }")

limits >"$res/limits.txt"
cat "$res/limits.txt" >&2

measured=()
for m in $servers; do
    if ! why=$(server_setup "$m"); then
        status[$m]="not measured: $why"
        log "$m: ${status[$m]}"
        continue
    fi
    status[$m]=measured
    measured+=("$m")
done

for r in $(seq "$runs"); do
    echo "run $r: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$res/load.txt"
    if [ $sendfloor_ok = 1 ]; then
        log "run $r: sendfloor $conns $floor_rounds 66 $workers"
        timeout 300 "$out/sendfloor" "$conns" "$floor_rounds" 66 "$workers" \
            >"$res/sendfloor-r$r.txt" 2>&1
    fi
    for m in "${measured[@]}"; do
        log "run $r: $m"
        sleep 2
        if ! why=$(server_start "$m"); then
            echo "$why" >"$res/$m-r$r.fail"
            log "$m: $why"
            server_stop "$m"
            redis_stop
            continue
        fi
        master=$(server_pid "$m")
        sleep 1
        echo "idle $(rss "$master")" >"$res/$m-r$r.rss"
        sample "$master" "$res/$m-r$r.samples" 200 &
        sampler=$!
        timeout 300 "$wsbench" -s "$out/scenarios/fanout-100k.conf" \
            --label="$m" --server_pidfile="$(prefix "$m")/logs/nginx.pid" \
            --connections="$conns" --duration="$duration" \
            --json="$res/$m-r$r.json" >"$res/$m-r$r.txt" 2>&1
        echo "wsbench exit $?" >>"$res/$m-r$r.txt"
        sampler_stop
        echo "end $(rss "$master")" >>"$res/$m-r$r.rss"
        server_stop "$m"
        redis_stop
        cp "$(prefix "$m")/logs/error.log" "$res/$m-r$r.error.log"
    done
done

elapsed=$(( $(date +%s) - t0 ))
commit=$(git rev-parse --short HEAD 2>/dev/null || echo '(no commit)')

{
    echo "# 100,000 connections: six workers in Redis mode, next to the" \
        "kernel's floor"
    echo
    echo "Written by \`make bench-100k\` (bench/run-100k.sh); see"
    echo "bench/README.md, \"100,000 connections\"."
    echo
    echo '```'
    echo "BENCH_PORT=$port BENCH_REDIS_PORT=$redis_port BENCH_RUNS=$runs" \
        "make bench-100k"
    echo "redis-server --port $redis_port --save '' --appendonly no" \
        "    # fresh for each server and run"
    for m in "${measured[@]}"; do
        echo "nginx -p $(prefix "$m")/ -c conf/${m}_100k.conf" \
            "    # bench/conf/${m}_100k.conf, fresh for each run"
    done
    echo "$wsbench -s bench/scenarios/fanout-100k.conf" \
        "--connections=$conns --duration=$duration --label=<server>" \
        "--server_pidfile=<its nginx.pid> --json=<server>-rN.json"
    echo "$out/sendfloor $conns $floor_rounds 66 $workers" \
        "    # at the start of each run"
    echo '```'
    echo
    echo "- date: $started, $elapsed s, $runs run(s) one after the other"
    echo "- machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo |
        cut -d: -f2 | sed 's/^ *//'), Linux $(uname -r)"
    echo "- load average at the start of each run: $(paste -sd';' \
        "$res/load.txt" | sed 's/;/; /g')"
    echo "- ws_perf: ngx_ws_perf_module $commit," \
        "${status[ws_perf]:-not asked for}"
    echo "- nchan: $(dpkg-query -W -f '${Version}' libnginx-mod-nchan \
        2>/dev/null || echo '?'), nchan_shared_memory_size $nchan_shm," \
        "${status[nchan]:-not asked for}"
    echo "- system limits:"
    sed 's/^/  /' "$res/limits.txt"
    echo
    python3 bench/table_100k.py "$res" "$runs" "$conns" "${measured[*]}"
} >"$res/RESULTS-100k.md"

[ -n "$results" ] || exit 0

cp "$res/RESULTS-100k.md" "$results"

{
    echo "<!-- hundred-k begin: written by bench/run-100k.sh -->"
    echo "## 100,000 connections"
    echo
    echo "\`make bench-100k\`: 100,000 subscribers on one channel, ws_perf"
    echo "and nchan with six workers in Redis mode, next to bench/sendfloor"
    echo "on as many sockets; $started, $runs run(s), load average at the"
    echo "start of each: $(paste -sd';' "$res/load.txt" | sed 's/;/; /g')."
    echo "Commands, limits, every wave and every output:"
    echo "[$(basename "$results")]($(basename "$results"))."
    echo
    python3 bench/table_100k.py "$res" "$runs" "$conns" "${measured[*]}" \
        summary | sed '/^## Medians/d'
    echo "<!-- hundred-k end -->"
} >"$res/hundred-k.md"

# only the part between the hundred-k markers of RESULTS.md changes
if [ -f bench/RESULTS.md ]; then
    awk -v blk="$res/hundred-k.md" '
        function put(  l) {
            while ((getline l < blk) > 0) print l
            done = 1
        }
        /^<!-- hundred-k begin/ { skip = 1; put(); next }
        /^<!-- hundred-k end/ { skip = 0; next }
        !skip && !done && /^## Every scenario as wsbench printed it/ {
            put(); print ""
        }
        !skip { print }
        END { if (!done) { print ""; put() } }
    ' bench/RESULTS.md >"$res/RESULTS.md.new" \
        && mv "$res/RESULTS.md.new" bench/RESULTS.md
fi

log "wrote $results and its part of bench/RESULTS.md in $elapsed s"
exit 0
