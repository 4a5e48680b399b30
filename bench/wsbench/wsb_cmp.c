
/*
 * Copyright (C) ngx_ws_perf_module authors
 */


/*
 * Reading reports back: a small JSON parser, "compare" (the regression
 * gate), "merge" (several reports into one) and "markdown" (our server
 * next to a peer, with ratios).
 */


#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "wsb.h"


#define WSB_TOLERANCE     0.25
#define WSB_LAT_FLOOR_MS  1.0


typedef struct wsb_jv_s  wsb_jv_t;

struct wsb_jv_s {
    int                  type;       /* o a s n t f z */
    char                *key;
    char                *str;
    double               num;
    const char          *raw;        /* this value's text in the file */
    size_t               raw_len;
    wsb_jv_t            *child;
    wsb_jv_t            *next;
};


typedef struct {
    const char          *p;
    const char          *end;
    int                  depth;
} wsb_jp_t;


typedef struct {
    char                *text;
    wsb_jv_t            *root;
    wsb_jv_t            *scenarios;
} wsb_doc_t;


static wsb_jv_t *wsb_jvalue(wsb_jp_t *jp);


static void
wsb_jspace(wsb_jp_t *jp)
{
    while (jp->p < jp->end && (*jp->p == ' ' || *jp->p == '\n'
                               || *jp->p == '\r' || *jp->p == '\t'))
    {
        jp->p++;
    }
}


static char *
wsb_jstring(wsb_jp_t *jp)
{
    char    *s;
    size_t   n;

    if (jp->p >= jp->end || *jp->p != '"') {
        return NULL;
    }

    jp->p++;

    s = malloc((size_t) (jp->end - jp->p) + 1);
    if (s == NULL) {
        return NULL;
    }

    n = 0;

    while (jp->p < jp->end && *jp->p != '"') {
        if (*jp->p == '\\' && jp->p + 1 < jp->end) {
            jp->p++;
            if (*jp->p == 'u' && jp->end - jp->p > 4) {
                s[n++] = (char) strtol((char []) { jp->p[3], jp->p[4], 0 },
                                       NULL, 16);
                jp->p += 5;
                continue;
            }
            s[n++] = *jp->p == 'n' ? '\n' : *jp->p == 't' ? '\t' : *jp->p;
            jp->p++;
            continue;
        }

        s[n++] = *jp->p++;
    }

    if (jp->p >= jp->end) {
        free(s);
        return NULL;
    }

    jp->p++;
    s[n] = '\0';

    return s;
}


static wsb_jv_t *
wsb_jcontainer(wsb_jp_t *jp, wsb_jv_t *v, char close)
{
    char      *key;
    wsb_jv_t  *item, **tail;

    jp->p++;
    tail = &v->child;
    wsb_jspace(jp);

    if (jp->p < jp->end && *jp->p == close) {
        jp->p++;
        return v;
    }

    for ( ;; ) {
        key = NULL;
        wsb_jspace(jp);

        if (close == '}') {
            key = wsb_jstring(jp);
            wsb_jspace(jp);
            if (key == NULL || jp->p >= jp->end || *jp->p != ':') {
                free(key);
                return NULL;
            }
            jp->p++;
        }

        item = wsb_jvalue(jp);
        if (item == NULL) {
            free(key);
            return NULL;
        }

        item->key = key;
        *tail = item;
        tail = &item->next;

        wsb_jspace(jp);

        if (jp->p < jp->end && *jp->p == ',') {
            jp->p++;
            continue;
        }

        if (jp->p < jp->end && *jp->p == close) {
            jp->p++;
            return v;
        }

        return NULL;
    }
}


/* the tree is never freed: the tool reads a few small files and exits */
static wsb_jv_t *
wsb_jvalue(wsb_jp_t *jp)
{
    char      *end;
    wsb_jv_t  *v;

    wsb_jspace(jp);

    if (jp->p >= jp->end || ++jp->depth > 64) {
        return NULL;
    }

    v = calloc(1, sizeof(wsb_jv_t));
    if (v == NULL) {
        return NULL;
    }

    v->raw = jp->p;

    switch (*jp->p) {

    case '{':
    case '[':
        v->type = *jp->p == '{' ? 'o' : 'a';
        if (wsb_jcontainer(jp, v, *jp->p == '{' ? '}' : ']') == NULL) {
            return NULL;
        }
        break;

    case '"':
        v->type = 's';
        v->str = wsb_jstring(jp);
        if (v->str == NULL) {
            return NULL;
        }
        break;

    case 't':
    case 'f':
    case 'n':
        v->type = *jp->p == 'n' ? 'z' : *jp->p;
        jp->p += *jp->p == 'f' ? 5 : 4;
        break;

    default:
        v->type = 'n';
        v->num = strtod(jp->p, &end);
        if (end == jp->p) {
            return NULL;
        }
        jp->p = end;
    }

    v->raw_len = (size_t) (jp->p - v->raw);
    jp->depth--;

    return v;
}


static wsb_jv_t *
wsb_jget(wsb_jv_t *o, const char *path)
{
    size_t       n;
    wsb_jv_t    *v;
    const char  *dot;

    while (o && *path) {
        dot = strchr(path, '.');
        n = dot ? (size_t) (dot - path) : strlen(path);

        for (v = o->child; v; v = v->next) {
            if (v->key && strlen(v->key) == n && memcmp(v->key, path, n) == 0)
            {
                break;
            }
        }

        o = v;
        path += n + (dot ? 1 : 0);
    }

    return o;
}


static double
wsb_jnum(wsb_jv_t *o, const char *path)
{
    wsb_jv_t  *v;

    v = wsb_jget(o, path);

    return (v && v->type == 'n') ? v->num : NAN;
}


static const char *
wsb_jstr(wsb_jv_t *o, const char *path)
{
    wsb_jv_t  *v;

    v = wsb_jget(o, path);

    return (v && v->type == 's') ? v->str : "";
}


static int
wsb_doc_load(wsb_doc_t *d, const char *path)
{
    long      n;
    FILE     *f;
    wsb_jp_t  jp;

    memset(d, 0, sizeof(wsb_doc_t));

    f = fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "wsbench: %s: %s\n", path, strerror(errno));
        return -1;
    }

    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);

    d->text = malloc(n > 0 ? (size_t) n + 1 : 1);
    if (d->text == NULL || n <= 0 || fread(d->text, 1, (size_t) n, f)
                                     != (size_t) n)
    {
        fclose(f);
        fprintf(stderr, "wsbench: %s: cannot read\n", path);
        return -1;
    }

    fclose(f);
    d->text[n] = '\0';

    jp.p = d->text;
    jp.end = d->text + n;
    jp.depth = 0;

    d->root = wsb_jvalue(&jp);
    d->scenarios = wsb_jget(d->root, "scenarios");

    if (d->root == NULL || d->scenarios == NULL
        || d->scenarios->type != 'a')
    {
        fprintf(stderr, "wsbench: %s: not a wsbench report\n", path);
        return -1;
    }

    return 0;
}


/* the scenario called name, run on label when there is such a run */
static wsb_jv_t *
wsb_doc_find(wsb_doc_t *d, const char *name, const char *label)
{
    int        n;
    wsb_jv_t  *s, *found;

    n = 0;
    found = NULL;

    for (s = d->scenarios->child; s; s = s->next) {
        if (strcmp(wsb_jstr(s, "name"), name) != 0) {
            continue;
        }

        if (label == NULL || strcmp(wsb_jstr(s, "label"), label) == 0) {
            return s;
        }

        found = s;
        n++;
    }

    return n == 1 ? found : NULL;
}


static int
wsb_grade_rank(const char *g)
{
    static const char  *grades[] = { "A+", "A", "B", "C", "D", "F", NULL };
    int                 i;

    for (i = 0; grades[i]; i++) {
        if (strcmp(grades[i], g) == 0) {
            return i;
        }
    }

    return 5;
}


typedef struct {
    const char          *key;            /* its name in --metrics= */
    const char          *path;
    const char          *label;
    int                  higher_is_better;
    double               floor;          /* changes below it are noise */
} wsb_metric_t;


static const wsb_metric_t  wsb_metrics[] = {
    { "p95", "latency_ms.p95", "p95 ms", 0, WSB_LAT_FLOOR_MS },
    { "p99", "latency_ms.p99", "p99 ms", 0, WSB_LAT_FLOOR_MS },
    { "deliveries", "deliveries_per_s", "deliveries/s", 1, 100 },
    { "knee", "knee.deliveries_per_s", "knee deliveries/s", 1, 100 },
    { "errors", "error_rate", "error rate", 0, 0.001 },
    { "connect", "connections.connect_ms.p99", "connect p99 ms", 0, 5 },
    /* RSS moves by megabytes: per connection that is noise below 2 KB */
    { "memory", "server.mem_per_conn_bytes", "bytes/connection", 0, 2048 },
    { "growth", "server.growth_mb_per_min", "growth MB/min", 0, 1 },
    /* a frame header's few bytes either way are not a compression change */
    { "wire", "bytes.wire_per_message", "wire bytes/message", 0, 8 },
    { NULL, NULL, NULL, 0, 0 }
};


/* what got worse, for the last line of compare: "scenario metric change" */
typedef struct {
    char                 buf[2048];
    size_t               len;
    int                  count;
    int                  more;           /* that did not fit in buf */
} wsb_worse_t;


static void
wsb_worse_add(wsb_worse_t *w, const char *fmt, ...)
{
    int      n;
    va_list  ap;

    if (w->len + 128 >= sizeof(w->buf)) {
        w->more++;
        return;
    }

    if (w->count++) {
        w->buf[w->len++] = ';';
        w->buf[w->len++] = ' ';
    }

    va_start(ap, fmt);
    n = vsnprintf(w->buf + w->len, sizeof(w->buf) - w->len, fmt, ap);
    va_end(ap);

    if (n > 0) {
        w->len += (size_t) n < sizeof(w->buf) - w->len
                  ? (size_t) n : sizeof(w->buf) - w->len - 1;
    }
}


/* 1 when key is in the comma-separated list, or the list is empty */
static int
wsb_metric_on(const char *list, const char *key)
{
    size_t       len;
    const char  *p;

    if (list == NULL || *list == '\0') {
        return 1;
    }

    len = strlen(key);

    for (p = list; p; p = strchr(p, ',')) {
        if (*p == ',') {
            p++;
        }

        if (strncmp(p, key, len) == 0 && (p[len] == ',' || p[len] == '\0')) {
            return 1;
        }
    }

    return 0;
}


/* 1 when some scenario of d ran on the server label */
static int
wsb_doc_has_label(wsb_doc_t *d, const char *label)
{
    wsb_jv_t  *s;

    for (s = d->scenarios->child; s; s = s->next) {
        if (strcmp(wsb_jstr(s, "label"), label) == 0) {
            return 1;
        }
    }

    return 0;
}


/*
 * A scenario as compare names it: its name, behind the server's label
 * when that is not ws_perf ("ws_perf_redis/fanout-max"), since one
 * scenario may run on several servers
 */
static const char *
wsb_compare_name(wsb_jv_t *s, char *buf, size_t size)
{
    const char  *label;

    label = wsb_jstr(s, "label");

    if (*label == '\0' || strcmp(label, "ws_perf") == 0) {
        return wsb_jstr(s, "name");
    }

    snprintf(buf, size, "%s/%s", label, wsb_jstr(s, "name"));

    return buf;
}


/* 1 when scenario n is worse than o beyond tol in one of the metrics */
static int
wsb_compare_one(wsb_jv_t *o, wsb_jv_t *n, double tol, const char *metrics,
    wsb_worse_t *w)
{
    int                  worse, bad, ro, rn;
    char                 buf[160];
    double               a, b, pct;
    const char          *name;
    const wsb_metric_t  *m;

    worse = 0;
    name = wsb_compare_name(o, buf, sizeof(buf));

    for (m = wsb_metrics; m->path; m++) {
        if (!wsb_metric_on(metrics, m->key)) {
            continue;
        }

        a = wsb_jnum(o, m->path);
        b = wsb_jnum(n, m->path);

        if (isnan(a) || isnan(b)) {
            continue;
        }

        if (m->higher_is_better) {
            bad = b < a * (1 - tol) - m->floor;
        } else {
            bad = b > a * (1 + tol) + m->floor;
        }

        pct = a != 0 ? (b - a) / fabs(a) * 100 : 0.0;

        if (bad || a != b) {
            printf("  %-30s %-18s %14.4f %14.4f %+8.1f%%%s\n",
                   name, m->label, a, b, pct, bad ? "  WORSE" : "");
        }

        if (bad) {
            if (a != 0) {
                wsb_worse_add(w, "%s %s %+.1f%% (%.6g -> %.6g)", name,
                              m->label, pct, a, b);
            } else {
                wsb_worse_add(w, "%s %s %.6g -> %.6g", name, m->label,
                              a, b);
            }
        }

        worse |= bad;
    }

    ro = wsb_grade_rank(wsb_jstr(o, "grade"));
    rn = wsb_grade_rank(wsb_jstr(n, "grade"));

    /* one grade is within the noise near a threshold; two are not */
    if (wsb_metric_on(metrics, "grade")
        && (rn >= ro + 2 || (rn == 5 && ro < 5)))
    {
        printf("  %-30s %-18s %14s %14s  WORSE\n", name, "grade",
               wsb_jstr(o, "grade"), wsb_jstr(n, "grade"));
        wsb_worse_add(w, "%s grade %s -> %s", name, wsb_jstr(o, "grade"),
                      wsb_jstr(n, "grade"));
        worse = 1;
    }

    return worse;
}


/*
 * Exits 1 when some scenario got worse; the last line names each one,
 * the metric and by how much, so that a caller quoting one line (make
 * bench, make bench-quick) says what regressed.  With --subset, NEW is a
 * run of some scenarios only: those it lacks are skipped, not worse;
 * --metrics=p99,deliveries,... compares those only (and "grade");
 * --labels=ws_perf,ws_perf_redis compares OLD's scenarios of those
 * servers only (a run without TLS is not missing the TLS ones).
 */
int
wsb_compare(int argc, char **argv)
{
    int           i, worse, files, subset, compared;
    char          buf[160];
    double        tol;
    const char   *metrics, *labels;
    wsb_doc_t     d[2];
    wsb_jv_t     *s, *n;
    const char   *paths[2];
    wsb_worse_t   w;

    tol = WSB_TOLERANCE;
    files = 0;
    subset = 0;
    compared = 0;
    metrics = NULL;
    labels = NULL;

    for (i = 0; i < argc; i++) {
        if (strncmp(argv[i], "--tolerance=", 12) == 0) {
            tol = atof(argv[i] + 12);

        } else if (strcmp(argv[i], "--subset") == 0) {
            subset = 1;

        } else if (strncmp(argv[i], "--metrics=", 10) == 0) {
            metrics = argv[i] + 10;

        } else if (strncmp(argv[i], "--labels=", 9) == 0) {
            labels = argv[i] + 9;

        } else if (files < 2) {
            paths[files++] = argv[i];
        }
    }

    if (files != 2) {
        fprintf(stderr, "usage: wsbench compare OLD.json NEW.json"
                " [--tolerance=0.25] [--subset] [--metrics=p95,p99,"
                "deliveries,knee,errors,connect,memory,growth,wire,grade]"
                " [--labels=ws_perf,...]\n");
        return 2;
    }

    if (wsb_doc_load(&d[0], paths[0]) != 0
        || wsb_doc_load(&d[1], paths[1]) != 0)
    {
        return 2;
    }

    printf("compare %s -> %s (tolerance %.0f%%, latency floor %.1f ms)\n",
           paths[0], paths[1], tol * 100, WSB_LAT_FLOOR_MS);
    printf("  %-30s %-18s %14s %14s %9s\n", "scenario", "metric", "old",
           "new", "change");

    worse = 0;
    memset(&w, 0, sizeof(wsb_worse_t));

    for (s = d[0].scenarios->child; s; s = s->next) {
        if (labels && !wsb_metric_on(labels, wsb_jstr(s, "label"))) {
            continue;
        }

        n = wsb_doc_find(&d[1], wsb_jstr(s, "name"), wsb_jstr(s, "label"));

        /*
         * another server's result stands in only for a NEW of other
         * servers alone, and for a scenario OLD has on one server
         */
        if (n && strcmp(wsb_jstr(n, "label"), wsb_jstr(s, "label")) != 0
            && (wsb_doc_has_label(&d[1], wsb_jstr(s, "label"))
                || wsb_doc_find(&d[0], wsb_jstr(s, "name"), "") == NULL))
        {
            n = NULL;
        }

        if (n == NULL && subset) {
            continue;
        }

        compared++;

        if (n == NULL) {
            printf("  %-30s missing from %s  WORSE\n",
                   wsb_compare_name(s, buf, sizeof(buf)), paths[1]);
            wsb_worse_add(&w, "%s missing",
                          wsb_compare_name(s, buf, sizeof(buf)));
            worse = 1;
            continue;
        }

        worse |= wsb_compare_one(s, n, tol, metrics, &w);
    }

    if (compared == 0) {
        printf("nothing to compare: no scenario of %s is in %s\n",
               paths[0], paths[1]);
        return 2;
    }

    if (worse) {
        printf("regression: %.*s", (int) w.len, w.buf);
        if (w.more) {
            printf("; %d more in the table above", w.more);
        }
        printf("\n");

    } else {
        printf("no regression\n");
    }

    return worse ? 1 : 0;
}


int
wsb_merge(int argc, char **argv)
{
    int         i, first;
    FILE       *f;
    wsb_doc_t   d;
    wsb_jv_t   *s;

    if (argc < 2) {
        fprintf(stderr, "usage: wsbench merge OUT.json IN.json...\n");
        return 2;
    }

    f = fopen(argv[0], "w");
    if (f == NULL) {
        perror(argv[0]);
        return 2;
    }

    fprintf(f, "{\"wsbench\": %d, \"scenarios\": [\n", WSB_VERSION);
    first = 1;

    for (i = 1; i < argc; i++) {
        if (wsb_doc_load(&d, argv[i]) != 0) {
            continue;
        }

        for (s = d.scenarios->child; s; s = s->next) {
            fprintf(f, "%s%.*s", first ? "" : ",\n", (int) s->raw_len,
                    s->raw);
            first = 0;
        }
    }

    fprintf(f, "\n]}\n");

    return fclose(f) == 0 ? 0 : 2;
}


static void
wsb_md_cell(double v, const char *fmt)
{
    if (isnan(v)) {
        printf(" n/a |");

    } else {
        printf(" ");
        printf(fmt, v);
        printf(" |");
    }
}


static void
wsb_md_ratio(double a, double b)
{
    if (isnan(a) || isnan(b) || b == 0) {
        printf(" n/a |");

    } else {
        printf(" %.2f |", a / b);
    }
}


typedef struct {
    const char          *title;
    const char          *path;
    const char          *fmt;
} wsb_md_col_t;


static const wsb_md_col_t  wsb_md_cols[] = {
    { "deliveries/s", "deliveries_per_s", "%.0f" },
    { "latency p50 ms", "latency_ms.p50", "%.3f" },
    { "latency p99 ms", "latency_ms.p99", "%.3f" },
    { "latency max ms", "latency_ms.max", "%.2f" },
    { "connect p99 ms", "connections.connect_ms.p99", "%.3f" },
    { "server CPU %", "server.cpu_pct", "%.0f" },
    { "server RSS max MB", "server.rss_max_mb", "%.1f" },
    { "bytes/connection", "server.mem_per_conn_bytes", "%.0f" },
    { "error rate %", "error_rate", "%.4f" },
    { "wire bytes/message", "bytes.wire_per_message", "%.1f" },
    { "inflated bytes/message", "bytes.inflated_per_message", "%.1f" },
    { NULL, NULL, NULL }
};


static double
wsb_md_val(wsb_jv_t *s, const char *path)
{
    double  v;

    if (s == NULL) {
        return NAN;
    }

    v = wsb_jnum(s, path);

    return strcmp(path, "error_rate") == 0 ? v * 100 : v;
}


/*
 * One table per measure: scenario, ours, the peer's, ours / the peer's;
 * with a second peer (the floor server) also its value and ours / its.
 * The rows are the first peer's scenarios.
 */
int
wsb_markdown(int argc, char **argv)
{
    int                  have_ours, have_p2;
    wsb_doc_t            ours, peer, p2;
    wsb_jv_t            *s, *o, *f;
    const char          *on, *pn, *fn;
    const wsb_md_col_t  *c;

    if (argc != 4 && argc != 6) {
        fprintf(stderr, "usage: wsbench markdown OURS.json OURS-NAME"
                " PEER.json PEER-NAME [PEER2.json PEER2-NAME]\n");
        return 2;
    }

    if (wsb_doc_load(&peer, argv[2]) != 0) {
        return 2;
    }

    have_ours = wsb_doc_load(&ours, argv[0]) == 0;
    have_p2 = argc == 6 && wsb_doc_load(&p2, argv[4]) == 0;
    on = argv[1];
    pn = argv[3];
    fn = argc == 6 ? argv[5] : NULL;

    printf("| scenario | %s grade | %s grade | %s: graded on | %s: graded on"
           " | %s lost+dup | %s lost+dup |", on, pn, on, pn, on, pn);
    if (fn) {
        printf(" %s grade | %s lost+dup |", fn, fn);
    }
    printf("\n|---|---|---|---|---|---:|---:|%s\n", fn ? "---|---:|" : "");

    for (s = peer.scenarios->child; s; s = s->next) {
        o = have_ours ? wsb_doc_find(&ours, wsb_jstr(s, "name"), NULL)
                      : NULL;
        f = have_p2 ? wsb_doc_find(&p2, wsb_jstr(s, "name"), NULL) : NULL;
        printf("| %s | %s | %s | %s | %s | %.0f | %.0f |",
               wsb_jstr(s, "name"), o ? wsb_jstr(o, "grade") : "n/a",
               wsb_jstr(s, "grade"), o ? wsb_jstr(o, "why") : "not measured",
               wsb_jstr(s, "why"),
               o ? wsb_jnum(o, "messages.lost")
                   + wsb_jnum(o, "messages.duplicated") : NAN,
               wsb_jnum(s, "messages.lost")
               + wsb_jnum(s, "messages.duplicated"));
        if (fn) {
            printf(" %s | %.0f |", f ? wsb_jstr(f, "grade") : "n/a",
                   f ? wsb_jnum(f, "messages.lost")
                       + wsb_jnum(f, "messages.duplicated") : NAN);
        }
        printf("\n");
    }

    for (c = wsb_md_cols; c->title; c++) {
        printf("\n**%s** (ratio = %s / %s", c->title, on, pn);
        if (fn) {
            printf("; %s / %s", on, fn);
        }
        printf(")\n\n| scenario | %s | %s | ratio |", on, pn);
        if (fn) {
            printf(" %s | %s / %s |", fn, on, fn);
        }
        printf("\n|---|---:|---:|---:|%s\n", fn ? "---:|---:|" : "");

        for (s = peer.scenarios->child; s; s = s->next) {
            o = have_ours ? wsb_doc_find(&ours, wsb_jstr(s, "name"), NULL)
                          : NULL;
            printf("| %s |", wsb_jstr(s, "name"));
            wsb_md_cell(wsb_md_val(o, c->path), c->fmt);
            wsb_md_cell(wsb_md_val(s, c->path), c->fmt);
            wsb_md_ratio(wsb_md_val(o, c->path), wsb_md_val(s, c->path));
            if (fn) {
                f = have_p2 ? wsb_doc_find(&p2, wsb_jstr(s, "name"), NULL)
                            : NULL;
                wsb_md_cell(wsb_md_val(f, c->path), c->fmt);
                wsb_md_ratio(wsb_md_val(o, c->path), wsb_md_val(f, c->path));
            }
            printf("\n");
        }
    }

    printf("\n**the tool's own cost** (CPU while publishing and draining,"
           " publisher and subscribers)\n\n| scenario | %s run: us per"
           " message | %s run: CPU %% | %s run: us per message |"
           " %s run: CPU %% |\n|---|---:|---:|---:|---:|\n", on, on, pn, pn);

    for (s = peer.scenarios->child; s; s = s->next) {
        o = have_ours ? wsb_doc_find(&ours, wsb_jstr(s, "name"), NULL)
                      : NULL;
        printf("| %s |", wsb_jstr(s, "name"));
        wsb_md_cell(wsb_md_val(o, "tool.us_per_msg"), "%.2f");
        wsb_md_cell(wsb_md_val(o, "tool.cpu_pct"), "%.0f");
        wsb_md_cell(wsb_md_val(s, "tool.us_per_msg"), "%.2f");
        wsb_md_cell(wsb_md_val(s, "tool.cpu_pct"), "%.0f");
        printf("\n");
    }

    return 0;
}
