
/*
 * Copyright (C) ngx_ws_perf_module authors
 */


#ifndef _NGX_WS_PERF_STATUS_H_INCLUDED_
#define _NGX_WS_PERF_STATUS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include "ngx_ws_perf_metrics_zone.h"


/* the most one conversion writes: "-N.NNNNNN", or a short word for %s */
#define NGX_WS_PERF_STATUS_CONV_LEN   (NGX_INT64_LEN + sizeof(".000000"))


/* the slots added up, and what the formats derive from them */
typedef struct {
    ngx_ws_perf_mslot_t         s;
    uint64_t                    uptime;     /* the zone's age, s */
    uint64_t                    metrics;    /* 1: ws_perf_metrics on */
    uint64_t                    current;    /* open connections */
    uint64_t                    errors;     /* closes with an error code */
    uint64_t                    rejected;   /* all refused handshakes */
    uint64_t                    dropped;    /* all priorities */
    uint64_t                    live;       /* live workers */
    uint64_t                    redis_up;   /* ... with Redis in place */
} ngx_ws_perf_status_sum_t;


void ngx_ws_perf_status_sum(ngx_ws_perf_metrics_sh_t *sh,
    ngx_ws_perf_status_sum_t *sum);
ngx_int_t ngx_ws_perf_status_handler(ngx_http_request_t *r);

size_t ngx_ws_perf_status_fmt_len(const char *fmt);
ngx_int_t ngx_ws_perf_status_send(ngx_http_request_t *r, ngx_uint_t status,
    char *type, u_char *buf, u_char *p, size_t len);


#endif /* _NGX_WS_PERF_STATUS_H_INCLUDED_ */
