
/*
 * Copyright (C) ngx_ws_perf_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include "ngx_ws_perf_pubsub.h"
#include "ngx_ws_perf_cmd.h"
#include "ngx_ws_perf_engine.h"
#include "ngx_ws_perf_http.h"


typedef ngx_int_t (*ngx_ws_perf_command_pt)(ngx_ws_perf_conn_t *wc,
    ngx_ws_perf_cmd_t *cmd, ngx_ws_perf_sub_t *sub);


/* a client's "pub" waiting for the bus */
typedef struct {
    ngx_connection_t           *connection;
    ngx_atomic_uint_t           number;
} ngx_ws_perf_client_pub_t;


static void ngx_ws_perf_command_state(ngx_ws_perf_conn_t *wc,
    ngx_ws_perf_cmd_t *cmd, ngx_ws_perf_cmd_state_t *st,
    ngx_ws_perf_sub_t **sub);
static ngx_int_t ngx_ws_perf_cmd_sub(ngx_ws_perf_conn_t *wc,
    ngx_ws_perf_cmd_t *cmd, ngx_ws_perf_sub_t *sub);
static ngx_int_t ngx_ws_perf_cmd_unsub(ngx_ws_perf_conn_t *wc,
    ngx_ws_perf_cmd_t *cmd, ngx_ws_perf_sub_t *sub);
static ngx_int_t ngx_ws_perf_cmd_pub(ngx_ws_perf_conn_t *wc,
    ngx_ws_perf_cmd_t *cmd, ngx_ws_perf_sub_t *sub);
static void ngx_ws_perf_client_published(void *data, ngx_uint_t tag,
    ngx_int_t rc, ngx_str_t *text);
static ngx_int_t ngx_ws_perf_cmd_ping(ngx_ws_perf_conn_t *wc,
    ngx_ws_perf_cmd_t *cmd, ngx_ws_perf_sub_t *sub);
static ngx_int_t ngx_ws_perf_cmd_ack(ngx_ws_perf_conn_t *wc,
    ngx_ws_perf_cmd_t *cmd, ngx_ws_perf_sub_t *sub);
static ngx_int_t ngx_ws_perf_cmd_resume(ngx_ws_perf_conn_t *wc,
    ngx_ws_perf_cmd_t *cmd, ngx_ws_perf_sub_t *sub);
static ngx_uint_t ngx_ws_perf_stars(ngx_str_t *s);
static ngx_int_t ngx_ws_perf_stream_positions(ngx_ws_perf_conn_t *wc,
    ngx_str_t *since);
static u_char *ngx_ws_perf_stream_part(u_char *p, u_char *last, ngx_uint_t n,
    size_t *len);
static ngx_uint_t ngx_ws_perf_allowed(ngx_ws_perf_conn_t *wc,
    ngx_str_t *name);
#define ngx_ws_perf_pubsub_error(wc, code, reason)                            \
    ngx_ws_perf_hub_error(&(wc)->peer, code, (const char *) (reason), 0, NULL)


static ngx_int_t ngx_ws_perf_reply_channel(ngx_ws_perf_conn_t *wc,
    char *type, ngx_str_t *name);
static ngx_int_t ngx_ws_perf_target_user(ngx_http_request_t *r,
    ngx_ws_perf_loc_conf_t *wlcf, ngx_ws_perf_targets_t *t, char **reason);
static ngx_int_t ngx_ws_perf_target_patterns(ngx_http_request_t *r,
    ngx_ws_perf_loc_conf_t *wlcf, ngx_ws_perf_targets_t *t, char **reason);


/* indexed by NGX_WS_PERF_CMD_* */
static ngx_ws_perf_command_pt  ngx_ws_perf_commands[] = {
    ngx_ws_perf_cmd_sub,
    ngx_ws_perf_cmd_unsub,
    ngx_ws_perf_cmd_pub,
    ngx_ws_perf_cmd_ping,
    ngx_ws_perf_cmd_ack,
    ngx_ws_perf_cmd_resume
};


/*
 * Evaluates the endpoint's channels, user and channel patterns for this
 * request.  NGX_OK; NGX_ERROR; or the status (400) to reject the
 * handshake with, and *reason.
 */

ngx_int_t
ngx_ws_perf_targets(ngx_http_request_t *r, ngx_ws_perf_loc_conf_t *wlcf,
    ngx_ws_perf_targets_t *t, char **reason)
{
    ngx_int_t  rc;
    ngx_str_t  value;

    if (ngx_array_init(&t->channels, r->pool, 4, sizeof(ngx_str_t))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_str_null(&t->user);
    ngx_str_null(&t->since);
    t->allowed = NULL;
    t->admitted = 0;

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
        rc = ngx_ws_perf_target_user(r, wlcf, t, reason);
        if (rc != NGX_OK) {
            return rc;
        }
    }

    if (wlcf->allowed_channels == NULL) {
        return NGX_OK;
    }

    return ngx_ws_perf_target_patterns(r, wlcf, t, reason);
}


/* ws_perf_user's value: a valid name (its slot is ngx_ws_perf_admit's) */

static ngx_int_t
ngx_ws_perf_target_user(ngx_http_request_t *r, ngx_ws_perf_loc_conf_t *wlcf,
    ngx_ws_perf_targets_t *t, char **reason)
{
    if (ngx_http_complex_value(r, wlcf->user, &t->user) != NGX_OK) {
        return NGX_ERROR;
    }

    if (t->user.len == 0) {
        return NGX_OK;
    }

    if (!ngx_ws_perf_msg_valid_name(t->user.data, t->user.len)) {
        *reason = "websocket: invalid user name";
        return NGX_HTTP_BAD_REQUEST;
    }

    return NGX_OK;
}


/*
 * One of the user's ws_perf_max_connections_per_user slots, which the
 * engine counts on every worker (and node): NGX_OK taken, NGX_DECLINED
 * the user has them all, NGX_AGAIN handler will be called, NGX_ERROR.
 */

ngx_int_t
ngx_ws_perf_admit(ngx_ws_perf_loc_conf_t *wlcf, ngx_str_t *user,
    ngx_ws_perf_admit_pt handler, void *data)
{
    return ngx_ws_perf_engine->admit(user, wlcf->max_user_connections,
                                     handler, data);
}


void
ngx_ws_perf_leave(ngx_str_t *user)
{
    ngx_ws_perf_engine->leave(user);
}


/*
 * ws_perf_allowed_channels: the patterns a "sub" may name, kept in the
 * connection's pool
 */

static ngx_int_t
ngx_ws_perf_target_patterns(ngx_http_request_t *r,
    ngx_ws_perf_loc_conf_t *wlcf, ngx_ws_perf_targets_t *t, char **reason)
{
    ngx_str_t                  value, *name;
    ngx_uint_t                 i;
    ngx_http_complex_value_t  *cv;

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

    /* first: a presence connection is a member of its channels as a user */
    if (t->user.len) {
        wc->user.data = ngx_pstrdup(c->pool, &t->user);
        if (wc->user.data == NULL) {
            return NGX_ERROR;
        }

        wc->user.len = t->user.len;
    }

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
        return ngx_ws_perf_stream_positions(wc, &t->since);
    }

    rc = ngx_ws_perf_hub_subscribe(&wc->peer, &wc->subs,
                                   NGX_WS_PERF_TARGET_USER, &wc->user, c->log);

    if (rc == NGX_ERROR) {
        return NGX_ERROR;
    }

    return ngx_ws_perf_stream_positions(wc, &t->since);
}


/*
 * An event stream of several targets numbers them, channels in the order
 * given then the user, for the positions its events carry as their ids;
 * they start where its Last-Event-ID (since) says, before any message can
 * come.  NGX_OK, NGX_ERROR.
 */

static ngx_int_t
ngx_ws_perf_stream_positions(ngx_ws_perf_conn_t *wc, ngx_str_t *since)
{
    ngx_str_t           part;
    ngx_uint_t          n;
    ngx_ws_perf_sub_t  *sub;
    ngx_ws_perf_pos_t  *pos;

    n = 0;

    for (sub = wc->subs; sub; sub = sub->next) {
        n++;
    }

    if (!wc->peer.sse || n < 2) {
        return NGX_OK;
    }

    wc->peer.pos = ngx_pcalloc(wc->peer.connection->pool,
                               n * sizeof(ngx_ws_perf_pos_t));
    if (wc->peer.pos == NULL) {
        return NGX_ERROR;
    }

    wc->peer.npos = n;

    /* the list holds the newest subscription first */
    for (sub = wc->subs; sub; sub = sub->next) {
        sub->index = --n;

        part = *since;

        if (ngx_strlchr(since->data, since->data + since->len, ',')) {
            part.data = ngx_ws_perf_stream_part(since->data,
                                                since->data + since->len,
                                                sub->index, &part.len);
        }

        if (part.len && part.len <= NGX_WS_PERF_ID_MAX) {
            pos = &wc->peer.pos[sub->index];
            pos->len = part.len;
            ngx_memcpy(pos->id, part.data, part.len);
        }
    }

    return NGX_OK;
}


/*
 * The targets a stream subscribes to: its channels less the repeated
 * ones, and its user
 */

ngx_uint_t
ngx_ws_perf_stream_targets(ngx_ws_perf_targets_t *t)
{
    ngx_str_t   *name;
    ngx_uint_t   i, j, n;

    name = t->channels.elts;
    n = (t->user.len != 0);

    for (i = 0; i < t->channels.nelts; i++) {
        for (j = 0; j < i; j++) {
            if (name[j].len == name[i].len
                && ngx_strncmp(name[j].data, name[i].data, name[i].len) == 0)
            {
                break;
            }
        }

        n += (j == i);
    }

    return n;
}


/*
 * An event stream's Last-Event-ID: one id, from which every subscription
 * resumes, as a WebSocket client's "resume" would; or, for a stream of
 * several targets, its positions (ngx_ws_perf_stream_positions()), one
 * part per target, from which each resumes on its own (an empty part:
 * that target does not resume).  The handshake checked the parts.
 * NGX_OK, NGX_ERROR.
 */

ngx_int_t
ngx_ws_perf_resume_targets(ngx_ws_perf_conn_t *wc)
{
    u_char             *p, *last, *comma;
    ngx_str_t           since;
    ngx_ws_perf_sub_t  *sub;

    p = wc->since.data;
    last = p + wc->since.len;
    comma = ngx_strlchr(p, last, ',');

    for (sub = wc->subs; sub; sub = sub->next) {
        since = wc->since;

        if (comma) {
            since.data = ngx_ws_perf_stream_part(p, last, sub->index,
                                                 &since.len);
        }

        if (since.len == 0) {
            continue;
        }

        if (ngx_ws_perf_engine->resume(&wc->peer, sub, &since)
            == NGX_ERROR)
        {
            return NGX_ERROR;
        }

        if (wc->peer.closing) {
            break;
        }
    }

    return NGX_OK;
}


/* the n-th part of positions joined by ',' (empty when there are fewer) */

static u_char *
ngx_ws_perf_stream_part(u_char *p, u_char *last, ngx_uint_t n, size_t *len)
{
    u_char  *end;

    for ( ;; ) {
        end = ngx_strlchr(p, last, ',');

        if (end == NULL) {
            end = last;
        }

        if (n-- == 0) {
            *len = end - p;
            return p;
        }

        if (end == last) {
            *len = 0;
            return last;
        }

        p = end + 1;
    }
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


/*
 * One client command: read and checked by ngx_ws_perf_cmd_parse() and
 * ngx_ws_perf_cmd_check(), then done here.  NGX_ERROR: the connection
 * must go.
 */

ngx_int_t
ngx_ws_perf_command(ngx_ws_perf_conn_t *wc, u_char *p, size_t len)
{
    ngx_int_t                 rc;
    ngx_ws_perf_sub_t        *sub;
    ngx_ws_perf_cmd_t         cmd;
    ngx_ws_perf_cmd_state_t   st;

    ngx_memzero(&st, sizeof(ngx_ws_perf_cmd_state_t));

    st.flags = (wc->conf->client_publish ? NGX_WS_PERF_CMD_PUBLISH : 0)
               | (wc->conf->client_critical ? NGX_WS_PERF_CMD_CRITICAL : 0)
               | (wc->allowed ? NGX_WS_PERF_CMD_PATTERNS : 0)
               | (wc->user.len ? NGX_WS_PERF_CMD_USER : 0);

    if (ngx_ws_perf_cmd_parse(&cmd, p, len,
                              wc->parser.msg_opcode == NGX_WS_PERF_OP_TEXT,
                              st.flags)
        != 0)
    {
        goto failed;
    }

    if (cmd.type == NGX_WS_PERF_CMD_PUB
        && ngx_ws_perf_publish_too_big(&cmd.msg))
    {
        rc = ngx_ws_perf_pubsub_error(wc, 413, "message too large for the "
                                     "subscribers' send queues");
        goto done;
    }

    ngx_ws_perf_command_state(wc, &cmd, &st, &sub);

    if (ngx_ws_perf_cmd_check(&cmd, &st) != 0) {
        goto failed;
    }

    rc = ngx_ws_perf_commands[cmd.type](wc, &cmd, sub);

done:

    ngx_ws_perf_cmd_free(&cmd);

    return rc;

failed:

    rc = ngx_ws_perf_pubsub_error(wc, cmd.code, (char *) cmd.reason);

    ngx_ws_perf_cmd_free(&cmd);

    return rc;
}


/* the connection's counts, and its subscription to the command's target */

static void
ngx_ws_perf_command_state(ngx_ws_perf_conn_t *wc, ngx_ws_perf_cmd_t *cmd,
    ngx_ws_perf_cmd_state_t *st, ngx_ws_perf_sub_t **sub)
{
    ngx_str_t   name;
    ngx_uint_t  target;

    st->nchannels = wc->nchannels;
    st->max_channels = wc->conf->max_channels;

    *sub = NULL;

    if (cmd->user) {
        target = NGX_WS_PERF_TARGET_USER;
        name = wc->user;

    } else {
        target = NGX_WS_PERF_TARGET_CHANNEL;
        name.data = (u_char *) cmd->name;
        name.len = cmd->name_len;
    }

    if (name.len == 0) {
        return;
    }

    if (!cmd->user && wc->allowed) {
        st->allowed = ngx_ws_perf_allowed(wc, &name);
    }

    if (cmd->type != NGX_WS_PERF_CMD_PUB) {
        *sub = *ngx_ws_perf_hub_find(&wc->subs, target, &name);
        st->subscribed = (*sub != NULL);
    }
}


static ngx_int_t
ngx_ws_perf_cmd_sub(ngx_ws_perf_conn_t *wc, ngx_ws_perf_cmd_t *cmd,
    ngx_ws_perf_sub_t *sub)
{
    ngx_int_t  rc;
    ngx_str_t  name;

    name.data = (u_char *) cmd->name;
    name.len = cmd->name_len;

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
ngx_ws_perf_cmd_unsub(ngx_ws_perf_conn_t *wc, ngx_ws_perf_cmd_t *cmd,
    ngx_ws_perf_sub_t *sub)
{
    ngx_str_t  name;

    name.data = (u_char *) cmd->name;
    name.len = cmd->name_len;

    if (ngx_ws_perf_hub_unsubscribe(&wc->subs, NGX_WS_PERF_TARGET_CHANNEL,
                                    &name)
        != NGX_OK)
    {
        return ngx_ws_perf_pubsub_error(wc, 404, "not subscribed");
    }

    wc->nchannels--;

    return ngx_ws_perf_reply_channel(wc, "unsubscribed", &name);
}


static ngx_int_t
ngx_ws_perf_cmd_pub(ngx_ws_perf_conn_t *wc, ngx_ws_perf_cmd_t *cmd,
    ngx_ws_perf_sub_t *sub)
{
    ngx_int_t                   rc;
    ngx_ws_perf_client_pub_t   *pub;

    pub = ngx_alloc(sizeof(ngx_ws_perf_client_pub_t),
                    wc->peer.connection->log);
    if (pub == NULL) {
        return NGX_ERROR;
    }

    pub->connection = wc->peer.connection;
    pub->number = wc->peer.connection->number;

    rc = ngx_ws_perf_engine->publish(&cmd->msg, ngx_ws_perf_client_published,
                                     pub, 0, wc->peer.connection->log);

    switch (rc) {

    case NGX_OK:
    case NGX_AGAIN:
        return NGX_OK;

    case NGX_DECLINED:
        ngx_free(pub);
        return ngx_ws_perf_pubsub_error(wc, 503, "redis is unavailable");

    case NGX_BUSY:
        ngx_free(pub);
        return ngx_ws_perf_pubsub_error(wc, 429, "too many publishes are "
                                       "waiting for redis");

    default:
        ngx_free(pub);
        return ngx_ws_perf_pubsub_error(wc, 500, "publish failed");
    }
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
    ngx_ws_perf_peer_t  *peer;

    c = pub->connection;
    peer = ngx_ws_perf_hub_peer(c, pub->number);

    ngx_free(pub);

    if (peer == NULL) {
        return;
    }

    /* the answer leaves in this pass of the event loop */
    if (!c->write->posted) {
        ngx_post_event(c->write, &ngx_posted_events);
    }

    if (rc == NGX_OK) {
        p = ngx_sprintf(reply, "{\"type\":\"published\",\"id\":\"%*s\"}",
                        ngx_min(text->len, NGX_WS_PERF_ID_MAX), text->data);

        (void) ngx_ws_perf_hub_reply(peer, reply, p - reply, c->log);

    } else {
        (void) ngx_ws_perf_hub_error(peer, rc, "publish failed in redis", 0,
                                     NULL);
    }
}


static ngx_int_t
ngx_ws_perf_cmd_ping(ngx_ws_perf_conn_t *wc, ngx_ws_perf_cmd_t *cmd,
    ngx_ws_perf_sub_t *sub)
{
    static u_char  pong[] = "{\"type\":\"pong\"}";

    return ngx_ws_perf_hub_reply(&wc->peer, pong, sizeof(pong) - 1,
                                 wc->peer.connection->log);
}


static ngx_int_t
ngx_ws_perf_cmd_ack(ngx_ws_perf_conn_t *wc, ngx_ws_perf_cmd_t *cmd,
    ngx_ws_perf_sub_t *sub)
{
    ngx_str_t  id;

    id.data = (u_char *) cmd->id;
    id.len = cmd->id_len;

    if (wc->user.len == 0) {
        return ngx_ws_perf_pubsub_error(wc, 400, "acks come from connections "
                                        "with a user (ws_perf_user)");
    }

    return ngx_ws_perf_engine->ack(&wc->peer, &id);
}


static ngx_int_t
ngx_ws_perf_cmd_resume(ngx_ws_perf_conn_t *wc, ngx_ws_perf_cmd_t *cmd,
    ngx_ws_perf_sub_t *sub)
{
    ngx_str_t  since;

    since.data = (u_char *) cmd->id;
    since.len = cmd->id_len;

    /* one at a time for each subscription: until its answer has left */
    if (sub->hold || ngx_ws_perf_hub_resuming(&wc->peer, sub->topic)) {
        return ngx_ws_perf_pubsub_error(wc, 409, "a resume of this "
                                        "subscription is under way");
    }

    return ngx_ws_perf_engine->resume(&wc->peer, sub, &since);
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
ngx_ws_perf_reply_channel(ngx_ws_perf_conn_t *wc, char *type,
    ngx_str_t *name)
{
    u_char  *p, buf[NGX_WS_PERF_NAME_MAX + 64];

    p = ngx_sprintf(buf, "{\"type\":\"%s\",\"channel\":\"%V\"}", type, name);

    return ngx_ws_perf_hub_reply(&wc->peer, buf, p - buf,
                                 wc->peer.connection->log);
}
