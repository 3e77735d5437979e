/* SPDX-License-Identifier: MIT */
/* expose: findings and teaching flags of one flow (see expose.h). Every
 * parser here reads bounded byte ranges, never NUL-terminated header values,
 * and gives up quietly on malformed input: a flow may hold any bytes. */
#include "core/expose.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/codec.h"
#include "core/json.h"
#include "core/url.h"
#include "core/jsonp.h"

#define ELLIPSIS "\xe2\x80\xa6" /* U+2026, three bytes */

struct ctx {
    const struct flow *f;
    struct expose *e;
    bool clear;  /* plain HTTP: everything is readable on the wire */
    size_t room; /* items before the last group (bodies or sizes), whose slots are kept */
};

/* ---- bytes ---------------------------------------------------------------- */

static char lc(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool is_ws(char c)
{
    return c == ' ' || c == '\t';
}

static bool is_alnum(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static void trim(const char **s, size_t *len)
{
    while (*len > 0 && is_ws(**s))
        (*s)++, (*len)--;
    while (*len > 0 && is_ws((*s)[*len - 1]))
        (*len)--;
}

/* s[0..len) equals lit, ASCII case-insensitively. */
static bool ieq(const char *s, size_t len, const char *lit)
{
    size_t n = strlen(lit);
    if (len != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (lc(s[i]) != lit[i])
            return false;
    return true;
}

static bool iprefix(const char *s, size_t len, const char *lit)
{
    size_t n = strlen(lit);
    return len >= n && ieq(s, n, lit);
}

/* Copies s[0..len) into dst[cap] as a C string. When it does not fit, or
 * `more` says the source went on, the end becomes "…", cut at a UTF-8
 * character boundary. A NUL byte ends the copy (and counts as a cut). */
static void put_str(char *dst, size_t cap, const char *s, size_t len, bool more)
{
    const char *nul = len > 0 ? memchr(s, '\0', len) : NULL;
    if (nul != NULL) {
        len = (size_t)(nul - s);
        more = true;
    }
    if (!more && len < cap) {
        if (len > 0)
            memcpy(dst, s, len);
        dst[len] = '\0';
        return;
    }
    size_t n = len < cap - 4 ? len : cap - 4; /* room for "…" and NUL */
    while (n > 0 && n < len && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--; /* s[n] continues the character before it: keep that one out */
    if (n > 0)
        memcpy(dst, s, n);
    memcpy(dst + n, ELLIPSIS, 4); /* with its NUL */
}

static void put_cstr(char *dst, size_t cap, const char *s)
{
    put_str(dst, cap, s, strlen(s), false);
}

/* Percent-decodes s[0..len) ('+' as a space when plus) into out[0..cap);
 * returns the length written; *more when the output did not fit. A '%' not
 * followed by two hex digits stays as it is. */
static size_t pct_decode(const char *s, size_t len, bool plus, char *out, size_t cap, bool *more)
{
    size_t o = 0;
    *more = false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '%' && i + 2 < len && url_hexval(s[i + 1]) >= 0 && url_hexval(s[i + 2]) >= 0) {
            c = (char)(url_hexval(s[i + 1]) * 16 + url_hexval(s[i + 2]));
            i += 2;
        } else if (c == '+' && plus) {
            c = ' ';
        }
        if (o == cap) {
            *more = true;
            break;
        }
        out[o++] = c;
    }
    return o;
}

static int b64_val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Decodes standard base64 (padding optional) into out[0..cap); returns the
 * length, or -1 when s is not base64. *more when out was too small. */
static long b64_decode(const char *s, size_t len, char *out, size_t cap, bool *more)
{
    size_t pad = 0, o = 0;
    uint32_t acc = 0;
    int bits = 0;

    *more = false;
    while (len > 0 && s[len - 1] == '=')
        len--, pad++;
    if (pad > 2 || len % 4 == 1)
        return -1;
    for (size_t i = 0; i < len; i++) {
        int v = b64_val((unsigned char)s[i]);
        if (v < 0)
            return -1;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o < cap)
                out[o++] = (char)(acc >> bits);
            else
                *more = true;
            acc &= (1u << bits) - 1;
        }
    }
    return (long)o;
}

/* ---- names that look secret ------------------------------------------------ */

static const char *const secret_parts[] = {
    "passw",   "passphrase", "passcode",  "pwd",        "secret",        "token",       "apikey",
    "api_key", "api-key",    "accesskey", "access_key", "privatekey",    "private_key", "session",
    "sessid",  "csrf",       "xsrf",      "credential", "authorization",
};
static const char *const secret_words[] = {"pass", "pw", "auth", "sid", "otp"};

static bool secret_word(const char *w, size_t len)
{
    for (size_t i = 0; i < LC_ARRAY_LEN(secret_words); i++)
        if (ieq(w, len, secret_words[i]))
            return true;
    return false;
}

static bool secret_name(const char *s, size_t len)
{
    char low[128];
    size_t n = len < sizeof(low) - 1 ? len : sizeof(low) - 1;

    for (size_t i = 0; i < n; i++)
        low[i] = s[i] == '\0' ? ' ' : lc(s[i]);
    low[n] = '\0';
    if (strcmp(low, "key") == 0)
        return true;
    for (size_t i = 0; i < LC_ARRAY_LEN(secret_parts); i++)
        if (strstr(low, secret_parts[i]) != NULL)
            return true;
    /* words: split at punctuation and at a lower-to-upper case change */
    size_t start = 0;
    for (size_t i = 0; i <= n; i++) {
        bool end = i == n || !is_alnum(s[i]) ||
                   (i > start && s[i] >= 'A' && s[i] <= 'Z' && s[i - 1] >= 'a' && s[i - 1] <= 'z');
        if (!end)
            continue;
        if (i > start && secret_word(s + start, i - start))
            return true;
        start = i < n && is_alnum(s[i]) ? i : i + 1;
    }
    return false;
}

/* ---- items ------------------------------------------------------------------ */

/* A new item, or NULL (counted as dropped) once `room` items exist. */
static struct expose_item *add(struct ctx *c, enum expose_kind kind, bool in_clear,
                               const char *where, size_t room)
{
    struct expose *e = c->e;
    if (e->n >= room) {
        e->dropped++;
        return NULL;
    }
    struct expose_item *it = &e->items[e->n++];
    memset(it, 0, sizeof(*it));
    it->kind = kind;
    it->in_clear = in_clear;
    put_cstr(it->where, sizeof(it->where), where);
    return it;
}

static void raise_flag(struct ctx *c, struct expose_item *it, unsigned flag)
{
    c->e->flags |= flag;
    if (it != NULL)
        it->flags |= flag;
}

/* A secret of kind found at `where`: name and value as given (already
 * decoded), value cut when more_value. */
static struct expose_item *add_secret(struct ctx *c, enum expose_kind kind, const char *where,
                                      const char *name, size_t nlen, const char *value, size_t vlen,
                                      bool more_value)
{
    struct expose_item *it = add(c, kind, c->clear, where, c->room);
    if (it != NULL) {
        put_str(it->name, sizeof(it->name), name, nlen, false);
        put_str(it->value, sizeof(it->value), value, vlen, more_value);
    }
    if (kind == EXPOSE_QUERY_SECRET)
        raise_flag(c, it, EXPOSE_F_SECRET_IN_QUERY);
    if (c->clear)
        raise_flag(c, it, EXPOSE_F_CREDENTIALS_IN_CLEAR);
    return it;
}

/* ---- Authorization ---------------------------------------------------------- */

static void check_auth(struct ctx *c, const char *hname)
{
    const struct hdrs *h = &c->f->req_headers;
    char where[48];

    snprintf(where, sizeof(where), "request header %s", hname);
    for (size_t i = 0; i < h->n; i++) {
        if (!hdrs_name_is(h, i, hname))
            continue;
        size_t len, sl = 0;
        const char *v = hdrs_value(h, i, &len);
        trim(&v, &len);
        while (sl < len && !is_ws(v[sl]))
            sl++;
        const char *cred = v + sl;
        size_t clen = len - sl;
        trim(&cred, &clen);

        if (ieq(v, sl, "basic")) {
            char dec[256];
            bool more;
            long n = b64_decode(cred, clen, dec, sizeof(dec), &more);
            struct expose_item *it;
            if (n < 0) {
                it = add_secret(c, EXPOSE_BASIC_AUTH, where, "Basic", 5, cred, clen, false);
                if (it != NULL)
                    put_cstr(it->note, sizeof(it->note),
                             "undecodable: not valid base64, shown as sent");
            } else {
                it = add_secret(c, EXPOSE_BASIC_AUTH, where, "Basic", 5, dec, (size_t)n, more);
                if (it != NULL)
                    put_cstr(it->note, sizeof(it->note),
                             memchr(dec, ':', (size_t)n) != NULL
                                 ? "user:password, decoded from base64"
                                 : "decoded from base64, no ':' between user and password");
            }
            raise_flag(c, it, EXPOSE_F_BASIC_AUTH);
        } else if (ieq(v, sl, "bearer")) {
            add_secret(c, EXPOSE_BEARER, where, "Bearer", 6, cred, clen, false);
        } else if (len > 0) {
            add_secret(c, EXPOSE_AUTH, where, v, sl, cred, clen, false);
        }
    }
}

/* ---- cookies ----------------------------------------------------------------- */

static void check_cookies(struct ctx *c)
{
    const struct hdrs *h = &c->f->req_headers;
    for (size_t i = 0; i < h->n; i++) {
        if (!hdrs_name_is(h, i, "Cookie"))
            continue;
        size_t len;
        const char *v = hdrs_value(h, i, &len);
        size_t p = 0;
        while (p < len) {
            const char *semi = memchr(v + p, ';', len - p);
            size_t end = semi != NULL ? (size_t)(semi - v) : len;
            const char *pair = v + p;
            size_t plen = end - p;
            p = end + 1;
            trim(&pair, &plen);
            if (plen == 0)
                continue;
            const char *eq = memchr(pair, '=', plen);
            const char *name = pair, *val = pair;
            size_t nlen = 0, vlen = plen;
            if (eq != NULL) {
                nlen = (size_t)(eq - pair);
                val = eq + 1;
                vlen = plen - nlen - 1;
                trim(&name, &nlen);
                trim(&val, &vlen);
            }
            struct expose_item *it =
                add(c, EXPOSE_COOKIE, c->clear, "request header Cookie", c->room);
            if (it != NULL) {
                put_str(it->name, sizeof(it->name), name, nlen, false);
                put_str(it->value, sizeof(it->value), val, vlen, false);
            }
        }
    }
}

/* Is a Max-Age value zero or negative (the cookie is being deleted)? */
static bool max_age_deletes(const char *v, size_t len)
{
    if (len > 0 && v[0] == '-')
        return true;
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++)
        if (v[i] < '0' || v[i] > '9')
            return false; /* malformed: ignored, as browsers do */
        else if (v[i] != '0')
            return false;
    return true;
}

static void check_set_cookie(struct ctx *c, const char *v, size_t len)
{
    const char *semi = memchr(v, ';', len);
    size_t plen = semi != NULL ? (size_t)(semi - v) : len;
    const char *pair = v, *name = v, *val = v;
    size_t nlen = 0, vlen;
    bool secure = false, httponly = false, samesite = false, deletes = false;

    trim(&pair, &plen);
    vlen = plen;
    val = pair;
    const char *eq = memchr(pair, '=', plen);
    if (eq != NULL) {
        name = pair;
        nlen = (size_t)(eq - pair);
        val = eq + 1;
        vlen = plen - nlen - 1;
        trim(&name, &nlen);
        trim(&val, &vlen);
    }
    /* attributes */
    size_t p = semi != NULL ? (size_t)(semi - v) + 1 : len;
    while (p < len) {
        const char *s2 = memchr(v + p, ';', len - p);
        size_t end = s2 != NULL ? (size_t)(s2 - v) : len;
        const char *a = v + p, *av = NULL;
        size_t alen = end - p, avlen = 0;
        p = end + 1;
        const char *aeq = memchr(a, '=', alen);
        if (aeq != NULL) {
            av = aeq + 1;
            avlen = alen - (size_t)(aeq - a) - 1;
            alen = (size_t)(aeq - a);
            trim(&av, &avlen);
        }
        trim(&a, &alen);
        if (ieq(a, alen, "secure"))
            secure = true;
        else if (ieq(a, alen, "httponly"))
            httponly = true;
        else if (ieq(a, alen, "samesite") && avlen > 0)
            samesite = true;
        else if (ieq(a, alen, "max-age") && av != NULL && max_age_deletes(av, avlen))
            deletes = true;
    }
    if (vlen == 0 || deletes)
        return; /* a deletion: nothing left to steal */

    struct expose_item *it =
        add(c, EXPOSE_SET_COOKIE, c->clear, "response header Set-Cookie", c->room);
    char note[80];
    size_t nn = 0;
    note[0] = '\0';
    if (c->clear)
        nn += (size_t)snprintf(note, sizeof(note), "set over plain HTTP");
    if ((!secure && !c->clear) || !httponly || !samesite) {
        nn += (size_t)snprintf(note + nn, sizeof(note) - nn, "%smissing", nn > 0 ? "; " : "");
        const char *sep = " ";
        if (!secure && !c->clear) {
            nn += (size_t)snprintf(note + nn, sizeof(note) - nn, "%sSecure", sep);
            sep = ", ";
        }
        if (!httponly) {
            nn += (size_t)snprintf(note + nn, sizeof(note) - nn, "%sHttpOnly", sep);
            sep = ", ";
        }
        if (!samesite)
            snprintf(note + nn, sizeof(note) - nn, "%sSameSite", sep);
    }
    if (it != NULL) {
        put_str(it->name, sizeof(it->name), name, nlen, false);
        put_str(it->value, sizeof(it->value), val, vlen, false);
        put_cstr(it->note, sizeof(it->note), note);
    }
    if (note[0] != '\0')
        raise_flag(c, it, EXPOSE_F_COOKIE_INSECURE);
}

/* ---- query strings and url-encoded forms ------------------------------------- */

/* Each name=value pair of s[0..len) ('&'-separated) whose decoded name looks
 * secret becomes a finding of kind at where. */
static void check_pairs(struct ctx *c, const char *s, size_t len, enum expose_kind kind,
                        const char *where)
{
    size_t p = 0;
    while (p < len) {
        const char *amp = memchr(s + p, '&', len - p);
        size_t end = amp != NULL ? (size_t)(amp - s) : len;
        const char *pair = s + p;
        size_t plen = end - p;
        p = end + 1;
        if (plen == 0)
            continue;
        const char *eq = memchr(pair, '=', plen);
        size_t rawn = eq != NULL ? (size_t)(eq - pair) : plen;
        char name[128], value[256];
        bool nmore, vmore = false;
        size_t nlen = pct_decode(pair, rawn, true, name, sizeof(name), &nmore);
        if (!secret_name(name, nlen))
            continue;
        size_t vlen = 0;
        if (eq != NULL)
            vlen = pct_decode(eq + 1, plen - rawn - 1, true, value, sizeof(value), &vmore);
        add_secret(c, kind, where, name, nlen, value, vlen, vmore);
    }
}

static void check_query(struct ctx *c)
{
    const char *url = c->f->url;
    if (url == NULL)
        return;
    size_t len = strlen(url);
    const char *q = memchr(url, '?', len);
    if (q == NULL)
        return;
    q++;
    size_t qlen = len - (size_t)(q - url);
    const char *hash = memchr(q, '#', qlen);
    if (hash != NULL)
        qlen = (size_t)(hash - q);
    check_pairs(c, q, qlen, EXPOSE_QUERY_SECRET, "query string");
}

/* ---- header parameters ----------------------------------------------------- */

/* Copies the media type (or disposition) of a field value like
 * "type/sub; a=b" into out, lower-cased. */
static void media_type(const char *v, size_t len, char *out, size_t cap)
{
    size_t n = 0;
    while (len > 0 && is_ws(*v))
        v++, len--;
    while (n < len && v[n] != ';' && !is_ws(v[n]))
        n++;
    if (n >= cap)
        n = cap - 1;
    for (size_t i = 0; i < n; i++)
        out[i] = v[i] == '\0' ? '?' : lc(v[i]);
    out[n] = '\0';
}

/* Finds parameter pname in "type; a=1; b=\"x;y\"" and copies its value
 * (a quoted string unquoted, \" and \\ unescaped, other backslashes kept)
 * into out[0..cap) with its length in *outlen. False when absent. */
static bool header_param(const char *v, size_t len, const char *pname, char *out, size_t cap,
                         size_t *outlen)
{
    size_t i = 0;
    while (i < len && v[i] != ';')
        i++;
    while (i < len) {
        i++; /* the ';' */
        while (i < len && is_ws(v[i]))
            i++;
        size_t ns = i;
        while (i < len && v[i] != '=' && v[i] != ';')
            i++;
        size_t ne = i;
        while (ne > ns && is_ws(v[ne - 1]))
            ne--;
        if (i >= len || v[i] == ';')
            continue; /* a parameter without a value */
        i++;          /* the '=' */
        while (i < len && is_ws(v[i]))
            i++;
        bool want = ieq(v + ns, ne - ns, pname);
        size_t o = 0;
        if (i < len && v[i] == '"') {
            for (i++; i < len && v[i] != '"'; i++) {
                char ch = v[i];
                if (ch == '\\' && i + 1 < len && (v[i + 1] == '"' || v[i + 1] == '\\'))
                    ch = v[++i];
                if (want && o < cap)
                    out[o++] = ch;
            }
            while (i < len && v[i] != ';')
                i++; /* the closing quote and anything after it */
        } else {
            size_t vs = i;
            while (i < len && v[i] != ';')
                i++;
            size_t ve = i;
            while (ve > vs && is_ws(v[ve - 1]))
                ve--;
            if (want) {
                o = ve - vs < cap ? ve - vs : cap;
                memcpy(out, v + vs, o);
            }
        }
        if (want) {
            *outlen = o;
            return true;
        }
    }
    return false;
}

/* ---- multipart/form-data (RFC 7578, RFC 2046 5.1) ----------------------------- */

/* Is there a delimiter line at b[i]: "--boundary", then "--" (the close
 * delimiter), or transport padding up to the line end or the end of what
 * was captured? ("--boundaryX" is not one.) */
static bool is_delim(const char *b, size_t len, size_t i, const char *bd, size_t bdlen)
{
    if (len - i < bdlen + 2 || b[i] != '-' || b[i + 1] != '-' || memcmp(b + i + 2, bd, bdlen) != 0)
        return false;
    size_t p = i + 2 + bdlen;
    if (len - p >= 2 && b[p] == '-' && b[p + 1] == '-')
        return true;
    while (p < len && is_ws(b[p]))
        p++;
    if (p < len && b[p] == '\r')
        p++;
    return p >= len || b[p] == '\n';
}

/* Position of the next delimiter at or after `from` that starts the body or
 * a line, or len when there is none. */
static size_t find_delim(const char *b, size_t len, size_t from, const char *bd, size_t bdlen)
{
    size_t i = from;
    while (i < len) {
        if ((i == 0 || b[i - 1] == '\n') && is_delim(b, len, i, bd, bdlen))
            return i;
        const char *nl = memchr(b + i, '\n', len - i);
        if (nl == NULL)
            break;
        i = (size_t)(nl - b) + 1;
    }
    return len;
}

static void check_multipart(struct ctx *c, const char *b, size_t len, const char *ctype,
                            size_t ctlen)
{
    char bd[256];
    size_t bdlen = 0;
    if (!header_param(ctype, ctlen, "boundary", bd, sizeof(bd), &bdlen) || bdlen == 0 ||
        bdlen >= sizeof(bd))
        return;

    size_t at = find_delim(b, len, 0, bd, bdlen);
    while (at < len) {
        size_t p = at + 2 + bdlen;
        if (len - p >= 2 && b[p] == '-' && b[p + 1] == '-')
            return; /* the close delimiter */
        while (p < len && is_ws(b[p]))
            p++; /* transport padding */
        if (p < len && b[p] == '\r')
            p++;
        if (p >= len)
            return;
        p++; /* the '\n' (is_delim saw it) */

        /* part headers, up to an empty line */
        char name[128], fname[64];
        size_t nlen = 0, fnlen = 0;
        bool named = false, has_file = false;
        for (;;) {
            const char *nl = p < len ? memchr(b + p, '\n', len - p) : NULL;
            if (nl == NULL)
                return; /* cut inside the headers */
            size_t e = (size_t)(nl - b), le = e;
            if (le > p && b[le - 1] == '\r')
                le--;
            const char *line = b + p;
            size_t llen = le - p;
            p = e + 1;
            if (llen == 0)
                break;
            if (iprefix(line, llen, "content-disposition:")) {
                const char *dv = line + 20;
                size_t dlen = llen - 20;
                named = header_param(dv, dlen, "name", name, sizeof(name), &nlen);
                has_file = header_param(dv, dlen, "filename", fname, sizeof(fname), &fnlen);
            }
        }

        /* content, up to the CRLF before the next delimiter */
        size_t next = find_delim(b, len, p, bd, bdlen);
        size_t end = next;
        bool cut = next >= len;
        if (!cut) {
            end = next > p ? next - 1 : p; /* the '\n' before the delimiter */
            if (end > p && b[end - 1] == '\r')
                end--;
        }
        if (named && secret_name(name, nlen)) {
            struct expose_item *it = add_secret(c, EXPOSE_FORM_SECRET, "multipart form field", name,
                                                nlen, b + p, end - p, false);
            if (it != NULL && (has_file || cut)) {
                char note[80];
                if (has_file)
                    snprintf(note, sizeof(note), "file \"%.*s\"%s", (int)fnlen, fname,
                             cut ? ", body cut" : "");
                else
                    snprintf(note, sizeof(note), "body cut");
                put_cstr(it->note, sizeof(it->note), note);
            }
        }
        at = next;
    }
}

/* ---- JSON bodies ------------------------------------------------------------------ */

static void check_json_val(struct ctx *c, const struct jsonp_val *v)
{
    if (v->type != JSONP_OBJECT && v->type != JSONP_ARRAY)
        return;
    for (size_t i = 0; i < v->n; i++) {
        const struct jsonp_val *m = &v->items[i];
        if (v->type == JSONP_OBJECT && secret_name(m->key, m->key_len)) {
            char num[40];
            if (m->type == JSONP_STRING) {
                add_secret(c, EXPOSE_FORM_SECRET, "JSON body field", m->key, m->key_len, m->str,
                           m->len, false);
                continue;
            }
            if (m->type == JSONP_NUMBER) {
                /* integers (PINs, codes) in full, others as printed */
                bool whole = m->num > -1e17 && m->num < 1e17 && m->num == (double)(int64_t)m->num;
                int n = whole ? snprintf(num, sizeof(num), "%" PRId64, (int64_t)m->num)
                              : snprintf(num, sizeof(num), "%.15g", m->num);
                add_secret(c, EXPOSE_FORM_SECRET, "JSON body field", m->key, m->key_len, num,
                           (size_t)n, false);
                continue;
            }
        }
        check_json_val(c, m); /* depth is capped by the parser */
    }
}

/* ---- request bodies ----------------------------------------------------------------- */

static void check_req_body(struct ctx *c)
{
    const struct flow *f = c->f;
    size_t ctlen = 0, elen = 0;
    const char *ctype = hdrs_get(&f->req_headers, "Content-Type", &ctlen);
    const char *enc = hdrs_get(&f->req_headers, "Content-Encoding", &elen);
    char mt[64];
    struct buf dec = BUF_INIT;
    const char *b = f->req_body.p;
    size_t len = f->req_body.len;

    if (ctype == NULL || len == 0)
        return;
    media_type(ctype, ctlen, mt, sizeof(mt));
    size_t mtlen = strlen(mt);
    enum { FORM_URLENCODED = 0, FORM_MULTIPART, FORM_JSON } form;
    if (strcmp(mt, "application/x-www-form-urlencoded") == 0)
        form = FORM_URLENCODED;
    else if (strcmp(mt, "multipart/form-data") == 0)
        form = FORM_MULTIPART;
    else if (strcmp(mt, "application/json") == 0 ||
             (mtlen > 5 && strcmp(mt + mtlen - 5, "+json") == 0))
        form = FORM_JSON;
    else
        return;
    if (enc != NULL) {
        char err[128];
        if (codec_decode(enc, elen, b, len, EXPOSE_DECODE_LIMIT, &dec, err, sizeof(err)) !=
            CODEC_OK)
            goto out; /* undecodable: there is nothing we could read either */
        b = dec.p != NULL ? dec.p : "";
        len = dec.len;
    }
    if (form == FORM_URLENCODED) {
        check_pairs(c, b, len, EXPOSE_FORM_SECRET, "form field");
    } else if (form == FORM_MULTIPART) {
        check_multipart(c, b, len, ctype, ctlen);
    } else if (len > 0) {
        char err[8];
        struct jsonp_doc *d = jsonp_parse(b, len, err, sizeof(err));
        if (d != NULL)
            check_json_val(c, jsonp_root(d));
        jsonp_free(d);
    }
out:
    buf_free(&dec);
}

/* ---- response ------------------------------------------------------------------------ */

/* Does a Strict-Transport-Security value turn HSTS on (max-age > 0)? */
static bool hsts_on(const char *v, size_t len)
{
    size_t p = 0;
    while (p < len) {
        const char *semi = memchr(v + p, ';', len - p);
        size_t end = semi != NULL ? (size_t)(semi - v) : len;
        const char *d = v + p;
        size_t dlen = end - p;
        p = end + 1;
        trim(&d, &dlen);
        if (!iprefix(d, dlen, "max-age"))
            continue;
        const char *a = d + 7;
        size_t alen = dlen - 7;
        trim(&a, &alen);
        if (alen == 0 || a[0] != '=')
            continue;
        a++, alen--;
        trim(&a, &alen);
        if (alen > 0 && a[0] == '"')
            a++, alen--;
        for (size_t i = 0; i < alen && a[i] >= '0' && a[i] <= '9'; i++)
            if (a[i] != '0')
                return true;
        return false;
    }
    return false; /* no max-age: invalid, ignored by browsers */
}

static void check_response(struct ctx *c)
{
    const struct flow *f = c->f;
    const struct hdrs *h = &f->resp_headers;

    if (f->status == 0)
        return;
    for (size_t i = 0; i < h->n; i++) {
        if (!hdrs_name_is(h, i, "Set-Cookie"))
            continue;
        size_t len;
        const char *v = hdrs_value(h, i, &len);
        check_set_cookie(c, v, len);
    }
    if (f->tls && !f->local_reply && f->status >= 200 && f->status < 400) {
        size_t ctlen = 0, slen = 0;
        const char *ct = hdrs_get(h, "Content-Type", &ctlen);
        const char *sts = hdrs_get(h, "Strict-Transport-Security", &slen);
        char mt[64];
        mt[0] = '\0';
        if (ct != NULL)
            media_type(ct, ctlen, mt, sizeof(mt));
        if ((mt[0] == '\0' || strcmp(mt, "text/html") == 0) && (sts == NULL || !hsts_on(sts, slen)))
            raise_flag(c, NULL, EXPOSE_F_NO_HSTS);
    }
}

/* ---- the flow ----------------------------------------------------------------------- */

static void check_mixed(struct ctx *c)
{
    static const char *const fields[] = {"Referer", "Origin"};
    const struct flow *f = c->f;

    if (f->tls || f->url == NULL || !iprefix(f->url, strlen(f->url), "http://"))
        return;
    for (size_t k = 0; k < LC_ARRAY_LEN(fields); k++) {
        size_t len;
        const char *v = hdrs_get(&f->req_headers, fields[k], &len);
        if (v == NULL)
            continue;
        trim(&v, &len);
        if (!iprefix(v, len, "https://"))
            continue;
        char where[48];
        snprintf(where, sizeof(where), "request header %s", fields[k]);
        struct expose_item *it = add(c, EXPOSE_REFERER, true, where, c->room);
        if (it != NULL) {
            put_str(it->value, sizeof(it->value), v, len, false);
            put_cstr(it->note, sizeof(it->note), "an HTTPS page loaded this over plain HTTP");
        }
        raise_flag(c, it, EXPOSE_F_MIXED_CONTENT);
        return; /* one is enough */
    }
}

static void add_body(struct ctx *c, const struct hdrs *h, uint64_t size, const char *where)
{
    if (size == 0)
        return;
    struct expose_item *it = add(c, EXPOSE_BODY, true, where, EXPOSE_MAX_ITEMS);
    if (it == NULL)
        return;
    size_t ctlen = 0;
    const char *ct = hdrs_get(h, "Content-Type", &ctlen);
    if (ct != NULL)
        media_type(ct, ctlen, it->name, sizeof(it->name));
    snprintf(it->value, sizeof(it->value), "%" PRIu64 " bytes", size);
}

void expose_analyze(const struct flow *f, struct expose *out)
{
    struct ctx c = {.f = f, .e = out, .clear = !f->tls};

    memset(out, 0, sizeof(*out));
    out->tls = f->tls || f->connect;
    if (out->tls)
        c.room = EXPOSE_MAX_ITEMS - 1;
    else
        c.room = EXPOSE_MAX_ITEMS - (f->req_size > 0) - (f->status != 0 && f->resp_size > 0);

    if (f->sni[0] != '\0' && (f->tls || f->connect)) {
        struct expose_item *it = add(&c, EXPOSE_SNI, true, "TLS handshake (SNI)", c.room);
        if (it != NULL) {
            put_cstr(it->name, sizeof(it->name), "server name");
            put_str(it->value, sizeof(it->value), f->sni, strnlen(f->sni, sizeof(f->sni)), false);
        }
    }
    if (f->url != NULL && f->url[0] != '\0') {
        struct expose_item *it =
            add(&c, EXPOSE_URL, c.clear, f->connect ? "CONNECT request" : "request line", c.room);
        if (it != NULL)
            put_cstr(it->value, sizeof(it->value), f->url);
    }
    check_auth(&c, "Proxy-Authorization");
    if (!f->connect) {
        check_auth(&c, "Authorization");
        check_query(&c);
        check_req_body(&c);
        check_cookies(&c);
        check_response(&c);
        check_mixed(&c);
    }

    if (f->tls || f->connect) {
        struct expose_item *it =
            add(&c, EXPOSE_SIZES, true, f->connect ? "tunnel byte counts" : "TLS record lengths",
                EXPOSE_MAX_ITEMS);
        if (it != NULL) {
            put_cstr(it->name, sizeof(it->name), "sizes");
            snprintf(it->value, sizeof(it->value),
                     f->connect ? "client to server %" PRIu64 " bytes, server to client %" PRIu64
                                  " bytes"
                                : "request body %" PRIu64 " bytes, response body %" PRIu64 " bytes",
                     f->req_size, f->resp_size);
        }
    } else {
        add_body(&c, &f->req_headers, f->req_size, "request body");
        if (f->status != 0)
            add_body(&c, &f->resp_headers, f->resp_size, "response body");
    }
}

/* ---- names and output --------------------------------------------------------------- */

static const struct {
    unsigned flag;
    const char *name, *text;
} flag_info[] = {
    {EXPOSE_F_CREDENTIALS_IN_CLEAR, "credentials-in-clear",
     "A password or token crossed the network unencrypted: anyone on the same Wi-Fi, router or "
     "provider could read it and log in as you."},
    {EXPOSE_F_BASIC_AUTH, "basic-auth",
     "Basic authentication puts the user name and password in every request, only base64-encoded, "
     "which anyone can decode."},
    {EXPOSE_F_SECRET_IN_QUERY, "secret-in-query",
     "A secret sits in the URL, and URLs end up in server logs, browser history and Referer "
     "headers, even over HTTPS."},
    {EXPOSE_F_COOKIE_INSECURE, "cookie-insecure",
     "A cookie was set over plain HTTP or without Secure, HttpOnly or SameSite, so it can be read "
     "on the network, by page scripts, or sent along with other sites' requests."},
    {EXPOSE_F_NO_HSTS, "no-hsts",
     "This HTTPS page sends no Strict-Transport-Security header, so a later visit may start over "
     "plain HTTP, where an attacker can take it over."},
    {EXPOSE_F_MIXED_CONTENT, "mixed-content",
     "An HTTPS page loaded this over plain HTTP, so an attacker can read or replace it, and it "
     "leaks the page's address."},
};

const char *expose_flag_name(unsigned flag)
{
    for (size_t i = 0; i < LC_ARRAY_LEN(flag_info); i++)
        if (flag_info[i].flag == flag)
            return flag_info[i].name;
    return "unknown";
}

const char *expose_flag_text(unsigned flag)
{
    for (size_t i = 0; i < LC_ARRAY_LEN(flag_info); i++)
        if (flag_info[i].flag == flag)
            return flag_info[i].text;
    return "";
}

const char *expose_kind_name(enum expose_kind kind)
{
    switch (kind) {
    case EXPOSE_URL:
        return "url";
    case EXPOSE_SNI:
        return "sni";
    case EXPOSE_BASIC_AUTH:
        return "basic-auth";
    case EXPOSE_BEARER:
        return "bearer";
    case EXPOSE_AUTH:
        return "auth";
    case EXPOSE_COOKIE:
        return "cookie";
    case EXPOSE_SET_COOKIE:
        return "set-cookie";
    case EXPOSE_FORM_SECRET:
        return "form-secret";
    case EXPOSE_QUERY_SECRET:
        return "query-secret";
    case EXPOSE_REFERER:
        return "referer";
    case EXPOSE_BODY:
        return "body";
    case EXPOSE_SIZES:
        return "sizes";
    }
    return "unknown";
}

static void json_cstr(struct buf *out, const char *s)
{
    json_str(out, s, strlen(s));
}

static void json_flags(struct buf *out, unsigned flags)
{
    bool first = true;
    buf_putc(out, '[');
    for (size_t i = 0; i < LC_ARRAY_LEN(flag_info); i++) {
        if (!(flags & flag_info[i].flag))
            continue;
        if (!first)
            buf_putc(out, ',');
        json_cstr(out, flag_info[i].name);
        first = false;
    }
    buf_putc(out, ']');
}

static void json_items(const struct expose *e, bool in_clear, struct buf *out)
{
    bool first = true;
    buf_putc(out, '[');
    for (size_t i = 0; i < e->n; i++) {
        const struct expose_item *it = &e->items[i];
        if (it->in_clear != in_clear)
            continue;
        buf_puts(out, first ? "{\"kind\":" : ",{\"kind\":");
        first = false;
        json_cstr(out, expose_kind_name(it->kind));
        buf_puts(out, ",\"where\":");
        json_cstr(out, it->where);
        buf_puts(out, ",\"name\":");
        json_cstr(out, it->name);
        buf_puts(out, ",\"value\":");
        json_cstr(out, it->value);
        if (it->note[0] != '\0') {
            buf_puts(out, ",\"note\":");
            json_cstr(out, it->note);
        }
        if (it->flags != 0) {
            buf_puts(out, ",\"flags\":");
            json_flags(out, it->flags);
        }
        buf_putc(out, '}');
    }
    buf_putc(out, ']');
}

void expose_json(const struct expose *e, struct buf *out)
{
    buf_puts(out, "{\"in_clear\":");
    json_items(e, true, out);
    buf_puts(out, ",\"seen_by_lucent\":");
    json_items(e, false, out);
    buf_puts(out, ",\"flags\":");
    json_flags(out, e->flags);
    if (e->dropped > 0)
        buf_printf(out, ",\"dropped\":%zu", e->dropped);
    buf_putc(out, '}');
}

static void text_items(const struct expose *e, bool in_clear, const char *title, struct buf *out)
{
    bool any = false;
    for (size_t i = 0; i < e->n; i++) {
        const struct expose_item *it = &e->items[i];
        if (it->in_clear != in_clear)
            continue;
        if (!any)
            buf_printf(out, "%s\n", title);
        any = true;
        if (it->kind == EXPOSE_BODY)
            buf_printf(out, "  %s: %s, %s", it->where, it->name[0] ? it->name : "no type",
                       it->value);
        else if (it->name[0] != '\0')
            buf_printf(out, "  %s: %s = %s", it->where, it->name, it->value);
        else
            buf_printf(out, "  %s: %s", it->where, it->value);
        if (it->note[0] != '\0')
            buf_printf(out, "  (%s)", it->note);
        for (size_t k = 0; k < LC_ARRAY_LEN(flag_info); k++)
            if (it->flags & flag_info[k].flag)
                buf_printf(out, " [%s]", flag_info[k].name);
        buf_putc(out, '\n');
    }
}

void expose_text(const struct expose *e, struct buf *out)
{
    if (e->tls) {
        text_items(e, true, "On the network, outside the encryption:", out);
        text_items(e, false, "Seen only by lucent, because you trusted its CA:", out);
    } else {
        text_items(e, true, "Anyone on the network path can read (plain HTTP):", out);
        text_items(e, false, "Seen only by lucent:", out);
    }
    if (e->n == 0)
        buf_puts(out, "Nothing exposed.\n");
    if (e->dropped > 0)
        buf_printf(out, "  (%zu more findings not listed)\n", e->dropped);
    if (e->flags != 0) {
        buf_puts(out, "Flags:\n");
        for (size_t k = 0; k < LC_ARRAY_LEN(flag_info); k++)
            if (e->flags & flag_info[k].flag)
                buf_printf(out, "  %s: %s\n", flag_info[k].name, flag_info[k].text);
    }
}
