
/*
 * Copyright (C) ngx_ws_perf_module authors
 */


/*
 * The publisher: a few keep-alive connections, each carrying up to
 * "pipeline" requests in flight, POST /pub/<channel> over HTTP/1.1 or
 * PUBLISH over RESP to Redis.  Every message is numbered per connection
 * and channel, and the number is made visible in shared memory before the
 * message is written, so a subscriber knows what it is owed.
 */


#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include "wsb.h"


#define WSB_PUB_INBUF       65536
#define WSB_PUB_RETRIES     20


typedef struct {
    uint32_t             chan;
    uint32_t             seq;
    uint32_t             len;        /* chat: bytes of the data object */
    uint64_t             ts;
    int                  epoch;
} wsb_flight_t;


typedef struct {
    int                  fd;
    int                  id;
    int                  failures;
    uint32_t             head;       /* oldest request not answered */
    uint32_t             count;
    wsb_flight_t        *ring;
    unsigned char       *out;
    size_t               out_len;
    size_t               out_pos;
    size_t               out_size;
    unsigned char       *in;
    size_t               in_len;
} wsb_pconn_t;


struct wsb_pub_s {
    wsb_conf_t          *cf;
    wsb_shared_t        *sh;
    wsb_stats_t         *st;
    int                  ep;
    int                  redis;
    int                  chat;
    int                  next_conn;
    uint64_t             rng;
    uint32_t             next_chan;
    long                 digest_chan;
    double               credit;
    uint64_t             last;
    uint64_t             retried;
    uint64_t             behind;
    wsb_url_t            url;
    char               **paths;
    unsigned char       *payload;
    wsb_sha1_t           digest;
    wsb_pconn_t          conns[WSB_MAX_PUBS];
    int                  last_status;
};


static int wsb_pconn_connect(wsb_pub_t *p, wsb_pconn_t *c);
static int wsb_pconn_write(wsb_pub_t *p, wsb_pconn_t *c);
static void wsb_pconn_read(wsb_pub_t *p, wsb_pconn_t *c, uint64_t now);
static void wsb_pconn_reset(wsb_pub_t *p, wsb_pconn_t *c);


wsb_pub_t *
wsb_pub_create(wsb_conf_t *cf, wsb_shared_t *sh, wsb_stats_t *st)
{
    int           i;
    char          path[512], url[160];
    wsb_pub_t    *p;
    wsb_pconn_t  *c;

    p = calloc(1, sizeof(wsb_pub_t));
    if (p == NULL) {
        return NULL;
    }

    p->cf = cf;
    p->sh = sh;
    p->st = st;
    p->redis = cf->redis[0] != '\0';
    p->chat = strcmp(cf->kind, "chat") == 0;
    p->rng = 0x5851f42d4c957f2dULL ^ sh->run_id;
    p->digest_chan = cf->digest_channel[0] ? atol(cf->digest_channel) : -1;
    wsb_sha1_init(&p->digest);

    p->ep = epoll_create1(EPOLL_CLOEXEC);
    p->payload = malloc((size_t) cf->payload);
    p->paths = calloc((size_t) cf->channels, sizeof(char *));

    if (p->ep == -1 || p->payload == NULL || p->paths == NULL) {
        goto failed;
    }

    if (p->redis) {
        snprintf(url, sizeof(url), "redis://%s", cf->redis);
        if (wsb_url_parse(&p->url, url, "redis") != 0) {
            goto failed;
        }

    } else if (wsb_url_parse(&p->url, cf->pub_url, "http") != 0) {
        goto failed;
    }

    for (i = 0; i < cf->channels; i++) {
        if (p->chat
            ? wsb_chat_path(cf, path, sizeof(path), p->url.path, i) == 0
            : wsb_url_path(path, sizeof(path),
                           p->redis ? cf->redis_channel : p->url.path, i, i)
              == 0)
        {
            goto failed;
        }

        p->paths[i] = strdup(path);
        if (p->paths[i] == NULL) {
            goto failed;
        }
    }

    for (i = 0; i < cf->pub_conns; i++) {
        c = &p->conns[i];
        c->fd = -1;
        c->id = i;
        c->ring = calloc((size_t) cf->pipeline, sizeof(wsb_flight_t));
        c->in = malloc(WSB_PUB_INBUF);
        c->out_size = (size_t) cf->pipeline * ((size_t) cf->payload + 600);
        c->out = malloc(c->out_size);

        if (c->ring == NULL || c->in == NULL || c->out == NULL) {
            goto failed;
        }

        if (wsb_pconn_connect(p, c) != 0) {
            fprintf(stderr, "wsbench: cannot connect the publisher to %s\n",
                    p->url.hostport);
            goto failed;
        }
    }

    p->last = wsb_now();

    return p;

failed:

    wsb_pub_destroy(p);

    return NULL;
}


void
wsb_pub_destroy(wsb_pub_t *p)
{
    int  i;

    for (i = 0; i < WSB_MAX_PUBS; i++) {
        if (p->conns[i].fd != -1 && p->conns[i].ring) {
            close(p->conns[i].fd);
        }
        free(p->conns[i].ring);
        free(p->conns[i].in);
        free(p->conns[i].out);
    }

    if (p->paths) {
        for (i = 0; i < p->cf->channels; i++) {
            free(p->paths[i]);
        }
        free(p->paths);
    }

    if (p->ep != -1) {
        close(p->ep);
    }

    free(p->payload);
    free(p);
}


static int
wsb_pconn_connect(wsb_pub_t *p, wsb_pconn_t *c)
{
    int                 fd, one;
    struct timeval      tv;
    struct epoll_event  ev;

    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd == -1) {
        return -1;
    }

    tv.tv_sec = 2;
    tv.tv_usec = 0;
    (void) setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));

    one = 1;
    (void) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

    if (connect(fd, (struct sockaddr *) &p->url.addr, sizeof(p->url.addr))
        != 0)
    {
        close(fd);
        return -1;
    }

    ev.events = EPOLLIN;
    ev.data.ptr = c;

    if (epoll_ctl(p->ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
        close(fd);
        return -1;
    }

    c->fd = fd;
    c->in_len = 0;
    c->out_len = 0;
    c->out_pos = 0;

    return 0;
}


/* appends one request for flight f to c's output */
static void
wsb_pconn_request(wsb_pub_t *p, wsb_pconn_t *c, wsb_flight_t *f)
{
    int            n;
    size_t         len, room;
    const char    *path;
    unsigned char *o;

    len = (size_t) p->cf->payload;
    path = p->paths[f->chan];

    (void) wsb_payload_make(p->payload, len, p->sh->run_id, f->epoch, c->id,
                            f->seq, f->ts);

    if (p->chat) {
        memcpy(p->payload + len - WSB_HDR_LEN, p->payload, WSB_HDR_LEN);
        len = wsb_chat_body(p->cf, p->payload, len - WSB_HDR_LEN, f->chan,
                            f->len, p->payload + len - WSB_HDR_LEN);

    } else if (p->cf->payload_text) {
        wsb_payload_text(p->payload + WSB_HDR_LEN, len - WSB_HDR_LEN, f->seq);
    }

    o = c->out + c->out_len;
    room = c->out_size - c->out_len;

    if (p->redis) {
        n = snprintf((char *) o, room,
                     "*3\r\n$7\r\nPUBLISH\r\n$%zu\r\n%s\r\n$%zu\r\n",
                     strlen(path), path, len);
    } else {
        n = snprintf((char *) o, room,
                     "POST %s HTTP/1.1\r\nHost: %s\r\n"
                     "Content-Length: %zu\r\n\r\n",
                     path, p->url.hostport, len);
    }

    memcpy(o + n, p->payload, len);
    n += (int) len;

    if (p->redis) {
        o[n++] = '\r';
        o[n++] = '\n';
    }

    c->out_len += (size_t) n;
}


static uint64_t
wsb_pub_rand(wsb_pub_t *p)
{
    p->rng ^= p->rng << 13;
    p->rng ^= p->rng >> 7;
    p->rng ^= p->rng << 17;

    return p->rng;
}


/* chat: user_share of the messages to a user, the rest to a room */
static uint32_t
wsb_pub_target(wsb_pub_t *p)
{
    uint64_t  r;

    r = wsb_pub_rand(p);

    if ((double) (r % 10000) < p->cf->user_share * 10000) {
        return (uint32_t) (p->cf->rooms + (r >> 16) % (uint64_t) p->cf->users);
    }

    return (uint32_t) ((r >> 16) % (uint64_t) p->cf->rooms);
}


static void
wsb_pub_issue(wsb_pub_t *p, wsb_pconn_t *c, int epoch, uint64_t now)
{
    uint32_t       chan, *seq;
    wsb_flight_t  *f;
    unsigned char  be[4];

    chan = p->chat ? wsb_pub_target(p)
                   : p->next_chan++ % (uint32_t) p->cf->channels;
    seq = &p->sh->seq[c->id * p->sh->nchannels + chan];

    f = &c->ring[(c->head + c->count) % (uint32_t) p->cf->pipeline];
    f->chan = chan;
    f->seq = *seq;
    f->ts = now;
    f->epoch = epoch;
    f->len = p->chat ? (uint32_t) wsb_chat_size(wsb_pub_rand(p),
                                                p->cf->msg_min,
                                                p->cf->msg_max)
                     : 0;
    c->count++;

    /* visible to subscribers before the bytes leave */
    __atomic_store_n(seq, f->seq + 1, __ATOMIC_RELEASE);

    wsb_pconn_request(p, c, f);

    if (p->chat && chan >= (uint32_t) p->cf->rooms) {
        p->st->chat.to_users++;
    }

    if ((long) chan == p->digest_chan) {
        wsb_sha1_update(&p->digest, p->payload, (size_t) p->cf->payload);
        be[0] = (unsigned char) ((uint32_t) p->cf->payload >> 24);
        be[1] = (unsigned char) ((uint32_t) p->cf->payload >> 16);
        be[2] = (unsigned char) ((uint32_t) p->cf->payload >> 8);
        be[3] = (unsigned char) p->cf->payload;
        wsb_sha1_update(&p->digest, be, 4);
        p->st->digest_count++;
    }

    p->st->ep[epoch].published++;
}


/*
 * Issues what is due at rate (messages per second) since the last call,
 * then waits up to timeout_ms for answers.
 */
void
wsb_pub_step(wsb_pub_t *p, double rate, int epoch, int timeout_ms)
{
    int                 i, n, k, full;
    uint64_t            now;
    wsb_pconn_t        *c;
    struct epoll_event  ev[WSB_MAX_PUBS];

    now = wsb_now();
    p->credit += rate * (double) (now - p->last) / WSB_NS;
    p->last = now;

    full = 0;

    while (p->credit >= 1.0 && full < p->cf->pub_conns) {
        c = &p->conns[p->next_conn++ % p->cf->pub_conns];

        if (c->fd == -1 || c->count >= (uint32_t) p->cf->pipeline) {
            full++;
            continue;
        }

        full = 0;
        wsb_pub_issue(p, c, epoch, wsb_wall());
        p->credit -= 1.0;
    }

    /* a server that cannot keep up does not get a burst later */
    if (p->credit > rate / 10 + 1) {
        p->behind += (uint64_t) (p->credit - rate / 10 - 1);
        p->credit = rate / 10 + 1;
    }

    for (i = 0; i < p->cf->pub_conns; i++) {
        c = &p->conns[i];
        if (c->fd != -1 && c->out_pos < c->out_len) {
            if (wsb_pconn_write(p, c) != 0) {
                wsb_pconn_reset(p, c);
            }
        }
    }

    n = epoll_wait(p->ep, ev, WSB_MAX_PUBS, timeout_ms);
    now = wsb_wall();

    for (k = 0; k < n; k++) {
        wsb_pconn_read(p, ev[k].data.ptr, now);
    }
}


uint64_t
wsb_pub_inflight(wsb_pub_t *p)
{
    int       i;
    uint64_t  n;

    n = 0;

    for (i = 0; i < p->cf->pub_conns; i++) {
        n += p->conns[i].count;
    }

    return n;
}


void
wsb_pub_totals(wsb_pub_t *p, uint64_t *retried, uint64_t *behind,
    int *last_status)
{
    *retried = p->retried;
    *behind = p->behind;
    *last_status = p->last_status;

    if (p->digest_chan >= 0) {
        wsb_sha1_final(&p->digest, p->st->digest);
        p->st->digest_subs = 1;
        p->digest_chan = -1;
    }
}


static int
wsb_pconn_write(wsb_pub_t *p, wsb_pconn_t *c)
{
    ssize_t  n;

    (void) p;

    while (c->out_pos < c->out_len) {
        n = send(c->fd, c->out + c->out_pos, c->out_len - c->out_pos,
                 MSG_NOSIGNAL);
        if (n <= 0) {
            return -1;
        }
        c->out_pos += (size_t) n;
    }

    c->out_pos = 0;
    c->out_len = 0;

    return 0;
}


/*
 * The connection broke: what was not answered goes again on a new one
 * (the server may have seen some of it: a repeat shows as a duplicate).
 */
static void
wsb_pconn_reset(wsb_pub_t *p, wsb_pconn_t *c)
{
    uint32_t       i;
    wsb_flight_t  *f;

    if (c->fd != -1) {
        close(c->fd);
        c->fd = -1;
    }

    c->out_len = 0;
    c->out_pos = 0;
    c->in_len = 0;

    if (++c->failures > WSB_PUB_RETRIES || wsb_pconn_connect(p, c) != 0) {
        for (i = 0; i < c->count; i++) {
            f = &c->ring[(c->head + i) % (uint32_t) p->cf->pipeline];
            p->st->ep[f->epoch].pub_errors++;
        }
        c->count = 0;
        c->fd = -1;
        return;
    }

    for (i = 0; i < c->count; i++) {
        wsb_pconn_request(p, c,
                          &c->ring[(c->head + i) % (uint32_t) p->cf->pipeline]);
        p->retried++;
    }
}


static void
wsb_pconn_answer(wsb_pub_t *p, wsb_pconn_t *c, int ok, uint64_t now)
{
    wsb_flight_t  *f;

    if (c->count == 0) {
        return;
    }

    f = &c->ring[c->head];
    c->head = (c->head + 1) % (uint32_t) p->cf->pipeline;
    c->count--;

    /* the publisher's slot keeps answer times in its "connect" histogram */
    wsb_hist_add(&p->st->connect, now > f->ts ? now - f->ts : 0);

    if (ok) {
        c->failures = 0;

    } else {
        p->st->ep[f->epoch].pub_errors++;
    }
}


/* bytes of one complete chunked body at p, 0 if incomplete, -1 if bad */
static long
wsb_chunked(const unsigned char *p, size_t len)
{
    char    *end;
    size_t   pos;
    long     size;

    pos = 0;

    for ( ;; ) {
        if (pos >= len || memchr(p + pos, '\n', len - pos) == NULL) {
            return 0;
        }

        size = strtol((const char *) p + pos, &end, 16);
        if (size < 0 || end == (const char *) p + pos) {
            return -1;
        }

        pos = (size_t) ((const unsigned char *)
                        memchr(p + pos, '\n', len - pos) - p) + 1;

        if (size == 0) {
            return pos + 2 <= len ? (long) pos + 2 : 0;
        }

        pos += (size_t) size + 2;
    }
}


/*
 * One HTTP answer at in: its length, 0 if incomplete, -1 if bad.  The
 * header names are compared at the start of each line only, so that the
 * tool's cost per answer does not grow with the server's headers faster
 * than their bytes.
 */
static long
wsb_http_answer(wsb_pub_t *p, const unsigned char *in, size_t len, int *ok,
    int *close)
{
    long         body, hlen;
    size_t       vlen;
    const char  *end, *v;

    end = memmem(in, len, "\r\n\r\n", 4);
    if (end == NULL) {
        return len == WSB_PUB_INBUF ? -1 : 0;
    }

    if (len < 12 || memcmp(in, "HTTP/1.", 7) != 0) {
        return -1;
    }

    hlen = end + 4 - (const char *) in;
    p->last_status = atoi((const char *) in + 9);
    *ok = p->last_status >= 200 && p->last_status < 300;

    v = wsb_header((const char *) in, (size_t) hlen, "Connection", &vlen);
    *close = v != NULL && vlen == 5 && strncasecmp(v, "close", 5) == 0;

    v = wsb_header((const char *) in, (size_t) hlen, "Content-Length", &vlen);
    if (v) {
        body = atol(v);
        return (size_t) (hlen + body) <= len ? hlen + body : 0;
    }

    v = wsb_header((const char *) in, (size_t) hlen, "Transfer-Encoding",
                   &vlen);
    if (v != NULL && vlen == 7 && strncasecmp(v, "chunked", 7) == 0) {
        body = wsb_chunked(in + hlen, len - (size_t) hlen);
        return body > 0 ? hlen + body : body;
    }

    return hlen;
}


/* one RESP reply line at in ("+", "-" or ":"): its length, or 0 */
static long
wsb_redis_answer(const unsigned char *in, size_t len, int *ok)
{
    const unsigned char  *nl;

    nl = memchr(in, '\n', len);
    if (nl == NULL) {
        return len == WSB_PUB_INBUF ? -1 : 0;
    }

    *ok = in[0] == ':' || in[0] == '+';

    return nl + 1 - in;
}


static void
wsb_pconn_read(wsb_pub_t *p, wsb_pconn_t *c, uint64_t now)
{
    int      ok, close;
    long     n;
    size_t   used;
    ssize_t  r;

    r = recv(c->fd, c->in + c->in_len, WSB_PUB_INBUF - c->in_len, 0);
    if (r <= 0) {
        if (r == -1 && errno == EAGAIN) {
            return;
        }
        wsb_pconn_reset(p, c);
        return;
    }

    c->in_len += (size_t) r;

    /* the answers a read brought, then what is left moved up once */
    for (used = 0; /* void */; used += (size_t) n) {
        close = 0;
        n = p->redis ? wsb_redis_answer(c->in + used, c->in_len - used, &ok)
                     : wsb_http_answer(p, c->in + used, c->in_len - used,
                                       &ok, &close);

        if (n < 0) {
            wsb_pconn_reset(p, c);
            return;
        }

        if (n == 0) {
            break;
        }

        wsb_pconn_answer(p, c, ok, now);

        if (close) {
            wsb_pconn_reset(p, c);
            return;
        }
    }

    if (used) {
        memmove(c->in, c->in + used, c->in_len - used);
        c->in_len -= used;
    }
}
