/* Layout: struct qcc_config -> table image. Records are built into their own
 * arrays while strings are interned, then everything is placed into one
 * buffer: header, directory, sections in id order, string pool last. */
#include "layout.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#define XXH_STATIC_LINKING_ONLY /* XXH3_state_t on the stack */
#include <xxhash.h>

#include "schema/table.h"

struct qcc_layout {
  uint8_t *bytes;
  size_t len;
};

/* ---- string pool: deduplicated, first-use order ------------------------- */

struct pool {
  char *buf;
  size_t len, cap;
  /* open addressing on the string hash; slot = pool offset + 1, 0 = empty */
  uint64_t *slots;
  size_t mask, used;
  bool failed;
};

static int pool_init(struct pool *p) {
  memset(p, 0, sizeof *p);
  p->cap = 4096;
  p->buf = malloc(p->cap);
  p->mask = 1023;
  p->slots = calloc(p->mask + 1, sizeof *p->slots);
  if (p->buf == NULL || p->slots == NULL) return -1;
  p->buf[0] = '\0'; /* offset 0 is the empty string */
  p->len = 1;
  return 0;
}

static void pool_free(struct pool *p) {
  free(p->buf);
  free(p->slots);
}

static int pool_grow_slots(struct pool *p) {
  size_t ncap = (p->mask + 1) * 2;
  uint64_t *ns = calloc(ncap, sizeof *ns);
  if (ns == NULL) return -1;
  for (size_t i = 0; i <= p->mask; i++) {
    if (p->slots[i] == 0) continue;
    const char *s = p->buf + p->slots[i] - 1;
    size_t j = XXH3_64bits(s, strlen(s)) & (ncap - 1);
    while (ns[j] != 0) j = (j + 1) & (ncap - 1);
    ns[j] = p->slots[i];
  }
  free(p->slots);
  p->slots = ns;
  p->mask = ncap - 1;
  return 0;
}

static struct qcc_tbl_str pool_add(struct pool *p, const char *s) {
  struct qcc_tbl_str r = {0, 0};
  if (s == NULL || s[0] == '\0' || p->failed) return r;
  size_t n = strlen(s);
  if (n >= UINT32_MAX) {
    p->failed = true;
    return r;
  }
  size_t j = XXH3_64bits(s, n) & p->mask;
  while (p->slots[j] != 0) {
    const char *c = p->buf + p->slots[j] - 1;
    if (strcmp(c, s) == 0) {
      r.off = (uint32_t)(p->slots[j] - 1);
      r.len = (uint32_t)n;
      return r;
    }
    j = (j + 1) & p->mask;
  }
  if (p->len + n + 1 > UINT32_MAX) {
    p->failed = true;
    return r;
  }
  if (p->len + n + 1 > p->cap) {
    size_t ncap = p->cap;
    while (ncap < p->len + n + 1) ncap *= 2;
    char *nb = realloc(p->buf, ncap);
    if (nb == NULL) {
      p->failed = true;
      return r;
    }
    p->buf = nb;
    p->cap = ncap;
  }
  r.off = (uint32_t)p->len;
  r.len = (uint32_t)n;
  memcpy(p->buf + p->len, s, n + 1);
  p->len += n + 1;
  p->slots[j] = (uint64_t)r.off + 1;
  if (++p->used * 2 > p->mask + 1 && pool_grow_slots(p) != 0) p->failed = true;
  return r;
}

/* ---- helpers ------------------------------------------------------------- */

uint64_t qcc_layout_identity_hash(const char *base_url, unsigned auth, unsigned key_kind,
                                  const char *key_value) {
  XXH3_state_t st;
  uint8_t b[2] = {(uint8_t)auth, (uint8_t)key_kind};
  const char *u = base_url != NULL ? base_url : "";
  const char *v = key_value != NULL ? key_value : "";
  XXH3_64bits_reset(&st);
  XXH3_64bits_update(&st, u, strlen(u) + 1); /* NUL separates the fields */
  XXH3_64bits_update(&st, b, sizeof b);
  XXH3_64bits_update(&st, v, strlen(v) + 1);
  return XXH3_64bits_digest(&st);
}

int64_t qcc_layout_build_time(void) {
  const char *e = getenv("SOURCE_DATE_EPOCH");
  if (e != NULL && e[0] != '\0') {
    char *end = NULL;
    errno = 0;
    long long v = strtoll(e, &end, 10);
    if (errno == 0 && end != NULL && *end == '\0' && v >= 0) return (int64_t)v;
  }
  return (int64_t)time(NULL);
}

static void eff_lb(const struct qcc_config *cfg, const struct qcc_profile_cfg *p, uint8_t *strategy,
                   uint8_t *aware, uint8_t *sticky) {
  if (p->lb_override) {
    *strategy = (uint8_t)p->lb_strategy;
    *aware = p->health_aware;
    *sticky = p->sticky_session;
  } else {
    *strategy = (uint8_t)cfg->settings.lb_strategy;
    *aware = cfg->settings.health_aware;
    *sticky = cfg->settings.sticky_session;
  }
}

/* ---- fields from the rows of schema/config_keys.h ------------------------ */

/* Every row field of record kind WHICH, from the config struct to the table
 * record: numbers little-endian at the table's width, strings interned. */
static void copy_fields(struct pool *pool, enum qcc_rec which, const void *from, void *to) {
  uint8_t *out = to;
  for (size_t k = 0; k < QCC_KNOB_COUNT; k++) {
    const struct qcc_tbl_field *tf = &qcc_tbl_fields[k];
    if (tf->rec != which) continue;
    if (tf->kind == QCC_KNOB_STRING) {
      struct qcc_tbl_str r = pool_add(pool, qcc_cfg_str(from, (enum qcc_knob_id)k));
      memcpy(out + tf->offset, &r, sizeof r);
    } else {
      uint64_t v = qcc_cfg_num(from, (enum qcc_knob_id)k);
      for (uint32_t b = 0; b < tf->size && b < 8; b++)
        out[tf->offset + b] = (uint8_t)(v >> (8 * b));
    }
  }
}

/* ---- digest: the laid-out payload ----------------------------------------- */

/* Everything the runtime can see is in the payload, so hashing it (and not
 * a hand-kept list of fields) cannot miss a change. Positions, comments and
 * key order never reach the payload; generation and build time are in the
 * header. The format version is part of it: a new layout of the same config
 * is a new table, so `build` after an upgrade does write. */
static void payload_digest(const uint8_t *img, size_t len, uint8_t out[16]) {
  XXH3_state_t st;
  uint8_t v[4] = {QCC_TABLE_MAJOR & 0xff, QCC_TABLE_MAJOR >> 8, QCC_TABLE_MINOR & 0xff,
                  QCC_TABLE_MINOR >> 8};
  XXH3_128bits_reset(&st);
  XXH3_128bits_update(&st, "qcc-table\0", 10);
  XXH3_128bits_update(&st, v, sizeof v);
  XXH3_128bits_update(&st, img + QCC_TABLE_HEADER_SIZE, len - QCC_TABLE_HEADER_SIZE);
  XXH128_canonical_t c;
  XXH128_canonicalFromHash(&c, XXH3_128bits_digest(&st));
  memcpy(out, c.digest, 16);
}

void qcc_layout_digest(const struct qcc_config *cfg, uint8_t out[16]) {
  struct qcc_layout_opts o = {0, 0};
  struct qcc_layout *l = NULL;
  struct qcc_err e;
  memset(out, 0, 16);
  if (qcc_layout_new(cfg, &o, &l, &e) != 0) return;
  memcpy(out, ((const struct qcc_tbl_header *)(const void *)l->bytes)->source_digest, 16);
  qcc_layout_free(&l);
}

/* ---- the image ----------------------------------------------------------- */

static size_t align8(size_t n) { return (n + 7) & ~(size_t)7; }

static struct qcc_tbl_keyref keyref(struct pool *p, const struct qcc_keysrc *k) {
  struct qcc_tbl_keyref r;
  memset(&r, 0, sizeof r);
  r.kind = (uint8_t)k->kind;
  if (k->kind != QCC_KEY_NONE) r.value = pool_add(p, k->value);
  return r;
}

int qcc_layout_new(const struct qcc_config *cfg, const struct qcc_layout_opts *opts,
                   struct qcc_layout **out, struct qcc_err *err) {
  *out = NULL;
  uint64_t n_ep = 0, n_mm = 0, n_md = 0;
  for (size_t i = 0; i < cfg->profile_count; i++) {
    const struct qcc_profile_cfg *p = &cfg->profiles[i];
    n_ep += p->endpoint_count;
    for (size_t j = 0; j < p->endpoint_count; j++) {
      n_mm += p->endpoints[j].model_count;
      n_md += p->endpoints[j].metadata_count;
    }
  }
  if (cfg->profile_count > UINT32_MAX || n_ep > UINT32_MAX || n_mm > UINT32_MAX ||
      n_md > UINT32_MAX || cfg->token_count > UINT32_MAX || cfg->price_count > UINT32_MAX)
    return qcc_err_set(err, E2BIG, "config too large for the table format");

  struct pool pool;
  struct qcc_tbl_settings ts;
  struct qcc_tbl_profile *tp = calloc(cfg->profile_count + 1, sizeof *tp);
  struct qcc_tbl_endpoint *te = calloc(n_ep + 1, sizeof *te);
  struct qcc_tbl_pair *tmm = calloc(n_mm + 1, sizeof *tmm);
  struct qcc_tbl_pair *tmd = calloc(n_md + 1, sizeof *tmd);
  struct qcc_tbl_token *tt = calloc(cfg->token_count + 1, sizeof *tt);
  struct qcc_tbl_price *tpr = calloc(cfg->price_count + 1, sizeof *tpr);
  int rc = -1;
  uint64_t flags = 0;
  if (pool_init(&pool) != 0 || !tp || !te || !tmm || !tmd || !tt || !tpr) {
    qcc_err_set(err, ENOMEM, "out of memory laying out the table");
    goto done;
  }

  memset(&ts, 0, sizeof ts);
  copy_fields(&pool, QCC_REC_SETTINGS, &cfg->settings, &ts);

  uint32_t ei = 0, mi = 0, di = 0;
  for (size_t i = 0; i < cfg->profile_count; i++) {
    const struct qcc_profile_cfg *p = &cfg->profiles[i];
    struct qcc_tbl_profile *r = &tp[i];
    copy_fields(&pool, QCC_REC_PROFILE, p, r);
    r->lb_override = p->lb_override;
    eff_lb(cfg, p, &r->lb_strategy, &r->health_aware, &r->sticky_session);
    r->endpoint_first = ei;
    r->endpoint_count = (uint32_t)p->endpoint_count;
    for (size_t j = 0; j < p->endpoint_count; j++) {
      const struct qcc_endpoint_cfg *e = &p->endpoints[j];
      struct qcc_tbl_endpoint *x = &te[ei++];
      const char *id = e->id != NULL ? e->id : "";
      x->stable_id = XXH3_64bits(id, strlen(id));
      copy_fields(&pool, QCC_REC_ENDPOINT, e, x);
      x->key = keyref(&pool, &e->key);
      if (e->key.kind == QCC_KEY_LITERAL) flags |= QCC_TABLE_FLAG_LITERAL_KEYS;
      x->profile_index = (uint32_t)i;
      x->model_map_first = mi;
      x->model_map_count = (uint32_t)e->model_count;
      for (size_t k = 0; k < e->model_count; k++) {
        tmm[mi].key = pool_add(&pool, e->models[k].key);
        tmm[mi].value = pool_add(&pool, e->models[k].value);
        mi++;
      }
      x->metadata_first = di;
      x->metadata_count = (uint32_t)e->metadata_count;
      for (size_t k = 0; k < e->metadata_count; k++) {
        tmd[di].key = pool_add(&pool, e->metadata[k].key);
        tmd[di].value = pool_add(&pool, e->metadata[k].value);
        di++;
      }
      x->identity_hash = qcc_layout_identity_hash(e->base_url, e->auth, e->key.kind,
                                                  e->key.kind == QCC_KEY_NONE ? NULL : e->key.value);
    }
  }
  for (size_t i = 0; i < cfg->token_count; i++) {
    copy_fields(&pool, QCC_REC_TOKEN, &cfg->tokens[i], &tt[i]);
    tt[i].key = keyref(&pool, &cfg->tokens[i].key);
    if (cfg->tokens[i].key.kind == QCC_KEY_LITERAL) flags |= QCC_TABLE_FLAG_LITERAL_KEYS;
  }
  for (size_t i = 0; i < cfg->price_count; i++) {
    tpr[i].model = pool_add(&pool, cfg->prices[i].model);
    copy_fields(&pool, QCC_REC_PRICE, &cfg->prices[i], &tpr[i]);
    tpr[i].priced = cfg->prices[i].priced;
  }
  if (pool.failed) {
    qcc_err_set(err, E2BIG, "string pool too large or out of memory");
    goto done;
  }

  /* Place the sections. */
  struct {
    uint32_t id, record_size;
    uint64_t count;
    const void *data;
  } secs[] = {
      {QCC_SEC_SETTINGS, sizeof ts, 1, &ts},
      {QCC_SEC_PROFILES, sizeof *tp, cfg->profile_count, tp},
      {QCC_SEC_ENDPOINTS, sizeof *te, n_ep, te},
      {QCC_SEC_MODEL_MAPS, sizeof *tmm, n_mm, tmm},
      {QCC_SEC_METADATA, sizeof *tmd, n_md, tmd},
      {QCC_SEC_AUTH_TOKENS, sizeof *tt, cfg->token_count, tt},
      {QCC_SEC_PRICES, sizeof *tpr, cfg->price_count, tpr},
      {QCC_SEC_STRINGS, 1, pool.len, pool.buf},
  };
  const size_t nsec = sizeof secs / sizeof secs[0];
  struct qcc_tbl_section dir[sizeof secs / sizeof secs[0]];
  size_t pos = align8(QCC_TABLE_HEADER_SIZE + sizeof dir);
  for (size_t i = 0; i < nsec; i++) {
    memset(&dir[i], 0, sizeof dir[i]);
    dir[i].id = secs[i].id;
    dir[i].record_size = secs[i].record_size;
    dir[i].offset = pos;
    dir[i].count = secs[i].count;
    pos = align8(pos + secs[i].count * secs[i].record_size);
  }
  if (pos > QCC_TABLE_MAX_SIZE) {
    qcc_err_set(err, E2BIG, "table would be %zu bytes, over the format's limit", pos);
    goto done;
  }
  /* calloc: padding and reserved bytes are zero, so bytes are deterministic. */
  uint8_t *img = calloc(1, pos);
  if (img == NULL) {
    qcc_err_set(err, ENOMEM, "out of memory for a %zu-byte table", pos);
    goto done;
  }
  memcpy(img + QCC_TABLE_HEADER_SIZE, dir, sizeof dir);
  for (size_t i = 0; i < nsec; i++) {
    if (secs[i].count > 0)
      memcpy(img + dir[i].offset, secs[i].data, secs[i].count * secs[i].record_size);
  }
  struct qcc_tbl_header h;
  memset(&h, 0, sizeof h);
  memcpy(h.magic, QCC_TABLE_MAGIC, QCC_TABLE_MAGIC_LEN);
  h.byte_order = QCC_TABLE_BYTE_ORDER;
  h.version_major = QCC_TABLE_MAJOR;
  h.version_minor = QCC_TABLE_MINOR;
  h.header_size = QCC_TABLE_HEADER_SIZE;
  h.section_count = (uint32_t)nsec;
  h.file_size = pos;
  h.generation = opts->generation;
  h.build_time = opts->build_time;
  payload_digest(img, pos, h.source_digest);
  h.flags = flags;
  h.payload_checksum = XXH3_64bits(img + QCC_TABLE_HEADER_SIZE, pos - QCC_TABLE_HEADER_SIZE);
  memcpy(img, &h, sizeof h);
  h.header_checksum = XXH3_64bits(img, offsetof(struct qcc_tbl_header, header_checksum));
  memcpy(img, &h, sizeof h);

  struct qcc_layout *l = malloc(sizeof *l);
  if (l == NULL) {
    free(img);
    qcc_err_set(err, ENOMEM, "out of memory");
    goto done;
  }
  l->bytes = img;
  l->len = pos;
  *out = l;
  rc = 0;
done:
  pool_free(&pool);
  free(tp);
  free(te);
  free(tmm);
  free(tmd);
  free(tt);
  free(tpr);
  return rc;
}

void qcc_layout_free(struct qcc_layout **l) {
  if (l == NULL || *l == NULL) return;
  free((*l)->bytes);
  free(*l);
  *l = NULL;
}

const void *qcc_layout_bytes(const struct qcc_layout *l, size_t *len) {
  if (len != NULL) *len = l->len;
  return l->bytes;
}
