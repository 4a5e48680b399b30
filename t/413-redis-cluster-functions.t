# The Lua library in a Redis Cluster (docs/redis.md, "Redis Cluster"):
# with the keys of a shard under one hash tag, every function runs on the
# master that owns the slot and touches nothing else, and messages go out
# by sharded pub/sub on that master only.  The cluster is three masters
# with a replica each, made with redis-cli --cluster create.
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use WsPerf::PubSub;
use WsPerf::Cluster;

cluster_start(port => 7413);

pubsub_init(client => 't/pubsub/cluster.py', config => <<'_EOC_');
    location = /t {
        return 200 "ok\n";
    }
_EOC_

run_tests();

__DATA__

=== TEST 1: every function on 16 shards, each call on its slot's master
--- request
GET /t
--- response_body
ok
--- pubsub
functions shards=16
--- pubsub_out
3 masters, the library loaded on each
16 shards over 3 masters: every call served by the shard's master
another master: MOVED
