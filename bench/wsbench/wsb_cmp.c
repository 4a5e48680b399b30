
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
    const char          *path;
    const char          *label;
    int                  higher_is_better;
    double               floor;          /* changes below it are noise */
} wsb_metric_t;


static const wsb_metric_t  wsb_metrics[] = {
    { "latency_ms.p95", "p95 ms", 0, WSB_LAT_FLOOR_MS },
    { "latency_ms.p99", "p99 ms", 0, WSB_LAT_FLOOR_MS },
    { "deliveries_per_s", "deliveries/s", 1, 100 },
    { "knee.deliveries_per_s", "knee deliveries/s", 1, 100 },
    { "error_rate", "error rate", 0, 0.001 },
    { "connections.connect_ms.p99", "connect p99 ms", 0, 5 },
    /* RSS moves by megabytes: per connection that is noise below 2 KB */
    { "server.mem_per_conn_bytes", "bytes/connection", 0, 2048 },
    { "server.growth_mb_per_min", "growth MB/min", 0, 1 },
    { NULL, NULL, 0, 0 }
};


/* 1 when scenario n is worse than o beyond tol */
static int
wsb_compare_one(wsb_jv_t *o, wsb_jv_t *n, double tol)
{
    int                  worse, bad, ro, rn;
    double               a, b;
    const wsb_metric_t  *m;

    worse = 0;

    for (m = wsb_metrics; m->path; m++) {
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

        if (bad || a != b) {
            printf("  %-22s %-20s %14.4f %14.4f %+8.1f%%%s\n",
                   wsb_jstr(n, "name"), m->label, a, b,
                   a != 0 ? (b - a) / fabs(a) * 100 : 0.0,
                   bad ? "  WORSE" : "");
        }

        worse |= bad;
    }

    ro = wsb_grade_rank(wsb_jstr(o, "grade"));
    rn = wsb_grade_rank(wsb_jstr(n, "grade"));

    /* one grade is within the noise near a threshold; two are not */
    if (rn >= ro + 2 || (rn == 5 && ro < 5)) {
        printf("  %-22s %-20s %14s %14s  WORSE\n", wsb_jstr(n, "name"),
               "grade", wsb_jstr(o, "grade"), wsb_jstr(n, "grade"));
        worse = 1;
    }

    return worse;
}


int
wsb_compare(int argc, char **argv)
{
    int         i, worse, files;
    double      tol;
    wsb_doc_t   d[2];
    wsb_jv_t   *s, *n;
    const char *paths[2];

    tol = WSB_TOLERANCE;
    files = 0;

    for (i = 0; i < argc; i++) {
        if (strncmp(argv[i], "--tolerance=", 12) == 0) {
            tol = atof(argv[i] + 12);

        } else if (files < 2) {
            paths[files++] = argv[i];
        }
    }

    if (files != 2) {
        fprintf(stderr, "usage: wsbench compare OLD.json NEW.json"
                " [--tolerance=0.25]\n");
        return 2;
    }

    if (wsb_doc_load(&d[0], paths[0]) != 0
        || wsb_doc_load(&d[1], paths[1]) != 0)
    {
        return 2;
    }

    printf("compare %s -> %s (tolerance %.0f%%, latency floor %.1f ms)\n",
           paths[0], paths[1], tol * 100, WSB_LAT_FLOOR_MS);
    printf("  %-22s %-20s %14s %14s %9s\n", "scenario", "metric", "old",
           "new", "change");

    worse = 0;

    for (s = d[0].scenarios->child; s; s = s->next) {
        n = wsb_doc_find(&d[1], wsb_jstr(s, "name"), wsb_jstr(s, "label"));

        if (n == NULL) {
            printf("  %-22s missing from %s  WORSE\n", wsb_jstr(s, "name"),
                   paths[1]);
            worse = 1;
            continue;
        }

        worse |= wsb_compare_one(s, n, tol);
    }

    printf("%s\n", worse ? "regression: some scenario got worse"
                         : "no regression");

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


/* one table per measure: scenario, ours, the peer's, ours / the peer's */
int
wsb_markdown(int argc, char **argv)
{
    int                  have_ours;
    wsb_doc_t            ours, peer;
    wsb_jv_t            *s, *o;
    const char          *on, *pn;
    const wsb_md_col_t  *c;

    if (argc != 4) {
        fprintf(stderr, "usage: wsbench markdown OURS.json OURS-NAME"
                " PEER.json PEER-NAME\n");
        return 2;
    }

    if (wsb_doc_load(&peer, argv[2]) != 0) {
        return 2;
    }

    have_ours = wsb_doc_load(&ours, argv[0]) == 0;
    on = argv[1];
    pn = argv[3];

    printf("| scenario | %s grade | %s grade | %s: graded on | %s: graded on"
           " | %s lost+dup | %s lost+dup |\n|---|---|---|---|---|---:|"
           "---:|\n", on, pn, on, pn, on, pn);

    for (s = peer.scenarios->child; s; s = s->next) {
        o = have_ours ? wsb_doc_find(&ours, wsb_jstr(s, "name"), NULL)
                      : NULL;
        printf("| %s | %s | %s | %s | %s | %.0f | %.0f |\n",
               wsb_jstr(s, "name"), o ? wsb_jstr(o, "grade") : "n/a",
               wsb_jstr(s, "grade"), o ? wsb_jstr(o, "why") : "not measured",
               wsb_jstr(s, "why"),
               o ? wsb_jnum(o, "messages.lost")
                   + wsb_jnum(o, "messages.duplicated") : NAN,
               wsb_jnum(s, "messages.lost")
               + wsb_jnum(s, "messages.duplicated"));
    }

    for (c = wsb_md_cols; c->title; c++) {
        printf("\n**%s** (ratio = %s / %s)\n\n| scenario | %s | %s | ratio |"
               "\n|---|---:|---:|---:|\n", c->title, on, pn, on, pn);

        for (s = peer.scenarios->child; s; s = s->next) {
            o = have_ours ? wsb_doc_find(&ours, wsb_jstr(s, "name"), NULL)
                          : NULL;
            printf("| %s |", wsb_jstr(s, "name"));
            wsb_md_cell(wsb_md_val(o, c->path), c->fmt);
            wsb_md_cell(wsb_md_val(s, c->path), c->fmt);
            wsb_md_ratio(wsb_md_val(o, c->path), wsb_md_val(s, c->path));
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
