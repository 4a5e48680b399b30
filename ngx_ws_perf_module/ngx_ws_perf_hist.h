
/*
 * Copyright (C) ngx_ws_perf_module authors
 */


#ifndef _NGX_WS_PERF_HIST_H_INCLUDED_
#define _NGX_WS_PERF_HIST_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


/*
 * A log-linear histogram of integer values (microseconds, as the module
 * uses it).  Values up to 16 have a bucket each; above, every power of two
 * is cut into 16 buckets of equal width.  Bucket i holds the values v with
 * lower(i) < v <= upper(i), so a percentile read as the upper bound of its
 * bucket is never below the true value and at most 1/16 (6.25%) above it;
 * every power of two from 16 on is a bucket bound.  Values over 2^30 (about
 * 18 minutes in microseconds) go to the last bucket.
 */

#define NGX_WS_PERF_HIST_SUB_BITS  4
#define NGX_WS_PERF_HIST_SUB       (1 << NGX_WS_PERF_HIST_SUB_BITS)
#define NGX_WS_PERF_HIST_MAX_BITS  30
#define NGX_WS_PERF_HIST_N                                                    \
    ((NGX_WS_PERF_HIST_MAX_BITS - NGX_WS_PERF_HIST_SUB_BITS + 1)              \
     * NGX_WS_PERF_HIST_SUB)


typedef struct {
    uint64_t              count;
    uint64_t              sum;
    uint64_t              bucket[NGX_WS_PERF_HIST_N];
} ngx_ws_perf_hist_t;


static inline size_t
ngx_ws_perf_hist_index(uint64_t v)
{
    unsigned  msb, shift;

    /* buckets hold (lower, upper]: index v - 1 in [lower, upper) terms */
    v = v ? v - 1 : 0;

    if (v < NGX_WS_PERF_HIST_SUB) {
        return (size_t) v;
    }

    msb = 63 - __builtin_clzll(v);

    if (msb >= NGX_WS_PERF_HIST_MAX_BITS) {
        return NGX_WS_PERF_HIST_N - 1;
    }

    shift = msb - NGX_WS_PERF_HIST_SUB_BITS;

    return (size_t) ((shift + 1) * NGX_WS_PERF_HIST_SUB
                     + (v >> shift) - NGX_WS_PERF_HIST_SUB);
}


static inline void
ngx_ws_perf_hist_add(ngx_ws_perf_hist_t *h, uint64_t v)
{
    h->bucket[ngx_ws_perf_hist_index(v)]++;
    h->count++;
    h->sum += v;
}


/* the largest value bucket i holds */
uint64_t ngx_ws_perf_hist_upper(size_t i);

/* the largest value below bucket i's: it holds (lower, upper] */
uint64_t ngx_ws_perf_hist_lower(size_t i);

/*
 * The q-quantile (0 < q <= 1) as the upper bound of the bucket that holds
 * it: the smallest bound with at least ceil(q * count) values at or below
 * it.  0 when the histogram is empty.
 */
uint64_t ngx_ws_perf_hist_quantile(const uint64_t *bucket, uint64_t count,
    double q);

/* dst += src, bucket by bucket; sub: dst -= src (a window's difference) */
void ngx_ws_perf_hist_merge(ngx_ws_perf_hist_t *dst,
    const ngx_ws_perf_hist_t *src);
void ngx_ws_perf_hist_sub(ngx_ws_perf_hist_t *dst,
    const ngx_ws_perf_hist_t *src);


#endif /* _NGX_WS_PERF_HIST_H_INCLUDED_ */
