# ws_perf_presence (docs/protocol.md, "Presence"): a user with a
# connection of a presence location on a channel is a member of it; its
# first connection anywhere (any worker, with Redis any node) sends a join
# to the channel's presence subscribers, its last a leave; GET ?presence=
# on the publish API lists the members of every worker; above
# ws_perf_presence_rate a channel gets counts only; a worker killed with
# SIGKILL takes its members with it, leave events included.  The events
# are read by python3-websockets and an event stream (t/pubsub/presence.py);
# connections are put on the worker a case needs through a "reuseport"
# listener (t/pubsub/users.py).
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use WsPerf::Engine;
use WsPerf::PubSub;

# past the ports WS_PERF_TLS=1 takes (WsPerf::TLS: the client's port is a
# plain proxy to an ssl listener); this listener stays plain under it
$ENV{TEST_NGINX_WS_PORT} ||= $Test::Nginx::Util::ServerPort + 3;

workers(2);
master_on();
worker_connections(1024);
no_shuffle();

our $WS_SERVER = <<'_EOC_';
    server {
        listen 127.0.0.1:$TEST_NGINX_WS_PORT reuseport;

        location /ws {
            ws_perf;
            ws_perf_presence on;
            ws_perf_channels $arg_channels;
            ws_perf_user $arg_user;
        }
        location = /pid {
            return 200 "$pid\n";
        }
    }
_EOC_

pubsub_init(client => 't/pubsub/presence.py', config => <<'_EOC_');
    location /ws {
        ws_perf;
        ws_perf_presence on;
        ws_perf_channels $arg_channels;
        ws_perf_user $arg_user;
        ws_perf_allowed_channels room.*;
    }
    location /raw {
        ws_perf;
        ws_perf_presence on;
        ws_perf_format raw;
        ws_perf_channels $arg_channels;
        ws_perf_user $arg_user;
    }
    location /events {
        ws_perf_sse;
        ws_perf_presence on;
        ws_perf_channels $arg_channels;
        ws_perf_user $arg_user;
    }
    location /pub {
        ws_perf_publish;
    }
    location = /status {
        ws_perf_status;
    }
    location = /t {
        return 200 "ok\n";
    }
_EOC_

# every block has the reuseport listener besides its own http_config
add_block_preprocessor(sub {
    my $block = shift;
    return if defined $block->must_die;
    my $http = $block->http_config;
    $block->set_value('http_config',
                      (defined $http ? $http : '') . $WS_SERVER);
});

run_tests();

__DATA__

=== TEST 1: two users, one with a tab on each of two workers: one join each, a leave when the user's last tab goes, GET lists who is present (sorted) on every worker; a connection without a user is no member
--- request
GET /t
--- response_body
ok
--- pubsub
tabs ws=$TEST_NGINX_WS_PORT
--- pubsub_out
GET: {"channel":"room.1","count":2,"users":["alice","bob"]}
bob's join: {"channel":"room.1","count":2,"type":"join","user":"bob"}
alice's 1st tab gone, bob gone: {"channel":"room.1","count":1,"users":["alice"]}
the observer saw: join alice join bob leave bob leave alice
--- no_error_log
[error]
[alert]



=== TEST 2: sub and unsub count as join and leave; without a user no member; a raw connection is a member and gets no event; an event stream gets events of their type without an id
--- request
GET /t
--- response_body
ok
--- pubsub
subs
--- pubsub_out
GET: {"channel":"room.2","count":2,"users":["carol","rawuser"]}
sub, unsub, sub: join carol leave carol join carol
the stream: join(rawuser,id='') join(carol,id='') leave(carol,id='') join(carol,id='')
users in events: carol rawuser
the raw connection got 0 frames
--- no_error_log
[error]
[alert]



=== TEST 3: ws_perf_presence_rate 5: a burst of 30 joins gives the bucket's events (and its refill), then counts once a second up to the real count; after a quiet second joins are sent again
--- http_config
    ws_perf_presence_rate 5;
--- request
GET /t
--- response_body
ok
--- pubsub
rate
--- pubsub_out
30 users: 101
joins sent: a few
then counts: {"channel":"room.3","count":30,"type":"presence"}
a join after a quiet second: {"channel":"room.3","count":31,"type":"join","user":"late"}
all gone: count 0
--- no_error_log
[error]
[alert]



=== TEST 4: a worker killed with SIGKILL: its member leaves (event and GET) within the bound, the other worker's stays
--- http_config
    ws_perf_redis_worker_ttl 2s;
--- request
GET /t
--- response_body
ok
--- pubsub
killed ws=$TEST_NGINX_WS_PORT bound=10
--- pubsub_out
dave's worker killed: leave and GET {"channel":"room.4","count":1,"users":["eve"]} within 10s: True
eve stays: True
--- error_log
exited on signal 9
--- no_error_log
[crit]



=== TEST 5: a bad ?presence= gets 400 with a reason; a channel nobody is on answers an empty list
--- request
GET /t
--- response_body
ok
--- pubsub
bad
--- pubsub_out
'': 400 name a valid channel (?p
'a%20b': 400 name a valid channel (?p
'xxxxxxxxxxxx': 400 name a valid channel (?p
'..%2F': 400 name a valid channel (?p
'%00': 400 name a valid channel (?p
'a,b': 400 name a valid channel (?p
'a%C3%A9': 400 name a valid channel (?p
an empty channel: 200 {"channel":"nobody.here","count":0,"users":[]}
--- no_error_log
[error]
[alert]



=== TEST 6: a zone too small for the members: presence stops growing at half the zone with a warn line; handshakes, publishes and GET still work
--- engine: shm: the shared-memory zone's own bound
--- http_config
    ws_perf_shm_zone small 256k;
--- config
    large_client_header_buffers 4 16k;
    location /ws {
        ws_perf;
        ws_perf_presence on;
        ws_perf_channels $arg_channels;
        ws_perf_user $arg_user;
        ws_perf_max_channels_per_connection 1000;
    }
    location /pub {
        ws_perf_publish;
    }
    location = /t {
        return 200 "ok\n";
    }
--- request
GET /t
--- response_body
ok
--- pubsub
full
--- pubsub_out
handshakes: 101 101 101 101
a publish: 1 ids, reached all 4
GET of the last channel: 200 (fewer than 4: True)
all gone: f0000 has nobody
--- error_log
ws_perf_shm_zone has no room for a member of presence
--- no_error_log
[error]
[alert]



=== TEST 7: the status counts presence: members, events sent and held, in JSON and Prometheus
--- request
GET /status?format=prometheus
--- response_body_like
ws_perf_presence_members 0
(?s).*ws_perf_presence_events_total \d+
(?s).*ws_perf_presence_held_total \d+
--- no_error_log
[error]



=== TEST 8: ws_perf_presence needs ws_perf or ws_perf_sse in its location: nginx -t fails, naming the line
--- config
    location /pub {
        ws_perf_presence on;
        ws_perf_publish;
    }
--- request
GET /t
--- must_die
--- error_log
[emerg]
"ws_perf_presence" needs "ws_perf" or "ws_perf_sse" in the same location in
--- no_error_log
[alert]



=== TEST 9: ws_perf_presence in a server block is refused
--- config
    ws_perf_presence on;
--- request
GET /t
--- must_die
--- error_log
[emerg]
"ws_perf_presence" directive is not allowed here
--- no_error_log
[alert]
