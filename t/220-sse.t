# The EventSource fallback (docs/protocol.md, "Event streams"): ws_perf_sse
# serves the channels and the user of ws_perf_channels / ws_perf_user as
# text/event-stream, ids as "id:" lines, priorities other than normal and
# the server's notices as event types; Last-Event-ID resumes as a
# WebSocket "resume" does, gap included; a stream that stops reading holds
# at most ws_perf_send_queue_size and is closed after ws_perf_idle_timeout
# or when a critical message cannot fit; requests that are not a stream's
# get a clear status.  The client (t/pubsub/sse.py) parses the stream on
# its own, and curl -N reads it too.
#
# The stream that stops reading connects over a unix socket: the kernel
# then holds a fixed amount for it (t/207-pubsub-overflow.t).
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use WsPerf::Engine;
use WsPerf::PubSub;

master_on();
worker_connections(1024);
no_shuffle();

pubsub_init(client => 't/pubsub/sse.py', http_config => <<'_EOC_',
    ws_perf_history 5;
    server {
        listen unix:$TEST_NGINX_SERVER_ROOT/logs/h2.sock http2;
        location /sse {
            ws_perf_sse;
            ws_perf_channels $arg_channels;
        }
    }
    server {
        listen unix:$TEST_NGINX_SERVER_ROOT/logs/sse.sock;
        location /sseq {
            ws_perf_sse;
            ws_perf_channels $arg_channels;
            ws_perf_send_queue_size 64k;
            ws_perf_idle_timeout 1s;
        }
        location /sseb {
            ws_perf_sse;
            ws_perf_channels $arg_channels;
            ws_perf_send_queue_size 64k;
        }
    }
_EOC_
            config => <<'_EOC2_');
    location /sse {
        ws_perf_sse;
        ws_perf_channels $arg_channels;
        ws_perf_user $arg_user;
        ws_perf_ping_interval 200ms;
        ws_perf_max_connections_per_user 1;
    }
    location /front/ {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/;
        proxy_read_timeout 5s;
    }
    location /pub {
        ws_perf_publish;
    }
    location = /status {
        ws_perf_status;
    }
_EOC2_

run_tests();

__DATA__

=== TEST 1: channels and a user on one stream: each message with its id, its priority as event type (normal ones are "message" events) and the JSON envelope as data
--- request
GET /pub?channel=a
--- response_body_like: "subscribers":0
--- pubsub
deliver
--- pubsub_out
status 200, text/event-stream
cache-control: no-cache, x-accel-buffering: no
5 messages, each with its id, event type and envelope: yes
last id as an EventSource keeps it is the last event's: True
a closed stream leaves its channels and user: yes



=== TEST 2: an idle stream gets a comment line at ws_perf_ping_interval, and no event
--- request
GET /pub?channel=p
--- response_body_like: "subscribers":0
--- pubsub
ping
--- pubsub_out
comments: ping, events: 0



=== TEST 3: Last-Event-ID resumes: what came after it, "resumed", then live messages; a gap event first when the history no longer reaches back
--- request
GET /pub?channel=r
--- response_body_like: "subscribers":0
--- pubsub
resume history=5
--- pubsub_out
after the first of 3: m1 m2; gap events: 0; resumed count 2
then live: live, id True
events in order: gap message resumed
gap since the Last-Event-ID: True, last is the newest: True
kept: 5, the newest 5 in order: True



=== TEST 4: a stream that stops reading: low messages are shed for it alone (the queue holds at most ws_perf_send_queue_size), the reading one gets all, and a high message still reaches it
--- request
GET /pub?channel=q
--- response_body_like: "subscribers":0
--- pubsub
bounded unix=$TEST_NGINX_SERVER_ROOT/logs/sse.sock path=/sseb
--- pubsub_out
the reading stream got all 400: True
low messages dropped for the stalled stream: True
then it got fewer of the 400 low ones, in order: True; the high one too: True



=== TEST 5: a stream that reads nothing with messages queued is closed after ws_perf_idle_timeout, with an info line
--- request
GET /pub?channel=st
--- response_body_like: "subscribers":0
--- pubsub
stalled unix=$TEST_NGINX_SERVER_ROOT/logs/sse.sock
--- pubsub_out
the stream that reads nothing is gone: yes
not before the idle timeout: True
--- error_log
event stream client timed out: it reads nothing



=== TEST 6: a critical message that cannot fit closes the stream, with an info line
--- request
GET /pub?channel=co
--- response_body_like: "subscribers":0
--- pubsub
critical-overflow unix=$TEST_NGINX_SERVER_ROOT/logs/sse.sock
--- pubsub_out
the stream is closed at its end: yes
--- error_log
event stream send queue overflow



=== TEST 7: what is not a stream's request gets a clear status; HTTP/1.0 gets a stream; bytes after the request are ignored; the client's end ends the stream
--- request
GET /pub?channel=h
--- response_body_like: "subscribers":0
--- pubsub
hostile
--- pubsub_out
Last-Event-ID garbage: 400
two Last-Event-IDs: 400
a Last-Event-ID of 65 characters: 400
a huge header: 400
POST: 405, Allow: GET
no channel: 400 event stream: no channel and no user to stream
bad channel name: 400
a body: 400
a foreign Origin: 403
the host's Origin: 200, Access-Control-Allow-Origin: http://localhost
an id the server did not number: error, then 400
the stream goes on: live after it
a second stream of a user with ws_perf_max_connections_per_user 1: 200 429
HTTP/1.0: 200 text/event-stream, connection: close, got to 1.0
after the client wrote: still
a client that half-closes ends its stream: yes



=== TEST 8: a reload ends the old worker's streams at once, and new streams reach the new workers
--- request
GET /pub?channel=rl
--- response_body_like: "subscribers":0
--- pubsub
reload pidfile=$TEST_NGINX_SERVER_ROOT/logs/nginx.pid
--- pubsub_out
reload: the stream ended, promptly
a new stream after the reload: 200, got after
--- error_log
event stream closed: worker is shutting down



=== TEST 9: HTTP/2 is refused with 505
--- request
GET /pub?channel=x
--- response_body_like: "subscribers":0
--- pubsub
h2 unix=$TEST_NGINX_SERVER_ROOT/logs/h2.sock
--- pubsub_out
HTTP/2 505



=== TEST 10: curl -N prints each event as it comes
--- request
GET /pub?channel=c
--- response_body_like: "subscribers":0
--- pubsub
curl
--- pubsub_out
curl printed: id: <id> | event: high | data: {"type":"msg","id":"<id>","channel":"c","priority":"high","ts":<ts>,"ack":false,"data":"via curl"}
curl gone, its stream too: yes



=== TEST 11: through nginx as a front proxy (its default HTTP/1.0 upstream, buffering on): X-Accel-Buffering turns buffering off for the stream, events pass at once, and the client's end reaches the stream
--- request
GET /pub?channel=a
--- response_body_like: "subscribers":0
--- pubsub
deliver path=/front/sse
--- pubsub_out
status 200, text/event-stream
cache-control: no-cache, x-accel-buffering: None
5 messages, each with its id, event type and envelope: yes
last id as an EventSource keeps it is the last event's: True
a closed stream leaves its channels and user: yes



=== TEST 12: a real EventSource in headless Chromium: events by type with their ids, and after the connection drops (a front proxy's read timeout) the browser reconnects with Last-Event-ID and gets what it missed, then "resumed"; the high message that overtook the last one seen comes again (at least once)
--- engine: shm: the high message overtakes only when both reach the worker in one turn, which Redis's pub/sub does not promise (both orders were seen); Chromium's reconnect in Redis mode is TEST 15's
--- config
    location /sse {
        ws_perf_sse;
        ws_perf_channels $arg_channels;
    }
    location /front/ {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/;
        proxy_read_timeout 1s;
    }
    location /pub {
        ws_perf_publish;
    }
    location = /favicon.ico {
        return 204;
    }
--- user_files
>>> es.html
<!DOCTYPE html>
<html>
<head><meta charset="utf-8"><title>running</title></head>
<body>
<pre id="result"></pre>
<script>
'use strict';
const out = document.getElementById('result');
const log = (s) => { out.textContent += s + '\n'; };

async function publish(msgs) {
  const r = await fetch('/pub', { method: 'POST', body: JSON.stringify(msgs),
                                  headers: { 'Content-Type': 'application/json' } });
  if (r.status !== 202) throw new Error('publish: ' + r.status);
  return (await r.json()).ids;
}

function run() {
  return new Promise((resolve, reject) => {
    const es = new EventSource('/front/sse?channels=web');
    const ids = {}, seen = [];
    let opens = 0, errors = 0;
    const t = setTimeout(() => reject(new Error('not done within 25s')), 25000);
    const got = (kind) => (e) => {
      const v = JSON.parse(e.data);
      seen.push(kind + ' ' + v.data + ' ' + v.priority);
      seen.push(() => 'id as published: ' + (e.lastEventId === ids[v.data]));
    };
    es.onopen = async () => {
      opens++;
      seen.push('open ' + opens);
      if (opens === 1) {
        const i = await publish([{ channel: 'web', data: 'one' },
                                 { channel: 'web', data: 'two', priority: 'high' }]);
        ids.one = i[0];
        ids.two = i[1];
      }
    };
    es.onmessage = got('message');
    es.addEventListener('high', got('high'));
    es.addEventListener('gap', (e) => seen.push('gap ' + e.data));
    es.addEventListener('resumed', (e) => {
      seen.push('resumed count ' + JSON.parse(e.data).count);
      clearTimeout(t);
      es.close();
      for (const s of seen) log(typeof s === 'function' ? '  ' + s() : s);
      resolve();
    });
    es.onerror = async () => {
      errors++;
      if (errors === 1) {
        seen.push('dropped, reconnecting: '
                  + (es.readyState === EventSource.CONNECTING));
        ids.three = (await publish([{ channel: 'web', data: 'three' }]))[0];
      }
    };
  });
}

run().then(() => { document.title = 'done'; },
           (e) => { log('FAIL ' + e.message); document.title = 'failed'; });
</script>
</body>
</html>
--- request
GET /es.html
--- response_body_like: <title>running</title>
--- pubsub
chromium
--- pubsub_out
open 1
high two high
  id as published: true
message one normal
  id as published: true
dropped, reconnecting: true
open 2
high two high
  id as published: true
message three normal
  id as published: true
resumed count 2
--- no_error_log
[alert]
[crit]
[emerg]
AddressSanitizer
runtime error:
--- error_log
upstream timed out
--- timeout: 60



=== TEST 13: a stream of two channels and a user: each event's id is the stream's positions; a reconnect with the last id resumes every target exactly (no gap, no repeat), a gap only for the target whose history no longer reaches back, and an empty part resumes nothing for its target
--- http_config
    ws_perf_history 5;
    ws_perf_offline_max 100;
--- config
    location /sse {
        ws_perf_sse;
        ws_perf_channels $arg_channels;
        ws_perf_user $arg_user;
    }
    location /pub {
        ws_perf_publish;
    }
--- request
GET /pub?channel=pa
--- response_body_like: "subscribers":0
--- pubsub
positions history=5
--- pubsub_out
ids are the positions: True
resumed from the positions: pa a2 a3, pb b2, pu u2 u3; gaps 0
after the resume the id holds the newest of each: True
live: b3, id True
pa's history no longer reaches back: gaps pa, since its own position: True, last True
then pa the newest 5: True; pb: ; pu: u4
id: True
an empty part is not resumed: resumed pb pu; pa , pb b9, pu u8 u9
its part stays empty: True
--- no_error_log
[alert]
[crit]
[emerg]
AddressSanitizer
runtime error:



=== TEST 14: a Last-Event-ID of positions that does not fit the stream's targets is refused with 400 and an info line; one id, or one part per target (a repeated channel is one target), is taken
--- config
    location /sse {
        ws_perf_sse;
        ws_perf_channels $arg_channels;
        ws_perf_max_channels_per_connection 8;
    }
    location /pub {
        ws_perf_publish;
    }
--- request
GET /pub?channel=ha
--- response_body_like: "subscribers":0
--- pubsub
positions-hostile
--- pubsub_out
three parts for two: 400 event stream: the parts of Last-Event-ID are not one per channel and user of the stream
one part of garbage: 400 event stream: invalid Last-Event-ID
a part of 65 characters: 400 event stream: invalid Last-Event-ID
commas only, over the bound: 400 event stream: invalid Last-Event-ID
two parts for one channel: 400 event stream: the parts of Last-Event-ID are not one per channel and user of the stream
a repeated channel is one target: 400 event stream: the parts of Last-Event-ID are not one per channel and user of the stream
one id: 200
two empty parts: 200
a repeated channel, two parts: 200
--- error_log eval
[qr/\[info\] .*event stream rejected: the parts of Last-Event-ID are not one per channel and user of the stream/,
 qr/\[info\] .*event stream rejected: invalid Last-Event-ID/]
--- no_error_log
[alert]
[crit]
[emerg]
AddressSanitizer
runtime error:



=== TEST 15: a real EventSource in headless Chromium on a stream of two channels whose counters differ: the ids are the stream's positions, and the browser's own reconnect (a front proxy's read timeout) resumes both channels exactly from its Last-Event-ID: no gap, nothing again
--- config
    location /sse {
        ws_perf_sse;
        ws_perf_channels $arg_channels;
    }
    location /front/ {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/;
        proxy_read_timeout 1s;
    }
    location /pub {
        ws_perf_publish;
    }
    location = /favicon.ico {
        return 204;
    }
--- user_files
>>> es2.html
<!DOCTYPE html>
<html>
<head><meta charset="utf-8"><title>running</title></head>
<body>
<pre id="result"></pre>
<script>
'use strict';
const out = document.getElementById('result');
const log = (s) => { out.textContent += s + '\n'; };

async function publish(msgs) {
  const r = await fetch('/pub', { method: 'POST', body: JSON.stringify(msgs),
                                  headers: { 'Content-Type': 'application/json' } });
  if (r.status !== 202) throw new Error('publish: ' + r.status);
  return (await r.json()).ids;
}

/*
 * The stream's open says its request was taken, not that its
 * subscriptions are in place: in Redis mode a worker counts a subscriber
 * once its SUBSCRIBE is confirmed, and what is published before that does
 * not reach it (docs/redis.md, "Channel info").  So the page waits, as
 * wait_subscribers() of t/pubsub/wsclient.py does, until the channel's
 * info counts n subscribers.
 */
async function subscribers(channel, n) {
  const deadline = Date.now() + 10000;
  for (;;) {
    const r = await fetch('/pub?channel=' + channel);
    if (r.status !== 200) {
      throw new Error('info of ' + channel + ': ' + r.status);
    }
    const got = (await r.json()).subscribers;
    if (got === n) return;
    if (Date.now() > deadline) {
      throw new Error(channel + ' has ' + got + ' subscribers, not ' + n);
    }
    await new Promise((next) => setTimeout(next, 20));
  }
}

async function run() {
  /* wa's counter runs ahead of wb's: wa numbers messages first */
  await publish([{ channel: 'wa', data: 'early' }, { channel: 'wa', data: 'early' },
                 { channel: 'wa', data: 'early' }]);
  return new Promise((resolve, reject) => {
    const es = new EventSource('/front/sse?channels=wa,wb');
    const ids = {}, seen = [], got = { wa: [], wb: [] };
    let opens = 0, errors = 0, resumed = 0;
    const t = setTimeout(() => reject(new Error('not done within 25s')), 25000);
    es.onopen = async () => {
      opens++;
      seen.push('open ' + opens);
      if (opens === 1) {
        try {
          await subscribers('wa', 1);
          await subscribers('wb', 1);
          ids.a1 = (await publish([{ channel: 'wa', data: 'a1' }]))[0];
          ids.b1 = (await publish([{ channel: 'wb', data: 'b1' }]))[0];
        } catch (e) {
          reject(e);
        }
      }
    };
    es.onmessage = (e) => {
      const v = JSON.parse(e.data);
      got[v.channel].push(v.data);
      if (opens === 1) {
        const id = e.lastEventId;
        seen.push(() => v.data + ' id: ' + id.replace(ids.a1, 'A1')
                                              .replace(ids.b1, 'B1'));
      }
    };
    es.addEventListener('gap', (e) => seen.push('gap ' + e.data));
    es.addEventListener('resumed', (e) => {
      if (++resumed < 2) {
        return;
      }
      clearTimeout(t);
      es.close();
      seen.push('resumed both');
      seen.push('wa: ' + got.wa.join(' ') + ', wb: ' + got.wb.join(' '));
      seen.push('the last id is both newest: '
                + (got.lastId === ids.a2 + ',' + ids.b2));
      for (const s of seen) log(typeof s === 'function' ? s() : s);
      resolve();
    });
    es.addEventListener('message', (e) => { got.lastId = e.lastEventId; });
    es.onerror = async () => {
      errors++;
      if (errors === 1) {
        seen.push('dropped, reconnecting: '
                  + (es.readyState === EventSource.CONNECTING));
        ids.b2 = (await publish([{ channel: 'wb', data: 'b2' }]))[0];
        ids.a2 = (await publish([{ channel: 'wa', data: 'a2' }]))[0];
        /* where ids are numbers (Redis), one id could not serve both */
        seen.push('a2 numbered below b1 where ids are numbers: '
                  + (!/^[0-9]+$/.test(ids.a2)
                     || BigInt(ids.a2) < BigInt(ids.b1)));
      }
    };
  });
}

run().then(() => { document.title = 'done'; },
           (e) => { log('FAIL ' + e.message); document.title = 'failed'; });
</script>
</body>
</html>
--- request
GET /es2.html
--- response_body_like: <title>running</title>
--- pubsub
chromium page=/es2.html
--- pubsub_out
open 1
a1 id: A1,
b1 id: A1,B1
dropped, reconnecting: true
a2 numbered below b1 where ids are numbers: true
open 2
resumed both
wa: a1 a2, wb: b1 b2
the last id is both newest: true
--- no_error_log
[alert]
[crit]
[emerg]
AddressSanitizer
runtime error:
--- error_log
upstream timed out
--- timeout: 60



=== TEST 16: a stream of two channels that stops reading: low messages are shed for it as for any stream, each event carries the positions of what was queued up to it, a high message its own, and the send queues end empty
--- request
GET /pub?channel=sq
--- response_body_like: "subscribers":0
--- pubsub
positions-shed unix=$TEST_NGINX_SERVER_ROOT/logs/sse.sock
--- pubsub_out
the reading stream got all 400, each id its positions: True
the stalled one got fewer of the low ones, in order: True
its ids are the positions of what was queued up to each: True
the high one carries its own: True
send queues hold nothing after: True
