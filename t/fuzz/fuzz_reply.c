
/*
 * Copyright (C) ngx_ws_perf_module authors
 */


/*
 * libFuzzer target of what Redis answers.  hiredis's reader turns the
 * input (after its first byte, which picks the key prefix) into replies,
 * as it does on the module's links, and every reply goes through each
 * check of ngx_ws_perf_reply.c.  A reply a check lets through is read
 * as its handler reads it; a dead-letter list or entry that passes is
 * written as JSON into a buffer of exactly the size computed for it and
 * must read back as JSON.
 */


#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <hiredis/hiredis.h>
#include "ngx_ws_perf_frame.h"
#include "ngx_ws_perf_lz4.h"
#include "ngx_ws_perf_reply.h"
#include "fuzz_resp.h"


#define FUZZ_CHECK(expr)                                                     \
    if (!(expr)) {                                                           \
        __builtin_trap();                                                    \
    }


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *__ubsan_default_options(void);

static void fuzz_reply(const redisReply *r, const char *prefix);
static void fuzz_push(const redisReply *r, const char *prefix);
static void fuzz_resume(const redisReply *r);
static void fuzz_number(const redisReply *s);
static void fuzz_sentinel(const redisReply *r);
static void fuzz_master(int rc, const ngx_ws_perf_master_t *m);
static void fuzz_dlq_list(const redisReply *r);
static void fuzz_dlq_entry(const redisReply *e);
static void fuzz_json(const uint8_t *buf, size_t len, int list);
static void fuzz_string(const redisReply *s);
static uint8_t *fuzz_message(uint8_t *p, const redisReply *w,
    const redisReply *target);


static const char  *fuzz_prefixes[4] = { "", "ws:", "ws_perf:", "ch:" };


const char *
__ubsan_default_options(void)
{
    return "halt_on_error=1:print_stacktrace=1";
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0 || fuzz_huge(data, size)) {
        return 0;
    }

    fuzz_replies(data + 1, size - 1, fuzz_reply, fuzz_prefixes[data[0] & 3]);

    return 0;
}


static void
fuzz_reply(const redisReply *r, const char *prefix)
{
    fuzz_push(r, prefix);

    if (ngx_ws_perf_reply_published(r) == 0) {
        FUZZ_CHECK(r->element[0]->type == REDIS_REPLY_STRING);
        FUZZ_CHECK(ngx_ws_perf_msg_valid_id(
                       (const uint8_t *) r->element[0]->str,
                       r->element[0]->len));
        FUZZ_CHECK(r->element[1]->type == REDIS_REPLY_INTEGER);
    }

    if (ngx_ws_perf_reply_counts(r, 2) == 0) {
        FUZZ_CHECK(r->element[0]->integer >= 0
                   && r->element[1]->integer >= 0);
    }

    if (ngx_ws_perf_reply_counts(r, 3) == 0) {
        FUZZ_CHECK(r->element[0]->type == REDIS_REPLY_INTEGER
                   && r->element[2]->type == REDIS_REPLY_INTEGER
                   && r->element[2]->integer >= 0);
    }

    fuzz_resume(r);
    fuzz_dlq_list(r);

    if (ngx_ws_perf_reply_dlq_get(r) == 0) {
        FUZZ_CHECK(r->type == REDIS_REPLY_ARRAY && r->elements <= 1);

        if (r->elements == 1) {
            fuzz_dlq_entry(r->element[0]);
        }
    }

    /* any array, as a dead letter of its own */
    if (ngx_ws_perf_reply_dlq_entry(r) == 0) {
        fuzz_dlq_entry(r);
    }

    fuzz_sentinel(r);
}


/* what a sentinel says: an address is a NUL-terminated host and a port */

static void
fuzz_sentinel(const redisReply *r)
{
    int                   rc;
    ngx_ws_perf_master_t  m;

    rc = ngx_ws_perf_reply_master(r, &m);
    FUZZ_CHECK(rc >= -1 && rc <= NGX_WS_PERF_SENTINEL_HOST);
    fuzz_master(rc, &m);

    rc = ngx_ws_perf_reply_switch(r, (const uint8_t *) "mym", 3, &m);
    FUZZ_CHECK(rc >= -1 && rc <= NGX_WS_PERF_SENTINEL_PONG
               && rc != NGX_WS_PERF_SENTINEL_UNKNOWN);
    fuzz_master(rc, &m);

    rc = ngx_ws_perf_reply_role(r);
    FUZZ_CHECK(rc >= -1 && rc <= 1);
}


static void
fuzz_master(int rc, const ngx_ws_perf_master_t *m)
{
    size_t  len;

    if (rc != NGX_WS_PERF_SENTINEL_ADDRESS
        && rc != NGX_WS_PERF_SENTINEL_HOST)
    {
        return;
    }

    len = strnlen(m->host, sizeof(m->host));

    FUZZ_CHECK(len > 0 && len < sizeof(m->host));
    FUZZ_CHECK(m->port > 0 && m->port <= 65535);
}


/* as ngx_ws_perf_redis_push() and the delivery read it */

static void
fuzz_push(const redisReply *r, const char *prefix)
{
    size_t               len;
    unsigned             target;
    const uint8_t       *name;
    ngx_ws_perf_msg_t    m;
    ngx_ws_perf_push_t   push;

    if (ngx_ws_perf_reply_push(r, &push) != 0) {
        return;
    }

    if (push.kind == NGX_WS_PERF_PUSH_PONG) {
        FUZZ_CHECK(r->elements == 2 && push.channel == NULL
                   && push.data == NULL && !push.sharded);
        return;
    }

    FUZZ_CHECK(push.kind <= NGX_WS_PERF_PUSH_UNSUBSCRIBE);
    /* of the six kinds taken, the sharded ones are those of even length */
    FUZZ_CHECK(push.sharded == (r->element[0]->len % 2 == 0));
    FUZZ_CHECK(push.channel == (const uint8_t *) r->element[1]->str
               && push.channel_len == r->element[1]->len);

    target = ngx_ws_perf_reply_target((const uint8_t *) prefix,
                                      strlen(prefix), push.channel,
                                      push.channel_len, &name, &len);

    FUZZ_CHECK(target <= NGX_WS_PERF_REDIS_NONE);

    if (target != NGX_WS_PERF_REDIS_NONE) {
        FUZZ_CHECK(name >= push.channel
                   && name + len == push.channel + push.channel_len);
        FUZZ_CHECK(memcmp(push.channel, prefix, strlen(prefix)) == 0);
    }

    if (push.kind != NGX_WS_PERF_PUSH_MESSAGE) {
        FUZZ_CHECK(push.data == NULL
                   && r->element[2]->type == REDIS_REPLY_INTEGER);
        return;
    }

    FUZZ_CHECK(push.data == r->element[2]
               && push.data->type == REDIS_REPLY_STRING);

    memset(&m, 0, sizeof(ngx_ws_perf_msg_t));

    if (ngx_ws_perf_msg_from_wire((const uint8_t *) push.data->str,
                                  push.data->len, &m)
        == 0)
    {
        FUZZ_CHECK(m.data + m.data_len
                   == (const uint8_t *) push.data->str + push.data->len);
    }

    if (target == NGX_WS_PERF_TARGET_CHANNEL
        || target == NGX_WS_PERF_TARGET_USER)
    {
        fuzz_string(push.data);
        (void) ngx_ws_perf_msg_valid_name(name, len);
    }
}


/* as ngx_ws_perf_store_resumed() reads it */

static void
fuzz_resume(const redisReply *r)
{
    size_t  i;

    if (ngx_ws_perf_reply_resume(r) != 0) {
        return;
    }

    FUZZ_CHECK(r->type == REDIS_REPLY_ARRAY && r->elements >= 3
               && (r->elements - 3) % 2 == 0);
    FUZZ_CHECK(r->element[0]->type == REDIS_REPLY_INTEGER
               && r->element[2]->type == REDIS_REPLY_INTEGER);

    fuzz_number(r->element[1]);

    for (i = 3; i < r->elements; i += 2) {
        fuzz_number(r->element[i]);
        FUZZ_CHECK(r->element[i + 1]->type == REDIS_REPLY_STRING);
        fuzz_string(r->element[i + 1]);
    }
}


/* an id the reply checks let through: 1 to 20 digits */

static void
fuzz_number(const redisReply *s)
{
    size_t  i;

    FUZZ_CHECK(s->type == REDIS_REPLY_STRING && s->len > 0 && s->len <= 20);

    for (i = 0; i < s->len; i++) {
        FUZZ_CHECK(s->str[i] >= '0' && s->str[i] <= '9');
    }
}


static void
fuzz_dlq_list(const redisReply *r)
{
    size_t    size;
    uint8_t  *buf, *end;

    if (ngx_ws_perf_reply_dlq_list(r) != 0) {
        return;
    }

    FUZZ_CHECK(r->type == REDIS_REPLY_ARRAY && r->elements >= 2);

    size = ngx_ws_perf_reply_dlq_list_size(r);

    buf = malloc(size);
    if (buf == NULL) {
        abort();
    }

    end = ngx_ws_perf_reply_dlq_list_json(buf, r, fuzz_message);

    FUZZ_CHECK(end > buf && (size_t) (end - buf) <= size);

    fuzz_json(buf, end - buf, (int) r->elements - 2);

    free(buf);
}


static void
fuzz_dlq_entry(const redisReply *e)
{
    size_t    size;
    uint8_t  *buf, *end;

    FUZZ_CHECK(e->type == REDIS_REPLY_ARRAY && e->elements == 2
               && e->element[1]->type == REDIS_REPLY_ARRAY
               && e->element[1]->elements % 2 == 0);

    size = ngx_ws_perf_reply_dlq_entry_size(e);

    buf = malloc(size);
    if (buf == NULL) {
        abort();
    }

    end = ngx_ws_perf_reply_dlq_entry_json(buf, e, fuzz_message);

    FUZZ_CHECK(end > buf && (size_t) (end - buf) <= size);

    fuzz_json(buf, end - buf, -1);

    free(buf);
}


/* a list's JSON has its entries; an entry's, its dead letter's id */

static void
fuzz_json(const uint8_t *buf, size_t len, int list)
{
    json_t        *root, *v;
    json_error_t   err;

    root = json_loadb((const char *) buf, len, JSON_ALLOW_NUL, &err);

    /* JSON, which jansson does not take: "\u0000" in a key */
    if (root == NULL && strstr(err.text, "NUL byte in object key")) {
        return;
    }

    FUZZ_CHECK(root != NULL && json_is_object(root));

    if (list >= 0) {
        v = json_object_get(root, "entries");
        FUZZ_CHECK(json_is_array(v) && json_array_size(v) == (size_t) list);
        FUZZ_CHECK(json_is_object(json_object_get(root, "counts")));

    } else {
        FUZZ_CHECK(json_is_string(json_object_get(root, "dlq_id")));
    }

    json_decref(root);
}


/* every byte of a string the module reads is there */

static void
fuzz_string(const redisReply *s)
{
    size_t    i;
    unsigned  sum;

    sum = 0;

    for (i = 0; i < s->len; i++) {
        sum += (uint8_t) s->str[i];
    }

    FUZZ_CHECK(sum <= 255 * s->len);
}


/*
 * The store's writer of a dead letter's message: the wire form made plain
 * (an lz4 block decompressed), dropped when flagged JSON but not UTF-8,
 * binary when a string is not UTF-8.  Data flagged JSON is written as it
 * is, as subscribers get it; only data that is JSON is written here, so
 * that the rest of the output can be checked as JSON.
 */

static uint8_t *
fuzz_message(uint8_t *p, const redisReply *w, const redisReply *target)
{
    size_t              size;
    json_t             *j;
    uint8_t            *plain;
    uint32_t            state;
    json_error_t        err;
    ngx_ws_perf_msg_t   m;

    memset(&m, 0, sizeof(ngx_ws_perf_msg_t));

    FUZZ_CHECK(ngx_ws_perf_reply_dlq_target(target, &m) == 0);
    FUZZ_CHECK(ngx_ws_perf_msg_valid_name(m.name, m.name_len));

    if (ngx_ws_perf_msg_from_wire((const uint8_t *) w->str, w->len, &m)
        != 0)
    {
        return p;
    }

    plain = NULL;

    if (m.lz4) {
        if (ngx_ws_perf_lz4_size(m.data, m.data_len, NGX_WS_PERF_LZ4_MAX,
                                 &size)
            != 0)
        {
            return p;
        }

        plain = malloc(size);
        if (plain == NULL) {
            abort();
        }

        if (ngx_ws_perf_lz4_decompress(m.data, m.data_len, plain, size)
            != 0)
        {
            free(plain);
            return p;
        }

        m.data = plain;
        m.data_len = size;
        m.lz4 = 0;

        if (m.json) {
            m.json = plain;
            m.json_len = size;
        }
    }

    state = 0;

    if (m.json == NULL) {
        if (!m.binary) {
            m.binary = (ngx_ws_perf_utf8_validate(&state, m.data, m.data_len)
                        != NGX_WS_PERF_UTF8_OK);
        }

    } else {
        j = json_loadb((const char *) m.json, m.json_len,
                       JSON_DECODE_ANY | JSON_ALLOW_NUL,
                       &err);

        if (j == NULL) {
            free(plain);
            return p;
        }

        json_decref(j);
    }

    memcpy(p, ",\"message\":", 11);
    p = ngx_ws_perf_msg_envelope(&m, p + 11);

    free(plain);

    return p;
}
