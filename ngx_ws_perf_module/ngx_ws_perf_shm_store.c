
/*
 * Copyright (C) ngx_ws_perf_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include "ngx_ws_perf.h"
#include "ngx_ws_perf_frame.h"
#include "ngx_ws_perf_http.h"
#include "ngx_ws_perf_metrics.h"
#include "ngx_ws_perf_shm.h"


/*
 * Reliable delivery without Redis (docs/reliable.md): inboxes, history,
 * ack waits, dead letters and scheduled messages in the shared zone, the
 * same replies and JSON as in Redis mode.  Every function here that is
 * not an engine entry runs under the zone's lock; the timer work is done
 * by whichever worker takes it, so each item once.
 */


#define NGX_WS_PERF_SHM_BATCH  200


/* a dead letter being replayed */
typedef struct {
    ngx_int_t                   rc;
    ngx_str_t                   why;        /* the first refusal */
    u_char                      text[128];
} ngx_ws_perf_shm_replay_t;


/* a resume while it is given: what the zone held, and how far it went */
typedef struct {
    ngx_ws_perf_peer_t         *peer;
    ngx_ws_perf_topic_t        *topic;
    ngx_str_t                  *since;
    uint64_t                    v[3];       /* since's parts */
    size_t                      room;       /* in the peer's send queue */
    ngx_array_t                 bus;        /* taken off the bus first */
    ngx_array_t                 hist;       /* copies of the kept ones */
    int64_t                     last_ts;    /* the topic's newest */
    uint64_t                    last_seq;
    ngx_uint_t                  last_worker;
    int64_t                     cut_ts;     /* the last one passed */
    uint64_t                    cut_seq;
    ngx_uint_t                  cut_worker;
    ngx_uint_t                  sent;
    unsigned                    foreign:1;  /* since is older than the zone */
    unsigned                    found:1;    /* the topic had a message */
    unsigned                    kept:1;
    unsigned                    gap:1;
    unsigned                    more:1;     /* the peer gets not all */
} ngx_ws_perf_shm_resume_t;


static void ngx_ws_perf_shm_drop_kept(ngx_ws_perf_shm_topic_t *t,
    ngx_uint_t keep);
static void ngx_ws_perf_shm_free_topic(ngx_ws_perf_shm_topic_t *t);
static void ngx_ws_perf_shm_unpend(ngx_ws_perf_shm_pending_t *p,
    ngx_uint_t in_tree);
static void ngx_ws_perf_shm_published(ngx_ws_perf_shm_topic_t *t,
    ngx_ws_perf_shm_msg_t *c);
static ngx_int_t ngx_ws_perf_shm_acks_busy(ngx_ws_perf_main_conf_t *wmcf,
    ngx_str_t *reason);
static void ngx_ws_perf_shm_record(ngx_ws_perf_shm_topic_t *t,
    ngx_ws_perf_shm_msg_t *c, ngx_ws_perf_shm_kept_t *k, ngx_uint_t keep,
    ngx_ws_perf_shm_pending_t *pd, ngx_msec_t ack_timeout);
static ngx_int_t ngx_ws_perf_shm_parse_id(ngx_str_t *s, uint64_t *v,
    ngx_uint_t parts);
static void ngx_ws_perf_shm_resume_look(ngx_ws_perf_shm_resume_t *rs);
static void ngx_ws_perf_shm_resume_copy(ngx_ws_perf_shm_resume_t *rs,
    ngx_ws_perf_shm_topic_t *t);
static void ngx_ws_perf_shm_resume_gap(ngx_ws_perf_shm_resume_t *rs);
static void ngx_ws_perf_shm_resume_push(ngx_ws_perf_shm_resume_t *rs);
static void ngx_ws_perf_shm_resume_more(ngx_ws_perf_shm_resume_t *rs);
static void ngx_ws_perf_shm_resumed(ngx_ws_perf_shm_resume_t *rs);
static void ngx_ws_perf_shm_redeliver(int64_t now);
static ngx_uint_t ngx_ws_perf_shm_take_due(int64_t now,
    ngx_ws_perf_shm_pending_t **due);
static ngx_uint_t ngx_ws_perf_shm_retry(ngx_ws_perf_shm_pending_t *pd,
    int64_t now, ngx_msec_t ack_timeout);
static void ngx_ws_perf_shm_release(int64_t now);
static void ngx_ws_perf_shm_sweep(int64_t now);
static void ngx_ws_perf_shm_bury(ngx_ws_perf_shm_msg_t *c,
    ngx_uint_t reason, ngx_uint_t attempts, int64_t first, int64_t now);
static void ngx_ws_perf_shm_drop_dead(ngx_ws_perf_shm_dead_t *d);
static ngx_int_t ngx_ws_perf_shm_prio_cmp(const void *a, const void *b);
static ngx_int_t ngx_ws_perf_shm_sched_cmp(const void *a, const void *b);
static ngx_int_t ngx_ws_perf_shm_dead_cmp(const void *a, const void *b);
static ngx_ws_perf_shm_dead_t *ngx_ws_perf_shm_find_dead(ngx_str_t *id);
static ngx_uint_t ngx_ws_perf_shm_dlq_pick(ngx_str_t *id,
    ngx_ws_perf_shm_dead_t **list);
static ngx_int_t ngx_ws_perf_shm_replay_one(ngx_ws_perf_shm_dead_t *d,
    ngx_ws_perf_shm_replay_t *rp);
static ngx_ws_perf_shm_pending_t *ngx_ws_perf_shm_detach(
    ngx_ws_perf_shm_msg_t *c, ngx_queue_t **prev);
static void ngx_ws_perf_shm_reattach(ngx_ws_perf_shm_pending_t *pd,
    ngx_queue_t *prev);
static ngx_uint_t ngx_ws_perf_shm_dlq_select(ngx_ws_perf_dlq_query_t *qr,
    uint64_t *after, ngx_ws_perf_shm_dead_t **out, size_t *len);
static ngx_uint_t ngx_ws_perf_shm_dlq_match(ngx_ws_perf_shm_dead_t *d,
    ngx_ws_perf_dlq_query_t *qr);
static u_char *ngx_ws_perf_shm_dlq_write(u_char *p,
    ngx_ws_perf_shm_dead_t **out, ngx_uint_t n, ngx_uint_t count);
static size_t ngx_ws_perf_shm_entry_size(ngx_ws_perf_shm_dead_t *d);
static u_char *ngx_ws_perf_shm_entry(u_char *p, ngx_ws_perf_shm_dead_t *d);


static char  *ngx_ws_perf_shm_reasons[] = {
    "max_attempts", "expired", "undeliverable"
};


static u_char  ngx_ws_perf_shm_busy[128];


void
ngx_ws_perf_shm_store_init(ngx_ws_perf_shm_t *sh)
{
    ngx_uint_t  i;

    for (i = 0; i < 2; i++) {
        ngx_rbtree_init(&sh->topics[i], &sh->topics_s[i],
                        ngx_str_rbtree_insert_value);
    }

    ngx_rbtree_init(&sh->due, &sh->due_s, ngx_rbtree_insert_value);
    ngx_rbtree_init(&sh->sched, &sh->sched_s, ngx_rbtree_insert_value);
    ngx_queue_init(&sh->lru);
    ngx_queue_init(&sh->dead);

    ngx_ws_perf_shm_presence_init(sh);
}


ngx_ws_perf_shm_topic_t *
ngx_ws_perf_shm_topic(ngx_uint_t target, u_char *name, size_t len,
    ngx_uint_t create)
{
    uint32_t                  hash;
    ngx_str_t                 s;
    ngx_ws_perf_shm_topic_t  *t;

    s.data = name;
    s.len = len;
    hash = ngx_crc32_short(name, len);

    t = (ngx_ws_perf_shm_topic_t *)
            ngx_str_rbtree_lookup(&ngx_ws_perf_shm->topics[target], &s,
                                  hash);

    if (t || !create) {
        return t;
    }

    t = ngx_ws_perf_shm_alloc(sizeof(ngx_ws_perf_shm_topic_t) + len);
    if (t == NULL) {
        return NULL;
    }

    ngx_memzero(t, sizeof(ngx_ws_perf_shm_topic_t));

    t->sn.str.data = (u_char *) (t + 1);
    t->sn.str.len = len;
    ngx_memcpy(t->sn.str.data, name, len);
    t->sn.node.key = hash;
    t->target = target;
    t->used = ngx_ws_perf_shm_now();
    ngx_queue_init(&t->kept);
    ngx_queue_init(&t->pending);
    ngx_queue_init(&t->present);
    ngx_queue_insert_tail(&ngx_ws_perf_shm->lru, &t->lru);

    ngx_rbtree_insert(&ngx_ws_perf_shm->topics[target], &t->sn.node);

    return t;
}


/* a topic that keeps nothing and has no subscribers goes */

void
ngx_ws_perf_shm_topic_unused(ngx_ws_perf_shm_topic_t *t)
{
    if (t->nkept == 0 && t->npending == 0 && ngx_queue_empty(&t->present)) {
        ngx_ws_perf_shm_free_topic(t);
    }
}


/* lets go of the oldest kept messages until keep are left */

static void
ngx_ws_perf_shm_drop_kept(ngx_ws_perf_shm_topic_t *t, ngx_uint_t keep)
{
    ngx_queue_t             *q;
    ngx_ws_perf_shm_kept_t  *k;

    while (t->nkept > keep) {
        q = ngx_queue_head(&t->kept);
        ngx_queue_remove(q);
        k = ngx_queue_data(q, ngx_ws_perf_shm_kept_t, queue);

        if (k->msg->seq > t->trimmed) {
            t->trimmed = k->msg->seq;
        }

        ngx_ws_perf_shm_unref(k->msg);
        ngx_ws_perf_shm_free(k);
        t->nkept--;
    }
}


static void
ngx_ws_perf_shm_free_topic(ngx_ws_perf_shm_topic_t *t)
{
    ngx_queue_t  *q;

    ngx_ws_perf_shm_drop_kept(t, 0);

    while (!ngx_queue_empty(&t->present)) {
        q = ngx_queue_head(&t->present);
        ngx_queue_remove(q);
        ngx_ws_perf_shm_free(ngx_queue_data(q, ngx_ws_perf_shm_present_t,
                                            queue));
    }

    ngx_queue_remove(&t->lru);
    ngx_rbtree_delete(&ngx_ws_perf_shm->topics[t->target], &t->sn.node);
    ngx_ws_perf_shm_free(t);
}


static void
ngx_ws_perf_shm_unpend(ngx_ws_perf_shm_pending_t *p, ngx_uint_t in_tree)
{
    if (in_tree) {
        ngx_rbtree_delete(&ngx_ws_perf_shm->due, &p->node);
    }

    ngx_queue_remove(&p->queue);
    p->topic->npending--;
    ngx_ws_perf_shm_unref(p->msg);
    ngx_ws_perf_shm_free(p);
}


/*
 * A message numbered and copied into the zone: kept in its user's inbox
 * or its channel's history, and waiting for an ack if it needs one.
 * NGX_OK; NGX_BUSY: the user has ws_perf_max_pending_acks messages
 * waiting, *reason says so; NGX_ERROR: the zone is full.
 */

ngx_int_t
ngx_ws_perf_shm_append(ngx_ws_perf_shm_msg_t *c, ngx_str_t *reason)
{
    ngx_uint_t                  keep, ack;
    ngx_ws_perf_shm_kept_t     *k;
    ngx_ws_perf_shm_topic_t    *t;
    ngx_ws_perf_main_conf_t    *wmcf;
    ngx_ws_perf_shm_pending_t  *pd;

    wmcf = ngx_http_cycle_get_module_main_conf(ngx_cycle, ngx_ws_perf_module);

    keep = (c->target == NGX_WS_PERF_TARGET_USER) ? wmcf->offline_max
                                                  : wmcf->history;
    ack = (c->target == NGX_WS_PERF_TARGET_USER && c->ack);

    t = ngx_ws_perf_shm_topic(c->target, ngx_ws_perf_shm_msg_name(c),
                              c->name_len, 0);

    if (keep == 0 && !ack) {
        /* nothing to keep: plain pub/sub pays for no record */
        if (t) {
            ngx_ws_perf_shm_published(t, c);
            t->trimmed = c->seq;
        }

        return NGX_OK;
    }

    if (ack && t && t->npending >= wmcf->max_pending_acks) {
        return ngx_ws_perf_shm_acks_busy(wmcf, reason);
    }

    if (t == NULL) {
        t = ngx_ws_perf_shm_topic(c->target, ngx_ws_perf_shm_msg_name(c),
                                  c->name_len, 1);
        if (t == NULL) {
            return NGX_ERROR;
        }
    }

    /* both allocated before anything changes: a full zone changes nothing */
    k = NULL;
    pd = NULL;

    if (keep) {
        k = ngx_ws_perf_shm_alloc(sizeof(ngx_ws_perf_shm_kept_t));
        if (k == NULL) {
            goto failed;
        }
    }

    if (ack) {
        pd = ngx_ws_perf_shm_alloc(sizeof(ngx_ws_perf_shm_pending_t));
        if (pd == NULL) {
            goto failed;
        }
    }

    ngx_ws_perf_shm_record(t, c, k, keep, pd, wmcf->ack_timeout);

    return NGX_OK;

failed:

    if (k) {
        ngx_ws_perf_shm_free(k);
    }

    ngx_ws_perf_shm_topic_unused(t);

    return NGX_ERROR;
}


/* the topic's newest message is c */

static void
ngx_ws_perf_shm_published(ngx_ws_perf_shm_topic_t *t,
    ngx_ws_perf_shm_msg_t *c)
{
    t->published++;
    t->last_seq = c->seq;
    t->last_ts = c->ts;
    t->last_worker = c->worker;
}


/* NGX_BUSY, *reason: the user has ws_perf_max_pending_acks waiting */

static ngx_int_t
ngx_ws_perf_shm_acks_busy(ngx_ws_perf_main_conf_t *wmcf, ngx_str_t *reason)
{
    u_char  *p;

    p = ngx_snprintf(ngx_ws_perf_shm_busy, sizeof(ngx_ws_perf_shm_busy),
                     "the user has %ui messages awaiting an ack "
                     "(ws_perf_max_pending_acks)",
                     wmcf->max_pending_acks);
    reason->data = ngx_ws_perf_shm_busy;
    reason->len = p - ngx_ws_perf_shm_busy;

    return NGX_BUSY;
}


/*
 * With k (when keep) and pd (when the message needs an ack) allocated:
 * c in the topic's inbox or history, and waiting for an ack, which
 * cannot fail.
 */

static void
ngx_ws_perf_shm_record(ngx_ws_perf_shm_topic_t *t, ngx_ws_perf_shm_msg_t *c,
    ngx_ws_perf_shm_kept_t *k, ngx_uint_t keep, ngx_ws_perf_shm_pending_t *pd,
    ngx_msec_t ack_timeout)
{
    int64_t     now;
    ngx_uint_t  workers;

    now = ngx_ws_perf_shm_now();

    ngx_ws_perf_shm_published(t, c);
    t->used = now;
    ngx_queue_remove(&t->lru);
    ngx_queue_insert_tail(&ngx_ws_perf_shm->lru, &t->lru);

    if (keep) {
        k->msg = c;
        c->refs++;
        ngx_queue_insert_tail(&t->kept, &k->queue);
        t->nkept++;
        ngx_ws_perf_shm_drop_kept(t, keep);

    } else {
        t->trimmed = c->seq;
    }

    if (pd) {
        pd->topic = t;
        pd->msg = c;
        c->refs++;
        pd->tries = ngx_ws_perf_shm_present(t, &workers) ? 1 : 0;
        pd->first = now;
        pd->node.key = now + ack_timeout;

        ngx_queue_insert_tail(&t->pending, &pd->queue);
        t->npending++;
        ngx_rbtree_insert(&ngx_ws_perf_shm->due, &pd->node);
    }
}


/*
 * "<ms>-<worker>-<seq>" (parts 3) or "<ms>-<n>" (parts 2) into v[];
 * NGX_OK or NGX_DECLINED
 */

static ngx_int_t
ngx_ws_perf_shm_parse_id(ngx_str_t *s, uint64_t *v, ngx_uint_t parts)
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
 * {"type":"resume",...,"since":"<ms>-<worker>-<seq>"}: what the bus holds
 * for this worker first (so that nothing comes twice at the seam), then a
 * gap notice if anything newer than since was let go (or since is older
 * than the zone), the kept messages newer than since as far as the send
 * queue takes them, a gap notice with "more" if it took not all, then
 * "resumed"; all at high priority so that they leave in this order.
 * NGX_OK, NGX_ERROR.
 */

ngx_int_t
ngx_ws_perf_shm_resume(ngx_ws_perf_peer_t *peer, ngx_ws_perf_sub_t *sub,
    ngx_str_t *since)
{
    ngx_ws_perf_shm_resume_t  rs;

    ngx_memzero(&rs, sizeof(ngx_ws_perf_shm_resume_t));

    if (since->len > NGX_WS_PERF_ID_MAX
        || ngx_ws_perf_shm_parse_id(since, rs.v, 3) != NGX_OK)
    {
        return ngx_ws_perf_hub_error(peer, 400, "\"since\" must be the id "
                                     "of a message the server numbered",
                                     0, NULL);
    }

    if (ngx_array_init(&rs.bus, peer->connection->pool, 16,
                       sizeof(ngx_ws_perf_shm_msg_t *))
        != NGX_OK
        || ngx_array_init(&rs.hist, peer->connection->pool, 16,
                          sizeof(ngx_ws_perf_shm_msg_t *))
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    rs.peer = peer;
    rs.topic = sub->topic;
    rs.since = since;
    rs.room = ngx_ws_perf_hub_room(peer);

    ngx_ws_perf_shm_lock(NGX_WS_PERF_SHM_STORE);

    (void) ngx_ws_perf_shm_take(&rs.bus, 0);
    ngx_ws_perf_shm_resume_look(&rs);

    ngx_ws_perf_shm_unlock();

    ngx_ws_perf_shm_deliver(&rs.bus);

    if (rs.kept) {
        /* what is queued and not yet sent comes again, in order, below */
        ngx_ws_perf_hub_forget_queued(sub);
    }

    if (rs.gap) {
        ngx_ws_perf_shm_resume_gap(&rs);
    }

    ngx_ws_perf_shm_resume_push(&rs);

    if (rs.more) {
        ngx_ws_perf_shm_resume_more(&rs);
    }

    ngx_ws_perf_shm_resumed(&rs);

    return NGX_OK;
}


/*
 * Under the lock: what the zone knows of the topic, whether the client
 * missed anything, and copies of the kept messages it has not seen.
 */

static void
ngx_ws_perf_shm_resume_look(ngx_ws_perf_shm_resume_t *rs)
{
    ngx_ws_perf_shm_topic_t  *t;

    t = ngx_ws_perf_shm_topic(rs->topic->target, rs->topic->name.data,
                              rs->topic->name.len, 0);

    /* an id from before this zone was made (or made anew) */
    rs->foreign = ((int64_t) rs->v[0] < ngx_ws_perf_shm->epoch);

    if (t == NULL) {
        rs->gap = 1;
        return;
    }

    rs->found = (t->last_seq != 0);
    rs->kept = (t->nkept != 0);
    rs->last_ts = t->last_ts;
    rs->last_seq = t->last_seq;
    rs->last_worker = t->last_worker;

    rs->gap = (rs->foreign || !rs->found || rs->v[2] > t->last_seq
               || t->trimmed > rs->v[2]);

    ngx_ws_perf_shm_resume_copy(rs, t);
}


/*
 * Under the lock: copies, out of the zone, of the kept messages newer
 * than since, as many as the peer's send queue has room for; rs->more
 * when it stopped short.
 */

static void
ngx_ws_perf_shm_resume_copy(ngx_ws_perf_shm_resume_t *rs,
    ngx_ws_perf_shm_topic_t *t)
{
    size_t                   size;
    ngx_queue_t             *q;
    ngx_ws_perf_msg_t        m;
    ngx_ws_perf_shm_msg_t  **slot;
    ngx_ws_perf_shm_kept_t  *k;

    size = 0;

    for (q = ngx_queue_head(&t->kept);
         q != ngx_queue_sentinel(&t->kept);
         q = ngx_queue_next(q))
    {
        k = ngx_queue_data(q, ngx_ws_perf_shm_kept_t, queue);

        if (!rs->foreign && k->msg->seq <= rs->v[2]) {
            continue;
        }

        ngx_ws_perf_shm_msg(k->msg, &m);
        size += NGX_WS_PERF_FRAME_HEADER_MAX
                + ngx_ws_perf_msg_envelope_size(&m);

        if (size > rs->room) {
            /* the rest waits for the next resume: copied no further */
            rs->more = 1;
            break;
        }

        slot = ngx_array_push(&rs->hist);
        if (slot == NULL) {
            rs->more = 1;
            break;
        }

        *slot = ngx_alloc(ngx_ws_perf_shm_msg_size(k->msg), ngx_cycle->log);
        if (*slot == NULL) {
            rs->hist.nelts--;
            rs->more = 1;
            break;
        }

        ngx_memcpy(*slot, k->msg, ngx_ws_perf_shm_msg_size(k->msg));
    }
}


/*
 * {"type":"gap",...,"since":SINCE,"last":LAST}: messages after SINCE up
 * to LAST, the newest the topic had ("0": none), are gone.
 */

static void
ngx_ws_perf_shm_resume_gap(ngx_ws_perf_shm_resume_t *rs)
{
    u_char  *p, buf[NGX_WS_PERF_NAME_MAX + 4 * 64];

    p = ngx_sprintf(buf, "{\"type\":\"gap\",\"%s\":\"%V\","
                    "\"since\":\"%V\",\"last\":\"",
                    rs->topic->target ? "user" : "channel",
                    &rs->topic->name, rs->since);

    if (rs->found) {
        p = ngx_sprintf(p, "%L-%ui-%uL\"}", rs->last_ts, rs->last_worker,
                        rs->last_seq);

    } else {
        p = ngx_cpymem(p, "0\"}", 3);
    }

    (void) ngx_ws_perf_hub_push_text(rs->peer, buf, p - buf,
                                     NGX_WS_PERF_PRIO_HIGH,
                                     rs->peer->connection->log);
}


/*
 * The copies to the peer as far as its send queue takes them, all freed;
 * rs->more when it took not all, and rs->cut_* the last one passed.
 */

static void
ngx_ws_perf_shm_resume_push(ngx_ws_perf_shm_resume_t *rs)
{
    ngx_int_t                rc;
    ngx_uint_t               i;
    ngx_ws_perf_msg_t        m;
    ngx_ws_perf_shm_msg_t  **c;

    rc = NGX_OK;
    c = rs->hist.elts;

    for (i = 0; i < rs->hist.nelts; i++) {
        ngx_ws_perf_shm_msg(c[i], &m);

        if (rc != NGX_BUSY) {
            rc = ngx_ws_perf_hub_push(rs->peer, &m, NGX_WS_PERF_PRIO_HIGH,
                                      rs->peer->connection->log);
        }

        if (rc != NGX_BUSY) {
            /* one that can never fit is passed over, as live delivery */
            rs->sent += (rc == NGX_OK);
            rs->cut_ts = c[i]->ts;
            rs->cut_seq = c[i]->seq;
            rs->cut_worker = c[i]->worker;
        }

        ngx_free(c[i]);
    }

    if (rc == NGX_BUSY) {
        rs->more = 1;
    }
}


/*
 * {"type":"gap",...,"since":CUT,"last":LAST,"more":true}: where to
 * resume from for the rest (since itself when none was passed).
 */

static void
ngx_ws_perf_shm_resume_more(ngx_ws_perf_shm_resume_t *rs)
{
    u_char  *p, buf[NGX_WS_PERF_NAME_MAX + 4 * 64];

    p = ngx_sprintf(buf, "{\"type\":\"gap\",\"%s\":\"%V\","
                    "\"since\":\"", rs->topic->target ? "user" : "channel",
                    &rs->topic->name);

    if (rs->cut_seq) {
        p = ngx_sprintf(p, "%L-%ui-%uL", rs->cut_ts, rs->cut_worker,
                        rs->cut_seq);

    } else {
        p = ngx_sprintf(p, "%V", rs->since);
    }

    p = ngx_sprintf(p, "\",\"last\":\"%L-%ui-%uL\",\"more\":true}",
                    rs->last_ts, rs->last_worker, rs->last_seq);
    (void) ngx_ws_perf_hub_push_text(rs->peer, buf, p - buf,
                                     NGX_WS_PERF_PRIO_HIGH,
                                     rs->peer->connection->log);
}


/* {"type":"resumed",...,"count":N}: the end, N of the kept ones given */

static void
ngx_ws_perf_shm_resumed(ngx_ws_perf_shm_resume_t *rs)
{
    u_char  *p, buf[NGX_WS_PERF_NAME_MAX + 64];

    p = ngx_sprintf(buf, "{\"type\":\"resumed\",\"%s\":\"%V\","
                    "\"count\":%ui}", rs->topic->target ? "user" : "channel",
                    &rs->topic->name, rs->sent);
    (void) ngx_ws_perf_hub_resumed(rs->peer, rs->topic, buf, p - buf,
                                   NGX_WS_PERF_PRIO_HIGH,
                                   rs->peer->connection->log);
}


/* {"type":"ack","id":ID} from a connection of a user, on any worker */

ngx_int_t
ngx_ws_perf_shm_ack(ngx_ws_perf_peer_t *peer, ngx_str_t *id)
{
    u_char                     *p, buf[NGX_WS_PERF_ID_MAX + 64];
    ngx_uint_t                  done;
    ngx_queue_t                *q;
    ngx_ws_perf_shm_topic_t    *t;
    ngx_ws_perf_shm_pending_t  *pd;

    done = 0;

    ngx_ws_perf_shm_lock(NGX_WS_PERF_SHM_STORE);

    t = NULL;

    if (peer->user && peer->user->len) {
        t = ngx_ws_perf_shm_topic(NGX_WS_PERF_TARGET_USER, peer->user->data,
                                  peer->user->len, 0);
    }

    for (q = t ? ngx_queue_head(&t->pending) : NULL;
         q && q != ngx_queue_sentinel(&t->pending);
         q = ngx_queue_next(q))
    {
        pd = ngx_queue_data(q, ngx_ws_perf_shm_pending_t, queue);

        if (pd->msg->id_len == id->len
            && ngx_memcmp(ngx_ws_perf_shm_msg_id(pd->msg), id->data,
                          id->len) == 0)
        {
            ngx_ws_perf_shm_unpend(pd, 1);
            ngx_ws_perf_shm_topic_unused(t);
            done = 1;
            break;
        }
    }

    ngx_ws_perf_shm_unlock();

    if (!done) {
        return ngx_ws_perf_hub_error(peer, 404, "no message with this id "
                                     "awaits an ack", 0, NULL);
    }

    p = ngx_sprintf(buf, "{\"type\":\"acked\",\"id\":\"%V\"}", id);

    return ngx_ws_perf_hub_reply(peer, buf, p - buf, peer->connection->log);
}


/* under the lock: whether n more messages may be scheduled now */

ngx_uint_t
ngx_ws_perf_shm_sched_room(ngx_uint_t n)
{
    return ngx_ws_perf_shm->nsched + n <= NGX_WS_PERF_SHM_SCHED_MAX;
}


/*
 * A message for later, kept until "at" (Unix ms); at most
 * NGX_WS_PERF_SHM_SCHED_MAX wait at a time (429 beyond).  The handler is
 * called before this returns, with the schedule id "s<N>".  NGX_OK.
 */

ngx_int_t
ngx_ws_perf_shm_schedule(ngx_ws_perf_msg_t *m, int64_t at,
    ngx_ws_perf_publish_pt handler, void *data, ngx_uint_t tag)
{
    u_char                   *p, buf[NGX_INT64_LEN + 2];
    uint64_t                  sid;
    ngx_int_t                 rc;
    ngx_str_t                 text;
    ngx_ws_perf_shm_sched_t  *s;

    ngx_ws_perf_shm_lock(NGX_WS_PERF_SHM_STORE);

    rc = NGX_OK;
    sid = 0;
    ngx_str_null(&text);

    if (ngx_ws_perf_shm->nsched >= NGX_WS_PERF_SHM_SCHED_MAX) {
        ngx_str_set(&text, "10000 messages are scheduled already: the "
                    "most local mode keeps");
        rc = NGX_HTTP_TOO_MANY_REQUESTS;
        goto done;
    }

    s = ngx_ws_perf_shm_alloc(sizeof(ngx_ws_perf_shm_sched_t));
    if (s == NULL) {
        text = *ngx_ws_perf_shm_full();
        rc = NGX_HTTP_INSUFFICIENT_STORAGE;
        goto done;
    }

    /* a publisher's id goes with it; the zone's comes at the release */
    s->msg = ngx_ws_perf_shm_copy(m, 0);

    if (s->msg == NULL) {
        ngx_ws_perf_shm_free(s);
        text = *ngx_ws_perf_shm_full();
        rc = NGX_HTTP_INSUFFICIENT_STORAGE;
        goto done;
    }

    s->sid = ++ngx_ws_perf_shm->sid;
    s->node.key = at > 0 ? at : 0;
    sid = s->sid;

    ngx_rbtree_insert(&ngx_ws_perf_shm->sched, &s->node);
    ngx_ws_perf_shm->nsched++;

done:

    ngx_ws_perf_shm_unlock();

    if (rc != NGX_OK) {
        handler(data, tag, rc, &text);
        return NGX_OK;
    }

    ngx_ws_perf_metrics_scheduled(1);

    p = ngx_sprintf(buf, "s%uL", sid);
    text.data = buf;
    text.len = p - buf;

    handler(data, tag, NGX_OK, &text);

    ngx_ws_perf_shm_drain();

    return NGX_OK;
}


/* DELETE ?schedule=ID */

ngx_int_t
ngx_ws_perf_shm_cancel(ngx_http_request_t *r, ngx_str_t *id)
{
    uint64_t                  sid;
    ngx_str_t                 s;
    ngx_uint_t                done;
    ngx_rbtree_node_t        *node;
    ngx_ws_perf_shm_sched_t  *sc;

    s.data = id->data + 1;
    s.len = id->len ? id->len - 1 : 0;
    done = 0;

    if (id->len > 1 && id->data[0] == 's'
        && ngx_ws_perf_shm_parse_id(&s, &sid, 1) == NGX_OK)
    {
        ngx_ws_perf_shm_lock(NGX_WS_PERF_SHM_STORE);

        for (node = ngx_ws_perf_shm->sched.root == &ngx_ws_perf_shm->sched_s
                    ? NULL
                    : ngx_rbtree_min(ngx_ws_perf_shm->sched.root,
                                     &ngx_ws_perf_shm->sched_s);
             node;
             node = ngx_rbtree_next(&ngx_ws_perf_shm->sched, node))
        {
            sc = (ngx_ws_perf_shm_sched_t *) node;

            if (sc->sid != sid) {
                continue;
            }

            ngx_rbtree_delete(&ngx_ws_perf_shm->sched, node);
            ngx_ws_perf_shm->nsched--;
            ngx_ws_perf_shm_unref(sc->msg);
            ngx_ws_perf_shm_free(sc);
            done = 1;
            break;
        }

        ngx_ws_perf_shm_unlock();
    }

    if (done) {
        ngx_ws_perf_metrics_scheduled(-1);
        return ngx_ws_perf_send_json(r, NGX_HTTP_OK, "{\"cancelled\":1}");
    }

    return ngx_ws_perf_send_json(r, NGX_HTTP_NOT_FOUND,
                                 "{\"error\":\"no scheduled message has "
                                 "this id\"}");
}


/*
 * Under the lock, from a worker's timer: redeliveries, releases and
 * expiries that are due.  Returns when the next is due (Unix ms, 0: none).
 */

int64_t
ngx_ws_perf_shm_store_tick(int64_t now)
{
    int64_t                   next, at;
    ngx_ws_perf_main_conf_t  *wmcf;
    ngx_ws_perf_shm_topic_t  *t;

    ngx_ws_perf_shm_release(now);
    ngx_ws_perf_shm_redeliver(now);
    ngx_ws_perf_shm_sweep(now);

    next = 0;

    if (ngx_ws_perf_shm->due.root != &ngx_ws_perf_shm->due_s) {
        next = ngx_rbtree_min(ngx_ws_perf_shm->due.root,
                              &ngx_ws_perf_shm->due_s)->key;
    }

    if (ngx_ws_perf_shm->sched.root != &ngx_ws_perf_shm->sched_s) {
        at = ngx_rbtree_min(ngx_ws_perf_shm->sched.root,
                            &ngx_ws_perf_shm->sched_s)->key;
        next = (next == 0 || at < next) ? at : next;
    }

    if (!ngx_queue_empty(&ngx_ws_perf_shm->lru)) {
        wmcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                                   ngx_ws_perf_module);
        t = ngx_queue_data(ngx_queue_head(&ngx_ws_perf_shm->lru),
                           ngx_ws_perf_shm_topic_t, lru);
        at = t->used + wmcf->offline_ttl;
        next = (next == 0 || at < next) ? at : next;
    }

    return next;
}


/*
 * The due messages that wait for an ack go on the bus again, highest
 * priority first, to whichever worker holds the user's connections.
 */

static void
ngx_ws_perf_shm_redeliver(int64_t now)
{
    ngx_uint_t                  i, n, sent, dead, reason;
    ngx_ws_perf_main_conf_t    *wmcf;
    ngx_ws_perf_shm_pending_t  *due[NGX_WS_PERF_SHM_BATCH], *pd;

    n = ngx_ws_perf_shm_take_due(now, due);

    if (n == 0) {
        return;
    }

    ngx_sort(due, n, sizeof(ngx_ws_perf_shm_pending_t *),
             ngx_ws_perf_shm_prio_cmp);

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
            sent += ngx_ws_perf_shm_retry(pd, now, wmcf->ack_timeout);
            continue;
        }

        ngx_ws_perf_shm_bury(pd->msg, reason, pd->tries, pd->first, now);
        ngx_ws_perf_shm_unpend(pd, 0);
        dead++;
    }

    ngx_ws_perf_metrics_add(redelivered, sent);
    ngx_ws_perf_metrics_add(dead_lettered, dead);

    if (dead) {
        ngx_log_error(NGX_LOG_INFO, ngx_cycle->log, 0,
                      "ws_perf: %ui messages dead-lettered", dead);
    }
}


/* the waits for an ack that are due (a batch at most), out of the tree */

static ngx_uint_t
ngx_ws_perf_shm_take_due(int64_t now, ngx_ws_perf_shm_pending_t **due)
{
    ngx_uint_t          n;
    ngx_rbtree_node_t  *node;

    n = 0;

    while (n < NGX_WS_PERF_SHM_BATCH
           && ngx_ws_perf_shm->due.root != &ngx_ws_perf_shm->due_s)
    {
        node = ngx_rbtree_min(ngx_ws_perf_shm->due.root,
                              &ngx_ws_perf_shm->due_s);

        if ((int64_t) node->key > now) {
            break;
        }

        ngx_rbtree_delete(&ngx_ws_perf_shm->due, node);
        due[n++] = (ngx_ws_perf_shm_pending_t *) node;
    }

    return n;
}


/*
 * pd on the bus again if its user has a connection, and back in the due
 * tree: after ack_timeout, doubled with each attempt.  Returns 1 when an
 * attempt went on the bus.
 */

static ngx_uint_t
ngx_ws_perf_shm_retry(ngx_ws_perf_shm_pending_t *pd, int64_t now,
    ngx_msec_t ack_timeout)
{
    ngx_uint_t  sent, shift, workers;

    sent = 0;
    pd->node.key = now + ack_timeout;

    /* an attempt counts when the user had a connection to get it */
    if (ngx_ws_perf_shm_present(pd->topic, &workers)) {

        if (ngx_ws_perf_shm_bus_add(pd->msg) != NGX_OK) {
            /* the bus is full: again in a moment */
            pd->node.key = now + 100;
            ngx_rbtree_insert(&ngx_ws_perf_shm->due, &pd->node);
            return 0;
        }

        pd->tries++;
        shift = ngx_min(pd->tries - 1, 6);
        pd->node.key = now + ack_timeout * ((ngx_uint_t) 1 << shift);
        sent = 1;
    }

    ngx_rbtree_insert(&ngx_ws_perf_shm->due, &pd->node);

    return sent;
}


/* the scheduled messages that are due go out, highest priority first */

static void
ngx_ws_perf_shm_release(int64_t now)
{
    u_char                    idbuf[NGX_WS_PERF_ID_MAX];
    ngx_int_t                 rc;
    ngx_str_t                 reason;
    ngx_uint_t                i, n;
    ngx_rbtree_node_t        *node;
    ngx_ws_perf_msg_t         m;
    ngx_ws_perf_shm_sched_t  *due[NGX_WS_PERF_SHM_BATCH], *s;

    n = 0;

    while (n < NGX_WS_PERF_SHM_BATCH
           && ngx_ws_perf_shm->sched.root != &ngx_ws_perf_shm->sched_s)
    {
        node = ngx_rbtree_min(ngx_ws_perf_shm->sched.root,
                              &ngx_ws_perf_shm->sched_s);

        if ((int64_t) node->key > now) {
            break;
        }

        ngx_rbtree_delete(&ngx_ws_perf_shm->sched, node);
        ngx_ws_perf_shm->nsched--;
        due[n++] = (ngx_ws_perf_shm_sched_t *) node;
    }

    if (n == 0) {
        return;
    }

    ngx_sort(due, n, sizeof(ngx_ws_perf_shm_sched_t *),
             ngx_ws_perf_shm_sched_cmp);

    for (i = 0; i < n; i++) {
        s = due[i];

        ngx_ws_perf_shm_msg(s->msg, &m);

        rc = ngx_ws_perf_shm_post(&m, idbuf, &reason);

        if (rc == NGX_OK) {
            ngx_ws_perf_metrics_inc(published);

        } else {
            s->msg->ts = now;
            ngx_ws_perf_shm_bury(s->msg, NGX_WS_PERF_DEAD_UNDELIVERABLE,
                                 0, now, now);
        }

        ngx_ws_perf_metrics_scheduled(-1);
        ngx_ws_perf_shm_unref(s->msg);
        ngx_ws_perf_shm_free(s);
    }
}


/* inboxes and histories without a new message for ws_perf_offline_ttl */

static void
ngx_ws_perf_shm_sweep(int64_t now)
{
    ngx_queue_t              *q;
    ngx_ws_perf_main_conf_t  *wmcf;
    ngx_ws_perf_shm_topic_t  *t;

    wmcf = ngx_http_cycle_get_module_main_conf(ngx_cycle, ngx_ws_perf_module);

    while (!ngx_queue_empty(&ngx_ws_perf_shm->lru)) {
        q = ngx_queue_head(&ngx_ws_perf_shm->lru);
        t = ngx_queue_data(q, ngx_ws_perf_shm_topic_t, lru);

        if (t->used + (int64_t) wmcf->offline_ttl > now) {
            break;
        }

        if (t->npending == 0 && ngx_queue_empty(&t->present)) {
            ngx_ws_perf_shm_free_topic(t);
            continue;
        }

        /* the messages waiting for acks expire on their own */
        ngx_ws_perf_shm_drop_kept(t, 0);
        t->used = now;
        ngx_queue_remove(q);
        ngx_queue_insert_tail(&ngx_ws_perf_shm->lru, q);
    }
}


static void
ngx_ws_perf_shm_bury(ngx_ws_perf_shm_msg_t *c, ngx_uint_t reason,
    ngx_uint_t attempts, int64_t first, int64_t now)
{
    ngx_uint_t                i;
    ngx_queue_t              *q;
    ngx_ws_perf_shm_t        *sh;
    ngx_ws_perf_shm_dead_t   *d;
    ngx_ws_perf_main_conf_t  *wmcf;

    sh = ngx_ws_perf_shm;
    wmcf = ngx_http_cycle_get_module_main_conf(ngx_cycle, ngx_ws_perf_module);

    d = ngx_ws_perf_shm_alloc(sizeof(ngx_ws_perf_shm_dead_t));

    if (d == NULL && !ngx_queue_empty(&sh->dead)) {
        /* a full zone lets the oldest dead letter go for the newest */
        q = ngx_queue_head(&sh->dead);
        ngx_ws_perf_shm_drop_dead(ngx_queue_data(q, ngx_ws_perf_shm_dead_t,
                                                 queue));
        d = ngx_ws_perf_shm_alloc(sizeof(ngx_ws_perf_shm_dead_t));
    }

    if (d == NULL) {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "ws_perf: no room in ws_perf_shm_zone for a dead "
                      "letter (%s): the message is lost",
                      ngx_ws_perf_shm_reasons[reason]);
        return;
    }

    d->n = sh->dead_n++;
    d->ms = now;
    d->reason = reason;
    d->attempts = attempts;
    d->first = first;
    d->last = now;
    d->msg = c;
    c->refs++;

    ngx_queue_insert_tail(&sh->dead, &d->queue);
    sh->ndead++;

    for (i = 0; i < sh->norder; i++) {
        if (sh->order[i] == reason) {
            break;
        }
    }

    if (i == sh->norder) {
        sh->order[sh->norder++] = reason;
    }

    sh->counts[reason]++;

    while (sh->ndead > wmcf->dlq_max) {
        q = ngx_queue_head(&sh->dead);
        ngx_ws_perf_shm_drop_dead(ngx_queue_data(q, ngx_ws_perf_shm_dead_t,
                                                 queue));
    }
}


static void
ngx_ws_perf_shm_drop_dead(ngx_ws_perf_shm_dead_t *d)
{
    ngx_queue_remove(&d->queue);
    ngx_ws_perf_shm_unref(d->msg);
    ngx_ws_perf_shm_free(d);
    ngx_ws_perf_shm->ndead--;
}


static ngx_int_t
ngx_ws_perf_shm_prio_cmp(const void *a, const void *b)
{
    ngx_ws_perf_shm_pending_t  *x, *y;

    x = *(ngx_ws_perf_shm_pending_t **) a;
    y = *(ngx_ws_perf_shm_pending_t **) b;

    return (ngx_int_t) x->msg->priority - (ngx_int_t) y->msg->priority;
}


/* priority, then due time, then the order they were scheduled */

static ngx_int_t
ngx_ws_perf_shm_sched_cmp(const void *a, const void *b)
{
    ngx_ws_perf_shm_sched_t  *x, *y;

    x = *(ngx_ws_perf_shm_sched_t **) a;
    y = *(ngx_ws_perf_shm_sched_t **) b;

    if (x->msg->priority != y->msg->priority) {
        return (ngx_int_t) x->msg->priority - (ngx_int_t) y->msg->priority;
    }

    if (x->node.key != y->node.key) {
        return x->node.key < y->node.key ? -1 : 1;
    }

    return x->sid < y->sid ? -1 : (x->sid > y->sid);
}


static ngx_int_t
ngx_ws_perf_shm_dead_cmp(const void *a, const void *b)
{
    ngx_ws_perf_shm_dead_t  *x, *y;

    x = *(ngx_ws_perf_shm_dead_t **) a;
    y = *(ngx_ws_perf_shm_dead_t **) b;

    if (x->msg->priority != y->msg->priority) {
        return (ngx_int_t) x->msg->priority - (ngx_int_t) y->msg->priority;
    }

    return x->n < y->n ? -1 : (x->n > y->n);
}


static ngx_ws_perf_shm_dead_t *
ngx_ws_perf_shm_find_dead(ngx_str_t *id)
{
    uint64_t                 v[2];
    ngx_queue_t             *q;
    ngx_ws_perf_shm_dead_t  *d;

    if (ngx_ws_perf_shm_parse_id(id, v, 2) != NGX_OK) {
        return NULL;
    }

    for (q = ngx_queue_head(&ngx_ws_perf_shm->dead);
         q != ngx_queue_sentinel(&ngx_ws_perf_shm->dead);
         q = ngx_queue_next(q))
    {
        d = ngx_queue_data(q, ngx_ws_perf_shm_dead_t, queue);

        if (d->n == v[1] && (uint64_t) d->ms == v[0]) {
            return d;
        }
    }

    return NULL;
}


/* {"next":ID|null,"counts":{REASON:N,...},"entries":[{...}]} */

ngx_int_t
ngx_ws_perf_shm_dlq_list(ngx_http_request_t *r, ngx_ws_perf_dlq_query_t *qr)
{
    u_char                   *p, *buf;
    size_t                    len;
    uint64_t                  v[2], *after;
    ngx_uint_t                n;
    ngx_ws_perf_shm_dead_t  **out;

    after = NULL;

    if (qr->after.len) {
        if (ngx_ws_perf_shm_parse_id(&qr->after, v, 2) != NGX_OK) {
            return ngx_ws_perf_send_json(r, NGX_HTTP_BAD_REQUEST,
                       "{\"error\":\"after must be the id of a dead "
                       "letter\"}");
        }

        after = &v[1];
    }

    out = ngx_palloc(r->pool, qr->count * sizeof(ngx_ws_perf_shm_dead_t *));
    if (out == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    len = sizeof("{\"next\":null,\"counts\":{},\"entries\":[]}" CRLF)
          + 2 * NGX_INT64_LEN + 4 + 3 * (32 + NGX_INT64_LEN);

    ngx_ws_perf_shm_lock(NGX_WS_PERF_SHM_DLQ);

    n = ngx_ws_perf_shm_dlq_select(qr, after, out, &len);

    buf = ngx_pnalloc(r->pool, len);
    if (buf == NULL) {
        ngx_ws_perf_shm_unlock();
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_ws_perf_shm_dlq_write(buf, out, n, qr->count);

    ngx_ws_perf_shm_unlock();

    p = ngx_cpymem(p, "]}" CRLF, 4);

    return ngx_ws_perf_send_response(r, NGX_HTTP_OK, "application/json", buf,
                                     p - buf);
}


/*
 * Under the lock: the first qr->count dead letters after the one
 * numbered *after (when given) that match the query, into out; *len
 * grows by what their entries take.  Returns how many.
 */

static ngx_uint_t
ngx_ws_perf_shm_dlq_select(ngx_ws_perf_dlq_query_t *qr, uint64_t *after,
    ngx_ws_perf_shm_dead_t **out, size_t *len)
{
    ngx_uint_t               n;
    ngx_queue_t             *q;
    ngx_ws_perf_shm_dead_t  *d;

    n = 0;

    for (q = ngx_queue_head(&ngx_ws_perf_shm->dead);
         q != ngx_queue_sentinel(&ngx_ws_perf_shm->dead) && n < qr->count;
         q = ngx_queue_next(q))
    {
        d = ngx_queue_data(q, ngx_ws_perf_shm_dead_t, queue);

        if ((after && d->n <= *after) || !ngx_ws_perf_shm_dlq_match(d, qr)) {
            continue;
        }

        out[n++] = d;
        *len += ngx_ws_perf_shm_entry_size(d) + 1;
    }

    return n;
}


/* whether d has the reason and the target the query asks for, if any */

static ngx_uint_t
ngx_ws_perf_shm_dlq_match(ngx_ws_perf_shm_dead_t *d,
    ngx_ws_perf_dlq_query_t *qr)
{
    char    *name;
    u_char  *p, tbuf[NGX_WS_PERF_NAME_MAX + 3];

    name = ngx_ws_perf_shm_reasons[d->reason];

    if (qr->reason.len
        && (ngx_strlen(name) != qr->reason.len
            || ngx_strncmp(qr->reason.data, name, qr->reason.len) != 0))
    {
        return 0;
    }

    if (qr->target.len == 0) {
        return 1;
    }

    p = ngx_sprintf(tbuf, "%s:%*s", d->msg->target ? "u" : "ch",
                    ngx_min(d->msg->name_len, NGX_WS_PERF_NAME_MAX),
                    ngx_ws_perf_shm_msg_name(d->msg));

    return (size_t) (p - tbuf) == qr->target.len
           && ngx_memcmp(tbuf, qr->target.data, qr->target.len) == 0;
}


/*
 * Under the lock: {"next":ID|null,"counts":{...},"entries":[ENTRY,...
 * into p, the closing "]}" left to the caller; next when the page is
 * full (count entries).
 */

static u_char *
ngx_ws_perf_shm_dlq_write(u_char *p, ngx_ws_perf_shm_dead_t **out,
    ngx_uint_t n, ngx_uint_t count)
{
    ngx_uint_t          i;
    ngx_ws_perf_shm_t  *sh;

    sh = ngx_ws_perf_shm;

    if (n == count) {
        p = ngx_sprintf(p, "{\"next\":\"%L-%uL\"", out[n - 1]->ms,
                        out[n - 1]->n);

    } else {
        p = ngx_cpymem(p, "{\"next\":null", 12);
    }

    p = ngx_cpymem(p, ",\"counts\":{", 11);

    for (i = 0; i < sh->norder; i++) {
        p = ngx_sprintf(p, "%s\"%s\":%uL", i ? "," : "",
                        ngx_ws_perf_shm_reasons[sh->order[i]],
                        sh->counts[sh->order[i]]);
    }

    p = ngx_cpymem(p, "},\"entries\":[", 13);

    for (i = 0; i < n; i++) {
        if (i) {
            *p++ = ',';
        }

        p = ngx_ws_perf_shm_entry(p, out[i]);
    }

    return p;
}


ngx_int_t
ngx_ws_perf_shm_dlq_get(ngx_http_request_t *r, ngx_str_t *id)
{
    u_char                  *p, *buf;
    ngx_ws_perf_shm_dead_t  *d;

    buf = NULL;
    p = NULL;

    ngx_ws_perf_shm_lock(NGX_WS_PERF_SHM_DLQ);

    d = ngx_ws_perf_shm_find_dead(id);

    if (d) {
        buf = ngx_pnalloc(r->pool, ngx_ws_perf_shm_entry_size(d) + 2);

        if (buf) {
            p = ngx_ws_perf_shm_entry(buf, d);
            *p++ = CR; *p++ = LF;
        }
    }

    ngx_ws_perf_shm_unlock();

    if (d == NULL) {
        return ngx_ws_perf_send_json(r, NGX_HTTP_NOT_FOUND,
                                     "{\"error\":\"no dead letter has "
                                     "this id\"}");
    }

    if (buf == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_ws_perf_send_response(r, NGX_HTTP_OK, "application/json", buf,
                                     p - buf);
}


/*
 * ?replay=ID|all: published again with their ids, attempts from zero,
 * highest priority first, oldest first within one; an entry that cannot
 * be published (its user is at ws_perf_max_pending_acks) is kept.  All
 * under one lock: no other worker sees half a replay.
 */

ngx_int_t
ngx_ws_perf_shm_dlq_replay(ngx_http_request_t *r, ngx_str_t *id)
{
    ngx_uint_t                i, n, replayed;
    ngx_ws_perf_shm_dead_t  **list;
    ngx_ws_perf_shm_replay_t  rp;

    ngx_str_null(&rp.why);
    replayed = 0;

    ngx_ws_perf_shm_lock(NGX_WS_PERF_SHM_DLQ);

    list = ngx_palloc(r->pool, (ngx_ws_perf_shm->ndead + 1)
                               * sizeof(ngx_ws_perf_shm_dead_t *));
    if (list == NULL) {
        ngx_ws_perf_shm_unlock();
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    n = ngx_ws_perf_shm_dlq_pick(id, list);

    ngx_sort(list, n, sizeof(ngx_ws_perf_shm_dead_t *),
             ngx_ws_perf_shm_dead_cmp);

    for (i = 0; i < n; i++) {
        if (ngx_ws_perf_shm_replay_one(list[i], &rp) == NGX_OK) {
            replayed++;
        }
    }

    ngx_ws_perf_shm_unlock();

    ngx_ws_perf_shm_wake();
    ngx_ws_perf_shm_drain();

    return ngx_ws_perf_dlq_replayed(r, replayed, n - replayed,
                                    rp.why.len ? &rp.why : NULL);
}


/* under the lock: the dead letters id ("all", or one's) names; how many */

static ngx_uint_t
ngx_ws_perf_shm_dlq_pick(ngx_str_t *id, ngx_ws_perf_shm_dead_t **list)
{
    ngx_uint_t    n;
    ngx_queue_t  *q;

    if (id->len != 3 || ngx_strncmp(id->data, "all", 3) != 0) {
        list[0] = ngx_ws_perf_shm_find_dead(id);
        return list[0] ? 1 : 0;
    }

    n = 0;

    for (q = ngx_queue_head(&ngx_ws_perf_shm->dead);
         q != ngx_queue_sentinel(&ngx_ws_perf_shm->dead);
         q = ngx_queue_next(q))
    {
        list[n++] = ngx_queue_data(q, ngx_ws_perf_shm_dead_t, queue);
    }

    return n;
}


/*
 * Under the lock: d published again and let go.  NGX_OK; NGX_DECLINED:
 * it could not be and is kept, rp->why says why if it was the first
 * one the user's ack waits refused.
 */

static ngx_int_t
ngx_ws_perf_shm_replay_one(ngx_ws_perf_shm_dead_t *d,
    ngx_ws_perf_shm_replay_t *rp)
{
    u_char                      idbuf[NGX_WS_PERF_ID_MAX];
    ngx_int_t                   rc;
    ngx_str_t                   reason;
    ngx_queue_t                *prev;
    ngx_ws_perf_msg_t           m;
    ngx_ws_perf_shm_pending_t  *pd;

    /* whatever still waits for an ack under this id is replaced */
    pd = ngx_ws_perf_shm_detach(d->msg, &prev);

    ngx_ws_perf_shm_msg(d->msg, &m);

    rc = ngx_ws_perf_shm_post(&m, idbuf, &reason);

    if (rc != NGX_OK) {
        if (pd) {
            ngx_ws_perf_shm_reattach(pd, prev);
        }

        if (rc == NGX_HTTP_TOO_MANY_REQUESTS && rp->why.len == 0) {
            rp->why.len = ngx_min(reason.len, sizeof(rp->text));
            rp->why.data = rp->text;
            ngx_memcpy(rp->text, reason.data, rp->why.len);
        }

        return NGX_DECLINED;
    }

    ngx_ws_perf_metrics_inc(published);

    if (pd) {
        ngx_ws_perf_shm_unref(pd->msg);
        ngx_ws_perf_shm_free(pd);
    }

    ngx_ws_perf_shm_drop_dead(d);

    return NGX_OK;
}


/*
 * Takes a user's message waiting for an ack under c's id out of its
 * topic and of the due tree, for ngx_ws_perf_shm_reattach() to put it
 * back where it was; NULL when none waits.
 */

static ngx_ws_perf_shm_pending_t *
ngx_ws_perf_shm_detach(ngx_ws_perf_shm_msg_t *c, ngx_queue_t **prev)
{
    ngx_queue_t                *q;
    ngx_ws_perf_shm_topic_t    *t;
    ngx_ws_perf_shm_pending_t  *pd;

    if (c->id_len == 0) {
        return NULL;
    }

    t = ngx_ws_perf_shm_topic(c->target, ngx_ws_perf_shm_msg_name(c),
                              c->name_len, 0);

    for (q = t ? ngx_queue_head(&t->pending) : NULL;
         q && q != ngx_queue_sentinel(&t->pending);
         q = ngx_queue_next(q))
    {
        pd = ngx_queue_data(q, ngx_ws_perf_shm_pending_t, queue);

        if (pd->msg->id_len == c->id_len
            && ngx_memcmp(ngx_ws_perf_shm_msg_id(pd->msg),
                          ngx_ws_perf_shm_msg_id(c), c->id_len) == 0)
        {
            *prev = ngx_queue_prev(q);
            ngx_queue_remove(q);
            ngx_rbtree_delete(&ngx_ws_perf_shm->due, &pd->node);
            t->npending--;
            return pd;
        }
    }

    return NULL;
}


static void
ngx_ws_perf_shm_reattach(ngx_ws_perf_shm_pending_t *pd, ngx_queue_t *prev)
{
    ngx_queue_insert_after(prev, &pd->queue);
    ngx_rbtree_insert(&ngx_ws_perf_shm->due, &pd->node);
    pd->topic->npending++;
}


ngx_int_t
ngx_ws_perf_shm_dlq_delete(ngx_http_request_t *r, ngx_str_t *id)
{
    ngx_uint_t               n;
    ngx_queue_t             *q;
    ngx_ws_perf_shm_dead_t  *d;

    n = 0;

    ngx_ws_perf_shm_lock(NGX_WS_PERF_SHM_DLQ);

    if (id->len == 3 && ngx_strncmp(id->data, "all", 3) == 0) {
        while (!ngx_queue_empty(&ngx_ws_perf_shm->dead)) {
            q = ngx_queue_head(&ngx_ws_perf_shm->dead);
            ngx_ws_perf_shm_drop_dead(ngx_queue_data(q,
                                          ngx_ws_perf_shm_dead_t, queue));
            n++;
        }

    } else {
        d = ngx_ws_perf_shm_find_dead(id);

        if (d) {
            ngx_ws_perf_shm_drop_dead(d);
            n = 1;
        }
    }

    ngx_ws_perf_shm_unlock();

    return ngx_ws_perf_send_json(r, n ? NGX_HTTP_OK : NGX_HTTP_NOT_FOUND,
                                 "{\"deleted\":%ui}", n);
}


static size_t
ngx_ws_perf_shm_entry_size(ngx_ws_perf_shm_dead_t *d)
{
    ngx_ws_perf_msg_t  m;

    ngx_ws_perf_shm_msg(d->msg, &m);

    if (m.id == NULL) {
        m.id_len = 1;
    }

    return sizeof("{\"dlq_id\":\"-\",\"id\":\"\",\"target\":\"ch:\","
                  "\"reason\":\"undeliverable\",\"attempts\":,\"first\":,"
                  "\"last\":,\"message\":}")
           + 4 * NGX_INT64_LEN + d->msg->name_len
           + ngx_ws_perf_json_escape_size(ngx_ws_perf_shm_msg_id(d->msg),
                                          d->msg->id_len)
           + ngx_ws_perf_msg_envelope_size(&m);
}


/*
 * {"dlq_id":..,"id":..,"target":"u:NAME","reason":..,"attempts":N,
 * "first":MS,"last":MS,"message":{the envelope a subscriber got}}
 */

static u_char *
ngx_ws_perf_shm_entry(u_char *p, ngx_ws_perf_shm_dead_t *d)
{
    ngx_ws_perf_msg_t  m;

    ngx_ws_perf_shm_msg(d->msg, &m);

    if (m.id == NULL) {
        m.id = (u_char *) "-";
        m.id_len = 1;
    }

    p = ngx_sprintf(p, "{\"dlq_id\":\"%L-%uL\",\"id\":\"", d->ms, d->n);
    p = ngx_ws_perf_json_escape(p, ngx_ws_perf_shm_msg_id(d->msg),
                                d->msg->id_len);
    p = ngx_sprintf(p, "\",\"target\":\"%s:%*s\",\"reason\":\"%s\","
                    "\"attempts\":%ui,\"first\":%L,\"last\":%L,"
                    "\"message\":", d->msg->target ? "u" : "ch",
                    d->msg->name_len, ngx_ws_perf_shm_msg_name(d->msg),
                    ngx_ws_perf_shm_reasons[d->reason], d->attempts,
                    d->first, d->last);
    p = ngx_ws_perf_msg_envelope(&m, p);
    *p++ = '}';

    return p;
}
