# At-least-once under faults (docs/reliable.md): 1,000 messages that ask
# for acks go to 100 users whose clients drop their connections at random
# and resume; halfway through, nothing else happens (TEST 1), nginx reloads
# (TEST 2), a worker is killed with SIGKILL (TEST 3), or redis, with AOF
# and appendfsync always, restarts (TEST 4).  The ledger must balance:
# every message the publisher was told was accepted reaches its user (none
# is dead-lettered here: ws_perf_max_attempts is high), nothing arrives
# that was not sent, and copies carry the same id.  The client gives up
# at 100 s, before the runner's 120 s, printing the messages never received,
# those still awaiting an ack in redis and what their users' connections
# wait for.
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use WsPerf::Engine 'redis';
use WsPerf::PubSub;
use WsPerf::Redis;

redis_start(port => 6405, appendonly => 1);

workers(2);
master_on();
worker_connections(1024);
no_shuffle();

pubsub_init(client => 't/pubsub/reliable.py', http_config => <<'_EOC_', config => <<'_EOC_');
    ws_perf_redis redis://127.0.0.1:$TEST_NGINX_REDIS_PORT;
    ws_perf_offline_max 1000;
    ws_perf_ack_timeout 300ms;
    ws_perf_max_attempts 100;
    ws_perf_max_pending_acks 1000;
    ws_perf_redis_reconnect 50ms 200ms;
_EOC_
    location /ws {
        ws_perf;
        ws_perf_user $arg_user;
    }
    location /pub {
        ws_perf_publish;
    }
    location /dlq {
        ws_perf_dlq;
    }
    location = /t {
        return 200 "ok\n";
    }
_EOC_

run_tests();

__DATA__

=== TEST 1: clients drop and resume at random
--- request
GET /t
--- response_body
ok
--- pubsub
ledger users=100 msgs_=1000 fault=none
--- pubsub_out
1000 messages accepted for 100 users (none)
received: every accepted one
none received that was not sent
copies always with the message's id
dead letters: 0; awaiting an ack at the end: 0
--- timeout: 150



=== TEST 2: and nginx reloads halfway
--- request
GET /t
--- response_body
ok
--- pubsub
ledger users=100 msgs_=1000 fault=reload
--- pubsub_out
1000 messages accepted for 100 users (reload)
received: every accepted one
none received that was not sent
copies always with the message's id
dead letters: 0; awaiting an ack at the end: 0
--- no_error_log
[alert]
[crit]
[emerg]
AddressSanitizer
runtime error:
--- timeout: 150



=== TEST 3: and a worker is killed with SIGKILL halfway
--- request
GET /t
--- response_body
ok
--- pubsub
ledger users=100 msgs_=1000 fault=kill
--- pubsub_out
1000 messages accepted for 100 users (kill)
received: every accepted one
none received that was not sent
copies always with the message's id
dead letters: 0; awaiting an ack at the end: 0
--- error_log eval
qr/\[alert\] .*worker process \d+ exited on signal 9/
--- no_error_log
[crit]
[emerg]
AddressSanitizer
runtime error:
--- timeout: 150



=== TEST 4: and redis (AOF, appendfsync always) restarts halfway
Under WS_PERF_ENGINE=cluster every node of the cluster restarts.
--- engine: redis cluster
--- request
GET /t
--- response_body
ok
--- pubsub
ledger users=100 msgs_=1000 fault=redis
--- pubsub_out
1000 messages accepted for 100 users (redis)
received: every accepted one
none received that was not sent
copies always with the message's id
dead letters: 0; awaiting an ack at the end: 0
--- no_error_log
[alert]
[crit]
[emerg]
AddressSanitizer
runtime error:
--- timeout: 150
