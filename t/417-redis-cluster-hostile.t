# A hostile Redis Cluster (docs/redis.md, "Redis Cluster", "What comes from
# Redis"): CLUSTER SLOTS answers of every wrong type and shape, maps with
# holes, more masters than the module keeps, a map that changes every
# time, a node that never answers; MOVED and ASK to garbage, a MOVED loop
# and an ASK answered by ASK; SSUBSCRIBE confirmations and smessage pushes
# of the wrong shape, and sunsubscribe by the thousand.  Each case: the
# worker survives (the same pid answers, nothing worse than [error] is
# logged), what the bad reply costs (the publisher's answer, the [error]
# lines, the bad replies counted), and a subscriber gets a message
# published once the cluster is sane again.  The cluster is fake
# (t/pubsub/fakeredis.py, FakeCluster), its seed on
# $TEST_NGINX_FAKE_REDIS_PORT and its masters on the three ports after it.
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use WsPerf::PubSub;

$WsPerf::PubSub::CLIENT = 't/pubsub/hostile_cluster.py';

$ENV{TEST_NGINX_FAKE_REDIS_PORT} ||= $Test::Nginx::Util::ServerPort + 1;

workers(1);
master_on();
worker_connections(1024);
no_shuffle();

pubsub_init(http_config => <<'_EOC_', config => <<'_EOC_');
    ws_perf_redis_cluster 127.0.0.1:$TEST_NGINX_FAKE_REDIS_PORT;
    ws_perf_redis_reconnect 50ms 200ms;
    ws_perf_redis_connect_timeout 1s;
    ws_perf_redis_command_timeout 1s;
_EOC_
    location /ws {
        ws_perf;
        ws_perf_channels $arg_channels;
    }
    location /pub {
        ws_perf_publish;
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
    $block->set_value('timeout', 300) unless defined $block->timeout;
});

run_tests();

__DATA__

=== TEST 1: a worker that never had a map: 503 until the seed answers a sane one, one [error] line for the outage
--- request
GET /t
--- response_body
ok
--- pubsub
no-map
--- pubsub_out
bad maps: publishes 503 503 (redis is unavailable), each counted as a bad reply, cluster link 1 [error] line (Connection refused), no other [error] line, same worker, a later message delivered



=== TEST 2: CLUSTER SLOTS answers that are no map, the master away: each counted, one [error] line, 503 until the map and master are back
--- request
GET /t
--- response_body
ok
--- pubsub
slots-replies
--- pubsub_out
a status: publish 503, 3 bad replies counted, cluster link 1 [error] line (CLUSTER SLOTS answered no map), no other [error] line, same worker, a later message delivered
an error: publish 503, 0 bad replies counted, cluster link 1 [error] line (ERR This instance has cluster support disabled), no other [error] line, same worker, a later message delivered
an integer: publish 503, 3 bad replies counted, cluster link 1 [error] line (CLUSTER SLOTS answered no map), no other [error] line, same worker, a later message delivered
a nil: publish 503, 3 bad replies counted, cluster link 1 [error] line (CLUSTER SLOTS answered no map), no other [error] line, same worker, a later message delivered
an empty array: publish 503, 3 bad replies counted, cluster link 1 [error] line (CLUSTER SLOTS answered no map), no other [error] line, same worker, a later message delivered
an array of integers: publish 503, 3 bad replies counted, cluster link 1 [error] line (CLUSTER SLOTS answered no map), no other [error] line, same worker, a later message delivered
a range nested one level too deep: publish 503, 3 bad replies counted, cluster link 1 [error] line (CLUSTER SLOTS answered no map), no other [error] line, same worker, a later message delivered
a range without its master: publish 503, 3 bad replies counted, cluster link 1 [error] line (CLUSTER SLOTS answered no map), no other [error] line, same worker, a later message delivered
slot numbers that are strings: publish 503, 3 bad replies counted, cluster link 1 [error] line (CLUSTER SLOTS answered no map), no other [error] line, same worker, a later message delivered
a master that is a number: publish 503, 3 bad replies counted, cluster link 1 [error] line (CLUSTER SLOTS answered no map), no other [error] line, same worker, a later message delivered
a master without its port: publish 503, 3 bad replies counted, cluster link 1 [error] line (CLUSTER SLOTS answered no map), no other [error] line, same worker, a later message delivered
a port that is a string: publish 503, 3 bad replies counted, cluster link 1 [error] line (CLUSTER SLOTS answered no map), no other [error] line, same worker, a later message delivered
a slot past 16383: publish 503, 3 bad replies counted, cluster link 1 [error] line (CLUSTER SLOTS answered no map), no other [error] line, same worker, a later message delivered
a negative slot: publish 503, 3 bad replies counted, cluster link 1 [error] line (CLUSTER SLOTS answered no map), no other [error] line, same worker, a later message delivered
a start after its end: publish 503, 3 bad replies counted, cluster link 1 [error] line (CLUSTER SLOTS answered no map), no other [error] line, same worker, a later message delivered
port 0: publish 503, 3 bad replies counted, cluster link 1 [error] line (CLUSTER SLOTS answered no map), no other [error] line, same worker, a later message delivered
port 65536: publish 503, 3 bad replies counted, cluster link 1 [error] line (CLUSTER SLOTS answered no map), no other [error] line, same worker, a later message delivered
a host name: publish 503, 3 bad replies counted, cluster link 1 [error] line (CLUSTER SLOTS answered no map), no other [error] line, same worker, a later message delivered
a host name of hex digits: publish 503, 3 bad replies counted, cluster link 1 [error] line (CLUSTER SLOTS answered no map), no other [error] line, same worker, a later message delivered
an unknown endpoint (?): publish 503, 3 bad replies counted, cluster link 1 [error] line (CLUSTER SLOTS answered no map), no other [error] line, same worker, a later message delivered
an address of 1,000 bytes: publish 503, 3 bad replies counted, cluster link 1 [error] line (CLUSTER SLOTS answered no map), no other [error] line, same worker, a later message delivered
100,000 ranges: publish 503, 3 bad replies counted, cluster link 1 [error] line (CLUSTER SLOTS answered no map), no other [error] line, same worker, a later message delivered
nesting 9 deep: publish 503, 3 bad replies counted, cluster link 1 [error] line (No support for nested multi bulk replies with depth > 7), no other [error] line, same worker, a later message delivered



=== TEST 3: maps with slots no master has: the ranges not understood left out, one [warn] line, 503 for those slots; an empty address is the node asked
--- request
GET /t
--- response_body
ok
--- pubsub
slots-partial
--- pubsub_out
a gap where the channel is: publish 503, 0 bad replies, 1 [warn] line (4310 of 16384 slots have a master, 0 ranges), no other [error] line, same worker, a later message delivered
the channel's range in a host name: publish 503, 0 bad replies, 1 [warn] line (12073 of 16384 slots have a master, 1 ranges), no other [error] line, same worker, a later message delivered
the channel's slot given twice, to another master second: publish 503, 0 bad replies, 1 [warn] line (16384 of 16384 slots have a master, 1 ranges), no other [error] line, same worker, a later message delivered
65 masters, the channel's the 65th: publish 503, 0 bad replies, 1 [warn] line (64 of 16384 slots have a master, 1 ranges), no other [error] line, same worker, a later message delivered
an empty and a nil address: the node asked, 0 bad replies, 0 [warn] lines, same worker, a later message delivered



=== TEST 4: a node that never answers CLUSTER SLOTS: the command timeout ends the wait
--- request
GET /t
--- response_body
ok
--- pubsub
slots-silent
--- pubsub_out
no answer: publish 503, cluster link 1 [error] line (no reply in 1000 ms), no other [error] line, same worker, a later message delivered



=== TEST 5: a map that changes every time, more masters than the table holds, then a master never seen
--- request
GET /t
--- response_body
ok
--- pubsub
slots-changing
--- pubsub_out
70 maps: publishes [503], 70 or more masters joined, the new master joined, no other [error] line, same worker, a later message delivered



=== TEST 6: MOVED and ASK to garbage are bad replies; a MOVED loop and an ASK answered by ASK end with 503
--- request
GET /t
--- response_body
ok
--- pubsub
redirects
--- pubsub_out
MOVED to slot 16384: 503, publish link 1 [error] line (a MOVED or ASK to no slot or numeric address), 1 bad replies, no other [error] line, same worker, a later message delivered
MOVED to a host name: 503, publish link 1 [error] line (a MOVED or ASK to no slot or numeric address), 1 bad replies, no other [error] line, same worker, a later message delivered
MOVED to port 0: 503, publish link 1 [error] line (a MOVED or ASK to no slot or numeric address), 1 bad replies, no other [error] line, same worker, a later message delivered
MOVED without an address: 503, publish link 1 [error] line (a MOVED or ASK to no slot or numeric address), 1 bad replies, no other [error] line, same worker, a later message delivered
ASK to a host name of hex digits: 503, publish link 1 [error] line (a MOVED or ASK to no slot or numeric address), 1 bad replies, no other [error] line, same worker, a later message delivered
ASK to a slot that is not a number: 503, publish link 1 [error] line (a MOVED or ASK to no slot or numeric address), 1 bad replies, no other [error] line, same worker, a later message delivered
a MOVED loop between two masters: 503 (MOVED), 4 sent in all, no other [error] line, 0 bad replies, same worker, a later message delivered
an ASK answered by ASK: 503 (ASK), 4 sent in all, no other [error] line, 0 bad replies, same worker, a later message delivered



=== TEST 7: SSUBSCRIBE confirmations of the wrong shape: the subscribe link replaced, its subscribers told
--- request
GET /t
--- response_body
ok
--- pubsub
confirmations
--- pubsub_out
a count that is a string: subscribe link 1 [error] line (a reply to no command, or a pub/sub push of an unexpected shape), no other [error] line, same worker, a later message delivered, the new channel: a later message delivered
two elements: subscribe link 1 [error] line (a reply to no command, or a pub/sub push of an unexpected shape), no other [error] line, same worker, a later message delivered, the new channel: a later message delivered
an unsharded confirmation: subscribe link 1 [error] line (a reply to no command, or a pub/sub push of an unexpected shape), no other [error] line, same worker, a later message delivered, the new channel: a later message delivered
a nil channel: subscribe link 1 [error] line (a reply to no command, or a pub/sub push of an unexpected shape), no other [error] line, same worker, a later message delivered, the new channel: a later message delivered
an integer: subscribe link 1 [error] line (a reply to no command, or a pub/sub push of an unexpected shape), no other [error] line, same worker, a later message delivered, the new channel: a later message delivered
an error: subscribe link 1 [error] line (ERR hostile), no other [error] line, same worker, a later message delivered, the new channel: a later message delivered
a status: subscribe link 1 [error] line (a reply to no command, or a pub/sub push of an unexpected shape), no other [error] line, same worker, a later message delivered, the new channel: a later message delivered



=== TEST 8: smessage pushes of the wrong shape replace the subscribe link; unknown channels are ignored; a flood of sunsubscribe subscribes once again
--- request
GET /t
--- response_body
ok
--- pubsub
pushes
--- pubsub_out
data that is an integer: subscribe link 1 [error] line (a reply to no command, or a pub/sub push of an unexpected shape), no other [error] line, same worker, a later message delivered
two elements: subscribe link 1 [error] line (a reply to no command, or a pub/sub push of an unexpected shape), no other [error] line, same worker, a later message delivered
four elements: subscribe link 1 [error] line (a reply to no command, or a pub/sub push of an unexpected shape), no other [error] line, same worker, a later message delivered
a nil channel: subscribe link 1 [error] line (a reply to no command, or a pub/sub push of an unexpected shape), no other [error] line, same worker, a later message delivered
an unsharded message: subscribe link 1 [error] line (a reply to no command, or a pub/sub push of an unexpected shape), no other [error] line, same worker, a later message delivered
a pmessage: subscribe link 1 [error] line (a reply to no command, or a pub/sub push of an unexpected shape), no other [error] line, same worker, a later message delivered
smessage of channels never subscribed: 0 [error] lines, got [], same worker, a later message delivered
2,000 sunsubscribe of a channel: 0 [error] lines, subscribed again once or twice, notices 1, same worker, a later message delivered



=== TEST 9: a publish answered MOVED before the worker has the new map, the old master's sunsubscribe before or after it: the channel subscribed at the new master, its subscriber told
--- request
GET /t
--- response_body
ok
--- pubsub
moved-first
--- pubsub_out
a publish answered MOVED before the map: 202, subscribed at the new master once or twice, its subscriber told, no other [error] line, same worker, a later message delivered
