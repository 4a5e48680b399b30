
/*
 * Copyright (C) ngx_ws_perf_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <ngx_sha1.h>
#include "ngx_ws_perf_conn.h"
#include "ngx_ws_perf_pubsub.h"
#include "ngx_ws_perf_http.h"
#include "ngx_ws_perf_metrics.h"
#include "ngx_ws_perf_compress.h"


#define NGX_WS_PERF_GUID  "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


typedef struct {
    ngx_str_t                   key;
    ngx_str_t                   protocol;
    ngx_str_t                   origin;     /* the one allowed, or empty */
    ngx_str_t                   last_id;    /* Last-Event-ID */
    ngx_uint_t                  last_ids;
    ngx_uint_t                  keys;
    ngx_ws_perf_deflate_params_t  deflate;
    unsigned                    upgrade:1;
    unsigned                    connection:1;
    unsigned                    version:1;
    unsigned                    origin_ok:1;
    unsigned                    deflated:1; /* permessage-deflate accepted */
} ngx_ws_perf_handshake_t;


/* a handshake whose user waits for the engine's count of its connections */
typedef struct {
    ngx_ws_perf_http_wait_t     wait;       /* first */
    ngx_ws_perf_loc_conf_t     *conf;
    ngx_ws_perf_handshake_t     hs;
    ngx_ws_perf_targets_t       targets;
    ngx_int_t                   rc;         /* the answer, if it came */
    ngx_uint_t                  calling;    /* while the engine is asked */
    u_char                      user[NGX_WS_PERF_NAME_MAX];
} ngx_ws_perf_handshake_wait_t;


/* why a handshake is refused: the counter, the status, the reason */
typedef struct {
    ngx_uint_t                  metric;
    ngx_uint_t                  status;
    char                       *reason;
    char                       *header;     /* a header to add, or NULL */
    char                       *value;
} ngx_ws_perf_refusal_t;


static ngx_int_t ngx_ws_perf_handshake_admit(ngx_http_request_t *r,
    ngx_ws_perf_loc_conf_t *wlcf, ngx_ws_perf_handshake_t *hs,
    ngx_ws_perf_targets_t *t);
static void ngx_ws_perf_handshake_admitted(void *data, ngx_int_t rc);
static ngx_int_t ngx_ws_perf_handshake_user(ngx_http_request_t *r,
    ngx_ws_perf_handshake_wait_t *w, ngx_int_t rc);
static ngx_int_t ngx_ws_perf_accept(ngx_http_request_t *r,
    ngx_ws_perf_loc_conf_t *wlcf, ngx_ws_perf_handshake_t *hs,
    ngx_ws_perf_targets_t *t);
static ngx_ws_perf_refusal_t *ngx_ws_perf_handshake_check(
    ngx_http_request_t *r, ngx_ws_perf_loc_conf_t *wlcf,
    ngx_ws_perf_handshake_t *hs);
static ngx_ws_perf_refusal_t *ngx_ws_perf_sse_check(ngx_http_request_t *r,
    ngx_ws_perf_loc_conf_t *wlcf, ngx_ws_perf_handshake_t *hs);
static ngx_uint_t ngx_ws_perf_sse_parts(ngx_str_t *last_id);
static ngx_uint_t ngx_ws_perf_sse_valid_last_id(ngx_str_t *last_id,
    ngx_ws_perf_loc_conf_t *wlcf);
static void ngx_ws_perf_handshake_scan(ngx_http_request_t *r,
    ngx_ws_perf_loc_conf_t *wlcf, ngx_ws_perf_handshake_t *hs);
static ngx_uint_t ngx_ws_perf_origin_allowed(ngx_http_request_t *r,
    ngx_ws_perf_loc_conf_t *wlcf, ngx_str_t *origin);
static ngx_uint_t ngx_ws_perf_has_token(ngx_str_t *value, char *token,
    size_t len);
static void ngx_ws_perf_select_protocol(ngx_str_t *value,
    ngx_ws_perf_loc_conf_t *wlcf, ngx_ws_perf_handshake_t *hs);
static void ngx_ws_perf_select_deflate(ngx_http_request_t *r,
    ngx_str_t *value, ngx_ws_perf_handshake_t *hs);
static void ngx_ws_perf_deflate_accepted(ngx_http_request_t *r,
    ngx_ws_perf_handshake_t *hs);
static ngx_uint_t ngx_ws_perf_valid_key(ngx_str_t *key);
static ngx_int_t ngx_ws_perf_reject(ngx_http_request_t *r, ngx_uint_t status,
    char *reason, char *name, char *value);
static ngx_ws_perf_out_t *ngx_ws_perf_response(ngx_http_request_t *r,
    ngx_ws_perf_handshake_t *hs);
static ngx_ws_perf_out_t *ngx_ws_perf_sse_response(ngx_http_request_t *r,
    ngx_ws_perf_handshake_t *hs);


/* in the order ngx_ws_perf_handshake_check() tries them */
static ngx_ws_perf_refusal_t  ngx_ws_perf_refusals[] = {
    { NGX_WS_PERF_M_HS_METHOD, NGX_HTTP_NOT_ALLOWED,
      "websocket: method must be GET", "Allow", "GET" },
    { NGX_WS_PERF_M_HS_HTTP, NGX_HTTP_BAD_REQUEST,
      "websocket: HTTP/1.1 required", NULL, NULL },
    { NGX_WS_PERF_M_HS_UPGRADE, 426,
      "websocket: \"Upgrade: websocket\" required", "Upgrade", "websocket" },
    { NGX_WS_PERF_M_HS_CONNECTION, NGX_HTTP_BAD_REQUEST,
      "websocket: \"Connection: upgrade\" required", NULL, NULL },
    { NGX_WS_PERF_M_HS_VERSION, 426,
      "websocket: Sec-WebSocket-Version 13 required",
      "Sec-WebSocket-Version", "13" },
    { NGX_WS_PERF_M_HS_KEY, NGX_HTTP_BAD_REQUEST,
      "websocket: missing or invalid Sec-WebSocket-Key", NULL, NULL },
    { NGX_WS_PERF_M_HS_ORIGIN, NGX_HTTP_FORBIDDEN,
      "websocket: origin not allowed", NULL, NULL },
    { NGX_WS_PERF_M_HS_BODY, NGX_HTTP_BAD_REQUEST,
      "websocket: a handshake has no body", NULL, NULL },

#define NGX_WS_PERF_SSE_REFUSALS  8

    /* in the order ngx_ws_perf_sse_check() tries them */
    { NGX_WS_PERF_M_HS_METHOD, NGX_HTTP_NOT_ALLOWED,
      "event stream: method must be GET", "Allow", "GET" },
    { NGX_WS_PERF_M_HS_HTTP, NGX_HTTP_VERSION_NOT_SUPPORTED,
      "event stream: HTTP/1.0 or HTTP/1.1 required", NULL, NULL },
    { NGX_WS_PERF_M_HS_ORIGIN, NGX_HTTP_FORBIDDEN,
      "event stream: origin not allowed", NULL, NULL },
    { NGX_WS_PERF_M_HS_BODY, NGX_HTTP_BAD_REQUEST,
      "event stream: a request for a stream has no body", NULL, NULL },
    { NGX_WS_PERF_M_HS_TARGET, NGX_HTTP_BAD_REQUEST,
      "event stream: invalid Last-Event-ID", NULL, NULL },
    { NGX_WS_PERF_M_HS_TARGET, NGX_HTTP_BAD_REQUEST,
      "event stream: no channel and no user to stream", NULL, NULL },
    { NGX_WS_PERF_M_HS_TARGET, NGX_HTTP_BAD_REQUEST,
      "event stream: the parts of Last-Event-ID are not one per channel "
      "and user of the stream", NULL, NULL }
};


ngx_int_t
ngx_ws_perf_handshake(ngx_http_request_t *r, ngx_ws_perf_loc_conf_t *wlcf)
{
    char                     *reason;
    ngx_int_t                 rc;
    ngx_ws_perf_targets_t     targets;
    ngx_ws_perf_handshake_t   hs;
    ngx_ws_perf_refusal_t    *refusal;

    ngx_memzero(&hs, sizeof(ngx_ws_perf_handshake_t));

    refusal = ngx_ws_perf_handshake_check(r, wlcf, &hs);

    if (refusal) {
        ngx_ws_perf_metrics_rejected(refusal->metric);
        return ngx_ws_perf_reject(r, refusal->status, refusal->reason,
                                  refusal->header, refusal->value);
    }

    if (wlcf->mode != NGX_WS_PERF_MODE_PUBSUB
        && wlcf->mode != NGX_WS_PERF_MODE_SSE)
    {
        return ngx_ws_perf_accept(r, wlcf, &hs, NULL);
    }

    rc = ngx_ws_perf_targets(r, wlcf, &targets, &reason);

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc != NGX_OK) {
        ngx_ws_perf_metrics_rejected(NGX_WS_PERF_M_HS_TARGET);
        return ngx_ws_perf_reject(r, rc, reason, NULL, NULL);
    }

    if (wlcf->mode == NGX_WS_PERF_MODE_SSE) {
        /* a stream cannot subscribe later: it has nothing to say */
        if (targets.channels.nelts == 0 && targets.user.len == 0) {
            refusal = &ngx_ws_perf_refusals[NGX_WS_PERF_SSE_REFUSALS + 5];
            ngx_ws_perf_metrics_rejected(refusal->metric);
            return ngx_ws_perf_reject(r, refusal->status, refusal->reason,
                                      NULL, NULL);
        }

        /* positions: one part per target of the stream, no more, no less */
        if (ngx_ws_perf_sse_parts(&hs.last_id) > 1
            && ngx_ws_perf_sse_parts(&hs.last_id)
               != ngx_ws_perf_stream_targets(&targets))
        {
            refusal = &ngx_ws_perf_refusals[NGX_WS_PERF_SSE_REFUSALS + 6];
            ngx_ws_perf_metrics_rejected(refusal->metric);
            return ngx_ws_perf_reject(r, refusal->status, refusal->reason,
                                      NULL, NULL);
        }

        targets.since = hs.last_id;
    }

    if (targets.user.len == 0) {
        return ngx_ws_perf_accept(r, wlcf, &hs, &targets);
    }

    return ngx_ws_perf_handshake_admit(r, wlcf, &hs, &targets);
}


/*
 * The user's connections are counted by the engine, with Redis on every
 * node: the 101 waits for its answer, the request held meanwhile.
 */

static ngx_int_t
ngx_ws_perf_handshake_admit(ngx_http_request_t *r,
    ngx_ws_perf_loc_conf_t *wlcf, ngx_ws_perf_handshake_t *hs,
    ngx_ws_perf_targets_t *t)
{
    ngx_int_t                      rc;
    ngx_ws_perf_handshake_wait_t  *w;

    w = ngx_ws_perf_http_wait(r, sizeof(ngx_ws_perf_handshake_wait_t));
    if (w == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    w->conf = wlcf;
    w->hs = *hs;
    w->targets = *t;

    /* a slot taken for a request that went is given back by this name */
    ngx_memcpy(w->user, t->user.data, t->user.len);
    w->targets.user.data = w->user;

    w->rc = NGX_AGAIN;
    w->calling = 1;

    rc = ngx_ws_perf_admit(wlcf, &w->targets.user,
                           ngx_ws_perf_handshake_admitted, w);

    w->calling = 0;

    if (rc == NGX_AGAIN) {
        if (w->rc == NGX_AGAIN) {
            return ngx_ws_perf_http_hold(w);
        }

        /* answered before the engine returned: a link that failed at once */
        rc = w->rc;
    }

    (void) ngx_ws_perf_http_waited(w);

    rc = ngx_ws_perf_handshake_user(r, w, rc);

    ngx_free(w);

    return rc;
}


static void
ngx_ws_perf_handshake_admitted(void *data, ngx_int_t rc)
{
    ngx_ws_perf_handshake_wait_t *w = data;

    ngx_http_request_t  *r;

    if (w->calling) {
        w->rc = rc;
        return;
    }

    r = ngx_ws_perf_http_waited(w);

    if (r == NULL) {
        if (rc == NGX_OK) {
            ngx_ws_perf_leave(&w->targets.user);
        }

        ngx_free(w);
        return;
    }

    rc = ngx_ws_perf_handshake_user(r, w, rc);

    ngx_free(w);

    ngx_ws_perf_http_answer(r, rc);
}


/* the engine's answer: the 101, or 429 when the user has every slot */

static ngx_int_t
ngx_ws_perf_handshake_user(ngx_http_request_t *r,
    ngx_ws_perf_handshake_wait_t *w, ngx_int_t rc)
{
    if (rc == NGX_DECLINED) {
        ngx_ws_perf_metrics_rejected(NGX_WS_PERF_M_HS_USER_LIMIT);
        return ngx_ws_perf_reject(r, NGX_HTTP_TOO_MANY_REQUESTS,
                                  "websocket: too many connections for "
                                  "this user", NULL, NULL);
    }

    if (rc != NGX_OK) {
        ngx_ws_perf_metrics_rejected(NGX_WS_PERF_M_HS_INTERNAL);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    w->targets.admitted = 1;

    return ngx_ws_perf_accept(r, w->conf, &w->hs, &w->targets);
}


/*
 * The 101 and the connection handed over; a user's slot taken for it goes
 * back when that fails.
 */

static ngx_int_t
ngx_ws_perf_accept(ngx_http_request_t *r, ngx_ws_perf_loc_conf_t *wlcf,
    ngx_ws_perf_handshake_t *hs, ngx_ws_perf_targets_t *t)
{
    ngx_int_t           rc;
    ngx_ws_perf_out_t  *response;

    if (wlcf->mode == NGX_WS_PERF_MODE_SSE) {
        response = ngx_ws_perf_sse_response(r, hs);

    } else {
        response = ngx_ws_perf_response(r, hs);
    }

    rc = (response == NULL) ? NGX_HTTP_INTERNAL_SERVER_ERROR
                            : ngx_ws_perf_conn_upgrade(r, wlcf, response, t);

    if (rc == NGX_DONE) {
        if (wlcf->mode != NGX_WS_PERF_MODE_SSE) {
            ngx_ws_perf_compress_accept(r, &hs->protocol);
        }

        if (hs->deflated) {
            ngx_ws_perf_deflate_accepted(r, hs);
        }

        return rc;
    }

    ngx_ws_perf_metrics_rejected(NGX_WS_PERF_M_HS_INTERNAL);

    if (t && t->admitted) {
        ngx_ws_perf_leave(&t->user);
    }

    return rc;
}


/*
 * The method, the version, the upgrade headers, the key, the origin and
 * the absence of a body: NULL, or why the handshake is refused.
 */

static ngx_ws_perf_refusal_t *
ngx_ws_perf_handshake_check(ngx_http_request_t *r,
    ngx_ws_perf_loc_conf_t *wlcf, ngx_ws_perf_handshake_t *hs)
{
    ngx_uint_t  i;

    if (wlcf->mode == NGX_WS_PERF_MODE_SSE) {
        return ngx_ws_perf_sse_check(r, wlcf, hs);
    }

    if (r->method != NGX_HTTP_GET) {
        i = 0;

    } else if (r->http_version != NGX_HTTP_VERSION_11) {
        i = 1;

    } else {
        ngx_ws_perf_handshake_scan(r, wlcf, hs);

        if (!hs->upgrade) {
            i = 2;

        } else if (!hs->connection) {
            i = 3;

        } else if (!hs->version) {
            i = 4;

        } else if (hs->keys != 1 || !ngx_ws_perf_valid_key(&hs->key)) {
            i = 5;

        } else if (!hs->origin_ok) {
            i = 6;

        } else if (r->headers_in.content_length_n > 0
                   || r->headers_in.chunked
                   || r->headers_in.transfer_encoding)
        {
            i = 7;

        } else {
            return NULL;
        }
    }

    return &ngx_ws_perf_refusals[i];
}


/*
 * The method, the version (HTTP/2 and HTTP/3 are refused: the stream is
 * written on the connection itself), the origin, the absence of a body
 * and the Last-Event-ID: NULL, or why the stream is refused.
 */

static ngx_ws_perf_refusal_t *
ngx_ws_perf_sse_check(ngx_http_request_t *r, ngx_ws_perf_loc_conf_t *wlcf,
    ngx_ws_perf_handshake_t *hs)
{
    ngx_uint_t  i;

    if (r->method != NGX_HTTP_GET) {
        i = 0;

    } else if (r->http_version != NGX_HTTP_VERSION_10
               && r->http_version != NGX_HTTP_VERSION_11)
    {
        i = 1;

    } else {
        ngx_ws_perf_handshake_scan(r, wlcf, hs);

        if (!hs->origin_ok) {
            i = 2;

        } else if (r->headers_in.content_length_n > 0
                   || r->headers_in.chunked
                   || r->headers_in.transfer_encoding)
        {
            i = 3;

        } else if (hs->last_ids > 1
                   || (hs->last_ids
                       && !ngx_ws_perf_sse_valid_last_id(&hs->last_id,
                                                         wlcf)))
        {
            i = 4;

        } else {
            return NULL;
        }
    }

    return &ngx_ws_perf_refusals[NGX_WS_PERF_SSE_REFUSALS + i];
}


/* the parts of a Last-Event-ID, joined by ',' */

static ngx_uint_t
ngx_ws_perf_sse_parts(ngx_str_t *last_id)
{
    ngx_uint_t  i, n;

    n = 1;

    for (i = 0; i < last_id->len; i++) {
        n += (last_id->data[i] == ',');
    }

    return n;
}


/*
 * One id, or positions: as many parts as a stream may have targets (its
 * channels and a user), each an id or empty.  Their number is checked
 * against the stream's targets once they are known.
 */

static ngx_uint_t
ngx_ws_perf_sse_valid_last_id(ngx_str_t *last_id,
    ngx_ws_perf_loc_conf_t *wlcf)
{
    u_char      *p, *last, *end;
    ngx_uint_t   n;

    n = ngx_ws_perf_sse_parts(last_id);

    if (n == 1) {
        return ngx_ws_perf_msg_valid_id(last_id->data, last_id->len);
    }

    if (n > wlcf->max_channels + 1) {
        return 0;
    }

    p = last_id->data;
    last = p + last_id->len;

    for ( ;; ) {
        end = ngx_strlchr(p, last, ',');

        if (end == NULL) {
            end = last;
        }

        if (end != p && !ngx_ws_perf_msg_valid_id(p, end - p)) {
            return 0;
        }

        if (end == last) {
            return 1;
        }

        p = end + 1;
    }
}


static void
ngx_ws_perf_handshake_scan(ngx_http_request_t *r,
    ngx_ws_perf_loc_conf_t *wlcf, ngx_ws_perf_handshake_t *hs)
{
    ngx_str_t        *origin;
    ngx_uint_t        i, origins;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    origin = NULL;
    origins = 0;
    hs->origin_ok = 1;

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len == sizeof("Upgrade") - 1
            && ngx_strncasecmp(h[i].key.data, (u_char *) "Upgrade", 7) == 0)
        {
            hs->upgrade |= ngx_ws_perf_has_token(&h[i].value, "websocket", 9);

        } else if (h[i].key.len == sizeof("Connection") - 1
                   && ngx_strncasecmp(h[i].key.data,
                                      (u_char *) "Connection", 10) == 0)
        {
            hs->connection |= ngx_ws_perf_has_token(&h[i].value,
                                                    "upgrade", 7);

        } else if (h[i].key.len == sizeof("Sec-WebSocket-Key") - 1
                   && ngx_strncasecmp(h[i].key.data,
                                      (u_char *) "Sec-WebSocket-Key", 17) == 0)
        {
            hs->key = h[i].value;
            hs->keys++;

        } else if (h[i].key.len == sizeof("Sec-WebSocket-Version") - 1
                   && ngx_strncasecmp(h[i].key.data,
                                      (u_char *) "Sec-WebSocket-Version", 21)
                      == 0)
        {
            hs->version = (h[i].value.len == 2
                           && h[i].value.data[0] == '1'
                           && h[i].value.data[1] == '3');

        } else if (h[i].key.len == sizeof("Sec-WebSocket-Protocol") - 1
                   && ngx_strncasecmp(h[i].key.data,
                                      (u_char *) "Sec-WebSocket-Protocol", 22)
                      == 0)
        {
            ngx_ws_perf_select_protocol(&h[i].value, wlcf, hs);

        } else if (h[i].key.len == sizeof("Sec-WebSocket-Extensions") - 1
                   && ngx_strncasecmp(h[i].key.data,
                                      (u_char *) "Sec-WebSocket-Extensions",
                                      24)
                      == 0)
        {
            if (wlcf->deflate && wlcf->mode != NGX_WS_PERF_MODE_SSE) {
                ngx_ws_perf_select_deflate(r, &h[i].value, hs);
            }

        } else if (h[i].key.len == sizeof("Origin") - 1
                   && ngx_strncasecmp(h[i].key.data, (u_char *) "Origin", 6)
                      == 0)
        {
            origin = &h[i].value;
            origins++;

        } else if (h[i].key.len == sizeof("Last-Event-ID") - 1
                   && ngx_strncasecmp(h[i].key.data,
                                      (u_char *) "Last-Event-ID", 13) == 0)
        {
            hs->last_id = h[i].value;
            hs->last_ids++;
        }
    }

    if (origins == 0) {
        /* not a browser: nothing to check */
        return;
    }

    hs->origin_ok = (origins == 1 && ngx_ws_perf_origin_allowed(r, wlcf,
                                                                origin));

    if (hs->origin_ok) {
        hs->origin = *origin;
    }
}


/*
 * Without ws_perf_allowed_origins a browser's Origin must name the host
 * it asks (the Host header): a page elsewhere may not use its cookies
 * here.  The scheme is not compared: TLS may end at a front proxy.
 */

static ngx_uint_t
ngx_ws_perf_origin_allowed(ngx_http_request_t *r,
    ngx_ws_perf_loc_conf_t *wlcf, ngx_str_t *origin)
{
    u_char     *p;
    ngx_str_t  *allowed, *host;
    ngx_uint_t  n;

    if (wlcf->allowed_origins) {
        allowed = wlcf->allowed_origins->elts;

        for (n = 0; n < wlcf->allowed_origins->nelts; n++) {
            if ((allowed[n].len == 1 && allowed[n].data[0] == '*')
                || (allowed[n].len == origin->len
                    && ngx_strncasecmp(allowed[n].data, origin->data,
                                       origin->len) == 0))
            {
                return 1;
            }
        }

        return 0;
    }

    if (r->headers_in.host == NULL) {
        return 0;
    }

    host = &r->headers_in.host->value;

    p = ngx_strlcasestrn(origin->data, origin->data + origin->len,
                         (u_char *) "://", 3 - 1);
    if (p == NULL) {
        return 0;
    }

    p += 3;

    return (size_t) (origin->data + origin->len - p) == host->len
           && ngx_strncasecmp(p, host->data, host->len) == 0;
}


/* a case-insensitive match of one element of a comma-separated list */

static ngx_uint_t
ngx_ws_perf_has_token(ngx_str_t *value, char *token, size_t len)
{
    u_char  *p, *last, *start, *end;

    p = value->data;
    last = p + value->len;

    while (p < last) {
        while (p < last && (*p == ' ' || *p == '\t' || *p == ',')) {
            p++;
        }

        start = p;

        while (p < last && *p != ',') {
            p++;
        }

        end = p;

        while (end > start && (end[-1] == ' ' || end[-1] == '\t')) {
            end--;
        }

        if ((size_t) (end - start) == len
            && ngx_strncasecmp(start, (u_char *) token, len) == 0)
        {
            return 1;
        }
    }

    return 0;
}


/* the first protocol the client offers that the location also lists */

static void
ngx_ws_perf_select_protocol(ngx_str_t *value, ngx_ws_perf_loc_conf_t *wlcf,
    ngx_ws_perf_handshake_t *hs)
{
    u_char      *p, *last, *start, *end;
    ngx_str_t   *proto;
    ngx_uint_t   i;

    if (wlcf->subprotocols == NULL || hs->protocol.len) {
        return;
    }

    proto = wlcf->subprotocols->elts;
    p = value->data;
    last = p + value->len;

    while (p < last) {
        while (p < last && (*p == ' ' || *p == '\t' || *p == ',')) {
            p++;
        }

        start = p;

        while (p < last && *p != ',' && *p != ' ' && *p != '\t') {
            p++;
        }

        end = p;

        for (i = 0; i < wlcf->subprotocols->nelts; i++) {
            if (proto[i].len == (size_t) (end - start)
                && ngx_strncmp(proto[i].data, start, proto[i].len) == 0)
            {
                hs->protocol = proto[i];
                return;
            }
        }
    }
}


/*
 * The first permessage-deflate offer the server accepts, over every
 * Sec-WebSocket-Extensions header in order; a malformed one is passed
 * over, never refused: the connection goes on uncompressed.
 */

static void
ngx_ws_perf_select_deflate(ngx_http_request_t *r, ngx_str_t *value,
    ngx_ws_perf_handshake_t *hs)
{
    int                         rc;
    ngx_ws_perf_deflate_conf_t  conf;

    if (hs->deflated) {
        return;
    }

    ngx_ws_perf_compress_deflate_conf(r, &conf);

    rc = ngx_ws_perf_deflate_negotiate(value->data, value->len, &conf,
                                       &hs->deflate);

    if (rc == NGX_WS_PERF_DEFLATE_ACCEPTED) {
        hs->deflated = 1;
        return;
    }

    if (rc == NGX_WS_PERF_DEFLATE_SYNTAX) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "websocket handshake: malformed "
                      "Sec-WebSocket-Extensions header, its offers from "
                      "there on declined");
    }
}


/* the connection compresses its messages, and inflates its client's */

static void
ngx_ws_perf_deflate_accepted(ngx_http_request_t *r,
    ngx_ws_perf_handshake_t *hs)
{
    ngx_ws_perf_conn_t       *wc;
    ngx_ws_perf_main_conf_t  *wmcf;

    wc = ngx_http_get_module_ctx(r, ngx_ws_perf_module);
    if (wc == NULL) {
        return;
    }

    wmcf = ngx_http_get_module_main_conf(r, ngx_ws_perf_module);

    wc->peer.deflate = 1;
    wc->peer.deflate_min = wmcf->deflate_min;
    wc->parser.rsv1_ok = 1;

    if (hs->deflate.context) {
        wc->inflate_bits = hs->deflate.client_window
                           ? hs->deflate.client_window
                           : NGX_WS_PERF_DEFLATE_WBITS_MAX;
    }

    ngx_ws_perf_metrics_inc(deflate_conns);

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "websocket permessage-deflate, client context window "
                   "bits %ui", wc->inflate_bits);
}


static ngx_uint_t
ngx_ws_perf_valid_key(ngx_str_t *key)
{
    u_char     buf[18];
    ngx_str_t  decoded;

    /* base64 of 16 bytes: 22 characters and "==" */
    if (key->len != 24 || key->data[22] != '=' || key->data[23] != '=') {
        return 0;
    }

    decoded.data = buf;

    if (ngx_decode_base64(&decoded, key) != NGX_OK || decoded.len != 16) {
        return 0;
    }

    return 1;
}


static ngx_int_t
ngx_ws_perf_reject(ngx_http_request_t *r, ngx_uint_t status, char *reason,
    char *name, char *value)
{
    u_char                  *p;
    size_t                   len;
    ngx_int_t                rc;
    ngx_str_t                what;
    ngx_ws_perf_loc_conf_t  *wlcf;

    wlcf = ngx_http_get_module_loc_conf(r, ngx_ws_perf_module);

    /* the reasons shared with WebSocket are told as the stream's */
    if (wlcf->mode == NGX_WS_PERF_MODE_SSE) {
        ngx_str_set(&what, "event stream");

    } else {
        ngx_str_set(&what, "websocket");
    }

    reason = ngx_strchr(reason, ':') + 2;

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "%V%s rejected: %s", &what,
                  wlcf->mode == NGX_WS_PERF_MODE_SSE ? "" : " handshake",
                  reason);

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    len = what.len + 2 + ngx_strlen(reason);

    p = ngx_pnalloc(r->pool, len + 1);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    (void) ngx_sprintf(p, "%V: %s\n", &what, reason);

    if (name && ngx_ws_perf_http_header(r, name, value) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (status == 426) {
        ngx_str_set(&r->headers_out.status_line, "426 Upgrade Required");
    }

    return ngx_ws_perf_send_response(r, status, "text/plain", p, len + 1);
}


static ngx_ws_perf_out_t *
ngx_ws_perf_response(ngx_http_request_t *r, ngx_ws_perf_handshake_t *hs)
{
    u_char              *p, digest[20], buf[640];
    ngx_str_t            src, accept;
    ngx_sha1_t           sha1;
    u_char               accept_buf[ngx_base64_encoded_length(20)];

    ngx_sha1_init(&sha1);
    ngx_sha1_update(&sha1, hs->key.data, hs->key.len);
    ngx_sha1_update(&sha1, NGX_WS_PERF_GUID, sizeof(NGX_WS_PERF_GUID) - 1);
    ngx_sha1_final(digest, &sha1);

    src.data = digest;
    src.len = sizeof(digest);
    accept.data = accept_buf;
    ngx_encode_base64(&accept, &src);

    /* the protocol is one of the configured tokens, bounded by the buffer */
    if (hs->protocol.len > sizeof(buf) - 384) {
        hs->protocol.len = 0;
    }

    p = ngx_cpymem(buf, "HTTP/1.1 101 Switching Protocols" CRLF
                   "Upgrade: websocket" CRLF
                   "Connection: Upgrade" CRLF
                   "Sec-WebSocket-Accept: ",
                   sizeof("HTTP/1.1 101 Switching Protocols" CRLF
                          "Upgrade: websocket" CRLF
                          "Connection: Upgrade" CRLF
                          "Sec-WebSocket-Accept: ") - 1);
    p = ngx_cpymem(p, accept.data, accept.len);
    *p++ = CR; *p++ = LF;

    if (hs->protocol.len) {
        p = ngx_cpymem(p, "Sec-WebSocket-Protocol: ",
                       sizeof("Sec-WebSocket-Protocol: ") - 1);
        p = ngx_cpymem(p, hs->protocol.data, hs->protocol.len);
        *p++ = CR; *p++ = LF;
    }

    if (hs->deflated) {
        p = ngx_cpymem(p, "Sec-WebSocket-Extensions: ",
                       sizeof("Sec-WebSocket-Extensions: ") - 1);
        p += ngx_ws_perf_deflate_answer(&hs->deflate, p);
        *p++ = CR; *p++ = LF;
    }

    *p++ = CR; *p++ = LF;

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "websocket handshake accepted, protocol \"%V\"",
                   &hs->protocol);

    return ngx_ws_perf_out_raw(buf, p - buf, r->connection->log);
}


/*
 * The stream's response header, written on the connection like the 101:
 * the end of the connection ends the body (no chunks, no keep-alive), and
 * a front proxy is asked not to buffer it.  A browser's origin that was
 * allowed is named for its cross-origin EventSource.
 */

static ngx_ws_perf_out_t *
ngx_ws_perf_sse_response(ngx_http_request_t *r, ngx_ws_perf_handshake_t *hs)
{
    size_t              len;
    ngx_ws_perf_out_t  *out;

    static u_char  head[] = "HTTP/1.1 200 OK" CRLF
                            "Content-Type: text/event-stream" CRLF
                            "Cache-Control: no-cache" CRLF
                            "X-Accel-Buffering: no" CRLF
                            "Connection: close" CRLF;
    static u_char  acao[] = "Access-Control-Allow-Origin: ";

    len = sizeof(head) - 1 + 2;

    if (hs->origin.len) {
        len += sizeof(acao) - 1 + hs->origin.len + 2;
    }

    out = ngx_ws_perf_out_alloc(len, r->connection->log);
    if (out == NULL) {
        return NULL;
    }

    out->last = ngx_cpymem(out->start, head, sizeof(head) - 1);

    if (hs->origin.len) {
        out->last = ngx_cpymem(out->last, acao, sizeof(acao) - 1);
        out->last = ngx_cpymem(out->last, hs->origin.data, hs->origin.len);
        *out->last++ = CR; *out->last++ = LF;
    }

    *out->last++ = CR; *out->last++ = LF;

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "event stream accepted, Last-Event-ID \"%V\"",
                   &hs->last_id);

    return out;
}
