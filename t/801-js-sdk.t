# The JavaScript SDK (clients/js/ws-perf.js, docs/clients.md) against the
# real module: t/js/sdk.js runs each scenario with node ("ws" from
# build/npm, as util/deps.sh installs it) and prints a verdict.  The lz4
# decoder is checked against blocks made by python3-lz4, against hostile
# blocks and mutations, and against the frames the module sends; then
# subscribe, publish and unsubscribe (over ws and wss); at-least-once made
# exactly-once for the app across an nginx reload, a worker killed with
# SIGKILL and a Redis restart (AOF, appendfsync always), with clients
# dropping their connections at random; and the gap event.  The fallback
# to the event stream: /wsno refuses the upgrade with 403, /sse is the
# ws_perf_sse location the client reads instead (over http and https, in
# Redis mode and in local mode, and in headless Chromium).
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use WsPerf::PubSub;
use WsPerf::Redis;
use WsPerf::TLS ();

use Cwd ();

redis_start(port => 6491, appendonly => 1);

$WsPerf::PubSub::PYTHON = 'node';
$ENV{NODE_PATH} = Cwd::getcwd() . '/build/npm/node_modules';
$ENV{TEST_NGINX_SDK_CA} = WsPerf::TLS::tls_cert();
$ENV{TEST_NGINX_SDK_TLS_PORT} = WsPerf::TLS::tls_port();
# fetch (the event stream over https) trusts the test's certificate so
$ENV{NODE_EXTRA_CA_CERTS} = WsPerf::TLS::tls_cert();
my $listen = WsPerf::TLS::tls_listen();
my $top = Cwd::getcwd();

workers(2);
master_on();
worker_connections(1024);
no_shuffle();

pubsub_init(client => 't/js/sdk.js', http_config => <<'_EOC_', config => <<"_EOC_");
    ws_perf_redis redis://127.0.0.1:$TEST_NGINX_REDIS_PORT;
    ws_perf_offline_max 1000;
    ws_perf_ack_timeout 300ms;
    ws_perf_max_attempts 100;
    ws_perf_redis_reconnect 50ms 200ms;
    ws_perf_history 100;
_EOC_
$listen
    location /ws {
        ws_perf;
        ws_perf_user \$arg_user;
        ws_perf_channels \$arg_channels;
        ws_perf_allowed_channels room.*;
        ws_perf_client_publish on;
        ws_perf_subprotocols ws-perf.v1+lz4 ws-perf.v1;
    }
    location /wsp {
        ws_perf;
        ws_perf_presence on;
        ws_perf_subprotocols ws-perf.v1;
        ws_perf_user \$arg_user;
        ws_perf_channels \$arg_channels;
        ws_perf_allowed_channels room.*;
    }
    location /wsq {
        ws_perf;
        ws_perf_user \$arg_user;
        ws_perf_send_queue_size 16k;
    }
    location /wsno {
        return 403;
    }
    location /front/ {
        proxy_pass http://127.0.0.1:\$TEST_NGINX_SERVER_PORT/;
        proxy_read_timeout 1s;
    }
    location /wsstrip {
        proxy_pass http://127.0.0.1:\$TEST_NGINX_SERVER_PORT/ws;
    }
    location /sse {
        ws_perf_sse;
        ws_perf_user \$arg_user;
        ws_perf_channels \$arg_channels;
    }
    location /sseq {
        ws_perf_sse;
        ws_perf_user \$arg_user;
        ws_perf_send_queue_size 16k;
    }
    location = /ws-perf.js {
        alias $top/clients/js/ws-perf.js;
        default_type text/javascript;
    }
    location /pub {
        ws_perf_publish;
    }
    location = /favicon.ico {
        return 204;
    }
    location = /t {
        return 200 "ok\\n";
    }
_EOC_

run_tests();

__DATA__

=== TEST 1: the lz4 decoder: python3-lz4 blocks exactly, hostile blocks and mutations refused
--- request
GET /t
--- response_body
ok
--- pubsub
lz4-vectors
--- pubsub_out
python3-lz4 blocks decoded exactly: 30 of 30
hostile blocks refused with Lz4Error: 13 of 13
frames over the size bound or short refused: 3 of 3
mutated blocks: 3000, each refused or decoded to its declared size



=== TEST 2: the lz4 frames the module sends: negotiated, decoded as python3-lz4 does
--- request
GET /t
--- response_body
ok
--- pubsub
lz4-module channel=big
--- pubsub_out
lz4 client: protocol ws-perf.v1+lz4; plain client: protocol ws-perf.v1
large message: the page on both clients; binary frames on the lz4 client: 1, lz4 frames decoded by the sdk: 1; on the plain client: 0
small message: small as text
the frame decoded by the sdk and by python3-lz4: the same bytes; ratio under one half: true; envelope id matches
errors: 0



=== TEST 3: subscribe, publish, unsubscribe; refusals reject the promises
--- request
GET /t
--- response_body
ok
--- pubsub
basic
--- pubsub_out
states: connecting open
subscribed to room.1 and room.2
subscribe to secret: 403
publish to secret: 403
publish by the sdk: arrived, channel room.1, the id publish returned
after unsubscribe: room.2
states at the end: connecting open closed
timers left by the clients after close(): 0
errors: 0



=== TEST 4: the same over wss
--- request
GET /t
--- response_body
ok
--- pubsub
basic tls=$TEST_NGINX_SDK_TLS_PORT ca=$TEST_NGINX_SDK_CA
--- pubsub_out
states: connecting open
subscribed to room.1 and room.2
subscribe to secret: 403
publish to secret: 403
publish by the sdk: arrived, channel room.1, the id publish returned
after unsubscribe: room.2
states at the end: connecting open closed
timers left by the clients after close(): 0
errors: 0



=== TEST 5: acks required, clients dropping at random: every accepted message reaches the app once
--- request
GET /t
--- response_body
ok
--- pubsub
ledger fault=none users=4 msgs=200
--- pubsub_out
200 messages published for 4 users (none)
accepted: every one
received by the app: every accepted one
delivered to the app twice: 0
received that was not sent: 0; to another user: 0
every client reconnected: yes
awaiting an ack at the end: 0
--- timeout: 110



=== TEST 6: and nginx reloads (SIGHUP) halfway
--- request
GET /t
--- response_body
ok
--- pubsub
ledger fault=reload users=4 msgs=200
--- pubsub_out
200 messages published for 4 users (reload)
accepted: every one but those refused or cut during the fault
received by the app: every accepted one
delivered to the app twice: 0
received that was not sent: 0; to another user: 0
every client reconnected: yes
awaiting an ack at the end: 0
--- no_error_log
[alert]
[crit]
[emerg]
AddressSanitizer
runtime error:
--- timeout: 110



=== TEST 7: and a worker is killed with SIGKILL halfway
--- request
GET /t
--- response_body
ok
--- pubsub
ledger fault=kill users=4 msgs=200
--- pubsub_out
200 messages published for 4 users (kill)
accepted: every one but those refused or cut during the fault
received by the app: every accepted one
delivered to the app twice: 0
received that was not sent: 0; to another user: 0
every client reconnected: yes
awaiting an ack at the end: 0
--- error_log eval
qr/\[alert\] .*worker process \d+ exited on signal 9/
--- no_error_log
[crit]
[emerg]
AddressSanitizer
runtime error:
--- timeout: 110



=== TEST 8: and Redis (AOF, appendfsync always) restarts halfway
--- request
GET /t
--- response_body
ok
--- pubsub
ledger fault=redis users=4 msgs=200
--- pubsub_out
200 messages published for 4 users (redis)
accepted: every one but those refused or cut during the fault
received by the app: every accepted one
delivered to the app twice: 0
received that was not sent: 0; to another user: 0
every client reconnected: yes
awaiting an ack at the end: 0
--- no_error_log
[alert]
[crit]
[emerg]
AddressSanitizer
runtime error:
--- timeout: 110



=== TEST 9: gap event: the inbox no longer reaches back to the last id seen; a resumed event ends each resume
--- http_config
    ws_perf_redis redis://127.0.0.1:$TEST_NGINX_REDIS_PORT;
    ws_perf_offline_max 5;
--- request
GET /t
--- response_body
ok
--- pubsub
gap user=gapu keep=5
--- pubsub_out
gap event: since the last id seen, last the newest id
gap before the messages: true
messages after it: 6 7 8 9 10
then: resumed user gapu count 5 more false
after a short absence: msg a, msg b, resumed 2
gaps counted: 1; errors: 0



=== TEST 10: manual acks: copies of an unacked message are dropped; a handler that throws gets the message again
--- request
GET /t
--- response_body
ok
--- pubsub
acks user=acku
--- pubsub_out
unacked: redelivered, the app saw it 1 time(s)
after msg.ack(): nothing awaits an ack
handler threw: delivered again, then acked; errors: message handler failed: the app failed once



=== TEST 11: a resume longer than the send queue: the "more" notice is followed, no gap event
--- request
GET /t
--- response_body
ok
--- pubsub
more user=moreu n=60
--- pubsub_out
resume cut short by the send queue: yes; asked again by the sdk until done
protocol: null
messages: 60 of 60, in order; gap events: 0; errors: 0



=== TEST 12: the WebSocket upgrade refused (403): after two failures the sdk reads the event stream; subscribe and unsubscribe reopen it; publish goes over HTTP; a reload is resumed from Last-Event-ID with nothing lost and nothing twice; an ack cannot be sent on it
--- request
GET /t
--- response_body
ok
--- pubsub
fallback user=fbu
--- pubsub_out
states: connecting/websocket reconnecting/websocket reconnecting/sse open/sse; socket: null
subscribed on the stream to room.1 and room.2, state open/sse
subscribe to an invalid name: 400; the stream goes on: open
publish by the sdk over HTTP: arrived on the stream with its id
through a reload: 30 messages, each reached the app once; states after it: reconnecting/sse open/sse
resumed events: room.1 room.2 user; gap events: 0
after unsubscribe: room.1
a message asking for an ack: reached the app 1 time(s), sent again by the server; errors: 501 ack: not available on the event stream
states at the end: closed/sse
timers left after close(): 0
--- error_log eval
qr/event stream accepted, Last-Event-ID "\d+"/
--- no_error_log
[alert]
[crit]
[emerg]
AddressSanitizer
runtime error:
--- timeout: 60



=== TEST 13: the same over https (wss refused, the stream over TLS)
--- request
GET /t
--- response_body
ok
--- pubsub
fallback user=fbt tls=$TEST_NGINX_SDK_TLS_PORT ca=$TEST_NGINX_SDK_CA
--- pubsub_out
states: connecting/websocket reconnecting/websocket reconnecting/sse open/sse; socket: null
subscribed on the stream to room.1 and room.2, state open/sse
subscribe to an invalid name: 400; the stream goes on: open
publish by the sdk over HTTP: arrived on the stream with its id
through a reload: 30 messages, each reached the app once; states after it: reconnecting/sse open/sse
resumed events: room.1 room.2 user; gap events: 0
after unsubscribe: room.1
a message asking for an ack: reached the app 1 time(s), sent again by the server; errors: 501 ack: not available on the event stream
states at the end: closed/sse
timers left after close(): 0
--- no_error_log
[alert]
[crit]
[emerg]
AddressSanitizer
runtime error:
--- timeout: 60



=== TEST 14: no WebSocket at all: the stream from the start; a user and a channel resumed from one Last-Event-ID: a gap for the user, whose inbox no longer reaches back, with its own last id; none for the channel
--- http_config
    ws_perf_redis redis://127.0.0.1:$TEST_NGINX_REDIS_PORT;
    ws_perf_offline_max 5;
    ws_perf_history 5;
--- request
GET /t
--- response_body
ok
--- pubsub
fallback-gap user=fbg
--- pubsub_out
no WebSocket: states connecting/sse open/sse
gap events: user since its last id seen, last the newest
user messages after it: 4 5 6 7 8
channel messages after it: c1 c2
errors: 



=== TEST 15: in headless Chromium: the upgrade refused, the page's client falls back to the stream (fetch), subscribes, publishes over HTTP and gets its message once; the stream dropped by a front proxy's read timeout is made again from Last-Event-ID and a message published meanwhile arrives once
--- user_files
>>> fallback.html
<!DOCTYPE html>
<html>
<head><meta charset="utf-8"><title>running</title></head>
<body>
<pre id="result"></pre>
<script type="module">
import { WsPerfClient } from '/ws-perf.js';

const out = document.getElementById('result');
const log = (s) => { out.textContent += s + '\n'; };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function until(cond, ms, what) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timeout waiting for ' + what);
    await sleep(20);
  }
}

async function run() {
  const states = [], got = [];
  const resumed = new Set();
  let down = null;
  const c = new WsPerfClient('ws://' + location.host + '/wsno?user=web',
                             { sse: '/front/sse?user=web', publishUrl: '/pub',
                               minDelay: 50, maxDelay: 200 });
  c.on('state', (s, t) => {
    states.push(s + '/' + t);
    if (s === 'reconnecting' && t === 'sse' && armed && !down) {
      down = c.publish('room.b', { n: 'while down' });
    }
  });
  c.on('message', (m) => { got.push(m); });
  c.on('resumed', (r) => { resumed.add(r.channel || 'user ' + r.user); });
  let armed = false;
  c.connect();
  await until(() => c.state === 'open', 15000, 'open');
  log('states: ' + states.join(' '));
  await c.subscribe('room.b');
  log('subscribed on the stream: ' + c.transport);
  let id, n = 0;
  const end = Date.now() + 10000;
  do {
    id = await c.publish('room.b', { n: n++ });
    await sleep(100);
  } while (!got.some((m) => m.id === id) && Date.now() < end);
  const m = got.find((x) => x.id === id);
  log('published by the page over HTTP, got on the stream: '
      + (m ? m.channel + ', the id publish returned' : 'NOTHING'));
  log('each message once: '
      + (new Set(got.map((x) => x.id)).size === got.length));

  armed = true;
  await until(() => down !== null, 15000, 'the proxy to drop the stream');
  const idDown = await down;
  await until(() => got.some((x) => x.id === idDown)
                    && resumed.size === 2, 15000, 'the message and resumes');
  log('dropped by the proxy, made again from Last-Event-ID: resumed '
      + [...resumed].sort().join(', '));
  log('published while it was down: arrived '
      + got.filter((x) => x.id === idDown).length + ' time(s); each once: '
      + (new Set(got.map((x) => x.id)).size === got.length));
  c.close();
  log('at the end: ' + c.state);
}

run().then(() => { document.title = 'done'; },
           (e) => { log('FAIL ' + e.message); document.title = 'failed'; });
</script>
</body>
</html>
--- request
GET /fallback.html
--- response_body_like: <title>running</title>
--- pubsub
browser
--- pubsub_out
states: connecting/websocket reconnecting/websocket reconnecting/sse open/sse
subscribed on the stream: sse
published by the page over HTTP, got on the stream: room.b, the id publish returned
each message once: true
dropped by the proxy, made again from Last-Event-ID: resumed room.b, user web
published while it was down: arrived 1 time(s); each once: true
at the end: closed
--- error_log
upstream timed out
--- no_error_log
[alert]
[crit]
[emerg]
AddressSanitizer
runtime error:
--- timeout: 120



=== TEST 16: WebSocket refused twice by a front proxy that drops the Upgrade header, then let through: on the stream, and when the stream drops after webSocketRetry the client goes back to WebSocket, which resumes where the stream stopped
--- request
GET /t
--- response_body
ok
--- pubsub
fallback-return user=fbr
--- pubsub_out
states: connecting/websocket reconnecting/websocket reconnecting/sse open/sse reconnecting/websocket open/websocket
messages: 10, each once: true; the last ones over websocket (protocol ws-perf.v1+lz4)
--- error_log
websocket handshake rejected: HTTP/1.1 required



=== TEST 17: the same resume from one Last-Event-ID in local mode (the shared-memory engine, whose ids are "<ms>-<worker>-<seq>")
--- http_config
    ws_perf_offline_max 5;
    ws_perf_history 5;
--- request
GET /t
--- response_body
ok
--- pubsub
fallback-gap user=fbl
--- pubsub_out
no WebSocket: states connecting/sse open/sse
gap events: user since its last id seen, last the newest
user messages after it: 4 5 6 7 8
channel messages after it: c1 c2
errors: 



=== TEST 18: a resume longer than the stream's send queue: the "more" gap is followed by a new stream from where it stopped, no gap event
--- request
GET /t
--- response_body
ok
--- pubsub
fallback-more user=fbm n=60
--- pubsub_out
resume cut short by the send queue: yes; followed by new streams until done
messages: 60 of 60, in order; gap events: 0; errors: 0



=== TEST 19: the stream reader: CRLF, LF and CR line ends, comments, multi-line data, ids; the same events however the bytes are cut; a line over the bound refused
--- request
GET /t
--- response_body
ok
--- pubsub
sse-parser
--- pubsub_out
events: [["high","{\"a\":1}","17"],["message","line one\nline two","17"],["message","café €","18"],["gap","","18"],["message","after an id alone","19"]]
cut into two at every byte, and byte by byte: 154 of 154 the same
a line over the bound: WsPerfError



=== TEST 20: presence: join and leave events (one per user, two tabs), a count to presence(), and a subscribe whose own join arrives about its reply still resolves
--- request
GET /t
--- response_body
ok
--- pubsub
presence
--- pubsub_out
events: join pia, join quin, leave pia
presence(room.p): 1
errors: 0
