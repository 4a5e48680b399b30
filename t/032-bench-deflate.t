# wsbench with permessage-deflate (deflate=1, bench/README.md): while it
# runs a small pub/sub load of chat-like text (payload_text=1), an
# independent python3-websockets subscriber, which offers the extension and
# inflates with its own code, listens on one of its channels.  Counts and
# payload digests must agree, and the messages must really have travelled
# compressed: wsbench's wire bytes per message below the inflated ones,
# and, on ngx_ws_perf_module, the status's deflate counters.  A server
# that declines the offer is read uncompressed; one that answers the offer
# badly makes wsbench fail every connection and say why.  Neither server
# keeps its compression context between messages: bench/trust/
# deflate_server.py does, and wsbench must keep its inflater's too, and
# must fail when that server claims server_no_context_takeover yet keeps
# it.
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use WsPerf::Bench;
use Cwd ();
use JSON::PP ();
use File::Temp ();
use IO::Socket::INET ();
use IPC::Open2 ();
use Digest::SHA ();

my $python = '/usr/bin/python3';

worker_connections(256);
no_shuffle();
add_response_body_check(\&bench_deflate);
add_response_body_check(\&bench_bad_answer);
add_response_body_check(\&bench_context);
run_tests();


# the deflate line of ws_perf_status: connections compressed before after
sub deflate_status ($) {
    my $port = shift;
    my $text = `curl -s http://127.0.0.1:$port/status`;
    return $text =~ /^deflate connections .*\n\s*(\d+) (\d+) (\d+) (\d+)/m
           ? [$1, $2, $3, $4] : undef;
}


# bench_deflate: "on" (the server compresses) or "declined"
sub bench_deflate {
    my ($block, $body, $req_idx, $rep_idx, $dry_run) = @_;
    return unless defined $block->bench_deflate;
    return if $dry_run;

    my $name = $block->name;
    my $port = $Test::Nginx::Util::ServerPort;
    my $on = $block->bench_deflate eq 'on';
    my $out = wsbench_build($name);

    my $py_pid = open(my $py, '-|', $python, 'bench/trust/ws_client.py',
                      "ws://127.0.0.1:$port/sub/trust0", 'deflate');
    ok($py_pid, "$name - the python subscriber starts");
    my $ready = <$py>;
    is($ready, "ready\n", "$name - the python subscriber is subscribed");

    my $json = File::Temp->new(SUFFIX => '.json');
    my @args = (
        "$out/wsbench", '--name=deflate', '--quiet=1', '--threads=2',
        '--connections=16', '--channels=2', '--rate=200', '--duration=2',
        '--payload=600', '--payload_text=1', '--deflate=1',
        '--pub_conns=1', '--digest_channel=0', '--src_ips=1', '--drain=3',
        "--sub_url=ws://127.0.0.1:$port/sub/trust{i%2}",
        "--pub_url=http://127.0.0.1:$port/pub/trust{c}",
        '--json=' . $json->filename,
    );
    my $log = `@args 2>&1`;
    is($?, 0, "$name - wsbench runs") or diag($log);

    my $line = <$py>;
    close $py;
    my $ref = eval { JSON::PP::decode_json($line // '') } || {};
    my $rep = read_json($json->filename) || {};
    my $sc = $rep->{scenarios}[0] || {};
    my $dg = $sc->{digest} || {};
    my $msg = $sc->{messages} || {};
    my $by = $sc->{bytes} || {};

    is($sc->{connections}{ok}, 16, "$name - every connection opened");
    is($sc->{connections}{closed_ok}, 16,
       "$name - every close handshake completed");
    ok(($dg->{published} // 0) >= 150, "$name - enough published on trust0"
       . " (" . ($dg->{published} // 'none') . ")");
    is($msg->{lost}, 0, "$name - wsbench lost nothing");
    is($msg->{duplicated}, 0, "$name - wsbench saw no duplicate");
    is($msg->{received}, 8 * $msg->{published},
       "$name - every message reached its 8 subscribers");
    is($dg->{mismatched}, 0, "$name - the 8 subscribers of trust0 agree");
    is($dg->{received_sha1}, $dg->{published_sha1},
       "$name - wsbench received on trust0 what it published");
    is($ref->{count}, $dg->{published},
       "$name - python counted what wsbench published");
    is($ref->{sha1}, $dg->{published_sha1},
       "$name - python's payload digest is wsbench's");
    is($by->{messages}, $msg->{received},
       "$name - wsbench's bytes count every message");
    is($by->{inflated_per_message}, 600,
       "$name - each message is 600 bytes once inflated");

    if (!$on) {
        is($by->{deflate_connections}, 0, "$name - the server declined");
        is($ref->{extensions}, undef, "$name - python saw it decline too");
        is($by->{compressed}, 0, "$name - no message came compressed");
        ok($by->{wire_per_message} > 600,
           "$name - a message and its header on the wire"
           . " ($by->{wire_per_message} bytes)");
        return;
    }

    is($by->{deflate_connections}, 16,
       "$name - every wsbench connection negotiated permessage-deflate");
    like($ref->{extensions} // '', qr/^permessage-deflate\b/,
         "$name - and so did python's");
    is($by->{compressed}, $by->{messages},
       "$name - every message came compressed (RSV1)");
    ok($by->{wire_per_message} < 0.8 * 600,
       "$name - fewer bytes on the wire than inflated"
       . " ($by->{wire_per_message} per message)");

    return unless $block->deflate_status;

    my $st = deflate_status($port);
    ok($st, "$name - the status has a deflate line") or return;
    is($st->[0], 0, "$name - no deflate connection is left");
    ok($st->[1] >= $msg->{published},
       "$name - the server compressed every published message"
       . " ($st->[1] of $msg->{published})");
    ok($st->[3] < $st->[2],
       "$name - into fewer bytes ($st->[2] -> $st->[3])");
}


# a WebSocket server on a free port that answers every handshake 101 with
# the Sec-WebSocket-Extensions value given ("A | B": two header lines),
# then holds the connection; its pid and port
sub bad_server ($) {
    my $ext = shift;
    my $ls = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                   Listen => 64, ReuseAddr => 1)
        or return;
    my $port = $ls->sockport;
    my $pid = fork;
    return unless defined $pid;

    if ($pid == 0) {
        my @held;
        alarm 30;
        while (my $c = $ls->accept) {
            my $req = '';
            while ($req !~ /\r\n\r\n/) {
                my $n = sysread($c, $req, 4096, length $req);
                last unless $n;
            }
            my ($key) = $req =~ /^Sec-WebSocket-Key:\s*(\S+)/mi;
            my $acc = Digest::SHA::sha1_base64(($key // '')
                . '258EAFA5-E914-47DA-95CA-C5AB0DC85B11') . '=';
            print $c "HTTP/1.1 101 Switching Protocols\r\n"
                . "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                . "Sec-WebSocket-Accept: $acc\r\n"
                . join('', map { "Sec-WebSocket-Extensions: $_\r\n" }
                               split /\s*\|\s*/, $ext)
                . "\r\n";
            push @held, $c;
        }
        exit 0;
    }

    close $ls;
    return ($pid, $port);
}


sub bench_bad_answer {
    my ($block, $body, $req_idx, $rep_idx, $dry_run) = @_;
    return unless defined $block->bad_answer;
    return if $dry_run;

    my $name = $block->name;
    my $port = $Test::Nginx::Util::ServerPort;
    my $out = wsbench_build($name);
    my $ext = $block->bad_answer;
    chomp $ext;
    my $want = $block->bad_answer_error;
    chomp $want;
    my $deflate = $block->bad_answer_offer // 1;
    chomp $deflate;

    my ($pid, $bad) = bad_server($ext);
    ok($pid, "$name - the bad server listens") or return;

    my $json = File::Temp->new(SUFFIX => '.json');
    my @args = (
        "$out/wsbench", '--name=bad', '--quiet=1', '--threads=1',
        '--connections=4', '--channels=1', '--rate=10', '--duration=1',
        "--deflate=$deflate", '--src_ips=1', '--drain=1',
        '--connect_timeout=5', '--timeout=30',
        "--sub_url=ws://127.0.0.1:$bad/sub/bad",
        "--pub_url=http://127.0.0.1:$port/pub/bad",
        '--json=' . $json->filename,
    );
    my $log = `@args 2>&1`;
    kill 'TERM', $pid;
    waitpid $pid, 0;

    my $rep = read_json($json->filename) || {};
    my $sc = $rep->{scenarios}[0] || {};

    is($sc->{connections}{ok}, 0, "$name - no connection opened")
        or diag($log);
    is($sc->{connections}{failed}, 4, "$name - every connection failed");
    like($sc->{error} // '', qr/$want/, "$name - the error says why")
        or diag($log);
}

# bench_context: against bench/trust/deflate_server.py, which keeps its
# compression context between messages; "keep" says so, "lie" answers
# server_no_context_takeover all the same
sub bench_context {
    my ($block, $body, $req_idx, $rep_idx, $dry_run) = @_;
    return unless defined $block->bench_context;
    return if $dry_run;

    my $name = $block->name;
    my $mode = $block->bench_context;
    chomp $mode;
    my $out = wsbench_build($name);

    my $pid = IPC::Open2::open2(my $from, my $to, $python,
                                'bench/trust/deflate_server.py', $mode);
    my $line = <$from> // '';
    ok($line =~ /^listening (\d+)$/, "$name - the server listens")
        or return;
    my $port = $1;

    my $json = File::Temp->new(SUFFIX => '.json');
    my @args = (
        "$out/wsbench", '--name=context', '--quiet=1', '--threads=2',
        '--connections=16', '--channels=2', '--rate=200', '--duration=2',
        '--payload=600', '--payload_text=1', '--deflate=1',
        '--pub_conns=1', '--digest_channel=0', '--src_ips=1', '--drain=3',
        "--sub_url=ws://127.0.0.1:$port/sub/c{i%2}",
        "--pub_url=http://127.0.0.1:$port/pub/c{c}",
        '--json=' . $json->filename,
    );
    my $log = `@args 2>&1`;
    close $to;
    waitpid $pid, 0;

    my $rep = read_json($json->filename) || {};
    my $sc = $rep->{scenarios}[0] || {};
    my $dg = $sc->{digest} || {};
    my $msg = $sc->{messages} || {};
    my $by = $sc->{bytes} || {};

    is($sc->{connections}{ok}, 16, "$name - every connection opened")
        or diag($log);
    is($by->{deflate_connections}, 16,
       "$name - every connection negotiated permessage-deflate");

    if ($mode eq 'lie') {
        is($sc->{connections}{server_closed}, 16,
           "$name - every connection ended on the server's fault");
        like($sc->{error}, qr/^inflate: invalid distance too far back/,
             "$name - the error says why") or diag($log);
        is($sc->{grade}, 'F', "$name - the run grades F");
        return;
    }

    is($sc->{error}, '', "$name - no error") or diag($log);
    is($sc->{connections}{closed_ok}, 16,
       "$name - every close handshake completed");
    ok(($dg->{published} // 0) >= 150, "$name - enough published on c0");
    is($msg->{lost}, 0, "$name - wsbench lost nothing");
    is($msg->{received}, 8 * $msg->{published},
       "$name - every message reached its 8 subscribers");
    is($dg->{mismatched}, 0, "$name - the 8 subscribers of c0 agree");
    is($dg->{received_sha1}, $dg->{published_sha1},
       "$name - wsbench received on c0 what it published");
    is($by->{compressed}, $by->{messages},
       "$name - every message came compressed");
    ok($by->{wire_per_message} < 0.5 * 600,
       "$name - with the context kept, under half the bytes on the wire"
       . " ($by->{wire_per_message} per message)");
}

__DATA__

=== TEST 1: wsbench and python3-websockets read ngx_ws_perf_module's compressed messages alike
--- config
    location ~ ^/sub/(?<ch>[A-Za-z0-9_.-]+)$ {
        ws_perf;
        ws_perf_channels  $ch;
        ws_perf_format    raw;
        ws_perf_deflate   on;
    }

    location ~ ^/pub/(?<ch>[A-Za-z0-9_.-]+)$ {
        ws_perf_publish;
        ws_perf_channels  $ch;
    }

    location = /status {
        ws_perf_status;
    }

    location = /ready {
        return 200 "ready\n";
    }
--- request
GET /ready
--- response_body
ready
--- bench_deflate: on
--- deflate_status: 1
--- timeout: 60



=== TEST 2: wsbench and python3-websockets read nchan's compressed messages alike
--- skip_eval: 22: !-f '/usr/lib/nginx/modules/ngx_nchan_module.so' || $ENV{WS_PERF_SANITIZE} || $ENV{TEST_NGINX_USE_VALGRIND}
--- main_config
    load_module /usr/lib/nginx/modules/ngx_nchan_module.so;
--- http_config
    nchan_permessage_deflate_compression_level  1;
--- config
    location ~ ^/sub/(?<ch>[A-Za-z0-9_.-]+)$ {
        nchan_subscriber                websocket;
        nchan_channel_id                $ch;
        nchan_subscriber_first_message  newest;
    }

    location ~ ^/pub/(?<ch>[A-Za-z0-9_.-]+)$ {
        nchan_publisher                      http;
        nchan_channel_id                     $ch;
        nchan_deflate_message_for_websocket  on;
    }

    location = /ready {
        return 200 "ready\n";
    }
--- request
GET /ready
--- response_body
ready
--- bench_deflate: on
--- timeout: 60



=== TEST 3: a server that declines the offer is read uncompressed
--- config eval
$::BENCH_PUBSUB . $::BENCH_READY
--- request
GET /ready
--- response_body
ready
--- bench_deflate: declined
--- timeout: 60



=== TEST 4: an answer naming a parameter the offer did not have fails the connection
--- config
    location ~ ^/pub/(?<ch>[A-Za-z0-9_.-]+)$ {
        ws_perf_publish;
        ws_perf_channels  $ch;
    }

    location = /ready {
        return 200 "ready\n";
    }
--- request
GET /ready
--- response_body
ready
--- bad_answer: permessage-deflate; server_no_context_takeover; mux_level=3
--- bad_answer_error: ^bad Sec-WebSocket-Extensions answer: parameter "mux_level" was not offered
--- timeout: 60



=== TEST 5: an answer naming another extension fails the connection
--- config
    location ~ ^/pub/(?<ch>[A-Za-z0-9_.-]+)$ {
        ws_perf_publish;
        ws_perf_channels  $ch;
    }

    location = /ready {
        return 200 "ready\n";
    }
--- request
GET /ready
--- response_body
ready
--- bad_answer: x-webkit-deflate-frame
--- bad_answer_error: ^bad Sec-WebSocket-Extensions answer: extension "x-webkit-deflate-frame" was not offered
--- timeout: 60



=== TEST 6: a window size out of 8..15 fails the connection
--- config
    location ~ ^/pub/(?<ch>[A-Za-z0-9_.-]+)$ {
        ws_perf_publish;
        ws_perf_channels  $ch;
    }

    location = /ready {
        return 200 "ready\n";
    }
--- request
GET /ready
--- response_body
ready
--- bad_answer: permessage-deflate; server_max_window_bits=16
--- bad_answer_error: ^bad Sec-WebSocket-Extensions answer: bad value "16" of "server_max_window_bits"
--- timeout: 60



=== TEST 7: client_max_window_bits answered without its value fails the connection
--- config
    location ~ ^/pub/(?<ch>[A-Za-z0-9_.-]+)$ {
        ws_perf_publish;
        ws_perf_channels  $ch;
    }

    location = /ready {
        return 200 "ready\n";
    }
--- request
GET /ready
--- response_body
ready
--- bad_answer: permessage-deflate; client_max_window_bits
--- bad_answer_error: ^bad Sec-WebSocket-Extensions answer: bad value "" of "client_max_window_bits"
--- timeout: 60



=== TEST 8: a parameter named twice fails the connection
--- config
    location ~ ^/pub/(?<ch>[A-Za-z0-9_.-]+)$ {
        ws_perf_publish;
        ws_perf_channels  $ch;
    }

    location = /ready {
        return 200 "ready\n";
    }
--- request
GET /ready
--- response_body
ready
--- bad_answer: permessage-deflate; server_no_context_takeover; server_no_context_takeover
--- bad_answer_error: ^bad Sec-WebSocket-Extensions answer: parameter "server_no_context_takeover" twice
--- timeout: 60



=== TEST 9: an answer in two header lines is more than the one extension offered
--- config
    location ~ ^/pub/(?<ch>[A-Za-z0-9_.-]+)$ {
        ws_perf_publish;
        ws_perf_channels  $ch;
    }

    location = /ready {
        return 200 "ready\n";
    }
--- request
GET /ready
--- response_body
ready
--- bad_answer: permessage-deflate | permessage-deflate; server_no_context_takeover
--- bad_answer_error: ^bad Sec-WebSocket-Extensions answer: more than the one extension offered
--- timeout: 60



=== TEST 10: an extension answered to no offer (deflate=0) fails the connection
--- config
    location ~ ^/pub/(?<ch>[A-Za-z0-9_.-]+)$ {
        ws_perf_publish;
        ws_perf_channels  $ch;
    }

    location = /ready {
        return 200 "ready\n";
    }
--- request
GET /ready
--- response_body
ready
--- bad_answer: permessage-deflate
--- bad_answer_offer: 0
--- bad_answer_error: ^bad Sec-WebSocket-Extensions answer: an extension, none was offered
--- timeout: 60



=== TEST 11: a server that keeps its compression context is read with the context kept
--- config
    location = /ready {
        return 200 "ready\n";
    }
--- request
GET /ready
--- response_body
ready
--- bench_context: keep
--- timeout: 60



=== TEST 12: a server that says it resets its context but keeps it fails every connection
--- config
    location = /ready {
        return 200 "ready\n";
    }
--- request
GET /ready
--- response_body
ready
--- bench_context: lie
--- timeout: 60
