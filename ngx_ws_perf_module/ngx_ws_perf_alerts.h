
/*
 * Copyright (C) ngx_ws_perf_module authors
 */


#ifndef _NGX_WS_PERF_ALERTS_H_INCLUDED_
#define _NGX_WS_PERF_ALERTS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include "ngx_ws_perf_metrics_zone.h"


/* the longest value ngx_ws_perf_alerts_value() writes: "N.NNNNms" */
#define NGX_WS_PERF_ALERTS_VALUE_LEN  (NGX_INT64_LEN + sizeof(".0000ms"))


/* once a second, in one worker: the window and the alerts' states */
void ngx_ws_perf_alerts_evaluate(ngx_ws_perf_metrics_sh_t *sh, uint64_t sec,
    ngx_log_t *log);

/* the configured alerts into the zone; an unchanged one keeps its state */
void ngx_ws_perf_alerts_init_zone(ngx_ws_perf_metrics_sh_t *sh,
    ngx_ws_perf_metrics_conf_t *mcf);

char *ngx_ws_perf_alerts_name(ngx_uint_t metric);
u_char *ngx_ws_perf_alerts_value(u_char *p, u_char *last, ngx_uint_t metric,
    uint64_t v);

/* the "ws_perf_alert" directive; conf is ngx_ws_perf_metrics_conf_t */
char *ngx_ws_perf_alerts_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);


#endif /* _NGX_WS_PERF_ALERTS_H_INCLUDED_ */
