
/*
 * Copyright (C) ngx_ws_perf_module authors
 */


/*
 * The client side of RFC 6455 that does not keep state: SHA-1 and base64
 * for the handshake, the upgrade request and its 101 answer, one frame's
 * encoding with its mask, and the payload header the tool measures with.
 * Written for the tool alone, so that the server and the tool never share
 * a codec and a bug in one cannot hide in the other.
 */


#include <string.h>
#include <strings.h>
#include <stdio.h>
#include "wsb.h"


#define WSB_GUID  "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

#define wsb_rol(x, n)  (((x) << (n)) | ((x) >> (32 - (n))))


static const char  wsb_hex[] = "0123456789abcdef";


static void
wsb_sha1_block(wsb_sha1_t *c, const unsigned char *p)
{
    int       i;
    uint32_t  w[80], a, b, cc, d, e, f, k, t;

    for (i = 0; i < 16; i++) {
        w[i] = (uint32_t) p[i * 4] << 24 | (uint32_t) p[i * 4 + 1] << 16
               | (uint32_t) p[i * 4 + 2] << 8 | p[i * 4 + 3];
    }

    for (i = 16; i < 80; i++) {
        t = w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16];
        w[i] = wsb_rol(t, 1);
    }

    a = c->h[0];
    b = c->h[1];
    cc = c->h[2];
    d = c->h[3];
    e = c->h[4];

    for (i = 0; i < 80; i++) {
        if (i < 20) {
            f = (b & cc) | (~b & d);
            k = 0x5a827999;

        } else if (i < 40) {
            f = b ^ cc ^ d;
            k = 0x6ed9eba1;

        } else if (i < 60) {
            f = (b & cc) | (b & d) | (cc & d);
            k = 0x8f1bbcdc;

        } else {
            f = b ^ cc ^ d;
            k = 0xca62c1d6;
        }

        t = wsb_rol(a, 5) + f + e + k + w[i];
        e = d;
        d = cc;
        cc = wsb_rol(b, 30);
        b = a;
        a = t;
    }

    c->h[0] += a;
    c->h[1] += b;
    c->h[2] += cc;
    c->h[3] += d;
    c->h[4] += e;
}


void
wsb_sha1_init(wsb_sha1_t *c)
{
    c->h[0] = 0x67452301;
    c->h[1] = 0xefcdab89;
    c->h[2] = 0x98badcfe;
    c->h[3] = 0x10325476;
    c->h[4] = 0xc3d2e1f0;
    c->len = 0;
}


void
wsb_sha1_update(wsb_sha1_t *c, const void *data, size_t len)
{
    size_t                used, n;
    const unsigned char  *p;

    p = data;
    used = c->len % 64;
    c->len += len;

    if (used) {
        n = 64 - used;
        if (n > len) {
            n = len;
        }

        memcpy(c->buf + used, p, n);
        p += n;
        len -= n;

        if (used + n < 64) {
            return;
        }

        wsb_sha1_block(c, c->buf);
    }

    while (len >= 64) {
        wsb_sha1_block(c, p);
        p += 64;
        len -= 64;
    }

    memcpy(c->buf, p, len);
}


void
wsb_sha1_final(wsb_sha1_t *c, unsigned char out[WSB_DIGEST_LEN])
{
    int            i;
    uint64_t       bits;
    unsigned char  pad[72];
    size_t         used, n;

    bits = c->len * 8;
    used = c->len % 64;
    n = (used < 56) ? 56 - used : 120 - used;

    memset(pad, 0, sizeof(pad));
    pad[0] = 0x80;

    for (i = 0; i < 8; i++) {
        pad[n + i] = (unsigned char) (bits >> (56 - i * 8));
    }

    wsb_sha1_update(c, pad, n + 8);

    for (i = 0; i < 5; i++) {
        out[i * 4] = (unsigned char) (c->h[i] >> 24);
        out[i * 4 + 1] = (unsigned char) (c->h[i] >> 16);
        out[i * 4 + 2] = (unsigned char) (c->h[i] >> 8);
        out[i * 4 + 3] = (unsigned char) c->h[i];
    }
}


size_t
wsb_base64(char *dst, const unsigned char *src, size_t len)
{
    size_t       i, n;
    uint32_t     v;
    static const char  b64[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

    n = 0;

    for (i = 0; i + 2 < len; i += 3) {
        v = (uint32_t) src[i] << 16 | (uint32_t) src[i + 1] << 8 | src[i + 2];
        dst[n++] = b64[v >> 18];
        dst[n++] = b64[(v >> 12) & 63];
        dst[n++] = b64[(v >> 6) & 63];
        dst[n++] = b64[v & 63];
    }

    if (i < len) {
        v = (uint32_t) src[i] << 16;
        if (i + 1 < len) {
            v |= (uint32_t) src[i + 1] << 8;
        }

        dst[n++] = b64[v >> 18];
        dst[n++] = b64[(v >> 12) & 63];
        dst[n++] = (i + 1 < len) ? b64[(v >> 6) & 63] : '=';
        dst[n++] = '=';
    }

    dst[n] = '\0';

    return n;
}


/* dst: 29 bytes, the Sec-WebSocket-Accept value for key */
void
wsb_ws_accept(char *dst, const char *key)
{
    wsb_sha1_t     c;
    unsigned char  md[WSB_DIGEST_LEN];

    wsb_sha1_init(&c);
    wsb_sha1_update(&c, key, strlen(key));
    wsb_sha1_update(&c, WSB_GUID, sizeof(WSB_GUID) - 1);
    wsb_sha1_final(&c, md);

    (void) wsb_base64(dst, md, WSB_DIGEST_LEN);
}


/*
 * One client frame into dst (len + 14 bytes), masked with mask as every
 * client frame must be; returns its size.
 */
size_t
wsb_ws_frame(unsigned char *dst, int opcode, int fin,
    const unsigned char *data, size_t len, uint32_t mask)
{
    size_t          i, n;
    unsigned char  *m;

    dst[0] = (unsigned char) ((fin ? 0x80 : 0) | (opcode & 0x0f));

    if (len < 126) {
        dst[1] = (unsigned char) (0x80 | len);
        n = 2;

    } else if (len <= 0xffff) {
        dst[1] = 0x80 | 126;
        dst[2] = (unsigned char) (len >> 8);
        dst[3] = (unsigned char) len;
        n = 4;

    } else {
        dst[1] = 0x80 | 127;
        for (i = 0; i < 8; i++) {
            dst[2 + i] = (unsigned char) ((uint64_t) len >> (56 - i * 8));
        }
        n = 10;
    }

    m = dst + n;
    m[0] = (unsigned char) (mask >> 24);
    m[1] = (unsigned char) (mask >> 16);
    m[2] = (unsigned char) (mask >> 8);
    m[3] = (unsigned char) mask;
    n += 4;

    for (i = 0; i < len; i++) {
        dst[n + i] = data[i] ^ m[i & 3];
    }

    return n + len;
}


size_t
wsb_ws_handshake(char *dst, size_t size, const char *hostport,
    const char *path, const char *key, int deflate)
{
    int  n;

    n = snprintf(dst, size,
                 "GET %s HTTP/1.1\r\n"
                 "Host: %s\r\n"
                 "Upgrade: websocket\r\n"
                 "Connection: Upgrade\r\n"
                 "Sec-WebSocket-Key: %s\r\n"
                 "Sec-WebSocket-Version: 13\r\n"
                 "%s"
                 "\r\n",
                 path, hostport, key,
                 deflate ? "Sec-WebSocket-Extensions: permessage-deflate;"
                           " client_max_window_bits\r\n" : "");

    if (n < 0 || (size_t) n >= size) {
        return 0;
    }

    return (size_t) n;
}


/* one "name[=value]" of an extension answer, OWS and quotes removed */
static const char *
wsb_pmd_param(const char *p, const char *end, char *name, size_t nsize,
    char *val, size_t vsize)
{
    size_t  n;

    while (p < end && (*p == ' ' || *p == '\t')) {
        p++;
    }

    for (n = 0; p < end && *p != '=' && *p != ';' && *p != ' '
                && *p != '\t'; p++)
    {
        if (n + 1 < nsize) {
            name[n++] = *p;
        }
    }

    name[n] = '\0';
    val[0] = '\0';

    while (p < end && (*p == ' ' || *p == '\t')) {
        p++;
    }

    if (p < end && *p == '=') {
        p++;
        while (p < end && (*p == ' ' || *p == '\t')) {
            p++;
        }

        for (n = 0; p < end && *p != ';' && *p != ' ' && *p != '\t'; p++) {
            if (*p != '"' && n + 1 < vsize) {
                val[n++] = *p;
            }
        }

        val[n] = '\0';

        if (n == 0) {
            strcpy(val, "?");
        }
    }

    while (p < end && (*p == ' ' || *p == '\t')) {
        p++;
    }

    return p;
}


/* a window size parameter: 8..15, or -1 */
static int
wsb_pmd_bits(const char *val)
{
    if (strlen(val) == 1 && val[0] >= '8' && val[0] <= '9') {
        return val[0] - '0';
    }

    if (strlen(val) == 2 && val[0] == '1' && val[1] >= '0' && val[1] <= '5') {
        return 10 + val[1] - '0';
    }

    return -1;
}


/*
 * The server's Sec-WebSocket-Extensions answer to our one offer,
 * "permessage-deflate; client_max_window_bits": one extension, that one,
 * with the parameters RFC 7692 lets a server name, each once and valid
 */
int
wsb_ws_pmd_answer(const char *v, size_t len, wsb_pmd_t *pmd, char *why,
    size_t size)
{
    int          bits, *seen;
    char         name[40], val[16];
    const char  *p, *end;

    memset(pmd, 0, sizeof(wsb_pmd_t));
    end = v + len;

    if (memchr(v, ',', len) != NULL) {
        snprintf(why, size, "more than the one extension offered");
        return -1;
    }

    p = wsb_pmd_param(v, end, name, sizeof(name), val, sizeof(val));

    if (strcmp(name, "permessage-deflate") != 0 || val[0]) {
        snprintf(why, size, "extension \"%s\" was not offered", name);
        return -1;
    }

    while (p < end) {
        if (*p != ';') {
            snprintf(why, size, "malformed parameters");
            return -1;
        }

        p = wsb_pmd_param(p + 1, end, name, sizeof(name), val,
                          sizeof(val));

        bits = 0;

        if (strcmp(name, "server_no_context_takeover") == 0) {
            seen = &pmd->server_no_context;

        } else if (strcmp(name, "client_no_context_takeover") == 0) {
            seen = &pmd->client_no_context;

        } else if (strcmp(name, "server_max_window_bits") == 0) {
            seen = &pmd->server_bits;
            bits = wsb_pmd_bits(val);

        } else if (strcmp(name, "client_max_window_bits") == 0) {
            seen = &pmd->client_bits;
            bits = wsb_pmd_bits(val);

        } else {
            snprintf(why, size, "parameter \"%s\" was not offered", name);
            return -1;
        }

        if (*seen) {
            snprintf(why, size, "parameter \"%s\" twice", name);
            return -1;
        }

        /* the window sizes take a value in an answer, the others none */
        if (bits == -1 || (bits == 0 && val[0])
            || (bits == 0 && seen != &pmd->server_no_context
                && seen != &pmd->client_no_context))
        {
            snprintf(why, size, "bad value \"%s\" of \"%s\"", val, name);
            return -1;
        }

        *seen = bits ? bits : 1;
    }

    return 0;
}


const char *
wsb_header(const char *buf, size_t len, const char *name, size_t *vlen)
{
    size_t       nlen;
    const char  *p, *end, *eol;

    nlen = strlen(name);
    end = buf + len;
    p = memchr(buf, '\n', len);

    while (p != NULL && ++p < end) {
        eol = memchr(p, '\n', (size_t) (end - p));
        if (eol == NULL) {
            return NULL;
        }

        if ((size_t) (eol - p) > nlen && p[nlen] == ':'
            && strncasecmp(p, name, nlen) == 0)
        {
            p += nlen + 1;
            while (p < eol && (*p == ' ' || *p == '\t')) {
                p++;
            }

            *vlen = (size_t) (eol - p);
            while (*vlen && (p[*vlen - 1] == '\r' || p[*vlen - 1] == ' ')) {
                (*vlen)--;
            }

            return p;
        }

        p = eol;
    }

    return NULL;
}


/* 0: a valid 101 answer to key; -1 otherwise */
int
wsb_ws_check_101(const char *buf, size_t len, const char *key)
{
    size_t       vlen;
    char         accept[32];
    const char  *v;

    if (len < 12 || memcmp(buf, "HTTP/1.1 101", 12) != 0) {
        return -1;
    }

    v = wsb_header(buf, len, "Upgrade", &vlen);
    if (v == NULL || vlen != 9 || strncasecmp(v, "websocket", 9) != 0) {
        return -1;
    }

    wsb_ws_accept(accept, key);

    v = wsb_header(buf, len, "Sec-WebSocket-Accept", &vlen);
    if (v == NULL || vlen != strlen(accept) || memcmp(v, accept, vlen) != 0) {
        return -1;
    }

    return 0;
}


static void
wsb_put_hex(unsigned char *p, uint64_t v, int digits)
{
    while (digits--) {
        p[digits] = (unsigned char) wsb_hex[v & 15];
        v >>= 4;
    }
}


static int
wsb_get_hex(const unsigned char *p, int digits, uint64_t *v)
{
    int      i;
    uint64_t r;

    r = 0;

    for (i = 0; i < digits; i++) {
        if (p[i] >= '0' && p[i] <= '9') {
            r = r << 4 | (uint64_t) (p[i] - '0');

        } else if (p[i] >= 'a' && p[i] <= 'f') {
            r = r << 4 | (uint64_t) (p[i] - 'a' + 10);

        } else {
            return -1;
        }
    }

    *v = r;

    return 0;
}


/* a payload of size bytes (at least WSB_MIN_PAYLOAD) */
size_t
wsb_payload_make(unsigned char *dst, size_t size, uint32_t run, int epoch,
    int pub, uint32_t seq, uint64_t ts)
{
    size_t  i;

    dst[0] = 'W';
    wsb_put_hex(dst + 1, run, 8);
    wsb_put_hex(dst + 9, (uint64_t) epoch, 2);
    wsb_put_hex(dst + 11, (uint64_t) pub, 2);
    wsb_put_hex(dst + 13, seq, 8);
    wsb_put_hex(dst + 21, ts, 16);

    for (i = WSB_HDR_LEN; i < size; i++) {
        dst[i] = (unsigned char) ('a' + (seq + i) % 26);
    }

    return size;
}


/*
 * Chat-like JSON text after the header: words a message may hold, chosen
 * by seq, so that the bytes compress about as a chat message does
 */
void
wsb_payload_text(unsigned char *dst, size_t size, uint32_t seq)
{
    size_t       i, n, w;
    uint32_t     x;
    const char  *word;

    static const char  *words[] = {
        "the", "meeting", "is", "at", "noon", "see", "you", "there",
        "thanks", "for", "update", "can", "we", "move", "it", "to",
        "tomorrow", "sure", "sounds", "good", "lol", "ok", "channel",
        "message", "deploy", "done", "waiting", "on", "review", "ship"
    };

    static const char  head[] = "\",\"user\":\"user";

    x = seq * 2654435761u + 1;
    n = 0;

    for (i = 0; i < sizeof(head) - 1 && n < size; i++) {
        dst[n++] = (unsigned char) head[i];
    }

    for (i = 0; i < 4 && n < size; i++) {
        dst[n++] = (unsigned char) ('0' + (seq >> (i * 3)) % 10);
    }

    for (word = "\",\"text\":\""; *word && n < size; word++) {
        dst[n++] = (unsigned char) *word;
    }

    while (n < size) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        w = x % (sizeof(words) / sizeof(words[0]));

        for (word = words[w]; *word && n < size; word++) {
            dst[n++] = (unsigned char) *word;
        }

        if (n < size) {
            dst[n++] = ' ';
        }
    }

    if (size >= 2) {
        dst[size - 2] = '"';
        dst[size - 1] = '}';
    }
}


/* 0: one of ours; -1: anything else */
int
wsb_payload_parse(const unsigned char *p, size_t len, uint32_t *run,
    int *epoch, int *pub, uint32_t *seq, uint64_t *ts)
{
    uint64_t  r, e, pb, s;

    if (len < WSB_HDR_LEN || p[0] != 'W'
        || wsb_get_hex(p + 1, 8, &r) != 0
        || wsb_get_hex(p + 9, 2, &e) != 0
        || wsb_get_hex(p + 11, 2, &pb) != 0
        || wsb_get_hex(p + 13, 8, &s) != 0
        || wsb_get_hex(p + 21, 16, ts) != 0)
    {
        return -1;
    }

    *run = (uint32_t) r;
    *epoch = (int) e;
    *pub = (int) pb;
    *seq = (uint32_t) s;

    return 0;
}
