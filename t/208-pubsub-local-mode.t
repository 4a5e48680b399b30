# Local mode (no ws_perf_redis): a worker delivers only to its own
# subscribers, so a pub/sub configuration with several workers stops
# "nginx -t" with an [emerg] that names the first pub/sub location and the
# choices, unless ws_perf_per_worker_delivery states it on purpose.
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';

workers(2);
no_shuffle();
run_tests();

__DATA__

=== TEST 1: several workers without Redis: nginx does not start, the emerg names the location and the choices
--- config
    location /ws {
        ws_perf;
    }
    location = /t {
        return 200 "ok\n";
    }
--- request
GET /t
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*ws_perf: the pub\/sub location in \S+nginx\.conf:\d+ needs "ws_perf_redis" to deliver across the 2 worker processes; add "ws_perf_redis", or set "worker_processes 1", or state "ws_perf_per_worker_delivery on"/



=== TEST 2: a publish location alone is a pub/sub configuration too
--- config
    location = /pub {
        ws_perf_publish;
    }
    location = /t {
        return 200 "ok\n";
    }
--- request
GET /t
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*ws_perf: the pub\/sub location in \S+nginx\.conf:\d+ needs "ws_perf_redis"/



=== TEST 3: per-worker delivery stated on purpose: nginx starts and says so
--- http_config
    ws_perf_per_worker_delivery on;
--- config
    location /ws {
        ws_perf;
    }
    location = /t {
        return 200 "ok\n";
    }
--- request
GET /t
--- response_body
ok
--- error_log eval
qr/\[notice\] .*ws_perf: each of the 2 worker processes delivers only to its own subscribers \(ws_perf_per_worker_delivery on\)/
--- no_error_log
[emerg]



=== TEST 4: ws_perf_per_worker_delivery takes on or off only
--- http_config
    ws_perf_per_worker_delivery sometimes;
--- config
    location = /t {
        return 200 "ok\n";
    }
--- request
GET /t
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*invalid value "sometimes" in "ws_perf_per_worker_delivery" directive, it must be "on" or "off" in \S+nginx\.conf:\d+/



=== TEST 5: the echo endpoint alone needs no Redis: no warning
--- config
    location /echo {
        ws_perf_echo;
    }
    location = /t {
        return 200 "ok\n";
    }
--- request
GET /t
--- response_body
ok
--- no_error_log
[emerg]



=== TEST 6: with ws_perf_redis no warning; a redis that is not there: 503, one error line per link
Port 9 (discard) on loopback has no listener: every worker's two links
fail to connect, say so once each, and publishes are refused with 503.
--- http_config
    ws_perf_redis redis://127.0.0.1:9;
--- config
    location /ws {
        ws_perf;
    }
    location = /pub {
        ws_perf_publish;
    }
--- request
POST /pub
{"channel":"news","data":"nobody hears this"}
--- error_code: 503
--- response_headers
Retry-After: 1
Content-Type: application/json
--- response_body eval
qq{{"error":"redis is unavailable"}\r\n}
--- error_log eval
[qr/\[error\] .*ws_perf: redis publish link to "redis:\/\/127\.0\.0\.1:9" failed: Connection refused; retrying every 1000 ms at most/,
 qr/\[error\] .*ws_perf: redis subscribe link to "redis:\/\/127\.0\.0\.1:9" failed: Connection refused; retrying every 1000 ms at most/]
--- no_error_log
[emerg]
[alert]
[crit]
