# conf/ws_perf_alerts.yml: valid Prometheus rules (promtool check rules)
# whose thresholds are those of the ws_perf_alert lines in conf/demo.conf.
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use WsPerf::PubSub;

$WsPerf::PubSub::CLIENT = 't/obs/client.py';

pubsub_init(config => <<'_EOC_');
    location /status {
        ws_perf_status;
    }
_EOC_

run_tests();

__DATA__

=== TEST 1: each demo alert has its Prometheus rule with the same threshold
--- request
GET /status
--- response_body_like: Active connections: 0
--- pubsub
rules
--- pubsub_out
promtool check rules: SUCCESS: 8 rules found
connections 3000: WsPerfConnections > 3000
drop_rate 1%: WsPerfDropRate > 0.01
error_rate 5%: WsPerfErrorRate > 0.05
memory 512m: WsPerfMemory > 5.36871e+08
p95_latency 50ms: WsPerfDeliveryLatencyP95 > 0.05
p99_latency 100ms: WsPerfDeliveryLatencyP99 > 0.1
