package WsPerf::Redis;

# A redis-server of the test file's own, on loopback, without persistence:
#
#     use WsPerf::Redis;
#     redis_start();      # before run_tests()
#
# It listens on $ENV{TEST_NGINX_REDIS_PORT} (set here when not given; the
# configs use it as $TEST_NGINX_REDIS_PORT) and is shut down when the test
# file ends, whoever started the server listening there by then (the
# scenarios of t/pubsub/redis.py stop and restart it with the same
# arguments, TEST_NGINX_REDIS_DIR telling them where its files go).

use strict;
use warnings;

use File::Temp ();
use IO::Socket::INET;
use POSIX ();
use Time::HiRes ();

our @EXPORT = qw(redis_start redis_command stall_fifo);

sub import {
    my @targets = (scalar caller, 'Test::Base::Filter');
    no strict 'refs';
    for my $pkg (@targets) {
        for my $name (@EXPORT) {
            *{"${pkg}::$name"} = \&{"WsPerf::Redis::$name"};
        }
    }
}

my $dir;
my $started;

sub port { $ENV{TEST_NGINX_REDIS_PORT} }

# whether redis_start() has started the file's server
sub running { $started ? 1 : 0 }

# one command in RESP; the reply's first line, undef when nothing answers
sub redis_command {
    my @args = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => port(),
                                  Proto => 'tcp', Timeout => 2)
        or return undef;
    my $req = '*' . @args . "\r\n";
    $req .= '$' . length($_) . "\r\n$_\r\n" for @args;
    print $s $req;
    my $line = <$s>;
    close $s;
    $line =~ s/\r\n\z// if defined $line;
    return $line;
}

sub redis_start {
    my %opt = @_;

    $ENV{TEST_NGINX_REDIS_PORT} ||= $opt{port} || 6399;
    # appendonly => 1: every write in the AOF before it is answered
    $ENV{TEST_NGINX_REDIS_AOF} = $opt{appendonly} ? 1 : 0;
    $dir = File::Temp->newdir('ws-perf-redis-XXXXXX', TMPDIR => 1);
    $ENV{TEST_NGINX_REDIS_DIR} = "$dir";

    # a server left over from an interrupted run would answer for us
    redis_command('SHUTDOWN', 'NOSAVE') if defined redis_command('PING');

    system('redis-server', '--port', port(), '--bind', '127.0.0.1',
           '--save', '', '--daemonize', 'yes',
           $opt{appendonly} ? ('--appendonly', 'yes', '--appendfsync', 'always')
                            : ('--appendonly', 'no'),
           '--enable-debug-command', 'local',
           '--dir', "$dir", '--logfile', "$dir/redis.log",
           '--pidfile', "$dir/redis.pid") == 0
        or die "cannot start redis-server: $?\n";

    for (1 .. 100) {
        my $r = redis_command('PING');
        if (defined $r && $r eq '+PONG') {
            $started = 1;
            return;
        }
        Time::HiRes::sleep(0.05);
    }

    die "redis-server on port " . port() . " did not answer in 5 s\n";
}

END {
    local $?;
    redis_command('SHUTDOWN', 'NOSAVE') if $started;
}


# A pipe for the access log of a location that stalls a worker: a scenario
# fills it to the last byte, so that the worker blocks in its loop on the
# next line it logs, and drains it (worker_behind in t/pubsub/redis.py).
# A reader of the file's own holds it open, so nginx opens it for writing
# at once.  Its path is also $TEST_NGINX_STALL_FIFO.
my ($stall_dir, $stall_hold);

sub stall_fifo {
    return $ENV{TEST_NGINX_STALL_FIFO} if $stall_hold;
    $stall_dir = File::Temp->newdir('ws-perf-stall-XXXXXX', TMPDIR => 1);
    my $fifo = "$stall_dir/access.fifo";
    POSIX::mkfifo($fifo, 0666) or die "mkfifo $fifo: $!\n";
    chmod 0755, "$stall_dir";
    sysopen($stall_hold, $fifo, POSIX::O_RDWR() | POSIX::O_NONBLOCK())
        or die "open $fifo: $!\n";
    return $ENV{TEST_NGINX_STALL_FIFO} = $fifo;
}

1;
