#!/usr/bin/env bash
# What one SPUBLISH costs Redis, in CPU (INFO cpu: used_cpu_sys +
# used_cpu_user) per command, on one redis-server, on the master of a
# one-shard cluster alone, and on that master with a replica (which Redis
# 7.0 to 7.4 send every sharded message over the cluster bus): pipelined
# 16 deep and not pipelined, no subscribers, redis-benchmark from 4
# clients.  Three redis-servers on 127.0.0.1, PORT to PORT+2, stopped at
# the end.  bench/MEASUREMENTS.md has a run.
#
#   bench/spublish_cost.sh [PORT] [REPEATS]    # 7611 2
set -uo pipefail

base=${1:-7611}
repeats=${2:-2}
dir=$(mktemp -d /tmp/spublish-cost-XXXXXX)
msg=$(printf 'x%.0s' $(seq 64))
one=$base
master=$((base + 1))
replica=$((base + 2))

stop() {
    local port

    for port in $one $master $replica; do
        redis-cli -p "$port" shutdown nosave >/dev/null 2>&1
    done
    rm -rf "$dir"
}

trap stop EXIT
trap 'exit 130' INT TERM

# start PORT [OPTION...]
start() {
    local port=$1 i

    shift
    mkdir -p "$dir/$port"
    redis-server --port "$port" --bind 127.0.0.1 --save '' \
        --appendonly no --daemonize yes --dir "$dir/$port" \
        --logfile "$dir/$port/redis.log" "$@" || exit 1
    for i in $(seq 50); do
        redis-cli -p "$port" ping >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "redis-server on 127.0.0.1:$port does not answer" >&2
    exit 1
}

cpu() {
    redis-cli -p "$1" info cpu | tr -d '\r' \
        | awk -F: '/^used_cpu_(sys|user):/ { s += $2 }
                   END { printf "%.6f", s }'
}

# measure LABEL PORT PIPELINE COMMANDS: CPU per command of PORT and of
# the replica's port
measure() {
    local a b a2 b2 rate

    a=$(cpu "$2")
    b=$(cpu $replica)
    rate=$(redis-benchmark -p "$2" -n "$4" -c 4 -P "$3" -q \
        SPUBLISH ch "$msg" 2>&1 | tr '\r' '\n' | grep -o '[0-9.]* requests' \
        | tail -n1 | cut -d' ' -f1)
    a2=$(cpu "$2")
    b2=$(cpu $replica)
    awk -v l="$1" -v p="$3" -v n="$4" -v r="$rate" -v a="$a" -v a2="$a2" \
        -v b="$b" -v b2="$b2" 'BEGIN {
            printf "%-22s -P %-2d %9.0f/s  server %6.2f us  replica" \
                " %5.2f us\n", l, p, r, (a2 - a) * 1e6 / n, (b2 - b) * 1e6 / n
        }'
}

start $one
start $master --cluster-enabled yes \
    --cluster-config-file "$dir/$master/nodes.conf"
start $replica --cluster-enabled yes \
    --cluster-config-file "$dir/$replica/nodes.conf"
redis-cli -p $master cluster addslotsrange 0 16383 >/dev/null
redis-cli -p $replica cluster meet 127.0.0.1 $master >/dev/null

rounds() {
    local r

    for r in $(seq "$repeats"); do
        measure "$1" "$2" 16 400000
        measure "$1" "$2" 1 100000
    done
}

sleep 2
echo "redis-server $(redis-server --version | grep -o 'v=[0-9.]*' \
    | cut -c3-), 64-byte messages, load average" \
    "$(cut -d' ' -f1-3 /proc/loadavg)"
rounds "one redis-server" $one
# the other node is a master without slots: in no shard, sent nothing
rounds "cluster, no replica" $master

redis-cli -p $replica cluster replicate \
    "$(redis-cli -p $master cluster myid)" >/dev/null
for i in $(seq 100); do
    redis-cli -p $replica info replication | tr -d '\r' \
        | grep -qx master_link_status:up && break
    sleep 0.1
done
rounds "cluster, one replica" $master
