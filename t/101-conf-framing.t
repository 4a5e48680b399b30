# RFC 6455 conformance, category 1: framing (RFC 6455 section 5.2).
# Text and binary messages of every length-encoding boundary are echoed as
# one unmasked frame with the minimal length encoding; masking is undone
# whatever the key; broken frame headers close with 1002.
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use WsPerf::Test;

ws_init();
no_shuffle();
run_tests();

__DATA__

=== TEST 1: 1.1 empty text message is echoed as an empty text frame
--- raw_request eval
handshake() . ctext("") . close_frame(1000)
--- response_body eval
stext("") . sclose(1000)



=== TEST 2: 1.2 text of 1 byte (7-bit length)
--- raw_request eval
handshake() . ctext("*") . close_frame(1000)
--- response_body eval
stext("*") . sclose(1000)



=== TEST 3: 1.3 text of 125 bytes, the largest 7-bit length
--- raw_request eval
handshake() . ctext(ascii(125)) . close_frame(1000)
--- response_body eval
stext(ascii(125)) . sclose(1000)



=== TEST 4: 1.4 text of 126 bytes, the smallest 16-bit length
--- raw_request eval
handshake() . ctext(ascii(126)) . close_frame(1000)
--- response_body eval
stext(ascii(126)) . sclose(1000)



=== TEST 5: 1.5 text of 127 bytes (16-bit length, not the 64-bit marker)
--- raw_request eval
handshake() . ctext(ascii(127)) . close_frame(1000)
--- response_body eval
stext(ascii(127)) . sclose(1000)



=== TEST 6: 1.6 text of 128 bytes
--- raw_request eval
handshake() . ctext(ascii(128)) . close_frame(1000)
--- response_body eval
stext(ascii(128)) . sclose(1000)



=== TEST 7: 1.7 text of 1000 bytes
--- raw_request eval
handshake() . ctext(ascii(1000)) . close_frame(1000)
--- response_body eval
stext(ascii(1000)) . sclose(1000)



=== TEST 8: 1.8 text of 4096 bytes
--- raw_request eval
handshake() . ctext(ascii(4096)) . close_frame(1000)
--- response_body eval
stext(ascii(4096)) . sclose(1000)



=== TEST 9: 1.9 text of 65535 bytes, the largest 16-bit length
--- raw_request eval
handshake() . ctext(ascii(65535)) . close_frame(1000)
--- response_body eval
stext(ascii(65535)) . sclose(1000)



=== TEST 10: 1.10 text of 65536 bytes, the smallest 64-bit length
--- raw_request eval
handshake() . ctext(ascii(65536)) . close_frame(1000)
--- response_body eval
stext(ascii(65536)) . sclose(1000)



=== TEST 11: 1.11 text of 100000 bytes (64-bit length)
--- raw_request eval
handshake() . ctext(ascii(100000)) . close_frame(1000)
--- response_body eval
stext(ascii(100000)) . sclose(1000)



=== TEST 12: 1.12 empty binary message is echoed as an empty binary frame
--- raw_request eval
handshake() . cbin("") . close_frame(1000)
--- response_body eval
sbin("") . sclose(1000)



=== TEST 13: 1.13 binary of 1 byte (0x00)
--- raw_request eval
handshake() . cbin("\x00") . close_frame(1000)
--- response_body eval
sbin("\x00") . sclose(1000)



=== TEST 14: 1.14 binary of 125 bytes
--- raw_request eval
handshake() . cbin(pattern(125)) . close_frame(1000)
--- response_body eval
sbin(pattern(125)) . sclose(1000)



=== TEST 15: 1.15 binary of 126 bytes
--- raw_request eval
handshake() . cbin(pattern(126)) . close_frame(1000)
--- response_body eval
sbin(pattern(126)) . sclose(1000)



=== TEST 16: 1.16 binary of 127 bytes
--- raw_request eval
handshake() . cbin(pattern(127)) . close_frame(1000)
--- response_body eval
sbin(pattern(127)) . sclose(1000)



=== TEST 17: 1.17 binary of 128 bytes
--- raw_request eval
handshake() . cbin(pattern(128)) . close_frame(1000)
--- response_body eval
sbin(pattern(128)) . sclose(1000)



=== TEST 18: 1.18 binary of 65535 bytes
--- raw_request eval
handshake() . cbin(pattern(65535)) . close_frame(1000)
--- response_body eval
sbin(pattern(65535)) . sclose(1000)



=== TEST 19: 1.19 binary of 65536 bytes
--- raw_request eval
handshake() . cbin(pattern(65536)) . close_frame(1000)
--- response_body eval
sbin(pattern(65536)) . sclose(1000)



=== TEST 20: 1.20 binary of 100000 bytes
--- raw_request eval
handshake() . cbin(pattern(100000, 3)) . close_frame(1000)
--- response_body eval
sbin(pattern(100000, 3)) . sclose(1000)



=== TEST 21: 1.21 binary carrying every byte value 0x00..0xff
--- raw_request eval
handshake() . cbin(cat map { chr } 0 .. 255) . close_frame(1000)
--- response_body eval
sbin(cat map { chr } 0 .. 255) . sclose(1000)



=== TEST 22: 1.22 text with an all-zero masking key
--- raw_request eval
handshake() . ctext("zero key", mask => "\0\0\0\0") . close_frame(1000)
--- response_body eval
stext("zero key") . sclose(1000)



=== TEST 23: 1.23 binary with an all-ones masking key
--- raw_request eval
handshake() . cbin(pattern(300), mask => "\xff\xff\xff\xff") . close_frame(1000)
--- response_body eval
sbin(pattern(300)) . sclose(1000)



=== TEST 24: 1.24 payload lengths 1..9 (mask offsets not a multiple of 4)
--- raw_request eval
handshake() . cat(map { cbin(pattern($_, $_)) } 1 .. 9) . close_frame(1000)
--- response_body eval
cat(map { sbin(pattern($_, $_)) } 1 .. 9) . sclose(1000)



=== TEST 25: 1.25 two text messages in one write are echoed in order
--- raw_request eval
handshake() . ctext("first") . ctext("second") . close_frame(1000)
--- response_body eval
stext("first") . stext("second") . sclose(1000)



=== TEST 26: 1.26 text, binary, text keep their types and order
--- raw_request eval
handshake() . ctext("one") . cbin("\x01\x02") . ctext("three") . close_frame(1000)
--- response_body eval
stext("one") . sbin("\x01\x02") . stext("three") . sclose(1000)



=== TEST 27: 1.27 messages of all three length encodings back to back
--- raw_request eval
handshake() . ctext(ascii(5)) . cbin(pattern(300)) . ctext(ascii(70000))
    . cbin(pattern(125)) . close_frame(1000)
--- response_body eval
stext(ascii(5)) . sbin(pattern(300)) . stext(ascii(70000))
    . sbin(pattern(125)) . sclose(1000)



=== TEST 28: 1.28 handshake and frames in separate writes
--- raw_request eval
[handshake(), ctext("after the handshake") . close_frame(1000)]
--- raw_request_middle_delay: 0.05
--- response_body eval
stext("after the handshake") . sclose(1000)



=== TEST 29: 1.29 a frame delivered one byte per write
--- raw_request eval
[handshake(), unpack('(a1)*', ctext("byte by byte")), close_frame(1000)]
--- raw_request_middle_delay: 0.005
--- response_body eval
stext("byte by byte") . sclose(1000)



=== TEST 30: 1.30 a 16-bit length header split inside the length field
--- raw_request eval
my $f = cbin(pattern(200));
[handshake() . substr($f, 0, 3), substr($f, 3, 3), substr($f, 6) . close_frame(1000)]
--- raw_request_middle_delay: 0.02
--- response_body eval
sbin(pattern(200)) . sclose(1000)



=== TEST 31: 1.31 a 64-bit length header split inside the masking key
--- raw_request eval
my $f = cbin(pattern(70000));
[handshake() . substr($f, 0, 12), substr($f, 12, 100), substr($f, 112) . close_frame(1000)]
--- raw_request_middle_delay: 0.02
--- response_body eval
sbin(pattern(70000)) . sclose(1000)



=== TEST 32: 1.32 unmasked text frame from the client -> 1002
--- raw_request eval
handshake() . ctext("not masked", mask => 0)
--- response_body eval
sclose(1002)



=== TEST 33: 1.33 unmasked binary frame from the client -> 1002
--- raw_request eval
handshake() . cbin("\x01\x02\x03", mask => 0)
--- response_body eval
sclose(1002)



=== TEST 34: 1.34 unmasked empty text frame -> 1002
--- raw_request eval
handshake() . ctext("", mask => 0)
--- response_body eval
sclose(1002)



=== TEST 35: 1.35 unmasked frame after a valid one: echo first, then 1002
--- raw_request eval
handshake() . ctext("valid") . ctext("unmasked", mask => 0) . close_frame(1000)
--- response_body eval
stext("valid") . sclose(1002)



=== TEST 36: 1.36 unmasked ping -> 1002, no pong
--- raw_request eval
handshake() . cping("ping", mask => 0)
--- response_body eval
sclose(1002)



=== TEST 37: 1.37 unmasked close -> 1002
--- raw_request eval
handshake() . close_frame(1000, undef, mask => 0)
--- response_body eval
sclose(1002)



=== TEST 38: 1.38 64-bit length with the most significant bit set -> 1002
--- raw_request eval
handshake() . ctext("Hello", len => 5, len_hi => 0x80000000)
--- response_body eval
sclose(1002)



=== TEST 39: 1.39 64-bit length 0xffffffffffffffff -> 1002
--- raw_request eval
handshake() . cbin("", len => 0xffffffff, len_hi => 0xffffffff)
--- response_body eval
sclose(1002)



=== TEST 40: 1.40 64-bit length with the top bit set after a valid message
--- raw_request eval
handshake() . cbin("ok") . cbin("", len => 0, len_hi => 0x80000000)
--- response_body eval
sbin("ok") . sclose(1002)



=== TEST 41: 1.41 a 65536-byte text delivered in 997-byte writes
--- raw_request eval
my $f = ctext(ascii(65536));
[handshake(), (map { substr($f, $_ * 997, 997) } 0 .. int((length($f) - 1) / 997)),
 close_frame(1000)]
--- raw_request_middle_delay: 0.001
--- response_body eval
stext(ascii(65536)) . sclose(1000)



=== TEST 42: 1.42 header and payload in separate writes, cut right after the masking key
--- raw_request eval
my $f = ctext("payload arrives later");
[handshake() . substr($f, 0, 6), substr($f, 6) . close_frame(1000)]
--- raw_request_middle_delay: 0.05
--- response_body eval
stext("payload arrives later") . sclose(1000)
