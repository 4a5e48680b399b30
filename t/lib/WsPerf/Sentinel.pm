package WsPerf::Sentinel;

# One master, one replica and three sentinels of the test file's own, on
# loopback (docs/redis.md, "Sentinel"):
#
#     use WsPerf::Sentinel;
#     sentinel_start();       # before run_tests()
#
# The ports come from $ENV{TEST_NGINX_REDIS_PORT} (P, set here when not
# given), so that suites run side by side with other ports do not clash:
#
#     P           the master at the start     TEST_NGINX_REDIS_PORT
#     P+1         its replica                 TEST_NGINX_REPLICA_PORT
#     P+2         left for a fake Redis       TEST_NGINX_FAKE_REDIS_PORT
#     P+20000..2  the sentinels               TEST_NGINX_SENTINEL_PORT1..3
#     P+20003..4  left for fake sentinels     TEST_NGINX_FAKE_SENTINEL_PORT
#                                             TEST_NGINX_FAKE_SENTINEL_PORT2
#
# Both servers write every command to their AOF before answering it
# (appendfsync always).  The sentinels watch the master as "mym"
# ($TEST_NGINX_SENTINEL_NAME) with a quorum of 2, call it down after 1 s
# and give a failover 3 s.  sentinel_start() returns once the replica is in
# sync and every sentinel knows the replica and the two other sentinels,
# and dies when that takes more than 30 s.
#
# Every server runs from a configuration file in one directory
# ($TEST_NGINX_SENTINEL_DIR: redis-PORT.conf, sentinel-PORT.conf), where
# it writes its pid file and log; t/pubsub/sentinel.py restarts a server it
# killed from the same file.  When the test file ends every server whose
# pid file is there is stopped (SIGTERM, then SIGKILL after 5 s), whoever
# started it.

use strict;
use warnings;

use File::Temp ();
use IO::Socket::INET;
use POSIX ();
use Time::HiRes ();

our @EXPORT = qw(sentinel_start sentinel_command);

our $NAME = 'mym';

sub import {
    my @targets = (scalar caller, 'Test::Base::Filter');
    no strict 'refs';
    for my $pkg (@targets) {
        for my $name (@EXPORT) {
            *{"${pkg}::$name"} = \&{"WsPerf::Sentinel::$name"};
        }
    }
}

my $dir;
my $owner = $$;

# one RESP reply off a socket: a scalar, an array ref, or undef (nil);
# an error reply is "-ERR ..." as a string
sub read_reply {
    my ($s) = @_;
    my $line = <$s>;
    die "connection closed\n" unless defined $line;
    $line =~ s/\r\n\z//;
    my ($t, $rest) = (substr($line, 0, 1), substr($line, 1));
    return $line if $t eq '-';
    return $rest if $t eq '+' || $t eq ':';
    if ($t eq '$') {
        return undef if $rest < 0;
        my $data = '';
        while (length $data < $rest + 2) {
            my $n = read($s, $data, $rest + 2 - length $data, length $data);
            die "connection closed\n" unless $n;
        }
        return substr($data, 0, $rest);
    }
    if ($t eq '*') {
        return undef if $rest < 0;
        return [map { read_reply($s) } 1 .. $rest];
    }
    die "not RESP: $line\n";
}

# sentinel_command($port, @args): the whole reply, undef when nothing
# answers (or it answers nil)
sub sentinel_command {
    my ($port, @args) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                  Proto => 'tcp', Timeout => 2)
        or return undef;
    my $req = '*' . @args . "\r\n";
    $req .= '$' . length($_) . "\r\n$_\r\n" for @args;
    print $s $req;
    my $r = eval { local $SIG{ALRM} = sub { die "timeout\n" };
                   alarm 5; my $v = read_reply($s); alarm 0; $v };
    alarm 0;
    close $s;
    return $r;
}

sub wait_until {
    my ($what, $secs, $cond) = @_;
    my $deadline = Time::HiRes::time() + $secs;
    while (Time::HiRes::time() < $deadline) {
        return if $cond->();
        Time::HiRes::sleep(0.05);
    }
    die "sentinel_start: $what: not within $secs s\n";
}

sub write_file {
    my ($path, $text) = @_;
    open my $f, '>', $path or die "$path: $!\n";
    print $f $text;
    close $f or die "$path: $!\n";
}

# Debian's redis-sentinel, or redis-server in sentinel mode
sub start_server {
    my ($conf, $sentinel) = @_;
    my @cmd = !$sentinel ? ('redis-server', $conf)
            : -x '/usr/bin/redis-sentinel' ? ('/usr/bin/redis-sentinel', $conf)
            : ('redis-server', $conf, '--sentinel');
    system(@cmd) == 0 or die "cannot start @cmd: $?\n";
}

sub sentinel_start {
    my %opt = @_;

    my $p = $ENV{TEST_NGINX_REDIS_PORT} ||= $opt{port} || 6410;
    my @sentinels = map { $p + 20000 + $_ } 0 .. 2;

    $ENV{TEST_NGINX_REPLICA_PORT} = $p + 1;
    $ENV{TEST_NGINX_FAKE_REDIS_PORT} ||= $p + 2;
    $ENV{TEST_NGINX_FAKE_SENTINEL_PORT} ||= $p + 20003;
    $ENV{TEST_NGINX_FAKE_SENTINEL_PORT2} ||= $p + 20004;
    $ENV{TEST_NGINX_SENTINEL_PORT1} = $sentinels[0];
    $ENV{TEST_NGINX_SENTINEL_PORT2} = $sentinels[1];
    $ENV{TEST_NGINX_SENTINEL_PORT3} = $sentinels[2];
    $ENV{TEST_NGINX_SENTINEL_PORTS} = "@sentinels";
    $ENV{TEST_NGINX_SENTINEL_NAME} = $NAME;

    $dir = File::Temp->newdir('ws-perf-sentinel-XXXXXX', TMPDIR => 1);
    $ENV{TEST_NGINX_SENTINEL_DIR} = "$dir";

    # servers left over from an interrupted run would answer for ours
    for my $port ($p, $p + 1, @sentinels) {
        sentinel_command($port, 'SHUTDOWN', 'NOSAVE')
            if defined sentinel_command($port, 'PING');
    }

    for my $port ($p, $p + 1) {
        mkdir "$dir/data-$port" or die "$dir/data-$port: $!\n";
        write_file("$dir/redis-$port.conf", <<"END"
port $port
bind 127.0.0.1
daemonize yes
save ""
appendonly yes
appendfsync always
enable-debug-command local
dir $dir/data-$port
logfile $dir/redis-$port.log
pidfile $dir/redis-$port.pid
END
            . ($port == $p ? '' : "replicaof 127.0.0.1 $p\n"));
        start_server("$dir/redis-$port.conf", 0);
    }

    wait_until('the replica in sync', 30, sub {
        my $info = sentinel_command($p + 1, 'INFO', 'replication');
        return defined $info && !ref $info
               && $info =~ /master_link_status:up/;
    });

    for my $port (@sentinels) {
        write_file("$dir/sentinel-$port.conf", <<"END");
port $port
bind 127.0.0.1
daemonize yes
dir $dir
logfile $dir/sentinel-$port.log
pidfile $dir/sentinel-$port.pid
sentinel monitor $NAME 127.0.0.1 $p 2
sentinel down-after-milliseconds $NAME 1000
sentinel failover-timeout $NAME 3000
sentinel parallel-syncs $NAME 1
END
        start_server("$dir/sentinel-$port.conf", 1);
    }

    wait_until('every sentinel knowing the replica and the others', 30, sub {
        for my $port (@sentinels) {
            my $m = sentinel_command($port, 'SENTINEL', 'MASTER', $NAME);
            return 0 unless ref $m eq 'ARRAY';
            my %f = @$m;
            return 0 unless ($f{'num-slaves'} || 0) == 1
                            && ($f{'num-other-sentinels'} || 0) == 2
                            && ($f{flags} || '') eq 'master';
        }
        return 1;
    });
}

# the servers whose pid files are in the directory: SIGTERM, SIGKILL
sub stop_all {
    return unless defined $dir && -d "$dir";
    my @pids;
    for my $pidfile (glob("$dir/*.pid")) {
        open my $f, '<', $pidfile or next;
        my $pid = <$f>;
        close $f;
        next unless defined $pid && $pid =~ /\A(\d+)\s*\z/;
        $pid = $1;
        # only a redis process: the pid may be another's by now
        open my $c, '<', "/proc/$pid/cmdline" or next;
        my $cmdline = <$c>;
        close $c;
        next unless defined $cmdline && $cmdline =~ /redis/;
        push @pids, $pid;
    }
    kill 'TERM', @pids;
    my $deadline = Time::HiRes::time() + 5;
    while (Time::HiRes::time() < $deadline && grep { kill 0, $_ } @pids) {
        Time::HiRes::sleep(0.05);
    }
    kill 'KILL', grep { kill 0, $_ } @pids;
}

END {
    local $?;
    stop_all() if $$ == $owner;
}

1;
