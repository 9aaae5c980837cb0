#include "usage.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <xxhash.h>

#include "schema/journal.h"

#define FIELD_DESC_(k, f, doc) {#f, QCC_UK_##k, doc},
#define QCC_UK_U16 "u16"
#define QCC_UK_U32 "u32"
#define QCC_UK_U64 "u64"
#define QCC_UK_I64 "i64"
#define QCC_UK_STR "str"
const struct qcc_usage_field qcc_usage_fields[] = {QCC_USAGE_FIELDS(FIELD_DESC_)};
#undef FIELD_DESC_
const size_t qcc_usage_field_count = sizeof qcc_usage_fields / sizeof qcc_usage_fields[0];

struct qcc_usage_tokens qcc_usage_rec_tokens(const struct qcc_usage_rec *r) {
  return (struct qcc_usage_tokens){r->input, r->output, r->cache_write_5m, r->cache_write_1h,
                                   r->cache_read};
}

void qcc_usage_rec_set_tokens(struct qcc_usage_rec *r, const struct qcc_usage_tokens *t) {
  r->input = t->input;
  r->output = t->output;
  r->cache_write_5m = t->cache_write_5m;
  r->cache_write_1h = t->cache_write_1h;
  r->cache_read = t->cache_read;
}

bool qcc_usage_tokens_unknown(const struct qcc_usage_tokens *t) {
  return t->input < 0 || t->output < 0 || t->cache_write_5m < 0 || t->cache_write_1h < 0 ||
         t->cache_read < 0;
}

/* ---- little-endian bytes ---- */
static void put_le(uint8_t *p, uint64_t v, int n) {
  for (int i = 0; i < n; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static uint64_t get_le(const uint8_t *p, int n) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; i--) v = v << 8 | p[i];
  return v;
}

void qcc_usage_header_encode(uint8_t out[32], int64_t created_ms) {
  memset(out, 0, QCC_JOURNAL_HEADER_SIZE);
  memcpy(out + QCC_JOURNAL_HDR_MAGIC, QCC_USAGE_MAGIC, QCC_JOURNAL_MAGIC_LEN);
  put_le(out + QCC_JOURNAL_HDR_BYTE_ORDER, QCC_JOURNAL_BYTE_ORDER, 4);
  put_le(out + QCC_JOURNAL_HDR_MAJOR, QCC_USAGE_MAJOR, 2);
  put_le(out + QCC_JOURNAL_HDR_MINOR, QCC_USAGE_MINOR, 2);
  put_le(out + QCC_JOURNAL_HDR_CREATED, (uint64_t)created_ms, 8);
  put_le(out + QCC_JOURNAL_HDR_CHECKSUM, XXH3_64bits(out, QCC_JOURNAL_HDR_CHECKSUM), 8);
}

/* ---- encoding ---- */
struct wbuf {
  uint8_t *p;
  size_t cap, len;
  bool overflow;
};

static void w_int(struct wbuf *w, uint64_t v, int n) {
  if (w->overflow || w->cap - w->len < (size_t)n) {
    w->overflow = true;
    return;
  }
  put_le(w->p + w->len, v, n);
  w->len += (size_t)n;
}

static void w_str(struct wbuf *w, const char *s) {
  size_t n = 0;
  if (s != NULL) {
    while (n < QCC_USAGE_MAX_TEXT && s[n] != '\0') n++;
    if (n == QCC_USAGE_MAX_TEXT && s[n] != '\0')
      while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80) n--;
  }
  w_int(w, n, 2);
  if (w->overflow || w->cap - w->len < n + 1) {
    w->overflow = true;
    return;
  }
  if (n > 0) memcpy(w->p + w->len, s, n);
  w->p[w->len + n] = 0;
  w->len += n + 1;
}

#define ENC_U16(w, v) w_int(w, v, 2)
#define ENC_U32(w, v) w_int(w, v, 4)
#define ENC_U64(w, v) w_int(w, v, 8)
#define ENC_I64(w, v) w_int(w, (uint64_t)(v), 8)
#define ENC_STR(w, v) w_str(w, v)

int qcc_usage_encode(const struct qcc_usage_rec *r, uint8_t *buf, size_t cap, size_t *len,
                     struct qcc_err *err) {
  if (cap < QCC_JOURNAL_REC_PAYLOAD + QCC_JOURNAL_REC_TRAILER)
    return qcc_err_set(err, ENOSPC, "usage: no room for a record");
  struct wbuf w = {buf + QCC_JOURNAL_REC_PAYLOAD,
                   cap - QCC_JOURNAL_REC_PAYLOAD - QCC_JOURNAL_REC_TRAILER, 0, false};
#define ENC_FIELD_(k, f, doc) ENC_##k(&w, r->f);
  QCC_USAGE_FIELDS(ENC_FIELD_)
#undef ENC_FIELD_
  size_t padded = (w.len + 7u) & ~(size_t)7u;
  if (w.overflow || padded > w.cap) return qcc_err_set(err, ENOSPC, "usage: no room for a record");
  memset(buf + QCC_JOURNAL_REC_PAYLOAD + w.len, 0, padded - w.len);
  put_le(buf + QCC_JOURNAL_REC_LEN, w.len, 4);
  put_le(buf + QCC_JOURNAL_REC_TYPE, r->type, 2);
  put_le(buf + QCC_JOURNAL_REC_FLAGS, r->flags, 2);
  put_le(buf + QCC_JOURNAL_REC_TIME, (uint64_t)r->time_ms, 8);
  size_t body = QCC_JOURNAL_REC_PAYLOAD + padded;
  put_le(buf + body, XXH3_64bits(buf, body), 8);
  *len = body + QCC_JOURNAL_REC_TRAILER;
  return 0;
}

/* ---- scanning and decoding ---- */
int qcc_usage_scan(const uint8_t *buf, size_t len, int (*cb)(const struct qcc_jraw *, void *),
                   void *ud, struct qcc_jscan_result *res) {
  return qcc_journal_scan_framed(buf, len, QCC_USAGE_MAGIC, QCC_USAGE_MAJOR, cb, ud, res);
}

struct rbuf {
  const uint8_t *p;
  size_t len, off;
  bool bad;
};

static uint64_t r_int(struct rbuf *r, int n) {
  if (r->bad || r->len - r->off < (size_t)n) {
    r->bad = true;
    return 0;
  }
  uint64_t v = get_le(r->p + r->off, n);
  r->off += (size_t)n;
  return v;
}

static const char *r_str(struct rbuf *r) {
  size_t n = (size_t)r_int(r, 2);
  if (r->bad || n > QCC_USAGE_MAX_TEXT || r->len - r->off < n + 1) {
    r->bad = true;
    return "";
  }
  const uint8_t *p = r->p + r->off;
  if (p[n] != 0 || memchr(p, 0, n) != NULL) {
    r->bad = true;
    return "";
  }
  r->off += n + 1;
  return (const char *)p;
}

#define DEC_U16(r) (uint16_t) r_int(r, 2)
#define DEC_U32(r) (uint32_t) r_int(r, 4)
#define DEC_U64(r) r_int(r, 8)
#define DEC_I64(r) (int64_t) r_int(r, 8)
#define DEC_STR(r) r_str(r)

int qcc_usage_decode(const struct qcc_jraw *raw, struct qcc_usage_rec *out, struct qcc_err *err) {
  memset(out, 0, sizeof *out);
  if (raw->type != QCC_USAGE_REC_REQUEST && raw->type != QCC_USAGE_REC_ROLLUP)
    return qcc_err_set(err, ENOENT, "usage record at offset %llu: unknown type %u",
                       (unsigned long long)raw->offset, raw->type);
  out->type = raw->type;
  out->flags = raw->flags;
  out->time_ms = raw->time_ms;
  struct rbuf r = {raw->payload, raw->payload_len, 0, false};
#define DEC_FIELD_(k, f, doc) out->f = DEC_##k(&r);
  QCC_USAGE_FIELDS(DEC_FIELD_)
#undef DEC_FIELD_
  if (r.bad)
    return qcc_err_set(err, EINVAL, "usage record at offset %llu: malformed payload",
                       (unsigned long long)raw->offset);
  return 0;
}

int qcc_usage_map(const char *path, const uint8_t **buf, size_t *len, struct qcc_err *err) {
  *buf = NULL;
  *len = 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return 0;
    return qcc_err_set(err, errno, "cannot open %s: %s", path, strerror(errno));
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return qcc_err_set(err, EINVAL, "%s is not a regular file", path);
  }
  if (st.st_size == 0) {
    close(fd);
    return 0;
  }
  void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
  int e = errno;
  close(fd);
  if (map == MAP_FAILED) return qcc_err_set(err, e, "cannot map %s: %s", path, strerror(e));
  *buf = map;
  *len = (size_t)st.st_size;
  return 0;
}

void qcc_usage_unmap(const uint8_t *buf, size_t len) {
  if (buf != NULL && len > 0) munmap((void *)buf, len);
}

/* ---- rollup ---- */
#define HOUR_MS INT64_C(3600000)
#define DAY_MS INT64_C(86400000)

/* One rollup being summed: the record plus the key strings it owns. */
struct group {
  uint64_t hash;
  struct qcc_usage_rec rec;
  char *keys; /* endpoint\0profile\0model\0upstream_model\0client\0 */
};

struct fold {
  struct group *g;
  size_t cap, n;
  const char *bad;
};

static uint64_t group_hash(const struct qcc_usage_rec *r, int64_t hour) {
  XXH3_state_t *s = XXH3_createState();
  if (s == NULL) return 0;
  XXH3_64bits_reset(s);
  XXH3_64bits_update(s, &hour, sizeof hour);
  XXH3_64bits_update(s, &r->endpoint_sid, sizeof r->endpoint_sid);
  const char *k[] = {r->endpoint, r->profile, r->model, r->upstream_model, r->client};
  for (size_t i = 0; i < 5; i++) XXH3_64bits_update(s, k[i], strlen(k[i]) + 1);
  uint64_t h = XXH3_64bits_digest(s);
  XXH3_freeState(s);
  return h;
}

static bool group_same(const struct group *g, const struct qcc_usage_rec *r, int64_t hour) {
  const struct qcc_usage_rec *a = &g->rec;
  return a->time_ms == hour && a->endpoint_sid == r->endpoint_sid &&
         strcmp(a->endpoint, r->endpoint) == 0 && strcmp(a->profile, r->profile) == 0 &&
         strcmp(a->model, r->model) == 0 && strcmp(a->upstream_model, r->upstream_model) == 0 &&
         strcmp(a->client, r->client) == 0;
}

static int fold_grow(struct fold *f) {
  size_t ncap = f->cap ? f->cap * 2 : 1024;
  struct group *ng = calloc(ncap, sizeof *ng);
  if (ng == NULL) return -1;
  for (size_t i = 0; i < f->cap; i++) {
    if (f->g[i].keys == NULL) continue;
    size_t j = f->g[i].hash & (ncap - 1);
    while (ng[j].keys != NULL) j = (j + 1) & (ncap - 1);
    ng[j] = f->g[i];
  }
  free(f->g);
  f->g = ng;
  f->cap = ncap;
  return 0;
}

static int64_t add_sat(int64_t a, int64_t b) { return b > INT64_MAX - a ? INT64_MAX : a + b; }

static void group_add(struct qcc_usage_rec *a, const struct qcc_usage_rec *r) {
  int64_t *dst[] = {&a->input, &a->output, &a->cache_write_5m, &a->cache_write_1h, &a->cache_read};
  const int64_t src[] = {r->input, r->output, r->cache_write_5m, r->cache_write_1h, r->cache_read};
  for (size_t i = 0; i < 5; i++)
    if (src[i] > 0) *dst[i] = add_sat(*dst[i], src[i]);
  if (r->cost != QCC_USAGE_NO_PRICE)
    a->cost = a->cost == QCC_USAGE_NO_PRICE ? r->cost : add_sat(a->cost, r->cost);
  a->requests += r->requests;
  a->partial += r->partial;
  a->no_price += r->no_price;
  a->partly_priced += r->partly_priced;
  a->unpriced_tokens = add_sat(a->unpriced_tokens, r->unpriced_tokens > 0 ? r->unpriced_tokens : 0);
  a->errors += r->errors;
  a->attempts += r->attempts;
  a->unknown += r->unknown;
}

static int fold_add(struct fold *f, const struct qcc_usage_rec *r) {
  int64_t hour = r->time_ms - ((r->time_ms % HOUR_MS) + HOUR_MS) % HOUR_MS;
  if ((f->n + 1) * 4 > f->cap * 3 && fold_grow(f) != 0) return -1;
  uint64_t h = group_hash(r, hour);
  size_t j = h & (f->cap - 1);
  while (f->g[j].keys != NULL) {
    if (f->g[j].hash == h && group_same(&f->g[j], r, hour)) {
      group_add(&f->g[j].rec, r);
      return 0;
    }
    j = (j + 1) & (f->cap - 1);
  }
  struct group *g = &f->g[j];
  const char *k[] = {r->endpoint, r->profile, r->model, r->upstream_model, r->client};
  size_t total = 0, l[5];
  for (size_t i = 0; i < 5; i++) total += (l[i] = strlen(k[i])) + 1;
  g->keys = malloc(total);
  if (g->keys == NULL) return -1;
  g->hash = h;
  memset(&g->rec, 0, sizeof g->rec);
  g->rec.type = QCC_USAGE_REC_ROLLUP;
  g->rec.time_ms = hour;
  g->rec.endpoint_sid = r->endpoint_sid;
  g->rec.cost = QCC_USAGE_NO_PRICE;
  g->rec.request_id = g->rec.session = "";
  const char **dst[] = {&g->rec.endpoint, &g->rec.profile, &g->rec.model, &g->rec.upstream_model,
                        &g->rec.client};
  char *p = g->keys;
  for (size_t i = 0; i < 5; i++) {
    memcpy(p, k[i], l[i] + 1);
    *dst[i] = p;
    p += l[i] + 1;
  }
  f->n++;
  group_add(&g->rec, r);
  return 0;
}

struct fold_ctx {
  struct fold f;
  int64_t detail_cut, keep_cut;
  int out;
  uint64_t off;
  struct qcc_usage_fold_stats *st;
  struct qcc_err *err;
  int failed;
};

static int write_all(int fd, const void *p, size_t n, uint64_t *off) {
  const uint8_t *b = p;
  while (n > 0) {
    ssize_t w = pwrite(fd, b, n, (off_t)*off);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    b += w;
    n -= (size_t)w;
    *off += (uint64_t)w;
  }
  return 0;
}

static int fold_cb(const struct qcc_jraw *raw, void *ud) {
  struct fold_ctx *c = ud;
  if (raw->time_ms < c->keep_cut) {
    c->st->dropped++;
    return 0;
  }
  if (raw->type != QCC_USAGE_REC_REQUEST || raw->time_ms >= c->detail_cut) {
    /* kept as it is: recent detail, a rollup, a newer writer's type */
    if (raw->type == QCC_USAGE_REC_REQUEST) c->st->kept++;
    if (write_all(c->out, raw->payload - QCC_JOURNAL_REC_PAYLOAD, raw->size, &c->off) != 0) {
      c->failed = qcc_err_set(c->err, errno, "usage: cannot write the rolled-up file: %s",
                              strerror(errno));
      return 1;
    }
    return 0;
  }
  struct qcc_usage_rec r;
  struct qcc_err e = {0};
  if (qcc_usage_decode(raw, &r, &e) != 0) {
    c->st->dropped++; /* framed but unreadable: nothing to sum */
    return 0;
  }
  if (fold_add(&c->f, &r) != 0) {
    c->failed = qcc_err_set(c->err, ENOMEM, "usage: out of memory rolling up");
    return 1;
  }
  c->st->folded++;
  return 0;
}

int qcc_usage_fold(const uint8_t *in, size_t len, int64_t now_ms,
                   const struct qcc_usage_retention *ret, int out,
                   struct qcc_usage_fold_stats *st, struct qcc_err *err) {
  memset(st, 0, sizeof *st);
  st->size_before = len;
  struct fold_ctx c = {.out = out, .st = st, .err = err};
  int64_t detail = (int64_t)ret->detail_days * DAY_MS;
  int64_t keep = (int64_t)ret->retention_days * DAY_MS;
  c.detail_cut = now_ms - detail;
  c.detail_cut -= ((c.detail_cut % HOUR_MS) + HOUR_MS) % HOUR_MS;
  c.keep_cut = now_ms - keep;
  c.keep_cut -= ((c.keep_cut % HOUR_MS) + HOUR_MS) % HOUR_MS;
  uint8_t hdr[QCC_JOURNAL_HEADER_SIZE];
  struct qcc_jscan_result res;
  int rc = -1;
  if (len >= QCC_JOURNAL_HEADER_SIZE) memcpy(hdr, in, sizeof hdr);
  else qcc_usage_header_encode(hdr, now_ms);
  if (write_all(out, hdr, sizeof hdr, &c.off) != 0) {
    qcc_err_set(err, errno, "usage: cannot write the rolled-up file: %s", strerror(errno));
    goto done;
  }
  if (len > 0 && qcc_usage_scan(in, len, fold_cb, &c, &res) != 0) {
    qcc_err_set(err, EINVAL, "usage: cannot roll up a damaged file: %s", res.why);
    goto done;
  }
  if (c.failed) goto done;
  uint8_t buf[2048];
  for (size_t i = 0; i < c.f.cap; i++) {
    if (c.f.g[i].keys == NULL) continue;
    size_t n;
    if (qcc_usage_encode(&c.f.g[i].rec, buf, sizeof buf, &n, err) != 0) goto done;
    if (write_all(out, buf, n, &c.off) != 0) {
      qcc_err_set(err, errno, "usage: cannot write the rolled-up file: %s", strerror(errno));
      goto done;
    }
    st->rollups++;
  }
  st->size_after = c.off;
  rc = 0;
done:
  for (size_t i = 0; i < c.f.cap; i++) free(c.f.g[i].keys);
  free(c.f.g);
  return rc;
}
