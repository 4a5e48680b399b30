
/*
 * Copyright (C) ngx_ws_perf_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <sys/resource.h>
#include "ngx_ws_perf.h"
#include "ngx_ws_perf_http.h"
#include "ngx_ws_perf_metrics.h"


/* bumped whenever the shared layout changes: a reload then starts afresh */
#define NGX_WS_PERF_METRICS_MAGIC   0x7773706d65740002ULL

#define NGX_WS_PERF_RING            61      /* seconds of snapshots */
#define NGX_WS_PERF_ALERTS_MAX      16

#define NGX_WS_PERF_FORMAT_TEXT     0
#define NGX_WS_PERF_FORMAT_JSONS    1
#define NGX_WS_PERF_FORMAT_PROM     2

#define NGX_WS_PERF_A_P95           0
#define NGX_WS_PERF_A_P99           1
#define NGX_WS_PERF_A_ERROR_RATE    2
#define NGX_WS_PERF_A_DROP_RATE     3
#define NGX_WS_PERF_A_CONNECTIONS   4
#define NGX_WS_PERF_A_MEMORY        5


typedef struct {
    ngx_uint_t                  metric;
    uint64_t                    threshold;  /* us, ppm, count or bytes */
} ngx_ws_perf_alert_conf_t;


typedef struct {
    ngx_flag_t                  enable;
    size_t                      zone_size;
    ngx_msec_t                  window;
    ngx_array_t                 alerts;     /* ngx_ws_perf_alert_conf_t */
    ngx_shm_zone_t             *shm_zone;
} ngx_ws_perf_metrics_conf_t;


/* the node's totals at the end of one second */
typedef struct {
    uint64_t                    sec;
    uint64_t                    published;
    uint64_t                    delivered;
    uint64_t                    dropped;
    uint64_t                    errors;     /* failed handshakes and closes */
    uint64_t                    events;     /* all handshakes and closes */
    ngx_ws_perf_hist_t          latency;
} ngx_ws_perf_snap_t;


/* what the last evaluation saw over the alert window */
typedef struct {
    uint64_t                    sec;        /* when it was computed */
    uint64_t                    seconds;    /* the window it covered */
    uint64_t                    published;  /* per second, thousandths */
    uint64_t                    delivered;
    uint64_t                    dropped;
    uint64_t                    error_rate; /* parts per million */
    uint64_t                    drop_rate;
    uint64_t                    count;      /* latencies in the window */
    uint64_t                    p50;        /* microseconds */
    uint64_t                    p95;
    uint64_t                    p99;
    uint64_t                    p999;
} ngx_ws_perf_window_t;


typedef struct {
    uint64_t                    metric;
    uint64_t                    threshold;
    uint64_t                    value;
    uint64_t                    firing;
    uint64_t                    since;      /* Unix s of the last change */
} ngx_ws_perf_alert_t;


typedef struct {
    uint64_t                    magic;
    uint64_t                    started;    /* the zone's creation, Unix s */
    ngx_atomic_t                eval_sec;   /* the last second evaluated */
    uint64_t                    nslots;
    uint64_t                    nalerts;
    uint64_t                    window_sec; /* ws_perf_alert_window */
    ngx_ws_perf_window_t        window;
    ngx_ws_perf_alert_t         alert[NGX_WS_PERF_ALERTS_MAX];
    ngx_ws_perf_snap_t          ring[NGX_WS_PERF_RING];
    ngx_ws_perf_mslot_t         slot[1];
} ngx_ws_perf_metrics_sh_t;


typedef struct {
    char                       *name;
    char                       *help;
} ngx_ws_perf_alert_name_t;


static ngx_int_t ngx_ws_perf_status_handler(ngx_http_request_t *r);
static ngx_int_t ngx_ws_perf_health_handler(ngx_http_request_t *r);
static ngx_uint_t ngx_ws_perf_status_format(ngx_http_request_t *r);
static void ngx_ws_perf_metrics_sum(ngx_ws_perf_metrics_sh_t *sh,
    ngx_ws_perf_mslot_t *sum, ngx_uint_t *live);
static ngx_uint_t ngx_ws_perf_slot_live(ngx_ws_perf_mslot_t *slot);
static u_char *ngx_ws_perf_status_text(u_char *p, u_char *last,
    ngx_ws_perf_metrics_sh_t *sh, ngx_ws_perf_mslot_t *s, ngx_uint_t live);
static u_char *ngx_ws_perf_status_json(u_char *p, u_char *last,
    ngx_ws_perf_metrics_sh_t *sh, ngx_ws_perf_mslot_t *s, ngx_uint_t live);
static u_char *ngx_ws_perf_status_prom(u_char *p, u_char *last,
    ngx_ws_perf_metrics_sh_t *sh, ngx_ws_perf_mslot_t *s);
static u_char *ngx_ws_perf_prom_workers(u_char *p, u_char *last,
    ngx_ws_perf_metrics_sh_t *sh);
static u_char *ngx_ws_perf_prom_alerts(u_char *p, u_char *last,
    ngx_ws_perf_metrics_sh_t *sh);
static u_char *ngx_ws_perf_prom_hist(u_char *p, u_char *last, char *name,
    ngx_ws_perf_hist_t *h);
static u_char *ngx_ws_perf_json_quantiles(u_char *p, u_char *last,
    ngx_ws_perf_hist_t *h);
static u_char *ngx_ws_perf_json_workers(u_char *p, u_char *last,
    ngx_ws_perf_metrics_sh_t *sh);
static u_char *ngx_ws_perf_json_alerts(u_char *p, u_char *last,
    ngx_ws_perf_metrics_sh_t *sh);
static u_char *ngx_ws_perf_alert_value(u_char *p, u_char *last,
    ngx_uint_t metric, uint64_t v);
static void ngx_ws_perf_metrics_tick(ngx_event_t *ev);
static void ngx_ws_perf_metrics_process_stats(ngx_ws_perf_mslot_t *slot);
static void ngx_ws_perf_metrics_evaluate(ngx_ws_perf_metrics_sh_t *sh,
    uint64_t sec, ngx_log_t *log);
static void ngx_ws_perf_metrics_alerts(ngx_ws_perf_metrics_sh_t *sh,
    ngx_ws_perf_mslot_t *sum, uint64_t sec, ngx_log_t *log);
static ngx_int_t ngx_ws_perf_metrics_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static ngx_int_t ngx_ws_perf_metrics_init_process(ngx_cycle_t *cycle);
static void ngx_ws_perf_metrics_exit_process(ngx_cycle_t *cycle);
static void *ngx_ws_perf_metrics_create_main_conf(ngx_conf_t *cf);
static char *ngx_ws_perf_metrics_init_main_conf(ngx_conf_t *cf, void *conf);
static char *ngx_ws_perf_status(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_ws_perf_alert(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_ws_perf_parse_latency(ngx_str_t *v, uint64_t *us);
static ngx_int_t ngx_ws_perf_parse_rate(ngx_str_t *v, uint64_t *ppm);


static ngx_ws_perf_mslot_t   ngx_ws_perf_mslot_private;

ngx_ws_perf_mslot_t         *ngx_ws_perf_mslot = &ngx_ws_perf_mslot_private;
ngx_uint_t                   ngx_ws_perf_metrics_timing;

/* the slot in the zone even with metrics off: Redis state, RSS, CPU */
static ngx_ws_perf_mslot_t  *ngx_ws_perf_mslot_own = &ngx_ws_perf_mslot_private;
static ngx_ws_perf_metrics_sh_t  *ngx_ws_perf_metrics_sh;
static ngx_event_t           ngx_ws_perf_metrics_timer;
static ngx_fd_t              ngx_ws_perf_statm = NGX_INVALID_FILE;


static ngx_str_t  ngx_ws_perf_close_codes[] = {
    ngx_string("1000"), ngx_string("1001"), ngx_string("1002"),
    ngx_string("1003"), ngx_string("1005"), ngx_string("1006"),
    ngx_string("1007"), ngx_string("1008"), ngx_string("1009"),
    ngx_string("1011"), ngx_string("other")
};


static ngx_str_t  ngx_ws_perf_reject_reasons[] = {
    ngx_string("method"), ngx_string("http_version"), ngx_string("upgrade"),
    ngx_string("connection"), ngx_string("version"), ngx_string("key"),
    ngx_string("origin"), ngx_string("body"), ngx_string("target"),
    ngx_string("user_limit"), ngx_string("internal")
};


static ngx_str_t  ngx_ws_perf_prio_names[] = {
    ngx_string("critical"), ngx_string("high"), ngx_string("normal"),
    ngx_string("low")
};


static char  *ngx_ws_perf_redis_states[] = {
    "disconnected", "connecting", "connected"
};


static ngx_ws_perf_alert_name_t  ngx_ws_perf_alert_names[] = {
    { "p95_latency", "delivery latency p95 over the window" },
    { "p99_latency", "delivery latency p99 over the window" },
    { "error_rate", "share of failed handshakes and error closes" },
    { "drop_rate", "share of deliveries dropped by the send queue bound" },
    { "connections", "open connections" },
    { "memory", "resident memory of all workers" },
    { NULL, NULL }
};


static ngx_command_t  ngx_ws_perf_metrics_commands[] = {

    { ngx_string("ws_perf_status"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_ws_perf_status,
      0,
      0,
      NULL },

    { ngx_string("ws_perf_health"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_ws_perf_status,
      0,
      0,
      NULL },

    { ngx_string("ws_perf_metrics"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_ws_perf_metrics_conf_t, enable),
      NULL },

    { ngx_string("ws_perf_metrics_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_ws_perf_metrics_conf_t, zone_size),
      NULL },

    { ngx_string("ws_perf_alert"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE2,
      ngx_ws_perf_alert,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("ws_perf_alert_window"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_ws_perf_metrics_conf_t, window),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_ws_perf_metrics_module_ctx = {
    NULL,                                  /* preconfiguration */
    NULL,                                  /* postconfiguration */

    ngx_ws_perf_metrics_create_main_conf,  /* create main configuration */
    ngx_ws_perf_metrics_init_main_conf,    /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    NULL,                                  /* create location configuration */
    NULL                                   /* merge location configuration */
};


ngx_module_t  ngx_ws_perf_metrics_module = {
    NGX_MODULE_V1,
    &ngx_ws_perf_metrics_module_ctx,       /* module context */
    ngx_ws_perf_metrics_commands,          /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_ws_perf_metrics_init_process,      /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_ws_perf_metrics_exit_process,      /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


void
ngx_ws_perf_metrics_closed(ngx_uint_t code)
{
    ngx_uint_t  i;

    switch (code) {
    case 1000: i = NGX_WS_PERF_M_CLOSE_1000; break;
    case 1001: i = NGX_WS_PERF_M_CLOSE_1001; break;
    case 1002: i = NGX_WS_PERF_M_CLOSE_1002; break;
    case 1003: i = NGX_WS_PERF_M_CLOSE_1003; break;
    case 0:
    case 1005: i = NGX_WS_PERF_M_CLOSE_1005; break;
    case 1006: i = NGX_WS_PERF_M_CLOSE_1006; break;
    case 1007: i = NGX_WS_PERF_M_CLOSE_1007; break;
    case 1008: i = NGX_WS_PERF_M_CLOSE_1008; break;
    case 1009: i = NGX_WS_PERF_M_CLOSE_1009; break;
    case 1011: i = NGX_WS_PERF_M_CLOSE_1011; break;
    default:   i = NGX_WS_PERF_M_CLOSE_OTHER;
    }

    ngx_ws_perf_mslot->closed[i]++;
}


void
ngx_ws_perf_metrics_rejected(ngx_uint_t reason)
{
    ngx_ws_perf_mslot->hs_rejected[reason]++;
}


void
ngx_ws_perf_metrics_redis_configured(ngx_uint_t configured)
{
    ngx_ws_perf_mslot_own->redis_configured = configured ? 1 : 0;
}


void
ngx_ws_perf_metrics_redis_state(ngx_uint_t state)
{
    if (ngx_ws_perf_mslot_own->redis_state != state) {
        ngx_ws_perf_mslot_own->redis_state = state;
        ngx_ws_perf_mslot_own->redis_since = ngx_time();
    }

    if (state != NGX_WS_PERF_M_REDIS_UP) {
        ngx_ws_perf_mslot_own->redis_subscribed = 0;
    }
}


void
ngx_ws_perf_metrics_redis_subscribed(ngx_uint_t in_place)
{
    ngx_ws_perf_mslot_own->redis_subscribed = in_place ? 1 : 0;
}


void
ngx_ws_perf_metrics_redis_reconnect(void)
{
    ngx_ws_perf_mslot_own->redis_reconnects++;
}


void
ngx_ws_perf_metrics_redis_pending(ngx_uint_t n)
{
    ngx_ws_perf_mslot_own->redis_pending = n;
}


void
ngx_ws_perf_metrics_redis_command_latency(ngx_msec_t ms)
{
    ngx_ws_perf_hist_add(&ngx_ws_perf_mslot_own->redis_latency,
                         (uint64_t) ms * 1000);
}


void
ngx_ws_perf_metrics_redis_command_latency_us(uint64_t us)
{
    ngx_ws_perf_hist_add(&ngx_ws_perf_mslot_own->redis_latency, us);
}


void
ngx_ws_perf_metrics_redelivered(void)
{
    ngx_ws_perf_mslot->redelivered++;
}


void
ngx_ws_perf_metrics_dead_lettered(void)
{
    ngx_ws_perf_mslot->dead_lettered++;
}


void
ngx_ws_perf_metrics_scheduled(ngx_int_t delta)
{
    ngx_ws_perf_mslot->scheduled += delta;
}


static ngx_int_t
ngx_ws_perf_status_handler(ngx_http_request_t *r)
{
    u_char                    *p, *buf;
    size_t                     len;
    ngx_int_t                  rc;
    ngx_uint_t                 format, live;
    ngx_ws_perf_mslot_t       *sum;
    ngx_ws_perf_metrics_sh_t  *sh;

    static char  *types[] = {
        "text/plain",
        "application/json",
        "text/plain; version=0.0.4; charset=utf-8"
    };

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    format = ngx_ws_perf_status_format(r);

    if (format == NGX_CONF_UNSET_UINT) {
        return ngx_ws_perf_send_response(r, NGX_HTTP_BAD_REQUEST,
                   "text/plain", (u_char *) "format must be text, json or "
                   "prometheus\n", sizeof("format must be text, json or "
                                          "prometheus\n") - 1);
    }

    sh = ngx_ws_perf_metrics_sh;

    if (sh == NULL) {
        return ngx_ws_perf_send_response(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                   "text/plain", (u_char *) "no metrics zone\n",
                   sizeof("no metrics zone\n") - 1);
    }

    sum = ngx_palloc(r->pool, sizeof(ngx_ws_perf_mslot_t));
    if (sum == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_ws_perf_metrics_sum(sh, sum, &live);

    /* fixed parts, then what grows with workers, alerts and buckets */
    len = 16384 + live * 1024 + sh->nalerts * 512
          + 2 * NGX_WS_PERF_HIST_MAX_BITS * 160;

    buf = ngx_pnalloc(r->pool, len);
    if (buf == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    switch (format) {

    case NGX_WS_PERF_FORMAT_JSONS:
        p = ngx_ws_perf_status_json(buf, buf + len, sh, sum, live);
        break;

    case NGX_WS_PERF_FORMAT_PROM:
        p = ngx_ws_perf_status_prom(buf, buf + len, sh, sum);
        break;

    default: /* NGX_WS_PERF_FORMAT_TEXT */
        p = ngx_ws_perf_status_text(buf, buf + len, sh, sum, live);
    }

    return ngx_ws_perf_send_response(r, NGX_HTTP_OK, types[format], buf,
                                     p - buf);
}


/* ?format= first, then the Accept header; NGX_CONF_UNSET_UINT: unknown */

static ngx_uint_t
ngx_ws_perf_status_format(ngx_http_request_t *r)
{
    ngx_str_t         arg;
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    if (ngx_http_arg(r, (u_char *) "format", 6, &arg) == NGX_OK) {

        if (arg.len == 4 && ngx_strncmp(arg.data, "text", 4) == 0) {
            return NGX_WS_PERF_FORMAT_TEXT;
        }

        if (arg.len == 4 && ngx_strncmp(arg.data, "json", 4) == 0) {
            return NGX_WS_PERF_FORMAT_JSONS;
        }

        if (arg.len == 10 && ngx_strncmp(arg.data, "prometheus", 10) == 0) {
            return NGX_WS_PERF_FORMAT_PROM;
        }

        return NGX_CONF_UNSET_UINT;
    }

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len != sizeof("Accept") - 1
            || ngx_strncasecmp(h[i].key.data, (u_char *) "Accept", 6) != 0)
        {
            continue;
        }

        /* what Prometheus servers send, and what JSON clients send */
        if (ngx_strlcasestrn(h[i].value.data,
                             h[i].value.data + h[i].value.len,
                             (u_char *) "version=0.0.4", 13 - 1)
            || ngx_strlcasestrn(h[i].value.data,
                                h[i].value.data + h[i].value.len,
                                (u_char *) "openmetrics", 11 - 1))
        {
            return NGX_WS_PERF_FORMAT_PROM;
        }

        if (ngx_strlcasestrn(h[i].value.data,
                             h[i].value.data + h[i].value.len,
                             (u_char *) "application/json", 16 - 1))
        {
            return NGX_WS_PERF_FORMAT_JSONS;
        }
    }

    return NGX_WS_PERF_FORMAT_TEXT;
}


/*
 * Adds the slots up: counters of every slot ever used (the node's totals
 * across reloads), gauges of the live ones, the largest queue of all.
 */

static void
ngx_ws_perf_metrics_sum(ngx_ws_perf_metrics_sh_t *sh, ngx_ws_perf_mslot_t *s,
    ngx_uint_t *live)
{
    ngx_uint_t            i, k;
    ngx_ws_perf_mslot_t  *slot;

    ngx_memzero(s, sizeof(ngx_ws_perf_mslot_t));
    *live = 0;

    for (i = 0; i < sh->nslots; i++) {
        slot = &sh->slot[i];

        if (slot->started == 0) {
            continue;
        }

        s->conn_opened += slot->conn_opened;
        s->conn_closed += slot->conn_closed;
        s->hs_accepted += slot->hs_accepted;
        s->published += slot->published;
        s->delivered += slot->delivered;
        s->redelivered += slot->redelivered;
        s->dead_lettered += slot->dead_lettered;
        s->bytes_in += slot->bytes_in;
        s->bytes_out += slot->bytes_out;
        s->redis_reconnects += slot->redis_reconnects;
        s->redis_dropped += slot->redis_dropped;
        s->redis_bad_replies += slot->redis_bad_replies;
        s->queue_max = ngx_max(s->queue_max, slot->queue_max);

        for (k = 0; k < NGX_WS_PERF_M_CLOSE_N; k++) {
            s->closed[k] += slot->closed[k];
        }

        for (k = 0; k < NGX_WS_PERF_M_HS_N; k++) {
            s->hs_rejected[k] += slot->hs_rejected[k];
        }

        for (k = 0; k < NGX_WS_PERF_PRIO_N; k++) {
            s->dropped[k] += slot->dropped[k];
        }

        ngx_ws_perf_hist_merge(&s->latency, &slot->latency);
        ngx_ws_perf_hist_merge(&s->redis_latency, &slot->redis_latency);

        if (!ngx_ws_perf_slot_live(slot)) {
            continue;
        }

        (*live)++;
        s->scheduled += slot->scheduled;
        s->queued += slot->queued;
        s->rss += slot->rss;
        s->cpu_ms += slot->cpu_ms;
        s->redis_pending += slot->redis_pending;
        s->redis_configured |= slot->redis_configured;
    }
}


static ngx_uint_t
ngx_ws_perf_slot_live(ngx_ws_perf_mslot_t *slot)
{
    ngx_pid_t  pid;

    pid = (ngx_pid_t) slot->pid;

    if (pid == 0) {
        return 0;
    }

    /* a worker that died without its exit handler */
    if (kill(pid, 0) == -1 && ngx_errno == NGX_ESRCH) {
        return 0;
    }

    return 1;
}


/* live workers whose Redis links are up and subscribed */

static ngx_uint_t
ngx_ws_perf_metrics_redis_up(ngx_ws_perf_metrics_sh_t *sh)
{
    ngx_uint_t            i, n;
    ngx_ws_perf_mslot_t  *slot;

    n = 0;

    for (i = 0; i < sh->nslots; i++) {
        slot = &sh->slot[i];

        if (slot->redis_configured && slot->redis_subscribed
            && slot->redis_state == NGX_WS_PERF_M_REDIS_UP
            && ngx_ws_perf_slot_live(slot))
        {
            n++;
        }
    }

    return n;
}


static uint64_t
ngx_ws_perf_metrics_sum_dropped(ngx_ws_perf_mslot_t *s)
{
    ngx_uint_t  k;
    uint64_t    n;

    n = 0;

    for (k = 0; k < NGX_WS_PERF_PRIO_N; k++) {
        n += s->dropped[k];
    }

    return n;
}


static uint64_t
ngx_ws_perf_metrics_sum_rejected(ngx_ws_perf_mslot_t *s)
{
    ngx_uint_t  k;
    uint64_t    n;

    n = 0;

    for (k = 0; k < NGX_WS_PERF_M_HS_N; k++) {
        n += s->hs_rejected[k];
    }

    return n;
}


/* closes other than normal (1000), going away (1001) and no code (1005) */

static uint64_t
ngx_ws_perf_metrics_sum_error_closes(ngx_ws_perf_mslot_t *s)
{
    ngx_uint_t  k;
    uint64_t    n;

    n = 0;

    for (k = 0; k < NGX_WS_PERF_M_CLOSE_N; k++) {
        if (k != NGX_WS_PERF_M_CLOSE_1000 && k != NGX_WS_PERF_M_CLOSE_1001
            && k != NGX_WS_PERF_M_CLOSE_1005)
        {
            n += s->closed[k];
        }
    }

    return n;
}


/* microseconds as "ms.uuu" */
#define ngx_ws_perf_ms(us)  (uint64_t) ((us) / 1000), (uint64_t) ((us) % 1000)

/* microseconds as seconds, "s.uuuuuu" */
#define ngx_ws_perf_sec(us)                                                   \
    (uint64_t) ((us) / 1000000), (uint64_t) ((us) % 1000000)

/* thousandths as "n.nnn" */
#define ngx_ws_perf_milli(v)  (uint64_t) ((v) / 1000), (uint64_t) ((v) % 1000)


static u_char *
ngx_ws_perf_status_text(u_char *p, u_char *last, ngx_ws_perf_metrics_sh_t *sh,
    ngx_ws_perf_mslot_t *s, ngx_uint_t live)
{
    uint64_t               n, q[4];
    ngx_uint_t             i;
    ngx_ws_perf_alert_t   *a;
    ngx_ws_perf_window_t  *w;

    static double  qs[] = { 0.5, 0.95, 0.99, 0.999 };

    n = s->latency.count;

    for (i = 0; i < 4; i++) {
        q[i] = ngx_ws_perf_hist_quantile(s->latency.bucket, n, qs[i]);
    }

    w = &sh->window;

    p = ngx_slprintf(p, last,
            "Active connections: %uL\n"
            "connections opened closed errors\n"
            " %uL %uL %uL\n"
            "handshakes accepted rejected\n"
            " %uL %uL\n"
            "messages published delivered dropped\n"
            " %uL %uL %uL\n"
            "bytes in out\n"
            " %uL %uL\n"
            "send queues bytes max\n"
            " %L %uL\n"
            "delivery latency ms p50 p95 p99 p99.9 count\n"
            " %uL.%03uL %uL.%03uL %uL.%03uL %uL.%03uL %uL\n"
            "last %uLs per second published delivered dropped\n"
            " %uL.%03uL %uL.%03uL %uL.%03uL\n"
            "workers %ui uptime %uLs\n",
            s->conn_opened - s->conn_closed,
            s->conn_opened, s->conn_closed,
            ngx_ws_perf_metrics_sum_error_closes(s),
            s->hs_accepted, ngx_ws_perf_metrics_sum_rejected(s),
            s->published, s->delivered, ngx_ws_perf_metrics_sum_dropped(s),
            s->bytes_in, s->bytes_out,
            s->queued, s->queue_max,
            ngx_ws_perf_ms(q[0]), ngx_ws_perf_ms(q[1]), ngx_ws_perf_ms(q[2]),
            ngx_ws_perf_ms(q[3]), n,
            w->seconds, ngx_ws_perf_milli(w->published),
            ngx_ws_perf_milli(w->delivered), ngx_ws_perf_milli(w->dropped),
            live, (uint64_t) ngx_time() - sh->started);

    if (s->redis_configured) {
        p = ngx_slprintf(p, last, "redis workers up reconnects pending "
                         "dropped bad_replies\n"
                         " %ui/%ui %uL %uL %uL %uL\n",
                         ngx_ws_perf_metrics_redis_up(sh), live,
                         s->redis_reconnects, s->redis_pending,
                         s->redis_dropped, s->redis_bad_replies);

    } else {
        p = ngx_slprintf(p, last, "redis not configured\n");
    }

    for (i = 0; i < sh->nalerts; i++) {
        a = &sh->alert[i];

        if (!a->firing) {
            continue;
        }

        p = ngx_slprintf(p, last, "alert %s firing since %uL: ",
                         ngx_ws_perf_alert_names[a->metric].name, a->since);
        p = ngx_ws_perf_alert_value(p, last, a->metric, a->value);
        p = ngx_slprintf(p, last, " over ");
        p = ngx_ws_perf_alert_value(p, last, a->metric, a->threshold);
        p = ngx_slprintf(p, last, "\n");
    }

    return p;
}


static u_char *
ngx_ws_perf_status_json(u_char *p, u_char *last, ngx_ws_perf_metrics_sh_t *sh,
    ngx_ws_perf_mslot_t *s, ngx_uint_t live)
{
    ngx_uint_t             k;
    ngx_ws_perf_window_t  *w;

    p = ngx_slprintf(p, last,
            "{\"version\":1,\"time\":%T,\"uptime\":%uL,\"metrics\":%s,"
            "\"connections\":{\"current\":%uL,\"opened\":%uL,"
            "\"closed\":%uL,\"closed_by_code\":{",
            ngx_time(), (uint64_t) ngx_time() - sh->started,
            ngx_ws_perf_mslot == ngx_ws_perf_mslot_own ? "true" : "false",
            s->conn_opened - s->conn_closed, s->conn_opened,
            s->conn_closed);

    for (k = 0; k < NGX_WS_PERF_M_CLOSE_N; k++) {
        p = ngx_slprintf(p, last, "%s\"%V\":%uL", k ? "," : "",
                         &ngx_ws_perf_close_codes[k], s->closed[k]);
    }

    p = ngx_slprintf(p, last, "}},\"handshakes\":{\"accepted\":%uL,"
                     "\"rejected\":%uL,\"rejected_by_reason\":{",
                     s->hs_accepted, ngx_ws_perf_metrics_sum_rejected(s));

    for (k = 0; k < NGX_WS_PERF_M_HS_N; k++) {
        p = ngx_slprintf(p, last, "%s\"%V\":%uL", k ? "," : "",
                         &ngx_ws_perf_reject_reasons[k], s->hs_rejected[k]);
    }

    p = ngx_slprintf(p, last, "}},\"messages\":{\"published\":%uL,"
                     "\"delivered\":%uL,\"dropped\":%uL,"
                     "\"dropped_by_priority\":{",
                     s->published, s->delivered,
                     ngx_ws_perf_metrics_sum_dropped(s));

    for (k = 0; k < NGX_WS_PERF_PRIO_N; k++) {
        p = ngx_slprintf(p, last, "%s\"%V\":%uL", k ? "," : "",
                         &ngx_ws_perf_prio_names[k], s->dropped[k]);
    }

    w = &sh->window;

    p = ngx_slprintf(p, last,
            "},\"redelivered\":%uL,\"dead_lettered\":%uL,"
            "\"scheduled_pending\":%L},"
            "\"bytes\":{\"in\":%uL,\"out\":%uL},"
            "\"send_queue\":{\"bytes\":%L,\"max_bytes\":%uL},"
            "\"latency\":{\"what\":\"hub to socket write\",\"unit\":\"ms\","
            "\"precision\":\"bucket upper bound, at most 6.25%% above\",",
            s->redelivered, s->dead_lettered, s->scheduled,
            s->bytes_in, s->bytes_out, s->queued, s->queue_max);

    p = ngx_ws_perf_json_quantiles(p, last, &s->latency);

    p = ngx_slprintf(p, last,
            "},\"window\":{\"seconds\":%uL,\"time\":%uL,"
            "\"published_per_s\":%uL.%03uL,\"delivered_per_s\":%uL.%03uL,"
            "\"dropped_per_s\":%uL.%03uL,\"error_rate\":%uL.%06uL,"
            "\"drop_rate\":%uL.%06uL,\"latency\":{\"count\":%uL,"
            "\"p50\":%uL.%03uL,\"p95\":%uL.%03uL,\"p99\":%uL.%03uL,"
            "\"p99_9\":%uL.%03uL}},",
            w->seconds, w->sec, ngx_ws_perf_milli(w->published),
            ngx_ws_perf_milli(w->delivered), ngx_ws_perf_milli(w->dropped),
            ngx_ws_perf_sec(w->error_rate), ngx_ws_perf_sec(w->drop_rate),
            w->count, ngx_ws_perf_ms(w->p50), ngx_ws_perf_ms(w->p95),
            ngx_ws_perf_ms(w->p99), ngx_ws_perf_ms(w->p999));

    p = ngx_slprintf(p, last, "\"redis\":{\"configured\":%s,"
                     "\"reconnects\":%uL,\"pending\":%uL,"
                     "\"dropped\":%uL,\"bad_replies\":%uL,"
                     "\"command_latency\":{\"unit\":\"ms\",",
                     s->redis_configured ? "true" : "false",
                     s->redis_reconnects, s->redis_pending,
                     s->redis_dropped, s->redis_bad_replies);

    p = ngx_ws_perf_json_quantiles(p, last, &s->redis_latency);

    p = ngx_slprintf(p, last, "}},");
    p = ngx_ws_perf_json_workers(p, last, sh);
    p = ngx_slprintf(p, last, ",\"live_workers\":%ui,", live);
    p = ngx_ws_perf_json_alerts(p, last, sh);

    return ngx_slprintf(p, last, "}\n");
}


static u_char *
ngx_ws_perf_json_workers(u_char *p, u_char *last,
    ngx_ws_perf_metrics_sh_t *sh)
{
    ngx_uint_t            i, n;
    ngx_ws_perf_mslot_t  *slot;

    p = ngx_slprintf(p, last, "\"workers\":[");
    n = 0;

    for (i = 0; i < sh->nslots; i++) {
        slot = &sh->slot[i];

        if (!ngx_ws_perf_slot_live(slot)) {
            continue;
        }

        p = ngx_slprintf(p, last,
                "%s{\"slot\":%ui,\"pid\":%uA,\"started\":%uL,"
                "\"rss\":%uL,\"cpu_seconds\":%uL.%03uL,"
                "\"connections\":%uL,\"redis\":{\"configured\":%s,"
                "\"state\":\"%s\",\"since\":%uL,\"subscribed\":%s}}",
                n++ ? "," : "", i, slot->pid, slot->started, slot->rss,
                ngx_ws_perf_milli(slot->cpu_ms),
                slot->conn_opened - slot->conn_closed,
                slot->redis_configured ? "true" : "false",
                ngx_ws_perf_redis_states[slot->redis_state % 3],
                slot->redis_since,
                slot->redis_subscribed ? "true" : "false");
    }

    return ngx_slprintf(p, last, "]");
}


static u_char *
ngx_ws_perf_json_quantiles(u_char *p, u_char *last, ngx_ws_perf_hist_t *h)
{
    uint64_t  n, us;

    n = h->count;

    us = n ? h->sum / n : 0;

    return ngx_slprintf(p, last,
               "\"count\":%uL,\"mean\":%uL.%03uL,\"p50\":%uL.%03uL,"
               "\"p95\":%uL.%03uL,\"p99\":%uL.%03uL,\"p99_9\":%uL.%03uL",
               n, ngx_ws_perf_ms(us),
               ngx_ws_perf_ms(ngx_ws_perf_hist_quantile(h->bucket, n, 0.5)),
               ngx_ws_perf_ms(ngx_ws_perf_hist_quantile(h->bucket, n, 0.95)),
               ngx_ws_perf_ms(ngx_ws_perf_hist_quantile(h->bucket, n, 0.99)),
               ngx_ws_perf_ms(ngx_ws_perf_hist_quantile(h->bucket, n,
                                                        0.999)));
}


static u_char *
ngx_ws_perf_json_alerts(u_char *p, u_char *last, ngx_ws_perf_metrics_sh_t *sh)
{
    ngx_uint_t            i;
    ngx_ws_perf_alert_t  *a;

    p = ngx_slprintf(p, last, "\"alerts\":[");

    for (i = 0; i < sh->nalerts; i++) {
        a = &sh->alert[i];

        p = ngx_slprintf(p, last, "%s{\"name\":\"%s\",\"firing\":%s,"
                         "\"since\":%uL,\"value\":\"",
                         i ? "," : "",
                         ngx_ws_perf_alert_names[a->metric].name,
                         a->firing ? "true" : "false", a->since);
        p = ngx_ws_perf_alert_value(p, last, a->metric, a->value);
        p = ngx_slprintf(p, last, "\",\"threshold\":\"");
        p = ngx_ws_perf_alert_value(p, last, a->metric, a->threshold);
        p = ngx_slprintf(p, last, "\"}");
    }

    return ngx_slprintf(p, last, "]");
}


/* an alert's value in its unit, as written in ws_perf_alert */

static u_char *
ngx_ws_perf_alert_value(u_char *p, u_char *last, ngx_uint_t metric,
    uint64_t v)
{
    switch (metric) {

    case NGX_WS_PERF_A_P95:
    case NGX_WS_PERF_A_P99:
        return ngx_slprintf(p, last, "%uL.%03uLms", ngx_ws_perf_ms(v));

    case NGX_WS_PERF_A_ERROR_RATE:
    case NGX_WS_PERF_A_DROP_RATE:
        return ngx_slprintf(p, last, "%uL.%04uL%%", v / 10000, v % 10000);

    case NGX_WS_PERF_A_MEMORY:
        return ngx_slprintf(p, last, "%uLk", v / 1024);

    default: /* NGX_WS_PERF_A_CONNECTIONS */
        return ngx_slprintf(p, last, "%uL", v);
    }
}


/* one Prometheus family taken from the summed slots */
typedef struct {
    char                       *name;
    char                       *type;
    char                       *help;
    size_t                      offset;     /* a 64-bit field, or the hist */
    char                       *label;      /* NULL: a single sample */
    ngx_str_t                  *values;     /* the label's values */
    ngx_uint_t                  n;
} ngx_ws_perf_prom_t;


#define ngx_ws_perf_slot_off(f)  offsetof(ngx_ws_perf_mslot_t, f)


static ngx_ws_perf_prom_t  ngx_ws_perf_prom[] = {

    { "ws_perf_connections_opened_total", "counter",
      "WebSocket connections upgraded.",
      ngx_ws_perf_slot_off(conn_opened), NULL, NULL, 0 },

    { "ws_perf_connections_closed_total", "counter",
      "WebSocket connections closed, by close code (1006: no close frame).",
      ngx_ws_perf_slot_off(closed), "code", ngx_ws_perf_close_codes,
      NGX_WS_PERF_M_CLOSE_N },

    { "ws_perf_handshakes_accepted_total", "counter",
      "WebSocket handshakes answered with 101.",
      ngx_ws_perf_slot_off(hs_accepted), NULL, NULL, 0 },

    { "ws_perf_handshakes_rejected_total", "counter",
      "WebSocket handshakes refused, by reason.",
      ngx_ws_perf_slot_off(hs_rejected), "reason",
      ngx_ws_perf_reject_reasons, NGX_WS_PERF_M_HS_N },

    { "ws_perf_messages_published_total", "counter",
      "Messages published on this node.",
      ngx_ws_perf_slot_off(published), NULL, NULL, 0 },

    { "ws_perf_messages_delivered_total", "counter",
      "Messages queued to a subscriber's connection.",
      ngx_ws_perf_slot_off(delivered), NULL, NULL, 0 },

    { "ws_perf_messages_dropped_total", "counter",
      "Messages dropped by the send queue bound, by priority.",
      ngx_ws_perf_slot_off(dropped), "priority", ngx_ws_perf_prio_names,
      NGX_WS_PERF_PRIO_N },

    { "ws_perf_messages_redelivered_total", "counter",
      "Messages sent again after their ack timeout.",
      ngx_ws_perf_slot_off(redelivered), NULL, NULL, 0 },

    { "ws_perf_messages_dead_lettered_total", "counter",
      "Messages moved to the dead-letter stream.",
      ngx_ws_perf_slot_off(dead_lettered), NULL, NULL, 0 },

    { "ws_perf_messages_scheduled", "gauge",
      "Messages scheduled for later delivery.",
      ngx_ws_perf_slot_off(scheduled), NULL, NULL, 0 },

    { "ws_perf_received_bytes_total", "counter",
      "Bytes read from WebSocket connections.",
      ngx_ws_perf_slot_off(bytes_in), NULL, NULL, 0 },

    { "ws_perf_sent_bytes_total", "counter",
      "Bytes written to WebSocket connections.",
      ngx_ws_perf_slot_off(bytes_out), NULL, NULL, 0 },

    { "ws_perf_send_queue_bytes", "gauge",
      "Bytes waiting in the send queues of all connections.",
      ngx_ws_perf_slot_off(queued), NULL, NULL, 0 },

    { "ws_perf_send_queue_max_bytes", "gauge",
      "The most bytes one connection's send queue held.",
      ngx_ws_perf_slot_off(queue_max), NULL, NULL, 0 },

    { "ws_perf_delivery_latency_seconds", "histogram",
      "From a message entering the hub to its frame written to the socket.",
      ngx_ws_perf_slot_off(latency), NULL, NULL, 0 },

    { "ws_perf_redis_configured", "gauge",
      "1 when the workers use Redis.",
      ngx_ws_perf_slot_off(redis_configured), NULL, NULL, 0 },

    { "ws_perf_redis_reconnects_total", "counter",
      "Redis reconnections.",
      ngx_ws_perf_slot_off(redis_reconnects), NULL, NULL, 0 },

    { "ws_perf_redis_pending_commands", "gauge",
      "Redis commands sent and not answered yet.",
      ngx_ws_perf_slot_off(redis_pending), NULL, NULL, 0 },

    { "ws_perf_redis_dropped_total", "counter",
      "Messages from Redis dropped: malformed, or JSON that is not UTF-8.",
      ngx_ws_perf_slot_off(redis_dropped), NULL, NULL, 0 },

    { "ws_perf_redis_bad_replies_total", "counter",
      "Redis replies of an unexpected type or shape (each dropped a link).",
      ngx_ws_perf_slot_off(redis_bad_replies), NULL, NULL, 0 },

    { "ws_perf_redis_command_latency_seconds", "histogram",
      "Redis command round trips.",
      ngx_ws_perf_slot_off(redis_latency), NULL, NULL, 0 },

    { NULL, NULL, NULL, 0, NULL, NULL, 0 }
};


#define ngx_ws_perf_prom_head(p, last, name, type, help)                      \
    ngx_slprintf(p, last, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,  \
                 type)


static u_char *
ngx_ws_perf_status_prom(u_char *p, u_char *last, ngx_ws_perf_metrics_sh_t *sh,
    ngx_ws_perf_mslot_t *s)
{
    int64_t             *v;
    ngx_uint_t           k;
    ngx_ws_perf_prom_t  *f;

    p = ngx_ws_perf_prom_head(p, last, "ws_perf_uptime_seconds", "gauge",
            "Seconds since the metrics zone was created (kept on reload).");
    p = ngx_slprintf(p, last, "ws_perf_uptime_seconds %uL\n",
                     (uint64_t) ngx_time() - sh->started);

    p = ngx_ws_perf_prom_head(p, last, "ws_perf_connections", "gauge",
            "Open WebSocket connections.");
    p = ngx_slprintf(p, last, "ws_perf_connections %uL\n",
                     s->conn_opened - s->conn_closed);

    for (f = ngx_ws_perf_prom; f->name; f++) {
        p = ngx_ws_perf_prom_head(p, last, f->name, f->type, f->help);

        if (f->type[0] == 'h') {
            p = ngx_ws_perf_prom_hist(p, last, f->name, (ngx_ws_perf_hist_t *)
                                      ((u_char *) s + f->offset));
            continue;
        }

        v = (int64_t *) ((u_char *) s + f->offset);

        if (f->label == NULL) {
            p = ngx_slprintf(p, last, "%s %L\n", f->name, *v);
            continue;
        }

        for (k = 0; k < f->n; k++) {
            p = ngx_slprintf(p, last, "%s{%s=\"%V\"} %L\n", f->name,
                             f->label, &f->values[k], v[k]);
        }
    }

    p = ngx_ws_perf_prom_workers(p, last, sh);

    return ngx_ws_perf_prom_alerts(p, last, sh);
}


/* per live worker: Redis up, resident memory, CPU */

static u_char *
ngx_ws_perf_prom_workers(u_char *p, u_char *last,
    ngx_ws_perf_metrics_sh_t *sh)
{
    ngx_uint_t            i, k;
    ngx_ws_perf_mslot_t  *slot;

    static ngx_ws_perf_prom_t  heads[] = {
        { "ws_perf_redis_up", "gauge",
          "1 when the worker's Redis connection is up and subscribed.",
          0, NULL, NULL, 0 },
        { "ws_perf_worker_resident_memory_bytes", "gauge",
          "Resident memory of each worker process.", 0, NULL, NULL, 0 },
        { "ws_perf_worker_cpu_seconds_total", "counter",
          "User and system CPU time of each worker process.",
          0, NULL, NULL, 0 }
    };

    for (k = 0; k < 3; k++) {
        p = ngx_ws_perf_prom_head(p, last, heads[k].name, heads[k].type,
                                  heads[k].help);

        for (i = 0; i < sh->nslots; i++) {
            slot = &sh->slot[i];

            if (!ngx_ws_perf_slot_live(slot)) {
                continue;
            }

            switch (k) {

            case 0:
                if (slot->redis_configured) {
                    p = ngx_slprintf(p, last, "%s{worker=\"%ui\"} %d\n",
                                     heads[k].name, i,
                                     slot->redis_state
                                     == NGX_WS_PERF_M_REDIS_UP
                                     && slot->redis_subscribed);
                }
                break;

            case 1:
                p = ngx_slprintf(p, last, "%s{worker=\"%ui\"} %uL\n",
                                 heads[k].name, i, slot->rss);
                break;

            default:
                p = ngx_slprintf(p, last, "%s{worker=\"%ui\"} %uL.%03uL\n",
                                 heads[k].name, i,
                                 ngx_ws_perf_milli(slot->cpu_ms));
            }
        }
    }

    return p;
}


static u_char *
ngx_ws_perf_prom_alerts(u_char *p, u_char *last, ngx_ws_perf_metrics_sh_t *sh)
{
    ngx_uint_t            i;
    ngx_ws_perf_alert_t  *a;

    p = ngx_ws_perf_prom_head(p, last, "ws_perf_alert_firing", "gauge",
            "1 while a ws_perf_alert threshold is crossed.");

    for (i = 0; i < sh->nalerts; i++) {
        a = &sh->alert[i];
        p = ngx_slprintf(p, last, "ws_perf_alert_firing{alert=\"%s\"} %uL\n",
                         ngx_ws_perf_alert_names[a->metric].name, a->firing);
    }

    p = ngx_ws_perf_prom_head(p, last,
            "ws_perf_alert_since_timestamp_seconds", "gauge",
            "When each alert last started or stopped firing.");

    for (i = 0; i < sh->nalerts; i++) {
        a = &sh->alert[i];
        p = ngx_slprintf(p, last, "ws_perf_alert_since_timestamp_seconds"
                         "{alert=\"%s\"} %uL\n",
                         ngx_ws_perf_alert_names[a->metric].name, a->since);
    }

    return p;
}


/* cumulative buckets at every power of two from 16us, in seconds */

static u_char *
ngx_ws_perf_prom_hist(u_char *p, u_char *last, char *name,
    ngx_ws_perf_hist_t *h)
{
    size_t    i, next;
    uint64_t  cum, bound;

    cum = 0;
    bound = NGX_WS_PERF_HIST_SUB;
    next = ngx_ws_perf_hist_index(bound);

    for (i = 0; i < NGX_WS_PERF_HIST_N; i++) {
        cum += h->bucket[i];

        if (i != next) {
            continue;
        }

        p = ngx_slprintf(p, last, "%s_bucket{le=\"%uL.%06uL\"} %uL\n", name,
                         ngx_ws_perf_sec(bound), cum);

        bound <<= 1;
        next = ngx_ws_perf_hist_index(bound);
    }

    return ngx_slprintf(p, last,
                        "%s_bucket{le=\"+Inf\"} %uL\n"
                        "%s_sum %uL.%06uL\n"
                        "%s_count %uL\n",
                        name, cum, name, ngx_ws_perf_sec(h->sum), name, cum);
}


/*
 * 200 when this node can deliver: no worker that uses Redis has lost its
 * connection or its subscriptions; otherwise 503 and the reasons.
 */

static ngx_int_t
ngx_ws_perf_health_handler(ngx_http_request_t *r)
{
    u_char                    *p, *buf, *last;
    size_t                     len;
    ngx_int_t                  rc;
    ngx_str_t                  arg;
    ngx_uint_t                 i, json, n;
    ngx_ws_perf_mslot_t       *slot;
    ngx_ws_perf_metrics_sh_t  *sh;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    json = (ngx_http_arg(r, (u_char *) "format", 6, &arg) == NGX_OK
            && arg.len == 4 && ngx_strncmp(arg.data, "json", 4) == 0);

    sh = ngx_ws_perf_metrics_sh;

    len = 256 + (sh ? sh->nslots * 160 : 0);

    buf = ngx_pnalloc(r->pool, len);
    if (buf == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    last = buf + len;
    p = ngx_slprintf(buf, last, json ? "{\"reasons\":[" : "");
    n = 0;

    if (ngx_exiting || ngx_quit || ngx_terminate) {
        p = ngx_slprintf(p, last, json ? "\"shutting down\"" :
                                         "shutting down\n");
        n++;
    }

    for (i = 0; sh && i < sh->nslots; i++) {
        slot = &sh->slot[i];

        if (!slot->redis_configured || !ngx_ws_perf_slot_live(slot)) {
            continue;
        }

        if (slot->redis_state == NGX_WS_PERF_M_REDIS_UP
            && slot->redis_subscribed)
        {
            continue;
        }

        p = ngx_slprintf(p, last, json ? "%s\"worker %ui (pid %uA): "
                                         "redis %s since %uL\""
                                       : "%sworker %ui (pid %uA): "
                                         "redis %s since %uL\n",
                         (json && n) ? "," : "", i, slot->pid,
                         slot->redis_state == NGX_WS_PERF_M_REDIS_UP
                         ? "subscriptions not in place"
                         : ngx_ws_perf_redis_states[slot->redis_state % 3],
                         slot->redis_since);
        n++;
    }

    if (json) {
        p = ngx_slprintf(p, last, "],\"status\":\"%s\"}\n",
                         n ? "unavailable" : "ok");

    } else if (n == 0) {
        p = ngx_slprintf(p, last, "ok\n");
    }

    return ngx_ws_perf_send_response(r, n ? NGX_HTTP_SERVICE_UNAVAILABLE
                                          : NGX_HTTP_OK,
                                     json ? "application/json" : "text/plain",
                                     buf, p - buf);
}


/* every second in every worker; one worker a second evaluates the alerts */

static void
ngx_ws_perf_metrics_tick(ngx_event_t *ev)
{
    uint64_t                   sec, last;
    ngx_time_t                *tp;
    ngx_ws_perf_metrics_sh_t  *sh;

    sh = ngx_ws_perf_metrics_sh;

    ngx_ws_perf_metrics_process_stats(ngx_ws_perf_mslot_own);
    ngx_ws_perf_mslot_own->ticks++;

    sec = (uint64_t) ngx_time();
    last = sh->eval_sec;

    if (sec > last
        && ngx_atomic_cmp_set(&sh->eval_sec, (ngx_atomic_uint_t) last,
                              (ngx_atomic_uint_t) sec))
    {
        ngx_ws_perf_metrics_evaluate(sh, sec, ev->log);
    }

    if (!ngx_exiting) {
        /* the next second's start, give or take the timer's resolution */
        tp = ngx_timeofday();
        ngx_add_timer(ev, 1000 - tp->msec + 1);
    }
}


static void
ngx_ws_perf_metrics_process_stats(ngx_ws_perf_mslot_t *slot)
{
    u_char         buf[128], *p, *last;
    ssize_t        n;
    ngx_int_t      pages;
    struct rusage  ru;

    if (getrusage(RUSAGE_SELF, &ru) == 0) {
        slot->cpu_ms = (uint64_t) (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec)
                       * 1000
                       + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000;
    }

    if (ngx_ws_perf_statm == NGX_INVALID_FILE) {
        return;
    }

    /* "size resident shared ...", in pages */
    n = pread(ngx_ws_perf_statm, buf, sizeof(buf) - 1, 0);
    if (n <= 0) {
        return;
    }

    last = buf + n;
    p = ngx_strlchr(buf, last, ' ');

    if (p == NULL) {
        return;
    }

    p++;
    last = ngx_strlchr(p, last, ' ');

    if (last == NULL) {
        return;
    }

    pages = ngx_atoi(p, last - p);

    if (pages != NGX_ERROR) {
        slot->rss = (uint64_t) pages * ngx_pagesize;
    }
}


static void
ngx_ws_perf_metrics_evaluate(ngx_ws_perf_metrics_sh_t *sh, uint64_t sec,
    ngx_log_t *log)
{
    uint64_t               k, events, deliveries;
    ngx_uint_t             live;
    ngx_ws_perf_snap_t    *cur, *base, *d;
    ngx_ws_perf_mslot_t   *sum;
    ngx_ws_perf_window_t  *w;

    static ngx_ws_perf_mslot_t  sum_buf;
    static ngx_ws_perf_snap_t   diff, zero;

    sum = &sum_buf;
    ngx_ws_perf_metrics_sum(sh, sum, &live);

    cur = &sh->ring[sec % NGX_WS_PERF_RING];
    cur->sec = 0;

    cur->published = sum->published;
    cur->delivered = sum->delivered;
    cur->dropped = ngx_ws_perf_metrics_sum_dropped(sum);
    cur->errors = ngx_ws_perf_metrics_sum_rejected(sum)
                  + ngx_ws_perf_metrics_sum_error_closes(sum);
    cur->events = sum->hs_accepted + ngx_ws_perf_metrics_sum_rejected(sum)
                  + sum->conn_closed;
    cur->latency = sum->latency;
    cur->sec = sec;

    /* the snapshot "window" seconds ago, or the oldest one within it */
    base = NULL;

    for (k = sh->window_sec; k > 0; k--) {
        base = &sh->ring[(sec - k) % NGX_WS_PERF_RING];

        if (base->sec == sec - k) {
            break;
        }

        base = NULL;
    }

    /* a zone younger than the window: everything since it was made */
    if (base == NULL && sec > sh->started
        && sec - sh->started <= sh->window_sec)
    {
        k = sec - sh->started;
        base = &zero;
    }

    w = &sh->window;

    if (base == NULL) {
        ngx_memzero(w, sizeof(ngx_ws_perf_window_t));
        w->sec = sec;
        ngx_ws_perf_metrics_alerts(sh, sum, sec, log);
        return;
    }

    d = &diff;
    *d = *cur;
    d->published -= base->published;
    d->delivered -= base->delivered;
    d->dropped -= base->dropped;
    d->errors -= base->errors;
    d->events -= base->events;
    ngx_ws_perf_hist_sub(&d->latency, &base->latency);

    events = d->events;
    deliveries = d->delivered + d->dropped;

    w->seconds = k;
    w->published = d->published * 1000 / k;
    w->delivered = d->delivered * 1000 / k;
    w->dropped = d->dropped * 1000 / k;
    w->error_rate = events ? d->errors * 1000000 / events : 0;
    w->drop_rate = deliveries ? d->dropped * 1000000 / deliveries : 0;
    w->count = d->latency.count;
    w->p50 = ngx_ws_perf_hist_quantile(d->latency.bucket, w->count, 0.5);
    w->p95 = ngx_ws_perf_hist_quantile(d->latency.bucket, w->count, 0.95);
    w->p99 = ngx_ws_perf_hist_quantile(d->latency.bucket, w->count, 0.99);
    w->p999 = ngx_ws_perf_hist_quantile(d->latency.bucket, w->count, 0.999);
    w->sec = sec;

    ngx_ws_perf_metrics_alerts(sh, sum, sec, log);
}


static void
ngx_ws_perf_metrics_alerts(ngx_ws_perf_metrics_sh_t *sh,
    ngx_ws_perf_mslot_t *sum, uint64_t sec, ngx_log_t *log)
{
    u_char                *p, buf[128];
    uint64_t               v;
    ngx_uint_t             i, firing;
    ngx_ws_perf_alert_t   *a;
    ngx_ws_perf_window_t  *w;

    w = &sh->window;

    for (i = 0; i < sh->nalerts; i++) {
        a = &sh->alert[i];

        switch (a->metric) {
        case NGX_WS_PERF_A_P95:         v = w->p95; break;
        case NGX_WS_PERF_A_P99:         v = w->p99; break;
        case NGX_WS_PERF_A_ERROR_RATE:  v = w->error_rate; break;
        case NGX_WS_PERF_A_DROP_RATE:   v = w->drop_rate; break;
        case NGX_WS_PERF_A_MEMORY:      v = sum->rss; break;
        default: /* connections */      v = sum->conn_opened
                                             - sum->conn_closed;
        }

        a->value = v;
        firing = (v > a->threshold);

        if (firing == a->firing) {
            continue;
        }

        a->firing = firing;
        a->since = sec;

        p = ngx_ws_perf_alert_value(buf, buf + sizeof(buf) - 64, a->metric,
                                    v);
        p = ngx_slprintf(p, buf + sizeof(buf), ", threshold ");
        p = ngx_ws_perf_alert_value(p, buf + sizeof(buf), a->metric,
                                    a->threshold);

        ngx_log_error(NGX_LOG_WARN, log, 0, "ws_perf alert \"%s\" %s: %*s",
                      ngx_ws_perf_alert_names[a->metric].name,
                      firing ? "firing" : "resolved", p - buf, buf);
    }
}


static ngx_int_t
ngx_ws_perf_metrics_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    size_t                       size;
    ngx_uint_t                   i, n;
    ngx_slab_pool_t             *shpool;
    ngx_ws_perf_alert_t         *a;
    ngx_ws_perf_alert_conf_t    *ac;
    ngx_ws_perf_metrics_sh_t    *sh, *osh;
    ngx_ws_perf_metrics_conf_t  *mcf;

    mcf = shm_zone->data;
    sh = NULL;
    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    /* data is the previous cycle's configuration: the zone is the same */
    osh = (data || shm_zone->shm.exists) ? shpool->data : NULL;

    if (osh && osh->magic == NGX_WS_PERF_METRICS_MAGIC) {
        sh = osh;
        goto alerts;
    }

    n = (shpool->pfree * ngx_pagesize - offsetof(ngx_ws_perf_metrics_sh_t,
                                                 slot))
        / sizeof(ngx_ws_perf_mslot_t);

    if (n < 2) {
        ngx_log_error(NGX_LOG_EMERG, shm_zone->shm.log, 0,
                      "ws_perf_metrics_zone is too small");
        return NGX_ERROR;
    }

    size = offsetof(ngx_ws_perf_metrics_sh_t, slot)
           + n * sizeof(ngx_ws_perf_mslot_t);

    /* whole pages: the slab pool takes a little of the zone for itself */
    while (n > 1) {
        sh = ngx_slab_calloc(shpool, size);
        if (sh) {
            break;
        }

        n--;
        size -= sizeof(ngx_ws_perf_mslot_t);
    }

    if (sh == NULL) {
        return NGX_ERROR;
    }

    sh->magic = NGX_WS_PERF_METRICS_MAGIC;
    sh->started = ngx_time();
    sh->nslots = n;
    shpool->data = sh;

alerts:

    /* an alert kept its state across a reload if it did not change */
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
    ngx_ws_perf_metrics_sh = sh;

    return NGX_OK;
}


static ngx_int_t
ngx_ws_perf_metrics_init_process(ngx_cycle_t *cycle)
{
    ngx_uint_t                   i;
    ngx_pid_t                    pid;
    ngx_ws_perf_mslot_t         *slot, *own;
    ngx_ws_perf_metrics_sh_t    *sh;
    ngx_ws_perf_metrics_conf_t  *mcf;

    mcf = ngx_http_cycle_get_module_main_conf(cycle,
                                              ngx_ws_perf_metrics_module);

    /* workers only: not the cache manager and loader */
    if (mcf == NULL || mcf->shm_zone == NULL
        || (ngx_process != NGX_PROCESS_WORKER
            && ngx_process != NGX_PROCESS_SINGLE))
    {
        ngx_ws_perf_metrics_sh = NULL;
        return NGX_OK;
    }

    sh = ((ngx_slab_pool_t *) mcf->shm_zone->shm.addr)->data;
    ngx_ws_perf_metrics_sh = sh;

    slot = NULL;

    /* a free slot, or one whose worker died without freeing it */
    for (i = 0; i < sh->nslots; i++) {
        slot = &sh->slot[i];
        pid = (ngx_pid_t) slot->pid;

        if (pid != 0 && (kill(pid, 0) == 0 || ngx_errno != NGX_ESRCH)) {
            continue;
        }

        if (ngx_atomic_cmp_set(&slot->pid, (ngx_atomic_uint_t) pid,
                               (ngx_atomic_uint_t) ngx_pid))
        {
            break;
        }
    }

    if (i == sh->nslots || slot == NULL) {
        ngx_log_error(NGX_LOG_WARN, cycle->log, 0,
                      "ws_perf_metrics_zone has no free slot for this "
                      "worker, its metrics are not counted");
        return NGX_OK;
    }

    /* what the previous owner left open died with it */
    slot->closed[NGX_WS_PERF_M_CLOSE_1006] += slot->conn_opened
                                               - slot->conn_closed;
    slot->conn_closed = slot->conn_opened;
    slot->queued = 0;
    slot->scheduled = 0;

    /* the Redis engine may have started before this module's init_process */
    own = &ngx_ws_perf_mslot_private;
    slot->redis_configured = own->redis_configured;
    slot->redis_state = own->redis_state;
    slot->redis_subscribed = own->redis_subscribed;
    slot->redis_pending = own->redis_pending;
    slot->redis_since = own->redis_since ? own->redis_since
                                         : (uint64_t) ngx_time();
    slot->rss = 0;
    slot->cpu_ms = 0;
    slot->started = ngx_time();

    ngx_ws_perf_mslot_own = slot;

    if (mcf->enable) {
        ngx_ws_perf_mslot = slot;
        ngx_ws_perf_metrics_timing = 1;
    }

    ngx_ws_perf_statm = ngx_open_file("/proc/self/statm", NGX_FILE_RDONLY,
                                      NGX_FILE_OPEN, 0);

    ngx_ws_perf_metrics_process_stats(slot);

    ngx_ws_perf_metrics_timer.handler = ngx_ws_perf_metrics_tick;
    ngx_ws_perf_metrics_timer.log = cycle->log;
    ngx_ws_perf_metrics_timer.data = sh;
    ngx_ws_perf_metrics_timer.cancelable = 1;

    ngx_add_timer(&ngx_ws_perf_metrics_timer, 1000);

    return NGX_OK;
}


static void
ngx_ws_perf_metrics_exit_process(ngx_cycle_t *cycle)
{
    ngx_ws_perf_mslot_t  *slot;

    slot = ngx_ws_perf_mslot_own;

    if (ngx_ws_perf_statm != NGX_INVALID_FILE) {
        (void) ngx_close_file(ngx_ws_perf_statm);
        ngx_ws_perf_statm = NGX_INVALID_FILE;
    }

    if (slot == &ngx_ws_perf_mslot_private) {
        return;
    }

    ngx_ws_perf_mslot = &ngx_ws_perf_mslot_private;
    ngx_ws_perf_mslot_own = &ngx_ws_perf_mslot_private;
    ngx_ws_perf_metrics_timing = 0;

    slot->queued = 0;
    slot->redis_configured = 0;
    slot->rss = 0;

    (void) ngx_atomic_cmp_set(&slot->pid, (ngx_atomic_uint_t) ngx_pid, 0);
}


static void *
ngx_ws_perf_metrics_create_main_conf(ngx_conf_t *cf)
{
    ngx_ws_perf_metrics_conf_t  *mcf;

    mcf = ngx_pcalloc(cf->pool, sizeof(ngx_ws_perf_metrics_conf_t));
    if (mcf == NULL) {
        return NULL;
    }

    if (ngx_array_init(&mcf->alerts, cf->pool, 4,
                       sizeof(ngx_ws_perf_alert_conf_t))
        != NGX_OK)
    {
        return NULL;
    }

    mcf->enable = NGX_CONF_UNSET;
    mcf->zone_size = NGX_CONF_UNSET_SIZE;
    mcf->window = NGX_CONF_UNSET_MSEC;

    return mcf;
}


static char *
ngx_ws_perf_metrics_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_ws_perf_metrics_conf_t *mcf = conf;

    ngx_str_t  name;

    ngx_conf_init_value(mcf->enable, 1);
    ngx_conf_init_size_value(mcf->zone_size, 1024 * 1024);
    ngx_conf_init_msec_value(mcf->window, 10000);

    if (mcf->window < 1000 || mcf->window > 60000) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"ws_perf_alert_window\" must be from 1s to 60s");
        return NGX_CONF_ERROR;
    }

    if (mcf->zone_size < 8 * ngx_pagesize
        || mcf->zone_size < sizeof(ngx_ws_perf_metrics_sh_t)
                            + 4 * sizeof(ngx_ws_perf_mslot_t))
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"ws_perf_metrics_zone\" must be at least %uzk",
                           (sizeof(ngx_ws_perf_metrics_sh_t)
                            + 4 * sizeof(ngx_ws_perf_mslot_t)) / 1024 + 1);
        return NGX_CONF_ERROR;
    }

    ngx_str_set(&name, "ws_perf_metrics");

    mcf->shm_zone = ngx_shared_memory_add(cf, &name, mcf->zone_size,
                                          &ngx_ws_perf_metrics_module);
    if (mcf->shm_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    mcf->shm_zone->init = ngx_ws_perf_metrics_init_zone;
    mcf->shm_zone->data = mcf;

    return NGX_CONF_OK;
}


static char *
ngx_ws_perf_status(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    if (clcf->handler) {
        return "is duplicate, or the location has another handler";
    }

    clcf->handler = (ngx_strcmp(cmd->name.data, "ws_perf_health") == 0)
                    ? ngx_ws_perf_health_handler : ngx_ws_perf_status_handler;

    return NGX_CONF_OK;
}


/* ws_perf_alert p99_latency 50ms; error_rate 1%; memory 512m; ... */

static char *
ngx_ws_perf_alert(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_ws_perf_metrics_conf_t *mcf = conf;

    off_t                      size;
    ngx_int_t                  n, rc;
    ngx_str_t                 *value;
    ngx_uint_t                 i, m;
    ngx_ws_perf_alert_conf_t  *ac;

    value = cf->args->elts;

    for (m = 0; ngx_ws_perf_alert_names[m].name; m++) {
        if (ngx_strcmp(value[1].data, ngx_ws_perf_alert_names[m].name) == 0) {
            break;
        }
    }

    if (ngx_ws_perf_alert_names[m].name == NULL) {
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

    switch (m) {

    case NGX_WS_PERF_A_P95:
    case NGX_WS_PERF_A_P99:
        rc = ngx_ws_perf_parse_latency(&value[2], &ac->threshold);
        break;

    case NGX_WS_PERF_A_ERROR_RATE:
    case NGX_WS_PERF_A_DROP_RATE:
        rc = ngx_ws_perf_parse_rate(&value[2], &ac->threshold);
        break;

    case NGX_WS_PERF_A_MEMORY:
        size = ngx_parse_offset(&value[2]);
        rc = (size > 0) ? NGX_OK : NGX_ERROR;
        ac->threshold = (uint64_t) size;
        break;

    default: /* NGX_WS_PERF_A_CONNECTIONS */
        n = ngx_atoi(value[2].data, value[2].len);
        rc = (n >= 0) ? NGX_OK : NGX_ERROR;
        ac->threshold = (uint64_t) n;
    }

    if (rc != NGX_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid %s threshold \"%V\"",
                           ngx_ws_perf_alert_names[m].name, &value[2]);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* "250us", "50ms", "1.5ms", "2s" to microseconds */

static ngx_int_t
ngx_ws_perf_parse_latency(ngx_str_t *v, uint64_t *us)
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
ngx_ws_perf_parse_rate(ngx_str_t *v, uint64_t *ppm)
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
