
/*
 * Copyright (C) ngx_ws_perf_module authors
 */


#include <stdlib.h>
#include <string.h>
#include "ngx_ws_perf_msg.h"


/*
 * Any bytes as an event of the event stream: within the size said, each
 * line an "id", "event" or "data" field, and the data lines joined by LF
 * are the bytes with CRLF and CR made LF; the type found in them, if
 * any, is 1-32 of [a-z_] inside them.
 */

static void
sse_check(const uint8_t *data, size_t size)
{
    size_t          max, i, n, fields, type_len;
    uint8_t        *buf, *end, *want, *got, *p, *nl;
    const uint8_t  *type;

    max = ngx_ws_perf_msg_sse_size(5, 7, data, size);
    buf = malloc(max);
    want = malloc(size + 1);
    got = malloc(max);
    if (buf == NULL || want == NULL || got == NULL) {
        abort();
    }

    end = ngx_ws_perf_msg_sse(buf, (const uint8_t *) "event", 5,
                              (const uint8_t *) "1-0-123", 7, data, size);

    if ((size_t) (end - buf) > max || end - buf < 2
        || end[-1] != '\n' || end[-2] != '\n')
    {
        abort();
    }

    for (i = 0, n = 0; i < size; i++) {
        if (data[i] == '\r' && i + 1 < size && data[i + 1] == '\n') {
            continue;
        }
        want[n++] = (data[i] == '\r') ? '\n' : data[i];
    }

    /* the lines before the empty one that ends the event */
    for (p = buf, i = 0, fields = 0; p < end - 1; p = nl + 1) {
        nl = memchr(p, '\n', end - 1 - p);
        if (nl == NULL) {
            abort();
        }

        if (nl - p >= 6 && memcmp(p, "data: ", 6) == 0) {
            if (fields++) {
                got[i++] = '\n';
            }
            memcpy(got + i, p + 6, nl - p - 6);
            i += nl - p - 6;

        } else if (!(nl - p == 11 && memcmp(p, "id: 1-0-123", 11) == 0)
                   && !(nl - p == 12 && memcmp(p, "event: event", 12) == 0))
        {
            abort();
        }
    }

    if (i != n || memcmp(got, want, n) != 0) {
        abort();
    }

    type = ngx_ws_perf_msg_type(data, size, &type_len);
    if (type != NULL
        && (type_len == 0 || type_len > 32 || type < data
            || type + type_len > data + size))
    {
        abort();
    }

    free(got);
    free(want);
    free(buf);
}


/*
 * Any published JSON either is rejected or yields an envelope that is
 * valid JSON whose "data" equals what was published; and any bytes make
 * a well-formed event (sse_check).
 */

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char               *dump, *env;
    size_t              len;
    json_t             *root, *back, *d, *orig;
    uint8_t            *end;
    const char         *err;
    json_error_t        jerr;
    ngx_ws_perf_msg_t   m;

    sse_check(data, size);

    root = json_loadb((const char *) data, size, 0, &jerr);
    if (root == NULL) {
        return 0;
    }

    if (ngx_ws_perf_msg_from_json(root, &m, &dump, &err) != 0) {
        free(dump);
        json_decref(root);
        return 0;
    }

    if (m.id == NULL) {
        m.id = (const uint8_t *) "1-0-1";
        m.id_len = 5;
    }

    m.ts = (int64_t) size;

    len = ngx_ws_perf_msg_envelope_size(&m);
    env = malloc(len + 1);
    if (env == NULL) {
        abort();
    }

    end = ngx_ws_perf_msg_envelope(&m, (uint8_t *) env);

    if ((size_t) (end - (uint8_t *) env) > len) {
        abort();
    }

    back = json_loadb(env, end - (uint8_t *) env, 0, &jerr);
    if (back == NULL) {
        abort();
    }

    d = json_object_get(back, "data");
    orig = json_object_get(root, "data");

    if (d == NULL || orig == NULL || !json_equal(d, orig)) {
        abort();
    }

    json_decref(back);
    free(env);
    free(dump);
    json_decref(root);

    return 0;
}
