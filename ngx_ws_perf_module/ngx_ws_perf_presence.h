
/*
 * Copyright (C) ngx_ws_perf_module authors
 */


#ifndef _NGX_WS_PERF_PRESENCE_H_INCLUDED_
#define _NGX_WS_PERF_PRESENCE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include "ngx_ws_perf_hub.h"


/*
 * Presence, the worker's side (docs/protocol.md, "Presence"): which users
 * have connections of a ws_perf_presence location on a channel here, the
 * engine told when a user's first one comes and its last one goes, and
 * the join and leave events the engine brings back fanned out to the
 * channel's presence subscribers within ws_perf_presence_rate.
 */


#define NGX_WS_PERF_PRESENCE_JOIN      1
#define NGX_WS_PERF_PRESENCE_LEAVE     2

/* the most users a GET on the publish API lists */
#define NGX_WS_PERF_PRESENCE_LIST_MAX  1000


/* a channel's presence in this worker */
struct ngx_ws_perf_presence_s {
    ngx_rbtree_t                members;    /* of ngx_ws_perf_member_t */
    ngx_rbtree_node_t           sentinel;
    ngx_uint_t                  nmembers;
    ngx_uint_t                  listeners;  /* subscribers that get events */
    ngx_uint_t                  tokens;     /* thousandths of an event */
    ngx_msec_t                  refilled;
    ngx_msec_t                  held;       /* the last event held back */
    uint64_t                    count;      /* the newest member count */
    ngx_uint_t                  over;       /* counts only, for now */
    ngx_uint_t                  dirty;      /* a count not sent yet */
    ngx_queue_t                 queue;      /* in the list of those over */
    ngx_queue_t                 all;        /* in the worker's list */
    ngx_ws_perf_topic_t        *topic;      /* whose it is */
};


/* a user's local connections on one channel */
typedef struct {
    ngx_str_node_t              sn;         /* the user follows */
    ngx_uint_t                  n;
} ngx_ws_perf_member_t;


/* told of a user's first (join) or last local connection on a channel */
typedef void (*ngx_ws_perf_presence_hook_pt)(ngx_str_t *channel,
    ngx_str_t *user, ngx_uint_t join);

typedef void (*ngx_ws_perf_presence_walk_pt)(ngx_ws_perf_topic_t *topic,
    ngx_str_t *user, void *data);

/* NGX_DONE stops a walk of the channels */
typedef ngx_int_t (*ngx_ws_perf_presence_each_pt)(ngx_ws_perf_topic_t *topic,
    void *data);


void ngx_ws_perf_presence_init(ngx_cycle_t *cycle, ngx_uint_t rate);
void ngx_ws_perf_presence_add(ngx_ws_perf_peer_t *peer,
    ngx_ws_perf_topic_t *topic, ngx_log_t *log);
void ngx_ws_perf_presence_del(ngx_ws_perf_peer_t *peer,
    ngx_ws_perf_topic_t *topic);
void ngx_ws_perf_presence_free(ngx_ws_perf_topic_t *topic);
void ngx_ws_perf_presence_event(ngx_str_t *channel, ngx_str_t *user,
    ngx_uint_t kind, uint64_t count, ngx_log_t *log);
void ngx_ws_perf_presence_walk(ngx_ws_perf_topic_t *topic,
    ngx_ws_perf_presence_walk_pt handler, void *data);
void ngx_ws_perf_presence_each(ngx_ws_perf_presence_each_pt handler,
    void *data);
int ngx_ws_perf_presence_cmp(const void *one, const void *two);


extern ngx_ws_perf_presence_hook_pt  ngx_ws_perf_presence_hook;


#endif /* _NGX_WS_PERF_PRESENCE_H_INCLUDED_ */
