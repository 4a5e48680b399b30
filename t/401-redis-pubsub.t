# Redis mode (docs/redis.md): with several workers, and with a second
# nginx node on the same redis, every subscriber gets every message exactly
# once, in publish order per channel, with ids redis gave; channel info
# counts subscribers across the cluster.  Subscribers reach the workers
# through a "reuseport" listener, so that each worker holds some of them.
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use WsPerf::Engine 'redis';
use WsPerf::PubSub;
use WsPerf::Redis;

$ENV{TEST_NGINX_WS_PORT} ||= $Test::Nginx::Util::ServerPort + 1;
$ENV{TEST_NGINX_NODE_PORT} ||= $Test::Nginx::Util::ServerPort + 2;
$ENV{TEST_NGINX_NODE_WS_PORT} ||= $Test::Nginx::Util::ServerPort + 3;

redis_start(port => 6401);

workers(4);
master_on();
worker_connections(1024);
no_shuffle();

pubsub_init(client => 't/pubsub/redis.py', http_config => <<'_EOC_', config => <<'_EOC_');
    ws_perf_redis redis://127.0.0.1:$TEST_NGINX_REDIS_PORT;

    server {
        listen 127.0.0.1:$TEST_NGINX_WS_PORT reuseport;

        location /ws {
            ws_perf;
            ws_perf_channels $arg_channels;
            ws_perf_user $arg_user;
        }
        location /wsc {
            ws_perf;
            ws_perf_channels $arg_channels;
            ws_perf_allowed_channels room.*;
            ws_perf_client_publish on;
        }
    }
_EOC_
    location /ws {
        ws_perf;
        ws_perf_channels $arg_channels;
        ws_perf_user $arg_user;
    }
    location /wsc {
        ws_perf;
        ws_perf_allowed_channels room.*;
        ws_perf_client_publish on;
    }
    location /pub {
        ws_perf_publish;
    }
    location = /t {
        return 200 "ok\n";
    }
_EOC_

run_tests();

__DATA__

=== TEST 1: a channel nobody is subscribed to: info from redis, 0 workers
--- request
GET /t
--- response_body
ok
--- pubsub
info-format query=channel=lonely
--- pubsub_out
{"channel":"lonely","subscribers":0,"workers":0,"messages":0}
--- no_error_log
[warn]
[error]



=== TEST 2: 40 subscribers over 4 workers get 100 messages each, once, in order
--- request
GET /t
--- response_body
ok
--- pubsub
spread ws=$TEST_NGINX_WS_PORT subs=40 msgs=100 channel=spread workers=4
--- pubsub_out
40 of 40 handshakes answered 101
every node's info: 40 subscribers on 4 workers
100 messages published, ids distinct and increasing
every subscriber got every message once, in publish order
messages counted: 101
all gone: every node's info says 0 subscribers



=== TEST 3: two nginx nodes on one redis: publishes to either reach all
Each node has 30 subscribers; messages are published to the nodes in
turn; both nodes' info counts the 60 subscribers on their 6 workers.
--- engine: redis cluster
--- request
GET /t
--- response_body
ok
--- pubsub
spread ws=$TEST_NGINX_WS_PORT subs=30 msgs=100 channel=two workers=4 node=$TEST_NGINX_NODE_PORT node_ws=$TEST_NGINX_NODE_WS_PORT node_workers=2
--- pubsub_out
60 of 60 handshakes answered 101
every node's info: 60 subscribers on 6 workers
100 messages published, ids distinct and increasing
every subscriber got every message once, in publish order
messages counted: 101
all gone: every node's info says 0 subscribers
second node stopped, its error log clean



=== TEST 4: a user's 8 connections, wherever they are, get the user's messages
--- request
GET /t
--- response_body
ok
--- pubsub
users ws=$TEST_NGINX_WS_PORT user=alice
--- pubsub_out
user alice: 8 connections counted
each connection got both, once, with their ids
other users got nothing else



=== TEST 5: a client's pub goes through redis to every worker's subscribers
--- request
GET /t
--- response_body
ok
--- pubsub
client-publish ws=$TEST_NGINX_WS_PORT channel=room.1
--- pubsub_out eval
"publisher: published, id "
. by_engine(redis => "numeric", shm => "ms-worker-seq") . "\n"
. "8 subscribers got it with that id\n"



=== TEST 6: backends publish into redis themselves (FCALL ws_perf_publish)
A message PUBLISHed by hand in the wire format arrives too; one that is
not in it is dropped with a warning.
--- engine: redis cluster
--- request
GET /t
--- response_body
ok
--- pubsub
direct channel=direct
--- pubsub_out
FCALL answered [id, receivers]: yes
a bad priority: refused (ERR priority must be low, normal, high or critical)
JSON that is not: refused (ERR data flagged j is not JSON)
unknown flags: refused (ERR flags)
a bad id: refused (ERR id)
subscriber got: [[{"x": [1, 2]}, "high", "<id>"], ["plain text", "normal", "<id>"], ["by hand", "low", "own-1"]]
--- error_log eval
qr/\[warn\] .*ignored a malformed message on redis channel "direct" \(1 so far\); publish with FCALL ws_perf_publish/
--- no_error_log
[error]



=== TEST 7: the one-node fan-out scenario holds in redis mode too
--- request
GET /t
--- response_body
ok
--- pubsub
fanout subs=50 msgs=200 channel=fan
--- pubsub_out
50 of 50 handshakes answered 101
channel info: 50 subscribers
200 messages published, 200 distinct ids
every subscriber got every message once, in publish order, with the ids the publisher was given



=== TEST 8: an array with one bad message publishes none of them
--- request
GET /t
--- response_body
ok
--- pubsub
array-atomic channel=atom
--- pubsub_out
array with a bad third message: 400, with an error
channel messages after it: 0
subscriber got: marker
channel messages after the marker: 1
