
/*
 * Copyright (C) ngx_ws_perf_module authors
 */

/*
 * sendfloor: what the kernel alone costs to hand one small message to each
 * of N loopback TCP connections, with no server around it.
 *
 *   sendfloor [connections] [rounds] [payload]     (10000 20 66)
 *
 * The parent accepts N connections and, once a round every 100 ms, sends
 * `payload` bytes (a 64-byte message in a 2-byte WebSocket header is 66)
 * on each with one send() apiece, timing the loop.  A child process holds
 * the other ends and reads them with epoll, as a subscriber would, so that
 * each send also pays for waking a reader.  On loopback the receive side
 * of TCP runs inside the sender's send(), so the time per send is the
 * floor for any server that writes to N sockets from one thread.
 *
 * Loopback only; every loop is bounded.
 */

#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>


#define MAX_ROUNDS  1000


static uint64_t
now_ns(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return (uint64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}


static int
cmp_u64(const void *a, const void *b)
{
    uint64_t  x = *(const uint64_t *) a, y = *(const uint64_t *) b;

    return (x > y) - (x < y);
}


/* the subscribers: connect n sockets, read everything until each sees EOF */

static int
reader(struct sockaddr_in *sin, int n, int ready)
{
    int                 i, ep, fd, open, got;
    char                buf[4096];
    ssize_t             r;
    uint64_t            deadline;
    struct epoll_event  ev, evs[256];

    ep = epoll_create1(0);
    if (ep == -1) {
        return 1;
    }

    for (i = 0; i < n; i++) {
        fd = socket(AF_INET, SOCK_STREAM, 0);

        if (fd == -1
            || connect(fd, (struct sockaddr *) sin, sizeof(*sin)) == -1)
        {
            fprintf(stderr, "sendfloor: connect %d: %s\n", i,
                    strerror(errno));
            return 1;
        }

        ev.events = EPOLLIN;
        ev.data.fd = fd;

        if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == -1) {
            return 1;
        }
    }

    if (write(ready, "r", 1) != 1) {
        return 1;
    }

    open = n;
    deadline = now_ns() + 600ULL * 1000000000;

    while (open > 0 && now_ns() < deadline) {
        got = epoll_wait(ep, evs, 256, 1000);

        for (i = 0; i < got; i++) {
            r = read(evs[i].data.fd, buf, sizeof(buf));

            if (r == 0 || (r == -1 && errno != EAGAIN && errno != EINTR)) {
                close(evs[i].data.fd);
                open--;
            }
        }
    }

    return open == 0 ? 0 : 1;
}


int
main(int argc, char **argv)
{
    int                 n, rounds, payload, ls, one, i, r, status, *fds,
                        pfd[2];
    char                msg[65536], c;
    pid_t               pid;
    uint64_t            t0, per[MAX_ROUNDS], total[MAX_ROUNDS];
    socklen_t           len;
    struct rlimit       rl;
    struct sockaddr_in  sin;

    n = argc > 1 ? atoi(argv[1]) : 10000;
    rounds = argc > 2 ? atoi(argv[2]) : 20;
    payload = argc > 3 ? atoi(argv[3]) : 66;

    if (n < 1 || rounds < 1 || rounds > MAX_ROUNDS || payload < 1
        || payload > (int) sizeof(msg))
    {
        fprintf(stderr, "usage: sendfloor [connections] [rounds 1-%d] "
                "[payload 1-%d]\n", MAX_ROUNDS, (int) sizeof(msg));
        return 2;
    }

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        (void) setrlimit(RLIMIT_NOFILE, &rl);

        if (rl.rlim_cur < (rlim_t) n + 16) {
            fprintf(stderr, "sendfloor: %d connections need %d files, the "
                    "limit is %lu\n", n, n + 16, (unsigned long) rl.rlim_cur);
            return 2;
        }
    }

    memset(msg, 'x', sizeof(msg));
    msg[0] = (char) 0x81;
    msg[1] = (char) (payload - 2 < 126 ? payload - 2 : 126);

    ls = socket(AF_INET, SOCK_STREAM, 0);
    one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));

    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

    if (bind(ls, (struct sockaddr *) &sin, sizeof(sin)) == -1
        || listen(ls, 4096) == -1)
    {
        perror("sendfloor: listen");
        return 1;
    }

    len = sizeof(sin);
    getsockname(ls, (struct sockaddr *) &sin, &len);

    if (pipe(pfd) == -1) {
        return 1;
    }

    pid = fork();

    if (pid == -1) {
        perror("sendfloor: fork");
        return 1;
    }

    if (pid == 0) {
        close(ls);
        close(pfd[0]);
        _exit(reader(&sin, n, pfd[1]));
    }

    close(pfd[1]);

    fds = calloc(n, sizeof(int));
    if (fds == NULL) {
        return 1;
    }

    for (i = 0; i < n; i++) {
        fds[i] = accept(ls, NULL, NULL);

        if (fds[i] == -1) {
            perror("sendfloor: accept");
            kill(pid, SIGTERM);
            return 1;
        }

        setsockopt(fds[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }

    if (read(pfd[0], &c, 1) != 1) {
        fprintf(stderr, "sendfloor: the reader did not connect\n");
        return 1;
    }

    for (r = 0; r < rounds; r++) {
        usleep(100000);

        t0 = now_ns();

        for (i = 0; i < n; i++) {
            if (send(fds[i], msg, payload, MSG_NOSIGNAL | MSG_DONTWAIT)
                != payload)
            {
                fprintf(stderr, "sendfloor: send: %s\n", strerror(errno));
                return 1;
            }
        }

        total[r] = now_ns() - t0;
        per[r] = total[r] / n;
    }

    for (i = 0; i < n; i++) {
        close(fds[i]);
    }

    waitpid(pid, &status, 0);

    qsort(per, rounds, sizeof(uint64_t), cmp_u64);
    qsort(total, rounds, sizeof(uint64_t), cmp_u64);

    printf("sendfloor: %d loopback TCP connections, %d rounds of one "
           "%d-byte send() each, a reader on epoll\n", n, rounds, payload);
    printf("per send   min %.2f  median %.2f  max %.2f us\n",
           per[0] / 1e3, per[rounds / 2] / 1e3, per[rounds - 1] / 1e3);
    printf("per round  min %.1f  median %.1f  max %.1f ms\n",
           total[0] / 1e6, total[rounds / 2] / 1e6, total[rounds - 1] / 1e6);

    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
