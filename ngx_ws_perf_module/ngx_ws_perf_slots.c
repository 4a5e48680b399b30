
/*
 * Copyright (C) ngx_ws_perf_module authors
 */


#include <string.h>
#include <arpa/inet.h>
#include "ngx_ws_perf_slots.h"


static uint16_t ngx_ws_perf_crc16(const uint8_t *p, size_t len);
static int ngx_ws_perf_slots_range(const redisReply *e,
    const char *default_host, ngx_ws_perf_slots_t *map);
static int ngx_ws_perf_slots_node(const redisReply *n,
    const char *default_host, ngx_ws_perf_slots_node_t *node);
static int ngx_ws_perf_slots_host(const char *p, size_t len,
    const char *default_host, char *host);
static int ngx_ws_perf_slots_number(const char *p, size_t len,
    unsigned max, unsigned *n);


/* CRC16-CCITT (XMODEM): polynomial 0x1021, initial value 0 */

static uint16_t
ngx_ws_perf_crc16(const uint8_t *p, size_t len)
{
    size_t    i;
    unsigned  bit;
    uint16_t  crc;

    crc = 0;

    for (i = 0; i < len; i++) {
        crc ^= (uint16_t) (p[i] << 8);

        for (bit = 0; bit < 8; bit++) {
            crc = (crc & 0x8000) ? (uint16_t) ((crc << 1) ^ 0x1021)
                                 : (uint16_t) (crc << 1);
        }
    }

    return crc;
}


unsigned
ngx_ws_perf_slot(const uint8_t *key, size_t len)
{
    const uint8_t  *open, *close;

    open = memchr(key, '{', len);

    if (open != NULL) {
        close = memchr(open + 1, '}', len - (open + 1 - key));

        /* "{}" is no tag: the whole key is hashed */
        if (close != NULL && close > open + 1) {
            key = open + 1;
            len = close - key;
        }
    }

    return ngx_ws_perf_crc16(key, len) & (NGX_WS_PERF_SLOTS - 1);
}


int
ngx_ws_perf_slots_parse(const redisReply *r, const char *default_host,
    ngx_ws_perf_slots_t *map)
{
    size_t  i;

    map->nnodes = 0;
    map->covered = 0;
    map->skipped = 0;
    memset(map->owner, NGX_WS_PERF_SLOTS_NONE, sizeof(map->owner));

    /* a range holds a slot at least: more ranges than slots is no map */
    if (r == NULL || r->type != REDIS_REPLY_ARRAY
        || r->elements > NGX_WS_PERF_SLOTS)
    {
        return -1;
    }

    for (i = 0; i < r->elements; i++) {
        if (ngx_ws_perf_slots_range(r->element[i], default_host, map) != 0) {
            map->skipped++;
        }
    }

    return 0;
}


/* {start, end, master, replica...}: the master takes the range */

static int
ngx_ws_perf_slots_range(const redisReply *e, const char *default_host,
    ngx_ws_perf_slots_t *map)
{
    size_t                     k;
    long long                  start, end;
    ngx_ws_perf_slots_node_t   node;
    static uint8_t             none[NGX_WS_PERF_SLOTS];

    if (e == NULL || e->type != REDIS_REPLY_ARRAY || e->elements < 3
        || e->element[0]->type != REDIS_REPLY_INTEGER
        || e->element[1]->type != REDIS_REPLY_INTEGER)
    {
        return -1;
    }

    start = e->element[0]->integer;
    end = e->element[1]->integer;

    if (start < 0 || end < start || end >= NGX_WS_PERF_SLOTS) {
        return -1;
    }

    if (ngx_ws_perf_slots_node(e->element[2], default_host, &node) != 0) {
        return -1;
    }

    /* a range that overlaps one before it is left out, as contradicted */
    if (none[0] != NGX_WS_PERF_SLOTS_NONE) {
        memset(none, NGX_WS_PERF_SLOTS_NONE, sizeof(none));
    }

    if (memcmp(&map->owner[start], none, (size_t) (end - start + 1)) != 0) {
        return -1;
    }

    for (k = 0; k < map->nnodes; k++) {
        if (map->nodes[k].port == node.port
            && strcmp(map->nodes[k].host, node.host) == 0)
        {
            break;
        }
    }

    if (k == map->nnodes) {
        if (map->nnodes == NGX_WS_PERF_SLOTS_NODES) {
            return -1;
        }

        map->nodes[map->nnodes++] = node;
    }

    memset(&map->owner[start], (int) k, (size_t) (end - start + 1));
    map->covered += (size_t) (end - start + 1);

    return 0;
}


/*
 * {host, port, id, ...}: only the first two are read; a nil host is
 * Redis 7's "unknown endpoint": the node that answered, as "" is
 */

static int
ngx_ws_perf_slots_node(const redisReply *n, const char *default_host,
    ngx_ws_perf_slots_node_t *node)
{
    if (n == NULL || n->type != REDIS_REPLY_ARRAY || n->elements < 2
        || (n->element[0]->type != REDIS_REPLY_STRING
            && n->element[0]->type != REDIS_REPLY_NIL)
        || n->element[1]->type != REDIS_REPLY_INTEGER
        || n->element[1]->integer < 1 || n->element[1]->integer > 65535)
    {
        return -1;
    }

    node->port = (unsigned) n->element[1]->integer;

    if (n->element[0]->type == REDIS_REPLY_NIL) {
        return ngx_ws_perf_slots_host("", 0, default_host, node->host);
    }

    return ngx_ws_perf_slots_host(n->element[0]->str, n->element[0]->len,
                                  default_host, node->host);
}


/*
 * A numeric IPv4 or IPv6 address, copied to host; "" is default_host
 * (Redis's "this node", also its "?" for an unknown endpoint is refused).
 * Anything inet_pton() does not take is a name ("cafe" too), which only
 * a blocking resolver would turn into an address.
 */

static int
ngx_ws_perf_slots_host(const char *p, size_t len, const char *default_host,
    char *host)
{
    unsigned char  addr[sizeof(struct in6_addr)];

    if (len == 0) {
        if (default_host == NULL) {
            return -1;
        }

        p = default_host;
        len = strlen(default_host);
    }

    if (len == 0 || len > NGX_WS_PERF_SLOTS_HOST_MAX) {
        return -1;
    }

    memcpy(host, p, len);
    host[len] = '\0';

    if (inet_pton(AF_INET, host, addr) != 1
        && inet_pton(AF_INET6, host, addr) != 1)
    {
        host[0] = '\0';
        return -1;
    }

    return 0;
}


const ngx_ws_perf_slots_node_t *
ngx_ws_perf_slots_owner(const ngx_ws_perf_slots_t *map, unsigned slot)
{
    unsigned  k;

    if (slot >= NGX_WS_PERF_SLOTS) {
        return NULL;
    }

    k = map->owner[slot];

    return k < map->nnodes ? &map->nodes[k] : NULL;
}


int
ngx_ws_perf_slots_redirect(const char *text, size_t len,
    const char *default_host, ngx_ws_perf_slots_redirect_t *rd)
{
    const char  *p, *last, *space, *colon;

    last = text + len;

    if (len > 6 && memcmp(text, "MOVED ", 6) == 0) {
        rd->kind = NGX_WS_PERF_SLOTS_MOVED;
        p = text + 6;

    } else if (len > 4 && memcmp(text, "ASK ", 4) == 0) {
        rd->kind = NGX_WS_PERF_SLOTS_ASK;
        p = text + 4;

    } else {
        return -1;
    }

    space = memchr(p, ' ', last - p);

    if (space == NULL
        || ngx_ws_perf_slots_number(p, space - p, NGX_WS_PERF_SLOTS - 1,
                                    &rd->slot)
           != 0)
    {
        return -1;
    }

    p = space + 1;

    /* the port follows the last colon: an IPv6 address has several */
    for (colon = last; colon > p && colon[-1] != ':'; colon--) {
        /* void */
    }

    if (colon == p
        || ngx_ws_perf_slots_number(colon, last - colon, 65535,
                                    &rd->node.port)
           != 0
        || rd->node.port == 0)
    {
        return -1;
    }

    return ngx_ws_perf_slots_host(p, colon - 1 - p, default_host,
                                  rd->node.host);
}


/* decimal digits only, 1 to 5 of them, at most max */

static int
ngx_ws_perf_slots_number(const char *p, size_t len, unsigned max,
    unsigned *n)
{
    size_t    i;
    unsigned  v;

    if (len == 0 || len > 5) {
        return -1;
    }

    v = 0;

    for (i = 0; i < len; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return -1;
        }

        v = v * 10 + (unsigned) (p[i] - '0');
    }

    if (v > max) {
        return -1;
    }

    *n = v;

    return 0;
}
