
/*
 * Copyright (C) ngx_ws_perf_module authors
 */


#ifndef _WS_PERF_FUZZ_RESP_H_INCLUDED_
#define _WS_PERF_FUZZ_RESP_H_INCLUDED_


#include <stdint.h>
#include <stdlib.h>
#include <hiredis/hiredis.h>


/*
 * hiredis 0.14's reader allocates the elements an array header announces
 * before they come: such inputs only measure malloc, and are skipped
 */

static int
fuzz_huge(const uint8_t *p, size_t len)
{
    size_t  i, n;

    for (i = 0; i < len; i++) {
        if (p[i] != '*') {
            continue;
        }

        for (n = 0; i + 1 < len && p[i + 1] >= '0' && p[i + 1] <= '9'; i++) {
            n = n * 10 + (p[i + 1] - '0');

            if (n > 4096) {
                return 1;
            }
        }
    }

    return 0;
}


/* every reply hiredis's reader makes of p, as on the module's links */

static void
fuzz_replies(const uint8_t *p, size_t len,
    void (*each)(const redisReply *r, const char *arg), const char *arg)
{
    void         *reply;
    redisReader  *reader;

    reader = redisReaderCreate();
    if (reader == NULL) {
        abort();
    }

    if (redisReaderFeed(reader, (const char *) p, len) != REDIS_OK) {
        abort();
    }

    for ( ;; ) {
        reply = NULL;

        if (redisReaderGetReply(reader, &reply) != REDIS_OK
            || reply == NULL)
        {
            break;
        }

        each(reply, arg);

        freeReplyObject(reply);
    }

    redisReaderFree(reader);
}


#endif /* _WS_PERF_FUZZ_RESP_H_INCLUDED_ */
