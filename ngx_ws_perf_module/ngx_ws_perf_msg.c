
/*
 * Copyright (C) ngx_ws_perf_module authors
 */


#include <string.h>
#include <stdio.h>
#include <stdlib.h>
#include "ngx_ws_perf_msg.h"


static size_t ngx_ws_perf_base64_size(size_t len);
static uint8_t *ngx_ws_perf_base64(uint8_t *dst, const uint8_t *p,
    size_t len);
static uint8_t *ngx_ws_perf_cpy(uint8_t *dst, const char *s);
static int ngx_ws_perf_msg_when(json_t *obj, ngx_ws_perf_msg_t *m,
    const char **err);
static int ngx_ws_perf_msg_json_target(json_t *obj, ngx_ws_perf_msg_t *m,
    const char **err);
static int ngx_ws_perf_msg_json_options(json_t *obj, ngx_ws_perf_msg_t *m,
    const char **err);
static int ngx_ws_perf_msg_json_data(json_t *obj, ngx_ws_perf_msg_t *m,
    char **dump, const char **err);
static const uint8_t *ngx_ws_perf_msg_read_flags(const uint8_t *p,
    const uint8_t *last, ngx_ws_perf_msg_t *m);


static const char  *ngx_ws_perf_priority_names[NGX_WS_PERF_PRIO_N] = {
    "critical", "high", "normal", "low"
};


static const char  ngx_ws_perf_hex[] = "0123456789abcdef";


int
ngx_ws_perf_msg_valid_name(const uint8_t *p, size_t len)
{
    size_t   i;
    uint8_t  ch;

    if (len == 0 || len > NGX_WS_PERF_NAME_MAX) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        ch = p[i];

        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')
            || (ch >= '0' && ch <= '9')
            || ch == '_' || ch == '.' || ch == ':' || ch == '@'
            || ch == '=' || ch == '+' || ch == '-')
        {
            continue;
        }

        return 0;
    }

    return 1;
}


int
ngx_ws_perf_msg_valid_id(const uint8_t *p, size_t len)
{
    size_t   i;
    uint8_t  ch;

    if (len == 0 || len > NGX_WS_PERF_ID_MAX) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        ch = p[i];

        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')
            || (ch >= '0' && ch <= '9')
            || ch == '_' || ch == '.' || ch == ':' || ch == '-')
        {
            continue;
        }

        return 0;
    }

    return 1;
}


int
ngx_ws_perf_msg_priority(const uint8_t *p, size_t len)
{
    int  i;

    for (i = 0; i < NGX_WS_PERF_PRIO_N; i++) {
        if (strlen(ngx_ws_perf_priority_names[i]) == len
            && memcmp(ngx_ws_perf_priority_names[i], p, len) == 0)
        {
            return i;
        }
    }

    return -1;
}


const char *
ngx_ws_perf_msg_priority_name(unsigned priority)
{
    return ngx_ws_perf_priority_names[priority & 3];
}


size_t
ngx_ws_perf_msg_wire_flags(const ngx_ws_perf_msg_t *m, char *buf)
{
    size_t  n;

    n = 0;

    if (m->json) {
        buf[n++] = 'j';

    } else if (m->binary) {
        buf[n++] = 'b';
    }

    if (m->ack) {
        buf[n++] = 'a';
    }

    if (m->lz4) {
        buf[n++] = 'z';
    }

    if (n == 0) {
        buf[n++] = '-';
    }

    return n;
}


int
ngx_ws_perf_msg_presence_wire(const uint8_t *p, size_t len, uint64_t *count,
    const uint8_t **user, size_t *user_len)
{
    int             kind;
    size_t          n;
    uint64_t        v;
    const uint8_t  *end;

    end = p + len;

    if (len > 8 && memcmp(p, "p1 join ", 8) == 0) {
        kind = 1;
        p += 8;

    } else if (len > 9 && memcmp(p, "p1 leave ", 9) == 0) {
        kind = 2;
        p += 9;

    } else {
        return 0;
    }

    v = 0;
    n = 0;

    while (p < end && *p >= '0' && *p <= '9' && n < 19) {
        v = v * 10 + (*p++ - '0');
        n++;
    }

    if (n == 0 || p == end || *p++ != '\n'
        || !ngx_ws_perf_msg_valid_name(p, end - p))
    {
        return 0;
    }

    *count = v;
    *user = p;
    *user_len = end - p;

    return kind;
}


int
ngx_ws_perf_msg_from_wire(const uint8_t *p, size_t len, ngx_ws_perf_msg_t *m)
{
    int             prio;
    int64_t         ts;
    const uint8_t  *last, *end, *id;

    last = p + len;

    if (len < 3 || memcmp(p, "v1 ", 3) != 0) {
        return -1;
    }

    p += 3;

    /* the id */
    for (id = p; p < last && *p != ' '; p++) { /* void */ }

    if (p == last || !ngx_ws_perf_msg_valid_id(id, p - id)) {
        return -1;
    }

    m->id = id;
    m->id_len = p - id;

    /* the priority */
    for (end = ++p; end < last && *end != ' '; end++) { /* void */ }

    prio = ngx_ws_perf_msg_priority(p, end - p);

    if (end == last || prio < 0) {
        return -1;
    }

    m->priority = prio;

    /* the time */
    ts = 0;

    for (p = end + 1; p < last && *p >= '0' && *p <= '9'; p++) {
        if (ts > (INT64_MAX - 9) / 10) {
            return -1;
        }

        ts = ts * 10 + (*p - '0');
    }

    if (p == last || *p != ' ' || p == end + 1) {
        return -1;
    }

    m->ts = ts;

    p = ngx_ws_perf_msg_read_flags(p + 1, last, m);

    if (p == NULL) {
        return -1;
    }

    p++;

    m->data = p;
    m->data_len = last - p;

    if (m->json) {
        if (m->data_len == 0) {
            return -1;
        }

        m->json = p;
        m->json_len = m->data_len;
    }

    return 0;
}


/*
 * The flags of a wire form, up to its newline: j(son), b(inary), a(ck),
 * z (lz4), or "-" for none.  The newline, or NULL.
 */

static const uint8_t *
ngx_ws_perf_msg_read_flags(const uint8_t *p, const uint8_t *last,
    ngx_ws_perf_msg_t *m)
{
    const uint8_t  *start;

    m->ack = 0;
    m->binary = 0;
    m->lz4 = 0;
    m->json = NULL;
    m->json_len = 0;

    for (start = p; p < last && *p != '\n'; p++) {
        switch (*p) {
        case 'j':
            m->json = (const uint8_t *) "";
            break;
        case 'b':
            m->binary = 1;
            break;
        case 'a':
            m->ack = 1;
            break;
        case 'z':
            m->lz4 = 1;
            break;
        case '-':
            break;
        default:
            return NULL;
        }
    }

    if (p == last || p == start || (m->json && m->binary)) {
        return NULL;
    }

    return p;
}


void
ngx_ws_perf_msg_ack_needed(ngx_ws_perf_msg_t *m, unsigned priorities)
{
    if (m->target == NGX_WS_PERF_TARGET_USER
        && (priorities & (1u << m->priority)))
    {
        m->ack = 1;
    }
}


size_t
ngx_ws_perf_msg_cut(const uint8_t *p, size_t len, size_t max)
{
    if (len <= max) {
        return len;
    }

    while (max && (p[max] & 0xc0) == 0x80) {
        max--;
    }

    return max;
}


int
ngx_ws_perf_msg_glob(const uint8_t *pat, size_t pat_len,
    const uint8_t *name, size_t name_len)
{
    size_t  p, n, star_p, star_n;
    int     star;

    p = 0;
    n = 0;
    star = 0;
    star_p = 0;
    star_n = 0;

    while (n < name_len) {
        if (p < pat_len && pat[p] == '*') {
            star = 1;
            star_p = ++p;
            star_n = n;
            continue;
        }

        if (p < pat_len && pat[p] == name[n]) {
            p++;
            n++;
            continue;
        }

        if (!star) {
            return 0;
        }

        /* let the last star take one more character */
        p = star_p;
        n = ++star_n;
    }

    while (p < pat_len && pat[p] == '*') {
        p++;
    }

    return p == pat_len;
}


int
ngx_ws_perf_msg_from_json(json_t *obj, ngx_ws_perf_msg_t *m, char **dump,
    const char **err)
{
    *dump = NULL;
    memset(m, 0, sizeof(ngx_ws_perf_msg_t));
    m->priority = NGX_WS_PERF_PRIO_NORMAL;

    if (!json_is_object(obj)) {
        *err = "a message must be a JSON object";
        return -1;
    }

    if (ngx_ws_perf_msg_json_target(obj, m, err) != 0
        || ngx_ws_perf_msg_json_options(obj, m, err) != 0
        || ngx_ws_perf_msg_when(obj, m, err) != 0)
    {
        return -1;
    }

    return ngx_ws_perf_msg_json_data(obj, m, dump, err);
}


/* exactly one of "channel" and "user", a valid name */

static int
ngx_ws_perf_msg_json_target(json_t *obj, ngx_ws_perf_msg_t *m,
    const char **err)
{
    json_t  *v, *channel, *user;

    channel = json_object_get(obj, "channel");
    user = json_object_get(obj, "user");

    if ((channel == NULL) == (user == NULL)) {
        *err = "a message needs exactly one of \"channel\" and \"user\"";
        return -1;
    }

    v = channel ? channel : user;
    m->target = channel ? NGX_WS_PERF_TARGET_CHANNEL : NGX_WS_PERF_TARGET_USER;

    if (!json_is_string(v)
        || !ngx_ws_perf_msg_valid_name((const uint8_t *) json_string_value(v),
                                       json_string_length(v)))
    {
        *err = "invalid channel or user name";
        return -1;
    }

    m->name = (const uint8_t *) json_string_value(v);
    m->name_len = json_string_length(v);

    return 0;
}


/* "priority", "id" and "ack", each optional */

static int
ngx_ws_perf_msg_json_options(json_t *obj, ngx_ws_perf_msg_t *m,
    const char **err)
{
    int          prio;
    json_t      *v;
    const char  *s;

    v = json_object_get(obj, "priority");

    if (v) {
        s = json_string_value(v);
        prio = s ? ngx_ws_perf_msg_priority((const uint8_t *) s,
                                            json_string_length(v))
                 : -1;

        if (prio < 0) {
            *err = "\"priority\" must be low, normal, high or critical";
            return -1;
        }

        m->priority = prio;
    }

    v = json_object_get(obj, "id");

    if (v) {
        if (!json_is_string(v)
            || !ngx_ws_perf_msg_valid_id((const uint8_t *) json_string_value(v),
                                         json_string_length(v)))
        {
            *err = "\"id\" must be 1-64 of [A-Za-z0-9_.:-]";
            return -1;
        }

        m->id = (const uint8_t *) json_string_value(v);
        m->id_len = json_string_length(v);
    }

    v = json_object_get(obj, "ack");

    if (v) {
        if (!json_is_boolean(v)) {
            *err = "\"ack\" must be true or false";
            return -1;
        }

        m->ack = json_is_true(v);
    }

    return 0;
}


/* "data": a string as it is, anything else as its compact JSON text */

static int
ngx_ws_perf_msg_json_data(json_t *obj, ngx_ws_perf_msg_t *m, char **dump,
    const char **err)
{
    json_t  *v;

    v = json_object_get(obj, "data");

    if (v == NULL) {
        *err = "a message needs \"data\"";
        return -1;
    }

    if (json_is_string(v)) {
        m->data = (const uint8_t *) json_string_value(v);
        m->data_len = json_string_length(v);
        return 0;
    }

    *dump = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (*dump == NULL) {
        *err = "out of memory";
        return -1;
    }

    m->json = (const uint8_t *) *dump;
    m->json_len = strlen(*dump);
    m->data = m->json;
    m->data_len = m->json_len;

    return 0;
}


#define NGX_WS_PERF_ENVELOPE_FIXED                                           \
    (sizeof("{\"type\":\"msg\",\"id\":\"\",\"channel\":\"\","               \
            "\"priority\":\"critical\",\"ts\":-9223372036854775808,"        \
            "\"ack\":false,\"encoding\":\"base64\",\"data\":\"\"}") - 1)


size_t
ngx_ws_perf_msg_envelope_size(const ngx_ws_perf_msg_t *m)
{
    size_t  len;

    len = NGX_WS_PERF_ENVELOPE_FIXED + m->id_len + m->name_len;

    if (m->json) {
        return len + m->json_len;
    }

    if (m->binary) {
        return len + ngx_ws_perf_base64_size(m->data_len);
    }

    return len + ngx_ws_perf_json_escape_size(m->data, m->data_len);
}


uint8_t *
ngx_ws_perf_msg_envelope(const ngx_ws_perf_msg_t *m, uint8_t *buf)
{
    uint8_t  *p;
    char      ts[24];

    p = ngx_ws_perf_cpy(buf, "{\"type\":\"msg\",\"id\":\"");
    memcpy(p, m->id, m->id_len);
    p += m->id_len;

    p = ngx_ws_perf_cpy(p, m->target == NGX_WS_PERF_TARGET_USER
                           ? "\",\"user\":\"" : "\",\"channel\":\"");
    memcpy(p, m->name, m->name_len);
    p += m->name_len;

    p = ngx_ws_perf_cpy(p, "\",\"priority\":\"");
    p = ngx_ws_perf_cpy(p, ngx_ws_perf_priority_names[m->priority]);

    snprintf(ts, sizeof(ts), "%lld", (long long) m->ts);
    p = ngx_ws_perf_cpy(p, "\",\"ts\":");
    p = ngx_ws_perf_cpy(p, ts);

    p = ngx_ws_perf_cpy(p, m->ack ? ",\"ack\":true," : ",\"ack\":false,");

    if (m->json) {
        p = ngx_ws_perf_cpy(p, "\"data\":");
        memcpy(p, m->json, m->json_len);
        p += m->json_len;

    } else if (m->binary) {
        p = ngx_ws_perf_cpy(p, "\"encoding\":\"base64\",\"data\":\"");
        p = ngx_ws_perf_base64(p, m->data, m->data_len);
        *p++ = '"';

    } else {
        p = ngx_ws_perf_cpy(p, "\"data\":\"");
        p = ngx_ws_perf_json_escape(p, m->data, m->data_len);
        *p++ = '"';
    }

    *p++ = '}';

    return p;
}


size_t
ngx_ws_perf_json_escape_size(const uint8_t *p, size_t len)
{
    size_t  i, n;

    n = len;

    for (i = 0; i < len; i++) {
        if (p[i] == '"' || p[i] == '\\' || p[i] == '\n' || p[i] == '\r'
            || p[i] == '\t')
        {
            n += 1;

        } else if (p[i] < 0x20) {
            n += 5;
        }
    }

    return n;
}


uint8_t *
ngx_ws_perf_json_escape(uint8_t *dst, const uint8_t *p, size_t len)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        switch (p[i]) {

        case '"':
        case '\\':
            *dst++ = '\\';
            *dst++ = p[i];
            break;

        case '\n':
            *dst++ = '\\';
            *dst++ = 'n';
            break;

        case '\r':
            *dst++ = '\\';
            *dst++ = 'r';
            break;

        case '\t':
            *dst++ = '\\';
            *dst++ = 't';
            break;

        default:
            if (p[i] < 0x20) {
                *dst++ = '\\';
                *dst++ = 'u';
                *dst++ = '0';
                *dst++ = '0';
                *dst++ = ngx_ws_perf_hex[p[i] >> 4];
                *dst++ = ngx_ws_perf_hex[p[i] & 0xf];

            } else {
                *dst++ = p[i];
            }
        }
    }

    return dst;
}


static size_t
ngx_ws_perf_base64_size(size_t len)
{
    return (len + 2) / 3 * 4;
}


static uint8_t *
ngx_ws_perf_base64(uint8_t *dst, const uint8_t *p, size_t len)
{
    static const char  b64[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

    while (len > 2) {
        *dst++ = b64[p[0] >> 2];
        *dst++ = b64[((p[0] & 3) << 4) | (p[1] >> 4)];
        *dst++ = b64[((p[1] & 0x0f) << 2) | (p[2] >> 6)];
        *dst++ = b64[p[2] & 0x3f];
        p += 3;
        len -= 3;
    }

    if (len) {
        *dst++ = b64[p[0] >> 2];

        if (len == 1) {
            *dst++ = b64[(p[0] & 3) << 4];
            *dst++ = '=';

        } else {
            *dst++ = b64[((p[0] & 3) << 4) | (p[1] >> 4)];
            *dst++ = b64[(p[1] & 0x0f) << 2];
        }

        *dst++ = '=';
    }

    return dst;
}


static uint8_t *
ngx_ws_perf_cpy(uint8_t *dst, const char *s)
{
    size_t  len;

    len = strlen(s);
    memcpy(dst, s, len);

    return dst + len;
}


/* "deliver_at" (Unix ms) or "delay" (ms): one of them, or neither */

static int
ngx_ws_perf_msg_when(json_t *obj, ngx_ws_perf_msg_t *m, const char **err)
{
    json_t  *at, *delay;

    at = json_object_get(obj, "deliver_at");
    delay = json_object_get(obj, "delay");

    m->deliver_at = 0;
    m->delay = 0;

    if (at && delay) {
        *err = "give \"deliver_at\" or \"delay\", not both";
        return -1;
    }

    if (at) {
        if (!json_is_integer(at) || json_integer_value(at) <= 0) {
            *err = "\"deliver_at\" must be a Unix time in milliseconds";
            return -1;
        }

        m->deliver_at = json_integer_value(at);
    }

    if (delay) {
        if (!json_is_integer(delay) || json_integer_value(delay) < 0
            || json_integer_value(delay) > 366LL * 86400 * 1000)
        {
            *err = "\"delay\" must be milliseconds, 0 to a year";
            return -1;
        }

        m->delay = json_integer_value(delay);
    }

    return 0;
}


/*
 * What the line ends in data add as they become "\ndata: ": 6 bytes for
 * a CR or an LF, 5 for a CRLF
 */

static size_t
ngx_ws_perf_msg_sse_breaks(const uint8_t *p, size_t len)
{
    size_t  i, n;

    n = 0;

    for (i = 0; i < len; i++) {
        if (p[i] == '\n') {
            n += 6;

        } else if (p[i] == '\r') {
            n += 6;

            if (i + 1 < len && p[i + 1] == '\n') {
                n--;
                i++;
            }
        }
    }

    return n;
}


size_t
ngx_ws_perf_msg_sse_size(size_t event_len, size_t id_len,
    const uint8_t *data, size_t len)
{
    size_t  size;

    size = sizeof("data: \n\n") - 1 + len
           + ngx_ws_perf_msg_sse_breaks(data, len);

    if (id_len) {
        size += sizeof("id: \n") - 1 + id_len;
    }

    if (event_len) {
        size += sizeof("event: \n") - 1 + event_len;
    }

    return size;
}


uint8_t *
ngx_ws_perf_msg_sse(uint8_t *buf, const uint8_t *event, size_t event_len,
    const uint8_t *id, size_t id_len, const uint8_t *data, size_t len)
{
    size_t    i;
    uint8_t  *p;

    p = buf;

    if (id_len) {
        p = (uint8_t *) memcpy(p, "id: ", 4) + 4;
        p = (uint8_t *) memcpy(p, id, id_len) + id_len;
        *p++ = '\n';
    }

    if (event_len) {
        p = (uint8_t *) memcpy(p, "event: ", 7) + 7;
        p = (uint8_t *) memcpy(p, event, event_len) + event_len;
        *p++ = '\n';
    }

    p = (uint8_t *) memcpy(p, "data: ", 6) + 6;

    for (i = 0; i < len; i++) {
        if (data[i] != '\r' && data[i] != '\n') {
            *p++ = data[i];
            continue;
        }

        if (data[i] == '\r' && i + 1 < len && data[i + 1] == '\n') {
            i++;
        }

        p = (uint8_t *) memcpy(p, "\ndata: ", 7) + 7;
    }

    *p++ = '\n';
    *p++ = '\n';

    return p;
}


const uint8_t *
ngx_ws_perf_msg_type(const uint8_t *p, size_t len, size_t *type_len)
{
    size_t  i;

    static const char  prefix[] = "{\"type\":\"";

    if (len < sizeof(prefix) - 1
        || memcmp(p, prefix, sizeof(prefix) - 1) != 0)
    {
        return NULL;
    }

    p += sizeof(prefix) - 1;
    len -= sizeof(prefix) - 1;

    for (i = 0; i < len && i <= 32; i++) {
        if (p[i] == '"') {
            break;
        }

        if ((p[i] < 'a' || p[i] > 'z') && p[i] != '_') {
            return NULL;
        }
    }

    if (i == 0 || i > 32 || i == len) {
        return NULL;
    }

    *type_len = i;

    return p;
}
