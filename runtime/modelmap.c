#include "modelmap.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A few "model" keys at top level are plenty; duplicates beyond this many are
 * left as they are (such a body is not what any client sends). */
#define MAX_SPANS 8

static size_t skip_ws(const char *s, size_t len, size_t i) {
  while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) i++;
  return i;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* S[I] is '"': return the index just past the closing quote, or 0 on error. */
static size_t scan_string(const char *s, size_t len, size_t i) {
  i++;
  while (i < len) {
    unsigned char c = (unsigned char)s[i];
    if (c == '"') return i + 1;
    if (c < 0x20) return 0;
    if (c == '\\') {
      if (i + 1 >= len) return 0;
      char e = s[i + 1];
      if (e == 'u') {
        if (len - i < 6) return 0;
        for (int k = 2; k < 6; k++)
          if (hexval(s[i + k]) < 0) return 0;
        i += 6;
      } else if (strchr("\"\\/bfnrt", e) != NULL && e != '\0') {
        i += 2;
      } else {
        return 0;
      }
      continue;
    }
    i++;
  }
  return 0;
}

/* Skip one value starting at S[I]; return the index after it, or 0. Nested
 * containers are skipped by depth counting; their exact well-formedness is
 * checked by the full parse that precedes any rewrite. */
static size_t skip_value(const char *s, size_t len, size_t i) {
  if (i >= len) return 0;
  char c = s[i];
  if (c == '"') return scan_string(s, len, i);
  if (c == '{' || c == '[') {
    size_t depth = 0;
    while (i < len) {
      c = s[i];
      if (c == '"') {
        i = scan_string(s, len, i);
        if (i == 0) return 0;
        continue;
      }
      if (c == '{' || c == '[') depth++;
      if (c == '}' || c == ']') {
        depth--;
        if (depth == 0) return i + 1;
      }
      i++;
    }
    return 0;
  }
  size_t start = i;
  while (i < len && strchr(",}] \t\r\n", s[i]) == NULL && s[i] != '\0') i++;
  return i > start ? i : 0;
}

static void put_utf8(char *out, size_t *n, uint32_t cp) {
  if (cp < 0x80) {
    out[(*n)++] = (char)cp;
  } else if (cp < 0x800) {
    out[(*n)++] = (char)(0xc0 | (cp >> 6));
    out[(*n)++] = (char)(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out[(*n)++] = (char)(0xe0 | (cp >> 12));
    out[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[(*n)++] = (char)(0x80 | (cp & 0x3f));
  } else {
    out[(*n)++] = (char)(0xf0 | (cp >> 18));
    out[(*n)++] = (char)(0x80 | ((cp >> 12) & 0x3f));
    out[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[(*n)++] = (char)(0x80 | (cp & 0x3f));
  }
}

static long hex4(const char *p) {
  long v = 0;
  for (int k = 0; k < 4; k++) {
    int h = hexval(p[k]);
    if (h < 0) return -1;
    v = v * 16 + h;
  }
  return v;
}

long qcc_modelmap_decode(const char *tok, size_t len, char *out, size_t cap) {
  if (len < 2 || tok[0] != '"' || tok[len - 1] != '"') return -1;
  size_t n = 0;
  size_t i = 1;
  size_t end = len - 1;
  while (i < end) {
    char c = tok[i];
    if (c != '\\') {
      if (n >= cap) return -1;
      out[n++] = c;
      i++;
      continue;
    }
    if (i + 1 >= end) return -1;
    char e = tok[i + 1];
    if (e != 'u') {
      static const char from[] = "\"\\/bfnrt";
      static const char to[] = "\"\\/\b\f\n\r\t";
      const char *p = strchr(from, e);
      if (p == NULL || e == '\0' || n >= cap) return -1;
      out[n++] = to[p - from];
      i += 2;
      continue;
    }
    if (end - i < 6) return -1;
    long cp = hex4(tok + i + 2);
    if (cp < 0) return -1;
    i += 6;
    if (cp >= 0xd800 && cp <= 0xdbff) {
      /* a high surrogate must be followed by an escaped low one */
      if (end - i < 6 || tok[i] != '\\' || tok[i + 1] != 'u') return -1;
      long lo = hex4(tok + i + 2);
      if (lo < 0xdc00 || lo > 0xdfff) return -1;
      cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
      i += 6;
    } else if (cp >= 0xdc00 && cp <= 0xdfff) {
      return -1;
    }
    if (cap - n < 4) return -1;
    put_utf8(out, &n, (uint32_t)cp);
  }
  return (long)n;
}

int qcc_modelmap_scan(const char *body, size_t len, struct qcc_modelmap_span *spans, size_t cap) {
  size_t i = skip_ws(body, len, 0);
  if (i >= len || body[i] != '{') return -1;
  i = skip_ws(body, len, i + 1);
  if (i < len && body[i] == '}') return skip_ws(body, len, i + 1) == len ? 0 : -1;
  int found = 0;
  for (;;) {
    if (i >= len || body[i] != '"') return -1;
    size_t kend = scan_string(body, len, i);
    if (kend == 0) return -1;
    char key[8];
    long klen = qcc_modelmap_decode(body + i, kend - i, key, sizeof key);
    bool is_model = klen == 5 && memcmp(key, "model", 5) == 0;
    i = skip_ws(body, len, kend);
    if (i >= len || body[i] != ':') return -1;
    i = skip_ws(body, len, i + 1);
    size_t vend = skip_value(body, len, i);
    if (vend == 0) return -1;
    if (is_model && body[i] == '"' && (size_t)found < cap) {
      spans[found].off = i;
      spans[found].len = vend - i;
      found++;
    }
    i = skip_ws(body, len, vend);
    if (i >= len) return -1;
    if (body[i] == '}') break;
    if (body[i] != ',') return -1;
    i = skip_ws(body, len, i + 1);
  }
  return skip_ws(body, len, i + 1) == len ? found : -1;
}

/* JSON-escape S into OUT (when non-NULL); returns the escaped length
 * including the quotes. */
static size_t encode(const char *s, size_t len, char *out) {
  static const char hex[] = "0123456789abcdef";
  size_t n = 0;
  if (out != NULL) out[n] = '"';
  n++;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '"' || c == '\\') {
      if (out != NULL) {
        out[n] = '\\';
        out[n + 1] = (char)c;
      }
      n += 2;
    } else if (c < 0x20) {
      if (out != NULL) {
        memcpy(out + n, "\\u00", 4);
        out[n + 4] = hex[c >> 4];
        out[n + 5] = hex[c & 0xf];
      }
      n += 6;
    } else {
      if (out != NULL) out[n] = (char)c;
      n++;
    }
  }
  if (out != NULL) out[n] = '"';
  return n + 1;
}

/* Only a body the real parser accepts is rewritten: the light scanner above
 * does not check everything (numbers, nesting), and a body the upstream
 * would reject should reach it unchanged. */
static bool valid_json(const char *body, size_t len) {
  json_error_t jerr;
  json_t *j = json_loadb(body, len, 0, &jerr);
  if (j == NULL) return false;
  json_decref(j);
  return true;
}

int qcc_modelmap_apply(const char *body, size_t len, qcc_modelmap_lookup_fn lookup, void *ctx,
                       char **out, size_t *out_len) {
  if (body == NULL || len == 0) return 0;
  struct qcc_modelmap_span spans[MAX_SPANS];
  int n = qcc_modelmap_scan(body, len, spans, MAX_SPANS);
  if (n <= 0) return 0;
  const char *to[MAX_SPANS];
  size_t to_len[MAX_SPANS];
  size_t enc_len[MAX_SPANS];
  size_t total = len;
  int hits = 0;
  char name[QCC_MODELMAP_MAX_NAME];
  for (int k = 0; k < n; k++) {
    to[k] = NULL;
    long dl = qcc_modelmap_decode(body + spans[k].off, spans[k].len, name, sizeof name);
    if (dl < 0) continue;
    to[k] = lookup(ctx, name, (size_t)dl, &to_len[k]);
    if (to[k] == NULL) continue;
    enc_len[k] = encode(to[k], to_len[k], NULL);
    total = total - spans[k].len + enc_len[k];
    hits++;
  }
  if (hits == 0 || !valid_json(body, len)) return 0;
  char *buf = malloc(total > 0 ? total : 1);
  if (buf == NULL) return -1;
  size_t at = 0;
  size_t from = 0;
  for (int k = 0; k < n; k++) {
    if (to[k] == NULL) continue;
    memcpy(buf + at, body + from, spans[k].off - from);
    at += spans[k].off - from;
    at += encode(to[k], to_len[k], buf + at);
    from = spans[k].off + spans[k].len;
  }
  memcpy(buf + at, body + from, len - from);
  at += len - from;
  *out = buf;
  *out_len = at;
  return 1;
}

struct table_map {
  const struct qcc_table *t;
  const struct qcc_tbl_endpoint *ep;
};

static const char *table_lookup(void *ctx, const char *model, size_t len, size_t *to_len) {
  const struct table_map *m = ctx;
  for (uint32_t i = 0; i < m->ep->model_map_count; i++) {
    const struct qcc_tbl_pair *p = qcc_table_model_map(m->t, m->ep->model_map_first + i);
    if (p == NULL) continue;
    if (p->key.len == len && memcmp(qcc_table_str(m->t, p->key), model, len) == 0) {
      *to_len = p->value.len;
      return qcc_table_str(m->t, p->value);
    }
  }
  return NULL;
}

int qcc_modelmap_rewrite(const struct qcc_table *t, const struct qcc_tbl_endpoint *ep,
                         const char *body, size_t len, char **out, size_t *out_len) {
  if (ep->model_map_count == 0) return 0;
  struct table_map m = {t, ep};
  return qcc_modelmap_apply(body, len, table_lookup, &m, out, out_len);
}
