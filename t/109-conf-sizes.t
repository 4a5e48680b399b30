# RFC 6455 conformance, category 9: message sizes (RFC 6455 10.4).
# Big text and binary messages, whole or in 64 KiB / 1 MiB fragments, are
# echoed as one frame (compared by digest); many small messages in one
# write are all echoed in order; a frame or reassembled message announcing
# more than ws_perf_max_message_size closes with 1009 on its header alone,
# before any of its payload was sent.  The server then reads on to the
# client's close, past the rest of the message; from a client that never
# sends it, up to ws_perf_close_timeout (1s in those blocks: under TLS,
# which has no half-close, the connection ends only then).
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use WsPerf::Test;

ws_init();
no_shuffle();
run_tests();

__DATA__

=== TEST 1: 9.1 text of 64 KiB in one frame
--- raw_request eval
handshake() . ctext(utext(65536)) . close_frame(1000)
--- response_frames eval
stext(utext(65536)) . sclose(1000)



=== TEST 2: 9.2 binary of 64 KiB in one frame
--- raw_request eval
handshake() . cbin(pattern(65536)) . close_frame(1000)
--- response_frames eval
sbin(pattern(65536)) . sclose(1000)



=== TEST 3: 9.3 text of 256 KiB in one frame
--- raw_request eval
handshake() . ctext(utext(262144)) . close_frame(1000)
--- response_frames eval
stext(utext(262144)) . sclose(1000)



=== TEST 4: 9.4 binary of 256 KiB in one frame
--- raw_request eval
handshake() . cbin(pattern(262144)) . close_frame(1000)
--- response_frames eval
sbin(pattern(262144)) . sclose(1000)



=== TEST 5: 9.5 text of 1 MiB in one frame
--- raw_request eval
handshake() . ctext(utext(1048576)) . close_frame(1000)
--- response_frames eval
stext(utext(1048576)) . sclose(1000)



=== TEST 6: 9.6 binary of 1 MiB in one frame
--- raw_request eval
handshake() . cbin(pattern(1048576)) . close_frame(1000)
--- response_frames eval
sbin(pattern(1048576)) . sclose(1000)



=== TEST 7: 9.7 text of 4 MiB in one frame
--- raw_request eval
handshake() . ctext(utext(4194304)) . close_frame(1000)
--- response_frames eval
stext(utext(4194304)) . sclose(1000)



=== TEST 8: 9.8 binary of 4 MiB in one frame
--- raw_request eval
handshake() . cbin(pattern(4194304)) . close_frame(1000)
--- response_frames eval
sbin(pattern(4194304)) . sclose(1000)



=== TEST 9: 9.9 text of 16 MiB in one frame
--- raw_request eval
handshake() . ctext(utext(16777216)) . close_frame(1000)
--- response_frames eval
stext(utext(16777216)) . sclose(1000)



=== TEST 10: 9.10 binary of 16 MiB in one frame
--- raw_request eval
handshake() . cbin(pattern(16777216)) . close_frame(1000)
--- response_frames eval
sbin(pattern(16777216)) . sclose(1000)



=== TEST 11: 9.11 text of 256 KiB in 64 KiB fragments, echoed as one frame
--- raw_request eval
handshake() . csplit(0x1, utext(262144), 65536) . close_frame(1000)
--- response_frames eval
stext(utext(262144)) . sclose(1000)



=== TEST 12: 9.12 binary of 256 KiB in 64 KiB fragments, echoed as one frame
--- raw_request eval
handshake() . csplit(0x2, pattern(262144), 65536) . close_frame(1000)
--- response_frames eval
sbin(pattern(262144)) . sclose(1000)



=== TEST 13: 9.13 text of 1 MiB in 64 KiB fragments, echoed as one frame
--- raw_request eval
handshake() . csplit(0x1, utext(1048576), 65536) . close_frame(1000)
--- response_frames eval
stext(utext(1048576)) . sclose(1000)



=== TEST 14: 9.14 binary of 1 MiB in 64 KiB fragments, echoed as one frame
--- raw_request eval
handshake() . csplit(0x2, pattern(1048576), 65536) . close_frame(1000)
--- response_frames eval
sbin(pattern(1048576)) . sclose(1000)



=== TEST 15: 9.15 text of 4 MiB in 64 KiB fragments, echoed as one frame
--- raw_request eval
handshake() . csplit(0x1, utext(4194304), 65536) . close_frame(1000)
--- response_frames eval
stext(utext(4194304)) . sclose(1000)



=== TEST 16: 9.16 binary of 4 MiB in 64 KiB fragments, echoed as one frame
--- raw_request eval
handshake() . csplit(0x2, pattern(4194304), 65536) . close_frame(1000)
--- response_frames eval
sbin(pattern(4194304)) . sclose(1000)



=== TEST 17: 9.17 text of 16 MiB in 64 KiB fragments, echoed as one frame
--- raw_request eval
handshake() . csplit(0x1, utext(16777216), 65536) . close_frame(1000)
--- response_frames eval
stext(utext(16777216)) . sclose(1000)



=== TEST 18: 9.18 binary of 16 MiB in 64 KiB fragments, echoed as one frame
--- raw_request eval
handshake() . csplit(0x2, pattern(16777216), 65536) . close_frame(1000)
--- response_frames eval
sbin(pattern(16777216)) . sclose(1000)



=== TEST 19: 9.19 text of 4 MiB in 1 MiB fragments, echoed as one frame
--- raw_request eval
handshake() . csplit(0x1, utext(4194304), 1048576) . close_frame(1000)
--- response_frames eval
stext(utext(4194304)) . sclose(1000)



=== TEST 20: 9.20 binary of 4 MiB in 1 MiB fragments, echoed as one frame
--- raw_request eval
handshake() . csplit(0x2, pattern(4194304), 1048576) . close_frame(1000)
--- response_frames eval
sbin(pattern(4194304)) . sclose(1000)



=== TEST 21: 9.21 text of 16 MiB in 1 MiB fragments, echoed as one frame
--- raw_request eval
handshake() . csplit(0x1, utext(16777216), 1048576) . close_frame(1000)
--- response_frames eval
stext(utext(16777216)) . sclose(1000)



=== TEST 22: 9.22 binary of 16 MiB in 1 MiB fragments, echoed as one frame
--- raw_request eval
handshake() . csplit(0x2, pattern(16777216), 1048576) . close_frame(1000)
--- response_frames eval
sbin(pattern(16777216)) . sclose(1000)



=== TEST 23: 9.23 text of 1 MiB in 65535-byte fragments (cuts inside code points)
--- raw_request eval
handshake() . csplit(0x1, utext(1048576), 65535) . close_frame(1000)
--- response_frames eval
stext(utext(1048576)) . sclose(1000)



=== TEST 24: 9.24 1000 small text messages pipelined in one write
--- raw_request eval
handshake() . cat(map { ctext("message $_") } 1 .. 1000) . close_frame(1000)
--- response_frames eval
cat(map { stext("message $_") } 1 .. 1000) . sclose(1000)



=== TEST 25: 9.25 1000 small binary messages pipelined in one write
--- raw_request eval
handshake() . cat(map { cbin(pattern($_ % 200, $_)) } 1 .. 1000) . close_frame(1000)
--- response_frames eval
cat(map { sbin(pattern($_ % 200, $_)) } 1 .. 1000) . sclose(1000)



=== TEST 26: 9.26 1000 text, binary and ping frames mixed, pipelined in one write
--- raw_request eval
handshake() . cat(map { $_ % 3 == 0 ? ctext("t$_") : $_ % 3 == 1 ? cbin("b$_") : cping("p$_") } 1 .. 1000) . close_frame(1000)
--- response_frames eval
cat(map { $_ % 3 == 0 ? stext("t$_") : $_ % 3 == 1 ? sbin("b$_") : spong("p$_") } 1 .. 1000) . sclose(1000)



=== TEST 27: 9.27 two 4 MiB messages back to back
--- raw_request eval
handshake() . cbin(pattern(4194304, 1)) . ctext(utext(4194304)) . close_frame(1000)
--- response_frames eval
sbin(pattern(4194304, 1)) . stext(utext(4194304)) . sclose(1000)



=== TEST 28: 9.28 text frame header announcing 20 MiB + 1 (limit 20m), payload never sent -> 1009
--- config
    location /echo {
        ws_perf_echo;
        ws_perf_max_message_size 20m;
        ws_perf_close_timeout 1s;
    }
--- raw_request eval
handshake() . ctext("", len => 20 * 1048576 + 1)
--- response_body eval
sclose(1009)



=== TEST 29: 9.29 binary frame header announcing 20 MiB + 1, payload never sent -> 1009
--- config
    location /echo {
        ws_perf_echo;
        ws_perf_max_message_size 20m;
        ws_perf_close_timeout 1s;
    }
--- raw_request eval
handshake() . cbin("", len => 20 * 1048576 + 1)
--- response_body eval
sclose(1009)



=== TEST 30: 9.30 frame header announcing 2^40 bytes -> 1009
--- config
    location /echo {
        ws_perf_echo;
        ws_perf_max_message_size 20m;
        ws_perf_close_timeout 1s;
    }
--- raw_request eval
handshake() . cbin("", len => 0, len_hi => 0x100)
--- response_body eval
sclose(1009)



=== TEST 31: 9.31 frame header announcing 2^63 - 1 bytes (top bit clear) -> 1009
--- config
    location /echo {
        ws_perf_echo;
        ws_perf_max_message_size 20m;
        ws_perf_close_timeout 1s;
    }
--- raw_request eval
handshake() . ctext("", len => 0xffffffff, len_hi => 0x7fffffff)
--- response_body eval
sclose(1009)



=== TEST 32: 9.32 messages before the oversized frame are echoed, then 1009
--- config
    location /echo {
        ws_perf_echo;
        ws_perf_max_message_size 20m;
        ws_perf_close_timeout 1s;
    }
--- raw_request eval
handshake() . ctext("small") . cbin(pattern(70000)) . cbin("", len => 21 * 1048576)
--- response_frames eval
stext("small") . sbin(pattern(70000)) . sclose(1009)



=== TEST 33: 9.33 limit 1m: a binary message of exactly 1 MiB is echoed
--- config
    location /echo {
        ws_perf_echo;
        ws_perf_max_message_size 1m;
    }
--- raw_request eval
handshake() . cbin(pattern(1048576)) . close_frame(1000)
--- response_frames eval
sbin(pattern(1048576)) . sclose(1000)



=== TEST 34: 9.34 limit 1m: a frame header announcing 1 MiB + 1 -> 1009
--- config
    location /echo {
        ws_perf_echo;
        ws_perf_max_message_size 1m;
        ws_perf_close_timeout 1s;
    }
--- raw_request eval
handshake() . cbin("", len => 1048577)
--- response_body eval
sclose(1009)



=== TEST 35: 9.35 limit 1m: text of exactly 1 MiB in 16 fragments is echoed
--- config
    location /echo {
        ws_perf_echo;
        ws_perf_max_message_size 1m;
    }
--- raw_request eval
handshake() . csplit(0x1, utext(1048576), 65536) . close_frame(1000)
--- response_frames eval
stext(utext(1048576)) . sclose(1000)



=== TEST 36: 9.36 limit 1m: 512 KiB fragment, then a continuation header of 512 KiB + 1 -> 1009
--- config
    location /echo {
        ws_perf_echo;
        ws_perf_max_message_size 1m;
        ws_perf_close_timeout 1s;
    }
--- raw_request eval
handshake() . ctext(ascii(524288), fin => 0) . ccont("", len => 524289)
--- response_body eval
sclose(1009)



=== TEST 37: 9.37 limit 1m: 16 fragments of 64 KiB, then a 1-byte continuation header -> 1009
--- config
    location /echo {
        ws_perf_echo;
        ws_perf_max_message_size 1m;
        ws_perf_close_timeout 1s;
    }
--- raw_request eval
handshake() . cbin(pattern(65536), fin => 0)
    . cat(map { ccont(pattern(65536, $_), fin => 0) } 1 .. 15) . ccont("", len => 1)
--- response_body eval
sclose(1009)



=== TEST 38: 9.38 limit 1m: the limit is per message, two 1 MiB messages are echoed
--- config
    location /echo {
        ws_perf_echo;
        ws_perf_max_message_size 1m;
    }
--- raw_request eval
handshake() . cbin(pattern(1048576, 1)) . cfrags(0x2, pattern(524288, 2), pattern(524288, 3))
    . close_frame(1000)
--- response_frames eval
sbin(pattern(1048576, 1)) . sbin(pattern(524288, 2) . pattern(524288, 3)) . sclose(1000)



=== TEST 39: 9.39 limit 125: a 125-byte text is echoed
--- config
    location /echo {
        ws_perf_echo;
        ws_perf_max_message_size 125;
    }
--- raw_request eval
handshake() . ctext(ascii(125)) . close_frame(1000)
--- response_body eval
stext(ascii(125)) . sclose(1000)



=== TEST 40: 9.40 limit 125: a 126-byte text (16-bit length header) -> 1009
--- config
    location /echo {
        ws_perf_echo;
        ws_perf_max_message_size 125;
        ws_perf_close_timeout 1s;
    }
--- raw_request eval
handshake() . ctext("", len => 126)
--- response_body eval
sclose(1009)



=== TEST 41: 9.41 limit 125: 100 + 26 bytes in two fragments -> 1009 on the second header
--- config
    location /echo {
        ws_perf_echo;
        ws_perf_max_message_size 125;
        ws_perf_close_timeout 1s;
    }
--- raw_request eval
handshake() . cbin(pattern(100), fin => 0) . ccont("", len => 26)
--- response_body eval
sclose(1009)



=== TEST 42: 9.42 default limit (1m): a message of exactly 1 MiB is echoed
--- config
    location /echo {
        ws_perf_echo;
    }
--- raw_request eval
handshake() . ctext(utext(1048576)) . close_frame(1000)
--- response_frames eval
stext(utext(1048576)) . sclose(1000)



=== TEST 43: 9.43 default limit (1m): a frame header announcing 1 MiB + 1 -> 1009
--- config
    location /echo {
        ws_perf_echo;
        ws_perf_close_timeout 1s;
    }
--- raw_request eval
handshake() . ctext("", len => 1048577)
--- response_body eval
sclose(1009)



=== TEST 44: 9.44 limit set at server level applies to the location
--- config
    ws_perf_max_message_size 200;
    location /echo {
        ws_perf_echo;
        ws_perf_close_timeout 1s;
    }
--- raw_request eval
handshake() . cbin(pattern(200)) . cbin("", len => 201)
--- response_body eval
sbin(pattern(200)) . sclose(1009)



=== TEST 45: 9.45 64 binary messages of 64 KiB in one write (4 MiB through the send queue)
--- raw_request eval
handshake() . cat(map { cbin(pattern(65536, $_)) } 1 .. 64) . close_frame(1000)
--- response_frames eval
cat(map { sbin(pattern(65536, $_)) } 1 .. 64) . sclose(1000)



=== TEST 46: 9.46 ping right after a 4 MiB message is answered after its echo
--- raw_request eval
handshake() . cbin(pattern(4194304)) . cping("after") . close_frame(1000)
--- response_frames eval
sbin(pattern(4194304)) . spong("after") . sclose(1000)



=== TEST 47: 9.47 ping inside a 4 MiB fragmented message is answered before its echo
--- raw_request eval
my $p = pattern(4194304);
handshake() . cbin(substr($p, 0, 2097152), fin => 0) . cping("inside")
    . ccont(substr($p, 2097152)) . close_frame(1000)
--- response_frames eval
spong("inside") . sbin(pattern(4194304)) . sclose(1000)



=== TEST 48: 9.48 a protocol error after a 4 MiB message: the whole echo precedes the 1002
--- raw_request eval
handshake() . cbin(pattern(4194304)) . ctext("rsv", rsv => 4)
--- response_frames eval
sbin(pattern(4194304)) . sclose(1002)



=== TEST 49: 9.49 a 4 MiB text whose very last byte is invalid -> 1007
--- raw_request eval
handshake() . ctext(utext(4194303) . "\xff")
--- response_body eval
sclose(1007)



=== TEST 50: 9.50 8 MiB text, 8 MiB binary in 1 MiB fragments, then invalid UTF-8: both echoed, then 1007
--- raw_request eval
handshake() . ctext(utext(8388608)) . csplit(0x2, pattern(8388608, 5), 1048576)
    . ctext("\xc0\xaf")
--- response_frames eval
stext(utext(8388608)) . sbin(pattern(8388608, 5)) . sclose(1007)



=== TEST 51: 9.51 limit 1m: a 16 MiB binary message sent whole, then a close -> 1009, and the server reads on to the client's close (under TLS it closes then, not at once with the message unread)
--- config
    location /echo {
        ws_perf_echo;
        ws_perf_max_message_size 1m;
    }
--- raw_request eval
handshake() . cbin(pattern(16777216)) . close_frame(1000)
--- response_body eval
sclose(1009)
--- no_error_log
close handshake timed out



=== TEST 52: 9.52 limit 1m: a text message that passes the limit in its second fragment, a third fragment cut inside a code point, then a close -> 1009, the fragments read past
--- config
    location /echo {
        ws_perf_echo;
        ws_perf_max_message_size 1m;
    }
--- raw_request eval
my $t = utext(4194304);
handshake() . ctext(substr($t, 0, 524288), fin => 0)
    . ccont(substr($t, 524288, 2097152), fin => 0)
    . ccont(substr($t, 2621441)) . close_frame(1000)
--- response_body eval
sclose(1009)
--- no_error_log
close handshake timed out
