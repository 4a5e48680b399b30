
/*
 * Copyright (C) ngx_ws_perf_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include "ngx_ws_perf.h"


typedef ngx_int_t (*ngx_ws_perf_command_pt)(ngx_ws_perf_conn_t *wc,
    json_t *cmd);


typedef struct {
    ngx_str_t                   name;
    ngx_ws_perf_command_pt      handler;
} ngx_ws_perf_command_t;


/* a client's "pub" waiting for the bus */
typedef struct {
    ngx_connection_t           *connection;
    ngx_atomic_uint_t           number;
} ngx_ws_perf_client_pub_t;


static ngx_int_t ngx_ws_perf_cmd_sub(ngx_ws_perf_conn_t *wc, json_t *cmd);
static ngx_int_t ngx_ws_perf_cmd_unsub(ngx_ws_perf_conn_t *wc, json_t *cmd);
static ngx_int_t ngx_ws_perf_cmd_pub(ngx_ws_perf_conn_t *wc, json_t *cmd);
static void ngx_ws_perf_client_published(void *data, ngx_uint_t tag,
    ngx_int_t rc, ngx_str_t *text);
static ngx_int_t ngx_ws_perf_cmd_ping(ngx_ws_perf_conn_t *wc, json_t *cmd);
static ngx_int_t ngx_ws_perf_cmd_ack(ngx_ws_perf_conn_t *wc, json_t *cmd);
static ngx_int_t ngx_ws_perf_cmd_resume(ngx_ws_perf_conn_t *wc,
    json_t *cmd);
static ngx_int_t ngx_ws_perf_channel_arg(ngx_ws_perf_conn_t *wc,
    json_t *cmd, ngx_str_t *name);
static ngx_uint_t ngx_ws_perf_stars(ngx_str_t *s);
static ngx_uint_t ngx_ws_perf_allowed(ngx_ws_perf_conn_t *wc,
    ngx_str_t *name);
static ngx_int_t ngx_ws_perf_reply_error(ngx_ws_perf_conn_t *wc,
    ngx_uint_t code, char *reason);
static ngx_int_t ngx_ws_perf_reply_channel(ngx_ws_perf_conn_t *wc,
    char *type, ngx_str_t *name);


static ngx_ws_perf_command_t  ngx_ws_perf_commands[] = {
    { ngx_string("sub"), ngx_ws_perf_cmd_sub },
    { ngx_string("unsub"), ngx_ws_perf_cmd_unsub },
    { ngx_string("pub"), ngx_ws_perf_cmd_pub },
    { ngx_string("ping"), ngx_ws_perf_cmd_ping },
    { ngx_string("ack"), ngx_ws_perf_cmd_ack },
    { ngx_string("resume"), ngx_ws_perf_cmd_resume },
    { ngx_null_string, NULL }
};


/*
 * Evaluates the endpoint's channels, user and channel patterns for this
 * request.  NGX_OK; NGX_ERROR; or the status (400, 429) to reject the
 * handshake with, and *reason.
 */

ngx_int_t
ngx_ws_perf_targets(ngx_http_request_t *r, ngx_ws_perf_loc_conf_t *wlcf,
    ngx_ws_perf_targets_t *t, char **reason)
{
    ngx_str_t                  value, *name;
    ngx_uint_t                 i;
    ngx_ws_perf_topic_t       *topic;
    ngx_http_complex_value_t  *cv;

    if (ngx_array_init(&t->channels, r->pool, 4, sizeof(ngx_str_t))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_str_null(&t->user);
    t->allowed = NULL;

    if (wlcf->channels) {
        if (ngx_http_complex_value(r, wlcf->channels, &value) != NGX_OK) {
            return NGX_ERROR;
        }

        if (ngx_ws_perf_split_names(r->pool, &value, &t->channels)
            != NGX_OK)
        {
            *reason = "websocket: invalid channel name";
            return NGX_HTTP_BAD_REQUEST;
        }

        if (t->channels.nelts > wlcf->max_channels) {
            *reason = "websocket: too many channels";
            return NGX_HTTP_BAD_REQUEST;
        }
    }

    if (wlcf->user) {
        if (ngx_http_complex_value(r, wlcf->user, &t->user) != NGX_OK) {
            return NGX_ERROR;
        }

        if (t->user.len
            && !ngx_ws_perf_msg_valid_name(t->user.data, t->user.len))
        {
            *reason = "websocket: invalid user name";
            return NGX_HTTP_BAD_REQUEST;
        }

        topic = t->user.len
                ? ngx_ws_perf_hub_lookup(NGX_WS_PERF_TARGET_USER, &t->user)
                : NULL;

        if (topic && topic->nsubs >= wlcf->max_user_connections) {
            *reason = "websocket: too many connections for this user";
            return NGX_HTTP_TOO_MANY_REQUESTS;
        }
    }

    if (wlcf->allowed_channels == NULL) {
        return NGX_OK;
    }

    t->allowed = ngx_array_create(r->connection->pool,
                                  wlcf->allowed_channels->nelts,
                                  sizeof(ngx_str_t));
    if (t->allowed == NULL) {
        return NGX_ERROR;
    }

    cv = wlcf->allowed_channels->elts;

    for (i = 0; i < wlcf->allowed_channels->nelts; i++) {
        if (ngx_http_complex_value(r, &cv[i], &value) != NGX_OK) {
            return NGX_ERROR;
        }

        name = ngx_array_push(t->allowed);
        if (name == NULL) {
            return NGX_ERROR;
        }

        if (cv[i].lengths == NULL) {
            /* a pattern without variables stays in the configuration */
            *name = value;
            continue;
        }

        /* a variable's value is a name, never a pattern */
        if (ngx_ws_perf_stars(&value) != ngx_ws_perf_stars(&cv[i].value)) {
            *reason = "websocket: a \"*\" in a value of "
                      "ws_perf_allowed_channels";
            return NGX_HTTP_BAD_REQUEST;
        }

        /* the connection outlives the request */
        name->data = ngx_pstrdup(r->connection->pool, &value);
        if (name->data == NULL) {
            return NGX_ERROR;
        }

        name->len = value.len;
    }

    return NGX_OK;
}


static ngx_uint_t
ngx_ws_perf_stars(ngx_str_t *s)
{
    ngx_uint_t  i, n;

    n = 0;

    for (i = 0; i < s->len; i++) {
        n += (s->data[i] == '*');
    }

    return n;
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


ngx_int_t
ngx_ws_perf_subscribe_targets(ngx_ws_perf_conn_t *wc,
    ngx_ws_perf_targets_t *t)
{
    ngx_int_t         rc;
    ngx_str_t        *name;
    ngx_uint_t        i;
    ngx_connection_t  *c;

    c = wc->peer.connection;
    name = t->channels.elts;

    for (i = 0; i < t->channels.nelts; i++) {
        rc = ngx_ws_perf_hub_subscribe(&wc->peer, &wc->subs,
                                       NGX_WS_PERF_TARGET_CHANNEL, &name[i],
                                       c->log);
        if (rc == NGX_ERROR) {
            return NGX_ERROR;
        }

        if (rc == NGX_OK) {
            wc->nchannels++;
        }
    }

    wc->allowed = t->allowed;

    if (t->user.len == 0) {
        return NGX_OK;
    }

    wc->user.data = ngx_pstrdup(c->pool, &t->user);
    if (wc->user.data == NULL) {
        return NGX_ERROR;
    }

    wc->user.len = t->user.len;

    rc = ngx_ws_perf_hub_subscribe(&wc->peer, &wc->subs,
                                   NGX_WS_PERF_TARGET_USER, &wc->user, c->log);

    return (rc == NGX_ERROR) ? NGX_ERROR : NGX_OK;
}


/*
 * A token bucket of ws_perf_client_rate messages a second with two
 * seconds of burst; NGX_OK, or NGX_ERROR after starting a 1008 close.
 */

ngx_int_t
ngx_ws_perf_rate_check(ngx_ws_perf_conn_t *wc)
{
    ngx_msec_t  now, elapsed;
    ngx_uint_t  rate, burst;

    rate = wc->conf->client_rate;

    if (rate == 0) {
        return NGX_OK;
    }

    now = ngx_current_msec;
    elapsed = now - wc->rate_time;
    wc->rate_time = now;

    burst = 2000 * rate;
    wc->rate_credit += ngx_min(elapsed, 2000) * rate;
    wc->rate_credit = ngx_min(wc->rate_credit, burst);

    if (wc->rate_credit >= 1000) {
        wc->rate_credit -= 1000;
        return NGX_OK;
    }

    ngx_log_error(NGX_LOG_INFO, wc->peer.connection->log, 0,
                  "websocket client sends more than %ui messages a second, "
                  "closing with 1008", rate);

    return NGX_DECLINED;
}


/* one client command; NGX_ERROR: the connection must go */

ngx_int_t
ngx_ws_perf_command(ngx_ws_perf_conn_t *wc, u_char *p, size_t len)
{
    size_t                  tlen;
    json_t                 *cmd, *type;
    ngx_int_t               rc;
    const char             *t;
    json_error_t            err;
    ngx_ws_perf_command_t  *c;

    if (wc->parser.msg_opcode != NGX_WS_PERF_OP_TEXT) {
        return ngx_ws_perf_reply_error(wc, 400, "commands are JSON text");
    }

    cmd = json_loadb((char *) p, len, 0, &err);

    if (cmd == NULL || !json_is_object(cmd)) {
        if (cmd) {
            json_decref(cmd);
        }

        return ngx_ws_perf_reply_error(wc, 400, "invalid JSON command");
    }

    type = json_object_get(cmd, "type");
    t = json_string_value(type);
    tlen = t ? json_string_length(type) : 0;

    rc = NGX_DONE;

    for (c = ngx_ws_perf_commands; c->handler; c++) {
        if (c->name.len == tlen && ngx_strncmp(c->name.data, t, tlen) == 0) {
            rc = c->handler(wc, cmd);
            break;
        }
    }

    json_decref(cmd);

    if (rc == NGX_DONE) {
        return ngx_ws_perf_reply_error(wc, 400, "unknown command type");
    }

    return rc;
}


static ngx_int_t
ngx_ws_perf_cmd_sub(ngx_ws_perf_conn_t *wc, json_t *cmd)
{
    ngx_int_t  rc;
    ngx_str_t  name;

    rc = ngx_ws_perf_channel_arg(wc, cmd, &name);
    if (rc != NGX_OK) {
        return rc == NGX_DECLINED ? NGX_OK : rc;
    }

    if (wc->allowed == NULL) {
        return ngx_ws_perf_reply_error(wc, 403,
                                       "client subscriptions are disabled");
    }

    if (!ngx_ws_perf_allowed(wc, &name)) {
        return ngx_ws_perf_reply_error(wc, 403, "channel not allowed");
    }

    if (wc->nchannels >= wc->conf->max_channels
        && *ngx_ws_perf_hub_find(&wc->subs, NGX_WS_PERF_TARGET_CHANNEL,
                                 &name) == NULL)
    {
        return ngx_ws_perf_reply_error(wc, 429, "too many channels");
    }

    rc = ngx_ws_perf_hub_subscribe(&wc->peer, &wc->subs,
                                   NGX_WS_PERF_TARGET_CHANNEL, &name,
                                   wc->peer.connection->log);
    if (rc == NGX_ERROR) {
        return NGX_ERROR;
    }

    if (rc == NGX_OK) {
        wc->nchannels++;
    }

    return ngx_ws_perf_reply_channel(wc, "subscribed", &name);
}


static ngx_int_t
ngx_ws_perf_cmd_unsub(ngx_ws_perf_conn_t *wc, json_t *cmd)
{
    ngx_int_t  rc;
    ngx_str_t  name;

    rc = ngx_ws_perf_channel_arg(wc, cmd, &name);
    if (rc != NGX_OK) {
        return rc == NGX_DECLINED ? NGX_OK : rc;
    }

    if (ngx_ws_perf_hub_unsubscribe(&wc->subs, NGX_WS_PERF_TARGET_CHANNEL,
                                    &name)
        != NGX_OK)
    {
        return ngx_ws_perf_reply_error(wc, 404, "not subscribed");
    }

    wc->nchannels--;

    return ngx_ws_perf_reply_channel(wc, "unsubscribed", &name);
}


static ngx_int_t
ngx_ws_perf_cmd_pub(ngx_ws_perf_conn_t *wc, json_t *cmd)
{
    char                       *dump;
    ngx_int_t                   rc;
    ngx_str_t                   name;
    const char                 *err;
    ngx_ws_perf_msg_t           m;
    ngx_ws_perf_client_pub_t   *pub;

    if (!wc->conf->client_publish) {
        return ngx_ws_perf_reply_error(wc, 403, "client publish is disabled");
    }

    if (ngx_ws_perf_msg_from_json(cmd, &m, &dump, &err) != 0) {
        return ngx_ws_perf_reply_error(wc, 400, (char *) err);
    }

    if (m.target != NGX_WS_PERF_TARGET_CHANNEL) {
        rc = ngx_ws_perf_reply_error(wc, 403, "clients publish to channels");
        goto done;
    }

    /* ids are the server's: a client's could hide a real message */
    if (m.id) {
        rc = ngx_ws_perf_reply_error(wc, 400, "clients may not choose "
                                     "message ids");
        goto done;
    }

    if (m.deliver_at || m.delay) {
        rc = ngx_ws_perf_reply_error(wc, 400, "clients may not schedule "
                                     "messages");
        goto done;
    }

    if (m.priority == NGX_WS_PERF_PRIO_CRITICAL
        && !wc->conf->client_critical)
    {
        rc = ngx_ws_perf_reply_error(wc, 403, "clients may not publish "
                                     "critical messages "
                                     "(ws_perf_client_critical)");
        goto done;
    }

    if (ngx_ws_perf_publish_too_big(&m)) {
        rc = ngx_ws_perf_reply_error(wc, 413, "message too large for the "
                                     "subscribers' send queues");
        goto done;
    }

    name.data = (u_char *) m.name;
    name.len = m.name_len;

    if (wc->allowed == NULL || !ngx_ws_perf_allowed(wc, &name)) {
        rc = ngx_ws_perf_reply_error(wc, 403, "channel not allowed");
        goto done;
    }

    pub = ngx_alloc(sizeof(ngx_ws_perf_client_pub_t),
                    wc->peer.connection->log);
    if (pub == NULL) {
        rc = NGX_ERROR;
        goto done;
    }

    pub->connection = wc->peer.connection;
    pub->number = wc->peer.connection->number;

    rc = ngx_ws_perf_publish(&m, ngx_ws_perf_client_published, pub, 0,
                             wc->peer.connection->log);

    switch (rc) {

    case NGX_OK:
    case NGX_AGAIN:
        rc = NGX_OK;
        break;

    case NGX_DECLINED:
        ngx_free(pub);
        rc = ngx_ws_perf_reply_error(wc, 503, "redis is unavailable");
        break;

    case NGX_BUSY:
        ngx_free(pub);
        rc = ngx_ws_perf_reply_error(wc, 429, "too many publishes are "
                                     "waiting for redis");
        break;

    default:
        ngx_free(pub);
        rc = ngx_ws_perf_reply_error(wc, 500, "publish failed");
        break;
    }

done:

    free(dump);

    return rc;
}


/*
 * The outcome of a client's "pub": the reply goes to the connection if it
 * is still the one that asked (connections are reused, their numbers not).
 */

static void
ngx_ws_perf_client_published(void *data, ngx_uint_t tag, ngx_int_t rc,
    ngx_str_t *text)
{
    ngx_ws_perf_client_pub_t *pub = data;

    u_char              *p, reply[NGX_WS_PERF_ID_MAX + 64];
    ngx_connection_t    *c;
    ngx_ws_perf_conn_t  *wc;

    c = pub->connection;

    if (c->fd == (ngx_socket_t) -1 || c->number != pub->number) {
        ngx_free(pub);
        return;
    }

    ngx_free(pub);

    wc = c->data;

    if (wc->peer.closing) {
        return;
    }

    if (rc == NGX_OK) {
        p = ngx_sprintf(reply, "{\"type\":\"published\",\"id\":\"%*s\"}",
                        ngx_min(text->len, NGX_WS_PERF_ID_MAX), text->data);

        (void) ngx_ws_perf_conn_reply(wc, reply, p - reply);

    } else {
        (void) ngx_ws_perf_reply_error(wc, rc, "publish failed in redis");
    }

    if (!c->write->posted) {
        ngx_post_event(c->write, &ngx_posted_events);
    }
}


static ngx_int_t
ngx_ws_perf_cmd_ping(ngx_ws_perf_conn_t *wc, json_t *cmd)
{
    static u_char  pong[] = "{\"type\":\"pong\"}";

    return ngx_ws_perf_conn_reply(wc, pong, sizeof(pong) - 1);
}


static ngx_int_t
ngx_ws_perf_cmd_ack(ngx_ws_perf_conn_t *wc, json_t *cmd)
{
    json_t     *v;
    ngx_str_t   id;

    v = json_object_get(cmd, "id");

    if (!json_is_string(v)
        || !ngx_ws_perf_msg_valid_id((u_char *) json_string_value(v),
                                     json_string_length(v)))
    {
        return ngx_ws_perf_reply_error(wc, 400, "ack: \"id\" must be the "
                                       "id of a message");
    }

    id.data = (u_char *) json_string_value(v);
    id.len = json_string_length(v);

    return ngx_ws_perf_store_ack(wc, &id);
}


/* {"type":"resume","channel":NAME|"user":true,"since":ID} */

static ngx_int_t
ngx_ws_perf_cmd_resume(ngx_ws_perf_conn_t *wc, json_t *cmd)
{
    json_t             *v;
    ngx_str_t           name, since;
    ngx_uint_t          target;
    ngx_ws_perf_sub_t  *sub;

    v = json_object_get(cmd, "since");

    if (!json_is_string(v)) {
        return ngx_ws_perf_reply_error(wc, 400, "resume: \"since\" must be "
                                       "the id of the last message seen");
    }

    since.data = (u_char *) json_string_value(v);
    since.len = json_string_length(v);

    if (json_object_get(cmd, "user")) {
        if (wc->user.len == 0) {
            return ngx_ws_perf_reply_error(wc, 400, "this connection has no "
                                           "user");
        }

        target = NGX_WS_PERF_TARGET_USER;
        name = wc->user;

    } else {
        switch (ngx_ws_perf_channel_arg(wc, cmd, &name)) {
        case NGX_OK:
            break;
        case NGX_DECLINED:
            return NGX_OK;
        default:
            return NGX_ERROR;
        }

        target = NGX_WS_PERF_TARGET_CHANNEL;
    }

    sub = *ngx_ws_perf_hub_find(&wc->subs, target, &name);

    if (sub == NULL) {
        return ngx_ws_perf_reply_error(wc, 404, "resume: not subscribed to "
                                       "it");
    }

    return ngx_ws_perf_store_resume(wc, sub, &since);
}


/* NGX_OK; NGX_DECLINED: an error reply was queued */

static ngx_int_t
ngx_ws_perf_channel_arg(ngx_ws_perf_conn_t *wc, json_t *cmd, ngx_str_t *name)
{
    json_t  *v;

    v = json_object_get(cmd, "channel");

    if (!json_is_string(v)
        || !ngx_ws_perf_msg_valid_name((u_char *) json_string_value(v),
                                       json_string_length(v)))
    {
        if (ngx_ws_perf_reply_error(wc, 400, "invalid channel name")
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        return NGX_DECLINED;
    }

    name->data = (u_char *) json_string_value(v);
    name->len = json_string_length(v);

    return NGX_OK;
}


static ngx_uint_t
ngx_ws_perf_allowed(ngx_ws_perf_conn_t *wc, ngx_str_t *name)
{
    ngx_str_t   *pat;
    ngx_uint_t   i;

    pat = wc->allowed->elts;

    for (i = 0; i < wc->allowed->nelts; i++) {
        if (ngx_ws_perf_msg_glob(pat[i].data, pat[i].len, name->data,
                                 name->len))
        {
            return 1;
        }
    }

    return 0;
}


static ngx_int_t
ngx_ws_perf_reply_error(ngx_ws_perf_conn_t *wc, ngx_uint_t code,
    char *reason)
{
    u_char  *p, buf[512];
    size_t   len;

    len = ngx_min(ngx_strlen(reason), 128);

    p = ngx_sprintf(buf, "{\"type\":\"error\",\"code\":%ui,\"reason\":\"",
                    code);
    p = ngx_ws_perf_json_escape(p, (u_char *) reason, len);
    p = ngx_cpymem(p, "\"}", 2);

    return ngx_ws_perf_conn_reply(wc, buf, p - buf);
}


static ngx_int_t
ngx_ws_perf_reply_channel(ngx_ws_perf_conn_t *wc, char *type,
    ngx_str_t *name)
{
    u_char  *p, buf[NGX_WS_PERF_NAME_MAX + 64];

    p = ngx_sprintf(buf, "{\"type\":\"%s\",\"channel\":\"%V\"}", type, name);

    return ngx_ws_perf_conn_reply(wc, buf, p - buf);
}
