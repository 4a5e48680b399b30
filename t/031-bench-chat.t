# Trust in wsbench's chat scenario (bench/README.md, "chat"): a small chat
# load against the module in Redis mode, with acks on users' messages and
# connections that close and resume, next to an independent subscriber
# written with python3-websockets (bench/trust/chat_client.py) in every
# room.  wsbench must count what python counts and lose nothing, also when
# a small send queue stops resumes short (a gap with "more":true, asked
# again from there); with the channels' history off the same load must
# show the loss it causes.
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use WsPerf::Bench;
use WsPerf::Redis;
use Cwd ();
use JSON::PP ();
use File::Temp ();
use HTTP::Tiny ();

my $python = '/usr/bin/python3';

redis_start(port => 6401);

worker_connections(256);
no_shuffle();
add_response_body_check(\&bench_chat);
run_tests();


sub bench_chat {
    my ($block, $body, $req_idx, $rep_idx, $dry_run) = @_;
    return unless defined $block->bench_chat;
    return if $dry_run;

    my $name = $block->name;
    my $port = $Test::Nginx::Util::ServerPort;
    my $out = wsbench_build($name);
    my $rooms = join ',', map { "r$_" } 0 .. 19;
    my $more = $block->bench_chat =~ /\bmore\b/;
    my $path = $more ? '/wsq' : '/ws';

    my $py_pid = open(my $py, '-|', $python, 'bench/trust/chat_client.py',
                      "ws://127.0.0.1:$port/ws?user=trust&channels=$rooms");
    ok($py_pid, "$name - the python subscriber starts");
    is(scalar <$py>, "ready\n", "$name - the python subscriber is in");

    my $json = File::Temp->new(SUFFIX => '.json');
    my @args = (
        "$out/wsbench", '--kind=chat', '--name=chat-trust', '--quiet=1',
        '--connections=40', '--rooms=20', '--rate=300', '--duration=4',
        '--pub_conns=2', '--src_ips=1', '--drain=4', '--ack=1',
        '--resume=1', '--churn_share=0.25',
        '--churn_pause=' . ($more ? '1' : '0.3'),
        '--slow_share=0',
        "--sub_url=ws://127.0.0.1:$port$path?user={user}&channels={rooms}",
        "--pub_url=http://127.0.0.1:$port/pub",
        '--json=' . $json->filename,
    );
    open(my $wsb, '-|', @args) or die "wsbench: $!";
    my $log = join '', <$wsb>;
    close $wsb;
    is($?, 0, "$name - wsbench runs") or diag($log);

    my $line = <$py>;
    close $py;
    my $ref = eval { JSON::PP::decode_json($line // '') } || {};
    my $sc = (read_json($json->filename) || {})->{scenarios}[0] || {};
    my $msg = $sc->{messages} || {};
    my $chat = $sc->{chat} || {};

    ok($msg->{published} >= 1000, "$name - enough published"
       . " ($msg->{published})");
    is($msg->{publish_errors}, 0, "$name - every publish was accepted");
    is($msg->{foreign}, 0, "$name - nothing of another run");
    is($chat->{stray}, 0, "$name - nothing of a target not asked for");
    ok($chat->{reconnects} >= 10, "$name - connections closed and came back"
       . " ($chat->{reconnects})");
    is($chat->{acked}, $chat->{acks}, "$name - every ack was answered");
    ok($chat->{acks} > 0, "$name - users' messages were acked");
    is($chat->{errors}, 0, "$name - no error frame");
    is($sc->{connections}{server_closed}, 0,
       "$name - the server closed no connection");

    is($ref->{runs}, 1, "$name - python saw one run");
    is($ref->{dup}, 0, "$name - python saw no duplicate");
    is($ref->{missing}, 0, "$name - python saw no gap");
    is($ref->{wrong_channel}, 0, "$name - every envelope names its room");
    is($ref->{distinct}, $msg->{published} - $chat->{to_users},
       "$name - python got every room message wsbench published");

    if ($block->bench_chat =~ /^resume/) {
        is($chat->{resumed}, $chat->{resumes},
           "$name - every resume was answered");
        if ($more) {
            # an 8k queue overflows now and then: those drops (the server
            # counts them) are the only loss, an unacked one comes again
            my $dropped = server_dropped($port);
            ok(defined $dropped && $msg->{lost} <= $dropped,
               "$name - wsbench lost no more than the server dropped"
               . " ($msg->{lost} of " . ($dropped // 'unknown') . ")");
        } else {
            is($msg->{lost}, 0, "$name - wsbench lost nothing");
        }
        is($msg->{duplicated}, 0, "$name - wsbench saw no duplicate");
        is($chat->{gaps}, 0, "$name - no gap notice");
        ok($chat->{resumed_msgs} > 0, "$name - resumes brought back what"
           . " was missed ($chat->{resumed_msgs})");
        if ($more) {
            ok($chat->{continued} > 0, "$name - resumes stopped short by"
               . " the send queue were continued ($chat->{continued})");
        } else {
            is($chat->{continued}, 0, "$name - no resume stopped short");
        }
    } else {
        ok($msg->{lost} > 0, "$name - wsbench counts the loss"
           . " ($msg->{lost})");
    }
}

# the messages the server dropped from full send queues (its status)
sub server_dropped {
    my $port = shift;
    my $res = HTTP::Tiny->new(timeout => 5)
        ->get("http://127.0.0.1:$port/status?format=prometheus");
    return undef unless $res->{success};
    my $n;
    for (split /\n/, $res->{content}) {
        $n += $1 if /^ws_perf_messages_dropped_total\{[^}]*\} (\d+)$/;
    }
    return $n;
}

__DATA__

=== TEST 1: wsbench's chat counts agree with python's; resume loses nothing
--- http_config
    ws_perf_redis    redis://127.0.0.1:$TEST_NGINX_REDIS_PORT;
    ws_perf_history  2000;
    ws_perf_redis_prefix  chat1:;
--- config
    location = /ws {
        ws_perf;
        ws_perf_user      $arg_user;
        ws_perf_channels  $arg_channels;
    }
    location = /pub {
        ws_perf_publish;
    }
    location = /ready {
        return 200 "ready\n";
    }
--- request
GET /ready
--- response_body
ready
--- bench_chat: resume
--- timeout: 60



=== TEST 2: without channel history, what reconnections miss is counted lost
--- http_config
    ws_perf_redis    redis://127.0.0.1:$TEST_NGINX_REDIS_PORT;
    ws_perf_history  0;
    ws_perf_redis_prefix  chat2:;
--- config
    location = /ws {
        ws_perf;
        ws_perf_user      $arg_user;
        ws_perf_channels  $arg_channels;
    }
    location = /pub {
        ws_perf_publish;
    }
    location = /ready {
        return 200 "ready\n";
    }
--- request
GET /ready
--- response_body
ready
--- bench_chat: no history
--- timeout: 60



=== TEST 3: a send queue of 8k stops resumes short: wsbench asks again from each "more" gap and loses only what the server dropped
--- http_config
    ws_perf_redis    redis://127.0.0.1:$TEST_NGINX_REDIS_PORT;
    ws_perf_history  2000;
    ws_perf_redis_prefix  chat3:;
--- config
    location = /ws {
        ws_perf;
        ws_perf_user      $arg_user;
        ws_perf_channels  $arg_channels;
    }
    location = /wsq {
        ws_perf;
        ws_perf_user      $arg_user;
        ws_perf_channels  $arg_channels;
        ws_perf_send_queue_size 8k;
    }
    location = /pub {
        ws_perf_publish;
    }
    location = /status {
        ws_perf_status;
    }
    location = /ready {
        return 200 "ready\n";
    }
--- request
GET /ready
--- response_body
ready
--- bench_chat: resume more
--- timeout: 60
