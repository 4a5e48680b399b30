
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
#include "ngx_ws_perf_metrics.h"


/* a scratch buffer larger than this is not kept for the next message */
#define NGX_WS_PERF_COMPRESS_KEEP   (256 * 1024)

/* what a client's message may inflate to at first, before it doubles */
#define NGX_WS_PERF_INFLATE_FIRST   4096

/* room before the blocks zlib allocates, which keeps their alignment */
#define NGX_WS_PERF_ZALLOC_HEAD     16


static u_char *ngx_ws_perf_compress_scratch(size_t len, ngx_log_t *log);
static z_stream *ngx_ws_perf_deflate_stream(ngx_log_t *log);
static ngx_ws_perf_inflate_t *ngx_ws_perf_inflate_stream(ngx_log_t *log);
static ngx_int_t ngx_ws_perf_inflate_grow(ngx_ws_perf_out_t **out,
    size_t *size, size_t max, ngx_log_t *log);
static voidpf ngx_ws_perf_zalloc(voidpf opaque, uInt items, uInt size);
static void ngx_ws_perf_zfree(voidpf opaque, voidpf address);


/* per worker: where blocks are compressed before they are copied out */
static u_char  *ngx_ws_perf_scratch;
static size_t   ngx_ws_perf_scratch_size;

/* per worker: one stream compresses every message, one inflates them */
static z_stream               *ngx_ws_perf_zdeflate;
static ngx_ws_perf_inflate_t  *ngx_ws_perf_zinflate;


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


char *
ngx_ws_perf_deflate_context(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_ws_perf_main_conf_t *wmcf = conf;

    ngx_int_t   n;
    ngx_str_t  *value;

    if (wmcf->deflate_context != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (value[1].len == 3 && ngx_strncmp(value[1].data, "off", 3) == 0) {
        wmcf->deflate_context = 0;
        return NGX_CONF_OK;
    }

    n = ngx_atoi(value[1].data, value[1].len);

    if (n < NGX_WS_PERF_DEFLATE_WBITS_MIN
        || n > NGX_WS_PERF_DEFLATE_WBITS_MAX)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid value \"%V\": \"off\" or window bits "
                           "from 9 to 15 expected", &value[1]);
        return NGX_CONF_ERROR;
    }

    wmcf->deflate_context = n;

    return NGX_CONF_OK;
}


void
ngx_ws_perf_compress_deflate_conf(ngx_http_request_t *r,
    ngx_ws_perf_deflate_conf_t *conf)
{
    ngx_ws_perf_main_conf_t  *wmcf;

    wmcf = ngx_http_get_module_main_conf(r, ngx_ws_perf_module);

    conf->window = wmcf->deflate_window;
    conf->client_window = wmcf->deflate_context;
}


ngx_ws_perf_out_t *
ngx_ws_perf_compress_deflate(ngx_ws_perf_out_t *plain, ngx_log_t *log)
{
    size_t              len, n;
    z_stream           *zs;
    ngx_uint_t          opcode;
    ngx_ws_perf_out_t  *out;

    len = plain->last - plain->start;
    opcode = plain->pos[0] & 0x0f;

    zs = ngx_ws_perf_deflate_stream(log);

    /* room for the tail and one byte: zlib then has all written */
    out = zs ? ngx_ws_perf_out_alloc(len + 5, log) : NULL;
    n = out ? ngx_ws_perf_deflate_message(zs, plain->start, len, out->start,
                                          len + 5)
            : 0;

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, log, 0,
                   "websocket deflate: %uz bytes of payload, %uz "
                   "compressed", len, n);

    if (n == 0) {
        /* without memory, or when it does not shrink, as it is */
        if (out) {
            ngx_ws_perf_out_release(out);
        }

        plain->refs++;
        return plain;
    }

    out->last = out->start + n;
    ngx_ws_perf_out_finish(out, opcode);
    out->pos[0] |= 0x40;

    ngx_ws_perf_metrics_inc(deflate_messages);
    ngx_ws_perf_metrics_add(deflate_bytes_in, len);
    ngx_ws_perf_metrics_add(deflate_bytes_out, n);

    return out;
}


ngx_int_t
ngx_ws_perf_compress_inflate(ngx_ws_perf_inflate_t *ctx, u_char *in,
    size_t len, size_t max, ngx_ws_perf_out_t **plain, ngx_uint_t *code,
    ngx_log_t *log)
{
    int                 rc;
    size_t              size, w;
    ngx_ws_perf_out_t  *out;

    if (ctx == NULL) {
        ctx = ngx_ws_perf_inflate_stream(log);
        if (ctx == NULL) {
            return NGX_ERROR;
        }

        /* no context is taken over: each message starts afresh */
        (void) inflateReset(&ctx->zs);
    }

    /* at most the bound and one byte, which tells it is over */
    size = ngx_min(ngx_max(4 * len, NGX_WS_PERF_INFLATE_FIRST), max + 1);

    out = ngx_ws_perf_out_alloc(size, log);
    if (out == NULL) {
        return NGX_ERROR;
    }

    ngx_ws_perf_inflate_start(ctx, in, len);

    for ( ;; ) {
        rc = ngx_ws_perf_inflate_run(ctx, out->last,
                                     size - (out->last - out->start), &w);
        out->last += w;

        if (rc == NGX_WS_PERF_INFLATE_DONE) {
            break;
        }

        if (rc == NGX_WS_PERF_INFLATE_CORRUPT) {
            *code = NGX_WS_PERF_CLOSE_BAD_DATA;
            goto declined;
        }

        if (size > max) {
            *code = NGX_WS_PERF_CLOSE_TOO_BIG;
            goto declined;
        }

        if (ngx_ws_perf_inflate_grow(&out, &size, max, log) != NGX_OK) {
            ngx_ws_perf_out_release(out);
            return NGX_ERROR;
        }
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, log, 0,
                   "websocket inflate: %uz bytes, %uz inflated", len,
                   (size_t) (out->last - out->start));

    ngx_ws_perf_metrics_inc(inflate_messages);

    *plain = out;

    return NGX_OK;

declined:

    ngx_ws_perf_out_release(out);

    /* a stream cut in the middle cannot go on */
    (void) inflateReset(&ctx->zs);

    return NGX_DECLINED;
}


ngx_ws_perf_inflate_t *
ngx_ws_perf_compress_inflate_context(ngx_uint_t bits, ngx_log_t *log)
{
    ngx_ws_perf_inflate_t  *ctx;

    ctx = ngx_calloc(sizeof(ngx_ws_perf_inflate_t), log);
    if (ctx == NULL) {
        return NULL;
    }

    ctx->zs.zalloc = ngx_ws_perf_zalloc;
    ctx->zs.zfree = ngx_ws_perf_zfree;

    bits = ngx_max(bits, NGX_WS_PERF_DEFLATE_WBITS_MIN);

    if (inflateInit2(&ctx->zs, - (int) bits) != Z_OK) {
        ngx_log_error(NGX_LOG_ALERT, log, 0, "inflateInit2() failed");
        ngx_free(ctx);
        return NULL;
    }

    ngx_ws_perf_metrics_inc(inflate_contexts);
    ngx_ws_perf_metrics_add(inflate_bytes, sizeof(ngx_ws_perf_inflate_t));

    return ctx;
}


void
ngx_ws_perf_compress_inflate_free(ngx_ws_perf_inflate_t *ctx)
{
    (void) inflateEnd(&ctx->zs);
    ngx_free(ctx);

    ngx_ws_perf_mslot->inflate_contexts--;
    ngx_ws_perf_mslot->inflate_bytes -= sizeof(ngx_ws_perf_inflate_t);
}


void
ngx_ws_perf_compress_deflate_end(void)
{
    if (ngx_ws_perf_zdeflate) {
        (void) deflateEnd(ngx_ws_perf_zdeflate);
        ngx_free(ngx_ws_perf_zdeflate);
        ngx_ws_perf_zdeflate = NULL;
    }

    if (ngx_ws_perf_zinflate) {
        (void) inflateEnd(&ngx_ws_perf_zinflate->zs);
        ngx_free(ngx_ws_perf_zinflate);
        ngx_ws_perf_zinflate = NULL;
    }
}


/* made at the first message, with the level and window of the config */

static z_stream *
ngx_ws_perf_deflate_stream(ngx_log_t *log)
{
    z_stream                 *zs;
    ngx_ws_perf_main_conf_t  *wmcf;

    if (ngx_ws_perf_zdeflate) {
        return ngx_ws_perf_zdeflate;
    }

    wmcf = ngx_http_cycle_get_module_main_conf(ngx_cycle, ngx_ws_perf_module);

    zs = ngx_calloc(sizeof(z_stream), log);
    if (zs == NULL) {
        return NULL;
    }

    if (deflateInit2(zs, (int) wmcf->deflate_level, Z_DEFLATED,
                     - (int) wmcf->deflate_window, 8, Z_DEFAULT_STRATEGY)
        != Z_OK)
    {
        ngx_log_error(NGX_LOG_ALERT, log, 0, "deflateInit2() failed");
        ngx_free(zs);
        return NULL;
    }

    ngx_ws_perf_zdeflate = zs;

    return zs;
}


/* the largest window inflates what any client sends */

static ngx_ws_perf_inflate_t *
ngx_ws_perf_inflate_stream(ngx_log_t *log)
{
    ngx_ws_perf_inflate_t  *ctx;

    if (ngx_ws_perf_zinflate) {
        return ngx_ws_perf_zinflate;
    }

    ctx = ngx_calloc(sizeof(ngx_ws_perf_inflate_t), log);
    if (ctx == NULL) {
        return NULL;
    }

    if (inflateInit2(&ctx->zs, - NGX_WS_PERF_DEFLATE_WBITS_MAX) != Z_OK) {
        ngx_log_error(NGX_LOG_ALERT, log, 0, "inflateInit2() failed");
        ngx_free(ctx);
        return NULL;
    }

    ngx_ws_perf_zinflate = ctx;

    return ctx;
}


/* twice the room, up to the bound and one byte */

static ngx_int_t
ngx_ws_perf_inflate_grow(ngx_ws_perf_out_t **out, size_t *size, size_t max,
    ngx_log_t *log)
{
    size_t              n;
    ngx_ws_perf_out_t  *bigger;

    n = ngx_min(2 * *size, max + 1);

    bigger = ngx_ws_perf_out_alloc(n, log);
    if (bigger == NULL) {
        return NGX_ERROR;
    }

    bigger->last = ngx_cpymem(bigger->start, (*out)->start,
                              (*out)->last - (*out)->start);

    ngx_ws_perf_out_release(*out);

    *out = bigger;
    *size = n;

    return NGX_OK;
}


/* zlib's memory for connections' contexts, counted in the status */

static voidpf
ngx_ws_perf_zalloc(voidpf opaque, uInt items, uInt size)
{
    u_char  *p;
    size_t   n;

    n = (size_t) items * size + NGX_WS_PERF_ZALLOC_HEAD;

    p = ngx_alloc(n, ngx_cycle->log);
    if (p == NULL) {
        return Z_NULL;
    }

    *(size_t *) p = n;
    ngx_ws_perf_metrics_add(inflate_bytes, n);

    return p + NGX_WS_PERF_ZALLOC_HEAD;
}


static void
ngx_ws_perf_zfree(voidpf opaque, voidpf address)
{
    u_char  *p;

    p = (u_char *) address - NGX_WS_PERF_ZALLOC_HEAD;
    ngx_ws_perf_mslot->inflate_bytes -= *(size_t *) p;

    ngx_free(p);
}
