/* SPDX-License-Identifier: MIT */
/* pause: the list of held flows behind one mutex, and the editable text of
 * a message (head plus decoded body) with its parser. */
#include "core/pause.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "core/codec.h"
#include "core/filter.h"
#include "core/log.h"

#define PAUSE_MAX_WORKERS 64
#define PAUSE_DECODE_MAX (16u * 1024 * 1024)

struct item {
    uint64_t id;
    unsigned worker;
    enum pause_phase phase;
    struct flow *flow; /* owned reference */
    char *text;        /* owned */
    enum pause_decision decision;
    char *edit; /* owned, or NULL */
};

struct pauses {
    pthread_mutex_t mu;
    struct filter *filter; /* owned */
    bool responses;
    atomic_bool active;
    int wake[PAUSE_MAX_WORKERS];
    struct item *v; /* owned */
    size_t n, cap;
};

struct pauses *pauses_new(void)
{
    struct pauses *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return NULL;
    pthread_mutex_init(&p->mu, NULL);
    for (int i = 0; i < PAUSE_MAX_WORKERS; i++)
        p->wake[i] = -1;
    return p;
}

static void item_free(struct item *it)
{
    flow_unref(it->flow);
    free(it->text);
    free(it->edit);
}

void pauses_free(struct pauses *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->n; i++)
        item_free(&p->v[i]);
    free(p->v);
    filter_free(p->filter);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

void pauses_set_wake(struct pauses *p, unsigned index, int fd)
{
    if (index < PAUSE_MAX_WORKERS)
        p->wake[index] = fd;
}

void pauses_set_filter(struct pauses *p, struct filter *f, bool responses)
{
    pthread_mutex_lock(&p->mu);
    filter_free(p->filter);
    p->filter = f;
    p->responses = responses;
    atomic_store(&p->active, f != NULL);
    pthread_mutex_unlock(&p->mu);
}

bool pauses_active(const struct pauses *p)
{
    return p != NULL && atomic_load(&p->active);
}

bool pauses_match(struct pauses *p, const struct flow *f, enum pause_phase phase)
{
    bool hit = false;
    if (!pauses_active(p))
        return false;
    pthread_mutex_lock(&p->mu);
    if (p->filter && (phase == PAUSE_REQUEST || p->responses))
        hit = filter_match(p->filter, f);
    pthread_mutex_unlock(&p->mu);
    return hit;
}

void pauses_add(struct pauses *p, unsigned worker, struct flow *f, enum pause_phase phase,
                const char *text, size_t len)
{
    pthread_mutex_lock(&p->mu);
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 16;
        struct item *v = realloc(p->v, cap * sizeof(*v));
        if (v == NULL) {
            pthread_mutex_unlock(&p->mu);
            return;
        }
        p->v = v;
        p->cap = cap;
    }
    struct item *it = &p->v[p->n++];
    memset(it, 0, sizeof(*it));
    it->id = f->id;
    it->worker = worker;
    it->phase = phase;
    it->flow = flow_ref(f);
    it->text = malloc(len + 1);
    if (it->text) {
        memcpy(it->text, text, len);
        it->text[len] = '\0';
    }
    pthread_mutex_unlock(&p->mu);
}

static void remove_at(struct pauses *p, size_t i)
{
    item_free(&p->v[i]);
    memmove(p->v + i, p->v + i + 1, (p->n - i - 1) * sizeof(*p->v));
    p->n--;
}

void pauses_remove(struct pauses *p, uint64_t flow_id)
{
    pthread_mutex_lock(&p->mu);
    for (size_t i = 0; i < p->n; i++) {
        if (p->v[i].id == flow_id) {
            remove_at(p, i);
            break;
        }
    }
    pthread_mutex_unlock(&p->mu);
}

size_t pauses_list(struct pauses *p, struct pause_view **out)
{
    size_t n = 0;
    *out = NULL;
    pthread_mutex_lock(&p->mu);
    if (p->n > 0 && (*out = calloc(p->n, sizeof(**out))) != NULL) {
        for (size_t i = 0; i < p->n; i++) {
            if (p->v[i].decision != PAUSE_WAIT)
                continue; /* decided, on its way back */
            struct pause_view *pv = &(*out)[n++];
            pv->flow_id = p->v[i].id;
            pv->phase = p->v[i].phase;
            pv->flow = flow_ref(p->v[i].flow);
            pv->text = strdup(p->v[i].text ? p->v[i].text : "");
        }
    }
    pthread_mutex_unlock(&p->mu);
    return n;
}

void pauses_views_free(struct pause_view *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        flow_unref(v[i].flow);
        free(v[i].text);
    }
    free(v);
}

bool pauses_decide(struct pauses *p, uint64_t flow_id, enum pause_decision d, const char *edit)
{
    int fd = -1;
    pthread_mutex_lock(&p->mu);
    for (size_t i = 0; i < p->n; i++) {
        struct item *it = &p->v[i];
        if (it->id != flow_id || it->decision != PAUSE_WAIT)
            continue;
        it->decision = d;
        it->edit = edit ? strdup(edit) : NULL;
        fd = it->worker < PAUSE_MAX_WORKERS ? p->wake[it->worker] : -1;
        break;
    }
    pthread_mutex_unlock(&p->mu);
    if (fd >= 0) {
        ssize_t rc = write(fd, "p", 1); /* a full pipe already means "look" */
        (void)rc;
    }
    return fd >= 0;
}

void pauses_take(struct pauses *p, unsigned worker,
                 void (*fn)(void *arg, uint64_t flow_id, enum pause_decision d, const char *edit),
                 void *arg)
{
    for (;;) {
        struct item it;
        bool found = false;
        pthread_mutex_lock(&p->mu);
        for (size_t i = 0; i < p->n; i++) {
            if (p->v[i].worker == worker && p->v[i].decision != PAUSE_WAIT) {
                it = p->v[i];
                memmove(p->v + i, p->v + i + 1, (p->n - i - 1) * sizeof(*p->v));
                p->n--;
                found = true;
                break;
            }
        }
        pthread_mutex_unlock(&p->mu);
        if (!found)
            return;
        fn(arg, it.id, it.decision, it.edit); /* outside the lock: it may pause again */
        item_free(&it);
    }
}

/* ---- editable text ---------------------------------------------------------- */

/* Headers without the framing lucent sets itself; Content-Encoding left out
 * when the body is shown decoded. */
static void text_headers(const struct hdrs *h, bool decoded, struct buf *out)
{
    for (size_t i = 0; i < h->n; i++) {
        if (hdrs_name_is(h, i, "Content-Length") || hdrs_name_is(h, i, "Transfer-Encoding") ||
            (decoded && hdrs_name_is(h, i, "Content-Encoding")))
            continue;
        size_t nl, vl;
        const char *n = hdrs_name(h, i, &nl);
        const char *v = hdrs_value(h, i, &vl);
        buf_append(out, n, nl);
        buf_append(out, ": ", 2);
        buf_append(out, v, vl);
        buf_putc(out, '\n');
    }
}

static void text_message(const struct hdrs *h, const struct hook_body *b, struct buf *out)
{
    struct buf dec = BUF_INIT;
    size_t elen = 0;
    const char *enc = hdrs_get(h, "Content-Encoding", &elen);
    char err[200];
    bool decoded = b->present && enc != NULL && elen > 0 && !b->replaced &&
                   codec_decode(enc, elen, b->raw.p ? b->raw.p : "", b->raw.len, PAUSE_DECODE_MAX,
                                &dec, err, sizeof(err)) == CODEC_OK;
    text_headers(h, decoded, out);
    buf_putc(out, '\n');
    if (decoded)
        buf_append(out, dec.p, dec.len);
    else if (b->present)
        buf_append(out, b->raw.p ? b->raw.p : "", b->raw.len);
    buf_free(&dec);
}

void pause_text_request(const struct hook_ctx *hc, struct buf *out)
{
    const struct flow *f = hc->flow;
    buf_printf(out, "%s %s HTTP/%d.%d\n", f->method, f->url ? f->url : "/", f->req_major,
               f->req_minor);
    text_message(&f->req_headers, &hc->req, out);
}

void pause_text_response(const struct hook_ctx *hc, struct buf *out)
{
    const struct flow *f = hc->flow;
    buf_printf(out, "HTTP/%d.%d %d %s\n", f->resp_major, f->resp_minor, f->status,
               f->reason ? f->reason : "");
    text_message(&f->resp_headers, &hc->resp, out);
}

static bool tchar(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           (ch != 0 && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

struct parsed {
    char first[3][2048]; /* the first line's three parts */
    struct hdrs h;
    const char *body;
    size_t body_len;
    bool has_body;
};

/* Splits text into a first line, header fields and a body. */
static int parse_text(const char *text, struct parsed *p, char *err, size_t errlen)
{
    const char *s = text, *nl = strchr(s, '\n');
    size_t len = nl ? (size_t)(nl - s) : strlen(s);
    if (len > 0 && s[len - 1] == '\r')
        len--;
    memset(p->first, 0, sizeof(p->first));
    size_t part = 0, k = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == ' ' && part < 2) {
            if (k > 0)
                part++, k = 0;
            continue;
        }
        if (k + 1 < sizeof(p->first[0]))
            p->first[part][k++] = s[i];
    }
    if (p->first[0][0] == '\0' || p->first[1][0] == '\0') {
        snprintf(err, errlen, "the first line needs two parts at least");
        return -1;
    }
    hdrs_init(&p->h);
    p->has_body = false;
    p->body = "";
    p->body_len = 0;
    s = nl ? nl + 1 : s + len;
    for (unsigned line = 2; *s; line++) {
        nl = strchr(s, '\n');
        len = nl ? (size_t)(nl - s) : strlen(s);
        size_t l = len > 0 && s[len - 1] == '\r' ? len - 1 : len;
        if (l == 0) { /* the blank line: the rest is the body */
            p->has_body = true;
            p->body = nl ? nl + 1 : s + len;
            p->body_len = strlen(p->body);
            break;
        }
        const char *colon = memchr(s, ':', l);
        if (colon == NULL || colon == s) {
            snprintf(err, errlen, "line %u is not a header field (Name: value)", line);
            hdrs_free(&p->h);
            return -1;
        }
        for (const char *c = s; c < colon; c++) {
            if (!tchar((unsigned char)*c)) {
                snprintf(err, errlen, "line %u: the header name has a character not allowed",
                         line);
                hdrs_free(&p->h);
                return -1;
            }
        }
        const char *v = colon + 1;
        while (v < s + l && (*v == ' ' || *v == '\t'))
            v++;
        hdrs_add(&p->h, s, (size_t)(colon - s), v, (size_t)(s + l - v));
        if (!nl)
            break;
        s = nl + 1;
    }
    return 0;
}

static void set_body(struct hook_body *b, struct hdrs *h, const struct parsed *p, bool with_len)
{
    if (!b->present || !p->has_body)
        return; /* a streamed body is not lucent's to change */
    buf_reset(&b->raw);
    buf_append(&b->raw, p->body, p->body_len);
    b->replaced = true;
    if (with_len || p->body_len > 0) {
        char cl[24];
        int n = snprintf(cl, sizeof(cl), "%zu", p->body_len);
        hdrs_set(h, "Content-Length", cl, (size_t)n);
    }
}

int pause_apply_request(struct hook_ctx *hc, const char *text, char *err, size_t errlen)
{
    struct parsed p;
    struct flow *f = hc->flow;
    struct url nu;
    if (parse_text(text, &p, err, errlen) < 0)
        return -1;
    size_t mlen = strlen(p.first[0]);
    for (size_t i = 0; i < mlen; i++)
        if (!tchar((unsigned char)p.first[0][i]) || mlen >= sizeof(f->method)) {
            snprintf(err, errlen, "'%s' is not a method", p.first[0]);
            goto fail;
        }
    const char *u = p.first[1];
    if (u[0] == '/') { /* just a path: same server */
        nu = *hc->target;
        nu.path = u;
        nu.path_len = strlen(u);
    } else if (url_parse_absolute(u, strlen(u), &nu, err, errlen) < 0) {
        goto fail;
    }
    if ((f->connect) != (strcmp(p.first[0], "CONNECT") == 0)) {
        snprintf(err, errlen, "a request cannot become or stop being a CONNECT");
        goto fail;
    }
    memcpy(f->method, p.first[0], mlen + 1);
    buf_reset(hc->path_store);
    buf_append(hc->path_store, nu.path_len ? nu.path : "/", nu.path_len ? nu.path_len : 1);
    nu.path = hc->path_store->p;
    nu.path_len = hc->path_store->len;
    *hc->target = nu;
    hook_set_flow_url(hc);
    struct hdrs old = f->req_headers;
    f->req_headers = p.h;
    hdrs_free(&old);
    hc->host_set = false; /* Host follows the URL */
    bool has_len = strcmp(f->method, "POST") == 0 || strcmp(f->method, "PUT") == 0 ||
                   strcmp(f->method, "PATCH") == 0;
    set_body(&hc->req, &f->req_headers, &p, has_len);
    return 0;
fail:
    hdrs_free(&p.h);
    return -1;
}

int pause_apply_response(struct hook_ctx *hc, const char *text, char *err, size_t errlen)
{
    struct parsed p;
    struct flow *f = hc->flow;
    char *end;
    if (parse_text(text, &p, err, errlen) < 0)
        return -1;
    long status = strtol(p.first[1], &end, 10);
    if (strncmp(p.first[0], "HTTP/1.", 7) != 0 || *end != '\0' || status < 200 || status > 999) {
        snprintf(err, errlen, "the first line must be like \"HTTP/1.1 200 OK\"");
        hdrs_free(&p.h);
        return -1;
    }
    f->status = (int)status;
    flow_set_reason(f, p.first[2][0] ? p.first[2] : hook_reason(f->status),
                    strlen(p.first[2][0] ? p.first[2] : hook_reason(f->status)));
    struct hdrs old = f->resp_headers;
    f->resp_headers = p.h;
    hdrs_free(&old);
    set_body(&hc->resp, &f->resp_headers, &p, true);
    return 0;
}
