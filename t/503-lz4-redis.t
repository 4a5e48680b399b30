# lz4 in Redis mode (docs/redis.md): a payload of at least
# ws_perf_compress_min bytes goes through Redis lz4-compressed, flagged 'z'
# in the wire form (and so is stored that way); each worker decompresses a
# message once, subscribers get the original, lz4 clients get lz4 frames
# made once per worker.  A malformed 'z' message is dropped with a warning.
# The test's redis-server listens on its own port (6410).
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use WsPerf::Engine 'redis', 'cluster';
use WsPerf::PubSub;
use WsPerf::Redis;

redis_start(port => 6410);

workers(2);
master_on();
worker_connections(1024);
no_shuffle();

pubsub_init(client => 't/pubsub/lz4client.py', http_config => <<'_EOC_', config => <<'_EOC_');
    ws_perf_redis redis://127.0.0.1:$TEST_NGINX_REDIS_PORT;
    ws_perf_history 10;
_EOC_
    location /ws {
        ws_perf;
        ws_perf_channels $arg_channels;
        ws_perf_subprotocols ws-perf.v1+lz4 ws-perf.v1;
    }
    location /pub {
        ws_perf_publish;
    }
    location ~ ^/pubraw/(\w+)$ {
        ws_perf_publish;
        ws_perf_channels $1;
    }
    location = /t {
        return 200 "ok\n";
    }
_EOC_

run_tests();

__DATA__

=== TEST 1: a large payload crosses redis compressed; subscribers get the original
4 KB of orders (JSON), a small JSON object and 2 KB of plain text (a raw
body), read from the Redis channel by the test itself and decoded with
python3-lz4; 8 lz4 clients and a plain one on 2 workers.
--- request
GET /t
--- response_body
ok
--- pubsub
lz4-redis channel=big subs=8
--- pubsub_out
orders in redis: flags jz, fewer bytes than the JSON, decoding to it: yes
small JSON in redis: flags j, as published: yes
raw text body in redis: flags z, decoding to the body: yes
plain subscriber: text as published, text as published, text as published
lz4 subscribers: binary, text, binary; each the plain subscriber's envelope: yes
compressed for redis: 2 times for 2 large payloads
decompressed once per worker and message: yes
lz4 frames made once per worker and message, not per subscriber: yes



=== TEST 2: backends' compressed messages arrive; malformed 'z' ones are dropped with a warning
Four malformed 'z' messages PUBLISHed by hand (garbage, a declared size
over 64 MB, no block, a wrong declared size), then a good one by hand, one
by FCALL with flags jz (no JSON check on a block) and one with flag z.
--- request
GET /t
--- response_body
ok
--- pubsub
lz4-redis-hand channel=hand
--- pubsub_out
FCALL with flags jz: accepted
subscribers got: the orders (normal, binary to lz4); the orders (normal, binary to lz4); plain text x100 (normal, binary to lz4); "end" (normal, text to lz4)
--- error_log
ignored a malformed message on redis channel "hand"



=== TEST 3: a channel's history holds compressed messages; resume gives the originals
--- request
GET /t
--- response_body
ok
--- pubsub
lz4-resume channel=kept
--- pubsub_out
lz4 client after resume: binary the orders; text {"last": 1}; resumed
plain client after resume: text the orders; text {"last": 1}; resumed
