
/*
 * Copyright (C) ngx_ws_perf_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include "ngx_ws_perf.h"
#include "ngx_ws_perf_engine.h"
#include "ngx_ws_perf_http.h"
#include "ngx_ws_perf_metrics.h"


/*
 * Reliable delivery in local mode (no ws_perf_redis; docs/reliable.md):
 * the same inboxes, history, acks, dead letters and scheduled messages as
 * the Redis store, kept in this worker's memory, bounded, and lost when the
 * worker exits (a restart or a reload).  Everything is synchronous: a
 * resume is answered before the next message can be published.
 */


#define NGX_WS_PERF_MSTORE_BATCH      200
#define NGX_WS_PERF_MSTORE_SCHED_MAX  10000

#define NGX_WS_PERF_DEAD_MAX_ATTEMPTS   0
#define NGX_WS_PERF_DEAD_EXPIRED        1
#define NGX_WS_PERF_DEAD_UNDELIVERABLE  2


/* a private copy of a message, shared by an inbox, an ack wait, a dlq */
typedef struct {
    ngx_uint_t                  refs;
    uint64_t                    seq;        /* this worker's number */
    int64_t                     ts;
    ngx_uint_t                  priority;
    ngx_uint_t                  target;
    unsigned                    json:1;
    unsigned                    binary:1;
    unsigned                    ack:1;
    size_t                      id_len;     /* 0: none (scheduled) */
    size_t                      name_len;
    size_t                      data_len;
    u_char                     *id;
    u_char                     *name;
    u_char                     *data;
} ngx_ws_perf_mstore_msg_t;


/* a user's inbox or a channel's history, and a user's ack waits */
typedef struct {
    ngx_str_node_t              sn;
    ngx_uint_t                  target;
    ngx_queue_t                 kept;       /* of ngx_ws_perf_mstore_kept_t */
    ngx_uint_t                  nkept;
    ngx_queue_t                 pending;    /* of ..._pending_t */
    ngx_uint_t                  npending;
    uint64_t                    trimmed;    /* the highest seq let go */
    uint64_t                    last_seq;
    int64_t                     last_ts;
    int64_t                     used;       /* the last append, Unix ms */
    ngx_queue_t                 lru;
} ngx_ws_perf_mstore_topic_t;


typedef struct {
    ngx_queue_t                 queue;
    ngx_ws_perf_mstore_msg_t   *msg;
} ngx_ws_perf_mstore_kept_t;


typedef struct {
    ngx_rbtree_node_t           node;       /* key: due, Unix ms */
    ngx_queue_t                 queue;
    ngx_ws_perf_mstore_topic_t *topic;
    ngx_ws_perf_mstore_msg_t   *msg;
    ngx_uint_t                  tries;
    int64_t                     first;
} ngx_ws_perf_mstore_pending_t;


typedef struct {
    ngx_queue_t                 queue;
    uint64_t                    n;          /* dlq_id "<ms>-<n>" */
    int64_t                     ms;
    ngx_uint_t                  reason;
    ngx_uint_t                  attempts;
    int64_t                     first;
    int64_t                     last;
    ngx_ws_perf_mstore_msg_t   *msg;
} ngx_ws_perf_mstore_dead_t;


/* a dead letter being replayed */
typedef struct {
    ngx_int_t                   rc;
    ngx_ws_perf_mstore_pending_t *pending;  /* its id's ack wait, taken */
    ngx_queue_t                *prev;       /* out from after this */
    ngx_str_t                   why;        /* the first refusal */
    u_char                      text[128];
} ngx_ws_perf_mstore_replay_t;


typedef struct {
    ngx_rbtree_node_t           node;       /* key: due, Unix ms */
    uint64_t                    sid;        /* "s<sid>" */
    ngx_ws_perf_mstore_msg_t   *msg;
} ngx_ws_perf_mstore_sched_t;


static ngx_ws_perf_mstore_msg_t *ngx_ws_perf_mstore_copy(
    ngx_ws_perf_msg_t *m, uint64_t seq);
static void ngx_ws_perf_mstore_unref(ngx_ws_perf_mstore_msg_t *c);
static void ngx_ws_perf_mstore_msg(ngx_ws_perf_mstore_msg_t *c,
    ngx_ws_perf_msg_t *m);
static ngx_ws_perf_mstore_topic_t *ngx_ws_perf_mstore_topic(
    ngx_uint_t target, u_char *name, size_t len, ngx_uint_t create);
static void ngx_ws_perf_mstore_drop_kept(ngx_ws_perf_mstore_topic_t *t,
    ngx_uint_t keep);
static void ngx_ws_perf_mstore_free_topic(ngx_ws_perf_mstore_topic_t *t);
static void ngx_ws_perf_mstore_unpend(ngx_ws_perf_mstore_pending_t *p,
    ngx_uint_t in_tree);
static ngx_int_t ngx_ws_perf_mstore_parse_id(ngx_str_t *s, uint64_t *v,
    ngx_uint_t parts);
static void ngx_ws_perf_mstore_tick(ngx_event_t *ev);
static void ngx_ws_perf_mstore_redeliver(int64_t now);
static void ngx_ws_perf_mstore_release(int64_t now);
static void ngx_ws_perf_mstore_sweep(int64_t now);
static void ngx_ws_perf_mstore_arm(void);
static void ngx_ws_perf_mstore_bury(ngx_ws_perf_mstore_msg_t *c,
    ngx_uint_t reason, ngx_uint_t attempts, int64_t first, int64_t now);
static void ngx_ws_perf_mstore_published(void *data, ngx_uint_t tag,
    ngx_int_t rc, ngx_str_t *text);
static ngx_int_t ngx_ws_perf_mstore_prio_cmp(const void *a, const void *b);
static ngx_int_t ngx_ws_perf_mstore_sched_cmp(const void *a, const void *b);
static ngx_int_t ngx_ws_perf_mstore_dead_cmp(const void *a, const void *b);
static ngx_ws_perf_mstore_dead_t *ngx_ws_perf_mstore_find_dead(
    ngx_str_t *id);
static ngx_int_t ngx_ws_perf_mstore_dlq_list(ngx_http_request_t *r,
    ngx_ws_perf_dlq_query_t *q);
static ngx_int_t ngx_ws_perf_mstore_dlq_get(ngx_http_request_t *r,
    ngx_str_t *id);
static ngx_int_t ngx_ws_perf_mstore_dlq_replay(ngx_http_request_t *r,
    ngx_str_t *id);
static ngx_int_t ngx_ws_perf_mstore_dlq_delete(ngx_http_request_t *r,
    ngx_str_t *id);
static void ngx_ws_perf_mstore_replayed(void *data, ngx_uint_t tag,
    ngx_int_t rc, ngx_str_t *text);
static ngx_ws_perf_mstore_pending_t *ngx_ws_perf_mstore_detach(
    ngx_ws_perf_mstore_msg_t *c, ngx_queue_t **prev);
static void ngx_ws_perf_mstore_reattach(ngx_ws_perf_mstore_pending_t *pd,
    ngx_queue_t *prev);
static size_t ngx_ws_perf_mstore_entry_size(ngx_ws_perf_mstore_dead_t *d);
static u_char *ngx_ws_perf_mstore_entry(u_char *p,
    ngx_ws_perf_mstore_dead_t *d);
static int64_t ngx_ws_perf_mstore_now(void);


static ngx_int_t ngx_ws_perf_mstore_init(ngx_cycle_t *cycle);
static void ngx_ws_perf_mstore_exit(ngx_cycle_t *cycle);
static ngx_int_t ngx_ws_perf_mstore_room(ngx_uint_t n, ngx_uint_t later,
    u_char *err);
static ngx_int_t ngx_ws_perf_mstore_publish(ngx_ws_perf_msg_t *m,
    ngx_ws_perf_publish_pt handler, void *data, ngx_uint_t tag,
    ngx_log_t *log);
static ngx_int_t ngx_ws_perf_mstore_append(ngx_ws_perf_msg_t *m,
    uint64_t seq, ngx_str_t *reason);
static ngx_int_t ngx_ws_perf_mstore_schedule(ngx_ws_perf_msg_t *m,
    int64_t at, ngx_ws_perf_publish_pt handler, void *data, ngx_uint_t tag);
static ngx_int_t ngx_ws_perf_mstore_cancel(ngx_http_request_t *r,
    ngx_str_t *id);
static ngx_int_t ngx_ws_perf_mstore_info(ngx_uint_t target, ngx_str_t *name,
    ngx_ws_perf_info_pt handler, void *data);
static ngx_int_t ngx_ws_perf_mstore_resume(ngx_ws_perf_peer_t *peer,
    ngx_ws_perf_sub_t *sub, ngx_str_t *since);
static ngx_int_t ngx_ws_perf_mstore_ack(ngx_ws_perf_peer_t *peer,
    ngx_str_t *id);


ngx_ws_perf_engine_t  ngx_ws_perf_shm_engine = {
    "local",
    ngx_ws_perf_mstore_init,
    ngx_ws_perf_mstore_exit,
    ngx_ws_perf_mstore_room,
    ngx_ws_perf_mstore_publish,
    ngx_ws_perf_mstore_schedule,
    ngx_ws_perf_mstore_cancel,
    ngx_ws_perf_mstore_info,
    ngx_ws_perf_mstore_resume,
    ngx_ws_perf_mstore_ack,
    ngx_ws_perf_mstore_dlq_list,
    ngx_ws_perf_mstore_dlq_get,
    ngx_ws_perf_mstore_dlq_replay,
    ngx_ws_perf_mstore_dlq_delete
};


static uint64_t  ngx_ws_perf_mstore_seq;


static char  *ngx_ws_perf_mstore_reasons[] = {
    "max_attempts", "expired", "undeliverable"
};


static ngx_uint_t          ngx_ws_perf_mstore_on;
static int64_t             ngx_ws_perf_mstore_epoch;
static ngx_event_t         ngx_ws_perf_mstore_timer;
static ngx_connection_t    ngx_ws_perf_mstore_dumb;

static ngx_rbtree_t        ngx_ws_perf_mstore_topics[2];
static ngx_rbtree_node_t   ngx_ws_perf_mstore_topics_s[2];
static ngx_queue_t         ngx_ws_perf_mstore_lru;

static ngx_rbtree_t        ngx_ws_perf_mstore_due;
static ngx_rbtree_node_t   ngx_ws_perf_mstore_due_s;

static ngx_rbtree_t        ngx_ws_perf_mstore_sched;
static ngx_rbtree_node_t   ngx_ws_perf_mstore_sched_s;
static ngx_uint_t          ngx_ws_perf_mstore_nsched;
static uint64_t            ngx_ws_perf_mstore_sid;

static ngx_queue_t         ngx_ws_perf_mstore_dead;
static ngx_uint_t          ngx_ws_perf_mstore_ndead;
static uint64_t            ngx_ws_perf_mstore_dead_n;
static uint64_t            ngx_ws_perf_mstore_counts[3];
static ngx_uint_t          ngx_ws_perf_mstore_order[3];
static ngx_uint_t          ngx_ws_perf_mstore_norder;

static u_char              ngx_ws_perf_mstore_busy[128];


/* from init_process, in a worker without ws_perf_redis */

static ngx_int_t
ngx_ws_perf_mstore_init(ngx_cycle_t *cycle)
{
    ngx_uint_t  i;

    for (i = 0; i < 2; i++) {
        ngx_rbtree_init(&ngx_ws_perf_mstore_topics[i],
                        &ngx_ws_perf_mstore_topics_s[i],
                        ngx_str_rbtree_insert_value);
    }

    ngx_rbtree_init(&ngx_ws_perf_mstore_due, &ngx_ws_perf_mstore_due_s,
                    ngx_rbtree_insert_value);
    ngx_rbtree_init(&ngx_ws_perf_mstore_sched, &ngx_ws_perf_mstore_sched_s,
                    ngx_rbtree_insert_value);
    ngx_queue_init(&ngx_ws_perf_mstore_lru);
    ngx_queue_init(&ngx_ws_perf_mstore_dead);

    ngx_ws_perf_mstore_dumb.fd = (ngx_socket_t) -1;

    ngx_ws_perf_mstore_timer.handler = ngx_ws_perf_mstore_tick;
    ngx_ws_perf_mstore_timer.data = &ngx_ws_perf_mstore_dumb;
    ngx_ws_perf_mstore_timer.log = cycle->log;
    ngx_ws_perf_mstore_timer.cancelable = 1;

    ngx_ws_perf_mstore_epoch = ngx_ws_perf_mstore_now();
    ngx_ws_perf_mstore_on = 1;

    return NGX_OK;
}


/* from exit_process: everything kept goes with the worker */

static void
ngx_ws_perf_mstore_exit(ngx_cycle_t *cycle)
{
    ngx_uint_t                   i;
    ngx_queue_t                 *q;
    ngx_rbtree_node_t           *node;
    ngx_ws_perf_mstore_dead_t   *d;
    ngx_ws_perf_mstore_topic_t  *t;
    ngx_ws_perf_mstore_sched_t  *s;

    if (!ngx_ws_perf_mstore_on) {
        return;
    }

    ngx_ws_perf_mstore_on = 0;

    if (ngx_ws_perf_mstore_timer.timer_set) {
        ngx_del_timer(&ngx_ws_perf_mstore_timer);
    }

    while (!ngx_queue_empty(&ngx_ws_perf_mstore_lru)) {
        q = ngx_queue_head(&ngx_ws_perf_mstore_lru);
        t = ngx_queue_data(q, ngx_ws_perf_mstore_topic_t, lru);

        while (!ngx_queue_empty(&t->pending)) {
            ngx_ws_perf_mstore_unpend(
                ngx_queue_data(ngx_queue_head(&t->pending),
                               ngx_ws_perf_mstore_pending_t, queue), 1);
        }

        ngx_ws_perf_mstore_free_topic(t);
    }

    while (ngx_ws_perf_mstore_sched.root != &ngx_ws_perf_mstore_sched_s) {
        node = ngx_rbtree_min(ngx_ws_perf_mstore_sched.root,
                              &ngx_ws_perf_mstore_sched_s);
        ngx_rbtree_delete(&ngx_ws_perf_mstore_sched, node);
        s = (ngx_ws_perf_mstore_sched_t *) node;
        ngx_ws_perf_mstore_unref(s->msg);
        ngx_free(s);
    }

    while (!ngx_queue_empty(&ngx_ws_perf_mstore_dead)) {
        q = ngx_queue_head(&ngx_ws_perf_mstore_dead);
        ngx_queue_remove(q);
        d = ngx_queue_data(q, ngx_ws_perf_mstore_dead_t, queue);
        ngx_ws_perf_mstore_unref(d->msg);
        ngx_free(d);
    }

    for (i = 0; i < 3; i++) {
        ngx_ws_perf_mstore_counts[i] = 0;
    }

    ngx_ws_perf_mstore_ndead = 0;
    ngx_ws_perf_mstore_nsched = 0;
    ngx_ws_perf_mstore_norder = 0;
}


static int64_t
ngx_ws_perf_mstore_now(void)
{
    ngx_time_t  *tp;

    tp = ngx_timeofday();

    return (int64_t) tp->sec * 1000 + tp->msec;
}


static ngx_ws_perf_mstore_msg_t *
ngx_ws_perf_mstore_copy(ngx_ws_perf_msg_t *m, uint64_t seq)
{
    size_t                     id_len, data_len;
    const u_char              *data;
    ngx_ws_perf_mstore_msg_t  *c;

    id_len = m->id ? m->id_len : 0;
    data = m->json ? m->json : m->data;
    data_len = m->json ? m->json_len : m->data_len;

    c = ngx_alloc(sizeof(ngx_ws_perf_mstore_msg_t) + id_len + m->name_len
                  + data_len, ngx_cycle->log);
    if (c == NULL) {
        return NULL;
    }

    c->refs = 1;
    c->seq = seq;
    c->ts = m->ts;
    c->priority = m->priority;
    c->target = m->target;
    c->json = m->json ? 1 : 0;
    c->binary = m->binary;
    c->ack = m->ack;
    c->id_len = id_len;
    c->name_len = m->name_len;
    c->data_len = data_len;
    c->id = (u_char *) (c + 1);
    c->name = c->id + id_len;
    c->data = c->name + m->name_len;

    if (id_len) {
        ngx_memcpy(c->id, m->id, id_len);
    }

    ngx_memcpy(c->name, m->name, m->name_len);
    ngx_memcpy(c->data, data, data_len);

    return c;
}


static void
ngx_ws_perf_mstore_unref(ngx_ws_perf_mstore_msg_t *c)
{
    if (--c->refs == 0) {
        ngx_free(c);
    }
}


/* the message a copy stands for, pointing into the copy */

static void
ngx_ws_perf_mstore_msg(ngx_ws_perf_mstore_msg_t *c, ngx_ws_perf_msg_t *m)
{
    ngx_memzero(m, sizeof(ngx_ws_perf_msg_t));

    m->name = c->name;
    m->name_len = c->name_len;
    m->id = c->id_len ? c->id : NULL;
    m->id_len = c->id_len;
    m->data = c->data;
    m->data_len = c->data_len;

    if (c->json) {
        m->json = c->data;
        m->json_len = c->data_len;
    }

    m->ts = c->ts;
    m->target = c->target;
    m->priority = c->priority;
    m->ack = c->ack;
    m->binary = c->binary;
}


static ngx_ws_perf_mstore_topic_t *
ngx_ws_perf_mstore_topic(ngx_uint_t target, u_char *name, size_t len,
    ngx_uint_t create)
{
    uint32_t                     hash;
    ngx_str_t                    s;
    ngx_ws_perf_mstore_topic_t  *t;

    s.data = name;
    s.len = len;
    hash = ngx_crc32_short(name, len);

    t = (ngx_ws_perf_mstore_topic_t *)
            ngx_str_rbtree_lookup(&ngx_ws_perf_mstore_topics[target], &s,
                                  hash);

    if (t || !create) {
        return t;
    }

    t = ngx_alloc(sizeof(ngx_ws_perf_mstore_topic_t) + len, ngx_cycle->log);
    if (t == NULL) {
        return NULL;
    }

    ngx_memzero(t, sizeof(ngx_ws_perf_mstore_topic_t));

    t->sn.str.data = (u_char *) (t + 1);
    t->sn.str.len = len;
    ngx_memcpy(t->sn.str.data, name, len);
    t->sn.node.key = hash;
    t->target = target;
    ngx_queue_init(&t->kept);
    ngx_queue_init(&t->pending);
    ngx_queue_insert_tail(&ngx_ws_perf_mstore_lru, &t->lru);

    ngx_rbtree_insert(&ngx_ws_perf_mstore_topics[target], &t->sn.node);

    return t;
}


/* lets go of the oldest kept messages until keep are left */

static void
ngx_ws_perf_mstore_drop_kept(ngx_ws_perf_mstore_topic_t *t, ngx_uint_t keep)
{
    ngx_queue_t                *q;
    ngx_ws_perf_mstore_kept_t  *k;

    while (t->nkept > keep) {
        q = ngx_queue_head(&t->kept);
        ngx_queue_remove(q);
        k = ngx_queue_data(q, ngx_ws_perf_mstore_kept_t, queue);

        if (k->msg->seq > t->trimmed) {
            t->trimmed = k->msg->seq;
        }

        ngx_ws_perf_mstore_unref(k->msg);
        ngx_free(k);
        t->nkept--;
    }
}


static void
ngx_ws_perf_mstore_free_topic(ngx_ws_perf_mstore_topic_t *t)
{
    ngx_ws_perf_mstore_drop_kept(t, 0);
    ngx_queue_remove(&t->lru);
    ngx_rbtree_delete(&ngx_ws_perf_mstore_topics[t->target], &t->sn.node);
    ngx_free(t);
}


static void
ngx_ws_perf_mstore_unpend(ngx_ws_perf_mstore_pending_t *p,
    ngx_uint_t in_tree)
{
    if (in_tree) {
        ngx_rbtree_delete(&ngx_ws_perf_mstore_due, &p->node);
    }

    ngx_queue_remove(&p->queue);
    p->topic->npending--;
    ngx_ws_perf_mstore_unref(p->msg);
    ngx_free(p);
}


/*
 * A message published in local mode, its id given: kept in its user's
 * inbox or its channel's history, and waiting for an ack if it needs one.
 * Called before it is delivered.  NGX_OK; NGX_BUSY: the user has
 * ws_perf_max_pending_acks messages waiting, *reason says so, the message
 * must not go out; NGX_ERROR: no memory.
 */

static ngx_int_t
ngx_ws_perf_mstore_append(ngx_ws_perf_msg_t *m, uint64_t seq,
    ngx_str_t *reason)
{
    u_char                        *p;
    int64_t                        now;
    ngx_str_t                      name;
    ngx_uint_t                     keep, ack;
    ngx_ws_perf_topic_t           *topic;
    ngx_ws_perf_mstore_msg_t      *c;
    ngx_ws_perf_mstore_kept_t     *k;
    ngx_ws_perf_mstore_topic_t    *t;
    ngx_ws_perf_main_conf_t       *wmcf;
    ngx_ws_perf_mstore_pending_t  *pd;

    if (!ngx_ws_perf_mstore_on) {
        return NGX_OK;
    }

    wmcf = ngx_http_cycle_get_module_main_conf(ngx_cycle, ngx_ws_perf_module);

    keep = (m->target == NGX_WS_PERF_TARGET_USER) ? wmcf->offline_max
                                                  : wmcf->history;
    ack = (m->target == NGX_WS_PERF_TARGET_USER && m->ack);

    t = ngx_ws_perf_mstore_topic(m->target, (u_char *) m->name, m->name_len,
                                 0);

    if (keep == 0 && !ack) {
        /* nothing to keep: plain pub/sub pays for no record */
        if (t) {
            t->last_seq = seq;
            t->last_ts = m->ts;
            t->trimmed = seq;
        }

        return NGX_OK;
    }

    if (ack && t && t->npending >= wmcf->max_pending_acks) {
        p = ngx_snprintf(ngx_ws_perf_mstore_busy,
                         sizeof(ngx_ws_perf_mstore_busy),
                         "the user has %ui messages awaiting an ack "
                         "(ws_perf_max_pending_acks)",
                         wmcf->max_pending_acks);
        reason->data = ngx_ws_perf_mstore_busy;
        reason->len = p - ngx_ws_perf_mstore_busy;
        return NGX_BUSY;
    }

    if (t == NULL) {
        t = ngx_ws_perf_mstore_topic(m->target, (u_char *) m->name,
                                     m->name_len, 1);
        if (t == NULL) {
            return NGX_ERROR;
        }
    }

    c = ngx_ws_perf_mstore_copy(m, seq);
    if (c == NULL) {
        return NGX_ERROR;
    }

    now = ngx_ws_perf_mstore_now();

    t->last_seq = seq;
    t->last_ts = m->ts;
    t->used = now;
    ngx_queue_remove(&t->lru);
    ngx_queue_insert_tail(&ngx_ws_perf_mstore_lru, &t->lru);

    if (keep) {
        k = ngx_alloc(sizeof(ngx_ws_perf_mstore_kept_t), ngx_cycle->log);
        if (k == NULL) {
            goto failed;
        }

        k->msg = c;
        c->refs++;
        ngx_queue_insert_tail(&t->kept, &k->queue);
        t->nkept++;
        ngx_ws_perf_mstore_drop_kept(t, keep);

    } else {
        t->trimmed = seq;
    }

    if (ack) {
        pd = ngx_alloc(sizeof(ngx_ws_perf_mstore_pending_t), ngx_cycle->log);
        if (pd == NULL) {
            goto failed;
        }

        name.data = c->name;
        name.len = c->name_len;
        topic = ngx_ws_perf_hub_lookup(m->target, &name);

        pd->topic = t;
        pd->msg = c;
        c->refs++;
        pd->tries = (topic && topic->nsubs) ? 1 : 0;
        pd->first = now;
        pd->node.key = now + wmcf->ack_timeout;

        ngx_queue_insert_tail(&t->pending, &pd->queue);
        t->npending++;
        ngx_rbtree_insert(&ngx_ws_perf_mstore_due, &pd->node);
    }

    ngx_ws_perf_mstore_unref(c);
    ngx_ws_perf_mstore_arm();

    return NGX_OK;

failed:

    ngx_ws_perf_mstore_unref(c);

    return NGX_ERROR;
}


/*
 * "<ms>-<worker>-<seq>" (parts 3) or "<ms>-<n>" (parts 2) into v[];
 * NGX_OK or NGX_DECLINED
 */

static ngx_int_t
ngx_ws_perf_mstore_parse_id(ngx_str_t *s, uint64_t *v, ngx_uint_t parts)
{
    u_char      *p, *last;
    ngx_uint_t   i, digits;

    p = s->data;
    last = p + s->len;

    for (i = 0; i < parts; i++) {
        v[i] = 0;
        digits = 0;

        while (p < last && *p >= '0' && *p <= '9') {
            if (++digits > 19) {
                return NGX_DECLINED;
            }

            v[i] = v[i] * 10 + (*p++ - '0');
        }

        if (digits == 0) {
            return NGX_DECLINED;
        }

        if (i + 1 < parts) {
            if (p == last || *p != '-') {
                return NGX_DECLINED;
            }

            p++;
        }
    }

    return p == last ? NGX_OK : NGX_DECLINED;
}


/*
 * {"type":"resume",...,"since":"<ms>-<worker>-<seq>"}: a gap notice if
 * anything newer than since was let go (or since is from before this
 * worker), the kept messages newer than since as far as the send queue
 * takes them, a gap notice with "more" if it took not all, then
 * "resumed"; all at high priority so that they leave in this order.
 * NGX_OK, NGX_ERROR.
 */

static ngx_int_t
ngx_ws_perf_mstore_resume(ngx_ws_perf_peer_t *peer, ngx_ws_perf_sub_t *sub,
    ngx_str_t *since)
{
    u_char                      *p, buf[NGX_WS_PERF_NAME_MAX + 4 * 64];
    uint64_t                     v[3];
    ngx_int_t                    rc;
    ngx_uint_t                   foreign, gap, sent;
    ngx_queue_t                 *q;
    ngx_ws_perf_msg_t            m;
    ngx_ws_perf_mstore_msg_t    *last;
    ngx_ws_perf_topic_t         *topic;
    ngx_ws_perf_mstore_kept_t   *k;
    ngx_ws_perf_mstore_topic_t  *t;

    if (since->len > NGX_WS_PERF_ID_MAX
        || ngx_ws_perf_mstore_parse_id(since, v, 3) != NGX_OK)
    {
        return ngx_ws_perf_hub_error(peer, 400, "\"since\" must be the id "
                                     "of a message the server numbered",
                                     0, NULL);
    }

    topic = sub->topic;

    t = ngx_ws_perf_mstore_topic(topic->target, topic->sn.str.data,
                                 topic->sn.str.len, 0);

    if (t) {
        /* what is queued and not yet sent comes again, in order, below */
        ngx_ws_perf_hub_forget_queued(sub);
    }

    /* an id of another worker, or of this one before a restart */
    foreign = (v[1] != (uint64_t) ngx_worker
               || (int64_t) v[0] < ngx_ws_perf_mstore_epoch);

    gap = (foreign || t == NULL || v[2] > t->last_seq || t->trimmed > v[2]);

    if (gap) {
        p = ngx_sprintf(buf, "{\"type\":\"gap\",\"%s\":\"%V\","
                        "\"since\":\"%V\",\"last\":\"",
                        topic->target ? "user" : "channel",
                        &topic->sn.str, since);

        if (t && t->last_seq) {
            p = ngx_sprintf(p, "%L-%ui-%uL\"}", t->last_ts, ngx_worker,
                            t->last_seq);

        } else {
            p = ngx_cpymem(p, "0\"}", 3);
        }

        (void) ngx_ws_perf_hub_push_text(peer, buf, p - buf,
                                         NGX_WS_PERF_PRIO_HIGH,
                                         peer->connection->log);
    }

    sent = 0;
    last = NULL;
    rc = NGX_OK;

    for (q = t ? ngx_queue_head(&t->kept) : NULL;
         q && q != ngx_queue_sentinel(&t->kept);
         q = ngx_queue_next(q))
    {
        k = ngx_queue_data(q, ngx_ws_perf_mstore_kept_t, queue);

        if (!foreign && k->msg->seq <= v[2]) {
            continue;
        }

        ngx_ws_perf_mstore_msg(k->msg, &m);

        rc = ngx_ws_perf_hub_push(peer, &m, NGX_WS_PERF_PRIO_HIGH,
                                  peer->connection->log);

        if (rc == NGX_BUSY) {
            break;
        }

        /* one that can never fit is passed over, as live delivery would */
        sent += (rc == NGX_OK);
        last = k->msg;
    }

    if (rc == NGX_BUSY) {
        /* where to resume from for the rest */
        p = ngx_sprintf(buf, "{\"type\":\"gap\",\"%s\":\"%V\","
                        "\"since\":\"", topic->target ? "user" : "channel",
                        &topic->sn.str);

        if (last) {
            p = ngx_sprintf(p, "%L-%ui-%uL", last->ts, ngx_worker, last->seq);

        } else {
            p = ngx_sprintf(p, "%V", since);
        }

        p = ngx_sprintf(p, "\",\"last\":\"%L-%ui-%uL\",\"more\":true}",
                        t->last_ts, ngx_worker, t->last_seq);
        (void) ngx_ws_perf_hub_push_text(peer, buf, p - buf,
                                         NGX_WS_PERF_PRIO_HIGH,
                                         peer->connection->log);
    }

    p = ngx_sprintf(buf, "{\"type\":\"resumed\",\"%s\":\"%V\","
                    "\"count\":%ui}", topic->target ? "user" : "channel",
                    &topic->sn.str, sent);
    (void) ngx_ws_perf_hub_resumed(peer, topic, buf, p - buf,
                                   NGX_WS_PERF_PRIO_HIGH,
                                   peer->connection->log);

    return NGX_OK;
}


/* {"type":"ack","id":ID} from a connection of a user */

static ngx_int_t
ngx_ws_perf_mstore_ack(ngx_ws_perf_peer_t *peer, ngx_str_t *id)
{
    u_char                        *p, buf[NGX_WS_PERF_ID_MAX + 64];
    ngx_queue_t                   *q;
    ngx_ws_perf_mstore_topic_t    *t;
    ngx_ws_perf_mstore_pending_t  *pd;

    t = ngx_ws_perf_mstore_topic(NGX_WS_PERF_TARGET_USER, peer->user->data,
                                 peer->user->len, 0);

    for (q = t ? ngx_queue_head(&t->pending) : NULL;
         q && q != ngx_queue_sentinel(&t->pending);
         q = ngx_queue_next(q))
    {
        pd = ngx_queue_data(q, ngx_ws_perf_mstore_pending_t, queue);

        if (pd->msg->id_len != id->len
            || ngx_memcmp(pd->msg->id, id->data, id->len) != 0)
        {
            continue;
        }

        ngx_ws_perf_mstore_unpend(pd, 1);

        p = ngx_sprintf(buf, "{\"type\":\"acked\",\"id\":\"%V\"}", id);
        (void) ngx_ws_perf_hub_reply(peer, buf, p - buf,
                                     peer->connection->log);

        ngx_ws_perf_mstore_arm();

        return NGX_OK;
    }

    return ngx_ws_perf_hub_error(peer, 404, "no message with this id "
                                 "awaits an ack", 0, NULL);
}


/* local mode keeps at most NGX_WS_PERF_MSTORE_SCHED_MAX for later */

static ngx_int_t
ngx_ws_perf_mstore_room(ngx_uint_t n, ngx_uint_t later, u_char *err)
{
    if (ngx_ws_perf_mstore_nsched + later > NGX_WS_PERF_MSTORE_SCHED_MAX) {
        ngx_snprintf(err, NGX_WS_PERF_ERR_LEN, "no room for %ui more "
                     "scheduled messages: local mode keeps 10000%Z", later);
        return NGX_HTTP_TOO_MANY_REQUESTS;
    }

    return NGX_OK;
}


/*
 * Gives a message its id (unless the publisher chose one) and its time,
 * keeps it, and delivers it to this worker's subscribers.
 */

static ngx_int_t
ngx_ws_perf_mstore_publish(ngx_ws_perf_msg_t *m,
    ngx_ws_perf_publish_pt handler, void *data, ngx_uint_t tag,
    ngx_log_t *log)
{
    u_char                   *p, buf[NGX_WS_PERF_ID_MAX];
    uint64_t                  seq;
    ngx_int_t                 rc;
    ngx_str_t                 id;
    ngx_ws_perf_main_conf_t  *wmcf;

    wmcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                               ngx_ws_perf_module);

    ngx_ws_perf_msg_ack_needed(m, wmcf->ack_priorities);

    m->ts = ngx_ws_perf_mstore_now();

    /* every message takes a number: resume compares them */
    seq = ++ngx_ws_perf_mstore_seq;

    if (m->id == NULL) {
        p = ngx_snprintf(buf, NGX_WS_PERF_ID_MAX, "%L-%ui-%uL",
                         m->ts, ngx_worker, seq);
        m->id = buf;
        m->id_len = p - buf;
    }

    rc = ngx_ws_perf_mstore_append(m, seq, &id);

    if (rc == NGX_OK) {
        (void) ngx_ws_perf_hub_deliver(m, log);

        ngx_ws_perf_metrics_inc(published);

        id.data = (u_char *) m->id;
        id.len = m->id_len;

        handler(data, tag, NGX_OK, &id);

    } else if (rc == NGX_BUSY) {
        handler(data, tag, NGX_HTTP_TOO_MANY_REQUESTS, &id);
    }

    if (m->id == buf) {
        m->id = NULL;
        m->id_len = 0;
    }

    return (rc == NGX_ERROR) ? NGX_ERROR : NGX_OK;
}


/* this worker's subscribers only: workers is unknown */

static ngx_int_t
ngx_ws_perf_mstore_info(ngx_uint_t target, ngx_str_t *name,
    ngx_ws_perf_info_pt handler, void *data)
{
    ngx_ws_perf_topic_t  *topic;

    topic = ngx_ws_perf_hub_lookup(target, name);

    handler(data, NGX_OK, topic ? topic->nsubs : 0,
            topic ? topic->published : 0, -1, NULL);

    return NGX_OK;
}


/*
 * A message for later, kept until "at" (Unix ms); at most
 * NGX_WS_PERF_MSTORE_SCHED_MAX wait at a time (429 beyond).  The handler
 * is called before this returns, with the schedule id "s<N>".  NGX_OK.
 */

static ngx_int_t
ngx_ws_perf_mstore_schedule(ngx_ws_perf_msg_t *m, int64_t at,
    ngx_ws_perf_publish_pt handler, void *data, ngx_uint_t tag)
{
    u_char                      *p, buf[NGX_INT64_LEN + 2];
    ngx_str_t                    text;
    ngx_ws_perf_mstore_sched_t  *s;

    if (ngx_ws_perf_mstore_nsched >= NGX_WS_PERF_MSTORE_SCHED_MAX) {
        ngx_str_set(&text, "10000 messages are scheduled already: the "
                    "most local mode keeps");
        handler(data, tag, NGX_HTTP_TOO_MANY_REQUESTS, &text);
        return NGX_OK;
    }

    s = ngx_alloc(sizeof(ngx_ws_perf_mstore_sched_t), ngx_cycle->log);
    if (s == NULL) {
        return NGX_ERROR;
    }

    s->msg = ngx_ws_perf_mstore_copy(m, 0);
    if (s->msg == NULL) {
        ngx_free(s);
        return NGX_ERROR;
    }

    s->sid = ++ngx_ws_perf_mstore_sid;
    s->node.key = at > 0 ? at : 0;

    ngx_rbtree_insert(&ngx_ws_perf_mstore_sched, &s->node);
    ngx_ws_perf_mstore_nsched++;
    ngx_ws_perf_metrics_scheduled(1);

    p = ngx_sprintf(buf, "s%uL", s->sid);
    text.data = buf;
    text.len = p - buf;

    handler(data, tag, NGX_OK, &text);

    ngx_ws_perf_mstore_arm();

    return NGX_OK;
}


/* DELETE ?schedule=ID */

static ngx_int_t
ngx_ws_perf_mstore_cancel(ngx_http_request_t *r, ngx_str_t *id)
{
    uint64_t                     sid;
    ngx_str_t                    s;
    ngx_rbtree_node_t           *node;
    ngx_ws_perf_mstore_sched_t  *sc;

    s.data = id->data + 1;
    s.len = id->len ? id->len - 1 : 0;

    if (id->len > 1 && id->data[0] == 's'
        && ngx_ws_perf_mstore_parse_id(&s, &sid, 1) == NGX_OK
        && ngx_ws_perf_mstore_sched.root != &ngx_ws_perf_mstore_sched_s)
    {
        for (node = ngx_rbtree_min(ngx_ws_perf_mstore_sched.root,
                                   &ngx_ws_perf_mstore_sched_s);
             node;
             node = ngx_rbtree_next(&ngx_ws_perf_mstore_sched, node))
        {
            sc = (ngx_ws_perf_mstore_sched_t *) node;

            if (sc->sid != sid) {
                continue;
            }

            ngx_rbtree_delete(&ngx_ws_perf_mstore_sched, node);
            ngx_ws_perf_mstore_nsched--;
            ngx_ws_perf_metrics_scheduled(-1);
            ngx_ws_perf_mstore_unref(sc->msg);
            ngx_free(sc);

            ngx_ws_perf_mstore_arm();

            return ngx_ws_perf_send_json(r, NGX_HTTP_OK,
                                         "{\"cancelled\":1}");
        }
    }

    return ngx_ws_perf_send_json(r, NGX_HTTP_NOT_FOUND,
                                 "{\"error\":\"no scheduled message has "
                                 "this id\"}");
}


static void
ngx_ws_perf_mstore_tick(ngx_event_t *ev)
{
    int64_t  now;

    now = ngx_ws_perf_mstore_now();

    ngx_ws_perf_mstore_release(now);
    ngx_ws_perf_mstore_redeliver(now);
    ngx_ws_perf_mstore_sweep(now);

    ngx_ws_perf_mstore_arm();
}


/* the timer for the earliest of: a redelivery, a release, an expiry */

static void
ngx_ws_perf_mstore_arm(void)
{
    int64_t                      next, at, now;
    ngx_ws_perf_main_conf_t     *wmcf;
    ngx_ws_perf_mstore_topic_t  *t;

    if (!ngx_ws_perf_mstore_on) {
        return;
    }

    next = -1;

    if (ngx_ws_perf_mstore_due.root != &ngx_ws_perf_mstore_due_s) {
        next = ngx_rbtree_min(ngx_ws_perf_mstore_due.root,
                              &ngx_ws_perf_mstore_due_s)->key;
    }

    if (ngx_ws_perf_mstore_sched.root != &ngx_ws_perf_mstore_sched_s) {
        at = ngx_rbtree_min(ngx_ws_perf_mstore_sched.root,
                            &ngx_ws_perf_mstore_sched_s)->key;
        next = (next < 0 || at < next) ? at : next;
    }

    if (!ngx_queue_empty(&ngx_ws_perf_mstore_lru)) {
        wmcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                                   ngx_ws_perf_module);
        t = ngx_queue_data(ngx_queue_head(&ngx_ws_perf_mstore_lru),
                           ngx_ws_perf_mstore_topic_t, lru);
        at = t->used + wmcf->offline_ttl;
        next = (next < 0 || at < next) ? at : next;
    }

    if (ngx_ws_perf_mstore_timer.timer_set) {
        ngx_del_timer(&ngx_ws_perf_mstore_timer);
    }

    if (next < 0) {
        return;
    }

    now = ngx_ws_perf_mstore_now();

    ngx_add_timer(&ngx_ws_perf_mstore_timer,
                  next > now ? (ngx_msec_t) (next - now) : 1);
}


/* the due messages that wait for an ack go again, highest priority first */

static void
ngx_ws_perf_mstore_redeliver(int64_t now)
{
    ngx_str_t                      name;
    ngx_uint_t                     i, n, sent, dead, reason, shift;
    ngx_rbtree_node_t             *node;
    ngx_ws_perf_msg_t              m;
    ngx_ws_perf_topic_t           *topic;
    ngx_ws_perf_main_conf_t       *wmcf;
    ngx_ws_perf_mstore_pending_t  *due[NGX_WS_PERF_MSTORE_BATCH], *pd;

    n = 0;

    while (n < NGX_WS_PERF_MSTORE_BATCH
           && ngx_ws_perf_mstore_due.root != &ngx_ws_perf_mstore_due_s)
    {
        node = ngx_rbtree_min(ngx_ws_perf_mstore_due.root,
                              &ngx_ws_perf_mstore_due_s);

        if ((int64_t) node->key > now) {
            break;
        }

        ngx_rbtree_delete(&ngx_ws_perf_mstore_due, node);
        due[n++] = (ngx_ws_perf_mstore_pending_t *) node;
    }

    if (n == 0) {
        return;
    }

    ngx_sort(due, n, sizeof(ngx_ws_perf_mstore_pending_t *),
             ngx_ws_perf_mstore_prio_cmp);

    wmcf = ngx_http_cycle_get_module_main_conf(ngx_cycle, ngx_ws_perf_module);
    sent = 0;
    dead = 0;

    for (i = 0; i < n; i++) {
        pd = due[i];

        if (now - pd->first > (int64_t) wmcf->offline_ttl) {
            reason = NGX_WS_PERF_DEAD_EXPIRED;

        } else if (pd->tries >= wmcf->max_attempts) {
            reason = NGX_WS_PERF_DEAD_MAX_ATTEMPTS;

        } else {
            ngx_ws_perf_mstore_msg(pd->msg, &m);

            name.data = pd->msg->name;
            name.len = pd->msg->name_len;
            topic = ngx_ws_perf_hub_lookup(pd->msg->target, &name);

            (void) ngx_ws_perf_hub_deliver(&m, ngx_cycle->log);

            pd->node.key = now + wmcf->ack_timeout;

            /* an attempt counts when the user had a connection to get it */
            if (topic && topic->nsubs) {
                pd->tries++;
                shift = ngx_min(pd->tries - 1, 6);
                pd->node.key = now + wmcf->ack_timeout * ((ngx_uint_t) 1
                                                          << shift);
                sent++;
            }

            ngx_rbtree_insert(&ngx_ws_perf_mstore_due, &pd->node);
            continue;
        }

        ngx_ws_perf_mstore_bury(pd->msg, reason, pd->tries, pd->first, now);
        ngx_ws_perf_mstore_unpend(pd, 0);
        dead++;
    }

    ngx_ws_perf_metrics_add(redelivered, sent);
    ngx_ws_perf_metrics_add(dead_lettered, dead);

    if (dead) {
        ngx_log_error(NGX_LOG_INFO, ngx_cycle->log, 0,
                      "ws_perf: %ui messages dead-lettered", dead);
    }
}


/* the scheduled messages that are due go out, highest priority first */

static void
ngx_ws_perf_mstore_release(int64_t now)
{
    ngx_int_t                    rc;
    ngx_uint_t                   i, n;
    ngx_rbtree_node_t           *node;
    ngx_ws_perf_msg_t            m;
    ngx_ws_perf_mstore_sched_t  *due[NGX_WS_PERF_MSTORE_BATCH], *s;

    n = 0;

    while (n < NGX_WS_PERF_MSTORE_BATCH
           && ngx_ws_perf_mstore_sched.root != &ngx_ws_perf_mstore_sched_s)
    {
        node = ngx_rbtree_min(ngx_ws_perf_mstore_sched.root,
                              &ngx_ws_perf_mstore_sched_s);

        if ((int64_t) node->key > now) {
            break;
        }

        ngx_rbtree_delete(&ngx_ws_perf_mstore_sched, node);
        ngx_ws_perf_mstore_nsched--;
        due[n++] = (ngx_ws_perf_mstore_sched_t *) node;
    }

    if (n == 0) {
        return;
    }

    ngx_sort(due, n, sizeof(ngx_ws_perf_mstore_sched_t *),
             ngx_ws_perf_mstore_sched_cmp);

    for (i = 0; i < n; i++) {
        s = due[i];

        ngx_ws_perf_mstore_msg(s->msg, &m);

        rc = NGX_ERROR;
        (void) ngx_ws_perf_mstore_publish(&m, ngx_ws_perf_mstore_published,
                                          &rc, 0, ngx_cycle->log);

        if (rc != NGX_OK) {
            s->msg->ts = now;
            ngx_ws_perf_mstore_bury(s->msg, NGX_WS_PERF_DEAD_UNDELIVERABLE,
                                    0, now, now);
        }

        ngx_ws_perf_metrics_scheduled(-1);
        ngx_ws_perf_mstore_unref(s->msg);
        ngx_free(s);
    }
}


static void
ngx_ws_perf_mstore_published(void *data, ngx_uint_t tag, ngx_int_t rc,
    ngx_str_t *text)
{
    ngx_int_t *result = data;

    *result = rc;
}


/* inboxes and histories without a new message for ws_perf_offline_ttl */

static void
ngx_ws_perf_mstore_sweep(int64_t now)
{
    ngx_queue_t                 *q;
    ngx_ws_perf_main_conf_t     *wmcf;
    ngx_ws_perf_mstore_topic_t  *t;

    wmcf = ngx_http_cycle_get_module_main_conf(ngx_cycle, ngx_ws_perf_module);

    while (!ngx_queue_empty(&ngx_ws_perf_mstore_lru)) {
        q = ngx_queue_head(&ngx_ws_perf_mstore_lru);
        t = ngx_queue_data(q, ngx_ws_perf_mstore_topic_t, lru);

        if (t->used + (int64_t) wmcf->offline_ttl > now) {
            break;
        }

        if (t->npending == 0) {
            ngx_ws_perf_mstore_free_topic(t);
            continue;
        }

        /* the messages waiting for acks expire on their own */
        ngx_ws_perf_mstore_drop_kept(t, 0);
        t->used = now;
        ngx_queue_remove(q);
        ngx_queue_insert_tail(&ngx_ws_perf_mstore_lru, q);
    }
}


static void
ngx_ws_perf_mstore_bury(ngx_ws_perf_mstore_msg_t *c, ngx_uint_t reason,
    ngx_uint_t attempts, int64_t first, int64_t now)
{
    ngx_uint_t                  i;
    ngx_queue_t                *q;
    ngx_ws_perf_main_conf_t    *wmcf;
    ngx_ws_perf_mstore_dead_t  *d;

    d = ngx_alloc(sizeof(ngx_ws_perf_mstore_dead_t), ngx_cycle->log);
    if (d == NULL) {
        return;
    }

    d->n = ngx_ws_perf_mstore_dead_n++;
    d->ms = now;
    d->reason = reason;
    d->attempts = attempts;
    d->first = first;
    d->last = now;
    d->msg = c;
    c->refs++;

    ngx_queue_insert_tail(&ngx_ws_perf_mstore_dead, &d->queue);
    ngx_ws_perf_mstore_ndead++;

    for (i = 0; i < ngx_ws_perf_mstore_norder; i++) {
        if (ngx_ws_perf_mstore_order[i] == reason) {
            break;
        }
    }

    if (i == ngx_ws_perf_mstore_norder) {
        ngx_ws_perf_mstore_order[ngx_ws_perf_mstore_norder++] = reason;
    }

    ngx_ws_perf_mstore_counts[reason]++;

    wmcf = ngx_http_cycle_get_module_main_conf(ngx_cycle, ngx_ws_perf_module);

    while (ngx_ws_perf_mstore_ndead > wmcf->dlq_max) {
        q = ngx_queue_head(&ngx_ws_perf_mstore_dead);
        ngx_queue_remove(q);
        d = ngx_queue_data(q, ngx_ws_perf_mstore_dead_t, queue);
        ngx_ws_perf_mstore_unref(d->msg);
        ngx_free(d);
        ngx_ws_perf_mstore_ndead--;
    }
}


static ngx_int_t
ngx_ws_perf_mstore_prio_cmp(const void *a, const void *b)
{
    ngx_ws_perf_mstore_pending_t  *x, *y;

    x = *(ngx_ws_perf_mstore_pending_t **) a;
    y = *(ngx_ws_perf_mstore_pending_t **) b;

    return (ngx_int_t) x->msg->priority - (ngx_int_t) y->msg->priority;
}


/* priority, then due time, then the order they were scheduled */

static ngx_int_t
ngx_ws_perf_mstore_sched_cmp(const void *a, const void *b)
{
    ngx_ws_perf_mstore_sched_t  *x, *y;

    x = *(ngx_ws_perf_mstore_sched_t **) a;
    y = *(ngx_ws_perf_mstore_sched_t **) b;

    if (x->msg->priority != y->msg->priority) {
        return (ngx_int_t) x->msg->priority - (ngx_int_t) y->msg->priority;
    }

    if (x->node.key != y->node.key) {
        return x->node.key < y->node.key ? -1 : 1;
    }

    return x->sid < y->sid ? -1 : (x->sid > y->sid);
}


static ngx_int_t
ngx_ws_perf_mstore_dead_cmp(const void *a, const void *b)
{
    ngx_ws_perf_mstore_dead_t  *x, *y;

    x = *(ngx_ws_perf_mstore_dead_t **) a;
    y = *(ngx_ws_perf_mstore_dead_t **) b;

    if (x->msg->priority != y->msg->priority) {
        return (ngx_int_t) x->msg->priority - (ngx_int_t) y->msg->priority;
    }

    return x->n < y->n ? -1 : (x->n > y->n);
}


static ngx_ws_perf_mstore_dead_t *
ngx_ws_perf_mstore_find_dead(ngx_str_t *id)
{
    uint64_t                    v[2];
    ngx_queue_t                *q;
    ngx_ws_perf_mstore_dead_t  *d;

    if (ngx_ws_perf_mstore_parse_id(id, v, 2) != NGX_OK) {
        return NULL;
    }

    for (q = ngx_queue_head(&ngx_ws_perf_mstore_dead);
         q != ngx_queue_sentinel(&ngx_ws_perf_mstore_dead);
         q = ngx_queue_next(q))
    {
        d = ngx_queue_data(q, ngx_ws_perf_mstore_dead_t, queue);

        if (d->n == v[1] && (uint64_t) d->ms == v[0]) {
            return d;
        }
    }

    return NULL;
}


/* {"next":ID|null,"counts":{REASON:N,...},"entries":[{...}]} */

static ngx_int_t
ngx_ws_perf_mstore_dlq_list(ngx_http_request_t *r,
    ngx_ws_perf_dlq_query_t *query)
{
    char                        *name;
    u_char                      *p, *buf, tbuf[NGX_WS_PERF_NAME_MAX + 3];
    size_t                       len;
    uint64_t                     after[2];
    ngx_uint_t                   count;
    ngx_str_t                    v, reason, target;
    ngx_uint_t                   i, n, has_after;
    ngx_queue_t                 *q;
    ngx_ws_perf_mstore_dead_t   *d, **out;

    count = query->count;
    has_after = 0;
    reason = query->reason;
    target = query->target;
    v = query->after;

    if (v.len) {
        if (ngx_ws_perf_mstore_parse_id(&v, after, 2) != NGX_OK) {
            return ngx_ws_perf_send_json(r, NGX_HTTP_BAD_REQUEST,
                       "{\"error\":\"after must be the id of a dead "
                       "letter\"}");
        }

        has_after = 1;
    }


    out = ngx_palloc(r->pool, count * sizeof(ngx_ws_perf_mstore_dead_t *));
    if (out == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    n = 0;
    len = sizeof("{\"next\":null,\"counts\":{},\"entries\":[]}" CRLF)
          + 2 * NGX_INT64_LEN + 4 + 3 * (32 + NGX_INT64_LEN);

    for (q = ngx_queue_head(&ngx_ws_perf_mstore_dead);
         q != ngx_queue_sentinel(&ngx_ws_perf_mstore_dead)
         && n < (ngx_uint_t) count;
         q = ngx_queue_next(q))
    {
        d = ngx_queue_data(q, ngx_ws_perf_mstore_dead_t, queue);

        if (has_after && d->n <= after[1]) {
            continue;
        }

        name = ngx_ws_perf_mstore_reasons[d->reason];

        if (reason.len
            && (ngx_strlen(name) != reason.len
                || ngx_strncmp(reason.data, name, reason.len) != 0))
        {
            continue;
        }

        if (target.len) {
            p = ngx_sprintf(tbuf, "%s:%*s", d->msg->target ? "u" : "ch",
                            ngx_min(d->msg->name_len, NGX_WS_PERF_NAME_MAX),
                            d->msg->name);

            if ((size_t) (p - tbuf) != target.len
                || ngx_memcmp(tbuf, target.data, target.len) != 0)
            {
                continue;
            }
        }

        out[n++] = d;
        len += ngx_ws_perf_mstore_entry_size(d) + 1;
    }

    buf = ngx_pnalloc(r->pool, len);
    if (buf == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (n == (ngx_uint_t) count) {
        p = ngx_sprintf(buf, "{\"next\":\"%L-%uL\"", out[n - 1]->ms,
                        out[n - 1]->n);

    } else {
        p = ngx_cpymem(buf, "{\"next\":null", 12);
    }

    p = ngx_cpymem(p, ",\"counts\":{", 11);

    for (i = 0; i < ngx_ws_perf_mstore_norder; i++) {
        p = ngx_sprintf(p, "%s\"%s\":%uL", i ? "," : "",
                     ngx_ws_perf_mstore_reasons[ngx_ws_perf_mstore_order[i]],
                     ngx_ws_perf_mstore_counts[ngx_ws_perf_mstore_order[i]]);
    }

    p = ngx_cpymem(p, "},\"entries\":[", 13);

    for (i = 0; i < n; i++) {
        if (i) {
            *p++ = ',';
        }

        p = ngx_ws_perf_mstore_entry(p, out[i]);
    }

    p = ngx_cpymem(p, "]}" CRLF, 4);

    return ngx_ws_perf_send_response(r, NGX_HTTP_OK, "application/json", buf,
                                     p - buf);
}


static ngx_int_t
ngx_ws_perf_mstore_dlq_get(ngx_http_request_t *r, ngx_str_t *id)
{
    u_char                     *p, *buf;
    ngx_ws_perf_mstore_dead_t  *d;

    d = ngx_ws_perf_mstore_find_dead(id);

    if (d == NULL) {
        return ngx_ws_perf_send_json(r, NGX_HTTP_NOT_FOUND,
                                     "{\"error\":\"no dead letter has "
                                     "this id\"}");
    }

    buf = ngx_pnalloc(r->pool, ngx_ws_perf_mstore_entry_size(d) + 2);
    if (buf == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_ws_perf_mstore_entry(buf, d);
    *p++ = CR; *p++ = LF;

    return ngx_ws_perf_send_response(r, NGX_HTTP_OK, "application/json", buf,
                                     p - buf);
}


/*
 * ?replay=ID|all: published again with their ids, attempts from zero,
 * highest priority first, oldest first within one; an entry that cannot
 * be published (its user is at ws_perf_max_pending_acks) is kept
 */

static ngx_int_t
ngx_ws_perf_mstore_dlq_replay(ngx_http_request_t *r, ngx_str_t *id)
{
    ngx_uint_t                     i, n, replayed;
    ngx_queue_t                   *q;
    ngx_ws_perf_msg_t              m;
    ngx_ws_perf_mstore_dead_t     *d, **list;
    ngx_ws_perf_mstore_replay_t    rp;

    list = ngx_palloc(r->pool, (ngx_ws_perf_mstore_ndead + 1)
                               * sizeof(ngx_ws_perf_mstore_dead_t *));
    if (list == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    n = 0;

    if (id->len == 3 && ngx_strncmp(id->data, "all", 3) == 0) {
        for (q = ngx_queue_head(&ngx_ws_perf_mstore_dead);
             q != ngx_queue_sentinel(&ngx_ws_perf_mstore_dead);
             q = ngx_queue_next(q))
        {
            list[n++] = ngx_queue_data(q, ngx_ws_perf_mstore_dead_t, queue);
        }

    } else {
        list[0] = ngx_ws_perf_mstore_find_dead(id);
        n = list[0] ? 1 : 0;
    }

    ngx_sort(list, n, sizeof(ngx_ws_perf_mstore_dead_t *),
             ngx_ws_perf_mstore_dead_cmp);

    replayed = 0;
    ngx_str_null(&rp.why);

    for (i = 0; i < n; i++) {
        d = list[i];

        /* whatever still waits for an ack under this id is replaced */
        rp.pending = ngx_ws_perf_mstore_detach(d->msg, &rp.prev);

        ngx_ws_perf_mstore_msg(d->msg, &m);

        rp.rc = NGX_ERROR;
        (void) ngx_ws_perf_mstore_publish(&m, ngx_ws_perf_mstore_replayed,
                                          &rp, 0, r->connection->log);

        if (rp.rc != NGX_OK) {
            if (rp.pending) {
                ngx_ws_perf_mstore_reattach(rp.pending, rp.prev);
            }

            continue;
        }

        if (rp.pending) {
            ngx_ws_perf_mstore_unref(rp.pending->msg);
            ngx_free(rp.pending);
        }

        ngx_queue_remove(&d->queue);
        ngx_ws_perf_mstore_ndead--;
        ngx_ws_perf_mstore_unref(d->msg);
        ngx_free(d);
        replayed++;
    }

    return ngx_ws_perf_dlq_replayed(r, replayed, n - replayed,
                                    rp.why.len ? &rp.why : NULL);
}


static void
ngx_ws_perf_mstore_replayed(void *data, ngx_uint_t tag, ngx_int_t rc,
    ngx_str_t *text)
{
    ngx_ws_perf_mstore_replay_t *rp = data;

    rp->rc = rc;

    if (rc == NGX_HTTP_TOO_MANY_REQUESTS && rp->why.len == 0) {
        rp->why.len = ngx_min(text->len, sizeof(rp->text));
        rp->why.data = ngx_cpymem(rp->text, text->data, rp->why.len)
                       - rp->why.len;
    }
}


/*
 * Takes a user's message waiting for an ack under c's id out of its
 * topic and of the due tree, for ngx_ws_perf_mstore_reattach() to put it
 * back where it was; NULL when none waits.
 */

static ngx_ws_perf_mstore_pending_t *
ngx_ws_perf_mstore_detach(ngx_ws_perf_mstore_msg_t *c, ngx_queue_t **prev)
{
    ngx_queue_t                   *q;
    ngx_ws_perf_mstore_topic_t    *t;
    ngx_ws_perf_mstore_pending_t  *pd;

    if (c->id_len == 0) {
        return NULL;
    }

    t = ngx_ws_perf_mstore_topic(c->target, c->name, c->name_len, 0);

    for (q = t ? ngx_queue_head(&t->pending) : NULL;
         q && q != ngx_queue_sentinel(&t->pending);
         q = ngx_queue_next(q))
    {
        pd = ngx_queue_data(q, ngx_ws_perf_mstore_pending_t, queue);

        if (pd->msg->id_len == c->id_len
            && ngx_memcmp(pd->msg->id, c->id, c->id_len) == 0)
        {
            *prev = ngx_queue_prev(q);
            ngx_queue_remove(q);
            ngx_rbtree_delete(&ngx_ws_perf_mstore_due, &pd->node);
            t->npending--;
            return pd;
        }
    }

    return NULL;
}


static void
ngx_ws_perf_mstore_reattach(ngx_ws_perf_mstore_pending_t *pd,
    ngx_queue_t *prev)
{
    ngx_queue_insert_after(prev, &pd->queue);
    ngx_rbtree_insert(&ngx_ws_perf_mstore_due, &pd->node);
    pd->topic->npending++;
}


static ngx_int_t
ngx_ws_perf_mstore_dlq_delete(ngx_http_request_t *r, ngx_str_t *id)
{
    ngx_uint_t                  n;
    ngx_queue_t                *q;
    ngx_ws_perf_mstore_dead_t  *d;

    n = 0;

    if (id->len == 3 && ngx_strncmp(id->data, "all", 3) == 0) {
        while (!ngx_queue_empty(&ngx_ws_perf_mstore_dead)) {
            q = ngx_queue_head(&ngx_ws_perf_mstore_dead);
            ngx_queue_remove(q);
            d = ngx_queue_data(q, ngx_ws_perf_mstore_dead_t, queue);
            ngx_ws_perf_mstore_unref(d->msg);
            ngx_free(d);
            n++;
        }

        ngx_ws_perf_mstore_ndead = 0;

    } else {
        d = ngx_ws_perf_mstore_find_dead(id);

        if (d) {
            ngx_queue_remove(&d->queue);
            ngx_ws_perf_mstore_unref(d->msg);
            ngx_free(d);
            ngx_ws_perf_mstore_ndead--;
            n = 1;
        }
    }

    return ngx_ws_perf_send_json(r, n ? NGX_HTTP_OK : NGX_HTTP_NOT_FOUND,
                                 "{\"deleted\":%ui}", n);
}


static size_t
ngx_ws_perf_mstore_entry_size(ngx_ws_perf_mstore_dead_t *d)
{
    ngx_ws_perf_msg_t  m;

    ngx_ws_perf_mstore_msg(d->msg, &m);

    if (m.id == NULL) {
        m.id_len = 1;
    }

    return sizeof("{\"dlq_id\":\"-\",\"id\":\"\",\"target\":\"ch:\","
                  "\"reason\":\"undeliverable\",\"attempts\":,\"first\":,"
                  "\"last\":,\"message\":}")
           + 4 * NGX_INT64_LEN + d->msg->name_len
           + ngx_ws_perf_json_escape_size(d->msg->id, d->msg->id_len)
           + ngx_ws_perf_msg_envelope_size(&m);
}


/*
 * {"dlq_id":..,"id":..,"target":"u:NAME","reason":..,"attempts":N,
 * "first":MS,"last":MS,"message":{the envelope a subscriber got}}
 */

static u_char *
ngx_ws_perf_mstore_entry(u_char *p, ngx_ws_perf_mstore_dead_t *d)
{
    ngx_ws_perf_msg_t  m;

    ngx_ws_perf_mstore_msg(d->msg, &m);

    if (m.id == NULL) {
        m.id = (u_char *) "-";
        m.id_len = 1;
    }

    p = ngx_sprintf(p, "{\"dlq_id\":\"%L-%uL\",\"id\":\"", d->ms, d->n);
    p = ngx_ws_perf_json_escape(p, d->msg->id, d->msg->id_len);
    p = ngx_sprintf(p, "\",\"target\":\"%s:%*s\",\"reason\":\"%s\","
                    "\"attempts\":%ui,\"first\":%L,\"last\":%L,"
                    "\"message\":", d->msg->target ? "u" : "ch",
                    d->msg->name_len, d->msg->name,
                    ngx_ws_perf_mstore_reasons[d->reason], d->attempts,
                    d->first, d->last);
    p = ngx_ws_perf_msg_envelope(&m, p);
    *p++ = '}';

    return p;
}
