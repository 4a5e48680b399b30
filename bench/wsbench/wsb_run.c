
/*
 * Copyright (C) ngx_ws_perf_module authors
 */


/*
 * One scenario from start to end: subscriber processes are forked (each
 * may hold at most its descriptor limit), this process publishes on the
 * scenario's schedule and samples the server, then everything the
 * processes counted in shared memory is added up.
 */


#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include "wsb.h"


typedef struct {
    wsb_conf_t          *cf;
    wsb_shared_t        *sh;
    wsb_pub_t           *pub;
    wsb_result_t        *r;
    int                  nthreads;
    int                  nsamples;
    uint64_t             sample_t[WSB_MAX_SAMPLES];
    double               sample_rss[WSB_MAX_SAMPLES];
    uint64_t             last_sample;
    uint64_t             ep_start[WSB_MAX_EPOCHS + 1];
    uint64_t             ep_cpu[WSB_MAX_EPOCHS + 1];
    double               ep_rss[WSB_MAX_EPOCHS + 1];
    double               ep_rate[WSB_MAX_EPOCHS];
    double               drain_secs;
    pid_t                pids[WSB_MAX_PROCS];
} wsb_ctx_t;


static int
wsb_peak_connections(wsb_conf_t *cf)
{
    double  n;

    n = cf->connections;

    if (strcmp(cf->kind, "spike") == 0) {
        n *= cf->spike_factor > 1 ? cf->spike_factor : 1;
    }

    n += cf->churn_rate * (cf->churn_life_max + 4);

    return (int) n;
}


static void
wsb_sample(wsb_ctx_t *x, uint64_t now)
{
    double               mb;
    wsb_server_sample_t  s;

    x->last_sample = now;

    if (wsb_server_sample(x->r->server_pid, &s) != 0) {
        return;
    }

    mb = (double) s.rss_kb / 1024.0;

    if (mb > x->r->rss_max_mb) {
        x->r->rss_max_mb = mb;
    }

    if (x->nsamples < WSB_MAX_SAMPLES) {
        x->sample_t[x->nsamples] = now;
        x->sample_rss[x->nsamples] = mb;
        x->nsamples++;
    }
}


static uint64_t
wsb_server_ticks(wsb_ctx_t *x, double *rss_mb)
{
    wsb_server_sample_t  s;

    if (wsb_server_sample(x->r->server_pid, &s) != 0) {
        *rss_mb = 0;
        return 0;
    }

    *rss_mb = (double) s.rss_kb / 1024.0;

    return s.cpu_ticks;
}


/* the span of epoch e as every thread saw it, plus the publisher's part */
static void
wsb_collect_epoch(wsb_ctx_t *x, int e, wsb_span_t *sp, wsb_hist_t *h)
{
    int           i;
    wsb_epoch_t  *ep;

    memset(sp, 0, sizeof(wsb_span_t));
    wsb_hist_init(h);

    for (i = 0; i <= x->nthreads; i++) {
        ep = &x->sh->stats[i].ep[e];
        sp->published += ep->published;
        sp->pub_errors += ep->pub_errors;
        sp->received += ep->received;
        sp->lost += ep->lost;
        sp->dup += ep->dup;
        wsb_hist_merge(h, &ep->lat);
    }

    wsb_lat(&sp->lat, h);
}


static double
wsb_span_errors(wsb_span_t *sp)
{
    double  d, p;

    d = (sp->received + sp->lost)
        ? (double) (sp->lost + sp->dup) / (double) (sp->received + sp->lost)
        : 0;
    p = sp->published ? (double) sp->pub_errors / (double) sp->published : 0;

    return d > p ? d : p;
}


/* stress: is step e (over for half a second now) within the budget? */
static int
wsb_step_ok(wsb_ctx_t *x, int e)
{
    double       secs;
    wsb_span_t   sp;
    wsb_hist_t  *h;
    wsb_conf_t  *cf;

    cf = x->cf;

    h = malloc(sizeof(wsb_hist_t));
    if (h == NULL) {
        return 0;
    }

    wsb_collect_epoch(x, e, &sp, h);
    free(h);

    secs = (double) (x->ep_start[e + 1] - x->ep_start[e]) / WSB_NS;

    if (!cf->quiet) {
        fprintf(stderr, "wsbench: step %d: %.0f msg/s asked, %llu sent,"
                " %.0f deliveries/s, p99 %.2f ms, errors %.3f%%\n", e,
                x->ep_rate[e], (unsigned long long) sp.published,
                (double) sp.received / secs, sp.lat.p99,
                wsb_span_errors(&sp) * 100);
    }

    return sp.lat.p95 <= cf->p95_budget_ms && sp.lat.p99 <= cf->p99_budget_ms
           && wsb_span_errors(&sp) <= cf->error_budget
           && (double) sp.published >= 0.9 * x->ep_rate[e] * secs
           && sp.received > 0;
}


static void
wsb_epoch_begin(wsb_ctx_t *x, int e, double rate, uint64_t now)
{
    x->ep_start[e] = now;
    x->ep_rate[e] = rate;
    x->ep_cpu[e] = wsb_server_ticks(x, &x->ep_rss[e]);
    x->sh->epoch = e;
    x->r->nepochs = e + 1;
}


/* publishes on the scenario's schedule; returns when it is over */
static void
wsb_publish(wsb_ctx_t *x)
{
    int           e, judged, stress, spike, endurance;
    double        rate, t;
    uint64_t      now, start, end;
    wsb_conf_t   *cf;

    cf = x->cf;
    stress = strcmp(cf->kind, "stress") == 0;
    spike = strcmp(cf->kind, "spike") == 0 && cf->spike_at > 0;
    endurance = strcmp(cf->kind, "endurance") == 0;

    start = wsb_now();
    end = start + (uint64_t) (cf->duration * WSB_NS);
    e = 0;
    judged = -1;
    rate = cf->rate;
    x->r->knee = -1;

    wsb_epoch_begin(x, 0, rate, start);

    for (now = start; now < end; now = wsb_now()) {
        t = (double) (now - start) / WSB_NS;

        if (stress && t >= cf->step * (e + 1) && e + 1 < WSB_MAX_EPOCHS) {
            e++;
            rate *= cf->step_factor;
            wsb_epoch_begin(x, e, rate, now);
        }

        if (stress && judged < e - 1
            && t >= cf->step * (judged + 2) + 0.5)
        {
            judged++;
            if (!wsb_step_ok(x, judged)) {
                break;
            }
            x->r->knee = judged;
        }

        if (spike && e == 0 && t >= cf->spike_at) {
            e = 1;
            rate *= cf->spike_factor;
            x->sh->spike = 1;
            wsb_epoch_begin(x, 1, rate, now);
        }

        if (endurance && cf->sample > 0 && t >= cf->sample * (e + 1)
            && e + 1 < WSB_MAX_EPOCHS)
        {
            e++;
            wsb_epoch_begin(x, e, rate, now);
        }

        if (now - x->last_sample >= WSB_NS) {
            wsb_sample(x, now);
        }

        if (x->pub) {
            wsb_pub_step(x->pub, rate, e, 1);

        } else {
            wsb_sleep(WSB_MS);
        }
    }

    now = wsb_now();
    x->ep_start[e + 1] = now;
    x->ep_cpu[e + 1] = wsb_server_ticks(x, &x->ep_rss[e + 1]);
}


/* least squares slope of RSS over time, in MB per minute */
static double
wsb_growth(wsb_ctx_t *x)
{
    int     i, n;
    double  sx, sy, sxx, sxy, tx, d;

    n = x->nsamples;
    if (n < 3) {
        return 0;
    }

    sx = sy = sxx = sxy = 0;

    for (i = 0; i < n; i++) {
        tx = (double) (x->sample_t[i] - x->sample_t[0]) / WSB_NS / 60.0;
        sx += tx;
        sy += x->sample_rss[i];
        sxx += tx * tx;
        sxy += tx * x->sample_rss[i];
    }

    d = n * sxx - sx * sx;

    return d > 0 ? (n * sxy - sx * sy) / d : 0;
}


static void
wsb_hex(char *dst, const unsigned char *md)
{
    int  i;

    for (i = 0; i < WSB_DIGEST_LEN; i++) {
        sprintf(dst + i * 2, "%02x", md[i]);
    }
}


static void
wsb_chat_add(wsb_chat_stats_t *to, const wsb_chat_stats_t *from)
{
    to->acks += from->acks;
    to->acked += from->acked;
    to->resumes += from->resumes;
    to->resumed += from->resumed;
    to->resumed_msgs += from->resumed_msgs;
    to->gaps += from->gaps;
    to->continued += from->continued;
    to->notices += from->notices;
    to->errors += from->errors;
    to->other += from->other;
    to->redelivered += from->redelivered;
    to->reconnects += from->reconnects;
    to->stray += from->stray;
}


static void
wsb_collect(wsb_ctx_t *x, uint64_t tool_cpu)
{
    int           i, e;
    double        ticks, secs;
    uint64_t      n;
    wsb_hist_t   *h, *all, *conn;
    wsb_stats_t  *st, *ps;
    wsb_result_t *r;
    wsb_span_t   *sp;

    r = x->r;
    h = malloc(sizeof(wsb_hist_t) * 3);
    if (h == NULL) {
        snprintf(r->error, sizeof(r->error), "out of memory");
        return;
    }

    all = h + 1;
    conn = h + 2;
    wsb_hist_init(all);
    wsb_hist_init(conn);

    for (i = 0; i < x->nthreads; i++) {
        st = &x->sh->stats[i];
        r->attempted += st->attempted;
        r->ok += st->ok;
        r->failed += st->failed;
        r->server_closed += st->server_closed;
        r->closed_ok += st->closed_ok;
        r->close_failed += st->close_failed;
        r->pings += st->pings;
        r->foreign += st->foreign;
        r->slow += st->slow;
        r->slow_closed += st->slow_closed;
        r->slow_received += st->slow_received;
        r->tail_lost += st->tail_lost;
        r->bytes += st->bytes;
        r->msgs += st->msgs;
        r->msg_bytes += st->msg_bytes;
        r->zmsgs += st->zmsgs;
        r->pmd += st->pmd;
        wsb_chat_add(&r->chat, &st->chat);
        tool_cpu += st->cpu_ns;
        r->tool_cpu_s += (double) st->cpu_total_ns / WSB_NS;
        wsb_hist_merge(conn, &st->connect);

        if (st->digest_subs) {
            if (r->digest_subs == 0) {
                wsb_hex(r->digest, st->digest);
                r->digest_count = st->digest_count;
            }
            r->digest_subs += st->digest_subs;
            r->digest_mismatch += st->digest_mismatch;
        }

        if (st->error[0] && r->error[0] == '\0') {
            snprintf(r->error, sizeof(r->error), "%s", st->error);
        }
    }

    ps = &x->sh->stats[x->nthreads];
    r->chat.to_users = ps->chat.to_users;
    wsb_lat(&r->connect, conn);
    wsb_lat(&r->pub_ack, &ps->connect);

    if (ps->digest_subs) {
        wsb_hex(r->pub_digest, ps->digest);
        r->pub_digest_count = ps->digest_count;
    }

    ticks = (double) wsb_ticks();

    for (e = 0; e < r->nepochs; e++) {
        sp = &r->ep[e];
        wsb_collect_epoch(x, e, sp, h);
        wsb_hist_merge(all, h);

        secs = (double) (x->ep_start[e + 1] - x->ep_start[e]) / WSB_NS;
        sp->seconds = secs;
        sp->rate = x->ep_rate[e];
        sp->deliveries_per_s = secs > 0 ? (double) sp->received / secs : 0;
        sp->error_rate = wsb_span_errors(sp);
        sp->server_cpu_pct = secs > 0
            ? (double) (x->ep_cpu[e + 1] - x->ep_cpu[e]) / ticks / secs * 100
            : 0;
        sp->rss_mb = x->ep_rss[e + 1];

        r->total.published += sp->published;
        r->total.pub_errors += sp->pub_errors;
        r->total.received += sp->received;
        r->total.lost += sp->lost;
        r->total.dup += sp->dup;
        r->total.seconds += secs;
    }

    sp = &r->total;
    wsb_lat(&sp->lat, all);
    sp->rate = x->cf->rate;
    sp->deliveries_per_s = sp->seconds > 0
                           ? (double) sp->received / sp->seconds : 0;
    sp->error_rate = wsb_span_errors(sp);
    sp->rss_mb = r->rss_end_mb;

    secs = (double) (x->ep_start[r->nepochs] - x->ep_start[0]) / WSB_NS;
    sp->server_cpu_pct = secs > 0
        ? (double) (x->ep_cpu[r->nepochs] - x->ep_cpu[0]) / ticks / secs * 100
        : 0;
    r->server_cpu_pct = sp->server_cpu_pct;

    /* the tool's cost: publish and drain, publisher and subscribers */
    secs += x->drain_secs;
    r->tool_cpu_pct = secs > 0 ? (double) tool_cpu / WSB_NS / secs * 100 : 0;
    r->tool_us_per_msg = (sp->received + r->slow_received)
        ? (double) tool_cpu / 1000.0
          / (double) (sp->received + r->slow_received)
        : 0;

    r->growth_mb_min = wsb_growth(x);

    n = r->ok < (uint64_t) x->cf->connections ? r->ok
        : (uint64_t) x->cf->connections;
    r->mem_per_conn = n ? (r->rss_connected_mb - r->rss_idle_mb) * 1048576.0
                          / (double) n
                        : 0;

    free(h);
}


static void
wsb_wait_children(wsb_ctx_t *x, int procs, uint64_t deadline)
{
    int    i, left, status;
    pid_t  pid;

    left = procs;

    while (left > 0) {
        pid = waitpid(-1, &status, WNOHANG);

        if (pid > 0) {
            left--;
            continue;
        }

        if (pid == -1 && errno == ECHILD) {
            return;
        }

        if (wsb_now() > deadline) {
            for (i = 0; i < procs; i++) {
                if (x->pids[i] > 0) {
                    kill(x->pids[i], SIGKILL);
                }
            }
            deadline = UINT64_MAX;
        }

        wsb_sleep(10 * WSB_MS);
    }
}


static void
wsb_wait_count(volatile int *v, int n, uint64_t deadline)
{
    while (__atomic_load_n(v, __ATOMIC_ACQUIRE) < n && wsb_now() < deadline) {
        wsb_sleep(5 * WSB_MS);
    }
}


static int
wsb_layout(wsb_conf_t *cf, int *procs)
{
    int  limit, peak;

    limit = wsb_raise_nofile() - WSB_FD_RESERVE;
    if (limit < 100) {
        fprintf(stderr, "wsbench: only %d descriptors per process\n",
                limit + WSB_FD_RESERVE);
        return -1;
    }

    peak = wsb_peak_connections(cf);
    *procs = (peak + limit - 1) / limit;

    if (*procs < 1) {
        *procs = 1;
    }

    if (*procs > WSB_MAX_PROCS) {
        fprintf(stderr, "wsbench: %d connections need more than %d processes"
                " of %d descriptors\n", peak, WSB_MAX_PROCS, limit);
        return -1;
    }

    if (cf->timeout <= 0) {
        cf->timeout = cf->connect_timeout * 2 + cf->duration + cf->drain + 30;
    }

    if (strcmp(cf->kind, "stress") == 0) {
        cf->duration = cf->step * (cf->max_steps < WSB_MAX_EPOCHS
                                   ? cf->max_steps : WSB_MAX_EPOCHS);
        cf->timeout += cf->duration;
    }

    return 0;
}


static int
wsb_fork(wsb_ctx_t *x, int procs)
{
    int    i;
    pid_t  pid;

    fflush(NULL);

    for (i = 0; i < procs; i++) {
        pid = fork();

        if (pid == -1) {
            fprintf(stderr, "wsbench: fork: %s\n", strerror(errno));
            return -1;
        }

        if (pid == 0) {
            wsb_sub_process(x->cf, x->sh, i);
        }

        x->pids[i] = pid;
    }

    return 0;
}


static uint64_t
wsb_received(wsb_ctx_t *x)
{
    int       i, e;
    uint64_t  n;

    n = 0;

    for (i = 0; i < x->nthreads; i++) {
        for (e = 0; e < WSB_MAX_EPOCHS; e++) {
            n += x->sh->stats[i].ep[e].received;
        }
        n += x->sh->stats[i].slow_received;
    }

    return n;
}


/* waits for late deliveries: until half a second passes without one */
static void
wsb_drain(wsb_ctx_t *x, uint64_t until)
{
    uint64_t  now, seen, n, quiet;

    seen = wsb_received(x);
    quiet = wsb_now();

    for (now = wsb_now(); now < until; now = wsb_now()) {
        n = wsb_received(x);

        if (n != seen) {
            seen = n;
            quiet = now;

        } else if (now - quiet > WSB_NS / 2
                   && (x->pub == NULL || wsb_pub_inflight(x->pub) == 0))
        {
            break;
        }

        if (x->pub) {
            wsb_pub_step(x->pub, 0, x->sh->epoch, 5);

        } else {
            wsb_sleep(5 * WSB_MS);
        }

        if (now - x->last_sample >= WSB_NS) {
            wsb_sample(x, now);
        }
    }
}


static int
wsb_scenario(wsb_ctx_t *x, int procs)
{
    uint64_t       deadline, cpu0, cpu1;
    wsb_conf_t    *cf;
    wsb_shared_t  *sh;
    wsb_result_t  *r;
    struct timespec  ts;

    cf = x->cf;
    sh = x->sh;
    r = x->r;

    (void) wsb_server_ticks(x, &r->rss_idle_mb);

    sh->t0 = wsb_now();
    deadline = sh->t0 + (uint64_t) (cf->timeout * WSB_NS);

    if (wsb_fork(x, procs) != 0) {
        sh->phase = WSB_PHASE_EXIT;
        return -1;
    }

    wsb_wait_count(&sh->ready, x->nthreads,
                   sh->t0 + (uint64_t) (cf->connect_timeout * 2 + 5) * WSB_NS);

    if (!cf->quiet) {
        fprintf(stderr, "wsbench: %s: connected in %.2f s\n", cf->name,
                (double) (wsb_now() - sh->t0) / WSB_NS);
    }

    /* the server settles what the connections cost before it is read */
    wsb_sleep((uint64_t) (cf->settle * WSB_NS));
    (void) wsb_server_ticks(x, &r->rss_connected_mb);

    if (strcmp(cf->kind, "echo") != 0) {
        x->pub = wsb_pub_create(cf, sh, &sh->stats[x->nthreads]);
        if (x->pub == NULL) {
            snprintf(r->error, sizeof(r->error),
                     "the publisher cannot connect");
        }
    }

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    cpu0 = (uint64_t) ts.tv_sec * WSB_NS + (uint64_t) ts.tv_nsec;

    sh->pub_start = wsb_now();
    sh->phase = WSB_PHASE_PUBLISH;

    if (x->pub || strcmp(cf->kind, "echo") == 0) {
        wsb_publish(x);
    }

    sh->phase = WSB_PHASE_DRAIN;
    cpu1 = wsb_now();
    wsb_drain(x, cpu1 + (uint64_t) (cf->drain * WSB_NS));
    x->drain_secs = (double) (wsb_now() - cpu1) / WSB_NS;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    cpu1 = (uint64_t) ts.tv_sec * WSB_NS + (uint64_t) ts.tv_nsec;

    (void) wsb_server_ticks(x, &r->rss_end_mb);

    sh->phase = WSB_PHASE_CLOSE;
    wsb_wait_count(&sh->finished, x->nthreads,
                   wsb_now() + 10 * WSB_NS < deadline
                   ? wsb_now() + 10 * WSB_NS : deadline);

    sh->phase = WSB_PHASE_EXIT;
    wsb_wait_children(x, procs, wsb_now() + 5 * WSB_NS);

    if (x->pub) {
        wsb_pub_totals(x->pub, &r->retried, &r->behind, &r->last_status);
        wsb_pub_destroy(x->pub);
        x->pub = NULL;
    }

    wsb_collect(x, cpu1 - cpu0);

    return 0;
}


int
wsb_run(wsb_conf_t *cf)
{
    int            procs, rc;
    size_t         size, seq_off;
    wsb_url_t      u;
    wsb_ctx_t     *x;
    wsb_shared_t  *sh;
    wsb_result_t  *r;

    signal(SIGPIPE, SIG_IGN);

    if (wsb_layout(cf, &procs) != 0) {
        return 2;
    }

    /* OpenSSL is set up once, here; the forked processes inherit it */
    if (wsb_url_parse(&u, cf->sub_url, "ws") == 0 && u.tls
        && wsb_tls_init() != 0)
    {
        fprintf(stderr, "wsbench: OpenSSL does not initialise\n");
        return 2;
    }

    x = calloc(1, sizeof(wsb_ctx_t));
    r = calloc(1, sizeof(wsb_result_t));
    if (x == NULL || r == NULL) {
        return 2;
    }

    x->cf = cf;
    x->r = r;
    x->nthreads = procs * cf->threads;

    seq_off = sizeof(wsb_shared_t)
              + (size_t) (x->nthreads + 1) * sizeof(wsb_stats_t);
    size = seq_off + (size_t) cf->pub_conns * cf->channels * sizeof(uint32_t);

    sh = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
              -1, 0);
    if (sh == MAP_FAILED) {
        fprintf(stderr, "wsbench: mmap: %s\n", strerror(errno));
        return 2;
    }

    x->sh = sh;
    sh->procs = procs;
    sh->threads = cf->threads;
    sh->npubs = cf->pub_conns;
    sh->nchannels = cf->channels;
    sh->seq = (uint32_t *) ((char *) sh + seq_off);
    sh->run_id = (uint32_t) (wsb_now() ^ (uint64_t) getpid() << 16
                             ^ (uint64_t) time(NULL));

    wsb_hist_init(&sh->stats[x->nthreads].connect);
    for (rc = 0; rc < WSB_MAX_EPOCHS; rc++) {
        wsb_hist_init(&sh->stats[x->nthreads].ep[rc].lat);
    }

    r->procs = procs;
    r->threads = cf->threads;
    r->server_pid = wsb_server_pid(cf);

    if (!cf->quiet) {
        fprintf(stderr, "wsbench: %s (%s): %d connections, %d channel(s),"
                " %.0f msg/s, %d process(es) x %d thread(s), run %08x\n",
                cf->name, cf->kind, cf->connections, cf->channels, cf->rate,
                procs, cf->threads, sh->run_id);
    }

    rc = wsb_scenario(x, procs);

    if (rc == 0) {
        wsb_grade(cf, r);
        wsb_report(cf, r, stdout);

        if (cf->json[0] && wsb_report_json(cf, r, cf->json) != 0) {
            rc = -1;
        }
    }

    munmap(sh, size);
    free(x);
    free(r);

    return rc == 0 ? 0 : 2;
}
