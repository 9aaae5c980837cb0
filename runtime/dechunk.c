#include "dechunk.h"

#include <string.h>

enum {
  S_SIZE,         /* hex digits of the chunk size */
  S_EXT,          /* after the size: extensions, up to LF */
  S_DATA,         /* LEFT data bytes */
  S_DATA_CR,      /* CRLF after the data */
  S_DATA_LF,
  S_TRAILER,      /* start of a trailer line, or the final CRLF */
  S_TRAILER_LINE, /* inside a trailer line, up to LF */
  S_TRAILER_LF,   /* CR of the final CRLF seen */
  S_END,
  S_ERROR,
};

void qcc_dechunk_init(struct qcc_dechunk *d) { memset(d, 0, sizeof *d); }

/* Hex digit values + 1 (0: not a hex digit). */
static const unsigned char hex1[256] = {
    ['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5, ['5'] = 6, ['6'] = 7, ['7'] = 8,
    ['8'] = 9, ['9'] = 10, ['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
    ['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16};

static int hexval(char c) { return (int)hex1[(unsigned char)c] - 1; }

/* The common case in one go: "SIZE\r\n" with the whole line in IN. Returns
 * the bytes it used (0: leave it to the byte-wise states). */
static size_t size_line_fast(struct qcc_dechunk *d, const char *in, size_t len) {
  uint64_t v = 0;
  size_t j = 0;
  int h;
  while (j < len && j < 16 && (h = hexval(in[j])) >= 0) v = v << 4 | (uint64_t)h, j++;
  if (j == 0 || j + 2 > len || in[j] != '\r' || in[j + 1] != '\n') return 0;
  d->left = v;
  d->state = v > 0 ? S_DATA : S_TRAILER;
  return j + 2;
}

enum qcc_dechunk_status qcc_dechunk_feed(struct qcc_dechunk *d, const char *in, size_t len,
                                         char *out, size_t *out_len) {
  size_t i = 0, o = 0;
  while (i < len && d->state != S_END && d->state != S_ERROR) {
    char c = in[i];
    if (d->state == S_SIZE && d->digits == 0) {
      size_t n = size_line_fast(d, in + i, len - i);
      if (n > 0) {
        i += n;
        continue;
      }
    }
    switch (d->state) {
    case S_SIZE: {
      int v = hexval(c);
      if (v >= 0) {
        if (d->digits >= 16) { d->state = S_ERROR; break; } /* > 64 bits */
        d->left = d->left << 4 | (uint64_t)v;
        d->digits++;
        i++;
      } else if (d->digits == 0) {
        d->state = S_ERROR;
      } else {
        d->state = S_EXT;
        d->line = 0;
      }
      break;
    }
    case S_EXT:
      /* ";name=value" extensions and BWS are skipped, bounded; a bare LF is
       * accepted as curl accepts it */
      i++;
      if (c == '\n') {
        d->digits = 0;
        d->state = d->left > 0 ? S_DATA : S_TRAILER;
      } else if (++d->line > QCC_DECHUNK_LINE_MAX || c == '\0') {
        d->state = S_ERROR;
      }
      break;
    case S_DATA: {
      size_t n = len - i;
      if ((uint64_t)n > d->left) n = (size_t)d->left;
      memcpy(out + o, in + i, n);
      o += n;
      i += n;
      d->left -= n;
      if (d->left > 0) break;
      if (i + 2 <= len && in[i] == '\r' && in[i + 1] == '\n') {
        i += 2;
        d->state = S_SIZE;
      } else {
        d->state = S_DATA_CR;
      }
      break;
    }
    case S_DATA_CR:
      i++;
      if (c == '\r') d->state = S_DATA_LF;
      else if (c == '\n') d->state = S_SIZE;
      else d->state = S_ERROR;
      break;
    case S_DATA_LF:
      i++;
      d->state = c == '\n' ? S_SIZE : S_ERROR;
      break;
    case S_TRAILER:
      i++;
      d->line = 0;
      if (c == '\r') d->state = S_TRAILER_LF;
      else if (c == '\n') d->state = S_END;
      else d->state = S_TRAILER_LINE;
      break;
    case S_TRAILER_LINE:
      i++;
      if (c == '\n') d->state = S_TRAILER;
      else if (++d->line > QCC_DECHUNK_LINE_MAX) d->state = S_ERROR;
      break;
    case S_TRAILER_LF:
      i++;
      d->state = c == '\n' ? S_END : S_ERROR;
      break;
    default:
      break;
    }
  }
  *out_len = o;
  if (d->state == S_ERROR) return QCC_DECHUNK_ERROR;
  return d->state == S_END ? QCC_DECHUNK_END : QCC_DECHUNK_MORE;
}
