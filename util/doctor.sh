#!/usr/bin/env bash
# Checks a machine and an nginx configuration before production: one line
# per check, OK, WARN or FAIL, and what to change.  `make doctor` runs it.
#   CONF=/etc/nginx/nginx.conf   the configuration nginx runs
#   PREFIX=                      nginx's -p, when it runs with one
#   NGINX_BIN=/usr/sbin/nginx    the binary that runs it
#   EXPECT_CONNECTIONS=10000     WebSocket connections this node must hold
# Redis is the one the configuration's ws_perf_redis names, or the master
# that its ws_perf_redis_sentinel's sentinels name.  Exit status 1 when a
# check fails.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
conf=${CONF:-/etc/nginx/nginx.conf}
prefix=${PREFIX:-}
nginx=${NGINX_BIN:-/usr/sbin/nginx}
expect=${EXPECT_CONNECTIONS:-10000}
failed=0

say() {
    local level=$1 what=$2
    shift 2
    printf '%-4s %s: %s\n' "$level" "$what" "$*"
    [ "$level" != FAIL ] || failed=1
}

# the configuration with its includes, as nginx reads it
expand() {
    local file=$1 dir line pattern f
    dir=$(dirname "$file")
    while IFS= read -r line; do
        printf '%s\n' "$line"
        pattern=$(printf '%s\n' "$line" \
                  | sed -nE 's/^[[:space:]]*include[[:space:]]+([^;[:space:]]+);.*/\1/p')
        [ -n "$pattern" ] || continue
        case $pattern in /*) ;; *) pattern=$dir/$pattern ;; esac
        for f in $pattern; do
            [ -f "$f" ] && expand "$f"
        done
    done < "$file"
}

# the configuration one statement a line, without comments
statements() {
    sed 's/#.*//' <<< "$text" | tr '\n' ' ' | tr ';{}' '\n\n\n'
}

# the arguments of every occurrence of a directive, one line each
directive() {
    statements \
        | sed -nE "s/^[[:space:]]*$1[[:space:]]+(.*[^[:space:]])[[:space:]]*\$/\1/p"
}


if [ ! -f "$conf" ]; then
    say FAIL config "$conf does not exist: set CONF=path/to/nginx.conf"
    exit 1
fi

popt=()
[ -z "$prefix" ] || popt=(-p "$prefix")

errors=$(mktemp)
if text=$("$nginx" "${popt[@]}" -c "$conf" -T -q 2>"$errors"); then
    say OK config "nginx -t accepts $conf"
else
    err=$(grep -m1 -E 'emerg|error' "$errors" \
          | sed -E 's/^.*\[(emerg|error)\] [0-9]+#[0-9]+: //')
    say FAIL config "nginx -t refuses $conf: ${err:-$(head -n 1 "$errors")}"
    text=$(expand "$conf")
fi
rm -f "$errors"


# the module the configuration loads

if [ -z "$prefix" ]; then
    prefix=$("$nginx" -V 2>&1 | sed -nE 's/.*--prefix=([^ ]+).*/\1/p')
    prefix=${prefix:-/usr/local/nginx}
fi

# the load_module line whose file is this module, whatever its name
so=
for f in $(directive load_module | tr -d "\"'"); do
    case $f in /*) ;; *) f=${prefix%/}/$f ;; esac
    if grep -qa ngx_ws_perf_module "$f" 2>/dev/null \
       || { [ -z "$so" ] && [[ $f == */ngx_ws_perf_module.so ]]; }
    then
        so=$f
    fi
done
if [ -z "$so" ]; then
    say FAIL module "$conf loads no ngx_ws_perf_module.so: make install" \
        "(or install the package) and include" \
        "/etc/nginx/modules-enabled/*.conf, or add a load_module line"
else
    if out=$(NGINX_SRC= NGINX_BIN=$nginx "$top/util/check-abi.sh" "$so"); then
        say OK module "$out"
    else
        say FAIL module "$out"
    fi
fi


# connections and file descriptors

workers=$(directive worker_processes | tail -n 1)
case $workers in
    ''|auto) workers=$(getconf _NPROCESSORS_ONLN) ;;
esac
wc=$(directive worker_connections | tail -n 1)
wc=${wc:-512}

# connections do not spread evenly over the workers: a quarter of headroom
need=$(( (expect * 5 / 4 + workers - 1) / workers ))
if [ $(( workers * wc )) -ge $(( expect * 5 / 4 )) ]; then
    say OK connections "$workers workers x $wc worker_connections" \
        "holds $expect connections with a quarter to spare"
else
    say FAIL connections "$workers workers x $wc worker_connections" \
        "< $expect expected connections + 25%: set worker_connections" \
        "$need in events {} (or more workers)"
fi
[ "$need" -gt "$wc" ] || need=$wc

rlimit=$(directive worker_rlimit_nofile | tail -n 1)
if [ -n "$rlimit" ]; then
    nofile=$rlimit
    from="worker_rlimit_nofile"
elif [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
    nofile=$(systemctl show -p LimitNOFILESoft --value nginx 2>/dev/null)
    from="nginx.service's LimitNOFILESoft"
else
    nofile=$(ulimit -Sn)
    from="ulimit -n of this shell (nginx inherits the limit of whatever starts it)"
fi
nr_open=$(cat /proc/sys/fs/nr_open 2>/dev/null || echo 1048576)

if [ "$nofile" = unlimited ] || [ "${nofile:-0}" -ge "$need" ] 2>/dev/null; then
    if [ "$nofile" != unlimited ] && [ "$nofile" -gt "$nr_open" ]; then
        say FAIL nofile "$from is $nofile, above fs.nr_open $nr_open:" \
            "sysctl -w fs.nr_open=$nofile or lower it"
    else
        say OK nofile "$from is $nofile, a worker needs $need"
    fi
else
    say FAIL nofile "$from is ${nofile:-unknown}, each worker needs" \
        "$need descriptors (one a connection, and some for logs and Redis" \
        "links): set worker_rlimit_nofile $(( need + 1024 )) in the main" \
        "context"
fi


# kernel

somaxconn=$(cat /proc/sys/net/core/somaxconn)
backlog=$(directive listen | sed -nE 's/.*backlog=([0-9]+).*/\1/p' \
          | sort -n | tail -n 1)
want=$(( ${backlog:-0} > 4096 ? ${backlog:-0} : 4096 ))
if [ -n "$backlog" ]; then
    queue="the listen backlog is $backlog"
else
    queue="the listen backlog is nginx's default 511 (listen ... backlog=$somaxconn takes a reconnect storm)"
fi
if [ "$somaxconn" -ge "$want" ]; then
    say OK somaxconn "net.core.somaxconn is $somaxconn; $queue"
else
    say WARN somaxconn "net.core.somaxconn is $somaxconn: when every" \
        "client reconnects at once (a restart, a failover) the accept" \
        "queue overflows; sysctl -w net.core.somaxconn=$want and" \
        "listen ... backlog=$want"
fi

read -r lo hi < /proc/sys/net/ipv4/ip_local_port_range
ports=$(( hi - lo + 1 ))
if [ "$ports" -ge "$expect" ]; then
    say OK ports "net.ipv4.ip_local_port_range $lo-$hi ($ports ports)"
else
    say WARN ports "net.ipv4.ip_local_port_range $lo-$hi gives $ports" \
        "ports: a proxy or load generator on this host opening $expect" \
        "connections to one address runs out; sysctl -w" \
        "net.ipv4.ip_local_port_range='1024 65535' (beyond 64,512" \
        "connections, several addresses)"
fi


# Redis

url=$(directive ws_perf_redis | tail -n 1 | tr -d "\"'")
sentinel=$(directive ws_perf_redis_sentinel | tail -n 1 | tr -d "\"'")
cli=(timeout 5 redis-cli)

# ws_perf_redis_sentinel NAME host:port... [key=value...]: the checks
# below go to the master that the first sentinel to answer names
if [ -n "$sentinel" ]; then
    read -r -a words <<< "$sentinel"
    name=${words[0]}
    addrs=()
    user="" pass="" db="" suser="" spass=""
    for w in "${words[@]:1}"; do
        case $w in
            user=*) user=${w#user=} ;;
            password=*) pass=${w#password=} ;;
            db=*) db=${w#db=} ;;
            sentinel_user=*) suser=${w#sentinel_user=} ;;
            sentinel_password=*) spass=${w#sentinel_password=} ;;
            *) addrs+=("$w") ;;
        esac
    done
    if ! command -v redis-cli >/dev/null; then
        say FAIL redis "redis-cli is missing: apt-get install redis-tools"
        exit 1
    fi
    master="" asked=""
    for a in "${addrs[@]}"; do
        h=${a%:*} p=${a##*:}
        [[ $a == *:* ]] || { h=$a; p=26379; }
        h=${h#[}
        h=${h%]}
        answer=$(env ${spass:+REDISCLI_AUTH="$spass"} timeout 5 redis-cli \
                 --no-auth-warning -h "$h" -p "$p" ${suser:+--user "$suser"} \
                 SENTINEL get-master-addr-by-name "$name" 2>&1 | tr -d '\r')
        if [ "$(wc -l <<< "$answer")" = 2 ]; then
            master=$(head -n 1 <<< "$answer"):$(tail -n 1 <<< "$answer")
            asked=$a
            break
        fi
    done
    if [ -z "$master" ]; then
        say FAIL sentinel "no sentinel of ${addrs[*]} names a master" \
            "\"$name\" (${answer:-no reply}): start the sentinels or fix" \
            "ws_perf_redis_sentinel"
        exit 1
    fi
    say OK sentinel "sentinel $asked names the master of \"$name\": $master"
    url="sentinel:$name at $master"
    cli+=(-h "${master%:*}" -p "${master##*:}")
    [ -z "$user" ] || cli+=(--user "$user")
    [ -z "$db" ] || cli+=(-n "$db")
    [ -z "$pass" ] || export REDISCLI_AUTH=$pass
fi

if [ -z "$url" ]; then
    if statements | grep -qE '^[[:space:]]*ws_perf(_publish)?[[:space:]]*$'
    then
        say WARN redis "no ws_perf_redis: inboxes, history and pending" \
            "acks live in one worker's memory and are lost on a restart" \
            "(docs/reliable.md); add ws_perf_redis for at-least-once"
    else
        say OK redis "no ws_perf_redis and no pub/sub location: not needed"
    fi
    exit $failed
fi

case $url in
    unix:*)
        cli+=(-s "${url#unix:}")
        ;;
    redis://*)
        rest=${url#redis://}
        if [[ $rest == *@* ]]; then
            cred=${rest%%@*}
            rest=${rest#*@}
            [ -z "${cred%%:*}" ] || cli+=(--user "${cred%%:*}")
            [[ $cred != *:* ]] || export REDISCLI_AUTH=${cred#*:}
        fi
        [[ $rest != */* ]] || { cli+=(-n "${rest#*/}"); rest=${rest%%/*}; }
        host=${rest%%:*}
        port=6379
        [[ $rest != *:* ]] || port=${rest#*:}
        cli+=(-h "$host" -p "$port")
        ;;
esac

if ! command -v redis-cli >/dev/null; then
    say FAIL redis "redis-cli is missing: apt-get install redis-tools"
    exit 1
fi

pong=$("${cli[@]}" PING 2>&1)
if [ "$pong" != PONG ]; then
    say FAIL redis "$url does not answer PING (${pong:-no reply}):" \
        "start Redis or fix ws_perf_redis"
    exit 1
fi
say OK redis "$url answers"

version=$("${cli[@]}" INFO server | tr -d '\r' \
          | sed -n 's/^redis_version://p')
if [ "${version%%.*}" -ge 7 ] 2>/dev/null; then
    say OK redis-version "Redis $version has functions (7.0 or later)"
else
    say FAIL redis-version "Redis ${version:-of unknown version}: the" \
        "module loads its Lua functions with FUNCTION LOAD, which needs" \
        "Redis 7.0 or later; upgrade Redis"
fi

aof=$("${cli[@]}" CONFIG GET appendonly 2>&1 | tr -d '\r' | sed -n 2p)
fsync=$("${cli[@]}" CONFIG GET appendfsync 2>&1 | tr -d '\r' | sed -n 2p)
policy=$("${cli[@]}" CONFIG GET maxmemory-policy 2>&1 | tr -d '\r' \
         | sed -n 2p)

if [ -z "$aof" ]; then
    say WARN persistence "CONFIG GET is refused: check that Redis runs" \
        "appendonly yes and appendfsync always (docs/reliable.md)"
elif [ "$aof" != yes ]; then
    say FAIL persistence "appendonly $aof: a Redis restart loses every" \
        "message waiting in inboxes and every pending ack, against the" \
        "at-least-once promise (docs/reliable.md); set appendonly yes" \
        "and appendfsync always in redis.conf"
elif [ "$fsync" = always ]; then
    say OK persistence "appendonly yes, appendfsync always: at-least-once" \
        "holds across a Redis crash"
else
    say WARN persistence "appendonly yes, appendfsync $fsync: a crash" \
        "loses up to the last second of messages; appendfsync always" \
        "for at-least-once (docs/reliable.md)"
fi

if [ -n "$policy" ] && [ "$policy" != noeviction ]; then
    say WARN redis-memory "maxmemory-policy $policy may evict inboxes and" \
        "pending messages (they have TTLs) when memory is full; set" \
        "maxmemory-policy noeviction"
elif [ -n "$policy" ]; then
    say OK redis-memory "maxmemory-policy noeviction: nothing is evicted"
fi

exit $failed
