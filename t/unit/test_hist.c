
/*
 * Copyright (C) ngx_ws_perf_module authors
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ngx_ws_perf_hist.h"
#include "check.h"


static ngx_ws_perf_hist_t  h;


/* every bucket's bounds: contiguous, and each value lands inside its own */
static void
test_bounds(void)
{
    size_t    i, bad;
    uint64_t  v, lo, up;

    CHECK(NGX_WS_PERF_HIST_N == 432);
    CHECK(ngx_ws_perf_hist_lower(0) == 0);
    CHECK(ngx_ws_perf_hist_upper(0) == 1);
    CHECK(ngx_ws_perf_hist_upper(15) == 16);
    CHECK(ngx_ws_perf_hist_upper(NGX_WS_PERF_HIST_N - 1) == 1ULL << 30);

    bad = 0;

    for (i = 1; i < NGX_WS_PERF_HIST_N; i++) {
        if (ngx_ws_perf_hist_lower(i) != ngx_ws_perf_hist_upper(i - 1)) {
            bad++;
        }
    }

    CHECK(bad == 0);

    /* exact up to 16 */
    for (v = 1; v <= 16; v++) {
        CHECK(ngx_ws_perf_hist_upper(ngx_ws_perf_hist_index(v)) == v);
    }

    CHECK(ngx_ws_perf_hist_index(0) == 0);

    /* every power of two from 16 on is the upper bound of a bucket */
    for (v = 16; v <= (1ULL << 30); v <<= 1) {
        i = ngx_ws_perf_hist_index(v);
        CHECK(ngx_ws_perf_hist_upper(i) == v);

        if (v < (1ULL << 30)) {
            CHECK(ngx_ws_perf_hist_index(v + 1) == i + 1);
        }
    }

    /* each value in (lower, upper] of its bucket, upper within 1/16 */
    bad = 0;

    for (v = 1; v < (1ULL << 30); v += 1 + v / 97) {
        i = ngx_ws_perf_hist_index(v);
        lo = ngx_ws_perf_hist_lower(i);
        up = ngx_ws_perf_hist_upper(i);

        if (!(lo < v && v <= up) || (double) (up - v) > v / 16.0) {
            if (bad++ < 5) {
                printf("value %llu: bucket %zu (%llu, %llu]\n",
                       (unsigned long long) v, i, (unsigned long long) lo,
                       (unsigned long long) up);
            }
        }
    }

    CHECK(bad == 0);

    /* beyond the range: the last bucket */
    CHECK(ngx_ws_perf_hist_index((1ULL << 30) + 1) == NGX_WS_PERF_HIST_N - 1);
    CHECK(ngx_ws_perf_hist_index(UINT64_MAX) == NGX_WS_PERF_HIST_N - 1);
}


/* quantiles of known distributions, within the stated precision */
static void
test_quantiles(void)
{
    uint64_t  v, q;

    memset(&h, 0, sizeof(h));

    CHECK(ngx_ws_perf_hist_quantile(h.bucket, 0, 0.5) == 0);

    /* 1..10000 once each */
    for (v = 1; v <= 10000; v++) {
        ngx_ws_perf_hist_add(&h, v);
    }

    CHECK(h.count == 10000);
    CHECK(h.sum == 10000ULL * 10001 / 2);

    q = ngx_ws_perf_hist_quantile(h.bucket, h.count, 0.5);
    CHECK(q >= 5000 && q <= 5000 + 5000 / 16);

    q = ngx_ws_perf_hist_quantile(h.bucket, h.count, 0.99);
    CHECK(q >= 9900 && q <= 9900 + 9900 / 16);

    q = ngx_ws_perf_hist_quantile(h.bucket, h.count, 0.999);
    CHECK(q >= 9990 && q <= 9990 + 9990 / 16);

    q = ngx_ws_perf_hist_quantile(h.bucket, h.count, 1.0);
    CHECK(q >= 10000 && q <= 10000 + 10000 / 16);

    /* 99 fast values and one slow one: p99 fast, p99.9 slow */
    memset(&h, 0, sizeof(h));

    for (v = 0; v < 990; v++) {
        ngx_ws_perf_hist_add(&h, 100);
    }

    for (v = 0; v < 10; v++) {
        ngx_ws_perf_hist_add(&h, 250000);
    }

    CHECK(ngx_ws_perf_hist_quantile(h.bucket, h.count, 0.5) == 100);
    CHECK(ngx_ws_perf_hist_quantile(h.bucket, h.count, 0.99) == 100);
    q = ngx_ws_perf_hist_quantile(h.bucket, h.count, 0.999);
    CHECK(q >= 250000 && q <= 250000 + 250000 / 16);

    /* exact small values */
    memset(&h, 0, sizeof(h));
    ngx_ws_perf_hist_add(&h, 3);
    CHECK(ngx_ws_perf_hist_quantile(h.bucket, h.count, 0.5) == 3);
}


/* a window: the later snapshot minus the earlier one */
static void
test_window(void)
{
    static ngx_ws_perf_hist_t  a, b;

    memset(&a, 0, sizeof(a));

    ngx_ws_perf_hist_add(&a, 10);
    ngx_ws_perf_hist_add(&a, 20);
    b = a;
    ngx_ws_perf_hist_add(&b, 5000);
    ngx_ws_perf_hist_add(&b, 7000);

    ngx_ws_perf_hist_sub(&b, &a);

    CHECK(b.count == 2);
    CHECK(b.sum == 12000);
    CHECK(ngx_ws_perf_hist_quantile(b.bucket, b.count, 0.5) >= 5000);

    ngx_ws_perf_hist_merge(&b, &a);
    CHECK(b.count == 4);
    CHECK(b.sum == 12030);
}


int
main(void)
{
    test_bounds();
    test_quantiles();
    test_window();

    return check_report();
}
