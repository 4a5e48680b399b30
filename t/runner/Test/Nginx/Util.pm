package Test::Nginx::Util;

# Server management for the bundled Test::Nginx::Socket subset: builds the
# server root and nginx.conf for each block, starts and stops nginx, and
# holds the settings shared with Test::Nginx::Socket.  The public names and
# variables follow the documented interface of openresty's Test::Nginx so
# that the same test files run under either implementation.

use strict;
use warnings;

use Carp qw(croak);
use Cwd ();
use Exporter ();
use File::Path qw(make_path remove_tree);
use File::Spec ();
use IO::Socket::INET ();
use List::Util qw(shuffle);
use POSIX qw(SIGQUIT SIGKILL SIGTERM WNOHANG);
use Scalar::Util qw(looks_like_number);
use Test::LongString ();
use Test::More ();
use Time::HiRes qw(sleep time);

our @ISA = qw(Exporter);

our @EXPORT = qw(
    $ServerPort $ServerPortForClient $ServerAddr $ServerName
    $NoLongString $RepeatEach $ServRoot $ConfFile $PidFile
    $NginxVersion $RunTestHelper $CheckErrorLog $CheckShutdownErrorLog
    add_block_preprocessor add_cleanup_handler add_test_cleanup_handler
    bail_out check_accum_error_log config_preamble env_to_nginx
    error_log_data access_log_data expand_env_in_text get_canon_version
    get_nginx_version get_pid_from_pidfile html_dir is_running is_str
    log_level master_off master_on master_process_enabled no_long_string
    no_root_location no_shuffle parse_headers parse_time repeat_each
    run_tests server_addr server_name server_port server_port_for_client
    server_root sleep_time timeout trim verbose worker_connections workers
    show_all_chars
);

# ------------------------------------------------------------ settings

our $Verbose            = $ENV{TEST_NGINX_VERBOSE};
our $NginxBinary        = $ENV{TEST_NGINX_BINARY} || 'nginx';
our $LoadModules        = $ENV{TEST_NGINX_LOAD_MODULES};
our $UseValgrind        = $ENV{TEST_NGINX_USE_VALGRIND};
our $NoShuffle          = $ENV{TEST_NGINX_NO_SHUFFLE} || 0;
our $Timeout            = $ENV{TEST_NGINX_TIMEOUT} || 3;
our $LogLevel           = $ENV{TEST_NGINX_LOG_LEVEL} || 'debug';
our $MasterProcessEnabled = $ENV{TEST_NGINX_MASTER_PROCESS} || 'off';
our $DaemonEnabled      = 'on';
our $Workers            = 1;
our $WorkerConnections  = 64;
our $ServerAddr         = '127.0.0.1';
our $ServerName         = 'localhost';
our $ServerPort         = $ENV{TEST_NGINX_SERVER_PORT} || $ENV{TEST_NGINX_PORT}
                          || 1984;
our $ServerPortForClient = $ENV{TEST_NGINX_CLIENT_PORT} || $ServerPort;
our $NoRootLocation     = 0;
our $NoLongString;
our $RepeatEach         = 1;
our $TestNginxSleep     = $ENV{TEST_NGINX_SLEEP} || 0.015;
our $CheckAccumErrLog   = $ENV{TEST_NGINX_CHECK_ACCUM_ERR_LOG};
our $ForceRestartOnTest = defined $ENV{TEST_NGINX_FORCE_RESTART_ON_TEST}
                          ? $ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} : 1;
our $WorkerUser         = $ENV{TEST_NGINX_WORKER_USER};
our $ConfigPreamble     = '';
our @EnvToNginx;
our @BlockPreprocessors;
our @CleanupHandlers;
our @TestCleanupHandlers;

# nginx is run in the foreground under valgrind so that its exit (and the
# leak report written then) can be waited for.
if ($UseValgrind) {
    $DaemonEnabled = 'off';
}

our $ServRoot = $ENV{TEST_NGINX_SERVROOT}
                || File::Spec->rel2abs('t/servroot');
$ServRoot = File::Spec->rel2abs($ServRoot);
$ENV{TEST_NGINX_SERVER_ROOT} = $ServRoot;

our $LogDir     = File::Spec->catfile($ServRoot, 'logs');
our $ErrLogFile = File::Spec->catfile($LogDir, 'error.log');
our $AccLogFile = File::Spec->catfile($LogDir, 'access.log');
our $HtmlDir    = File::Spec->catfile($ServRoot, 'html');
our $ConfDir    = File::Spec->catfile($ServRoot, 'conf');
our $ConfFile   = File::Spec->catfile($ConfDir, 'nginx.conf');
our $PidFile    = File::Spec->catfile($LogDir, 'nginx.pid');
our $ValgrindLog = File::Spec->catfile($LogDir, 'valgrind.log');

# hooks installed by Test::Nginx::Socket
our $RunTestHelper;
our $CheckErrorLog;
our $CheckShutdownErrorLog;

# run-time state
our $NginxVersion;
our $NginxRawVersion;
our $NginxV;
our $ErrLogFilePos = 0;
our $PrevConfig;
our $PrevBlock;
our $ChildPid;
our $RandPorts = {};
our $InSubprocess;
our $FirstTime = 1;

# ------------------------------------------------------ setting accessors

sub _getset {
    my ($ref, @args) = @_;
    if (@args) {
        $$ref = $args[0];
        return;
    }
    return $$ref;
}

sub repeat_each (@) {
    $RepeatEach = shift if @_;
    return $RepeatEach;
}

sub workers (@)             { _getset(\$Workers, @_) }
sub worker_connections (@)  { _getset(\$WorkerConnections, @_) }
sub log_level (@)           { _getset(\$LogLevel, @_) }
sub server_name (@)         { _getset(\$ServerName, @_) }
sub server_addr (@)         { _getset(\$ServerAddr, @_) }
sub server_port (@)         { _getset(\$ServerPort, @_) }
sub server_port_for_client (@) { _getset(\$ServerPortForClient, @_) }
sub timeout (@)             { _getset(\$Timeout, @_) }

sub master_on ()            { $MasterProcessEnabled = 'on' }
sub master_off ()           { $MasterProcessEnabled = 'off' }

sub master_process_enabled (@) {
    if (@_) {
        $MasterProcessEnabled = $_[0] ? 'on' : 'off';
        return;
    }
    return $MasterProcessEnabled;
}

sub no_shuffle ()           { $NoShuffle = 1 }
sub no_root_location ()     { $NoRootLocation = 1 }
sub no_long_string ()       { $NoLongString = 1 }
sub check_accum_error_log () { $CheckAccumErrLog = 1 }
sub config_preamble ($)     { $ConfigPreamble = shift }
sub html_dir ()             { $HtmlDir }
sub server_root ()          { $ServRoot }
sub sleep_time              { $TestNginxSleep }
sub verbose                 { $Verbose }

sub env_to_nginx (@) {
    croak "env_to_nginx: no arguments specified" unless @_;
    for my $v (@_) {
        if ($v !~ /^[A-Za-z_]/ || $v =~ /\n/) {
            croak "env_to_nginx: bad argument value: $v\n";
        }
        push @EnvToNginx, $v;
    }
}

# Preprocessors run in the reverse order of registration.
sub add_block_preprocessor (&) { unshift @BlockPreprocessors, shift }
sub add_cleanup_handler ($)    { unshift @CleanupHandlers, shift }
sub add_test_cleanup_handler ($) { unshift @TestCleanupHandlers, shift }

sub bail_out (@) {
    cleanup();
    Test::More::BAIL_OUT(join '', @_);
}

sub is_str (@) {
    my ($got, $expected, $desc) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    if (ref $expected && ref $expected eq 'Regexp') {
        return Test::More::like($got, $expected, $desc);
    }
    if ($NoLongString) {
        return Test::More::is($got, $expected, $desc);
    }
    return Test::LongString::is_string($got, $expected, $desc);
}

# "10ms" -> 0.01, "2s" -> 2, "1.5" -> 1.5
sub parse_time ($) {
    my $t = shift;
    return $t unless defined $t;
    if ($t =~ /^\s*([\d.]+)\s*ms\s*$/) {
        return $1 / 1000;
    }
    if ($t =~ /^\s*([\d.]+)\s*s\s*$/) {
        return $1;
    }
    $t =~ s/^\s+|\s+$//g;
    return $t;
}

sub trim ($) {
    my $s = shift;
    return undef unless defined $s;
    $s =~ s/^\s+|\s+$//g;
    $s =~ s/\n/ /g;
    $s =~ s/\s{2,}/ /g;
    return $s;
}

sub show_all_chars ($) {
    my $s = shift;
    $s =~ s/\n/\\n/g;
    $s =~ s/\r/\\r/g;
    $s =~ s/\t/\\t/g;
    return $s;
}

# "Name: value" lines; "!Name" means the header must be absent (undef)
sub parse_headers ($) {
    my $text = shift;
    my %h;
    for my $line (split /\n/, $text) {
        $line =~ s/^\s+|\s+$//g;
        if ($line =~ s/^!\s*//) {
            $h{$line} = undef;
            next;
        }
        my ($k, $v) = split /\s*:\s*/, $line, 2;
        $h{$k} = $v;
    }
    return \%h;
}

sub is_running ($) {
    my $pid = shift;
    return 0 unless $pid;
    return 0 unless kill 0, $pid;
    # an exited daemon stays a zombie until its new parent reaps it
    if (open my $in, '<', "/proc/$pid/stat") {
        my $stat = <$in>;
        close $in;
        return 0 if defined $stat && $stat =~ /^\d+ \(.*\) Z/s;
    }
    return 1;
}

sub get_canon_version (@) {
    return sprintf '%d.%03d%03d', $_[0], $_[1], $_[2];
}

sub nginx_V () {
    if (!defined $NginxV) {
        $NginxV = `$NginxBinary -V 2>&1`;
        if ($? != 0) {
            bail_out("Failed to run \"$NginxBinary -V\": "
                     . (defined $NginxV ? $NginxV : ''));
        }
    }
    return $NginxV;
}

sub get_nginx_version () {
    my $out = nginx_V();
    if ($out =~ m{\w+/(\d+)\.(\d+)\.(\d+)}) {
        $NginxRawVersion = "$1.$2.$3";
        return get_canon_version($1, $2, $3);
    }
    bail_out("Failed to parse the output of \"nginx -V\": $out\n");
}

sub free_port () {
    for (1 .. 1000) {
        my $port = 10000 + int(rand(50000));
        next if $port == $ServerPort;
        next if grep { $_ == $port } values %$RandPorts;
        my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                      LocalPort => $port, Proto => 'tcp',
                                      Listen => 1, ReuseAddr => 1);
        if ($s) {
            close $s;
            return $port;
        }
    }
    return undef;
}

# Replaces $TEST_NGINX_FOO by the environment variable of that name;
# $TEST_NGINX_RAND_PORT_N by a free port, the same one within a block.
sub expand_env_in_text ($$$) {
    my ($text, $name, $rand_ports) = @_;
    return $text unless defined $text;
    $rand_ports ||= $RandPorts;

    $text =~ s{\$(TEST_NGINX_[_A-Z0-9]+)}{
        my $var = $1;
        my $val;
        if ($var =~ /^TEST_NGINX_RAND_PORT_\d+$/) {
            if (!defined $rand_ports->{$var}) {
                my $p = free_port();
                defined $p
                    or bail_out("$name - Cannot find an available listening"
                                . " port number for $var.\n");
                $rand_ports->{$var} = $p;
            }
            $val = $rand_ports->{$var};
        } else {
            defined $ENV{$var}
                or bail_out("$name - No environment $var defined.\n");
            $val = $ENV{$var};
        }
        $val;
    }ge;

    return $text;
}

# ---------------------------------------------------------------- logs

sub read_log_lines ($$) {
    my ($file, $track_pos) = @_;
    sleep $TestNginxSleep * 3;
    open my $in, '<', $file or return undef;
    binmode $in;
    if ($track_pos && !$CheckAccumErrLog && $ErrLogFilePos > 0) {
        seek $in, $ErrLogFilePos, 0;
    }
    my @lines = <$in>;
    if ($track_pos && !$CheckAccumErrLog) {
        $ErrLogFilePos = tell $in;
    }
    close $in;
    return \@lines;
}

# The error.log lines written since the previous call within this block.
sub error_log_data () {
    return read_log_lines($ErrLogFile, 1);
}

sub access_log_data () {
    my $lines = read_log_lines($AccLogFile, 0);
    die "open $AccLogFile failed: $!" unless $lines;
    return $lines;
}

sub tail_of_file ($$) {
    my ($file, $n) = @_;
    open my $in, '<', $file or return '';
    my @lines = <$in>;
    close $in;
    splice @lines, 0, @lines - $n if @lines > $n;
    return join '', @lines;
}

# --------------------------------------------------------- processes

sub get_pid_from_pidfile ($) {
    my $name = shift;
    open my $in, '<', $PidFile
        or bail_out("$name - Failed to open the pid file $PidFile for"
                    . " reading: $!");
    my $pid = do { local $/; <$in> };
    close $in;
    $pid = '' unless defined $pid;
    $pid =~ s/\s+//g;
    return $pid;
}

sub reap ($) {
    my $pid = shift;
    if (defined $ChildPid && $pid == $ChildPid) {
        if (waitpid($pid, WNOHANG) == $pid) {
            undef $ChildPid;
            return 1;
        }
    }
    return 0;
}

# Graceful stop (QUIT), then TERM, then KILL; waits for the exit.
sub kill_process ($$$) {
    my ($pid, $wait, $name) = @_;
    return unless $pid;

    my $alive = sub { reap($pid); return is_running($pid) };

    if ($wait) {
        kill $ENV{TEST_NGINX_FAST_SHUTDOWN} ? SIGTERM : SIGQUIT, $pid;
        my $left = $Timeout;
        $left = 30 if $UseValgrind && $left < 30;
        while ($left > 0 && $alive->()) {
            sleep 0.02;
            $left -= 0.02;
        }
        return unless $alive->();
        warn "$name - timeout when waiting for the process $pid to exit\n";
    }

    my $step = $TestNginxSleep;
    for (1 .. 20) {
        return unless $alive->();
        kill SIGTERM, $pid;
        $step *= 1.2;
        $step = 0.5 if $step > 0.5;
        sleep $step;
    }

    return unless $alive->();
    warn "$name - WARNING: killing the child process $pid with force...\n";
    kill SIGKILL, $pid;
    for (1 .. 100) {
        last unless $alive->();
        sleep 0.02;
    }
}

sub stop_nginx ($) {
    my $name = shift;
    if (-f $PidFile) {
        my $pid = get_pid_from_pidfile($name);
        if ($pid && is_running($pid)) {
            kill_process($pid, 1, $name);
        }
    }
    if (defined $ChildPid) {
        kill_process($ChildPid, 1, $name);
        if (defined $ChildPid) {
            waitpid($ChildPid, 0);
            undef $ChildPid;
        }
    }
    unlink $PidFile if -f $PidFile;
}

sub cleanup_test ($) {
    my $block = shift;
    # a lexical loop variable: a handler may use $_ itself
    for my $h (@TestCleanupHandlers) {
        $h->($block);
    }
}

sub cleanup () {
    for my $h (@CleanupHandlers) {
        $h->();
    }
    if (defined $ChildPid) {
        kill_process($ChildPid, 1, 'cleanup');
        undef $ChildPid;
    }
}

# --------------------------------------------------------- server root

sub setup_server_root () {
    if (-d $ServRoot) {
        # remove only what we create, in case TEST_NGINX_SERVROOT points
        # somewhere unexpected
        remove_tree($ConfDir, $HtmlDir, $LogDir,
                    glob("$ServRoot/*_temp"), glob("$ServRoot/*_cache"));
        rmdir $ServRoot
            or bail_out("Can't remove $ServRoot (not empty?): $!");
    }
    for my $d ($ServRoot, $LogDir, $HtmlDir, $ConfDir) {
        make_path($d);
        -d $d or bail_out("Failed to do mkdir $d\n");
    }
    open my $out, '>', "$HtmlDir/index.html"
        or bail_out("Can't open $HtmlDir/index.html for writing: $!\n");
    print $out '<html><head><title>It works!</title></head>'
               . '<body>It works!</body></html>';
    close $out;
}

sub write_user_files ($$) {
    my ($block, $rand_ports) = @_;
    my $name = $block->name;
    my $files = $block->user_files;
    return unless $files;

    if (!ref $files) {
        my @list;
        my ($fname, $date, $body);
        for my $line (split /^/, $files) {
            if ($line =~ /^>>> (\S+)(?:\s+(.+))?/) {
                push @list, [$fname, $body, $date] if defined $fname;
                ($fname, $date, $body) = ($1, $2, undef);
            } else {
                $body .= $line;
            }
        }
        push @list, [$fname, $body, $date] if defined $fname;
        $files = \@list;
    } elsif (ref $files ne 'ARRAY') {
        bail_out("$name - wrong value type: " . ref($files)
                 . ", only scalar or ARRAY are accepted");
    }

    for my $f (@$files) {
        my ($fname, $body, $date) = @$f;
        $body = '' unless defined $body;
        my $path = $fname =~ m{^/} ? $fname : "$HtmlDir/$fname";
        if ($path =~ m{(.*)/}) {
            make_path($1) unless -d $1;
        }
        $body = expand_env_in_text($body, $name, $rand_ports);
        open my $out, '>', $path
            or bail_out("$name - Cannot open $path for writing: $!\n");
        binmode $out;
        print $out $body;
        close $out;
        if ($date) {
            system('touch', '-t', $date, $path) == 0
                or bail_out("$name - Failed to set the time of $path\n");
        }
    }
}

sub write_config_file ($$$) {
    my ($block, $config, $rand_ports) = @_;
    my $name = $block->name;

    my $http_config = expand_env_in_text($block->http_config, $name,
                                         $rand_ports);
    my $main_config = $block->main_config;
    my $post_main_config = expand_env_in_text($block->post_main_config,
                                              $name, $rand_ports);
    my $err_log_file = $block->error_log_file || $ErrLogFile;
    $err_log_file = expand_env_in_text($err_log_file, $name, $rand_ports);
    my $server_name = defined $block->server_name ? $block->server_name
                                                  : $ServerName;

    $config = '' unless defined $config;
    $http_config = '' unless defined $http_config;
    $main_config = '' unless defined $main_config;
    $post_main_config = '' unless defined $post_main_config;

    if ($LoadModules) {
        my @mods = map { "load_module $_;" } grep { length } split /\s+/,
                   $LoadModules;
        $main_config = join ' ', @mods, $main_config if @mods;
    }
    $main_config = expand_env_in_text($main_config, $name, $rand_ports);

    my $V = nginx_V();
    my @temp;
    push @temp, "client_body_temp_path $ServRoot/client_body_temp;"
        unless $http_config =~ /\bclient_body_temp_path\b/;
    push @temp, "proxy_temp_path $ServRoot/proxy_temp;"
        unless $http_config =~ /\bproxy_temp_path\b/;
    for my $m (qw(fastcgi scgi uwsgi)) {
        push @temp, "${m}_temp_path $ServRoot/${m}_temp;"
            unless $V =~ /--without-http_${m}_module/;
    }
    my $temp = join ' ', @temp;

    my $env = '';
    for my $v (qw(LD_PRELOAD LD_LIBRARY_PATH ASAN_OPTIONS UBSAN_OPTIONS),
               @EnvToNginx)
    {
        $env .= "env " . ($v =~ /\s/ ? "'$v'" : $v) . ";\n";
    }

    my $root_location = $NoRootLocation ? '' : <<"_EOC_";
        location / {
            root $HtmlDir;
            index index.html index.htm;
        }
_EOC_

    my $user = '';
    if (defined $WorkerUser) {
        $user = "user $WorkerUser;\n";
    } elsif ($> == 0) {
        # as root, keep the workers able to write the logs under servroot
        $user = "user root;\n";
    }

    open my $out, '>', $ConfFile
        or bail_out("Can't open $ConfFile for writing: $!\n");
    print $out <<"_EOC_";
worker_processes  $Workers;
daemon $DaemonEnabled;
master_process $MasterProcessEnabled;
error_log $err_log_file $LogLevel;
pid       $PidFile;
$env
$main_config

http {
    access_log $AccLogFile; $temp

    default_type text/plain;
    keepalive_timeout  68000ms;

$http_config
    server {
        listen          $ServerPort;
        server_name     '$server_name';
        client_max_body_size 30M;

        # Begin preamble config...
$ConfigPreamble
        # End preamble config...

        # Begin test case config...
$config
        # End test case config.

$root_location    }
}

$post_main_config

events {
    accept_mutex off;

    worker_connections  $WorkerConnections;
}
$user
_EOC_
    close $out;
}

# ----------------------------------------------------------- valgrind

sub valgrind_cmd () {
    my $opts = '-q --leak-check=full --num-callers=30 --keep-debuginfo=yes';
    my $supp = File::Spec->catfile('t', 'valgrind.suppress');
    $opts .= " --suppressions=$supp" if -f $supp;
    if ($UseValgrind !~ /^\d+$/) {
        # a non-numeric value is taken as extra valgrind options
        $opts .= " $UseValgrind";
    }
    return "valgrind $opts --log-file=$ValgrindLog";
}

# After nginx has exited under valgrind: any report in the valgrind log
# is a test failure.
sub check_valgrind_log ($) {
    my $name = shift;
    open my $in, '<', $ValgrindLog or return;
    my @lines = <$in>;
    close $in;
    my @errors = grep { /^==\d+== \S/ && !/^==\d+== Warning:/ } @lines;
    return unless @errors;
    my $text = join '', @lines;
    $text = substr($text, 0, 8000) . "\n...\n" if length $text > 8000;
    Test::More->builder->no_ending(1);
    Test::More::fail("$name - valgrind reported errors");
    Test::More::diag($text);
}

# -------------------------------------------------------------- running

sub check_prev_block_shutdown_error_log () {
    my $block = $PrevBlock;
    return unless defined $block;
    if (defined $block->shutdown_error_log
        || defined $block->no_shutdown_error_log)
    {
        $CheckShutdownErrorLog->($block, $ENV{TEST_NGINX_NO_CLEAN} ? 1 : 0);
    }
}

sub run_tests () {
    srand($$ ^ int(time() * 1000));
    $NginxVersion = get_nginx_version();

    $ENV{TEST_NGINX_SERVER_PORT} = $ServerPort
        unless defined $ENV{TEST_NGINX_SERVER_PORT};

    my @blocks = Test::Base::blocks();
    @blocks = shuffle @blocks unless $NoShuffle;

    for my $block (@blocks) {
        for my $pre (@BlockPreprocessors) {
            $pre->($block);
        }
        $block->set_value('name', $0 . ' ' . $block->name);
        run_test($block);
        cleanup_test($block);
        $PrevBlock = $block;
    }

    cleanup();
}

# "N: <op> x.y.z[: reason]" against the nginx version
sub check_skip_nginx ($$) {
    my ($name, $spec) = @_;
    if ($spec !~ /^\s*(\d+)\s*:\s*([<>]=?)\s*(\d+)\.(\d+)\.(\d+)
                  (?:\s*:\s*(.*?))?\s*$/x)
    {
        bail_out("$name - Invalid --- skip_nginx spec: $spec");
    }
    my ($n, $op, $reason) = ($1, $2, $6);
    my $ver = get_canon_version($3, $4, $5);
    $reason = "nginx version $op $3.$4.$5" unless $reason;
    my $skip = eval "$NginxVersion $op $ver";
    return ($n, $skip, $reason);
}

sub start_nginx ($$) {
    my ($block, $must_die) = @_;
    my $name = $block->name;

    my $cmd = "$NginxBinary -p $ServRoot/ -c $ConfFile -e $ErrLogFile";

    if ($UseValgrind && !defined $must_die) {
        $cmd = valgrind_cmd() . " $cmd";
        my $pid = fork();
        defined $pid or bail_out("$name - fork() failed: $!");
        if ($pid == 0) {
            $InSubprocess = 1;
            setpgrp;
            Test::More->builder->no_ending(1);
            exec("exec $cmd > /dev/null") or POSIX::_exit(127);
        }
        $ChildPid = $pid;
        wait_for_pid_file($name, 60);
        return;
    }

    $cmd .= ' > /dev/null';
    $cmd .= ' 2> /dev/null' if defined $block->suppress_stderr;

    if (defined $must_die) {
        for my $i (0 .. $RepeatEach - 1) {
            system($cmd);
            my $status = $?;

            if ($status == -1) {
                Test::More::fail("$name - failed to execute the nginx"
                                 . " command line");
            } elsif ($status & 128) {
                Test::More::fail("$name - nginx core dumped");
            } elsif (looks_like_number($must_die)) {
                Test::More::is($must_die, $status >> 8,
                               "$name - die with the expected exit code");
            } else {
                Test::More::isnt($status, 0, "$name - die as expected");
            }

            $CheckErrorLog->($block, undef, 0, $i, 0);

            if ($status == 0) {
                warn "WARNING: $name - nginx must die but it does not;"
                     . " killing it (req $i)\n";
                wait_for_pid_file($name, 3);
                stop_nginx($name);
            }
        }
        return 'died';
    }

    # a failed start is retried for a while (the port may still be held
    # by the previous instance), then the whole file is abandoned
    my ($tries, $waited) = (0, 0);
    while (1) {
        system($cmd);
        my $status = $?;
        last if $status == 0;
        $tries++;
        my $log = tail_of_file($ErrLogFile, 10);
        if ($log =~ /Address already in use/) {
            # nginx itself has already retried bind() for a while
            bail_out("$name - Cannot start nginx: port $ServerPort is in"
                     . " use (set TEST_NGINX_PORT to another port).\n$log");
        }
        my $delay = 0.1 * $tries;
        $delay = 1 if $delay > 1;
        if ($waited + $delay > 3) {
            bail_out("$name - Cannot start nginx using command \"$cmd\""
                     . " (status code $status).\n"
                     . tail_of_file($ErrLogFile, 10));
        }
        sleep $delay;
        $waited += $delay;
    }

    wait_for_pid_file($name, 5);
    return;
}

sub wait_for_pid_file ($$) {
    my ($name, $limit) = @_;
    my $deadline = time() + $limit;
    while (time() < $deadline) {
        return 1 if -s $PidFile;
        if (defined $ChildPid && waitpid($ChildPid, WNOHANG) == $ChildPid) {
            my $st = $?;
            undef $ChildPid;
            Test::More->builder->no_ending(1);
            Test::More::fail("$name - nginx exited at start (status $st)\n"
                             . tail_of_file($ErrLogFile, 10)
                             . tail_of_file($ValgrindLog, 40));
            return 0;
        }
        sleep 0.01;
    }
    warn "$name - WARNING: no pid file $PidFile after $limit s\n";
    return 0;
}

sub run_test ($) {
    my $block = shift;
    return if defined $block->SKIP;

    my $name = $block->name;
    my $rand_ports = {};
    $RandPorts = $rand_ports;

    my $config = expand_env_in_text($block->config, $name, $rand_ports);

    local $LogLevel = $LogLevel;
    $LogLevel = $block->log_level if $block->log_level;

    my $must_die = $block->must_die;
    local $UseValgrind = defined $must_die ? undef : $UseValgrind;
    # a must_die start that unexpectedly succeeds must not block the runner
    local $DaemonEnabled = defined $must_die ? 'on' : $DaemonEnabled;

    my $should_restart = 1;
    if (!defined $config) {
        if (!defined $PrevConfig) {
            bail_out("$name - No '--- config' section specified and could"
                     . " not get previous one.");
        }
        # the real runner keeps the running server in this case
        $should_restart = 0;
    } elsif (!$ForceRestartOnTest && defined $PrevConfig
             && $config eq $PrevConfig)
    {
        $should_restart = 0;
    }

    my ($tests_to_skip, $should_skip, $skip_reason);

    if (defined(my $skip_eval = $block->skip_eval)) {
        if ($skip_eval =~ /^\s*(\d+)\s*:\s*(.*)/s) {
            $tests_to_skip = $1;
            $skip_reason = 'skip_eval';
            my $code = $2;
            $should_skip = eval $code;
            bail_out("$name - skip_eval - failed to eval the Perl code"
                     . " \"$code\": $@") if $@;
        }
    }

    if (defined(my $skip_nginx = $block->skip_nginx)) {
        ($tests_to_skip, $should_skip, $skip_reason)
            = check_skip_nginx($name, $skip_nginx);
    }

    $skip_reason = 'various reasons' unless defined $skip_reason;

    my ($should_todo, $todo_reason);
    if (defined(my $todo = $block->todo)) {
        if ($todo =~ /^\s*(\d+)\s*:\s*(.*)/s) {
            ($should_todo, $tests_to_skip, $todo_reason) = (1, $1, $2);
        } else {
            bail_out("$name - Invalid --- todo spec: $todo");
        }
    }

    if (!$should_skip && $should_restart) {
        $PrevConfig = $config;
        stop_nginx($name);
        check_prev_block_shutdown_error_log();

        setup_server_root();
        if (defined(my $code = $block->post_setup_server_root)) {
            eval $code;
            bail_out("$name - post_setup_server_root failed: $@") if $@;
        }
        write_user_files($block, $rand_ports);
        write_config_file($block, $config, $rand_ports);
        $ErrLogFilePos = 0;
        $FirstTime = 0;

        my $died = start_nginx($block, $must_die);
        return if $died;
        sleep $TestNginxSleep;
    }

    if ($block->init) {
        eval $block->init;
        bail_out("$name - init failed: $@") if $@;
    }

    $ErrLogFilePos = 0;

    for my $i (1 .. $RepeatEach) {
        write_user_files($block, $rand_ports) if $i > 1;

        if ($should_skip && defined $tests_to_skip) {
            SKIP: {
                Test::More::skip("$name - $skip_reason", $tests_to_skip);
            }
        } elsif ($should_todo) {
            TODO: {
                Test::More::todo_skip("$name - $todo_reason",
                                      $tests_to_skip);
            }
        } else {
            $RunTestHelper->($block, 0, $i - 1);
        }
    }

    if (my $total = $ENV{TEST_NGINX_ERROR_LOG}) {
        if (-s $ErrLogFile && open my $out, '>>', $total) {
            print $out "\n=== $name\n", tail_of_file($ErrLogFile, 1e9);
            close $out;
        }
    }

    if ($UseValgrind && defined $ChildPid) {
        stop_nginx($name);
        check_valgrind_log($name);
    }
}

END {
    return if $InSubprocess;
    local $?;
    if ($UseValgrind && defined $ChildPid) {
        stop_nginx('END');
        check_valgrind_log(defined $PrevBlock ? $PrevBlock->name : 'END');
    }
    cleanup();
    if (!$ENV{TEST_NGINX_NO_CLEAN}) {
        stop_nginx('END');
    }
    check_prev_block_shutdown_error_log();
}

1;
