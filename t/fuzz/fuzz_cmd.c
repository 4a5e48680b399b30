
/*
 * Copyright (C) ngx_ws_perf_module authors
 */


/*
 * libFuzzer target of a client's commands on one connection.  The first
 * input byte gives the connection's flags (bits 0-3, NGX_WS_PERF_CMD_*)
 * and its channel limit (bits 4-6); the first line, its channel patterns
 * (ws_perf_allowed_channels) separated by commas; every further line is
 * a message from the client, binary when it starts with 0x01.  Commands
 * are read and checked against the connection's state as
 * ngx_ws_perf_command() does, and what goes ahead changes the state: the
 * channels subscribed, their count and the ids resumed from and acked.
 */


#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "ngx_ws_perf_cmd.h"


#define FUZZ_CHECK(expr)                                                     \
    if (!(expr)) {                                                           \
        __builtin_trap();                                                    \
    }

#define FUZZ_PATTERNS  8
#define FUZZ_CHANNELS  8


typedef struct {
    const uint8_t  *data;
    size_t          len;
} fuzz_str_t;


typedef struct {
    unsigned        flags;
    size_t          max;
    size_t          npatterns;
    fuzz_str_t      patterns[FUZZ_PATTERNS];
    size_t          nchannels;
    uint8_t         channels[FUZZ_CHANNELS][NGX_WS_PERF_NAME_MAX];
    size_t          lens[FUZZ_CHANNELS];
    uint8_t         since[FUZZ_CHANNELS + 1][NGX_WS_PERF_ID_MAX];
    size_t          since_lens[FUZZ_CHANNELS + 1];
    uint8_t         acked[NGX_WS_PERF_ID_MAX];
    size_t          acked_len;
} fuzz_conn_t;


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *__ubsan_default_options(void);

static void fuzz_command(fuzz_conn_t *c, const uint8_t *p, size_t len);
static void fuzz_apply(fuzz_conn_t *c, ngx_ws_perf_cmd_t *cmd, int sub);
static int fuzz_find(fuzz_conn_t *c, const uint8_t *name, size_t len);
static int fuzz_allowed(fuzz_conn_t *c, const uint8_t *name, size_t len);
static int fuzz_glob(const uint8_t *pat, size_t plen, const uint8_t *name,
    size_t nlen);


const char *
__ubsan_default_options(void)
{
    return "halt_on_error=1:print_stacktrace=1";
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t        *copy;
    const uint8_t  *p, *last, *end, *start;
    fuzz_conn_t     c;

    if (size == 0) {
        return 0;
    }

    /* a buffer of its own so that a read past the input is caught */
    copy = malloc(size);
    if (copy == NULL) {
        abort();
    }

    memcpy(copy, data, size);

    memset(&c, 0, sizeof(fuzz_conn_t));
    c.flags = copy[0] & 0x0f;
    c.max = (copy[0] >> 4) & 7;

    p = copy + 1;
    last = copy + size;

    for (end = p; end < last && *end != '\n'; end++) { /* void */ }

    while (p < end && c.npatterns < FUZZ_PATTERNS) {
        for (start = p; p < end && *p != ','; p++) { /* void */ }

        c.patterns[c.npatterns].data = start;
        c.patterns[c.npatterns].len = p - start;
        c.npatterns++;

        if (p < end) {
            p++;
        }
    }

    for (p = end; p < last; p = end) {
        start = ++p;

        for (end = p; end < last && *end != '\n'; end++) { /* void */ }

        if (start < last) {
            fuzz_command(&c, start, end - start);
        }

        FUZZ_CHECK(c.nchannels <= c.max);
    }

    free(copy);

    return 0;
}


static void
fuzz_command(fuzz_conn_t *c, const uint8_t *p, size_t len)
{
    int                       rc, text, sub;
    size_t                    n;
    ngx_ws_perf_cmd_t         cmd;
    ngx_ws_perf_cmd_state_t   st;

    text = !(len && p[0] == 0x01);

    rc = ngx_ws_perf_cmd_parse(&cmd, p, len, text, c->flags);

    FUZZ_CHECK((rc == 0) == (cmd.code == 0));

    if (rc != 0) {
        FUZZ_CHECK(cmd.code == 400 || cmd.code == 403);
        FUZZ_CHECK(cmd.reason != NULL);

        /* the error reply escapes up to 128 bytes into 512, uncut */
        n = strlen(cmd.reason);
        FUZZ_CHECK(n > 0 && n <= 128);
        FUZZ_CHECK(ngx_ws_perf_json_escape_size((const uint8_t *) cmd.reason,
                                                n)
                   <= 512 - 64);

        ngx_ws_perf_cmd_free(&cmd);
        return;
    }

    FUZZ_CHECK(text && cmd.type <= NGX_WS_PERF_CMD_RESUME);

    memset(&st, 0, sizeof(ngx_ws_perf_cmd_state_t));
    st.flags = c->flags;
    st.nchannels = c->nchannels;
    st.max_channels = c->max;

    sub = -1;

    switch (cmd.type) {

    case NGX_WS_PERF_CMD_SUB:
    case NGX_WS_PERF_CMD_UNSUB:
    case NGX_WS_PERF_CMD_PUB:
    case NGX_WS_PERF_CMD_RESUME:
        if (cmd.user) {
            FUZZ_CHECK(cmd.type == NGX_WS_PERF_CMD_RESUME
                       && cmd.name == NULL);
            st.subscribed = (c->flags & NGX_WS_PERF_CMD_USER) != 0;
            sub = FUZZ_CHANNELS;
            break;
        }

        /* a name is valid, so it is sent in replies without escaping */
        FUZZ_CHECK(ngx_ws_perf_msg_valid_name(cmd.name, cmd.name_len));

        sub = fuzz_find(c, cmd.name, cmd.name_len);
        st.subscribed = (sub >= 0);

        if (c->flags & NGX_WS_PERF_CMD_PATTERNS) {
            st.allowed = fuzz_allowed(c, cmd.name, cmd.name_len);
        }

        break;

    case NGX_WS_PERF_CMD_ACK:
        FUZZ_CHECK(ngx_ws_perf_msg_valid_id(cmd.id, cmd.id_len));
        break;
    }

    if (cmd.type == NGX_WS_PERF_CMD_PUB) {
        FUZZ_CHECK(c->flags & NGX_WS_PERF_CMD_PUBLISH);
        FUZZ_CHECK(cmd.msg.target == NGX_WS_PERF_TARGET_CHANNEL);
        FUZZ_CHECK(cmd.msg.id == NULL && !cmd.msg.delay
                   && !cmd.msg.deliver_at);
        FUZZ_CHECK(cmd.msg.priority != NGX_WS_PERF_PRIO_CRITICAL
                   || (c->flags & NGX_WS_PERF_CMD_CRITICAL));
        FUZZ_CHECK(cmd.msg.name == cmd.name && cmd.msg.data != NULL);
        FUZZ_CHECK((cmd.msg.json != NULL) == (cmd.dump != NULL));
    }

    if (ngx_ws_perf_cmd_check(&cmd, &st) != 0) {
        FUZZ_CHECK(cmd.code == 400 || cmd.code == 403 || cmd.code == 404
                   || cmd.code == 429);
        FUZZ_CHECK(cmd.reason != NULL && cmd.reason[0] != '\0');

        FUZZ_CHECK(cmd.code != 429
                   || (cmd.type == NGX_WS_PERF_CMD_SUB && !st.subscribed
                       && c->nchannels >= c->max));
        FUZZ_CHECK(cmd.code != 404 || !st.subscribed);

        ngx_ws_perf_cmd_free(&cmd);
        return;
    }

    FUZZ_CHECK(cmd.code == 0);

    fuzz_apply(c, &cmd, sub);

    ngx_ws_perf_cmd_free(&cmd);
}


/* what a command that went ahead does to the connection */

static void
fuzz_apply(fuzz_conn_t *c, ngx_ws_perf_cmd_t *cmd, int sub)
{
    size_t  i;

    switch (cmd->type) {

    case NGX_WS_PERF_CMD_SUB:
        FUZZ_CHECK((c->flags & NGX_WS_PERF_CMD_PATTERNS)
                   && fuzz_allowed(c, cmd->name, cmd->name_len));

        if (sub >= 0) {
            return;
        }

        FUZZ_CHECK(c->nchannels < c->max && c->nchannels < FUZZ_CHANNELS);

        i = c->nchannels++;
        memcpy(c->channels[i], cmd->name, cmd->name_len);
        c->lens[i] = cmd->name_len;
        c->since_lens[i] = 0;
        return;

    case NGX_WS_PERF_CMD_UNSUB:
        FUZZ_CHECK(sub >= 0);

        i = --c->nchannels;
        memmove(c->channels[sub], c->channels[i], c->lens[i]);
        c->lens[sub] = c->lens[i];
        memmove(c->since[sub], c->since[i], c->since_lens[i]);
        c->since_lens[sub] = c->since_lens[i];
        return;

    case NGX_WS_PERF_CMD_PUB:
        FUZZ_CHECK((c->flags & NGX_WS_PERF_CMD_PATTERNS)
                   && fuzz_allowed(c, cmd->name, cmd->name_len));
        return;

    case NGX_WS_PERF_CMD_ACK:
        memcpy(c->acked, cmd->id, cmd->id_len);
        c->acked_len = cmd->id_len;
        return;

    case NGX_WS_PERF_CMD_RESUME:
        FUZZ_CHECK(sub >= 0);
        FUZZ_CHECK(!cmd->user || (c->flags & NGX_WS_PERF_CMD_USER));

        /* the store checks "since" further; a long one is refused there */
        if (cmd->id_len <= NGX_WS_PERF_ID_MAX) {
            memcpy(c->since[sub], cmd->id, cmd->id_len);
            c->since_lens[sub] = cmd->id_len;
        }

        return;

    default:
        FUZZ_CHECK(cmd->type == NGX_WS_PERF_CMD_PING);
        return;
    }
}


static int
fuzz_find(fuzz_conn_t *c, const uint8_t *name, size_t len)
{
    size_t  i;

    for (i = 0; i < c->nchannels; i++) {
        if (c->lens[i] == len && memcmp(c->channels[i], name, len) == 0) {
            return (int) i;
        }
    }

    return -1;
}


/* the module's glob against a plain dynamic programming match */

static int
fuzz_allowed(fuzz_conn_t *c, const uint8_t *name, size_t len)
{
    int     ok, any;
    size_t  i;

    any = 0;

    for (i = 0; i < c->npatterns; i++) {
        ok = ngx_ws_perf_msg_glob(c->patterns[i].data, c->patterns[i].len,
                                  name, len);

        FUZZ_CHECK(ok == fuzz_glob(c->patterns[i].data, c->patterns[i].len,
                                   name, len));
        any |= ok;
    }

    return any;
}


static int
fuzz_glob(const uint8_t *pat, size_t plen, const uint8_t *name, size_t nlen)
{
    int     m[NGX_WS_PERF_NAME_MAX + 1], prev, cur;
    size_t  i, j;

    /* m[j]: the pattern so far matches the first j bytes of the name */
    m[0] = 1;

    for (j = 1; j <= nlen; j++) {
        m[j] = 0;
    }

    for (i = 0; i < plen; i++) {
        prev = m[0];
        m[0] = m[0] && pat[i] == '*';

        for (j = 1; j <= nlen; j++) {
            if (pat[i] == '*') {
                cur = m[j] || m[j - 1];

            } else {
                cur = prev && pat[i] == name[j - 1];
            }

            prev = m[j];
            m[j] = cur;
        }
    }

    return m[nlen];
}

