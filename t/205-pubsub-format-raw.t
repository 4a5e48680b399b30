# ws_perf_format raw (docs/protocol.md): a subscriber gets each message's
# payload alone, text when it is valid UTF-8 and binary otherwise, and no
# envelope around it.
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
    location ~ ^/pubraw/(\w+)$ {
        ws_perf_publish;
        ws_perf_channels $1;
    }
_EOC_

run_tests();

__DATA__

=== TEST 1: JSON data arrives as its JSON text, a string as itself, with no envelope
An object, a string (published with a priority and an id, which do not
show), a number, then the end marker: four text frames, nothing else.
--- request
GET /pub?channel=fr
--- response_body_like: "subscribers":0
--- pubsub
format-raw channel=fr
--- pubsub_out
text (the JSON of the object)
text plain text
text 42
text end



=== TEST 2: a raw body that is valid UTF-8 arrives as a text frame holding the body
The body has 2-, 3- and 4-byte characters; JSON subscribers get it as a
string.
--- request
GET /pubraw/rawtext
--- response_body_like: "subscribers":0
--- pubsub
raw-publish channel=rawtext body=utf8
--- pubsub_out
POST /pubraw/rawtext: 202, 1 id(s)
JSON subscriber: channel rawtext, priority normal, data "caf\u00e9 \u2603 \ud83d\ude00", encoding none
raw subscriber: text frame 'caf\xe9 \u2603 \U0001f600'



=== TEST 3: a raw body that is not UTF-8 arrives as a binary frame holding the body
--- request
GET /pubraw/rawbin
--- response_body_like: "subscribers":0
--- pubsub
raw-binary channel=rawbin
--- pubsub_out
POST: 202
JSON subscriber: encoding base64, data decodes to the body
raw subscriber: binary frame, the body
