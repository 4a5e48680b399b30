
/*
 * Copyright (C) ngx_ws_perf_module authors
 */


#include <lz4.h>
#include "ngx_ws_perf_lz4.h"


size_t
ngx_ws_perf_lz4_compress(const uint8_t *src, size_t len, uint8_t *dst,
    size_t dst_size)
{
    int     n;
    size_t  room;

    if (len <= NGX_WS_PERF_LZ4_HEADER + 1 || len > LZ4_MAX_INPUT_SIZE
        || dst_size <= NGX_WS_PERF_LZ4_HEADER)
    {
        return 0;
    }

    /* a block that would not be smaller than src is given up early */
    room = len - NGX_WS_PERF_LZ4_HEADER - 1;

    if (room > dst_size - NGX_WS_PERF_LZ4_HEADER) {
        room = dst_size - NGX_WS_PERF_LZ4_HEADER;
    }

    n = LZ4_compress_default((const char *) src,
                             (char *) dst + NGX_WS_PERF_LZ4_HEADER,
                             (int) len, (int) room);
    if (n <= 0) {
        return 0;
    }

    dst[0] = (uint8_t) (len >> 24);
    dst[1] = (uint8_t) (len >> 16);
    dst[2] = (uint8_t) (len >> 8);
    dst[3] = (uint8_t) len;

    return NGX_WS_PERF_LZ4_HEADER + (size_t) n;
}


int
ngx_ws_perf_lz4_size(const uint8_t *block, size_t len, size_t max,
    size_t *size)
{
    size_t  n, clen;

    if (len <= NGX_WS_PERF_LZ4_HEADER) {
        return -1;
    }

    n = ((size_t) block[0] << 24) | ((size_t) block[1] << 16)
        | ((size_t) block[2] << 8) | (size_t) block[3];

    clen = len - NGX_WS_PERF_LZ4_HEADER;

    /* a forged size cannot make the caller allocate more than it must */
    if (n == 0 || n > max || n > LZ4_MAX_INPUT_SIZE
        || (n > NGX_WS_PERF_LZ4_SLACK
            && clen < (n - NGX_WS_PERF_LZ4_SLACK + NGX_WS_PERF_LZ4_RATIO - 1)
                      / NGX_WS_PERF_LZ4_RATIO))
    {
        return -1;
    }

    *size = n;

    return 0;
}


int
ngx_ws_perf_lz4_decompress(const uint8_t *block, size_t len, uint8_t *dst,
    size_t size)
{
    int  n;

    if (len <= NGX_WS_PERF_LZ4_HEADER
        || len - NGX_WS_PERF_LZ4_HEADER > LZ4_MAX_INPUT_SIZE
        || size == 0 || size > LZ4_MAX_INPUT_SIZE)
    {
        return -1;
    }

    n = LZ4_decompress_safe((const char *) block + NGX_WS_PERF_LZ4_HEADER,
                            (char *) dst,
                            (int) (len - NGX_WS_PERF_LZ4_HEADER), (int) size);

    return (n >= 0 && (size_t) n == size) ? 0 : -1;
}
