# The Debian package (make deb) in the system nginx, the one test that
# changes the system: `make test-deb` runs it with WS_PERF_DEB naming the
# .deb.  It installs the package the README's way (apt-get install
# ./file.deb), checks its layout and dependencies, runs `nginx -t` on the
# system's configuration with the module enabled, a pub/sub round trip on a
# test-port configuration that loads the system's modules-enabled, then
# removes the package (the modules-enabled link is set aside as Debian's
# modules do) and purges it.  Whatever happens, it ends with the package
# purged, /etc/nginx/modules-enabled as it found it, the system nginx
# stopped if it was not running, and a policy-rc.d of its own (which keeps
# the package's nginx-reload trigger from touching the system nginx)
# removed.
use strict;
use warnings;
use lib 't/lib';

use File::Temp ();
use Test::More;
use WsPerf::Redis;
use WsPerf::System;

our $pkg = 'libnginx-mod-ws-perf';
our $so = '/usr/lib/nginx/modules/ngx_ws_perf_module.so';
our $avail = '/usr/share/nginx/modules-available/mod-ws-perf.conf';
our $link = '/etc/nginx/modules-enabled/50-mod-ws-perf.conf';
our $policy = '/usr/sbin/policy-rc.d';
our @apt = ('apt-get', '-y', '-q', '-o', 'DPkg::Lock::Timeout=300');

# set once the test starts changing the system: what END puts back
our ($armed, $nginx_before, $own_policy);

my $deb = $ENV{WS_PERF_DEB};
plan skip_all => 'changes the system: run by make test-deb (WS_PERF_DEB)'
    unless $deb;
plan skip_all => 'needs root' if $> != 0;
plan skip_all => "$deb does not exist" unless -f $deb;

sub status { `dpkg-query -W -f='\${Status}' $pkg 2>/dev/null` }
sub enabled { join "\n", map { "$_ -> " . (readlink($_) // 'file') }
                          glob '/etc/nginx/modules-enabled/*' }
sub system_nginx {
    my $pid = -s '/run/nginx.pid' ? slurp('/run/nginx.pid') : '';
    return $pid =~ /^(\d+)/ && kill(0, $1) ? $1 : 0;
}

plan skip_all => "$pkg is installed already: not touching it"
    if status() =~ /installed|config-files/;
plan skip_all => "$so exists (make install?): not touching it" if -e $so;

my $enabled_before = enabled();
$nginx_before = system_nginx();
$own_policy = 0;
$armed = 1;

unless (-e $policy) {
    spew($policy, "#!/bin/sh\nexit 101\n");
    chmod 0755, $policy;
    $own_policy = 1;
}

END {
    local $?;
    return unless $armed;
    system(@apt, 'purge', $pkg) if status() =~ /installed|config-files/;
    unlink $policy if $own_policy;
    my $now = system_nginx();
    kill 'QUIT', $now if $now && !$nginx_before;
}

my $fields = `dpkg-deb -f $deb Package Depends`;
like($fields, qr/^Package: $pkg$/m, "the package is $pkg");
like($fields, qr/^Depends: .*\bnginx-abi-[\d.]+-\d+\b/m,
     'it depends on the nginx ABI (dh_nginx)');
like($fields, qr/^Depends: .*\blibjansson4\b.*/m, 'and on libjansson4');
like($fields, qr/^Depends: .*\bliblz4-1\b.*/m, 'and on liblz4-1');

my $out = `@apt install --no-install-recommends $deb 2>&1`;
is($?, 0, 'apt-get install ./the.deb') or diag $out;
like(status(), qr/install ok installed/, 'it is installed');
ok(-f $so, "the module is in /usr/lib/nginx/modules");
is(slurp($avail), "load_module modules/ngx_ws_perf_module.so;\n",
   'its load file is in modules-available');
is(readlink($link), $avail, 'and enabled in modules-enabled');

$out = `/usr/sbin/nginx -t 2>&1`;
is($?, 0, 'nginx -t on the system configuration') or diag $out;
like($out, qr/syntax is ok/, 'nginx -t: syntax is ok');
is(system_nginx(), $nginx_before, 'the system nginx is as it was');

redis_start();
my $redis = $ENV{TEST_NGINX_REDIS_PORT};
my $port = $ENV{TEST_NGINX_PORT} || 1984;
my $tmp = File::Temp->newdir('ws-perf-deb-XXXXXX', TMPDIR => 1);
spew("$tmp/nginx.conf", <<"_EOC_");
include  /etc/nginx/modules-enabled/*.conf;
worker_processes  2;
pid  $tmp/nginx.pid;
error_log  $tmp/error.log;

events {
}

http {
    ws_perf_redis  redis://127.0.0.1:$redis;

    server {
        listen  127.0.0.1:$port;

        location ~ ^/sub/(?<ch>[A-Za-z0-9_.-]+)\$ {
            ws_perf;
            ws_perf_channels  \$ch;
        }

        location ~ ^/pub/(?<ch>[A-Za-z0-9_.-]+)\$ {
            ws_perf_publish;
            ws_perf_channels  \$ch;
        }
    }
}
_EOC_

my %run = (prefix => '/usr/share/nginx', conf => "$tmp/nginx.conf",
           pid => "$tmp/nginx.pid", port => $port, log => "$tmp/error.log");
ok(port_free($port), "port $port is free") or BAIL_OUT("port $port is taken");
nginx_start(%run);
is(pubsub_round_trip($port, '/sub/news', '/pub/news', 'hello package'),
   'hello package', 'pub/sub with the packaged module');
ok(nginx_stop(%run), 'nginx -s quit stops it');
is_deeply([log_problems($run{log})], [], 'no alert, crit or emerg');

$out = `@apt remove $pkg 2>&1`;
is($?, 0, 'apt-get remove') or diag $out;
ok(!-e $so, 'the module is gone');
ok(!-e $link && -l "$link.removed",
   'the link is set aside as 50-mod-ws-perf.conf.removed, as Debian does');

$out = `@apt purge $pkg 2>&1`;
is($?, 0, 'apt-get purge') or diag $out;
is(status(), '', 'nothing of the package is left');
is(enabled(), $enabled_before, 'modules-enabled is as it was');
is(system_nginx(), $nginx_before, 'the system nginx is as it was');

done_testing();
