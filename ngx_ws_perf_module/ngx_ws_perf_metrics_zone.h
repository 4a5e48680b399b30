
/*
 * Copyright (C) ngx_ws_perf_module authors
 */


#ifndef _NGX_WS_PERF_METRICS_ZONE_H_INCLUDED_
#define _NGX_WS_PERF_METRICS_ZONE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include "ngx_ws_perf_metrics.h"


/*
 * The metrics zone as the parts of metrics read it: the counters
 * (ngx_ws_perf_metrics.c), the alerts, the status and the health.
 */


#define NGX_WS_PERF_RING            61      /* seconds of snapshots */
#define NGX_WS_PERF_ALERTS_MAX      16

/* what an alert watches (ngx_ws_perf_alerts.c names them) */
#define NGX_WS_PERF_A_P95           0
#define NGX_WS_PERF_A_P99           1
#define NGX_WS_PERF_A_ERROR_RATE    2
#define NGX_WS_PERF_A_DROP_RATE     3
#define NGX_WS_PERF_A_CONNECTIONS   4
#define NGX_WS_PERF_A_MEMORY        5


typedef struct {
    ngx_uint_t                  metric;
    uint64_t                    threshold;  /* us, ppm, count or bytes */
} ngx_ws_perf_alert_conf_t;


typedef struct {
    ngx_flag_t                  enable;
    size_t                      zone_size;
    ngx_msec_t                  window;
    ngx_array_t                 alerts;     /* ngx_ws_perf_alert_conf_t */
    ngx_shm_zone_t             *shm_zone;
} ngx_ws_perf_metrics_conf_t;


/* the node's totals at the end of one second */
typedef struct {
    uint64_t                    sec;
    uint64_t                    published;
    uint64_t                    delivered;
    uint64_t                    dropped;
    uint64_t                    errors;     /* failed handshakes and closes */
    uint64_t                    events;     /* all handshakes and closes */
    ngx_ws_perf_hist_t          latency;
} ngx_ws_perf_snap_t;


/* what the last evaluation saw over the alert window */
typedef struct {
    uint64_t                    sec;        /* when it was computed */
    uint64_t                    seconds;    /* the window it covered */
    uint64_t                    published;  /* per second, thousandths */
    uint64_t                    delivered;
    uint64_t                    dropped;
    uint64_t                    error_rate; /* parts per million */
    uint64_t                    drop_rate;
    uint64_t                    count;      /* latencies in the window */
    uint64_t                    p50;        /* microseconds */
    uint64_t                    p95;
    uint64_t                    p99;
    uint64_t                    p999;
} ngx_ws_perf_window_t;


typedef struct {
    uint64_t                    metric;
    uint64_t                    threshold;
    uint64_t                    value;
    uint64_t                    firing;
    uint64_t                    since;      /* Unix s of the last change */
} ngx_ws_perf_alert_t;


typedef struct {
    uint64_t                    magic;
    uint64_t                    started;    /* the zone's creation, Unix s */
    ngx_atomic_t                eval_sec;   /* the last second evaluated */
    uint64_t                    nslots;
    uint64_t                    nalerts;
    uint64_t                    window_sec; /* ws_perf_alert_window */
    ngx_ws_perf_window_t        window;
    ngx_ws_perf_alert_t         alert[NGX_WS_PERF_ALERTS_MAX];
    ngx_ws_perf_snap_t          ring[NGX_WS_PERF_RING];
    ngx_ws_perf_mslot_t         slot[1];
} ngx_ws_perf_metrics_sh_t;


/* NULL in processes that are not workers, or before the zone exists */
extern ngx_ws_perf_metrics_sh_t  *ngx_ws_perf_metrics_sh;


ngx_uint_t ngx_ws_perf_metrics_slot_live(ngx_ws_perf_mslot_t *slot);
ngx_uint_t ngx_ws_perf_metrics_counting(void);
char *ngx_ws_perf_metrics_redis_state_name(uint64_t state);


#endif /* _NGX_WS_PERF_METRICS_ZONE_H_INCLUDED_ */
