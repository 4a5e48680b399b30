# Redis Cluster outages (docs/redis.md, "Redis Cluster"), the cluster's
# counterparts of t/402, t/403 and t/412: an ACL user on every node, with
# the rule the docs recommend, and a wrong password; the whole cluster
# (all six nodes) stopped and started again with its nodes.conf and AOF,
# once under subscribers of every master and then five times over; one
# master stopped with SIGSTOP while the others go on (no failover: the
# scenario sets cluster-node-timeout to a minute on every node with CONFIG
# SET for the while, and back to the second of Cluster.pm).  The cluster is
# three masters with a replica each (t/lib/WsPerf/Cluster.pm) on ports of
# this file's own (7451-7456 unless TEST_NGINX_CLUSTER_PORT says); the
# scenarios are t/pubsub/cluster_faults.py's, those of one server
# (t/pubsub/redis.py) with the cluster's stop and start.
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use WsPerf::PubSub;
use WsPerf::Cluster;

$ENV{TEST_NGINX_WS_PORT} ||= $Test::Nginx::Util::ServerPort + 1;

cluster_start(port => 7451);

# ACL users are each node's own: set on all six (and lost when the
# cluster restarts, so the blocks that use them come first)
for my $port (map { $ENV{TEST_NGINX_CLUSTER_PORT} + $_ } 0 .. 5) {
    cluster_command($port, 'ACL', 'SETUSER', 'ann', 'on', '>s3cret-ann',
                    '~ws_perf:*', '&ws_perf:*', '+@all', '-@dangerous')
        eq '+OK'
        or die "cannot create the ACL user ann on $port\n";
}

workers(2);
master_on();
worker_connections(1024);
no_shuffle();

our $SERVER = <<'_EOC_';
    ws_perf_redis_reconnect 50ms 500ms;

    server {
        listen 127.0.0.1:$TEST_NGINX_WS_PORT reuseport;

        location /ws {
            ws_perf;
            ws_perf_channels $arg_channels;
            ws_perf_user $arg_user;
        }
    }
_EOC_

our $CLUSTER = <<'_EOC_' . $SERVER;
    ws_perf_redis_cluster 127.0.0.1:$TEST_NGINX_CLUSTER_PORT shards=16;
_EOC_

our $ACL = <<'_EOC_' . $SERVER;
    ws_perf_redis_cluster 127.0.0.1:$TEST_NGINX_CLUSTER_PORT user=ann
                          password=s3cret-ann shards=16;
    ws_perf_offline_max 5;
    ws_perf_history 10;
    ws_perf_ack_timeout 200ms;
    ws_perf_max_attempts 3;
_EOC_

pubsub_init(client => 't/pubsub/cluster_faults.py', http_config => $CLUSTER,
            config => <<'_EOC_');
    location /ws {
        ws_perf;
        ws_perf_channels $arg_channels;
        ws_perf_user $arg_user;
    }
    location /pub {
        ws_perf_publish;
    }
    location /dlq {
        ws_perf_dlq;
    }
    location = /t {
        return 200 "ok\n";
    }
_EOC_

run_tests();

__DATA__

=== TEST 1: an ACL user with the recommended rule on every node is all the module needs
--- http_config eval
$::ACL
--- request
GET /t
--- response_body
ok
--- pubsub
acl-nodes user=ann
--- pubsub_out
on all 6 nodes: keys ~ws_perf:*, channels &ws_perf:*, commands +@all -@dangerous
publish: 202
--- no_error_log
[error]
s3cret-ann



=== TEST 2: as that user, pub/sub on channels of every master
--- http_config eval
$::ACL
--- request
GET /t
--- response_body
ok
--- pubsub
spread-shards ws=$TEST_NGINX_WS_PORT per=3 msgs=20
--- pubsub_out
8 channels on 3 masters
24 subscribers counted
every subscriber got its channel's 20 messages once, in order
--- no_error_log
[error]
s3cret-ann



=== TEST 3: as that user, acks, redelivery and dead letters
--- http_config eval
$::ACL
--- request
GET /t
--- response_body
ok
--- pubsub
acks user=carol attempts=3
--- pubsub_out
ack of the second: acked
the same ack again: error 404
the unacked one came 3 times, always with its id
the acked one came once: True
dead letter: id the message's, reason max_attempts, attempts 3, message data ignored
GET ?id=: 200, the entry
filter by another reason: 0 entries
count=0: 400
replay: 200 {"replayed":1,"kept":0}
replayed message: same id True, data ignored
dead letters after the replay: 0
delete of a replayed entry: 404
counts by reason: {'max_attempts': 1}
--- no_error_log
[error]
s3cret-ann



=== TEST 4: as that user, an offline user's inbox and resume
--- http_config eval
$::ACL
--- request
GET /t
--- response_body
ok
--- pubsub
inbox user=bob keep=5
--- pubsub_out
resume after the first of 7: gap notice since it, last the newest id, then the newest 5 in order
resumed: {'user': 'bob', 'count': 5}
resume after the newest: 0 more, 0 gap notices
resume after the third newest: ['m5', 'm6']
resume since not a number: error 400
resume of a channel it is not in: error 404
--- no_error_log
[error]
s3cret-ann



=== TEST 5: a wrong password: 503, WRONGPASS logged at [error], the password in no line
--- http_config eval
<<'_EOC_' . $::SERVER
    ws_perf_redis_cluster 127.0.0.1:$TEST_NGINX_CLUSTER_PORT user=ann
                          password=not-the-password shards=16;
_EOC_
--- request
GET /t
--- response_body
ok
--- pubsub
acl-refused says=WRONGPASS secret=not-the-password
--- pubsub_out
publishes: [503]
reason: redis is unavailable
lines of the error log with the password: 0
--- error_log eval
qr/\[error\] .*ws_perf: redis .*WRONGPASS/
--- no_error_log
not-the-password
[alert]
[crit]



=== TEST 6: the whole cluster stops for a second under subscribers of every master, and starts again
--- request
GET /t
--- response_body
ok
--- pubsub
cluster-outage ws=$TEST_NGINX_WS_PORT chans=6 per=4
--- pubsub_out
24 subscribers of 6 channels on 3 masters, on 2 workers
50 publishes while redis is down: 50 x 503 (Retry-After 1, JSON reason)
channel info while down: 503
WebSocket connections open, answering: 24 of 24
delivery resumed within the bound (5 s; 40 s under valgrind)
every subscriber got one reconnect notice
and, besides probes, exactly: ["before", "end"]
error log: one line per link lost, none of the reconnect failures logged, one line per link back
the map asked for again by every worker: True
each topic subscribed again on its master by every worker that has subscribers of it: True
--- no_error_log
[alert]
[crit]
[emerg]
AddressSanitizer
runtime error:
--- timeout: 90



=== TEST 7: five restarts of the whole cluster: delivery comes back each time, no fd or memory growth
--- request
GET /t
--- response_body
ok
--- pubsub
cluster-restarts ws=$TEST_NGINX_WS_PORT n=5
--- pubsub_out
6 channels on 3 masters
5 restarts: delivery came back every time
worker fds: unchanged
worker RSS: grew less than the bound (1 MB; 12 MB under a sanitizer, 16 MB under valgrind)
--- no_error_log
[alert]
[crit]
[emerg]
AddressSanitizer
runtime error:
--- timeout: 150



=== TEST 8: one master stopped (SIGSTOP, no failover): its channels 503 after the timeout and 429 beyond the cap, the others go on
--- http_config eval
$::CLUSTER . <<'_EOC_';
    ws_perf_redis_command_timeout 1500ms;
    ws_perf_redis_max_pending 8;
_EOC_
--- request
GET /t
--- response_body
ok
--- pubsub
stuck-master ws=$TEST_NGINX_WS_PORT per=3 timeout_ms=1500 cap=8
--- pubsub_out
6 channels on 3 masters, 3 of them on the master stopped
meanwhile the other masters' channels: 202, delivered to every subscriber
its channel's publishes beyond the pending cap: 429 at once
the others it held: 503 once the command timeout passed
then, its links replaced: 503, Retry-After 1, redis is unavailable
the other masters' channels still: 202, delivered
after SIGCONT its channels delivered again within 5 s
its channels' subscribers got the notice once: True
the other channels' subscribers got none: True
--- error_log eval
[qr/\[error\] .*ws_perf: redis publish link to "cluster master 127\.0\.0\.1:\d+" lost: no reply in 1500 ms; reconnecting/,
 qr/\[error\] .*ws_perf: redis subscribe link to "cluster master 127\.0\.0\.1:\d+" lost: PING not answered; reconnecting/]
--- no_error_log
[alert]
[crit]
[emerg]
AddressSanitizer
runtime error:
--- timeout: 90
