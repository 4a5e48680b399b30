# Local mode (no ws_perf_redis): the shared-memory engine delivers across
# any number of workers, so a pub/sub configuration with several workers
# starts; ws_perf_per_worker_delivery is still accepted, with a warning
# that it is ignored.
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';

workers(2);
no_shuffle();
run_tests();

__DATA__

=== TEST 1: several workers without Redis: nginx starts
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
--- no_error_log
[emerg]



=== TEST 2: a publish location alone starts too
--- config
    location = /pub {
        ws_perf_publish;
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



=== TEST 3: ws_perf_per_worker_delivery is deprecated: accepted, ignored, with a warning
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
qr/\[warn\] .*"ws_perf_per_worker_delivery" is deprecated and ignored: without ws_perf_redis every worker delivers every message through ws_perf_shm_zone/
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
