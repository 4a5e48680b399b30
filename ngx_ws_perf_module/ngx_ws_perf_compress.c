
/*
 * Copyright (C) ngx_ws_perf_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include "ngx_ws_perf.h"
#include "ngx_ws_perf_hub.h"
#include "ngx_ws_perf_compress.h"
#include "ngx_ws_perf_lz4.h"


/* a scratch buffer larger than this is not kept for the next message */
#define NGX_WS_PERF_COMPRESS_KEEP   (256 * 1024)


static u_char *ngx_ws_perf_compress_scratch(size_t len, ngx_log_t *log);


/* per worker: where blocks are compressed before they are copied out */
static u_char  *ngx_ws_perf_scratch;
static size_t   ngx_ws_perf_scratch_size;


char *
ngx_ws_perf_compress_min(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_ws_perf_main_conf_t *wmcf = conf;

    ngx_str_t  *value;

    value = cf->args->elts;

    if (value[1].len == 3 && ngx_strncmp(value[1].data, "off", 3) == 0) {
        if (wmcf->compress_min != NGX_CONF_UNSET_SIZE) {
            return "is duplicate";
        }

        wmcf->compress_min = 0;

        return NGX_CONF_OK;
    }

    return ngx_conf_set_size_slot(cf, cmd, conf);
}


void
ngx_ws_perf_compress_accept(ngx_http_request_t *r, ngx_str_t *protocol)
{
    ngx_ws_perf_peer_t       *peer;
    ngx_ws_perf_main_conf_t  *wmcf;

    if (protocol->len != sizeof(NGX_WS_PERF_LZ4_PROTOCOL) - 1
        || ngx_strncmp(protocol->data, NGX_WS_PERF_LZ4_PROTOCOL,
                       protocol->len)
           != 0)
    {
        return;
    }

    /* the connection's state, which starts with its peer */
    peer = ngx_http_get_module_ctx(r, ngx_ws_perf_module);

    /* raw subscribers get payloads as they are */
    if (peer == NULL || peer->raw) {
        return;
    }

    wmcf = ngx_http_get_module_main_conf(r, ngx_ws_perf_module);
    peer->lz4_min = wmcf->compress_min;

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "websocket lz4 frames from %uz bytes", peer->lz4_min);
}


ngx_ws_perf_out_t *
ngx_ws_perf_compress_frame(ngx_ws_perf_out_t *text, ngx_log_t *log)
{
    u_char             *buf;
    size_t              len, n;
    ngx_ws_perf_out_t  *out;

    len = text->last - text->start;

    /* without memory for the block the text frame will do */
    buf = ngx_ws_perf_compress_scratch(len, log);
    n = buf ? ngx_ws_perf_lz4_compress(text->start, len, buf, len) : 0;

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, log, 0,
                   "websocket lz4 frame: %uz bytes of envelope, %uz of "
                   "block", len, n);

    if (n) {
        out = ngx_ws_perf_out_frame(NGX_WS_PERF_OP_BINARY, buf, n, log);

    } else {
        out = text;
        out->refs++;
    }

    if (ngx_ws_perf_scratch_size > NGX_WS_PERF_COMPRESS_KEEP) {
        ngx_ws_perf_compress_release();
    }

    return out;
}


ngx_ws_perf_msg_t *
ngx_ws_perf_compress_wire(ngx_ws_perf_msg_t *m, ngx_ws_perf_msg_t *packed,
    size_t min)
{
    u_char  *buf;
    size_t   n;

    if (min == 0 || m->data_len < min || m->lz4) {
        return m;
    }

    /* without memory the message goes as it is */
    buf = ngx_ws_perf_compress_scratch(m->data_len, ngx_cycle->log);
    if (buf == NULL) {
        return m;
    }

    n = ngx_ws_perf_lz4_compress(m->data, m->data_len, buf, m->data_len);

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                   "ws_perf redis lz4: %uz bytes of payload, %uz of block",
                   m->data_len, n);

    if (n == 0) {
        return m;
    }

    *packed = *m;
    packed->data = buf;
    packed->data_len = n;
    packed->lz4 = 1;

    if (m->json) {
        packed->json = buf;
        packed->json_len = n;
    }

    return packed;
}


ngx_int_t
ngx_ws_perf_compress_unwire(ngx_ws_perf_msg_t *m, u_char **plain)
{
    u_char  *p;
    size_t   size;

    *plain = NULL;

    if (!m->lz4) {
        return NGX_OK;
    }

    if (ngx_ws_perf_lz4_size(m->data, m->data_len, NGX_WS_PERF_LZ4_MAX,
                             &size)
        != 0)
    {
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                       "ws_perf redis lz4: a block of %uz bytes declares a "
                       "bad size", m->data_len);
        return NGX_DECLINED;
    }

    p = ngx_alloc(size, ngx_cycle->log);
    if (p == NULL) {
        return NGX_DECLINED;
    }

    if (ngx_ws_perf_lz4_decompress(m->data, m->data_len, p, size) != 0) {
        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                       "ws_perf redis lz4: a block of %uz bytes does not "
                       "decode to %uz", m->data_len, size);
        ngx_free(p);
        return NGX_DECLINED;
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                   "ws_perf redis lz4: %uz bytes of block, %uz of payload",
                   m->data_len, size);

    m->data = p;
    m->data_len = size;
    m->lz4 = 0;

    if (m->json) {
        m->json = p;
        m->json_len = size;
    }

    *plain = p;

    return NGX_OK;
}


void
ngx_ws_perf_compress_release(void)
{
    if (ngx_ws_perf_scratch) {
        ngx_free(ngx_ws_perf_scratch);
        ngx_ws_perf_scratch = NULL;
        ngx_ws_perf_scratch_size = 0;
    }
}


/* one buffer per worker; a large one lasts until the next call at most */

static u_char *
ngx_ws_perf_compress_scratch(size_t len, ngx_log_t *log)
{
    if (ngx_ws_perf_scratch_size >= len
        && ngx_ws_perf_scratch_size <= NGX_WS_PERF_COMPRESS_KEEP)
    {
        return ngx_ws_perf_scratch;
    }

    ngx_ws_perf_compress_release();

    len = ngx_max(len, 4096);

    ngx_ws_perf_scratch = ngx_alloc(len, log);
    if (ngx_ws_perf_scratch == NULL) {
        return NULL;
    }

    ngx_ws_perf_scratch_size = len;

    return ngx_ws_perf_scratch;
}
