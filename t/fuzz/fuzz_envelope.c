
/*
 * Copyright (C) ngx_ws_perf_module authors
 */


/*
 * libFuzzer target of the publish API's body as subscribers get it.  The
 * first input byte picks the form of the body (bit 0: raw, the location's
 * channels given, or JSON, one message or an array of them), and for a
 * raw body the priority (bits 1-2), the target (bit 3), an ack (bit 4)
 * and the time (bits 5-7); the rest is the body.  Every message the body
 * yields is written as an envelope into a buffer of exactly the size
 * computed for it, and the envelope must be JSON that reads back as the
 * message: id, target, priority, time, ack and data.
 */


#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "ngx_ws_perf_frame.h"
#include "ngx_ws_perf_msg.h"


#define FUZZ_CHECK(expr)                                                     \
    if (!(expr)) {                                                           \
        __builtin_trap();                                                    \
    }


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *__ubsan_default_options(void);

static void fuzz_raw(unsigned mode, const uint8_t *body, size_t len);
static void fuzz_json(const uint8_t *body, size_t len);
static void fuzz_envelope(const ngx_ws_perf_msg_t *m, json_t *published);
static int fuzz_string_is(json_t *v, const uint8_t *p, size_t len);
static size_t fuzz_unbase64(const char *s, size_t len, uint8_t *out);


static const int64_t  fuzz_ts[8] = {
    0, 1, 1764720000000LL, 9, INT64_MAX, -1, INT64_MIN, 1000
};


const char *
__ubsan_default_options(void)
{
    return "halt_on_error=1:print_stacktrace=1";
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) {
        return 0;
    }

    if (data[0] & 1) {
        fuzz_raw(data[0], data + 1, size - 1);

    } else {
        fuzz_json(data + 1, size - 1);
    }

    return 0;
}


/* as ngx_ws_perf_publish_raw() builds it: binary unless valid UTF-8 */

static void
fuzz_raw(unsigned mode, const uint8_t *body, size_t len)
{
    uint8_t            *copy;
    uint32_t            state;
    ngx_ws_perf_msg_t   m;

    /* a buffer of its own so that a read past the body is caught */
    copy = malloc(len ? len : 1);
    if (copy == NULL) {
        abort();
    }

    memcpy(copy, body, len);

    memset(&m, 0, sizeof(ngx_ws_perf_msg_t));

    state = 0;
    m.binary = (ngx_ws_perf_utf8_validate(&state, copy, len)
                != NGX_WS_PERF_UTF8_OK);
    m.data = copy;
    m.data_len = len;
    m.priority = (mode >> 1) & 3;
    m.target = (mode >> 3) & 1;
    m.ack = (mode >> 4) & 1;
    m.ts = fuzz_ts[(mode >> 5) & 7];
    m.name = (const uint8_t *) "news.eu-1";
    m.name_len = 9;
    m.id = (const uint8_t *) "1764720000000-0-1";
    m.id_len = 17;

    fuzz_envelope(&m, NULL);

    free(copy);
}


/* as ngx_ws_perf_publish_json() reads it: an object or an array of them */

static void
fuzz_json(const uint8_t *body, size_t len)
{
    char               *dump;
    size_t              i, n;
    json_t             *root, *obj;
    const char         *err;
    json_error_t        jerr;
    ngx_ws_perf_msg_t   m;

    root = json_loadb((const char *) body, len, 0, &jerr);
    if (root == NULL) {
        return;
    }

    n = json_is_array(root) ? json_array_size(root) : 1;

    for (i = 0; i < n; i++) {
        obj = json_is_array(root) ? json_array_get(root, i) : root;

        err = NULL;

        if (ngx_ws_perf_msg_from_json(obj, &m, &dump, &err) != 0) {
            FUZZ_CHECK(err != NULL && err[0] != '\0');
            free(dump);
            continue;
        }

        FUZZ_CHECK(ngx_ws_perf_msg_valid_name(m.name, m.name_len));
        FUZZ_CHECK(m.id == NULL || ngx_ws_perf_msg_valid_id(m.id, m.id_len));
        FUZZ_CHECK(m.deliver_at >= 0 && m.delay >= 0);
        FUZZ_CHECK(!(m.deliver_at && m.delay));
        FUZZ_CHECK(m.data != NULL && !m.binary && !m.lz4);

        if (m.id == NULL) {
            m.id = (const uint8_t *) "1764720000000-1-42";
            m.id_len = 18;
        }

        m.ts = (int64_t) (i * 7919) - 3;

        fuzz_envelope(&m, obj);

        free(dump);
    }

    json_decref(root);
}


static void
fuzz_envelope(const ngx_ws_perf_msg_t *m, json_t *published)
{
    size_t         size, n;
    json_t        *env, *v;
    uint8_t       *buf, *end, *raw;
    json_error_t   jerr;

    size = ngx_ws_perf_msg_envelope_size(m);

    buf = malloc(size);
    if (buf == NULL) {
        abort();
    }

    end = ngx_ws_perf_msg_envelope(m, buf);

    FUZZ_CHECK(end > buf && (size_t) (end - buf) <= size);

    /* the size is of the longest time, priority, target, ack, encoding */
    FUZZ_CHECK(size - (end - buf) <= 19 + 5 + 3 + 1 + 20);

    env = json_loadb((const char *) buf, end - buf, JSON_ALLOW_NUL, &jerr);
    FUZZ_CHECK(env != NULL && json_is_object(env));

    v = json_object_get(env, "type");
    FUZZ_CHECK(fuzz_string_is(v, (const uint8_t *) "msg", 3));

    FUZZ_CHECK(fuzz_string_is(json_object_get(env, "id"), m->id, m->id_len));

    v = json_object_get(env, m->target == NGX_WS_PERF_TARGET_USER
                             ? "user" : "channel");
    FUZZ_CHECK(fuzz_string_is(v, m->name, m->name_len));

    v = json_object_get(env, "priority");
    FUZZ_CHECK(json_is_string(v)
               && ngx_ws_perf_msg_priority(
                      (const uint8_t *) json_string_value(v),
                      json_string_length(v))
                  == (int) m->priority);

    v = json_object_get(env, "ts");
    FUZZ_CHECK(json_is_integer(v) && json_integer_value(v) == m->ts);

    v = json_object_get(env, "ack");
    FUZZ_CHECK(json_is_boolean(v) && json_is_true(v) == m->ack);

    v = json_object_get(env, "data");
    FUZZ_CHECK(v != NULL);

    FUZZ_CHECK(json_object_size(env) == 7u + (m->binary && !m->json));

    if (m->json) {
        FUZZ_CHECK(published != NULL
                   && json_equal(v, json_object_get(published, "data")));

    } else if (m->binary) {
        FUZZ_CHECK(fuzz_string_is(json_object_get(env, "encoding"),
                                  (const uint8_t *) "base64", 6));
        FUZZ_CHECK(json_is_string(v)
                   && json_string_length(v) == (m->data_len + 2) / 3 * 4);

        raw = malloc(m->data_len + 3);
        if (raw == NULL) {
            abort();
        }

        n = fuzz_unbase64(json_string_value(v), json_string_length(v), raw);
        FUZZ_CHECK(n == m->data_len
                   && (n == 0 || memcmp(raw, m->data, n) == 0));

        free(raw);

    } else {
        FUZZ_CHECK(fuzz_string_is(v, m->data, m->data_len));
    }

    json_decref(env);
    free(buf);
}


static int
fuzz_string_is(json_t *v, const uint8_t *p, size_t len)
{
    return json_is_string(v) && json_string_length(v) == len
           && (len == 0 || memcmp(json_string_value(v), p, len) == 0);
}


static size_t
fuzz_unbase64(const char *s, size_t len, uint8_t *out)
{
    size_t    i, n, bits;
    uint32_t  acc;
    int       v;
    char      c;

    n = 0;
    acc = 0;
    bits = 0;

    for (i = 0; i < len; i++) {
        c = s[i];

        if (c == '=') {
            break;
        }

        if (c >= 'A' && c <= 'Z') {
            v = c - 'A';

        } else if (c >= 'a' && c <= 'z') {
            v = c - 'a' + 26;

        } else if (c >= '0' && c <= '9') {
            v = c - '0' + 52;

        } else if (c == '+') {
            v = 62;

        } else if (c == '/') {
            v = 63;

        } else {
            return (size_t) -1;
        }

        acc = (acc << 6) | (uint32_t) v;
        bits += 6;

        if (bits >= 8) {
            bits -= 8;
            out[n++] = (uint8_t) (acc >> bits);
        }
    }

    return n;
}
