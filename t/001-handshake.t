# The opening handshake (RFC 6455 section 4.2, docs/websocket.md):
# the checks in their order with their status codes, headers, one-line
# bodies and info log lines; the exact 101; Sec-WebSocket-Accept;
# token lists; the origin allow-list; subprotocol selection; frames sent
# right behind the request.
#
# A block with "--- reject: CODE" expects that refusal: the status, a
# text/plain body of one line starting with "websocket: ", the info line
# "websocket handshake rejected", and no Sec-WebSocket-Accept.  A refused
# request leaves an ordinary HTTP/1.1 connection that nginx may keep
# alive, so the client half-closes after sending (--- shutdown) and
# nginx closes it after its answer.
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use WsPerf::Test;
use WsPerf::Client;
use WsPerf::TLS;

our $CONFIG = <<'_EOC_';
    location /echo {
        ws_perf_echo;
    }
    location /proto {
        ws_perf_echo;
        ws_perf_subprotocols chat superchat v2.ws-perf;
    }
    location /noproto {
        ws_perf_echo;
    }
    location /any {
        ws_perf_echo;
        ws_perf_allowed_origins *;
    }

    location /origin {
        ws_perf_echo;
        ws_perf_allowed_origins https://example.com http://localhost:8080;
    }
_EOC_

add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value('config', $CONFIG) unless defined $block->config;
    $block->set_value('timeout', 5) unless defined $block->timeout;

    my $code = $block->reject;
    if (defined $code) {
        $code =~ s/\s+//g;
        $block->set_value('error_code', $code);
        $block->set_value('shutdown', 1);
        my $headers = "Content-Type: text/plain\n";
        $headers .= $block->response_headers
            if defined $block->response_headers;
        $block->set_value('response_headers', $headers);
        $block->set_value('raw_response_headers_unlike',
                          qr/Sec-WebSocket-Accept/i);
        $block->set_value('response_body_like', qr/\Awebsocket: [^\r\n]+\n\z/)
            unless defined $block->response_body
                   || defined $block->response_body_like;
        $block->set_value('error_log', 'websocket handshake rejected')
            unless defined $block->error_log;
        $block->set_value('no_error_log', "[error]\n[crit]\n[alert]")
            unless defined $block->no_error_log;

    } elsif (!defined $block->no_error_log) {
        $block->set_value('no_error_log',
                          "websocket handshake rejected\n[error]\n[crit]\n[alert]");
    }

    tls_block($block);
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: RFC 6455 sample key: exactly the 101 of the contract, then frames
--- raw_request eval
hs_request() . ctext("hi") . close_frame(1000)
--- error_code: 101
--- raw_response_headers_like eval
qr{\AHTTP/1\.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=\r\n\z}
--- response_body eval
stext("hi") . sclose(1000)



=== TEST 2: another key: Sec-WebSocket-Accept is base64(SHA-1(key . GUID))
--- raw_request eval
hs_request(set => ['Sec-WebSocket-Key' => 'x3JJHMbDL1EzLkh9GBhXDw==']) . close_frame(1000)
--- error_code: 101
--- raw_response_headers_like eval
my $accept = ws_accept('x3JJHMbDL1EzLkh9GBhXDw==');
die "accept" unless $accept eq 'HSmrc0sMlYUkAGmm5OPpG2HaGWk=';
qr{\AHTTP/1\.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: \Q$accept\E\r\n\z}
--- response_body eval
sclose(1000)



=== TEST 3: a key of 16 bytes with every bit pattern (+ and / in base64)
--- raw_request eval
hs_request(set => ['Sec-WebSocket-Key' => '+/+/AAEC/f7/gICAgH9/fw==']) . close_frame(1000)
--- error_code: 101
--- raw_response_headers_like eval
my $accept = ws_accept('+/+/AAEC/f7/gICAgH9/fw==');
qr{\r\nSec-WebSocket-Accept: \Q$accept\E\r\n\z}
--- response_body eval
sclose(1000)



=== TEST 4: a request from Protocol::WebSocket's own client ("Upgrade: WebSocket", an Origin)
--- raw_request eval
use Protocol::WebSocket::Handshake::Client;
my $hs = Protocol::WebSocket::Handshake::Client->new(url => 'ws://localhost/echo');
$hs->req->key('dGhlIHNhbXBsZSBub25jZQ==');
$hs->to_string . close_frame(1000)
--- error_code: 101
--- raw_response_headers_like eval
qr{\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=\r\n\z}
--- response_body eval
sclose(1000)



=== TEST 5: token values in any case: "Upgrade: WebSocket", "Connection: UPGRADE"
--- raw_request eval
hs_request(set => [Upgrade => 'WebSocket', Connection => 'UPGRADE']) . close_frame(1000)
--- error_code: 101
--- response_body eval
sclose(1000)



=== TEST 6: header names in any case
--- raw_request eval
hs_request(set => [Upgrade => undef, Connection => undef,
                   'Sec-WebSocket-Key' => undef, 'Sec-WebSocket-Version' => undef],
           add => ['upgrade' => 'websocket', 'CONNECTION' => 'Upgrade',
                   'sec-websocket-key' => 'dGhlIHNhbXBsZSBub25jZQ==',
                   'SEC-WEBSOCKET-VERSION' => '13']) . close_frame(1000)
--- error_code: 101
--- raw_response_headers_like eval
qr{\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=\r\n\z}
--- response_body eval
sclose(1000)



=== TEST 7: "Connection: keep-alive, Upgrade" (a token list, as Firefox sends)
--- raw_request eval
hs_request(set => [Connection => 'keep-alive, Upgrade']) . close_frame(1000)
--- error_code: 101
--- response_body eval
sclose(1000)



=== TEST 8: "Connection: Upgrade,keep-alive" (a list without blanks)
--- raw_request eval
hs_request(set => [Connection => 'Upgrade,keep-alive']) . close_frame(1000)
--- error_code: 101
--- response_body eval
sclose(1000)



=== TEST 9: "Upgrade: h2c, WebSocket" (websocket is not the first token)
--- raw_request eval
hs_request(set => [Upgrade => 'h2c, WebSocket']) . close_frame(1000)
--- error_code: 101
--- response_body eval
sclose(1000)



=== TEST 10: several Upgrade headers, websocket in the second
--- raw_request eval
hs_request(set => [Upgrade => 'h2c'], add => [Upgrade => 'websocket']) . close_frame(1000)
--- error_code: 101
--- response_body eval
sclose(1000)



=== TEST 11: several Connection headers, upgrade in the second
--- raw_request eval
hs_request(set => [Connection => 'keep-alive'], add => [Connection => 'Upgrade']) . close_frame(1000)
--- error_code: 101
--- response_body eval
sclose(1000)



=== TEST 12: 1. method not GET (POST): 405 with Allow: GET
--- raw_request eval
hs_request(method => 'POST', add => ['Content-Length' => 0])
--- reject: 405
--- response_headers
Allow: GET



=== TEST 13: 1. method not GET (PUT): 405
--- raw_request eval
hs_request(method => 'PUT', add => ['Content-Length' => 0])
--- reject: 405
--- response_headers
Allow: GET



=== TEST 14: 2. HTTP/1.0: 400
--- raw_request eval
hs_request(version => 'HTTP/1.0')
--- reject: 400
--- response_body_like: \Awebsocket: [^\n]*HTTP/1\.1[^\n]*\n\z



=== TEST 15: 3. no Upgrade header: 426 with "Upgrade: websocket"
--- raw_request eval
hs_request(set => [Upgrade => undef])
--- reject: 426
--- raw_response_headers_like: \AHTTP/1\.1 426 Upgrade Required\r\n
--- response_headers
Upgrade: websocket
! Sec-WebSocket-Version



=== TEST 16: 3. Upgrade without the websocket token ("websocket2, h2c"): 426
--- raw_request eval
hs_request(set => [Upgrade => 'websocket2, h2c'])
--- reject: 426
--- response_headers
Upgrade: websocket



=== TEST 17: 3. "Upgrade: websocket/13" is a different token: 426
--- raw_request eval
hs_request(set => [Upgrade => 'websocket/13'])
--- reject: 426
--- response_headers
Upgrade: websocket



=== TEST 18: 4. no Connection header: 400
--- raw_request eval
hs_request(set => [Connection => undef])
--- reject: 400
--- response_body_like: \Awebsocket: [^\n]*(?i:connection)[^\n]*\n\z



=== TEST 19: 4. Connection without the upgrade token ("keep-alive, upgraded"): 400
--- raw_request eval
hs_request(set => [Connection => 'keep-alive, upgraded'])
--- reject: 400
--- response_body_like: \Awebsocket: [^\n]*(?i:connection)[^\n]*\n\z



=== TEST 20: 5. no Sec-WebSocket-Version: 426 with "Sec-WebSocket-Version: 13"
--- raw_request eval
hs_request(set => ['Sec-WebSocket-Version' => undef])
--- reject: 426
--- raw_response_headers_like: \AHTTP/1\.1 426 Upgrade Required\r\n
--- response_headers
Sec-WebSocket-Version: 13
! Upgrade



=== TEST 21: 5. Sec-WebSocket-Version: 8 (hybi-08): 426
--- raw_request eval
hs_request(set => ['Sec-WebSocket-Version' => '8'])
--- reject: 426
--- response_headers
Sec-WebSocket-Version: 13



=== TEST 22: 5. Sec-WebSocket-Version: 130 is not 13: 426
--- raw_request eval
hs_request(set => ['Sec-WebSocket-Version' => '130'])
--- reject: 426
--- response_headers
Sec-WebSocket-Version: 13



=== TEST 23: 5. Sec-WebSocket-Version: "13, 8" is not exactly 13: 426
--- raw_request eval
hs_request(set => ['Sec-WebSocket-Version' => '13, 8'])
--- reject: 426
--- response_headers
Sec-WebSocket-Version: 13



=== TEST 24: 6. no Sec-WebSocket-Key: 400 "websocket: missing or invalid Sec-WebSocket-Key"
--- raw_request eval
hs_request(set => ['Sec-WebSocket-Key' => undef])
--- reject: 400
--- response_body
websocket: missing or invalid Sec-WebSocket-Key



=== TEST 25: 6. Sec-WebSocket-Key twice: 400
--- raw_request eval
hs_request(add => ['Sec-WebSocket-Key' => 'x3JJHMbDL1EzLkh9GBhXDw=='])
--- reject: 400
--- response_body
websocket: missing or invalid Sec-WebSocket-Key



=== TEST 26: 6. Sec-WebSocket-Key twice with the same value: 400
--- raw_request eval
hs_request(add => ['Sec-WebSocket-Key' => 'dGhlIHNhbXBsZSBub25jZQ=='])
--- reject: 400
--- response_body
websocket: missing or invalid Sec-WebSocket-Key



=== TEST 27: 6. a key that is not base64 (24 characters): 400
--- raw_request eval
hs_request(set => ['Sec-WebSocket-Key' => 'dGhlIHNhbXBsZSBub25j!!=='])
--- reject: 400
--- response_body
websocket: missing or invalid Sec-WebSocket-Key



=== TEST 28: 6. base64 of 15 bytes: 400
--- raw_request eval
hs_request(set => ['Sec-WebSocket-Key' => 'dGhlIHNhbXBsZSBub25j'])
--- reject: 400
--- response_body
websocket: missing or invalid Sec-WebSocket-Key



=== TEST 29: 6. base64 of 17 bytes: 400
--- raw_request eval
hs_request(set => ['Sec-WebSocket-Key' => 'dGhlIHNhbXBsZSBub25jZTE='])
--- reject: 400
--- response_body
websocket: missing or invalid Sec-WebSocket-Key



=== TEST 30: 6. base64 of 18 bytes (24 characters, no padding): 400
--- raw_request eval
hs_request(set => ['Sec-WebSocket-Key' => 'dGhlIHNhbXBsZSBub25jZTEy'])
--- reject: 400
--- response_body
websocket: missing or invalid Sec-WebSocket-Key



=== TEST 31: 6. an empty Sec-WebSocket-Key: 400
--- raw_request eval
hs_request(set => ['Sec-WebSocket-Key' => ''])
--- reject: 400
--- response_body
websocket: missing or invalid Sec-WebSocket-Key



=== TEST 32: 7. Origin in the allow-list: 101
--- raw_request eval
hs_request(path => '/origin', add => [Origin => 'https://example.com']) . close_frame(1000)
--- error_code: 101
--- response_body eval
sclose(1000)



=== TEST 33: 7. the second allowed Origin, compared without regard to case: 101
--- raw_request eval
hs_request(path => '/origin', add => [Origin => 'HTTP://LOCALHOST:8080']) . close_frame(1000)
--- error_code: 101
--- response_body eval
sclose(1000)



=== TEST 34: 7. no Origin header (a non-browser client) is allowed: 101
--- raw_request eval
hs_request(path => '/origin') . close_frame(1000)
--- error_code: 101
--- response_body eval
sclose(1000)



=== TEST 35: 7. Origin not in the list: 403
--- raw_request eval
hs_request(path => '/origin', add => [Origin => 'https://evil.example'])
--- reject: 403



=== TEST 36: 7. an allowed origin's prefix or extension is not allowed: 403
--- raw_request eval
hs_request(path => '/origin', add => [Origin => 'https://example.com.evil.example'])
--- reject: 403



=== TEST 37: 7. another port of an allowed host: 403
--- raw_request eval
hs_request(path => '/origin', add => [Origin => 'http://localhost:8081'])
--- reject: 403



=== TEST 38: 7. "Origin: null" (sandboxed page): 403
--- raw_request eval
hs_request(path => '/origin', add => [Origin => 'null'])
--- reject: 403



=== TEST 39: 7. without ws_perf_allowed_origins a browser's Origin must name the Host: another site gets 403
--- raw_request eval
hs_request(add => [Origin => 'https://evil.example'])
--- reject: 403



=== TEST 39a: 7. without ws_perf_allowed_origins the Origin of the Host itself is allowed, whatever the scheme (TLS may end at a proxy)
--- raw_request eval
hs_request(add => [Origin => 'https://LocalHost']) . close_frame(1000)
--- error_code: 101
--- response_body eval
sclose(1000)



=== TEST 39b: 7. without ws_perf_allowed_origins another port of the Host is another origin: 403
--- raw_request eval
hs_request(add => [Origin => 'http://localhost:8081'])
--- reject: 403



=== TEST 39c: 7. without ws_perf_allowed_origins an Origin that only starts with the Host: 403
--- raw_request eval
hs_request(add => [Origin => 'http://localhost.evil.example'])
--- reject: 403



=== TEST 39d: 7. "ws_perf_allowed_origins *" allows any origin on purpose
--- raw_request eval
hs_request(path => '/any', add => [Origin => 'https://evil.example']) . close_frame(1000)
--- error_code: 101
--- response_body eval
sclose(1000)



=== TEST 40: 8. a request body (Content-Length: 5): 400
--- raw_request eval
hs_request(add => ['Content-Length' => 5], body => 'hello')
--- reject: 400
--- response_body_like: \Awebsocket: [^\n]*body[^\n]*\n\z



=== TEST 41: 8. a chunked request body: 400
--- raw_request eval
hs_request(add => ['Transfer-Encoding' => 'chunked'], body => "5\r\nhello\r\n0\r\n\r\n")
--- reject: 400
--- response_body_like: \Awebsocket: [^\n]*body[^\n]*\n\z



=== TEST 42: "Content-Length: 0" is no body: 101
--- raw_request eval
hs_request(add => ['Content-Length' => 0]) . close_frame(1000)
--- error_code: 101
--- response_body eval
sclose(1000)



=== TEST 43: order: 1 before 2 (POST over HTTP/1.0): 405
--- raw_request eval
hs_request(method => 'POST', version => 'HTTP/1.0', add => ['Content-Length' => 0])
--- reject: 405



=== TEST 44: order: 2 before 3 (HTTP/1.0 without Upgrade): 400, not 426
--- raw_request eval
hs_request(version => 'HTTP/1.0', set => [Upgrade => undef])
--- reject: 400
--- response_body_like: \Awebsocket: [^\n]*HTTP/1\.1[^\n]*\n\z



=== TEST 45: order: 3 before 4 and 5 (no Upgrade, no Connection, version 8): 426 Upgrade
--- raw_request eval
hs_request(set => [Upgrade => undef, Connection => 'close', 'Sec-WebSocket-Version' => 8])
--- reject: 426
--- response_headers
Upgrade: websocket
! Sec-WebSocket-Version



=== TEST 46: order: 4 before 5 (no upgrade token in Connection, version 8): 400
--- raw_request eval
hs_request(set => [Connection => 'keep-alive', 'Sec-WebSocket-Version' => 8])
--- reject: 400
--- response_body_like: \Awebsocket: [^\n]*(?i:connection)[^\n]*\n\z



=== TEST 47: order: 5 before 6 (version 8, no key): 426 Sec-WebSocket-Version
--- raw_request eval
hs_request(set => ['Sec-WebSocket-Version' => 8, 'Sec-WebSocket-Key' => undef])
--- reject: 426
--- response_headers
Sec-WebSocket-Version: 13
! Upgrade



=== TEST 48: order: 6 before 7 (bad key, refused Origin): 400
--- raw_request eval
hs_request(path => '/origin', set => ['Sec-WebSocket-Key' => 'short'],
           add => [Origin => 'https://evil.example'])
--- reject: 400
--- response_body
websocket: missing or invalid Sec-WebSocket-Key



=== TEST 49: order: 7 before 8 (refused Origin, a body): 403
--- raw_request eval
hs_request(path => '/origin', add => [Origin => 'https://evil.example',
                                      'Content-Length' => 5], body => 'hello')
--- reject: 403



=== TEST 50: subprotocol: the one offered and listed is answered
--- raw_request eval
hs_request(path => '/proto', add => ['Sec-WebSocket-Protocol' => 'chat']) . close_frame(1000)
--- error_code: 101
--- raw_response_headers_like eval
qr{\AHTTP/1\.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=\r\nSec-WebSocket-Protocol: chat\r\n\z}
--- response_body eval
sclose(1000)



=== TEST 51: subprotocol: the client's order wins over the server's
--- raw_request eval
hs_request(path => '/proto', add => ['Sec-WebSocket-Protocol' => 'superchat, chat']) . close_frame(1000)
--- error_code: 101
--- response_headers
Sec-WebSocket-Protocol: superchat
--- response_body eval
sclose(1000)



=== TEST 52: subprotocol: unknown ones are skipped ("foo, v2.ws-perf, chat")
--- raw_request eval
hs_request(path => '/proto', add => ['Sec-WebSocket-Protocol' => 'foo, v2.ws-perf, chat']) . close_frame(1000)
--- error_code: 101
--- response_headers
Sec-WebSocket-Protocol: v2.ws-perf
--- response_body eval
sclose(1000)



=== TEST 53: subprotocol: offers over several headers, the first match in client order
--- raw_request eval
hs_request(path => '/proto', add => ['Sec-WebSocket-Protocol' => 'foo, bar',
                                     'Sec-WebSocket-Protocol' => 'superchat',
                                     'Sec-WebSocket-Protocol' => 'chat']) . close_frame(1000)
--- error_code: 101
--- response_headers
Sec-WebSocket-Protocol: superchat
--- response_body eval
sclose(1000)



=== TEST 54: subprotocol: list with odd blanks ("foo ,chat")
--- raw_request eval
hs_request(path => '/proto', add => ['Sec-WebSocket-Protocol' => "foo ,chat"]) . close_frame(1000)
--- error_code: 101
--- response_headers
Sec-WebSocket-Protocol: chat
--- response_body eval
sclose(1000)



=== TEST 55: subprotocol: a token is matched whole ("cha, chatter, superchat2")
--- raw_request eval
hs_request(path => '/proto', add => ['Sec-WebSocket-Protocol' => 'cha, chatter, superchat2']) . close_frame(1000)
--- error_code: 101
--- response_headers
! Sec-WebSocket-Protocol
--- response_body eval
sclose(1000)



=== TEST 56: subprotocol: no match: 101 without Sec-WebSocket-Protocol
--- raw_request eval
hs_request(path => '/proto', add => ['Sec-WebSocket-Protocol' => 'foo, bar']) . close_frame(1000)
--- error_code: 101
--- raw_response_headers_like eval
qr{\AHTTP/1\.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=\r\n\z}
--- response_body eval
sclose(1000)



=== TEST 57: subprotocol: none offered: 101 without Sec-WebSocket-Protocol
--- raw_request eval
hs_request(path => '/proto') . close_frame(1000)
--- error_code: 101
--- response_headers
! Sec-WebSocket-Protocol
--- response_body eval
sclose(1000)



=== TEST 58: subprotocol: offered to a location without ws_perf_subprotocols: none answered
--- raw_request eval
hs_request(path => '/noproto', add => ['Sec-WebSocket-Protocol' => 'chat']) . close_frame(1000)
--- error_code: 101
--- response_headers
! Sec-WebSocket-Protocol
--- response_body eval
sclose(1000)



=== TEST 59: frames in the same write as the request are processed, in order
--- raw_request eval
hs_request() . ctext("one") . cbin("\x00\x01\x02") . cping("p") . ctext("two")
             . close_frame(1000)
--- error_code: 101
--- response_body eval
stext("one") . sbin("\x00\x01\x02") . spong("p") . stext("two") . sclose(1000)



=== TEST 60: the end of the header block and the first frames in one later packet
--- raw_request eval
my $req = hs_request() . ctext("after") . close_frame(1000);
my $cut = index($req, "\r\n\r\n") - 10;
[substr($req, 0, $cut), substr($req, $cut)]
--- raw_request_middle_delay: 0.2
--- error_code: 101
--- response_body eval
stext("after") . sclose(1000)



=== TEST 61: a frame cut by the end of the first read is completed from the socket
--- raw_request eval
hs_request() . cbin(pattern(20000)) . ctext(ascii(3000)) . close_frame(1000)
--- error_code: 101
--- response_body eval
sbin(pattern(20000)) . stext(ascii(3000)) . sclose(1000)



=== TEST 62: a handshake followed by only part of a frame header, then the rest
--- raw_request eval
my $f = ctext("split");
[hs_request() . substr($f, 0, 1), substr($f, 1) . close_frame(1000)]
--- raw_request_middle_delay: 0.2
--- error_code: 101
--- response_body eval
stext("split") . sclose(1000)



=== TEST 63: a header block of 7 KB (nginx's large header buffers) with frames behind it
--- raw_request eval
hs_request(add => [Cookie => 'c=' . ('x' x 6000), 'X-Pad' => 'y' x 1000])
    . ctext("behind big headers") . cbin(pattern(5000)) . close_frame(1000)
--- error_code: 101
--- response_body eval
stext("behind big headers") . sbin(pattern(5000)) . sclose(1000)



=== TEST 64: the client half-closes right after the handshake: 101, then nginx closes
--- raw_request eval
hs_request()
--- shutdown
--- error_code: 101
--- response_body_like: \A(?:\x88\x00|\x88\x02..)?\z



=== TEST 65: the client half-closes in the middle of a frame sent with the handshake
--- raw_request eval
hs_request() . substr(cbin(pattern(300)), 0, 100)
--- shutdown
--- error_code: 101
--- response_body_like: \A(?:\x88\x00|\x88\x02..)?\z
