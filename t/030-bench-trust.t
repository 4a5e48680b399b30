# Trust in the load tool: while wsbench (bench/wsbench) runs a small pub/sub
# load, an independent subscriber written with python3-websockets listens on
# one of its channels.  Both count the messages and digest their payloads;
# wsbench also digests what it published.  All three must agree, and wsbench
# must account for every delivery (none lost, none duplicated).  The same
# check runs against ngx_ws_perf_module, against nchan (when Debian's
# libnginx-mod-nchan is installed) and against bench/floor.c, the minimal
# fan-out server make bench runs as a peer, and once more with wsbench's
# publishes passed through bench/trust/answer_front.py, which answers them
# in other HTTP/1.1 forms than nginx's.  The last blocks check what
# `wsbench compare` says about a regression.
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use WsPerf::Bench;
use Cwd ();
use JSON::PP ();
use File::Temp ();

my $python = '/usr/bin/python3';

# every block answers GET /ready with "ready", which run_tests() checks
# before the block's own checks run; a wsbench run against
# ngx_ws_perf_module gets its pub/sub locations
add_block_preprocessor(sub {
    my $block = shift;
    my $config = $block->config // '';
    my $trust = $block->bench_trust // '';

    $config = $BENCH_PUBSUB . $config
        if $trust eq 'ws_perf' || $trust eq 'front';
    $block->set_value('config', $config . $BENCH_READY);
    $block->set_value('request', "GET /ready\n");
    $block->set_value('response_body', "ready\n");
});

worker_connections(256);
no_shuffle();
add_response_body_check(\&bench_trust);
add_response_body_check(\&bench_compare);
run_tests();


sub bench_trust {
    my ($block, $body, $req_idx, $rep_idx, $dry_run) = @_;
    return unless defined $block->bench_trust;
    return if $dry_run;

    my $name = $block->name;
    my $port = $Test::Nginx::Util::ServerPort;
    my $out = wsbench_build($name);
    my ($floor, $floor_pid, $floor_err);

    if ($block->bench_trust eq 'floor') {
        is(system("make -s -C bench/wsbench OUT='$out' floor >/dev/null"), 0,
           "$name - floor-server builds");
        # port 0: the kernel picks a free one, floor-server prints it
        $floor_err = File::Temp->new(SUFFIX => '.log');
        $floor_pid = open($floor, '-|', "exec '$out/floor-server'"
                          . " 127.0.0.1:0 2>" . $floor_err->filename);
        my $line = <$floor> // '';
        ok($line =~ /^listening 127\.0\.0\.1:(\d+)$/,
           "$name - floor-server listens") or diag($line);
        $port = $1 // 0;
    }

    # front: the publishers go through bench/trust/answer_front.py, which
    # answers them in other HTTP/1.1 forms than nginx's
    my ($front, $front_pid, $pub_port) = (undef, undef, $port);
    if ($block->bench_trust eq 'front') {
        $front_pid = open($front, '-|', $python,
                          'bench/trust/answer_front.py', $port);
        my $line = <$front> // '';
        ok($line =~ /^listening (\d+)$/, "$name - the front listens")
            or diag($line);
        $pub_port = $1 // 0;
    }

    my $py_pid = open(my $py, '-|', $python, 'bench/trust/ws_client.py',
                      "ws://127.0.0.1:$port/sub/trust0");
    ok($py_pid, "$name - the python subscriber starts");
    my $ready = <$py>;
    is($ready, "ready\n", "$name - the python subscriber is subscribed");

    my $json = File::Temp->new(SUFFIX => '.json');
    my @args = (
        "$out/wsbench", '--name=trust', '--quiet=1', '--threads=2',
        '--connections=16', '--channels=2', '--rate=200', '--duration=2',
        '--payload=300', '--pub_conns=1', '--digest_channel=0',
        '--src_ips=1', '--drain=3',
        "--sub_url=ws://127.0.0.1:$port/sub/trust{i%2}",
        "--pub_url=http://127.0.0.1:$pub_port/pub/trust{c}",
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

    is($sc->{connections}{ok}, 16, "$name - every connection opened");
    is($sc->{connections}{closed_ok}, 16,
       "$name - every close handshake completed");
    ok($dg->{published} >= 150, "$name - enough published on trust0"
       . " ($dg->{published})");
    is($msg->{lost}, 0, "$name - wsbench lost nothing");
    is($msg->{duplicated}, 0, "$name - wsbench saw no duplicate");
    is($msg->{received}, 8 * $msg->{published},
       "$name - every message reached its 8 subscribers");
    is($dg->{subscribers}, 8, "$name - 8 wsbench subscribers digested trust0");
    is($dg->{mismatched}, 0, "$name - they all saw the same stream");
    is($dg->{received}, $dg->{published},
       "$name - wsbench received on trust0 what it published");
    is($dg->{received_sha1}, $dg->{published_sha1},
       "$name - wsbench's payload digests agree");
    is($ref->{count}, $dg->{published},
       "$name - python counted what wsbench published");
    is($ref->{sha1}, $dg->{published_sha1},
       "$name - python's payload digest is wsbench's");

    if ($front_pid) {
        kill 'TERM', $front_pid;
        my $line = <$front> // '';
        close $front;
        my ($passed, $answered, $closed) =
            $line =~ /^passed (\d+) answered (\d+) closed (\d+)$/;
        is($msg->{published}, $passed // -1,
           "$name - wsbench counted the publishes the front passed on")
            or diag($line);
        is($answered, $passed, "$name - the front answered each of them");
        ok(($closed // 0) >= 10, "$name - the front closed connections"
           . " with \"Connection: close\" (" . ($closed // 'none') . ")");
        is($msg->{publish_errors}, 0,
           "$name - wsbench took every form of answer as a success");
    }

    if ($floor_pid) {
        kill 'TERM', $floor_pid;
        close $floor;
        is($?, 0, "$name - floor-server stops on SIGTERM");
        open my $in, '<', $floor_err->filename;
        my $counts = join '', <$in>;
        like($counts, qr/, 17 subscribed, /,
             "$name - floor-server counted 17 subscribers");
        like($counts, qr/dropped 0 subscribers with a full socket and 0 on/,
             "$name - floor-server dropped no subscriber");
        like($counts, qr/, 0 bad requests$/m,
             "$name - floor-server took every request");
    }
    ok(defined $ref->{p50_ms} && $ref->{p50_ms} > 0
       && $ref->{p50_ms} < 1000,
       "$name - python reads sane send times from the payloads"
       . " (p50 " . ($ref->{p50_ms} // 'none') . " ms)");
}


# bench_compare: bench/baseline.json against a copy changed as the section
# says ("NAME PATH FACTOR" multiplies a number, "-NAME" drops a scenario,
# "keep NAME..." keeps those only, entries separated by ";"; NAME@LABEL
# is the scenario of that server only); compare_args, compare_exit and
# compare_last_line say how wsbench compare is called and what it must
# answer
sub bench_compare {
    my ($block, $body, $req_idx, $rep_idx, $dry_run) = @_;
    return unless defined $block->bench_compare;
    return if $dry_run;

    my $name = $block->name;
    my $out = wsbench_build($name);

    my $doc = read_json('bench/baseline.json');
    ok($doc && @{ $doc->{scenarios} }, "$name - bench/baseline.json reads");

    # NAME or NAME@LABEL
    my $is = sub {
        my ($sc, $id) = @_;
        my ($n, $l) = split /@/, $id;
        return $sc->{name} eq $n && (!defined $l || $sc->{label} eq $l);
    };

    for my $change (split /\s*;\s*/, $block->bench_compare) {
        my @w = split ' ', $change;
        if ($w[0] eq 'keep') {
            my %keep = map { $_ => 1 } @w[1 .. $#w];
            $doc->{scenarios} =
                [grep { $keep{ $_->{name} } } @{ $doc->{scenarios} }];
        } elsif ($w[0] =~ /^-(.+)/) {
            my $drop = $1;
            $doc->{scenarios} =
                [grep { !$is->($_, $drop) } @{ $doc->{scenarios} }];
        } else {
            my ($sc) = grep { $is->($_, $w[0]) } @{ $doc->{scenarios} };
            my @path = split /\./, $w[1];
            my $last = pop @path;
            my $v = $sc;
            $v = $v->{$_} for @path;
            $v->{$last} *= $w[2];
        }
    }

    my $new = File::Temp->new(SUFFIX => '.json');
    print $new JSON::PP->new->canonical->encode($doc);
    close $new;

    my $args = $block->compare_args // '';
    my $text = `'$out/wsbench' compare $args bench/baseline.json @{[
        $new->filename]} 2>&1`;
    my $rc = $? >> 8;
    my @lines = split /\n/, $text;
    my $want = $block->compare_last_line;
    chomp $want;

    is($rc, $block->compare_exit + 0, "$name - exit status") or diag($text);
    like($lines[-1] // '', qr/$want/, "$name - what the last line says")
        or diag($text);
}

__DATA__

=== TEST 1: wsbench and a python3-websockets client agree on ngx_ws_perf_module
--- bench_trust: ws_perf
--- timeout: 60



=== TEST 2: wsbench and a python3-websockets client agree on nchan
--- skip_eval: 19: !-f '/usr/lib/nginx/modules/ngx_nchan_module.so' || $ENV{WS_PERF_SANITIZE} || $ENV{TEST_NGINX_USE_VALGRIND}
--- main_config
    load_module /usr/lib/nginx/modules/ngx_nchan_module.so;
--- config
    location ~ ^/sub/(?<ch>[A-Za-z0-9_.-]+)$ {
        nchan_subscriber                websocket;
        nchan_channel_id                $ch;
        nchan_subscriber_first_message  newest;
    }

    location ~ ^/pub/(?<ch>[A-Za-z0-9_.-]+)$ {
        nchan_publisher  http;
        nchan_channel_id $ch;
    }
--- bench_trust: nchan
--- timeout: 60



=== TEST 3: wsbench and a python3-websockets client agree on bench/floor.c
--- bench_trust: floor
--- timeout: 60



=== TEST 4: wsbench reads publish answers in every HTTP/1.1 form, not nginx's alone
Lower-case header names, chunked bodies, decoy header values, answers split
within the blank line, and "Connection: close" every 7th answer with the
requests pipelined behind it dropped: wsbench must count every publish once,
none as an error, and still account for every delivery.
--- bench_trust: front
--- timeout: 60



=== TEST 5: compare names each scenario and metric that got worse, and by how much
--- bench_compare: fanout latency_ms.p99 1.6; many-channels-max deliveries_per_s 0.5; -churn
--- compare_exit: 1
--- compare_last_line
^regression: fanout p99 ms \+60\.0% \([0-9.]+ -> [0-9.]+\); churn missing; many-channels-max deliveries/s -50\.0% \([0-9.]+ -> [0-9.]+\)$



=== TEST 6: a change within the tolerance is no regression
--- bench_compare: fanout latency_ms.p99 1.2; many-channels-max deliveries_per_s 0.8
--- compare_exit: 0
--- compare_last_line
^no regression$



=== TEST 7: a run of some scenarios (--subset) is compared on those alone
--- bench_compare: keep fanout many-channels; fanout latency_ms.p99 1.6
--- compare_args: --subset
--- compare_exit: 1
--- compare_last_line
^regression: fanout p99 ms \+60\.0% \([0-9.]+ -> [0-9.]+\)$



=== TEST 8: without --subset a scenario missing from the new run is worse
--- bench_compare: keep fanout many-channels
--- compare_exit: 1
--- compare_last_line
^regression: baseline missing; stress missing; spike missing; endurance missing; churn missing; slow-consumer missing; fanout-10hz missing; fanout-max missing; many-channels-max missing; ws_perf_redis/fanout-redis missing; ws_perf_redis/fanout-max missing; ws_perf_tls/fanout-tls missing; ws_perf_tls/fanout-10hz-tls missing; ws_perf_tls/fanout-max-tls missing; ws_perf_deflate/fanout-deflate missing; ws_perf_deflate/many-channels-deflate missing$



=== TEST 9: --metrics compares the metrics named only
--- bench_compare: keep fanout; fanout latency_ms.p99 1.6; fanout deliveries_per_s 0.9
--- compare_args: --subset --metrics=deliveries,errors,grade
--- compare_exit: 0
--- compare_last_line
^no regression$



=== TEST 10: the Redis, TLS and deflate entries are compared, named with their server
--- bench_compare: keep fanout-redis fanout-max fanout-tls fanout-deflate; fanout-max@ws_perf_redis deliveries_per_s 0.5; fanout-tls latency_ms.p99 1.6; fanout-deflate bytes.wire_per_message 1.5
--- compare_args: --subset
--- compare_exit: 1
--- compare_last_line
^regression: ws_perf_redis/fanout-max deliveries/s -50\.0% \([0-9.e+]+ -> [0-9.e+]+\); ws_perf_tls/fanout-tls p99 ms \+60\.0% \([0-9.]+ -> [0-9.]+\); ws_perf_deflate/fanout-deflate wire bytes/message \+50\.0% \([0-9.]+ -> [0-9.]+\)$



=== TEST 11: --labels leaves the entries of servers a run did not have out
--- bench_compare: -fanout-tls; -fanout-10hz-tls; -fanout-max-tls
--- compare_args: --labels=ws_perf,ws_perf_redis,ws_perf_deflate
--- compare_exit: 0
--- compare_last_line
^no regression$



=== TEST 12: without --labels the TLS entries a run lacks are missing
--- bench_compare: -fanout-tls; -fanout-10hz-tls; -fanout-max-tls
--- compare_exit: 1
--- compare_last_line
^regression: ws_perf_tls/fanout-tls missing; ws_perf_tls/fanout-10hz-tls missing; ws_perf_tls/fanout-max-tls missing$



=== TEST 13: a scenario two servers ran is not compared across servers
--- bench_compare: -fanout-max@ws_perf
--- compare_args: --subset
--- compare_exit: 0
--- compare_last_line
^no regression$
