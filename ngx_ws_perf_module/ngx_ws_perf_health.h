
/*
 * Copyright (C) ngx_ws_perf_module authors
 */


#ifndef _NGX_WS_PERF_HEALTH_H_INCLUDED_
#define _NGX_WS_PERF_HEALTH_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


ngx_int_t ngx_ws_perf_health_handler(ngx_http_request_t *r);


#endif /* _NGX_WS_PERF_HEALTH_H_INCLUDED_ */
