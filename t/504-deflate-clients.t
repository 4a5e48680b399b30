# permessage-deflate (RFC 7692, docs/protocol.md) with clients that offer it
# by default: python3-websockets over a series of offers (Autobahn
# category 13 in spirit: the server accepts or declines each, and echoes
# messages of 16 B to 128 KB), node's "ws" compressing every message, and
# headless Chromium; a fan-out where each message is compressed once per
# worker and form whatever the number of subscribers (the status counters
# say so); per-connection inflate contexts counted while they live.
# The scenarios are t/pubsub/deflate.py.
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use WsPerf::PubSub;
use WsPerf::Engine;

pubsub_init(client => 't/pubsub/deflate.py', config => <<'_EOC_');
    location /echo {
        ws_perf_echo;
        ws_perf_deflate on;
        ws_perf_max_message_size 2m;
    }
    location /ws {
        ws_perf;
        ws_perf_deflate on;
        ws_perf_channels $arg_channels;
    }
    location /raw {
        ws_perf;
        ws_perf_deflate on;
        ws_perf_format raw;
        ws_perf_channels $arg_channels;
    }
    location /pub {
        ws_perf_publish;
    }
    location /status {
        ws_perf_status;
    }
    location = /t {
        return 200 "ok\n";
    }
    location = /favicon.ico {
        return 204;
    }
_EOC_

no_shuffle();
run_tests();

__DATA__

=== TEST 1: python3-websockets: offers accepted and declined, 16 B to 128 KB echoed, compressed from 128 B
--- request
GET /t
--- response_body
ok
--- pubsub
echo offers=default,client-no-context,server-no-context,client-window-9,server-window-15,server-window-9,all
--- pubsub_out
default: permessage-deflate; server_no_context_takeover; client_no_context_takeover
default: 16 echoes ok, 12 compressed
client-no-context: permessage-deflate; server_no_context_takeover; client_no_context_takeover
client-no-context: 16 echoes ok, 12 compressed
server-no-context: permessage-deflate; server_no_context_takeover; client_no_context_takeover
server-no-context: 16 echoes ok, 12 compressed
client-window-9: permessage-deflate; server_no_context_takeover; client_no_context_takeover
client-window-9: 16 echoes ok, 12 compressed
server-window-15: permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=15
server-window-15: 16 echoes ok, 12 compressed
server-window-9: None
server-window-9: 16 echoes ok, 0 compressed
all: permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=15
all: 16 echoes ok, 12 compressed
--- timeout: 60



=== TEST 2: node ws: every message compressed by the client, inflated and echoed
--- request
GET /t
--- response_body
ok
--- pubsub
node
--- pubsub_out
node default: permessage-deflate; server_no_context_takeover; client_no_context_takeover
node default: 16 echoes ok, close 1000
node client-window-10: permessage-deflate; server_no_context_takeover; client_no_context_takeover
node client-window-10: 16 echoes ok, close 1000
node server-window-15: permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=15
node server-window-15: 16 echoes ok, close 1000
node no-context: permessage-deflate; server_no_context_takeover; client_no_context_takeover
node no-context: 16 echoes ok, close 1000
--- timeout: 60



=== TEST 3: headless Chromium negotiates it by default and echoes 100 KB text and binary
--- request
GET /t
--- response_body
ok
--- user_files
>>> deflate.html
<!DOCTYPE html>
<html>
<head><meta charset="utf-8"><title>running</title></head>
<body>
<pre id="result"></pre>
<script>
'use strict';
const out = document.getElementById('result');
const log = (s) => { out.textContent += s + '\n'; };
const scheme = location.protocol === 'https:' ? 'wss://' : 'ws://';

function session() {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(scheme + location.host + '/echo');
    ws.binaryType = 'arraybuffer';
    const text = '{"data":"h\u00e9llo w\u00f6rld \u4e16\u754c"} '.repeat(4000);
    const bin = new Uint8Array(100000);
    for (let i = 0; i < bin.length; i++) bin[i] = (i * 7) & 0x3f;
    const t = setTimeout(() => reject(new Error('no echo within 20s')), 20000);
    let step = 0;
    ws.onopen = () => {
      log('extensions: ' + ws.extensions);
      ws.send(text);
    };
    ws.onmessage = (e) => {
      if (step === 0) {
        log('text ' + (e.data === text ? 'ok' : 'differs'));
        step = 1;
        ws.send(bin);
        return;
      }
      const got = new Uint8Array(e.data);
      let same = got.length === bin.length;
      for (let i = 0; same && i < got.length; i++) same = got[i] === bin[i];
      log('binary ' + (same ? 'ok' : 'differs'));
      ws.close(1000);
    };
    ws.onclose = (e) => { clearTimeout(t); log('close ' + e.code); resolve(); };
  });
}

session().then(() => { document.title = 'done'; },
               (e) => { log('FAIL ' + e.message); document.title = 'failed'; });
</script>
</body>
</html>
--- pubsub
chromium
--- pubsub_out
extensions: permessage-deflate; server_no_context_takeover; client_no_context_takeover
text ok
binary ok
close 1000
--- timeout: 90



=== TEST 4: fan-out: one compression per message and form in the worker, whatever the subscribers
--- request
GET /t
--- response_body
ok
--- pubsub
fanout subs=20 plain=4 msgs=20
--- pubsub_out
40 of 44 subscribers negotiated permessage-deflate
connections with deflate: 40 more
every subscriber got the 20 messages: yes
frames received compressed: 800
compressions in the worker: 40
compressed to under half: yes
--- timeout: 60



=== TEST 5: ws_perf_deflate_client_context 15: each client keeps its context, counted while it lives
--- http_config
    ws_perf_deflate_client_context 15;
--- request
GET /t
--- response_body
ok
--- pubsub
contexts conns=3 msgs=10
--- pubsub_out
answer: permessage-deflate; server_no_context_takeover; client_max_window_bits=15
10 echoes on each connection: ok
inflate contexts: 3
their memory within the bound: yes
after close: 0 contexts, 0 bytes
--- timeout: 30



=== TEST 6: resume: the compressed command is inflated, the history compressed for the connection
--- http_config
    ws_perf_history 10;
--- request
GET /t
--- response_body
ok
--- pubsub
resume channel=hist n=5
--- pubsub_out
resume after the first of 5: 4 messages as published, then resumed
frames received compressed: 4
inflated in the worker: 1, compressed: 4
