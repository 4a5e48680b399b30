# Local mode (no ws_perf_redis): delivery is per worker, so a pub/sub
# configuration with several workers gets a warning at start and at
# "nginx -t", naming the first pub/sub location.
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';

workers(2);
no_shuffle();
run_tests();

__DATA__

=== TEST 1: several workers without Redis: a warning names the pub/sub endpoint
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
qr/\[warn\] .*without ws_perf_redis each of the 2 worker processes delivers only to its own subscribers \(pub\/sub endpoint in \S+nginx\.conf:\d+\)/
--- no_error_log
[emerg]



=== TEST 2: the echo endpoint alone needs no Redis: no warning
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
without ws_perf_redis



=== TEST 3: with ws_perf_redis no warning; a redis that is not there: 503, one error line per link
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
without ws_perf_redis
[alert]
[crit]
