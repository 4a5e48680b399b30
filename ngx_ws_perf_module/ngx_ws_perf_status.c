
/*
 * Copyright (C) ngx_ws_perf_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include "ngx_ws_perf_http.h"
#include "ngx_ws_perf_status.h"
#include "ngx_ws_perf_alerts.h"


#define NGX_WS_PERF_FORMAT_TEXT     0
#define NGX_WS_PERF_FORMAT_JSONS    1
#define NGX_WS_PERF_FORMAT_PROM     2

/* what a field is, for Prometheus */
#define NGX_WS_PERF_COUNTER         0
#define NGX_WS_PERF_GAUGE           1
#define NGX_WS_PERF_HISTOGRAM       2
#define NGX_WS_PERF_SECTION         3   /* the window, written by hand */

/* how the slots add up */
#define NGX_WS_PERF_SUM_ALL         0   /* every slot ever used */
#define NGX_WS_PERF_SUM_LIVE        1   /* the live workers' slots */
#define NGX_WS_PERF_SUM_MAX         2   /* the largest of every slot */
#define NGX_WS_PERF_SUM_ANY         3   /* 1 when one live worker says 1 */
#define NGX_WS_PERF_SUM_NONE        4   /* derived from the sums */

/* how a value reads */
#define NGX_WS_PERF_V_UINT          0
#define NGX_WS_PERF_V_INT           1   /* a gauge that can go below 0 */
#define NGX_WS_PERF_V_BOOL          2   /* JSON true or false */
#define NGX_WS_PERF_V_OF_LIVE       3   /* text "n/live workers" */

/* the text line of the group reads "<group> not configured" without Redis */
#define NGX_WS_PERF_F_REDIS         1


/*
 * One value of the status: how the slots add up into it and where each
 * format shows it.  The order of the table is the order of all three.
 */
typedef struct {
    char                       *name;       /* Prometheus; NULL: not there */
    ngx_uint_t                  kind;
    ngx_uint_t                  sum;
    ngx_uint_t                  value;
    char                       *help;
    size_t                      offset;     /* in ngx_ws_perf_status_sum_t */
    ngx_uint_t                  n;          /* 1, or one per label value */
    char                       *label;
    ngx_str_t                  *labels;
    char                       *json_group; /* NULL: the top level */
    char                       *json_key;   /* NULL: not in JSON */
    char                       *json_intro; /* members before the numbers */
    char                       *text_group; /* NULL: a line of its own */
    char                       *text_col;   /* NULL: not in the text */
    ngx_uint_t                  flags;
} ngx_ws_perf_field_t;


typedef struct {
    char                       *name;
    char                       *type;
    char                       *help;
} ngx_ws_perf_head_t;

#define NGX_WS_PERF_HEAD_REDIS      0
#define NGX_WS_PERF_HEAD_RSS        1
#define NGX_WS_PERF_HEAD_CPU        2
#define NGX_WS_PERF_HEAD_ALERT      3
#define NGX_WS_PERF_HEAD_SINCE      4
#define NGX_WS_PERF_HEAD_N          5


#define ngx_ws_perf_sum_off(f)   offsetof(ngx_ws_perf_status_sum_t, f)
#define ngx_ws_perf_slot_off(f)  offsetof(ngx_ws_perf_status_sum_t, s.f)

/* microseconds as "ms.uuu" */
#define ngx_ws_perf_ms(us)  (uint64_t) ((us) / 1000), (uint64_t) ((us) % 1000)

/* microseconds as seconds, "s.uuuuuu" */
#define ngx_ws_perf_sec(us)                                                   \
    (uint64_t) ((us) / 1000000), (uint64_t) ((us) % 1000000)

/* thousandths as "n.nnn" */
#define ngx_ws_perf_milli(v)  (uint64_t) ((v) / 1000), (uint64_t) ((v) % 1000)

#define ngx_ws_perf_json_bool(v)  ((v) ? "true" : "false")


/* the formats, next to each other so that their sizes can be taken */

#define NGX_WS_PERF_TEXT_HIST                                                 \
    " %uL.%03uL %uL.%03uL %uL.%03uL %uL.%03uL %uL"

#define NGX_WS_PERF_TEXT_WINDOW                                               \
    "last %uLs per second published delivered dropped\n"                      \
    " %uL.%03uL %uL.%03uL %uL.%03uL\n"                                        \
    "workers %uL uptime %uLs\n"

#define NGX_WS_PERF_TEXT_ALERT  "alert %s firing since %uL: %s over %s\n"

#define NGX_WS_PERF_JSON_HIST                                                 \
    "\"count\":%uL,\"mean\":%uL.%03uL,\"p50\":%uL.%03uL,"                     \
    "\"p95\":%uL.%03uL,\"p99\":%uL.%03uL,\"p99_9\":%uL.%03uL"

#define NGX_WS_PERF_JSON_WINDOW                                               \
    "%s\"window\":{\"seconds\":%uL,\"time\":%uL,"                             \
    "\"published_per_s\":%uL.%03uL,\"delivered_per_s\":%uL.%03uL,"            \
    "\"dropped_per_s\":%uL.%03uL,\"error_rate\":%uL.%06uL,"                   \
    "\"drop_rate\":%uL.%06uL,\"latency\":{\"count\":%uL,"                     \
    "\"p50\":%uL.%03uL,\"p95\":%uL.%03uL,\"p99\":%uL.%03uL,"                  \
    "\"p99_9\":%uL.%03uL}}"

#define NGX_WS_PERF_JSON_WORKER                                               \
    "%s{\"slot\":%ui,\"pid\":%uA,\"started\":%uL,"                            \
    "\"rss\":%uL,\"cpu_seconds\":%uL.%03uL,"                                  \
    "\"connections\":%uL,\"redis\":{\"configured\":%s,"                       \
    "\"state\":\"%s\",\"since\":%uL,\"subscribed\":%s}}"

#define NGX_WS_PERF_JSON_ALERT                                                \
    "%s{\"name\":\"%s\",\"firing\":%s,\"since\":%uL,"                         \
    "\"value\":\"%s\",\"threshold\":\"%s\"}"

#define NGX_WS_PERF_JSON_TAIL                                                 \
    ",\"workers\":[],\"live_workers\":%uL,\"alerts\":[]}\n"

#define NGX_WS_PERF_PROM_HEAD   "# HELP %s %s\n# TYPE %s %s\n"
#define NGX_WS_PERF_PROM_VALUE  "%s{%s=\"%V\"} %L\n"
#define NGX_WS_PERF_PROM_BUCKET "%s_bucket{le=\"%uL.%06uL\"} %uL\n"
#define NGX_WS_PERF_PROM_HIST_END                                             \
    "%s_bucket{le=\"+Inf\"} %uL\n%s_sum %uL.%06uL\n%s_count %uL\n"
#define NGX_WS_PERF_PROM_WORKER "%s{worker=\"%ui\"} %uL.%03uL\n"
#define NGX_WS_PERF_PROM_ALERT  "%s{alert=\"%s\"} %uL\n"


static ngx_uint_t ngx_ws_perf_status_format(ngx_http_request_t *r);
static ngx_uint_t ngx_ws_perf_status_accept(ngx_http_request_t *r);
static void ngx_ws_perf_status_add(ngx_ws_perf_status_sum_t *sum,
    ngx_ws_perf_mslot_t *slot, ngx_uint_t live);
static uint64_t ngx_ws_perf_status_total(uint64_t *v, ngx_uint_t n,
    ngx_uint_t skip);
static size_t ngx_ws_perf_status_size(ngx_ws_perf_metrics_sh_t *sh,
    ngx_uint_t live);
static size_t ngx_ws_perf_status_field_size(ngx_ws_perf_field_t *f);
static u_char *ngx_ws_perf_status_text(u_char *p, u_char *last,
    ngx_ws_perf_metrics_sh_t *sh, ngx_ws_perf_status_sum_t *sum);
static ngx_ws_perf_field_t *ngx_ws_perf_text_group(u_char **pp, u_char *last,
    ngx_ws_perf_field_t *f, ngx_ws_perf_status_sum_t *sum);
static u_char *ngx_ws_perf_text_value(u_char *p, u_char *last,
    ngx_ws_perf_field_t *f, ngx_ws_perf_status_sum_t *sum);
static u_char *ngx_ws_perf_text_alerts(u_char *p, u_char *last,
    ngx_ws_perf_metrics_sh_t *sh);
static u_char *ngx_ws_perf_status_json(u_char *p, u_char *last,
    ngx_ws_perf_metrics_sh_t *sh, ngx_ws_perf_status_sum_t *sum);
static u_char *ngx_ws_perf_json_field(u_char *p, u_char *last,
    ngx_ws_perf_field_t *f, ngx_ws_perf_status_sum_t *sum);
static u_char *ngx_ws_perf_json_window(u_char *p, u_char *last, char *sep,
    ngx_ws_perf_window_t *w);
static u_char *ngx_ws_perf_json_hist(u_char *p, u_char *last,
    ngx_ws_perf_hist_t *h);
static u_char *ngx_ws_perf_json_workers(u_char *p, u_char *last,
    ngx_ws_perf_metrics_sh_t *sh);
static u_char *ngx_ws_perf_json_alerts(u_char *p, u_char *last,
    ngx_ws_perf_metrics_sh_t *sh);
static u_char *ngx_ws_perf_status_prom(u_char *p, u_char *last,
    ngx_ws_perf_metrics_sh_t *sh, ngx_ws_perf_status_sum_t *sum);
static u_char *ngx_ws_perf_prom_hist(u_char *p, u_char *last, char *name,
    ngx_ws_perf_hist_t *h);
static u_char *ngx_ws_perf_prom_workers(u_char *p, u_char *last,
    ngx_ws_perf_metrics_sh_t *sh);
static u_char *ngx_ws_perf_prom_alerts(u_char *p, u_char *last,
    ngx_ws_perf_metrics_sh_t *sh);


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


/* the Prometheus families per worker and per alert, by NGX_WS_PERF_HEAD_* */
static ngx_ws_perf_head_t  ngx_ws_perf_heads[] = {
    { "ws_perf_redis_up", "gauge",
      "1 when the worker's Redis connection is up and subscribed." },
    { "ws_perf_worker_resident_memory_bytes", "gauge",
      "Resident memory of each worker process." },
    { "ws_perf_worker_cpu_seconds_total", "counter",
      "User and system CPU time of each worker process." },
    { "ws_perf_alert_firing", "gauge",
      "1 while a ws_perf_alert threshold is crossed." },
    { "ws_perf_alert_since_timestamp_seconds", "gauge",
      "When each alert last started or stopped firing." }
};


static ngx_ws_perf_field_t  ngx_ws_perf_fields[] = {

    { "ws_perf_uptime_seconds", NGX_WS_PERF_GAUGE, NGX_WS_PERF_SUM_NONE,
      NGX_WS_PERF_V_UINT,
      "Seconds since the metrics zone was created (kept on reload).",
      ngx_ws_perf_sum_off(uptime), 1, NULL, NULL,
      NULL, "uptime", NULL, NULL, NULL, 0 },

    { NULL, NGX_WS_PERF_GAUGE, NGX_WS_PERF_SUM_NONE, NGX_WS_PERF_V_BOOL,
      NULL, ngx_ws_perf_sum_off(metrics), 1, NULL, NULL,
      NULL, "metrics", NULL, NULL, NULL, 0 },

    { "ws_perf_connections", NGX_WS_PERF_GAUGE, NGX_WS_PERF_SUM_NONE,
      NGX_WS_PERF_V_UINT,
      "Open WebSocket connections.",
      ngx_ws_perf_sum_off(current), 1, NULL, NULL,
      "connections", "current", NULL, NULL, "Active connections:", 0 },

    { "ws_perf_connections_opened_total", NGX_WS_PERF_COUNTER,
      NGX_WS_PERF_SUM_ALL, NGX_WS_PERF_V_UINT,
      "WebSocket connections upgraded.",
      ngx_ws_perf_slot_off(conn_opened), 1, NULL, NULL,
      "connections", "opened", NULL, "connections", "opened", 0 },

    { NULL, NGX_WS_PERF_COUNTER, NGX_WS_PERF_SUM_ALL, NGX_WS_PERF_V_UINT,
      NULL, ngx_ws_perf_slot_off(conn_closed), 1, NULL, NULL,
      "connections", "closed", NULL, "connections", "closed", 0 },

    { NULL, NGX_WS_PERF_COUNTER, NGX_WS_PERF_SUM_NONE, NGX_WS_PERF_V_UINT,
      NULL, ngx_ws_perf_sum_off(errors), 1, NULL, NULL,
      NULL, NULL, NULL, "connections", "errors", 0 },

    { "ws_perf_connections_closed_total", NGX_WS_PERF_COUNTER,
      NGX_WS_PERF_SUM_ALL, NGX_WS_PERF_V_UINT,
      "WebSocket connections closed, by close code (1006: no close frame).",
      ngx_ws_perf_slot_off(closed), NGX_WS_PERF_M_CLOSE_N, "code",
      ngx_ws_perf_close_codes,
      "connections", "closed_by_code", NULL, NULL, NULL, 0 },

    { "ws_perf_handshakes_accepted_total", NGX_WS_PERF_COUNTER,
      NGX_WS_PERF_SUM_ALL, NGX_WS_PERF_V_UINT,
      "WebSocket handshakes answered with 101.",
      ngx_ws_perf_slot_off(hs_accepted), 1, NULL, NULL,
      "handshakes", "accepted", NULL, "handshakes", "accepted", 0 },

    { NULL, NGX_WS_PERF_COUNTER, NGX_WS_PERF_SUM_NONE, NGX_WS_PERF_V_UINT,
      NULL, ngx_ws_perf_sum_off(rejected), 1, NULL, NULL,
      "handshakes", "rejected", NULL, "handshakes", "rejected", 0 },

    { "ws_perf_handshakes_rejected_total", NGX_WS_PERF_COUNTER,
      NGX_WS_PERF_SUM_ALL, NGX_WS_PERF_V_UINT,
      "WebSocket handshakes refused, by reason.",
      ngx_ws_perf_slot_off(hs_rejected), NGX_WS_PERF_M_HS_N, "reason",
      ngx_ws_perf_reject_reasons,
      "handshakes", "rejected_by_reason", NULL, NULL, NULL, 0 },

    { "ws_perf_messages_published_total", NGX_WS_PERF_COUNTER,
      NGX_WS_PERF_SUM_ALL, NGX_WS_PERF_V_UINT,
      "Messages published on this node.",
      ngx_ws_perf_slot_off(published), 1, NULL, NULL,
      "messages", "published", NULL, "messages", "published", 0 },

    { "ws_perf_messages_delivered_total", NGX_WS_PERF_COUNTER,
      NGX_WS_PERF_SUM_ALL, NGX_WS_PERF_V_UINT,
      "Messages queued to a subscriber's connection.",
      ngx_ws_perf_slot_off(delivered), 1, NULL, NULL,
      "messages", "delivered", NULL, "messages", "delivered", 0 },

    { NULL, NGX_WS_PERF_COUNTER, NGX_WS_PERF_SUM_NONE, NGX_WS_PERF_V_UINT,
      NULL, ngx_ws_perf_sum_off(dropped), 1, NULL, NULL,
      "messages", "dropped", NULL, "messages", "dropped", 0 },

    { "ws_perf_messages_dropped_total", NGX_WS_PERF_COUNTER,
      NGX_WS_PERF_SUM_ALL, NGX_WS_PERF_V_UINT,
      "Messages dropped by the send queue bound, by priority.",
      ngx_ws_perf_slot_off(dropped), NGX_WS_PERF_PRIO_N, "priority",
      ngx_ws_perf_prio_names,
      "messages", "dropped_by_priority", NULL, NULL, NULL, 0 },

    { "ws_perf_messages_redelivered_total", NGX_WS_PERF_COUNTER,
      NGX_WS_PERF_SUM_ALL, NGX_WS_PERF_V_UINT,
      "Messages sent again after their ack timeout.",
      ngx_ws_perf_slot_off(redelivered), 1, NULL, NULL,
      "messages", "redelivered", NULL, NULL, NULL, 0 },

    { "ws_perf_messages_dead_lettered_total", NGX_WS_PERF_COUNTER,
      NGX_WS_PERF_SUM_ALL, NGX_WS_PERF_V_UINT,
      "Messages moved to the dead-letter stream.",
      ngx_ws_perf_slot_off(dead_lettered), 1, NULL, NULL,
      "messages", "dead_lettered", NULL, NULL, NULL, 0 },

    { "ws_perf_messages_scheduled", NGX_WS_PERF_GAUGE,
      NGX_WS_PERF_SUM_LIVE, NGX_WS_PERF_V_INT,
      "Messages scheduled for later delivery.",
      ngx_ws_perf_slot_off(scheduled), 1, NULL, NULL,
      "messages", "scheduled_pending", NULL, NULL, NULL, 0 },

    { "ws_perf_received_bytes_total", NGX_WS_PERF_COUNTER,
      NGX_WS_PERF_SUM_ALL, NGX_WS_PERF_V_UINT,
      "Bytes read from WebSocket connections.",
      ngx_ws_perf_slot_off(bytes_in), 1, NULL, NULL,
      "bytes", "in", NULL, "bytes", "in", 0 },

    { "ws_perf_sent_bytes_total", NGX_WS_PERF_COUNTER,
      NGX_WS_PERF_SUM_ALL, NGX_WS_PERF_V_UINT,
      "Bytes written to WebSocket connections.",
      ngx_ws_perf_slot_off(bytes_out), 1, NULL, NULL,
      "bytes", "out", NULL, "bytes", "out", 0 },

    { "ws_perf_deflate_connections", NGX_WS_PERF_GAUGE,
      NGX_WS_PERF_SUM_LIVE, NGX_WS_PERF_V_INT,
      "Open connections that negotiated permessage-deflate.",
      ngx_ws_perf_slot_off(deflate_conns), 1, NULL, NULL,
      "deflate", "connections", NULL, "deflate", "connections", 0 },

    { "ws_perf_deflate_messages_total", NGX_WS_PERF_COUNTER,
      NGX_WS_PERF_SUM_ALL, NGX_WS_PERF_V_UINT,
      "Frames compressed with permessage-deflate: a message once per "
      "worker and form, whatever its subscribers; an echo or a resumed "
      "message once per connection.",
      ngx_ws_perf_slot_off(deflate_messages), 1, NULL, NULL,
      "deflate", "compressed", NULL, "deflate", "compressed", 0 },

    { "ws_perf_deflate_in_bytes_total", NGX_WS_PERF_COUNTER,
      NGX_WS_PERF_SUM_ALL, NGX_WS_PERF_V_UINT,
      "Payload bytes of the frames compressed, before compression.",
      ngx_ws_perf_slot_off(deflate_bytes_in), 1, NULL, NULL,
      "deflate", "bytes_before", NULL, "deflate", "before", 0 },

    { "ws_perf_deflate_out_bytes_total", NGX_WS_PERF_COUNTER,
      NGX_WS_PERF_SUM_ALL, NGX_WS_PERF_V_UINT,
      "Payload bytes of the frames compressed, after compression.",
      ngx_ws_perf_slot_off(deflate_bytes_out), 1, NULL, NULL,
      "deflate", "bytes_after", NULL, "deflate", "after", 0 },

    { "ws_perf_inflate_messages_total", NGX_WS_PERF_COUNTER,
      NGX_WS_PERF_SUM_ALL, NGX_WS_PERF_V_UINT,
      "Compressed client messages inflated.",
      ngx_ws_perf_slot_off(inflate_messages), 1, NULL, NULL,
      "deflate", "inflated", NULL, "deflate", "inflated", 0 },

    { "ws_perf_inflate_contexts", NGX_WS_PERF_GAUGE,
      NGX_WS_PERF_SUM_LIVE, NGX_WS_PERF_V_INT,
      "Connections keeping their own inflate context "
      "(ws_perf_deflate_client_context).",
      ngx_ws_perf_slot_off(inflate_contexts), 1, NULL, NULL,
      "deflate", "inflate_contexts", NULL, "deflate", "contexts", 0 },

    { "ws_perf_inflate_context_bytes", NGX_WS_PERF_GAUGE,
      NGX_WS_PERF_SUM_LIVE, NGX_WS_PERF_V_INT,
      "Memory the connections' own inflate contexts hold.",
      ngx_ws_perf_slot_off(inflate_bytes), 1, NULL, NULL,
      "deflate", "inflate_context_bytes", NULL, "deflate", "context_bytes",
      0 },

    { "ws_perf_send_queue_bytes", NGX_WS_PERF_GAUGE,
      NGX_WS_PERF_SUM_LIVE, NGX_WS_PERF_V_INT,
      "Bytes waiting in the send queues of all connections.",
      ngx_ws_perf_slot_off(queued), 1, NULL, NULL,
      "send_queue", "bytes", NULL, "send queues", "bytes", 0 },

    { "ws_perf_send_queue_max_bytes", NGX_WS_PERF_GAUGE,
      NGX_WS_PERF_SUM_MAX, NGX_WS_PERF_V_UINT,
      "The most bytes one connection's send queue held.",
      ngx_ws_perf_slot_off(queue_max), 1, NULL, NULL,
      "send_queue", "max_bytes", NULL, "send queues", "max", 0 },

    { "ws_perf_delivery_latency_seconds", NGX_WS_PERF_HISTOGRAM,
      NGX_WS_PERF_SUM_ALL, NGX_WS_PERF_V_UINT,
      "From a message entering the hub to its frame written to the socket.",
      ngx_ws_perf_slot_off(latency), 1, NULL, NULL,
      NULL, "latency",
      "\"what\":\"hub to socket write\",\"unit\":\"ms\","
      "\"precision\":\"bucket upper bound, at most 6.25% above\",",
      "delivery latency ms", "p50 p95 p99 p99.9 count", 0 },

    { NULL, NGX_WS_PERF_SECTION, NGX_WS_PERF_SUM_NONE, NGX_WS_PERF_V_UINT,
      NULL, 0, 1, NULL, NULL, NULL, "window", NULL, NULL, "window", 0 },

    { "ws_perf_redis_configured", NGX_WS_PERF_GAUGE,
      NGX_WS_PERF_SUM_ANY, NGX_WS_PERF_V_BOOL,
      "1 when the workers use Redis.",
      ngx_ws_perf_slot_off(redis_configured), 1, NULL, NULL,
      "redis", "configured", NULL, NULL, NULL, 0 },

    { NULL, NGX_WS_PERF_GAUGE, NGX_WS_PERF_SUM_NONE, NGX_WS_PERF_V_OF_LIVE,
      NULL, ngx_ws_perf_sum_off(redis_up), 1, NULL, NULL,
      NULL, NULL, NULL, "redis", "workers up", NGX_WS_PERF_F_REDIS },

    { "ws_perf_redis_reconnects_total", NGX_WS_PERF_COUNTER,
      NGX_WS_PERF_SUM_ALL, NGX_WS_PERF_V_UINT,
      "Redis reconnections.",
      ngx_ws_perf_slot_off(redis_reconnects), 1, NULL, NULL,
      "redis", "reconnects", NULL, "redis", "reconnects", 0 },

    { "ws_perf_redis_pending_commands", NGX_WS_PERF_GAUGE,
      NGX_WS_PERF_SUM_LIVE, NGX_WS_PERF_V_UINT,
      "Redis commands sent and not answered yet.",
      ngx_ws_perf_slot_off(redis_pending), 1, NULL, NULL,
      "redis", "pending", NULL, "redis", "pending", 0 },

    { "ws_perf_redis_dropped_total", NGX_WS_PERF_COUNTER,
      NGX_WS_PERF_SUM_ALL, NGX_WS_PERF_V_UINT,
      "Messages from Redis dropped: malformed, or JSON that is not UTF-8.",
      ngx_ws_perf_slot_off(redis_dropped), 1, NULL, NULL,
      "redis", "dropped", NULL, "redis", "dropped", 0 },

    { "ws_perf_redis_bad_replies_total", NGX_WS_PERF_COUNTER,
      NGX_WS_PERF_SUM_ALL, NGX_WS_PERF_V_UINT,
      "Redis replies of an unexpected type or shape (each dropped a link).",
      ngx_ws_perf_slot_off(redis_bad_replies), 1, NULL, NULL,
      "redis", "bad_replies", NULL, "redis", "bad_replies", 0 },

    { "ws_perf_redis_command_latency_seconds", NGX_WS_PERF_HISTOGRAM,
      NGX_WS_PERF_SUM_ALL, NGX_WS_PERF_V_UINT,
      "Redis command round trips.",
      ngx_ws_perf_slot_off(redis_latency), 1, NULL, NULL,
      "redis", "command_latency", "\"unit\":\"ms\",", NULL, NULL, 0 },

    { "ws_perf_shm_size_bytes", NGX_WS_PERF_GAUGE,
      NGX_WS_PERF_SUM_MAX, NGX_WS_PERF_V_UINT,
      "The shared-memory engine's zone (ws_perf_shm_zone); 0 with Redis.",
      ngx_ws_perf_slot_off(shm_size), 1, NULL, NULL,
      "shm", "size_bytes", NULL, NULL, NULL, 0 },

    { "ws_perf_shm_used_bytes", NGX_WS_PERF_GAUGE,
      NGX_WS_PERF_SUM_MAX, NGX_WS_PERF_V_UINT,
      "Bytes of the zone in use (a full zone refuses publishes with 507).",
      ngx_ws_perf_slot_off(shm_used), 1, NULL, NULL,
      "shm", "used_bytes", NULL, NULL, NULL, 0 },

    { "ws_perf_shm_repairs_total", NGX_WS_PERF_COUNTER,
      NGX_WS_PERF_SUM_MAX, NGX_WS_PERF_V_UINT,
      "Times the zone was made anew after a worker died changing it.",
      ngx_ws_perf_slot_off(shm_repairs), 1, NULL, NULL,
      "shm", "repairs", NULL, NULL, NULL, 0 },

    { "ws_perf_shm_bus_latency_seconds", NGX_WS_PERF_HISTOGRAM,
      NGX_WS_PERF_SUM_ALL, NGX_WS_PERF_V_UINT,
      "From a worker putting a message on the bus to another worker "
      "taking it.",
      ngx_ws_perf_slot_off(bus_latency), 1, NULL, NULL,
      "shm", "bus_latency",
      "\"what\":\"one worker's append to another's take\",\"unit\":\"ms\",",
      NULL, NULL, 0 },

    { "ws_perf_presence_members", NGX_WS_PERF_GAUGE,
      NGX_WS_PERF_SUM_LIVE, NGX_WS_PERF_V_INT,
      "Users present on a channel through this node's connections, one "
      "per channel and worker.",
      ngx_ws_perf_slot_off(presence_members), 1, NULL, NULL,
      "presence", "members", NULL, "presence", "members", 0 },

    { "ws_perf_presence_events_total", NGX_WS_PERF_COUNTER,
      NGX_WS_PERF_SUM_ALL, NGX_WS_PERF_V_UINT,
      "Presence events (join, leave, count) sent to a channel's "
      "subscribers, once per worker.",
      ngx_ws_perf_slot_off(presence_events), 1, NULL, NULL,
      "presence", "events", NULL, "presence", "events", 0 },

    { "ws_perf_presence_held_total", NGX_WS_PERF_COUNTER,
      NGX_WS_PERF_SUM_ALL, NGX_WS_PERF_V_UINT,
      "Join and leave events over ws_perf_presence_rate, sent as counts.",
      ngx_ws_perf_slot_off(presence_held), 1, NULL, NULL,
      "presence", "held", NULL, "presence", "held", 0 },

    /* summed for the memory alert, shown per worker only */
    { NULL, NGX_WS_PERF_GAUGE, NGX_WS_PERF_SUM_LIVE, NGX_WS_PERF_V_UINT,
      NULL, ngx_ws_perf_slot_off(rss), 1, NULL, NULL,
      NULL, NULL, NULL, NULL, NULL, 0 },

    { NULL, 0, 0, 0, NULL, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0 }
};


ngx_int_t
ngx_ws_perf_status_handler(ngx_http_request_t *r)
{
    u_char                    *p, *buf, *last;
    size_t                     len;
    ngx_int_t                  rc;
    ngx_uint_t                 format;
    ngx_ws_perf_metrics_sh_t  *sh;
    ngx_ws_perf_status_sum_t  *sum;

    static u_char  bad[] = "format must be text, json or prometheus\n";
    static u_char  none[] = "no metrics zone\n";

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
        return ngx_ws_perf_status_send(r, NGX_HTTP_BAD_REQUEST, "text/plain",
                                       bad, bad + sizeof(bad) - 1, 0);
    }

    sh = ngx_ws_perf_metrics_sh;

    if (sh == NULL) {
        return ngx_ws_perf_status_send(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                       "text/plain", none,
                                       none + sizeof(none) - 1, 0);
    }

    sum = ngx_palloc(r->pool, sizeof(ngx_ws_perf_status_sum_t));
    if (sum == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_ws_perf_status_sum(sh, sum);

    len = ngx_ws_perf_status_size(sh, sum->live);

    buf = ngx_pnalloc(r->pool, len);
    if (buf == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    last = buf + len;

    switch (format) {

    case NGX_WS_PERF_FORMAT_JSONS:
        p = ngx_ws_perf_status_json(buf, last, sh, sum);
        break;

    case NGX_WS_PERF_FORMAT_PROM:
        p = ngx_ws_perf_status_prom(buf, last, sh, sum);
        break;

    default: /* NGX_WS_PERF_FORMAT_TEXT */
        p = ngx_ws_perf_status_text(buf, last, sh, sum);
    }

    return ngx_ws_perf_status_send(r, NGX_HTTP_OK, types[format], buf, p,
                                   len);
}


/*
 * Sends buf up to p; len is the size of buf, which a complete answer never
 * fills: a full buffer means a cut answer, and that is a 500.
 */

ngx_int_t
ngx_ws_perf_status_send(ngx_http_request_t *r, ngx_uint_t status,
    char *type, u_char *buf, u_char *p, size_t len)
{
    if (len && (size_t) (p - buf) >= len) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "ws_perf status: the answer did not fit in %uz bytes",
                      len);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_ws_perf_send_response(r, status, type, buf, p - buf);
}


/* ?format= first, then the Accept header; NGX_CONF_UNSET_UINT: unknown */

static ngx_uint_t
ngx_ws_perf_status_format(ngx_http_request_t *r)
{
    ngx_str_t  arg;

    if (ngx_http_arg(r, (u_char *) "format", 6, &arg) != NGX_OK) {
        return ngx_ws_perf_status_accept(r);
    }

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


static ngx_uint_t
ngx_ws_perf_status_accept(ngx_http_request_t *r)
{
    u_char           *v, *end;
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

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

        v = h[i].value.data;
        end = v + h[i].value.len;

        /* what Prometheus servers send, and what JSON clients send */
        if (ngx_strlcasestrn(v, end, (u_char *) "version=0.0.4", 13 - 1)
            || ngx_strlcasestrn(v, end, (u_char *) "openmetrics", 11 - 1))
        {
            return NGX_WS_PERF_FORMAT_PROM;
        }

        if (ngx_strlcasestrn(v, end, (u_char *) "application/json", 16 - 1)) {
            return NGX_WS_PERF_FORMAT_JSONS;
        }
    }

    return NGX_WS_PERF_FORMAT_TEXT;
}


/*
 * Adds the slots up as the table says: counters of every slot ever used
 * (the node's totals across reloads), gauges of the live ones; then what
 * the formats derive from the sums.
 */

void
ngx_ws_perf_status_sum(ngx_ws_perf_metrics_sh_t *sh,
    ngx_ws_perf_status_sum_t *sum)
{
    ngx_uint_t            i, live;
    ngx_ws_perf_mslot_t  *slot, *s;

    ngx_memzero(sum, sizeof(ngx_ws_perf_status_sum_t));

    for (i = 0; i < sh->nslots; i++) {
        slot = &sh->slot[i];

        if (slot->started == 0) {
            continue;
        }

        live = ngx_ws_perf_metrics_slot_live(slot);

        ngx_ws_perf_status_add(sum, slot, live);

        if (!live) {
            continue;
        }

        sum->live++;

        if (slot->redis_configured && slot->redis_subscribed
            && slot->redis_state == NGX_WS_PERF_M_REDIS_UP)
        {
            sum->redis_up++;
        }
    }

    s = &sum->s;

    sum->uptime = (uint64_t) ngx_time() - sh->started;
    sum->metrics = ngx_ws_perf_metrics_counting();
    sum->current = s->conn_opened - s->conn_closed;
    sum->rejected = ngx_ws_perf_status_total(s->hs_rejected,
                                             NGX_WS_PERF_M_HS_N, 0);
    sum->dropped = ngx_ws_perf_status_total(s->dropped, NGX_WS_PERF_PRIO_N,
                                            0);

    /* all but normal (1000), going away (1001) and no code (1005) */
    sum->errors = ngx_ws_perf_status_total(s->closed, NGX_WS_PERF_M_CLOSE_N,
                                           1 << NGX_WS_PERF_M_CLOSE_1000
                                           | 1 << NGX_WS_PERF_M_CLOSE_1001
                                           | 1 << NGX_WS_PERF_M_CLOSE_1005);
}


static void
ngx_ws_perf_status_add(ngx_ws_perf_status_sum_t *sum,
    ngx_ws_perf_mslot_t *slot, ngx_uint_t live)
{
    size_t                off;
    uint64_t             *to, *from;
    ngx_uint_t            k;
    ngx_ws_perf_field_t  *f;

    for (f = ngx_ws_perf_fields; f->n; f++) {

        if (f->sum == NGX_WS_PERF_SUM_NONE) {
            continue;
        }

        off = f->offset - ngx_ws_perf_sum_off(s);
        to = (uint64_t *) ((u_char *) &sum->s + off);
        from = (uint64_t *) ((u_char *) slot + off);

        if (f->kind == NGX_WS_PERF_HISTOGRAM) {
            ngx_ws_perf_hist_merge((ngx_ws_perf_hist_t *) to,
                                   (ngx_ws_perf_hist_t *) from);
            continue;
        }

        for (k = 0; k < f->n; k++) {

            switch (f->sum) {

            case NGX_WS_PERF_SUM_LIVE:
                /* the signed gauges add up the same in two's complement */
                to[k] += live ? from[k] : 0;
                break;

            case NGX_WS_PERF_SUM_MAX:
                to[k] = ngx_max(to[k], from[k]);
                break;

            case NGX_WS_PERF_SUM_ANY:
                to[k] |= live ? from[k] : 0;
                break;

            default: /* NGX_WS_PERF_SUM_ALL */
                to[k] += from[k];
            }
        }
    }
}


/* the sum of n values but those whose bit is set in "skip" */

static uint64_t
ngx_ws_perf_status_total(uint64_t *v, ngx_uint_t n, ngx_uint_t skip)
{
    uint64_t    total;
    ngx_uint_t  k;

    total = 0;

    for (k = 0; k < n; k++) {
        if (!(skip & (1 << k))) {
            total += v[k];
        }
    }

    return total;
}


/*
 * The most a format writes, from the table and what grows with the data:
 * every conversion as NGX_WS_PERF_STATUS_CONV_LEN, the strings from the
 * table by their length.
 */

size_t
ngx_ws_perf_status_fmt_len(const char *fmt)
{
    size_t  len;

    for (len = 0; *fmt; fmt++) {
        len += (*fmt == '%') ? NGX_WS_PERF_STATUS_CONV_LEN : 1;
    }

    return len;
}


static size_t
ngx_ws_perf_status_size(ngx_ws_perf_metrics_sh_t *sh, ngx_uint_t live)
{
    size_t                len, alert, head, lines;
    ngx_uint_t            i;
    ngx_ws_perf_field_t  *f;

    lines = 0;
    len = ngx_ws_perf_status_fmt_len(NGX_WS_PERF_TEXT_WINDOW)
          + ngx_ws_perf_status_fmt_len(NGX_WS_PERF_JSON_WINDOW)
          + ngx_ws_perf_status_fmt_len(NGX_WS_PERF_JSON_TAIL)
          + 1;

    for (f = ngx_ws_perf_fields; f->n; f++) {
        len += ngx_ws_perf_status_field_size(f);
    }

    for (i = 0; i < NGX_WS_PERF_HEAD_N; i++) {
        head = ngx_strlen(ngx_ws_perf_heads[i].name);

        len += ngx_ws_perf_status_fmt_len(NGX_WS_PERF_PROM_HEAD) + 2 * head
               + ngx_strlen(ngx_ws_perf_heads[i].help);

        if (i < NGX_WS_PERF_HEAD_ALERT) {
            lines += live * (head
                       + ngx_ws_perf_status_fmt_len(NGX_WS_PERF_PROM_WORKER));

        } else {
            lines += sh->nalerts * (head
                       + ngx_ws_perf_status_fmt_len(NGX_WS_PERF_PROM_ALERT));
        }
    }

    len += lines + live * ngx_ws_perf_status_fmt_len(NGX_WS_PERF_JSON_WORKER);

    for (i = 0; i < sh->nalerts; i++) {
        alert = ngx_strlen(ngx_ws_perf_alerts_name(sh->alert[i].metric))
                + 2 * NGX_WS_PERF_ALERTS_VALUE_LEN;

        len += ngx_ws_perf_status_fmt_len(NGX_WS_PERF_TEXT_ALERT)
               + ngx_ws_perf_status_fmt_len(NGX_WS_PERF_JSON_ALERT)
               + 3 * alert;
    }

    return len;
}


/* one field in the three formats together: more than any one needs */

static size_t
ngx_ws_perf_status_field_size(ngx_ws_perf_field_t *f)
{
    size_t      len, strings, name;
    ngx_uint_t  k;

#define ngx_ws_perf_strlen(s)  ((s) ? ngx_strlen(s) : 0)

    name = ngx_ws_perf_strlen(f->name);

    strings = 3 * name + ngx_ws_perf_strlen(f->help)
              + ngx_ws_perf_strlen(f->json_group)
              + ngx_ws_perf_strlen(f->json_key)
              + ngx_ws_perf_strlen(f->json_intro)
              + ngx_ws_perf_strlen(f->text_group)
              + ngx_ws_perf_strlen(f->text_col)
              + ngx_ws_perf_strlen(f->label);

#undef ngx_ws_perf_strlen

    len = strings + ngx_ws_perf_status_fmt_len(NGX_WS_PERF_PROM_HEAD)
          + sizeof(",\"\":{},\"\":{\n\n \n");

    if (f->kind == NGX_WS_PERF_HISTOGRAM) {
        return len + (NGX_WS_PERF_HIST_MAX_BITS + 1)
                     * (name + ngx_ws_perf_status_fmt_len(
                                   NGX_WS_PERF_PROM_BUCKET))
               + 3 * name
               + ngx_ws_perf_status_fmt_len(NGX_WS_PERF_PROM_HIST_END)
               + ngx_ws_perf_status_fmt_len(NGX_WS_PERF_JSON_HIST)
               + ngx_ws_perf_status_fmt_len(NGX_WS_PERF_TEXT_HIST);
    }

    for (k = 0; k < f->n; k++) {
        len += name + ngx_strlen(f->label ? f->label : "")
               + 2 * (f->labels ? f->labels[k].len : 0)
               + ngx_ws_perf_status_fmt_len(NGX_WS_PERF_PROM_VALUE)
               + ngx_ws_perf_status_fmt_len(",\"\":%L")
               + ngx_ws_perf_status_fmt_len(" %uL/%uL");
    }

    return len;
}


static u_char *
ngx_ws_perf_status_text(u_char *p, u_char *last, ngx_ws_perf_metrics_sh_t *sh,
    ngx_ws_perf_status_sum_t *sum)
{
    ngx_ws_perf_field_t   *f;
    ngx_ws_perf_window_t  *w;

    w = &sh->window;

    for (f = ngx_ws_perf_fields; f->n; f++) {

        if (f->kind == NGX_WS_PERF_SECTION) {
            p = ngx_slprintf(p, last, NGX_WS_PERF_TEXT_WINDOW,
                             w->seconds, ngx_ws_perf_milli(w->published),
                             ngx_ws_perf_milli(w->delivered),
                             ngx_ws_perf_milli(w->dropped),
                             sum->live, sum->uptime);
            continue;
        }

        if (f->text_col == NULL) {
            continue;
        }

        if (f->text_group == NULL) {
            p = ngx_slprintf(p, last, "%s", f->text_col);
            p = ngx_ws_perf_text_value(p, last, f, sum);
            p = ngx_slprintf(p, last, "\n");
            continue;
        }

        f = ngx_ws_perf_text_group(&p, last, f, sum);
    }

    return ngx_ws_perf_text_alerts(p, last, sh);
}


/*
 * The fields of one group as two lines, names then values; returns the
 * group's last field
 */

static ngx_ws_perf_field_t *
ngx_ws_perf_text_group(u_char **pp, u_char *last, ngx_ws_perf_field_t *f,
    ngx_ws_perf_status_sum_t *sum)
{
    u_char               *p;
    ngx_ws_perf_field_t  *g, *end;

    p = *pp;

    /* the group goes on to the next field in the text that is not in it */
    for (g = f, end = f; g->n && g->kind != NGX_WS_PERF_SECTION; g++) {

        if (g->text_col == NULL) {
            continue;
        }

        if (g->text_group == NULL || ngx_strcmp(g->text_group, f->text_group))
        {
            break;
        }

        end = g;
    }

    if ((f->flags & NGX_WS_PERF_F_REDIS) && !sum->s.redis_configured) {
        *pp = ngx_slprintf(p, last, "%s not configured\n", f->text_group);
        return end;
    }

    p = ngx_slprintf(p, last, "%s", f->text_group);

    for (g = f; g <= end; g++) {
        if (g->text_col) {
            p = ngx_slprintf(p, last, " %s", g->text_col);
        }
    }

    p = ngx_slprintf(p, last, "\n");

    for (g = f; g <= end; g++) {
        if (g->text_col) {
            p = ngx_ws_perf_text_value(p, last, g, sum);
        }
    }

    *pp = ngx_slprintf(p, last, "\n");

    return end;
}


/* " value" */

static u_char *
ngx_ws_perf_text_value(u_char *p, u_char *last, ngx_ws_perf_field_t *f,
    ngx_ws_perf_status_sum_t *sum)
{
    u_char              *v;
    uint64_t             n, *u;
    ngx_ws_perf_hist_t  *h;

    v = (u_char *) sum + f->offset;
    u = (uint64_t *) v;

    if (f->kind == NGX_WS_PERF_HISTOGRAM) {
        h = (ngx_ws_perf_hist_t *) v;
        n = h->count;

        return ngx_slprintf(p, last, NGX_WS_PERF_TEXT_HIST,
            ngx_ws_perf_ms(ngx_ws_perf_hist_quantile(h->bucket, n, 0.5)),
            ngx_ws_perf_ms(ngx_ws_perf_hist_quantile(h->bucket, n, 0.95)),
            ngx_ws_perf_ms(ngx_ws_perf_hist_quantile(h->bucket, n, 0.99)),
            ngx_ws_perf_ms(ngx_ws_perf_hist_quantile(h->bucket, n, 0.999)),
            n);
    }

    switch (f->value) {

    case NGX_WS_PERF_V_INT:
        return ngx_slprintf(p, last, " %L", *(int64_t *) v);

    case NGX_WS_PERF_V_OF_LIVE:
        return ngx_slprintf(p, last, " %uL/%uL", *u, sum->live);

    default:
        return ngx_slprintf(p, last, " %uL", *u);
    }
}


static u_char *
ngx_ws_perf_text_alerts(u_char *p, u_char *last, ngx_ws_perf_metrics_sh_t *sh)
{
    ngx_uint_t            i;
    ngx_ws_perf_alert_t  *a;

    for (i = 0; i < sh->nalerts; i++) {
        a = &sh->alert[i];

        if (!a->firing) {
            continue;
        }

        p = ngx_slprintf(p, last, "alert %s firing since %uL: ",
                         ngx_ws_perf_alerts_name(a->metric), a->since);
        p = ngx_ws_perf_alerts_value(p, last, a->metric, a->value);
        p = ngx_slprintf(p, last, " over ");
        p = ngx_ws_perf_alerts_value(p, last, a->metric, a->threshold);
        p = ngx_slprintf(p, last, "\n");
    }

    return p;
}


static u_char *
ngx_ws_perf_status_json(u_char *p, u_char *last, ngx_ws_perf_metrics_sh_t *sh,
    ngx_ws_perf_status_sum_t *sum)
{
    char                 *group, *sep;
    ngx_ws_perf_field_t  *f;

    p = ngx_slprintf(p, last, "{\"version\":1,\"time\":%T", ngx_time());
    group = NULL;

    for (f = ngx_ws_perf_fields; f->n; f++) {

        if (f->json_key == NULL) {
            continue;
        }

        sep = ",";

        if (f->json_group != group
            && (f->json_group == NULL || group == NULL
                || ngx_strcmp(f->json_group, group) != 0))
        {
            if (group) {
                p = ngx_slprintf(p, last, "}");
            }

            if (f->json_group) {
                p = ngx_slprintf(p, last, ",\"%s\":{", f->json_group);
                sep = "";
            }

            group = f->json_group;
        }

        if (f->kind == NGX_WS_PERF_SECTION) {
            p = ngx_ws_perf_json_window(p, last, sep, &sh->window);
            continue;
        }

        p = ngx_slprintf(p, last, "%s\"%s\":", sep, f->json_key);
        p = ngx_ws_perf_json_field(p, last, f, sum);
    }

    p = ngx_slprintf(p, last, group ? "}," : ",");
    p = ngx_ws_perf_json_workers(p, last, sh);
    p = ngx_slprintf(p, last, ",\"live_workers\":%uL,", sum->live);
    p = ngx_ws_perf_json_alerts(p, last, sh);

    return ngx_slprintf(p, last, "}\n");
}


static u_char *
ngx_ws_perf_json_field(u_char *p, u_char *last, ngx_ws_perf_field_t *f,
    ngx_ws_perf_status_sum_t *sum)
{
    u_char      *v;
    uint64_t    *u;
    ngx_uint_t   k;

    v = (u_char *) sum + f->offset;
    u = (uint64_t *) v;

    if (f->kind == NGX_WS_PERF_HISTOGRAM) {
        p = ngx_slprintf(p, last, "{%s", f->json_intro ? f->json_intro : "");
        p = ngx_ws_perf_json_hist(p, last, (ngx_ws_perf_hist_t *) v);
        return ngx_slprintf(p, last, "}");
    }

    if (f->labels) {
        p = ngx_slprintf(p, last, "{");

        for (k = 0; k < f->n; k++) {
            p = ngx_slprintf(p, last, "%s\"%V\":%uL", k ? "," : "",
                             &f->labels[k], u[k]);
        }

        return ngx_slprintf(p, last, "}");
    }

    switch (f->value) {

    case NGX_WS_PERF_V_BOOL:
        return ngx_slprintf(p, last, "%s", ngx_ws_perf_json_bool(*u));

    case NGX_WS_PERF_V_INT:
        return ngx_slprintf(p, last, "%L", *(int64_t *) v);

    default:
        return ngx_slprintf(p, last, "%uL", *u);
    }
}


static u_char *
ngx_ws_perf_json_window(u_char *p, u_char *last, char *sep,
    ngx_ws_perf_window_t *w)
{
    return ngx_slprintf(p, last, NGX_WS_PERF_JSON_WINDOW, sep,
                        w->seconds, w->sec, ngx_ws_perf_milli(w->published),
                        ngx_ws_perf_milli(w->delivered),
                        ngx_ws_perf_milli(w->dropped),
                        ngx_ws_perf_sec(w->error_rate),
                        ngx_ws_perf_sec(w->drop_rate), w->count,
                        ngx_ws_perf_ms(w->p50), ngx_ws_perf_ms(w->p95),
                        ngx_ws_perf_ms(w->p99), ngx_ws_perf_ms(w->p999));
}


static u_char *
ngx_ws_perf_json_hist(u_char *p, u_char *last, ngx_ws_perf_hist_t *h)
{
    uint64_t  n, us;

    n = h->count;

    us = n ? h->sum / n : 0;

    return ngx_slprintf(p, last, NGX_WS_PERF_JSON_HIST,
               n, ngx_ws_perf_ms(us),
               ngx_ws_perf_ms(ngx_ws_perf_hist_quantile(h->bucket, n, 0.5)),
               ngx_ws_perf_ms(ngx_ws_perf_hist_quantile(h->bucket, n, 0.95)),
               ngx_ws_perf_ms(ngx_ws_perf_hist_quantile(h->bucket, n, 0.99)),
               ngx_ws_perf_ms(ngx_ws_perf_hist_quantile(h->bucket, n,
                                                        0.999)));
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

        if (!ngx_ws_perf_metrics_slot_live(slot)) {
            continue;
        }

        p = ngx_slprintf(p, last, NGX_WS_PERF_JSON_WORKER,
                n++ ? "," : "", i, slot->pid, slot->started, slot->rss,
                ngx_ws_perf_milli(slot->cpu_ms),
                slot->conn_opened - slot->conn_closed,
                ngx_ws_perf_json_bool(slot->redis_configured),
                ngx_ws_perf_metrics_redis_state_name(slot->redis_state),
                slot->redis_since,
                ngx_ws_perf_json_bool(slot->redis_subscribed));
    }

    return ngx_slprintf(p, last, "]");
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
                         i ? "," : "", ngx_ws_perf_alerts_name(a->metric),
                         ngx_ws_perf_json_bool(a->firing), a->since);
        p = ngx_ws_perf_alerts_value(p, last, a->metric, a->value);
        p = ngx_slprintf(p, last, "\",\"threshold\":\"");
        p = ngx_ws_perf_alerts_value(p, last, a->metric, a->threshold);
        p = ngx_slprintf(p, last, "\"}");
    }

    return ngx_slprintf(p, last, "]");
}


static u_char *
ngx_ws_perf_status_prom(u_char *p, u_char *last, ngx_ws_perf_metrics_sh_t *sh,
    ngx_ws_perf_status_sum_t *sum)
{
    u_char               *v;
    ngx_uint_t            k;
    ngx_ws_perf_field_t  *f;

    static char  *types[] = { "counter", "gauge", "histogram" };

    for (f = ngx_ws_perf_fields; f->n; f++) {

        if (f->name == NULL) {
            continue;
        }

        p = ngx_slprintf(p, last, NGX_WS_PERF_PROM_HEAD, f->name, f->help,
                         f->name, types[f->kind]);

        v = (u_char *) sum + f->offset;

        if (f->kind == NGX_WS_PERF_HISTOGRAM) {
            p = ngx_ws_perf_prom_hist(p, last, f->name,
                                      (ngx_ws_perf_hist_t *) v);
            continue;
        }

        if (f->labels == NULL) {
            p = ngx_slprintf(p, last, f->value == NGX_WS_PERF_V_INT
                                      ? "%s %L\n" : "%s %uL\n",
                             f->name, *(uint64_t *) v);
            continue;
        }

        for (k = 0; k < f->n; k++) {
            p = ngx_slprintf(p, last, NGX_WS_PERF_PROM_VALUE, f->name,
                             f->label, &f->labels[k], ((int64_t *) v)[k]);
        }
    }

    p = ngx_ws_perf_prom_workers(p, last, sh);

    return ngx_ws_perf_prom_alerts(p, last, sh);
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

        p = ngx_slprintf(p, last, NGX_WS_PERF_PROM_BUCKET, name,
                         ngx_ws_perf_sec(bound), cum);

        bound <<= 1;
        next = ngx_ws_perf_hist_index(bound);
    }

    return ngx_slprintf(p, last, NGX_WS_PERF_PROM_HIST_END,
                        name, cum, name, ngx_ws_perf_sec(h->sum), name, cum);
}


/* per live worker: Redis up, resident memory, CPU */

static u_char *
ngx_ws_perf_prom_workers(u_char *p, u_char *last,
    ngx_ws_perf_metrics_sh_t *sh)
{
    ngx_uint_t            i, k;
    ngx_ws_perf_head_t   *h;
    ngx_ws_perf_mslot_t  *slot;

    for (k = 0; k < NGX_WS_PERF_HEAD_ALERT; k++) {
        h = &ngx_ws_perf_heads[k];
        p = ngx_slprintf(p, last, NGX_WS_PERF_PROM_HEAD, h->name, h->help,
                         h->name, h->type);

        for (i = 0; i < sh->nslots; i++) {
            slot = &sh->slot[i];

            if (!ngx_ws_perf_metrics_slot_live(slot)) {
                continue;
            }

            switch (k) {

            case NGX_WS_PERF_HEAD_REDIS:
                if (slot->redis_configured) {
                    p = ngx_slprintf(p, last, "%s{worker=\"%ui\"} %d\n",
                                     h->name, i,
                                     slot->redis_state
                                     == NGX_WS_PERF_M_REDIS_UP
                                     && slot->redis_subscribed);
                }
                break;

            case NGX_WS_PERF_HEAD_RSS:
                p = ngx_slprintf(p, last, "%s{worker=\"%ui\"} %uL\n",
                                 h->name, i, slot->rss);
                break;

            default: /* NGX_WS_PERF_HEAD_CPU */
                p = ngx_slprintf(p, last, NGX_WS_PERF_PROM_WORKER,
                                 h->name, i, ngx_ws_perf_milli(slot->cpu_ms));
            }
        }
    }

    return p;
}


static u_char *
ngx_ws_perf_prom_alerts(u_char *p, u_char *last, ngx_ws_perf_metrics_sh_t *sh)
{
    ngx_uint_t            i, k;
    ngx_ws_perf_head_t   *h;
    ngx_ws_perf_alert_t  *a;

    for (k = NGX_WS_PERF_HEAD_ALERT; k < NGX_WS_PERF_HEAD_N; k++) {
        h = &ngx_ws_perf_heads[k];
        p = ngx_slprintf(p, last, NGX_WS_PERF_PROM_HEAD, h->name, h->help,
                         h->name, h->type);

        for (i = 0; i < sh->nalerts; i++) {
            a = &sh->alert[i];
            p = ngx_slprintf(p, last, NGX_WS_PERF_PROM_ALERT, h->name,
                             ngx_ws_perf_alerts_name(a->metric),
                             k == NGX_WS_PERF_HEAD_ALERT ? a->firing
                                                         : a->since);
        }
    }

    return p;
}
