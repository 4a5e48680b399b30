#!/usr/bin/env python3
"""The tables of bench/RESULTS-100k.md from a bench/run-100k.sh run.

    table_100k.py RESDIR RUNS CONNECTIONS "SERVERS" [summary]

RESDIR holds, per server and run r, <server>-r<r>.json (wsbench),
<server>-r<r>.rss (idle and end: RSS kB, PSS kB, processes of the master
and its workers), <server>-r<r>.samples (the same every second),
<server>-r<r>.error.log, <server>-r<r>.fail (why it did not start), and
sendfloor-r<r>.txt.  A wave is one message: wsbench's epochs of one
second each hold one message each, the epoch's latency is that wave's.
With "summary", the medians and the ratio to sendfloor only (the part of
bench/RESULTS.md).
"""

import json
import os
import re
import statistics
import sys


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fmt(x, spec='{:,.1f}'):
    return '-' if x is None else spec.format(x)


def load(res, server, run):
    base = os.path.join(res, '%s-r%d' % (server, run))
    d = {'fail': None, 'sc': None, 'idle': None, 'end': None,
         'samples': [], 'errors': {}, 'text': ''}

    if os.path.exists(base + '.fail'):
        d['fail'] = open(base + '.fail').read().strip()

    try:
        d['sc'] = json.load(open(base + '.json'))['scenarios'][0]
    except (OSError, ValueError, KeyError, IndexError):
        pass

    try:
        for line in open(base + '.rss'):
            f = line.split()
            d[f[0]] = [int(v) for v in f[1:4]]
    except (OSError, ValueError, IndexError):
        pass

    try:
        for line in open(base + '.samples'):
            f = line.split()
            if len(f) == 4 and f[3] != '0':
                d['samples'].append([int(v) for v in f[1:3]])
    except (OSError, ValueError):
        pass

    try:
        for line in open(base + '.error.log', errors='replace'):
            m = re.match(r'\S+ \S+ \[(\w+)\] \d+#\d+: (?:\*\d+ )?(.*)', line)
            if not m:
                # what a worker wrote to stderr as it died
                a = re.search(r'(\S+: \S+: Assertion .*)', line)
                if a:
                    key = '[stderr] ' + a.group(1).strip()[:160]
                    d['errors'][key] = d['errors'].get(key, 0) + 1
                continue
            msg = re.sub(r'(?<!signal )\b\d+', 'N', m.group(2))
            msg = re.sub(r', client: .*', '', msg)
            key = '[%s] %s' % (m.group(1), msg[:160])
            d['errors'][key] = d['errors'].get(key, 0) + 1
    except OSError:
        pass

    try:
        d['text'] = open(base + '.txt', errors='replace').read()
    except OSError:
        pass

    # /status every second: ws_perf's text ("Active connections: N"),
    # nchan_stub_status ("subscribers: N", "shared memory used: NK")
    d['counted'] = d['shm'] = d['shm_limit'] = None
    try:
        status = open(base + '.samples.status', errors='replace').read()
    except OSError:
        status = ''
    for key, pat in (('counted', r'^(?:Active connections|subscribers): '
                                 r'(\d+)'),
                     ('shm', r'^shared memory used: (\d+)K'),
                     ('shm_limit', r'^shared memory limit: (\d+)K')):
        vals = [int(v) for v in re.findall(pat, status, re.M)]
        if vals:
            d[key] = max(vals)

    return d


def waves(sc):
    return [e for e in sc.get('epochs', []) if e['published'] > 0]


def figures(d, conns):
    sc = d['sc']
    if sc is None:
        return None

    c = sc['connections']
    m = sc['messages']
    w = waves(sc)
    ok = c['ok']
    f = {
        'ok': ok,
        'failed': c['failed'],
        'server_closed': c['server_closed'],
        'published': m['published'],
        'received': m['received'],
        'lost': m['lost'],
        'dup': m['duplicated'],
        'waves': len(w),
        'p50': median([e['latency_ms']['p50'] for e in w]),
        'p99': median([e['latency_ms']['p99'] for e in w]),
        'last': median([e['latency_ms']['max'] for e in w]),
        'worst': max([e['latency_ms']['max'] for e in w]) if w else None,
        'complete': median([e['received'] / ok * 100 for e in w])
        if ok else None,
        'cpu': sc['server']['cpu_pct'],
        'w_idle': sc['server']['rss_idle_mb'],
        'w_conn': sc['server']['rss_connected_mb'],
        'w_per': sc['server']['mem_per_conn_bytes'],
        'error': sc.get('error', ''),
        'counted': d['counted'],
        'shm': d['shm'],
    }

    if d['idle']:
        f['idle'] = d['idle'][0] / 1024
        f['idle_pss'] = d['idle'][1] / 1024
        f['procs'] = d['idle'][2]
    if d['samples'] and d['idle']:
        rss = max(s[0] for s in d['samples'])
        pss = max(s[1] for s in d['samples'])
        f['max'] = rss / 1024
        f['max_pss'] = pss / 1024
        if ok:
            f['per'] = (rss - d['idle'][0]) * 1024 / ok
            f['per_pss'] = (pss - d['idle'][1]) * 1024 / ok

    return f


def sendfloor(res, run):
    out = {}
    try:
        text = open(os.path.join(res, 'sendfloor-r%d.txt' % run)).read()
    except OSError:
        return None
    m = re.search(r'per send\s+min \S+\s+median (\S+)', text)
    if m:
        out['per_send'] = float(m.group(1))
    m = re.search(r'per round\s+min (\S+)\s+median (\S+)\s+max (\S+)', text)
    if m:
        out['round_min'] = float(m.group(1))
        out['round'] = float(m.group(2))
        out['round_max'] = float(m.group(3))
    out['text'] = text
    return out


ROWS = [
    ('connections open (of {conns:,})', 'ok', '{:,.0f}'),
    ('connections failed', 'failed', '{:,.0f}'),
    ('connections the server counted (/status, max)', 'counted', '{:,.0f}'),
    ('closed by the server', 'server_closed', '{:,.0f}'),
    ('waves published', 'published', '{:,.0f}'),
    ('deliveries a wave, % of open connections', 'complete', '{:.2f}'),
    ('lost', 'lost', '{:,.0f}'),
    ('wave latency p50 ms', 'p50', '{:,.1f}'),
    ('wave latency p99 ms', 'p99', '{:,.1f}'),
    ('time to the last delivery of a wave, ms', 'last', '{:,.1f}'),
    ('the worst wave\'s last delivery, ms', 'worst', '{:,.1f}'),
    ('server CPU, % of one core, over the waves', 'cpu', '{:,.0f}'),
    ('RSS idle, master + workers, MB', 'idle', '{:,.1f}'),
    ('RSS max connected, master + workers, MB', 'max', '{:,.1f}'),
    ('RSS per connection, bytes (max - idle) / open', 'per', '{:,.0f}'),
    ('PSS per connection, bytes', 'per_pss', '{:,.0f}'),
    ('workers\' RSS per connection (wsbench), bytes', 'w_per', '{:,.0f}'),
    ('nchan shared memory used, max, KB', 'shm', '{:,.0f}'),
]


def main():
    res, runs, conns, servers = (sys.argv[1], int(sys.argv[2]),
                                 int(sys.argv[3]), sys.argv[4].split())
    summary = len(sys.argv) > 5 and sys.argv[5] == 'summary'
    data = {s: [load(res, s, r) for r in range(1, runs + 1)]
            for s in servers}
    figs = {s: [figures(d, conns) for d in data[s]] for s in servers}
    floors = [sendfloor(res, r) for r in range(1, runs + 1)]

    print('## Medians over the runs\n')
    print('A wave is one 64-byte message published (HTTP POST to one worker,')
    print('PUBLISH to Redis, every worker fans it out to its share of the')
    print('subscribers); its latency runs from the publisher\'s send time to')
    print('the kernel\'s arrival time at the subscriber.  Each wave\'s p50,')
    print('p99 and max (the time to its last delivery), then the median')
    print('over the waves, then over the runs.\n')

    print('| | ' + ' | '.join(servers) + ' |')
    print('|---|' + '---:|' * len(servers))
    for label, key, spec in ROWS:
        cells = []
        for s in servers:
            cells.append(fmt(median([f.get(key) if f else None
                                     for f in figs[s]]), spec))
        print('| %s | %s |' % (label.format(conns=conns), ' | '.join(cells)))

    fl = [f for f in floors if f and 'round' in f]
    print()
    if fl:
        rnd = median([f['round'] for f in fl])
        print('The kernel\'s floor, bench/sendfloor with the same %s sockets'
              % '{:,}'.format(conns))
        print('split over six senders (as six workers), each with its reader,')
        print('measured at the start of each run: one round (one send() on')
        print('every socket, from the first send of any sender to the last)')
        print('takes a median **%s ms**, %s us per send in a sender\'s loop'
              % (fmt(rnd), fmt(median([f['per_send'] for f in fl]),
                                '{:.2f}')))
        print('(six senders share two CPUs with their readers).\n')
        print('| time to the last delivery of a wave / sendfloor round | '
              + ' | '.join(servers) + ' |')
        print('|---|' + '---:|' * len(servers))
        cells = []
        for s in servers:
            last = median([f.get('last') if f else None for f in figs[s]])
            cells.append('-' if last is None or not rnd
                         else '%.2f' % (last / rnd))
        print('| ratio | %s |' % ' | '.join(cells))
    else:
        print('sendfloor: not measured')
    print()

    if summary:
        return

    print('## Why connections failed, what the servers said\n')
    for s in servers:
        for r, d in enumerate(data[s], 1):
            f = figs[s][r - 1]
            head = '- %s, run %d: ' % (s, r)
            if d['fail']:
                print(head + 'did not start: ' + d['fail'])
                continue
            if f is None:
                print(head + 'no wsbench report (see its output below)')
                continue
            print(head + '%s of %s connections open, %s failed, %s closed '
                  'by the server%s' % ('{:,}'.format(f['ok']),
                                       '{:,}'.format(conns),
                                       '{:,}'.format(f['failed']),
                                       '{:,}'.format(f['server_closed']),
                                       ('; wsbench: ' + f['error'])
                                       if f['error'] else ''))
            errs = sorted(d['errors'].items(), key=lambda kv: -kv[1])
            for msg, n in errs[:6]:
                print('  - error.log, %d x: `` %s ``' % (n, msg))
    print()

    print('## Every run\n')
    for r in range(1, runs + 1):
        print('### Run %d\n' % r)
        for s in servers:
            f = figs[s][r - 1]
            d = data[s][r - 1]
            if f is None:
                continue
            print('%s: waves (p50 / p99 / last delivery, ms; deliveries):'
                  % s)
            print()
            for i, e in enumerate(waves(d['sc']), 1):
                lat = e['latency_ms']
                print('    wave %2d  %8.1f %8.1f %8.1f  %s' % (
                    i, lat['p50'], lat['p99'], lat['max'],
                    '{:,}'.format(e['received'])))
            print()
        if floors[r - 1]:
            print('```')
            print(floors[r - 1]['text'].rstrip())
            print('```')
            print()
        print('<details><summary>wsbench outputs, run %d</summary>\n' % r)
        for s in servers:
            print('```')
            print(data[s][r - 1]['text'].rstrip())
            print('```')
        print('</details>\n')


main()
