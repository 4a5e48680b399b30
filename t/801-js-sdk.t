# The JavaScript SDK (clients/js/ws-perf.js, docs/clients.md) against the
# real module: t/js/sdk.js runs each scenario with node ("ws" from
# build/npm, as util/deps.sh installs it) and prints a verdict.  The lz4
# decoder is checked against blocks made by python3-lz4, against hostile
# blocks and mutations, and against the frames the module sends; then
# subscribe, publish and unsubscribe (over ws and wss); at-least-once made
# exactly-once for the app across an nginx reload, a worker killed with
# SIGKILL and a Redis restart (AOF, appendfsync always), with clients
# dropping their connections at random; and the gap event.
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use WsPerf::PubSub;
use WsPerf::Redis;
use WsPerf::TLS ();

use Cwd ();

redis_start(port => 6491, appendonly => 1);

$WsPerf::PubSub::PYTHON = 'node';
$ENV{NODE_PATH} = Cwd::getcwd() . '/build/npm/node_modules';
$ENV{TEST_NGINX_SDK_CA} = WsPerf::TLS::tls_cert();
$ENV{TEST_NGINX_SDK_TLS_PORT} = WsPerf::TLS::tls_port();
my $listen = WsPerf::TLS::tls_listen();

workers(2);
master_on();
worker_connections(1024);
no_shuffle();

pubsub_init(client => 't/js/sdk.js', http_config => <<'_EOC_', config => <<"_EOC_");
    ws_perf_redis redis://127.0.0.1:$TEST_NGINX_REDIS_PORT;
    ws_perf_offline_max 1000;
    ws_perf_ack_timeout 300ms;
    ws_perf_max_attempts 100;
    ws_perf_redis_reconnect 50ms 200ms;
_EOC_
$listen
    location /ws {
        ws_perf;
        ws_perf_user \$arg_user;
        ws_perf_channels \$arg_channels;
        ws_perf_allowed_channels room.*;
        ws_perf_client_publish on;
        ws_perf_subprotocols ws-perf.v1+lz4 ws-perf.v1;
    }
    location /wsp {
        ws_perf;
        ws_perf_presence on;
        ws_perf_subprotocols ws-perf.v1;
        ws_perf_user \$arg_user;
        ws_perf_channels \$arg_channels;
        ws_perf_allowed_channels room.*;
    }
    location /wsq {
        ws_perf;
        ws_perf_user \$arg_user;
        ws_perf_send_queue_size 16k;
    }
    location /pub {
        ws_perf_publish;
    }
    location = /t {
        return 200 "ok\\n";
    }
_EOC_

run_tests();

__DATA__

=== TEST 1: the lz4 decoder: python3-lz4 blocks exactly, hostile blocks and mutations refused
--- request
GET /t
--- response_body
ok
--- pubsub
lz4-vectors
--- pubsub_out
python3-lz4 blocks decoded exactly: 30 of 30
hostile blocks refused with Lz4Error: 13 of 13
frames over the size bound or short refused: 3 of 3
mutated blocks: 3000, each refused or decoded to its declared size



=== TEST 2: the lz4 frames the module sends: negotiated, decoded as python3-lz4 does
--- request
GET /t
--- response_body
ok
--- pubsub
lz4-module channel=big
--- pubsub_out
lz4 client: protocol ws-perf.v1+lz4; plain client: protocol ws-perf.v1
large message: the page on both clients; binary frames on the lz4 client: 1, lz4 frames decoded by the sdk: 1; on the plain client: 0
small message: small as text
the frame decoded by the sdk and by python3-lz4: the same bytes; ratio under one half: true; envelope id matches
errors: 0



=== TEST 3: subscribe, publish, unsubscribe; refusals reject the promises
--- request
GET /t
--- response_body
ok
--- pubsub
basic
--- pubsub_out
states: connecting open
subscribed to room.1 and room.2
subscribe to secret: 403
publish to secret: 403
publish by the sdk: arrived, channel room.1, the id publish returned
after unsubscribe: room.2
states at the end: connecting open closed
timers left by the clients after close(): 0
errors: 0



=== TEST 4: the same over wss
--- request
GET /t
--- response_body
ok
--- pubsub
basic tls=$TEST_NGINX_SDK_TLS_PORT ca=$TEST_NGINX_SDK_CA
--- pubsub_out
states: connecting open
subscribed to room.1 and room.2
subscribe to secret: 403
publish to secret: 403
publish by the sdk: arrived, channel room.1, the id publish returned
after unsubscribe: room.2
states at the end: connecting open closed
timers left by the clients after close(): 0
errors: 0



=== TEST 5: acks required, clients dropping at random: every accepted message reaches the app once
--- request
GET /t
--- response_body
ok
--- pubsub
ledger fault=none users=4 msgs=200
--- pubsub_out
200 messages published for 4 users (none)
accepted: every one
received by the app: every accepted one
delivered to the app twice: 0
received that was not sent: 0; to another user: 0
every client reconnected: yes
awaiting an ack at the end: 0
--- timeout: 110



=== TEST 6: and nginx reloads (SIGHUP) halfway
--- request
GET /t
--- response_body
ok
--- pubsub
ledger fault=reload users=4 msgs=200
--- pubsub_out
200 messages published for 4 users (reload)
accepted: every one but those refused or cut during the fault
received by the app: every accepted one
delivered to the app twice: 0
received that was not sent: 0; to another user: 0
every client reconnected: yes
awaiting an ack at the end: 0
--- no_error_log
[alert]
[crit]
[emerg]
AddressSanitizer
runtime error:
--- timeout: 110



=== TEST 7: and a worker is killed with SIGKILL halfway
--- request
GET /t
--- response_body
ok
--- pubsub
ledger fault=kill users=4 msgs=200
--- pubsub_out
200 messages published for 4 users (kill)
accepted: every one but those refused or cut during the fault
received by the app: every accepted one
delivered to the app twice: 0
received that was not sent: 0; to another user: 0
every client reconnected: yes
awaiting an ack at the end: 0
--- error_log eval
qr/\[alert\] .*worker process \d+ exited on signal 9/
--- no_error_log
[crit]
[emerg]
AddressSanitizer
runtime error:
--- timeout: 110



=== TEST 8: and Redis (AOF, appendfsync always) restarts halfway
--- request
GET /t
--- response_body
ok
--- pubsub
ledger fault=redis users=4 msgs=200
--- pubsub_out
200 messages published for 4 users (redis)
accepted: every one but those refused or cut during the fault
received by the app: every accepted one
delivered to the app twice: 0
received that was not sent: 0; to another user: 0
every client reconnected: yes
awaiting an ack at the end: 0
--- no_error_log
[alert]
[crit]
[emerg]
AddressSanitizer
runtime error:
--- timeout: 110



=== TEST 9: gap event: the inbox no longer reaches back to the last id seen; a resumed event ends each resume
--- http_config
    ws_perf_redis redis://127.0.0.1:$TEST_NGINX_REDIS_PORT;
    ws_perf_offline_max 5;
--- request
GET /t
--- response_body
ok
--- pubsub
gap user=gapu keep=5
--- pubsub_out
gap event: since the last id seen, last the newest id
gap before the messages: true
messages after it: 6 7 8 9 10
then: resumed user gapu count 5 more false
after a short absence: msg a, msg b, resumed 2
gaps counted: 1; errors: 0



=== TEST 10: manual acks: copies of an unacked message are dropped; a handler that throws gets the message again
--- request
GET /t
--- response_body
ok
--- pubsub
acks user=acku
--- pubsub_out
unacked: redelivered, the app saw it 1 time(s)
after msg.ack(): nothing awaits an ack
handler threw: delivered again, then acked; errors: message handler failed: the app failed once



=== TEST 11: a resume longer than the send queue: the "more" notice is followed, no gap event
--- request
GET /t
--- response_body
ok
--- pubsub
more user=moreu n=60
--- pubsub_out
resume cut short by the send queue: yes; asked again by the sdk until done
protocol: null
messages: 60 of 60, in order; gap events: 0; errors: 0



=== TEST 12: presence: join and leave events (one per user, two tabs), a count to presence(), and a subscribe whose own join arrives about its reply still resolves
--- request
GET /t
--- response_body
ok
--- pubsub
presence
--- pubsub_out
events: join pia, join quin, leave pia
presence(room.p): 1
errors: 0
