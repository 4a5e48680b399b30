#!/usr/bin/env bash
# Checks that a built module can be loaded by an nginx binary:
#   util/check-abi.sh path/to/ngx_ws_perf_module.so
# nginx refuses a module built for another version or with other configure
# flags; this says which and what to do, in one line.  It compares:
# - the nginx version of the source tree the module was built from
#   (NGINX_SRC's src/core/nginx.h, when NGINX_SRC names one) with `nginx -v`;
# - the module signature (NGX_MODULE_SIGNATURE: pointer sizes and one bit
#   per configure option that changes nginx's structures), which nginx
#   embeds as a string in the binary and in every module;
# - and finally asks the binary itself to load the module (`nginx -t`).
# NGINX_BIN names the binary (default /usr/sbin/nginx).  Exit status 1 on
# a mismatch.
set -euo pipefail

so=$1
nginx=${NGINX_BIN:-/usr/sbin/nginx}
src=${NGINX_SRC:-}

signature() {
    LC_ALL=C grep -aoE '[0-9]+,[0-9]+,[0-9]+,[01]{20,}' "$1" 2>/dev/null \
        | head -n 1
}

if [ ! -f "$so" ]; then
    echo "$so does not exist: build it with make"
    exit 1
fi

if ! ver=$("$nginx" -v 2>&1); then
    echo "$nginx does not run: install nginx or set NGINX_BIN"
    exit 1
fi
ver=${ver##*nginx/}
ver=${ver%% *}

if [ -n "$src" ] && [ -f "$src/src/core/nginx.h" ]; then
    srcver=$(sed -n 's/^#define NGINX_VERSION *"\(.*\)"$/\1/p' \
             "$src/src/core/nginx.h")
    if [ "$srcver" != "$ver" ]; then
        echo "$so is built from nginx $srcver sources ($src)," \
             "$nginx is nginx $ver: build with" \
             "NGINX_SRC=<nginx-$ver sources> and the flags of \`nginx -V\`"
        exit 1
    fi
fi

sig_bin=$(signature "$nginx")
sig_so=$(signature "$so")

if [ -z "$sig_bin" ] || [ -z "$sig_so" ]; then
    echo "no module signature found in" \
         "$([ -z "$sig_bin" ] && echo "$nginx" || echo "$so")" \
         "(not an nginx binary or module?)"
    exit 1
fi

if [ "$sig_bin" != "$sig_so" ]; then
    echo "$so has module signature $sig_so, $nginx has $sig_bin: the" \
         "configure flags differ; build with those of \`nginx -V\`" \
         "(Debian's nginx-dev carries them: make with the default NGINX_SRC)"
    exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/logs"
printf 'load_module %s;\nevents {}\n' "$(realpath "$so")" > "$tmp/load.conf"

if ! out=$("$nginx" -t -q -p "$tmp/" -c "$tmp/load.conf" \
           -g "pid $tmp/nginx.pid; error_log stderr;" 2>&1); then
    out=$(echo "$out" | grep -m1 emerg || echo "$out" | head -n 1)
    out=$(echo "$out" | sed -E 's/^.*\[emerg\] [0-9]+#[0-9]+: //;
                                s/ in [^ ]*load\.conf:[0-9]+$//')
    echo "$nginx cannot load $so: $out"
    exit 1
fi

echo "$so matches $nginx: nginx/$ver, module signature $sig_bin"
