# Directives (docs/websocket.md, README): each one's default, each one
# taking effect (also inherited from the http and server levels), bad
# values and wrong contexts stopping nginx with "[emerg] ... in
# .../nginx.conf:LINE".
#
# "--- emerg_at: TEXT" names the configuration text nginx must blame: the
# check finds the (last) line of nginx.conf holding TEXT and expects the
# last [emerg] line in error.log to end "in .../nginx.conf:THAT-LINE".
# "--- ws_check: NAME" runs the sub NAME below with a live client once
# nginx answered the block's trivial request.
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use WsPerf::Test;
use WsPerf::Client;

use Errno qw(EAGAIN EWOULDBLOCK EINTR);
use IO::Select;
use Protocol::WebSocket::Frame;

our $LIVE_CONFIG = <<'_EOC_';
    location = /t {
        return 200 "ok\n";
    }
_EOC_

add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value('timeout', 10) unless defined $block->timeout;

    # without a config section the runners would keep the last server
    $block->set_value('config', $LIVE_CONFIG) unless defined $block->config;

    if (defined $block->must_die) {
        $block->set_value('request', "GET /t\n") unless defined $block->request;
        $block->set_value('suppress_stderr', 1);
        # naming [emerg] among the patterns also tells the runners that
        # the [emerg] line is expected (no warning about it)
        my $want = $block->error_log;
        $want = '' unless defined $want;
        $block->set_value('error_log', $want =~ /\[emerg\]/ ? $want
                                        : "$want\n[emerg]\n");
        $block->set_value('no_error_log', "[alert]\n[crit]")
            unless defined $block->no_error_log;
    }

    if (defined $block->ws_check) {
        $block->set_value('request', "GET /t\n") unless defined $block->request;
        $block->set_value('response_body', "ok\n")
            unless defined $block->response_body;
        $block->set_value('no_error_log', "[error]\n[alert]\n[crit]")
            unless defined $block->no_error_log;
    }
});

add_test_cleanup_handler(sub {
    my $block = shift;
    my $at = $block->emerg_at;
    return unless defined $at;
    $at =~ s/^\s+|\s+$//g;
    my $name = $block->name;

    my $conf = server_root() . '/conf/nginx.conf';
    my $line;
    if (open my $in, '<', $conf) {
        while (my $l = <$in>) {
            $line = $. if index($l, $at) >= 0;
        }
        close $in;
    }
    if (!defined $line) {
        Test::More::fail("$name - \"$at\" not found in $conf");
        return;
    }

    # nginx stops at the first error: the last [emerg] line is this block's
    my $log = server_root() . '/logs/error.log';
    my $emerg;
    if (open my $in, '<', $log) {
        while (my $l = <$in>) {
            $emerg = $l if $l =~ /\[emerg\]/;
        }
        close $in;
    }
    Test::More::like($emerg || '', qr/\[emerg\] .* in \Q$conf\E:$line$/,
                     "$name - [emerg] ... in nginx.conf:$line (\"$at\")");
});

ws_client_init();
no_shuffle();
run_tests();


# ------------------------------------------------------------ live checks

# the client sends a close, reads nginx's answer and EOF, and then never
# closes its socket: nginx keeps reading (and discarding) what the client
# still sends for close_timeout after its close frame, then closes
sub closes_after {
    my ($block, $path, $min, $max) = @_;
    my $name = $block->name;
    my $ws = ws_open($path);
    $ws->send_close(1000);
    my $f = $ws->read_frame(5);
    Test::More::is($f->{op}, 8, "$name - close frame answered");
    Test::More::is(close_payload($f->{payload}), 1000, "$name - code 1000");
    my $eof = $ws->read_frame(5);
    Test::More::ok($eof->{eof}, "$name - server half-closes after its close");
    my $t = $ws->wait_server_close($max + 3);
    Test::More::ok(defined $t && $t >= $min && $t <= $max,
                   "$name - socket closed after " . (defined $t
                       ? sprintf('%.2fs', $t) : 'never')
                   . " (want ${min}s..${max}s)");
}

sub close_timeout_default { closes_after($_[0], '/echo', 4.5, 7.5) }
sub close_timeout_1s      { closes_after($_[0], '/ct', 0.8, 2.5) }

# Writes 64 KiB binary messages without reading until $total bytes are
# written or no write was possible for 1.5s; then finishes the message in
# progress while reading, reads back every echo and closes.  Returns the
# bytes written before the stall.
sub flood {
    my ($block, $path, $total) = @_;
    my $name = $block->name;
    my $payload = pattern(65536, 7);
    my $frame = Protocol::WebSocket::Frame->new(
        buffer => $payload, type => 'binary', masked => 1,
        max_payload_size => 0)->to_bytes;
    my $flen = length $frame;

    my $ws = ws_open($path, bufsize => 65536);
    my $sock = $ws->sock;
    my $sel = IO::Select->new($sock);
    my ($written, $off) = (0, 0);

    while ($written < $total) {
        last unless $sel->can_write(1.5);
        my $len = $flen - $off;
        $len = $total - $written if $len > $total - $written;
        my $n = syswrite($sock, $frame, $len, $off);
        if (!defined $n) {
            next if $! == EAGAIN || $! == EWOULDBLOCK || $! == EINTR;
            die "write failed after $written bytes: $!\n";
        }
        $written += $n;
        $off = ($off + $n) % $flen;
    }
    my $stalled_at = $written;
    my $frames = int($written / $flen) + ($off ? 1 : 0);

    # finish the frame in progress while reading the echoes
    my $echoes = 0;
    my $bad = 0;
    my $deadline = now() + 60;
    while ($echoes < $frames && now() < $deadline) {
        if ($off) {
            my (undef, $w) = IO::Select->select(undef, $sel, undef, 0);
            if ($w && @$w) {
                my $n = syswrite($sock, $frame, $flen - $off, $off);
                $off = ($off + $n) % $flen if $n;
            }
        }
        my $f = $ws->read_frame(0.05);
        next if $f->{timeout};
        die "connection ended after $echoes of $frames echoes\n"
            if $f->{eof} || $f->{error};
        $bad++ unless $f->{op} == 2 && $f->{payload} eq $payload;
        $echoes++;
    }
    Test::More::is($echoes, $frames, "$name - all $frames messages echoed");
    Test::More::is($bad, 0, "$name - echoes intact");

    $ws->send_close(1000);
    my $f = $ws->read_frame(5);
    Test::More::ok(($f->{op} || 0) == 8
                   && close_payload($f->{payload}) == 1000,
                   "$name - close 1000 after the flood");
    return $stalled_at;
}

sub queue_small_stalls {
    my $block = shift;
    my $w = flood($block, '/small', 24 << 20);
    Test::More::cmp_ok($w, '<', 24 << 20, $block->name
        . " - nginx stopped reading (stalled after $w bytes)");
}

sub queue_default_bounded {
    my $block = shift;
    my $w = flood($block, '/echo', 24 << 20);
    Test::More::cmp_ok($w, '<', 24 << 20, $block->name
        . " - nginx stopped reading (stalled after $w bytes)");
}

sub queue_big_takes_all {
    my $block = shift;
    my $w = flood($block, '/big', 24 << 20);
    Test::More::is($w, 24 << 20, $block->name
        . " - 24 MiB written without reading");
}

__DATA__

=== TEST 1: default ws_perf_max_message_size is 1m: a message of 1 MiB is echoed
--- config
    location /echo {
        ws_perf_echo;
    }
--- raw_request eval
handshake() . cbin(pattern(1048576)) . close_frame(1000)
--- timeout: 10
--- error_code: 101
--- response_body eval
sbin(pattern(1048576)) . sclose(1000)



=== TEST 2: default ws_perf_max_message_size is 1m: a header announcing 1 MiB + 1 byte closes 1009
--- config
    location /echo {
        ws_perf_echo;
    }
--- raw_request eval
handshake() . cframe(0x2, '', len => 1048577)
--- error_code: 101
--- response_body eval
sclose(1009)
--- error_log
1009



=== TEST 3: default ws_perf_max_message_size: a continuation taking the message to 1 MiB + 1 byte closes 1009
--- config
    location /echo {
        ws_perf_echo;
    }
--- raw_request eval
handshake() . cbin("x", fin => 0) . cframe(0x0, '', len => 1048576)
--- error_code: 101
--- response_body eval
sclose(1009)



=== TEST 4: default ws_perf_ping_interval (30s): no ping within a 1.5s session
--- config
    location /echo {
        ws_perf_echo;
        ws_perf_idle_timeout 1500ms;
    }
--- raw_request eval
handshake()
--- error_code: 101
--- response_body eval
sclose(1001)



=== TEST 5: default ws_perf_idle_timeout (90s): a silent client is kept for 2s
--- config
    location /echo {
        ws_perf_echo;
        ws_perf_ping_interval 500ms;
    }
--- raw_request eval
[handshake(), close_frame(1000)]
--- raw_request_middle_delay: 2
--- error_code: 101
--- response_body_filters eval
\&frame_summary
--- response_body_like chomp
\A(?:ping fin=1 rsv=0 len=0 ""\n){3,5}close fin=1 rsv=0 len=2 code=1000\n\z



=== TEST 6: default ws_perf_close_timeout (5s): nginx closes 5s after its close frame
--- config eval
$::LIVE_CONFIG . <<'_EOC_'
    location /echo {
        ws_perf_echo;
    }
_EOC_
--- ws_check: close_timeout_default
--- timeout: 15



=== TEST 7: default ws_perf_send_queue_size (1m) is a bound: a client that does not read stalls
--- config eval
$::LIVE_CONFIG . <<'_EOC_'
    location /echo {
        ws_perf_echo;
    }
_EOC_
--- ws_check: queue_default_bounded
--- timeout: 60



=== TEST 8: default ws_perf_allowed_origins: the Origin must name the Host, another site gets 403
--- config
    location /echo {
        ws_perf_echo;
    }
--- raw_request eval
handshake('/echo', Origin => 'https://anything.example:8443')
--- shutdown
--- error_code: 403
--- response_body_like: \Awebsocket: [^\n]+\n\z
--- error_log
websocket handshake rejected



=== TEST 9: default ws_perf_subprotocols: none, an offered one is not selected
--- config
    location /echo {
        ws_perf_echo;
    }
--- raw_request eval
handshake('/echo', 'Sec-WebSocket-Protocol' => 'chat') . close_frame(1000)
--- error_code: 101
--- response_headers
! Sec-WebSocket-Protocol
--- response_body eval
sclose(1000)



=== TEST 10: ws_perf_max_message_size 1k: a message of 1024 bytes is echoed
--- config
    location /echo {
        ws_perf_echo;
        ws_perf_max_message_size 1k;
    }
--- raw_request eval
handshake() . cbin(pattern(1024)) . close_frame(1000)
--- error_code: 101
--- response_body eval
sbin(pattern(1024)) . sclose(1000)



=== TEST 11: ws_perf_max_message_size 1k: a 2k frame closes 1009
--- config
    location /echo {
        ws_perf_echo;
        ws_perf_max_message_size 1k;
    }
--- raw_request eval
handshake() . ctext("before") . cbin(pattern(2048)) . ctext("after")
--- error_code: 101
--- response_body eval
stext("before") . sclose(1009)
--- error_log
1009



=== TEST 12: ws_perf_max_message_size 1k: three fragments of 400 bytes close 1009
--- config
    location /echo {
        ws_perf_echo;
        ws_perf_max_message_size 1k;
    }
--- raw_request eval
handshake() . cfrags(0x2, pattern(400), pattern(400), pattern(400))
--- error_code: 101
--- response_body eval
sclose(1009)



=== TEST 13: ws_perf_max_message_size at http level is inherited
--- http_config
    ws_perf_max_message_size 1k;
--- config
    location /echo {
        ws_perf_echo;
    }
--- raw_request eval
handshake() . cbin(pattern(2048))
--- error_code: 101
--- response_body eval
sclose(1009)



=== TEST 14: ws_perf_max_message_size at server level, raised in the location
--- config
    ws_perf_max_message_size 1k;
    location /echo {
        ws_perf_echo;
        ws_perf_max_message_size 4k;
    }
    location /small {
        ws_perf_echo;
    }
--- raw_request eval
handshake() . cbin(pattern(2048)) . close_frame(1000)
--- error_code: 101
--- response_body eval
sbin(pattern(2048)) . sclose(1000)



=== TEST 15: ws_perf_max_message_size at server level applies to a location without it
--- config
    ws_perf_max_message_size 1k;
    location /echo {
        ws_perf_echo;
        ws_perf_max_message_size 4k;
    }
    location /small {
        ws_perf_echo;
    }
--- raw_request eval
handshake('/small') . cbin(pattern(2048))
--- error_code: 101
--- response_body eval
sclose(1009)



=== TEST 16: ws_perf_ping_interval 200ms: pings during a 0.9s session
--- config
    location /echo {
        ws_perf_echo;
        ws_perf_ping_interval 200ms;
    }
--- raw_request eval
[handshake(), close_frame(1000)]
--- raw_request_middle_delay: 0.9
--- error_code: 101
--- response_body_filters eval
\&frame_summary
--- response_body_like chomp
\A(?:ping fin=1 rsv=0 len=0 ""\n){3,5}close fin=1 rsv=0 len=2 code=1000\n\z



=== TEST 17: ws_perf_ping_interval at http level is inherited; 0 in a location disables it
--- http_config
    ws_perf_ping_interval 200ms;
--- config
    location /echo {
        ws_perf_echo;
        ws_perf_ping_interval 0;
    }
--- raw_request eval
[handshake(), ctext("x") . close_frame(1000)]
--- raw_request_middle_delay: 0.9
--- error_code: 101
--- response_body eval
stext("x") . sclose(1000)



=== TEST 18: ws_perf_ping_interval at server level is inherited
--- config
    ws_perf_ping_interval 200ms;
    location /echo {
        ws_perf_echo;
    }
--- raw_request eval
[handshake(), close_frame(1000)]
--- raw_request_middle_delay: 0.9
--- error_code: 101
--- response_body_filters eval
\&frame_summary
--- response_body_like chomp
\A(?:ping fin=1 rsv=0 len=0 ""\n){3,5}close fin=1 rsv=0 len=2 code=1000\n\z



=== TEST 19: ws_perf_idle_timeout 1s: a silent client gets close 1001
--- config
    location /echo {
        ws_perf_echo;
        ws_perf_idle_timeout 1s;
    }
--- raw_request eval
handshake()
--- error_code: 101
--- response_body eval
sclose(1001)



=== TEST 20: ws_perf_idle_timeout at server level, 0 in the location disables it
--- config
    ws_perf_idle_timeout 500ms;
    location /echo {
        ws_perf_echo;
        ws_perf_idle_timeout 0;
    }
--- raw_request eval
[handshake(), ctext("still here") . close_frame(1000)]
--- raw_request_middle_delay: 1.5
--- error_code: 101
--- response_body eval
stext("still here") . sclose(1000)



=== TEST 21: ws_perf_idle_timeout at http level is inherited
--- http_config
    ws_perf_idle_timeout 500ms;
--- config
    location /echo {
        ws_perf_echo;
    }
--- raw_request eval
handshake()
--- error_code: 101
--- response_body eval
sclose(1001)



=== TEST 22: ws_perf_close_timeout 1s: nginx closes 1s after its close frame
--- config eval
$::LIVE_CONFIG . <<'_EOC_'
    location /ct {
        ws_perf_echo;
        ws_perf_close_timeout 1s;
    }
_EOC_
--- ws_check: close_timeout_1s



=== TEST 23: ws_perf_send_queue_size 4k: nginx stops reading a client that does not read
--- config eval
$::LIVE_CONFIG . <<'_EOC_'
    location /small {
        ws_perf_echo;
        ws_perf_send_queue_size 4k;
    }
_EOC_
--- ws_check: queue_small_stalls
--- timeout: 60



=== TEST 24: ws_perf_send_queue_size 64m: 24 MiB are read without the client reading
--- config eval
$::LIVE_CONFIG . <<'_EOC_'
    location /big {
        ws_perf_echo;
        ws_perf_send_queue_size 64m;
    }
_EOC_
--- ws_check: queue_big_takes_all
--- timeout: 60



=== TEST 25: ws_perf_allowed_origins at server level is inherited: 403
--- config
    ws_perf_allowed_origins https://example.com;
    location /echo {
        ws_perf_echo;
    }
--- raw_request eval
handshake('/echo', Origin => 'https://other.example')
--- shutdown
--- error_code: 403
--- response_body_like: \Awebsocket: [^\n]+\n\z
--- error_log
websocket handshake rejected



=== TEST 26: ws_perf_allowed_origins in a location replaces the server's list
--- config
    ws_perf_allowed_origins https://example.com;
    location /echo {
        ws_perf_echo;
        ws_perf_allowed_origins https://other.example;
    }
--- raw_request eval
handshake('/echo', Origin => 'https://other.example') . close_frame(1000)
--- error_code: 101
--- response_body eval
sclose(1000)



=== TEST 27: ws_perf_subprotocols at http level is inherited
--- http_config
    ws_perf_subprotocols mqtt chat;
--- config
    location /echo {
        ws_perf_echo;
    }
--- raw_request eval
handshake('/echo', 'Sec-WebSocket-Protocol' => 'chat, mqtt') . close_frame(1000)
--- error_code: 101
--- response_headers
Sec-WebSocket-Protocol: chat
--- response_body eval
sclose(1000)



=== TEST 28: ws_perf: the pub/sub endpoint accepts WebSocket, answers ping and close
--- config
    location /ps {
        ws_perf;
    }
--- raw_request eval
handshake('/ps') . cping("are you there") . close_frame(1000)
--- error_code: 101
--- response_body eval
spong("are you there") . sclose(1000)



=== TEST 29: ws_perf and ws_perf_echo in two locations of one server
--- config
    location /ps {
        ws_perf;
    }
    location /echo {
        ws_perf_echo;
    }
--- raw_request eval
handshake('/echo') . ctext("echo") . close_frame(1000)
--- error_code: 101
--- response_body eval
stext("echo") . sclose(1000)



=== TEST 30: ws_perf_max_message_size abc
--- config
    location /echo {
        ws_perf_echo;
        ws_perf_max_message_size abc;
    }
--- must_die
--- error_log
"ws_perf_max_message_size" directive invalid value
--- emerg_at: ws_perf_max_message_size abc;



=== TEST 31: ws_perf_max_message_size 0
--- config
    location /echo {
        ws_perf_echo;
        ws_perf_max_message_size 0;
    }
--- must_die
--- error_log
[emerg]
--- emerg_at: ws_perf_max_message_size 0;



=== TEST 32: ws_perf_max_message_size -1
--- config
    location /echo {
        ws_perf_echo;
        ws_perf_max_message_size -1;
    }
--- must_die
--- error_log
[emerg]
--- emerg_at: ws_perf_max_message_size -1;



=== TEST 33: ws_perf_max_message_size with two values
--- config
    location /echo {
        ws_perf_echo;
        ws_perf_max_message_size 1k 2k;
    }
--- must_die
--- error_log
invalid number of arguments in "ws_perf_max_message_size" directive
--- emerg_at: ws_perf_max_message_size 1k 2k;



=== TEST 34: ws_perf_send_queue_size abc
--- config
    location /echo {
        ws_perf_echo;
        ws_perf_send_queue_size abc;
    }
--- must_die
--- error_log
"ws_perf_send_queue_size" directive invalid value
--- emerg_at: ws_perf_send_queue_size abc;



=== TEST 35: ws_perf_send_queue_size 0
--- config
    location /echo {
        ws_perf_echo;
        ws_perf_send_queue_size 0;
    }
--- must_die
--- error_log
[emerg]
--- emerg_at: ws_perf_send_queue_size 0;



=== TEST 36: ws_perf_ping_interval -1
--- config
    location /echo {
        ws_perf_echo;
        ws_perf_ping_interval -1;
    }
--- must_die
--- error_log
"ws_perf_ping_interval" directive invalid value
--- emerg_at: ws_perf_ping_interval -1;



=== TEST 37: ws_perf_ping_interval abc
--- config
    location /echo {
        ws_perf_echo;
        ws_perf_ping_interval abc;
    }
--- must_die
--- error_log
"ws_perf_ping_interval" directive invalid value
--- emerg_at: ws_perf_ping_interval abc;



=== TEST 38: ws_perf_idle_timeout -1
--- config
    location /echo {
        ws_perf_echo;
        ws_perf_idle_timeout -1;
    }
--- must_die
--- error_log
"ws_perf_idle_timeout" directive invalid value
--- emerg_at: ws_perf_idle_timeout -1;



=== TEST 39: ws_perf_idle_timeout 10x
--- config
    location /echo {
        ws_perf_echo;
        ws_perf_idle_timeout 10x;
    }
--- must_die
--- error_log
"ws_perf_idle_timeout" directive invalid value
--- emerg_at: ws_perf_idle_timeout 10x;



=== TEST 40: ws_perf_close_timeout abc
--- config
    location /echo {
        ws_perf_echo;
        ws_perf_close_timeout abc;
    }
--- must_die
--- error_log
"ws_perf_close_timeout" directive invalid value
--- emerg_at: ws_perf_close_timeout abc;



=== TEST 41: ws_perf_allowed_origins with an empty origin
--- config
    location /echo {
        ws_perf_echo;
        ws_perf_allowed_origins "";
    }
--- must_die
--- error_log
[emerg]
--- emerg_at: ws_perf_allowed_origins "";



=== TEST 41a: ws_perf_allowed_origins "*" with another origin
--- config
    location /echo {
        ws_perf_echo;
        ws_perf_allowed_origins * https://example.com;
    }
--- must_die
--- error_log
"*" allows any origin and must be the only value
--- emerg_at: ws_perf_allowed_origins * https://example.com;



=== TEST 42: ws_perf_allowed_origins without origins
--- config
    location /echo {
        ws_perf_echo;
        ws_perf_allowed_origins;
    }
--- must_die
--- error_log
invalid number of arguments in "ws_perf_allowed_origins" directive
--- emerg_at: ws_perf_allowed_origins;



=== TEST 43: ws_perf_allowed_origins with a host but no scheme
--- config
    location /echo {
        ws_perf_echo;
        ws_perf_allowed_origins example.com;
    }
--- must_die
--- error_log
[emerg]
--- emerg_at: ws_perf_allowed_origins example.com;



=== TEST 44: ws_perf_allowed_origins twice in one location
--- config
    location /echo {
        ws_perf_echo;
        ws_perf_allowed_origins https://a.example;
        ws_perf_allowed_origins https://b.example;
    }
--- must_die
--- error_log
"ws_perf_allowed_origins" directive is duplicate
--- emerg_at: ws_perf_allowed_origins https://b.example;



=== TEST 45: ws_perf_subprotocols without names
--- config
    location /echo {
        ws_perf_echo;
        ws_perf_subprotocols;
    }
--- must_die
--- error_log
invalid number of arguments in "ws_perf_subprotocols" directive
--- emerg_at: ws_perf_subprotocols;



=== TEST 46: ws_perf_subprotocols with a name that is not a token ("a,b")
--- config
    location /echo {
        ws_perf_echo;
        ws_perf_subprotocols chat "a,b";
    }
--- must_die
--- error_log
[emerg]
--- emerg_at: ws_perf_subprotocols chat "a,b";



=== TEST 47: ws_perf_subprotocols with an empty name
--- config
    location /echo {
        ws_perf_echo;
        ws_perf_subprotocols "";
    }
--- must_die
--- error_log
[emerg]
--- emerg_at: ws_perf_subprotocols "";



=== TEST 48: ws_perf_echo takes no argument
--- config
    location /echo {
        ws_perf_echo on;
    }
--- must_die
--- error_log
invalid number of arguments in "ws_perf_echo" directive
--- emerg_at: ws_perf_echo on;



=== TEST 49: ws_perf takes no argument
--- config
    location /ps {
        ws_perf /ps;
    }
--- must_die
--- error_log
invalid number of arguments in "ws_perf" directive
--- emerg_at: ws_perf /ps;



=== TEST 50: ws_perf and ws_perf_echo in one location
--- config
    location /both {
        ws_perf_echo;
        ws_perf;
    }
--- must_die
--- error_log
[emerg]
--- emerg_at: ws_perf;



=== TEST 51: ws_perf_echo and ws_perf in one location (the other order)
--- config
    location /both {
        ws_perf;
        ws_perf_echo;
    }
--- must_die
--- error_log
[emerg]
--- emerg_at: ws_perf_echo;



=== TEST 52: ws_perf_echo twice in one location
--- config
    location /echo {
        ws_perf_echo;
        ws_perf_echo;
    }
--- must_die
--- error_log
[emerg]
--- emerg_at: ws_perf_echo;



=== TEST 53: ws_perf_echo at server level is not allowed
--- config
    ws_perf_echo;
    location /x {
        return 204;
    }
--- must_die
--- error_log
"ws_perf_echo" directive is not allowed here
--- emerg_at: ws_perf_echo;



=== TEST 54: ws_perf at http level is not allowed
--- http_config
    ws_perf;
--- must_die
--- error_log
"ws_perf" directive is not allowed here
--- emerg_at: ws_perf;



=== TEST 55: ws_perf_echo inside "if" in a location is not allowed
--- config
    location /echo {
        if ($arg_x) {
            ws_perf_echo;
        }
    }
--- must_die
--- error_log
"ws_perf_echo" directive is not allowed here
--- emerg_at: ws_perf_echo;



=== TEST 56: ws_perf_max_message_size outside http (main level)
--- main_config
ws_perf_max_message_size 1k;
--- config
    location /echo {
        ws_perf_echo;
    }
--- must_die
--- error_log
[emerg]
--- emerg_at: ws_perf_max_message_size 1k;



=== TEST 57: ws_perf_ping_interval inside "upstream" is not allowed
--- http_config
    upstream backend {
        server 127.0.0.1:1;
        ws_perf_ping_interval 1s;
    }
--- must_die
--- error_log
"ws_perf_ping_interval" directive is not allowed here
--- emerg_at: ws_perf_ping_interval 1s;



=== TEST 58: ws_perf_format takes json or raw only
--- config
    location /ws {
        ws_perf;
        ws_perf_format xml;
    }
--- must_die
--- error_log
invalid value "xml"
--- emerg_at: ws_perf_format xml;



=== TEST 59: ws_perf_max_channels_per_connection 0 is refused
--- config
    location /ws {
        ws_perf;
        ws_perf_max_channels_per_connection 0;
    }
--- must_die
--- error_log
"ws_perf_max_channels_per_connection" directive must be greater than zero
--- emerg_at: ws_perf_max_channels_per_connection 0;



=== TEST 60: ws_perf_max_connections_per_user abc is refused
--- config
    location /ws {
        ws_perf;
        ws_perf_max_connections_per_user abc;
    }
--- must_die
--- error_log
"ws_perf_max_connections_per_user" directive invalid number
--- emerg_at: ws_perf_max_connections_per_user abc;



=== TEST 61: ws_perf_client_rate -5 is refused
--- config
    location /ws {
        ws_perf;
        ws_perf_client_rate -5;
    }
--- must_die
--- error_log
"ws_perf_client_rate" directive invalid number
--- emerg_at: ws_perf_client_rate -5;



=== TEST 62: ws_perf_client_publish takes on or off only
--- config
    location /ws {
        ws_perf;
        ws_perf_client_publish yes;
    }
--- must_die
--- error_log
invalid value "yes" in "ws_perf_client_publish" directive, it must be "on" or "off"
--- emerg_at: ws_perf_client_publish yes;



=== TEST 63: ws_perf_allowed_channels rejects an empty pattern
--- config
    location /ws {
        ws_perf;
        ws_perf_allowed_channels "room.*" "";
    }
--- must_die
--- error_log
empty channel pattern
--- emerg_at: ws_perf_allowed_channels "room.*" "";



=== TEST 64: ws_perf_allowed_channels rejects a broken variable
--- config
    location /ws {
        ws_perf;
        ws_perf_allowed_channels "user.${remote_user.*";
    }
--- must_die
--- error_log
the closing bracket in "remote_user" variable is missing
--- emerg_at: ws_perf_allowed_channels



=== TEST 65: ws_perf_channels is a location directive only
--- http_config
    ws_perf_channels news;
--- must_die
--- error_log
"ws_perf_channels" directive is not allowed here
--- emerg_at: ws_perf_channels news;



=== TEST 66: ws_perf_publish takes no arguments
--- config
    location /pub {
        ws_perf_publish news;
    }
--- must_die
--- error_log
invalid number of arguments in "ws_perf_publish" directive
--- emerg_at: ws_perf_publish news;



=== TEST 67: ws_perf_publish and ws_perf cannot share a location
--- config
    location /x {
        ws_perf;
        ws_perf_publish;
    }
--- must_die
--- error_log
only one of "ws_perf", "ws_perf_echo", "ws_perf_sse", "ws_perf_publish" and "ws_perf_dlq" may be used in a location
--- emerg_at: ws_perf_publish;



=== TEST 68: ws_perf_user with a broken variable is refused
--- config
    location /ws {
        ws_perf;
        ws_perf_user $;
    }
--- must_die
--- error_log
invalid variable name
--- emerg_at: ws_perf_user $;



=== TEST 69: one worker: no warning about per-worker delivery
--- config
    location /ws {
        ws_perf;
    }
    location = /t {
        return 200 "ok\n";
    }
--- request
GET /t
--- response_body
ok
--- no_error_log
without ws_perf_redis



=== TEST 70: ws_perf_redis with a scheme it does not know
--- http_config
    ws_perf_redis http://127.0.0.1:6379;
--- must_die
--- error_log
invalid redis address "http://127.0.0.1:6379": use redis://[:password@]host[:port][/db] or unix:/path
--- emerg_at: ws_perf_redis http://



=== TEST 71: ws_perf_redis with a database that is not a number
--- http_config
    ws_perf_redis redis://127.0.0.1:6379/first;
--- must_die
--- error_log
invalid redis database number in "redis://127.0.0.1:6379/first"
--- emerg_at: ws_perf_redis redis://



=== TEST 72: ws_perf_redis with an empty password
--- http_config
    ws_perf_redis redis://:@127.0.0.1;
--- must_die
--- error_log
write the password as ":password@" or "user:password@"
--- emerg_at: ws_perf_redis redis://



=== TEST 73: ws_perf_redis with a port out of range
--- http_config
    ws_perf_redis redis://127.0.0.1:70000;
--- must_die
--- error_log
invalid port in redis address "redis://127.0.0.1:70000"
--- emerg_at: ws_perf_redis redis://



=== TEST 74: ws_perf_redis with a host that does not resolve
--- http_config
    ws_perf_redis redis://no-such-host.invalid:6379;
--- must_die
--- error_log
in redis address "redis://no-such-host.invalid:6379"
--- emerg_at: ws_perf_redis redis://



=== TEST 75: ws_perf_redis with a relative unix path
--- http_config
    ws_perf_redis unix:redis.sock;
--- must_die
--- error_log
"unix:redis.sock": a unix socket needs an absolute path
--- emerg_at: ws_perf_redis unix:



=== TEST 76: ws_perf_redis twice
--- http_config
    ws_perf_redis redis://127.0.0.1:6379;
    ws_perf_redis redis://127.0.0.1:6380;
--- must_die
--- error_log
"ws_perf_redis" directive is duplicate
--- emerg_at: ws_perf_redis redis://127.0.0.1:6380;



=== TEST 77: ws_perf_redis inside a server block
--- config
    ws_perf_redis redis://127.0.0.1:6379;
--- must_die
--- error_log
"ws_perf_redis" directive is not allowed here
--- emerg_at: ws_perf_redis redis://



=== TEST 78: ws_perf_redis_prefix with a space
--- http_config
    ws_perf_redis_prefix "a b:";
--- must_die
--- error_log
"ws_perf_redis_prefix" directive must be 1 to 63 of A-Z a-z 0-9 _ . - and a final ":"
--- emerg_at: ws_perf_redis_prefix



=== TEST 79: ws_perf_redis_prefix over 64 characters
--- http_config
    ws_perf_redis_prefix aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa:;
--- must_die
--- error_log
"ws_perf_redis_prefix" directive must be 1 to 63 of A-Z a-z 0-9 _ . - and a final ":"
--- emerg_at: ws_perf_redis_prefix



=== TEST 80: ws_perf_redis_reconnect with the longest wait below the first
--- http_config
    ws_perf_redis_reconnect 2s 1s;
--- must_die
--- error_log
invalid "ws_perf_redis_reconnect": give the first and the longest wait between attempts, e.g. "100ms 1s"
--- emerg_at: ws_perf_redis_reconnect



=== TEST 81: ws_perf_redis_command_timeout 0
--- http_config
    ws_perf_redis_command_timeout 0;
--- must_die
--- error_log
"ws_perf_redis_command_timeout" directive must be greater than zero
--- emerg_at: ws_perf_redis_command_timeout



=== TEST 82: ws_perf_redis_max_pending 0
--- http_config
    ws_perf_redis_max_pending 0;
--- must_die
--- error_log
"ws_perf_redis_max_pending" directive must be greater than zero
--- emerg_at: ws_perf_redis_max_pending



=== TEST 83: ws_perf_redis_connect_timeout abc
--- http_config
    ws_perf_redis_connect_timeout abc;
--- must_die
--- error_log
"ws_perf_redis_connect_timeout" directive invalid value
--- emerg_at: ws_perf_redis_connect_timeout



=== TEST 84: ws_perf_ack_priorities with a priority it does not know
--- http_config
    ws_perf_ack_priorities critical urgent;
--- must_die
--- error_log
invalid priority "urgent": use low, normal, high or critical
--- emerg_at: ws_perf_ack_priorities



=== TEST 85: ws_perf_redis_prefix without its final colon
--- http_config
    ws_perf_redis_prefix app1;
--- must_die
--- error_log
"ws_perf_redis_prefix" directive must be 1 to 63 of A-Z a-z 0-9 _ . - and a final ":"
--- emerg_at: ws_perf_redis_prefix



=== TEST 86: reliable-delivery settings without ws_perf_redis: a warning that they are kept in memory and lost on restart
--- http_config
    ws_perf_offline_max 50;
--- request
GET /t
--- response_body
ok
--- error_log eval
qr/\[warn\] .*ws_perf: without ws_perf_redis inboxes, history, acks, dead letters and scheduled messages are kept in ws_perf_shm_zone, shared by the workers, bounded, kept across reloads and lost on restart/



=== TEST 87: ws_perf_dlq without ws_perf_redis: a warning that its dead letters are in memory, and the API answers
--- config
    location = /dlq {
        ws_perf_dlq;
    }
--- request
GET /dlq
--- error_code: 200
--- response_body_like: "entries":\[\]
--- error_log eval
qr/\[warn\] .*ws_perf: without ws_perf_redis the dead letters of ws_perf_dlq in \S+nginx\.conf:\d+ are kept in ws_perf_shm_zone "ws_perf", shared by the workers, bounded, kept across reloads and lost on restart/



=== TEST 88: ws_perf_offline_max abc
--- http_config
    ws_perf_offline_max abc;
--- must_die
--- error_log
"ws_perf_offline_max" directive invalid number
--- emerg_at: ws_perf_offline_max


=== TEST 89: ws_perf_offline_ttl 0
--- http_config
    ws_perf_offline_ttl 0;
--- must_die
--- error_log
"ws_perf_offline_ttl" directive must be greater than zero
--- emerg_at: ws_perf_offline_ttl


=== TEST 90: ws_perf_history -1
--- http_config
    ws_perf_history -1;
--- must_die
--- error_log
"ws_perf_history" directive invalid number
--- emerg_at: ws_perf_history


=== TEST 91: ws_perf_ack_timeout abc
--- http_config
    ws_perf_ack_timeout abc;
--- must_die
--- error_log
"ws_perf_ack_timeout" directive invalid value
--- emerg_at: ws_perf_ack_timeout


=== TEST 92: ws_perf_max_attempts 0
--- http_config
    ws_perf_max_attempts 0;
--- must_die
--- error_log
"ws_perf_max_attempts" directive must be greater than zero
--- emerg_at: ws_perf_max_attempts


=== TEST 93: ws_perf_max_pending_acks 0
--- http_config
    ws_perf_max_pending_acks 0;
--- must_die
--- error_log
"ws_perf_max_pending_acks" directive must be greater than zero
--- emerg_at: ws_perf_max_pending_acks


=== TEST 94: ws_perf_dlq_max 0
--- http_config
    ws_perf_dlq_max 0;
--- must_die
--- error_log
"ws_perf_dlq_max" directive must be greater than zero
--- emerg_at: ws_perf_dlq_max


=== TEST 95: ws_perf_dlq with an argument
--- config
    location = /dlq {
        ws_perf_dlq all;
    }
--- must_die
--- error_log
invalid number of arguments in "ws_perf_dlq" directive
--- emerg_at: ws_perf_dlq all;


=== TEST 96: ws_perf_max_batch 0
--- config
    location = /pub {
        ws_perf_publish;
        ws_perf_max_batch 0;
    }
--- must_die
--- error_log
"ws_perf_max_batch" directive must be greater than zero
--- emerg_at: ws_perf_max_batch 0;


=== TEST 97: ws_perf_max_batch abc
--- config
    location = /pub {
        ws_perf_publish;
        ws_perf_max_batch abc;
    }
--- must_die
--- error_log
"ws_perf_max_batch" directive invalid number
--- emerg_at: ws_perf_max_batch abc;


=== TEST 98: ws_perf_client_critical takes on or off
--- config
    location = /ws {
        ws_perf;
        ws_perf_client_critical sometimes;
    }
--- must_die
--- error_log
invalid value "sometimes" in "ws_perf_client_critical" directive, it must be "on" or "off"
--- emerg_at: ws_perf_client_critical sometimes;


=== TEST 99: ws_perf_redis_worker_ttl below 2s is refused
--- http_config
    ws_perf_redis_worker_ttl 1500ms;
--- must_die
--- error_log
"ws_perf_redis_worker_ttl" directive must be at least 2s
--- emerg_at: ws_perf_redis_worker_ttl


=== TEST 100: ws_perf_redis_cluster with ws_perf_redis is refused
--- http_config
    ws_perf_redis redis://127.0.0.1:6379;
    ws_perf_redis_cluster 127.0.0.1:7000;
--- must_die
--- error_log
"ws_perf_redis_cluster" directive is mutually exclusive with "ws_perf_redis"
--- emerg_at: ws_perf_redis_cluster


=== TEST 101: ws_perf_redis_cluster needs a node
--- http_config
    ws_perf_redis_cluster shards=4;
--- must_die
--- error_log
"ws_perf_redis_cluster" needs the address of at least one node of the cluster
--- emerg_at: ws_perf_redis_cluster


=== TEST 102: ws_perf_redis_cluster shards out of range
--- http_config
    ws_perf_redis_cluster 127.0.0.1:7000 shards=0;
--- must_die
--- error_log
invalid "shards=" of "ws_perf_redis_cluster": 1 to 1024
--- emerg_at: ws_perf_redis_cluster


=== TEST 103: ws_perf_redis_cluster with an unknown option
--- http_config
    ws_perf_redis_cluster 127.0.0.1:7000 db=3;
--- must_die
--- error_log
unknown option "db=" of "ws_perf_redis_cluster": user=, password= or shards=
--- emerg_at: ws_perf_redis_cluster


=== TEST 104: ws_perf_redis_cluster with a host that does not resolve
--- http_config
    ws_perf_redis_cluster no-such-host.invalid:7000;
--- must_die
--- error_log
host not found in redis cluster node "no-such-host.invalid:7000"
--- emerg_at: ws_perf_redis_cluster


=== TEST 105: ws_perf_redis after ws_perf_redis_cluster is refused
--- http_config
    ws_perf_redis_cluster 127.0.0.1:7000;
    ws_perf_redis redis://127.0.0.1:6379;
--- must_die
--- error_log
"ws_perf_redis" directive is mutually exclusive with "ws_perf_redis_cluster"
--- emerg_at: ws_perf_redis redis



=== TEST 106: ws_perf_sse and ws_perf cannot share a location
--- config
    location /x {
        ws_perf;
        ws_perf_channels $arg_channels;
        ws_perf_sse;
    }
--- must_die
--- error_log
only one of "ws_perf", "ws_perf_echo", "ws_perf_sse", "ws_perf_publish" and "ws_perf_dlq" may be used in a location
--- emerg_at: ws_perf_sse;



=== TEST 107: ws_perf_sse at server level is not allowed
--- config
    ws_perf_sse;
    location /x {
        return 204;
    }
--- must_die
--- error_log
"ws_perf_sse" directive is not allowed here
--- emerg_at: ws_perf_sse;



=== TEST 108: ws_perf_sse takes no argument
--- config
    location /x {
        ws_perf_sse on;
    }
--- must_die
--- error_log
invalid number of arguments in "ws_perf_sse" directive
--- emerg_at: ws_perf_sse on;



=== TEST 109: ws_perf_sse twice in a location
--- config
    location /x {
        ws_perf_sse;
        ws_perf_sse;
    }
--- must_die
--- error_log
"ws_perf_sse" directive is duplicate
--- emerg_at: ws_perf_sse;
