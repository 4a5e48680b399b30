
/*
 * Copyright (C) ngx_ws_perf_module authors
 */


#ifndef _NGX_WS_PERF_SHM_H_INCLUDED_
#define _NGX_WS_PERF_SHM_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include "ngx_ws_perf_msg.h"
#include "ngx_ws_perf_hub.h"
#include "ngx_ws_perf_engine.h"


/*
 * The shared-memory engine (docs/reliable.md, "The shared-memory engine"):
 * one zone per configuration, its slab pool's mutex the one lock.  Every
 * pointer in the zone points into the zone, whose address nginx keeps
 * across reloads.
 */


#define NGX_WS_PERF_SHM_MAGIC         0x77737007  /* the layout's version */
#define NGX_WS_PERF_SHM_MIN_SIZE      (256 * 1024)
#define NGX_WS_PERF_SHM_SCHED_MAX     10000

/* what a locker is changing: the repair log names it */
#define NGX_WS_PERF_SHM_NONE          0
#define NGX_WS_PERF_SHM_PUBLISH       1
#define NGX_WS_PERF_SHM_BUS           2
#define NGX_WS_PERF_SHM_STORE         3
#define NGX_WS_PERF_SHM_TIMER         4
#define NGX_WS_PERF_SHM_DLQ           5
#define NGX_WS_PERF_SHM_WORKER        6
#define NGX_WS_PERF_SHM_TEST          7

#define NGX_WS_PERF_DEAD_MAX_ATTEMPTS   0
#define NGX_WS_PERF_DEAD_EXPIRED        1
#define NGX_WS_PERF_DEAD_UNDELIVERABLE  2


/* a message kept in the zone: id, name and data follow it */
typedef struct {
    ngx_uint_t                  refs;
    uint64_t                    seq;        /* the zone's number */
    int64_t                     ts;
    ngx_uint_t                  worker;     /* the ngx_worker numbering it */
    size_t                      id_len;     /* 0: none (scheduled) */
    size_t                      name_len;
    size_t                      data_len;
    unsigned                    target:1;
    unsigned                    priority:2;
    unsigned                    json:1;
    unsigned                    binary:1;
    unsigned                    ack:1;
    unsigned                    presence:2; /* a join or leave event: */
                                            /* the user in data, the */
                                            /* member count in seq */
} ngx_ws_perf_shm_msg_t;

#define ngx_ws_perf_shm_msg_id(c)    ((u_char *) ((c) + 1))
#define ngx_ws_perf_shm_msg_name(c)  (ngx_ws_perf_shm_msg_id(c) + (c)->id_len)
#define ngx_ws_perf_shm_msg_data(c)                                         \
    (ngx_ws_perf_shm_msg_name(c) + (c)->name_len)
#define ngx_ws_perf_shm_msg_size(c)                                         \
    (sizeof(ngx_ws_perf_shm_msg_t) + (c)->id_len + (c)->name_len            \
     + (c)->data_len)


/* one message on its way to every worker */
typedef struct {
    ngx_queue_t                 queue;      /* in sh->bus, oldest first */
    uint64_t                    n;
    size_t                      size;
    ngx_pid_t                   from;       /* the worker that put it */
    uint64_t                    at;         /* then, monotonic us; 0: */
    ngx_ws_perf_shm_msg_t      *msg;       /* latencies are not timed */
} ngx_ws_perf_shm_rec_t;


/* a worker of this zone, at its ngx_process_slot */
typedef struct {
    ngx_pid_t                   pid;        /* 0: none */
    ngx_uint_t                  signalled;  /* a wakeup is on its way */
    uint64_t                    cursor;     /* the last bus record taken */
} ngx_ws_perf_shm_worker_t;


/* a worker's subscribers of one topic, and a user's connections there */
typedef struct {
    ngx_queue_t                 queue;
    ngx_uint_t                  slot;
    ngx_pid_t                   pid;
    ngx_uint_t                  nsubs;
    ngx_uint_t                  nconns;     /* slots of the user it holds */
} ngx_ws_perf_shm_present_t;


/* a channel or user: its inbox or history, ack waits and subscribers */
typedef struct {
    ngx_str_node_t              sn;         /* the name follows */
    ngx_uint_t                  target;
    ngx_queue_t                 kept;       /* of ngx_ws_perf_shm_kept_t */
    ngx_uint_t                  nkept;
    ngx_queue_t                 pending;    /* of ..._pending_t */
    ngx_uint_t                  npending;
    ngx_queue_t                 present;    /* of ..._present_t */
    uint64_t                    published;
    uint64_t                    trimmed;    /* the highest seq let go */
    uint64_t                    last_seq;
    int64_t                     last_ts;
    ngx_uint_t                  last_worker;
    int64_t                     used;       /* the last append, Unix ms */
    ngx_queue_t                 lru;
} ngx_ws_perf_shm_topic_t;


typedef struct {
    ngx_queue_t                 queue;
    ngx_ws_perf_shm_msg_t      *msg;
} ngx_ws_perf_shm_kept_t;


typedef struct {
    ngx_rbtree_node_t           node;       /* key: due, Unix ms */
    ngx_queue_t                 queue;
    ngx_ws_perf_shm_topic_t    *topic;
    ngx_ws_perf_shm_msg_t      *msg;
    ngx_uint_t                  tries;
    int64_t                     first;
} ngx_ws_perf_shm_pending_t;


typedef struct {
    ngx_queue_t                 queue;
    uint64_t                    n;          /* dlq_id "<ms>-<n>" */
    int64_t                     ms;
    ngx_uint_t                  reason;
    ngx_uint_t                  attempts;
    int64_t                     first;
    int64_t                     last;
    ngx_ws_perf_shm_msg_t      *msg;
} ngx_ws_perf_shm_dead_t;


typedef struct {
    ngx_rbtree_node_t           node;       /* key: due, Unix ms */
    uint64_t                    sid;        /* "s<sid>" */
    ngx_ws_perf_shm_msg_t      *msg;
} ngx_ws_perf_shm_sched_t;


typedef struct {
    ngx_uint_t                  magic;
    ngx_pid_t                   writer;     /* set while a change is made */
    ngx_uint_t                  what;
    ngx_uint_t                  repairs;
    int64_t                     epoch;      /* the zone's birth, Unix ms */
    uint64_t                    seq;
    uint64_t                    nomem;      /* allocations refused */

    ngx_queue_t                 bus;
    uint64_t                    bus_n;      /* the newest record's number */
    size_t                      bus_size;
    size_t                      bus_max;
    ngx_uint_t                  nslots;     /* workers[] in use below */

    ngx_rbtree_t                topics[2];
    ngx_rbtree_node_t           topics_s[2];
    ngx_queue_t                 lru;

    ngx_rbtree_t                due;
    ngx_rbtree_node_t           due_s;

    ngx_rbtree_t                sched;
    ngx_rbtree_node_t           sched_s;
    ngx_uint_t                  nsched;
    uint64_t                    sid;

    ngx_queue_t                 dead;
    ngx_uint_t                  ndead;
    uint64_t                    dead_n;
    uint64_t                    counts[3];
    ngx_uint_t                  order[3];
    ngx_uint_t                  norder;

    ngx_rbtree_t                presence;   /* ngx_ws_perf_shm_chan_t */
    ngx_rbtree_node_t           presence_s;
    ngx_queue_t                 chans;      /* the same, swept in turn */
    ngx_uint_t                  presence_full;  /* members not counted */
    ngx_uint_t                  entries[NGX_MAX_PROCESSES];  /* presence */
                                                /* entries per worker slot */

    ngx_ws_perf_shm_worker_t    workers[NGX_MAX_PROCESSES];
} ngx_ws_perf_shm_t;


/* the zone, lock and bus (ngx_ws_perf_shm.c) */
void ngx_ws_perf_shm_lock(ngx_uint_t what);
void ngx_ws_perf_shm_unlock(void);
void ngx_ws_perf_shm_wake(void);
void ngx_ws_perf_shm_drain(void);
void *ngx_ws_perf_shm_alloc(size_t size);
void ngx_ws_perf_shm_free(void *p);
ngx_int_t ngx_ws_perf_shm_post(ngx_ws_perf_msg_t *m, u_char *idbuf,
    ngx_str_t *reason);
ngx_int_t ngx_ws_perf_shm_bus_add(ngx_ws_perf_shm_msg_t *c);
int64_t ngx_ws_perf_shm_now(void);
ngx_ws_perf_shm_msg_t *ngx_ws_perf_shm_copy(ngx_ws_perf_msg_t *m,
    uint64_t seq);
void ngx_ws_perf_shm_unref(ngx_ws_perf_shm_msg_t *c);
void ngx_ws_perf_shm_msg(ngx_ws_perf_shm_msg_t *c, ngx_ws_perf_msg_t *m);
ngx_uint_t ngx_ws_perf_shm_present(ngx_ws_perf_shm_topic_t *t,
    ngx_uint_t *workers);
ngx_int_t ngx_ws_perf_shm_take(ngx_array_t *out, ngx_uint_t max);
void ngx_ws_perf_shm_deliver(ngx_array_t *taken);
ngx_str_t *ngx_ws_perf_shm_full(void);

/* inboxes, history, acks, dead letters, schedule (ngx_ws_perf_shm_store.c) */
void ngx_ws_perf_shm_store_init(ngx_ws_perf_shm_t *sh);
ngx_ws_perf_shm_topic_t *ngx_ws_perf_shm_topic(ngx_uint_t target,
    u_char *name, size_t len, ngx_uint_t create);
void ngx_ws_perf_shm_topic_unused(ngx_ws_perf_shm_topic_t *t);
ngx_int_t ngx_ws_perf_shm_append(ngx_ws_perf_shm_msg_t *c,
    ngx_str_t *reason);
int64_t ngx_ws_perf_shm_store_tick(int64_t now);
ngx_uint_t ngx_ws_perf_shm_sched_room(ngx_uint_t n);

/* the engine's entries that the store answers */
ngx_int_t ngx_ws_perf_shm_schedule(ngx_ws_perf_msg_t *m, int64_t at,
    ngx_ws_perf_publish_pt handler, void *data, ngx_uint_t tag);
ngx_int_t ngx_ws_perf_shm_cancel(ngx_http_request_t *r, ngx_str_t *id);
ngx_int_t ngx_ws_perf_shm_resume(ngx_ws_perf_peer_t *peer,
    ngx_ws_perf_sub_t *sub, ngx_str_t *since);
ngx_int_t ngx_ws_perf_shm_ack(ngx_ws_perf_peer_t *peer, ngx_str_t *id);
ngx_int_t ngx_ws_perf_shm_dlq_list(ngx_http_request_t *r,
    ngx_ws_perf_dlq_query_t *q);
ngx_int_t ngx_ws_perf_shm_dlq_get(ngx_http_request_t *r, ngx_str_t *id);
ngx_int_t ngx_ws_perf_shm_dlq_replay(ngx_http_request_t *r, ngx_str_t *id);
ngx_int_t ngx_ws_perf_shm_dlq_delete(ngx_http_request_t *r, ngx_str_t *id);

void ngx_ws_perf_shm_soon(void);

/* presence (ngx_ws_perf_shm_presence.c) */
void ngx_ws_perf_shm_presence_init(ngx_ws_perf_shm_t *sh);
void ngx_ws_perf_shm_presence_hook(ngx_str_t *channel, ngx_str_t *user,
    ngx_uint_t join);
void ngx_ws_perf_shm_presence_sweep(ngx_uint_t max);
ngx_int_t ngx_ws_perf_shm_presence_list(ngx_str_t *channel,
    ngx_ws_perf_presence_pt handler, void *data);

/* configuration (ngx_ws_perf_shm.c) */
char *ngx_ws_perf_shm_zone_conf(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_shm_zone_t *ngx_ws_perf_shm_zone_add(ngx_conf_t *cf, ngx_str_t *name,
    size_t size);


extern ngx_ws_perf_shm_t  *ngx_ws_perf_shm;
extern ngx_slab_pool_t    *ngx_ws_perf_shm_pool;
extern ngx_uint_t          ngx_ws_perf_shm_slot;    /* this worker's */


#endif /* _NGX_WS_PERF_SHM_H_INCLUDED_ */
