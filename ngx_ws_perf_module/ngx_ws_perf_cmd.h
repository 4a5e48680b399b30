
/*
 * Copyright (C) ngx_ws_perf_module authors
 */


#ifndef _NGX_WS_PERF_CMD_H_INCLUDED_
#define _NGX_WS_PERF_CMD_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "ngx_ws_perf_msg.h"


#define NGX_WS_PERF_CMD_SUB         0
#define NGX_WS_PERF_CMD_UNSUB       1
#define NGX_WS_PERF_CMD_PUB         2
#define NGX_WS_PERF_CMD_PING        3
#define NGX_WS_PERF_CMD_ACK         4
#define NGX_WS_PERF_CMD_RESUME      5

/* what a connection may do, ngx_ws_perf_cmd_state_t's flags */
#define NGX_WS_PERF_CMD_PUBLISH     0x01  /* ws_perf_client_publish */
#define NGX_WS_PERF_CMD_CRITICAL    0x02  /* ws_perf_client_critical */
#define NGX_WS_PERF_CMD_PATTERNS    0x04  /* ws_perf_allowed_channels */
#define NGX_WS_PERF_CMD_USER        0x08  /* the connection has a user */


/*
 * One client command read from its JSON text.  The strings it points to
 * live in root, and a "pub"'s non-string data in dump, until
 * ngx_ws_perf_cmd_free().
 */
typedef struct {
    json_t               *root;
    char                 *dump;
    unsigned              type;
    unsigned              user:1;       /* "resume" of the user's inbox */
    const uint8_t        *name;         /* the "channel" of sub, unsub, */
    size_t                name_len;     /* resume */
    const uint8_t        *id;           /* "id" of ack, "since" of resume */
    size_t                id_len;
    ngx_ws_perf_msg_t     msg;          /* pub */
    unsigned              code;         /* the error reply: 400, 403... */
    const char           *reason;
} ngx_ws_perf_cmd_t;


/* the connection as a command sees it, the target looked up by the caller */
typedef struct {
    unsigned              flags;
    size_t                nchannels;
    size_t                max_channels;
    unsigned              subscribed:1; /* to the command's target */
    unsigned              allowed:1;    /* the name matches a pattern */
} ngx_ws_perf_cmd_state_t;


/*
 * Reads a command from a message (text: a text message, else binary) of
 * a connection with flags.  0: cmd is ready for the state check; -1:
 * cmd->code and cmd->reason are the error to answer.  Either way the
 * caller calls ngx_ws_perf_cmd_free().
 */
int ngx_ws_perf_cmd_parse(ngx_ws_perf_cmd_t *cmd, const uint8_t *p,
    size_t len, int text, unsigned flags);

/*
 * Whether a parsed command may go ahead on a connection in state st: 0,
 * or -1 with cmd->code and cmd->reason set.  A "sub" that goes ahead
 * adds a channel when st->subscribed is 0; an "unsub" removes one.
 */
int ngx_ws_perf_cmd_check(ngx_ws_perf_cmd_t *cmd,
    const ngx_ws_perf_cmd_state_t *st);

void ngx_ws_perf_cmd_free(ngx_ws_perf_cmd_t *cmd);


#endif /* _NGX_WS_PERF_CMD_H_INCLUDED_ */
