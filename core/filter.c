/* SPDX-License-Identifier: MIT */
/* filter: compiles a filter expression into a tree of nodes (recursive
 * descent, grammar in filter.h) and walks that tree per flow. AND and OR
 * nodes hold all their operands in one array, so a long chain "a & b & c ..."
 * is one node and neither matching nor freeing recurses along it; only '!'
 * and '(' nest, and their depth is capped at compile time. Matching reads
 * the flow and the compiled regexes only (regexec is thread-safe), so one
 * filter may be used from several threads at once. Must not modify flows or
 * do I/O. */
#include "core/filter.h"

#include <regex.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "core/cache.h"
#include "core/codec.h"
#include "core/hdrs.h"

#define FILTER_MAX_DEPTH 100         /* nested '!' and '(' */
#define FILTER_DECODE_MAX (8u << 20) /* decoded body bytes searched by ~b */
#define FILTER_LINE_STACK 2048       /* "Name: value" lines up to this stay on the stack */
#define FILTER_RE_FLAGS (REG_EXTENDED | REG_ICASE | REG_NOSUB)

enum node_kind {
    NODE_ALL = 0,
    NODE_AND,
    NODE_OR,
    NODE_NOT,
    NODE_METHOD,
    NODE_DOMAIN,
    NODE_URL,
    NODE_CODE,
    NODE_RESPONSE,
    NODE_NO_RESPONSE,
    NODE_HEADER,
    NODE_BODY,
    NODE_CTYPE,
    NODE_ERROR,
    NODE_TLS,
    NODE_CACHE,
    NODE_REPLAY,
};

enum arg_kind { ARG_NONE = 0, ARG_REGEX, ARG_CODE, ARG_CACHE };

/* which message(s) a header, body or Content-Type test looks at */
#define SIDE_REQ 1u
#define SIDE_RESP 2u

struct node {
    enum node_kind kind;
    struct node **kids; /* owned: AND and OR have n >= 2, NOT has 1 */
    size_t n, cap;
    unsigned side; /* SIDE_* for HEADER, BODY, CTYPE */
    bool has_re;   /* re is compiled (and must be freed) */
    regex_t re;    /* the arg of a regex operator */
    int code;      /* CODE */
    char word[8];  /* CACHE: lower case */
};

struct filter {
    struct node *root; /* owned; NULL matches everything */
};

struct op {
    const char *name; /* after the '~' */
    enum node_kind kind;
    enum arg_kind arg;
    unsigned side;
};

static const struct op ops[] = {
    {"m", NODE_METHOD, ARG_REGEX, 0},
    {"d", NODE_DOMAIN, ARG_REGEX, 0},
    {"u", NODE_URL, ARG_REGEX, 0},
    {"c", NODE_CODE, ARG_CODE, 0},
    {"s", NODE_RESPONSE, ARG_NONE, 0},
    {"q", NODE_NO_RESPONSE, ARG_NONE, 0},
    {"h", NODE_HEADER, ARG_REGEX, SIDE_REQ | SIDE_RESP},
    {"hq", NODE_HEADER, ARG_REGEX, SIDE_REQ},
    {"hs", NODE_HEADER, ARG_REGEX, SIDE_RESP},
    {"b", NODE_BODY, ARG_REGEX, SIDE_REQ | SIDE_RESP},
    {"bq", NODE_BODY, ARG_REGEX, SIDE_REQ},
    {"bs", NODE_BODY, ARG_REGEX, SIDE_RESP},
    {"t", NODE_CTYPE, ARG_REGEX, SIDE_REQ | SIDE_RESP},
    {"tq", NODE_CTYPE, ARG_REGEX, SIDE_REQ},
    {"ts", NODE_CTYPE, ARG_REGEX, SIDE_RESP},
    {"e", NODE_ERROR, ARG_NONE, 0},
    {"tls", NODE_TLS, ARG_NONE, 0},
    {"cache", NODE_CACHE, ARG_CACHE, 0},
    {"replay", NODE_REPLAY, ARG_NONE, 0},
    {"all", NODE_ALL, ARG_NONE, 0},
};

static const char *const cache_words[] = {"hit", "miss", "fresh", "stale", "304"};

const char filter_help[] =
    "~m REGEX      request method\n"
    "~d REGEX      request host (domain), without the port\n"
    "~u REGEX      URL (a bare word or quoted string means ~u too)\n"
    "~c CODE       response status code, e.g. ~c 404\n"
    "~s            has a response\n"
    "~q            request without a response\n"
    "~h REGEX      request or response header line \"Name: value\"\n"
    "~hq REGEX     request header line\n"
    "~hs REGEX     response header line\n"
    "~b REGEX      request or response body (content-decoded)\n"
    "~bq REGEX     request body\n"
    "~bs REGEX     response body\n"
    "~t REGEX      request or response Content-Type\n"
    "~tq REGEX     request Content-Type\n"
    "~ts REGEX     response Content-Type\n"
    "~e            the exchange failed (has an error)\n"
    "~tls          the client side was intercepted TLS\n"
    "~cache WORD   cache verdict: hit, miss, fresh, stale or 304\n"
    "~replay       re-sent from the viewer\n"
    "~all          every flow\n"
    "!X            not X\n"
    "X & Y         X and Y; also written X Y\n"
    "X | Y         X or Y; ! binds tighter than &, & tighter than |\n"
    "( X )         grouping\n"
    "\"a b\" 'a b'   quoted argument (\\\" inside); regexes are POSIX extended, any case\n";

/* ---- nodes ---------------------------------------------------------------- */

static void node_free(struct node *n)
{
    if (n == NULL)
        return;
    for (size_t i = 0; i < n->n; i++)
        node_free(n->kids[i]);
    free(n->kids);
    if (n->has_re)
        regfree(&n->re);
    free(n);
}

static struct node *node_new(enum node_kind kind)
{
    struct node *n = calloc(1, sizeof(*n));
    if (n != NULL)
        n->kind = kind;
    return n;
}

/* Appends kid to n's operands; takes kid in every case (freed on failure). */
static int node_add(struct node *n, struct node *kid)
{
    if (n->n == n->cap) {
        size_t cap = n->cap ? n->cap * 2 : 4;
        struct node **k = realloc(n->kids, cap * sizeof(*k));
        if (k == NULL) {
            node_free(kid);
            return -1;
        }
        n->kids = k;
        n->cap = cap;
    }
    n->kids[n->n++] = kid;
    return 0;
}

/* ---- parser --------------------------------------------------------------- */

struct parser {
    const char *s;
    size_t pos;
    unsigned depth;
    bool failed;
    char *err; /* borrowed; may be NULL */
    size_t errlen;
    size_t errpos;
};

static LC_PRINTF(3, 4) void fail(struct parser *p, size_t at, const char *fmt, ...)
{
    if (p->failed)
        return; /* the first error is the one the user needs */
    p->failed = true;
    p->errpos = at;
    if (p->err == NULL || p->errlen == 0)
        return;
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    snprintf(p->err, p->errlen, "filter: %s at %zu", msg, at);
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static bool is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static char peek(struct parser *p)
{
    while (is_space(p->s[p->pos]))
        p->pos++;
    return p->s[p->pos];
}

static char *dup_n(const char *s, size_t len)
{
    char *d = malloc(len + 1);
    if (d == NULL)
        return NULL;
    memcpy(d, s, len);
    d[len] = '\0';
    return d;
}

/* Reads one argument at the next non-space byte into *out (caller frees) and
 * its offset into *at. Returns 0, 1 when there is no argument there (end,
 * or a byte that cannot start one), -1 on error (reported). */
static int read_arg(struct parser *p, char **out, size_t *at)
{
    char c = peek(p);
    const char *s = p->s + p->pos;

    *at = p->pos;
    *out = NULL;
    if (c == '"' || c == '\'') {
        struct buf b = BUF_INIT;
        size_t i = 1;
        for (;;) {
            if (s[i] == '\0') {
                buf_free(&b);
                fail(p, *at, "unterminated quote");
                return -1;
            }
            if (s[i] == c)
                break;
            if (s[i] == '\\' && s[i + 1] != '\0') {
                /* only the quote is unescaped: other escapes are the regex's */
                if (s[i + 1] != c)
                    buf_putc(&b, '\\');
                buf_putc(&b, s[i + 1]);
                i += 2;
                continue;
            }
            buf_putc(&b, s[i++]);
        }
        *out = b.p != NULL ? b.p : dup_n("", 0);
        if (*out == NULL) {
            fail(p, *at, "out of memory");
            return -1;
        }
        p->pos += i + 1;
        return 0;
    }
    if (c == '\0' || c == '~' || c == ')' || c == '&' || c == '|' || c == '!')
        return 1;

    size_t i = 0;
    unsigned open = 0; /* '(' seen inside this arg and not yet closed */
    while (s[i] != '\0' && !is_space(s[i])) {
        if (s[i] == '\\' && s[i + 1] != '\0') {
            i += 2;
            continue;
        }
        if (s[i] == '(') {
            open++;
        } else if (s[i] == ')') {
            if (open == 0)
                break;
            open--;
        }
        i++;
    }
    *out = dup_n(s, i);
    if (*out == NULL) {
        fail(p, *at, "out of memory");
        return -1;
    }
    p->pos += i;
    return 0;
}

/* Compiles regex arg (offset at) into n for operator `name`. */
/* glibc's regcomp copies a subexpression for each repetition operator
 * stacked on it ("a++++..."): memory doubles per operator. Such patterns
 * mean nothing more than one operator does, so they are refused. */
static bool stacked_repetition(const char *re)
{
    int run = 0;
    for (const char *c = re; *c; c++) {
        if (*c == '\\' && c[1]) {
            c++;
            run = 0;
            continue;
        }
        if (*c == '+' || *c == '*' || *c == '?' || *c == '}') {
            if (++run > 2)
                return true;
        } else if (*c != '{' && !(*c >= '0' && *c <= '9') && *c != ',') {
            run = 0;
        }
    }
    return false;
}

static int compile_re(struct parser *p, struct node *n, const char *name, const char *arg,
                      size_t at)
{
    if (stacked_repetition(arg) || strlen(arg) > 4096) {
        fail(p, at, "~%s: regex with stacked repetitions (like a+++) or too long", name);
        return -1;
    }
    int rc = regcomp(&n->re, arg, FILTER_RE_FLAGS);
    if (rc != 0) {
        char why[128];
        regerror(rc, &n->re, why, sizeof(why));
        fail(p, at, "~%s: bad regex: %s", name, why);
        return -1;
    }
    n->has_re = true;
    return 0;
}

static int parse_code(const char *arg)
{
    int v = 0;
    size_t i;
    for (i = 0; arg[i] != '\0'; i++) {
        if (arg[i] < '0' || arg[i] > '9' || i >= 3)
            return -1;
        v = v * 10 + (arg[i] - '0');
    }
    return i == 3 && v >= 100 ? v : -1;
}

/* Sets n->word to the cache word arg names (any case); -1 when it is none. */
static int parse_cache_word(struct node *n, const char *arg)
{
    for (size_t w = 0; w < LC_ARRAY_LEN(cache_words); w++) {
        if (strcasecmp(arg, cache_words[w]) == 0) {
            snprintf(n->word, sizeof(n->word), "%s", cache_words[w]);
            return 0;
        }
    }
    return -1;
}

/* A "~name [arg]" at p->pos (which is at the '~'). */
static struct node *parse_op(struct parser *p)
{
    size_t start = p->pos;
    size_t len = 0;
    while (is_alnum(p->s[start + 1 + len]))
        len++;
    const char *name = p->s + start + 1;
    const struct op *op = NULL;
    for (size_t i = 0; i < LC_ARRAY_LEN(ops); i++) {
        if (strlen(ops[i].name) == len && strncmp(ops[i].name, name, len) == 0) {
            op = &ops[i];
            break;
        }
    }
    if (op == NULL) {
        int shown = len > 20 ? 20 : (int)len;
        fail(p, start, "unknown operator ~%.*s%s", shown, name, len > 20 ? "..." : "");
        return NULL;
    }
    p->pos = start + 1 + len;

    struct node *n = node_new(op->kind);
    if (n == NULL) {
        fail(p, start, "out of memory");
        return NULL;
    }
    n->side = op->side;
    if (op->arg == ARG_NONE)
        return n;

    char *arg = NULL;
    size_t at = 0;
    int rc = read_arg(p, &arg, &at);
    if (rc < 0)
        goto fail;
    switch (op->arg) {
    case ARG_REGEX:
        if (rc > 0) {
            fail(p, at, "~%s needs a regex", op->name);
            goto fail;
        }
        if (compile_re(p, n, op->name, arg, at) < 0)
            goto fail;
        break;
    case ARG_CODE:
        if (rc > 0 || (n->code = parse_code(arg)) < 0) {
            fail(p, at, "~%s needs a status code", op->name);
            goto fail;
        }
        break;
    case ARG_CACHE:
        if (rc > 0 || parse_cache_word(n, arg) < 0) {
            fail(p, at, "~%s needs hit, miss, fresh, stale or 304", op->name);
            goto fail;
        }
        break;
    case ARG_NONE:
        break;
    }
    free(arg);
    return n;

fail:
    free(arg);
    node_free(n);
    return NULL;
}

static struct node *parse_or(struct parser *p);

static struct node *parse_primary(struct parser *p)
{
    char c = peek(p);
    size_t at = p->pos;

    if (c == '\0') {
        fail(p, at, "expected an expression");
        return NULL;
    }
    if (c == ')' || c == '&' || c == '|') {
        fail(p, at, "unexpected '%c'", c);
        return NULL;
    }
    if (c == '~')
        return parse_op(p);
    if (c == '(') {
        if (++p->depth > FILTER_MAX_DEPTH) {
            fail(p, at, "nested too deeply");
            return NULL;
        }
        p->pos++;
        struct node *n = parse_or(p);
        p->depth--;
        if (n == NULL)
            return NULL;
        if (peek(p) != ')') {
            fail(p, p->pos, "missing ')'");
            node_free(n);
            return NULL;
        }
        p->pos++;
        return n;
    }

    /* a bare word or quoted string: ~u */
    char *arg = NULL;
    if (read_arg(p, &arg, &at) != 0)
        return NULL; /* cannot be 1: c starts an arg */
    struct node *n = node_new(NODE_URL);
    if (n == NULL)
        fail(p, at, "out of memory");
    else if (compile_re(p, n, "u", arg, at) < 0) {
        node_free(n);
        n = NULL;
    }
    free(arg);
    return n;
}

static struct node *parse_unary(struct parser *p)
{
    if (peek(p) != '!')
        return parse_primary(p);
    size_t at = p->pos;
    if (++p->depth > FILTER_MAX_DEPTH) {
        fail(p, at, "nested too deeply");
        return NULL;
    }
    p->pos++;
    struct node *kid = parse_unary(p);
    p->depth--;
    if (kid == NULL)
        return NULL;
    struct node *n = node_new(NODE_NOT);
    if (n == NULL || node_add(n, kid) < 0) {
        if (n == NULL)
            node_free(kid);
        node_free(n);
        fail(p, at, "out of memory");
        return NULL;
    }
    return n;
}

/* Joins first with the following operands of one binary operator into one
 * n-ary node. and: operands separated by '&' or by nothing; or: by '|'. */
static struct node *parse_chain(struct parser *p, bool is_and)
{
    struct node *first = is_and ? parse_unary(p) : parse_chain(p, true);
    struct node *n = NULL;

    if (first == NULL)
        return NULL;
    for (;;) {
        char c = peek(p);
        size_t at = p->pos;
        if (is_and) {
            if (c == '\0' || c == ')' || c == '|')
                break;
            if (c == '&')
                p->pos++;
        } else {
            if (c != '|')
                break;
            p->pos++;
        }
        struct node *kid = is_and ? parse_unary(p) : parse_chain(p, true);
        if (kid == NULL)
            goto fail;
        if (n == NULL) {
            n = node_new(is_and ? NODE_AND : NODE_OR);
            if (n == NULL || node_add(n, first) < 0) {
                if (n == NULL)
                    node_free(first);
                first = NULL;
                node_free(kid);
                fail(p, at, "out of memory");
                goto fail;
            }
            first = NULL;
        }
        if (node_add(n, kid) < 0) {
            fail(p, at, "out of memory");
            goto fail;
        }
    }
    return n != NULL ? n : first;

fail:
    node_free(first);
    node_free(n);
    return NULL;
}

static struct node *parse_or(struct parser *p)
{
    return parse_chain(p, false);
}

struct filter *filter_compile(const char *expr, char *err, size_t errlen, size_t *errpos)
{
    struct parser p = {.s = expr, .err = err, .errlen = errlen};
    struct filter *f = calloc(1, sizeof(*f));

    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (f == NULL) {
        fail(&p, 0, "out of memory");
        goto fail;
    }
    if (peek(&p) == '\0')
        return f; /* empty: matches everything */
    f->root = parse_or(&p);
    if (f->root == NULL)
        goto fail;
    if (peek(&p) != '\0') {
        /* parse_or stops only at the end or at a ')' that closes nothing */
        fail(&p, p.pos, "unexpected '%c'", p.s[p.pos]);
        goto fail;
    }
    return f;

fail:
    if (errpos != NULL)
        *errpos = p.errpos;
    filter_free(f);
    return NULL;
}

void filter_free(struct filter *f)
{
    if (f == NULL)
        return;
    node_free(f->root);
    free(f);
}

/* ---- matching ------------------------------------------------------------- */

/* Searches p[0..len) (NUL bytes included where the C library allows). */
static bool re_search(const regex_t *re, const char *p, size_t len)
{
    if (p == NULL)
        p = "";
#ifdef REG_STARTEND
    regmatch_t m[1];
    m[0].rm_so = 0;
    m[0].rm_eo = (regoff_t)len;
    return regexec(re, p, 1, m, REG_STARTEND) == 0;
#else
    /* regexec stops at NUL: search a copy with NULs as '.' */
    char stack[FILTER_LINE_STACK];
    char *copy = len < sizeof(stack) ? stack : malloc(len + 1);
    if (copy == NULL)
        return false;
    for (size_t i = 0; i < len; i++)
        copy[i] = p[i] != '\0' ? p[i] : '.';
    copy[len] = '\0';
    bool hit = regexec(re, copy, 0, NULL, 0) == 0;
    if (copy != stack)
        free(copy);
    return hit;
#endif
}

/* Searches the concatenation a + b + c, copied with a NUL after it: header
 * bytes are not NUL-terminated, and sanitizers' regexec interceptors read
 * the subject up to a NUL even with REG_STARTEND. The copy stays on the
 * stack unless it is long. */
static bool re_search_joined(const regex_t *re, const char *a, size_t alen, const char *b,
                             size_t blen, const char *c, size_t clen)
{
    char stack[FILTER_LINE_STACK];
    size_t len = alen + blen + clen;
    char *line = len < sizeof(stack) ? stack : malloc(len + 1);

    if (line == NULL)
        return false;
    memcpy(line, a, alen);
    memcpy(line + alen, b, blen);
    memcpy(line + alen + blen, c, clen);
    line[len] = '\0';
    bool hit = re_search(re, line, len);
    if (line != stack)
        free(line);
    return hit;
}

/* Does any "Name: value" line of h match? */
static bool match_headers(const regex_t *re, const struct hdrs *h)
{
    for (size_t i = 0; i < h->n; i++) {
        size_t nlen, vlen;
        const char *name = hdrs_name(h, i, &nlen);
        const char *value = hdrs_value(h, i, &vlen);
        if (re_search_joined(re, name, nlen, ": ", 2, value, vlen))
            return true;
    }
    return false;
}

static bool match_ctype(const regex_t *re, const struct hdrs *h)
{
    size_t len;
    const char *v = hdrs_get(h, "Content-Type", &len);
    return v != NULL && re_search_joined(re, v, len, "", 0, "", 0);
}

/* Searches a body, content-decoded when it has a Content-Encoding that
 * decodes; otherwise (or when decoding fails) the bytes as sent. An empty
 * body matches nothing. */
static bool match_body(const regex_t *re, const struct hdrs *h, const struct buf *body)
{
    size_t elen;
    const char *enc;

    if (body->len == 0)
        return false;
    enc = hdrs_get(h, "Content-Encoding", &elen);
    if (enc != NULL) {
        struct buf out = BUF_INIT;
        char why[128];
        if (codec_decode(enc, elen, body->p, body->len, FILTER_DECODE_MAX, &out, why,
                         sizeof(why)) == CODEC_OK) {
            bool hit = out.len > 0 && re_search(re, out.p, out.len);
            buf_free(&out);
            return hit;
        }
        buf_free(&out);
    }
    return re_search(re, body->p, body->len);
}

/* The host of the request: from an absolute URL ("http://u@host:80/p"), an
 * authority ("host:443", CONNECT), or the Host field when the URL is in
 * origin form ("/p"). Brackets and port removed; *len 0 when there is none. */
static const char *request_host(const struct flow *fl, size_t *len)
{
    const char *a = fl->url;
    size_t alen;

    *len = 0;
    if (a == NULL || a[0] == '/' || a[0] == '*' || a[0] == '\0') {
        a = hdrs_get(&fl->req_headers, "Host", &alen);
        if (a == NULL)
            return NULL;
    } else {
        const char *sep = strstr(a, "://");
        if (sep != NULL && sep + 1 == a + strcspn(a, "/"))
            a = sep + 3;
        alen = strcspn(a, "/?#");
    }
    for (size_t i = alen; i > 0; i--) {
        if (a[i - 1] == '@') { /* userinfo */
            alen -= i;
            a += i;
            break;
        }
    }
    if (alen > 0 && a[0] == '[') {
        const char *end = memchr(a, ']', alen);
        if (end == NULL)
            return NULL;
        *len = (size_t)(end - a - 1);
        return a + 1;
    }
    const char *colon = memchr(a, ':', alen);
    *len = colon != NULL ? (size_t)(colon - a) : alen;
    return a;
}

/* Does the flow's cache tag contain word (any case)? */
static bool cache_has(const struct flow *fl, const char *word)
{
    char tag[24];
    size_t wlen = strlen(word);
    cache_flow_tag(fl, tag, sizeof(tag)); /* made here when the worker left it */
    size_t clen = strlen(tag);
    for (size_t i = 0; i + wlen <= clen; i++)
        if (strncasecmp(tag + i, word, wlen) == 0)
            return true;
    return false;
}

static bool node_match(const struct node *n, const struct flow *fl)
{
    switch (n->kind) {
    case NODE_ALL:
        return true;
    case NODE_AND:
        for (size_t i = 0; i < n->n; i++)
            if (!node_match(n->kids[i], fl))
                return false;
        return true;
    case NODE_OR:
        for (size_t i = 0; i < n->n; i++)
            if (node_match(n->kids[i], fl))
                return true;
        return false;
    case NODE_NOT:
        return !node_match(n->kids[0], fl);
    case NODE_METHOD:
        return re_search(&n->re, fl->method, strnlen(fl->method, sizeof(fl->method)));
    case NODE_DOMAIN: {
        size_t len;
        const char *host = request_host(fl, &len);
        return host != NULL && len > 0 && re_search_joined(&n->re, host, len, "", 0, "", 0);
    }
    case NODE_URL:
        return fl->url != NULL && re_search(&n->re, fl->url, strlen(fl->url));
    case NODE_CODE:
        return fl->status == n->code;
    case NODE_RESPONSE:
        return fl->status != 0;
    case NODE_NO_RESPONSE:
        return fl->status == 0;
    case NODE_HEADER:
        return ((n->side & SIDE_REQ) && match_headers(&n->re, &fl->req_headers)) ||
               ((n->side & SIDE_RESP) && match_headers(&n->re, &fl->resp_headers));
    case NODE_BODY:
        return ((n->side & SIDE_REQ) && match_body(&n->re, &fl->req_headers, &fl->req_body)) ||
               ((n->side & SIDE_RESP) && match_body(&n->re, &fl->resp_headers, &fl->resp_body));
    case NODE_CTYPE:
        return ((n->side & SIDE_REQ) && match_ctype(&n->re, &fl->req_headers)) ||
               ((n->side & SIDE_RESP) && match_ctype(&n->re, &fl->resp_headers));
    case NODE_ERROR:
        return fl->error != NULL;
    case NODE_TLS:
        return fl->tls;
    case NODE_CACHE:
        return cache_has(fl, n->word) || (strcmp(n->word, "304") == 0 && fl->status == 304);
    case NODE_REPLAY:
        return fl->replay;
    }
    return false;
}

bool filter_match(const struct filter *f, const struct flow *fl)
{
    return f->root == NULL || node_match(f->root, fl);
}
