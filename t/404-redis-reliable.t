# Reliable delivery (docs/reliable.md): offline inboxes and channel history
# with resume and gap notices, acks with redelivery and dead letters, the
# dead-letter admin API, the cap on unacked messages, scheduled delivery.
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use WsPerf::Engine 'redis';
use WsPerf::PubSub;
use WsPerf::Redis;

$ENV{TEST_NGINX_NODE_PORT} ||= $Test::Nginx::Util::ServerPort + 2;
$ENV{TEST_NGINX_NODE_WS_PORT} ||= $Test::Nginx::Util::ServerPort + 3;

redis_start(port => 6404);

workers(2);
master_on();
worker_connections(1024);
no_shuffle();

pubsub_init(client => 't/pubsub/reliable.py', http_config => <<'_EOC_', config => <<'_EOC_');
    ws_perf_redis redis://127.0.0.1:$TEST_NGINX_REDIS_PORT;
    ws_perf_offline_max 5;
    ws_perf_history 10;
    ws_perf_ack_timeout 200ms;
    ws_perf_max_attempts 3;
    ws_perf_max_pending_acks 3;
    ws_perf_ack_priorities critical;
_EOC_
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

=== TEST 1: an offline user's inbox: resume in order, a gap notice for what is gone
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



=== TEST 2: a channel's history (ws_perf_history 10)
--- request
GET /t
--- response_body
ok
--- pubsub
history channel=hist n=15
--- pubsub_out
resume after the 4th newest of 15: [12, 13, 14], gap notices 0
resume after the first: gap notice given, then 10 messages



=== TEST 3: publishes during a resume: no gap and no duplicate at the seam
--- http_config
    ws_perf_redis redis://127.0.0.1:$TEST_NGINX_REDIS_PORT;
    ws_perf_offline_max 1000;
--- request
GET /t
--- response_body
ok
--- pubsub
seam user=seam n=300
--- pubsub_out
live before the replay: the first ones, in order
from the replay on: every message once, in order: yes



=== TEST 4: acks, redelivery with the same id, dead letters and their API
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



=== TEST 5: paging through dead letters, purging them
--- request
GET /t
--- response_body
ok
--- pubsub
dlq-admin user=dave n=3
--- pubsub_out
pages of 2: 2 then 1, next then None
in order: True
purge: 200 {'deleted': 3}
after the purge: 0 entries
delete of an unknown id: 404
PUT: 400



=== TEST 6: ws_perf_max_pending_acks: more unacked messages are refused with 429, the reason without Redis's error code
--- request
GET /t
--- response_body
ok
--- pubsub
pending-cap user=erin cap=3
--- pubsub_out
one more: 429, the user has 3 messages awaiting an ack (ws_perf_max_pending_acks)
one without an ack: accepted



=== TEST 7: scheduled messages: due ones in priority order, once, cancel, another node
--- engine: redis cluster
--- request
GET /t
--- response_body
ok
--- pubsub
scheduled channel=sch node=$TEST_NGINX_NODE_PORT node_ws=$TEST_NGINX_NODE_WS_PORT
--- pubsub_out
scheduled ids: given
cancel: 200 {"cancelled":1}
cancel again: 404
the node that took it stopped
delivered: ['critical', 'high', 'normal', 'low', 'via the node']
nothing more came: True
a negative delay: 400



=== TEST 8: ws_perf_ack_priorities critical: a user's critical messages need acks
--- request
GET /t
--- response_body
ok
--- pubsub
ack-priority user=frank
--- pubsub_out
critical: ack True, came again unacked
acked: acked
low: ack False, came 1 time(s)



=== TEST 9: a message whose ack was lost comes again after a resume past it
--- request
GET /t
--- response_body
ok
--- pubsub
lost-ack user=lee
--- pubsub_out
resume after it: {'user': 'lee', 'count': 0}
it came again after the resume, with its id
ack: acked
