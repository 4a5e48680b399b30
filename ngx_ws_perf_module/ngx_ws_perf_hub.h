
/*
 * Copyright (C) ngx_ws_perf_module authors
 */


#ifndef _NGX_WS_PERF_HUB_H_INCLUDED_
#define _NGX_WS_PERF_HUB_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include "ngx_ws_perf_msg.h"
#include "ngx_ws_perf_queue.h"


typedef struct ngx_ws_perf_presence_s  ngx_ws_perf_presence_t;


typedef struct ngx_ws_perf_topic_s  ngx_ws_perf_topic_t;


/* a channel or a user with local subscribers, in this worker */
struct ngx_ws_perf_topic_s {
    ngx_str_t                   name;       /* the key */
    ngx_ws_perf_topic_t        *next;       /* in its bucket of the table */
    uint32_t                    hash;
    ngx_queue_t                 subs;
    ngx_uint_t                  nsubs;
    ngx_uint_t                  target;
    uint64_t                    published;
    ngx_queue_t                 changed;    /* in the changed list */
    ngx_uint_t                  is_changed;
    ngx_uint_t                  subscribed; /* the bus's subscription for */
                                            /* it is in place */
    ngx_uint_t                  missed;     /* it was lost: its subscribers
                                               are told when it is back */
    ngx_uint_t                  asked;      /* the bus's link connection
                                               it was last asked on */
    ngx_ws_perf_presence_t     *presence;   /* a channel's, or NULL */
};


typedef struct ngx_ws_perf_sub_s  ngx_ws_perf_sub_t;


/* a message held back from a connection while it resumes */
typedef struct {
    ngx_ws_perf_out_t          *out;
    ngx_uint_t                  priority;
    size_t                      id_len;
    u_char                      id[NGX_WS_PERF_ID_MAX];
} ngx_ws_perf_held_t;


#define NGX_WS_PERF_HOLD_MAX  256

typedef struct {
    ngx_uint_t                  n;
    ngx_uint_t                  overflow;   /* more came than it holds */
    ngx_ws_perf_held_t          msgs[NGX_WS_PERF_HOLD_MAX];
} ngx_ws_perf_hold_t;


/* the link between one connection and one topic */
struct ngx_ws_perf_sub_s {
    ngx_queue_t                 queue;      /* in topic->subs */
    ngx_ws_perf_topic_t        *topic;
    void                       *conn;       /* ngx_ws_perf_conn_t */
    ngx_ws_perf_sub_t          *next;       /* the connection's list */
    ngx_ws_perf_hold_t         *hold;       /* while it resumes */
    uint64_t                    seen;       /* after a resume: the history */
                                            /* went up to this id */
    uint64_t                    seen_after; /* and gave those above this */
    ngx_uint_t                  index;      /* its part of the positions */
};


/* where an event stream of several targets is on one: the last id queued */
typedef struct {
    size_t                      len;        /* 0: nothing yet */
    u_char                      id[NGX_WS_PERF_ID_MAX];
} ngx_ws_perf_pos_t;


/*
 * what a connection exposes to the hub; a fan-out reads the first 64
 * bytes of every subscriber's, so they come first, together
 */
typedef struct {
    ngx_ws_perf_queue_t        *queue;
    size_t                      limit;
    size_t                      lz4_min;    /* lz4 frames from; 0: none */
    size_t                      direct_bytes;   /* its on the direct list */
    ngx_uint_t                  direct_pass;    /* in this pass of it */
    uint32_t                    direct_head;    /* its first and last */
    uint32_t                    direct_tail;    /* entries there */
    ngx_socket_t                fd;
    unsigned                    raw:1;      /* ws_perf_format raw */
    unsigned                    sse:1;      /* an event stream, ws_perf_sse */
    unsigned                    deflate:1;  /* permessage-deflate */
    unsigned                    closing:1;
    unsigned                    overflow:1; /* a critical frame was refused */
    unsigned                    direct:1;   /* plain WebSocket: its frames */
                                            /* may skip an empty queue */
    unsigned                    presence:1; /* ws_perf_presence on */
    ngx_connection_t           *connection;

    size_t                      deflate_min;
    ngx_uint_t                  notice;     /* the last notice it got */
    ngx_ws_perf_out_t          *resumed;    /* the end of its last resume */
    void                       *resumed_topic;  /* and what it resumed */
    ngx_str_t                  *user;       /* empty: none */
    ngx_ws_perf_sub_t         **subs;       /* its subscriptions */
    ngx_ws_perf_pos_t          *pos;        /* an event stream of several */
    ngx_uint_t                  npos;       /* targets: one per target */
} ngx_ws_perf_peer_t;


/* the longest reason an error reply carries, in bytes */
#define NGX_WS_PERF_REASON_MAX  200


/* room a resume leaves in the send queue for the notices that end it */
#define NGX_WS_PERF_RESUME_RESERVE  1024


/* announced to the bus: a topic's first and last local subscriber */
typedef void (*ngx_ws_perf_hub_hook_pt)(ngx_uint_t target, ngx_str_t *name);

typedef void (*ngx_ws_perf_hub_walk_pt)(ngx_ws_perf_topic_t *topic,
    void *data);

/* a user's connection admitted (NGX_OK) or refused (NGX_DECLINED) */
typedef void (*ngx_ws_perf_admit_pt)(void *data, ngx_int_t rc);


typedef struct {
    uint64_t                    published;
    uint64_t                    delivered;
    uint64_t                    dropped[NGX_WS_PERF_PRIO_N];
} ngx_ws_perf_hub_stats_t;


ngx_int_t ngx_ws_perf_hub_init(ngx_cycle_t *cycle);
ngx_int_t ngx_ws_perf_hub_subscribe(ngx_ws_perf_peer_t *peer,
    ngx_ws_perf_sub_t **list, ngx_uint_t target, ngx_str_t *name,
    ngx_log_t *log);
ngx_int_t ngx_ws_perf_hub_unsubscribe(ngx_ws_perf_sub_t **list,
    ngx_uint_t target, ngx_str_t *name);
void ngx_ws_perf_hub_unsubscribe_all(ngx_ws_perf_sub_t **list);
ngx_ws_perf_sub_t **ngx_ws_perf_hub_find(ngx_ws_perf_sub_t **list,
    ngx_uint_t target, ngx_str_t *name);
ngx_ws_perf_topic_t *ngx_ws_perf_hub_lookup(ngx_uint_t target,
    ngx_str_t *name);
ngx_uint_t ngx_ws_perf_hub_deliver(ngx_ws_perf_msg_t *m, ngx_log_t *log);
void ngx_ws_perf_hub_walk(ngx_ws_perf_hub_walk_pt handler, void *data);
ngx_int_t ngx_ws_perf_hub_push(ngx_ws_perf_peer_t *peer,
    ngx_ws_perf_msg_t *m, ngx_uint_t prio, ngx_log_t *log);
ngx_int_t ngx_ws_perf_hub_push_text(ngx_ws_perf_peer_t *peer, u_char *text,
    size_t len, ngx_uint_t prio, ngx_log_t *log);
ngx_int_t ngx_ws_perf_hub_reply(ngx_ws_perf_peer_t *peer, u_char *text,
    size_t len, ngx_log_t *log);
ngx_int_t ngx_ws_perf_hub_error(ngx_ws_perf_peer_t *peer, ngx_uint_t code,
    const char *reason, ngx_uint_t target, ngx_str_t *name);
ngx_ws_perf_peer_t *ngx_ws_perf_hub_peer(ngx_connection_t *c,
    ngx_atomic_uint_t number);
ngx_int_t ngx_ws_perf_hub_resumed(ngx_ws_perf_peer_t *peer, void *topic,
    u_char *text, size_t len, ngx_uint_t prio, ngx_log_t *log);
ngx_uint_t ngx_ws_perf_hub_resuming(ngx_ws_perf_peer_t *peer, void *topic);
size_t ngx_ws_perf_hub_room(ngx_ws_perf_peer_t *peer);
void ngx_ws_perf_hub_drop_hold(ngx_ws_perf_sub_t *sub);
ngx_int_t ngx_ws_perf_hub_hold(ngx_ws_perf_sub_t *sub, ngx_log_t *log);
void ngx_ws_perf_hub_forget_queued(ngx_ws_perf_sub_t *sub);
void ngx_ws_perf_hub_direct_pull(ngx_ws_perf_peer_t *peer, ngx_log_t *log);
void ngx_ws_perf_hub_direct_drop(ngx_ws_perf_peer_t *peer);
void ngx_ws_perf_hub_direct_free(void);
uint64_t ngx_ws_perf_hub_id_value(u_char *id, size_t len);
void ngx_ws_perf_hub_release_hold(ngx_ws_perf_sub_t *sub, u_char **skip,
    size_t *skip_len, ngx_uint_t nskip, ngx_uint_t prio, ngx_log_t *log);
void ngx_ws_perf_hub_changed(ngx_ws_perf_topic_t *topic);
ngx_ws_perf_topic_t *ngx_ws_perf_hub_next_changed(void);
ngx_uint_t ngx_ws_perf_hub_notice(u_char *text, size_t len, ngx_log_t *log);
ngx_ws_perf_out_t *ngx_ws_perf_hub_sse_out(u_char *text, size_t len,
    ngx_log_t *log);
ngx_int_t ngx_ws_perf_hub_push_out(ngx_ws_perf_peer_t *peer,
    ngx_ws_perf_out_t *out, ngx_uint_t prio, ngx_log_t *log);
ngx_uint_t ngx_ws_perf_hub_notice_subs(ngx_ws_perf_topic_t *topic,
    u_char *text, size_t len, ngx_log_t *log);


extern ngx_ws_perf_hub_hook_pt   ngx_ws_perf_hub_first;
extern ngx_ws_perf_hub_hook_pt   ngx_ws_perf_hub_last;
extern ngx_uint_t                ngx_ws_perf_hub_track_changes;
extern ngx_ws_perf_hub_stats_t   ngx_ws_perf_hub_stats;


#endif /* _NGX_WS_PERF_HUB_H_INCLUDED_ */
