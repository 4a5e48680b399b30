# Redis ACL users with Sentinel (docs/redis.md, "Sentinel" and "Redis
# users and rights"): the workers log in to the sentinels as one user,
# which may only ask where the master is and hear +switch-master, and to
# the master as another, which holds the rule the docs recommend (with
# ROLE, which the data links send first); pub/sub works through them, and
# after the master is killed and the replica promoted, the links log in
# to the new master as the same user.  A wrong password, to the sentinels
# or to the master, gets publishes answered 503 with Redis's refusal in
# the error log, and no password is in any log line.  One master, one
# replica and three sentinels of the file's own (t/lib/WsPerf/Sentinel.pm).
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use WsPerf::PubSub;
use WsPerf::Sentinel;

sentinel_start(port => 6418);

# the users exist before nginx starts; the scenarios grant them again
# after a server they killed comes back
for my $port ($ENV{TEST_NGINX_REDIS_PORT}, $ENV{TEST_NGINX_REPLICA_PORT}) {
    sentinel_command($port, 'ACL', 'SETUSER', 'app', 'reset',
                     '>App-s3cret', 'on', '~ws_perf:*', '&ws_perf:*',
                     '+@all', '-@dangerous', '+role') eq 'OK'
        or die "cannot create the ACL user app on $port\n";
}
for my $port (split ' ', $ENV{TEST_NGINX_SENTINEL_PORTS}) {
    sentinel_command($port, 'ACL', 'SETUSER', 'watch', 'reset',
                     '>Watch-s3cret', 'on', '&+switch-master', '-@all',
                     '+auth', '+ping', '+subscribe',
                     '+sentinel|get-master-addr-by-name') eq 'OK'
        or die "cannot create the ACL user watch on sentinel $port\n";
}

workers(2);
master_on();
worker_connections(1024);
no_shuffle();

pubsub_init(client => 't/pubsub/sentinel.py', config => <<'_EOC_');
    location /ws {
        ws_perf;
        ws_perf_channels $arg_channels;
    }
    location /pub {
        ws_perf_publish;
    }
    location /health {
        ws_perf_health;
    }
    location = /t {
        return 200 "ok\n";
    }
_EOC_

run_tests();

__DATA__

=== TEST 1: a user at the sentinels, another at the master, and a failover
--- http_config
    ws_perf_redis_sentinel $TEST_NGINX_SENTINEL_NAME
        127.0.0.1:$TEST_NGINX_SENTINEL_PORT1
        127.0.0.1:$TEST_NGINX_SENTINEL_PORT2
        127.0.0.1:$TEST_NGINX_SENTINEL_PORT3
        user=app password=App-s3cret
        sentinel_user=watch sentinel_password=Watch-s3cret;
    ws_perf_redis_reconnect 50ms 200ms;
--- request
GET /t
--- response_body
ok
--- pubsub
acl
--- pubsub_out
sentinel links as watch: 2
master links as app: 4
delivered as the users
after the failover, links as app on the new master: 4
every subscriber got the message after the failover
lines with a password in the error log: 0
--- no_error_log
[alert]
[crit]
[emerg]
AddressSanitizer
runtime error:
--- timeout: 120



=== TEST 2: a wrong password at the sentinels
--- http_config
    ws_perf_redis_sentinel $TEST_NGINX_SENTINEL_NAME
        127.0.0.1:$TEST_NGINX_SENTINEL_PORT1
        127.0.0.1:$TEST_NGINX_SENTINEL_PORT2
        127.0.0.1:$TEST_NGINX_SENTINEL_PORT3
        user=app password=App-s3cret
        sentinel_user=watch sentinel_password=Not-the-s3cret;
    ws_perf_redis_reconnect 50ms 200ms;
--- request
GET /t
--- response_body
ok
--- pubsub
acl-refused says=WRONGPASS secret=Not-the-s3cret
--- pubsub_out
publishes: [503]
reason: redis is unavailable
lines with the password in the error log: 0
--- error_log eval
qr/\[error\] .*WRONGPASS/
--- no_error_log
[alert]
[crit]
Not-the-s3cret



=== TEST 3: a wrong password at the master
--- http_config
    ws_perf_redis_sentinel $TEST_NGINX_SENTINEL_NAME
        127.0.0.1:$TEST_NGINX_SENTINEL_PORT1
        127.0.0.1:$TEST_NGINX_SENTINEL_PORT2
        127.0.0.1:$TEST_NGINX_SENTINEL_PORT3
        user=app password=Not-the-s3cret
        sentinel_user=watch sentinel_password=Watch-s3cret;
    ws_perf_redis_reconnect 50ms 200ms;
--- request
GET /t
--- response_body
ok
--- pubsub
acl-refused says=WRONGPASS secret=Not-the-s3cret
--- pubsub_out
publishes: [503]
reason: redis is unavailable
lines with the password in the error log: 0
--- error_log eval
qr/\[error\] .*WRONGPASS/
--- no_error_log
[alert]
[crit]
Not-the-s3cret
