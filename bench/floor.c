
/*
 * Copyright (C) ngx_ws_perf_module authors
 */


/*
 * floor-server: the least a WebSocket fan-out server can do, as a peer for
 * wsbench.  One thread, one epoll loop, libc only.
 *
 *   floor-server [addr:port] [pidfile]          (127.0.0.1:8090)
 *
 * It speaks the bench layout of bench/conf/ws_perf.conf: WebSocket
 * subscribers at GET /sub/<channel>, HTTP/1.1 keep-alive (pipelined)
 * publishers at POST /pub/<channel> with the raw payload as the body,
 * answered 202.  A publish becomes one unmasked text frame, built once,
 * and one send() per subscriber of its channel, nothing else: no queue,
 * no retry.  A subscriber whose socket cannot take the whole frame at once
 * (full, or a short write) is closed and counted as dropped, since a
 * frame cut in the middle cannot be finished without a queue.
 *
 * Client frames: a close is answered with the same code and the
 * connection closed; pings and pongs of up to 125 bytes are read and
 * ignored; anything longer closes the connection.
 *
 * With port 0 the kernel picks one; the address is printed on stdout
 * ("listening 127.0.0.1:PORT") once it listens.  SIGTERM or SIGINT stop it
 * and print its counts on stderr.  Loopback only.
 */


#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include "wsbench/wsb.h"


#define WSF_IN_SIZE      65536           /* a publisher's */
#define WSF_IN_FIRST     1024            /* until a request needs more */
#define WSF_OUT_SIZE     65536
#define WSF_NAME_LEN     64
#define WSF_BUCKETS      4096
#define WSF_EVENTS       512
#define WSF_ACCEPTS      1024
#define WSF_READS        16

#define WSF_ANSWER_202   "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n"
#define WSF_ANSWER_400   "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n" \
                         "Connection: close\r\n\r\n"
#define WSF_ANSWER_413   "HTTP/1.1 413 Request Entity Too Large\r\n" \
                         "Content-Length: 0\r\nConnection: close\r\n\r\n"


typedef enum {
    WSF_HTTP = 0,                        /* before the first request */
    WSF_SUB,                             /* a subscriber after its 101 */
    WSF_PUB                              /* a publisher, keep-alive */
} wsf_state_e;


typedef struct wsf_chan_s  wsf_chan_t;


typedef struct {
    int                  fd;
    wsf_state_e          state;
    wsf_chan_t          *chan;
    uint32_t             slot;           /* its index in chan->subs */
    int                  want_out;       /* EPOLLOUT is registered */
    unsigned char       *in;
    size_t               in_len;
    size_t               in_size;
    unsigned char       *out;
    size_t               out_len;
} wsf_conn_t;


struct wsf_chan_s {
    wsf_chan_t          *next;
    wsf_conn_t         **subs;
    uint32_t             nsubs;
    uint32_t             size;
    size_t               name_len;
    char                 name[WSF_NAME_LEN];
};


typedef struct {
    uint64_t             accepted;
    uint64_t             subscribers;
    uint64_t             publishes;
    uint64_t             deliveries;
    uint64_t             dropped_full;   /* EAGAIN or a short write */
    uint64_t             dropped_error;  /* any other send() error */
    uint64_t             bad_requests;
} wsf_stats_t;


static int                   wsf_ep;
static int                   wsf_nfds;
static wsf_conn_t          **wsf_conns;
static wsf_chan_t           *wsf_chans[WSF_BUCKETS];
static wsf_stats_t           wsf_stats;
static unsigned char        *wsf_frame;
static volatile sig_atomic_t wsf_stop;


static void
wsf_on_signal(int signo)
{
    (void) signo;
    wsf_stop = 1;
}


static uint32_t
wsf_hash(const char *name, size_t len)
{
    size_t    i;
    uint32_t  h;

    h = 2166136261u;

    for (i = 0; i < len; i++) {
        h = (h ^ (unsigned char) name[i]) * 16777619u;
    }

    return h % WSF_BUCKETS;
}


/* the channel called name, made when create is set; NULL if none */
static wsf_chan_t *
wsf_chan(const char *name, size_t len, int create)
{
    uint32_t     h;
    wsf_chan_t  *c;

    h = wsf_hash(name, len);

    for (c = wsf_chans[h]; c; c = c->next) {
        if (c->name_len == len && memcmp(c->name, name, len) == 0) {
            return c;
        }
    }

    if (!create) {
        return NULL;
    }

    c = calloc(1, sizeof(wsf_chan_t));
    if (c == NULL) {
        return NULL;
    }

    memcpy(c->name, name, len);
    c->name_len = len;
    c->next = wsf_chans[h];
    wsf_chans[h] = c;

    return c;
}


static int
wsf_chan_add(wsf_chan_t *c, wsf_conn_t *conn)
{
    uint32_t     size;
    wsf_conn_t **subs;

    if (c->nsubs == c->size) {
        size = c->size ? c->size * 2 : 16;
        subs = realloc(c->subs, size * sizeof(wsf_conn_t *));
        if (subs == NULL) {
            return -1;
        }

        c->subs = subs;
        c->size = size;
    }

    conn->chan = c;
    conn->slot = c->nsubs;
    c->subs[c->nsubs++] = conn;

    return 0;
}


/* the last subscriber takes the leaving one's slot */
static void
wsf_chan_remove(wsf_conn_t *conn)
{
    wsf_chan_t  *c;
    wsf_conn_t  *last;

    c = conn->chan;
    if (c == NULL) {
        return;
    }

    last = c->subs[--c->nsubs];
    c->subs[conn->slot] = last;
    last->slot = conn->slot;
    conn->chan = NULL;
}


static void
wsf_close(wsf_conn_t *c)
{
    wsf_chan_remove(c);
    wsf_conns[c->fd] = NULL;
    (void) close(c->fd);
    free(c->in);
    free(c->out);
    free(c);
}


/* sends what c->out holds; -1 when the peer is gone */
static int
wsf_flush(wsf_conn_t *c)
{
    int                 want;
    ssize_t             n;
    struct epoll_event  ev;

    while (c->out_len) {
        n = send(c->fd, c->out, c->out_len, MSG_NOSIGNAL);
        if (n == -1) {
            if (errno == EINTR) {
                continue;
            }

            if (errno != EAGAIN) {
                return -1;
            }

            break;
        }

        memmove(c->out, c->out + n, c->out_len - (size_t) n);
        c->out_len -= (size_t) n;
    }

    want = c->out_len != 0;

    if (want != c->want_out) {
        ev.events = EPOLLIN | (want ? EPOLLOUT : 0);
        ev.data.fd = c->fd;
        if (epoll_ctl(wsf_ep, EPOLL_CTL_MOD, c->fd, &ev) == -1) {
            return -1;
        }

        c->want_out = want;
    }

    return 0;
}


static int
wsf_queue(wsf_conn_t *c, const void *data, size_t len)
{
    if (c->out == NULL) {
        c->out = malloc(WSF_OUT_SIZE);
        if (c->out == NULL) {
            return -1;
        }
    }

    if (len > WSF_OUT_SIZE - c->out_len) {
        return -1;
    }

    memcpy(c->out + c->out_len, data, len);
    c->out_len += len;

    return 0;
}


/* one frame to every subscriber of the channel; a full socket is dropped */
static void
wsf_fanout(const char *name, size_t name_len, const unsigned char *data,
    size_t len)
{
    size_t       n, i;
    ssize_t      sent;
    uint32_t     k;
    wsf_chan_t  *c;
    wsf_conn_t  *s;

    wsf_stats.publishes++;

    c = wsf_chan(name, name_len, 0);
    if (c == NULL || c->nsubs == 0) {
        return;
    }

    wsf_frame[0] = 0x81;

    if (len < 126) {
        wsf_frame[1] = (unsigned char) len;
        n = 2;

    } else if (len <= 0xffff) {
        wsf_frame[1] = 126;
        wsf_frame[2] = (unsigned char) (len >> 8);
        wsf_frame[3] = (unsigned char) len;
        n = 4;

    } else {
        wsf_frame[1] = 127;
        for (i = 0; i < 8; i++) {
            wsf_frame[2 + i] = (unsigned char) ((uint64_t) len >> (56 - i * 8));
        }
        n = 10;
    }

    memcpy(wsf_frame + n, data, len);
    n += len;

    k = 0;

    while (k < c->nsubs) {
        s = c->subs[k];
        sent = send(s->fd, wsf_frame, n, MSG_NOSIGNAL | MSG_DONTWAIT);

        if (sent == (ssize_t) n) {
            wsf_stats.deliveries++;
            k++;
            continue;
        }

        if (sent >= 0 || errno == EAGAIN) {
            wsf_stats.dropped_full++;

        } else {
            wsf_stats.dropped_error++;
        }

        /* the last subscriber moves into slot k: do not step over it */
        wsf_close(s);
    }
}


/* the channel of "METHOD /prefix<name> ", its length or 0 if malformed */
static size_t
wsf_target(const char *p, const char *end, const char *start,
    const char **name)
{
    size_t       len;
    const char  *q;

    len = strlen(start);
    if ((size_t) (end - p) <= len || memcmp(p, start, len) != 0) {
        return 0;
    }

    *name = p + len;

    for (q = *name; q < end && *q != ' '; q++) {
        if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z')
              || (*q >= '0' && *q <= '9') || *q == '_' || *q == '.'
              || *q == '-'))
        {
            return 0;
        }
    }

    len = (size_t) (q - *name);

    return (q < end && len > 0 && len < WSF_NAME_LEN) ? len : 0;
}


/* the 101 and the registration; -1 closes the connection */
static int
wsf_upgrade(wsf_conn_t *c, const char *head, const char *end)
{
    int          n;
    char         key[64], accept[32], answer[160];
    size_t       len, klen;
    const char  *name, *k;
    wsf_chan_t  *ch;

    len = wsf_target(head, end, "GET /sub/", &name);
    k = wsb_header(head, (size_t) (end - head), "Sec-WebSocket-Key",
                   &klen);

    if (len == 0 || k == NULL || klen == 0 || klen >= sizeof(key)) {
        return -1;
    }

    memcpy(key, k, klen);
    key[klen] = '\0';
    wsb_ws_accept(accept, key);

    n = snprintf(answer, sizeof(answer),
                 "HTTP/1.1 101 Switching Protocols\r\n"
                 "Upgrade: websocket\r\n"
                 "Connection: Upgrade\r\n"
                 "Sec-WebSocket-Accept: %s\r\n\r\n", accept);

    /* a fresh socket takes 130 bytes; a short write is not worth a queue */
    if (send(c->fd, answer, (size_t) n, MSG_NOSIGNAL) != n) {
        return -1;
    }

    ch = wsf_chan(name, len, 1);
    if (ch == NULL || wsf_chan_add(ch, c) != 0) {
        return -1;
    }

    c->state = WSF_SUB;
    wsf_stats.subscribers++;

    return 0;
}


/*
 * Requests in c->in: publishes are fanned out and answered, the first
 * GET upgrades.  Returns the bytes used, or -1 to close the connection.
 */
static long
wsf_http(wsf_conn_t *c)
{
    long         used;
    size_t       hlen, blen, vlen, nlen;
    const char  *p, *end, *head, *v, *name;

    used = 0;

    for ( ;; ) {
        p = (const char *) c->in + used;
        end = (const char *) c->in + c->in_len;

        head = memmem(p, (size_t) (end - p), "\r\n\r\n", 4);
        if (head == NULL) {
            return (c->in_len - (size_t) used == WSF_IN_SIZE) ? -1 : used;
        }

        hlen = (size_t) (head + 4 - p);

        if (c->state == WSF_HTTP && memcmp(p, "GET ", 4) == 0) {
            if (wsf_upgrade(c, p, head + 2) != 0) {
                wsf_stats.bad_requests++;
                (void) wsf_queue(c, WSF_ANSWER_400,
                                 sizeof(WSF_ANSWER_400) - 1);
                (void) wsf_flush(c);
                return -1;
            }

            return used + (long) hlen;
        }

        nlen = wsf_target(p, head + 2, "POST /pub/", &name);
        v = wsb_header(p, (size_t) (head + 2 - p), "Content-Length", &vlen);
        blen = v ? strtoul(v, NULL, 10) : 0;

        if (nlen == 0 || v == NULL || blen > WSF_IN_SIZE - hlen) {
            wsf_stats.bad_requests++;
            if (nlen && v) {
                (void) wsf_queue(c, WSF_ANSWER_413,
                                 sizeof(WSF_ANSWER_413) - 1);
            } else {
                (void) wsf_queue(c, WSF_ANSWER_400,
                                 sizeof(WSF_ANSWER_400) - 1);
            }
            (void) wsf_flush(c);
            return -1;
        }

        if ((size_t) (end - p) < hlen + blen) {
            return used;
        }

        c->state = WSF_PUB;
        wsf_fanout(name, nlen, (const unsigned char *) p + hlen, blen);

        if (wsf_queue(c, WSF_ANSWER_202, sizeof(WSF_ANSWER_202) - 1) != 0) {
            return -1;
        }

        used += (long) (hlen + blen);
    }
}


/*
 * Client frames of a subscriber: a close is answered and ends it, pings
 * and pongs are skipped.  Returns the bytes used, or -1 to close.
 */
static long
wsf_frames(wsf_conn_t *c)
{
    int             op;
    size_t          len, hlen;
    unsigned char  *p, *end, reply[4];

    p = c->in;
    end = c->in + c->in_len;

    while (end - p >= 2) {
        op = p[0] & 0x0f;
        len = p[1] & 0x7f;
        hlen = 6;

        if (!(p[1] & 0x80) || len > 125) {
            return -1;
        }

        if ((size_t) (end - p) < hlen + len) {
            break;
        }

        if (op == 0x8) {
            reply[0] = 0x88;
            reply[1] = len >= 2 ? 2 : 0;
            reply[2] = len >= 2 ? (p[6] ^ p[2]) : 0;
            reply[3] = len >= 2 ? (p[7] ^ p[3]) : 0;
            (void) send(c->fd, reply, reply[1] + 2, MSG_NOSIGNAL);
            return -1;
        }

        p += hlen + len;
    }

    return p - c->in;
}


/*
 * A full buffer: a request (a publish with its body) takes up to
 * WSF_IN_SIZE; a subscriber's frames are 131 bytes at most, so that a
 * subscriber keeps WSF_IN_FIRST.  -1 when it cannot grow.
 */
static int
wsf_grow(wsf_conn_t *c)
{
    unsigned char  *in;

    if (c->state == WSF_SUB || c->in_size == WSF_IN_SIZE) {
        return -1;
    }

    in = realloc(c->in, WSF_IN_SIZE);
    if (in == NULL) {
        return -1;
    }

    c->in = in;
    c->in_size = WSF_IN_SIZE;

    return 0;
}


/* what c->in holds, consumed; -1 closes the connection */
static int
wsf_input(wsf_conn_t *c)
{
    int   sub;
    long  used;

    sub = c->state == WSF_SUB;

    used = sub ? wsf_frames(c) : wsf_http(c);
    if (used < 0) {
        return -1;
    }

    memmove(c->in, c->in + used, c->in_len - (size_t) used);
    c->in_len -= (size_t) used;

    /* frames that came in the same read as the upgrade request */
    if (!sub && c->state == WSF_SUB && c->in_len) {
        return wsf_input(c);
    }

    return 0;
}


static void
wsf_read(wsf_conn_t *c)
{
    int      i;
    ssize_t  n;

    /* level-triggered: what is left after WSF_READS reads comes back */
    for (i = 0; i < WSF_READS; i++) {
        if (c->in_len == c->in_size && wsf_grow(c) != 0) {
            wsf_close(c);
            return;
        }

        n = recv(c->fd, c->in + c->in_len, c->in_size - c->in_len, 0);

        if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR)) {
            wsf_close(c);
            return;
        }

        if (n == -1) {
            if (errno == EINTR) {
                continue;
            }

            break;
        }

        c->in_len += (size_t) n;

        if (wsf_input(c) != 0) {
            wsf_close(c);
            return;
        }

        if (c->out_len && wsf_flush(c) != 0) {
            wsf_close(c);
            return;
        }
    }

    if (c->out_len && wsf_flush(c) != 0) {
        wsf_close(c);
    }
}


static void
wsf_accept(int ls)
{
    int                 i, fd, one;
    wsf_conn_t         *c;
    struct epoll_event  ev;

    one = 1;

    for (i = 0; i < WSF_ACCEPTS; i++) {
        fd = accept4(ls, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd == -1) {
            if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED) {
                perror("floor-server: accept4");
            }

            return;
        }

        if (fd >= wsf_nfds) {
            (void) close(fd);
            continue;
        }

        (void) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

        c = calloc(1, sizeof(wsf_conn_t));
        if (c == NULL) {
            (void) close(fd);
            continue;
        }

        c->fd = fd;
        c->in_size = WSF_IN_FIRST;
        c->in = malloc(c->in_size);
        if (c->in == NULL) {
            free(c);
            (void) close(fd);
            continue;
        }

        ev.events = EPOLLIN;
        ev.data.fd = fd;
        if (epoll_ctl(wsf_ep, EPOLL_CTL_ADD, fd, &ev) == -1) {
            free(c->in);
            free(c);
            (void) close(fd);
            continue;
        }

        wsf_conns[fd] = c;
        wsf_stats.accepted++;
    }
}


static int
wsf_listen(const char *addr)
{
    int                 fd, one;
    char                host[64];
    const char         *colon;
    socklen_t           slen;
    struct sockaddr_in  sin;

    colon = strrchr(addr, ':');
    if (colon == NULL || (size_t) (colon - addr) >= sizeof(host)) {
        fprintf(stderr, "floor-server: \"%s\": want addr:port\n", addr);
        return -1;
    }

    memcpy(host, addr, (size_t) (colon - addr));
    host[colon - addr] = '\0';

    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_port = htons((uint16_t) atoi(colon + 1));

    if (inet_pton(AF_INET, host, &sin.sin_addr) != 1
        || (ntohl(sin.sin_addr.s_addr) >> 24) != 127)
    {
        fprintf(stderr, "floor-server: \"%s\": loopback only\n", host);
        return -1;
    }

    fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd == -1) {
        perror("floor-server: socket");
        return -1;
    }

    one = 1;
    (void) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));

    if (bind(fd, (struct sockaddr *) &sin, sizeof(sin)) == -1
        || listen(fd, 4096) == -1)
    {
        fprintf(stderr, "floor-server: %s: %s\n", addr, strerror(errno));
        (void) close(fd);
        return -1;
    }

    slen = sizeof(sin);
    if (getsockname(fd, (struct sockaddr *) &sin, &slen) == 0) {
        printf("listening %s:%d\n", host, ntohs(sin.sin_port));
        fflush(stdout);
    }

    return fd;
}


static int
wsf_setup(const char *pidfile)
{
    FILE              *f;
    struct rlimit      rl;
    struct sigaction   sa;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        (void) setrlimit(RLIMIT_NOFILE, &rl);
    }

    wsf_nfds = (getrlimit(RLIMIT_NOFILE, &rl) == 0
                && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < 1048576)
               ? (int) rl.rlim_cur : 1048576;

    wsf_conns = calloc((size_t) wsf_nfds, sizeof(wsf_conn_t *));
    wsf_frame = malloc(WSF_IN_SIZE + 16);
    if (wsf_conns == NULL || wsf_frame == NULL) {
        fprintf(stderr, "floor-server: out of memory\n");
        return -1;
    }

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = wsf_on_signal;
    (void) sigaction(SIGTERM, &sa, NULL);
    (void) sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    (void) sigaction(SIGPIPE, &sa, NULL);

    if (pidfile) {
        f = fopen(pidfile, "w");
        if (f == NULL || fprintf(f, "%d\n", (int) getpid()) < 0
            || fclose(f) != 0)
        {
            fprintf(stderr, "floor-server: %s: %s\n", pidfile,
                    strerror(errno));
            return -1;
        }
    }

    return 0;
}


int
main(int argc, char **argv)
{
    int                 ls, i, n;
    wsf_conn_t         *c;
    struct epoll_event  ev, evs[WSF_EVENTS];

    if (wsf_setup(argc > 2 ? argv[2] : NULL) != 0) {
        return 1;
    }

    ls = wsf_listen(argc > 1 ? argv[1] : "127.0.0.1:8090");
    if (ls == -1) {
        return 1;
    }

    wsf_ep = epoll_create1(EPOLL_CLOEXEC);
    if (wsf_ep == -1) {
        perror("floor-server: epoll_create1");
        return 1;
    }

    ev.events = EPOLLIN;
    ev.data.fd = ls;
    if (epoll_ctl(wsf_ep, EPOLL_CTL_ADD, ls, &ev) == -1) {
        perror("floor-server: epoll_ctl");
        return 1;
    }

    while (!wsf_stop) {
        n = epoll_wait(wsf_ep, evs, WSF_EVENTS, 1000);
        if (n == -1) {
            if (errno == EINTR) {
                continue;
            }

            perror("floor-server: epoll_wait");
            return 1;
        }

        for (i = 0; i < n; i++) {
            if (evs[i].data.fd == ls) {
                wsf_accept(ls);
                continue;
            }

            /* NULL: a subscriber dropped earlier in this batch */
            c = wsf_conns[evs[i].data.fd];
            if (c == NULL) {
                continue;
            }

            if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
                wsf_read(c);

            } else if ((evs[i].events & EPOLLOUT) && wsf_flush(c) != 0) {
                wsf_close(c);
            }
        }
    }

    fprintf(stderr, "floor-server: %llu connections accepted, %llu"
            " subscribed, %llu publishes, %llu deliveries, dropped"
            " %llu subscribers with a full socket and %llu on a send"
            " error, %llu bad requests\n",
            (unsigned long long) wsf_stats.accepted,
            (unsigned long long) wsf_stats.subscribers,
            (unsigned long long) wsf_stats.publishes,
            (unsigned long long) wsf_stats.deliveries,
            (unsigned long long) wsf_stats.dropped_full,
            (unsigned long long) wsf_stats.dropped_error,
            (unsigned long long) wsf_stats.bad_requests);

    return 0;
}
