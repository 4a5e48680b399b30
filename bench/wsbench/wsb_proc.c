
/*
 * Copyright (C) ngx_ws_perf_module authors
 */


/* Clocks, limits, and the server's CPU and memory read from /proc. */


#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include "wsb.h"


uint64_t
wsb_now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return (uint64_t) ts.tv_sec * WSB_NS + (uint64_t) ts.tv_nsec;
}


/* the clock of payload timestamps: the kernel stamps arrivals with it */
uint64_t
wsb_wall(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_REALTIME, &ts);

    return (uint64_t) ts.tv_sec * WSB_NS + (uint64_t) ts.tv_nsec;
}


uint64_t
wsb_thread_cpu(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);

    return (uint64_t) ts.tv_sec * WSB_NS + (uint64_t) ts.tv_nsec;
}


void
wsb_sleep(uint64_t ns)
{
    struct timespec  ts;

    ts.tv_sec = (time_t) (ns / WSB_NS);
    ts.tv_nsec = (long) (ns % WSB_NS);

    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
        /* the rest of the interval */
    }
}


long
wsb_ticks(void)
{
    return sysconf(_SC_CLK_TCK);
}


/* raises the soft descriptor limit to the hard one; returns the limit */
int
wsb_raise_nofile(void)
{
    struct rlimit  rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        return 1024;
    }

    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        (void) setrlimit(RLIMIT_NOFILE, &rl);
        (void) getrlimit(RLIMIT_NOFILE, &rl);
    }

    if (rl.rlim_cur > 1000000) {
        return 1000000;
    }

    return (int) rl.rlim_cur;
}


int
wsb_server_pid(wsb_conf_t *cf)
{
    long   pid;
    FILE  *f;

    if (cf->server_pid > 0) {
        return cf->server_pid;
    }

    if (cf->server_pidfile[0] == '\0') {
        return 0;
    }

    f = fopen(cf->server_pidfile, "r");
    if (f == NULL) {
        return 0;
    }

    if (fscanf(f, "%ld", &pid) != 1) {
        pid = 0;
    }

    fclose(f);

    return (int) pid;
}


/* utime + stime in ticks and the parent pid, from /proc/PID/stat */
static int
wsb_proc_stat(int pid, uint64_t *ticks, int *ppid)
{
    int                 i;
    char                path[64], buf[1024], *p;
    size_t              n;
    FILE               *f;
    unsigned long long  ut, st;

    snprintf(path, sizeof(path), "/proc/%d/stat", pid);

    f = fopen(path, "r");
    if (f == NULL) {
        return -1;
    }

    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';

    /* the command name may hold spaces: fields start after its ')' */
    p = strrchr(buf, ')');
    if (p == NULL) {
        return -1;
    }

    p += 2;

    /* p: field 3 (state); ppid is field 4, utime 14, stime 15 */
    for (i = 3; i < 4; i++) {
        p = strchr(p, ' ');
        if (p == NULL) {
            return -1;
        }
        p++;
    }

    *ppid = atoi(p);

    for ( /* void */ ; i < 14; i++) {
        p = strchr(p, ' ');
        if (p == NULL) {
            return -1;
        }
        p++;
    }

    if (sscanf(p, "%llu %llu", &ut, &st) != 2) {
        return -1;
    }

    *ticks = ut + st;

    return 0;
}


static uint64_t
wsb_proc_rss(int pid)
{
    char                path[64], line[256];
    FILE               *f;
    unsigned long long  kb;

    snprintf(path, sizeof(path), "/proc/%d/status", pid);

    f = fopen(path, "r");
    if (f == NULL) {
        return 0;
    }

    kb = 0;

    while (fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, "VmRSS:", 6) == 0) {
            kb = strtoull(line + 6, NULL, 10);
            break;
        }
    }

    fclose(f);

    return kb;
}


/*
 * CPU ticks and RSS summed over the children of pid (an nginx master's
 * workers), or of pid itself when it has none.
 */
int
wsb_server_sample(int pid, wsb_server_sample_t *s)
{
    int             child, ppid;
    uint64_t        ticks;
    DIR            *d;
    struct dirent  *de;

    memset(s, 0, sizeof(wsb_server_sample_t));

    if (pid <= 0) {
        return -1;
    }

    d = opendir("/proc");
    if (d == NULL) {
        return -1;
    }

    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] < '1' || de->d_name[0] > '9') {
            continue;
        }

        child = atoi(de->d_name);

        if (wsb_proc_stat(child, &ticks, &ppid) != 0 || ppid != pid) {
            continue;
        }

        s->cpu_ticks += ticks;
        s->rss_kb += wsb_proc_rss(child);
        s->procs++;
    }

    closedir(d);

    if (s->procs == 0) {
        if (wsb_proc_stat(pid, &ticks, &ppid) != 0) {
            return -1;
        }

        s->cpu_ticks = ticks;
        s->rss_kb = wsb_proc_rss(pid);
        s->procs = 1;
    }

    return 0;
}
