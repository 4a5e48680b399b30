
/*
 * Copyright (C) ngx_ws_perf_module authors
 */


#ifndef _NGX_WS_PERF_HTTP_H_INCLUDED_
#define _NGX_WS_PERF_HTTP_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include "ngx_ws_perf_msg.h"


/*
 * A request waiting for an answer that may come after it is gone (a
 * client that hangs up): the first member of the waiting context, which
 * ngx_ws_perf_http_wait() allocates (ngx_alloc, size bytes) and which the
 * answer's handler frees.
 */
typedef struct {
    ngx_http_request_t         *request;    /* NULL once it is gone */
    ngx_pool_cleanup_t         *cleanup;
} ngx_ws_perf_http_wait_t;


/* the publish API and the dead-letter location (ngx_ws_perf_api.c) */
ngx_int_t ngx_ws_perf_publish_handler(ngx_http_request_t *r);
ngx_int_t ngx_ws_perf_dlq_handler(ngx_http_request_t *r);
size_t ngx_ws_perf_publish_too_big(ngx_ws_perf_msg_t *m);

ngx_int_t ngx_ws_perf_split_names(ngx_pool_t *pool, ngx_str_t *value,
    ngx_array_t *names);

/* responses (ngx_ws_perf_http.c) */
ngx_int_t ngx_ws_perf_http_header(ngx_http_request_t *r, char *name,
    char *value);
ngx_int_t ngx_ws_perf_send_response(ngx_http_request_t *r, ngx_uint_t status,
    char *type, u_char *data, size_t len);
ngx_int_t ngx_ws_perf_send_json(ngx_http_request_t *r, ngx_uint_t status,
    const char *fmt, ...);
void ngx_ws_perf_http_cork(ngx_http_request_t *r);
ngx_int_t ngx_ws_perf_http_push(ngx_connection_t *c);
ngx_int_t ngx_ws_perf_dlq_replayed(ngx_http_request_t *r,
    ngx_uint_t replayed, ngx_uint_t kept, ngx_str_t *why);

/* waiting for an answer (ngx_ws_perf_http.c) */
void *ngx_ws_perf_http_wait(ngx_http_request_t *r, size_t size);
ngx_int_t ngx_ws_perf_http_hold(void *ctx);
ngx_http_request_t *ngx_ws_perf_http_waited(void *ctx);
void ngx_ws_perf_http_answer(ngx_http_request_t *r, ngx_int_t rc);


#endif /* _NGX_WS_PERF_HTTP_H_INCLUDED_ */
