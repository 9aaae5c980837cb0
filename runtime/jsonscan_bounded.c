/* The bounded mode for big bodies (qcc_jsonscan_bounded, qcc_jsonscan_quick):
 * the top-level members read from the front with the walk's member loop
 * until the first container value, then from the back, values skipped
 * backwards, over at most QCC_JSONSCAN_TAIL_BUDGET bytes; the middle (the
 * message history) is only searched for a token that could be a later
 * member of a name still needed (AVX2 or scalar pair pass), and when one is
 * found its depth is counted forward (strings masked, brackets counted).
 * Anything it cannot settle this way goes to the walk in jsonscan.c. */
#include "jsonscan.h"

#include <stdint.h>
#include <string.h>

#include "jsonscan_int.h"

/* ---- the bounded mode: the front and the back, not the middle ---- */

/* S[J] is a '"' closing a string at a structural position: the index of its
 * opening quote (the previous quote after an even run of backslashes: inside
 * a string every quote is escaped), not below LO; false when there is none.
 * A long run of backslashes is counted once per quote after it. */
static bool back_string(const char *s, size_t lo, size_t j, size_t *open) {
  size_t k = j;
  while (k > lo) {
    const char *q = memrchr(s + lo, '"', k - lo);
    if (q == NULL) return false;
    k = (size_t)(q - s);
    size_t n = 0;
    /* the run is counted to the body's start, not LO: a quote's parity is
     * exact even for a string that began below LO (then none is found) */
    while (k - n > 0 && s[k - n - 1] == '\\') n++;
    if ((n & 1) == 0) {
      *open = k;
      return true;
    }
  }
  return false;
}

/* Whether the byte at S[AT] is escaped by the run of backslashes before it
 * (read back to the body's start); -1 when the run is too long to count
 * cheaply (the caller walks the body instead). */
static int escaped_at(const char *s, size_t at) {
  size_t n = 0;
  while (n < at && s[at - n - 1] == '\\') {
    if (++n > 256) return -1;
  }
  return (int)(n & 1);
}

/* S[E-1] closes a container at a structural position: the index of its
 * opening bracket, not below LO, or SIZE_MAX. skip_container backwards, 64
 * bytes a step: a block's string state is known at its end (from the block
 * after it), so at its start it is that flipped once per quote; whether its
 * first byte is escaped is read from the backslashes before it. */
static size_t back_container(const char *s, size_t lo, size_t e) {
  uint64_t closed_by_brace[QCC_JSONSCAN_MAX_DEPTH / 64] = {0};
  size_t depth = 0;
  uint64_t end_in_string = 0; /* all ones when the block's end is inside a string */
  unsigned char pad[64];
  for (size_t end = e; end > lo;) {
    size_t at = end - lo >= 64 ? end - 64 : lo;
    const unsigned char *p = (const unsigned char *)s + at;
    unsigned shift = (unsigned)(64 - (end - at)); /* the block is P[0..64-SHIFT) */
    if (shift != 0) { /* never read below LO: pad the front with spaces */
      memset(pad, ' ', shift);
      memcpy(pad + shift, p, end - at);
      p = pad;
    }
    struct block b;
    jsonscan_classify(p, &b);
    uint64_t quotes = b.quote;
    int carry_in = escaped_at(s, at);
    if (carry_in < 0) return SIZE_MAX;
    /* the first real byte, escaped from before: no part of a run here */
    uint64_t first = (uint64_t)carry_in << shift, none = 0;
    if ((b.backslash | first) != 0) quotes &= ~(jsonscan_escaped(b.backslash & ~first, &none) | first);
    uint64_t flips = jsonscan_prefix_xor(quotes); /* bit 63: the block's quotes are odd */
    uint64_t start_in_string = end_in_string ^ ((uint64_t)0 - (flips >> 63));
    uint64_t inside = flips ^ start_in_string;
    uint64_t events = b.bracket & ~inside;
    while (events != 0) {
      unsigned k = 63 - (unsigned)__builtin_clzll(events);
      events &= ~((uint64_t)1 << k);
      unsigned char c = p[k];
      if (c == '}' || c == ']') {
        if (depth >= QCC_JSONSCAN_MAX_DEPTH) return SIZE_MAX;
        uint64_t bit = (uint64_t)1 << (depth & 63);
        if (c == '}')
          closed_by_brace[depth >> 6] |= bit;
        else
          closed_by_brace[depth >> 6] &= ~bit;
        depth++;
      } else if (c == '{' || c == '[') {
        if (depth == 0) return SIZE_MAX;
        depth--;
        bool brace = (closed_by_brace[depth >> 6] >> (depth & 63)) & 1;
        if (brace != (c == '{')) return SIZE_MAX;
        if (depth == 0) return at + k - shift;
      }
    }
    end_in_string = start_in_string;
    end = at;
  }
  return SIZE_MAX;
}

static bool ws_byte(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

static size_t back_ws(const char *s, size_t lo, size_t j) {
  while (j > lo && ws_byte(s[j - 1])) j--;
  return j;
}

/* One member read backwards: KEY, its key token at KS, its value S[VS..VE). */
struct back_member {
  enum key key;
  size_t ks, vs, ve;
};

/* The member whose value ends at VE (S[VE-1] is its last byte), not reading
 * below LO. Returns 0, or -1 when it is not a member there. */
static int read_back(const char *s, size_t lo, size_t ve, struct back_member *m) {
  if (ve <= lo) return -1;
  size_t vs;
  char last = s[ve - 1];
  if (last == '"') {
    if (!back_string(s, lo, ve - 1, &vs)) return -1;
  } else if (last == '}' || last == ']') {
    vs = back_container(s, lo, ve);
    if (vs == SIZE_MAX) return -1;
  } else {
    vs = ve;
    while (vs > lo && ((s[vs - 1] >= '0' && s[vs - 1] <= '9') || (s[vs - 1] >= 'a' && s[vs - 1] <= 'z') ||
                       s[vs - 1] == '.' || s[vs - 1] == '+' || s[vs - 1] == '-' || s[vs - 1] == 'E'))
      vs--;
    if (vs == ve) return -1;
    struct scan sc = {s, ve, vs};
    if (jsonscan_skip_value(&sc, 1) != 0 || sc.i != ve) return -1;
  }
  size_t j = back_ws(s, lo, vs);
  if (j == lo || s[j - 1] != ':') return -1;
  j = back_ws(s, lo, j - 1);
  if (j == lo || s[j - 1] != '"') return -1;
  size_t ks;
  if (!back_string(s, lo, j - 1, &ks)) return -1;
  struct scan sc = {s, j, ks};
  if (jsonscan_read_key(&sc, true, &m->key) != 0 || sc.i != j) return -1;
  m->ks = ks;
  m->vs = vs;
  m->ve = ve;
  return 0;
}

enum { NEED_MODEL = 1, NEED_METADATA = 2, NEED_STREAM = 4 };

/* Whether the '"' at S[P] (LEN bytes in all) opens a string that decodes to
 * the name of a key in NEED. Such a token is at most 8 letters of 6 bytes
 * each (\u escapes), so no more than that is read. */
static bool candidate(const char *s, size_t len, size_t p, unsigned need) {
  /* most quotes before an 'm', 's' or a backslash are no key: the next
   * byte rules them out without decoding */
  const char *t = s + p;
  if (len - p < 8) return false;
  if (t[1] == '\\' ? t[2] != 'u' || t[3] != '0' || t[4] != '0'
                    : t[2] != '\\' && t[2] != 'o' && t[2] != 'e' && t[2] != 't')
    return false;
  size_t end = len - p > 50 ? p + 50 : len;
  char buf[9];
  struct sink k = {buf, sizeof buf, 0};
  if (jsonscan_check_string(s, end, p, &k) == 0 || k.n > sizeof buf) return false;
#define IS(lit) (k.n == sizeof lit - 1 && memcmp(buf, lit, k.n) == 0)
  return ((need & NEED_MODEL) && IS("model")) || ((need & NEED_METADATA) && IS("metadata")) ||
         ((need & NEED_STREAM) && IS("stream"));
#undef IS
}

/* A key named after one in NEED starts with a quote and then its first
 * letter or a backslash: the pairs looked for (L1 and L2 are the letters). */
static size_t pairs_scalar(const char *s, size_t len, size_t i, size_t to, char l1, char l2,
                           unsigned need) {
  for (; i + 1 < to; i++) {
    char b = s[i + 1];
    if (s[i] == '"' && (b == l1 || b == l2 || b == '\\') && candidate(s, len, i, need)) return i;
  }
  return SIZE_MAX;
}

#if defined(__x86_64__) && !defined(QCC_JSONSCAN_SCALAR)
#include <immintrin.h>

/* Quotes followed by L1, L2 or a backslash in 32 bytes at X (Y: one byte on). */
#define PAIRS32(x, y, q, a1, a2, bs, two)                                                      \
  _mm256_and_si256(_mm256_cmpeq_epi8(x, q),                                                    \
                   _mm256_or_si256((two) ? _mm256_or_si256(_mm256_cmpeq_epi8(y, a1),           \
                                                           _mm256_cmpeq_epi8(y, a2))           \
                                         : _mm256_cmpeq_epi8(y, a1),                           \
                                   _mm256_cmpeq_epi8(y, bs)))

/* The same, 64 bytes a step with AVX2 (the middle is most of a big body).
 * TWO: L2 differs from L1 (a constant where it is inlined). */
__attribute__((target("avx2"), always_inline)) static inline size_t
pairs_avx2(const char *s, size_t len, size_t i, size_t to, char l1, char l2, unsigned need, bool two) {
  const __m256i q = _mm256_set1_epi8('"'), bs = _mm256_set1_epi8('\\');
  const __m256i a1 = _mm256_set1_epi8(l1), a2 = _mm256_set1_epi8(l2);
  for (; to - i >= 65; i += 64) {
    const __m256i *p = (const __m256i *)(const void *)(s + i);
    const __m256i *r = (const __m256i *)(const void *)(s + i + 1);
    __m256i x0 = _mm256_loadu_si256(p), x1 = _mm256_loadu_si256(p + 1);
    __m256i y0 = _mm256_loadu_si256(r), y1 = _mm256_loadu_si256(r + 1);
    __m256i h0 = PAIRS32(x0, y0, q, a1, a2, bs, two), h1 = PAIRS32(x1, y1, q, a1, a2, bs, two);
    __m256i h = _mm256_or_si256(h0, h1);
    if (_mm256_testz_si256(h, h)) continue;
    uint64_t m = (uint32_t)_mm256_movemask_epi8(h0) | (uint64_t)(uint32_t)_mm256_movemask_epi8(h1) << 32;
    while (m != 0) {
      size_t at = i + (size_t)__builtin_ctzll(m);
      if (candidate(s, len, at, need)) return at;
      m &= m - 1;
    }
  }
  return pairs_scalar(s, len, i, to, l1, l2, need);
}

__attribute__((target("avx2"))) static size_t pairs_avx2_one(const char *s, size_t len, size_t i,
                                                             size_t to, char l1, unsigned need) {
  return pairs_avx2(s, len, i, to, l1, l1, need, false);
}

__attribute__((target("avx2"))) static size_t pairs_avx2_two(const char *s, size_t len, size_t i,
                                                             size_t to, char l1, char l2, unsigned need) {
  return pairs_avx2(s, len, i, to, l1, l2, need, true);
}
#undef PAIRS32
#endif

/* The first string in S[FROM..TO) that could be a member named after a key
 * in NEED (LEN: the body's length), or SIZE_MAX. */
static size_t middle_may_hold(const char *s, size_t len, size_t from, size_t to, unsigned need) {
  char l1 = (need & (NEED_MODEL | NEED_METADATA)) ? 'm' : 's';
  char l2 = (need & NEED_STREAM) ? 's' : l1;
#if defined(__x86_64__) && !defined(QCC_JSONSCAN_SCALAR)
  if (__builtin_cpu_supports("avx2"))
    return l1 == l2 ? pairs_avx2_one(s, len, from, to, l1, need)
                    : pairs_avx2_two(s, len, from, to, l1, l2, need);
#endif
  return pairs_scalar(s, len, from, to, l1, l2, need);
}

/* ---- the middle's top level, found by counting its depth, not checking it ---- */

struct depth_block {
  uint64_t quote, backslash, open, close;
};

/* The bits of block B inside a string (opening quotes included, closing
 * ones not); the carries IN_STRING and ESC move on to the next block. PX is
 * the prefix XOR (a carry-less multiply where the CPU has one). Most quotes
 * follow no backslash: jsonscan_escaped() runs only for a block where one may be
 * escaped or whose last bytes are backslashes. */
__attribute__((always_inline)) static inline uint64_t
inside_of(const struct depth_block *b, uint64_t *in_string, uint64_t *esc, uint64_t *quotes,
          uint64_t (*px)(uint64_t)) {
  uint64_t q = b->quote, bs = b->backslash;
  if (((q & (bs << 1 | *esc)) | (bs >> 63)) != 0)
    q &= ~jsonscan_escaped(bs, esc);
  else
    *esc = 0;
  uint64_t inside = px(q) ^ *in_string;
  *in_string = (uint64_t)0 - (inside >> 63);
  *quotes = q;
  return inside;
}

/* The quotes and backslashes of a block; its brackets (BRACKETS true, for
 * a block not all inside a string). */
static void depth_classify_scalar(const unsigned char *p, struct depth_block *b, bool brackets) {
  if (brackets) {
    b->open = b->close = 0;
    for (int k = 0; k < 64; k++) {
      uint64_t bit = (uint64_t)1 << k;
      if ((p[k] | 0x20) == '{') b->open |= bit; /* '{' or '[' */
      if ((p[k] | 0x20) == '}') b->close |= bit; /* '}' or ']' */
    }
    return;
  }
  b->quote = b->backslash = 0;
  for (int k = 0; k < 64; k++) {
    uint64_t bit = (uint64_t)1 << k;
    if (p[k] == '"') b->quote |= bit;
    if (p[k] == '\\') b->backslash |= bit;
  }
}

/* The first string in S[FROM..TO) that opens at depth 1 or less and could
 * be a member named after a key in NEED, or SIZE_MAX. S[FROM] is at depth
 * 1 outside any string (the front's first key not read); the nesting is
 * counted forward 64 bytes a step: strings masked out as in skip_container,
 * brackets outside them counted (popcount), not matched. For a JSON object
 * the count is exact; for anything else the bounded mode's answer is a
 * guess anyway. Only a block whose depth may come down to 1 has its
 * strings looked at: in a message history none does. */
/* The depth count's state between blocks. */
struct depth_count {
  long d;             /* nesting at the block's start (the top-level object is 1) */
  uint64_t in_string; /* all ones when the block starts inside a string */
  uint64_t esc;       /* 1 when its first byte is escaped */
};

/* One block of top_level_with at AT (BLK: its bytes); the candidate's
 * index or SIZE_MAX. */
__attribute__((always_inline)) static inline size_t
top_level_block(const char *s, size_t len, size_t at, const unsigned char *blk, size_t to,
                unsigned need, struct depth_count *c,
                void (*classify_block)(const unsigned char *, struct depth_block *, bool),
                uint64_t (*px)(uint64_t)) {
  struct depth_block b;
  uint64_t q;
  classify_block(blk, &b, false);
  if ((b.quote | ~c->in_string) == 0) { /* all inside one string: only the escape carries */
    if (b.backslash >> 63)
      jsonscan_escaped(b.backslash, &c->esc);
    else
      c->esc = 0;
    return SIZE_MAX;
  }
  uint64_t inside = inside_of(&b, &c->in_string, &c->esc, &q, px);
  if (~inside == 0) return SIZE_MAX;
  classify_block(blk, &b, true);
  uint64_t opens = b.open & ~inside, closes = b.close & ~inside;
  long d = c->d;
  c->d = d + __builtin_popcountll(opens) - __builtin_popcountll(closes);
  if (d - __builtin_popcountll(closes) > 1) return SIZE_MAX; /* never back at the top level */
  uint64_t starts = q & inside; /* opening quotes */
  if (to - at < 64) starts &= ((uint64_t)1 << (to - at)) - 1;
  for (; starts != 0; starts &= starts - 1) {
    unsigned k = (unsigned)__builtin_ctzll(starts);
    uint64_t before = ((uint64_t)1 << k) - 1;
    long dk = d + __builtin_popcountll(opens & before) - __builtin_popcountll(closes & before);
    if (dk <= 1 && candidate(s, len, at + k, need)) return at + k;
  }
  return SIZE_MAX;
}

__attribute__((always_inline)) static inline size_t
top_level_with(const char *s, size_t len, size_t from, size_t to, unsigned need,
               void (*classify_block)(const unsigned char *, struct depth_block *, bool),
               uint64_t (*px)(uint64_t)) {
  struct depth_count c = {1, 0, 0};
  size_t at = from, whole = len >= 64 ? len - 63 : 0; /* blocks from below WHOLE are in the body */
  size_t end = to < whole ? to : whole;
  for (; at < end; at += 64) {
    size_t k = top_level_block(s, len, at, (const unsigned char *)s + at, to, need, &c, classify_block, px);
    if (k != SIZE_MAX) return k;
  }
  if (at >= to) return SIZE_MAX;
  /* the last block: never read past the body, pad the rest with spaces */
  unsigned char pad[64];
  memset(pad, ' ', sizeof pad);
  memcpy(pad, s + at, len - at);
  return top_level_block(s, len, at, pad, to, need, &c, classify_block, px);
}

#if defined(__x86_64__) && !defined(QCC_JSONSCAN_SCALAR)
__attribute__((target("avx2"), always_inline)) static inline void
depth_classify_avx2(const unsigned char *p, struct depth_block *b, bool brackets) {
  __m256i x0 = _mm256_loadu_si256((const __m256i *)(const void *)p);
  __m256i x1 = _mm256_loadu_si256((const __m256i *)(const void *)(p + 32));
#define MASK64(c)                                                                                  \
  ((uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(x0, c)) |                            \
   (uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(x1, c)) << 32)
  if (brackets) {
    const __m256i low = _mm256_set1_epi8(0x20);
    x0 = _mm256_or_si256(x0, low);
    x1 = _mm256_or_si256(x1, low);
    b->open = MASK64(_mm256_set1_epi8('{'));
    b->close = MASK64(_mm256_set1_epi8('}'));
  } else {
    b->quote = MASK64(_mm256_set1_epi8('"'));
    b->backslash = MASK64(_mm256_set1_epi8('\\'));
  }
#undef MASK64
}

/* jsonscan_prefix_xor in one carry-less multiply by all ones */
__attribute__((target("pclmul"), always_inline)) static inline uint64_t prefix_xor_clmul(uint64_t x) {
  return (uint64_t)_mm_cvtsi128_si64(
      _mm_clmulepi64_si128(_mm_set_epi64x(0, (long long)x), _mm_set1_epi8((char)0xff), 0));
}

__attribute__((target("avx2,pclmul,popcnt"))) static size_t
top_level_avx2(const char *s, size_t len, size_t from, size_t to, unsigned need) {
  return top_level_with(s, len, from, to, need, depth_classify_avx2, prefix_xor_clmul);
}
#endif

static size_t top_level_candidate(const char *s, size_t len, size_t from, size_t to, unsigned need) {
#if defined(__x86_64__) && !defined(QCC_JSONSCAN_SCALAR)
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("pclmul"))
    return top_level_avx2(s, len, from, to, need);
#endif
  return top_level_with(s, len, from, to, need, depth_classify_scalar, jsonscan_prefix_xor);
}

/* Apply a member read from the back to F, the first time KEY is seen there
 * (the last member of that name). Returns 0 or -1 (not JSON). */
static int quick_back_fact(const char *s, const struct back_member *m, struct qcc_jsonscan_facts *f) {
  struct scan sc = {s, m->ve, m->vs};
  switch (m->key) {
  case KEY_MODEL:
    f->has_model = false;
    f->model_count = 0;
    if (s[m->vs] != '"') return 0;
    if (jsonscan_string_value(&sc, &f->model) != 0 || sc.i != m->ve) return -1;
    f->has_model = true;
    f->model_count = 1;
    f->models[0] = f->model;
    return 0;
  case KEY_STREAM:
    f->stream = m->ve - m->vs == 4 && memcmp(s + m->vs, "true", 4) == 0    ? 1
                : m->ve - m->vs == 5 && memcmp(s + m->vs, "false", 5) == 0 ? 0
                                                                           : -1;
    return 0;
  case KEY_METADATA:
    f->has_user_id = false;
    if (s[m->vs] != '{') return 0;
    return jsonscan_scan_metadata(&sc, f) == 0 && sc.i == m->ve ? 0 : -1;
  default: return 0;
  }
}

/* The back of the body, read member by member towards STOP. */
struct back {
  size_t stop;  /* the front's first key not read */
  size_t ve;    /* where the next member's value ends */
  size_t tail;  /* the key of the earliest member read */
  unsigned seen; /* NEED_* bits of keys met (their last members) */
  bool met;     /* the back reached STOP: every member was read */
};

/* Read members back while TAIL is above UNTIL, never below LO. Returns 0
 * (done or stopped: MET and TAIL say where), -1 when not JSON. */
static int read_tail(const char *body, size_t lo, size_t until, struct back *bk,
                     struct qcc_jsonscan_facts *f) {
  struct back_member m;
  while (!bk->met && bk->tail > until && read_back(body, lo, bk->ve, &m) == 0) {
    unsigned bit = m.key == KEY_MODEL      ? NEED_MODEL
                   : m.key == KEY_METADATA ? NEED_METADATA
                   : m.key == KEY_STREAM   ? NEED_STREAM
                                           : 0;
    if (bit != 0 && !(bk->seen & bit)) {
      if (quick_back_fact(body, &m, f) != 0) return -1;
      bk->seen |= bit;
    }
    bk->tail = m.ks;
    if (m.ks == bk->stop) {
      bk->met = true;
      break;
    }
    size_t j = back_ws(body, lo, m.ks);
    if (j == lo || body[j - 1] != ',') break;
    bk->ve = back_ws(body, lo, j - 1);
  }
  return 0;
}

/* Bytes the back is read over before the middle is looked at: the
 * settings after the history (metadata, max_tokens, thinking, stream). */
#define BACK_FIRST 4096

static int bounded(const char *body, size_t len, struct qcc_jsonscan_facts *f) {
  struct scan sc = {body, len, 0};
  struct back bk = {0};
  int front = jsonscan_scan_top(&sc, f, &bk.stop);
  if (front <= 0) return front; /* all read, or not JSON: the walk says the same */
  size_t stop = bk.stop, e = back_ws(body, stop, len);
  if (e <= stop || body[e - 1] != '}') return -1;
  bk.tail = e - 1;
  bk.ve = back_ws(body, stop, e - 1);
  size_t room = e - 1 - stop;
  size_t lo = room > BACK_FIRST ? e - 1 - BACK_FIRST : stop;
  if (read_tail(body, lo, stop, &bk, f) != 0) return -1;
  f->quick = true; /* MODELS holds the last model only, whatever was read */
  if (bk.met) return 0;
  unsigned need = (NEED_MODEL | NEED_METADATA | NEED_STREAM) & ~bk.seen;
  if (need == 0) return 0;
  /* A token that may be a later member (in Claude Code's bodies a Task
   * call's or a tool schema's "model"): when the first one is near the end
   * (a tool's parameter) the back is read over it, with every later one;
   * else the middle's depth is counted and only a token at the top level
   * makes it walk. Reading back costs about twice the count per byte and
   * fails on a container that reaches below LO. */
  size_t at = middle_may_hold(body, len, stop, bk.tail, need);
  if (at == SIZE_MAX) return 0;
  lo = room > QCC_JSONSCAN_TAIL_BUDGET ? e - 1 - QCC_JSONSCAN_TAIL_BUDGET : stop;
  if (at >= lo && (e - at) * 2 < at - stop) {
    if (read_tail(body, lo, at, &bk, f) != 0) return -1;
    if (bk.met || bk.tail <= at) return 0;
  }
  return top_level_candidate(body, len, stop, bk.tail, need) == SIZE_MAX ? 0 : -1;
}

int qcc_jsonscan_bounded(const char *body, size_t len, struct qcc_jsonscan_facts *facts) {
  jsonscan_nothing(facts);
  if (body == NULL) return -1;
  int rc = bounded(body, len, facts);
  if (rc == 0) {
    facts->object = true;
    return 0;
  }
  /* not JSON where read, or a later duplicate may hide in the middle */
  return qcc_jsonscan_body(body, len, facts);
}

int qcc_jsonscan_quick(const char *body, size_t len, struct qcc_jsonscan_facts *facts) {
  if (len < QCC_JSONSCAN_QUICK_MIN) return qcc_jsonscan_body(body, len, facts);
  return qcc_jsonscan_bounded(body, len, facts);
}
