/* SPDX-License-Identifier: MIT */
/* codec: undoes the Content-Encoding of a whole body. Every coding is run by a
 * streaming decoder that writes into a struct buf grown step by step, and is
 * never given room for more than one byte past the limit: a decompression
 * bomb stops at limit + 1 bytes of output instead of exhausting memory. The
 * same limit applies to each intermediate result of a stacked list such as
 * "deflate, gzip". Bytes after the end of a compressed stream are ignored, as
 * browsers do, except that further gzip members are decoded too. Empty input
 * decodes to empty output under any supported coding (HEAD and 204 replies
 * carry the field but no body). Pure: no I/O, no global state. */
#include "core/codec.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <zlib.h>
#ifdef LUCENT_HAVE_BROTLI
#include <brotli/decode.h>
#endif
#ifdef LUCENT_HAVE_ZSTD
#include <zstd.h>
#endif

#define CODEC_MAX_LAYERS 8        /* codings in one field value, identity aside */
#define CODEC_STEP 16384          /* first output step; later steps double */
#define CODEC_STEP_MAX (1u << 30) /* keeps every step within zlib's uInt */
#define CODEC_ZSTD_WINDOW_LOG 23  /* 8 MiB, the window RFC 9659 allows for HTTP */

enum coding {
    CODING_IDENTITY = 0,
    CODING_GZIP,
    CODING_DEFLATE,
    CODING_BR,
    CODING_ZSTD,
    CODING_UNKNOWN,
};

/* Where one decoder's output goes: b from b->len on, at most limit bytes. */
struct sink {
    struct buf *b; /* borrowed */
    size_t base;   /* b->len before this decoder ran */
    size_t limit;
};

static void sink_init(struct sink *s, struct buf *b, size_t limit)
{
    s->b = b;
    s->base = b->len;
    s->limit = limit;
}

/* Drops whatever this decoder wrote. */
static void sink_undo(struct sink *s)
{
    s->b->len = s->base;
    if (s->b->p != NULL)
        s->b->p[s->base] = '\0';
}

/* Space for the next piece of output, *room bytes (at least 1). The room
 * never goes more than one byte past the limit, so an overrun shows up as
 * sink_commit() returning true rather than as a big allocation. */
static unsigned char *sink_space(struct sink *s, size_t *room)
{
    struct buf *b = s->b;
    size_t produced = b->len - s->base; /* <= limit: checked by sink_commit */
    size_t allowed = s->limit - produced;
    size_t spare = b->cap > b->len ? b->cap - b->len - 1 : 0;

    if (allowed < SIZE_MAX)
        allowed++;
    if (allowed > CODEC_STEP_MAX)
        allowed = CODEC_STEP_MAX;
    if (spare < CODEC_STEP && spare < allowed) {
        size_t want = produced < CODEC_STEP ? CODEC_STEP : produced;
        if (want > allowed)
            want = allowed;
        buf_reserve(b, want);
        spare = b->cap - b->len - 1;
    }
    *room = spare < allowed ? spare : allowed;
    return (unsigned char *)b->p + b->len;
}

/* Accounts for n bytes written at sink_space(); true when past the limit. */
static bool sink_commit(struct sink *s, size_t n)
{
    s->b->len += n;
    s->b->p[s->b->len] = '\0';
    return s->b->len - s->base > s->limit;
}

static enum codec_rc too_big(const struct sink *s, char *err, size_t errlen)
{
    snprintf(err, errlen, "decoded body is larger than the limit of %zu bytes", s->limit);
    return CODEC_TOO_BIG;
}

static enum codec_rc bad(char *err, size_t errlen, const char *name, const char *why)
{
    snprintf(err, errlen, "%s: %s", name, why);
    return CODEC_BAD;
}

/* ---- gzip and deflate (zlib) ----------------------------------------------- */

/* Inflates in[0..len) with zlib's window bits wbits (15 zlib, -15 raw, 31
 * gzip). With members, gzip members that follow the first are decoded too. */
static enum codec_rc run_inflate(const char *name, int wbits, bool members, const unsigned char *in,
                                 size_t len, struct sink *s, char *err, size_t errlen)
{
    z_stream zs;
    size_t fed = 0; /* input handed to zlib so far */
    enum codec_rc rc = CODEC_OK;

    memset(&zs, 0, sizeof(zs));
    if (inflateInit2(&zs, wbits) != Z_OK)
        return bad(err, errlen, name, "cannot set up zlib");
    for (;;) {
        if (zs.avail_in == 0 && fed < len) {
            size_t n = len - fed > UINT_MAX ? UINT_MAX : len - fed;
            zs.next_in = (Bytef *)(uintptr_t)(in + fed);
            zs.avail_in = (uInt)n;
            fed += n;
        }
        size_t room;
        zs.next_out = sink_space(s, &room);
        zs.avail_out = (uInt)room;
        int zr = inflate(&zs, Z_NO_FLUSH);
        if (sink_commit(s, room - zs.avail_out)) {
            rc = too_big(s, err, errlen);
            break;
        }
        if (zr == Z_STREAM_END) {
            size_t rest = zs.avail_in + (len - fed); /* next_in points at it */
            if (members && rest >= 2 && zs.next_in[0] == 0x1f && zs.next_in[1] == 0x8b &&
                inflateReset(&zs) == Z_OK)
                continue;
            break;
        }
        if (zr == Z_OK || zr == Z_BUF_ERROR) {
            /* no progress possible with room left: the input ran out */
            if (zs.avail_in == 0 && fed == len && zs.avail_out > 0) {
                rc = bad(err, errlen, name, "truncated input");
                break;
            }
            continue;
        }
        if (zr == Z_NEED_DICT)
            rc = bad(err, errlen, name, "stream needs a preset dictionary");
        else if (zr == Z_MEM_ERROR)
            rc = bad(err, errlen, name, "out of memory");
        else
            rc = bad(err, errlen, name, zs.msg != NULL ? zs.msg : "corrupt data");
        break;
    }
    inflateEnd(&zs);
    if (rc != CODEC_OK)
        sink_undo(s);
    return rc;
}

/* Does p start with a zlib header (RFC 1950: deflate method, check bits)? */
static bool zlib_header(const unsigned char *p, size_t len)
{
    return len >= 2 && (p[0] & 0x0f) == 8 && (p[0] >> 4) <= 7 && ((p[0] << 8) | p[1]) % 31 == 0;
}

/* "deflate" means a zlib stream (RFC 9110 8.4.1.2), but servers often send
 * raw deflate; like browsers, accept both. A raw stream can begin with bytes
 * that pass the header check, so a failed zlib attempt is retried raw. */
static enum codec_rc run_deflate(const unsigned char *in, size_t len, struct sink *s, char *err,
                                 size_t errlen)
{
    if (!zlib_header(in, len))
        return run_inflate("deflate", -MAX_WBITS, false, in, len, s, err, errlen);
    enum codec_rc rc = run_inflate("deflate", MAX_WBITS, false, in, len, s, err, errlen);
    if (rc != CODEC_BAD)
        return rc;
    char raw_err[128];
    enum codec_rc raw =
        run_inflate("deflate", -MAX_WBITS, false, in, len, s, raw_err, sizeof(raw_err));
    if (raw == CODEC_BAD)
        return rc; /* the zlib reading's reason is the likelier one */
    if (raw == CODEC_TOO_BIG)
        snprintf(err, errlen, "%s", raw_err);
    return raw;
}

/* ---- br and zstd ----------------------------------------------------------- */

#ifdef LUCENT_HAVE_BROTLI
static enum codec_rc run_brotli(const unsigned char *in, size_t len, struct sink *s, char *err,
                                size_t errlen)
{
    BrotliDecoderState *st = BrotliDecoderCreateInstance(NULL, NULL, NULL);
    const uint8_t *next_in = in;
    size_t avail_in = len;
    enum codec_rc rc = CODEC_OK;

    if (st == NULL)
        return bad(err, errlen, "br", "out of memory");
    for (;;) {
        size_t room, avail_out;
        uint8_t *next_out = sink_space(s, &room);
        avail_out = room;
        BrotliDecoderResult r =
            BrotliDecoderDecompressStream(st, &avail_in, &next_in, &avail_out, &next_out, NULL);
        if (sink_commit(s, room - avail_out)) {
            rc = too_big(s, err, errlen);
            break;
        }
        if (r == BROTLI_DECODER_RESULT_SUCCESS)
            break;
        if (r == BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT)
            continue;
        if (r == BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT)
            rc = bad(err, errlen, "br", "truncated input");
        else
            rc = bad(err, errlen, "br", BrotliDecoderErrorString(BrotliDecoderGetErrorCode(st)));
        break;
    }
    BrotliDecoderDestroyInstance(st);
    if (rc != CODEC_OK)
        sink_undo(s);
    return rc;
}
#endif

#ifdef LUCENT_HAVE_ZSTD
/* Decodes one or more zstd frames; the input must end with a whole frame. */
static enum codec_rc run_zstd(const unsigned char *in, size_t len, struct sink *s, char *err,
                              size_t errlen)
{
    ZSTD_DCtx *dc = ZSTD_createDCtx();
    ZSTD_inBuffer ib = {in, len, 0};
    enum codec_rc rc = CODEC_OK;

    if (dc == NULL)
        return bad(err, errlen, "zstd", "out of memory");
    /* a frame may ask for up to 2 GiB of window; HTTP allows senders 8 MiB */
    if (ZSTD_isError(ZSTD_DCtx_setParameter(dc, ZSTD_d_windowLogMax, CODEC_ZSTD_WINDOW_LOG))) {
        ZSTD_freeDCtx(dc);
        return bad(err, errlen, "zstd", "cannot set up the decoder");
    }
    for (;;) {
        size_t room;
        ZSTD_outBuffer ob = {sink_space(s, &room), 0, 0};
        ob.size = room;
        size_t ret = ZSTD_decompressStream(dc, &ob, &ib);
        if (sink_commit(s, ob.pos)) {
            rc = too_big(s, err, errlen);
            break;
        }
        if (ZSTD_isError(ret)) {
            rc = bad(err, errlen, "zstd", ZSTD_getErrorName(ret));
            break;
        }
        /* all input read and the output not full: nothing more will come */
        if (ib.pos == ib.size && ob.pos < ob.size) {
            if (ret != 0)
                rc = bad(err, errlen, "zstd", "truncated input");
            break;
        }
    }
    ZSTD_freeDCtx(dc);
    if (rc != CODEC_OK)
        sink_undo(s);
    return rc;
}
#endif

/* ---- the coding list ------------------------------------------------------- */

static enum coding coding_of(const char *s, size_t n)
{
    static const struct {
        const char *name;
        enum coding c;
    } names[] = {
        {"identity", CODING_IDENTITY},
        {"gzip", CODING_GZIP},
        {"x-gzip", CODING_GZIP},
        {"deflate", CODING_DEFLATE},
#ifdef LUCENT_HAVE_BROTLI
        {"br", CODING_BR},
#endif
#ifdef LUCENT_HAVE_ZSTD
        {"zstd", CODING_ZSTD},
#endif
    };
    for (size_t i = 0; i < LC_ARRAY_LEN(names); i++)
        if (strlen(names[i].name) == n && strncasecmp(names[i].name, s, n) == 0)
            return names[i].c;
    return CODING_UNKNOWN;
}

/* Splits enc into codings in the order applied, identity and empty entries
 * dropped. CODEC_UNSUPPORTED (with the reason in err) on an unknown name. */
static enum codec_rc parse_codings(const char *enc, size_t enclen, enum coding *codes, size_t *n,
                                   char *err, size_t errlen)
{
    size_t i = 0;

    *n = 0;
    while (i < enclen) {
        size_t start = i, end;
        while (i < enclen && enc[i] != ',')
            i++;
        end = i++;
        while (start < end && (enc[start] == ' ' || enc[start] == '\t'))
            start++;
        while (end > start && (enc[end - 1] == ' ' || enc[end - 1] == '\t'))
            end--;
        if (start == end)
            continue;
        enum coding c = coding_of(enc + start, end - start);
        if (c == CODING_IDENTITY)
            continue;
        if (c == CODING_UNKNOWN) {
            int shown = end - start > 40 ? 40 : (int)(end - start);
            snprintf(err, errlen, "unsupported content coding \"%.*s\"", shown, enc + start);
            return CODEC_UNSUPPORTED;
        }
        if (*n == CODEC_MAX_LAYERS) {
            snprintf(err, errlen, "more than %d content codings", CODEC_MAX_LAYERS);
            return CODEC_UNSUPPORTED;
        }
        codes[(*n)++] = c;
    }
    return CODEC_OK;
}

/* Undoes one coding of in[0..len), appending to b; on failure b is as it was. */
static enum codec_rc decode_one(enum coding c, const unsigned char *in, size_t len, size_t limit,
                                struct buf *b, char *err, size_t errlen)
{
    struct sink s;

    if (len == 0)
        return CODEC_OK;
    sink_init(&s, b, limit);
    switch (c) {
    case CODING_GZIP:
        return run_inflate("gzip", 16 + MAX_WBITS, true, in, len, &s, err, errlen);
    case CODING_DEFLATE:
        return run_deflate(in, len, &s, err, errlen);
#ifdef LUCENT_HAVE_BROTLI
    case CODING_BR:
        return run_brotli(in, len, &s, err, errlen);
#endif
#ifdef LUCENT_HAVE_ZSTD
    case CODING_ZSTD:
        return run_zstd(in, len, &s, err, errlen);
#endif
    default:
        snprintf(err, errlen, "unsupported content coding");
        return CODEC_UNSUPPORTED;
    }
}

enum codec_rc codec_decode(const char *enc, size_t enclen, const void *p, size_t len, size_t limit,
                           struct buf *out, char *err, size_t errlen)
{
    enum coding codes[CODEC_MAX_LAYERS];
    size_t n;
    enum codec_rc rc = parse_codings(enc, enclen, codes, &n, err, errlen);

    if (rc != CODEC_OK)
        return rc;
    if (n == 0) {
        if (len > limit) {
            snprintf(err, errlen, "body is larger than the limit of %zu bytes", limit);
            return CODEC_TOO_BIG;
        }
        if (len > 0)
            buf_append(out, p, len);
        return CODEC_OK;
    }

    /* the last coding listed was applied last: undo it first */
    struct buf cur = BUF_INIT, next = BUF_INIT;
    const unsigned char *src = p;
    size_t srclen = len;
    for (size_t k = n; k-- > 0;) {
        struct buf *dst = k == 0 ? out : &next;
        rc = decode_one(codes[k], src, srclen, limit, dst, err, errlen);
        if (rc != CODEC_OK || k == 0)
            break;
        buf_free(&cur);
        cur = next;
        next = (struct buf)BUF_INIT;
        src = (const unsigned char *)cur.p;
        srclen = cur.len;
    }
    buf_free(&cur);
    buf_free(&next);
    return rc;
}

bool codec_supported(const char *enc, size_t enclen)
{
    enum coding codes[CODEC_MAX_LAYERS];
    size_t n;
    char err[80];

    return parse_codings(enc, enclen, codes, &n, err, sizeof(err)) == CODEC_OK;
}
