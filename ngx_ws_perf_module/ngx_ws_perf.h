
/*
 * Copyright (C) ngx_ws_perf_module authors
 */


#ifndef _NGX_WS_PERF_H_INCLUDED_
#define _NGX_WS_PERF_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


#define NGX_WS_PERF_MODE_NONE     0
#define NGX_WS_PERF_MODE_PUBSUB   1
#define NGX_WS_PERF_MODE_ECHO     2
#define NGX_WS_PERF_MODE_PUBLISH  3
#define NGX_WS_PERF_MODE_DLQ      4
#define NGX_WS_PERF_MODE_SSE      5     /* pub/sub as an event stream */

#define NGX_WS_PERF_FORMAT_JSON   0
#define NGX_WS_PERF_FORMAT_RAW    1


/* a sentinel's address, resolved when the configuration is read */
typedef struct {
    ngx_str_t                   text;           /* "ip:port", no name */
    u_char                     *host;           /* the numeric address */
    ngx_int_t                   port;
} ngx_ws_perf_redis_addr_t;


/* http level: the Redis engine */
typedef struct {
    ngx_str_t                   redis;          /* the URL, no password, */
                                                /* or "sentinel:NAME" */
    u_char                     *redis_host;     /* a numeric address or a */
    ngx_int_t                   redis_port;     /* unix path (port 0) */
    ngx_str_t                   redis_user;
    ngx_str_t                   redis_password;
    ngx_int_t                   redis_db;
    ngx_str_t                   redis_prefix;
    ngx_uint_t                  redis_shards;   /* a cluster's; 0: one */
    ngx_array_t                *redis_cluster;  /* its seeds, of */
                                                /* ngx_ws_perf_slots_node_t */
    ngx_str_t                   sentinel_name;  /* the master's, or none */
    ngx_array_t                *sentinels;      /* ngx_ws_perf_redis_addr_t */
    ngx_str_t                   sentinel_user;
    ngx_str_t                   sentinel_password;
    ngx_msec_t                  redis_connect_timeout;
    ngx_msec_t                  redis_command_timeout;
    ngx_msec_t                  redis_reconnect_min;
    ngx_msec_t                  redis_reconnect_max;
    ngx_uint_t                  redis_max_pending;
    ngx_msec_t                  redis_worker_ttl;
    ngx_uint_t                  redis_wait_replicas;    /* 0: off */
    ngx_msec_t                  redis_wait_timeout;

    ngx_uint_t                  offline_max;
    ngx_msec_t                  offline_ttl;
    ngx_uint_t                  history;
    ngx_msec_t                  ack_timeout;
    ngx_uint_t                  max_attempts;
    ngx_uint_t                  max_pending_acks;
    ngx_uint_t                  dlq_max;
    ngx_uint_t                  ack_priorities;     /* 1 << priority */
    size_t                      compress_min;   /* lz4 from; 0: off */
    size_t                      deflate_min;    /* permessage-deflate from */
    ngx_uint_t                  deflate_level;
    ngx_uint_t                  deflate_window;     /* bits, 9..15 */
    ngx_uint_t                  deflate_context;    /* a client's inflate */
                                                    /* window bits; 0: none */
    ngx_uint_t                  presence_rate;  /* events a second a */
                                                /* channel; 0: counts */
    ngx_flag_t                  per_worker;     /* deprecated, ignored */
    ngx_shm_zone_t             *shm_zone;       /* without ws_perf_redis */
    size_t                      min_send_queue; /* the smallest of the */
                                                /* pub/sub locations */

    ngx_str_t                   pubsub_file;    /* the first pub/sub or */
    ngx_uint_t                  pubsub_line;    /* publish location */
    ngx_str_t                   store_file;     /* the first ws_perf_dlq */
    ngx_uint_t                  store_line;
} ngx_ws_perf_main_conf_t;


typedef struct {
    ngx_uint_t                  mode;
    size_t                      max_message_size;
    size_t                      send_queue_size;
    ngx_msec_t                  ping_interval;
    ngx_msec_t                  idle_timeout;
    ngx_msec_t                  close_timeout;
    ngx_array_t                *allowed_origins;    /* of ngx_str_t */
    ngx_array_t                *subprotocols;       /* of ngx_str_t */

    ngx_http_complex_value_t   *channels;
    ngx_http_complex_value_t   *user;
    ngx_array_t                *allowed_channels;   /* complex values */
    ngx_flag_t                  client_publish;
    ngx_flag_t                  client_critical;
    ngx_uint_t                  format;
    ngx_uint_t                  max_channels;
    ngx_uint_t                  max_batch;
    ngx_uint_t                  max_user_connections;
    ngx_uint_t                  client_rate;
    ngx_flag_t                  deflate;
    ngx_flag_t                  presence;
    ngx_str_t                   presence_file;  /* where it was set on */
    ngx_uint_t                  presence_line;
} ngx_ws_perf_loc_conf_t;


extern ngx_module_t  ngx_ws_perf_module;


#endif /* _NGX_WS_PERF_H_INCLUDED_ */
