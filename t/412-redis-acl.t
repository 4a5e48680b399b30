# Redis ACL users (docs/redis.md, "Redis users and rights"): the module
# logs in as a user that holds only the rule the docs recommend (its own
# keys and channels, no dangerous commands) and every feature works:
# pub/sub, acks and dead letters, inboxes.  A wrong password, or a user
# without rights on the prefix's keys, gets publishes answered 503 with
# Redis's refusal in the error log, and the password in no log line.
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use WsPerf::PubSub;
use WsPerf::Redis;

redis_start(port => 6412);

redis_command('ACL', 'SETUSER', 'ann', 'on', '>s3cret-ann', '~ws_perf:*',
              '&ws_perf:*', '+@all', '-@dangerous') eq '+OK'
    or die "cannot create the ACL user ann\n";
redis_command('ACL', 'SETUSER', 'bob', 'on', '>s3cret-bob', '~other:*',
              '&other:*', '+@all', '-@dangerous') eq '+OK'
    or die "cannot create the ACL user bob\n";

workers(2);
master_on();
worker_connections(1024);
no_shuffle();

pubsub_init(client => 't/pubsub/acl.py', http_config => <<'_EOC_', config => <<'_EOC_');
    ws_perf_redis redis://ann:s3cret-ann@127.0.0.1:$TEST_NGINX_REDIS_PORT;
    ws_perf_redis_reconnect 50ms 200ms;
    ws_perf_offline_max 5;
    ws_perf_history 10;
    ws_perf_ack_timeout 200ms;
    ws_perf_max_attempts 3;
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

=== TEST 1: the recommended rule is all the module needs
--- request
GET /t
--- response_body
ok
--- pubsub
granted user=ann
--- pubsub_out
keys ~ws_perf:*, channels &ws_perf:*, commands +@all -@dangerous
publish: 202
--- no_error_log
[error]
s3cret-ann



=== TEST 2: acks, redelivery, dead letters and their API, as that user
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



=== TEST 3: an offline user's inbox and resume, as that user
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



=== TEST 4: a wrong password: 503, WRONGPASS logged, the password nowhere
--- http_config
    ws_perf_redis redis://ann:not-the-password@127.0.0.1:$TEST_NGINX_REDIS_PORT;
    ws_perf_redis_reconnect 50ms 200ms;
--- request
GET /t
--- response_body
ok
--- pubsub
refused says=WRONGPASS
--- pubsub_out
publishes: [503]
reason: redis is unavailable
--- error_log
WRONGPASS
--- no_error_log
not-the-password



=== TEST 5: a user without rights on the prefix's keys: 503 with Redis's NOPERM, logged
--- http_config
    ws_perf_redis redis://bob:s3cret-bob@127.0.0.1:$TEST_NGINX_REDIS_PORT;
    ws_perf_redis_reconnect 50ms 200ms;
--- request
GET /t
--- response_body
ok
--- pubsub
refused says=NOPERM
--- pubsub_out
publishes: [503]
reason: NOPERM this user has no permissions to access one of the keys used as arguments
--- error_log
NOPERM
--- no_error_log
s3cret-bob
