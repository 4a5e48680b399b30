# ws_perf_max_connections_per_user counts a user's connections on every
# worker (shared-memory engine) and on every node (Redis engine: the count
# is in Redis, docs/redis.md "Connections per user"): two workers, two
# nodes on one Redis, handshakes that race, a slot given back on close, a
# reload, a worker killed with SIGKILL (its slots free at once without
# Redis, within ws_perf_redis_worker_ttl with it), Redis down or asleep at
# the handshake (admitted, counted by the worker, one warning) and a Redis
# that answers the admission with garbage.  Connections are put on the
# worker a case needs through a "reuseport" listener (t/pubsub/users.py).
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use WsPerf::Engine 'redis', 'cluster';
use WsPerf::PubSub;
use WsPerf::Redis;

$ENV{TEST_NGINX_WS_PORT} ||= $Test::Nginx::Util::ServerPort + 1;
$ENV{TEST_NGINX_NODE_PORT} ||= $Test::Nginx::Util::ServerPort + 2;
$ENV{TEST_NGINX_NODE_WS_PORT} ||= $Test::Nginx::Util::ServerPort + 3;

redis_start(port => 6411);

$ENV{TEST_NGINX_FAKE_REDIS_PORT} ||= $ENV{TEST_NGINX_REDIS_PORT} + 1;

workers(2);
master_on();
worker_connections(1024);
no_shuffle();

our $WS_SERVER = <<'_EOC_';
    server {
        listen 127.0.0.1:$TEST_NGINX_WS_PORT reuseport;

        location /ws {
            ws_perf;
            ws_perf_user $arg_user;
        }
        location = /pid {
            return 200 "$pid\n";
        }
    }
_EOC_

pubsub_init(client => 't/pubsub/users.py', config => <<'_EOC_');
    location /ws {
        ws_perf;
        ws_perf_user $arg_user;
    }
    location /pub {
        ws_perf_publish;
    }
    location = /t {
        return 200 "ok\n";
    }
_EOC_

# every block has the reuseport listener besides its own http_config
add_block_preprocessor(sub {
    my $block = shift;
    my $http = $block->http_config;
    $block->set_value('http_config',
                      (defined $http ? $http : '') . $WS_SERVER);
});

run_tests();

__DATA__

=== TEST 1: shared memory, two workers: the user's connections on both count together
--- engine: shm: the shared-memory engine's own count
--- http_config
    ws_perf_max_connections_per_user 3;
--- request
GET /t
--- response_body
ok
--- pubsub
spread ws=$TEST_NGINX_WS_PORT
--- pubsub_out
#1 and #2 on worker A, #3 on worker B: 101 101 101
a 4th on worker A, on worker B: 429 429
another user on worker A: 101
#3 (worker B) closed: a new one on worker A gets 101
and one more on worker B: 429
--- error_log
websocket handshake rejected: too many connections for this user



=== TEST 2: Redis, two workers: the user's connections on both count together
--- http_config
    ws_perf_redis redis://127.0.0.1:$TEST_NGINX_REDIS_PORT;
    ws_perf_redis_prefix t411.2:;
    ws_perf_max_connections_per_user 3;
--- request
GET /t
--- response_body
ok
--- pubsub
spread ws=$TEST_NGINX_WS_PORT prefix=t411.2:
--- pubsub_out
#1 and #2 on worker A, #3 on worker B: 101 101 101
a 4th on worker A, on worker B: 429 429
another user on worker A: 101
#3 (worker B) closed: a new one on worker A gets 101
and one more on worker B: 429
--- error_log
websocket handshake rejected: too many connections for this user



=== TEST 3: shared memory: 12 handshakes of one user at once over two workers, exactly 3 admitted
--- engine: shm: the shared-memory engine's own count
--- http_config
    ws_perf_max_connections_per_user 3;
--- request
GET /t
--- response_body
ok
--- pubsub
race ws=$TEST_NGINX_WS_PORT
--- pubsub_out
12 at once: 3 x 101, 9 x 429



=== TEST 4: Redis, two nginx nodes on one Redis: the limit holds across them, also for handshakes that race on both
--- http_config
    ws_perf_redis redis://127.0.0.1:$TEST_NGINX_REDIS_PORT;
    ws_perf_redis_prefix t411.4:;
    ws_perf_max_connections_per_user 3;
--- request
GET /t
--- response_body
ok
--- pubsub
nodes ws=$TEST_NGINX_WS_PORT node=$TEST_NGINX_NODE_PORT node_ws=$TEST_NGINX_NODE_WS_PORT prefix=t411.4:
--- pubsub_out
the second node's workers are in redis: 4 workers' keys
#1, #2 on node 1, #3 on node 2: 101 101 101
a 4th on node 2, on node 1: 429 429
#1 (node 1) closed: a new one on node 2 gets 101
12 at once, 6 on each node: 3 x 101, 9 x 429
second node stopped, its error log clean



=== TEST 5: shared memory: nginx -s reload gives the old workers' slots back, the new workers count anew
--- engine: shm: the shared-memory engine's own count
--- http_config
    ws_perf_max_connections_per_user 2;
--- request
GET /t
--- response_body
ok
--- pubsub
reload ws=$TEST_NGINX_WS_PORT
--- pubsub_out
before: 101 101 429
reload: the open ones closed with [1001]
after: 101 101 429



=== TEST 6: Redis: nginx -s reload gives the old workers' slots back (their keys go as they exit), the new workers count anew
--- http_config
    ws_perf_redis redis://127.0.0.1:$TEST_NGINX_REDIS_PORT;
    ws_perf_redis_prefix t411.6:;
    ws_perf_max_connections_per_user 2;
--- request
GET /t
--- response_body
ok
--- pubsub
reload ws=$TEST_NGINX_WS_PORT prefix=t411.6:
--- pubsub_out
before: 101 101 429
reload: the open ones closed with [1001]
the old workers' keys in redis: gone
after: 101 101 429



=== TEST 7: shared memory: the slots of a worker killed with SIGKILL are free at once
--- engine: shm: the shared-memory engine's own count
--- http_config
    ws_perf_max_connections_per_user 2;
--- request
GET /t
--- response_body
ok
--- pubsub
killed ws=$TEST_NGINX_WS_PORT bound=1
--- pubsub_out
#1 and #2 on worker A: 101 101
right after worker A was killed, #3 on worker B: 101
#3 admitted within 1 s of the kill
#4 and #5 on worker B: 101 429
--- error_log eval
qr/\[alert\] .*worker process \d+ exited on signal 9/
--- no_error_log
[error]
[crit]
[emerg]
AddressSanitizer
runtime error:



=== TEST 8: Redis: the slots of a worker killed with SIGKILL stop counting within ws_perf_redis_worker_ttl
The killed worker's count stays in Redis until its key expires (3 s, refreshed
every second): then the user's slots are free, whatever node asks.
--- http_config
    ws_perf_redis redis://127.0.0.1:$TEST_NGINX_REDIS_PORT;
    ws_perf_redis_prefix t411.8:;
    ws_perf_redis_worker_ttl 3s;
    ws_perf_max_connections_per_user 2;
--- request
GET /t
--- response_body
ok
--- pubsub
killed ws=$TEST_NGINX_WS_PORT prefix=t411.8: bound=4
--- pubsub_out
#1 and #2 on worker A: 101 101
right after worker A was killed, #3 on worker B: 429
#3 admitted within 4 s of the kill
#4 and #5 on worker B: 101 429
--- error_log eval
qr/\[alert\] .*worker process \d+ exited on signal 9/
--- no_error_log
[error]
[crit]
[emerg]
AddressSanitizer
runtime error:



=== TEST 9: Redis down at the handshake: admitted up to the limit per worker, one warning per worker; back, Redis counts them all
--- http_config
    ws_perf_redis redis://127.0.0.1:$TEST_NGINX_REDIS_PORT;
    ws_perf_redis_prefix t411.9:;
    ws_perf_redis_reconnect 50ms 200ms;
    ws_perf_max_connections_per_user 2;
--- request
GET /t
--- response_body
ok
--- pubsub
outage ws=$TEST_NGINX_WS_PORT prefix=t411.9:
--- pubsub_out
redis down: #1, #2 on worker A: 101 101; #3 on worker A: 429; #3 on worker B: 101
warnings: one from each worker
redis back: it counts the user's 3 connections
a new one on worker A, on worker B: 429 429
#1, #2 closed: one more gets 101, the next 429
--- error_log eval
[qr/\[warn\] .*ws_perf: redis is unavailable: ws_perf_max_connections_per_user counts the connections of this worker only, until its publish link is up again/,
 by_engine(redis => qr/\[error\] .*ws_perf: redis publish link to "redis:\/\/127\.0\.0\.1:\d+" lost/,
           cluster => qr/\[error\] .*ws_perf: redis publish link to "cluster master 127\.0\.0\.1:\d+" lost/)]
--- no_error_log
[crit]
[alert]
[emerg]
AddressSanitizer
runtime error:



=== TEST 10: Redis asleep at the handshake: answered after the command timeout, not when Redis wakes up; then counted in Redis
--- engine: redis: a DEBUG SLEEP of 2 s outlasts the cluster's node timeout (1 s): its master would be failed over
--- http_config
    ws_perf_redis redis://127.0.0.1:$TEST_NGINX_REDIS_PORT;
    ws_perf_redis_prefix t411.10:;
    ws_perf_redis_command_timeout 500ms;
    ws_perf_redis_reconnect 50ms 200ms;
    ws_perf_max_connections_per_user 2;
--- request
GET /t
--- response_body
ok
--- pubsub
slow ws=$TEST_NGINX_WS_PORT prefix=t411.10:
--- pubsub_out
a handshake while redis sleeps: 101, answered before redis woke up
redis awake: it counts that connection
two more: 101 429
--- error_log eval
[qr/\[warn\] .*ws_perf: redis did not answer: ws_perf_max_connections_per_user counts the connections of this worker only/,
 qr/\[error\] .*ws_perf: redis publish link to "redis:\/\/127\.0\.0\.1:\d+" lost: no reply in 500 ms/]
--- no_error_log
[crit]
[alert]
[emerg]
AddressSanitizer
runtime error:



=== TEST 11: a Redis answering ws_perf_admit with garbage: admitted (counted by the worker), the link replaced, the worker alive
--- engine: redis: a fake Redis server, not a cluster
--- http_config
    ws_perf_redis redis://127.0.0.1:$TEST_NGINX_FAKE_REDIS_PORT;
    ws_perf_redis_reconnect 50ms 200ms;
    ws_perf_max_connections_per_user 2;
--- request
GET /t
--- response_body
ok
--- pubsub
hostile ws=$TEST_NGINX_WS_PORT
--- pubsub_out
a string: 101, 1 [error] line, link replaced, worker alive
an integer: 101, 1 [error] line, link replaced, worker alive
a nil: 101, 1 [error] line, link replaced, worker alive
an empty array: 101, 1 [error] line, link replaced, worker alive
three elements: 101, 1 [error] line, link replaced, worker alive
a count that is a string: 101, 1 [error] line, link replaced, worker alive
admitted 2: 101, 1 [error] line, link replaced, worker alive
a negative count: 101, 1 [error] line, link replaced, worker alive
a nested array: 101, 1 [error] line, link replaced, worker alive
an error reply: 101, 0 [error] lines, 1 warning, the link kept
an answer of {0, 2}: 429
then the fake's own {1, 1}: 101, worker alive
--- no_error_log
[crit]
[alert]
[emerg]
exited on signal
AddressSanitizer
runtime error:
--- timeout: 120
