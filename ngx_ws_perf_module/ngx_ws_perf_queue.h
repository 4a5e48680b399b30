
/*
 * Copyright (C) ngx_ws_perf_module authors
 */


#ifndef _NGX_WS_PERF_QUEUE_H_INCLUDED_
#define _NGX_WS_PERF_QUEUE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include "ngx_ws_perf_msg.h"


/*
 * One encoded frame (header + payload), shared by every queue that holds
 * it; freed when the last reference goes.
 */
typedef struct {
    ngx_uint_t                  refs;
    u_char                     *pos;        /* the frame header */
    u_char                     *last;       /* the end of the payload */
    u_char                     *start;      /* the payload, for its writer */
    uint64_t                    since;      /* entered the hub, us; 0: not
                                               a message */
    u_char                      data[1];
} ngx_ws_perf_out_t;


typedef struct ngx_ws_perf_qnode_s  ngx_ws_perf_qnode_t;

struct ngx_ws_perf_qnode_s {
    ngx_ws_perf_qnode_t        *next;
    ngx_ws_perf_out_t          *out;
    void                       *tag;        /* the topic, for a message */
};


typedef struct {
    size_t                      bytes;      /* queued and not yet sent; */
                                            /* first: a fan-out reads it */
    ngx_ws_perf_qnode_t        *head[NGX_WS_PERF_PRIO_N];
    ngx_ws_perf_qnode_t       **tail[NGX_WS_PERF_PRIO_N];
    ngx_ws_perf_qnode_t        *cur;        /* a frame partly on the wire */
    ngx_ws_perf_qnode_t        *last;       /* the close frame, sent last */
    size_t                      cur_sent;
    ngx_uint_t                  frames;     /* queued, cur and last too */
} ngx_ws_perf_queue_t;


/* what a queued frame costs beyond its bytes: its node and its header */
#define NGX_WS_PERF_FRAME_COST                                               \
    (sizeof(ngx_ws_perf_qnode_t) + offsetof(ngx_ws_perf_out_t, data)         \
     + NGX_WS_PERF_FRAME_HEADER_MAX)


ngx_ws_perf_out_t *ngx_ws_perf_out_alloc(size_t len, ngx_log_t *log);
void ngx_ws_perf_out_finish(ngx_ws_perf_out_t *out, ngx_uint_t opcode);
ngx_ws_perf_out_t *ngx_ws_perf_out_frame(ngx_uint_t opcode, u_char *data,
    size_t len, ngx_log_t *log);
ngx_ws_perf_out_t *ngx_ws_perf_out_raw(u_char *data, size_t len,
    ngx_log_t *log);
void ngx_ws_perf_out_release(ngx_ws_perf_out_t *out);

void ngx_ws_perf_queue_init(ngx_ws_perf_queue_t *q);
ngx_int_t ngx_ws_perf_queue_push(ngx_ws_perf_queue_t *q,
    ngx_ws_perf_out_t *out, ngx_uint_t prio, ngx_log_t *log);
ngx_int_t ngx_ws_perf_queue_push_bounded(ngx_ws_perf_queue_t *q,
    ngx_ws_perf_out_t *out, ngx_uint_t prio, size_t limit, ngx_uint_t *drops,
    ngx_log_t *log);
ngx_int_t ngx_ws_perf_queue_push_partial(ngx_ws_perf_queue_t *q,
    ngx_ws_perf_out_t *out, size_t sent, ngx_log_t *log);
ngx_int_t ngx_ws_perf_queue_push_last(ngx_ws_perf_queue_t *q,
    ngx_ws_perf_out_t *out, ngx_log_t *log);
ngx_int_t ngx_ws_perf_queue_send(ngx_ws_perf_queue_t *q,
    ngx_connection_t *c);
ngx_uint_t ngx_ws_perf_queue_fits(ngx_ws_perf_queue_t *q, size_t len,
    ngx_uint_t prio, size_t limit);
void ngx_ws_perf_queue_tag_last(ngx_ws_perf_queue_t *q, ngx_uint_t prio,
    void *tag);
void ngx_ws_perf_queue_drop_tagged(ngx_ws_perf_queue_t *q, void *tag);
void ngx_ws_perf_queue_discard(ngx_ws_perf_queue_t *q);
void ngx_ws_perf_queue_free(ngx_ws_perf_queue_t *q);
void ngx_ws_perf_queue_cleanup(void);

#define ngx_ws_perf_queue_empty(q)  ((q)->bytes == 0)

/* the memory a queue holds, for bounds on what a client makes it queue */
#define ngx_ws_perf_queue_cost(q)                                            \
    ((q)->bytes + (q)->frames * NGX_WS_PERF_FRAME_COST)


#endif /* _NGX_WS_PERF_QUEUE_H_INCLUDED_ */
