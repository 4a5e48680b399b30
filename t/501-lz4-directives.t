# ws_perf_compress_min (README, docs/redis.md): its values, and bad values
# and contexts stopping nginx with "[emerg] ... in .../nginx.conf:LINE".
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use WsPerf::Engine;

add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value('timeout', 10) unless defined $block->timeout;
    $block->set_value('config', <<'_EOC_') unless defined $block->config;
    location = /t {
        return 200 "ok\n";
    }
_EOC_
    $block->set_value('request', "GET /t\n") unless defined $block->request;

    if (defined $block->must_die) {
        $block->set_value('suppress_stderr', 1);
        my $want = $block->error_log;
        $block->set_value('error_log', "$want\n[emerg]\n");
        $block->set_value('no_error_log', "[alert]\n[crit]");

    } else {
        $block->set_value('response_body', "ok\n")
            unless defined $block->response_body;
        $block->set_value('no_error_log', "[emerg]\n[alert]\n[crit]\n[error]")
            unless defined $block->no_error_log;
    }
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: ws_perf_compress_min with a size
--- http_config
    ws_perf_compress_min 4k;



=== TEST 2: ws_perf_compress_min off
--- http_config
    ws_perf_compress_min off;



=== TEST 3: ws_perf_compress_min 0 (the same as off)
--- http_config
    ws_perf_compress_min 0;



=== TEST 4: ws_perf_compress_min with a bad size
--- http_config
    ws_perf_compress_min 4q;
--- must_die
--- error_log
"ws_perf_compress_min" directive invalid value in



=== TEST 5: ws_perf_compress_min twice
--- http_config
    ws_perf_compress_min 1k;
    ws_perf_compress_min off;
--- must_die
--- error_log
"ws_perf_compress_min" directive is duplicate in



=== TEST 6: ws_perf_compress_min off twice
--- http_config
    ws_perf_compress_min off;
    ws_perf_compress_min off;
--- must_die
--- error_log
"ws_perf_compress_min" directive is duplicate in



=== TEST 7: ws_perf_compress_min inside a server block
--- config
    ws_perf_compress_min 1k;
--- must_die
--- error_log
"ws_perf_compress_min" directive is not allowed here in



=== TEST 8: ws_perf_compress_min without a value
--- http_config
    ws_perf_compress_min;
--- must_die
--- error_log
invalid number of arguments in "ws_perf_compress_min" directive in



=== TEST 9: the lz4 subprotocol is a valid ws_perf_subprotocols token
--- config
    location = /t {
        return 200 "ok\n";
    }
    location /ws {
        ws_perf;
        ws_perf_subprotocols ws-perf.v1+lz4 ws-perf.v1;
    }
