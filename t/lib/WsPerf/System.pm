package WsPerf::System;

# Helpers for the tests that run nginx the way its users do (t/6NN-*.t):
# a whole configuration of their own instead of the one Test::Nginx
# writes, started and stopped with the distribution's nginx binary
# ($TEST_NGINX_BINARY, as util/prove.sh sets it), plain HTTP/1.0 requests
# and a pub/sub round trip over WebSocket sessions (WsPerf::Client).

use strict;
use warnings;

use Exporter 'import';
use IO::Select ();
use IO::Socket::INET ();
use JSON::PP ();
use Time::HiRes ();
use WsPerf::Client ();

our @EXPORT = qw(nginx_bin slurp spew nginx_start nginx_stop http_request
                 log_problems pubsub_round_trip port_free);

sub nginx_bin { $ENV{TEST_NGINX_BINARY} || '/usr/sbin/nginx' }

sub slurp {
    my ($file) = @_;
    open my $in, '<', $file or die "$file: $!\n";
    local $/;
    my $text = <$in>;
    close $in;
    return $text;
}

sub spew {
    my ($file, $text) = @_;
    open my $out, '>', $file or die "$file: $!\n";
    print $out $text;
    close $out;
}

sub port_free {
    my ($port) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                  Proto => 'tcp', Timeout => 1);
    return !$s;
}

# the masters started, stopped when the test file ends however it ends
my @masters;

END {
    local $?;
    for my $pid (grep { kill 0, $_ } @masters) {
        kill 'QUIT', $pid;
        for (1 .. 100) {
            last unless kill 0, $pid;
            Time::HiRes::sleep(0.05);
        }
        kill 'KILL', -$pid, $pid if kill 0, $pid;
    }
}

# nginx_start(prefix => $dir, conf => $file, pid => $file, port => $port,
# log => $error_log): starts nginx (a daemon, as the configurations say)
# and waits until it listens on $port; dies when it does not start, or
# when its workers die at once (the master listens all the same).
sub nginx_start {
    my %o = @_;
    my @cmd = (nginx_bin(), '-p', "$o{prefix}/", '-c', $o{conf});
    my $out = `@cmd 2>&1`;
    die "nginx did not start: $out\n" if $?;
    for (1 .. 100) {
        if (-s $o{pid} && !port_free($o{port})) {
            Time::HiRes::sleep(0.3);
            my @bad = log_problems($o{log});
            push @masters, $1 if slurp($o{pid}) =~ /^(\d+)/;
            die "nginx started badly: @bad[0 .. ($#bad < 2 ? $#bad : 2)]\n"
                if @bad;
            return $out;
        }
        Time::HiRes::sleep(0.05);
    }
    die "nginx is not listening on $o{port} after 5 s: $out\n";
}

# nginx_stop(pid => $file, ...): a graceful stop (SIGQUIT), then SIGKILL
# after 10 s; true when the master left by itself.
sub nginx_stop {
    my %o = @_;
    my $pid = -s $o{pid} ? slurp($o{pid}) : undef;
    return 1 unless $pid && $pid =~ /^(\d+)/;
    $pid = $1;
    kill 'QUIT', $pid;
    for (1 .. 200) {
        return 1 unless kill 0, $pid;
        Time::HiRes::sleep(0.05);
    }
    kill 'KILL', -$pid, $pid;
    return 0;
}

# http_request($port, $method, $path, $body): {status, head, body}; gives
# up after 10 s (a listening socket accepts even when no worker runs)
sub http_request {
    my ($port, $method, $path, $body) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                  Proto => 'tcp', Timeout => 5)
        or return { status => 0, head => "connect: $!", body => '' };
    my $req = "$method $path HTTP/1.0\r\nHost: localhost\r\n";
    $req .= 'Content-Length: ' . length($body) . "\r\n" if defined $body;
    print $s "$req\r\n" . (defined $body ? $body : '');
    my $resp = '';
    my $sel = IO::Select->new($s);
    my $deadline = Time::HiRes::time() + 10;
    while ((my $left = $deadline - Time::HiRes::time()) > 0) {
        last unless $sel->can_read($left);
        my $n = sysread($s, $resp, 65536, length $resp);
        last unless $n;
    }
    close $s;
    my ($head, $rest) = split /\r\n\r\n/, $resp, 2;
    $head = '' unless defined $head;
    my ($status) = $head =~ m{^HTTP/1\.\d (\d+)};
    return { status => $status || 0, head => $head,
             body => defined $rest ? $rest : '' };
}

# The [alert], [crit] and [emerg] lines of an error log.
sub log_problems {
    my ($file) = @_;
    return () unless -f $file;
    return grep { /\[(alert|crit|emerg)\]/ } split /\n/, slurp($file);
}

# pubsub_round_trip($port, $sub_path, $pub_path, $payload): subscribes over
# WebSocket, publishes $payload over HTTP until it arrives (the worker's
# Redis subscription is set up asynchronously after the handshake: a
# message published before it is not delivered, plain pub/sub being
# at-most-once); returns the payload a "msg" envelope (JSON format) or a
# raw frame carried, or a reason it did not come within 10 s.
sub pubsub_round_trip {
    my ($port, $sub, $pub, $payload) = @_;
    local $ENV{TEST_NGINX_CLIENT_PORT} = $port;
    my $ws = eval { WsPerf::Client::ws_open($sub) };
    return "no session: $@" unless $ws;

    my $deadline = Time::HiRes::time() + 10;
    while (Time::HiRes::time() < $deadline) {
        my $r = http_request($port, 'POST', $pub, $payload);
        return "publish answered $r->{status}: $r->{body}"
            unless $r->{status} == 202;
        my $until = Time::HiRes::time() + 0.3;
        while ((my $left = $until - Time::HiRes::time()) > 0) {
            my $f = $ws->read_frame($left);
            last if $f->{timeout};
            return "the session ended: " . JSON::PP->new->encode($f)
                if $f->{eof} || $f->{error};
            next unless $f->{op} == 1 || $f->{op} == 2;
            my $m = eval { JSON::PP::decode_json($f->{payload}) };
            return $f->{payload} unless ref $m eq 'HASH';
            return $m->{data} if ($m->{type} || '') eq 'msg';
        }
    }
    return "nothing arrived within 10 s";
}

1;
