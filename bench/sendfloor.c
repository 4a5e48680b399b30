
/*
 * Copyright (C) ngx_ws_perf_module authors
 */

/*
 * sendfloor: what the kernel alone costs to hand one small message to each
 * of N loopback TCP connections, with no server around it.
 *
 *   sendfloor [connections] [rounds] [payload] [senders]   (10000 20 66 1)
 *
 * Each of `senders` processes accepts its share of the N connections and,
 * once a round, sends `payload` bytes (a 64-byte message in a 2-byte
 * WebSocket header is 66) on each with one send() apiece, timing the loop.
 * Each sender has a child of its own that holds the other ends and reads
 * them with epoll, as a subscriber would, so that each send also pays for
 * waking a reader.  On loopback the receive side of TCP runs inside the
 * sender's send(), so the time per send is the floor for any server that
 * writes to N sockets from one thread.
 *
 * Several senders split N as several nginx workers split their
 * subscribers, and keep each process under its descriptor limit: the
 * parent starts a round in all of them at once (100 ms after the last one
 * ended), and the round lasts from the first send of any to the last send
 * of all.  Reader k connects from 127.0.(k + 1).1 to 127.0.(k + 1).16:
 * the kernel finds a free source port faster when fewer connections share
 * one source address.
 *
 * Loopback only; every loop and every wait is bounded.
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
#include <poll.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT  24
#endif


#define MAX_ROUNDS   1000
#define MAX_SENDERS  64
#define WAIT_MS      120000
#define SRC_ADDRS    16


typedef struct {
    uint64_t  start;
    uint64_t  end;
} sf_round_t;


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


/* reads exactly len bytes within WAIT_MS; 0 on success */
static int
read_all(int fd, void *buf, size_t len)
{
    char           *p;
    ssize_t         r;
    struct pollfd   pfd;

    p = buf;

    while (len > 0) {
        pfd.fd = fd;
        pfd.events = POLLIN;

        if (poll(&pfd, 1, WAIT_MS) != 1) {
            return -1;
        }

        r = read(fd, p, len);
        if (r <= 0) {
            return -1;
        }

        p += r;
        len -= r;
    }

    return 0;
}


/* the subscribers: connect n sockets, read everything until each sees EOF */

static int
reader(struct sockaddr_in *sin, int n, int k, int ready)
{
    int                 i, ep, fd, open, got, one;
    char                buf[4096];
    ssize_t             r;
    uint64_t            deadline;
    struct sockaddr_in  src;
    struct epoll_event  ev, evs[256];

    ep = epoll_create1(0);
    if (ep == -1) {
        return 1;
    }

    memset(&src, 0, sizeof(src));
    src.sin_family = AF_INET;
    one = 1;

    for (i = 0; i < n; i++) {
        src.sin_addr.s_addr = htonl(INADDR_LOOPBACK + ((k + 1) % 256) * 256
                                    + i % SRC_ADDRS);
        fd = socket(AF_INET, SOCK_STREAM, 0);

        if (fd == -1
            || setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one,
                          sizeof(one)) == -1
            || bind(fd, (struct sockaddr *) &src, sizeof(src)) == -1
            || connect(fd, (struct sockaddr *) sin, sizeof(*sin)) == -1)
        {
            fprintf(stderr, "sendfloor: connect %d of reader %d: %s\n", i, k,
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


/*
 * One sender: accepts n connections from its reader, then sends a round
 * on each 'g' from cmd and writes its start and end to res, until 'q'.
 */
static int
sender(int n, int k, const char *msg, int payload, int cmd, int res)
{
    int                 ls, one, i, status, *fds, pfd[2];
    char                c;
    pid_t               pid;
    socklen_t           len;
    sf_round_t          rd;
    struct timeval      tv;
    struct sockaddr_in  sin;

    ls = socket(AF_INET, SOCK_STREAM, 0);
    one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));

    /* accept() gives up with the reader, rather than wait for ever */
    tv.tv_sec = WAIT_MS / 1000;
    tv.tv_usec = 0;
    setsockopt(ls, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));

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
        close(cmd);
        close(res);
        _exit(reader(&sin, n, k, pfd[1]));
    }

    close(pfd[1]);

    fds = calloc(n, sizeof(int));
    if (fds == NULL) {
        kill(pid, SIGTERM);
        return 1;
    }

    for (i = 0; i < n; i++) {
        fds[i] = accept(ls, NULL, NULL);

        if (fds[i] == -1) {
            fprintf(stderr, "sendfloor: accept %d of sender %d: %s\n", i, k,
                    strerror(errno));
            kill(pid, SIGTERM);
            return 1;
        }

        setsockopt(fds[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }

    close(ls);

    if (read_all(pfd[0], &c, 1) != 0) {
        fprintf(stderr, "sendfloor: reader %d did not connect\n", k);
        kill(pid, SIGTERM);
        return 1;
    }

    memset(&rd, 0, sizeof(rd));

    if (write(res, &rd, sizeof(rd)) != sizeof(rd)) {
        kill(pid, SIGTERM);
        return 1;
    }

    while (read_all(cmd, &c, 1) == 0 && c == 'g') {
        rd.start = now_ns();

        for (i = 0; i < n; i++) {
            if (send(fds[i], msg, payload, MSG_NOSIGNAL | MSG_DONTWAIT)
                != payload)
            {
                fprintf(stderr, "sendfloor: send: %s\n", strerror(errno));
                kill(pid, SIGTERM);
                return 1;
            }
        }

        rd.end = now_ns();

        if (write(res, &rd, sizeof(rd)) != sizeof(rd)) {
            kill(pid, SIGTERM);
            return 1;
        }
    }

    for (i = 0; i < n; i++) {
        close(fds[i]);
    }

    waitpid(pid, &status, 0);

    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}


static void
stop_senders(pid_t *pids, int *cmd, int senders, int *failed)
{
    int  k, status;

    for (k = 0; k < senders; k++) {
        if (pids[k] > 0) {
            if (write(cmd[k], "q", 1) != 1) {
                kill(pids[k], SIGTERM);
            }
            close(cmd[k]);
        }
    }

    for (k = 0; k < senders; k++) {
        if (pids[k] > 0) {
            waitpid(pids[k], &status, 0);

            if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                (*failed)++;
            }
        }
    }
}


int
main(int argc, char **argv)
{
    int            n, rounds, payload, senders, share, k, r, failed, forked,
                   cmd[MAX_SENDERS], res[MAX_SENDERS], cp[2], rp[2];
    char           msg[65536];
    pid_t          pids[MAX_SENDERS];
    uint64_t       first, last, busy, per[MAX_ROUNDS], wave[MAX_ROUNDS];
    sf_round_t     rd;
    struct rlimit  rl;

    n = argc > 1 ? atoi(argv[1]) : 10000;
    rounds = argc > 2 ? atoi(argv[2]) : 20;
    payload = argc > 3 ? atoi(argv[3]) : 66;
    senders = argc > 4 ? atoi(argv[4]) : 1;

    if (n < 1 || rounds < 1 || rounds > MAX_ROUNDS || payload < 1
        || payload > (int) sizeof(msg) || senders < 1
        || senders > MAX_SENDERS || senders > n)
    {
        fprintf(stderr, "usage: sendfloor [connections] [rounds 1-%d] "
                "[payload 1-%d] [senders 1-%d]\n", MAX_ROUNDS,
                (int) sizeof(msg), MAX_SENDERS);
        return 2;
    }

    share = (n + senders - 1) / senders;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        (void) setrlimit(RLIMIT_NOFILE, &rl);

        if (rl.rlim_cur < (rlim_t) share + 16) {
            fprintf(stderr, "sendfloor: %d connections a process need %d "
                    "files, the limit is %lu: more senders\n", share,
                    share + 16, (unsigned long) rl.rlim_cur);
            return 2;
        }
    }

    memset(msg, 'x', sizeof(msg));
    msg[0] = (char) 0x81;
    msg[1] = (char) (payload - 2 < 126 ? payload - 2 : 126);

    signal(SIGPIPE, SIG_IGN);
    memset(pids, 0, sizeof(pids));
    failed = 0;
    forked = 0;

    for (k = 0; k < senders; k++) {
        if (pipe(cp) == -1 || pipe(rp) == -1) {
            perror("sendfloor: pipe");
            goto failed;
        }

        pids[k] = fork();

        if (pids[k] == -1) {
            perror("sendfloor: fork");
            pids[k] = 0;
            goto failed;
        }

        if (pids[k] == 0) {
            close(cp[1]);
            close(rp[0]);
            _exit(sender(n / senders + (k < n % senders), k, msg, payload,
                         cp[0], rp[1]));
        }

        close(cp[0]);
        close(rp[1]);
        cmd[k] = cp[1];
        res[k] = rp[0];
        forked++;
    }

    for (k = 0; k < senders; k++) {
        if (read_all(res[k], &rd, sizeof(rd)) != 0) {
            fprintf(stderr, "sendfloor: sender %d is not ready\n", k);
            goto failed;
        }
    }

    for (r = 0; r < rounds; r++) {
        usleep(100000);

        for (k = 0; k < senders; k++) {
            if (write(cmd[k], "g", 1) != 1) {
                goto failed;
            }
        }

        first = UINT64_MAX;
        last = 0;
        busy = 0;

        for (k = 0; k < senders; k++) {
            if (read_all(res[k], &rd, sizeof(rd)) != 0) {
                fprintf(stderr, "sendfloor: sender %d failed a round\n", k);
                goto failed;
            }

            first = rd.start < first ? rd.start : first;
            last = rd.end > last ? rd.end : last;
            busy += rd.end - rd.start;
        }

        wave[r] = last - first;
        per[r] = busy / n;
    }

    stop_senders(pids, cmd, senders, &failed);

    qsort(per, rounds, sizeof(uint64_t), cmp_u64);
    qsort(wave, rounds, sizeof(uint64_t), cmp_u64);

    printf("sendfloor: %d loopback TCP connections, %d rounds of one "
           "%d-byte send() each, a reader on epoll\n", n, rounds, payload);

    if (senders > 1) {
        printf("%d senders of %d to %d connections, each with its reader; "
               "a round from the first send to the last, per send a "
               "sender's loop over its sends\n", senders, n / senders, share);
    }

    printf("per send   min %.2f  median %.2f  max %.2f us\n",
           per[0] / 1e3, per[rounds / 2] / 1e3, per[rounds - 1] / 1e3);
    printf("per round  min %.1f  median %.1f  max %.1f ms\n",
           wave[0] / 1e6, wave[rounds / 2] / 1e6, wave[rounds - 1] / 1e6);

    return failed == 0 ? 0 : 1;

failed:

    stop_senders(pids, cmd, forked, &failed);

    return 1;
}
