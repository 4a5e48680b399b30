
/*
 * Copyright (C) ngx_ws_perf_module authors
 */


#ifndef _NGX_WS_PERF_MSG_H_INCLUDED_
#define _NGX_WS_PERF_MSG_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>
#include <jansson.h>


#define NGX_WS_PERF_PRIO_CRITICAL   0
#define NGX_WS_PERF_PRIO_HIGH       1
#define NGX_WS_PERF_PRIO_NORMAL     2
#define NGX_WS_PERF_PRIO_LOW        3
#define NGX_WS_PERF_PRIO_N          4

#define NGX_WS_PERF_TARGET_CHANNEL  0
#define NGX_WS_PERF_TARGET_USER     1

#define NGX_WS_PERF_NAME_MAX        128
#define NGX_WS_PERF_ID_MAX          64


/*
 * One message as it travels from a publisher to the hub.  Every pointer
 * refers to memory its producer owns for as long as the message is used.
 */
typedef struct {
    const uint8_t        *name;         /* channel or user */
    size_t                name_len;
    const uint8_t        *id;
    size_t                id_len;
    const uint8_t        *data;         /* the payload raw subscribers get */
    size_t                data_len;
    const uint8_t        *json;         /* the payload as JSON text, or */
    size_t                json_len;     /* NULL: data is a plain string */
    int64_t               ts;           /* publish time, Unix ms */
    int64_t               deliver_at;   /* Unix ms, or 0: now */
    int64_t               delay;        /* ms, or 0 */
    unsigned              target:1;
    unsigned              priority:2;
    unsigned              ack:1;
    unsigned              binary:1;     /* data is not valid UTF-8 */
    unsigned              lz4:1;        /* data (and json) is an lz4 block */
} ngx_ws_perf_msg_t;


/* 1 when a channel or user name is 1-128 of [A-Za-z0-9_.:@=+-] */
int ngx_ws_perf_msg_valid_name(const uint8_t *p, size_t len);

/* 1 when an id is 1-64 of [A-Za-z0-9_.:-] */
int ngx_ws_perf_msg_valid_id(const uint8_t *p, size_t len);

/* -1 for an unknown name */
int ngx_ws_perf_msg_priority(const uint8_t *p, size_t len);
const char *ngx_ws_perf_msg_priority_name(unsigned priority);

/*
 * A user's message of a priority in "priorities" (bit 1 << priority)
 * needs an ack even if its publisher did not ask for one.
 */
void ngx_ws_perf_msg_ack_needed(ngx_ws_perf_msg_t *m, unsigned priorities);

/* at most max bytes of UTF-8 text, cut between characters */
size_t ngx_ws_perf_msg_cut(const uint8_t *p, size_t len, size_t max);

/* '*' matches any run of characters, everything else itself */
int ngx_ws_perf_msg_glob(const uint8_t *pat, size_t pat_len,
    const uint8_t *name, size_t name_len);

/*
 * Reads one published JSON object into m.  The strings m points to live in
 * obj, and the JSON text of a non-string "data" in *dump, which the caller
 * frees with free().  Returns 0, or -1 with *err set to a reason.
 */
int ngx_ws_perf_msg_from_json(json_t *obj, ngx_ws_perf_msg_t *m,
    char **dump, const char **err);

/* the size of the JSON envelope of m, and the envelope written to buf */
size_t ngx_ws_perf_msg_envelope_size(const ngx_ws_perf_msg_t *m);
uint8_t *ngx_ws_perf_msg_envelope(const ngx_ws_perf_msg_t *m, uint8_t *buf);

/*
 * The form a message takes on a Redis channel:
 * "v1 <id> <priority> <ts> <flags>\n<data>", flags being any of 'j' (data
 * is JSON text), 'b' (data is binary), 'a' (ack wanted) and 'z' (data is
 * an lz4 block of such data, ngx_ws_perf_lz4.h), or "-".
 * ngx_ws_perf_msg_wire_flags() writes m's flags into buf (at least
 * NGX_WS_PERF_WIRE_FLAGS_MAX bytes) and returns their length;
 * ngx_ws_perf_msg_from_wire() reads everything but the target into m,
 * pointing into p, and returns 0, or -1 for malformed input.
 */
#define NGX_WS_PERF_WIRE_FLAGS_MAX  4

size_t ngx_ws_perf_msg_wire_flags(const ngx_ws_perf_msg_t *m, char *buf);
int ngx_ws_perf_msg_from_wire(const uint8_t *p, size_t len,
    ngx_ws_perf_msg_t *m);

/*
 * A presence event on a channel's Redis channel, which ws_perf_presence
 * publishes there: "p1 join|leave <members>\n<user>".  Returns 1 (join)
 * or 2 (leave) with *count and the user pointing into p, or 0 for
 * anything else, a malformed one or a user that is not a valid name.
 */
int ngx_ws_perf_msg_presence_wire(const uint8_t *p, size_t len,
    uint64_t *count, const uint8_t **user, size_t *user_len);

/*
 * One event of the text/event-stream format: "id: ID" when id_len,
 * "event: EVENT" when event_len, data as one "data: " line for
 * each of its lines (CR, LF or CRLF end a line), and an empty line.  The
 * id and the event must hold no line ends.
 */
size_t ngx_ws_perf_msg_sse_size(size_t event_len, size_t id_len,
    const uint8_t *data, size_t len);
uint8_t *ngx_ws_perf_msg_sse(uint8_t *buf, const uint8_t *event,
    size_t event_len, const uint8_t *id, size_t id_len, const uint8_t *data,
    size_t len);

/*
 * The type of a JSON text sent to clients, {"type":"TYPE",...}, when it
 * is 1-32 of [a-z_]: the event of its event-stream form; else NULL.
 */
const uint8_t *ngx_ws_perf_msg_type(const uint8_t *p, size_t len,
    size_t *type_len);

/* JSON string escaping of UTF-8 text, without the quotes */
size_t ngx_ws_perf_json_escape_size(const uint8_t *p, size_t len);
uint8_t *ngx_ws_perf_json_escape(uint8_t *dst, const uint8_t *p, size_t len);


#endif /* _NGX_WS_PERF_MSG_H_INCLUDED_ */
