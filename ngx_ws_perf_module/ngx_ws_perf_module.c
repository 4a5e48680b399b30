
/*
 * Copyright (C) ngx_ws_perf_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include "ngx_ws_perf.h"


static ngx_int_t ngx_ws_perf_handler(ngx_http_request_t *r);
static void *ngx_ws_perf_create_loc_conf(ngx_conf_t *cf);
static char *ngx_ws_perf_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_ws_perf_endpoint(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_ws_perf_origins(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_ws_perf_subprotocols(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_ws_perf_positive_size(ngx_conf_t *cf, void *post,
    void *data);


static ngx_conf_post_handler_pt  ngx_ws_perf_positive_size_p =
    ngx_ws_perf_positive_size;


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

    return ngx_ws_perf_handshake(r, wlcf);
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
     */

    conf->max_message_size = NGX_CONF_UNSET_SIZE;
    conf->send_queue_size = NGX_CONF_UNSET_SIZE;
    conf->ping_interval = NGX_CONF_UNSET_MSEC;
    conf->idle_timeout = NGX_CONF_UNSET_MSEC;
    conf->close_timeout = NGX_CONF_UNSET_MSEC;
    conf->allowed_origins = NGX_CONF_UNSET_PTR;
    conf->subprotocols = NGX_CONF_UNSET_PTR;

    return conf;
}


static char *
ngx_ws_perf_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_ws_perf_loc_conf_t  *prev = parent;
    ngx_ws_perf_loc_conf_t  *conf = child;

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

    return NGX_CONF_OK;
}


static char *
ngx_ws_perf_endpoint(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_ws_perf_loc_conf_t *wlcf = conf;

    ngx_uint_t                 mode;
    ngx_http_core_loc_conf_t  *clcf;

    mode = (cmd->name.len == sizeof("ws_perf_echo") - 1)
           ? NGX_WS_PERF_MODE_ECHO : NGX_WS_PERF_MODE_PUBSUB;

    if (wlcf->mode == mode) {
        return "is duplicate";
    }

    if (wlcf->mode != NGX_WS_PERF_MODE_NONE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"ws_perf\" and \"ws_perf_echo\" cannot be "
                           "used in the same location");
        return NGX_CONF_ERROR;
    }

    wlcf->mode = mode;

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
ngx_ws_perf_positive_size(ngx_conf_t *cf, void *post, void *data)
{
    size_t *sp = data;

    if (*sp == 0) {
        return "must be greater than zero";
    }

    return NGX_CONF_OK;
}
