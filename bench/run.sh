#!/usr/bin/env bash
# make bench: builds wsbench, runs the standard scenarios against
# ngx_ws_perf_module, against nchan (each a fresh nginx per scenario,
# prefix build/bench/<server>, 127.0.0.1:8090) and against floor, the
# minimal fan-out server of bench/floor.c, and writes bench/RESULTS.md.
#
#   BENCH_PORT=8190                    the servers' plain port (8090)
#   BENCH_TLS_PORT=8593                their TLS port (8493)
#   BENCH_REDIS_PORT=6593              the Redis-mode servers' redis-server
#                                      (6391)
#   BENCH_FLOOR_SCENARIOS="fanout"     the scenarios floor runs, of those
#                                      asked for (fan-out, many-channels)
#   BENCH_PEER=floor                   ws_perf next to floor alone,
#                                      BENCH_RUNS times on BENCH_SCENARIOS
#                                      (fanout many-channels-max); writes
#                                      the floor part of RESULTS.md only
#   BENCH_BASE=main~3                  ws_perf next to the module built
#                                      from that git revision (ws_perf_base,
#                                      the same conf), BENCH_RUNS times on
#                                      BENCH_SCENARIOS (fanout-10hz
#                                      many-channels-max), interleaved:
#                                      a change's effect, run against run;
#                                      prints the tables and writes
#                                      $res/base.md, RESULTS.md kept
#   BENCH_QUICK=1                      make bench-quick: ws_perf on
#                                      BENCH_QUICK_SCENARIOS, ws_perf_redis
#                                      on BENCH_QUICK_REDIS_SCENARIOS,
#                                      ws_perf_tls on ..._TLS_SCENARIOS and
#                                      ws_perf_deflate on
#                                      ..._DEFLATE_SCENARIOS, all at
#                                      BENCH_QUICK_DURATION seconds,
#                                      compared with bench/baseline.json
#                                      (BENCH_QUICK_TOLERANCE, 0.25, on
#                                      BENCH_QUICK_METRICS); exits 1 on a
#                                      regression, RESULTS.md kept;
#                                      BENCH_QUICK_DURATION=0 keeps the
#                                      scenarios' own (bench/README.md,
#                                      "Re-measuring the baseline")
#   BENCH_SCENARIOS="baseline fanout"  a subset (local mode)
#   BENCH_REDIS_SCENARIOS="fanout-redis"  a subset (Redis mode)
#   BENCH_DEFLATE_SCENARIOS="fanout-deflate"  a subset (deflate servers)
#   BENCH_SERVERS="nchan"              a subset of: ws_perf nchan floor
#                                      ws_perf_redis nchan_redis
#                                      ws_perf_deflate nchan_deflate
#   BENCH_SERVERS="ws_perf_tls nchan_tls"  a TLS run, on its own: each
#                                      server with wss:// subscribers
#                                      and its plain twin, BENCH_RUNS
#                                      times (default 3); writes
#                                      bench/RESULTS-tls.md and the
#                                      "Over TLS" part of RESULTS.md only
#   BENCH_TLS_SCENARIOS="fanout-tls"   a subset of the TLS scenarios
#   BENCH_SERVERS="ws_perf_2w nchan_2w"  two workers, no Redis, on its
#                                      own: each server next to its
#                                      one-worker twin, BENCH_RUNS times;
#                                      writes the "Two workers, no Redis"
#                                      part of RESULTS.md only
#   BENCH_2W_SCENARIOS="fanout"        a subset of its scenarios
#   BENCH_SERVERS="ws_perf_redis ws_perf_cluster"  one redis-server and
#                                      a 3-master Redis Cluster, on its
#                                      own, BENCH_RUNS times, with the
#                                      Redis CPU of every run; writes the
#                                      "One Redis and a Redis Cluster"
#                                      part of RESULTS.md only
#   BENCH_CLUSTER_SCENARIOS="many-channels"  a subset of its scenarios
#   BENCH_STRICT=1                     fail when ws_perf regressed against
#                                      bench/baseline.json
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1

nginx=${NGINX_BIN:-/usr/sbin/nginx}
out=build/bench
res=$out/results
wsbench=$out/wsbench
scenarios=${BENCH_SCENARIOS:-"baseline fanout many-channels stress spike
    endurance churn slow-consumer fanout-10hz fanout-max many-channels-max"}
redis_scenarios=${BENCH_REDIS_SCENARIOS:-"fanout-redis fanout-max"}
deflate_scenarios=${BENCH_DEFLATE_SCENARIOS:-"fanout-deflate
    many-channels-deflate"}
tls_scenarios=${BENCH_TLS_SCENARIOS:-"fanout-tls fanout-10hz-tls
    fanout-max-tls"}
w2_scenarios=${BENCH_2W_SCENARIOS:-"fanout many-channels fanout-10hz
    many-channels-max"}
cluster_scenarios=${BENCH_CLUSTER_SCENARIOS:-"many-channels-max
    many-channels many-channels-quiet"}
floor_scenarios=${BENCH_FLOOR_SCENARIOS:-"baseline fanout many-channels
    fanout-10hz fanout-max many-channels-max"}
quick=${BENCH_QUICK:-0}
quick_scenarios=${BENCH_QUICK_SCENARIOS:-"baseline fanout many-channels
    fanout-10hz fanout-max many-channels-max"}
quick_redis_scenarios=${BENCH_QUICK_REDIS_SCENARIOS:-"fanout-redis"}
quick_tls_scenarios=${BENCH_QUICK_TLS_SCENARIOS:-"fanout-tls"}
quick_deflate_scenarios=${BENCH_QUICK_DEFLATE_SCENARIOS:-"fanout-deflate"}
quick_duration=${BENCH_QUICK_DURATION:-4}
quick_tolerance=${BENCH_QUICK_TOLERANCE:-0.25}
# what a run of a few seconds measures well enough to compare: not the
# connect p99 (the ramp's noise) nor the RSS growth (minutes, not seconds)
quick_metrics=${BENCH_QUICK_METRICS:-"p99,deliveries,errors,memory,wire,grade"}
quick_load=$(cut -d' ' -f1-3 /proc/loadavg)
runs=${BENCH_RUNS:-3}
servers=${BENCH_SERVERS:-"ws_perf nchan floor ws_perf_redis nchan_redis
    ws_perf_deflate nchan_deflate"}
redis_port=${BENCH_REDIS_PORT:-6391}
port=${BENCH_PORT:-8090}
tls_port=${BENCH_TLS_PORT:-8493}
nchan_so=/usr/lib/nginx/modules/ngx_nchan_module.so
started=$(date -u '+%Y-%m-%d %H:%M:%S UTC')
t0=$(date +%s)

if [ $quick = 1 ]; then
    servers="ws_perf ws_perf_redis ws_perf_tls ws_perf_deflate"
    scenarios=$quick_scenarios
    redis_scenarios=$quick_redis_scenarios
    tls_scenarios=$quick_tls_scenarios
    deflate_scenarios=$quick_deflate_scenarios
fi

mkdir -p "$res" "$out/scenarios"
rm -f "$res"/*.json "$res"/*.txt

declare -A status tls_info

log() {
    echo "bench: $*" >&2
}

tls_run=0
w2_run=0
cluster_run=0
# bench-quick runs its TLS server on its own, with no plain twin
[ $quick = 1 ] && servers_of_runs= || servers_of_runs=$servers
for s in $servers_of_runs; do
    case $s in
    *_tls)     tls_run=1 ;;
    *_2w)      w2_run=1 ;;
    *_cluster) cluster_run=1 ;;
    esac
done

if [ $w2_run = 1 ]; then
    for s in $servers; do
        case $s in
        ws_perf_2w|nchan_2w) ;;
        *)
            log "a two-worker run takes two-worker servers only (their" \
                "one-worker twins come with them):" \
                "BENCH_SERVERS=\"ws_perf_2w nchan_2w\""
            exit 1
            ;;
        esac
    done
fi

if [ $tls_run = 1 ]; then
    for s in $servers; do
        case $s in
        ws_perf_tls|nchan_tls) ;;
        *)
            log "a TLS run takes TLS servers only (their plain twins come" \
                "with them): BENCH_SERVERS=\"ws_perf_tls nchan_tls\""
            exit 1
            ;;
        esac
    done
fi

# the scenarios of one server: Redis-mode and TLS servers have their own,
# in a TLS run a plain twin runs the TLS ones in the clear, and floor
# runs the fan-out and many-channels ones of the standard set
scenarios_of() {
    local sc

    case $1 in
    floor)
        for sc in $scenarios; do
            case " "$(echo $floor_scenarios)" " in
            *" $sc "*) echo "$sc" ;;
            esac
        done
        ;;
    *_redis)   echo $redis_scenarios ;;
    *_deflate) echo $deflate_scenarios ;;
    *_tls)     echo $tls_scenarios ;;
    *_2w)    echo $w2_scenarios ;;
    *)
        if [ $cluster_run = 1 ]; then
            echo $cluster_scenarios
        elif [ $w2_run = 1 ]; then
            echo $w2_scenarios
        elif [ $tls_run = 1 ]; then
            echo $tls_scenarios | sed 's/-tls\b//g'
        else
            echo $scenarios
        fi
        ;;
    esac
}

# a fresh redis-server for a Redis-mode server, a fresh cluster for a
# cluster-mode one (bench/run-cluster.sh), nothing for the others
redis_fresh() {
    local i

    redis_stop
    case $1 in
    *_redis)   ;;
    *_cluster) cluster_fresh; return ;;
    *)         return 0 ;;
    esac
    mkdir -p "$out/redis"
    if ! redis-server --port $redis_port --bind 127.0.0.1 --save '' \
            --appendonly no --daemonize yes --dir "$top/$out/redis" \
            --logfile "$top/$out/redis/redis.log" \
            --pidfile "$top/$out/redis/redis.pid"; then
        echo "redis-server does not start (apt-get install redis-server)"
        return 1
    fi
    for i in $(seq 50); do
        redis-cli -p $redis_port ping >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "redis-server does not answer on 127.0.0.1:$redis_port"
    return 1
}

redis_stop() {
    local i

    [ $cluster_run = 1 ] && cluster_stop
    redis-cli -p $redis_port shutdown nosave >/dev/null 2>&1 || return 0
    for i in $(seq 50); do
        redis-cli -p $redis_port ping >/dev/null 2>&1 || return 0
        sleep 0.1
    done
}

make -s -C bench/wsbench OUT="$top/$out" CFLAGS="-O2 -g" || {
    log "wsbench does not build"
    exit 1
}

# scenario NAME: its file with the servers' ports put in (the files say
# 8090 and 8493); BENCH_QUICK shortens it
scenario() {
    local f=$out/scenarios/$1.conf

    sed -e "s/127\.0\.0\.1:8090/127.0.0.1:$port/g" \
        -e "s/127\.0\.0\.1:8493/127.0.0.1:$tls_port/g" \
        -e "s/127\.0\.0\.1:6391/127.0.0.1:$redis_port/g" \
        "bench/scenarios/$1.conf" >"$f"
    if [ $quick = 1 ] && [ "$quick_duration" != 0 ]; then
        echo "duration = $quick_duration" >>"$f"
    fi
    echo "$f"
}

# the file a server's pid is in (floor is not an nginx)
pidfile() {
    case $1 in
    floor) echo "$out/floor/logs/floor.pid" ;;
    *)     echo "$out/$1/logs/nginx.pid" ;;
    esac
}

# server_setup NAME: the prefix, its conf, the module; prints why not
server_setup() {
    local name=$1 prefix=$out/$1

    mkdir -p "$prefix/conf" "$prefix/logs" "$prefix/modules"

    if [ "$name" = floor ]; then
        if ! make -s -C bench/wsbench OUT="$top/$out" CFLAGS="-O2 -g" \
                floor >"$prefix/logs/build.log" 2>&1; then
            echo "bench/floor.c does not build (see $prefix/logs/build.log)"
            return 1
        fi
        return 0
    fi

    sed -e "s/127\.0\.0\.1:8090/127.0.0.1:$port/g" \
        -e "s/127\.0\.0\.1:8493/127.0.0.1:$tls_port/g" \
        -e "s/127\.0\.0\.1:6391/127.0.0.1:$redis_port/g" \
        "bench/conf/${name%_base}.conf" >"$prefix/conf/$name.conf"

    case $name in
    *_tls)
        # the same self-signed ECDSA P-256 certificate kind for both servers
        if ! openssl req -x509 -newkey ec \
                -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
                -subj /CN=127.0.0.1 -keyout "$prefix/conf/bench.key" \
                -out "$prefix/conf/bench.crt" >"$prefix/logs/cert.log" 2>&1
        then
            echo "openssl does not make a certificate" \
                "(see $prefix/logs/cert.log)"
            return 1
        fi
        ;;
    esac

    case $name in
    ws_perf|ws_perf_redis|ws_perf_tls|ws_perf_2w|ws_perf_cluster\
    |ws_perf_deflate)
        if ! make -s BUILD="${BUILD:-build}" all \
                >"$prefix/logs/build.log" 2>&1; then
            echo "the module does not build (see $prefix/logs/build.log)"
            return 1
        fi
        case ${BUILD:-build} in
        /*) so=$BUILD/ngx_ws_perf_module.so ;;
        *)  so=$top/${BUILD:-build}/ngx_ws_perf_module.so ;;
        esac
        ln -sf "$so" "$prefix/modules/"
        ;;
    ws_perf_base)
        # the module of another revision, built from its own tree
        rm -rf "$prefix/src" && mkdir -p "$prefix/src"
        if ! git archive "$BENCH_BASE" | tar -x -C "$prefix/src" \
                || ! make -s -C "$prefix/src" BUILD="$top/$prefix/build" \
                all >"$prefix/logs/build.log" 2>&1; then
            echo "the module of $BENCH_BASE does not build" \
                "(see $prefix/logs/build.log)"
            return 1
        fi
        ln -sf "$top/$prefix/build/ngx_ws_perf_module.so" "$prefix/modules/"
        ;;
    nchan|nchan_redis|nchan_tls|nchan_2w|nchan_deflate)
        if [ ! -f "$nchan_so" ]; then
            echo "nchan is not installed (apt-get install libnginx-mod-nchan)"
            return 1
        fi
        ;;
    esac

    if ! "$nginx" -p "$prefix/" -c "conf/$name.conf" -t \
            >"$prefix/logs/test.log" 2>&1; then
        echo "nginx -t fails: $(grep -m1 emerg "$prefix/logs/test.log")"
        return 1
    fi
}

server_stop() {
    local prefix=$out/$1 pid i pf

    pf=$(pidfile "$1")
    pid=$(cat "$pf" 2>/dev/null) || return 0
    if [ "$1" = floor ]; then
        kill -TERM "$pid" 2>/dev/null
    else
        "$nginx" -p "$prefix/" -c "conf/$1.conf" -s quit 2>/dev/null
    fi
    for i in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null
    rm -f "$pf"
    return 0
}

server_start() {
    local prefix=$out/$1 i

    server_stop "$1"
    redis_fresh "$1" || return 1
    if [ "$1" = floor ]; then
        # its counts (subscribers dropped on a full socket) go to floor.log
        "$out/floor-server" "127.0.0.1:$port" "$(pidfile floor)" \
            >>"$prefix/logs/floor.log" 2>&1 </dev/null &
    elif ! "$nginx" -p "$prefix/" -c "conf/$1.conf" \
            2>>"$prefix/logs/start.log"; then
        echo "nginx does not start: $(tail -n1 "$prefix/logs/start.log")"
        return 1
    fi
    for i in $(seq 100); do
        ws_ready && return 0
        sleep 0.1
    done
    echo "$1 does not answer a WebSocket handshake on 127.0.0.1:$port"
    return 1
}

# a subscriber's handshake is answered 101 (a Redis-mode server may need
# its Redis connections first)
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

# a few messages to a few subscribers: is pub/sub there at all?
server_probe() {
    local sub=ws://127.0.0.1:$port

    case $1 in *_tls) sub=wss://127.0.0.1:$tls_port ;; esac

    "$wsbench" --name=probe --label="$1" --connections=4 --channels=2 \
        --rate=20 --duration=1 --drain=1 --quiet=1 \
        --sub_url="$sub/sub/probe{c}" \
        --pub_url="http://127.0.0.1:$port/pub/probe{c}" \
        --json="$res/$1-probe.json" >"$res/$1-probe.txt" 2>&1
    if ! grep -q '"received": [1-9]' "$res/$1-probe.json" 2>/dev/null; then
        echo "pub/sub answers nothing: $(grep -m1 -E 'error|status' \
            "$res/$1-probe.txt" | sed 's/^ *//')," \
            "last publish status $(grep -o '"last_status": [0-9]*' \
            "$res/$1-probe.json" 2>/dev/null | cut -d' ' -f2)"
        return 1
    fi
}

# Twin runs (TLS, two workers): every server of $servers comes with its
# twin, the same name without SUFFIX (ws_perf_tls and ws_perf), so that
# every ratio is from one run on one machine state.  twins_setup SUFFIX
# [PROBE] checks each and fills measured (PROBE NAME runs while it is up);
# twins_run SCENARIOS LOADFILE runs the whole set $runs times, interleaved
# (run 1 of everything, then run 2, ...), into <server>-<sc>-r<run>.json.
measured=()

# the scenario a server of a twin run runs: a plain twin drops "-tls"
twin_scenario() {
    case $1 in
    *_tls) echo "$2" ;;
    *)     echo "${2%-tls}" ;;
    esac
}

twins_setup() {
    local s m

    for s in $servers; do
        for m in "$s" "${s%$1}"; do
            if ! why=$(server_setup "$m") || ! why=$(server_start "$m") \
                    || ! why=$(server_probe "$m"); then
                status[$m]="not measured: $why"
                log "$m: ${status[$m]}"
                server_stop "$m"
                continue
            fi
            [ -n "${2:-}" ] && "$2" "$m"
            server_stop "$m"
            status[$m]=measured
            measured+=("$m")
        done
    done
}

twins_run() {
    local r sc m msc i order

    : >"$res/$2"

    for r in $(seq "$runs"); do
        echo "run $r: load average $(cut -d' ' -f1-3 /proc/loadavg) at" \
            "$(date -u '+%H:%M:%S UTC')" >>"$res/$2"
        # a twin run may measure something before each run
        if declare -F twin_run_start >/dev/null; then
            twin_run_start "$r"
        fi

        # every other run the other way round: no server always goes first
        order=()
        for i in "${!measured[@]}"; do
            if [ $((r % 2)) = 1 ]; then
                order+=("${measured[i]}")
            else
                order=("${measured[i]}" "${order[@]}")
            fi
        done

        for sc in $1; do
            for m in "${order[@]}"; do
                msc=$(twin_scenario "$m" "$sc")

                if ! why=$(server_start "$m"); then
                    log "$m $msc run $r: $why"
                    continue
                fi
                # a twin run may read its servers first
                if declare -F twin_before >/dev/null; then
                    twin_before "$m" "$msc" "$r"
                fi

                log "$m: $msc, run $r of $runs"
                "$wsbench" -s "$(scenario "$msc")" --label="$m" \
                    --quiet=1 --server_pidfile="$(pidfile "$m")" \
                    --json="$res/$m-$msc-r$r.json" \
                    >"$res/$m-$msc-r$r.txt" 2>&1
                grep '^==' "$res/$m-$msc-r$r.txt" >&2
                # a twin run may read the server before it stops
                if declare -F twin_after >/dev/null; then
                    twin_after "$m" "$msc" "$r"
                fi
                server_stop "$m"
            done
        done
    done
}

# this machine, as the results name it
machine() {
    echo "$(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo \
        | cut -d: -f2 | sed 's/^ //'), $(awk '/MemTotal/ {printf "%.0f GB", \
        $2 / 1048576}' /proc/meminfo) RAM, Linux $(uname -r)"
}

# the load of every run start, and a warning when the machine was busy
twins_load() {
    sed 's/^/- /' "$res/$1"
    if awk '$5 > 1.5 { busy = 1 } END { exit !busy }' "$res/$1"; then
        echo "- the machine was busy with other work (a 1-minute load above" \
            "1.5 when a run started): these numbers are noisier than a" \
            "quiet machine's and not comparable with a quiet run's;" \
            "the runs are interleaved so that every server met the same" \
            "noise, and the medians damp it"
    fi
}

# every scenario of every run as wsbench printed it
twins_outputs() {
    local r sc m msc

    for r in $(seq "$runs"); do
        for sc in $1; do
            for m in "${measured[@]}"; do
                msc=$(twin_scenario "$m" "$sc")
                [ -f "$res/$m-$msc-r$r.txt" ] || continue
                echo
                echo '```'
                echo "# run $r"
                sed '/^$/d' "$res/$m-$msc-r$r.txt"
                echo '```'
            done
        done
    done
}

# results_part NAME FILE: only the part of RESULTS.md between the NAME
# markers changes; a file without one gets it before the scenario
# outputs (or at its end)
results_part() {
    if [ -f bench/RESULTS.md ]; then
        awk -v blk="$2" -v name="$1" '
            function put(  l) {
                while ((getline l < blk) > 0) print l
                done = 1
            }
            $0 ~ "^<!-- " name " begin" { skip = 1; put(); next }
            $0 ~ "^<!-- " name " end" { skip = 0; next }
            !skip && !done && /^## Every scenario as wsbench printed it/ {
                put(); print ""
            }
            !skip { print }
            END { if (!done) { print ""; put() } }
        ' bench/RESULTS.md >"$res/RESULTS.md.new" \
            && mv "$res/RESULTS.md.new" bench/RESULTS.md
    else
        cp "$2" bench/RESULTS.md
    fi
}

if [ $tls_run = 1 ]; then
    . bench/run-tls.sh
    exit $?
fi

if [ $w2_run = 1 ]; then
    . bench/run-2w.sh
    exit $?
fi

if [ $cluster_run = 1 ]; then
    . bench/run-cluster.sh
    exit $?
fi

if [ -n "${BENCH_BASE:-}" ]; then
    . bench/run-base.sh
    exit $?
fi

if [ "${BENCH_PEER:-}" = floor ]; then
    . bench/run-floor.sh
    exit $?
fi

# the kernel's own cost of one small send to each of 10,000 loopback
# connections, measured before any server runs: the floor under every
# fan-out latency below
sendfloor="not measured"
if [ $quick = 1 ]; then
    sendfloor="not run (bench-quick)"
elif cc -O2 -std=gnu99 -Wall -Wextra -Werror -o "$out/sendfloor" \
        bench/sendfloor.c; then
    sendfloor=$(for i in 1 2 3; do "$out/sendfloor" 10000 20 66; done 2>&1)
else
    log "sendfloor does not build"
fi

for s in $servers; do
    if ! why=$(server_setup "$s") || ! why=$(server_start "$s") \
            || ! why=$(server_probe "$s"); then
        status[$s]="not measured: $why"
        log "$s: ${status[$s]}"
        server_stop "$s"
        continue
    fi
    server_stop "$s"
    status[$s]=measured

    for sc in $(scenarios_of "$s"); do
        if ! why=$(server_start "$s"); then
            log "$s $sc: $why"
            continue
        fi
        log "$s: $sc"
        "$wsbench" -s "$(scenario "$sc")" --label="$s" --quiet=1 \
            --server_pidfile="$(pidfile "$s")" \
            --json="$res/$s-$sc.json" >"$res/$s-$sc.txt" 2>&1
        grep '^==' "$res/$s-$sc.txt" >&2
        server_stop "$s"
        if [ "$s" = floor ]; then
            tail -n1 "$out/floor/logs/floor.log" >>"$res/$s-$sc.txt"
        fi
    done

    files=()
    for sc in $(scenarios_of "$s"); do
        [ -f "$res/$s-$sc.json" ] && files+=("$res/$s-$sc.json")
    done
    [ ${#files[@]} -gt 0 ] && "$wsbench" merge "$res/$s.json" "${files[@]}"
done

redis_stop

# every ws_perf server's results in one file, compared with the baseline
# entries of the same labels (ws_perf, ws_perf_redis, ...)
files=()
labels=
for s in $servers; do
    case $s in
    ws_perf|ws_perf_*)
        if [ -f "$res/$s.json" ]; then
            files+=("$res/$s.json")
            labels=${labels:+$labels,}$s
        fi
        ;;
    esac
done
rm -f "$res/ws_perf-all.json"
[ ${#files[@]} -gt 0 ] && "$wsbench" merge "$res/ws_perf-all.json" "${files[@]}"

compare="not run"
rc=0
if [ $quick = 1 ]; then
    # make bench-quick: the comparison is the result, RESULTS.md stays
    for s in $servers; do
        [ -f "$res/$s.json" ] && continue
        log "quick: $s was not measured: ${status[$s]:-}"
        exit 2
    done
    "$wsbench" compare --subset --tolerance="$quick_tolerance" \
        --metrics="$quick_metrics" bench/baseline.json \
        "$res/ws_perf-all.json" | tee "$res/compare.txt"
    rc=${PIPESTATUS[0]}
    log "quick: $(( $(date +%s) - t0 )) s, load average $quick_load at the" \
        "start; $(tail -n1 "$res/compare.txt")"
    if [ $rc = 1 ] && awk '{ exit !($1 > 1.5) }' <<<"$quick_load"; then
        log "quick: the machine was busy with other work (load above 1.5):" \
            "run it again before trusting a regression"
    fi
    exit $rc
fi

if [ -f "$res/ws_perf-all.json" ] && [ -f bench/baseline.json ]; then
    # a run of some scenarios is compared on those
    "$wsbench" compare ${BENCH_SCENARIOS:+--subset} --labels="$labels" \
        bench/baseline.json "$res/ws_perf-all.json" >"$res/compare.txt" 2>&1
    rc=$?
    compare=$(tail -n1 "$res/compare.txt")
fi

elapsed=$(( $(date +%s) - t0 ))

# the "Over TLS", "Two workers", "Redis Cluster" and "100,000
# connections" parts come from their own runs (bench/run-tls.sh,
# bench/run-2w.sh, bench/run-cluster.sh, bench/run-100k.sh): kept as they
# are
keep_part() {
    awk "/^<!-- $1 begin/,/^<!-- $1 end/" bench/RESULTS.md \
        >"$res/$1.md" 2>/dev/null
    if [ ! -s "$res/$1.md" ]; then
        {
            echo "<!-- $1 begin: written by $2 runs of bench/run.sh -->"
            echo "## $3"
            echo
            echo "Not measured yet: \`${5:-BENCH_SERVERS=\"$4\" make bench}\`" \
                "writes this part."
            echo "<!-- $1 end -->"
        } >"$res/$1.md"
    fi
}

keep_part over-tls TLS "Over TLS" "ws_perf_tls nchan_tls"
keep_part two-workers two-worker "Two workers, no Redis" "ws_perf_2w nchan_2w"
keep_part floor-peer floor "The limit as a peer: ws_perf next to floor" \
    "ws_perf floor\" BENCH_SCENARIOS=\"fanout many-channels-max"
keep_part redis-cluster cluster "One Redis and a Redis Cluster" \
    "ws_perf_redis ws_perf_cluster"
keep_part hundred-k bench-100k "100,000 connections" "" "make bench-100k"

{
    echo "# Benchmark results"
    echo
    echo "Written by \`make bench\` (bench/run.sh); how to read it:" \
        "bench/README.md."
    echo
    echo "- date: $started, $elapsed s"
    echo "- machine: $(machine), fd limit $(ulimit -Hn) a process"
    echo "- load average when it started: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "- nginx: $("$nginx" -v 2>&1 | sed 's/nginx version: //')," \
        "worker_processes 1, in Redis mode 2 (bench/conf/*.conf); redis-server" \
        "$(redis-server --version 2>/dev/null | grep -o 'v=[0-9.]*' | cut -c3-)"
    echo "- ws_perf: ngx_ws_perf_module $(git rev-parse --short HEAD \
        2>/dev/null || echo '(no commit)')$(git diff --quiet HEAD -- \
        ngx_ws_perf_module 2>/dev/null || echo ' plus uncommitted changes'):" \
        "${status[ws_perf]:-not asked for}"
    echo "- nchan: $(dpkg-query -W -f='libnginx-mod-nchan ${Version}' \
        libnginx-mod-nchan 2>/dev/null || echo 'not installed'):" \
        "${status[nchan]:-not asked for}"
    echo "- regression check against bench/baseline.json: $compare"
    echo "- measured by hand, not by this script (metrics overhead, Redis"
    echo "  restarts, scheduled delivery, lz4): bench/MEASUREMENTS.md"
    echo "- the chat scenarios (rooms, users, acks, resume; the seed's table"
    echo "  and ten times it): bench/RESULTS-chat.md, by make bench-chat"
    echo
    echo "## Commands"
    echo
    echo '```'
    echo "make bench"
    [ "$port" != 8090 ] && echo "(bench/scenarios/*.conf with port $port:" \
        "$out/scenarios/*.conf)"
    for s in $servers; do
        if [ "$s" = floor ]; then
            echo "make -C bench/wsbench OUT=$out floor"
            echo "$out/floor-server 127.0.0.1:$port $(pidfile floor)" \
                "   # fresh for each scenario"
        else
            echo "nginx -p $out/$s/ -c conf/$s.conf    # fresh for each" \
                "scenario"
        fi
        for sc in $(scenarios_of "$s"); do
            echo "$wsbench -s bench/scenarios/$sc.conf --label=$s" \
                "--quiet=1 --server_pidfile=$(pidfile "$s")" \
                "--json=$res/$s-$sc.json"
        done
    done
    echo "$wsbench merge $res/ws_perf-all.json $res/{$labels}.json"
    echo "$wsbench compare ${BENCH_SCENARIOS:+--subset }--labels=$labels" \
        "bench/baseline.json $res/ws_perf-all.json"
    echo '```'
    echo
    echo "## The kernel's floor"
    echo
    echo "bench/sendfloor.c, three runs before the servers: one 66-byte"
    echo "\`send()\` to each of 10,000 loopback TCP connections a round, a"
    echo "reader on epoll at the other ends, no server involved.  On"
    echo "loopback the receiver's half of TCP runs inside the sender's"
    echo "\`send()\`, so a 10,000-subscriber fan-out from one thread takes at"
    echo "least a round, whatever the server does around it."
    echo
    echo '```'
    echo "$sendfloor"
    echo '```'
    echo
    echo "## ws_perf next to nchan and to floor"
    echo
    echo "floor is bench/floor.c: one thread, one \`send()\` per subscriber"
    echo "and nothing else (a subscriber whose socket is full is dropped, and"
    echo "shows as lost messages and a connection closed by the server; its"
    echo "counts close each of its outputs below).  It runs the fan-out and"
    echo "many-channels scenarios: \`ws_perf / floor\` is how far the module is"
    echo "from what the kernel allows with the same load tool."
    echo
    if [ -f "$res/nchan.json" ] && [ -f "$res/floor.json" ]; then
        "$wsbench" markdown "$res/ws_perf.json" ws_perf "$res/nchan.json" \
            nchan "$res/floor.json" floor
    elif [ -f "$res/nchan.json" ]; then
        "$wsbench" markdown "$res/ws_perf.json" ws_perf "$res/nchan.json" nchan
    elif [ -f "$res/floor.json" ]; then
        "$wsbench" markdown "$res/ws_perf.json" ws_perf "$res/floor.json" floor
    elif [ -f "$res/ws_perf.json" ]; then
        "$wsbench" markdown /dev/null nchan "$res/ws_perf.json" ws_perf
    else
        echo "Nothing was measured."
    fi
    echo
    echo "## Redis mode: ws_perf next to nchan, two workers each"
    echo
    if [ -f "$res/ws_perf_redis.json" ] && [ -f "$res/nchan_redis.json" ]; then
        "$wsbench" markdown "$res/ws_perf_redis.json" ws_perf_redis \
            "$res/nchan_redis.json" nchan_redis
    elif [ -f "$res/ws_perf_redis.json" ]; then
        "$wsbench" markdown /dev/null nchan_redis "$res/ws_perf_redis.json" \
            ws_perf_redis
    else
        echo "Not measured."
    fi
    echo
    echo "## permessage-deflate: ws_perf next to nchan"
    echo
    echo "Chat-like JSON text (payload_text), every subscriber offering the"
    echo "extension; \"wire bytes/message\" is what a subscriber read per"
    echo "message, frame headers included, \"inflated\" the payload after"
    echo "inflating (bench/README.md, \"bytes\")."
    echo
    if [ -f "$res/ws_perf_deflate.json" ] && [ -f "$res/nchan_deflate.json" ]
    then
        "$wsbench" markdown "$res/ws_perf_deflate.json" ws_perf_deflate \
            "$res/nchan_deflate.json" nchan_deflate
    elif [ -f "$res/ws_perf_deflate.json" ]; then
        "$wsbench" markdown /dev/null nchan_deflate \
            "$res/ws_perf_deflate.json" ws_perf_deflate
    else
        echo "Not measured."
    fi
    echo
    cat "$res/floor-peer.md"
    echo
    cat "$res/two-workers.md"
    echo
    cat "$res/over-tls.md"
    echo
    cat "$res/redis-cluster.md"
    echo
    cat "$res/hundred-k.md"
    echo
    echo "## Every scenario as wsbench printed it"
    for s in $servers; do
        for sc in $(scenarios_of "$s"); do
            [ -f "$res/$s-$sc.txt" ] || continue
            echo
            echo '```'
            sed '/^$/d' "$res/$s-$sc.txt"
            echo '```'
        done
    done
} > bench/RESULTS.md

log "wrote bench/RESULTS.md in $elapsed s; regression check: $compare"

if [ "${BENCH_STRICT:-0}" = 1 ] && [ $rc -ne 0 ]; then
    exit 1
fi
exit 0
