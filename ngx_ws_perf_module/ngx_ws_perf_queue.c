
/*
 * Copyright (C) ngx_ws_perf_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include "ngx_ws_perf_frame.h"
#include "ngx_ws_perf_queue.h"
#include "ngx_ws_perf_metrics.h"


/* frames handed to one send_chain() call */
#define NGX_WS_PERF_SEND_FRAMES  64
/* queue nodes kept for reuse, each worker: 100,000 subscribers' worth */
#define NGX_WS_PERF_FREE_NODES   131072


static ngx_ws_perf_qnode_t *ngx_ws_perf_qnode_get(ngx_log_t *log);
static ngx_ws_perf_qnode_t *ngx_ws_perf_queue_node(ngx_ws_perf_queue_t *q,
    ngx_ws_perf_out_t *out, size_t len, ngx_log_t *log);
static void ngx_ws_perf_qnode_put(ngx_ws_perf_qnode_t *node);
static void ngx_ws_perf_queue_buf(ngx_buf_t *b, u_char *pos, u_char *last);
static ngx_uint_t ngx_ws_perf_queue_pending(ngx_ws_perf_queue_t *q,
    ngx_connection_t *c);
static ngx_int_t ngx_ws_perf_queue_flush(ngx_connection_t *c);
static ngx_int_t ngx_ws_perf_queue_send_one(ngx_ws_perf_queue_t *q,
    ngx_connection_t *c);
static void ngx_ws_perf_queue_consume(ngx_ws_perf_queue_t *q, size_t sent);
static ngx_uint_t ngx_ws_perf_consume_node(ngx_ws_perf_queue_t *q,
    ngx_ws_perf_qnode_t *node, size_t *sent);


/* queue nodes come from a per-worker free list, bounded */
static ngx_ws_perf_qnode_t  *ngx_ws_perf_free_nodes;
static ngx_uint_t            ngx_ws_perf_nfree;

/* when the last send_chain() returned, for the latency of what it sent */
static uint64_t              ngx_ws_perf_sent_at;


ngx_ws_perf_out_t *
ngx_ws_perf_out_alloc(size_t len, ngx_log_t *log)
{
    ngx_ws_perf_out_t  *out;

    out = ngx_alloc(offsetof(ngx_ws_perf_out_t, data)
                    + NGX_WS_PERF_FRAME_HEADER_MAX + len, log);
    if (out == NULL) {
        return NULL;
    }

    out->refs = 1;
    out->since = 0;
    out->start = out->data + NGX_WS_PERF_FRAME_HEADER_MAX;
    out->pos = out->start;
    out->last = out->start;

    return out;
}


void
ngx_ws_perf_out_finish(ngx_ws_perf_out_t *out, ngx_uint_t opcode)
{
    size_t  len, hlen;

    len = out->last - out->start;
    hlen = ngx_ws_perf_frame_header_size(len, 0);

    out->pos = out->start - hlen;
    (void) ngx_ws_perf_frame_encode_header(out->pos, opcode, 1, len, NULL);
}


ngx_ws_perf_out_t *
ngx_ws_perf_out_frame(ngx_uint_t opcode, u_char *data, size_t len,
    ngx_log_t *log)
{
    ngx_ws_perf_out_t  *out;

    out = ngx_ws_perf_out_alloc(len, log);
    if (out == NULL) {
        return NULL;
    }

    if (len) {
        out->last = ngx_cpymem(out->start, data, len);
    }

    ngx_ws_perf_out_finish(out, opcode);

    return out;
}


ngx_ws_perf_out_t *
ngx_ws_perf_out_raw(u_char *data, size_t len, ngx_log_t *log)
{
    ngx_ws_perf_out_t  *out;

    out = ngx_ws_perf_out_alloc(len, log);
    if (out == NULL) {
        return NULL;
    }

    out->last = ngx_cpymem(out->start, data, len);

    return out;
}


void
ngx_ws_perf_out_release(ngx_ws_perf_out_t *out)
{
    if (--out->refs == 0) {
        ngx_free(out);
    }
}


void
ngx_ws_perf_queue_init(ngx_ws_perf_queue_t *q)
{
    ngx_uint_t  i;

    ngx_memzero(q, sizeof(ngx_ws_perf_queue_t));

    for (i = 0; i < NGX_WS_PERF_PRIO_N; i++) {
        q->tail[i] = &q->head[i];
    }
}


ngx_int_t
ngx_ws_perf_queue_push(ngx_ws_perf_queue_t *q, ngx_ws_perf_out_t *out,
    ngx_uint_t prio, ngx_log_t *log)
{
    ngx_ws_perf_qnode_t  *node;

    node = ngx_ws_perf_queue_node(q, out, out->last - out->pos, log);
    if (node == NULL) {
        return NGX_ERROR;
    }

    *q->tail[prio] = node;
    q->tail[prio] = &node->next;

    return NGX_OK;
}


/* a node holding out, len bytes of which the queue now counts */

static ngx_ws_perf_qnode_t *
ngx_ws_perf_queue_node(ngx_ws_perf_queue_t *q, ngx_ws_perf_out_t *out,
    size_t len, ngx_log_t *log)
{
    ngx_ws_perf_qnode_t  *node;

    node = ngx_ws_perf_qnode_get(log);
    if (node == NULL) {
        return NULL;
    }

    node->out = out;
    node->tag = NULL;
    out->refs++;

    q->bytes += len;
    q->frames++;

    ngx_ws_perf_metrics_add(queued, len);
    ngx_ws_perf_metrics_queue_depth(q->bytes);

    return node;
}


/*
 * Queues a frame within a byte limit.  To make room it drops the oldest
 * queued frames of lower priority, low first; what still does not fit is
 * dropped itself, and so is a frame larger than the limit, whatever its
 * priority.  NGX_OK: queued; NGX_DECLINED: dropped, drops[prio] counts
 * each frame dropped; NGX_ABORT: a critical frame cannot fit.
 */

ngx_int_t
ngx_ws_perf_queue_push_bounded(ngx_ws_perf_queue_t *q, ngx_ws_perf_out_t *out,
    ngx_uint_t prio, size_t limit, ngx_uint_t *drops, ngx_log_t *log)
{
    size_t                len;
    ngx_uint_t            v;
    ngx_ws_perf_qnode_t  *node;

    len = out->last - out->pos;

    if (len > limit) {
        /* it would not fit an empty queue: nothing is made room for it */
        drops[prio]++;
        ngx_ws_perf_metrics_inc(dropped[prio]);
        return NGX_DECLINED;
    }

    for (v = NGX_WS_PERF_PRIO_LOW; q->bytes + len > limit && v > prio; v--) {

        while (q->head[v] && q->bytes + len > limit) {
            node = q->head[v];
            q->head[v] = node->next;

            if (q->head[v] == NULL) {
                q->tail[v] = &q->head[v];
            }

            q->bytes -= node->out->last - node->out->pos;
            q->frames--;
            drops[v]++;

            ngx_ws_perf_metrics_add(queued,
                                    -(node->out->last - node->out->pos));
            ngx_ws_perf_metrics_inc(dropped[v]);

            ngx_ws_perf_out_release(node->out);
            ngx_ws_perf_qnode_put(node);
        }
    }

    if (q->bytes + len > limit) {
        if (prio == NGX_WS_PERF_PRIO_CRITICAL) {
            return NGX_ABORT;
        }

        drops[prio]++;
        ngx_ws_perf_metrics_inc(dropped[prio]);
        return NGX_DECLINED;
    }

    return ngx_ws_perf_queue_push(q, out, prio, log);
}


/* whether ngx_ws_perf_queue_push_bounded() would take len bytes at prio */

ngx_uint_t
ngx_ws_perf_queue_fits(ngx_ws_perf_queue_t *q, size_t len, ngx_uint_t prio,
    size_t limit)
{
    size_t                bytes;
    ngx_uint_t            v;
    ngx_ws_perf_qnode_t  *node;

    if (len > limit) {
        return 0;
    }

    bytes = q->bytes;

    for (v = NGX_WS_PERF_PRIO_LOW; bytes + len > limit && v > prio; v--) {

        for (node = q->head[v];
             node && bytes + len > limit;
             node = node->next)
        {
            bytes -= node->out->last - node->out->pos;
        }
    }

    return bytes + len <= limit;
}


/* marks the frame just pushed at prio as one of the topic tag's */

void
ngx_ws_perf_queue_tag_last(ngx_ws_perf_queue_t *q, ngx_uint_t prio, void *tag)
{
    ngx_ws_perf_qnode_t  *node;

    node = (ngx_ws_perf_qnode_t *)
               ((u_char *) q->tail[prio] - offsetof(ngx_ws_perf_qnode_t, next));
    node->tag = tag;
}


/*
 * Takes the topic tag's frames that have not started out of the queue: a
 * resume sends them again, in order, with the history.
 */

void
ngx_ws_perf_queue_drop_tagged(ngx_ws_perf_queue_t *q, void *tag)
{
    ngx_uint_t            v;
    ngx_ws_perf_qnode_t  *node, **prev;

    for (v = 0; v < NGX_WS_PERF_PRIO_N; v++) {
        prev = &q->head[v];

        while (*prev) {
            node = *prev;

            if (node->tag != tag) {
                prev = &node->next;
                continue;
            }

            *prev = node->next;

            q->bytes -= node->out->last - node->out->pos;
            q->frames--;
            ngx_ws_perf_metrics_add(queued,
                                    -(node->out->last - node->out->pos));

            ngx_ws_perf_out_release(node->out);
            ngx_ws_perf_qnode_put(node);
        }

        q->tail[v] = prev;
    }
}


/*
 * A frame of which "sent" bytes went out by another way while the queue
 * was empty: the rest goes first.
 */

ngx_int_t
ngx_ws_perf_queue_push_partial(ngx_ws_perf_queue_t *q, ngx_ws_perf_out_t *out,
    size_t sent, ngx_log_t *log)
{
    ngx_ws_perf_qnode_t  *node;

    node = ngx_ws_perf_queue_node(q, out, out->last - out->pos - sent, log);
    if (node == NULL) {
        return NGX_ERROR;
    }

    q->cur = node;
    q->cur_sent = sent;

    return NGX_OK;
}


ngx_int_t
ngx_ws_perf_queue_push_last(ngx_ws_perf_queue_t *q, ngx_ws_perf_out_t *out,
    ngx_log_t *log)
{
    ngx_ws_perf_qnode_t  *node;

    if (q->last) {
        return NGX_OK;
    }

    node = ngx_ws_perf_queue_node(q, out, out->last - out->pos, log);
    if (node == NULL) {
        return NGX_ERROR;
    }

    q->last = node;

    return NGX_OK;
}


/*
 * Sends what the socket takes: the frame already partly sent, then the
 * queues highest priority first, then the close frame once all else is out.
 * Progress is what send_chain() took from the buffers, not c->sent: under
 * SSL it copies into its own buffer and writes that later.
 * NGX_OK: the queue is empty and flushed; NGX_AGAIN: wait for the write
 * event.
 */

ngx_int_t
ngx_ws_perf_queue_send(ngx_ws_perf_queue_t *q, ngx_connection_t *c)
{
    off_t                 sent;
    size_t                size, left;
    ngx_buf_t             bufs[NGX_WS_PERF_SEND_FRAMES];
    ngx_uint_t            n, i, all;
    ngx_chain_t          *rest, cls[NGX_WS_PERF_SEND_FRAMES];
    ngx_ws_perf_qnode_t  *node;

    if (q->frames == 1 && q->cur == NULL && q->last == NULL
#if (NGX_SSL)
        && c->ssl == NULL
#endif
        )
    {
        return ngx_ws_perf_queue_send_one(q, c);
    }

    while (q->bytes) {

        n = 0;
        all = 1;

        if (q->cur) {
            ngx_ws_perf_queue_buf(&bufs[n++], q->cur->out->pos + q->cur_sent,
                                  q->cur->out->last);
        }

        for (i = 0; i < NGX_WS_PERF_PRIO_N; i++) {
            for (node = q->head[i]; node; node = node->next) {
                if (n == NGX_WS_PERF_SEND_FRAMES) {
                    all = 0;
                    goto collected;
                }

                ngx_ws_perf_queue_buf(&bufs[n++], node->out->pos,
                                      node->out->last);
            }
        }

        if (q->last && n < NGX_WS_PERF_SEND_FRAMES) {
            ngx_ws_perf_queue_buf(&bufs[n++], q->last->out->pos,
                                  q->last->out->last);
        }

    collected:

        size = 0;

        for (i = 0; i < n; i++) {
            size += bufs[i].last - bufs[i].pos;
            cls[i].buf = &bufs[i];
            cls[i].next = (i + 1 < n) ? &cls[i + 1] : NULL;
        }

        bufs[n - 1].flush = 1;

        sent = c->sent;

        rest = c->send_chain(c, cls, 0);

        if (rest == NGX_CHAIN_ERROR) {
            c->error = 1;
            return NGX_ERROR;
        }

        ngx_ws_perf_metrics_add(bytes_out, c->sent - sent);
        ngx_ws_perf_sent_at = ngx_ws_perf_metrics_now();

        left = 0;

        for (i = 0; i < n; i++) {
            left += bufs[i].last - bufs[i].pos;
        }

        ngx_ws_perf_queue_consume(q, size - left);

        if (rest != NULL || !c->write->ready) {
            return ngx_ws_perf_queue_pending(q, c) ? NGX_AGAIN : NGX_OK;
        }

        if (all && q->bytes == 0) {
            break;
        }
    }

    return ngx_ws_perf_queue_flush(c);
}


/*
 * One whole frame on a plain socket, the common case of a fan-out: one
 * send(), without the buffer chain and the iovec that several need.
 */

static ngx_int_t
ngx_ws_perf_queue_send_one(ngx_ws_perf_queue_t *q, ngx_connection_t *c)
{
    ssize_t               n;
    ngx_uint_t            i;
    ngx_ws_perf_qnode_t  *node;

    if (!c->write->ready) {
        return NGX_AGAIN;
    }

    for (i = 0; q->head[i] == NULL; i++) { /* void */ }

    node = q->head[i];

    n = c->send(c, node->out->pos, node->out->last - node->out->pos);

    if (n == NGX_ERROR) {
        c->error = 1;
        return NGX_ERROR;
    }

    if (n > 0) {
        ngx_ws_perf_metrics_add(bytes_out, n);
        ngx_ws_perf_sent_at = ngx_ws_perf_metrics_now();
        ngx_ws_perf_queue_consume(q, n);
    }

    return q->bytes ? NGX_AGAIN : NGX_OK;
}


static void
ngx_ws_perf_queue_buf(ngx_buf_t *b, u_char *pos, u_char *last)
{
    ngx_memzero(b, sizeof(ngx_buf_t));
    b->memory = 1;
    b->pos = pos;
    b->last = last;
}


/* 1: bytes wait in the queue or in the SSL buffer */

static ngx_uint_t
ngx_ws_perf_queue_pending(ngx_ws_perf_queue_t *q, ngx_connection_t *c)
{
#if (NGX_SSL)
    if (c->ssl && (c->buffered & NGX_SSL_BUFFERED)) {
        return 1;
    }
#endif

    return q->bytes != 0;
}


/* writes out what SSL still holds once the queue is empty */

static ngx_int_t
ngx_ws_perf_queue_flush(ngx_connection_t *c)
{
#if (NGX_SSL)
    off_t  sent;

    if (c->ssl == NULL || !(c->buffered & NGX_SSL_BUFFERED)) {
        return NGX_OK;
    }

    sent = c->sent;

    if (c->send_chain(c, NULL, 0) == NGX_CHAIN_ERROR) {
        c->error = 1;
        return NGX_ERROR;
    }

    ngx_ws_perf_metrics_add(bytes_out, c->sent - sent);

    if (c->buffered & NGX_SSL_BUFFERED) {
        return NGX_AGAIN;
    }
#endif

    return NGX_OK;
}


static void
ngx_ws_perf_queue_consume(ngx_ws_perf_queue_t *q, size_t sent)
{
    ngx_uint_t            i;
    ngx_ws_perf_qnode_t  *node;

    if (q->cur) {
        node = q->cur;
        q->cur = NULL;

        if (!ngx_ws_perf_consume_node(q, node, &sent)) {
            return;
        }
    }

    for (i = 0; i < NGX_WS_PERF_PRIO_N; i++) {
        while (q->head[i] && sent) {
            node = q->head[i];
            q->head[i] = node->next;

            if (q->head[i] == NULL) {
                q->tail[i] = &q->head[i];
            }

            if (!ngx_ws_perf_consume_node(q, node, &sent)) {
                return;
            }
        }

        if (q->head[i]) {
            return;
        }
    }

    if (q->last && sent) {
        node = q->last;
        q->last = NULL;
        (void) ngx_ws_perf_consume_node(q, node, &sent);
    }
}


/* 1: the node went out whole; 0: it is now the partly sent q->cur */

static ngx_uint_t
ngx_ws_perf_consume_node(ngx_ws_perf_queue_t *q, ngx_ws_perf_qnode_t *node,
    size_t *sent)
{
    size_t  left;

    left = node->out->last - node->out->pos - q->cur_sent;

    if (*sent >= left) {
        *sent -= left;
        q->bytes -= left;
        q->frames--;
        q->cur_sent = 0;

        ngx_ws_perf_metrics_add(queued, -(int64_t) left);

        if (node->out->since) {
            ngx_ws_perf_metrics_delivery(node->out->since,
                                         ngx_ws_perf_sent_at);
        }

        ngx_ws_perf_out_release(node->out);
        ngx_ws_perf_qnode_put(node);
        return 1;
    }

    q->cur_sent += *sent;
    q->bytes -= *sent;
    ngx_ws_perf_metrics_add(queued, -(int64_t) *sent);
    *sent = 0;
    q->cur = node;

    return 0;
}


/* drops every queued frame but the one partly on the wire */

void
ngx_ws_perf_queue_discard(ngx_ws_perf_queue_t *q)
{
    ngx_ws_perf_qnode_t  *cur;
    size_t                cur_sent;

    cur = q->cur;
    cur_sent = q->cur_sent;
    q->cur = NULL;

    ngx_ws_perf_queue_free(q);

    if (cur) {
        q->cur = cur;
        q->cur_sent = cur_sent;
        q->bytes = cur->out->last - cur->out->pos - cur_sent;
        q->frames = 1;
        ngx_ws_perf_metrics_add(queued, q->bytes);
    }
}


void
ngx_ws_perf_queue_free(ngx_ws_perf_queue_t *q)
{
    ngx_uint_t            i;
    ngx_ws_perf_qnode_t  *node, *next;

    ngx_ws_perf_metrics_add(queued, -(int64_t) q->bytes);

    if (q->cur) {
        ngx_ws_perf_out_release(q->cur->out);
        ngx_ws_perf_qnode_put(q->cur);
    }

    for (i = 0; i < NGX_WS_PERF_PRIO_N; i++) {
        for (node = q->head[i]; node; node = next) {
            next = node->next;
            ngx_ws_perf_out_release(node->out);
            ngx_ws_perf_qnode_put(node);
        }
    }

    if (q->last) {
        ngx_ws_perf_out_release(q->last->out);
        ngx_ws_perf_qnode_put(q->last);
    }

    ngx_ws_perf_queue_init(q);
}


static ngx_ws_perf_qnode_t *
ngx_ws_perf_qnode_get(ngx_log_t *log)
{
    ngx_ws_perf_qnode_t  *node;

    node = ngx_ws_perf_free_nodes;

    if (node) {
        ngx_ws_perf_free_nodes = node->next;
        ngx_ws_perf_nfree--;

    } else {
        node = ngx_alloc(sizeof(ngx_ws_perf_qnode_t), log);
        if (node == NULL) {
            return NULL;
        }
    }

    node->next = NULL;

    return node;
}


/* the free list keeps a fan-out's worth: a burst's high water goes back */

static void
ngx_ws_perf_qnode_put(ngx_ws_perf_qnode_t *node)
{
    if (ngx_ws_perf_nfree >= NGX_WS_PERF_FREE_NODES) {
        ngx_free(node);
        return;
    }

    node->next = ngx_ws_perf_free_nodes;
    ngx_ws_perf_free_nodes = node;
    ngx_ws_perf_nfree++;
}


void
ngx_ws_perf_queue_cleanup(void)
{
    ngx_ws_perf_qnode_t  *node;

    while (ngx_ws_perf_free_nodes) {
        node = ngx_ws_perf_free_nodes;
        ngx_ws_perf_free_nodes = node->next;
        ngx_free(node);
    }

    ngx_ws_perf_nfree = 0;
}
