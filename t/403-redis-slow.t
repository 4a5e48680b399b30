# Redis mode with a redis that stops answering (docs/redis.md,
# "Back-pressure"): a publish waiting on it is answered 503 once
# ws_perf_redis_command_timeout passes and the link is replaced, a publish
# beyond ws_perf_redis_max_pending is answered 429 at once (the worker's own
# heartbeats and store ticks, waiting too, do not count); nothing queues
# inside nginx without bound; and a reload while publishes wait on it
# lets the old worker answer them before it goes.  When the worker rather
# than redis is late (stalled in its own loop, as a long pass through many
# connections stalls it), no link is dropped: the stall is made by an
# access log on a pipe that the scenario fills and drains.
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use WsPerf::PubSub;
use WsPerf::Redis;

# the access log of /stall: a pipe that a scenario fills and drains
our $FIFO = stall_fifo();

redis_start(port => 6403);

master_on();
no_shuffle();
worker_connections(1024);

pubsub_init(client => 't/pubsub/redis.py', http_config => <<'_EOC_', config => <<'_EOC_');
    ws_perf_redis redis://127.0.0.1:$TEST_NGINX_REDIS_PORT;
    ws_perf_redis_command_timeout 500ms;
    ws_perf_redis_max_pending 1;
_EOC_
    location /ws {
        ws_perf;
        ws_perf_channels $arg_channels;
    }
    location /pub {
        ws_perf_publish;
    }
    location = /status {
        ws_perf_status;
    }
    location = /t {
        return 200 "ok\n";
    }
_EOC_

run_tests();

__DATA__

=== TEST 1: redis asleep for 2 s: 429 beyond the pending limit, 503 after the timeout
--- request
GET /t
--- response_body
ok
--- pubsub
slow-redis channel=slow
--- pubsub_out
4 publishes while redis sleeps: statuses [429, 429, 429, 503], answered before it woke up
after it woke up the subscriber got: ["end"]
--- error_log eval
qr/\[error\] .*ws_perf: redis publish link to "redis:\/\/127\.0\.0\.1:\d+" lost: no reply in 500 ms; reconnecting/
--- no_error_log
[alert]
[crit]
[emerg]
AddressSanitizer
runtime error:



=== TEST 2: a reload while publishes wait on redis: the old worker answers them before it goes
--- http_config
    ws_perf_redis redis://127.0.0.1:$TEST_NGINX_REDIS_PORT;
    ws_perf_redis_command_timeout 5s;
--- request
GET /t
--- response_body
ok
--- pubsub
reload-waiting n=8
--- pubsub_out
8 publishes waiting on redis across a reload: all 202
the old workers went once they were answered
--- no_error_log
[alert]
[crit]
[emerg]
AddressSanitizer
runtime error:



=== TEST 3: the worker, not redis, is late: stalled in its own loop past the command timeout and the heartbeat's with redis's reply unread, it drops no link and the publish is answered 202
--- http_config
    ws_perf_redis redis://127.0.0.1:$TEST_NGINX_REDIS_PORT;
    ws_perf_redis_command_timeout 1s;
--- config eval
"    location /ws {
        ws_perf;
        ws_perf_channels \$arg_channels;
    }
    location /pub {
        ws_perf_publish;
    }
    location = /status {
        ws_perf_status;
    }
    location = /stall {
        access_log $::FIFO;
        return 204;
    }
    location = /t {
        return 200 \"ok\\n\";
    }
"
--- request
GET /t
--- response_body
ok
--- pubsub eval
"worker-behind fifo=$::FIFO timeout_ms=1000"
--- pubsub_out
the worker stalled 2.5 s (over the command timeout and two heartbeat ticks) with redis's reply unread: True
the publish: HTTP/1.1 202 Accepted
the subscriber got it: 1 time(s), notices []
a publish after: 202, delivered
the busy connections answered: True
redis links dropped: []
--- no_error_log
[error]
[alert]
[crit]
[emerg]
AddressSanitizer
runtime error:
