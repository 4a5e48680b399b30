# Redis Sentinel (docs/redis.md, "Sentinel"): ws_perf_redis_sentinel's
# forms as nginx -t takes or refuses them; pub/sub through the master the
# sentinels name; the master killed with SIGKILL in the middle of a
# publishing run (publishes refused with 503 until the replica is
# promoted, delivery back within 5 s of the promotion without a reload,
# the redis_reconnected notice); a sentinel that names the replica (never
# written to); hostile sentinels (garbage, wrong shapes, host names, huge
# values, silence) that cost a log line each and never the worker.  The
# master, its replica and three sentinels are t/lib/WsPerf/Sentinel.pm's,
# on ports from $TEST_NGINX_REDIS_PORT; the scenarios are
# t/pubsub/sentinel.py's, the fake sentinels t/pubsub/fakeredis.py.
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use WsPerf::PubSub;
use WsPerf::Sentinel;

sentinel_start(port => 6410);

master_on();
worker_connections(1024);
no_shuffle();

our $SENTINELS = <<'_EOC_';
    ws_perf_redis_sentinel $TEST_NGINX_SENTINEL_NAME
        127.0.0.1:$TEST_NGINX_SENTINEL_PORT1
        127.0.0.1:$TEST_NGINX_SENTINEL_PORT2
        127.0.0.1:$TEST_NGINX_SENTINEL_PORT3;
    ws_perf_redis_reconnect 50ms 200ms;
_EOC_

pubsub_init(client => 't/pubsub/sentinel.py', http_config => $SENTINELS,
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
    location /health {
        ws_perf_health;
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

    # "--- workers: N", two by default
    workers(defined $block->workers ? $block->workers : 2);

    if (defined $block->must_die) {
        $block->set_value('request', "GET /t\n")
            unless defined $block->request;
        $block->set_value('suppress_stderr', 1);
        # naming [emerg] among the patterns tells the runners that the
        # [emerg] line is expected
        $block->set_value('error_log', $block->error_log . "[emerg]\n");
        $block->set_value('no_error_log', "[alert]\n[crit]\n")
            unless defined $block->no_error_log;
    }
});

run_tests();

__DATA__

=== TEST 1: every form taken: names, addresses, options; no password logged
--- http_config
    ws_perf_redis_sentinel mym 127.0.0.1:$TEST_NGINX_SENTINEL_PORT1
        localhost:$TEST_NGINX_SENTINEL_PORT2 127.0.0.1
        user=app password=Data-s3cret db=3
        sentinel_user=watch sentinel_password=Watch-s3cret;
--- request
GET /t
--- response_body
ok
--- wait: 1
--- error_log eval
qr/\[error\] .*ws_perf: redis sentinel 127\.0\.0\.1:\d+ of "mym" failed: /
--- no_error_log
[emerg]
[alert]
s3cret



=== TEST 2: a name and no address
--- http_config
    ws_perf_redis_sentinel mym;
--- must_die
--- error_log
invalid number of arguments in "ws_perf_redis_sentinel" directive



=== TEST 3: options and no address
--- http_config
    ws_perf_redis_sentinel mym user=app password=Data-s3cret;
--- must_die
--- error_log
no sentinel address in "ws_perf_redis_sentinel": give one or more host:port after the master's name
--- no_error_log
s3cret



=== TEST 4: a port out of range
--- http_config
    ws_perf_redis_sentinel mym 127.0.0.1:26379 127.0.0.1:70000;
--- must_die
--- error_log
invalid port in redis address "127.0.0.1:70000"



=== TEST 5: a host that does not resolve
--- http_config
    ws_perf_redis_sentinel mym no-such-host.invalid:26379;
--- must_die
--- error_log
host not found in redis address "no-such-host.invalid:26379"



=== TEST 6: a unix socket
--- http_config
    ws_perf_redis_sentinel mym unix:/tmp/sentinel.sock;
--- must_die
--- error_log
not a TCP address in redis address "unix:/tmp/sentinel.sock"



=== TEST 7: an option it does not know: named, its value never shown
--- http_config
    ws_perf_redis_sentinel mym 127.0.0.1:26379 pass=Data-s3cret;
--- must_die
--- error_log
invalid option "pass=" of "ws_perf_redis_sentinel": use user=, password=, db=, sentinel_user= or sentinel_password=
--- no_error_log
s3cret



=== TEST 8: an empty password
--- http_config
    ws_perf_redis_sentinel mym 127.0.0.1:26379 password=;
--- must_die
--- error_log
invalid option "password=" of "ws_perf_redis_sentinel": empty



=== TEST 9: a password given twice
--- http_config
    ws_perf_redis_sentinel mym 127.0.0.1:26379 password=one-s3cret password=two-s3cret;
--- must_die
--- error_log
invalid option "password=" of "ws_perf_redis_sentinel": given twice
--- no_error_log
s3cret



=== TEST 10: a database that is not a number
--- http_config
    ws_perf_redis_sentinel mym 127.0.0.1:26379 db=first;
--- must_die
--- error_log
invalid redis database number in "db=first"



=== TEST 11: a user without a password
--- http_config
    ws_perf_redis_sentinel mym 127.0.0.1:26379 sentinel_user=watch;
--- must_die
--- error_log
a user without a password in "ws_perf_redis_sentinel"



=== TEST 12: a master name with "="
--- http_config
    ws_perf_redis_sentinel user=app 127.0.0.1:26379;
--- must_die
--- error_log
invalid master name in "ws_perf_redis_sentinel"



=== TEST 13: twice
--- http_config
    ws_perf_redis_sentinel mym 127.0.0.1:26379;
    ws_perf_redis_sentinel mym 127.0.0.1:26380;
--- must_die
--- error_log
"ws_perf_redis_sentinel" directive is duplicate



=== TEST 14: after ws_perf_redis
--- http_config
    ws_perf_redis redis://127.0.0.1:6379;
    ws_perf_redis_sentinel mym 127.0.0.1:26379;
--- must_die
--- error_log
"ws_perf_redis_sentinel" directive is mutually exclusive with "ws_perf_redis"



=== TEST 15: before ws_perf_redis
--- http_config
    ws_perf_redis_sentinel mym 127.0.0.1:26379;
    ws_perf_redis redis://127.0.0.1:6379;
--- must_die
--- error_log
"ws_perf_redis" directive is mutually exclusive with "ws_perf_redis_sentinel"



=== TEST 16: inside a server block
--- config
    ws_perf_redis_sentinel mym 127.0.0.1:26379;
--- must_die
--- error_log
"ws_perf_redis_sentinel" directive is not allowed here



=== TEST 17: ws_perf_redis_wait_replicas with no replica
--- http_config
    ws_perf_redis_sentinel mym 127.0.0.1:26379;
    ws_perf_redis_wait_replicas 0 100ms;
--- must_die
--- error_log
invalid "ws_perf_redis_wait_replicas": give how many replicas must have each publish and how long to wait for them, e.g. "1 100ms"



=== TEST 18: ws_perf_redis_wait_replicas longer than the command timeout
--- http_config
    ws_perf_redis_sentinel mym 127.0.0.1:26379;
    ws_perf_redis_wait_replicas 1 2s;
--- must_die
--- error_log
ws_perf_redis_wait_replicas waits 2000 ms, which must be less than ws_perf_redis_command_timeout (2000 ms)



=== TEST 19: pub/sub through the master the sentinels name
--- request
GET /t
--- response_body
ok
--- pubsub
basic channel=news subs=8 workers=2
--- pubsub_out
8 subscribers, through the sentinels
every subscriber got the 50 messages once, in order
error log: the master named once per worker
--- timeout: 90



=== TEST 20: the master killed in the middle of a publishing run
--- request
GET /t
--- response_body
ok
--- pubsub
failover channel=fo subs=8 workers=2
--- pubsub_out
publishes before the kill: all 202
publishes between the kill and the promotion: all 503
no status but 202 and 503
delivery resumed within 5 s of the promotion
no reload: the same workers
every subscriber got one redis_reconnected notice
every subscriber got all 20 published after, in order
and all of those taken before the kill
error log: the move named once per worker
the old master is back, as its replica
--- no_error_log
[alert]
[crit]
[emerg]
AddressSanitizer
runtime error:
--- timeout: 120



=== TEST 21: SENTINEL FAILOVER with the master up: the links move, no error
--- request
GET /t
--- response_body
ok
--- pubsub
switch channel=sw subs=4
--- pubsub_out
the links moved to the new master, a warning per worker
every subscriber got one redis_reconnected notice, then the next message
no error line
--- timeout: 90



=== TEST 22: a sentinel that names the replica: never written to
--- http_config
    ws_perf_redis_sentinel $TEST_NGINX_SENTINEL_NAME
        127.0.0.1:$TEST_NGINX_FAKE_SENTINEL_PORT;
    ws_perf_redis_reconnect 50ms 200ms;
--- request
GET /t
--- response_body
ok
--- pubsub
replica seconds=3
--- pubsub_out
publishes while the sentinel names the replica: [503]
the sentinel asked again, at a bounded rate
the replica heard ROLE and no write: yes
once it names the master: 202
no worker died
--- error_log eval
qr/\[error\] .*ws_perf: redis publish link to "sentinel:mym at 127\.0\.0\.1:\d+" failed: is a replica, not the master \(ROLE\)/
--- no_error_log
[alert]
[crit]
[emerg]
AddressSanitizer
runtime error:
--- timeout: 90



=== TEST 23: hostile sentinels: a log line each, never the worker
--- workers: 1
--- http_config
    ws_perf_redis_sentinel $TEST_NGINX_SENTINEL_NAME
        127.0.0.1:$TEST_NGINX_FAKE_SENTINEL_PORT
        127.0.0.1:$TEST_NGINX_FAKE_SENTINEL_PORT2;
    ws_perf_redis_reconnect 50ms 200ms;
--- request
GET /t
--- response_body
ok
--- pubsub
hostile
--- pubsub_out
a status reply: one [error] line, same worker, publishing works
an array of three: one [error] line, same worker, publishing works
an integer port: one [error] line, same worker, publishing works
a port out of range: one [error] line, same worker, publishing works
a nested array: one [error] line, same worker, publishing works
a host name: one [error] line, same worker, publishing works
a 1 MB address: one [error] line, same worker, publishing works
nil (no such master): one [error] line, same worker, publishing works
an error: one [error] line, same worker, publishing works
not RESP: one [error] line, same worker, publishing works
arrays nested 9 deep: one [error] line, same worker, publishing works
a closed connection: one [error] line, same worker, publishing works
no answer: one [error] line, same worker, publishing works
a push of a wrong shape: one [error] line, same worker, publishing works
a push on another channel: one [error] line, same worker, publishing works
a switch to a host name: one [error] line, same worker, publishing works
a switch of another master: no [error] line, the link kept, same worker
no alert, no signal
--- no_error_log
[alert]
[crit]
[emerg]
AddressSanitizer
runtime error:
--- timeout: 120



=== TEST 24: the ledger: the master killed halfway, no accepted message lost
--- http_config eval
$::SENTINELS . <<'_EOC_';
    ws_perf_offline_max 1000;
    ws_perf_ack_timeout 300ms;
    ws_perf_max_attempts 100;
    ws_perf_max_pending_acks 1000;
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
--- no_error_log
[alert]
[crit]
[emerg]
AddressSanitizer
runtime error:
--- timeout: 150



=== TEST 25: ws_perf_redis_wait_replicas: a publish is taken once a replica has it
--- http_config eval
$::SENTINELS . <<'_EOC_';
    ws_perf_redis_wait_replicas 1 100ms;
_EOC_
--- request
GET /t
--- response_body
ok
--- pubsub
wait-replicas channel=w
--- pubsub_out
with the replica in sync: 202
while the replica sleeps: 503, Retry-After 1, published, but 0 of 1 replicas had it within 100 ms, after the wait
the subscriber got that one all the same
once the replica answers: 202
--- timeout: 90
