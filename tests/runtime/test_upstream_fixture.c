#include "test_upstream_fixture.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

struct pool {
  char *buf;
  size_t len, cap;
};

static struct qcc_tbl_str pool_add(struct pool *p, const char *s) {
  struct qcc_tbl_str r = {0, 0};
  if (s == NULL || s[0] == '\0') return r;
  size_t n = strlen(s);
  if (p->len + n + 1 > p->cap) {
    p->cap = (p->len + n + 1) * 2;
    p->buf = realloc(p->buf, p->cap);
    cr_assert_not_null(p->buf);
  }
  memcpy(p->buf + p->len, s, n + 1);
  r.off = (uint32_t)p->len;
  r.len = (uint32_t)n;
  p->len += n + 1;
  return r;
}

static size_t align8(size_t v) { return (v + 7) & ~(size_t)7; }

void fx_table_build(struct fx_table *out, const struct fx_profile *profiles, size_t np,
                    const struct fx_token *tokens, size_t nt) {
  struct pool pool = {calloc(1, 64), 1, 64};
  cr_assert_not_null(pool.buf);
  size_t ne = 0, nm = 0;
  for (size_t i = 0; i < np; i++) {
    ne += profiles[i].count;
    for (size_t k = 0; k < profiles[i].count; k++)
      for (const char *const *m = profiles[i].eps[k].models; m != NULL && m[0] != NULL; m += 2)
        nm++;
  }
  struct qcc_tbl_settings settings;
  memset(&settings, 0, sizeof settings);
  settings.host = pool_add(&pool, "127.0.0.1");
  settings.port = 7860;
  struct qcc_tbl_profile *prof = calloc(np + 1, sizeof *prof);
  struct qcc_tbl_endpoint *eps = calloc(ne + 1, sizeof *eps);
  struct qcc_tbl_pair *maps = calloc(nm + 1, sizeof *maps);
  struct qcc_tbl_token *toks = calloc(nt + 1, sizeof *toks);
  cr_assert(prof && eps && maps && toks);
  size_t e = 0, m = 0;
  for (size_t i = 0; i < np; i++) {
    prof[i].name = pool_add(&pool, profiles[i].name);
    prof[i].group = profiles[i].group;
    prof[i].enabled = profiles[i].enabled;
    prof[i].endpoint_first = (uint32_t)e;
    prof[i].endpoint_count = (uint32_t)profiles[i].count;
    for (size_t k = 0; k < profiles[i].count; k++, e++) {
      const struct fx_endpoint *fe = &profiles[i].eps[k];
      eps[e].id = pool_add(&pool, fe->id);
      eps[e].stable_id = XXH3_64bits(fe->id, strlen(fe->id));
      eps[e].base_url = pool_add(&pool, fe->base_url);
      eps[e].key.kind = fe->key_kind;
      eps[e].key.value = pool_add(&pool, fe->key_value);
      eps[e].profile_index = (uint32_t)i;
      eps[e].weight = 100;
      eps[e].enabled = fe->enabled;
      eps[e].auth = fe->auth;
      eps[e].timeout_ms = fe->timeout_ms;
      eps[e].request_timeout_ms = fe->request_timeout_ms;
      eps[e].stream_idle_timeout_ms = fe->stream_idle_timeout_ms;
      eps[e].model_map_first = (uint32_t)m;
      for (const char *const *mp = fe->models; mp != NULL && mp[0] != NULL; mp += 2) {
        maps[m].key = pool_add(&pool, mp[0]);
        maps[m].value = pool_add(&pool, mp[1]);
        m++;
      }
      eps[e].model_map_count = (uint32_t)m - eps[e].model_map_first;
    }
  }
  for (size_t i = 0; i < nt; i++) {
    toks[i].name = pool_add(&pool, tokens[i].name);
    toks[i].key.kind = tokens[i].key_kind;
    toks[i].key.value = pool_add(&pool, tokens[i].key_value);
    toks[i].priority = tokens[i].priority;
  }

  struct {
    uint32_t id, rsize;
    const void *data;
    size_t count;
  } secs[] = {
      {QCC_SEC_SETTINGS, sizeof settings, &settings, 1},
      {QCC_SEC_PROFILES, sizeof *prof, prof, np},
      {QCC_SEC_ENDPOINTS, sizeof *eps, eps, ne},
      {QCC_SEC_MODEL_MAPS, sizeof *maps, maps, nm},
      {QCC_SEC_AUTH_TOKENS, sizeof *toks, toks, nt},
      {QCC_SEC_STRINGS, 1, pool.buf, pool.len},
  };
  size_t nsec = sizeof secs / sizeof secs[0];
  size_t at = align8(QCC_TABLE_HEADER_SIZE + nsec * sizeof(struct qcc_tbl_section));
  struct qcc_tbl_section dir[8];
  memset(dir, 0, sizeof dir);
  for (size_t i = 0; i < nsec; i++) {
    dir[i].id = secs[i].id;
    dir[i].record_size = secs[i].rsize;
    dir[i].offset = at;
    dir[i].count = secs[i].count;
    at = align8(at + secs[i].rsize * secs[i].count);
  }
  size_t size = at;
  uint8_t *img = calloc(1, size);
  cr_assert_not_null(img);
  memcpy(img + QCC_TABLE_HEADER_SIZE, dir, nsec * sizeof dir[0]);
  for (size_t i = 0; i < nsec; i++)
    memcpy(img + dir[i].offset, secs[i].data, secs[i].rsize * secs[i].count);
  struct qcc_tbl_header h;
  memset(&h, 0, sizeof h);
  memcpy(h.magic, QCC_TABLE_MAGIC, QCC_TABLE_MAGIC_LEN);
  h.byte_order = QCC_TABLE_BYTE_ORDER;
  h.version_major = QCC_TABLE_MAJOR;
  h.version_minor = QCC_TABLE_MINOR;
  h.header_size = QCC_TABLE_HEADER_SIZE;
  h.section_count = (uint32_t)nsec;
  h.file_size = size;
  h.generation = 1;
  h.payload_checksum = XXH3_64bits(img + QCC_TABLE_HEADER_SIZE, size - QCC_TABLE_HEADER_SIZE);
  memcpy(img, &h, sizeof h);
  h.header_checksum = XXH3_64bits(img, offsetof(struct qcc_tbl_header, header_checksum));
  memcpy(img, &h, sizeof h);
  free(prof);
  free(eps);
  free(maps);
  free(toks);
  free(pool.buf);
  struct qcc_table_error terr;
  memset(&terr, 0, sizeof terr);
  out->image = img;
  out->table = NULL;
  int rc = qcc_table_open_buffer(img, size, &out->table, &terr);
  cr_assert_eq(rc, 0, "fixture table rejected: %s", terr.message);
}

void fx_table_free(struct fx_table *t) {
  qcc_table_close(&t->table);
  free(t->image);
  t->image = NULL;
}
