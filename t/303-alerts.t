# ws_perf_alert (README, "Alerts"): thresholds evaluated every second over
# ws_perf_alert_window; the status lists what fires and since when; every
# transition is a warn line in the error log.
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use WsPerf::Engine;
use WsPerf::PubSub;

$WsPerf::PubSub::CLIENT = 't/obs/client.py';

worker_connections(1024);
no_shuffle();

pubsub_init(http_config => <<'_EOC_', config => <<'_EOC2_');
    ws_perf_alert connections 2;
    ws_perf_alert p99_latency 1us;
    ws_perf_alert error_rate 10%;
    ws_perf_alert drop_rate 0.01%;
    ws_perf_alert_window 5s;
_EOC_
    location /ws {
        ws_perf;
        ws_perf_channels $arg_channels;
    }
    location /pub {
        ws_perf_publish;
    }
    location /status {
        ws_perf_status;
    }
_EOC2_

run_tests();

__DATA__

=== TEST 1: connections, latency and error rate alerts fire, are listed, and resolve
--- request
GET /status?format=json
--- response_body_like: "alerts":\[\{"name":"connections","firing":false
--- pubsub
alerts
--- pubsub_out
at start firing: none
connections firing, since within the test: yes, value given over 2
p99_latency firing, since within the test: yes, value given over 0.001ms
error_rate firing, since within the test: yes, value given over 10.0000%
drop_rate firing: False
text status lists: alert connections firing, alert p99_latency firing, alert error_rate firing
prometheus: ws_perf_alert_firing{alert="connections"} 1 ws_perf_alert_firing{alert="p99_latency"} 1 ws_perf_alert_firing{alert="error_rate"} 1 ws_perf_alert_firing{alert="drop_rate"} 0
after the traffic stopped every alert resolved
--- timeout: 40
--- error_log eval
[qr/\[warn\] .*ws_perf alert "connections" firing: 3, threshold 2/,
 qr/\[warn\] .*ws_perf alert "p99_latency" firing: \d+\.\d{3}ms, threshold 0\.001ms/,
 qr/\[warn\] .*ws_perf alert "error_rate" firing: \d+\.\d{4}%, threshold 10\.0000%/,
 qr/\[warn\] .*ws_perf alert "connections" resolved: [012], threshold 2/,
 qr/\[warn\] .*ws_perf alert "p99_latency" resolved/,
 qr/\[warn\] .*ws_perf alert "error_rate" resolved/]



=== TEST 2: drops by priority from a stalled subscriber, and the drop rate alert
--- http_config
    ws_perf_alert drop_rate 0.01%;
    ws_perf_alert_window 5s;
    server {
        listen unix:$TEST_NGINX_SERVER_ROOT/logs/ws.sock;
        location /wsq {
            ws_perf;
            ws_perf_channels $arg_channels;
            ws_perf_send_queue_size 64k;
            ws_perf_close_timeout 30s;
        }
    }
--- request
GET /pub?channel=ofl
--- response_body_like: "subscribers":0
--- pubsub
drops unix=$TEST_NGINX_SERVER_ROOT/logs/ws.sock
--- pubsub_out
before the first high: low, in publish order from the first
then: high normal low
high: all 14, in order
normal: all 14, in order
low after them: in publish order: yes; the oldest queued dropped (a gap right after the ones in flight): yes; the newest dropped when the queue was full: yes
bytes queued behind the kernel's: within ws_perf_send_queue_size
dropped: low over 1, normal 0, high 0, critical 0
drop_rate alert firing: True
largest send queue within ws_perf_send_queue_size: yes
--- timeout: 60
--- error_log eval
qr/\[warn\] .*ws_perf alert "drop_rate" firing: \d+\.\d{4}%, threshold 0\.0100%/



=== TEST 3: memory and connections thresholds: one crossed, one not
--- http_config
    ws_perf_alert memory 1m;
    ws_perf_alert connections 100;
    ws_perf_alert p95_latency 2s;
    ws_perf_alert_window 1s;
--- request
GET /status
--- response_body_like: Active connections
--- pubsub
firing names=memory
--- pubsub_out
firing: memory
not firing: connections p95_latency
text: alert memory firing
--- error_log eval
qr/\[warn\] .*ws_perf alert "memory" firing: \d+k, threshold 1024k/
--- no_error_log
"connections" firing
"p95_latency" firing
[error]



=== TEST 4: an unknown alert is refused with the list
--- http_config
    ws_perf_alert p42_latency 1ms;
--- request
GET /status
--- must_die
--- no_error_log
[alert]
--- error_log
unknown alert "p42_latency", it must be one of p95_latency, p99_latency, error_rate, drop_rate, connections, memory



=== TEST 5: a latency needs a unit
--- http_config
    ws_perf_alert p99_latency 50;
--- request
GET /status
--- must_die
--- no_error_log
[alert]
--- error_log
invalid p99_latency threshold "50"



=== TEST 6: a rate over 100% is refused
--- http_config
    ws_perf_alert error_rate 150%;
--- request
GET /status
--- must_die
--- no_error_log
[alert]
--- error_log
invalid error_rate threshold "150%"



=== TEST 7: one threshold per alert
--- http_config
    ws_perf_alert connections 10;
    ws_perf_alert connections 20;
--- request
GET /status
--- must_die
--- no_error_log
[alert]
--- error_log
"ws_perf_alert" directive is duplicate



=== TEST 8: the window is 1s to 60s
--- http_config
    ws_perf_alert_window 90s;
--- request
GET /status
--- must_die
--- no_error_log
[alert]
--- error_log
"ws_perf_alert_window" must be from 1s to 60s
