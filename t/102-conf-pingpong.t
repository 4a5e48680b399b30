# RFC 6455 conformance, category 2: ping and pong (RFC 6455 5.5.2, 5.5.3).
# A ping is answered by a pong carrying the same payload, in order with the
# echoes, also in the middle of a fragmented message; pongs are accepted
# silently; control frames over 125 bytes close with 1002.
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use WsPerf::Test;

ws_init();
no_shuffle();
run_tests();

__DATA__

=== TEST 1: 2.1 ping without payload -> empty pong
--- raw_request eval
handshake() . cping("") . close_frame(1000)
--- response_body eval
spong("") . sclose(1000)



=== TEST 2: 2.2 ping with a short text payload -> pong with the same payload
--- raw_request eval
handshake() . cping("Hello, pong") . close_frame(1000)
--- response_body eval
spong("Hello, pong") . sclose(1000)



=== TEST 3: 2.3 ping with 125 bytes of payload, the maximum
--- raw_request eval
handshake() . cping(ascii(125)) . close_frame(1000)
--- response_body eval
spong(ascii(125)) . sclose(1000)



=== TEST 4: 2.4 ping with a binary payload of 125 bytes, every kind of byte
--- raw_request eval
handshake() . cping(pattern(125)) . close_frame(1000)
--- response_body eval
spong(pattern(125)) . sclose(1000)



=== TEST 5: 2.5 ping payload is not UTF-8 checked (0xff 0xfe 0xc0 0x80)
--- raw_request eval
handshake() . cping("\xff\xfe\xc0\x80") . close_frame(1000)
--- response_body eval
spong("\xff\xfe\xc0\x80") . sclose(1000)



=== TEST 6: 2.6 ping with 126 bytes of payload -> 1002, no pong
--- raw_request eval
handshake() . cping(ascii(126))
--- response_body eval
sclose(1002)



=== TEST 7: 2.7 ping with 64-bit length and 200 bytes of payload -> 1002
--- raw_request eval
handshake() . cping(pattern(200), enc => 64)
--- response_body eval
sclose(1002)



=== TEST 8: 2.8 oversized ping after a valid text: echo, then 1002
--- raw_request eval
handshake() . ctext("before") . cping(ascii(126)) . close_frame(1000)
--- response_body eval
stext("before") . sclose(1002)



=== TEST 9: 2.9 unsolicited empty pong is ignored
--- raw_request eval
handshake() . cpong("") . ctext("after pong") . close_frame(1000)
--- response_body eval
stext("after pong") . sclose(1000)



=== TEST 10: 2.10 unsolicited pong with a payload is ignored
--- raw_request eval
handshake() . cpong("unsolicited") . close_frame(1000)
--- response_body eval
sclose(1000)



=== TEST 11: 2.11 unsolicited pong with 125 bytes of binary payload is ignored
--- raw_request eval
handshake() . cpong(pattern(125)) . cbin("\x00") . close_frame(1000)
--- response_body eval
sbin("\x00") . sclose(1000)



=== TEST 12: 2.12 pong with 126 bytes of payload -> 1002
--- raw_request eval
handshake() . cpong(ascii(126))
--- response_body eval
sclose(1002)



=== TEST 13: 2.13 ping in the middle of a fragmented text: pong first, then the echo
--- raw_request eval
handshake() . ctext("Hello, ", fin => 0) . cping("mid") . ccont("World") . close_frame(1000)
--- response_body eval
spong("mid") . stext("Hello, World") . sclose(1000)



=== TEST 14: 2.14 ping in the middle of a fragmented binary
--- raw_request eval
handshake() . cbin("\x01\x02", fin => 0) . cping("\x00\xff") . ccont("\x03") . close_frame(1000)
--- response_body eval
spong("\x00\xff") . sbin("\x01\x02\x03") . sclose(1000)



=== TEST 15: 2.15 a ping between every pair of fragments
--- raw_request eval
handshake() . ctext("a", fin => 0) . cping("1") . ccont("b", fin => 0) . cping("2")
    . ccont("c", fin => 0) . cping("3") . ccont("d") . close_frame(1000)
--- response_body eval
spong("1") . spong("2") . spong("3") . stext("abcd") . sclose(1000)



=== TEST 16: 2.16 pong in the middle of a fragmented message is ignored
--- raw_request eval
handshake() . ctext("frag", fin => 0) . cpong("x") . ccont("mented") . close_frame(1000)
--- response_body eval
stext("fragmented") . sclose(1000)



=== TEST 17: 2.17 ten pings -> ten pongs in order
--- raw_request eval
handshake() . cat(map { cping("ping $_") } 1 .. 10) . close_frame(1000)
--- response_body eval
cat(map { spong("ping $_") } 1 .. 10) . sclose(1000)



=== TEST 18: 2.18 one hundred pings in one write -> one hundred pongs in order
--- raw_request eval
handshake() . cat(map { cping("p$_") } 1 .. 100) . close_frame(1000)
--- response_body eval
cat(map { spong("p$_") } 1 .. 100) . sclose(1000)



=== TEST 19: 2.19 one thousand pings of 125 bytes in one write
--- raw_request eval
handshake() . cat(map { cping(pattern(125, $_)) } 1 .. 1000) . close_frame(1000)
--- response_body eval
cat(map { spong(pattern(125, $_)) } 1 .. 1000) . sclose(1000)



=== TEST 20: 2.20 pings and messages interleaved: replies keep the input order
--- raw_request eval
handshake() . cping("1") . ctext("two") . cping("3") . cbin("four") . cping("5")
    . close_frame(1000)
--- response_body eval
spong("1") . stext("two") . spong("3") . sbin("four") . spong("5") . sclose(1000)



=== TEST 21: 2.21 ping then close -> pong then close
--- raw_request eval
handshake() . cping("last") . close_frame(1000)
--- response_body eval
spong("last") . sclose(1000)



=== TEST 22: 2.22 ping after the client's close is not answered
--- raw_request eval
handshake() . close_frame(1000) . cping("too late")
--- response_body eval
sclose(1000)



=== TEST 23: 2.23 ping with FIN=0 -> 1002
--- raw_request eval
handshake() . cping("fragmented", fin => 0)
--- response_body eval
sclose(1002)



=== TEST 24: 2.24 ping with an all-zero masking key
--- raw_request eval
handshake() . cping("zero", mask => "\0\0\0\0") . close_frame(1000)
--- response_body eval
spong("zero") . sclose(1000)



=== TEST 25: 2.25 ping delivered one byte per write
--- raw_request eval
[handshake(), unpack('(a1)*', cping("slow ping")), close_frame(1000)]
--- raw_request_middle_delay: 0.005
--- response_body eval
spong("slow ping") . sclose(1000)



=== TEST 26: 2.26 unmasked pong -> 1002
--- raw_request eval
handshake() . cpong("x", mask => 0)
--- response_body eval
sclose(1002)



=== TEST 27: 2.27 ping is answered while a fragmented message is still open
--- raw_request eval
handshake() . ctext("never finished", fin => 0) . cping("now")
    . close_frame(1000)
--- response_body eval
spong("now") . sclose(1000)



=== TEST 28: 2.28 ten pings in separate writes -> ten pongs in order
--- raw_request eval
[handshake(), (map { cping("ping $_") } 1 .. 10), close_frame(1000)]
--- raw_request_middle_delay: 0.01
--- response_body eval
cat(map { spong("ping $_") } 1 .. 10) . sclose(1000)
