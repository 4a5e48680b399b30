
/*
 * Copyright (C) ngx_ws_perf_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <hiredis/hiredis.h>
#include "ngx_ws_perf_redis.h"
#include "ngx_ws_perf_http.h"
#include "ngx_ws_perf_metrics.h"
#include "ngx_ws_perf_compress.h"
#include "ngx_ws_perf_reply.h"


/*
 * Reliable delivery on top of the Redis engine (docs/reliable.md): a
 * client's resume from a user's inbox or a channel's history, acks, the
 * timers that release scheduled messages and send unacked ones again, and
 * the dead-letter admin API.  The state lives in Redis and every change to
 * it is one of the Lua functions of ngx_ws_perf_lua.c, so that any worker
 * of any node may do it.
 */


#define NGX_WS_PERF_STORE_TICK     50
#define NGX_WS_PERF_REDELIVER_EVERY 4
#define NGX_WS_PERF_STORE_BATCH    200


/* a connection's request to Redis, valid while the connection is */
typedef struct {
    ngx_connection_t           *connection;
    ngx_atomic_uint_t           number;
    ngx_queue_t                 queue;      /* waiting for a SUBSCRIBE */
    ngx_uint_t                  target;
    size_t                      room;       /* bytes a resume may read */
    size_t                      name_len;
    size_t                      since_len;
    u_char                      name[NGX_WS_PERF_NAME_MAX];
    u_char                      since[NGX_WS_PERF_ID_MAX];
} ngx_ws_perf_store_req_t;


/* the answer to a resume while it is given */
typedef struct {
    redisReply                 *reply;
    u_char                    **ids;        /* of each entry, or NULL */
    size_t                     *lens;
    size_t                      n;          /* entries */
    size_t                      sent;
    uint64_t                    first;      /* the first entry's id */
    redisReply                 *last;       /* the last entry passed */
    ngx_uint_t                  more;       /* it stopped short */
} ngx_ws_perf_store_replay_t;


typedef struct {
    ngx_ws_perf_publish_pt      handler;
    void                       *data;
    ngx_uint_t                  tag;
    ngx_uint_t                  shard;      /* a schedule's, in a cluster */
} ngx_ws_perf_store_pub_t;


/* an admin or cancel request waiting for redis */
typedef struct {
    ngx_ws_perf_http_wait_t     wait;       /* first */
    ngx_uint_t                  kind;
} ngx_ws_perf_store_http_t;


/*
 * A dead-letter request in a Redis Cluster: one command per shard, the
 * answers summed or merged as they come, the request answered by the last
 */
typedef struct {
    ngx_ws_perf_http_wait_t     wait;       /* first */
    ngx_uint_t                  kind;
    ngx_uint_t                  waiting;    /* answers still to come */
    ngx_uint_t                  answered;   /* a failure was answered */
    ngx_uint_t                  count;      /* a list's page */
    ngx_uint_t                  n;          /* replayed or deleted */
    ngx_uint_t                  kept;
    ngx_str_t                   why;
    ngx_str_t                   next;       /* the smallest of a shard's */
    ngx_str_t                   found;      /* a get's entry, as JSON */
    ngx_array_t                 entries;    /* ngx_ws_perf_store_entry_t */
    ngx_array_t                 counts;     /* ngx_ws_perf_store_count_t */
} ngx_ws_perf_store_fan_t;


typedef struct {
    uint64_t                    ms;
    uint64_t                    seq;
    ngx_str_t                   id;
    ngx_str_t                   json;
} ngx_ws_perf_store_entry_t;


typedef struct {
    ngx_str_t                   reason;     /* JSON-escaped */
    int64_t                     n;
} ngx_ws_perf_store_count_t;


#define NGX_WS_PERF_DLQ_LIST     0
#define NGX_WS_PERF_DLQ_GET      1
#define NGX_WS_PERF_DLQ_REPLAY   2
#define NGX_WS_PERF_DLQ_DELETE   3
#define NGX_WS_PERF_CANCEL       4


static ngx_int_t ngx_ws_perf_store_engine_init(ngx_cycle_t *cycle);
static void ngx_ws_perf_store_engine_exit(ngx_cycle_t *cycle);
static ngx_int_t ngx_ws_perf_store_room(ngx_uint_t n, ngx_uint_t later,
    u_char *err);
static ngx_int_t ngx_ws_perf_store_publish(ngx_ws_perf_msg_t *m,
    ngx_ws_perf_publish_pt handler, void *data, ngx_uint_t tag,
    ngx_log_t *log);
static ngx_int_t ngx_ws_perf_store_schedule(ngx_ws_perf_msg_t *m,
    int64_t at, ngx_ws_perf_publish_pt handler, void *data, ngx_uint_t tag);
static ngx_int_t ngx_ws_perf_store_cancel(ngx_http_request_t *r,
    ngx_str_t *id);
static ngx_int_t ngx_ws_perf_store_resume(ngx_ws_perf_peer_t *peer,
    ngx_ws_perf_sub_t *sub, ngx_str_t *since);
static ngx_int_t ngx_ws_perf_store_ack(ngx_ws_perf_peer_t *peer,
    ngx_str_t *id);
static ngx_int_t ngx_ws_perf_store_dlq_list(ngx_http_request_t *r,
    ngx_ws_perf_dlq_query_t *q);
static ngx_int_t ngx_ws_perf_store_dlq_get(ngx_http_request_t *r,
    ngx_str_t *id);
static ngx_int_t ngx_ws_perf_store_dlq_replay(ngx_http_request_t *r,
    ngx_str_t *id);
static ngx_int_t ngx_ws_perf_store_dlq_delete(ngx_http_request_t *r,
    ngx_str_t *id);
static ngx_int_t ngx_ws_perf_store_init(ngx_cycle_t *cycle);
static void ngx_ws_perf_store_subscribed(ngx_ws_perf_topic_t *topic);
static void ngx_ws_perf_store_tick(ngx_event_t *ev);
static void ngx_ws_perf_store_sweep(const char *function, const char *set,
    ngx_uint_t shard);
static void ngx_ws_perf_store_ticked(void *data, void *reply);
static ngx_int_t ngx_ws_perf_store_error(ngx_ws_perf_peer_t *peer,
    ngx_uint_t code, const char *reason, ngx_ws_perf_store_req_t *req);
static void ngx_ws_perf_store_fetch(ngx_ws_perf_store_req_t *req);
static void ngx_ws_perf_store_resumed(void *data, void *reply);
static void ngx_ws_perf_store_gap(ngx_ws_perf_store_req_t *req,
    ngx_ws_perf_peer_t *peer, ngx_ws_perf_store_replay_t *rp, u_char *since,
    size_t len);
static void ngx_ws_perf_store_replay(ngx_ws_perf_store_req_t *req,
    ngx_ws_perf_peer_t *peer, ngx_ws_perf_store_replay_t *rp);
static void ngx_ws_perf_store_resume_end(ngx_ws_perf_store_req_t *req,
    ngx_ws_perf_peer_t *peer, ngx_ws_perf_sub_t *sub,
    ngx_ws_perf_store_replay_t *rp);
static void ngx_ws_perf_store_seen(ngx_ws_perf_store_req_t *req,
    ngx_ws_perf_sub_t *sub, ngx_ws_perf_store_replay_t *rp);
static void ngx_ws_perf_store_malformed(ngx_ws_perf_store_req_t *req,
    const char *where);
static void ngx_ws_perf_store_give_up(ngx_ws_perf_store_req_t *req,
    const char *reason);
static ngx_ws_perf_sub_t *ngx_ws_perf_store_sub(ngx_ws_perf_peer_t *peer,
    ngx_ws_perf_store_req_t *req);
static void ngx_ws_perf_store_acked(void *data, void *reply);
static void ngx_ws_perf_store_scheduled(void *data, void *reply);
static ngx_int_t ngx_ws_perf_store_http(ngx_http_request_t *r,
    ngx_uint_t kind, ngx_ws_perf_redis_args_t *a);
static void ngx_ws_perf_store_http_reply(void *data, void *reply);
static ngx_int_t ngx_ws_perf_store_http_error(ngx_http_request_t *r,
    redisReply *reply);
static ngx_int_t ngx_ws_perf_store_bad_gateway(ngx_http_request_t *r);
static ngx_int_t ngx_ws_perf_dlq_replay_reply(ngx_http_request_t *r,
    redisReply *reply);
static ngx_uint_t ngx_ws_perf_dlq_replay_valid(redisReply *reply);
static ngx_uint_t ngx_ws_perf_dlq_id(ngx_str_t *id);
static ngx_uint_t ngx_ws_perf_dlq_text(redisReply *s);
static ngx_int_t ngx_ws_perf_dlq_list(ngx_http_request_t *r,
    redisReply *reply);
static ngx_int_t ngx_ws_perf_dlq_get(ngx_http_request_t *r,
    redisReply *reply);
static u_char *ngx_ws_perf_dlq_message(u_char *p, const redisReply *w,
    const redisReply *target);
static ngx_int_t ngx_ws_perf_store_unavailable(ngx_http_request_t *r,
    ngx_int_t rc);
static ngx_int_t ngx_ws_perf_store_fan(ngx_http_request_t *r,
    ngx_uint_t kind, ngx_ws_perf_dlq_query_t *q, ngx_str_t *id);
static void ngx_ws_perf_store_fan_args(ngx_ws_perf_redis_args_t *a,
    ngx_uint_t kind, ngx_uint_t shard, ngx_ws_perf_dlq_query_t *q,
    ngx_str_t *id);
static void ngx_ws_perf_store_fan_reply(void *data, void *reply);
static ngx_int_t ngx_ws_perf_store_fan_take(ngx_http_request_t *r,
    ngx_ws_perf_store_fan_t *fan, redisReply *reply, ngx_int_t *rc);
static ngx_int_t ngx_ws_perf_store_fan_list(ngx_http_request_t *r,
    ngx_ws_perf_store_fan_t *fan, redisReply *reply, ngx_int_t *rc);
static ngx_int_t ngx_ws_perf_store_fan_counts(ngx_http_request_t *r,
    ngx_ws_perf_store_fan_t *fan, redisReply *counts);
static ngx_int_t ngx_ws_perf_store_fan_entry(ngx_http_request_t *r,
    ngx_ws_perf_store_entry_t *entry, redisReply *e);
static ngx_int_t ngx_ws_perf_store_fan_answer(ngx_http_request_t *r,
    ngx_ws_perf_store_fan_t *fan);
static ngx_int_t ngx_ws_perf_store_fan_page(ngx_http_request_t *r,
    ngx_ws_perf_store_fan_t *fan);
static int ngx_libc_cdecl ngx_ws_perf_store_entry_cmp(const void *one,
    const void *two);
static ngx_int_t ngx_ws_perf_store_id_cmp(u_char *a, size_t alen, u_char *b,
    size_t blen);
static void ngx_ws_perf_store_id_parse(u_char *p, size_t len, uint64_t *ms,
    uint64_t *seq);


ngx_ws_perf_engine_t  ngx_ws_perf_redis_engine = {
    "redis",
    ngx_ws_perf_store_engine_init,
    ngx_ws_perf_store_engine_exit,
    ngx_ws_perf_store_room,
    ngx_ws_perf_store_publish,
    ngx_ws_perf_store_schedule,
    ngx_ws_perf_store_cancel,
    ngx_ws_perf_redis_info,
    ngx_ws_perf_store_resume,
    ngx_ws_perf_store_ack,
    ngx_ws_perf_redis_admit,
    ngx_ws_perf_redis_leave,
    ngx_ws_perf_redis_presence,
    ngx_ws_perf_store_dlq_list,
    ngx_ws_perf_store_dlq_get,
    ngx_ws_perf_store_dlq_replay,
    ngx_ws_perf_store_dlq_delete
};


static ngx_event_t       ngx_ws_perf_store_timer;
static ngx_connection_t  ngx_ws_perf_store_dumb;
static ngx_uint_t        ngx_ws_perf_store_ticks;
static ngx_uint_t        ngx_ws_perf_store_busy;

/* resumes waiting for their topic's SUBSCRIBE to be in place */
static ngx_queue_t       ngx_ws_perf_store_waiting;


static ngx_int_t
ngx_ws_perf_store_engine_init(ngx_cycle_t *cycle)
{
    ngx_ws_perf_main_conf_t  *wmcf;

    wmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_ws_perf_module);

    if (ngx_ws_perf_redis_init(cycle, wmcf, ngx_ws_perf_store_subscribed)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_ws_perf_store_init(cycle);
}


static void
ngx_ws_perf_store_engine_exit(ngx_cycle_t *cycle)
{
    ngx_ws_perf_redis_exit(cycle);
}


/* n more publishes may wait on redis now */

static ngx_int_t
ngx_ws_perf_store_room(ngx_uint_t n, ngx_uint_t later, u_char *err)
{
    ngx_int_t  rc;

    rc = ngx_ws_perf_redis_room(n);

    if (rc == NGX_DECLINED) {
        ngx_snprintf(err, NGX_WS_PERF_ERR_LEN, "redis is unavailable%Z");
        return NGX_HTTP_SERVICE_UNAVAILABLE;
    }

    if (rc == NGX_BUSY) {
        ngx_snprintf(err, NGX_WS_PERF_ERR_LEN, "too many publishes are "
                     "waiting for redis (ws_perf_redis_max_pending)%Z");
        return NGX_HTTP_TOO_MANY_REQUESTS;
    }

    return NGX_OK;
}


/* the id and time come from redis, with the message's place in history */

static ngx_int_t
ngx_ws_perf_store_publish(ngx_ws_perf_msg_t *m,
    ngx_ws_perf_publish_pt handler, void *data, ngx_uint_t tag,
    ngx_log_t *log)
{
    ngx_ws_perf_main_conf_t  *wmcf;

    wmcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                               ngx_ws_perf_module);

    ngx_ws_perf_msg_ack_needed(m, wmcf->ack_priorities);

    return ngx_ws_perf_redis_publish(m, handler, data, tag);
}


static ngx_int_t
ngx_ws_perf_store_init(ngx_cycle_t *cycle)
{
    ngx_queue_init(&ngx_ws_perf_store_waiting);

    ngx_ws_perf_store_dumb.fd = (ngx_socket_t) -1;

    ngx_ws_perf_store_timer.handler = ngx_ws_perf_store_tick;
    ngx_ws_perf_store_timer.data = &ngx_ws_perf_store_dumb;
    ngx_ws_perf_store_timer.log = cycle->log;
    ngx_ws_perf_store_timer.cancelable = 1;

    ngx_add_timer(&ngx_ws_perf_store_timer, NGX_WS_PERF_STORE_TICK);

    return NGX_OK;
}


/*
 * Every 50 ms: release the scheduled messages that are due; every 200 ms:
 * send again those that wait for an ack past their time.  Any worker may
 * do either: the Lua functions take each message off its set atomically.
 * In a Redis Cluster each shard has its own sets, on its own master.
 */

static void
ngx_ws_perf_store_tick(ngx_event_t *ev)
{
    ngx_uint_t  s, n, redeliver;

    ngx_add_timer(ev, NGX_WS_PERF_STORE_TICK);

    if (ngx_ws_perf_store_busy || !ngx_ws_perf_redis_enabled()) {
        return;
    }

    redeliver = (ngx_ws_perf_store_ticks++ % NGX_WS_PERF_REDELIVER_EVERY
                 == 0);

    n = ngx_max(ngx_ws_perf_redis_shards(), 1);

    for (s = 0; s < n; s++) {
        if (redeliver) {
            ngx_ws_perf_store_sweep("ws_perf_redeliver", "due", s);
        }

        ngx_ws_perf_store_sweep("ws_perf_release", "sched", s);
    }
}


static void
ngx_ws_perf_store_sweep(const char *function, const char *set,
    ngx_uint_t shard)
{
    ngx_ws_perf_redis_args_t  a;

    ngx_ws_perf_redis_fcall(&a, function, 1);
    ngx_ws_perf_redis_arg_shared(&a, set, shard);
    ngx_ws_perf_redis_argf(&a, "%d", NGX_WS_PERF_STORE_BATCH);

    if (ngx_ws_perf_redis_chore(ngx_ws_perf_store_ticked, NULL, &a)
        == NGX_AGAIN)
    {
        ngx_ws_perf_store_busy++;
    }
}


static void
ngx_ws_perf_store_ticked(void *data, void *reply)
{
    redisReply  *r = reply;

    ngx_ws_perf_store_busy--;

    if (r == NULL) {
        return;
    }

    if (r->type == REDIS_REPLY_ERROR) {
        /* TRYAGAIN: the shard's slot is moving, the next round goes */
        if (ngx_strncmp(r->str, "TRYAGAIN ", 9) != 0) {
            ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                          "ws_perf: redis refused a store command: %s",
                          r->str);
        }

        return;
    }

    /* ws_perf_release: how many went out; the gauge sums over workers */
    if (r->type == REDIS_REPLY_INTEGER && r->integer >= 0) {
        if (r->integer > 0) {
            ngx_ws_perf_metrics_scheduled(-(ngx_int_t) r->integer);
        }

        return;
    }

    /* ws_perf_redeliver: {sent, dead} */
    if (ngx_ws_perf_reply_counts(r, 2) != 0) {
        ngx_ws_perf_redis_bad_reply("FCALL ws_perf_redeliver or "
                                    "ws_perf_release");
        return;
    }

    ngx_ws_perf_metrics_add(redelivered, r->element[0]->integer);
    ngx_ws_perf_metrics_add(dead_lettered, r->element[1]->integer);

    if (r->element[1]->integer) {
        ngx_log_error(NGX_LOG_INFO, ngx_cycle->log, 0,
                      "ws_perf: %L messages dead-lettered",
                      (int64_t) r->element[1]->integer);
    }
}


/* an error reply naming the request's channel or user, if given */

static ngx_int_t
ngx_ws_perf_store_error(ngx_ws_perf_peer_t *peer, ngx_uint_t code,
    const char *reason, ngx_ws_perf_store_req_t *req)
{
    ngx_str_t  name;

    if (req == NULL) {
        return ngx_ws_perf_hub_error(peer, code, reason, 0, NULL);
    }

    name.data = req->name;
    name.len = req->name_len;

    return ngx_ws_perf_hub_error(peer, code, reason, req->target, &name);
}


/*
 * A client's {"type":"resume","channel"|"user":...,"since":ID} on one of
 * its subscriptions: messages newer than ID come from redis, then what
 * arrived live meanwhile (held back, without those already sent), so that
 * nothing is missed or doubled at the seam.  NGX_OK, NGX_ERROR.
 */

static ngx_int_t
ngx_ws_perf_store_resume(ngx_ws_perf_peer_t *peer, ngx_ws_perf_sub_t *sub,
    ngx_str_t *since)
{
    ngx_uint_t                i;
    ngx_ws_perf_store_req_t  *req;
    ngx_ws_perf_main_conf_t  *wmcf;

    for (i = 0; i < since->len; i++) {
        if (since->data[i] < '0' || since->data[i] > '9') {
            break;
        }
    }

    if (since->len == 0 || since->len > 18 || i != since->len) {
        return ngx_ws_perf_store_error(peer, 400, "\"since\" must be the "
                                       "id of a message the server "
                                       "numbered", NULL);
    }


    req = ngx_alloc(sizeof(ngx_ws_perf_store_req_t),
                    peer->connection->log);
    if (req == NULL) {
        return NGX_ERROR;
    }

    req->connection = peer->connection;
    req->number = peer->connection->number;
    req->target = sub->topic->target;
    req->room = ngx_ws_perf_hub_room(peer);
    req->name_len = sub->topic->name.len;
    ngx_memcpy(req->name, sub->topic->name.data, req->name_len);
    req->since_len = since->len;
    ngx_memcpy(req->since, since->data, since->len);

    if (ngx_ws_perf_hub_hold(sub, peer->connection->log) != NGX_OK) {
        ngx_free(req);
        return NGX_ERROR;
    }

    /* only what the history will hold again */
    wmcf = ngx_http_cycle_get_module_main_conf(ngx_cycle, ngx_ws_perf_module);

    if (sub->topic->target == NGX_WS_PERF_TARGET_USER ? wmcf->offline_max
                                                      : wmcf->history)
    {
        ngx_ws_perf_hub_forget_queued(sub);
    }

    if (!sub->topic->subscribed) {
        /* a message published before the SUBSCRIBE is in would be lost */
        ngx_queue_insert_tail(&ngx_ws_perf_store_waiting, &req->queue);
        return NGX_OK;
    }

    ngx_ws_perf_store_fetch(req);

    return NGX_OK;
}


/* the engine's SUBSCRIBE for a topic is in place: its resumes may go */

static void
ngx_ws_perf_store_subscribed(ngx_ws_perf_topic_t *topic)
{
    ngx_queue_t              *q, *next;
    ngx_ws_perf_store_req_t  *req;

    for (q = ngx_queue_head(&ngx_ws_perf_store_waiting);
         q != ngx_queue_sentinel(&ngx_ws_perf_store_waiting);
         q = next)
    {
        next = ngx_queue_next(q);
        req = ngx_queue_data(q, ngx_ws_perf_store_req_t, queue);

        if (req->target == topic->target
            && req->name_len == topic->name.len
            && ngx_memcmp(req->name, topic->name.data, req->name_len) == 0)
        {
            ngx_queue_remove(q);
            ngx_ws_perf_store_fetch(req);
        }
    }
}


static void
ngx_ws_perf_store_fetch(ngx_ws_perf_store_req_t *req)
{
    ngx_int_t                 rc;
    ngx_ws_perf_redis_args_t  a;

    ngx_ws_perf_redis_fcall(&a, "ws_perf_resume", 1);
    ngx_ws_perf_redis_arg_key(&a, "", req->target, req->name,
                              req->name_len);
    ngx_ws_perf_redis_arg(&a, req->since, req->since_len);
    ngx_ws_perf_redis_argf(&a, "%ui", (ngx_uint_t) NGX_WS_PERF_HOLD_MAX * 64);
    ngx_ws_perf_redis_argf(&a, "%uz", req->room);

    rc = ngx_ws_perf_redis_call(ngx_ws_perf_store_resumed, req, &a);

    if (rc != NGX_AGAIN) {
        ngx_ws_perf_store_give_up(req, "redis is unavailable");
    }
}


/*
 * ws_perf_resume's answer, {gap, last, more, id, wire, ...}: a gap notice
 * if messages since the client's id are gone (or live ones were dropped
 * while held), the history, what came meanwhile, a gap notice with more
 * if it stopped short, and the end, all at one priority so that they
 * leave in this order.
 */

static void
ngx_ws_perf_store_resumed(void *data, void *reply)
{
    ngx_ws_perf_store_req_t *req = data;

    ngx_str_t                    text;
    redisReply                  *r = reply;
    ngx_ws_perf_sub_t           *sub;
    ngx_ws_perf_peer_t          *peer;
    ngx_ws_perf_store_replay_t   rp;

    if (r == NULL || r->type == REDIS_REPLY_ERROR) {
        if (r) {
            (void) ngx_ws_perf_redis_error_text(r, &text);
        }

        ngx_ws_perf_store_give_up(req, r ? (char *) text.data
                                         : "redis did not answer");
        return;
    }

    if (ngx_ws_perf_reply_resume(r) != 0) {
        ngx_ws_perf_redis_bad_reply("FCALL ws_perf_resume");
        ngx_ws_perf_store_give_up(req, "unexpected reply from redis");
        return;
    }

    peer = ngx_ws_perf_hub_peer(req->connection, req->number);
    sub = peer ? ngx_ws_perf_store_sub(peer, req) : NULL;

    if (sub == NULL || sub->hold == NULL) {
        ngx_free(req);
        return;
    }

    ngx_memzero(&rp, sizeof(ngx_ws_perf_store_replay_t));

    rp.reply = r;
    rp.n = (r->elements - 3) / 2;

    rp.ids = ngx_alloc(rp.n * (sizeof(u_char *) + sizeof(size_t)) + 1,
                       peer->connection->log);
    if (rp.ids == NULL) {
        ngx_ws_perf_store_give_up(req, "out of memory");
        return;
    }

    rp.lens = (size_t *) (rp.ids + rp.n);

    if (r->element[0]->integer || sub->hold->overflow) {
        ngx_ws_perf_store_gap(req, peer, &rp, req->since, req->since_len);
    }

    ngx_ws_perf_store_replay(req, peer, &rp);

    ngx_ws_perf_store_resume_end(req, peer, sub, &rp);

    ngx_free(rp.ids);
    ngx_free(req);
}


/*
 * After the entries: a gap notice with more if they stopped short (the
 * held messages are dropped, the next resume brings them), or else the
 * held ones; then what the subscription has seen, and the end.
 */

static void
ngx_ws_perf_store_resume_end(ngx_ws_perf_store_req_t *req,
    ngx_ws_perf_peer_t *peer, ngx_ws_perf_sub_t *sub,
    ngx_ws_perf_store_replay_t *rp)
{
    u_char  *p, buf[NGX_WS_PERF_NAME_MAX + 64];

    if (rp->more) {
        /* stopped short: where to resume from; the held come with that */
        ngx_ws_perf_hub_drop_hold(sub);

        if (rp->last) {
            ngx_ws_perf_store_gap(req, peer, rp, (u_char *) rp->last->str,
                                  rp->last->len);

        } else {
            ngx_ws_perf_store_gap(req, peer, rp, req->since,
                                  req->since_len);
        }

    } else {
        ngx_ws_perf_hub_release_hold(sub, rp->ids, rp->lens, rp->n,
                                     NGX_WS_PERF_PRIO_HIGH,
                                     peer->connection->log);
    }

    ngx_ws_perf_store_seen(req, sub, rp);

    p = ngx_sprintf(buf, "{\"type\":\"resumed\",\"%s\":\"%*s\","
                    "\"count\":%uz}", req->target ? "user" : "channel",
                    req->name_len, req->name, rp->sent);
    (void) ngx_ws_perf_hub_resumed(peer, sub->topic, buf, p - buf,
                                   NGX_WS_PERF_PRIO_HIGH,
                                   peer->connection->log);
}


/*
 * {"type":"gap",...,"since":SINCE,"last":LAST[,"more":true]}: messages
 * after SINCE up to LAST, the newest kept, are not in this answer.
 */

static void
ngx_ws_perf_store_gap(ngx_ws_perf_store_req_t *req, ngx_ws_perf_peer_t *peer,
    ngx_ws_perf_store_replay_t *rp, u_char *since, size_t len)
{
    u_char      *p, buf[NGX_WS_PERF_NAME_MAX + 4 * 64];
    redisReply  *last;

    last = rp->reply->element[1];

    p = ngx_sprintf(buf, "{\"type\":\"gap\",\"%s\":\"%*s\","
                    "\"since\":\"%*s\",\"last\":\"%*s\"%s}",
                    req->target ? "user" : "channel",
                    req->name_len, req->name, ngx_min(len, 24), since,
                    ngx_min(last->len, 24), last->str,
                    rp->more ? ",\"more\":true" : "");

    (void) ngx_ws_perf_hub_push_text(peer, buf, p - buf,
                                     NGX_WS_PERF_PRIO_HIGH,
                                     peer->connection->log);
}


/*
 * The entries of the answer to the peer, as far as its queue takes them;
 * rp->more when it did not take all, or redis has more.
 */

static void
ngx_ws_perf_store_replay(ngx_ws_perf_store_req_t *req,
    ngx_ws_perf_peer_t *peer, ngx_ws_perf_store_replay_t *rp)
{
    u_char             *plain;
    size_t              i;
    ngx_int_t           rc;
    redisReply         *w;
    ngx_ws_perf_msg_t   m;

    rc = NGX_OK;

    for (i = 0; i < rp->n; i++) {
        w = rp->reply->element[3 + 2 * i + 1];

        ngx_memzero(&m, sizeof(ngx_ws_perf_msg_t));

        m.target = req->target;
        m.name = req->name;
        m.name_len = req->name_len;

        rc = ngx_ws_perf_redis_message(&m, (u_char *) w->str, w->len, &plain,
                                       "in its history or inbox");

        /* a held copy of a message given here is not sent again */
        rp->ids[i] = (u_char *) m.id;
        rp->lens[i] = m.id_len;

        if (rp->first == 0 && m.id) {
            rp->first = ngx_ws_perf_hub_id_value((u_char *) m.id, m.id_len);
        }

        if (rc == NGX_ERROR) {
            ngx_ws_perf_store_malformed(req, "history");
            rp->last = rp->reply->element[3 + 2 * i];
            continue;
        }

        if (rc == NGX_OK) {
            rc = ngx_ws_perf_hub_push(peer, &m, NGX_WS_PERF_PRIO_HIGH,
                                      peer->connection->log);
        }

        if (plain) {
            ngx_free(plain);
        }

        if (rc == NGX_BUSY) {
            break;
        }

        /* one that can never fit is passed over, as live delivery would */
        rp->sent += (rc == NGX_OK);
        rp->last = rp->reply->element[3 + 2 * i];
    }

    rp->more = (rc == NGX_BUSY || rp->reply->element[2]->integer);
}


/*
 * What the subscription has seen, for the live messages that follow: ids
 * are consecutive per target, so every one after since (after a gap, from
 * the first kept) up to the last was given; when it stopped short, only
 * up to the last sent, the rest comes with the next resume.
 */

static void
ngx_ws_perf_store_seen(ngx_ws_perf_store_req_t *req, ngx_ws_perf_sub_t *sub,
    ngx_ws_perf_store_replay_t *rp)
{
    redisReply  *r;

    r = rp->reply;

    sub->seen = ngx_ws_perf_hub_id_value((u_char *) r->element[1]->str,
                                         r->element[1]->len);

    if (r->element[0]->integer) {
        sub->seen_after = rp->first ? rp->first - 1 : sub->seen;

    } else {
        sub->seen_after = ngx_ws_perf_hub_id_value(req->since,
                                                   req->since_len);
    }

    if (rp->more) {
        sub->seen = rp->last
                    ? ngx_ws_perf_hub_id_value((u_char *) rp->last->str,
                                               rp->last->len)
                    : sub->seen_after;
    }
}


/* an entry of a history, an inbox or the dead letters that is no message */

static void
ngx_ws_perf_store_malformed(ngx_ws_perf_store_req_t *req, const char *where)
{
    static ngx_uint_t  malformed;

    if (ngx_ws_perf_redis_drop(&malformed)) {
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "ws_perf: ignored a malformed message in the %s of "
                      "%s \"%*s\" in redis (%ui so far)", where,
                      req->target ? "user" : "channel", req->name_len,
                      req->name, malformed);
    }
}


/* the resume failed: the held messages go out, the client is told */

static void
ngx_ws_perf_store_give_up(ngx_ws_perf_store_req_t *req, const char *reason)
{
    ngx_ws_perf_sub_t   *sub;
    ngx_ws_perf_peer_t  *peer;

    peer = ngx_ws_perf_hub_peer(req->connection, req->number);
    sub = peer ? ngx_ws_perf_store_sub(peer, req) : NULL;

    if (sub && sub->hold) {
        ngx_ws_perf_hub_release_hold(sub, NULL, NULL, 0,
                                     NGX_WS_PERF_PRIO_HIGH,
                                     peer->connection->log);
        (void) ngx_ws_perf_store_error(peer, 503, reason, req);
    }

    ngx_free(req);
}


static ngx_ws_perf_sub_t *
ngx_ws_perf_store_sub(ngx_ws_perf_peer_t *peer, ngx_ws_perf_store_req_t *req)
{
    ngx_str_t  name;

    name.data = req->name;
    name.len = req->name_len;

    return *ngx_ws_perf_hub_find(peer->subs, req->target, &name);
}


/* {"type":"ack","id":ID} from a connection with a user */

static ngx_int_t
ngx_ws_perf_store_ack(ngx_ws_perf_peer_t *peer, ngx_str_t *id)
{
    ngx_int_t                 rc;
    ngx_ws_perf_store_req_t  *req;
    ngx_ws_perf_redis_args_t  a;

    req = ngx_alloc(sizeof(ngx_ws_perf_store_req_t),
                    peer->connection->log);
    if (req == NULL) {
        return NGX_ERROR;
    }

    req->connection = peer->connection;
    req->number = peer->connection->number;
    req->target = NGX_WS_PERF_TARGET_USER;
    req->name_len = peer->user->len;
    ngx_memcpy(req->name, peer->user->data, peer->user->len);
    req->since_len = id->len;
    ngx_memcpy(req->since, id->data, id->len);

    ngx_ws_perf_redis_fcall(&a, "ws_perf_ack", 1);
    ngx_ws_perf_redis_arg_key(&a, "", NGX_WS_PERF_TARGET_USER,
                              peer->user->data, peer->user->len);
    ngx_ws_perf_redis_arg(&a, id->data, id->len);

    rc = ngx_ws_perf_redis_call(ngx_ws_perf_store_acked, req, &a);

    if (rc == NGX_AGAIN) {
        return NGX_OK;
    }

    ngx_free(req);

    return ngx_ws_perf_store_error(peer, rc == NGX_BUSY ? 429 : 503,
                                   "redis is unavailable", NULL);
}


static void
ngx_ws_perf_store_acked(void *data, void *reply)
{
    ngx_ws_perf_store_req_t *req = data;

    u_char               *p, buf[NGX_WS_PERF_ID_MAX + 64];
    redisReply           *r = reply;
    ngx_ws_perf_peer_t   *peer;

    if (r && r->type != REDIS_REPLY_INTEGER && r->type != REDIS_REPLY_ERROR)
    {
        ngx_ws_perf_redis_bad_reply("FCALL ws_perf_ack");
        r = NULL;
    }

    peer = ngx_ws_perf_hub_peer(req->connection, req->number);

    if (peer == NULL) {
        ngx_free(req);
        return;
    }

    if (r && r->type == REDIS_REPLY_INTEGER && r->integer == 1) {
        p = ngx_sprintf(buf, "{\"type\":\"acked\",\"id\":\"%*s\"}",
                        req->since_len, req->since);
        (void) ngx_ws_perf_hub_reply(peer, buf, p - buf,
                                     peer->connection->log);

    } else if (r && r->type == REDIS_REPLY_INTEGER) {
        (void) ngx_ws_perf_store_error(peer, 404, "no message with this "
                                       "id awaits an ack", NULL);

    } else {
        (void) ngx_ws_perf_store_error(peer, 503, "redis is unavailable",
                                       NULL);
    }

    ngx_free(req);
}


/*
 * A message to be delivered at "at" (Unix ms): kept in redis, released
 * once cluster-wide by whichever worker's timer sees it due.  As
 * ngx_ws_perf_publish(); the id the handler gets is the schedule's.
 */

static ngx_int_t
ngx_ws_perf_store_schedule(ngx_ws_perf_msg_t *m, int64_t at,
    ngx_ws_perf_publish_pt handler, void *data, ngx_uint_t tag)
{
    ngx_int_t                 rc;
    ngx_ws_perf_store_pub_t  *pub;
    ngx_ws_perf_redis_args_t  a;

    pub = ngx_alloc(sizeof(ngx_ws_perf_store_pub_t), ngx_cycle->log);
    if (pub == NULL) {
        return NGX_ERROR;
    }

    pub->handler = handler;
    pub->data = data;
    pub->tag = tag;
    pub->shard = ngx_ws_perf_redis_shard(m->target, (u_char *) m->name,
                                         m->name_len);

    ngx_ws_perf_redis_fcall(&a, "ws_perf_schedule", 1);
    ngx_ws_perf_redis_arg_msg(&a, m);
    ngx_ws_perf_redis_arg(&a, m->id ? (u_char *) m->id : (u_char *) "",
                          m->id ? m->id_len : 0);
    ngx_ws_perf_redis_argf(&a, "%L", at);

    rc = ngx_ws_perf_redis_call(ngx_ws_perf_store_scheduled, pub, &a);

    if (rc != NGX_AGAIN) {
        ngx_free(pub);
    }

    return rc;
}


static void
ngx_ws_perf_store_scheduled(void *data, void *reply)
{
    ngx_ws_perf_store_pub_t *pub = data;

    u_char       id[NGX_WS_PERF_ID_MAX];
    redisReply  *r = reply;
    ngx_str_t    text;
    ngx_int_t    rc;

    if (r && r->type == REDIS_REPLY_STRING
        && ngx_ws_perf_msg_valid_id((u_char *) r->str, r->len)
        && r->len + NGX_INT_T_LEN + 1 < NGX_WS_PERF_ID_MAX)
    {
        rc = NGX_OK;
        text.data = (u_char *) r->str;
        text.len = r->len;

        /* in a cluster the id says the shard, which a cancel needs */
        if (ngx_ws_perf_redis_shards()) {
            text.data = id;
            text.len = ngx_sprintf(id, "%ui.%*s", pub->shard,
                                   (size_t) r->len, r->str)
                       - id;
        }

        ngx_ws_perf_metrics_scheduled(1);

    } else if (r && r->type == REDIS_REPLY_ERROR) {
        rc = NGX_HTTP_SERVICE_UNAVAILABLE;
        ngx_ws_perf_redis_error_text(r, &text);

    } else if (r) {
        rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
        ngx_str_set(&text, "unexpected reply from redis");
        ngx_ws_perf_redis_bad_reply("FCALL ws_perf_schedule");

    } else {
        rc = NGX_HTTP_SERVICE_UNAVAILABLE;
        ngx_str_set(&text, "redis connection lost before it answered");
    }

    pub->handler(pub->data, pub->tag, rc, &text);

    ngx_free(pub);
}


/* DELETE on a publish location: ?schedule=ID cancels a scheduled message */

static ngx_int_t
ngx_ws_perf_store_cancel(ngx_http_request_t *r, ngx_str_t *id)
{
    u_char                    *dot;
    ngx_int_t                  shard;
    ngx_ws_perf_redis_args_t   a;

    shard = 0;

    /* "<shard>.<id>" in a cluster */
    if (ngx_ws_perf_redis_shards()) {
        dot = ngx_strlchr(id->data, id->data + id->len, '.');
        shard = dot ? ngx_atoi(id->data, dot - id->data) : NGX_ERROR;

        if (shard == NGX_ERROR
            || (ngx_uint_t) shard >= ngx_ws_perf_redis_shards())
        {
            return ngx_ws_perf_send_json(r, NGX_HTTP_NOT_FOUND,
                                         "{\"error\":\"no scheduled "
                                         "message has this id\"}");
        }

        id->len -= dot + 1 - id->data;
        id->data = dot + 1;
    }

    ngx_ws_perf_redis_fcall(&a, "ws_perf_cancel", 1);
    ngx_ws_perf_redis_arg_shared(&a, "sched", (ngx_uint_t) shard);
    ngx_ws_perf_redis_arg(&a, id->data, id->len);

    return ngx_ws_perf_store_http(r, NGX_WS_PERF_CANCEL, &a);
}


/*
 * The dead letters (a ws_perf_dlq location, parsed by the http part):
 * a list, one, replay and delete, each one FCALL or XRANGE.
 */

static void
ngx_ws_perf_store_dlq_key(ngx_ws_perf_redis_args_t *a)
{
    ngx_ws_perf_redis_arg_shared(a, "dlq", 0);
}


static ngx_int_t
ngx_ws_perf_store_dlq_list(ngx_http_request_t *r, ngx_ws_perf_dlq_query_t *q)
{
    ngx_ws_perf_redis_args_t  a;

    if (ngx_ws_perf_redis_shards()) {
        return ngx_ws_perf_store_fan(r, NGX_WS_PERF_DLQ_LIST, q, NULL);
    }

    ngx_ws_perf_redis_fcall(&a, "ws_perf_dlq_list", 1);
    ngx_ws_perf_store_dlq_key(&a);
    ngx_ws_perf_redis_arg(&a, q->after.data, q->after.len);
    ngx_ws_perf_redis_argf(&a, "%ui", q->count);
    ngx_ws_perf_redis_arg(&a, q->reason.data, q->reason.len);
    ngx_ws_perf_redis_arg(&a, q->target.data, q->target.len);

    return ngx_ws_perf_store_http(r, NGX_WS_PERF_DLQ_LIST, &a);
}


static ngx_int_t
ngx_ws_perf_store_dlq_get(ngx_http_request_t *r, ngx_str_t *id)
{
    ngx_ws_perf_redis_args_t  a;

    if (!ngx_ws_perf_dlq_id(id)) {
        return ngx_ws_perf_send_json(r, NGX_HTTP_NOT_FOUND,
                                     "{\"error\":\"no dead letter has "
                                     "this id\"}");
    }

    if (ngx_ws_perf_redis_shards()) {
        return ngx_ws_perf_store_fan(r, NGX_WS_PERF_DLQ_GET, NULL, id);
    }

    ngx_ws_perf_redis_args(&a, "XRANGE");
    ngx_ws_perf_store_dlq_key(&a);
    ngx_ws_perf_redis_arg(&a, id->data, id->len);
    ngx_ws_perf_redis_arg(&a, id->data, id->len);

    return ngx_ws_perf_store_http(r, NGX_WS_PERF_DLQ_GET, &a);
}


/* "ws_perf_dlq_replay" or "ws_perf_dlq_delete" on ID or "all" */

static ngx_int_t
ngx_ws_perf_store_dlq_call(ngx_http_request_t *r, ngx_uint_t kind,
    ngx_str_t *id)
{
    ngx_ws_perf_redis_args_t  a;

    if (ngx_ws_perf_redis_shards()) {
        return ngx_ws_perf_store_fan(r, kind, NULL, id);
    }

    ngx_ws_perf_redis_fcall(&a, (kind == NGX_WS_PERF_DLQ_REPLAY)
                                ? "ws_perf_dlq_replay"
                                : "ws_perf_dlq_delete", 1);
    ngx_ws_perf_store_dlq_key(&a);
    ngx_ws_perf_redis_arg(&a, id->data, id->len);

    return ngx_ws_perf_store_http(r, kind, &a);
}


static ngx_int_t
ngx_ws_perf_store_dlq_replay(ngx_http_request_t *r, ngx_str_t *id)
{
    if (!ngx_ws_perf_dlq_id(id)
        && !(id->len == 3 && ngx_strncmp(id->data, "all", 3) == 0))
    {
        return ngx_ws_perf_dlq_replayed(r, 0, 0, NULL);
    }

    return ngx_ws_perf_store_dlq_call(r, NGX_WS_PERF_DLQ_REPLAY, id);
}


static ngx_int_t
ngx_ws_perf_store_dlq_delete(ngx_http_request_t *r, ngx_str_t *id)
{
    if (!ngx_ws_perf_dlq_id(id)
        && !(id->len == 3 && ngx_strncmp(id->data, "all", 3) == 0))
    {
        return ngx_ws_perf_send_json(r, NGX_HTTP_NOT_FOUND,
                                     "{\"deleted\":0}");
    }

    return ngx_ws_perf_store_dlq_call(r, NGX_WS_PERF_DLQ_DELETE, id);
}


/* sends an admin command; the request waits for its answer */

static ngx_int_t
ngx_ws_perf_store_http(ngx_http_request_t *r, ngx_uint_t kind,
    ngx_ws_perf_redis_args_t *a)
{
    ngx_int_t                  rc;
    ngx_ws_perf_store_http_t  *ctx;

    ctx = ngx_ws_perf_http_wait(r, sizeof(ngx_ws_perf_store_http_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->kind = kind;

    rc = ngx_ws_perf_redis_call(ngx_ws_perf_store_http_reply, ctx, a);

    if (rc != NGX_AGAIN) {
        (void) ngx_ws_perf_http_waited(ctx);
        ngx_free(ctx);
        return ngx_ws_perf_store_unavailable(r, rc);
    }

    return ngx_ws_perf_http_hold(ctx);
}


static void
ngx_ws_perf_store_http_reply(void *data, void *reply)
{
    ngx_ws_perf_store_http_t *ctx = data;

    ngx_int_t            rc;
    redisReply          *r = reply;
    ngx_http_request_t  *req;

    req = ngx_ws_perf_http_waited(ctx);

    if (req == NULL) {
        ngx_free(ctx);
        return;
    }

    if (r == NULL) {
        rc = ngx_ws_perf_store_unavailable(req, NGX_DECLINED);

    } else if (r->type == REDIS_REPLY_ERROR) {
        rc = ngx_ws_perf_store_http_error(req, r);

    } else if (ctx->kind == NGX_WS_PERF_DLQ_REPLAY) {
        rc = ngx_ws_perf_dlq_replay_reply(req, r);

    } else if (ctx->kind >= NGX_WS_PERF_DLQ_REPLAY
               && (r->type != REDIS_REPLY_INTEGER || r->integer < 0))
    {
        ngx_ws_perf_redis_bad_reply(ctx->kind == NGX_WS_PERF_CANCEL
                                    ? "FCALL ws_perf_cancel"
                                    : "a dead-letter command");
        rc = ngx_ws_perf_store_bad_gateway(req);

    } else {
        switch (ctx->kind) {

        case NGX_WS_PERF_DLQ_LIST:
            rc = ngx_ws_perf_dlq_list(req, r);
            break;

        case NGX_WS_PERF_DLQ_GET:
            rc = ngx_ws_perf_dlq_get(req, r);
            break;

        case NGX_WS_PERF_CANCEL:
            if (r->type == REDIS_REPLY_INTEGER && r->integer == 1) {
                ngx_ws_perf_metrics_scheduled(-1);
                rc = ngx_ws_perf_send_json(req, NGX_HTTP_OK,
                                           "{\"cancelled\":1}");

            } else {
                rc = ngx_ws_perf_send_json(req, NGX_HTTP_NOT_FOUND,
                                           "{\"error\":\"no scheduled "
                                           "message has this id\"}");
            }
            break;

        default:
            rc = ngx_ws_perf_send_json(req,
                     r->type == REDIS_REPLY_INTEGER && r->integer == 0
                     ? NGX_HTTP_NOT_FOUND : NGX_HTTP_OK,
                     "{\"deleted\":%L}",
                     r->type == REDIS_REPLY_INTEGER ? r->integer : 0LL);
            break;
        }
    }

    ngx_free(ctx);

    ngx_ws_perf_http_answer(req, rc);
}


/*
 * An error reply to an admin command: 400 with redis's reason when a Lua
 * function refused it, 502 when something failed inside one.
 */

static ngx_int_t
ngx_ws_perf_store_http_error(ngx_http_request_t *r, redisReply *reply)
{
    u_char      *p, *buf;
    ngx_str_t    text;
    ngx_uint_t   status;

    status = ngx_ws_perf_redis_error_text(reply, &text)
             ? NGX_HTTP_BAD_GATEWAY : NGX_HTTP_BAD_REQUEST;

    text.len = ngx_ws_perf_msg_cut(text.data, text.len, 80);

    buf = ngx_pnalloc(r->pool, ngx_ws_perf_json_escape_size(text.data,
                                                            text.len)
                               + 1);
    if (buf == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_ws_perf_json_escape(buf, text.data, text.len);
    *p = '\0';

    return ngx_ws_perf_send_json(r, status, "{\"error\":\"redis: %s\"}",
                                 buf);
}


/* ws_perf_dlq_replay's {replayed, kept, why} */

static ngx_int_t
ngx_ws_perf_dlq_replay_reply(ngx_http_request_t *r, redisReply *reply)
{
    ngx_str_t    why;
    redisReply  *n, *kept;

    if (!ngx_ws_perf_dlq_replay_valid(reply)) {
        ngx_ws_perf_redis_bad_reply("FCALL ws_perf_dlq_replay");
        return ngx_ws_perf_store_bad_gateway(r);
    }

    n = reply->element[0];
    kept = reply->element[1];
    why.data = (u_char *) reply->element[2]->str;
    why.len = reply->element[2]->len;

    return ngx_ws_perf_dlq_replayed(r, (ngx_uint_t) n->integer,
                                    (ngx_uint_t) kept->integer,
                                    why.len ? &why : NULL);
}




static ngx_uint_t
ngx_ws_perf_dlq_replay_valid(redisReply *reply)
{
    return reply->type == REDIS_REPLY_ARRAY && reply->elements == 3
           && reply->element[0]->type == REDIS_REPLY_INTEGER
           && reply->element[0]->integer >= 0
           && reply->element[1]->type == REDIS_REPLY_INTEGER
           && reply->element[1]->integer >= 0
           && reply->element[2]->type == REDIS_REPLY_STRING
           && ngx_ws_perf_dlq_text(reply->element[2]);
}


/* "<ms>-<n>", as the ids of the dead letters are */

static ngx_uint_t
ngx_ws_perf_dlq_id(ngx_str_t *id)
{
    redisReply  s;

    s.str = (char *) id->data;
    s.len = id->len;

    return ngx_ws_perf_reply_stream_id(&s);
}


/* a reason from the Lua functions, to be quoted in a JSON answer */

static ngx_uint_t
ngx_ws_perf_dlq_text(redisReply *s)
{
    uint32_t  state;

    state = 0;

    return ngx_ws_perf_utf8_validate(&state, (u_char *) s->str, s->len)
           == NGX_WS_PERF_UTF8_OK;
}


static ngx_int_t
ngx_ws_perf_store_bad_gateway(ngx_http_request_t *r)
{
    return ngx_ws_perf_send_json(r, NGX_HTTP_BAD_GATEWAY,
                                 "{\"error\":\"unexpected reply from "
                                 "redis\"}");
}


/* {"next":ID|null,"counts":{REASON:N,...},"entries":[{...}]} */

static ngx_int_t
ngx_ws_perf_dlq_list(ngx_http_request_t *r, redisReply *reply)
{
    u_char  *p, *buf;

    if (ngx_ws_perf_reply_dlq_list(reply) != 0) {
        ngx_ws_perf_redis_bad_reply("FCALL ws_perf_dlq_list");
        return ngx_ws_perf_store_bad_gateway(r);
    }

    buf = ngx_pnalloc(r->pool, ngx_ws_perf_reply_dlq_list_size(reply) + 2);
    if (buf == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_ws_perf_reply_dlq_list_json(buf, reply, ngx_ws_perf_dlq_message);
    *p++ = CR; *p++ = LF;

    return ngx_ws_perf_send_response(r, NGX_HTTP_OK, "application/json", buf,
                                     p - buf);
}


/* ?id=: the entry itself, or 404 */

static ngx_int_t
ngx_ws_perf_dlq_get(ngx_http_request_t *r, redisReply *reply)
{
    u_char  *p, *buf;

    if (ngx_ws_perf_reply_dlq_get(reply) != 0) {
        ngx_ws_perf_redis_bad_reply("XRANGE of the dead letters");
        return ngx_ws_perf_store_bad_gateway(r);
    }

    if (reply->elements == 0) {
        return ngx_ws_perf_send_json(r, NGX_HTTP_NOT_FOUND,
                                     "{\"error\":\"no dead letter has "
                                     "this id\"}");
    }

    buf = ngx_pnalloc(r->pool,
                      ngx_ws_perf_reply_dlq_entry_size(reply->element[0])
                      + 2);
    if (buf == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_ws_perf_reply_dlq_entry_json(buf, reply->element[0],
                                         ngx_ws_perf_dlq_message);
    *p++ = CR; *p++ = LF;

    return ngx_ws_perf_send_response(r, NGX_HTTP_OK, "application/json", buf,
                                     p - buf);
}


/* ,"message":{envelope} of a dead letter's wire form, or nothing */

static u_char *
ngx_ws_perf_dlq_message(u_char *p, const redisReply *w,
    const redisReply *target)
{
    u_char             *plain;
    ngx_int_t           rc;
    ngx_ws_perf_msg_t   m;
    static ngx_uint_t   malformed;

    ngx_memzero(&m, sizeof(ngx_ws_perf_msg_t));

    (void) ngx_ws_perf_reply_dlq_target(target, &m);

    rc = ngx_ws_perf_redis_message(&m, (u_char *) w->str, w->len, &plain,
                                   "in a dead letter");

    if (rc == NGX_ERROR) {
        if (ngx_ws_perf_redis_drop(&malformed)) {
            ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                          "ws_perf: ignored a malformed message in a dead "
                          "letter of \"%*s\" in redis (%ui so far)",
                          target->len, target->str, malformed);
        }

        return p;
    }

    if (rc == NGX_OK) {
        p = ngx_cpymem(p, ",\"message\":", 11);
        p = ngx_ws_perf_msg_envelope(&m, p);
    }

    if (plain) {
        ngx_free(plain);
    }

    return p;
}


static ngx_int_t
ngx_ws_perf_store_unavailable(ngx_http_request_t *r, ngx_int_t rc)
{
    if (ngx_ws_perf_http_header(r, "Retry-After", "1") != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc == NGX_BUSY) {
        return ngx_ws_perf_send_json(r, NGX_HTTP_TOO_MANY_REQUESTS,
                                     "{\"error\":\"too many commands are "
                                     "waiting for redis\"}");
    }

    return ngx_ws_perf_send_json(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                 "{\"error\":\"redis is unavailable\"}");
}


/*
 * The dead letters of a Redis Cluster: each shard keeps its own (they are
 * written by the functions that run in the shard's slot), so a request
 * asks every shard.  A list is merged in the order of the entries' ids,
 * and its "next" is the last id of the page: the next page asks every
 * shard for what comes after it.
 */

static ngx_int_t
ngx_ws_perf_store_fan(ngx_http_request_t *r, ngx_uint_t kind,
    ngx_ws_perf_dlq_query_t *q, ngx_str_t *id)
{
    ngx_int_t                  rc;
    ngx_uint_t                 s, shards;
    ngx_ws_perf_store_fan_t   *fan;
    ngx_ws_perf_redis_args_t   a;

    if (id && !ngx_ws_perf_dlq_id(id)
        && !(kind != NGX_WS_PERF_DLQ_GET
             && id->len == 3 && ngx_strncmp(id->data, "all", 3) == 0))
    {
        return kind == NGX_WS_PERF_DLQ_REPLAY
               ? ngx_ws_perf_dlq_replayed(r, 0, 0, NULL)
               : ngx_ws_perf_send_json(r, NGX_HTTP_NOT_FOUND,
                                       kind == NGX_WS_PERF_DLQ_GET
                                       ? "{\"error\":\"no dead letter has "
                                         "this id\"}"
                                       : "{\"deleted\":0}");
    }

    shards = ngx_ws_perf_redis_shards();

    rc = ngx_ws_perf_redis_room(shards);
    if (rc != NGX_OK) {
        return ngx_ws_perf_store_unavailable(r, rc);
    }

    fan = ngx_ws_perf_http_wait(r, sizeof(ngx_ws_perf_store_fan_t));
    if (fan == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memzero((u_char *) fan + sizeof(ngx_ws_perf_http_wait_t),
                sizeof(ngx_ws_perf_store_fan_t)
                - sizeof(ngx_ws_perf_http_wait_t));

    fan->kind = kind;
    fan->count = q ? q->count : 0;

    if (ngx_array_init(&fan->entries, r->pool, 16,
                       sizeof(ngx_ws_perf_store_entry_t))
        != NGX_OK
        || ngx_array_init(&fan->counts, r->pool, 4,
                          sizeof(ngx_ws_perf_store_count_t))
           != NGX_OK)
    {
        (void) ngx_ws_perf_http_waited(fan);
        ngx_free(fan);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    for (s = 0; s < shards; s++) {
        ngx_ws_perf_store_fan_args(&a, kind, s, q, id);

        if (ngx_ws_perf_redis_call(ngx_ws_perf_store_fan_reply, fan, &a)
            != NGX_AGAIN)
        {
            break;
        }

        fan->waiting++;
    }

    if (s < shards) {
        /* those sent answer to a request that is no longer theirs */
        (void) ngx_ws_perf_http_waited(fan);
        fan->wait.request = NULL;

        if (fan->waiting == 0) {
            ngx_free(fan);
        }

        return ngx_ws_perf_store_unavailable(r, NGX_DECLINED);
    }

    return ngx_ws_perf_http_hold(fan);
}


static void
ngx_ws_perf_store_fan_args(ngx_ws_perf_redis_args_t *a, ngx_uint_t kind,
    ngx_uint_t shard, ngx_ws_perf_dlq_query_t *q, ngx_str_t *id)
{
    switch (kind) {

    case NGX_WS_PERF_DLQ_LIST:
        ngx_ws_perf_redis_fcall(a, "ws_perf_dlq_list", 1);
        ngx_ws_perf_redis_arg_shared(a, "dlq", shard);
        ngx_ws_perf_redis_arg(a, q->after.data, q->after.len);
        ngx_ws_perf_redis_argf(a, "%ui", q->count);
        ngx_ws_perf_redis_arg(a, q->reason.data, q->reason.len);
        ngx_ws_perf_redis_arg(a, q->target.data, q->target.len);
        break;

    case NGX_WS_PERF_DLQ_GET:
        ngx_ws_perf_redis_args(a, "XRANGE");
        ngx_ws_perf_redis_arg_shared(a, "dlq", shard);
        ngx_ws_perf_redis_arg(a, id->data, id->len);
        ngx_ws_perf_redis_arg(a, id->data, id->len);
        break;

    default: /* NGX_WS_PERF_DLQ_REPLAY, NGX_WS_PERF_DLQ_DELETE */
        ngx_ws_perf_redis_fcall(a, kind == NGX_WS_PERF_DLQ_REPLAY
                                   ? "ws_perf_dlq_replay"
                                   : "ws_perf_dlq_delete", 1);
        ngx_ws_perf_redis_arg_shared(a, "dlq", shard);
        ngx_ws_perf_redis_arg(a, id->data, id->len);
        break;
    }
}


static void
ngx_ws_perf_store_fan_reply(void *data, void *reply)
{
    ngx_ws_perf_store_fan_t *fan = data;

    ngx_int_t            rc;
    redisReply          *r = reply;
    ngx_http_request_t  *req;

    fan->waiting--;

    req = fan->answered ? NULL : fan->wait.request;

    if (req) {
        if (r == NULL) {
            rc = ngx_ws_perf_store_unavailable(req, NGX_DECLINED);

        } else if (ngx_ws_perf_store_fan_take(req, fan, r, &rc)
                   == NGX_AGAIN)
        {
            if (fan->waiting) {
                return;
            }

            rc = ngx_ws_perf_store_fan_answer(req, fan);
        }

        fan->answered = 1;
        (void) ngx_ws_perf_http_waited(fan);

        if (fan->waiting == 0) {
            ngx_free(fan);
        }

        ngx_ws_perf_http_answer(req, rc);
        return;
    }

    if (fan->waiting == 0) {
        if (!fan->answered) {
            (void) ngx_ws_perf_http_waited(fan);
        }

        ngx_free(fan);
    }
}


/*
 * One shard's answer, taken in: NGX_AGAIN; or it failed, and the request
 * is answered: what to finalize it with, in *rc
 */

static ngx_int_t
ngx_ws_perf_store_fan_take(ngx_http_request_t *r,
    ngx_ws_perf_store_fan_t *fan, redisReply *reply, ngx_int_t *rc)
{
    size_t       len;
    redisReply  *w;

    if (reply->type == REDIS_REPLY_ERROR) {
        *rc = ngx_ws_perf_store_http_error(r, reply);
        return NGX_DONE;
    }

    switch (fan->kind) {

    case NGX_WS_PERF_DLQ_LIST:
        return ngx_ws_perf_store_fan_list(r, fan, reply, rc);

    case NGX_WS_PERF_DLQ_GET:
        if (ngx_ws_perf_reply_dlq_get(reply) != 0) {
            ngx_ws_perf_redis_bad_reply("XRANGE of the dead letters");
            *rc = ngx_ws_perf_store_bad_gateway(r);
            return NGX_DONE;
        }

        if (reply->elements == 0 || fan->found.len) {
            return NGX_AGAIN;
        }

        len = ngx_ws_perf_reply_dlq_entry_size(reply->element[0]);

        fan->found.data = ngx_pnalloc(r->pool, len + 2);
        if (fan->found.data == NULL) {
            *rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
            return NGX_DONE;
        }

        fan->found.len = ngx_ws_perf_reply_dlq_entry_json(fan->found.data,
                             reply->element[0], ngx_ws_perf_dlq_message)
                         - fan->found.data;
        return NGX_AGAIN;

    case NGX_WS_PERF_DLQ_REPLAY:
        if (!ngx_ws_perf_dlq_replay_valid(reply)) {
            ngx_ws_perf_redis_bad_reply("FCALL ws_perf_dlq_replay");
            *rc = ngx_ws_perf_store_bad_gateway(r);
            return NGX_DONE;
        }

        fan->n += (ngx_uint_t) reply->element[0]->integer;
        fan->kept += (ngx_uint_t) reply->element[1]->integer;
        w = reply->element[2];

        if (w->len && fan->why.len == 0) {
            fan->why.data = ngx_pnalloc(r->pool, w->len);
            if (fan->why.data == NULL) {
                *rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
                return NGX_DONE;
            }

            fan->why.len = w->len;
            ngx_memcpy(fan->why.data, w->str, w->len);
        }

        return NGX_AGAIN;

    default: /* NGX_WS_PERF_DLQ_DELETE */
        if (reply->type != REDIS_REPLY_INTEGER || reply->integer < 0) {
            ngx_ws_perf_redis_bad_reply("a dead-letter command");
            *rc = ngx_ws_perf_store_bad_gateway(r);
            return NGX_DONE;
        }

        fan->n += (ngx_uint_t) reply->integer;
        return NGX_AGAIN;
    }
}


static ngx_int_t
ngx_ws_perf_store_fan_list(ngx_http_request_t *r,
    ngx_ws_perf_store_fan_t *fan, redisReply *reply, ngx_int_t *rc)
{
    size_t                      i;
    redisReply                 *next;
    ngx_ws_perf_store_entry_t  *entry;

    if (ngx_ws_perf_reply_dlq_list(reply) != 0) {
        ngx_ws_perf_redis_bad_reply("FCALL ws_perf_dlq_list");
        *rc = ngx_ws_perf_store_bad_gateway(r);
        return NGX_DONE;
    }

    next = reply->element[0];

    if (next->len
        && (fan->next.len == 0
            || ngx_ws_perf_store_id_cmp((u_char *) next->str, next->len,
                                        fan->next.data, fan->next.len)
               < 0))
    {
        fan->next.data = ngx_pnalloc(r->pool, next->len);
        if (fan->next.data == NULL) {
            *rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
            return NGX_DONE;
        }

        fan->next.len = next->len;
        ngx_memcpy(fan->next.data, next->str, next->len);
    }

    if (ngx_ws_perf_store_fan_counts(r, fan, reply->element[1]) != NGX_OK) {
        *rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
        return NGX_DONE;
    }

    for (i = 2; i < reply->elements; i++) {
        entry = ngx_array_push(&fan->entries);
        if (entry == NULL
            || ngx_ws_perf_store_fan_entry(r, entry, reply->element[i])
               != NGX_OK)
        {
            *rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
            return NGX_DONE;
        }
    }

    return NGX_AGAIN;
}


/* a shard's counts by reason, added to those of the others */

static ngx_int_t
ngx_ws_perf_store_fan_counts(ngx_http_request_t *r,
    ngx_ws_perf_store_fan_t *fan, redisReply *counts)
{
    size_t                      i, j, len;
    u_char                     *p;
    int64_t                     n;
    redisReply                 *k, *v;
    ngx_ws_perf_store_count_t  *c;

    for (i = 0; i + 1 < counts->elements; i += 2) {
        k = counts->element[i];
        v = counts->element[i + 1];

        n = ngx_atoof((u_char *) v->str, v->len);

        /* a reason that is not text or a count that is not a number */
        if (n < 0 || !ngx_ws_perf_dlq_text(k)) {
            continue;
        }

        len = ngx_ws_perf_json_escape_size((u_char *) k->str, k->len);

        p = ngx_pnalloc(r->pool, len);
        if (p == NULL) {
            return NGX_ERROR;
        }

        len = ngx_ws_perf_json_escape(p, (u_char *) k->str, k->len) - p;

        c = fan->counts.elts;

        for (j = 0; j < fan->counts.nelts; j++) {
            if (c[j].reason.len == len
                && ngx_memcmp(c[j].reason.data, p, len) == 0)
            {
                break;
            }
        }

        if (j == fan->counts.nelts) {
            c = ngx_array_push(&fan->counts);
            if (c == NULL) {
                return NGX_ERROR;
            }

            c->reason.data = p;
            c->reason.len = len;
            c->n = 0;

        } else {
            c = &c[j];
        }

        c->n += n;
    }

    return NGX_OK;
}


/* an entry of a shard's list, as JSON in the request's pool */

static ngx_int_t
ngx_ws_perf_store_fan_entry(ngx_http_request_t *r,
    ngx_ws_perf_store_entry_t *entry, redisReply *e)
{
    size_t       len;
    redisReply  *id;

    id = e->element[0];

    len = ngx_ws_perf_reply_dlq_entry_size(e) + id->len;

    entry->id.data = ngx_pnalloc(r->pool, len);
    if (entry->id.data == NULL) {
        return NGX_ERROR;
    }

    entry->id.len = id->len;
    ngx_memcpy(entry->id.data, id->str, id->len);

    ngx_ws_perf_store_id_parse(entry->id.data, entry->id.len, &entry->ms,
                               &entry->seq);

    entry->json.data = entry->id.data + id->len;
    entry->json.len = ngx_ws_perf_reply_dlq_entry_json(entry->json.data, e,
                          ngx_ws_perf_dlq_message)
                      - entry->json.data;

    return NGX_OK;
}


static ngx_int_t
ngx_ws_perf_store_fan_answer(ngx_http_request_t *r,
    ngx_ws_perf_store_fan_t *fan)
{
    u_char  *p;

    switch (fan->kind) {

    case NGX_WS_PERF_DLQ_LIST:
        return ngx_ws_perf_store_fan_page(r, fan);

    case NGX_WS_PERF_DLQ_GET:
        if (fan->found.len == 0) {
            return ngx_ws_perf_send_json(r, NGX_HTTP_NOT_FOUND,
                                         "{\"error\":\"no dead letter has "
                                         "this id\"}");
        }

        p = fan->found.data + fan->found.len;
        *p++ = CR; *p++ = LF;

        return ngx_ws_perf_send_response(r, NGX_HTTP_OK, "application/json",
                                         fan->found.data,
                                         fan->found.len + 2);

    case NGX_WS_PERF_DLQ_REPLAY:
        return ngx_ws_perf_dlq_replayed(r, fan->n, fan->kept,
                                        fan->why.len ? &fan->why : NULL);

    default: /* NGX_WS_PERF_DLQ_DELETE */
        return ngx_ws_perf_send_json(r, fan->n ? NGX_HTTP_OK
                                               : NGX_HTTP_NOT_FOUND,
                                     "{\"deleted\":%ui}", fan->n);
    }
}


/*
 * {"next":ID|null,"counts":{REASON:N,...},"entries":[{...}]}: the oldest
 * "count" of the shards' entries; "next" is the last of them when there
 * may be more
 */

static ngx_int_t
ngx_ws_perf_store_fan_page(ngx_http_request_t *r,
    ngx_ws_perf_store_fan_t *fan)
{
    u_char                     *p, *buf;
    size_t                      len, i, n;
    ngx_str_t                  *next;
    ngx_ws_perf_store_count_t  *c;
    ngx_ws_perf_store_entry_t  *e;

    e = fan->entries.elts;
    c = fan->counts.elts;

    ngx_qsort(e, fan->entries.nelts, sizeof(ngx_ws_perf_store_entry_t),
              ngx_ws_perf_store_entry_cmp);

    n = ngx_min(fan->entries.nelts, fan->count);

    next = NULL;

    if (n && (fan->next.len || fan->entries.nelts > n)) {
        next = &e[n - 1].id;

    } else if (n == 0 && fan->next.len) {
        next = &fan->next;
    }

    len = sizeof("{\"next\":null,\"counts\":{},\"entries\":[]}" CRLF)
          + (next ? next->len + 2 : 0);

    for (i = 0; i < fan->counts.nelts; i++) {
        len += c[i].reason.len + NGX_INT64_LEN + 4;
    }

    for (i = 0; i < n; i++) {
        len += e[i].json.len + 1;
    }

    buf = ngx_pnalloc(r->pool, len);
    if (buf == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = next ? ngx_sprintf(buf, "{\"next\":\"%V\"", next)
             : ngx_cpymem(buf, "{\"next\":null", 12);

    p = ngx_cpymem(p, ",\"counts\":{", 11);

    for (i = 0; i < fan->counts.nelts; i++) {
        p = ngx_sprintf(p, "%s\"%V\":%L", i ? "," : "", &c[i].reason,
                        c[i].n);
    }

    p = ngx_cpymem(p, "},\"entries\":[", 13);

    for (i = 0; i < n; i++) {
        if (i) {
            *p++ = ',';
        }

        p = ngx_cpymem(p, e[i].json.data, e[i].json.len);
    }

    p = ngx_cpymem(p, "]}" CRLF, 4);

    return ngx_ws_perf_send_response(r, NGX_HTTP_OK, "application/json", buf,
                                     p - buf);
}


static int ngx_libc_cdecl
ngx_ws_perf_store_entry_cmp(const void *one, const void *two)
{
    const ngx_ws_perf_store_entry_t  *a = one, *b = two;

    if (a->ms != b->ms) {
        return a->ms < b->ms ? -1 : 1;
    }

    if (a->seq != b->seq) {
        return a->seq < b->seq ? -1 : 1;
    }

    return 0;
}


static ngx_int_t
ngx_ws_perf_store_id_cmp(u_char *a, size_t alen, u_char *b, size_t blen)
{
    ngx_ws_perf_store_entry_t  x, y;

    ngx_ws_perf_store_id_parse(a, alen, &x.ms, &x.seq);
    ngx_ws_perf_store_id_parse(b, blen, &y.ms, &y.seq);

    return ngx_ws_perf_store_entry_cmp(&x, &y);
}


/* a stream id "<ms>-<seq>", checked before */

static void
ngx_ws_perf_store_id_parse(u_char *p, size_t len, uint64_t *ms,
    uint64_t *seq)
{
    uint64_t  *n;
    u_char    *last;

    *ms = 0;
    *seq = 0;
    n = ms;

    for (last = p + len; p < last; p++) {
        if (*p == '-') {
            n = seq;
            continue;
        }

        *n = *n * 10 + (*p - '0');
    }
}
