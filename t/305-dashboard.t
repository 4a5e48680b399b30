# The dashboard (conf/html/dashboard.html, served here the way
# conf/demo.conf serves it) in headless Chromium while traffic runs: the
# numbers on the page are those of the JSON status, the charts are drawn
# every second, nothing is loaded from outside nginx, and a screenshot is
# kept in build/screenshots/dashboard.png.  Needs node, playwright-core
# (build/npm) and Debian's chromium: `make deps`.
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use WsPerf::PubSub;
use Cwd ();

$WsPerf::PubSub::CLIENT = 't/obs/client.py';
$ENV{TEST_NGINX_OBS_TOP} = Cwd::getcwd();

worker_connections(1024);
no_shuffle();

pubsub_init(http_config => <<'_EOC_', config => <<'_EOC2_');
    ws_perf_alert connections 10;
    ws_perf_alert p99_latency 250ms;
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
    location = /dashboard.html {
        root $TEST_NGINX_OBS_TOP/conf/html;
    }
    location = /favicon.ico {
        return 204;
    }
_EOC2_

run_tests();

__DATA__

=== TEST 1: live numbers, charts and alerts in headless Chromium
--- request
GET /dashboard.html
--- response_body_like: <title>ngx_ws_perf dashboard</title>
--- pubsub
dashboard shot=$TEST_NGINX_OBS_TOP/build/screenshots/dashboard.png
--- pubsub_out
page shows the status it read: yes
page matches the JSON status of the same second: yes
during traffic: 20 connections, deliveries/s over 0: yes
alert on the page: connections firing since T: 20 over 10
redis on the page: not configured
screenshot kept: yes
after traffic: page totals equal the JSON status and what the clients received: yes
charts drawn: connections deliveries latency drops redis alerts; refreshed every second: yes
requests outside nginx: none
--- timeout: 150
