/* SPDX-License-Identifier: MIT */
/* codec: decoding whole message bodies by their Content-Encoding, for
 * scripts and viewers that want the content rather than the wire bytes.
 * gzip and deflate through zlib; br and zstd when lucent was built with
 * those libraries. Pure: bytes in, bytes out, no I/O. */
#ifndef LUCENT_CORE_CODEC_H
#define LUCENT_CORE_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include "core/attrib.h"
#include "core/buf.h"

enum codec_rc {
    CODEC_OK = 0,      /* out holds the decoded bytes */
    CODEC_UNSUPPORTED, /* an encoding lucent cannot decode (named in err) */
    CODEC_BAD,         /* corrupt or truncated input (reason in err) */
    CODEC_TOO_BIG,     /* the decoded size would pass `limit` */
};

/* Decodes p[0..len) sent with the Content-Encoding field value enc[0..enclen)
 * (a comma-separated list applied in order, so decoded last-first; "identity"
 * and empty entries are no-ops, names case-insensitive) and appends the result
 * to out. On anything but CODEC_OK, out is left as it was and err says why. */
enum codec_rc codec_decode(const char *enc, size_t enclen, const void *p, size_t len, size_t limit,
                           struct buf *out, char *err, size_t errlen) LC_NONNULL(1, 6, 7) LC_WUR;

/* Can every coding in enc[0..enclen) be decoded? */
bool codec_supported(const char *enc, size_t enclen) LC_NONNULL(1);

#endif
