# wss: the module behind nginx's own ssl listener, with http2 on the same
# listener, driven by three independent clients (python3-websockets, node
# "ws", headless Chromium) and the raw pub/sub client of t/pubsub/ with its
# TLS option.  The certificate is self-signed, made by the test
# (WsPerf::TLS); python, node and curl verify against it, Chromium ignores
# certificate errors.
#
# "--- tls_client: KIND ARGS" runs one client once nginx answered the
# block's trivial request; its output must be "--- tls_out".  KIND is
# python-echo or node-echo (t/interop/echo_client.*: messages of 1 byte up
# to ws_perf_max_message_size, one over it, ping, close, idle close),
# chromium (a page served over https, so over h2, holding wss sessions)
# or pubsub SCENARIO (t/pubsub/client.py --tls).
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use WsPerf::Client;
use WsPerf::TLS;

use Cwd ();

my $top = Cwd::getcwd();
my $npm = "$top/build/npm/node_modules";
my $port = tls_port();
my $listen = tls_listen($port);

our $CONFIG = <<"_EOC_";
$listen
    location /echo {
        ws_perf_echo;
        ws_perf_max_message_size 512k;
    }
    location /idle {
        ws_perf_echo;
        ws_perf_ping_interval 0;
        ws_perf_idle_timeout 500ms;
    }
    location /slow {
        ws_perf_echo;
        ws_perf_ping_interval 0;
    }
    location /ws {
        ws_perf;
        ws_perf_channels \$arg_channels;
        ws_perf_user \$arg_user;
        ws_perf_allowed_channels room.*;
        ws_perf_client_publish on;
    }
    location /pub {
        ws_perf_publish;
    }
    location ~ ^/pubcork/(\\w+)\$ {
        ws_perf_publish;
        ws_perf_channels \$1;
        tcp_nopush on;
    }
    location = /t {
        return 200 "ok\\n";
    }
    location = /favicon.ico {
        return 204;
    }
_EOC_

workers(1);
master_on();
no_shuffle();

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value('config', $CONFIG . ($block->config || ''));
    $block->set_value('http_config', "    ws_perf_history 10;\n");
    $block->set_value('request', "GET /t\n") unless defined $block->request;
    $block->set_value('response_body', "ok\n")
        unless defined $block->response_body
               || defined $block->response_body_like;
    $block->set_value('no_error_log', "[error]\n[alert]\n[crit]\n[emerg]\n"
                                      . "runtime error:\nAddressSanitizer\n")
        unless defined $block->no_error_log;
    $block->set_value('timeout', 10) unless defined $block->timeout;
});

add_response_body_check(sub {
    my ($block, $body, $req_idx, $rep_idx, $dry_run) = @_;
    my $spec = $block->tls_client;
    return unless defined $spec;
    $spec =~ s/^\s+|\s+$//g;
    my ($kind, @args) = split ' ', $spec;
    my $name = $block->name . " - $kind";

    if ($dry_run) {
        SKIP: { Test::More::skip("$name - skipped due to $dry_run", 2) }
        return;
    }

    no warnings 'once';
    my $root = $Test::Nginx::Util::ServRoot;
    s/\$SERVROOT\b/$root/g for @args;
    my $cert = tls_cert();
    my $wss = "wss://127.0.0.1:$port";
    my @cmd;
    my @missing;
    local $ENV{NODE_PATH} = $npm;

    if ($kind eq 'python-echo') {
        @cmd = ('/usr/bin/python3', "$top/t/interop/echo_client.py",
                '--ca', $cert, '--max', 512 * 1024, '--idle', "$wss/idle",
                "$wss/echo");

    } elsif ($kind eq 'node-echo') {
        @cmd = ('node', "$top/t/interop/echo_client.js",
                '--ca', $cert, '--max', 512 * 1024, '--idle', "$wss/idle",
                "$wss/echo");
        push @missing, "$npm/ws" unless -f "$npm/ws/package.json";

    } elsif ($kind eq 'chromium') {
        @cmd = ('node', "$top/t/interop/chromium_echo.js",
                "https://127.0.0.1:$port/tls.html");
        push @missing, "$npm/playwright-core"
            unless -f "$npm/playwright-core/package.json";
        push @missing, '/usr/bin/chromium' unless -x '/usr/bin/chromium';

    } elsif ($kind eq 'pubsub') {
        @cmd = ('/usr/bin/python3', "$top/t/pubsub/client.py",
                '--port', $port, '--tls', $cert, @args);

    } else {
        Test::More::fail("$name - unknown --- tls_client");
        return;
    }

    push @missing, '/usr/bin/python3' unless -x '/usr/bin/python3';
    if (@missing) {
        Test::More::fail("$name - missing: @missing (run `make deps`)");
        return;
    }

    my ($status, $out, $err) = run_program(90, @cmd);
    Test::More::is($status, 0, "$name - exit status")
        or Test::More::diag("stderr:\n" . substr($err, -3000));
    Test::More::is($out, $block->tls_out, "$name - session output")
        or Test::More::diag("stderr:\n" . substr($err, -3000));
});

run_tests();

__DATA__

=== TEST 1: python3-websockets over wss: 1 byte to max_message_size, 1009 over it, ping, close, idle close
--- tls_client: python-echo
--- tls_out
open ok
echo 1 byte to max_message_size ok
ping ok
close 1000, answered at once
max_message_size + 1: close 1009
idle: server closed with 1001



=== TEST 2: node ws over wss: the same session
--- tls_client: node-echo
--- tls_out
open ok
echo 1 byte to max_message_size ok
ping ok
close 1000, answered at once
max_message_size + 1: close 1009
idle: server closed with 1001



=== TEST 3: every ws-perf.v1 command over wss, publishing over https
--- tls_client: pubsub commands
--- tls_out
handshake 101
subscribed by the url: got the published message
ping: pong
sub: subscribed room.2
got a message to room.2
unsub: unsubscribed room.2
pub: published, id given
the client's message came back with that id: True
after unsub, nothing from room.2: True
a message asking an ack: ack True
ack: acked, same id True
resume since the first: the other two again in order True, {"channel": "room.1", "count": 2, "type": "resumed"}
close: the server answered 1000 and closed at once



=== TEST 4: a slow reader over wss (partial SSL writes): every echo whole and in order
--- tls_client: pubsub slow-echo
--- tls_out
handshake 101
the server stopped reading with over 1 MiB in flight
every echo whole and in order: True
close 1000



=== TEST 5: HTTP/2 on the same listener: curl publishes over h2 to a wss subscriber
--- tls_client eval
"pubsub h2-publish cacert=" . tls_cert()
--- tls_out
websocket handshake 101
curl publish: HTTP/2 202
the subscriber got it
curl channel info: HTTP/2 200, 1 subscriber(s)
curl websocket handshake: HTTP/2 400 websocket: HTTP/1.1 required



=== TEST 6: headless Chromium: a page loaded over h2 holds wss sessions on the same listener
--- user_files
>>> tls.html
<!DOCTYPE html>
<html>
<head><meta charset="utf-8"><title>running</title></head>
<body>
<pre id="result"></pre>
<script>
'use strict';
const out = document.getElementById('result');
const log = (s) => { out.textContent += s + '\n'; };
const base = 'wss://' + location.host;
const MAX = 512 * 1024;

function connect(path) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(base + path);
    ws.binaryType = 'arraybuffer';
    ws.got = [];
    ws.wake = null;
    ws.onmessage = (e) => {
      ws.got.push(e.data);
      if (ws.wake) ws.wake();
    };
    ws.onopen = () => resolve(ws);
    ws.onclose = (e) => reject(new Error('closed before open ' + e.code));
  });
}

// the first message (taken off the list) that pred accepts, within 10s
function take(ws, pred, what) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('no ' + what)), 10000);
    const look = () => {
      const i = ws.got.findIndex(pred);
      if (i < 0) return;
      ws.wake = null;
      clearTimeout(t);
      resolve(ws.got.splice(i, 1)[0]);
    };
    ws.wake = look;
    ws.onclose = (e) => reject(new Error(what + ': closed ' + e.code));
    look();
  });
}

function closed(ws) {
  return new Promise((resolve) => { ws.onclose = (e) => resolve(e); });
}

function pattern(n, seed) {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = ((i % 1021) * 167 + seed * 13 + 11) & 0xff;
  return b;
}

function same(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const json = (t) => (typeof t === 'string' ? JSON.parse(t) : {});

async function publish(body) {
  const r = await fetch('/pub', { method: 'POST', body: JSON.stringify(body) });
  if (r.status !== 202) throw new Error('publish: ' + r.status);
  return r.json();
}

async function command(ws, cmd, type) {
  ws.send(JSON.stringify(cmd));
  return json(await take(ws, (m) => json(m).type === type, type));
}

async function echo() {
  const ws = await connect('/echo');
  const sizes = [1, 125, 126, 127, 16383, 16384, 16385, 65535, 65536, 65537,
                 100000, MAX / 2, MAX - 1, MAX];
  for (const n of sizes) {
    const b = pattern(n, n % 7);
    ws.send(b.buffer);
    const got = await take(ws, () => true, 'echo of ' + n + ' bytes');
    if (!same(new Uint8Array(got), b)) throw new Error('echo of ' + n + ' differs');
    const text = '0123456789abcdef'.repeat(n / 16 + 1).slice(0, n);
    ws.send(text);
    if (await take(ws, () => true, 'text echo') !== text)
      throw new Error('text echo of ' + n + ' differs');
  }
  log('echo 1 byte to max_message_size ok');
  const c = closed(ws);
  const start = Date.now();
  ws.close(1000);
  const e = await c;
  log('close ' + e.code + ' clean=' + e.wasClean
      + (Date.now() - start < 1000 ? ', answered at once' : ', late'));

  const over = await connect('/echo');
  const oc = closed(over);
  over.send(pattern(MAX + 1, 1).buffer);
  log('max_message_size + 1: close ' + (await oc).code);
}

async function pubsub() {
  const ws = await connect('/ws?user=carol&channels=room.1');
  await publish({ channel: 'room.1', data: 'over h2' });
  await take(ws, (m) => json(m).data === 'over h2', 'published message');
  const proto = performance.getEntriesByType('resource')
    .filter((r) => r.name.endsWith('/pub')).map((r) => r.nextHopProtocol);
  const page = performance.getEntriesByType('navigation')[0].nextHopProtocol;
  log('page over ' + page + ', publish over ' + proto[0] + ': delivered');

  log('ping: ' + (await command(ws, { type: 'ping' }, 'pong')).type);
  log('sub: ' + (await command(ws, { type: 'sub', channel: 'room.2' },
                               'subscribed')).channel);
  log('unsub: ' + (await command(ws, { type: 'unsub', channel: 'room.2' },
                                 'unsubscribed')).channel);
  const p = await command(ws, { type: 'pub', channel: 'room.1', data: 'mine' },
                          'published');
  const mine = json(await take(ws, (m) => json(m).data === 'mine', 'own message'));
  log('pub: came back with its id ' + (mine.id === p.id));

  await publish({ user: 'carol', data: 'ack me', ack: true });
  const a = json(await take(ws, (m) => json(m).data === 'ack me', 'ack message'));
  const acked = await command(ws, { type: 'ack', id: a.id }, 'acked');
  log('ack: ' + acked.type + ' ' + (acked.id === a.id));

  const r = await publish([{ channel: 'room.1', data: 'h0' },
                           { channel: 'room.1', data: 'h1' },
                           { channel: 'room.1', data: 'h2' }]);
  await take(ws, (m) => json(m).data === 'h2', 'three messages');
  ws.got = [];
  const done = await command(ws, { type: 'resume', channel: 'room.1',
                                   since: r.ids[0] }, 'resumed');
  const again = ws.got.map(json).filter((m) => m.type === 'msg').map((m) => m.id);
  log('resume: ' + done.count + ' again, in order '
      + (again.join() === r.ids.slice(1).join()));

  const c = closed(ws);
  ws.close(1000);
  log('close ' + (await c).code);
}

echo().then(pubsub).then(() => { document.title = 'done'; },
           (e) => { log('FAIL ' + e.message); document.title = 'failed'; });
</script>
</body>
</html>
--- tls_client: chromium
--- tls_out
echo 1 byte to max_message_size ok
close 1000 clean=true, answered at once
max_message_size + 1: close 1009
page over h2, publish over h2: delivered
ping: pong
sub: room.2
unsub: room.2
pub: came back with its id true
ack: acked true
resume: 2 again, in order true
close 1000



=== TEST 7: nginx -s reload closes open wss connections with 1001
--- tls_client: pubsub going-away pidfile=$SERVROOT/logs/nginx.pid
--- tls_out
handshakes 101 101
echo 'before', ping pong
reload: echo closed with 1001, pub/sub closed with 1001, promptly
a new connection after the reload: 101, echo 'after'



=== TEST 8: pipelined publishes over https under tcp_nopush on: the TLS records of the answers leave corked together, and an unfinished request does not hold back those before it
--- tls_client: pubsub pipelined path=/pubcork/corkch n=20 part=1
--- tls_out
first answer: HTTP/1.1 202 Accepted
20 answers 202 of 20
in at most 3 segments
2 whole and a part: 2 answers, not held back
the rest: 1 answer



=== TEST 9: over https, a pipelined publish under tcp_nopush on, then a wss handshake on the same connection in a location without it: nothing stays corked
--- tls_client: pubsub pipelined-upgrade pub=/pubcork/corkws ws=/ws?channels=room.cork
--- tls_out
answers: HTTP/1.1 202 Accepted, HTTP/1.1 101 Switching Protocols
the 202 and the 101 not held back
message not held back
