
/*
 * Copyright (C) ngx_ws_perf_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <sys/resource.h>
#include "ngx_ws_perf_metrics_zone.h"
#include "ngx_ws_perf_alerts.h"
#include "ngx_ws_perf_status.h"
#include "ngx_ws_perf_health.h"


/* bumped whenever the shared layout changes: a reload then starts afresh */
#define NGX_WS_PERF_METRICS_MAGIC   0x7773706d65740004ULL


static void ngx_ws_perf_metrics_tick(ngx_event_t *ev);
static void ngx_ws_perf_metrics_process_stats(ngx_ws_perf_mslot_t *slot);
static ngx_int_t ngx_ws_perf_metrics_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static ngx_int_t ngx_ws_perf_metrics_init_process(ngx_cycle_t *cycle);
static ngx_ws_perf_mslot_t *ngx_ws_perf_metrics_take_slot(
    ngx_ws_perf_metrics_sh_t *sh, ngx_log_t *log);
static void ngx_ws_perf_metrics_exit_process(ngx_cycle_t *cycle);
static void *ngx_ws_perf_metrics_create_main_conf(ngx_conf_t *cf);
static char *ngx_ws_perf_metrics_init_main_conf(ngx_conf_t *cf, void *conf);
static char *ngx_ws_perf_status(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);


static ngx_ws_perf_mslot_t   ngx_ws_perf_mslot_private;

ngx_ws_perf_mslot_t         *ngx_ws_perf_mslot = &ngx_ws_perf_mslot_private;
ngx_uint_t                   ngx_ws_perf_metrics_timing;
ngx_ws_perf_metrics_sh_t    *ngx_ws_perf_metrics_sh;

/* the slot in the zone even with metrics off: Redis state, RSS, CPU */
static ngx_ws_perf_mslot_t  *ngx_ws_perf_mslot_own = &ngx_ws_perf_mslot_private;
static ngx_event_t           ngx_ws_perf_metrics_timer;
static ngx_fd_t              ngx_ws_perf_statm = NGX_INVALID_FILE;


static char  *ngx_ws_perf_redis_states[] = {
    "disconnected", "connecting", "connected"
};

static ngx_command_t  ngx_ws_perf_metrics_commands[] = {

    { ngx_string("ws_perf_status"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_ws_perf_status,
      0,
      0,
      NULL },

    { ngx_string("ws_perf_health"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_ws_perf_status,
      0,
      0,
      NULL },

    { ngx_string("ws_perf_metrics"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_ws_perf_metrics_conf_t, enable),
      NULL },

    { ngx_string("ws_perf_metrics_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_ws_perf_metrics_conf_t, zone_size),
      NULL },

    { ngx_string("ws_perf_alert"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE2,
      ngx_ws_perf_alerts_directive,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("ws_perf_alert_window"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_ws_perf_metrics_conf_t, window),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_ws_perf_metrics_module_ctx = {
    NULL,                                  /* preconfiguration */
    NULL,                                  /* postconfiguration */

    ngx_ws_perf_metrics_create_main_conf,  /* create main configuration */
    ngx_ws_perf_metrics_init_main_conf,    /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    NULL,                                  /* create location configuration */
    NULL                                   /* merge location configuration */
};


ngx_module_t  ngx_ws_perf_metrics_module = {
    NGX_MODULE_V1,
    &ngx_ws_perf_metrics_module_ctx,       /* module context */
    ngx_ws_perf_metrics_commands,          /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_ws_perf_metrics_init_process,      /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_ws_perf_metrics_exit_process,      /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


void
ngx_ws_perf_metrics_closed(ngx_uint_t code)
{
    ngx_uint_t  i;

    switch (code) {
    case 1000: i = NGX_WS_PERF_M_CLOSE_1000; break;
    case 1001: i = NGX_WS_PERF_M_CLOSE_1001; break;
    case 1002: i = NGX_WS_PERF_M_CLOSE_1002; break;
    case 1003: i = NGX_WS_PERF_M_CLOSE_1003; break;
    case 0:
    case 1005: i = NGX_WS_PERF_M_CLOSE_1005; break;
    case 1006: i = NGX_WS_PERF_M_CLOSE_1006; break;
    case 1007: i = NGX_WS_PERF_M_CLOSE_1007; break;
    case 1008: i = NGX_WS_PERF_M_CLOSE_1008; break;
    case 1009: i = NGX_WS_PERF_M_CLOSE_1009; break;
    case 1011: i = NGX_WS_PERF_M_CLOSE_1011; break;
    default:   i = NGX_WS_PERF_M_CLOSE_OTHER;
    }

    ngx_ws_perf_mslot->closed[i]++;
}


void
ngx_ws_perf_metrics_rejected(ngx_uint_t reason)
{
    ngx_ws_perf_mslot->hs_rejected[reason]++;
}


void
ngx_ws_perf_metrics_redis_configured(ngx_uint_t configured)
{
    ngx_ws_perf_mslot_own->redis_configured = configured ? 1 : 0;
}


void
ngx_ws_perf_metrics_redis_state(ngx_uint_t state)
{
    if (ngx_ws_perf_mslot_own->redis_state != state) {
        ngx_ws_perf_mslot_own->redis_state = state;
        ngx_ws_perf_mslot_own->redis_since = ngx_time();
    }

    if (state != NGX_WS_PERF_M_REDIS_UP) {
        ngx_ws_perf_mslot_own->redis_subscribed = 0;
    }
}


void
ngx_ws_perf_metrics_redis_subscribed(ngx_uint_t in_place)
{
    ngx_ws_perf_mslot_own->redis_subscribed = in_place ? 1 : 0;
}


void
ngx_ws_perf_metrics_redis_reconnect(void)
{
    ngx_ws_perf_mslot_own->redis_reconnects++;
}


void
ngx_ws_perf_metrics_redis_pending(ngx_uint_t n)
{
    ngx_ws_perf_mslot_own->redis_pending = n;
}


void
ngx_ws_perf_metrics_redis_command_latency_us(uint64_t us)
{
    ngx_ws_perf_hist_add(&ngx_ws_perf_mslot_own->redis_latency, us);
}


/* the shared-memory engine's zone: every worker reads the same */

void
ngx_ws_perf_metrics_shm(size_t size, size_t used, ngx_uint_t repairs)
{
    ngx_ws_perf_mslot_own->shm_size = size;
    ngx_ws_perf_mslot_own->shm_used = used;
    ngx_ws_perf_mslot_own->shm_repairs = repairs;
}


/* from a worker's append to the bus to this worker's take */

void
ngx_ws_perf_metrics_bus_latency_us(uint64_t us)
{
    ngx_ws_perf_hist_add(&ngx_ws_perf_mslot_own->bus_latency, us);
}


void
ngx_ws_perf_metrics_scheduled(ngx_int_t delta)
{
    ngx_ws_perf_mslot->scheduled += delta;
}


ngx_uint_t
ngx_ws_perf_metrics_counting(void)
{
    return ngx_ws_perf_mslot == ngx_ws_perf_mslot_own;
}


char *
ngx_ws_perf_metrics_redis_state_name(uint64_t state)
{
    return ngx_ws_perf_redis_states[state % 3];
}


ngx_uint_t
ngx_ws_perf_metrics_slot_live(ngx_ws_perf_mslot_t *slot)
{
    ngx_pid_t  pid;

    pid = (ngx_pid_t) slot->pid;

    if (pid == 0) {
        return 0;
    }

    /* a worker that died without its exit handler */
    if (kill(pid, 0) == -1 && ngx_errno == NGX_ESRCH) {
        return 0;
    }

    return 1;
}


/* every second in every worker; one worker a second evaluates the alerts */

static void
ngx_ws_perf_metrics_tick(ngx_event_t *ev)
{
    uint64_t                   sec, last;
    ngx_time_t                *tp;
    ngx_ws_perf_metrics_sh_t  *sh;

    sh = ngx_ws_perf_metrics_sh;

    ngx_ws_perf_metrics_process_stats(ngx_ws_perf_mslot_own);
    ngx_ws_perf_mslot_own->ticks++;

    sec = (uint64_t) ngx_time();
    last = sh->eval_sec;

    if (sec > last
        && ngx_atomic_cmp_set(&sh->eval_sec, (ngx_atomic_uint_t) last,
                              (ngx_atomic_uint_t) sec))
    {
        ngx_ws_perf_alerts_evaluate(sh, sec, ev->log);
    }

    if (!ngx_exiting) {
        /* the next second's start, give or take the timer's resolution */
        tp = ngx_timeofday();
        ngx_add_timer(ev, 1000 - tp->msec + 1);
    }
}


static void
ngx_ws_perf_metrics_process_stats(ngx_ws_perf_mslot_t *slot)
{
    u_char         buf[128], *p, *last;
    ssize_t        n;
    ngx_int_t      pages;
    struct rusage  ru;

    if (getrusage(RUSAGE_SELF, &ru) == 0) {
        slot->cpu_ms = (uint64_t) (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec)
                       * 1000
                       + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000;
    }

    if (ngx_ws_perf_statm == NGX_INVALID_FILE) {
        return;
    }

    /* "size resident shared ...", in pages */
    n = pread(ngx_ws_perf_statm, buf, sizeof(buf) - 1, 0);
    if (n <= 0) {
        return;
    }

    last = buf + n;
    p = ngx_strlchr(buf, last, ' ');

    if (p == NULL) {
        return;
    }

    p++;
    last = ngx_strlchr(p, last, ' ');

    if (last == NULL) {
        return;
    }

    pages = ngx_atoi(p, last - p);

    if (pages != NGX_ERROR) {
        slot->rss = (uint64_t) pages * ngx_pagesize;
    }
}


static ngx_int_t
ngx_ws_perf_metrics_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    size_t                       size;
    ngx_uint_t                   n;
    ngx_slab_pool_t             *shpool;
    ngx_ws_perf_metrics_sh_t    *sh, *osh;
    ngx_ws_perf_metrics_conf_t  *mcf;

    mcf = shm_zone->data;
    sh = NULL;
    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    /* data is the previous cycle's configuration: the zone is the same */
    osh = (data || shm_zone->shm.exists) ? shpool->data : NULL;

    if (osh && osh->magic == NGX_WS_PERF_METRICS_MAGIC) {
        sh = osh;
        goto alerts;
    }

    n = (shpool->pfree * ngx_pagesize - offsetof(ngx_ws_perf_metrics_sh_t,
                                                 slot))
        / sizeof(ngx_ws_perf_mslot_t);

    if (n < 2) {
        ngx_log_error(NGX_LOG_EMERG, shm_zone->shm.log, 0,
                      "ws_perf_metrics_zone is too small");
        return NGX_ERROR;
    }

    size = offsetof(ngx_ws_perf_metrics_sh_t, slot)
           + n * sizeof(ngx_ws_perf_mslot_t);

    /* whole pages: the slab pool takes a little of the zone for itself */
    while (n > 1) {
        sh = ngx_slab_calloc(shpool, size);
        if (sh) {
            break;
        }

        n--;
        size -= sizeof(ngx_ws_perf_mslot_t);
    }

    if (sh == NULL) {
        return NGX_ERROR;
    }

    sh->magic = NGX_WS_PERF_METRICS_MAGIC;
    sh->started = ngx_time();
    sh->nslots = n;
    shpool->data = sh;

alerts:

    ngx_ws_perf_alerts_init_zone(sh, mcf);
    ngx_ws_perf_metrics_sh = sh;

    return NGX_OK;
}


static ngx_int_t
ngx_ws_perf_metrics_init_process(ngx_cycle_t *cycle)
{
    ngx_ws_perf_mslot_t         *slot;
    ngx_ws_perf_metrics_sh_t    *sh;
    ngx_ws_perf_metrics_conf_t  *mcf;

    mcf = ngx_http_cycle_get_module_main_conf(cycle,
                                              ngx_ws_perf_metrics_module);

    /* workers only: not the cache manager and loader */
    if (mcf == NULL || mcf->shm_zone == NULL
        || (ngx_process != NGX_PROCESS_WORKER
            && ngx_process != NGX_PROCESS_SINGLE))
    {
        ngx_ws_perf_metrics_sh = NULL;
        return NGX_OK;
    }

    sh = ((ngx_slab_pool_t *) mcf->shm_zone->shm.addr)->data;
    ngx_ws_perf_metrics_sh = sh;

    slot = ngx_ws_perf_metrics_take_slot(sh, cycle->log);
    if (slot == NULL) {
        return NGX_OK;
    }

    ngx_ws_perf_mslot_own = slot;

    if (mcf->enable) {
        ngx_ws_perf_mslot = slot;
        ngx_ws_perf_metrics_timing = 1;
    }

    ngx_ws_perf_statm = ngx_open_file("/proc/self/statm", NGX_FILE_RDONLY,
                                      NGX_FILE_OPEN, 0);

    ngx_ws_perf_metrics_process_stats(slot);

    ngx_ws_perf_metrics_timer.handler = ngx_ws_perf_metrics_tick;
    ngx_ws_perf_metrics_timer.log = cycle->log;
    ngx_ws_perf_metrics_timer.data = sh;
    ngx_ws_perf_metrics_timer.cancelable = 1;

    ngx_add_timer(&ngx_ws_perf_metrics_timer, 1000);

    return NGX_OK;
}


/* a free slot, or one whose worker died without freeing it, made ours */

static ngx_ws_perf_mslot_t *
ngx_ws_perf_metrics_take_slot(ngx_ws_perf_metrics_sh_t *sh, ngx_log_t *log)
{
    ngx_uint_t            i;
    ngx_pid_t             pid;
    ngx_ws_perf_mslot_t  *slot, *own;

    slot = NULL;

    for (i = 0; i < sh->nslots; i++) {
        slot = &sh->slot[i];
        pid = (ngx_pid_t) slot->pid;

        if (pid != 0 && (kill(pid, 0) == 0 || ngx_errno != NGX_ESRCH)) {
            continue;
        }

        if (ngx_atomic_cmp_set(&slot->pid, (ngx_atomic_uint_t) pid,
                               (ngx_atomic_uint_t) ngx_pid))
        {
            break;
        }
    }

    if (i == sh->nslots || slot == NULL) {
        ngx_log_error(NGX_LOG_WARN, log, 0,
                      "ws_perf_metrics_zone has no free slot for this "
                      "worker, its metrics are not counted");
        return NULL;
    }

    /* what the previous owner left open died with it */
    slot->closed[NGX_WS_PERF_M_CLOSE_1006] += slot->conn_opened
                                               - slot->conn_closed;
    slot->conn_closed = slot->conn_opened;
    slot->queued = 0;
    slot->scheduled = 0;

    /* the Redis engine may have started before this module's init_process */
    own = &ngx_ws_perf_mslot_private;
    slot->redis_configured = own->redis_configured;
    slot->redis_state = own->redis_state;
    slot->redis_subscribed = own->redis_subscribed;
    slot->redis_pending = own->redis_pending;
    slot->redis_since = own->redis_since ? own->redis_since
                                         : (uint64_t) ngx_time();
    slot->rss = 0;
    slot->cpu_ms = 0;
    slot->started = ngx_time();

    return slot;
}


static void
ngx_ws_perf_metrics_exit_process(ngx_cycle_t *cycle)
{
    ngx_ws_perf_mslot_t  *slot;

    slot = ngx_ws_perf_mslot_own;

    if (ngx_ws_perf_statm != NGX_INVALID_FILE) {
        (void) ngx_close_file(ngx_ws_perf_statm);
        ngx_ws_perf_statm = NGX_INVALID_FILE;
    }

    if (slot == &ngx_ws_perf_mslot_private) {
        return;
    }

    ngx_ws_perf_mslot = &ngx_ws_perf_mslot_private;
    ngx_ws_perf_mslot_own = &ngx_ws_perf_mslot_private;
    ngx_ws_perf_metrics_timing = 0;

    slot->queued = 0;
    slot->redis_configured = 0;
    slot->rss = 0;

    (void) ngx_atomic_cmp_set(&slot->pid, (ngx_atomic_uint_t) ngx_pid, 0);
}


static void *
ngx_ws_perf_metrics_create_main_conf(ngx_conf_t *cf)
{
    ngx_ws_perf_metrics_conf_t  *mcf;

    mcf = ngx_pcalloc(cf->pool, sizeof(ngx_ws_perf_metrics_conf_t));
    if (mcf == NULL) {
        return NULL;
    }

    if (ngx_array_init(&mcf->alerts, cf->pool, 4,
                       sizeof(ngx_ws_perf_alert_conf_t))
        != NGX_OK)
    {
        return NULL;
    }

    mcf->enable = NGX_CONF_UNSET;
    mcf->zone_size = NGX_CONF_UNSET_SIZE;
    mcf->window = NGX_CONF_UNSET_MSEC;

    return mcf;
}


static char *
ngx_ws_perf_metrics_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_ws_perf_metrics_conf_t *mcf = conf;

    ngx_str_t  name;

    ngx_conf_init_value(mcf->enable, 1);
    ngx_conf_init_size_value(mcf->zone_size, 1024 * 1024);
    ngx_conf_init_msec_value(mcf->window, 10000);

    if (mcf->window < 1000 || mcf->window > 60000) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"ws_perf_alert_window\" must be from 1s to 60s");
        return NGX_CONF_ERROR;
    }

    if (mcf->zone_size < 8 * ngx_pagesize
        || mcf->zone_size < sizeof(ngx_ws_perf_metrics_sh_t)
                            + 4 * sizeof(ngx_ws_perf_mslot_t))
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"ws_perf_metrics_zone\" must be at least %uzk",
                           (sizeof(ngx_ws_perf_metrics_sh_t)
                            + 4 * sizeof(ngx_ws_perf_mslot_t)) / 1024 + 1);
        return NGX_CONF_ERROR;
    }

    ngx_str_set(&name, "ws_perf_metrics");

    mcf->shm_zone = ngx_shared_memory_add(cf, &name, mcf->zone_size,
                                          &ngx_ws_perf_metrics_module);
    if (mcf->shm_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    mcf->shm_zone->init = ngx_ws_perf_metrics_init_zone;
    mcf->shm_zone->data = mcf;

    return NGX_CONF_OK;
}


static char *
ngx_ws_perf_status(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    if (clcf->handler) {
        return "is duplicate, or the location has another handler";
    }

    clcf->handler = (ngx_strcmp(cmd->name.data, "ws_perf_health") == 0)
                    ? ngx_ws_perf_health_handler : ngx_ws_perf_status_handler;

    return NGX_CONF_OK;
}
