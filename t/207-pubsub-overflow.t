# The slow-consumer policy (docs/protocol.md, "Priorities and slow
# consumers"), with a client that stops reading and a 64k send queue: when
# a message does not fit, the oldest queued messages of lower priority are
# dropped, low first, then normal, then high; a message that still does not
# fit is dropped itself; a critical one that cannot fit closes the
# connection with 1008 and an info line.  Another subscriber of the same
# channel loses nothing meanwhile.
#
# The stalled client first gets what the kernel's buffers already held when
# it stopped (low messages, in publish order): the checks are about what
# comes after that, which is what nginx kept queued for it.
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
        location /wsq {
            ws_perf;
            ws_perf_channels $arg_channels;
            ws_perf_send_queue_size 64k;
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

=== TEST 1: low messages are dropped, oldest first, to make room for normal and high ones
The queue is full of low messages when 14 normal and 14 high ones arrive:
all of those are delivered (high first); the low one queued longest (the
next after those in flight) is gone, and so is the last one published,
which found the queue full.
--- request
GET /pub?channel=ofl
--- response_body_like: "subscribers":0
--- pubsub
overflow-low-first unix=$TEST_NGINX_SERVER_ROOT/logs/ws.sock path=/wsq channel=ofl qsize=65536
--- pubsub_out
before the first high: low, in publish order from the first
then: high normal low
high: all 14, in order
normal: all 14, in order
low after them: in publish order: yes; the oldest queued dropped (a gap right after the ones in flight): yes; the newest dropped when the queue was full: yes
bytes queued behind the kernel's: within ws_perf_send_queue_size



=== TEST 2: with no low message left, the oldest normal ones are dropped for high ones
The queue holds low messages and 29 normal ones when 44 high ones arrive:
every low one goes, then the oldest normal ones; every high one is kept.
--- request
GET /pub?channel=ofn
--- response_body_like: "subscribers":0
--- pubsub
overflow-normal-before-high unix=$TEST_NGINX_SERVER_ROOT/logs/ws.sock path=/wsq channel=ofn qsize=65536
--- pubsub_out
after the low ones in flight: high normal
high: all 44, in order
normal: the newest ones (the oldest dropped), in order
bytes queued behind the kernel's: within ws_perf_send_queue_size



=== TEST 3: a critical message that cannot fit closes the stalled connection with 1008
Critical messages push out the queued high ones until the queue is all
critical; the next one does not fit: what was queued is not sent, the close
frame follows what was in flight, and the connection leaves the channel.
--- request
GET /pub?channel=ofc
--- response_body_like: "subscribers":0
--- pubsub
overflow-critical unix=$TEST_NGINX_SERVER_ROOT/logs/ws.sock path=/wsq channel=ofc qsize=65536
--- pubsub_out
messages received: only low ones that were in flight
then close 1008
then EOF
the channel has no subscriber left
--- error_log eval
qr/\[info\] .*send queue overflow/



=== TEST 4: a stalled subscriber never costs another subscriber of the channel a message
Low, normal, high and critical messages until the stalled one is closed:
the healthy one, which reads along, gets every one of them.
--- request
GET /pub?channel=nb
--- response_body_like: "subscribers":0
--- pubsub
stalled-neighbour unix=$TEST_NGINX_SERVER_ROOT/logs/ws.sock path=/wsq channel=nb qsize=65536
--- pubsub_out
stalled subscriber: close 1008
healthy subscriber: every message once, in publish order within each priority
--- error_log eval
qr/\[info\] .*send queue overflow/
