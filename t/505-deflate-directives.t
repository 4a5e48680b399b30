# The permessage-deflate directives (docs/protocol.md): their values, and bad
# values and contexts stopping nginx with "[emerg] ... in .../nginx.conf:LINE".
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';

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
=== TEST 1: every directive with a valid value
--- http_config
    ws_perf_deflate_min_length 64;
    ws_perf_deflate_level 6;
    ws_perf_deflate_window 12;
    ws_perf_deflate_client_context 11;
--- config
    location = /t {
        ws_perf_deflate on;
        return 200 "ok\n";
    }
    location /echo {
        ws_perf_echo;
        ws_perf_deflate on;
    }



=== TEST 2: ws_perf_deflate_client_context off, ws_perf_deflate off at server level
--- http_config
    ws_perf_deflate_client_context off;
--- config
    ws_perf_deflate off;
    location = /t {
        return 200 "ok\n";
    }



=== TEST 3: ws_perf_deflate_level 0
--- http_config
    ws_perf_deflate_level 0;
--- must_die
--- error_log
value must be between 1 and 9 in



=== TEST 4: ws_perf_deflate_level 10
--- http_config
    ws_perf_deflate_level 10;
--- must_die
--- error_log
value must be between 1 and 9 in



=== TEST 5: ws_perf_deflate_window 8 (zlib does not compress raw deflate with 256 bytes)
--- http_config
    ws_perf_deflate_window 8;
--- must_die
--- error_log
value must be between 9 and 15 in



=== TEST 6: ws_perf_deflate_window 16
--- http_config
    ws_perf_deflate_window 16;
--- must_die
--- error_log
value must be between 9 and 15 in



=== TEST 7: ws_perf_deflate_client_context 7
--- http_config
    ws_perf_deflate_client_context 7;
--- must_die
--- error_log
invalid value "7": "off" or window bits from 9 to 15 expected in



=== TEST 8: ws_perf_deflate_client_context with a word
--- http_config
    ws_perf_deflate_client_context on;
--- must_die
--- error_log
invalid value "on": "off" or window bits from 9 to 15 expected in



=== TEST 9: ws_perf_deflate_client_context twice
--- http_config
    ws_perf_deflate_client_context 15;
    ws_perf_deflate_client_context off;
--- must_die
--- error_log
"ws_perf_deflate_client_context" directive is duplicate in



=== TEST 10: ws_perf_deflate takes on or off
--- config
    location = /t {
        ws_perf_deflate maybe;
    }
--- must_die
--- error_log
it must be "on" or "off" in



=== TEST 11: ws_perf_deflate_min_length with a bad size
--- http_config
    ws_perf_deflate_min_length 1q;
--- must_die
--- error_log
"ws_perf_deflate_min_length" directive invalid value in



=== TEST 12: ws_perf_deflate_level inside a server block
--- config
    ws_perf_deflate_level 3;
--- must_die
--- error_log
"ws_perf_deflate_level" directive is not allowed here in



=== TEST 13: ws_perf_deflate_window twice
--- http_config
    ws_perf_deflate_window 12;
    ws_perf_deflate_window 13;
--- must_die
--- error_log
"ws_perf_deflate_window" directive is duplicate in
