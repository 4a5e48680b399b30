#!/usr/bin/env bash
# House-style checks over the C sources:
#   util/lint.sh [file ...]
# Without files: ngx_ws_perf_module/*.[ch], t/unit/*.[ch], t/fuzz/*.c,
# bench/wsbench/*.[ch] and bench/*.c.  Every file gets the style checks
# (80 columns, no tabs, no trailing spaces, no // comments); the module's
# files also get the format check: the conversions in the format strings
# of ngx_log_error, ngx_log_debug0..8, ngx_conf_log_error and ngx_*printf
# must be ones that nginx's ngx_vslprintf() knows (src/core/ngx_string.c).
# wsbench is plain libc C, its printf formats are not nginx's: no format
# check there (a file whose path starts with "bench/", and any path after
# --no-ngx).
# Prints file:line: message for each finding; exit 1 on any.
set -euo pipefail

if [ $# -eq 0 ]; then
    cd "$(dirname "$0")/.."
    shopt -s nullglob
    set -- ngx_ws_perf_module/*.[ch] t/unit/*.[ch] t/fuzz/*.c \
           --no-ngx bench/wsbench/*.[ch] bench/*.c
fi

exec /usr/bin/python3 - "$@" <<'END'
import re
import sys

FUNCS = {
    # name: index of the format among the arguments
    'ngx_log_error': 3, 'ngx_conf_log_error': 3, 'ngx_snprintf': 2,
    'ngx_sprintf': 1, 'ngx_slprintf': 2, 'ngx_vslprintf': 2,
}
for n in range(9):
    FUNCS['ngx_log_debug%d' % n] = 3

CALL = re.compile(r'\b(' + '|'.join(sorted(FUNCS, key=len, reverse=True))
                  + r')\s*\(')
IDENT = re.compile(r'[A-Za-z_]\w*')

# ngx_vslprintf: flags, then one of these; anything else is printed as is
CONV = set('VvsOPTMzidlDLAfrpcZN%')

findings = []


def report(path, line, msg):
    findings.append((path, line, msg))


def scan(path, text):
    """Blanks comments and string contents (newlines kept); returns the
    blanked text and the string literals as (start, end, body)."""
    out = list(text)
    strings = []
    i, n = 0, len(text)
    line = 1

    while i < n:
        c = text[i]

        if c == '\n':
            line += 1
            i += 1

        elif text.startswith('/*', i):
            j = text.find('*/', i + 2)
            j = n if j < 0 else j + 2
            for k in range(i, j):
                if out[k] != '\n':
                    out[k] = ' '
            line += text.count('\n', i, j)
            i = j

        elif text.startswith('//', i):
            report(path, line, '// comment: use /* */')
            j = text.find('\n', i)
            j = n if j < 0 else j
            for k in range(i, j):
                out[k] = ' '
            i = j

        elif c == '"' or c == "'":
            j = i + 1
            while j < n and text[j] != c and text[j] != '\n':
                j += 2 if text[j] == '\\' else 1
            if c == '"':
                strings.append((i, j + 1, text[i + 1:j]))
            for k in range(i + 1, min(j, n)):
                out[k] = ' '
            i = j + 1

        else:
            i += 1

    return ''.join(out), strings


def style(path, text):
    for no, line in enumerate(text.split('\n'), 1):
        if len(line) > 80:
            report(path, no, 'line is %d columns, over 80' % len(line))
        if '\t' in line:
            report(path, no, 'tab character')
        if line != line.rstrip(' \t\r'):
            report(path, no, 'trailing whitespace')


def string_macros(blank, strings, text):
    """#define NAME "..." ["..."]: NAME -> its literals."""
    macros = {}
    for m in re.finditer(r'^[ \t]*#[ \t]*define[ \t]+([A-Za-z_]\w*)[ \t]',
                         blank, re.M):
        end = m.end()
        while True:
            nl = blank.find('\n', end)
            nl = len(blank) if nl < 0 else nl
            if blank[:nl].rstrip().endswith('\\'):
                end = nl + 1
                continue
            break
        body = [s for s in strings if m.end() <= s[0] and s[1] <= nl]
        rest = blank[m.end():nl]
        for s in body:
            rest = rest.replace(blank[s[0]:s[1]], '', 1)
        if body and rest.replace('\\', '').strip() == '':
            macros[m.group(1)] = body
    return macros


def split_args(blank, start):
    """From the "(" at start: [(a, b)] spans of the top-level arguments."""
    depth, a, args = 0, start + 1, []
    for i in range(start, len(blank)):
        c = blank[i]
        if c in '([{':
            depth += 1
        elif c in ')]}':
            depth -= 1
            if depth == 0:
                args.append((a, i))
                return args
        elif c == ',' and depth == 1:
            args.append((a, i))
            a = i + 1
    return args


def groups(blank, strings, macros, a, b):
    """The formats in an argument: runs of adjacent literals (or string
    macros), each as a list of (body, offset of its first character)."""
    items = [(s[0], s[1], [(s[2], s[0] + 1)]) for s in strings
             if a <= s[0] and s[1] <= b]
    for m in IDENT.finditer(blank, a, b):
        if m.group(0) in macros:
            items.append((m.start(), m.end(),
                          [(s[2], s[0] + 1) for s in macros[m.group(0)]]))
    items.sort()

    runs, run, last = [], [], None
    for start, end, parts in items:
        if run and blank[last:start].strip() == '':
            run.extend(parts)
        else:
            if run:
                runs.append(run)
            run = list(parts)
        last = end
    if run:
        runs.append(run)
    return runs


def check_format(path, text, func, run):
    body, where = '', []
    for part, offset in run:
        body += part
        where.extend(range(offset, offset + len(part)))

    i, n = 0, len(body)
    while i < n:
        if body[i] != '%':
            i += 1
            continue

        start = i
        i += 1
        if i < n and body[i] == '0':
            i += 1
        while i < n and body[i].isdigit():
            i += 1
        while i < n and body[i] in 'umXx.*':
            if body[i] == '.':
                i += 1
                while i < n and body[i].isdigit():
                    i += 1
                break
            i += 1

        conv = body[i] if i < n else ''
        line = text.count('\n', 0, where[start]) + 1
        tail = re.match(r'[ldiuxX]*', body[i + 1:]).group(0)
        shown = body[start:i + 1] + tail

        if conv == '':
            report(path, line, 'format in %s ends in "%s"'
                   % (func, body[start:]))
        elif conv not in CONV:
            report(path, line, 'format "%s" in %s: ngx_vslprintf has no '
                   '"%s" conversion, it prints the character as is'
                   % (body[start:i + 1], func, conv))
        elif conv == 'l' and tail:
            report(path, line, 'format "%s" in %s: a C printf length, '
                   'nginx takes %%l (long), %%L (int64_t), %%ui, %%uz'
                   % (shown, func))
        elif conv == 'z' and tail[:1] in ('u', 'd', 'i', 'x', 'X') and tail:
            report(path, line, 'format "%s" in %s: a C printf length, '
                   'nginx takes %%z (ssize_t) or %%uz (size_t)'
                   % (shown, func))
        i += 1


def formats(path, text, blank, strings):
    macros = string_macros(blank, strings, text)
    for m in CALL.finditer(blank):
        if blank[:m.start()].rstrip().endswith('define'):
            continue
        args = split_args(blank, m.end() - 1)
        k = FUNCS[m.group(1)]
        if len(args) <= k:
            continue
        for run in groups(blank, strings, macros, *args[k]):
            check_format(path, text, m.group(1), run)


def main(argv):
    ngx = True
    for path in argv:
        if path == '--no-ngx':
            ngx = False
            continue
        with open(path, encoding='utf-8', errors='replace') as f:
            text = f.read()
        style(path, text)
        blank, strings = scan(path, text)
        if ngx and not path.startswith('bench/'):
            formats(path, text, blank, strings)

    for path, line, msg in sorted(findings, key=lambda f: (f[0], f[1])):
        print('%s:%d: %s' % (path, line, msg))

    return 1 if findings else 0


sys.exit(main(sys.argv[1:]))
END
