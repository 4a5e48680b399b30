
/*
 * Copyright (C) ngx_ws_perf_module authors
 */


/*
 * Scenario settings: defaults, key=value lines of a scenario file
 * and the same keys as --key=value options, URL templates.
 */


#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "wsb.h"


typedef enum {
    WSB_STR = 0,
    WSB_INT,
    WSB_DBL
} wsb_type_e;


typedef struct {
    const char  *name;
    wsb_type_e   type;
    size_t       offset;
    size_t       size;
} wsb_key_t;


#define wsb_str(n)  { #n, WSB_STR, offsetof(wsb_conf_t, n),                   \
                      sizeof(((wsb_conf_t *) 0)->n) }
#define wsb_int(n)  { #n, WSB_INT, offsetof(wsb_conf_t, n), 0 }
#define wsb_dbl(n)  { #n, WSB_DBL, offsetof(wsb_conf_t, n), 0 }


static const wsb_key_t  wsb_keys[] = {
    wsb_str(name),
    wsb_str(kind),
    wsb_str(label),
    wsb_str(sub_url),
    wsb_str(pub_url),
    wsb_str(redis),
    wsb_str(redis_channel),
    wsb_str(json),
    wsb_str(server_pidfile),
    wsb_str(digest_channel),
    wsb_int(connections),
    wsb_int(channels),
    wsb_int(payload),
    wsb_int(pub_conns),
    wsb_int(pipeline),
    wsb_int(threads),
    wsb_int(src_ips),
    wsb_int(fragments),
    wsb_int(server_pid),
    wsb_int(max_steps),
    wsb_int(quiet),
    wsb_int(batch_us),
    wsb_int(envelope),
    wsb_int(deflate),
    wsb_int(payload_text),
    wsb_dbl(ramp),
    wsb_dbl(rate),
    wsb_dbl(duration),
    wsb_dbl(settle),
    wsb_dbl(drain),
    wsb_dbl(connect_timeout),
    wsb_dbl(timeout),
    wsb_dbl(spike_at),
    wsb_dbl(spike_factor),
    wsb_dbl(step),
    wsb_dbl(step_factor),
    wsb_dbl(churn_rate),
    wsb_dbl(churn_life_min),
    wsb_dbl(churn_life_max),
    wsb_dbl(slow_share),
    wsb_dbl(sample),
    wsb_dbl(p95_budget_ms),
    wsb_dbl(p99_budget_ms),
    wsb_dbl(error_budget),
    wsb_str(pub_format),
    wsb_int(rooms),
    wsb_int(users),
    wsb_int(rooms_min),
    wsb_int(rooms_max),
    wsb_int(msg_min),
    wsb_int(msg_max),
    wsb_int(ack),
    wsb_int(resume),
    wsb_dbl(big_rooms),
    wsb_dbl(big_share),
    wsb_dbl(user_share),
    wsb_dbl(churn_share),
    wsb_dbl(churn_pause),
    { NULL, WSB_STR, 0, 0 }
};


static const char  *wsb_kinds[] = {
    "steady", "stress", "spike", "endurance", "churn", "slow", "echo",
    "chat", NULL
};


void
wsb_conf_defaults(wsb_conf_t *cf)
{
    memset(cf, 0, sizeof(wsb_conf_t));

    strcpy(cf->name, "adhoc");
    strcpy(cf->kind, "steady");
    strcpy(cf->label, "server");
    strcpy(cf->sub_url, "ws://127.0.0.1:8090/sub/ch{c}");
    strcpy(cf->pub_url, "http://127.0.0.1:8090/pub/ch{c}");
    strcpy(cf->redis_channel, "ch{c}");

    cf->connections = 1000;
    cf->channels = 0;
    cf->payload = 64;
    cf->pub_conns = 2;
    cf->pipeline = 64;
    cf->threads = 2;
    cf->src_ips = 8;
    cf->fragments = 1;
    cf->max_steps = 12;
    cf->batch_us = 500;

    cf->ramp = 5000;
    cf->rate = 1000;
    cf->duration = 10;
    cf->settle = 0.3;
    cf->drain = 5;
    cf->connect_timeout = 10;

    cf->spike_factor = 10;
    cf->step = 3;
    cf->step_factor = 2;
    cf->churn_life_min = 1;
    cf->churn_life_max = 3;
    cf->sample = 5;

    cf->p95_budget_ms = 100;
    cf->p99_budget_ms = 200;
    cf->error_budget = 0.01;

    strcpy(cf->pub_format, "json");
    cf->rooms_min = 1;
    cf->rooms_max = 5;
    cf->msg_min = 200;
    cf->msg_max = 4096;
    cf->big_rooms = 0.01;
    cf->big_share = 0.3;
    cf->user_share = 0.1;
}


/* kind = chat: the targets are the rooms, then the users */
static int
wsb_conf_chat(wsb_conf_t *cf)
{
    if (cf->rooms < 1) {
        cf->rooms = cf->connections / 2 > 10 ? cf->connections / 2 : 10;
    }

    if (cf->users < 1) {
        cf->users = cf->connections;
    }

    if (cf->rooms_min < 1) {
        cf->rooms_min = 1;
    }

    if (cf->rooms_max > WSB_CHAT_ROOMS) {
        cf->rooms_max = WSB_CHAT_ROOMS;
    }

    if (cf->rooms_max < cf->rooms_min) {
        cf->rooms_max = cf->rooms_min;
    }

    if (cf->msg_min < 100) {
        cf->msg_min = 100;
    }

    if (cf->msg_max < cf->msg_min) {
        cf->msg_max = cf->msg_min;
    }

    if (cf->msg_max > 60000) {
        cf->msg_max = 60000;
    }

    if (strcmp(cf->pub_format, "json") != 0
        && strcmp(cf->pub_format, "raw") != 0)
    {
        fprintf(stderr, "wsbench: pub_format is json or raw\n");
        return -1;
    }

    if (cf->redis[0]) {
        fprintf(stderr, "wsbench: kind chat publishes over http only\n");
        return -1;
    }

    cf->channels = cf->rooms + cf->users;
    cf->payload = cf->msg_max + 128;

    return 0;
}


int
wsb_conf_set(wsb_conf_t *cf, const char *key, const char *val)
{
    char             *end, *s;
    double            d;
    long              l;
    const wsb_key_t  *k;

    for (k = wsb_keys; k->name; k++) {
        if (strcmp(k->name, key) == 0) {
            break;
        }
    }

    if (k->name == NULL) {
        fprintf(stderr, "wsbench: unknown setting \"%s\"\n", key);
        return -1;
    }

    switch (k->type) {

    case WSB_STR:
        if (strlen(val) >= k->size) {
            fprintf(stderr, "wsbench: \"%s\" is too long\n", key);
            return -1;
        }
        s = (char *) cf + k->offset;
        strcpy(s, val);
        return 0;

    case WSB_INT:
        errno = 0;
        l = strtol(val, &end, 10);
        if (errno || *val == '\0' || *end != '\0' || l < 0 || l > 10000000) {
            break;
        }
        *(int *) ((char *) cf + k->offset) = (int) l;
        return 0;

    case WSB_DBL:
        errno = 0;
        d = strtod(val, &end);
        if (errno || *val == '\0' || *end != '\0' || d < 0 || d > 1e9) {
            break;
        }
        *(double *) ((char *) cf + k->offset) = d;
        return 0;
    }

    fprintf(stderr, "wsbench: bad value \"%s\" for \"%s\"\n", val, key);

    return -1;
}


static char *
wsb_trim(char *s)
{
    char  *e;

    while (*s == ' ' || *s == '\t') {
        s++;
    }

    e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n'
                     || e[-1] == '\r'))
    {
        *--e = '\0';
    }

    return s;
}


int
wsb_conf_file(wsb_conf_t *cf, const char *path)
{
    int    line;
    char   buf[1024], *p, *eq;
    FILE  *f;

    f = fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "wsbench: cannot open \"%s\": %s\n", path,
                strerror(errno));
        return -1;
    }

    line = 0;

    while (fgets(buf, sizeof(buf), f) != NULL) {
        line++;
        p = wsb_trim(buf);

        if (*p == '\0' || *p == '#') {
            continue;
        }

        eq = strchr(p, '=');
        if (eq == NULL) {
            fprintf(stderr, "wsbench: %s:%d: no \"=\"\n", path, line);
            goto failed;
        }

        *eq = '\0';

        if (wsb_conf_set(cf, wsb_trim(p), wsb_trim(eq + 1)) != 0) {
            fprintf(stderr, "wsbench: in %s:%d\n", path, line);
            goto failed;
        }
    }

    fclose(f);

    return 0;

failed:

    fclose(f);

    return -1;
}


/* N of a "{i%N}" in tmpl, 0 if there is none */
static long
wsb_url_modulo(const char *tmpl)
{
    const char  *p;

    p = strstr(tmpl, "{i%");
    if (p == NULL) {
        return 0;
    }

    return strtol(p + 3, NULL, 10);
}


int
wsb_conf_check(wsb_conf_t *cf)
{
    long          n;
    const char  **k;
    wsb_url_t     u;

    for (k = wsb_kinds; *k; k++) {
        if (strcmp(*k, cf->kind) == 0) {
            break;
        }
    }

    if (*k == NULL) {
        fprintf(stderr, "wsbench: unknown kind \"%s\"\n", cf->kind);
        return -1;
    }

    if (strcmp(cf->kind, "chat") == 0 && wsb_conf_chat(cf) != 0) {
        return -1;
    }

    n = wsb_url_modulo(cf->sub_url);
    if (n > 0) {
        if (cf->channels && cf->channels != n) {
            fprintf(stderr, "wsbench: sub_url says {i%%%ld} but channels is"
                    " %d\n", n, cf->channels);
            return -1;
        }
        cf->channels = (int) n;
    }

    if (cf->channels <= 0) {
        cf->channels = 1;
    }

    if (cf->payload < WSB_MIN_PAYLOAD) {
        cf->payload = WSB_MIN_PAYLOAD;
    }

    if (cf->pub_conns < 1 || cf->pub_conns > WSB_MAX_PUBS) {
        fprintf(stderr, "wsbench: pub_conns must be 1..%d\n", WSB_MAX_PUBS);
        return -1;
    }

    if (cf->threads < 1 || cf->threads > WSB_MAX_THREADS) {
        fprintf(stderr, "wsbench: threads must be 1..%d\n", WSB_MAX_THREADS);
        return -1;
    }

    if (cf->pipeline < 1) {
        cf->pipeline = 1;
    }

    if (cf->src_ips < 1 || cf->src_ips > 250) {
        cf->src_ips = 1;
    }

    if (cf->fragments < 1 || cf->fragments > 64) {
        cf->fragments = 1;
    }

    if (cf->ramp <= 0) {
        cf->ramp = 1e9;
    }

    if (cf->churn_life_max < cf->churn_life_min) {
        cf->churn_life_max = cf->churn_life_min;
    }

    if (cf->slow_share > 1) {
        cf->slow_share = 1;
    }

    if (cf->duration > 86400) {
        cf->duration = 86400;
    }

    if (wsb_url_parse(&u, cf->sub_url, "ws") != 0) {
        return -1;
    }

    if (cf->redis[0] == '\0' && strcmp(cf->kind, "echo") != 0) {
        if (wsb_url_parse(&u, cf->pub_url, "http") != 0) {
            return -1;
        }

        if (u.tls) {
            fprintf(stderr, "wsbench: the publisher speaks plain http only:"
                    " point pub_url at a plain listener\n");
            return -1;
        }
    }

    return 0;
}


/*
 * "scheme://a.b.c.d:port/path": loopback addresses only, since the tool
 * is built to saturate whatever it points at.
 */
int
wsb_url_parse(wsb_url_t *u, const char *url, const char *scheme)
{
    char         host[64];
    size_t       n;
    const char  *p, *colon, *slash;
    long         port;

    memset(u, 0, sizeof(wsb_url_t));
    n = strlen(scheme);

    if (strncmp(url, scheme, n) != 0) {
        goto bad;
    }

    /* "wss" and "https": the same with TLS */
    if (url[n] == 's') {
        u->tls = 1;
        n++;
    }

    if (strncmp(url + n, "://", 3) != 0) {
        goto bad;
    }

    p = url + n + 3;
    slash = strchr(p, '/');
    if (slash == NULL) {
        slash = p + strlen(p);
    }

    colon = memchr(p, ':', (size_t) (slash - p));
    if (colon == NULL) {
        colon = slash;
        port = u->tls ? 443 : 80;

    } else {
        port = strtol(colon + 1, NULL, 10);
    }

    n = (size_t) (colon - p);
    if (n == 0 || n >= sizeof(host) || port <= 0 || port > 65535
        || (size_t) (slash - p) >= sizeof(u->hostport))
    {
        fprintf(stderr, "wsbench: bad host in \"%s\"\n", url);
        return -1;
    }

    memcpy(host, p, n);
    host[n] = '\0';

    if (strcmp(host, "localhost") == 0) {
        strcpy(host, "127.0.0.1");
    }

    u->addr.sin_family = AF_INET;
    u->addr.sin_port = htons((uint16_t) port);

    if (inet_pton(AF_INET, host, &u->addr.sin_addr) != 1
        || (ntohl(u->addr.sin_addr.s_addr) >> 24) != 127)
    {
        fprintf(stderr, "wsbench: \"%s\": only 127.0.0.0/8 addresses are"
                " allowed\n", host);
        return -1;
    }

    u->port = (int) port;
    memcpy(u->hostport, p, (size_t) (slash - p));

    if (strlen(*slash ? slash : "/") >= sizeof(u->path)) {
        fprintf(stderr, "wsbench: path too long in \"%s\"\n", url);
        return -1;
    }

    strcpy(u->path, *slash ? slash : "/");

    return 0;

bad:

    fprintf(stderr, "wsbench: \"%s\" is not a %s:// or %ss:// URL\n", url,
            scheme, scheme);
    return -1;
}


/* expands {c}, {i} and {i%N} of a path template; 0 if it does not fit */
size_t
wsb_url_path(char *dst, size_t size, const char *tmpl, long i, long c)
{
    int          k;
    long         mod;
    size_t       n;
    const char  *p, *close;

    n = 0;

    for (p = tmpl; *p; p++) {
        if (n + 24 >= size) {
            return 0;
        }

        if (*p != '{' || (close = strchr(p, '}')) == NULL) {
            dst[n++] = *p;
            continue;
        }

        if (strncmp(p, "{c}", 3) == 0) {
            k = snprintf(dst + n, size - n, "%ld", c);

        } else if (strncmp(p, "{i}", 3) == 0) {
            k = snprintf(dst + n, size - n, "%ld", i);

        } else if (strncmp(p, "{i%", 3) == 0) {
            mod = strtol(p + 3, NULL, 10);
            k = snprintf(dst + n, size - n, "%ld", mod > 0 ? i % mod : i);

        } else {
            dst[n++] = *p;
            continue;
        }

        n += (size_t) k;
        p = close;
    }

    dst[n] = '\0';

    return n;
}
