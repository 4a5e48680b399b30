
/*
 * Copyright (C) ngx_ws_perf_module authors
 */


#ifndef _NGX_WS_PERF_REPLY_H_INCLUDED_
#define _NGX_WS_PERF_REPLY_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>
#include <hiredis/hiredis.h>
#include "ngx_ws_perf_msg.h"


/*
 * Replies from Redis, checked for type and shape before anything reads
 * them: a reply of another shape is never dereferenced past what was
 * checked.  The checks return 0, or -1 for a reply of a wrong shape.
 */


#define NGX_WS_PERF_PUSH_MESSAGE      0
#define NGX_WS_PERF_PUSH_SUBSCRIBE    1
#define NGX_WS_PERF_PUSH_UNSUBSCRIBE  2
#define NGX_WS_PERF_PUSH_PONG         3

/* what a sentinel says: ngx_ws_perf_reply_master(), _reply_switch() */
#define NGX_WS_PERF_SENTINEL_ADDRESS  0     /* the master is at m */
#define NGX_WS_PERF_SENTINEL_UNKNOWN  1     /* it monitors no such master */
#define NGX_WS_PERF_SENTINEL_HOST     2     /* a host name in m, not an IP */
#define NGX_WS_PERF_SENTINEL_OTHER    3     /* another master moved */
#define NGX_WS_PERF_SENTINEL_PONG     4     /* the answer to a PING */

/* a host name's longest text (RFC 1035), which a numeric IP fits in */
#define NGX_WS_PERF_HOST_MAX          253

/* what a Redis channel is besides NGX_WS_PERF_TARGET_CHANNEL and _USER */
#define NGX_WS_PERF_REDIS_WORKER      2
#define NGX_WS_PERF_REDIS_NONE        3


/*
 * What the subscribe link hears: {kind, channel, count or data}, the
 * sharded kinds too ("smessage"...), or {"pong", ""}
 */
typedef struct {
    unsigned              kind;
    unsigned              sharded;
    const uint8_t        *channel;
    size_t                channel_len;
    const redisReply     *data;         /* the string of a message */
} ngx_ws_perf_push_t;


/* a master's address as a sentinel gives it */
typedef struct {
    char                  host[NGX_WS_PERF_HOST_MAX + 1];  /* NUL ends it */
    unsigned              port;
} ngx_ws_perf_master_t;


/*
 * Writes the ,"message":{envelope} of a dead letter's wire form w, sent
 * to target ("u:NAME" or "ch:NAME"), or nothing; the dead letters' JSON
 * leaves room for it as ngx_ws_perf_reply_dlq_entry_size() says.
 */
typedef uint8_t *(*ngx_ws_perf_dlq_message_pt)(uint8_t *p,
    const redisReply *w, const redisReply *target);


int ngx_ws_perf_reply_push(const redisReply *r, ngx_ws_perf_push_t *push);

/*
 * A channel under prefix, in a Redis Cluster with its shard's "{<n>}"
 * after it: a target with its name, _REDIS_WORKER or _NONE
 */
unsigned ngx_ws_perf_reply_target(const uint8_t *prefix, size_t prefix_len,
    const uint8_t *p, size_t len, const uint8_t **name, size_t *name_len);

/* FCALL ws_perf_publish: {id, count} */
int ngx_ws_perf_reply_published(const redisReply *r);

/* n integers, none negative: ws_perf_redeliver's, ws_perf_info's */
int ngx_ws_perf_reply_counts(const redisReply *r, size_t n);

/* FCALL ws_perf_resume: {gap, last id, more, id, wire form, ...} */
int ngx_ws_perf_reply_resume(const redisReply *r);

/*
 * FCALL ws_perf_dlq_list: {next stream id or "", {reason, count, ...},
 * entry...}; the XRANGE of one dead letter: {} or {entry}
 */
int ngx_ws_perf_reply_dlq_list(const redisReply *r);
int ngx_ws_perf_reply_dlq_get(const redisReply *r);

/* a dead letter: {stream id, {field, value, ...}}, all strings */
int ngx_ws_perf_reply_dlq_entry(const redisReply *e);

/*
 * The JSON of a checked list or entry, at most the size said, written to
 * p: {"next":ID|null,"counts":{REASON:N,...},"entries":[{...}]} and
 * {"dlq_id":..,"id":..,"target":"u:NAME","reason":..,"attempts":N,
 * "first":MS,"last":MS,"message":{...}}; a field that is not what the Lua
 * functions write is left out.
 */
size_t ngx_ws_perf_reply_dlq_list_size(const redisReply *r);
uint8_t *ngx_ws_perf_reply_dlq_list_json(uint8_t *p, const redisReply *r,
    ngx_ws_perf_dlq_message_pt message);
size_t ngx_ws_perf_reply_dlq_entry_size(const redisReply *e);
uint8_t *ngx_ws_perf_reply_dlq_entry_json(uint8_t *p, const redisReply *e,
    ngx_ws_perf_dlq_message_pt message);

/* "u:NAME" or "ch:NAME": 0, and m's target and name when m is given */
int ngx_ws_perf_reply_dlq_target(const redisReply *s, ngx_ws_perf_msg_t *m);

/*
 * SENTINEL get-master-addr-by-name: {ip, port} (_ADDRESS or _HOST, m
 * set), or nil (_UNKNOWN)
 */
int ngx_ws_perf_reply_master(const redisReply *r, ngx_ws_perf_master_t *m);

/*
 * What a sentinel's link hears once subscribed to +switch-master:
 * {"message", "+switch-master", "NAME oldip oldport newip newport"}
 * (_ADDRESS or _HOST for NAME, m set; _OTHER for another master) or
 * {"pong", ""} (_PONG)
 */
int ngx_ws_perf_reply_switch(const redisReply *r, const uint8_t *name,
    size_t name_len, ngx_ws_perf_master_t *m);

/* ROLE: {"master", ...} 0, another role 1 */
int ngx_ws_perf_reply_role(const redisReply *r);

/* a stream id, "<ms>-<n>" */
int ngx_ws_perf_reply_stream_id(const redisReply *s);

/* the length of a wire form with its 'z' data decompressed */
size_t ngx_ws_perf_reply_plain_size(const uint8_t *wire, size_t len);


#endif /* _NGX_WS_PERF_REPLY_H_INCLUDED_ */
