#!/usr/bin/env bash
# Proves that util/lint.sh finds what it is meant to: each case is a small
# C file with one fault, which must give a finding on the expected line;
# a clean file with look-alikes (// in strings, the formats nginx knows)
# must give none.
set -uo pipefail

lint=$(cd "$(dirname "$0")" && pwd)/lint.sh
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
failed=0

# expect NAME LINE PATTERN: the finding on LINE matches PATTERN
expect() {
    local out rc
    out=$("$lint" "$dir/$1.c" 2>&1)
    rc=$?
    if [ $rc -ne 1 ] || ! grep -q "^$dir/$1.c:$2: .*$3" <<< "$out"; then
        echo "lint-selftest: $1: no finding \"$3\" on line $2 (rc $rc)"
        [ -n "$out" ] && echo "$out"
        failed=1
    fi
}

case_() {
    cat > "$dir/$1.c"
}

printf 'int  x;%75s\n' '' | tr -d '\n' > "$dir/long.c"
printf '\n/* %s */\n' "$(printf 'x%.0s' $(seq 1 80))" >> "$dir/long.c"
expect long 1 'over 80'

printf 'int\tx;\n' > "$dir/tab.c"
expect tab 1 'tab character'

printf 'int  x;\nint  y; \n' > "$dir/trailing.c"
expect trailing 2 'trailing whitespace'

case_ comment <<'END'
int  x;
int  y;  // a C++ comment
END
expect comment 2 '// comment'

case_ lld <<'END'
static void
f(ngx_log_t *log, long long n)
{
    ngx_log_error(NGX_LOG_INFO, log, 0,
                  "ws_perf: %lld messages dead-lettered", n);
}
END
expect lld 5 '"%lld" in ngx_log_error'

case_ zu <<'END'
static void
f(u_char *p, u_char *last, size_t n)
{
    p = ngx_slprintf(p, last, "%s", "a");
    p = ngx_slprintf(p, last, "size %uz, "
                     "again %zu", n, n);
}
END
expect zu 6 '"%zu" in ngx_slprintf'

case_ ld <<'END'
#define FMT  "pid %P, "                                                     \
             "count %ld\n"
static void
f(u_char *buf, long n)
{
    (void) ngx_sprintf(buf, FMT, ngx_pid, n);
}
END
expect ld 2 '"%ld" in ngx_sprintf'

case_ u <<'END'
static void
f(ngx_conf_t *cf, ngx_uint_t n)
{
    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "too many: %u", n);
}
END
expect u 4 'ngx_conf_log_error ends in "%u"'

case_ debug <<'END'
static void
f(ngx_connection_t *c, ngx_uint_t n)
{
    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, c->log, 0, "ws_perf: %s %lu",
                   "a", n);
}
END
expect debug 4 '"%lu" in ngx_log_debug2'

case_ precision <<'END'
static void
f(u_char *buf, int n, char *s)
{
    (void) ngx_snprintf(buf, 64, n ? "%V" : "%.*s", n, s);
}
END
expect precision 4 'ngx_snprintf: ngx_vslprintf has no "\*"'

case_ clean <<'END'
/* a URL in a comment: http://example.com/a//b */
#define OK  "%uL.%03uL %02xd %*s %%"
static void
f(u_char *p, u_char *last, ngx_str_t *v, ngx_log_t *log)
{
    p = ngx_slprintf(p, last, "http://%V/ %d %ui %uz %z %L %O %T %M %A",
                     v, 1, 2, 3, 4, 5, 6, 7, 8, 9);
    p = ngx_slprintf(p, last, "%P %p %c %Z %N %r %f %.3f %mi %uA %v %s",
                     1, p, 'a', 1, 2.0, 3.0, 4, 5, v, "//");
    p = ngx_slprintf(p, last, OK, 1, 2, 3, 4, "ab");
    ngx_log_error(NGX_LOG_ERR, log, 0, "a char '\"' and 100%% done");
}
END
out=$("$lint" "$dir/clean.c" 2>&1)
if [ $? -ne 0 ]; then
    echo "lint-selftest: clean: findings in a clean file:"
    echo "$out"
    failed=1
fi

out=$("$lint" --no-ngx "$dir/lld.c" 2>&1)
if [ $? -ne 0 ]; then
    echo "lint-selftest: --no-ngx still checks formats:"
    echo "$out"
    failed=1
fi

[ $failed -eq 0 ] && echo "lint-selftest: ok"
exit $failed
