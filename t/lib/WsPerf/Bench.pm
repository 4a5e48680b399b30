package WsPerf::Bench;
# What the t/03*-bench-*.t files share: wsbench built where bench/run.sh
# builds it (build/bench), its JSON reports read, and the locations of
# bench/conf/ws_perf.conf for a block's config.
#
#     my $out = wsbench_build($name);      # ok() that it builds; the dir
#     my $doc = read_json("$out/x.json");  # undef if unreadable
#     $BENCH_PUBSUB                        # /sub/CH and /pub/CH
#     $BENCH_READY                         # GET /ready answers "ready"
use strict;
use warnings;
use Cwd ();
use JSON::PP ();
use Test::More;
use Exporter 'import';

our @EXPORT = qw(wsbench_build read_json $BENCH_PUBSUB $BENCH_READY);

our $BENCH_PUBSUB = <<'_EOC_';
    location ~ ^/sub/(?<ch>[A-Za-z0-9_.-]+)$ {
        ws_perf;
        ws_perf_channels  $ch;
        ws_perf_format    raw;
    }

    location ~ ^/pub/(?<ch>[A-Za-z0-9_.-]+)$ {
        ws_perf_publish;
        ws_perf_channels  $ch;
    }
_EOC_

our $BENCH_READY = <<'_EOC_';
    location = /ready {
        return 200 "ready\n";
    }
_EOC_


sub wsbench_build {
    my $name = shift;
    my $out = Cwd::getcwd() . '/build/bench';

    system('mkdir', '-p', $out);
    is(system("make -s -C bench/wsbench OUT='$out' >/dev/null"), 0,
       "$name - wsbench builds");
    return $out;
}


sub read_json {
    my $file = shift;
    open my $in, '<', $file or return undef;
    local $/;
    my $text = <$in>;
    close $in;
    return eval { JSON::PP::decode_json($text) };
}


1;
