
/*
 * Copyright (C) ngx_ws_perf_module authors
 */


#ifndef _NGX_WS_PERF_PUBSUB_H_INCLUDED_
#define _NGX_WS_PERF_PUBSUB_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include "ngx_ws_perf_conn.h"


ngx_int_t ngx_ws_perf_targets(ngx_http_request_t *r,
    ngx_ws_perf_loc_conf_t *wlcf, ngx_ws_perf_targets_t *t, char **reason);
ngx_int_t ngx_ws_perf_admit(ngx_ws_perf_loc_conf_t *wlcf, ngx_str_t *user,
    ngx_ws_perf_admit_pt handler, void *data);
void ngx_ws_perf_leave(ngx_str_t *user);
ngx_int_t ngx_ws_perf_subscribe_targets(ngx_ws_perf_conn_t *wc,
    ngx_ws_perf_targets_t *t);
ngx_int_t ngx_ws_perf_resume_targets(ngx_ws_perf_conn_t *wc);
ngx_uint_t ngx_ws_perf_stream_targets(ngx_ws_perf_targets_t *t);
ngx_int_t ngx_ws_perf_command(ngx_ws_perf_conn_t *wc, u_char *p, size_t len);
ngx_int_t ngx_ws_perf_rate_check(ngx_ws_perf_conn_t *wc);


#endif /* _NGX_WS_PERF_PUBSUB_H_INCLUDED_ */
