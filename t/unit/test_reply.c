
/*
 * Copyright (C) ngx_ws_perf_module authors
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "ngx_ws_perf_reply.h"
#include "check.h"
#include "resp.h"


#define PUSH_MESSAGE                                                         \
    "*3\r\n$7\r\nmessage\r\n$10\r\nws:ch:news\r\n$5\r\nhello\r\n"

#define DLQ_ENTRY                                                            \
    "*2\r\n$3\r\n7-0\r\n*10\r\n"                                             \
    "$6\r\ntarget\r\n$7\r\nu:alice\r\n"                                      \
    "$8\r\nattempts\r\n$1\r\n3\r\n"                                          \
    "$5\r\nfirst\r\n$3\r\n007\r\n"                                           \
    "$6\r\nreason\r\n$5\r\na\"b\nc\r\n"                                      \
    "$1\r\nw\r\n$18\r\nv1 7-0-1 low 5 -\nx\r\n"


static void test_sharded(void);
static unsigned target(const char *channel, const uint8_t **name,
    size_t *len);



static int
valid(int (*check)(const redisReply *r), const char *resp)
{
    int          rc;
    redisReply  *r;

    r = reply(resp);
    rc = check(r);
    freeReplyObject(r);

    return rc == 0;
}


static int
counts(const redisReply *r)
{
    return ngx_ws_perf_reply_counts(r, 2);
}


static void
test_push(void)
{
    size_t               len;
    unsigned             target;
    redisReply          *r;
    const uint8_t       *name;
    ngx_ws_perf_push_t   push;

    r = reply(PUSH_MESSAGE);
    CHECK(ngx_ws_perf_reply_push(r, &push) == 0);
    CHECK(push.kind == NGX_WS_PERF_PUSH_MESSAGE && push.data == r->element[2]
          && !push.sharded);

    target = ngx_ws_perf_reply_target((const uint8_t *) "ws:", 3,
                                      push.channel, push.channel_len,
                                      &name, &len);
    CHECK(target == NGX_WS_PERF_TARGET_CHANNEL && len == 4
          && memcmp(name, "news", 4) == 0);

    target = ngx_ws_perf_reply_target((const uint8_t *) "other:", 6,
                                      push.channel, push.channel_len,
                                      &name, &len);
    CHECK(target == NGX_WS_PERF_REDIS_NONE);
    freeReplyObject(r);

    CHECK(ngx_ws_perf_reply_target((const uint8_t *) "", 0,
                                   (const uint8_t *) "w:3", 3, &name, &len)
          == NGX_WS_PERF_REDIS_WORKER);
    CHECK(ngx_ws_perf_reply_target((const uint8_t *) "", 0,
                                   (const uint8_t *) "u:a", 3, &name, &len)
          == NGX_WS_PERF_TARGET_USER && len == 1);
    CHECK(ngx_ws_perf_reply_target((const uint8_t *) "", 0,
                                   (const uint8_t *) "x:a", 3, &name, &len)
          == NGX_WS_PERF_REDIS_NONE);

    r = reply("*3\r\n$9\r\nsubscribe\r\n$4\r\nch:a\r\n:1\r\n");
    CHECK(ngx_ws_perf_reply_push(r, &push) == 0
          && push.kind == NGX_WS_PERF_PUSH_SUBSCRIBE && !push.sharded);
    freeReplyObject(r);

    r = reply("*3\r\n$11\r\nunsubscribe\r\n$4\r\nch:a\r\n:0\r\n");
    CHECK(ngx_ws_perf_reply_push(r, &push) == 0
          && push.kind == NGX_WS_PERF_PUSH_UNSUBSCRIBE && !push.sharded);
    freeReplyObject(r);

    /* a message of a number, a subscription counted by a string */
    r = reply("*3\r\n$7\r\nmessage\r\n$4\r\nch:a\r\n:1\r\n");
    CHECK(ngx_ws_perf_reply_push(r, &push) == -1);
    freeReplyObject(r);

    r = reply("*3\r\n$9\r\nsubscribe\r\n$4\r\nch:a\r\n$1\r\n1\r\n");
    CHECK(ngx_ws_perf_reply_push(r, &push) == -1);
    freeReplyObject(r);

    r = reply("*3\r\n$8\r\npmessage\r\n$4\r\nch:a\r\n:1\r\n");
    CHECK(ngx_ws_perf_reply_push(r, &push) == -1);
    freeReplyObject(r);

    r = reply("*3\r\n:1\r\n$4\r\nch:a\r\n:1\r\n");
    CHECK(ngx_ws_perf_reply_push(r, &push) == -1);
    freeReplyObject(r);

    r = reply("+OK\r\n");
    CHECK(ngx_ws_perf_reply_push(r, &push) == -1);
    freeReplyObject(r);

    test_sharded();
}


/* a Redis Cluster: sharded pub/sub, a PING's pong, the shard's tag */

static void
test_sharded(void)
{
    size_t               len;
    redisReply          *r;
    const uint8_t       *name;
    ngx_ws_perf_push_t   push;

    r = reply("*3\r\n$8\r\nsmessage\r\n$14\r\nws:{12}ch:news\r\n"
              "$2\r\nhi\r\n");
    CHECK(ngx_ws_perf_reply_push(r, &push) == 0);
    CHECK(push.kind == NGX_WS_PERF_PUSH_MESSAGE && push.sharded
          && push.data == r->element[2]);
    CHECK(ngx_ws_perf_reply_target((const uint8_t *) "ws:", 3,
                                   push.channel, push.channel_len,
                                   &name, &len)
          == NGX_WS_PERF_TARGET_CHANNEL
          && len == 4 && memcmp(name, "news", 4) == 0);
    freeReplyObject(r);

    r = reply("*3\r\n$10\r\nssubscribe\r\n$4\r\nch:a\r\n:1\r\n");
    CHECK(ngx_ws_perf_reply_push(r, &push) == 0
          && push.kind == NGX_WS_PERF_PUSH_SUBSCRIBE && push.sharded);
    freeReplyObject(r);

    r = reply("*3\r\n$12\r\nsunsubscribe\r\n$4\r\nch:a\r\n:0\r\n");
    CHECK(ngx_ws_perf_reply_push(r, &push) == 0
          && push.kind == NGX_WS_PERF_PUSH_UNSUBSCRIBE && push.sharded);
    freeReplyObject(r);

    r = reply("*2\r\n$4\r\npong\r\n$0\r\n\r\n");
    CHECK(ngx_ws_perf_reply_push(r, &push) == 0
          && push.kind == NGX_WS_PERF_PUSH_PONG && !push.sharded);
    freeReplyObject(r);

    r = reply("*2\r\n$4\r\nping\r\n$0\r\n\r\n");
    CHECK(ngx_ws_perf_reply_push(r, &push) == -1);
    freeReplyObject(r);

    CHECK(target("ws:{0}u:ann", &name, &len) == NGX_WS_PERF_TARGET_USER
          && len == 3 && memcmp(name, "ann", 3) == 0);
    CHECK(target("ws:{123456}w:h:1", &name, &len)
          == NGX_WS_PERF_REDIS_WORKER);
    CHECK(target("ws:{1234567}ch:news", &name, &len)
          == NGX_WS_PERF_REDIS_NONE);
    CHECK(target("ws:{}ch:news", &name, &len) == NGX_WS_PERF_REDIS_NONE);
    CHECK(target("ws:{1ch:news", &name, &len) == NGX_WS_PERF_REDIS_NONE);
    CHECK(target("ws:{x}ch:news", &name, &len) == NGX_WS_PERF_REDIS_NONE);
    CHECK(target("ws:{1}", &name, &len) == NGX_WS_PERF_REDIS_NONE);
    CHECK(target("ws:{1}u:", &name, &len) == NGX_WS_PERF_REDIS_NONE);
}


static unsigned
target(const char *channel, const uint8_t **name, size_t *len)
{
    return ngx_ws_perf_reply_target((const uint8_t *) "ws:", 3,
                                    (const uint8_t *) channel,
                                    strlen(channel), name, len);
}


static void
test_shapes(void)
{
    CHECK(valid(ngx_ws_perf_reply_published, "*2\r\n$5\r\n1-0-1\r\n:2\r\n"));
    CHECK(!valid(ngx_ws_perf_reply_published, "*2\r\n$3\r\na b\r\n:2\r\n"));
    CHECK(!valid(ngx_ws_perf_reply_published, "*2\r\n$1\r\n1\r\n$1\r\n2\r\n"));
    CHECK(!valid(ngx_ws_perf_reply_published, "*1\r\n$1\r\n1\r\n"));

    CHECK(valid(counts, "*2\r\n:0\r\n:5\r\n"));
    CHECK(!valid(counts, "*2\r\n:0\r\n:-1\r\n"));
    CHECK(!valid(counts, "*3\r\n:0\r\n:1\r\n:2\r\n"));
    CHECK(!valid(counts, ":2\r\n"));

    CHECK(valid(ngx_ws_perf_reply_resume,
                "*3\r\n:0\r\n$2\r\n42\r\n:0\r\n"));
    CHECK(valid(ngx_ws_perf_reply_resume,
                "*5\r\n:1\r\n$1\r\n9\r\n:1\r\n$1\r\n8\r\n$3\r\nabc\r\n"));
    CHECK(!valid(ngx_ws_perf_reply_resume, "*2\r\n:0\r\n$2\r\n42\r\n"));
    CHECK(!valid(ngx_ws_perf_reply_resume,
                 "*4\r\n:0\r\n$1\r\n9\r\n:0\r\n$1\r\n8\r\n"));
    CHECK(!valid(ngx_ws_perf_reply_resume,
                 "*3\r\n:0\r\n$0\r\n\r\n:0\r\n"));
    CHECK(!valid(ngx_ws_perf_reply_resume,
                 "*3\r\n:0\r\n$2\r\n4a\r\n:0\r\n"));
    CHECK(!valid(ngx_ws_perf_reply_resume,
                 "*3\r\n:0\r\n$21\r\n123456789012345678901\r\n:0\r\n"));
    CHECK(!valid(ngx_ws_perf_reply_resume,
                 "*3\r\n:0\r\n:9\r\n:0\r\n"));
    CHECK(!valid(ngx_ws_perf_reply_resume,
                 "*5\r\n:0\r\n$1\r\n9\r\n:0\r\n:8\r\n$1\r\nx\r\n"));
    CHECK(!valid(ngx_ws_perf_reply_resume,
                 "*5\r\n:0\r\n$1\r\n9\r\n:0\r\n$1\r\n8\r\n:5\r\n"));
    CHECK(!valid(ngx_ws_perf_reply_resume,
                 "*3\r\n$1\r\n0\r\n$1\r\n1\r\n:0\r\n"));

    CHECK(valid(ngx_ws_perf_reply_dlq_entry, DLQ_ENTRY));
    CHECK(!valid(ngx_ws_perf_reply_dlq_entry,
                 "*2\r\n$3\r\n7-0\r\n*1\r\n$1\r\nw\r\n"));
    CHECK(!valid(ngx_ws_perf_reply_dlq_entry, "*2\r\n$3\r\n7-0\r\n:1\r\n"));
    CHECK(!valid(ngx_ws_perf_reply_dlq_entry, "*2\r\n$3\r\n-70\r\n*0\r\n"));
    CHECK(!valid(ngx_ws_perf_reply_dlq_entry, "*2\r\n$4\r\n7-0-\r\n*0\r\n"));
    CHECK(!valid(ngx_ws_perf_reply_dlq_entry, "*2\r\n$4\r\n7--0\r\n*0\r\n"));

    CHECK(valid(ngx_ws_perf_reply_dlq_get, "*0\r\n"));
    CHECK(valid(ngx_ws_perf_reply_dlq_get, "*1\r\n" DLQ_ENTRY));
    CHECK(!valid(ngx_ws_perf_reply_dlq_get, "*2\r\n" DLQ_ENTRY DLQ_ENTRY));
    CHECK(!valid(ngx_ws_perf_reply_dlq_get, "*1\r\n:1\r\n"));

    CHECK(valid(ngx_ws_perf_reply_dlq_list, "*2\r\n$0\r\n\r\n*0\r\n"));
    CHECK(valid(ngx_ws_perf_reply_dlq_list,
                "*3\r\n$3\r\n9-1\r\n*2\r\n$1\r\nr\r\n$1\r\n2\r\n" DLQ_ENTRY));
    CHECK(!valid(ngx_ws_perf_reply_dlq_list, "*2\r\n$1\r\nx\r\n*0\r\n"));
    CHECK(!valid(ngx_ws_perf_reply_dlq_list,
                 "*2\r\n$0\r\n\r\n*1\r\n$1\r\nr\r\n"));
    CHECK(!valid(ngx_ws_perf_reply_dlq_list,
                 "*3\r\n$0\r\n\r\n*0\r\n*2\r\n$3\r\n7-0\r\n:1\r\n"));
}


static uint8_t *
message(uint8_t *p, const redisReply *w, const redisReply *target)
{
    ngx_ws_perf_msg_t  m;

    memset(&m, 0, sizeof(ngx_ws_perf_msg_t));

    CHECK(ngx_ws_perf_reply_dlq_target(target, &m) == 0);
    CHECK(m.target == NGX_WS_PERF_TARGET_USER && m.name_len == 5);
    CHECK(w->len == 18);

    memcpy(p, ",\"message\":{}", 13);

    return p + 13;
}


static void
test_dlq_json(void)
{
    char          *s;
    size_t         size;
    json_t        *j, *e;
    uint8_t       *buf, *end;
    redisReply    *r;
    json_error_t   err;

    r = reply("*3\r\n$3\r\n9-1\r\n*6\r\n$7\r\nexpired\r\n$2\r\n12\r\n"
              "$3\r\nbad\r\n$2\r\n01\r\n$3\r\nneg\r\n$2\r\n-1\r\n"
              DLQ_ENTRY);
    CHECK(ngx_ws_perf_reply_dlq_list(r) == 0);

    size = ngx_ws_perf_reply_dlq_list_size(r);
    buf = malloc(size);
    end = ngx_ws_perf_reply_dlq_list_json(buf, r, message);
    CHECK((size_t) (end - buf) <= size);

    j = json_loadb((char *) buf, end - buf, 0, &err);
    CHECK(j != NULL);

    s = json_dumps(json_object_get(j, "counts"), JSON_COMPACT);
    CHECK(s && strcmp(s, "{\"expired\":12}") == 0);
    free(s);

    CHECK(strcmp(json_string_value(json_object_get(j, "next")), "9-1") == 0);

    /* "first" of 007 is no JSON number and is left out */
    e = json_array_get(json_object_get(j, "entries"), 0);
    s = json_dumps(e, JSON_COMPACT | JSON_SORT_KEYS);
    CHECK(s && strcmp(s, "{\"attempts\":3,\"dlq_id\":\"7-0\",\"message\":{},"
                         "\"reason\":\"a\\\"b\\nc\",\"target\":\"u:alice\"}")
               == 0);
    free(s);

    json_decref(j);
    free(buf);
    freeReplyObject(r);

    r = reply("*2\r\n$0\r\n\r\n*0\r\n");
    buf = malloc(ngx_ws_perf_reply_dlq_list_size(r));
    end = ngx_ws_perf_reply_dlq_list_json(buf, r, message);
    CHECK(end - buf == 38
          && memcmp(buf, "{\"next\":null,\"counts\":{},\"entries\":[]}", 38)
             == 0);
    free(buf);
    freeReplyObject(r);

    r = reply("*2\r\n$3\r\n1-0\r\n*4\r\n$6\r\ntarget\r\n$4\r\nu:a \r\n"
              "$1\r\nw\r\n$1\r\nx\r\n");
    buf = malloc(ngx_ws_perf_reply_dlq_entry_size(r));
    end = ngx_ws_perf_reply_dlq_entry_json(buf, r, message);
    CHECK(end - buf == 16 && memcmp(buf, "{\"dlq_id\":\"1-0\"}", 16) == 0);
    free(buf);
    freeReplyObject(r);
}


static void
test_plain_size(void)
{
    static const uint8_t  z[] = "v1 1-0-1 low 5 z\n\0\0\1\0\x1f" "a\1\0";

    CHECK(ngx_ws_perf_reply_plain_size((const uint8_t *) "v1 1-0-1 low 5 -\nab",
                                       19)
          == 19);
    CHECK(ngx_ws_perf_reply_plain_size((const uint8_t *) "junk", 4) == 4);
    CHECK(ngx_ws_perf_reply_plain_size(z, sizeof(z) - 1)
          == sizeof(z) - 1 - 8 + 256);
}


static int
master(const char *resp, ngx_ws_perf_master_t *m)
{
    int          rc;
    redisReply  *r;

    r = reply(resp);
    rc = ngx_ws_perf_reply_master(r, m);
    freeReplyObject(r);

    return rc;
}


static int
moved(const char *text, ngx_ws_perf_master_t *m)
{
    int          rc;
    char         resp[512];
    redisReply  *r;

    snprintf(resp, sizeof(resp),
             "*3\r\n$7\r\nmessage\r\n$14\r\n+switch-master\r\n"
             "$%zu\r\n%s\r\n", strlen(text), text);

    r = reply(resp);
    rc = ngx_ws_perf_reply_switch(r, (const uint8_t *) "mym", 3, m);
    freeReplyObject(r);

    return rc;
}


static int
role(const redisReply *r)
{
    return ngx_ws_perf_reply_role(r) == 0 ? 0 : -1;
}


static void
test_sentinel(void)
{
    redisReply            *r;
    ngx_ws_perf_master_t   m;

    CHECK(master("*2\r\n$9\r\n127.0.0.1\r\n$4\r\n6379\r\n", &m)
          == NGX_WS_PERF_SENTINEL_ADDRESS);
    CHECK(strcmp(m.host, "127.0.0.1") == 0 && m.port == 6379);
    CHECK(master("*2\r\n$3\r\n::1\r\n$5\r\n65535\r\n", &m)
          == NGX_WS_PERF_SENTINEL_ADDRESS);
    CHECK(strcmp(m.host, "::1") == 0 && m.port == 65535);
    CHECK(master("*-1\r\n", &m) == NGX_WS_PERF_SENTINEL_UNKNOWN);
    CHECK(master("*2\r\n$9\r\nredis-one\r\n$4\r\n6379\r\n", &m)
          == NGX_WS_PERF_SENTINEL_HOST);
    CHECK(strcmp(m.host, "redis-one") == 0);
    CHECK(master("*2\r\n$9\r\n127.0.0.1\r\n$5\r\n65536\r\n", &m)
          == -1);
    CHECK(master("*2\r\n$9\r\n127.0.0.1\r\n$1\r\n0\r\n", &m) == -1);
    CHECK(master("*2\r\n$9\r\n127.0.0.1\r\n$2\r\n-1\r\n", &m)
          == -1);
    CHECK(master("*2\r\n$9\r\n127.0.0.1\r\n$6\r\n123456\r\n", &m)
          == -1);
    CHECK(master("*2\r\n$9\r\n127.0.0.1\r\n:6379\r\n", &m) == -1);
    CHECK(master("*2\r\n$0\r\n\r\n$4\r\n6379\r\n", &m) == -1);
    CHECK(master("*2\r\n$3\r\na b\r\n$4\r\n6379\r\n", &m) == -1);
    CHECK(master("*2\r\n$3\r\na\nb\r\n$4\r\n6379\r\n", &m) == -1);
    CHECK(master("*3\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\n1\r\n", &m)
          == -1);
    CHECK(master("*1\r\n$9\r\n127.0.0.1\r\n", &m) == -1);
    CHECK(master("$9\r\n127.0.0.1\r\n", &m) == -1);
    CHECK(master("-ERR no\r\n", &m) == -1);

    CHECK(moved("mym 127.0.0.1 6379 127.0.0.2 6380", &m)
          == NGX_WS_PERF_SENTINEL_ADDRESS);
    CHECK(strcmp(m.host, "127.0.0.2") == 0 && m.port == 6380);
    CHECK(moved("other 127.0.0.1 6379 127.0.0.2 6380", &m)
          == NGX_WS_PERF_SENTINEL_OTHER);
    CHECK(moved("mymx 127.0.0.1 6379 127.0.0.2 6380", &m)
          == NGX_WS_PERF_SENTINEL_OTHER);
    CHECK(moved("mym 127.0.0.1 6379 db.local 6380", &m)
          == NGX_WS_PERF_SENTINEL_HOST);
    CHECK(moved("mym 127.0.0.1 6379 127.0.0.2 x", &m) == -1);
    CHECK(moved("mym 127.0.0.1 6379 127.0.0.2", &m) == -1);
    CHECK(moved("127.0.0.1 6379 127.0.0.2 6380", &m) == -1);
    CHECK(moved("mym 127.0.0.1  6379 127.0.0.2 6380", &m) == -1);
    CHECK(moved("", &m) == -1);

    r = reply("*2\r\n$4\r\npong\r\n$0\r\n\r\n");
    CHECK(ngx_ws_perf_reply_switch(r, (const uint8_t *) "mym", 3, &m)
          == NGX_WS_PERF_SENTINEL_PONG);
    freeReplyObject(r);

    r = reply("*3\r\n$7\r\nmessage\r\n$5\r\nother\r\n$1\r\nx\r\n");
    CHECK(ngx_ws_perf_reply_switch(r, (const uint8_t *) "mym", 3, &m) == -1);
    freeReplyObject(r);

    r = reply("*3\r\n$7\r\nmessage\r\n$14\r\n+switch-master\r\n:1\r\n");
    CHECK(ngx_ws_perf_reply_switch(r, (const uint8_t *) "mym", 3, &m) == -1);
    freeReplyObject(r);

    CHECK(valid(role, "*3\r\n$6\r\nmaster\r\n:0\r\n*0\r\n"));
    CHECK(!valid(role, "*5\r\n$5\r\nslave\r\n$9\r\n127.0.0.1\r\n"
                       ":6379\r\n$9\r\nconnected\r\n:0\r\n"));
    CHECK(!valid(role, "*0\r\n"));
    CHECK(!valid(role, "$6\r\nmaster\r\n"));
    r = reply("*1\r\n:1\r\n");
    CHECK(ngx_ws_perf_reply_role(r) == -1);
    freeReplyObject(r);
}


int
main(void)
{
    test_push();
    test_shapes();
    test_dlq_json();
    test_plain_size();
    test_sentinel();

    return check_report();
}
