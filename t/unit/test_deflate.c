
/*
 * Copyright (C) ngx_ws_perf_module authors
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "ngx_ws_perf_deflate.h"
#include "check.h"


static ngx_ws_perf_deflate_conf_t  shared = { 15, 0 };
static ngx_ws_perf_deflate_conf_t  window12 = { 12, 0 };
static ngx_ws_perf_deflate_conf_t  context10 = { 15, 10 };
static ngx_ws_perf_deflate_conf_t  context15 = { 15, 15 };


static int
negotiate(const char *offer, const ngx_ws_perf_deflate_conf_t *conf,
    char *answer)
{
    int                           rc;
    size_t                        n;
    ngx_ws_perf_deflate_params_t  params;

    answer[0] = '\0';

    rc = ngx_ws_perf_deflate_negotiate((const uint8_t *) offer,
                                       strlen(offer), conf, &params);

    if (rc == NGX_WS_PERF_DEFLATE_ACCEPTED) {
        n = ngx_ws_perf_deflate_answer(&params, (uint8_t *) answer);
        CHECK(n <= NGX_WS_PERF_DEFLATE_ANSWER_MAX);
        answer[n] = '\0';
    }

    return rc;
}


static void
test_offers(void)
{
    char  a[NGX_WS_PERF_DEFLATE_ANSWER_MAX + 1];

    /* what browsers, python websockets and node ws send */
    CHECK(negotiate("permessage-deflate; client_max_window_bits", &shared, a)
          == NGX_WS_PERF_DEFLATE_ACCEPTED);
    CHECK(strcmp(a, "permessage-deflate; server_no_context_takeover; "
                    "client_no_context_takeover") == 0);

    CHECK(negotiate("permessage-deflate", &shared, a)
          == NGX_WS_PERF_DEFLATE_ACCEPTED);

    CHECK(negotiate("PerMessage-Deflate", &shared, a)
          == NGX_WS_PERF_DEFLATE_ACCEPTED);

    /* other extensions are skipped, with their parameters */
    CHECK(negotiate("x-webkit-deflate-frame; no_context_takeover, "
                    "permessage-deflate; server_no_context_takeover",
                    &shared, a)
          == NGX_WS_PERF_DEFLATE_ACCEPTED);

    CHECK(negotiate("foo; bar=\"a,b;c\"", &shared, a)
          == NGX_WS_PERF_DEFLATE_NONE);

    CHECK(negotiate("", &shared, a) == NGX_WS_PERF_DEFLATE_NONE);
    CHECK(negotiate(" , ,", &shared, a) == NGX_WS_PERF_DEFLATE_NONE);

    /* unknown, repeated, or out of range: that offer is declined */
    CHECK(negotiate("permessage-deflate; foo", &shared, a)
          == NGX_WS_PERF_DEFLATE_NONE);
    CHECK(negotiate("permessage-deflate; server_no_context_takeover; "
                    "server_no_context_takeover", &shared, a)
          == NGX_WS_PERF_DEFLATE_NONE);
    CHECK(negotiate("permessage-deflate; server_no_context_takeover=1",
                    &shared, a)
          == NGX_WS_PERF_DEFLATE_NONE);
    CHECK(negotiate("permessage-deflate; client_max_window_bits=16",
                    &shared, a)
          == NGX_WS_PERF_DEFLATE_NONE);
    CHECK(negotiate("permessage-deflate; client_max_window_bits=7",
                    &shared, a)
          == NGX_WS_PERF_DEFLATE_NONE);
    CHECK(negotiate("permessage-deflate; client_max_window_bits=09",
                    &shared, a)
          == NGX_WS_PERF_DEFLATE_NONE);
    CHECK(negotiate("permessage-deflate; server_max_window_bits",
                    &shared, a)
          == NGX_WS_PERF_DEFLATE_NONE);

    /* the first acceptable offer wins, the declined one is passed over */
    CHECK(negotiate("permessage-deflate; server_max_window_bits=10, "
                    "permessage-deflate; client_max_window_bits",
                    &shared, a)
          == NGX_WS_PERF_DEFLATE_ACCEPTED);
    CHECK(strcmp(a, "permessage-deflate; server_no_context_takeover; "
                    "client_no_context_takeover") == 0);

    /* a window the server compresses with is answered */
    CHECK(negotiate("permessage-deflate; server_max_window_bits=\"15\"",
                    &shared, a)
          == NGX_WS_PERF_DEFLATE_ACCEPTED);
    CHECK(strcmp(a, "permessage-deflate; server_no_context_takeover; "
                    "client_no_context_takeover; "
                    "server_max_window_bits=15") == 0);

    CHECK(negotiate("permessage-deflate; server_max_window_bits=12",
                    &window12, a)
          == NGX_WS_PERF_DEFLATE_ACCEPTED);
    CHECK(strstr(a, "server_max_window_bits=12") != NULL);

    CHECK(negotiate("permessage-deflate; server_max_window_bits=11",
                    &window12, a)
          == NGX_WS_PERF_DEFLATE_NONE);

    /* the server's own no_context_takeover is fine to offer */
    CHECK(negotiate("permessage-deflate;server_no_context_takeover;"
                    "client_no_context_takeover", &shared, a)
          == NGX_WS_PERF_DEFLATE_ACCEPTED);

    /* malformed */
    CHECK(negotiate("permessage-deflate; client_max_window_bits=\"15",
                    &shared, a)
          == NGX_WS_PERF_DEFLATE_SYNTAX);
    CHECK(negotiate("permessage-deflate;; x", &shared, a)
          == NGX_WS_PERF_DEFLATE_SYNTAX);
    CHECK(negotiate("permessage-deflate x", &shared, a)
          == NGX_WS_PERF_DEFLATE_SYNTAX);
    CHECK(negotiate("permessage-deflate; a=", &shared, a)
          == NGX_WS_PERF_DEFLATE_SYNTAX);
    CHECK(negotiate("permessage-deflate; a=\"\"", &shared, a)
          == NGX_WS_PERF_DEFLATE_SYNTAX);
    CHECK(negotiate("=x", &shared, a) == NGX_WS_PERF_DEFLATE_SYNTAX);

    /* accepted before the malformed part: accepted */
    CHECK(negotiate("permessage-deflate, \"", &shared, a)
          == NGX_WS_PERF_DEFLATE_ACCEPTED);

    /* per-connection contexts, when the operator allows them */
    CHECK(negotiate("permessage-deflate; client_max_window_bits",
                    &context10, a)
          == NGX_WS_PERF_DEFLATE_ACCEPTED);
    CHECK(strcmp(a, "permessage-deflate; server_no_context_takeover; "
                    "client_max_window_bits=10") == 0);

    CHECK(negotiate("permessage-deflate; client_max_window_bits=9",
                    &context10, a)
          == NGX_WS_PERF_DEFLATE_ACCEPTED);
    CHECK(strstr(a, "client_max_window_bits=9") != NULL);

    CHECK(negotiate("permessage-deflate", &context10, a)
          == NGX_WS_PERF_DEFLATE_ACCEPTED);
    CHECK(strstr(a, "client_no_context_takeover") != NULL);

    CHECK(negotiate("permessage-deflate", &context15, a)
          == NGX_WS_PERF_DEFLATE_ACCEPTED);
    CHECK(strcmp(a, "permessage-deflate; server_no_context_takeover") == 0);

    CHECK(negotiate("permessage-deflate; client_no_context_takeover",
                    &context15, a)
          == NGX_WS_PERF_DEFLATE_ACCEPTED);
    CHECK(strstr(a, "client_no_context_takeover") != NULL);
}


/* what the server sends inflates with any window, as a client would */
static void
test_roundtrip(size_t len, unsigned wbits)
{
    int                     rc;
    size_t                  n, got, w;
    uint8_t                *in, *packed, *back;
    z_stream                zs;
    ngx_ws_perf_inflate_t   inf;

    in = malloc(len);
    packed = malloc(len + 64);
    back = malloc(len + 1);

    for (n = 0; n < len; n++) {
        in[n] = (uint8_t) ("{\"type\":\"msg\",\"data\":\"hello\"} "[n % 31]);
    }

    memset(&zs, 0, sizeof(z_stream));
    CHECK(deflateInit2(&zs, 1, Z_DEFLATED, -(int) wbits, 8,
                       Z_DEFAULT_STRATEGY) == Z_OK);

    n = ngx_ws_perf_deflate_message(&zs, in, len, packed, len + 64);
    CHECK(n > 0 && n < len);

    /* twice in a row: the stream starts afresh each time */
    CHECK(ngx_ws_perf_deflate_message(&zs, in, len, packed, len + 64) == n);

    deflateEnd(&zs);

    memset(&inf, 0, sizeof(ngx_ws_perf_inflate_t));
    CHECK(inflateInit2(&inf.zs, -15) == Z_OK);

    ngx_ws_perf_inflate_start(&inf, packed, n);
    got = 0;

    /* in small pieces of output, as a bounded caller would */
    for ( ;; ) {
        rc = ngx_ws_perf_inflate_run(&inf, back + got, 1000, &w);
        got += w;

        if (rc != NGX_WS_PERF_INFLATE_FULL || got > len) {
            break;
        }
    }

    CHECK(rc == NGX_WS_PERF_INFLATE_DONE);
    CHECK(got == len && memcmp(in, back, len) == 0);

    inflateEnd(&inf.zs);

    free(in);
    free(packed);
    free(back);
}


static void
test_inflate_bad(void)
{
    int                     rc;
    size_t                  w;
    uint8_t                 out[64];
    ngx_ws_perf_inflate_t   inf;

    /* block type 3 is reserved */
    static const uint8_t  bad[] = { 0xff, 0xff, 0xff, 0xff };

    memset(&inf, 0, sizeof(ngx_ws_perf_inflate_t));
    CHECK(inflateInit2(&inf.zs, -15) == Z_OK);

    ngx_ws_perf_inflate_start(&inf, bad, sizeof(bad));
    rc = ngx_ws_perf_inflate_run(&inf, out, sizeof(out), &w);
    CHECK(rc == NGX_WS_PERF_INFLATE_CORRUPT);

    /* an empty message is an empty stored block's worth: nothing */
    (void) inflateReset(&inf.zs);
    ngx_ws_perf_inflate_start(&inf, (const uint8_t *) "\x00", 1);
    rc = ngx_ws_perf_inflate_run(&inf, out, sizeof(out), &w);
    CHECK(rc == NGX_WS_PERF_INFLATE_DONE && w == 0);

    inflateEnd(&inf.zs);
}


static void
test_not_smaller(void)
{
    size_t    i;
    uint8_t   in[256], out[512];
    z_stream  zs;

    /* noise does not shrink: the caller sends it as it is */
    for (i = 0; i < sizeof(in); i++) {
        in[i] = (uint8_t) (i * 2654435761u >> 13);
    }

    memset(&zs, 0, sizeof(z_stream));
    CHECK(deflateInit2(&zs, 9, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY)
          == Z_OK);

    CHECK(ngx_ws_perf_deflate_message(&zs, in, sizeof(in), out, sizeof(out))
          == 0);
    CHECK(ngx_ws_perf_deflate_message(&zs, in, 0, out, sizeof(out)) == 0);

    deflateEnd(&zs);
}


int
main(void)
{
    test_offers();
    test_roundtrip(200, 15);
    test_roundtrip(100000, 15);
    test_roundtrip(100000, 9);
    test_inflate_bad();
    test_not_smaller();

    return check_report();
}
