
/*
 * Copyright (C) ngx_ws_perf_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include "ngx_ws_perf.h"
#include "ngx_ws_perf_frame.h"
#include "ngx_ws_perf_metrics.h"
#include "ngx_ws_perf_engine.h"
#include "ngx_ws_perf_http.h"


/* how far ahead a message may be scheduled, ms: a year, as for "delay" */
#define NGX_WS_PERF_SCHEDULE_MAX  (366LL * 86400 * 1000)


/* one publish request while its messages are on their way */
typedef struct {
    ngx_ws_perf_http_wait_t     wait;       /* first */
    ngx_uint_t                  n;
    ngx_uint_t                  waiting;    /* handlers still to come */
    ngx_int_t                   status;     /* the first failure, or 0 */
    u_char                      reason[NGX_WS_PERF_ERR_LEN];
    ngx_str_t                  *ids;        /* n, in NGX_WS_PERF_ID_MAX */
} ngx_ws_perf_pub_ctx_t;                    /* bytes each after them */


/* a presence request waiting for the engine's answer */
typedef struct {
    ngx_ws_perf_http_wait_t     wait;       /* first */
    ngx_str_t                   channel;
    ngx_int_t                   rc;         /* of an answer given at once */
    unsigned                    calling:1;
} ngx_ws_perf_presence_ctx_t;


/* a channel info request waiting for the engine's answer */
typedef struct {
    ngx_ws_perf_http_wait_t     wait;       /* first */
    ngx_uint_t                  target;
    ngx_str_t                   name;
    ngx_int_t                   rc;         /* of an answer given at once */
    unsigned                    calling:1;
} ngx_ws_perf_info_ctx_t;


static void ngx_ws_perf_publish_body(ngx_http_request_t *r);
static ngx_int_t ngx_ws_perf_publish_raw(ngx_http_request_t *r,
    ngx_ws_perf_loc_conf_t *wlcf, ngx_str_t *body, u_char *err);
static ngx_int_t ngx_ws_perf_publish_json(ngx_http_request_t *r,
    ngx_ws_perf_loc_conf_t *wlcf, ngx_str_t *body, u_char *err);
static ngx_int_t ngx_ws_perf_publish_check(ngx_ws_perf_msg_t *msgs,
    ngx_uint_t n, u_char *err);
static ngx_int_t ngx_ws_perf_partly_published(ngx_http_request_t *r,
    ngx_ws_perf_pub_ctx_t *ctx);
static ngx_int_t ngx_ws_perf_publish_all(ngx_http_request_t *r,
    ngx_ws_perf_msg_t *msgs, ngx_uint_t n);
static ngx_int_t ngx_ws_perf_publish_one(ngx_http_request_t *r,
    ngx_ws_perf_pub_ctx_t *ctx, ngx_ws_perf_msg_t *m, ngx_uint_t i);
static void ngx_ws_perf_publish_refused(ngx_ws_perf_pub_ctx_t *ctx,
    ngx_int_t rc);
static void ngx_ws_perf_published(void *data, ngx_uint_t tag, ngx_int_t rc,
    ngx_str_t *text);
static ngx_int_t ngx_ws_perf_publish_done(ngx_http_request_t *r,
    ngx_ws_perf_pub_ctx_t *ctx);
static ngx_int_t ngx_ws_perf_read_body(ngx_http_request_t *r,
    ngx_str_t *body);
static ngx_int_t ngx_ws_perf_info(ngx_http_request_t *r,
    ngx_ws_perf_loc_conf_t *wlcf);
static void ngx_ws_perf_info_reply(void *data, ngx_int_t rc,
    uint64_t subscribers, uint64_t messages, ngx_int_t workers,
    ngx_str_t *reason);
static ngx_int_t ngx_ws_perf_info_response(ngx_http_request_t *r,
    ngx_uint_t target, ngx_str_t *name, uint64_t subscribers,
    uint64_t messages, ngx_int_t workers);
static ngx_int_t ngx_ws_perf_presence(ngx_http_request_t *r,
    ngx_str_t *arg);
static void ngx_ws_perf_presence_reply(void *data, ngx_int_t rc,
    ngx_ws_perf_presence_list_t *list, ngx_str_t *reason);
static ngx_int_t ngx_ws_perf_presence_response(ngx_http_request_t *r,
    ngx_str_t *channel, ngx_ws_perf_presence_list_t *list);
static ngx_int_t ngx_ws_perf_accepted(ngx_http_request_t *r,
    ngx_str_t *ids, ngx_uint_t n);
static ngx_int_t ngx_ws_perf_api_error(ngx_http_request_t *r,
    ngx_uint_t status, char *fmt, ...);
static ngx_int_t ngx_ws_perf_dlq_list(ngx_http_request_t *r);


ngx_int_t
ngx_ws_perf_publish_handler(ngx_http_request_t *r)
{
    ngx_int_t                rc;
    ngx_str_t                id;
    ngx_ws_perf_loc_conf_t  *wlcf;

    wlcf = ngx_http_get_module_loc_conf(r, ngx_ws_perf_module);

    if (r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD)) {
        rc = ngx_http_discard_request_body(r);
        if (rc != NGX_OK) {
            return rc;
        }

        if (ngx_http_arg(r, (u_char *) "presence", 8, &id) == NGX_OK) {
            return ngx_ws_perf_presence(r, &id);
        }

        return ngx_ws_perf_info(r, wlcf);
    }

    if ((r->method & NGX_HTTP_DELETE)
        && ngx_http_arg(r, (u_char *) "schedule", 8, &id) == NGX_OK)
    {
        rc = ngx_http_discard_request_body(r);
        if (rc != NGX_OK) {
            return rc;
        }

        return ngx_ws_perf_engine->cancel(r, &id);
    }

    if (!(r->method & NGX_HTTP_POST)) {
        if (ngx_ws_perf_http_header(r, "Allow", "GET, POST, DELETE")
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        rc = ngx_http_discard_request_body(r);
        if (rc != NGX_OK) {
            return rc;
        }

        return ngx_ws_perf_api_error(r, NGX_HTTP_NOT_ALLOWED,
                                     "use POST to publish, GET for info, "
                                     "DELETE ?schedule=ID to cancel");
    }

    if (r->headers_in.content_length_n > (off_t) wlcf->max_message_size) {
        r->keepalive = 0;
        return ngx_ws_perf_api_error(r, NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                     "body over ws_perf_max_message_size "
                                     "(%uz bytes)", wlcf->max_message_size);
    }

    r->request_body_in_single_buf = 1;

    rc = ngx_http_read_client_request_body(r, ngx_ws_perf_publish_body);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


static void
ngx_ws_perf_publish_body(ngx_http_request_t *r)
{
    u_char                   err[NGX_WS_PERF_ERR_LEN];
    ngx_int_t                rc;
    ngx_str_t                body;
    ngx_ws_perf_loc_conf_t  *wlcf;

    wlcf = ngx_http_get_module_loc_conf(r, ngx_ws_perf_module);

    if (ngx_ws_perf_read_body(r, &body) != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    if (body.len > wlcf->max_message_size) {
        ngx_http_finalize_request(r,
            ngx_ws_perf_api_error(r, NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                  "body over ws_perf_max_message_size "
                                  "(%uz bytes)", wlcf->max_message_size));
        return;
    }

    if (wlcf->channels) {
        rc = ngx_ws_perf_publish_raw(r, wlcf, &body, err);

    } else {
        rc = ngx_ws_perf_publish_json(r, wlcf, &body, err);
    }

    if (rc == NGX_DONE) {
        /* the last handler finalizes the request */
        return;
    }

    if (rc == NGX_HTTP_BAD_REQUEST) {
        rc = ngx_ws_perf_api_error(r, rc, "%s", err);
    }

    ngx_http_finalize_request(r, rc);
}


/* the body is the payload; the channels come from ws_perf_channels */

/*
 * NGX_DONE: the request waits for its messages; NGX_HTTP_BAD_REQUEST with
 * the reason in err (NGX_WS_PERF_ERR_LEN bytes, zero-terminated); another
 * status: the request is answered with it.
 */

static ngx_int_t
ngx_ws_perf_publish_raw(ngx_http_request_t *r, ngx_ws_perf_loc_conf_t *wlcf,
    ngx_str_t *body, u_char *err)
{
    int                 prio;
    uint32_t            state;
    ngx_str_t           value, arg, *name;
    ngx_uint_t          i;
    ngx_array_t         names;
    ngx_ws_perf_msg_t   m, *msgs;

    if (ngx_http_complex_value(r, wlcf->channels, &value) != NGX_OK
        || ngx_array_init(&names, r->pool, 1, sizeof(ngx_str_t)) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_ws_perf_split_names(r->pool, &value, &names) != NGX_OK
        || names.nelts == 0)
    {
        ngx_snprintf(err, NGX_WS_PERF_ERR_LEN, "invalid channel name "
                     "\"%V\"%Z", &value);
        return NGX_HTTP_BAD_REQUEST;
    }

    ngx_memzero(&m, sizeof(ngx_ws_perf_msg_t));
    m.priority = NGX_WS_PERF_PRIO_NORMAL;

    if (ngx_http_arg(r, (u_char *) "priority", 8, &arg) == NGX_OK) {
        prio = ngx_ws_perf_msg_priority(arg.data, arg.len);

        if (prio < 0) {
            ngx_snprintf(err, NGX_WS_PERF_ERR_LEN, "priority must be low, "
                         "normal, high or critical%Z");
            return NGX_HTTP_BAD_REQUEST;
        }

        m.priority = prio;
    }

    state = 0;
    m.binary = (ngx_ws_perf_utf8_validate(&state, body->data, body->len)
                != NGX_WS_PERF_UTF8_OK);
    m.data = body->data;
    m.data_len = body->len;
    m.target = NGX_WS_PERF_TARGET_CHANNEL;

    msgs = ngx_palloc(r->pool, names.nelts * sizeof(ngx_ws_perf_msg_t));
    if (msgs == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    name = names.elts;

    for (i = 0; i < names.nelts; i++) {
        msgs[i] = m;
        msgs[i].name = name[i].data;
        msgs[i].name_len = name[i].len;
    }

    return ngx_ws_perf_publish_all(r, msgs, names.nelts);
}


/* one JSON message or an array of them, all checked before any is sent */

static ngx_int_t
ngx_ws_perf_publish_json(ngx_http_request_t *r, ngx_ws_perf_loc_conf_t *wlcf,
    ngx_str_t *body, u_char *err)
{
    char               **dumps;
    size_t               i, n;
    json_t              *root, *obj;
    ngx_int_t            rc;
    const char          *reason;
    json_error_t         jerr;
    ngx_ws_perf_msg_t   *msgs;

    root = json_loadb((char *) body->data, body->len, 0, &jerr);

    if (root == NULL) {
        ngx_snprintf(err, NGX_WS_PERF_ERR_LEN, "invalid JSON at line %d: "
                     "%s%Z", jerr.line, jerr.text);
        return NGX_HTTP_BAD_REQUEST;
    }

    n = json_is_array(root) ? json_array_size(root) : 1;

    if (n == 0) {
        json_decref(root);
        ngx_snprintf(err, NGX_WS_PERF_ERR_LEN,
                     "an empty array publishes nothing%Z");
        return NGX_HTTP_BAD_REQUEST;
    }

    /* one request may not take every scheduling slot or pending place */
    if (n > wlcf->max_batch) {
        json_decref(root);
        return ngx_ws_perf_api_error(r, NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                     "a batch of %uz messages, more than "
                                     "ws_perf_max_batch (%ui)", n,
                                     wlcf->max_batch);
    }

    msgs = ngx_pcalloc(r->pool, n * sizeof(ngx_ws_perf_msg_t));
    dumps = ngx_pcalloc(r->pool, n * sizeof(char *));

    if (msgs == NULL || dumps == NULL) {
        json_decref(root);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = NGX_OK;

    for (i = 0; i < n; i++) {
        obj = json_is_array(root) ? json_array_get(root, i) : root;

        if (ngx_ws_perf_msg_from_json(obj, &msgs[i], &dumps[i], &reason)
            != 0)
        {
            ngx_snprintf(err, NGX_WS_PERF_ERR_LEN, "message %uz: %s%Z",
                         i, reason);
            rc = NGX_HTTP_BAD_REQUEST;
            goto done;
        }
    }

    /* the messages are copied or delivered before this returns */
    rc = ngx_ws_perf_publish_all(r, msgs, n);

done:

    for (i = 0; i < n; i++) {
        free(dumps[i]);
    }

    json_decref(root);

    return rc;
}


/*
 * Sends the messages in order.  Returns NGX_DONE when some are still on
 * their way (the last handler answers the request), or the status to
 * finalize the request with, the answer sent.
 */

static ngx_int_t
ngx_ws_perf_publish_all(ngx_http_request_t *r, ngx_ws_perf_msg_t *msgs,
    ngx_uint_t n)
{
    ngx_int_t               rc;
    ngx_uint_t              i;
    ngx_ws_perf_pub_ctx_t  *ctx;
    u_char                  err[NGX_WS_PERF_ERR_LEN];

    rc = ngx_ws_perf_publish_check(msgs, n, err);
    if (rc != NGX_OK) {
        return ngx_ws_perf_api_error(r, rc, "%s", err);
    }

    /* the request body handler holds the request while it waits */
    ctx = ngx_ws_perf_http_wait(r, sizeof(ngx_ws_perf_pub_ctx_t)
                                   + n * (sizeof(ngx_str_t)
                                          + NGX_WS_PERF_ID_MAX));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->n = n;
    ctx->status = 0;
    ctx->ids = (ngx_str_t *) (ctx + 1);

    for (i = 0; i < n; i++) {
        ctx->ids[i].data = (u_char *) (ctx->ids + n) + i * NGX_WS_PERF_ID_MAX;
        ctx->ids[i].len = 0;
    }

    /* one more than the messages: no handler answers before the loop ends */
    ctx->waiting = 1;

    for (i = 0; i < n; i++) {
        ctx->waiting++;

        rc = ngx_ws_perf_publish_one(r, ctx, &msgs[i], i);

        if (rc == NGX_OK || rc == NGX_AGAIN) {
            continue;
        }

        ctx->waiting--;

        ngx_ws_perf_publish_refused(ctx, rc);

        break;
    }

    if (--ctx->waiting) {
        return NGX_DONE;
    }

    /* answered at once: with a pipelined publish behind it, corked */
    ngx_ws_perf_http_cork(r);

    return ngx_ws_perf_publish_done(ngx_ws_perf_http_waited(ctx), ctx);
}


/* message i of the batch to the engine, now or at its time: as publish() */

static ngx_int_t
ngx_ws_perf_publish_one(ngx_http_request_t *r, ngx_ws_perf_pub_ctx_t *ctx,
    ngx_ws_perf_msg_t *m, ngx_uint_t i)
{
    int64_t      at;
    ngx_time_t  *tp;

    if (m->deliver_at == 0 && m->delay == 0) {
        return ngx_ws_perf_engine->publish(m, ngx_ws_perf_published, ctx, i,
                                           r->connection->log);
    }

    at = m->deliver_at;

    if (at == 0) {
        tp = ngx_timeofday();
        at = (int64_t) tp->sec * 1000 + tp->msec + m->delay;
    }

    return ngx_ws_perf_engine->schedule(m, at, ngx_ws_perf_published, ctx, i);
}


/* the engine took no more of the batch: the status and reason of that */

static void
ngx_ws_perf_publish_refused(ngx_ws_perf_pub_ctx_t *ctx, ngx_int_t rc)
{
    if (rc == NGX_DECLINED) {
        ctx->status = NGX_HTTP_SERVICE_UNAVAILABLE;
        ngx_snprintf(ctx->reason, NGX_WS_PERF_ERR_LEN,
                     "redis is unavailable%Z");

    } else if (rc == NGX_BUSY) {
        ctx->status = NGX_HTTP_TOO_MANY_REQUESTS;
        ngx_snprintf(ctx->reason, NGX_WS_PERF_ERR_LEN,
                     "too many publishes are waiting for redis "
                     "(ws_perf_redis_max_pending)%Z");

    } else {
        ctx->status = NGX_HTTP_INTERNAL_SERVER_ERROR;
        ngx_snprintf(ctx->reason, NGX_WS_PERF_ERR_LEN, "publish failed%Z");
    }
}


/*
 * What can be known before anything is sent, for the whole batch: each
 * message fits an empty send queue of every subscriber, and there is room
 * for all of them in the engine now.  NGX_OK, or a status with err set.
 */

static ngx_int_t
ngx_ws_perf_publish_check(ngx_ws_perf_msg_t *msgs, ngx_uint_t n,
    u_char *err)
{
    size_t                    size;
    int64_t                   now;
    ngx_uint_t                i, later;
    ngx_time_t               *tp;
    ngx_ws_perf_main_conf_t  *wmcf;

    wmcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                               ngx_ws_perf_module);
    tp = ngx_timeofday();
    now = (int64_t) tp->sec * 1000 + tp->msec;
    later = 0;

    for (i = 0; i < n; i++) {
        size = ngx_ws_perf_publish_too_big(&msgs[i]);

        if (size) {
            ngx_snprintf(err, NGX_WS_PERF_ERR_LEN, "message %ui is %uz "
                         "bytes as a frame, more than the smallest "
                         "ws_perf_send_queue_size of the subscribers "
                         "(%uz): it would reach nobody%Z",
                         i, size, wmcf->min_send_queue);
            return NGX_HTTP_REQUEST_ENTITY_TOO_LARGE;
        }

        if (msgs[i].deliver_at || msgs[i].delay) {
            later++;
        }

        /* the same bound as "delay": no timer arithmetic near INT64_MAX */
        if (msgs[i].deliver_at > now + NGX_WS_PERF_SCHEDULE_MAX) {
            ngx_snprintf(err, NGX_WS_PERF_ERR_LEN, "message %ui: "
                         "\"deliver_at\" is more than a year ahead%Z", i);
            return NGX_HTTP_BAD_REQUEST;
        }
    }

    return ngx_ws_perf_engine->room(n, later, err);
}


/*
 * The frame a message becomes at its largest, when that is more than the
 * smallest send queue of the pub/sub locations: such a message could
 * reach nobody.  0: it fits.
 */

size_t
ngx_ws_perf_publish_too_big(ngx_ws_perf_msg_t *m)
{
    size_t                    size;
    ngx_ws_perf_main_conf_t  *wmcf;

    wmcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                               ngx_ws_perf_module);

    size = NGX_WS_PERF_FRAME_HEADER_MAX + ngx_ws_perf_msg_envelope_size(m);

    if (m->id == NULL) {
        size += NGX_WS_PERF_ID_MAX;
    }

    return (size > wmcf->min_send_queue) ? size : 0;
}


static void
ngx_ws_perf_published(void *data, ngx_uint_t tag, ngx_int_t rc,
    ngx_str_t *text)
{
    ngx_ws_perf_pub_ctx_t *ctx = data;

    ngx_http_request_t  *r;

    if (rc == NGX_OK) {
        ctx->ids[tag].len = ngx_min(text->len, NGX_WS_PERF_ID_MAX);
        ngx_memcpy(ctx->ids[tag].data, text->data, ctx->ids[tag].len);

    } else if (ctx->status == 0) {
        ctx->status = rc;
        ngx_snprintf(ctx->reason, NGX_WS_PERF_ERR_LEN, "%V%Z", text);
    }

    if (--ctx->waiting) {
        return;
    }

    r = ngx_ws_perf_http_waited(ctx);

    if (r == NULL) {
        ngx_free(ctx);
        return;
    }

    ngx_ws_perf_http_answer(r, ngx_ws_perf_publish_done(r, ctx));
}


/* the answer to a finished publish; its context is freed */

static ngx_int_t
ngx_ws_perf_publish_done(ngx_http_request_t *r, ngx_ws_perf_pub_ctx_t *ctx)
{
    ngx_int_t  rc;

    if (ctx->status) {
        rc = ngx_ws_perf_partly_published(r, ctx);

    } else {
        rc = ngx_ws_perf_accepted(r, ctx->ids, ctx->n);
    }

    ngx_free(ctx);

    return rc;
}


/*
 * A batch that failed part way: the status and reason of the first
 * failure, and "ids" with each published message's id and null for each
 * that was not, so that a retry sends only those.
 */

static ngx_int_t
ngx_ws_perf_partly_published(ngx_http_request_t *r,
    ngx_ws_perf_pub_ctx_t *ctx)
{
    u_char      *p, *buf;
    size_t       len;
    ngx_uint_t   i, done;

    done = 0;

    for (i = 0; i < ctx->n; i++) {
        done += (ctx->ids[i].len != 0);
    }

    if (done == 0) {
        return ngx_ws_perf_api_error(r, ctx->status, "%s", ctx->reason);
    }

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "publish: %ui of %ui messages published, then %i: %s",
                  done, ctx->n, ctx->status, ctx->reason);

    len = sizeof("{\"error\":\"\",\"ids\":[]}" CRLF) + NGX_WS_PERF_ERR_LEN;

    for (i = 0; i < ctx->n; i++) {
        len += ngx_max(ctx->ids[i].len + 2, 4) + 1;
    }

    buf = ngx_pnalloc(r->pool, len);
    if (buf == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_sprintf(buf, "{\"error\":\"%s\",\"ids\":[", ctx->reason);

    for (i = 0; i < ctx->n; i++) {
        if (i) {
            *p++ = ',';
        }

        if (ctx->ids[i].len) {
            p = ngx_sprintf(p, "\"%V\"", &ctx->ids[i]);

        } else {
            p = ngx_cpymem(p, "null", 4);
        }
    }

    p = ngx_cpymem(p, "]}" CRLF, 4);

    return ngx_ws_perf_send_response(r, ctx->status, "application/json", buf,
                                     p - buf);
}


static ngx_int_t
ngx_ws_perf_read_body(ngx_http_request_t *r, ngx_str_t *body)
{
    size_t        len;
    u_char       *p;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    ngx_str_null(body);

    if (r->request_body == NULL || r->request_body->bufs == NULL) {
        return NGX_OK;
    }

    len = 0;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        b = cl->buf;

        if (b->in_file) {
            /* the location's client_body_buffer_size keeps bodies in memory */
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "publish body was buffered to a file");
            return NGX_ERROR;
        }

        len += b->last - b->pos;
    }

    if (len == 0) {
        return NGX_OK;
    }

    if (r->request_body->bufs->next == NULL) {
        body->data = r->request_body->bufs->buf->pos;
        body->len = len;
        return NGX_OK;
    }

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    body->data = p;
    body->len = len;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        if (cl->buf->last != cl->buf->pos) {
            p = ngx_cpymem(p, cl->buf->pos, cl->buf->last - cl->buf->pos);
        }
    }

    return NGX_OK;
}


/* GET: a channel's (or a user's) subscribers and messages in this node */

static ngx_int_t
ngx_ws_perf_info(ngx_http_request_t *r, ngx_ws_perf_loc_conf_t *wlcf)
{
    ngx_int_t                rc;
    ngx_str_t                name, value;
    ngx_uint_t               target;
    ngx_array_t              names;
    ngx_ws_perf_info_ctx_t  *ctx;

    target = NGX_WS_PERF_TARGET_CHANNEL;
    ngx_str_null(&name);

    if (wlcf->channels) {
        if (ngx_http_complex_value(r, wlcf->channels, &value) != NGX_OK
            || ngx_array_init(&names, r->pool, 1, sizeof(ngx_str_t))
               != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (ngx_ws_perf_split_names(r->pool, &value, &names) == NGX_OK
            && names.nelts)
        {
            name = *(ngx_str_t *) names.elts;
        }

    } else if (ngx_http_arg(r, (u_char *) "user", 4, &name) == NGX_OK) {
        target = NGX_WS_PERF_TARGET_USER;

    } else {
        (void) ngx_http_arg(r, (u_char *) "channel", 7, &name);
    }

    if (!ngx_ws_perf_msg_valid_name(name.data, name.len)) {
        return ngx_ws_perf_api_error(r, NGX_HTTP_BAD_REQUEST,
                                     "name a valid channel (?channel=) "
                                     "or user (?user=)");
    }

    ctx = ngx_ws_perf_http_wait(r, sizeof(ngx_ws_perf_info_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->target = target;
    ctx->name = name;
    ctx->calling = 1;

    rc = ngx_ws_perf_engine->info(target, &name, ngx_ws_perf_info_reply,
                                  ctx);

    if (rc == NGX_AGAIN) {
        ctx->calling = 0;
        return ngx_ws_perf_http_hold(ctx);
    }

    (void) ngx_ws_perf_http_waited(ctx);

    if (rc == NGX_OK) {
        /* answered at once */
        rc = ctx->rc;
        ngx_free(ctx);
        return rc;
    }

    ngx_free(ctx);

    return ngx_ws_perf_api_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                 "redis is unavailable");
}


static void
ngx_ws_perf_info_reply(void *data, ngx_int_t rc, uint64_t subscribers,
    uint64_t messages, ngx_int_t workers, ngx_str_t *reason)
{
    ngx_ws_perf_info_ctx_t *ctx = data;

    ngx_http_request_t  *r;

    if (ctx->calling) {
        r = ctx->wait.request;
        ctx->rc = (rc == NGX_OK)
                  ? ngx_ws_perf_info_response(r, ctx->target, &ctx->name,
                                              subscribers, messages, workers)
                  : ngx_ws_perf_api_error(r, rc, "%V", reason);
        return;
    }

    r = ngx_ws_perf_http_waited(ctx);

    if (r == NULL) {
        ngx_free(ctx);
        return;
    }

    if (rc == NGX_OK) {
        rc = ngx_ws_perf_info_response(r, ctx->target, &ctx->name,
                                       subscribers, messages, workers);

    } else {
        rc = ngx_ws_perf_api_error(r, rc, "redis: %V", reason);
    }

    ngx_free(ctx);

    ngx_ws_perf_http_answer(r, rc);
}


/* workers: how many carry the subscribers (-1: the engine cannot tell) */

static ngx_int_t
ngx_ws_perf_info_response(ngx_http_request_t *r, ngx_uint_t target,
    ngx_str_t *name, uint64_t subscribers, uint64_t messages,
    ngx_int_t workers)
{
    u_char  *p, *buf;

    buf = ngx_pnalloc(r->pool, NGX_WS_PERF_NAME_MAX + 160);
    if (buf == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_sprintf(buf, "{\"%s\":\"%V\",\"subscribers\":%uL,",
                    target ? "user" : "channel", name, subscribers);

    if (workers >= 0) {
        p = ngx_sprintf(p, "\"workers\":%i,", workers);
    }

    p = ngx_sprintf(p, "\"messages\":%uL}" CRLF, messages);

    return ngx_ws_perf_send_response(r, NGX_HTTP_OK, "application/json", buf,
                                     p - buf);
}


/* GET ?presence=CHANNEL: who is present, on every worker and node */

static ngx_int_t
ngx_ws_perf_presence(ngx_http_request_t *r, ngx_str_t *arg)
{
    ngx_int_t                    rc;
    ngx_ws_perf_presence_ctx_t  *ctx;

    if (!ngx_ws_perf_msg_valid_name(arg->data, arg->len)) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "ws_perf: presence of an invalid channel name");

        return ngx_ws_perf_api_error(r, NGX_HTTP_BAD_REQUEST,
                                     "name a valid channel (?presence=, "
                                     "1-128 of A-Z a-z 0-9 _ . : @ = + -)");
    }

    ctx = ngx_ws_perf_http_wait(r, sizeof(ngx_ws_perf_presence_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->channel = *arg;
    ctx->calling = 1;

    rc = ngx_ws_perf_engine->presence(arg, ngx_ws_perf_presence_reply, ctx);

    if (rc == NGX_AGAIN) {
        ctx->calling = 0;
        return ngx_ws_perf_http_hold(ctx);
    }

    (void) ngx_ws_perf_http_waited(ctx);

    if (rc == NGX_OK) {
        rc = ctx->rc;
        ngx_free(ctx);
        return rc;
    }

    ngx_free(ctx);

    return ngx_ws_perf_api_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                 "redis is unavailable");
}


static void
ngx_ws_perf_presence_reply(void *data, ngx_int_t rc,
    ngx_ws_perf_presence_list_t *list, ngx_str_t *reason)
{
    ngx_ws_perf_presence_ctx_t *ctx = data;

    ngx_http_request_t  *r;

    if (ctx->calling) {
        r = ctx->wait.request;
        ctx->rc = (rc == NGX_OK)
                  ? ngx_ws_perf_presence_response(r, &ctx->channel, list)
                  : ngx_ws_perf_api_error(r, rc, "%V", reason);
        return;
    }

    r = ngx_ws_perf_http_waited(ctx);

    if (r == NULL) {
        ngx_free(ctx);
        return;
    }

    if (rc == NGX_OK) {
        rc = ngx_ws_perf_presence_response(r, &ctx->channel, list);

    } else {
        rc = ngx_ws_perf_api_error(r, rc, "redis: %V", reason);
    }

    ngx_free(ctx);

    ngx_ws_perf_http_answer(r, rc);
}


/* names are checked valid: none needs a JSON escape */

static ngx_int_t
ngx_ws_perf_presence_response(ngx_http_request_t *r, ngx_str_t *channel,
    ngx_ws_perf_presence_list_t *list)
{
    u_char      *p, *buf;
    size_t       len;
    ngx_uint_t   i;

    len = sizeof("{\"channel\":\"\",\"count\":,\"users\":[],"
                 "\"truncated\":true}" CRLF)
          + channel->len + NGX_INT64_LEN;

    for (i = 0; i < list->n; i++) {
        len += list->users[i].len + 3;
    }

    buf = ngx_pnalloc(r->pool, len);
    if (buf == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_sprintf(buf, "{\"channel\":\"%V\",\"count\":%uL,\"users\":[",
                    channel, list->count);

    for (i = 0; i < list->n; i++) {
        p = ngx_sprintf(p, "%s\"%V\"", i ? "," : "", &list->users[i]);
    }

    p = ngx_sprintf(p, "]%s}" CRLF,
                    list->truncated ? ",\"truncated\":true" : "");

    return ngx_ws_perf_send_response(r, NGX_HTTP_OK, "application/json", buf,
                                     p - buf);
}


static ngx_int_t
ngx_ws_perf_accepted(ngx_http_request_t *r, ngx_str_t *id, ngx_uint_t n)
{
    u_char      *p, *buf;
    size_t       len;
    ngx_uint_t   i;

    len = sizeof("{\"ids\":[]}" CRLF);

    for (i = 0; i < n; i++) {
        len += id[i].len + 3;
    }

    buf = ngx_pnalloc(r->pool, len);
    if (buf == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_cpymem(buf, "{\"ids\":[", 8);

    for (i = 0; i < n; i++) {
        p = ngx_sprintf(p, "%s\"%V\"", i ? "," : "", &id[i]);
    }

    p = ngx_cpymem(p, "]}" CRLF, 4);

    return ngx_ws_perf_send_response(r, NGX_HTTP_ACCEPTED, "application/json",
                                     buf, p - buf);
}


static ngx_int_t
ngx_ws_perf_api_error(ngx_http_request_t *r, ngx_uint_t status,
    char *fmt, ...)
{
    u_char   *p, *last, *buf;
    size_t    len;
    va_list   args;

    len = 512;

    buf = ngx_pnalloc(r->pool, len);
    if (buf == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    last = buf + len - 4;
    p = ngx_cpymem(buf, "{\"error\":\"", 10);

    va_start(args, fmt);
    p = ngx_vslprintf(p, last - 64, fmt, args);
    va_end(args);

    /* the reason may quote the client's input: keep it a JSON string */
    len = p - (buf + 10);
    p = buf + 10;

    while (len--) {
        if (*p == '"' || *p == '\\' || *p < 0x20) {
            *p = '\'';
        }

        p++;
    }

    p = ngx_cpymem(p, "\"}" CRLF, 4);

    if (status == NGX_HTTP_SERVICE_UNAVAILABLE
        || status == NGX_HTTP_TOO_MANY_REQUESTS)
    {
        /* the engine logs its state changes; a retry may succeed */
        if (ngx_ws_perf_http_header(r, "Retry-After", "1") != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

    } else {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "publish rejected with %ui: %*s", status,
                      p - buf - 14, buf + 10);
    }

    return ngx_ws_perf_send_response(r, status, "application/json", buf,
                                     p - buf);
}


/*
 * The dead-letter admin API (a ws_perf_dlq location):
 *
 *   GET    ?count=N&after=ID&reason=R&target=u:NAME   list, oldest first
 *   GET    ?id=ID                                     one
 *   POST   ?replay=ID|all                             publish again
 *   DELETE ?id=ID|all                                 delete, purge
 */

ngx_int_t
ngx_ws_perf_dlq_handler(ngx_http_request_t *r)
{
    ngx_int_t  rc;
    ngx_str_t  v;

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    if (r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD)) {
        if (ngx_http_arg(r, (u_char *) "id", 2, &v) == NGX_OK) {
            return ngx_ws_perf_engine->dlq_get(r, &v);
        }

        return ngx_ws_perf_dlq_list(r);
    }

    if (r->method == NGX_HTTP_POST
        && ngx_http_arg(r, (u_char *) "replay", 6, &v) == NGX_OK)
    {
        return ngx_ws_perf_engine->dlq_replay(r, &v);
    }

    if (r->method == NGX_HTTP_DELETE
        && ngx_http_arg(r, (u_char *) "id", 2, &v) == NGX_OK)
    {
        return ngx_ws_perf_engine->dlq_delete(r, &v);
    }

    return ngx_ws_perf_send_json(r, NGX_HTTP_BAD_REQUEST,
                                 "{\"error\":\"GET [?id=|?after=&count=&"
                                 "reason=&target=], POST ?replay=ID|all, "
                                 "DELETE ?id=ID|all\"}");
}


static ngx_int_t
ngx_ws_perf_dlq_list(ngx_http_request_t *r)
{
    ngx_int_t                n;
    ngx_str_t                v;
    ngx_ws_perf_dlq_query_t  q;

    ngx_str_null(&q.after);
    ngx_str_null(&q.reason);
    ngx_str_null(&q.target);
    q.count = 100;

    (void) ngx_http_arg(r, (u_char *) "after", 5, &q.after);
    (void) ngx_http_arg(r, (u_char *) "reason", 6, &q.reason);
    (void) ngx_http_arg(r, (u_char *) "target", 6, &q.target);

    if (ngx_http_arg(r, (u_char *) "count", 5, &v) == NGX_OK) {
        n = ngx_atoi(v.data, v.len);

        if (n <= 0 || n > 1000) {
            return ngx_ws_perf_send_json(r, NGX_HTTP_BAD_REQUEST,
                       "{\"error\":\"count must be 1 to 1000\"}");
        }

        q.count = n;
    }

    return ngx_ws_perf_engine->dlq_list(r, &q);
}
