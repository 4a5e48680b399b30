# RFC 6455 conformance, category 7: closing handshake (RFC 6455 5.5.1, 7).
# A close with a valid code is answered with a close carrying just that
# code, an empty close with an empty close, then the connection ends;
# invalid codes and a 1-byte payload close with 1002, an invalid UTF-8
# reason with 1007; whatever the client sends after its close is ignored.
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use WsPerf::Test;

ws_init();
no_shuffle();
run_tests();

__DATA__

=== TEST 1: 7.1 valid close code 1000 is echoed
--- raw_request eval
handshake() . close_frame(1000)
--- response_body eval
sclose(1000)



=== TEST 2: 7.2 valid close code 1001 is echoed
--- raw_request eval
handshake() . close_frame(1001)
--- response_body eval
sclose(1001)



=== TEST 3: 7.3 valid close code 1002 is echoed
--- raw_request eval
handshake() . close_frame(1002)
--- response_body eval
sclose(1002)



=== TEST 4: 7.4 valid close code 1003 is echoed
--- raw_request eval
handshake() . close_frame(1003)
--- response_body eval
sclose(1003)



=== TEST 5: 7.5 valid close code 1007 is echoed
--- raw_request eval
handshake() . close_frame(1007)
--- response_body eval
sclose(1007)



=== TEST 6: 7.6 valid close code 1008 is echoed
--- raw_request eval
handshake() . close_frame(1008)
--- response_body eval
sclose(1008)



=== TEST 7: 7.7 valid close code 1009 is echoed
--- raw_request eval
handshake() . close_frame(1009)
--- response_body eval
sclose(1009)



=== TEST 8: 7.8 valid close code 1010 is echoed
--- raw_request eval
handshake() . close_frame(1010)
--- response_body eval
sclose(1010)



=== TEST 9: 7.9 valid close code 1011 is echoed
--- raw_request eval
handshake() . close_frame(1011)
--- response_body eval
sclose(1011)



=== TEST 10: 7.10 valid close code 1012 is echoed
--- raw_request eval
handshake() . close_frame(1012)
--- response_body eval
sclose(1012)



=== TEST 11: 7.11 valid close code 1013 is echoed
--- raw_request eval
handshake() . close_frame(1013)
--- response_body eval
sclose(1013)



=== TEST 12: 7.12 valid close code 1014 is echoed
--- raw_request eval
handshake() . close_frame(1014)
--- response_body eval
sclose(1014)



=== TEST 13: 7.13 valid close code 3000 is echoed
--- raw_request eval
handshake() . close_frame(3000)
--- response_body eval
sclose(3000)



=== TEST 14: 7.14 valid close code 3999 is echoed
--- raw_request eval
handshake() . close_frame(3999)
--- response_body eval
sclose(3999)



=== TEST 15: 7.15 valid close code 4000 is echoed
--- raw_request eval
handshake() . close_frame(4000)
--- response_body eval
sclose(4000)



=== TEST 16: 7.16 valid close code 4999 is echoed
--- raw_request eval
handshake() . close_frame(4999)
--- response_body eval
sclose(4999)



=== TEST 17: 7.17 invalid close code 0 (zero) -> 1002
--- raw_request eval
handshake() . close_frame(0)
--- response_body eval
sclose(1002)



=== TEST 18: 7.18 invalid close code 999 (below the defined range) -> 1002
--- raw_request eval
handshake() . close_frame(999)
--- response_body eval
sclose(1002)



=== TEST 19: 7.19 invalid close code 1004 (reserved) -> 1002
--- raw_request eval
handshake() . close_frame(1004)
--- response_body eval
sclose(1002)



=== TEST 20: 7.20 invalid close code 1005 (reserved: "no status", never sent on the wire) -> 1002
--- raw_request eval
handshake() . close_frame(1005)
--- response_body eval
sclose(1002)



=== TEST 21: 7.21 invalid close code 1006 (reserved: "abnormal closure", never sent on the wire) -> 1002
--- raw_request eval
handshake() . close_frame(1006)
--- response_body eval
sclose(1002)



=== TEST 22: 7.22 invalid close code 1015 (reserved: "TLS handshake failure", never sent on the wire) -> 1002
--- raw_request eval
handshake() . close_frame(1015)
--- response_body eval
sclose(1002)



=== TEST 23: 7.23 invalid close code 1016 (unassigned) -> 1002
--- raw_request eval
handshake() . close_frame(1016)
--- response_body eval
sclose(1002)



=== TEST 24: 7.24 invalid close code 1100 (unassigned) -> 1002
--- raw_request eval
handshake() . close_frame(1100)
--- response_body eval
sclose(1002)



=== TEST 25: 7.25 invalid close code 2000 (unassigned, reserved for extensions) -> 1002
--- raw_request eval
handshake() . close_frame(2000)
--- response_body eval
sclose(1002)



=== TEST 26: 7.26 invalid close code 2999 (the last code below the registered range) -> 1002
--- raw_request eval
handshake() . close_frame(2999)
--- response_body eval
sclose(1002)



=== TEST 27: 7.27 invalid close code 5000 (above the private-use range) -> 1002
--- raw_request eval
handshake() . close_frame(5000)
--- response_body eval
sclose(1002)



=== TEST 28: 7.28 invalid close code 65535 (the largest 16-bit value) -> 1002
--- raw_request eval
handshake() . close_frame(65535)
--- response_body eval
sclose(1002)



=== TEST 29: 7.29 empty close is answered with an empty close
--- raw_request eval
handshake() . close_frame()
--- response_body eval
sclose()



=== TEST 30: 7.30 close payload of one byte -> 1002
--- raw_request eval
handshake() . cframe(0x8, "\x03")
--- response_body eval
sclose(1002)



=== TEST 31: 7.31 close 1000 with an ASCII reason: the answer carries the code only
--- raw_request eval
handshake() . close_frame(1000, "normal closure, goodbye")
--- response_body eval
sclose(1000)



=== TEST 32: 7.32 close 1001 with a multi-byte UTF-8 reason
--- raw_request eval
handshake() . close_frame(1001, u8("\x{3ba}\x{1f79}\x{3c3}\x{3bc}\x{3b5} \x{4e16}\x{754c} \x{1f600}"))
--- response_body eval
sclose(1001)



=== TEST 33: 7.33 close with a 125-byte payload (code and 123-byte reason), the maximum
--- raw_request eval
handshake() . close_frame(4000, ascii(123))
--- response_body eval
sclose(4000)



=== TEST 34: 7.34 close with a 126-byte payload -> 1002
--- raw_request eval
handshake() . close_frame(1000, ascii(124))
--- response_body eval
sclose(1002)



=== TEST 35: 7.35 close reason with a stray continuation byte -> 1007
--- raw_request eval
handshake() . close_frame(1000, "bad \x80 reason")
--- response_body eval
sclose(1007)



=== TEST 36: 7.36 close reason holding a surrogate (ED A0 80) -> 1007
--- raw_request eval
handshake() . close_frame(1000, "\xed\xa0\x80")
--- response_body eval
sclose(1007)



=== TEST 37: 7.37 close reason ending inside a code point (E2 82) -> 1007
--- raw_request eval
handshake() . close_frame(1000, "euro \xe2\x82")
--- response_body eval
sclose(1007)



=== TEST 38: 7.38 close reason with an overlong encoding (C0 AF) -> 1007
--- raw_request eval
handshake() . close_frame(3000, "\xc0\xaf")
--- response_body eval
sclose(1007)



=== TEST 39: 7.39 close reason holding U+0000 and U+10FFFF is valid
--- raw_request eval
handshake() . close_frame(4999, cp(0x0, 0x10ffff))
--- response_body eval
sclose(4999)



=== TEST 40: 7.40 messages before the close are echoed first
--- raw_request eval
handshake() . ctext("one") . cbin("two") . cping("three") . close_frame(1000)
--- response_body eval
stext("one") . sbin("two") . spong("three") . sclose(1000)



=== TEST 41: 7.41 text after the close is ignored
--- raw_request eval
handshake() . close_frame(1000) . ctext("after close")
--- response_body eval
sclose(1000)



=== TEST 42: 7.42 a protocol violation after the close is ignored (no 1002)
--- raw_request eval
handshake() . close_frame(1000) . ctext("rsv", rsv => 4) . cframe(0x3, "") . ccont("x")
--- response_body eval
sclose(1000)



=== TEST 43: 7.43 invalid UTF-8 after the close is ignored (no 1007)
--- raw_request eval
handshake() . close_frame(1001) . ctext("\xff")
--- response_body eval
sclose(1001)



=== TEST 44: 7.44 a second close after the close is ignored
--- raw_request eval
handshake() . close_frame(1000) . close_frame(3000)
--- response_body eval
sclose(1000)



=== TEST 45: 7.45 plain bytes that are no frame at all after the close are ignored
--- raw_request eval
handshake() . close_frame(1000) . "GET / HTTP/1.1\r\n\r\n" . ("\xff" x 64)
--- response_body eval
sclose(1000)



=== TEST 46: 7.46 close sent in a separate write after echoed messages
--- raw_request eval
[handshake() . ctext("first"), close_frame(1000)]
--- raw_request_middle_delay: 0.05
--- response_body eval
stext("first") . sclose(1000)



=== TEST 47: 7.47 close frame delivered one byte per write
--- raw_request eval
[handshake(), unpack('(a1)*', close_frame(1000, "slow"))]
--- raw_request_middle_delay: 0.005
--- response_body eval
sclose(1000)



=== TEST 48: 7.48 close with an all-zero masking key
--- raw_request eval
handshake() . close_frame(1000, "zero key", mask => "\0\0\0\0")
--- response_body eval
sclose(1000)



=== TEST 49: 7.49 close with a reason while a text message is open mid code point: the reason is checked on its own
--- raw_request eval
handshake() . ctext("\xe2\x82", fin => 0) . close_frame(1000, "bye")
--- response_body eval
sclose(1000)



=== TEST 50: 7.50 close reason cut inside a code point across writes is valid
--- raw_request eval
my $f = close_frame(1000, u8("\x{20ac}uro"));
[handshake() . substr($f, 0, 9), substr($f, 9)]
--- raw_request_middle_delay: 0.05
--- response_body eval
sclose(1000)
