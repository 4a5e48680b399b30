
/*
 * Copyright (C) ngx_ws_perf_module authors
 */


/*
 * libFuzzer target of the frame parser.  The first input byte picks the
 * side (bit 0), a message size limit (bits 1-2) and how the rest is cut
 * into pieces (bits 3-7); each piece sits in a buffer of its own exact
 * size so a read past "last" trips AddressSanitizer.  The same input is
 * also parsed whole, and both runs must log the same events; every
 * message and control frame parsed is encoded again and parsed back.
 */


#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "ngx_ws_perf_frame.h"


#define FUZZ_CHECK(expr)                                                     \
    if (!(expr)) {                                                           \
        fuzz_fail(#expr, __LINE__);                                          \
    }


typedef struct {
    uint8_t                     *data;
    size_t                       len;
    size_t                       size;
} fuzz_buf_t;


typedef struct {
    ngx_ws_perf_frame_parser_t   parser;
    int                          server;
    int                          failed;
    int                          in_frame;
    uint64_t                     frame_sum;  /* DATA bytes of this frame */
    fuzz_buf_t                   message;    /* the data message so far */
    fuzz_buf_t                   log;        /* events, to compare runs */
} fuzz_run_t;


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *__ubsan_default_options(void);

static void fuzz_fail(const char *expr, int line);
static void fuzz_buf_add(fuzz_buf_t *b, const void *data, size_t len);
static void fuzz_log(fuzz_run_t *r, unsigned type, uint64_t value,
    const void *data, size_t len);
static void fuzz_run(fuzz_run_t *r, const uint8_t *in, size_t len,
    unsigned pattern);
static void fuzz_feed(fuzz_run_t *r, const uint8_t *in, size_t len);
static void fuzz_header(fuzz_run_t *r);
static void fuzz_data(fuzz_run_t *r, uint8_t *prev, uint8_t *pos);
static void fuzz_end(fuzz_run_t *r);
static void fuzz_error(fuzz_run_t *r, uint8_t **pos, uint8_t *last);
static void fuzz_round_trip(int server, unsigned opcode, const uint8_t *data,
    size_t len, unsigned close_code);


static const uint64_t  fuzz_max_message[4] = { 0, 16, 300, 70000 };


/* make any undefined behaviour fail the run, not just print a line */

const char *
__ubsan_default_options(void)
{
    return "halt_on_error=1:print_stacktrace=1";
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned     mode;
    fuzz_run_t   split, whole;

    if (size == 0) {
        return 0;
    }

    mode = data[0];
    data++;
    size--;

    memset(&split, 0, sizeof(fuzz_run_t));
    memset(&whole, 0, sizeof(fuzz_run_t));

    split.server = mode & 1;
    whole.server = mode & 1;

    ngx_ws_perf_frame_parser_init(&split.parser,
                                  fuzz_max_message[(mode >> 1) & 3],
                                  split.server);
    ngx_ws_perf_frame_parser_init(&whole.parser,
                                  fuzz_max_message[(mode >> 1) & 3],
                                  whole.server);

    fuzz_run(&split, data, size, mode >> 3);
    fuzz_run(&whole, data, size, 0);

    FUZZ_CHECK(split.log.len == whole.log.len);
    FUZZ_CHECK(split.log.len == 0
               || memcmp(split.log.data, whole.log.data, split.log.len) == 0);

    free(split.message.data);
    free(split.log.data);
    free(whole.message.data);
    free(whole.log.data);

    return 0;
}


static void
fuzz_fail(const char *expr, int line)
{
    (void) expr;
    (void) line;

    __builtin_trap();
}


static void
fuzz_buf_add(fuzz_buf_t *b, const void *data, size_t len)
{
    size_t    size;
    uint8_t  *p;

    if (len == 0) {
        return;
    }

    if (b->len + len > b->size) {
        size = b->size ? 2 * b->size : 256;

        while (size < b->len + len) {
            size *= 2;
        }

        p = realloc(b->data, size);
        if (p == NULL) {
            abort();
        }

        b->data = p;
        b->size = size;
    }

    memcpy(b->data + b->len, data, len);
    b->len += len;
}


static void
fuzz_log(fuzz_run_t *r, unsigned type, uint64_t value, const void *data,
    size_t len)
{
    uint8_t   rec[1 + 8 + 8];
    uint64_t  n;

    n = len;
    rec[0] = (uint8_t) type;
    memcpy(rec + 1, &value, 8);
    memcpy(rec + 9, &n, 8);

    fuzz_buf_add(&r->log, rec, sizeof(rec));
    fuzz_buf_add(&r->log, data, len);
}


/* pattern 0: all at once, 1: a byte at a time, else pseudo-random cuts */

static void
fuzz_run(fuzz_run_t *r, const uint8_t *in, size_t len, unsigned pattern)
{
    size_t    n, off;
    uint32_t  x;

    x = pattern * 2654435761u + 1;

    for (off = 0; off < len && !r->failed; off += n) {

        if (pattern == 0) {
            n = len;

        } else if (pattern == 1) {
            n = 1;

        } else {
            x = x * 1103515245u + 12345;
            n = 1 + (x >> 16) % (3 * pattern);
        }

        if (n > len - off) {
            n = len - off;
        }

        fuzz_feed(r, in + off, n);
    }
}


static void
fuzz_feed(fuzz_run_t *r, const uint8_t *in, size_t len)
{
    uint8_t                 *buf, *pos, *last, *prev;
    ngx_ws_perf_frame_rc_e   rc;

    buf = malloc(len ? len : 1);
    if (buf == NULL) {
        abort();
    }

    memcpy(buf, in, len);

    pos = buf;
    last = buf + len;

    for ( ;; ) {
        prev = pos;
        rc = ngx_ws_perf_frame_parse(&r->parser, &pos, last);

        FUZZ_CHECK(pos >= prev && pos <= last);

        if (rc == NGX_WS_PERF_FRAME_AGAIN) {
            FUZZ_CHECK(pos == last);
            break;
        }

        if (rc == NGX_WS_PERF_FRAME_HEADER) {
            FUZZ_CHECK(pos > prev);
            fuzz_header(r);

        } else if (rc == NGX_WS_PERF_FRAME_DATA) {
            fuzz_data(r, prev, pos);

        } else if (rc == NGX_WS_PERF_FRAME_END) {
            fuzz_end(r);

        } else {
            FUZZ_CHECK(rc == NGX_WS_PERF_FRAME_ERROR);
            fuzz_error(r, &pos, last);
            break;
        }
    }

    free(buf);
}


static void
fuzz_header(fuzz_run_t *r)
{
    ngx_ws_perf_frame_parser_t  *p;

    p = &r->parser;

    FUZZ_CHECK(!r->in_frame);
    FUZZ_CHECK(p->opcode <= 2 || (p->opcode >= 8 && p->opcode <= 0xa));
    FUZZ_CHECK(!(p->length >> 63));

    if (p->opcode & 0x08) {
        FUZZ_CHECK(p->fin && p->length <= NGX_WS_PERF_CONTROL_MAX);

    } else {
        FUZZ_CHECK(p->msg_opcode == NGX_WS_PERF_OP_TEXT
                   || p->msg_opcode == NGX_WS_PERF_OP_BINARY);
        FUZZ_CHECK(p->opcode == NGX_WS_PERF_OP_CONT
                   || p->opcode == p->msg_opcode);
        FUZZ_CHECK(p->msg_length == r->message.len);
        FUZZ_CHECK(p->max_message == 0
                   || p->msg_length + p->length <= p->max_message);

        if (p->opcode != NGX_WS_PERF_OP_CONT) {
            FUZZ_CHECK(r->message.len == 0);
        }
    }

    r->in_frame = 1;
    r->frame_sum = 0;

    fuzz_log(r, 'H', ((uint64_t) p->opcode << 8 | p->fin), &p->length, 8);
}


static void
fuzz_data(fuzz_run_t *r, uint8_t *prev, uint8_t *pos)
{
    ngx_ws_perf_frame_parser_t  *p;

    p = &r->parser;

    FUZZ_CHECK(r->in_frame && !(p->opcode & 0x08));
    FUZZ_CHECK(p->data_len > 0);
    FUZZ_CHECK(p->data >= prev && p->data + p->data_len <= pos);
    FUZZ_CHECK(r->frame_sum + p->data_len <= p->length);

    r->frame_sum += p->data_len;
    fuzz_buf_add(&r->message, p->data, p->data_len);

    FUZZ_CHECK(p->msg_length == r->message.len);
}


static void
fuzz_end(fuzz_run_t *r)
{
    uint32_t                     state;
    ngx_ws_perf_frame_parser_t  *p;

    p = &r->parser;

    FUZZ_CHECK(r->in_frame);
    r->in_frame = 0;

    if (p->opcode & 0x08) {
        FUZZ_CHECK(p->data_len == p->length);
        FUZZ_CHECK(p->data_len <= NGX_WS_PERF_CONTROL_MAX);
        FUZZ_CHECK(p->data_len == 0 || p->data != NULL);

        if (p->opcode == NGX_WS_PERF_OP_CLOSE) {
            FUZZ_CHECK((p->data_len == 0) == (p->close_code == 0));
            FUZZ_CHECK(p->close_code == 0
                       || ngx_ws_perf_close_code_valid(p->close_code));
        }

        fuzz_log(r, 'C', (uint64_t) p->opcode << 16 | p->close_code,
                 p->data, p->data_len);
        fuzz_round_trip(r->server, p->opcode, p->data, p->data_len,
                        p->close_code);
        return;
    }

    FUZZ_CHECK(r->frame_sum == p->length);
    FUZZ_CHECK(p->msg_length == r->message.len);

    if (!p->fin) {
        return;
    }

    if (p->msg_opcode == NGX_WS_PERF_OP_TEXT) {
        state = 0;
        FUZZ_CHECK(ngx_ws_perf_utf8_validate(&state, r->message.data,
                                             r->message.len)
                   == NGX_WS_PERF_UTF8_OK);
    }

    fuzz_log(r, 'M', p->msg_opcode, r->message.data, r->message.len);
    fuzz_round_trip(r->server, p->msg_opcode, r->message.data,
                    r->message.len, 0);

    r->message.len = 0;
}


static void
fuzz_error(fuzz_run_t *r, uint8_t **pos, uint8_t *last)
{
    ngx_ws_perf_frame_parser_t  *p;

    p = &r->parser;

    FUZZ_CHECK(p->close_code == NGX_WS_PERF_CLOSE_PROTOCOL
               || p->close_code == NGX_WS_PERF_CLOSE_BAD_DATA
               || p->close_code == NGX_WS_PERF_CLOSE_TOO_BIG);
    FUZZ_CHECK(p->error != NULL && p->error[0] != '\0');

    if (p->close_code == NGX_WS_PERF_CLOSE_TOO_BIG) {
        FUZZ_CHECK(p->max_message != 0);
    }

    r->failed = 1;

    fuzz_log(r, 'X', p->close_code, p->error, strlen(p->error));

    /* the caller must stop here; a parser called anyway stays failed */
    FUZZ_CHECK(ngx_ws_perf_frame_parse(p, pos, last)
               == NGX_WS_PERF_FRAME_ERROR);
}


/*
 * Encodes what was parsed as the peer would send it, fragments a data
 * message in up to three frames, and expects it back unchanged.
 */

static void
fuzz_round_trip(int server, unsigned opcode, const uint8_t *data, size_t len,
    unsigned close_code)
{
    int                          ended;
    size_t                       i, n, off, cut[3], total, hlen;
    uint8_t                     *buf, *pos, *last, mask[4];
    unsigned                     frames;
    fuzz_buf_t                   got;
    ngx_ws_perf_frame_parser_t   p;
    ngx_ws_perf_frame_rc_e       rc;

    frames = (opcode & 0x08) ? 1 : 1 + len % 3;

    cut[0] = 0;
    cut[1] = (frames > 1) ? len / 3 : len;
    cut[2] = (frames > 2) ? len - len / 5 : len;

    mask[0] = (uint8_t) len;
    mask[1] = (uint8_t) (opcode * 37);
    mask[2] = 0xa5;
    mask[3] = (uint8_t) (len >> 8);

    buf = malloc(frames * NGX_WS_PERF_FRAME_HEADER_MAX + len);
    if (buf == NULL) {
        abort();
    }

    total = 0;

    for (i = 0; i < frames; i++) {
        off = cut[i];
        n = ((i + 1 < frames) ? cut[i + 1] : len) - off;

        hlen = ngx_ws_perf_frame_encode_header(buf + total, i ? 0 : opcode,
                                               i + 1 == frames, n,
                                               server ? mask : NULL);

        FUZZ_CHECK(hlen == ngx_ws_perf_frame_header_size(n, server));
        total += hlen;

        if (n) {
            memcpy(buf + total, data + off, n);
        }

        if (server) {
            ngx_ws_perf_frame_mask(buf + total, n, mask, 0);
        }

        total += n;
    }

    memset(&got, 0, sizeof(fuzz_buf_t));
    ngx_ws_perf_frame_parser_init(&p, 0, server);

    pos = buf;
    last = buf + total;
    ended = 0;

    do {
        rc = ngx_ws_perf_frame_parse(&p, &pos, last);

        FUZZ_CHECK(rc != NGX_WS_PERF_FRAME_ERROR);

        if (rc == NGX_WS_PERF_FRAME_DATA) {
            fuzz_buf_add(&got, p.data, p.data_len);

        } else if (rc == NGX_WS_PERF_FRAME_END && (opcode & 0x08)) {
            fuzz_buf_add(&got, p.data, p.data_len);
            FUZZ_CHECK(p.opcode == opcode && p.close_code == close_code);
            ended++;

        } else if (rc == NGX_WS_PERF_FRAME_END && p.fin) {
            FUZZ_CHECK(p.msg_opcode == opcode && p.msg_length == len);
            ended++;
        }

    } while (rc != NGX_WS_PERF_FRAME_AGAIN);

    FUZZ_CHECK(ended == 1);
    FUZZ_CHECK(got.len == len);
    FUZZ_CHECK(len == 0 || memcmp(got.data, data, len) == 0);

    free(got.data);
    free(buf);
}
