/* SPDX-License-Identifier: MIT */
/* model: a ring of flow references addressed by sequence number, and the
 * list of sequence numbers the filter lets through. Dropping the oldest
 * flow trims the front of that list; filtering rebuilds it. */
#include "ui-term/model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/filter.h"

int model_init(struct model *m, size_t max_flows)
{
    memset(m, 0, sizeof(*m));
    m->cap = max_flows;
    m->ring = calloc(max_flows, sizeof(*m->ring));
    m->follow = true;
    return m->ring ? 0 : -1;
}

static struct flow *by_seq(const struct model *m, uint64_t seq)
{
    if (seq < m->first_seq || seq - m->first_seq >= m->n)
        return NULL;
    return m->ring[(m->head + (size_t)(seq - m->first_seq)) % m->cap];
}

void model_free(struct model *m)
{
    if (m == NULL)
        return;
    for (size_t i = 0; i < m->n; i++)
        flow_unref(m->ring[(m->head + i) % m->cap]);
    free(m->ring);
    free(m->shown);
    filter_free(m->filter);
    free(m->filter_text);
    memset(m, 0, sizeof(*m));
}

size_t model_count(const struct model *m)
{
    return m->n;
}

static bool passes(const struct model *m, const struct flow *f)
{
    return m->filter == NULL || filter_match(m->filter, f);
}

static void shown_push(struct model *m, uint64_t seq)
{
    if (m->nshown == m->shown_cap) {
        size_t cap = m->shown_cap ? m->shown_cap * 2 : 1024;
        uint64_t *v = realloc(m->shown, cap * sizeof(*v));
        if (v == NULL)
            return; /* the flow is kept, just not listed */
        m->shown = v;
        m->shown_cap = cap;
    }
    m->shown[m->nshown++] = seq;
}

static void drop_oldest(struct model *m)
{
    flow_unref(m->ring[m->head]);
    m->ring[m->head] = NULL;
    m->head = (m->head + 1) % m->cap;
    m->n--;
    m->dropped++;
    uint64_t gone = m->first_seq++;
    if (m->nshown > 0 && m->shown[0] == gone) {
        memmove(m->shown, m->shown + 1, (m->nshown - 1) * sizeof(*m->shown));
        m->nshown--;
        if (m->sel > 0)
            m->sel--;
        if (m->top > 0)
            m->top--;
    }
}

void model_add(struct model *m, struct flow *f)
{
    if (m->n == m->cap)
        drop_oldest(m);
    uint64_t seq = m->first_seq + m->n;
    m->ring[(m->head + m->n) % m->cap] = f;
    m->n++;
    if (passes(m, f)) {
        shown_push(m, seq);
        if (m->follow)
            m->sel = m->nshown - 1;
    }
}

struct flow *model_shown(const struct model *m, size_t i)
{
    return i < m->nshown ? by_seq(m, m->shown[i]) : NULL;
}

struct flow *model_selected(const struct model *m)
{
    return model_shown(m, m->sel);
}

static void refilter(struct model *m)
{
    uint64_t keep = m->nshown ? m->shown[m->sel < m->nshown ? m->sel : m->nshown - 1] : 0;
    m->nshown = 0;
    m->sel = 0;
    for (size_t i = 0; i < m->n; i++) {
        struct flow *f = m->ring[(m->head + i) % m->cap];
        if (f == NULL || !passes(m, f))
            continue;
        if (m->first_seq + i <= keep)
            m->sel = m->nshown; /* stay on (or just before) the flow selected before */
        shown_push(m, m->first_seq + i);
    }
    if (m->follow && m->nshown > 0)
        m->sel = m->nshown - 1;
    m->top = 0;
}

int model_set_filter(struct model *m, const char *expr, char *err, size_t errlen, size_t *errpos)
{
    size_t pos = 0;
    struct filter *nf = NULL;
    while (*expr == ' ')
        expr++;
    if (expr[0] != '\0') {
        nf = filter_compile(expr, err, errlen, &pos);
        if (nf == NULL) {
            if (errpos)
                *errpos = pos;
            return -1;
        }
    }
    filter_free(m->filter);
    free(m->filter_text);
    m->filter = nf;
    m->filter_text = nf ? strdup(expr) : NULL;
    refilter(m);
    return 0;
}

void model_delete_selected(struct model *m)
{
    if (m->sel >= m->nshown)
        return;
    uint64_t seq = m->shown[m->sel];
    size_t k = (size_t)(seq - m->first_seq);
    flow_unref(m->ring[(m->head + k) % m->cap]);
    /* Close the gap (later flows move back one slot and down one sequence
     * number), so a deleted flow neither counts as kept nor takes room from
     * max_flows. Deleting is a key press: O(n) is fine. */
    for (size_t i = k; i + 1 < m->n; i++)
        m->ring[(m->head + i) % m->cap] = m->ring[(m->head + i + 1) % m->cap];
    m->n--;
    m->ring[(m->head + m->n) % m->cap] = NULL;
    memmove(m->shown + m->sel, m->shown + m->sel + 1, (m->nshown - m->sel - 1) * sizeof(*m->shown));
    m->nshown--;
    for (size_t i = m->sel; i < m->nshown; i++)
        m->shown[i]--;
    if (m->sel >= m->nshown && m->sel > 0)
        m->sel--;
}

void model_clear(struct model *m)
{
    for (size_t i = 0; i < m->n; i++) {
        size_t slot = (m->head + i) % m->cap;
        flow_unref(m->ring[slot]);
        m->ring[slot] = NULL;
    }
    m->first_seq += m->n;
    m->head = (m->head + m->n) % m->cap;
    m->n = 0;
    m->nshown = m->sel = m->top = 0;
    m->follow = true;
}

void model_select(struct model *m, size_t i)
{
    if (m->nshown == 0) {
        m->sel = 0;
        return;
    }
    m->sel = i < m->nshown ? i : m->nshown - 1;
    m->follow = m->sel == m->nshown - 1 && m->follow;
}

void model_move(struct model *m, long delta)
{
    if (m->nshown == 0)
        return;
    long s = (long)m->sel + delta;
    if (s < 0)
        s = 0;
    if (s >= (long)m->nshown)
        s = (long)m->nshown - 1;
    m->sel = (size_t)s;
    if (delta < 0 || m->sel != m->nshown - 1)
        m->follow = false;
}

static bool contains_ci(const char *hay, const char *needle)
{
    size_t nl = strlen(needle);
    if (hay == NULL)
        return false;
    for (; *hay; hay++)
        if (strncasecmp(hay, needle, nl) == 0)
            return true;
    return false;
}

bool model_search(struct model *m, const char *text, int dir)
{
    if (m->nshown == 0 || text[0] == '\0')
        return false;
    for (size_t k = 1; k <= m->nshown; k++) {
        size_t i = dir >= 0 ? (m->sel + k) % m->nshown : (m->sel + m->nshown - k) % m->nshown;
        struct flow *f = model_shown(m, i);
        char status[16];
        if (f == NULL)
            continue;
        snprintf(status, sizeof(status), "%d", f->status);
        if (contains_ci(f->url, text) || contains_ci(f->method, text) ||
            (f->status && strcmp(status, text) == 0) || contains_ci(f->error, text)) {
            m->sel = i;
            m->follow = false;
            return true;
        }
    }
    return false;
}
