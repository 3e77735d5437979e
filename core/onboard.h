/* SPDX-License-Identifier: MIT */
/* onboard: http://lucent.proxy/, the page that explains how to trust
 * lucent's CA and serves its certificate (PEM and DER). Answered by lucent
 * itself; the request never leaves the proxy. Pure: path in, response out. */
#ifndef LUCENT_CORE_ONBOARD_H
#define LUCENT_CORE_ONBOARD_H

#include <stdbool.h>
#include <stddef.h>
#include "core/attrib.h"
#include "core/buf.h"

#define ONBOARD_HOST "lucent.proxy"

struct ca;

struct onboard_reply {
    int status;
    const char *reason;
    const char *content_type;
    const char *disposition; /* Content-Disposition, or NULL */
    struct buf body;         /* owned: free with buf_free */
};

/* Fills r for a GET/HEAD of `path` (with query) on lucent.proxy. */
void onboard_reply(const struct ca *ca, const char *path, size_t path_len, struct onboard_reply *r)
    LC_NONNULL(1, 2, 4);

#endif
