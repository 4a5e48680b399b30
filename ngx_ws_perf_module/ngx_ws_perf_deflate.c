
/*
 * Copyright (C) ngx_ws_perf_module authors
 */


#include <limits.h>
#include <string.h>
#include "ngx_ws_perf_deflate.h"


#define NGX_WS_PERF_DEFLATE_VALUE_MAX   16

/* the parameters of an offer, one bit each, to find repeats */
#define NGX_WS_PERF_PMD_SERVER_NCT      0x01
#define NGX_WS_PERF_PMD_CLIENT_NCT      0x02
#define NGX_WS_PERF_PMD_SERVER_BITS     0x04
#define NGX_WS_PERF_PMD_CLIENT_BITS     0x08


typedef struct {
    const uint8_t        *p;
    const uint8_t        *last;
} ngx_ws_perf_scan_t;


/* one permessage-deflate offer as read */
typedef struct {
    unsigned              seen;
    unsigned              server_bits;  /* 0: not offered */
    unsigned              client_bits;  /* 0: not offered or no value */
    unsigned              bad:1;        /* declined */
} ngx_ws_perf_offer_t;


static void ngx_ws_perf_scan_ows(ngx_ws_perf_scan_t *s);
static size_t ngx_ws_perf_scan_token(ngx_ws_perf_scan_t *s,
    const uint8_t **start);
static int ngx_ws_perf_scan_value(ngx_ws_perf_scan_t *s, uint8_t *buf,
    size_t *len);
static int ngx_ws_perf_is_tchar(unsigned c);
static int ngx_ws_perf_token_is(const uint8_t *p, size_t len,
    const char *name);
static void ngx_ws_perf_offer_param(ngx_ws_perf_offer_t *o,
    const uint8_t *name, size_t name_len, const uint8_t *value,
    size_t value_len, int has_value);
static unsigned ngx_ws_perf_window_bits(const uint8_t *p, size_t len);
static int ngx_ws_perf_offer_accept(const ngx_ws_perf_offer_t *o,
    const ngx_ws_perf_deflate_conf_t *conf,
    ngx_ws_perf_deflate_params_t *params);


int
ngx_ws_perf_deflate_negotiate(const uint8_t *p, size_t len,
    const ngx_ws_perf_deflate_conf_t *conf,
    ngx_ws_perf_deflate_params_t *params)
{
    int                   pmd, has_value;
    size_t                n, pn, vn;
    uint8_t               value[NGX_WS_PERF_DEFLATE_VALUE_MAX];
    const uint8_t        *name, *pname;
    ngx_ws_perf_scan_t    s;
    ngx_ws_perf_offer_t   o;

    s.p = p;
    s.last = p + len;

    for ( ;; ) {
        /* the list may hold empty elements: ", ," */
        for ( ;; ) {
            ngx_ws_perf_scan_ows(&s);

            if (s.p == s.last) {
                return NGX_WS_PERF_DEFLATE_NONE;
            }

            if (*s.p != ',') {
                break;
            }

            s.p++;
        }

        n = ngx_ws_perf_scan_token(&s, &name);
        if (n == 0) {
            return NGX_WS_PERF_DEFLATE_SYNTAX;
        }

        pmd = ngx_ws_perf_token_is(name, n, "permessage-deflate");
        memset(&o, 0, sizeof(ngx_ws_perf_offer_t));

        ngx_ws_perf_scan_ows(&s);

        while (s.p < s.last && *s.p == ';') {
            s.p++;
            ngx_ws_perf_scan_ows(&s);

            pn = ngx_ws_perf_scan_token(&s, &pname);
            if (pn == 0) {
                return NGX_WS_PERF_DEFLATE_SYNTAX;
            }

            ngx_ws_perf_scan_ows(&s);

            has_value = 0;
            vn = 0;

            if (s.p < s.last && *s.p == '=') {
                s.p++;
                ngx_ws_perf_scan_ows(&s);

                if (ngx_ws_perf_scan_value(&s, value, &vn) != 0) {
                    return NGX_WS_PERF_DEFLATE_SYNTAX;
                }

                has_value = 1;
                ngx_ws_perf_scan_ows(&s);
            }

            if (pmd) {
                ngx_ws_perf_offer_param(&o, pname, pn, value, vn, has_value);
            }
        }

        if (s.p < s.last && *s.p != ',') {
            return NGX_WS_PERF_DEFLATE_SYNTAX;
        }

        if (pmd && !o.bad && ngx_ws_perf_offer_accept(&o, conf, params)) {
            return NGX_WS_PERF_DEFLATE_ACCEPTED;
        }
    }
}


size_t
ngx_ws_perf_deflate_answer(const ngx_ws_perf_deflate_params_t *params,
    uint8_t *buf)
{
    uint8_t  *p;

    static const char  base[] =
        "permessage-deflate; server_no_context_takeover";
    static const char  cnct[] = "; client_no_context_takeover";
    static const char  sbits[] = "; server_max_window_bits=";
    static const char  cbits[] = "; client_max_window_bits=";

    p = buf;

    memcpy(p, base, sizeof(base) - 1);
    p += sizeof(base) - 1;

    if (params->client_no_context) {
        memcpy(p, cnct, sizeof(cnct) - 1);
        p += sizeof(cnct) - 1;
    }

    if (params->server_window) {
        memcpy(p, sbits, sizeof(sbits) - 1);
        p += sizeof(sbits) - 1;

        if (params->server_window >= 10) {
            *p++ = '1';
        }

        *p++ = (uint8_t) ('0' + params->server_window % 10);
    }

    if (params->client_window) {
        memcpy(p, cbits, sizeof(cbits) - 1);
        p += sizeof(cbits) - 1;

        if (params->client_window >= 10) {
            *p++ = '1';
        }

        *p++ = (uint8_t) ('0' + params->client_window % 10);
    }

    return (size_t) (p - buf);
}


size_t
ngx_ws_perf_deflate_message(z_stream *zs, const uint8_t *in, size_t len,
    uint8_t *out, size_t out_size)
{
    size_t  n;

    if (len == 0 || len > UINT_MAX || out_size > UINT_MAX) {
        return 0;
    }

    if (deflateReset(zs) != Z_OK) {
        return 0;
    }

    zs->next_in = (Bytef *) in;
    zs->avail_in = (uInt) len;
    zs->next_out = out;
    zs->avail_out = (uInt) out_size;

    /* all of it flushed, and room left: nothing waits inside zlib */
    if (deflate(zs, Z_SYNC_FLUSH) != Z_OK
        || zs->avail_in != 0 || zs->avail_out == 0)
    {
        return 0;
    }

    n = out_size - zs->avail_out;

    if (n < 4 || memcmp(out + n - 4, "\x00\x00\xff\xff", 4) != 0) {
        return 0;
    }

    n -= 4;

    return (n < len) ? n : 0;
}


void
ngx_ws_perf_inflate_start(ngx_ws_perf_inflate_t *inf, const uint8_t *in,
    size_t len)
{
    inf->in = in;
    inf->in_len = len;
    inf->tail = 0;
    inf->zs.next_in = (Bytef *) in;
    inf->zs.avail_in = (uInt) len;
}


int
ngx_ws_perf_inflate_run(ngx_ws_perf_inflate_t *inf, uint8_t *out,
    size_t size, size_t *written)
{
    int        rc;
    unsigned   i;
    z_stream  *zs;

    static const uint8_t  tail[4] = { 0x00, 0x00, 0xff, 0xff };

    zs = &inf->zs;
    *written = 0;

    if (size > UINT_MAX) {
        size = UINT_MAX;
    }

    if (inf->in_len > UINT_MAX) {
        return NGX_WS_PERF_INFLATE_CORRUPT;
    }

    zs->next_out = out;
    zs->avail_out = (uInt) size;

    /* the input, then the tail: a few rounds at most */
    for (i = 0; i < 4; i++) {

        if (zs->avail_in == 0 && !inf->tail) {
            zs->next_in = (Bytef *) tail;
            zs->avail_in = sizeof(tail);
            inf->tail = 1;
        }

        rc = inflate(zs, Z_SYNC_FLUSH);
        *written = size - zs->avail_out;

        if (rc == Z_STREAM_END) {
            /* a final block: whatever follows starts a new stream */
            (void) inflateReset(zs);
            return NGX_WS_PERF_INFLATE_DONE;
        }

        if (rc != Z_OK && rc != Z_BUF_ERROR) {
            return NGX_WS_PERF_INFLATE_CORRUPT;
        }

        if (zs->avail_out == 0) {
            return NGX_WS_PERF_INFLATE_FULL;
        }

        if (zs->avail_in == 0 && inf->tail) {
            return NGX_WS_PERF_INFLATE_DONE;
        }
    }

    return NGX_WS_PERF_INFLATE_CORRUPT;
}


static void
ngx_ws_perf_scan_ows(ngx_ws_perf_scan_t *s)
{
    while (s->p < s->last && (*s->p == ' ' || *s->p == '\t')) {
        s->p++;
    }
}


static size_t
ngx_ws_perf_scan_token(ngx_ws_perf_scan_t *s, const uint8_t **start)
{
    *start = s->p;

    while (s->p < s->last && ngx_ws_perf_is_tchar(*s->p)) {
        s->p++;
    }

    return (size_t) (s->p - *start);
}


/*
 * A token or a quoted string, unquoted into buf; one longer than buf
 * can hold is cut (no value that long is valid).  -1: malformed.
 */

static int
ngx_ws_perf_scan_value(ngx_ws_perf_scan_t *s, uint8_t *buf, size_t *len)
{
    size_t          n;
    const uint8_t  *start;

    *len = 0;

    if (s->p < s->last && *s->p == '"') {
        s->p++;

        while (s->p < s->last && *s->p != '"') {
            if (*s->p == '\\') {
                s->p++;

                if (s->p == s->last) {
                    return -1;
                }
            }

            if (*len < NGX_WS_PERF_DEFLATE_VALUE_MAX) {
                buf[*len] = *s->p;
            }

            (*len)++;
            s->p++;
        }

        if (s->p == s->last) {
            return -1;
        }

        s->p++;

        return (*len == 0) ? -1 : 0;
    }

    n = ngx_ws_perf_scan_token(s, &start);
    if (n == 0) {
        return -1;
    }

    memcpy(buf, start, n < NGX_WS_PERF_DEFLATE_VALUE_MAX
                       ? n : NGX_WS_PERF_DEFLATE_VALUE_MAX);
    *len = n;

    return 0;
}


static int
ngx_ws_perf_is_tchar(unsigned c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
        || (c >= '0' && c <= '9'))
    {
        return 1;
    }

    return c != 0 && strchr("!#$%&'*+-.^_`|~", (int) c) != NULL;
}


static int
ngx_ws_perf_token_is(const uint8_t *p, size_t len, const char *name)
{
    size_t    i;
    unsigned  c;

    if (len != strlen(name)) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        c = p[i];

        if (c >= 'A' && c <= 'Z') {
            c |= 0x20;
        }

        if (c != (unsigned) name[i]) {
            return 0;
        }
    }

    return 1;
}


/* one parameter of a permessage-deflate offer; o->bad declines it */

static void
ngx_ws_perf_offer_param(ngx_ws_perf_offer_t *o, const uint8_t *name,
    size_t name_len, const uint8_t *value, size_t value_len, int has_value)
{
    unsigned  bit;

    if (ngx_ws_perf_token_is(name, name_len, "server_no_context_takeover")) {
        bit = NGX_WS_PERF_PMD_SERVER_NCT;
        o->bad |= has_value;

    } else if (ngx_ws_perf_token_is(name, name_len,
                                    "client_no_context_takeover"))
    {
        bit = NGX_WS_PERF_PMD_CLIENT_NCT;
        o->bad |= has_value;

    } else if (ngx_ws_perf_token_is(name, name_len,
                                    "server_max_window_bits"))
    {
        bit = NGX_WS_PERF_PMD_SERVER_BITS;
        o->server_bits = has_value ? ngx_ws_perf_window_bits(value,
                                                             value_len)
                                   : 0;
        o->bad |= (o->server_bits == 0);

    } else if (ngx_ws_perf_token_is(name, name_len,
                                    "client_max_window_bits"))
    {
        bit = NGX_WS_PERF_PMD_CLIENT_BITS;

        if (has_value) {
            o->client_bits = ngx_ws_perf_window_bits(value, value_len);
            o->bad |= (o->client_bits == 0);
        }

    } else {
        o->bad = 1;
        return;
    }

    if (o->seen & bit) {
        o->bad = 1;
    }

    o->seen |= bit;
}


/* 8..15 written without a leading zero, else 0 */

static unsigned
ngx_ws_perf_window_bits(const uint8_t *p, size_t len)
{
    if (len == 1 && p[0] >= '8' && p[0] <= '9') {
        return p[0] - '0';
    }

    if (len == 2 && p[0] == '1' && p[1] >= '0' && p[1] <= '5') {
        return 10 + p[1] - '0';
    }

    return 0;
}


/* 1: the offer fits conf, *params is the answer */

static int
ngx_ws_perf_offer_accept(const ngx_ws_perf_offer_t *o,
    const ngx_ws_perf_deflate_conf_t *conf,
    ngx_ws_perf_deflate_params_t *params)
{
    unsigned  limit;

    /* the server compresses with one window for every connection */
    if (o->server_bits && o->server_bits < conf->window) {
        return 0;
    }

    memset(params, 0, sizeof(ngx_ws_perf_deflate_params_t));

    params->server_window = o->server_bits ? conf->window : 0;

    if (conf->client_window == 0 || (o->seen & NGX_WS_PERF_PMD_CLIENT_NCT)) {
        params->client_no_context = 1;
        return 1;
    }

    if (o->seen & NGX_WS_PERF_PMD_CLIENT_BITS) {
        /* the client takes a limit: the operator's, or its own if less */
        limit = o->client_bits ? o->client_bits
                               : NGX_WS_PERF_DEFLATE_WBITS_MAX;
        params->client_window = (limit < conf->client_window)
                                ? limit : conf->client_window;
        params->context = 1;
        return 1;
    }

    /* it compresses with up to 32 KB of window, which the bound may not */
    if (conf->client_window == NGX_WS_PERF_DEFLATE_WBITS_MAX) {
        params->context = 1;

    } else {
        params->client_no_context = 1;
    }

    return 1;
}
