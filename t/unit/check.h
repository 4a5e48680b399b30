
/*
 * Copyright (C) ngx_ws_perf_module authors
 */


#ifndef _WS_PERF_CHECK_H_INCLUDED_
#define _WS_PERF_CHECK_H_INCLUDED_


#include <stdio.h>


/* the unit programs' assertions: each counts, a failed one says where */

static int  passed;
static int  failed;


#define CHECK(cond)                                                          \
    do {                                                                     \
        if (cond) {                                                          \
            passed++;                                                        \
        } else {                                                             \
            failed++;                                                        \
            printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);           \
        }                                                                    \
    } while (0)


/* main()'s last words: the counts, and the exit status */

static int
check_report(void)
{
    printf("%d passed, %d failed\n", passed, failed);

    return failed ? 1 : 0;
}


#endif /* _WS_PERF_CHECK_H_INCLUDED_ */
