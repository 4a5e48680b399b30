package WsPerf::Engine;

# One test file, two engines (README, "Tests"): the blocks of a file whose
# behaviour does not depend on the engine run unchanged against Redis
# (ws_perf_redis) and against the memory engine (no ws_perf_redis; the
# shared-memory engine, per worker in memory until it lands).
#
#     use Test::Nginx::Socket 'no_plan';
#     use WsPerf::Engine;            # the file's blocks run without Redis
#     use WsPerf::Engine 'redis';    # the file's blocks name ws_perf_redis
#     use WsPerf::Engine 'redis', 'cluster';
#                                    # ... and swap to the cluster only
#
# The "use" line is the file's opt-in; without WS_PERF_ENGINE it changes
# nothing.  Engines named after the native one are the only swaps the
# file takes: under another, every block is skipped.
#
# WS_PERF_ENGINE=redis gives every block whose http_config has no
# ws_perf_redis the line
#
#     ws_perf_redis redis://127.0.0.1:$TEST_NGINX_REDIS_PORT;
#     ws_perf_redis_prefix <file>.<block>:;
#
# and starts a redis-server for the file (WsPerf::Redis, on
# TEST_NGINX_REDIS_PORT) unless the file started one.  The prefix is the
# block's own: nginx starts afresh for each block, and so does the memory
# engine's state, so with it each block sees an empty Redis too.
# WS_PERF_ENGINE=shm removes the ws_perf_redis line from each block's
# http_config (the file's redis-server still runs, unused).
# WS_PERF_ENGINE=cluster puts ws_perf_redis_cluster in its place (or adds
# it), with the block's own ws_perf_redis_prefix or else the block's
# prefix, and starts a Redis Cluster for the file (WsPerf::Cluster, three
# masters and their replicas, from port 7431): a block marked
# "--- engine: redis" is skipped, and by_engine() gives the cluster what
# it gives redis unless it names the cluster.  The scenarios learn the
# engine, its prefix and its nodes from the nginx.conf of the block
# (t/pubsub/redis.py, "where Redis is").
#
# Sections of a block (Test::Base and both runners take sections they do
# not know, and both honour "--- skip_eval", which the skips use):
#
#   --- engine: redis          the block proves that engine's own behaviour
#                              (or shm, or cluster); skipped under the swap
#                              to another; "--- engine: redis: why" says why
#   --- engine: redis cluster  the block runs on either (it needs Redis,
#                              one server or a cluster)
#   --- engine_todo: cluster: why
#                              the block fails under the swap to that engine
#                              because of a module bug: its checks still
#                              run, the failing ones as TODO; once none
#                              fails, a diag says to remove the marker
#
# Until the module has the shared-memory engine (the directive
# ws_perf_shm_zone), the shm swap skips a block with several workers: the
# memory engine of today delivers only within a worker, and nginx -t
# refuses such a configuration.
#
# engine() is the engine a file's blocks run on and by_engine(redis => X,
# shm => Y) picks the expectation of that engine, for what differs on
# purpose ("--- pubsub_out eval").
#
# The preprocessor is registered when the file is compiled, before any that
# the file registers at run time, and the runners call the last registered
# first: the swap sees each block as the file's own preprocessors left it.

use strict;
use warnings;

use File::Basename ();
use IO::Socket::INET ();
use Time::HiRes ();
use Test2::API ();
use Test::Builder ();
use WsPerf::Redis ();
use WsPerf::Cluster ();

our @EXPORT = qw(engine engine_swap by_engine);

our $NATIVE = 'shm';

# the swaps the file takes, all when undef
our $SWAPS;

sub import {
    my ($class, $native, @swaps) = @_;

    if (defined $native) {
        die "WsPerf::Engine: unknown engine \"$native\"\n"
            unless $native eq 'redis' || $native eq 'shm';
        $NATIVE = $native;
    }
    for my $e (@swaps) {
        die "WsPerf::Engine: unknown engine \"$e\"\n"
            unless $e =~ /\A(?:redis|cluster|shm)\z/;
    }
    $SWAPS = @swaps ? { map { $_ => 1 } @swaps } : undef;

    my @targets = (scalar caller, 'Test::Base::Filter');
    no strict 'refs';
    for my $pkg (@targets) {
        for my $name (@EXPORT) {
            *{"${pkg}::$name"} = \&{"WsPerf::Engine::$name"};
        }
    }

    my $pre = Test::Nginx::Socket->can('add_block_preprocessor')
        or die "WsPerf::Engine: \"use Test::Nginx::Socket\" comes first\n";
    $pre->(\&swap_block);
}

# the engine asked for by WS_PERF_ENGINE, undef without a swap
sub engine_swap {
    my $e = $ENV{WS_PERF_ENGINE};
    return undef unless defined $e && length $e;
    die "WS_PERF_ENGINE must be \"redis\", \"cluster\" or \"shm\", "
        . "not \"$e\"\n"
        unless $e eq 'redis' || $e eq 'cluster' || $e eq 'shm';
    return $e;
}

sub engine {
    return engine_swap() || $NATIVE;
}

sub by_engine {
    my %v = @_;
    my $e = engine();
    # a Redis Cluster behaves as one Redis server, unless told otherwise
    $e = 'redis' if $e eq 'cluster' && !exists $v{cluster};
    die "by_engine: nothing for the engine \"$e\"\n" unless exists $v{$e};
    return $v{$e};
}

# whether the module under test has the shared-memory engine: its
# directive's name is in the module's command table
my $shm_ready;

sub shm_engine_ready {
    return $shm_ready if defined $shm_ready;
    $shm_ready = 0;
    my $so = $ENV{TEST_NGINX_LOAD_MODULES};
    return $shm_ready unless defined $so;
    for my $path (split ' ', $so) {
        open my $fh, '<:raw', $path or next;
        local $/;
        my $bytes = <$fh>;
        close $fh;
        $shm_ready = 1 if index($bytes, "ws_perf_shm_zone\0") >= 0;
    }
    return $shm_ready;
}

sub block_prefix {
    my ($block) = @_;
    my $file = File::Basename::basename($0, '.t');
    $file =~ s/[^A-Za-z0-9_.-]/_/g;
    my $seq = eval { $block->seq_num } || 0;
    return substr("$file", 0, 50) . ".$seq:";
}

my $redis_line = qr/^[ \t]*ws_perf_redis[ \t]+[^;]*;[ \t]*(?:#[^\n]*)?\n?/m;
my $prefix_line = qr/^[ \t]*ws_perf_redis_prefix[ \t]+[^;]*;[ \t]*\n?/m;

sub skip_block {
    my ($block, $why) = @_;
    $block->set_value('skip_eval', '1: 1');
    $block->set_value('name', $block->name . " (skipped: $why)");
}

# An engine_todo block's failing checks are TODO, its passing ones plain
# passes (Test::Builder's todo_start would mark both): a Test2 filter on the
# checks of the block, ended where the next block starts or the file ends.
my ($todo_why, $todo_name, $todo_failed, $todo_filter);

sub todo_filter {
    my ($hub, $e) = @_;
    return $e unless defined $todo_why;
    return Test::Builder::TodoDiag->new(%$e)
        if ref $e eq 'Test2::Event::Diag';
    if ($e->isa('Test2::Event::Ok') && !$e->pass) {
        $e->set_todo($todo_why);
        $e->set_effective_pass(1);
        if (my $r = $e->get_meta('Test::Builder')) {
            $r->{reason} ||= $todo_why;
            $r->{type} ||= 'todo';
            $r->{ok} = 1;
        }
        $todo_failed = 1;
    }
    return $e;
}

sub todo_block {
    my ($name, $why) = @_;

    if (defined $todo_why && !$todo_failed) {
        Test::More::diag("$todo_name: passes on the " . engine()
                         . " engine now: remove its --- engine_todo");
    }
    $todo_why = $why;
    $todo_name = $name;
    $todo_failed = 0;

    if (defined $why && !$todo_filter) {
        $todo_filter = Test2::API::test2_stack()->top
                       ->pre_filter(\&todo_filter, inherit => 1);
        Test::Nginx::Util::add_cleanup_handler(sub { todo_block() });
    }
}

# the engines a section names (a list: "redis cluster") and the why after
sub block_engine {
    my ($block, $section) = @_;
    my $v = $block->$section;
    return (undef, undef) unless defined $v;
    my ($e, $why) = $v =~ /\A\s*((?:(?:redis|shm|cluster)\b[ \t,]*)+)
                             [\s:]*(.*?)\s*\z/xs
        or die $block->name . ": --- $section must name redis, cluster"
               . " or shm\n";
    return ({ map { $_ => 1 } split /[ \t,]+/, $e }, $why);
}

# A block's request goes as soon as nginx listens, and its workers' links
# to Redis (to every master of a cluster) may not be up yet: a block with
# a request and a location of ws_perf_publish first asks that location
# about channels that fall on every shard ("--- init", which both runners
# run once nginx has started) until none is answered 503, for 10 s at
# most; what the block itself asks then meets a ready engine.
sub wait_for_engine {
    my ($block) = @_;
    return if defined $block->init || !defined $block->request;
    my $config = $block->config;
    return unless defined $config
        && $config =~ /location\s+(?:=\s*)?(\/\S*)\s*\{[^}]*ws_perf_publish;/;
    $block->set_value('init', "WsPerf::Engine::engine_ready('$1');");
}

sub engine_ready {
    my ($path) = @_;
    my $port = Test::Nginx::Util::server_port_for_client()
               || Test::Nginx::Util::server_port();
    my $deadline = Time::HiRes::time()
                   + ($ENV{TEST_NGINX_USE_VALGRIND} ? 60 : 10);
    my @names = map { "engine-ready-$_" } 0 .. 23;
    while (@names && Time::HiRes::time() < $deadline) {
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                      PeerPort => $port, Timeout => 2);
        if ($s) {
            print $s "GET $path?channel=$names[0] HTTP/1.0\r\n"
                     . "Host: localhost\r\n\r\n";
            my $line = <$s> // '';
            close $s;
            if ($line =~ m{^HTTP/1\.\d (\d+)} && $1 ne '503') {
                shift @names;
                next;
            }
        }
        Time::HiRes::sleep(0.05);
    }
}

sub swap_block {
    my ($block) = @_;
    my $to = engine_swap();
    return unless defined $to;

    todo_block();

    if ($SWAPS && !$SWAPS->{$to}) {
        skip_block($block, "the file takes no swap to the $to engine");
        return;
    }

    my ($only, $only_why) = block_engine($block, 'engine');
    if (defined $only && !$only->{$to}) {
        skip_block($block, length $only_why ? $only_why
                           : 'proves the ' . join(' or ', sort keys %$only)
                             . " engine's own behaviour");
        return;
    }

    my ($bug, $why) = block_engine($block, 'engine_todo');
    if (defined $bug && $bug->{$to}) {
        todo_block($block->name,
                   "$to engine: " . ($why ne '' ? $why : 'a module bug'));
    }

    my $http = $block->http_config;
    $http = '' unless defined $http;

    if ($to eq 'cluster') {
        $http =~ s/$redis_line//g;
        # a prefix of the block's own is also in its scenario's arguments
        my $prefix = $http =~ $prefix_line ? ''
                     : '    ws_perf_redis_prefix ' . block_prefix($block)
                       . ";\n";
        WsPerf::Cluster::cluster_start(port => 7431)
            unless WsPerf::Cluster::running();
        my $port = $ENV{TEST_NGINX_CLUSTER_PORT};
        $block->set_value('http_config',
                          "    ws_perf_redis_cluster 127.0.0.1:$port;\n"
                          . $prefix . $http);
        wait_for_engine($block);
        return;
    }

    if ($to eq 'redis') {
        return if $http =~ $redis_line;
        WsPerf::Redis::redis_start() unless WsPerf::Redis::running();
        my $port = $ENV{TEST_NGINX_REDIS_PORT};
        my $prefix = block_prefix($block);
        $block->set_value('http_config', <<"_EOC_" . $http);
    ws_perf_redis redis://127.0.0.1:$port;
    ws_perf_redis_prefix $prefix;
_EOC_
        wait_for_engine($block);
        return;
    }

    if ($http =~ s/$redis_line//g) {
        $block->set_value('http_config', $http);
    }

    if (!shm_engine_ready() && Test::Nginx::Util::workers() > 1) {
        skip_block($block, 'several workers wait for the shared-memory'
                           . ' engine (ws_perf_shm_zone)');
    }
}

1;
