#!/usr/bin/env bash
# Builds ngx_ws_perf_module.so against an nginx source tree.
#   util/build.sh OUT_DIR [extra compiler options...]
# NGINX_SRC names the tree: Debian's nginx-dev (/usr/share/nginx/src, which
# carries the distribution's configure flags in conf_flags) by default, or
# any unpacked nginx release or checkout.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
out=$1
shift
extra="$*"
src=${NGINX_SRC:-/usr/share/nginx/src}

if [ ! -d "$src/src/core" ]; then
    echo "build: no nginx source tree at $src" >&2
    echo "build: install nginx-dev (make deps) or set NGINX_SRC" >&2
    exit 1
fi

mkdir -p "$out"
out=$(cd "$out" && pwd)
tree=$out/nginx
stamp="$src|$extra|$(md5sum "$top/config" | cut -d' ' -f1)"

if [ ! -f "$tree/objs/Makefile" ] || [ "$(cat "$out/.stamp" 2>/dev/null)" != "$stamp" ]; then
    rm -rf "$tree"
    cp -r "$src" "$tree"
    cd "$tree"

    flags=(--with-compat)
    if [ -f conf_flags ]; then
        # shellcheck disable=SC1091
        . ./conf_flags
        flags=("${NGX_CONF_FLAGS[@]}")
    fi

    configure=./configure
    [ -x "$configure" ] || configure=./auto/configure

    "$configure" "${flags[@]}" \
        --with-cc-opt="-g -O2 -fPIC -Werror -Wformat -Werror=format-security $extra" \
        --with-ld-opt="-fPIC $extra" \
        --add-dynamic-module="$top" > "$out/configure.log" 2>&1 || {
            tail -n 20 "$out/configure.log" >&2
            exit 1
        }
    echo "$stamp" > "$out/.stamp"
fi

cd "$tree"
make -s -f objs/Makefile modules
# a new file, not a rewrite: running nginx processes keep the old mapping
cp objs/ngx_ws_perf_module.so "$out/.ngx_ws_perf_module.so.new"
mv -f "$out/.ngx_ws_perf_module.so.new" "$out/ngx_ws_perf_module.so"
echo "built $out/ngx_ws_perf_module.so"
