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



=== TEST 5: subscribers reset and close around each publish; those that stay lose nothing
A frame for a plain connection whose queue is empty is written from the
worker's direct list (docs/architecture.md): whatever writes the queue
first moves the connection's entries into it, and a connection that
goes away takes its entries off.  Each of 40 rounds: two subscribers
leave (by a reset with messages unread, or by a close frame) and two
connect, two of those that stay send a ping, then an array of 10
messages is published.  The worker writes no alert and goes on
answering.  (A socket that takes part of a frame: t/207's stalled
subscribers fill their sockets from the list.)
--- request
GET /pub?channel=dc
--- response_body_like: "subscribers":0
--- pubsub
direct-churn channel=dc steady=8 churn=24 rounds=40 batch=10
--- pubsub_out
8 subscribers stay, 24 come and go
400 messages published; 45 connections reset, 35 closed
every staying subscriber got every message once, in publish order, and a pong for each ping
--- no_error_log
[alert]
[crit]



=== TEST 6: 300 channels and back to 30: each subscriber gets its channels' messages, no other
A worker finds a channel in a table of buckets (docs/architecture.md)
that starts at 64 and doubles as channels come (here to 512), and halves
as they go.  30 subscribers of 10 channels each; each channel gets a
message.  Then 28 leave, one comes with 10 new channels, and every
channel gets a message again.
--- request
GET /pub?channel=mc0.0
--- response_body_like: "subscribers":0
--- pubsub
many-channels conns=30 per=10 stay=2
--- pubsub_out
30 subscribers of 10 channels each: 300 channels
each got the message of each of its channels once, no other
28 left, 1 came: 30 channels
each got the message of each of its channels once, no other
--- no_error_log
[alert]
[crit]



=== TEST 7: an array of 30 messages reaches a subscriber in one write, not thirty
Frames that one turn of the worker's loop gives a connection leave
together: from the direct list, a connection's entries of a pass go in
one writev (docs/architecture.md); from the queue, in one writev too.
--- engine: shm: in Redis mode the array comes back from Redis in as many reads as the link's socket gives
--- request
GET /pub?channel=co
--- response_body_like: "subscribers":0
--- pubsub
coalesced channel=co n=30
--- pubsub_out
30 messages, in publish order
in at most 2 segments
--- no_error_log
[alert]
[crit]
