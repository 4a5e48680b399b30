# Redis Cluster under faults (docs/redis.md, "Redis Cluster",
# "Resharding" and "Failover"): slots moved with redis-cli --cluster
# reshard while a publisher goes on; a slot's keys moved by hand a few at
# a time; ws_perf_redis_wait_replicas across MOVED and ASK; the ledger of
# t/405 with a master killed halfway.  The cluster is three masters with
# a replica each (t/lib/WsPerf/Cluster.pm, AOF with appendfsync always),
# on ports of this file's own (7421-7426); the scenarios are
# t/pubsub/cluster_faults.py's.
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use WsPerf::PubSub;
use WsPerf::Cluster;

$ENV{TEST_NGINX_WS_PORT} ||= $Test::Nginx::Util::ServerPort + 1;

cluster_start(port => 7421);

workers(2);
master_on();
worker_connections(1024);
no_shuffle();

our $CLUSTER = <<'_EOC_';
    ws_perf_redis_cluster 127.0.0.1:$TEST_NGINX_CLUSTER_PORT shards=16;
    ws_perf_redis_reconnect 50ms 500ms;
    ws_perf_history 1000;

    server {
        listen 127.0.0.1:$TEST_NGINX_WS_PORT reuseport;

        location /ws {
            ws_perf;
            ws_perf_channels $arg_channels;
            ws_perf_user $arg_user;
        }
    }
_EOC_

pubsub_init(client => 't/pubsub/cluster_faults.py', http_config => $CLUSTER,
            config => <<'_EOC_');
    location /ws {
        ws_perf;
        ws_perf_channels $arg_channels;
        ws_perf_user $arg_user;
    }
    location /pub {
        ws_perf_publish;
    }
    location /dlq {
        ws_perf_dlq;
    }
    location = /t {
        return 200 "ok\n";
    }
_EOC_

run_tests();

__DATA__

=== TEST 1: slots moved four times with redis-cli --cluster reshard while publishing: nothing lost, nothing twice, in order
--- request
GET /t
--- response_body
ok
--- pubsub
reshard ws=$TEST_NGINX_WS_PORT msgs=2000 moves=4
--- pubsub_out
8 channels on 3 masters, 4 of them in the shards that move
4 reshards while publishing, the moved shards' slots where the last one put them: True
every publish answered 202 or 503
every 202 message reached every subscriber, live or by a resume after the notice
none twice, but resumed copies with their ids; none that was not accepted
per channel in publish order
every subscriber of a moved channel got the notice
--- timeout: 150



=== TEST 2: a slot's keys moved a few at a time: publishes, the redelivery of an unacked message and a scheduled one lose nothing
--- http_config eval
$::CLUSTER . <<'_EOC_';
    ws_perf_ack_timeout 300ms;
    ws_perf_max_attempts 100;
_EOC_
--- request
GET /t
--- response_body
ok
--- pubsub
slow-move ws=$TEST_NGINX_WS_PORT wait=1.5
--- pubsub_out
a slot's keys moved a few at a time (the sets and a channel's hash first, the rest 1.5 s later)
publishes while it moved: 202 or 503 only
every 202 one in the history once, in order; live, none twice, in order
the unacked message came again after the move, with its id: True
the scheduled message went out once (in the history once, live at most once): True
--- timeout: 90



=== TEST 3: ws_perf_redis_wait_replicas: the WAIT goes where MOVED or ASK took the publish
--- http_config eval
$::CLUSTER . <<'_EOC_';
    ws_perf_redis_wait_replicas 1 200ms;
_EOC_
--- request
GET /t
--- response_body
ok
--- pubsub
wait-moved channel=w
--- pubsub_out
before: 202, the id its history has: True
with the slot's keys on the new master (ASK): [202], the ids its history has: True
while the new master's replica sleeps: 503, published, but 0 of 1 replicas had it within 200 ms
moved (MOVED): 202, the id its history has: True
--- timeout: 90



=== TEST 4: the ledger: a master killed halfway, no accepted message lost
--- http_config eval
$::CLUSTER . <<'_EOC_';
    ws_perf_offline_max 1000;
    ws_perf_ack_timeout 300ms;
    ws_perf_max_attempts 100;
    ws_perf_max_pending_acks 1000;
    ws_perf_redis_wait_replicas 1 200ms;
_EOC_
--- request
GET /t
--- response_body
ok
--- pubsub
failover-ledger users=100 msgs_=1000
--- pubsub_out
1000 messages accepted for 100 users (failover)
received: every accepted one
none received that was not sent
copies always with the message's id
dead letters: 0; awaiting an ack at the end: 0
the old master is back, as its replica
--- error_log eval
[qr/\[error\] .*ws_perf: redis publish link to "cluster master 127\.0\.0\.1:\d+" lost/,
 qr/\[notice\] .*ws_perf: redis cluster master 127\.0\.0\.1:\d+ is no longer a master/]
--- no_error_log
[alert]
[crit]
[emerg]
--- timeout: 150



=== TEST 5: a slot's keys apart: info, admit, leave, resume and a dead letter's replay are refused (TRYAGAIN), sent again, and answered exactly once it moved
--- http_config eval
$::CLUSTER . <<'_EOC_';
    ws_perf_ack_timeout 300ms;
    ws_perf_max_attempts 1;
    ws_perf_max_connections_per_user 10;
_EOC_
--- request
GET /t
--- response_body
ok
--- pubsub
locality ws=$TEST_NGINX_WS_PORT
--- pubsub_out
a channel with 1 subscriber and 4 messages kept, a user with 1 connection, a dead letter whose id awaits an ack: True
the replay of the dead letter with its keys apart: TRYAGAIN, its id still awaiting an ack: True
refused with TRYAGAIN while the keys were apart: True
the channel's info: 200, 1 subscriber(s)
the user's connection made meanwhile: 101
the user's connections counted after the move: 1
the resume: 3 messages, no gap: True
the replay: 200 {'replayed': 1, 'kept': 0}; dead letters of the user left: 0, its id awaiting an ack once: True
--- no_error_log
[error]
[alert]
[crit]
--- timeout: 90



=== TEST 6: a master with 200 channels' subscriptions killed and back: its replica gets one SSUBSCRIBE per topic of each worker, not one more per tick while they are confirmed
--- request
GET /t
--- response_body
ok
--- pubsub
resubscribe ws=$TEST_NGINX_WS_PORT channels=200
--- pubsub_out
200 channels on the master killed, 2 subscribers each
every subscriber told, the old master back as a replica
SSUBSCRIBE calls on the new master: one per topic of each worker: True
delivered after
--- error_log eval
qr/\[error\] .*ws_perf: redis subscribe link to "cluster master 127\.0\.0\.1:\d+" lost/
--- no_error_log
[alert]
[crit]
[emerg]
--- timeout: 120
