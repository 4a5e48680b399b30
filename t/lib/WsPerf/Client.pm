package WsPerf::Client;

# Live client sessions for the endpoint tests (t/00N-*.t, t/020-interop.t)
# that need more than one request and its response: timing, signals to
# the nginx master, several connections at once, external client programs.
#
# The opening handshake is built and parsed by Protocol::WebSocket
# (Handshake::Client), frames are built and parsed by
# Protocol::WebSocket::Frame; nothing here uses the module's own codec.
#
# A test block names one of its file's check subs in "--- ws_check" and
# asks for a trivial request; ws_client_init() registers the response body
# check that runs the named sub once nginx has answered that request.
# Like WsPerf::Test, the helpers are exported to the caller and to
# Test::Base::Filter (where "eval" sections run).

use strict;
use warnings;

use Digest::SHA qw(sha1);
use Errno qw(EAGAIN EINTR EWOULDBLOCK);
use File::Temp ();
use IO::Select ();
use IO::Socket::INET ();
use MIME::Base64 qw(encode_base64);
use POSIX ();
use Protocol::WebSocket::Frame;
use Protocol::WebSocket::Handshake::Client;
use Socket qw(IPPROTO_TCP TCP_NODELAY SOL_SOCKET SO_SNDBUF SO_RCVBUF
              inet_aton sockaddr_in);
use Test::More ();
use Time::HiRes ();

our $GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

our @EXPORT = qw(
    ws_client_init ws_port ws_open now nginx_master_pid nginx_signal
    nginx_cmd run_program close_payload hs_request ws_accept
    connect_tcp nginx_workers rss_kb
);

sub import {
    my @targets = (scalar caller, 'Test::Base::Filter');
    no strict 'refs';
    for my $pkg (@targets) {
        for my $name (@EXPORT) {
            *{"${pkg}::$name"} = \&{"WsPerf::Client::$name"};
        }
    }
}

sub now { Time::HiRes::time() }


# ------------------------------------------------------------ the server

sub ws_port {
    no warnings 'once';
    my $port = $Test::Nginx::Util::ServerPortForClient
               || $ENV{TEST_NGINX_CLIENT_PORT}
               || $ENV{TEST_NGINX_SERVER_PORT}
               || $Test::Nginx::Util::ServerPort;
    die "no server port known\n" unless $port;
    return $port;
}

sub servroot {
    no warnings 'once';
    my $root = $Test::Nginx::Util::ServRoot || $ENV{TEST_NGINX_SERVER_ROOT};
    die "no server root known\n" unless $root;
    return $root;
}

# The master's pid (with master_on()), read from the pid file.
sub nginx_master_pid {
    my $file = servroot() . '/logs/nginx.pid';
    open my $in, '<', $file or die "cannot open $file: $!\n";
    my $pid = <$in>;
    close $in;
    die "no pid in $file\n" unless defined $pid && $pid =~ /^\s*(\d+)\s*$/;
    return $1;
}

# The live worker processes of the master $master (default: this test's
# nginx): pids from /proc.
sub nginx_workers {
    my ($master) = @_;
    $master = nginx_master_pid() unless defined $master;
    my @pids;
    for my $stat (glob '/proc/[0-9]*/stat') {
        open my $in, '<', $stat or next;
        my $line = <$in>;
        close $in;
        next unless defined $line && $line =~ /^(\d+) \((.*)\) (\S) (\d+) /s;
        push @pids, $1 if $4 == $master && $3 ne 'Z';
    }
    return @pids;
}

# The resident set of process $pid in kB, from /proc.
sub rss_kb {
    my ($pid) = @_;
    open my $in, '<', "/proc/$pid/status" or die "no process $pid: $!\n";
    while (my $l = <$in>) {
        return $1 if $l =~ /^VmRSS:\s+(\d+) kB/;
    }
    die "no VmRSS for $pid\n";
}

sub nginx_signal {
    my ($sig) = @_;
    my $pid = nginx_master_pid();
    kill($sig, $pid) or die "cannot send SIG$sig to nginx $pid: $!\n";
    return $pid;
}

# Runs "nginx -p servroot/ -c conf/nginx.conf @args" (e.g. "-s", "reload")
# with the binary the runner uses; returns its exit status, and its output
# too in list context.
sub nginx_cmd {
    my @args = @_;
    my $bin = $ENV{TEST_NGINX_BINARY} || 'nginx';
    my $root = servroot();
    my ($status, $out, $err) = run_program(30, $bin, '-p', "$root/",
                                           '-c', "$root/conf/nginx.conf",
                                           @args);
    return wantarray ? ($status, $out . $err) : $status;
}


# ------------------------------------------------------- raw handshakes

our $SAMPLE_KEY = 'dGhlIHNhbXBsZSBub25jZQ==';

# ws_accept($key): the Sec-WebSocket-Accept value RFC 6455 4.2.2 asks for
sub ws_accept {
    my ($key) = @_;
    return encode_base64(sha1($key . $GUID), '');
}

# hs_request(%o): an opening handshake request, by default
#   GET /echo HTTP/1.1
#   Host: localhost
#   Upgrade: websocket
#   Connection: Upgrade
#   Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==
#   Sec-WebSocket-Version: 13
# path, method, version: the request line's parts;
# set => [name => value, ...]: replaces the default header of that name
#     (case-insensitive), or drops it when value is undef;
# add => [name => value, ...]: headers appended after the defaults;
# body => bytes sent right after the header block.
sub hs_request {
    my (%o) = @_;
    my @h = (Host => 'localhost', Upgrade => 'websocket',
             Connection => 'Upgrade', 'Sec-WebSocket-Key' => $SAMPLE_KEY,
             'Sec-WebSocket-Version' => '13');

    my @set = @{ $o{set} || [] };
    while (@set) {
        my ($k, $v) = splice @set, 0, 2;
        my $found = 0;
        for (my $i = 0; $i < @h; $i += 2) {
            next unless lc $h[$i] eq lc $k;
            $found = 1;
            if (defined $v) {
                @h[$i, $i + 1] = ($k, $v);
            } else {
                splice @h, $i, 2;
            }
            last;
        }
        push @h, $k, $v if !$found && defined $v;
    }
    push @h, @{ $o{add} || [] };

    my $req = sprintf("%s %s %s\r\n", $o{method} || 'GET',
                      defined $o{path} ? $o{path} : '/echo',
                      $o{version} || 'HTTP/1.1');
    while (@h) {
        my ($k, $v) = splice @h, 0, 2;
        $req .= "$k: $v\r\n";
    }
    return $req . "\r\n" . (defined $o{body} ? $o{body} : '');
}


# ------------------------------------------------------------- sessions

# ws_open($path, %opt): connects to nginx, completes the opening handshake
# and returns a session; dies with a reason if the server does not answer
# 101 with the right Sec-WebSocket-Accept.
#   timeout => seconds to wait for the 101 (default 5)
#   headers => [name => value, ...] extra request headers
#   bufsize => bytes for the socket's send and receive buffers
sub ws_open {
    my ($path, %o) = @_;
    $path = '/echo' unless defined $path;
    my $timeout = $o{timeout} || 5;

    my $port = $o{port} || ws_port();
    my $sock = connect_tcp($port, $timeout, $o{bufsize});
    $sock->setsockopt(IPPROTO_TCP, TCP_NODELAY, 1);
    $sock->blocking(0);
    binmode $sock;

    my $hs = Protocol::WebSocket::Handshake::Client->new(
                 url => "ws://127.0.0.1:$port$path");
    if ($o{headers}) {
        push @{ $hs->req->{headers} ||= [] }, @{ $o{headers} };
    }
    my $self = bless {
        sock  => $sock,
        path  => $path,
        buf   => '',
        frame => Protocol::WebSocket::Frame->new(max_payload_size => 0),
        eof   => 0,
    }, __PACKAGE__;

    my $req = $hs->to_string;
    $self->send_raw($req);

    my $key;
    $key = $1 if $req =~ /^Sec-WebSocket-Key: *(\S+)\r$/mi;
    die "Protocol::WebSocket sent no key\n" unless defined $key;

    my $deadline = now() + $timeout;
    while ($self->{buf} !~ /\r\n\r\n/) {
        my $n = $self->fill($deadline);
        if ($n == 0) {
            die "no 101 for $path within ${timeout}s, got: "
                . show($self->{buf}) . "\n";
        }
        if ($n < 0) {
            die "connection closed during the handshake for $path, got: "
                . show($self->{buf}) . "\n";
        }
    }

    my $end = index($self->{buf}, "\r\n\r\n") + 4;
    my $head = substr($self->{buf}, 0, $end);
    $self->{head} = $head;
    substr($self->{buf}, 0, $end, '');

    my $copy = $head;
    if (!$hs->parse($copy) || !$hs->is_done) {
        die "Protocol::WebSocket rejects the handshake response: "
            . ($hs->error || 'incomplete') . ": " . show($head) . "\n";
    }
    if ($head !~ m{\AHTTP/1\.1 101 }) {
        die "no 101: " . show($head) . "\n";
    }
    my $want = encode_base64(sha1($key . $GUID), '');
    if ($head !~ /^Sec-WebSocket-Accept: \Q$want\E\r$/mi) {
        die "wrong or missing Sec-WebSocket-Accept (want $want): "
            . show($head) . "\n";
    }
    $self->{frame}->append($self->{buf});
    $self->{buf} = '';
    return $self;
}

# A TCP connection to nginx; $bufsize, when given, sets the socket's send
# and receive buffers before connecting (this stops their autotuning).
sub connect_tcp {
    my ($port, $timeout, $bufsize) = @_;
    $port ||= ws_port();
    my $sock = IO::Socket::INET->new(Proto => 'tcp')
        or die "socket: $!\n";
    if ($bufsize) {
        $sock->setsockopt(SOL_SOCKET, SO_SNDBUF, $bufsize);
        $sock->setsockopt(SOL_SOCKET, SO_RCVBUF, $bufsize);
    }
    my $addr = sockaddr_in($port, inet_aton('127.0.0.1'));
    $sock->timeout($timeout || 5);
    $sock->connect($addr)
        or die "cannot connect to 127.0.0.1:$port: $!\n";
    return $sock;
}

sub show {
    my $s = shift;
    $s = '' unless defined $s;
    $s = substr($s, 0, 300) . '...' if length $s > 300;
    $s =~ s/([^\x20-\x7e])/sprintf('\\x%02x', ord $1)/ge;
    return qq{"$s"};
}

# Reads what is available into {buf}, waiting until $deadline.
# Returns the bytes read, 0 on timeout, -1 on EOF or a connection error.
sub fill {
    my ($self, $deadline) = @_;
    return -1 if $self->{eof};
    my $sel = IO::Select->new($self->{sock});
    while (1) {
        my $left = $deadline - now();
        $left = 0 if $left < 0;
        my @r = $sel->can_read($left);
        if (!@r) {
            next if $! == EINTR && $left > 0;
            return 0;
        }
        my $data;
        my $n = sysread($self->{sock}, $data, 1 << 20);
        if (!defined $n) {
            next if $! == EAGAIN || $! == EWOULDBLOCK || $! == EINTR;
            $self->{eof} = 1;
            $self->{error} = "$!";
            return -1;
        }
        if ($n == 0) {
            $self->{eof} = 1;
            return -1;
        }
        $self->{buf} .= $data;
        return $n;
    }
}

sub send_raw {
    my ($self, $bytes) = @_;
    local $SIG{PIPE} = 'IGNORE';
    my $off = 0;
    my $sel = IO::Select->new($self->{sock});
    my $deadline = now() + 10;
    while ($off < length $bytes) {
        my $n = syswrite($self->{sock}, $bytes, length($bytes) - $off, $off);
        if (!defined $n) {
            if ($! == EAGAIN || $! == EWOULDBLOCK || $! == EINTR) {
                my $left = $deadline - now();
                die "send blocked for 10s\n" if $left <= 0;
                $sel->can_write($left);
                next;
            }
            return 0;
        }
        $off += $n;
    }
    return 1;
}

sub send_frame {
    my ($self, $opcode, $payload, %o) = @_;
    my $f = Protocol::WebSocket::Frame->new(
        buffer => defined $payload ? $payload : '', opcode => $opcode,
        masked => 1, fin => defined $o{fin} ? $o{fin} : 1,
        max_payload_size => 0);
    return $self->send_raw($f->to_bytes);
}

sub send_text   { my $s = shift; $s->send_frame(1, @_) }
sub send_binary { my $s = shift; $s->send_frame(2, @_) }
sub send_ping   { my $s = shift; $s->send_frame(9, @_) }
sub send_pong   { my $s = shift; $s->send_frame(10, @_) }
sub send_close  {
    my ($s, $code, $reason) = @_;
    $s->send_frame(8, defined $code
                      ? pack('n', $code) . (defined $reason ? $reason : '')
                      : '');
}

# The next server frame as {op, payload, fin, rsv, masked, at}, or
# {eof => 1, at} once the server closed, or {timeout => 1} after
# $timeout seconds without a whole frame.
sub read_frame {
    my ($self, $timeout) = @_;
    my $deadline = now() + $timeout;
    my $f = $self->{frame};
    while (1) {
        my $payload = eval { $f->next_bytes };
        if ($@) {
            return { error => "unparsable server frame: $@", at => now() };
        }
        if (defined $payload) {
            return { op => $f->opcode, payload => $payload,
                     fin => $f->fin ? 1 : 0,
                     rsv => oct('0b' . join('', @{ $f->rsv || [0, 0, 0] })),
                     masked => $f->masked ? 1 : 0, at => now() };
        }
        my $n = $self->fill($deadline);
        if ($n < 0) {
            return { eof => 1, at => now(),
                     ($self->{buf} ne '' || $f->{buffer} ne ''
                      ? (partial => 1) : ()) };
        }
        return { timeout => 1, at => now() } if $n == 0;
        $f->append($self->{buf});
        $self->{buf} = '';
    }
}

# Waits for the server to close the TCP connection; true if it did within
# $timeout seconds (frames arriving meanwhile are counted in {skipped}).
sub wait_eof {
    my ($self, $timeout) = @_;
    my $deadline = now() + $timeout;
    while (1) {
        my $left = $deadline - now();
        return 0 if $left <= 0;
        my $f = $self->read_frame($left);
        return 1 if $f->{eof};
        return 0 if $f->{timeout} || $f->{error};
        $self->{skipped}++;
    }
}

# True while the server still accepts bytes: after the server closed its
# socket, a write draws a reset and the next one fails.
sub peer_open {
    my ($self) = @_;
    local $SIG{PIPE} = 'IGNORE';
    my $n = syswrite($self->{sock}, "\x00");
    return 0 if !defined $n && !($! == EAGAIN || $! == EWOULDBLOCK);
    return 1;
}

# After the server half-closed: waits until it closes its socket for good
# (probing with single bytes it discards while it drains); returns the
# seconds that took, or undef if it still had not after $timeout.
sub wait_server_close {
    my ($self, $timeout) = @_;
    my $start = now();
    while (now() - $start < $timeout) {
        return now() - $start unless $self->peer_open;
        Time::HiRes::sleep(0.05);
    }
    return undef;
}

sub sock { $_[0]->{sock} }

sub close_socket {
    my ($self) = @_;
    close $self->{sock} if $self->{sock};
    $self->{sock} = undef;
}

sub DESTROY { $_[0]->close_socket }

# The code of a close payload, or undef when it is empty.
sub close_payload {
    my ($payload) = @_;
    return undef if !defined $payload || length $payload < 2;
    return unpack('n', $payload);
}


# --------------------------------------------------------- programs

# run_program($timeout, @argv): runs a program in its own process group
# with stdin from /dev/null; returns ($status, $stdout, $stderr) where
# $status is the wait status, or -1 when the program was killed after
# $timeout seconds.
sub run_program {
    my ($timeout, @argv) = @_;

    my $err = File::Temp->new(TEMPLATE => 'ws-perf-stderr-XXXXXX',
                              TMPDIR => 1);
    pipe(my $r, my $w) or die "pipe: $!\n";
    my $pid = fork();
    die "fork: $!\n" unless defined $pid;

    if ($pid == 0) {
        close $r;
        POSIX::setpgid(0, 0);
        open STDIN, '<', '/dev/null';
        open STDOUT, '>&', $w;
        open STDERR, '>&', $err;
        { no warnings 'exec'; exec { $argv[0] } @argv; }
        print STDERR "cannot run $argv[0]: $!\n";
        POSIX::_exit(127);
    }

    close $w;
    my $out = '';
    my $sel = IO::Select->new($r);
    my $deadline = now() + $timeout;
    my $timed_out = 0;
    while (1) {
        my $left = $deadline - now();
        if ($left <= 0) {
            $timed_out = 1;
            last;
        }
        my @ready = $sel->can_read($left);
        next unless @ready;
        my $n = sysread($r, my $data, 65536);
        last if !defined $n && $! != EINTR;
        last if defined $n && $n == 0;
        $out .= $data if $n;
    }
    close $r;

    my $status;
    if ($timed_out) {
        kill 'TERM', -$pid;
        my $until = now() + 3;
        while (waitpid($pid, POSIX::WNOHANG()) == 0) {
            if (now() > $until) {
                kill 'KILL', -$pid;
                waitpid($pid, 0);
                last;
            }
            Time::HiRes::sleep(0.05);
        }
        $status = -1;
    } else {
        waitpid($pid, 0);
        $status = $?;
    }

    seek $err, 0, 0;
    my $errors = do { local $/; <$err> };
    $errors = '' unless defined $errors;
    $errors .= "[killed after ${timeout}s]\n" if $timed_out;
    return ($status, $out, $errors);
}


# --------------------------------------------------------- the runner

sub section {
    my ($block, $name) = @_;
    return $block->can($name) ? $block->$name : undef;
}

# Runs the sub named by "--- ws_check" (found in package main) with the
# block, after nginx answered the block's request; a die inside it is one
# failing test.
sub body_check {
    my ($block, $body, $req_idx, $repeated_req_idx, $dry_run) = @_;
    my $check = section($block, 'ws_check');
    return unless defined $check;
    my $name = $block->name;

    $check =~ s/^\s+|\s+$//g;
    my $sub = ref $check eq 'CODE' ? $check : main->can($check);

    if ($dry_run) {
        SKIP: {
            Test::More::skip("$name - ws_check - tests skipped due to"
                             . " $dry_run", 1);
        }
        return;
    }

    if (!$sub) {
        Test::More::fail("$name - ws_check: no sub \"$check\" in the .t file");
        return;
    }

    local $SIG{PIPE} = 'IGNORE';
    my $ok = eval { $sub->($block); 1 };
    if (!$ok) {
        my $err = $@;
        chomp $err;
        Test::More::fail("$name - ws_check $check died: $err");
    }
}

# ws_client_init(): call once in a .t file before run_tests().
sub ws_client_init {
    my $chk = Test::Nginx::Socket->can('add_response_body_check')
              || main->can('add_response_body_check')
              or die "add_response_body_check not available\n";
    $chk->(\&body_check);
}

1;
