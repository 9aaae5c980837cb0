/* Dead letters (deadletters.h). A few thousand entries at most, kept in an
 * array in arrival order: lookups are linear, which is cheap at this size
 * and keeps "drop the oldest" a memmove. */
#include "deadletters.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "schema/fileio.h"
#include "schema/table.h"

struct dl {
  struct qcc_deadletter pub;
  char id[QCC_DL_ID_MAX];
  struct qcc_queue_attempt tried[QCC_DL_MAX_TRIED];
  struct qcc_dl_header *headers;
  char *replay;     /* malloc'd response bytes */
  uint64_t bytes;   /* counted against max_bytes */
};

struct qcc_deadletters {
  struct qcc_deadletters_params p;
  char dir[4096];   /* "" = memory only */
  struct dl **e;    /* oldest first */
  size_t n, cap;
  uint64_t next_id;
  struct qcc_deadletters_counters c;
};

void qcc_deadletters_params_default(struct qcc_deadletters_params *p) {
  memset(p, 0, sizeof(*p));
  p->max_entries = 1000;
  p->max_bytes = 64u << 20;
  p->max_body_bytes = 16u << 20;
  p->max_response_bytes = 64u << 10;
}

void qcc_deadletters_params_from_settings(struct qcc_deadletters_params *p,
                                          const struct qcc_tbl_settings *s,
                                          const char *state_dir) {
  qcc_deadletters_params_default(p);
  p->state_dir = state_dir;
  p->persist_bodies = s->persistence_enabled != 0;
}

static void fill_defaults(struct qcc_deadletters_params *p) {
  if (p->max_entries == 0)
    p->max_entries = 1000;
  if (p->max_bytes == 0)
    p->max_bytes = 64u << 20;
  if (p->max_body_bytes == 0)
    p->max_body_bytes = 16u << 20;
  if (p->max_response_bytes == 0)
    p->max_response_bytes = 64u << 10;
}

/* ------------------------------------------------------------- text helpers */

static size_t utf8_len(const unsigned char *s, size_t left) {
  unsigned char c = s[0];
  size_t n;
  uint32_t cp;
  if (c < 0x80)
    return 1;
  if (c >= 0xc2 && c <= 0xdf) {
    n = 2;
    cp = c & 0x1f;
  } else if (c >= 0xe0 && c <= 0xef) {
    n = 3;
    cp = c & 0x0f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (left < n)
    return 0;
  for (size_t i = 1; i < n; i++) {
    if ((s[i] & 0xc0) != 0x80)
      return 0;
    cp = (cp << 6) | (s[i] & 0x3f);
  }
  if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
      (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
    return 0;
  return n;
}

/* A copy that is valid UTF-8 without control bytes (each bad byte becomes
 * '?'), at most max bytes, cut on a character boundary. */
static char *clean_dup(const char *s, size_t len, size_t max) {
  if (s == NULL) {
    s = "";
    len = 0;
  }
  char *out = malloc((len < max ? len : max) + 1);
  if (out == NULL)
    return NULL;
  size_t o = 0, i = 0;
  while (i < len) {
    const unsigned char *p = (const unsigned char *)s + i;
    size_t n = utf8_len(p, len - i);
    if (n == 0 || (n == 1 && (*p < 0x20 || *p == 0x7f))) {
      if (o + 1 > max)
        break;
      out[o++] = '?';
      i++;
      continue;
    }
    if (o + n > max)
      break;
    memcpy(out + o, p, n);
    o += n;
    i += n;
  }
  out[o] = '\0';
  return out;
}

static char *clean_str(const char *s, size_t max) {
  return clean_dup(s, s != NULL ? strlen(s) : 0, max);
}

static bool name_has(const char *lower, const char *word) {
  return strstr(lower, word) != NULL;
}

bool qcc_deadletters_header_kept(const char *name, size_t len) {
  static const char *const hop[] = {"connection", "keep-alive", "transfer-encoding", "te",
                                    "trailer", "upgrade", "host", "content-length",
                                    "proxy-connection", "expect"};
  static const char *const secret[] = {"auth", "key", "token", "secret", "cookie", "password",
                                       "session", "credential", "signature"};
  char lower[128];
  if (name == NULL || len == 0 || len >= sizeof(lower))
    return false;
  for (size_t i = 0; i < len; i++)
    lower[i] = (char)tolower((unsigned char)name[i]);
  lower[len] = '\0';
  for (size_t i = 0; i < sizeof(hop) / sizeof(hop[0]); i++)
    if (strcmp(lower, hop[i]) == 0)
      return false;
  for (size_t i = 0; i < sizeof(secret) / sizeof(secret[0]); i++)
    if (name_has(lower, secret[i]))
      return false;
  return true;
}

/* ---------------------------------------------------------------- entries */

static void dl_free(struct dl *d) {
  if (d == NULL)
    return;
  free((char *)d->pub.method);
  free((char *)d->pub.target);
  free((char *)d->pub.reason);
  for (size_t i = 0; i < d->pub.tried_count; i++) {
    free((char *)d->tried[i].endpoint);
    free((char *)d->tried[i].reason);
  }
  for (size_t i = 0; i < d->pub.header_count; i++) {
    free((char *)d->headers[i].name);
    free((char *)d->headers[i].value);
  }
  free(d->headers);
  free(d->replay);
  free(d);
}

static void dl_set_id(struct dl *d, uint64_t id) {
  snprintf(d->id, sizeof(d->id), "%" PRIx64, id);
  d->pub.id = d->id;
  d->pub.num_id = id;
}

static int parse_id(const char *s, uint64_t *out) {
  if (s == NULL || *s == '\0' || strlen(s) > 16)
    return -1;
  uint64_t v = 0;
  for (const char *p = s; *p; p++) {
    int d;
    if (*p >= '0' && *p <= '9')
      d = *p - '0';
    else if (*p >= 'a' && *p <= 'f')
      d = *p - 'a' + 10;
    else
      return -1;
    v = (v << 4) | (uint64_t)d;
  }
  if (v == 0)
    return -1;
  *out = v;
  return 0;
}

static struct dl *find(const struct qcc_deadletters *s, uint64_t id, size_t *at) {
  for (size_t i = 0; i < s->n; i++) {
    if (s->e[i]->pub.num_id == id) {
      if (at != NULL)
        *at = i;
      return s->e[i];
    }
  }
  return NULL;
}

/* ------------------------------------------------------------------ files */

static int file_path(const struct qcc_deadletters *s, const char *id, const char *ext, char *out,
                     size_t cap) {
  int n = snprintf(out, cap, "%s/%s.%s", s->dir, id, ext);
  return (n < 0 || (size_t)n >= cap) ? -1 : 0;
}

/* The one way (schema/fileio.h): temp beside it, fsync, rename, fsync dir;
 * mode 0600 (a request body may hold anything). */
static int write_atomic(const struct qcc_deadletters *s, const char *id, const char *ext,
                        const char *data, size_t len, struct qcc_err *err) {
  char path[4200];
  if (file_path(s, id, ext, path, sizeof(path)) != 0)
    return qcc_err_set(err, ENAMETOOLONG, "dead letter path too long in %s", s->dir);
  if (qcc_file_replace(path, data, len, 0600, err) != 0)
    return qcc_err_wrap(err, "cannot write dead letter %s.%s", id, ext);
  return 0;
}

static void unlink_files(const struct qcc_deadletters *s, const char *id) {
  static const char *const exts[] = {"meta", "body", "resp"};
  if (s->dir[0] == '\0')
    return;
  char path[4200];
  /* meta first: once it is gone, leftovers are debris cleaned at open */
  for (size_t i = 0; i < 3; i++)
    if (file_path(s, id, exts[i], path, sizeof(path)) == 0)
      unlink(path);
}

/* The one capped reader (schema/fileio.h); MAX beyond size_t means none. */
static int read_file(const char *path, uint64_t max, char **out, size_t *len,
                     struct qcc_err *err) {
  void *buf = NULL;
  if (qcc_file_read(path, max > SIZE_MAX ? SIZE_MAX : (size_t)max, &buf, len, err) != 0) {
    *out = NULL;
    return -1;
  }
  *out = buf;
  return 0;
}

/* --------------------------------------------------------------- meta JSON */

static json_t *meta_json(const struct dl *d) {
  const struct qcc_deadletter *p = &d->pub;
  char hash[17];
  snprintf(hash, sizeof(hash), "%016" PRIx64, p->body_hash);
  json_t *tried = json_array();
  json_t *headers = json_array();
  json_t *o = json_object();
  if (tried == NULL || headers == NULL || o == NULL) {
    json_decref(tried);
    json_decref(headers);
    json_decref(o);
    return NULL;
  }
  for (size_t i = 0; i < p->tried_count; i++)
    json_array_append_new(tried, json_pack("{s:s, s:i, s:s}", "endpoint", d->tried[i].endpoint,
                                           "status", (int)d->tried[i].status, "reason",
                                           d->tried[i].reason));
  for (size_t i = 0; i < p->header_count; i++)
    json_array_append_new(headers, json_pack("[s, s]", d->headers[i].name, d->headers[i].value));
  /* "v" first: the version is the first field a reader meets */
  json_object_set_new(o, "v", json_integer(QCC_DL_META_VERSION));
  json_object_set_new(o, "id", json_string(p->id));
  json_object_set_new(o, "time_ms", json_integer(p->time_ms));
  json_object_set_new(o, "method", json_string(p->method));
  json_object_set_new(o, "target", json_string(p->target));
  json_object_set_new(o, "priority", json_integer(p->priority));
  json_object_set_new(o, "attempts", json_integer(p->attempts));
  json_object_set_new(o, "reason", json_string(p->reason));
  json_object_set_new(o, "tried", tried);
  json_object_set_new(o, "body_hash", json_string(hash));
  json_object_set_new(o, "body_len", json_integer((json_int_t)p->body_len));
  json_object_set_new(o, "body_kept", json_boolean(p->body_kept));
  json_object_set_new(o, "headers", headers);
  json_object_set_new(o, "replay",
                      json_pack("{s:i, s:I, s:I, s:b}", "status", p->replay_status, "time_ms",
                                (json_int_t)p->replay_time_ms, "len", (json_int_t)p->replay_len,
                                "truncated", p->replay_truncated));
  return o;
}

static int write_meta(struct qcc_deadletters *s, const struct dl *d, struct qcc_err *err) {
  json_t *o = meta_json(d);
  char *text = o != NULL ? json_dumps(o, JSON_PRESERVE_ORDER | JSON_COMPACT) : NULL;
  json_decref(o);
  if (text == NULL)
    return qcc_err_set(err, ENOMEM, "out of memory encoding dead letter %s", d->id);
  size_t len = strlen(text);
  int rc = write_atomic(s, d->id, "meta", text, len, err);
  free(text);
  if (rc != 0)
    s->c.write_errors++;
  return rc;
}

static const char *jstr(json_t *o, const char *k) {
  const char *v = json_string_value(json_object_get(o, k));
  return v != NULL ? v : "";
}

/* One .meta back into an entry; NULL when it is not a version-1 meta. */
static struct dl *meta_load(const char *text, size_t len, uint64_t want_id) {
  json_error_t je;
  json_t *o = json_loadb(text, len, 0, &je);
  if (o == NULL || !json_is_object(o))
    goto bad;
  if (json_integer_value(json_object_get(o, "v")) != QCC_DL_META_VERSION)
    goto bad;
  uint64_t id;
  if (parse_id(jstr(o, "id"), &id) != 0 || id != want_id)
    goto bad;
  struct dl *d = calloc(1, sizeof(*d));
  if (d == NULL)
    goto bad;
  dl_set_id(d, id);
  d->pub.time_ms = json_integer_value(json_object_get(o, "time_ms"));
  d->pub.method = clean_str(jstr(o, "method"), 16);
  d->pub.target = clean_str(jstr(o, "target"), QCC_DL_MAX_TARGET);
  d->pub.reason = clean_str(jstr(o, "reason"), QCC_DL_MAX_TEXT);
  d->pub.priority = (uint32_t)json_integer_value(json_object_get(o, "priority"));
  d->pub.attempts = (uint32_t)json_integer_value(json_object_get(o, "attempts"));
  d->pub.tried = d->tried;
  json_t *tried = json_object_get(o, "tried");
  for (size_t i = 0; i < json_array_size(tried) && i < QCC_DL_MAX_TRIED; i++) {
    json_t *t = json_array_get(tried, i);
    d->tried[i].endpoint = clean_str(jstr(t, "endpoint"), QCC_DL_MAX_TEXT);
    d->tried[i].reason = clean_str(jstr(t, "reason"), QCC_DL_MAX_TEXT);
    d->tried[i].status = (uint16_t)json_integer_value(json_object_get(t, "status"));
    d->pub.tried_count = i + 1;
  }
  d->pub.body_hash = strtoull(jstr(o, "body_hash"), NULL, 16);
  d->pub.body_len = (uint64_t)json_integer_value(json_object_get(o, "body_len"));
  d->pub.body_kept = json_is_true(json_object_get(o, "body_kept"));
  json_t *hs = json_object_get(o, "headers");
  size_t hn = json_array_size(hs);
  if (hn > QCC_DL_MAX_HEADERS)
    hn = QCC_DL_MAX_HEADERS;
  d->headers = calloc(hn ? hn : 1, sizeof(*d->headers));
  d->pub.headers = d->headers;
  for (size_t i = 0; d->headers != NULL && i < hn; i++) {
    json_t *h = json_array_get(hs, i);
    const char *name = json_string_value(json_array_get(h, 0));
    const char *value = json_string_value(json_array_get(h, 1));
    /* a hand-edited meta could carry a credential: the same filter applies */
    if (name == NULL || value == NULL || !qcc_deadletters_header_kept(name, strlen(name)))
      continue;
    size_t k = d->pub.header_count;
    d->headers[k].name = clean_str(name, 127);
    d->headers[k].value = clean_str(value, QCC_DL_MAX_HEADER_BYTES);
    d->pub.header_count = k + 1;
  }
  json_t *r = json_object_get(o, "replay");
  d->pub.replay_status = (int)json_integer_value(json_object_get(r, "status"));
  d->pub.replay_time_ms = json_integer_value(json_object_get(r, "time_ms"));
  d->pub.replay_len = (size_t)json_integer_value(json_object_get(r, "len"));
  d->pub.replay_truncated = json_is_true(json_object_get(r, "truncated"));
  json_decref(o);
  if (d->pub.method == NULL || d->pub.target == NULL || d->pub.reason == NULL ||
      d->headers == NULL) {
    dl_free(d);
    return NULL;
  }
  return d;
bad:
  json_decref(o);
  return NULL;
}

/* ------------------------------------------------------------------ store */

static int push_entry(struct qcc_deadletters *s, struct dl *d) {
  if (s->n == s->cap) {
    size_t ncap = s->cap ? s->cap * 2 : 16;
    struct dl **ne = realloc(s->e, ncap * sizeof(*ne));
    if (ne == NULL)
      return -1;
    s->e = ne;
    s->cap = ncap;
  }
  s->e[s->n++] = d;
  s->c.count = s->n;
  s->c.bytes += d->bytes;
  if (d->pub.num_id >= s->next_id)
    s->next_id = d->pub.num_id + 1;
  return 0;
}

static void drop_at(struct qcc_deadletters *s, size_t i) {
  struct dl *d = s->e[i];
  unlink_files(s, d->id);
  s->c.bytes -= d->bytes;
  memmove(&s->e[i], &s->e[i + 1], (s->n - i - 1) * sizeof(s->e[0]));
  s->n--;
  s->c.count = s->n;
  dl_free(d);
}

/* Oldest out until within both bounds (the newest always stays). */
static void enforce_bounds(struct qcc_deadletters *s) {
  while (s->n > 1 && (s->n > s->p.max_entries || s->c.bytes > s->p.max_bytes)) {
    drop_at(s, 0);
    s->c.dropped++;
  }
}

static int by_time(const void *a, const void *b) {
  const struct dl *x = *(struct dl *const *)a, *y = *(struct dl *const *)b;
  if (x->pub.time_ms != y->pub.time_ms)
    return x->pub.time_ms < y->pub.time_ms ? -1 : 1;
  return x->pub.num_id < y->pub.num_id ? -1 : (x->pub.num_id > y->pub.num_id);
}

static bool has_ext(const char *name, const char *ext, char *stem, size_t cap) {
  size_t n = strlen(name), e = strlen(ext);
  if (n <= e + 1 || name[n - e - 1] != '.' || strcmp(name + n - e, ext) != 0 ||
      n - e - 1 >= cap)
    return false;
  memcpy(stem, name, n - e - 1);
  stem[n - e - 1] = '\0';
  return true;
}

static void restore_one(struct qcc_deadletters *s, uint64_t id) {
  char path[4200], *text = NULL;
  size_t len = 0;
  char idbuf[QCC_DL_ID_MAX];
  snprintf(idbuf, sizeof(idbuf), "%" PRIx64, id);
  if (file_path(s, idbuf, "meta", path, sizeof(path)) != 0 ||
      read_file(path, QCC_DL_MAX_META_BYTES, &text, &len, NULL) != 0)
    return;
  struct dl *d = meta_load(text, len, id);
  free(text);
  if (d == NULL)
    return; /* not ours (a newer version, or damaged): left alone */
  struct stat st;
  if (d->pub.body_kept) {
    if (!s->p.persist_bodies || file_path(s, d->id, "body", path, sizeof(path)) != 0 ||
        stat(path, &st) != 0 || (uint64_t)st.st_size != d->pub.body_len) {
      d->pub.body_kept = false;
      if (file_path(s, d->id, "body", path, sizeof(path)) == 0)
        unlink(path); /* persistence now off, or a damaged body: not kept */
    } else {
      d->bytes += d->pub.body_len;
    }
  }
  if (d->pub.replay_len > 0) {
    char *resp = NULL;
    size_t rlen = 0;
    if (file_path(s, d->id, "resp", path, sizeof(path)) == 0 &&
        read_file(path, s->p.max_response_bytes, &resp, &rlen, NULL) == 0 &&
        rlen == d->pub.replay_len) {
      d->replay = resp;
      d->pub.replay_body = resp;
      d->bytes += rlen;
    } else {
      free(resp);
      d->pub.replay_len = 0;
    }
  }
  if (push_entry(s, d) != 0) {
    dl_free(d);
    return;
  }
  s->c.restored++;
}

static int restore(struct qcc_deadletters *s, struct qcc_err *err) {
  DIR *dh = opendir(s->dir);
  if (dh == NULL)
    return qcc_err_set(err, errno, "cannot read %s: %s", s->dir, strerror(errno));
  struct dirent *de;
  char stem[64];
  /* first pass: the metas (each is a dead letter) */
  for (de = readdir(dh); de != NULL; de = readdir(dh)) {
    uint64_t id;
    if (has_ext(de->d_name, "meta", stem, sizeof(stem)) && parse_id(stem, &id) == 0 &&
        find(s, id, NULL) == NULL)
      restore_one(s, id);
  }
  /* second pass: debris (temp files of a crash, bodies without a meta) */
  rewinddir(dh);
  for (de = readdir(dh); de != NULL; de = readdir(dh)) {
    uint64_t id;
    char path[4200];
    bool debris = false;
    if (de->d_name[0] == '.' && strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
      debris = true;
    else if ((has_ext(de->d_name, "body", stem, sizeof(stem)) ||
              has_ext(de->d_name, "resp", stem, sizeof(stem))) &&
             parse_id(stem, &id) == 0 && find(s, id, NULL) == NULL)
      debris = true;
    if (debris) {
      int n = snprintf(path, sizeof(path), "%s/%s", s->dir, de->d_name);
      if (n > 0 && (size_t)n < sizeof(path))
        unlink(path);
    }
  }
  closedir(dh);
  if (s->n > 1)
    qsort(s->e, s->n, sizeof(s->e[0]), by_time);
  enforce_bounds(s);
  return 0;
}

int qcc_deadletters_open(const struct qcc_deadletters_params *p, struct qcc_deadletters **out,
                         struct qcc_err *err) {
  *out = NULL;
  struct qcc_deadletters *s = calloc(1, sizeof(*s));
  if (s == NULL)
    return qcc_err_set(err, ENOMEM, "out of memory opening the dead letters");
  if (p != NULL)
    s->p = *p;
  fill_defaults(&s->p);
  s->next_id = 1;
  if (p != NULL && p->state_dir != NULL && p->state_dir[0] != '\0') {
    int n = snprintf(s->dir, sizeof(s->dir), "%s/%s", p->state_dir, QCC_DL_SUBDIR);
    if (n < 0 || (size_t)n >= sizeof(s->dir)) {
      free(s);
      return qcc_err_set(err, ENAMETOOLONG, "state directory path too long");
    }
    if (mkdir(s->dir, 0700) != 0 && errno != EEXIST) {
      int e = errno;
      free(s);
      return qcc_err_set(err, e, "cannot create %s/%s: %s (create the state directory first)",
                         p->state_dir, QCC_DL_SUBDIR, strerror(e));
    }
    struct stat st;
    if (stat(s->dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
      free(s);
      return qcc_err_set(err, ENOTDIR, "%s/%s is not a directory", p->state_dir,
                         QCC_DL_SUBDIR);
    }
    if ((st.st_mode & 0077) != 0)
      chmod(s->dir, 0700); /* bodies are private: tighten a loose directory */
    if (restore(s, err) != 0) {
      qcc_deadletters_close(&s);
      return -1;
    }
  }
  s->p.state_dir = NULL; /* the caller's string may not outlive us; s->dir has it */
  *out = s;
  return 0;
}

void qcc_deadletters_close(struct qcc_deadletters **s) {
  if (s == NULL || *s == NULL)
    return;
  for (size_t i = 0; i < (*s)->n; i++)
    dl_free((*s)->e[i]);
  free((*s)->e);
  free(*s);
  *s = NULL;
}

static struct dl *build(const struct qcc_deadletter_in *in) {
  struct dl *d = calloc(1, sizeof(*d));
  if (d == NULL)
    return NULL;
  struct qcc_deadletter *p = &d->pub;
  p->time_ms = in->time_ms;
  p->method = clean_str(in->method, 16);
  p->target = clean_str(in->target, QCC_DL_MAX_TARGET);
  p->reason = clean_str(in->reason, QCC_DL_MAX_TEXT);
  p->priority = in->priority;
  p->attempts = in->attempts;
  p->tried = d->tried;
  bool ok = p->method != NULL && p->target != NULL && p->reason != NULL;
  for (size_t i = 0; ok && i < in->tried_count && i < QCC_DL_MAX_TRIED; i++) {
    d->tried[i].endpoint = clean_str(in->tried[i].endpoint, QCC_DL_MAX_TEXT);
    d->tried[i].reason = clean_str(in->tried[i].reason, QCC_DL_MAX_TEXT);
    d->tried[i].status = in->tried[i].status;
    p->tried_count = i + 1;
    ok = d->tried[i].endpoint != NULL && d->tried[i].reason != NULL;
  }
  size_t hn = in->header_count < QCC_DL_MAX_HEADERS ? in->header_count : QCC_DL_MAX_HEADERS;
  d->headers = calloc(hn ? hn : 1, sizeof(*d->headers));
  p->headers = d->headers;
  ok = ok && d->headers != NULL;
  size_t budget = QCC_DL_MAX_HEADER_BYTES;
  for (size_t i = 0; ok && i < in->header_count && p->header_count < hn; i++) {
    const struct qcc_header *h = &in->headers[i];
    if (!qcc_deadletters_header_kept(h->name, h->name_len))
      continue;
    if (h->name_len + h->value_len > budget)
      break;
    budget -= h->name_len + h->value_len;
    size_t k = p->header_count;
    char *name = clean_dup(h->name, h->name_len, 127);
    char *value = clean_dup(h->value, h->value_len, QCC_DL_MAX_HEADER_BYTES);
    for (char *c = name; c != NULL && *c; c++)
      *c = (char)tolower((unsigned char)*c);
    d->headers[k].name = name;
    d->headers[k].value = value;
    p->header_count = k + 1;
    ok = name != NULL && value != NULL;
  }
  p->body_len = in->body_len;
  p->body_hash = XXH3_64bits(in->body != NULL ? in->body : "", in->body != NULL ? in->body_len : 0);
  if (!ok) {
    dl_free(d);
    return NULL;
  }
  return d;
}

int qcc_deadletters_add(struct qcc_deadletters *s, const struct qcc_deadletter_in *in,
                        const char **id_out, struct qcc_err *err) {
  if (id_out != NULL)
    *id_out = NULL;
  struct dl *d = build(in);
  if (d == NULL)
    return qcc_err_set(err, ENOMEM, "out of memory keeping a dead letter");
  uint64_t id = in->id;
  if (id == 0 || find(s, id, NULL) != NULL)
    id = s->next_id;
  while (find(s, id, NULL) != NULL)
    id++;
  dl_set_id(d, id);
  int rc = 0;
  bool keep_body = s->dir[0] != '\0' && s->p.persist_bodies && in->body != NULL &&
                   in->body_len <= s->p.max_body_bytes && in->body_len <= s->p.max_bytes;
  if (keep_body) {
    rc = write_atomic(s, d->id, "body", in->body, in->body_len, err);
    if (rc == 0) {
      d->pub.body_kept = true;
      d->bytes = in->body_len;
    } else {
      s->c.write_errors++;
    }
  }
  if (rc == 0 && s->dir[0] != '\0')
    rc = write_meta(s, d, err);
  if (push_entry(s, d) != 0) {
    unlink_files(s, d->id);
    dl_free(d);
    return qcc_err_set(err, ENOMEM, "out of memory keeping a dead letter");
  }
  s->c.added++;
  enforce_bounds(s);
  if (id_out != NULL)
    *id_out = d->id;
  return rc;
}

size_t qcc_deadletters_count(const struct qcc_deadletters *s) {
  return s->n;
}

size_t qcc_deadletters_list(const struct qcc_deadletters *s, const struct qcc_deadletter **out,
                            size_t max) {
  size_t k = 0;
  for (; k < s->n && k < max; k++)
    out[k] = &s->e[k]->pub;
  return k;
}

const struct qcc_deadletter *qcc_deadletters_get(const struct qcc_deadletters *s,
                                                 const char *id) {
  uint64_t v;
  if (parse_id(id, &v) != 0)
    return NULL;
  struct dl *d = find(s, v, NULL);
  return d != NULL ? &d->pub : NULL;
}

int qcc_deadletters_body(const struct qcc_deadletters *s, const char *id, char **body,
                         size_t *len, struct qcc_err *err) {
  *body = NULL;
  *len = 0;
  const struct qcc_deadletter *p = qcc_deadletters_get(s, id);
  if (p == NULL)
    return qcc_err_set(err, ENOENT, "no dead letter %s", id != NULL ? id : "(null)");
  if (!p->body_kept)
    return qcc_err_set(err, ENODATA,
                       "the body of dead letter %s was not kept (queue.persistence_enabled "
                       "is off, or it was too large)",
                       p->id);
  char path[4200];
  if (file_path(s, p->id, "body", path, sizeof(path)) != 0)
    return qcc_err_set(err, ENAMETOOLONG, "dead letter path too long");
  if (read_file(path, p->body_len, body, len, err) != 0)
    return -1;
  if (*len != p->body_len || XXH3_64bits(*body, *len) != p->body_hash) {
    free(*body);
    *body = NULL;
    *len = 0;
    return qcc_err_set(err, EBADMSG, "the body of dead letter %s is damaged (hash mismatch)",
                       p->id);
  }
  return 0;
}

int qcc_deadletters_set_replay(struct qcc_deadletters *s, const char *id, int status,
                               const char *body, size_t len, int64_t time_ms,
                               struct qcc_err *err) {
  uint64_t v;
  struct dl *d = parse_id(id, &v) == 0 ? find(s, v, NULL) : NULL;
  if (d == NULL)
    return qcc_err_set(err, ENOENT, "no dead letter %s", id != NULL ? id : "(null)");
  size_t keep = len < s->p.max_response_bytes ? len : s->p.max_response_bytes;
  if (body == NULL)
    keep = 0;
  char *copy = NULL;
  if (keep > 0) {
    copy = malloc(keep);
    if (copy == NULL)
      return qcc_err_set(err, ENOMEM, "out of memory keeping a replay response");
    memcpy(copy, body, keep);
  }
  s->c.bytes -= d->pub.replay_len;
  d->bytes -= d->pub.replay_len;
  free(d->replay);
  d->replay = copy;
  d->pub.replay_body = copy;
  d->pub.replay_len = keep;
  d->pub.replay_truncated = keep < len;
  d->pub.replay_status = status;
  d->pub.replay_time_ms = time_ms;
  d->bytes += keep;
  s->c.bytes += keep;
  int rc = 0;
  if (s->dir[0] != '\0') {
    char path[4200];
    if (keep > 0)
      rc = write_atomic(s, d->id, "resp", copy, keep, err);
    else if (file_path(s, d->id, "resp", path, sizeof(path)) == 0)
      unlink(path);
    if (rc == 0)
      rc = write_meta(s, d, err);
    else
      s->c.write_errors++;
  }
  return rc;
}

int qcc_deadletters_remove(struct qcc_deadletters *s, const char *id, struct qcc_err *err) {
  uint64_t v;
  size_t at;
  if (parse_id(id, &v) != 0 || find(s, v, &at) == NULL)
    return qcc_err_set(err, ENOENT, "no dead letter %s", id != NULL ? id : "(null)");
  drop_at(s, at);
  return 0;
}

int qcc_deadletters_clear(struct qcc_deadletters *s, struct qcc_err *err) {
  (void)err;
  while (s->n > 0)
    drop_at(s, s->n - 1);
  if (s->dir[0] != '\0')
    qcc_dir_fsync(s->dir, NULL);
  return 0;
}

void qcc_deadletters_counters(const struct qcc_deadletters *s,
                              struct qcc_deadletters_counters *out) {
  *out = s->c;
}
