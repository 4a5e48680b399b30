
/*
 * Copyright (C) ngx_ws_perf_module authors
 */


#ifndef _NGX_WS_PERF_HTTP_H_INCLUDED_
#define _NGX_WS_PERF_HTTP_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include "ngx_ws_perf_msg.h"


/* the publish API and the dead-letter location (ngx_ws_perf_api.c) */
ngx_int_t ngx_ws_perf_publish_handler(ngx_http_request_t *r);
ngx_int_t ngx_ws_perf_dlq_handler(ngx_http_request_t *r);
size_t ngx_ws_perf_publish_too_big(ngx_ws_perf_msg_t *m);

/* responses (ngx_ws_perf_http.c) */
ngx_int_t ngx_ws_perf_send_response(ngx_http_request_t *r, ngx_uint_t status,
    char *type, u_char *data, size_t len);
ngx_int_t ngx_ws_perf_send_json(ngx_http_request_t *r, ngx_uint_t status,
    const char *fmt, ...);
ngx_int_t ngx_ws_perf_dlq_replayed(ngx_http_request_t *r,
    ngx_uint_t replayed, ngx_uint_t kept, ngx_str_t *why);


#endif /* _NGX_WS_PERF_HTTP_H_INCLUDED_ */
