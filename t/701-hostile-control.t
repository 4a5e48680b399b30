# Hostile clients, part 1: what a client makes the server queue for it.
# A client that floods pings (or, on the echo endpoint, tiny messages) and
# never reads makes the server queue a pong or an echo for each; every
# queued frame costs its bytes and its bookkeeping, and reading stops once
# that cost reaches ws_perf_send_queue_size (docs/websocket.md), so the
# worker's memory stays bounded whatever the client sends.  Nothing is
# lost: once the client reads, every ping has its pong, every message its
# echo, in order.
#
# "--- ws_check: flood PATH OPCODE" runs the flood against PATH with frames
# of OPCODE (9 ping, 1 text) and an empty payload; "--- rss_max_kb" bounds
# the worker's growth while the client does not read.
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use WsPerf::Client;

use Errno qw(EAGAIN EWOULDBLOCK EINTR);
use IO::Select;
use Protocol::WebSocket::Frame;

# the flood goes to a listener with a small socket send buffer, so that
# what the client does not read stays in nginx rather than in the kernel
$ENV{TEST_NGINX_FLOOD_PORT} ||= (Test::Nginx::Util::server_port() || 1984) + 1;

our $CONFIG = <<'_EOC_';
    location = /t {
        return 200 "ok\n";
    }
}

server {
    listen 127.0.0.1:$TEST_NGINX_FLOOD_PORT sndbuf=4k;

    location = /echo {
        ws_perf_echo;
        ws_perf_send_queue_size 256k;
    }
    location = /ws {
        ws_perf;
        ws_perf_channels news;
        ws_perf_send_queue_size 256k;
    }
_EOC_

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value('config', $CONFIG) unless defined $block->config;
    $block->set_value('timeout', 60);
    $block->set_value('request', "GET /t\n");
    $block->set_value('response_body', "ok\n");
    $block->set_value('no_error_log', "[error]\n[alert]\n[crit]");
});

master_on();
ws_client_init();
no_shuffle();
run_tests();


sub t { Test::More::ok($_[0], $_[1]) or Test::More::diag($_[2] || '') }

# Sends $frames masked empty frames of $op without reading until the server
# stops taking them for a second (or all are sent); checks the worker's
# RSS; then reads while sending the rest and counts the answers: each is
# the 2-byte unmasked frame $answer.
sub flood {
    my ($block) = @_;
    my ($path, $op) = split ' ', $block->flood;
    my $name = $block->name;
    my $frames = 300_000;
    my $answer = $op == 9 ? "\x8a\x00" : "\x81\x00";
    my $max_kb = $block->rss_max_kb;

    my ($worker) = nginx_workers();
    my $rss0 = rss_kb($worker);

    my $ws = ws_open($path, bufsize => 4096,
                     port => $ENV{TEST_NGINX_FLOOD_PORT});
    my $sock = $ws->sock;

    my $one = Protocol::WebSocket::Frame->new(buffer => '', opcode => $op,
                                              masked => 1)->to_bytes;
    my $data = $one x $frames;
    my $off = 0;

    local $SIG{PIPE} = 'IGNORE';
    my $sel = IO::Select->new($sock);
    my $stalled = now();
    my $deadline = now() + 20;
    while ($off < length $data && now() - $stalled < 1 && now() < $deadline) {
        my $n = syswrite($sock, $data, length($data) - $off, $off);
        if (defined $n) {
            $off += $n;
            $stalled = now() if $n > 0;
            next;
        }
        die "send failed: $!\n" unless $! == EAGAIN || $! == EWOULDBLOCK
                                       || $! == EINTR;
        $sel->can_write(0.1);
    }

    my $grown = rss_kb($worker) - $rss0;
    t($off < length $data,
      "$name - the server stopped reading before all frames were sent",
      "sent all $off bytes without the server pausing");
    if (defined $max_kb && !$ENV{TEST_NGINX_USE_VALGRIND}) {
        t($grown < $max_kb,
          "$name - the worker grew by less than $max_kb kB while the client"
          . " did not read",
          "grew by $grown kB after " . int($off / length $one) . " frames");
    }

    my $got = 0;
    my $want = $frames * length $answer;
    my $bad = 0;
    my $carry = '';
    $deadline = now() + 40;
    while (($got < $want || $off < length $data) && now() < $deadline) {
        my $w = $off < length $data ? IO::Select->new($sock) : undef;
        my ($r, $wr) = IO::Select->select($sel, $w, undef, 0.5);
        if ($wr && @$wr) {
            my $n = syswrite($sock, $data, length($data) - $off, $off);
            $off += $n if defined $n;
        }
        if ($r && @$r) {
            my $n = sysread($sock, my $buf, 1 << 20);
            last if defined $n && $n == 0;
            next unless defined $n;
            $got += $n;
            $carry .= $buf;
            my $whole = length($carry) - length($carry) % 2;
            my $copy = substr($carry, 0, $whole, '');
            $copy =~ s/\Q$answer\E//g;
            $bad += length $copy;
        }
    }

    t($got == $want && $bad == 0,
      "$name - every one of the $frames frames was answered, in order",
      "got $got bytes of $want, $bad of them not answers, sent $off of "
      . length($data));

    $ws->send_close(1000);
    my $close = $ws->read_frame(5);
    t(($close->{op} || 0) == 8, "$name - the close handshake completes");
}

__DATA__

=== TEST 1: a ping flood without reading: bounded, then every pong
--- flood: /echo 9
--- rss_max_kb: 8192
--- ws_check: flood



=== TEST 2: empty messages to the echo endpoint without reading: bounded, then every echo
--- flood: /echo 1
--- rss_max_kb: 8192
--- ws_check: flood



=== TEST 3: a ping flood on a pub/sub endpoint without reading: bounded, then every pong
--- flood: /ws 9
--- rss_max_kb: 8192
--- ws_check: flood
