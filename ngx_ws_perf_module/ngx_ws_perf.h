
/*
 * Copyright (C) ngx_ws_perf_module authors
 */


#ifndef _NGX_WS_PERF_H_INCLUDED_
#define _NGX_WS_PERF_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include "ngx_ws_perf_frame.h"
#include "ngx_ws_perf_queue.h"
#include "ngx_ws_perf_msg.h"
#include "ngx_ws_perf_hub.h"
#include "ngx_ws_perf_engine.h"


#define NGX_WS_PERF_MODE_NONE     0
#define NGX_WS_PERF_MODE_PUBSUB   1
#define NGX_WS_PERF_MODE_ECHO     2
#define NGX_WS_PERF_MODE_PUBLISH  3
#define NGX_WS_PERF_MODE_DLQ      4

#define NGX_WS_PERF_FORMAT_JSON   0
#define NGX_WS_PERF_FORMAT_RAW    1


/* http level: the Redis engine */
typedef struct {
    ngx_str_t                   redis;          /* the URL, no password */
    u_char                     *redis_host;     /* a numeric address or a */
    ngx_int_t                   redis_port;     /* unix path (port 0) */
    ngx_str_t                   redis_user;
    ngx_str_t                   redis_password;
    ngx_int_t                   redis_db;
    ngx_str_t                   redis_prefix;
    ngx_msec_t                  redis_connect_timeout;
    ngx_msec_t                  redis_command_timeout;
    ngx_msec_t                  redis_reconnect_min;
    ngx_msec_t                  redis_reconnect_max;
    ngx_uint_t                  redis_max_pending;

    ngx_uint_t                  offline_max;
    ngx_msec_t                  offline_ttl;
    ngx_uint_t                  history;
    ngx_msec_t                  ack_timeout;
    ngx_uint_t                  max_attempts;
    ngx_uint_t                  max_pending_acks;
    ngx_uint_t                  dlq_max;
    ngx_uint_t                  ack_priorities;     /* 1 << priority */
    size_t                      compress_min;   /* lz4 from; 0: off */
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
} ngx_ws_perf_loc_conf_t;


/* what the pub/sub endpoint evaluated from the handshake request */
typedef struct {
    ngx_array_t                 channels;           /* of ngx_str_t */
    ngx_str_t                   user;
    ngx_array_t                *allowed;            /* of ngx_str_t */
} ngx_ws_perf_targets_t;


/* the state an upgraded connection keeps after its request is freed */
typedef struct {
    ngx_ws_perf_peer_t          peer;       /* the hub's view, first */
    ngx_ws_perf_loc_conf_t     *conf;
    ngx_ws_perf_queue_t         queue;
    ngx_ws_perf_frame_parser_t  parser;

    ngx_ws_perf_out_t          *message;    /* the data message being read */
    size_t                      message_size;
    u_char                     *input;      /* bytes read and not parsed */
    size_t                      input_len;  /* yet: after the handshake, */
    size_t                      input_off;  /* or while the queue is full */

    ngx_event_t                 timer;      /* ping, idle and close timer */
    ngx_msec_t                  last_in;
    ngx_msec_t                  last_ping;

    ngx_ws_perf_sub_t          *subs;
    ngx_uint_t                  nchannels;
    ngx_str_t                   user;
    ngx_array_t                *allowed;    /* channel patterns for "sub" */
    ngx_msec_t                  rate_time;
    ngx_uint_t                  rate_credit;    /* thousandths of a message */

    unsigned                    draining:1; /* close frame sent; await EOF */
    unsigned                    peer_closed:1;  /* the client's close came */
    unsigned                    read_paused:1;
} ngx_ws_perf_conn_t;


ngx_int_t ngx_ws_perf_handshake(ngx_http_request_t *r,
    ngx_ws_perf_loc_conf_t *wlcf);
ngx_int_t ngx_ws_perf_conn_upgrade(ngx_http_request_t *r,
    ngx_ws_perf_loc_conf_t *wlcf, ngx_ws_perf_out_t *response,
    ngx_ws_perf_targets_t *targets);
ngx_int_t ngx_ws_perf_conn_reply(ngx_ws_perf_conn_t *wc, u_char *data,
    size_t len);

ngx_int_t ngx_ws_perf_targets(ngx_http_request_t *r,
    ngx_ws_perf_loc_conf_t *wlcf, ngx_ws_perf_targets_t *t, char **reason);
ngx_int_t ngx_ws_perf_split_names(ngx_pool_t *pool, ngx_str_t *value,
    ngx_array_t *names);
ngx_int_t ngx_ws_perf_subscribe_targets(ngx_ws_perf_conn_t *wc,
    ngx_ws_perf_targets_t *t);
ngx_int_t ngx_ws_perf_command(ngx_ws_perf_conn_t *wc, u_char *p, size_t len);
ngx_int_t ngx_ws_perf_rate_check(ngx_ws_perf_conn_t *wc);

ngx_int_t ngx_ws_perf_publish_handler(ngx_http_request_t *r);
ngx_int_t ngx_ws_perf_send_response(ngx_http_request_t *r, ngx_uint_t status,
    char *type, u_char *data, size_t len);
ngx_int_t ngx_ws_perf_send_json(ngx_http_request_t *r, ngx_uint_t status,
    const char *fmt, ...);
size_t ngx_ws_perf_publish_too_big(ngx_ws_perf_msg_t *m);
ngx_int_t ngx_ws_perf_publish(ngx_ws_perf_msg_t *m,
    ngx_ws_perf_publish_pt handler, void *data, ngx_uint_t tag,
    ngx_log_t *log);

ngx_int_t ngx_ws_perf_redis_init(ngx_cycle_t *cycle,
    ngx_ws_perf_main_conf_t *wmcf);
void ngx_ws_perf_redis_exit(ngx_cycle_t *cycle);
ngx_int_t ngx_ws_perf_redis_publish(ngx_ws_perf_msg_t *m,
    ngx_ws_perf_publish_pt handler, void *data, ngx_uint_t tag);
ngx_int_t ngx_ws_perf_redis_info(ngx_uint_t target, ngx_str_t *name,
    ngx_ws_perf_info_pt handler, void *data);
ngx_uint_t ngx_ws_perf_redis_enabled(void);
ngx_int_t ngx_ws_perf_redis_room(ngx_uint_t n);

/* reply is a redisReply, or NULL when the link went before it came */
typedef void (*ngx_ws_perf_redis_reply_pt)(void *data, void *reply);

ngx_int_t ngx_ws_perf_redis_call(ngx_ws_perf_redis_reply_pt handler,
    void *data, int argc, const char **argv, const size_t *argvlen);
ngx_int_t ngx_ws_perf_redis_chore(ngx_ws_perf_redis_reply_pt handler,
    void *data, int argc, const char **argv, const size_t *argvlen);
ngx_str_t *ngx_ws_perf_redis_prefix(void);
ngx_int_t ngx_ws_perf_redis_url_mask(ngx_pool_t *pool, ngx_str_t *url,
    ngx_str_t *masked);
void ngx_ws_perf_redis_bad_reply(const char *command);
ngx_uint_t ngx_ws_perf_redis_error_text(void *reply, ngx_str_t *text);
ngx_uint_t ngx_ws_perf_redis_drop(ngx_uint_t *n);
ngx_int_t ngx_ws_perf_redis_text(ngx_ws_perf_msg_t *m, const char *where);
size_t ngx_ws_perf_redis_key(u_char *buf, const char *kind,
    ngx_uint_t target, u_char *name, size_t len);

/* the reliable-delivery store (ngx_ws_perf_store.c) */
ngx_int_t ngx_ws_perf_store_init(ngx_cycle_t *cycle);
void ngx_ws_perf_store_subscribed(ngx_ws_perf_topic_t *topic);
ngx_int_t ngx_ws_perf_store_resume(ngx_ws_perf_conn_t *wc,
    ngx_ws_perf_sub_t *sub, ngx_str_t *since);
ngx_int_t ngx_ws_perf_store_ack(ngx_ws_perf_conn_t *wc, ngx_str_t *id);
ngx_int_t ngx_ws_perf_store_schedule(ngx_ws_perf_msg_t *m, int64_t at,
    ngx_ws_perf_publish_pt handler, void *data, ngx_uint_t tag);
ngx_int_t ngx_ws_perf_store_cancel(ngx_http_request_t *r, ngx_str_t *id);
ngx_int_t ngx_ws_perf_dlq_handler(ngx_http_request_t *r);
ngx_int_t ngx_ws_perf_dlq_replayed(ngx_http_request_t *r,
    ngx_uint_t replayed, ngx_uint_t kept, ngx_str_t *why);



extern ngx_module_t  ngx_ws_perf_module;


#endif /* _NGX_WS_PERF_H_INCLUDED_ */
