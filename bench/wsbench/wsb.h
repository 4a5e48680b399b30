
/*
 * Copyright (C) ngx_ws_perf_module authors
 */


#ifndef _WSB_H_INCLUDED_
#define _WSB_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <netinet/in.h>
#include <sys/types.h>


#define WSB_VERSION          1

#define WSB_MAX_PROCS        16
#define WSB_MAX_THREADS      8
#define WSB_MAX_PUBS         32
#define WSB_MAX_EPOCHS       24
#define WSB_MAX_SAMPLES      600
#define WSB_FD_RESERVE       256

/* payload: 'W' run(8) epoch(2) pub(2) seq(8) ts(16), all hex, then padding */
#define WSB_HDR_LEN          37
#define WSB_MIN_PAYLOAD      40

#define WSB_HIST_SUB_BITS    8
#define WSB_HIST_BUCKETS     4096

#define WSB_NS               1000000000ULL
#define WSB_MS               1000000ULL

#define WSB_DIGEST_LEN       20

/* chat: rooms a connection is in at most, bytes of a message parsed */
#define WSB_CHAT_ROOMS       8
#define WSB_CHAT_TARGETS     (WSB_CHAT_ROOMS + 1)
#define WSB_CHAT_CAP         384
#define WSB_CHAT_HDR_LEN     (WSB_HDR_LEN + 8)   /* and the target, hex */
#define WSB_CHAT_ID_LEN      40
#define WSB_CHAT_WIN         4                   /* 64-bit words */


typedef struct {
    uint64_t             count;
    uint64_t             min;
    uint64_t             max;
    uint64_t             sum;
    uint64_t             b[WSB_HIST_BUCKETS];
} wsb_hist_t;


typedef struct {
    uint32_t             h[5];
    uint64_t             len;
    unsigned char        buf[64];
} wsb_sha1_t;


/* a scenario: every key a bench/scenarios file may set */
typedef struct {
    char                 name[64];
    char                 kind[32];       /* steady stress spike endurance
                                            churn slow echo */
    char                 label[64];      /* the server's name in reports */
    char                 sub_url[256];   /* ws://host:port/path{c} */
    char                 pub_url[256];   /* http://host:port/path{c} */
    char                 redis[128];     /* host:port: publish there */
    char                 redis_channel[128];
    char                 json[256];
    char                 server_pidfile[256];
    char                 digest_channel[64];

    int                  connections;
    int                  channels;
    int                  payload;
    int                  pub_conns;
    int                  pipeline;
    int                  threads;
    int                  src_ips;
    int                  fragments;
    int                  server_pid;
    int                  max_steps;
    int                  quiet;
    int                  batch_us;       /* wait to read more at once */
    int                  envelope;       /* payload in a JSON "data" */
    int                  deflate;        /* offer permessage-deflate */
    int                  payload_text;   /* chat-like text after the header */

    double               ramp;           /* connections per second */
    double               rate;           /* messages per second */
    double               duration;       /* seconds of publishing */
    double               settle;
    double               drain;
    double               connect_timeout;
    double               timeout;        /* hard limit of the whole run */

    double               spike_at;
    double               spike_factor;
    double               step;           /* stress: seconds per step */
    double               step_factor;
    double               churn_rate;     /* openings per second */
    double               churn_life_min; /* seconds */
    double               churn_life_max;
    double               slow_share;
    double               sample;         /* endurance: seconds per epoch */

    double               p95_budget_ms;
    double               p99_budget_ms;
    double               error_budget;   /* a share: 0.01 is 1% */

    /* kind = chat */
    char                 pub_format[16]; /* json raw */
    int                  rooms;
    int                  users;
    int                  rooms_min;
    int                  rooms_max;
    int                  msg_min;
    int                  msg_max;
    int                  ack;
    int                  resume;
    double               big_rooms;      /* share of the rooms that are big */
    double               big_share;      /* share of the picks they get */
    double               user_share;
    double               churn_share;    /* of the connections, a second */
    double               churn_pause;    /* seconds closed before reopening */
} wsb_conf_t;


/* kind = chat: what the subscribers counted beside the messages */
typedef struct {
    uint64_t             acks;           /* acks we sent */
    uint64_t             acked;          /* "acked" answers */
    uint64_t             resumes;        /* resume commands sent */
    uint64_t             resumed;        /* "resumed" answers */
    uint64_t             resumed_msgs;   /* received while resuming */
    uint64_t             gaps;           /* history gone: "gap" */
    uint64_t             continued;      /* "gap" with "more":true, */
                                         /* the resume sent again */
    uint64_t             notices;
    uint64_t             errors;         /* "error" frames */
    uint64_t             other;          /* frames of another type */
    uint64_t             redelivered;
    uint64_t             reconnects;
    uint64_t             stray;          /* of a target we are not on */
    uint64_t             to_users;       /* publisher: messages to users */
} wsb_chat_stats_t;


/* what one thread saw during one epoch (a stress step, a spike phase) */
typedef struct {
    uint64_t             received;
    uint64_t             lost;
    uint64_t             dup;
    uint64_t             published;
    uint64_t             pub_errors;
    wsb_hist_t           lat;
} wsb_epoch_t;


typedef struct {
    uint64_t             attempted;
    uint64_t             ok;
    uint64_t             failed;
    uint64_t             server_closed;  /* closes we did not ask for */
    uint64_t             closed_ok;      /* our close answered in time */
    uint64_t             close_failed;
    uint64_t             pings;
    uint64_t             foreign;        /* payloads of another run */
    uint64_t             tail_lost;
    uint64_t             slow;
    uint64_t             slow_closed;
    uint64_t             slow_received;
    uint64_t             bytes;          /* read off the wire, frames */
    uint64_t             msgs;           /* data messages, any payload */
    uint64_t             msg_bytes;      /* their payloads, inflated */
    uint64_t             zmsgs;          /* of those, compressed (RSV1) */
    uint64_t             pmd;            /* connections with deflate */
    uint64_t             sent;           /* echo: messages we sent */
    uint64_t             digest_count;
    uint64_t             digest_subs;
    uint64_t             digest_mismatch;
    unsigned char        digest[WSB_DIGEST_LEN];
    uint64_t             cpu_ns;         /* thread CPU while publishing */
    uint64_t             cpu_total_ns;
    int                  fd_errors;
    char                 error[128];
    wsb_chat_stats_t     chat;
    wsb_hist_t           connect;
    wsb_epoch_t          ep[WSB_MAX_EPOCHS];
} wsb_stats_t;


typedef enum {
    WSB_PHASE_CONNECT = 0,
    WSB_PHASE_PUBLISH,
    WSB_PHASE_DRAIN,
    WSB_PHASE_CLOSE,
    WSB_PHASE_EXIT
} wsb_phase_e;


typedef struct {
    uint64_t             rss_kb;
    uint64_t             cpu_ticks;
    int                  procs;
} wsb_server_sample_t;


/* shared between the coordinator and the subscriber processes */
typedef struct {
    volatile int         phase;
    volatile int         epoch;
    volatile int         spike;
    volatile int         ready;          /* threads done connecting */
    volatile int         finished;       /* threads done closing */
    uint32_t             run_id;
    uint64_t             t0;
    uint64_t             pub_start;
    int                  procs;
    int                  threads;
    int                  npubs;
    int                  nchannels;
    uint32_t            *seq;            /* [npubs][nchannels], issued */
    wsb_stats_t          stats[];        /* procs * threads, then the
                                            publisher's */
} wsb_shared_t;


typedef struct {
    double               p50;
    double               p95;
    double               p99;
    double               p999;
    double               max;
    double               mean;
    uint64_t             count;
} wsb_lat_t;                             /* milliseconds */


typedef struct {
    uint64_t             published;
    uint64_t             pub_errors;
    uint64_t             received;
    uint64_t             lost;
    uint64_t             dup;
    double               rate;           /* asked for, messages per second */
    double               seconds;
    double               deliveries_per_s;
    double               error_rate;
    double               server_cpu_pct;
    double               rss_mb;
    wsb_lat_t            lat;
} wsb_span_t;


typedef struct {
    int                  procs;
    int                  threads;
    int                  nepochs;
    int                  knee;           /* stress: last step in budget */
    uint64_t             attempted;
    uint64_t             ok;
    uint64_t             failed;
    uint64_t             server_closed;
    uint64_t             closed_ok;
    uint64_t             close_failed;
    uint64_t             pings;
    uint64_t             foreign;
    uint64_t             slow;
    uint64_t             slow_closed;
    uint64_t             slow_received;
    uint64_t             tail_lost;
    uint64_t             retried;
    uint64_t             behind;
    uint64_t             digest_count;
    uint64_t             digest_subs;
    uint64_t             digest_mismatch;
    uint64_t             pub_digest_count;
    uint64_t             bytes;
    uint64_t             msgs;
    uint64_t             msg_bytes;
    uint64_t             zmsgs;
    uint64_t             pmd;
    char                 digest[2 * WSB_DIGEST_LEN + 1];
    char                 pub_digest[2 * WSB_DIGEST_LEN + 1];
    int                  last_status;
    wsb_lat_t            connect;
    wsb_lat_t            pub_ack;
    wsb_span_t           total;
    wsb_span_t           ep[WSB_MAX_EPOCHS];

    int                  server_pid;
    double               server_cpu_pct;
    double               rss_idle_mb;
    double               rss_connected_mb;
    double               rss_max_mb;
    double               rss_end_mb;
    double               mem_per_conn;   /* bytes */
    double               growth_mb_min;

    double               tool_cpu_s;
    double               tool_cpu_pct;
    double               tool_us_per_msg;

    double               error_rate;
    wsb_chat_stats_t     chat;
    char                 seed_grade[8];
    char                 grade[4];
    char                 why[160];
    char                 error[256];
} wsb_result_t;


typedef struct {
    const char          *host;
    int                  port;
    int                  tls;            /* wss:// or https:// */
    struct sockaddr_in   addr;
    char                 hostport[96];
    char                 path[256];      /* may hold {c} {i} {i%N} */
} wsb_url_t;


/* wsb_hist.c */
void wsb_hist_init(wsb_hist_t *h);
void wsb_hist_add(wsb_hist_t *h, uint64_t v);
void wsb_hist_merge(wsb_hist_t *to, const wsb_hist_t *from);
uint64_t wsb_hist_pct(const wsb_hist_t *h, double pct);

/* wsb_ws.c */
void wsb_sha1_init(wsb_sha1_t *c);
void wsb_sha1_update(wsb_sha1_t *c, const void *data, size_t len);
void wsb_sha1_final(wsb_sha1_t *c, unsigned char out[WSB_DIGEST_LEN]);
size_t wsb_base64(char *dst, const unsigned char *src, size_t len);
void wsb_ws_accept(char *dst, const char *key);
size_t wsb_ws_frame(unsigned char *dst, int opcode, int fin,
    const unsigned char *data, size_t len, uint32_t mask);
size_t wsb_ws_handshake(char *dst, size_t size, const char *hostport,
    const char *path, const char *key, int deflate);
/* a permessage-deflate answer: 0 and its parameters, or -1 and why */
typedef struct {
    int                  server_no_context;
    int                  client_no_context;
    int                  server_bits;    /* 0: not named, 15 then */
    int                  client_bits;
} wsb_pmd_t;

int wsb_ws_pmd_answer(const char *v, size_t len, wsb_pmd_t *pmd,
    char *why, size_t size);
int wsb_ws_check_101(const char *buf, size_t len, const char *key);
/* the value of header name in a head whose lines end with LF, or NULL */
const char *wsb_header(const char *buf, size_t len, const char *name,
    size_t *vlen);

/* wsb_payload: the fixed header every published message starts with */
size_t wsb_payload_make(unsigned char *dst, size_t size, uint32_t run,
    int epoch, int pub, uint32_t seq, uint64_t ts);
void wsb_payload_text(unsigned char *dst, size_t size, uint32_t seq);
int wsb_payload_parse(const unsigned char *p, size_t len, uint32_t *run,
    int *epoch, int *pub, uint32_t *seq, uint64_t *ts);

/* wsb_tls.c: recv() and send() look-alikes over one TLS connection */
typedef struct wsb_tls_s  wsb_tls_t;

#define WSB_TLS_DONE         0
#define WSB_TLS_WANT_READ    1
#define WSB_TLS_WANT_WRITE   2
#define WSB_TLS_ERROR        -1

int wsb_tls_init(void);
void *wsb_tls_ctx(void);
void wsb_tls_ctx_free(void *ctx);
wsb_tls_t *wsb_tls_new(void *ctx, int fd);
int wsb_tls_handshake(wsb_tls_t *c);
ssize_t wsb_tls_recv(wsb_tls_t *c, void *buf, size_t len, uint64_t *rx);
ssize_t wsb_tls_send(wsb_tls_t *c, const void *buf, size_t len);
int wsb_tls_pending(wsb_tls_t *c);
const char *wsb_tls_why(void);
void wsb_tls_free(wsb_tls_t *c, int clean);

/* wsb_sub.c */
void *wsb_sub_thread(void *arg);
void wsb_sub_process(wsb_conf_t *cf, wsb_shared_t *sh, int proc);

/* wsb_pub.c */
typedef struct wsb_pub_s  wsb_pub_t;

wsb_pub_t *wsb_pub_create(wsb_conf_t *cf, wsb_shared_t *sh, wsb_stats_t *st);
void wsb_pub_step(wsb_pub_t *p, double rate, int epoch, int timeout_ms);
uint64_t wsb_pub_inflight(wsb_pub_t *p);
void wsb_pub_totals(wsb_pub_t *p, uint64_t *retried, uint64_t *behind,
    int *last_status);
void wsb_pub_destroy(wsb_pub_t *p);

/* wsb_proc.c */
int wsb_server_pid(wsb_conf_t *cf);
int wsb_server_sample(int pid, wsb_server_sample_t *s);
uint64_t wsb_now(void);
uint64_t wsb_wall(void);
uint64_t wsb_thread_cpu(void);
void wsb_sleep(uint64_t ns);
int wsb_raise_nofile(void);
long wsb_ticks(void);

/* wsb_conf.c */
void wsb_conf_defaults(wsb_conf_t *cf);
int wsb_conf_set(wsb_conf_t *cf, const char *key, const char *val);
int wsb_conf_file(wsb_conf_t *cf, const char *path);
int wsb_conf_check(wsb_conf_t *cf);
int wsb_url_parse(wsb_url_t *u, const char *url, const char *scheme);
size_t wsb_url_path(char *dst, size_t size, const char *tmpl, long i,
    long c);

/* wsb_chat.c: kind = chat */
typedef struct {
    uint32_t             base;       /* first number owed */
    uint32_t             hi;         /* highest number seen, plus one */
    uint32_t             distinct;   /* numbers seen, from base */
    uint32_t             pad;
    uint64_t             win[WSB_CHAT_WIN];  /* bit d: hi - 1 - d seen */
} wsb_chat_track_t;


typedef struct {
    int                  ntargets;   /* rooms, then the user */
    int                  opened;
    uint32_t             target[WSB_CHAT_TARGETS];
    uint8_t              resuming[WSB_CHAT_TARGETS];
    /* a gap said "more": the rest is asked from more_id */
    uint8_t              more[WSB_CHAT_TARGETS];
    uint8_t              more_len[WSB_CHAT_TARGETS];
    char                 more_id[WSB_CHAT_TARGETS][WSB_CHAT_ID_LEN];
    uint8_t              id_len[WSB_CHAT_TARGETS];
    char                 last_id[WSB_CHAT_TARGETS][WSB_CHAT_ID_LEN];
    wsb_chat_track_t     tr[];       /* [ntargets][npubs] */
} wsb_chat_slot_t;

int wsb_chat_rooms(wsb_conf_t *cf, long idx, uint32_t *rooms);
size_t wsb_chat_path(wsb_conf_t *cf, char *dst, size_t size,
    const char *tmpl, long idx);
size_t wsb_chat_target_name(wsb_conf_t *cf, char *dst, size_t size,
    uint32_t target);
size_t wsb_chat_body(wsb_conf_t *cf, unsigned char *dst, size_t size,
    uint32_t target, size_t data_len, const unsigned char *hdr);
size_t wsb_chat_size(uint64_t r, int min, int max);
wsb_chat_slot_t *wsb_chat_slot(wsb_conf_t *cf, int npubs, long idx);
void wsb_chat_open(wsb_chat_slot_t *cs, wsb_shared_t *sh, int resume,
    wsb_epoch_t *ep);
size_t wsb_chat_resume(wsb_chat_slot_t *cs, wsb_conf_t *cf, int k,
    char *dst, size_t size);
size_t wsb_chat_message(wsb_chat_slot_t *cs, wsb_conf_t *cf,
    wsb_shared_t *sh, wsb_stats_t *st, const unsigned char *m, size_t len,
    uint64_t now, int slow, char *reply, size_t size);
uint64_t wsb_chat_tail(wsb_chat_slot_t *cs, wsb_shared_t *sh);

/* wsb_run.c */
int wsb_run(wsb_conf_t *cf);

/* wsb_report.c */
void wsb_report(wsb_conf_t *cf, wsb_result_t *r, FILE *f);
int wsb_report_json(wsb_conf_t *cf, wsb_result_t *r, const char *path);
void wsb_grade(wsb_conf_t *cf, wsb_result_t *r);
void wsb_lat(wsb_lat_t *l, const wsb_hist_t *h);

/* wsb_cmp.c */
int wsb_compare(int argc, char **argv);
int wsb_merge(int argc, char **argv);
int wsb_markdown(int argc, char **argv);


#endif /* _WSB_H_INCLUDED_ */
