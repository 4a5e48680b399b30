
/*
 * Copyright (C) ngx_ws_perf_module authors
 */


#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include "ngx_ws_perf_lz4.h"


#define FUZZ_LZ4_MAX  (1 << 20)


typedef struct {
    uint8_t  *map;
    size_t    map_len;
} fuzz_guarded_t;


/*
 * liblz4 is not instrumented: buffers of it end right at a page that may
 * not be touched, so that a read or write past them faults
 */

static uint8_t *
guarded(fuzz_guarded_t *g, size_t len)
{
    size_t  page;

    page = (size_t) sysconf(_SC_PAGESIZE);
    g->map_len = (len + page - 1) / page * page + page;

    g->map = mmap(NULL, g->map_len, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (g->map == MAP_FAILED
        || mprotect(g->map + g->map_len - page, page, PROT_NONE) != 0)
    {
        abort();
    }

    return g->map + g->map_len - page - len;
}


/*
 * Any bytes either are rejected as a block or decode, into a buffer of
 * exactly the declared size, to an original that compresses and
 * decompresses back to itself.
 */

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int              rc;
    size_t           n, len, back;
    uint8_t         *in, *out, *block, *again;
    fuzz_guarded_t   gi, go;

    if (ngx_ws_perf_lz4_size(data, size, FUZZ_LZ4_MAX, &len) != 0) {
        return 0;
    }

    if (len == 0 || len > FUZZ_LZ4_MAX || len > (size - 4) * 255 + 64) {
        abort();
    }

    /* exactly the declared size, and the input, both before a guard */
    in = guarded(&gi, size);
    memcpy(in, data, size);
    out = guarded(&go, len);

    rc = ngx_ws_perf_lz4_decompress(in, size, out, len);

    munmap(gi.map, gi.map_len);

    if (rc != 0) {
        munmap(go.map, go.map_len);
        return 0;
    }

    block = malloc(len);
    again = malloc(len);
    if (block == NULL || again == NULL) {
        abort();
    }

    n = ngx_ws_perf_lz4_compress(out, len, block, len);

    if (n) {
        if (n >= len
            || ngx_ws_perf_lz4_size(block, n, FUZZ_LZ4_MAX, &back) != 0
            || back != len
            || ngx_ws_perf_lz4_decompress(block, n, again, len) != 0
            || memcmp(again, out, len) != 0)
        {
            abort();
        }
    }

    free(again);
    free(block);
    munmap(go.map, go.map_len);

    return 0;
}
