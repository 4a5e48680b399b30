# make doctor (util/doctor.sh) on a good setup and on bad ones: a module
# built with other configure flags, too few connections, a low descriptor
# limit, Redis down, Redis 6 (a fake server that says so), Redis without
# AOF or with appendfsync everysec, an evicting Redis.  One line per
# check, OK/WARN/FAIL, exit status 1 on a FAIL.
use strict;
use warnings;
use lib 't/lib';

use File::Temp ();
use IO::Socket::INET ();
use Test::More;
use WsPerf::Redis;
use WsPerf::System;

my $so = $ENV{TEST_NGINX_LOAD_MODULES} or plan skip_all => 'no module given';
plan skip_all => 'the doctor loads the module without the sanitizer runtime'
    if $ENV{WS_PERF_SANITIZE};

redis_start(appendonly => 1);
my $redis = $ENV{TEST_NGINX_REDIS_PORT};
my $down = $ENV{TEST_NGINX_REDIS_DOWN_PORT} || $redis + 1;
my $fake = $ENV{TEST_NGINX_REDIS_FAKE_PORT} || $redis + 2;
my $port = $ENV{TEST_NGINX_PORT} || 1984;

my $tmp = File::Temp->newdir('ws-perf-doctor-XXXXXX', TMPDIR => 1);

sub conf {
    my (%o) = @_;
    my $file = "$tmp/" . ($o{name} || 'nginx') . '.conf';
    spew($file, <<"_EOC_");
load_module $o{so};
worker_processes  2;
worker_rlimit_nofile  $o{nofile};
pid  $tmp/nginx.pid;
error_log  $tmp/error.log;

events {
    worker_connections  4096;
}

http {
    ws_perf_redis  redis://127.0.0.1:$o{redis};

    server {
        listen  127.0.0.1:$port backlog=1024;

        location = /ws {
            ws_perf;
            ws_perf_channels  \$arg_channels;
        }
    }
}
_EOC_
    return $file;
}

# doctor(conf => $file, expect => $n): {out, lines => {check => line}, rc}
sub doctor {
    my (%o) = @_;
    local $ENV{CONF} = $o{conf};
    local $ENV{EXPECT_CONNECTIONS} = $o{expect} || 1000;
    local $ENV{NGINX_BIN} = '/usr/sbin/nginx';
    my $out = `util/doctor.sh 2>&1`;
    my $rc = $? >> 8;
    my %lines = map { /^\S+\s+([\w-]+):/ ? ($1 => $_) : () }
                split /\n/, $out;
    return { out => $out, lines => \%lines, rc => $rc };
}

my %good = (so => $so, nofile => 10000, redis => $redis);

my $d = doctor(conf => conf(%good));
is($d->{rc}, 0, 'a good setup passes') or diag $d->{out};
for my $check (qw(config module connections nofile redis redis-version
                  persistence redis-memory))
{
    like($d->{lines}{$check} // '', qr/^OK /, "good: $check OK");
}
for my $check (qw(somaxconn ports)) {
    like($d->{lines}{$check} // '', qr/^(OK|WARN) /,
         "good: $check is checked (the machine decides)");
}
like($d->{lines}{module}, qr/matches \/usr\/sbin\/nginx: nginx\/[\d.]+, module signature \d/,
     'the module line says version and signature');

# the same module with one configure flag of its signature flipped
my $bin = slurp($so);
my $flipped = $bin =~ s/(\d+,\d+,\d+,[01]{20,}?)([01])(?=[01]*\0)/$1 . (1 - $2)/er;
isnt($flipped, $bin, 'a module with another signature');
spew("$tmp/other.so", $flipped);
$d = doctor(conf => conf(%good, so => "$tmp/other.so", name => 'other'));
is($d->{rc}, 1, 'another signature fails');
like($d->{lines}{module} // '',
     qr/^FAIL module: .* has module signature .* the configure flags differ/,
     'the module line names the signature and what to do');
like($d->{lines}{config} // '', qr/^FAIL config: .*not binary compatible/,
     'nginx -t says so too');
like($d->{lines}{redis} // '', qr/^OK /,
     'the other checks still run on the configuration as written');

$d = doctor(conf => conf(%good), expect => 100000);
like($d->{lines}{connections} // '',
     qr/^FAIL connections: 2 workers x 4096 worker_connections < 100000 .*set worker_connections 62500/,
     'too few connections: says the worker_connections needed');

$d = doctor(conf => conf(%good, nofile => 100, name => 'nofile'));
is($d->{rc}, 1, 'a low descriptor limit fails');
like($d->{lines}{nofile} // '',
     qr/^FAIL nofile: worker_rlimit_nofile is 100, .*set worker_rlimit_nofile \d+/,
     'the nofile line says what to set');

$d = doctor(conf => conf(%good, redis => $down, name => 'down'));
is($d->{rc}, 1, 'Redis down fails');
like($d->{lines}{redis} // '', qr/^FAIL redis: .*:$down does not answer PING/,
     'the redis line names the address');

redis_command('CONFIG', 'SET', 'appendfsync', 'everysec');
$d = doctor(conf => conf(%good));
like($d->{lines}{persistence} // '',
     qr/^WARN persistence: appendonly yes, appendfsync everysec/,
     'appendfsync everysec: a warning');

redis_command('CONFIG', 'SET', 'appendonly', 'no');
redis_command('CONFIG', 'SET', 'maxmemory-policy', 'allkeys-lru');
$d = doctor(conf => conf(%good));
is($d->{rc}, 1, 'no AOF fails');
like($d->{lines}{persistence} // '',
     qr/^FAIL persistence: appendonly no: .*at-least-once/,
     'no AOF: against the at-least-once promise');
like($d->{lines}{'redis-memory'} // '', qr/^WARN redis-memory: .*noeviction/,
     'an evicting Redis: a warning');
redis_command('CONFIG', 'SET', 'maxmemory-policy', 'noeviction');

# a server that answers like Redis 6.2
my $listener = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                     LocalPort => $fake, Listen => 8,
                                     ReuseAddr => 1)
    or die "cannot listen on $fake: $!\n";
my $child = fork // die "fork: $!\n";
if (!$child) {
    fake_redis($listener);
    POSIX::_exit(0);
}
close $listener;

$d = doctor(conf => conf(%good, redis => $fake, name => 'fake'));
kill 'KILL', $child;
waitpid $child, 0;
like($d->{lines}{'redis-version'} // '',
     qr/^FAIL redis-version: Redis 6\.2\.14: .*7\.0 or later/,
     'Redis 6 fails: functions need 7.0') or diag $d->{out};

done_testing();


sub bulk { my $s = shift; '$' . length($s) . "\r\n$s\r\n" }

sub fake_redis {
    my ($l) = @_;
    my %config = (appendonly => 'yes', appendfsync => 'always',
                  'maxmemory-policy' => 'noeviction');
    while (my $c = $l->accept) {
        while (1) {
            my $line = <$c>;
            last unless defined $line && $line =~ /^\*(\d+)/;
            my @args;
            for (1 .. $1) {
                <$c>;
                my $arg = <$c>;
                $arg =~ s/\r\n\z//;
                push @args, $arg;
            }
            my $cmd = uc $args[0];
            if ($cmd eq 'PING') {
                print $c "+PONG\r\n";
            } elsif ($cmd eq 'INFO') {
                print $c bulk("# Server\r\nredis_version:6.2.14\r\n");
            } elsif ($cmd eq 'CONFIG' && defined $config{$args[2] // ''}) {
                print $c "*2\r\n" . bulk($args[2]) . bulk($config{$args[2]});
            } else {
                print $c "-ERR unknown command\r\n";
            }
            $c->flush;
        }
        close $c;
    }
}
