# Redis mode when redis goes away (docs/redis.md, "Failures"): publishes
# are refused with 503 and a JSON reason, WebSocket connections stay open,
# the error log says what happened once per link and state change; when
# redis is back every worker reconnects and resubscribes by itself, the
# subscribers get a notice, delivery resumes within 2 seconds; and 20
# restarts leave the workers with the fds and memory they had.  A link
# lost to a redis that stops reads its end (EOF), or a reset, or fails a
# write first when publishes came in between: each is the one line.
# Admin requests (the dead letters) that a worker takes after redis reset
# its link, before it read that, are answered 503 and their connections
# go on.
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use WsPerf::PubSub;
use WsPerf::Redis;

# the access log of /stall: a pipe that a scenario fills to stall a worker
# in its loop and drains
stall_fifo();

redis_start(port => 6402);

workers(4);
master_on();
worker_connections(1024);
no_shuffle();

pubsub_init(client => 't/pubsub/redis.py', http_config => <<'_EOC_', config => <<'_EOC_');
    ws_perf_redis redis://127.0.0.1:$TEST_NGINX_REDIS_PORT;
_EOC_
    location /ws {
        ws_perf;
        ws_perf_channels $arg_channels;
    }
    location /pub {
        ws_perf_publish;
    }
    location /dlq {
        ws_perf_dlq;
    }
    location = /pid {
        return 200 "$pid\n";
    }
    location = /stall {
        access_log $TEST_NGINX_STALL_FIFO;
        return 204;
    }
    location = /t {
        return 200 "ok\n";
    }
_EOC_

run_tests();

__DATA__

=== TEST 1: redis stops for a second under 8 subscribers and 50 publishes
--- request
GET /t
--- response_body
ok
--- pubsub
outage channel=out subs=8 workers=4
--- pubsub_out
50 publishes while redis is down: 50 x 503 (Retry-After 1, JSON reason)
channel info while down: 503
WebSocket connections open, answering: 8 of 8
delivery resumed within the bound (2 s; 40 s under valgrind)
every subscriber got one reconnect notice
and, besides probes, exactly: ["before", "end"]
error log: one line per link lost, none of the reconnect failures logged, one line per link back
--- error_log eval
[qr/\[error\] .*ws_perf: redis publish link to "redis:\/\/127\.0\.0\.1:\d+" lost: (?:Server closed the connection|Connection reset by peer|Broken pipe); reconnecting/,
 qr/\[error\] .*ws_perf: redis subscribe link to "redis:\/\/127\.0\.0\.1:\d+" lost: (?:Server closed the connection|Connection reset by peer|Broken pipe); reconnecting/,
 qr/\[notice\] .*ws_perf: redis publish link to "redis:\/\/127\.0\.0\.1:\d+" is up again after \d+ attempts/]
--- no_error_log
[alert]
[crit]
[emerg]
AddressSanitizer
runtime error:



=== TEST 2: 20 redis restarts: delivery comes back each time, no fd or memory growth
--- request
GET /t
--- response_body
ok
--- pubsub
restarts channel=rs n=20 subs=20
--- pubsub_out
20 restarts: delivery came back every time
worker fds: unchanged
worker RSS: grew less than the bound (1 MB; 4 MB under a sanitizer, 8 MB under valgrind)
--- no_error_log
[alert]
[crit]
[emerg]
AddressSanitizer
runtime error:
--- timeout: 120



=== TEST 3: dead-letter lists taken in a pass during which Redis reset the worker's links: each answered 503, each connection answers its next request
A GET /dlq on each of two keep-alive connections of one worker, taken in
one pass with a stall (GET /stall, its access log on a full pipe) before
them; Redis shuts down during the stall.  The worker sends their FCALLs
to the link Redis reset, not read yet: the second one fails to write.
Its 503 comes after the request is held, not during the call: a request
answered and freed during the call, then held, would be used after it
was freed.
--- request
GET /t
--- response_body
ok
--- pubsub
admin-unread-reset fifo=$TEST_NGINX_STALL_FIFO
--- pubsub_out
two connections of one worker, before: 200, 200
taken in a pass with Redis gone unread: 503 redis is unavailable, 503 redis is unavailable
the next on each connection, Redis down: 503 redis is unavailable, 503 redis is unavailable
once Redis is back: 200, 200
--- no_error_log
[alert]
[crit]
[emerg]
AddressSanitizer
runtime error:
