
/*
 * Copyright (C) ngx_ws_perf_module authors
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <lz4.h>
#include "ngx_ws_perf_lz4.h"
#include "check.h"


/* a JSON array of orders, like a realistic large message */
static size_t
orders(char *buf, size_t size, int n)
{
    int     i;
    size_t  len;

    len = (size_t) snprintf(buf, size, "[");

    for (i = 0; i < n && len < size; i++) {
        len += (size_t) snprintf(buf + len, size - len,
                     "%s{\"order_id\":\"ord-%06d\",\"customer\":\"cust-%04d\","
                     "\"status\":\"%s\",\"items\":[{\"sku\":\"SKU-%05d\","
                     "\"qty\":%d,\"price\":%d.%02d}],\"currency\":\"EUR\"}",
                     i ? "," : "", 100000 + i * 7, (i * 37) % 1000,
                     i % 3 ? "shipped" : "pending", (i * 91) % 99991,
                     1 + i % 5, 10 + (i * 13) % 90, (i * 7) % 100);
    }

    if (len < size) {
        len += (size_t) snprintf(buf + len, size - len, "]");
    }

    return len < size ? len : size;
}


static void
test_round_trip(void)
{
    char      src[8192];
    uint8_t   block[8192], out[8192];
    size_t    len, n, size;

    len = orders(src, sizeof(src), 30);
    CHECK(len > 4000);

    n = ngx_ws_perf_lz4_compress((uint8_t *) src, len, block, len);
    CHECK(n > NGX_WS_PERF_LZ4_HEADER && n < len / 2);

    /* the header: the original size, big-endian */
    CHECK(block[0] == ((len >> 24) & 0xff) && block[1] == ((len >> 16) & 0xff)
          && block[2] == ((len >> 8) & 0xff) && block[3] == (len & 0xff));

    /* the rest is a plain LZ4 block that liblz4 itself decodes */
    CHECK(LZ4_decompress_safe((char *) block + 4, (char *) out, (int) n - 4,
                              sizeof(out))
          == (int) len);
    CHECK(memcmp(out, src, len) == 0);

    CHECK(ngx_ws_perf_lz4_size(block, n, 1 << 20, &size) == 0);
    CHECK(size == len);

    memset(out, 0, sizeof(out));
    CHECK(ngx_ws_perf_lz4_decompress(block, n, out, size) == 0);
    CHECK(memcmp(out, src, len) == 0);
}


static void
test_does_not_pay(void)
{
    uint8_t   src[4096], block[8192];
    size_t    i;
    uint32_t  x;

    /* random bytes do not compress */
    x = 12345;

    for (i = 0; i < sizeof(src); i++) {
        x = x * 1103515245 + 12345;
        src[i] = (uint8_t) (x >> 16);
    }

    CHECK(ngx_ws_perf_lz4_compress(src, sizeof(src), block, sizeof(block))
          == 0);

    /* nor do tiny inputs, nor empty ones */
    CHECK(ngx_ws_perf_lz4_compress((uint8_t *) "aaaaa", 5, block, 5) == 0);
    CHECK(ngx_ws_perf_lz4_compress((uint8_t *) "", 0, block, 5) == 0);

    /* a block must be smaller than its original, header included */
    memset(src, 'a', 16);
    i = ngx_ws_perf_lz4_compress(src, 16, block, 16);
    CHECK(i == 0 || i < 16);

    /* a buffer too small for the block: 0, nothing written past it */
    memset(src, 'a', sizeof(src));
    memset(block, 0xee, sizeof(block));
    CHECK(ngx_ws_perf_lz4_compress(src, sizeof(src), block, 8) == 0);
    CHECK(block[8] == 0xee);
    CHECK(ngx_ws_perf_lz4_compress(src, sizeof(src), block, 4) == 0);
}


static void
test_sizes(void)
{
    size_t   size;
    uint8_t  b[16];

    memset(b, 0, sizeof(b));

    /* too short for a header and a block */
    CHECK(ngx_ws_perf_lz4_size(b, 0, 1 << 20, &size) == -1);
    CHECK(ngx_ws_perf_lz4_size(b, 4, 1 << 20, &size) == -1);

    /* zero bytes declared */
    CHECK(ngx_ws_perf_lz4_size(b, 5, 1 << 20, &size) == -1);

    /* over the caller's limit */
    b[0] = 0; b[1] = 0x10; b[2] = 0; b[3] = 1;      /* 1 MB + 1 */
    CHECK(ngx_ws_perf_lz4_size(b, sizeof(b), 1 << 20, &size) == -1);

    /* more than 12 bytes of block can ever decode to */
    b[0] = 0; b[1] = 0; b[2] = 0x10; b[3] = 0;      /* 4096 */
    CHECK(ngx_ws_perf_lz4_size(b, 16, 1 << 20, &size) == -1);
    b[2] = 0x0b; b[3] = 0xf4;                       /* 3060 = 12 * 255 */
    CHECK(ngx_ws_perf_lz4_size(b, 16, 1 << 20, &size) == 0);
    CHECK(size == 3060);

    /* 0xffffffff: over any limit */
    memset(b, 0xff, 4);
    CHECK(ngx_ws_perf_lz4_size(b, sizeof(b), (size_t) -1, &size) == -1);
}


static void
test_malformed(void)
{
    char      src[8192];
    uint8_t   block[8192], out[8192];
    size_t    len, n, i;

    len = orders(src, sizeof(src), 30);
    n = ngx_ws_perf_lz4_compress((uint8_t *) src, len, block, len);
    CHECK(n > 0);

    /* a declared size other than what the block decodes to */
    CHECK(ngx_ws_perf_lz4_decompress(block, n, out, len - 1) == -1);
    CHECK(ngx_ws_perf_lz4_decompress(block, n, out, len + 1) == -1);

    /* a truncated block */
    CHECK(ngx_ws_perf_lz4_decompress(block, n - 1, out, len) == -1);
    CHECK(ngx_ws_perf_lz4_decompress(block, 4, out, len) == -1);
    CHECK(ngx_ws_perf_lz4_decompress(block, n, out, 0) == -1);

    /* garbage */
    for (i = 4; i < n; i++) {
        block[i] = (uint8_t) (i * 151 + 7);
    }

    CHECK(ngx_ws_perf_lz4_decompress(block, n, out, len) == -1);

    /* a match reaching before the start of the output */
    memcpy(block, "\0\0\0\x18" "\x1e" "a" "\x10\x00" "\x50" "bbbbb", 14);
    CHECK(ngx_ws_perf_lz4_decompress(block, 14, out, 24) == -1);
    block[6] = 1;
    CHECK(ngx_ws_perf_lz4_decompress(block, 14, out, 24) == 0);
}


static void
test_ratio(void)
{
    uint8_t  *src, *block, *out;
    size_t    len, n, size;

    /* the best case LZ4 has: a run of one byte, still within the bound */
    len = 8 << 20;
    src = calloc(1, len);
    block = malloc(len);
    out = malloc(len);

    if (src == NULL || block == NULL || out == NULL) {
        CHECK(0);
        return;
    }

    n = ngx_ws_perf_lz4_compress(src, len, block, len);
    CHECK(n > 0 && n < len / 200);
    CHECK(ngx_ws_perf_lz4_size(block, n, 64 << 20, &size) == 0);
    CHECK(size == len);
    CHECK(ngx_ws_perf_lz4_decompress(block, n, out, size) == 0);
    CHECK(memcmp(out, src, len) == 0);

    free(src);
    free(block);
    free(out);
}


int
main(void)
{
    test_round_trip();
    test_does_not_pay();
    test_sizes();
    test_malformed();
    test_ratio();

    return check_report();
}
