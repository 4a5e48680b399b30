
/*
 * Copyright (C) ngx_ws_perf_module authors
 */


#include <math.h>
#include "ngx_ws_perf_hist.h"


uint64_t
ngx_ws_perf_hist_upper(size_t i)
{
    unsigned  shift;

    if (i < NGX_WS_PERF_HIST_SUB) {
        return i + 1;
    }

    shift = (unsigned) (i / NGX_WS_PERF_HIST_SUB) - 1;

    return ((uint64_t) (NGX_WS_PERF_HIST_SUB + i % NGX_WS_PERF_HIST_SUB + 1)
            << shift);
}


uint64_t
ngx_ws_perf_hist_lower(size_t i)
{
    unsigned  shift;

    if (i < NGX_WS_PERF_HIST_SUB) {
        return i;
    }

    shift = (unsigned) (i / NGX_WS_PERF_HIST_SUB) - 1;

    return ((uint64_t) (NGX_WS_PERF_HIST_SUB + i % NGX_WS_PERF_HIST_SUB)
            << shift);
}


uint64_t
ngx_ws_perf_hist_quantile(const uint64_t *bucket, uint64_t count, double q)
{
    size_t    i;
    uint64_t  rank, seen;

    if (count == 0) {
        return 0;
    }

    rank = (uint64_t) ceil(q * (double) count);

    if (rank == 0) {
        rank = 1;
    }

    if (rank > count) {
        rank = count;
    }

    seen = 0;

    for (i = 0; i < NGX_WS_PERF_HIST_N; i++) {
        seen += bucket[i];

        if (seen >= rank) {
            return ngx_ws_perf_hist_upper(i);
        }
    }

    /* the buckets were read while another process added to them */
    return ngx_ws_perf_hist_upper(NGX_WS_PERF_HIST_N - 1);
}


void
ngx_ws_perf_hist_merge(ngx_ws_perf_hist_t *dst, const ngx_ws_perf_hist_t *src)
{
    size_t  i;

    dst->count += src->count;
    dst->sum += src->sum;

    for (i = 0; i < NGX_WS_PERF_HIST_N; i++) {
        dst->bucket[i] += src->bucket[i];
    }
}


void
ngx_ws_perf_hist_sub(ngx_ws_perf_hist_t *dst, const ngx_ws_perf_hist_t *src)
{
    size_t  i;

    dst->count -= src->count;
    dst->sum -= src->sum;

    for (i = 0; i < NGX_WS_PERF_HIST_N; i++) {
        dst->bucket[i] -= src->bucket[i];
    }
}
