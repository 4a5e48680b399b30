
/*
 * Copyright (C) ngx_ws_perf_module authors
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ngx_ws_perf_cmd.h"
#include "check.h"


#define ALL  (NGX_WS_PERF_CMD_PUBLISH | NGX_WS_PERF_CMD_CRITICAL             \
              | NGX_WS_PERF_CMD_PATTERNS | NGX_WS_PERF_CMD_USER)


/* the code a command is answered with after parsing, 0: none */

static unsigned
parse(const char *text, unsigned flags, ngx_ws_perf_cmd_t *cmd)
{
    int  rc;

    rc = ngx_ws_perf_cmd_parse(cmd, (const uint8_t *) text, strlen(text), 1,
                               flags);

    CHECK((rc == 0) == (cmd->code == 0));
    CHECK(rc == 0 || (cmd->reason != NULL && cmd->reason[0] != '\0'));

    return cmd->code;
}


static unsigned
parsed(const char *text, unsigned flags)
{
    unsigned           code;
    ngx_ws_perf_cmd_t  cmd;

    code = parse(text, flags, &cmd);
    ngx_ws_perf_cmd_free(&cmd);

    return code;
}


static void
test_parse(void)
{
    ngx_ws_perf_cmd_t  cmd;

    CHECK(ngx_ws_perf_cmd_parse(&cmd, (const uint8_t *) "{\"type\":\"ping\"}",
                                15, 0, ALL)
          == -1);
    CHECK(cmd.code == 400 && strcmp(cmd.reason, "commands are JSON text")
                             == 0);
    ngx_ws_perf_cmd_free(&cmd);

    CHECK(parsed("{\"type\":\"ping\"", ALL) == 400);
    CHECK(parsed("[\"ping\"]", ALL) == 400);
    CHECK(parsed("{\"type\":\"pong\"}", ALL) == 400);
    CHECK(parsed("{\"type\":\"sub\\u0000\",\"channel\":\"a\"}", ALL) == 400);
    CHECK(parsed("{\"type\":7}", ALL) == 400);
    CHECK(parsed("{}", ALL) == 400);

    CHECK(parse("{\"type\":\"ping\"}", 0, &cmd) == 0);
    CHECK(cmd.type == NGX_WS_PERF_CMD_PING);
    ngx_ws_perf_cmd_free(&cmd);

    CHECK(parse("{\"type\":\"sub\",\"channel\":\"room.1\"}", 0, &cmd) == 0);
    CHECK(cmd.type == NGX_WS_PERF_CMD_SUB && cmd.name_len == 6
          && memcmp(cmd.name, "room.1", 6) == 0);
    ngx_ws_perf_cmd_free(&cmd);
    CHECK(cmd.root == NULL && cmd.dump == NULL);

    CHECK(parsed("{\"type\":\"sub\",\"channel\":\"a b\"}", ALL) == 400);
    CHECK(parsed("{\"type\":\"unsub\",\"channel\":1}", ALL) == 400);
    CHECK(parsed("{\"type\":\"unsub\"}", ALL) == 400);

    CHECK(parse("{\"type\":\"ack\",\"id\":\"1-0-2\"}", 0, &cmd) == 0);
    CHECK(cmd.type == NGX_WS_PERF_CMD_ACK && cmd.id_len == 5);
    ngx_ws_perf_cmd_free(&cmd);
    CHECK(parsed("{\"type\":\"ack\",\"id\":\"a b\"}", ALL) == 400);

    CHECK(parse("{\"type\":\"resume\",\"user\":true,\"since\":\"7\"}", 0,
                &cmd)
          == 0);
    CHECK(cmd.type == NGX_WS_PERF_CMD_RESUME && cmd.user && cmd.name == NULL
          && cmd.id_len == 1);
    ngx_ws_perf_cmd_free(&cmd);

    CHECK(parse("{\"type\":\"resume\",\"channel\":\"c\",\"since\":\"\"}", 0,
                &cmd)
          == 0);
    CHECK(!cmd.user && cmd.name_len == 1 && cmd.id_len == 0);
    ngx_ws_perf_cmd_free(&cmd);

    CHECK(parsed("{\"type\":\"resume\",\"channel\":\"c\"}", ALL) == 400);
    CHECK(parsed("{\"type\":\"resume\",\"since\":\"1\"}", ALL) == 400);
}


static void
test_pub(void)
{
    ngx_ws_perf_cmd_t  cmd;

    CHECK(parse("{\"type\":\"pub\",\"channel\":\"c\",\"data\":{\"a\":1}}",
                ALL, &cmd)
          == 0);
    CHECK(cmd.type == NGX_WS_PERF_CMD_PUB && cmd.name_len == 1
          && cmd.msg.json != NULL && cmd.dump != NULL
          && strcmp(cmd.dump, "{\"a\":1}") == 0);
    ngx_ws_perf_cmd_free(&cmd);

    CHECK(parsed("{\"type\":\"pub\",\"channel\":\"c\",\"data\":\"x\"}",
                 ALL & ~NGX_WS_PERF_CMD_PUBLISH)
          == 403);
    CHECK(parsed("{\"type\":\"pub\",\"channel\":\"c\"}", ALL) == 400);
    CHECK(parsed("{\"type\":\"pub\",\"user\":\"u\",\"data\":\"x\"}", ALL)
          == 403);
    CHECK(parsed("{\"type\":\"pub\",\"channel\":\"c\",\"data\":\"x\","
                 "\"id\":\"m1\"}", ALL)
          == 400);
    CHECK(parsed("{\"type\":\"pub\",\"channel\":\"c\",\"data\":\"x\","
                 "\"delay\":10}", ALL)
          == 400);
    CHECK(parsed("{\"type\":\"pub\",\"channel\":\"c\",\"data\":\"x\","
                 "\"priority\":\"critical\"}", ALL)
          == 0);
    CHECK(parsed("{\"type\":\"pub\",\"channel\":\"c\",\"data\":\"x\","
                 "\"priority\":\"critical\"}",
                 ALL & ~NGX_WS_PERF_CMD_CRITICAL)
          == 403);
}


static unsigned
checked(const char *text, unsigned flags, size_t n, size_t max,
    unsigned subscribed, unsigned allowed)
{
    unsigned                 code;
    ngx_ws_perf_cmd_t        cmd;
    ngx_ws_perf_cmd_state_t  st;

    if (parse(text, flags, &cmd) != 0) {
        ngx_ws_perf_cmd_free(&cmd);
        return 1;
    }

    memset(&st, 0, sizeof(ngx_ws_perf_cmd_state_t));
    st.flags = flags;
    st.nchannels = n;
    st.max_channels = max;
    st.subscribed = subscribed;
    st.allowed = allowed;

    CHECK((ngx_ws_perf_cmd_check(&cmd, &st) == 0) == (cmd.code == 0));
    code = cmd.code;

    ngx_ws_perf_cmd_free(&cmd);

    return code;
}


static void
test_check(void)
{
    const char  *sub, *unsub, *pub, *resume, *inbox;

    sub = "{\"type\":\"sub\",\"channel\":\"c\"}";
    unsub = "{\"type\":\"unsub\",\"channel\":\"c\"}";
    pub = "{\"type\":\"pub\",\"channel\":\"c\",\"data\":\"x\"}";
    resume = "{\"type\":\"resume\",\"channel\":\"c\",\"since\":\"1\"}";
    inbox = "{\"type\":\"resume\",\"user\":1,\"since\":\"1\"}";

    CHECK(checked(sub, ALL, 0, 4, 0, 1) == 0);
    CHECK(checked(sub, ALL & ~NGX_WS_PERF_CMD_PATTERNS, 0, 4, 0, 1) == 403);
    CHECK(checked(sub, ALL, 0, 4, 0, 0) == 403);
    CHECK(checked(sub, ALL, 4, 4, 0, 1) == 429);
    CHECK(checked(sub, ALL, 4, 4, 1, 1) == 0);
    CHECK(checked(sub, ALL, 5, 4, 1, 1) == 0);

    CHECK(checked(unsub, ALL, 1, 4, 1, 0) == 0);
    CHECK(checked(unsub, ALL, 1, 4, 0, 1) == 404);

    CHECK(checked(pub, ALL, 0, 0, 0, 1) == 0);
    CHECK(checked(pub, ALL, 0, 0, 0, 0) == 403);
    CHECK(checked(pub, ALL & ~NGX_WS_PERF_CMD_PATTERNS, 0, 0, 0, 1) == 403);

    CHECK(checked(resume, ALL, 1, 4, 1, 0) == 0);
    CHECK(checked(resume, ALL, 1, 4, 0, 1) == 404);
    CHECK(checked(inbox, ALL, 0, 4, 1, 0) == 0);
    CHECK(checked(inbox, ALL & ~NGX_WS_PERF_CMD_USER, 0, 4, 1, 0) == 400);

    CHECK(checked("{\"type\":\"ping\"}", 0, 9, 0, 0, 0) == 0);
    CHECK(checked("{\"type\":\"ack\",\"id\":\"9\"}", 0, 0, 0, 0, 0) == 0);
}


int
main(void)
{
    test_parse();
    test_pub();
    test_check();

    return check_report();
}
