package Test::Nginx::Socket;

# A bundled subset of Test::Nginx::Socket (openresty/test-nginx) for the
# data-driven t/*.t files, built on Test::Base.  It is only put on @INC
# when the real module is not installed (see util/prove.sh), and follows
# the real module's documented behaviour for the sections it supports, so
# that a test file passes or fails the same way under both.
#
# Every sub in this file carries a prototype: "use Test::Base -Base" runs
# Spiffy's source filter, which would otherwise insert "my $self = shift;"
# into each one.

use Test::Base -Base;

use Encode ();
use Digest::MD5 ();
use Digest::SHA ();
use HTTP::Response ();
use IO::Select ();
use IO::Socket::INET ();
use List::Util qw(min);
use POSIX qw(EAGAIN EINTR EWOULDBLOCK);
use Test::LongString ();
use Time::HiRes qw(sleep time);

use Test::Nginx::Util;

our $VERSION = '0.33';

our @EXPORT = qw(
    env_to_nginx is_str plan run_tests run_test repeat_each config_preamble
    worker_connections master_process_enabled no_long_string workers
    master_on master_off log_level no_shuffle no_root_location server_name
    server_addr server_root html_dir server_port server_port_for_client
    timeout check_accum_error_log add_block_preprocessor bail_out
    add_test_cleanup_handler add_cleanup_handler add_response_body_check
    $ServerPort $ServerAddr $ServerPortForClient
);

our @ResponseBodyChecks;

sub value_contains ($$);

$RunTestHelper         = \&run_test_helper;
$CheckErrorLog         = \&check_error_log;
$CheckShutdownErrorLog = \&check_shutdown_error_log;

sub run_test ($) {
    Test::Nginx::Util::run_test($_[0]);
}

# add_response_body_check(sub { my ($block, $body, $req_idx,
#                                   $repeated_req_idx, $dry_run) = @_; ... })
sub add_response_body_check ($) {
    push @ResponseBodyChecks, shift;
}

# ------------------------------------------------------------ display

# Printable form of a byte string for diagnostics and test names.
sub escape_bytes ($) {
    my $s = shift;
    return 'undef' unless defined $s;
    $s =~ s/([^\x20-\x7e])/sprintf('\\x%02x', ord $1)/ge;
    return $s;
}

sub fmt_str ($) {
    my $s = shift;
    chomp $s;
    $s =~ s/"/\\"/g;
    $s =~ s/\r/\\r/g;
    $s =~ s/\n/\\n/g;
    return $s;
}

sub has_binary ($) {
    my $s = shift;
    return defined $s && $s =~ /[^\x20-\x7e\r\n\t]/;
}

# like()/unlike() that print the subject escaped when it holds binary bytes
sub match_ok ($$$$) {
    my ($want, $got, $re, $desc) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    if (!has_binary($got)) {
        return $want ? Test::More::like($got, $re, $desc)
                     : Test::More::unlike($got, $re, $desc);
    }
    my $m = $got =~ $re ? 1 : 0;
    my $ok = Test::More::ok($want ? $m : !$m, $desc);
    if (!$ok) {
        my $shown = escape_bytes(length $got > 2000
                                 ? substr($got, 0, 2000) : $got);
        Test::More::diag(sprintf("%20s '%s'\n%20s '%s'", '',
                                 $shown . (length $got > 2000 ? '...' : ''),
                                 $want ? "doesn't match" : 'matches', $re));
    }
    return $ok;
}

# ------------------------------------------------------------ requests

sub parse_more_headers ($) {
    my $in = shift;
    my ($out, $chunked) = ('', 0);
    for my $h (split /\n+/, $in) {
        next if $h =~ /^\s*#/;
        my ($k, $v) = split /:\s*/, $h, 2;
        $v = '' unless defined $v;
        $chunked = 1 if lc($k) eq 'transfer-encoding' && $v eq 'chunked';
        $out .= "$k: $v\r\n";
    }
    return ($out, $chunked);
}

# Completes "GET /uri\nbody" into a full request: the HTTP version, Host,
# Connection, the extra headers and Content-Length are added.  The packets
# in @$packets keep their boundaries (shifted by what is inserted).
sub build_request ($$$$$) {
    my ($name, $more, $chunked, $conn, $packets) = @_;

    my $whole = join '', map { defined $_ ? $_ : '' } @$packets;
    $whole =~ /\A([^\n]*(?:\n|\z))/;
    my $first = $1;
    if (!defined $first || $first !~ /\S/) {
        bail_out("$name - Request line should be non-empty");
    }
    if ($first !~ /^\s*(\S+)(?: +(\S+))?(?: +(\S+))? *\s*$/) {
        bail_out("$name - Request line is not valid. Should be 'meth [url"
                 . " [version]]' but got \"$first\".");
    }
    my ($meth, $url, $ver) = ($1, $2, $3);
    $url = '/' unless defined $url;
    $ver = 'HTTP/1.1' unless defined $ver;

    my $content = substr($whole, length $first);

    my $len = '';
    if (!$chunked && $content ne '' && $more !~ /(?:^|\n)Content-Length:/) {
        $content =~ s/^\s+|\s+$//g;
        $len = 'Content-Length: ' . length($content) . "\r\n";
    }

    $more =~ s/(?<!\r)\n/\r\n/g;
    my $headers = '';
    $headers .= "Host: $ServerName\r\n" if $more !~ /(?:^|\n)Host:/i;
    $headers .= "Connection: $conn\r\n" if $more !~ /(?:^|\n)Connection/i;
    $headers .= "$more$len\r\n";

    my $line = "$meth $url $ver\r\n";
    my $head = $line . $headers;
    my $req = $head . $content;

    return [$req] if @$packets <= 1;

    # map the original packet boundaries onto the new request
    my @out;
    my ($from, $orig_pos) = (0, 0);
    for my $i (0 .. $#$packets - 1) {
        $orig_pos += length(defined $packets->[$i] ? $packets->[$i] : '');
        my $to;
        if ($orig_pos < length $first) {
            $to = min($orig_pos, length $line);
        } else {
            $to = length($head) + $orig_pos - length $first;
            $to = length $req if $to > length $req;
        }
        $to = $from if $to < $from;
        push @out, substr($req, $from, $to - $from);
        $from = $to;
    }
    push @out, substr($req, $from);
    return \@out;
}

sub more_headers_for ($$$) {
    my ($name, $more, $i) = @_;
    if (ref $more eq 'ARRAY') {
        my $h = $more->[$i];
        bail_out("$name - --- more_headers lacks data for the request $i")
            unless defined $h;
        return parse_more_headers($h);
    }
    return parse_more_headers($more);
}

# A list of requests; each request is a list of {value, delay_before}
# pieces sent one after another on one connection.
sub get_req_from_block ($) {
    my $block = shift;
    my $name = $block->name;
    my @reqs;

    if (defined $block->raw_request) {
        my $raw = $block->raw_request;
        if (ref $raw && ref $raw eq 'ARRAY') {
            push @reqs, [map { { value => $_ } } @$raw];
        } else {
            push @reqs, [{ value => $raw }];
        }
        return \@reqs;
    }

    my $request = $block->request;
    if (defined $request && !ref $request) {
        1 while $request =~ s/^\s*\#[^\n]+\s+|^\s+//s;
    }
    my $more = $block->more_headers;
    $more = '' unless defined $more;

    if (my $pl = $block->pipelined_requests) {
        bail_out("$name - invalid entries in --- pipelined_requests")
            unless ref $pl eq 'ARRAY';
        my $all = '';
        for my $i (0 .. $#$pl) {
            my $r = expand_env_in_text($pl->[$i], $name,
                                       $Test::Nginx::Util::RandPorts);
            my ($hdr, $chunked) = more_headers_for($name, $more, $i);
            $all .= build_request($name, $hdr, $chunked,
                                  $i == $#$pl ? 'close' : 'keep-alive',
                                  [$r])->[0];
        }
        return [[{ value => $all }]];
    }

    if (!ref $request) {
        my ($hdr, $chunked) = more_headers_for($name, $more, 0);
        my $r = build_request($name, $hdr, $chunked, 'close', [$request]);
        return [[{ value => $r->[0] }]];
    }

    if (ref $request ne 'ARRAY') {
        bail_out("$name - invalid ---request : MUST be string or array of"
                 . " requests");
    }

    for my $i (0 .. $#$request) {
        my $one = $request->[$i];
        my ($hdr, $chunked) = more_headers_for($name, $more, $i);
        if (!ref $one) {
            my $r = build_request($name, $hdr, $chunked, 'close', [$one]);
            push @reqs, [{ value => $r->[0] }];
            next;
        }
        if (ref $one ne 'ARRAY') {
            bail_out("$name - Invalid syntax. $one should be a string or"
                     . " an array of packets.");
        }
        my @vals;
        for my $p (@$one) {
            if (!ref $p) {
                push @vals, $p;
            } elsif (ref $p eq 'HASH') {
                push @vals, $p->{value};
            } else {
                bail_out("$name - Invalid syntax. $p should be a string or"
                         . " hash with value.");
            }
        }
        my $pieces = build_request($name, $hdr, $chunked, 'close', \@vals);
        my @out;
        for my $j (0 .. $#$pieces) {
            my $orig = $one->[$j];
            my %piece = ref $orig eq 'HASH' ? %$orig : ();
            $piece{value} = $pieces->[$j];
            push @out, \%piece;
        }
        push @reqs, \@out;
    }

    return \@reqs;
}

# Sends the pieces of one request on a new connection and reads until the
# server closes it or nothing arrives for $timeout seconds (a failure
# unless --- abort).
sub send_request ($$$$) {
    my ($req, $middle_delay, $timeout, $block) = @_;
    my $name = $block->name;

    my @pieces = @$req;
    my $head_req = (join '', map { $_->{value} } @pieces) =~ /^\s*HEAD\s+/
                   ? 1 : 0;

    my $addr = $block->server_addr_for_client;
    $addr = $ServerAddr unless defined $addr;

    my $sock;
    for my $try (1 .. 50) {
        $sock = IO::Socket::INET->new(PeerAddr => $addr,
                                      PeerPort => $ServerPortForClient,
                                      Proto => 'tcp', Timeout => $timeout);
        last if $sock;
        my $err = $!;
        if ($try == 50) {
            Test::More->builder->no_ending(1);
            Test::More::fail("$name - Can't connect to"
                             . " $addr:$ServerPortForClient: $err (aborted)\n");
            return (undef, $head_req);
        }
        my $wait = (sleep_time() + sleep_time() * $try) * $try / 2;
        $wait = 1 if $wait > 1;
        if ($wait >= 0.6) {
            warn "$name - Can't connect to $addr:$ServerPortForClient: $err\n"
                 . "\tRetry connecting after $wait sec\n";
        }
        sleep $wait;
    }

    $sock->blocking(0);
    binmode $sock;

    local $SIG{PIPE} = 'IGNORE';

    my $resp = '';
    my $piece = shift @pieces;
    my $wbuf = $piece->{value};
    $wbuf = '' unless defined $wbuf;
    my $woff = 0;
    my $writing = 1;
    my $fd_open = 1;

    my $sel = IO::Select->new($sock);

    while ($fd_open) {
        my ($r, $w) = IO::Select->select($sel, $writing ? $sel : undef,
                                         undef, $timeout);
        if (!$r && !$w) {
            next if $! == EINTR;
            # idle for $timeout seconds
            if (!defined $block->abort) {
                Test::More->builder->no_ending(1);
                Test::More::fail("ERROR: client socket timed out - $name\n");
            } else {
                sleep 0.005;
            }
            last;
        }

        if ($w && @$w && $writing) {
            while (1) {
                my $rest = length($wbuf) - $woff;
                if ($rest > 0) {
                    my $n = syswrite($sock, $wbuf, $rest, $woff);
                    if (!defined $n) {
                        last if $! == EAGAIN || $! == EWOULDBLOCK;
                        my $err = "write failed: $!";
                        warn "$err\n";
                        if ($!{EPIPE}) {
                            warn "WARNING: $name - the real Test::Nginx"
                                 . " would be killed by SIGPIPE here\n";
                        }
                        $resp = $err if $resp eq '';
                        $writing = 0;
                        $fd_open = 0;
                        last;
                    }
                    $woff += $n;
                    next;
                }
                $piece = shift @pieces;
                if (!defined $piece) {
                    $writing = 0;
                    my $shutdown = $block->shutdown;
                    if (defined $shutdown) {
                        $shutdown = 1 if $shutdown =~ /^\s*$/;
                        shutdown($sock, $shutdown);
                    }
                    last;
                }
                my $delay = defined $piece->{delay_before}
                            ? $piece->{delay_before} : $middle_delay;
                sleep $delay if $delay;
                $wbuf = defined $piece->{value} ? $piece->{value} : '';
                $woff = 0;
            }
        }

        if ($fd_open && $r && @$r) {
            while (1) {
                my $buf;
                my $n = sysread($sock, $buf, 65536);
                if (!defined $n) {
                    last if $! == EAGAIN || $! == EWOULDBLOCK;
                    warn "WARNING: $name - HTTP response read failure: $!";
                    $fd_open = 0;
                    last;
                }
                if ($n == 0) {
                    $fd_open = 0;
                    last;
                }
                $resp .= $buf;
            }
        }
    }

    close $sock;
    return ($resp, $head_req);
}

# ----------------------------------------------------------- responses

# Returns (HTTP::Response, raw header block, bytes left over after the
# body).  For 101 and 304 the body is everything after the header block,
# as received.
sub parse_response ($$$) {
    my ($name, $raw, $head_req) = @_;
    my $left;

    my $raw_headers = '';
    if ($raw =~ /(.*?\r\n)\r\n/s) {
        $raw_headers = $1;
    }

    my $res = HTTP::Response->parse($raw);
    my $code = $res->code;
    if ($code && $code !~ /^\d+$/) {
        undef $code;
        $res->code(undef);
    }

    return ($res, $raw_headers) if $code && ($code == 101 || $code == 304);

    my $te = $res->header('Transfer-Encoding');
    my $len = $res->header('Content-Length');

    if (defined $te && $te eq 'chunked') {
        my $body = $res->content;
        $body = '' unless defined $body;
        my $pos = 0;
        my $decoded = '';
        my $fail = sub {
            Test::More->builder->no_ending(1);
            Test::More::fail("$name - $_[0]");
            return;
        };
        while (1) {
            pos($body) = $pos;
            if ($body !~ /\G[ \t]*([0-9A-Fa-f]+)[ \t]*(?:;[^\r\n]*)?\r\n/gc) {
                if ($pos >= length $body) {
                    return $fail->("no last chunk found - $body");
                }
                return $fail->('invalid chunked body received: '
                               . escape_bytes(substr($body, $pos, 200)));
            }
            my $size = hex $1;
            $pos = pos($body);
            if ($size == 0) {
                # optional trailer lines, then the empty line
                while (1) {
                    pos($body) = $pos;
                    if ($body =~ /\G\r\n/gc) {
                        $pos = pos($body);
                        last;
                    }
                    if ($body =~ /\G[^\r\n:]+:[^\n]*\r\n/gc) {
                        $pos = pos($body);
                        next;
                    }
                    return $fail->('invalid chunked data received'
                                   . ' (expected CRLF).');
                }
                $left = substr($body, $pos) if $pos < length $body;
                last;
            }
            if (length($body) - $pos < $size) {
                return $fail->('invalid chunked data received (not enought'
                               . ' octets for the data section)');
            }
            $decoded .= substr($body, $pos, $size);
            $pos += $size;
            if (substr($body, $pos, 2) ne "\r\n") {
                return $fail->('invalid chunked data received (expected'
                               . ' CRLF).');
            }
            $pos += 2;
        }
        $res->content($decoded);

    } elsif (defined $len && $len =~ /^\s*\d+\s*$/) {
        my $body = $res->content;
        $body = '' unless defined $body;
        if (length $body < $len) {
            warn "WARNING: $name - response body truncated: $len expected,"
                 . " but got " . length($body) . "\n" unless $head_req;
        } elsif (length $body > $len) {
            $left = substr($body, $len);
            $res->content(substr($body, 0, $len));
        }
    }

    return ($res, $raw_headers, $left);
}

sub get_indexed_value ($$$$) {
    my ($name, $value, $idx, $need_array) = @_;
    if ($need_array) {
        return $value->[$idx] if ref $value && ref $value eq 'ARRAY';
        bail_out("$name - You asked for many requests, the expected results"
                 . " should be arrays as well.");
    }
    if (ref $value && ref $value eq 'ARRAY') {
        return $value->[0];
    }
    return $value;
}

sub check_error_code ($$$$$) {
    my ($block, $res, $dry_run, $idx, $need_array) = @_;
    my $name = $block->name;
    my $code = ($res && $res->code) || '';
    SKIP: {
        Test::More::skip("$name - tests skipped due to $dry_run", 1)
            if $dry_run;
        if (defined $block->error_code_like) {
            my $v = get_indexed_value($name, $block->error_code_like, $idx,
                                      $need_array);
            Test::More::like($code, qr/$v/sm, "$name - status code ok");
        } elsif (defined $block->error_code) {
            Test::More::is($code, get_indexed_value($name, $block->error_code,
                                                    $idx, $need_array),
                           "$name - status code ok");
        } else {
            Test::More::is($code, 200, "$name - status code ok");
        }
    }
}

sub check_raw_response_headers ($$$$$) {
    my ($block, $raw_headers, $dry_run, $idx, $need_array) = @_;
    my $name = $block->name;
    for my $kind (qw(like unlike)) {
        my $v = $kind eq 'like' ? $block->raw_response_headers_like
                                : $block->raw_response_headers_unlike;
        next unless defined $v;
        SKIP: {
            Test::More::skip("$name - raw_response_headers_$kind - tests"
                             . " skipped due to $dry_run", 1) if $dry_run;
            my $pat = get_indexed_value($name, $v, $idx, $need_array);
            match_ok($kind eq 'like', $raw_headers, qr/$pat/s,
                     "$name - raw resp headers $kind");
        }
    }
}

sub check_response_headers ($$$$$$) {
    my ($block, $res, $raw_headers, $dry_run, $idx, $need_array) = @_;
    my $name = $block->name;

    if (defined $block->response_headers) {
        my $h = parse_headers(get_indexed_value($name,
                              $block->response_headers, $idx, $need_array));
        for my $key (sort keys %$h) {
            my $val = $h->{$key};
            SKIP: {
                Test::More::skip("$name - response_headers - tests skipped"
                                 . " due to $dry_run", 1) if $dry_run;
                if (!defined $val) {
                    Test::More::unlike($raw_headers, qr/^\s*\Q$key\E\s*:/ms,
                        "$name - header $key not present in the raw headers");
                } else {
                    $val =~ s/\$ServerPort\b/$ServerPort/g;
                    $val =~ s/\$ServerPortForClient\b/$ServerPortForClient/g;
                    my $got = $res ? $res->header($key) : undef;
                    $got = '' unless defined $got;
                    Test::More::is($got, $val, "$name - header $key ok");
                }
            }
        }

    } elsif (defined $block->response_headers_like) {
        my $h = parse_headers(get_indexed_value($name,
                              $block->response_headers_like, $idx,
                              $need_array));
        for my $key (sort keys %$h) {
            my $val = $h->{$key};
            my $got = $res ? $res->header($key) : undef;
            $got = '' unless defined $got;
            SKIP: {
                Test::More::skip("$name - response_headers_like - tests"
                                 . " skipped due to $dry_run", 1) if $dry_run;
                Test::More::like($got, qr/^$val$/,
                                 "$name - header $key like ok");
            }
        }
    }
}

sub run_filter ($$$) {
    my ($block, $filter, $content) = @_;
    my $name = $block->name;
    if (ref $filter eq 'CODE') {
        return $filter->($content);
    }
    if (ref $filter) {
        bail_out("$name - the --- response_body_filters section only supports"
                 . " subroutine reference values and string values");
    }
    my %builtin = (
        md5_hex  => \&Digest::MD5::md5_hex,
        sha1_hex => \&Digest::SHA::sha1_hex,
        uc       => sub { uc $_[0] },
        lc       => sub { lc $_[0] },
        ucfirst  => sub { ucfirst $_[0] },
        lcfirst  => sub { lcfirst $_[0] },
        length   => sub { length $_[0] },
    );
    my $f = $builtin{$filter}
        or bail_out("$name - unknown filter, \"$filter\", specified in the"
                    . " --- response_body_filters section");
    return $f->($content);
}

sub transform_response_body ($$$) {
    my ($block, $res, $idx) = @_;
    return unless defined $res;
    my $content = $res->content;
    return unless defined $content;
    my $filters = $block->response_body_filters;
    return unless defined $filters;

    if (!ref $filters) {
        $filters =~ s/^\s+|\s+$//g;
        $filters = [split /\s+/, $filters];
    } elsif (ref $filters ne 'ARRAY') {
        $filters = [$filters];
    }
    if (ref $filters->[0] eq 'ARRAY') {
        $filters = $filters->[$idx];
        bail_out($block->name . " - the ---response_body_filters"
                 . " two-dimensional array unmatch the specified"
                 . " request($idx)") unless defined $filters;
    }
    $content = run_filter($block, $_, $content) for @$filters;
    $res->content($content);
}

sub check_response_body ($$$$$$) {
    my ($block, $res, $dry_run, $idx, $rep_idx, $need_array) = @_;
    my $name = $block->name;

    if (defined(my $file = $block->write_resp_body_file)) {
        if ($res) {
            open my $out, '>', $file
                or bail_out("$name - failed to write to file '$file': $!");
            binmode $out;
            print $out (defined $res->content ? $res->content : '');
            close $out;
        }
    }

    my $content = $res ? $res->content : undef;
    if (defined $content) {
        $content =~ s/^TE: deflate,gzip;q=0\.3\r\n//gm;
        $content =~ s/^Connection: TE, close\r\n//gm;
    }

    if (defined $block->response_body) {
        my $expected = get_indexed_value($name, $block->response_body, $idx,
                                         $need_array);
        if ($block->charset) {
            Encode::from_to($expected, 'UTF-8', $block->charset);
        }
        if (defined $expected && !ref $expected) {
            $expected =~ s/\$ServerPort\b/$ServerPort/g;
            $expected =~ s/\$ServerPortForClient\b/$ServerPortForClient/g;
            $expected = expand_env_in_text($expected, $name,
                                           $Test::Nginx::Util::RandPorts);
        }
        SKIP: {
            Test::More::skip("$name - response_body - tests skipped due to"
                             . " $dry_run", 1) if $dry_run;
            if (ref $expected) {
                match_ok(1, $content, $expected, "$name - response_body -"
                         . " like (repeated req $rep_idx, req $idx)");
            } else {
                my $desc = "$name - response_body - response is expected"
                           . " (repeated req $rep_idx, req $idx)";
                if ($NoLongString) {
                    Test::More::is($content, $expected, $desc);
                } else {
                    Test::LongString::is_string($content, $expected, $desc);
                }
            }
        }

    } elsif (defined $block->response_body_like
             || defined $block->response_body_unlike)
    {
        my $like = defined $block->response_body_like;
        my $type = $like ? 'like' : 'unlike';
        my $pat = get_indexed_value($name,
            $like ? $block->response_body_like : $block->response_body_unlike,
            $idx, $need_array);
        $pat =~ s/\$ServerPort\b/$ServerPort/g;
        $pat =~ s/\$ServerPortForClient\b/$ServerPortForClient/g;
        my $summary = trim($content);
        $summary = '' unless defined $summary;
        $summary = escape_bytes($summary) if has_binary($summary);
        $summary = substr($summary, 0, 200) . '...' if length $summary > 200;
        SKIP: {
            Test::More::skip("$name - response_body_$type - tests skipped due"
                             . " to $dry_run", 1) if $dry_run;
            match_ok($like, $content, qr/$pat/s, "$name - response_body_$type"
                     . " - response is expected ($summary)");
        }
    }

    for my $check (@ResponseBodyChecks) {
        $check->($block, $res ? $res->content : undef, $idx, $rep_idx,
                 $dry_run);
    }
}

# ----------------------------------------------------------------- logs

sub value_contains ($$) {
    my ($val, $pat) = @_;
    return 0 unless defined $val;
    if (!ref $val || ref $val eq 'Regexp') {
        return "$val" =~ /\Q$pat\E/;
    }
    if (ref $val eq 'ARRAY') {
        for my $v (@$val) {
            return 1 if value_contains($v, $pat);
        }
    }
    return 0;
}

sub pattern_list ($) {
    my $pats = shift;
    if (!ref $pats) {
        chomp $pats;
        return [split /\n+/, $pats];
    }
    return [$pats] if ref $pats eq 'Regexp';
    return [@$pats];
}

sub line_matches ($$) {
    my ($line, $pat) = @_;
    return (ref $pat && $line =~ /$pat/) || $line =~ /\Q$pat\E/;
}

# --- error_log style: each pattern must match some line, one test each
sub check_log_has ($$$$$$) {
    my ($name, $pats, $lines, $dry_run, $section, $suffix) = @_;
    my $file = $section =~ /access/ ? 'access.log' : 'error.log';
    $pats = pattern_list($pats);
    for my $line (@$lines) {
        for my $pat (@$pats) {
            next unless defined $pat;
            if (line_matches($line, $pat)) {
                SKIP: {
                    Test::More::skip("$name - $section - tests skipped due"
                                     . " to $dry_run", 1) if $dry_run;
                    Test::More::pass("$name - pattern \"$pat\" matches a line"
                                     . " in $file$suffix");
                }
                undef $pat;
            }
        }
    }
    for my $pat (@$pats) {
        next unless defined $pat;
        SKIP: {
            Test::More::skip("$name - $section - tests skipped due to"
                             . " $dry_run", 1) if $dry_run;
            Test::More::fail("$name - pattern \"$pat\" should match a line in"
                             . " $file$suffix");
        }
    }
}

# --- no_error_log style: one passing test per pattern, or one failing
# test per matching line
sub check_log_lacks ($$$$$$) {
    my ($name, $pats, $lines, $dry_run, $section, $suffix) = @_;
    my $file = $section =~ /access/ ? 'access.log' : 'error.log';
    $pats = pattern_list($pats);
    my %found;
    for my $i (0 .. $#$lines) {
        my $line = $lines->[$i];
        for my $pat (@$pats) {
            next unless defined $pat;
            next unless line_matches($line, $pat);
            if ($found{$pat}++) {
                Test::More->builder->no_ending(1);
            }
            SKIP: {
                Test::More::skip("$name - $section - tests skipped due to"
                                 . " $dry_run ($line)", 1) if $dry_run;
                my @more = @$lines[$i + 1 .. min($i + 9, $#$lines - 1)];
                Test::More::fail("$name - pattern \"" . fmt_str($pat)
                    . "\" should not match any line in $file but matches"
                    . " line \"" . fmt_str($line) . "\"$suffix\n"
                    . join('', @more));
            }
        }
    }
    for my $pat (@$pats) {
        next if !defined $pat || $found{$pat};
        SKIP: {
            Test::More::skip("$name - $section - tests skipped due to"
                             . " $dry_run", 1) if $dry_run;
            Test::More::pass("$name - pattern \"" . fmt_str($pat)
                             . "\" does not match a line in $file$suffix");
        }
    }
}

sub check_error_log ($$$$$) {
    my ($block, $res, $dry_run, $rep_idx, $need_array) = @_;
    my $name = $block->name;
    my $lines;
    my %warn_on = (alert => 1, crit => 1, emerg => 1);

    my $grep_pat = $block->grep_error_log;
    if (defined $grep_pat) {
        $grep_pat = $grep_pat->[$rep_idx] if ref $grep_pat eq 'ARRAY';
    } elsif (defined $block->grep_error_log_out) {
        bail_out("$name - No --- grep_error_log defined but"
                 . " --- grep_error_log_out is defined");
    }

    if (defined $grep_pat) {
        my $expected = $block->grep_error_log_out;
        bail_out("$name - No --- grep_error_log_out defined but"
                 . " --- grep_error_log is defined") unless defined $expected;
        $expected = expand_env_in_text($expected, $name,
                                       $Test::Nginx::Util::RandPorts);
        $expected = $expected->[$rep_idx] if ref $expected eq 'ARRAY';

        SKIP: {
            Test::More::skip("$name - error_log - tests skipped due to"
                             . " $dry_run", 1) if $dry_run;
            $lines ||= error_log_data() || [];
            my $got = '';
            for my $line (@$lines) {
                if ((ref $grep_pat && $line =~ /$grep_pat/)
                    || $line =~ /\Q$grep_pat\E/)
                {
                    my $m = $&;
                    $got .= "$m\n" unless $m =~ /\n/;
                }
            }
            my $desc = "$name - grep_error_log_out (req $rep_idx)";
            if (ref $expected eq 'Regexp') {
                Test::More::like($got, $expected, $desc);
            } elsif ($NoLongString) {
                Test::More::is($got, $expected, $desc);
            } else {
                Test::LongString::is_string($got, $expected, $desc);
            }
        }
    }

    for my $section (qw(error_log no_error_log)) {
        my $pats = $block->$section;
        next unless defined $pats;
        for my $lvl (keys %warn_on) {
            $warn_on{$lvl} = 0 if value_contains($pats, "[$lvl");
        }
        $lines ||= error_log_data() || [];
        if ($section eq 'error_log') {
            check_log_has($name, $pats, $lines, $dry_run, $section,
                          " (req $rep_idx)");
        } else {
            check_log_lacks($name, $pats, $lines, $dry_run, $section,
                            " (req $rep_idx)");
        }
    }

    if (!$dry_run) {
        $lines ||= error_log_data() || [];
        for my $line (@$lines) {
            for my $lvl (sort keys %warn_on) {
                next unless $warn_on{$lvl};
                if ($line =~ /\[$lvl\]/) {
                    warn "WARNING: $name - " . fmt_str($line) . "\n";
                }
            }
        }
    }

    for my $line (@{ $lines || [] }) {
        if ($line =~ /\bAssertion .*?failed\b/) {
            Test::More->builder->no_ending(1);
            my $l = $line;
            chomp $l;
            Test::More::fail("$name - $l\n");
        }
    }
}

sub check_access_log ($$$) {
    my ($block, $dry_run, $rep_idx) = @_;
    my $name = $block->name;
    my $lines;
    if (defined $block->access_log) {
        $lines ||= access_log_data();
        check_log_has($name, $block->access_log, $lines, $dry_run,
                      'access_log', " (req $rep_idx)");
    }
    if (defined $block->no_access_log) {
        $lines ||= access_log_data();
        check_log_lacks($name, $block->no_access_log, $lines, $dry_run,
                        'no_access_log', " (req $rep_idx)");
    }
}

sub check_shutdown_error_log ($$) {
    my ($block, $dry_run) = @_;
    my $name = $block->name;
    my $lines;
    $dry_run = $dry_run ? 'dry_run' : 0;
    if (defined $block->shutdown_error_log) {
        $lines ||= error_log_data() || [];
        check_log_has($name, $block->shutdown_error_log, $lines, $dry_run,
                      'shutdown_error_log', '');
    }
    if (defined $block->no_shutdown_error_log) {
        $lines ||= error_log_data() || [];
        check_log_lacks($name, $block->no_shutdown_error_log, $lines,
                        $dry_run, 'no_shutdown_error_log', '');
    }
}

# --------------------------------------------------------------- a block

sub run_test_helper ($$$) {
    my ($block, $dry_run, $rep_idx) = @_;
    my $name = $block->name;

    my $reqs = get_req_from_block($block);
    bail_out("$name - request empty") unless @$reqs;

    my $timeout = parse_time($block->timeout);
    $timeout = timeout() unless defined $timeout;

    my $res;
    my $need_array;
    my $n;
    my $req_idx = 0;

    for my $req (@$reqs) {
        my ($raw, $head_req) = send_request($req,
                                            $block->raw_request_middle_delay,
                                            $timeout, $block);

        if ($block->pipelined_requests) {
            $n = @{ $block->pipelined_requests };
            $need_array = 1;
        } else {
            $need_array = @$reqs > 1;
        }

        while (1) {
            $raw = '' unless defined $raw;
            my ($raw_headers, $left);

            if (!defined $block->ignore_response) {
                if (defined $block->http09) {
                    $res = HTTP::Response->new(200, 'OK', [], $raw);
                    $raw_headers = '';
                } else {
                    ($res, $raw_headers, $left)
                        = parse_response($name, $raw, $head_req);
                }
            }

            if (!$n) {
                if (defined $left && length $left) {
                    warn "WARNING: $name - unexpected extra bytes after last"
                         . " chunk in response: \"" . escape_bytes($left)
                         . "\"\n";
                }
            } else {
                $raw = $left;
                $n--;
            }

            if (!defined $block->ignore_response) {
                $raw_headers = '' unless defined $raw_headers;
                check_error_code($block, $res, $dry_run, $req_idx,
                                 $need_array);
                check_raw_response_headers($block, $raw_headers, $dry_run,
                                           $req_idx, $need_array);
                check_response_headers($block, $res, $raw_headers, $dry_run,
                                       $req_idx, $need_array);
                transform_response_body($block, $res, $req_idx);
                check_response_body($block, $res, $dry_run, $req_idx,
                                    $rep_idx, $need_array);
            }

            if ($n || $req_idx < @$reqs - 1) {
                sleep $block->wait if $block->wait;
                check_error_log($block, $res, $dry_run, $rep_idx,
                                $need_array);
                check_access_log($block, $dry_run, $rep_idx)
                    unless defined $block->ignore_response;
            }

            $req_idx++;
            last unless $n;
        }
    }

    sleep $block->wait if $block->wait;

    check_error_log($block, $res, $dry_run, $rep_idx, $need_array);
    check_access_log($block, $dry_run, $rep_idx)
        unless defined $block->ignore_response;
}

1;

__END__

=head1 NAME

Test::Nginx::Socket - bundled subset of openresty's Test::Nginx::Socket

=head1 SYNOPSIS

    use Test::Nginx::Socket;

    repeat_each(2);
    plan tests => repeat_each() * blocks() * 2;
    run_tests();

    __DATA__

    === TEST 1: hello
    --- config
        location = /t { return 200 "hello\n"; }
    --- request
    GET /t
    --- response_body
    hello

Run through C<util/prove.sh>, which puts this directory on C<@INC> only
when the real module is not installed; C<prove -I t/runner t/runner/selftest.t>
checks the runner itself against the distro nginx.

=head1 SUPPORTED SECTIONS

main_config, http_config, post_main_config, config, server_name,
error_log_file, user_files, init, post_setup_server_root, request (string,
C<eval> array of requests, arrays of packets), more_headers,
pipelined_requests, raw_request (string or array of pieces),
raw_request_middle_delay, shutdown, server_addr_for_client, timeout, abort,
wait, ignore_response, http09, error_code, error_code_like, response_headers
(C<!Name> for an absent header), response_headers_like,
raw_response_headers_like, raw_response_headers_unlike, response_body,
response_body_like, response_body_unlike, response_body_filters, charset,
write_resp_body_file, error_log, no_error_log, grep_error_log,
grep_error_log_out, access_log, no_access_log, shutdown_error_log,
no_shutdown_error_log, log_level, must_die, suppress_stderr, skip_eval,
skip_nginx, todo, and Test::Base's ONLY, LAST and SKIP.

Environment: TEST_NGINX_BINARY, TEST_NGINX_LOAD_MODULES,
TEST_NGINX_PORT / TEST_NGINX_SERVER_PORT, TEST_NGINX_SERVROOT,
TEST_NGINX_NO_CLEAN, TEST_NGINX_LOG_LEVEL, TEST_NGINX_TIMEOUT,
TEST_NGINX_NO_SHUFFLE, TEST_NGINX_USE_VALGRIND, TEST_NGINX_ERROR_LOG,
TEST_NGINX_WORKER_USER, TEST_NGINX_SLEEP; any
C<$TEST_NGINX_*> variable is expanded in the config sections.

=head1 DIFFERENCES FROM THE REAL MODULE

Under TEST_NGINX_USE_VALGRIND, valgrind's report (with
C<t/valgrind.suppress>) goes to F<logs/valgrind.log>, nginx is stopped after
every block and any report is a failing test.  SIGPIPE is ignored while
sending a request (the real module would be killed by it; a warning says
so).  TEST_NGINX_SERVROOT may be relative.  A server port already taken by
another process stops the run at once.  Binary response bodies are shown
escaped in failure messages and test names.  HUP reloads, stap, curl,
HTTP/2 and 3, check-leak and benchmark modes, and the embedded TCP/UDP
servers are not implemented.

=cut
