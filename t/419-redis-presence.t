# Presence with Redis (docs/redis.md, "Presence"): a member on a second
# nginx node sharing the Redis is announced to the first node's
# subscribers and listed by its GET; that node killed with SIGKILL, its
# member leaves within ws_perf_redis_worker_ttl and a sweep; a Redis that
# restarts empty gets each worker's members back once its link is up; a
# presence wire that is malformed (published by hand) is dropped and
# logged as any malformed message; GETs that a worker takes after Redis
# reset its link, before it read that, are answered 503 and their
# connections go on.  The scenarios are t/pubsub/presence.py.
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use WsPerf::Engine 'redis', 'cluster';
use WsPerf::PubSub;
use WsPerf::Redis;

$ENV{TEST_NGINX_NODE_PORT} ||= $Test::Nginx::Util::ServerPort + 2;
$ENV{TEST_NGINX_NODE_WS_PORT} ||= $Test::Nginx::Util::ServerPort + 3;
$ENV{TEST_NGINX_NODE_P_PORT} ||= $Test::Nginx::Util::ServerPort + 4;

# the access log of /stall: a pipe that a scenario fills to stall a worker
# in its loop and drains
stall_fifo();

redis_start(port => 6419);

workers(2);
master_on();
worker_connections(1024);
no_shuffle();

pubsub_init(client => 't/pubsub/presence.py', config => <<'_EOC_');
    location /ws {
        ws_perf;
        ws_perf_presence on;
        ws_perf_channels $arg_channels;
        ws_perf_user $arg_user;
    }
    location /pub {
        ws_perf_publish;
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

=== TEST 1: two nodes on one Redis: a join from the other node, GET lists both nodes' members; the other node killed, its member leaves within the TTL and a sweep
--- engine: redis: a second node on the same server
--- http_config
    ws_perf_redis redis://127.0.0.1:$TEST_NGINX_REDIS_PORT;
    ws_perf_redis_prefix t419.1:;
    ws_perf_redis_worker_ttl 2s;
--- request
GET /t
--- response_body
ok
--- pubsub
nodes node=$TEST_NGINX_NODE_PORT node_ws=$TEST_NGINX_NODE_WS_PORT node_p=$TEST_NGINX_NODE_P_PORT prefix=t419.1: ttl=2
--- pubsub_out
a join from the other node: {"channel":"room.n","count":1,"type":"join","user":"frank"}
GET on this node: {"channel":"room.n","count":2,"users":["frank","gina"]}
the other node killed: frank leaves within the TTL and a sweep: True
--- no_error_log
[alert]
[crit]



=== TEST 2: Redis restarts empty: GET answers 503 while it is down, the members are back once the links are, no leave for a user who stayed
--- engine: redis: restarts the one server
--- http_config
    ws_perf_redis redis://127.0.0.1:$TEST_NGINX_REDIS_PORT;
    ws_perf_redis_prefix t419.2:;
    ws_perf_redis_reconnect 50ms 200ms;
--- request
GET /t
--- response_body
ok
--- pubsub
restart prefix=t419.2:
--- pubsub_out
Redis down: GET 503
Redis back: {"channel":"room.r","count":1,"users":["hal"]}
a join after it: {"channel":"room.r","count":2,"type":"join","user":"ivy"}
hal's leaves: 0
--- no_error_log
[alert]
[crit]



=== TEST 3: malformed presence wires published by hand are dropped and logged; events still flow
--- http_config
    ws_perf_redis redis://127.0.0.1:$TEST_NGINX_REDIS_PORT;
    ws_perf_redis_prefix t419.3:;
--- request
GET /t
--- response_body
ok
--- pubsub
hostile prefix=t419.3:
--- pubsub_out
events: join jo
--- error_log
ignored a malformed message on redis channel "room.h"
--- no_error_log
[alert]
[crit]



=== TEST 4: GETs taken in a pass during which Redis reset the worker's links: each answered 503, each connection answers its next GET
A GET ?presence= on each of two keep-alive connections of one worker,
taken in one pass with a stall (GET /stall, its access log on a full
pipe) before them; Redis shuts down during the stall.  The worker sends
their commands to the link Redis reset, not read yet: the second one
fails to write.  Its 503 comes after the request is held, not during
the call: a request answered during the call and then held would never
end, and its connection would not read the next request.
--- http_config
    ws_perf_redis redis://127.0.0.1:$TEST_NGINX_REDIS_PORT;
    ws_perf_redis_prefix t419.4:;
    ws_perf_redis_reconnect 50ms 200ms;
--- request
GET /t
--- response_body
ok
--- pubsub
unread-reset fifo=$TEST_NGINX_STALL_FIFO
--- pubsub_out
two connections of one worker, before: 200, 200
taken in a pass with Redis gone unread: 503 redis: did not answer, 503 redis: did not answer
the next on each connection, Redis down: 503 redis is unavailable, 503 redis is unavailable
once Redis is back: 200, 200
--- no_error_log
[alert]
[crit]
