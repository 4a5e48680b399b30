
/*
 * Copyright (C) ngx_ws_perf_module authors
 */


#ifndef _NGX_WS_PERF_LZ4_H_INCLUDED_
#define _NGX_WS_PERF_LZ4_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


/*
 * The block format of the 'z' wire flag and of the binary frames of the
 * "ws-perf.v1+lz4" subprotocol: the original size as 4 bytes, big-endian,
 * then one LZ4 block (the raw block format of liblz4, no frame header).
 */
#define NGX_WS_PERF_LZ4_HEADER      4

/* a block decodes to at most 255 bytes per byte of it, plus a little */
#define NGX_WS_PERF_LZ4_RATIO       255
#define NGX_WS_PERF_LZ4_SLACK       64

/* the largest original a 'z' message heard from Redis may declare */
#define NGX_WS_PERF_LZ4_MAX         (64 * 1024 * 1024)


/*
 * Compresses len bytes of src into dst, which has room for dst_size bytes
 * (len bytes are always enough).  Returns the size of the block written,
 * header included, or 0 when compressing does not pay: the block would not
 * be smaller than src (or src is empty, or over LZ4's input limit).
 */
size_t ngx_ws_perf_lz4_compress(const uint8_t *src, size_t len,
    uint8_t *dst, size_t dst_size);

/*
 * The original size a block of len bytes declares, in *size.  Returns 0,
 * or -1 when the block is too short to hold a header, declares 0 bytes,
 * more than max, or more than a block of its size can decode to.
 */
int ngx_ws_perf_lz4_size(const uint8_t *block, size_t len, size_t max,
    size_t *size);

/*
 * Decompresses a block whose declared size ngx_ws_perf_lz4_size() returned
 * in size into dst, which has room for size bytes.  Returns 0, or -1 when
 * the block is malformed or does not decode to exactly size bytes; it never
 * reads or writes outside block and dst.
 */
int ngx_ws_perf_lz4_decompress(const uint8_t *block, size_t len,
    uint8_t *dst, size_t size);


#endif /* _NGX_WS_PERF_LZ4_H_INCLUDED_ */
