
/*
 * Copyright (C) ngx_ws_perf_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include "ngx_ws_perf_health.h"
#include "ngx_ws_perf_status.h"


#define NGX_WS_PERF_HEALTH_WORKER                                             \
    "%sworker %ui (pid %uA): redis %s since %uL\n"
#define NGX_WS_PERF_HEALTH_WORKER_JSON                                        \
    "%s\"worker %ui (pid %uA): redis %s since %uL\""
#define NGX_WS_PERF_HEALTH_TAIL_JSON                                          \
    "{\"reasons\":[\"shutting down\"],\"status\":\"unavailable\"}\n"


static u_char *ngx_ws_perf_health_reasons(u_char *p, u_char *last,
    ngx_ws_perf_metrics_sh_t *sh, ngx_uint_t json, ngx_uint_t *n);


/*
 * 200 when this node can deliver: no worker that uses Redis has lost its
 * connection or its subscriptions; otherwise 503 and the reasons.
 */

ngx_int_t
ngx_ws_perf_health_handler(ngx_http_request_t *r)
{
    u_char                    *p, *buf, *last;
    size_t                     len;
    ngx_int_t                  rc;
    ngx_str_t                  arg;
    ngx_uint_t                 json, n;
    ngx_ws_perf_metrics_sh_t  *sh;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    json = (ngx_http_arg(r, (u_char *) "format", 6, &arg) == NGX_OK
            && arg.len == 4 && ngx_strncmp(arg.data, "json", 4) == 0);

    sh = ngx_ws_perf_metrics_sh;

    /* a line per worker at most, the frame, a byte that is never written */
    len = ngx_ws_perf_status_fmt_len(NGX_WS_PERF_HEALTH_TAIL_JSON) + 1
          + (sh ? sh->nslots : 0)
            * ngx_ws_perf_status_fmt_len(NGX_WS_PERF_HEALTH_WORKER_JSON);

    buf = ngx_pnalloc(r->pool, len);
    if (buf == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    last = buf + len;
    p = ngx_slprintf(buf, last, json ? "{\"reasons\":[" : "");
    n = 0;

    if (ngx_exiting || ngx_quit || ngx_terminate) {
        p = ngx_slprintf(p, last, json ? "\"shutting down\"" :
                                         "shutting down\n");
        n++;
    }

    if (sh) {
        p = ngx_ws_perf_health_reasons(p, last, sh, json, &n);
    }

    if (json) {
        p = ngx_slprintf(p, last, "],\"status\":\"%s\"}\n",
                         n ? "unavailable" : "ok");

    } else if (n == 0) {
        p = ngx_slprintf(p, last, "ok\n");
    }

    return ngx_ws_perf_status_send(r, n ? NGX_HTTP_SERVICE_UNAVAILABLE
                                        : NGX_HTTP_OK,
                                   json ? "application/json" : "text/plain",
                                   buf, p, len);
}


/* a line for each live worker whose Redis is not in place */

static u_char *
ngx_ws_perf_health_reasons(u_char *p, u_char *last,
    ngx_ws_perf_metrics_sh_t *sh, ngx_uint_t json, ngx_uint_t *n)
{
    ngx_uint_t            i;
    ngx_ws_perf_mslot_t  *slot;

    for (i = 0; i < sh->nslots; i++) {
        slot = &sh->slot[i];

        if (!slot->redis_configured
            || !ngx_ws_perf_metrics_slot_live(slot))
        {
            continue;
        }

        if (slot->redis_state == NGX_WS_PERF_M_REDIS_UP
            && slot->redis_subscribed)
        {
            continue;
        }

        p = ngx_slprintf(p, last, json ? NGX_WS_PERF_HEALTH_WORKER_JSON
                                       : NGX_WS_PERF_HEALTH_WORKER,
                         (json && *n) ? "," : "", i, slot->pid,
                         slot->redis_state == NGX_WS_PERF_M_REDIS_UP
                         ? "subscriptions not in place"
                         : ngx_ws_perf_metrics_redis_state_name(
                               slot->redis_state),
                         slot->redis_since);
        (*n)++;
    }

    return p;
}
