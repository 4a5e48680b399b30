# ws_perf_health (README, "Observability"): 200 only when this node can
# deliver.  Without ws_perf_redis a running worker can; with Redis, every
# worker must be connected and subscribed (the Redis engine reports that
# through ngx_ws_perf_metrics_redis_*(); its tests cover the 503 answers).
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use WsPerf::Engine;

no_shuffle();

our $CONFIG = <<'_EOC_';
    location /ws {
        ws_perf;
        ws_perf_channels $arg_channels;
    }
    location = /health {
        ws_perf_health;
    }
_EOC_

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value('config', $CONFIG) unless defined $block->config;
    $block->set_value('no_error_log', "[error]\n[alert]\n[crit]")
        unless defined $block->no_error_log;
});

run_tests();

__DATA__

=== TEST 1: without Redis: 200 ok
--- request
GET /health
--- response_headers
Content-Type: text/plain
--- response_body
ok



=== TEST 2: JSON with the reasons (none)
--- request
GET /health?format=json
--- response_headers
Content-Type: application/json
--- response_body
{"reasons":[],"status":"ok"}



=== TEST 3: HEAD works for load balancers
--- request
HEAD /health
--- response_body
--- error_code: 200



=== TEST 4: other methods are refused
--- request
POST /health
x
--- error_code: 405



=== TEST 5: with metrics off the health check still answers
--- http_config
    ws_perf_metrics off;
--- request
GET /health
--- response_body
ok



=== TEST 6: ws_perf_health with ws_perf in one location is refused
--- config
    location /h {
        ws_perf;
        ws_perf_health;
    }
--- request
GET /h
--- must_die
--- no_error_log
[alert]
--- error_log
"ws_perf_health" directive is duplicate, or the location has another handler
