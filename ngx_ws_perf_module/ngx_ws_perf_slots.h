
/*
 * Copyright (C) ngx_ws_perf_module authors
 */


#ifndef _NGX_WS_PERF_SLOTS_H_INCLUDED_
#define _NGX_WS_PERF_SLOTS_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>
#include <hiredis/hiredis.h>


/*
 * Redis Cluster's key space: a key's hash slot, the map of slots to the
 * masters that own them (from CLUSTER SLOTS), and the redirections
 * (MOVED, ASK) a master answers for a slot it does not serve.  Pure: no
 * nginx types, so that it is unit-tested and fuzzed on its own.
 */


#define NGX_WS_PERF_SLOTS            16384
#define NGX_WS_PERF_SLOTS_NODES      64
#define NGX_WS_PERF_SLOTS_NONE       0xff
#define NGX_WS_PERF_SLOTS_HOST_MAX   45     /* INET6_ADDRSTRLEN - 1 */

#define NGX_WS_PERF_SLOTS_MOVED      1
#define NGX_WS_PERF_SLOTS_ASK        2


/* a master, by its numeric address: a worker never resolves a name */
typedef struct {
    char                        host[NGX_WS_PERF_SLOTS_HOST_MAX + 1];
    unsigned                    port;
} ngx_ws_perf_slots_node_t;


typedef struct {
    size_t                      nnodes;
    size_t                      covered;    /* slots with an owner */
    size_t                      skipped;    /* ranges not understood */
    ngx_ws_perf_slots_node_t    nodes[NGX_WS_PERF_SLOTS_NODES];
    uint8_t                     owner[NGX_WS_PERF_SLOTS];
} ngx_ws_perf_slots_t;


/* MOVED or ASK: the slot and where it is served now */
typedef struct {
    unsigned                    kind;
    unsigned                    slot;
    ngx_ws_perf_slots_node_t    node;
} ngx_ws_perf_slots_redirect_t;


/* the slot of a key: CRC16 of its hash tag ("{...}") or of all of it */
unsigned ngx_ws_perf_slot(const uint8_t *key, size_t len);

/*
 * A CLUSTER SLOTS reply into map: -1 for a reply that is not an array,
 * or has more ranges than there are slots; otherwise 0, with
 * map->covered the slots that have an owner (16384 when the map is
 * whole) and map->skipped the ranges left out for a wrong shape, an
 * address that is not numeric, slots that a range before it gave an
 * owner, or more than NGX_WS_PERF_SLOTS_NODES masters.  A master's empty
 * or nil address means the node that answered: "default_host".
 */
int ngx_ws_perf_slots_parse(const redisReply *r, const char *default_host,
    ngx_ws_perf_slots_t *map);

/* the master of a slot, or NULL */
const ngx_ws_perf_slots_node_t *ngx_ws_perf_slots_owner(
    const ngx_ws_perf_slots_t *map, unsigned slot);

/*
 * An error reply's text "MOVED 3999 127.0.0.1:6381" or "ASK ...": 0 and
 * rd filled, or -1 for any other text.
 */
int ngx_ws_perf_slots_redirect(const char *text, size_t len,
    const char *default_host, ngx_ws_perf_slots_redirect_t *rd);


#endif /* _NGX_WS_PERF_SLOTS_H_INCLUDED_ */
