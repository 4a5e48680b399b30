# Behind a front load balancer (docs/deploy.md, conf/front/): the test's
# nginx is the front, a plain proxy with the WebSocket settings of
# conf/front/ws_proxy_params (included from there), a consistent hash of
# the user over two module nodes and passive health; the scenarios start
# the nodes, sharing the test's redis.  200 users connect through the
# front, a publisher sends through it, and halfway the node that holds most
# users stops with nginx -s quit: its users get close 1001, reconnect
# through the front to the other node and resume; every accepted message
# arrives as the at-least-once rules allow (docs/reliable.md).  TEST 1
# checks the shipped configurations with nginx -t.
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use File::Spec;
use File::Temp ();
use WsPerf::PubSub;
use WsPerf::Redis;

my $base = $Test::Nginx::Util::ServerPort;
$ENV{TEST_NGINX_NODE1_PORT} ||= $base + 1;
$ENV{TEST_NGINX_NODE2_PORT} ||= $base + 2;
$ENV{TEST_NGINX_TLS_PORT} ||= $base + 3;
$ENV{TEST_NGINX_CHECK_PORTS} ||= ($base + 4) . ',' . ($base + 5);
$ENV{TEST_NGINX_FRONT_DIR} = File::Spec->rel2abs('conf/front');

# a private CA for the nodes' certificate (the front checks it in
# front.conf's TLS end to end) and the front's own, self-signed, which
# the clients trust
my $tls = File::Temp->newdir('ws-perf-tls-XXXXXX', TMPDIR => 1);
$ENV{TEST_NGINX_TLS_DIR} = "$tls";

sub openssl {
    system('openssl', @_) == 0 or die "openssl @_[0, 1]: $?\n";
}

{
    my $d = "$tls";
    my @key = ('-newkey', 'rsa:2048', '-nodes');
    # quiet: openssl draws its key generation on stderr
    open my $stderr, '>&', \*STDERR or die "dup: $!\n";
    open STDERR, '>', '/dev/null' or die "/dev/null: $!\n";
    openssl('req', '-x509', @key, '-keyout', "$d/ca.key",
            '-out', "$d/nodes-ca.crt", '-days', '2',
            '-subj', '/CN=ws-perf test CA');
    openssl('req', '-x509', @key, '-keyout', "$d/front.key",
            '-out', "$d/front.crt", '-days', '2', '-subj', '/CN=localhost',
            '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1');
    openssl('req', @key, '-keyout', "$d/node.key", '-out', "$d/node.csr",
            '-subj', '/CN=node.ws.internal');
    open my $ext, '>', "$d/node.ext" or die "$d/node.ext: $!\n";
    print $ext "subjectAltName=DNS:node.ws.internal,IP:127.0.0.1\n";
    close $ext;
    openssl('x509', '-req', '-in', "$d/node.csr", '-CA', "$d/nodes-ca.crt",
            '-CAkey', "$d/ca.key", '-CAcreateserial', '-out', "$d/node.crt",
            '-days', '2', '-extfile', "$d/node.ext");
    open STDERR, '>&', $stderr or die "dup: $!\n";
}

redis_start(port => 6601);

workers(2);
master_on();
worker_connections(1024);
no_shuffle();

pubsub_init(client => 't/pubsub/front.py', http_config => <<'_EOC_', config => <<'_EOC_');
    map $http_upgrade $connection_upgrade {
        default  upgrade;
        ''       close;
    }

    upstream ws_users {
        zone  ws_users 64k;
        hash  $arg_user consistent;
        server  127.0.0.1:$TEST_NGINX_NODE1_PORT  max_fails=1 fail_timeout=60s;
        server  127.0.0.1:$TEST_NGINX_NODE2_PORT  max_fails=1 fail_timeout=60s;
    }

    upstream ws_api {
        zone  ws_api 64k;
        least_conn;
        server  127.0.0.1:$TEST_NGINX_NODE1_PORT  weight=2 max_fails=1 fail_timeout=60s;
        server  127.0.0.1:$TEST_NGINX_NODE2_PORT  max_fails=1 fail_timeout=60s;
        keepalive  8;
    }

    server {
        listen  127.0.0.1:$TEST_NGINX_TLS_PORT ssl;

        ssl_certificate      $TEST_NGINX_TLS_DIR/front.crt;
        ssl_certificate_key  $TEST_NGINX_TLS_DIR/front.key;

        location = /ws {
            proxy_pass  http://ws_users;
            include     $TEST_NGINX_FRONT_DIR/ws_proxy_params;
            add_header  X-Upstream $upstream_addr always;
        }
    }
_EOC_
    location = /ws {
        proxy_pass  http://ws_users;
        include     $TEST_NGINX_FRONT_DIR/ws_proxy_params;
        add_header  X-Upstream $upstream_addr always;
    }

    location = /pub {
        proxy_pass          http://ws_api;
        proxy_http_version  1.1;
        proxy_set_header    Connection  "";
    }

    location = /t {
        return 200 "ok\n";
    }
_EOC_

run_tests();

__DATA__

=== TEST 1: conf/front/front.conf and node.conf pass nginx -t
--- request
GET /t
--- response_body
ok
--- pubsub
conf-check ports=$TEST_NGINX_CHECK_PORTS
--- pubsub_out
front.conf (listen 443 8443): nginx -t is successful
node.conf (listen 8080 8443): nginx -t is successful
--- timeout: 60



=== TEST 2: 200 users through the front; a node quits halfway; all resume
--- request
GET /t
--- response_body
ok
--- pubsub
failover users=200 msgs=2000 label=plain
--- pubsub_out
200 users connected through the front, each resumed its user and its channel
spread by the hash of the user: over both nodes
a user's second connection went to its first one's node: 20 of 20
a browser's handshake through the front: its own origin 101, another site's 403
one node stopped with nginx -s quit halfway: each of its users got close 1001: yes
each of them reconnected through the front to the other node and resumed: yes
the other node's users kept their connections: yes
user messages (ack asked): every accepted one reached its user: yes
copies only with the message's id, none that was not sent: yes
each message left unacked once came again: yes
channel messages: every one reached every user, copies only from a resume: yes
nothing awaits an ack at the end; errors: none
every moved user resumed within 10 s of the quit (40 s under valgrind): yes
the nodes' error logs: no alert, crit or emerg
--- error_log
connect() failed (111: Connection refused) while connecting to upstream
upstream server temporarily disabled while connecting to upstream
--- no_error_log
[alert]
[crit]
[emerg]
AddressSanitizer
runtime error:
--- timeout: 150



=== TEST 3: the same with TLS terminated at the front (wss:// to it)
--- request
GET /t
--- response_body
ok
--- pubsub
failover users=200 msgs=2000 label=tls ws=$TEST_NGINX_TLS_PORT tls=1
--- pubsub_out
200 users connected through the front, each resumed its user and its channel
spread by the hash of the user: over both nodes
a user's second connection went to its first one's node: 20 of 20
a browser's handshake through the front: its own origin 101, another site's 403
one node stopped with nginx -s quit halfway: each of its users got close 1001: yes
each of them reconnected through the front to the other node and resumed: yes
the other node's users kept their connections: yes
user messages (ack asked): every accepted one reached its user: yes
copies only with the message's id, none that was not sent: yes
each message left unacked once came again: yes
channel messages: every one reached every user, copies only from a resume: yes
nothing awaits an ack at the end; errors: none
every moved user resumed within 10 s of the quit (40 s under valgrind): yes
the nodes' error logs: no alert, crit or emerg
--- error_log
connect() failed (111: Connection refused) while connecting to upstream
upstream server temporarily disabled while connecting to upstream
--- no_error_log
[alert]
[crit]
[emerg]
AddressSanitizer
runtime error:
--- timeout: 150
