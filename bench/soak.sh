#!/usr/bin/env bash
# make soak: mixed traffic with faults against the ASan build, in Redis mode.
#
#   SOAK_MINUTES=30 SOAK_CONNECTIONS=10000 bench/soak.sh
#
# Starts redis-server (AOF, appendfsync always) and nginx with 4 workers
# under the ASan runtime, all under build/soak, on loopback.  Traffic:
# wsbench runs one after the other (channel fan-out with JSON envelopes for
# most connections, churn and slow readers for the rest, at once) and a
# ledger client (t/pubsub/reliable.py soak-ledger) for users whose
# messages need acks.  Every SOAK_FAULT_GAP seconds one fault, in turn: a
# redis restart, a reload, a worker killed with SIGKILL.  The workers' RSS
# is sampled every SOAK_SAMPLE seconds.  At the end it fails (exit 1) on a
# sanitizer report, a worker that exited on a signal other than our
# SIGKILLs, RSS more than 10% over its level after warm-up (the first
# round of faults; the mean of the samples of the second half of the rest
# against the first half's), or a ledger that does not balance.  Messages
# lost by plain pub/sub around a fault are counted, not failed on: plain
# pub/sub is at-most-once (docs/redis.md).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

MINUTES=${SOAK_MINUTES:-30}
CONNS=${SOAK_CONNECTIONS:-10000}
PORT=${SOAK_PORT:-8190}
REDIS_PORT=${SOAK_REDIS_PORT:-6395}
WORKERS=${SOAK_WORKERS:-4}
USERS=${SOAK_USERS:-200}
ACK_RATE=${SOAK_ACK_RATE:-20}
FANOUT_RATE=${SOAK_FANOUT_RATE:-50}
CHANNELS=${SOAK_CHANNELS:-100}
total=$((MINUTES * 60))
# three faults a round: a round every 3 minutes of a 30-minute run
GAP=${SOAK_FAULT_GAP:-$(( total / 30 < 15 ? 15 : total / 30 ))}
SAMPLE=${SOAK_SAMPLE:-$(( GAP < 60 ? GAP : 60 ))}
SEGMENT=${SOAK_SEGMENT:-$(( total / 15 < 40 ? 40 : total / 15 ))}
PY=/usr/bin/python3

dir=$top/build/soak
so=$top/build/asan/ngx_ws_perf_module.so
nginx_bin=${NGINX_BIN:-/usr/sbin/nginx}

bulk=$((CONNS * 8 / 10))
mix=$(((CONNS - bulk) / 2))

say() { echo "soak: $(date +%H:%M:%S) $*"; }

make -s asan
make -s -C bench/wsbench OUT="$dir" >/dev/null

rm -rf "$dir/nginx" "$dir/redis" "$dir/sanitizer" "$dir/runs" \
       "$dir"/*.log "$dir"/*.txt
mkdir -p "$dir/nginx/conf" "$dir/nginx/logs" "$dir/redis" \
         "$dir/sanitizer" "$dir/runs"

pids=()
cleanup() {
    set +e
    for p in "${pids[@]}"; do
        kill "$p" 2>/dev/null
    done
    if [ -f "$dir/nginx/logs/nginx.pid" ]; then
        kill -QUIT "$(cat "$dir/nginx/logs/nginx.pid")" 2>/dev/null
    fi
    redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1
}
trap cleanup EXIT

# ------------------------------------------------------------------ redis

redis_up() {
    [ "$(redis-cli -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ]
}

redis_start() {
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' \
        --appendonly yes --appendfsync always --daemonize yes \
        --dir "$dir/redis" --logfile "$dir/redis/redis.log" \
        --pidfile "$dir/redis/redis.pid"
    for _ in $(seq 100); do
        redis_up && return 0
        sleep 0.1
    done
    echo "soak: redis-server on $REDIS_PORT did not answer in 10 s" >&2
    return 1
}

redis_stop() {
    redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
    for _ in $(seq 100); do
        redis_up || return 0
        sleep 0.1
    done
    echo "soak: redis-server on $REDIS_PORT did not stop in 10 s" >&2
    return 1
}

if redis_up; then
    echo "soak: something answers on redis port $REDIS_PORT already" >&2
    exit 1
fi
redis_start

# ------------------------------------------------------------------ nginx

cat > "$dir/nginx-asan" <<END
#!/bin/sh
export LD_PRELOAD=$(gcc -print-file-name=libasan.so)
export ASAN_OPTIONS=log_path=$dir/sanitizer/asan:detect_leaks=0:handle_abort=1:quarantine_size_mb=16
export UBSAN_OPTIONS=log_path=$dir/sanitizer/ubsan:print_stacktrace=1
exec $nginx_bin "\$@"
END
chmod +x "$dir/nginx-asan"

cat > "$dir/nginx/conf/nginx.conf" <<END
load_module $so;

worker_processes      $WORKERS;
worker_rlimit_nofile  20000;
error_log             logs/error.log notice;
pid                   logs/nginx.pid;

events {
    worker_connections  19000;
}

http {
    access_log          off;
    keepalive_requests  1000000;

    ws_perf_redis             redis://127.0.0.1:$REDIS_PORT;
    ws_perf_redis_reconnect   50ms 500ms;
    ws_perf_offline_max       1000;
    ws_perf_ack_timeout       300ms;
    ws_perf_max_attempts      100;
    ws_perf_max_pending_acks  1000;

    server {
        listen  127.0.0.1:$PORT backlog=4096;

        location ~ ^/sub/(?<ch>[A-Za-z0-9_.-]+)\$ {
            ws_perf;
            ws_perf_channels  \$ch;
        }

        location ~ ^/pub/(?<ch>[A-Za-z0-9_.-]+)\$ {
            ws_perf_publish;
            ws_perf_channels  \$ch;
        }

        location /ws {
            ws_perf;
            ws_perf_user  \$arg_user;
        }

        location = /pub {
            ws_perf_publish;
        }

        location = /dlq {
            ws_perf_dlq;
        }
    }
}
END

"$dir/nginx-asan" -p "$dir/nginx/" -c conf/nginx.conf
pidfile=$dir/nginx/logs/nginx.pid
for _ in $(seq 100); do
    [ -s "$pidfile" ] && break
    sleep 0.1
done
master=$(cat "$pidfile")

# the workers that take connections (not those a reload is retiring)
workers() {
    local p c
    for p in $(pgrep -P "$master"); do
        c=$(tr -d '\0' < "/proc/$p/cmdline" 2>/dev/null || true)
        case "$c" in
        *"worker process") echo "$p" ;;
        esac
    done
}

rss_kb() {
    local p sum=0 kb
    for p in "$@"; do
        kb=$(awk '/^VmRSS:/ { print $2 }' "/proc/$p/status" 2>/dev/null)
        sum=$((sum + ${kb:-0}))
    done
    echo "$sum"
}

for _ in $(seq 100); do
    [ "$(workers | wc -l)" -eq "$WORKERS" ] && break
    sleep 0.1
done
for _ in $(seq 100); do
    curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/pub" \
        -d '{"channel":"probe","data":1}' | grep -q 202 && break
    sleep 0.1
done

say "nginx $master ($WORKERS workers, ASan), redis on $REDIS_PORT;" \
    "$MINUTES min, $CONNS connections, a fault every $GAP s," \
    "wsbench segments of $SEGMENT s"

start=$(date +%s)
end=$((start + total))

# ---------------------------------------------------------------- traffic

wsb() {
    # wsb NAME SECONDS key=value...: one wsbench run, its report in JSON
    local name=$1 secs=$2
    shift 2
    timeout $((secs + 120)) "$dir/wsbench" --quiet=1 --envelope=1 \
        --name="$name" --label=soak --ramp=2000 --drain=5 \
        --duration="$secs" --server_pidfile="$pidfile" \
        --json="$dir/runs/$name.json" "$@" \
        > "$dir/runs/$name.txt" 2>&1 || true
}

(
    seg=0
    while [ $(( $(date +%s) + 20 )) -lt "$end" ] && [ $seg -lt 1000 ]; do
        seg=$((seg + 1))
        t0=$(date +%s)
        left=$((end - $(date +%s) - 15))
        secs=$(( left < SEGMENT ? left : SEGMENT ))
        wsb "fanout-$seg" "$secs" --kind=endurance --sample=10 \
            --sub_url="ws://127.0.0.1:$PORT/sub/f{i%$CHANNELS}" \
            --pub_url="http://127.0.0.1:$PORT/pub/f{c}" \
            --connections="$bulk" --rate="$FANOUT_RATE" --payload=128 &
        wsb "churn-$seg" "$secs" --kind=churn \
            --sub_url="ws://127.0.0.1:$PORT/sub/c{i%20}" \
            --pub_url="http://127.0.0.1:$PORT/pub/c{c}" \
            --connections="$mix" --churn_rate=50 --churn_life_min=0.5 \
            --churn_life_max=3 --rate=20 --payload=256 &
        wsb "slow-$seg" "$secs" --kind=slow \
            --sub_url="ws://127.0.0.1:$PORT/sub/s{i%10}" \
            --pub_url="http://127.0.0.1:$PORT/pub/s{c}" \
            --connections="$mix" --slow_share=0.1 --rate=20 \
            --payload=2048 &
        wait
        # a run that could not start does not make this loop spin
        [ $(( $(date +%s) - t0 )) -ge 10 ] || sleep 10
    done
) &
pids+=($!)
traffic=$!

TEST_NGINX_REDIS_PORT=$REDIS_PORT TEST_NGINX_SERVER_ROOT=$dir/nginx \
    timeout $((total + 300)) $PY t/pubsub/reliable.py --port "$PORT" \
    soak-ledger users="$USERS" seconds=$((total - 30)) rate="$ACK_RATE" \
    drain=180 > "$dir/ledger.txt" 2> "$dir/ledger.log" &
ledger=$!
pids+=($ledger)

# ------------------------------------------------------ faults and samples

faults=0
redis_restarts=0
reloads=0
kills=0
: > "$dir/killed.txt"
: > "$dir/rss.txt"
# rounds of three faults; the RSS after warm-up is sampled SOAK_FAULT_GAP
# seconds after the first round's SIGKILL, the final one as long after the
# last round's: the same point of a round, the same traffic
rounds=$(( (total - 30 - GAP) / (3 * GAP) ))
if [ "$rounds" -lt 1 ]; then
    echo "soak: $MINUTES min leave no room for a round of faults" \
         "every $GAP s" >&2
    exit 1
fi
warm=""
final=""
warm_at=0
final_at=0
next_fault=$((start + GAP))
next_sample=$start

sample() {
    # sample LABEL: one line in rss.txt; sets rss
    local w now
    now=$(date +%s)
    w=$(workers | tr '\n' ' ')
    rss=$(rss_kb $w)
    mrss=$(rss_kb "$master")
    echo "$((now - start)) $rss $mrss $(echo $w | wc -w) $1" \
        >> "$dir/rss.txt"
    say "t=$((now - start))s workers' RSS ${rss} kB (master ${mrss} kB) $1"
}

fault() {
    case $((faults % 3)) in
    0)
        say "fault $((faults + 1)): redis restart"
        redis_stop && redis_start
        redis_restarts=$((redis_restarts + 1))
        ;;
    1)
        say "fault $((faults + 1)): reload"
        kill -HUP "$master"
        reloads=$((reloads + 1))
        ;;
    2)
        local w
        w=$(workers | awk 'NR == 1')
        if [ -n "$w" ]; then
            say "fault $((faults + 1)): kill -9 worker $w"
            echo "$w" >> "$dir/killed.txt"
            kill -9 "$w"
            kills=$((kills + 1))
        fi
        ;;
    esac
    faults=$((faults + 1))
}

while [ "$(date +%s)" -lt $((end - 30)) ] || [ -z "$final" ]; do
    now=$(date +%s)
    [ "$now" -lt $((end + 60)) ] || break
    if [ -z "$warm" ] && [ "$warm_at" -gt 0 ] && [ "$now" -ge "$warm_at" ]
    then
        sample warm-up
        warm=$rss
        warm_t=$((now - start))
    elif [ -z "$final" ] && [ "$final_at" -gt 0 ] \
         && [ "$now" -ge "$final_at" ]
    then
        sample final
        final=$rss
        final_t=$((now - start))
    elif [ "$now" -ge "$next_sample" ]; then
        sample ""
        next_sample=$((next_sample + SAMPLE))
    fi
    # after the samples: the warm-up one is due when the next round starts
    if [ "$now" -ge "$next_fault" ] && [ $faults -lt $((3 * rounds)) ]; then
        fault
        next_fault=$((next_fault + GAP))
        [ $faults = 3 ] && warm_at=$(( $(date +%s) + GAP ))
        [ $faults = $((3 * rounds)) ] && final_at=$(( $(date +%s) + GAP ))
    fi
    if ! kill -0 "$master" 2>/dev/null; then
        say "the nginx master is gone"
        break
    fi
    sleep 1
done

say "waiting for the traffic and the ledger to end"
wait "$traffic" || true
ledger_rc=0
wait "$ledger" || ledger_rc=$?
pids=()

kill -QUIT "$master" 2>/dev/null || true
for _ in $(seq 150); do
    kill -0 "$master" 2>/dev/null || break
    sleep 0.2
done

# ---------------------------------------------------------------- verdict

fail=0
echo
echo "soak summary ($MINUTES min, $CONNS connections, $WORKERS workers, ASan)"
echo "faults: $faults ($redis_restarts redis restarts, $reloads reloads," \
     "$kills workers killed)"

$PY - "$dir/runs" <<'END'
import glob, json, os, sys
t = {}
n = 0
for f in sorted(glob.glob(os.path.join(sys.argv[1], "*.json"))):
    try:
        s = json.load(open(f))["scenarios"][0]
    except (OSError, ValueError, KeyError, IndexError):
        print("wsbench: no report in %s" % f)
        continue
    n += 1
    for k, v in list(s["connections"].items()) + list(s["messages"].items()):
        if isinstance(v, (int, float)):
            t[k] = t.get(k, 0) + v
print("wsbench: %d runs; connections %d ok, %d failed, %d closed by the "
      "server; messages %d published, %d publish errors, %d received, "
      "%d lost, %d duplicated, %d foreign" % (
          n, t.get("ok", 0), t.get("failed", 0), t.get("server_closed", 0),
          t.get("published", 0), t.get("publish_errors", 0),
          t.get("received", 0), t.get("lost", 0), t.get("duplicated", 0),
          t.get("foreign", 0)))
END

echo "ledger:"
sed 's/^/  /' "$dir/ledger.txt"
if [ "$ledger_rc" != 0 ]; then
    echo "FAIL: the ledger client exited with $ledger_rc" \
         "(build/soak/ledger.log)"
    fail=1
fi

reports=$(ls -A "$dir/sanitizer" | wc -l)
echo "sanitizer reports: $reports"
if [ "$reports" != 0 ]; then
    head -n 40 "$dir"/sanitizer/* >&2
    fail=1
fi

log=$dir/nginx/logs/error.log
signals=$(grep -c 'exited on signal' "$log" || true)
ours=0
while read -r p; do
    [ -n "$p" ] || continue
    grep -q "process $p exited on signal 9" "$log" && ours=$((ours + 1))
done < "$dir/killed.txt"
echo "workers that exited on a signal: $signals ($ours of them our SIGKILLs)"
if [ "$signals" != "$ours" ] || [ "$ours" != "$kills" ]; then
    grep 'exited on signal' "$log" >&2 || true
    fail=1
fi
others=$(grep -cE '\[(alert|crit|emerg)\]' "$log" | tr -d ' ' || true)
echo "[alert], [crit], [emerg] lines: $others (the SIGKILLs give" \
     "$kills [alert])"
if [ "$(grep -E '\[(alert|crit|emerg)\]' "$log" \
       | grep -vc 'exited on signal 9')" != 0 ]
then
    grep -E '\[(alert|crit|emerg)\]' "$log" | grep -v 'exited on signal 9' \
        | head -n 20 >&2 || true
    fail=1
fi

echo "RSS samples (s, workers kB, master kB, workers):"
sed 's/^/  /' "$dir/rss.txt"
if [ -z "$warm" ] || [ -z "$final" ]; then
    echo "FAIL: no RSS sample after warm-up or at the end"
    fail=1
else
    pct=$($PY -c "print('%+.1f' % (($final - $warm) * 100.0 / $warm))")
    echo "RSS: after warm-up (t=${warm_t}s) $warm kB, at the end" \
         "(t=${final_t}s) $final kB: $pct%"
    # one sample swings by 20% with the traffic's phase (a reload's fresh
    # workers, the slow readers' queues): the mean of the first half
    # after warm-up is the level, the mean of the second half the end
    if ! $PY - "$dir/rss.txt" "$warm_t" "$final_t" <<'END'
import sys
rows = [l.split() for l in open(sys.argv[1])]
a, b = int(sys.argv[2]), int(sys.argv[3])
xs = [(int(r[0]), int(r[1])) for r in rows if a <= int(r[0]) <= b]
mid = (a + b) / 2
h1 = [v for t, v in xs if t < mid]
h2 = [v for t, v in xs if t >= mid]
m1, m2 = sum(h1) / len(h1), sum(h2) / len(h2)
print("RSS: mean of %d samples after warm-up %.0f kB, of the last %d "
      "%.0f kB: %+.1f%%" % (len(h1), m1, len(h2), m2,
                           (m2 - m1) * 100 / m1))
if m2 > m1 * 1.10:
    print("FAIL: RSS grew more than 10% after warm-up")
    sys.exit(1)
END
    then
        fail=1
    fi
fi

if [ $fail = 0 ]; then
    echo "soak: PASS"
else
    echo "soak: FAIL"
fi
exit $fail
