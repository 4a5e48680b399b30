
/*
 * Copyright (C) ngx_ws_perf_module authors
 */


/*
 * Subscriber processes: each runs a few threads, each thread an epoll loop
 * over its share of the WebSocket connections.  A connection keeps only
 * what a streaming frame parser needs between reads (a partial header and
 * the first bytes of the message); payload bytes are never copied.
 * A compressed message (permessage-deflate) is inflated as it arrives,
 * into a scratch buffer of the thread's, and read there the same way.
 */


#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <zlib.h>
#include "wsb.h"


#define WSB_RBUF            (256 * 1024)
#define WSB_EVENTS          512
#define WSB_MAX_PENDING     512
#define WSB_CLOSE_WAIT      (3 * WSB_NS)

#define WSB_SLOW            0x01
#define WSB_LATE            0x02
#define WSB_CHURN           0x04
#define WSB_BODY            0x08    /* inside a frame's payload */
#define WSB_CLOSE_SENT      0x10
#define WSB_WATCHED         0x20    /* registered for EPOLLIN */
#define WSB_AGAIN           0x40    /* TLS holds bytes epoll cannot see */
#define WSB_REOPEN          0x80    /* chat: closed to open the slot again */

#define WSB_CHURN_BASE      100000000L

/* inflated bytes are read from here, a chunk at a time */
#define WSB_ZBUF            16384

/* permessage-deflate on a connection: the server resets its context per
   message (server_no_context_takeover), or keeps it */
#define WSB_PMD_RESET       1
#define WSB_PMD_KEEP        2

/* reads of one TLS connection per wake-up: at most 1 MB of records */
#define WSB_TLS_READS       64
#define WSB_TLS_101_READS   16

/* with envelope=1 the payload is the value of the envelope's "data" */
static const char  wsb_env_key[] = "\"data\":\"";
#define WSB_ENV_LEN         (sizeof(wsb_env_key) - 1)


typedef enum {
    WSB_CONNECTING = 0,
    WSB_TLS_HANDSHAKE,
    WSB_HANDSHAKE,
    WSB_OPEN
} wsb_state_e;


typedef struct {
    wsb_sha1_t           c;
    uint64_t             n;
} wsb_digest_t;


/* an inflate stream: a connection's, or the thread's spare one */
typedef struct wsb_zs_s  wsb_zs_t;

struct wsb_zs_s {
    z_stream             z;
    wsb_zs_t            *next;
    int                  bits;
};


typedef struct {
    int                  fd;
    uint32_t             slot;
    uint32_t             idx;
    uint32_t             chan;
    uint8_t              state;
    uint8_t              flags;
    uint8_t              hlen;
    uint8_t              opcode;
    uint8_t              msg_op;
    uint8_t              fin;
    uint8_t              cap_len;
    uint8_t              ctrl_len;
    uint8_t              env;        /* bytes of "data":" matched */
    uint8_t              pmd;        /* WSB_PMD_RESET, WSB_PMD_KEEP */
    uint8_t              zbits;      /* the server's window */
    uint8_t              zmsg;       /* this message is compressed */
    uint8_t              zend;       /* its deflate stream ended */
    unsigned char        hdr[14];
    unsigned char        cap[WSB_HDR_LEN];
    uint64_t             left;
    uint64_t             msg_len;
    uint64_t             t;          /* connect start, then life's end */
    uint64_t             snap;       /* late: messages issued at open */
    uint64_t             got;
    uint64_t             synced;     /* bit p: sequence space p followed */
    unsigned char       *buf;        /* handshake answer, control payload */
    wsb_tls_t           *tls;        /* wss:// only */
    wsb_digest_t        *digest;
    wsb_zs_t            *zs;         /* inflating a message, or kept */
    wsb_chat_slot_t     *cs;         /* chat: the slot's state */
    unsigned char       *ccap;       /* chat: a message's first bytes */
    uint32_t             ccap_len;
    uint32_t             next[];     /* per publisher connection */
} wsb_sub_t;


typedef struct {
    wsb_conf_t          *cf;
    wsb_shared_t        *sh;
    wsb_stats_t         *st;
    int                  gid;
    int                  nthreads;
    int                  ep;
    int                  pending;
    int                  nnext;
    int                  echo;
    int                  again;          /* some connection has WSB_AGAIN */
    int                  chat;
    wsb_chat_slot_t    **slots;          /* chat: by idx / nthreads */
    long                 nslots;
    long                *reopen;         /* chat: slots to open again */
    uint64_t            *reopen_at;
    long                 nreopen;
    uint32_t             churn_next;
    double               churn_credit;
    uint64_t             churn_last;
    long                 digest_chan;    /* -1: none */
    void                *tls_ctx;        /* wss:// only */
    wsb_url_t            url;
    wsb_sub_t          **live;
    uint32_t             nlive;
    uint32_t             cap;
    uint64_t             rng;
    unsigned char       *rbuf;
    unsigned char       *wbuf;
    size_t               wsize;
    unsigned char       *zbuf;           /* deflate=1 only */
    wsb_zs_t            *zfree;          /* streams of no connection */
} wsb_thread_t;


typedef struct {
    long                 next;       /* next index to open */
    long                 end;
    uint64_t             start;
    double               rate;       /* per second, this thread */
    long                 opened;
} wsb_opener_t;


static void wsb_sub_open(wsb_thread_t *t, long idx, int flags);
static void wsb_sub_event(wsb_thread_t *t, wsb_sub_t *s, uint32_t ev,
    uint64_t now);
static void wsb_sub_read(wsb_thread_t *t, wsb_sub_t *s);
static void wsb_sub_tls_read(wsb_thread_t *t, wsb_sub_t *s);
static int wsb_sub_frames(wsb_thread_t *t, wsb_sub_t *s, unsigned char *p,
    size_t n, uint64_t now);
static void wsb_sub_message(wsb_thread_t *t, wsb_sub_t *s, uint64_t now);
static void wsb_sub_data(wsb_thread_t *t, wsb_sub_t *s, unsigned char *p,
    size_t take);
static int wsb_sub_inflate(wsb_thread_t *t, wsb_sub_t *s, unsigned char *p,
    size_t len);
static void wsb_sub_zs_put(wsb_thread_t *t, wsb_sub_t *s);
static unsigned char *wsb_sub_envelope(wsb_sub_t *s, unsigned char *p,
    unsigned char *end);
static int wsb_sub_control(wsb_thread_t *t, wsb_sub_t *s);
static void wsb_sub_send(wsb_thread_t *t, wsb_sub_t *s, int op,
    const unsigned char *d, size_t len);
static void wsb_sub_chat_open(wsb_thread_t *t, wsb_sub_t *s);
static void wsb_sub_send_close(wsb_thread_t *t, wsb_sub_t *s, int code);
static void wsb_sub_abort(wsb_thread_t *t, wsb_sub_t *s, int code,
    const char *why);
static void wsb_sub_tail(wsb_thread_t *t, wsb_sub_t *s, int last);
static void wsb_sub_free(wsb_thread_t *t, wsb_sub_t *s);


static uint64_t
wsb_rand(wsb_thread_t *t)
{
    t->rng ^= t->rng << 13;
    t->rng ^= t->rng >> 7;
    t->rng ^= t->rng << 17;

    return t->rng;
}


static void
wsb_sub_key(char *key, uint32_t run, long idx)
{
    int            i;
    uint64_t       x;
    unsigned char  raw[16];

    x = (uint64_t) run << 32 ^ (uint64_t) idx ^ 0x9e3779b97f4a7c15ULL;

    for (i = 0; i < 16; i++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        raw[i] = (unsigned char) (x >> 56);
    }

    (void) wsb_base64(key, raw, 16);
}


/* chat: the slot's state lives on across its connections */
static int
wsb_sub_chat_init(wsb_thread_t *t, wsb_sub_t *s, long idx)
{
    long  k;

    k = idx / t->nthreads;
    if (k >= t->nslots) {
        return -1;
    }

    if (t->slots[k] == NULL) {
        t->slots[k] = wsb_chat_slot(t->cf, t->sh->npubs, idx);
        if (t->slots[k] == NULL) {
            return -1;
        }
    }

    s->cs = t->slots[k];
    s->ccap = malloc(WSB_CHAT_CAP);

    return s->ccap ? 0 : -1;
}


static uint64_t
wsb_issued(wsb_thread_t *t, uint32_t chan, int pub)
{
    wsb_shared_t  *sh;

    sh = t->sh;

    return __atomic_load_n(&sh->seq[pub * sh->nchannels + chan],
                           __ATOMIC_ACQUIRE);
}


static uint64_t
wsb_issued_all(wsb_thread_t *t, uint32_t chan)
{
    int       p;
    uint64_t  n;

    n = 0;

    for (p = 0; p < t->sh->npubs; p++) {
        n += wsb_issued(t, chan, p);
    }

    return n;
}


/* s ends without a close handshake; the first reason is kept */
static void
wsb_sub_fail(wsb_thread_t *t, wsb_sub_t *s, const char *why)
{
    if (t->st->error[0] == '\0' && !(s->flags & (WSB_SLOW | WSB_CLOSE_SENT))) {
        snprintf(t->st->error, sizeof(t->st->error), "%s (%s)", why,
                 errno ? strerror(errno) : "no error code");
    }

    if (s->state != WSB_OPEN) {
        t->st->failed++;
        t->pending--;

    } else if (s->flags & WSB_SLOW) {
        t->st->slow_closed++;

    } else if (s->flags & WSB_CLOSE_SENT) {
        t->st->close_failed++;

    } else {
        t->st->server_closed++;
    }

    wsb_sub_free(t, s);
}


static int
wsb_sub_watch(wsb_thread_t *t, wsb_sub_t *s, int op, uint32_t events)
{
    struct epoll_event  ev;

    ev.events = events;
    ev.data.ptr = s;

    return epoll_ctl(t->ep, op, s->fd, &ev);
}


static void
wsb_sub_open(wsb_thread_t *t, long idx, int flags)
{
    int                 fd, one, rc;
    size_t              size;
    wsb_sub_t          *s, **live;
    struct sockaddr_in  src;

    t->st->attempted++;

    if (t->nlive == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 1024;
        live = realloc(t->live, t->cap * sizeof(wsb_sub_t *));
        if (live == NULL) {
            t->st->failed++;
            return;
        }
        t->live = live;
    }

    size = sizeof(wsb_sub_t) + (size_t) t->nnext * sizeof(uint32_t);

    s = calloc(1, size);
    if (s == NULL) {
        t->st->failed++;
        return;
    }

    fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd == -1) {
        t->st->fd_errors++;
        t->st->failed++;
        free(s);
        return;
    }

    one = 1;
    (void) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

    /* arrival times from the kernel: our own delays do not count */
    (void) setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one));

    /* several source addresses: more than 64k connections to one port */
    if (t->cf->src_ips > 1) {
        (void) setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one,
                          sizeof(one));
        memset(&src, 0, sizeof(src));
        src.sin_family = AF_INET;
        src.sin_addr.s_addr = htonl(0x7f000001 + idx % t->cf->src_ips);

        if (bind(fd, (struct sockaddr *) &src, sizeof(src)) != 0) {
            goto failed;
        }
    }

    if (t->chat && wsb_sub_chat_init(t, s, idx) != 0) {
        goto failed;
    }

    s->fd = fd;
    s->idx = (uint32_t) idx;
    s->chan = (uint32_t) (idx % t->cf->channels);
    s->flags = (uint8_t) flags;
    s->t = wsb_now();
    s->slot = t->nlive;
    t->live[t->nlive++] = s;
    t->pending++;

    rc = connect(fd, (struct sockaddr *) &t->url.addr, sizeof(t->url.addr));
    if (rc != 0 && errno != EINPROGRESS) {
        wsb_sub_fail(t, s, "connect");
        return;
    }

    if (wsb_sub_watch(t, s, EPOLL_CTL_ADD, EPOLLIN | EPOLLOUT) != 0) {
        wsb_sub_fail(t, s, "epoll_ctl");
    }

    return;

failed:

    t->st->failed++;
    close(fd);
    free(s->ccap);
    free(s);
}


static void
wsb_sub_free(wsb_thread_t *t, wsb_sub_t *s)
{
    wsb_sub_t  *last;

    if (s->digest) {
        free(s->digest);
    }

    if (s->tls) {
        wsb_tls_free(s->tls, s->flags & WSB_CLOSE_SENT);
    }

    if (s->zs) {
        wsb_sub_zs_put(t, s);
    }

    if ((s->flags & WSB_REOPEN) && t->sh->phase == WSB_PHASE_PUBLISH
        && t->nreopen < t->nslots)
    {
        t->reopen_at[t->nreopen] = wsb_now()
                                   + (uint64_t) (t->cf->churn_pause * WSB_NS);
        t->reopen[t->nreopen++] = s->idx;
    }

    free(s->buf);
    free(s->ccap);
    close(s->fd);

    last = t->live[--t->nlive];
    last->slot = s->slot;
    t->live[s->slot] = last;

    free(s);
}


static ssize_t
wsb_sub_write(wsb_sub_t *s, const void *buf, size_t n)
{
    if (s->tls) {
        return wsb_tls_send(s->tls, buf, n);
    }

    return send(s->fd, buf, n, MSG_NOSIGNAL);
}


static ssize_t
wsb_sub_recv(wsb_sub_t *s, void *buf, size_t n)
{
    uint64_t  rx;

    if (s->tls) {
        return wsb_tls_recv(s->tls, buf, n, &rx);
    }

    return recv(s->fd, buf, n, 0);
}


static void
wsb_sub_request(wsb_thread_t *t, wsb_sub_t *s)
{
    char    path[512], key[32], req[1024];
    size_t  n;

    wsb_sub_key(key, t->sh->run_id, s->idx);

    if ((t->chat ? wsb_chat_path(t->cf, path, sizeof(path), t->url.path,
                                 s->idx)
                 : wsb_url_path(path, sizeof(path), t->url.path, s->idx,
                                s->chan)) == 0
        || (n = wsb_ws_handshake(req, sizeof(req), t->url.hostport, path,
                                 key, t->cf->deflate)) == 0
        || wsb_sub_write(s, req, n) != (ssize_t) n
        || wsb_sub_watch(t, s, EPOLL_CTL_MOD, EPOLLIN) != 0)
    {
        wsb_sub_fail(t, s, "handshake request");
        return;
    }

    s->flags |= WSB_WATCHED;
    s->state = WSB_HANDSHAKE;
}


/* the TLS handshake goes on, as far as the socket lets it */
static void
wsb_sub_tls_step(wsb_thread_t *t, wsb_sub_t *s)
{
    switch (wsb_tls_handshake(s->tls)) {

    case WSB_TLS_DONE:
        wsb_sub_request(t, s);
        return;

    case WSB_TLS_WANT_READ:
        if (wsb_sub_watch(t, s, EPOLL_CTL_MOD, EPOLLIN) != 0) {
            wsb_sub_fail(t, s, "epoll_ctl");
        }
        return;

    case WSB_TLS_WANT_WRITE:
        if (wsb_sub_watch(t, s, EPOLL_CTL_MOD, EPOLLOUT) != 0) {
            wsb_sub_fail(t, s, "epoll_ctl");
        }
        return;

    default:
        wsb_sub_fail(t, s, wsb_tls_why());
    }
}


static void
wsb_sub_connected(wsb_thread_t *t, wsb_sub_t *s)
{
    int        err;
    socklen_t  len;

    err = 0;
    len = sizeof(err);

    if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err) {
        errno = err;
        wsb_sub_fail(t, s, "connect");
        return;
    }

    if (t->tls_ctx == NULL) {
        wsb_sub_request(t, s);
        return;
    }

    s->tls = wsb_tls_new(t->tls_ctx, s->fd);
    if (s->tls == NULL) {
        wsb_sub_fail(t, s, "out of memory");
        return;
    }

    s->state = WSB_TLS_HANDSHAKE;
    wsb_sub_tls_step(t, s);
}


static void
wsb_sub_established(wsb_thread_t *t, wsb_sub_t *s, uint64_t now)
{
    int  p;

    t->pending--;
    t->st->ok++;
    wsb_hist_add(&t->st->connect, now > s->t ? now - s->t : 0);
    s->state = WSB_OPEN;

    if (t->sh->phase != WSB_PHASE_CONNECT) {
        s->flags |= WSB_LATE;
    }

    if (t->chat) {
        wsb_sub_chat_open(t, s);

    } else if (s->flags & WSB_LATE) {
        /* messages issued before now may or may not reach us */
        for (p = 0; p < t->sh->npubs; p++) {
            s->next[p] = (uint32_t) wsb_issued(t, s->chan, p);
        }
        s->snap = wsb_issued_all(t, s->chan);

    } else {
        s->synced = ~0ULL;
    }

    if (t->digest_chan == (long) s->chan) {
        s->digest = malloc(sizeof(wsb_digest_t));
        if (s->digest) {
            wsb_sha1_init(&s->digest->c);
            s->digest->n = 0;
        }
    }

    if (s->flags & WSB_SLOW) {
        t->st->slow++;
        if (epoll_ctl(t->ep, EPOLL_CTL_DEL, s->fd, NULL) == 0) {
            s->flags &= ~WSB_WATCHED;
        }
    }

    if (s->flags & WSB_CHURN) {
        s->t = now + (uint64_t) ((t->cf->churn_life_min
                                  + (t->cf->churn_life_max
                                     - t->cf->churn_life_min)
                                    * (double) (wsb_rand(t) % 1000) / 1000.0)
                                 * WSB_NS);
    }
}


/*
 * The extension the 101 answer names, in s->buf: none (the server may
 * decline), or permessage-deflate as RFC 7692 lets a server answer our
 * offer; anything else fails the connection.  0, or -1 when s is gone.
 */
static int
wsb_sub_pmd(wsb_thread_t *t, wsb_sub_t *s, size_t hlen)
{
    char         why[80], msg[128];
    size_t       vlen, more;
    wsb_pmd_t    pmd;
    const char  *v, *end;

    end = (char *) s->buf + hlen;
    v = wsb_header((char *) s->buf, hlen, "Sec-WebSocket-Extensions", &vlen);
    if (v == NULL) {
        return 0;
    }

    if (!t->cf->deflate) {
        snprintf(why, sizeof(why), "an extension, none was offered");

    } else if (wsb_header(v, (size_t) (end - v), "Sec-WebSocket-Extensions",
                          &more)
               != NULL)
    {
        snprintf(why, sizeof(why), "more than the one extension offered");

    } else if (wsb_ws_pmd_answer(v, vlen, &pmd, why, sizeof(why)) == 0) {
        s->pmd = pmd.server_no_context ? WSB_PMD_RESET : WSB_PMD_KEEP;
        s->zbits = (uint8_t) (pmd.server_bits ? pmd.server_bits : 15);
        t->st->pmd++;
        return 0;
    }

    snprintf(msg, sizeof(msg), "bad Sec-WebSocket-Extensions answer: %s",
             why);
    errno = 0;
    wsb_sub_fail(t, s, msg);

    return -1;
}


/* chat: a reopened slot counts what it missed, or asks for it again */
static void
wsb_sub_chat_open(wsb_thread_t *t, wsb_sub_t *s)
{
    int     k;
    char    cmd[128];
    size_t  n;

    if (s->cs->opened) {
        t->st->chat.reconnects++;
    }

    wsb_chat_open(s->cs, t->sh, t->cf->resume, &t->st->ep[t->sh->epoch]);

    for (k = 0; k < s->cs->ntargets; k++) {
        n = wsb_chat_resume(s->cs, t->cf, k, cmd, sizeof(cmd));
        if (n) {
            wsb_sub_send(t, s, 0x1, (unsigned char *) cmd, n);
            t->st->chat.resumes++;
        }
    }
}


/* 0: waiting, 1: open, 2: read a part, -1: s is gone */
static int
wsb_sub_handshake(wsb_thread_t *t, wsb_sub_t *s, uint64_t now)
{
    char     key[32], *end;
    ssize_t  n;
    size_t   used, hlen;

    if (s->buf == NULL) {
        s->buf = malloc(1024);
        if (s->buf == NULL) {
            wsb_sub_fail(t, s, "out of memory");
            return -1;
        }
        s->msg_len = 0;
    }

    used = (size_t) s->msg_len;

    n = wsb_sub_recv(s, s->buf + used, 1023 - used);
    if (n <= 0) {
        if (n == -1 && errno == EAGAIN) {
            return 0;
        }
        wsb_sub_fail(t, s, "handshake read");
        return -1;
    }

    used += (size_t) n;
    s->buf[used] = '\0';
    s->msg_len = used;

    end = strstr((char *) s->buf, "\r\n\r\n");
    if (end == NULL) {
        if (used == 1023) {
            wsb_sub_fail(t, s, "handshake too long");
            return -1;
        }
        return 2;
    }

    hlen = (size_t) (end + 4 - (char *) s->buf);
    wsb_sub_key(key, t->sh->run_id, s->idx);

    if (wsb_ws_check_101((char *) s->buf, hlen, key) != 0) {
        wsb_sub_fail(t, s, "bad 101 answer");
        return -1;
    }

    if (wsb_sub_pmd(t, s, hlen) != 0) {
        return -1;
    }

    s->msg_len = 0;
    wsb_sub_established(t, s, now);

    /* frames sent right behind the 101 */
    if (used > hlen) {
        memcpy(t->rbuf, s->buf + hlen, used - hlen);
        free(s->buf);
        s->buf = NULL;
        return wsb_sub_frames(t, s, t->rbuf, used - hlen, wsb_wall()) == 0
               ? 1 : -1;
    }

    free(s->buf);
    s->buf = NULL;

    return 1;
}


static void
wsb_sub_event(wsb_thread_t *t, wsb_sub_t *s, uint32_t ev, uint64_t now)
{
    int  i, rc;

    rc = 0;

    switch (s->state) {

    case WSB_CONNECTING:
        if (ev & (EPOLLOUT | EPOLLERR | EPOLLHUP)) {
            wsb_sub_connected(t, s);
        }
        return;

    case WSB_TLS_HANDSHAKE:
        wsb_sub_tls_step(t, s);
        return;

    case WSB_HANDSHAKE:
        if (s->tls == NULL) {
            (void) wsb_sub_handshake(t, s, now);
            return;
        }

        /* TLS may hold the rest of the answer, and frames behind it */
        for (i = 0; i < WSB_TLS_101_READS; i++) {
            rc = wsb_sub_handshake(t, s, now);
            if (rc != 2) {
                break;
            }
        }

        if (rc == 1) {
            wsb_sub_tls_read(t, s);
        }
        return;

    default:
        if (s->tls) {
            wsb_sub_tls_read(t, s);
            return;
        }

        wsb_sub_read(t, s);
    }
}


/*
 * TLS: records are read until the socket is dry, since what OpenSSL holds
 * decrypted or read ahead wakes no epoll; past the bound, the connection
 * is marked and read again right after the next epoll_wait()
 */
static void
wsb_sub_tls_read(wsb_thread_t *t, wsb_sub_t *s)
{
    int       i;
    ssize_t   n;
    uint64_t  rx;

    for (i = 0; i < WSB_TLS_READS; i++) {
        rx = 0;
        n = wsb_tls_recv(s->tls, t->rbuf, WSB_RBUF, &rx);

        if (n > 0) {
            t->st->bytes += (uint64_t) n;
            if (wsb_sub_frames(t, s, t->rbuf, (size_t) n,
                               rx ? rx : wsb_wall())
                != 0)
            {
                return;
            }
            continue;
        }

        if (n == -1 && errno == EAGAIN) {
            return;
        }

        wsb_sub_fail(t, s, "read");
        return;
    }

    if (wsb_tls_pending(s->tls)) {
        s->flags |= WSB_AGAIN;
        t->again = 1;
    }
}


static void
wsb_sub_again(wsb_thread_t *t)
{
    uint32_t    i, n;
    wsb_sub_t  *s;

    t->again = 0;

    for (i = 0; i < t->nlive; /* void */ ) {
        s = t->live[i];

        if (s->flags & WSB_AGAIN) {
            s->flags &= ~WSB_AGAIN;
            n = t->nlive;
            wsb_sub_tls_read(t, s);

            if (t->nlive < n) {
                /* s is gone: the last connection took its slot */
                continue;
            }
        }

        i++;
    }
}


/* reads what arrived, with the kernel's time of arrival */
static void
wsb_sub_read(wsb_thread_t *t, wsb_sub_t *s)
{
    ssize_t           n;
    uint64_t          rx;
    struct iovec      iov;
    struct msghdr     mh;
    struct cmsghdr   *cm;
    struct timespec  *ts;
    union {
        struct cmsghdr   align;
        char             buf[CMSG_SPACE(sizeof(struct timespec))];
    } ctl;

    iov.iov_base = t->rbuf;
    iov.iov_len = WSB_RBUF;
    memset(&mh, 0, sizeof(mh));
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = ctl.buf;
    mh.msg_controllen = sizeof(ctl.buf);

    n = recvmsg(s->fd, &mh, 0);

    if (n > 0) {
        rx = 0;

        for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
            if (cm->cmsg_level == SOL_SOCKET
                && cm->cmsg_type == SCM_TIMESTAMPNS)
            {
                ts = (struct timespec *) CMSG_DATA(cm);
                rx = (uint64_t) ts->tv_sec * WSB_NS + (uint64_t) ts->tv_nsec;
            }
        }

        t->st->bytes += (uint64_t) n;
        (void) wsb_sub_frames(t, s, t->rbuf, (size_t) n, rx ? rx : wsb_wall());
        return;
    }

    if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
        return;
    }

    wsb_sub_fail(t, s, "read");
}


/* one frame's header is complete in s->hdr: 0, or -1 to drop s */
static int
wsb_sub_header(wsb_sub_t *s)
{
    int       i, op;
    uint64_t  len;

    op = s->hdr[0] & 0x0f;
    len = s->hdr[1] & 0x7f;

    if (len == 126) {
        len = (uint64_t) s->hdr[2] << 8 | s->hdr[3];

    } else if (len == 127) {
        len = 0;
        for (i = 0; i < 8; i++) {
            len = len << 8 | s->hdr[2 + i];
        }
    }

    /* RSV1 marks a compressed message, on its first frame only */
    if ((s->hdr[0] & 0x30) || (s->hdr[1] & 0x80)
        || ((s->hdr[0] & 0x40) && (!s->pmd || op == 0 || (op & 0x08))))
    {
        return -1;
    }

    s->opcode = (uint8_t) op;
    s->fin = s->hdr[0] >> 7;
    s->left = len;

    if (op & 0x08) {
        if (len > 125 || !s->fin) {
            return -1;
        }

        s->ctrl_len = 0;

        if (s->buf == NULL) {
            s->buf = malloc(128);
            if (s->buf == NULL) {
                return -1;
            }
        }

        return 0;
    }

    if (op == 0) {
        return s->msg_op ? 0 : -1;
    }

    if ((op != 1 && op != 2) || s->msg_op) {
        return -1;
    }

    s->msg_op = (uint8_t) op;
    s->msg_len = 0;
    s->cap_len = 0;
    s->ccap_len = 0;
    s->env = 0;
    s->zmsg = (s->hdr[0] & 0x40) != 0;

    return 0;
}


static int
wsb_sub_frame_end(wsb_thread_t *t, wsb_sub_t *s, uint64_t now)
{
    static unsigned char  tail[4] = { 0x00, 0x00, 0xff, 0xff };

    s->flags &= ~WSB_BODY;
    s->hlen = 0;

    if (s->opcode & 0x08) {
        return wsb_sub_control(t, s);
    }

    if (!s->fin) {
        return 0;
    }

    if (s->zmsg) {
        /* RFC 7692 7.2.2: the tail the server removed */
        if (wsb_sub_inflate(t, s, tail, sizeof(tail)) != 0) {
            return -1;
        }

        t->st->zmsgs++;

        if (s->zend || s->pmd == WSB_PMD_RESET) {
            wsb_sub_zs_put(t, s);
        }
    }

    t->st->msgs++;
    t->st->msg_bytes += s->msg_len;

    wsb_sub_message(t, s, now);
    s->msg_op = 0;

    return 0;
}


/* an inflate stream for s: its own, a spare one, or a new one; or NULL */
static wsb_zs_t *
wsb_sub_zs_get(wsb_thread_t *t, wsb_sub_t *s)
{
    wsb_zs_t  *zs;

    if (s->zs) {
        return s->zs;
    }

    zs = t->zfree;

    if (zs) {
        t->zfree = zs->next;

        if (zs->bits != s->zbits && inflateReset2(&zs->z, -s->zbits) != Z_OK) {
            inflateEnd(&zs->z);
            free(zs);
            return NULL;
        }

    } else {
        zs = calloc(1, sizeof(wsb_zs_t));
        if (zs == NULL) {
            return NULL;
        }

        if (inflateInit2(&zs->z, -s->zbits) != Z_OK) {
            free(zs);
            return NULL;
        }
    }

    zs->bits = s->zbits;
    s->zs = zs;

    return zs;
}


/* s's stream is spare again, reset: its next message starts afresh */
static void
wsb_sub_zs_put(wsb_thread_t *t, wsb_sub_t *s)
{
    wsb_zs_t  *zs;

    zs = s->zs;
    s->zs = NULL;
    s->zend = 0;

    if (inflateReset(&zs->z) != Z_OK) {
        inflateEnd(&zs->z);
        free(zs);
        return;
    }

    zs->next = t->zfree;
    t->zfree = zs;
}


/* compressed bytes of s's message: 0, or -1 when s is gone */
static int
wsb_sub_inflate(wsb_thread_t *t, wsb_sub_t *s, unsigned char *p, size_t len)
{
    int        rc;
    char       why[96];
    size_t     out;
    z_stream  *z;
    wsb_zs_t  *zs;

    if (s->zend) {
        /* past a final block: RFC 7692 7.2.3.5 lets the rest be ignored */
        return 0;
    }

    zs = wsb_sub_zs_get(t, s);
    if (zs == NULL) {
        errno = ENOMEM;
        wsb_sub_fail(t, s, "inflate");
        return -1;
    }

    z = &zs->z;
    z->next_in = p;
    z->avail_in = (uInt) len;

    do {
        z->next_out = t->zbuf;
        z->avail_out = WSB_ZBUF;

        rc = inflate(z, Z_SYNC_FLUSH);

        if (rc != Z_OK && rc != Z_BUF_ERROR && rc != Z_STREAM_END) {
            snprintf(why, sizeof(why), "inflate: %s",
                     z->msg ? z->msg : "not deflate data");
            wsb_sub_abort(t, s, 1007, why);
            return -1;
        }

        out = WSB_ZBUF - z->avail_out;
        if (out) {
            wsb_sub_data(t, s, t->zbuf, out);
        }

        if (rc == Z_STREAM_END) {
            s->zend = 1;
            return 0;
        }

    } while (z->avail_out == 0);

    return 0;
}


/* 0: go on; -1: s is gone */
static int
wsb_sub_frames(wsb_thread_t *t, wsb_sub_t *s, unsigned char *p, size_t n,
    uint64_t now)
{
    size_t          need, take;
    unsigned char  *end;

    end = p + n;

    while (p < end) {

        if (!(s->flags & WSB_BODY)) {
            /* the header: 2 bytes, then what its length byte says */
            need = 2;
            if (s->hlen >= 2) {
                need = (s->hdr[1] & 0x7f) == 126 ? 4
                       : (s->hdr[1] & 0x7f) == 127 ? 10 : 2;
            }

            while (s->hlen < need && p < end) {
                s->hdr[s->hlen++] = *p++;
                if (s->hlen == 2) {
                    need = (s->hdr[1] & 0x7f) == 126 ? 4
                           : (s->hdr[1] & 0x7f) == 127 ? 10 : 2;
                }
            }

            if (s->hlen < need) {
                return 0;
            }

            if (wsb_sub_header(s) != 0) {
                wsb_sub_abort(t, s, 1002, "protocol error");
                return -1;
            }

            s->flags |= WSB_BODY;

            if (s->left == 0 && wsb_sub_frame_end(t, s, now) != 0) {
                return -1;
            }

            continue;
        }

        take = (size_t) (end - p);
        if (take > s->left) {
            take = (size_t) s->left;
        }

        if (s->opcode & 0x08) {
            memcpy(s->buf + s->ctrl_len, p, take);
            s->ctrl_len += (uint8_t) take;

        } else if (s->zmsg) {
            if (wsb_sub_inflate(t, s, p, take) != 0) {
                return -1;
            }

        } else {
            wsb_sub_data(t, s, p, take);
        }

        p += take;
        s->left -= take;

        if (s->left == 0 && wsb_sub_frame_end(t, s, now) != 0) {
            return -1;
        }
    }

    return 0;
}


/* payload bytes of a message, as sent or inflated */
static void
wsb_sub_data(wsb_thread_t *t, wsb_sub_t *s, unsigned char *p, size_t take)
{
    size_t          n;
    unsigned char  *q;

    q = p;

    if (s->ccap && s->ccap_len < WSB_CHAT_CAP) {
        n = WSB_CHAT_CAP - s->ccap_len;
        if (n > take) {
            n = take;
        }
        memcpy(s->ccap + s->ccap_len, p, n);
        s->ccap_len += (uint32_t) n;

    } else if (t->cf->envelope && s->env < WSB_ENV_LEN) {
        q = wsb_sub_envelope(s, p, p + take);
    }

    if (s->cap_len < WSB_HDR_LEN && q < p + take) {
        n = WSB_HDR_LEN - s->cap_len;
        if (n > (size_t) (p + take - q)) {
            n = (size_t) (p + take - q);
        }
        memcpy(s->cap + s->cap_len, q, n);
        s->cap_len += (uint8_t) n;
    }

    if (s->digest) {
        wsb_sha1_update(&s->digest->c, p, take);
    }

    s->msg_len += take;
}


/* scans for "data":" in a JSON envelope: where its value starts, or end */
static unsigned char *
wsb_sub_envelope(wsb_sub_t *s, unsigned char *p, unsigned char *end)
{
    while (p < end && s->env < WSB_ENV_LEN) {
        if (*p == (unsigned char) wsb_env_key[s->env]) {
            s->env++;

        } else {
            s->env = (*p == '"');
        }

        p++;
    }

    return p;
}


static void
wsb_sub_chat_message(wsb_thread_t *t, wsb_sub_t *s, uint64_t now)
{
    char    reply[128];
    size_t  n;

    n = wsb_chat_message(s->cs, t->cf, t->sh, t->st, s->ccap, s->ccap_len,
                         now, s->flags & WSB_SLOW, reply, sizeof(reply));

    if (n && !(s->flags & WSB_CLOSE_SENT)) {
        wsb_sub_send(t, s, 0x1, (unsigned char *) reply, n);

        if (n > 16 && memcmp(reply, "{\"type\":\"resume\"", 16) == 0) {
            t->st->chat.resumes++;

        } else {
            t->st->chat.acks++;
        }
    }
}


static void
wsb_sub_message(wsb_thread_t *t, wsb_sub_t *s, uint64_t now)
{
    int            epoch, pub;
    uint32_t       run, seq, len;
    uint64_t       ts, bit;
    wsb_epoch_t   *ep;
    unsigned char  be[4];

    if (s->cs) {
        wsb_sub_chat_message(t, s, now);
        return;
    }

    if (s->digest) {
        len = (uint32_t) s->msg_len;
        be[0] = (unsigned char) (len >> 24);
        be[1] = (unsigned char) (len >> 16);
        be[2] = (unsigned char) (len >> 8);
        be[3] = (unsigned char) len;
        wsb_sha1_update(&s->digest->c, be, 4);
        s->digest->n++;
    }

    if (wsb_payload_parse(s->cap, s->cap_len, &run, &epoch, &pub, &seq, &ts)
        != 0 || run != t->sh->run_id || pub >= t->nnext
        || epoch >= WSB_MAX_EPOCHS)
    {
        t->st->foreign++;
        return;
    }

    if (s->flags & WSB_SLOW) {
        t->st->slow_received++;
        return;
    }

    ep = &t->st->ep[epoch];

    bit = 1ULL << pub;

    if (!(s->synced & bit)) {
        if (seq < s->next[pub]) {
            /* issued before we joined: welcome, but not owed to us */
            ep->received++;
            wsb_hist_add(&ep->lat, now > ts ? now - ts : 0);
            s->got++;
            return;
        }
        s->synced |= bit;
    }

    if (seq < s->next[pub]) {
        ep->dup++;
        return;
    }

    if (seq > s->next[pub]) {
        ep->lost += seq - s->next[pub];
    }

    s->next[pub] = seq + 1;
    s->got++;
    ep->received++;
    wsb_hist_add(&ep->lat, now > ts ? now - ts : 0);
}


static void
wsb_sub_send(wsb_thread_t *t, wsb_sub_t *s, int op, const unsigned char *d,
    size_t len)
{
    size_t         n;
    unsigned char  frame[160];

    n = wsb_ws_frame(frame, op, 1, d, len, (uint32_t) wsb_rand(t));
    (void) wsb_sub_write(s, frame, n);
}


static void
wsb_sub_send_close(wsb_thread_t *t, wsb_sub_t *s, int code)
{
    unsigned char  c[2];

    c[0] = (unsigned char) (code >> 8);
    c[1] = (unsigned char) code;

    wsb_sub_send(t, s, 0x8, c, 2);
    s->flags |= WSB_CLOSE_SENT;
}


/*
 * The server broke the protocol on an open connection: our close with
 * code, then the connection counts as one the server closed, its reason
 * is kept, and what it was owed so far is lost
 */
static void
wsb_sub_abort(wsb_thread_t *t, wsb_sub_t *s, int code, const char *why)
{
    if (s->state == WSB_OPEN && !(s->flags & (WSB_SLOW | WSB_CLOSE_SENT))) {
        wsb_sub_tail(t, s, t->sh->epoch);

        if (t->st->error[0] == '\0') {
            snprintf(t->st->error, sizeof(t->st->error), "%s", why);
        }
    }

    wsb_sub_send_close(t, s, code);
    s->flags &= ~WSB_CLOSE_SENT;
    errno = 0;
    wsb_sub_fail(t, s, why);
}


/* a control frame is complete: 0, or -1 when s is gone */
static int
wsb_sub_control(wsb_thread_t *t, wsb_sub_t *s)
{
    int  code;

    switch (s->opcode) {

    case 0x9:
        t->st->pings++;
        wsb_sub_send(t, s, 0xa, s->buf, s->ctrl_len);
        return 0;

    case 0xa:
        return 0;

    case 0x8:
        if (s->flags & WSB_CLOSE_SENT) {
            /* the answer to ours: the server closes TCP, we may too */
            t->st->closed_ok++;
            wsb_sub_free(t, s);
            return -1;
        }

        code = s->ctrl_len >= 2 ? (s->buf[0] << 8 | s->buf[1]) : 1000;
        wsb_sub_send_close(t, s, code == 1005 ? 1000 : code);

        if (s->flags & WSB_SLOW) {
            t->st->slow_closed++;

        } else {
            t->st->server_closed++;
        }

        wsb_sub_free(t, s);
        return -1;

    default:
        return -1;
    }
}


static void
wsb_sub_open_due(wsb_thread_t *t, wsb_opener_t *o, uint64_t now, int flags)
{
    int   slow;
    long  due;

    if (o->next >= o->end) {
        return;
    }

    due = (long) (o->rate * (double) (now - o->start) / WSB_NS) + 1
          - o->opened;

    while (due-- > 0 && o->next < o->end && t->pending < WSB_MAX_PENDING) {
        /* the slow share: a fixed pattern among the first connections */
        slow = flags == 0
               && (t->chat ? (o->next * 7919) % 1000 : o->next % 1000)
                  < (long) (t->cf->slow_share * 1000);

        wsb_sub_open(t, o->next, flags | (slow ? WSB_SLOW : 0));
        o->next += t->nthreads;
        o->opened++;
    }
}


static void
wsb_opener_init(wsb_thread_t *t, wsb_opener_t *o, long base, long end,
    double rate, uint64_t now)
{
    o->next = base + t->gid;
    o->end = end;
    o->start = now;
    o->rate = rate / t->nthreads;
    o->opened = 0;
}


/* churn: connections that reached their life's end close, new ones open */
static void
wsb_sub_churn(wsb_thread_t *t, wsb_opener_t *o, uint64_t now)
{
    uint32_t    i;
    wsb_sub_t  *s;

    for (i = 0; i < t->nlive; i++) {
        s = t->live[i];

        if ((s->flags & (WSB_CHURN | WSB_CLOSE_SENT)) == WSB_CHURN
            && s->state == WSB_OPEN && now >= s->t)
        {
            wsb_sub_send_close(t, s, 1000);
            s->t = now + WSB_CLOSE_WAIT;
        }
    }

    wsb_sub_open_due(t, o, now, WSB_CHURN | WSB_LATE);
}


/*
 * chat: churn_share of this thread's connections a second close with the
 * handshake, in turn, and their slots open again once the close is done
 */
static void
wsb_sub_chat_churn(wsb_thread_t *t, uint64_t now)
{
    long        i, due;
    uint32_t    n;
    wsb_sub_t  *s;

    if (t->churn_last == 0) {
        t->churn_last = now;
    }

    t->churn_credit += t->cf->churn_share * t->nlive
                       * (double) (now - t->churn_last) / WSB_NS;
    t->churn_last = now;

    due = (long) t->churn_credit;
    t->churn_credit -= (double) due;

    for (n = 0; due > 0 && n < t->nlive; n++) {
        s = t->live[t->churn_next++ % t->nlive];

        if (s->state != WSB_OPEN
            || (s->flags & (WSB_SLOW | WSB_CLOSE_SENT)))
        {
            continue;
        }

        wsb_sub_send_close(t, s, 1000);
        s->flags |= WSB_REOPEN;
        s->t = now + WSB_CLOSE_WAIT;
        due--;
    }

    for (i = 0; i < t->nreopen; /* void */ ) {
        if (t->reopen_at[i] > now) {
            i++;
            continue;
        }

        wsb_sub_open(t, t->reopen[i], WSB_LATE);
        t->nreopen--;
        t->reopen[i] = t->reopen[t->nreopen];
        t->reopen_at[i] = t->reopen_at[t->nreopen];
    }
}


/* echo: this thread's share of the rate, spread over its connections */
static void
wsb_sub_echo(wsb_thread_t *t, uint64_t start, uint64_t now, uint64_t *sent)
{
    int            f, nf, op;
    long           due;
    size_t         n, len, chunk, off;
    wsb_sub_t     *s;
    unsigned char  payload[65536];

    due = (long) (t->cf->rate / t->nthreads * (double) (now - start) / WSB_NS)
          - (long) *sent;

    if (due > (long) t->nlive) {
        due = t->nlive;
    }

    len = (size_t) t->cf->payload;
    if (len > sizeof(payload)) {
        len = sizeof(payload);
    }

    nf = t->cf->fragments;

    while (due-- > 0 && t->nlive) {
        s = t->live[*sent % t->nlive];
        (*sent)++;

        if (s->state != WSB_OPEN || (s->flags & (WSB_SLOW | WSB_CLOSE_SENT))) {
            continue;
        }

        (void) wsb_payload_make(payload, len, t->sh->run_id,
                                t->sh->epoch, 0, s->next[1]++, wsb_wall());

        /* fragmented messages: first frame text, then continuations */
        chunk = (len + nf - 1) / nf;
        n = 0;

        for (f = 0, off = 0; off < len; f++, off += chunk) {
            op = f == 0 ? 0x1 : 0x0;
            n += wsb_ws_frame(t->wbuf + n, op, off + chunk >= len,
                              payload + off,
                              off + chunk >= len ? len - off : chunk,
                              (uint32_t) wsb_rand(t));
        }

        if (wsb_sub_write(s, t->wbuf, n) != (ssize_t) n) {
            t->st->ep[t->sh->epoch].pub_errors++;
            continue;
        }

        t->st->sent++;
        t->st->ep[t->sh->epoch].published++;
    }
}


/* what an open connection still owes us once publishing stopped */
static void
wsb_sub_tail(wsb_thread_t *t, wsb_sub_t *s, int last)
{
    int            p;
    uint64_t       issued, owed;
    unsigned char  md[WSB_DIGEST_LEN];

    if (s->state != WSB_OPEN || (s->flags & (WSB_SLOW | WSB_CLOSE_SENT))) {
        return;
    }

    owed = 0;

    if (s->cs) {
        owed = wsb_chat_tail(s->cs, t->sh);

    } else if (t->echo) {
        owed = s->next[1] - s->next[0];

    } else {
        for (p = 0; p < t->sh->npubs; p++) {
            issued = wsb_issued(t, s->chan, p);

            if ((s->synced >> p) & 1) {
                owed += issued > s->next[p] ? issued - s->next[p] : 0;

            } else if (issued > s->next[p] + 1) {
                /* never heard from p although it published after we came */
                owed += issued - s->next[p] - 1;
            }
        }
    }

    t->st->tail_lost += owed;
    t->st->ep[last].lost += owed;

    if (s->digest) {
        if (t->st->digest_subs == 0) {
            wsb_sha1_final(&s->digest->c, t->st->digest);
            t->st->digest_count = s->digest->n;

        } else {
            wsb_sha1_final(&s->digest->c, md);
            if (memcmp(md, t->st->digest, WSB_DIGEST_LEN) != 0
                || s->digest->n != t->st->digest_count)
            {
                t->st->digest_mismatch++;
            }
        }

        t->st->digest_subs++;
    }
}


static void
wsb_sub_close_all(wsb_thread_t *t, uint64_t now)
{
    int         last;
    uint32_t    i;
    wsb_sub_t  *s;

    last = t->sh->epoch;

    for (i = 0; i < t->nlive; i++) {
        wsb_sub_tail(t, t->live[i], last);
    }

    /* connections still connecting at the end are failures */
    for (i = 0; i < t->nlive; /* void */ ) {
        s = t->live[i];

        if (s->state != WSB_OPEN) {
            wsb_sub_fail(t, s, "not open at the end");
            continue;
        }

        if (!(s->flags & WSB_CLOSE_SENT)) {
            wsb_sub_send_close(t, s, 1000);
        }

        s->t = now + WSB_CLOSE_WAIT;

        /* a slow reader must read again to see the answer */
        if (!(s->flags & WSB_WATCHED)
            && wsb_sub_watch(t, s, EPOLL_CTL_ADD, EPOLLIN) == 0)
        {
            s->flags |= WSB_WATCHED;
        }

        i++;
    }
}


static void
wsb_sub_expire(wsb_thread_t *t, uint64_t now)
{
    uint32_t    i;
    wsb_sub_t  *s;

    for (i = 0; i < t->nlive; /* void */ ) {
        s = t->live[i];

        if (s->state != WSB_OPEN && now > s->t
            && now - s->t > (uint64_t) (t->cf->connect_timeout * WSB_NS))
        {
            wsb_sub_fail(t, s, "connect timeout");
            continue;
        }

        if ((s->flags & WSB_CLOSE_SENT) && now > s->t) {
            wsb_sub_fail(t, s, "close timeout");
            continue;
        }

        i++;
    }
}


static void
wsb_sub_loop(wsb_thread_t *t)
{
    int                  i, n, phase, ready, spiking, churning;
    uint64_t             now, deadline, cpu0, last_expire, echo_start;
    uint64_t             echo_sent, close_end, cpu1;
    wsb_opener_t         initial, spike, churn;
    wsb_conf_t          *cf;
    wsb_shared_t        *sh;
    struct epoll_event   ev[WSB_EVENTS];

    cf = t->cf;
    sh = t->sh;
    now = wsb_now();
    deadline = sh->t0 + (uint64_t) (cf->timeout * WSB_NS);
    ready = 0;
    spiking = 0;
    churning = 0;
    cpu0 = 0;
    last_expire = now;
    echo_start = 0;
    echo_sent = 0;
    close_end = 0;
    cpu1 = 0;

    wsb_opener_init(t, &initial, 0, cf->connections, cf->ramp, now);
    memset(&spike, 0, sizeof(spike));
    memset(&churn, 0, sizeof(churn));

    for ( ;; ) {
        n = epoll_wait(t->ep, ev, WSB_EVENTS, t->again ? 0 : 5);
        now = wsb_now();

        for (i = 0; i < n; i++) {
            wsb_sub_event(t, ev[i].data.ptr, ev[i].events, now);
        }

        if (t->again) {
            wsb_sub_again(t);
        }

        /*
         * a short batch: fewer wake-ups, more reads per wake-up; arrival
         * times come from the kernel, so the wait does not skew latency
         */
        if (n > 0 && n < WSB_EVENTS / 4 && cf->batch_us) {
            wsb_sleep((uint64_t) cf->batch_us * 1000);
        }

        phase = sh->phase;

        if (now > deadline || phase == WSB_PHASE_EXIT) {
            snprintf(t->st->error, sizeof(t->st->error), "hard timeout");
            break;
        }

        if (phase == WSB_PHASE_CONNECT || initial.next < initial.end) {
            wsb_sub_open_due(t, &initial, now, 0);
        }

        if (!ready && initial.next >= initial.end && t->pending == 0) {
            ready = 1;
            __atomic_add_fetch(&sh->ready, 1, __ATOMIC_RELEASE);
        }

        if (phase == WSB_PHASE_PUBLISH && cpu0 == 0) {
            cpu0 = wsb_thread_cpu();
            echo_start = now;

            if (cf->churn_rate > 0) {
                churning = 1;
                wsb_opener_init(t, &churn, WSB_CHURN_BASE, WSB_CHURN_BASE
                                + (long) (cf->churn_rate * (cf->duration + 1)),
                                cf->churn_rate, now);
            }
        }

        if (phase == WSB_PHASE_PUBLISH) {
            if (sh->spike && !spiking) {
                spiking = 1;
                wsb_opener_init(t, &spike, cf->connections,
                                (long) (cf->connections * cf->spike_factor),
                                cf->ramp, now);
            }

            if (spiking) {
                wsb_sub_open_due(t, &spike, now, WSB_LATE);
            }

            if (churning) {
                wsb_sub_churn(t, &churn, now);
            }

            if (t->chat && t->cf->churn_share > 0) {
                wsb_sub_chat_churn(t, now);
            }

            if (t->echo) {
                wsb_sub_echo(t, echo_start, now, &echo_sent);
            }
        }

        if (now - last_expire > 100 * WSB_MS) {
            last_expire = now;
            wsb_sub_expire(t, now);

            if (!ready && now - sh->t0
                > (uint64_t) (cf->connect_timeout * WSB_NS) * 2)
            {
                /* never stall the run: the rest is counted as failed */
                initial.next = initial.end;
            }
        }

        if (phase >= WSB_PHASE_CLOSE) {
            if (close_end == 0) {
                cpu1 = wsb_thread_cpu();
                close_end = now + WSB_CLOSE_WAIT + WSB_NS / 2;
                wsb_sub_close_all(t, now);
            }

            if (t->nlive == 0 || now > close_end) {
                break;
            }
        }
    }

    while (t->nlive) {
        wsb_sub_fail(t, t->live[t->nlive - 1], "hard timeout");
    }

    if (!ready) {
        __atomic_add_fetch(&sh->ready, 1, __ATOMIC_RELEASE);
    }

    t->st->cpu_total_ns = wsb_thread_cpu();
    t->st->cpu_ns = (cpu0 && cpu1) ? cpu1 - cpu0 : 0;
}


void *
wsb_sub_thread(void *arg)
{
    wsb_zs_t      *zs;
    long           k;
    wsb_thread_t  *t;

    t = arg;

    t->ep = epoll_create1(EPOLL_CLOEXEC);
    t->rbuf = malloc(WSB_RBUF);
    t->wsize = 65536 + 64 * 14;
    t->wbuf = malloc(t->wsize);

    if (t->cf->deflate) {
        t->zbuf = malloc(WSB_ZBUF);
    }

    if (t->url.tls) {
        t->tls_ctx = wsb_tls_ctx();
    }

    if (t->chat) {
        t->nslots = t->cf->connections / t->nthreads + 1;
        t->slots = calloc((size_t) t->nslots, sizeof(wsb_chat_slot_t *));
        t->reopen = calloc((size_t) t->nslots, sizeof(long));
        t->reopen_at = calloc((size_t) t->nslots, sizeof(uint64_t));
        if ((t->slots == NULL || t->reopen == NULL || t->reopen_at == NULL)
            && t->ep != -1)
        {
            close(t->ep);
            t->ep = -1;
        }
    }

    if (t->ep == -1 || t->rbuf == NULL || t->wbuf == NULL
        || (t->cf->deflate && t->zbuf == NULL)
        || (t->url.tls && t->tls_ctx == NULL))
    {
        snprintf(t->st->error, sizeof(t->st->error), "out of memory");
        __atomic_add_fetch(&t->sh->ready, 1, __ATOMIC_RELEASE);

    } else {
        wsb_sub_loop(t);
    }

    __atomic_add_fetch(&t->sh->finished, 1, __ATOMIC_RELEASE);

    free(t->live);
    free(t->rbuf);
    free(t->wbuf);
    free(t->zbuf);

    while (t->zfree) {
        zs = t->zfree;
        t->zfree = zs->next;
        inflateEnd(&zs->z);
        free(zs);
    }

    for (k = 0; k < t->nslots; k++) {
        free(t->slots[k]);
    }

    free(t->slots);
    free(t->reopen);
    free(t->reopen_at);

    if (t->tls_ctx) {
        wsb_tls_ctx_free(t->tls_ctx);
    }

    if (t->ep != -1) {
        close(t->ep);
    }

    return NULL;
}


/* the body of one subscriber process; does not return */
void
wsb_sub_process(wsb_conf_t *cf, wsb_shared_t *sh, int proc)
{
    int            i, e, n;
    pthread_t      tid[WSB_MAX_THREADS];
    wsb_thread_t   th[WSB_MAX_THREADS];

    signal(SIGPIPE, SIG_IGN);
    (void) wsb_raise_nofile();

    n = sh->threads;

    for (i = 0; i < n; i++) {
        memset(&th[i], 0, sizeof(wsb_thread_t));
        th[i].cf = cf;
        th[i].sh = sh;
        th[i].gid = proc * n + i;
        th[i].nthreads = sh->procs * n;
        th[i].st = &sh->stats[th[i].gid];
        th[i].nnext = sh->npubs > 2 ? sh->npubs : 2;
        th[i].rng = 0x2545f4914f6cdd1dULL ^ ((uint64_t) th[i].gid << 17)
                    ^ sh->run_id;
        (void) wsb_url_parse(&th[i].url, cf->sub_url, "ws");

        wsb_hist_init(&th[i].st->connect);
        th[i].echo = strcmp(cf->kind, "echo") == 0;
        th[i].chat = strcmp(cf->kind, "chat") == 0;
        th[i].digest_chan = cf->digest_channel[0]
                            ? atol(cf->digest_channel) : -1;

        for (e = 0; e < WSB_MAX_EPOCHS; e++) {
            wsb_hist_init(&th[i].st->ep[e].lat);
        }

        if (pthread_create(&tid[i], NULL, wsb_sub_thread, &th[i]) != 0) {
            snprintf(th[i].st->error, sizeof(th[i].st->error),
                     "pthread_create failed");
            __atomic_add_fetch(&sh->ready, 1, __ATOMIC_RELEASE);
            __atomic_add_fetch(&sh->finished, 1, __ATOMIC_RELEASE);
            tid[i] = 0;
        }
    }

    for (i = 0; i < n; i++) {
        if (tid[i]) {
            pthread_join(tid[i], NULL);
        }
    }

    _exit(0);
}
