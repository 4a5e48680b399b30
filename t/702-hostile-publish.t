# Hostile publishers: a message that could reach nobody is refused when
# it is published, not dropped or turned into 1008 closes afterwards.  The
# frame a message becomes (its JSON envelope, escapes included) must fit
# the smallest ws_perf_send_queue_size of the pub/sub locations: 413 with
# the reason otherwise, for the publish API and for a client's "pub".  A
# batch is checked whole before anything is sent; what can only fail part
# way (a user's pending acks) is answered with the ids of exactly the
# messages that went, null for the others.  Clients may not choose ids,
# schedule, or publish critical messages unless ws_perf_client_critical.
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use WsPerf::Engine;
use WsPerf::Client;

use JSON::PP ();

our $CONFIG = <<'_EOC_';
    location = /t {
        return 200 "ok\n";
    }
    location /ws {
        ws_perf;
        ws_perf_channels          $arg_channels;
        ws_perf_user              $arg_user;
        ws_perf_allowed_channels  "room.*";
        ws_perf_client_publish    on;
        ws_perf_send_queue_size   64k;
    }
    location /wsc {
        ws_perf;
        ws_perf_channels          $arg_channels;
        ws_perf_allowed_channels  "room.*";
        ws_perf_client_publish    on;
        ws_perf_client_critical   on;
    }
    location /pub {
        ws_perf_publish;
        ws_perf_max_batch 20000;
    }
    location /pubd {
        ws_perf_publish;
    }
    location /raw {
        ws_perf_publish;
        ws_perf_channels  room.raw;
    }
    location /wsu {
        ws_perf;
        ws_perf_allowed_channels  "user.$arg_user.*";
    }
_EOC_

our $HTTP_CONFIG = <<'_EOC_';
    ws_perf_max_pending_acks  2;
    ws_perf_offline_max       10;
_EOC_

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value('config', $CONFIG) unless defined $block->config;
    $block->set_value('http_config', $HTTP_CONFIG)
        unless defined $block->http_config;
    $block->set_value('timeout', 30);
    if (defined $block->ws_check) {
        $block->set_value('request', "GET /t\n");
        $block->set_value('response_body', "ok\n");
    }
    $block->set_value('no_error_log', "[error]\n[alert]\n[crit]")
        unless defined $block->no_error_log;
});

ws_client_init();
no_shuffle();
run_tests();


sub t { Test::More::ok($_[0], $_[1]) or Test::More::diag($_[2] || '') }

# A request to this nginx: (status, body).
sub http {
    my ($method, $path, $body) = @_;
    my $sock = connect_tcp();
    $sock->blocking(1);
    $body = '' unless defined $body;
    print $sock "$method $path HTTP/1.1\r\nHost: localhost\r\n"
        . "Content-Length: " . length($body) . "\r\nConnection: close\r\n"
        . "\r\n$body";
    local $/;
    my $resp = <$sock>;
    my ($status) = $resp =~ m{^HTTP/1\.1 (\d+)};
    my ($rbody) = $resp =~ m{\r\n\r\n(.*)\z}s;
    return ($status, $rbody);
}

# The next JSON text frame of $ws within $timeout, or undef.
sub next_json {
    my ($ws, $timeout) = @_;
    my $deadline = now() + $timeout;
    while ((my $left = $deadline - now()) > 0) {
        my $f = $ws->read_frame($left);
        return undef unless defined $f->{op};
        return { close => close_payload($f->{payload}) } if $f->{op} == 8;
        next unless $f->{op} == 1;
        return JSON::PP::decode_json($f->{payload});
    }
    return undef;
}

# A subscriber hit by an unfit critical message stays, and gets the next.
sub critical_too_big {
    my ($block) = @_;
    my $name = $block->name;
    my $ws = ws_open('/ws?channels=room.a');

    my ($st, $body) = http('POST', '/pub', JSON::PP::encode_json({
        channel => 'room.a', priority => 'critical', data => 'x' x 70000 }));
    t($st == 413 && $body =~ /it would reach nobody/,
      "$name - a critical message larger than the queue: 413", "$st $body");

    ($st) = http('POST', '/pub', '{"channel":"room.a","data":"after"}');
    my $m = next_json($ws, 5);
    t($st == 202 && $m && ($m->{data} || '') eq 'after',
      "$name - the subscriber is still there and gets the next message",
      "$st " . JSON::PP::encode_json($m || {}));
}

# A client's pub: ids, scheduling, critical and size are checked.
sub client_pub {
    my ($block) = @_;
    my $name = $block->name;
    my $ws = ws_open('/ws?channels=room.b');
    my @cases = (
        [{ channel => 'room.b', data => 'x', id => 'chosen-1' },
         400, qr/clients may not choose message ids/],
        [{ channel => 'room.b', data => 'x', delay => 1000 },
         400, qr/clients may not schedule messages/],
        [{ channel => 'room.b', data => 'x',
           deliver_at => 9_000_000_000_000 },
         400, qr/clients may not schedule messages/],
        [{ channel => 'room.b', data => 'x', priority => 'critical' },
         403, qr/ws_perf_client_critical/],
        [{ channel => 'room.b', data => "\x01" x 20000 },
         413, qr/too large for the subscribers' send queues/],
    );
    for my $c (@cases) {
        my ($cmd, $code, $re) = @$c;
        $ws->send_text(JSON::PP::encode_json({ type => 'pub', %$cmd }));
        my $r = next_json($ws, 5) || {};
        t(($r->{type} || '') eq 'error' && ($r->{code} || 0) == $code
          && ($r->{reason} || '') =~ $re,
          "$name - " . JSON::PP->new->canonical->encode($cmd)
          . " gets $code", JSON::PP::encode_json($r));
    }

    my $wc = ws_open('/wsc?channels=room.c');
    $wc->send_text('{"type":"pub","channel":"room.c","priority":"critical",'
                   . '"data":"alarm"}');
    my ($pub, $msg);
    for (1 .. 2) {
        my $r = next_json($wc, 5) || {};
        $pub = $r if ($r->{type} || '') eq 'published';
        $msg = $r if ($r->{type} || '') eq 'msg';
    }
    t($pub && $msg && $msg->{priority} eq 'critical',
      "$name - with ws_perf_client_critical on a client publishes critical");
}

# A user's pending acks run out part way through a batch.
sub partial_batch {
    my ($block) = @_;
    my $name = $block->name;
    my $ws = ws_open('/ws?user=ann');
    my @batch = map { { user => 'ann', ack => JSON::PP::true,
                        data => "m$_" } } 1 .. 4;
    my ($st, $body) = http('POST', '/pub', JSON::PP::encode_json(\@batch));
    my $r = eval { JSON::PP::decode_json($body) } || {};
    my $ids = $r->{ids} || [];
    t($st == 429 && @$ids == 4 && defined $ids->[0] && defined $ids->[1]
      && !defined $ids->[2] && !defined $ids->[3]
      && ($r->{error} || '') ne '',
      "$name - 429 with the ids of the two published and null for the rest",
      "$st $body");

    my @got;
    while (my $m = next_json($ws, 2)) {
        push @got, $m->{data} if ($m->{type} || '') eq 'msg';
        last if @got == 2;
    }
    t("@got" eq 'm1 m2', "$name - exactly those two were delivered",
      "got: @got");
}

__DATA__

=== TEST 1: a message larger than the smallest send queue: 413, and nothing is published
--- request
POST /pub
{"channel":"room.a","data":"0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789","x":1}
--- config
    location /ws {
        ws_perf;
        ws_perf_send_queue_size 500;
    }
    location /pub {
        ws_perf_publish;
    }
--- error_code: 413
--- response_body_like: \A\{"error":"message 0 is \d+ bytes as a frame, more than the smallest ws_perf_send_queue_size of the subscribers \(500\): it would reach nobody"\}\r\n\z
--- error_log
publish rejected with 413



=== TEST 2: control characters count as their escapes: 20,000 of them make a 120 KB frame: 413
--- request eval
"POST /pub\n" . '{"channel":"room.a","data":"' . ('\u0001' x 20000) . '"}'
--- error_code: 413
--- response_body_like: it would reach nobody



=== TEST 3: a raw body larger than the queue: 413
--- request eval
"POST /raw\n" . ("z" x 70000)
--- error_code: 413
--- response_body_like: it would reach nobody



=== TEST 4: a batch with one message too large publishes none of them
--- request eval
"POST /pub\n" . '[{"channel":"room.d","data":"small"},{"channel":"room.d","data":"' . ("y" x 70000) . '"}]'
--- error_code: 413
--- response_body_like: \A\{"error":"message 1 is



=== TEST 5: a batch of more scheduled messages than local mode has room for: 429, none scheduled
--- engine: shm
--- request eval
"POST /pub\n" . '[' . CORE::join(',', map { '{"channel":"room.e","data":"s","delay":60000}' } 1 .. 10001) . ']'
--- error_code: 429
--- response_body eval
qq{{"error":"no room for 10001 more scheduled messages: local mode keeps 10000"}\r\n}



=== TEST 6: a critical message that cannot fit is refused, and does not close the channel's subscribers
--- ws_check: critical_too_big



=== TEST 7: a client's pub: no chosen ids, no scheduling, no critical unless allowed, no message too large
--- ws_check: client_pub



=== TEST 8: pending acks run out part way through a batch: the answer names exactly what was published
--- ws_check: partial_batch



=== TEST 9: a variable's value inside ws_perf_allowed_channels is a name, never a pattern: "?user=*" gets 400
--- raw_request eval
hs_request(path => '/wsu?user=*')
--- error_code: 400
--- response_body_like: \Awebsocket: a "\*" in a value of ws_perf_allowed_channels\n\z
--- shutdown



=== TEST 10: the same location with a plain user name: 101
--- raw_request eval
hs_request(path => '/wsu?user=bob')
--- error_code: 101
--- response_body eval
""
--- shutdown



=== TEST 11: "deliver_at" near INT64_MAX: 400, nothing scheduled
--- request
POST /pub
{"channel":"room.f","data":"late","deliver_at":9223372036854775807}
--- error_code: 400
--- response_body eval
qq{{"error":"message 0: 'deliver_at' is more than a year ahead"}\r\n}
--- error_log
publish rejected with 400



=== TEST 12: a batch over ws_perf_max_batch (1000 by default): 413, none published
--- request eval
"POST /pubd\n" . '[' . CORE::join(',', map { '{"channel":"room.g","data":"b"}' } 1 .. 1001) . ']'
--- error_code: 413
--- response_body eval
qq{{"error":"a batch of 1001 messages, more than ws_perf_max_batch (1000)"}\r\n}
