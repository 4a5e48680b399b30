
/*
 * Copyright (C) ngx_ws_perf_module authors
 */


/*
 * A log-linear histogram in the HDR manner: values below 2^8 have a
 * bucket each; above, every power of two is cut into 128 equal buckets,
 * so a bucket is at most 1/128 of its value wide (under 0.8% error).
 * 4096 buckets reach 2^38 ns (about 4.5 minutes).
 */


#include <string.h>
#include "wsb.h"


#define WSB_HIST_SUB     (1 << WSB_HIST_SUB_BITS)
#define WSB_HIST_HALF    (WSB_HIST_SUB / 2)
#define WSB_HIST_LIMIT   ((1ULL << 38) - 1)


static unsigned
wsb_hist_index(uint64_t v)
{
    unsigned  msb, shift;

    if (v < WSB_HIST_SUB) {
        return (unsigned) v;
    }

    msb = 63 - __builtin_clzll(v);
    shift = msb - (WSB_HIST_SUB_BITS - 1);

    return WSB_HIST_SUB + (shift - 1) * WSB_HIST_HALF
           + (unsigned) ((v >> shift) - WSB_HIST_HALF);
}


static uint64_t
wsb_hist_value(unsigned idx)
{
    unsigned  k, shift;
    uint64_t  low;

    if (idx < WSB_HIST_SUB) {
        return idx;
    }

    k = idx - WSB_HIST_SUB;
    shift = k / WSB_HIST_HALF + 1;
    low = (uint64_t) (k % WSB_HIST_HALF + WSB_HIST_HALF) << shift;

    /* the middle of the bucket */
    return low + ((1ULL << shift) >> 1);
}


void
wsb_hist_init(wsb_hist_t *h)
{
    memset(h, 0, sizeof(wsb_hist_t));
    h->min = UINT64_MAX;
}


void
wsb_hist_add(wsb_hist_t *h, uint64_t v)
{
    if (v > WSB_HIST_LIMIT) {
        v = WSB_HIST_LIMIT;
    }

    h->b[wsb_hist_index(v)]++;
    h->count++;
    h->sum += v;

    if (v < h->min) {
        h->min = v;
    }

    if (v > h->max) {
        h->max = v;
    }
}


void
wsb_hist_merge(wsb_hist_t *to, const wsb_hist_t *from)
{
    unsigned  i;

    if (from->count == 0) {
        return;
    }

    for (i = 0; i < WSB_HIST_BUCKETS; i++) {
        to->b[i] += from->b[i];
    }

    to->count += from->count;
    to->sum += from->sum;

    if (from->min < to->min) {
        to->min = from->min;
    }

    if (from->max > to->max) {
        to->max = from->max;
    }
}


/* the value at percentile pct (0..100]; 0 for an empty histogram */
uint64_t
wsb_hist_pct(const wsb_hist_t *h, double pct)
{
    unsigned  i;
    uint64_t  rank, seen, v;

    if (h->count == 0) {
        return 0;
    }

    if (pct >= 100.0) {
        return h->max;
    }

    rank = (uint64_t) (pct / 100.0 * (double) h->count + 0.999999);
    if (rank == 0) {
        rank = 1;
    }

    seen = 0;

    for (i = 0; i < WSB_HIST_BUCKETS; i++) {
        seen += h->b[i];

        if (seen >= rank) {
            v = wsb_hist_value(i);
            if (v > h->max) {
                v = h->max;
            }
            if (v < h->min) {
                v = h->min;
            }
            return v;
        }
    }

    return h->max;
}
