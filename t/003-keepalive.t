# Keepalive and closing by the server: pings every ws_perf_ping_interval,
# close 1001 after ws_perf_idle_timeout without client traffic, client
# traffic (messages, pings, pongs) keeping a connection, the close
# timeout after the server's close frame, close 1001 to every WebSocket
# when nginx reloads or quits, and a handshake that never completes.
#
# Timing is checked by live clients ("--- ws_check: NAME" runs the sub NAME
# below once nginx answered the block's trivial request) that wait for
# events with deadlines and record when they happen; bounds are generous
# so that slow (sanitizer, valgrind) runs pass.
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use WsPerf::Test;
use WsPerf::Client;

use IO::Select;
use Time::HiRes ();

our $TRIVIAL = <<'_EOC_';
    location = /t {
        return 200 "ok\n";
    }
_EOC_

add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value('timeout', 10) unless defined $block->timeout;

    if (defined $block->ws_check) {
        $block->set_value('config', $TRIVIAL . $block->config);
        $block->set_value('request', "GET /t\n") unless defined $block->request;
        $block->set_value('response_body', "ok\n")
            unless defined $block->response_body;
    }

    $block->set_value('no_error_log', "[error]\n[alert]\n[crit]")
        unless defined $block->no_error_log;
});

master_on();
ws_client_init();
no_shuffle();
run_tests();


# ------------------------------------------------------------ live checks

sub t { Test::More::ok($_[0], $_[1]) or Test::More::diag($_[2] || '') }

sub secs { sprintf('%.2fs', $_[0]) }

# reads server frames until a close frame, answering pings if asked;
# returns (the close frame, [ping frames])
sub until_close {
    my ($ws, $timeout, %o) = @_;
    my $deadline = now() + $timeout;
    my @pings;
    while (1) {
        my $left = $deadline - now();
        die "no close frame within ${timeout}s\n" if $left <= 0;
        my $f = $ws->read_frame($left);
        die "no close frame within ${timeout}s\n" if $f->{timeout};
        die "connection closed without a close frame\n" if $f->{eof};
        die "$f->{error}\n" if $f->{error};
        return ($f, \@pings) if $f->{op} == 8;
        if ($f->{op} == 9) {
            push @pings, $f;
            $ws->send_pong($f->{payload}) if $o{answer};
            next;
        }
        die "unexpected frame, opcode $f->{op}\n" unless $o{skip_data};
    }
}

sub frame_ok {
    my ($name, $f) = @_;
    t(!$f->{masked} && $f->{fin} && !$f->{rsv},
      "$name - server frame unmasked, FIN, RSV 0");
}

# ping 200ms, idle 1s, a client that sends nothing after the handshake
sub ping_and_idle_timing {
    my $block = shift;
    my $name = $block->name;
    my $ws = ws_open('/echo');
    my $t0 = now();
    my ($close, $pings) = until_close($ws, 5);
    my $tc = $close->{at} - $t0;

    Test::More::cmp_ok(scalar @$pings, '>=', 3, "$name - at least 3 pings");
    Test::More::cmp_ok(scalar @$pings, '<=', 6, "$name - at most 6 pings");
    my @at = map { $_->{at} - $t0 } @$pings;
    my @gaps = map { $at[$_] - $at[$_ - 1] } 1 .. $#at;
    t(@at && $at[0] >= 0.1 && $at[0] <= 0.6,
      "$name - first ping after about 200ms (" . secs($at[0] || 0) . ")");
    t(!grep({ $_ < 0.1 || $_ > 0.6 } @gaps),
      "$name - pings about 200ms apart", join(' ', map { secs($_) } @gaps));
    t(!grep({ $_->{payload} ne '' } @$pings), "$name - pings are empty");
    frame_ok($name, $_) for grep { defined } @$pings[0, -1];

    is_close($name, $close, 1001);
    t($tc >= 0.8 && $tc <= 2.5, "$name - close 1001 after about 1s (" . secs($tc) . ")");
    t($ws->wait_eof(2), "$name - EOF right after the close frame");
}

sub is_close {
    my ($name, $f, $code) = @_;
    Test::More::is($f->{op}, 8, "$name - close frame");
    Test::More::is(close_payload($f->{payload}), $code, "$name - close code $code");
    Test::More::is(length $f->{payload}, 2, "$name - close payload is the code alone");
    frame_ok($name, $f);
}

# pings off, idle 1s: nothing but the close, after about 1s
sub idle_timing {
    my $block = shift;
    my $name = $block->name;
    my $ws = ws_open('/echo');
    my $t0 = now();
    my $f = $ws->read_frame(5);
    my $tc = $f->{at} - $t0;
    is_close($name, $f, 1001);
    t($tc >= 0.8 && $tc <= 2.5, "$name - close after about 1s (" . secs($tc) . ")");
    t($ws->wait_eof(2), "$name - EOF right after the close frame");
}

# ping 200ms, idle 1s: a client answering every ping is kept for 3s
sub pongs_keep_alive {
    my $block = shift;
    my $name = $block->name;
    my $ws = ws_open('/echo');
    my $t0 = now();
    my $pings = 0;
    while (now() - $t0 < 3) {
        my $f = $ws->read_frame(0.5);
        next if $f->{timeout};
        die "connection closed after " . secs(now() - $t0) . "\n" if $f->{eof};
        if ($f->{op} == 9) {
            $pings++;
            $ws->send_pong($f->{payload});
            next;
        }
        Test::More::fail("$name - unexpected frame " . $f->{op} . " after "
                         . secs($f->{at} - $t0) . " (payload "
                         . unpack('H*', $f->{payload}) . ")");
        return;
    }
    Test::More::cmp_ok($pings, '>=', 8, "$name - pinged all along ($pings pings in 3s)");
    $ws->send_close(1000);
    my ($close) = until_close($ws, 5);
    is_close($name, $close, 1000);
    t($ws->wait_eof(2), "$name - EOF after the close");
}

# pings off, idle 1s: a client sending a message every 400ms for 3s
sub messages_keep_alive {
    my $block = shift;
    my $name = $block->name;
    my $ws = ws_open('/echo');
    my $t0 = now();
    my $n = 0;
    while (now() - $t0 < 3) {
        Time::HiRes::sleep(0.4);
        $n++;
        $ws->send_text("message $n");
        my $f = $ws->read_frame(2);
        if (($f->{op} || 0) != 1 || $f->{payload} ne "message $n") {
            Test::More::fail("$name - echo of message $n after "
                             . secs(now() - $t0) . ": "
                             . ($f->{eof} ? 'EOF' : $f->{timeout} ? 'nothing'
                                : "opcode $f->{op}"));
            return;
        }
    }
    Test::More::pass("$name - $n messages echoed over " . secs(now() - $t0));
    $ws->send_close(1000);
    my ($close) = until_close($ws, 5);
    is_close($name, $close, 1000);
}

# idle 500ms, close timeout 1s: the client reads the close, never answers
# nor closes; nginx closes the socket about 1s after its close frame
sub close_timeout_after_idle {
    my $block = shift;
    my $name = $block->name;
    my $ws = ws_open('/ct');
    my ($close) = until_close($ws, 5);
    is_close($name, $close, 1001);
    t($ws->wait_eof(2), "$name - half-closed after the close frame");
    my $t = $ws->wait_server_close(6);
    t(defined $t && $t >= 0.7 && $t <= 3,
      "$name - socket closed about 1s after the close frame ("
      . (defined $t ? secs($t) : 'never') . ")");
}

# close timeout 1s after a protocol error (an unmasked frame): 1002, then
# the socket goes about 1s later although the client neither answers nor
# closes
sub close_timeout_after_error {
    my $block = shift;
    my $name = $block->name;
    my $ws = ws_open('/ct');
    $ws->send_raw(cframe(0x1, "unmasked", mask => 0));
    my ($close) = until_close($ws, 5);
    is_close($name, $close, 1002);
    t($ws->wait_eof(2), "$name - half-closed after the close frame");
    my $t = $ws->wait_server_close(6);
    t(defined $t && $t >= 0.7 && $t <= 3,
      "$name - socket closed about 1s after the close frame ("
      . (defined $t ? secs($t) : 'never') . ")");
}

# A process that exited but was not reaped yet (a zombie) is not alive.
sub alive {
    my ($pid) = @_;
    return 0 unless kill 0, $pid;
    open my $in, '<', "/proc/$pid/stat" or return 0;
    my $line = <$in>;
    close $in;
    return !(defined $line && $line =~ /^\d+ \(.*\) Z /s);
}


# HUP with two open WebSockets; each client reads the close 1001 and then
# either answers it and closes ($answer) or does nothing.  Returns the
# seconds the old worker took to exit after the HUP.
sub old_worker_exit {
    my ($block, $answer) = @_;
    my $name = $block->name;
    my $master = nginx_master_pid();
    my @old = nginx_workers($master);
    Test::More::is(scalar @old, 1, "$name - one worker before the HUP");
    my @ws = map { ws_open('/echo') } 1 .. 2;

    my $t0 = now();
    nginx_signal('HUP');
    for my $i (0 .. $#ws) {
        my ($close) = until_close($ws[$i], 8);
        is_close("$name - connection $i", $close, 1001);
        next unless $answer;
        $ws[$i]->send_close(1001);
        t($ws[$i]->wait_eof(3), "$name - connection $i: EOF");
        $ws[$i]->close_socket;
    }

    my $t;
    while (now() - $t0 < 10) {
        if (!grep { alive($_) } @old) {
            $t = now() - $t0;
            last;
        }
        Time::HiRes::sleep(0.02);
    }
    new_workers_serve($name);
    return $t;
}

# close timeout 5s: clients that answer the close and close their sockets
# let the old worker exit at once
sub answered_shutdown_is_prompt {
    my $block = shift;
    my $t = old_worker_exit($block, 1);
    t(defined $t && $t <= 2, $block->name . " - old worker exited after "
      . (defined $t ? secs($t) : 'more than 10s') . " (close timeout 5s)");
}

# close timeout 1s: clients that never answer hold the old worker for
# about 1s, not longer
sub unanswered_shutdown_is_bounded {
    my $block = shift;
    my $t = old_worker_exit($block, 0);
    t(defined $t && $t >= 0.7 && $t <= 3, $block->name
      . " - old worker exited after " . (defined $t ? secs($t) : 'more than 10s')
      . " (close timeout 1s)");
}

# Opens WebSockets in several states, makes nginx reload or quit with
# $how->(), and expects close 1001 on each within a bounded time.
sub shutdown_closes_all {
    my ($block, $how, $after) = @_;
    my $name = $block->name;

    my $idle = ws_open('/echo');
    my $busy = ws_open('/echo');
    $busy->send_text("before");
    my $f = $busy->read_frame(5);
    Test::More::is($f->{payload}, 'before', "$name - echo before the signal");
    my $frag = ws_open('/echo');
    $frag->send_frame(1, "half a mess", fin => 0);
    my $ps = ws_open('/ps');
    $ps->send_ping("ps");
    $f = $ps->read_frame(5);
    Test::More::is($f->{op}, 10, "$name - pub/sub endpoint answers a ping");

    my $master = nginx_master_pid();
    $how->();

    my %ws = (idle => $idle, busy => $busy, fragmented => $frag,
              pubsub => $ps);
    for my $k (sort keys %ws) {
        my ($close) = eval { until_close($ws{$k}, 8, answer => 1) };
        if (!$close) {
            Test::More::fail("$name - $k: $@");
            next;
        }
        is_close("$name - $k", $close, 1001);
        # answer like a client would; nginx then closes the connection
        $ws{$k}->send_close(1001);
        t($ws{$k}->wait_eof(8), "$name - $k: connection closed");
        $ws{$k}->close_socket;
    }

    $after->($master) if $after;
}

sub reload_by_hup {
    my $block = shift;
    my $name = $block->name;
    shutdown_closes_all($block, sub { nginx_signal('HUP') }, sub {
        my $master = shift;
        Test::More::is(nginx_master_pid(), $master, "$name - same master");
        new_workers_serve($name);
    });
}

sub reload_by_command {
    my $block = shift;
    my $name = $block->name;
    shutdown_closes_all($block, sub {
        my ($rc, $out) = nginx_cmd('-s', 'reload');
        Test::More::is($rc, 0, "$name - nginx -s reload") or Test::More::diag($out);
    }, sub { new_workers_serve($name) });
}

# the new workers accept WebSocket after a reload
sub new_workers_serve {
    my ($name) = @_;
    my $ws = ws_open('/echo');
    $ws->send_text("after");
    my $f = $ws->read_frame(5);
    Test::More::is($f->{payload}, 'after', "$name - echo after the reload");
    $ws->send_close(1000);
    my ($close) = until_close($ws, 5);
    is_close("$name - after the reload", $close, 1000);
}

sub quit_by_command {
    my $block = shift;
    my $name = $block->name;
    shutdown_closes_all($block, sub {
        my ($rc, $out) = nginx_cmd('-s', 'quit');
        Test::More::is($rc, 0, "$name - nginx -s quit") or Test::More::diag($out);
    }, sub {
        my $master = shift;
        my $until = now() + 10;
        Time::HiRes::sleep(0.05) while alive($master) && now() < $until;
        t(!alive($master), "$name - nginx exited");
    });
}

# client_header_timeout 1s: a connection that sends $sent and no more is
# closed after about 1s, without a 101
sub header_timeout {
    my ($block, $sent) = @_;
    my $name = $block->name;
    my $sock = connect_tcp(undef, 5);
    my $t0 = now();
    syswrite($sock, $sent) if length $sent;
    my $sel = IO::Select->new($sock);
    my $got = '';
    my $t;
    while (now() - $t0 < 6) {
        last unless $sel->can_read(6 - (now() - $t0));
        my $n = sysread($sock, my $buf, 4096);
        if (!$n) {
            $t = now() - $t0;
            last;
        }
        $got .= $buf;
    }
    t(defined $t && $t >= 0.8 && $t <= 3,
      "$name - connection closed after about 1s ("
      . (defined $t ? secs($t) : 'never') . ")");
    t($got !~ m{^HTTP/1\.1 101}, "$name - no 101", $got);
    close $sock;
}

sub header_timeout_nothing { header_timeout($_[0], '') }

sub header_timeout_partial {
    my $req = hs_request();
    header_timeout($_[0], substr($req, 0, index($req, "Sec-WebSocket-Key")));
}

sub header_timeout_slow {
    my $block = shift;
    my $name = $block->name;
    # the header block arrives in pieces but never ends
    my $sock = connect_tcp(undef, 5);
    my $t0 = now();
    my $req = hs_request();
    $req =~ s/\r\n\r\n\z/\r\n/;
    my @pieces = $req =~ /(.{1,40})/sg;
    my $closed;
    for my $p (@pieces, ("X-Pad: a\r\n") x 30) {
        local $SIG{PIPE} = 'IGNORE';
        if (!syswrite($sock, $p)) {
            $closed = now() - $t0;
            last;
        }
        Time::HiRes::sleep(0.1);
        if (IO::Select->new($sock)->can_read(0)) {
            my $n = sysread($sock, my $buf, 4096);
            if (!$n) {
                $closed = now() - $t0;
                last;
            }
            Test::More::fail("$name - unexpected response: $buf");
            return;
        }
    }
    t(defined $closed && $closed <= 2.5,
      "$name - closed although bytes kept arriving ("
      . (defined $closed ? secs($closed) : 'not closed') . ")");
    close $sock;
}

__DATA__

=== TEST 1: ping every 200ms, then close 1001 after 1s without client traffic
--- config
    location /echo {
        ws_perf_echo;
        ws_perf_ping_interval 200ms;
        ws_perf_idle_timeout 1s;
    }
--- raw_request eval
handshake()
--- error_code: 101
--- response_body_filters eval
\&frame_summary
--- response_body_like chomp
\A(?:ping fin=1 rsv=0 len=0 ""\n){3,6}close fin=1 rsv=0 len=2 code=1001\n\z



=== TEST 2: ping timing: about 200ms apart, pings do not count as client traffic
--- config
    location /echo {
        ws_perf_echo;
        ws_perf_ping_interval 200ms;
        ws_perf_idle_timeout 1s;
    }
--- ws_check: ping_and_idle_timing



=== TEST 3: ping interval 0 disables pings: nothing but close 1001 after 1s
--- config
    location /echo {
        ws_perf_echo;
        ws_perf_ping_interval 0;
        ws_perf_idle_timeout 1s;
    }
--- raw_request eval
handshake()
--- error_code: 101
--- response_body eval
sclose(1001)



=== TEST 4: idle close timing: about 1s after the handshake
--- config
    location /echo {
        ws_perf_echo;
        ws_perf_ping_interval 0;
        ws_perf_idle_timeout 1s;
    }
--- ws_check: idle_timing



=== TEST 5: idle timeout 0 disables it: a silent client is kept 2s
--- config
    location /echo {
        ws_perf_echo;
        ws_perf_ping_interval 0;
        ws_perf_idle_timeout 0;
    }
--- raw_request eval
[handshake(), ctext("still here") . close_frame(1000)]
--- raw_request_middle_delay: 2
--- error_code: 101
--- response_body eval
stext("still here") . sclose(1000)



=== TEST 6: pongs alone keep the connection past the idle timeout
--- config
    location /echo {
        ws_perf_echo;
        ws_perf_ping_interval 0;
        ws_perf_idle_timeout 1s;
    }
--- raw_request eval
[handshake(), cpong(""), cpong("unsolicited"), cpong(""), cpong(""), close_frame(1000)]
--- raw_request_middle_delay: 0.6
--- error_code: 101
--- response_body eval
sclose(1000)



=== TEST 7: messages and pings keep the connection past the idle timeout
--- config
    location /echo {
        ws_perf_echo;
        ws_perf_ping_interval 0;
        ws_perf_idle_timeout 1s;
    }
--- raw_request eval
[handshake(), ctext("one"), cping("two"), cbin("three"), ctext("four"), close_frame(1000)]
--- raw_request_middle_delay: 0.6
--- error_code: 101
--- response_body eval
stext("one") . spong("two") . sbin("three") . stext("four") . sclose(1000)



=== TEST 8: a client answering every ping is kept for 3s (idle timeout 1s)
--- config
    location /echo {
        ws_perf_echo;
        ws_perf_ping_interval 200ms;
        ws_perf_idle_timeout 1s;
    }
--- ws_check: pongs_keep_alive



=== TEST 9: a client sending a message every 400ms is kept for 3s (idle timeout 1s)
--- config
    location /echo {
        ws_perf_echo;
        ws_perf_ping_interval 0;
        ws_perf_idle_timeout 1s;
    }
--- ws_check: messages_keep_alive



=== TEST 10: a frame arriving slowly counts as traffic: 1 byte every 300ms for 3s
--- config
    location /echo {
        ws_perf_echo;
        ws_perf_ping_interval 0;
        ws_perf_idle_timeout 1s;
    }
--- raw_request eval
my $f = ctext("slow");
[handshake(), (map { substr($f, $_, 1) } 0 .. length($f) - 1), close_frame(1000)]
--- raw_request_middle_delay: 0.3
--- error_code: 101
--- response_body eval
stext("slow") . sclose(1000)



=== TEST 11: ws_perf_close_timeout 1s bounds the wait after the idle close
--- config
    location /ct {
        ws_perf_echo;
        ws_perf_ping_interval 0;
        ws_perf_idle_timeout 500ms;
        ws_perf_close_timeout 1s;
    }
--- ws_check: close_timeout_after_idle



=== TEST 12: ws_perf_close_timeout 1s bounds the wait after a protocol error close
--- config
    location /ct {
        ws_perf_echo;
        ws_perf_close_timeout 1s;
    }
--- ws_check: close_timeout_after_error



=== TEST 13: reload: clients answer the close 1001 and close, the old worker exits at once
--- config
    location /echo {
        ws_perf_echo;
        ws_perf_close_timeout 5s;
    }
--- ws_check: answered_shutdown_is_prompt
--- timeout: 30



=== TEST 14: reload: clients that never answer hold the old worker for the close timeout only
--- config
    location /echo {
        ws_perf_echo;
        ws_perf_close_timeout 1s;
    }
--- ws_check: unanswered_shutdown_is_bounded
--- timeout: 30



=== TEST 15: HUP to the master: close 1001 on every WebSocket, the new workers serve
--- config
    location /echo {
        ws_perf_echo;
    }
    location /ps {
        ws_perf;
    }
--- ws_check: reload_by_hup
--- timeout: 30



=== TEST 16: nginx -s reload: close 1001 on every WebSocket, the new workers serve
--- config
    location /echo {
        ws_perf_echo;
    }
    location /ps {
        ws_perf;
    }
--- ws_check: reload_by_command
--- timeout: 30



=== TEST 17: a handshake that never starts is dropped after client_header_timeout
--- config
    client_header_timeout 1s;
    location /echo {
        ws_perf_echo;
    }
--- ws_check: header_timeout_nothing



=== TEST 18: a handshake cut in the middle of its headers is dropped after client_header_timeout
--- config
    client_header_timeout 1s;
    location /echo {
        ws_perf_echo;
    }
--- ws_check: header_timeout_partial



=== TEST 19: a header block that trickles in forever is dropped after client_header_timeout
--- config
    client_header_timeout 1s;
    location /echo {
        ws_perf_echo;
    }
--- ws_check: header_timeout_slow



=== TEST 20: nginx -s quit: close 1001 on every WebSocket, then nginx exits
--- config
    location /echo {
        ws_perf_echo;
    }
    location /ps {
        ws_perf;
    }
--- ws_check: quit_by_command
--- timeout: 30
