/* Inside jsonscan (runtime/jsonscan.h is its public interface): what its two
 * files share. Nothing outside runtime/jsonscan*.c includes this.
 *
 *   jsonscan.c          the forward walk over the whole body (strings
 *                       checked and decoded, nested values skipped 64 bytes
 *                       a step), qcc_jsonscan_body, decode, encode, and
 *                       the "stream" at the body's tail
 *   jsonscan_bounded.c  the bounded mode for big bodies: the front read
 *                       with the walk's member loop, the back read
 *                       backwards, the middle only searched and its depth
 *                       counted (qcc_jsonscan_bounded, qcc_jsonscan_quick)
 *
 * The 64-byte block helpers are static inline here: both files' loops
 * inline them (a call per 64 bytes shows on a 1 MB body). */
#ifndef QCC_RUNTIME_JSONSCAN_INT_H
#define QCC_RUNTIME_JSONSCAN_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "jsonscan.h"

/* Parsing state of one scan: the body and where it is. */
struct scan {
  const char *s;
  size_t len;
  size_t i;
};

/* Output of a checked string: decoded bytes go to OUT while they fit; N
 * counts them all. OUT NULL checks only. */
struct sink {
  char *out;
  size_t cap;
  size_t n;
};

/* Nested values are skipped 64 bytes at a time: one bit per byte says
 * where the quotes, backslashes and brackets are; escaped bytes and string
 * interiors are masked out with bit operations, so only brackets outside
 * strings (and unescaped backslashes) cost a step each. */
struct block {
  uint64_t quote, backslash, bracket; /* bracket: a superset, see jsonscan_classify */
};

#if defined(__SSE2__) && !defined(QCC_JSONSCAN_SCALAR)
#include <emmintrin.h>

static inline uint64_t mask16(__m128i v, __m128i c) {
  return (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v, c));
}

/* inlined in both walks: a call per 64 bytes shows on a 1 MB body */
__attribute__((always_inline)) static inline void
jsonscan_classify(const unsigned char *p, struct block *b) {
  const __m128i q = _mm_set1_epi8('"'), bs = _mm_set1_epi8('\\');
  /* x | 0x26 == 0x7f for the four brackets (and 'Y', '_', 'y', DEL: the
   * caller looks at the byte) */
  const __m128i fold = _mm_set1_epi8(0x26), br = _mm_set1_epi8(0x7f);
  __m128i v0 = _mm_loadu_si128((const __m128i *)(const void *)p);
  __m128i v1 = _mm_loadu_si128((const __m128i *)(const void *)(p + 16));
  __m128i v2 = _mm_loadu_si128((const __m128i *)(const void *)(p + 32));
  __m128i v3 = _mm_loadu_si128((const __m128i *)(const void *)(p + 48));
  b->quote = mask16(v0, q) | mask16(v1, q) << 16 | mask16(v2, q) << 32 | mask16(v3, q) << 48;
  b->backslash =
      mask16(v0, bs) | mask16(v1, bs) << 16 | mask16(v2, bs) << 32 | mask16(v3, bs) << 48;
  b->bracket = mask16(_mm_or_si128(v0, fold), br) | mask16(_mm_or_si128(v1, fold), br) << 16 |
               mask16(_mm_or_si128(v2, fold), br) << 32 |
               mask16(_mm_or_si128(v3, fold), br) << 48;
}
#else
/* inlined in both walks: a call per 64 bytes shows on a 1 MB body */
__attribute__((always_inline)) static inline void
jsonscan_classify(const unsigned char *p, struct block *b) {
  b->quote = b->backslash = b->bracket = 0;
  for (int k = 0; k < 64; k++) {
    uint64_t bit = (uint64_t)1 << k;
    unsigned char c = p[k];
    if (c == '"') b->quote |= bit;
    if (c == '\\') b->backslash |= bit;
    if ((c | 0x26) == 0x7f) b->bracket |= bit;
  }
}
#endif

/* Inclusive prefix XOR: bit k = XOR of bits 0..k. */
static inline uint64_t jsonscan_prefix_xor(uint64_t x) {
  x ^= x << 1;
  x ^= x << 2;
  x ^= x << 4;
  x ^= x << 8;
  x ^= x << 16;
  x ^= x << 32;
  return x;
}

/* Bytes escaped by a backslash in a block whose backslashes are BS; *CARRY
 * (in and out, 0 or 1) says the block's first byte is escaped by the one
 * before. A run of backslashes escapes the byte after it when its length is
 * odd. Adding a run's first bit to the run carries to the byte after it, so
 * for runs starting on even bits the odd landing bits are the escaped ones,
 * and the other way round; a run still open at bit 63 escapes the next
 * block's first byte when it started on an odd bit. */
static inline uint64_t jsonscan_escaped(uint64_t bs, uint64_t *carry) {
  const uint64_t even = 0x5555555555555555ull, odd = ~even;
  uint64_t b = bs & ~*carry; /* an escaped backslash at bit 0 is a plain byte */
  uint64_t starts = b & ~(b << 1);
  uint64_t from_even = (b + (starts & even)) & ~b & odd;
  uint64_t sum;
  bool out = __builtin_add_overflow(b, starts & odd, &sum);
  uint64_t from_odd = sum & ~b & even;
  uint64_t esc = from_even | from_odd | *carry;
  *carry = out;
  return esc;
}

/* The members this scan looks for, at the level it is at. */
enum key { KEY_OTHER, KEY_MODEL, KEY_STREAM, KEY_METADATA, KEY_USER_ID };

/* jsonscan.c: the walk's pieces the bounded mode reuses (each documented
 * where it is defined) */
size_t jsonscan_check_string(const char *s, size_t len, size_t i, struct sink *k);
int jsonscan_skip_value(struct scan *sc, size_t depth);
int jsonscan_read_key(struct scan *sc, bool top, enum key *key);
int jsonscan_scan_metadata(struct scan *sc, struct qcc_jsonscan_facts *f);
int jsonscan_scan_top(struct scan *sc, struct qcc_jsonscan_facts *f, size_t *stop);

/* Two small helpers both files call, inline as they were in one file. */

/* The string value at SC->i, checked fully: its span, or -1. */
static inline int jsonscan_string_value(struct scan *sc, struct qcc_json_span *span) {
  struct sink none = {0};
  size_t end = jsonscan_check_string(sc->s, sc->len, sc->i, &none);
  if (end == 0) return -1;
  span->off = sc->i;
  span->len = end - sc->i;
  sc->i = end;
  return 0;
}

/* F says "nothing found" (as qcc_jsonscan_body on failure). */
static inline void jsonscan_nothing(struct qcc_jsonscan_facts *f) {
  memset(f, 0, sizeof *f);
  f->stream = -1;
}

#endif
