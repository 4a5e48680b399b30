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
# in $ENV{TEST_NGINX_CLUSTER_DIR}/PORT.  Each writes its pid to
# TMPDIR/ws-perf-cluster-PORT.pid (pidfile(), the same path for every run,
# so that a node an interrupted run left behind is found); the nodes are
# killed by pid when the test file ends, and such a node when one starts:
# SIGTERM, a bounded wait, then SIGKILL.

use strict;
use warnings;

use File::Spec ();
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

# where the node on port writes its pid (t/pubsub/cluster.py knows it too)
sub pidfile {
    my ($port) = @_;
    $ENV{TEST_NGINX_CLUSTER_PIDDIR} ||= File::Spec->tmpdir;
    return File::Spec->catfile($ENV{TEST_NGINX_CLUSTER_PIDDIR},
                               "ws-perf-cluster-$port.pid");
}

# cluster_command() that waits 2 s at most for the answer (a stopped node
# takes the connection and never answers)
sub bounded_command {
    my @args = @_;
    my $r;
    eval {
        local $SIG{ALRM} = sub { die "timeout\n" };
        alarm 2;
        $r = cluster_command(@args);
        alarm 0;
    };
    alarm 0;
    return $r;
}

# whether pid is a redis-server on port
sub is_node {
    my ($pid, $port) = @_;
    open my $fh, '<', "/proc/$pid/cmdline" or return 0;
    my $cmd = do { local $/; <$fh> };
    close $fh;
    return 0 unless defined $cmd && $cmd =~ /\Aredis-server/;
    # the title a node gives itself, or its arguments as started
    return $cmd =~ /\A\S+ \S*:$port\b/ || $cmd =~ /\0--port\0$port\0/;
}

# the pid of the redis-server on port: its pidfile's or else the one the
# node gives (a node started again without the pidfile); undef if none
sub node_pid {
    my ($port) = @_;
    if (open my $fh, '<', pidfile($port)) {
        my $line = <$fh>;
        close $fh;
        return $1 if defined $line && $line =~ /\A\s*(\d+)/
                     && is_node($1, $port);
    }
    my $info = bounded_command($port, 'INFO', 'server');
    return $1 if defined $info && $info =~ /^process_id:(\d+)/m
                 && is_node($1, $port);
    return undef;
}

# SIGTERM to the nodes on these ports, up to 5 s for them to exit, then
# SIGKILL; their pidfiles go too
sub kill_nodes {
    my (@on) = @_;
    my %pid;
    for my $port (@on) {
        my $pid = node_pid($port);
        $pid{$port} = $pid if defined $pid && kill 'TERM', $pid;
    }
    for (1 .. 100) {
        last unless grep { kill 0, $_ } values %pid;
        Time::HiRes::sleep(0.05);
    }
    for my $port (sort keys %pid) {
        next unless kill 0, $pid{$port};
        warn "redis cluster: node $port (pid $pid{$port}) ignored SIGTERM"
             . " for 5 s: SIGKILL\n";
        kill 'KILL', $pid{$port};
    }
    unlink pidfile($_) for @on;
}

sub start_node {
    my ($port) = @_;
    system('redis-server', '--port', $port, '--bind', '127.0.0.1',
           '--cluster-enabled', 'yes',
           '--cluster-config-file', "$dir/$port/nodes.conf",
           '--cluster-node-timeout', '1000',
           '--save', '', '--appendonly', 'yes',
           '--appendfsync', 'always', '--enable-debug-command', 'local',
           '--dir', "$dir/$port", '--logfile', "$dir/$port/redis.log",
           '--pidfile', pidfile($port), '--daemonize', 'yes') == 0
        or die "cannot start redis-server on $port: $?\n";
}

sub cluster_start {
    my %opt = @_;

    $ENV{TEST_NGINX_CLUSTER_PORT} ||= $opt{port} || 7401;
    my $base = $ENV{TEST_NGINX_CLUSTER_PORT};
    my @want = map { $base + $_ } 0 .. 5;

    $dir = File::Temp->newdir('ws-perf-cluster-XXXXXX', TMPDIR => 1);
    $ENV{TEST_NGINX_CLUSTER_DIR} = "$dir";

    # a node left over from an interrupted run would answer for us
    kill_nodes(@want);
    for my $port (@want) {
        die "redis cluster: port $port is taken by another process\n"
            if defined bounded_command($port, 'PING');
    }

    @ports = @want;
    for my $port (@ports) {
        mkdir "$dir/$port" or die "mkdir: $!\n";
        start_node($port);
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
    kill_nodes(@ports) if @ports;
}

1;
