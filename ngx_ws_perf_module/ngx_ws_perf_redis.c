
/*
 * Copyright (C) ngx_ws_perf_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <hiredis/hiredis.h>
#include <hiredis/async.h>
#include <hiredis/sds.h>
#include "ngx_ws_perf_redis.h"
#include "ngx_ws_perf_metrics.h"
#include "ngx_ws_perf_compress.h"
#include "ngx_ws_perf_reply.h"
#include "ngx_ws_perf_slots.h"
#include "ngx_ws_perf_presence.h"


/*
 * The Redis engine of one worker: a "publish" link for commands (pipelined)
 * and a "subscribe" link that holds a SUBSCRIBE for every channel and user
 * with local subscribers.  With ws_perf_redis_sentinel a third,
 * "sentinel" link asks a sentinel where the master is and listens to its
 * +switch-master.  In a Redis Cluster (ws_perf_redis_cluster) the worker
 * keeps the two for each master, a "cluster" link that asks for the map
 * of slots, sends each command to the master of its key's slot, and
 * follows MOVED and ASK.  hiredis 0.14 has no timers of its own: every
 * timeout is an nginx timer, and its socket is watched by an nginx
 * connection that never closes the fd (hiredis does).
 */


#define NGX_WS_PERF_REDIS_DOWN        0
#define NGX_WS_PERF_REDIS_CONNECTING  1
#define NGX_WS_PERF_REDIS_READY       2

#define NGX_WS_PERF_REDIS_TICK        500
#define NGX_WS_PERF_REDIS_SWEEP       8     /* presence channels a tick */
#define NGX_WS_PERF_REDIS_BATCH       256
#define NGX_WS_PERF_REDIS_PING        1000        /* a sentinel's, ms */
#define NGX_WS_PERF_REDIS_RETRY_DELAY 100         /* after a TRYAGAIN, ms */
#define NGX_WS_PERF_REDIS_BYE_POLL    10    /* a leaving worker looks, ms */
#define NGX_WS_PERF_REDIS_RETRIES     10


typedef struct ngx_ws_perf_redis_link_s  ngx_ws_perf_redis_link_t;
typedef struct ngx_ws_perf_redis_node_s  ngx_ws_perf_redis_node_t;


/*
 * A command's callback, waiting for its reply; in a cluster with the
 * command itself, to be sent again where a MOVED or an ASK says
 */
typedef struct {
    redisCallbackFn            *fn;
    void                       *data;
    char                       *cmd;
    size_t                      len;
    ngx_uint_t                  moves;
    ngx_uint_t                  tries;      /* sent again after TRYAGAIN */
} ngx_ws_perf_redis_cb_t;


struct ngx_ws_perf_redis_link_s {
    redisAsyncContext          *ac;
    ngx_ws_perf_redis_cb_t     *cbs;        /* a ring, in command order */
    ngx_uint_t                  cb_head;
    ngx_uint_t                  cb_n;
    ngx_uint_t                  cb_size;
    ngx_event_t                 timer;      /* connect, reply, reconnect */
    ngx_uint_t                  state;
    ngx_msec_t                  backoff;
    ngx_uint_t                  pending;    /* replies awaited */
    ngx_msec_t                  written;    /* the oldest awaited sent */
    ngx_uint_t                  inflight;   /* of them, sent */
    ngx_uint_t                  attempts;   /* since it was last ready */
    ngx_uint_t                  was_ready;
    ngx_uint_t                  logged;     /* the outage was logged */
    const char                 *name;
    void                      (*ready)(ngx_ws_perf_redis_link_t *link);
    ngx_ws_perf_redis_node_t   *node;       /* a cluster's master */
    ngx_str_t                  *shown;      /* where, in log lines */
};


/* a master of a Redis Cluster, with its two links */
struct ngx_ws_perf_redis_node_s {
    ngx_ws_perf_redis_link_t    cmd;
    ngx_ws_perf_redis_link_t    sub;
    ngx_ws_perf_slots_node_t    addr;
    ngx_uint_t                  index;
    ngx_str_t                   name;       /* "cluster master IP:PORT" */
    ngx_uint_t                  master;     /* in the map now */
    ngx_msec_t                  heard;      /* its subscribe link's pong */
    ngx_uint_t                  connection; /* its subscribe link's, > 0 */
};


/* a command refused with TRYAGAIN, to be sent again on its master */
typedef struct {
    ngx_queue_t                 queue;
    ngx_ws_perf_redis_cb_t      cb;
    ngx_ws_perf_redis_node_t   *node;
    ngx_msec_t                  due;
} ngx_ws_perf_redis_retry_t;


typedef struct {
    ngx_ws_perf_publish_pt      handler;    /* NULL once answered */
    void                       *data;
    ngx_uint_t                  tag;
    uint64_t                    sent;       /* for the round-trip time */
    ngx_uint_t                  wait;       /* a WAIT follows the FCALL */
    ngx_uint_t                  waits;      /* WAIT replies to come */
    ngx_ws_perf_redis_link_t   *waited;     /* where the last WAIT went */
    ngx_uint_t                  taken;      /* the FCALL's id is in id */
    size_t                      id_len;
    u_char                      id[NGX_WS_PERF_ID_MAX];
} ngx_ws_perf_redis_pub_t;


typedef struct {
    ngx_ws_perf_info_pt         handler;
    void                       *data;
} ngx_ws_perf_redis_info_t;


typedef struct {
    ngx_ws_perf_redis_reply_pt  handler;
    void                       *data;
    ngx_uint_t                  counted;
} ngx_ws_perf_redis_call_t;


/* a GET ?presence= waiting for redis */
typedef struct {
    ngx_ws_perf_presence_pt     handler;
    void                       *data;
} ngx_ws_perf_redis_presence_t;


/* a user's connection waiting to be admitted */
typedef struct {
    ngx_ws_perf_admit_pt        handler;
    void                       *data;
    ngx_uint_t                  max;
    ngx_str_t                   user;
    u_char                      name[NGX_WS_PERF_NAME_MAX];
} ngx_ws_perf_redis_admit_t;


static ngx_int_t ngx_ws_perf_redis_connect(ngx_ws_perf_redis_link_t *link);
static ngx_int_t ngx_ws_perf_redis_attach(redisAsyncContext *ac);
static void ngx_ws_perf_redis_read_handler(ngx_event_t *ev);
static void ngx_ws_perf_redis_shutdown(void);
static void ngx_ws_perf_redis_unalive(void);
static void ngx_ws_perf_redis_goodbye(ngx_event_t *ev);
static void ngx_ws_perf_redis_dispatch(ngx_ws_perf_redis_link_t *link,
    redisAsyncContext *ac, redisReply *r);
static ngx_int_t ngx_ws_perf_redis_cb_push(ngx_ws_perf_redis_link_t *link,
    redisCallbackFn *fn, void *data);
static void ngx_ws_perf_redis_cb_flush(ngx_ws_perf_redis_link_t *link,
    redisAsyncContext *ac);
static void ngx_ws_perf_redis_write_handler(ngx_event_t *ev);
static void ngx_ws_perf_redis_add_read(void *data);
static void ngx_ws_perf_redis_del_read(void *data);
static void ngx_ws_perf_redis_add_write(void *data);
static void ngx_ws_perf_redis_del_write(void *data);
static void ngx_ws_perf_redis_cleanup(void *data);
static void ngx_ws_perf_redis_connected(const redisAsyncContext *ac,
    int status);
static void ngx_ws_perf_redis_disconnected(const redisAsyncContext *ac,
    int status);
static void ngx_ws_perf_redis_lost(ngx_ws_perf_redis_link_t *link,
    const char *reason);
static void ngx_ws_perf_redis_fail(ngx_ws_perf_redis_link_t *link,
    const char *reason);
static void ngx_ws_perf_redis_down(ngx_ws_perf_redis_link_t *link);
static void ngx_ws_perf_redis_close(ngx_ws_perf_redis_link_t *link);
static void ngx_ws_perf_redis_timer_handler(ngx_event_t *ev);
static ngx_int_t ngx_ws_perf_redis_command(ngx_ws_perf_redis_link_t *link,
    redisCallbackFn *fn, void *data, ngx_ws_perf_redis_args_t *a);
static void ngx_ws_perf_redis_flush(ngx_ws_perf_redis_link_t *link);
static void ngx_ws_perf_redis_replied(ngx_ws_perf_redis_link_t *link);
static ngx_uint_t ngx_ws_perf_redis_behind(ngx_ws_perf_redis_link_t *link);
static ngx_int_t ngx_ws_perf_redis_late(ngx_ws_perf_redis_link_t *link);
static void ngx_ws_perf_redis_written(redisAsyncContext *ac);
static ngx_msec_t ngx_ws_perf_redis_clock(void);
static void ngx_ws_perf_redis_await(ngx_ws_perf_redis_link_t *link);
static void ngx_ws_perf_redis_handshake(ngx_ws_perf_redis_link_t *link);
static ngx_int_t ngx_ws_perf_redis_auth(ngx_ws_perf_redis_link_t *link,
    ngx_str_t *user, ngx_str_t *password);
static void ngx_ws_perf_redis_handshake_rest(ngx_ws_perf_redis_link_t *link);
static void ngx_ws_perf_redis_role_reply(redisAsyncContext *ac, void *reply,
    void *data);
static redisReply *ngx_ws_perf_redis_step(redisAsyncContext *ac,
    void *reply);
static void ngx_ws_perf_redis_handshake_reply(redisAsyncContext *ac,
    void *reply, void *data);
static void ngx_ws_perf_redis_became_ready(ngx_ws_perf_redis_link_t *link);
static void ngx_ws_perf_redis_cmd_ready(ngx_ws_perf_redis_link_t *link);
static void ngx_ws_perf_redis_sub_ready(ngx_ws_perf_redis_link_t *link);
static void ngx_ws_perf_redis_mark_changed(ngx_ws_perf_topic_t *topic,
    void *data);
static void ngx_ws_perf_redis_resubscribe(ngx_ws_perf_topic_t *topic,
    void *data);
static void ngx_ws_perf_redis_subscribe_batch(const char *verb);
static void ngx_ws_perf_redis_first(ngx_uint_t target, ngx_str_t *name);
static void ngx_ws_perf_redis_last(ngx_uint_t target, ngx_str_t *name);
static ngx_int_t ngx_ws_perf_redis_push(ngx_ws_perf_redis_link_t *link,
    redisReply *r);
static void ngx_ws_perf_redis_subscribed(ngx_uint_t target, ngx_str_t *name);
static void ngx_ws_perf_redis_in_place(void);
static void ngx_ws_perf_redis_deliver(ngx_uint_t target, ngx_str_t *name,
    redisReply *payload);
static void ngx_ws_perf_redis_unsubscribed(ngx_ws_perf_topic_t *topic,
    void *data);
static void ngx_ws_perf_redis_tick(ngx_event_t *ev);
static void ngx_ws_perf_redis_flush_counts(void);
static void ngx_ws_perf_redis_presence_hook(ngx_str_t *channel,
    ngx_str_t *user, ngx_uint_t join);
static void ngx_ws_perf_redis_presence_restore(ngx_ws_perf_topic_t *topic,
    ngx_str_t *user, void *data);
static void ngx_ws_perf_redis_presence_sweep(void);
static ngx_int_t ngx_ws_perf_redis_presence_swept(ngx_ws_perf_topic_t *topic,
    void *data);
static void ngx_ws_perf_redis_presence_listed(void *data, void *reply);
static ngx_int_t ngx_ws_perf_redis_presence_wire(ngx_str_t *name,
    redisReply *payload);
static void ngx_ws_perf_redis_ignore(redisAsyncContext *ac, void *reply,
    void *data);
static void ngx_ws_perf_redis_published(redisAsyncContext *ac, void *reply,
    void *data);
static ngx_int_t ngx_ws_perf_redis_wait(ngx_ws_perf_redis_link_t *link,
    ngx_ws_perf_redis_pub_t *req);
static void ngx_ws_perf_redis_replicated(redisAsyncContext *ac, void *reply,
    void *data);
static void ngx_ws_perf_redis_answer(ngx_ws_perf_redis_pub_t *req,
    ngx_int_t rc, ngx_str_t *text);
static void ngx_ws_perf_redis_info_reply(redisAsyncContext *ac, void *reply,
    void *data);
static void ngx_ws_perf_redis_report(void);
static ngx_int_t ngx_ws_perf_redis_send_call(ngx_uint_t counted,
    ngx_ws_perf_redis_reply_pt handler, void *data,
    ngx_ws_perf_redis_args_t *a);
static ngx_int_t ngx_ws_perf_redis_text(ngx_ws_perf_msg_t *m,
    const char *where);
static void ngx_ws_perf_redis_called(redisAsyncContext *ac, void *reply,
    void *data);
static void ngx_ws_perf_redis_send_config(void);
static ngx_uint_t ngx_ws_perf_redis_cluster(void);
static void ngx_ws_perf_redis_arg_alive(ngx_ws_perf_redis_args_t *a,
    ngx_uint_t shard);
static void ngx_ws_perf_redis_arg_more(ngx_ws_perf_redis_args_t *a,
    const char *text);
static ngx_int_t ngx_ws_perf_redis_cluster_init(ngx_cycle_t *cycle);
static void ngx_ws_perf_redis_link_init(ngx_ws_perf_redis_link_t *link,
    const char *name, void (*ready)(ngx_ws_perf_redis_link_t *link),
    ngx_log_t *log);
static void ngx_ws_perf_redis_close(ngx_ws_perf_redis_link_t *link);
static ngx_ws_perf_redis_node_t *ngx_ws_perf_redis_node(
    ngx_ws_perf_slots_node_t *addr);
static ngx_ws_perf_redis_node_t *ngx_ws_perf_redis_node_reuse(
    ngx_ws_perf_slots_node_t *addr);
static void ngx_ws_perf_redis_node_start(ngx_ws_perf_redis_node_t *node,
    ngx_ws_perf_slots_node_t *addr);
static void ngx_ws_perf_redis_map_ask(void);
static void ngx_ws_perf_redis_map_reply(redisAsyncContext *ac, void *reply,
    void *data);
static void ngx_ws_perf_redis_map_apply(ngx_ws_perf_slots_t *map);
static void ngx_ws_perf_redis_map_moved(ngx_ws_perf_topic_t *topic,
    void *data);
static void ngx_ws_perf_redis_map_ready(ngx_ws_perf_redis_link_t *link);
static ngx_ws_perf_redis_node_t *ngx_ws_perf_redis_owner_of(u_char *key,
    size_t len);
static ngx_ws_perf_redis_link_t *ngx_ws_perf_redis_route(
    ngx_ws_perf_redis_args_t *a);
static ngx_int_t ngx_ws_perf_redis_send(redisCallbackFn *fn, void *data,
    ngx_ws_perf_redis_args_t *a);
static ngx_int_t ngx_ws_perf_redis_redirect(ngx_ws_perf_redis_link_t *link,
    ngx_ws_perf_redis_cb_t *cb, redisReply *r);
static ngx_int_t ngx_ws_perf_redis_retry(ngx_ws_perf_redis_link_t *link,
    ngx_ws_perf_redis_cb_t *cb, redisReply *r);
static void ngx_ws_perf_redis_retry_handler(ngx_event_t *ev);
static void ngx_ws_perf_redis_retry_send(ngx_ws_perf_redis_retry_t *rt);
static void ngx_ws_perf_redis_retry_flush(void);
static void ngx_ws_perf_redis_ssubscribe(ngx_ws_perf_topic_t *topic,
    const char *verb);
static ngx_int_t ngx_ws_perf_redis_sub_send(ngx_ws_perf_redis_args_t *a);
static void ngx_ws_perf_redis_cluster_tick(ngx_uint_t alive);
static void ngx_ws_perf_redis_sub_ping(ngx_ws_perf_redis_node_t *node);
static void ngx_ws_perf_redis_recount(ngx_ws_perf_topic_t *topic,
    void *data);
static void ngx_ws_perf_redis_admitted(void *data, void *reply);
static ngx_int_t ngx_ws_perf_redis_admit_here(ngx_str_t *user,
    ngx_uint_t max, const char *why);
static void ngx_ws_perf_redis_sentinel_handshake(
    ngx_ws_perf_redis_link_t *link);
static void ngx_ws_perf_redis_sentinel_master(redisAsyncContext *ac,
    void *reply, void *data);
static void ngx_ws_perf_redis_sentinel_subscribed(redisAsyncContext *ac,
    void *reply, void *data);
static void ngx_ws_perf_redis_sentinel_said(ngx_ws_perf_redis_link_t *link,
    int rc, ngx_ws_perf_master_t *m, const char *command);
static ngx_int_t ngx_ws_perf_redis_sentinel_push(
    ngx_ws_perf_redis_link_t *link, redisReply *r);
static void ngx_ws_perf_redis_sentinel_ready(ngx_ws_perf_redis_link_t *link);
static void ngx_ws_perf_redis_sentinel_lost(ngx_ws_perf_redis_link_t *link,
    const char *reason);
static void ngx_ws_perf_redis_sentinel_tick(void);
static void ngx_ws_perf_redis_reask(ngx_event_t *ev);
static void ngx_ws_perf_redis_doubt(void);
static void ngx_ws_perf_redis_master_is(ngx_ws_perf_master_t *m);
static void ngx_ws_perf_redis_move(ngx_ws_perf_redis_link_t *link);


static ngx_ws_perf_main_conf_t   *ngx_ws_perf_redis_conf;
static ngx_ws_perf_redis_topic_pt  ngx_ws_perf_redis_on_subscribed;
static ngx_ws_perf_redis_link_t   ngx_ws_perf_redis_cmd;
static ngx_ws_perf_redis_link_t   ngx_ws_perf_redis_sub;

/* a Redis Cluster: its masters, which of them owns each slot, the map */
static ngx_ws_perf_redis_node_t  *ngx_ws_perf_redis_nodes[
                                      NGX_WS_PERF_SLOTS_NODES];
static ngx_uint_t                 ngx_ws_perf_redis_nnodes;
static uint8_t                   *ngx_ws_perf_redis_owner;
static uint8_t                   *ngx_ws_perf_redis_owned;  /* placed */
static ngx_ws_perf_slots_t       *ngx_ws_perf_redis_slots;
static ngx_ws_perf_redis_link_t   ngx_ws_perf_redis_map;
static ngx_uint_t                 ngx_ws_perf_redis_map_next;
static ngx_uint_t                 ngx_ws_perf_redis_map_known;
static ngx_uint_t                 ngx_ws_perf_redis_map_asked;
static size_t                     ngx_ws_perf_redis_map_covered;
static size_t                     ngx_ws_perf_redis_map_skipped;

/* the node the cluster link asked: a master's empty address names it */
static char                       ngx_ws_perf_redis_map_host[
                                      NGX_WS_PERF_SLOTS_HOST_MAX + 1];
static ngx_ws_perf_redis_link_t  *ngx_ws_perf_redis_replying;
static ngx_ws_perf_redis_link_t   ngx_ws_perf_redis_sen;
static ngx_event_t                ngx_ws_perf_redis_ticker;

/* subscribe links' connections so far: each has its own number */
static ngx_uint_t                 ngx_ws_perf_redis_connections;

/* commands refused with TRYAGAIN, in the order they go again */
static ngx_queue_t                ngx_ws_perf_redis_retries;
static ngx_event_t                ngx_ws_perf_redis_retrier;

/* what a callback gets as its link when its command was never resent */
static ngx_ws_perf_redis_link_t   ngx_ws_perf_redis_nolink;
static redisAsyncContext          ngx_ws_perf_redis_noac;

/* the address as the data links' log lines show it */
static ngx_str_t                  ngx_ws_perf_redis_shown;

/* with sentinels: the master (port 0 until one names it) */
static ngx_ws_perf_master_t       ngx_ws_perf_redis_master;
static ngx_uint_t                 ngx_ws_perf_redis_asked;  /* its index */
static ngx_uint_t                 ngx_ws_perf_redis_tried;  /* in a row */
static ngx_uint_t                 ngx_ws_perf_redis_sentinel_failures;
static ngx_msec_t                 ngx_ws_perf_redis_sentinel_heard;
static ngx_msec_t                 ngx_ws_perf_redis_sentinel_pinged;

/* a data link that fails has a sentinel asked again, after this long */
static ngx_event_t                ngx_ws_perf_redis_reasker;
static ngx_msec_t                 ngx_ws_perf_redis_reask_wait;

/* what the timers' data points to: debug logging reads it as a connection */
static ngx_connection_t           ngx_ws_perf_redis_dumb;
static ngx_uint_t                 ngx_ws_perf_redis_ticks;
static ngx_uint_t                 ngx_ws_perf_redis_exiting;

/*
 * A graceful shutdown: the worker's keys are deleted while its event loop
 * still runs, and it waits (a timer that is not cancelable) until Redis
 * has answered what its publish links carry, or the command timeout: a
 * socket closed with replies unread is reset, and commands the kernel
 * still held back (a small write waits while the one before is in flight)
 * are dropped with it.
 */
static ngx_uint_t                 ngx_ws_perf_redis_leaving;
static ngx_event_t                ngx_ws_perf_redis_bye;
static ngx_msec_t                 ngx_ws_perf_redis_bye_until;

/* this worker: "<host>:<pid>", and its key and heartbeat channel */
static ngx_str_t                  ngx_ws_perf_redis_worker;
static ngx_str_t                  ngx_ws_perf_redis_alive;

/*
 * What the worker's key holds: a number that grows each time the publish
 * link is ready and the worker sends its users' connections anew, so
 * that counts sent before (and maybe lost) stop counting at once
 */
static ngx_uint_t                 ngx_ws_perf_redis_session;
static ngx_uint_t                 ngx_ws_perf_redis_alive_every;
static ngx_uint_t                 ngx_ws_perf_redis_admit_warned;

/*
 * A cluster answered a bookkeeping write CLUSTERDOWN (its nodes restarted
 * and not yet agreed): the counts and the worker's key go again, under a
 * new session, on the next tick
 */
static ngx_uint_t                 ngx_ws_perf_redis_resend;

/* SUBSCRIBE confirmations awaited; a notice is due once they are in */
static ngx_uint_t                 ngx_ws_perf_redis_sub_pending;
static ngx_uint_t                 ngx_ws_perf_redis_placing;  /* a walk's */
static ngx_uint_t                 ngx_ws_perf_redis_resync;
static ngx_msec_t                 ngx_ws_perf_redis_heard;
/* heartbeats sent since one was heard: ticks a stalled loop missed send none */
static ngx_uint_t                 ngx_ws_perf_redis_beats;

/* publishes and calls waiting on redis: what ws_perf_redis_max_pending caps */
static ngx_uint_t                 ngx_ws_perf_redis_requests;

/* a SUBSCRIBE or UNSUBSCRIBE being assembled */
static const char                *ngx_ws_perf_redis_argv[
                                      NGX_WS_PERF_REDIS_BATCH + 1];
static size_t                     ngx_ws_perf_redis_argvlen[
                                      NGX_WS_PERF_REDIS_BATCH + 1];
static u_char                    *ngx_ws_perf_redis_argbuf;
static ngx_uint_t                 ngx_ws_perf_redis_argc;


static const char  ngx_ws_perf_redis_notice[] =
    "{\"type\":\"notice\",\"code\":\"redis_reconnected\","
    "\"reason\":\"delivery was interrupted; messages may have been "
    "missed\"}";


ngx_uint_t
ngx_ws_perf_redis_enabled(void)
{
    return ngx_ws_perf_redis_conf != NULL;
}


ngx_int_t
ngx_ws_perf_redis_init(ngx_cycle_t *cycle, ngx_ws_perf_main_conf_t *wmcf,
    ngx_ws_perf_redis_topic_pt subscribed)
{
    u_char                    *p;
    size_t                     len;

    len = cycle->hostname.len + 1 + NGX_INT64_LEN;

    p = ngx_pnalloc(cycle->pool, len + wmcf->redis_prefix.len + 2);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ngx_ws_perf_redis_worker.data = p;
    ngx_ws_perf_redis_worker.len = ngx_sprintf(p, "%V:%P", &cycle->hostname,
                                               ngx_pid)
                                   - p;

    p += ngx_ws_perf_redis_worker.len;
    ngx_ws_perf_redis_alive.data = p;
    ngx_ws_perf_redis_alive.len = ngx_sprintf(p, "%Vw:%V",
                                              &wmcf->redis_prefix,
                                              &ngx_ws_perf_redis_worker)
                                  - p;

    ngx_ws_perf_redis_argbuf = ngx_pnalloc(cycle->pool,
                                           NGX_WS_PERF_REDIS_BATCH
                                           * NGX_WS_PERF_REDIS_KEY_MAX);
    if (ngx_ws_perf_redis_argbuf == NULL) {
        return NGX_ERROR;
    }

    ngx_ws_perf_redis_shown = wmcf->redis;

    if (wmcf->sentinels) {
        /* "sentinel:NAME at IP:PORT" once a sentinel names the master */
        p = ngx_pnalloc(cycle->pool, wmcf->redis.len + sizeof(" at []:65535")
                                     + NGX_WS_PERF_HOST_MAX);
        if (p == NULL) {
            return NGX_ERROR;
        }

        ngx_memcpy(p, wmcf->redis.data, wmcf->redis.len);
        ngx_ws_perf_redis_shown.data = p;
    }

    ngx_ws_perf_redis_conf = wmcf;
    ngx_ws_perf_redis_on_subscribed = subscribed;
    ngx_ws_perf_redis_exiting = 0;
    ngx_ws_perf_redis_leaving = 0;

    /* above what an earlier worker of the same pid may have left */
    ngx_ws_perf_redis_session = (ngx_uint_t) ngx_time();
    ngx_ws_perf_redis_alive_every = ngx_max(wmcf->redis_worker_ttl
                                            / (3 * NGX_WS_PERF_REDIS_TICK),
                                            1);
    ngx_ws_perf_redis_dumb.fd = (ngx_socket_t) -1;
    ngx_ws_perf_redis_master.port = 0;

    ngx_queue_init(&ngx_ws_perf_redis_retries);
    ngx_ws_perf_redis_retrier.handler = ngx_ws_perf_redis_retry_handler;
    ngx_ws_perf_redis_retrier.data = &ngx_ws_perf_redis_dumb;
    ngx_ws_perf_redis_retrier.log = cycle->log;
    /* a request waits on what goes again: so does a worker that exits */
    ngx_ws_perf_redis_retrier.cancelable = 0;
    ngx_ws_perf_redis_noac.data = &ngx_ws_perf_redis_nolink;

    ngx_ws_perf_hub_first = ngx_ws_perf_redis_first;
    ngx_ws_perf_hub_last = ngx_ws_perf_redis_last;
    ngx_ws_perf_hub_track_changes = 1;
    ngx_ws_perf_presence_hook = ngx_ws_perf_redis_presence_hook;

    if (ngx_ws_perf_redis_cluster()) {
        if (ngx_ws_perf_redis_cluster_init(cycle) != NGX_OK) {
            return NGX_ERROR;
        }

    } else {
        ngx_ws_perf_redis_link_init(&ngx_ws_perf_redis_cmd, "publish",
                                    ngx_ws_perf_redis_cmd_ready, cycle->log);
        ngx_ws_perf_redis_link_init(&ngx_ws_perf_redis_sub, "subscribe",
                                    ngx_ws_perf_redis_sub_ready, cycle->log);

        ngx_ws_perf_redis_reasker.handler = ngx_ws_perf_redis_reask;
        ngx_ws_perf_redis_reasker.data = &ngx_ws_perf_redis_dumb;
        ngx_ws_perf_redis_reasker.log = cycle->log;
        ngx_ws_perf_redis_reasker.cancelable = 1;
        ngx_ws_perf_redis_reask_wait = wmcf->redis_reconnect_min;

        /* the data links wait for the master's address, with sentinels */
        if (wmcf->sentinels) {
            ngx_ws_perf_redis_link_init(&ngx_ws_perf_redis_sen, "sentinel",
                                        NULL, cycle->log);
            (void) ngx_ws_perf_redis_connect(&ngx_ws_perf_redis_sen);
        }

        (void) ngx_ws_perf_redis_connect(&ngx_ws_perf_redis_cmd);
        (void) ngx_ws_perf_redis_connect(&ngx_ws_perf_redis_sub);
    }

    ngx_ws_perf_redis_ticker.handler = ngx_ws_perf_redis_tick;
    ngx_ws_perf_redis_ticker.data = &ngx_ws_perf_redis_dumb;
    ngx_ws_perf_redis_ticker.log = cycle->log;
    ngx_ws_perf_redis_ticker.cancelable = 1;
    ngx_add_timer(&ngx_ws_perf_redis_ticker, NGX_WS_PERF_REDIS_TICK);

    ngx_ws_perf_metrics_redis_configured(1);
    ngx_ws_perf_redis_report();

    return NGX_OK;
}


void
ngx_ws_perf_redis_exit(ngx_cycle_t *cycle)
{
    ngx_uint_t                 i;
    ngx_ws_perf_redis_node_t  *node;

    if (ngx_ws_perf_redis_conf == NULL) {
        return;
    }

    ngx_ws_perf_redis_exiting = 1;

    if (ngx_ws_perf_redis_reasker.timer_set) {
        ngx_del_timer(&ngx_ws_perf_redis_reasker);
    }

    if (ngx_ws_perf_redis_bye.timer_set) {
        ngx_del_timer(&ngx_ws_perf_redis_bye);
    }

    ngx_ws_perf_redis_retry_flush();

    /* not a graceful shutdown (SIGTERM): the keys go now, as they can */
    if (!ngx_ws_perf_redis_leaving) {
        ngx_ws_perf_redis_leaving = 1;
        ngx_ws_perf_redis_unalive();
    }

    ngx_ws_perf_redis_close(&ngx_ws_perf_redis_cmd);
    ngx_ws_perf_redis_close(&ngx_ws_perf_redis_sub);
    ngx_ws_perf_redis_close(&ngx_ws_perf_redis_sen);
    ngx_ws_perf_redis_close(&ngx_ws_perf_redis_map);

    for (i = 0; i < ngx_ws_perf_redis_nnodes; i++) {
        node = ngx_ws_perf_redis_nodes[i];
        ngx_ws_perf_redis_close(&node->cmd);
        ngx_ws_perf_redis_close(&node->sub);
        ngx_free(node);
    }

    ngx_ws_perf_redis_nnodes = 0;
    ngx_ws_perf_redis_conf = NULL;
}


/*
 * The worker began a graceful shutdown (nginx closes its idle connections,
 * and a publish link's connection says it is one): the worker's keys go,
 * its users' connections stop counting now, not when the keys expire.
 */

static void
ngx_ws_perf_redis_shutdown(void)
{
    ngx_ws_perf_main_conf_t  *wmcf;

    wmcf = ngx_ws_perf_redis_conf;

    if (wmcf == NULL || ngx_ws_perf_redis_leaving) {
        return;
    }

    ngx_ws_perf_redis_leaving = 1;
    ngx_ws_perf_redis_unalive();

    ngx_ws_perf_redis_bye.handler = ngx_ws_perf_redis_goodbye;
    ngx_ws_perf_redis_bye.data = &ngx_ws_perf_redis_dumb;
    ngx_ws_perf_redis_bye.log = ngx_cycle->log;
    ngx_ws_perf_redis_bye.cancelable = 0;
    ngx_ws_perf_redis_bye_until = ngx_current_msec
                                  + wmcf->redis_command_timeout;

    ngx_add_timer(&ngx_ws_perf_redis_bye, NGX_WS_PERF_REDIS_BYE_POLL);
}


/* DEL of the worker's key, on each shard of a cluster */

static void
ngx_ws_perf_redis_unalive(void)
{
    ngx_uint_t                 i, n;
    ngx_ws_perf_redis_args_t   a;

    n = ngx_max(ngx_ws_perf_redis_shards(), 1);

    for (i = 0; i < n; i++) {
        ngx_ws_perf_redis_args(&a, "DEL");
        ngx_ws_perf_redis_arg_alive(&a, i);

        if (ngx_ws_perf_redis_send(ngx_ws_perf_redis_ignore, NULL, &a)
            == NGX_OK)
        {
            ngx_ws_perf_redis_flush(ngx_ws_perf_redis_route(&a));
        }
    }
}


/* the worker may exit once its publish links have their replies */

static void
ngx_ws_perf_redis_goodbye(ngx_event_t *ev)
{
    ngx_uint_t                 i, waiting;
    ngx_ws_perf_redis_node_t  *node;

    if (ngx_ws_perf_redis_conf == NULL) {
        return;
    }

    waiting = (ngx_ws_perf_redis_cmd.state == NGX_WS_PERF_REDIS_READY
               && ngx_ws_perf_redis_cmd.pending);

    for (i = 0; i < ngx_ws_perf_redis_nnodes; i++) {
        node = ngx_ws_perf_redis_nodes[i];

        if (node->cmd.state == NGX_WS_PERF_REDIS_READY && node->cmd.pending) {
            waiting = 1;
        }
    }

    if (waiting
        && (ngx_msec_int_t) (ngx_ws_perf_redis_bye_until - ngx_current_msec)
           > 0)
    {
        ngx_add_timer(ev, NGX_WS_PERF_REDIS_BYE_POLL);
        return;
    }

    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, ev->log, 0,
                   waiting ? "ws_perf: redis replies not all come, exiting"
                           : "ws_perf: redis replies all come, exiting");
}


static void
ngx_ws_perf_redis_link_init(ngx_ws_perf_redis_link_t *link,
    const char *name, void (*ready)(ngx_ws_perf_redis_link_t *link),
    ngx_log_t *log)
{
    link->name = name;
    link->ready = ready;
    link->shown = &ngx_ws_perf_redis_shown;
    link->timer.handler = ngx_ws_perf_redis_timer_handler;
    link->timer.data = &ngx_ws_perf_redis_dumb;
    link->timer.log = log;
    link->timer.cancelable = 1;
    link->backoff = ngx_ws_perf_redis_conf->redis_reconnect_min;
}


/* the link's context goes, its waiting commands get NULL, it stays down */

static void
ngx_ws_perf_redis_close(ngx_ws_perf_redis_link_t *link)
{
    redisAsyncContext  *ac;

    if (link->timer.timer_set) {
        ngx_del_timer(&link->timer);
    }

    ac = link->ac;

    if (ac) {
        link->ac = NULL;
        link->state = NGX_WS_PERF_REDIS_DOWN;
        ngx_ws_perf_redis_cb_flush(link, ac);
        redisAsyncFree(ac);
    }

    link->state = NGX_WS_PERF_REDIS_DOWN;

    if (link->cbs) {
        ngx_free(link->cbs);
        link->cbs = NULL;
        link->cb_size = 0;
    }
}


/* the adapter: hiredis's socket on nginx's event loop, level-triggered */

/*
 * NGX_DECLINED: a data link with sentinels and no master known yet; it
 * connects when a sentinel names one
 */

static ngx_int_t
ngx_ws_perf_redis_connect(ngx_ws_perf_redis_link_t *link)
{
    int                        port;
    char                      *host;
    ngx_uint_t                 i, n;
    redisAsyncContext         *ac;
    ngx_ws_perf_main_conf_t   *wmcf;
    ngx_ws_perf_slots_node_t  *seed;
    ngx_ws_perf_redis_addr_t  *sentinel;

    wmcf = ngx_ws_perf_redis_conf;

    if (link->node) {
        host = link->node->addr.host;
        port = (int) link->node->addr.port;

    } else if (link == &ngx_ws_perf_redis_map) {
        /* the masters of the map, then the seeds, in turn */
        n = ngx_ws_perf_redis_nnodes + wmcf->redis_cluster->nelts;

        do {
            i = ngx_ws_perf_redis_map_next++ % n;
        } while (i < ngx_ws_perf_redis_nnodes
                 && !ngx_ws_perf_redis_nodes[i]->master);

        seed = (i < ngx_ws_perf_redis_nnodes)
               ? &ngx_ws_perf_redis_nodes[i]->addr
               : (ngx_ws_perf_slots_node_t *) wmcf->redis_cluster->elts
                 + (i - ngx_ws_perf_redis_nnodes);

        host = seed->host;
        port = (int) seed->port;

        ngx_cpystrn((u_char *) ngx_ws_perf_redis_map_host, (u_char *) host,
                    sizeof(ngx_ws_perf_redis_map_host));

    } else if (link == &ngx_ws_perf_redis_sen) {
        sentinel = wmcf->sentinels->elts;
        host = (char *) sentinel[ngx_ws_perf_redis_asked].host;
        port = (int) sentinel[ngx_ws_perf_redis_asked].port;

    } else if (wmcf->sentinels) {
        if (ngx_ws_perf_redis_master.port == 0) {
            link->state = NGX_WS_PERF_REDIS_DOWN;
            return NGX_DECLINED;
        }

        host = ngx_ws_perf_redis_master.host;
        port = (int) ngx_ws_perf_redis_master.port;

    } else {
        host = (char *) wmcf->redis_host;
        port = (int) wmcf->redis_port;
    }

    link->attempts++;
    link->state = NGX_WS_PERF_REDIS_CONNECTING;

    if (port) {
        ac = redisAsyncConnect(host, port);

    } else {
        ac = redisAsyncConnectUnix(host);
    }

    if (ac == NULL) {
        ngx_ws_perf_redis_lost(link, "out of memory");
        return NGX_ERROR;
    }

    if (ac->err) {
        link->ac = ac;
        ngx_ws_perf_redis_fail(link, ac->errstr);
        return NGX_ERROR;
    }

    ac->data = link;
    link->ac = ac;

    if (ngx_ws_perf_redis_attach(ac) != NGX_OK) {
        ngx_ws_perf_redis_fail(link, "no free connection");
        return NGX_ERROR;
    }

    redisAsyncSetConnectCallback(ac, ngx_ws_perf_redis_connected);
    redisAsyncSetDisconnectCallback(ac, ngx_ws_perf_redis_disconnected);

    /* the connect completes with the first write event */
    ngx_ws_perf_redis_add_write(ac->ev.data);

    link->timer.cancelable = 1;
    ngx_add_timer(&link->timer, wmcf->redis_connect_timeout);

    ngx_ws_perf_redis_handshake(link);

    return NGX_OK;
}


static ngx_int_t
ngx_ws_perf_redis_attach(redisAsyncContext *ac)
{
    ngx_connection_t  *c;

    c = ngx_get_connection(ac->c.fd, ngx_cycle->log);
    if (c == NULL) {
        return NGX_ERROR;
    }

    c->data = ac;

    /* so that a graceful shutdown calls the read handler (c->close) */
    c->idle = 1;

    c->read->handler = ngx_ws_perf_redis_read_handler;
    c->write->handler = ngx_ws_perf_redis_write_handler;
    c->read->log = ngx_cycle->log;
    c->write->log = ngx_cycle->log;

    ac->ev.data = c;
    ac->ev.addRead = ngx_ws_perf_redis_add_read;
    ac->ev.delRead = ngx_ws_perf_redis_del_read;
    ac->ev.addWrite = ngx_ws_perf_redis_add_write;
    ac->ev.delWrite = ngx_ws_perf_redis_del_write;
    ac->ev.cleanup = ngx_ws_perf_redis_cleanup;

    return NGX_OK;
}


/*
 * The replies are read here, not by redisAsyncHandleRead(): hiredis's own
 * dispatch asserts on a reply to no command and on pub/sub pushes of an
 * unexpected shape, so it never sees one; each goes to the callback of
 * its command, in order, or on the subscribe link to the push handler.
 */

static void
ngx_ws_perf_redis_read_handler(ngx_event_t *ev)
{
    void                      *reply;
    redisContext              *rc;
    ngx_connection_t          *c;
    redisAsyncContext         *ac;
    ngx_ws_perf_redis_link_t  *link;

    c = ev->data;

    if (c->close) {
        /* ngx_close_idle_connections(): a graceful shutdown begins */
        c->close = 0;
        ngx_ws_perf_redis_shutdown();
        return;
    }

    ac = c->data;
    link = ac->data;
    rc = &ac->c;

    if (!(rc->flags & REDIS_CONNECTED)) {
        /* completes (or fails) the connect, as a write event would */
        redisAsyncHandleWrite(ac);
        return;
    }

    if (redisBufferRead(rc) != REDIS_OK) {
        ngx_ws_perf_redis_fail(link, rc->errstr);
        return;
    }

    for ( ;; ) {
        reply = NULL;

        if (redisGetReplyFromReader(rc, &reply) != REDIS_OK) {
            ngx_ws_perf_metrics_inc(redis_bad_replies);
            ngx_ws_perf_redis_fail(link, rc->errstr);
            return;
        }

        if (reply == NULL) {
            return;
        }

        /* a callback that drops the link only marks the context freeing */
        rc->flags |= REDIS_IN_CALLBACK;
        ngx_ws_perf_redis_dispatch(link, ac, reply);
        rc->flags &= ~REDIS_IN_CALLBACK;

        freeReplyObject(reply);

        if (rc->flags & REDIS_FREEING) {
            redisAsyncFree(ac);
            return;
        }
    }
}


static void
ngx_ws_perf_redis_dispatch(ngx_ws_perf_redis_link_t *link,
    redisAsyncContext *ac, redisReply *r)
{
    ngx_int_t               rc;
    ngx_ws_perf_redis_cb_t  cb;

    if (link->cb_n) {
        cb = link->cbs[link->cb_head];
        link->cb_head = (link->cb_head + 1) % link->cb_size;
        link->cb_n--;

        rc = NGX_DECLINED;

        if (cb.cmd && r->type == REDIS_REPLY_ERROR) {
            rc = ngx_ws_perf_redis_redirect(link, &cb, r);

            if (rc == NGX_OK
                || (rc == NGX_DECLINED
                    && ngx_ws_perf_redis_retry(link, &cb, r) == NGX_OK))
            {
                /* sent again where the slot is served: the callback waits */
                return;
            }
        }

        ngx_ws_perf_redis_replying = link;
        cb.fn(ac, r, cb.data);
        ngx_ws_perf_redis_replying = NULL;

        if (cb.cmd) {
            redisFreeCommand(cb.cmd);
        }

        if (rc == NGX_ERROR && link->ac == ac) {
            ngx_ws_perf_metrics_inc(redis_bad_replies);
            ngx_ws_perf_redis_fail(link, "a MOVED or ASK to no slot or "
                                         "numeric address");
            return;
        }

        /* a master that sentinels demoted while the link was up */
        if (r->type == REDIS_REPLY_ERROR && link->ac == ac
            && ngx_ws_perf_redis_conf->sentinels
            && r->len >= 9 && ngx_strncmp(r->str, "READONLY ", 9) == 0)
        {
            ngx_ws_perf_redis_fail(link, "is a replica now (READONLY)");
        }

        return;
    }

    if (link->state == NGX_WS_PERF_REDIS_READY
        && ((link->ready == ngx_ws_perf_redis_sub_ready
             && ngx_ws_perf_redis_push(link, r) == NGX_OK)
            || (link == &ngx_ws_perf_redis_sen
                && ngx_ws_perf_redis_sentinel_push(link, r) == NGX_OK)))
    {
        return;
    }

    ngx_ws_perf_metrics_inc(redis_bad_replies);

    ngx_ws_perf_redis_fail(link, r->type == REDIS_REPLY_ERROR
                                 ? r->str
                                 : "a reply to no command, or a pub/sub "
                                   "push of an unexpected shape");
}


/* the callback of a command about to be sent, at the ring's tail */

static ngx_int_t
ngx_ws_perf_redis_cb_push(ngx_ws_perf_redis_link_t *link,
    redisCallbackFn *fn, void *data)
{
    ngx_uint_t               i, size;
    ngx_ws_perf_redis_cb_t  *cbs;

    if (link->cb_n == link->cb_size) {
        size = link->cb_size ? link->cb_size * 2 : 64;

        cbs = ngx_alloc(size * sizeof(ngx_ws_perf_redis_cb_t),
                        ngx_cycle->log);
        if (cbs == NULL) {
            return NGX_ERROR;
        }

        for (i = 0; i < link->cb_n; i++) {
            cbs[i] = link->cbs[(link->cb_head + i) % link->cb_size];
        }

        if (link->cbs) {
            ngx_free(link->cbs);
        }

        link->cbs = cbs;
        link->cb_size = size;
        link->cb_head = 0;
    }

    cbs = &link->cbs[(link->cb_head + link->cb_n) % link->cb_size];
    cbs->fn = fn;
    cbs->data = data;
    cbs->cmd = NULL;
    cbs->len = 0;
    cbs->moves = 0;
    cbs->tries = 0;
    link->cb_n++;

    return NGX_OK;
}


/* the link's context is going: every callback still waiting gets NULL */

static void
ngx_ws_perf_redis_cb_flush(ngx_ws_perf_redis_link_t *link,
    redisAsyncContext *ac)
{
    ngx_ws_perf_redis_cb_t  cb;

    while (link->cb_n) {
        cb = link->cbs[link->cb_head];
        link->cb_head = (link->cb_head + 1) % link->cb_size;
        link->cb_n--;

        cb.fn(ac, NULL, cb.data);

        if (cb.cmd) {
            redisFreeCommand(cb.cmd);
        }
    }

    link->cb_head = 0;
}


static void
ngx_ws_perf_redis_write_handler(ngx_event_t *ev)
{
    ngx_connection_t   *c;
    redisAsyncContext  *ac;

    c = ev->data;
    ac = c->data;

    ngx_ws_perf_redis_written(ac);
    redisAsyncHandleWrite(ac);
}


/*
 * Commands reach the socket: the reply timer counts from the first write
 * of those still awaited, not from when they were queued.
 */

static void
ngx_ws_perf_redis_written(redisAsyncContext *ac)
{
    ngx_ws_perf_redis_link_t  *link;

    link = ac->data;

    if (link == NULL || ac->c.obuf == NULL || sdslen(ac->c.obuf) == 0) {
        return;
    }

    if (link->inflight == 0) {
        link->written = ngx_ws_perf_redis_clock();
    }

    link->inflight = link->pending;
}


/* milliseconds that go on within a loop pass, unlike ngx_current_msec */

static ngx_msec_t
ngx_ws_perf_redis_clock(void)
{
    struct timespec  ts;

    (void) clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);

    return (ngx_msec_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}


static void
ngx_ws_perf_redis_add_read(void *data)
{
    ngx_connection_t *c = data;

    if (!c->read->active) {
        (void) ngx_add_event(c->read, NGX_READ_EVENT, NGX_LEVEL_EVENT);
    }
}


static void
ngx_ws_perf_redis_del_read(void *data)
{
    ngx_connection_t *c = data;

    if (c->read->active) {
        (void) ngx_del_event(c->read, NGX_READ_EVENT, NGX_LEVEL_EVENT);
    }
}


static void
ngx_ws_perf_redis_add_write(void *data)
{
    ngx_connection_t *c = data;

    if (!c->write->active) {
        (void) ngx_add_event(c->write, NGX_WRITE_EVENT, NGX_LEVEL_EVENT);
    }
}


static void
ngx_ws_perf_redis_del_write(void *data)
{
    ngx_connection_t *c = data;

    if (c->write->active) {
        (void) ngx_del_event(c->write, NGX_WRITE_EVENT, NGX_LEVEL_EVENT);
    }
}


/* hiredis closes the fd right after this; the connection only goes back */

static void
ngx_ws_perf_redis_cleanup(void *data)
{
    ngx_connection_t *c = data;

    ngx_ws_perf_redis_del_read(c);
    ngx_ws_perf_redis_del_write(c);

    if (c->read->posted) {
        ngx_delete_posted_event(c->read);
    }

    if (c->write->posted) {
        ngx_delete_posted_event(c->write);
    }

    ngx_free_connection(c);

    c->fd = (ngx_socket_t) -1;
}


/* link states */

static void
ngx_ws_perf_redis_connected(const redisAsyncContext *ac, int status)
{
    ngx_ws_perf_redis_link_t *link = ac->data;

    if (status != REDIS_OK && link->ac == ac) {
        /* hiredis frees the context after this */
        ngx_ws_perf_redis_lost(link, ac->errstr);
    }
}


static void
ngx_ws_perf_redis_disconnected(const redisAsyncContext *ac, int status)
{
    ngx_ws_perf_redis_link_t *link = ac->data;

    if (link->ac == ac) {
        ngx_ws_perf_redis_lost(link, status == REDIS_OK ? "closed by redis"
                                                        : ac->errstr);
    }
}


/*
 * The link's context is gone or going: mark it down, say so once per
 * outage, and schedule the next attempt.
 */

static void
ngx_ws_perf_redis_lost(ngx_ws_perf_redis_link_t *link, const char *reason)
{
    redisAsyncContext        *ac;
    ngx_ws_perf_main_conf_t  *wmcf;

    wmcf = ngx_ws_perf_redis_conf;

    ac = link->ac;
    link->ac = NULL;

    if (ac) {
        ngx_ws_perf_redis_cb_flush(link, ac);
    }

    if (wmcf == NULL || ngx_ws_perf_redis_exiting) {
        link->state = NGX_WS_PERF_REDIS_DOWN;
        return;
    }

    if (link == &ngx_ws_perf_redis_sen) {
        ngx_ws_perf_redis_sentinel_lost(link, reason);
        return;
    }

    if (link->state == NGX_WS_PERF_REDIS_READY) {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "ws_perf: redis %s link to \"%V\" lost: %s; "
                      "reconnecting", link->name, link->shown, reason);
        link->logged = 1;
        link->attempts = 0;

    } else if (!link->logged) {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "ws_perf: redis %s link to \"%V\" failed: %s; "
                      "retrying every %M ms at most", link->name,
                      link->shown, reason, wmcf->redis_reconnect_max);
        link->logged = 1;

    } else {
        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                       "ws_perf: redis %s link attempt failed: %s",
                       link->name, reason);
    }

    ngx_ws_perf_redis_down(link);

    link->timer.cancelable = 1;
    ngx_add_timer(&link->timer, link->backoff);

    link->backoff = ngx_min(link->backoff * 2, wmcf->redis_reconnect_max);

    if (wmcf->sentinels) {
        ngx_ws_perf_redis_doubt();
    }

    ngx_ws_perf_redis_report();
}


/* a data link is down: the subscribe link's subscriptions are gone */

static void
ngx_ws_perf_redis_down(ngx_ws_perf_redis_link_t *link)
{
    if (link->ready == ngx_ws_perf_redis_sub_ready) {
        /*
         * in a cluster, the subscriptions on that master only; the count
         * of those awaited is left to the tick (those of the other
         * masters are still awaited)
         */
        if (link->node == NULL) {
            ngx_ws_perf_redis_sub_pending = 0;
        }

        ngx_ws_perf_hub_walk(ngx_ws_perf_redis_unsubscribed, link->node);

        if (link->was_ready) {
            ngx_ws_perf_redis_resync = 1;
        }
    }

    if (link->node || link == &ngx_ws_perf_redis_map) {
        /* a master that went may have a replica in its place by now */
        ngx_ws_perf_redis_map_asked = 0;
    }

    link->state = NGX_WS_PERF_REDIS_DOWN;

    if (link->timer.timer_set) {
        ngx_del_timer(&link->timer);
    }
}


/* gives up on the link's context, from anywhere, hiredis callbacks too */

static void
ngx_ws_perf_redis_fail(ngx_ws_perf_redis_link_t *link, const char *reason)
{
    redisAsyncContext  *ac;

    ac = link->ac;

    ngx_ws_perf_redis_lost(link, reason);

    if (ac) {
        redisAsyncFree(ac);
    }
}


static void
ngx_ws_perf_redis_timer_handler(ngx_event_t *ev)
{
    u_char                     reason[64];
    ngx_ws_perf_redis_link_t  *link;

    link = (ngx_ws_perf_redis_link_t *)
               ((u_char *) ev - offsetof(ngx_ws_perf_redis_link_t, timer));

    switch (link->state) {

    case NGX_WS_PERF_REDIS_DOWN:
        (void) ngx_ws_perf_redis_connect(link);
        break;

    case NGX_WS_PERF_REDIS_CONNECTING:
        ngx_ws_perf_redis_fail(link, "connect or handshake timed out");
        break;

    default: /* NGX_WS_PERF_REDIS_READY */

        /* a cluster's links keep the plain timeout */
        if (link->node == NULL && link != &ngx_ws_perf_redis_map
            && ngx_ws_perf_redis_late(link) == NGX_AGAIN)
        {
            break;
        }

        ngx_snprintf(reason, sizeof(reason), "no reply in %M ms%Z",
                     ngx_ws_perf_redis_conf->redis_command_timeout);
        ngx_ws_perf_redis_fail(link, (char *) reason);
        break;
    }
}


/*
 * NGX_OK: sent, fn will be called exactly once (with a NULL reply if the
 * link goes down first); NGX_ERROR: not sent.
 */

static ngx_int_t
ngx_ws_perf_redis_command(ngx_ws_perf_redis_link_t *link, redisCallbackFn *fn,
    void *data, ngx_ws_perf_redis_args_t *a)
{
    int                      len;
    char                    *cmd;
    ngx_ws_perf_redis_cb_t  *cb;

    if (link->ac == NULL || a->failed
        || ngx_ws_perf_redis_cb_push(link, fn, data) != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (link->node == NULL || link != &link->node->cmd) {
        if (redisAppendCommandArgv(&link->ac->c, a->argc, a->argv,
                                   a->argvlen)
            != REDIS_OK)
        {
            link->cb_n--;
            return NGX_ERROR;
        }

    } else {
        /* kept until the reply: a MOVED or an ASK sends it again */
        len = redisFormatCommandArgv(&cmd, a->argc, a->argv, a->argvlen);

        if (len < 0
            || redisAppendFormattedCommand(&link->ac->c, cmd, len)
               != REDIS_OK)
        {
            if (len >= 0) {
                redisFreeCommand(cmd);
            }

            link->cb_n--;
            return NGX_ERROR;
        }

        cb = &link->cbs[(link->cb_head + link->cb_n - 1) % link->cb_size];
        cb->cmd = cmd;
        cb->len = (size_t) len;
    }

    ngx_ws_perf_redis_add_write(link->ac->ev.data);

    if (link->pending++ == 0 && link->state == NGX_WS_PERF_REDIS_READY) {
        ngx_ws_perf_redis_await(link);
    }

    return NGX_OK;
}


/*
 * Writes the publish link's commands now, not when the loop next polls: a
 * loop pass busy with a large fan-out would hold every publish back by a
 * pass.  Not from a reply's callback: a write error would free the context
 * under the reading loop.  A write that fails (redis reset the link before
 * the worker read it) leaves the link to its write handler, later in this
 * pass: dropped here, the link would call back the command just queued
 * before its caller had returned NGX_AGAIN for it.
 */

static void
ngx_ws_perf_redis_flush(ngx_ws_perf_redis_link_t *link)
{
    int                 done;
    ngx_connection_t   *c;
    redisAsyncContext  *ac;

    ac = link ? link->ac : NULL;

    if (ac == NULL || (ac->c.flags & REDIS_IN_CALLBACK)
        || !(ac->c.flags & REDIS_CONNECTED))
    {
        return;
    }

    c = ac->ev.data;

    ngx_ws_perf_redis_written(ac);

    done = 0;

    if (redisBufferWrite(&ac->c, &done) != REDIS_OK) {
        /* ac->c.err is kept: redisAsyncHandleWrite() drops the link */
        ngx_post_event(c->write, &ngx_posted_events);
        return;
    }

    /* as redisAsyncHandleWrite() goes on after a write */

    if (done) {
        ngx_ws_perf_redis_del_write(c);

    } else {
        ngx_ws_perf_redis_add_write(c);
    }

    ngx_ws_perf_redis_add_read(c);
}


/*
 * Whether this worker rather than redis is late on the link: bytes from
 * redis wait unread in the socket, or commands wait unwritten.  A loop
 * pass through tens of thousands of connections (a fan-out, a wave of
 * handshakes or closes) can take seconds; a link judged then would be
 * dropped alive, with the messages it carries.  The link is read and
 * written in this pass, after the timers.
 */

static ngx_uint_t
ngx_ws_perf_redis_behind(ngx_ws_perf_redis_link_t *link)
{
    int                 n;
    struct pollfd       pfd;
    ngx_connection_t   *c;
    redisAsyncContext  *ac;

    ac = link->ac;

    if (ac == NULL || !(ac->c.flags & REDIS_CONNECTED)) {
        return 0;
    }

    c = ac->ev.data;

    /* unwritten commands count only while the socket takes them */
    if (ac->c.obuf && sdslen(ac->c.obuf) > 0) {
        pfd.fd = ac->c.fd;
        pfd.events = POLLOUT;
        pfd.revents = 0;

        if (poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLOUT)) {
            ngx_post_event(c->write, &ngx_posted_events);
            return 1;
        }
    }

    if (ioctl(ac->c.fd, FIONREAD, &n) == -1 || n <= 0) {
        return 0;
    }

    ngx_log_debug2(NGX_LOG_DEBUG_EVENT, ngx_cycle->log, 0,
                   "ws_perf: redis %s link: %d bytes not read yet",
                   link->name, n);

    ngx_post_event(c->read, &ngx_posted_events);

    return 1;
}


/*
 * A reply timer ran out: NGX_AGAIN if this worker, not redis, is late (the
 * timer is set again), NGX_OK if redis had its time.
 */

static ngx_int_t
ngx_ws_perf_redis_late(ngx_ws_perf_redis_link_t *link)
{
    ngx_msec_t  sent;

    if (ngx_ws_perf_redis_behind(link)) {
        ngx_ws_perf_redis_await(link);
        return NGX_AGAIN;
    }

    sent = ngx_ws_perf_redis_clock() - link->written;

    if (sent >= ngx_ws_perf_redis_conf->redis_command_timeout) {
        return NGX_OK;
    }

    /* written late in a long loop pass */
    link->timer.cancelable = 0;
    ngx_add_timer(&link->timer,
                  ngx_ws_perf_redis_conf->redis_command_timeout - sent);

    return NGX_AGAIN;
}


/* a reply came (or its link went): the reply timer restarts or stops */

static void
ngx_ws_perf_redis_replied(ngx_ws_perf_redis_link_t *link)
{
    if (link->pending) {
        link->pending--;
    }

    if (link->inflight) {
        link->inflight--;
    }

    if (link->state != NGX_WS_PERF_REDIS_READY
        || ngx_ws_perf_redis_conf == NULL)
    {
        return;
    }

    if (link->pending) {
        ngx_ws_perf_redis_await(link);

    } else if (link->timer.timer_set) {
        ngx_del_timer(&link->timer);
    }
}


/*
 * The reply timer: a worker that exits after a reload waits for it (the
 * replies, or the command timeout), so that no request waiting on redis
 * is left open when the worker goes; the connect and reconnect waits do
 * not hold it.
 */

static void
ngx_ws_perf_redis_await(ngx_ws_perf_redis_link_t *link)
{
    link->timer.cancelable = 0;
    ngx_add_timer(&link->timer, ngx_ws_perf_redis_conf->redis_command_timeout);
}


/*
 * AUTH where configured; with sentinels ROLE, and the rest only once the
 * server says it is the master.
 */

static void
ngx_ws_perf_redis_handshake(ngx_ws_perf_redis_link_t *link)
{
    ngx_ws_perf_main_conf_t   *wmcf;
    ngx_ws_perf_redis_args_t   a;

    wmcf = ngx_ws_perf_redis_conf;

    if (link == &ngx_ws_perf_redis_sen) {
        ngx_ws_perf_redis_sentinel_handshake(link);
        return;
    }

    if (ngx_ws_perf_redis_auth(link, &wmcf->redis_user,
                               &wmcf->redis_password)
        != NGX_OK)
    {
        return;
    }

    if (link == &ngx_ws_perf_redis_map) {
        ngx_ws_perf_redis_args(&a, "CLUSTER");
        ngx_ws_perf_redis_arg_lit(&a, "SLOTS");

        (void) ngx_ws_perf_redis_command(link, ngx_ws_perf_redis_map_reply,
                                         link, &a);
        return;
    }

    if (wmcf->sentinels) {
        /* nothing else is sent before the server says it is the master */
        ngx_ws_perf_redis_args(&a, "ROLE");

        (void) ngx_ws_perf_redis_command(link, ngx_ws_perf_redis_role_reply,
                                         NULL, &a);
        return;
    }

    ngx_ws_perf_redis_handshake_rest(link);
}


/* AUTH where a password is configured; NGX_ERROR: not sent */

static ngx_int_t
ngx_ws_perf_redis_auth(ngx_ws_perf_redis_link_t *link, ngx_str_t *user,
    ngx_str_t *password)
{
    ngx_ws_perf_redis_args_t  a;

    if (password->len == 0) {
        return NGX_OK;
    }

    ngx_ws_perf_redis_args(&a, "AUTH");

    if (user->len) {
        ngx_ws_perf_redis_arg(&a, user->data, user->len);
    }

    ngx_ws_perf_redis_arg(&a, password->data, password->len);

    return ngx_ws_perf_redis_command(link, ngx_ws_perf_redis_handshake_reply,
                                     NULL, &a);
}


/* with sentinels: the data link is on a replica unless ROLE says master */

static void
ngx_ws_perf_redis_role_reply(redisAsyncContext *ac, void *reply, void *data)
{
    redisReply                *r;
    ngx_ws_perf_redis_link_t  *link = ac->data;

    r = ngx_ws_perf_redis_step(ac, reply);
    if (r == NULL) {
        return;
    }

    switch (ngx_ws_perf_reply_role(r)) {

    case 0:
        ngx_ws_perf_redis_handshake_rest(link);
        break;

    case 1:
        ngx_ws_perf_redis_fail(link, "is a replica, not the master (ROLE)");
        break;

    default:
        ngx_ws_perf_metrics_inc(redis_bad_replies);
        ngx_ws_perf_redis_fail(link, "unexpected reply to ROLE");
    }
}


/*
 * SELECT where configured, then a command whose answer says the server
 * is ready: FUNCTION LOAD on the publish link, PING on the other.
 */

static void
ngx_ws_perf_redis_handshake_rest(ngx_ws_perf_redis_link_t *link)
{
    ngx_ws_perf_main_conf_t   *wmcf;
    ngx_ws_perf_redis_args_t   a;

    wmcf = ngx_ws_perf_redis_conf;

    if (link->ready != ngx_ws_perf_redis_cmd_ready) {
        ngx_ws_perf_redis_args(&a, "PING");

        (void) ngx_ws_perf_redis_command(link,
                                         ngx_ws_perf_redis_handshake_reply,
                                         link, &a);
        return;
    }

    if (wmcf->redis_db) {
        ngx_ws_perf_redis_args(&a, "SELECT");
        ngx_ws_perf_redis_argf(&a, "%i", wmcf->redis_db);

        if (ngx_ws_perf_redis_command(link, ngx_ws_perf_redis_handshake_reply,
                                      NULL, &a)
            != NGX_OK)
        {
            return;
        }
    }

    ngx_ws_perf_redis_args(&a, "FUNCTION");
    ngx_ws_perf_redis_arg_lit(&a, "LOAD");
    ngx_ws_perf_redis_arg_lit(&a, "REPLACE");
    ngx_ws_perf_redis_arg(&a, ngx_ws_perf_lua_library,
                          ngx_ws_perf_lua_library_len);

    (void) ngx_ws_perf_redis_command(link, ngx_ws_perf_redis_handshake_reply,
                                     link, &a);
}


/*
 * The reply to a step of a link's handshake or of its own work: the
 * reply, or NULL when the link went meanwhile or Redis refused (the link
 * is then dropped, with Redis's reason)
 */

static redisReply *
ngx_ws_perf_redis_step(redisAsyncContext *ac, void *reply)
{
    redisReply                *r = reply;
    ngx_ws_perf_redis_link_t  *link = ac->data;

    ngx_ws_perf_redis_replied(link);

    if (r == NULL || link->ac != ac) {
        return NULL;
    }

    if (r->type == REDIS_REPLY_ERROR) {
        ngx_ws_perf_redis_fail(link, r->str);
        return NULL;
    }

    return r;
}


/* data is the link for the last command of the handshake */

static void
ngx_ws_perf_redis_handshake_reply(redisAsyncContext *ac, void *reply,
    void *data)
{
    redisReply                *r;
    ngx_ws_perf_redis_link_t  *link = ac->data;

    r = ngx_ws_perf_redis_step(ac, reply);
    if (r == NULL) {
        return;
    }

    if (data) {
        ngx_ws_perf_redis_became_ready(link);
    }
}


static void
ngx_ws_perf_redis_became_ready(ngx_ws_perf_redis_link_t *link)
{
    ngx_ws_perf_main_conf_t  *wmcf;

    wmcf = ngx_ws_perf_redis_conf;

    link->state = NGX_WS_PERF_REDIS_READY;
    link->backoff = wmcf->redis_reconnect_min;

    if (link->timer.timer_set) {
        ngx_del_timer(&link->timer);
    }

    if (link->pending) {
        ngx_ws_perf_redis_await(link);
    }

    if (link->logged) {
        ngx_log_error(NGX_LOG_NOTICE, ngx_cycle->log, 0,
                      "ws_perf: redis %s link to \"%V\" is up again after "
                      "%ui attempts", link->name, link->shown,
                      link->attempts);
        link->logged = 0;

    } else {
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                       "ws_perf: redis %s link ready", link->name);
    }

    if (link->was_ready) {
        ngx_ws_perf_metrics_redis_reconnect();
    }

    link->attempts = 0;
    link->was_ready = 1;

    if (ngx_ws_perf_redis_cmd.state == NGX_WS_PERF_REDIS_READY
        && ngx_ws_perf_redis_sub.state == NGX_WS_PERF_REDIS_READY)
    {
        /* the sentinels are asked again promptly the next time */
        ngx_ws_perf_redis_reask_wait = wmcf->redis_reconnect_min;

        if (ngx_ws_perf_redis_reasker.timer_set) {
            ngx_del_timer(&ngx_ws_perf_redis_reasker);
        }
    }

    link->ready(link);

    ngx_ws_perf_redis_report();
}


static void
ngx_ws_perf_redis_cmd_ready(ngx_ws_perf_redis_link_t *link)
{
    ngx_ws_perf_redis_send_config();

    /*
     * its users' connections, under a new session that the worker's key
     * names right after (the tick): what was counted before, or lost with
     * the link, or admitted here while redis was away, counts as it is now
     */
    ngx_ws_perf_redis_session++;
    ngx_ws_perf_redis_admit_warned = 0;
    ngx_ws_perf_hub_walk(ngx_ws_perf_redis_recount, NULL);

    /* this worker's counts may be gone with a restarted redis: send all */
    ngx_ws_perf_hub_walk(ngx_ws_perf_redis_mark_changed, NULL);

    ngx_ws_perf_redis_ticks = 0;
    ngx_ws_perf_redis_tick(NULL);
}


static void
ngx_ws_perf_redis_recount(ngx_ws_perf_topic_t *topic, void *data)
{
    ngx_ws_perf_redis_args_t  a;

    if (topic->target == NGX_WS_PERF_TARGET_CHANNEL) {
        ngx_ws_perf_presence_walk(topic, ngx_ws_perf_redis_presence_restore,
                                  NULL);
        return;
    }

    if (topic->nsubs == 0) {
        return;
    }

    ngx_ws_perf_redis_args(&a, "HSET");
    ngx_ws_perf_redis_arg_key(&a, "", topic->target, topic->name.data,
                              topic->name.len);
    ngx_ws_perf_redis_arg_more(&a, "#c");
    ngx_ws_perf_redis_argf(&a, "%V:%ui", &ngx_ws_perf_redis_worker,
                           ngx_ws_perf_redis_session);
    ngx_ws_perf_redis_argf(&a, "%ui", topic->nsubs);

    (void) ngx_ws_perf_redis_send(ngx_ws_perf_redis_ignore, NULL, &a);
}


static void
ngx_ws_perf_redis_mark_changed(ngx_ws_perf_topic_t *topic, void *data)
{
    ngx_ws_perf_hub_changed(topic);
}


static void
ngx_ws_perf_redis_unsubscribed(ngx_ws_perf_topic_t *topic, void *data)
{
    u_char                    key[NGX_WS_PERF_REDIS_KEY_MAX];
    ngx_ws_perf_redis_node_t *node = data;

    if (node
        && ngx_ws_perf_redis_owner_of(key,
               ngx_ws_perf_redis_key(key, "", topic->target,
                                     topic->name.data, topic->name.len))
           != node)
    {
        return;
    }

    /* in a cluster each topic is told when its subscription is back */
    if (node && topic->subscribed) {
        topic->missed = 1;
    }

    topic->subscribed = 0;
}


static void
ngx_ws_perf_redis_sub_ready(ngx_ws_perf_redis_link_t *link)
{
    ngx_ws_perf_redis_heard = ngx_current_msec;
    ngx_ws_perf_redis_beats = 0;

    if (link->node) {
        link->node->heard = ngx_current_msec;
        link->node->connection = ++ngx_ws_perf_redis_connections;
        ngx_ws_perf_hub_walk(ngx_ws_perf_redis_map_moved, link->node);
        return;
    }

    ngx_ws_perf_redis_argv[1] = (char *) ngx_ws_perf_redis_alive.data;
    ngx_ws_perf_redis_argvlen[1] = ngx_ws_perf_redis_alive.len;
    ngx_ws_perf_redis_argc = 2;

    ngx_ws_perf_hub_walk(ngx_ws_perf_redis_resubscribe, NULL);

    ngx_ws_perf_redis_subscribe_batch("SUBSCRIBE");
}


static void
ngx_ws_perf_redis_resubscribe(ngx_ws_perf_topic_t *topic, void *data)
{
    u_char  *buf;

    if (ngx_ws_perf_redis_argc == NGX_WS_PERF_REDIS_BATCH + 1) {
        ngx_ws_perf_redis_subscribe_batch("SUBSCRIBE");
        ngx_ws_perf_redis_argc = 1;
    }

    buf = ngx_ws_perf_redis_argbuf
          + (ngx_ws_perf_redis_argc - 1) * NGX_WS_PERF_REDIS_KEY_MAX;

    ngx_ws_perf_redis_argv[ngx_ws_perf_redis_argc] = (char *) buf;
    ngx_ws_perf_redis_argvlen[ngx_ws_perf_redis_argc] =
        ngx_ws_perf_redis_key(buf, "", topic->target, topic->name.data,
                              topic->name.len);
    ngx_ws_perf_redis_argc++;
}


/* sends the assembled (UN)SUBSCRIBE on the subscribe link */

static void
ngx_ws_perf_redis_subscribe_batch(const char *verb)
{
    int                        argc;
    ngx_ws_perf_redis_link_t  *link;

    link = &ngx_ws_perf_redis_sub;
    argc = (int) ngx_ws_perf_redis_argc;

    ngx_ws_perf_redis_argc = 1;

    if (argc < 2 || link->ac == NULL) {
        return;
    }

    ngx_ws_perf_redis_argv[0] = verb;
    ngx_ws_perf_redis_argvlen[0] = ngx_strlen(verb);

    /* (UN)SUBSCRIBE replies are pushes (ngx_ws_perf_redis_push()) */
    if (redisAppendCommandArgv(&link->ac->c, argc, ngx_ws_perf_redis_argv,
                               ngx_ws_perf_redis_argvlen)
        != REDIS_OK)
    {
        ngx_ws_perf_redis_fail(link, "cannot send a subscription");
        return;
    }

    ngx_ws_perf_redis_add_write(link->ac->ev.data);

    if (verb[0] == 'S') {
        ngx_ws_perf_redis_sub_pending += argc - 1;
    }
}


/* the hub's first and last local subscriber of a topic */

static void
ngx_ws_perf_redis_first(ngx_uint_t target, ngx_str_t *name)
{
    ngx_ws_perf_topic_t  *topic;

    if (ngx_ws_perf_redis_cluster()) {
        topic = ngx_ws_perf_hub_lookup(target, name);

        if (topic) {
            ngx_ws_perf_redis_ssubscribe(topic, "SSUBSCRIBE");
        }

        return;
    }

    if (ngx_ws_perf_redis_sub.state != NGX_WS_PERF_REDIS_READY) {
        return;
    }

    ngx_ws_perf_redis_argv[1] = (char *) ngx_ws_perf_redis_argbuf;
    ngx_ws_perf_redis_argvlen[1] = ngx_ws_perf_redis_key(
                                       ngx_ws_perf_redis_argbuf, "", target,
                                       name->data, name->len);
    ngx_ws_perf_redis_argc = 2;

    ngx_ws_perf_redis_subscribe_batch("SUBSCRIBE");
}


static void
ngx_ws_perf_redis_last(ngx_uint_t target, ngx_str_t *name)
{
    ngx_ws_perf_redis_args_t  a;

    if (ngx_ws_perf_redis_cluster()) {
        ngx_ws_perf_redis_args(&a, "SUNSUBSCRIBE");
        ngx_ws_perf_redis_arg_key(&a, "", target, name->data, name->len);
        ngx_ws_perf_redis_sub_send(&a);

    } else if (ngx_ws_perf_redis_sub.state == NGX_WS_PERF_REDIS_READY) {
        ngx_ws_perf_redis_argv[1] = (char *) ngx_ws_perf_redis_argbuf;
        ngx_ws_perf_redis_argvlen[1] = ngx_ws_perf_redis_key(
                                           ngx_ws_perf_redis_argbuf, "",
                                           target, name->data, name->len);
        ngx_ws_perf_redis_argc = 2;

        ngx_ws_perf_redis_subscribe_batch("UNSUBSCRIBE");
    }

    ngx_ws_perf_redis_args(&a, "HDEL");
    ngx_ws_perf_redis_arg_key(&a, "n:", target, name->data, name->len);
    ngx_ws_perf_redis_arg(&a, ngx_ws_perf_redis_worker.data,
                          ngx_ws_perf_redis_worker.len);

    (void) ngx_ws_perf_redis_send(ngx_ws_perf_redis_ignore, NULL, &a);
}


/*
 * What the subscribe link hears once ready: (un)subscribe confirmations
 * and messages, each {kind, channel, count or data}.  NGX_ERROR: anything
 * else, and the link is dropped.
 */

static ngx_int_t
ngx_ws_perf_redis_push(ngx_ws_perf_redis_link_t *link, redisReply *r)
{
    size_t                len;
    ngx_str_t             name, *prefix;
    ngx_uint_t            target, slot;
    const uint8_t        *p;
    ngx_ws_perf_push_t    push;
    ngx_ws_perf_topic_t  *topic;

    /* a PING on a link that holds no subscription yet: +PONG */
    if (link->node && r->type == REDIS_REPLY_STATUS && r->len == 4
        && ngx_strncmp(r->str, "PONG", 4) == 0)
    {
        link->node->heard = ngx_current_msec;
        return NGX_OK;
    }

    /*
     * an SSUBSCRIBE (or SUNSUBSCRIBE) sent by a map that was behind a
     * resharding: the tick subscribes the topic where the next map says
     */
    if (link->node && r->type == REDIS_REPLY_ERROR
        && (ngx_strncmp(r->str, "MOVED ", 6) == 0
            || ngx_strncmp(r->str, "ASK ", 4) == 0))
    {
        /* which topic it was is not said: those not in place ask again */
        link->node->connection = ++ngx_ws_perf_redis_connections;

        ngx_log_debug3(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                       "ws_perf: redis %V refused a subscription: %s, "
                       "now connection %ui", &link->node->name, r->str,
                       link->node->connection);

        ngx_ws_perf_redis_resync = 1;
        ngx_ws_perf_redis_map_asked = 0;
        return NGX_OK;
    }

    if (ngx_ws_perf_reply_push(r, &push) != 0) {
        return NGX_ERROR;
    }

    if (push.kind == NGX_WS_PERF_PUSH_PONG) {
        if (link->node == NULL) {
            return NGX_ERROR;
        }

        link->node->heard = ngx_current_msec;
        return NGX_OK;
    }

    if (push.sharded != (link->node != NULL)) {
        return NGX_ERROR;
    }

    prefix = &ngx_ws_perf_redis_conf->redis_prefix;

    target = ngx_ws_perf_reply_target(prefix->data, prefix->len,
                                      push.channel, push.channel_len,
                                      &p, &len);
    name.data = (u_char *) p;
    name.len = len;

    switch (push.kind) {

    case NGX_WS_PERF_PUSH_MESSAGE:

        switch (target) {

        case NGX_WS_PERF_TARGET_CHANNEL:
        case NGX_WS_PERF_TARGET_USER:
            ngx_ws_perf_redis_deliver(target, &name, (redisReply *) push.data);
            break;

        case NGX_WS_PERF_REDIS_WORKER:
            ngx_ws_perf_redis_heard = ngx_current_msec;
            ngx_ws_perf_redis_beats = 0;
            break;
        }

        break;

    case NGX_WS_PERF_PUSH_SUBSCRIBE:
        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                       "ws_perf: redis %V: \"%V\" subscribed",
                       link->node ? &link->node->name : &name, &name);

        ngx_ws_perf_redis_subscribed(target, &name);
        break;

    case NGX_WS_PERF_PUSH_UNSUBSCRIBE:
        if (link->node == NULL
            || (target != NGX_WS_PERF_TARGET_CHANNEL
                && target != NGX_WS_PERF_TARGET_USER))
        {
            break;
        }

        /*
         * the master gave up the slot: its new one is asked for.  Heard
         * from the master the map names or the one the slot's topics
         * were placed on (a MOVED may have changed the map first), but
         * not from an old master that ends what was left there after
         * the topic was subscribed elsewhere.
         */
        topic = ngx_ws_perf_hub_lookup(target, &name);
        slot = ngx_ws_perf_slot((u_char *) push.channel, push.channel_len);

        ngx_log_debug3(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                       "ws_perf: redis %V: \"%V\" unsubscribed, "
                       "in place here: %ui", &link->node->name, &name,
                       topic ? topic->subscribed : 0);

        if (topic && topic->nsubs && topic->subscribed
            && (ngx_ws_perf_redis_owner[slot] == link->node->index
                || ngx_ws_perf_redis_owned[slot] == link->node->index))
        {
            topic->subscribed = 0;
            topic->asked = 0;
            topic->missed = 1;
            ngx_ws_perf_redis_resync = 1;
            ngx_ws_perf_redis_map_asked = 0;
        }

        break;
    }

    return NGX_OK;
}


/*
 * A SUBSCRIBE is in place: the topic's count may now be announced (a
 * publisher who sees it can count on delivery), and once all of them are
 * in after an outage the clients are told they may have missed messages;
 * in a cluster, where each master's topics come back at their own time,
 * a topic's subscribers are told as its own comes back, before anything
 * it carries.
 */

static void
ngx_ws_perf_redis_subscribed(ngx_uint_t target, ngx_str_t *name)
{
    ngx_ws_perf_topic_t  *topic;

    if (target == NGX_WS_PERF_TARGET_CHANNEL
        || target == NGX_WS_PERF_TARGET_USER)
    {
        topic = ngx_ws_perf_hub_lookup(target, name);

        if (topic) {
            topic->subscribed = 1;
            ngx_ws_perf_hub_changed(topic);

            if (topic->missed) {
                topic->missed = 0;
                (void) ngx_ws_perf_hub_notice_subs(topic,
                           (u_char *) ngx_ws_perf_redis_notice,
                           sizeof(ngx_ws_perf_redis_notice) - 1,
                           ngx_cycle->log);
            }

            ngx_ws_perf_redis_on_subscribed(topic);
        }
    }

    if (ngx_ws_perf_redis_sub_pending
        && --ngx_ws_perf_redis_sub_pending == 0)
    {
        ngx_ws_perf_redis_in_place();
    }
}


/* every subscription is in place: after a gap, the clients are told */

static void
ngx_ws_perf_redis_in_place(void)
{
    ngx_ws_perf_redis_sub_pending = 0;

    ngx_ws_perf_redis_report();

    if (!ngx_ws_perf_redis_resync) {
        return;
    }

    ngx_ws_perf_redis_resync = 0;

    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                   "ws_perf: redis subscriptions in place");

    /* in a cluster each topic was told as it came back */
    if (!ngx_ws_perf_redis_cluster()) {
        (void) ngx_ws_perf_hub_notice((u_char *) ngx_ws_perf_redis_notice,
                                      sizeof(ngx_ws_perf_redis_notice) - 1,
                                      ngx_cycle->log);
    }
}


static void
ngx_ws_perf_redis_deliver(ngx_uint_t target, ngx_str_t *name,
    redisReply *payload)
{
    u_char             *plain;
    ngx_int_t           rc;
    ngx_ws_perf_msg_t   m;
    static ngx_uint_t   malformed;

    ngx_memzero(&m, sizeof(ngx_ws_perf_msg_t));

    m.target = target;
    m.name = name->data;
    m.name_len = name->len;
    plain = NULL;

    if (target == NGX_WS_PERF_TARGET_CHANNEL && payload->len > 3
        && ngx_strncmp(payload->str, "p1 ", 3) == 0)
    {
        rc = ngx_ws_perf_redis_presence_wire(name, payload);

    } else {
        rc = ngx_ws_perf_msg_valid_name(name->data, name->len)
             ? ngx_ws_perf_redis_message(&m, (u_char *) payload->str,
                                         payload->len, &plain,
                                         "on its redis channel")
             : NGX_ERROR;
    }

    if (rc == NGX_ERROR) {
        if (ngx_ws_perf_redis_drop(&malformed)) {
            ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                          "ws_perf: ignored a malformed message on redis "
                          "channel \"%*s\" (%ui so far); publish with "
                          "FCALL ws_perf_publish", name->len, name->data,
                          malformed);
        }

        return;
    }

    if (rc == NGX_OK) {
        (void) ngx_ws_perf_hub_deliver(&m, ngx_cycle->log);
    }

    if (plain) {
        ngx_free(plain);
    }
}


/*
 * A message as redis keeps it (its wire form: on the bus, in a history,
 * an inbox or a dead letter) read into m, whose target and name the
 * caller has set, and inflated when it is lz4.  NGX_OK: m is the message;
 * NGX_DECLINED: its data is flagged JSON but is not UTF-8 (dropped,
 * counted and logged); in both, *plain is what to free after m is used,
 * or NULL.  NGX_ERROR: it is malformed, the caller counts it; m->id is
 * set if the wire form was well-formed and only its lz4 block was not.
 */

ngx_int_t
ngx_ws_perf_redis_message(ngx_ws_perf_msg_t *m, u_char *wire, size_t len,
    u_char **plain, const char *where)
{
    *plain = NULL;

    if (ngx_ws_perf_msg_from_wire(wire, len, m) != 0) {
        m->id = NULL;
        m->id_len = 0;
        return NGX_ERROR;
    }

    if (ngx_ws_perf_compress_unwire(m, plain) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_ws_perf_redis_text(m, where);
}


/*
 * Counts a message from redis that was dropped; 1 when it is to be logged:
 * the 1st, 2nd, 4th, 8th... of a kind, so that a broken publisher cannot
 * flood the log.
 */

ngx_uint_t
ngx_ws_perf_redis_drop(ngx_uint_t *n)
{
    ngx_ws_perf_metrics_inc(redis_dropped);

    (*n)++;

    return (*n & (*n - 1)) == 0;
}


/*
 * A message read from redis, before anyone gets it: JSON data must be
 * UTF-8, since text frames carry it as it is; a string that is not is
 * sent as binary.  NGX_OK, or NGX_DECLINED: dropped, counted and logged.
 */

static ngx_int_t
ngx_ws_perf_redis_text(ngx_ws_perf_msg_t *m, const char *where)
{
    uint32_t           state;
    static ngx_uint_t  invalid;

    state = 0;

    if (m->json == NULL) {
        if (!m->binary) {
            m->binary = (ngx_ws_perf_utf8_validate(&state, (u_char *) m->data,
                                                   m->data_len)
                         != NGX_WS_PERF_UTF8_OK);
        }

        return NGX_OK;
    }

    if (ngx_ws_perf_utf8_validate(&state, (u_char *) m->json, m->json_len)
        == NGX_WS_PERF_UTF8_OK)
    {
        return NGX_OK;
    }

    if (ngx_ws_perf_redis_drop(&invalid)) {
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "ws_perf: ignored a message of %s \"%*s\" %s: its "
                      "data is flagged JSON but is not UTF-8 (%ui so far)",
                      m->target ? "user" : "channel", m->name_len, m->name,
                      where, invalid);
    }

    return NGX_DECLINED;
}


/*
 * Every half second: this worker's changed subscriber counts, a heartbeat
 * through its own channel (a subscribe link that stops hearing it is
 * replaced), and now and then the key that says this worker is alive.
 */

static void
ngx_ws_perf_redis_tick(ngx_event_t *ev)
{
    ngx_uint_t                 alive;
    ngx_ws_perf_main_conf_t   *wmcf;
    ngx_ws_perf_redis_args_t   a;

    wmcf = ngx_ws_perf_redis_conf;

    if (wmcf == NULL) {
        return;
    }

    if (ev) {
        ngx_add_timer(ev, NGX_WS_PERF_REDIS_TICK);
        ngx_ws_perf_redis_report();

        if (wmcf->sentinels) {
            ngx_ws_perf_redis_sentinel_tick();
        }

        if (ngx_ws_perf_redis_resend) {
            ngx_ws_perf_redis_resend = 0;

            /* ends in this tick, without its timer */
            ngx_ws_perf_redis_cmd_ready(NULL);
            return;
        }
    }

    /* a leaving worker's keys are deleted: they are not set again */
    alive = (ngx_ws_perf_redis_ticks++ % ngx_ws_perf_redis_alive_every == 0
             && !ngx_ws_perf_redis_leaving);

    if (ngx_ws_perf_redis_cluster()) {
        ngx_ws_perf_redis_cluster_tick(alive);
        return;
    }

    if (ngx_ws_perf_redis_cmd.state != NGX_WS_PERF_REDIS_READY) {
        ngx_ws_perf_redis_heard = ngx_current_msec;
        ngx_ws_perf_redis_beats = 0;
        return;
    }

    if (alive) {
        ngx_ws_perf_redis_args(&a, "SET");
        ngx_ws_perf_redis_arg(&a, ngx_ws_perf_redis_alive.data,
                              ngx_ws_perf_redis_alive.len);
        ngx_ws_perf_redis_argf(&a, "%ui", ngx_ws_perf_redis_session);
        ngx_ws_perf_redis_arg_lit(&a, "PX");
        ngx_ws_perf_redis_argf(&a, "%M", wmcf->redis_worker_ttl);

        (void) ngx_ws_perf_redis_command(&ngx_ws_perf_redis_cmd,
                                         ngx_ws_perf_redis_ignore, NULL, &a);
    }

    ngx_ws_perf_redis_flush_counts();
    ngx_ws_perf_redis_presence_sweep();

    if (ngx_ws_perf_redis_sub.state != NGX_WS_PERF_REDIS_READY) {
        ngx_ws_perf_redis_heard = ngx_current_msec;
        ngx_ws_perf_redis_beats = 0;
        return;
    }

    if (ngx_current_msec - ngx_ws_perf_redis_heard
        > wmcf->redis_command_timeout + 2 * NGX_WS_PERF_REDIS_TICK
        && ngx_ws_perf_redis_beats
           >= wmcf->redis_command_timeout / NGX_WS_PERF_REDIS_TICK + 2
        && !ngx_ws_perf_redis_behind(&ngx_ws_perf_redis_sub)
        && !ngx_ws_perf_redis_behind(&ngx_ws_perf_redis_cmd))
    {
        ngx_ws_perf_redis_fail(&ngx_ws_perf_redis_sub,
                               "heartbeat not heard back");
        return;
    }

    ngx_ws_perf_redis_args(&a, "PUBLISH");
    ngx_ws_perf_redis_arg(&a, ngx_ws_perf_redis_alive.data,
                          ngx_ws_perf_redis_alive.len);
    ngx_ws_perf_redis_arg_lit(&a, "1");

    if (ngx_ws_perf_redis_command(&ngx_ws_perf_redis_cmd,
                                  ngx_ws_perf_redis_ignore, NULL, &a)
        == NGX_OK)
    {
        ngx_ws_perf_redis_beats++;
    }
}


static void
ngx_ws_perf_redis_flush_counts(void)
{
    ngx_ws_perf_topic_t       *topic;
    ngx_ws_perf_redis_args_t   a;

    while ((topic = ngx_ws_perf_hub_next_changed()) != NULL) {

        if (!topic->subscribed) {
            /* announced when its SUBSCRIBE is confirmed */
            continue;
        }

        ngx_ws_perf_redis_args(&a, "HSET");
        ngx_ws_perf_redis_arg_key(&a, "n:", topic->target,
                                  topic->name.data, topic->name.len);
        ngx_ws_perf_redis_arg(&a, ngx_ws_perf_redis_worker.data,
                              ngx_ws_perf_redis_worker.len);
        ngx_ws_perf_redis_argf(&a, "%ui", topic->nsubs);

        if (ngx_ws_perf_redis_send(ngx_ws_perf_redis_ignore, NULL, &a)
            != NGX_OK)
        {
            ngx_ws_perf_hub_changed(topic);
            return;
        }
    }
}


static void
ngx_ws_perf_redis_ignore(redisAsyncContext *ac, void *reply, void *data)
{
    redisReply         *r = reply;
    static ngx_uint_t   errors;

    ngx_ws_perf_redis_replied(ac->data);

    if (r == NULL || r->type != REDIS_REPLY_ERROR) {
        return;
    }

    if (r->len >= sizeof("CLUSTERDOWN") - 1
        && ngx_strncmp(r->str, "CLUSTERDOWN", sizeof("CLUSTERDOWN") - 1)
           == 0)
    {
        ngx_ws_perf_redis_resend = 1;
    }

    errors++;

    if ((errors & (errors - 1)) == 0) {
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "ws_perf: redis refused a bookkeeping command: %s "
                      "(%ui so far)", r->str, errors);
    }
}


/*
 * Whether n more publishes or calls may wait on redis now: NGX_OK,
 * NGX_DECLINED (redis is not available) or NGX_BUSY.
 */

ngx_int_t
ngx_ws_perf_redis_room(ngx_uint_t n)
{
    if (ngx_ws_perf_redis_cluster()
        ? !ngx_ws_perf_redis_map_known
        : ngx_ws_perf_redis_cmd.state != NGX_WS_PERF_REDIS_READY)
    {
        return NGX_DECLINED;
    }

    if (ngx_ws_perf_redis_requests + n
        > ngx_ws_perf_redis_conf->redis_max_pending)
    {
        return NGX_BUSY;
    }

    return NGX_OK;
}


/*
 * NGX_AGAIN: the handler will be called; NGX_DECLINED: redis is not
 * available; NGX_BUSY: too many publishes await redis; NGX_ERROR.
 */

ngx_int_t
ngx_ws_perf_redis_publish(ngx_ws_perf_msg_t *m, ngx_ws_perf_publish_pt handler,
    void *data, ngx_uint_t tag)
{
    ngx_int_t                  rc;
    ngx_ws_perf_msg_t          packed;
    ngx_ws_perf_redis_pub_t   *req;
    ngx_ws_perf_redis_args_t   a;
    ngx_ws_perf_redis_link_t  *link;

    if (ngx_ws_perf_redis_requests
        >= ngx_ws_perf_redis_conf->redis_max_pending)
    {
        return NGX_BUSY;
    }

    req = ngx_alloc(sizeof(ngx_ws_perf_redis_pub_t), ngx_cycle->log);
    if (req == NULL) {
        return NGX_ERROR;
    }

    req->handler = handler;
    req->data = data;
    req->tag = tag;
    req->sent = ngx_ws_perf_metrics_now();
    req->wait = 0;
    req->waits = 0;
    req->waited = NULL;
    req->taken = 0;

    /* a large payload is stored lz4-compressed, flagged 'z' */
    m = ngx_ws_perf_compress_wire(m, &packed,
                                  ngx_ws_perf_redis_conf->compress_min);

    ngx_ws_perf_redis_fcall(&a, "ws_perf_publish", 1);
    ngx_ws_perf_redis_arg_msg(&a, m);

    if (m->id) {
        ngx_ws_perf_redis_arg(&a, m->id, m->id_len);
    }

    rc = ngx_ws_perf_redis_send(ngx_ws_perf_redis_published, req, &a);

    if (rc != NGX_OK) {
        ngx_free(req);
        return rc;
    }

    ngx_ws_perf_redis_requests++;

    link = ngx_ws_perf_redis_route(&a);

    if (ngx_ws_perf_redis_conf->redis_wait_replicas) {
        /* not sent: the FCALL's reply answers, unconfirmed */
        req->wait = (ngx_ws_perf_redis_wait(link, req) == NGX_OK);
    }

    ngx_ws_perf_redis_flush(link);

    return NGX_AGAIN;
}


/* the FCALL's reply; with a WAIT after it a taken message waits for it */

static void
ngx_ws_perf_redis_published(redisAsyncContext *ac, void *reply, void *data)
{
    void                     *hdata;
    redisReply               *r = reply;
    ngx_str_t                 text;
    ngx_int_t                 rc;
    ngx_uint_t                tag;
    ngx_ws_perf_publish_pt    handler;
    ngx_ws_perf_redis_pub_t  *req = data;

    ngx_ws_perf_redis_replied(ac->data);

    if (r == NULL) {
        rc = NGX_HTTP_SERVICE_UNAVAILABLE;
        ngx_str_set(&text, "redis connection lost before it answered");

    } else if (r->type == REDIS_REPLY_ERROR) {
        ngx_ws_perf_redis_error_text(r, &text);

        /* "BUSY ...": the user's unacked messages are at their cap */
        if (text.len > 5 && ngx_strncmp(text.data, "BUSY ", 5) == 0) {
            rc = NGX_HTTP_TOO_MANY_REQUESTS;
            text.data += 5;
            text.len -= 5;

        } else {
            rc = NGX_HTTP_SERVICE_UNAVAILABLE;
        }

    } else if (ngx_ws_perf_reply_published(r) == 0) {
        rc = NGX_OK;
        text.data = (u_char *) r->element[0]->str;
        text.len = r->element[0]->len;

        ngx_ws_perf_metrics_inc(published);

        if (req->sent) {
            ngx_ws_perf_metrics_redis_command_latency_us(
                ngx_ws_perf_metrics_now() - req->sent);
        }

        if (req->wait) {
            req->id_len = text.len;
            ngx_memcpy(req->id, text.data, text.len);
            req->taken = 1;

            /*
             * unless the WAIT sent with it follows it on this link, a
             * MOVED or an ASK ran it elsewhere: one goes here, after it
             */
            if (req->waited == ac->data
                || ngx_ws_perf_redis_wait(ac->data, req) == NGX_OK)
            {
                return;
            }

            rc = NGX_HTTP_SERVICE_UNAVAILABLE;
            ngx_str_set(&text, "published, but redis did not say whether "
                               "its replicas have it");
        }

    } else {
        /* the link goes first, with its log line, then the answer */
        handler = req->handler;
        hdata = req->data;
        tag = req->tag;

        ngx_ws_perf_redis_requests--;

        if (req->waits) {
            /* the WAIT's callback, called as the link goes, frees req */
            req->handler = NULL;

        } else {
            ngx_free(req);
        }

        ngx_ws_perf_redis_bad_reply("FCALL ws_perf_publish");

        ngx_str_set(&text, "unexpected reply from redis");
        handler(hdata, tag, NGX_HTTP_INTERNAL_SERVER_ERROR, &text);
        return;
    }

    ngx_ws_perf_redis_answer(req, rc, &text);
}


/*
 * WAIT's reply, the number of replicas that have the message: fewer than
 * ws_perf_redis_wait_replicas is 503, since a failover now could lose it
 * (it was published, and may have reached subscribers all the same)
 */

static void
ngx_ws_perf_redis_replicated(redisAsyncContext *ac, void *reply, void *data)
{
    u_char                    buf[128];
    redisReply               *r = reply;
    ngx_str_t                 text;
    ngx_ws_perf_main_conf_t  *wmcf;
    ngx_ws_perf_redis_pub_t  *req = data;

    ngx_ws_perf_redis_replied(ac->data);

    wmcf = ngx_ws_perf_redis_conf;

    req->waits--;

    if (req->handler == NULL) {
        /* the FCALL's reply answered */
        if (req->waits == 0) {
            ngx_free(req);
        }

        return;
    }

    if (!req->taken) {
        /*
         * before the FCALL's reply: sent with it, and a MOVED or an ASK
         * took the FCALL to another master (or again after this WAIT);
         * its reply sends one where it ran
         */
        req->waited = NULL;
        return;
    }

    if (req->waited != ac->data) {
        /* the same, come after the FCALL's reply */
        return;
    }

    if (r && r->type == REDIS_REPLY_INTEGER && r->integer >= 0
        && (ngx_uint_t) r->integer >= wmcf->redis_wait_replicas)
    {
        text.data = req->id;
        text.len = req->id_len;
        ngx_ws_perf_redis_answer(req, NGX_OK, &text);
        return;
    }

    if (r && r->type == REDIS_REPLY_INTEGER) {
        text.data = buf;
        text.len = ngx_snprintf(buf, sizeof(buf), "published, but %L of "
                                "%ui replicas had it within %M ms",
                                (int64_t) r->integer,
                                wmcf->redis_wait_replicas,
                                wmcf->redis_wait_timeout)
                   - buf;

    } else if (r && r->type == REDIS_REPLY_ERROR) {
        ngx_ws_perf_redis_error_text(r, &text);

    } else {
        ngx_str_set(&text, "published, but redis did not say whether "
                           "its replicas have it");
    }

    if (r && r->type != REDIS_REPLY_INTEGER && r->type != REDIS_REPLY_ERROR) {
        ngx_ws_perf_redis_bad_reply("WAIT");
    }

    ngx_ws_perf_redis_answer(req, NGX_HTTP_SERVICE_UNAVAILABLE, &text);
}


/* the publish's one answer; with WAIT replies to come, the last frees req */

static void
ngx_ws_perf_redis_answer(ngx_ws_perf_redis_pub_t *req, ngx_int_t rc,
    ngx_str_t *text)
{
    ngx_ws_perf_redis_requests--;

    req->handler(req->data, req->tag, rc, text);

    if (req->waits) {
        req->handler = NULL;
        return;
    }

    ngx_free(req);
}


/*
 * WAIT on the link of the master the FCALL ran on: it counts the
 * replicas that have that connection's writes.  NGX_ERROR: not sent.
 */

static ngx_int_t
ngx_ws_perf_redis_wait(ngx_ws_perf_redis_link_t *link,
    ngx_ws_perf_redis_pub_t *req)
{
    ngx_ws_perf_redis_args_t  a;

    ngx_ws_perf_redis_args(&a, "WAIT");
    ngx_ws_perf_redis_argf(&a, "%ui",
                           ngx_ws_perf_redis_conf->redis_wait_replicas);
    ngx_ws_perf_redis_argf(&a, "%M",
                           ngx_ws_perf_redis_conf->redis_wait_timeout);

    if (ngx_ws_perf_redis_command(link, ngx_ws_perf_redis_replicated, req,
                                  &a)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    req->waits++;
    req->waited = link;

    return NGX_OK;
}


/* NGX_AGAIN: the handler will be called; NGX_DECLINED; NGX_ERROR */

ngx_int_t
ngx_ws_perf_redis_info(ngx_uint_t target, ngx_str_t *name,
    ngx_ws_perf_info_pt handler, void *data)
{
    ngx_int_t                  rc;
    ngx_ws_perf_redis_args_t   a;
    ngx_ws_perf_redis_info_t  *req;

    /* this worker's own count is exact: its HSETs go first */
    ngx_ws_perf_redis_flush_counts();

    req = ngx_alloc(sizeof(ngx_ws_perf_redis_info_t), ngx_cycle->log);
    if (req == NULL) {
        return NGX_ERROR;
    }

    req->handler = handler;
    req->data = data;

    ngx_ws_perf_redis_fcall(&a, "ws_perf_info", 2);
    ngx_ws_perf_redis_arg_key(&a, "", target, name->data, name->len);
    ngx_ws_perf_redis_arg_key(&a, "n:", target, name->data, name->len);
    ngx_ws_perf_redis_arg_shared(&a, "w:",
                                 ngx_ws_perf_redis_shard(target, name->data,
                                                         name->len));

    rc = ngx_ws_perf_redis_send(ngx_ws_perf_redis_info_reply, req, &a);

    if (rc != NGX_OK) {
        ngx_free(req);
        return rc;
    }

    return NGX_AGAIN;
}


static void
ngx_ws_perf_redis_info_reply(redisAsyncContext *ac, void *reply, void *data)
{
    redisReply                *r = reply;
    ngx_str_t                  reason;
    ngx_ws_perf_redis_info_t  *req = data;

    ngx_ws_perf_redis_replied(ac->data);

    if (r && ngx_ws_perf_reply_counts(r, 3) == 0) {
        req->handler(req->data, NGX_OK, (uint64_t) r->element[0]->integer,
                     (uint64_t) r->element[1]->integer,
                     (ngx_int_t) r->element[2]->integer, NULL);

    } else {
        if (r && r->type == REDIS_REPLY_ERROR) {
            ngx_ws_perf_redis_error_text(r, &reason);

        } else if (r) {
            ngx_str_set(&reason, "unexpected reply");
            ngx_ws_perf_redis_bad_reply("FCALL ws_perf_info");

        } else {
            ngx_str_set(&reason, "redis did not answer");
        }

        req->handler(req->data, NGX_HTTP_SERVICE_UNAVAILABLE, 0, 0, 0,
                     &reason);
    }

    ngx_free(req);
}


/*
 * A user's connections, counted in Redis on every worker of every node
 * (docs/redis.md, "Connections per user"): the hash <prefix>u:NAME#c
 * holds each worker's count under "<host>:<pid>:<session>", and
 * ws_perf_admit takes a slot only when the live ones leave room.  When
 * redis cannot answer, the worker counts its own connections only.
 */

ngx_int_t
ngx_ws_perf_redis_admit(ngx_str_t *user, ngx_uint_t max,
    ngx_ws_perf_admit_pt handler, void *data)
{
    ngx_int_t                   rc;
    ngx_ws_perf_redis_args_t    a;
    ngx_ws_perf_redis_admit_t  *req;

    req = ngx_alloc(sizeof(ngx_ws_perf_redis_admit_t), ngx_cycle->log);
    if (req == NULL) {
        return NGX_ERROR;
    }

    req->handler = handler;
    req->data = data;
    req->max = max;
    req->user.data = req->name;
    req->user.len = ngx_min(user->len, NGX_WS_PERF_NAME_MAX);
    ngx_memcpy(req->name, user->data, req->user.len);

    ngx_ws_perf_redis_fcall(&a, "ws_perf_admit", 1);
    ngx_ws_perf_redis_arg_key(&a, "", NGX_WS_PERF_TARGET_USER, user->data,
                              user->len);
    ngx_ws_perf_redis_argf(&a, "%V:%ui", &ngx_ws_perf_redis_worker,
                           ngx_ws_perf_redis_session);
    ngx_ws_perf_redis_argf(&a, "%ui", max);

    rc = ngx_ws_perf_redis_call(ngx_ws_perf_redis_admitted, req, &a);

    if (rc == NGX_AGAIN) {
        return NGX_AGAIN;
    }

    ngx_free(req);

    return ngx_ws_perf_redis_admit_here(user, max,
                                        (rc == NGX_BUSY)
                                        ? "has too many commands waiting"
                                        : "is unavailable");
}


/* the answer of ws_perf_admit: {1, n} admitted, {0, n} refused */

static void
ngx_ws_perf_redis_admitted(void *data, void *reply)
{
    ngx_ws_perf_redis_admit_t *req = data;

    void                  *d;
    u_char                 why[NGX_WS_PERF_REASON_MAX + 32];
    ngx_int_t              rc;
    ngx_str_t              text;
    redisReply            *r;
    ngx_ws_perf_admit_pt   handler;

    r = reply;

    if (r && ngx_ws_perf_reply_counts(r, 2) == 0
        && r->element[0]->integer <= 1)
    {
        rc = r->element[0]->integer ? NGX_OK : NGX_DECLINED;

    } else if (r == NULL) {
        rc = ngx_ws_perf_redis_admit_here(&req->user, req->max,
                                          "did not answer");

    } else if (r->type == REDIS_REPLY_ERROR) {
        (void) ngx_ws_perf_redis_error_text(r, &text);

        ngx_snprintf(why, sizeof(why), "refused ws_perf_admit (\"%*s\")%Z",
                     ngx_min(text.len, NGX_WS_PERF_REASON_MAX), text.data);

        rc = ngx_ws_perf_redis_admit_here(&req->user, req->max,
                                          (char *) why);

    } else {
        ngx_ws_perf_redis_bad_reply("FCALL ws_perf_admit");
        rc = ngx_ws_perf_redis_admit_here(&req->user, req->max,
                                          "answered what it never does");
    }

    handler = req->handler;
    d = req->data;

    ngx_free(req);

    handler(d, rc);
}


/*
 * Redis cannot count: the connections of this worker are counted, and
 * the operator told once per outage.  A limit must not turn an outage of
 * redis into one of the service.
 */

static ngx_int_t
ngx_ws_perf_redis_admit_here(ngx_str_t *user, ngx_uint_t max,
    const char *why)
{
    ngx_ws_perf_topic_t  *topic;

    if (!ngx_ws_perf_redis_admit_warned && !ngx_ws_perf_redis_exiting) {
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "ws_perf: redis %s: ws_perf_max_connections_per_user "
                      "counts the connections of this worker only, until "
                      "its publish link is up again", why);
        ngx_ws_perf_redis_admit_warned = 1;
    }

    topic = ngx_ws_perf_hub_lookup(NGX_WS_PERF_TARGET_USER, user);

    return (topic && topic->nsubs >= max) ? NGX_DECLINED : NGX_OK;
}


/* a connection that held a slot went: its worker's count less one */

void
ngx_ws_perf_redis_leave(ngx_str_t *user)
{
    ngx_ws_perf_redis_args_t  a;

    if (ngx_ws_perf_redis_conf == NULL) {
        return;
    }

    /* when the link is down, the count goes whole with the next session */
    ngx_ws_perf_redis_fcall(&a, "ws_perf_leave", 1);
    ngx_ws_perf_redis_arg_key(&a, "", NGX_WS_PERF_TARGET_USER, user->data,
                              user->len);
    ngx_ws_perf_redis_argf(&a, "%V:%ui", &ngx_ws_perf_redis_worker,
                           ngx_ws_perf_redis_session);

    /*
     * written by the event loop: a write that failed here would answer
     * the other waiting commands inside the connection's finalization
     */
    (void) ngx_ws_perf_redis_send(ngx_ws_perf_redis_ignore, NULL, &a);
}


/*
 * A reply of a type or shape its command never has: the publish link is
 * dropped, since the replies after it cannot be trusted to pair with the
 * commands either.  Its waiting commands are answered as for any loss.
 */

void
ngx_ws_perf_redis_bad_reply(const char *command)
{
    u_char                     reason[128];
    ngx_ws_perf_redis_link_t  *link;

    ngx_ws_perf_metrics_inc(redis_bad_replies);

    /* the link that is answering, in a cluster one master's */
    link = ngx_ws_perf_redis_replying ? ngx_ws_perf_redis_replying
                                      : &ngx_ws_perf_redis_cmd;

    if (link->ac == NULL) {
        return;
    }

    ngx_snprintf(reason, sizeof(reason), "unexpected reply to %s%Z",
                 command);

    ngx_ws_perf_redis_fail(link, (char *) reason);
}


/*
 * An error reply's text for a client, or a stand-in when it is not UTF-8.
 * An error raised inside a Lua function, rather than returned by it,
 * carries the function's source location ("ERR user_function:12: ..." or
 * "... script: NAME, on @user_function:12."): the client gets the reason
 * without it, the error log all of it (but a TRYAGAIN, raised while a
 * Redis Cluster moves the slot).  1 for such an error (something failed
 * in redis), 0 for a refusal.
 */

ngx_uint_t
ngx_ws_perf_redis_error_text(void *reply, ngx_str_t *text)
{
    u_char      *p, *last, *loc;
    uint32_t     state;
    ngx_uint_t   located;
    redisReply  *r = reply;

    state = 0;

    if (ngx_ws_perf_utf8_validate(&state, (u_char *) r->str, r->len)
        != NGX_WS_PERF_UTF8_OK)
    {
        ngx_str_set(text, "redis refused the command (an error that is "
                          "not UTF-8)");
        return 0;
    }

    p = (u_char *) r->str;
    last = p + r->len;
    located = 0;

    /* a Lua runtime error: the location follows the error code */
    loc = ngx_strlchr(p, last, ' ');

    if (loc && last - loc > 15
        && ngx_strncmp(loc + 1, "user_function:", 14) == 0)
    {
        for (loc += 15; loc < last && *loc >= '0' && *loc <= '9'; loc++) {
            /* void */
        }

        if (last - loc >= 2 && loc[0] == ':' && loc[1] == ' ') {
            p = loc + 2;
            located = 1;
        }
    }

    loc = ngx_strlcasestrn(p, last, (u_char *) " script: ", 9 - 1);

    if (loc && last[-1] == '.'
        && ngx_strlcasestrn(loc, last, (u_char *) ", on @", 6 - 1))
    {
        last = loc;
        located = 1;
    }

    if (located && ngx_strncmp(p, "TRYAGAIN ", 9) != 0) {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "ws_perf: a redis function failed: \"%*s\"",
                      r->len, r->str);
    }

    text->data = p;
    text->len = last - p;

    return located;
}


/*
 * The address as logs, nginx -t and the status may show it: the password
 * of "redis://[user]:password@host..." as "***".  A unix socket path is
 * kept as it is (it may hold an '@'); anything else is masked up to its
 * last '@', so that a mistyped address does not show its password either.
 */

ngx_int_t
ngx_ws_perf_redis_url_mask(ngx_pool_t *pool, ngx_str_t *url,
    ngx_str_t *masked)
{
    u_char  *p, *start, *at, *colon, *last;

    last = url->data + url->len;

    if (url->len >= 5 && ngx_strncmp(url->data, "unix:", 5) == 0) {
        *masked = *url;
        return NGX_OK;
    }

    start = ngx_strlcasestrn(url->data, last, (u_char *) "://", 3 - 1);
    start = start ? start + 3 : url->data;

    for (at = last; at > start && at[-1] != '@'; at--) { /* void */ }

    if (at == start) {
        *masked = *url;
        return NGX_OK;
    }

    at--;
    colon = ngx_strlchr(start, at, ':');

    p = ngx_pnalloc(pool, url->len + 3);
    if (p == NULL) {
        return NGX_ERROR;
    }

    masked->data = p;

    p = ngx_cpymem(p, url->data, (colon ? colon + 1 : start) - url->data);
    p = ngx_cpymem(p, "***", 3);
    p = ngx_cpymem(p, at, last - at);

    masked->len = p - masked->data;

    return NGX_OK;
}


/* a command's arguments: see ngx_ws_perf_redis_args_t */

void
ngx_ws_perf_redis_args(ngx_ws_perf_redis_args_t *a, const char *command)
{
    a->argc = 0;
    a->failed = 0;
    a->last = a->buf;

    ngx_ws_perf_redis_arg(a, command, ngx_strlen(command));
}


/* FCALL function nkeys: the keys and the arguments follow */

void
ngx_ws_perf_redis_fcall(ngx_ws_perf_redis_args_t *a, const char *function,
    ngx_uint_t nkeys)
{
    ngx_ws_perf_redis_args(a, "FCALL");
    ngx_ws_perf_redis_arg(a, function, ngx_strlen(function));
    ngx_ws_perf_redis_argf(a, "%ui", nkeys);
}


void
ngx_ws_perf_redis_arg(ngx_ws_perf_redis_args_t *a, const void *data,
    size_t len)
{
    if (a->argc == NGX_WS_PERF_REDIS_ARGS) {
        a->failed = 1;
        return;
    }

    a->argv[a->argc] = data;
    a->argvlen[a->argc++] = len;
}


void
ngx_ws_perf_redis_argf(ngx_ws_perf_redis_args_t *a, const char *fmt, ...)
{
    u_char   *p, *end;
    va_list   args;

    end = a->buf + sizeof(a->buf);

    va_start(args, fmt);
    p = ngx_vslprintf(a->last, end, fmt, args);
    va_end(args);

    if (p == end) {
        /* it may have been cut */
        a->failed = 1;
        return;
    }

    ngx_ws_perf_redis_arg(a, a->last, p - a->last);
    a->last = p;
}


void
ngx_ws_perf_redis_arg_key(ngx_ws_perf_redis_args_t *a, const char *kind,
    ngx_uint_t target, u_char *name, size_t len)
{
    size_t  n;

    if (len > NGX_WS_PERF_NAME_MAX
        || (size_t) (a->buf + sizeof(a->buf) - a->last)
           < NGX_WS_PERF_REDIS_KEY_MAX)
    {
        a->failed = 1;
        return;
    }

    n = ngx_ws_perf_redis_key(a->last, kind, target, name, len);

    ngx_ws_perf_redis_arg(a, a->last, n);
    a->last += n;
}


/*
 * The key of a message's target, then its data, priority and flags: what
 * ws_perf_publish and ws_perf_schedule take first.
 */

void
ngx_ws_perf_redis_arg_msg(ngx_ws_perf_redis_args_t *a, ngx_ws_perf_msg_t *m)
{
    size_t       n;
    const char  *prio;

    ngx_ws_perf_redis_arg_key(a, "", m->target, (u_char *) m->name,
                              m->name_len);
    ngx_ws_perf_redis_arg(a, m->data, m->data_len);

    prio = ngx_ws_perf_msg_priority_name(m->priority);
    ngx_ws_perf_redis_arg(a, prio, ngx_strlen(prio));

    if ((size_t) (a->buf + sizeof(a->buf) - a->last)
        < NGX_WS_PERF_WIRE_FLAGS_MAX)
    {
        a->failed = 1;
        return;
    }

    n = ngx_ws_perf_msg_wire_flags(m, (char *) a->last);

    ngx_ws_perf_redis_arg(a, a->last, n);
    a->last += n;
}


/*
 * "<prefix><kind>ch:<name>" or "<prefix><kind>u:<name>"; in a Redis
 * Cluster "<prefix>{<shard>}<kind>ch:<name>", so that a target's keys and
 * its shard's sets share one slot
 */

size_t
ngx_ws_perf_redis_key(u_char *buf, const char *kind, ngx_uint_t target,
    u_char *name, size_t len)
{
    u_char  *p;

    p = ngx_cpymem(buf, ngx_ws_perf_redis_conf->redis_prefix.data,
                   ngx_ws_perf_redis_conf->redis_prefix.len);

    if (ngx_ws_perf_redis_conf->redis_shards) {
        p = ngx_sprintf(p, "{%ui}", ngx_ws_perf_redis_shard(target, name,
                                                            len));
    }

    p = ngx_cpymem(p, kind, ngx_strlen(kind));
    p = target ? ngx_cpymem(p, "u:", 2) : ngx_cpymem(p, "ch:", 3);
    p = ngx_cpymem(p, name, len);

    return p - buf;
}


/* this worker's links as the metrics and the health check see them */

static void
ngx_ws_perf_redis_report(void)
{
    ngx_uint_t                 i, cmd, sub, state, pending;
    ngx_ws_perf_redis_node_t  *node;

    cmd = ngx_ws_perf_redis_cmd.state;
    sub = ngx_ws_perf_redis_sub.state;
    pending = ngx_ws_perf_redis_cmd.pending;

    if (ngx_ws_perf_redis_cluster()) {
        /* up when every master's links are */
        cmd = ngx_ws_perf_redis_map_known ? NGX_WS_PERF_REDIS_READY
                                          : ngx_ws_perf_redis_map.state;
        sub = cmd;

        for (i = 0; i < ngx_ws_perf_redis_nnodes; i++) {
            node = ngx_ws_perf_redis_nodes[i];

            if (node->master) {
                cmd = ngx_min(cmd, node->cmd.state);
                sub = ngx_min(sub, node->sub.state);
                pending += node->cmd.pending;
            }
        }
    }

    if (cmd == NGX_WS_PERF_REDIS_READY && sub == NGX_WS_PERF_REDIS_READY) {
        state = NGX_WS_PERF_M_REDIS_UP;

    } else if (cmd == NGX_WS_PERF_REDIS_DOWN
               || sub == NGX_WS_PERF_REDIS_DOWN)
    {
        state = NGX_WS_PERF_M_REDIS_DOWN;

    } else {
        state = NGX_WS_PERF_M_REDIS_CONNECTING;
    }

    ngx_ws_perf_metrics_redis_state(state);
    ngx_ws_perf_metrics_redis_subscribed(state == NGX_WS_PERF_M_REDIS_UP
                                         && ngx_ws_perf_redis_sub_pending
                                            == 0);
    ngx_ws_perf_metrics_redis_pending(pending);
}


/*
 * A command of another part of the module, on the publish link.
 * NGX_AGAIN: the handler will be called with the reply (NULL when the
 * link goes first); NGX_DECLINED: redis is not available; NGX_BUSY: too
 * many publishes and calls wait for it; NGX_ERROR.
 */

ngx_int_t
ngx_ws_perf_redis_call(ngx_ws_perf_redis_reply_pt handler, void *data,
    ngx_ws_perf_redis_args_t *a)
{
    return ngx_ws_perf_redis_send_call(1, handler, data, a);
}


/*
 * The same for the module's own periodic work, which bounds itself: it
 * neither counts against ws_perf_redis_max_pending nor is refused by it.
 */

ngx_int_t
ngx_ws_perf_redis_chore(ngx_ws_perf_redis_reply_pt handler, void *data,
    ngx_ws_perf_redis_args_t *a)
{
    return ngx_ws_perf_redis_send_call(0, handler, data, a);
}


static ngx_int_t
ngx_ws_perf_redis_send_call(ngx_uint_t counted,
    ngx_ws_perf_redis_reply_pt handler, void *data,
    ngx_ws_perf_redis_args_t *a)
{
    ngx_int_t                  rc;
    ngx_ws_perf_redis_call_t  *call;
    ngx_ws_perf_redis_link_t  *link;

    if (ngx_ws_perf_redis_conf == NULL) {
        return NGX_DECLINED;
    }

    link = ngx_ws_perf_redis_route(a);

    if (link == NULL || link->state != NGX_WS_PERF_REDIS_READY) {
        return NGX_DECLINED;
    }

    if (counted
        && ngx_ws_perf_redis_requests
           >= ngx_ws_perf_redis_conf->redis_max_pending)
    {
        return NGX_BUSY;
    }

    call = ngx_alloc(sizeof(ngx_ws_perf_redis_call_t), ngx_cycle->log);
    if (call == NULL) {
        return NGX_ERROR;
    }

    call->handler = handler;
    call->data = data;
    call->counted = counted;

    rc = ngx_ws_perf_redis_command(link, ngx_ws_perf_redis_called, call, a);

    if (rc != NGX_OK) {
        ngx_free(call);
        return NGX_ERROR;
    }

    ngx_ws_perf_redis_requests += counted;

    ngx_ws_perf_redis_flush(link);

    return NGX_AGAIN;
}


static void
ngx_ws_perf_redis_called(redisAsyncContext *ac, void *reply, void *data)
{
    ngx_ws_perf_redis_call_t *call = data;

    ngx_ws_perf_redis_replied(ac->data);
    ngx_ws_perf_redis_requests -= call->counted;

    call->handler(call->data, reply);

    ngx_free(call);
}


/*
 * The limits the Lua functions apply, as this node configured them; in a
 * cluster each shard's functions read their shard's copy
 */

static void
ngx_ws_perf_redis_send_config(void)
{
    ngx_uint_t                 s, n;
    ngx_ws_perf_main_conf_t   *wmcf;
    ngx_ws_perf_redis_args_t   a;

    wmcf = ngx_ws_perf_redis_conf;
    n = ngx_max(ngx_ws_perf_redis_shards(), 1);

    for (s = 0; s < n; s++) {
        ngx_ws_perf_redis_args(&a, "HSET");
        ngx_ws_perf_redis_arg_shared(&a, "config", s);

        ngx_ws_perf_redis_arg_lit(&a, "offline_max");
        ngx_ws_perf_redis_argf(&a, "%ui", wmcf->offline_max);
        ngx_ws_perf_redis_arg_lit(&a, "offline_ttl");
        ngx_ws_perf_redis_argf(&a, "%M", wmcf->offline_ttl);
        ngx_ws_perf_redis_arg_lit(&a, "history");
        ngx_ws_perf_redis_argf(&a, "%ui", wmcf->history);
        ngx_ws_perf_redis_arg_lit(&a, "ack_timeout");
        ngx_ws_perf_redis_argf(&a, "%M", wmcf->ack_timeout);
        ngx_ws_perf_redis_arg_lit(&a, "max_attempts");
        ngx_ws_perf_redis_argf(&a, "%ui", wmcf->max_attempts);
        ngx_ws_perf_redis_arg_lit(&a, "max_pending_acks");
        ngx_ws_perf_redis_argf(&a, "%ui", wmcf->max_pending_acks);
        ngx_ws_perf_redis_arg_lit(&a, "dlq_max");
        ngx_ws_perf_redis_argf(&a, "%ui", wmcf->dlq_max);

        (void) ngx_ws_perf_redis_send(ngx_ws_perf_redis_ignore, NULL, &a);
    }
}


/* 0 for one Redis server, or the shards of a Redis Cluster */

ngx_uint_t
ngx_ws_perf_redis_shards(void)
{
    return ngx_ws_perf_redis_conf ? ngx_ws_perf_redis_conf->redis_shards : 0;
}


/* the shard of a target: its keys and its sets' entries live there */

ngx_uint_t
ngx_ws_perf_redis_shard(ngx_uint_t target, u_char *name, size_t len)
{
    u_char      key[3 + NGX_WS_PERF_NAME_MAX];
    size_t      n;
    ngx_uint_t  shards;

    shards = ngx_ws_perf_redis_shards();

    if (shards == 0) {
        return 0;
    }

    len = ngx_min(len, NGX_WS_PERF_NAME_MAX);
    n = target ? 2 : 3;

    ngx_memcpy(key, target ? "u:" : "ch:", n);
    ngx_memcpy(key + n, name, len);

    return ngx_ws_perf_slot(key, n + len) % shards;
}


/* a set of the module's own, "<prefix>name" or "<prefix>{<shard>}name" */

void
ngx_ws_perf_redis_arg_shared(ngx_ws_perf_redis_args_t *a, const char *name,
    ngx_uint_t shard)
{
    ngx_str_t  *prefix;

    prefix = &ngx_ws_perf_redis_conf->redis_prefix;

    if (ngx_ws_perf_redis_conf->redis_shards) {
        ngx_ws_perf_redis_argf(a, "%V{%ui}%s", prefix, shard, name);

    } else {
        ngx_ws_perf_redis_argf(a, "%V%s", prefix, name);
    }
}


/* "<prefix>w:<host>:<pid>", in a cluster "<prefix>{<shard>}w:..." */

static void
ngx_ws_perf_redis_arg_alive(ngx_ws_perf_redis_args_t *a, ngx_uint_t shard)
{
    ngx_str_t  *prefix;

    prefix = &ngx_ws_perf_redis_conf->redis_prefix;

    if (ngx_ws_perf_redis_conf->redis_shards) {
        ngx_ws_perf_redis_argf(a, "%V{%ui}w:%V", prefix, shard,
                               &ngx_ws_perf_redis_worker);

    } else {
        ngx_ws_perf_redis_argf(a, "%Vw:%V", prefix,
                               &ngx_ws_perf_redis_worker);
    }
}


/* text added to the last argument, which was written into a's buffer */

static void
ngx_ws_perf_redis_arg_more(ngx_ws_perf_redis_args_t *a, const char *text)
{
    size_t  n;

    n = ngx_strlen(text);

    if (a->failed || a->argc == 0
        || (u_char *) a->argv[a->argc - 1] + a->argvlen[a->argc - 1]
           != a->last
        || (size_t) (a->buf + sizeof(a->buf) - a->last) < n)
    {
        a->failed = 1;
        return;
    }

    a->last = ngx_cpymem(a->last, text, n);
    a->argvlen[a->argc - 1] += n;
}


/* Redis Cluster */

static ngx_uint_t
ngx_ws_perf_redis_cluster(void)
{
    return ngx_ws_perf_redis_conf->redis_cluster != NULL;
}


static ngx_int_t
ngx_ws_perf_redis_cluster_init(ngx_cycle_t *cycle)
{
    ngx_ws_perf_redis_owner = ngx_alloc(2 * NGX_WS_PERF_SLOTS
                                        + sizeof(ngx_ws_perf_slots_t),
                                        cycle->log);
    if (ngx_ws_perf_redis_owner == NULL) {
        return NGX_ERROR;
    }

    ngx_memset(ngx_ws_perf_redis_owner, NGX_WS_PERF_SLOTS_NONE,
               2 * NGX_WS_PERF_SLOTS);
    ngx_ws_perf_redis_owned = ngx_ws_perf_redis_owner + NGX_WS_PERF_SLOTS;
    ngx_ws_perf_redis_slots = (ngx_ws_perf_slots_t *)
                                  (ngx_ws_perf_redis_owned
                                   + NGX_WS_PERF_SLOTS);

    ngx_ws_perf_redis_nnodes = 0;
    ngx_ws_perf_redis_map_known = 0;
    ngx_ws_perf_redis_map_next = 0;

    ngx_ws_perf_redis_link_init(&ngx_ws_perf_redis_map, "cluster",
                                ngx_ws_perf_redis_map_ready, cycle->log);

    (void) ngx_ws_perf_redis_connect(&ngx_ws_perf_redis_map);

    return NGX_OK;
}


/* the master at addr: known, or made, and its links started */

static ngx_ws_perf_redis_node_t *
ngx_ws_perf_redis_node(ngx_ws_perf_slots_node_t *addr)
{
    ngx_uint_t                 i;
    ngx_ws_perf_redis_node_t  *node;

    for (i = 0; i < ngx_ws_perf_redis_nnodes; i++) {
        node = ngx_ws_perf_redis_nodes[i];

        if (node->addr.port == addr->port
            && ngx_strcmp(node->addr.host, addr->host) == 0)
        {
            return node;
        }
    }

    if (ngx_ws_perf_redis_nnodes == NGX_WS_PERF_SLOTS_NODES) {
        return ngx_ws_perf_redis_node_reuse(addr);
    }

    node = ngx_calloc(sizeof(ngx_ws_perf_redis_node_t)
                      + sizeof("cluster master []:65535")
                      + NGX_WS_PERF_SLOTS_HOST_MAX, ngx_cycle->log);
    if (node == NULL) {
        return NULL;
    }

    node->index = ngx_ws_perf_redis_nnodes;
    ngx_ws_perf_redis_nodes[ngx_ws_perf_redis_nnodes++] = node;

    ngx_ws_perf_redis_node_start(node, addr);

    return node;
}


/*
 * The table is full (maps that name new masters every time, redirections
 * to nodes that are none): a node that is no master and has no link up
 * nor anything in flight takes the new address.  NULL: none is free.
 */

static ngx_ws_perf_redis_node_t *
ngx_ws_perf_redis_node_reuse(ngx_ws_perf_slots_node_t *addr)
{
    ngx_uint_t                 i, s;
    ngx_ws_perf_redis_node_t  *node;

    for (i = 0; i < ngx_ws_perf_redis_nnodes; i++) {
        node = ngx_ws_perf_redis_nodes[i];

        if (node->master || node->cmd.ac || node->sub.ac
            || node->cmd.timer.timer_set || node->sub.timer.timer_set
            || node->cmd.cb_n || node->sub.cb_n)
        {
            continue;
        }

        ngx_ws_perf_redis_close(&node->cmd);
        ngx_ws_perf_redis_close(&node->sub);

        /* its slots have no owner now: a later map moves what they hold */
        for (s = 0; s < NGX_WS_PERF_SLOTS; s++) {
            if (ngx_ws_perf_redis_owner[s] == node->index) {
                ngx_ws_perf_redis_owner[s] = NGX_WS_PERF_SLOTS_NONE;
            }

            if (ngx_ws_perf_redis_owned[s] == node->index) {
                ngx_ws_perf_redis_owned[s] = NGX_WS_PERF_SLOTS_NONE;
            }
        }

        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                       "ws_perf: redis %V is forgotten", &node->name);

        ngx_memzero(&node->cmd, sizeof(ngx_ws_perf_redis_link_t));
        ngx_memzero(&node->sub, sizeof(ngx_ws_perf_redis_link_t));
        node->heard = 0;

        ngx_ws_perf_redis_node_start(node, addr);

        return node;
    }

    return NULL;
}


/* a node's address, name and links, which start connecting */

static void
ngx_ws_perf_redis_node_start(ngx_ws_perf_redis_node_t *node,
    ngx_ws_perf_slots_node_t *addr)
{
    u_char  *p;

    node->addr = *addr;

    ngx_ws_perf_redis_link_init(&node->cmd, "publish",
                                ngx_ws_perf_redis_cmd_ready, ngx_cycle->log);
    ngx_ws_perf_redis_link_init(&node->sub, "subscribe",
                                ngx_ws_perf_redis_sub_ready, ngx_cycle->log);

    node->cmd.node = node;
    node->sub.node = node;

    p = (u_char *) (node + 1);
    node->name.data = p;
    node->name.len = ngx_sprintf(p, "cluster master %s:%ui", addr->host,
                                 addr->port)
                     - p;
    node->cmd.shown = &node->name;
    node->sub.shown = &node->name;

    ngx_log_error(NGX_LOG_NOTICE, ngx_cycle->log, 0,
                  "ws_perf: redis %V joins", &node->name);

    (void) ngx_ws_perf_redis_connect(&node->cmd);
    (void) ngx_ws_perf_redis_connect(&node->sub);
}


/* the map is asked for again, on the cluster link */

static void
ngx_ws_perf_redis_map_ask(void)
{
    ngx_ws_perf_redis_args_t  a;

    if (ngx_ws_perf_redis_map.state != NGX_WS_PERF_REDIS_READY) {
        return;
    }

    ngx_ws_perf_redis_args(&a, "CLUSTER");
    ngx_ws_perf_redis_arg_lit(&a, "SLOTS");

    if (ngx_ws_perf_redis_command(&ngx_ws_perf_redis_map,
                                  ngx_ws_perf_redis_map_reply, NULL, &a)
        == NGX_OK)
    {
        ngx_ws_perf_redis_map_asked = 1;
    }
}


/* data is the link when the reply ends its handshake */

static void
ngx_ws_perf_redis_map_reply(redisAsyncContext *ac, void *reply, void *data)
{
    redisReply                *r;
    ngx_ws_perf_redis_link_t  *link = ac->data;

    r = ngx_ws_perf_redis_step(ac, reply);
    if (r == NULL) {
        return;
    }

    if (ngx_ws_perf_slots_parse(r, ngx_ws_perf_redis_map_host,
                                ngx_ws_perf_redis_slots)
        != 0
        || ngx_ws_perf_redis_slots->nnodes == 0)
    {
        /* the map the worker had, if any, stays */
        ngx_ws_perf_metrics_inc(redis_bad_replies);
        ngx_ws_perf_redis_fail(link, "CLUSTER SLOTS answered no map");
        return;
    }

    /* said once for each new state, not every time the map is asked */
    if ((ngx_ws_perf_redis_slots->covered != NGX_WS_PERF_SLOTS
         || ngx_ws_perf_redis_slots->skipped)
        && (ngx_ws_perf_redis_slots->covered != ngx_ws_perf_redis_map_covered
            || ngx_ws_perf_redis_slots->skipped
               != ngx_ws_perf_redis_map_skipped))
    {
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "ws_perf: redis cluster: %uz of %d slots have a "
                      "master, %uz ranges were not understood",
                      ngx_ws_perf_redis_slots->covered, NGX_WS_PERF_SLOTS,
                      ngx_ws_perf_redis_slots->skipped);
    }

    ngx_ws_perf_redis_map_covered = ngx_ws_perf_redis_slots->covered;
    ngx_ws_perf_redis_map_skipped = ngx_ws_perf_redis_slots->skipped;

    ngx_ws_perf_redis_map_apply(ngx_ws_perf_redis_slots);

    if (data) {
        ngx_ws_perf_redis_became_ready(link);
    }
}


/*
 * A new map: the masters it names get links, those it no longer names
 * lose theirs (their waiting commands are answered as for a loss), and
 * the topics of slots that moved are subscribed where they are now.
 */

static void
ngx_ws_perf_redis_map_apply(ngx_ws_perf_slots_t *map)
{
    uint8_t                    index[NGX_WS_PERF_SLOTS_NODES];
    ngx_uint_t                 i, k, moved;
    ngx_ws_perf_redis_node_t  *node;

    for (i = 0; i < ngx_ws_perf_redis_nnodes; i++) {
        ngx_ws_perf_redis_nodes[i]->master = 0;
    }

    for (k = 0; k < map->nnodes; k++) {
        node = ngx_ws_perf_redis_node(&map->nodes[k]);
        index[k] = node ? (uint8_t) node->index : NGX_WS_PERF_SLOTS_NONE;

        if (node) {
            node->master = 1;

            if (node->cmd.state == NGX_WS_PERF_REDIS_DOWN
                && node->cmd.ac == NULL && !node->cmd.timer.timer_set)
            {
                (void) ngx_ws_perf_redis_connect(&node->cmd);
                (void) ngx_ws_perf_redis_connect(&node->sub);
            }
        }
    }

    for (i = 0; i < ngx_ws_perf_redis_nnodes; i++) {
        node = ngx_ws_perf_redis_nodes[i];

        if (!node->master && (node->cmd.ac || node->cmd.timer.timer_set)) {
            ngx_log_error(NGX_LOG_NOTICE, ngx_cycle->log, 0,
                          "ws_perf: redis %V is no longer a master",
                          &node->name);
            ngx_ws_perf_redis_close(&node->cmd);
            ngx_ws_perf_redis_close(&node->sub);
        }
    }

    /*
     * compared with where the topics were placed, not with the last map:
     * a MOVED may have given a slot its new master already
     * (ngx_ws_perf_redis_redirect()), but its topics are still where
     * they were
     */
    moved = 0;

    for (i = 0; i < NGX_WS_PERF_SLOTS; i++) {
        k = map->owner[i];
        ngx_ws_perf_redis_owner[i] = (k < map->nnodes)
                                     ? index[k] : NGX_WS_PERF_SLOTS_NONE;
        moved += (ngx_ws_perf_redis_owner[i] != ngx_ws_perf_redis_owned[i]);
    }

    if (!ngx_ws_perf_redis_map_known) {
        ngx_log_error(NGX_LOG_NOTICE, ngx_cycle->log, 0,
                      "ws_perf: redis cluster: %uz masters",
                      map->nnodes);
    }

    ngx_ws_perf_redis_map_known = 1;

    if (moved) {
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                       "ws_perf: redis cluster: %ui slots moved", moved);

        ngx_ws_perf_hub_walk(ngx_ws_perf_redis_map_moved, NULL);

        /* placed: the tick's walks move only what moves after this */
        ngx_memcpy(ngx_ws_perf_redis_owned, ngx_ws_perf_redis_owner,
                   NGX_WS_PERF_SLOTS);
    }

    ngx_ws_perf_redis_report();
}


/*
 * A topic is subscribed where its slot is served: after the map moved
 * its slot (data NULL), or when the master's subscribe link is ready
 * (data is the master)
 */

static void
ngx_ws_perf_redis_map_moved(ngx_ws_perf_topic_t *topic, void *data)
{
    u_char                    key[NGX_WS_PERF_REDIS_KEY_MAX];
    size_t                    len;
    ngx_uint_t                slot, n;
    ngx_ws_perf_redis_node_t *node = data;

    if (topic->nsubs == 0) {
        return;
    }

    len = ngx_ws_perf_redis_key(key, "", topic->target, topic->name.data,
                                topic->name.len);
    slot = ngx_ws_perf_slot(key, len);

    if (node) {
        if (ngx_ws_perf_redis_owner[slot] != node->index) {
            return;
        }

    } else if (ngx_ws_perf_redis_owner[slot]
               == ngx_ws_perf_redis_owned[slot]
               && topic->subscribed)
    {
        return;
    }

    ngx_log_debug4(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                   "ws_perf: redis \"%V\" of slot %ui placed on %ui, "
                   "in place: %ui", &topic->name, slot,
                   ngx_ws_perf_redis_owner[slot], topic->subscribed);

    if (topic->subscribed) {
        /* whatever came meanwhile may have gone to the old master */
        topic->subscribed = 0;
        topic->asked = 0;
        topic->missed = 1;
        ngx_ws_perf_redis_resync = 1;
    }

    ngx_ws_perf_redis_placing++;

    /* asked on this connection of its master's link: the answer comes */
    n = ngx_ws_perf_redis_owner[slot];

    if (topic->asked && n < ngx_ws_perf_redis_nnodes
        && topic->asked == ngx_ws_perf_redis_nodes[n]->connection)
    {
        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                       "ws_perf: redis \"%V\" awaits its answer on "
                       "connection %ui", &topic->name, topic->asked);
        return;
    }

    ngx_ws_perf_redis_ssubscribe(topic, "SSUBSCRIBE");
}


static void
ngx_ws_perf_redis_map_ready(ngx_ws_perf_redis_link_t *link)
{
    ngx_ws_perf_redis_send_config();
}


static ngx_ws_perf_redis_node_t *
ngx_ws_perf_redis_owner_of(u_char *key, size_t len)
{
    ngx_uint_t  n;

    if (!ngx_ws_perf_redis_cluster()) {
        return NULL;
    }

    n = ngx_ws_perf_redis_owner[ngx_ws_perf_slot(key, len)];

    return (n < ngx_ws_perf_redis_nnodes) ? ngx_ws_perf_redis_nodes[n]
                                          : NULL;
}


/*
 * The link a command goes on: the publish link, or in a cluster that of
 * the master of its key's slot (the first key of an FCALL), or NULL
 */

static ngx_ws_perf_redis_link_t *
ngx_ws_perf_redis_route(ngx_ws_perf_redis_args_t *a)
{
    ngx_uint_t                 k;
    ngx_ws_perf_redis_node_t  *node;

    if (!ngx_ws_perf_redis_cluster()) {
        return &ngx_ws_perf_redis_cmd;
    }

    k = (a->argc > 0 && a->argvlen[0] == 5
         && ngx_strncmp(a->argv[0], "FCALL", 5) == 0)
        ? 3 : 1;

    if ((ngx_uint_t) a->argc <= k) {
        return NULL;
    }

    node = ngx_ws_perf_redis_owner_of((u_char *) a->argv[k], a->argvlen[k]);

    return node ? &node->cmd : NULL;
}


/* NGX_OK: sent; NGX_DECLINED: its link is not up; NGX_ERROR */

static ngx_int_t
ngx_ws_perf_redis_send(redisCallbackFn *fn, void *data,
    ngx_ws_perf_redis_args_t *a)
{
    ngx_ws_perf_redis_link_t  *link;

    link = ngx_ws_perf_redis_route(a);

    if (link == NULL || link->state != NGX_WS_PERF_REDIS_READY) {
        return NGX_DECLINED;
    }

    return ngx_ws_perf_redis_command(link, fn, data, a);
}


/*
 * A MOVED or an ASK: the command goes again to the master that serves
 * the slot now, its callback with it; a MOVED has the map asked for
 * again.  NGX_DECLINED: the callback gets the error; NGX_ERROR: so does
 * it, and the redirection was not understood (a bad reply).
 */

static ngx_int_t
ngx_ws_perf_redis_redirect(ngx_ws_perf_redis_link_t *link,
    ngx_ws_perf_redis_cb_t *cb, redisReply *r)
{
    ngx_ws_perf_redis_cb_t         *to;
    ngx_ws_perf_redis_node_t       *node;
    ngx_ws_perf_redis_link_t       *target;
    ngx_ws_perf_slots_redirect_t    rd;
    static const char               asking[] = "*1\r\n$6\r\nASKING\r\n";

    if (link->node == NULL || cb->moves >= 3) {
        return NGX_DECLINED;
    }

    if (ngx_ws_perf_slots_redirect(r->str, r->len, link->node->addr.host,
                                   &rd)
        != 0)
    {
        return ((r->len > 6 && ngx_strncmp(r->str, "MOVED ", 6) == 0)
                || (r->len > 4 && ngx_strncmp(r->str, "ASK ", 4) == 0))
               ? NGX_ERROR : NGX_DECLINED;
    }

    node = ngx_ws_perf_redis_node(&rd.node);

    if (rd.kind == NGX_WS_PERF_SLOTS_MOVED) {
        ngx_ws_perf_redis_map_asked = 0;

        if (node) {
            ngx_ws_perf_redis_owner[rd.slot] = (uint8_t) node->index;
        }
    }

    if (node == NULL) {
        return NGX_DECLINED;
    }

    target = &node->cmd;

    if (target->state != NGX_WS_PERF_REDIS_READY || target->ac == NULL) {
        return NGX_DECLINED;
    }

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                   "ws_perf: redis %s of slot %ui to %V",
                   rd.kind == NGX_WS_PERF_SLOTS_ASK ? "ASK" : "MOVED",
                   (ngx_uint_t) rd.slot, target->shown);

    if (rd.kind == NGX_WS_PERF_SLOTS_ASK) {
        if (ngx_ws_perf_redis_cb_push(target, ngx_ws_perf_redis_ignore, NULL)
            != NGX_OK)
        {
            return NGX_DECLINED;
        }

        if (redisAppendFormattedCommand(&target->ac->c, asking,
                                        sizeof(asking) - 1)
            != REDIS_OK)
        {
            target->cb_n--;
            return NGX_DECLINED;
        }

        target->pending++;
    }

    if (ngx_ws_perf_redis_cb_push(target, cb->fn, cb->data) != NGX_OK) {
        return NGX_DECLINED;
    }

    if (redisAppendFormattedCommand(&target->ac->c, cb->cmd, cb->len)
        != REDIS_OK)
    {
        target->cb_n--;
        return NGX_DECLINED;
    }

    to = &target->cbs[(target->cb_head + target->cb_n - 1)
                      % target->cb_size];
    to->cmd = cb->cmd;
    to->len = cb->len;
    to->moves = cb->moves + 1;
    to->tries = cb->tries;

    ngx_ws_perf_redis_replied(link);

    if (target->pending++ == 0) {
        ngx_ws_perf_redis_await(target);
    }

    ngx_ws_perf_redis_add_write(target->ac->ev.data);

    return NGX_OK;
}


/*
 * A TRYAGAIN (a slot being moved, its keys not all on one master yet):
 * the command goes to the same master again in a moment, at most
 * NGX_WS_PERF_REDIS_RETRIES times; a MOVED or an ASK then takes it to
 * where the slot went.  The Lua functions raise it before they write, so
 * that sending one again is safe.  NGX_DECLINED: the callback gets it.
 */

static ngx_int_t
ngx_ws_perf_redis_retry(ngx_ws_perf_redis_link_t *link,
    ngx_ws_perf_redis_cb_t *cb, redisReply *r)
{
    ngx_ws_perf_redis_retry_t  *rt;

    if (link->node == NULL || ngx_ws_perf_redis_exiting
        || cb->tries >= NGX_WS_PERF_REDIS_RETRIES
        || r->len < 9 || ngx_strncmp(r->str, "TRYAGAIN ", 9) != 0)
    {
        return NGX_DECLINED;
    }

    rt = ngx_alloc(sizeof(ngx_ws_perf_redis_retry_t), ngx_cycle->log);
    if (rt == NULL) {
        return NGX_DECLINED;
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                   "ws_perf: redis %V: TRYAGAIN, try %ui",
                   &link->node->name, cb->tries + 1);

    /* the redirections start again: an ASK may have taken it here */
    rt->cb = *cb;
    rt->cb.tries++;
    rt->cb.moves = 0;
    rt->node = link->node;
    rt->due = ngx_current_msec + NGX_WS_PERF_REDIS_RETRY_DELAY;

    ngx_queue_insert_tail(&ngx_ws_perf_redis_retries, &rt->queue);

    /* answered for now: the link's reply timer counts one less */
    ngx_ws_perf_redis_replied(link);

    if (!ngx_ws_perf_redis_retrier.timer_set) {
        ngx_add_timer(&ngx_ws_perf_redis_retrier,
                      NGX_WS_PERF_REDIS_RETRY_DELAY);
    }

    return NGX_OK;
}


static void
ngx_ws_perf_redis_retry_handler(ngx_event_t *ev)
{
    ngx_queue_t                *q;
    ngx_ws_perf_redis_retry_t  *rt;

    while (!ngx_queue_empty(&ngx_ws_perf_redis_retries)) {
        q = ngx_queue_head(&ngx_ws_perf_redis_retries);
        rt = ngx_queue_data(q, ngx_ws_perf_redis_retry_t, queue);

        if ((ngx_msec_int_t) (rt->due - ngx_current_msec) > 0) {
            ngx_add_timer(ev, rt->due - ngx_current_msec);
            return;
        }

        ngx_queue_remove(q);
        ngx_ws_perf_redis_retry_send(rt);
    }
}


/* the command on its master's link again, or its callback gets NULL */

static void
ngx_ws_perf_redis_retry_send(ngx_ws_perf_redis_retry_t *rt)
{
    ngx_ws_perf_redis_cb_t    *to;
    ngx_ws_perf_redis_link_t  *link;

    link = &rt->node->cmd;

    if (link->state == NGX_WS_PERF_REDIS_READY && link->ac
        && ngx_ws_perf_redis_conf && !ngx_ws_perf_redis_exiting
        && ngx_ws_perf_redis_cb_push(link, rt->cb.fn, rt->cb.data) == NGX_OK)
    {
        if (redisAppendFormattedCommand(&link->ac->c, rt->cb.cmd,
                                        rt->cb.len)
            == REDIS_OK)
        {
            to = &link->cbs[(link->cb_head + link->cb_n - 1)
                            % link->cb_size];
            *to = rt->cb;

            if (link->pending++ == 0) {
                ngx_ws_perf_redis_await(link);
            }

            ngx_ws_perf_redis_add_write(link->ac->ev.data);

            ngx_free(rt);
            return;
        }

        link->cb_n--;
    }

    /* as for a link that went before it answered */
    rt->cb.fn(&ngx_ws_perf_redis_noac, NULL, rt->cb.data);

    redisFreeCommand(rt->cb.cmd);
    ngx_free(rt);
}


/* the worker exits: what waits to be sent again is answered NULL */

static void
ngx_ws_perf_redis_retry_flush(void)
{
    ngx_queue_t                *q;
    ngx_ws_perf_redis_retry_t  *rt;

    if (ngx_ws_perf_redis_retrier.timer_set) {
        ngx_del_timer(&ngx_ws_perf_redis_retrier);
    }

    while (!ngx_queue_empty(&ngx_ws_perf_redis_retries)) {
        q = ngx_queue_head(&ngx_ws_perf_redis_retries);
        ngx_queue_remove(q);

        rt = ngx_queue_data(q, ngx_ws_perf_redis_retry_t, queue);
        ngx_ws_perf_redis_retry_send(rt);
    }
}


/* SSUBSCRIBE or SUNSUBSCRIBE of a topic, on its master's subscribe link */

static void
ngx_ws_perf_redis_ssubscribe(ngx_ws_perf_topic_t *topic, const char *verb)
{
    ngx_ws_perf_redis_args_t   a;
    ngx_ws_perf_redis_node_t  *node;

    ngx_ws_perf_redis_args(&a, verb);
    ngx_ws_perf_redis_arg_key(&a, "", topic->target, topic->name.data,
                              topic->name.len);

    if (ngx_ws_perf_redis_sub_send(&a) == NGX_OK && verb[1] == 'S') {
        ngx_ws_perf_redis_sub_pending++;

        node = ngx_ws_perf_redis_owner_of((u_char *) a.argv[1],
                                          a.argvlen[1]);
        topic->asked = node ? node->connection : 0;

        ngx_log_debug3(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                       "ws_perf: redis SSUBSCRIBE \"%V\" sent, "
                       "connection %ui of %V", &topic->name,
                       topic->asked, node ? &node->name : &topic->name);
    }
}


/* a command whose replies are pushes, on the key's master's sub link */

static ngx_int_t
ngx_ws_perf_redis_sub_send(ngx_ws_perf_redis_args_t *a)
{
    ngx_ws_perf_redis_node_t  *node;
    ngx_ws_perf_redis_link_t  *link;

    if (a->failed || a->argc < 2) {
        return NGX_ERROR;
    }

    node = ngx_ws_perf_redis_owner_of((u_char *) a->argv[1], a->argvlen[1]);

    if (node == NULL || node->sub.state != NGX_WS_PERF_REDIS_READY) {
        /* it is sent when the link is ready (ngx_ws_perf_redis_sub_ready) */
        return NGX_DECLINED;
    }

    link = &node->sub;

    if (redisAppendCommandArgv(&link->ac->c, a->argc, a->argv, a->argvlen)
        != REDIS_OK)
    {
        ngx_ws_perf_redis_fail(link, "cannot send a subscription");
        return NGX_ERROR;
    }

    ngx_ws_perf_redis_add_write(link->ac->ev.data);

    return NGX_OK;
}


/*
 * A cluster's half second: the worker's keys in every shard now and then,
 * the changed subscriber counts, a PING on each subscribe link (one that
 * stops answering is replaced), and the map asked for again while a
 * master's links are down or a redirection said it changed.
 */

static void
ngx_ws_perf_redis_cluster_tick(ngx_uint_t alive)
{
    ngx_uint_t                 i, s, down;
    ngx_ws_perf_main_conf_t   *wmcf;
    ngx_ws_perf_redis_args_t   a;
    ngx_ws_perf_redis_node_t  *node;

    wmcf = ngx_ws_perf_redis_conf;

    if (!ngx_ws_perf_redis_map_known) {
        return;
    }

    if (alive) {
        for (s = 0; s < wmcf->redis_shards; s++) {
            ngx_ws_perf_redis_args(&a, "SET");
            ngx_ws_perf_redis_arg_alive(&a, s);
            ngx_ws_perf_redis_argf(&a, "%ui", ngx_ws_perf_redis_session);
            ngx_ws_perf_redis_arg_lit(&a, "PX");
            ngx_ws_perf_redis_argf(&a, "%M", wmcf->redis_worker_ttl);

            (void) ngx_ws_perf_redis_send(ngx_ws_perf_redis_ignore, NULL,
                                          &a);
        }
    }

    ngx_ws_perf_redis_flush_counts();
    ngx_ws_perf_redis_presence_sweep();

    down = 0;

    for (i = 0; i < ngx_ws_perf_redis_nnodes; i++) {
        node = ngx_ws_perf_redis_nodes[i];

        if (!node->master) {
            continue;
        }

        /* whatever its publish link does: a master that hangs */
        if (node->sub.state == NGX_WS_PERF_REDIS_READY) {
            ngx_ws_perf_redis_sub_ping(node);
        }

        down += (node->cmd.state != NGX_WS_PERF_REDIS_READY
                 || node->sub.state != NGX_WS_PERF_REDIS_READY);
    }

    if (down || !ngx_ws_perf_redis_map_asked
        || ngx_ws_perf_redis_ticks % 10 == 0)
    {
        ngx_ws_perf_redis_map_ask();
    }

    /* what could not be subscribed before */
    if (down == 0 && ngx_ws_perf_redis_resync) {
        ngx_ws_perf_redis_placing = 0;
        ngx_ws_perf_hub_walk(ngx_ws_perf_redis_map_moved, NULL);

        ngx_memcpy(ngx_ws_perf_redis_owned, ngx_ws_perf_redis_owner,
                   NGX_WS_PERF_SLOTS);

        /*
         * all in place, though the count still awaits answers that will
         * not come (refused, or on a link that went)
         */
        if (ngx_ws_perf_redis_placing == 0) {
            ngx_ws_perf_redis_in_place();
        }
    }
}


/* a PING on a master's subscribe link, replaced if the last went unheard */

static void
ngx_ws_perf_redis_sub_ping(ngx_ws_perf_redis_node_t *node)
{
    static const char  ping[] = "*1\r\n$4\r\nPING\r\n";

    if (ngx_current_msec - node->heard
        > ngx_ws_perf_redis_conf->redis_command_timeout
          + 2 * NGX_WS_PERF_REDIS_TICK)
    {
        ngx_ws_perf_redis_fail(&node->sub, "PING not answered");
        return;
    }

    /* its answer is a push: {"pong", ""} */
    if (redisAppendFormattedCommand(&node->sub.ac->c, ping, sizeof(ping) - 1)
        == REDIS_OK)
    {
        ngx_ws_perf_redis_add_write(node->sub.ac->ev.data);
    }
}


/*
 * The sentinel link: AUTH where configured, the master's address, and
 * SUBSCRIBE +switch-master on the same connection, sent together: a
 * switch after the answer is heard.
 */

static void
ngx_ws_perf_redis_sentinel_handshake(ngx_ws_perf_redis_link_t *link)
{
    ngx_ws_perf_main_conf_t   *wmcf;
    ngx_ws_perf_redis_args_t   a;

    wmcf = ngx_ws_perf_redis_conf;

    if (ngx_ws_perf_redis_auth(link, &wmcf->sentinel_user,
                               &wmcf->sentinel_password)
        != NGX_OK)
    {
        return;
    }

    ngx_ws_perf_redis_args(&a, "SENTINEL");
    ngx_ws_perf_redis_arg_lit(&a, "get-master-addr-by-name");
    ngx_ws_perf_redis_arg(&a, wmcf->sentinel_name.data,
                          wmcf->sentinel_name.len);

    if (ngx_ws_perf_redis_command(link, ngx_ws_perf_redis_sentinel_master,
                                  NULL, &a)
        != NGX_OK)
    {
        return;
    }

    ngx_ws_perf_redis_args(&a, "SUBSCRIBE");
    ngx_ws_perf_redis_arg_lit(&a, "+switch-master");

    (void) ngx_ws_perf_redis_command(link,
                                     ngx_ws_perf_redis_sentinel_subscribed,
                                     NULL, &a);
}


static void
ngx_ws_perf_redis_sentinel_master(redisAsyncContext *ac, void *reply,
    void *data)
{
    redisReply                *r;
    ngx_ws_perf_master_t       m;
    ngx_ws_perf_redis_link_t  *link = ac->data;

    r = ngx_ws_perf_redis_step(ac, reply);
    if (r == NULL) {
        return;
    }

    ngx_ws_perf_redis_sentinel_said(link, ngx_ws_perf_reply_master(r, &m),
                                    &m, "SENTINEL get-master-addr-by-name");
}


static void
ngx_ws_perf_redis_sentinel_subscribed(redisAsyncContext *ac, void *reply,
    void *data)
{
    redisReply                *r;
    ngx_ws_perf_push_t         push;
    ngx_ws_perf_redis_link_t  *link = ac->data;

    r = ngx_ws_perf_redis_step(ac, reply);
    if (r == NULL) {
        return;
    }

    if (ngx_ws_perf_reply_push(r, &push) != 0
        || push.kind != NGX_WS_PERF_PUSH_SUBSCRIBE
        || push.channel_len != sizeof("+switch-master") - 1
        || ngx_strncmp(push.channel, "+switch-master", push.channel_len)
           != 0)
    {
        ngx_ws_perf_metrics_inc(redis_bad_replies);
        ngx_ws_perf_redis_fail(link, "unexpected reply to SUBSCRIBE");
        return;
    }

    ngx_ws_perf_redis_sentinel_ready(link);
}


/*
 * What a sentinel said of the master (rc of ngx_ws_perf_reply_master()
 * or _switch()): an address is taken; no master, a host name (a worker
 * has no resolver that does not block) or a reply of the wrong shape
 * has the next sentinel asked.
 */

static void
ngx_ws_perf_redis_sentinel_said(ngx_ws_perf_redis_link_t *link, int rc,
    ngx_ws_perf_master_t *m, const char *command)
{
    u_char  reason[NGX_WS_PERF_HOST_MAX + 128];

    switch (rc) {

    case NGX_WS_PERF_SENTINEL_ADDRESS:
        ngx_ws_perf_redis_master_is(m);
        break;

    case NGX_WS_PERF_SENTINEL_UNKNOWN:
        ngx_ws_perf_redis_fail(link, "it monitors no master of that name");
        break;

    case NGX_WS_PERF_SENTINEL_HOST:
        ngx_snprintf(reason, sizeof(reason), "it names the master by a "
                     "host name, \"%s\", not an IP address%Z", m->host);
        ngx_ws_perf_redis_fail(link, (char *) reason);
        break;

    case NGX_WS_PERF_SENTINEL_OTHER:
    case NGX_WS_PERF_SENTINEL_PONG:
        break;

    default:
        ngx_ws_perf_metrics_inc(redis_bad_replies);
        ngx_snprintf(reason, sizeof(reason), "unexpected reply to %s%Z",
                     command);
        ngx_ws_perf_redis_fail(link, (char *) reason);
    }
}


/* NGX_ERROR: not a +switch-master message or a PONG, the link is dropped */

static ngx_int_t
ngx_ws_perf_redis_sentinel_push(ngx_ws_perf_redis_link_t *link,
    redisReply *r)
{
    int                    rc;
    ngx_str_t             *name;
    ngx_ws_perf_master_t   m;

    name = &ngx_ws_perf_redis_conf->sentinel_name;

    rc = ngx_ws_perf_reply_switch(r, name->data, name->len, &m);

    if (rc == -1) {
        return NGX_ERROR;
    }

    ngx_ws_perf_redis_sentinel_heard = ngx_current_msec;

    ngx_ws_perf_redis_sentinel_said(link, rc, &m, "SUBSCRIBE");

    return NGX_OK;
}


static void
ngx_ws_perf_redis_sentinel_ready(ngx_ws_perf_redis_link_t *link)
{
    ngx_ws_perf_main_conf_t   *wmcf;
    ngx_ws_perf_redis_addr_t  *sentinel;

    wmcf = ngx_ws_perf_redis_conf;
    sentinel = wmcf->sentinels->elts;

    link->state = NGX_WS_PERF_REDIS_READY;
    link->backoff = wmcf->redis_reconnect_min;
    link->attempts = 0;

    if (link->timer.timer_set) {
        ngx_del_timer(&link->timer);
    }

    if (ngx_ws_perf_redis_sentinel_failures) {
        ngx_log_error(NGX_LOG_NOTICE, ngx_cycle->log, 0,
                      "ws_perf: redis sentinel %V of \"%V\" answers, "
                      "after %ui failures", &sentinel[ngx_ws_perf_redis_asked]
                      .text, &wmcf->sentinel_name,
                      ngx_ws_perf_redis_sentinel_failures);

    } else {
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                       "ws_perf: redis sentinel %V ready",
                       &sentinel[ngx_ws_perf_redis_asked].text);
    }

    ngx_ws_perf_redis_sentinel_failures = 0;
    ngx_ws_perf_redis_tried = 0;
    ngx_ws_perf_redis_sentinel_heard = ngx_current_msec;
    ngx_ws_perf_redis_sentinel_pinged = ngx_current_msec;
}


/*
 * The sentinel link failed: the next sentinel is asked at once, and after
 * a round of them all with the backoff of ws_perf_redis_reconnect.  The
 * 1st, 2nd, 4th, 8th... failure in a row is logged.
 */

static void
ngx_ws_perf_redis_sentinel_lost(ngx_ws_perf_redis_link_t *link,
    const char *reason)
{
    ngx_uint_t                 n, failures;
    ngx_msec_t                 wait;
    ngx_ws_perf_main_conf_t   *wmcf;
    ngx_ws_perf_redis_addr_t  *sentinel;

    wmcf = ngx_ws_perf_redis_conf;
    sentinel = wmcf->sentinels->elts;
    n = wmcf->sentinels->nelts;

    link->state = NGX_WS_PERF_REDIS_DOWN;

    if (link->timer.timer_set) {
        ngx_del_timer(&link->timer);
    }

    failures = ++ngx_ws_perf_redis_sentinel_failures;

    if ((failures & (failures - 1)) == 0) {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "ws_perf: redis sentinel %V of \"%V\" failed: %s; "
                      "asking %s (%ui failures in a row)",
                      &sentinel[ngx_ws_perf_redis_asked].text,
                      &wmcf->sentinel_name, reason,
                      n > 1 ? "the next one" : "it again", failures);

    } else {
        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                       "ws_perf: redis sentinel %V failed: %s",
                       &sentinel[ngx_ws_perf_redis_asked].text, reason);
    }

    ngx_ws_perf_redis_asked = (ngx_ws_perf_redis_asked + 1) % n;

    if (++ngx_ws_perf_redis_tried < n) {
        wait = 1;

    } else {
        ngx_ws_perf_redis_tried = 0;
        wait = link->backoff;
        link->backoff = ngx_min(link->backoff * 2,
                                wmcf->redis_reconnect_max);
    }

    link->timer.cancelable = 1;
    ngx_add_timer(&link->timer, wait);
}


/* a PING now and then: a sentinel that stops answering is replaced */

static void
ngx_ws_perf_redis_sentinel_tick(void)
{
    ngx_ws_perf_redis_args_t   a;
    ngx_ws_perf_redis_link_t  *link;

    link = &ngx_ws_perf_redis_sen;

    if (link->state != NGX_WS_PERF_REDIS_READY) {
        return;
    }

    if (ngx_current_msec - ngx_ws_perf_redis_sentinel_heard
        > ngx_ws_perf_redis_conf->redis_command_timeout
          + NGX_WS_PERF_REDIS_PING
        && !ngx_ws_perf_redis_behind(link))
    {
        ngx_ws_perf_redis_fail(link, "no answer to PING");
        return;
    }

    if (ngx_current_msec - ngx_ws_perf_redis_sentinel_pinged
        < NGX_WS_PERF_REDIS_PING)
    {
        return;
    }

    ngx_ws_perf_redis_sentinel_pinged = ngx_current_msec;

    /* the answer is a push, {"pong", ""}: ngx_ws_perf_redis_sentinel_push */
    ngx_ws_perf_redis_args(&a, "PING");

    if (redisAppendCommandArgv(&link->ac->c, a.argc, a.argv, a.argvlen)
        != REDIS_OK)
    {
        ngx_ws_perf_redis_fail(link, "cannot send a PING");
        return;
    }

    ngx_ws_perf_redis_add_write(link->ac->ev.data);
}


/*
 * A data link failed with sentinels: the master may have moved without
 * the sentinel link hearing it, so another sentinel is asked, at most
 * once per wait (doubling as ws_perf_redis_reconnect's) until both data
 * links are up.  A sentinel link that is not up is asking already.
 */

static void
ngx_ws_perf_redis_doubt(void)
{
    if (ngx_ws_perf_redis_sen.state != NGX_WS_PERF_REDIS_READY
        || ngx_ws_perf_redis_reasker.timer_set)
    {
        return;
    }

    ngx_add_timer(&ngx_ws_perf_redis_reasker, ngx_ws_perf_redis_reask_wait);

    ngx_ws_perf_redis_reask_wait = ngx_min(
                                       ngx_ws_perf_redis_reask_wait * 2,
                                       ngx_ws_perf_redis_conf
                                           ->redis_reconnect_max);
}


static void
ngx_ws_perf_redis_reask(ngx_event_t *ev)
{
    redisAsyncContext         *ac;
    ngx_ws_perf_redis_link_t  *link;

    link = &ngx_ws_perf_redis_sen;

    if (ngx_ws_perf_redis_conf == NULL
        || link->state != NGX_WS_PERF_REDIS_READY)
    {
        return;
    }

    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                   "ws_perf: redis data link down, asking the next "
                   "sentinel");

    ac = link->ac;
    link->ac = NULL;

    if (ac) {
        ngx_ws_perf_redis_cb_flush(link, ac);
    }

    link->state = NGX_WS_PERF_REDIS_DOWN;

    ngx_ws_perf_redis_asked = (ngx_ws_perf_redis_asked + 1)
                              % ngx_ws_perf_redis_conf->sentinels->nelts;

    if (ac) {
        redisAsyncFree(ac);
    }

    (void) ngx_ws_perf_redis_connect(link);
}


/*
 * A sentinel named the master: when it is another than the one known,
 * both data links go to it at once, without a backoff.
 */

static void
ngx_ws_perf_redis_master_is(ngx_ws_perf_master_t *m)
{
    u_char                    *p;
    ngx_uint_t                 level;
    ngx_ws_perf_main_conf_t   *wmcf;
    ngx_ws_perf_redis_addr_t  *sentinel;

    if (ngx_ws_perf_redis_master.port == m->port
        && ngx_strcmp(ngx_ws_perf_redis_master.host, m->host) == 0)
    {
        return;
    }

    wmcf = ngx_ws_perf_redis_conf;
    sentinel = wmcf->sentinels->elts;

    /* the first master is news, a move a warning */
    level = ngx_ws_perf_redis_master.port ? NGX_LOG_WARN : NGX_LOG_NOTICE;
    ngx_ws_perf_redis_master = *m;

    p = ngx_sprintf(ngx_ws_perf_redis_shown.data,
                    ngx_strchr(m->host, ':') ? "%V at [%s]:%ui"
                                             : "%V at %s:%ui",
                    &wmcf->redis, m->host, (ngx_uint_t) m->port);
    ngx_ws_perf_redis_shown.len = p - ngx_ws_perf_redis_shown.data;

    ngx_log_error(level, ngx_cycle->log, 0,
                  "ws_perf: redis master of \"%V\" is now %s:%ui, says "
                  "sentinel %V", &wmcf->sentinel_name, m->host,
                  (ngx_uint_t) m->port,
                  &sentinel[ngx_ws_perf_redis_asked].text);

    ngx_ws_perf_redis_move(&ngx_ws_perf_redis_cmd);
    ngx_ws_perf_redis_move(&ngx_ws_perf_redis_sub);

    ngx_ws_perf_redis_report();
}


/*
 * The data link leaves the old master without an error line (the move
 * was logged), and connects to the new one now.  Its waiting commands
 * are answered as for any loss; the subscribe link resubscribes and the
 * clients get the reconnect notice.
 */

static void
ngx_ws_perf_redis_move(ngx_ws_perf_redis_link_t *link)
{
    redisAsyncContext  *ac;

    ac = link->ac;
    link->ac = NULL;

    if (ac) {
        ngx_ws_perf_redis_cb_flush(link, ac);
    }

    ngx_ws_perf_redis_down(link);

    link->backoff = ngx_ws_perf_redis_conf->redis_reconnect_min;

    if (ac) {
        redisAsyncFree(ac);
    }

    (void) ngx_ws_perf_redis_connect(link);
}



/*
 * Presence (docs/redis.md, "Presence"): a worker's members of a channel
 * are fields of <prefix>ch:NAME#m under its session, as a user's
 * connections are; ws_perf_presence decides whether the user joined or
 * left across every node and publishes the event on the channel.  When
 * redis is away a change is dropped: the session rewrite puts this
 * worker's members back once its publish link is up.
 */

static void
ngx_ws_perf_redis_presence_hook(ngx_str_t *channel, ngx_str_t *user,
    ngx_uint_t join)
{
    ngx_ws_perf_redis_args_t  a;

    if (ngx_ws_perf_redis_conf == NULL) {
        return;
    }

    ngx_ws_perf_redis_fcall(&a, "ws_perf_presence", 1);
    ngx_ws_perf_redis_arg_key(&a, "", NGX_WS_PERF_TARGET_CHANNEL,
                              channel->data, channel->len);
    ngx_ws_perf_redis_arg(&a, user->data, user->len);
    ngx_ws_perf_redis_argf(&a, "%V:%ui", &ngx_ws_perf_redis_worker,
                           ngx_ws_perf_redis_session);
    ngx_ws_perf_redis_arg(&a, join ? "1" : "0", 1);

    if (ngx_ws_perf_redis_send(ngx_ws_perf_redis_ignore, NULL, &a)
        != NGX_OK)
    {
        ngx_log_debug3(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                       "ws_perf presence: redis unavailable, %s of \"%V\" "
                       "on \"%V\" dropped", join ? "join" : "leave", user,
                       channel);
    }
}


static void
ngx_ws_perf_redis_presence_restore(ngx_ws_perf_topic_t *topic,
    ngx_str_t *user, void *data)
{
    ngx_ws_perf_redis_presence_hook(&topic->name, user, 1);
}


/*
 * Each tick, NGX_WS_PERF_REDIS_SWEEP of the channels with presence
 * subscribers here, in turn (walking the worker's presence channels only,
 * not all its channels): the members of workers whose keys expired
 * leave (their events go out from redis) within ws_perf_redis_worker_ttl
 * and one round of the channels.
 */

typedef struct {
    ngx_uint_t                  n;
    ngx_uint_t                  from;
    ngx_uint_t                  sent;
} ngx_ws_perf_redis_sweep_t;

static ngx_uint_t  ngx_ws_perf_redis_swept;


static void
ngx_ws_perf_redis_presence_sweep(void)
{
    ngx_ws_perf_redis_sweep_t  sw;

    sw.n = 0;
    sw.from = ngx_ws_perf_redis_swept;
    sw.sent = 0;

    ngx_ws_perf_presence_each(ngx_ws_perf_redis_presence_swept, &sw);

    /* a round ends where the channels end */
    ngx_ws_perf_redis_swept = (sw.sent < NGX_WS_PERF_REDIS_SWEEP)
                              ? 0 : ngx_ws_perf_redis_swept + sw.sent;
}


static ngx_int_t
ngx_ws_perf_redis_presence_swept(ngx_ws_perf_topic_t *topic, void *data)
{
    ngx_ws_perf_redis_sweep_t *sw = data;

    ngx_ws_perf_redis_args_t  a;

    if (sw->sent == NGX_WS_PERF_REDIS_SWEEP) {
        return NGX_DONE;
    }

    if (topic->presence->listeners == 0 || sw->n++ < sw->from) {
        return NGX_OK;
    }

    sw->sent++;

    ngx_ws_perf_redis_fcall(&a, "ws_perf_presence_list", 1);
    ngx_ws_perf_redis_arg_key(&a, "", NGX_WS_PERF_TARGET_CHANNEL,
                              topic->name.data, topic->name.len);
    ngx_ws_perf_redis_arg_lit(&a, "0");

    (void) ngx_ws_perf_redis_send(ngx_ws_perf_redis_ignore, NULL, &a);

    return NGX_OK;
}


/* GET ?presence=: swept first, so that the members of a dead node go */

ngx_int_t
ngx_ws_perf_redis_presence(ngx_str_t *channel,
    ngx_ws_perf_presence_pt handler, void *data)
{
    ngx_int_t                      rc;
    ngx_ws_perf_redis_args_t       a;
    ngx_ws_perf_redis_presence_t  *req;

    req = ngx_alloc(sizeof(ngx_ws_perf_redis_presence_t), ngx_cycle->log);
    if (req == NULL) {
        return NGX_ERROR;
    }

    req->handler = handler;
    req->data = data;

    ngx_ws_perf_redis_fcall(&a, "ws_perf_presence_list", 1);
    ngx_ws_perf_redis_arg_key(&a, "", NGX_WS_PERF_TARGET_CHANNEL,
                              channel->data, channel->len);
    ngx_ws_perf_redis_argf(&a, "%d", NGX_WS_PERF_PRESENCE_LIST_MAX);

    rc = ngx_ws_perf_redis_call(ngx_ws_perf_redis_presence_listed, req, &a);

    if (rc == NGX_AGAIN) {
        return NGX_AGAIN;
    }

    ngx_free(req);

    return NGX_DECLINED;
}


/* {members, truncated, user...}, the users valid names, at most LIST_MAX */

static void
ngx_ws_perf_redis_presence_listed(void *data, void *reply)
{
    ngx_ws_perf_redis_presence_t *req = data;

    size_t                        i, n;
    ngx_str_t                     reason, text;
    redisReply                   *r, *e;
    ngx_ws_perf_presence_list_t   list;

    r = reply;
    ngx_memzero(&list, sizeof(ngx_ws_perf_presence_list_t));

    if (r == NULL) {
        ngx_str_set(&reason, "did not answer");
        goto failed;
    }

    if (r->type == REDIS_REPLY_ERROR) {
        (void) ngx_ws_perf_redis_error_text(r, &text);
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "ws_perf: redis refused ws_perf_presence_list: "
                      "\"%*s\"", ngx_min(text.len, NGX_WS_PERF_REASON_MAX),
                      text.data);
        ngx_str_set(&reason, "refused the presence list");
        goto failed;
    }

    if (r->type != REDIS_REPLY_ARRAY || r->elements < 2
        || r->elements - 2 > NGX_WS_PERF_PRESENCE_LIST_MAX
        || r->element[0]->type != REDIS_REPLY_INTEGER
        || r->element[0]->integer < 0
        || r->element[1]->type != REDIS_REPLY_INTEGER)
    {
        goto bad;
    }

    n = r->elements - 2;

    for (i = 0; i < n; i++) {
        e = r->element[i + 2];

        if (e->type != REDIS_REPLY_STRING
            || !ngx_ws_perf_msg_valid_name((u_char *) e->str, e->len))
        {
            goto bad;
        }
    }

    if (n) {
        list.users = ngx_alloc(n * sizeof(ngx_str_t), ngx_cycle->log);
        if (list.users == NULL) {
            ngx_str_set(&reason, "no memory");
            goto failed;
        }
    }

    for (i = 0; i < n; i++) {
        e = r->element[i + 2];
        list.users[i].data = (u_char *) e->str;
        list.users[i].len = e->len;
    }

    list.n = n;
    list.count = (uint64_t) r->element[0]->integer;
    list.truncated = (r->element[1]->integer != 0);

    req->handler(req->data, NGX_OK, &list, NULL);

    if (list.users) {
        ngx_free(list.users);
    }

    ngx_free(req);
    return;

bad:

    ngx_ws_perf_redis_bad_reply("FCALL ws_perf_presence_list");
    ngx_str_set(&reason, "answered what it never does");

failed:

    req->handler(req->data, NGX_HTTP_SERVICE_UNAVAILABLE, NULL, &reason);
    ngx_free(req);
}


/*
 * A presence event on a channel's redis channel, to this worker's
 * presence subscribers.  NGX_DECLINED: done; NGX_ERROR: malformed, the
 * caller counts and logs it as it does any other.
 */

static ngx_int_t
ngx_ws_perf_redis_presence_wire(ngx_str_t *name, redisReply *payload)
{
    int             kind;
    size_t          len;
    uint64_t        count;
    ngx_str_t       user;
    const uint8_t  *p;

    if (!ngx_ws_perf_msg_valid_name(name->data, name->len)) {
        return NGX_ERROR;
    }

    kind = ngx_ws_perf_msg_presence_wire((u_char *) payload->str,
                                         payload->len, &count, &p, &len);
    if (kind == 0) {
        return NGX_ERROR;
    }

    user.data = (u_char *) p;
    user.len = len;

    ngx_ws_perf_presence_event(name, &user, kind, count, ngx_cycle->log);

    return NGX_DECLINED;
}
