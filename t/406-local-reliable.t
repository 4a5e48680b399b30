# Reliable delivery in local mode (no ws_perf_redis; docs/reliable.md,
# "Local mode"): the same inboxes and history with resume and gap notices,
# acks with redelivery and dead letters, the dead-letter admin API, the cap
# on unacked messages and scheduled delivery as t/404-redis-reliable.t, kept
# in the one worker's memory.  Local ids are "<ms>-<worker>-<seq>".
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use WsPerf::Engine;
use WsPerf::PubSub;

workers(1);
master_on();
worker_connections(1024);
no_shuffle();

pubsub_init(client => 't/pubsub/reliable.py', http_config => <<'_EOC_', config => <<'_EOC_');
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



=== TEST 3: acks, redelivery with the same id, dead letters and their API
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



=== TEST 4: paging through dead letters, purging them
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



=== TEST 5: ws_perf_max_pending_acks: more unacked messages are refused with 429
--- request
GET /t
--- response_body
ok
--- pubsub
pending-cap user=erin cap=3
--- pubsub_out
one more: 429, the user has 3 messages awaiting an ack (ws_perf_max_pending_acks)
one without an ack: accepted



=== TEST 6: scheduled messages: due ones in priority order, once, cancel
--- request
GET /t
--- response_body
ok
--- pubsub
scheduled channel=sch
--- pubsub_out
scheduled ids: given
cancel: 200 {"cancelled":1}
cancel again: 404
delivered: ['critical', 'high', 'normal', 'low']
nothing more came: True
a negative delay: 400



=== TEST 7: ws_perf_ack_priorities critical: a user's critical messages need acks
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



=== TEST 8: publishes during a resume: no gap and no duplicate at the seam
--- http_config
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



=== TEST 9: a resume since an id from before this worker started: a gap notice, then what is kept; a malformed since: 400
Commands and the close go in one write: the memory engine answers at
once; the Redis engine's answers come after its close frame, which no
data frame may follow (RFC 6455 5.5.1), so Redis runs them in t/40x.
--- engine: shm
--- raw_request eval
ws_open("/ws?channels=old")
. cmd({type => "resume", channel => "old", since => "12-34"})
. cmd({type => "resume", channel => "old",
       since => by_engine(shm => "1795761701203-0-2", redis => "1795761701203002")})
. cclose()
--- ws_replies eval
'text {"type":"error","code":400,"reason":"<reason>"}
text {"type":"gap","channel":"old","since":"'
. by_engine(shm => "1795761701203-0-2", redis => "1795761701203002")
. '","last":"0"}
text {"type":"resumed","channel":"old","count":0}
close 1000
'



=== TEST 10: the dead-letter API answers in local mode
--- request
GET /dlq
--- response_body eval
qq{{"next":null,"counts":{},"entries":[]}\r\n}



=== TEST 11: scheduled messages past the local limit of 10000 get 429
The batch is checked whole: with no room for all 10001, none is scheduled.
--- engine: shm
--- config
    location = /pub {
        ws_perf_publish;
        ws_perf_max_batch 20000;
    }
--- request eval
"POST /pub\n[" . CORE::join(",", map { qq{{"channel":"far","data":$_,"delay":600000}} } 0 .. 10000) . "]"
--- error_code: 429
--- response_body_like: no room for 10001 more scheduled messages: local mode keeps 10000



=== TEST 12: nginx -t says the local store is in the shared zone, kept across reloads and lost on restart
--- engine: shm
--- request
GET /t
--- response_body
ok
--- error_log eval
qr/\[warn\] .*ws_perf: without ws_perf_redis inboxes, history, acks, dead letters and scheduled messages are kept in ws_perf_shm_zone, shared by the workers, bounded, kept across reloads and lost on restart/



=== TEST 13: ws_perf_offline_ttl: an unacked message expires into the dead letters, an unused inbox is let go
--- http_config
    ws_perf_offline_ttl 1s;
    ws_perf_ack_timeout 200ms;
--- request
GET /t
--- response_body
ok
--- pubsub
expiry user=ida
--- pubsub_out
dead letter: expired, attempts 0, id the message's: True
resume after the ttl: gap notice given, 0 messages



=== TEST 14: a scheduled message for a user at the pending cap is undeliverable; ws_perf_dlq_max keeps the newest
In Redis ws_perf_dlq_max is approximate (the stream is trimmed with "~",
docs/reliable.md): three dead letters stay.
--- http_config
    ws_perf_max_pending_acks 1;
    ws_perf_dlq_max 2;
--- request
GET /t
--- response_body
ok
--- pubsub
undeliverable user=gina cap=1 dlq_max=2
--- pubsub_out eval
"counts: {'undeliverable': 3}\n"
. by_engine(shm => "kept, the newest: [1, 2]\n",
            redis => "kept, the newest: [0, 1, 2]\n")
. "entry: id '', target u:gina, attempts 0, message id -, ack True\n"



=== TEST 15: ?replay=all: highest priority first, ids kept; nothing to replay: 404
--- request
GET /t
--- response_body
ok
--- pubsub
replay-order user=hank
--- pubsub_out
replay all: 200 {"replayed":3,"kept":0}
replayed: ['critical', 'normal', 'low'], ids kept: True
replay of nothing: 404 {"replayed":0,"kept":0}



=== TEST 16: a reload keeps the inbox (the zone is reused): the resume on a new worker gets it without a gap
--- engine: shm
--- request
GET /t
--- response_body
ok
--- pubsub
reload-keeps user=jo
--- pubsub_out
before the reload: 0 gap notices, 1 messages
the old workers are gone: True
after the reload: 0 gap notices, 1 messages
