
/*
 * Copyright (C) ngx_ws_perf_module authors
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ngx_ws_perf_slots.h"
#include "check.h"
#include "resp.h"


/* three masters, each with one replica, as redis-cli --cluster creates */
#define THREE                                                                \
    "*3\r\n"                                                                 \
    "*4\r\n:0\r\n:5460\r\n"                                                  \
    "*3\r\n$9\r\n127.0.0.1\r\n:7000\r\n$2\r\nid\r\n"                         \
    "*3\r\n$9\r\n127.0.0.1\r\n:7004\r\n$2\r\nid\r\n"                         \
    "*4\r\n:5461\r\n:10922\r\n"                                              \
    "*3\r\n$9\r\n127.0.0.1\r\n:7001\r\n$2\r\nid\r\n"                         \
    "*3\r\n$9\r\n127.0.0.1\r\n:7005\r\n$2\r\nid\r\n"                         \
    "*4\r\n:10923\r\n:16383\r\n"                                             \
    "*3\r\n$9\r\n127.0.0.1\r\n:7002\r\n$2\r\nid\r\n"                         \
    "*3\r\n$9\r\n127.0.0.1\r\n:7003\r\n$2\r\nid\r\n"



static unsigned
slot(const char *key)
{
    return ngx_ws_perf_slot((const uint8_t *) key, strlen(key));
}


/* the values Redis's CLUSTER KEYSLOT gives, and its hash tag rules */

static void
test_slot(void)
{
    CHECK(slot("123456789") == (0x31c3 & 16383));
    CHECK(slot("foo") == 12182);
    CHECK(slot("bar") == 5061);
    CHECK(slot("") == 0);

    CHECK(slot("{user1000}.following") == slot("{user1000}.followers"));
    CHECK(slot("{user1000}.following") == slot("user1000"));
    CHECK(slot("foo{}{bar}") == slot("foo{}{bar}"));
    CHECK(slot("foo{}{bar}") != slot("bar"));
    CHECK(slot("foo{{bar}}zap") == slot("{bar"));
    CHECK(slot("foo{bar}{zap}") == slot("bar"));
    CHECK(slot("{bar") == ngx_ws_perf_slot((const uint8_t *) "{bar", 4));
    CHECK(slot("ws_perf:{ch:news}#s") == slot("ws_perf:{ch:news}"));
}


static void
test_parse(void)
{
    redisReply                      *r;
    ngx_ws_perf_slots_t             *map;
    const ngx_ws_perf_slots_node_t  *n;

    map = malloc(sizeof(ngx_ws_perf_slots_t));
    if (map == NULL) {
        exit(1);
    }

    r = reply(THREE);
    CHECK(ngx_ws_perf_slots_parse(r, "10.0.0.1", map) == 0);
    CHECK(map->covered == NGX_WS_PERF_SLOTS);
    CHECK(map->skipped == 0);
    CHECK(map->nnodes == 3);

    n = ngx_ws_perf_slots_owner(map, slot("foo"));
    CHECK(n != NULL && n->port == 7002 && strcmp(n->host, "127.0.0.1") == 0);
    n = ngx_ws_perf_slots_owner(map, slot("bar"));
    CHECK(n != NULL && n->port == 7000);
    n = ngx_ws_perf_slots_owner(map, 5461);
    CHECK(n != NULL && n->port == 7001);
    CHECK(ngx_ws_perf_slots_owner(map, 16384) == NULL);
    freeReplyObject(r);

    /* an empty address is the node that answered; "?" is refused */
    r = reply("*2\r\n"
              "*3\r\n:0\r\n:99\r\n*2\r\n$0\r\n\r\n:7000\r\n"
              "*3\r\n:100\r\n:199\r\n*2\r\n$1\r\n?\r\n:7001\r\n");
    CHECK(ngx_ws_perf_slots_parse(r, "10.0.0.1", map) == 0);
    CHECK(map->covered == 100 && map->skipped == 1);
    n = ngx_ws_perf_slots_owner(map, 42);
    CHECK(n != NULL && strcmp(n->host, "10.0.0.1") == 0);
    CHECK(ngx_ws_perf_slots_owner(map, 150) == NULL);
    freeReplyObject(r);

    /* names are never resolved in a worker; shapes are checked */
    r = reply("*6\r\n"
              "*3\r\n:0\r\n:9\r\n*2\r\n$9\r\nredis.lan\r\n:7000\r\n"
              "*3\r\n:10\r\n:5\r\n*2\r\n$3\r\n::1\r\n:7000\r\n"
              "*3\r\n:10\r\n:16384\r\n*2\r\n$3\r\n::1\r\n:7000\r\n"
              "*3\r\n:10\r\n:19\r\n*2\r\n$3\r\n::1\r\n:0\r\n"
              "*2\r\n:10\r\n:19\r\n"
              "*3\r\n:10\r\n:19\r\n*2\r\n$3\r\n::1\r\n:7000\r\n");
    CHECK(ngx_ws_perf_slots_parse(r, NULL, map) == 0);
    CHECK(map->covered == 10 && map->skipped == 5 && map->nnodes == 1);
    n = ngx_ws_perf_slots_owner(map, 15);
    CHECK(n != NULL && strcmp(n->host, "::1") == 0);
    freeReplyObject(r);

    r = reply("-ERR This instance has cluster support disabled\r\n");
    CHECK(ngx_ws_perf_slots_parse(r, NULL, map) == -1);
    CHECK(map->covered == 0);
    freeReplyObject(r);

    free(map);
}


/* names that look like hex numbers are names: only inet_pton() decides */

static void
test_hosts(void)
{
    redisReply                      *r;
    ngx_ws_perf_slots_t             *map;
    const ngx_ws_perf_slots_node_t  *n;

    map = malloc(sizeof(ngx_ws_perf_slots_t));
    if (map == NULL) {
        exit(1);
    }

    r = reply("*8\r\n"
              "*3\r\n:0\r\n:0\r\n*2\r\n$4\r\ncafe\r\n:7000\r\n"
              "*3\r\n:1\r\n:1\r\n*2\r\n$9\r\ndead.beef\r\n:7000\r\n"
              "*3\r\n:2\r\n:2\r\n*2\r\n$5\r\n1.2.3\r\n:7000\r\n"
              "*3\r\n:3\r\n:3\r\n*2\r\n$10\r\n127.0.0.1 \r\n:7000\r\n"
              "*3\r\n:4\r\n:4\r\n*2\r\n$9\r\n1.2.3.256\r\n:7000\r\n"
              "*3\r\n:5\r\n:5\r\n*2\r\n$10\r\ndead::beef\r\n:7000\r\n"
              "*3\r\n:6\r\n:6\r\n*2\r\n$16\r\n::ffff:127.0.0.1\r\n"
              ":7000\r\n"
              "*3\r\n:7\r\n:7\r\n*2\r\n$12\r\nfe80::1%eth0\r\n:7000\r\n");
    CHECK(ngx_ws_perf_slots_parse(r, NULL, map) == 0);
    CHECK(map->covered == 2 && map->skipped == 6 && map->nnodes == 2);
    n = ngx_ws_perf_slots_owner(map, 5);
    CHECK(n != NULL && strcmp(n->host, "dead::beef") == 0);
    n = ngx_ws_perf_slots_owner(map, 6);
    CHECK(n != NULL && strcmp(n->host, "::ffff:127.0.0.1") == 0);
    CHECK(ngx_ws_perf_slots_owner(map, 0) == NULL);
    freeReplyObject(r);

    /* a nil address (Redis 7's unknown endpoint) is the node asked */
    r = reply("*1\r\n*3\r\n:0\r\n:16383\r\n*2\r\n$-1\r\n:7000\r\n");
    CHECK(ngx_ws_perf_slots_parse(r, "10.0.0.1", map) == 0);
    CHECK(map->covered == NGX_WS_PERF_SLOTS && map->nnodes == 1);
    CHECK(strcmp(map->nodes[0].host, "10.0.0.1") == 0);
    CHECK(ngx_ws_perf_slots_parse(r, NULL, map) == 0);
    CHECK(map->covered == 0 && map->skipped == 1 && map->nnodes == 0);
    freeReplyObject(r);

    free(map);
}


/* ranges that overlap, more masters than kept, more ranges than slots */

static void
test_bounds(void)
{
    int                              i;
    char                            *p, *resp;
    redisReply                      *r;
    ngx_ws_perf_slots_t             *map;
    const ngx_ws_perf_slots_node_t  *n;

    map = malloc(sizeof(ngx_ws_perf_slots_t));
    resp = malloc(64 * (NGX_WS_PERF_SLOTS + 2));
    if (map == NULL || resp == NULL) {
        exit(1);
    }

    /* the first owner stays: a later range that overlaps it is left out */
    r = reply("*3\r\n"
              "*3\r\n:0\r\n:99\r\n*2\r\n$8\r\n10.0.0.1\r\n:7000\r\n"
              "*3\r\n:50\r\n:150\r\n*2\r\n$8\r\n10.0.0.2\r\n:7000\r\n"
              "*3\r\n:99\r\n:99\r\n*2\r\n$8\r\n10.0.0.1\r\n:7000\r\n");
    CHECK(ngx_ws_perf_slots_parse(r, NULL, map) == 0);
    CHECK(map->covered == 100 && map->skipped == 2 && map->nnodes == 1);
    n = ngx_ws_perf_slots_owner(map, 60);
    CHECK(n != NULL && strcmp(n->host, "10.0.0.1") == 0);
    CHECK(ngx_ws_perf_slots_owner(map, 120) == NULL);
    freeReplyObject(r);

    /* one slot each for 65 masters: the 65th is one too many */
    p = resp + sprintf(resp, "*65\r\n");

    for (i = 0; i < 65; i++) {
        p += sprintf(p, "*3\r\n:%d\r\n:%d\r\n*2\r\n$8\r\n10.0.0.1\r\n"
                     ":%d\r\n", i, i, 7000 + i);
    }

    r = reply(resp);
    CHECK(ngx_ws_perf_slots_parse(r, NULL, map) == 0);
    CHECK(map->nnodes == NGX_WS_PERF_SLOTS_NODES);
    CHECK(map->covered == 64 && map->skipped == 1);
    CHECK(ngx_ws_perf_slots_owner(map, 64) == NULL);
    freeReplyObject(r);

    /* a range holds a slot at least: 16385 ranges are no map */
    p = resp + sprintf(resp, "*%d\r\n", NGX_WS_PERF_SLOTS + 1);

    for (i = 0; i <= NGX_WS_PERF_SLOTS; i++) {
        p += sprintf(p, "*3\r\n:%d\r\n:%d\r\n*2\r\n$8\r\n10.0.0.1\r\n"
                     ":7000\r\n", i % NGX_WS_PERF_SLOTS,
                     i % NGX_WS_PERF_SLOTS);
    }

    r = reply(resp);
    CHECK(ngx_ws_perf_slots_parse(r, NULL, map) == -1);
    CHECK(map->covered == 0 && map->nnodes == 0);
    freeReplyObject(r);

    free(resp);
    free(map);
}


static int
redirect(const char *text, ngx_ws_perf_slots_redirect_t *rd)
{
    return ngx_ws_perf_slots_redirect(text, strlen(text), "10.0.0.1", rd);
}


static void
test_redirect(void)
{
    ngx_ws_perf_slots_redirect_t  rd;

    CHECK(redirect("MOVED 3999 127.0.0.1:6381", &rd) == 0);
    CHECK(rd.kind == NGX_WS_PERF_SLOTS_MOVED && rd.slot == 3999);
    CHECK(rd.node.port == 6381 && strcmp(rd.node.host, "127.0.0.1") == 0);

    CHECK(redirect("ASK 16383 ::1:7000", &rd) == 0);
    CHECK(rd.kind == NGX_WS_PERF_SLOTS_ASK && rd.slot == 16383);
    CHECK(rd.node.port == 7000 && strcmp(rd.node.host, "::1") == 0);

    CHECK(redirect("MOVED 1 :7000", &rd) == 0);
    CHECK(strcmp(rd.node.host, "10.0.0.1") == 0);

    CHECK(redirect("MOVED 16384 127.0.0.1:6381", &rd) == -1);
    CHECK(redirect("MOVED 1 127.0.0.1:0", &rd) == -1);
    CHECK(redirect("MOVED 1 127.0.0.1:65536", &rd) == -1);
    CHECK(redirect("MOVED 1 127.0.0.1", &rd) == -1);
    CHECK(redirect("MOVED 1 host.lan:7000", &rd) == -1);
    CHECK(redirect("MOVED 1 cafe:7000", &rd) == -1);
    CHECK(redirect("ASK 1 beef.dead:7000", &rd) == -1);
    CHECK(redirect("MOVED 1 127.0.0.1:7000:", &rd) == -1);
    CHECK(redirect("ASK 7 dead::beef:7000", &rd) == 0);
    CHECK(rd.node.port == 7000 && strcmp(rd.node.host, "dead::beef") == 0);
    CHECK(redirect("MOVED -1 127.0.0.1:7000", &rd) == -1);
    CHECK(redirect("MOVED  127.0.0.1:7000", &rd) == -1);
    CHECK(redirect("MOVED", &rd) == -1);
    CHECK(redirect("ERR unknown command", &rd) == -1);
    CHECK(redirect("TRYAGAIN Multiple keys request during rehashing", &rd)
          == -1);
}


int
main(void)
{
    test_slot();
    test_parse();
    test_hosts();
    test_bounds();
    test_redirect();

    return check_report();
}
