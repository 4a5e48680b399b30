
/*
 * Copyright (C) ngx_ws_perf_module authors
 */


#include <string.h>
#include <stdlib.h>
#include "ngx_ws_perf_cmd.h"


static int ngx_ws_perf_cmd_error(ngx_ws_perf_cmd_t *cmd, unsigned code,
    const char *reason);
static int ngx_ws_perf_cmd_channel(ngx_ws_perf_cmd_t *cmd);
static int ngx_ws_perf_cmd_pub(ngx_ws_perf_cmd_t *cmd, unsigned flags);
static int ngx_ws_perf_cmd_ack(ngx_ws_perf_cmd_t *cmd);
static int ngx_ws_perf_cmd_resume(ngx_ws_perf_cmd_t *cmd);


/* indexed by NGX_WS_PERF_CMD_* */
static const char  *ngx_ws_perf_cmd_names[] = {
    "sub", "unsub", "pub", "ping", "ack", "resume", NULL
};


int
ngx_ws_perf_cmd_parse(ngx_ws_perf_cmd_t *cmd, const uint8_t *p, size_t len,
    int text, unsigned flags)
{
    size_t        tlen;
    json_t       *type;
    unsigned      i;
    const char   *t;
    json_error_t  err;

    memset(cmd, 0, sizeof(ngx_ws_perf_cmd_t));

    if (!text) {
        return ngx_ws_perf_cmd_error(cmd, 400, "commands are JSON text");
    }

    cmd->root = json_loadb((const char *) p, len, 0, &err);

    if (cmd->root == NULL || !json_is_object(cmd->root)) {
        return ngx_ws_perf_cmd_error(cmd, 400, "invalid JSON command");
    }

    type = json_object_get(cmd->root, "type");
    t = json_string_value(type);
    tlen = t ? json_string_length(type) : 0;

    for (i = 0; ngx_ws_perf_cmd_names[i]; i++) {
        if (strlen(ngx_ws_perf_cmd_names[i]) == tlen
            && memcmp(ngx_ws_perf_cmd_names[i], t, tlen) == 0)
        {
            break;
        }
    }

    cmd->type = i;

    switch (i) {

    case NGX_WS_PERF_CMD_SUB:
    case NGX_WS_PERF_CMD_UNSUB:
        return ngx_ws_perf_cmd_channel(cmd);

    case NGX_WS_PERF_CMD_PUB:
        return ngx_ws_perf_cmd_pub(cmd, flags);

    case NGX_WS_PERF_CMD_PING:
        return 0;

    case NGX_WS_PERF_CMD_ACK:
        return ngx_ws_perf_cmd_ack(cmd);

    case NGX_WS_PERF_CMD_RESUME:
        return ngx_ws_perf_cmd_resume(cmd);

    default:
        return ngx_ws_perf_cmd_error(cmd, 400, "unknown command type");
    }
}


int
ngx_ws_perf_cmd_check(ngx_ws_perf_cmd_t *cmd,
    const ngx_ws_perf_cmd_state_t *st)
{
    switch (cmd->type) {

    case NGX_WS_PERF_CMD_SUB:
        if (!(st->flags & NGX_WS_PERF_CMD_PATTERNS)) {
            return ngx_ws_perf_cmd_error(cmd, 403, "client subscriptions "
                                         "are disabled");
        }

        if (!st->allowed) {
            return ngx_ws_perf_cmd_error(cmd, 403, "channel not allowed");
        }

        if (st->nchannels >= st->max_channels && !st->subscribed) {
            return ngx_ws_perf_cmd_error(cmd, 429, "too many channels");
        }

        return 0;

    case NGX_WS_PERF_CMD_UNSUB:
        if (!st->subscribed) {
            return ngx_ws_perf_cmd_error(cmd, 404, "not subscribed");
        }

        return 0;

    case NGX_WS_PERF_CMD_PUB:
        if (!(st->flags & NGX_WS_PERF_CMD_PATTERNS) || !st->allowed) {
            return ngx_ws_perf_cmd_error(cmd, 403, "channel not allowed");
        }

        return 0;

    case NGX_WS_PERF_CMD_RESUME:
        if (cmd->user && !(st->flags & NGX_WS_PERF_CMD_USER)) {
            return ngx_ws_perf_cmd_error(cmd, 400, "this connection has no "
                                         "user");
        }

        if (!st->subscribed) {
            return ngx_ws_perf_cmd_error(cmd, 404, "resume: not subscribed "
                                         "to it");
        }

        return 0;

    default:
        return 0;
    }
}


void
ngx_ws_perf_cmd_free(ngx_ws_perf_cmd_t *cmd)
{
    free(cmd->dump);
    cmd->dump = NULL;

    if (cmd->root) {
        json_decref(cmd->root);
        cmd->root = NULL;
    }
}


static int
ngx_ws_perf_cmd_error(ngx_ws_perf_cmd_t *cmd, unsigned code,
    const char *reason)
{
    cmd->code = code;
    cmd->reason = reason;

    return -1;
}


static int
ngx_ws_perf_cmd_channel(ngx_ws_perf_cmd_t *cmd)
{
    json_t  *v;

    v = json_object_get(cmd->root, "channel");

    if (!json_is_string(v)
        || !ngx_ws_perf_msg_valid_name((const uint8_t *) json_string_value(v),
                                       json_string_length(v)))
    {
        return ngx_ws_perf_cmd_error(cmd, 400, "invalid channel name");
    }

    cmd->name = (const uint8_t *) json_string_value(v);
    cmd->name_len = json_string_length(v);

    return 0;
}


static int
ngx_ws_perf_cmd_pub(ngx_ws_perf_cmd_t *cmd, unsigned flags)
{
    const char         *err;
    ngx_ws_perf_msg_t  *m;

    if (!(flags & NGX_WS_PERF_CMD_PUBLISH)) {
        return ngx_ws_perf_cmd_error(cmd, 403, "client publish is disabled");
    }

    m = &cmd->msg;

    if (ngx_ws_perf_msg_from_json(cmd->root, m, &cmd->dump, &err) != 0) {
        return ngx_ws_perf_cmd_error(cmd, 400, err);
    }

    if (m->target != NGX_WS_PERF_TARGET_CHANNEL) {
        return ngx_ws_perf_cmd_error(cmd, 403, "clients publish to channels");
    }

    /* ids are the server's: a client's could hide a real message */
    if (m->id) {
        return ngx_ws_perf_cmd_error(cmd, 400, "clients may not choose "
                                     "message ids");
    }

    if (m->deliver_at || m->delay) {
        return ngx_ws_perf_cmd_error(cmd, 400, "clients may not schedule "
                                     "messages");
    }

    if (m->priority == NGX_WS_PERF_PRIO_CRITICAL
        && !(flags & NGX_WS_PERF_CMD_CRITICAL))
    {
        return ngx_ws_perf_cmd_error(cmd, 403, "clients may not publish "
                                     "critical messages "
                                     "(ws_perf_client_critical)");
    }

    cmd->name = m->name;
    cmd->name_len = m->name_len;

    return 0;
}


static int
ngx_ws_perf_cmd_ack(ngx_ws_perf_cmd_t *cmd)
{
    json_t  *v;

    v = json_object_get(cmd->root, "id");

    if (!json_is_string(v)
        || !ngx_ws_perf_msg_valid_id((const uint8_t *) json_string_value(v),
                                     json_string_length(v)))
    {
        return ngx_ws_perf_cmd_error(cmd, 400, "ack: \"id\" must be the id "
                                     "of a message");
    }

    cmd->id = (const uint8_t *) json_string_value(v);
    cmd->id_len = json_string_length(v);

    return 0;
}


/* {"type":"resume","channel":NAME|"user":true,"since":ID} */

static int
ngx_ws_perf_cmd_resume(ngx_ws_perf_cmd_t *cmd)
{
    json_t  *v;

    v = json_object_get(cmd->root, "since");

    if (!json_is_string(v)) {
        return ngx_ws_perf_cmd_error(cmd, 400, "resume: \"since\" must be "
                                     "the id of the last message seen");
    }

    cmd->id = (const uint8_t *) json_string_value(v);
    cmd->id_len = json_string_length(v);

    if (json_object_get(cmd->root, "user")) {
        cmd->user = 1;
        return 0;
    }

    return ngx_ws_perf_cmd_channel(cmd);
}
