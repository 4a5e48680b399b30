# ws_perf_health with Redis (docs/observability.md, "ws_perf_health"):
# 503 with a reason per worker while its Redis links are down, 200 again
# once every worker has reconnected and resubscribed; ws_perf_redis_up
# follows.
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use WsPerf::Engine 'redis', 'cluster';
use WsPerf::PubSub;
use WsPerf::Redis;

$WsPerf::PubSub::CLIENT = 't/obs/client.py';

redis_start(port => 6407);

workers(2);
master_on();
worker_connections(1024);
no_shuffle();

pubsub_init(http_config => <<'_EOC_', config => <<'_EOC2_');
    ws_perf_redis redis://127.0.0.1:$TEST_NGINX_REDIS_PORT;
    ws_perf_redis_reconnect 50ms 200ms;
_EOC_
    location /ws {
        ws_perf;
        ws_perf_channels $arg_channels;
    }
    location /health {
        ws_perf_health;
    }
    location /status {
        ws_perf_status;
    }
_EOC2_

run_tests();

__DATA__

=== TEST 1: health follows every worker's Redis links
--- request
GET /status
--- response_body_like: redis workers up reconnects pending
--- pubsub
health-redis workers=2
--- pubsub_out
redis up: 200 ok
redis stopped: 503, 2 reasons: worker N (pid P): redis down since T
redis back: 200 ok
prometheus: ws_perf_redis_up 1 for 2 workers, reconnects counted: yes
--- no_error_log
[alert]
[crit]
[emerg]
--- timeout: 60
