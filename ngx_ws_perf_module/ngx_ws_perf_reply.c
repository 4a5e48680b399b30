
/*
 * Copyright (C) ngx_ws_perf_module authors
 */


#include <string.h>
#include <arpa/inet.h>
#include "ngx_ws_perf_frame.h"
#include "ngx_ws_perf_lz4.h"
#include "ngx_ws_perf_reply.h"


static int ngx_ws_perf_reply_is(const redisReply *s, const char *text);
static int ngx_ws_perf_reply_strings(const redisReply *a);
static int ngx_ws_perf_reply_number(const redisReply *s);
static int ngx_ws_perf_reply_json_number(const redisReply *s);
static int ngx_ws_perf_reply_text(const redisReply *s);
static int ngx_ws_perf_reply_address(const char *host, size_t host_len,
    const char *port, size_t port_len, ngx_ws_perf_master_t *m);
static uint8_t *ngx_ws_perf_reply_cpy(uint8_t *p, const char *s);
static uint8_t *ngx_ws_perf_reply_str(uint8_t *p, const redisReply *s);


int
ngx_ws_perf_reply_push(const redisReply *r, ngx_ws_perf_push_t *push)
{
    const redisReply  *kind, *data;

    push->channel = NULL;
    push->channel_len = 0;
    push->data = NULL;
    push->sharded = 0;

    /* a PING on a subscribed link: {"pong", ""} */
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 2
        && r->element[0]->type == REDIS_REPLY_STRING
        && ngx_ws_perf_reply_is(r->element[0], "pong"))
    {
        push->kind = NGX_WS_PERF_PUSH_PONG;
        return 0;
    }

    if (r->type != REDIS_REPLY_ARRAY || r->elements != 3
        || r->element[0]->type != REDIS_REPLY_STRING
        || r->element[1]->type != REDIS_REPLY_STRING)
    {
        return -1;
    }

    kind = r->element[0];
    data = r->element[2];

    push->channel = (const uint8_t *) r->element[1]->str;
    push->channel_len = r->element[1]->len;

    /* sharded pub/sub (a Redis Cluster) says the same with an "s" first */
    push->sharded = ngx_ws_perf_reply_is(kind, "smessage")
                    || ngx_ws_perf_reply_is(kind, "ssubscribe")
                    || ngx_ws_perf_reply_is(kind, "sunsubscribe");

    if (ngx_ws_perf_reply_is(kind, "message")
        || ngx_ws_perf_reply_is(kind, "smessage"))
    {
        if (data->type != REDIS_REPLY_STRING) {
            return -1;
        }

        push->kind = NGX_WS_PERF_PUSH_MESSAGE;
        push->data = data;
        return 0;
    }

    if (data->type != REDIS_REPLY_INTEGER) {
        return -1;
    }

    if (ngx_ws_perf_reply_is(kind, "subscribe")
        || ngx_ws_perf_reply_is(kind, "ssubscribe"))
    {
        push->kind = NGX_WS_PERF_PUSH_SUBSCRIBE;
        return 0;
    }

    if (ngx_ws_perf_reply_is(kind, "unsubscribe")
        || ngx_ws_perf_reply_is(kind, "sunsubscribe"))
    {
        push->kind = NGX_WS_PERF_PUSH_UNSUBSCRIBE;
        return 0;
    }

    return -1;
}


unsigned
ngx_ws_perf_reply_target(const uint8_t *prefix, size_t prefix_len,
    const uint8_t *p, size_t len, const uint8_t **name, size_t *name_len)
{
    size_t  i;

    *name = NULL;
    *name_len = 0;

    if (len < prefix_len + 3 || memcmp(p, prefix, prefix_len) != 0) {
        return NGX_WS_PERF_REDIS_NONE;
    }

    p += prefix_len;
    len -= prefix_len;

    /* a shard's hash tag, "{<n>}", in a Redis Cluster */
    if (len && p[0] == '{') {
        for (i = 1; i < len && i <= 6 && p[i] >= '0' && p[i] <= '9'; i++) {
            /* void */
        }

        if (i == 1 || i == len || p[i] != '}' || len - i - 1 < 3) {
            return NGX_WS_PERF_REDIS_NONE;
        }

        p += i + 1;
        len -= i + 1;
    }

    if (len > 3 && memcmp(p, "ch:", 3) == 0) {
        *name = p + 3;
        *name_len = len - 3;
        return NGX_WS_PERF_TARGET_CHANNEL;
    }

    *name = p + 2;
    *name_len = len - 2;

    if (memcmp(p, "u:", 2) == 0) {
        return NGX_WS_PERF_TARGET_USER;
    }

    if (memcmp(p, "w:", 2) == 0) {
        return NGX_WS_PERF_REDIS_WORKER;
    }

    return NGX_WS_PERF_REDIS_NONE;
}


int
ngx_ws_perf_reply_published(const redisReply *r)
{
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2
        || r->element[0]->type != REDIS_REPLY_STRING
        || !ngx_ws_perf_msg_valid_id((const uint8_t *) r->element[0]->str,
                                     r->element[0]->len)
        || r->element[1]->type != REDIS_REPLY_INTEGER)
    {
        return -1;
    }

    return 0;
}


int
ngx_ws_perf_reply_counts(const redisReply *r, size_t n)
{
    size_t  i;

    if (r->type != REDIS_REPLY_ARRAY || r->elements != n) {
        return -1;
    }

    for (i = 0; i < n; i++) {
        if (r->element[i]->type != REDIS_REPLY_INTEGER
            || r->element[i]->integer < 0)
        {
            return -1;
        }
    }

    return 0;
}


/*
 * {gap, last id, more, id, wire, ...}: gap and more integers, the ids
 * numbers of up to 20 digits, every message a string
 */

int
ngx_ws_perf_reply_resume(const redisReply *r)
{
    size_t  i;

    if (r->type != REDIS_REPLY_ARRAY || r->elements < 3
        || (r->elements - 3) % 2
        || r->element[0]->type != REDIS_REPLY_INTEGER
        || r->element[2]->type != REDIS_REPLY_INTEGER
        || r->element[1]->type != REDIS_REPLY_STRING
        || !ngx_ws_perf_reply_number(r->element[1]))
    {
        return -1;
    }

    for (i = 3; i < r->elements; i += 2) {
        if (r->element[i]->type != REDIS_REPLY_STRING
            || !ngx_ws_perf_reply_number(r->element[i])
            || r->element[i + 1]->type != REDIS_REPLY_STRING)
        {
            return -1;
        }
    }

    return 0;
}


int
ngx_ws_perf_reply_dlq_list(const redisReply *r)
{
    size_t  i;

    if (r->type != REDIS_REPLY_ARRAY || r->elements < 2
        || r->element[0]->type != REDIS_REPLY_STRING
        || (r->element[0]->len
            && !ngx_ws_perf_reply_stream_id(r->element[0]))
        || ngx_ws_perf_reply_strings(r->element[1]) != 0)
    {
        return -1;
    }

    for (i = 2; i < r->elements; i++) {
        if (ngx_ws_perf_reply_dlq_entry(r->element[i]) != 0) {
            return -1;
        }
    }

    return 0;
}


int
ngx_ws_perf_reply_dlq_get(const redisReply *r)
{
    if (r->type != REDIS_REPLY_ARRAY || r->elements > 1
        || (r->elements == 1
            && ngx_ws_perf_reply_dlq_entry(r->element[0]) != 0))
    {
        return -1;
    }

    return 0;
}


int
ngx_ws_perf_reply_dlq_entry(const redisReply *e)
{
    if (e->type != REDIS_REPLY_ARRAY || e->elements != 2
        || e->element[0]->type != REDIS_REPLY_STRING
        || !ngx_ws_perf_reply_stream_id(e->element[0]))
    {
        return -1;
    }

    return ngx_ws_perf_reply_strings(e->element[1]);
}


size_t
ngx_ws_perf_reply_dlq_list_size(const redisReply *r)
{
    size_t             len, i;
    const redisReply  *counts;

    counts = r->element[1];

    len = sizeof("{\"next\":null,\"counts\":{},\"entries\":[]}")
          + r->element[0]->len + 2;

    for (i = 0; i < counts->elements; i += 2) {
        len += 6 * counts->element[i]->len + counts->element[i + 1]->len + 6;
    }

    for (i = 2; i < r->elements; i++) {
        len += ngx_ws_perf_reply_dlq_entry_size(r->element[i]) + 1;
    }

    return len;
}


uint8_t *
ngx_ws_perf_reply_dlq_list_json(uint8_t *p, const redisReply *r,
    ngx_ws_perf_dlq_message_pt message)
{
    size_t             i;
    uint8_t           *start;
    const redisReply  *next, *counts, *k, *v;

    next = r->element[0];
    counts = r->element[1];

    p = ngx_ws_perf_reply_cpy(p, "{\"next\":");

    if (next->len) {
        *p++ = '"';
        p = ngx_ws_perf_reply_str(p, next);
        *p++ = '"';

    } else {
        p = ngx_ws_perf_reply_cpy(p, "null");
    }

    p = ngx_ws_perf_reply_cpy(p, ",\"counts\":{");
    start = p;

    for (i = 0; i < counts->elements; i += 2) {
        k = counts->element[i];
        v = counts->element[i + 1];

        /* a reason that is not text or a count that is not a number */
        if (!ngx_ws_perf_reply_text(k)
            || !ngx_ws_perf_reply_json_number(v))
        {
            continue;
        }

        if (p != start) {
            *p++ = ',';
        }

        *p++ = '"';
        p = ngx_ws_perf_json_escape(p, (const uint8_t *) k->str, k->len);
        p = ngx_ws_perf_reply_cpy(p, "\":");
        p = ngx_ws_perf_reply_str(p, v);
    }

    p = ngx_ws_perf_reply_cpy(p, "},\"entries\":[");

    for (i = 2; i < r->elements; i++) {
        if (i > 2) {
            *p++ = ',';
        }

        p = ngx_ws_perf_reply_dlq_entry_json(p, r->element[i], message);
    }

    return ngx_ws_perf_reply_cpy(p, "]}");
}


size_t
ngx_ws_perf_reply_dlq_entry_size(const redisReply *e)
{
    size_t             len, i;
    const redisReply  *f, *v;

    len = sizeof("{\"dlq_id\":\"\"}") + e->element[0]->len;
    f = e->element[1];

    for (i = 0; i < f->elements; i += 2) {
        v = f->element[i + 1];

        /* escaped text is at most 6 times longer; base64 4/3 */
        len += f->element[i]->len + 512
               + 6 * ngx_ws_perf_reply_plain_size((const uint8_t *) v->str,
                                                  v->len);
    }

    return len;
}


uint8_t *
ngx_ws_perf_reply_dlq_entry_json(uint8_t *p, const redisReply *e,
    ngx_ws_perf_dlq_message_pt message)
{
    size_t             i;
    const redisReply  *f, *k, *v, *w, *target;

    p = ngx_ws_perf_reply_cpy(p, "{\"dlq_id\":\"");
    p = ngx_ws_perf_reply_str(p, e->element[0]);
    *p++ = '"';

    f = e->element[1];
    w = NULL;
    target = NULL;

    for (i = 0; i < f->elements; i += 2) {
        k = f->element[i];
        v = f->element[i + 1];

        if (ngx_ws_perf_reply_is(k, "w")) {
            w = v;
            continue;
        }

        if (ngx_ws_perf_reply_is(k, "target")) {
            if (ngx_ws_perf_reply_dlq_target(v, NULL) == 0) {
                target = v;
                p = ngx_ws_perf_reply_cpy(p, ",\"target\":\"");
                p = ngx_ws_perf_reply_str(p, v);
                *p++ = '"';
            }

            continue;
        }

        if (ngx_ws_perf_reply_is(k, "attempts")
            || ngx_ws_perf_reply_is(k, "first")
            || ngx_ws_perf_reply_is(k, "last"))
        {
            if (ngx_ws_perf_reply_json_number(v)) {
                p = ngx_ws_perf_reply_cpy(p, ",\"");
                p = ngx_ws_perf_reply_str(p, k);
                p = ngx_ws_perf_reply_cpy(p, "\":");
                p = ngx_ws_perf_reply_str(p, v);
            }

            continue;
        }

        if ((ngx_ws_perf_reply_is(k, "id")
             || ngx_ws_perf_reply_is(k, "reason"))
            && ngx_ws_perf_reply_text(v))
        {
            p = ngx_ws_perf_reply_cpy(p, ",\"");
            p = ngx_ws_perf_reply_str(p, k);
            p = ngx_ws_perf_reply_cpy(p, "\":\"");
            p = ngx_ws_perf_json_escape(p, (const uint8_t *) v->str, v->len);
            *p++ = '"';
        }
    }

    if (w && target) {
        p = message(p, w, target);
    }

    *p++ = '}';

    return p;
}


int
ngx_ws_perf_reply_dlq_target(const redisReply *s, ngx_ws_perf_msg_t *m)
{
    size_t    skip;
    unsigned  target;

    if (s->len > 2 && memcmp(s->str, "u:", 2) == 0) {
        target = NGX_WS_PERF_TARGET_USER;
        skip = 2;

    } else if (s->len > 3 && memcmp(s->str, "ch:", 3) == 0) {
        target = NGX_WS_PERF_TARGET_CHANNEL;
        skip = 3;

    } else {
        return -1;
    }

    if (!ngx_ws_perf_msg_valid_name((const uint8_t *) s->str + skip,
                                    s->len - skip))
    {
        return -1;
    }

    if (m) {
        m->target = target;
        m->name = (const uint8_t *) s->str + skip;
        m->name_len = s->len - skip;
    }

    return 0;
}


size_t
ngx_ws_perf_reply_plain_size(const uint8_t *wire, size_t len)
{
    size_t             size;
    ngx_ws_perf_msg_t  m;

    memset(&m, 0, sizeof(ngx_ws_perf_msg_t));

    if (ngx_ws_perf_msg_from_wire(wire, len, &m) != 0 || !m.lz4
        || ngx_ws_perf_lz4_size(m.data, m.data_len, NGX_WS_PERF_LZ4_MAX,
                                &size)
           != 0)
    {
        return len;
    }

    return len - m.data_len + size;
}


int
ngx_ws_perf_reply_master(const redisReply *r, ngx_ws_perf_master_t *m)
{
    if (r->type == REDIS_REPLY_NIL) {
        return NGX_WS_PERF_SENTINEL_UNKNOWN;
    }

    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2
        || r->element[0]->type != REDIS_REPLY_STRING
        || r->element[1]->type != REDIS_REPLY_STRING)
    {
        return -1;
    }

    return ngx_ws_perf_reply_address(r->element[0]->str, r->element[0]->len,
                                     r->element[1]->str, r->element[1]->len,
                                     m);
}


int
ngx_ws_perf_reply_switch(const redisReply *r, const uint8_t *name,
    size_t name_len, ngx_ws_perf_master_t *m)
{
    size_t       i, len, word[4];
    const char  *p, *end[4];

    if (r->type == REDIS_REPLY_ARRAY && r->elements == 2
        && r->element[0]->type == REDIS_REPLY_STRING
        && ngx_ws_perf_reply_is(r->element[0], "pong")
        && r->element[1]->type == REDIS_REPLY_STRING)
    {
        return NGX_WS_PERF_SENTINEL_PONG;
    }

    if (r->type != REDIS_REPLY_ARRAY || r->elements != 3
        || r->element[0]->type != REDIS_REPLY_STRING
        || !ngx_ws_perf_reply_is(r->element[0], "message")
        || r->element[1]->type != REDIS_REPLY_STRING
        || !ngx_ws_perf_reply_is(r->element[1], "+switch-master")
        || r->element[2]->type != REDIS_REPLY_STRING)
    {
        return -1;
    }

    /* the last four words are addresses, the name is what comes before */
    p = r->element[2]->str;
    len = r->element[2]->len;

    for (i = 0; i < 4; i++) {
        end[i] = p + len;

        while (len && p[len - 1] != ' ') {
            len--;
        }

        word[i] = (size_t) (end[i] - (p + len));

        if (len == 0 || word[i] == 0) {
            return -1;
        }

        len--;
    }

    if (len != name_len || memcmp(p, name, len) != 0) {
        return NGX_WS_PERF_SENTINEL_OTHER;
    }

    /* word 1 is the new address, word 0 its port */
    return ngx_ws_perf_reply_address(end[1] - word[1], word[1],
                                     end[0] - word[0], word[0], m);
}


int
ngx_ws_perf_reply_role(const redisReply *r)
{
    if (r->type != REDIS_REPLY_ARRAY || r->elements == 0
        || r->element[0]->type != REDIS_REPLY_STRING)
    {
        return -1;
    }

    return ngx_ws_perf_reply_is(r->element[0], "master") ? 0 : 1;
}


static int
ngx_ws_perf_reply_is(const redisReply *s, const char *text)
{
    return s->len == strlen(text) && memcmp(s->str, text, s->len) == 0;
}


/* an array of strings in pairs */

static int
ngx_ws_perf_reply_strings(const redisReply *a)
{
    size_t  i;

    if (a->type != REDIS_REPLY_ARRAY || a->elements % 2) {
        return -1;
    }

    for (i = 0; i < a->elements; i++) {
        if (a->element[i]->type != REDIS_REPLY_STRING) {
            return -1;
        }
    }

    return 0;
}


/* "<ms>-<n>" */

int
ngx_ws_perf_reply_stream_id(const redisReply *s)
{
    int     dash;
    size_t  i;

    if (s->len < 3 || s->len > 41) {
        return 0;
    }

    dash = 0;

    for (i = 0; i < s->len; i++) {
        if (s->str[i] == '-' && i > 0 && i + 1 < s->len && !dash) {
            dash = 1;
            continue;
        }

        if (s->str[i] < '0' || s->str[i] > '9') {
            return 0;
        }
    }

    return dash;
}


static int
ngx_ws_perf_reply_number(const redisReply *s)
{
    size_t  i;

    if (s->len == 0 || s->len > 20) {
        return 0;
    }

    for (i = 0; i < s->len; i++) {
        if (s->str[i] < '0' || s->str[i] > '9') {
            return 0;
        }
    }

    return 1;
}


/* a number written as it is into JSON: no leading zero, under 10^18 */

static int
ngx_ws_perf_reply_json_number(const redisReply *s)
{
    if (s->len > 18 || (s->len > 1 && s->str[0] == '0')) {
        return 0;
    }

    return ngx_ws_perf_reply_number(s);
}


static int
ngx_ws_perf_reply_text(const redisReply *s)
{
    uint32_t  state;

    state = 0;

    return ngx_ws_perf_utf8_validate(&state, (const uint8_t *) s->str, s->len)
           == NGX_WS_PERF_UTF8_OK;
}


static uint8_t *
ngx_ws_perf_reply_cpy(uint8_t *p, const char *s)
{
    size_t  len;

    len = strlen(s);
    memcpy(p, s, len);

    return p + len;
}


static uint8_t *
ngx_ws_perf_reply_str(uint8_t *p, const redisReply *s)
{
    memcpy(p, s->str, s->len);

    return p + s->len;
}


/*
 * A host and a port as a sentinel writes them: _ADDRESS for a numeric
 * IPv4 or IPv6 address, _HOST for a host name (both copied to m), -1 for
 * anything else, a port out of 1-65535 included.
 */

static int
ngx_ws_perf_reply_address(const char *host, size_t host_len,
    const char *port, size_t port_len, ngx_ws_perf_master_t *m)
{
    size_t         i;
    unsigned char  ch, addr[16];

    if (port_len == 0 || port_len > 5) {
        return -1;
    }

    m->port = 0;

    for (i = 0; i < port_len; i++) {
        if (port[i] < '0' || port[i] > '9') {
            return -1;
        }

        m->port = m->port * 10 + (port[i] - '0');
    }

    if (m->port == 0 || m->port > 65535
        || host_len == 0 || host_len > NGX_WS_PERF_HOST_MAX)
    {
        return -1;
    }

    for (i = 0; i < host_len; i++) {
        ch = host[i];

        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')
              || (ch >= '0' && ch <= '9') || ch == '.' || ch == '-'
              || ch == ':' || ch == '_'))
        {
            return -1;
        }
    }

    memcpy(m->host, host, host_len);
    m->host[host_len] = '\0';

    if (inet_pton(AF_INET, m->host, addr) == 1
        || inet_pton(AF_INET6, m->host, addr) == 1)
    {
        return NGX_WS_PERF_SENTINEL_ADDRESS;
    }

    return NGX_WS_PERF_SENTINEL_HOST;
}
