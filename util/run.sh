#!/usr/bin/env bash
# Starts the demo gateway: a redis-server of its own on 127.0.0.1:6380 and
# the distribution's nginx with conf/demo.conf and the freshly built module,
# under build/run.  `make stop` stops both.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
prefix=$top/build/run
nginx=${NGINX_BIN:-/usr/sbin/nginx}

mkdir -p "$prefix/conf" "$prefix/logs" "$prefix/modules" "$prefix/redis"
cp "$top/conf/demo.conf" "$prefix/conf/demo.conf"
rm -rf "$prefix/html"
cp -r "$top/conf/html" "$prefix/html"
cp "$top/clients/js/ws-perf.js" "$prefix/html/ws-perf.js"
ln -sf "$top/build/ngx_ws_perf_module.so" "$prefix/modules/"

if [ -f "$prefix/logs/nginx.pid" ]; then
    "$nginx" -p "$prefix/" -c conf/demo.conf -s quit 2>/dev/null || true
    for _ in $(seq 50); do
        [ -f "$prefix/logs/nginx.pid" ] || break
        sleep 0.1
    done
fi

pidfile=$prefix/redis/redis.pid

if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    : # the demo's own redis is running
elif redis-cli -p 6380 ping >/dev/null 2>&1; then
    echo "run: 127.0.0.1:6380 is taken by a redis that is not the demo's" >&2
    echo "run: stop it, or change the port in conf/demo.conf" >&2
    exit 1
else
    redis-server --port 6380 --bind 127.0.0.1 --save '' --appendonly no \
        --daemonize yes --dir "$prefix/redis" \
        --logfile "$prefix/redis/redis.log" \
        --pidfile "$pidfile"
    for _ in $(seq 50); do
        redis-cli -p 6380 ping >/dev/null 2>&1 && break
        sleep 0.1
    done
fi

"$nginx" -p "$prefix/" -c conf/demo.conf -t -q
"$nginx" -p "$prefix/" -c conf/demo.conf

echo "ngx_ws_perf_module demo is running:"
echo "  page      http://127.0.0.1:8080/"
echo "  dashboard http://127.0.0.1:8080/dashboard.html"
echo "  status    curl http://127.0.0.1:8080/status  (?format=json, ?format=prometheus)"
echo "  health    curl http://127.0.0.1:8080/health"
echo "  echo      ws://127.0.0.1:8080/echo"
echo "  pub/sub   ws://127.0.0.1:8080/ws?channels=news&user=alice"
echo "  publish   curl -d hello http://127.0.0.1:8080/pub/news"
echo "  dlq       curl http://127.0.0.1:8080/dlq"
echo "  redis     127.0.0.1:6380 (every worker delivers every message)"
echo "  error log $prefix/logs/error.log"
echo "stop it with: make stop"
