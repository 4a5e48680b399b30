
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


/* prefix + "{shard}" + "n:ch:" + name: the longest key of a target */
#define NGX_WS_PERF_REDIS_KEY_MAX   (64 + 8 + 8 + NGX_WS_PERF_NAME_MAX)

#define NGX_WS_PERF_REDIS_ARGS      16
#define NGX_WS_PERF_REDIS_ARGS_BUF  (2 * NGX_WS_PERF_REDIS_KEY_MAX       \
                                     + 8 * NGX_INT64_LEN)


/*
 * A command's arguments with their lengths, assembled in place (it must
 * not be copied): ngx_ws_perf_redis_fcall() starts an FCALL of one of the
 * Lua functions, ngx_ws_perf_redis_args() any other command.  redis_arg()
 * points to data that lives until the command is sent; redis_argf() and
 * redis_arg_key() write into buf.  What does not fit marks it failed, and
 * sending it fails (NGX_ERROR).
 */
typedef struct {
    int                         argc;
    ngx_uint_t                  failed;
    u_char                     *last;       /* the free part of buf */
    const char                 *argv[NGX_WS_PERF_REDIS_ARGS];
    size_t                      argvlen[NGX_WS_PERF_REDIS_ARGS];
    u_char                      buf[NGX_WS_PERF_REDIS_ARGS_BUF];
} ngx_ws_perf_redis_args_t;


#define ngx_ws_perf_redis_arg_lit(a, text)                                  \
    ngx_ws_perf_redis_arg(a, text, sizeof(text) - 1)


/* a SUBSCRIBE for the topic is in place (the store's waiting resumes) */
typedef void (*ngx_ws_perf_redis_topic_pt)(ngx_ws_perf_topic_t *topic);

/* reply is a redisReply, or NULL when the link went before it came */
typedef void (*ngx_ws_perf_redis_reply_pt)(void *data, void *reply);


ngx_int_t ngx_ws_perf_redis_init(ngx_cycle_t *cycle,
    ngx_ws_perf_main_conf_t *wmcf, ngx_ws_perf_redis_topic_pt subscribed);
void ngx_ws_perf_redis_exit(ngx_cycle_t *cycle);
ngx_int_t ngx_ws_perf_redis_publish(ngx_ws_perf_msg_t *m,
    ngx_ws_perf_publish_pt handler, void *data, ngx_uint_t tag);
ngx_int_t ngx_ws_perf_redis_info(ngx_uint_t target, ngx_str_t *name,
    ngx_ws_perf_info_pt handler, void *data);
ngx_int_t ngx_ws_perf_redis_admit(ngx_str_t *user, ngx_uint_t max,
    ngx_ws_perf_admit_pt handler, void *data);
void ngx_ws_perf_redis_leave(ngx_str_t *user);
ngx_int_t ngx_ws_perf_redis_presence(ngx_str_t *channel,
    ngx_ws_perf_presence_pt handler, void *data);
ngx_uint_t ngx_ws_perf_redis_enabled(void);
ngx_int_t ngx_ws_perf_redis_room(ngx_uint_t n);

void ngx_ws_perf_redis_args(ngx_ws_perf_redis_args_t *a,
    const char *command);
void ngx_ws_perf_redis_fcall(ngx_ws_perf_redis_args_t *a,
    const char *function, ngx_uint_t nkeys);
void ngx_ws_perf_redis_arg(ngx_ws_perf_redis_args_t *a, const void *data,
    size_t len);
void ngx_ws_perf_redis_argf(ngx_ws_perf_redis_args_t *a, const char *fmt,
    ...);
void ngx_ws_perf_redis_arg_key(ngx_ws_perf_redis_args_t *a,
    const char *kind, ngx_uint_t target, u_char *name, size_t len);
void ngx_ws_perf_redis_arg_msg(ngx_ws_perf_redis_args_t *a,
    ngx_ws_perf_msg_t *m);
ngx_int_t ngx_ws_perf_redis_call(ngx_ws_perf_redis_reply_pt handler,
    void *data, ngx_ws_perf_redis_args_t *a);
ngx_int_t ngx_ws_perf_redis_chore(ngx_ws_perf_redis_reply_pt handler,
    void *data, ngx_ws_perf_redis_args_t *a);

ngx_int_t ngx_ws_perf_redis_url_mask(ngx_pool_t *pool, ngx_str_t *url,
    ngx_str_t *masked);
void ngx_ws_perf_redis_bad_reply(const char *command);
ngx_uint_t ngx_ws_perf_redis_error_text(void *reply, ngx_str_t *text);
ngx_uint_t ngx_ws_perf_redis_drop(ngx_uint_t *n);
ngx_int_t ngx_ws_perf_redis_message(ngx_ws_perf_msg_t *m, u_char *wire,
    size_t len, u_char **plain, const char *where);
size_t ngx_ws_perf_redis_key(u_char *buf, const char *kind,
    ngx_uint_t target, u_char *name, size_t len);
ngx_uint_t ngx_ws_perf_redis_shards(void);
ngx_uint_t ngx_ws_perf_redis_shard(ngx_uint_t target, u_char *name,
    size_t len);
void ngx_ws_perf_redis_arg_shared(ngx_ws_perf_redis_args_t *a,
    const char *name, ngx_uint_t shard);

extern const char    ngx_ws_perf_lua_library[];
extern const size_t  ngx_ws_perf_lua_library_len;


#endif /* _NGX_WS_PERF_REDIS_H_INCLUDED_ */
