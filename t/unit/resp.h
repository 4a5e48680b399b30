
/*
 * Copyright (C) ngx_ws_perf_module authors
 */


#ifndef _WS_PERF_RESP_H_INCLUDED_
#define _WS_PERF_RESP_H_INCLUDED_


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <hiredis/hiredis.h>


/* a reply as hiredis reads it from the protocol, or the program ends */

static redisReply *
reply(const char *resp)
{
    void         *r;
    redisReader  *reader;

    reader = redisReaderCreate();

    r = NULL;

    if (reader == NULL
        || redisReaderFeed(reader, resp, strlen(resp)) != REDIS_OK
        || redisReaderGetReply(reader, &r) != REDIS_OK
        || r == NULL)
    {
        printf("cannot read %s\n", resp);
        exit(1);
    }

    redisReaderFree(reader);

    return r;
}


#endif /* _WS_PERF_RESP_H_INCLUDED_ */
