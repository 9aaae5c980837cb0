#include "diag.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Hard caps: a hostile config must not make us print or keep unbounded text. */
#define DIAG_MAX_KEPT 1000
#define DIAG_MAX_LINE 400
#define DIAG_MAX_FILE (16u << 20)

struct diag {
  enum qcc_diag_severity sev;
  char *file; /* copied: the config (and its file names) may be gone when we print */
  uint32_t line, col;
  unsigned span;
  char *msg, *hint, *src;
};

struct src_file {
  char *path;
  char *text; /* NULL when unreadable */
  size_t len;
};

struct qcc_diags {
  struct diag *v;
  size_t n, cap;
  size_t errors, warnings, dropped;
  struct src_file *files;
  size_t nfiles;
};

struct qcc_diags *qcc_diags_new(void) {
  return calloc(1, sizeof(struct qcc_diags));
}

void qcc_diags_free(struct qcc_diags **d) {
  if (d == NULL || *d == NULL) return;
  struct qcc_diags *x = *d;
  for (size_t i = 0; i < x->n; i++) {
    free(x->v[i].file);
    free(x->v[i].msg);
    free(x->v[i].hint);
    free(x->v[i].src);
  }
  for (size_t i = 0; i < x->nfiles; i++) {
    free(x->files[i].path);
    free(x->files[i].text);
  }
  free(x->files);
  free(x->v);
  free(x);
  *d = NULL;
}

static char *dupstr(const char *s) {
  if (s == NULL) return NULL;
  size_t n = strlen(s) + 1;
  char *p = malloc(n);
  if (p != NULL) memcpy(p, s, n);
  return p;
}

static const struct src_file *source(struct qcc_diags *d, const char *path) {
  for (size_t i = 0; i < d->nfiles; i++) {
    if (strcmp(d->files[i].path, path) == 0) return &d->files[i];
  }
  struct src_file *grown = realloc(d->files, (d->nfiles + 1) * sizeof *grown);
  if (grown == NULL) return NULL;
  d->files = grown;
  struct src_file *f = &d->files[d->nfiles];
  memset(f, 0, sizeof *f);
  f->path = dupstr(path);
  if (f->path == NULL) return NULL;
  d->nfiles++;
  FILE *in = fopen(path, "rb");
  if (in == NULL) return f;
  size_t cap = 0;
  for (;;) {
    if (f->len == cap) {
      if (cap >= DIAG_MAX_FILE) break;
      size_t ncap = cap == 0 ? 8192 : cap * 2;
      char *t = realloc(f->text, ncap + 1);
      if (t == NULL) break;
      f->text = t;
      cap = ncap;
    }
    size_t got = fread(f->text + f->len, 1, cap - f->len, in);
    if (got == 0) break;
    f->len += got;
  }
  fclose(in);
  if (f->text != NULL) f->text[f->len] = '\0';
  return f;
}

static bool is_key_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

/* The excerpt must never show a secret: blank the value after `api_key:`,
 * `value:` (auth token literal) and `proxy_credentials_env:` (which a user may
 * fill with user:password by mistake) with '*' of the same length, so the
 * marker under the line stays aligned. */
static void redact(char *line) {
  static const char *const keys[] = {"api_key:", "value:", "proxy_credentials_env:"};
  for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
    size_t klen = strlen(keys[k]);
    for (char *p = strstr(line, keys[k]); p != NULL; p = strstr(p + 1, keys[k])) {
      if (p > line && is_key_char(p[-1])) continue;
      char *v = p + klen;
      while (*v == ' ' || *v == '\t') v++;
      char quote = (*v == '"' || *v == '\'') ? *v : 0;
      if (quote != 0) v++;
      for (; *v != '\0'; v++) {
        if (quote != 0 && *v == quote) break;
        if (quote == 0 && (*v == ',' || *v == '}' || (*v == '#' && v[-1] == ' '))) break;
        *v = '*';
      }
    }
  }
  /* user:password@ in a URL (base_url refuses it, but the line is still shown). */
  for (char *p = strstr(line, "://"); p != NULL; p = strstr(p + 3, "://")) {
    char *start = p + 3, *end = start + strcspn(start, " \t/?#'\",}");
    char *at = NULL;
    for (char *q = start; q < end; q++) {
      if (*q == '@') at = q;
    }
    for (char *q = start; at != NULL && q < at; q++) *q = '*';
  }
}

static char *source_line(struct qcc_diags *d, const char *path, uint32_t line) {
  if (path == NULL || line == 0) return NULL;
  const struct src_file *f = source(d, path);
  if (f == NULL || f->text == NULL) return NULL;
  const char *p = f->text, *end = f->text + f->len;
  for (uint32_t l = 1; l < line; l++) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    if (nl == NULL) return NULL;
    p = nl + 1;
  }
  const char *e = memchr(p, '\n', (size_t)(end - p));
  size_t n = (size_t)((e != NULL ? e : end) - p);
  if (n > 0 && p[n - 1] == '\r') n--;
  if (n > DIAG_MAX_LINE) n = DIAG_MAX_LINE;
  char *out = malloc(n + 1);
  if (out == NULL) return NULL;
  memcpy(out, p, n);
  out[n] = '\0';
  redact(out);
  return out;
}

void qcc_diag_add(struct qcc_diags *d, enum qcc_diag_severity sev, struct qcc_pos pos,
                  unsigned span, const char *hint, const char *fmt, ...) {
  if (d == NULL) return;
  if (sev == QCC_DIAG_ERROR) d->errors++;
  else d->warnings++;
  if (d->n >= DIAG_MAX_KEPT) {
    d->dropped++;
    return;
  }
  if (d->n == d->cap) {
    size_t ncap = d->cap == 0 ? 16 : d->cap * 2;
    struct diag *v = realloc(d->v, ncap * sizeof *v);
    if (v == NULL) {
      d->dropped++;
      return;
    }
    d->v = v;
    d->cap = ncap;
  }
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  struct diag *x = &d->v[d->n++];
  memset(x, 0, sizeof *x);
  x->sev = sev;
  x->file = dupstr(pos.file != NULL ? pos.file : "<input>");
  x->line = pos.line;
  x->col = pos.col;
  x->span = span == 0 ? 1 : span;
  x->msg = dupstr(msg);
  x->hint = dupstr(hint);
  x->src = source_line(d, pos.file, pos.line);
}

size_t qcc_diags_errors(const struct qcc_diags *d) {
  return d != NULL ? d->errors : 0;
}

size_t qcc_diags_warnings(const struct qcc_diags *d) {
  return d != NULL ? d->warnings : 0;
}

void qcc_diags_promote_warnings(struct qcc_diags *d) {
  if (d == NULL) return;
  for (size_t i = 0; i < d->n; i++) d->v[i].sev = QCC_DIAG_ERROR;
  d->errors += d->warnings;
  d->warnings = 0;
}

static const char *sev_name(enum qcc_diag_severity s) {
  return s == QCC_DIAG_ERROR ? "error" : "warning";
}

/* A marker under COL (1-based, in characters) for SPAN characters; tabs are
 * copied so the caret lines up in a terminal. */
static void print_marker(FILE *out, const char *src, uint32_t col, unsigned span) {
  const unsigned char *p = (const unsigned char *)src;
  for (uint32_t c = 1; c < col && *p != '\0'; c++) {
    fputc(*p == '\t' ? '\t' : ' ', out);
    p++;
    while ((*p & 0xC0) == 0x80) p++; /* rest of a UTF-8 character */
  }
  size_t left = 0;
  for (const unsigned char *q = p; *q != '\0'; q++) {
    if ((*q & 0xC0) != 0x80) left++;
  }
  if (span > left) span = left > 0 ? (unsigned)left : 1;
  fputc('^', out);
  for (unsigned i = 1; i < span; i++) fputc('~', out);
  fputc('\n', out);
}

/* Print order: by file (in the order files were first named), then line and
 * column, then the order found; so phase order does not scramble a file. */
static const struct qcc_diags *sort_d;

static size_t file_rank(const struct qcc_diags *d, const char *file) {
  for (size_t i = 0; i < d->n; i++) {
    if (strcmp(d->v[i].file, file) == 0) return i;
  }
  return d->n;
}

static int order_cmp(const void *a, const void *b) {
  size_t i = *(const size_t *)a, j = *(const size_t *)b;
  const struct diag *x = &sort_d->v[i], *y = &sort_d->v[j];
  size_t fx = file_rank(sort_d, x->file), fy = file_rank(sort_d, y->file);
  if (fx != fy) return fx < fy ? -1 : 1;
  if (x->line != y->line) return x->line < y->line ? -1 : 1;
  if (x->col != y->col) return x->col < y->col ? -1 : 1;
  return i < j ? -1 : (i > j ? 1 : 0);
}

/* Indexes of d->v in print order; NULL on OOM (then print as found). */
static size_t *print_order(const struct qcc_diags *d) {
  size_t *idx = malloc((d->n + 1) * sizeof *idx);
  if (idx == NULL) return NULL;
  for (size_t i = 0; i < d->n; i++) idx[i] = i;
  sort_d = d;
  qsort(idx, d->n, sizeof *idx, order_cmp);
  sort_d = NULL;
  return idx;
}

static void print_text(const struct qcc_diags *d, FILE *out) {
  size_t *idx = print_order(d);
  for (size_t k = 0; k < d->n; k++) {
    const struct diag *x = &d->v[idx != NULL ? idx[k] : k];
    if (x->line > 0) fprintf(out, "%s:%u:%u: ", x->file, x->line, x->col);
    else fprintf(out, "%s: ", x->file);
    fprintf(out, "%s: %s\n", sev_name(x->sev), x->msg);
    if (x->src != NULL) {
      fprintf(out, "%s\n", x->src);
      print_marker(out, x->src, x->col, x->span);
    }
    if (x->hint != NULL) fprintf(out, "  hint: %s\n", x->hint);
  }
  free(idx);
  if (d->dropped > 0) fprintf(out, "(%zu more diagnostics not shown)\n", d->dropped);
}

static void json_str(FILE *out, const char *s) {
  if (s == NULL) {
    fputs("null", out);
    return;
  }
  fputc('"', out);
  for (; *s != '\0'; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') fprintf(out, "\\%c", c);
    else if (c == '\n') fputs("\\n", out);
    else if (c == '\t') fputs("\\t", out);
    else if (c < 0x20) fprintf(out, "\\u%04x", c);
    else fputc(c, out);
  }
  fputc('"', out);
}

static void print_json(const struct qcc_diags *d, FILE *out) {
  size_t *idx = print_order(d);
  fputc('[', out);
  for (size_t i = 0; i < d->n; i++) {
    const struct diag *x = &d->v[idx != NULL ? idx[i] : i];
    fputs(i == 0 ? "\n  {\"file\": " : ",\n  {\"file\": ", out);
    json_str(out, x->file);
    fprintf(out, ", \"line\": %u, \"col\": %u, \"severity\": \"%s\", \"message\": ", x->line,
            x->col, sev_name(x->sev));
    json_str(out, x->msg);
    fputs(", \"hint\": ", out);
    json_str(out, x->hint);
    fputc('}', out);
  }
  fputs(d->n > 0 ? "\n]\n" : "]\n", out);
  free(idx);
}

/* GitHub workflow commands: % CR LF are escaped in data; properties also , : */
static void gh_escape(FILE *out, const char *s, bool property) {
  for (; *s != '\0'; s++) {
    if (*s == '%') fputs("%25", out);
    else if (*s == '\r') fputs("%0D", out);
    else if (*s == '\n') fputs("%0A", out);
    else if (property && *s == ':') fputs("%3A", out);
    else if (property && *s == ',') fputs("%2C", out);
    else fputc(*s, out);
  }
}

static void print_github(const struct qcc_diags *d, FILE *out) {
  size_t *idx = print_order(d);
  for (size_t i = 0; i < d->n; i++) {
    const struct diag *x = &d->v[idx != NULL ? idx[i] : i];
    fprintf(out, "::%s file=", sev_name(x->sev));
    gh_escape(out, x->file, true);
    if (x->line > 0) fprintf(out, ",line=%u,col=%u", x->line, x->col);
    fputs("::", out);
    gh_escape(out, x->msg, false);
    if (x->hint != NULL) {
      fputs("%0Ahint: ", out);
      gh_escape(out, x->hint, false);
    }
    fputc('\n', out);
  }
  free(idx);
}

void qcc_diags_print(const struct qcc_diags *d, enum qcc_diag_format fmt, FILE *out) {
  if (d == NULL) return;
  if (fmt == QCC_DIAG_JSON) print_json(d, out);
  else if (fmt == QCC_DIAG_GITHUB) print_github(d, out);
  else print_text(d, out);
}
