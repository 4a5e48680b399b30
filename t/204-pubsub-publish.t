# The publish API (docs/protocol.md, "Publishing over HTTP"): JSON objects
# and arrays (all validated before any is published), raw bodies on a
# location with ws_perf_channels, the answers 202/400/405/413, and GET for a
# channel's info.
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use WsPerf::Engine;
use WsPerf::PubSub;

worker_connections(1024);
no_shuffle();

pubsub_init(config => <<'_EOC_');
    location /ws {
        ws_perf;
        ws_perf_channels $arg_channels;
    }
    location /wsraw {
        ws_perf;
        ws_perf_channels $arg_channels;
        ws_perf_format raw;
    }
    location /pub {
        ws_perf_publish;
    }
    location /pubsmall {
        ws_perf_publish;
        ws_perf_max_message_size 100;
    }
    location ~ ^/pubraw/(\w+)$ {
        ws_perf_publish;
        ws_perf_channels $1;
    }
    location ~ ^/pubcork/(\w+)$ {
        ws_perf_publish;
        ws_perf_channels $1;
        tcp_nopush on;
    }
_EOC_

# a JSON string with the error's reason, nothing else
our $ERROR = qr/\A\{"error":"(?:[^"\\\x00-\x1f]|\\.)+"\}\r?\n?\z/;

# the JSON body of exactly $n bytes publishing to channel "c"
sub body_of {
    my $n = shift;
    my $b = '{"channel":"c","data":""}';
    substr($b, -2, 0) = 'x' x ($n - length $b);
    return $b;
}

run_tests();

__DATA__

=== TEST 1: POST of a JSON object: 202 with its id
--- request
POST /pub
{"channel":"news","data":{"x":1}}
--- error_code: 202
--- response_body_like: \A\{"ids":\["[A-Za-z0-9_.:-]{1,64}"\]\}\r?\n?\z



=== TEST 2: POST of a JSON array: 202 with an id for each message, in order
--- request
POST /pub
[{"channel":"news","data":1},{"user":"bob","data":2},{"channel":"news","data":3,"priority":"low"}]
--- error_code: 202
--- response_body_like: \A\{"ids":\["[A-Za-z0-9_.:-]+","[A-Za-z0-9_.:-]+","[A-Za-z0-9_.:-]+"\]\}\r?\n?\z



=== TEST 3: POST to a user: 202
--- request
POST /pub
{"user":"bob","data":"hi","priority":"critical","ack":true}
--- error_code: 202
--- response_body_like: \A\{"ids":\["[A-Za-z0-9_.:-]{1,64}"\]\}\r?\n?\z



=== TEST 4: a publisher's own id is echoed in the 202 and in the envelope
--- request
GET /pub?channel=ids
--- response_body_like: "subscribers":0
--- pubsub
custom-id channel=ids
--- pubsub_out
202 ids: ["order-42:a.b_c"]
array 202 ids: first x-1, second generated
envelope id order-42:a.b_c, ack true, data 1
envelope id x-1, ack false, data 2
envelope id the generated one, ack false, data 3



=== TEST 5: an id of 64 characters is accepted
--- request eval
"POST /pub\n" . '{"channel":"c","data":1,"id":"' . ("i" x 64) . '"}'
--- error_code: 202
--- response_body eval
'{"ids":["' . ("i" x 64) . "\"]}\r\n"



=== TEST 6: an array with one bad message publishes none of them
The bad one is the last: the two before it reach no subscriber and are not
counted.
--- request
GET /pub?channel=atom
--- response_body_like: "subscribers":0
--- pubsub
array-atomic channel=atom
--- pubsub_out
array with a bad third message: 400, with an error
channel messages after it: 0
subscriber got: marker
channel messages after the marker: 1



=== TEST 7: body that is not JSON: 400 with the reason
--- request
POST /pub
{"channel":"news","data":
--- error_code: 400
--- response_body_like eval
$::ERROR



=== TEST 8: JSON that is neither an object nor an array: 400
--- request
POST /pub
"just a string"
--- error_code: 400
--- response_body_like eval
$::ERROR



=== TEST 9: an empty body: 400
--- request eval
"POST /pub\n"
--- more_headers
Content-Length: 0
--- error_code: 400
--- response_body_like eval
$::ERROR



=== TEST 10: neither "channel" nor "user": 400
--- request
POST /pub
{"data":1}
--- error_code: 400
--- response_body_like eval
$::ERROR



=== TEST 11: an invalid channel name: 400
--- request
POST /pub
{"channel":"no spaces","data":1}
--- error_code: 400
--- response_body_like eval
$::ERROR



=== TEST 12: a channel name that is not a string: 400
--- request
POST /pub
{"channel":42,"data":1}
--- error_code: 400
--- response_body_like eval
$::ERROR



=== TEST 13: an unknown priority: 400
--- request
POST /pub
{"channel":"news","data":1,"priority":"urgent"}
--- error_code: 400
--- response_body_like eval
$::ERROR



=== TEST 14: an id of 65 characters: 400
--- request eval
"POST /pub\n" . '{"channel":"c","data":1,"id":"' . ("i" x 65) . '"}'
--- error_code: 400
--- response_body_like eval
$::ERROR



=== TEST 15: an id with a character outside A-Z a-z 0-9 _ . : -: 400
--- request
POST /pub
{"channel":"c","data":1,"id":"a/b"}
--- error_code: 400
--- response_body_like eval
$::ERROR



=== TEST 16: a message without "data": 400
--- request
POST /pub
{"channel":"c"}
--- error_code: 400
--- response_body_like eval
$::ERROR



=== TEST 17: an array element that is not an object: 400
--- request
POST /pub
[{"channel":"c","data":1},7]
--- error_code: 400
--- response_body_like eval
$::ERROR



=== TEST 18: PUT: 405 with Allow
--- request
PUT /pub
{"channel":"c","data":1}
--- error_code: 405
--- response_headers_like
Allow: .*\bGET\b.*
Allow: .*\bPOST\b.*



=== TEST 19: DELETE: 405 with Allow
--- request
DELETE /pub?channel=c
--- error_code: 405
--- response_headers_like
Allow: .*\bPOST\b.*



=== TEST 20: a body of exactly ws_perf_max_message_size (100) is accepted
--- request eval
"POST /pubsmall\n" . main::body_of(100)
--- error_code: 202



=== TEST 21: a body over ws_perf_max_message_size: 413
--- request eval
"POST /pubsmall\n" . main::body_of(101)
--- error_code: 413



=== TEST 22: a chunked JSON body is accepted
--- raw_request eval
my $b = '{"channel":"c","data":"chunked"}';
"POST /pub HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
. "Transfer-Encoding: chunked\r\n\r\n"
. sprintf("%x\r\n%s\r\n", 10, substr($b, 0, 10))
. sprintf("%x\r\n%s\r\n", length($b) - 10, substr($b, 10))
. "0\r\n\r\n"
--- error_code: 202
--- response_body_like: \A\{"ids":\["[A-Za-z0-9_.:-]{1,64}"\]\}\r?\n?\z



=== TEST 23: a chunked body over ws_perf_max_message_size: 413
--- raw_request eval
my $b = main::body_of(150);
"POST /pubsmall HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
. "Transfer-Encoding: chunked\r\n\r\n"
. sprintf("%x\r\n%s\r\n", 75, substr($b, 0, 75))
. sprintf("%x\r\n%s\r\n", 75, substr($b, 75))
. "0\r\n\r\n"
--- error_code: 413



=== TEST 24: GET gives a channel's subscribers and messages
--- request
GET /pub?channel=inf
--- response_body_like: "subscribers":0
--- pubsub
info-counts channel=inf
--- pubsub_out
3 connected, 6 published: {"channel": "inf", "messages": 6, "subscribers": 3, "workers": 1}
one left: subscribers 2



=== TEST 25: GET with ?user= gives a user's info
--- request
GET /pub?user=bob
--- response_body eval
qq{{"user":"bob","subscribers":0,"workers":0,"messages":0}\r\n}



=== TEST 26: GET on a location with ws_perf_channels gives that channel's info
--- request
GET /pubraw/abc
--- response_body eval
qq{{"channel":"abc","subscribers":0,"workers":0,"messages":0}\r\n}



=== TEST 27: a raw body to a location with ws_perf_channels: 202 with one id
--- request
POST /pubraw/abc
hello world
--- error_code: 202
--- response_body_like: \A\{"ids":\["[A-Za-z0-9_.:-]{1,64}"\]\}\r?\n?\z



=== TEST 28: a raw body reaches JSON subscribers as a string and raw ones as text, priority normal
--- request
GET /pubraw/rawch
--- response_body_like: "subscribers":0
--- pubsub
raw-publish channel=rawch
--- pubsub_out
POST /pubraw/rawch: 202, 1 id(s)
JSON subscriber: channel rawch, priority normal, data "hello world", encoding none
raw subscriber: text frame 'hello world'



=== TEST 29: ?priority= sets a raw body's priority
--- request
GET /pubraw/rawch
--- response_body_like: "subscribers":0
--- pubsub
raw-publish channel=rawch priority=high
--- pubsub_out
POST /pubraw/rawch?priority=high: 202, 1 id(s)
JSON subscriber: channel rawch, priority high, data "hello world", encoding none
raw subscriber: text frame 'hello world'



=== TEST 30: a raw body that looks like JSON is still the payload, as a string
--- request
GET /pubraw/rawch
--- response_body_like: "subscribers":0
--- pubsub
raw-publish channel=rawch body={"channel":"other","data":1}
--- pubsub_out
POST /pubraw/rawch: 202, 1 id(s)
JSON subscriber: channel rawch, priority normal, data "{\"channel\":\"other\",\"data\":1}", encoding none
raw subscriber: text frame '{"channel":"other","data":1}'



=== TEST 31: an empty raw body is an empty payload
--- request
GET /pubraw/rawch
--- response_body_like: "subscribers":0
--- pubsub
raw-publish channel=rawch body=
--- pubsub_out
POST /pubraw/rawch: 202, 1 id(s)
JSON subscriber: channel rawch, priority normal, data "", encoding none
raw subscriber: text frame ''



=== TEST 32: ?priority= with an unknown priority: 400
--- request
POST /pubraw/abc?priority=urgent
hello
--- error_code: 400
--- response_body_like eval
$::ERROR



=== TEST 33: a raw body that is not UTF-8: binary frame to raw subscribers, base64 to JSON ones
--- request
GET /pubraw/binch
--- response_body_like: "subscribers":0
--- pubsub
raw-binary channel=binch
--- pubsub_out
POST: 202
JSON subscriber: encoding base64, data decodes to the body
raw subscriber: binary frame, the body



=== TEST 34: pipelined publishes under tcp_nopush on: the answers leave corked together, and an unfinished request does not hold back those before it
--- engine: shm: only answers given at once are corked; in Redis mode each waits for Redis, and so does the next request
--- request
GET /pub?channel=corkch
--- response_body_like: "subscribers":0
--- pubsub
pipelined path=/pubcork/corkch n=20 part=1
--- pubsub_out
first answer: HTTP/1.1 202 Accepted
20 answers 202 of 20
in at most 3 segments
2 whole and a part: 2 answers, not held back
the rest: 1 answer



=== TEST 35: a pipelined publish under tcp_nopush on, then a WebSocket handshake on the same connection in a location without it: nothing stays corked
--- engine: shm: only answers given at once are corked
--- request
GET /pub?channel=corkws
--- response_body_like: "subscribers":0
--- pubsub
pipelined-upgrade pub=/pubcork/corkws ws=/ws?channels=corkws
--- pubsub_out
answers: HTTP/1.1 202 Accepted, HTTP/1.1 101 Switching Protocols
the 202 and the 101 not held back
message not held back
