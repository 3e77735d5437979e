/* SPDX-License-Identifier: MIT */
/* view: ncurses screens over the model: the flow list, a flow's details
 * (Request, Response, Details, Wire), help, and a one-line prompt for
 * filters, searches and file names.
 *
 * Every byte that came off the network is drawn through put_text(), which
 * shows control characters and invalid UTF-8 escaped, so no flow can move
 * the cursor or change the terminal. The loop ticks every 50 ms: take what
 * the bus has (bounded), read keys, redraw if anything changed.
 *
 * Must not: block on the network or the disk for long (replay runs on its
 * own thread), or hold flow references beyond the model and the detail view. */
#define _XOPEN_SOURCE_EXTENDED 1
#include "ui-term/view.h"

#include <errno.h>
#include <inttypes.h>
#include <locale.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <ncursesw/curses.h>

#include "core/buf.h"
#include "core/cache.h"
#include "core/explain.h"
#include "core/expose.h"
#include "core/filter.h"
#include "core/flowlog.h"
#include "core/har.h"
#include "core/json.h"
#include "core/log.h"
#include "core/pause.h"
#include "ui-term/model.h"
#include "ui-term/render.h"

enum vscreen { SCR_LIST = 0, SCR_DETAIL, SCR_HELP };
enum tab {
    TAB_REQUEST = 0,
    TAB_RESPONSE,
    TAB_DETAILS,
    TAB_WIRE,
    TAB_EAVESDROP,
    TAB_EXPLAIN,
    TAB_COUNT
};
enum prompt {
    PR_NONE = 0,
    PR_FILTER,
    PR_SEARCH,
    PR_SAVE,
    PR_EXPORT,
    PR_EXPORT_FILE,
    PR_QUIT,
    PR_INTERCEPT,
};
enum colour { C_1XX = 1, C_2XX, C_3XX, C_4XX, C_5XX, C_ERR, C_NAME, C_DIM, C_BAR, C_SEL };

static const char *const tab_names[TAB_COUNT] = {"Request", "Response", "Details",
                                                 "Wire",    "Eavesdropper", "Explain"};

struct view {
    const struct view_args *a;
    struct model m;
    enum vscreen scr;
    enum tab tab;
    enum render_mode mode;
    enum explain_lang lang;
    uint64_t flag_id[64]; /* teaching flags of recently drawn flows, by id % 64 */
    unsigned flag_val[64];
    struct flow *dflow; /* owned reference: the flow in the detail screen */
    struct buf text;    /* the detail screen's text */
    size_t *line_off;   /* owned: start of each line in text */
    size_t nlines, lines_cap;
    long dtop;
    enum prompt pr;
    char input[512];
    size_t ilen;
    char export_kind;
    char search[256];
    int cursor_x; /* the prompt's cursor column */
    char status[300];
    int64_t status_until;
    /* intercept */
    struct pause_view *held; /* owned: the flows the workers hold, oldest first */
    size_t nheld;
    char icpt[512]; /* the intercept filter, "" = off */
    bool icpt_resp; /* hold responses too */
    uint64_t edit_id; /* the held flow edit_text belongs to, 0 = none */
    char *edit_text;  /* owned */
    bool dirty;
    bool quit;
};

/* ---- log lines while the viewer owns the terminal ------------------------ */

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char log_last[300];
static uint64_t log_seq;

static void on_log(enum log_level lvl, const char *line)
{
    pthread_mutex_lock(&log_lock);
    snprintf(log_last, sizeof(log_last), "%s", line);
    log_seq++;
    pthread_mutex_unlock(&log_lock);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void say(struct view *v, const char *fmt, ...) LC_PRINTF(2, 3);
static void say(struct view *v, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->status, sizeof(v->status), fmt, ap);
    va_end(ap);
    v->status_until = now_ms() + 6000;
    v->dirty = true;
}

/* ---- drawing text safely -------------------------------------------------- */

/* Draws s[0..len) at the cursor in at most w columns; returns columns used.
 * Control characters and invalid UTF-8 come out as \xNN (dim). */
static int put_text(const char *s, size_t len, int w, attr_t attr)
{
    int used = 0;
    for (size_t i = 0; i < len && used < w;) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f) {
            addch(c | attr);
            used++;
            i++;
            continue;
        }
        size_t n = c >= 0x80 ? json_utf8_seq((const unsigned char *)s + i, len - i) : 0;
        if (n > 0) {
            wchar_t wc;
            mbstate_t st;
            memset(&st, 0, sizeof(st));
            int cw = mbrtowc(&wc, s + i, n, &st) == n ? wcwidth(wc) : -1;
            if (cw >= 0 && used + cw <= w) {
                cchar_t cc;
                wchar_t ws[2] = {wc, 0};
                setcchar(&cc, ws, attr, 0, NULL);
                add_wch(&cc);
                used += cw;
                i += n;
                continue;
            }
            if (cw >= 0)
                break; /* no room for a wide character */
        }
        char esc[8];
        int el = c == '\t' ? snprintf(esc, sizeof(esc), "    ")
                           : snprintf(esc, sizeof(esc), "\\x%02x", c);
        if (used + el > w)
            break;
        attron(c == '\t' ? 0 : A_DIM);
        addnstr(esc, el);
        attroff(A_DIM);
        used += el;
        i++;
    }
    return used;
}

static void put_str(const char *s, int w, attr_t attr)
{
    put_text(s, strlen(s), w, attr);
}

static int status_colour(const struct flow *f)
{
    if (f->error && f->status == 0)
        return C_ERR;
    if (f->status >= 500)
        return C_5XX;
    if (f->status >= 400)
        return C_4XX;
    if (f->status >= 300)
        return C_3XX;
    if (f->status >= 200)
        return C_2XX;
    return C_1XX;
}

/* ---- the list -------------------------------------------------------------- */

static void split_url(const struct flow *f, const char **host, size_t *hlen, const char **path)
{
    const char *u = f->url ? f->url : "";
    const char *s = strstr(u, "://");
    if (f->connect || s == NULL) {
        *host = u;
        *hlen = strlen(u);
        *path = "";
        return;
    }
    *host = s + 3;
    const char *slash = strchr(*host, '/');
    *hlen = slash ? (size_t)(slash - *host) : strlen(*host);
    *path = slash ? slash : "/";
}

/* The teaching flags of a flow (expose.c), remembered for the rows drawn. */
static unsigned teaching_flags(struct view *v, const struct flow *f)
{
    size_t k = f->id % LC_ARRAY_LEN(v->flag_id);
    if (f->id != 0 && v->flag_id[k] == f->id)
        return v->flag_val[k];
    struct expose ex;
    expose_analyze(f, &ex);
    v->flag_id[k] = f->id;
    v->flag_val[k] = ex.flags;
    return ex.flags;
}

static void draw_row(struct view *v, int y, size_t i, const struct flow *f, bool sel)
{
    int w = COLS;
    char buf[64];
    struct buf sz = BUF_INIT;
    const char *host, *path;
    size_t hlen, tlen = 0;
    const char *type = hdrs_get(&f->resp_headers, "Content-Type", &tlen);
    attr_t base = sel ? A_REVERSE : 0;

    move(y, 0);
    attrset(base);
    for (int x = 0; x < w; x++)
        addch(' ');
    move(y, 0);
    time_t t = (time_t)(f->wall_start / 1000000);
    struct tm tm;
    localtime_r(&t, &tm);
    snprintf(buf, sizeof(buf), "%5zu %02d:%02d:%02d ", i + 1, tm.tm_hour, tm.tm_min, tm.tm_sec);
    put_str(buf, w, base);
    snprintf(buf, sizeof(buf), "%-7.7s ", f->method);
    put_str(buf, w, base | A_BOLD);
    if (f->status)
        snprintf(buf, sizeof(buf), "%3d ", f->status);
    else
        snprintf(buf, sizeof(buf), "%s ", f->error ? "ERR" : "...");
    put_str(buf, w, base | COLOR_PAIR(status_colour(f)) | A_BOLD);
    put_str(f->tls ? "\xf0\x9f\x94\x92" : "  ", 2, base); /* a lock for intercepted TLS */
    addch(' ' | base);
    if (f->replay)
        put_str("\xe2\x86\xbb", 1, base); /* ↻ */
    else if (teaching_flags(v, f) != 0)
        put_str("!", 1, base | A_BOLD | COLOR_PAIR(C_4XX)); /* a teaching flag: see tab 5 */
    else
        addch(' ' | base);
    int used = 5 + 10 + 8 + 4 + 4;
    int right = 12 + 9 + 8 + 7; /* type, size, duration, cache */
    int room = w - used - right;
    if (room < 10)
        room = w - used, right = 0;
    split_url(f, &host, &hlen, &path);
    int hw = room / 3 < (int)hlen ? room / 3 : (int)hlen;
    put_text(host, hlen, hw, base);
    int pw = room - hw - 1;
    addch(' ' | base);
    put_text(path, strlen(path), pw, base | A_DIM * 0);
    if (right > 0) {
        move(y, w - right);
        if (type) { /* "json", "html", "octet-stream": the part that tells */
            const char *semi = memchr(type, ';', tlen);
            size_t n = semi ? (size_t)(semi - type) : tlen;
            if (n > 12 && strncasecmp(type, "application/", 12) == 0)
                type += 12, n -= 12;
            put_text(type, n, 11, base | A_DIM);
        }
        move(y, w - right + 12);
        if (f->status) {
            flowlog_size(f->resp_size, &sz);
            snprintf(buf, sizeof(buf), "%8.*s ", (int)sz.len, sz.p);
            put_str(buf, 9, base);
        }
        move(y, w - right + 21);
        if (f->t_end > f->t_start) {
            double ms = (double)(f->t_end - f->t_start) / 1000.0;
            if (ms < 1000)
                snprintf(buf, sizeof(buf), "%5.0fms ", ms);
            else
                snprintf(buf, sizeof(buf), "%5.1fs  ", ms / 1000);
            put_str(buf, 8, base);
        }
        move(y, w - right + 29);
        char tag[24];
        cache_flow_tag(f, tag, sizeof(tag));
        put_str(tag, 7, base | A_DIM);
    }
    if (f->error && !sel) {
        /* errors stand out: the whole row in the error colour's host part */
        mvchgat(y, used, hw, A_BOLD, C_ERR, NULL);
    }
    attrset(0);
    buf_free(&sz);
}

static void draw_status(struct view *v)
{
    char left[200], right[160];
    move(LINES - 1, 0);
    attrset(COLOR_PAIR(C_BAR));
    for (int x = 0; x < COLS; x++)
        addch(' ');
    move(LINES - 1, 0);
    if (v->pr != PR_NONE) {
        const char *label = v->pr == PR_FILTER        ? "filter: "
                            : v->pr == PR_SEARCH      ? "search: "
                            : v->pr == PR_SAVE        ? "save shown flows as HAR to: "
                            : v->pr == PR_EXPORT      ? "export as c)url  r)aw  h)AR ? "
                            : v->pr == PR_EXPORT_FILE ? "export to file: "
                            : v->pr == PR_INTERCEPT   ? "intercept (filter; empty = off): "
                                                      : "quit lucent? (y/n) ";
        int x = put_text(label, strlen(label), COLS, COLOR_PAIR(C_BAR) | A_BOLD);
        x += put_text(v->input, v->ilen, COLS - x - 1, COLOR_PAIR(C_BAR));
        v->cursor_x = x < COLS ? x : COLS - 1; /* where typing goes on */
        if (now_ms() < v->status_until && LINES > 2) { /* e.g. why the filter is wrong */
            move(LINES - 2, 0);
            clrtoeol();
            put_str(v->status, COLS, A_BOLD | COLOR_PAIR(C_ERR));
        }
        curs_set(1);
        attrset(0);
        return;
    }
    curs_set(0);
    snprintf(left, sizeof(left), " [%zu/%zu]%s%s%s", v->m.nshown, model_count(&v->m),
             v->m.filter_text ? " filter: " : "", v->m.filter_text ? v->m.filter_text : "",
             v->m.follow ? " [follow]" : "");
    put_str(left, COLS, COLOR_PAIR(C_BAR) | A_BOLD);
    int lw = (int)strlen(left);
    const char *msg = NULL;
    char logline[300];
    if (now_ms() < v->status_until) {
        msg = v->status;
    } else {
        pthread_mutex_lock(&log_lock);
        snprintf(logline, sizeof(logline), "%s", log_last);
        pthread_mutex_unlock(&log_lock);
        msg = logline;
    }
    if (v->nheld > 0) {
        char held[120];
        snprintf(held, sizeof(held), "  \xe2\x8f\xb8 %zu held: E edit, a resume, A all, x kill", v->nheld);
        put_str(held, COLS - lw - 2, COLOR_PAIR(C_BAR) | A_BOLD);
        lw += (int)strlen(held);
    } else if (v->icpt[0]) {
        char on[80];
        snprintf(on, sizeof(on), "  intercept%s on", v->icpt_resp ? " (+responses)" : "");
        put_str(on, COLS - lw - 2, COLOR_PAIR(C_BAR));
        lw += (int)strlen(on);
    }
    if (v->m.dropped || v->m.lost)
        snprintf(right, sizeof(right), " dropped %" PRIu64 " lost %" PRIu64 " | ? help ",
                 v->m.dropped, v->m.lost);
    else
        snprintf(right, sizeof(right), " ? help ");
    int rw = (int)strlen(right);
    if (msg[0] && COLS - lw - rw > 4) {
        addstr("  ");
        put_str(msg, COLS - lw - rw - 3, COLOR_PAIR(C_BAR));
    }
    if (COLS > rw)
        move(LINES - 1, COLS - rw);
    put_str(right, rw, COLOR_PAIR(C_BAR));
    attrset(0);
}

static void draw_held(struct view *v, int y0, int n)
{
    move(y0, 0);
    clrtoeol();
    put_str("\xe2\x94\x80\xe2\x94\x80 held by the intercept: E edit (in $EDITOR), a resume, A resume all, x kill",
            COLS, A_BOLD | COLOR_PAIR(C_3XX));
    for (int i = 0; i < n; i++) {
        struct pause_view *p = &v->held[i];
        char line[160];
        move(y0 + 1 + i, 0);
        clrtoeol();
        snprintf(line, sizeof(line), "\xe2\x8f\xb8 f%-6" PRIu64 " %-8s %-7s ", p->flow_id,
                 p->phase == PAUSE_REQUEST ? "request" : "response", p->flow->method);
        int used = put_text(line, strlen(line), COLS, i == 0 ? A_REVERSE : 0);
        const char *u = p->flow->url ? p->flow->url : "";
        used += put_text(u, strlen(u), COLS - used - 10, i == 0 ? A_REVERSE : 0);
        if (v->edit_id == p->flow_id)
            put_str(" (edited)", COLS - used, A_BOLD);
    }
}

static void draw_list(struct view *v)
{
    int held = v->nheld > 0 ? (int)(v->nheld < 5 ? v->nheld : 5) : 0;
    int rows = LINES - 2 - (held ? held + 1 : 0);
    struct model *m = &v->m;
    if (held && rows >= 1)
        draw_held(v, 1 + rows, held);
    if (rows < 1)
        return;
    move(0, 0);
    attrset(A_BOLD | A_UNDERLINE);
    char head[200];
    snprintf(head, sizeof(head), "%5s %-8s %-7s %3s %3s %s", "#", "time", "method", "st", "", "host / path");
    put_str(head, COLS, A_BOLD);
    clrtoeol();
    attrset(0);
    /* a window that grew shows as many rows as it can */
    if (m->nshown <= (size_t)rows)
        m->top = 0;
    else if (m->top > m->nshown - (size_t)rows)
        m->top = m->nshown - (size_t)rows;
    if (m->sel < m->top)
        m->top = m->sel;
    if (m->sel >= m->top + (size_t)rows)
        m->top = m->sel - (size_t)rows + 1;
    for (int r = 0; r < rows; r++) {
        size_t i = m->top + (size_t)r;
        struct flow *f = model_shown(m, i);
        move(r + 1, 0);
        clrtoeol();
        if (f)
            draw_row(v, r + 1, i, f, i == m->sel);
    }
    if (m->nshown == 0) {
        move(2, 2);
        put_str(model_count(m) ? "no flow matches the filter (f to change it)"
                               : "waiting for flows: point a browser or curl -x at lucent",
                COLS - 4, A_DIM);
    }
}

/* ---- details ---------------------------------------------------------------- */

static void add_headers(struct buf *t, const struct hdrs *h)
{
    for (size_t i = 0; i < h->n; i++) {
        size_t nl, vl;
        const char *n = hdrs_name(h, i, &nl);
        const char *val = hdrs_value(h, i, &vl);
        buf_append(t, "\x01", 1); /* marks a header line: name coloured */
        buf_append(t, n, nl);
        buf_append(t, ": ", 2);
        buf_append(t, val, vl);
        buf_putc(t, '\n');
    }
}

static void add_cookies(struct buf *t, const struct flow *f)
{
    bool any = false;
    for (size_t i = 0; i < f->req_headers.n; i++) {
        if (!hdrs_name_is(&f->req_headers, i, "Cookie"))
            continue;
        size_t vl;
        const char *val = hdrs_value(&f->req_headers, i, &vl);
        size_t start = 0;
        for (size_t k = 0; k <= vl; k++) {
            if (k < vl && val[k] != ';')
                continue;
            while (start < k && val[start] == ' ')
                start++;
            if (k > start) {
                if (!any)
                    buf_puts(t, "\nCookies sent (request):\n");
                any = true;
                buf_puts(t, "  ");
                buf_append(t, val + start, k - start);
                buf_putc(t, '\n');
            }
            start = k + 1;
        }
    }
    bool set = false;
    for (size_t i = 0; i < f->resp_headers.n; i++) {
        if (!hdrs_name_is(&f->resp_headers, i, "Set-Cookie"))
            continue;
        size_t vl;
        const char *val = hdrs_value(&f->resp_headers, i, &vl);
        if (!set)
            buf_puts(t, "\nCookies set (response):\n");
        set = true;
        const char *semi = memchr(val, ';', vl);
        size_t first = semi ? (size_t)(semi - val) : vl;
        buf_puts(t, "  ");
        buf_append(t, val, first);
        buf_putc(t, '\n');
        size_t start = first + 1;
        for (size_t k = start; semi && k <= vl; k++) {
            if (k < vl && val[k] != ';')
                continue;
            while (start < k && val[start] == ' ')
                start++;
            if (k > start) {
                buf_puts(t, "      ");
                buf_append(t, val + start, k - start);
                buf_putc(t, '\n');
            }
            start = k + 1;
        }
    }
}

static void bar(struct buf *t, const char *label, int64_t from, int64_t to, int64_t total)
{
    if (from <= 0 || to <= 0 || to < from || total <= 0)
        return;
    int w = (int)((to - from) * 40 / total);
    int off = 0;
    buf_printf(t, "  %-10s %8.2f ms  ", label, (double)(to - from) / 1000.0);
    for (int i = 0; i < off; i++)
        buf_putc(t, ' ');
    for (int i = 0; i < (w > 0 ? w : 1); i++)
        buf_append(t, "\xe2\x96\x88", 3); /* █ */
    buf_putc(t, '\n');
}

/* Appends text with its lines wrapped to `width` display columns (at a
 * space when there is one, else anywhere: Chinese has none); a wrapped
 * line's continuation keeps its indentation. */
static void wrap_text(const char *p, size_t len, int width, struct buf *out)
{
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && p[i] != '\n')
            continue;
        const char *line = p + start;
        size_t llen = i - start, indent = 0;
        while (indent < llen && line[indent] == ' ')
            indent++;
        bool first = true;
        while (llen > 0) {
            int cols = first ? 0 : (int)indent;
            size_t k = 0, cut = 0;
            int cut_cols = 0;
            while (k < llen) {
                size_t n = json_utf8_seq((const unsigned char *)line + k, llen - k);
                wchar_t wc;
                mbstate_t st;
                memset(&st, 0, sizeof(st));
                int w = n && mbrtowc(&wc, line + k, n, &st) == n && wcwidth(wc) > 0 ? wcwidth(wc) : 1;
                if (n == 0)
                    n = 1;
                if (cols + w > width)
                    break;
                cols += w;
                k += n;
                if (line[k - 1] == ' ')
                    cut = k, cut_cols = cols;
            }
            if (k < llen && cut > indent && line[k] != ' ' && cut_cols * 5 >= width * 3)
                k = cut; /* break after the last space, unless that wastes the line */
            if (k == 0)
                k = 1;
            if (!first)
                for (size_t s = 0; s < indent; s++)
                    buf_putc(out, ' ');
            buf_append(out, line, k);
            buf_putc(out, '\n');
            line += k;
            llen -= k;
            while (!first && llen > 0 && line[0] == ' ')
                line++, llen--;
            first = false;
            while (llen > 0 && line[0] == ' ' && k < llen)
                line++, llen--;
        }
        if (i - start == 0 && i < len)
            buf_putc(out, '\n');
        start = i + 1;
    }
}

static void build_details(struct view *v)
{
    struct flow *f = v->dflow;
    struct buf *t = &v->text;
    buf_reset(t);
    if (f == NULL)
        return;
    switch (v->tab) {
    case TAB_REQUEST:
        buf_printf(t, "%s %s HTTP/%d.%d\n", f->method, f->url ? f->url : "", f->req_major,
                   f->req_minor);
        add_headers(t, &f->req_headers);
        if (f->req_trailers.n) {
            buf_puts(t, "(trailers)\n");
            add_headers(t, &f->req_trailers);
        }
        buf_putc(t, '\n');
        if (f->req_size == 0 && f->req_body.len == 0)
            buf_puts(t, "(no body)\n");
        else
            render_body(&f->req_headers, &f->req_body, f->req_body_cut || f->req_body.len == 0,
                        v->mode, t);
        break;
    case TAB_RESPONSE:
        if (f->status == 0) {
            buf_printf(t, "(no response)%s%s\n", f->error ? ": " : "", f->error ? f->error : "");
            break;
        }
        buf_printf(t, "HTTP/%d.%d %d %s%s\n", f->resp_major, f->resp_minor, f->status,
                   f->reason ? f->reason : "", f->local_reply ? "   (answered by lucent)" : "");
        add_headers(t, &f->resp_headers);
        if (f->resp_trailers.n) {
            buf_puts(t, "(trailers)\n");
            add_headers(t, &f->resp_trailers);
        }
        buf_putc(t, '\n');
        if (f->resp_size == 0 && f->resp_body.len == 0)
            buf_puts(t, "(no body)\n");
        else
            render_body(&f->resp_headers, &f->resp_body,
                        f->resp_body_cut || f->resp_body.len == 0, v->mode, t);
        break;
    case TAB_DETAILS: {
        int64_t total = f->t_end > f->t_start ? f->t_end - f->t_start : 0;
        buf_printf(t, "flow %" PRIu64 "%s%s\n\n", f->id, f->replay ? " (replay)" : "",
                   f->connect ? " (CONNECT tunnel)" : "");
        buf_printf(t, "client        %s\n", f->client);
        buf_printf(t, "server        %s\n", f->server[0] ? f->server : "-");
        if (f->tls || f->sni[0] || f->tls_client[0]) {
            buf_printf(t, "SNI           %s\n", f->sni[0] ? f->sni : "-");
            buf_printf(t, "TLS client    %s\n", f->tls_client[0] ? f->tls_client : "-");
            buf_printf(t, "TLS upstream  %s\n", f->tls_server[0] ? f->tls_server : "-");
            buf_printf(t, "certificate   %s\n", f->server_cert ? f->server_cert : "-");
        }
        buf_printf(t, "request body  %" PRIu64 " B%s\n", f->req_size,
                   f->req_body_cut ? " (start kept)" : "");
        buf_printf(t, "response body %" PRIu64 " B%s\n", f->resp_size,
                   f->resp_body_cut ? " (start kept)" : "");
        char tag[24];
        cache_flow_tag(f, tag, sizeof(tag));
        buf_printf(t, "cache         %s%s%s\n", tag[0] ? tag : "-",
                   f->cache_status[0] ? " \xc2\xb7 lucent's cache: " : "", f->cache_status);
        if (f->error)
            buf_printf(t, "error         %s\n", f->error);
        buf_printf(t, "\nTiming (total %.2f ms):\n", (double)total / 1000.0);
        bar(t, "connect", f->t_start, f->t_connected, total);
        bar(t, "TLS", f->t_connected, f->t_tls, total);
        bar(t, "waiting", f->t_tls > f->t_connected ? f->t_tls : f->t_connected, f->t_resp_start,
            total);
        bar(t, "receiving", f->t_resp_start, f->t_end, total);
        if (f->cache_at != 0) {
            struct cache_verdict cv;
            cache_analyze(f, f->cache_at, &cv);
            buf_puts(t, "\nCache (RFC 9111):\n");
            cache_explain(&cv, t);
        }
        add_cookies(t, f);
        break;
    }
    case TAB_EXPLAIN: {
        struct buf raw = BUF_INIT;
        explain_flow(f, v->lang, &raw);
        struct expose ex;
        expose_analyze(f, &ex);
        if (ex.flags) { /* the teaching flags, explained (their details: tab 5) */
            buf_puts(&raw, "\n! ");
            buf_puts(&raw, v->lang == EXPLAIN_ZH ? "教学提示：\n" : "Teaching flags:\n");
            for (unsigned bit = 1; bit && bit <= ex.flags; bit <<= 1)
                if (ex.flags & bit)
                    buf_printf(&raw, "  %s: %s\n", expose_flag_name(bit), expose_flag_text(bit));
        }
        wrap_text(raw.p ? raw.p : "", raw.len, COLS > 20 ? COLS - 1 : 20, t);
        buf_free(&raw);
        break;
    }
    case TAB_EAVESDROP: {
        struct expose ex;
        expose_analyze(f, &ex);
        if (ex.n > 0 || ex.flags) {
            struct buf e = BUF_INIT;
            expose_text(&ex, &e);
            wrap_text(e.p ? e.p : "", e.len, COLS > 20 ? COLS - 1 : 20, t);
            buf_free(&e);
            buf_putc(t, '\n');
        }
        if (f->tls && f->wire) {
            buf_puts(t, f->wire);
            buf_puts(t, "\nWhat lucent sees because you trusted its CA (decrypted):\n");
            buf_printf(t, "  %s %s\n", f->method, f->url ? f->url : "");
            for (size_t i = 0; i < f->req_headers.n; i++) {
                size_t nl, vl;
                const char *n = hdrs_name(&f->req_headers, i, &nl);
                const char *val = hdrs_value(&f->req_headers, i, &vl);
                buf_printf(t, "  %.*s: %.*s\n", (int)nl, n, (int)vl, val);
            }
            if (f->status)
                buf_printf(t, "  \xe2\x86\x92 %d %s, %" PRIu64 " B of body\n", f->status,
                           f->reason ? f->reason : "", f->resp_size);
            if (f->certs) {
                buf_putc(t, '\n');
                buf_puts(t, f->certs);
            }
        } else if (f->tls || f->connect) {
            buf_puts(t, "A tunnel lucent did not decrypt: on the wire only the CONNECT line, the "
                        "ClientHello (server name) and the sizes and timing of encrypted bytes.\n");
        } else {
            buf_puts(t, "Plain HTTP: everything below crossed the network in clear. Anyone on the "
                        "path (Wi-Fi, a router, the ISP) could read and change it: the URL, every "
                        "header (cookies, passwords in Authorization), and the bodies.\n\n");
            render_raw(f, t);
            buf_putc(t, '\n');
        }
        break;
    }
    case TAB_WIRE:
        if (f->tls)
            buf_puts(t, "(inside TLS: on the wire these bytes were encrypted; this is what lucent "
                        "saw after decrypting)\n\n");
        render_raw(f, t);
        buf_putc(t, '\n');
        break;
    default:
        break;
    }
    /* index the lines */
    v->nlines = 0;
    size_t start = 0;
    for (size_t i = 0; i <= t->len; i++) {
        if (i < t->len && t->p[i] != '\n')
            continue;
        if (i == t->len && start == t->len)
            break;
        if (v->nlines == v->lines_cap) {
            size_t cap = v->lines_cap ? v->lines_cap * 2 : 256;
            size_t *nv = realloc(v->line_off, cap * sizeof(*nv));
            if (nv == NULL)
                break;
            v->line_off = nv;
            v->lines_cap = cap;
        }
        v->line_off[v->nlines++] = start;
        start = i + 1;
    }
}

static void draw_details(struct view *v)
{
    int rows = LINES - 3;
    move(0, 0);
    clrtoeol();
    for (int i = 0; i < TAB_COUNT; i++) {
        char label[32];
        snprintf(label, sizeof(label), " %d %s ", i + 1, tab_names[i]);
        put_str(label, COLS, i == (int)v->tab ? (A_REVERSE | A_BOLD) : A_DIM);
        addch(' ');
    }
    if (v->dflow) {
        char head[120];
        snprintf(head, sizeof(head), "  flow %" PRIu64, v->dflow->id);
        put_str(head, COLS, A_DIM);
    }
    move(1, 0);
    clrtoeol();
    if (v->dtop > (long)v->nlines - rows)
        v->dtop = (long)v->nlines - rows;
    if (v->dtop < 0)
        v->dtop = 0;
    for (int r = 0; r < rows; r++) {
        size_t li = (size_t)v->dtop + (size_t)r;
        move(r + 2, 0);
        clrtoeol();
        if (li >= v->nlines)
            continue;
        size_t s = v->line_off[li];
        size_t e = li + 1 < v->nlines ? v->line_off[li + 1] - 1 : v->text.len;
        const char *p = v->text.p + s;
        size_t len = e > s ? e - s : 0;
        if (len > 0 && p[len - 1] == '\n')
            len--;
        if (len > 0 && p[len - 1] == '\r')
            len--;
        if (len > 0 && p[0] == '\x01') { /* header: name in colour */
            const char *colon = memchr(p + 1, ':', len - 1);
            size_t nl = colon ? (size_t)(colon - p - 1) : len - 1;
            int used = put_text(p + 1, nl, COLS, COLOR_PAIR(C_NAME) | A_BOLD);
            put_text(p + 1 + nl, len - 1 - nl, COLS - used, 0);
        } else {
            put_text(p, len, COLS, 0);
        }
    }
}

static const char help_text[] =
    "lucent viewer keys\n"
    "\n"
    "  list                          details\n"
    "  up/k down/j  move             1-4 / tab / left right  Request Response Details Wire\n"
    "  PgUp PgDn    page             m   body view: auto (json/form/text/hex), text, hex\n"
    "  g G          first, last      up down PgUp PgDn g G   scroll\n"
    "  Enter        details          q / Esc  back to the list\n"
    "  f            filter\n"
    "  /  n  N      search, next, previous\n"
    "  z            clear all flows\n"
    "  d            delete the flow\n"
    "  r            replay the request (a new flow, marked \xe2\x86\xbb)\n"
    "  e            export the flow: curl command, raw HTTP, HAR\n"
    "  w            save the shown flows as HAR\n"
    "  F            follow new flows on/off\n"
    "  i            intercept: hold flows matching a filter at their request\n"
    "  I            hold their responses too (on/off)\n"
    "  E            edit the first held flow in $EDITOR (method, URL, headers, body)\n"
    "  a  A  x      resume it (with the edit), resume all, kill it\n"
    "  q            quit (asks first)\n"
    "  ?            this help\n"
    "\n"
    "filter expressions (combine with ! & | and parentheses):\n";

static void draw_help(void)
{
    struct buf t = BUF_INIT;
    buf_puts(&t, help_text);
    buf_puts(&t, filter_help);
    int y = 0;
    size_t start = 0;
    for (size_t i = 0; i <= t.len && y < LINES - 1; i++) {
        if (i < t.len && t.p[i] != '\n')
            continue;
        move(y++, 1);
        clrtoeol();
        put_text(t.p + start, i - start, COLS - 2, y == 1 ? A_BOLD : 0);
        start = i + 1;
    }
    for (; y < LINES - 1; y++) {
        move(y, 0);
        clrtoeol();
    }
    buf_free(&t);
}

static void redraw(struct view *v)
{
    erase();
    if (LINES < 3 || COLS < 20) {
        move(0, 0);
        put_str("lucent: terminal too small", COLS, A_BOLD);
        refresh();
        return;
    }
    if (v->scr == SCR_LIST)
        draw_list(v);
    else if (v->scr == SCR_DETAIL)
        draw_details(v);
    else
        draw_help();
    draw_status(v);
    if (v->pr != PR_NONE)
        move(LINES - 1, v->cursor_x);
    refresh();
    v->dirty = false;
}

/* ---- actions ---------------------------------------------------------------- */

static void open_details(struct view *v)
{
    struct flow *f = model_selected(&v->m);
    if (f == NULL)
        return;
    flow_unref(v->dflow);
    v->dflow = flow_ref(f);
    v->scr = SCR_DETAIL;
    v->dtop = 0;
    build_details(v);
}

struct replay_job {
    uint16_t port;
    char host[64];
    struct buf req;
};

static void *replay_thread(void *arg)
{
    struct replay_job *j = arg;
    struct sockaddr_storage ss;
    socklen_t sl;
    memset(&ss, 0, sizeof(ss));
    if (strchr(j->host, ':')) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(j->port);
        inet_pton(AF_INET6, j->host, &s6->sin6_addr);
        sl = sizeof(*s6);
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        s4->sin_family = AF_INET;
        s4->sin_port = htons(j->port);
        inet_pton(AF_INET, j->host, &s4->sin_addr);
        sl = sizeof(*s4);
    }
    int fd = socket(ss.ss_family, SOCK_STREAM, 0);
    if (fd >= 0) {
        struct timeval tv = {60, 0};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        if (connect(fd, (struct sockaddr *)&ss, sl) == 0) {
            size_t off = 0;
            while (off < j->req.len) {
                ssize_t n = write(fd, j->req.p + off, j->req.len - off);
                if (n <= 0)
                    break;
                off += (size_t)n;
            }
            char sink[16384];
            while (read(fd, sink, sizeof(sink)) > 0) {
            }
        }
        close(fd);
    }
    buf_free(&j->req);
    free(j);
    return NULL;
}

static void replay(struct view *v)
{
    struct flow *f = v->scr == SCR_DETAIL ? v->dflow : model_selected(&v->m);
    if (f == NULL)
        return;
    if (v->a->port == 0) {
        say(v, "replay needs a running proxy (not with -r)");
        return;
    }
    if (f->connect || f->url == NULL || strncmp(f->url, "http", 4) != 0) {
        say(v, "only HTTP(S) requests can be replayed, not tunnels");
        return;
    }
    struct replay_job *j = calloc(1, sizeof(*j));
    if (j == NULL)
        return;
    j->port = v->a->port;
    snprintf(j->host, sizeof(j->host), "%s", v->a->o->listen_host);
    if (strcmp(j->host, "0.0.0.0") == 0)
        snprintf(j->host, sizeof(j->host), "127.0.0.1");
    else if (strcmp(j->host, "::") == 0)
        snprintf(j->host, sizeof(j->host), "::1");
    buf_printf(&j->req, "%s %s HTTP/1.1\r\n", f->method, f->url);
    for (size_t i = 0; i < f->req_headers.n; i++) {
        static const char *const skip[] = {"Connection", "Proxy-Connection", "Keep-Alive",
                                           "Transfer-Encoding", "TE", "Upgrade",
                                           "Content-Length", "Expect", "X-Lucent-Replay"};
        bool drop = false;
        for (size_t k = 0; k < sizeof(skip) / sizeof(skip[0]); k++)
            drop |= hdrs_name_is(&f->req_headers, i, skip[k]);
        if (drop)
            continue;
        size_t nl, vl;
        const char *n = hdrs_name(&f->req_headers, i, &nl);
        const char *val = hdrs_value(&f->req_headers, i, &vl);
        buf_append(&j->req, n, nl);
        buf_append(&j->req, ": ", 2);
        buf_append(&j->req, val, vl);
        buf_append(&j->req, "\r\n", 2);
    }
    if (f->req_body.len > 0 || strcmp(f->method, "POST") == 0 || strcmp(f->method, "PUT") == 0)
        buf_printf(&j->req, "Content-Length: %zu\r\n", f->req_body.len);
    buf_puts(&j->req, "X-Lucent-Replay: 1\r\nConnection: close\r\n\r\n");
    buf_append(&j->req, f->req_body.p ? f->req_body.p : "", f->req_body.len);
    pthread_t t;
    if (pthread_create(&t, NULL, replay_thread, j) != 0) {
        buf_free(&j->req);
        free(j);
        say(v, "replay: cannot start a thread");
        return;
    }
    pthread_detach(t);
    say(v, "replaying flow %" PRIu64 "%s", f->id,
        f->req_body_cut ? " (only the start of its body was kept)" : "");
}

static int write_text_file(const char *path, const struct buf *b, char *err, size_t errlen)
{
    FILE *fp = fopen(path, "w");
    if (fp == NULL) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    size_t n = fwrite(b->p ? b->p : "", 1, b->len, fp);
    if (fclose(fp) != 0 || n != b->len) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

static void do_export(struct view *v, const char *path)
{
    struct flow *f = v->scr == SCR_DETAIL ? v->dflow : model_selected(&v->m);
    char err[300] = "";
    int rc;
    if (f == NULL)
        return;
    if (v->export_kind == 'h') {
        struct flow *one[1] = {f};
        rc = har_write_file(path, one, 1, err, sizeof(err));
    } else {
        struct buf b = BUF_INIT;
        if (v->export_kind == 'c')
            render_curl(f, &b);
        else
            render_raw(f, &b);
        rc = write_text_file(path, &b, err, sizeof(err));
        buf_free(&b);
    }
    if (rc < 0)
        say(v, "export failed: %s", err);
    else
        say(v, "flow %" PRIu64 " written to %s", f->id, path);
}

static void save_all(struct view *v, const char *path)
{
    char err[300] = "";
    size_t n = v->m.nshown;
    struct flow **fl = calloc(n ? n : 1, sizeof(*fl));
    if (fl == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        fl[i] = model_shown(&v->m, i);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (fl[i])
            fl[k++] = fl[i];
    if (har_write_file(path, fl, k, err, sizeof(err)) < 0)
        say(v, "save failed: %s", err);
    else
        say(v, "%zu flows written to %s", k, path);
    free(fl);
}

static void start_prompt(struct view *v, enum prompt p, const char *initial);

static void set_intercept(struct view *v, const char *text)
{
    char err[300], expr_copy[sizeof(v->icpt)];
    snprintf(expr_copy, sizeof(expr_copy), "%s", text); /* text may be v->icpt itself */
    const char *expr = expr_copy;
    size_t pos = 0;
    struct filter *f = NULL;
    if (v->a->pauses == NULL) {
        say(v, "intercept needs a running proxy (not with -r)");
        return;
    }
    while (*expr == ' ')
        expr++;
    if (expr[0] && (f = filter_compile(expr, err, sizeof(err), &pos)) == NULL) {
        say(v, "intercept: %s", err);
        return;
    }
    snprintf(v->icpt, sizeof(v->icpt), "%s", expr);
    pauses_set_filter(v->a->pauses, f, v->icpt_resp);
    say(v, expr[0] ? "intercepting %s%s" : "intercept off%s%s", expr,
        expr[0] && v->icpt_resp ? " (requests and responses)" : "");
}

/* Runs $VISUAL / $EDITOR (vi) on the first held flow's text; the result is
 * kept until it is resumed. */
static void edit_held(struct view *v)
{
    if (v->nheld == 0) {
        say(v, "nothing is held (i sets the intercept)");
        return;
    }
    struct pause_view *p = &v->held[0];
    char path[] = "/tmp/lucent-edit-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) {
        say(v, "edit: cannot make a temporary file: %s", strerror(errno));
        return;
    }
    const char *text = v->edit_id == p->flow_id && v->edit_text ? v->edit_text : p->text;
    size_t len = strlen(text), off = 0;
    while (off < len) {
        ssize_t n = write(fd, text + off, len - off);
        if (n <= 0)
            break;
        off += (size_t)n;
    }
    close(fd);
    const char *ed = getenv("VISUAL");
    if (ed == NULL || ed[0] == '\0')
        ed = getenv("EDITOR");
    if (ed == NULL || ed[0] == '\0')
        ed = "vi";
    char cmd[1200];
    snprintf(cmd, sizeof(cmd), "%s %s", ed, path);
    def_prog_mode();
    endwin();
    int rc = system(cmd);
    reset_prog_mode();
    refresh();
    FILE *fp = fopen(path, "r");
    struct buf b = BUF_INIT;
    if (fp) {
        char chunk[4096];
        size_t n;
        while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
            buf_append(&b, chunk, n);
        fclose(fp);
    }
    unlink(path);
    if (rc != 0 || fp == NULL) {
        say(v, "edit: the editor failed (%s); nothing changed", ed);
        buf_free(&b);
        return;
    }
    free(v->edit_text);
    v->edit_text = b.p ? b.p : strdup("");
    v->edit_id = p->flow_id;
    say(v, "flow %" PRIu64 " edited: a resumes it with the edit", p->flow_id);
}

static void resume_held(struct view *v, size_t i, enum pause_decision d)
{
    struct pause_view *p = &v->held[i];
    const char *edit = d == PAUSE_RESUME && v->edit_id == p->flow_id ? v->edit_text : NULL;
    pauses_decide(v->a->pauses, p->flow_id, d, edit);
    if (v->edit_id == p->flow_id) {
        free(v->edit_text);
        v->edit_text = NULL;
        v->edit_id = 0;
    }
}

static bool held_key(struct view *v, int ch)
{
    switch (ch) {
    case 'i':
        start_prompt(v, PR_INTERCEPT, v->icpt);
        return true;
    case 'I':
        v->icpt_resp = !v->icpt_resp;
        set_intercept(v, v->icpt);
        return true;
    case 'E':
        edit_held(v);
        return true;
    case 'a':
    case 'x':
        if (v->nheld == 0) {
            say(v, "nothing is held");
            return true;
        }
        resume_held(v, 0, ch == 'a' ? PAUSE_RESUME : PAUSE_KILL);
        return true;
    case 'A':
        for (size_t i = 0; i < v->nheld; i++)
            resume_held(v, i, PAUSE_RESUME);
        return true;
    default:
        return false;
    }
}

static void start_prompt(struct view *v, enum prompt p, const char *initial)
{
    char copy[sizeof(v->input)]; /* initial may be v->input itself */
    snprintf(copy, sizeof(copy), "%s", initial ? initial : "");
    v->pr = p;
    memcpy(v->input, copy, sizeof(copy));
    v->ilen = strlen(v->input);
    v->dirty = true;
}

static void finish_prompt(struct view *v)
{
    char err[300];
    size_t pos = 0;
    enum prompt p = v->pr;
    v->input[v->ilen] = '\0';
    v->pr = PR_NONE;
    switch (p) {
    case PR_FILTER:
        if (model_set_filter(&v->m, v->input, err, sizeof(err), &pos) < 0) {
            say(v, "%s", err);
            start_prompt(v, PR_FILTER, v->input); /* fix it in place */
            v->status_until = now_ms() + 60000;
        } else {
            say(v, "%s", v->input[0] ? "filter set" : "filter cleared");
        }
        break;
    case PR_SEARCH:
        snprintf(v->search, sizeof(v->search), "%s", v->input);
        if (v->search[0] && !model_search(&v->m, v->search, 1))
            say(v, "not found: %s", v->search);
        break;
    case PR_SAVE:
        if (v->input[0])
            save_all(v, v->input);
        break;
    case PR_INTERCEPT:
        set_intercept(v, v->input);
        break;
    case PR_EXPORT_FILE:
        if (v->input[0])
            do_export(v, v->input);
        break;
    default:
        break;
    }
}

static void prompt_key(struct view *v, int ch)
{
    if (v->pr == PR_QUIT) {
        v->pr = PR_NONE;
        if (ch == 'y' || ch == 'Y' || ch == 'q')
            v->quit = true;
        return;
    }
    if (v->pr == PR_EXPORT) {
        struct flow *f = v->scr == SCR_DETAIL ? v->dflow : model_selected(&v->m);
        v->pr = PR_NONE;
        if (f == NULL || (ch != 'c' && ch != 'r' && ch != 'h'))
            return;
        char name[64];
        v->export_kind = (char)ch;
        snprintf(name, sizeof(name), "lucent-flow-%" PRIu64 ".%s", f->id,
                 ch == 'c' ? "sh" : ch == 'r' ? "txt" : "har");
        start_prompt(v, PR_EXPORT_FILE, name);
        return;
    }
    if (ch == 27) { /* Esc */
        v->pr = PR_NONE;
    } else if (ch == '\n' || ch == '\r' || ch == KEY_ENTER) {
        finish_prompt(v);
    } else if (ch == KEY_BACKSPACE || ch == 127 || ch == 8) {
        if (v->ilen > 0) { /* a whole UTF-8 sequence */
            v->ilen--;
            while (v->ilen > 0 && ((unsigned char)v->input[v->ilen] & 0xc0) == 0x80)
                v->ilen--;
        }
    } else if (ch == 21) { /* ^U */
        v->ilen = 0;
    } else if (ch >= 0x20 && ch < 0x100 && ch != 0x7f && v->ilen + 1 < sizeof(v->input)) {
        v->input[v->ilen++] = (char)ch;
    }
    v->input[v->ilen] = '\0';
}

static void list_key(struct view *v, int ch)
{
    int page = LINES - 3 > 1 ? LINES - 3 : 1;
    switch (ch) {
    case KEY_UP:
    case 'k':
        model_move(&v->m, -1);
        break;
    case KEY_DOWN:
    case 'j':
        model_move(&v->m, 1);
        break;
    case KEY_PPAGE:
        model_move(&v->m, -page);
        break;
    case KEY_NPAGE:
    case ' ':
        model_move(&v->m, page);
        break;
    case 'g':
    case KEY_HOME:
        model_move(&v->m, -(long)v->m.nshown);
        break;
    case 'G':
    case KEY_END:
        model_move(&v->m, (long)v->m.nshown);
        v->m.follow = true;
        break;
    case '\n':
    case '\r':
    case KEY_ENTER:
        open_details(v);
        break;
    case 'f':
        start_prompt(v, PR_FILTER, v->m.filter_text);
        break;
    case '/':
        start_prompt(v, PR_SEARCH, "");
        break;
    case 'n':
    case 'N':
        if (v->search[0] && !model_search(&v->m, v->search, ch == 'n' ? 1 : -1))
            say(v, "not found: %s", v->search);
        break;
    case 'z':
        model_clear(&v->m);
        say(v, "flows cleared");
        break;
    case 'd':
        model_delete_selected(&v->m);
        break;
    case 'F':
        v->m.follow = !v->m.follow;
        if (v->m.follow && v->m.nshown)
            v->m.sel = v->m.nshown - 1;
        say(v, "follow %s", v->m.follow ? "on" : "off");
        break;
    case 'q':
        start_prompt(v, PR_QUIT, "");
        break;
    default:
        break;
    }
}

static void detail_key(struct view *v, int ch)
{
    int page = LINES - 4 > 1 ? LINES - 4 : 1;
    switch (ch) {
    case 'q':
    case 27:
    case KEY_BACKSPACE:
        v->scr = SCR_LIST;
        flow_unref(v->dflow);
        v->dflow = NULL;
        return;
    case '\t':
    case KEY_RIGHT:
    case 'l':
        v->tab = (enum tab)((v->tab + 1) % TAB_COUNT);
        break;
    case KEY_BTAB:
    case KEY_LEFT:
    case 'h':
        v->tab = (enum tab)((v->tab + TAB_COUNT - 1) % TAB_COUNT);
        break;
    case '1':
    case '2':
    case '3':
    case '4':
    case '5':
    case '6':
        v->tab = (enum tab)(ch - '1');
        break;
    case 'm':
        v->mode = (enum render_mode)((v->mode + 1) % RENDER_MODES);
        break;
    case KEY_UP:
    case 'k':
        v->dtop--;
        return;
    case KEY_DOWN:
    case 'j':
        v->dtop++;
        return;
    case KEY_PPAGE:
        v->dtop -= page;
        return;
    case KEY_NPAGE:
    case ' ':
        v->dtop += page;
        return;
    case 'g':
    case KEY_HOME:
        v->dtop = 0;
        return;
    case 'G':
    case KEY_END:
        v->dtop = (long)v->nlines;
        return;
    default:
        return;
    }
    v->dtop = 0;
    build_details(v);
}

static void on_key(struct view *v, int ch)
{
    v->dirty = true;
    if (ch == KEY_RESIZE)
        return;
    if (v->pr != PR_NONE) {
        prompt_key(v, ch);
        return;
    }
    if (v->scr == SCR_HELP) {
        v->scr = v->dflow ? SCR_DETAIL : SCR_LIST;
        return;
    }
    switch (ch) {
    case '?':
        v->scr = SCR_HELP;
        return;
    case 'r':
        replay(v);
        return;
    case 'e':
        if ((v->scr == SCR_DETAIL ? v->dflow : model_selected(&v->m)) != NULL)
            start_prompt(v, PR_EXPORT, "");
        return;
    case 'w':
        start_prompt(v, PR_SAVE, "lucent-flows.har");
        return;
    default:
        break;
    }
    if (held_key(v, ch))
        return;
    if (v->scr == SCR_LIST)
        list_key(v, ch);
    else
        detail_key(v, ch);
}

/* ---- the loop ----------------------------------------------------------------- */

static void take_held(struct view *v)
{
    if (v->a->pauses == NULL)
        return;
    struct pause_view *nv = NULL;
    size_t n = pauses_list(v->a->pauses, &nv);
    bool changed = n != v->nheld;
    for (size_t i = 0; !changed && i < n; i++)
        changed = nv[i].flow_id != v->held[i].flow_id;
    pauses_views_free(v->held, v->nheld);
    v->held = nv;
    v->nheld = n;
    if (changed)
        v->dirty = true;
}

static void take_flows(struct view *v)
{
    struct flow *batch[512];
    uint64_t lost = 0;
    if (v->a->bus == NULL)
        return;
    for (int round = 0; round < 8; round++) { /* at most 4096 a tick: the screen stays live */
        size_t n = bus_drain(v->a->bus, v->a->sub, batch, 512, &lost);
        for (size_t i = 0; i < n; i++)
            model_add(&v->m, batch[i]);
        if (n > 0)
            v->dirty = true;
        if (n < 512)
            break;
    }
    v->m.lost += lost;
}

int view_run(const struct view_args *a)
{
    struct view v;
    memset(&v, 0, sizeof(v));
    v.a = a;
    v.lang = a->o->lang ? explain_lang_from(a->o->lang) : explain_lang_default();
    if (model_init(&v.m, a->o->max_flows) < 0) {
        fprintf(stderr, "lucent: out of memory\n");
        return -1;
    }
    for (size_t i = 0; i < a->npreload; i++)
        model_add(&v.m, a->preload[i]);
    if (a->npreload) {
        v.m.follow = false;
        v.m.sel = 0;
    }
    setlocale(LC_ALL, "");
    if (initscr() == NULL) {
        model_free(&v.m);
        return -1;
    }
    log_redirect(on_log);
    cbreak();
    noecho();
    keypad(stdscr, TRUE);
    set_escdelay(50);
    timeout(50);
    curs_set(0);
    if (has_colors()) {
        start_color();
        use_default_colors();
        init_pair(C_1XX, COLOR_CYAN, -1);
        init_pair(C_2XX, COLOR_GREEN, -1);
        init_pair(C_3XX, COLOR_YELLOW, -1);
        init_pair(C_4XX, COLOR_MAGENTA, -1);
        init_pair(C_5XX, COLOR_RED, -1);
        init_pair(C_ERR, COLOR_RED, -1);
        init_pair(C_NAME, COLOR_CYAN, -1);
        init_pair(C_DIM, COLOR_WHITE, -1);
        init_pair(C_BAR, COLOR_BLACK, COLOR_CYAN);
        init_pair(C_SEL, COLOR_BLACK, COLOR_WHITE);
    }
    v.dirty = true;
    uint64_t seen_log = 0;
    int64_t last_draw = 0;
    while (!v.quit) {
        struct timespec zero = {0, 0};
        if (a->sigs && sigtimedwait(a->sigs, NULL, &zero) > 0)
            break;
        take_flows(&v);
        take_held(&v);
        int ch = getch(); /* waits up to 50 ms */
        if (ch != ERR) {
            timeout(0); /* then everything typed ahead, without waiting */
            do
                on_key(&v, ch);
            while (!v.quit && (ch = getch()) != ERR);
            timeout(50);
        }
        pthread_mutex_lock(&log_lock);
        if (log_seq != seen_log) {
            seen_log = log_seq;
            v.dirty = true;
        }
        pthread_mutex_unlock(&log_lock);
        int64_t now = now_ms();
        if ((v.dirty && now - last_draw >= 50) || now - last_draw >= 1000) {
            redraw(&v);
            last_draw = now;
        }
    }
    endwin();
    log_redirect(NULL);
    if (a->pauses) { /* nothing stays held once the viewer is gone */
        pauses_set_filter(a->pauses, NULL, false);
        for (size_t i = 0; i < v.nheld; i++)
            pauses_decide(a->pauses, v.held[i].flow_id, PAUSE_RESUME, NULL);
    }
    pauses_views_free(v.held, v.nheld);
    free(v.edit_text);
    flow_unref(v.dflow);
    buf_free(&v.text);
    free(v.line_off);
    model_free(&v.m);
    return 0;
}
