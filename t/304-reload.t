# The metrics zone survives a reload (nginx -s reload, SIGHUP): totals keep
# counting across worker generations, the old worker's WebSockets close
# with 1001 and are counted as such, and the status lists the new worker
# (one worker: without Redis a publish reaches its own worker only).
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use WsPerf::Engine;
use WsPerf::PubSub;

$WsPerf::PubSub::CLIENT = 't/obs/client.py';

master_on();
workers(1);
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
    location /status {
        ws_perf_status;
    }
_EOC_

run_tests();

__DATA__

=== TEST 1: totals kept across a reload
--- request
GET /status?format=json
--- response_body_like: "live_workers":1
--- pubsub
reload pidfile=$TEST_NGINX_SERVER_ROOT/logs/nginx.pid
--- pubsub_out
connections closed by the old worker: 1001 1001
workers after the reload are new: yes (1)
totals kept across the reload: yes
closed by code 1001: 2
--- no_error_log
[error]
[alert]
[crit]
[emerg]
--- timeout: 60



=== TEST 2: upgraded by the old worker after the reload began: closed with 1001
--- request
GET /pub?channel=late
--- response_body_like: "subscribers":0
--- pubsub
late-upgrade pidfile=$TEST_NGINX_SERVER_ROOT/logs/nginx.pid
--- pubsub_out
a half-sent handshake is in the worker: True
the old worker is shutting down and still serves the half-sent one: True
answer: HTTP/1.1 101 Switching Protocols
then a close frame with code 1001
--- timeout: 30
--- no_error_log
[alert]
[crit]
[emerg]
AddressSanitizer
runtime error:
