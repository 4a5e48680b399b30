
/*
 * Copyright (C) ngx_ws_perf_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include "ngx_ws_perf_frame.h"
#include "ngx_ws_perf_hub.h"
#include "ngx_ws_perf_metrics.h"
#include "ngx_ws_perf_compress.h"
#include "ngx_ws_perf_presence.h"


/*
 * the forms of a message: JSON text, raw, lz4 of the JSON text, event,
 * and the permessage-deflate frames of the JSON text and of the raw one
 */
#define NGX_WS_PERF_FORM_JSON     0
#define NGX_WS_PERF_FORM_RAW      1
#define NGX_WS_PERF_FORM_LZ4      2
#define NGX_WS_PERF_FORM_SSE      3
#define NGX_WS_PERF_FORM_DEFLATE  4     /* + JSON or RAW */
#define NGX_WS_PERF_FORMS         6

#if (defined __GNUC__)
#define ngx_ws_perf_prefetch(p)  __builtin_prefetch(p)
#else
#define ngx_ws_perf_prefetch(p)
#endif

#define ngx_ws_perf_hub_form(peer)                                           \
    ((peer)->sse ? NGX_WS_PERF_FORM_SSE : (peer)->raw)


typedef struct {
    ngx_ws_perf_out_t          *out;
    ngx_ws_perf_out_t          *sse;        /* made for the first stream */
    u_char                     *text;
    size_t                      len;
    ngx_uint_t                  sent;
    ngx_log_t                  *log;
} ngx_ws_perf_notice_t;


/*
 * A frame for a plain WebSocket connection whose queue is empty: the
 * worker's direct list holds it, and the next loop iteration writes the
 * whole list in one pass, a send() a frame, back to back.  What a socket
 * does not take whole goes to its connection's queue.
 */
typedef struct {
    ngx_ws_perf_peer_t         *peer;       /* NULL: taken off */
    ngx_ws_perf_out_t          *out;
    void                       *tag;        /* the topic */
    ngx_socket_t                fd;
    uint32_t                    next;       /* the peer's next entry */
    ngx_uint_t                  prio;
} ngx_ws_perf_direct_t;

#define NGX_WS_PERF_DIRECT_END  0xffffffff
#define NGX_WS_PERF_DIRECT_IOV  64          /* frames in one writev() */


static ngx_ws_perf_topic_t *ngx_ws_perf_hub_topic(ngx_uint_t target,
    ngx_str_t *name, ngx_log_t *log);
static void ngx_ws_perf_hub_release(ngx_ws_perf_topic_t *topic);
static ngx_ws_perf_out_t *ngx_ws_perf_hub_frame(ngx_ws_perf_msg_t *m,
    ngx_ws_perf_peer_t *peer, ngx_ws_perf_out_t **out, uint64_t now,
    ngx_log_t *log);
static ngx_uint_t ngx_ws_perf_hub_given(ngx_ws_perf_sub_t *sub,
    ngx_ws_perf_msg_t *m, uint64_t *id);
static ngx_uint_t ngx_ws_perf_hub_enqueue(ngx_ws_perf_peer_t *peer,
    ngx_ws_perf_sub_t *sub, ngx_ws_perf_out_t *frame, ngx_ws_perf_msg_t *m,
    ngx_log_t *log);
static ngx_ws_perf_out_t *ngx_ws_perf_hub_positions(ngx_ws_perf_peer_t *peer,
    ngx_ws_perf_sub_t *sub, ngx_ws_perf_out_t *event, u_char *id,
    size_t id_len, ngx_log_t *log);
static void ngx_ws_perf_hub_moved(ngx_ws_perf_peer_t *peer,
    ngx_ws_perf_sub_t *sub, u_char *id, size_t id_len);
static ngx_ws_perf_out_t *ngx_ws_perf_hub_encode(ngx_ws_perf_msg_t *m,
    ngx_uint_t form, ngx_log_t *log);
static ngx_ws_perf_out_t *ngx_ws_perf_hub_encode_sse(ngx_ws_perf_msg_t *m,
    ngx_log_t *log);
static ngx_ws_perf_out_t *ngx_ws_perf_hub_sse_text(u_char *text, size_t len,
    ngx_log_t *log);
static ngx_ws_perf_out_t *ngx_ws_perf_hub_text_out(ngx_ws_perf_peer_t *peer,
    u_char *text, size_t len, ngx_log_t *log);
static void ngx_ws_perf_hub_notice_topic(ngx_ws_perf_topic_t *topic,
    void *data);
static void ngx_ws_perf_hub_hold_msg(ngx_ws_perf_hold_t *hold,
    ngx_ws_perf_out_t *out, ngx_ws_perf_msg_t *m);
static void ngx_ws_perf_hub_push_held(ngx_ws_perf_peer_t *peer,
    ngx_ws_perf_sub_t *sub, ngx_ws_perf_held_t *h, ngx_uint_t prio,
    ngx_log_t *log);
static ngx_int_t ngx_ws_perf_hub_text(ngx_ws_perf_peer_t *peer, u_char *text,
    size_t len, ngx_uint_t prio, ngx_ws_perf_out_t **kept, ngx_log_t *log);
static void ngx_ws_perf_hub_post(ngx_ws_perf_peer_t *peer);
static ngx_int_t ngx_ws_perf_hub_direct_add(ngx_ws_perf_peer_t *peer,
    ngx_ws_perf_sub_t *sub, ngx_ws_perf_out_t *out, ngx_uint_t prio);
static void ngx_ws_perf_hub_direct_write(ngx_event_t *ev);
static size_t ngx_ws_perf_hub_direct_send(ngx_uint_t i, uint64_t now,
    ngx_log_t *log);
static void ngx_ws_perf_hub_direct_short(ngx_ws_perf_direct_t *d,
    ssize_t sent, ngx_err_t err, ngx_log_t *log);
static void ngx_ws_perf_hub_direct_queue(ngx_ws_perf_peer_t *peer,
    ngx_ws_perf_direct_t *d, ssize_t sent, ngx_err_t err, ngx_log_t *log);
static void ngx_ws_perf_hub_direct_take(ngx_ws_perf_peer_t *peer,
    uint32_t from, void *tag, ngx_uint_t queue, ngx_log_t *log);


ngx_ws_perf_hub_hook_pt   ngx_ws_perf_hub_first;
ngx_ws_perf_hub_hook_pt   ngx_ws_perf_hub_last;
ngx_ws_perf_hub_stats_t   ngx_ws_perf_hub_stats;

/* set by a bus that mirrors subscriber counts elsewhere */
ngx_uint_t                ngx_ws_perf_hub_track_changes;


/*
 * Per worker: the channels and the users with local subscribers, each in a
 * table of buckets chained through the topics, a power of two of them,
 * allocated with the first topic.  A publish finds its topic in one read
 * of the bucket array and one of the topic, where a tree of 1,000 topics
 * took ten cache misses.  The table doubles when it has more topics than
 * buckets and halves when it has fewer than a quarter; if no memory can be
 * had for that, the chains grow longer instead.
 */

#define NGX_WS_PERF_TOPICS_MIN  64

typedef struct {
    ngx_ws_perf_topic_t     **buckets;
    ngx_uint_t                size;
    ngx_uint_t                n;
} ngx_ws_perf_topics_t;

static ngx_ws_perf_topics_t  ngx_ws_perf_topics[2];

/* topics whose subscriber count changed since the bus last looked */
static ngx_queue_t        ngx_ws_perf_changed;

static ngx_uint_t         ngx_ws_perf_notice_seq;

/* the direct list, written by its event in the next loop iteration */
static ngx_ws_perf_direct_t  *ngx_ws_perf_direct;
static ngx_uint_t             ngx_ws_perf_ndirect;
static ngx_uint_t             ngx_ws_perf_direct_size;
static ngx_uint_t             ngx_ws_perf_direct_pass = 1;
static ngx_event_t            ngx_ws_perf_direct_event;


ngx_int_t
ngx_ws_perf_hub_init(ngx_cycle_t *cycle)
{
    ngx_memzero(ngx_ws_perf_topics, sizeof(ngx_ws_perf_topics));

    ngx_queue_init(&ngx_ws_perf_changed);
    ngx_memzero(&ngx_ws_perf_hub_stats, sizeof(ngx_ws_perf_hub_stats_t));

    ngx_ws_perf_direct_event.handler = ngx_ws_perf_hub_direct_write;
    ngx_ws_perf_direct_event.log = cycle->log;

    return NGX_OK;
}


ngx_ws_perf_topic_t *
ngx_ws_perf_hub_lookup(ngx_uint_t target, ngx_str_t *name)
{
    uint32_t               hash;
    ngx_ws_perf_topic_t   *topic;
    ngx_ws_perf_topics_t  *t;

    t = &ngx_ws_perf_topics[target];

    if (t->n == 0) {
        return NULL;
    }

    hash = ngx_crc32_short(name->data, name->len);

    for (topic = t->buckets[hash & (t->size - 1)]; topic; topic = topic->next)
    {
        if (topic->hash == hash
            && topic->name.len == name->len
            && ngx_memcmp(topic->name.data, name->data, name->len) == 0)
        {
            return topic;
        }
    }

    return NULL;
}


/* the table of a target moved to size buckets; NGX_ERROR: no memory */

static ngx_int_t
ngx_ws_perf_hub_resize(ngx_ws_perf_topics_t *t, ngx_uint_t size,
    ngx_log_t *log)
{
    ngx_uint_t             i;
    ngx_ws_perf_topic_t  **buckets, *topic, *next;

    buckets = ngx_calloc(size * sizeof(ngx_ws_perf_topic_t *), log);
    if (buckets == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < t->size; i++) {
        for (topic = t->buckets[i]; topic; topic = next) {
            next = topic->next;
            topic->next = buckets[topic->hash & (size - 1)];
            buckets[topic->hash & (size - 1)] = topic;
        }
    }

    if (t->buckets) {
        ngx_free(t->buckets);
    }

    t->buckets = buckets;
    t->size = size;

    return NGX_OK;
}


/*
 * NGX_OK: subscribed; NGX_DECLINED: the connection already was;
 * NGX_ERROR: no memory.
 */

ngx_int_t
ngx_ws_perf_hub_subscribe(ngx_ws_perf_peer_t *peer, ngx_ws_perf_sub_t **list,
    ngx_uint_t target, ngx_str_t *name, ngx_log_t *log)
{
    ngx_ws_perf_sub_t    *sub;
    ngx_ws_perf_topic_t  *topic;

    if (*ngx_ws_perf_hub_find(list, target, name)) {
        return NGX_DECLINED;
    }

    sub = ngx_alloc(sizeof(ngx_ws_perf_sub_t), log);
    if (sub == NULL) {
        return NGX_ERROR;
    }

    topic = ngx_ws_perf_hub_topic(target, name, log);
    if (topic == NULL) {
        ngx_free(sub);
        return NGX_ERROR;
    }

    sub->topic = topic;
    sub->conn = peer;
    sub->hold = NULL;
    sub->seen = 0;
    sub->seen_after = 0;
    sub->index = 0;
    sub->next = *list;
    *list = sub;

    ngx_queue_insert_tail(&topic->subs, &sub->queue);
    topic->nsubs++;
    ngx_ws_perf_hub_changed(topic);
    ngx_ws_perf_presence_add(peer, topic, log);

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, log, 0,
                   "websocket subscribed to %s \"%V\", %ui local",
                   target ? "user" : "channel", name, topic->nsubs);

    return NGX_OK;
}


/* NGX_OK, or NGX_DECLINED: the connection was not subscribed */

ngx_int_t
ngx_ws_perf_hub_unsubscribe(ngx_ws_perf_sub_t **list, ngx_uint_t target,
    ngx_str_t *name)
{
    ngx_ws_perf_sub_t  *sub, **prev;

    prev = ngx_ws_perf_hub_find(list, target, name);
    sub = *prev;

    if (sub == NULL) {
        return NGX_DECLINED;
    }

    *prev = sub->next;
    ngx_queue_remove(&sub->queue);
    ngx_ws_perf_hub_drop_hold(sub);
    ngx_ws_perf_presence_del(sub->conn, sub->topic);
    ngx_ws_perf_hub_release(sub->topic);
    ngx_free(sub);

    return NGX_OK;
}


/* the link to the connection's subscription, or to its list's NULL end */

ngx_ws_perf_sub_t **
ngx_ws_perf_hub_find(ngx_ws_perf_sub_t **list, ngx_uint_t target,
    ngx_str_t *name)
{
    ngx_ws_perf_sub_t  **prev, *sub;

    for (prev = list; *prev; prev = &(*prev)->next) {
        sub = *prev;

        if (sub->topic->target == target
            && sub->topic->name.len == name->len
            && ngx_strncmp(sub->topic->name.data, name->data, name->len)
               == 0)
        {
            break;
        }
    }

    return prev;
}


void
ngx_ws_perf_hub_unsubscribe_all(ngx_ws_perf_sub_t **list)
{
    ngx_ws_perf_sub_t  *sub, *next;

    for (sub = *list; sub; sub = next) {
        next = sub->next;
        ngx_queue_remove(&sub->queue);
        ngx_ws_perf_hub_drop_hold(sub);
        ngx_ws_perf_presence_del(sub->conn, sub->topic);
        ngx_ws_perf_hub_release(sub->topic);
        ngx_free(sub);
    }

    *list = NULL;
}


static ngx_ws_perf_topic_t *
ngx_ws_perf_hub_topic(ngx_uint_t target, ngx_str_t *name, ngx_log_t *log)
{
    ngx_ws_perf_topic_t   *topic, **bucket;
    ngx_ws_perf_topics_t  *t;

    topic = ngx_ws_perf_hub_lookup(target, name);
    if (topic) {
        return topic;
    }

    t = &ngx_ws_perf_topics[target];

    if (t->size == 0
        && ngx_ws_perf_hub_resize(t, NGX_WS_PERF_TOPICS_MIN, log) != NGX_OK)
    {
        return NULL;
    }

    topic = ngx_alloc(sizeof(ngx_ws_perf_topic_t) + name->len, log);
    if (topic == NULL) {
        return NULL;
    }

    ngx_memzero(topic, sizeof(ngx_ws_perf_topic_t));

    topic->name.data = (u_char *) (topic + 1);
    topic->name.len = name->len;
    ngx_memcpy(topic->name.data, name->data, name->len);
    topic->hash = ngx_crc32_short(name->data, name->len);
    topic->target = target;
    ngx_queue_init(&topic->subs);

    if (t->n == t->size) {
        (void) ngx_ws_perf_hub_resize(t, 2 * t->size, log);
    }

    bucket = &t->buckets[topic->hash & (t->size - 1)];
    topic->next = *bucket;
    *bucket = topic;
    t->n++;

    if (ngx_ws_perf_hub_first) {
        ngx_ws_perf_hub_first(target, &topic->name);
    }

    return topic;
}


static void
ngx_ws_perf_hub_release(ngx_ws_perf_topic_t *topic)
{
    ngx_ws_perf_topic_t   **bucket;
    ngx_ws_perf_topics_t   *t;

    if (--topic->nsubs) {
        ngx_ws_perf_hub_changed(topic);
        return;
    }

    if (topic->is_changed) {
        ngx_queue_remove(&topic->changed);
    }

    if (ngx_ws_perf_hub_last) {
        ngx_ws_perf_hub_last(topic->target, &topic->name);
    }

    t = &ngx_ws_perf_topics[topic->target];

    for (bucket = &t->buckets[topic->hash & (t->size - 1)];
         *bucket != topic;
         bucket = &(*bucket)->next)
    {
        /* void */
    }

    *bucket = topic->next;
    t->n--;

    if (t->size > NGX_WS_PERF_TOPICS_MIN && t->n < t->size / 4) {
        (void) ngx_ws_perf_hub_resize(t, t->size / 2, ngx_cycle->log);
    }
    ngx_ws_perf_presence_free(topic);
    ngx_free(topic);
}


/*
 * Fans a message out to the local subscribers of its target: the frame is
 * encoded once per format (JSON text, raw, lz4 of the JSON text, the
 * event of an event stream), each queue takes a reference, and each
 * connection's write event is posted.  Returns the subscribers reached.
 */

ngx_uint_t
ngx_ws_perf_hub_deliver(ngx_ws_perf_msg_t *m, ngx_log_t *log)
{
    ngx_str_t             name;
    ngx_uint_t            n, f, too_big;
    ngx_queue_t          *q;
    ngx_ws_perf_sub_t    *sub, *next;
    ngx_ws_perf_out_t    *out[NGX_WS_PERF_FORMS], *frame;
    ngx_ws_perf_peer_t   *peer;
    ngx_ws_perf_topic_t  *topic;
    uint64_t              now, id;

    ngx_ws_perf_hub_stats.published++;

    name.data = (u_char *) m->name;
    name.len = m->name_len;

    topic = ngx_ws_perf_hub_lookup(m->target, &name);
    if (topic == NULL) {
        return 0;
    }

    topic->published++;

    for (f = 0; f < NGX_WS_PERF_FORMS; f++) {
        out[f] = NULL;
    }

    n = 0;
    id = 0;
    too_big = 0;
    now = ngx_ws_perf_metrics_now();

    for (q = ngx_queue_head(&topic->subs);
         q != ngx_queue_sentinel(&topic->subs);
         q = ngx_queue_next(q))
    {
        sub = ngx_queue_data(q, ngx_ws_perf_sub_t, queue);
        peer = sub->conn;

        /* the next subscriber's peer loads while this one is served */
        if (ngx_queue_next(q) != ngx_queue_sentinel(&topic->subs)) {
            next = ngx_queue_data(ngx_queue_next(q), ngx_ws_perf_sub_t,
                                  queue);
            ngx_ws_perf_prefetch(next->conn);
        }

        if (peer->closing) {
            continue;
        }

        frame = ngx_ws_perf_hub_frame(m, peer, out, now, log);
        if (frame == NULL) {
            break;
        }

        if (sub->hold) {
            ngx_ws_perf_hub_hold_msg(sub->hold, frame, m);
            continue;
        }

        if (sub->seen && ngx_ws_perf_hub_given(sub, m, &id)) {
            continue;
        }

        if ((size_t) (frame->last - frame->pos) > peer->limit
            && !too_big++)
        {
            /* a publisher outside nginx; publishes through it are checked */
            ngx_log_error(NGX_LOG_WARN, log, 0,
                          "ws_perf: message \"%*s\" is %uz bytes as a "
                          "frame, more than a subscriber's "
                          "ws_perf_send_queue_size (%uz): not delivered to "
                          "such subscribers", m->id_len, m->id,
                          (size_t) (frame->last - frame->pos), peer->limit);
        }

        n += ngx_ws_perf_hub_enqueue(peer, sub, frame, m, log);
    }

    for (f = 0; f < NGX_WS_PERF_FORMS; f++) {
        if (out[f]) {
            ngx_ws_perf_out_release(out[f]);
        }
    }

    ngx_ws_perf_hub_stats.delivered += n;
    ngx_ws_perf_metrics_add(delivered, n);

    return n;
}


/*
 * The frame of m in the form the peer takes, made the first time a peer
 * needs that form: out[] holds the JSON text, raw, lz4, event and
 * deflate forms.
 */

static ngx_ws_perf_out_t *
ngx_ws_perf_hub_frame(ngx_ws_perf_msg_t *m, ngx_ws_perf_peer_t *peer,
    ngx_ws_perf_out_t **out, uint64_t now, ngx_log_t *log)
{
    ngx_uint_t  f, d;

    f = ngx_ws_perf_hub_form(peer);

    if (out[f] == NULL) {
        out[f] = ngx_ws_perf_hub_encode(m, f, log);
        if (out[f] == NULL) {
            return NULL;
        }

        out[f]->since = now;
    }

    /* the lz4 form is made from the JSON text, once */
    if (peer->lz4_min && f == NGX_WS_PERF_FORM_JSON
        && (size_t) (out[0]->last - out[0]->start) >= peer->lz4_min)
    {
        f = NGX_WS_PERF_FORM_LZ4;

        if (out[f] == NULL) {
            out[f] = ngx_ws_perf_compress_frame(out[0], log);
            if (out[f] == NULL) {
                return NULL;
            }

            out[f]->since = now;
        }
    }

    /* an lz4 frame is compressed already; small ones do not pay */
    if (peer->deflate && f <= NGX_WS_PERF_FORM_RAW
        && (size_t) (out[f]->last - out[f]->start) >= peer->deflate_min)
    {
        d = NGX_WS_PERF_FORM_DEFLATE + f;

        if (out[d] == NULL) {
            out[d] = ngx_ws_perf_compress_deflate(out[f], log);
            if (out[d] == NULL) {
                return NULL;
            }

            out[d]->since = now;
        }

        f = d;
    }

    return out[f];
}


/*
 * The subscribe link may bring a message after the resume's answer came
 * on the other link: 1 for one the history just gave, to be dropped; an
 * older one is a redelivery, whose ack is still awaited.  *id caches the
 * message's id value over the fan-out.
 */

static ngx_uint_t
ngx_ws_perf_hub_given(ngx_ws_perf_sub_t *sub, ngx_ws_perf_msg_t *m,
    uint64_t *id)
{
    if (*id == 0) {
        *id = ngx_ws_perf_hub_id_value((u_char *) m->id, m->id_len);
    }

    if (*id > sub->seen_after && *id <= sub->seen) {
        return 1;
    }

    if (*id > sub->seen) {
        sub->seen = 0;
    }

    return 0;
}


/*
 * The frame to the peer's queue within its bound (an overflow marks the
 * peer), and its write event posted; a stream of several targets takes
 * its own copy, with its positions as the id.  1 if queued.
 */

static ngx_uint_t
ngx_ws_perf_hub_enqueue(ngx_ws_perf_peer_t *peer, ngx_ws_perf_sub_t *sub,
    ngx_ws_perf_out_t *frame, ngx_ws_perf_msg_t *m, ngx_log_t *log)
{
    ngx_int_t           rc;
    ngx_uint_t          queued;
    ngx_ws_perf_out_t  *own;

    /* a direct peer is no event stream: it has no positions */
    if (peer->direct && peer->queue->bytes == 0
        && ngx_ws_perf_hub_direct_add(peer, sub, frame, m->priority)
           == NGX_OK)
    {
        return 1;
    }

    own = NULL;

    if (peer->npos) {
        own = ngx_ws_perf_hub_positions(peer, sub, frame, (u_char *) m->id,
                                        m->id_len, log);
        if (own == NULL) {
            return 0;
        }

        frame = own;
    }

    /* a burst over the bound goes to a writable socket before drops */
    if (peer->queue->bytes + (frame->last - frame->pos) > peer->limit
        && peer->connection->write->ready)
    {
        ngx_ws_perf_hub_direct_pull(peer, log);
        (void) ngx_ws_perf_queue_send(peer->queue, peer->connection);
    }

    rc = ngx_ws_perf_queue_push_bounded(peer->queue, frame, m->priority,
                                        peer->limit,
                                        ngx_ws_perf_hub_stats.dropped, log);
    queued = 0;

    if (own) {
        ngx_ws_perf_out_release(own);
    }

    if (rc == NGX_ABORT) {
        peer->overflow = 1;

    } else if (rc == NGX_OK) {
        ngx_ws_perf_queue_tag_last(peer->queue, m->priority, sub->topic);
        ngx_ws_perf_hub_moved(peer, sub, (u_char *) m->id, m->id_len);
        queued = 1;
    }

    /*
     * written in the next loop iteration: messages published until then
     * leave in the same writev
     */
    if (!peer->connection->write->posted) {
        ngx_post_event(peer->connection->write, &ngx_posted_next_events);
    }

    return queued;
}


static ngx_ws_perf_out_t *
ngx_ws_perf_hub_encode(ngx_ws_perf_msg_t *m, ngx_uint_t form, ngx_log_t *log)
{
    ngx_ws_perf_out_t  *out;

    if (form == NGX_WS_PERF_FORM_SSE) {
        return ngx_ws_perf_hub_encode_sse(m, log);
    }

    if (form == NGX_WS_PERF_FORM_RAW) {
        return ngx_ws_perf_out_frame(m->binary ? NGX_WS_PERF_OP_BINARY
                                               : NGX_WS_PERF_OP_TEXT,
                                     (u_char *) m->data, m->data_len, log);
    }

    out = ngx_ws_perf_out_alloc(ngx_ws_perf_msg_envelope_size(m), log);
    if (out == NULL) {
        return NULL;
    }

    out->last = ngx_ws_perf_msg_envelope(m, out->start);
    ngx_ws_perf_out_finish(out, NGX_WS_PERF_OP_TEXT);

    return out;
}


/*
 * The JSON envelope as an event: the id as "id:", a priority other than
 * normal as the event's type (normal ones are "message" events)
 */

static ngx_ws_perf_out_t *
ngx_ws_perf_hub_encode_sse(ngx_ws_perf_msg_t *m, ngx_log_t *log)
{
    u_char             *env, *last;
    size_t              len, elen;
    const char         *event;
    ngx_ws_perf_out_t  *out;

    env = ngx_alloc(ngx_ws_perf_msg_envelope_size(m), log);
    if (env == NULL) {
        return NULL;
    }

    last = ngx_ws_perf_msg_envelope(m, env);

    event = ngx_ws_perf_msg_priority_name(m->priority);
    elen = (m->priority == NGX_WS_PERF_PRIO_NORMAL) ? 0 : ngx_strlen(event);

    len = ngx_ws_perf_msg_sse_size(elen, m->id_len, env, last - env);

    out = ngx_ws_perf_out_alloc(len, log);

    if (out) {
        out->last = ngx_ws_perf_msg_sse(out->start, (u_char *) event, elen,
                                        (u_char *) m->id, m->id_len, env,
                                        last - env);
    }

    ngx_free(env);

    return out;
}


/*
 * The event for a stream of several targets: "id: " and the stream's
 * positions, one per target in the order of sub->index and joined by ','
 * (the sub's is the message's id), then the shared event after its own
 * "id:" line.  A copy per stream: the positions are the stream's own.
 */

static ngx_ws_perf_out_t *
ngx_ws_perf_hub_positions(ngx_ws_perf_peer_t *peer, ngx_ws_perf_sub_t *sub,
    ngx_ws_perf_out_t *event, u_char *id, size_t id_len, ngx_log_t *log)
{
    u_char             *p, *rest;
    size_t              len;
    ngx_uint_t          i;
    ngx_ws_perf_out_t  *out;
    ngx_ws_perf_pos_t  *pos;

    rest = event->pos;

    if (id_len && (size_t) (event->last - rest) > 4
        && ngx_strncmp(rest, "id: ", 4) == 0)
    {
        rest = ngx_strlchr(rest, event->last, '\n') + 1;
    }

    if (id_len > NGX_WS_PERF_ID_MAX
        || (id_len && ngx_strlchr(id, id + id_len, ',') != NULL))
    {
        /* not an id the stream can resume from: its position stays */
        id_len = 0;
    }

    len = sizeof("id: \n") - 1 + (event->last - rest) + peer->npos;

    for (i = 0; i < peer->npos; i++) {
        len += (i == sub->index && id_len) ? id_len : peer->pos[i].len;
    }

    out = ngx_ws_perf_out_alloc(len, log);
    if (out == NULL) {
        return NULL;
    }

    p = ngx_cpymem(out->start, "id: ", 4);

    for (i = 0; i < peer->npos; i++) {
        if (i) {
            *p++ = ',';
        }

        if (i == sub->index && id_len) {
            p = ngx_cpymem(p, id, id_len);
            continue;
        }

        pos = &peer->pos[i];
        p = ngx_cpymem(p, pos->id, pos->len);
    }

    *p++ = '\n';

    out->last = ngx_cpymem(p, rest, event->last - rest);
    out->since = event->since;

    return out;
}


/* the message of sub is queued to the peer: its position moves there */

static void
ngx_ws_perf_hub_moved(ngx_ws_perf_peer_t *peer, ngx_ws_perf_sub_t *sub,
    u_char *id, size_t id_len)
{
    ngx_ws_perf_pos_t  *pos;

    if (peer->npos == 0 || id_len == 0 || id_len > NGX_WS_PERF_ID_MAX
        || ngx_strlchr(id, id + id_len, ',') != NULL)
    {
        return;
    }

    pos = &peer->pos[sub->index];
    pos->len = id_len;
    ngx_memcpy(pos->id, id, id_len);
}


/*
 * A notice, a reply or an error as an event whose type is the text's
 * "type" ("notice" when it has none that fits)
 */

static ngx_ws_perf_out_t *
ngx_ws_perf_hub_sse_text(u_char *text, size_t len, ngx_log_t *log)
{
    size_t              tlen;
    const u_char       *type;
    ngx_ws_perf_out_t  *out;

    type = ngx_ws_perf_msg_type(text, len, &tlen);

    if (type == NULL) {
        type = (u_char *) "notice";
        tlen = sizeof("notice") - 1;
    }

    out = ngx_ws_perf_out_alloc(ngx_ws_perf_msg_sse_size(tlen, 0, text, len),
                                log);
    if (out == NULL) {
        return NULL;
    }

    out->last = ngx_ws_perf_msg_sse(out->start, type, tlen, NULL, 0, text,
                                    len);

    return out;
}


/* text as the peer takes it: a text frame, or an event */

static ngx_ws_perf_out_t *
ngx_ws_perf_hub_text_out(ngx_ws_perf_peer_t *peer, u_char *text, size_t len,
    ngx_log_t *log)
{
    if (peer->sse) {
        return ngx_ws_perf_hub_sse_text(text, len, log);
    }

    return ngx_ws_perf_out_frame(NGX_WS_PERF_OP_TEXT, text, len, log);
}



/* calls the handler for every topic of this worker; it may not remove any */

void
ngx_ws_perf_hub_walk(ngx_ws_perf_hub_walk_pt handler, void *data)
{
    ngx_uint_t             i, b;
    ngx_ws_perf_topic_t   *topic;
    ngx_ws_perf_topics_t  *t;

    for (i = 0; i < 2; i++) {
        t = &ngx_ws_perf_topics[i];

        for (b = 0; b < t->size; b++) {
            for (topic = t->buckets[b]; topic; topic = topic->next) {
                handler(topic, data);
            }
        }
    }
}


void
ngx_ws_perf_hub_changed(ngx_ws_perf_topic_t *topic)
{
    if (!ngx_ws_perf_hub_track_changes || topic->is_changed) {
        return;
    }

    topic->is_changed = 1;
    ngx_queue_insert_tail(&ngx_ws_perf_changed, &topic->changed);
}


/* the next topic whose count changed, taken off the list; NULL at the end */

ngx_ws_perf_topic_t *
ngx_ws_perf_hub_next_changed(void)
{
    ngx_queue_t          *q;
    ngx_ws_perf_topic_t  *topic;

    if (ngx_queue_empty(&ngx_ws_perf_changed)) {
        return NULL;
    }

    q = ngx_queue_head(&ngx_ws_perf_changed);
    ngx_queue_remove(q);

    topic = ngx_queue_data(q, ngx_ws_perf_topic_t, changed);
    topic->is_changed = 0;

    return topic;
}


/*
 * Sends one text frame to every subscribed connection of this worker that
 * uses the JSON format, once each however many topics it is in.  Returns
 * the connections reached.
 */

ngx_uint_t
ngx_ws_perf_hub_notice(u_char *text, size_t len, ngx_log_t *log)
{
    ngx_ws_perf_notice_t  ctx;

    ctx.out = ngx_ws_perf_out_frame(NGX_WS_PERF_OP_TEXT, text, len, log);
    if (ctx.out == NULL) {
        return 0;
    }

    ctx.sse = NULL;
    ctx.text = text;
    ctx.len = len;
    ctx.sent = 0;
    ctx.log = log;
    ngx_ws_perf_notice_seq++;

    ngx_ws_perf_hub_walk(ngx_ws_perf_hub_notice_topic, &ctx);

    ngx_ws_perf_out_release(ctx.out);

    if (ctx.sse) {
        ngx_ws_perf_out_release(ctx.sse);
    }

    return ctx.sent;
}


/* a text's event-stream form, for the presence events */

ngx_ws_perf_out_t *
ngx_ws_perf_hub_sse_out(u_char *text, size_t len, ngx_log_t *log)
{
    return ngx_ws_perf_hub_sse_text(text, len, log);
}


/* a frame queued on a peer within its bound, its write posted */

ngx_int_t
ngx_ws_perf_hub_push_out(ngx_ws_perf_peer_t *peer, ngx_ws_perf_out_t *out,
    ngx_uint_t prio, ngx_log_t *log)
{
    ngx_int_t  rc;

    rc = ngx_ws_perf_queue_push_bounded(peer->queue, out, prio, peer->limit,
                                        ngx_ws_perf_hub_stats.dropped, log);

    ngx_ws_perf_hub_post(peer);

    return rc;
}


/* the same, to the subscribers of one topic */

ngx_uint_t
ngx_ws_perf_hub_notice_subs(ngx_ws_perf_topic_t *topic, u_char *text,
    size_t len, ngx_log_t *log)
{
    ngx_ws_perf_notice_t  ctx;

    ctx.out = ngx_ws_perf_out_frame(NGX_WS_PERF_OP_TEXT, text, len, log);
    if (ctx.out == NULL) {
        return 0;
    }

    ctx.sse = NULL;
    ctx.text = text;
    ctx.len = len;
    ctx.sent = 0;
    ctx.log = log;
    ngx_ws_perf_notice_seq++;

    ngx_ws_perf_hub_notice_topic(topic, &ctx);

    ngx_ws_perf_out_release(ctx.out);

    if (ctx.sse) {
        ngx_ws_perf_out_release(ctx.sse);
    }

    return ctx.sent;
}


static void
ngx_ws_perf_hub_notice_topic(ngx_ws_perf_topic_t *topic, void *data)
{
    ngx_ws_perf_notice_t *ctx = data;

    ngx_queue_t         *q;
    ngx_ws_perf_sub_t   *sub;
    ngx_ws_perf_out_t   *out;
    ngx_ws_perf_peer_t  *peer;

    for (q = ngx_queue_head(&topic->subs);
         q != ngx_queue_sentinel(&topic->subs);
         q = ngx_queue_next(q))
    {
        sub = ngx_queue_data(q, ngx_ws_perf_sub_t, queue);
        peer = sub->conn;

        if (peer->raw || peer->closing
            || peer->notice == ngx_ws_perf_notice_seq)
        {
            continue;
        }

        peer->notice = ngx_ws_perf_notice_seq;

        if (peer->sse && ctx->sse == NULL) {
            ctx->sse = ngx_ws_perf_hub_sse_text(ctx->text, ctx->len,
                                                ctx->log);
            if (ctx->sse == NULL) {
                continue;
            }
        }

        out = peer->sse ? ctx->sse : ctx->out;

        if (ngx_ws_perf_queue_push_bounded(peer->queue, out,
                                           NGX_WS_PERF_PRIO_HIGH, peer->limit,
                                           ngx_ws_perf_hub_stats.dropped,
                                           ctx->log)
            == NGX_OK)
        {
            ctx->sent++;
        }

        if (!peer->connection->write->posted) {
            ngx_post_event(peer->connection->write, &ngx_posted_next_events);
        }
    }
}


/*
 * Encodes a message for one connection and queues it at prio: history
 * sent to a client that resumes, within the send queue less the room kept
 * for the notices that end the resume.  Nothing is encoded that the queue
 * could not take now.  NGX_OK; NGX_DECLINED: it could not fit even an
 * empty queue, dropped; NGX_BUSY: no room now, nothing done; NGX_ERROR.
 */

ngx_int_t
ngx_ws_perf_hub_push(ngx_ws_perf_peer_t *peer, ngx_ws_perf_msg_t *m,
    ngx_uint_t prio, ngx_log_t *log)
{
    size_t              room, len;
    ngx_int_t           rc;
    ngx_str_t           name;
    ngx_ws_perf_sub_t  *sub;
    ngx_ws_perf_out_t  *out, *lz;

    room = ngx_ws_perf_hub_room(peer);

    /* the frame is no shorter than the data unless it may be compressed */
    len = ((peer->lz4_min && !peer->raw && !peer->sse) || peer->deflate) ? 0
          : (m->json ? m->json_len : m->data_len);

    if (len > room) {
        goto dropped;
    }

    if (!ngx_ws_perf_queue_fits(peer->queue, len, prio, room)) {
        return NGX_BUSY;
    }

    out = ngx_ws_perf_hub_encode(m, ngx_ws_perf_hub_form(peer), log);

    if (out && peer->lz4_min && !peer->raw && !peer->sse
        && (size_t) (out->last - out->start) >= peer->lz4_min)
    {
        lz = ngx_ws_perf_compress_frame(out, log);
        ngx_ws_perf_out_release(out);
        out = lz;

    } else if (out && peer->deflate
               && (size_t) (out->last - out->start) >= peer->deflate_min)
    {
        lz = ngx_ws_perf_compress_deflate(out, log);
        ngx_ws_perf_out_release(out);
        out = lz;
    }

    sub = NULL;

    if (out && peer->npos) {
        name.data = (u_char *) m->name;
        name.len = m->name_len;

        sub = *ngx_ws_perf_hub_find(peer->subs, m->target, &name);

        if (sub) {
            lz = ngx_ws_perf_hub_positions(peer, sub, out, (u_char *) m->id,
                                           m->id_len, log);
            ngx_ws_perf_out_release(out);
            out = lz;
        }
    }

    if (out == NULL) {
        return NGX_ERROR;
    }

    len = out->last - out->pos;

    if (len > room) {
        ngx_ws_perf_out_release(out);
        goto dropped;
    }

    if (!ngx_ws_perf_queue_fits(peer->queue, len, prio, room)) {
        ngx_ws_perf_out_release(out);
        return NGX_BUSY;
    }

    out->since = ngx_ws_perf_metrics_now();

    rc = ngx_ws_perf_queue_push_bounded(peer->queue, out, prio, room,
                                        ngx_ws_perf_hub_stats.dropped, log);
    ngx_ws_perf_out_release(out);

    if (rc == NGX_OK && sub) {
        ngx_ws_perf_hub_moved(peer, sub, (u_char *) m->id, m->id_len);
    }

    ngx_ws_perf_hub_post(peer);

    return rc == NGX_OK ? NGX_OK : NGX_ERROR;

dropped:

    ngx_ws_perf_hub_stats.dropped[prio]++;
    ngx_ws_perf_metrics_inc(dropped[prio]);

    return NGX_DECLINED;
}


/* what a resume's history may take of the peer's send queue */

size_t
ngx_ws_perf_hub_room(ngx_ws_perf_peer_t *peer)
{
    if (peer->limit > 2 * NGX_WS_PERF_RESUME_RESERVE) {
        return peer->limit - NGX_WS_PERF_RESUME_RESERVE;
    }

    return peer->limit / 2;
}


/*
 * The last frame of a resume's answer ("resumed") of the topic, queued at
 * prio; the peer keeps a reference to it to know when it has left the
 * queue.
 */

ngx_int_t
ngx_ws_perf_hub_resumed(ngx_ws_perf_peer_t *peer, void *topic, u_char *text,
    size_t len, ngx_uint_t prio, ngx_log_t *log)
{
    ngx_int_t           rc;
    ngx_ws_perf_out_t  *out;

    out = NULL;

    rc = ngx_ws_perf_hub_text(peer, text, len, prio, &out, log);

    if (out) {
        if (peer->resumed) {
            ngx_ws_perf_out_release(peer->resumed);
        }

        peer->resumed = out;
        peer->resumed_topic = topic;
    }

    return rc;
}


/* whether the answer to the peer's last resume, of topic, is queued */

ngx_uint_t
ngx_ws_perf_hub_resuming(ngx_ws_perf_peer_t *peer, void *topic)
{
    if (peer->resumed == NULL) {
        return 0;
    }

    if (peer->resumed->refs > 1) {
        return peer->resumed_topic == topic;
    }

    ngx_ws_perf_out_release(peer->resumed);
    peer->resumed = NULL;

    return 0;
}


/* live messages for the sub are held back until the resume is done */

/*
 * A resume starts: the sub's live messages not yet on the wire leave the
 * queue (they come again with the history, in order, instead of after it).
 */

void
ngx_ws_perf_hub_forget_queued(ngx_ws_perf_sub_t *sub)
{
    ngx_ws_perf_peer_t  *peer;

    peer = sub->conn;

    ngx_ws_perf_queue_drop_tagged(peer->queue, sub->topic);

    if (peer->direct_pass == ngx_ws_perf_direct_pass && peer->direct_bytes) {
        ngx_ws_perf_hub_direct_take(peer, peer->direct_head, sub->topic, 0,
                                    NULL);
    }
}


ngx_int_t
ngx_ws_perf_hub_hold(ngx_ws_perf_sub_t *sub, ngx_log_t *log)
{
    sub->hold = ngx_alloc(sizeof(ngx_ws_perf_hold_t), log);
    if (sub->hold == NULL) {
        return NGX_ERROR;
    }

    sub->hold->n = 0;
    sub->hold->overflow = 0;

    return NGX_OK;
}


static void
ngx_ws_perf_hub_hold_msg(ngx_ws_perf_hold_t *hold, ngx_ws_perf_out_t *out,
    ngx_ws_perf_msg_t *m)
{
    ngx_ws_perf_held_t  *h;

    if (hold->n == NGX_WS_PERF_HOLD_MAX) {
        hold->overflow++;
        return;
    }

    h = &hold->msgs[hold->n++];

    h->out = out;
    out->refs++;
    h->priority = m->priority;
    h->id_len = ngx_min(m->id_len, NGX_WS_PERF_ID_MAX);
    ngx_memcpy(h->id, m->id, h->id_len);
}


/* a server-numbered id as a number; 0 for any other */

uint64_t
ngx_ws_perf_hub_id_value(u_char *id, size_t len)
{
    size_t    i;
    uint64_t  v;

    if (id == NULL || len == 0 || len > 18) {
        return 0;
    }

    v = 0;

    for (i = 0; i < len; i++) {
        if (id[i] < '0' || id[i] > '9') {
            return 0;
        }

        v = v * 10 + (id[i] - '0');
    }

    return v;
}


/*
 * Queues the held messages at prio, in the order they came, but for those
 * whose ids are in skip (the history just sent), and ends the hold.
 */

void
ngx_ws_perf_hub_release_hold(ngx_ws_perf_sub_t *sub, u_char **skip,
    size_t *skip_len, ngx_uint_t nskip, ngx_uint_t prio, ngx_log_t *log)
{
    ngx_uint_t           i, j;
    ngx_ws_perf_held_t  *h;
    ngx_ws_perf_peer_t  *peer;

    peer = sub->conn;

    for (i = 0; i < sub->hold->n; i++) {
        h = &sub->hold->msgs[i];

        /* only the newest history can overlap what was held */
        for (j = nskip; j > 0; j--) {
            if (skip_len[j - 1] == h->id_len
                && ngx_memcmp(skip[j - 1], h->id, h->id_len) == 0)
            {
                break;
            }
        }

        if (j == 0 && !peer->closing) {
            ngx_ws_perf_hub_push_held(peer, sub, h, prio, log);
        }

        ngx_ws_perf_out_release(h->out);
    }

    ngx_free(sub->hold);
    sub->hold = NULL;

    ngx_ws_perf_hub_post(peer);
}


/* a held message queued at prio, with the stream's positions if it has */

static void
ngx_ws_perf_hub_push_held(ngx_ws_perf_peer_t *peer, ngx_ws_perf_sub_t *sub,
    ngx_ws_perf_held_t *h, ngx_uint_t prio, ngx_log_t *log)
{
    ngx_int_t           rc;
    ngx_ws_perf_out_t  *out;

    out = h->out;

    if (peer->npos) {
        out = ngx_ws_perf_hub_positions(peer, sub, h->out, h->id, h->id_len,
                                        log);
        if (out == NULL) {
            return;
        }
    }

    rc = ngx_ws_perf_queue_push_bounded(peer->queue, out, prio,
                                        ngx_ws_perf_hub_room(peer),
                                        ngx_ws_perf_hub_stats.dropped, log);

    if (out != h->out) {
        ngx_ws_perf_out_release(out);
    }

    if (rc == NGX_ABORT) {
        peer->overflow = 1;

    } else if (rc == NGX_OK) {
        ngx_ws_perf_hub_moved(peer, sub, h->id, h->id_len);
    }
}


/* the resume stopped short: what was held comes with the next one */

void
ngx_ws_perf_hub_drop_hold(ngx_ws_perf_sub_t *sub)
{
    ngx_uint_t  i;

    if (sub->hold == NULL) {
        return;
    }

    for (i = 0; i < sub->hold->n; i++) {
        ngx_ws_perf_out_release(sub->hold->msgs[i].out);
    }

    ngx_free(sub->hold);
    sub->hold = NULL;
}


/* a text frame (a notice) at prio, behind what is queued there */

ngx_int_t
ngx_ws_perf_hub_push_text(ngx_ws_perf_peer_t *peer, u_char *text,
    size_t len, ngx_uint_t prio, ngx_log_t *log)
{
    return ngx_ws_perf_hub_text(peer, text, len, prio, NULL, log);
}


/*
 * A protocol reply (error, gap, resumed, acked, a notice): queued ahead of
 * the messages whatever the queue holds, since the client asked for it.
 */

ngx_int_t
ngx_ws_perf_hub_reply(ngx_ws_perf_peer_t *peer, u_char *text, size_t len,
    ngx_log_t *log)
{
    ngx_int_t           rc;
    ngx_ws_perf_out_t  *out;

    out = ngx_ws_perf_hub_text_out(peer, text, len, log);
    if (out == NULL) {
        return NGX_ERROR;
    }

    rc = ngx_ws_perf_queue_push(peer->queue, out, NGX_WS_PERF_PRIO_CRITICAL,
                                log);
    ngx_ws_perf_out_release(out);

    ngx_ws_perf_hub_post(peer);

    return rc;
}


/*
 * {"type":"error",["channel"|"user":NAME,]"code":CODE,"reason":REASON},
 * the reason cut between characters at NGX_WS_PERF_REASON_MAX bytes.
 */

ngx_int_t
ngx_ws_perf_hub_error(ngx_ws_perf_peer_t *peer, ngx_uint_t code,
    const char *reason, ngx_uint_t target, ngx_str_t *name)
{
    u_char  *p, buf[NGX_WS_PERF_NAME_MAX * 6 + NGX_WS_PERF_REASON_MAX * 6
                    + 96];
    size_t   len;

    p = ngx_cpymem(buf, "{\"type\":\"error\"", 15);

    if (name) {
        p = ngx_sprintf(p, ",\"%s\":\"",
                        target == NGX_WS_PERF_TARGET_USER ? "user"
                                                          : "channel");
        p = ngx_ws_perf_json_escape(p, name->data,
                                    ngx_min(name->len, NGX_WS_PERF_NAME_MAX));
        *p++ = '"';
    }

    len = ngx_ws_perf_msg_cut((u_char *) reason, ngx_strlen(reason),
                              NGX_WS_PERF_REASON_MAX);

    p = ngx_sprintf(p, ",\"code\":%ui,\"reason\":\"", code);
    p = ngx_ws_perf_json_escape(p, (u_char *) reason, len);
    p = ngx_cpymem(p, "\"}", 2);

    return ngx_ws_perf_hub_reply(peer, buf, p - buf, peer->connection->log);
}


/*
 * The peer of connection c if it is still the one numbered "number" and
 * not closing: an answer that outlived a connection finds nobody.
 */

ngx_ws_perf_peer_t *
ngx_ws_perf_hub_peer(ngx_connection_t *c, ngx_atomic_uint_t number)
{
    ngx_ws_perf_peer_t  *peer;

    if (c->fd == (ngx_socket_t) -1 || c->number != number) {
        return NULL;
    }

    /* a pub/sub connection's data starts with its peer */
    peer = c->data;

    return peer->closing ? NULL : peer;
}


/*
 * Queues text as a frame at prio; *kept, when given, gets the queued
 * frame with a reference of its own.  NGX_OK; NGX_DECLINED: not queued.
 */

static ngx_int_t
ngx_ws_perf_hub_text(ngx_ws_perf_peer_t *peer, u_char *text, size_t len,
    ngx_uint_t prio, ngx_ws_perf_out_t **kept, ngx_log_t *log)
{
    ngx_int_t           rc;
    ngx_ws_perf_out_t  *out;

    out = ngx_ws_perf_hub_text_out(peer, text, len, log);
    if (out == NULL) {
        return NGX_ERROR;
    }

    rc = ngx_ws_perf_queue_push_bounded(peer->queue, out, prio, peer->limit,
                                        ngx_ws_perf_hub_stats.dropped, log);

    if (rc == NGX_OK && kept) {
        *kept = out;

    } else {
        ngx_ws_perf_out_release(out);
    }

    if (rc == NGX_ABORT) {
        peer->overflow = 1;
    }

    ngx_ws_perf_hub_post(peer);

    return rc == NGX_OK ? NGX_OK : NGX_DECLINED;
}


static void
ngx_ws_perf_hub_post(ngx_ws_perf_peer_t *peer)
{
    if (!peer->connection->write->posted) {
        ngx_post_event(peer->connection->write, &ngx_posted_next_events);
    }
}



/*
 * Puts out on the direct list for peer, within the peer's bound for one
 * pass of the list: NGX_DECLINED sends it through the queue instead.
 */

static ngx_int_t
ngx_ws_perf_hub_direct_add(ngx_ws_perf_peer_t *peer, ngx_ws_perf_sub_t *sub,
    ngx_ws_perf_out_t *out, ngx_uint_t prio)
{
    size_t                 len;
    ngx_uint_t             size;
    ngx_ws_perf_direct_t  *d;

    len = out->last - out->pos;

    if (peer->direct_pass != ngx_ws_perf_direct_pass) {
        peer->direct_pass = ngx_ws_perf_direct_pass;
        peer->direct_bytes = 0;
    }

    if (peer->direct_bytes + len > peer->limit) {
        return NGX_DECLINED;
    }

    if (ngx_ws_perf_ndirect == ngx_ws_perf_direct_size) {
        size = ngx_ws_perf_direct_size ? 2 * ngx_ws_perf_direct_size : 1024;

        if (size > NGX_WS_PERF_DIRECT_END) {
            return NGX_DECLINED;
        }

        d = ngx_alloc(size * sizeof(ngx_ws_perf_direct_t),
                      ngx_ws_perf_direct_event.log);
        if (d == NULL) {
            return NGX_DECLINED;
        }

        if (ngx_ws_perf_direct) {
            ngx_memcpy(d, ngx_ws_perf_direct,
                       ngx_ws_perf_ndirect * sizeof(ngx_ws_perf_direct_t));
            ngx_free(ngx_ws_perf_direct);
        }

        ngx_ws_perf_direct = d;
        ngx_ws_perf_direct_size = size;
    }

    if (ngx_ws_perf_ndirect == 0) {
        ngx_post_event(&ngx_ws_perf_direct_event, &ngx_posted_next_events);
    }

    if (peer->direct_bytes == 0) {
        peer->direct_head = ngx_ws_perf_ndirect;

    } else {
        ngx_ws_perf_direct[peer->direct_tail].next = ngx_ws_perf_ndirect;
    }

    peer->direct_tail = ngx_ws_perf_ndirect;

    d = &ngx_ws_perf_direct[ngx_ws_perf_ndirect++];
    d->peer = peer;
    d->out = out;
    d->tag = sub->topic;
    d->fd = peer->fd;
    d->next = NGX_WS_PERF_DIRECT_END;
    d->prio = prio;

    out->refs++;
    peer->direct_bytes += len;

    return NGX_OK;
}


/*
 * The direct list's pass: a frame a send(), or a connection's frames of
 * the pass in one writev() when it has several (a publisher that outruns
 * the fan-out).  An entry is still good here: a connection's close takes
 * its entries off, and whatever writes a connection's queue first moves
 * its entries to the queue, so what its queue holds now came after them.
 * The first frame a socket does not take whole goes to the queue, and the
 * connection's later entries after it.
 */

static void
ngx_ws_perf_hub_direct_write(ngx_event_t *ev)
{
    size_t       bytes;
    uint64_t     now;
    ngx_uint_t   i, nd;

    /* nothing below adds to the list: the pass owns it */
    nd = ngx_ws_perf_ndirect;
    ngx_ws_perf_ndirect = 0;
    ngx_ws_perf_direct_pass++;

    now = ngx_ws_perf_metrics_now();
    bytes = 0;

    for (i = 0; i < nd; i++) {
        if (ngx_ws_perf_direct[i].peer) {
            bytes += ngx_ws_perf_hub_direct_send(i, now, ev->log);
        }
    }

    ngx_ws_perf_metrics_add(bytes_out, bytes);
}


/*
 * Entry i and the next entries of its connection, up to
 * NGX_WS_PERF_DIRECT_IOV of them: one send(), or one writev() for several;
 * the rest of the connection's entries come later in the pass.  Returns
 * the bytes sent.
 */

static size_t
ngx_ws_perf_hub_direct_send(ngx_uint_t i, uint64_t now, ngx_log_t *log)
{
    size_t                 len, left;
    ssize_t                n, sent;
    uint32_t               j, at[NGX_WS_PERF_DIRECT_IOV];
    ngx_err_t              err;
    ngx_uint_t             k, m;
    struct iovec           iov[NGX_WS_PERF_DIRECT_IOV];
    ngx_ws_perf_direct_t  *d;

    k = 0;

    for (j = i; j != NGX_WS_PERF_DIRECT_END && k < NGX_WS_PERF_DIRECT_IOV;
         j = d->next)
    {
        d = &ngx_ws_perf_direct[j];

        if (d->peer == NULL) {
            continue;
        }

        iov[k].iov_base = d->out->pos;
        iov[k].iov_len = d->out->last - d->out->pos;
        at[k++] = j;
    }

    d = &ngx_ws_perf_direct[i];

    n = (k == 1) ? send(d->fd, iov[0].iov_base, iov[0].iov_len, 0)
                 : writev(d->fd, iov, k);

    sent = n;
    err = (n == -1) ? ngx_socket_errno : 0;
    left = (n > 0) ? (size_t) n : 0;

    for (m = 0; m < k; m++) {
        d = &ngx_ws_perf_direct[at[m]];
        len = iov[m].iov_len;

        if (left < len) {
            break;
        }

        left -= len;

        if (d->out->since) {
            ngx_ws_perf_metrics_delivery(d->out->since, now);
        }

        ngx_ws_perf_out_release(d->out);
        d->peer = NULL;
    }

    if (m < k) {
        /* a socket that took the frames before this one whole is full */
        if (n >= 0 && left == 0) {
            n = -1;
            err = NGX_EAGAIN;

        } else if (n > 0) {
            n = left;
        }

        ngx_ws_perf_hub_direct_short(d, n, err, log);
        d->peer = NULL;
    }

    return (sent > 0) ? (size_t) sent : 0;
}


/*
 * The entry's frame was not taken whole ("sent" bytes of it went, -1:
 * none, with err): it goes to its connection's queue, the connection's
 * later entries after it, and the write handler is posted.
 */

static void
ngx_ws_perf_hub_direct_short(ngx_ws_perf_direct_t *d, ssize_t sent,
    ngx_err_t err, ngx_log_t *log)
{
    ngx_connection_t    *c;
    ngx_ws_perf_peer_t  *peer;

    peer = d->peer;
    c = peer->connection;

    ngx_ws_perf_hub_direct_queue(peer, d, sent, err, log);
    ngx_ws_perf_out_release(d->out);

    ngx_ws_perf_hub_direct_take(peer, d->next, NULL, 1, log);

    if (!c->write->posted) {
        ngx_post_event(c->write, &ngx_posted_events);
    }
}


/*
 * A frame of the direct list the socket did not take whole: "sent" bytes
 * of it went (-1: send() failed with err).  Its rest goes first in the
 * queue; a frame not begun takes its place by priority, within the bound.
 * The write handler, posted, then waits for the socket, or meets the
 * error again and closes the connection.
 */

static void
ngx_ws_perf_hub_direct_queue(ngx_ws_perf_peer_t *peer, ngx_ws_perf_direct_t *d,
    ssize_t sent, ngx_err_t err, ngx_log_t *log)
{
    ngx_int_t             rc;
    ngx_connection_t     *c;
    ngx_ws_perf_queue_t  *q;

    c = peer->connection;
    q = peer->queue;

    if (sent > 0) {
        c->write->ready = 0;

        if (ngx_ws_perf_queue_push_partial(q, d->out, sent, log) != NGX_OK) {
            /*
             * half a frame cannot be taken back, nor followed by another:
             * the connection ends, and its read handler finalizes it
             */
            ngx_log_error(NGX_LOG_ERR, c->log, 0,
                          "websocket: no memory for the rest of a frame, "
                          "closing the connection");
            c->error = 1;
            (void) ngx_shutdown_socket(c->fd, SHUT_RDWR);
        }

        return;
    }

    if (peer->closing && q->last == NULL) {
        /* its close frame has gone: nothing follows it */
        rc = NGX_DECLINED;

    } else {
        if (sent == -1 && err == NGX_EAGAIN) {
            c->write->ready = 0;
        }

        rc = ngx_ws_perf_queue_push_bounded(q, d->out, d->prio, peer->limit,
                                            ngx_ws_perf_hub_stats.dropped,
                                            log);
        if (rc == NGX_ABORT) {
            peer->overflow = 1;

        } else if (rc == NGX_OK) {
            ngx_ws_perf_queue_tag_last(q, d->prio, d->tag);
        }
    }

    if (rc != NGX_OK) {
        /* counted as delivered when it joined the list */
        ngx_ws_perf_hub_stats.delivered--;
        ngx_ws_perf_metrics_add(delivered, -1);
    }
}


/*
 * Before anything of peer's is written from its queue: its frames on the
 * direct list go to the queue, in their places by priority, so that
 * nothing queued after them leaves before them.
 */

void
ngx_ws_perf_hub_direct_pull(ngx_ws_perf_peer_t *peer, ngx_log_t *log)
{
    if (peer->direct_pass == ngx_ws_perf_direct_pass && peer->direct_bytes) {
        ngx_ws_perf_hub_direct_take(peer, peer->direct_head, NULL, 1, log);
        peer->direct_bytes = 0;
    }
}


/* the connection closes: its frames on the direct list go */

void
ngx_ws_perf_hub_direct_drop(ngx_ws_perf_peer_t *peer)
{
    if (peer->direct_pass == ngx_ws_perf_direct_pass && peer->direct_bytes) {
        ngx_ws_perf_hub_direct_take(peer, peer->direct_head, NULL, 0, NULL);
        peer->direct_bytes = 0;
    }
}


/*
 * Takes peer's entries from index "from" on off the direct list: those of
 * topic tag, or all (tag NULL); moved to its queue, or dropped.
 */

static void
ngx_ws_perf_hub_direct_take(ngx_ws_perf_peer_t *peer, uint32_t from,
    void *tag, ngx_uint_t queue, ngx_log_t *log)
{
    uint32_t               i;
    ngx_ws_perf_direct_t  *d;

    for (i = from; i != NGX_WS_PERF_DIRECT_END; i = d->next) {
        d = &ngx_ws_perf_direct[i];

        if (d->peer == NULL || (tag && d->tag != tag)) {
            continue;
        }

        if (queue) {
            ngx_ws_perf_hub_direct_queue(peer, d, 0, 0, log);
        }

        ngx_ws_perf_out_release(d->out);
        d->peer = NULL;
    }
}


/* the direct list at the worker's exit */

void
ngx_ws_perf_hub_direct_free(void)
{
    ngx_uint_t  i;

    for (i = 0; i < ngx_ws_perf_ndirect; i++) {
        if (ngx_ws_perf_direct[i].peer) {
            ngx_ws_perf_out_release(ngx_ws_perf_direct[i].out);
        }
    }

    if (ngx_ws_perf_direct_event.posted) {
        ngx_delete_posted_event(&ngx_ws_perf_direct_event);
    }

    if (ngx_ws_perf_direct) {
        ngx_free(ngx_ws_perf_direct);
    }

    ngx_ws_perf_direct = NULL;
    ngx_ws_perf_ndirect = 0;
    ngx_ws_perf_direct_size = 0;
}
