
/*
 * Copyright (C) ngx_ws_perf_module authors
 */


#ifndef _NGX_WS_PERF_METRICS_H_INCLUDED_
#define _NGX_WS_PERF_METRICS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include "ngx_ws_perf_msg.h"
#include "ngx_ws_perf_hist.h"


/* close codes counted one by one; the rest are "other" */
#define NGX_WS_PERF_M_CLOSE_1000      0
#define NGX_WS_PERF_M_CLOSE_1001      1
#define NGX_WS_PERF_M_CLOSE_1002      2
#define NGX_WS_PERF_M_CLOSE_1003      3
#define NGX_WS_PERF_M_CLOSE_1005      4     /* a close frame without code */
#define NGX_WS_PERF_M_CLOSE_1006      5     /* no close frame: EOF, error */
#define NGX_WS_PERF_M_CLOSE_1007      6
#define NGX_WS_PERF_M_CLOSE_1008      7
#define NGX_WS_PERF_M_CLOSE_1009      8
#define NGX_WS_PERF_M_CLOSE_1011      9
#define NGX_WS_PERF_M_CLOSE_OTHER     10
#define NGX_WS_PERF_M_CLOSE_N         11

/* why a handshake was refused */
#define NGX_WS_PERF_M_HS_METHOD       0     /* not GET */
#define NGX_WS_PERF_M_HS_HTTP         1     /* not HTTP/1.1 */
#define NGX_WS_PERF_M_HS_UPGRADE      2     /* no "Upgrade: websocket" */
#define NGX_WS_PERF_M_HS_CONNECTION   3     /* no "Connection: upgrade" */
#define NGX_WS_PERF_M_HS_VERSION      4     /* not version 13 */
#define NGX_WS_PERF_M_HS_KEY          5
#define NGX_WS_PERF_M_HS_ORIGIN       6
#define NGX_WS_PERF_M_HS_BODY         7
#define NGX_WS_PERF_M_HS_TARGET       8     /* bad or too many channels */
#define NGX_WS_PERF_M_HS_USER_LIMIT   9
#define NGX_WS_PERF_M_HS_INTERNAL     10
#define NGX_WS_PERF_M_HS_N            11

/* the Redis links of one worker, as health and the status see them */
#define NGX_WS_PERF_M_REDIS_DOWN        0
#define NGX_WS_PERF_M_REDIS_CONNECTING  1
#define NGX_WS_PERF_M_REDIS_UP          2   /* every link ready */


/*
 * One worker's counters in the shared zone.  Only the worker that owns the
 * slot writes it (plain stores, no locks); readers add the slots up.  A
 * slot outlives its worker: the totals of every slot ever used are the
 * node's totals, across reloads.
 */
typedef struct {
    ngx_atomic_t                pid;        /* the owner; 0: free */
    uint64_t                    started;    /* the owner's start, Unix s */
    uint64_t                    ticks;      /* timer ticks, to see it live */

    uint64_t                    conn_opened;
    uint64_t                    conn_closed;
    uint64_t                    closed[NGX_WS_PERF_M_CLOSE_N];
    uint64_t                    hs_accepted;
    uint64_t                    hs_rejected[NGX_WS_PERF_M_HS_N];

    uint64_t                    published;
    uint64_t                    delivered;
    uint64_t                    dropped[NGX_WS_PERF_PRIO_N];
    uint64_t                    redelivered;
    uint64_t                    dead_lettered;
    int64_t                     scheduled;  /* gauge */

    uint64_t                    bytes_in;
    uint64_t                    bytes_out;
    int64_t                     queued;     /* gauge: bytes in send queues */
    uint64_t                    queue_max;  /* the largest one queue held */

    uint64_t                    redis_configured;
    uint64_t                    redis_state;
    uint64_t                    redis_since;    /* Unix s of the last change */
    uint64_t                    redis_subscribed;
    uint64_t                    redis_reconnects;
    uint64_t                    redis_pending;
    uint64_t                    redis_dropped;  /* malformed, not UTF-8 */
    uint64_t                    redis_bad_replies;  /* each dropped a link */

    int64_t                     deflate_conns;      /* gauge */
    uint64_t                    deflate_messages;   /* compressed, once */
    uint64_t                    deflate_bytes_in;   /* before compressing */
    uint64_t                    deflate_bytes_out;  /* after */
    uint64_t                    inflate_messages;
    int64_t                     inflate_contexts;   /* gauge */
    int64_t                     inflate_bytes;      /* gauge: theirs */

    uint64_t                    shm_size;   /* the engine's zone, bytes */
    uint64_t                    shm_used;
    uint64_t                    shm_repairs;    /* of the zone, ever */

    int64_t                     presence_members;   /* gauge: users with */
                                                    /* connections here */
    uint64_t                    presence_events;    /* sent to a channel */
    uint64_t                    presence_held;      /* over the rate */

    uint64_t                    rss;        /* bytes */
    uint64_t                    cpu_ms;     /* user + system */

    ngx_ws_perf_hist_t          latency;    /* hub to socket, microseconds */
    ngx_ws_perf_hist_t          redis_latency;
    ngx_ws_perf_hist_t          bus_latency;    /* worker to worker, us */
} ngx_ws_perf_mslot_t;


/*
 * This worker's slot; with metrics off, or before the zone exists, a
 * private one, so that counting never tests a flag.
 */
extern ngx_ws_perf_mslot_t  *ngx_ws_perf_mslot;

/* 1 when latencies are measured: the clock is read only then */
extern ngx_uint_t            ngx_ws_perf_metrics_timing;


#define ngx_ws_perf_metrics_inc(field)      ngx_ws_perf_mslot->field++
#define ngx_ws_perf_metrics_add(field, n)   ngx_ws_perf_mslot->field += (n)


/* a monotonic clock in microseconds, for latencies; 0 when not timing */
static ngx_inline uint64_t
ngx_ws_perf_metrics_now(void)
{
    struct timespec  ts;

    if (!ngx_ws_perf_metrics_timing) {
        return 0;
    }

    (void) clock_gettime(CLOCK_MONOTONIC, &ts);

    return (uint64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}


/* a message queued at "since" (ngx_ws_perf_metrics_now()) reached a socket */
static ngx_inline void
ngx_ws_perf_metrics_delivery(uint64_t since, uint64_t now)
{
    ngx_ws_perf_hist_add(&ngx_ws_perf_mslot->latency,
                         now > since ? now - since : 0);
}


/* the queue of one connection holds "bytes" after a push */
static ngx_inline void
ngx_ws_perf_metrics_queue_depth(size_t bytes)
{
    if (bytes > ngx_ws_perf_mslot->queue_max) {
        ngx_ws_perf_mslot->queue_max = bytes;
    }
}


void ngx_ws_perf_metrics_closed(ngx_uint_t code);
void ngx_ws_perf_metrics_rejected(ngx_uint_t reason);


/*
 * For the Redis engine, from the worker that owns the connection.  Health
 * answers 503 while a worker that said "configured" is not connected or
 * has not got its subscriptions in place.
 */
void ngx_ws_perf_metrics_redis_configured(ngx_uint_t configured);
void ngx_ws_perf_metrics_redis_state(ngx_uint_t state);
void ngx_ws_perf_metrics_redis_subscribed(ngx_uint_t in_place);
void ngx_ws_perf_metrics_redis_reconnect(void);
void ngx_ws_perf_metrics_redis_pending(ngx_uint_t n);
void ngx_ws_perf_metrics_redis_command_latency_us(uint64_t us);
void ngx_ws_perf_metrics_shm(size_t size, size_t used, ngx_uint_t repairs);
void ngx_ws_perf_metrics_bus_latency_us(uint64_t us);

/* scheduled messages waiting, a gauge */
void ngx_ws_perf_metrics_scheduled(ngx_int_t delta);


extern ngx_module_t  ngx_ws_perf_metrics_module;


#endif /* _NGX_WS_PERF_METRICS_H_INCLUDED_ */
