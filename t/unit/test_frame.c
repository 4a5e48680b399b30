
/*
 * Copyright (C) ngx_ws_perf_module authors
 */


/*
 * Unit tests of the frame codec.  Every parser case is run on the whole
 * input at once, in fixed steps and split at every byte boundary, each
 * piece in a buffer of its own exact size, so a read past "last" trips
 * AddressSanitizer; all the runs must produce the same trace.
 */


#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ngx_ws_perf_frame.h"


/* inputs up to this size are also split at every byte boundary */
#define TEST_SPLIT_MAX  4096

#define TEST_PROTOCOL   NGX_WS_PERF_CLOSE_PROTOCOL
#define TEST_BAD_DATA   NGX_WS_PERF_CLOSE_BAD_DATA
#define TEST_TOO_BIG    NGX_WS_PERF_CLOSE_TOO_BIG

#define TEST_OK         NGX_WS_PERF_UTF8_OK
#define TEST_INCOMPLETE NGX_WS_PERF_UTF8_INCOMPLETE
#define TEST_INVALID    NGX_WS_PERF_UTF8_INVALID

#define TEST_SERVER     1
#define TEST_CLIENT     0
#define TEST_DEFLATE    3   /* a server with permessage-deflate */

#define TEST_FIN        0x80


typedef struct {
    uint8_t           *data;
    size_t             len;
    size_t             size;
} test_buf_t;


typedef struct {
    test_buf_t         trace;
    test_buf_t         frame;      /* payload of the current data frame */
    size_t             delivered;  /* bytes handed out as DATA */
    int                data_ff;    /* a DATA chunk held a 0xff byte */
    int                failed;
} test_run_t;


typedef struct {
    const char        *bytes;
    size_t             len;
    int                rc;
} test_utf8_vector_t;


const char *__ubsan_default_options(void);
static void test_begin(const char *fmt, ...);
static void test_fail(const char *fmt, ...);
static void test_end(void);
static void test_buf_add(test_buf_t *b, const void *data, size_t len);
static void test_buf_printf(test_buf_t *b, const char *fmt, ...);
static void test_buf_escape(test_buf_t *b, const uint8_t *data, size_t len);
static const char *test_buf_str(test_buf_t *b);
static void test_put(test_buf_t *b, unsigned b0, const void *payload,
    size_t len, int masked);
static void test_put_header(test_buf_t *b, unsigned b0, uint64_t len,
    int masked);
static void test_put_bytes(test_buf_t *b, const char *bytes, size_t len);
static void test_feed(ngx_ws_perf_frame_parser_t *p, test_run_t *r,
    const uint8_t *in, size_t len);
static void test_event(ngx_ws_perf_frame_parser_t *p, test_run_t *r,
    ngx_ws_perf_frame_rc_e rc, uint8_t *buf, uint8_t *prev, uint8_t *pos,
    uint8_t *last);
static void test_parse(const test_buf_t *in, int server, uint64_t max,
    const size_t *cuts, size_t ncuts, test_run_t *r);
static void test_parse_step(const test_buf_t *in, int server, uint64_t max,
    size_t step, test_run_t *r);
static void test_run_free(test_run_t *r);
static void test_splits(const test_buf_t *in, int server, uint64_t max,
    const char *whole);
static void test_expect(const char *name, test_buf_t *in, int server,
    uint64_t max, const char *expect);
static void test_expect_error(const char *name, test_buf_t *in, int server,
    uint64_t max, unsigned code, const char *reason);
static void test_fill(uint8_t *buf, size_t len, unsigned seed);
static void test_fill_text(uint8_t *buf, size_t len);
static int test_utf8_ref(const uint8_t *s, size_t n);
static int test_utf8_split(const uint8_t *s, size_t n, size_t cut);

static void test_encode_header(void);
static void test_mask(void);
static void test_close_code_valid(void);
static void test_lengths(void);
static void test_masking_errors(void);
static void test_header_errors(void);
static void test_check_order(void);
static void test_compressed(void);
static void test_fragmentation(void);
static void test_message_state(void);
static void test_close(void);
static void test_too_big(void);
static void test_text(void);
static void test_utf8_vectors(void);
static void test_utf8_positions(void);
static void test_utf8_exhaustive(void);
static void test_round_trip(void);
static void test_mixed_stream(void);
static void test_sticky_error(void);


static unsigned        test_passed;
static unsigned        test_failed;
static int             test_bad;
static char            test_name[256];

static const uint8_t   test_key[4] = { 0x37, 0xfa, 0x21, 0x3d };


/* make any undefined behaviour fail the run, not just print a line */

const char *
__ubsan_default_options(void)
{
    return "halt_on_error=1:print_stacktrace=1";
}


int
main(void)
{
    test_encode_header();
    test_mask();
    test_close_code_valid();
    test_lengths();
    test_masking_errors();
    test_header_errors();
    test_check_order();
    test_compressed();
    test_fragmentation();
    test_message_state();
    test_close();
    test_too_big();
    test_text();
    test_utf8_vectors();
    test_utf8_positions();
    test_utf8_exhaustive();
    test_round_trip();
    test_mixed_stream();
    test_sticky_error();

    printf("%u passed, %u failed\n", test_passed, test_failed);

    return test_failed ? 1 : 0;
}


static void
test_begin(const char *fmt, ...)
{
    va_list  args;

    va_start(args, fmt);
    vsnprintf(test_name, sizeof(test_name), fmt, args);
    va_end(args);

    test_bad = 0;
}


static void
test_fail(const char *fmt, ...)
{
    va_list  args;

    /* one line per failed case: later complaints about it add nothing */
    if (test_bad) {
        return;
    }

    test_bad = 1;

    printf("FAIL %s: ", test_name);

    va_start(args, fmt);
    vprintf(fmt, args);
    va_end(args);

    printf("\n");
}


static void
test_end(void)
{
    if (test_bad) {
        test_failed++;

    } else {
        test_passed++;
    }
}


static void
test_buf_add(test_buf_t *b, const void *data, size_t len)
{
    size_t    size;
    uint8_t  *p;

    if (b->len + len > b->size) {
        size = b->size ? 2 * b->size : 256;

        while (size < b->len + len) {
            size *= 2;
        }

        p = realloc(b->data, size);
        if (p == NULL) {
            fprintf(stderr, "out of memory\n");
            exit(2);
        }

        b->data = p;
        b->size = size;
    }

    if (len) {
        memcpy(b->data + b->len, data, len);
        b->len += len;
    }
}


static void
test_buf_printf(test_buf_t *b, const char *fmt, ...)
{
    int      n;
    char     tmp[512];
    va_list  args;

    va_start(args, fmt);
    n = vsnprintf(tmp, sizeof(tmp), fmt, args);
    va_end(args);

    if (n > 0) {
        test_buf_add(b, tmp, strlen(tmp));
    }
}


/* printable bytes as they are, others as \xHH; long payloads as a hash */

static void
test_buf_escape(test_buf_t *b, const uint8_t *data, size_t len)
{
    size_t    i;
    uint32_t  h;

    if (len > 64) {
        h = 2166136261u;

        for (i = 0; i < len; i++) {
            h = (h ^ data[i]) * 16777619u;
        }

        test_buf_printf(b, "#%zu:%08x", len, (unsigned) h);
        return;
    }

    for (i = 0; i < len; i++) {
        if (data[i] >= 0x20 && data[i] < 0x7f
            && data[i] != '\'' && data[i] != '\\')
        {
            test_buf_add(b, &data[i], 1);

        } else {
            test_buf_printf(b, "\\x%02x", data[i]);
        }
    }
}


static const char *
test_buf_str(test_buf_t *b)
{
    test_buf_add(b, "", 1);
    b->len--;

    return (const char *) b->data;
}


/* b0 is the first header byte as sent, so RSV bits can be forged too */

static void
test_put(test_buf_t *b, unsigned b0, const void *payload, size_t len,
    int masked)
{
    size_t  off;

    test_put_header(b, b0, len, masked);

    off = b->len;
    test_buf_add(b, payload, len);

    if (masked) {
        ngx_ws_perf_frame_mask(b->data + off, len, test_key, 0);
    }
}


static void
test_put_header(test_buf_t *b, unsigned b0, uint64_t len, int masked)
{
    size_t   n;
    uint8_t  hdr[NGX_WS_PERF_FRAME_HEADER_MAX];

    n = ngx_ws_perf_frame_encode_header(hdr, b0 & 0x0f, b0 & 0x80, len,
                                        masked ? test_key : NULL);
    hdr[0] = (uint8_t) b0;

    test_buf_add(b, hdr, n);
}


static void
test_put_bytes(test_buf_t *b, const char *bytes, size_t len)
{
    test_buf_add(b, bytes, len);
}


/* parses one piece of input held in a buffer of exactly its size */

static void
test_feed(ngx_ws_perf_frame_parser_t *p, test_run_t *r, const uint8_t *in,
    size_t len)
{
    uint8_t                 *buf, *pos, *last, *prev;
    ngx_ws_perf_frame_rc_e   rc;

    if (r->failed) {
        return;
    }

    buf = malloc(len ? len : 1);
    if (buf == NULL) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }

    if (len) {
        memcpy(buf, in, len);
    }

    pos = buf;
    last = buf + len;

    do {
        prev = pos;
        rc = ngx_ws_perf_frame_parse(p, &pos, last);
        test_event(p, r, rc, buf, prev, pos, last);

    } while (rc != NGX_WS_PERF_FRAME_AGAIN && rc != NGX_WS_PERF_FRAME_ERROR);

    free(buf);
}


static void
test_event(ngx_ws_perf_frame_parser_t *p, test_run_t *r,
    ngx_ws_perf_frame_rc_e rc, uint8_t *buf, uint8_t *prev, uint8_t *pos,
    uint8_t *last)
{
    uint8_t  *q;

    if (pos < prev || pos > last) {
        test_buf_printf(&r->trace, "!pos ");
    }

    switch (rc) {

    case NGX_WS_PERF_FRAME_AGAIN:
        if (pos != last) {
            test_buf_printf(&r->trace, "!again ");
        }
        break;

    case NGX_WS_PERF_FRAME_HEADER:
        test_buf_printf(&r->trace, "H%x/%u/%llu ", p->opcode, p->fin,
                        (unsigned long long) p->length);
        r->frame.len = 0;

        if ((p->opcode & 0x08) && (!p->fin || p->length > 125)) {
            test_buf_printf(&r->trace, "!control ");
        }
        break;

    case NGX_WS_PERF_FRAME_DATA:
        if (p->data < buf || p->data_len == 0
            || p->data + p->data_len > pos || (p->opcode & 0x08))
        {
            test_buf_printf(&r->trace, "!data ");
            break;
        }

        test_buf_add(&r->frame, p->data, p->data_len);
        r->delivered += p->data_len;

        for (q = p->data; q < p->data + p->data_len; q++) {
            if (*q == 0xff) {
                r->data_ff = 1;
            }
        }
        break;

    case NGX_WS_PERF_FRAME_END:
        if (p->opcode & 0x08) {
            test_buf_printf(&r->trace, "C%x %u m%x/%llu '", p->opcode,
                            p->close_code, p->msg_opcode,
                            (unsigned long long) p->msg_length);
            test_buf_escape(&r->trace, p->data, p->data_len);

            if (p->data_len != p->length) {
                test_buf_printf(&r->trace, "!len");
            }

        } else {
            test_buf_printf(&r->trace, "E%x/%u m%x/%llu '", p->opcode,
                            p->fin, p->msg_opcode,
                            (unsigned long long) p->msg_length);
            test_buf_escape(&r->trace, r->frame.data, r->frame.len);

            if (r->frame.len != p->length) {
                test_buf_printf(&r->trace, "!len");
            }
        }

        test_buf_printf(&r->trace, "' ");
        break;

    default:
        test_buf_printf(&r->trace, "X%u %s", p->close_code,
                        p->error ? p->error : "(null)");
        r->failed = 1;
    }
}


static void
test_parse(const test_buf_t *in, int server, uint64_t max,
    const size_t *cuts, size_t ncuts, test_run_t *r)
{
    size_t                      i, from, to;
    ngx_ws_perf_frame_parser_t  p;

    memset(r, 0, sizeof(test_run_t));
    ngx_ws_perf_frame_parser_init(&p, max, server & 1);
    p.rsv1_ok = (server == TEST_DEFLATE);

    from = 0;

    for (i = 0; i <= ncuts; i++) {
        to = (i < ncuts) ? cuts[i] : in->len;
        test_feed(&p, r, in->data + from, to - from);
        from = to;
    }

    test_buf_str(&r->trace);
}


static void
test_parse_step(const test_buf_t *in, int server, uint64_t max, size_t step,
    test_run_t *r)
{
    size_t                      from, n;
    ngx_ws_perf_frame_parser_t  p;

    memset(r, 0, sizeof(test_run_t));
    ngx_ws_perf_frame_parser_init(&p, max, server & 1);
    p.rsv1_ok = (server == TEST_DEFLATE);

    for (from = 0; from < in->len; from += n) {
        n = in->len - from < step ? in->len - from : step;
        test_feed(&p, r, in->data + from, n);
    }

    test_buf_str(&r->trace);
}


static void
test_run_free(test_run_t *r)
{
    free(r->trace.data);
    free(r->frame.data);
}


/* every other way to cut the input must give the trace of the whole */

static void
test_splits(const test_buf_t *in, int server, uint64_t max,
    const char *whole)
{
    size_t          i, cut;
    test_run_t      r;
    static size_t   steps[] = { 1, 2, 3, 5, 7, 13, 64, 1000 };

    for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        test_parse_step(in, server, max, steps[i], &r);

        if (strcmp(test_buf_str(&r.trace), whole) != 0) {
            test_fail("step %zu gives \"%s\", whole gives \"%s\"",
                      steps[i], r.trace.data, whole);
        }

        test_run_free(&r);
    }

    if (in->len > TEST_SPLIT_MAX) {
        return;
    }

    for (cut = 1; cut < in->len; cut++) {
        test_parse(in, server, max, &cut, 1, &r);

        if (strcmp(test_buf_str(&r.trace), whole) != 0) {
            test_fail("cut at %zu gives \"%s\", whole gives \"%s\"",
                      cut, r.trace.data, whole);
        }

        test_run_free(&r);
    }
}


static void
test_expect(const char *name, test_buf_t *in, int server, uint64_t max,
    const char *expect)
{
    test_run_t  r;

    test_begin("%s", name);

    test_parse(in, server, max, NULL, 0, &r);

    if (expect && strcmp(test_buf_str(&r.trace), expect) != 0) {
        test_fail("got \"%s\", expected \"%s\"", r.trace.data, expect);
    }

    test_splits(in, server, max, test_buf_str(&r.trace));
    test_run_free(&r);

    test_end();

    free(in->data);
    memset(in, 0, sizeof(test_buf_t));
}


/* as test_expect(), but only the final error is known */

static void
test_expect_error(const char *name, test_buf_t *in, int server,
    uint64_t max, unsigned code, const char *reason)
{
    char        tail[128];
    size_t      n;
    test_run_t  r;

    test_begin("%s", name);

    test_parse(in, server, max, NULL, 0, &r);

    snprintf(tail, sizeof(tail), "X%u %s", code, reason);
    n = strlen(tail);

    if (r.trace.len < n
        || strcmp((char *) r.trace.data + r.trace.len - n, tail) != 0)
    {
        test_fail("got \"%s\", expected it to end in \"%s\"",
                  r.trace.data, tail);
    }

    test_splits(in, server, max, test_buf_str(&r.trace));
    test_run_free(&r);

    test_end();

    free(in->data);
    memset(in, 0, sizeof(test_buf_t));
}


static void
test_fill(uint8_t *buf, size_t len, unsigned seed)
{
    size_t    i;
    uint32_t  x;

    x = seed * 2654435761u + 1;

    for (i = 0; i < len; i++) {
        x = x * 1103515245u + 12345;
        buf[i] = (uint8_t) (x >> 16);
    }
}


/* valid UTF-8 of exactly len bytes, with 1- to 4-byte code points */

static void
test_fill_text(uint8_t *buf, size_t len)
{
    size_t              i, n, ulen;
    const char         *u;
    static const char  *units[] = {
        "a", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "z",
        "\xf4\x8f\xbf\xbf", "\xed\x9f\xbf", "\xee\x80\x80", "\xdf\xbf"
    };

    i = 0;
    n = 0;

    while (i < len) {
        u = units[n++ % (sizeof(units) / sizeof(units[0]))];
        ulen = strlen(u);

        if (ulen > len - i) {
            buf[i++] = 'x';
            continue;
        }

        memcpy(buf + i, u, ulen);
        i += ulen;
    }
}


static void
test_encode_header(void)
{
    size_t          n, i, j;
    uint8_t         buf[NGX_WS_PERF_FRAME_HEADER_MAX];
    uint64_t        len;
    static const struct {
        unsigned    opcode;
        int         fin;
        uint64_t    len;
        int         masked;
        size_t      size;
        const char *bytes;
    } cases[] = {
        { 0x1, 1, 0, 0, 2, "\x81\x00" },
        { 0x2, 1, 1, 0, 2, "\x82\x01" },
        { 0x2, 1, 125, 0, 2, "\x82\x7d" },
        { 0x2, 1, 126, 0, 4, "\x82\x7e\x00\x7e" },
        { 0x2, 1, 65535, 0, 4, "\x82\x7e\xff\xff" },
        { 0x2, 1, 65536, 0, 10, "\x82\x7f\x00\x00\x00\x00\x00\x01\x00\x00" },
        { 0x2, 0, 0x7fffffffffffffffULL, 0, 10,
          "\x02\x7f\x7f\xff\xff\xff\xff\xff\xff\xff" },
        { 0x0, 0, 5, 0, 2, "\x00\x05" },
        { 0x9, 1, 0, 1, 6, "\x89\x80\x37\xfa\x21\x3d" },
        { 0x1, 1, 5, 1, 6, "\x81\x85\x37\xfa\x21\x3d" },
        { 0x1, 0, 300, 1, 8, "\x01\xfe\x01\x2c\x37\xfa\x21\x3d" },
        { 0x8, 1, 70000, 1, 14,
          "\x88\xff\x00\x00\x00\x00\x00\x01\x11\x70\x37\xfa\x21\x3d" },
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        test_begin("encode header %u/%d/%llu/%d", cases[i].opcode,
                   cases[i].fin, (unsigned long long) cases[i].len,
                   cases[i].masked);

        n = ngx_ws_perf_frame_encode_header(buf, cases[i].opcode,
                                            cases[i].fin, cases[i].len,
                                            cases[i].masked ? test_key
                                                            : NULL);

        if (n != cases[i].size || memcmp(buf, cases[i].bytes, n) != 0) {
            test_fail("wrong bytes, size %zu", n);
        }

        if (ngx_ws_perf_frame_header_size(cases[i].len, cases[i].masked)
            != n)
        {
            test_fail("header_size disagrees");
        }

        test_end();
    }

    test_begin("header_size matches encode_header at every boundary");

    for (i = 0; i < 20; i++) {
        for (j = 0; j < 2; j++) {
            len = (i < 10) ? 120 + i : (i < 15) ? 65530 + i - 10
                                                : 65535 + i - 15;
            n = ngx_ws_perf_frame_encode_header(buf, 0x2, 1, len,
                                                j ? test_key : NULL);

            if (n != ngx_ws_perf_frame_header_size(len, (int) j)) {
                test_fail("len %llu masked %zu", (unsigned long long) len,
                          j);
            }
        }
    }

    test_end();
}


static void
test_mask(void)
{
    size_t   len, off, align, i;
    uint8_t  key[4], raw[96], fast[96 + 8];

    test_begin("frame_mask agrees with a byte loop");

    for (len = 0; len <= 80; len++) {
        for (off = 0; off < 9; off++) {
            for (align = 0; align < 8; align++) {
                test_fill(key, 4, (unsigned) (len * 31 + off));
                test_fill(raw, len, (unsigned) (len + 7 * off));
                memcpy(fast + align, raw, len);

                ngx_ws_perf_frame_mask(fast + align, len, key, off);

                for (i = 0; i < len; i++) {
                    if (fast[align + i] != (raw[i] ^ key[(off + i) % 4])) {
                        test_fail("len %zu offset %zu align %zu byte %zu",
                                  len, off, align, i);
                    }
                }

                ngx_ws_perf_frame_mask(fast + align, len, key, off);

                if (memcmp(fast + align, raw, len) != 0) {
                    test_fail("masking twice is not identity, len %zu",
                              len);
                }
            }
        }
    }

    test_end();
}


static void
test_close_code_valid(void)
{
    int       expect;
    unsigned  code;

    test_begin("close_code_valid over 0..70000");

    for (code = 0; code <= 70000; code++) {
        switch (code) {
        case 1000: case 1001: case 1002: case 1003:
        case 1007: case 1008: case 1009: case 1010:
        case 1011: case 1012: case 1013: case 1014:
            expect = 1;
            break;
        default:
            expect = (code >= 3000 && code < 5000);
        }

        if (ngx_ws_perf_close_code_valid(code) != expect) {
            test_fail("code %u", code);
        }
    }

    test_end();
}


static void
test_lengths(void)
{
    size_t            i, j, hsize;
    uint8_t          *payload;
    test_buf_t        in, expect;
    static size_t     lens[] = { 0, 1, 125, 126, 127, 65535, 65536, 70001 };
    static size_t     hsizes[] = { 2, 2, 2, 4, 4, 4, 10, 10 };
    char              name[64];

    for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        for (j = 0; j < 4; j++) {
            payload = malloc(lens[i] + 1);
            if (payload == NULL) {
                return;
            }

            if (j & 2) {
                test_fill_text(payload, lens[i]);

            } else {
                test_fill(payload, lens[i], (unsigned) i);
            }

            memset(&in, 0, sizeof(test_buf_t));
            memset(&expect, 0, sizeof(test_buf_t));

            test_put(&in, TEST_FIN | ((j & 2) ? 0x1 : 0x2), payload, lens[i],
                     j & 1);

            hsize = hsizes[i] + ((j & 1) ? 4 : 0);

            test_buf_printf(&expect, "H%u/1/%zu E%u/1 m%u/%zu '",
                            (j & 2) ? 1 : 2, lens[i], (j & 2) ? 1 : 2,
                            (j & 2) ? 1 : 2, lens[i]);
            test_buf_escape(&expect, payload, lens[i]);
            test_buf_printf(&expect, "' ");

            snprintf(name, sizeof(name), "%s frame of %zu bytes, %s",
                     (j & 2) ? "text" : "binary", lens[i],
                     (j & 1) ? "masked" : "unmasked");

            if (in.len != hsize + lens[i]) {
                test_begin("%s: header size", name);
                test_fail("frame is %zu bytes", in.len);
                test_end();
            }

            test_expect(name, &in, (j & 1) ? TEST_SERVER : TEST_CLIENT, 0,
                        test_buf_str(&expect));

            free(expect.data);
            free(payload);
        }
    }

    memset(&in, 0, sizeof(test_buf_t));
    test_put(&in, TEST_FIN | 0x1, "", 0, 1);
    test_put(&in, TEST_FIN | 0x9, "", 0, 1);
    test_put(&in, TEST_FIN | 0x2, "", 0, 1);
    test_expect("zero-length frames go HEADER then END", &in, TEST_SERVER, 0,
                "H1/1/0 E1/1 m1/0 '' H9/1/0 C9 0 m0/0 '' "
                "H2/1/0 E2/1 m2/0 '' ");

    memset(&in, 0, sizeof(test_buf_t));
    test_put_bytes(&in, "\x82\x7e\x00\x03" "abc", 7);
    test_expect("non-minimal 16-bit length is accepted", &in, TEST_CLIENT, 0,
                "H2/1/3 E2/1 m2/3 'abc' ");

    memset(&in, 0, sizeof(test_buf_t));
    test_put_bytes(&in, "\x82\x7f\x00\x00\x00\x00\x00\x00\x00\x02" "ab", 12);
    test_expect("non-minimal 64-bit length is accepted", &in, TEST_CLIENT, 0,
                "H2/1/2 E2/1 m2/2 'ab' ");

    memset(&in, 0, sizeof(test_buf_t));
    test_put_bytes(&in, "\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58", 11);
    test_expect("RFC 6455 5.7 masked \"Hello\"", &in, TEST_SERVER, 0,
                "H1/1/5 E1/1 m1/5 'Hello' ");

    memset(&in, 0, sizeof(test_buf_t));
    test_put_bytes(&in, "\x01\x03\x48\x65\x6c\x80\x02\x6c\x6f", 9);
    test_expect("RFC 6455 5.7 fragmented \"Hello\"", &in, TEST_CLIENT, 0,
                "H1/0/3 E1/0 m1/3 'Hel' H0/1/2 E0/1 m1/5 'lo' ");

    memset(&in, 0, sizeof(test_buf_t));
    test_expect("empty input", &in, TEST_SERVER, 0, "");
}


static void
test_masking_errors(void)
{
    test_buf_t  in;

    memset(&in, 0, sizeof(test_buf_t));
    test_put(&in, TEST_FIN | 0x1, "hi", 2, 0);
    test_expect("server: unmasked frame", &in, TEST_SERVER, 0,
                "X1002 frame not masked");

    memset(&in, 0, sizeof(test_buf_t));
    test_put(&in, TEST_FIN | 0x9, "", 0, 0);
    test_expect("server: unmasked ping", &in, TEST_SERVER, 0,
                "X1002 frame not masked");

    memset(&in, 0, sizeof(test_buf_t));
    test_put(&in, TEST_FIN | 0x1, "hi", 2, 1);
    test_put(&in, TEST_FIN | 0x1, "hi", 2, 0);
    test_expect("server: unmasked frame after a masked one", &in,
                TEST_SERVER, 0, "H1/1/2 E1/1 m1/2 'hi' X1002 frame not masked");

    memset(&in, 0, sizeof(test_buf_t));
    test_put(&in, TEST_FIN | 0x2, "hi", 2, 1);
    test_expect("client: masked frame", &in, TEST_CLIENT, 0,
                "X1002 frame masked");
}


static void
test_header_errors(void)
{
    char        name[64];
    unsigned    op, i;
    test_buf_t  in;
    static const unsigned  rsv[] = { 0x40, 0x20, 0x10, 0x70 };

    for (i = 0; i < 4; i++) {
        memset(&in, 0, sizeof(test_buf_t));
        test_put(&in, TEST_FIN | rsv[i] | 0x1, "a", 1, 1);
        snprintf(name, sizeof(name), "rsv bits 0x%02x", rsv[i]);
        test_expect(name, &in, TEST_SERVER, 0, "X1002 reserved bits set");
    }

    memset(&in, 0, sizeof(test_buf_t));
    test_put(&in, 0x40 | 0x9, "", 0, 1);
    test_expect("rsv bit on a ping", &in, TEST_SERVER, 0,
                "X1002 reserved bits set");

    for (op = 3; op < 16; op++) {
        if (op >= 8 && op <= 0xa) {
            continue;
        }

        memset(&in, 0, sizeof(test_buf_t));
        test_put(&in, TEST_FIN | op, "a", 1, 1);
        snprintf(name, sizeof(name), "reserved opcode 0x%x", op);
        test_expect(name, &in, TEST_SERVER, 0, "X1002 reserved opcode");

        memset(&in, 0, sizeof(test_buf_t));
        test_put(&in, op, "", 0, 1);
        snprintf(name, sizeof(name), "reserved opcode 0x%x, FIN=0", op);
        test_expect(name, &in, TEST_SERVER, 0, "X1002 reserved opcode");
    }

    for (op = 8; op <= 0xa; op++) {
        memset(&in, 0, sizeof(test_buf_t));
        test_put(&in, op, "", 0, 1);
        snprintf(name, sizeof(name), "control 0x%x with FIN=0", op);
        test_expect(name, &in, TEST_SERVER, 0,
                    "X1002 fragmented control frame");

        memset(&in, 0, sizeof(test_buf_t));
        test_put_header(&in, TEST_FIN | op, 126, 1);
        snprintf(name, sizeof(name), "control 0x%x of 126 bytes", op);
        test_expect(name, &in, TEST_SERVER, 0,
                    "X1002 control frame too long");

        memset(&in, 0, sizeof(test_buf_t));
        test_put_header(&in, TEST_FIN | op, 65536, 1);
        snprintf(name, sizeof(name), "control 0x%x, 64-bit length", op);
        test_expect(name, &in, TEST_SERVER, 0,
                    "X1002 control frame too long");
    }

    memset(&in, 0, sizeof(test_buf_t));
    test_put_bytes(&in, "\x89\x7e\x00\x05", 4);
    test_expect("ping with a 16-bit length of 5", &in, TEST_CLIENT, 0,
                "X1002 control frame too long");

    memset(&in, 0, sizeof(test_buf_t));
    test_put(&in, TEST_FIN | 0x9, "0123456789012345678901234567890123456789"
             "0123456789012345678901234567890123456789"
             "0123456789012345678901234567890123456789"
             "01234", 125, 1);
    test_expect("ping of 125 bytes", &in, TEST_SERVER, 0, NULL);

    memset(&in, 0, sizeof(test_buf_t));
    test_put_bytes(&in, "\x82\xff\x80\x00\x00\x00\x00\x00\x00\x00"
                   "\x37\xfa\x21\x3d", 14);
    test_expect("64-bit length with the top bit set", &in, TEST_SERVER, 0,
                "X1002 frame length has the top bit set");

    memset(&in, 0, sizeof(test_buf_t));
    test_put_bytes(&in, "\x82\x7f\xff\xff\xff\xff\xff\xff\xff\xff", 10);
    test_expect("64-bit length of all ones", &in, TEST_CLIENT, 0,
                "X1002 frame length has the top bit set");

    memset(&in, 0, sizeof(test_buf_t));
    test_put_bytes(&in, "\x82\x7f\x7f\xff\xff\xff\xff\xff\xff\xff", 10);
    test_expect("64-bit length of 2^63-1 is valid", &in, TEST_CLIENT, 0,
                "H2/1/9223372036854775807 ");

    memset(&in, 0, sizeof(test_buf_t));
    test_put(&in, TEST_FIN | 0x0, "a", 1, 1);
    test_expect("continuation with no message", &in, TEST_SERVER, 0,
                "X1002 continuation without a message");

    memset(&in, 0, sizeof(test_buf_t));
    test_put(&in, 0x0, "a", 1, 1);
    test_expect("continuation FIN=0 with no message", &in, TEST_SERVER, 0,
                "X1002 continuation without a message");

    memset(&in, 0, sizeof(test_buf_t));
    test_put(&in, TEST_FIN | 0x1, "a", 1, 1);
    test_put(&in, TEST_FIN | 0x0, "b", 1, 1);
    test_expect("continuation after a finished message", &in, TEST_SERVER, 0,
                "H1/1/1 E1/1 m1/1 'a' X1002 continuation without a message");

    for (i = 0; i < 4; i++) {
        memset(&in, 0, sizeof(test_buf_t));
        test_put(&in, (i & 1) ? 0x2 : 0x1, "a", 1, 1);
        test_put(&in, TEST_FIN | ((i & 2) ? 0x2 : 0x1), "b", 1, 1);
        snprintf(name, sizeof(name), "%s inside a fragmented %s",
                 (i & 2) ? "binary" : "text", (i & 1) ? "binary" : "text");
        test_expect_error(name, &in, TEST_SERVER, 0, TEST_PROTOCOL,
                          "new message inside a fragmented message");
    }

    memset(&in, 0, sizeof(test_buf_t));
    test_put(&in, 0x1, "a", 1, 1);
    test_put(&in, 0x9, "", 0, 1);
    test_expect("fragmented ping inside a fragmented message", &in,
                TEST_SERVER, 0,
                "H1/0/1 E1/0 m1/1 'a' X1002 fragmented control frame");
}


/* when a header breaks several rules, the first in the brief wins */

static void
test_check_order(void)
{
    test_buf_t  in;

    memset(&in, 0, sizeof(test_buf_t));
    test_put(&in, TEST_FIN | 0x40 | 0x1, "a", 1, 0);
    test_expect("rsv before masking", &in, TEST_SERVER, 0,
                "X1002 reserved bits set");

    memset(&in, 0, sizeof(test_buf_t));
    test_put(&in, TEST_FIN | 0x3, "a", 1, 0);
    test_expect("reserved opcode before masking", &in, TEST_SERVER, 0,
                "X1002 reserved opcode");

    memset(&in, 0, sizeof(test_buf_t));
    test_put(&in, 0x9, "", 0, 0);
    test_expect("fragmented control before masking", &in, TEST_SERVER, 0,
                "X1002 fragmented control frame");

    memset(&in, 0, sizeof(test_buf_t));
    test_put_header(&in, TEST_FIN | 0x9, 126, 0);
    test_expect("control length before masking", &in, TEST_SERVER, 0,
                "X1002 control frame too long");

    memset(&in, 0, sizeof(test_buf_t));
    test_put(&in, TEST_FIN | 0x0, "a", 1, 0);
    test_expect("unexpected continuation before masking", &in, TEST_SERVER,
                0, "X1002 continuation without a message");

    memset(&in, 0, sizeof(test_buf_t));
    test_put_bytes(&in, "\x82\x7f\x80\x00\x00\x00\x00\x00\x00\x00", 10);
    test_expect("masking before the top bit", &in, TEST_SERVER, 0,
                "X1002 frame not masked");

    memset(&in, 0, sizeof(test_buf_t));
    test_put_bytes(&in, "\x82\xff\x80\x00\x00\x00\x00\x00\x00\x00"
                   "\x37\xfa\x21\x3d", 14);
    test_expect("top bit before the size limit", &in, TEST_SERVER, 16,
                "X1002 frame length has the top bit set");

    memset(&in, 0, sizeof(test_buf_t));
    test_put_header(&in, TEST_FIN | 0x2, 1000, 0);
    test_expect("masking before the size limit", &in, TEST_SERVER, 16,
                "X1002 frame not masked");

    memset(&in, 0, sizeof(test_buf_t));
    test_put(&in, 0x1, "a", 1, 1);
    test_put_header(&in, TEST_FIN | 0x2, 1000, 1);
    test_expect("message sequence before the size limit", &in, TEST_SERVER,
                16, "H1/0/1 E1/0 m1/1 'a' "
                "X1002 new message inside a fragmented message");
}


/*
 * With permessage-deflate RSV1 marks a compressed message on its first
 * frame; its bytes are not UTF-8 until inflated, so they are not checked.
 */

static void
test_compressed(void)
{
    test_buf_t  in;

    memset(&in, 0, sizeof(test_buf_t));
    test_put(&in, TEST_FIN | 0x40 | 0x1, "\xff\xfe", 2, 1);
    test_put(&in, TEST_FIN | 0x1, "ok", 2, 1);
    test_expect("compressed text is not checked as UTF-8", &in,
                TEST_DEFLATE, 0,
                "H1/1/2 E1/1 m1/2 '\\xff\\xfe' H1/1/2 E1/1 m1/2 'ok' ");

    memset(&in, 0, sizeof(test_buf_t));
    test_put(&in, 0x40 | 0x1, "\xe2", 1, 1);
    test_put(&in, TEST_FIN | 0x9, "p", 1, 1);
    test_put(&in, TEST_FIN | 0x0, "\x82", 1, 1);
    test_put(&in, TEST_FIN | 0x1, "\xff", 1, 1);
    test_expect_error("a message after a compressed one is checked", &in,
                      TEST_DEFLATE, 0, 1007, "invalid utf-8 in text message");

    memset(&in, 0, sizeof(test_buf_t));
    test_put(&in, 0x40 | 0x2, "a", 1, 1);
    test_put(&in, TEST_FIN | 0x40 | 0x0, "b", 1, 1);
    test_expect_error("RSV1 on a continuation frame", &in, TEST_DEFLATE, 0,
                      1002, "compressed bit on a continuation or control "
                      "frame");

    memset(&in, 0, sizeof(test_buf_t));
    test_put(&in, TEST_FIN | 0x40 | 0x9, "", 0, 1);
    test_expect("RSV1 on a ping", &in, TEST_DEFLATE, 0,
                "X1002 compressed bit on a continuation or control frame");

    memset(&in, 0, sizeof(test_buf_t));
    test_put(&in, TEST_FIN | 0x20 | 0x1, "a", 1, 1);
    test_expect("RSV2 stays reserved", &in, TEST_DEFLATE, 0,
                "X1002 reserved bits set");

    memset(&in, 0, sizeof(test_buf_t));
    test_put(&in, TEST_FIN | 0x40 | 0x1, "a", 1, 1);
    test_expect("RSV1 without the extension", &in, TEST_SERVER, 0,
                "X1002 reserved bits set");
}


static void
test_fragmentation(void)
{
    test_buf_t  in;

    memset(&in, 0, sizeof(test_buf_t));
    test_put(&in, 0x1, "Hel", 3, 1);
    test_put(&in, TEST_FIN | 0x9, "p1", 2, 1);
    test_put(&in, 0x0, "lo", 2, 1);
    test_put(&in, TEST_FIN | 0xa, "", 0, 1);
    test_put(&in, 0x0, "", 0, 1);
    test_put(&in, TEST_FIN | 0x9, "p2", 2, 1);
    test_put(&in, TEST_FIN | 0x0, " wo", 3, 1);
    test_put(&in, TEST_FIN | 0x9, "p3", 2, 1);
    test_put(&in, TEST_FIN | 0x2, "\x00\xff", 2, 1);
    test_expect("fragmented text with interleaved ping and pong", &in,
                TEST_SERVER, 0,
                "H1/0/3 E1/0 m1/3 'Hel' H9/1/2 C9 0 m1/3 'p1' "
                "H0/0/2 E0/0 m1/5 'lo' Ha/1/0 Ca 0 m1/5 '' "
                "H0/0/0 E0/0 m1/5 '' H9/1/2 C9 0 m1/5 'p2' "
                "H0/1/3 E0/1 m1/8 ' wo' H9/1/2 C9 0 m0/0 'p3' "
                "H2/1/2 E2/1 m2/2 '\\x00\\xff' ");

    memset(&in, 0, sizeof(test_buf_t));
    test_put(&in, 0x2, "\xff\xfe", 2, 1);
    test_put(&in, 0x0, "\xfd", 1, 1);
    test_put(&in, TEST_FIN | 0x8, "\x03\xe8" "ok", 4, 1);
    test_put(&in, TEST_FIN | 0x0, "\xfc", 1, 1);
    test_expect("fragmented binary with a close inside", &in, TEST_SERVER, 0,
                "H2/0/2 E2/0 m2/2 '\\xff\\xfe' H0/0/1 E0/0 m2/3 '\\xfd' "
                "H8/1/4 C8 1000 m2/3 '\\x03\\xe8ok' "
                "H0/1/1 E0/1 m2/4 '\\xfc' ");

    memset(&in, 0, sizeof(test_buf_t));
    test_put(&in, 0x1, "\xe2", 1, 1);
    test_put(&in, TEST_FIN | 0x9, "\xff", 1, 1);
    test_put(&in, TEST_FIN | 0x8, "\x03\xe8" "\xc3\xa9", 4, 1);
    test_put(&in, 0x0, "\x82", 1, 1);
    test_put(&in, TEST_FIN | 0x0, "\xac", 1, 1);
    test_expect("code point split around a ping and a close", &in,
                TEST_SERVER, 0,
                "H1/0/1 E1/0 m1/1 '\\xe2' H9/1/1 C9 0 m1/1 '\\xff' "
                "H8/1/4 C8 1000 m1/1 '\\x03\\xe8\\xc3\\xa9' "
                "H0/0/1 E0/0 m1/2 '\\x82' H0/1/1 E0/1 m1/3 '\\xac' ");
}


static void
test_message_state(void)
{
    uint8_t                     *pos, *last;
    test_buf_t                   in;
    ngx_ws_perf_frame_parser_t   p;
    ngx_ws_perf_frame_rc_e       rc[4];

    test_begin("message state lasts until the call after the FIN END");

    memset(&in, 0, sizeof(test_buf_t));
    test_put(&in, TEST_FIN | 0x1, "hi", 2, 1);

    ngx_ws_perf_frame_parser_init(&p, 0, 1);

    pos = in.data;
    last = in.data + in.len;

    rc[0] = ngx_ws_perf_frame_parse(&p, &pos, last);
    rc[1] = ngx_ws_perf_frame_parse(&p, &pos, last);
    rc[2] = ngx_ws_perf_frame_parse(&p, &pos, last);

    if (rc[0] != NGX_WS_PERF_FRAME_HEADER || rc[1] != NGX_WS_PERF_FRAME_DATA
        || rc[2] != NGX_WS_PERF_FRAME_END)
    {
        test_fail("events %d %d %d", rc[0], rc[1], rc[2]);
    }

    if (p.msg_opcode != NGX_WS_PERF_OP_TEXT || p.msg_length != 2 || !p.fin) {
        test_fail("at END: msg_opcode %u msg_length %llu fin %u",
                  p.msg_opcode, (unsigned long long) p.msg_length, p.fin);
    }

    rc[3] = ngx_ws_perf_frame_parse(&p, &pos, last);

    if (rc[3] != NGX_WS_PERF_FRAME_AGAIN || p.msg_opcode != 0
        || p.msg_length != 0)
    {
        test_fail("after END: rc %d msg_opcode %u msg_length %llu", rc[3],
                  p.msg_opcode, (unsigned long long) p.msg_length);
    }

    if (memcmp(in.data + 6, "hi", 2) != 0) {
        test_fail("payload not unmasked in place");
    }

    test_end();

    free(in.data);

    test_begin("AGAIN on empty input leaves a fresh parser alone");

    ngx_ws_perf_frame_parser_init(&p, 0, 1);
    pos = (uint8_t *) rc;
    last = pos;

    if (ngx_ws_perf_frame_parse(&p, &pos, last) != NGX_WS_PERF_FRAME_AGAIN
        || pos != last)
    {
        test_fail("not AGAIN");
    }

    test_end();
}


static void
test_close(void)
{
    char        name[64], payload[2], expect[64];
    size_t      i;
    test_buf_t  in;
    static const unsigned  bad[] = {
        0, 1, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000,
        65535
    };
    static const unsigned  good[] = {
        1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013,
        1014, 3000, 3999, 4000, 4999
    };

    memset(&in, 0, sizeof(test_buf_t));
    test_put(&in, TEST_FIN | 0x8, "", 0, 1);
    test_expect("close without a payload", &in, TEST_SERVER, 0,
                "H8/1/0 C8 0 m0/0 '' ");

    memset(&in, 0, sizeof(test_buf_t));
    test_put(&in, TEST_FIN | 0x8, "\x03", 1, 1);
    test_expect("close payload of 1 byte", &in, TEST_SERVER, 0,
                "H8/1/1 X1002 close payload of one byte");

    memset(&in, 0, sizeof(test_buf_t));
    test_put(&in, TEST_FIN | 0x8, "\x03\xe8" "bye", 5, 1);
    test_expect("close with a reason", &in, TEST_SERVER, 0,
                "H8/1/5 C8 1000 m0/0 '\\x03\\xe8bye' ");

    memset(&in, 0, sizeof(test_buf_t));
    test_put(&in, TEST_FIN | 0x8, "\x0f\xa0" "\xce\xba\xf0\x9f\x98\x80", 8,
             1);
    test_expect("close with a multi-byte reason", &in, TEST_SERVER, 0,
                "H8/1/8 C8 4000 m0/0 '\\x0f\\xa0\\xce\\xba\\xf0\\x9f"
                "\\x98\\x80' ");

    memset(&in, 0, sizeof(test_buf_t));
    test_put(&in, TEST_FIN | 0x8, "\x03\xe8" "\xff", 3, 1);
    test_expect("close reason not utf-8", &in, TEST_SERVER, 0,
                "H8/1/3 X1007 invalid utf-8 in close reason");

    memset(&in, 0, sizeof(test_buf_t));
    test_put(&in, TEST_FIN | 0x8, "\x03\xe8" "ab\xe2\x82", 6, 1);
    test_expect("close reason ends inside a code point", &in, TEST_SERVER, 0,
                "H8/1/6 X1007 invalid utf-8 in close reason");

    memset(&in, 0, sizeof(test_buf_t));
    test_put(&in, TEST_FIN | 0x8, "\x03\xea" "\xed\xa0\x80", 5, 1);
    test_expect("close reason with a surrogate", &in, TEST_SERVER, 0,
                "H8/1/5 X1007 invalid utf-8 in close reason");

    memset(&in, 0, sizeof(test_buf_t));
    test_put(&in, TEST_FIN | 0x8, "\x03\xec" "\xed\xa0\x80", 5, 1);
    test_expect("close code before its reason", &in, TEST_SERVER, 0,
                "H8/1/5 X1002 invalid close code");

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        payload[0] = (char) (bad[i] >> 8);
        payload[1] = (char) bad[i];

        memset(&in, 0, sizeof(test_buf_t));
        test_put(&in, TEST_FIN | 0x8, payload, 2, 1);
        snprintf(name, sizeof(name), "close code %u is invalid", bad[i]);
        test_expect_error(name, &in, TEST_SERVER, 0, TEST_PROTOCOL,
                          "invalid close code");
    }

    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        payload[0] = (char) (good[i] >> 8);
        payload[1] = (char) good[i];

        memset(&in, 0, sizeof(test_buf_t));
        test_put(&in, TEST_FIN | 0x8, payload, 2, 1);
        snprintf(name, sizeof(name), "close code %u is valid", good[i]);
        snprintf(expect, sizeof(expect),
                 "H8/1/2 C8 %u m0/0 '\\x%02x\\x%02x' ", good[i],
                 good[i] >> 8, good[i] & 0xff);
        test_expect(name, &in, TEST_SERVER, 0, expect);
    }
}


static void
test_too_big(void)
{
    test_buf_t  in;

    memset(&in, 0, sizeof(test_buf_t));
    test_put_header(&in, TEST_FIN | 0x2, 11, 1);
    test_expect("1009 at header time, no payload sent", &in, TEST_SERVER, 10,
                "X1009 message too big");

    memset(&in, 0, sizeof(test_buf_t));
    test_put(&in, TEST_FIN | 0x1, "0123456789a", 11, 1);
    test_expect("1009 for one frame of max + 1", &in, TEST_SERVER, 10,
                "X1009 message too big");

    memset(&in, 0, sizeof(test_buf_t));
    test_put(&in, TEST_FIN | 0x1, "0123456789", 10, 1);
    test_put(&in, TEST_FIN | 0x2, "0123456789", 10, 1);
    test_expect("messages of exactly max", &in, TEST_SERVER, 10,
                "H1/1/10 E1/1 m1/10 '0123456789' "
                "H2/1/10 E2/1 m2/10 '0123456789' ");

    memset(&in, 0, sizeof(test_buf_t));
    test_put(&in, 0x1, "012345", 6, 1);
    test_put(&in, TEST_FIN | 0x9, "ping longer than the limit", 26, 1);
    test_put(&in, TEST_FIN | 0x0, "6789", 4, 1);
    test_expect("fragments adding up to max, control not counted", &in,
                TEST_SERVER, 10,
                "H1/0/6 E1/0 m1/6 '012345' "
                "H9/1/26 C9 0 m1/6 'ping longer than the limit' "
                "H0/1/4 E0/1 m1/10 '6789' ");

    memset(&in, 0, sizeof(test_buf_t));
    test_put(&in, 0x2, "012345", 6, 1);
    test_put(&in, TEST_FIN | 0x0, "6789a", 5, 1);
    test_expect("1009 when fragments exceed max", &in, TEST_SERVER, 10,
                "H2/0/6 E2/0 m2/6 '012345' X1009 message too big");

    memset(&in, 0, sizeof(test_buf_t));
    test_put(&in, 0x2, "0123456789", 10, 1);
    test_put_header(&in, 0x0, 1, 1);
    test_expect("1009 for a fragment after a full one", &in, TEST_SERVER, 10,
                "H2/0/10 E2/0 m2/10 '0123456789' X1009 message too big");

    memset(&in, 0, sizeof(test_buf_t));
    test_put_bytes(&in, "\x82\x7f\x40\x00\x00\x00\x00\x00\x00\x00", 10);
    test_expect("1009 for a 2^62 frame", &in, TEST_CLIENT, 1 << 20,
                "X1009 message too big");

    memset(&in, 0, sizeof(test_buf_t));
    test_put_bytes(&in, "\x82\x7f\x7f\xff\xff\xff\xff\xff\xff\xff", 10);
    test_expect("largest frame under the largest limit", &in, TEST_CLIENT,
                UINT64_MAX, "H2/1/9223372036854775807 ");
}


static void
test_text(void)
{
    size_t      cut, len;
    char        name[64];
    test_run_t  r;
    test_buf_t  in, expect;
    static const char  text[] = "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce"
                                "\xb5\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf";

    memset(&in, 0, sizeof(test_buf_t));
    test_put(&in, TEST_FIN | 0x1, text, sizeof(text) - 1, 1);
    test_expect("valid multi-byte text", &in, TEST_SERVER, 0, NULL);

    len = sizeof(text) - 1;

    for (cut = 0; cut <= len; cut++) {
        memset(&in, 0, sizeof(test_buf_t));
        test_put(&in, 0x1, text, cut, 1);
        test_put(&in, TEST_FIN | 0x0, text + cut, len - cut, 1);

        memset(&expect, 0, sizeof(test_buf_t));
        test_buf_printf(&expect, "H1/0/%zu E1/0 m1/%zu '", cut, cut);
        test_buf_escape(&expect, (const uint8_t *) text, cut);
        test_buf_printf(&expect, "' H0/1/%zu E0/1 m1/%zu '", len - cut, len);
        test_buf_escape(&expect, (const uint8_t *) text + cut, len - cut);
        test_buf_printf(&expect, "' ");

        snprintf(name, sizeof(name), "text split into fragments at %zu",
                 cut);
        test_expect(name, &in, TEST_SERVER, 0, test_buf_str(&expect));
        free(expect.data);
    }

    memset(&in, 0, sizeof(test_buf_t));
    test_put(&in, TEST_FIN | 0x1, "\xf4\x90\x80\x80", 4, 1);
    test_expect("text with U+110000", &in, TEST_SERVER, 0,
                "H1/1/4 X1007 invalid utf-8 in text message");

    memset(&in, 0, sizeof(test_buf_t));
    test_put(&in, TEST_FIN | 0x1, "a\xc0\xaf", 3, 1);
    test_expect("text with an overlong '/'", &in, TEST_SERVER, 0,
                "H1/1/3 X1007 invalid utf-8 in text message");

    memset(&in, 0, sizeof(test_buf_t));
    test_put(&in, TEST_FIN | 0x1, "\xed\xb0\x80", 3, 1);
    test_expect("text with a surrogate", &in, TEST_SERVER, 0,
                "H1/1/3 X1007 invalid utf-8 in text message");

    memset(&in, 0, sizeof(test_buf_t));
    test_put(&in, TEST_FIN | 0x1, "ab\xe2\x82", 4, 1);
    test_expect("text ends inside a code point", &in, TEST_SERVER, 0,
                "H1/1/4 X1007 truncated utf-8 in text message");

    memset(&in, 0, sizeof(test_buf_t));
    test_put(&in, 0x1, "ab\xe2\x82", 4, 1);
    test_put(&in, TEST_FIN | 0x0, "", 0, 1);
    test_expect("fragmented text ends inside a code point", &in,
                TEST_SERVER, 0, "H1/0/4 E1/0 m1/4 'ab\\xe2\\x82' "
                "H0/1/0 X1007 truncated utf-8 in text message");

    memset(&in, 0, sizeof(test_buf_t));
    test_put(&in, 0x1, "ab\xe2\x82", 4, 1);
    test_put(&in, TEST_FIN | 0x0, "\x41", 1, 1);
    test_expect("code point broken across fragments", &in, TEST_SERVER, 0,
                "H1/0/4 E1/0 m1/4 'ab\\xe2\\x82' "
                "H0/1/1 X1007 invalid utf-8 in text message");

    memset(&in, 0, sizeof(test_buf_t));
    test_put(&in, TEST_FIN | 0x2, "\xe2\x82", 2, 1);
    test_put(&in, TEST_FIN | 0x1, "ok", 2, 1);
    test_expect("binary is not utf-8 checked; next text starts fresh", &in,
                TEST_SERVER, 0, "H2/1/2 E2/1 m2/2 '\\xe2\\x82' "
                "H1/1/2 E1/1 m1/2 'ok' ");

    /* the frame promises 100 bytes; only 3 arrive, the third is bad */
    memset(&in, 0, sizeof(test_buf_t));
    test_put_header(&in, TEST_FIN | 0x1, 100, 1);
    test_buf_add(&in, "ab\xff", 3);
    ngx_ws_perf_frame_mask(in.data + 6, 3, test_key, 0);

    test_begin("early failure at the bad byte, whole");
    test_parse(&in, TEST_SERVER, 0, NULL, 0, &r);

    if (strcmp(test_buf_str(&r.trace),
               "H1/1/100 X1007 invalid utf-8 in text message") != 0
        || r.delivered != 0)
    {
        test_fail("got \"%s\", %zu bytes delivered", r.trace.data,
                  r.delivered);
    }

    test_run_free(&r);
    test_end();

    test_begin("early failure at the bad byte, byte by byte");
    test_parse_step(&in, TEST_SERVER, 0, 1, &r);

    if (strcmp(test_buf_str(&r.trace),
               "H1/1/100 X1007 invalid utf-8 in text message") != 0
        || r.delivered != 2 || r.data_ff)
    {
        test_fail("got \"%s\", %zu bytes delivered", r.trace.data,
                  r.delivered);
    }

    test_run_free(&r);
    test_end();

    test_expect("early failure at the bad byte, every split", &in,
                TEST_SERVER, 0, "H1/1/100 X1007 invalid utf-8 in text message");

    memset(&in, 0, sizeof(test_buf_t));
    test_put_header(&in, TEST_FIN | 0x1, 100, 1);
    test_buf_add(&in, "\xe0\x80", 2);
    ngx_ws_perf_frame_mask(in.data + 6, 2, test_key, 0);
    test_expect("early failure at an overlong's second byte", &in,
                TEST_SERVER, 0, "H1/1/100 X1007 invalid utf-8 in text message");
}


static void
test_utf8_vectors(void)
{
    int             rc;
    size_t          i, cut;
    uint32_t        state;
    static const test_utf8_vector_t  v[] = {
        { "", 0, TEST_OK },
        { "hello, world", 12, TEST_OK },
        { "\x00", 1, TEST_OK },
        { "\x7f", 1, TEST_OK },
        { "\xc2\x80", 2, TEST_OK },
        { "\xdf\xbf", 2, TEST_OK },
        { "\xe0\xa0\x80", 3, TEST_OK },
        { "\xed\x9f\xbf", 3, TEST_OK },
        { "\xee\x80\x80", 3, TEST_OK },
        { "\xef\xbf\xbf", 3, TEST_OK },
        { "\xef\xbb\xbf", 3, TEST_OK },
        { "\xf0\x90\x80\x80", 4, TEST_OK },
        { "\xf0\x9f\x98\x80", 4, TEST_OK },
        { "\xf3\xbf\xbf\xbf", 4, TEST_OK },
        { "\xf4\x8f\xbf\xbf", 4, TEST_OK },
        { "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5", 11, TEST_OK },
        { "\xc2", 1, TEST_INCOMPLETE },
        { "\xe0\xa0", 2, TEST_INCOMPLETE },
        { "\xf0\x90\x80", 3, TEST_INCOMPLETE },
        { "\xf4\x8f", 2, TEST_INCOMPLETE },
        { "abc\xe2", 4, TEST_INCOMPLETE },
        { "\x80", 1, TEST_INVALID },
        { "\xbf", 1, TEST_INVALID },
        { "a\x80" "b", 3, TEST_INVALID },
        { "\xc0", 1, TEST_INVALID },
        { "\xc1", 1, TEST_INVALID },
        { "\xc0\x80", 2, TEST_INVALID },
        { "\xc1\xbf", 2, TEST_INVALID },
        { "\xe0\x80\x80", 3, TEST_INVALID },
        { "\xe0\x9f\xbf", 3, TEST_INVALID },
        { "\xe0\x9f", 2, TEST_INVALID },
        { "\xf0\x80\x80\x80", 4, TEST_INVALID },
        { "\xf0\x8f\xbf\xbf", 4, TEST_INVALID },
        { "\xf0\x8f", 2, TEST_INVALID },
        { "\xed\xa0\x80", 3, TEST_INVALID },
        { "\xed\xbf\xbf", 3, TEST_INVALID },
        { "\xed\xa0", 2, TEST_INVALID },
        { "\xed\xa0\x80\xed\xb0\x80", 6, TEST_INVALID },
        { "\xf4\x90\x80\x80", 4, TEST_INVALID },
        { "\xf4\x90", 2, TEST_INVALID },
        { "\xf5\x80\x80\x80", 4, TEST_INVALID },
        { "\xf7\xbf\xbf\xbf", 4, TEST_INVALID },
        { "\xf8\x88\x80\x80\x80", 5, TEST_INVALID },
        { "\xfc\x84\x80\x80\x80\x80", 6, TEST_INVALID },
        { "\xfe", 1, TEST_INVALID },
        { "\xff", 1, TEST_INVALID },
        { "\xc2\x41", 2, TEST_INVALID },
        { "\xe2\x82\x41", 3, TEST_INVALID },
        { "\xf0\x9f\x98\x41", 4, TEST_INVALID },
        { "\xc2\xc2\x80", 3, TEST_INVALID },
        { "\xe2\x82\xac\x80", 4, TEST_INVALID },
        { "abcdefgh\xffijklmnop", 17, TEST_INVALID },
        { "abcdefghijklmno\xc3", 16, TEST_INCOMPLETE },
    };

    test_begin("utf-8 of no bytes at NULL");

    state = 0;

    if (ngx_ws_perf_utf8_validate(&state, NULL, 0) != TEST_OK || state != 0) {
        test_fail("not OK");
    }

    state = 0;
    (void) ngx_ws_perf_utf8_validate(&state, (const uint8_t *) "\xe2", 1);

    if (ngx_ws_perf_utf8_validate(&state, NULL, 0) != TEST_INCOMPLETE) {
        test_fail("lost the open code point");
    }

    test_end();

    for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        test_begin("utf-8 vector %zu", i);

        state = 0;
        rc = ngx_ws_perf_utf8_validate(&state, (const uint8_t *) v[i].bytes,
                                       v[i].len);

        if (rc != v[i].rc) {
            test_fail("got %d, expected %d", rc, v[i].rc);
        }

        if ((rc == TEST_OK) != (state == 0)) {
            test_fail("state %08x after %d", state, rc);
        }

        for (cut = 0; cut <= v[i].len; cut++) {
            rc = test_utf8_split((const uint8_t *) v[i].bytes, v[i].len, cut);

            if (rc != v[i].rc) {
                test_fail("split at %zu gives %d", cut, rc);
            }
        }

        if (rc == TEST_INVALID) {
            rc = ngx_ws_perf_utf8_validate(&state, (const uint8_t *) "a", 1);

            if (rc != TEST_INVALID) {
                test_fail("failure is not sticky");
            }
        }

        test_end();
    }
}


/* a multi-byte or a bad byte at every offset of an ASCII run */

static void
test_utf8_positions(void)
{
    int        rc;
    size_t     len, at, cut, k;
    uint8_t    buf[48];
    uint32_t   state;
    static const struct {
        const char  *bytes;
        size_t       len;
        int          rc;
    } ins[] = {
        { "\xc3\xa9", 2, TEST_OK },
        { "\xe2\x82\xac", 3, TEST_OK },
        { "\xf0\x9f\x98\x80", 4, TEST_OK },
        { "\xff", 1, TEST_INVALID },
        { "\x80", 1, TEST_INVALID },
        { "\xed\xa0\x80", 3, TEST_INVALID },
    };

    for (k = 0; k < sizeof(ins) / sizeof(ins[0]); k++) {
        test_begin("utf-8 insert %zu at every offset of ASCII", k);

        for (len = ins[k].len; len <= 40; len++) {
            for (at = 0; at + ins[k].len <= len; at++) {
                memset(buf, 'a', len);
                memcpy(buf + at, ins[k].bytes, ins[k].len);

                state = 0;
                rc = ngx_ws_perf_utf8_validate(&state, buf, len);

                if (rc != ins[k].rc) {
                    test_fail("len %zu at %zu: %d", len, at, rc);
                }

                for (cut = 0; cut <= len; cut += 3) {
                    if (test_utf8_split(buf, len, cut) != ins[k].rc) {
                        test_fail("len %zu at %zu cut %zu", len, at, cut);
                    }
                }
            }
        }

        test_end();
    }
}


/*
 * An independent reference: decode each sequence to the range of code
 * points it can still become, and check that range against RFC 3629.
 */

static int
test_utf8_ref(const uint8_t *s, size_t n)
{
    size_t    i, j, k, missing;
    uint32_t  lo, hi, min, max;

    for (i = 0; i < n; i += k + 1) {

        if (s[i] < 0x80) {
            k = 0;
            continue;
        }

        if (s[i] >= 0xc0 && s[i] < 0xe0) {
            k = 1;
            lo = s[i] & 0x1f;
            min = 0x80;
            max = 0x7ff;

        } else if (s[i] >= 0xe0 && s[i] < 0xf0) {
            k = 2;
            lo = s[i] & 0x0f;
            min = 0x800;
            max = 0xffff;

        } else if (s[i] >= 0xf0 && s[i] < 0xf8) {
            k = 3;
            lo = s[i] & 0x07;
            min = 0x10000;
            max = 0x10ffff;

        } else {
            return TEST_INVALID;
        }

        for (j = 1; j <= k && i + j < n; j++) {
            if ((s[i + j] & 0xc0) != 0x80) {
                return TEST_INVALID;
            }

            lo = (lo << 6) | (s[i + j] & 0x3f);
        }

        /* the bytes still missing may be anything from 0x80 to 0xbf */
        missing = k + 1 - j;
        hi = lo;

        for (j = 0; j < missing; j++) {
            lo = lo << 6;
            hi = (hi << 6) | 0x3f;
        }

        if (lo < min) {
            lo = min;
        }

        if (hi > max) {
            hi = max;
        }

        if (lo > hi || (lo >= 0xd800 && hi <= 0xdfff)) {
            return TEST_INVALID;
        }

        if (missing) {
            return TEST_INCOMPLETE;
        }
    }

    return TEST_OK;
}


static int
test_utf8_split(const uint8_t *s, size_t n, size_t cut)
{
    int       rc;
    uint32_t  state;

    state = 0;
    rc = ngx_ws_perf_utf8_validate(&state, s, cut);

    if (rc == TEST_INVALID) {
        return rc;
    }

    return ngx_ws_perf_utf8_validate(&state, s + cut, n - cut);
}


static void
test_utf8_exhaustive(void)
{
    int             ref, rc;
    size_t          n, i;
    uint8_t         s[4];
    uint32_t        state, x, y;
    static uint8_t  interesting[] = {
        0x00, 0x41, 0x7f, 0x80, 0x81, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0,
        0xc2, 0xe0, 0xed, 0xf0, 0xf4, 0xff
    };

    test_begin("utf-8 against the reference, all 1-3 byte inputs");

    for (n = 1; n <= 3; n++) {
        for (x = 0; x < (1u << (8 * n)); x++) {
            for (i = 0; i < n; i++) {
                s[i] = (uint8_t) (x >> (8 * i));
            }

            /* 3-byte inputs starting with ASCII add nothing new */
            if (n == 3 && s[0] < 0x80 && s[0] != 'a') {
                continue;
            }

            ref = test_utf8_ref(s, n);

            state = 0;
            rc = ngx_ws_perf_utf8_validate(&state, s, n);

            if (rc != ref) {
                test_fail("%02x %02x %02x (len %zu): %d, reference %d",
                          s[0], n > 1 ? s[1] : 0, n > 2 ? s[2] : 0, n, rc,
                          ref);
            }

            for (i = 1; i < n; i++) {
                if (test_utf8_split(s, n, i) != ref) {
                    test_fail("split %zu of %02x %02x %02x", i, s[0], s[1],
                              n > 2 ? s[2] : 0);
                }
            }
        }
    }

    test_end();

    test_begin("utf-8 against the reference, 4-byte inputs");

    for (x = 0; x < (8u << 18) + 5 * 17 * 17 * 17; x++) {

        if (x < (8u << 18)) {
            /* every lead 0xf0..0xf7 with every continuation byte */
            s[0] = (uint8_t) (0xf0 | (x >> 18));
            s[1] = (uint8_t) (0x80 | ((x >> 12) & 0x3f));
            s[2] = (uint8_t) (0x80 | ((x >> 6) & 0x3f));
            s[3] = (uint8_t) (0x80 | (x & 0x3f));

        } else {
            /* valid leads with bytes from either side of each boundary */
            y = x - (8u << 18);
            s[0] = (uint8_t) (0xf0 + y % 5);
            s[1] = interesting[(y / 5) % 17];
            s[2] = interesting[(y / 85) % 17];
            s[3] = interesting[(y / 1445) % 17];
        }

        ref = test_utf8_ref(s, 4);

        state = 0;
        rc = ngx_ws_perf_utf8_validate(&state, s, 4);

        if (rc != ref) {
            test_fail("%02x %02x %02x %02x: %d, reference %d", s[0], s[1],
                      s[2], s[3], rc, ref);
        }

        if (test_utf8_split(s, 4, 1 + x % 3) != ref) {
            test_fail("split of %02x %02x %02x %02x", s[0], s[1], s[2],
                      s[3]);
        }
    }

    test_end();
}


/* encode as a client (masked) and parse as a server, and the reverse */

static void
test_round_trip(void)
{
    int              server;
    char             name[80];
    size_t           i, j, k, hsize, len;
    uint8_t         *payload, mask[4], hdr[NGX_WS_PERF_FRAME_HEADER_MAX];
    test_buf_t       in, expect;
    static size_t    lens[] = {
        0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 124, 125, 126, 127, 1000,
        65535, 65536, 100003
    };
    static unsigned  ops[] = { 0x1, 0x2, 0x8, 0x9, 0xa };

    for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        for (j = 0; j < sizeof(ops) / sizeof(ops[0]); j++) {
            for (k = 0; k < 2; k++) {

                len = lens[i];

                if ((ops[j] & 0x08) && len > 125) {
                    continue;
                }

                if (ops[j] == 0x8 && len == 1) {
                    continue;
                }

                server = (k == 0);

                payload = malloc(len + 1);
                if (payload == NULL) {
                    return;
                }

                if (ops[j] == 0x1) {
                    test_fill_text(payload, len);

                } else if (ops[j] == 0x8 && len >= 2) {
                    payload[0] = 0x0b;
                    payload[1] = 0xb8;
                    test_fill_text(payload + 2, len - 2);

                } else {
                    test_fill(payload, len, (unsigned) (i * 7 + j));
                }

                memset(&in, 0, sizeof(test_buf_t));
                memset(&expect, 0, sizeof(test_buf_t));

                test_fill(mask, 4, (unsigned) (i + 100 * j));

                hsize = ngx_ws_perf_frame_header_size(len, server);

                if (ngx_ws_perf_frame_encode_header(hdr, ops[j], 1, len,
                                                    server ? mask : NULL)
                    != hsize)
                {
                    test_begin("round trip header size %zu", len);
                    test_fail("encode_header != header_size");
                    test_end();
                }

                test_buf_add(&in, hdr, hsize);
                test_buf_add(&in, payload, len);

                if (server) {
                    ngx_ws_perf_frame_mask(in.data + hsize, len, mask, 0);
                }

                test_buf_printf(&expect, "H%x/1/%zu ", ops[j], len);

                if (ops[j] & 0x08) {
                    test_buf_printf(&expect, "C%x %u m0/0 '", ops[j],
                                    (ops[j] == 0x8 && len >= 2) ? 3000 : 0);

                } else {
                    test_buf_printf(&expect, "E%x/1 m%x/%zu '", ops[j],
                                    ops[j], len);
                }

                test_buf_escape(&expect, payload, len);
                test_buf_printf(&expect, "' ");

                snprintf(name, sizeof(name), "round trip op 0x%x len %zu %s",
                         ops[j], len, server ? "client to server"
                                             : "server to client");

                test_expect(name, &in, server, 0, test_buf_str(&expect));

                free(expect.data);
                free(payload);
            }
        }
    }
}


/* a mixed stream cut into three pieces at every pair of offsets */

static void
test_mixed_stream(void)
{
    size_t      cuts[2];
    test_run_t  whole, r;
    test_buf_t  in;

    memset(&in, 0, sizeof(test_buf_t));
    test_put(&in, TEST_FIN | 0x1, "", 0, 1);
    test_put(&in, 0x1, "\xf0\x9f", 2, 1);
    test_put(&in, TEST_FIN | 0x9, "ping", 4, 1);
    test_put(&in, 0x0, "\x98\x80 x", 4, 1);
    test_put(&in, TEST_FIN | 0xa, "", 0, 1);
    test_put(&in, TEST_FIN | 0x0, "\xc3\xa9", 2, 1);
    test_put(&in, TEST_FIN | 0x2, "\x01\x02\x03\x04\x05\x06\x07\x08\x09", 9,
             1);
    test_put(&in, TEST_FIN | 0x8, "\x03\xe8" "done", 6, 1);

    test_begin("mixed stream cut in three at every pair of offsets");

    test_parse(&in, TEST_SERVER, 0, NULL, 0, &whole);

    if (strcmp(test_buf_str(&whole.trace),
               "H1/1/0 E1/1 m1/0 '' H1/0/2 E1/0 m1/2 '\\xf0\\x9f' "
               "H9/1/4 C9 0 m1/2 'ping' "
               "H0/0/4 E0/0 m1/6 '\\x98\\x80 x' Ha/1/0 Ca 0 m1/6 '' "
               "H0/1/2 E0/1 m1/8 '\\xc3\\xa9' "
               "H2/1/9 E2/1 m2/9 '\\x01\\x02\\x03\\x04\\x05\\x06\\x07"
               "\\x08\\x09' H8/1/6 C8 1000 m0/0 '\\x03\\xe8done' ") != 0)
    {
        test_fail("whole gives \"%s\"", whole.trace.data);
    }

    for (cuts[0] = 0; cuts[0] <= in.len; cuts[0]++) {
        for (cuts[1] = cuts[0]; cuts[1] <= in.len; cuts[1]++) {
            test_parse(&in, TEST_SERVER, 0, cuts, 2, &r);

            if (strcmp(test_buf_str(&r.trace),
                       (char *) whole.trace.data) != 0)
            {
                test_fail("cuts %zu %zu give \"%s\"", cuts[0], cuts[1],
                          r.trace.data);
            }

            test_run_free(&r);
        }
    }

    test_run_free(&whole);
    test_end();

    test_expect("mixed stream, two pieces", &in, TEST_SERVER, 0, NULL);
}


static void
test_sticky_error(void)
{
    uint8_t                     *pos, *last;
    uint8_t                      buf[16];
    ngx_ws_perf_frame_parser_t   p;

    test_begin("ERROR is sticky and keeps its code");

    memcpy(buf, "\xc1\x80\x00\x00\x00\x00\x81\x80\x00\x00\x00\x00", 12);

    ngx_ws_perf_frame_parser_init(&p, 0, 1);

    pos = buf;
    last = buf + 12;

    if (ngx_ws_perf_frame_parse(&p, &pos, last) != NGX_WS_PERF_FRAME_ERROR
        || p.close_code != 1002 || p.error == NULL)
    {
        test_fail("first call");
    }

    pos = buf + 6;

    if (ngx_ws_perf_frame_parse(&p, &pos, last) != NGX_WS_PERF_FRAME_ERROR
        || p.close_code != 1002)
    {
        test_fail("second call");
    }

    test_end();
}
