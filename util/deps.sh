#!/usr/bin/env bash
# Installs the dependencies from Debian packages; does nothing when all are
# there.
#   util/deps.sh run    what `make run` needs: the build, nginx and redis
#   util/deps.sh        everything `make test` needs as well (and node's
#                       "ws" client and playwright-core from npm, into
#                       build/npm)
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
mode=${1:-test}

# libssl-dev and zlib1g-dev: the module, and bench/wsbench (wss://,
# permessage-deflate) in both lists
run_packages="build-essential nginx nginx-dev libpcre2-dev libssl-dev
    zlib1g-dev libjansson-dev liblz4-dev libhiredis-dev redis-server"

packages="build-essential clang libclang-rt-14-dev valgrind
    nginx libnginx-mod-stream nginx-dev libpcre2-dev libssl-dev zlib1g-dev
    libjansson-dev liblz4-dev libhiredis-dev redis-server redis-sentinel
    libnginx-mod-nchan
    libtest-base-perl libtest-longstring-perl libtext-diff-perl liburi-perl
    libwww-perl
    libprotocol-websocket-perl libio-socket-ip-perl
    python3 python3-websockets python3-prometheus-client python3-yaml
    python3-lz4
    prometheus
    openssl curl
    nodejs chromium"
packages="$packages debhelper dpkg-dev fakeroot"

[ "$mode" = run ] && packages=$run_packages

missing=""
for p in $packages; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q "ok installed" \
        || missing="$missing $p"
done

# npm comes with some builds of nodejs and as its own package in Debian
if [ "$mode" != run ] && ! command -v npm >/dev/null 2>&1; then
    missing="$missing npm"
fi

if [ -n "$missing" ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "deps: missing packages:$missing (run as root)" >&2
        exit 1
    fi
    echo "deps: installing$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends $missing
fi

[ "$mode" = run ] && exit 0

if [ ! -f "$top/build/npm/node_modules/ws/package.json" ] \
   || [ ! -f "$top/build/npm/node_modules/playwright-core/package.json" ]
then
    mkdir -p "$top/build/npm"
    # playwright-core 1.59 is the last that runs on Debian 12's Node.js 18
    (cd "$top/build/npm" && npm install --silent --no-audit --no-fund \
        --prefix . ws@8 playwright-core@1.59)
fi
