# At-least-once without Redis (docs/reliable.md, "The shared-memory
# engine"): t/405-redis-ledger.t's ledger with four workers sharing the
# ws_perf_shm_zone: 1,000 ack-required messages to 100 users whose clients
# drop their connections at random and resume, on whatever worker the new
# connection lands; halfway through nothing else happens (TEST 1), nginx
# reloads (TEST 2: the zone is kept), or a worker is killed with SIGKILL
# (TEST 3: the master respawns it, the zone stays consistent).  Every
# accepted message reaches its user, nothing arrives that was not sent,
# copies carry the same id.
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use WsPerf::PubSub;

workers(4);
master_on();
worker_connections(1024);
no_shuffle();

pubsub_init(client => 't/pubsub/reliable.py', http_config => <<'_EOC_', config => <<'_EOC_');
    ws_perf_offline_max 1000;
    ws_perf_ack_timeout 300ms;
    ws_perf_max_attempts 100;
    ws_perf_max_pending_acks 1000;
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

=== TEST 1: four workers, no Redis: clients drop and resume at random
--- request
GET /t
--- response_body
ok
--- pubsub
ledger users=100 msgs_=1000 fault=none store=shm
--- pubsub_out
1000 messages accepted for 100 users (none)
received: every accepted one
none received that was not sent
copies always with the message's id
dead letters: 0; awaiting an ack at the end: 0
--- no_error_log
[alert]
[crit]
--- timeout: 150



=== TEST 2: and nginx reloads halfway: the zone is kept
--- request
GET /t
--- response_body
ok
--- pubsub
ledger users=100 msgs_=1000 fault=reload store=shm
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
--- timeout: 150



=== TEST 3: and a worker is killed with SIGKILL halfway
--- request
GET /t
--- response_body
ok
--- pubsub
ledger users=100 msgs_=1000 fault=kill store=shm
--- pubsub_out
1000 messages accepted for 100 users (kill)
received: every accepted one
none received that was not sent
copies always with the message's id
dead letters: 0; awaiting an ack at the end: 0
--- no_error_log
[crit]
[emerg]
--- timeout: 150
