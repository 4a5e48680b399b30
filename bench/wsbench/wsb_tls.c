
/*
 * Copyright (C) ngx_ws_perf_module authors
 */


/*
 * wss:// subscribers: OpenSSL over the same non-blocking sockets and the
 * same epoll loop.  The socket BIO is replaced by one that reads with
 * recvmsg() and keeps the kernel's arrival time of what it read, so that
 * latency over TLS is measured the way it is in the clear: from the
 * segment's arrival, not from when the tool got round to decrypting it.
 * The certificate is not verified: the servers are on loopback with
 * self-signed certificates, and what is measured is the cost of the
 * encryption, not of a PKI.
 */


#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include "wsb.h"


struct wsb_tls_s {
    SSL                 *ssl;
    int                  fd;
    int                  broken;     /* a write that must not be retried */
    uint64_t             rx;         /* arrival of the last bytes read */
};


static int wsb_bio_read(BIO *b, char *buf, int len);
static int wsb_bio_write(BIO *b, const char *buf, int len);
static long wsb_bio_ctrl(BIO *b, int cmd, long num, void *ptr);
static int wsb_bio_create(BIO *b);


static BIO_METHOD  *wsb_bio_method;


/* once per process, before the subscriber processes are forked */
int
wsb_tls_init(void)
{
    BIO_METHOD  *m;

    if (wsb_bio_method) {
        return 0;
    }

    if (OPENSSL_init_ssl(0, NULL) == 0) {
        return -1;
    }

    m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "wsbench");
    if (m == NULL) {
        return -1;
    }

    if (BIO_meth_set_read(m, wsb_bio_read) == 0
        || BIO_meth_set_write(m, wsb_bio_write) == 0
        || BIO_meth_set_ctrl(m, wsb_bio_ctrl) == 0
        || BIO_meth_set_create(m, wsb_bio_create) == 0)
    {
        BIO_meth_free(m);
        return -1;
    }

    wsb_bio_method = m;

    return 0;
}


/* one per subscriber thread: no locking between threads */
void *
wsb_tls_ctx(void)
{
    SSL_CTX  *ctx;

    ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL) {
        return NULL;
    }

    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);

    /* a peer's EOF without close_notify reads as an EOF, as recv() has it */
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);

    /* one recvmsg() for many records, not two (header, body) for each */
    SSL_CTX_set_read_ahead(ctx, 1);

    SSL_CTX_set_mode(ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);

    return ctx;
}


void
wsb_tls_ctx_free(void *ctx)
{
    SSL_CTX_free(ctx);
}


wsb_tls_t *
wsb_tls_new(void *ctx, int fd)
{
    BIO        *b;
    wsb_tls_t  *c;

    c = calloc(1, sizeof(wsb_tls_t));
    if (c == NULL) {
        return NULL;
    }

    c->fd = fd;

    c->ssl = SSL_new(ctx);
    if (c->ssl == NULL) {
        goto failed;
    }

    b = BIO_new(wsb_bio_method);
    if (b == NULL) {
        goto failed;
    }

    BIO_set_data(b, c);
    SSL_set_bio(c->ssl, b, b);
    SSL_set_connect_state(c->ssl);

    return c;

failed:

    SSL_free(c->ssl);
    free(c);

    return NULL;
}


/* WSB_TLS_DONE, WSB_TLS_WANT_READ, WSB_TLS_WANT_WRITE or WSB_TLS_ERROR */
int
wsb_tls_handshake(wsb_tls_t *c)
{
    int  rc;

    ERR_clear_error();
    errno = 0;

    rc = SSL_do_handshake(c->ssl);
    if (rc == 1) {
        return WSB_TLS_DONE;
    }

    switch (SSL_get_error(c->ssl, rc)) {

    case SSL_ERROR_WANT_READ:
        return WSB_TLS_WANT_READ;

    case SSL_ERROR_WANT_WRITE:
        return WSB_TLS_WANT_WRITE;

    default:
        return WSB_TLS_ERROR;
    }
}


/*
 * recv(): bytes, 0 at the peer's end, -1 with errno (EAGAIN: nothing more
 * now); *rx is the arrival time of the last segment read, 0 if unknown
 */
ssize_t
wsb_tls_recv(wsb_tls_t *c, void *buf, size_t len, uint64_t *rx)
{
    int  n;

    if (c->broken) {
        errno = EPIPE;
        return -1;
    }

    if (len > 0x40000000) {
        len = 0x40000000;
    }

    ERR_clear_error();
    errno = 0;

    n = SSL_read(c->ssl, buf, (int) len);
    if (n > 0) {
        *rx = c->rx;
        return n;
    }

    switch (SSL_get_error(c->ssl, n)) {

    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
        errno = EAGAIN;
        return -1;

    case SSL_ERROR_ZERO_RETURN:
        return 0;

    case SSL_ERROR_SYSCALL:
        if (errno == 0) {
            return 0;
        }
        return -1;

    default:
        errno = EPROTO;
        return -1;
    }
}


/*
 * send(): our writes are a few small frames (upgrade request, pongs,
 * closes, echo messages), so a full socket buffer is a failure, as it is
 * in the clear; unlike there, TLS would have to repeat the very same
 * write, so the connection is broken and its next read fails
 */
ssize_t
wsb_tls_send(wsb_tls_t *c, const void *buf, size_t len)
{
    int  n;

    if (c->broken || len > 0x40000000) {
        errno = EPIPE;
        return -1;
    }

    ERR_clear_error();
    errno = 0;

    n = SSL_write(c->ssl, buf, (int) len);
    if (n > 0) {
        return n;
    }

    c->broken = 1;

    if (errno == 0) {
        errno = EPROTO;
    }

    return -1;
}


/* decrypted or read-ahead bytes that epoll cannot see */
int
wsb_tls_pending(wsb_tls_t *c)
{
    return !c->broken && SSL_has_pending(c->ssl);
}


/* the reason of this thread's last OpenSSL error */
const char *
wsb_tls_why(void)
{
    const char  *why;

    why = ERR_reason_error_string(ERR_peek_last_error());

    return why ? why : "tls";
}


/* clean: the WebSocket close handshake is done, say close_notify too */
void
wsb_tls_free(wsb_tls_t *c, int clean)
{
    if (clean && !c->broken && SSL_is_init_finished(c->ssl)) {
        ERR_clear_error();
        (void) SSL_shutdown(c->ssl);
    }

    SSL_free(c->ssl);
    free(c);
}


static int
wsb_bio_read(BIO *b, char *buf, int len)
{
    ssize_t           n;
    wsb_tls_t        *c;
    struct iovec      iov;
    struct msghdr     mh;
    struct cmsghdr   *cm;
    struct timespec  *ts;
    union {
        struct cmsghdr   align;
        char             buf[CMSG_SPACE(sizeof(struct timespec))];
    } ctl;

    c = BIO_get_data(b);
    BIO_clear_retry_flags(b);

    iov.iov_base = buf;
    iov.iov_len = (size_t) len;
    memset(&mh, 0, sizeof(mh));
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = ctl.buf;
    mh.msg_controllen = sizeof(ctl.buf);

    n = recvmsg(c->fd, &mh, 0);

    if (n > 0) {
        for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
            if (cm->cmsg_level == SOL_SOCKET
                && cm->cmsg_type == SCM_TIMESTAMPNS)
            {
                ts = (struct timespec *) CMSG_DATA(cm);
                c->rx = (uint64_t) ts->tv_sec * WSB_NS
                        + (uint64_t) ts->tv_nsec;
            }
        }

        return (int) n;
    }

    if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
        BIO_set_retry_read(b);
    }

    return (int) n;
}


static int
wsb_bio_write(BIO *b, const char *buf, int len)
{
    ssize_t     n;
    wsb_tls_t  *c;

    c = BIO_get_data(b);
    BIO_clear_retry_flags(b);

    n = send(c->fd, buf, (size_t) len, MSG_NOSIGNAL);

    if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
        BIO_set_retry_write(b);
    }

    return (int) n;
}


static long
wsb_bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    (void) b;
    (void) num;
    (void) ptr;

    /* nothing is buffered here: a flush is done as soon as asked */
    return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}


static int
wsb_bio_create(BIO *b)
{
    BIO_set_init(b, 1);

    return 1;
}
