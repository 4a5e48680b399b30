# The fault scenarios of t/801-js-sdk.t (TEST 5-8) with the SDK inside
# headless Chromium: t/js/chromium.js opens t/js/ledger.html from the
# nginx under test, which imports clients/js/ws-perf.js from there (as
# the demo page does) and connects four users with the browser's own
# WebSocket; the driver publishes 200 ack-required messages over HTTP,
# cuts one connection from the page every ten messages, and injects the
# fault halfway: nothing, an nginx reload (SIGHUP), a worker killed with
# SIGKILL, a Redis restart (AOF, appendfsync always).  The verdict is
# t/js/sdk.js's: every accepted message reaches the app exactly once,
# nothing foreign, every client reconnected, nothing awaits an ack at
# the end.  Then the same over https and wss.  A missing Chromium or
# playwright-core is a failure (make deps installs both), as in t/602.
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use WsPerf::PubSub;
use WsPerf::Redis;
use WsPerf::TLS ();

use Cwd ();

redis_start(appendonly => 1);

my $top = Cwd::getcwd();
$WsPerf::PubSub::PYTHON = 'node';
$ENV{NODE_PATH} = "$top/build/npm/node_modules";
$ENV{TEST_NGINX_SDK_TLS_PORT} = WsPerf::TLS::tls_port();
my $listen = WsPerf::TLS::tls_listen();

workers(2);
master_on();
worker_connections(1024);
no_shuffle();

pubsub_init(client => 't/js/chromium.js', http_config => <<'_EOC_', config => <<"_EOC_");
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
        ws_perf_subprotocols ws-perf.v1+lz4 ws-perf.v1;
    }
    location /pub {
        ws_perf_publish;
    }
    location = /ledger.html {
        default_type text/html;
        alias $top/t/js/ledger.html;
    }
    location = /ws-perf.js {
        default_type application/javascript;
        alias $top/clients/js/ws-perf.js;
    }
    location = /t {
        return 200 "ok\\n";
    }
_EOC_

run_tests();

__DATA__

=== TEST 1: acks required, clients dropping at random: every accepted message reaches the app in Chromium once
--- request
GET /t
--- response_body
ok
--- pubsub
ledger fault=none who=wsnone users=4 msgs=200
--- pubsub_out
200 messages published for 4 users (none)
accepted: every one
received by the app: every accepted one
delivered to the app twice: 0
received that was not sent: 0; to another user: 0
every client reconnected: yes
awaiting an ack at the end: 0
--- timeout: 110



=== TEST 2: and nginx reloads (SIGHUP) halfway
--- request
GET /t
--- response_body
ok
--- pubsub
ledger fault=reload who=wsreload users=4 msgs=200
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



=== TEST 3: and a worker is killed with SIGKILL halfway
--- request
GET /t
--- response_body
ok
--- pubsub
ledger fault=kill who=wskill users=4 msgs=200
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



=== TEST 4: and Redis (AOF, appendfsync always) restarts halfway
--- request
GET /t
--- response_body
ok
--- pubsub
ledger fault=redis who=wsredis users=4 msgs=200
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



=== TEST 5: acks required, clients dropping at random: every accepted message reaches the app in Chromium once (https page, wss)
--- request
GET /t
--- response_body
ok
--- pubsub
ledger fault=none who=wssnone users=4 msgs=200 tls=$TEST_NGINX_SDK_TLS_PORT
--- pubsub_out
200 messages published for 4 users (none)
accepted: every one
received by the app: every accepted one
delivered to the app twice: 0
received that was not sent: 0; to another user: 0
every client reconnected: yes
awaiting an ack at the end: 0
--- timeout: 110



=== TEST 6: and nginx reloads (SIGHUP) halfway (https page, wss)
--- request
GET /t
--- response_body
ok
--- pubsub
ledger fault=reload who=wssreload users=4 msgs=200 tls=$TEST_NGINX_SDK_TLS_PORT
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



=== TEST 7: and a worker is killed with SIGKILL halfway (https page, wss)
--- request
GET /t
--- response_body
ok
--- pubsub
ledger fault=kill who=wsskill users=4 msgs=200 tls=$TEST_NGINX_SDK_TLS_PORT
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



=== TEST 8: and Redis (AOF, appendfsync always) restarts halfway (https page, wss)
--- request
GET /t
--- response_body
ok
--- pubsub
ledger fault=redis who=wssredis users=4 msgs=200 tls=$TEST_NGINX_SDK_TLS_PORT
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
