# ws_perf_status (README, "Observability"): what the counters say after
# known traffic, in the text, JSON and Prometheus formats; the Prometheus
# text is read by prometheus_client's parser and linted by promtool.
# Scenarios run t/obs/client.py (python3-websockets) against nginx and wait
# on the JSON status with deadlines.
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use WsPerf::Engine;
use WsPerf::PubSub;

$WsPerf::PubSub::CLIENT = 't/obs/client.py';

worker_connections(1024);
no_shuffle();

pubsub_init(config => <<'_EOC_');
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
_EOC_

run_tests();

__DATA__

=== TEST 1: an idle node: the text status, all zero
--- request
GET /status
--- response_headers
Content-Type: text/plain
--- response_body_like eval
q{\AActive connections: 0
connections opened closed errors
 0 0 0
handshakes accepted rejected
 0 0
messages published delivered dropped
 0 0 0
bytes in out
 0 0
deflate connections compressed before after inflated contexts context_bytes
 0 0 0 0 0 0 0
send queues bytes max
 0 0
delivery latency ms p50 p95 p99 p99\.9 count
 0\.000 0\.000 0\.000 0\.000 0
last \d+s per second published delivered dropped
 0\.000 0\.000 0\.000
workers 1 uptime \d+s
} . by_engine(shm => q{redis not configured
}, redis => q{redis workers up reconnects pending dropped bad_replies
 [01]/1 0 \d+ 0 0
})



=== TEST 2: connections, handshakes, closes by code, messages, bytes and latency after known traffic
--- request
GET /status?format=json
--- response_body_like: "current":0
--- pubsub
counts
--- pubsub_out
connections: current 1, opened 3, closed 2
closed by code: 1000=1 1006=1
handshakes: accepted 3, rejected 2 (method=1 upgrade=1)
messages: published 20, delivered 60, dropped 0
bytes out equal to what the clients read: yes
bytes in: 8 (the client's close frame)
send queues: 0 bytes now, largest over 0
latency: 60 samples, one per delivery: yes; percentiles ordered and between 0 and 1s: yes
text status starts as stub_status does: yes



=== TEST 3: the JSON status is one JSON object with every section
--- request
GET /status?format=json
--- response_headers
Content-Type: application/json
--- response_body_like eval
qr/\A\{"version":1,"time":\d+,"uptime":\d+,"metrics":true,"connections":\{"current":0,"opened":0,"closed":0,"closed_by_code":\{"1000":0,.*"handshakes":\{.*"messages":\{.*"redelivered":0,"dead_lettered":0,"scheduled_pending":0\},"bytes":\{"in":0,"out":0\},"deflate":\{"connections":0,"compressed":0,"bytes_before":0,"bytes_after":0,"inflated":0,"inflate_contexts":0,"inflate_context_bytes":0\},"send_queue":\{"bytes":0,"max_bytes":0\},"latency":\{"what":"hub to socket write","unit":"ms",.*"window":\{"seconds":\d+,.*"redis":\{"configured":${\ by_engine(shm => 'false', redis => 'true')},.*"workers":\[\{"slot":0,"pid":\d+,"started":\d+,"rss":[1-9]\d*,"cpu_seconds":\d+\.\d{3},.*\],"live_workers":1,"alerts":\[\]\}\n\z/s



=== TEST 4: Prometheus text format by Accept header, parsed and linted
--- request
GET /status?format=prometheus
--- response_headers
Content-Type: text/plain; version=0.0.4; charset=utf-8
--- response_body_like eval
qr/^ws_perf_connections 0$/m
--- pubsub
prometheus
--- pubsub_out
content type: text/plain; version=0.0.4; charset=utf-8
parsed by prometheus_client: 42 families; names, types, HELP, _total and histograms as expected
values agree with the JSON status: yes
promtool check metrics: clean
Accept: application/json gives application/json



=== TEST 5: an unknown format is refused
--- request
GET /status?format=xml
--- error_code: 400
--- response_body
format must be text, json or prometheus



=== TEST 6: only GET and HEAD
--- request
POST /status
x
--- error_code: 405



=== TEST 7: ws_perf_metrics off: nothing is counted, the workers are still listed
--- http_config
    ws_perf_metrics off;
--- request
GET /status?format=json
--- response_body_like: "metrics":false
--- pubsub
metrics-off
--- pubsub_out
metrics: False; opened 0, delivered 0, latencies 0; workers 1



=== TEST 8: ws_perf_status takes no argument
--- config
    location /status {
        ws_perf_status on;
    }
--- request
GET /status
--- must_die
--- no_error_log
[alert]
--- error_log
invalid number of arguments in "ws_perf_status" directive



=== TEST 9: a zone too small for the slots is refused
--- http_config
    ws_perf_metrics_zone 16k;
--- request
GET /status
--- must_die
--- no_error_log
[alert]
--- error_log eval
qr/\[emerg\] .*"ws_perf_metrics_zone" must be at least \d+k/
