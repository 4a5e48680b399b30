# RFC 6455 conformance, category 4: opcodes (RFC 6455 5.2, 11.8).
# Opcodes 0x3-0x7 (reserved data) and 0xB-0xF (reserved control) fail the
# connection with 1002, alone, after valid messages (which are echoed
# first) and inside a fragmented message.
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use WsPerf::Test;

ws_init();
no_shuffle();
run_tests();

__DATA__

=== TEST 1: 4.1 reserved data opcode 0x3, empty -> 1002
--- raw_request eval
handshake() . cframe(0x3, "")
--- response_body eval
sclose(1002)



=== TEST 2: 4.2 reserved data opcode 0x4, empty -> 1002
--- raw_request eval
handshake() . cframe(0x4, "")
--- response_body eval
sclose(1002)



=== TEST 3: 4.3 reserved data opcode 0x5, empty -> 1002
--- raw_request eval
handshake() . cframe(0x5, "")
--- response_body eval
sclose(1002)



=== TEST 4: 4.4 reserved data opcode 0x6, empty -> 1002
--- raw_request eval
handshake() . cframe(0x6, "")
--- response_body eval
sclose(1002)



=== TEST 5: 4.5 reserved data opcode 0x7, empty -> 1002
--- raw_request eval
handshake() . cframe(0x7, "")
--- response_body eval
sclose(1002)



=== TEST 6: 4.6 reserved control opcode 0xB, empty -> 1002
--- raw_request eval
handshake() . cframe(0xB, "")
--- response_body eval
sclose(1002)



=== TEST 7: 4.7 reserved control opcode 0xC, empty -> 1002
--- raw_request eval
handshake() . cframe(0xC, "")
--- response_body eval
sclose(1002)



=== TEST 8: 4.8 reserved control opcode 0xD, empty -> 1002
--- raw_request eval
handshake() . cframe(0xD, "")
--- response_body eval
sclose(1002)



=== TEST 9: 4.9 reserved control opcode 0xE, empty -> 1002
--- raw_request eval
handshake() . cframe(0xE, "")
--- response_body eval
sclose(1002)



=== TEST 10: 4.10 reserved control opcode 0xF, empty -> 1002
--- raw_request eval
handshake() . cframe(0xF, "")
--- response_body eval
sclose(1002)



=== TEST 11: 4.11 reserved data opcode 0x3 with payload after a valid text: echo, then 1002
--- raw_request eval
handshake() . ctext("valid") . cframe(0x3, "reserved") . close_frame(1000)
--- response_body eval
stext("valid") . sclose(1002)



=== TEST 12: 4.12 reserved data opcode 0x4 with payload after a valid text: echo, then 1002
--- raw_request eval
handshake() . ctext("valid") . cframe(0x4, "reserved") . close_frame(1000)
--- response_body eval
stext("valid") . sclose(1002)



=== TEST 13: 4.13 reserved data opcode 0x5 with payload after a valid text: echo, then 1002
--- raw_request eval
handshake() . ctext("valid") . cframe(0x5, "reserved") . close_frame(1000)
--- response_body eval
stext("valid") . sclose(1002)



=== TEST 14: 4.14 reserved data opcode 0x6 with payload after a valid text: echo, then 1002
--- raw_request eval
handshake() . ctext("valid") . cframe(0x6, "reserved") . close_frame(1000)
--- response_body eval
stext("valid") . sclose(1002)



=== TEST 15: 4.15 reserved data opcode 0x7 with payload after a valid text: echo, then 1002
--- raw_request eval
handshake() . ctext("valid") . cframe(0x7, "reserved") . close_frame(1000)
--- response_body eval
stext("valid") . sclose(1002)



=== TEST 16: 4.16 reserved control opcode 0xB with payload after a valid text: echo, then 1002
--- raw_request eval
handshake() . ctext("valid") . cframe(0xB, "reserved") . close_frame(1000)
--- response_body eval
stext("valid") . sclose(1002)



=== TEST 17: 4.17 reserved control opcode 0xC with payload after a valid text: echo, then 1002
--- raw_request eval
handshake() . ctext("valid") . cframe(0xC, "reserved") . close_frame(1000)
--- response_body eval
stext("valid") . sclose(1002)



=== TEST 18: 4.18 reserved control opcode 0xD with payload after a valid text: echo, then 1002
--- raw_request eval
handshake() . ctext("valid") . cframe(0xD, "reserved") . close_frame(1000)
--- response_body eval
stext("valid") . sclose(1002)



=== TEST 19: 4.19 reserved control opcode 0xE with payload after a valid text: echo, then 1002
--- raw_request eval
handshake() . ctext("valid") . cframe(0xE, "reserved") . close_frame(1000)
--- response_body eval
stext("valid") . sclose(1002)



=== TEST 20: 4.20 reserved control opcode 0xF with payload after a valid text: echo, then 1002
--- raw_request eval
handshake() . ctext("valid") . cframe(0xF, "reserved") . close_frame(1000)
--- response_body eval
stext("valid") . sclose(1002)




=== TEST 21: 4.21 reserved opcode 0x3 with FIN=0 -> 1002
--- raw_request eval
handshake() . cframe(0x3, "start", fin => 0) . ccont("end")
--- response_body eval
sclose(1002)



=== TEST 22: 4.22 reserved opcode 0xB with FIN=0 -> 1002
--- raw_request eval
handshake() . cframe(0xB, "x", fin => 0)
--- response_body eval
sclose(1002)



=== TEST 23: 4.23 reserved opcode 0x4 inside a fragmented text -> 1002, message dropped
--- raw_request eval
handshake() . ctext("Hello, ", fin => 0) . cframe(0x4, "") . ccont("World")
--- response_body eval
sclose(1002)



=== TEST 24: 4.24 reserved opcode 0xC inside a fragmented binary -> 1002, message dropped
--- raw_request eval
handshake() . cbin("\x01", fin => 0) . cframe(0xC, "") . ccont("\x02")
--- response_body eval
sclose(1002)



=== TEST 25: 4.25 reserved opcode 0x7 with 200 bytes of payload -> 1002
--- raw_request eval
handshake() . cframe(0x7, pattern(200))
--- response_body eval
sclose(1002)



=== TEST 26: 4.26 reserved opcode 0xF with 126 bytes of payload -> 1002
--- raw_request eval
handshake() . cframe(0xF, ascii(126))
--- response_body eval
sclose(1002)



=== TEST 27: 4.27 valid messages after a reserved opcode are not echoed
--- raw_request eval
handshake() . cframe(0x5, "") . ctext("not echoed") . cping("not answered")
    . close_frame(1000)
--- response_body eval
sclose(1002)



=== TEST 28: 4.28 ping, reserved opcode 0xD: pong first, then 1002
--- raw_request eval
handshake() . cping("p") . cframe(0xD, "")
--- response_body eval
spong("p") . sclose(1002)



=== TEST 29: 4.29 several valid messages, then reserved opcode 0x6: all echoed, then 1002
--- raw_request eval
handshake() . ctext("a") . cbin("b") . ctext("c", fin => 0) . ccont("d") . cframe(0x6, "")
--- response_body eval
stext("a") . sbin("b") . stext("cd") . sclose(1002)



=== TEST 30: 4.30 reserved opcode in a separate write after an echoed message
--- raw_request eval
[handshake() . ctext("first"), cframe(0xB, "later")]
--- raw_request_middle_delay: 0.05
--- response_body eval
stext("first") . sclose(1002)
