# Pub/sub on one node, the basics (docs/protocol.md): every subscriber of a
# channel gets every message published to it exactly once, in publish
# order within a priority, with the id the publisher was given.
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use WsPerf::Engine;
use WsPerf::PubSub;

worker_connections(1024);
no_shuffle();

pubsub_init(config => <<'_EOC_');
    location /ws {
        ws_perf;
        ws_perf_channels $arg_channels;
    }
    location /pub {
        ws_perf_publish;
    }
_EOC_

run_tests();

__DATA__

=== TEST 1: a channel without subscribers: GET gives its info
--- request
GET /pub?channel=lonely
--- response_headers
Content-Type: application/json
--- response_body eval
qq{{"channel":"lonely","subscribers":0,"workers":0,"messages":0}\r\n}



=== TEST 2: a subscriber connects and gets 101 on a ws_perf location
--- raw_request eval
ws_open("/ws?channels=room.1") . cmd({type => "ping"}) . cclose()
--- ws_replies
text {"type":"pong"}
close 1000



=== TEST 3: 50 subscribers each get all 200 messages once, in publish order
Half are published one per request, half in arrays of 10; the ids in the
envelopes are the ids the 202 answers gave.
--- request
GET /pub?channel=fan
--- response_body eval
qq{{"channel":"fan","subscribers":0,"workers":0,"messages":0}\r\n}
--- pubsub
fanout subs=50 msgs=200 channel=fan
--- pubsub_out
50 of 50 handshakes answered 101
channel info: 50 subscribers
200 messages published, 200 distinct ids
every subscriber got every message once, in publish order, with the ids the publisher was given



=== TEST 4: mixed priorities to readers that keep up: publish order within each priority
--- request
GET /pub?channel=prio
--- response_body eval
qq{{"channel":"prio","subscribers":0,"workers":0,"messages":0}\r\n}
--- pubsub
fanout-priorities subs=10 msgs=400 channel=prio
--- pubsub_out
400 messages published: 98 critical, 101 high, 107 normal, 94 low
every subscriber got every message once, in publish order within each priority
