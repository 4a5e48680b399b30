
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
#define NGX_WS_PERF_STORE_BATCH    "200"
#define NGX_WS_PERF_KEY_MAX        (64 + 8 + NGX_WS_PERF_NAME_MAX)


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


typedef struct {
    ngx_ws_perf_publish_pt      handler;
    void                       *data;
    ngx_uint_t                  tag;
} ngx_ws_perf_store_pub_t;


/* an admin or cancel request waiting for redis */
typedef struct {
    ngx_http_request_t         *request;    /* NULL once it is gone */
    ngx_pool_cleanup_t         *cleanup;
    ngx_uint_t                  kind;
} ngx_ws_perf_store_http_t;


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
static void ngx_ws_perf_store_tick(ngx_event_t *ev);
static void ngx_ws_perf_store_ticked(void *data, void *reply);
static ngx_int_t ngx_ws_perf_store_error(ngx_ws_perf_peer_t *peer,
    ngx_uint_t code, const char *reason, ngx_ws_perf_store_req_t *req);
static void ngx_ws_perf_store_fetch(ngx_ws_perf_store_req_t *req);
static void ngx_ws_perf_store_resumed(void *data, void *reply);
static void ngx_ws_perf_store_malformed(ngx_ws_perf_store_req_t *req,
    const char *where);
static void ngx_ws_perf_store_give_up(ngx_ws_perf_store_req_t *req,
    const char *reason);
static ngx_ws_perf_sub_t *ngx_ws_perf_store_sub(ngx_ws_perf_peer_t *peer,
    ngx_ws_perf_store_req_t *req);
static void ngx_ws_perf_store_acked(void *data, void *reply);
static void ngx_ws_perf_store_scheduled(void *data, void *reply);
static ngx_int_t ngx_ws_perf_store_http(ngx_http_request_t *r,
    ngx_uint_t kind, int argc, const char **argv, const size_t *argvlen);
static void ngx_ws_perf_store_http_reply(void *data, void *reply);
static void ngx_ws_perf_store_http_gone(void *data);
static ngx_int_t ngx_ws_perf_store_http_error(ngx_http_request_t *r,
    redisReply *reply);
static ngx_int_t ngx_ws_perf_store_bad_gateway(ngx_http_request_t *r);
static ngx_int_t ngx_ws_perf_dlq_replay_reply(ngx_http_request_t *r,
    redisReply *reply);
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

    if (ngx_ws_perf_redis_init(cycle, wmcf) != NGX_OK) {
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
 */

static void
ngx_ws_perf_store_tick(ngx_event_t *ev)
{
    u_char       key[NGX_WS_PERF_KEY_MAX];
    size_t       argvlen[5];
    const char  *argv[5];

    ngx_add_timer(ev, NGX_WS_PERF_STORE_TICK);

    if (ngx_ws_perf_store_busy || !ngx_ws_perf_redis_enabled()) {
        return;
    }

    argv[0] = "FCALL";
    argvlen[0] = 5;
    argv[2] = "1";
    argvlen[2] = 1;
    argv[3] = (char *) key;
    argv[4] = NGX_WS_PERF_STORE_BATCH;
    argvlen[4] = sizeof(NGX_WS_PERF_STORE_BATCH) - 1;

    if (ngx_ws_perf_store_ticks++ % NGX_WS_PERF_REDELIVER_EVERY == 0) {
        argv[1] = "ws_perf_redeliver";
        argvlen[1] = 17;
        argvlen[3] = ngx_sprintf(key, "%Vdue", ngx_ws_perf_redis_prefix())
                     - key;

        if (ngx_ws_perf_redis_chore(ngx_ws_perf_store_ticked, NULL, 5, argv,
                                    argvlen)
            == NGX_AGAIN)
        {
            ngx_ws_perf_store_busy++;
        }
    }

    argv[1] = "ws_perf_release";
    argvlen[1] = 15;
    argvlen[3] = ngx_sprintf(key, "%Vsched", ngx_ws_perf_redis_prefix())
                 - key;

    if (ngx_ws_perf_redis_chore(ngx_ws_perf_store_ticked, NULL, 5, argv,
                                argvlen)
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
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "ws_perf: redis refused a store command: %s", r->str);
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
    req->name_len = sub->topic->sn.str.len;
    ngx_memcpy(req->name, sub->topic->sn.str.data, req->name_len);
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

void
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
            && req->name_len == topic->sn.str.len
            && ngx_memcmp(req->name, topic->sn.str.data, req->name_len) == 0)
        {
            ngx_queue_remove(q);
            ngx_ws_perf_store_fetch(req);
        }
    }
}


static void
ngx_ws_perf_store_fetch(ngx_ws_perf_store_req_t *req)
{
    u_char       key[NGX_WS_PERF_KEY_MAX], limit[NGX_INT_T_LEN],
                 bytes[NGX_SIZE_T_LEN];
    size_t       argvlen[7];
    ngx_int_t    rc;
    const char  *argv[7];

    argv[0] = "FCALL";
    argvlen[0] = 5;
    argv[1] = "ws_perf_resume";
    argvlen[1] = 14;
    argv[2] = "1";
    argvlen[2] = 1;
    argv[3] = (char *) key;
    argvlen[3] = ngx_ws_perf_redis_key(key, "", req->target, req->name,
                                       req->name_len);
    argv[4] = (char *) req->since;
    argvlen[4] = req->since_len;
    argv[5] = (char *) limit;
    argvlen[5] = ngx_sprintf(limit, "%ui",
                             NGX_WS_PERF_HOLD_MAX * 64) - limit;
    argv[6] = (char *) bytes;
    argvlen[6] = ngx_sprintf(bytes, "%uz", req->room) - bytes;

    rc = ngx_ws_perf_redis_call(ngx_ws_perf_store_resumed, req, 7, argv,
                                argvlen);

    if (rc != NGX_AGAIN) {
        ngx_ws_perf_store_give_up(req, "redis is unavailable");
    }
}


static void
ngx_ws_perf_store_resumed(void *data, void *reply)
{
    ngx_ws_perf_store_req_t *req = data;

    u_char              **ids, *p, *plain, buf[NGX_WS_PERF_NAME_MAX + 4 * 64];
    size_t               *lens, i, n, sent;
    ngx_int_t             rc;
    uint64_t              first;
    ngx_uint_t            more;
    ngx_str_t             text;
    redisReply           *r = reply, *w, *last;
    ngx_ws_perf_sub_t    *sub;
    ngx_ws_perf_msg_t     m;
    ngx_ws_perf_peer_t   *peer;

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

    n = (r->elements - 3) / 2;

    ids = ngx_alloc(n * (sizeof(u_char *) + sizeof(size_t)) + 1,
                    peer->connection->log);
    if (ids == NULL) {
        ngx_ws_perf_store_give_up(req, "out of memory");
        return;
    }

    lens = (size_t *) (ids + n);

    /*
     * the gap notice, the history, what came meanwhile and the end, all at
     * one priority so that they leave in this order
     */
    if (r->element[0]->integer || sub->hold->overflow) {
        p = ngx_sprintf(buf, "{\"type\":\"gap\",\"%s\":\"%*s\","
                        "\"since\":\"%*s\",\"last\":\"%*s\"}",
                        req->target ? "user" : "channel",
                        req->name_len, req->name, req->since_len, req->since,
                        ngx_min(r->element[1]->len, 24), r->element[1]->str);
        (void) ngx_ws_perf_hub_push_text(peer, buf, p - buf,
                                         NGX_WS_PERF_PRIO_HIGH,
                                         peer->connection->log);
    }

    sent = 0;
    last = NULL;
    rc = NGX_OK;
    first = 0;

    for (i = 0; i < n; i++) {
        w = r->element[3 + 2 * i + 1];
        ids[i] = NULL;
        lens[i] = 0;

        ngx_memzero(&m, sizeof(ngx_ws_perf_msg_t));

        if (ngx_ws_perf_msg_from_wire((u_char *) w->str, w->len, &m) != 0) {
            ngx_ws_perf_store_malformed(req, "history");
            last = r->element[3 + 2 * i];
            continue;
        }

        ids[i] = (u_char *) m.id;
        lens[i] = m.id_len;

        if (first == 0) {
            first = ngx_ws_perf_hub_id_value((u_char *) m.id, m.id_len);
        }

        if (ngx_ws_perf_compress_unwire(&m, &plain) != NGX_OK) {
            ngx_ws_perf_store_malformed(req, "history");
            last = r->element[3 + 2 * i];
            continue;
        }

        m.target = req->target;
        m.name = req->name;
        m.name_len = req->name_len;

        rc = NGX_DECLINED;

        if (ngx_ws_perf_redis_text(&m, "in its history or inbox") == NGX_OK) {
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
        sent += (rc == NGX_OK);
        last = r->element[3 + 2 * i];
    }

    more = (rc == NGX_BUSY || r->element[2]->integer);

    if (more) {
        /* stopped short: where to resume from; the held come with that */
        ngx_ws_perf_hub_drop_hold(sub);

        p = ngx_sprintf(buf, "{\"type\":\"gap\",\"%s\":\"%*s\","
                        "\"since\":\"%*s\",\"last\":\"%*s\","
                        "\"more\":true}",
                        req->target ? "user" : "channel",
                        req->name_len, req->name,
                        last ? ngx_min(last->len, 24) : req->since_len,
                        last ? (u_char *) last->str : req->since,
                        ngx_min(r->element[1]->len, 24), r->element[1]->str);
        (void) ngx_ws_perf_hub_push_text(peer, buf, p - buf,
                                         NGX_WS_PERF_PRIO_HIGH,
                                         peer->connection->log);

    } else {
        ngx_ws_perf_hub_release_hold(sub, ids, lens, n,
                                     NGX_WS_PERF_PRIO_HIGH,
                                     peer->connection->log);
    }

    ngx_free(ids);

    /*
     * ids are consecutive per target: every one after since (after a gap,
     * from the first kept) up to the last was given
     */
    sub->seen = ngx_ws_perf_hub_id_value((u_char *) r->element[1]->str,
                                         r->element[1]->len);

    if (r->element[0]->integer) {
        sub->seen_after = first ? first - 1 : sub->seen;

    } else {
        sub->seen_after = ngx_ws_perf_hub_id_value(req->since,
                                                   req->since_len);
    }

    if (more) {
        /* only what was sent: the rest comes with the next resume */
        sub->seen = last ? ngx_ws_perf_hub_id_value((u_char *) last->str,
                                                    last->len)
                         : sub->seen_after;
    }

    p = ngx_sprintf(buf, "{\"type\":\"resumed\",\"%s\":\"%*s\","
                    "\"count\":%uz}", req->target ? "user" : "channel",
                    req->name_len, req->name, sent);
    (void) ngx_ws_perf_hub_resumed(peer, sub->topic, buf, p - buf,
                                   NGX_WS_PERF_PRIO_HIGH,
                                   peer->connection->log);

    ngx_free(req);
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
    u_char                    key[NGX_WS_PERF_KEY_MAX];
    size_t                    argvlen[5];
    ngx_int_t                 rc;
    const char               *argv[5];
    ngx_ws_perf_store_req_t  *req;

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

    argv[0] = "FCALL";
    argvlen[0] = 5;
    argv[1] = "ws_perf_ack";
    argvlen[1] = 11;
    argv[2] = "1";
    argvlen[2] = 1;
    argv[3] = (char *) key;
    argvlen[3] = ngx_ws_perf_redis_key(key, "", NGX_WS_PERF_TARGET_USER,
                                       peer->user->data, peer->user->len);
    argv[4] = (char *) id->data;
    argvlen[4] = id->len;

    rc = ngx_ws_perf_redis_call(ngx_ws_perf_store_acked, req, 5, argv,
                                argvlen);

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
    char                      flags[NGX_WS_PERF_WIRE_FLAGS_MAX];
    u_char                    key[NGX_WS_PERF_KEY_MAX], when[NGX_INT64_LEN];
    size_t                    argvlen[9];
    ngx_int_t                 rc;
    const char               *argv[9];
    ngx_ws_perf_store_pub_t  *pub;

    pub = ngx_alloc(sizeof(ngx_ws_perf_store_pub_t), ngx_cycle->log);
    if (pub == NULL) {
        return NGX_ERROR;
    }

    pub->handler = handler;
    pub->data = data;
    pub->tag = tag;

    argv[0] = "FCALL";
    argvlen[0] = 5;
    argv[1] = "ws_perf_schedule";
    argvlen[1] = 16;
    argv[2] = "1";
    argvlen[2] = 1;
    argv[3] = (char *) key;
    argvlen[3] = ngx_ws_perf_redis_key(key, "", m->target,
                                       (u_char *) m->name, m->name_len);
    argv[4] = (char *) m->data;
    argvlen[4] = m->data_len;
    argv[5] = ngx_ws_perf_msg_priority_name(m->priority);
    argvlen[5] = ngx_strlen(argv[5]);
    argv[6] = flags;
    argvlen[6] = ngx_ws_perf_msg_wire_flags(m, flags);
    argv[7] = m->id ? (char *) m->id : "";
    argvlen[7] = m->id ? m->id_len : 0;
    argv[8] = (char *) when;
    argvlen[8] = ngx_sprintf(when, "%L", at) - when;

    rc = ngx_ws_perf_redis_call(ngx_ws_perf_store_scheduled, pub, 9, argv,
                                argvlen);

    if (rc != NGX_AGAIN) {
        ngx_free(pub);
    }

    return rc;
}


static void
ngx_ws_perf_store_scheduled(void *data, void *reply)
{
    ngx_ws_perf_store_pub_t *pub = data;

    redisReply  *r = reply;
    ngx_str_t    text;
    ngx_int_t    rc;

    if (r && r->type == REDIS_REPLY_STRING
        && ngx_ws_perf_msg_valid_id((u_char *) r->str, r->len))
    {
        rc = NGX_OK;
        text.data = (u_char *) r->str;
        text.len = r->len;

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
    u_char       key[NGX_WS_PERF_KEY_MAX];
    size_t       argvlen[5];
    const char  *argv[5];

    argv[0] = "FCALL";
    argvlen[0] = 5;
    argv[1] = "ws_perf_cancel";
    argvlen[1] = 14;
    argv[2] = "1";
    argvlen[2] = 1;
    argv[3] = (char *) key;
    argvlen[3] = ngx_sprintf(key, "%Vsched", ngx_ws_perf_redis_prefix())
                 - key;
    argv[4] = (char *) id->data;
    argvlen[4] = id->len;

    return ngx_ws_perf_store_http(r, NGX_WS_PERF_CANCEL, 5, argv, argvlen);
}


/*
 * The dead letters (a ws_perf_dlq location, parsed by the http part):
 * a list, one, replay and delete, each one FCALL or XRANGE.
 */

static size_t
ngx_ws_perf_store_dlq_key(u_char *key)
{
    return ngx_sprintf(key, "%Vdlq", ngx_ws_perf_redis_prefix()) - key;
}


static ngx_int_t
ngx_ws_perf_store_dlq_list(ngx_http_request_t *r, ngx_ws_perf_dlq_query_t *q)
{
    u_char       key[NGX_WS_PERF_KEY_MAX], count[NGX_INT_T_LEN];
    size_t       argvlen[8];
    const char  *argv[8];

    argv[0] = "FCALL";
    argvlen[0] = 5;
    argv[1] = "ws_perf_dlq_list";
    argvlen[1] = 16;
    argv[2] = "1";
    argvlen[2] = 1;
    argv[3] = (char *) key;
    argvlen[3] = ngx_ws_perf_store_dlq_key(key);
    argv[4] = (char *) q->after.data;
    argvlen[4] = q->after.len;
    argv[5] = (char *) count;
    argvlen[5] = ngx_sprintf(count, "%ui", q->count) - count;
    argv[6] = (char *) q->reason.data;
    argvlen[6] = q->reason.len;
    argv[7] = (char *) q->target.data;
    argvlen[7] = q->target.len;

    return ngx_ws_perf_store_http(r, NGX_WS_PERF_DLQ_LIST, 8, argv, argvlen);
}


static ngx_int_t
ngx_ws_perf_store_dlq_get(ngx_http_request_t *r, ngx_str_t *id)
{
    u_char       key[NGX_WS_PERF_KEY_MAX];
    size_t       argvlen[4];
    const char  *argv[4];

    if (!ngx_ws_perf_dlq_id(id)) {
        return ngx_ws_perf_send_json(r, NGX_HTTP_NOT_FOUND,
                                     "{\"error\":\"no dead letter has "
                                     "this id\"}");
    }

    argv[0] = "XRANGE";
    argvlen[0] = 6;
    argv[1] = (char *) key;
    argvlen[1] = ngx_ws_perf_store_dlq_key(key);
    argv[2] = (char *) id->data;
    argvlen[2] = id->len;
    argv[3] = (char *) id->data;
    argvlen[3] = id->len;

    return ngx_ws_perf_store_http(r, NGX_WS_PERF_DLQ_GET, 4, argv, argvlen);
}


/* "ws_perf_dlq_replay" or "ws_perf_dlq_delete" on ID or "all" */

static ngx_int_t
ngx_ws_perf_store_dlq_call(ngx_http_request_t *r, ngx_uint_t kind,
    ngx_str_t *id)
{
    u_char       key[NGX_WS_PERF_KEY_MAX];
    size_t       argvlen[5];
    const char  *argv[5];

    argv[0] = "FCALL";
    argvlen[0] = 5;
    argv[1] = (kind == NGX_WS_PERF_DLQ_REPLAY) ? "ws_perf_dlq_replay"
                                               : "ws_perf_dlq_delete";
    argvlen[1] = 18;
    argv[2] = "1";
    argvlen[2] = 1;
    argv[3] = (char *) key;
    argvlen[3] = ngx_ws_perf_store_dlq_key(key);
    argv[4] = (char *) id->data;
    argvlen[4] = id->len;

    return ngx_ws_perf_store_http(r, kind, 5, argv, argvlen);
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
ngx_ws_perf_store_http(ngx_http_request_t *r, ngx_uint_t kind, int argc,
    const char **argv, const size_t *argvlen)
{
    ngx_int_t                  rc;
    ngx_pool_cleanup_t        *cln;
    ngx_ws_perf_store_http_t  *ctx;

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx = ngx_alloc(sizeof(ngx_ws_perf_store_http_t), r->connection->log);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->request = r;
    ctx->cleanup = cln;
    ctx->kind = kind;

    rc = ngx_ws_perf_redis_call(ngx_ws_perf_store_http_reply, ctx, argc,
                                argv, argvlen);

    if (rc != NGX_AGAIN) {
        ngx_free(ctx);
        return ngx_ws_perf_store_unavailable(r, rc);
    }

    cln->handler = ngx_ws_perf_store_http_gone;
    cln->data = ctx;

    r->main->count++;

    return NGX_DONE;
}


static void
ngx_ws_perf_store_http_gone(void *data)
{
    ngx_ws_perf_store_http_t *ctx = data;

    ctx->request = NULL;
}


static void
ngx_ws_perf_store_http_reply(void *data, void *reply)
{
    ngx_ws_perf_store_http_t *ctx = data;

    ngx_int_t            rc;
    redisReply          *r = reply;
    ngx_connection_t    *c;
    ngx_http_request_t  *req;

    req = ctx->request;

    if (req == NULL) {
        ngx_free(ctx);
        return;
    }

    ctx->cleanup->handler = NULL;
    c = req->connection;

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

    ngx_http_finalize_request(req, rc);
    ngx_http_run_posted_requests(c);
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

    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 3
        || reply->element[0]->type != REDIS_REPLY_INTEGER
        || reply->element[0]->integer < 0
        || reply->element[1]->type != REDIS_REPLY_INTEGER
        || reply->element[1]->integer < 0
        || reply->element[2]->type != REDIS_REPLY_STRING
        || !ngx_ws_perf_dlq_text(reply->element[2]))
    {
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
    ngx_ws_perf_msg_t   m;
    static ngx_uint_t   malformed;

    ngx_memzero(&m, sizeof(ngx_ws_perf_msg_t));

    (void) ngx_ws_perf_reply_dlq_target(target, &m);

    if (ngx_ws_perf_msg_from_wire((u_char *) w->str, w->len, &m) != 0
        || ngx_ws_perf_compress_unwire(&m, &plain) != NGX_OK)
    {
        if (ngx_ws_perf_redis_drop(&malformed)) {
            ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                          "ws_perf: ignored a malformed message in a dead "
                          "letter of \"%*s\" in redis (%ui so far)",
                          target->len, target->str, malformed);
        }

        return p;
    }

    if (ngx_ws_perf_redis_text(&m, "in a dead letter") == NGX_OK) {
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
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Retry-After");
    ngx_str_set(&h->value, "1");

    if (rc == NGX_BUSY) {
        return ngx_ws_perf_send_json(r, NGX_HTTP_TOO_MANY_REQUESTS,
                                     "{\"error\":\"too many commands are "
                                     "waiting for redis\"}");
    }

    return ngx_ws_perf_send_json(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                 "{\"error\":\"redis is unavailable\"}");
}
