# Hostile use of the store (docs/reliable.md), in local mode and in Redis
# mode: a dead-letter replay that cannot publish an entry (its user is at
# ws_perf_max_pending_acks) keeps it and answers 429; a flood of resumes
# of a big history costs the worker no more than what the connection's
# send queue can take, the client being told exactly where to go on; an
# error inside a Lua function reaches the API client without its source
# location.
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use WsPerf::PubSub;
use WsPerf::Redis;

redis_start(port => 6703);

workers(1);
master_on();
worker_connections(1024);
no_shuffle();

our $COMMON = <<'_EOC_';
    ws_perf_offline_max 10;
    ws_perf_history 60;
    ws_perf_ack_timeout 10s;
    ws_perf_max_pending_acks 2;
_EOC_

# a history of 60 messages of 900 KB does not fit the default 32m zone
our $LOCAL = $COMMON . <<'_EOC_';
    ws_perf_shm_zone ws_perf 96m;
_EOC_

our $REDIS = $COMMON . <<'_EOC_';
    ws_perf_redis redis://127.0.0.1:$TEST_NGINX_REDIS_PORT;
_EOC_

pubsub_init(client => 't/pubsub/hostile_store.py', http_config => $LOCAL,
            config => <<'_EOC_');
    location /ws {
        ws_perf;
        ws_perf_channels $arg_channels;
        ws_perf_user $arg_user;
        ws_perf_send_queue_size 2m;
    }
    location /pub {
        ws_perf_publish;
        client_max_body_size 2m;
    }
    location /dlq {
        ws_perf_dlq;
    }
    location = /health {
        ws_perf_health;
    }
    location = /t {
        return 200 "ok\n";
    }
_EOC_

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value('http_config', $REDIS) if defined $block->redis;
    $block->set_value('timeout', 120);
});

run_tests();

__DATA__

=== TEST 1: local mode: a replay at the pending-ack cap keeps the dead letters and answers 429; replay=all replays what it can, highest priority first
--- request
GET /t
--- response_body
ok
--- pubsub
replay-at-cap user=ursula
--- pubsub_out
replay of one at the cap: 429 {"replayed":0,"kept":1,"error":"the user has 2 messages awaiting an ack (ws_perf_max_pending_acks)"}, Retry-After 1
dead letters after it: 2
ack of one waiting: acked
replay=all with room for one: 429 {"replayed":1,"kept":1,"error":"the user has 2 messages awaiting an ack (ws_perf_max_pending_acks)"}, Retry-After 1
kept: ['low']
replay=all with room again: 200 {"replayed":1,"kept":0}, Retry-After None
dead letters after it: 0
replayed: ['high', 'low']



=== TEST 2: Redis mode: the same
--- redis
--- request
GET /t
--- response_body
ok
--- pubsub
replay-at-cap user=ursula
--- pubsub_out
replay of one at the cap: 429 {"replayed":0,"kept":1,"error":"the user has 2 messages awaiting an ack (ws_perf_max_pending_acks)"}, Retry-After 1
dead letters after it: 2
ack of one waiting: acked
replay=all with room for one: 429 {"replayed":1,"kept":1,"error":"the user has 2 messages awaiting an ack (ws_perf_max_pending_acks)"}, Retry-After 1
kept: ['low']
replay=all with room again: 200 {"replayed":1,"kept":0}, Retry-After None
dead letters after it: 0
replayed: ['high', 'low']



=== TEST 3: local mode: 200 resumes of a 50 x 900 KB history in one write; /health stays quick, the client gets what fits and where to go on
--- request
GET /t
--- response_body
ok
--- pubsub
resume-flood channel=big
--- pubsub_out
/health on the worker while the resumes run: under 2 s
answers: 1 resumed, 199 errors [409]
first answer: the next few in order
then the notice: since the last one sent, last the newest, more
resumed count: the messages sent
resuming from each notice: every message once, in order: yes



=== TEST 4: Redis mode: the same, and redis is read no further than the queue can take
--- redis
--- request
GET /t
--- response_body
ok
--- pubsub
resume-flood channel=big
--- pubsub_out
/health on the worker while the resumes run: under 2 s
answers: 1 resumed, 199 errors [409]
first answer: the next few in order
then the notice: since the last one sent, last the newest, more
resumed count: the messages sent
resuming from each notice: every message once, in order: yes



=== TEST 5: Redis mode: an error inside a Lua function is answered without its source location, which the error log keeps
--- redis
--- request
GET /t
--- response_body
ok
--- pubsub
lua-errors
--- pubsub_out
replay of a malformed id: 404 {"replayed":0,"kept":0}
replay with the dead letters not a stream: 502 {"error":"redis: WRONGTYPE Operation against a key holding the wrong kind of value"}
--- error_log eval
qr/\[error\] .*WRONGTYPE Operation against a key holding the wrong kind of value script: ws_perf_dlq_replay, on \@user_function:\d+/
--- no_error_log
[alert]
[crit]
