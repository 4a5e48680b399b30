# Redis Cluster (docs/redis.md, "Redis Cluster"): with
# ws_perf_redis_cluster every worker keeps links to each master, sends
# each key to the master of its slot, and delivers by sharded pub/sub.
# The scenarios of the one-server tests run against a 3-master cluster
# (three masters, a replica each, made with redis-cli --cluster create);
# then a master is killed while publishing and its replica takes over.
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use WsPerf::PubSub;
use WsPerf::Cluster;

$ENV{TEST_NGINX_WS_PORT} ||= $Test::Nginx::Util::ServerPort + 1;

cluster_start(port => 7414);

workers(2);
master_on();
worker_connections(1024);
no_shuffle();

pubsub_init(client => 't/pubsub/cluster.py', http_config => <<'_EOC_', config => <<'_EOC_');
    ws_perf_redis_cluster 127.0.0.1:$TEST_NGINX_CLUSTER_PORT shards=16;
    ws_perf_redis_reconnect 50ms 500ms;
    ws_perf_offline_max 5;
    ws_perf_history 10;
    ws_perf_ack_timeout 200ms;
    ws_perf_max_attempts 3;
    ws_perf_max_pending_acks 3;

    server {
        listen 127.0.0.1:$TEST_NGINX_WS_PORT reuseport;

        location /ws {
            ws_perf;
            ws_perf_channels $arg_channels;
            ws_perf_user $arg_user;
        }
    }
_EOC_
    location /ws {
        ws_perf;
        ws_perf_channels $arg_channels;
        ws_perf_user $arg_user;
    }
    location /wsc {
        ws_perf;
        ws_perf_allowed_channels room.*;
        ws_perf_client_publish on;
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

=== TEST 1: a channel nobody is subscribed to: info from its master
--- request
GET /t
--- response_body
ok
--- pubsub
info-format query=channel=lonely
--- pubsub_out
{"channel":"lonely","subscribers":0,"workers":0,"messages":0}
--- no_error_log
[error]



=== TEST 2: 40 subscribers on 2 workers, 100 messages each, once, in order, on 8 channels over all masters
--- request
GET /t
--- response_body
ok
--- pubsub
spread-shards ws=$TEST_NGINX_WS_PORT
--- pubsub_out
8 channels on 3 masters
40 subscribers counted
every subscriber got its channel's 100 messages once, in order
--- no_error_log
[error]



=== TEST 3: a user's connections on both workers get what is published to the user
--- request
GET /t
--- response_body
ok
--- pubsub
users ws=$TEST_NGINX_WS_PORT
--- pubsub_out
user alice: 8 connections counted
each connection got both, once, with their ids
other users got nothing else
--- no_error_log
[error]



=== TEST 4: acks, redelivery, dead letters and their API across shards
--- request
GET /t
--- response_body
ok
--- pubsub
acks user=carol attempts=3
--- pubsub_out
ack of the second: acked
the same ack again: error 404
the unacked one came 3 times, always with its id
the acked one came once: True
dead letter: id the message's, reason max_attempts, attempts 3, message data ignored
GET ?id=: 200, the entry
filter by another reason: 0 entries
count=0: 400
replay: 200 {"replayed":1,"kept":0}
replayed message: same id True, data ignored
dead letters after the replay: 0
delete of a replayed entry: 404
counts by reason: {'max_attempts': 1}
--- no_error_log
[error]



=== TEST 5: dead letters of users on different shards, paged in order
--- request
GET /t
--- response_body
ok
--- pubsub
dlq-shards users=6
--- pubsub_out
6 users on 3 masters, one dead letter each
pages of 4: 4 then 2, in the order they died: True
purge: 200 {'deleted': 6}
--- no_error_log
[error]



=== TEST 6: an inbox and resume
--- request
GET /t
--- response_body
ok
--- pubsub
inbox user=bob keep=5
--- pubsub_out
resume after the first of 7: gap notice since it, last the newest id, then the newest 5 in order
resumed: {'user': 'bob', 'count': 5}
resume after the newest: 0 more, 0 gap notices
resume after the third newest: ['m5', 'm6']
resume since not a number: error 400
resume of a channel it is not in: error 404
--- no_error_log
[error]



=== TEST 7: scheduled messages, released once, cancelled by their id
--- request
GET /t
--- response_body
ok
--- pubsub
scheduled-shards
--- pubsub_out
4 scheduled on 3 masters
cancel: 200 {"cancelled":1}
cancel again: 404
cancel of an id of no shard: 404
delivered once each: ['a', 'b', 'c']
--- no_error_log
[error]



=== TEST 8: a master killed while publishing: 503 meanwhile, never 2xx for a message that reaches nobody, and a subscriber misses only what came before its notice; delivery back within 5 s of the promotion
--- request
GET /t
--- response_body
ok
--- pubsub
failover channel=fo subs=8
--- pubsub_out
publishes while its master was down: 2xx or 503 only
every 2xx message reached every subscriber, but for those answered before its notice: True
delivery resumed within 5 s of the promotion
every subscriber got the reconnect notice
--- error_log eval
[qr/\[error\] .*ws_perf: redis publish link to "cluster master 127\.0\.0\.1:\d+" lost/,
 qr/\[notice\] .*ws_perf: redis cluster master 127\.0\.0\.1:\d+ is no longer a master/]
--- no_error_log
[alert]
[crit]
[emerg]
