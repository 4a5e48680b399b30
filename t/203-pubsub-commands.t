# Client commands (docs/protocol.md, "Client to server"): each command gets
# the documented reply; client subscriptions need ws_perf_allowed_channels,
# client publishing needs ws_perf_client_publish; anything that is not a
# JSON text command gets an error reply; a flood is closed with 1008.
#
# Replies are compared as JSON: "<id>" stands for an id the server made,
# "<reason>" for any non-empty reason text.
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
    location /wsa {
        ws_perf;
        ws_perf_channels $arg_channels;
        ws_perf_allowed_channels user.$arg_user.* news lobby.*;
        ws_perf_max_channels_per_connection 3;
    }
    location /wsc {
        ws_perf;
        ws_perf_channels $arg_channels;
        ws_perf_allowed_channels room.*;
        ws_perf_client_publish on;
    }
    location /wsn {
        ws_perf;
        ws_perf_allowed_channels room.*;
    }
    location /wsf {
        ws_perf;
        ws_perf_client_rate 5;
        ws_perf_close_timeout 60s;
    }
    location /pub {
        ws_perf_publish;
    }
_EOC_

run_tests();

__DATA__

=== TEST 1: ping gets pong
--- raw_request eval
ws_open("/ws") . cmd('{"type":"ping"}') . cclose()
--- ws_replies
text {"type":"pong"}
close 1000



=== TEST 2: sub to an allowed channel gets subscribed
--- raw_request eval
ws_open("/wsa") . cmd({type => "sub", channel => "lobby.1"}) . cclose()
--- ws_replies
text {"type":"subscribed","channel":"lobby.1"}
close 1000



=== TEST 3: unsub of a subscribed channel gets unsubscribed
--- raw_request eval
ws_open("/wsa")
. cmd({type => "sub", channel => "lobby.1"})
. cmd({type => "unsub", channel => "lobby.1"})
. cclose()
--- ws_replies
text {"type":"subscribed","channel":"lobby.1"}
text {"type":"unsubscribed","channel":"lobby.1"}
close 1000



=== TEST 4: unsub of a channel not subscribed gets 404
--- raw_request eval
ws_open("/wsa") . cmd({type => "unsub", channel => "lobby.9"}) . cclose()
--- ws_replies
text {"type":"error","code":404,"reason":"<reason>"}
close 1000



=== TEST 5: unsub of a channel subscribed by the endpoint's config works like any other
--- raw_request eval
ws_open("/ws?channels=cfg.1") . cmd({type => "unsub", channel => "cfg.1"})
. cmd({type => "unsub", channel => "cfg.1"}) . cclose()
--- ws_replies
text {"type":"unsubscribed","channel":"cfg.1"}
text {"type":"error","code":404,"reason":"<reason>"}
close 1000



=== TEST 6: ack from a connection without a user gets 400
--- raw_request eval
ws_open("/ws") . cmd({type => "ack", id => "1795761701203-0-2"})
. cmd({type => "ping"}) . cclose()
--- ws_replies
text {"type":"error","code":400,"reason":"<reason>"}
text {"type":"pong"}
close 1000



=== TEST 7: resume of a channel it is not in gets 404; of one it is in, a gap notice (nothing kept) and resumed
Commands and the close go in one write: the memory engine answers at
once; the Redis engine's answers come after its close frame, which no
data frame may follow (RFC 6455 5.5.1), so Redis runs them in t/40x.
The id is in the engine's form: "<ms>-<worker>-<seq>" in memory, a number
in Redis (docs/protocol.md).
--- engine: shm
--- raw_request eval
ws_open("/ws?channels=room.2")
. cmd({type => "resume", channel => "room.1",
       since => by_engine(shm => "1795761701203-0-2", redis => "1795761701203002")})
. cmd({type => "resume", channel => "room.2",
       since => by_engine(shm => "1795761701203-0-2", redis => "1795761701203002")})
. cclose()
--- ws_replies eval
'text {"type":"error","code":404,"reason":"<reason>"}
text {"type":"gap","channel":"room.2","since":"'
. by_engine(shm => "1795761701203-0-2", redis => "1795761701203002")
. '","last":"0"}
text {"type":"resumed","channel":"room.2","count":0}
close 1000
'



=== TEST 8: an unknown command type gets 400
--- raw_request eval
ws_open("/ws") . cmd({type => "dance"}) . cmd({type => "ping"}) . cclose()
--- ws_replies
text {"type":"error","code":400,"reason":"<reason>"}
text {"type":"pong"}
close 1000



=== TEST 9: a JSON object without "type" gets 400
--- raw_request eval
ws_open("/ws") . cmd({channel => "room.1"}) . cclose()
--- ws_replies
text {"type":"error","code":400,"reason":"<reason>"}
close 1000



=== TEST 10: a text frame that is not JSON gets 400, and the connection stays usable
--- raw_request eval
ws_open("/ws") . cmd('hello {') . cmd({type => "ping"}) . cclose()
--- ws_replies
text {"type":"error","code":400,"reason":"<reason>"}
text {"type":"pong"}
close 1000



=== TEST 11: JSON that is not an object gets 400
--- raw_request eval
ws_open("/ws") . cmd('["ping"]') . cmd('"ping"') . cmd('42') . cclose()
--- ws_replies
text {"type":"error","code":400,"reason":"<reason>"}
text {"type":"error","code":400,"reason":"<reason>"}
text {"type":"error","code":400,"reason":"<reason>"}
close 1000



=== TEST 12: a binary frame gets a 400 error reply
--- raw_request eval
ws_open("/ws") . cbinary('{"type":"ping"}') . cmd({type => "ping"}) . cclose()
--- ws_replies
text {"type":"error","code":400,"reason":"<reason>"}
text {"type":"pong"}
close 1000



=== TEST 13: a command with "type" that is not a string gets 400
--- raw_request eval
ws_open("/ws") . cmd('{"type":1}') . cmd('{"type":null}') . cclose()
--- ws_replies
text {"type":"error","code":400,"reason":"<reason>"}
text {"type":"error","code":400,"reason":"<reason>"}
close 1000



=== TEST 14: a command sent as a fragmented text message works like any other
--- raw_request eval
ws_open("/ws") . cfragments('{"ty', 'pe":"pi', 'ng"}') . cclose()
--- ws_replies
text {"type":"pong"}
close 1000



=== TEST 15: sub without ws_perf_allowed_channels gets 403 (client subscriptions off)
--- raw_request eval
ws_open("/ws") . cmd({type => "sub", channel => "room.1"}) . cclose()
--- ws_replies
text {"type":"error","code":403,"reason":"<reason>"}
close 1000



=== TEST 16: a pattern with a variable (user.$arg_user.*) allows the user's own channels
--- raw_request eval
ws_open("/wsa?user=alice")
. cmd({type => "sub", channel => "user.alice.inbox"})
. cmd({type => "sub", channel => "user.alice.a.b"})
. cclose()
--- ws_replies
text {"type":"subscribed","channel":"user.alice.inbox"}
text {"type":"subscribed","channel":"user.alice.a.b"}
close 1000



=== TEST 17: a pattern with a variable (user.$arg_user.*) denies other users' channels
--- raw_request eval
ws_open("/wsa?user=alice")
. cmd({type => "sub", channel => "user.bob.inbox"})
. cmd({type => "sub", channel => "user.alicex.inbox"})
. cmd({type => "sub", channel => "xuser.alice.inbox"})
. cclose()
--- ws_replies
text {"type":"error","code":403,"reason":"<reason>"}
text {"type":"error","code":403,"reason":"<reason>"}
text {"type":"error","code":403,"reason":"<reason>"}
close 1000



=== TEST 18: a pattern without * matches only the name itself
--- raw_request eval
ws_open("/wsa")
. cmd({type => "sub", channel => "news"})
. cmd({type => "sub", channel => "newsroom"})
. cmd({type => "sub", channel => "anews"})
. cclose()
--- ws_replies
text {"type":"subscribed","channel":"news"}
text {"type":"error","code":403,"reason":"<reason>"}
text {"type":"error","code":403,"reason":"<reason>"}
close 1000



=== TEST 19: sub with an invalid channel name gets 400
--- raw_request eval
ws_open("/wsa")
. cmd({type => "sub", channel => "lobby.a b"})
. cmd({type => "sub", channel => "lobby." . ("x" x 200)})
. cmd({type => "sub"})
. cmd('{"type":"sub","channel":7}')
. cclose()
--- ws_replies
text {"type":"error","code":400,"reason":"<reason>"}
text {"type":"error","code":400,"reason":"<reason>"}
text {"type":"error","code":400,"reason":"<reason>"}
text {"type":"error","code":400,"reason":"<reason>"}
close 1000



=== TEST 20: sub beyond ws_perf_max_channels_per_connection (3) gets 429
--- raw_request eval
ws_open("/wsa")
. chain(map { cmd({type => "sub", channel => "lobby.$_"}) } 1 .. 4)
. cclose()
--- ws_replies
text {"type":"subscribed","channel":"lobby.1"}
text {"type":"subscribed","channel":"lobby.2"}
text {"type":"subscribed","channel":"lobby.3"}
text {"type":"error","code":429,"reason":"<reason>"}
close 1000



=== TEST 21: channels from the endpoint's config count towards the limit
--- raw_request eval
ws_open("/wsa?channels=lobby.0")
. chain(map { cmd({type => "sub", channel => "lobby.$_"}) } 1 .. 3)
. cclose()
--- ws_replies
text {"type":"subscribed","channel":"lobby.1"}
text {"type":"subscribed","channel":"lobby.2"}
text {"type":"error","code":429,"reason":"<reason>"}
close 1000



=== TEST 22: unsub frees a place under the limit
--- raw_request eval
ws_open("/wsa")
. chain(map { cmd({type => "sub", channel => "lobby.$_"}) } 1 .. 3)
. cmd({type => "unsub", channel => "lobby.2"})
. cmd({type => "sub", channel => "lobby.4"})
. cclose()
--- ws_replies
text {"type":"subscribed","channel":"lobby.1"}
text {"type":"subscribed","channel":"lobby.2"}
text {"type":"subscribed","channel":"lobby.3"}
text {"type":"unsubscribed","channel":"lobby.2"}
text {"type":"subscribed","channel":"lobby.4"}
close 1000



=== TEST 23: pub without ws_perf_client_publish gets 403
--- raw_request eval
ws_open("/wsn") . cmd({type => "pub", channel => "room.1", data => "hi"})
. cclose()
--- ws_replies
text {"type":"error","code":403,"reason":"<reason>"}
close 1000



=== TEST 24: pub with ws_perf_client_publish on, to an allowed channel, gets published with an id
Commands and the close go in one write: the memory engine answers at
once; the Redis engine's answers come after its close frame, which no
data frame may follow (RFC 6455 5.5.1), so Redis runs them in t/40x.
--- engine: shm
--- raw_request eval
ws_open("/wsc")
. cmd({type => "pub", channel => "room.1", data => "hi", priority => "high"})
. cclose()
--- ws_replies
text {"type":"published","id":"<id>"}
close 1000



=== TEST 25: pub to a channel outside ws_perf_allowed_channels gets 403
--- raw_request eval
ws_open("/wsc") . cmd({type => "pub", channel => "other.1", data => "hi"})
. cclose()
--- ws_replies
text {"type":"error","code":403,"reason":"<reason>"}
close 1000



=== TEST 26: pub to a user gets 403 (clients publish to channels)
--- raw_request eval
ws_open("/wsc") . cmd({type => "pub", user => "bob", data => "hi"}) . cclose()
--- ws_replies
text {"type":"error","code":403,"reason":"<reason>"}
close 1000



=== TEST 27: a client subscribed to the channel it publishes to gets the message in the documented envelope
Commands and the close go in one write: the memory engine answers at
once; the Redis engine's answers come after its close frame, which no
data frame may follow (RFC 6455 5.5.1), so Redis runs them in t/40x.
The reply is critical, so it leaves before the (high) message.
--- engine: shm
--- raw_request eval
ws_open("/wsc?channels=room.5")
. cmd({type => "pub", channel => "room.5", priority => "high",
       data => {x => [1, "two", undef]}})
. cclose()
--- ws_replies
text {"type":"published","id":"<id>"}
text {"type":"msg","id":"<id>","channel":"room.5","priority":"high","ts":"<ts>","ack":false,"data":{"x":[1,"two",null]}}
close 1000



=== TEST 28: pub with a bad priority gets a 400 error reply that is valid JSON
--- raw_request eval
ws_open("/wsc")
. cmd({type => "pub", channel => "room.1", data => "hi", priority => "urgent"})
. cclose()
--- ws_replies
text {"type":"error","code":400,"reason":"<reason>"}
close 1000



=== TEST 29: pub without data gets a 400 error reply that is valid JSON
--- raw_request eval
ws_open("/wsc") . cmd({type => "pub", channel => "room.1"}) . cclose()
--- ws_replies
text {"type":"error","code":400,"reason":"<reason>"}
close 1000



=== TEST 30: a client's pub reaches the other subscribers of the channel
--- request
GET /pub?channel=room.1
--- response_body_like: "subscribers":0
--- pubsub
client-pub path=/wsc channel=room.1
--- pubsub_out
A: subscribed
B: subscribed
publisher: published, id given
A got: channel room.1, priority high, data hi, id the publisher's
B got: channel room.1, priority high, data hi, id the publisher's
publisher then got: published pong



=== TEST 31: a client over ws_perf_client_rate (5/s, 2 s of burst) is closed with 1008
30 pings in one go: the burst (10) is answered, then close 1008, and
nothing after it.  The connection ends at once, not after the close
timeout: the client's close frame came in the same read as the flood (over
TLS, with WS_PERF_TLS=1, the server must find it there).
--- raw_request eval
ws_open("/wsf") . chain(map { cmd({type => "ping"}) } 1 .. 30) . cclose()
--- ws_replies_like
\A(?:text \{"type":"pong"\}\n){10,11}close 1008\n\z



=== TEST 32: a client within ws_perf_client_rate is not closed
--- raw_request eval
ws_open("/wsf") . chain(map { cmd({type => "ping"}) } 1 .. 9) . cclose()
--- ws_replies eval
qq{text {"type":"pong"}\n} x 9 . "close 1000\n"
