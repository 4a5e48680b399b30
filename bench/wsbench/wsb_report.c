
/*
 * Copyright (C) ngx_ws_perf_module authors
 */


/* Grades, the human table and the JSON report of one scenario. */


#include <math.h>
#include <string.h>
#include "wsb.h"


/* the thresholds of bench/README.md, best grade first */
typedef struct {
    const char          *grade;
    double               p95_ms;
    double               p99_ms;
    double               errors;     /* a share */
    double               knee_dps;   /* stress: deliveries per second */
    double               growth;     /* endurance: MB per minute */
} wsb_grade_t;


static const wsb_grade_t  wsb_grades[] = {
    { "A+",   10,   25, 0.0001, 200000, 0.5 },
    { "A",   100,  200, 0.01,   100000, 2 },
    { "B",   200,  400, 0.02,    50000, 5 },
    { "C",   500, 1000, 0.05,    20000, 20 },
    { "D",  1000, 2000, 0.10,     5000, 50 },
    { NULL,    0,    0, 0,           0, 0 }
};


void
wsb_lat(wsb_lat_t *l, const wsb_hist_t *h)
{
    l->count = h->count;
    l->p50 = (double) wsb_hist_pct(h, 50) / WSB_MS;
    l->p95 = (double) wsb_hist_pct(h, 95) / WSB_MS;
    l->p99 = (double) wsb_hist_pct(h, 99) / WSB_MS;
    l->p999 = (double) wsb_hist_pct(h, 99.9) / WSB_MS;
    l->max = (double) h->max / WSB_MS;
    l->mean = h->count ? (double) h->sum / (double) h->count / WSB_MS : 0;
}


static int
wsb_grade_lat(double p95, double p99, double err)
{
    int  g;

    for (g = 0; wsb_grades[g].grade; g++) {
        if (p95 < wsb_grades[g].p95_ms && p99 < wsb_grades[g].p99_ms
            && err < wsb_grades[g].errors)
        {
            return g;
        }
    }

    return g;
}


static int
wsb_grade_min(double v, int by_knee)
{
    int  g;

    for (g = 0; wsb_grades[g].grade; g++) {
        if (by_knee ? v >= wsb_grades[g].knee_dps
                    : v < wsb_grades[g].growth)
        {
            return g;
        }
    }

    return g;
}


static int
wsb_span_in_budget(wsb_conf_t *cf, wsb_span_t *sp)
{
    return sp->received > 0 && sp->lat.p95 <= cf->p95_budget_ms
           && sp->lat.p99 <= cf->p99_budget_ms
           && sp->error_rate <= cf->error_budget
           && (double) sp->published >= 0.9 * sp->rate * sp->seconds;
}


void
wsb_grade(wsb_conf_t *cf, wsb_result_t *r)
{
    int          g, e;
    double       conn_err, p95, p99;
    wsb_span_t  *sp;

    sp = &r->total;

    conn_err = r->attempted
               ? (double) (r->failed + r->server_closed) / (double) r->attempted
               : 1;
    r->error_rate = sp->error_rate > conn_err ? sp->error_rate : conn_err;

    p95 = sp->lat.p95;
    p99 = sp->lat.p99;

    /* churn is about connecting: the slower of the two latencies counts */
    if (strcmp(cf->kind, "churn") == 0) {
        p95 = fmax(p95, r->connect.p95);
        p99 = fmax(p99, r->connect.p99);
    }

    g = wsb_grade_lat(p95, p99, r->error_rate);
    snprintf(r->why, sizeof(r->why), "p95 %.2f ms, p99 %.2f ms, errors %.3f%%",
             p95, p99, r->error_rate * 100);

    if (strcmp(cf->kind, "stress") == 0) {
        r->knee = -1;
        for (e = 0; e < r->nepochs; e++) {
            if (!wsb_span_in_budget(cf, &r->ep[e])) {
                break;
            }
            r->knee = e;
        }

        g = wsb_grade_min(r->knee >= 0 ? r->ep[r->knee].deliveries_per_s : 0,
                          1);
        snprintf(r->why, sizeof(r->why), "knee at %.0f deliveries/s",
                 r->knee >= 0 ? r->ep[r->knee].deliveries_per_s : 0.0);
    }

    if (strcmp(cf->kind, "endurance") == 0) {
        e = wsb_grade_min(r->growth_mb_min, 0);
        if (e > g) {
            g = e;
        }
        snprintf(r->why + strlen(r->why), sizeof(r->why) - strlen(r->why),
                 ", memory %+.2f MB/min", r->growth_mb_min);
    }

    if (r->ok == 0 || (sp->received == 0 && r->slow == r->ok)) {
        g = 5;
        snprintf(r->why, sizeof(r->why), "nothing measured");
    }

    snprintf(r->grade, sizeof(r->grade), "%s",
             wsb_grades[g].grade ? wsb_grades[g].grade : "F");

    /*
     * the seed project's bar: p95 < 100 ms, p99 < 200 ms, errors < 1%, at
     * 90% of the rate asked at least
     */
    snprintf(r->seed_grade, sizeof(r->seed_grade), "%s",
             g < 5 && p95 < 100 && p99 < 200 && r->error_rate < 0.01
             && (double) sp->published >= 0.9 * cf->rate * sp->seconds
             ? "pass" : "fail");
}


static void
wsb_print_lat(FILE *f, const char *name, wsb_lat_t *l)
{
    fprintf(f, "  %-14s p50 %8.3f  p95 %8.3f  p99 %8.3f  p99.9 %8.3f"
            "  max %8.3f ms\n", name, l->p50, l->p95, l->p99, l->p999,
            l->max);
}


static void
wsb_report_chat(wsb_result_t *r, FILE *f)
{
    wsb_chat_stats_t  *c;

    c = &r->chat;

    fprintf(f, "  chat           %llu to users, %llu redelivered, %llu acks"
            " sent, %llu acked, %llu reconnects, %llu resumes sent,"
            " %llu resumed, %llu received while resuming, %llu gaps,"
            " %llu resumes continued, %llu notices,"
            " %llu errors, %llu other frames, %llu stray\n",
            (unsigned long long) c->to_users,
            (unsigned long long) c->redelivered,
            (unsigned long long) c->acks, (unsigned long long) c->acked,
            (unsigned long long) c->reconnects,
            (unsigned long long) c->resumes,
            (unsigned long long) c->resumed,
            (unsigned long long) c->resumed_msgs,
            (unsigned long long) c->gaps,
            (unsigned long long) c->continued,
            (unsigned long long) c->notices,
            (unsigned long long) c->errors, (unsigned long long) c->other,
            (unsigned long long) c->stray);
    fprintf(f, "  seed grade     %s (p95 < 100 ms, p99 < 200 ms, errors < 1%%,"
            " 90%% of the rate published)\n", r->seed_grade);
}


void
wsb_report(wsb_conf_t *cf, wsb_result_t *r, FILE *f)
{
    int          e;
    wsb_span_t  *sp;

    sp = &r->total;

    fprintf(f, "\n== %s (%s) on %s: grade %s (%s)\n", cf->name, cf->kind,
            cf->label, r->grade, r->why);

    if (r->error[0]) {
        fprintf(f, "  error          %s\n", r->error);
    }

    fprintf(f, "  connections    %llu ok of %llu, %llu failed, %llu closed by"
            " the server, %llu closed cleanly\n",
            (unsigned long long) r->ok, (unsigned long long) r->attempted,
            (unsigned long long) r->failed,
            (unsigned long long) r->server_closed,
            (unsigned long long) r->closed_ok);
    wsb_print_lat(f, "connect", &r->connect);

    fprintf(f, "  messages       %llu published (%llu errors, %llu retried),"
            " %llu received, %llu lost (%llu still owed at the end),"
            " %llu duplicated\n",
            (unsigned long long) sp->published,
            (unsigned long long) sp->pub_errors,
            (unsigned long long) r->retried,
            (unsigned long long) sp->received,
            (unsigned long long) sp->lost,
            (unsigned long long) r->tail_lost, (unsigned long long) sp->dup);
    fprintf(f, "  throughput     %.0f deliveries/s over %.1f s\n",
            sp->deliveries_per_s, sp->seconds);
    wsb_print_lat(f, "latency", &sp->lat);
    wsb_print_lat(f, "publish ack", &r->pub_ack);

    if (strcmp(cf->kind, "chat") == 0) {
        wsb_report_chat(r, f);
    }

    if (r->slow) {
        fprintf(f, "  slow readers   %llu, %llu closed by the server\n",
                (unsigned long long) r->slow,
                (unsigned long long) r->slow_closed);
    }

    fprintf(f, "  server         pid %d, cpu %.0f%% of a core, rss %.1f MB"
            " idle, %.1f MB connected, %.1f MB max, %.0f bytes per"
            " connection\n", r->server_pid, r->server_cpu_pct,
            r->rss_idle_mb, r->rss_connected_mb, r->rss_max_mb,
            r->mem_per_conn);

    if (strcmp(cf->kind, "endurance") == 0) {
        fprintf(f, "  memory growth  %+.3f MB per minute\n",
                r->growth_mb_min);
    }

    fprintf(f, "  tool           %d x %d threads, cpu %.0f%% of a core,"
            " %.2f us per received message\n", r->procs, r->threads,
            r->tool_cpu_pct, r->tool_us_per_msg);

    if (r->msgs) {
        fprintf(f, "  bytes          %.1f on the wire, %.1f inflated per"
                " message; deflate on %llu connections, %llu of %llu"
                " messages compressed\n",
                (double) r->bytes / r->msgs, (double) r->msg_bytes / r->msgs,
                (unsigned long long) r->pmd, (unsigned long long) r->zmsgs,
                (unsigned long long) r->msgs);
    }

    if (r->digest_subs || r->pub_digest[0]) {
        fprintf(f, "  digest         published %llu %s, received %llu %s"
                " by %llu subscriber(s), %llu differ\n",
                (unsigned long long) r->pub_digest_count, r->pub_digest,
                (unsigned long long) r->digest_count, r->digest,
                (unsigned long long) r->digest_subs,
                (unsigned long long) r->digest_mismatch);
    }

    if (r->nepochs < 2) {
        return;
    }

    fprintf(f, "  %-5s %9s %9s %11s %9s %9s %9s %7s %8s\n", "epoch",
            "msg/s", "sent", "deliv/s", "p50 ms", "p99 ms", "errors",
            "srv cpu", "rss MB");

    for (e = 0; e < r->nepochs; e++) {
        sp = &r->ep[e];
        fprintf(f, "  %-5d %9.0f %9llu %11.0f %9.3f %9.3f %8.3f%% %6.0f%%"
                " %8.1f%s\n", e, sp->rate, (unsigned long long) sp->published,
                sp->deliveries_per_s, sp->lat.p50, sp->lat.p99,
                sp->error_rate * 100, sp->server_cpu_pct, sp->rss_mb,
                e == r->knee && strcmp(cf->kind, "stress") == 0
                ? "  <- knee" : "");
    }
}


static void
wsb_json_str(FILE *f, const char *s)
{
    fputc('"', f);

    for ( /* void */ ; *s; s++) {
        if (*s == '"' || *s == '\\') {
            fprintf(f, "\\%c", *s);

        } else if ((unsigned char) *s < 0x20) {
            fprintf(f, "\\u%04x", *s);

        } else {
            fputc(*s, f);
        }
    }

    fputc('"', f);
}


static void
wsb_json_lat(FILE *f, const char *name, wsb_lat_t *l)
{
    fprintf(f, "\"%s\": {\"count\": %llu, \"p50\": %.4f, \"p95\": %.4f,"
            " \"p99\": %.4f, \"p999\": %.4f, \"max\": %.4f, \"mean\": %.4f}",
            name, (unsigned long long) l->count, l->p50, l->p95, l->p99,
            l->p999, l->max, l->mean);
}


static void
wsb_json_span(FILE *f, wsb_span_t *sp)
{
    fprintf(f, "{\"rate\": %.1f, \"seconds\": %.3f, \"published\": %llu,"
            " \"publish_errors\": %llu, \"received\": %llu, \"lost\": %llu,"
            " \"duplicated\": %llu, \"deliveries_per_s\": %.1f,"
            " \"error_rate\": %.6f, \"server_cpu_pct\": %.1f,"
            " \"rss_mb\": %.2f, ", sp->rate, sp->seconds,
            (unsigned long long) sp->published,
            (unsigned long long) sp->pub_errors,
            (unsigned long long) sp->received,
            (unsigned long long) sp->lost, (unsigned long long) sp->dup,
            sp->deliveries_per_s, sp->error_rate, sp->server_cpu_pct,
            sp->rss_mb);
    wsb_json_lat(f, "latency_ms", &sp->lat);
    fputc('}', f);
}


static void
wsb_json_scenario(FILE *f, wsb_conf_t *cf, wsb_result_t *r)
{
    int          e;
    wsb_span_t  *sp;

    sp = &r->total;

    fprintf(f, "{\"name\": ");
    wsb_json_str(f, cf->name);
    fprintf(f, ", \"kind\": ");
    wsb_json_str(f, cf->kind);
    fprintf(f, ", \"label\": ");
    wsb_json_str(f, cf->label);
    fprintf(f, ", \"grade\": \"%s\", \"why\": ", r->grade);
    wsb_json_str(f, r->why);
    fprintf(f, ", \"error_rate\": %.6f, \"error\": ", r->error_rate);
    wsb_json_str(f, r->error);

    fprintf(f, ",\n  \"config\": {\"connections\": %d, \"channels\": %d,"
            " \"rate\": %.1f, \"payload\": %d, \"duration\": %.1f,"
            " \"pub_conns\": %d, \"pipeline\": %d, \"sub_url\": ",
            cf->connections, cf->channels, cf->rate, cf->payload,
            cf->duration, cf->pub_conns, cf->pipeline);
    wsb_json_str(f, cf->sub_url);
    fprintf(f, ", \"pub_url\": ");
    wsb_json_str(f, cf->redis[0] ? cf->redis : cf->pub_url);
    fprintf(f, "},\n");

    fprintf(f, "  \"connections\": {\"attempted\": %llu, \"ok\": %llu,"
            " \"failed\": %llu, \"server_closed\": %llu, \"closed_ok\": %llu,"
            " \"close_failed\": %llu, ",
            (unsigned long long) r->attempted, (unsigned long long) r->ok,
            (unsigned long long) r->failed,
            (unsigned long long) r->server_closed,
            (unsigned long long) r->closed_ok,
            (unsigned long long) r->close_failed);
    wsb_json_lat(f, "connect_ms", &r->connect);
    fprintf(f, "},\n");

    fprintf(f, "  \"messages\": {\"published\": %llu, \"publish_errors\": %llu,"
            " \"retried\": %llu, \"behind\": %llu, \"received\": %llu,"
            " \"lost\": %llu, \"owed_at_end\": %llu, \"duplicated\": %llu,"
            " \"foreign\": %llu, \"pings\": %llu, \"last_status\": %d},\n",
            (unsigned long long) sp->published,
            (unsigned long long) sp->pub_errors,
            (unsigned long long) r->retried, (unsigned long long) r->behind,
            (unsigned long long) sp->received, (unsigned long long) sp->lost,
            (unsigned long long) r->tail_lost,
            (unsigned long long) sp->dup, (unsigned long long) r->foreign,
            (unsigned long long) r->pings, r->last_status);

    fprintf(f, "  \"deliveries_per_s\": %.1f, \"seconds\": %.3f,\n  ",
            sp->deliveries_per_s, sp->seconds);
    wsb_json_lat(f, "latency_ms", &sp->lat);
    fprintf(f, ",\n  ");
    wsb_json_lat(f, "publish_ack_ms", &r->pub_ack);

    fprintf(f, ",\n  \"slow\": {\"clients\": %llu, \"closed_by_server\": %llu,"
            " \"received\": %llu},\n",
            (unsigned long long) r->slow,
            (unsigned long long) r->slow_closed,
            (unsigned long long) r->slow_received);

    fprintf(f, "  \"chat\": {\"rooms\": %d, \"users\": %d,"
            " \"to_users\": %llu, \"redelivered\": %llu, \"acks\": %llu,"
            " \"acked\": %llu, \"reconnects\": %llu, \"resumes\": %llu,"
            " \"resumed\": %llu, \"resumed_msgs\": %llu, \"gaps\": %llu,"
            " \"continued\": %llu, \"notices\": %llu, \"errors\": %llu,"
            " \"other\": %llu, \"stray\": %llu,"
            " \"seed_grade\": \"%s\"},\n", cf->rooms, cf->users,
            (unsigned long long) r->chat.to_users,
            (unsigned long long) r->chat.redelivered,
            (unsigned long long) r->chat.acks,
            (unsigned long long) r->chat.acked,
            (unsigned long long) r->chat.reconnects,
            (unsigned long long) r->chat.resumes,
            (unsigned long long) r->chat.resumed,
            (unsigned long long) r->chat.resumed_msgs,
            (unsigned long long) r->chat.gaps,
            (unsigned long long) r->chat.continued,
            (unsigned long long) r->chat.notices,
            (unsigned long long) r->chat.errors,
            (unsigned long long) r->chat.other,
            (unsigned long long) r->chat.stray, r->seed_grade);

    fprintf(f, "  \"server\": {\"pid\": %d, \"cpu_pct\": %.1f,"
            " \"rss_idle_mb\": %.2f, \"rss_connected_mb\": %.2f,"
            " \"rss_max_mb\": %.2f, \"rss_end_mb\": %.2f,"
            " \"mem_per_conn_bytes\": %.0f, \"growth_mb_per_min\": %.3f},\n",
            r->server_pid, r->server_cpu_pct, r->rss_idle_mb,
            r->rss_connected_mb, r->rss_max_mb, r->rss_end_mb,
            r->mem_per_conn, r->growth_mb_min);

    fprintf(f, "  \"tool\": {\"procs\": %d, \"threads\": %d, \"cpu_pct\": %.1f,"
            " \"cpu_s\": %.3f, \"us_per_msg\": %.3f},\n",
            r->procs, r->threads, r->tool_cpu_pct, r->tool_cpu_s,
            r->tool_us_per_msg);

    fprintf(f, "  \"knee\": {\"step\": %d, \"deliveries_per_s\": %.1f,"
            " \"rate\": %.1f},\n", r->knee,
            r->knee >= 0 ? r->ep[r->knee].deliveries_per_s : 0.0,
            r->knee >= 0 ? r->ep[r->knee].rate : 0.0);

    fprintf(f, "  \"bytes\": {\"wire\": %llu, \"inflated\": %llu,"
            " \"messages\": %llu, \"compressed\": %llu,"
            " \"deflate_connections\": %llu, \"wire_per_message\": %.1f,"
            " \"inflated_per_message\": %.1f},\n",
            (unsigned long long) r->bytes, (unsigned long long) r->msg_bytes,
            (unsigned long long) r->msgs, (unsigned long long) r->zmsgs,
            (unsigned long long) r->pmd,
            r->msgs ? (double) r->bytes / r->msgs : 0.0,
            r->msgs ? (double) r->msg_bytes / r->msgs : 0.0);

    fprintf(f, "  \"digest\": {\"channel\": ");
    wsb_json_str(f, cf->digest_channel);
    fprintf(f, ", \"published\": %llu, \"published_sha1\": \"%s\","
            " \"received\": %llu, \"received_sha1\": \"%s\","
            " \"subscribers\": %llu, \"mismatched\": %llu},\n",
            (unsigned long long) r->pub_digest_count, r->pub_digest,
            (unsigned long long) r->digest_count, r->digest,
            (unsigned long long) r->digest_subs,
            (unsigned long long) r->digest_mismatch);

    fprintf(f, "  \"epochs\": [");

    for (e = 0; e < r->nepochs; e++) {
        fprintf(f, "%s\n    ", e ? "," : "");
        wsb_json_span(f, &r->ep[e]);
    }

    fprintf(f, "]}");
}


int
wsb_report_json(wsb_conf_t *cf, wsb_result_t *r, const char *path)
{
    FILE  *f;

    f = fopen(path, "w");
    if (f == NULL) {
        perror(path);
        return -1;
    }

    fprintf(f, "{\"wsbench\": %d, \"scenarios\": [\n", WSB_VERSION);
    wsb_json_scenario(f, cf, r);
    fprintf(f, "\n]}\n");

    if (fclose(f) != 0) {
        perror(path);
        return -1;
    }

    return 0;
}
