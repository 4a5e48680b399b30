
/*
 * Copyright (C) ngx_ws_perf_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include "ngx_ws_perf.h"
#include "ngx_ws_perf_conn.h"
#include "ngx_ws_perf_http.h"
#include "ngx_ws_perf_engine.h"
#include "ngx_ws_perf_shm.h"
#include "ngx_ws_perf_redis.h"
#include "ngx_ws_perf_compress.h"
#include "ngx_ws_perf_presence.h"
#include "ngx_ws_perf_slots.h"


#define NGX_WS_PERF_SENTINEL_NAME_MAX  128


static ngx_int_t ngx_ws_perf_handler(ngx_http_request_t *r);
static char *ngx_ws_perf_check_conf(ngx_cycle_t *cycle, void *conf);
static char *ngx_ws_perf_per_worker(ngx_conf_t *cf, void *post,
    void *data);
static ngx_int_t ngx_ws_perf_init_process(ngx_cycle_t *cycle);
static void ngx_ws_perf_exit_process(ngx_cycle_t *cycle);
static void *ngx_ws_perf_create_main_conf(ngx_conf_t *cf);
static char *ngx_ws_perf_init_main_conf(ngx_conf_t *cf, void *conf);
static char *ngx_ws_perf_redis(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_ws_perf_redis_cluster(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_ws_perf_redis_cluster_option(ngx_conf_t *cf,
    ngx_ws_perf_main_conf_t *wmcf, ngx_str_t *opt);
static char *ngx_ws_perf_redis_prefix_set(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_ws_perf_redis_unix(ngx_conf_t *cf,
    ngx_ws_perf_main_conf_t *wmcf, ngx_str_t *url);
static char *ngx_ws_perf_redis_userinfo(ngx_conf_t *cf,
    ngx_ws_perf_main_conf_t *wmcf, u_char **pp, u_char *last);
static char *ngx_ws_perf_redis_resolve(ngx_conf_t *cf, u_char *p,
    u_char *last, in_port_t port, ngx_ws_perf_redis_addr_t *addr,
    ngx_str_t *shown);
static char *ngx_ws_perf_redis_sentinel(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_ws_perf_redis_sentinel_option(ngx_conf_t *cf,
    ngx_ws_perf_main_conf_t *wmcf, ngx_str_t *opt);
static char *ngx_ws_perf_redis_reconnect(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_ws_perf_redis_wait_replicas(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_ws_perf_ack_priorities(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static void *ngx_ws_perf_create_loc_conf(ngx_conf_t *cf);
static char *ngx_ws_perf_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_ws_perf_endpoint(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_ws_perf_presence_conf(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_ws_perf_origins(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_ws_perf_subprotocols(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_ws_perf_allowed_channels(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_ws_perf_positive_size(ngx_conf_t *cf, void *post,
    void *data);
static char *ngx_ws_perf_positive_num(ngx_conf_t *cf, void *post,
    void *data);
static char *ngx_ws_perf_worker_ttl(ngx_conf_t *cf, void *post,
    void *data);


static ngx_conf_post_handler_pt  ngx_ws_perf_positive_size_p =
    ngx_ws_perf_positive_size;
static ngx_str_t  ngx_ws_perf_shm_name = ngx_string("ws_perf");


static ngx_conf_post_handler_pt  ngx_ws_perf_per_worker_deprecated =
    ngx_ws_perf_per_worker;

static ngx_conf_post_handler_pt  ngx_ws_perf_positive_num_p =
    ngx_ws_perf_positive_num;
static ngx_conf_post_handler_pt  ngx_ws_perf_worker_ttl_p =
    ngx_ws_perf_worker_ttl;


static ngx_conf_num_bounds_t  ngx_ws_perf_deflate_level_bounds = {
    ngx_conf_check_num_bounds, 1, 9
};

static ngx_conf_num_bounds_t  ngx_ws_perf_deflate_window_bounds = {
    ngx_conf_check_num_bounds, NGX_WS_PERF_DEFLATE_WBITS_MIN,
    NGX_WS_PERF_DEFLATE_WBITS_MAX
};


static ngx_conf_enum_t  ngx_ws_perf_formats[] = {
    { ngx_string("json"), NGX_WS_PERF_FORMAT_JSON },
    { ngx_string("raw"), NGX_WS_PERF_FORMAT_RAW },
    { ngx_null_string, 0 }
};


static ngx_command_t  ngx_ws_perf_commands[] = {

    { ngx_string("ws_perf"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_ws_perf_endpoint,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("ws_perf_echo"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_ws_perf_endpoint,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("ws_perf_publish"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_ws_perf_endpoint,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("ws_perf_sse"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_ws_perf_endpoint,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("ws_perf_redis"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_ws_perf_redis,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("ws_perf_redis_cluster"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_ws_perf_redis_cluster,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("ws_perf_redis_sentinel"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_2MORE,
      ngx_ws_perf_redis_sentinel,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("ws_perf_redis_prefix"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_ws_perf_redis_prefix_set,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_ws_perf_main_conf_t, redis_prefix),
      NULL },

    { ngx_string("ws_perf_redis_connect_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_ws_perf_main_conf_t, redis_connect_timeout),
      &ngx_ws_perf_positive_num_p },

    { ngx_string("ws_perf_redis_command_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_ws_perf_main_conf_t, redis_command_timeout),
      &ngx_ws_perf_positive_num_p },

    { ngx_string("ws_perf_redis_reconnect"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE2,
      ngx_ws_perf_redis_reconnect,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("ws_perf_redis_max_pending"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_ws_perf_main_conf_t, redis_max_pending),
      &ngx_ws_perf_positive_num_p },

    { ngx_string("ws_perf_redis_worker_ttl"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_ws_perf_main_conf_t, redis_worker_ttl),
      &ngx_ws_perf_worker_ttl_p },

    { ngx_string("ws_perf_redis_wait_replicas"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE2,
      ngx_ws_perf_redis_wait_replicas,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("ws_perf_dlq"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_ws_perf_endpoint,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("ws_perf_offline_max"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_ws_perf_main_conf_t, offline_max),
      NULL },

    { ngx_string("ws_perf_offline_ttl"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_ws_perf_main_conf_t, offline_ttl),
      &ngx_ws_perf_positive_num_p },

    { ngx_string("ws_perf_history"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_ws_perf_main_conf_t, history),
      NULL },

    { ngx_string("ws_perf_presence_rate"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_ws_perf_main_conf_t, presence_rate),
      NULL },

    { ngx_string("ws_perf_ack_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_ws_perf_main_conf_t, ack_timeout),
      &ngx_ws_perf_positive_num_p },

    { ngx_string("ws_perf_max_attempts"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_ws_perf_main_conf_t, max_attempts),
      &ngx_ws_perf_positive_num_p },

    { ngx_string("ws_perf_max_pending_acks"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_ws_perf_main_conf_t, max_pending_acks),
      &ngx_ws_perf_positive_num_p },

    { ngx_string("ws_perf_ack_priorities"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_ws_perf_ack_priorities,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("ws_perf_dlq_max"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_ws_perf_main_conf_t, dlq_max),
      &ngx_ws_perf_positive_num_p },

    { ngx_string("ws_perf_compress_min"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_ws_perf_compress_min,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_ws_perf_main_conf_t, compress_min),
      NULL },

    { ngx_string("ws_perf_deflate_min_length"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_ws_perf_main_conf_t, deflate_min),
      NULL },

    { ngx_string("ws_perf_deflate_level"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_ws_perf_main_conf_t, deflate_level),
      &ngx_ws_perf_deflate_level_bounds },

    { ngx_string("ws_perf_deflate_window"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_ws_perf_main_conf_t, deflate_window),
      &ngx_ws_perf_deflate_window_bounds },

    { ngx_string("ws_perf_deflate_client_context"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_ws_perf_deflate_context,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_ws_perf_main_conf_t, deflate_context),
      NULL },

    { ngx_string("ws_perf_per_worker_delivery"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_ws_perf_main_conf_t, per_worker),
      &ngx_ws_perf_per_worker_deprecated },

    { ngx_string("ws_perf_shm_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE2,
      ngx_ws_perf_shm_zone_conf,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("ws_perf_channels"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_set_complex_value_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_ws_perf_loc_conf_t, channels),
      NULL },

    { ngx_string("ws_perf_user"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_set_complex_value_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_ws_perf_loc_conf_t, user),
      NULL },

    { ngx_string("ws_perf_allowed_channels"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_ws_perf_allowed_channels,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_ws_perf_loc_conf_t, allowed_channels),
      NULL },

    { ngx_string("ws_perf_client_critical"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_ws_perf_loc_conf_t, client_critical),
      NULL },

    { ngx_string("ws_perf_presence"),
      NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_ws_perf_presence_conf,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_ws_perf_loc_conf_t, presence),
      NULL },

    { ngx_string("ws_perf_client_publish"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_ws_perf_loc_conf_t, client_publish),
      NULL },

    { ngx_string("ws_perf_format"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_ws_perf_loc_conf_t, format),
      &ngx_ws_perf_formats },

    { ngx_string("ws_perf_max_batch"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_ws_perf_loc_conf_t, max_batch),
      &ngx_ws_perf_positive_num_p },

    { ngx_string("ws_perf_max_channels_per_connection"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_ws_perf_loc_conf_t, max_channels),
      &ngx_ws_perf_positive_num_p },

    { ngx_string("ws_perf_max_connections_per_user"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_ws_perf_loc_conf_t, max_user_connections),
      &ngx_ws_perf_positive_num_p },

    { ngx_string("ws_perf_client_rate"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_ws_perf_loc_conf_t, client_rate),
      NULL },

    { ngx_string("ws_perf_deflate"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_ws_perf_loc_conf_t, deflate),
      NULL },

    { ngx_string("ws_perf_max_message_size"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_ws_perf_loc_conf_t, max_message_size),
      &ngx_ws_perf_positive_size_p },

    { ngx_string("ws_perf_send_queue_size"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_ws_perf_loc_conf_t, send_queue_size),
      &ngx_ws_perf_positive_size_p },

    { ngx_string("ws_perf_ping_interval"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_ws_perf_loc_conf_t, ping_interval),
      NULL },

    { ngx_string("ws_perf_idle_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_ws_perf_loc_conf_t, idle_timeout),
      NULL },

    { ngx_string("ws_perf_close_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_ws_perf_loc_conf_t, close_timeout),
      NULL },

    { ngx_string("ws_perf_allowed_origins"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_ws_perf_origins,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_ws_perf_loc_conf_t, allowed_origins),
      NULL },

    { ngx_string("ws_perf_subprotocols"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_ws_perf_subprotocols,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_ws_perf_loc_conf_t, subprotocols),
      NULL },

      ngx_null_command
};


/* chosen at init_process: nothing else asks which engine runs */
ngx_ws_perf_engine_t  *ngx_ws_perf_engine;


static ngx_http_module_t  ngx_ws_perf_module_ctx = {
    NULL,                                  /* preconfiguration */
    NULL,                                  /* postconfiguration */

    ngx_ws_perf_create_main_conf,          /* create main configuration */
    ngx_ws_perf_init_main_conf,            /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_ws_perf_create_loc_conf,           /* create location configuration */
    ngx_ws_perf_merge_loc_conf             /* merge location configuration */
};


ngx_module_t  ngx_ws_perf_module = {
    NGX_MODULE_V1,
    &ngx_ws_perf_module_ctx,               /* module context */
    ngx_ws_perf_commands,                  /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_ws_perf_init_process,              /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_ws_perf_exit_process,              /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


/* a core module for the checks that need the whole configuration */

static ngx_core_module_t  ngx_ws_perf_core_module_ctx = {
    ngx_string("ws_perf_core"),
    NULL,
    ngx_ws_perf_check_conf
};


ngx_module_t  ngx_ws_perf_core_module = {
    NGX_MODULE_V1,
    &ngx_ws_perf_core_module_ctx,          /* module context */
    NULL,                                  /* module directives */
    NGX_CORE_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_int_t
ngx_ws_perf_handler(ngx_http_request_t *r)
{
    ngx_ws_perf_loc_conf_t  *wlcf;

    wlcf = ngx_http_get_module_loc_conf(r, ngx_ws_perf_module);

    if (wlcf->mode == NGX_WS_PERF_MODE_PUBLISH) {
        return ngx_ws_perf_publish_handler(r);
    }

    if (wlcf->mode == NGX_WS_PERF_MODE_DLQ) {
        return ngx_ws_perf_dlq_handler(r);
    }

    return ngx_ws_perf_handshake(r, wlcf);
}


/*
 * Runs once the whole configuration is read and logs where "nginx -t"
 * shows it: without Redis the dead letters live in the shared zone.
 */

static char *
ngx_ws_perf_check_conf(ngx_cycle_t *cycle, void *conf)
{
    ngx_ws_perf_main_conf_t  *wmcf;

    wmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_ws_perf_module);

    if (wmcf == NULL || wmcf->redis.len) {
        return NGX_CONF_OK;
    }

    if (wmcf->store_line && wmcf->shm_zone) {
        ngx_log_error(NGX_LOG_WARN, cycle->log, 0,
                      "ws_perf: without ws_perf_redis the dead letters of "
                      "ws_perf_dlq in %V:%ui are kept in ws_perf_shm_zone "
                      "\"%V\", shared by the workers, bounded, kept across "
                      "reloads and lost on restart",
                      &wmcf->store_file, wmcf->store_line,
                      &wmcf->shm_zone->shm.name);
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_ws_perf_init_process(ngx_cycle_t *cycle)
{
    ngx_ws_perf_main_conf_t  *wmcf;

    if (ngx_ws_perf_hub_init(cycle) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return NGX_OK;
    }

    wmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_ws_perf_module);

    ngx_ws_perf_presence_init(cycle, wmcf ? wmcf->presence_rate : 50);

    /* the one place that knows which engines there are */
    ngx_ws_perf_engine = (wmcf && wmcf->redis.len)
                         ? &ngx_ws_perf_redis_engine : &ngx_ws_perf_shm_engine;

    return ngx_ws_perf_engine->init(cycle);
}


static void
ngx_ws_perf_exit_process(ngx_cycle_t *cycle)
{
    if (ngx_ws_perf_engine) {
        ngx_ws_perf_engine->exit(cycle);
        ngx_ws_perf_engine = NULL;
    }

    ngx_ws_perf_hub_direct_free();
    ngx_ws_perf_queue_cleanup();
    ngx_ws_perf_compress_release();
    ngx_ws_perf_compress_deflate_end();
}


static void *
ngx_ws_perf_create_main_conf(ngx_conf_t *cf)
{
    ngx_ws_perf_main_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_ws_perf_main_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     conf->redis = { 0, NULL };
     *     conf->redis_prefix = { 0, NULL };
     */

    conf->redis_connect_timeout = NGX_CONF_UNSET_MSEC;
    conf->redis_command_timeout = NGX_CONF_UNSET_MSEC;
    conf->redis_reconnect_min = NGX_CONF_UNSET_MSEC;
    conf->redis_reconnect_max = NGX_CONF_UNSET_MSEC;
    conf->redis_max_pending = NGX_CONF_UNSET_UINT;
    conf->redis_worker_ttl = NGX_CONF_UNSET_MSEC;
    conf->redis_wait_replicas = NGX_CONF_UNSET_UINT;
    conf->redis_wait_timeout = NGX_CONF_UNSET_MSEC;
    conf->offline_max = NGX_CONF_UNSET_UINT;
    conf->offline_ttl = NGX_CONF_UNSET_MSEC;
    conf->history = NGX_CONF_UNSET_UINT;
    conf->ack_timeout = NGX_CONF_UNSET_MSEC;
    conf->max_attempts = NGX_CONF_UNSET_UINT;
    conf->max_pending_acks = NGX_CONF_UNSET_UINT;
    conf->dlq_max = NGX_CONF_UNSET_UINT;
    conf->ack_priorities = NGX_CONF_UNSET_UINT;
    conf->compress_min = NGX_CONF_UNSET_SIZE;
    conf->deflate_min = NGX_CONF_UNSET_SIZE;
    conf->deflate_level = NGX_CONF_UNSET_UINT;
    conf->deflate_window = NGX_CONF_UNSET_UINT;
    conf->deflate_context = NGX_CONF_UNSET_UINT;
    conf->presence_rate = NGX_CONF_UNSET_UINT;
    conf->per_worker = NGX_CONF_UNSET;
    conf->min_send_queue = (size_t) -1;

    return conf;
}


static char *
ngx_ws_perf_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_ws_perf_main_conf_t *wmcf = conf;

    if (wmcf->redis_prefix.data == NULL) {
        ngx_str_set(&wmcf->redis_prefix, "ws_perf:");
    }

    ngx_conf_init_msec_value(wmcf->redis_connect_timeout, 1000);
    ngx_conf_init_msec_value(wmcf->redis_command_timeout, 2000);
    ngx_conf_init_msec_value(wmcf->redis_reconnect_min, 100);
    ngx_conf_init_msec_value(wmcf->redis_reconnect_max, 1000);
    ngx_conf_init_uint_value(wmcf->redis_max_pending, 10000);
    ngx_conf_init_msec_value(wmcf->redis_worker_ttl, 30000);
    ngx_conf_init_uint_value(wmcf->redis_wait_replicas, 0);
    ngx_conf_init_msec_value(wmcf->redis_wait_timeout, 0);

    /* a WAIT that outlasts the reply timer would have its link dropped */
    if (wmcf->redis_wait_replicas
        && wmcf->redis_wait_timeout >= wmcf->redis_command_timeout)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "ws_perf_redis_wait_replicas waits %M ms, which "
                           "must be less than ws_perf_redis_command_timeout "
                           "(%M ms)", wmcf->redis_wait_timeout,
                           wmcf->redis_command_timeout);
        return NGX_CONF_ERROR;
    }

    if (wmcf->redis.len == 0
        && (wmcf->offline_max != NGX_CONF_UNSET_UINT
            || wmcf->offline_ttl != NGX_CONF_UNSET_MSEC
            || wmcf->history != NGX_CONF_UNSET_UINT
            || wmcf->ack_timeout != NGX_CONF_UNSET_MSEC
            || wmcf->max_attempts != NGX_CONF_UNSET_UINT
            || wmcf->max_pending_acks != NGX_CONF_UNSET_UINT
            || wmcf->dlq_max != NGX_CONF_UNSET_UINT
            || wmcf->ack_priorities != NGX_CONF_UNSET_UINT))
    {
        ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                           "ws_perf: without ws_perf_redis inboxes, "
                           "history, acks, dead letters and scheduled "
                           "messages are kept in ws_perf_shm_zone, shared "
                           "by the workers, bounded, kept across reloads "
                           "and lost on restart");
    }

    if (wmcf->redis.len == 0 && wmcf->offline_max == NGX_CONF_UNSET_UINT) {
        /* kept in the zone, which is not Redis: only when asked for */
        wmcf->offline_max = 0;
    }

    if (wmcf->redis.len == 0 && wmcf->shm_zone == NULL
        && (wmcf->pubsub_line || wmcf->store_line))
    {
        wmcf->shm_zone = ngx_ws_perf_shm_zone_add(cf, &ngx_ws_perf_shm_name,
                                                  32 * 1024 * 1024);
        if (wmcf->shm_zone == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    ngx_conf_init_uint_value(wmcf->offline_max, 1000);
    ngx_conf_init_msec_value(wmcf->offline_ttl, 3600000);
    ngx_conf_init_uint_value(wmcf->history, 0);
    ngx_conf_init_msec_value(wmcf->ack_timeout, 10000);
    ngx_conf_init_uint_value(wmcf->max_attempts, 5);
    ngx_conf_init_uint_value(wmcf->max_pending_acks, 1000);
    ngx_conf_init_uint_value(wmcf->dlq_max, 100000);
    ngx_conf_init_uint_value(wmcf->ack_priorities, 0);
    ngx_conf_init_size_value(wmcf->compress_min, 1024);
    ngx_conf_init_size_value(wmcf->deflate_min, 128);
    ngx_conf_init_uint_value(wmcf->deflate_level, 1);
    ngx_conf_init_uint_value(wmcf->deflate_window,
                             NGX_WS_PERF_DEFLATE_WBITS_MAX);
    ngx_conf_init_uint_value(wmcf->deflate_context, 0);
    ngx_conf_init_uint_value(wmcf->presence_rate, 50);
    ngx_conf_init_value(wmcf->per_worker, 0);

    return NGX_CONF_OK;
}


/*
 * redis://[[user]:password@]host[:port][/db] or unix:/path; the host is
 * resolved here, since hiredis would resolve it with a blocking call
 */

static char *
ngx_ws_perf_redis(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_ws_perf_main_conf_t *wmcf = conf;

    u_char                    *p, *last, *slash;
    char                      *rv;
    ngx_str_t                 *value;
    ngx_int_t                  db;
    ngx_ws_perf_redis_addr_t   addr;

    if (wmcf->sentinels) {
        return "is mutually exclusive with \"ws_perf_redis_sentinel\"";
    }

    if (wmcf->redis_cluster) {
        return "is mutually exclusive with \"ws_perf_redis_cluster\"";
    }

    if (wmcf->redis.data) {
        return "is duplicate";
    }

    value = cf->args->elts;

    /* the password never reaches a log line */
    if (ngx_ws_perf_redis_url_mask(cf->pool, &value[1], &wmcf->redis)
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    p = value[1].data;
    last = p + value[1].len;

    if (value[1].len > 5 && ngx_strncmp(p, "unix:", 5) == 0) {
        return ngx_ws_perf_redis_unix(cf, wmcf, &value[1]);
    }

    if (value[1].len < 8 || ngx_strncmp(p, "redis://", 8) != 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid redis address \"%V\": use "
                           "redis://[:password@]host[:port][/db] or "
                           "unix:/path", &wmcf->redis);
        return NGX_CONF_ERROR;
    }

    p += 8;

    rv = ngx_ws_perf_redis_userinfo(cf, wmcf, &p, last);
    if (rv != NGX_CONF_OK) {
        return rv;
    }

    slash = ngx_strlchr(p, last, '/');

    if (slash) {
        db = ngx_atoi(slash + 1, last - slash - 1);

        if (db == NGX_ERROR) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid redis database number in \"%V\"",
                               &wmcf->redis);
            return NGX_CONF_ERROR;
        }

        wmcf->redis_db = db;
        last = slash;
    }

    rv = ngx_ws_perf_redis_resolve(cf, p, last, 6379, &addr, &wmcf->redis);
    if (rv != NGX_CONF_OK) {
        return rv;
    }

    wmcf->redis_host = addr.host;
    wmcf->redis_port = addr.port;

    return NGX_CONF_OK;
}


/* "unix:/path" */

static char *
ngx_ws_perf_redis_unix(ngx_conf_t *cf, ngx_ws_perf_main_conf_t *wmcf,
    ngx_str_t *url)
{
    if (url->len == 5 || url->data[5] != '/') {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\": a unix socket needs an absolute "
                           "path, e.g. \"unix:/run/redis/redis.sock\"",
                           &wmcf->redis);
        return NGX_CONF_ERROR;
    }

    wmcf->redis_host = ngx_pnalloc(cf->pool, url->len - 4);
    if (wmcf->redis_host == NULL) {
        return NGX_CONF_ERROR;
    }

    (void) ngx_cpystrn(wmcf->redis_host, url->data + 5, url->len - 4);
    wmcf->redis_port = 0;

    return NGX_CONF_OK;
}


/* "[user]:password@" at *pp, if there is one: *pp moves past it */

static char *
ngx_ws_perf_redis_userinfo(ngx_conf_t *cf, ngx_ws_perf_main_conf_t *wmcf,
    u_char **pp, u_char *last)
{
    u_char  *p, *at, *colon;

    p = *pp;
    at = ngx_strlchr(p, last, '@');

    if (at == NULL) {
        return NGX_CONF_OK;
    }

    colon = ngx_strlchr(p, at, ':');

    if (colon == NULL || colon + 1 == at) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid redis address \"%V\": write the "
                           "password as \":password@\" or "
                           "\"user:password@\"", &wmcf->redis);
        return NGX_CONF_ERROR;
    }

    wmcf->redis_user.data = p;
    wmcf->redis_user.len = colon - p;
    wmcf->redis_password.data = colon + 1;
    wmcf->redis_password.len = at - colon - 1;

    *pp = at + 1;

    return NGX_CONF_OK;
}


/*
 * "host[:port]", resolved now, since hiredis would resolve it with a
 * blocking call in the worker: the first address, as numeric text;
 * shown names the directive's argument in a message
 */

static char *
ngx_ws_perf_redis_resolve(ngx_conf_t *cf, u_char *p, u_char *last,
    in_port_t port, ngx_ws_perf_redis_addr_t *addr, ngx_str_t *shown)
{
    ngx_url_t  u;

    ngx_memzero(&u, sizeof(ngx_url_t));

    u.url.data = p;
    u.url.len = last - p;
    u.default_port = port;

    if (ngx_parse_url(cf->pool, &u) != NGX_OK || u.naddrs == 0
        || u.family == AF_UNIX)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "%s in redis address \"%V\"",
                           u.err ? u.err : (u.naddrs ? "not a TCP address"
                                                     : "host not found"),
                           shown);
        return NGX_CONF_ERROR;
    }

    addr->port = u.port ? u.port : port;

    addr->host = ngx_pnalloc(cf->pool, NGX_SOCKADDR_STRLEN + 1);
    if (addr->host == NULL) {
        return NGX_CONF_ERROR;
    }

    addr->host[ngx_sock_ntop(u.addrs[0].sockaddr, u.addrs[0].socklen,
                             addr->host, NGX_SOCKADDR_STRLEN, 0)] = '\0';

    addr->text.data = ngx_pnalloc(cf->pool, NGX_SOCKADDR_STRLEN);
    if (addr->text.data == NULL) {
        return NGX_CONF_ERROR;
    }

    addr->text.len = ngx_sock_ntop(u.addrs[0].sockaddr, u.addrs[0].socklen,
                                   addr->text.data, NGX_SOCKADDR_STRLEN, 1);

    return NGX_CONF_OK;
}


/*
 * ws_perf_redis_sentinel NAME host:port... [user=U] [password=P] [db=N]
 * [sentinel_user=U] [sentinel_password=P]: the data links go to the
 * master the sentinels name; "sentinel:NAME" is what logs show
 */

static char *
ngx_ws_perf_redis_sentinel(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_ws_perf_main_conf_t *wmcf = conf;

    u_char                    *p;
    char                      *rv;
    ngx_str_t                 *value, *name;
    ngx_uint_t                 i;
    ngx_ws_perf_redis_addr_t  *addr;

    if (wmcf->sentinels) {
        return "is duplicate";
    }

    if (wmcf->redis_cluster) {
        return "is mutually exclusive with \"ws_perf_redis_cluster\"";
    }

    if (wmcf->redis.data) {
        return "is mutually exclusive with \"ws_perf_redis\"";
    }

    value = cf->args->elts;
    name = &value[1];

    for (i = 0; i < name->len; i++) {
        if (name->data[i] <= ' ' || name->data[i] >= 0x7f
            || name->data[i] == '"' || name->data[i] == '\\'
            || name->data[i] == '\'' || name->data[i] == '=')
        {
            break;
        }
    }

    if (name->len == 0 || name->len > NGX_WS_PERF_SENTINEL_NAME_MAX
        || i < name->len)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid master name in \"%V\": the name "
                           "the sentinels monitor comes first, 1 to %d "
                           "printable characters without quotes, "
                           "backslashes or \"=\"", &cmd->name,
                           NGX_WS_PERF_SENTINEL_NAME_MAX);
        return NGX_CONF_ERROR;
    }

    wmcf->sentinel_name = *name;

    wmcf->sentinels = ngx_array_create(cf->pool, cf->args->nelts - 2,
                                       sizeof(ngx_ws_perf_redis_addr_t));
    if (wmcf->sentinels == NULL) {
        return NGX_CONF_ERROR;
    }

    for (i = 2; i < cf->args->nelts; i++) {
        p = value[i].data;

        if (ngx_strlchr(p, p + value[i].len, '=')) {
            rv = ngx_ws_perf_redis_sentinel_option(cf, wmcf, &value[i]);

        } else {
            addr = ngx_array_push(wmcf->sentinels);
            if (addr == NULL) {
                return NGX_CONF_ERROR;
            }

            rv = ngx_ws_perf_redis_resolve(cf, p, p + value[i].len, 26379,
                                           addr, &value[i]);
        }

        if (rv != NGX_CONF_OK) {
            return rv;
        }
    }

    if (wmcf->sentinels->nelts == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "no sentinel address in \"%V\": give one or "
                           "more host:port after the master's name",
                           &cmd->name);
        return NGX_CONF_ERROR;
    }

    if ((wmcf->redis_user.len && wmcf->redis_password.len == 0)
        || (wmcf->sentinel_user.len && wmcf->sentinel_password.len == 0))
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "a user without a password in \"%V\": "
                           "\"user=\" needs \"password=\", and "
                           "\"sentinel_user=\" \"sentinel_password=\"",
                           &cmd->name);
        return NGX_CONF_ERROR;
    }

    p = ngx_pnalloc(cf->pool, sizeof("sentinel:") - 1 + name->len);
    if (p == NULL) {
        return NGX_CONF_ERROR;
    }

    wmcf->redis.data = p;
    wmcf->redis.len = ngx_sprintf(p, "sentinel:%V", name) - p;

    return NGX_CONF_OK;
}


/* one KEY=VALUE of ws_perf_redis_sentinel; a message shows no value */

static char *
ngx_ws_perf_redis_sentinel_option(ngx_conf_t *cf,
    ngx_ws_perf_main_conf_t *wmcf, ngx_str_t *opt)
{
    u_char     *eq;
    ngx_str_t   key, val, *dst;
    ngx_int_t   db;

    eq = ngx_strlchr(opt->data, opt->data + opt->len, '=');

    key.data = opt->data;
    key.len = eq - opt->data;
    val.data = eq + 1;
    val.len = opt->data + opt->len - val.data;

    if (key.len == 2 && ngx_strncmp(key.data, "db", 2) == 0) {
        db = ngx_atoi(val.data, val.len);

        if (db == NGX_ERROR) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid redis database number in \"%V\"",
                               opt);
            return NGX_CONF_ERROR;
        }

        wmcf->redis_db = db;
        return NGX_CONF_OK;
    }

    dst = NULL;

    if (key.len == 4 && ngx_strncmp(key.data, "user", 4) == 0) {
        dst = &wmcf->redis_user;

    } else if (key.len == 8 && ngx_strncmp(key.data, "password", 8) == 0) {
        dst = &wmcf->redis_password;

    } else if (key.len == 13
               && ngx_strncmp(key.data, "sentinel_user", 13) == 0)
    {
        dst = &wmcf->sentinel_user;

    } else if (key.len == 17
               && ngx_strncmp(key.data, "sentinel_password", 17) == 0)
    {
        dst = &wmcf->sentinel_password;
    }

    if (dst == NULL || val.len == 0 || dst->len) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid option \"%V=\" of "
                           "\"ws_perf_redis_sentinel\": %s", &key,
                           dst == NULL ? "use user=, password=, db=, "
                                         "sentinel_user= or "
                                         "sentinel_password="
                           : val.len ? "given twice" : "empty");
        return NGX_CONF_ERROR;
    }

    *dst = val;

    return NGX_CONF_OK;
}


/*
 * ws_perf_redis_cluster host:port... [user=U] [password=P] [shards=N]:
 * the seed nodes, resolved now (a worker never resolves a name); the
 * masters are learned from them
 */

static char *
ngx_ws_perf_redis_cluster(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_ws_perf_main_conf_t *wmcf = conf;

    u_char                    *p;
    char                      *rv;
    size_t                     len;
    ngx_url_t                  u;
    ngx_str_t                 *value;
    ngx_uint_t                 i;
    ngx_ws_perf_slots_node_t  *seed;

    if (wmcf->redis_cluster) {
        return "is duplicate";
    }

    if (wmcf->sentinels) {
        return "is mutually exclusive with \"ws_perf_redis_sentinel\"";
    }

    if (wmcf->redis.data) {
        return "is mutually exclusive with \"ws_perf_redis\"";
    }

    wmcf->redis_cluster = ngx_array_create(cf->pool, cf->args->nelts,
                                           sizeof(ngx_ws_perf_slots_node_t));
    if (wmcf->redis_cluster == NULL) {
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {
        if (ngx_strlchr(value[i].data, value[i].data + value[i].len, '=')) {
            rv = ngx_ws_perf_redis_cluster_option(cf, wmcf, &value[i]);
            if (rv != NGX_CONF_OK) {
                return rv;
            }

            continue;
        }

        ngx_memzero(&u, sizeof(ngx_url_t));

        u.url = value[i];
        u.default_port = 6379;

        if (ngx_parse_url(cf->pool, &u) != NGX_OK || u.naddrs == 0
            || u.family == AF_UNIX)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "%s in redis cluster node \"%V\"",
                               u.err ? u.err : "host not found", &value[i]);
            return NGX_CONF_ERROR;
        }

        seed = ngx_array_push(wmcf->redis_cluster);
        if (seed == NULL) {
            return NGX_CONF_ERROR;
        }

        len = ngx_sock_ntop(u.addrs[0].sockaddr, u.addrs[0].socklen,
                            (u_char *) seed->host,
                            NGX_WS_PERF_SLOTS_HOST_MAX, 0);
        seed->host[len] = '\0';
        seed->port = u.port ? u.port : 6379;
    }

    if (wmcf->redis_cluster->nelts == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"ws_perf_redis_cluster\" needs the address "
                           "of at least one node of the cluster");
        return NGX_CONF_ERROR;
    }

    if (wmcf->redis_shards == 0) {
        wmcf->redis_shards = 16;
    }

    seed = wmcf->redis_cluster->elts;

    p = ngx_pnalloc(cf->pool, sizeof("redis cluster []:65535")
                              + NGX_WS_PERF_SLOTS_HOST_MAX);
    if (p == NULL) {
        return NGX_CONF_ERROR;
    }

    wmcf->redis.data = p;
    wmcf->redis.len = ngx_sprintf(p, "redis cluster %s:%ui", seed->host,
                                  seed->port)
                      - p;

    return NGX_CONF_OK;
}


static char *
ngx_ws_perf_redis_cluster_option(ngx_conf_t *cf,
    ngx_ws_perf_main_conf_t *wmcf, ngx_str_t *opt)
{
    ngx_int_t  n;

    if (opt->len > 5 && ngx_strncmp(opt->data, "user=", 5) == 0) {
        wmcf->redis_user.data = opt->data + 5;
        wmcf->redis_user.len = opt->len - 5;
        return NGX_CONF_OK;
    }

    if (opt->len > 9 && ngx_strncmp(opt->data, "password=", 9) == 0) {
        wmcf->redis_password.data = opt->data + 9;
        wmcf->redis_password.len = opt->len - 9;
        return NGX_CONF_OK;
    }

    if (opt->len > 7 && ngx_strncmp(opt->data, "shards=", 7) == 0) {
        n = ngx_atoi(opt->data + 7, opt->len - 7);

        if (n < 1 || n > 1024) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid \"shards=\" of "
                               "\"ws_perf_redis_cluster\": 1 to 1024");
            return NGX_CONF_ERROR;
        }

        wmcf->redis_shards = (ngx_uint_t) n;
        return NGX_CONF_OK;
    }

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "unknown option \"%*s\" of \"ws_perf_redis_cluster\": "
                       "user=, password= or shards=",
                       ngx_strlchr(opt->data, opt->data + opt->len, '=')
                       - opt->data + 1, opt->data);

    return NGX_CONF_ERROR;
}


static char *
ngx_ws_perf_redis_prefix_set(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    u_char       ch;
    ngx_str_t   *value;
    ngx_uint_t   i;

    value = cf->args->elts;

    /* the Lua functions split keys at the prefix's only ':' */
    if (value[1].len < 2 || value[1].len > 64
        || value[1].data[value[1].len - 1] != ':')
    {
        return "must be 1 to 63 of A-Z a-z 0-9 _ . - and a final \":\"";
    }

    for (i = 0; i < value[1].len - 1; i++) {
        ch = value[1].data[i];

        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')
              || (ch >= '0' && ch <= '9') || ch == '_' || ch == '.'
              || ch == '-'))
        {
            return "must be 1 to 63 of A-Z a-z 0-9 _ . - and a final \":\"";
        }
    }

    return ngx_conf_set_str_slot(cf, cmd, conf);
}


static char *
ngx_ws_perf_redis_reconnect(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_ws_perf_main_conf_t *wmcf = conf;

    ngx_str_t  *value;

    if (wmcf->redis_reconnect_min != NGX_CONF_UNSET_MSEC) {
        return "is duplicate";
    }

    value = cf->args->elts;

    wmcf->redis_reconnect_min = ngx_parse_time(&value[1], 0);
    wmcf->redis_reconnect_max = ngx_parse_time(&value[2], 0);

    if (wmcf->redis_reconnect_min == (ngx_msec_t) NGX_ERROR
        || wmcf->redis_reconnect_max == (ngx_msec_t) NGX_ERROR
        || wmcf->redis_reconnect_min == 0
        || wmcf->redis_reconnect_max < wmcf->redis_reconnect_min)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid \"%V\": give the first and the longest "
                           "wait between attempts, e.g. \"100ms 1s\"",
                           &cmd->name);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* N timeout: every publish waits until N replicas have it (WAIT) */

static char *
ngx_ws_perf_redis_wait_replicas(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_ws_perf_main_conf_t *wmcf = conf;

    ngx_int_t   n;
    ngx_str_t  *value;

    if (wmcf->redis_wait_replicas != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;

    n = ngx_atoi(value[1].data, value[1].len);
    wmcf->redis_wait_timeout = ngx_parse_time(&value[2], 0);

    if (n == NGX_ERROR || n == 0
        || wmcf->redis_wait_timeout == (ngx_msec_t) NGX_ERROR
        || wmcf->redis_wait_timeout == 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid \"%V\": give how many replicas must "
                           "have each publish and how long to wait for "
                           "them, e.g. \"1 100ms\"", &cmd->name);
        return NGX_CONF_ERROR;
    }

    wmcf->redis_wait_replicas = n;

    return NGX_CONF_OK;
}


static void *
ngx_ws_perf_create_loc_conf(ngx_conf_t *cf)
{
    ngx_ws_perf_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_ws_perf_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     conf->mode = NGX_WS_PERF_MODE_NONE;
     *     conf->channels = NULL;
     */

    conf->max_message_size = NGX_CONF_UNSET_SIZE;
    conf->send_queue_size = NGX_CONF_UNSET_SIZE;
    conf->ping_interval = NGX_CONF_UNSET_MSEC;
    conf->idle_timeout = NGX_CONF_UNSET_MSEC;
    conf->close_timeout = NGX_CONF_UNSET_MSEC;
    conf->allowed_origins = NGX_CONF_UNSET_PTR;
    conf->subprotocols = NGX_CONF_UNSET_PTR;
    conf->user = NGX_CONF_UNSET_PTR;
    conf->allowed_channels = NGX_CONF_UNSET_PTR;
    conf->client_publish = NGX_CONF_UNSET;
    conf->client_critical = NGX_CONF_UNSET;
    conf->format = NGX_CONF_UNSET_UINT;
    conf->max_channels = NGX_CONF_UNSET_UINT;
    conf->max_batch = NGX_CONF_UNSET_UINT;
    conf->max_user_connections = NGX_CONF_UNSET_UINT;
    conf->client_rate = NGX_CONF_UNSET_UINT;
    conf->deflate = NGX_CONF_UNSET;
    conf->presence = NGX_CONF_UNSET;

    return conf;
}


static char *
ngx_ws_perf_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_ws_perf_loc_conf_t  *prev = parent;
    ngx_ws_perf_loc_conf_t  *conf = child;

    ngx_ws_perf_main_conf_t   *wmcf;
    ngx_http_core_loc_conf_t  *clcf;

    ngx_conf_merge_size_value(conf->max_message_size,
                              prev->max_message_size, 1024 * 1024);
    ngx_conf_merge_size_value(conf->send_queue_size,
                              prev->send_queue_size, 1024 * 1024);
    ngx_conf_merge_msec_value(conf->ping_interval,
                              prev->ping_interval, 30000);
    ngx_conf_merge_msec_value(conf->idle_timeout,
                              prev->idle_timeout, 90000);
    ngx_conf_merge_msec_value(conf->close_timeout,
                              prev->close_timeout, 5000);
    ngx_conf_merge_ptr_value(conf->allowed_origins,
                             prev->allowed_origins, NULL);
    ngx_conf_merge_ptr_value(conf->subprotocols, prev->subprotocols, NULL);
    ngx_conf_merge_ptr_value(conf->user, prev->user, NULL);
    ngx_conf_merge_ptr_value(conf->allowed_channels,
                             prev->allowed_channels, NULL);
    ngx_conf_merge_value(conf->client_publish, prev->client_publish, 0);
    ngx_conf_merge_value(conf->client_critical, prev->client_critical, 0);
    ngx_conf_merge_uint_value(conf->format, prev->format,
                              NGX_WS_PERF_FORMAT_JSON);
    ngx_conf_merge_uint_value(conf->max_channels, prev->max_channels, 64);
    ngx_conf_merge_uint_value(conf->max_batch, prev->max_batch, 1000);
    ngx_conf_merge_uint_value(conf->max_user_connections,
                              prev->max_user_connections, 16);
    ngx_conf_merge_uint_value(conf->client_rate, prev->client_rate, 100);
    ngx_conf_merge_value(conf->deflate, prev->deflate, 0);

    /* the endpoint may come after it in the location: checked here */
    if (conf->presence == 1
        && conf->mode != NGX_WS_PERF_MODE_PUBSUB
        && conf->mode != NGX_WS_PERF_MODE_SSE)
    {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"ws_perf_presence\" needs \"ws_perf\" or "
                      "\"ws_perf_sse\" in the same location in %V:%ui",
                      &conf->presence_file, conf->presence_line);
        return NGX_CONF_ERROR;
    }

    /* a nested location is present only when it says so */
    if (conf->presence == NGX_CONF_UNSET) {
        conf->presence = 0;
    }

    if (conf->mode == NGX_WS_PERF_MODE_PUBSUB
        || conf->mode == NGX_WS_PERF_MODE_SSE)
    {
        /* a message must fit every subscriber's queue: publishes check */
        wmcf = ngx_http_conf_get_module_main_conf(cf, ngx_ws_perf_module);
        wmcf->min_send_queue = ngx_min(wmcf->min_send_queue,
                                       conf->send_queue_size);
    }

    if (conf->mode == NGX_WS_PERF_MODE_PUBLISH) {
        clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

        /* publish bodies are parsed in memory, never from a temp file */
        if (clcf->client_body_buffer_size < conf->max_message_size) {
            clcf->client_body_buffer_size = conf->max_message_size;
        }
    }

    return NGX_CONF_OK;
}


static char *
ngx_ws_perf_endpoint(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_ws_perf_loc_conf_t *wlcf = conf;

    ngx_uint_t                 mode;
    ngx_ws_perf_main_conf_t   *wmcf;
    ngx_http_core_loc_conf_t  *clcf;

    if (cmd->name.len == sizeof("ws_perf_echo") - 1) {
        mode = NGX_WS_PERF_MODE_ECHO;

    } else if (ngx_strcmp(cmd->name.data, "ws_perf_sse") == 0) {
        mode = NGX_WS_PERF_MODE_SSE;

    } else if (cmd->name.len == sizeof("ws_perf_dlq") - 1) {
        mode = NGX_WS_PERF_MODE_DLQ;

    } else if (cmd->name.len == sizeof("ws_perf_publish") - 1) {
        mode = NGX_WS_PERF_MODE_PUBLISH;

    } else {
        mode = NGX_WS_PERF_MODE_PUBSUB;
    }

    if (wlcf->mode == mode) {
        return "is duplicate";
    }

    if (wlcf->mode != NGX_WS_PERF_MODE_NONE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "only one of \"ws_perf\", \"ws_perf_echo\", "
                           "\"ws_perf_sse\", \"ws_perf_publish\" and "
                           "\"ws_perf_dlq\" may be used in a location");
        return NGX_CONF_ERROR;
    }

    wlcf->mode = mode;

    wmcf = ngx_http_conf_get_module_main_conf(cf, ngx_ws_perf_module);

    if (mode == NGX_WS_PERF_MODE_DLQ && wmcf->store_line == 0) {
        wmcf->store_file = cf->conf_file->file.name;
        wmcf->store_line = cf->conf_file->line;
    }

    if ((mode == NGX_WS_PERF_MODE_PUBSUB || mode == NGX_WS_PERF_MODE_PUBLISH
         || mode == NGX_WS_PERF_MODE_SSE)
        && wmcf->pubsub_line == 0)
    {
        wmcf->pubsub_file = cf->conf_file->file.name;
        wmcf->pubsub_line = cf->conf_file->line;
    }

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_ws_perf_handler;

    return NGX_CONF_OK;
}


/* ws_perf_presence on|off; where it is set on, for the check at merge */

static char *
ngx_ws_perf_presence_conf(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_ws_perf_loc_conf_t *wlcf = conf;

    char  *rv;

    rv = ngx_conf_set_flag_slot(cf, cmd, conf);

    if (rv == NGX_CONF_OK) {
        wlcf->presence_file = cf->conf_file->file.name;
        wlcf->presence_line = cf->conf_file->line;
    }

    return rv;
}


static char *
ngx_ws_perf_origins(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_ws_perf_loc_conf_t *wlcf = conf;

    ngx_str_t   *value, *origin;
    ngx_uint_t   i;

    if (wlcf->allowed_origins != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    wlcf->allowed_origins = ngx_array_create(cf->pool, cf->args->nelts - 1,
                                             sizeof(ngx_str_t));
    if (wlcf->allowed_origins == NULL) {
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {

        if (value[i].len == 1 && value[i].data[0] == '*') {
            if (cf->args->nelts != 2) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "\"*\" allows any origin and must be "
                                   "the only value");
                return NGX_CONF_ERROR;
            }

        } else if (value[i].len == 0
                   || ngx_strlchr(value[i].data,
                                  value[i].data + value[i].len, ' ')
                   || (ngx_strncmp(value[i].data, "http://", 7) != 0
                       && ngx_strncmp(value[i].data, "https://", 8) != 0))
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid origin \"%V\", it must look like "
                               "\"https://example.com\"", &value[i]);
            return NGX_CONF_ERROR;
        }

        origin = ngx_array_push(wlcf->allowed_origins);
        if (origin == NULL) {
            return NGX_CONF_ERROR;
        }

        *origin = value[i];
    }

    return NGX_CONF_OK;
}


static char *
ngx_ws_perf_subprotocols(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_ws_perf_loc_conf_t *wlcf = conf;

    u_char      *p;
    ngx_str_t   *value, *proto;
    ngx_uint_t   i;

    if (wlcf->subprotocols != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    wlcf->subprotocols = ngx_array_create(cf->pool, cf->args->nelts - 1,
                                          sizeof(ngx_str_t));
    if (wlcf->subprotocols == NULL) {
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {

        /* a token as RFC 7230 defines it */
        for (p = value[i].data; p < value[i].data + value[i].len; p++) {
            if (*p <= ' ' || *p >= 0x7f
                || ngx_strchr("()<>@,;:\\\"/[]?={}", *p))
            {
                break;
            }
        }

        if (value[i].len == 0 || p != value[i].data + value[i].len) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid subprotocol \"%V\"", &value[i]);
            return NGX_CONF_ERROR;
        }

        proto = ngx_array_push(wlcf->subprotocols);
        if (proto == NULL) {
            return NGX_CONF_ERROR;
        }

        *proto = value[i];
    }

    return NGX_CONF_OK;
}


static char *
ngx_ws_perf_allowed_channels(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_ws_perf_loc_conf_t *wlcf = conf;

    ngx_str_t                         *value;
    ngx_uint_t                         i;
    ngx_http_complex_value_t          *cv;
    ngx_http_compile_complex_value_t   ccv;

    if (wlcf->allowed_channels != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    wlcf->allowed_channels = ngx_array_create(cf->pool, cf->args->nelts - 1,
                                              sizeof(ngx_http_complex_value_t));
    if (wlcf->allowed_channels == NULL) {
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {

        if (value[i].len == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "empty channel pattern");
            return NGX_CONF_ERROR;
        }

        cv = ngx_array_push(wlcf->allowed_channels);
        if (cv == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));

        ccv.cf = cf;
        ccv.value = &value[i];
        ccv.complex_value = cv;

        if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}


static char *
ngx_ws_perf_positive_num(ngx_conf_t *cf, void *post, void *data)
{
    ngx_int_t *np = data;

    if (*np <= 0) {
        return "must be greater than zero";
    }

    return NGX_CONF_OK;
}


/* a worker's key in Redis is refreshed every third of it, in 500 ms ticks */

static char *
ngx_ws_perf_worker_ttl(ngx_conf_t *cf, void *post, void *data)
{
    ngx_msec_t *mp = data;

    if (*mp < 2000) {
        return "must be at least 2s";
    }

    return NGX_CONF_OK;
}


static char *
ngx_ws_perf_positive_size(ngx_conf_t *cf, void *post, void *data)
{
    size_t *sp = data;

    if (*sp == 0) {
        return "must be greater than zero";
    }

    return NGX_CONF_OK;
}


/* ws_perf_ack_priorities critical high ...: user messages that need acks */

static char *
ngx_ws_perf_ack_priorities(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_ws_perf_main_conf_t *wmcf = conf;

    int          prio;
    ngx_str_t   *value;
    ngx_uint_t   i;

    if (wmcf->ack_priorities != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    wmcf->ack_priorities = 0;
    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {
        prio = ngx_ws_perf_msg_priority(value[i].data, value[i].len);

        if (prio < 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid priority \"%V\": use low, normal, "
                               "high or critical", &value[i]);
            return NGX_CONF_ERROR;
        }

        wmcf->ack_priorities |= (ngx_uint_t) 1 << prio;
    }

    return NGX_CONF_OK;
}


static char *
ngx_ws_perf_per_worker(ngx_conf_t *cf, void *post, void *data)
{
    ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                       "\"ws_perf_per_worker_delivery\" is deprecated and "
                       "ignored: without ws_perf_redis every worker "
                       "delivers every message through ws_perf_shm_zone");

    return NGX_CONF_OK;
}
