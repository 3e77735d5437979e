/* SPDX-License-Identifier: MIT */
/* hello: ClientHello parsing in two layers. The record layer walks 5-byte
 * record headers, insists on handshake records, and reassembles the
 * handshake message when it is split over several records (pointing into
 * the input when one record carries it, copying otherwise). The message
 * layer then reads the ClientHello fields through a reader that tells a
 * field overrunning its enclosing length (HELLO_BAD) from one that has not
 * arrived yet (HELLO_NEED_MORE), so a partial hello is judged as far as it
 * goes. Nothing is allocated; the stack holds at most HELLO_MAX bytes of
 * reassembly and an 8 KiB bitmap of extension types seen. */
#include "core/hello.h"

#include <string.h>

#define HELLO_RECORD_HEADER 5
#define HELLO_RECORD_MAX (16384 + 2048) /* largest record length (RFC 5246 6.2.3) */
#define HELLO_CONTENT_HANDSHAKE 0x16
#define HELLO_CLIENT_HELLO 1
#define HELLO_MSG_HEADER 4 /* msg_type(1) length(3) */

#define HELLO_EXT_SERVER_NAME 0
#define HELLO_EXT_ALPN 16
#define HELLO_EXT_SUPPORTED_VERSIONS 43
#define HELLO_TLS13 0x0304

/* Returns from the calling function unless expr gave HELLO_OK. */
#define LC_TRY(expr)                                                                               \
    do {                                                                                           \
        enum hello_rc try_rc_ = (expr);                                                            \
        if (try_rc_ != HELLO_OK)                                                                   \
            return try_rc_;                                                                        \
    } while (0)

/* A cursor over the handshake message body, of which `have` bytes have
 * arrived. Invariant: pos <= have, and pos <= every `end` passed in. */
struct rd {
    const unsigned char *p;
    size_t have;
    size_t pos;
};

/* Claims the next n bytes, which must lie before `end` (the end of the
 * enclosing vector, as declared by the peer). */
static enum hello_rc rd_take(struct rd *r, size_t n, size_t end, const unsigned char **out)
{
    if (n > end - r->pos)
        return HELLO_BAD;
    if (n > r->have - r->pos)
        return HELLO_NEED_MORE;
    *out = r->p + r->pos;
    r->pos += n;
    return HELLO_OK;
}

static enum hello_rc rd_u8(struct rd *r, size_t end, size_t *v)
{
    const unsigned char *b;
    LC_TRY(rd_take(r, 1, end, &b));
    *v = b[0];
    return HELLO_OK;
}

static enum hello_rc rd_u16(struct rd *r, size_t end, size_t *v)
{
    const unsigned char *b;
    LC_TRY(rd_take(r, 2, end, &b));
    *v = (size_t)b[0] << 8 | b[1];
    return HELLO_OK;
}

/* Reads a length prefix of `width` bytes and gives the end of the vector it
 * announces, which must lie within `end`. */
static enum hello_rc rd_vec(struct rd *r, size_t width, size_t end, size_t *vec_end)
{
    size_t n;
    LC_TRY(width == 1 ? rd_u8(r, end, &n) : rd_u16(r, end, &n));
    if (n > end - r->pos)
        return HELLO_BAD;
    *vec_end = r->pos + n;
    return HELLO_OK;
}

static bool is_host_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '-' || c == '_';
}

/* server_name (RFC 6066 3): the first and only host_name entry; entries of
 * other name types are skipped. A second host_name is refused rather than
 * guessed at, as the RFC forbids it and a server might pick the other. */
static enum hello_rc parse_server_name(const unsigned char *b, size_t len, struct hello *h)
{
    struct rd r = {b, len, 0};
    size_t list_end;
    bool found = false;

    LC_TRY(rd_vec(&r, 2, len, &list_end));
    if (list_end != len || list_end == r.pos)
        return HELLO_BAD;
    while (r.pos < list_end) {
        size_t type, name_end;
        const unsigned char *name;
        LC_TRY(rd_u8(&r, list_end, &type));
        LC_TRY(rd_vec(&r, 2, list_end, &name_end));
        size_t n = name_end - r.pos;
        LC_TRY(rd_take(&r, n, name_end, &name));
        if (type != 0)
            continue;
        if (found || n == 0 || n > sizeof(h->sni) - 1)
            return HELLO_BAD;
        for (size_t i = 0; i < n; i++) {
            if (!is_host_char(name[i]))
                return HELLO_BAD;
            h->sni[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] + ('a' - 'A') : name[i]);
        }
        if (h->sni[n - 1] == '.')
            n--; /* the absolute form names the same host */
        if (n == 0)
            return HELLO_BAD;
        h->sni[n] = '\0';
        found = true;
    }
    return HELLO_OK;
}

/* application_layer_protocol_negotiation (RFC 7301 3.1). */
static enum hello_rc parse_alpn(const unsigned char *b, size_t len, struct hello *h)
{
    struct rd r = {b, len, 0};
    size_t list_end, used = 0;
    bool full = false;

    LC_TRY(rd_vec(&r, 2, len, &list_end));
    if (list_end != len || list_end == r.pos)
        return HELLO_BAD;
    while (r.pos < list_end) {
        size_t name_end;
        const unsigned char *name;
        LC_TRY(rd_vec(&r, 1, list_end, &name_end));
        size_t n = name_end - r.pos;
        LC_TRY(rd_take(&r, n, name_end, &name));
        if (n == 0)
            return HELLO_BAD;
        if (n == 2 && name[0] == name[1] && (name[0] & 0x0f) == 0x0a)
            continue; /* GREASE (RFC 8701 3.2): to be ignored, not refused */
        for (size_t i = 0; i < n; i++)
            if (name[i] < 0x20 || name[i] > 0x7e || name[i] == ',')
                return HELLO_BAD;
        /* Room for ',' (after the first), the name and the NUL. */
        size_t need = (used > 0) + n;
        if (full || need > sizeof(h->alpn) - 1 - used) {
            full = true; /* cut the list here; still validate the rest */
            continue;
        }
        if (used > 0)
            h->alpn[used++] = ',';
        memcpy(h->alpn + used, name, n);
        used += n;
        h->alpn[used] = '\0';
    }
    return HELLO_OK;
}

/* A GREASE value (RFC 8701): 0x?A?A with both bytes equal. */
static bool is_grease(size_t v)
{
    return (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff);
}

/* supported_versions, ClientHello form (RFC 8446 4.2.1): versions<2..254>. */
static enum hello_rc parse_supported_versions(const unsigned char *b, size_t len, struct hello *h)
{
    struct rd r = {b, len, 0};
    size_t list_end;

    LC_TRY(rd_vec(&r, 1, len, &list_end));
    if (list_end != len || list_end == r.pos || (list_end - r.pos) % 2 != 0)
        return HELLO_BAD;
    while (r.pos < list_end) {
        size_t v;
        LC_TRY(rd_u16(&r, list_end, &v));
        if (v == HELLO_TLS13)
            h->tls13 = true;
        if (!is_grease(v) && h->nversions < HELLO_MAX_LIST)
            h->versions[h->nversions++] = (uint16_t)v;
    }
    return HELLO_OK;
}

/* The ClientHello body (after msg_type and length): `have` of its `len`
 * bytes have arrived. Returns HELLO_OK only once all of it has. */
static enum hello_rc parse_body(const unsigned char *b, size_t have, size_t len, struct hello *h)
{
    struct rd r = {b, have, 0};
    const unsigned char *f;
    size_t v, end, ext_end;
    uint64_t seen[65536 / 64];

    LC_TRY(rd_u16(&r, len, &v));
    if (v >> 8 != 3)
        return HELLO_BAD; /* SSL 3.0 .. TLS 1.3 all say 3.x */
    h->version = (uint16_t)v;
    LC_TRY(rd_take(&r, 32, len, &f)); /* random */
    LC_TRY(rd_vec(&r, 1, len, &end)); /* legacy_session_id<0..32> */
    if (end - r.pos > 32)
        return HELLO_BAD;
    LC_TRY(rd_take(&r, end - r.pos, end, &f));
    LC_TRY(rd_vec(&r, 2, len, &end)); /* cipher_suites<2..2^16-2> */
    if (end - r.pos < 2 || (end - r.pos) % 2 != 0)
        return HELLO_BAD;
    LC_TRY(rd_take(&r, end - r.pos, end, &f));
    h->nciphers = 0;
    for (size_t i = 0; i + 1 < (size_t)(b + r.pos - f) && h->nciphers < HELLO_MAX_LIST; i += 2) {
        uint16_t c = (uint16_t)(f[i] << 8 | f[i + 1]);
        if (!is_grease(c))
            h->ciphers[h->nciphers++] = c;
    }
    LC_TRY(rd_vec(&r, 1, len, &end)); /* legacy_compression_methods<1..2^8-1> */
    if (end - r.pos < 1)
        return HELLO_BAD;
    LC_TRY(rd_take(&r, end - r.pos, end, &f));
    if (r.pos == len)
        return HELLO_OK; /* no extensions block at all (SSL 3.0 style) */
    LC_TRY(rd_vec(&r, 2, len, &ext_end));
    if (ext_end != len)
        return HELLO_BAD;

    memset(seen, 0, sizeof(seen));
    while (r.pos < ext_end) {
        size_t type, body_end;
        LC_TRY(rd_u16(&r, ext_end, &type));
        LC_TRY(rd_vec(&r, 2, ext_end, &body_end));
        if (seen[type / 64] & (UINT64_C(1) << (type % 64)))
            return HELLO_BAD; /* RFC 8446 4.2: at most one of each */
        seen[type / 64] |= UINT64_C(1) << (type % 64);
        size_t n = body_end - r.pos;
        LC_TRY(rd_take(&r, n, body_end, &f));
        if (type == HELLO_EXT_SERVER_NAME)
            LC_TRY(parse_server_name(f, n, h));
        else if (type == HELLO_EXT_ALPN)
            LC_TRY(parse_alpn(f, n, h));
        else if (type == HELLO_EXT_SUPPORTED_VERSIONS)
            LC_TRY(parse_supported_versions(f, n, h));
    }
    return HELLO_OK;
}

enum hello_rc hello_parse(const unsigned char *p, size_t len, struct hello *h)
{
    unsigned char buf[HELLO_MAX]; /* reassembly, used only for a split message */
    const unsigned char *msg = NULL;
    size_t off = 0;      /* start of the next record */
    size_t got = 0;      /* message bytes that have arrived */
    size_t declared = 0; /* message bytes the records seen so far announce */
    size_t total = 0;    /* the message's size, header included, once known */
    bool known = false;  /* total is known */
    unsigned nrec = 0;

    memset(h, 0, sizeof(*h));
    if (len == 0)
        return HELLO_NEED_MORE;
    if (p[0] != HELLO_CONTENT_HANDSHAKE || (len >= 2 && p[1] != 3))
        return HELLO_NOT_TLS;

    /* Records, until the message is whole or the input runs out. Every record
     * read is needed (the message is not yet whole), so each must end within
     * HELLO_MAX, and once the message size is known so must the smallest
     * record that could bring the rest. Hence with len >= HELLO_MAX every
     * needed record has arrived: the answer is never NEED_MORE. */
    while (!known || got < total) {
        const unsigned char *rec = p + off;
        size_t avail = len - off;
        if (avail == 0)
            break;
        if (rec[0] != HELLO_CONTENT_HANDSHAKE || (avail >= 2 && rec[1] != 3))
            return HELLO_BAD; /* the first record was checked above: this is a later one */
        if (avail < HELLO_RECORD_HEADER)
            break;
        size_t rlen = (size_t)rec[3] << 8 | rec[4];
        if (rlen == 0 || rlen > HELLO_RECORD_MAX)
            return HELLO_BAD; /* RFC 8446 5.1: no empty handshake fragments */
        size_t rec_end = off + HELLO_RECORD_HEADER + rlen;
        if (rec_end > HELLO_MAX)
            return HELLO_BAD;
        size_t n = avail - HELLO_RECORD_HEADER < rlen ? avail - HELLO_RECORD_HEADER : rlen;
        if (nrec == 0) {
            msg = rec + HELLO_RECORD_HEADER;
        } else {
            if (nrec == 1)
                memcpy(buf, msg, got); /* the first record's payload, whole */
            memcpy(buf + got, rec + HELLO_RECORD_HEADER, n);
            msg = buf;
        }
        nrec++;
        got += n;
        declared += rlen;

        if (got >= 1 && msg[0] != HELLO_CLIENT_HELLO)
            return HELLO_BAD;
        if (!known && got >= HELLO_MSG_HEADER) {
            total =
                HELLO_MSG_HEADER + ((size_t)msg[1] << 16 | (size_t)msg[2] << 8 | (size_t)msg[3]);
            known = true;
        }
        if (known && declared > total)
            return HELLO_BAD; /* the last record must end where the hello does */
        if (known && declared < total &&
            rec_end + HELLO_RECORD_HEADER + (total - declared) > HELLO_MAX)
            return HELLO_BAD; /* the rest cannot arrive within the cap */
        if (n < rlen)
            break;
        off = rec_end;
    }
    if (!known)
        return HELLO_NEED_MORE;
    enum hello_rc rc =
        parse_body(msg + HELLO_MSG_HEADER, got - HELLO_MSG_HEADER, total - HELLO_MSG_HEADER, h);
    if (rc != HELLO_OK)
        return rc;
    if (got < total)
        return HELLO_NEED_MORE; /* cannot happen: the body parser needs every byte */
    h->length = off;
    return HELLO_OK;
}
