
/*
 * Copyright (C) ngx_ws_perf_module authors
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ngx_ws_perf_msg.h"
#include "check.h"


#define S(s)  (const uint8_t *) (s), sizeof(s) - 1


static void
test_names(void)
{
    char  big[NGX_WS_PERF_NAME_MAX + 2];

    CHECK(ngx_ws_perf_msg_valid_name(S("room.1")));
    CHECK(ngx_ws_perf_msg_valid_name(S("user:alice@example.com")));
    CHECK(ngx_ws_perf_msg_valid_name(S("a-b_c=d+e")));
    CHECK(!ngx_ws_perf_msg_valid_name(S("")));
    CHECK(!ngx_ws_perf_msg_valid_name(S("a b")));
    CHECK(!ngx_ws_perf_msg_valid_name(S("a/b")));
    CHECK(!ngx_ws_perf_msg_valid_name(S("caf\xc3\xa9")));
    CHECK(!ngx_ws_perf_msg_valid_name(S("a\"b")));

    memset(big, 'x', sizeof(big));
    CHECK(ngx_ws_perf_msg_valid_name((uint8_t *) big, NGX_WS_PERF_NAME_MAX));
    CHECK(!ngx_ws_perf_msg_valid_name((uint8_t *) big,
                                      NGX_WS_PERF_NAME_MAX + 1));

    CHECK(ngx_ws_perf_msg_valid_id(S("1795761701203-0-2")));
    CHECK(!ngx_ws_perf_msg_valid_id(S("a@b")));
    CHECK(!ngx_ws_perf_msg_valid_id(S("")));
}


static void
test_priorities(void)
{
    CHECK(ngx_ws_perf_msg_priority(S("critical")) == NGX_WS_PERF_PRIO_CRITICAL);
    CHECK(ngx_ws_perf_msg_priority(S("high")) == NGX_WS_PERF_PRIO_HIGH);
    CHECK(ngx_ws_perf_msg_priority(S("normal")) == NGX_WS_PERF_PRIO_NORMAL);
    CHECK(ngx_ws_perf_msg_priority(S("low")) == NGX_WS_PERF_PRIO_LOW);
    CHECK(ngx_ws_perf_msg_priority(S("HIGH")) == -1);
    CHECK(ngx_ws_perf_msg_priority(S("lo")) == -1);
    CHECK(strcmp(ngx_ws_perf_msg_priority_name(NGX_WS_PERF_PRIO_LOW), "low")
          == 0);
}


static void
test_glob(void)
{
    CHECK(ngx_ws_perf_msg_glob(S("room.*"), S("room.1")));
    CHECK(ngx_ws_perf_msg_glob(S("room.*"), S("room.")));
    CHECK(!ngx_ws_perf_msg_glob(S("room.*"), S("room")));
    CHECK(ngx_ws_perf_msg_glob(S("*"), S("anything")));
    CHECK(ngx_ws_perf_msg_glob(S("user.*.inbox"), S("user.alice.inbox")));
    CHECK(!ngx_ws_perf_msg_glob(S("user.*.inbox"), S("user.alice.outbox")));
    CHECK(ngx_ws_perf_msg_glob(S("a*b*c"), S("aXXbYYbZc")));
    CHECK(!ngx_ws_perf_msg_glob(S("a*b*c"), S("aXXbYY")));
    CHECK(ngx_ws_perf_msg_glob(S("exact"), S("exact")));
    CHECK(!ngx_ws_perf_msg_glob(S("exact"), S("exact2")));
    CHECK(!ngx_ws_perf_msg_glob(S(""), S("x")));
    CHECK(ngx_ws_perf_msg_glob(S("**"), S("")));
}


static int
parse(const char *text, ngx_ws_perf_msg_t *m, char **dump, const char **err,
    json_t **root)
{
    json_error_t  jerr;

    *root = json_loads(text, 0, &jerr);
    if (*root == NULL) {
        *err = "bad json";
        return -1;
    }

    return ngx_ws_perf_msg_from_json(*root, m, dump, err);
}


static void
test_from_json(void)
{
    char               *dump;
    json_t             *root;
    const char         *err;
    ngx_ws_perf_msg_t   m;

    CHECK(parse("{\"channel\":\"c1\",\"data\":\"hi\"}", &m, &dump, &err,
                &root) == 0);
    CHECK(m.target == NGX_WS_PERF_TARGET_CHANNEL);
    CHECK(m.name_len == 2 && memcmp(m.name, "c1", 2) == 0);
    CHECK(m.priority == NGX_WS_PERF_PRIO_NORMAL);
    CHECK(m.json == NULL && m.data_len == 2 && memcmp(m.data, "hi", 2) == 0);
    CHECK(m.id == NULL && m.ack == 0);
    free(dump);
    json_decref(root);

    CHECK(parse("{\"user\":\"u\",\"data\":{\"a\":[1,2]},\"priority\":\"low\","
                "\"id\":\"x-1\",\"ack\":true}", &m, &dump, &err, &root) == 0);
    CHECK(m.target == NGX_WS_PERF_TARGET_USER);
    CHECK(m.priority == NGX_WS_PERF_PRIO_LOW);
    CHECK(m.ack == 1);
    CHECK(m.id_len == 3 && memcmp(m.id, "x-1", 3) == 0);
    CHECK(m.json && strcmp((char *) m.json, "{\"a\":[1,2]}") == 0);
    free(dump);
    json_decref(root);

    CHECK(parse("{\"channel\":\"c\",\"data\":null}", &m, &dump, &err, &root)
          == 0);
    CHECK(m.json && strcmp((char *) m.json, "null") == 0);
    free(dump);
    json_decref(root);

    CHECK(parse("[1]", &m, &dump, &err, &root) == -1);
    json_decref(root);
    CHECK(parse("{\"data\":1}", &m, &dump, &err, &root) == -1);
    CHECK(strstr(err, "exactly one") != NULL);
    json_decref(root);
    CHECK(parse("{\"channel\":\"a\",\"user\":\"b\",\"data\":1}", &m, &dump,
                &err, &root) == -1);
    json_decref(root);
    CHECK(parse("{\"channel\":\"a b\",\"data\":1}", &m, &dump, &err, &root)
          == -1);
    json_decref(root);
    CHECK(parse("{\"channel\":7,\"data\":1}", &m, &dump, &err, &root) == -1);
    json_decref(root);
    CHECK(parse("{\"channel\":\"a\"}", &m, &dump, &err, &root) == -1);
    CHECK(strstr(err, "data") != NULL);
    json_decref(root);
    CHECK(parse("{\"channel\":\"a\",\"data\":1,\"priority\":\"urgent\"}", &m,
                &dump, &err, &root) == -1);
    CHECK(strstr(err, "priority") != NULL);
    json_decref(root);
    CHECK(parse("{\"channel\":\"a\",\"data\":1,\"priority\":3}", &m, &dump,
                &err, &root) == -1);
    json_decref(root);
    CHECK(parse("{\"channel\":\"a\",\"data\":1,\"id\":\"a b\"}", &m, &dump,
                &err, &root) == -1);
    json_decref(root);
    CHECK(parse("{\"channel\":\"a\",\"data\":1,\"ack\":1}", &m, &dump, &err,
                &root) == -1);
    json_decref(root);
}


static void
test_envelope(void)
{
    char                buf[512];
    size_t              size;
    uint8_t            *end;
    json_t             *j;
    json_error_t        jerr;
    ngx_ws_perf_msg_t   m;

    memset(&m, 0, sizeof(m));
    m.name = (const uint8_t *) "room.1";
    m.name_len = 6;
    m.id = (const uint8_t *) "1-0-1";
    m.id_len = 5;
    m.ts = 1795761701203LL;
    m.priority = NGX_WS_PERF_PRIO_HIGH;
    m.data = (const uint8_t *) "say \"hi\"\n\x01";
    m.data_len = 10;

    size = ngx_ws_perf_msg_envelope_size(&m);
    end = ngx_ws_perf_msg_envelope(&m, (uint8_t *) buf);
    CHECK((size_t) (end - (uint8_t *) buf) <= size);
    *end = '\0';

    CHECK(strcmp(buf, "{\"type\":\"msg\",\"id\":\"1-0-1\",\"channel\":"
                 "\"room.1\",\"priority\":\"high\",\"ts\":1795761701203,"
                 "\"ack\":false,\"data\":\"say \\\"hi\\\"\\n\\u0001\"}") == 0);

    j = json_loads(buf, 0, &jerr);
    CHECK(j != NULL);
    CHECK(j && strcmp(json_string_value(json_object_get(j, "data")),
                      "say \"hi\"\n\x01") == 0);
    json_decref(j);

    m.target = NGX_WS_PERF_TARGET_USER;
    m.ack = 1;
    m.json = (const uint8_t *) "[1,{\"a\":2}]";
    m.json_len = 11;
    end = ngx_ws_perf_msg_envelope(&m, (uint8_t *) buf);
    CHECK((size_t) (end - (uint8_t *) buf)
          <= ngx_ws_perf_msg_envelope_size(&m));
    *end = '\0';
    CHECK(strstr(buf, "\"user\":\"room.1\"") != NULL);
    CHECK(strstr(buf, "\"ack\":true,\"data\":[1,{\"a\":2}]}") != NULL);

    m.json = NULL;
    m.binary = 1;
    m.data = (const uint8_t *) "\xff\x00\x01\x02";
    m.data_len = 4;
    end = ngx_ws_perf_msg_envelope(&m, (uint8_t *) buf);
    CHECK((size_t) (end - (uint8_t *) buf)
          <= ngx_ws_perf_msg_envelope_size(&m));
    *end = '\0';
    CHECK(strstr(buf, "\"encoding\":\"base64\",\"data\":\"/wABAg==\"}")
          != NULL);

    m.data_len = 0;
    end = ngx_ws_perf_msg_envelope(&m, (uint8_t *) buf);
    *end = '\0';
    CHECK(strstr(buf, "\"data\":\"\"}") != NULL);
}


static int
wire(const char *s, ngx_ws_perf_msg_t *m)
{
    memset(m, 0, sizeof(ngx_ws_perf_msg_t));

    return ngx_ws_perf_msg_from_wire((const uint8_t *) s, strlen(s), m);
}


static void
test_wire(void)
{
    char               flags[NGX_WS_PERF_WIRE_FLAGS_MAX];
    size_t             n;
    ngx_ws_perf_msg_t  m;

    CHECK(wire("v1 42 high 1764230400123 -\nhello", &m) == 0);
    CHECK(m.id_len == 2 && memcmp(m.id, "42", 2) == 0);
    CHECK(m.priority == NGX_WS_PERF_PRIO_HIGH);
    CHECK(m.ts == 1764230400123LL);
    CHECK(m.json == NULL && !m.binary && !m.ack);
    CHECK(m.data_len == 5 && memcmp(m.data, "hello", 5) == 0);

    CHECK(wire("v1 a-1 low 0 ja\n{\"x\":[1,2]}", &m) == 0);
    CHECK(m.json == m.data && m.json_len == 11 && m.ack);
    CHECK(m.priority == NGX_WS_PERF_PRIO_LOW);

    CHECK(wire("v1 7 critical 5 b\n", &m) == 0);
    CHECK(m.binary && m.data_len == 0);

    /* data may hold spaces and newlines of its own */
    CHECK(wire("v1 7 normal 5 -\na b\nc", &m) == 0);
    CHECK(m.data_len == 5);

    /* 'z': the data is an lz4 block, of JSON text with 'j' */
    CHECK(wire("v1 7 normal 5 jz\nABCDE", &m) == 0);
    CHECK(m.lz4 && m.json == m.data && m.json_len == m.data_len);
    CHECK(wire("v1 7 normal 5 bza\nxyz", &m) == 0);
    CHECK(m.lz4 && m.binary && m.ack && m.json == NULL);
    CHECK(wire("v1 7 normal 5 z\nxyz", &m) == 0);
    CHECK(m.lz4 && !m.binary && m.json == NULL);
    CHECK(wire("v1 7 normal 5 -\nxyz", &m) == 0);
    CHECK(!m.lz4);
    CHECK(wire("v1 7 normal 5 jz\n", &m) == -1);
    CHECK(wire("v1 7 normal 5 jbz\nx", &m) == -1);

    CHECK(wire("", &m) == -1);
    CHECK(wire("v2 1 high 1 -\nx", &m) == -1);
    CHECK(wire("v1 1 urgent 1 -\nx", &m) == -1);
    CHECK(wire("v1 1 high x -\nx", &m) == -1);
    CHECK(wire("v1 1 high  -\nx", &m) == -1);
    CHECK(wire("v1 1 high 1 q\nx", &m) == -1);
    CHECK(wire("v1 1 high 1 \nx", &m) == -1);
    CHECK(wire("v1 1 high 1 jb\nx", &m) == -1);
    CHECK(wire("v1 1 high 1 j\n", &m) == -1);
    CHECK(wire("v1 1 high 1 -", &m) == -1);
    CHECK(wire("v1 a/b high 1 -\nx", &m) == -1);
    CHECK(wire("v1  high 1 -\nx", &m) == -1);
    CHECK(wire("v1 1 high 99999999999999999999 -\nx", &m) == -1);

    memset(&m, 0, sizeof(m));
    n = ngx_ws_perf_msg_wire_flags(&m, flags);
    CHECK(n == 1 && flags[0] == '-');

    m.json = (const uint8_t *) "1";
    m.ack = 1;
    n = ngx_ws_perf_msg_wire_flags(&m, flags);
    CHECK(n == 2 && memcmp(flags, "ja", 2) == 0);

    m.json = NULL;
    m.binary = 1;
    m.ack = 0;
    n = ngx_ws_perf_msg_wire_flags(&m, flags);
    CHECK(n == 1 && flags[0] == 'b');

    m.lz4 = 1;
    n = ngx_ws_perf_msg_wire_flags(&m, flags);
    CHECK(n == 2 && memcmp(flags, "bz", 2) == 0);

    m.binary = 0;
    m.json = (const uint8_t *) "1";
    m.ack = 1;
    n = ngx_ws_perf_msg_wire_flags(&m, flags);
    CHECK(n == 3 && n <= NGX_WS_PERF_WIRE_FLAGS_MAX
          && memcmp(flags, "jaz", 3) == 0);

    m.json = NULL;
    m.ack = 0;
    n = ngx_ws_perf_msg_wire_flags(&m, flags);
    CHECK(n == 1 && flags[0] == 'z');
}


static void
test_sse_one(const char *event, const char *id, const char *data,
    const char *want)
{
    char    buf[512];
    size_t  size, elen, ilen;
    char   *end;

    elen = event ? strlen(event) : 0;
    ilen = id ? strlen(id) : 0;

    size = ngx_ws_perf_msg_sse_size(elen, ilen, (const uint8_t *) data,
                                    strlen(data));
    end = (char *) ngx_ws_perf_msg_sse((uint8_t *) buf,
                                       (const uint8_t *) event, elen,
                                       (const uint8_t *) id, ilen,
                                       (const uint8_t *) data, strlen(data));

    CHECK(size == strlen(want));
    CHECK((size_t) (end - buf) == size);
    CHECK(size == strlen(want) && memcmp(buf, want, size) == 0);
}


static void
test_sse(void)
{
    size_t          n;
    const uint8_t  *t;

    test_sse_one(NULL, NULL, "{}", "data: {}\n\n");
    test_sse_one("high", "17", "{\"a\":1}",
                 "id: 17\nevent: high\ndata: {\"a\":1}\n\n");
    test_sse_one(NULL, "1", "a\nb\r\nc\rd",
                 "id: 1\ndata: a\ndata: b\ndata: c\ndata: d\n\n");
    test_sse_one("gap", NULL, "\n", "event: gap\ndata: \ndata: \n\n");
    test_sse_one(NULL, NULL, "", "data: \n\n");
    test_sse_one(NULL, NULL, "x\r", "data: x\ndata: \n\n");

    t = ngx_ws_perf_msg_type(S("{\"type\":\"gap\",\"user\":\"bob\"}"), &n);
    CHECK(t && n == 3 && memcmp(t, "gap", 3) == 0);
    t = ngx_ws_perf_msg_type(S("{\"type\":\"redis_x\"}"), &n);
    CHECK(t && n == 7);
    CHECK(ngx_ws_perf_msg_type(S("{\"type\":\"a\nb\"}"), &n) == NULL);
    CHECK(ngx_ws_perf_msg_type(S("{\"type\":\"\"}"), &n) == NULL);
    CHECK(ngx_ws_perf_msg_type(S("{\"type\":\"gap"), &n) == NULL);
    CHECK(ngx_ws_perf_msg_type(S("{\"kind\":\"gap\"}"), &n) == NULL);
    CHECK(ngx_ws_perf_msg_type(S("{\"type\":\"Gap\"}"), &n) == NULL);
}


static void
test_presence_wire(void)
{
    size_t          len;
    uint64_t        n;
    const uint8_t  *user;

    CHECK(ngx_ws_perf_msg_presence_wire(S("p1 join 2\nalice"), &n, &user,
                                        &len) == 1);
    CHECK(n == 2 && len == 5 && memcmp(user, "alice", 5) == 0);
    CHECK(ngx_ws_perf_msg_presence_wire(S("p1 leave 0\nbob"), &n, &user,
                                        &len) == 2);
    CHECK(n == 0 && len == 3);

    CHECK(ngx_ws_perf_msg_presence_wire(S("p1 join \nalice"), &n, &user,
                                        &len) == 0);
    CHECK(ngx_ws_perf_msg_presence_wire(S("p1 join 2alice"), &n, &user,
                                        &len) == 0);
    CHECK(ngx_ws_perf_msg_presence_wire(S("p1 join 2\n"), &n, &user,
                                        &len) == 0);
    CHECK(ngx_ws_perf_msg_presence_wire(S("p1 join 2\na b"), &n, &user,
                                        &len) == 0);
    CHECK(ngx_ws_perf_msg_presence_wire(S("p1 part 2\nalice"), &n, &user,
                                        &len) == 0);
    CHECK(ngx_ws_perf_msg_presence_wire(S("p1 join -2\nalice"), &n, &user,
                                        &len) == 0);
    CHECK(ngx_ws_perf_msg_presence_wire(
              S("p1 join 12345678901234567890\nalice"), &n, &user, &len)
          == 0);
    CHECK(ngx_ws_perf_msg_presence_wire(S("v1 1 normal 1 -\nx"), &n, &user,
                                        &len) == 0);
    CHECK(ngx_ws_perf_msg_presence_wire(S("p1 join"), &n, &user, &len)
          == 0);
}


int
main(void)
{
    test_names();
    test_priorities();
    test_glob();
    test_from_json();
    test_envelope();
    test_wire();
    test_sse();
    test_presence_wire();

    return check_report();
}
