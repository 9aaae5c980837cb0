/* The chunked transfer coding (RFC 9112 section 7.1), decoded by hand.
 *
 * libcurl is told not to decode chunked upstream bodies
 * (CURLOPT_HTTP_TRANSFER_DECODING=0): it then hands over each read whole
 * instead of one write callback per chunk, and an SSE stream is one chunk
 * per event. qcc_dechunk turns those raw bytes back into body bytes, so the
 * client gets one chunk per upstream read. libcurl still parses the framing
 * itself to find the end of the body; this decoder only has to agree. */
#ifndef QCC_RUNTIME_DECHUNK_H
#define QCC_RUNTIME_DECHUNK_H

#include <stddef.h>
#include <stdint.h>

#define QCC_DECHUNK_LINE_MAX 4096u /* chunk extensions or one trailer line */

struct qcc_dechunk {
  int state;
  uint64_t left;    /* data bytes left in the current chunk */
  unsigned digits;  /* hex digits of the size read so far */
  unsigned line;    /* bytes of extension or trailer line skipped so far */
};

enum qcc_dechunk_status {
  QCC_DECHUNK_MORE = 0,   /* all input used; the body goes on */
  QCC_DECHUNK_END = 1,    /* last chunk and trailers seen; any bytes after are ignored */
  QCC_DECHUNK_ERROR = -1, /* not chunked framing: the body cannot be trusted */
};

void qcc_dechunk_init(struct qcc_dechunk *d);

/* Decodes IN[0..LEN) into OUT, which has room for LEN bytes (decoding never
 * grows). *OUT_LEN is set to the body bytes written. */
enum qcc_dechunk_status qcc_dechunk_feed(struct qcc_dechunk *d, const char *in, size_t len,
                                         char *out, size_t *out_len);

#endif
