
/*
 * Copyright (C) ngx_ws_perf_module authors
 */


#include <stdlib.h>
#include <string.h>
#include "ngx_ws_perf_deflate.h"


/* what a client message may inflate to here, as ws_perf_max_message_size */
#define FUZZ_DEFLATE_BOUND  (64 * 1024)


/*
 * The first byte picks the server's choices; up to the first newline is a
 * Sec-WebSocket-Extensions value, the rest a client's compressed message.
 * An accepted offer's answer is short and, offered back, accepted the
 * same; inflating stops at the bound whatever the input.
 */

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                           rc;
    size_t                        n, len, got, w;
    uint8_t                       answer[NGX_WS_PERF_DEFLATE_ANSWER_MAX];
    uint8_t                       again[NGX_WS_PERF_DEFLATE_ANSWER_MAX];
    uint8_t                      *out;
    const uint8_t                *nl;
    ngx_ws_perf_inflate_t         inf;
    ngx_ws_perf_deflate_conf_t    conf;
    ngx_ws_perf_deflate_params_t  params, params2;

    if (size == 0) {
        return 0;
    }

    conf.window = 9 + data[0] % 7;
    conf.client_window = (data[0] & 0x80) ? 9 + (data[0] >> 4) % 7 : 0;
    data++;
    size--;

    nl = memchr(data, '\n', size);
    len = nl ? (size_t) (nl - data) : size;

    rc = ngx_ws_perf_deflate_negotiate(data, len, &conf, &params);

    if (rc == NGX_WS_PERF_DEFLATE_ACCEPTED) {
        n = ngx_ws_perf_deflate_answer(&params, answer);

        if (n > NGX_WS_PERF_DEFLATE_ANSWER_MAX) {
            abort();
        }

        if (ngx_ws_perf_deflate_negotiate(answer, n, &conf, &params2)
            != NGX_WS_PERF_DEFLATE_ACCEPTED
            || ngx_ws_perf_deflate_answer(&params2, again) != n
            || memcmp(answer, again, n) != 0)
        {
            abort();
        }

    } else if (rc != NGX_WS_PERF_DEFLATE_NONE
               && rc != NGX_WS_PERF_DEFLATE_SYNTAX)
    {
        abort();
    }

    if (nl == NULL) {
        return 0;
    }

    data += len + 1;
    size -= len + 1;

    out = malloc(FUZZ_DEFLATE_BOUND + 1);
    if (out == NULL) {
        abort();
    }

    memset(&inf, 0, sizeof(ngx_ws_perf_inflate_t));

    if (inflateInit2(&inf.zs, -15) != Z_OK) {
        abort();
    }

    ngx_ws_perf_inflate_start(&inf, data, size);
    got = 0;

    /* in chunks, as the server does, never past the bound and one byte */
    do {
        n = FUZZ_DEFLATE_BOUND + 1 - got;
        n = n < 4096 ? n : 4096;

        rc = ngx_ws_perf_inflate_run(&inf, out + got, n, &w);

        if (w > n) {
            abort();
        }

        got += w;

    } while (rc == NGX_WS_PERF_INFLATE_FULL && got <= FUZZ_DEFLATE_BOUND);

    inflateEnd(&inf.zs);
    free(out);

    return 0;
}
