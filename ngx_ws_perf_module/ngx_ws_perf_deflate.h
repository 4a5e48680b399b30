
/*
 * Copyright (C) ngx_ws_perf_module authors
 */


#ifndef _NGX_WS_PERF_DEFLATE_H_INCLUDED_
#define _NGX_WS_PERF_DEFLATE_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>
#include <zlib.h>


/* the window bits a peer may ask for (RFC 7692 7.1.2) and zlib takes */
#define NGX_WS_PERF_DEFLATE_WBITS_MIN   9
#define NGX_WS_PERF_DEFLATE_WBITS_MAX   15

/* the longest answer ngx_ws_perf_deflate_answer() writes */
#define NGX_WS_PERF_DEFLATE_ANSWER_MAX  128

/* what one Sec-WebSocket-Extensions header value gave */
#define NGX_WS_PERF_DEFLATE_NONE        0   /* no offer that fits */
#define NGX_WS_PERF_DEFLATE_ACCEPTED    1
#define NGX_WS_PERF_DEFLATE_SYNTAX      2   /* malformed from some point */

/* what ngx_ws_perf_inflate_run() did */
#define NGX_WS_PERF_INFLATE_DONE        0   /* the message is whole */
#define NGX_WS_PERF_INFLATE_FULL        1   /* out is full: more to come */
#define NGX_WS_PERF_INFLATE_CORRUPT     2   /* not a valid deflate stream */


/* what the server accepts */
typedef struct {
    unsigned              window;       /* it compresses with, 9..15 */
    unsigned              client_window;    /* 0: it asks the client for */
                                            /* no context takeover; 9..15: */
                                            /* it keeps an inflate context */
                                            /* of at most that window */
} ngx_ws_perf_deflate_conf_t;


/* the offer accepted, as the server answers it */
typedef struct {
    unsigned              server_window;    /* 0: not in the answer */
    unsigned              client_window;    /* 0: not in the answer */
    unsigned              client_no_context:1;
    unsigned              context:1;    /* the client's messages share */
                                        /* one inflate context */
} ngx_ws_perf_deflate_params_t;


/* one client message being inflated: its input, then the 4-byte tail */
typedef struct {
    z_stream              zs;
    const uint8_t        *in;
    size_t                in_len;
    unsigned              tail:1;       /* the tail has been fed */
} ngx_ws_perf_inflate_t;


/*
 * Reads one Sec-WebSocket-Extensions value and accepts into *params the
 * first permessage-deflate offer that conf allows.  Offers with unknown
 * or repeated parameters, or with values out of range, are declined;
 * other extensions are skipped.  SYNTAX: the value is malformed from some
 * point on, and nothing was accepted before it.
 */
int ngx_ws_perf_deflate_negotiate(const uint8_t *p, size_t len,
    const ngx_ws_perf_deflate_conf_t *conf,
    ngx_ws_perf_deflate_params_t *params);

/* the extension's answer, at most NGX_WS_PERF_DEFLATE_ANSWER_MAX bytes */
size_t ngx_ws_perf_deflate_answer(const ngx_ws_perf_deflate_params_t *params,
    uint8_t *buf);

/*
 * Compresses one message on its own (a reset stream, a sync flush, the
 * 00 00 ff ff tail removed) into out.  Returns the compressed size, or 0
 * when it is not smaller than the message or does not fit in out_size.
 */
size_t ngx_ws_perf_deflate_message(z_stream *zs, const uint8_t *in,
    size_t len, uint8_t *out, size_t out_size);

/* starts a message on a stream made with inflateInit2(zs, -window bits) */
void ngx_ws_perf_inflate_start(ngx_ws_perf_inflate_t *inf,
    const uint8_t *in, size_t len);

/* inflates into out, *written bytes; DONE, FULL or CORRUPT */
int ngx_ws_perf_inflate_run(ngx_ws_perf_inflate_t *inf, uint8_t *out,
    size_t size, size_t *written);


#endif /* _NGX_WS_PERF_DEFLATE_H_INCLUDED_ */
