package WsPerf::Bench;
# What the t/03*-bench-*.t files share: wsbench built where bench/run.sh
# builds it (build/bench), and its JSON reports read.
#
#     my $out = wsbench_build($name);      # ok() that it builds; the dir
#     my $doc = read_json("$out/x.json");  # undef if unreadable
use strict;
use warnings;
use Cwd ();
use JSON::PP ();
use Test::More;
use Exporter 'import';

our @EXPORT = qw(wsbench_build read_json);


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
