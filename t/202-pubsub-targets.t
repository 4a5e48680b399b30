# What a connection is subscribed to (docs/protocol.md): channels that
# ws_perf_channels names for the endpoint (a query argument, a regex
# capture), the user that ws_perf_user names; bad names and limits refuse
# the handshake (400, 429).
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
        ws_perf_max_channels_per_connection 3;
    }
    location /wsd {
        ws_perf;
        ws_perf_channels $arg_channels;
    }
    location ~ ^/sub/(\w+)$ {
        ws_perf;
        ws_perf_channels $1;
    }
    location /wsu {
        ws_perf;
        ws_perf_user $arg_user;
    }
    location /wsh {
        ws_perf;
        ws_perf_user $http_x_user;
    }
    location /wsl {
        ws_perf;
        ws_perf_user $arg_user;
        ws_perf_max_connections_per_user 2;
    }
    location /pub {
        ws_perf_publish;
    }
_EOC_

sub names { join ',', map { "c$_" } 1 .. $_[0] }

run_tests();

__DATA__

=== TEST 1: ?channels=ca,cb,cc subscribes to the three, and to nothing else
--- request
GET /pub?channel=ca
--- response_body_like: "subscribers":0
--- pubsub
channels path=/ws?channels=ca,cb,cc publish_to=cd,ca,cb,cc,cd end=ca check=ca,cb,cc,cd
--- pubsub_out
handshake 101
subscribers: ca=1 cb=1 cc=1 cd=0
received from: ca cb cc



=== TEST 2: a regex capture names the channel (location ~ ^/sub/(\w+)$)
--- request
GET /pub?channel=room7
--- response_body_like: "subscribers":0
--- pubsub
channels path=/sub/room7 publish_to=room8,room7,room70 end=room7 check=room7,room8
--- pubsub_out
handshake 101
subscribers: room7=1 room8=0
received from: room7



=== TEST 3: a channel name using every allowed character class is accepted
--- raw_request eval
ws_open("/ws?channels=AZaz09_.:\@=+-") . cmd({type => "ping"}) . cclose()
--- ws_replies
text {"type":"pong"}
close 1000



=== TEST 4: a channel name of 128 characters is accepted
--- raw_request eval
ws_open("/ws?channels=" . ("n" x 128)) . cmd({type => "ping"}) . cclose()
--- ws_replies
text {"type":"pong"}
close 1000



=== TEST 5: a channel name of 129 characters gets 400
--- raw_request eval
ws_open("/ws?channels=" . ("n" x 129), Connection => "Upgrade, close")
--- error_code: 400
--- response_body_like: ^websocket: .*\n\z
--- error_log
websocket handshake rejected



=== TEST 6: one invalid name among valid ones gets 400
--- raw_request eval
ws_open("/ws?channels=good,b!ad,fine", Connection => "Upgrade, close")
--- error_code: 400
--- response_body_like: ^websocket: .*\n\z
--- error_log
websocket handshake rejected



=== TEST 7: a channel name with a character outside the set (/) gets 400
--- raw_request eval
ws_open("/ws?channels=a/b", Connection => "Upgrade, close")
--- error_code: 400
--- response_body_like: ^websocket: .*\n\z



=== TEST 8: as many channels as ws_perf_max_channels_per_connection (3) is fine
--- raw_request eval
ws_open("/ws?channels=c1,c2,c3") . cmd({type => "ping"}) . cclose()
--- ws_replies
text {"type":"pong"}
close 1000



=== TEST 9: one more than ws_perf_max_channels_per_connection (4 > 3) gets 400
--- raw_request eval
ws_open("/ws?channels=c1,c2,c3,c4", Connection => "Upgrade, close")
--- error_code: 400
--- response_body_like: ^websocket: .*\n\z
--- error_log
websocket handshake rejected



=== TEST 10: the default limit is 64 channels: 64 are fine
--- raw_request eval
ws_open("/wsd?channels=" . main::names(64)) . cmd({type => "ping"}) . cclose()
--- ws_replies
text {"type":"pong"}
close 1000



=== TEST 11: the default limit is 64 channels: 65 get 400
--- raw_request eval
ws_open("/wsd?channels=" . main::names(65), Connection => "Upgrade, close")
--- error_code: 400
--- response_body_like: ^websocket: .*\n\z



=== TEST 12: an invalid user name gets 400
--- raw_request eval
ws_open("/wsu?user=al!ce", Connection => "Upgrade, close")
--- error_code: 400
--- response_body_like: ^websocket: .*\n\z
--- error_log
websocket handshake rejected



=== TEST 13: ws_perf_user $arg_user: a message to the user reaches each of its connections
Two connections of alice, one of bob: both of alice's get the message,
with "user" in place of "channel"; bob's gets nothing.
--- request
GET /pub?user=alice
--- response_body_like: "subscribers":0
--- pubsub
user mode=arg path=/wsu
--- pubsub_out
handshakes: 101 101 101
user info: alice 2, bob 1
alice#1 got: for alice (user=alice, channel key absent, id matches)
alice#2 got: for alice (user=alice, channel key absent, id matches)
bob got: nothing



=== TEST 14: ws_perf_user $http_x_user: the user from a request header
--- request
GET /pub?user=alice
--- response_body_like: "subscribers":0
--- pubsub
user mode=header path=/wsh
--- pubsub_out
handshakes: 101 101 101
user info: alice 2, bob 1
alice#1 got: for alice (user=alice, channel key absent, id matches)
alice#2 got: for alice (user=alice, channel key absent, id matches)
bob got: nothing



=== TEST 15: ws_perf_max_connections_per_user 2: the third connection gets 429
Another user is not affected, and a slot freed by a closed connection can
be taken again.
--- request
GET /pub?user=alice
--- response_body_like: "subscribers":0
--- pubsub
user-limit path=/wsl
--- pubsub_out
alice#1 101, alice#2 101, alice#3 429, bob 101
after alice#1 left: alice#4 101
--- error_log
websocket handshake rejected
