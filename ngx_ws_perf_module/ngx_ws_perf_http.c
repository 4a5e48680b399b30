
/*
 * Copyright (C) ngx_ws_perf_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include "ngx_ws_perf_msg.h"
#include "ngx_ws_perf_http.h"


/*
 * The response helpers of the module's HTTP locations (publish, dead
 * letters, status), whatever engine answers, and the waiting of a request
 * for an engine's answer.
 */


static void ngx_ws_perf_http_uncork(ngx_event_t *ev);
static void ngx_ws_perf_http_gone(void *data);


/* a response header; name and value are constants.  NGX_OK, NGX_ERROR */

ngx_int_t
ngx_ws_perf_http_header(ngx_http_request_t *r, char *name, char *value)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    h->key.data = (u_char *) name;
    h->key.len = ngx_strlen(name);
    h->value.data = (u_char *) value;
    h->value.len = ngx_strlen(value);

    return NGX_OK;
}


/* a whole response from one buffer that lives as long as the request */

ngx_int_t
ngx_ws_perf_send_response(ngx_http_request_t *r, ngx_uint_t status,
    char *type, u_char *data, size_t len)
{
    ngx_int_t     rc;
    ngx_buf_t    *b;
    ngx_chain_t   out;

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->pos = data;
    b->last = data + len;
    b->memory = 1;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    r->headers_out.status = status;
    r->headers_out.content_length_n = len;
    r->headers_out.content_type.data = (u_char *) type;
    r->headers_out.content_type.len = ngx_strlen(type);
    r->headers_out.content_type_len = r->headers_out.content_type.len;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


/*
 * While another request of the connection already waits in its buffer
 * (a publisher pipelining), the answer is corked, as nginx's tcp_nopush
 * corks files, where tcp_nopush is on: nginx's keepalive handler pushes
 * the corked answers out when the buffer has no request left, so a batch
 * of pipelined publishes costs one segment and one wakeup of the
 * publisher, not one each.  A request still incomplete in the buffer, or
 * one in a location with tcp_nopush off, would leave the answers corked
 * (Linux sends them after 200 ms): an event posted for the next turn of
 * the event loop pushes whatever the batch corked, so that no cork
 * outlives a turn.  Only answers given at once are corked (a publish in
 * local mode): after one that waited for Redis the next request waits for
 * Redis too, so nothing would join it.  A connection that turns into a
 * stream is pushed at once by ngx_ws_perf_http_push().
 */

#define NGX_WS_PERF_CORKED_MAX  64

typedef struct {
    ngx_connection_t           *c;
    ngx_atomic_uint_t           number;     /* c is still that connection */
} ngx_ws_perf_corked_t;

static ngx_ws_perf_corked_t  ngx_ws_perf_corked[NGX_WS_PERF_CORKED_MAX];
static ngx_uint_t            ngx_ws_perf_ncorked;
static ngx_event_t           ngx_ws_perf_uncork_event;
static ngx_connection_t      ngx_ws_perf_uncork_dumb;


void
ngx_ws_perf_http_cork(ngx_http_request_t *r)
{
    ngx_connection_t      *c;
    ngx_ws_perf_corked_t  *k;

    c = r->connection;

    if (r != r->main
        || r->http_version > NGX_HTTP_VERSION_11
        || c->type != SOCK_STREAM
        || c->tcp_nopush != NGX_TCP_NOPUSH_UNSET
        || r->header_in == NULL
        || r->header_in->pos >= r->header_in->last
        || ngx_ws_perf_ncorked == NGX_WS_PERF_CORKED_MAX)
    {
        return;
    }

    if (ngx_tcp_nopush(c->fd) == -1) {
        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, c->log, ngx_socket_errno,
                       "ws_perf: " ngx_tcp_nopush_n " failed");
        return;
    }

    c->tcp_nopush = NGX_TCP_NOPUSH_SET;

    k = &ngx_ws_perf_corked[ngx_ws_perf_ncorked++];
    k->c = c;
    k->number = c->number;

    if (ngx_ws_perf_uncork_event.posted) {
        return;
    }

    if (ngx_ws_perf_uncork_event.handler == NULL) {
        ngx_ws_perf_uncork_dumb.fd = (ngx_socket_t) -1;
        ngx_ws_perf_uncork_event.handler = ngx_ws_perf_http_uncork;
        ngx_ws_perf_uncork_event.data = &ngx_ws_perf_uncork_dumb;
        ngx_ws_perf_uncork_event.log = ngx_cycle->log;
    }

#if (nginx_version >= 1017005)
    ngx_post_event(&ngx_ws_perf_uncork_event, &ngx_posted_next_events);
#else
    ngx_post_event(&ngx_ws_perf_uncork_event, &ngx_posted_events);
#endif
}


static void
ngx_ws_perf_http_uncork(ngx_event_t *ev)
{
    ngx_uint_t             i;
    ngx_connection_t      *c;
    ngx_ws_perf_corked_t  *k;

    for (i = 0; i < ngx_ws_perf_ncorked; i++) {
        k = &ngx_ws_perf_corked[i];
        c = k->c;

        if (c->number != k->number || c->fd == (ngx_socket_t) -1) {
            continue;
        }

        /*
         * pushed whatever nginx thinks now: the location of a pipelined
         * request with tcp_nopush off marks the connection disabled, but
         * the socket is still corked
         */

        if (ngx_tcp_push(c->fd) == -1) {
            ngx_connection_error(c, ngx_socket_errno,
                                 ngx_tcp_push_n " failed");
        }

        if (c->tcp_nopush == NGX_TCP_NOPUSH_SET) {
            c->tcp_nopush = NGX_TCP_NOPUSH_UNSET;
        }
    }

    ngx_ws_perf_ncorked = 0;
}


/* a connection corked above becomes a stream: what it holds goes now */

ngx_int_t
ngx_ws_perf_http_push(ngx_connection_t *c)
{
    if (c->tcp_nopush != NGX_TCP_NOPUSH_SET) {
        return NGX_OK;
    }

    if (ngx_tcp_push(c->fd) == -1) {
        ngx_connection_error(c, ngx_socket_errno, ngx_tcp_push_n " failed");
        c->tcp_nopush = NGX_TCP_NOPUSH_DISABLED;
        return NGX_ERROR;
    }

    c->tcp_nopush = NGX_TCP_NOPUSH_UNSET;

    return NGX_OK;
}


/* a short JSON answer (at most 508 bytes of it) from a format */

ngx_int_t
ngx_ws_perf_send_json(ngx_http_request_t *r, ngx_uint_t status,
    const char *fmt, ...)
{
    u_char   *p, *buf;
    va_list   args;

    buf = ngx_pnalloc(r->pool, 512);
    if (buf == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    va_start(args, fmt);
    p = ngx_vslprintf(buf, buf + 508, fmt, args);
    va_end(args);

    p = ngx_cpymem(p, CRLF, 2);

    return ngx_ws_perf_send_response(r, status, "application/json", buf,
                                     p - buf);
}


/*
 * The answer to a replay, in either mode: 404 when nothing had the id;
 * 429 with Retry-After and why when some could not be published because
 * of a limit (they are kept); 200 otherwise.
 */

ngx_int_t
ngx_ws_perf_dlq_replayed(ngx_http_request_t *r, ngx_uint_t replayed,
    ngx_uint_t kept, ngx_str_t *why)
{
    u_char  *p, *buf;

    if (replayed + kept == 0) {
        return ngx_ws_perf_send_json(r, NGX_HTTP_NOT_FOUND,
                                     "{\"replayed\":0,\"kept\":0}");
    }

    if (why == NULL) {
        return ngx_ws_perf_send_json(r, NGX_HTTP_OK,
                                     "{\"replayed\":%ui,\"kept\":%ui}",
                                     replayed, kept);
    }

    if (ngx_ws_perf_http_header(r, "Retry-After", "1") != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    buf = ngx_pnalloc(r->pool, 6 * 200 + 2 * NGX_INT_T_LEN + 64);
    if (buf == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_sprintf(buf, "{\"replayed\":%ui,\"kept\":%ui,\"error\":\"",
                    replayed, kept);
    p = ngx_ws_perf_json_escape(p, why->data,
                                ngx_ws_perf_msg_cut(why->data, why->len,
                                                    200));
    p = ngx_cpymem(p, "\"}" CRLF, 4);

    return ngx_ws_perf_send_response(r, NGX_HTTP_TOO_MANY_REQUESTS,
                                     "application/json", buf, p - buf);
}


/*
 * The context of a request that waits (see ngx_ws_perf_http_wait_t):
 * size bytes, the request in the first member until its pool goes, or
 * NULL.  A content handler that then returns waits through
 * ngx_ws_perf_http_hold(); a request body handler holds the request
 * already.  The answer's handler calls ngx_ws_perf_http_waited(), frees
 * the context and, if the request was still there, answers it with
 * ngx_ws_perf_http_answer().
 */

void *
ngx_ws_perf_http_wait(ngx_http_request_t *r, size_t size)
{
    ngx_pool_cleanup_t       *cln;
    ngx_ws_perf_http_wait_t  *w;

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NULL;
    }

    w = ngx_alloc(size, r->connection->log);
    if (w == NULL) {
        return NULL;
    }

    w->request = r;
    w->cleanup = cln;

    cln->handler = ngx_ws_perf_http_gone;
    cln->data = w;

    return w;
}


static void
ngx_ws_perf_http_gone(void *data)
{
    ngx_ws_perf_http_wait_t *w = data;

    w->request = NULL;
}


/* what a content handler returns when its request waits: NGX_DONE */

ngx_int_t
ngx_ws_perf_http_hold(void *ctx)
{
    ngx_ws_perf_http_wait_t *w = ctx;

    w->request->main->count++;

    return NGX_DONE;
}


/* the waiting ends: the request, or NULL if it went meanwhile */

ngx_http_request_t *
ngx_ws_perf_http_waited(void *ctx)
{
    ngx_ws_perf_http_wait_t *w = ctx;

    if (w->request) {
        w->cleanup->handler = NULL;
    }

    return w->request;
}


/* answers a request that waited, from outside its own events */

void
ngx_ws_perf_http_answer(ngx_http_request_t *r, ngx_int_t rc)
{
    ngx_connection_t  *c;

    c = r->connection;

    ngx_http_finalize_request(r, rc);
    ngx_http_run_posted_requests(c);
}


/* splits a list separated by commas or spaces; NGX_DECLINED: a bad name */

ngx_int_t
ngx_ws_perf_split_names(ngx_pool_t *pool, ngx_str_t *value,
    ngx_array_t *names)
{
    u_char     *p, *last, *start;
    ngx_str_t  *name;

    p = value->data;
    last = p + value->len;

    while (p < last) {
        while (p < last && (*p == ',' || *p == ' ')) {
            p++;
        }

        start = p;

        while (p < last && *p != ',' && *p != ' ') {
            p++;
        }

        if (p == start) {
            break;
        }

        if (!ngx_ws_perf_msg_valid_name(start, p - start)) {
            return NGX_DECLINED;
        }

        name = ngx_array_push(names);
        if (name == NULL) {
            return NGX_ERROR;
        }

        name->data = start;
        name->len = p - start;
    }

    return NGX_OK;
}
