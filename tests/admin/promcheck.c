#include "promcheck.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FAM 512
#define MAX_SERIES 8192
#define MAX_HIST 1024
#define MAX_LABELS 16

struct fam {
  char name[128];
  char type[16];
  bool help, typed, closed, seen;
};

struct hist {
  char key[512]; /* base + labels without le */
  double last_le, last_cum, inf, sum, count;
  bool any_bucket, has_inf, has_sum, has_count;
};

struct st {
  struct fam fam[MAX_FAM];
  size_t nfam;
  char *series[MAX_SERIES];
  size_t nseries;
  struct hist hist[MAX_HIST];
  size_t nhist;
  int current; /* family of the previous sample, -1 */
  char *why;
  size_t cap;
  size_t line;
};

static int fail(struct st *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct st *s, const char *fmt, ...) {
  int k = snprintf(s->why, s->cap, "line %zu: ", s->line);
  va_list ap;
  va_start(ap, fmt);
  if (k >= 0 && (size_t)k < s->cap) vsnprintf(s->why + k, s->cap - (size_t)k, fmt, ap);
  va_end(ap);
  return -1;
}

static bool name_ok(const char *p, size_t n, bool metric) {
  if (n == 0) return false;
  for (size_t i = 0; i < n; i++) {
    char c = p[i];
    bool ok = isalpha((unsigned char)c) || c == '_' || (metric && c == ':') ||
              (i > 0 && isdigit((unsigned char)c));
    if (!ok) return false;
  }
  return true;
}

static int find_fam(struct st *s, const char *name) {
  for (size_t i = 0; i < s->nfam; i++)
    if (strcmp(s->fam[i].name, name) == 0) return (int)i;
  return -1;
}

static int get_fam(struct st *s, const char *name) {
  int i = find_fam(s, name);
  if (i >= 0) return i;
  if (s->nfam == MAX_FAM) return -1;
  snprintf(s->fam[s->nfam].name, sizeof s->fam[0].name, "%s", name);
  return (int)s->nfam++;
}

static bool parse_float(const char *p, size_t n, double *out) {
  char buf[64];
  if (n == 0 || n >= sizeof buf) return false;
  memcpy(buf, p, n);
  buf[n] = '\0';
  if (strcmp(buf, "NaN") == 0) {
    *out = NAN;
    return true;
  }
  if (strcmp(buf, "+Inf") == 0 || strcmp(buf, "Inf") == 0) {
    *out = INFINITY;
    return true;
  }
  if (strcmp(buf, "-Inf") == 0) {
    *out = -INFINITY;
    return true;
  }
  for (size_t i = 0; i < n; i++)
    if (!isdigit((unsigned char)buf[i]) && strchr("+-.eE", buf[i]) == NULL) return false;
  char *end = NULL;
  *out = strtod(buf, &end);
  return end == buf + n;
}

static int comment(struct st *s, const char *p, size_t n) {
  /* "# HELP name text" / "# TYPE name type" / anything else is a comment */
  if (n < 7 || (strncmp(p, "# HELP ", 7) != 0 && strncmp(p, "# TYPE ", 7) != 0)) return 0;
  bool help = p[2] == 'H';
  const char *nm = p + 7;
  size_t nl = 0;
  while (7 + nl < n && nm[nl] != ' ') nl++;
  if (!name_ok(nm, nl, true)) return fail(s, "bad metric name in %s", help ? "HELP" : "TYPE");
  char name[128];
  if (nl >= sizeof name) return fail(s, "metric name too long");
  memcpy(name, nm, nl);
  name[nl] = '\0';
  int f = get_fam(s, name);
  if (f < 0) return fail(s, "too many families");
  struct fam *fa = &s->fam[f];
  const char *rest = nm + nl + (7 + nl < n ? 1 : 0);
  size_t rl = n - (size_t)(rest - p);
  if (help) {
    if (fa->help) return fail(s, "second HELP for %s", name);
    fa->help = true;
    for (size_t i = 0; i < rl; i++) {
      if (rest[i] != '\\') continue;
      if (i + 1 >= rl || (rest[i + 1] != '\\' && rest[i + 1] != 'n'))
        return fail(s, "bad escape in HELP of %s", name);
      i++; /* the escaped character */
    }
    return 0;
  }
  if (fa->typed) return fail(s, "second TYPE for %s", name);
  if (fa->seen) return fail(s, "TYPE for %s after its samples", name);
  static const char *types[] = {"counter", "gauge", "histogram", "summary", "untyped"};
  bool ok = false;
  for (size_t i = 0; i < 5; i++)
    if (rl == strlen(types[i]) && strncmp(rest, types[i], rl) == 0) ok = true;
  if (!ok) return fail(s, "unknown TYPE \"%.*s\" for %s", (int)rl, rest, name);
  memcpy(fa->type, rest, rl);
  fa->type[rl] = '\0';
  fa->typed = true;
  return 0;
}

/* Sample family: exact TYPE, else a histogram/summary base. */
static int family_of(struct st *s, const char *name, const char **suffix) {
  *suffix = "";
  int f = find_fam(s, name);
  if (f >= 0 && s->fam[f].typed) return f;
  static const char *sfx[] = {"_bucket", "_sum", "_count"};
  for (size_t i = 0; i < 3; i++) {
    size_t nl = strlen(name), sl = strlen(sfx[i]);
    if (nl <= sl || strcmp(name + nl - sl, sfx[i]) != 0) continue;
    char base[128];
    snprintf(base, sizeof base, "%.*s", (int)(nl - sl), name);
    int b = find_fam(s, base);
    if (b >= 0 && (strcmp(s->fam[b].type, "histogram") == 0 ||
                   (strcmp(s->fam[b].type, "summary") == 0 && i > 0))) {
      *suffix = sfx[i];
      return b;
    }
  }
  return -1;
}

static struct hist *get_hist(struct st *s, const char *key) {
  for (size_t i = 0; i < s->nhist; i++)
    if (strcmp(s->hist[i].key, key) == 0) return &s->hist[i];
  if (s->nhist == MAX_HIST) return NULL;
  struct hist *h = &s->hist[s->nhist++];
  memset(h, 0, sizeof *h);
  snprintf(h->key, sizeof h->key, "%s", key);
  h->last_le = -INFINITY;
  return h;
}

static int sample(struct st *s, const char *p, size_t n) {
  size_t i = 0;
  while (i < n && p[i] != '{' && p[i] != ' ') i++;
  if (!name_ok(p, i, true)) return fail(s, "bad metric name");
  char name[128];
  if (i >= sizeof name) return fail(s, "metric name too long");
  memcpy(name, p, i);
  name[i] = '\0';
  char lname[MAX_LABELS][64], lval[MAX_LABELS][256];
  size_t nl = 0;
  if (i < n && p[i] == '{') {
    i++;
    while (i < n && p[i] != '}') {
      size_t st = i;
      while (i < n && p[i] != '=') i++;
      if (i >= n || !name_ok(p + st, i - st, false)) return fail(s, "bad label name");
      if (nl == MAX_LABELS || i - st >= sizeof lname[0]) return fail(s, "too many/long labels");
      snprintf(lname[nl], sizeof lname[0], "%.*s", (int)(i - st), p + st);
      for (size_t k = 0; k < nl; k++)
        if (strcmp(lname[k], lname[nl]) == 0) return fail(s, "label %s twice", lname[nl]);
      i++;
      if (i >= n || p[i] != '"') return fail(s, "label value not quoted");
      i++;
      size_t vl = 0;
      while (i < n && p[i] != '"') {
        char c = p[i];
        if (c == '\\') {
          if (i + 1 >= n) return fail(s, "cut escape");
          char e = p[i + 1];
          if (e != '\\' && e != '"' && e != 'n') return fail(s, "bad escape \\%c", e);
          c = e == 'n' ? '\n' : e;
          i++;
        }
        if (vl + 1 < sizeof lval[0]) lval[nl][vl++] = c;
        i++;
      }
      if (i >= n) return fail(s, "unterminated label value");
      lval[nl][vl] = '\0';
      nl++;
      i++;
      if (i < n && p[i] == ',') i++;
      else if (i < n && p[i] != '}') return fail(s, "expected , or } after a label");
    }
    if (i >= n) return fail(s, "unterminated label set");
    i++;
  }
  if (i >= n || p[i] != ' ') return fail(s, "expected a space before the value");
  i++;
  size_t vs = i;
  while (i < n && p[i] != ' ') i++;
  double v;
  if (!parse_float(p + vs, i - vs, &v)) return fail(s, "bad value \"%.*s\"", (int)(i - vs), p + vs);
  if (i < n) {
    i++;
    if (i >= n) return fail(s, "trailing space");
    if (p[i] == '-') i++;
    for (; i < n; i++)
      if (!isdigit((unsigned char)p[i])) return fail(s, "bad timestamp");
  }
  const char *suffix;
  int f = family_of(s, name, &suffix);
  if (f < 0) return fail(s, "sample %s has no TYPE", name);
  struct fam *fa = &s->fam[f];
  if (fa->closed) return fail(s, "samples of %s are not together", fa->name);
  if (s->current >= 0 && s->current != f) s->fam[s->current].closed = true;
  s->current = f;
  fa->seen = true;
  /* series identity: name + sorted labels */
  char key[1024];
  size_t kl = (size_t)snprintf(key, sizeof key, "%s", name);
  bool used[MAX_LABELS] = {false};
  for (size_t k = 0; k < nl; k++) {
    size_t best = MAX_LABELS;
    for (size_t m = 0; m < nl; m++)
      if (!used[m] && (best == MAX_LABELS || strcmp(lname[m], lname[best]) < 0)) best = m;
    used[best] = true;
    kl += (size_t)snprintf(key + kl, kl < sizeof key ? sizeof key - kl : 0, "|%s=%s",
                           lname[best], lval[best]);
    if (kl >= sizeof key) return fail(s, "series key too long");
  }
  for (size_t k = 0; k < s->nseries; k++)
    if (strcmp(s->series[k], key) == 0) return fail(s, "series %s twice", key);
  if (s->nseries == MAX_SERIES) return fail(s, "too many series");
  s->series[s->nseries++] = strdup(key);
  if (strcmp(fa->type, "counter") == 0 && !(v >= 0)) return fail(s, "counter %s < 0", name);
  if (strcmp(fa->type, "histogram") == 0) {
    char hk[512];
    size_t hl = (size_t)snprintf(hk, sizeof hk, "%s", fa->name);
    const char *le = NULL;
    for (size_t k = 0; k < nl; k++) {
      if (strcmp(lname[k], "le") == 0) {
        le = lval[k];
        continue;
      }
      hl += (size_t)snprintf(hk + hl, hl < sizeof hk ? sizeof hk - hl : 0, "|%s=%s", lname[k],
                             lval[k]);
    }
    struct hist *h = get_hist(s, hk);
    if (h == NULL) return fail(s, "too many histograms");
    if (strcmp(suffix, "_bucket") == 0) {
      double lv;
      if (le == NULL || !parse_float(le, strlen(le), &lv)) return fail(s, "bucket without le");
      if (h->has_inf) return fail(s, "bucket after le=\"+Inf\"");
      if (!(lv > h->last_le)) return fail(s, "le %s not ascending", le);
      if (v < h->last_cum) return fail(s, "bucket counts not cumulative at le=%s", le);
      h->last_le = lv;
      h->last_cum = v;
      h->any_bucket = true;
      if (isinf(lv)) {
        h->has_inf = true;
        h->inf = v;
      }
    } else if (le != NULL) {
      return fail(s, "le on %s", name);
    } else if (strcmp(suffix, "_sum") == 0) {
      h->has_sum = true;
      h->sum = v;
    } else if (strcmp(suffix, "_count") == 0) {
      h->has_count = true;
      h->count = v;
    } else {
      return fail(s, "histogram sample %s without a suffix", name);
    }
  }
  return 0;
}

int promcheck(const char *text, size_t len, size_t *samples, char *why, size_t cap) {
  struct st *s = calloc(1, sizeof *s);
  if (s == NULL) {
    snprintf(why, cap, "out of memory");
    return -1;
  }
  s->why = why;
  s->cap = cap;
  s->current = -1;
  why[0] = '\0';
  int rc = 0;
  size_t nsamples = 0;
  if (len > 0 && text[len - 1] != '\n') {
    s->line = 0;
    rc = fail(s, "text does not end with a newline");
  }
  size_t pos = 0;
  while (rc == 0 && pos < len) {
    s->line++;
    const char *nl = memchr(text + pos, '\n', len - pos);
    size_t n = nl != NULL ? (size_t)(nl - (text + pos)) : len - pos;
    const char *p = text + pos;
    if (memchr(p, '\0', n) != NULL) rc = fail(s, "NUL byte");
    else if (n == 0) rc = 0; /* blank lines are allowed */
    else if (p[0] == '#') rc = comment(s, p, n);
    else {
      rc = sample(s, p, n);
      nsamples++;
    }
    pos += n + 1;
  }
  for (size_t i = 0; rc == 0 && i < s->nhist; i++) {
    struct hist *h = &s->hist[i];
    s->line = 0;
    if (!h->has_inf) rc = fail(s, "%s: no le=\"+Inf\" bucket", h->key);
    else if (!h->has_count || !h->has_sum) rc = fail(s, "%s: _sum or _count missing", h->key);
    else if (h->count != h->inf) rc = fail(s, "%s: _count %g != +Inf bucket %g", h->key,
                                           h->count, h->inf);
  }
  for (size_t i = 0; i < s->nseries; i++) free(s->series[i]);
  free(s);
  if (samples != NULL) *samples = nsamples;
  return rc;
}
