# Debian's stock nginx.conf (worker_processes auto, the modules-enabled and
# conf.d includes) with the module enabled the way the README says: `make
# install`'s util/install.sh lays it out, and the README's conf.d server
# is added.  The system is left alone: everything happens in a copy of
# /etc/nginx under a temporary root laid out like Debian's (DESTDIR for
# util/install.sh, usr/share/nginx the prefix, its modules/ holding the
# system's modules and ours), and in the copy only these paths and ports
# change: /etc/nginx, /run/nginx.pid and /var/log/nginx point into the
# root, the default site listens on a test port instead of 80, the
# README's server on the test port instead of 8080 and its ws_perf_redis on
# the test's Redis.
use strict;
use warnings;
use lib 't/lib';

use File::Temp ();
use Test::More;
use WsPerf::Redis;
use WsPerf::System;

plan skip_all => 'no Debian nginx.conf in /etc/nginx'
    unless -f '/etc/nginx/nginx.conf' && -d '/etc/nginx/modules-enabled';
my $so = $ENV{TEST_NGINX_LOAD_MODULES} or plan skip_all => 'no module given';

my $port = $ENV{TEST_NGINX_PORT} || 1984;
my $site_port = $ENV{TEST_NGINX_PORT2} || $port + 1;

redis_start();
my $redis = $ENV{TEST_NGINX_REDIS_PORT};

my $tmp = File::Temp->newdir('ws-perf-stock-XXXXXX', TMPDIR => 1);
my $root = "$tmp";
chmod 0755, $root;
my $prefix = "$root/usr/share/nginx";
my $etc = "$root/etc/nginx";

sub sh { system(@_) == 0 or die "@_: $?\n" }

sh('mkdir', '-p', "$root/etc", "$root/usr/lib/nginx/modules", $prefix,
   "$root/run", "$root/var/log/nginx");
sh('cp', '-rL', '/etc/nginx', $etc);
symlink '../../lib/nginx/modules', "$prefix/modules" or die "symlink: $!\n";
for my $m (glob '/usr/lib/nginx/modules/*.so') {
    next if $m =~ m{/ngx_ws_perf_module\.so$};
    symlink $m, "$root/usr/lib/nginx/modules/" . (split m{/}, $m)[-1];
}

my $out = `DESTDIR=$root util/install.sh $so 2>&1`;
is($?, 0, 'util/install.sh (make install) into the root') or diag $out;
ok(-f "$root/usr/lib/nginx/modules/ngx_ws_perf_module.so"
   && -f "$root/usr/share/nginx/modules-available/mod-ws-perf.conf",
   'the module and its load file are where Debian puts them');
is(readlink "$etc/modules-enabled/50-mod-ws-perf.conf",
   '/usr/share/nginx/modules-available/mod-ws-perf.conf',
   'modules-enabled links to it as for Debian\'s modules');

# the link names a system path: the copy gets what it points to in the root
for my $link (glob "$etc/modules-enabled/*") {
    next unless -l $link;
    my $target = readlink $link;
    unlink $link;
    sh('cp', "$root$target", $link);
}

my $main = slurp("$etc/nginx.conf");
my %n;
$n{etc} = $main =~ s{/etc/nginx/}{$etc/}g;
$n{pid} = $main =~ s{\bpid /run/nginx\.pid;}{pid $root/run/nginx.pid;};
$n{log} = $main =~ s{/var/log/nginx/}{$root/var/log/nginx/}g;
like($main, qr/^worker_processes auto;$/m, 'the stock nginx.conf');
ok($n{etc} >= 3 && $n{pid} == 1 && $n{log} >= 1,
   'its paths point into the root');
spew("$etc/nginx.conf", $main);

if (-f "$etc/sites-enabled/default") {
    my $site = slurp("$etc/sites-enabled/default");
    $site =~ s/^(\s*)listen 80 default_server;/${1}listen 127.0.0.1:$site_port default_server;/m;
    $site =~ s/^\s*listen \[::\]:80 default_server;\n//m;
    spew("$etc/sites-enabled/default", $site);
}

my ($snippet) = slurp('README.md')
    =~ m{`/etc/nginx/conf\.d/ws-perf\.conf`.*?```nginx\n(.*?)```}s;
ok($snippet, 'the README\'s conf.d server');
$snippet //= '';
my $listen = $snippet =~ s/^(\s*)listen  8080;/${1}listen  127.0.0.1:$port;/m;
my $url = $snippet =~ s{redis://127\.0\.0\.1:6379;}{redis://127.0.0.1:$redis;};
ok($listen && $url, 'with the test\'s ports');
spew("$etc/conf.d/ws-perf.conf", $snippet);

my @nginx = (nginx_bin(), '-p', "$prefix/", '-c', "$etc/nginx.conf");
$out = `@nginx -t 2>&1`;
is($?, 0, 'nginx -t accepts it') or diag $out;
unlike($out, qr/\[(warn|emerg|alert)\]/, 'nginx -t has nothing to say')
    or diag $out;

my %run = (prefix => $prefix, conf => "$etc/nginx.conf",
           pid => "$root/run/nginx.pid", port => $port,
           log => "$root/var/log/nginx/error.log");

ok(port_free($port) && port_free($site_port),
   "ports $port and $site_port are free")
    or BAIL_OUT('test ports taken');
nginx_start(%run);

my $master = slurp($run{pid}) =~ s/\s+//gr;
my @workers = grep { /nginx: worker process/ }
              map { eval { slurp("/proc/$_/cmdline") } // '' }
              split ' ', `pgrep -P $master`;
is(scalar @workers, `getconf _NPROCESSORS_ONLN` + 0,
   'worker_processes auto: one worker a CPU');

my $r = http_request($site_port, 'GET', '/');
is($r->{status}, 200, 'the default site still answers');

is(pubsub_round_trip($port, '/sub/news', '/pub/news', 'hello stock'),
   'hello stock', 'pub/sub through the README\'s server');

ok(nginx_stop(%run), 'nginx -s quit stops it');
is_deeply([log_problems($run{log})], [],
          'no alert, crit or emerg in the error log');

done_testing();
