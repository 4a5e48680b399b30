# conf/demo.conf as shipped, run the way `make run` runs it (util/run.sh's
# prefix: conf/, html/, logs/, modules/ with the module), with only its two
# ports changed to the test's: the page and the dashboard are served, echo
# echoes, a message published over HTTP reaches a JSON and a raw subscriber
# through Redis across the two workers, /status answers in its three
# formats and /health says 200; nginx -t is clean and the error log has no
# alert.  Then headless Chromium drives the page (t/interop/chromium_demo.js)
# through the SDK it imports: subscribe, messages, manual and automatic
# acks, a disconnect and the resume with its gap, a scheduled message, a
# dead letter replayed and deleted; then the same over https and wss.
use strict;
use warnings;
use lib 't/lib';

use File::Temp ();
use JSON::PP ();
use Test::More;
use WsPerf::Client;
use WsPerf::Redis;
use WsPerf::System;
use WsPerf::TLS;

my $port = $ENV{TEST_NGINX_PORT} || 1984;
my $so = $ENV{TEST_NGINX_LOAD_MODULES} or plan skip_all => 'no module given';

redis_start();
my $redis = $ENV{TEST_NGINX_REDIS_PORT};

my $tmp = File::Temp->newdir('ws-perf-demo-XXXXXX', TMPDIR => 1);
my $prefix = "$tmp";
chmod 0755, $prefix;    # workers run as nobody, as with make run
mkdir "$prefix/$_" for qw(conf logs modules);
system('cp', '-r', 'conf/html', "$prefix/html") == 0 or die "cp: $?\n";
system('cp', 'clients/js/ws-perf.js', "$prefix/html/ws-perf.js") == 0
    or die "cp: $?\n";
symlink $so, "$prefix/modules/ngx_ws_perf_module.so" or die "symlink: $!\n";

my $shipped = slurp('conf/demo.conf');
(my $conf = $shipped) =~ s/\blisten(\s+)127\.0\.0\.1:8080;/listen${1}127.0.0.1:$port;/;
$conf =~ s{redis://127\.0\.0\.1:6380;}{redis://127.0.0.1:$redis;};
spew("$prefix/conf/demo.conf", $conf);

my @a = split /\n/, $shipped;
my @b = split /\n/, $conf;
my @changed = map { "$a[$_] => $b[$_]" } grep { $a[$_] ne $b[$_] } 0 .. $#a;
is(scalar @b, scalar @a, 'the test runs the shipped file, line for line');
is_deeply([map { s/\s+/ /gr } @changed],
          [" ws_perf_redis redis://127.0.0.1:6380; => ws_perf_redis"
           . " redis://127.0.0.1:$redis;",
           " listen 127.0.0.1:8080; => listen 127.0.0.1:$port;"],
          'only the listen port and the Redis port differ');

my %run = (prefix => $prefix, conf => 'conf/demo.conf',
           pid => "$prefix/logs/nginx.pid", port => $port,
           log => "$prefix/logs/error.log");


my @t = (nginx_bin(), '-p', "$prefix/", '-c', 'conf/demo.conf', '-t');
my $t = `@t 2>&1`;
is($?, 0, 'nginx -t accepts it');
unlike($t, qr/\[(warn|emerg|alert)\]/, 'nginx -t has nothing to say')
    or diag $t;

ok(port_free($port), "port $port is free") or BAIL_OUT("port $port is taken");
nginx_start(%run);

my $r = http_request($port, 'GET', '/');
is($r->{status}, 200, 'the page: 200');
like($r->{body}, qr{<title>ngx_ws_perf_module demo}, 'the page is the demo');

like($r->{body},
     qr{type="module">\s*import \{ WsPerfClient \} from './ws-perf\.js';},
     'the page imports the SDK');
unlike($r->{body}, qr{new WebSocket\([^)]*ws-perf},
       'and has no pub/sub code of its own');

$r = http_request($port, 'GET', '/ws-perf.js');
is($r->{status}, 200, 'the SDK: 200');
like($r->{head}, qr{^Content-Type: application/javascript}mi,
     'the SDK: a JavaScript type, as a module script needs');
is($r->{body}, slurp('clients/js/ws-perf.js'), 'the SDK: as in clients/js');

$r = http_request($port, 'GET', '/dashboard.html');
is($r->{status}, 200, 'the dashboard: 200');
like($r->{body}, qr{<title>ngx_ws_perf dashboard}, 'the dashboard page');

{
    local $ENV{TEST_NGINX_CLIENT_PORT} = $port;
    my $ws = eval { ws_open('/echo') };
    ok($ws, 'echo: 101') or diag $@;
    if ($ws) {
        $ws->send_text('hello demo');
        my $f = $ws->read_frame(5);
        is($f->{op} . ' ' . ($f->{payload} // ''), '1 hello demo',
           'echo: the message comes back');
        $ws->send_close(1000);
        $f = $ws->read_frame(5);
        is($f->{op}, 8, 'echo: the close handshake');
    }
}

is(pubsub_round_trip($port, '/ws?channels=news&user=alice', '/pub/news',
                     'hello news'),
   'hello news', 'pub/sub: a JSON subscriber of news gets the message');

is(pubsub_round_trip($port, '/sub/chat.lobby', '/pub/chat.lobby',
                     'hello lobby'),
   'hello lobby', 'pub/sub: a raw subscriber gets the payload');

$r = http_request($port, 'GET', '/status');
is($r->{status}, 200, 'status: 200');
like($r->{body}, qr/^Active connections: \d+/m, 'status: text');

$r = http_request($port, 'GET', '/status?format=json');
my $json = eval { JSON::PP::decode_json($r->{body}) };
is(ref $json, 'HASH', 'status: JSON') or diag $r->{body};

$r = http_request($port, 'GET', '/status?format=prometheus');
like($r->{body}, qr/^ws_perf_\w+/m, 'status: Prometheus');

$r = http_request($port, 'GET', '/health');
is($r->{status}, 200, 'health: 200') or diag $r->{body};

$r = http_request($port, 'GET', '/dlq');
is($r->{status}, 200, 'dead letters: 200');
like($r->{body}, qr/^\{"next":null,"counts":\{\},"entries":\[\]\}/,
     'dead letters: none yet') or diag $r->{body};

my $npm = 'build/npm/node_modules';
my @missing;
push @missing, "$npm/playwright-core"
    unless -f "$npm/playwright-core/package.json";
push @missing, '/usr/bin/chromium' unless -x '/usr/bin/chromium';

my $steps = <<'_EOO_';
state open
message on news: hello news
subscribed, message on chat.demo: true
manual: ack
after the click: acked
automatic: acked (automatic)
disconnected
published while away: 202
reconnected: while away arrives, then resumed user alice count 1
gap news, then resumed news count 20: true
shown after the reconnect: 21, 20 of news, from news normal away 6
scheduled message arrives after its delay: true
bob, who never acks: published 202
bob: sent again after the ack timeout, same id: true
dead letters: 1
  u:bob | max_attempts | 2 | never acked
replayed: {"replayed":1,"kept":0}
bob gets it again, same id: true
dead letters after the replay: 0
dead-lettered again (still no ack): 1
deleted: {"deleted":1}
dead letters after the delete: 0
errors in the page log: 0
_EOO_

# browse($url): Chromium takes the page through every step
sub browse {
    my ($url) = @_;
    # make test installs both (util/deps.sh): a missing one is a failure
    if (@missing) {
        fail("Chromium at $url: no @missing (make deps installs them)");
        return;
    }
    local $ENV{NODE_PATH} = $npm;
    my ($status, $out, $err) = run_program(150, 'node',
        't/interop/chromium_demo.js', $url);
    is($status, 0, "Chromium at $url: the page took every step")
        or diag "stderr:\n" . substr($err, -4000);
    is($out, $steps, "Chromium at $url: what the page showed")
        or diag "stderr:\n" . substr($err, -4000);
}

browse("http://127.0.0.1:$port/");

ok(nginx_stop(%run), 'nginx -s quit stops it');

# the same page over https and wss: the listener gets ssl and the test's
# self-signed certificate, nothing else changes
(my $tls = $conf) =~ s{\blisten(\s+)127\.0\.0\.1:$port;}
    {listen${1}127.0.0.1:$port ssl;
        ssl_certificate      ${\ tls_cert()};
        ssl_certificate_key  ${\ tls_key()};};
spew("$prefix/conf/demo-tls.conf", $tls);
nginx_start(%run, conf => 'conf/demo-tls.conf');
browse("https://127.0.0.1:$port/");
ok(nginx_stop(%run), 'nginx -s quit stops it (https)');

is_deeply([log_problems($run{log})], [],
          'no alert, crit or emerg in the error log');

done_testing();
