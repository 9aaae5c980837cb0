/* Phase 1, load (compiler/load.h): reads the root file and its includes
 * (size limits, include cycles and depth, paths relative to the including
 * file), reports YAML syntax errors at their position, hands each document to
 * the walk (load_walk.c), cross-checks its skeleton with libcyaml, and fills
 * what the walk left per profile. Also the loader's allocation helpers and
 * the edit distance behind "did you mean" hints. */
#include "load_int.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "schema/config_schema.h"

char *ld_dupstr(const char *s) {
  size_t n = strlen(s) + 1;
  char *p = malloc(n);
  if (p == NULL) abort(); /* the compiler is a short-lived CLI: OOM ends it */
  memcpy(p, s, n);
  return p;
}

/* Room for item COUNT of an array that holds COUNT items: capacity doubles
 * at each power of two, so appends stay O(1) amortized without a stored cap. */
void *ld_append_slot(void *p, size_t count, size_t size) {
  if (count != 0 && (count & (count - 1)) != 0) return p;
  size_t cap = count == 0 ? 1 : count * 2;
  void *q = realloc(p, cap * size);
  if (q == NULL) abort();
  return q;
}

void *ld_grow(void *p, size_t n, size_t size) {
  void *q = realloc(p, (n == 0 ? 1 : n) * size);
  if (q == NULL) abort();
  return q;
}

/* Optimal string alignment distance: a swap of two neighbours ("prot" for
 * "port") costs 1, the typo people make most. */
unsigned qcc_edit_distance(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  if (la > 64 || lb > 64) return 255;
  unsigned m[65][65];
  for (size_t i = 0; i <= la; i++) m[i][0] = (unsigned)i;
  for (size_t j = 0; j <= lb; j++) m[0][j] = (unsigned)j;
  for (size_t i = 1; i <= la; i++) {
    for (size_t j = 1; j <= lb; j++) {
      unsigned cost = a[i - 1] == b[j - 1] ? 0 : 1;
      unsigned best = m[i - 1][j - 1] + cost;
      if (m[i - 1][j] + 1 < best) best = m[i - 1][j] + 1;
      if (m[i][j - 1] + 1 < best) best = m[i][j - 1] + 1;
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
          m[i - 2][j - 2] + 1 < best) {
        best = m[i - 2][j - 2] + 1;
      }
      m[i][j] = best;
    }
  }
  return m[la][lb] > 255 ? 255 : m[la][lb];
}

/* ---- files and includes ------------------------------------------------------ */

static const char *keep_file(struct ld *ld, const char *shown) {
  struct qcc_config *c = ld->cfg;
  c->files = ld_append_slot(c->files, c->file_count, sizeof *c->files);
  c->files[c->file_count] = ld_dupstr(shown);
  return c->files[c->file_count++];
}

static int read_all(const char *path, char **data, size_t *len) {
  struct stat st;
  /* A FIFO or device (include: /dev/stdin) could block or never end. */
  if (stat(path, &st) != 0) return -1;
  if (!S_ISREG(st.st_mode)) {
    errno = EISDIR;
    return S_ISDIR(st.st_mode) ? -1 : -2;
  }
  FILE *in = fopen(path, "rb");
  if (in == NULL) return -1;
  size_t cap = 0, n = 0;
  char *buf = NULL;
  for (;;) {
    if (n == cap) {
      if (cap >= LOAD_MAX_FILE) {
        free(buf);
        fclose(in);
        errno = EFBIG;
        return -1;
      }
      cap = cap == 0 ? 16384 : cap * 2;
      buf = ld_grow(buf, cap + 1, 1);
    }
    size_t got = fread(buf + n, 1, cap - n, in);
    if (got == 0) break;
    n += got;
  }
  int failed = ferror(in);
  fclose(in);
  if (failed) {
    free(buf);
    errno = EIO;
    return -1;
  }
  if (buf == NULL) buf = ld_grow(NULL, 1, 1);
  buf[n] = '\0';
  *data = buf;
  *len = n;
  return 0;
}

static void syntax_error(struct ld *ld, const yaml_parser_t *p) {
  struct qcc_pos at = {ld->file, (uint32_t)p->problem_mark.line + 1,
                       (uint32_t)p->problem_mark.column + 1};
  char hint[256];
  if (p->context != NULL) {
    snprintf(hint, sizeof hint, "%s (line %zu); check indentation and quoting", p->context,
             p->context_mark.line + 1);
  } else {
    snprintf(hint, sizeof hint, "check indentation and quoting");
  }
  qcc_diag_add(ld->d, QCC_DIAG_ERROR, at, 1, hint, "YAML syntax error: %s",
               p->problem != NULL ? p->problem : "cannot parse");
  ld->out->fatal = true;
}

/* libcyaml must accept what the positional pass accepted, and agree on the
 * profiles it found; a disagreement is a bug in qccc, reported as such. */
static void cyaml_cross_check(struct ld *ld, const char *data, size_t len, size_t first_profile) {
  struct qcc_cyaml_doc *doc = NULL;
  char msg[256];
  struct qcc_pos at = {ld->file, 1, 1};
  if (qcc_cyaml_load(data, len, &doc, msg, sizeof msg) != 0) {
    qcc_diag_add(ld->d, QCC_DIAG_ERROR, at, 1, "please report this as a qccc bug",
                 "internal: schema check disagrees: %s", msg);
    return;
  }
  size_t n = qcc_cyaml_doc_profiles(doc);
  bool same = n == ld->cfg->profile_count - first_profile;
  for (size_t i = 0; same && i < n; i++) {
    const struct qcc_profile_cfg *p = &ld->cfg->profiles[first_profile + i];
    const char *name = qcc_cyaml_doc_profile_name(doc, i);
    same = qcc_cyaml_doc_endpoints(doc, i) == p->endpoint_count &&
           (name == NULL) == (p->name == NULL) && (name == NULL || strcmp(name, p->name) == 0);
  }
  if (!same) {
    qcc_diag_add(ld->d, QCC_DIAG_ERROR, at, 1, "please report this as a qccc bug",
                 "internal: schema check disagrees on the profiles of this file");
  }
  qcc_cyaml_doc_free(&doc);
}

static void dirname_of(const char *path, char *buf, size_t cap) {
  const char *slash = strrchr(path, '/');
  if (slash == NULL) snprintf(buf, cap, ".");
  else if (slash == path) snprintf(buf, cap, "/");
  else snprintf(buf, cap, "%.*s", (int)(slash - path), path);
}

static void load_file(struct ld *ld, const char *shown, const struct qcc_pos *from,
                      unsigned span);

/* "a/b/../c" -> "a/c", "a/./b" -> "a/b", lexically, so messages name files
 * the way a person would; leading ".." that cannot be folded are kept. */
static void normalize_path(char *path) {
  char *parts[256];
  size_t n = 0;
  bool abs = path[0] == '/';
  char copy[PATH_MAX];
  snprintf(copy, sizeof copy, "%s", path);
  for (char *save = NULL, *t = strtok_r(copy, "/", &save); t != NULL;
       t = strtok_r(NULL, "/", &save)) {
    if (strcmp(t, ".") == 0) continue;
    if (strcmp(t, "..") == 0 && n > 0 && strcmp(parts[n - 1], "..") != 0) {
      n--;
      continue;
    }
    if (n == sizeof parts / sizeof parts[0]) return; /* leave odd paths alone */
    parts[n++] = t;
  }
  char out[PATH_MAX];
  size_t used = 0;
  out[0] = '\0';
  if (abs) out[used++] = '/';
  out[used] = '\0';
  for (size_t i = 0; i < n; i++) {
    int w = snprintf(out + used, sizeof out - used, "%s%s", i == 0 ? "" : "/", parts[i]);
    if (w < 0 || (size_t)w >= sizeof out - used) return;
    used += (size_t)w;
  }
  if (used == 0) snprintf(out, sizeof out, ".");
  memcpy(path, out, strlen(out) + 1); /* never longer than the input */
}

static void load_includes(struct ld *ld, char **incs, struct qcc_pos *pos, size_t n,
                          const char *shown) {
  char dir[PATH_MAX];
  dirname_of(shown, dir, sizeof dir);
  for (size_t i = 0; i < n && !ld->out->fatal; i++) {
    char path[PATH_MAX];
    int w;
    if (incs[i][0] == '/' || strcmp(dir, ".") == 0) w = snprintf(path, sizeof path, "%s", incs[i]);
    else w = snprintf(path, sizeof path, "%s/%s", dir, incs[i]);
    if (w < 0 || (size_t)w >= sizeof path) {
      qcc_diag_add(ld->d, QCC_DIAG_ERROR, pos[i], 1, "use a shorter relative path",
                   "include path is too long");
      continue;
    }
    normalize_path(path);
    load_file(ld, path, &pos[i], (unsigned)strlen(incs[i]));
  }
}

/* Read SHOWN (as the user would name it) and walk it. FROM is the include
 * that asked for it, NULL for the root. */
static void load_file(struct ld *ld, const char *shown, const struct qcc_pos *from,
                      unsigned span) {
  char real[PATH_MAX];
  if (realpath(shown, real) == NULL) {
    int e = errno;
    if (from == NULL) {
      struct qcc_pos at = {keep_file(ld, shown), 0, 0};
      qcc_diag_add(ld->d, QCC_DIAG_ERROR, at, 1, "pass the config with -c FILE",
                   "cannot read config: %s", strerror(e));
      ld->out->io_error = true;
      ld->out->fatal = true;
    } else {
      qcc_diag_add(ld->d, QCC_DIAG_ERROR, *from, span,
                   "include paths are relative to the including file",
                   "cannot read include '%s': %s", shown, strerror(e));
    }
    return;
  }
  if (from != NULL) {
    for (size_t i = 0; i < ld->depth; i++) {
      if (strcmp(ld->stack[i].real, real) != 0) continue;
      char chain[1024];
      size_t used = 0;
      for (size_t j = i; j < ld->depth; j++) {
        int n = snprintf(chain + used, sizeof chain - used, "%s -> ", ld->stack[j].shown);
        if (n > 0 && (size_t)n < sizeof chain - used) used += (size_t)n;
      }
      snprintf(chain + used, sizeof chain - used, "%s", shown);
      if (i + 1 == ld->depth) {
        qcc_diag_add(ld->d, QCC_DIAG_ERROR, *from, span, "remove this include",
                     "'%s' includes itself", ld->stack[i].shown);
      } else {
        qcc_diag_add(ld->d, QCC_DIAG_ERROR, *from, span, "remove one include of the cycle",
                     "include cycle: %s", chain);
      }
      return;
    }
    for (size_t i = 0; i < ld->seen_count; i++) {
      if (strcmp(ld->seen[i], real) == 0) {
        qcc_diag_add(ld->d, QCC_DIAG_ERROR, *from, span, "include each file once",
                     "'%s' is already included", shown);
        return;
      }
    }
    if (ld->depth >= LOAD_MAX_DEPTH) {
      qcc_diag_add(ld->d, QCC_DIAG_ERROR, *from, span, "include the files from one place instead",
                   "includes nested more than %d deep", LOAD_MAX_DEPTH);
      return;
    }
  }
  char *data = NULL;
  size_t len = 0;
  int got = read_all(shown, &data, &len);
  if (got != 0) {
    const char *why = got == -2 ? "not a regular file" : strerror(errno);
    if (from == NULL) {
      struct qcc_pos at = {keep_file(ld, shown), 0, 0};
      qcc_diag_add(ld->d, QCC_DIAG_ERROR, at, 1, "check the file's permissions and size",
                   "cannot read config: %s", why);
      ld->out->io_error = true;
      ld->out->fatal = true;
    } else {
      qcc_diag_add(ld->d, QCC_DIAG_ERROR, *from, span, "check the file's permissions and size",
                   "cannot read include '%s': %s",
                   shown, why);
    }
    return;
  }
  ld->seen = ld_append_slot(ld->seen, ld->seen_count, sizeof *ld->seen);
  ld->seen[ld->seen_count++] = ld_dupstr(real);
  const char *saved_file = ld->file;
  bool saved_root = ld->is_root;
  ld->file = keep_file(ld, shown);
  ld->is_root = from == NULL;
  ld->stack[ld->depth].real = ld->seen[ld->seen_count - 1];
  ld->stack[ld->depth].shown = ld->file;
  ld->depth++;

  yaml_parser_t parser;
  yaml_document_t doc;
  bool have_doc = false;
  if (!yaml_parser_initialize(&parser)) abort();
  yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
  if (!yaml_parser_load(&parser, &doc)) {
    syntax_error(ld, &parser);
  } else {
    have_doc = true;
    /* A second document would be silently ignored: say so. */
    yaml_document_t extra;
    if (!yaml_parser_load(&parser, &extra)) {
      syntax_error(ld, &parser);
    } else {
      const yaml_node_t *x = yaml_document_get_root_node(&extra);
      if (x != NULL) {
        qcc_diag_add(ld->d, QCC_DIAG_ERROR, ld_pos_of(ld, x), 1, "one config per file; use include",
                     "a second YAML document in one file");
      }
      yaml_document_delete(&extra);
    }
  }
  yaml_parser_delete(&parser);

  char **incs = NULL;
  struct qcc_pos *inc_pos = NULL;
  size_t inc_count = 0;
  if (have_doc && !ld->out->fatal) {
    const yaml_node_t *root = yaml_document_get_root_node(&doc);
    size_t errors_before = qcc_diags_errors(ld->d);
    size_t first_profile = ld->cfg->profile_count;
    char **saved_incs = ld->incs;
    struct qcc_pos *saved_pos = ld->inc_pos;
    size_t saved_count = ld->inc_count;
    ld->incs = NULL;
    ld->inc_pos = NULL;
    ld->inc_count = 0;
    if (root == NULL) {
      if (ld->is_root) {
        struct qcc_pos at = {ld->file, 1, 1};
        qcc_diag_add(ld->d, QCC_DIAG_ERROR, at, 1, "add 'version: 1' and your profiles",
                     "the config is empty");
        ld->out->fatal = true; /* every later rule would only repeat it */
      }
    } else if (root->type != YAML_MAPPING_NODE) {
      qcc_diag_add(ld->d, QCC_DIAG_ERROR, ld_pos_of(ld, root), 1,
                   "a config starts with 'version: 1' and top-level keys",
                   "the top level must be a mapping of keys, not %s", ld_node_kind(root));
      if (ld->is_root) ld->out->fatal = true;
    } else {
      ld_walk_map(ld, &doc, root, NULL, "");
      if (qcc_diags_errors(ld->d) == errors_before && !ld->out->fatal) {
        cyaml_cross_check(ld, data, len, first_profile);
      }
    }
    incs = ld->incs;
    inc_pos = ld->inc_pos;
    inc_count = ld->inc_count;
    ld->incs = saved_incs;
    ld->inc_pos = saved_pos;
    ld->inc_count = saved_count;
  }
  if (have_doc) yaml_document_delete(&doc);
  free(data);

  load_includes(ld, incs, inc_pos, inc_count, ld->file);
  for (size_t i = 0; i < inc_count; i++) free(incs[i]);
  free(incs);
  free(inc_pos);

  ld->depth--;
  ld->file = saved_file;
  ld->is_root = saved_root;
}

int qcc_load(const char *path, struct qcc_loaded *l, struct qcc_diags *d) {
  memset(l, 0, sizeof *l);
  struct ld *ld = calloc(1, sizeof *ld);
  if (ld == NULL) abort();
  ld->out = l;
  ld->d = d;
  ld->prof = ld->ep = ld->tok = ld->price = SIZE_MAX;
  ld->cfg = calloc(1, sizeof *ld->cfg);
  if (ld->cfg == NULL) abort();
  l->cfg = ld->cfg;
  l->setting_pos = calloc(QCC_KNOB_COUNT, sizeof *l->setting_pos);
  if (l->setting_pos == NULL) abort();
  ld_settings_defaults(ld->cfg);
  size_t errors_before = qcc_diags_errors(d);

  load_file(ld, path, NULL, 1);

  /* Per-profile load_balancing: unset keys come from loadbalancer. */
  const struct qcc_settings *s = &ld->cfg->settings;
  for (size_t i = 0; i < ld->cfg->profile_count; i++) {
    struct qcc_profile_cfg *p = &ld->cfg->profiles[i];
    unsigned set = ld->lb_set[i];
    p->lb_override = set != 0;
    if ((set & LB_SET_STRATEGY) == 0) p->lb_strategy = s->lb_strategy;
    if ((set & LB_SET_HEALTH) == 0) p->health_aware = s->health_aware;
    if ((set & LB_SET_STICKY) == 0) p->sticky_session = s->sticky_session;
  }
  for (size_t i = 0; i < ld->seen_count; i++) free(ld->seen[i]);
  free(ld->seen);
  free(ld->lb_set);
  free(ld);
  return qcc_diags_errors(d) == errors_before ? 0 : -1;
}

void qcc_loaded_release(struct qcc_loaded *l) {
  if (l == NULL) return;
  qcc_config_free(&l->cfg);
  for (size_t i = 0; i < l->group_count; i++) free(l->groups[i].name);
  free(l->groups);
  free(l->setting_pos);
  memset(l, 0, sizeof *l);
}
