
/*
 * Copyright (C) ngx_ws_perf_module authors
 */


#ifndef _NGX_WS_PERF_ENGINE_H_INCLUDED_
#define _NGX_WS_PERF_ENGINE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include "ngx_ws_perf_msg.h"
#include "ngx_ws_perf_hub.h"


/*
 * The engine carries messages between workers (and nodes) and keeps what
 * reliable delivery needs: inboxes, channel history, ack waits, dead
 * letters and scheduled messages.  One engine is chosen per worker at
 * init: Redis when ws_perf_redis or ws_perf_redis_sentinel is set, the
 * shared-memory zone otherwise.
 * Nothing outside the engines asks which one runs.
 */


/*
 * Told how a publish ended: rc is NGX_OK with the message id in text, or
 * an HTTP status (503, 507, 429, 500) with a reason.  tag is the caller's.
 */
typedef void (*ngx_ws_perf_publish_pt)(void *data, ngx_uint_t tag,
    ngx_int_t rc, ngx_str_t *text);

/*
 * A channel's or user's subscribers and messages, and the workers its
 * subscribers are on (-1: not known), or rc an HTTP status and a reason.
 */
typedef void (*ngx_ws_perf_info_pt)(void *data, ngx_int_t rc,
    uint64_t subscribers, uint64_t messages, ngx_int_t workers,
    ngx_str_t *reason);


/*
 * Who is present on a channel (GET ?presence= on the publish API): count
 * users, the first n of them in byte order (truncated: not all), valid
 * while the handler runs; or rc an HTTP status and a reason.
 */
typedef struct {
    uint64_t                    count;
    ngx_str_t                  *users;
    ngx_uint_t                  n;
    ngx_uint_t                  truncated;
} ngx_ws_perf_presence_list_t;

typedef void (*ngx_ws_perf_presence_pt)(void *data, ngx_int_t rc,
    ngx_ws_perf_presence_list_t *list, ngx_str_t *reason);


/* GET on a ws_perf_dlq location without ?id= */
typedef struct {
    ngx_str_t                   after;      /* a dead letter's id, or empty */
    ngx_uint_t                  count;      /* 1 to 1000 */
    ngx_str_t                   reason;     /* empty: any */
    ngx_str_t                   target;     /* "channel:NAME", "user:NAME" */
} ngx_ws_perf_dlq_query_t;


#define NGX_WS_PERF_ERR_LEN  256


typedef struct {
    const char                 *name;

    /* init_process and exit_process of a worker */
    ngx_int_t                 (*init)(ngx_cycle_t *cycle);
    void                      (*exit)(ngx_cycle_t *cycle);

    /*
     * Whether n messages, later of them scheduled, can be taken now:
     * NGX_OK, or an HTTP status with the reason in err (ERR_LEN bytes).
     */
    ngx_int_t                 (*room)(ngx_uint_t n, ngx_uint_t later,
                                      u_char *err);

    /*
     * Gives the message its id (unless the publisher chose one) and its
     * time, keeps it where reliable delivery needs it and delivers it to
     * every worker's subscribers.  NGX_OK: the handler was called;
     * NGX_AGAIN: it will be; NGX_DECLINED: the engine is unavailable,
     * NGX_BUSY: too many publishes wait, NGX_ERROR: the handler is not
     * called.
     */
    ngx_int_t                 (*publish)(ngx_ws_perf_msg_t *m,
                                         ngx_ws_perf_publish_pt handler,
                                         void *data, ngx_uint_t tag,
                                         ngx_log_t *log);

    /* the same, to be delivered at "at" (Unix ms); the id is "s..." */
    ngx_int_t                 (*schedule)(ngx_ws_perf_msg_t *m, int64_t at,
                                          ngx_ws_perf_publish_pt handler,
                                          void *data, ngx_uint_t tag);

    /* DELETE ?schedule=ID: answers the request */
    ngx_int_t                 (*cancel)(ngx_http_request_t *r, ngx_str_t *id);

    /* GET ?channel=|?user= on the publish API */
    ngx_int_t                 (*info)(ngx_uint_t target, ngx_str_t *name,
                                      ngx_ws_perf_info_pt handler,
                                      void *data);

    /*
     * A client's resume on one of its subscriptions and its acks; the
     * answers reach the peer through the hub (ngx_ws_perf_hub_reply).
     * NGX_OK or NGX_ERROR (the connection is closed).
     */
    ngx_int_t                 (*resume)(ngx_ws_perf_peer_t *peer,
                                        ngx_ws_perf_sub_t *sub,
                                        ngx_str_t *since);
    ngx_int_t                 (*ack)(ngx_ws_perf_peer_t *peer,
                                     ngx_str_t *id);

    /*
     * A connection of user takes one of the user's max slots, counted on
     * every worker (and, with Redis, every node): NGX_OK taken,
     * NGX_DECLINED the user has max already, NGX_AGAIN the handler will
     * be called with one of those, NGX_ERROR.  leave() gives a slot back.
     */
    ngx_int_t                 (*admit)(ngx_str_t *user, ngx_uint_t max,
                                       ngx_ws_perf_admit_pt handler,
                                       void *data);
    void                      (*leave)(ngx_str_t *user);

    /*
     * The members of a channel on every worker (and node): NGX_OK the
     * handler was called, NGX_AGAIN it will be, NGX_DECLINED unavailable.
     */
    ngx_int_t                 (*presence)(ngx_str_t *channel,
                                          ngx_ws_perf_presence_pt handler,
                                          void *data);

    /* the dead letters, on a ws_perf_dlq location: each answers r */
    ngx_int_t                 (*dlq_list)(ngx_http_request_t *r,
                                          ngx_ws_perf_dlq_query_t *q);
    ngx_int_t                 (*dlq_get)(ngx_http_request_t *r,
                                         ngx_str_t *id);
    ngx_int_t                 (*dlq_replay)(ngx_http_request_t *r,
                                            ngx_str_t *id);
    ngx_int_t                 (*dlq_delete)(ngx_http_request_t *r,
                                            ngx_str_t *id);
} ngx_ws_perf_engine_t;


extern ngx_ws_perf_engine_t  *ngx_ws_perf_engine;

extern ngx_ws_perf_engine_t   ngx_ws_perf_redis_engine;
extern ngx_ws_perf_engine_t   ngx_ws_perf_shm_engine;


#endif /* _NGX_WS_PERF_ENGINE_H_INCLUDED_ */
