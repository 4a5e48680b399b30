# RFC 7692 conformance, permessage-deflate (Autobahn categories 12 and 13
# in spirit): the negotiation answer for offers the server accepts or
# declines, compressed client messages of 16 B to 128 KB in one frame or
# several, echoed compressed from ws_perf_deflate_min_length on; RSV1
# where it does not belong fails with 1002, data that is not deflate with
# 1007, a message that inflates past ws_perf_max_message_size with 1009.
# Messages are compressed and inflated here with Compress::Raw::Zlib.
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use WsPerf::Test;

our $ACCEPT = $WsPerf::Test::ACCEPT;

our $HS = qr/\AHTTP\/1\.1 101 Switching Protocols\r\n/
        . qr/Upgrade: websocket\r\nConnection: Upgrade\r\n/
        . qr/Sec-WebSocket-Accept: \Q$ACCEPT\E\r\n/;

# the answer to an offer the server accepts with its defaults
our $PMD = qr/Sec-WebSocket-Extensions: permessage-deflate; /
         . qr/server_no_context_takeover; client_no_context_takeover\r\n\z/;

our $OFFER = 'permessage-deflate; client_max_window_bits';

ws_init();

# registered last, this runs before the suite's defaults (ws_init)
add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value('config', <<'_EOC_') unless defined $block->config;
    location /echo {
        ws_perf_echo;
        ws_perf_deflate on;
        ws_perf_max_message_size 1m;
    }
    location /small {
        ws_perf_echo;
        ws_perf_deflate on;
        ws_perf_max_message_size 64k;
    }
    location /plain {
        ws_perf_echo;
    }
_EOC_
    $block->set_value('raw_response_headers_like', qr/$HS$PMD/)
        unless defined $block->raw_response_headers_like;
    $block->set_value('no_error_log', "[error]\n[alert]\n[crit]")
        unless defined $block->no_error_log;
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: 12.1 the offer browsers send is accepted; a compressed text comes back compressed
--- raw_request eval
handshake('/echo', 'Sec-WebSocket-Extensions', $main::OFFER)
. cdeflate(0x1, ascii(300)) . close_frame(1000)
--- response_inflated eval
sdeflated(1, ascii(300)) . frame_summary(sclose(1000))



=== TEST 2: 12.1 under ws_perf_deflate_min_length (128) a message goes back plain, RSV1 clear
--- raw_request eval
handshake('/echo', 'Sec-WebSocket-Extensions', $main::OFFER)
. cdeflate(0x1, "Hello, deflate") . ctext("plain too") . close_frame(1000)
--- response_body eval
stext("Hello, deflate") . stext("plain too") . sclose(1000)



=== TEST 3: 12.x texts of 16 B to 128 KB, compressed, echoed (compressed from 128 B)
--- raw_request eval
handshake('/echo', 'Sec-WebSocket-Extensions', $main::OFFER)
. cat(map { cdeflate(0x1, utext($_)) } 16, 64, 256, 1024, 4096, 16384, 65536, 131072)
. close_frame(1000)
--- response_inflated eval
frame_summary(stext(utext(16))) . frame_summary(stext(utext(64)))
. cat(map { sdeflated(1, utext($_)) } 256, 1024, 4096, 16384, 65536, 131072)
. frame_summary(sclose(1000))
--- timeout: 10



=== TEST 4: 12.x binaries of 16 B to 128 KB, compressed, echoed; 256 B of noise does not shrink and goes back plain
--- raw_request eval
handshake('/echo', 'Sec-WebSocket-Extensions', $main::OFFER)
. cat(map { cdeflate(0x2, pattern($_, 3)) } 16, 64, 256, 1024, 4096, 16384, 65536, 131072)
. close_frame(1000)
--- response_inflated eval
frame_summary(sbin(pattern(16, 3))) . frame_summary(sbin(pattern(64, 3)))
. frame_summary(sbin(pattern(256, 3)))
. cat(map { sdeflated(2, pattern($_, 3)) } 1024, 4096, 16384, 65536, 131072)
. frame_summary(sclose(1000))
--- timeout: 10



=== TEST 5: 12.x compressed messages in 2, 7 and 100 frames (RSV1 on the first only), a ping between
--- raw_request eval
handshake('/echo', 'Sec-WebSocket-Extensions', $main::OFFER)
. cdeflate(0x1, utext(4000), frames => 2)
. cdeflate(0x2, pattern(20000, 1), frames => 7)
. cdeflate(0x1, ascii(9000), frames => 100, between => cping("p"))
. close_frame(1000)
--- response_inflated eval
sdeflated(1, utext(4000)) . sdeflated(2, pattern(20000, 1))
. frame_summary(spong("p")) . sdeflated(1, ascii(9000))
. frame_summary(sclose(1000))



=== TEST 6: 12.x compressed and plain messages interleave on one connection
--- raw_request eval
handshake('/echo', 'Sec-WebSocket-Extensions', $main::OFFER)
. cdeflate(0x1, ascii(500)) . ctext(ascii(500)) . cdeflate(0x2, pattern(700, 2))
. cbin(pattern(700, 2)) . close_frame(1000)
--- response_inflated eval
sdeflated(1, ascii(500)) . sdeflated(1, ascii(500))
. sdeflated(2, pattern(700, 2)) . sdeflated(2, pattern(700, 2))
. frame_summary(sclose(1000))



=== TEST 7: 12.x an empty compressed message is an empty message
--- raw_request eval
handshake('/echo', 'Sec-WebSocket-Extensions', $main::OFFER)
. cdeflate(0x1, '', raw => "\x00") . cdeflate(0x2, '') . close_frame(1000)
--- response_body eval
stext('') . sbin('') . sclose(1000)



=== TEST 8: 13.x client_no_context_takeover and server_no_context_takeover offered: accepted
--- raw_request eval
handshake('/echo', 'Sec-WebSocket-Extensions',
          'permessage-deflate; server_no_context_takeover; client_no_context_takeover')
. cdeflate(0x1, ascii(200)) . close_frame(1000)
--- response_inflated eval
sdeflated(1, ascii(200)) . frame_summary(sclose(1000))



=== TEST 9: 13.x server_max_window_bits=15 is answered with the window the server compresses with
--- raw_request eval
handshake('/echo', 'Sec-WebSocket-Extensions',
          'permessage-deflate; server_max_window_bits=15; client_max_window_bits=9')
. cdeflate(0x1, ascii(200), bits => 9) . close_frame(1000)
--- raw_response_headers_like eval
qr/$main::HS/ . qr/Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; /
. qr/client_no_context_takeover; server_max_window_bits=15\r\n\z/
--- response_inflated eval
sdeflated(1, ascii(200)) . frame_summary(sclose(1000))



=== TEST 10: 13.x server_max_window_bits under the server's window: that offer is declined, the next accepted
--- raw_request eval
handshake('/echo', 'Sec-WebSocket-Extensions',
          'permessage-deflate; server_max_window_bits=10, permessage-deflate')
. cdeflate(0x1, ascii(200)) . close_frame(1000)
--- response_inflated eval
sdeflated(1, ascii(200)) . frame_summary(sclose(1000))



=== TEST 11: 13.x with ws_perf_deflate_window 10 an offer of server_max_window_bits=10 is accepted
--- http_config
    ws_perf_deflate_window 10;
--- raw_request eval
handshake('/echo', 'Sec-WebSocket-Extensions',
          'permessage-deflate; server_max_window_bits=10')
. cdeflate(0x1, ascii(3000)) . close_frame(1000)
--- raw_response_headers_like eval
qr/$main::HS/ . qr/Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; /
. qr/client_no_context_takeover; server_max_window_bits=10\r\n\z/
--- response_inflated eval
sdeflated(1, ascii(3000)) . frame_summary(sclose(1000))



=== TEST 12: 13.x offers over several headers: an unknown parameter declines the first, the second is taken
--- raw_request eval
handshake('/echo', 'Sec-WebSocket-Extensions', 'permessage-deflate; x_unknown=1',
          'Sec-WebSocket-Extensions', 'x-webkit-deflate-frame, permessage-deflate; client_max_window_bits="12"')
. cdeflate(0x1, ascii(200)) . close_frame(1000)
--- response_inflated eval
sdeflated(1, ascii(200)) . frame_summary(sclose(1000))



=== TEST 13: 13.x only declined offers (a repeated parameter, a bad window): no extension, RSV1 fails with 1002
--- raw_request eval
handshake('/echo', 'Sec-WebSocket-Extensions',
          'permessage-deflate; server_no_context_takeover; server_no_context_takeover, '
          . 'permessage-deflate; client_max_window_bits=16, x-other')
. cdeflate(0x1, ascii(200)) . close_frame(1000)
--- raw_response_headers_like eval
qr/$main::HS\z/
--- response_body eval
sclose(1002)
--- error_log
client sent invalid websocket frame: reserved bits set, closing with 1002



=== TEST 14: a malformed Sec-WebSocket-Extensions is declined with an info line, never refused
--- raw_request eval
handshake('/echo', 'Sec-WebSocket-Extensions', 'permessage-deflate; a="unterminated')
. ctext("still here") . close_frame(1000)
--- raw_response_headers_like eval
qr/$main::HS\z/
--- response_body eval
stext("still here") . sclose(1000)
--- error_log
malformed Sec-WebSocket-Extensions header



=== TEST 15: a huge extensions header (6 KB of offers, none acceptable) is declined
--- raw_request eval
handshake('/echo', 'Sec-WebSocket-Extensions',
          CORE::join(', ', map { "x-ext$_; a=$_; b=\"q,$_\"" } 1 .. 300))
. ctext("fine") . close_frame(1000)
--- raw_response_headers_like eval
qr/$main::HS\z/
--- response_body eval
stext("fine") . sclose(1000)



=== TEST 16: without ws_perf_deflate nothing is answered and RSV1 fails with 1002
--- raw_request eval
handshake('/plain', 'Sec-WebSocket-Extensions', $main::OFFER)
. cdeflate(0x1, ascii(200)) . close_frame(1000)
--- raw_response_headers_like eval
qr/$main::HS\z/
--- response_body eval
sclose(1002)



=== TEST 17: RSV1 on a continuation frame fails with 1002
--- raw_request eval
handshake('/echo', 'Sec-WebSocket-Extensions', $main::OFFER)
. ctext("a", fin => 0, rsv => 4) . ccont("b", rsv => 4) . close_frame(1000)
--- response_body eval
sclose(1002)
--- error_log
compressed bit on a continuation or control frame, closing with 1002



=== TEST 18: RSV1 on a ping fails with 1002
--- raw_request eval
handshake('/echo', 'Sec-WebSocket-Extensions', $main::OFFER)
. cping("x", rsv => 4) . close_frame(1000)
--- response_body eval
sclose(1002)



=== TEST 19: data that is not deflate fails with 1007 and an info line
--- raw_request eval
handshake('/echo', 'Sec-WebSocket-Extensions', $main::OFFER)
. cdeflate(0x1, '', raw => "\xff\xff\xff\xff\x00") . close_frame(1000)
--- response_body eval
sclose(1007)
--- error_log eval
qr/\[info\] .*client sent a compressed message that is not valid deflate data, closing with 1007/



=== TEST 20: a compressed text that inflates to invalid UTF-8 fails with 1007
--- raw_request eval
handshake('/echo', 'Sec-WebSocket-Extensions', $main::OFFER)
. cdeflate(0x1, "ok \xff\xfe" x 50) . close_frame(1000)
--- response_body eval
sclose(1007)
--- error_log
invalid utf-8 in compressed text message, closing with 1007



=== TEST 21: zip bomb: 16 MB of zeros in about 16 KB inflates past 64k and fails with 1009
--- raw_request eval
handshake('/small', 'Sec-WebSocket-Extensions', $main::OFFER)
. cdeflate(0x2, "\0" x (16 << 20)) . close_frame(1000)
--- response_body eval
sclose(1009)
--- error_log eval
qr/\[info\] .*client sent a compressed message that inflates past ws_perf_max_message_size, closing with 1009/
--- timeout: 10



=== TEST 22: exactly ws_perf_max_message_size inflated is accepted
--- raw_request eval
handshake('/small', 'Sec-WebSocket-Extensions', $main::OFFER)
. cdeflate(0x2, pattern(65536, 5)) . cdeflate(0x2, pattern(65537, 5))
. close_frame(1000)
--- response_inflated eval
sdeflated(2, pattern(65536, 5)) . frame_summary(sclose(1009))



=== TEST 23: ws_perf_deflate_client_context 15: a client that keeps its context is answered so, and its messages inflate in order
--- http_config
    ws_perf_deflate_client_context 15;
--- raw_request eval
my ($d) = Compress::Raw::Zlib::Deflate->new(-WindowBits => -15, -AppendOutput => 1);
my @z;
for my $m (ascii(400), ascii(400), utext(300)) {
    my $o = '';
    $d->deflate($m, $o);
    $d->flush($o, Compress::Raw::Zlib::Z_SYNC_FLUSH());
    $o =~ s/\x00\x00\xff\xff\z//;
    push @z, $o;
}
handshake('/echo', 'Sec-WebSocket-Extensions', 'permessage-deflate')
. cdeflate(0x1, '', raw => $z[0]) . cdeflate(0x1, '', raw => $z[1])
. cdeflate(0x1, '', raw => $z[2]) . close_frame(1000)
--- raw_response_headers_like eval
qr/$main::HS/ . qr/Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n\z/
--- response_inflated eval
sdeflated(1, ascii(400)) . sdeflated(1, ascii(400)) . sdeflated(1, utext(300))
. frame_summary(sclose(1000))



=== TEST 24: ws_perf_deflate_client_context 10 limits the client's window in the answer
--- http_config
    ws_perf_deflate_client_context 10;
--- raw_request eval
handshake('/echo', 'Sec-WebSocket-Extensions', $main::OFFER)
. cdeflate(0x1, ascii(200), bits => 10) . close_frame(1000)
--- raw_response_headers_like eval
qr/$main::HS/ . qr/Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; /
. qr/client_max_window_bits=10\r\n\z/
--- response_inflated eval
sdeflated(1, ascii(200)) . frame_summary(sclose(1000))
