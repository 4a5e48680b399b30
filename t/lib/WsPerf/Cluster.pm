package WsPerf::Cluster;

# A Redis Cluster of the test file's own, on loopback: three masters with
# one replica each, made by "redis-cli --cluster create" as an operator
# makes one, with every write in the AOF before it is answered:
#
#     use WsPerf::Cluster;
#     cluster_start();      # before run_tests()
#
# The nodes listen on $ENV{TEST_NGINX_CLUSTER_PORT} and the five ports
# after it (set here when not given; the configs use it), with their files
# in $ENV{TEST_NGINX_CLUSTER_DIR}/PORT, and are shut down when the test
# file ends.

use strict;
use warnings;

use File::Temp ();
use IO::Socket::INET;
use Time::HiRes ();

our @EXPORT = qw(cluster_start cluster_command);

sub import {
    my @targets = (scalar caller, 'Test::Base::Filter');
    no strict 'refs';
    for my $pkg (@targets) {
        for my $name (@EXPORT) {
            *{"${pkg}::$name"} = \&{"WsPerf::Cluster::$name"};
        }
    }
}

my $dir;
my @ports;

# whether cluster_start() has started the file's cluster
sub running { @ports ? 1 : 0 }

# one command to the node on port; the reply's first line, or undef
sub cluster_command {
    my ($port, @args) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                  Proto => 'tcp', Timeout => 2)
        or return undef;
    my $req = '*' . @args . "\r\n";
    $req .= '$' . length($_) . "\r\n$_\r\n" for @args;
    print $s $req;
    my $line = <$s>;
    my $rest = '';
    if (defined $line && $line =~ /^\$(\d+)/) {
        read($s, $rest, $1 + 2);
    }
    close $s;
    return undef unless defined $line;
    $line =~ s/\r\n\z//;
    return length $rest ? $rest : $line;
}

sub wait_until {
    my ($what, $cond) = @_;
    for (1 .. 300) {
        return if $cond->();
        Time::HiRes::sleep(0.05);
    }
    die "redis cluster: $what did not happen in 15 s\n";
}

sub cluster_start {
    my %opt = @_;

    $ENV{TEST_NGINX_CLUSTER_PORT} ||= $opt{port} || 7401;
    my $base = $ENV{TEST_NGINX_CLUSTER_PORT};
    @ports = map { $base + $_ } 0 .. 5;

    $dir = File::Temp->newdir('ws-perf-cluster-XXXXXX', TMPDIR => 1);
    $ENV{TEST_NGINX_CLUSTER_DIR} = "$dir";

    for my $port (@ports) {
        # a node left over from an interrupted run would answer for us
        cluster_command($port, 'SHUTDOWN', 'NOSAVE')
            if defined cluster_command($port, 'PING');

        mkdir "$dir/$port" or die "mkdir: $!\n";
        system('redis-server', '--port', $port, '--bind', '127.0.0.1',
               '--cluster-enabled', 'yes',
               '--cluster-config-file', "$dir/$port/nodes.conf",
               '--cluster-node-timeout', '1000',
               '--save', '', '--appendonly', 'yes',
               '--appendfsync', 'always', '--enable-debug-command', 'local',
               '--dir', "$dir/$port", '--logfile', "$dir/$port/redis.log",
               '--daemonize', 'yes') == 0
            or die "cannot start redis-server on $port: $?\n";
    }

    for my $port (@ports) {
        wait_until("node $port to answer", sub {
            my $r = cluster_command($port, 'PING');
            defined $r && $r eq '+PONG';
        });
    }

    system('redis-cli --cluster create '
           . join(' ', map { "127.0.0.1:$_" } @ports)
           . " --cluster-replicas 1 --cluster-yes >$dir/create.log 2>&1") == 0
        or die "redis-cli --cluster create failed: see $dir/create.log\n";

    for my $port (@ports) {
        wait_until("node $port to see the cluster ok", sub {
            my $r = cluster_command($port, 'CLUSTER', 'INFO');
            defined $r && $r =~ /cluster_state:ok/;
        });
    }
}

END {
    local $?;
    cluster_command($_, 'SHUTDOWN', 'NOSAVE') for @ports;
}

1;
