
/*
 * Copyright (C) ngx_ws_perf_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <sys/un.h>
#include "ngx_ws_perf.h"
#include "ngx_ws_perf_metrics.h"
#include "ngx_ws_perf_shm.h"
#include "ngx_ws_perf_presence.h"


/*
 * The shared-memory engine: without ws_perf_redis every worker's messages
 * go through a log of bus records in one zone (ws_perf_shm_zone), appended
 * under the zone's lock; each worker keeps a cursor in it and takes what
 * is newer.  A worker that appends wakes the others with a one-byte
 * datagram on their abstract unix sockets, once until they have looked; a
 * slow timer is the safety net.  The lock is the slab pool's mutex, which
 * the master unlocks when its holder dies; a marker set around every
 * change tells the next locker that one was cut short.
 */


#define NGX_WS_PERF_SHM_TAKE_MAX   512
#define NGX_WS_PERF_SHM_TICK       1000
#define NGX_WS_PERF_SHM_SWEEP      64   /* presence channels a tick */


typedef struct {
    ngx_uint_t                  target;
    u_char                      name[NGX_WS_PERF_NAME_MAX];
    size_t                      len;
} ngx_ws_perf_shm_gone_t;


static ngx_int_t ngx_ws_perf_shm_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static ngx_ws_perf_shm_t *ngx_ws_perf_shm_create(ngx_slab_pool_t *shpool);
static void ngx_ws_perf_shm_repair(void);
static ngx_int_t ngx_ws_perf_shm_init(ngx_cycle_t *cycle);
static void ngx_ws_perf_shm_exit(ngx_cycle_t *cycle);
static ngx_int_t ngx_ws_perf_shm_listen(ngx_cycle_t *cycle);
static socklen_t ngx_ws_perf_shm_addr(struct sockaddr_un *sa, ngx_pid_t pid);
static void ngx_ws_perf_shm_wakeup(ngx_event_t *ev);
static void ngx_ws_perf_shm_drain_handler(ngx_event_t *ev);
static void ngx_ws_perf_shm_tick(ngx_event_t *ev);
static void ngx_ws_perf_shm_arm(int64_t at);
static ngx_ws_perf_shm_worker_t *ngx_ws_perf_shm_self(void);
static ngx_queue_t *ngx_ws_perf_shm_after(uint64_t cursor);
static ngx_int_t ngx_ws_perf_shm_take_one(ngx_array_t *out,
    ngx_ws_perf_shm_rec_t *rec);
static void ngx_ws_perf_shm_gc(ngx_uint_t check);
static ngx_uint_t ngx_ws_perf_shm_alive(ngx_pid_t pid);
static uint64_t ngx_ws_perf_shm_number(ngx_ws_perf_msg_t *m, u_char *idbuf);
static ngx_int_t ngx_ws_perf_shm_post_copy(ngx_ws_perf_shm_msg_t *c,
    ngx_str_t *reason);
static void ngx_ws_perf_shm_signal(void);
static void ngx_ws_perf_shm_first(ngx_uint_t target, ngx_str_t *name);
static void ngx_ws_perf_shm_last(ngx_uint_t target, ngx_str_t *name);
static void ngx_ws_perf_shm_flush(void);
static void ngx_ws_perf_shm_flush_handler(ngx_event_t *ev);
static void ngx_ws_perf_shm_count(ngx_uint_t target, u_char *name,
    size_t len, ngx_uint_t nsubs);
static ngx_int_t ngx_ws_perf_shm_room(ngx_uint_t n, ngx_uint_t later,
    u_char *err);
static ngx_int_t ngx_ws_perf_shm_publish(ngx_ws_perf_msg_t *m,
    ngx_ws_perf_publish_pt handler, void *data, ngx_uint_t tag,
    ngx_log_t *log);
static ngx_int_t ngx_ws_perf_shm_info(ngx_uint_t target, ngx_str_t *name,
    ngx_ws_perf_info_pt handler, void *data);
static ngx_ws_perf_shm_present_t *ngx_ws_perf_shm_own(
    ngx_ws_perf_shm_topic_t *t, ngx_uint_t create);
static void ngx_ws_perf_shm_let_go(ngx_ws_perf_shm_topic_t *t,
    ngx_ws_perf_shm_present_t *pr);
static ngx_int_t ngx_ws_perf_shm_admit(ngx_str_t *user, ngx_uint_t max,
    ngx_ws_perf_admit_pt handler, void *data);
static ngx_uint_t ngx_ws_perf_shm_connections(ngx_ws_perf_shm_topic_t *t,
    ngx_uint_t max);
static void ngx_ws_perf_shm_leave(ngx_str_t *user);
static void ngx_ws_perf_shm_test_die(void);


ngx_ws_perf_engine_t  ngx_ws_perf_shm_engine = {
    "shm",
    ngx_ws_perf_shm_init,
    ngx_ws_perf_shm_exit,
    ngx_ws_perf_shm_room,
    ngx_ws_perf_shm_publish,
    ngx_ws_perf_shm_schedule,
    ngx_ws_perf_shm_cancel,
    ngx_ws_perf_shm_info,
    ngx_ws_perf_shm_resume,
    ngx_ws_perf_shm_ack,
    ngx_ws_perf_shm_admit,
    ngx_ws_perf_shm_leave,
    ngx_ws_perf_shm_presence_list,
    ngx_ws_perf_shm_dlq_list,
    ngx_ws_perf_shm_dlq_get,
    ngx_ws_perf_shm_dlq_replay,
    ngx_ws_perf_shm_dlq_delete
};


static char  *ngx_ws_perf_shm_what[] = {
    "nothing", "publish", "bus", "store", "timer work", "dead letters",
    "worker table", "test hook"
};


ngx_ws_perf_shm_t         *ngx_ws_perf_shm;
ngx_slab_pool_t           *ngx_ws_perf_shm_pool;
ngx_uint_t                 ngx_ws_perf_shm_slot;

static ngx_shm_zone_t     *ngx_ws_perf_shm_zone;
static ngx_uint_t          ngx_ws_perf_shm_on;
static ngx_uint_t          ngx_ws_perf_shm_test;
static ngx_connection_t   *ngx_ws_perf_shm_conn;
static ngx_connection_t    ngx_ws_perf_shm_dumb;
static ngx_event_t         ngx_ws_perf_shm_timer;
static ngx_event_t         ngx_ws_perf_shm_drain_ev;
static ngx_event_t         ngx_ws_perf_shm_flush_ev;
static ngx_pid_t           ngx_ws_perf_shm_wake_pids[NGX_MAX_PROCESSES];
static ngx_uint_t          ngx_ws_perf_shm_nwake;
static ngx_array_t         ngx_ws_perf_shm_taken;
static u_char              ngx_ws_perf_shm_reason[NGX_WS_PERF_ERR_LEN];
static ngx_str_t           ngx_ws_perf_shm_full_text;


/* ws_perf_shm_zone name size; */

char *
ngx_ws_perf_shm_zone_conf(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_ws_perf_main_conf_t *wmcf = conf;

    u_char     *p;
    ssize_t     size;
    ngx_str_t  *value;

    if (wmcf->shm_zone) {
        return "is duplicate";
    }

    value = cf->args->elts;

    for (p = value[1].data; p < value[1].data + value[1].len; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
              || (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'))
        {
            break;
        }
    }

    if (value[1].len == 0 || value[1].len > 64
        || p != value[1].data + value[1].len)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid zone name \"%V\" in \"%V\": 1-64 of "
                           "[A-Za-z0-9_-]", &value[1], &cmd->name);
        return NGX_CONF_ERROR;
    }

    size = ngx_parse_size(&value[2]);

    if (size == NGX_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid zone size \"%V\" in \"%V\"",
                           &value[2], &cmd->name);
        return NGX_CONF_ERROR;
    }

    if (size < NGX_WS_PERF_SHM_MIN_SIZE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "zone \"%V\" is too small in \"%V\": %V, the "
                           "least is 256k", &value[1], &cmd->name,
                           &value[2]);
        return NGX_CONF_ERROR;
    }

    wmcf->shm_zone = ngx_ws_perf_shm_zone_add(cf, &value[1], size);
    if (wmcf->shm_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


ngx_shm_zone_t *
ngx_ws_perf_shm_zone_add(ngx_conf_t *cf, ngx_str_t *name, size_t size)
{
    ngx_shm_zone_t  *shm_zone;

    shm_zone = ngx_shared_memory_add(cf, name, size, &ngx_ws_perf_module);
    if (shm_zone == NULL) {
        return NULL;
    }

    if (shm_zone->data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "zone \"%V\" is already used", name);
        return NULL;
    }

    shm_zone->init = ngx_ws_perf_shm_init_zone;
    shm_zone->data = (void *) 1;

    return shm_zone;
}


/*
 * In the master, for a new zone or (data set) the same zone kept across a
 * reload: nginx maps it at the same address, so everything in it holds.
 */

static ngx_int_t
ngx_ws_perf_shm_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_slab_pool_t    *shpool;
    ngx_ws_perf_shm_t  *sh;

    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (data && data != (void *) 1) {
        sh = shpool->data;

        if (sh == NULL || sh->magic != NGX_WS_PERF_SHM_MAGIC) {
            ngx_log_error(NGX_LOG_EMERG, shm_zone->shm.log, 0,
                          "ws_perf_shm_zone \"%V\" was made by another "
                          "version of the module: restart nginx",
                          &shm_zone->shm.name);
            return NGX_ERROR;
        }

        shm_zone->data = shpool;
        return NGX_OK;
    }

    shm_zone->data = shpool;

    if (shm_zone->shm.exists) {
        return NGX_OK;
    }

    shpool->log_ctx = ngx_slab_alloc(shpool, sizeof(" in ws_perf_shm_zone "
                                                    "\"\"")
                                             + shm_zone->shm.name.len);
    if (shpool->log_ctx == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(shpool->log_ctx, " in ws_perf_shm_zone \"%V\"%Z",
                &shm_zone->shm.name);

    /* a full zone is an answer to the publisher, not a line per message */
    shpool->log_nomem = 0;

    return ngx_ws_perf_shm_create(shpool) ? NGX_OK : NGX_ERROR;
}


static ngx_ws_perf_shm_t *
ngx_ws_perf_shm_create(ngx_slab_pool_t *shpool)
{
    ngx_ws_perf_shm_t  *sh;

    sh = ngx_slab_alloc_locked(shpool, sizeof(ngx_ws_perf_shm_t));
    if (sh == NULL) {
        return NULL;
    }

    ngx_memzero(sh, sizeof(ngx_ws_perf_shm_t));

    sh->magic = NGX_WS_PERF_SHM_MAGIC;
    sh->epoch = ngx_ws_perf_shm_now();
    ngx_queue_init(&sh->bus);
    sh->bus_max = (shpool->end - (u_char *) shpool) / 4;

    ngx_ws_perf_shm_store_init(sh);

    shpool->data = sh;

    return sh;
}


int64_t
ngx_ws_perf_shm_now(void)
{
    ngx_time_t  *tp;

    tp = ngx_timeofday();

    return (int64_t) tp->sec * 1000 + tp->msec;
}


/*
 * The zone's one lock, with the marker of a change under way: a marker
 * found set was left by a worker that died holding the lock (the master
 * unlocked it), so what it was changing may be half done.
 */

void
ngx_ws_perf_shm_lock(ngx_uint_t what)
{
    ngx_shmtx_lock(&ngx_ws_perf_shm_pool->mutex);

    ngx_ws_perf_shm = ngx_ws_perf_shm_pool->data;

    if (ngx_ws_perf_shm->writer) {
        ngx_ws_perf_shm_repair();
    }

    ngx_ws_perf_shm->writer = ngx_pid;
    ngx_ws_perf_shm->what = what;
}


void
ngx_ws_perf_shm_unlock(void)
{
    ngx_ws_perf_shm->writer = 0;
    ngx_ws_perf_shm->what = NGX_WS_PERF_SHM_NONE;

    ngx_shmtx_unlock(&ngx_ws_perf_shm_pool->mutex);
}


/*
 * A change was cut short, and lists, trees or the slab allocator itself
 * may be half linked: the zone's contents are dropped and made anew,
 * keeping the counters and the workers' table so that ids stay unique
 * and cursors valid; a resume then gets a gap notice (the new epoch).
 */

static void
ngx_ws_perf_shm_repair(void)
{
    ngx_pid_t           writer;
    ngx_uint_t          i, what, repairs, nslots;
    ngx_ws_perf_shm_t   old, *sh;
    static ngx_ws_perf_shm_worker_t  workers[NGX_MAX_PROCESSES];

    ngx_memcpy(&old, ngx_ws_perf_shm, offsetof(ngx_ws_perf_shm_t, workers));
    ngx_memcpy(workers, ngx_ws_perf_shm->workers, sizeof(workers));

    writer = old.writer;
    what = old.what < sizeof(ngx_ws_perf_shm_what) / sizeof(char *)
           ? old.what : NGX_WS_PERF_SHM_NONE;
    repairs = old.repairs + 1;
    nslots = old.nslots;

    ngx_slab_init(ngx_ws_perf_shm_pool);
    ngx_ws_perf_shm_pool->log_nomem = 0;
    ngx_ws_perf_shm_pool->log_ctx = NULL;

    sh = ngx_ws_perf_shm_create(ngx_ws_perf_shm_pool);

    /* the root is the first allocation of a fresh pool: it cannot fail */
    ngx_ws_perf_shm = sh;

    sh->repairs = repairs;
    sh->seq = old.seq;
    sh->bus_n = old.bus_n;
    sh->sid = old.sid;
    sh->dead_n = old.dead_n;
    sh->nomem = old.nomem;
    sh->nslots = nslots;

    for (i = 0; i < nslots; i++) {
        sh->workers[i].pid = workers[i].pid;
        sh->workers[i].cursor = sh->bus_n;
    }

    ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                  "ws_perf: worker %P died while changing the %s of "
                  "ws_perf_shm_zone \"%V\": repaired by dropping the zone's "
                  "messages, inboxes, acks, dead letters and schedule "
                  "(repair %ui)", writer, ngx_ws_perf_shm_what[what],
                  &ngx_ws_perf_shm_zone->shm.name, repairs);
}


void *
ngx_ws_perf_shm_alloc(size_t size)
{
    void  *p;

    p = ngx_slab_alloc_locked(ngx_ws_perf_shm_pool, size);

    if (p == NULL) {
        ngx_ws_perf_shm->nomem++;
    }

    return p;
}


void
ngx_ws_perf_shm_free(void *p)
{
    ngx_slab_free_locked(ngx_ws_perf_shm_pool, p);
}


ngx_str_t *
ngx_ws_perf_shm_full(void)
{
    u_char  *p;

    p = ngx_snprintf(ngx_ws_perf_shm_reason, NGX_WS_PERF_ERR_LEN,
                     "ws_perf_shm_zone \"%V\" (%uz bytes) is full: raise "
                     "its size, or lower what it keeps (inboxes, history, "
                     "dead letters, ack waits)",
                     &ngx_ws_perf_shm_zone->shm.name,
                     ngx_ws_perf_shm_zone->shm.size);

    ngx_ws_perf_shm_full_text.data = ngx_ws_perf_shm_reason;
    ngx_ws_perf_shm_full_text.len = p - ngx_ws_perf_shm_reason;

    return &ngx_ws_perf_shm_full_text;
}


/* from init_process of a worker without ws_perf_redis */

static ngx_int_t
ngx_ws_perf_shm_init(ngx_cycle_t *cycle)
{
    char                      *env;
    ngx_ws_perf_shm_worker_t  *w;
    ngx_ws_perf_main_conf_t   *wmcf;

    wmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_ws_perf_module);

    if (wmcf == NULL || wmcf->shm_zone == NULL) {
        /* no pub/sub, publish or dead-letter location */
        return NGX_OK;
    }

    ngx_ws_perf_shm_zone = wmcf->shm_zone;
    ngx_ws_perf_shm_pool = (ngx_slab_pool_t *) wmcf->shm_zone->shm.addr;
    ngx_ws_perf_shm_slot = (ngx_process == NGX_PROCESS_WORKER)
                           ? (ngx_uint_t) ngx_process_slot : 0;

    if (ngx_array_init(&ngx_ws_perf_shm_taken, cycle->pool, 64,
                       sizeof(ngx_ws_perf_shm_msg_t *))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    env = getenv("WS_PERF_SHM_TEST");
    ngx_ws_perf_shm_test = (env && ngx_strcmp(env, "1") == 0);

    /* a worker begins at the head: what came before went to its forebear */
    ngx_ws_perf_shm_lock(NGX_WS_PERF_SHM_WORKER);

    w = &ngx_ws_perf_shm->workers[ngx_ws_perf_shm_slot];
    w->pid = ngx_pid;
    w->cursor = ngx_ws_perf_shm->bus_n;
    w->signalled = 0;

    if (ngx_ws_perf_shm->nslots <= ngx_ws_perf_shm_slot) {
        ngx_ws_perf_shm->nslots = ngx_ws_perf_shm_slot + 1;
    }

    ngx_ws_perf_shm_unlock();

    if (ngx_ws_perf_shm_listen(cycle) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_ws_perf_shm_dumb.fd = (ngx_socket_t) -1;

    ngx_ws_perf_shm_timer.handler = ngx_ws_perf_shm_tick;
    ngx_ws_perf_shm_timer.data = &ngx_ws_perf_shm_dumb;
    ngx_ws_perf_shm_timer.log = cycle->log;
    ngx_ws_perf_shm_timer.cancelable = 1;

    ngx_ws_perf_shm_drain_ev.handler = ngx_ws_perf_shm_drain_handler;
    ngx_ws_perf_shm_drain_ev.data = &ngx_ws_perf_shm_dumb;
    ngx_ws_perf_shm_drain_ev.log = cycle->log;

    ngx_ws_perf_shm_flush_ev.handler = ngx_ws_perf_shm_flush_handler;
    ngx_ws_perf_shm_flush_ev.data = &ngx_ws_perf_shm_dumb;
    ngx_ws_perf_shm_flush_ev.log = cycle->log;

    ngx_ws_perf_hub_first = ngx_ws_perf_shm_first;
    ngx_ws_perf_hub_last = ngx_ws_perf_shm_last;
    ngx_ws_perf_hub_track_changes = 1;
    ngx_ws_perf_presence_hook = ngx_ws_perf_shm_presence_hook;

    ngx_ws_perf_shm_on = 1;

    /* the members a killed forebear of this slot left go now */
    ngx_ws_perf_shm_lock(NGX_WS_PERF_SHM_STORE);
    ngx_ws_perf_shm_presence_sweep(0);
    ngx_ws_perf_shm_unlock();
    ngx_ws_perf_shm_soon();

    ngx_add_timer(&ngx_ws_perf_shm_timer, NGX_WS_PERF_SHM_TICK);

    return NGX_OK;
}


static void
ngx_ws_perf_shm_exit(ngx_cycle_t *cycle)
{
    ngx_ws_perf_shm_worker_t  *w;

    if (!ngx_ws_perf_shm_on) {
        return;
    }

    ngx_ws_perf_shm_on = 0;

    if (ngx_ws_perf_shm_timer.timer_set) {
        ngx_del_timer(&ngx_ws_perf_shm_timer);
    }

    if (ngx_ws_perf_shm_drain_ev.posted) {
        ngx_delete_posted_event(&ngx_ws_perf_shm_drain_ev);
    }

    if (ngx_ws_perf_shm_flush_ev.posted) {
        ngx_delete_posted_event(&ngx_ws_perf_shm_flush_ev);
    }

    ngx_ws_perf_hub_first = NULL;
    ngx_ws_perf_hub_last = NULL;
    ngx_ws_perf_presence_hook = NULL;

    /* its cursor no longer holds the bus back */
    ngx_ws_perf_shm_lock(NGX_WS_PERF_SHM_WORKER);

    w = &ngx_ws_perf_shm->workers[ngx_ws_perf_shm_slot];

    if (w->pid == ngx_pid) {
        w->pid = 0;
    }

    ngx_ws_perf_shm_gc(0);
    ngx_ws_perf_shm_unlock();

    if (ngx_ws_perf_shm_conn) {
        ngx_close_connection(ngx_ws_perf_shm_conn);
        ngx_ws_perf_shm_conn = NULL;
    }
}


/* "\0ngx_ws_perf/<master pid>/<worker pid>": abstract, gone with its fd */

static socklen_t
ngx_ws_perf_shm_addr(struct sockaddr_un *sa, ngx_pid_t pid)
{
    u_char     *p;
    ngx_pid_t   master;

    master = (ngx_process == NGX_PROCESS_WORKER) ? getppid() : ngx_pid;

    ngx_memzero(sa, sizeof(struct sockaddr_un));
    sa->sun_family = AF_UNIX;

    p = ngx_sprintf((u_char *) sa->sun_path + 1, "ngx_ws_perf/%P/%P",
                    master, pid);

    return (socklen_t) (p - (u_char *) sa);
}


static ngx_int_t
ngx_ws_perf_shm_listen(ngx_cycle_t *cycle)
{
    socklen_t            len;
    ngx_socket_t         s;
    ngx_connection_t    *c;
    struct sockaddr_un   sa;

    s = socket(AF_UNIX, SOCK_DGRAM|SOCK_NONBLOCK|SOCK_CLOEXEC, 0);

    if (s == (ngx_socket_t) -1) {
        ngx_log_error(NGX_LOG_ALERT, cycle->log, ngx_socket_errno,
                      "ws_perf: socket(AF_UNIX) for wakeups failed");
        return NGX_ERROR;
    }

    len = ngx_ws_perf_shm_addr(&sa, ngx_pid);

    if (bind(s, (struct sockaddr *) &sa, len) == -1) {
        ngx_log_error(NGX_LOG_ALERT, cycle->log, ngx_socket_errno,
                      "ws_perf: bind() of the wakeup socket failed");
        ngx_close_socket(s);
        return NGX_ERROR;
    }

    c = ngx_get_connection(s, cycle->log);
    if (c == NULL) {
        ngx_close_socket(s);
        return NGX_ERROR;
    }

    c->read->handler = ngx_ws_perf_shm_wakeup;
    c->read->log = cycle->log;
    c->write->log = cycle->log;

    if (ngx_add_event(c->read, NGX_READ_EVENT, 0) != NGX_OK) {
        ngx_close_connection(c);
        return NGX_ERROR;
    }

    ngx_ws_perf_shm_conn = c;

    return NGX_OK;
}


static void
ngx_ws_perf_shm_wakeup(ngx_event_t *ev)
{
    u_char             buf[64];
    ssize_t            n;
    ngx_uint_t         i;
    ngx_connection_t  *c;

    c = ev->data;

    /* a burst of wakeups is one drain; the datagrams say nothing more */
    for (i = 0; i < 64; i++) {
        n = recv(c->fd, buf, sizeof(buf), 0);

        if (n == -1) {
            break;
        }
    }

    ngx_ws_perf_shm_drain();
}


static void
ngx_ws_perf_shm_drain_handler(ngx_event_t *ev)
{
    ngx_ws_perf_shm_drain();
}


/* after changes made outside the event loop's own turn: drained later */

void
ngx_ws_perf_shm_soon(void)
{
    if (!ngx_ws_perf_shm_on) {
        return;
    }

    ngx_ws_perf_shm_wake();

    if (!ngx_ws_perf_shm_drain_ev.posted) {
        ngx_post_event(&ngx_ws_perf_shm_drain_ev, &ngx_posted_events);
    }
}


/* wakes the workers the last changes signalled, after the unlock */

void
ngx_ws_perf_shm_wake(void)
{
    socklen_t           len;
    ngx_uint_t          i;
    struct sockaddr_un  sa;

    for (i = 0; i < ngx_ws_perf_shm_nwake; i++) {
        len = ngx_ws_perf_shm_addr(&sa, ngx_ws_perf_shm_wake_pids[i]);

        /* lost or refused: the worker went, or its 1s timer looks anyway */
        (void) sendto(ngx_ws_perf_shm_conn->fd, "w", 1, MSG_DONTWAIT,
                      (struct sockaddr *) &sa, len);
    }

    ngx_ws_perf_shm_nwake = 0;
}


/* under the lock: the workers to wake that have not been */

static void
ngx_ws_perf_shm_signal(void)
{
    ngx_uint_t                 i;
    ngx_ws_perf_shm_worker_t  *w;

    for (i = 0; i < ngx_ws_perf_shm->nslots; i++) {
        w = &ngx_ws_perf_shm->workers[i];

        if (w->pid == 0 || w->pid == ngx_pid || w->signalled) {
            continue;
        }

        w->signalled = 1;
        ngx_ws_perf_shm_wake_pids[ngx_ws_perf_shm_nwake++] = w->pid;
    }
}


/* takes what the bus holds for this worker and hands it to the hub */

void
ngx_ws_perf_shm_drain(void)
{
    ngx_int_t  rc;

    if (!ngx_ws_perf_shm_on) {
        return;
    }

    ngx_ws_perf_shm_lock(NGX_WS_PERF_SHM_BUS);
    rc = ngx_ws_perf_shm_take(&ngx_ws_perf_shm_taken,
                              NGX_WS_PERF_SHM_TAKE_MAX);
    ngx_ws_perf_shm_unlock();

    ngx_ws_perf_shm_deliver(&ngx_ws_perf_shm_taken);

    if (rc == NGX_AGAIN && !ngx_ws_perf_shm_drain_ev.posted) {
        ngx_post_event(&ngx_ws_perf_shm_drain_ev, &ngx_posted_events);
    }

    ngx_ws_perf_shm_flush();
}


/*
 * Under the lock: copies of the bus records after this worker's cursor
 * (at most max; 0: all) into out, the cursor moved past them.  NGX_OK,
 * or NGX_AGAIN when more wait.
 */

ngx_int_t
ngx_ws_perf_shm_take(ngx_array_t *out, ngx_uint_t max)
{
    uint64_t                   now;
    ngx_uint_t                 n;
    ngx_queue_t               *q;
    ngx_ws_perf_shm_rec_t     *rec;
    ngx_ws_perf_shm_worker_t  *w;

    w = ngx_ws_perf_shm_self();
    now = ngx_ws_perf_metrics_now();

    w->signalled = 0;

    if (w->cursor >= ngx_ws_perf_shm->bus_n) {
        return NGX_OK;
    }

    q = ngx_ws_perf_shm_after(w->cursor);
    n = 0;

    while (q != ngx_queue_sentinel(&ngx_ws_perf_shm->bus)) {
        if (max && n == max) {
            ngx_ws_perf_shm_gc(0);
            return NGX_AGAIN;
        }

        rec = ngx_queue_data(q, ngx_ws_perf_shm_rec_t, queue);

        if (ngx_ws_perf_shm_take_one(out, rec) != NGX_OK) {
            /* delivered later; the 1s timer comes back for it */
            break;
        }

        w->cursor = rec->n;
        n++;

        if (rec->from != ngx_pid && rec->at && now > rec->at) {
            ngx_ws_perf_metrics_bus_latency_us(now - rec->at);
        }

        q = ngx_queue_next(q);
    }

    ngx_ws_perf_shm_gc(0);

    return NGX_OK;
}


/* under the lock: this worker's slot, its own again if it was not */

static ngx_ws_perf_shm_worker_t *
ngx_ws_perf_shm_self(void)
{
    ngx_ws_perf_shm_worker_t  *w;

    w = &ngx_ws_perf_shm->workers[ngx_ws_perf_shm_slot];

    if (w->pid != ngx_pid) {
        /* the table was made anew, or a stale check dropped this worker */
        w->pid = ngx_pid;
        w->cursor = ngx_ws_perf_shm->bus_n;

        if (ngx_ws_perf_shm->nslots <= ngx_ws_perf_shm_slot) {
            ngx_ws_perf_shm->nslots = ngx_ws_perf_shm_slot + 1;
        }
    }

    return w;
}


/* under the lock: the first bus record after cursor, from the newest end */

static ngx_queue_t *
ngx_ws_perf_shm_after(uint64_t cursor)
{
    ngx_queue_t            *q;
    ngx_ws_perf_shm_rec_t  *rec;

    q = ngx_queue_last(&ngx_ws_perf_shm->bus);

    while (q != ngx_queue_sentinel(&ngx_ws_perf_shm->bus)) {
        rec = ngx_queue_data(q, ngx_ws_perf_shm_rec_t, queue);

        if (rec->n <= cursor) {
            break;
        }

        q = ngx_queue_prev(q);
    }

    return ngx_queue_next(q);
}


/* a copy of rec's message, out of the zone, into out; NGX_ERROR: no memory */

static ngx_int_t
ngx_ws_perf_shm_take_one(ngx_array_t *out, ngx_ws_perf_shm_rec_t *rec)
{
    size_t                  size;
    ngx_ws_perf_shm_msg_t  *c, **slot;

    size = ngx_ws_perf_shm_msg_size(rec->msg);

    slot = ngx_array_push(out);
    if (slot == NULL) {
        return NGX_ERROR;
    }

    c = ngx_alloc(size, ngx_cycle->log);
    if (c == NULL) {
        /* no slot left behind for ngx_ws_perf_shm_deliver() to free */
        out->nelts--;
        return NGX_ERROR;
    }

    ngx_memcpy(c, rec->msg, size);
    *slot = c;

    return NGX_OK;
}


/* the copies taken, to the hub, then freed */

void
ngx_ws_perf_shm_deliver(ngx_array_t *taken)
{
    ngx_str_t                name, user;
    ngx_uint_t               i;
    ngx_ws_perf_msg_t        m;
    ngx_ws_perf_shm_msg_t  **c;

    c = taken->elts;

    for (i = 0; i < taken->nelts; i++) {
        ngx_ws_perf_shm_msg(c[i], &m);

        if (c[i]->presence) {
            name.data = (u_char *) m.name;
            name.len = m.name_len;
            user.data = (u_char *) m.data;
            user.len = m.data_len;

            ngx_ws_perf_presence_event(&name, &user, c[i]->presence,
                                       c[i]->seq, ngx_cycle->log);

        } else {
            (void) ngx_ws_perf_hub_deliver(&m, ngx_cycle->log);
        }

        ngx_free(c[i]);
    }

    taken->nelts = 0;
}


/*
 * Under the lock: frees the records every worker has taken; with check,
 * a worker whose process is gone stops holding them back first.
 */

static void
ngx_ws_perf_shm_gc(ngx_uint_t check)
{
    uint64_t                   min;
    ngx_uint_t                 i;
    ngx_queue_t               *q;
    ngx_ws_perf_shm_rec_t     *rec;
    ngx_ws_perf_shm_worker_t  *w;

    min = ngx_ws_perf_shm->bus_n;

    for (i = 0; i < ngx_ws_perf_shm->nslots; i++) {
        w = &ngx_ws_perf_shm->workers[i];

        if (w->pid == 0) {
            continue;
        }

        if (check && w->cursor < min && !ngx_ws_perf_shm_alive(w->pid)) {
            ngx_log_error(NGX_LOG_INFO, ngx_cycle->log, 0,
                          "ws_perf: worker %P is gone: its %uL unread bus "
                          "records are let go", w->pid,
                          ngx_ws_perf_shm->bus_n - w->cursor);
            w->pid = 0;
            continue;
        }

        if (w->cursor < min) {
            min = w->cursor;
        }
    }

    while (!ngx_queue_empty(&ngx_ws_perf_shm->bus)) {
        q = ngx_queue_head(&ngx_ws_perf_shm->bus);
        rec = ngx_queue_data(q, ngx_ws_perf_shm_rec_t, queue);

        if (rec->n > min) {
            break;
        }

        ngx_queue_remove(q);
        ngx_ws_perf_shm->bus_size -= rec->size;
        ngx_ws_perf_shm_unref(rec->msg);
        ngx_ws_perf_shm_free(rec);
    }
}


static ngx_uint_t
ngx_ws_perf_shm_alive(ngx_pid_t pid)
{
    return !(kill(pid, 0) == -1 && ngx_errno == NGX_ESRCH);
}


/*
 * Under the lock: c goes on the bus for every worker.  NGX_OK; NGX_BUSY:
 * the bus is full (a live worker is behind), or no memory is left.
 */

ngx_int_t
ngx_ws_perf_shm_bus_add(ngx_ws_perf_shm_msg_t *c)
{
    size_t                  size;
    ngx_ws_perf_shm_rec_t  *rec;

    size = sizeof(ngx_ws_perf_shm_rec_t) + ngx_ws_perf_shm_msg_size(c);

    if (ngx_ws_perf_shm->bus_size + size > ngx_ws_perf_shm->bus_max) {
        ngx_ws_perf_shm_gc(1);

        if (ngx_ws_perf_shm->bus_size + size > ngx_ws_perf_shm->bus_max) {
            return NGX_BUSY;
        }
    }

    rec = ngx_ws_perf_shm_alloc(sizeof(ngx_ws_perf_shm_rec_t));
    if (rec == NULL) {
        return NGX_ERROR;
    }

    rec->n = ++ngx_ws_perf_shm->bus_n;
    rec->size = size;
    rec->from = ngx_pid;
    rec->at = ngx_ws_perf_metrics_now();
    rec->msg = c;
    c->refs++;

    ngx_queue_insert_tail(&ngx_ws_perf_shm->bus, &rec->queue);
    ngx_ws_perf_shm->bus_size += size;

    ngx_ws_perf_shm_signal();

    return NGX_OK;
}


static ngx_str_t *
ngx_ws_perf_shm_bus_full(void)
{
    u_char                    *p;
    uint64_t                   lag;
    ngx_pid_t                  pid;
    ngx_uint_t                 i;
    ngx_ws_perf_shm_worker_t  *w;

    lag = 0;
    pid = 0;

    for (i = 0; i < ngx_ws_perf_shm->nslots; i++) {
        w = &ngx_ws_perf_shm->workers[i];

        if (w->pid && ngx_ws_perf_shm->bus_n - w->cursor > lag) {
            lag = ngx_ws_perf_shm->bus_n - w->cursor;
            pid = w->pid;
        }
    }

    p = ngx_snprintf(ngx_ws_perf_shm_reason, NGX_WS_PERF_ERR_LEN,
                     "the bus of ws_perf_shm_zone \"%V\" is full: worker "
                     "%P has not taken its last %uL messages",
                     &ngx_ws_perf_shm_zone->shm.name, pid, lag);

    ngx_ws_perf_shm_full_text.data = ngx_ws_perf_shm_reason;
    ngx_ws_perf_shm_full_text.len = p - ngx_ws_perf_shm_reason;

    return &ngx_ws_perf_shm_full_text;
}


/*
 * Under the lock: a message numbered, timed, kept as reliable delivery
 * needs and put on the bus; idbuf (NGX_WS_PERF_ID_MAX) holds the id it
 * gets unless it has one.  NGX_OK, or an HTTP status with *reason: 429
 * (the user's ack waits), 503 (the bus is full), 507 (the zone is full).
 */

ngx_int_t
ngx_ws_perf_shm_post(ngx_ws_perf_msg_t *m, u_char *idbuf, ngx_str_t *reason)
{
    uint64_t                  seq;
    ngx_int_t                 rc;
    ngx_slab_pool_t          *pool;
    ngx_ws_perf_shm_msg_t    *c;
    ngx_ws_perf_main_conf_t  *wmcf;

    wmcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                               ngx_ws_perf_module);

    ngx_ws_perf_msg_ack_needed(m, wmcf->ack_priorities);

    seq = ngx_ws_perf_shm_number(m, idbuf);

    /* a reserve of free pages stays for redeliveries and bus records */
    pool = ngx_ws_perf_shm_pool;

    if (pool->pfree < (ngx_uint_t) (pool->end - pool->start)
                      / ngx_pagesize / 16 + 2)
    {
        *reason = *ngx_ws_perf_shm_full();
        return NGX_HTTP_INSUFFICIENT_STORAGE;
    }

    c = ngx_ws_perf_shm_copy(m, seq);
    if (c == NULL) {
        *reason = *ngx_ws_perf_shm_full();
        return NGX_HTTP_INSUFFICIENT_STORAGE;
    }

    if (ngx_ws_perf_shm->bus_size + sizeof(ngx_ws_perf_shm_rec_t)
        + ngx_ws_perf_shm_msg_size(c) > ngx_ws_perf_shm->bus_max)
    {
        ngx_ws_perf_shm_gc(1);
    }

    if (ngx_ws_perf_shm->bus_size + sizeof(ngx_ws_perf_shm_rec_t)
        + ngx_ws_perf_shm_msg_size(c) > ngx_ws_perf_shm->bus_max)
    {
        ngx_ws_perf_shm_unref(c);
        *reason = *ngx_ws_perf_shm_bus_full();
        return NGX_HTTP_SERVICE_UNAVAILABLE;
    }

    rc = ngx_ws_perf_shm_post_copy(c, reason);

    ngx_ws_perf_shm_unref(c);

    return rc;
}


/*
 * Under the lock: m timed, and numbered (resume compares the numbers);
 * its id, unless it has one, "<ms>-<worker>-<seq>" in idbuf.  Returns
 * the number.
 */

static uint64_t
ngx_ws_perf_shm_number(ngx_ws_perf_msg_t *m, u_char *idbuf)
{
    u_char    *p;
    uint64_t   seq;

    m->ts = ngx_ws_perf_shm_now();

    seq = ++ngx_ws_perf_shm->seq;

    if (m->id == NULL) {
        p = ngx_snprintf(idbuf, NGX_WS_PERF_ID_MAX, "%L-%ui-%uL",
                         m->ts, ngx_worker, seq);
        m->id = idbuf;
        m->id_len = p - idbuf;
    }

    return seq;
}


/*
 * Under the lock: the copy c kept as reliable delivery needs, then on
 * the bus.  NGX_OK, or the HTTP status of ngx_ws_perf_shm_post().
 */

static ngx_int_t
ngx_ws_perf_shm_post_copy(ngx_ws_perf_shm_msg_t *c, ngx_str_t *reason)
{
    ngx_int_t  rc;

    rc = ngx_ws_perf_shm_append(c, reason);

    if (rc == NGX_OK) {
        rc = ngx_ws_perf_shm_bus_add(c);

        if (rc == NGX_BUSY) {
            *reason = *ngx_ws_perf_shm_bus_full();
            rc = NGX_HTTP_SERVICE_UNAVAILABLE;

        } else if (rc == NGX_ERROR) {
            *reason = *ngx_ws_perf_shm_full();
            rc = NGX_HTTP_INSUFFICIENT_STORAGE;
        }

    } else if (rc == NGX_BUSY) {
        rc = NGX_HTTP_TOO_MANY_REQUESTS;

    } else {
        *reason = *ngx_ws_perf_shm_full();
        rc = NGX_HTTP_INSUFFICIENT_STORAGE;
    }

    return rc;
}


ngx_ws_perf_shm_msg_t *
ngx_ws_perf_shm_copy(ngx_ws_perf_msg_t *m, uint64_t seq)
{
    size_t                  id_len, data_len;
    const u_char           *data;
    ngx_ws_perf_shm_msg_t  *c;

    id_len = m->id ? m->id_len : 0;
    data = m->json ? m->json : m->data;
    data_len = m->json ? m->json_len : m->data_len;

    c = ngx_ws_perf_shm_alloc(sizeof(ngx_ws_perf_shm_msg_t) + id_len
                              + m->name_len + data_len);
    if (c == NULL) {
        return NULL;
    }

    c->refs = 1;
    c->seq = seq;
    c->ts = m->ts;
    c->worker = ngx_worker;
    c->id_len = id_len;
    c->name_len = m->name_len;
    c->data_len = data_len;
    c->target = m->target;
    c->priority = m->priority;
    c->json = m->json ? 1 : 0;
    c->binary = m->binary;
    c->ack = m->ack;
    c->presence = 0;

    if (id_len) {
        ngx_memcpy(ngx_ws_perf_shm_msg_id(c), m->id, id_len);
    }

    ngx_memcpy(ngx_ws_perf_shm_msg_name(c), m->name, m->name_len);

    /* an empty raw body has no data pointer */
    if (data_len) {
        ngx_memcpy(ngx_ws_perf_shm_msg_data(c), data, data_len);
    }

    return c;
}


void
ngx_ws_perf_shm_unref(ngx_ws_perf_shm_msg_t *c)
{
    if (--c->refs == 0) {
        ngx_ws_perf_shm_free(c);
    }
}


/* the message a copy stands for, pointing into the copy */

void
ngx_ws_perf_shm_msg(ngx_ws_perf_shm_msg_t *c, ngx_ws_perf_msg_t *m)
{
    ngx_memzero(m, sizeof(ngx_ws_perf_msg_t));

    m->name = ngx_ws_perf_shm_msg_name(c);
    m->name_len = c->name_len;
    m->id = c->id_len ? ngx_ws_perf_shm_msg_id(c) : NULL;
    m->id_len = c->id_len;
    m->data = ngx_ws_perf_shm_msg_data(c);
    m->data_len = c->data_len;

    if (c->json) {
        m->json = m->data;
        m->json_len = c->data_len;
    }

    m->ts = c->ts;
    m->target = c->target;
    m->priority = c->priority;
    m->ack = c->ack;
    m->binary = c->binary;
}


static void
ngx_ws_perf_shm_tick(ngx_event_t *ev)
{
    size_t      size, free;
    int64_t     next;
    ngx_uint_t  repairs;

    if (!ngx_ws_perf_shm_on) {
        return;
    }

    ngx_ws_perf_shm_flush();

    ngx_ws_perf_shm_lock(NGX_WS_PERF_SHM_TIMER);
    ngx_ws_perf_shm_gc(1);
    ngx_ws_perf_shm_presence_sweep(NGX_WS_PERF_SHM_SWEEP);
    next = ngx_ws_perf_shm_store_tick(ngx_ws_perf_shm_now());
    free = ngx_ws_perf_shm_pool->pfree << ngx_pagesize_shift;
    repairs = ngx_ws_perf_shm->repairs;
    ngx_ws_perf_shm_unlock();

    size = ngx_ws_perf_shm_zone->shm.size;
    ngx_ws_perf_metrics_shm(size, free < size ? size - free : 0, repairs);

    ngx_ws_perf_shm_wake();
    ngx_ws_perf_shm_drain();

    ngx_ws_perf_shm_arm(next);
}


/* the timer, for "at" (Unix ms; 0: none) or the safety net's second */

static void
ngx_ws_perf_shm_arm(int64_t at)
{
    int64_t     now;
    ngx_msec_t  delay;

    if (!ngx_ws_perf_shm_on || ngx_exiting) {
        return;
    }

    now = ngx_ws_perf_shm_now();
    delay = NGX_WS_PERF_SHM_TICK;

    if (at > 0 && at - now < NGX_WS_PERF_SHM_TICK) {
        delay = (at > now) ? (ngx_msec_t) (at - now) : 1;
    }

    if (ngx_ws_perf_shm_timer.timer_set
        && ngx_ws_perf_shm_timer.timer.key <= ngx_current_msec + delay)
    {
        return;
    }

    ngx_add_timer(&ngx_ws_perf_shm_timer, delay);
}


/* a topic's first local subscriber: its count goes to the zone soon */

static void
ngx_ws_perf_shm_first(ngx_uint_t target, ngx_str_t *name)
{
    if (ngx_ws_perf_shm_on && !ngx_ws_perf_shm_flush_ev.posted) {
        ngx_post_event(&ngx_ws_perf_shm_flush_ev, &ngx_posted_events);
    }
}


/* its last: at once, the hub's topic goes */

static void
ngx_ws_perf_shm_last(ngx_uint_t target, ngx_str_t *name)
{
    if (!ngx_ws_perf_shm_on) {
        return;
    }

    ngx_ws_perf_shm_lock(NGX_WS_PERF_SHM_STORE);
    ngx_ws_perf_shm_count(target, name->data, name->len, 0);
    ngx_ws_perf_shm_unlock();
}


static void
ngx_ws_perf_shm_flush_handler(ngx_event_t *ev)
{
    ngx_ws_perf_shm_flush();
}


/* this worker's subscriber counts that changed, into the zone */

static void
ngx_ws_perf_shm_flush(void)
{
    ngx_ws_perf_topic_t  *topic;

    topic = ngx_ws_perf_hub_next_changed();

    if (topic == NULL || !ngx_ws_perf_shm_on) {
        return;
    }

    ngx_ws_perf_shm_lock(NGX_WS_PERF_SHM_STORE);

    do {
        ngx_ws_perf_shm_count(topic->target, topic->name.data,
                              topic->name.len, topic->nsubs);
        topic = ngx_ws_perf_hub_next_changed();
    } while (topic);

    ngx_ws_perf_shm_unlock();
}


static void
ngx_ws_perf_shm_count(ngx_uint_t target, u_char *name, size_t len,
    ngx_uint_t nsubs)
{
    ngx_ws_perf_shm_topic_t    *t;
    ngx_ws_perf_shm_present_t  *pr;

    t = ngx_ws_perf_shm_topic(target, name, len, nsubs > 0);
    if (t == NULL) {
        return;
    }

    /* no memory: the counts miss this worker's, nothing else goes wrong */
    pr = ngx_ws_perf_shm_own(t, nsubs > 0);

    if (pr) {
        pr->nsubs = nsubs;
    }

    ngx_ws_perf_shm_let_go(t, pr);
}


/*
 * Under the lock: this worker's entry of a topic, made when create is set
 * and memory allows; one left by a dead worker of the same slot is reset
 */

static ngx_ws_perf_shm_present_t *
ngx_ws_perf_shm_own(ngx_ws_perf_shm_topic_t *t, ngx_uint_t create)
{
    ngx_queue_t                *q;
    ngx_ws_perf_shm_present_t  *pr;

    for (q = ngx_queue_head(&t->present);
         q != ngx_queue_sentinel(&t->present);
         q = ngx_queue_next(q))
    {
        pr = ngx_queue_data(q, ngx_ws_perf_shm_present_t, queue);

        if (pr->slot != ngx_ws_perf_shm_slot) {
            continue;
        }

        if (pr->pid != ngx_pid) {
            pr->pid = ngx_pid;
            pr->nsubs = 0;
            pr->nconns = 0;
        }

        return pr;
    }

    if (!create) {
        return NULL;
    }

    pr = ngx_ws_perf_shm_alloc(sizeof(ngx_ws_perf_shm_present_t));
    if (pr == NULL) {
        return NULL;
    }

    pr->slot = ngx_ws_perf_shm_slot;
    pr->pid = ngx_pid;
    pr->nsubs = 0;
    pr->nconns = 0;
    ngx_queue_insert_tail(&t->present, &pr->queue);

    return pr;
}


/* under the lock: an entry that counts nothing goes, and then its topic */

static void
ngx_ws_perf_shm_let_go(ngx_ws_perf_shm_topic_t *t,
    ngx_ws_perf_shm_present_t *pr)
{
    if (pr && pr->nsubs == 0 && pr->nconns == 0) {
        ngx_queue_remove(&pr->queue);
        ngx_ws_perf_shm_free(pr);
    }

    ngx_ws_perf_shm_topic_unused(t);
}


/*
 * Under the lock: a topic's subscribers on live workers, and how many
 * workers they are on; counts of workers that are gone are dropped.
 */

ngx_uint_t
ngx_ws_perf_shm_present(ngx_ws_perf_shm_topic_t *t, ngx_uint_t *workers)
{
    ngx_uint_t                  n, nw;
    ngx_queue_t                *q, *next;
    ngx_ws_perf_shm_present_t  *pr;

    n = 0;
    nw = 0;

    for (q = ngx_queue_head(&t->present);
         q != ngx_queue_sentinel(&t->present);
         q = next)
    {
        next = ngx_queue_next(q);
        pr = ngx_queue_data(q, ngx_ws_perf_shm_present_t, queue);

        if (pr->slot >= ngx_ws_perf_shm->nslots
            || ngx_ws_perf_shm->workers[pr->slot].pid != pr->pid)
        {
            ngx_queue_remove(q);
            ngx_ws_perf_shm_free(pr);
            continue;
        }

        n += pr->nsubs;
        nw += (pr->nsubs > 0);
    }

    if (workers) {
        *workers = nw;
    }

    return n;
}


/*
 * A user's connections on every worker, in the entries of its topic: the
 * check and the count change under the lock, so two workers cannot both
 * take the last slot.  A zone too full to count one admits it uncounted.
 */

static ngx_int_t
ngx_ws_perf_shm_admit(ngx_str_t *user, ngx_uint_t max,
    ngx_ws_perf_admit_pt handler, void *data)
{
    ngx_int_t                   rc;
    ngx_ws_perf_shm_topic_t    *t;
    ngx_ws_perf_shm_present_t  *pr;

    if (!ngx_ws_perf_shm_on) {
        return NGX_OK;
    }

    ngx_ws_perf_shm_lock(NGX_WS_PERF_SHM_STORE);

    t = ngx_ws_perf_shm_topic(NGX_WS_PERF_TARGET_USER, user->data,
                              user->len, 1);
    if (t == NULL) {
        ngx_ws_perf_shm_unlock();
        return NGX_OK;
    }

    rc = NGX_DECLINED;

    if (ngx_ws_perf_shm_connections(t, max) < max) {
        rc = NGX_OK;
        pr = ngx_ws_perf_shm_own(t, 1);

        if (pr) {
            pr->nconns++;
        }
    }

    ngx_ws_perf_shm_topic_unused(t);
    ngx_ws_perf_shm_unlock();

    return rc;
}


/*
 * Under the lock: the user's connections on live workers.  At max, the
 * entries of workers whose process is gone (killed, their slot not yet
 * given to another) are dropped first.
 */

static ngx_uint_t
ngx_ws_perf_shm_connections(ngx_ws_perf_shm_topic_t *t, ngx_uint_t max)
{
    ngx_uint_t                  n, check;
    ngx_queue_t                *q, *next;
    ngx_ws_perf_shm_present_t  *pr;

    (void) ngx_ws_perf_shm_present(t, NULL);

    for (check = 0; check < 2; check++) {
        n = 0;

        for (q = ngx_queue_head(&t->present);
             q != ngx_queue_sentinel(&t->present);
             q = next)
        {
            next = ngx_queue_next(q);
            pr = ngx_queue_data(q, ngx_ws_perf_shm_present_t, queue);

            if (check && pr->pid != ngx_pid
                && !ngx_ws_perf_shm_alive(pr->pid))
            {
                ngx_queue_remove(q);
                ngx_ws_perf_shm_free(pr);
                continue;
            }

            n += pr->nconns;
        }

        if (n < max) {
            break;
        }
    }

    return n;
}


static void
ngx_ws_perf_shm_leave(ngx_str_t *user)
{
    ngx_ws_perf_shm_topic_t    *t;
    ngx_ws_perf_shm_present_t  *pr;

    if (!ngx_ws_perf_shm_on) {
        return;
    }

    ngx_ws_perf_shm_lock(NGX_WS_PERF_SHM_STORE);

    t = ngx_ws_perf_shm_topic(NGX_WS_PERF_TARGET_USER, user->data,
                              user->len, 0);

    if (t) {
        pr = ngx_ws_perf_shm_own(t, 0);

        if (pr && pr->nconns) {
            pr->nconns--;
        }

        ngx_ws_perf_shm_let_go(t, pr);
    }

    ngx_ws_perf_shm_unlock();
}


static ngx_int_t
ngx_ws_perf_shm_room(ngx_uint_t n, ngx_uint_t later, u_char *err)
{
    ngx_uint_t  ok;

    if (later == 0) {
        return NGX_OK;
    }

    ngx_ws_perf_shm_lock(NGX_WS_PERF_SHM_STORE);
    ok = ngx_ws_perf_shm_sched_room(later);
    ngx_ws_perf_shm_unlock();

    if (ok) {
        return NGX_OK;
    }

    ngx_snprintf(err, NGX_WS_PERF_ERR_LEN, "no room for %ui more "
                 "scheduled messages: local mode keeps %d%Z", later,
                 NGX_WS_PERF_SHM_SCHED_MAX);

    return NGX_HTTP_TOO_MANY_REQUESTS;
}


/* a user's message of a priority in ws_perf_ack_priorities needs an ack */

/*
 * Through the zone to every worker's subscribers, this worker's at once:
 * the handler is called before this returns.  NGX_OK.
 */

static ngx_int_t
ngx_ws_perf_shm_publish(ngx_ws_perf_msg_t *m, ngx_ws_perf_publish_pt handler,
    void *data, ngx_uint_t tag, ngx_log_t *log)
{
    u_char     idbuf[NGX_WS_PERF_ID_MAX];
    ngx_int_t  rc;
    ngx_str_t  reason, id;

    if (ngx_ws_perf_shm_test && m->name_len == sizeof("ws-perf-test-die") - 1
        && ngx_strncmp(m->name, "ws-perf-test-die", m->name_len) == 0)
    {
        ngx_ws_perf_shm_test_die();
    }

    ngx_str_null(&reason);

    ngx_ws_perf_shm_lock(NGX_WS_PERF_SHM_PUBLISH);
    rc = ngx_ws_perf_shm_post(m, idbuf, &reason);
    ngx_ws_perf_shm_unlock();

    ngx_ws_perf_shm_wake();
    ngx_ws_perf_shm_drain();

    if (rc == NGX_OK) {
        ngx_ws_perf_metrics_inc(published);

        id.data = (u_char *) m->id;
        id.len = m->id_len;

        handler(data, tag, NGX_OK, &id);

        if (m->ack) {
            ngx_ws_perf_shm_arm(m->ts + 1);
        }

    } else {
        handler(data, tag, rc, &reason);
    }

    if (m->id == idbuf) {
        m->id = NULL;
        m->id_len = 0;
    }

    return NGX_OK;
}


/*
 * WS_PERF_SHM_TEST=1 in the worker's environment (the "env" directive)
 * and a publish to "ws-perf-test-die": the worker dies holding the lock
 * in the middle of a change, as a SIGKILL at the worst moment would
 */

static void
ngx_ws_perf_shm_test_die(void)
{
    ngx_ws_perf_shm_lock(NGX_WS_PERF_SHM_TEST);

    ngx_log_error(NGX_LOG_NOTICE, ngx_cycle->log, 0,
                  "ws_perf: test hook: dying with the zone's lock held");

    /* half a change: a bus record that no worker will find whole */
    ngx_ws_perf_shm->bus_n++;
    ngx_ws_perf_shm->bus.prev = NULL;

    (void) kill(ngx_pid, SIGKILL);

    for ( ;; ) {
        (void) pause();
    }
}


/* subscribers on every worker, and the messages the zone has seen */

static ngx_int_t
ngx_ws_perf_shm_info(ngx_uint_t target, ngx_str_t *name,
    ngx_ws_perf_info_pt handler, void *data)
{
    uint64_t                  subs, messages;
    ngx_uint_t                workers;
    ngx_ws_perf_shm_topic_t  *t;

    ngx_ws_perf_shm_flush();

    ngx_ws_perf_shm_lock(NGX_WS_PERF_SHM_STORE);

    t = ngx_ws_perf_shm_topic(target, name->data, name->len, 0);
    workers = 0;
    subs = t ? ngx_ws_perf_shm_present(t, &workers) : 0;
    messages = t ? t->published : 0;

    ngx_ws_perf_shm_unlock();

    handler(data, NGX_OK, subs, messages, (ngx_int_t) workers, NULL);

    return NGX_OK;
}
