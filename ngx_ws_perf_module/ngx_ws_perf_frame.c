
/*
 * Copyright (C) ngx_ws_perf_module authors
 */


#include <stdint.h>
#include <string.h>
#include "ngx_ws_perf_frame.h"


/* the parser states; p->state holds one of these */
enum {
    NGX_WS_PERF_FRAME_ST_HEADER = 0,
    NGX_WS_PERF_FRAME_ST_DATA,
    NGX_WS_PERF_FRAME_ST_DATA_END,
    NGX_WS_PERF_FRAME_ST_CONTROL,
    NGX_WS_PERF_FRAME_ST_MSG_DONE,
    NGX_WS_PERF_FRAME_ST_FAILED
};


/*
 * A UTF-8 state is 0 between code points; inside one it packs the number
 * of continuation bytes still due and the range the next one must fall in.
 */
#define NGX_WS_PERF_UTF8_NEXT(need, lo, hi)                                  \
    (((uint32_t) (need) << 16) | ((uint32_t) (hi) << 8) | (uint32_t) (lo))

#define NGX_WS_PERF_UTF8_REJECT  0xffffffff

#define NGX_WS_PERF_ASCII_MASK   0x8080808080808080ULL


static ngx_ws_perf_frame_rc_e ngx_ws_perf_frame_header(
    ngx_ws_perf_frame_parser_t *p, uint8_t **pos, uint8_t *last);
static ngx_ws_perf_frame_rc_e ngx_ws_perf_frame_first_byte(
    ngx_ws_perf_frame_parser_t *p);
static ngx_ws_perf_frame_rc_e ngx_ws_perf_frame_second_byte(
    ngx_ws_perf_frame_parser_t *p);
static ngx_ws_perf_frame_rc_e ngx_ws_perf_frame_header_done(
    ngx_ws_perf_frame_parser_t *p);
static ngx_ws_perf_frame_rc_e ngx_ws_perf_frame_data(
    ngx_ws_perf_frame_parser_t *p, uint8_t **pos, uint8_t *last);
static ngx_ws_perf_frame_rc_e ngx_ws_perf_frame_data_end(
    ngx_ws_perf_frame_parser_t *p);
static ngx_ws_perf_frame_rc_e ngx_ws_perf_frame_control(
    ngx_ws_perf_frame_parser_t *p, uint8_t **pos, uint8_t *last);
static ngx_ws_perf_frame_rc_e ngx_ws_perf_frame_control_end(
    ngx_ws_perf_frame_parser_t *p);
static ngx_ws_perf_frame_rc_e ngx_ws_perf_frame_fail(
    ngx_ws_perf_frame_parser_t *p, unsigned code, const char *reason);
static uint32_t ngx_ws_perf_utf8_lead(unsigned c);


void
ngx_ws_perf_frame_parser_init(ngx_ws_perf_frame_parser_t *p,
    uint64_t max_message, int server)
{
    memset(p, 0, sizeof(ngx_ws_perf_frame_parser_t));

    p->max_message = max_message;
    p->server = server ? 1 : 0;
    p->state = NGX_WS_PERF_FRAME_ST_HEADER;
    p->hdr_need = 1;
}


ngx_ws_perf_frame_rc_e
ngx_ws_perf_frame_parse(ngx_ws_perf_frame_parser_t *p, uint8_t **pos,
    uint8_t *last)
{
    switch (p->state) {

    case NGX_WS_PERF_FRAME_ST_MSG_DONE:
        /* the message stays visible until the call after its last END */
        p->msg_opcode = 0;
        p->msg_rsv1 = 0;
        p->msg_length = 0;
        p->utf8_state = 0;
        p->state = NGX_WS_PERF_FRAME_ST_HEADER;

        /* fall through */

    case NGX_WS_PERF_FRAME_ST_HEADER:
        return ngx_ws_perf_frame_header(p, pos, last);

    case NGX_WS_PERF_FRAME_ST_DATA:
        return ngx_ws_perf_frame_data(p, pos, last);

    case NGX_WS_PERF_FRAME_ST_DATA_END:
        return ngx_ws_perf_frame_data_end(p);

    case NGX_WS_PERF_FRAME_ST_CONTROL:
        return ngx_ws_perf_frame_control(p, pos, last);

    default: /* NGX_WS_PERF_FRAME_ST_FAILED */
        return NGX_WS_PERF_FRAME_ERROR;
    }
}


/*
 * Collects the header in p->hdr: first 1 byte, then 2, then the full size
 * the second byte announces, checking each part as soon as it is in.
 */

static ngx_ws_perf_frame_rc_e
ngx_ws_perf_frame_header(ngx_ws_perf_frame_parser_t *p, uint8_t **pos,
    uint8_t *last)
{
    size_t                  n;
    ngx_ws_perf_frame_rc_e  rc;

    while (p->hdr_have < p->hdr_need) {

        n = (size_t) (last - *pos);

        if (n == 0) {
            return NGX_WS_PERF_FRAME_AGAIN;
        }

        if (n > (size_t) (p->hdr_need - p->hdr_have)) {
            n = p->hdr_need - p->hdr_have;
        }

        memcpy(p->hdr + p->hdr_have, *pos, n);
        *pos += n;
        p->hdr_have += n;

        if (p->hdr_have < p->hdr_need) {
            return NGX_WS_PERF_FRAME_AGAIN;
        }

        if (p->hdr_need == 1) {
            rc = ngx_ws_perf_frame_first_byte(p);

        } else if (p->hdr_need == 2) {
            rc = ngx_ws_perf_frame_second_byte(p);

        } else {
            break;
        }

        if (rc != NGX_WS_PERF_FRAME_AGAIN) {
            return rc;
        }
    }

    return ngx_ws_perf_frame_header_done(p);
}


/* FIN, RSV and opcode; AGAIN: valid, go on */

static ngx_ws_perf_frame_rc_e
ngx_ws_perf_frame_first_byte(ngx_ws_perf_frame_parser_t *p)
{
    unsigned  b, op;

    b = p->hdr[0];
    op = b & 0x0f;

    if ((b & 0x30) || ((b & 0x40) && !p->rsv1_ok)) {
        return ngx_ws_perf_frame_fail(p, NGX_WS_PERF_CLOSE_PROTOCOL,
                                      "reserved bits set");
    }

    /* RFC 7692 6.1: the first frame of a data message only */
    if ((b & 0x40) && op != NGX_WS_PERF_OP_TEXT
        && op != NGX_WS_PERF_OP_BINARY)
    {
        return ngx_ws_perf_frame_fail(p, NGX_WS_PERF_CLOSE_PROTOCOL,
                                      "compressed bit on a continuation "
                                      "or control frame");
    }

    switch (op) {

    case NGX_WS_PERF_OP_CONT:
        if (p->msg_opcode == 0) {
            return ngx_ws_perf_frame_fail(p, NGX_WS_PERF_CLOSE_PROTOCOL,
                                          "continuation without a message");
        }
        break;

    case NGX_WS_PERF_OP_TEXT:
    case NGX_WS_PERF_OP_BINARY:
        if (p->msg_opcode != 0) {
            return ngx_ws_perf_frame_fail(p, NGX_WS_PERF_CLOSE_PROTOCOL,
                                          "new message inside a fragmented "
                                          "message");
        }
        break;

    case NGX_WS_PERF_OP_CLOSE:
    case NGX_WS_PERF_OP_PING:
    case NGX_WS_PERF_OP_PONG:
        if (!(b & 0x80)) {
            return ngx_ws_perf_frame_fail(p, NGX_WS_PERF_CLOSE_PROTOCOL,
                                          "fragmented control frame");
        }
        break;

    default:
        return ngx_ws_perf_frame_fail(p, NGX_WS_PERF_CLOSE_PROTOCOL,
                                      "reserved opcode");
    }

    p->hdr_need = 2;

    return NGX_WS_PERF_FRAME_AGAIN;
}


/* MASK and the 7-bit length; AGAIN: valid, go on */

static ngx_ws_perf_frame_rc_e
ngx_ws_perf_frame_second_byte(ngx_ws_perf_frame_parser_t *p)
{
    unsigned  b, len, need;

    b = p->hdr[1];
    len = b & 0x7f;

    if ((p->hdr[0] & 0x08) && len > NGX_WS_PERF_CONTROL_MAX) {
        return ngx_ws_perf_frame_fail(p, NGX_WS_PERF_CLOSE_PROTOCOL,
                                      "control frame too long");
    }

    if (p->server && !(b & 0x80)) {
        return ngx_ws_perf_frame_fail(p, NGX_WS_PERF_CLOSE_PROTOCOL,
                                      "frame not masked");
    }

    if (!p->server && (b & 0x80)) {
        return ngx_ws_perf_frame_fail(p, NGX_WS_PERF_CLOSE_PROTOCOL,
                                      "frame masked");
    }

    need = 2;

    if (len == 126) {
        need += 2;

    } else if (len == 127) {
        need += 8;
    }

    if (b & 0x80) {
        need += 4;
    }

    p->hdr_need = need;

    return NGX_WS_PERF_FRAME_AGAIN;
}


static ngx_ws_perf_frame_rc_e
ngx_ws_perf_frame_header_done(ngx_ws_perf_frame_parser_t *p)
{
    unsigned   i, n, len;
    uint64_t   length;

    len = p->hdr[1] & 0x7f;
    n = (len == 126) ? 2 : (len == 127) ? 8 : 0;
    length = (n == 0) ? len : 0;

    for (i = 0; i < n; i++) {
        length = (length << 8) | p->hdr[2 + i];
    }

    p->opcode = p->hdr[0] & 0x0f;
    p->fin = (p->hdr[0] & 0x80) ? 1 : 0;
    p->length = length;
    p->masked = (p->hdr[1] & 0x80) ? 1 : 0;

    if (length >> 63) {
        return ngx_ws_perf_frame_fail(p, NGX_WS_PERF_CLOSE_PROTOCOL,
                                      "frame length has the top bit set");
    }

    if (!(p->opcode & 0x08)
        && p->max_message
        && length > p->max_message - p->msg_length)
    {
        return ngx_ws_perf_frame_fail(p, NGX_WS_PERF_CLOSE_TOO_BIG,
                                      "message too big");
    }

    if (p->masked) {
        memcpy(p->mask, p->hdr + 2 + n, 4);
    }

    p->hdr_have = 0;
    p->hdr_need = 1;
    p->mask_off = 0;
    p->left = length;
    p->ctrl_len = 0;
    p->close_code = 0;
    p->data = NULL;
    p->data_len = 0;

    if (p->opcode & 0x08) {
        p->state = NGX_WS_PERF_FRAME_ST_CONTROL;
        return NGX_WS_PERF_FRAME_HEADER;
    }

    if (p->opcode != NGX_WS_PERF_OP_CONT) {
        p->msg_opcode = p->opcode;
        p->msg_rsv1 = (p->hdr[0] & 0x40) ? 1 : 0;
        p->msg_length = 0;
        p->utf8_state = 0;
    }

    p->state = length ? NGX_WS_PERF_FRAME_ST_DATA
                      : NGX_WS_PERF_FRAME_ST_DATA_END;

    return NGX_WS_PERF_FRAME_HEADER;
}


/* hands out the payload in the caller's buffer, unmasked in place */

static ngx_ws_perf_frame_rc_e
ngx_ws_perf_frame_data(ngx_ws_perf_frame_parser_t *p, uint8_t **pos,
    uint8_t *last)
{
    size_t     n;
    uint8_t   *data;

    n = (size_t) (last - *pos);

    if (n == 0) {
        return NGX_WS_PERF_FRAME_AGAIN;
    }

    if ((uint64_t) n > p->left) {
        n = (size_t) p->left;
    }

    data = *pos;
    *pos += n;

    if (p->masked) {
        ngx_ws_perf_frame_mask(data, n, p->mask, p->mask_off);
        p->mask_off = (p->mask_off + n) & 3;
    }

    if (p->msg_opcode == NGX_WS_PERF_OP_TEXT && !p->msg_rsv1
        && ngx_ws_perf_utf8_validate(&p->utf8_state, data, n)
           == NGX_WS_PERF_UTF8_INVALID)
    {
        return ngx_ws_perf_frame_fail(p, NGX_WS_PERF_CLOSE_BAD_DATA,
                                      "invalid utf-8 in text message");
    }

    p->left -= n;
    p->msg_length += n;

    if (p->left == 0) {
        p->state = NGX_WS_PERF_FRAME_ST_DATA_END;
    }

    p->data = data;
    p->data_len = n;

    return NGX_WS_PERF_FRAME_DATA;
}


static ngx_ws_perf_frame_rc_e
ngx_ws_perf_frame_data_end(ngx_ws_perf_frame_parser_t *p)
{
    p->data = NULL;
    p->data_len = 0;

    if (!p->fin) {
        p->state = NGX_WS_PERF_FRAME_ST_HEADER;
        return NGX_WS_PERF_FRAME_END;
    }

    if (p->msg_opcode == NGX_WS_PERF_OP_TEXT && !p->msg_rsv1
        && p->utf8_state != 0)
    {
        return ngx_ws_perf_frame_fail(p, NGX_WS_PERF_CLOSE_BAD_DATA,
                                      "truncated utf-8 in text message");
    }

    p->state = NGX_WS_PERF_FRAME_ST_MSG_DONE;

    return NGX_WS_PERF_FRAME_END;
}


/* collects a control payload in p->ctrl, so END can hand it out whole */

static ngx_ws_perf_frame_rc_e
ngx_ws_perf_frame_control(ngx_ws_perf_frame_parser_t *p, uint8_t **pos,
    uint8_t *last)
{
    size_t  n;

    if (p->left) {
        n = (size_t) (last - *pos);

        if (n == 0) {
            return NGX_WS_PERF_FRAME_AGAIN;
        }

        if ((uint64_t) n > p->left) {
            n = (size_t) p->left;
        }

        memcpy(p->ctrl + p->ctrl_len, *pos, n);
        *pos += n;

        if (p->masked) {
            ngx_ws_perf_frame_mask(p->ctrl + p->ctrl_len, n, p->mask,
                                   p->ctrl_len);
        }

        p->ctrl_len += n;
        p->left -= n;

        if (p->left) {
            return NGX_WS_PERF_FRAME_AGAIN;
        }
    }

    return ngx_ws_perf_frame_control_end(p);
}


static ngx_ws_perf_frame_rc_e
ngx_ws_perf_frame_control_end(ngx_ws_perf_frame_parser_t *p)
{
    unsigned  code;
    uint32_t  state;

    if (p->opcode == NGX_WS_PERF_OP_CLOSE && p->ctrl_len) {

        if (p->ctrl_len == 1) {
            return ngx_ws_perf_frame_fail(p, NGX_WS_PERF_CLOSE_PROTOCOL,
                                          "close payload of one byte");
        }

        code = ((unsigned) p->ctrl[0] << 8) | p->ctrl[1];

        if (!ngx_ws_perf_close_code_valid(code)) {
            return ngx_ws_perf_frame_fail(p, NGX_WS_PERF_CLOSE_PROTOCOL,
                                          "invalid close code");
        }

        /* a close may come inside a text message: keep its utf8_state */
        state = 0;

        if (ngx_ws_perf_utf8_validate(&state, p->ctrl + 2, p->ctrl_len - 2)
            != NGX_WS_PERF_UTF8_OK)
        {
            return ngx_ws_perf_frame_fail(p, NGX_WS_PERF_CLOSE_BAD_DATA,
                                          "invalid utf-8 in close reason");
        }

        p->close_code = (uint16_t) code;
    }

    p->data = p->ctrl;
    p->data_len = p->ctrl_len;
    p->state = NGX_WS_PERF_FRAME_ST_HEADER;

    return NGX_WS_PERF_FRAME_END;
}


static ngx_ws_perf_frame_rc_e
ngx_ws_perf_frame_fail(ngx_ws_perf_frame_parser_t *p, unsigned code,
    const char *reason)
{
    p->state = NGX_WS_PERF_FRAME_ST_FAILED;
    p->close_code = (uint16_t) code;
    p->error = reason;
    p->data = NULL;
    p->data_len = 0;

    return NGX_WS_PERF_FRAME_ERROR;
}


size_t
ngx_ws_perf_frame_header_size(uint64_t len, int masked)
{
    size_t  size;

    if (len <= 125) {
        size = 2;

    } else if (len <= 0xffff) {
        size = 4;

    } else {
        size = 10;
    }

    return masked ? size + 4 : size;
}


size_t
ngx_ws_perf_frame_encode_header(uint8_t *buf, unsigned opcode, int fin,
    uint64_t len, const uint8_t *mask)
{
    size_t  n, i;

    buf[0] = (uint8_t) ((fin ? 0x80 : 0) | (opcode & 0x0f));
    buf[1] = mask ? 0x80 : 0;

    if (len <= 125) {
        buf[1] |= (uint8_t) len;
        n = 2;

    } else if (len <= 0xffff) {
        buf[1] |= 126;
        buf[2] = (uint8_t) (len >> 8);
        buf[3] = (uint8_t) len;
        n = 4;

    } else {
        buf[1] |= 127;

        for (i = 0; i < 8; i++) {
            buf[2 + i] = (uint8_t) (len >> (56 - 8 * i));
        }

        n = 10;
    }

    if (mask) {
        memcpy(buf + n, mask, 4);
        n += 4;
    }

    return n;
}


void
ngx_ws_perf_frame_mask(uint8_t *data, size_t len, const uint8_t *mask,
    size_t offset)
{
    size_t     i;
    uint8_t    key[8];
    uint64_t   k, w;

    for (i = 0; i < 8; i++) {
        key[i] = mask[(offset + i) & 3];
    }

    /* the key repeats every 4 bytes, so byte order does not matter */
    memcpy(&k, key, 8);

    for ( /* void */ ; len >= 8; data += 8, len -= 8) {
        memcpy(&w, data, 8);
        w ^= k;
        memcpy(data, &w, 8);
    }

    for (i = 0; i < len; i++) {
        data[i] ^= key[i];
    }
}


int
ngx_ws_perf_close_code_valid(unsigned code)
{
    if (code >= 1000 && code <= 1003) {
        return 1;
    }

    if (code >= 1007 && code <= 1014) {
        return 1;
    }

    return code >= 3000 && code <= 4999;
}


ngx_ws_perf_utf8_rc_e
ngx_ws_perf_utf8_validate(uint32_t *state, const uint8_t *p, size_t len)
{
    unsigned        c, lo, hi, need;
    uint32_t        s;
    uint64_t        w;
    const uint8_t  *end;

    s = *state;

    if (s == NGX_WS_PERF_UTF8_REJECT) {
        return NGX_WS_PERF_UTF8_INVALID;
    }

    if (len == 0) {
        /* p may be NULL here, and even NULL + 0 is undefined in C */
        return s ? NGX_WS_PERF_UTF8_INCOMPLETE : NGX_WS_PERF_UTF8_OK;
    }

    end = p + len;

    while (p < end) {

        if (s == 0) {

            while (end - p >= 8) {
                memcpy(&w, p, 8);

                if (w & NGX_WS_PERF_ASCII_MASK) {
                    break;
                }

                p += 8;
            }

            if (p == end) {
                break;
            }

            c = *p++;

            if (c < 0x80) {
                continue;
            }

            s = ngx_ws_perf_utf8_lead(c);

            if (s == NGX_WS_PERF_UTF8_REJECT) {
                goto invalid;
            }

            continue;
        }

        c = *p++;
        lo = s & 0xff;
        hi = (s >> 8) & 0xff;
        need = s >> 16;

        if (c < lo || c > hi) {
            goto invalid;
        }

        s = (need == 1) ? 0 : NGX_WS_PERF_UTF8_NEXT(need - 1, 0x80, 0xbf);
    }

    *state = s;

    return s ? NGX_WS_PERF_UTF8_INCOMPLETE : NGX_WS_PERF_UTF8_OK;

invalid:

    *state = NGX_WS_PERF_UTF8_REJECT;

    return NGX_WS_PERF_UTF8_INVALID;
}


/* what may follow a lead byte (RFC 3629, section 4) */

static uint32_t
ngx_ws_perf_utf8_lead(unsigned c)
{
    if (c >= 0xc2 && c <= 0xdf) {
        return NGX_WS_PERF_UTF8_NEXT(1, 0x80, 0xbf);
    }

    if (c == 0xe0) {
        /* no overlongs below U+0800 */
        return NGX_WS_PERF_UTF8_NEXT(2, 0xa0, 0xbf);
    }

    if (c == 0xed) {
        /* no surrogates U+D800..U+DFFF */
        return NGX_WS_PERF_UTF8_NEXT(2, 0x80, 0x9f);
    }

    if (c >= 0xe1 && c <= 0xef) {
        return NGX_WS_PERF_UTF8_NEXT(2, 0x80, 0xbf);
    }

    if (c == 0xf0) {
        /* no overlongs below U+10000 */
        return NGX_WS_PERF_UTF8_NEXT(3, 0x90, 0xbf);
    }

    if (c >= 0xf1 && c <= 0xf3) {
        return NGX_WS_PERF_UTF8_NEXT(3, 0x80, 0xbf);
    }

    if (c == 0xf4) {
        /* nothing above U+10FFFF */
        return NGX_WS_PERF_UTF8_NEXT(3, 0x80, 0x8f);
    }

    return NGX_WS_PERF_UTF8_REJECT;
}
