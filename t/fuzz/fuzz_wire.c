
/*
 * Copyright (C) ngx_ws_perf_module authors
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ngx_ws_perf_msg.h"


/*
 * Any bytes heard on a Redis channel either are rejected or yield a
 * message whose fields lie inside the input and whose id is valid, and
 * which, written back in the canonical form, reads as the same message;
 * or a presence event whose user is a valid name ending the input, never
 * both.
 */

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                kind;
    char               flags[NGX_WS_PERF_WIRE_FLAGS_MAX];
    size_t             n, user_len;
    uint64_t           count;
    uint8_t           *buf, *p;
    const uint8_t     *user;
    ngx_ws_perf_msg_t  m, m2;

    memset(&m, 0, sizeof(m));

    kind = ngx_ws_perf_msg_presence_wire(data, size, &count, &user,
                                         &user_len);

    if (kind != 0
        && (kind > 2 || user < data || user + user_len != data + size
            || !ngx_ws_perf_msg_valid_name(user, user_len)))
    {
        abort();
    }

    if (ngx_ws_perf_msg_from_wire(data, size, &m) != 0) {
        return 0;
    }

    if (kind != 0) {
        abort();
    }

    if (m.id < data || m.id + m.id_len > data + size
        || m.data < data || m.data + m.data_len != data + size
        || !ngx_ws_perf_msg_valid_id(m.id, m.id_len)
        || m.priority >= NGX_WS_PERF_PRIO_N
        || (m.json && (m.json != m.data || m.json_len != m.data_len
                       || m.binary || m.data_len == 0)))
    {
        abort();
    }

    /* written back in the canonical form, it reads as the same message */
    n = ngx_ws_perf_msg_wire_flags(&m, flags);

    if (n == 0 || n > NGX_WS_PERF_WIRE_FLAGS_MAX) {
        abort();
    }

    buf = malloc(m.id_len + m.data_len + n + 64);
    if (buf == NULL) {
        abort();
    }

    p = buf + sprintf((char *) buf, "v1 %.*s %s %lld %.*s\n", (int) m.id_len,
                      (const char *) m.id,
                      ngx_ws_perf_msg_priority_name(m.priority),
                      (long long) m.ts, (int) n, flags);
    memcpy(p, m.data, m.data_len);
    p += m.data_len;

    memset(&m2, 0, sizeof(m2));

    if (ngx_ws_perf_msg_from_wire(buf, p - buf, &m2) != 0
        || m2.id_len != m.id_len || memcmp(m2.id, m.id, m.id_len) != 0
        || m2.priority != m.priority || m2.ts != m.ts
        || m2.ack != m.ack || m2.binary != m.binary || m2.lz4 != m.lz4
        || (m2.json == NULL) != (m.json == NULL)
        || m2.data_len != m.data_len
        || memcmp(m2.data, m.data, m.data_len) != 0)
    {
        abort();
    }

    free(buf);

    return 0;
}
