/* Reference copy of runtime/usagecap.c before the fast paths (see usagecap_ref.h). */
#include "usagecap_ref.h"

#include <string.h>

enum { L_START = 0, L_FIELD, L_EVENT, L_DATA, L_SKIP };
enum { T_VALUE = 0, T_STRING, T_KEY, T_NUMBER, T_LITERAL };
enum { TAG_ROOT = 1, TAG_MESSAGE, TAG_USAGE, TAG_CACHE, TAG_OTHER };

static const char *const usage_keys[] = {
    [REF_UC_IN] = "input_tokens",
    [REF_UC_OUT] = "output_tokens",
    [REF_UC_CW] = "cache_creation_input_tokens",
    [REF_UC_CR] = "cache_read_input_tokens",
};
static const char *const cache_keys[] = {
    [REF_UC_5M] = "ephemeral_5m_input_tokens",
    [REF_UC_1H] = "ephemeral_1h_input_tokens",
};

static void json_reset(struct ref_usagecap *c) {
  c->tok = T_VALUE;
  c->esc = false;
  c->expect_key = false;
  c->dead = false;
  c->depth = 0;
  c->klen = 0;
  c->field_id = REF_UC_N;
}

void ref_usagecap_begin(struct ref_usagecap *c, enum ref_usagecap_kind kind) {
  memset(c, 0, sizeof *c);
  c->kind = (uint8_t)kind;
  for (int i = 0; i < REF_UC_N; i++) c->v[i] = -2;
  json_reset(c);
}

static bool key_is(const struct ref_usagecap *c, const char *k) {
  size_t n = strlen(k);
  return c->klen == n && memcmp(c->key, k, n) == 0;
}

static uint8_t cur_tag(const struct ref_usagecap *c) {
  if (c->depth < 1 || c->depth > REF_USAGECAP_DEPTH) return TAG_OTHER;
  return c->tag[c->depth - 1];
}

/* The key just read names which count, in the current object? */
static uint8_t field_of(const struct ref_usagecap *c) {
  uint8_t t = cur_tag(c);
  if (t == TAG_USAGE) {
    for (int i = REF_UC_IN; i <= REF_UC_CR; i++)
      if (key_is(c, usage_keys[i])) return (uint8_t)i;
  } else if (t == TAG_CACHE) {
    for (int i = REF_UC_5M; i <= REF_UC_1H; i++)
      if (key_is(c, cache_keys[i])) return (uint8_t)i;
  }
  return REF_UC_N;
}

static void push(struct ref_usagecap *c, bool object) {
  uint8_t parent = c->depth == 0 ? 0 : cur_tag(c);
  uint8_t tag = TAG_OTHER;
  if (c->depth == 0) tag = TAG_ROOT;
  else if (object && parent == TAG_ROOT && key_is(c, "message")) tag = TAG_MESSAGE;
  else if (object && (parent == TAG_ROOT || parent == TAG_MESSAGE) && key_is(c, "usage"))
    tag = TAG_USAGE;
  else if (object && parent == TAG_USAGE && key_is(c, "cache_creation")) tag = TAG_CACHE;
  if (tag == TAG_USAGE) c->seen = true;
  if (c->depth < REF_USAGECAP_DEPTH) {
    c->tag[c->depth] = tag;
    c->obj[c->depth] = object;
  }
  c->depth++;
  c->expect_key = object;
  c->klen = 0;
}

static bool in_object(const struct ref_usagecap *c) {
  return c->depth >= 1 && (c->depth > REF_USAGECAP_DEPTH || c->obj[c->depth - 1]);
}

/* A value ended: the count it was (if any) is settled. */
static void value_end(struct ref_usagecap *c, int64_t v) {
  if (c->field_id < REF_UC_N) c->v[c->field_id] = v;
  c->field_id = REF_UC_N;
  c->klen = 0;
}

static void number_end(struct ref_usagecap *c) {
  c->tok = T_VALUE;
  bool ok = !c->nbad && c->ndig > 0 && c->num <= QCC_USAGE_MAX_TOKENS;
  value_end(c, ok ? c->num : QCC_USAGE_UNKNOWN);
}

/* Where the string's run of plain bytes ends: the next '"' or '\\' in
 * P[0..LEN), or LEN. Short runs (keys, most values) eight bytes at a time;
 * long ones (text) with memchr. */
static size_t plain_run(const char *p, size_t len) {
  const uint64_t ones = UINT64_C(0x0101010101010101), highs = UINT64_C(0x8080808080808080);
  size_t i = 0;
  while (len - i >= 8 && i < 64) {
    uint64_t w;
    memcpy(&w, p + i, 8);
    uint64_t q = w ^ (ones * '"'), b = w ^ (ones * '\\');
    if ((((q - ones) & ~q) | ((b - ones) & ~b)) & highs) break;
    i += 8;
  }
  if (len - i >= 8 && i >= 64) {
    const char *q = memchr(p + i, '"', len - i);
    size_t end = q != NULL ? (size_t)(q - p) : len;
    const char *b = memchr(p + i, '\\', end - i);
    return b != NULL ? (size_t)(b - p) : end;
  }
  for (; i < len; i++)
    if (p[i] == '"' || p[i] == '\\') return i;
  return len;
}

/* Skip string bytes: returns bytes used; sets tok back to T_VALUE at the
 * closing quote. Keys are kept (cut at the buffer; a cut key matches
 * nothing). */
static size_t string_bytes(struct ref_usagecap *c, const char *p, size_t len) {
  size_t i = 0;
  bool key = c->tok == T_KEY;
  while (i < len) {
    if (c->esc) {
      c->esc = false;
      if (key) c->klen = sizeof c->key; /* escaped keys match nothing */
      i++;
      continue;
    }
    size_t end = i + plain_run(p + i, len - i);
    if (key && c->klen < sizeof c->key) {
      size_t n = end - i;
      if (c->klen + n <= sizeof c->key) memcpy(c->key + c->klen, p + i, n), c->klen += (uint8_t)n;
      else c->klen = sizeof c->key;
    }
    i = end;
    if (i == len) break;
    if (p[i] == '\\') {
      c->esc = true;
      i++;
      continue;
    }
    c->tok = T_VALUE;
    if (key) {
      c->field_id = field_of(c);
      c->expect_key = false;
    } else {
      value_end(c, QCC_USAGE_UNKNOWN); /* a count given as a string */
    }
    return i + 1;
  }
  return len;
}

static bool is_alpha(char ch) { return (unsigned)((ch | 0x20) - 'a') < 26; }

static void json_feed(struct ref_usagecap *c, const char *p, size_t len) {
  const char *e = p + len;
  while (p < e) {
    if (c->dead) return;
    switch (c->tok) {
    case T_STRING:
    case T_KEY:
      p += string_bytes(c, p, (size_t)(e - p));
      continue;
    case T_NUMBER:
      while (p < e && (unsigned)(*p - '0') < 10) {
        if (c->ndig < 15) c->num = c->num * 10 + (*p - '0');
        else c->nbad = true;
        if (c->ndig < 255) c->ndig++;
        p++;
      }
      if (p == e) return;
      if (*p == '.' || *p == 'e' || *p == 'E' || *p == '+' || *p == '-') {
        c->nbad = true;
        p++;
        continue;
      }
      number_end(c);
      break; /* *p is the next token's */
    case T_LITERAL:
      while (p < e && is_alpha(*p)) p++;
      if (p == e) return;
      c->tok = T_VALUE;
      value_end(c, QCC_USAGE_UNKNOWN);
      break;
    default:
      break;
    }
    char ch = *p++;
    switch (ch) {
    case ' ': case '\t': case '\n': case '\r': case ':':
      break;
    case ',':
      if (in_object(c)) c->expect_key = true;
      c->field_id = REF_UC_N;
      break;
    case '{':
    case '[':
      if (c->field_id < REF_UC_N) value_end(c, QCC_USAGE_UNKNOWN);
      push(c, ch == '{');
      break;
    case '}':
    case ']':
      if (c->depth == 0) {
        c->dead = true;
        break;
      }
      c->depth--;
      c->expect_key = false;
      c->field_id = REF_UC_N;
      break;
    case '"':
      if (in_object(c) && c->expect_key) {
        c->tok = T_KEY;
        /* only keys where usage can be matter; others are never kept */
        c->klen = cur_tag(c) == TAG_OTHER ? sizeof c->key : 0;
      } else {
        c->tok = T_STRING;
      }
      break;
    default:
      if (c->depth == 0) {
        c->dead = true; /* not a JSON object or array */
      } else if ((unsigned)(ch - '0') < 10 || ch == '-') {
        c->tok = T_NUMBER;
        c->num = ch == '-' ? 0 : ch - '0';
        c->nbad = ch == '-';
        c->ndig = ch == '-' ? 0 : 1;
      } else {
        c->tok = T_LITERAL;
      }
      break;
    }
  }
}

/* The end of a data line (or of the document): a number there is whole. */
static void json_line_end(struct ref_usagecap *c) {
  if (c->tok == T_NUMBER) number_end(c);
  else if (c->tok == T_LITERAL) json_feed(c, "\n", 1);
}

static inline void event_end(struct ref_usagecap *c) {
  /* most events never touched the JSON state */
  if (c->tok != T_VALUE || c->depth != 0 || c->dead || c->esc || c->field_id != REF_UC_N) {
    json_line_end(c);
    json_reset(c);
  }
  c->ev_named = false;
  c->ev_usage = false;
}

static void event_name_end(struct ref_usagecap *c) {
  c->ev_named = true;
  c->ev_usage = (c->evlen == 13 && memcmp(c->ev, "message_start", 13) == 0) ||
                (c->evlen == 13 && memcmp(c->ev, "message_delta", 13) == 0);
}

/* An event line that is most of a stream, and never usage. */
static const char SKIP_EVENT[] = "event: content_block_delta\n";

static void sse_feed(struct ref_usagecap *c, const char *p, size_t len) {
  size_t i = 0;
  while (i < len) {
    switch (c->line) {
    case L_SKIP: {
      const char *nl = memchr(p + i, '\n', len - i);
      if (nl == NULL) return;
      i = (size_t)(nl - p) + 1;
      c->line = L_START;
      break;
    }
    case L_START: {
      /* whole lines in this read: the common ones without the byte machine */
      size_t left = len - i;
      if (left >= sizeof SKIP_EVENT - 1 && memcmp(p + i, SKIP_EVENT, sizeof SKIP_EVENT - 1) == 0) {
        /* the bulk of a stream: its data is never read */
        c->ev_named = true;
        c->ev_usage = false;
        i += sizeof SKIP_EVENT - 1;
        /* the usual shape, "data: ...\n\n", whole in this read: one memchr */
        if (len - i > 5 && memcmp(p + i, "data:", 5) == 0) {
          const char *nl = memchr(p + i + 5, '\n', len - i - 5);
          if (nl != NULL && nl + 1 < p + len && nl[1] == '\n') {
            i = (size_t)(nl - p) + 2;
            event_end(c);
          }
        }
        break; /* else its lines go the usual way */
      }
      if (left >= 5 && memcmp(p + i, "data:", 5) == 0) {
        i += 5;
        c->line = c->ev_usage || !c->ev_named ? L_DATA : L_SKIP;
        break;
      }
      char ch = p[i++];
      if (ch == '\n') {
        event_end(c);
      } else if (ch == '\r') {
        /* the LF that follows ends the line */
      } else if (ch == ':') {
        c->line = L_SKIP;
      } else {
        c->field[0] = ch;
        c->flen = 1;
        c->line = L_FIELD;
      }
      break;
    }
    case L_FIELD: {
      char ch = p[i++];
      if (ch != ':' && ch != '\n') {
        if (c->flen < sizeof c->field) c->field[c->flen++] = ch;
        else c->line = L_SKIP;
        break;
      }
      bool is_event = c->flen == 5 && memcmp(c->field, "event", 5) == 0;
      bool is_data = c->flen == 4 && memcmp(c->field, "data", 4) == 0;
      if (ch == '\n') {
        c->line = L_START;
        if (is_event) {
          c->evlen = 0;
          event_name_end(c);
        }
      } else if (is_event) {
        c->evlen = 0;
        c->line = L_EVENT;
      } else if (is_data && (c->ev_usage || !c->ev_named)) {
        c->line = L_DATA;
      } else {
        c->line = L_SKIP;
      }
      break;
    }
    case L_EVENT: {
      char ch = p[i++];
      if (ch == '\n' || ch == '\r') {
        event_name_end(c);
        c->line = ch == '\n' ? L_START : L_SKIP;
      } else if (ch == ' ' && c->evlen == 0) {
        /* the optional space after the colon */
      } else if (c->evlen < sizeof c->ev) {
        c->ev[c->evlen++] = ch;
      } else {
        c->evlen = sizeof c->ev; /* too long for a name we read */
      }
      break;
    }
    case L_DATA: {
      const char *nl = memchr(p + i, '\n', len - i);
      size_t end = nl != NULL ? (size_t)(nl - p) : len;
      json_feed(c, p + i, end - i);
      if (nl == NULL) return;
      json_line_end(c);
      i = end + 1;
      c->line = L_START;
      break;
    }
    }
  }
}

void ref_usagecap_feed(struct ref_usagecap *c, const char *p, size_t len) {
  if (c->kind == REF_USAGECAP_SSE) sse_feed(c, p, len);
  else if (c->kind == REF_USAGECAP_JSON) json_feed(c, p, len);
}

static int64_t count_of(int64_t v) { return v == -2 ? 0 : v; }

bool ref_usagecap_result(const struct ref_usagecap *c, struct qcc_usage_tokens *out) {
  struct ref_usagecap t = *c;
  /* a number at the very end of a JSON answer has no byte after it */
  if (t.kind == REF_USAGECAP_JSON && t.tok == T_NUMBER) number_end(&t);
  if (!t.seen) {
    *out = (struct qcc_usage_tokens){QCC_USAGE_UNKNOWN, QCC_USAGE_UNKNOWN, QCC_USAGE_UNKNOWN,
                                     QCC_USAGE_UNKNOWN, QCC_USAGE_UNKNOWN};
    return false;
  }
  out->input = count_of(t.v[REF_UC_IN]);
  out->output = count_of(t.v[REF_UC_OUT]);
  out->cache_read = count_of(t.v[REF_UC_CR]);
  if (t.v[REF_UC_5M] != -2 || t.v[REF_UC_1H] != -2) {
    out->cache_write_5m = count_of(t.v[REF_UC_5M]);
    out->cache_write_1h = count_of(t.v[REF_UC_1H]);
  } else {
    out->cache_write_5m = count_of(t.v[REF_UC_CW]);
    out->cache_write_1h = 0;
  }
  return true;
}
