
/*
 * Copyright (C) ngx_ws_perf_module authors
 */


/*
 * kind = chat: rooms and users, a chat-like mix of message sizes, acks,
 * churn with resume.  Who is in which room follows from the connection's
 * slot alone, so a reopened slot is in the same rooms.  A subscriber keeps
 * per (target, publisher connection) the numbers it is owed from, the
 * highest it saw and a window of the ones below it: late arrivals around
 * a resume are not loss, a number seen twice is a duplicate unless the
 * at-least-once rules allow it (then it is "redelivered").
 */


#define _GNU_SOURCE

#include <stdlib.h>
#include <string.h>
#include "wsb.h"


static const char  wsb_chat_text[] =
    "ok see you at the standup then, I will bring the numbers from "
    "yesterday and the notes on the release; did anyone look at the "
    "ticket about the login page yet? ";


static uint64_t
wsb_chat_mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;

    return x ^ (x >> 31);
}


/*
 * The rooms of slot idx: rooms_min to rooms_max of them; each pick goes
 * with probability big_share to the first big_rooms share of the rooms
 * (at least one room), otherwise uniformly to the others
 */
int
wsb_chat_rooms(wsb_conf_t *cf, long idx, uint32_t *rooms)
{
    int       n, j, k, try;
    uint32_t  big, r;
    uint64_t  h;

    big = (uint32_t) (cf->rooms * cf->big_rooms);
    if (big < 1) {
        big = 1;
    }

    if (big > (uint32_t) cf->rooms) {
        big = (uint32_t) cf->rooms;
    }

    h = wsb_chat_mix((uint64_t) idx);
    n = cf->rooms_min + (int) (h % (uint64_t) (cf->rooms_max
                                                - cf->rooms_min + 1));
    if (n > cf->rooms) {
        n = cf->rooms;
    }

    for (j = 0; j < n; j++) {
        r = 0;

        for (try = 0; try < 16; try++) {
            h = wsb_chat_mix((uint64_t) idx << 12 ^ (uint64_t) (j << 5 | try));

            if ((double) (h % 10000) < cf->big_share * 10000
                || big == (uint32_t) cf->rooms)
            {
                r = (uint32_t) ((h >> 20) % big);

            } else {
                r = big + (uint32_t) ((h >> 20) % (cf->rooms - big));
            }

            for (k = 0; k < j; k++) {
                if (rooms[k] == r) {
                    break;
                }
            }

            if (k == j) {
                break;
            }
        }

        if (try == 16) {
            return j;
        }

        rooms[j] = r;
    }

    return n;
}


size_t
wsb_chat_target_name(wsb_conf_t *cf, char *dst, size_t size,
    uint32_t target)
{
    int  n;

    if (target < (uint32_t) cf->rooms) {
        n = snprintf(dst, size, "r%u", target);

    } else {
        n = snprintf(dst, size, "u%u", target - (uint32_t) cf->rooms);
    }

    return n > 0 && (size_t) n < size ? (size_t) n : 0;
}


/* {user} {rooms} {i} of slot idx, {t} of target idx; 0 if it does not fit */
size_t
wsb_chat_path(wsb_conf_t *cf, char *dst, size_t size, const char *tmpl,
    long idx)
{
    int          i, k, nr;
    size_t       n;
    uint32_t     rooms[WSB_CHAT_ROOMS];
    const char  *p;

    n = 0;

    for (p = tmpl; *p; p++) {
        if (n + 24 >= size) {
            return 0;
        }

        if (strncmp(p, "{user}", 6) == 0) {
            n += wsb_chat_target_name(cf, dst + n, size - n,
                                      (uint32_t) (cf->rooms
                                                  + idx % cf->users));
            p += 5;

        } else if (strncmp(p, "{rooms}", 7) == 0) {
            nr = wsb_chat_rooms(cf, idx, rooms);

            for (i = 0; i < nr; i++) {
                if (n + 24 >= size) {
                    return 0;
                }
                if (i) {
                    dst[n++] = ',';
                }
                n += wsb_chat_target_name(cf, dst + n, size - n, rooms[i]);
            }

            p += 6;

        } else if (strncmp(p, "{t}", 3) == 0) {
            n += wsb_chat_target_name(cf, dst + n, size - n, (uint32_t) idx);
            p += 2;

        } else if (strncmp(p, "{i}", 3) == 0) {
            k = snprintf(dst + n, size - n, "%ld", idx);
            n += (size_t) k;
            p += 2;

        } else {
            dst[n++] = *p;
        }
    }

    dst[n] = '\0';

    return n;
}


/* a chat-like size from r: 70% short, 25% medium, 5% long */
size_t
wsb_chat_size(uint64_t r, int min, int max)
{
    uint64_t  lo, hi, x;

    x = r % 100;
    r >>= 8;

    if (x < 70) {
        lo = (uint64_t) min;
        hi = (uint64_t) min + 300;

    } else if (x < 95) {
        lo = (uint64_t) min + 300;
        hi = 1500;

    } else {
        lo = 1500;
        hi = (uint64_t) max;
    }

    if (hi > (uint64_t) max) {
        hi = (uint64_t) max;
    }

    if (lo > hi) {
        lo = hi;
    }

    if (lo < (uint64_t) min) {
        lo = (uint64_t) min;
    }

    return (size_t) (lo + r % (hi - lo + 1));
}


/*
 * The body a publisher POSTs: the data object of data_len bytes,
 * {"h":"<header><target>","x":"<text>"}, alone (pub_format raw) or in
 * {"channel":..,"data":..} / {"user":..,"data":..,"ack":true}
 */
size_t
wsb_chat_body(wsb_conf_t *cf, unsigned char *dst, size_t size,
    uint32_t target, size_t data_len, const unsigned char *hdr)
{
    int     user, json;
    char    name[32];
    size_t  n, fill, i, tl;

    user = target >= (uint32_t) cf->rooms;
    json = strcmp(cf->pub_format, "raw") != 0;

    if (wsb_chat_target_name(cf, name, sizeof(name), target) == 0
        || size < data_len + 64)
    {
        return 0;
    }

    n = 0;

    if (json) {
        n = (size_t) snprintf((char *) dst, size, "{\"%s\":\"%s\",\"data\":",
                              user ? "user" : "channel", name);
    }

    memcpy(dst + n, "{\"h\":\"", 6);
    n += 6;
    memcpy(dst + n, hdr, WSB_HDR_LEN);
    n += WSB_HDR_LEN;
    n += (size_t) snprintf((char *) dst + n, size - n, "%08x\",\"x\":\"",
                           target);

    /* 6 + 45 + 7 before the text, 2 after it */
    fill = data_len > 60 ? data_len - 60 : 1;
    tl = sizeof(wsb_chat_text) - 1;

    for (i = 0; i < fill; i++) {
        dst[n + i] = (unsigned char) wsb_chat_text[i % tl];
    }

    n += fill;
    dst[n++] = '"';
    dst[n++] = '}';

    if (json) {
        if (user && cf->ack) {
            memcpy(dst + n, ",\"ack\":true", 11);
            n += 11;
        }
        dst[n++] = '}';
    }

    return n;
}


wsb_chat_slot_t *
wsb_chat_slot(wsb_conf_t *cf, int npubs, long idx)
{
    int               n;
    uint32_t          rooms[WSB_CHAT_ROOMS];
    wsb_chat_slot_t  *cs;

    n = wsb_chat_rooms(cf, idx, rooms);

    cs = calloc(1, sizeof(wsb_chat_slot_t)
                   + (size_t) (n + 1) * npubs * sizeof(wsb_chat_track_t));
    if (cs == NULL) {
        return NULL;
    }

    memcpy(cs->target, rooms, (size_t) n * sizeof(uint32_t));
    cs->target[n] = (uint32_t) (cf->rooms + idx % cf->users);
    cs->ntargets = n + 1;

    return cs;
}


static uint32_t
wsb_chat_issued(wsb_shared_t *sh, uint32_t target, int pub)
{
    return __atomic_load_n(&sh->seq[pub * sh->nchannels + target],
                           __ATOMIC_ACQUIRE);
}


/* what (hi - base) numbers below the highest seen were never seen */
static uint64_t
wsb_chat_settle(wsb_chat_track_t *tr, uint32_t issued)
{
    uint64_t  lost;

    lost = 0;

    if (issued > tr->base && issued - tr->base > tr->distinct) {
        lost = issued - tr->base - tr->distinct;
    }

    return lost;
}


static void
wsb_chat_restart(wsb_chat_track_t *tr, uint32_t from)
{
    memset(tr, 0, sizeof(wsb_chat_track_t));
    tr->base = from;
    tr->hi = from;
}


/*
 * A connection of the slot is open.  The first one is owed everything
 * issued from now; a reopened one that resumes a target keeps what it
 * was owed there; a target it does not resume (resume off, or nothing
 * seen there yet) settles what it missed below the highest number seen
 * (issued later went out while it was away) and is owed from now;
 * what it settles is lost in ep.
 */
void
wsb_chat_open(wsb_chat_slot_t *cs, wsb_shared_t *sh, int resume,
    wsb_epoch_t *ep)
{
    int                k, p;
    wsb_chat_track_t  *tr;

    for (k = 0; k < cs->ntargets; k++) {
        cs->resuming[k] = 0;
        cs->more[k] = 0;

        if (cs->opened && resume && cs->id_len[k]) {
            cs->resuming[k] = 1;
            continue;
        }

        for (p = 0; p < sh->npubs; p++) {
            tr = &cs->tr[k * sh->npubs + p];

            if (cs->opened) {
                ep->lost += wsb_chat_settle(tr, tr->hi);
            }

            wsb_chat_restart(tr, wsb_chat_issued(sh, cs->target[k], p));
        }
    }

    cs->opened++;
}


static size_t wsb_chat_resume_from(wsb_chat_slot_t *cs, wsb_conf_t *cf,
    int k, const char *since, int len, char *dst, size_t size);


/* the resume command of target k after a reopening, or 0 */
size_t
wsb_chat_resume(wsb_chat_slot_t *cs, wsb_conf_t *cf, int k, char *dst,
    size_t size)
{
    if (!cs->resuming[k]) {
        return 0;
    }

    return wsb_chat_resume_from(cs, cf, k, cs->last_id[k], cs->id_len[k],
                                dst, size);
}


static size_t
wsb_chat_resume_from(wsb_chat_slot_t *cs, wsb_conf_t *cf, int k,
    const char *since, int len, char *dst, size_t size)
{
    int   n;
    char  name[32];

    if (wsb_chat_target_name(cf, name, sizeof(name), cs->target[k]) == 0) {
        return 0;
    }

    if (cs->target[k] >= (uint32_t) cf->rooms) {
        n = snprintf(dst, size, "{\"type\":\"resume\",\"user\":true,"
                     "\"since\":\"%.*s\"}", len, since);

    } else {
        n = snprintf(dst, size, "{\"type\":\"resume\",\"channel\":\"%s\","
                     "\"since\":\"%.*s\"}", name, len, since);
    }

    return n > 0 && (size_t) n < size ? (size_t) n : 0;
}


/* the string value of "key":" in m, its length in *len, or NULL */
static const unsigned char *
wsb_chat_str(const unsigned char *m, size_t len, const char *key,
    size_t *vlen)
{
    const unsigned char  *p, *q;

    p = memmem(m, len, key, strlen(key));
    if (p == NULL) {
        return NULL;
    }

    p += strlen(key);
    q = memchr(p, '"', (size_t) (m + len - p));
    if (q == NULL) {
        return NULL;
    }

    *vlen = (size_t) (q - p);

    return p;
}


static int
wsb_chat_index(wsb_chat_slot_t *cs, uint32_t target)
{
    int  k;

    for (k = 0; k < cs->ntargets; k++) {
        if (cs->target[k] == target) {
            return k;
        }
    }

    return -1;
}


/* the target a "resumed" or "gap" frame names, by the slot's index */
static int
wsb_chat_named(wsb_chat_slot_t *cs, const unsigned char *m, size_t len)
{
    size_t                n;
    const unsigned char  *v;

    v = wsb_chat_str(m, len, "\"channel\":\"r", &n);
    if (v) {
        return wsb_chat_index(cs, (uint32_t) strtoul((const char *) v, NULL,
                                                     10));
    }

    if (memmem(m, len, "\"user\":", 7)) {
        return cs->ntargets - 1;
    }

    return -1;
}


/* newer ids are longer, or as long and greater */
static void
wsb_chat_keep_id(wsb_chat_slot_t *cs, int k, const unsigned char *id,
    size_t n)
{
    if (n == 0 || n >= WSB_CHAT_ID_LEN) {
        return;
    }

    if (n > cs->id_len[k]
        || (n == cs->id_len[k] && memcmp(id, cs->last_id[k], n) > 0))
    {
        memcpy(cs->last_id[k], id, n);
        cs->id_len[k] = (uint8_t) n;
    }
}


/* 1: first sight of seq, 0: seen before, -1: too old to tell */
static int
wsb_chat_see(wsb_chat_track_t *tr, uint32_t seq)
{
    int       i, w, b;
    uint32_t  d, shift;

    if (seq >= tr->hi) {
        shift = seq + 1 - tr->hi;

        if (shift >= 64 * WSB_CHAT_WIN) {
            memset(tr->win, 0, sizeof(tr->win));

        } else {
            w = (int) (shift / 64);
            b = (int) (shift % 64);

            for (i = WSB_CHAT_WIN - 1; i >= 0; i--) {
                tr->win[i] = (i - w >= 0 ? tr->win[i - w] << b : 0)
                             | (b && i - w - 1 >= 0
                                ? tr->win[i - w - 1] >> (64 - b) : 0);
            }
        }

        tr->win[0] |= 1;
        tr->hi = seq + 1;
        tr->distinct++;
        return 1;
    }

    d = tr->hi - 1 - seq;
    if (d >= 64 * WSB_CHAT_WIN) {
        return -1;
    }

    if (tr->win[d / 64] & (1ULL << (d % 64))) {
        return 0;
    }

    tr->win[d / 64] |= 1ULL << (d % 64);
    tr->distinct++;

    return 1;
}


/*
 * One text message, its first bytes m: counted; an ack to send back is
 * written to reply, its length returned
 */
size_t
wsb_chat_message(wsb_chat_slot_t *cs, wsb_conf_t *cf, wsb_shared_t *sh,
    wsb_stats_t *st, const unsigned char *m, size_t len, uint64_t now,
    int slow, char *reply, size_t size)
{
    int                   k, epoch, pub, seen, ack;
    char                  hex[9];
    size_t                n, idn, rn;
    uint32_t              run, seq, target;
    uint64_t              ts;
    wsb_epoch_t          *ep;
    wsb_chat_track_t     *tr;
    const unsigned char  *type, *id, *h, *data;

    id = NULL;
    idn = 0;
    ack = 0;
    rn = 0;

    type = wsb_chat_str(m, len < 24 ? len : 24, "\"type\":\"", &n);

    if (type) {
        if (n == 3 && memcmp(type, "msg", 3) == 0) {
            data = memmem(m, len, "\"data\":", 7);
            id = wsb_chat_str(m, data ? (size_t) (data - m) : len,
                              "\"id\":\"", &idn);
            ack = memmem(m, data ? (size_t) (data - m) : len,
                         "\"ack\":true", 10) != NULL;

        } else {
            if (slow) {
                return 0;
            }

            if (n == 5 && memcmp(type, "acked", 5) == 0) {
                st->chat.acked++;

            } else if (n == 7 && memcmp(type, "resumed", 7) == 0) {
                st->chat.resumed++;
                k = wsb_chat_named(cs, m, len);
                if (k >= 0 && cs->more[k]) {
                    /* the send queue took not all: the rest from its gap */
                    cs->more[k] = 0;
                    st->chat.continued++;
                    return wsb_chat_resume_from(cs, cf, k, cs->more_id[k],
                                                cs->more_len[k], reply,
                                                size);
                }

                if (k >= 0) {
                    cs->resuming[k] = 0;
                }

            } else if (n == 3 && memcmp(type, "gap", 3) == 0) {
                k = wsb_chat_named(cs, m, len);
                id = wsb_chat_str(m, len, "\"since\":\"", &idn);
                if (k >= 0 && memmem(m, len, "\"more\":true", 11)
                    && id && idn && idn < WSB_CHAT_ID_LEN)
                {
                    cs->more[k] = 1;
                    cs->more_len[k] = (uint8_t) idn;
                    memcpy(cs->more_id[k], id, idn);

                } else {
                    st->chat.gaps++;
                }

            } else if (n == 6 && memcmp(type, "notice", 6) == 0) {
                st->chat.notices++;

            } else if (n == 5 && memcmp(type, "error", 5) == 0) {
                st->chat.errors++;

            } else {
                st->chat.other++;
            }

            return 0;
        }
    }

    h = wsb_chat_str(m, len, "\"h\":\"", &n);

    if (h == NULL || n != WSB_CHAT_HDR_LEN
        || wsb_payload_parse(h, WSB_HDR_LEN, &run, &epoch, &pub, &seq, &ts)
           != 0
        || run != sh->run_id || pub >= sh->npubs || epoch >= WSB_MAX_EPOCHS)
    {
        st->foreign++;
        return 0;
    }

    if (id && ack && idn && idn < 64) {
        rn = (size_t) snprintf(reply, size,
                               "{\"type\":\"ack\",\"id\":\"%.*s\"}",
                               (int) idn, id);
    }

    if (slow) {
        st->slow_received++;
        return rn;
    }

    memcpy(hex, h + WSB_HDR_LEN, 8);
    hex[8] = '\0';
    target = (uint32_t) strtoul(hex, NULL, 16);

    k = wsb_chat_index(cs, target);
    if (k < 0) {
        st->chat.stray++;
        return rn;
    }

    if (id) {
        wsb_chat_keep_id(cs, k, id, idn);
    }

    ep = &st->ep[epoch];
    tr = &cs->tr[k * sh->npubs + pub];

    if (seq < tr->base) {
        /* issued before this slot was owed it: welcome, not counted */
        ep->received++;
        return rn;
    }

    seen = wsb_chat_see(tr, seq);

    if (seen == 1) {
        ep->received++;

        /* a resume's copies wait for the reconnection: not a latency */
        if (cs->resuming[k]) {
            st->chat.resumed_msgs++;

        } else {
            wsb_hist_add(&ep->lat, now > ts ? now - ts : 0);
        }

        return rn;
    }

    if (ack || cs->resuming[k]) {
        st->chat.redelivered++;

    } else {
        ep->dup++;
    }

    return rn;
}


/* what an open slot was owed at the end and never got */
uint64_t
wsb_chat_tail(wsb_chat_slot_t *cs, wsb_shared_t *sh)
{
    int       k, p;
    uint64_t  lost;

    lost = 0;

    for (k = 0; k < cs->ntargets; k++) {
        for (p = 0; p < sh->npubs; p++) {
            lost += wsb_chat_settle(&cs->tr[k * sh->npubs + p],
                                    wsb_chat_issued(sh, cs->target[k], p));
        }
    }

    return lost;
}
