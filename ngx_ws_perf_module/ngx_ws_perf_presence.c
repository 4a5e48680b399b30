
/*
 * Copyright (C) ngx_ws_perf_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include "ngx_ws_perf_frame.h"
#include "ngx_ws_perf_presence.h"
#include "ngx_ws_perf_metrics.h"


/*
 * Each worker counts the connections of presence locations per channel
 * and user; the engine hears of a user's first and last one here and
 * decides, across workers and nodes, whether the user joined or left.
 * The events it brings back reach the channel's presence subscribers at
 * low priority, at most ws_perf_presence_rate a second per channel (a
 * token bucket of one second); above that a channel gets its member
 * count once a second instead, until a second passes with no event held.
 */


#define NGX_WS_PERF_PRESENCE_TICK  1000

/* {"type":"leave","channel":"<128>","user":"<128>","count":<20>} */
#define NGX_WS_PERF_PRESENCE_TEXT_MAX                                       \
    (sizeof("{\"type\":\"presence\",\"channel\":\"\",\"user\":\"\","        \
            "\"count\":}") + 2 * NGX_WS_PERF_NAME_MAX + NGX_INT64_LEN)


static ngx_ws_perf_presence_t *ngx_ws_perf_presence_get(
    ngx_ws_perf_topic_t *topic, ngx_log_t *log);
static ngx_ws_perf_member_t *ngx_ws_perf_presence_member(
    ngx_ws_perf_presence_t *p, ngx_str_t *user);
static void ngx_ws_perf_presence_unused(ngx_ws_perf_topic_t *topic);
static ngx_uint_t ngx_ws_perf_presence_take(ngx_ws_perf_presence_t *p);
static void ngx_ws_perf_presence_hold(ngx_ws_perf_presence_t *p);
static void ngx_ws_perf_presence_send(ngx_ws_perf_topic_t *topic,
    u_char *text, size_t len, ngx_log_t *log);
static void ngx_ws_perf_presence_tick(ngx_event_t *ev);


ngx_ws_perf_presence_hook_pt  ngx_ws_perf_presence_hook;

static ngx_uint_t             ngx_ws_perf_presence_rate;
static ngx_queue_t            ngx_ws_perf_presence_over;
static ngx_queue_t            ngx_ws_perf_presence_all;
static ngx_event_t            ngx_ws_perf_presence_timer;
static ngx_connection_t       ngx_ws_perf_presence_dumb;

static const char  *ngx_ws_perf_presence_kinds[] = {
    "presence", "join", "leave"
};


void
ngx_ws_perf_presence_init(ngx_cycle_t *cycle, ngx_uint_t rate)
{
    ngx_ws_perf_presence_rate = rate;
    ngx_queue_init(&ngx_ws_perf_presence_over);
    ngx_queue_init(&ngx_ws_perf_presence_all);

    ngx_ws_perf_presence_dumb.fd = (ngx_socket_t) -1;

    ngx_ws_perf_presence_timer.handler = ngx_ws_perf_presence_tick;
    ngx_ws_perf_presence_timer.data = &ngx_ws_perf_presence_dumb;
    ngx_ws_perf_presence_timer.log = cycle->log;
    ngx_ws_perf_presence_timer.cancelable = 1;
}


/* a presence peer subscribed to a channel: a listener, a member if a user */

void
ngx_ws_perf_presence_add(ngx_ws_perf_peer_t *peer, ngx_ws_perf_topic_t *topic,
    ngx_log_t *log)
{
    size_t                   len;
    ngx_str_t               *user;
    ngx_ws_perf_member_t    *m;
    ngx_ws_perf_presence_t  *p;

    if (!peer->presence || topic->target != NGX_WS_PERF_TARGET_CHANNEL) {
        return;
    }

    p = ngx_ws_perf_presence_get(topic, log);
    if (p == NULL) {
        return;
    }

    p->listeners += !peer->raw;

    user = peer->user;

    if (user == NULL || user->len == 0) {
        return;
    }

    m = ngx_ws_perf_presence_member(p, user);

    if (m) {
        m->n++;
        return;
    }

    len = ngx_min(user->len, NGX_WS_PERF_NAME_MAX);

    m = ngx_alloc(sizeof(ngx_ws_perf_member_t) + len, log);
    if (m == NULL) {
        return;
    }

    m->sn.str.data = (u_char *) (m + 1);
    m->sn.str.len = len;
    ngx_memcpy(m->sn.str.data, user->data, len);
    m->sn.node.key = ngx_crc32_short(m->sn.str.data, len);
    m->n = 1;

    ngx_rbtree_insert(&p->members, &m->sn.node);
    p->nmembers++;
    ngx_ws_perf_metrics_inc(presence_members);

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, log, 0,
                   "ws_perf presence: \"%V\" here on \"%V\"", user,
                   &topic->name);

    if (ngx_ws_perf_presence_hook) {
        ngx_ws_perf_presence_hook(&topic->name, &m->sn.str, 1);
    }
}


/* the peer's subscription to the channel goes */

void
ngx_ws_perf_presence_del(ngx_ws_perf_peer_t *peer, ngx_ws_perf_topic_t *topic)
{
    ngx_str_t               *user;
    ngx_ws_perf_member_t    *m;
    ngx_ws_perf_presence_t  *p;

    p = topic->presence;

    if (p == NULL || !peer->presence) {
        return;
    }

    if (!peer->raw && p->listeners) {
        p->listeners--;
    }

    user = peer->user;

    m = (user && user->len) ? ngx_ws_perf_presence_member(p, user) : NULL;

    if (m && --m->n == 0) {
        ngx_rbtree_delete(&p->members, &m->sn.node);
        p->nmembers--;
        ngx_ws_perf_metrics_add(presence_members, -1);

        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                       "ws_perf presence: \"%V\" gone from \"%V\"", user,
                       &topic->name);

        if (ngx_ws_perf_presence_hook) {
            ngx_ws_perf_presence_hook(&topic->name, &m->sn.str, 0);
        }

        ngx_free(m);
    }

    ngx_ws_perf_presence_unused(topic);
}


/* the topic goes: whatever presence it had goes with it */

void
ngx_ws_perf_presence_free(ngx_ws_perf_topic_t *topic)
{
    ngx_rbtree_node_t       *node;
    ngx_ws_perf_presence_t  *p;

    p = topic->presence;

    if (p == NULL) {
        return;
    }

    while (p->members.root != p->members.sentinel) {
        node = ngx_rbtree_min(p->members.root, p->members.sentinel);
        ngx_rbtree_delete(&p->members, node);
        ngx_ws_perf_metrics_add(presence_members, -1);
        ngx_free(node);
    }

    if (p->over) {
        ngx_queue_remove(&p->queue);
    }

    ngx_queue_remove(&p->all);
    ngx_free(p);
    topic->presence = NULL;
}


static ngx_ws_perf_presence_t *
ngx_ws_perf_presence_get(ngx_ws_perf_topic_t *topic, ngx_log_t *log)
{
    ngx_ws_perf_presence_t  *p;

    if (topic->presence) {
        return topic->presence;
    }

    p = ngx_calloc(sizeof(ngx_ws_perf_presence_t), log);
    if (p == NULL) {
        return NULL;
    }

    ngx_rbtree_init(&p->members, &p->sentinel, ngx_str_rbtree_insert_value);
    p->tokens = 1000 * ngx_ws_perf_presence_rate;
    p->refilled = ngx_current_msec;
    p->topic = topic;

    ngx_queue_insert_tail(&ngx_ws_perf_presence_all, &p->all);
    topic->presence = p;

    return p;
}


static ngx_ws_perf_member_t *
ngx_ws_perf_presence_member(ngx_ws_perf_presence_t *p, ngx_str_t *user)
{
    uint32_t  hash;

    hash = ngx_crc32_short(user->data, user->len);

    return (ngx_ws_perf_member_t *)
               ngx_str_rbtree_lookup(&p->members, user, hash);
}


static void
ngx_ws_perf_presence_unused(ngx_ws_perf_topic_t *topic)
{
    ngx_ws_perf_presence_t  *p;

    p = topic->presence;

    if (p->nmembers == 0 && p->listeners == 0 && !p->over) {
        ngx_queue_remove(&p->all);
        ngx_free(p);
        topic->presence = NULL;
    }
}


/*
 * An event from the engine: a user joined or left the channel, which then
 * has count members.  It reaches this worker's presence subscribers of
 * the channel, or, over the rate, only the count does, a second later.
 */

void
ngx_ws_perf_presence_event(ngx_str_t *channel, ngx_str_t *user,
    ngx_uint_t kind, uint64_t count, ngx_log_t *log)
{
    u_char                  text[NGX_WS_PERF_PRESENCE_TEXT_MAX], *last;
    ngx_ws_perf_topic_t    *topic;
    ngx_ws_perf_presence_t *p;

    if (kind != NGX_WS_PERF_PRESENCE_JOIN
        && kind != NGX_WS_PERF_PRESENCE_LEAVE)
    {
        return;
    }

    topic = ngx_ws_perf_hub_lookup(NGX_WS_PERF_TARGET_CHANNEL, channel);

    if (topic == NULL || topic->presence == NULL
        || topic->presence->listeners == 0)
    {
        return;
    }

    p = topic->presence;
    p->count = count;

    if (!ngx_ws_perf_presence_take(p)) {
        ngx_ws_perf_presence_hold(p);
        return;
    }

    last = ngx_snprintf(text, sizeof(text),
                        "{\"type\":\"%s\",\"channel\":\"%V\","
                        "\"user\":\"%V\",\"count\":%uL}",
                        ngx_ws_perf_presence_kinds[kind], channel, user,
                        count);

    ngx_ws_perf_presence_send(topic, text, last - text, log);
}


/* a token of the channel's bucket, refilled at the rate; 0: none left */

static ngx_uint_t
ngx_ws_perf_presence_take(ngx_ws_perf_presence_t *p)
{
    ngx_msec_t  elapsed;
    ngx_uint_t  cap;

    if (p->over) {
        return 0;
    }

    cap = 1000 * ngx_ws_perf_presence_rate;
    elapsed = ngx_current_msec - p->refilled;
    p->refilled = ngx_current_msec;

    if (elapsed >= 1000) {
        p->tokens = cap;

    } else {
        p->tokens = ngx_min(cap, p->tokens
                                 + elapsed * ngx_ws_perf_presence_rate);
    }

    if (p->tokens < 1000) {
        return 0;
    }

    p->tokens -= 1000;

    return 1;
}


static void
ngx_ws_perf_presence_hold(ngx_ws_perf_presence_t *p)
{
    p->held = ngx_current_msec;
    p->dirty = 1;
    ngx_ws_perf_metrics_inc(presence_held);

    if (p->over) {
        return;
    }

    p->over = 1;
    ngx_queue_insert_tail(&ngx_ws_perf_presence_over, &p->queue);

    if (!ngx_ws_perf_presence_timer.timer_set) {
        ngx_add_timer(&ngx_ws_perf_presence_timer,
                      NGX_WS_PERF_PRESENCE_TICK);
    }
}


/*
 * Once a second: each channel over its rate gets its newest count if it
 * changed; one that held nothing back for a second gets events again.
 */

static void
ngx_ws_perf_presence_tick(ngx_event_t *ev)
{
    u_char                  text[NGX_WS_PERF_PRESENCE_TEXT_MAX], *last;
    ngx_queue_t            *q, *next;
    ngx_ws_perf_topic_t    *topic;
    ngx_ws_perf_presence_t *p;

    for (q = ngx_queue_head(&ngx_ws_perf_presence_over);
         q != ngx_queue_sentinel(&ngx_ws_perf_presence_over);
         q = next)
    {
        next = ngx_queue_next(q);
        p = ngx_queue_data(q, ngx_ws_perf_presence_t, queue);

        topic = p->topic;

        if (p->dirty) {
            last = ngx_snprintf(text, sizeof(text),
                                "{\"type\":\"presence\",\"channel\":\"%V\","
                                "\"count\":%uL}", &topic->name, p->count);

            ngx_ws_perf_presence_send(topic, text, last - text, ev->log);
            p->dirty = 0;
        }

        if (ngx_current_msec - p->held >= NGX_WS_PERF_PRESENCE_TICK) {
            ngx_queue_remove(q);
            p->over = 0;

            ngx_ws_perf_presence_unused(topic);
        }
    }

    if (!ngx_queue_empty(&ngx_ws_perf_presence_over) && !ngx_exiting) {
        ngx_add_timer(ev, NGX_WS_PERF_PRESENCE_TICK);
    }
}


/* text to the channel's presence subscribers but raw ones, at low priority */

static void
ngx_ws_perf_presence_send(ngx_ws_perf_topic_t *topic, u_char *text,
    size_t len, ngx_log_t *log)
{
    ngx_queue_t         *q;
    ngx_ws_perf_sub_t   *sub;
    ngx_ws_perf_out_t   *out, *sse, *o;
    ngx_ws_perf_peer_t  *peer;

    out = NULL;
    sse = NULL;

    for (q = ngx_queue_head(&topic->subs);
         q != ngx_queue_sentinel(&topic->subs);
         q = ngx_queue_next(q))
    {
        sub = ngx_queue_data(q, ngx_ws_perf_sub_t, queue);
        peer = sub->conn;

        if (!peer->presence || peer->raw || peer->closing) {
            continue;
        }

        if (peer->sse) {
            if (sse == NULL) {
                sse = ngx_ws_perf_hub_sse_out(text, len, log);
                if (sse == NULL) {
                    continue;
                }
            }

            o = sse;

        } else {
            if (out == NULL) {
                out = ngx_ws_perf_out_frame(NGX_WS_PERF_OP_TEXT, text, len,
                                            log);
                if (out == NULL) {
                    continue;
                }
            }

            o = out;
        }

        (void) ngx_ws_perf_hub_push_out(peer, o, NGX_WS_PERF_PRIO_LOW, log);
    }

    if (out) {
        ngx_ws_perf_out_release(out);
    }

    if (sse) {
        ngx_ws_perf_out_release(sse);
    }

    ngx_ws_perf_metrics_inc(presence_events);
}


/* each user with local connections on the channel */

void
ngx_ws_perf_presence_walk(ngx_ws_perf_topic_t *topic,
    ngx_ws_perf_presence_walk_pt handler, void *data)
{
    ngx_rbtree_node_t       *node, *sentinel;
    ngx_ws_perf_member_t    *m;
    ngx_ws_perf_presence_t  *p;

    p = topic->presence;

    if (p == NULL || p->nmembers == 0) {
        return;
    }

    sentinel = p->members.sentinel;

    for (node = ngx_rbtree_min(p->members.root, sentinel);
         node;
         node = ngx_rbtree_next(&p->members, node))
    {
        m = (ngx_ws_perf_member_t *) node;
        handler(topic, &m->sn.str, data);
    }
}


/*
 * each channel with presence in this worker, in the order they came, so
 * that a walk in parts (the redis engine's sweep) costs what presence has,
 * not what the worker's channels are
 */

void
ngx_ws_perf_presence_each(ngx_ws_perf_presence_each_pt handler, void *data)
{
    ngx_queue_t             *q, *next;
    ngx_ws_perf_presence_t  *p;

    for (q = ngx_queue_head(&ngx_ws_perf_presence_all);
         q != ngx_queue_sentinel(&ngx_ws_perf_presence_all);
         q = next)
    {
        next = ngx_queue_next(q);
        p = ngx_queue_data(q, ngx_ws_perf_presence_t, all);

        if (handler(p->topic, data) == NGX_DONE) {
            return;
        }
    }
}


/* names in byte order, for qsort: a list that reads the same each time */

int
ngx_ws_perf_presence_cmp(const void *one, const void *two)
{
    ngx_int_t         rc;
    const ngx_str_t  *a = one, *b = two;

    rc = ngx_memn2cmp(a->data, b->data, a->len, b->len);

    return (rc > 0) - (rc < 0);
}
