# The Redis Cluster run of make bench, sourced by bench/run.sh when
# BENCH_SERVERS="ws_perf_redis ws_perf_cluster": ws_perf with two workers
# on one redis-server (127.0.0.1:6391) next to the same nginx on a cluster
# of three masters with a replica each (127.0.0.1:7601-7606), both fresh
# for every scenario run.  The whole set runs $runs times, interleaved,
# and the tables quote medians.  Around every run it reads INFO cpu of
# every redis-server: 5 s idle before the scenario, then the scenario,
# so that the Redis CPU a publish costs is known.  It writes the part of
# bench/RESULTS.md between the redis-cluster markers, nothing else.

cluster_base=${BENCH_CLUSTER_PORT:-7601}
cluster_ports=$(seq "$cluster_base" $((cluster_base + 5)))
cluster_dir=$top/$out/cluster
idle_s=5

for s in $servers; do
    case $s in
    ws_perf_redis|ws_perf_cluster) ;;
    *)
        log "a cluster run takes ws_perf_redis and ws_perf_cluster only:" \
            "BENCH_SERVERS=\"ws_perf_redis ws_perf_cluster\""
        exit 1
        ;;
    esac
done

cluster_stop() {
    local port pid i

    for port in $cluster_ports; do
        redis-cli -p "$port" shutdown nosave >/dev/null 2>&1
    done

    for port in $cluster_ports; do
        pid=$(cat "$cluster_dir/$port/redis.pid" 2>/dev/null) || continue
        for i in $(seq 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null
        rm -f "$cluster_dir/$port/redis.pid"
    done
    return 0
}

# cluster_wait PORT LINE COMMAND...: until the node's answer to COMMAND
# has LINE, 10 s at most
cluster_wait() {
    local port=$1 line=$2 i

    shift 2
    for i in $(seq 100); do
        redis-cli -p "$port" "$@" 2>/dev/null | tr -d '\r' \
            | grep -qx "$line" && return 0
        sleep 0.1
    done
    echo "redis-server on 127.0.0.1:$port never said $line to $*"
    return 1
}

# a new cluster as an operator makes one (t/lib/WsPerf/Cluster.pm), but
# kept in memory only, like the bench's single redis-server
cluster_fresh() {
    local port i

    cluster_stop
    rm -rf "$cluster_dir"

    for port in $cluster_ports; do
        mkdir -p "$cluster_dir/$port"
        if ! redis-server --port "$port" --bind 127.0.0.1 \
                --cluster-enabled yes --cluster-node-timeout 5000 \
                --cluster-config-file "$cluster_dir/$port/nodes.conf" \
                --save '' --appendonly no --daemonize yes \
                --dir "$cluster_dir/$port" \
                --logfile "$cluster_dir/$port/redis.log" \
                --pidfile "$cluster_dir/$port/redis.pid"; then
            echo "redis-server does not start on 127.0.0.1:$port"
            return 1
        fi
    done

    for port in $cluster_ports; do
        for i in $(seq 50); do
            redis-cli -p "$port" ping >/dev/null 2>&1 && break
            sleep 0.1
        done
    done

    if ! redis-cli --cluster create $(printf '127.0.0.1:%s ' $cluster_ports) \
            --cluster-replicas 1 --cluster-yes \
            >"$cluster_dir/create.log" 2>&1; then
        echo "redis-cli --cluster create fails (see $cluster_dir/create.log)"
        return 1
    fi

    for port in $cluster_ports; do
        cluster_wait "$port" cluster_state:ok cluster info || return 1
    done

    # no full resynchronisation may fall into a measured run
    for port in $(cluster_nodes slave); do
        cluster_wait "$port" master_link_status:up info replication \
            || return 1
        cluster_wait "$port" master_sync_in_progress:0 info replication \
            || return 1
    done
}

# cluster_nodes master|slave: the ports of the cluster's nodes in that role
cluster_nodes() {
    local port

    for port in $cluster_ports; do
        [ "$(redis-cli -p "$port" role 2>/dev/null | head -n1)" = "$1" ] \
            && echo "$port"
    done
}

# redis_cpu SERVER PHASE FILE: the time and, for every redis-server of
# SERVER, its role and used_cpu_sys + used_cpu_user, a line each
redis_cpu() {
    local port role now cpu nodes

    now=$(date +%s.%N)
    case $1 in
    *_cluster) nodes=$cluster_ports ;;
    *)         nodes=$redis_port ;;
    esac

    for port in $nodes; do
        role=$(redis-cli -p "$port" role 2>/dev/null | head -n1)
        cpu=$(redis-cli -p "$port" info cpu 2>/dev/null | tr -d '\r' \
            | awk -F: '/^used_cpu_(sys|user):/ { s += $2 }
                       END { printf "%.6f", s }')
        echo "$2 $port ${role:-none} $now $cpu"
    done >>"$3"
}

# twins_run calls these around every scenario run: idle, then measured
twin_before() {
    local f=$res/$1-$2-r$3.redis.txt

    : >"$f"
    redis_cpu "$1" idle "$f"
    sleep $idle_s
    redis_cpu "$1" start "$f"
}

twin_after() {
    redis_cpu "$1" end "$res/$1-$2-r$3.redis.txt"
}

# which master serves how many of the module's shards: shard N's keys
# carry the hash tag {N}, so its slot is CLUSTER KEYSLOT {N}
cluster_shards() {
    local n s slots

    n=$(grep -o 'shards=[0-9]*' bench/conf/ws_perf_cluster.conf | cut -d= -f2)
    slots=$(for s in $(seq 0 $((n - 1))); do
        redis-cli -p "$cluster_base" cluster keyslot "{$s}"
    done | tr -d '\r' | tr '\n' ' ')

    redis-cli -p "$cluster_base" cluster nodes 2>/dev/null | tr -d '\r' \
        | awk -v slots="$slots" '
            BEGIN { n = split(slots, k, " ") }
            $3 ~ /master/ {
                split($2, a, "[:@]")
                c = 0
                for (i = 9; i <= NF; i++) {
                    if (split($i, r, "-") == 1) r[2] = r[1]
                    for (j = 1; j <= n; j++)
                        if (k[j] >= r[1] + 0 && k[j] <= r[2] + 0) c++
                }
                m[a[2]] = c
            }
            END {
                for (p in m) printf "%d on %s\n", m[p], p
            }' | sort -t' ' -k3 | paste -sd, | sed 's/,/, /g'
}

# what the tables can and cannot say: the same whatever the numbers
reading() {
    cat <<'END'
### What this machine can show, and what it cannot

- Everything shares 2 cores: the two nginx workers, wsbench's
  subscribers and publisher, and Redis: one redis-server, or three
  masters and three replicas.  A cluster spreads Redis's work over more
  processes; it does not bring cores.  Here it can only cost more, never
  carry more, and many-channels-max's publishes/s measure the CPU the
  whole machine spends per publish (nginx, Redis, wsbench), not what
  Redis can take.
- One redis-server is not the bottleneck here: in many-channels-max it
  uses a fraction of one core ("masters CPU %") while nginx and wsbench
  take the rest.  A cluster could not raise these publishes/s even with
  more cores: what bounds them is the CPU that nginx and wsbench spend
  per publish, and one Redis still has room.
- Latency here is mostly waiting for a core: a publish crosses an nginx
  worker and a redis-server, and each must be scheduled; with six Redis
  processes (and whatever else runs on the machine) on two cores the
  wait is longer and more variable for the cluster.  many-channels'
  publisher keeps at most 128 publishes in flight (2 connections, 64
  each), so a run whose acks take over 64 ms publishes fewer than 2,000
  a second ("publishes/s of the runs").
- What it shows: that both layouts deliver everything (lost+dup); what a
  publish costs Redis in each (us/publish), and how that work splits
  over the masters (the busiest master's share: a cluster saturates when
  its busiest master does); what the replicas cost; the latency of a
  publish that is one round trip to one master in both layouts; and the
  fixed costs of the cluster mode (sweeps, heartbeats, the cluster bus).
- What it cannot show: the scaling itself, network round trips between
  machines (everything is on loopback), several gateway nodes.

### Expected scaling with N masters on separate machines

- **What bounds one server.**  Redis runs commands on one thread.  A
  publish is one `FCALL ws_perf_publish`: the channel's sequence and
  counters are written, the message kept in its history when one is
  configured, and published to every subscribe link of the channel, one
  per gateway worker that has subscribers on it.  So
  a publish costs Redis about c = a + b x k of CPU (k subscribed
  workers; k = 2 here), and one server carries at most 1 s / c publishes
  a second however many gateway nodes there are; more nodes mean a
  larger k and a lower ceiling.  "us/publish" above is c.
- **What a cluster changes.**  A channel's keys and topic live in one
  shard (CRC16 of the channel modulo `shards=`), served by the master
  that owns the slot of the shard's hash tag.  The module sends the
  publish to that master, which `SPUBLISH`es it to the subscribe links
  connected to it: sharded pub/sub keeps the message in its shard.  (A
  plain `PUBLISH` in a cluster is broadcast over the cluster bus to
  every node, so every master would pay for every message and the
  cluster would not scale pub/sub at all.)  N masters therefore carry up
  to N x (1 s / c) publishes a second.
- **Up to: the busiest master.**  Channels spread evenly over the
  shards, but shards over masters by the slots of their hash tags: with
  `shards=16` and three masters the split is uneven (this run's is in
  the header above; 6, 6 and 4 is 37.5% on the busiest, 2.67 times one
  server rather than 3).  For N masters use many more shards than
  masters (up to 1024) and check the split with `CLUSTER KEYSLOT`; a
  single hot channel stays on one master whatever N is.
- **Costs that do not shrink with N.**
  - Replicas: a master sends its writes to its replica, and Redis 7.0
    (here) to 7.4 send every `SPUBLISH` to the shard's replicas over the
    cluster bus, each with a full header of about 2 KB (the slot
    bitmap): redis/redis#12196; Valkey 8 sends a light header
    (valkey-io/valkey#654).  The master pays for sending it, each
    replica for taking it ("replicas us/publish"); it grows with the
    replicas per master.  bench/spublish_cost.sh measures it alone
    (bench/MEASUREMENTS.md): pipelined, a replica adds about 1.4 us to
    a master's 0.9 us per `SPUBLISH` and costs itself 3 us, and the
    master's rate falls from about a million a second to a quarter of
    that.
  - The module's sweeps: every worker calls `ws_perf_release` every
    50 ms and `ws_perf_redeliver` every 200 ms on every shard, shards x
    25 x W calls a second for W workers over all gateway nodes (16 x 25 x
    2 = 800 here: "masters idle %").  They grow with the shards and the
    workers, not with the traffic, and are spread over the masters: 64
    shards and 100 workers make 160,000 calls a second.
  - Links: every worker keeps a publish and a subscribe link to every
    master, pings each subscribe link twice a second and now and then
    writes a key per shard that says it is alive: 2 x N x W connections,
    2 x N x W pings a second.
  - Batching: one `SPUBLISH` costs Redis about 0.9 us in a pipeline and
    10 us alone (bench/MEASUREMENTS.md): at these rates a publish's
    Redis CPU is mostly its reads and writes, not the command.  At a
    given rate each master gets a third (1/N) of the commands, so fewer
    of them share a `read()` and a `write()`, and its writes to the
    replica go out one by one: below saturation the cluster's cost per
    publish is higher than one server's (the ratios above), while at
    its ceiling deeper queues bring the batching back.
  - nginx: each worker splits its publishes over N publish links and
    sweeps every shard, so its CPU per publish is a little higher
    ("nginx us/publish"); gateway nodes scale out by adding nodes, so
    this does not bound the cluster.
- **Latency.**  A publish is one round trip to one master in both
  layouts (the module routes by slot itself; `MOVED` and `ASK` only
  around a resharding), so at a rate that nothing saturates p99 should
  be the same on separate machines as on one server, plus the same
  network round trip.  Here many-channels' p99 also carries the CPU
  that six Redis processes take from nginx and wsbench.
- **So**, with separate machines and enough gateway nodes to saturate
  Redis: publishes/s of about 1 / (c x s), where s is the busiest
  master's share of the publishes (1/N at best), c the Redis CPU per
  publish on a master (this run's one-server figure is the best case);
  close to linear in N while the shards outnumber the masters and no
  channel dominates, less what the replicas and the sweeps take.
END
}

cleanup() {
    local m

    for m in $servers; do
        server_stop "$m"
    done
    cluster_stop
    redis_stop
}

trap cleanup EXIT
trap 'exit 130' INT TERM

for m in $servers; do
    if ! why=$(server_setup "$m") || ! why=$(server_start "$m") \
            || ! why=$(server_probe "$m"); then
        status[$m]="not measured: $why"
        log "$m: ${status[$m]}"
        server_stop "$m"
        continue
    fi
    [ "$m" = ws_perf_cluster ] && shards=$(cluster_shards)
    server_stop "$m"
    status[$m]=measured
    measured+=("$m")
done

twins_run "$cluster_scenarios" cluster-load.txt
cleanup

elapsed=$(( $(date +%s) - t0 ))
commit="$(git rev-parse --short HEAD 2>/dev/null || echo '(no commit)')"
table="python3 bench/cluster_table.py $res $runs"

{
    echo "<!-- redis-cluster begin: written by cluster runs of" \
        "bench/run.sh -->"
    echo "## One Redis and a Redis Cluster"
    echo
    echo "ws_perf with two workers in Redis mode, on one redis-server"
    echo "(bench/conf/ws_perf_redis.conf) and on a Redis Cluster of three"
    echo "masters with a replica each (bench/conf/ws_perf_cluster.conf,"
    echo "\`ws_perf_redis_cluster ... shards=16\`), made fresh for every"
    echo "scenario run by \`redis-cli --cluster create\` on 127.0.0.1:"
    echo "$(echo $cluster_ports | sed 's/ /, /g'), kept in memory (no AOF, no"
    echo "RDB) like the single server.  The same nginx, the same scenarios,"
    echo "in the same run."
    echo
    echo '```'
    echo "BENCH_SERVERS=\"$servers\" make bench"
    for m in "${measured[@]}"; do
        echo "nginx -p $out/$m/ -c conf/$m.conf    # fresh for each scenario"
        for sc in $cluster_scenarios; do
            echo "$wsbench -s bench/scenarios/$sc.conf --label=$m" \
                "--quiet=1 --server_pidfile=$out/$m/logs/nginx.pid" \
                "--json=$res/$m-$sc-rN.json    # N = 1..$runs"
        done
    done
    echo "redis-cli -p PORT info cpu    # every node: $idle_s s before," \
        "at the start, at the end"
    echo "$table \"$cluster_scenarios\" summary"
    echo '```'
    echo
    echo "- date: $started, $elapsed s; $runs runs, interleaved"
    echo "- machine: $(machine)"
    twins_load cluster-load.txt
    echo "- nginx: $("$nginx" -v 2>&1 | sed 's/nginx version: //')," \
        "worker_processes 2 in both; redis-server" \
        "$(redis-server --version 2>/dev/null | grep -o 'v=[0-9.]*' \
        | cut -c3-)"
    echo "- ws_perf: ngx_ws_perf_module $commit: one Redis" \
        "${status[ws_perf_redis]:-not asked for}, a cluster" \
        "${status[ws_perf_cluster]:-not asked for}"
    echo "- the module's 16 shards over the masters: ${shards:-not read}"
    echo
    $table "$cluster_scenarios" summary
    reading
    echo
    echo "<details><summary>Every run</summary>"
    echo
    $table "$cluster_scenarios" runs
    echo
    twins_outputs "$cluster_scenarios"
    echo "</details>"
    echo "<!-- redis-cluster end -->"
} >"$res/redis-cluster.md"

results_part redis-cluster "$res/redis-cluster.md"

log "wrote the Redis Cluster part of bench/RESULTS.md in $elapsed s"
exit 0
