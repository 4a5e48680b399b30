
/*
 * Copyright (C) ngx_ws_perf_module authors
 */


#ifndef _NGX_WS_PERF_CONN_H_INCLUDED_
#define _NGX_WS_PERF_CONN_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include "ngx_ws_perf.h"
#include "ngx_ws_perf_frame.h"
#include "ngx_ws_perf_queue.h"
#include "ngx_ws_perf_msg.h"
#include "ngx_ws_perf_hub.h"
#include "ngx_ws_perf_deflate.h"


/* what the pub/sub endpoint evaluated from the handshake request */
typedef struct {
    ngx_array_t                 channels;           /* of ngx_str_t */
    ngx_str_t                   user;
    ngx_array_t                *allowed;            /* of ngx_str_t */
    ngx_str_t                   since;      /* an event stream's */
                                            /* Last-Event-ID, or empty */
    ngx_uint_t                  admitted;   /* the user's slot is taken */
} ngx_ws_perf_targets_t;



/* the state an upgraded connection keeps after its request is freed */
typedef struct {
    ngx_ws_perf_peer_t          peer;       /* the hub's view, first */
    ngx_ws_perf_queue_t         queue;      /* its bytes next to it */
    ngx_ws_perf_loc_conf_t     *conf;
    ngx_ws_perf_frame_parser_t  parser;

    ngx_ws_perf_out_t          *message;    /* the data message being read */
    size_t                      message_size;
    ngx_ws_perf_inflate_t      *inflate;    /* its own context, if kept */
    ngx_uint_t                  inflate_bits;   /* 0: the worker's stream */
    u_char                     *input;      /* bytes read and not parsed */
    size_t                      input_len;  /* yet: after the handshake, */
    size_t                      input_off;  /* or while the queue is full */

    ngx_event_t                 timer;      /* ping, idle and close timer */
    ngx_msec_t                  last_in;
    ngx_msec_t                  last_ping;

    ngx_ws_perf_sub_t          *subs;
    ngx_uint_t                  nchannels;
    ngx_str_t                   user;
    ngx_array_t                *allowed;    /* channel patterns for "sub" */
    ngx_str_t                   since;      /* an event stream resumes */
    ngx_msec_t                  rate_time;
    ngx_uint_t                  rate_credit;    /* thousandths of a message */
    uint64_t                    skip;       /* closing under TLS: bytes of */
                                            /* a message too big, unread */

    unsigned                    draining:1; /* close frame sent; await EOF */
    unsigned                    peer_closed:1;  /* the client's close came */
    unsigned                    read_paused:1;
    unsigned                    admitted:1; /* holds a slot of its user */
    unsigned                    blocked:1;  /* an event stream's socket */
                                            /* took not all: since last_in */
} ngx_ws_perf_conn_t;


ngx_int_t ngx_ws_perf_handshake(ngx_http_request_t *r,
    ngx_ws_perf_loc_conf_t *wlcf);
ngx_int_t ngx_ws_perf_conn_upgrade(ngx_http_request_t *r,
    ngx_ws_perf_loc_conf_t *wlcf, ngx_ws_perf_out_t *response,
    ngx_ws_perf_targets_t *targets);


#endif /* _NGX_WS_PERF_CONN_H_INCLUDED_ */
