# Trust in the load tool: while wsbench (bench/wsbench) runs a small pub/sub
# load, an independent subscriber written with python3-websockets listens on
# one of its channels.  Both count the messages and digest their payloads;
# wsbench also digests what it published.  All three must agree, and wsbench
# must account for every delivery (none lost, none duplicated).  The same
# check runs against ngx_ws_perf_module and against nchan (when Debian's
# libnginx-mod-nchan is installed).
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Cwd ();
use JSON::PP ();
use File::Temp ();

my $python = '/usr/bin/python3';

worker_connections(256);
no_shuffle();
add_response_body_check(\&bench_trust);
run_tests();


sub read_json ($) {
    my $file = shift;
    open my $in, '<', $file or return undef;
    local $/;
    my $text = <$in>;
    close $in;
    return eval { JSON::PP::decode_json($text) };
}


sub bench_trust {
    my ($block, $body, $req_idx, $rep_idx, $dry_run) = @_;
    return unless defined $block->bench_trust;
    return if $dry_run;

    my $name = $block->name;
    my $port = $Test::Nginx::Util::ServerPort;
    my $out = Cwd::getcwd() . '/build/bench';

    system('mkdir', '-p', $out);
    is(system("make -s -C bench/wsbench OUT='$out' >/dev/null"), 0,
       "$name - wsbench builds");

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
    ok(defined $ref->{p50_ms} && $ref->{p50_ms} > 0
       && $ref->{p50_ms} < 1000,
       "$name - python reads sane send times from the payloads"
       . " (p50 " . ($ref->{p50_ms} // 'none') . " ms)");
}

__DATA__

=== TEST 1: wsbench and a python3-websockets client agree on ngx_ws_perf_module
--- config
    location ~ ^/sub/(?<ch>[A-Za-z0-9_.-]+)$ {
        ws_perf;
        ws_perf_channels  $ch;
        ws_perf_format    raw;
    }

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

    location = /ready {
        return 200 "ready\n";
    }
--- request
GET /ready
--- response_body
ready
--- bench_trust: nchan
--- timeout: 60
