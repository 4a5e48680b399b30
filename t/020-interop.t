# Echo sessions held by independent WebSocket implementations against
# ws_perf_echo: python3-websockets, node's "ws" and headless Chromium (a
# page served by nginx from the html dir, driven by playwright-core).
# The client programs live in t/interop/; "--- interop: NAME" runs one
# once nginx answered the block's trivial request, and its output must be
# "--- interop_out".  A missing client (python3-websockets, node, ws,
# playwright-core, chromium) fails the block: `make deps` installs them.
#
# The echo location pings every 200ms and closes after 1s without client
# traffic; each client waits 1.5s in the middle of its session, so it is
# still open afterwards only if the client library answered the pings.
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use WsPerf::Client;

use Cwd ();

our $ECHO = <<'_EOC_';
    location /echo {
        ws_perf_echo;
        ws_perf_ping_interval 200ms;
        ws_perf_idle_timeout 1s;
    }
    location = /t {
        return 200 "ok\n";
    }
    location = /favicon.ico {
        return 204;
    }
_EOC_

my $top = Cwd::getcwd();
my $npm = "$top/build/npm/node_modules";

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value('config', $ECHO . ($block->config || ''));
    $block->set_value('request', "GET /t\n") unless defined $block->request;
    $block->set_value('response_body', "ok\n")
        unless defined $block->response_body
               || defined $block->response_body_like;
    $block->set_value('no_error_log', "[error]\n[alert]\n[crit]")
        unless defined $block->no_error_log;
});

add_response_body_check(sub {
    my ($block, $body, $req_idx, $rep_idx, $dry_run) = @_;
    my $client = $block->interop;
    return unless defined $client;
    $client =~ s/^\s+|\s+$//g;
    my $name = $block->name . " - $client";

    if ($dry_run) {
        SKIP: { Test::More::skip("$name - skipped due to $dry_run", 2) }
        return;
    }

    my $port = ws_port();
    my @cmd;
    my @missing;
    local $ENV{NODE_PATH} = $npm;

    if ($client eq 'python3-websockets') {
        @cmd = ('/usr/bin/python3', "$top/t/interop/echo_client.py",
                "ws://127.0.0.1:$port/echo");
        push @missing, '/usr/bin/python3' unless -x '/usr/bin/python3';

    } elsif ($client eq 'node-ws') {
        @cmd = ('node', "$top/t/interop/echo_client.js",
                "ws://127.0.0.1:$port/echo");
        push @missing, "$npm/ws" unless -f "$npm/ws/package.json";

    } elsif ($client eq 'chromium') {
        @cmd = ('node', "$top/t/interop/chromium_echo.js",
                "http://127.0.0.1:$port/interop.html");
        push @missing, "$npm/playwright-core"
            unless -f "$npm/playwright-core/package.json";
        push @missing, '/usr/bin/chromium' unless -x '/usr/bin/chromium';

    } else {
        Test::More::fail("$name - unknown --- interop client");
        return;
    }

    if (@missing) {
        Test::More::fail("$name - missing: @missing (run `make deps`)");
        return;
    }

    my ($status, $out, $err) = run_program(90, @cmd);
    Test::More::is($status, 0, "$name - exit status")
        or Test::More::diag("stderr:\n" . substr($err, -3000));
    my $want = $block->interop_out;
    Test::More::is($out, $want, "$name - session output")
        or Test::More::diag("stderr:\n" . substr($err, -3000));
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: python3-websockets: text, binary, 1 MiB messages, fragments, ping, clean close
--- interop: python3-websockets
--- interop_out
open ok
text ok
unicode ok
binary ok
empty binary ok
1MiB binary ok
1MiB text ok
fragmented ok
ping ok
after idle ok
close 1000 ''
--- timeout: 10



=== TEST 2: node ws: text, binary, 1 MiB messages, fragments, ping, clean close
--- interop: node-ws
--- interop_out
open ok
text ok
unicode ok
binary ok
empty binary ok
1MiB binary ok
1MiB text ok
fragmented ok
ping ok
after idle ok
close 1000 ''
--- timeout: 10



=== TEST 3: headless Chromium: a page served by nginx holds the session
--- config
    location /proto {
        ws_perf_echo;
        ws_perf_subprotocols chat;
    }
    location /refused {
        ws_perf_echo;
        ws_perf_allowed_origins https://example.com;
    }
--- user_files
>>> interop.html
<!DOCTYPE html>
<html>
<head><meta charset="utf-8"><title>running</title></head>
<body>
<pre id="result"></pre>
<script>
'use strict';
const out = document.getElementById('result');
const log = (s) => { out.textContent += s + '\n'; };
const base = 'ws://' + location.host;
const MIB = 1 << 20;

function connect(path, protocols) {
  return new Promise((resolve, reject) => {
    const ws = protocols ? new WebSocket(base + path, protocols)
                         : new WebSocket(base + path);
    ws.binaryType = 'arraybuffer';
    ws.got = [];
    ws.waiting = null;
    ws.onmessage = (e) => {
      if (ws.waiting) { const w = ws.waiting; ws.waiting = null; w(e.data); }
      else ws.got.push(e.data);
    };
    ws.onopen = () => resolve(ws);
    ws.onclose = (e) => reject(new Error('closed before open ' + e.code));
  });
}

function next(ws) {
  if (ws.got.length) return Promise.resolve(ws.got.shift());
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('no echo within 10s')), 10000);
    ws.waiting = (d) => { clearTimeout(t); resolve(d); };
    ws.onclose = (e) => reject(new Error('closed ' + e.code));
  });
}

function pattern(n, seed) {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = ((i % 1021) * 167 + seed * 13 + 11) & 0xff;
  return b;
}

async function expect(ws, want, step) {
  const got = await next(ws);
  if (typeof want === 'string') {
    if (typeof got !== 'string') throw new Error(step + ': got binary');
    if (got !== want) throw new Error(step + ': echo differs');
  } else {
    if (!(got instanceof ArrayBuffer)) throw new Error(step + ': got text');
    const g = new Uint8Array(got);
    if (g.length !== want.length) throw new Error(step + ': ' + g.length + ' bytes');
    for (let i = 0; i < g.length; i++) {
      if (g[i] !== want[i]) throw new Error(step + ': byte ' + i + ' differs');
    }
  }
  log(step + ' ok');
}

function closed(ws) {
  return new Promise((resolve) => { ws.onclose = (e) => resolve(e); });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function run() {
  const ws = await connect('/echo');
  if (ws.protocol !== '') throw new Error('subprotocol ' + ws.protocol);
  if (ws.extensions !== '') throw new Error('extensions ' + ws.extensions);
  log('open ok');

  ws.send('hello from chromium');
  await expect(ws, 'hello from chromium', 'text');

  const word = '\u03ba\u1f79\u03c3\u03bc\u03b5 \u{1f600} \u4e16\u754c';
  ws.send(word);
  await expect(ws, word, 'unicode');

  const all = new Uint8Array(256).map((v, i) => i);
  ws.send(all.buffer);
  await expect(ws, all, 'binary');

  ws.send(new ArrayBuffer(0));
  await expect(ws, new Uint8Array(0), 'empty binary');

  const big = pattern(MIB, 3);
  ws.send(big.buffer);
  await expect(ws, big, '1MiB binary');

  const text = '0123456789abcdef'.repeat(MIB / 16);
  ws.send(text);
  await expect(ws, text, '1MiB text');

  // longer than the idle timeout: Chromium answers the server's pings
  await sleep(1500);
  ws.send('still open');
  await expect(ws, 'still open', 'after idle');

  const c = closed(ws);
  ws.close(1000, 'bye');
  const e = await c;
  log('close ' + e.code + ' clean=' + e.wasClean);

  const p = await connect('/proto', ['nope', 'chat']);
  log('subprotocol ' + p.protocol);
  const pc = closed(p);
  p.close(1000);
  log('close ' + (await pc).code);

  try {
    await connect('/refused');
    log('refused origin: opened');
  } catch (err) {
    log('refused origin: ' + err.message);
  }
}

run().then(() => { document.title = 'done'; },
           (e) => { log('FAIL ' + e.message); document.title = 'failed'; });
</script>
</body>
</html>
--- request
GET /interop.html
--- response_body_like: <title>running</title>
--- interop: chromium
--- interop_out
open ok
text ok
unicode ok
binary ok
empty binary ok
1MiB binary ok
1MiB text ok
after idle ok
close 1000 clean=true
subprotocol chat
close 1000
refused origin: closed before open 1006
--- timeout: 10
