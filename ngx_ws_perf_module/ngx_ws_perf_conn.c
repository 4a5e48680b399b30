
/*
 * Copyright (C) ngx_ws_perf_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include "ngx_ws_perf_conn.h"
#include "ngx_ws_perf_http.h"
#include "ngx_ws_perf_pubsub.h"
#include "ngx_ws_perf_metrics.h"
#include "ngx_ws_perf_compress.h"


/* one read buffer per worker: a connection keeps only parser state */
#define NGX_WS_PERF_READ_BUFFER  65536

/*
 * what the client made this connection queue (pongs, echoes, replies) has
 * reached the bound: reading waits until the queue drains
 */
#define ngx_ws_perf_conn_full(wc)                                            \
    (ngx_ws_perf_queue_cost(&(wc)->queue) >= (wc)->conf->send_queue_size)


static void ngx_ws_perf_upgrade_handler(ngx_event_t *wev);
static void ngx_ws_perf_release_request(ngx_http_request_t *r);
static void ngx_ws_perf_read_handler(ngx_event_t *rev);
static void ngx_ws_perf_sse_read(ngx_ws_perf_conn_t *wc);
static ngx_int_t ngx_ws_perf_sse_timer(ngx_ws_perf_conn_t *wc);
static void ngx_ws_perf_write_handler(ngx_event_t *wev);
static void ngx_ws_perf_timer_handler(ngx_event_t *ev);
static void ngx_ws_perf_drain(ngx_ws_perf_conn_t *wc);
static void ngx_ws_perf_skip_message(ngx_ws_perf_conn_t *wc);
static ngx_uint_t ngx_ws_perf_drain_close(ngx_ws_perf_conn_t *wc, u_char *pos,
    u_char *last);
static ngx_int_t ngx_ws_perf_input_read(ngx_ws_perf_conn_t *wc, size_t n);
static ngx_int_t ngx_ws_perf_input_kept(ngx_ws_perf_conn_t *wc);
static ngx_int_t ngx_ws_perf_input(ngx_ws_perf_conn_t *wc, u_char **pos,
    u_char *last);
static ngx_int_t ngx_ws_perf_frame_header(ngx_ws_perf_conn_t *wc);
static ngx_int_t ngx_ws_perf_frame_end(ngx_ws_perf_conn_t *wc);
static ngx_int_t ngx_ws_perf_message(ngx_ws_perf_conn_t *wc);
static ngx_int_t ngx_ws_perf_inflated(ngx_ws_perf_conn_t *wc,
    ngx_ws_perf_out_t **m);
static ngx_int_t ngx_ws_perf_send_control(ngx_ws_perf_conn_t *wc,
    ngx_uint_t opcode, u_char *data, size_t len);
static void ngx_ws_perf_start_close(ngx_ws_perf_conn_t *wc, ngx_uint_t code);
static void ngx_ws_perf_flush(ngx_ws_perf_conn_t *wc);
static void ngx_ws_perf_schedule(ngx_ws_perf_conn_t *wc);
static void ngx_ws_perf_finalize(ngx_ws_perf_conn_t *wc);


static u_char  ngx_ws_perf_read_buf[NGX_WS_PERF_READ_BUFFER];


/*
 * Called from the content handler with a valid handshake: queues the 101
 * response, keeps what the client sent after the headers, and lets a
 * posted event take the connection over once the request has unwound.
 */

ngx_int_t
ngx_ws_perf_conn_upgrade(ngx_http_request_t *r, ngx_ws_perf_loc_conf_t *wlcf,
    ngx_ws_perf_out_t *response, ngx_ws_perf_targets_t *targets)
{
    size_t                     len;
    ngx_connection_t          *c;
    ngx_ws_perf_conn_t        *wc;
    ngx_http_core_loc_conf_t  *clcf;

    c = r->connection;

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    if (ngx_ws_perf_http_push(c) != NGX_OK
        || (clcf->tcp_nodelay && ngx_tcp_nodelay(c) != NGX_OK))
    {
        ngx_ws_perf_out_release(response);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    wc = ngx_pcalloc(c->pool, sizeof(ngx_ws_perf_conn_t));
    if (wc == NULL) {
        ngx_ws_perf_out_release(response);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    wc->peer.connection = c;
    wc->peer.fd = c->fd;
    wc->peer.queue = &wc->queue;
    wc->peer.limit = wlcf->send_queue_size;
    wc->peer.sse = (wlcf->mode == NGX_WS_PERF_MODE_SSE);
    wc->peer.raw = (wlcf->format == NGX_WS_PERF_FORMAT_RAW && !wc->peer.sse);
    wc->peer.direct = !wc->peer.sse;
#if (NGX_SSL)
    wc->peer.direct = (wc->peer.direct && c->ssl == NULL);
#endif
    wc->peer.user = &wc->user;
    wc->peer.presence = wlcf->presence;
    wc->peer.subs = &wc->subs;
    wc->conf = wlcf;
    wc->rate_time = ngx_current_msec;
    wc->rate_credit = 2000 * wlcf->client_rate;
    ngx_ws_perf_queue_init(&wc->queue);
    ngx_ws_perf_frame_parser_init(&wc->parser, wlcf->max_message_size, 1);

    if (ngx_ws_perf_queue_push(&wc->queue, response, NGX_WS_PERF_PRIO_CRITICAL,
                               c->log)
        != NGX_OK)
    {
        ngx_ws_perf_out_release(response);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_ws_perf_out_release(response);

    if (targets && ngx_ws_perf_subscribe_targets(wc, targets) != NGX_OK) {
        ngx_ws_perf_hub_unsubscribe_all(&wc->subs);
        ngx_ws_perf_queue_free(&wc->queue);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (targets && targets->since.len) {
        /* the stream resumes once it is the connection's */
        wc->since.data = ngx_pstrdup(c->pool, &targets->since);
        if (wc->since.data == NULL) {
            ngx_ws_perf_hub_unsubscribe_all(&wc->subs);
            ngx_ws_perf_queue_free(&wc->queue);
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        wc->since.len = targets->since.len;
    }

    /* what an event stream's client sends after its request is not read */
    len = wc->peer.sse ? 0 : r->header_in->last - r->header_in->pos;

    if (len) {
        wc->input = ngx_alloc(len, c->log);
        if (wc->input == NULL) {
            ngx_ws_perf_hub_unsubscribe_all(&wc->subs);
            ngx_ws_perf_queue_free(&wc->queue);
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_memcpy(wc->input, r->header_in->pos, len);
        wc->input_len = len;
        r->header_in->pos = r->header_in->last;
    }

    ngx_http_set_ctx(r, wc, ngx_ws_perf_module);

    r->headers_out.status = wc->peer.sse ? NGX_HTTP_OK
                                         : NGX_HTTP_SWITCHING_PROTOCOLS;
    r->keepalive = 0;
    r->lingering_close = 0;
    r->main->count++;

    c->write->handler = ngx_ws_perf_upgrade_handler;
    c->read->handler = ngx_ws_perf_upgrade_handler;
    ngx_post_event(c->write, &ngx_posted_events);

    /* the user's slot is the connection's from now: it goes at finalize */
    wc->admitted = (targets && targets->admitted);

    ngx_ws_perf_metrics_inc(hs_accepted);

    return NGX_DONE;
}


static void
ngx_ws_perf_upgrade_handler(ngx_event_t *ev)
{
    ngx_connection_t     *c;
    ngx_ws_perf_conn_t   *wc;
    ngx_http_request_t   *r;

    c = ev->data;
    r = c->data;
    wc = ngx_http_get_module_ctx(r, ngx_ws_perf_module);

    if (ev->write == 0) {
        /* input before the posted write event ran: it will read it */
        return;
    }

    ngx_ws_perf_release_request(r);

    c->data = wc;
    c->idle = 1;
    c->log->action = wc->peer.sse ? "event stream" : "websocket";
    c->read->handler = ngx_ws_perf_read_handler;
    c->write->handler = ngx_ws_perf_write_handler;

    wc->last_in = ngx_current_msec;
    wc->last_ping = ngx_current_msec;
    wc->timer.handler = ngx_ws_perf_timer_handler;
    wc->timer.data = wc;
    wc->timer.log = c->log;
    wc->timer.cancelable = 1;

    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, c->log, 0, "websocket upgraded");

    ngx_ws_perf_metrics_inc(conn_opened);

    if (wc->since.len && ngx_ws_perf_resume_targets(wc) != NGX_OK) {
        ngx_ws_perf_finalize(wc);
        return;
    }

    ngx_ws_perf_schedule(wc);
    ngx_ws_perf_flush(wc);

    if (c->destroyed) {
        return;
    }

    if (ngx_exiting || ngx_terminate) {
        /*
         * the worker began shutting down after this connection was
         * accepted: it was not idle then, so it goes away now
         */
        c->close = 1;
        ngx_ws_perf_read_handler(c->read);
        return;
    }

    if (!wc->read_paused) {
        ngx_ws_perf_read_handler(c->read);
    }
}


/*
 * Frees the request and the connection's header buffers: an upgraded
 * connection keeps its small state only.
 */

static void
ngx_ws_perf_release_request(ngx_http_request_t *r)
{
    ngx_buf_t                 *b;
    ngx_chain_t               *cl;
    ngx_connection_t          *c;
    ngx_http_connection_t     *hc;

    c = r->connection;
    hc = r->http_connection;

    ngx_http_free_request(r, 0);
    c->destroyed = 0;

    for (cl = hc->busy; cl; cl = cl->next) {
        (void) ngx_pfree(c->pool, cl->buf->start);
    }

    for (cl = hc->free; cl; cl = cl->next) {
        (void) ngx_pfree(c->pool, cl->buf->start);
    }

    hc->busy = NULL;
    hc->free = NULL;

    b = c->buffer;

    if (b && ngx_pfree(c->pool, b->start) == NGX_OK) {
        b->pos = NULL;
        b->start = NULL;
        b->last = NULL;
        b->end = NULL;
    }
}


static void
ngx_ws_perf_read_handler(ngx_event_t *rev)
{
    ssize_t              n;
    ngx_connection_t    *c;
    ngx_ws_perf_conn_t  *wc;

    c = rev->data;
    wc = c->data;

    if (wc->peer.sse) {
        ngx_ws_perf_sse_read(wc);
        return;
    }

    if (c->close) {
        /* the worker is shutting down */
        c->close = 0;
        c->idle = 0;
        ngx_log_error(NGX_LOG_INFO, c->log, 0,
                      "websocket closed: worker is shutting down");
        ngx_ws_perf_start_close(wc, NGX_WS_PERF_CLOSE_GOING_AWAY);
        ngx_ws_perf_flush(wc);
        return;
    }

    if (wc->draining) {
        ngx_ws_perf_drain(wc);
        return;
    }

    while (!wc->peer.closing) {

        if (ngx_ws_perf_conn_full(wc)) {
            wc->read_paused = 1;
            break;
        }

        if (wc->input) {
            if (ngx_ws_perf_input_kept(wc) == NGX_ERROR) {
                ngx_ws_perf_finalize(wc);
                return;
            }

            continue;
        }

        n = c->recv(c, ngx_ws_perf_read_buf, NGX_WS_PERF_READ_BUFFER);

        if (n == NGX_AGAIN) {
            break;
        }

        if (n == 0 || n == NGX_ERROR) {
            ngx_log_debug0(NGX_LOG_DEBUG_HTTP, c->log, 0,
                           "websocket peer closed the connection");
            ngx_ws_perf_finalize(wc);
            return;
        }

        wc->last_in = ngx_current_msec;
        ngx_ws_perf_metrics_add(bytes_in, n);

        if (ngx_ws_perf_input_read(wc, n) != NGX_OK) {
            ngx_ws_perf_finalize(wc);
            return;
        }
    }

    if (ngx_handle_read_event(rev, 0) != NGX_OK) {
        ngx_ws_perf_finalize(wc);
        return;
    }

    ngx_ws_perf_flush(wc);
}


/*
 * An event stream's client says nothing: what it sends is read and
 * dropped, and its end, or the worker's, ends the stream.
 */

static void
ngx_ws_perf_sse_read(ngx_ws_perf_conn_t *wc)
{
    ssize_t            n;
    ngx_connection_t  *c;

    c = wc->peer.connection;

    if (c->close) {
        ngx_log_error(NGX_LOG_INFO, c->log, 0,
                      "event stream closed: worker is shutting down");
        ngx_ws_perf_finalize(wc);
        return;
    }

    for ( ;; ) {
        n = c->recv(c, ngx_ws_perf_read_buf, NGX_WS_PERF_READ_BUFFER);

        if (n == NGX_AGAIN) {
            break;
        }

        if (n == 0 || n == NGX_ERROR) {
            ngx_log_debug0(NGX_LOG_DEBUG_HTTP, c->log, 0,
                           "event stream client closed the connection");
            ngx_ws_perf_finalize(wc);
            return;
        }

        ngx_ws_perf_metrics_add(bytes_in, n);
    }

    if (ngx_handle_read_event(c->read, 0) != NGX_OK) {
        ngx_ws_perf_finalize(wc);
    }
}


static void
ngx_ws_perf_write_handler(ngx_event_t *wev)
{
    ngx_connection_t    *c;
    ngx_ws_perf_conn_t  *wc;

    c = wev->data;
    wc = c->data;

    /* before an overflow discards the queue */
    ngx_ws_perf_hub_direct_pull(&wc->peer, c->log);

    if (wc->peer.overflow && wc->peer.sse) {
        /* nothing tells a stream why: it reconnects and resumes */
        ngx_log_error(NGX_LOG_INFO, c->log, 0,
                      "event stream send queue overflow: a critical "
                      "message does not fit in %uz bytes, closing",
                      wc->peer.limit);
        ngx_ws_perf_finalize(wc);
        return;
    }

    if (wc->peer.overflow && !wc->peer.closing) {
        ngx_log_error(NGX_LOG_INFO, c->log, 0,
                      "websocket send queue overflow: a critical message "
                      "does not fit in %uz bytes, closing with 1008",
                      wc->peer.limit);
        ngx_ws_perf_queue_discard(&wc->queue);
        ngx_ws_perf_start_close(wc, NGX_WS_PERF_CLOSE_POLICY);
    }

    ngx_ws_perf_flush(wc);
}


/*
 * Writes the queue out; once the close frame is on the wire, half-closes
 * and waits for the peer's EOF.  Resumes reading that a full queue paused.
 */

static void
ngx_ws_perf_flush(ngx_ws_perf_conn_t *wc)
{
    size_t             before;
    ngx_int_t          rc;
    ngx_uint_t         blocked;
    ngx_connection_t  *c;

    c = wc->peer.connection;

    ngx_ws_perf_hub_direct_pull(&wc->peer, c->log);

    before = wc->queue.bytes;

    rc = ngx_ws_perf_queue_send(&wc->queue, c);

    if (rc == NGX_ERROR) {
        ngx_ws_perf_finalize(wc);
        return;
    }

    if (wc->peer.sse) {
        /* a stream idles while its socket takes nothing of its queue */
        if (rc != NGX_AGAIN || !wc->blocked || wc->queue.bytes < before) {
            wc->last_in = ngx_current_msec;
        }

        blocked = wc->blocked;
        wc->blocked = (rc == NGX_AGAIN);

        if (wc->blocked && !blocked) {
            /* its idle deadline starts now */
            ngx_ws_perf_schedule(wc);
        }
    }

    if (rc == NGX_AGAIN) {
        if (ngx_handle_write_event(c->write, 0) != NGX_OK) {
            ngx_ws_perf_finalize(wc);
        }

        return;
    }

#if (NGX_SSL)
    if (c->ssl) {
        /* all is written: the SSL buffer (ssl_buffer_size) is not kept */
        ngx_ssl_free_buffer(c);
    }
#endif

    if (wc->peer.closing) {
        if (!wc->draining) {
            wc->draining = 1;

            if (c->ssl) {
                /*
                 * TLS cannot half-close: once both close frames have
                 * passed (or the input cannot be parsed) the server
                 * closes first, as RFC 6455 7.1.1 asks
                 */
                if (wc->peer_closed || wc->parser.error) {
                    ngx_ws_perf_finalize(wc);
                    return;
                }

            } else if (ngx_shutdown_socket(c->fd, NGX_WRITE_SHUTDOWN) == -1) {
                ngx_log_debug0(NGX_LOG_DEBUG_HTTP, c->log, ngx_socket_errno,
                               "websocket shutdown() failed");
            }

            ngx_ws_perf_drain(wc);
        }

        return;
    }

    /* reading resumes at half the bound: not a frame at a time */
    if (wc->read_paused
        && ngx_ws_perf_queue_cost(&wc->queue) < wc->conf->send_queue_size / 2)
    {
        wc->read_paused = 0;
        ngx_post_event(c->read, &ngx_posted_events);
    }
}


/* reads and discards until the peer closes or the close timeout fires */

static void
ngx_ws_perf_drain(ngx_ws_perf_conn_t *wc)
{
    ssize_t            n;
    ngx_connection_t  *c;

    c = wc->peer.connection;

    for ( ;; ) {
        n = c->recv(c, ngx_ws_perf_read_buf, NGX_WS_PERF_READ_BUFFER);

        if (n == NGX_AGAIN) {
            break;
        }

        if (n == 0 || n == NGX_ERROR
            || (c->ssl && ngx_ws_perf_drain_close(wc, ngx_ws_perf_read_buf,
                                                  ngx_ws_perf_read_buf + n)))
        {
            ngx_ws_perf_finalize(wc);
            return;
        }
    }

    if (ngx_handle_read_event(c->read, 0) != NGX_OK) {
        ngx_ws_perf_finalize(wc);
    }
}


/*
 * A message too big is closed with 1009 while the client may still be
 * sending it.  Under TLS the server closes once the client's close frame
 * came, which follows that message: its frame's payload is skipped and
 * the frames after it parsed again, with no limit (their payloads pass
 * through, not kept) and, when the message goes on in continuation
 * frames, as a binary one (its text is not checked from the middle).
 */

static void
ngx_ws_perf_skip_message(ngx_ws_perf_conn_t *wc)
{
    unsigned                     rsv1_ok, opcode;
    ngx_ws_perf_frame_parser_t  *p;

    p = &wc->parser;

    wc->skip = p->length;
    rsv1_ok = p->rsv1_ok;
    opcode = p->fin ? 0 : NGX_WS_PERF_OP_BINARY;

    ngx_ws_perf_frame_parser_init(p, 0, 1);

    p->rsv1_ok = rsv1_ok;
    p->msg_opcode = opcode;
}


/* 1: the client's close frame (or input that cannot be parsed) came */

static ngx_uint_t
ngx_ws_perf_drain_close(ngx_ws_perf_conn_t *wc, u_char *pos, u_char *last)
{
    uint64_t                     n;
    ngx_ws_perf_frame_parser_t  *p;

    p = &wc->parser;

    for ( ;; ) {
        if (wc->skip) {
            n = ngx_min((uint64_t) (last - pos), wc->skip);
            pos += n;
            wc->skip -= n;

            if (wc->skip) {
                return 0;
            }
        }

        switch (ngx_ws_perf_frame_parse(p, &pos, last)) {

        case NGX_WS_PERF_FRAME_AGAIN:
            return 0;

        case NGX_WS_PERF_FRAME_END:
            if (p->opcode == NGX_WS_PERF_OP_CLOSE) {
                return 1;
            }
            break;

        case NGX_WS_PERF_FRAME_ERROR:
            return 1;

        default:
            break;
        }
    }
}


static void
ngx_ws_perf_timer_handler(ngx_event_t *ev)
{
    ngx_msec_t           now;
    ngx_connection_t    *c;
    ngx_ws_perf_conn_t  *wc;

    wc = ev->data;
    c = wc->peer.connection;
    now = ngx_current_msec;

    if (wc->peer.sse) {
        if (ngx_ws_perf_sse_timer(wc) != NGX_OK) {
            ngx_ws_perf_finalize(wc);
            return;
        }

        ngx_ws_perf_schedule(wc);
        ngx_ws_perf_flush(wc);
        return;
    }

    if (wc->peer.closing) {
        ngx_log_error(NGX_LOG_INFO, c->log, 0,
                      "websocket close handshake timed out");
        ngx_ws_perf_finalize(wc);
        return;
    }

    if (wc->conf->idle_timeout
        && now - wc->last_in >= wc->conf->idle_timeout)
    {
        ngx_log_error(NGX_LOG_INFO, c->log, NGX_ETIMEDOUT,
                      "websocket client timed out");
        ngx_ws_perf_start_close(wc, NGX_WS_PERF_CLOSE_GOING_AWAY);
        ngx_ws_perf_flush(wc);
        return;
    }

    if (wc->conf->ping_interval
        && now - wc->last_ping >= wc->conf->ping_interval)
    {
        wc->last_ping = now;

        if (ngx_ws_perf_send_control(wc, NGX_WS_PERF_OP_PING, NULL, 0)
            != NGX_OK)
        {
            ngx_ws_perf_finalize(wc);
            return;
        }
    }

    ngx_ws_perf_schedule(wc);
    ngx_ws_perf_flush(wc);
}


/*
 * A stream's client that has taken nothing for ws_perf_idle_timeout while
 * there was something to take goes (NGX_DONE); else a comment line is due
 * at ws_perf_ping_interval, to keep proxies from timing the stream out.
 */

static ngx_int_t
ngx_ws_perf_sse_timer(ngx_ws_perf_conn_t *wc)
{
    ngx_msec_t          now;
    ngx_ws_perf_out_t  *out;

    static u_char  ping[] = ": ping\n\n";

    now = ngx_current_msec;

    if (wc->conf->idle_timeout && wc->blocked
        && now - wc->last_in >= wc->conf->idle_timeout)
    {
        ngx_log_error(NGX_LOG_INFO, wc->peer.connection->log, NGX_ETIMEDOUT,
                      "event stream client timed out: it reads nothing");
        return NGX_DONE;
    }

    if (wc->conf->ping_interval == 0
        || now - wc->last_ping < wc->conf->ping_interval)
    {
        return NGX_OK;
    }

    wc->last_ping = now;

    out = ngx_ws_perf_out_raw(ping, sizeof(ping) - 1,
                              wc->peer.connection->log);
    if (out == NULL) {
        return NGX_ERROR;
    }

    if (ngx_ws_perf_queue_push(&wc->queue, out, NGX_WS_PERF_PRIO_CRITICAL,
                               wc->peer.connection->log)
        != NGX_OK)
    {
        ngx_ws_perf_out_release(out);
        return NGX_ERROR;
    }

    ngx_ws_perf_out_release(out);

    return NGX_OK;
}


/* arms the one timer at the nearest of the ping and idle deadlines */

static void
ngx_ws_perf_schedule(ngx_ws_perf_conn_t *wc)
{
    ngx_msec_t               now, next, t;
    ngx_ws_perf_loc_conf_t  *wlcf;

    wlcf = wc->conf;

    if (wc->peer.closing) {
        return;
    }

    now = ngx_current_msec;
    next = NGX_TIMER_INFINITE;

    if (wlcf->ping_interval) {
        t = now - wc->last_ping;
        t = (t >= wlcf->ping_interval) ? 1 : wlcf->ping_interval - t;
        next = ngx_min(next, t);
    }

    /* a stream's idle deadline runs only while its socket is blocked */
    if (wlcf->idle_timeout && (!wc->peer.sse || wc->blocked)) {
        t = now - wc->last_in;
        t = (t >= wlcf->idle_timeout) ? 1 : wlcf->idle_timeout - t;
        next = ngx_min(next, t);
    }

    if (next != NGX_TIMER_INFINITE) {
        ngx_add_timer(&wc->timer, next);
    }
}


/* what was just read; the rest, once the queue is full, is kept */

static ngx_int_t
ngx_ws_perf_input_read(ngx_ws_perf_conn_t *wc, size_t n)
{
    u_char     *pos, *last;
    ngx_int_t   rc;

    pos = ngx_ws_perf_read_buf;
    last = pos + n;

    rc = ngx_ws_perf_input(wc, &pos, last);

    if (rc != NGX_AGAIN) {
        return rc;
    }

    wc->input = ngx_alloc(last - pos, wc->peer.connection->log);
    if (wc->input == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(wc->input, pos, last - pos);
    wc->input_len = last - pos;
    wc->input_off = 0;

    return NGX_OK;
}


/* input kept from the handshake or from a pause, before any new read */

static ngx_int_t
ngx_ws_perf_input_kept(ngx_ws_perf_conn_t *wc)
{
    u_char     *pos, *last;
    ngx_int_t   rc;

    pos = wc->input + wc->input_off;
    last = wc->input + wc->input_len;

    rc = ngx_ws_perf_input(wc, &pos, last);

    if (rc == NGX_AGAIN) {
        wc->input_off = pos - wc->input;
        return NGX_OK;
    }

    ngx_free(wc->input);
    wc->input = NULL;

    return rc;
}


/*
 * Feeds input to the parser.  NGX_AGAIN: the queue is at its bound and
 * *pos is where the rest starts; NGX_ERROR: the connection must go now.
 */

static ngx_int_t
ngx_ws_perf_input(ngx_ws_perf_conn_t *wc, u_char **pos, u_char *last)
{
    ngx_ws_perf_out_t           *m;
    ngx_ws_perf_frame_parser_t  *p;

    p = &wc->parser;

    while (!wc->peer.closing) {

        switch (ngx_ws_perf_frame_parse(p, pos, last)) {

        case NGX_WS_PERF_FRAME_AGAIN:
            return NGX_OK;

        case NGX_WS_PERF_FRAME_HEADER:
            if (ngx_ws_perf_frame_header(wc) != NGX_OK) {
                return NGX_ERROR;
            }
            break;

        case NGX_WS_PERF_FRAME_DATA:
            m = wc->message;
            if (m) {
                m->last = ngx_cpymem(m->last, p->data, p->data_len);
            }
            break;

        case NGX_WS_PERF_FRAME_END:
            if (ngx_ws_perf_frame_end(wc) != NGX_OK) {
                return NGX_ERROR;
            }

            if (*pos < last && ngx_ws_perf_conn_full(wc)
                && !wc->peer.closing)
            {
                return NGX_AGAIN;
            }

            break;

        default: /* NGX_WS_PERF_FRAME_ERROR */
            ngx_log_error(NGX_LOG_INFO, wc->peer.connection->log, 0,
                          "client sent invalid websocket frame: %s, "
                          "closing with %ui", p->error,
                          (ngx_uint_t) p->close_code);
            ngx_ws_perf_start_close(wc, p->close_code);

            if (p->close_code == NGX_WS_PERF_CLOSE_TOO_BIG
                && wc->peer.connection->ssl)
            {
                ngx_ws_perf_skip_message(wc);
                break;
            }

            return NGX_OK;
        }
    }

    /*
     * the server began closing in the middle of this input: under TLS it
     * closes once the client's close frame came, which may be in the rest
     */

    if (wc->peer.connection->ssl && !wc->peer_closed
        && ngx_ws_perf_drain_close(wc, *pos, last))
    {
        wc->peer_closed = 1;
    }

    return NGX_OK;
}


/*
 * Makes room for a data frame's payload, sized from its header; a
 * fragmented message grows by doubling, up to the message size limit.
 */

static ngx_int_t
ngx_ws_perf_frame_header(ngx_ws_perf_conn_t *wc)
{
    size_t                       need, size;
    ngx_ws_perf_out_t           *m;
    ngx_ws_perf_frame_parser_t  *p;

    p = &wc->parser;

    if (p->opcode & 0x8) {
        return NGX_OK;
    }

    need = (size_t) (p->msg_length + p->length);

    if (wc->message && need <= wc->message_size) {
        return NGX_OK;
    }

    size = need;

    if (wc->message) {
        size = ngx_max(need, 2 * wc->message_size);
        size = ngx_min(size, wc->conf->max_message_size);
    }

    m = ngx_ws_perf_out_alloc(size, wc->peer.connection->log);
    if (m == NULL) {
        return NGX_ERROR;
    }

    if (wc->message) {
        m->last = ngx_cpymem(m->start, wc->message->start,
                             wc->message->last - wc->message->start);
        ngx_ws_perf_out_release(wc->message);
    }

    wc->message = m;
    wc->message_size = size;

    return NGX_OK;
}


static ngx_int_t
ngx_ws_perf_frame_end(ngx_ws_perf_conn_t *wc)
{
    ngx_ws_perf_frame_parser_t  *p;

    p = &wc->parser;

    switch (p->opcode) {

    case NGX_WS_PERF_OP_PING:
        return ngx_ws_perf_send_control(wc, NGX_WS_PERF_OP_PONG, p->data,
                                        p->data_len);

    case NGX_WS_PERF_OP_PONG:
        return NGX_OK;

    case NGX_WS_PERF_OP_CLOSE:
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, wc->peer.connection->log, 0,
                       "websocket client closed with %ui",
                       (ngx_uint_t) p->close_code);
        wc->peer_closed = 1;
        ngx_ws_perf_start_close(wc, p->close_code);
        return NGX_OK;
    }

    if (!p->fin) {
        return NGX_OK;
    }

    return ngx_ws_perf_message(wc);
}


/* a whole data message arrived */

static ngx_int_t
ngx_ws_perf_message(ngx_ws_perf_conn_t *wc)
{
    ngx_int_t           rc;
    ngx_ws_perf_out_t  *m, *z;

    m = wc->message;
    wc->message = NULL;

    if (m == NULL) {
        return NGX_OK;
    }

    /* a client over its rate costs no inflating */
    if (wc->conf->mode == NGX_WS_PERF_MODE_PUBSUB
        && ngx_ws_perf_rate_check(wc) != NGX_OK)
    {
        ngx_ws_perf_out_release(m);
        ngx_ws_perf_start_close(wc, NGX_WS_PERF_CLOSE_POLICY);
        return NGX_OK;
    }

    if (wc->parser.msg_rsv1) {
        rc = ngx_ws_perf_inflated(wc, &m);

        if (rc != NGX_OK) {
            return (rc == NGX_DECLINED) ? NGX_OK : NGX_ERROR;
        }
    }

    if (wc->conf->mode == NGX_WS_PERF_MODE_PUBSUB) {
        rc = ngx_ws_perf_command(wc, m->start, m->last - m->start);
        ngx_ws_perf_out_release(m);

        return rc;
    }

    ngx_ws_perf_out_finish(m, wc->parser.msg_opcode);

    if (wc->peer.deflate
        && (size_t) (m->last - m->start) >= wc->peer.deflate_min)
    {
        z = ngx_ws_perf_compress_deflate(m, wc->peer.connection->log);
        ngx_ws_perf_out_release(m);
        m = z;
    }

    rc = ngx_ws_perf_queue_push(&wc->queue, m, NGX_WS_PERF_PRIO_CRITICAL,
                                wc->peer.connection->log);
    ngx_ws_perf_out_release(m);

    return rc;
}


/*
 * A compressed message inflated in place of *m, within the message size
 * limit; a text checked as UTF-8.  NGX_DECLINED: the connection closes
 * (1009, 1007); NGX_ERROR: no memory.
 */

static ngx_int_t
ngx_ws_perf_inflated(ngx_ws_perf_conn_t *wc, ngx_ws_perf_out_t **m)
{
    u_char             *p;
    uint32_t            state;
    ngx_int_t           rc;
    ngx_uint_t          code;
    ngx_connection_t   *c;
    ngx_ws_perf_out_t  *plain;

    c = wc->peer.connection;

    if (wc->inflate_bits && wc->inflate == NULL) {
        wc->inflate = ngx_ws_perf_compress_inflate_context(wc->inflate_bits,
                                                           c->log);
        if (wc->inflate == NULL) {
            ngx_ws_perf_out_release(*m);
            return NGX_ERROR;
        }
    }

    p = (*m)->start;

    rc = ngx_ws_perf_compress_inflate(wc->inflate, p, (*m)->last - p,
                                      wc->conf->max_message_size, &plain,
                                      &code, c->log);
    ngx_ws_perf_out_release(*m);

    if (rc == NGX_ERROR) {
        return NGX_ERROR;
    }

    if (rc == NGX_DECLINED) {
        ngx_log_error(NGX_LOG_INFO, c->log, 0,
                      "client sent a compressed message that %s, closing "
                      "with %ui",
                      code == NGX_WS_PERF_CLOSE_TOO_BIG
                      ? "inflates past ws_perf_max_message_size"
                      : "is not valid deflate data", code);
        ngx_ws_perf_start_close(wc, code);
        return NGX_DECLINED;
    }

    state = 0;

    if (wc->parser.msg_opcode == NGX_WS_PERF_OP_TEXT
        && ngx_ws_perf_utf8_validate(&state, plain->start,
                                     plain->last - plain->start)
           != NGX_WS_PERF_UTF8_OK)
    {
        ngx_log_error(NGX_LOG_INFO, c->log, 0,
                      "client sent invalid websocket frame: invalid utf-8 "
                      "in compressed text message, closing with 1007");
        ngx_ws_perf_out_release(plain);
        ngx_ws_perf_start_close(wc, NGX_WS_PERF_CLOSE_BAD_DATA);
        return NGX_DECLINED;
    }

    *m = plain;

    return NGX_OK;
}


static ngx_int_t
ngx_ws_perf_send_control(ngx_ws_perf_conn_t *wc, ngx_uint_t opcode,
    u_char *data, size_t len)
{
    ngx_int_t           rc;
    ngx_ws_perf_out_t  *out;

    out = ngx_ws_perf_out_frame(opcode, data, len, wc->peer.connection->log);
    if (out == NULL) {
        return NGX_ERROR;
    }

    rc = ngx_ws_perf_queue_push(&wc->queue, out, NGX_WS_PERF_PRIO_CRITICAL,
                                wc->peer.connection->log);
    ngx_ws_perf_out_release(out);

    return rc;
}


/*
 * Queues the close frame after everything already queued and stops
 * reading messages; code 0 sends an empty close payload.
 */

static void
ngx_ws_perf_start_close(ngx_ws_perf_conn_t *wc, ngx_uint_t code)
{
    u_char              buf[2];
    ngx_ws_perf_out_t  *out;

    if (wc->peer.closing) {
        return;
    }

    wc->peer.closing = 1;
    ngx_ws_perf_metrics_closed(code);

    if (wc->message) {
        ngx_ws_perf_out_release(wc->message);
        wc->message = NULL;
    }

    buf[0] = (u_char) (code >> 8);
    buf[1] = (u_char) code;

    out = ngx_ws_perf_out_frame(NGX_WS_PERF_OP_CLOSE, buf, code ? 2 : 0,
                                wc->peer.connection->log);

    if (out == NULL
        || ngx_ws_perf_queue_push_last(&wc->queue, out,
                                       wc->peer.connection->log)
           != NGX_OK)
    {
        wc->draining = 1;
    }

    if (out) {
        ngx_ws_perf_out_release(out);
    }

    wc->timer.cancelable = 0;
    ngx_add_timer(&wc->timer, wc->conf->close_timeout);
}


static void
ngx_ws_perf_finalize(ngx_ws_perf_conn_t *wc)
{
    ngx_connection_t  *c;

    c = wc->peer.connection;

    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, c->log, 0, "websocket finalize");

    if (!wc->peer.closing && !wc->peer.sse) {
        ngx_ws_perf_metrics_closed(1006);
    }

    ngx_ws_perf_metrics_inc(conn_closed);

    if (wc->timer.timer_set) {
        ngx_del_timer(&wc->timer);
    }

    if (wc->timer.posted) {
        ngx_delete_posted_event(&wc->timer);
    }

    if (wc->message) {
        ngx_ws_perf_out_release(wc->message);
        wc->message = NULL;
    }

    if (wc->input) {
        ngx_free(wc->input);
        wc->input = NULL;
    }

    if (wc->inflate) {
        ngx_ws_perf_compress_inflate_free(wc->inflate);
        wc->inflate = NULL;
    }

    if (wc->peer.deflate) {
        ngx_ws_perf_mslot->deflate_conns--;
    }

    ngx_ws_perf_hub_direct_drop(&wc->peer);
    ngx_ws_perf_hub_unsubscribe_all(&wc->subs);
    ngx_ws_perf_queue_free(&wc->queue);

    if (wc->admitted) {
        ngx_ws_perf_leave(&wc->user);
    }

    if (wc->peer.resumed) {
        ngx_ws_perf_out_release(wc->peer.resumed);
    }

    ngx_http_close_connection(c);
}
