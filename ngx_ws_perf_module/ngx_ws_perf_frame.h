
/*
 * Copyright (C) ngx_ws_perf_module authors
 */


#ifndef _NGX_WS_PERF_FRAME_H_INCLUDED_
#define _NGX_WS_PERF_FRAME_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


#define NGX_WS_PERF_OP_CONT          0x0
#define NGX_WS_PERF_OP_TEXT          0x1
#define NGX_WS_PERF_OP_BINARY        0x2
#define NGX_WS_PERF_OP_CLOSE         0x8
#define NGX_WS_PERF_OP_PING          0x9
#define NGX_WS_PERF_OP_PONG          0xa

#define NGX_WS_PERF_CLOSE_NORMAL        1000
#define NGX_WS_PERF_CLOSE_GOING_AWAY    1001
#define NGX_WS_PERF_CLOSE_PROTOCOL      1002
#define NGX_WS_PERF_CLOSE_UNSUPPORTED   1003
#define NGX_WS_PERF_CLOSE_NO_STATUS     1005
#define NGX_WS_PERF_CLOSE_ABNORMAL      1006
#define NGX_WS_PERF_CLOSE_BAD_DATA      1007
#define NGX_WS_PERF_CLOSE_POLICY        1008
#define NGX_WS_PERF_CLOSE_TOO_BIG       1009
#define NGX_WS_PERF_CLOSE_INTERNAL      1011

/* the largest frame header: 2 + 8 bytes of length + 4 bytes of mask */
#define NGX_WS_PERF_FRAME_HEADER_MAX    14
#define NGX_WS_PERF_CONTROL_MAX         125


/* what ngx_ws_perf_frame_parse() found; see the function for each */
typedef enum {
    NGX_WS_PERF_FRAME_AGAIN = 0,
    NGX_WS_PERF_FRAME_HEADER,
    NGX_WS_PERF_FRAME_DATA,
    NGX_WS_PERF_FRAME_END,
    NGX_WS_PERF_FRAME_ERROR
} ngx_ws_perf_frame_rc_e;


typedef enum {
    NGX_WS_PERF_UTF8_OK = 0,
    NGX_WS_PERF_UTF8_INCOMPLETE,
    NGX_WS_PERF_UTF8_INVALID
} ngx_ws_perf_utf8_rc_e;


typedef struct {
    /* set by the caller once, before the first call */
    uint64_t              max_message;   /* 0: no limit */
    unsigned              server:1;      /* 1: peer frames must be masked */
    unsigned              rsv1_ok:1;     /* permessage-deflate negotiated */

    /* parser state, private */
    unsigned              state:4;
    unsigned              hdr_need:4;
    unsigned              hdr_have:4;
    unsigned              mask_off:2;
    unsigned              masked:1;
    uint8_t               hdr[NGX_WS_PERF_FRAME_HEADER_MAX];
    uint8_t               mask[4];
    uint64_t              left;          /* payload bytes left in frame */
    uint32_t              utf8_state;    /* of the text message or reason */
    uint32_t              ctrl_len;
    uint8_t               ctrl[NGX_WS_PERF_CONTROL_MAX];

    /* the current frame: valid from HEADER to its END */
    uint8_t               opcode;        /* of this frame, CONT included */
    uint8_t               fin;
    uint64_t              length;        /* payload length of this frame */

    /* the current data message */
    uint8_t               msg_opcode;    /* TEXT or BINARY, 0: none */
    uint8_t               msg_rsv1;      /* compressed: its text is not */
                                         /* checked here but once inflated */
    uint64_t              msg_length;    /* payload bytes so far */

    /* the result of the last call */
    uint8_t              *data;          /* DATA chunk or control payload */
    size_t                data_len;
    uint16_t              close_code;    /* END of CLOSE: 0 if none; ERROR */
    const char           *error;         /* ERROR: a short reason for logs */
} ngx_ws_perf_frame_parser_t;


void ngx_ws_perf_frame_parser_init(ngx_ws_perf_frame_parser_t *p,
    uint64_t max_message, int server);

/*
 * Consumes input from *pos up to last, advancing *pos, and stops at the
 * first event:
 *   AGAIN   all input consumed, nothing more to report;
 *   HEADER  a frame header was parsed: p->opcode, p->fin, p->length;
 *   DATA    a chunk of a text/binary/continuation frame's payload, unmasked
 *           in place and (text) UTF-8 checked: p->data, p->data_len;
 *   END     the frame is complete; for control frames p->data/p->data_len
 *           hold the whole payload (in the parser, valid until the next
 *           call), for CLOSE p->close_code is the code (0 when the payload
 *           was empty) and the reason is at p->data + 2; for data frames
 *           p->fin tells whether the message ended, and p->msg_opcode and
 *           p->msg_length stay valid until the next call;
 *   ERROR   the peer broke the protocol: p->close_code is 1002, 1007 or
 *           1009 and p->error says why; the parser must not be called again.
 */
ngx_ws_perf_frame_rc_e ngx_ws_perf_frame_parse(ngx_ws_perf_frame_parser_t *p,
    uint8_t **pos, uint8_t *last);

/* bytes a frame header takes for this payload length (client: + 4 mask) */
size_t ngx_ws_perf_frame_header_size(uint64_t len, int masked);

/* writes a frame header and returns its size; mask NULL for server frames */
size_t ngx_ws_perf_frame_encode_header(uint8_t *buf, unsigned opcode,
    int fin, uint64_t len, const uint8_t *mask);

/* XORs data with mask, starting at mask byte offset % 4 */
void ngx_ws_perf_frame_mask(uint8_t *data, size_t len, const uint8_t *mask,
    size_t offset);

/* 1 when a close code may be sent on the wire by a peer (RFC 6455 7.4) */
int ngx_ws_perf_close_code_valid(unsigned code);

/*
 * Incremental UTF-8 check; *state is 0 at the start of a text and carries
 * a code point split across calls.  INCOMPLETE means valid so far but in
 * the middle of a code point.
 */
ngx_ws_perf_utf8_rc_e ngx_ws_perf_utf8_validate(uint32_t *state,
    const uint8_t *p, size_t len);


#endif /* _NGX_WS_PERF_FRAME_H_INCLUDED_ */
