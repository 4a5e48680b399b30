
/*
 * Copyright (C) ngx_ws_perf_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include "ngx_ws_perf_alerts.h"
#include "ngx_ws_perf_status.h"


static ngx_ws_perf_snap_t *ngx_ws_perf_alerts_snapshot(
    ngx_ws_perf_metrics_sh_t *sh, ngx_ws_perf_status_sum_t *sum,
    uint64_t sec);
static ngx_ws_perf_snap_t *ngx_ws_perf_alerts_base(
    ngx_ws_perf_metrics_sh_t *sh, uint64_t sec, uint64_t *seconds);
static void ngx_ws_perf_alerts_window(ngx_ws_perf_window_t *w,
    ngx_ws_perf_snap_t *cur, ngx_ws_perf_snap_t *base, uint64_t seconds);
static void ngx_ws_perf_alerts_check(ngx_ws_perf_metrics_sh_t *sh,
    ngx_ws_perf_status_sum_t *sum, uint64_t sec, ngx_log_t *log);
static ngx_int_t ngx_ws_perf_alerts_threshold(ngx_uint_t metric,
    ngx_str_t *v, uint64_t *threshold);
static ngx_int_t ngx_ws_perf_alerts_parse_latency(ngx_str_t *v,
    uint64_t *us);
static ngx_int_t ngx_ws_perf_alerts_parse_rate(ngx_str_t *v, uint64_t *ppm);


/* by NGX_WS_PERF_A_*: the names ws_perf_alert takes and the status shows */
static char  *ngx_ws_perf_alert_names[] = {
    "p95_latency", "p99_latency", "error_rate", "drop_rate", "connections",
    "memory", NULL
};


char *
ngx_ws_perf_alerts_name(ngx_uint_t metric)
{
    return ngx_ws_perf_alert_names[metric];
}


/* an alert's value in its unit, as written in ws_perf_alert */

u_char *
ngx_ws_perf_alerts_value(u_char *p, u_char *last, ngx_uint_t metric,
    uint64_t v)
{
    switch (metric) {

    case NGX_WS_PERF_A_P95:
    case NGX_WS_PERF_A_P99:
        return ngx_slprintf(p, last, "%uL.%03uLms", v / 1000, v % 1000);

    case NGX_WS_PERF_A_ERROR_RATE:
    case NGX_WS_PERF_A_DROP_RATE:
        return ngx_slprintf(p, last, "%uL.%04uL%%", v / 10000, v % 10000);

    case NGX_WS_PERF_A_MEMORY:
        return ngx_slprintf(p, last, "%uLk", v / 1024);

    default: /* NGX_WS_PERF_A_CONNECTIONS */
        return ngx_slprintf(p, last, "%uL", v);
    }
}


void
ngx_ws_perf_alerts_evaluate(ngx_ws_perf_metrics_sh_t *sh, uint64_t sec,
    ngx_log_t *log)
{
    uint64_t               seconds;
    ngx_ws_perf_snap_t    *cur, *base;
    ngx_ws_perf_window_t  *w;

    /* static: the sums hold histograms, too large for a worker's stack */
    static ngx_ws_perf_status_sum_t  sum;

    ngx_ws_perf_status_sum(sh, &sum);

    cur = ngx_ws_perf_alerts_snapshot(sh, &sum, sec);
    base = ngx_ws_perf_alerts_base(sh, sec, &seconds);

    w = &sh->window;

    if (base == NULL) {
        ngx_memzero(w, sizeof(ngx_ws_perf_window_t));

    } else {
        ngx_ws_perf_alerts_window(w, cur, base, seconds);
    }

    w->sec = sec;

    ngx_ws_perf_alerts_check(sh, &sum, sec, log);
}


/* the node's totals now, in the ring */

static ngx_ws_perf_snap_t *
ngx_ws_perf_alerts_snapshot(ngx_ws_perf_metrics_sh_t *sh,
    ngx_ws_perf_status_sum_t *sum, uint64_t sec)
{
    ngx_ws_perf_snap_t  *cur;

    cur = &sh->ring[sec % NGX_WS_PERF_RING];

    /* a reader never takes a half-written snapshot for this second's */
    cur->sec = 0;

    cur->published = sum->s.published;
    cur->delivered = sum->s.delivered;
    cur->dropped = sum->dropped;
    cur->errors = sum->rejected + sum->errors;
    cur->events = sum->s.hs_accepted + sum->rejected + sum->s.conn_closed;
    cur->latency = sum->s.latency;
    cur->sec = sec;

    return cur;
}


/* the snapshot "window" seconds ago, or the oldest one within it */

static ngx_ws_perf_snap_t *
ngx_ws_perf_alerts_base(ngx_ws_perf_metrics_sh_t *sh, uint64_t sec,
    uint64_t *seconds)
{
    uint64_t             k;
    ngx_ws_perf_snap_t  *base;

    static ngx_ws_perf_snap_t  zero;

    for (k = sh->window_sec; k > 0; k--) {
        base = &sh->ring[(sec - k) % NGX_WS_PERF_RING];

        if (base->sec == sec - k) {
            *seconds = k;
            return base;
        }
    }

    /* a zone younger than the window: everything since it was made */
    if (sec > sh->started && sec - sh->started <= sh->window_sec) {
        *seconds = sec - sh->started;
        return &zero;
    }

    return NULL;
}


static void
ngx_ws_perf_alerts_window(ngx_ws_perf_window_t *w, ngx_ws_perf_snap_t *cur,
    ngx_ws_perf_snap_t *base, uint64_t seconds)
{
    uint64_t  events, deliveries;

    static ngx_ws_perf_snap_t  diff;

    diff = *cur;
    diff.published -= base->published;
    diff.delivered -= base->delivered;
    diff.dropped -= base->dropped;
    diff.errors -= base->errors;
    diff.events -= base->events;
    ngx_ws_perf_hist_sub(&diff.latency, &base->latency);

    events = diff.events;
    deliveries = diff.delivered + diff.dropped;

    w->seconds = seconds;
    w->published = diff.published * 1000 / seconds;
    w->delivered = diff.delivered * 1000 / seconds;
    w->dropped = diff.dropped * 1000 / seconds;
    w->error_rate = events ? diff.errors * 1000000 / events : 0;
    w->drop_rate = deliveries ? diff.dropped * 1000000 / deliveries : 0;
    w->count = diff.latency.count;
    w->p50 = ngx_ws_perf_hist_quantile(diff.latency.bucket, w->count, 0.5);
    w->p95 = ngx_ws_perf_hist_quantile(diff.latency.bucket, w->count, 0.95);
    w->p99 = ngx_ws_perf_hist_quantile(diff.latency.bucket, w->count, 0.99);
    w->p999 = ngx_ws_perf_hist_quantile(diff.latency.bucket, w->count,
                                        0.999);
}


static void
ngx_ws_perf_alerts_check(ngx_ws_perf_metrics_sh_t *sh,
    ngx_ws_perf_status_sum_t *sum, uint64_t sec, ngx_log_t *log)
{
    u_char                *p, *last, buf[2 * NGX_WS_PERF_ALERTS_VALUE_LEN
                                          + sizeof(", threshold ")];
    uint64_t               v;
    ngx_uint_t             i, firing;
    ngx_ws_perf_alert_t   *a;
    ngx_ws_perf_window_t  *w;

    w = &sh->window;
    last = buf + sizeof(buf);

    for (i = 0; i < sh->nalerts; i++) {
        a = &sh->alert[i];

        switch (a->metric) {
        case NGX_WS_PERF_A_P95:         v = w->p95; break;
        case NGX_WS_PERF_A_P99:         v = w->p99; break;
        case NGX_WS_PERF_A_ERROR_RATE:  v = w->error_rate; break;
        case NGX_WS_PERF_A_DROP_RATE:   v = w->drop_rate; break;
        case NGX_WS_PERF_A_MEMORY:      v = sum->s.rss; break;
        default: /* connections */      v = sum->current;
        }

        a->value = v;
        firing = (v > a->threshold);

        if (firing == a->firing) {
            continue;
        }

        a->firing = firing;
        a->since = sec;

        p = ngx_ws_perf_alerts_value(buf, last, a->metric, v);
        p = ngx_slprintf(p, last, ", threshold ");
        p = ngx_ws_perf_alerts_value(p, last, a->metric, a->threshold);

        ngx_log_error(NGX_LOG_WARN, log, 0, "ws_perf alert \"%s\" %s: %*s",
                      ngx_ws_perf_alert_names[a->metric],
                      firing ? "firing" : "resolved", p - buf, buf);
    }
}


void
ngx_ws_perf_alerts_init_zone(ngx_ws_perf_metrics_sh_t *sh,
    ngx_ws_perf_metrics_conf_t *mcf)
{
    ngx_uint_t                 i;
    ngx_ws_perf_alert_t       *a;
    ngx_ws_perf_alert_conf_t  *ac;

    ac = mcf->alerts.elts;

    for (i = 0; i < mcf->alerts.nelts; i++) {
        a = &sh->alert[i];

        if (i >= sh->nalerts || a->metric != ac[i].metric
            || a->threshold != ac[i].threshold)
        {
            ngx_memzero(a, sizeof(ngx_ws_perf_alert_t));
            a->metric = ac[i].metric;
            a->threshold = ac[i].threshold;
        }
    }

    sh->nalerts = mcf->alerts.nelts;
    sh->window_sec = mcf->window / 1000;
}


/* ws_perf_alert p99_latency 50ms; error_rate 1%; memory 512m; ... */

char *
ngx_ws_perf_alerts_directive(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_ws_perf_metrics_conf_t *mcf = conf;

    ngx_str_t                 *value;
    ngx_uint_t                 i, m;
    ngx_ws_perf_alert_conf_t  *ac;

    value = cf->args->elts;

    for (m = 0; ngx_ws_perf_alert_names[m]; m++) {
        if (ngx_strcmp(value[1].data, ngx_ws_perf_alert_names[m]) == 0) {
            break;
        }
    }

    if (ngx_ws_perf_alert_names[m] == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "unknown alert \"%V\", it must be one of "
                           "p95_latency, p99_latency, error_rate, drop_rate, "
                           "connections, memory", &value[1]);
        return NGX_CONF_ERROR;
    }

    ac = mcf->alerts.elts;

    for (i = 0; i < mcf->alerts.nelts; i++) {
        if (ac[i].metric == m) {
            return "is duplicate";
        }
    }

    if (mcf->alerts.nelts == NGX_WS_PERF_ALERTS_MAX) {
        return "is too many";
    }

    ac = ngx_array_push(&mcf->alerts);
    if (ac == NULL) {
        return NGX_CONF_ERROR;
    }

    ac->metric = m;

    if (ngx_ws_perf_alerts_threshold(m, &value[2], &ac->threshold) != NGX_OK)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid %s threshold \"%V\"",
                           ngx_ws_perf_alert_names[m], &value[2]);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_ws_perf_alerts_threshold(ngx_uint_t metric, ngx_str_t *v,
    uint64_t *threshold)
{
    off_t      size;
    ngx_int_t  n;

    switch (metric) {

    case NGX_WS_PERF_A_P95:
    case NGX_WS_PERF_A_P99:
        return ngx_ws_perf_alerts_parse_latency(v, threshold);

    case NGX_WS_PERF_A_ERROR_RATE:
    case NGX_WS_PERF_A_DROP_RATE:
        return ngx_ws_perf_alerts_parse_rate(v, threshold);

    case NGX_WS_PERF_A_MEMORY:
        size = ngx_parse_offset(v);
        *threshold = (uint64_t) size;
        return (size > 0) ? NGX_OK : NGX_ERROR;

    default: /* NGX_WS_PERF_A_CONNECTIONS */
        n = ngx_atoi(v->data, v->len);
        *threshold = (uint64_t) n;
        return (n >= 0) ? NGX_OK : NGX_ERROR;
    }
}


/* "250us", "50ms", "1.5ms", "2s" to microseconds */

static ngx_int_t
ngx_ws_perf_alerts_parse_latency(ngx_str_t *v, uint64_t *us)
{
    u_char    *p, *last;
    uint64_t   whole, frac, scale, unit;

    p = v->data;
    last = p + v->len;
    whole = 0;
    frac = 0;
    scale = 1;

    if (p == last || *p < '0' || *p > '9') {
        return NGX_ERROR;
    }

    while (p < last && *p >= '0' && *p <= '9') {
        whole = whole * 10 + (*p++ - '0');

        if (whole > 1000000000) {
            return NGX_ERROR;
        }
    }

    if (p < last && *p == '.') {
        p++;

        while (p < last && *p >= '0' && *p <= '9' && scale < 1000000) {
            frac = frac * 10 + (*p++ - '0');
            scale *= 10;
        }
    }

    if (last - p == 2 && p[0] == 'u' && p[1] == 's') {
        unit = 1;

    } else if (last - p == 2 && p[0] == 'm' && p[1] == 's') {
        unit = 1000;

    } else if (last - p == 1 && p[0] == 's') {
        unit = 1000000;

    } else {
        return NGX_ERROR;
    }

    *us = whole * unit + frac * unit / scale;

    return NGX_OK;
}


/* "1%", "0.5%" or a fraction "0.01" to parts per million */

static ngx_int_t
ngx_ws_perf_alerts_parse_rate(ngx_str_t *v, uint64_t *ppm)
{
    u_char    *p, *last;
    uint64_t   whole, frac, scale, unit;

    p = v->data;
    last = p + v->len;
    unit = 1000000;

    if (p < last && last[-1] == '%') {
        last--;
        unit = 10000;
    }

    if (p == last || *p < '0' || *p > '9') {
        return NGX_ERROR;
    }

    whole = 0;
    frac = 0;
    scale = 1;

    while (p < last && *p >= '0' && *p <= '9' && whole < 1000000) {
        whole = whole * 10 + (*p++ - '0');
    }

    if (p < last && *p == '.') {
        p++;

        while (p < last && *p >= '0' && *p <= '9' && scale < 1000000) {
            frac = frac * 10 + (*p++ - '0');
            scale *= 10;
        }
    }

    if (p != last) {
        return NGX_ERROR;
    }

    *ppm = whole * unit + frac * unit / scale;

    if (*ppm > 1000000) {
        return NGX_ERROR;
    }

    return NGX_OK;
}
