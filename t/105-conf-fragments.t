# RFC 6455 conformance, category 5: fragmentation (RFC 6455 5.4).
# A message in any number of fragments, empty ones included, is echoed as
# one frame; control frames may be interleaved and are answered at once;
# fragmented control frames, continuations without a started message and
# new messages inside a fragmented one fail the connection with 1002.
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use WsPerf::Test;

ws_init();
no_shuffle();
run_tests();

__DATA__

=== TEST 1: 5.1 text in one fragment (FIN=1, the trivial case)
--- raw_request eval
handshake() . cfrags(0x1, "whole") . close_frame(1000)
--- response_body eval
stext("whole") . sclose(1000)



=== TEST 2: 5.2 text in two fragments
--- raw_request eval
handshake() . cfrags(0x1, "frag", "mented") . close_frame(1000)
--- response_body eval
stext("fragmented") . sclose(1000)



=== TEST 3: 5.3 text in three fragments
--- raw_request eval
handshake() . cfrags(0x1, "one ", "two ", "three") . close_frame(1000)
--- response_body eval
stext("one two three") . sclose(1000)



=== TEST 4: 5.4 text in ten fragments
--- raw_request eval
handshake() . cfrags(0x1, map { "part$_;" } 1 .. 10) . close_frame(1000)
--- response_body eval
stext(cat map { "part$_;" } 1 .. 10) . sclose(1000)



=== TEST 5: 5.5 text in 100 fragments of one byte
--- raw_request eval
handshake() . csplit(0x1, ascii(100), 1) . close_frame(1000)
--- response_body eval
stext(ascii(100)) . sclose(1000)



=== TEST 6: 5.6 text in 1000 fragments of 7 bytes
--- raw_request eval
handshake() . csplit(0x1, ascii(7000), 7) . close_frame(1000)
--- response_body eval
stext(ascii(7000)) . sclose(1000)



=== TEST 7: 5.7 binary in two fragments
--- raw_request eval
handshake() . cfrags(0x2, "\x00\x01", "\x02\x03") . close_frame(1000)
--- response_body eval
sbin("\x00\x01\x02\x03") . sclose(1000)



=== TEST 8: 5.8 binary in three fragments
--- raw_request eval
handshake() . cfrags(0x2, pattern(10, 1), pattern(20, 2), pattern(30, 3)) . close_frame(1000)
--- response_body eval
sbin(pattern(10, 1) . pattern(20, 2) . pattern(30, 3)) . sclose(1000)



=== TEST 9: 5.9 binary in ten fragments
--- raw_request eval
handshake() . csplit(0x2, pattern(1000), 100) . close_frame(1000)
--- response_body eval
sbin(pattern(1000)) . sclose(1000)



=== TEST 10: 5.10 binary in 256 fragments of one byte
--- raw_request eval
handshake() . csplit(0x2, pattern(256), 1) . close_frame(1000)
--- response_body eval
sbin(pattern(256)) . sclose(1000)



=== TEST 11: 5.11 fragments of every length encoding add up (125 + 126 + 65535 + 65536)
--- raw_request eval
handshake() . cfrags(0x2, pattern(125, 1), pattern(126, 2), pattern(65535, 3), pattern(65536, 4))
    . close_frame(1000)
--- response_body eval
sbin(pattern(125, 1) . pattern(126, 2) . pattern(65535, 3) . pattern(65536, 4)) . sclose(1000)



=== TEST 12: 5.12 text with an empty first fragment
--- raw_request eval
handshake() . cfrags(0x1, "", "payload") . close_frame(1000)
--- response_body eval
stext("payload") . sclose(1000)



=== TEST 13: 5.13 text with an empty middle fragment
--- raw_request eval
handshake() . cfrags(0x1, "pay", "", "load") . close_frame(1000)
--- response_body eval
stext("payload") . sclose(1000)



=== TEST 14: 5.14 text with an empty final fragment
--- raw_request eval
handshake() . cfrags(0x1, "payload", "") . close_frame(1000)
--- response_body eval
stext("payload") . sclose(1000)



=== TEST 15: 5.15 text made only of empty fragments -> empty text
--- raw_request eval
handshake() . cfrags(0x1, "", "", "") . close_frame(1000)
--- response_body eval
stext("") . sclose(1000)



=== TEST 16: 5.16 binary made only of empty fragments -> empty binary
--- raw_request eval
handshake() . cfrags(0x2, "", "") . close_frame(1000)
--- response_body eval
sbin("") . sclose(1000)



=== TEST 17: 5.17 pong between fragments is ignored
--- raw_request eval
handshake() . ctext("ab", fin => 0) . cpong("ignored") . ccont("cd") . close_frame(1000)
--- response_body eval
stext("abcd") . sclose(1000)



=== TEST 18: 5.18 ping before, inside and after a fragmented message: replies in order
--- raw_request eval
handshake() . cping("before") . cbin("\x01", fin => 0) . cping("inside")
    . ccont("\x02") . cping("after") . close_frame(1000)
--- response_body eval
spong("before") . spong("inside") . sbin("\x01\x02") . spong("after") . sclose(1000)



=== TEST 19: 5.19 pings and pongs between every fragment of a ten-fragment text
--- raw_request eval
handshake() . cat(map {
    ($_ == 1 ? ctext("f$_,", fin => 0) : ccont("f$_,", fin => $_ == 10 ? 1 : 0))
    . ($_ < 10 ? cping("p$_") . cpong("q$_") : '')
} 1 .. 10) . close_frame(1000)
--- response_body eval
cat(map { spong("p$_") } 1 .. 9) . stext(cat map { "f$_," } 1 .. 10)
    . sclose(1000)



=== TEST 20: 5.20 two fragmented messages back to back
--- raw_request eval
handshake() . cfrags(0x1, "first ", "message") . cfrags(0x2, "\x02", "\x02")
    . close_frame(1000)
--- response_body eval
stext("first message") . sbin("\x02\x02") . sclose(1000)



=== TEST 21: 5.21 whole, fragmented, whole messages keep their order
--- raw_request eval
handshake() . ctext("one") . cfrags(0x1, "t", "w", "o") . cbin("three") . close_frame(1000)
--- response_body eval
stext("one") . stext("two") . sbin("three") . sclose(1000)



=== TEST 22: 5.22 fragments delivered in separate writes
--- raw_request eval
[handshake() . ctext("Hello, ", fin => 0), ccont("fragmented ", fin => 0),
 ccont("World") . close_frame(1000)]
--- raw_request_middle_delay: 0.02
--- response_body eval
stext("Hello, fragmented World") . sclose(1000)



=== TEST 23: 5.23 continuation without a started message (FIN=1) -> 1002
--- raw_request eval
handshake() . ccont("orphan")
--- response_body eval
sclose(1002)



=== TEST 24: 5.24 continuation without a started message (FIN=0) -> 1002
--- raw_request eval
handshake() . ccont("orphan", fin => 0) . ccont("end")
--- response_body eval
sclose(1002)



=== TEST 25: 5.25 empty continuation without a started message -> 1002
--- raw_request eval
handshake() . ccont("")
--- response_body eval
sclose(1002)



=== TEST 26: 5.26 continuation after a complete text: echo, then 1002
--- raw_request eval
handshake() . ctext("complete") . ccont("orphan") . close_frame(1000)
--- response_body eval
stext("complete") . sclose(1002)



=== TEST 27: 5.27 continuation after a complete fragmented message: echo, then 1002
--- raw_request eval
handshake() . cfrags(0x2, "\x01", "\x02") . ccont("\x03")
--- response_body eval
sbin("\x01\x02") . sclose(1002)



=== TEST 28: 5.28 fragmented ping (FIN=0) -> 1002, no pong
--- raw_request eval
handshake() . cping("frag", fin => 0) . ccont("ment")
--- response_body eval
sclose(1002)



=== TEST 29: 5.29 fragmented pong (FIN=0) -> 1002
--- raw_request eval
handshake() . cpong("frag", fin => 0) . ccont("ment")
--- response_body eval
sclose(1002)



=== TEST 30: 5.30 fragmented close (FIN=0) -> 1002
--- raw_request eval
handshake() . close_frame(1000, undef, fin => 0) . ccont("")
--- response_body eval
sclose(1002)



=== TEST 31: 5.31 empty ping with FIN=0 inside a fragmented text -> 1002
--- raw_request eval
handshake() . ctext("Hello", fin => 0) . cping("", fin => 0) . ccont(" World")
--- response_body eval
sclose(1002)



=== TEST 32: 5.32 new text inside a fragmented text -> 1002
--- raw_request eval
handshake() . ctext("first", fin => 0) . ctext("second") . ccont(" end")
--- response_body eval
sclose(1002)



=== TEST 33: 5.33 new fragmented text inside a fragmented text -> 1002
--- raw_request eval
handshake() . ctext("first", fin => 0) . ctext("second", fin => 0) . ccont(" end")
--- response_body eval
sclose(1002)



=== TEST 34: 5.34 new binary inside a fragmented text -> 1002
--- raw_request eval
handshake() . ctext("first", fin => 0) . cbin("\x00")
--- response_body eval
sclose(1002)



=== TEST 35: 5.35 new text inside a fragmented binary -> 1002
--- raw_request eval
handshake() . cbin("\x00", fin => 0) . ctext("text")
--- response_body eval
sclose(1002)



=== TEST 36: 5.36 new binary inside a fragmented binary -> 1002
--- raw_request eval
handshake() . cbin("\x00", fin => 0) . cbin("\x01")
--- response_body eval
sclose(1002)



=== TEST 37: 5.37 new message after several fragments: earlier messages echoed, then 1002
--- raw_request eval
handshake() . ctext("done") . ctext("a", fin => 0) . ccont("b", fin => 0) . cbin("x")
--- response_body eval
stext("done") . sclose(1002)



=== TEST 38: 5.38 close in the middle of a fragmented message: close echoed, message dropped
--- raw_request eval
handshake() . ctext("unfinished", fin => 0) . close_frame(1000)
--- response_body eval
sclose(1000)



=== TEST 39: 5.39 close with code 1001 in the middle of a fragmented binary
--- raw_request eval
handshake() . cbin("\x01", fin => 0) . ccont("\x02", fin => 0) . close_frame(1001)
--- response_body eval
sclose(1001)



=== TEST 40: 5.40 a 64 KiB text in 4 KiB fragments with a ping after each
--- raw_request eval
my @p = map { substr(ascii(65536), $_ * 4096, 4096) } 0 .. 15;
handshake() . cat(map {
    cframe($_ == 0 ? 0x1 : 0x0, $p[$_], fin => $_ == 15 ? 1 : 0) . cping("$_")
} 0 .. 15) . close_frame(1000)
--- response_body eval
cat(map { spong("$_") } 0 .. 14) . stext(ascii(65536)) . spong("15") . sclose(1000)



=== TEST 41: 5.41 fragments and pings in separate writes, each frame cut in two
--- raw_request eval
my @frames = (ctext("Hello, ", fin => 0), cping("a"), ccont("fragmented ", fin => 0),
              cping("b"), ccont("World"));
[handshake(), (map { (substr($_, 0, 3), substr($_, 3)) } @frames), close_frame(1000)]
--- raw_request_middle_delay: 0.01
--- response_body eval
spong("a") . spong("b") . stext("Hello, fragmented World") . sclose(1000)
