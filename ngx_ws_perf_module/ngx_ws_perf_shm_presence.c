
/*
 * Copyright (C) ngx_ws_perf_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include "ngx_ws_perf_shm.h"
#include "ngx_ws_perf_presence.h"


/*
 * Presence in the zone: per channel, its members, and per member the
 * connections each worker slot holds.  A user joins when its first
 * worker entry appears and leaves when its last goes; the event goes on
 * the bus to every worker.  Entries of a worker that died (SIGKILL) go
 * when its slot's next worker starts, or at the latest when a worker's
 * one-second tick sweeps the channel (NGX_WS_PERF_SHM_SWEEP channels a
 * tick, in turn), with their leave events.
 */


typedef struct {
    ngx_str_node_t              sn;         /* the channel follows */
    ngx_rbtree_t                members;    /* ngx_ws_perf_shm_member_t */
    ngx_rbtree_node_t           members_s;
    ngx_uint_t                  nmembers;
    ngx_queue_t                 queue;      /* in sh->chans */
} ngx_ws_perf_shm_chan_t;


typedef struct {
    ngx_str_node_t              sn;         /* the user follows */
    ngx_queue_t                 entries;    /* ngx_ws_perf_shm_entry_t */
} ngx_ws_perf_shm_member_t;


/* a worker's connections of one member */
typedef struct {
    ngx_queue_t                 queue;
    ngx_uint_t                  slot;
    ngx_pid_t                   pid;
    ngx_uint_t                  n;
} ngx_ws_perf_shm_entry_t;


static ngx_ws_perf_shm_chan_t *ngx_ws_perf_shm_chan(ngx_str_t *name,
    ngx_uint_t create);
static ngx_ws_perf_shm_member_t *ngx_ws_perf_shm_member(
    ngx_ws_perf_shm_chan_t *ch, ngx_str_t *user, ngx_uint_t create);
static void ngx_ws_perf_shm_member_drop(ngx_ws_perf_shm_chan_t *ch,
    ngx_ws_perf_shm_member_t *m, ngx_uint_t counted);
static void ngx_ws_perf_shm_chan_unused(ngx_ws_perf_shm_chan_t *ch);
static ngx_uint_t ngx_ws_perf_shm_chan_sweep(ngx_ws_perf_shm_chan_t *ch,
    ngx_uint_t *dead);
static ngx_uint_t ngx_ws_perf_shm_member_sweep(ngx_ws_perf_shm_member_t *m,
    ngx_uint_t *dead);
static void ngx_ws_perf_shm_dead_slots(ngx_uint_t *dead);
static void ngx_ws_perf_shm_presence_post(ngx_str_t *channel,
    ngx_str_t *user, ngx_uint_t kind, uint64_t count);
static void ngx_ws_perf_shm_presence_full(const char *what);
static void *ngx_ws_perf_shm_presence_alloc(size_t size);


void
ngx_ws_perf_shm_presence_init(ngx_ws_perf_shm_t *sh)
{
    ngx_rbtree_init(&sh->presence, &sh->presence_s,
                    ngx_str_rbtree_insert_value);
    ngx_queue_init(&sh->chans);
    sh->presence_full = 0;
}


/* a user's first (join) or last connection on a channel in this worker */

void
ngx_ws_perf_shm_presence_hook(ngx_str_t *channel, ngx_str_t *user,
    ngx_uint_t join)
{
    ngx_uint_t                 was;
    ngx_queue_t               *q;
    ngx_ws_perf_shm_chan_t    *ch;
    ngx_ws_perf_shm_entry_t   *e;
    ngx_ws_perf_shm_member_t  *m;

    ngx_ws_perf_shm_lock(NGX_WS_PERF_SHM_STORE);

    ch = ngx_ws_perf_shm_chan(channel, join);
    m = ch ? ngx_ws_perf_shm_member(ch, user, join) : NULL;

    if (m == NULL) {
        if (join) {
            ngx_ws_perf_shm_presence_full("a member");
        }

        if (ch) {
            ngx_ws_perf_shm_chan_unused(ch);
        }

        ngx_ws_perf_shm_unlock();
        return;
    }

    was = !ngx_queue_empty(&m->entries);

    for (q = ngx_queue_head(&m->entries);
         q != ngx_queue_sentinel(&m->entries);
         q = ngx_queue_next(q))
    {
        e = ngx_queue_data(q, ngx_ws_perf_shm_entry_t, queue);

        if (e->slot == ngx_ws_perf_shm_slot && e->pid == ngx_pid) {
            break;
        }
    }

    if (q != ngx_queue_sentinel(&m->entries)) {
        /* the hub tells of a user's first and last only: one entry each */
        if (join) {
            e->n++;

        } else if (--e->n == 0) {
            ngx_queue_remove(q);
            ngx_ws_perf_shm->entries[e->slot]--;
            ngx_ws_perf_shm_free(e);
        }

    } else if (join) {
        e = ngx_ws_perf_shm_presence_alloc(sizeof(ngx_ws_perf_shm_entry_t));

        if (e == NULL) {
            ngx_ws_perf_shm_presence_full("a member");

        } else {
            e->slot = ngx_ws_perf_shm_slot;
            e->pid = ngx_pid;
            e->n = 1;
            ngx_queue_insert_tail(&m->entries, &e->queue);
            ngx_ws_perf_shm->entries[e->slot]++;

            if (!was) {
                ch->nmembers++;
                ngx_ws_perf_shm_presence_post(channel, user,
                                              NGX_WS_PERF_PRESENCE_JOIN,
                                              ch->nmembers);
            }
        }
    }

    if (ngx_queue_empty(&m->entries)) {
        ngx_ws_perf_shm_member_drop(ch, m, was);
    }

    ngx_ws_perf_shm_chan_unused(ch);
    ngx_ws_perf_shm_unlock();

    ngx_ws_perf_shm_soon();
}


/* under the lock: a member without entries goes; it leaves if counted */

static void
ngx_ws_perf_shm_member_drop(ngx_ws_perf_shm_chan_t *ch,
    ngx_ws_perf_shm_member_t *m, ngx_uint_t counted)
{
    ngx_rbtree_delete(&ch->members, &m->sn.node);

    if (counted) {
        ch->nmembers--;
        ngx_ws_perf_shm_presence_post(&ch->sn.str, &m->sn.str,
                                      NGX_WS_PERF_PRESENCE_LEAVE,
                                      ch->nmembers);
    }

    ngx_ws_perf_shm_free(m);
}


static ngx_ws_perf_shm_chan_t *
ngx_ws_perf_shm_chan(ngx_str_t *name, ngx_uint_t create)
{
    uint32_t                 hash;
    ngx_ws_perf_shm_chan_t  *ch;

    hash = ngx_crc32_short(name->data, name->len);

    ch = (ngx_ws_perf_shm_chan_t *)
             ngx_str_rbtree_lookup(&ngx_ws_perf_shm->presence, name, hash);

    if (ch || !create) {
        return ch;
    }

    ch = ngx_ws_perf_shm_presence_alloc(sizeof(ngx_ws_perf_shm_chan_t)
                                        + name->len);
    if (ch == NULL) {
        return NULL;
    }

    ngx_memzero(ch, sizeof(ngx_ws_perf_shm_chan_t));

    ch->sn.str.data = (u_char *) (ch + 1);
    ch->sn.str.len = name->len;
    ngx_memcpy(ch->sn.str.data, name->data, name->len);
    ch->sn.node.key = hash;
    ngx_rbtree_init(&ch->members, &ch->members_s,
                    ngx_str_rbtree_insert_value);

    ngx_rbtree_insert(&ngx_ws_perf_shm->presence, &ch->sn.node);
    ngx_queue_insert_tail(&ngx_ws_perf_shm->chans, &ch->queue);

    return ch;
}


static ngx_ws_perf_shm_member_t *
ngx_ws_perf_shm_member(ngx_ws_perf_shm_chan_t *ch, ngx_str_t *user,
    ngx_uint_t create)
{
    uint32_t                   hash;
    ngx_ws_perf_shm_member_t  *m;

    hash = ngx_crc32_short(user->data, user->len);

    m = (ngx_ws_perf_shm_member_t *)
            ngx_str_rbtree_lookup(&ch->members, user, hash);

    if (m || !create) {
        return m;
    }

    m = ngx_ws_perf_shm_presence_alloc(sizeof(ngx_ws_perf_shm_member_t)
                                       + user->len);
    if (m == NULL) {
        return NULL;
    }

    ngx_memzero(m, sizeof(ngx_ws_perf_shm_member_t));

    m->sn.str.data = (u_char *) (m + 1);
    m->sn.str.len = user->len;
    ngx_memcpy(m->sn.str.data, user->data, user->len);
    m->sn.node.key = hash;
    ngx_queue_init(&m->entries);

    ngx_rbtree_insert(&ch->members, &m->sn.node);

    return m;
}


static void
ngx_ws_perf_shm_chan_unused(ngx_ws_perf_shm_chan_t *ch)
{
    if (ch->members.root != ch->members.sentinel) {
        return;
    }

    ngx_rbtree_delete(&ngx_ws_perf_shm->presence, &ch->sn.node);
    ngx_queue_remove(&ch->queue);
    ngx_ws_perf_shm_free(ch);
}


/*
 * Under the lock: the entries of workers that are gone go, with the
 * leave events of members left without one.  max 0: every channel (a
 * worker that starts, in the slot of one that may have been killed);
 * else max channels, the longest unswept first, and only while a dead
 * worker's entries are left
 */

void
ngx_ws_perf_shm_presence_sweep(ngx_uint_t max)
{
    ngx_uint_t               i, n;
    ngx_queue_t             *q;
    ngx_ws_perf_shm_chan_t  *ch;
    ngx_uint_t               dead[NGX_MAX_PROCESSES];

    n = 0;

    for (q = ngx_queue_head(&ngx_ws_perf_shm->chans);
         q != ngx_queue_sentinel(&ngx_ws_perf_shm->chans);
         q = ngx_queue_next(q))
    {
        n++;
    }

    if (n == 0) {
        return;
    }

    ngx_ws_perf_shm_dead_slots(dead);

    if (max) {
        /* the tick: only while a dead worker's entries are left */
        for (i = 0; i < ngx_ws_perf_shm->nslots; i++) {
            if (dead[i] && ngx_ws_perf_shm->entries[i]) {
                break;
            }
        }

        if (i == ngx_ws_perf_shm->nslots) {
            return;
        }

        n = ngx_min(n, max);
    }

    for (i = 0; i < n; i++) {
        q = ngx_queue_head(&ngx_ws_perf_shm->chans);
        ch = ngx_queue_data(q, ngx_ws_perf_shm_chan_t, queue);

        ngx_queue_remove(q);
        ngx_queue_insert_tail(&ngx_ws_perf_shm->chans, q);

        (void) ngx_ws_perf_shm_chan_sweep(ch, dead);
    }
}


/* under the lock: 1 when the channel went with its last member */

static ngx_uint_t
ngx_ws_perf_shm_chan_sweep(ngx_ws_perf_shm_chan_t *ch, ngx_uint_t *dead)
{
    ngx_rbtree_node_t         *node, *next, *sentinel;
    ngx_ws_perf_shm_member_t  *m;

    sentinel = ch->members.sentinel;

    if (ch->members.root == sentinel) {
        ngx_ws_perf_shm_chan_unused(ch);
        return 1;
    }

    /* the tree relinks nodes on delete, so "next" stays valid */
    for (node = ngx_rbtree_min(ch->members.root, sentinel);
         node;
         node = next)
    {
        next = ngx_rbtree_next(&ch->members, node);
        m = (ngx_ws_perf_shm_member_t *) node;

        if (ngx_ws_perf_shm_member_sweep(m, dead)) {
            ngx_ws_perf_shm_member_drop(ch, m, 1);
        }
    }

    if (ch->members.root == sentinel) {
        ngx_ws_perf_shm_chan_unused(ch);
        return 1;
    }

    return 0;
}


/* under the lock: 1 when the member has no live worker's entry left */

static ngx_uint_t
ngx_ws_perf_shm_member_sweep(ngx_ws_perf_shm_member_t *m, ngx_uint_t *dead)
{
    ngx_queue_t              *q, *next;
    ngx_ws_perf_shm_entry_t  *e;

    for (q = ngx_queue_head(&m->entries);
         q != ngx_queue_sentinel(&m->entries);
         q = next)
    {
        next = ngx_queue_next(q);
        e = ngx_queue_data(q, ngx_ws_perf_shm_entry_t, queue);

        if (e->slot < ngx_ws_perf_shm->nslots && !dead[e->slot]
            && ngx_ws_perf_shm->workers[e->slot].pid == e->pid)
        {
            continue;
        }

        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                       "ws_perf presence: worker %P is gone, \"%V\" with it",
                       e->pid, &m->sn.str);

        ngx_queue_remove(q);
        ngx_ws_perf_shm->entries[e->slot]--;
        ngx_ws_perf_shm_free(e);
    }

    return ngx_queue_empty(&m->entries);
}


/* under the lock: which worker slots hold no live process */

static void
ngx_ws_perf_shm_dead_slots(ngx_uint_t *dead)
{
    ngx_pid_t   pid;
    ngx_uint_t  i;

    for (i = 0; i < ngx_ws_perf_shm->nslots; i++) {
        pid = ngx_ws_perf_shm->workers[i].pid;

        dead[i] = (pid == 0)
                  || (pid != ngx_pid && kill(pid, 0) == -1
                      && ngx_errno == NGX_ESRCH);
    }
}


/* under the lock: an event on the bus for every worker */

static void
ngx_ws_perf_shm_presence_post(ngx_str_t *channel, ngx_str_t *user,
    ngx_uint_t kind, uint64_t count)
{
    ngx_ws_perf_msg_t       m;
    ngx_ws_perf_shm_msg_t  *c;

    ngx_memzero(&m, sizeof(ngx_ws_perf_msg_t));

    m.name = channel->data;
    m.name_len = channel->len;
    m.data = user->data;
    m.data_len = user->len;
    m.target = NGX_WS_PERF_TARGET_CHANNEL;
    m.priority = NGX_WS_PERF_PRIO_LOW;

    c = ngx_ws_perf_shm_copy(&m, count);
    if (c == NULL) {
        ngx_ws_perf_shm_presence_full("an event");
        return;
    }

    c->presence = kind;

    if (ngx_ws_perf_shm_bus_add(c) != NGX_OK) {
        ngx_ws_perf_shm_presence_full("an event");
    }

    ngx_ws_perf_shm_unref(c);
}


/*
 * Under the lock: presence grows only while half of the zone's pages are
 * free, so that it never takes what the messages, inboxes and the bus
 * need
 */

static void *
ngx_ws_perf_shm_presence_alloc(size_t size)
{
    ngx_uint_t  pages;

    pages = (ngx_ws_perf_shm_pool->end - ngx_ws_perf_shm_pool->start)
            >> ngx_pagesize_shift;

    if (ngx_ws_perf_shm_pool->pfree < pages / 2) {
        return NULL;
    }

    return ngx_ws_perf_shm_alloc(size);
}


/* under the lock: told once, until the zone is made anew */

static void
ngx_ws_perf_shm_presence_full(const char *what)
{
    if (ngx_ws_perf_shm->presence_full++) {
        return;
    }

    ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                  "ws_perf: ws_perf_shm_zone has no room for %s of "
                  "presence: counts and join or leave events may be "
                  "missing until it has", what);
}


/*
 * GET ?presence=: the channel swept first, so that the members of a
 * worker that died are not listed; the first LIST_MAX users in byte
 * order.  NGX_OK: the handler was called.
 */

ngx_int_t
ngx_ws_perf_shm_presence_list(ngx_str_t *channel,
    ngx_ws_perf_presence_pt handler, void *data)
{
    u_char                       *p;
    size_t                        size;
    ngx_str_t                    *all, reason;
    ngx_uint_t                    i, n;
    ngx_rbtree_node_t            *node, *sentinel;
    ngx_ws_perf_shm_chan_t       *ch;
    ngx_ws_perf_presence_list_t   list;
    ngx_uint_t                    dead[NGX_MAX_PROCESSES];

    ngx_memzero(&list, sizeof(ngx_ws_perf_presence_list_t));
    all = NULL;

    ngx_ws_perf_shm_lock(NGX_WS_PERF_SHM_STORE);

    ch = ngx_ws_perf_shm_chan(channel, 0);

    if (ch) {
        ngx_ws_perf_shm_dead_slots(dead);

        if (ngx_ws_perf_shm_chan_sweep(ch, dead)) {
            ch = NULL;
        }
    }

    if (ch && ch->nmembers) {
        all = ngx_alloc(ch->nmembers * sizeof(ngx_str_t), ngx_cycle->log);
        if (all == NULL) {
            goto failed;
        }

        n = 0;
        sentinel = ch->members.sentinel;

        for (node = ngx_rbtree_min(ch->members.root, sentinel);
             node && n < ch->nmembers;
             node = ngx_rbtree_next(&ch->members, node))
        {
            all[n++] = ((ngx_ws_perf_shm_member_t *) node)->sn.str;
        }

        ngx_qsort(all, n, sizeof(ngx_str_t), ngx_ws_perf_presence_cmp);

        list.count = n;
        list.n = ngx_min(n, NGX_WS_PERF_PRESENCE_LIST_MAX);
        list.truncated = (n > list.n);

        size = list.n * sizeof(ngx_str_t);

        for (i = 0; i < list.n; i++) {
            size += all[i].len;
        }

        list.users = ngx_alloc(size, ngx_cycle->log);
        if (list.users == NULL) {
            goto failed;
        }

        p = (u_char *) (list.users + list.n);

        for (i = 0; i < list.n; i++) {
            list.users[i].data = p;
            list.users[i].len = all[i].len;
            p = ngx_cpymem(p, all[i].data, all[i].len);
        }
    }

    ngx_ws_perf_shm_unlock();

    if (all) {
        ngx_free(all);
    }

    ngx_ws_perf_shm_soon();

    handler(data, NGX_OK, &list, NULL);

    if (list.users) {
        ngx_free(list.users);
    }

    return NGX_OK;

failed:

    ngx_ws_perf_shm_unlock();

    if (all) {
        ngx_free(all);
    }

    ngx_str_set(&reason, "no memory");
    handler(data, NGX_HTTP_INTERNAL_SERVER_ERROR, NULL, &reason);

    return NGX_OK;
}
