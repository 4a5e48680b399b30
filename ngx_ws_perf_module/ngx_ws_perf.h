
/*
 * Copyright (C) ngx_ws_perf_module authors
 */


#ifndef _NGX_WS_PERF_H_INCLUDED_
#define _NGX_WS_PERF_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include "ngx_ws_perf_frame.h"
#include "ngx_ws_perf_queue.h"


#define NGX_WS_PERF_MODE_NONE     0
#define NGX_WS_PERF_MODE_PUBSUB   1
#define NGX_WS_PERF_MODE_ECHO     2


typedef struct {
    ngx_uint_t                  mode;
    size_t                      max_message_size;
    size_t                      send_queue_size;
    ngx_msec_t                  ping_interval;
    ngx_msec_t                  idle_timeout;
    ngx_msec_t                  close_timeout;
    ngx_array_t                *allowed_origins;    /* of ngx_str_t */
    ngx_array_t                *subprotocols;       /* of ngx_str_t */
} ngx_ws_perf_loc_conf_t;


/* the state an upgraded connection keeps after its request is freed */
typedef struct {
    ngx_connection_t           *connection;
    ngx_ws_perf_loc_conf_t     *conf;
    ngx_ws_perf_queue_t         queue;
    ngx_ws_perf_frame_parser_t  parser;

    ngx_ws_perf_out_t          *message;    /* the data message being read */
    size_t                      message_size;
    u_char                     *input;      /* bytes that came with the */
    size_t                      input_len;  /* handshake */

    ngx_event_t                 timer;      /* ping, idle and close timer */
    ngx_msec_t                  last_in;
    ngx_msec_t                  last_ping;

    unsigned                    closing:1;  /* a close frame is queued */
    unsigned                    draining:1; /* it was sent; await EOF */
    unsigned                    read_paused:1;
} ngx_ws_perf_conn_t;


ngx_int_t ngx_ws_perf_handshake(ngx_http_request_t *r,
    ngx_ws_perf_loc_conf_t *wlcf);
ngx_int_t ngx_ws_perf_conn_upgrade(ngx_http_request_t *r,
    ngx_ws_perf_loc_conf_t *wlcf, ngx_ws_perf_out_t *response);


extern ngx_module_t  ngx_ws_perf_module;


#endif /* _NGX_WS_PERF_H_INCLUDED_ */
