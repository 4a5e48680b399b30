
/*
 * Copyright (C) ngx_ws_perf_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include "ngx_ws_perf.h"


static ngx_int_t ngx_ws_perf_handler(ngx_http_request_t *r);
static ngx_int_t ngx_ws_perf_init_module(ngx_cycle_t *cycle);
static ngx_int_t ngx_ws_perf_init_process(ngx_cycle_t *cycle);
static void ngx_ws_perf_exit_process(ngx_cycle_t *cycle);
static void *ngx_ws_perf_create_loc_conf(ngx_conf_t *cf);
static char *ngx_ws_perf_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_ws_perf_endpoint(ngx_conf_t *cf, ngx_command_t *cmd,
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


static ngx_conf_post_handler_pt  ngx_ws_perf_positive_size_p =
    ngx_ws_perf_positive_size;
static ngx_conf_post_handler_pt  ngx_ws_perf_positive_num_p =
    ngx_ws_perf_positive_num;


static ngx_conf_enum_t  ngx_ws_perf_formats[] = {
    { ngx_string("json"), NGX_WS_PERF_FORMAT_JSON },
    { ngx_string("raw"), NGX_WS_PERF_FORMAT_RAW },
    { ngx_null_string, 0 }
};


/* where the first pub/sub endpoint was configured, for warnings */
static ngx_str_t   ngx_ws_perf_pubsub_file;
static ngx_uint_t  ngx_ws_perf_pubsub_line;


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


static ngx_http_module_t  ngx_ws_perf_module_ctx = {
    NULL,                                  /* preconfiguration */
    NULL,                                  /* postconfiguration */

    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */

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
    ngx_ws_perf_init_module,               /* init module */
    ngx_ws_perf_init_process,              /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_ws_perf_exit_process,              /* exit process */
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

    return ngx_ws_perf_handshake(r, wlcf);
}


static ngx_int_t
ngx_ws_perf_init_module(ngx_cycle_t *cycle)
{
    ngx_core_conf_t  *ccf;

    ccf = (ngx_core_conf_t *) ngx_get_conf(cycle->conf_ctx, ngx_core_module);

    if (ngx_ws_perf_pubsub_line && ccf->worker_processes > 1) {
        ngx_log_error(NGX_LOG_WARN, cycle->log, 0,
                      "ws_perf: without ws_perf_redis each of the %i "
                      "worker processes delivers only to its own "
                      "subscribers (pub/sub endpoint in %V:%ui); use "
                      "\"worker_processes 1\" or configure Redis",
                      ccf->worker_processes, &ngx_ws_perf_pubsub_file,
                      ngx_ws_perf_pubsub_line);
    }

    return NGX_OK;
}


static ngx_int_t
ngx_ws_perf_init_process(ngx_cycle_t *cycle)
{
    return ngx_ws_perf_hub_init(cycle);
}


static void
ngx_ws_perf_exit_process(ngx_cycle_t *cycle)
{
    ngx_ws_perf_queue_cleanup();
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
    conf->format = NGX_CONF_UNSET_UINT;
    conf->max_channels = NGX_CONF_UNSET_UINT;
    conf->max_user_connections = NGX_CONF_UNSET_UINT;
    conf->client_rate = NGX_CONF_UNSET_UINT;

    return conf;
}


static char *
ngx_ws_perf_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_ws_perf_loc_conf_t  *prev = parent;
    ngx_ws_perf_loc_conf_t  *conf = child;

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
    ngx_conf_merge_uint_value(conf->format, prev->format,
                              NGX_WS_PERF_FORMAT_JSON);
    ngx_conf_merge_uint_value(conf->max_channels, prev->max_channels, 64);
    ngx_conf_merge_uint_value(conf->max_user_connections,
                              prev->max_user_connections, 16);
    ngx_conf_merge_uint_value(conf->client_rate, prev->client_rate, 100);

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
    ngx_http_core_loc_conf_t  *clcf;

    if (cmd->name.len == sizeof("ws_perf_echo") - 1) {
        mode = NGX_WS_PERF_MODE_ECHO;

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
                           "only one of \"ws_perf\", \"ws_perf_echo\" and "
                           "\"ws_perf_publish\" may be used in a location");
        return NGX_CONF_ERROR;
    }

    wlcf->mode = mode;

    if (mode != NGX_WS_PERF_MODE_ECHO && ngx_ws_perf_pubsub_line == 0) {
        ngx_ws_perf_pubsub_file = cf->conf_file->file.name;
        ngx_ws_perf_pubsub_line = cf->conf_file->line;
    }

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_ws_perf_handler;

    return NGX_CONF_OK;
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

        if (value[i].len == 0
            || ngx_strlchr(value[i].data, value[i].data + value[i].len, ' ')
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


static char *
ngx_ws_perf_positive_size(ngx_conf_t *cf, void *post, void *data)
{
    size_t *sp = data;

    if (*sp == 0) {
        return "must be greater than zero";
    }

    return NGX_CONF_OK;
}
