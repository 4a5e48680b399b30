# The shared-memory engine (no ws_perf_redis; docs/reliable.md): with four
# workers every subscriber gets every message, in order, whichever worker
# it and the publisher are on; a full bus or zone refuses publishes with
# the reason and recovers; a worker that dies holding the zone's lock
# leaves it repaired, not corrupt; bad ws_perf_shm_zone values stop
# "nginx -t".
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use WsPerf::PubSub;

workers(4);
master_on();
worker_connections(1024);
no_shuffle();

pubsub_init(client => 't/pubsub/shm.py', config => <<'_EOC_');
    location /ws {
        ws_perf;
        ws_perf_channels $arg_channels;
        ws_perf_user $arg_user;
    }
    location /pub {
        ws_perf_publish;
    }
    location = /status {
        ws_perf_status;
    }
    location = /t {
        return 200 "ok\n";
    }
_EOC_

run_tests();

__DATA__

=== TEST 1: four workers without Redis: nginx starts, every subscriber on every worker gets every message once, in order
--- request
GET /t
--- response_body
ok
--- pubsub
cross workers=4 msgs=200 channel=x
--- pubsub_out
subscribers on all 4 workers: True
info counts every worker's subscribers: True
200 messages; subscribers that got them all once, in order: all
status: zone 33554432 bytes, some in use: True, repairs 0, bus latencies recorded: True
--- no_error_log
[emerg]
[alert]
[crit]



=== TEST 2: a tiny zone: a stopped worker fills the bus (503), ack waits fill the zone (507); both recover
--- main_config
    env WS_PERF_SHM_TEST=0;
--- http_config
    ws_perf_shm_zone small 256k;
    ws_perf_offline_max 0;
    ws_perf_max_pending_acks 100000;
    ws_perf_ack_timeout 200ms;
    ws_perf_max_attempts 100;
--- request
GET /t
--- response_body
ok
--- pubsub
full size=2000
--- pubsub_out
bus full: 503 after some 202s: True
reason: the bus of ws_perf_shm_zone 'small' is full
status while full: 200
after SIGCONT: 202
zone full: 507: ws_perf_shm_zone 'small' (262144 bytes) is full
the user got what was accepted: True
after the acks: 202
--- no_error_log
[alert]
[crit]
--- timeout: 60



=== TEST 3: a worker dies holding the zone's lock mid-change: the next locker repairs the zone and says so; publishes go on
--- main_config
    env WS_PERF_SHM_TEST=1;
--- request
GET /t
--- response_body
ok
--- pubsub
die channel=c
--- pubsub_out
the dying publish got no answer: True
publishes after it: 20 of 20 accepted
a subscriber got them: True
--- error_log eval
[qr/\[error\] .*ws_perf: worker \d+ died while changing the test hook of ws_perf_shm_zone "ws_perf": repaired by dropping/,
 qr/\[alert\] .*shared memory zone "ws_perf" was locked by \d+/]
--- no_error_log
[crit]
--- timeout: 30



=== TEST 4: ws_perf_shm_zone with a bad name
--- http_config
    ws_perf_shm_zone "a b" 1m;
--- request
GET /t
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*invalid zone name "a b" in "ws_perf_shm_zone": 1-64 of \[A-Za-z0-9_-\] in \S+nginx\.conf:\d+/
--- no_error_log
[crit]



=== TEST 5: ws_perf_shm_zone too small
--- http_config
    ws_perf_shm_zone tiny 64k;
--- request
GET /t
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*zone "tiny" is too small in "ws_perf_shm_zone": 64k, the least is 256k in \S+nginx\.conf:\d+/
--- no_error_log
[crit]



=== TEST 6: ws_perf_shm_zone with a bad size
--- http_config
    ws_perf_shm_zone z lots;
--- request
GET /t
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*invalid zone size "lots" in "ws_perf_shm_zone" in \S+nginx\.conf:\d+/
--- no_error_log
[crit]
