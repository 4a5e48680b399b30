# The lz4 variant of the client protocol (docs/protocol.md): a client that
# offers "ws-perf.v1+lz4" on an endpoint that lists it gets every message
# whose JSON envelope is at least ws_perf_compress_min bytes as a binary
# frame (4-byte big-endian original size + LZ4 block of the envelope),
# made once per message, never per subscriber; everything else, and every
# other client, gets text.  t/pubsub/lz4client.py decodes the frames with
# python3-lz4.
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use WsPerf::Engine;
use WsPerf::PubSub;

worker_connections(1024);
no_shuffle();

pubsub_init(client => 't/pubsub/lz4client.py', config => <<'_EOC_');
    location /ws {
        ws_perf;
        ws_perf_channels $arg_channels;
        ws_perf_subprotocols ws-perf.v1+lz4 ws-perf.v1;
    }
    location /wsv1 {
        ws_perf;
        ws_perf_channels $arg_channels;
        ws_perf_subprotocols ws-perf.v1;
    }
    location /wsraw {
        ws_perf;
        ws_perf_channels $arg_channels;
        ws_perf_subprotocols ws-perf.v1+lz4 ws-perf.v1;
        ws_perf_format raw;
    }
    location /pub {
        ws_perf_publish;
    }
_EOC_

run_tests();

__DATA__

=== TEST 1: lz4 and plain clients on one channel: big messages binary for lz4 clients only
A small message, a 4 KB page of orders, 4 KB of chat history and 3 KB of
random base64 (which lz4 cannot shrink); a ping.  The binary frames decode
to the very bytes the plain client got as text, and every lz4 client got
the same ones.
--- request
GET /pub?channel=mixed
--- response_body_like: "subscribers":0
--- pubsub
lz4-frames channel=mixed subs=3
--- pubsub_out
lz4 clients: protocol ws-perf.v1+lz4
plain client: protocol none; v1 client: protocol ws-perf.v1
reply to a ping on the lz4 client: pong
small: <1k bytes of envelope; lz4 clients text, plain clients text
orders: ~4k bytes of envelope; lz4 clients binary, plain clients text
chat: ~4k bytes of envelope; lz4 clients binary, plain clients text
noise: ~3k bytes of envelope; lz4 clients text, plain clients text
every lz4 client got the same binary frames, byte for byte: yes
a binary frame under half its envelope: yes
a binary frame under half its envelope: yes



=== TEST 2: compressed once per message, not once per subscriber
Ten lz4 clients, the same three messages: three lz4 frames made (debug log).
--- request
GET /pub?channel=many
--- response_body_like: "subscribers":0
--- pubsub
lz4-frames channel=many subs=10
--- pubsub_out
lz4 clients: protocol ws-perf.v1+lz4
plain client: protocol none; v1 client: protocol ws-perf.v1
reply to a ping on the lz4 client: pong
small: <1k bytes of envelope; lz4 clients text, plain clients text
orders: ~4k bytes of envelope; lz4 clients binary, plain clients text
chat: ~4k bytes of envelope; lz4 clients binary, plain clients text
noise: ~3k bytes of envelope; lz4 clients text, plain clients text
every lz4 client got the same binary frames, byte for byte: yes
a binary frame under half its envelope: yes
a binary frame under half its envelope: yes
--- grep_error_log eval
qr/websocket lz4 frame: \d+ bytes of envelope/
--- grep_error_log_out eval
qr/\A(?:websocket lz4 frame: \d+ bytes of envelope\n){3}\z/



=== TEST 3: the default ws_perf_compress_min, 1k: 1023 bytes of envelope are text, 1024 binary
--- request
GET /pub?channel=edge
--- response_body_like: "subscribers":0
--- pubsub
lz4-edge channel=edge limit=1024
--- pubsub_out
1023 bytes of envelope: text
1024 bytes of envelope: binary



=== TEST 4: ws_perf_compress_min 2k moves the edge
--- http_config
    ws_perf_compress_min 2k;
--- request
GET /pub?channel=edge
--- response_body_like: "subscribers":0
--- pubsub
lz4-edge channel=edge limit=2048
--- pubsub_out
2047 bytes of envelope: text
2048 bytes of envelope: binary



=== TEST 5: ws_perf_compress_min off: lz4 clients get text
--- http_config
    ws_perf_compress_min off;
--- request
GET /pub?channel=off
--- response_body_like: "subscribers":0
--- pubsub
lz4-text channel=off
--- pubsub_out
protocol ws-perf.v1+lz4
orders (~4k) arrive as text, as published



=== TEST 6: an endpoint that does not list the lz4 variant: ws-perf.v1 and text
--- request
GET /pub?channel=v1only
--- response_body_like: "subscribers":0
--- pubsub
lz4-text path=/wsv1 channel=v1only
--- pubsub_out
protocol ws-perf.v1
orders (~4k) arrive as text, as published



=== TEST 7: ws_perf_format raw is unaffected: the payload as it is
--- request
GET /pub?channel=raw
--- response_body_like: "subscribers":0
--- pubsub
lz4-text path=/wsraw channel=raw raw=1
--- pubsub_out
protocol ws-perf.v1+lz4
orders (~4k) arrive as text, as published
