# A hostile Redis (docs/redis.md, "What comes from Redis"): replies of every
# wrong type and shape to each command, pub/sub pushes hiredis would assert
# on, JSON that is not UTF-8 on the bus, in a history and in dead letters.
# Each case: the worker survives (the same pid answers, no signal), the bad
# reply costs one [error] line and its link, and a subscriber still gets a
# message published afterwards.  The fake Redis is t/pubsub/fakeredis.py,
# started by each scenario on $TEST_NGINX_FAKE_REDIS_PORT; the UTF-8 cases
# run against a real redis-server as well.
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use WsPerf::PubSub;
use WsPerf::Redis;

$WsPerf::PubSub::CLIENT = 't/pubsub/hostile.py';

redis_start(port => 6408);

$ENV{TEST_NGINX_FAKE_REDIS_PORT} ||= $ENV{TEST_NGINX_REDIS_PORT} + 1;

workers(1);
master_on();
worker_connections(1024);
no_shuffle();

pubsub_init(http_config => <<'_EOC_', config => <<'_EOC_');
    ws_perf_redis redis://127.0.0.1:$TEST_NGINX_FAKE_REDIS_PORT;
    ws_perf_redis_reconnect 50ms 200ms;
    ws_perf_history 10;
_EOC_
    location /ws {
        ws_perf;
        ws_perf_channels $arg_channels;
    }
    location /raw {
        ws_perf;
        ws_perf_channels $arg_channels;
        ws_perf_format raw;
    }
    location /pub {
        ws_perf_publish;
    }
    location /dlq {
        ws_perf_dlq;
    }
    location /health {
        ws_perf_health;
    }
    location /status {
        ws_perf_status;
    }
    location = /pid {
        return 200 "$pid\n";
    }
    location = /t {
        return 200 "ok\n";
    }
_EOC_

add_block_preprocessor(sub {
    my $block = shift;

    # a bad reply is an [error] (the scenarios count them); nothing worse
    $block->set_value('no_error_log', "[alert]\n[crit]\n[emerg]\n"
                                      . "exited on signal\nruntime error:\n"
                                      . "AddressSanitizer\n")
        unless defined $block->no_error_log;
    $block->set_value('timeout', 120) unless defined $block->timeout;
});

run_tests();

__DATA__

=== TEST 1: replies to a publish of every wrong shape: 500, the link replaced
--- request
GET /t
--- response_body
ok
--- pubsub
publish-replies
--- pubsub_out
a short array: 500, 1 [error] line, publish link replaced, same worker, a later message delivered
an integer: 500, 1 [error] line, publish link replaced, same worker, a later message delivered
a nil: 500, 1 [error] line, publish link replaced, same worker, a later message delivered
an integer id: 500, 1 [error] line, publish link replaced, same worker, a later message delivered
a nil id: 500, 1 [error] line, publish link replaced, same worker, a later message delivered
an id that is not one: 500, 1 [error] line, publish link replaced, same worker, a later message delivered
an id of invalid UTF-8: 500, 1 [error] line, publish link replaced, same worker, a later message delivered
a nested array: 500, 1 [error] line, publish link replaced, same worker, a later message delivered
a count that is a string: 500, 1 [error] line, publish link replaced, same worker, a later message delivered
an error reply that is not UTF-8: 503, JSON answer, 0 [error] lines, no link replaced, same worker, a later message delivered
two replies to one command: 1 [error] line, publish link replaced, same worker, a later message delivered



=== TEST 2: replies to channel info of every wrong shape: 503, the link replaced
--- request
GET /t
--- response_body
ok
--- pubsub
info-replies
--- pubsub_out
a string count: 503, 1 [error] line, publish link replaced, same worker, a later message delivered
two elements: 503, 1 [error] line, publish link replaced, same worker, a later message delivered
a negative count: 503, 1 [error] line, publish link replaced, same worker, a later message delivered
a status: 503, 1 [error] line, publish link replaced, same worker, a later message delivered



=== TEST 3: replies to a resume: wrong shapes give the client an error and replace the link; bad entries are left out
--- request
GET /t
--- response_body
ok
--- pubsub
resume-replies
--- pubsub_out
an integer entry: error 503, 1 [error] line, publish link replaced, same worker, a later message delivered
a nil entry: error 503, 1 [error] line, publish link replaced, same worker, a later message delivered
a nested entry: error 503, 1 [error] line, publish link replaced, same worker, a later message delivered
an entry without its id: error 503, 1 [error] line, publish link replaced, same worker, a later message delivered
an entry id that is not a number: error 503, 1 [error] line, publish link replaced, same worker, a later message delivered
a gap that is a string: error 503, 1 [error] line, publish link replaced, same worker, a later message delivered
a more that is a string: error 503, 1 [error] line, publish link replaced, same worker, a later message delivered
a last id that is an integer: error 503, 1 [error] line, publish link replaced, same worker, a later message delivered
a last id that is not a number: error 503, 1 [error] line, publish link replaced, same worker, a later message delivered
one element: error 503, 1 [error] line, publish link replaced, same worker, a later message delivered
a status: error 503, 1 [error] line, publish link replaced, same worker, a later message delivered
a count out of range: error 503, 1 [error] line, publish link replaced, same worker, a later message delivered
nesting 9 deep: error 503, 1 [error] line, publish link replaced, same worker, a later message delivered
history with JSON that is not UTF-8 and a malformed entry: got ['good'], resumed count 1, 0 [error] lines, 2 warn lines, close None, no link replaced, same worker, a later message delivered



=== TEST 4: dead-letter replies: nil and integer field names, entries that are not arrays; fields that are not text
--- request
GET /t
--- response_body
ok
--- pubsub
dlq-replies
--- pubsub_out
list, a nil field name: 502, 1 [error] line, publish link replaced, same worker, a later message delivered
list, an integer field name: 502, 1 [error] line, publish link replaced, same worker, a later message delivered
list, entries that are not arrays: 502, 1 [error] line, publish link replaced, same worker, a later message delivered
list, an entry of one element: 502, 1 [error] line, publish link replaced, same worker, a later message delivered
list, an odd field list: 502, 1 [error] line, publish link replaced, same worker, a later message delivered
list, counts that are an integer: 502, 1 [error] line, publish link replaced, same worker, a later message delivered
list, counts with a nil: 502, 1 [error] line, publish link replaced, same worker, a later message delivered
list, a next that is not an id: 502, 1 [error] line, publish link replaced, same worker, a later message delivered
list, an integer: 502, 1 [error] line, publish link replaced, same worker, a later message delivered
list, fields of invalid UTF-8 or not numbers: 200, valid JSON, counts {'expired': 1}, entries [['attempts', 'dlq_id', 'id', 'message', 'reason', 'target'], ['dlq_id', 'reason']], 0 [error] lines, no link replaced, same worker, a later message delivered
get, two entries: 502, 1 [error] line, publish link replaced, same worker, a later message delivered
get, an entry with integer fields: 502, 1 [error] line, publish link replaced, same worker, a later message delivered
get, an integer: 502, 1 [error] line, publish link replaced, same worker, a later message delivered
get, nothing: 404, 0 [error] lines, no link replaced, same worker, a later message delivered
replay, an array: 502, 1 [error] line, publish link replaced, same worker, a later message delivered
delete, an array: 502, 1 [error] line, publish link replaced, same worker, a later message delivered



=== TEST 5: pub/sub pushes of every wrong shape: the subscribe link replaced, clients told
--- request
GET /t
--- response_body
ok
--- pubsub
pushes
--- pubsub_out
an integer kind: 1 [error] line, subscribe link replaced, same worker, a later message delivered
two elements: 1 [error] line, subscribe link replaced, same worker, a later message delivered
one element: 1 [error] line, subscribe link replaced, same worker, a later message delivered
a nil channel: 1 [error] line, subscribe link replaced, same worker, a later message delivered
an integer message: 1 [error] line, subscribe link replaced, same worker, a later message delivered
a nil kind: 1 [error] line, subscribe link replaced, same worker, a later message delivered
an unknown kind: 1 [error] line, subscribe link replaced, same worker, a later message delivered
an unsubscribe without a count: 1 [error] line, subscribe link replaced, same worker, a later message delivered
four elements: 1 [error] line, subscribe link replaced, same worker, a later message delivered
an error: 1 [error] line, subscribe link replaced, same worker, a later message delivered
a status: 1 [error] line, subscribe link replaced, same worker, a later message delivered
an integer: 1 [error] line, subscribe link replaced, same worker, a later message delivered
a protocol error: 1 [error] line, subscribe link replaced, same worker, a later message delivered
an unsubscribe confirmation and a message of a channel nobody here has: 0 [error] lines, no link replaced, same worker, a later message delivered



=== TEST 6: JSON that is not UTF-8 on the subscribe link: dropped, counted, logged; other strings go as binary
--- request
GET /t
--- response_body
ok
--- pubsub
bus-utf8
--- pubsub_out
JSON client got ids ['3', '4', '5'], id 4 as base64
raw client got [('TEXT', b'"ok"'), ('BINARY', b'\xff\xfe'), ('TEXT', b'plain')]
dropped: 2 warn lines, redis.dropped 2, 0 [error] lines, no link replaced, same worker, a later message delivered



=== TEST 7: the password is never logged: a refused AUTH, nginx -t
--- http_config
    ws_perf_redis redis://ann:s3cr3t-pw@127.0.0.1:$TEST_NGINX_FAKE_REDIS_PORT;
    ws_perf_redis_reconnect 50ms 200ms;
--- request
GET /t
--- response_body
ok
--- pubsub
password
--- pubsub_out
refused: 2 [error] lines name the address as redis://ann:***@..., the password appears 0 times
nginx -t: invalid redis database number in "redis://ann:***@127.0.0.1:1/x" in FILE, the password appears 0 times



=== TEST 8: a real redis-server: JSON that is not UTF-8 is refused by the functions, dropped from the bus and from a resume
--- http_config
    ws_perf_redis redis://127.0.0.1:$TEST_NGINX_REDIS_PORT;
    ws_perf_history 10;
--- request
GET /t
--- response_body
ok
--- pubsub
real-utf8
--- pubsub_out
ws_perf_publish: ERR data flagged j is not UTF-8
ws_perf_schedule: ERR data flagged j is not UTF-8
live: got ['a', 'b'], close None
resume: got ['a', 'b'], {'type': 'resumed', 'channel': 'rh', 'count': 2}, close None
redis.dropped 2, 2 warn lines
compressed JSON that is not UTF-8: got ['a', 'b', 'c']
