/* The Python qcc's config.json into qcc.yaml (migrate.h). */
#include "compiler/migrate.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compiler/diag.h"
#include "compiler/frontend.h"
#include "schema/config_schema.h"
#include "schema/fileio.h"

#define MAX_JSON (16u << 20)
#define MAX_NOTES 256
#define MAX_KEYS 1024

struct keyfile {
  char *path, *key, *endpoint;
};

struct qccc_migration {
  char *yaml;
  size_t len, cap;
  bool oom;
  struct keyfile keys[MAX_KEYS];
  size_t nkeys;
  char *notes[MAX_NOTES];
  size_t nnotes;
  size_t profiles, endpoints;
  const char *key_dir;
};

static void put(struct qccc_migration *m, const char *s, size_t n) {
  if (m->oom) return;
  if (m->len + n + 1 > m->cap) {
    size_t nc = m->cap ? m->cap * 2 : 4096;
    while (nc < m->len + n + 1) nc *= 2;
    char *p = realloc(m->yaml, nc);
    if (p == NULL) {
      m->oom = true;
      return;
    }
    m->yaml = p;
    m->cap = nc;
  }
  memcpy(m->yaml + m->len, s, n);
  m->len += n;
  m->yaml[m->len] = '\0';
}

static void putf(struct qccc_migration *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(struct qccc_migration *m, const char *fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if ((size_t)n < sizeof buf) {
    put(m, buf, (size_t)n);
    return;
  }
  char *big = malloc((size_t)n + 1);
  if (big == NULL) {
    m->oom = true;
    return;
  }
  va_start(ap, fmt);
  vsnprintf(big, (size_t)n + 1, fmt, ap);
  va_end(ap);
  put(m, big, (size_t)n);
  free(big);
}

static void note(struct qccc_migration *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(struct qccc_migration *m, const char *fmt, ...) {
  if (m->nnotes == MAX_NOTES) return;
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  m->notes[m->nnotes] = strdup(buf);
  if (m->notes[m->nnotes] != NULL) m->nnotes++;
}

/* A JSON string as a YAML double-quoted scalar (JSON's escapes are YAML's). */
static void put_string(struct qccc_migration *m, const char *s) {
  json_t *j = json_string(s);
  char *q = j != NULL ? json_dumps(j, JSON_ENCODE_ANY) : NULL;
  if (q == NULL) m->oom = true;
  else put(m, q, strlen(q));
  free(q);
  json_decref(j);
}

static void indent(struct qccc_migration *m, int depth) {
  for (int i = 0; i < depth; i++) put(m, "  ", 2);
}

/* A scalar value for knob K ("" when K is NULL: free maps). */
static void put_scalar(struct qccc_migration *m, const struct qcc_knob *k, const json_t *v,
                       const char *path) {
  if (json_is_string(v)) {
    unsigned e;
    if (k != NULL && k->kind == QCC_KNOB_ENUM && qcc_knob_enum_parse(k->enum_desc, json_string_value(v), &e)) {
      const char *canon = qcc_enum_name(k->enum_desc, e);
      if (strcmp(canon, json_string_value(v)) != 0) note(m, "%s: \"%s\" written as %s", path, json_string_value(v), canon);
      put(m, canon, strlen(canon));
    } else {
      put_string(m, json_string_value(v));
    }
  } else if (json_is_integer(v)) {
    putf(m, "%lld", (long long)json_integer_value(v));
  } else if (json_is_real(v)) {
    char num[40]; /* the shortest form that reads back the same */
    snprintf(num, sizeof num, "%.15g", json_real_value(v));
    if (strtod(num, NULL) != json_real_value(v)) snprintf(num, sizeof num, "%.17g", json_real_value(v));
    put(m, num, strlen(num));
  } else if (json_is_boolean(v)) {
    put(m, json_is_true(v) ? "true" : "false", json_is_true(v) ? 4 : 5);
  } else {
    put(m, "null", 4);
  }
}

/* Keep an id usable as a file name. */
static void file_stem(const char *id, size_t n, char *out, size_t cap) {
  size_t k = 0;
  for (const char *p = id; *p && k + 1 < cap; p++) {
    bool keep = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                *p == '-' || *p == '_' || (*p == '.' && k > 0 && out[k - 1] != '.');
    out[k] = keep ? *p : '_';
    k++;
  }
  while (k > 0 && out[k - 1] == '.') k--; /* no ".." before ".key" */
  out[k] = '\0';
  if (k == 0) snprintf(out, cap, "endpoint-%zu", n);
}

/* KEY into KEY_DIR/PREFIX+OBJ[NAME_FIELD].key; PATH gets that path. */
static int key_to_file(struct qccc_migration *m, const json_t *obj, const char *name_field, const char *prefix,
                       const char *key, char *path, size_t cap) {
  if (m->nkeys == MAX_KEYS) return -1;
  const char *id = json_string_value(json_object_get(obj, name_field));
  char stem[128];
  file_stem(id != NULL ? id : "", m->endpoints + m->nkeys, stem, sizeof stem);
  int n = snprintf(path, cap, "%s/%s%s.key", m->key_dir, prefix, stem);
  if (n < 0 || (size_t)n >= cap) return -1;
  for (size_t i = 0; i < m->nkeys; i++) /* two endpoints with one id: keep both keys */
    if (strcmp(m->keys[i].path, path) == 0)
      snprintf(path, cap, "%s/%s%s-%zu.key", m->key_dir, prefix, stem, m->nkeys);
  struct keyfile *kf = &m->keys[m->nkeys];
  kf->path = strdup(path);
  kf->key = strdup(key);
  kf->endpoint = strdup(id != NULL ? id : stem);
  if (kf->path == NULL || kf->key == NULL || kf->endpoint == NULL) {
    free(kf->path);
    free(kf->key);
    free(kf->endpoint);
    return -1;
  }
  m->nkeys++;
  return 0;
}

static void why_unknown(struct qccc_migration *m, const char *path) {
  if (strcmp(path, "user_id") == 0)
    note(m, "user_id: dropped (the Python qcc's account id; qcc has no accounts)");
  else if (strcmp(path, "queue.persistence_path") == 0)
    note(m, "queue.persistence_path: dropped (qcc keeps the queue in its state dir, ~/.qcc or --state-dir)");
  else
    note(m, "%s: dropped (not a qcc.yaml setting)", path);
}

static int walk_object(struct qccc_migration *m, const json_t *obj, const struct qcc_knob *parent,
                       const char *path, int depth, bool list_item);

static int walk_value(struct qccc_migration *m, const struct qcc_knob *k, const json_t *v,
                      const char *path, int depth) {
  if (k->kind == QCC_KNOB_SECTION || k->kind == QCC_KNOB_SCALARMAP || k->kind == QCC_KNOB_STRMAP) {
    if (!json_is_object(v)) {
      note(m, "%s: dropped (expected an object)", path);
      return 0;
    }
    put(m, "\n", 1);
    return walk_object(m, v, k, path, depth + 1, false);
  }
  if (k->kind == QCC_KNOB_LIST) {
    if (!json_is_array(v)) {
      note(m, "%s: dropped (expected a list)", path);
      return 0;
    }
    put(m, "\n", 1);
    size_t i;
    const json_t *item;
    json_array_foreach(v, i, item) {
      char ip[300];
      snprintf(ip, sizeof ip, "%.256s[%zu]", path, i);
      if (!json_is_object(item)) {
        note(m, "%s: dropped (expected an object)", ip);
        continue;
      }
      if (strcmp(k->path, "profiles") == 0) m->profiles++;
      if (strcmp(k->path, "profiles[].endpoints") == 0) m->endpoints++;
      indent(m, depth + 1);
      put(m, "- ", 2);
      if (walk_object(m, item, k, ip, depth + 2, true) != 0) return -1;
    }
    return 0;
  }
  if (k->kind == QCC_KNOB_STRLIST) {
    put(m, "\n", 1);
    size_t i;
    const json_t *item;
    json_array_foreach(v, i, item) {
      indent(m, depth + 1);
      put(m, "- ", 2);
      put_scalar(m, NULL, item, path);
      put(m, "\n", 1);
    }
    return 0;
  }
  put(m, " ", 1);
  put_scalar(m, k, v, path);
  put(m, "\n", 1);
  return 0;
}

/* Members of OBJ under PARENT (NULL = top level). A list item's first line
 * follows its "- ". */
static int walk_object(struct qccc_migration *m, const json_t *obj, const struct qcc_knob *parent,
                       const char *path, int depth, bool list_item) {
  const char *name;
  const json_t *v;
  bool first = true;
  bool free_map = parent != NULL && (parent->kind == QCC_KNOB_SCALARMAP || parent->kind == QCC_KNOB_STRMAP);
  json_object_foreach((json_t *)obj, name, v) {
    char kp[256];
    snprintf(kp, sizeof kp, "%s%s%s", path, path[0] ? "." : "", name);
    if (json_is_null(v)) continue;
    const struct qcc_knob *k = qcc_knob_child(parent, name);
    char line_key[300];
    const char *out_name = name; /* json_object_foreach iterates by NAME: never change it */
    const json_t *out_v = v;
    char keypath[PATH_MAX];
    if (parent == NULL && strcmp(name, "version") == 0) {
      if (!json_is_string(v) || strncmp(json_string_value(v), "0.", 2) != 0)
        note(m, "version: not a Python qcc version; converted anyway");
      else
        note(m, "version: \"%s\" (Python qcc) becomes qcc.yaml version 1", json_string_value(v));
      putf(m, "version: 1\n");
      first = false;
      continue;
    }
    bool secret = k != NULL && (strcmp(k->path, "profiles[].endpoints[].api_key") == 0 ||
                                strcmp(k->path, "proxy.auth_tokens[].value") == 0);
    if (secret && !json_is_string(v)) {
      note(m, "%s: dropped (a key that is not a string)", kp);
      continue;
    }
    if (k != NULL && strcmp(k->path, "profiles[].endpoints[].api_key") == 0 && json_is_string(v)) {
      if (key_to_file(m, obj, "id", "", json_string_value(v), keypath, sizeof keypath) != 0) return -1;
      k = qcc_knob_find("profiles[].endpoints[].api_key_file");
      out_name = "api_key_file";
      out_v = NULL;
    } else if (k != NULL && strcmp(k->path, "proxy.auth_tokens[].value") == 0 && json_is_string(v)) {
      /* a client token is a secret too */
      if (key_to_file(m, obj, "name", "token-", json_string_value(v), keypath, sizeof keypath) != 0) return -1;
      k = qcc_knob_find("proxy.auth_tokens[].file");
      out_name = "file";
      out_v = NULL;
    }
    if (k == NULL && !free_map) {
      why_unknown(m, kp);
      continue;
    }
    if (!(first && list_item)) indent(m, depth);
    first = false;
    snprintf(line_key, sizeof line_key, "%s:", out_name);
    if (free_map && k == NULL) { /* a free map's own key, quoted when it must be */
      put_string(m, out_name);
      put(m, ":", 1);
    } else {
      put(m, line_key, strlen(line_key));
    }
    if (out_v == NULL) { /* the api_key moved to a file */
      put(m, " ", 1);
      put_string(m, keypath);
      put(m, "\n", 1);
      continue;
    }
    if (k == NULL) {
      put(m, " ", 1);
      put_scalar(m, NULL, v, kp);
      put(m, "\n", 1);
      continue;
    }
    if (walk_value(m, k, v, kp, depth) != 0) return -1;
  }
  if (first && list_item) put(m, "{}\n", 3);
  return 0;
}

int qccc_migration_new(const char *source, const char *data, size_t len, const char *key_dir,
                       struct qccc_migration **out, struct qcc_err *err) {
  json_error_t je;
  json_t *root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
  if (root == NULL)
    return qcc_err_set(err, 0, "%s:%d:%d: not JSON: %s (a qcc YAML file goes in with `qccc config import FILE`)", source, je.line, je.column, je.text);
  if (!json_is_object(root)) {
    json_decref(root);
    return qcc_err_set(err, 0, "%s: expected a JSON object (the Python qcc's config.json)", source);
  }
  if (!json_is_array(json_object_get(root, "profiles"))) {
    json_decref(root);
    return qcc_err_set(err, 0, "%s: no \"profiles\" list; is this the Python qcc's config.json?", source);
  }
  struct qccc_migration *m = calloc(1, sizeof *m);
  if (m == NULL) {
    json_decref(root);
    return qcc_err_set(err, ENOMEM, "out of memory");
  }
  m->key_dir = key_dir;
  putf(m, "# qcc.yaml converted by `qccc migrate` from the Python qcc's %s.\n", source);
  putf(m, "# Literal keys were moved to files (mode 0600) that api_key_file / file name.\n");
  if (json_object_get(root, "version") == NULL) putf(m, "version: 1\n");
  int rc = walk_object(m, root, NULL, "", 0, false);
  json_decref(root);
  if (rc != 0 || m->oom) {
    qccc_migration_free(&m);
    return qcc_err_set(err, ENOMEM, "out of memory (or too many endpoints)");
  }
  *out = m;
  return 0;
}

void qccc_migration_free(struct qccc_migration **mp) {
  struct qccc_migration *m = *mp;
  if (m == NULL) return;
  for (size_t i = 0; i < m->nkeys; i++) {
    explicit_bzero(m->keys[i].key, strlen(m->keys[i].key));
    free(m->keys[i].key);
    free(m->keys[i].path);
    free(m->keys[i].endpoint);
  }
  for (size_t i = 0; i < m->nnotes; i++) free(m->notes[i]);
  free(m->yaml);
  free(m);
  *mp = NULL;
}

const char *qccc_migration_yaml(const struct qccc_migration *m, size_t *len) {
  *len = m->len;
  return m->yaml;
}
size_t qccc_migration_key_count(const struct qccc_migration *m) { return m->nkeys; }
void qccc_migration_key(const struct qccc_migration *m, size_t i, const char **path, const char **key,
                        const char **endpoint) {
  *path = m->keys[i].path;
  *key = m->keys[i].key;
  *endpoint = m->keys[i].endpoint;
}
size_t qccc_migration_note_count(const struct qccc_migration *m) { return m->nnotes; }
const char *qccc_migration_note(const struct qccc_migration *m, size_t i) { return m->notes[i]; }
void qccc_migration_counts(const struct qccc_migration *m, size_t *profiles, size_t *endpoints) {
  *profiles = m->profiles;
  *endpoints = m->endpoints;
}

/* ---- the command -------------------------------------------------------------- */

#define EXIT_OK 0
#define EXIT_FAIL 1
#define EXIT_USAGE 2

/* "~/x" with $HOME. */
static int expand_home(const char *p, char *out, size_t cap) {
  const char *home = getenv("HOME");
  int n;
  if (p[0] == '~' && (p[1] == '/' || p[1] == '\0') && home != NULL)
    n = snprintf(out, cap, "%s%s", home, p + 1);
  else
    n = snprintf(out, cap, "%s", p);
  return n < 0 || (size_t)n >= cap ? -1 : 0;
}

/* mkdir -p DIR with MODE for what it creates. */
static int mkdirs(const char *dir, mode_t mode) {
  char tmp[PATH_MAX];
  snprintf(tmp, sizeof tmp, "%s", dir);
  for (char *p = tmp + 1; *p; p++) {
    if (*p != '/') continue;
    *p = '\0';
    if (mkdir(tmp, mode) != 0 && errno != EEXIST) return -1;
    *p = '/';
  }
  return mkdir(tmp, mode) != 0 && errno != EEXIST ? -1 : 0;
}

/* Validate YAML as `qccc validate` would, from a temp file beside OUT. */
static int validate_yaml(struct qcc_newfile *nf) {
  struct qcc_diags *d = qcc_diags_new();
  if (d == NULL) return -1;
  struct qcc_config *cfg = NULL;
  struct qcc_frontend_opts fo = {0};
  bool io = false;
  int rc = qcc_frontend_run(qcc_newfile_temp(nf), &fo, &cfg, d, &io);
  if (rc != 0) qcc_diags_print(d, QCC_DIAG_TEXT, stderr);
  qcc_diags_free(&d);
  qcc_config_free(&cfg);
  return rc;
}

/* A key file: 0600, never over a different one unless FORCE. 1 when it was
 * already there with this key. */
static int write_key(const char *path, const char *key, bool force, struct qcc_err *err) {
  void *old = NULL;
  size_t olen = 0;
  struct qcc_err e2 = {0};
  if (qcc_file_read(path, 65536, &old, &olen, &e2) == 0) {
    bool same = olen >= strlen(key) && memcmp(old, key, strlen(key)) == 0 &&
                (olen == strlen(key) || (olen == strlen(key) + 1 && ((char *)old)[olen - 1] == '\n'));
    explicit_bzero(old, olen);
    free(old);
    if (same) return 1;
    if (!force) return qcc_err_set(err, EEXIST, "%s exists with another key; not overwriting it (-y does)", path);
  }
  struct qcc_newfile *nf = NULL;
  if (qcc_newfile_new(path, 0600, &nf, err) != 0 || qcc_newfile_write(nf, key, strlen(key), err) != 0 ||
      qcc_newfile_write(nf, "\n", 1, err) != 0 || qcc_newfile_commit(&nf, QCC_NEWFILE_REPLACE, NULL, err) != 0) {
    qcc_newfile_free(&nf);
    return -1;
  }
  return 0;
}

int qccc_cmd_migrate(int argc, char **argv) {
  static const struct option lo[] = {{"output", required_argument, NULL, 'o'},
                                     {"key-dir", required_argument, NULL, 'k'},
                                     {"yes", no_argument, NULL, 'y'},
                                     {0}};
  const char *out = "qcc.yaml", *key_dir_opt = "~/.qcc/keys";
  bool force = false;
  opterr = 0;
  for (int c; (c = getopt_long(argc, argv, "o:y", lo, NULL)) != -1;) {
    if (c == 'o') out = optarg;
    else if (c == 'k') key_dir_opt = optarg;
    else if (c == 'y') force = true;
    else {
      fprintf(stderr, "qccc migrate: unknown option or missing value: %s\n  hint: run `qccc migrate --help`\n",
              argv[optind - 1]);
      return EXIT_USAGE;
    }
  }
  if (argc - optind > 1) {
    fprintf(stderr, "qccc migrate: too many arguments: %s\n", argv[optind + 1]);
    return EXIT_USAGE;
  }
  char src[PATH_MAX], kd[PATH_MAX], kd_abs[PATH_MAX];
  if (expand_home(optind < argc ? argv[optind] : "~/.qcc/config.json", src, sizeof src) != 0 ||
      expand_home(key_dir_opt, kd, sizeof kd) != 0) {
    fprintf(stderr, "qccc migrate: path too long\n");
    return EXIT_USAGE;
  }
  struct qcc_err err = {0};
  void *data = NULL;
  size_t len = 0;
  if (qcc_file_read(src, MAX_JSON, &data, &len, &err) != 0) {
    fprintf(stderr, "qccc migrate: %s\n", err.msg);
    return EXIT_USAGE;
  }
  if (mkdirs(kd, 0700) != 0 || realpath(kd, kd_abs) == NULL) {
    fprintf(stderr, "qccc migrate: %s: cannot create the key directory: %s\n", kd, strerror(errno));
    explicit_bzero(data, len);
    free(data);
    return EXIT_USAGE;
  }
  struct qccc_migration *m = NULL;
  int rc = qccc_migration_new(src, data, len, kd_abs, &m, &err);
  explicit_bzero(data, len);
  free(data);
  if (rc != 0) {
    fprintf(stderr, "qccc migrate: %s\n", err.msg);
    return EXIT_FAIL;
  }
  size_t ylen = 0;
  const char *yaml = qccc_migration_yaml(m, &ylen);
  struct qcc_newfile *nf = NULL;
  int code = EXIT_OK;
  if (qcc_newfile_new(out, 0644, &nf, &err) != 0 || qcc_newfile_write(nf, yaml, ylen, &err) != 0) {
    fprintf(stderr, "qccc migrate: %s\n", err.msg);
    code = EXIT_USAGE;
    goto done;
  }
  if (validate_yaml(nf) != 0) {
    /* The positions above are in text the user has not seen: show it (keys are
     * already out of it). */
    fprintf(stderr, "the converted text (%s above):\n", qcc_newfile_temp(nf));
    int line = 1;
    for (const char *p = yaml; *p && line <= 400;) {
      const char *nl = strchr(p, '\n');
      size_t n = nl != NULL ? (size_t)(nl - p) : strlen(p);
      fprintf(stderr, "%4d | %.*s\n", line++, (int)n, p);
      p += n + (nl != NULL);
    }
    fprintf(stderr, "qccc migrate: the converted config does not validate (above); nothing written\n");
    code = EXIT_FAIL;
    goto done;
  }
  struct stat st;
  if (!force && stat(out, &st) == 0) {
    fprintf(stderr, "qccc migrate: %s exists; not overwriting it\n  hint: -o OTHER.yaml, or -y to replace it\n", out);
    code = EXIT_FAIL;
    goto done;
  }
  size_t reused = 0;
  for (size_t i = 0; i < qccc_migration_key_count(m); i++) {
    const char *path, *key, *ep;
    qccc_migration_key(m, i, &path, &key, &ep);
    int w = write_key(path, key, force, &err);
    if (w < 0) {
      fprintf(stderr, "qccc migrate: %s\n", err.msg);
      code = EXIT_FAIL;
      goto done;
    }
    reused += w == 1;
  }
  if (qcc_newfile_commit(&nf, force ? QCC_NEWFILE_REPLACE : QCC_NEWFILE_CREATE, NULL, &err) != 0) {
    fprintf(stderr, "qccc migrate: %s\n", err.msg);
    code = err.code == EEXIST ? EXIT_FAIL : EXIT_USAGE;
    goto done;
  }
  size_t np, ne;
  qccc_migration_counts(m, &np, &ne);
  printf("%s: converted from %s: %zu profile%s, %zu endpoint%s\n", out, src, np, np == 1 ? "" : "s", ne,
         ne == 1 ? "" : "s");
  size_t nk = qccc_migration_key_count(m);
  if (nk > 0) {
    printf("  %zu literal key%s moved to files in %s (mode 0600):", nk, nk == 1 ? "" : "s", kd_abs);
    for (size_t i = 0; i < nk; i++) {
      const char *path, *key, *ep;
      qccc_migration_key(m, i, &path, &key, &ep);
      const char *base = strrchr(path, '/');
      printf("%s %s", i ? "," : "", base != NULL ? base + 1 : path);
    }
    printf("%s\n", reused ? " (some already there, unchanged)" : "");
  }
  for (size_t i = 0; i < qccc_migration_note_count(m); i++) printf("  %s\n", qccc_migration_note(m, i));
  printf("  next: `qccc validate -c %s --check-secrets`, then `qccc build -c %s`\n", out, out);
done:
  qcc_newfile_free(&nf);
  qccc_migration_free(&m);
  return code;
}
