
/*
 * Copyright (C) ngx_ws_perf_module authors
 */


#ifndef _NGX_WS_PERF_COMPRESS_H_INCLUDED_
#define _NGX_WS_PERF_COMPRESS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include "ngx_ws_perf_frame.h"
#include "ngx_ws_perf_queue.h"
#include "ngx_ws_perf_msg.h"
#include "ngx_ws_perf_lz4.h"
#include "ngx_ws_perf_deflate.h"


/* the subprotocol whose clients take large messages as lz4 frames */
#define NGX_WS_PERF_LZ4_PROTOCOL    "ws-perf.v1+lz4"


/* ws_perf_compress_min size | off */
char *ngx_ws_perf_compress_min(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

/* after an upgrade: lz4 frames for a client that chose the lz4 variant */
void ngx_ws_perf_compress_accept(ngx_http_request_t *r, ngx_str_t *protocol);

/*
 * The lz4 form of an encoded text frame: a binary frame of its payload's
 * block, or the text frame itself (one more reference) when compressing
 * does not pay.  NULL: no memory.
 */
ngx_ws_perf_out_t *ngx_ws_perf_compress_frame(ngx_ws_perf_out_t *text,
    ngx_log_t *log);

/*
 * What goes to Redis: m itself, or, when its payload is at least min bytes
 * and compressing pays, packed: a copy of m whose payload is the block,
 * flagged lz4.  The block lasts until the next call.
 */
ngx_ws_perf_msg_t *ngx_ws_perf_compress_wire(ngx_ws_perf_msg_t *m,
    ngx_ws_perf_msg_t *packed, size_t min);

/*
 * What Redis delivered, made plain: a message flagged lz4 is decompressed
 * into *plain, which the caller frees with ngx_free() after delivery.
 * NGX_OK (*plain is NULL for a message that was not compressed), or
 * NGX_DECLINED: a malformed block, or no memory.
 */
ngx_int_t ngx_ws_perf_compress_unwire(ngx_ws_perf_msg_t *m, u_char **plain);

/* the worker's scratch buffer back to malloc (also from exit_process) */
void ngx_ws_perf_compress_release(void);

/* ws_perf_deflate_client_context off | 9..15 */
char *ngx_ws_perf_deflate_context(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

/* what the server accepts of a permessage-deflate offer */
void ngx_ws_perf_compress_deflate_conf(ngx_http_request_t *r,
    ngx_ws_perf_deflate_conf_t *conf);

/*
 * The permessage-deflate form of an encoded data frame, compressed with
 * the worker's stream (RSV1 set), or the frame itself (one more
 * reference) when compressing does not pay.  NULL: no memory.
 */
ngx_ws_perf_out_t *ngx_ws_perf_compress_deflate(ngx_ws_perf_out_t *plain,
    ngx_log_t *log);

/*
 * A client's compressed message inflated into *plain (an unfinished
 * frame: the payload between start and last), with the connection's
 * context, or the worker's stream when ctx is NULL.  NGX_OK; NGX_DECLINED
 * with *code 1009 (more than max bytes) or 1007 (not deflate data);
 * NGX_ERROR: no memory.
 */
ngx_int_t ngx_ws_perf_compress_inflate(ngx_ws_perf_inflate_t *ctx,
    u_char *in, size_t len, size_t max, ngx_ws_perf_out_t **plain,
    ngx_uint_t *code, ngx_log_t *log);

/* a connection's own inflate context of 2^bits of window; NULL: no memory */
ngx_ws_perf_inflate_t *ngx_ws_perf_compress_inflate_context(ngx_uint_t bits,
    ngx_log_t *log);
void ngx_ws_perf_compress_inflate_free(ngx_ws_perf_inflate_t *ctx);

/* the worker's streams freed, at exit */
void ngx_ws_perf_compress_deflate_end(void);


#endif /* _NGX_WS_PERF_COMPRESS_H_INCLUDED_ */
