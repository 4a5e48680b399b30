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
