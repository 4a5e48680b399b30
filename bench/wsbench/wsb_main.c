
/*
 * Copyright (C) ngx_ws_perf_module authors
 */


/*
 * wsbench: a WebSocket pub/sub load generator for loopback benchmarks.
 *
 *   wsbench [run] [-s SCENARIO.conf]... [--key=value]...
 *   wsbench compare OLD.json NEW.json [--tolerance=0.25] [--subset]
 *       [--metrics=p99,deliveries,...]
 *   wsbench merge OUT.json IN.json...
 *   wsbench markdown OURS.json OURS-NAME PEER.json PEER-NAME [PEER2 NAME2]
 */


#include <stdlib.h>
#include <string.h>
#include "wsb.h"


static void
wsb_usage(void)
{
    fprintf(stderr,
        "usage: wsbench [run] [-s SCENARIO.conf]... [--key=value]...\n"
        "       wsbench compare OLD.json NEW.json [--tolerance=0.25]"
        " [--subset]\n"
        "            [--metrics=p95,p99,deliveries,knee,errors,connect,"
        "memory,growth,wire,grade]\n"
        "            [--labels=ws_perf,ws_perf_redis,...]\n"
        "       wsbench merge OUT.json IN.json...\n"
        "       wsbench markdown OURS.json OURS-NAME PEER.json PEER-NAME\n"
        "            [PEER2.json PEER2-NAME]\n"
        "keys (scenario files use the same, one key=value a line):\n"
        "  name kind(steady|stress|spike|endurance|churn|slow|echo|chat)"
        " label\n"
        "  sub_url pub_url redis redis_channel json server_pid\n"
        "  server_pidfile digest_channel connections channels payload\n"
        "  pub_conns pipeline threads src_ips fragments ramp rate duration\n"
        "  settle drain connect_timeout timeout spike_at spike_factor step\n"
        "  step_factor max_steps churn_rate churn_life_min churn_life_max\n"
        "  slow_share sample p95_budget_ms p99_budget_ms error_budget quiet\n"
        "  envelope deflate(0|1: offer permessage-deflate)"
        " payload_text(0|1)\n"
        "chat: rooms users rooms_min rooms_max big_rooms big_share\n"
        "  user_share msg_min msg_max pub_format(json|raw) ack resume\n"
        "  churn_share churn_pause\n"
        "see bench/README.md\n");
}


static int
wsb_main_run(int argc, char **argv)
{
    int          i;
    char        *eq, key[64];
    size_t       n;
    wsb_conf_t  *cf;

    cf = malloc(sizeof(wsb_conf_t));
    if (cf == NULL) {
        return 2;
    }

    wsb_conf_defaults(cf);

    for (i = 0; i < argc; i++) {
        if (strcmp(argv[i], "-s") == 0 && i + 1 < argc) {
            if (wsb_conf_file(cf, argv[++i]) != 0) {
                return 2;
            }
            continue;
        }

        if (strncmp(argv[i], "--", 2) != 0
            || (eq = strchr(argv[i], '=')) == NULL
            || (n = (size_t) (eq - argv[i] - 2)) >= sizeof(key))
        {
            wsb_usage();
            return 2;
        }

        memcpy(key, argv[i] + 2, n);
        key[n] = '\0';

        if (wsb_conf_set(cf, key, eq + 1) != 0) {
            return 2;
        }
    }

    if (wsb_conf_check(cf) != 0) {
        return 2;
    }

    return wsb_run(cf);
}


int
main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "compare") == 0) {
        return wsb_compare(argc - 2, argv + 2);
    }

    if (argc > 1 && strcmp(argv[1], "merge") == 0) {
        return wsb_merge(argc - 2, argv + 2);
    }

    if (argc > 1 && strcmp(argv[1], "markdown") == 0) {
        return wsb_markdown(argc - 2, argv + 2);
    }

    if (argc > 1 && (strcmp(argv[1], "-h") == 0
                     || strcmp(argv[1], "--help") == 0))
    {
        wsb_usage();
        return 0;
    }

    if (argc > 1 && strcmp(argv[1], "run") == 0) {
        return wsb_main_run(argc - 2, argv + 2);
    }

    return wsb_main_run(argc - 1, argv + 1);
}
