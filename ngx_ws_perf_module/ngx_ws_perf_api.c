
/*
 * Copyright (C) ngx_ws_perf_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include "ngx_ws_perf.h"
#include "ngx_ws_perf_metrics.h"


#define NGX_WS_PERF_ERR_LEN  256


static void ngx_ws_perf_publish_body(ngx_http_request_t *r);
static ngx_int_t ngx_ws_perf_publish_raw(ngx_http_request_t *r,
    ngx_ws_perf_loc_conf_t *wlcf, ngx_str_t *body, ngx_array_t *ids,
    u_char *err);
static ngx_int_t ngx_ws_perf_publish_json(ngx_http_request_t *r,
    ngx_str_t *body, ngx_array_t *ids, u_char *err);
static ngx_int_t ngx_ws_perf_publish_one(ngx_http_request_t *r,
    ngx_ws_perf_msg_t *m, ngx_array_t *ids);
static ngx_int_t ngx_ws_perf_read_body(ngx_http_request_t *r,
    ngx_str_t *body);
static ngx_int_t ngx_ws_perf_info(ngx_http_request_t *r,
    ngx_ws_perf_loc_conf_t *wlcf);
static ngx_int_t ngx_ws_perf_accepted(ngx_http_request_t *r,
    ngx_array_t *ids);
static ngx_int_t ngx_ws_perf_api_error(ngx_http_request_t *r,
    ngx_uint_t status, char *fmt, ...);


static uint64_t  ngx_ws_perf_next_id;


ngx_int_t
ngx_ws_perf_publish_handler(ngx_http_request_t *r)
{
    ngx_int_t                rc;
    ngx_table_elt_t         *h;
    ngx_ws_perf_loc_conf_t  *wlcf;

    wlcf = ngx_http_get_module_loc_conf(r, ngx_ws_perf_module);

    if (r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD)) {
        rc = ngx_http_discard_request_body(r);
        if (rc != NGX_OK) {
            return rc;
        }

        return ngx_ws_perf_info(r, wlcf);
    }

    if (!(r->method & NGX_HTTP_POST)) {
        h = ngx_list_push(&r->headers_out.headers);
        if (h == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        h->hash = 1;
        ngx_str_set(&h->key, "Allow");
        ngx_str_set(&h->value, "GET, POST");

        rc = ngx_http_discard_request_body(r);
        if (rc != NGX_OK) {
            return rc;
        }

        return ngx_ws_perf_api_error(r, NGX_HTTP_NOT_ALLOWED,
                                     "use POST to publish, GET for info");
    }

    if (r->headers_in.content_length_n > (off_t) wlcf->max_message_size) {
        r->keepalive = 0;
        return ngx_ws_perf_api_error(r, NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                     "body over ws_perf_max_message_size "
                                     "(%uz bytes)", wlcf->max_message_size);
    }

    r->request_body_in_single_buf = 1;

    rc = ngx_http_read_client_request_body(r, ngx_ws_perf_publish_body);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


static void
ngx_ws_perf_publish_body(ngx_http_request_t *r)
{
    u_char                   err[NGX_WS_PERF_ERR_LEN];
    ngx_int_t                rc;
    ngx_str_t                body;
    ngx_array_t              ids;
    ngx_ws_perf_loc_conf_t  *wlcf;

    wlcf = ngx_http_get_module_loc_conf(r, ngx_ws_perf_module);

    if (ngx_ws_perf_read_body(r, &body) != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    if (body.len > wlcf->max_message_size) {
        ngx_http_finalize_request(r,
            ngx_ws_perf_api_error(r, NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                  "body over ws_perf_max_message_size "
                                  "(%uz bytes)", wlcf->max_message_size));
        return;
    }

    if (ngx_array_init(&ids, r->pool, 1, sizeof(ngx_str_t)) != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    if (wlcf->channels) {
        rc = ngx_ws_perf_publish_raw(r, wlcf, &body, &ids, err);

    } else {
        rc = ngx_ws_perf_publish_json(r, &body, &ids, err);
    }

    if (rc == NGX_OK) {
        rc = ngx_ws_perf_accepted(r, &ids);

    } else if (rc == NGX_HTTP_BAD_REQUEST) {
        rc = ngx_ws_perf_api_error(r, rc, "%s", err);
    }

    ngx_http_finalize_request(r, rc);
}


/* the body is the payload; the channels come from ws_perf_channels */

/*
 * NGX_OK; NGX_HTTP_BAD_REQUEST with the reason in err (NGX_WS_PERF_ERR_LEN
 * bytes, zero-terminated); another status for a failure of ours.
 */

static ngx_int_t
ngx_ws_perf_publish_raw(ngx_http_request_t *r, ngx_ws_perf_loc_conf_t *wlcf,
    ngx_str_t *body, ngx_array_t *ids, u_char *err)
{
    int                 prio;
    uint32_t            state;
    ngx_str_t           value, arg, *name;
    ngx_uint_t          i;
    ngx_array_t         names;
    ngx_ws_perf_msg_t   m;

    if (ngx_http_complex_value(r, wlcf->channels, &value) != NGX_OK
        || ngx_array_init(&names, r->pool, 1, sizeof(ngx_str_t)) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_ws_perf_split_names(r->pool, &value, &names) != NGX_OK
        || names.nelts == 0)
    {
        ngx_snprintf(err, NGX_WS_PERF_ERR_LEN, "invalid channel name "
                     "\"%V\"%Z", &value);
        return NGX_HTTP_BAD_REQUEST;
    }

    ngx_memzero(&m, sizeof(ngx_ws_perf_msg_t));
    m.priority = NGX_WS_PERF_PRIO_NORMAL;

    if (ngx_http_arg(r, (u_char *) "priority", 8, &arg) == NGX_OK) {
        prio = ngx_ws_perf_msg_priority(arg.data, arg.len);

        if (prio < 0) {
            ngx_snprintf(err, NGX_WS_PERF_ERR_LEN, "priority must be low, "
                         "normal, high or critical%Z");
            return NGX_HTTP_BAD_REQUEST;
        }

        m.priority = prio;
    }

    state = 0;
    m.binary = (ngx_ws_perf_utf8_validate(&state, body->data, body->len)
                != NGX_WS_PERF_UTF8_OK);
    m.data = body->data;
    m.data_len = body->len;
    m.target = NGX_WS_PERF_TARGET_CHANNEL;

    name = names.elts;

    for (i = 0; i < names.nelts; i++) {
        m.name = name[i].data;
        m.name_len = name[i].len;
        m.id = NULL;
        m.id_len = 0;

        if (ngx_ws_perf_publish_one(r, &m, ids) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    return NGX_OK;
}


/* one JSON message or an array of them, all checked before any is sent */

static ngx_int_t
ngx_ws_perf_publish_json(ngx_http_request_t *r, ngx_str_t *body,
    ngx_array_t *ids, u_char *err)
{
    char               **dumps;
    size_t               i, n;
    json_t              *root, *obj;
    ngx_int_t            rc;
    const char          *reason;
    json_error_t         jerr;
    ngx_ws_perf_msg_t   *msgs;

    root = json_loadb((char *) body->data, body->len, 0, &jerr);

    if (root == NULL) {
        ngx_snprintf(err, NGX_WS_PERF_ERR_LEN, "invalid JSON at line %d: "
                     "%s%Z", jerr.line, jerr.text);
        return NGX_HTTP_BAD_REQUEST;
    }

    n = json_is_array(root) ? json_array_size(root) : 1;

    if (n == 0) {
        json_decref(root);
        ngx_snprintf(err, NGX_WS_PERF_ERR_LEN,
                     "an empty array publishes nothing%Z");
        return NGX_HTTP_BAD_REQUEST;
    }

    msgs = ngx_pcalloc(r->pool, n * sizeof(ngx_ws_perf_msg_t));
    dumps = ngx_pcalloc(r->pool, n * sizeof(char *));

    if (msgs == NULL || dumps == NULL) {
        json_decref(root);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = NGX_OK;

    for (i = 0; i < n; i++) {
        obj = json_is_array(root) ? json_array_get(root, i) : root;

        if (ngx_ws_perf_msg_from_json(obj, &msgs[i], &dumps[i], &reason)
            != 0)
        {
            ngx_snprintf(err, NGX_WS_PERF_ERR_LEN, "message %uz: %s%Z",
                         i, reason);
            rc = NGX_HTTP_BAD_REQUEST;
            goto done;
        }
    }

    for (i = 0; i < n; i++) {
        if (ngx_ws_perf_publish_one(r, &msgs[i], ids) != NGX_OK) {
            rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
            goto done;
        }
    }

done:

    for (i = 0; i < n; i++) {
        free(dumps[i]);
    }

    json_decref(root);

    return rc;
}


static ngx_int_t
ngx_ws_perf_publish_one(ngx_http_request_t *r, ngx_ws_perf_msg_t *m,
    ngx_array_t *ids)
{
    u_char     *buf;
    ngx_str_t  *id;

    buf = ngx_pnalloc(r->pool, NGX_WS_PERF_ID_MAX);
    id = ngx_array_push(ids);

    if (buf == NULL || id == NULL) {
        return NGX_ERROR;
    }

    if (ngx_ws_perf_publish(m, buf, r->connection->log) != NGX_OK) {
        return NGX_ERROR;
    }

    /* a publisher's own id lives in the JSON body, freed before the reply */
    if (m->id != buf) {
        ngx_memcpy(buf, m->id, m->id_len);
    }

    id->data = buf;
    id->len = m->id_len;

    return NGX_OK;
}


/*
 * Gives a message its id (unless the publisher chose one; buf holds
 * NGX_WS_PERF_ID_MAX bytes) and its time, and hands it to the hub.
 */

ngx_int_t
ngx_ws_perf_publish(ngx_ws_perf_msg_t *m, u_char *buf, ngx_log_t *log)
{
    u_char      *p;
    ngx_time_t  *tp;

    /* counted where it is published, before any engine takes it */
    ngx_ws_perf_metrics_inc(published);

    tp = ngx_timeofday();
    m->ts = (int64_t) tp->sec * 1000 + tp->msec;

    if (m->id == NULL) {
        p = ngx_snprintf(buf, NGX_WS_PERF_ID_MAX, "%L-%ui-%uL",
                         m->ts, ngx_worker, ++ngx_ws_perf_next_id);
        m->id = buf;
        m->id_len = p - buf;
    }

    (void) ngx_ws_perf_hub_deliver(m, log);

    return NGX_OK;
}


static ngx_int_t
ngx_ws_perf_read_body(ngx_http_request_t *r, ngx_str_t *body)
{
    size_t        len;
    u_char       *p;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    ngx_str_null(body);

    if (r->request_body == NULL || r->request_body->bufs == NULL) {
        return NGX_OK;
    }

    len = 0;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        b = cl->buf;

        if (b->in_file) {
            /* the location's client_body_buffer_size keeps bodies in memory */
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "publish body was buffered to a file");
            return NGX_ERROR;
        }

        len += b->last - b->pos;
    }

    if (len == 0) {
        return NGX_OK;
    }

    if (r->request_body->bufs->next == NULL) {
        body->data = r->request_body->bufs->buf->pos;
        body->len = len;
        return NGX_OK;
    }

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    body->data = p;
    body->len = len;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        if (cl->buf->last != cl->buf->pos) {
            p = ngx_cpymem(p, cl->buf->pos, cl->buf->last - cl->buf->pos);
        }
    }

    return NGX_OK;
}


/* GET: a channel's (or a user's) subscribers and messages in this node */

static ngx_int_t
ngx_ws_perf_info(ngx_http_request_t *r, ngx_ws_perf_loc_conf_t *wlcf)
{
    u_char               *p, buf[NGX_WS_PERF_NAME_MAX + 128];
    ngx_str_t             name, value;
    ngx_uint_t            target;
    ngx_array_t           names;
    ngx_ws_perf_topic_t  *topic;

    target = NGX_WS_PERF_TARGET_CHANNEL;
    ngx_str_null(&name);

    if (wlcf->channels) {
        if (ngx_http_complex_value(r, wlcf->channels, &value) != NGX_OK
            || ngx_array_init(&names, r->pool, 1, sizeof(ngx_str_t))
               != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (ngx_ws_perf_split_names(r->pool, &value, &names) == NGX_OK
            && names.nelts)
        {
            name = *(ngx_str_t *) names.elts;
        }

    } else if (ngx_http_arg(r, (u_char *) "user", 4, &name) == NGX_OK) {
        target = NGX_WS_PERF_TARGET_USER;

    } else {
        (void) ngx_http_arg(r, (u_char *) "channel", 7, &name);
    }

    if (!ngx_ws_perf_msg_valid_name(name.data, name.len)) {
        return ngx_ws_perf_api_error(r, NGX_HTTP_BAD_REQUEST,
                                     "name a valid channel (?channel=) "
                                     "or user (?user=)");
    }

    topic = ngx_ws_perf_hub_lookup(target, &name);

    p = ngx_sprintf(buf, "{\"%s\":\"%V\",\"subscribers\":%ui,"
                    "\"messages\":%uL}" CRLF,
                    target ? "user" : "channel", &name,
                    topic ? topic->nsubs : 0,
                    topic ? topic->published : 0);

    return ngx_ws_perf_send_response(r, NGX_HTTP_OK, "application/json", buf,
                                     p - buf);
}


static ngx_int_t
ngx_ws_perf_accepted(ngx_http_request_t *r, ngx_array_t *ids)
{
    u_char      *p, *buf;
    size_t       len;
    ngx_str_t   *id;
    ngx_uint_t   i;

    id = ids->elts;
    len = sizeof("{\"ids\":[]}" CRLF);

    for (i = 0; i < ids->nelts; i++) {
        len += id[i].len + 3;
    }

    buf = ngx_pnalloc(r->pool, len);
    if (buf == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_cpymem(buf, "{\"ids\":[", 8);

    for (i = 0; i < ids->nelts; i++) {
        p = ngx_sprintf(p, "%s\"%V\"", i ? "," : "", &id[i]);
    }

    p = ngx_cpymem(p, "]}" CRLF, 4);

    return ngx_ws_perf_send_response(r, NGX_HTTP_ACCEPTED, "application/json",
                                     buf, p - buf);
}


static ngx_int_t
ngx_ws_perf_api_error(ngx_http_request_t *r, ngx_uint_t status,
    char *fmt, ...)
{
    u_char   *p, *last, *buf;
    size_t    len;
    va_list   args;

    len = 512;

    buf = ngx_pnalloc(r->pool, len);
    if (buf == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    last = buf + len - 4;
    p = ngx_cpymem(buf, "{\"error\":\"", 10);

    va_start(args, fmt);
    p = ngx_vslprintf(p, last - 64, fmt, args);
    va_end(args);

    /* the reason may quote the client's input: keep it a JSON string */
    len = p - (buf + 10);
    p = buf + 10;

    while (len--) {
        if (*p == '"' || *p == '\\' || *p < 0x20) {
            *p = '\'';
        }

        p++;
    }

    p = ngx_cpymem(p, "\"}" CRLF, 4);

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "publish rejected with %ui: %*s", status,
                  p - buf - 14, buf + 10);

    return ngx_ws_perf_send_response(r, status, "application/json", buf,
                                     p - buf);
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
