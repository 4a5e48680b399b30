#!/usr/bin/env bash
# Installs a built module where Debian's nginx looks for it, laid out like
# Debian's own libnginx-mod-* packages:
#   /usr/lib/nginx/modules/ngx_ws_perf_module.so
#   /usr/share/nginx/modules-available/mod-ws-perf.conf   (the load_module line)
#   /etc/nginx/modules-enabled/50-mod-ws-perf.conf         (a symlink to it)
#
#   util/install.sh path/to/ngx_ws_perf_module.so    install and enable
#   util/install.sh -u                              disable and remove
# DESTDIR puts the files under another root.
set -euo pipefail

root=${DESTDIR:-}
moddir=/usr/lib/nginx/modules
availdir=/usr/share/nginx/modules-available
enabledir=/etc/nginx/modules-enabled
so=ngx_ws_perf_module.so
conf=mod-ws-perf.conf
link=50-mod-ws-perf.conf

if [ -z "$root" ] && dpkg-query -W -f='${Status}\n' libnginx-mod-ws-perf \
                     2>/dev/null | grep -q "ok installed"
then
    echo "install: the package libnginx-mod-ws-perf owns these files;" \
         "remove it first (apt-get remove libnginx-mod-ws-perf)" >&2
    exit 1
fi

if [ "${1:-}" = -u ]; then
    rm -f "$root$enabledir/$link" "$root$availdir/$conf" "$root$moddir/$so"
    echo "removed $root$moddir/$so and its modules-enabled link;" \
         "restart nginx to unload it"
    exit 0
fi

mkdir -p "$root$moddir" "$root$availdir" "$root$enabledir"

# a new file renamed into place: a running nginx keeps its mapping of the old
install -m 644 "$1" "$root$moddir/.$so.new"
mv -f "$root$moddir/.$so.new" "$root$moddir/$so"

echo "load_module modules/$so;" > "$root$availdir/$conf"
chmod 644 "$root$availdir/$conf"
ln -sfn "$availdir/$conf" "$root$enabledir/$link"

echo "installed $root$moddir/$so, enabled by $root$enabledir/$link"
echo "then: nginx -t, and restart nginx (a reload keeps a module already" \
     "loaded)"
