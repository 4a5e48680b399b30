# RFC 6455 conformance, category 3: reserved bits (RFC 6455 5.2).
# No extension is negotiated, so any RSV bit on any frame fails the
# connection with 1002; messages completed before it are echoed first.
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use WsPerf::Test;

ws_init();
no_shuffle();
run_tests();

__DATA__

=== TEST 1: 3.1 text with RSV1 -> 1002
--- raw_request eval
handshake() . ctext("Hello", rsv => 4)
--- response_body eval
sclose(1002)



=== TEST 2: 3.2 text with RSV2 -> 1002
--- raw_request eval
handshake() . ctext("Hello", rsv => 2)
--- response_body eval
sclose(1002)



=== TEST 3: 3.3 text with RSV3 -> 1002
--- raw_request eval
handshake() . ctext("Hello", rsv => 1)
--- response_body eval
sclose(1002)



=== TEST 4: 3.4 text with RSV1 and RSV2 -> 1002
--- raw_request eval
handshake() . ctext("Hello", rsv => 6)
--- response_body eval
sclose(1002)



=== TEST 5: 3.5 text with RSV1 and RSV3 -> 1002
--- raw_request eval
handshake() . ctext("Hello", rsv => 5)
--- response_body eval
sclose(1002)



=== TEST 6: 3.6 text with RSV2 and RSV3 -> 1002
--- raw_request eval
handshake() . ctext("Hello", rsv => 3)
--- response_body eval
sclose(1002)



=== TEST 7: 3.7 text with all three RSV bits -> 1002
--- raw_request eval
handshake() . ctext("Hello", rsv => 7)
--- response_body eval
sclose(1002)



=== TEST 8: 3.8 empty text with RSV1 -> 1002
--- raw_request eval
handshake() . ctext("", rsv => 4)
--- response_body eval
sclose(1002)



=== TEST 9: 3.9 binary with RSV1 -> 1002
--- raw_request eval
handshake() . cbin("\x00\x01\x02", rsv => 4)
--- response_body eval
sclose(1002)



=== TEST 10: 3.10 binary with RSV2 -> 1002
--- raw_request eval
handshake() . cbin("\x00\x01\x02", rsv => 2)
--- response_body eval
sclose(1002)



=== TEST 11: 3.11 binary with RSV3 -> 1002
--- raw_request eval
handshake() . cbin("\x00\x01\x02", rsv => 1)
--- response_body eval
sclose(1002)



=== TEST 12: 3.12 binary of 300 bytes with all three RSV bits -> 1002
--- raw_request eval
handshake() . cbin(pattern(300), rsv => 7)
--- response_body eval
sclose(1002)



=== TEST 13: 3.13 ping with RSV1 -> 1002, no pong
--- raw_request eval
handshake() . cping("ping", rsv => 4)
--- response_body eval
sclose(1002)



=== TEST 14: 3.14 ping with RSV2 -> 1002
--- raw_request eval
handshake() . cping("ping", rsv => 2)
--- response_body eval
sclose(1002)



=== TEST 15: 3.15 ping with RSV3 -> 1002
--- raw_request eval
handshake() . cping("ping", rsv => 1)
--- response_body eval
sclose(1002)



=== TEST 16: 3.16 ping with all three RSV bits -> 1002
--- raw_request eval
handshake() . cping("", rsv => 7)
--- response_body eval
sclose(1002)



=== TEST 17: 3.17 pong with RSV1 -> 1002
--- raw_request eval
handshake() . cpong("pong", rsv => 4)
--- response_body eval
sclose(1002)



=== TEST 18: 3.18 pong with RSV3 -> 1002
--- raw_request eval
handshake() . cpong("", rsv => 1)
--- response_body eval
sclose(1002)



=== TEST 19: 3.19 close with RSV1 -> 1002 (not an echo of 1000)
--- raw_request eval
handshake() . close_frame(1000, undef, rsv => 4)
--- response_body eval
sclose(1002)



=== TEST 20: 3.20 close with RSV2 -> 1002
--- raw_request eval
handshake() . close_frame(1000, "bye", rsv => 2)
--- response_body eval
sclose(1002)



=== TEST 21: 3.21 first fragment with RSV1 -> 1002
--- raw_request eval
handshake() . ctext("frag", fin => 0, rsv => 4) . ccont("ment")
--- response_body eval
sclose(1002)



=== TEST 22: 3.22 continuation frame with RSV1 -> 1002, partial message dropped
--- raw_request eval
handshake() . ctext("frag", fin => 0) . ccont("ment", rsv => 4)
--- response_body eval
sclose(1002)



=== TEST 23: 3.23 continuation frame with RSV2 in a binary message -> 1002
--- raw_request eval
handshake() . cbin("\x01", fin => 0) . ccont("\x02", fin => 0, rsv => 2) . ccont("\x03")
--- response_body eval
sclose(1002)



=== TEST 24: 3.24 valid text then text with RSV1: echo first, then 1002
--- raw_request eval
handshake() . ctext("Hello") . ctext("Hello", rsv => 4) . close_frame(1000)
--- response_body eval
stext("Hello") . sclose(1002)



=== TEST 25: 3.25 valid binary then binary with RSV2: echo first, then 1002
--- raw_request eval
handshake() . cbin("\xca\xfe") . cbin("\xca\xfe", rsv => 2) . close_frame(1000)
--- response_body eval
sbin("\xca\xfe") . sclose(1002)



=== TEST 26: 3.26 valid text then ping with RSV3: echo first, then 1002
--- raw_request eval
handshake() . ctext("Hello") . cping("p", rsv => 1) . close_frame(1000)
--- response_body eval
stext("Hello") . sclose(1002)



=== TEST 27: 3.27 valid ping then ping with RSV1: pong first, then 1002
--- raw_request eval
handshake() . cping("ok") . cping("bad", rsv => 4)
--- response_body eval
spong("ok") . sclose(1002)



=== TEST 28: 3.28 nothing after the RSV frame is processed
--- raw_request eval
handshake() . ctext("one") . ctext("two", rsv => 4) . ctext("three") . cping("four")
    . close_frame(1000)
--- response_body eval
stext("one") . sclose(1002)



=== TEST 29: 3.29 RSV frame sent in a separate write after an echoed message
--- raw_request eval
[handshake() . ctext("first"), cbin("later", rsv => 6)]
--- raw_request_middle_delay: 0.05
--- response_body eval
stext("first") . sclose(1002)
