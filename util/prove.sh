#!/usr/bin/env bash
# Runs the t/*.t suite against one build of the module:
#   util/prove.sh path/to/ngx_ws_perf_module.so [t/NNN-file.t ...]
# Uses the real Test::Nginx::Socket when it is installed, the bundled runner
# in t/runner otherwise.  WS_PERF_SANITIZE=1 runs nginx with the ASan
# runtime preloaded and fails on any sanitizer report.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
so=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
shift
cd "$top"

export TEST_NGINX_BINARY=${TEST_NGINX_BINARY:-${NGINX_BIN:-/usr/sbin/nginx}}
export TEST_NGINX_LOAD_MODULES=$so
export PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH

inc=(-I "$top/t/lib")
if ! perl -MTest::Nginx::Socket -e1 2>/dev/null; then
    inc+=(-I "$top/t/runner")
fi

files=("$@")
[ ${#files[@]} -gt 0 ] || files=(t/*.t)

if [ "${WS_PERF_SANITIZE:-0}" = 1 ]; then
    dir=$(dirname "$so")
    logs=$dir/sanitizer-logs
    rm -rf "$logs"
    mkdir -p "$logs"
    wrapper=$dir/nginx-asan
    cat > "$wrapper" <<END
#!/bin/sh
export LD_PRELOAD=$(gcc -print-file-name=libasan.so)
export ASAN_OPTIONS=log_path=$logs/asan:detect_leaks=0:handle_abort=1
export UBSAN_OPTIONS=log_path=$logs/ubsan:print_stacktrace=1
exec $TEST_NGINX_BINARY "\$@"
END
    chmod +x "$wrapper"
    export TEST_NGINX_BINARY=$wrapper
    rc=0
    prove "${inc[@]}" "${files[@]}" || rc=$?
    if [ -n "$(ls -A "$logs")" ]; then
        echo "sanitizer reports:" >&2
        head -n 60 "$logs"/* >&2
        exit 1
    fi
    exit $rc
fi

exec prove "${inc[@]}" "${files[@]}"
