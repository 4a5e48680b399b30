# Self-test of the bundled Test::Nginx::Socket subset, against the distro
# nginx without our module:
#
#   prove -I t/runner t/runner/selftest.t
#
# It runs from the top of the repository.  TEST_NGINX_BINARY defaults to
# /usr/sbin/nginx; a free port and a separate server root are picked so
# that it can run next to the main suite.

use strict;
use warnings;

use File::Spec;
use File::Temp qw(tempfile);
use IO::Socket::INET;

my ($port, $fail_port);

BEGIN {
    sub free_port {
        my %not = map { $_ => 1 } @_;
        for (1 .. 200) {
            my $p = 20000 + int(rand(30000));
            next if $not{$p};
            my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                          LocalPort => $p, Listen => 1,
                                          ReuseAddr => 1, Proto => 'tcp');
            if ($s) {
                close $s;
                return $p;
            }
        }
        die "no free port\n";
    }

    $port = $ENV{TEST_NGINX_PORT} || free_port();
    $fail_port = free_port($port);
    $ENV{TEST_NGINX_PORT} = $port;
    delete $ENV{TEST_NGINX_SERVER_PORT};
    $ENV{TEST_NGINX_SERVROOT} ||= File::Spec->rel2abs('t/servroot_selftest');
    $ENV{TEST_NGINX_LOAD_MODULES} = '';
    $ENV{TEST_NGINX_BINARY} ||= '/usr/sbin/nginx' if -x '/usr/sbin/nginx';
    $ENV{TEST_NGINX_SELFTEST_WORD} = 'expanded';
}

use Test::Nginx::Socket;

# the negative cases run in a child runner; see check_failures() below
my @expected_failures = (
    [qr/TEST 1: .* - response_body - response is expected/, 'binary body mismatch'],
    [qr/\\x\{00\}\\x\{01\}\\x\{ff\}/, 'binary diff shown escaped', 'diag'],
    [qr/ERROR: client socket timed out - .*TEST 2:/, 'read timeout without --- abort'],
    [qr/TEST 3: .* should not match any line in error\.log/, 'no_error_log match'],
    [qr/TEST 4: .* should match a line in error\.log/, 'error_log miss'],
    [qr/TEST 5: .* - die as expected/, 'must_die on a good config'],
    [qr/TEST 6: .* - status code ok/, 'wrong status code'],
);

repeat_each(1);
no_shuffle();

add_response_body_check(sub {
    my ($block, $body, $req_idx, $repeated_req_idx, $dry_run) = @_;
    return unless defined $block->body_length;
    SKIP: {
        skip "dry run", 1 if $dry_run;
        is(length($body), $block->body_length, $block->name . " - body_length");
    }
});

plan tests => repeat_each() * 55 + @expected_failures;

run_tests();

check_failures();

sub check_failures {
    my ($out, $t) = tempfile('selftest-failures-XXXXXX', SUFFIX => '.t',
                             TMPDIR => 1, UNLINK => 1);
    print $out "use Test::Nginx::Socket;\nno_shuffle();\nplan 'no_plan';\n"
               . "run_tests();\n__DATA__\n";
    print $out <<'_EOT_';

=== TEST 1: binary body mismatch
--- config
    location = /bin { return 200 "ab"; }
--- request
GET /bin
--- response_body eval
"\x00\x01\xff"

=== TEST 2: read timeout without abort
--- config
    location = /t { return 200 "hello\n"; }
--- raw_request eval
"GET /t HTTP/1.1\r\nHost: localhost\r\n\r\n"
--- timeout: 0.3
--- response_body
hello

=== TEST 3: no_error_log matching
--- config
--- request
GET /missing.html
--- error_code: 404
--- no_error_log
No such file or directory

=== TEST 4: error_log not matching
--- config
    location = /t { return 200 "hello\n"; }
--- request
GET /t
--- response_body
hello
--- error_log
this message is never logged

=== TEST 5: must_die but it starts
--- config
    location = /t { return 200; }
--- must_die

=== TEST 6: wrong status
--- config
    location = /t { return 204; }
--- request
GET /t
_EOT_
    close $out;

    local $ENV{TEST_NGINX_PORT} = $fail_port;
    local $ENV{TEST_NGINX_SERVER_PORT} = $fail_port;
    local $ENV{TEST_NGINX_SERVROOT} = "$ENV{TEST_NGINX_SERVROOT}_failures";
    my @inc = map { "-I$_" } grep { !ref } @INC;
    my $output = `$^X @inc $t 2>&1`;
    print STDERR $output if $ENV{SELFTEST_SHOW};

    my @not_ok = grep { /^not ok / } split /\n/, $output;
    for my $f (@expected_failures) {
        my ($re, $what, $diag) = @$f;
        if ($diag) {
            ok($output =~ $re, "failure run: $what") or diag($output);
        } else {
            ok((grep { $_ =~ $re } @not_ok), "failure run: $what")
                or diag($output);
        }
    }
}

__DATA__

=== TEST 1: return, add_header, response_headers with an absent header
--- config
    location = /t {
        add_header X-Foo bar;
        return 200 "hello\n";
    }
--- request
GET /t
--- response_headers
X-Foo: bar
!X-Absent
--- response_body
hello
--- no_error_log
[error]



=== TEST 2: a missing file logs an error
--- config
--- request
GET /missing.html
--- error_code: 404
--- response_body_like: 404 Not Found
--- error_log
No such file or directory



=== TEST 3: must_die: stderr of the failed start is in error.log
--- config
    foo_bar_baz on;
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] \d+#\d+: unknown directive "foo_bar_baz"/



=== TEST 4: raw_request pieces with a delay between them
--- config
    location = /t { return 200 "hello\n"; }
--- raw_request eval
["GET /t HTTP/1.1\r\nHost: localhost\r\n",
 "Connection: close\r\n\r\n"]
--- raw_request_middle_delay: 0.1
--- response_body
hello



=== TEST 5: keep-alive connection: timeout with abort is not a failure
--- config
    location = /t { return 200 "hello\n"; }
--- raw_request eval
"GET /t HTTP/1.1\r\nHost: localhost\r\n\r\n"
--- timeout: 0.3
--- abort
--- response_body
hello



=== TEST 6: 101: the body is the raw bytes after the header block
--- config
    location = /up { return 101 "frames\n"; }
--- raw_request eval
"GET /up HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
--- timeout: 300ms
--- abort
--- error_code: 101
--- raw_response_headers_like eval
qr{^HTTP/1\.1 101 \r\n.*Connection: upgrade\r\n$}s
--- response_body eval
"frames\n"



=== TEST 7: binary bodies compare exactly
--- config
--- user_files eval
[["bin.dat", pack("C*", 0 .. 255)]]
--- request
GET /bin.dat
--- response_body eval
pack("C*", 0 .. 255)



=== TEST 8: grep_error_log
--- config
    location = /t { return 200 "hello\n"; }
--- request
GET /t
--- response_body
hello
--- grep_error_log eval
qr/http request line: "[^"]*"/
--- grep_error_log_out
http request line: "GET /t HTTP/1.1"



=== TEST 9: add_response_body_check
--- config
    location = /t { return 200 "hello\n"; }
--- request
GET /t
--- body_length: 6



=== TEST 10: an array of requests
--- config
    location = /t { return 200 "hello\n"; }
--- request eval
["GET /t", "GET /nothing-here"]
--- error_code eval
[200, 404]
--- response_body_like eval
[qr/^hello$/, qr/404 Not Found/]
--- no_error_log
[alert]



=== TEST 11: pipelined requests
--- config
    location = /t { return 200 "hello\n"; }
    location = /t2 { return 200 "bye\n"; }
--- pipelined_requests eval
["GET /t", "GET /t2"]
--- error_code eval
[200, 200]
--- response_body eval
["hello\n", "bye\n"]



=== TEST 12: more_headers
--- config
    location = /h { return 200 "$http_x_test\n"; }
--- request
GET /h
--- more_headers
X-Test: abc
--- response_body
abc



=== TEST 13: $TEST_NGINX_ variables in the config
--- config
    location = /e { return 200 "$TEST_NGINX_SELFTEST_WORD $TEST_NGINX_SERVER_PORT\n"; }
--- request
GET /e
--- response_body
expanded $ServerPort



=== TEST 14: init runs after nginx has started
--- config
--- init
open my $f, '>', html_dir() . '/init.txt' or die $!;
print $f "from init\n";
close $f;
--- request
GET /init.txt
--- response_body
from init
--- shutdown_error_log
exit



=== TEST 15: chunked responses are decoded
--- config
    location /s/ {
        ssi on;
        alias $TEST_NGINX_SERVER_ROOT/html/;
    }
--- user_files
>>> ssi.html
<!--# echo var="arg_x" -->!
--- request
GET /s/ssi.html?x=hi
--- raw_response_headers_unlike: Content-Length
--- response_headers
Transfer-Encoding: chunked
--- response_body
hi!



=== TEST 16: skip_eval
--- config
    location = /t { return 200; }
--- skip_eval: 2: 1
--- request
GET /t
--- response_body
never checked



=== TEST 17: error_code_like, response_body_unlike, log_level
--- config
    location = /t { return 201 "created\n"; }
--- log_level: warn
--- request
GET /t
--- error_code_like: ^20[01]$
--- response_body_unlike: hello
--- no_error_log
[debug]



=== TEST 18: response_headers_like, wait
--- config
    location = /t { add_header X-Num 12345; return 200 "hello\n"; }
--- request
GET /t
--- response_headers_like
X-Num: \d+
--- wait: 0.05
--- response_body
hello



=== TEST 19: main_config, http_config, env_to_nginx-style env, request body
--- main_config
    env TEST_NGINX_SELFTEST_WORD;
--- http_config
    map $request_method $selftest_method {
        default  other;
        POST     post;
    }
--- config
    location = /p { return 200 "$selftest_method $content_length\n"; }
--- request
POST /p
hello world
--- response_body
post 11
