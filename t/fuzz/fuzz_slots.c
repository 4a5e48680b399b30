
/*
 * Copyright (C) ngx_ws_perf_module authors
 */


/*
 * libFuzzer target of what a Redis Cluster node answers about its slots.
 * The input's first byte picks the answering node's address and whether
 * the rest is a CLUSTER SLOTS reply in RESP (read by hiredis's reader, as
 * on the module's links) or the text of an error reply (MOVED, ASK).
 * Whatever passes must describe a map or a redirection a worker can use:
 * owners among the masters, slots in range, numeric addresses.
 */


#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <hiredis/hiredis.h>
#include "ngx_ws_perf_slots.h"
#include "fuzz_resp.h"


#define FUZZ_CHECK(expr)                                                     \
    if (!(expr)) {                                                           \
        __builtin_trap();                                                    \
    }


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *__ubsan_default_options(void);

static void fuzz_map(const redisReply *r, const char *host);
static void fuzz_node(const ngx_ws_perf_slots_node_t *node);
static void fuzz_redirect(const uint8_t *p, size_t len, const char *host);


static const char  *fuzz_hosts[4] = { NULL, "127.0.0.1", "::1", "" };

static ngx_ws_perf_slots_t  fuzz_slots;


const char *
__ubsan_default_options(void)
{
    return "halt_on_error=1:print_stacktrace=1";
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char  *host;

    if (size == 0 || fuzz_huge(data, size)) {
        return 0;
    }

    host = fuzz_hosts[data[0] & 3];

    if (data[0] & 4) {
        fuzz_redirect(data + 1, size - 1, host);
        return 0;
    }

    fuzz_replies(data + 1, size - 1, fuzz_map, host);

    return 0;
}


static void
fuzz_map(const redisReply *r, const char *host)
{
    size_t                           i, owned;
    const ngx_ws_perf_slots_node_t  *node;

    if (ngx_ws_perf_slots_parse(r, host, &fuzz_slots) != 0) {
        FUZZ_CHECK(fuzz_slots.covered == 0 && fuzz_slots.nnodes == 0);
        return;
    }

    FUZZ_CHECK(fuzz_slots.nnodes <= NGX_WS_PERF_SLOTS_NODES);
    FUZZ_CHECK(fuzz_slots.skipped <= r->elements);

    owned = 0;

    for (i = 0; i < NGX_WS_PERF_SLOTS; i++) {
        node = ngx_ws_perf_slots_owner(&fuzz_slots, (unsigned) i);

        if (node == NULL) {
            FUZZ_CHECK(fuzz_slots.owner[i] == NGX_WS_PERF_SLOTS_NONE);
            continue;
        }

        owned++;
    }

    FUZZ_CHECK(owned == fuzz_slots.covered);

    for (i = 0; i < fuzz_slots.nnodes; i++) {
        fuzz_node(&fuzz_slots.nodes[i]);
    }
}


static void
fuzz_node(const ngx_ws_perf_slots_node_t *node)
{
    size_t         i, len;
    char           c;
    unsigned char  addr[sizeof(struct in6_addr)];

    len = strlen(node->host);

    FUZZ_CHECK(len > 0 && len <= NGX_WS_PERF_SLOTS_HOST_MAX);
    FUZZ_CHECK(node->port >= 1 && node->port <= 65535);

    for (i = 0; i < len; i++) {
        c = node->host[i];
        FUZZ_CHECK((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')
                   || (c >= 'A' && c <= 'F') || c == '.' || c == ':');
    }

    /* numeric, so that connecting to it never asks a resolver */
    FUZZ_CHECK(inet_pton(AF_INET, node->host, addr) == 1
               || inet_pton(AF_INET6, node->host, addr) == 1);
}


static void
fuzz_redirect(const uint8_t *p, size_t len, const char *host)
{
    ngx_ws_perf_slots_redirect_t  rd;

    if (ngx_ws_perf_slots_redirect((const char *) p, len, host, &rd) != 0) {
        return;
    }

    FUZZ_CHECK(rd.kind == NGX_WS_PERF_SLOTS_MOVED
               || rd.kind == NGX_WS_PERF_SLOTS_ASK);
    FUZZ_CHECK(rd.slot < NGX_WS_PERF_SLOTS);
    fuzz_node(&rd.node);

    (void) ngx_ws_perf_slot(p, len);
}
