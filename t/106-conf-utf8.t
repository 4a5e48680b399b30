# RFC 6455 conformance, category 6: UTF-8 in text messages (RFC 6455 8.1,
# RFC 3629).  Valid text in many scripts and at every encoding boundary is
# echoed, also when code points are cut across fragments; invalid sequences
# close with 1007, and the check is incremental: a fragment or a partly
# sent frame holding a byte that can never become valid is answered with
# 1007 at once, without waiting for the rest of the message.
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use WsPerf::Test;

ws_init();
no_shuffle();
run_tests();

__DATA__

=== TEST 1: 6.1 valid UTF-8: Greek "kosme"
--- raw_request eval
handshake() . ctext(u8("\x{3ba}\x{1f79}\x{3c3}\x{3bc}\x{3b5}")) . close_frame(1000)
--- response_body eval
stext(u8("\x{3ba}\x{1f79}\x{3c3}\x{3bc}\x{3b5}")) . sclose(1000)



=== TEST 2: 6.2 valid UTF-8: Russian "Privet, mir"
--- raw_request eval
handshake() . ctext(u8("\x{41f}\x{440}\x{438}\x{432}\x{435}\x{442}, \x{43c}\x{438}\x{440}")) . close_frame(1000)
--- response_body eval
stext(u8("\x{41f}\x{440}\x{438}\x{432}\x{435}\x{442}, \x{43c}\x{438}\x{440}")) . sclose(1000)



=== TEST 3: 6.3 valid UTF-8: German "Gruesse aus Koeln" with umlauts and sharp s
--- raw_request eval
handshake() . ctext(u8("Gr\x{fc}\x{df}e aus K\x{f6}ln")) . close_frame(1000)
--- response_body eval
stext(u8("Gr\x{fc}\x{df}e aus K\x{f6}ln")) . sclose(1000)



=== TEST 4: 6.4 valid UTF-8: Chinese "ni hao, shijie"
--- raw_request eval
handshake() . ctext(u8("\x{4f60}\x{597d}\x{ff0c}\x{4e16}\x{754c}")) . close_frame(1000)
--- response_body eval
stext(u8("\x{4f60}\x{597d}\x{ff0c}\x{4e16}\x{754c}")) . sclose(1000)



=== TEST 5: 6.5 valid UTF-8: Japanese "konnichiwa sekai"
--- raw_request eval
handshake() . ctext(u8("\x{3053}\x{3093}\x{306b}\x{3061}\x{306f}\x{4e16}\x{754c}")) . close_frame(1000)
--- response_body eval
stext(u8("\x{3053}\x{3093}\x{306b}\x{3061}\x{306f}\x{4e16}\x{754c}")) . sclose(1000)



=== TEST 6: 6.6 valid UTF-8: Korean "annyeonghaseyo"
--- raw_request eval
handshake() . ctext(u8("\x{c548}\x{b155}\x{d558}\x{c138}\x{c694}")) . close_frame(1000)
--- response_body eval
stext(u8("\x{c548}\x{b155}\x{d558}\x{c138}\x{c694}")) . sclose(1000)



=== TEST 7: 6.7 valid UTF-8: Arabic "marhaban bialealam"
--- raw_request eval
handshake() . ctext(u8("\x{645}\x{631}\x{62d}\x{628}\x{627} \x{628}\x{627}\x{644}\x{639}\x{627}\x{644}\x{645}")) . close_frame(1000)
--- response_body eval
stext(u8("\x{645}\x{631}\x{62d}\x{628}\x{627} \x{628}\x{627}\x{644}\x{639}\x{627}\x{644}\x{645}")) . sclose(1000)



=== TEST 8: 6.8 valid UTF-8: Hebrew "shalom olam"
--- raw_request eval
handshake() . ctext(u8("\x{5e9}\x{5dc}\x{5d5}\x{5dd} \x{5e2}\x{5d5}\x{5dc}\x{5dd}")) . close_frame(1000)
--- response_body eval
stext(u8("\x{5e9}\x{5dc}\x{5d5}\x{5dd} \x{5e2}\x{5d5}\x{5dc}\x{5dd}")) . sclose(1000)



=== TEST 9: 6.9 valid UTF-8: Hindi "namaste duniya"
--- raw_request eval
handshake() . ctext(u8("\x{928}\x{92e}\x{938}\x{94d}\x{924}\x{947} \x{926}\x{941}\x{928}\x{93f}\x{92f}\x{93e}")) . close_frame(1000)
--- response_body eval
stext(u8("\x{928}\x{92e}\x{938}\x{94d}\x{924}\x{947} \x{926}\x{941}\x{928}\x{93f}\x{92f}\x{93e}")) . sclose(1000)



=== TEST 10: 6.10 valid UTF-8: Thai "sawasdee chao lok"
--- raw_request eval
handshake() . ctext(u8("\x{e2a}\x{e27}\x{e31}\x{e2a}\x{e14}\x{e35}\x{e0a}\x{e32}\x{e27}\x{e42}\x{e25}\x{e01}")) . close_frame(1000)
--- response_body eval
stext(u8("\x{e2a}\x{e27}\x{e31}\x{e2a}\x{e14}\x{e35}\x{e0a}\x{e32}\x{e27}\x{e42}\x{e25}\x{e01}")) . sclose(1000)



=== TEST 11: 6.11 valid UTF-8: Vietnamese "Tieng Viet" with stacked diacritics
--- raw_request eval
handshake() . ctext(u8("Ti\x{1ebf}ng Vi\x{1ec7}t")) . close_frame(1000)
--- response_body eval
stext(u8("Ti\x{1ebf}ng Vi\x{1ec7}t")) . sclose(1000)



=== TEST 12: 6.12 valid UTF-8: combining characters (e + U+0301, a + U+0308)
--- raw_request eval
handshake() . ctext(u8("e\x{301} a\x{308}")) . close_frame(1000)
--- response_body eval
stext(u8("e\x{301} a\x{308}")) . sclose(1000)



=== TEST 13: 6.13 valid UTF-8: emoji, 4-byte sequences
--- raw_request eval
handshake() . ctext(u8("\x{1f600}\x{1f389}\x{1f680}\x{1f468}\x{200d}\x{1f4bb}")) . close_frame(1000)
--- response_body eval
stext(u8("\x{1f600}\x{1f389}\x{1f680}\x{1f468}\x{200d}\x{1f4bb}")) . sclose(1000)



=== TEST 14: 6.14 valid UTF-8: Gothic and mathematical alphanumerics (plane 1)
--- raw_request eval
handshake() . ctext(u8("\x{10348}\x{10330} \x{1d518}\x{1d52b}\x{1d526}")) . close_frame(1000)
--- response_body eval
stext(u8("\x{10348}\x{10330} \x{1d518}\x{1d52b}\x{1d526}")) . sclose(1000)



=== TEST 15: 6.15 valid UTF-8: CJK extension B (plane 2)
--- raw_request eval
handshake() . ctext(u8("\x{20000}\x{2a6d6}")) . close_frame(1000)
--- response_body eval
stext(u8("\x{20000}\x{2a6d6}")) . sclose(1000)



=== TEST 16: 6.16 valid UTF-8: all scripts above in one 16-bit-length message
--- raw_request eval
handshake() . ctext(utext(600)) . close_frame(1000)
--- response_body eval
stext(utext(600)) . sclose(1000)



=== TEST 17: 6.17 valid boundary: U+0000 (NUL)
--- raw_request eval
handshake() . ctext(cp(0x61, 0x0, 0x62)) . close_frame(1000)
--- response_body eval
stext(cp(0x61, 0x0, 0x62)) . sclose(1000)



=== TEST 18: 6.18 valid boundary: U+007F, the last 1-byte code point
--- raw_request eval
handshake() . ctext(cp(0x7f)) . close_frame(1000)
--- response_body eval
stext(cp(0x7f)) . sclose(1000)



=== TEST 19: 6.19 valid boundary: U+0080, the first 2-byte code point
--- raw_request eval
handshake() . ctext(cp(0x80)) . close_frame(1000)
--- response_body eval
stext(cp(0x80)) . sclose(1000)



=== TEST 20: 6.20 valid boundary: U+07FF, the last 2-byte code point
--- raw_request eval
handshake() . ctext(cp(0x7ff)) . close_frame(1000)
--- response_body eval
stext(cp(0x7ff)) . sclose(1000)



=== TEST 21: 6.21 valid boundary: U+0800, the first 3-byte code point
--- raw_request eval
handshake() . ctext(cp(0x800)) . close_frame(1000)
--- response_body eval
stext(cp(0x800)) . sclose(1000)



=== TEST 22: 6.22 valid boundary: U+D7FF, just below the surrogates
--- raw_request eval
handshake() . ctext(cp(0xd7ff)) . close_frame(1000)
--- response_body eval
stext(cp(0xd7ff)) . sclose(1000)



=== TEST 23: 6.23 valid boundary: U+E000, just above the surrogates
--- raw_request eval
handshake() . ctext(cp(0xe000)) . close_frame(1000)
--- response_body eval
stext(cp(0xe000)) . sclose(1000)



=== TEST 24: 6.24 valid boundary: U+FFFD, the replacement character
--- raw_request eval
handshake() . ctext(cp(0xfffd)) . close_frame(1000)
--- response_body eval
stext(cp(0xfffd)) . sclose(1000)



=== TEST 25: 6.25 valid boundary: U+FFFE and U+FFFF, noncharacters are valid UTF-8
--- raw_request eval
handshake() . ctext(cp(0xfffe, 0xffff)) . close_frame(1000)
--- response_body eval
stext(cp(0xfffe, 0xffff)) . sclose(1000)



=== TEST 26: 6.26 valid boundary: U+10000, the first 4-byte code point
--- raw_request eval
handshake() . ctext(cp(0x10000)) . close_frame(1000)
--- response_body eval
stext(cp(0x10000)) . sclose(1000)



=== TEST 27: 6.27 valid boundary: U+10FFFF, the last code point
--- raw_request eval
handshake() . ctext(cp(0x10ffff)) . close_frame(1000)
--- response_body eval
stext(cp(0x10ffff)) . sclose(1000)



=== TEST 28: 6.28 valid boundary: every boundary code point in one message
--- raw_request eval
handshake() . ctext(cp(0x0, 0x7f, 0x80, 0x7ff, 0x800, 0xd7ff, 0xe000, 0xfffd, 0xffff, 0x10000, 0x10ffff)) . close_frame(1000)
--- response_body eval
stext(cp(0x0, 0x7f, 0x80, 0x7ff, 0x800, 0xd7ff, 0xe000, 0xfffd, 0xffff, 0x10000, 0x10ffff)) . sclose(1000)



=== TEST 29: 6.29 valid, code point split across fragments: 2-byte U+00A2 split 1|1
--- raw_request eval
handshake() . cfrags(0x1, "\xc2", "\xa2") . close_frame(1000)
--- response_body eval
stext("\xc2\xa2") . sclose(1000)



=== TEST 30: 6.30 valid, code point split across fragments: 3-byte U+20AC split 1|2
--- raw_request eval
handshake() . cfrags(0x1, "\xe2", "\x82\xac") . close_frame(1000)
--- response_body eval
stext("\xe2\x82\xac") . sclose(1000)



=== TEST 31: 6.31 valid, code point split across fragments: 3-byte U+20AC split 2|1
--- raw_request eval
handshake() . cfrags(0x1, "\xe2\x82", "\xac") . close_frame(1000)
--- response_body eval
stext("\xe2\x82\xac") . sclose(1000)



=== TEST 32: 6.32 valid, code point split across fragments: 4-byte U+1F600 split 1|3
--- raw_request eval
handshake() . cfrags(0x1, "\xf0", "\x9f\x98\x80") . close_frame(1000)
--- response_body eval
stext("\xf0\x9f\x98\x80") . sclose(1000)



=== TEST 33: 6.33 valid, code point split across fragments: 4-byte U+1F600 split 2|2
--- raw_request eval
handshake() . cfrags(0x1, "\xf0\x9f", "\x98\x80") . close_frame(1000)
--- response_body eval
stext("\xf0\x9f\x98\x80") . sclose(1000)



=== TEST 34: 6.34 valid, code point split across fragments: 4-byte U+1F600 split 3|1
--- raw_request eval
handshake() . cfrags(0x1, "\xf0\x9f\x98", "\x80") . close_frame(1000)
--- response_body eval
stext("\xf0\x9f\x98\x80") . sclose(1000)



=== TEST 35: 6.35 valid, code point split across fragments: 4-byte U+10FFFF in four 1-byte fragments
--- raw_request eval
handshake() . cfrags(0x1, "\xf4", "\x8f", "\xbf", "\xbf") . close_frame(1000)
--- response_body eval
stext("\xf4\x8f\xbf\xbf") . sclose(1000)



=== TEST 36: 6.36 valid, code point split across fragments: "kosme" with every byte in its own fragment
--- raw_request eval
handshake() . cfrags(0x1, unpack("(a1)*", u8("\x{3ba}\x{1f79}\x{3c3}\x{3bc}\x{3b5}"))) . close_frame(1000)
--- response_body eval
stext(u8("\x{3ba}\x{1f79}\x{3c3}\x{3bc}\x{3b5}")) . sclose(1000)



=== TEST 37: 6.37 valid, code point split across fragments: code points split around empty fragments
--- raw_request eval
handshake() . cfrags(0x1, "a\xe2", "", "\x82", "", "\xacz") . close_frame(1000)
--- response_body eval
stext("a\xe2\x82\xacz") . sclose(1000)



=== TEST 38: 6.38 valid, code point split across fragments with a ping in between
--- raw_request eval
handshake() . ctext("\xe2", fin => 0) . cping("p") . ccont("\x82\xac") . close_frame(1000)
--- response_body eval
spong("p") . stext("\xe2\x82\xac") . sclose(1000)



=== TEST 39: 6.39 valid, 70000 bytes of mixed-width text in 997-byte fragments (cuts inside code points)
--- raw_request eval
handshake() . csplit(0x1, utext(70000), 997) . close_frame(1000)
--- response_body eval
stext(utext(70000)) . sclose(1000)



=== TEST 40: 6.40 valid, one frame delivered in writes cut inside code points
--- raw_request eval
my $f = ctext(u8("\x{1f600}\x{20ac}\x{a2}\x{1f600}"));
[handshake() . substr($f, 0, 7), substr($f, 7, 3), substr($f, 10, 4), substr($f, 14) . close_frame(1000)]
--- raw_request_middle_delay: 0.02
--- response_body eval
stext(u8("\x{1f600}\x{20ac}\x{a2}\x{1f600}")) . sclose(1000)



=== TEST 41: 6.41 invalid: stray continuation byte 0x80 -> 1007
--- raw_request eval
handshake() . ctext(hexb("80"))
--- response_body eval
sclose(1007)



=== TEST 42: 6.42 invalid: stray continuation byte 0xBF -> 1007
--- raw_request eval
handshake() . ctext(hexb("bf"))
--- response_body eval
sclose(1007)



=== TEST 43: 6.43 invalid: two stray continuation bytes 0x80 0xBF -> 1007
--- raw_request eval
handshake() . ctext(hexb("80 bf"))
--- response_body eval
sclose(1007)



=== TEST 44: 6.44 invalid: stray continuation byte between ASCII ("a" 0x80 "b") -> 1007
--- raw_request eval
handshake() . ctext(hexb("61 80 62"))
--- response_body eval
sclose(1007)



=== TEST 45: 6.45 invalid: all 64 continuation bytes 0x80..0xBF in a row -> 1007
--- raw_request eval
handshake() . ctext(hexb("80 81 82 83 84 85 86 87 88 89 8a 8b 8c 8d 8e 8f 90 91 92 93 94 95 96 97 98 99 9a 9b 9c 9d 9e 9f a0 a1 a2 a3 a4 a5 a6 a7 a8 a9 aa ab ac ad ae af b0 b1 b2 b3 b4 b5 b6 b7 b8 b9 ba bb bc bd be bf"))
--- response_body eval
sclose(1007)



=== TEST 46: 6.46 invalid: byte 0xFE -> 1007
--- raw_request eval
handshake() . ctext(hexb("fe"))
--- response_body eval
sclose(1007)



=== TEST 47: 6.47 invalid: byte 0xFF -> 1007
--- raw_request eval
handshake() . ctext(hexb("ff"))
--- response_body eval
sclose(1007)



=== TEST 48: 6.48 invalid: bytes FE FE FF FF -> 1007
--- raw_request eval
handshake() . ctext(hexb("fe fe ff ff"))
--- response_body eval
sclose(1007)



=== TEST 49: 6.49 invalid: overlong 2-byte U+0000 (C0 80) -> 1007
--- raw_request eval
handshake() . ctext(hexb("c0 80"))
--- response_body eval
sclose(1007)



=== TEST 50: 6.50 invalid: overlong 2-byte "/" (C0 AF) -> 1007
--- raw_request eval
handshake() . ctext(hexb("c0 af"))
--- response_body eval
sclose(1007)



=== TEST 51: 6.51 invalid: overlong 2-byte U+007F (C1 BF) -> 1007
--- raw_request eval
handshake() . ctext(hexb("c1 bf"))
--- response_body eval
sclose(1007)



=== TEST 52: 6.52 invalid: overlong 3-byte U+0000 (E0 80 80) -> 1007
--- raw_request eval
handshake() . ctext(hexb("e0 80 80"))
--- response_body eval
sclose(1007)



=== TEST 53: 6.53 invalid: overlong 3-byte "/" (E0 80 AF) -> 1007
--- raw_request eval
handshake() . ctext(hexb("e0 80 af"))
--- response_body eval
sclose(1007)



=== TEST 54: 6.54 invalid: overlong 3-byte U+07FF (E0 9F BF) -> 1007
--- raw_request eval
handshake() . ctext(hexb("e0 9f bf"))
--- response_body eval
sclose(1007)



=== TEST 55: 6.55 invalid: overlong 4-byte U+0000 (F0 80 80 80) -> 1007
--- raw_request eval
handshake() . ctext(hexb("f0 80 80 80"))
--- response_body eval
sclose(1007)



=== TEST 56: 6.56 invalid: overlong 4-byte "/" (F0 80 80 AF) -> 1007
--- raw_request eval
handshake() . ctext(hexb("f0 80 80 af"))
--- response_body eval
sclose(1007)



=== TEST 57: 6.57 invalid: overlong 4-byte U+FFFF (F0 8F BF BF) -> 1007
--- raw_request eval
handshake() . ctext(hexb("f0 8f bf bf"))
--- response_body eval
sclose(1007)



=== TEST 58: 6.58 invalid: 5-byte sequence (F8 88 80 80 80) -> 1007
--- raw_request eval
handshake() . ctext(hexb("f8 88 80 80 80"))
--- response_body eval
sclose(1007)



=== TEST 59: 6.59 invalid: 6-byte sequence (FC 84 80 80 80 80) -> 1007
--- raw_request eval
handshake() . ctext(hexb("fc 84 80 80 80 80"))
--- response_body eval
sclose(1007)



=== TEST 60: 6.60 invalid: surrogate U+D800 (ED A0 80) -> 1007
--- raw_request eval
handshake() . ctext(hexb("ed a0 80"))
--- response_body eval
sclose(1007)



=== TEST 61: 6.61 invalid: surrogate U+DB7F (ED AD BF) -> 1007
--- raw_request eval
handshake() . ctext(hexb("ed ad bf"))
--- response_body eval
sclose(1007)



=== TEST 62: 6.62 invalid: surrogate U+DB80 (ED AE 80) -> 1007
--- raw_request eval
handshake() . ctext(hexb("ed ae 80"))
--- response_body eval
sclose(1007)



=== TEST 63: 6.63 invalid: surrogate U+DBFF (ED AF BF) -> 1007
--- raw_request eval
handshake() . ctext(hexb("ed af bf"))
--- response_body eval
sclose(1007)



=== TEST 64: 6.64 invalid: surrogate U+DC00 (ED B0 80) -> 1007
--- raw_request eval
handshake() . ctext(hexb("ed b0 80"))
--- response_body eval
sclose(1007)



=== TEST 65: 6.65 invalid: surrogate U+DF80 (ED BE 80) -> 1007
--- raw_request eval
handshake() . ctext(hexb("ed be 80"))
--- response_body eval
sclose(1007)



=== TEST 66: 6.66 invalid: surrogate U+DFFF (ED BF BF) -> 1007
--- raw_request eval
handshake() . ctext(hexb("ed bf bf"))
--- response_body eval
sclose(1007)



=== TEST 67: 6.67 invalid: surrogate pair U+D800 U+DC00 (CESU-8 of U+10000) -> 1007
--- raw_request eval
handshake() . ctext(hexb("ed a0 80 ed b0 80"))
--- response_body eval
sclose(1007)



=== TEST 68: 6.68 invalid: surrogate pair U+DBFF U+DFFF (CESU-8 of U+10FFFF) -> 1007
--- raw_request eval
handshake() . ctext(hexb("ed af bf ed bf bf"))
--- response_body eval
sclose(1007)



=== TEST 69: 6.69 invalid: U+110000, above the last code point (F4 90 80 80) -> 1007
--- raw_request eval
handshake() . ctext(hexb("f4 90 80 80"))
--- response_body eval
sclose(1007)



=== TEST 70: 6.70 invalid: U+13FFFF (F4 BF BF BF) -> 1007
--- raw_request eval
handshake() . ctext(hexb("f4 bf bf bf"))
--- response_body eval
sclose(1007)



=== TEST 71: 6.71 invalid: lead byte F5 (F5 80 80 80) -> 1007
--- raw_request eval
handshake() . ctext(hexb("f5 80 80 80"))
--- response_body eval
sclose(1007)



=== TEST 72: 6.72 invalid: U+1FFFFF (F7 BF BF BF) -> 1007
--- raw_request eval
handshake() . ctext(hexb("f7 bf bf bf"))
--- response_body eval
sclose(1007)



=== TEST 73: 6.73 invalid: lone lead byte C2 at the end of the message -> 1007
--- raw_request eval
handshake() . ctext(hexb("c2"))
--- response_body eval
sclose(1007)



=== TEST 74: 6.74 invalid: 3-byte sequence missing its last byte at the end (E2 82) -> 1007
--- raw_request eval
handshake() . ctext(hexb("e2 82"))
--- response_body eval
sclose(1007)



=== TEST 75: 6.75 invalid: 4-byte sequence missing its last byte at the end (F0 9F 98) -> 1007
--- raw_request eval
handshake() . ctext(hexb("f0 9f 98"))
--- response_body eval
sclose(1007)



=== TEST 76: 6.76 invalid: 4-byte U+10FFFF missing its last byte (F4 8F BF) -> 1007
--- raw_request eval
handshake() . ctext(hexb("f4 8f bf"))
--- response_body eval
sclose(1007)



=== TEST 77: 6.77 invalid: 2-byte lead followed by ASCII (C2 41) -> 1007
--- raw_request eval
handshake() . ctext(hexb("c2 41"))
--- response_body eval
sclose(1007)



=== TEST 78: 6.78 invalid: 3-byte sequence cut by ASCII (E2 82 41) -> 1007
--- raw_request eval
handshake() . ctext(hexb("e2 82 41"))
--- response_body eval
sclose(1007)



=== TEST 79: 6.79 invalid: 4-byte sequence cut by ASCII (F0 9F 98 41) -> 1007
--- raw_request eval
handshake() . ctext(hexb("f0 9f 98 41"))
--- response_body eval
sclose(1007)



=== TEST 80: 6.80 invalid: 2-byte lead followed by another lead (C2 C2 A2) -> 1007
--- raw_request eval
handshake() . ctext(hexb("c2 c2 a2"))
--- response_body eval
sclose(1007)



=== TEST 81: 6.81 invalid: every 2-byte lead C2..DF followed by a space -> 1007
--- raw_request eval
handshake() . ctext(hexb("c2 20 c3 20 c4 20 c5 20 c6 20 c7 20 c8 20 c9 20 ca 20 cb 20 cc 20 cd 20 ce 20 cf 20 d0 20 d1 20 d2 20 d3 20 d4 20 d5 20 d6 20 d7 20 d8 20 d9 20 da 20 db 20 dc 20 dd 20 de 20 df 20"))
--- response_body eval
sclose(1007)



=== TEST 82: 6.82 invalid: "kosme" followed by a surrogate and more text -> 1007
--- raw_request eval
handshake() . ctext(hexb("ce ba e1 bd b9 cf 83 ce bc ce b5 ed a0 80 65 64 69 74 65 64"))
--- response_body eval
sclose(1007)



=== TEST 83: 6.83 invalid text after valid messages: echoes first, then 1007
--- raw_request eval
handshake() . ctext(u8("\x{3ba}\x{1f79}\x{3c3}\x{3bc}\x{3b5}")) . cbin("\xff") . ctext("ok\xc0\xafok") . close_frame(1000)
--- response_body eval
stext(u8("\x{3ba}\x{1f79}\x{3c3}\x{3bc}\x{3b5}")) . sbin("\xff") . sclose(1007)



=== TEST 84: 6.84 invalid byte at the end of 100000 valid bytes -> 1007
--- raw_request eval
handshake() . ctext(utext(100000) . "\xff")
--- response_body eval
sclose(1007)



=== TEST 85: 6.85 invalid across fragments: surrogate split across fragments (ED | A0 80) -> 1007
--- raw_request eval
handshake() . cfrags(0x1, "\xed", "\xa0\x80")
--- response_body eval
sclose(1007)



=== TEST 86: 6.86 invalid across fragments: U+110000 split across fragments (F4 | 90 80 80) -> 1007
--- raw_request eval
handshake() . cfrags(0x1, "\xf4", "\x90\x80\x80")
--- response_body eval
sclose(1007)



=== TEST 87: 6.87 invalid across fragments: overlong split across fragments (E0 | 80 AF) -> 1007
--- raw_request eval
handshake() . cfrags(0x1, "\xe0", "\x80\xaf")
--- response_body eval
sclose(1007)



=== TEST 88: 6.88 invalid across fragments: bad byte in the last of three fragments -> 1007
--- raw_request eval
handshake() . cfrags(0x1, "valid ", "still valid ", "\xff")
--- response_body eval
sclose(1007)



=== TEST 89: 6.89 invalid across fragments: message ending inside a code point after an empty final fragment (E2 82 | "") -> 1007
--- raw_request eval
handshake() . cfrags(0x1, "\xe2\x82", "")
--- response_body eval
sclose(1007)



=== TEST 90: 6.90 invalid across fragments: message ending inside a code point split across fragments (F0 9F | 98) -> 1007
--- raw_request eval
handshake() . cfrags(0x1, "\xf0\x9f", "\x98")
--- response_body eval
sclose(1007)



=== TEST 91: 6.91 fail fast: FIN=0 fragment "Hello " 0xFF, nothing after it -> 1007 at once
--- raw_request eval
handshake() . ctext("Hello \xff", fin => 0)
--- response_body eval
sclose(1007)



=== TEST 92: 6.92 fail fast: FIN=0 fragment holding only C0 (never valid) -> 1007 at once
--- raw_request eval
handshake() . ctext("\xc0", fin => 0)
--- response_body eval
sclose(1007)



=== TEST 93: 6.93 fail fast: FIN=0 fragment holding only F5 (never valid) -> 1007 at once
--- raw_request eval
handshake() . ctext("\xf5", fin => 0)
--- response_body eval
sclose(1007)



=== TEST 94: 6.94 fail fast: FIN=0 fragment holding only a stray 0x80 -> 1007 at once
--- raw_request eval
handshake() . ctext("\x80", fin => 0)
--- response_body eval
sclose(1007)



=== TEST 95: 6.95 fail fast: FIN=0 fragment ending ED A0 (a surrogate is certain after 2 bytes) -> 1007 at once
--- raw_request eval
handshake() . ctext("abc\xed\xa0", fin => 0)
--- response_body eval
sclose(1007)



=== TEST 96: 6.96 fail fast: FIN=0 fragment ending F4 90 (above U+10FFFF after 2 bytes) -> 1007 at once
--- raw_request eval
handshake() . ctext("abc\xf4\x90", fin => 0)
--- response_body eval
sclose(1007)



=== TEST 97: 6.97 fail fast: FIN=0 fragment ending E0 80 (overlong after 2 bytes) -> 1007 at once
--- raw_request eval
handshake() . ctext("abc\xe0\x80", fin => 0)
--- response_body eval
sclose(1007)



=== TEST 98: 6.98 fail fast: valid first fragment, then a FIN=0 continuation with a bad byte -> 1007 at once
--- raw_request eval
handshake() . ctext(u8("\x{3ba}\x{1f79}\x{3c3}\x{3bc}\x{3b5}"), fin => 0) . ccont("\xed\xa0\x80", fin => 0)
--- response_body eval
sclose(1007)



=== TEST 99: 6.99 fail fast: bad byte inside one frame whose payload is not all sent (4 of 64 bytes) -> 1007 at once
--- raw_request eval
handshake() . ctext("abc\xc0", len => 64)
--- response_body eval
sclose(1007)



=== TEST 100: 6.100 fail fast: bad byte in the first 10 bytes of an unfinished 1000-byte FIN=0 frame -> 1007 at once
--- raw_request eval
handshake() . ctext("hello\xffworl", len => 1000, fin => 0)
--- response_body eval
sclose(1007)



=== TEST 101: 6.101 fail fast: the bad byte arrives in a later write of the same frame -> 1007 at once
--- raw_request eval
my $f = ctext("valid start, \xf8 then more that is never sent");
[handshake() . substr($f, 0, 12), substr($f, 12, 10)]
--- raw_request_middle_delay: 0.05
--- response_body eval
sclose(1007)



=== TEST 102: 6.102 binary message with invalid UTF-8 is echoed unchanged
--- raw_request eval
handshake() . cbin("\xff\xfe\xc0\xaf\xed\xa0\x80\xf4\x90\x80\x80") . close_frame(1000)
--- response_body eval
sbin("\xff\xfe\xc0\xaf\xed\xa0\x80\xf4\x90\x80\x80") . sclose(1000)



=== TEST 103: 6.103 fragmented binary with an invalid sequence split across fragments is echoed
--- raw_request eval
handshake() . cfrags(0x2, "\xed", "\xa0\x80", "\xe2\x82") . close_frame(1000)
--- response_body eval
sbin("\xed\xa0\x80\xe2\x82") . sclose(1000)



=== TEST 104: 6.104 valid: every Unicode scalar value U+0000..U+10FFFF (no surrogates) in one message
--- raw_request eval
handshake() . ctext(u8(map { chr } 0 .. 0xd7ff, 0xe000 .. 0x10ffff)) . close_frame(1000)
--- response_frames eval
stext(u8(map { chr } 0 .. 0xd7ff, 0xe000 .. 0x10ffff)) . sclose(1000)



=== TEST 105: 6.105 a ping with invalid UTF-8 between two halves of a code point does not disturb the check
--- raw_request eval
handshake() . ctext("\xe2", fin => 0) . cping("\xff\xfe") . ccont("\x82\xac") . close_frame(1000)
--- response_body eval
spong("\xff\xfe") . stext("\xe2\x82\xac") . sclose(1000)



=== TEST 106: 6.106 the check starts afresh with each text message (continuation bytes opening the next one -> 1007)
--- raw_request eval
handshake() . ctext("abc") . ctext("\x82\xac")
--- response_body eval
stext("abc") . sclose(1007)



=== TEST 107: 6.107 a binary message ending in a lead byte leaves no state for the next text -> 1007
--- raw_request eval
handshake() . cbin("\xe2") . ctext("\x82\xac")
--- response_body eval
sbin("\xe2") . sclose(1007)
