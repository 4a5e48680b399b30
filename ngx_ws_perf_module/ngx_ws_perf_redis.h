
/*
 * Copyright (C) ngx_ws_perf_module authors
 */


#ifndef _NGX_WS_PERF_REDIS_H_INCLUDED_
#define _NGX_WS_PERF_REDIS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include "ngx_ws_perf.h"
#include "ngx_ws_perf_msg.h"
#include "ngx_ws_perf_hub.h"
#include "ngx_ws_perf_engine.h"


/*
 * The Redis engine's parts: the links and the bus (ngx_ws_perf_redis.c),
 * the reliable store (ngx_ws_perf_store.c), its Lua functions
 * (ngx_ws_perf_lua.c).  Outside them only the module's directives use
 * it (ngx_ws_perf_redis_url_mask).
 */


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

void ngx_ws_perf_store_subscribed(ngx_ws_perf_topic_t *topic);

extern const char    ngx_ws_perf_lua_library[];
extern const size_t  ngx_ws_perf_lua_library_len;


#endif /* _NGX_WS_PERF_REDIS_H_INCLUDED_ */
