package WsPerf::TLS;

# TLS for the tests: a self-signed certificate made with openssl once per
# test process, and the rewrite that runs a raw-bytes test file over TLS.
#
# Test::Nginx::Socket (the upstream one and the bundled runner alike)
# speaks plain TCP only, and the bytes a "--- raw_request" sends and a
# "--- response_body" expects are WebSocket frames, the same over TLS.  So
# with WS_PERF_TLS=1 tls_block() leaves the bytes alone and moves the
# transport under them:
#
#   test client --tcp--> stream {} server on the client port
#       --proxy_ssl--> "listen ... ssl http2" of the test's own server
#
# The module then serves every case on an ssl listener (with http2 on it,
# as in production; the stream proxy offers no ALPN, so it is HTTP/1.1
# over TLS).  The client port (server_port_for_client(), which both
# runners honour) is WS_PERF_TLS_PORT, default the server port + 1; the
# ssl listener is WS_PERF_TLS_BACKEND_PORT, default the server port + 2.
# Both runners start nginx from a fresh config per block, so the extra
# sections go in with a block preprocessor.

use strict;
use warnings;

use File::Temp ();

our @EXPORT = qw(tls_enabled tls_cert tls_key tls_port tls_backend_port
                 tls_listen tls_block);

sub import {
    my @targets = (scalar caller, 'Test::Base::Filter');
    no strict 'refs';
    for my $pkg (@targets) {
        for my $name (@EXPORT) {
            *{"${pkg}::$name"} = \&{"WsPerf::TLS::$name"};
        }
    }
}

our $STREAM_MODULE = $ENV{WS_PERF_STREAM_MODULE}
                     || '/usr/lib/nginx/modules/ngx_stream_module.so';

my ($dir, $cert, $key);

sub tls_enabled {
    return $ENV{WS_PERF_TLS} ? 1 : 0;
}

# A self-signed certificate for localhost and 127.0.0.1 (made once, in a
# temporary directory removed at exit); a client may verify against it.
sub make_cert {
    return if defined $cert;
    $dir = File::Temp->newdir('ws-perf-tls-XXXXXX', TMPDIR => 1);
    $cert = "$dir/cert.pem";
    $key = "$dir/key.pem";
    my @cmd = ('openssl', 'req', '-x509', '-newkey', 'ec',
               '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
               '-keyout', $key, '-out', $cert, '-days', '2',
               '-subj', '/CN=localhost',
               '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1');
    my $out = `@cmd 2>&1`;
    die "openssl could not make a certificate: $out\n"
        if $? != 0 || !-s $cert || !-s $key;
}

sub tls_cert { make_cert(); return $cert }
sub tls_key  { make_cert(); return $key }

sub server_port {
    no warnings 'once';
    return $Test::Nginx::Util::ServerPort;
}

sub tls_port {
    return $ENV{WS_PERF_TLS_PORT} || server_port() + 1;
}

sub tls_backend_port {
    return $ENV{WS_PERF_TLS_BACKEND_PORT} || server_port() + 2;
}

# The server-level lines of an ssl listener on $port with http2 on the
# same listener (nginx 1.22 spells it as a listen parameter).
sub tls_listen {
    my ($port) = @_;
    $port = tls_port() unless defined $port;
    my $c = tls_cert();
    my $k = tls_key();
    return <<"_EOC_";
        listen 127.0.0.1:$port ssl http2;
        ssl_certificate $c;
        ssl_certificate_key $k;
_EOC_
}

# With WS_PERF_TLS=1: the block's server gets the ssl listener and the
# client port gets the stream proxy in front of it.
sub tls_block {
    my ($block) = @_;
    return unless tls_enabled();

    my $client = tls_port();
    my $backend = tls_backend_port();
    {
        no warnings 'once';
        $Test::Nginx::Util::ServerPortForClient = $client;
    }

    my $config = $block->config;
    $config = '' unless defined $config;
    $block->set_value('config', tls_listen($backend) . $config);

    my $main = $block->main_config;
    $main = '' unless defined $main;
    $block->set_value('main_config', <<"_EOC_" . $main);
load_module $STREAM_MODULE;
stream {
    server {
        listen 127.0.0.1:$client;
        proxy_pass 127.0.0.1:$backend;
        proxy_ssl on;
        proxy_half_close on;
    }
}
_EOC_
}

1;
