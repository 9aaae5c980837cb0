/* The request path as qcc-run routes and forwards it: RFC 3986 syntax-based
 * normalisation of an origin-form request target (section 6.2.2), done once
 * when the head is complete and before any routing decision, so the path
 * that is checked is the path that is forwarded ("Request paths" in
 * docs/inbound.md).
 *
 * Pure functions over bytes, no allocation: unit-tested by a table of cases
 * (tests/runtime, which also checks the examples in docs/inbound.md) and
 * reached by the fuzz_http driver through client.c. */
#ifndef QCC_RUNTIME_REQPATH_H
#define QCC_RUNTIME_REQPATH_H

#include <stdbool.h>
#include <stddef.h>

enum qcc_reqpath_status {
  QCC_REQPATH_OK = 0,
  QCC_REQPATH_BAD_ESCAPE,    /* '%' not followed by two hex digits */
  QCC_REQPATH_ENCODED_SEP,   /* %2F, %5C, %00 or a raw '\' in the path */
  QCC_REQPATH_DOT_PARAM,     /* a segment like "..;x" (read as ".." by some servers) */
  QCC_REQPATH_NOT_ORIGIN,    /* the target does not start with '/' (absolute-form, '*') */
  QCC_REQPATH_LEAVES_V1,     /* dot-segments lead outside /v1/ (qcc_reqpath_check) */
};

/* Normalise the request target IN[0..LEN) (path, optional ?query, optional
 * #fragment) into OUT, which must hold LEN + 1 bytes (the result is never
 * longer; OUT may not overlap IN). The path's percent-encoded unreserved
 * characters are decoded (%41 -> A, %2e -> .), other escapes get upper-case
 * hex, and dot-segments, raw or percent-encoded, are removed
 * (remove_dot_segments, 5.2.4; ".." at the root stays at the root). The query
 * is copied as it is; a fragment is dropped (a request target has none).
 * *OUT_LEN is the result's length (OUT is NUL-terminated) and *HAD_DOTS tells
 * whether any dot-segment was removed. On an error OUT is unspecified. */
enum qcc_reqpath_status qcc_reqpath_normalize(const char *in, size_t len, char *out,
                                              size_t *out_len, bool *had_dots);

/* qcc-run's rule (docs/inbound.md): normalise as above, and refuse with
 * QCC_REQPATH_LEAVES_V1 a path whose dot-segments lead outside /v1/ (a path
 * without dot-segments is left to routing: /healthz, or 404). */
enum qcc_reqpath_status qcc_reqpath_check(const char *in, size_t len, char *out,
                                          size_t *out_len);

/* Whether IN[0..LEN) might change under qcc_reqpath_normalize: false means
 * it is already normal (no '%', '\', '#' and no segment starting with '.'),
 * which is every request a well-behaved client sends. Cheap: one scan. */
bool qcc_reqpath_needs_work(const char *in, size_t len);

/* A short English reason for a status other than OK, for the 400 reply. */
const char *qcc_reqpath_reason(enum qcc_reqpath_status st);

#endif
