# Priorities when a subscriber's socket is backed up (docs/protocol.md,
# "Priorities and slow consumers"): a client stops reading, low
# messages fill the kernel's buffers and queue in nginx behind them,
# then normal, high and critical ones are published.  Once the client
# reads again it gets what was already in the kernel's buffers (low, in
# order), then critical, high, normal, then the rest of the low ones; no
# message is lost (the queue here is 8m) and each priority keeps its
# publish order.
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use WsPerf::Engine;
use WsPerf::PubSub;

worker_connections(1024);
no_shuffle();

# The client that stops reading connects over a unix socket: the kernel
# then holds a fixed amount for it, where TCP on loopback would grow and
# shrink its buffers at times the test does not control.
pubsub_init(http_config => <<'_EOC_', config => <<'_EOC2_');
    server {
        listen unix:$TEST_NGINX_SERVER_ROOT/logs/ws.sock;
        location /wsbig {
            ws_perf;
            ws_perf_channels $arg_channels;
            ws_perf_send_queue_size 8m;
            ws_perf_close_timeout 30s;
        }
    }
_EOC_
    location /pub {
        ws_perf_publish;
    }
_EOC2_

run_tests();

__DATA__

=== TEST 1: backed up, then one request each of normal, high, critical: critical first
--- request
GET /pub?channel=bk1
--- response_body_like: "subscribers":0
--- pubsub
backlog unix=$TEST_NGINX_SERVER_ROOT/logs/ws.sock path=/wsbig channel=bk1 markers=5 mode=separate
--- pubsub_out
every message once, in publish order within its priority
before the first critical: low
from it on: 5 critical, 5 high, 5 normal, low
low messages were still queued behind them: yes



=== TEST 2: backed up, then one array interleaving normal, high, critical: critical first
--- request
GET /pub?channel=bk2
--- response_body_like: "subscribers":0
--- pubsub
backlog unix=$TEST_NGINX_SERVER_ROOT/logs/ws.sock path=/wsbig channel=bk2 markers=5 mode=array
--- pubsub_out
every message once, in publish order within its priority
before the first critical: low
from it on: 5 critical, 5 high, 5 normal, low
low messages were still queued behind them: yes



=== TEST 3: a reply to a command from a backed-up client goes in the critical queue
The ping is sent after the critical messages were published: its pong
comes right after them, before the high ones.
--- request
GET /pub?channel=bk3
--- response_body_like: "subscribers":0
--- pubsub
backlog unix=$TEST_NGINX_SERVER_ROOT/logs/ws.sock path=/wsbig channel=bk3 markers=5 ping=1
--- pubsub_out
every message once, in publish order within its priority
before the first critical: low
from it on: 5 critical, pong, 5 high, 5 normal, low
low messages were still queued behind them: yes
