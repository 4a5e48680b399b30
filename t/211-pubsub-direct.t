# Frames that skip an empty queue (docs/design.md, "The direct list"): a
# message for a plain WebSocket connection whose send queue is empty is
# written from the worker's direct list, in one pass in the next loop
# iteration.  What keeps that right: whatever writes a connection's queue
# first moves its direct frames into the queue, so nothing queued after
# them (a pong, a close frame) leaves before them; a connection that goes
# away takes its frames off the list.  A socket that takes part of a frame
# gets the rest from the queue first: t/207's stalled subscribers fill
# their sockets in that pass.
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

=== TEST 1: subscribers reset and close around each publish; those that stay lose nothing
Each of 40 rounds: two subscribers leave (by a reset with messages
unread, or by a close frame) and two connect, two of those that stay send
a ping, then an array of 10 messages is published.  The worker writes no
alert and goes on answering.
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
