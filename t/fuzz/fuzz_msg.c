
/*
 * Copyright (C) ngx_ws_perf_module authors
 */


#include <stdlib.h>
#include <string.h>
#include "ngx_ws_perf_msg.h"


/*
 * Any published JSON either is rejected or yields an envelope that is
 * valid JSON whose "data" equals what was published.
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
