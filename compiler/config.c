#include "config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define QCC_CF_(type, rec, m) rec, offsetof(struct type, m), sizeof(((struct type *)0)->m)
#define QCC_FS(m) QCC_CF_(qcc_settings, QCC_REC_SETTINGS, m)
#define QCC_FP(m) QCC_CF_(qcc_profile_cfg, QCC_REC_PROFILE, m)
#define QCC_FE(m) QCC_CF_(qcc_endpoint_cfg, QCC_REC_ENDPOINT, m)
#define QCC_FT(m) QCC_CF_(qcc_token_cfg, QCC_REC_TOKEN, m)
#define QCC_FPR(m) QCC_CF_(qcc_price_cfg, QCC_REC_PRICE, m)
#define QCC_FNONE QCC_REC_NONE, 0, 0
#define QCC_CF_ROW_(id, path, kind, en, mn, mx, def, unit, flags, field, help) {field, kind},
const struct qcc_cfg_field qcc_cfg_fields[QCC_KNOB_COUNT] = {QCC_KNOBS(QCC_CF_ROW_)};
#undef QCC_CF_ROW_

uint64_t qcc_cfg_num(const void *rec, enum qcc_knob_id k) {
  const struct qcc_cfg_field *f = &qcc_cfg_fields[k];
  const unsigned char *p = (const unsigned char *)rec + f->offset;
  switch (f->size) {
  case sizeof(bool) : {
    unsigned char v;
    memcpy(&v, p, 1);
    return v;
  }
  case sizeof(uint16_t): {
    uint16_t v;
    memcpy(&v, p, sizeof v);
    return v;
  }
  case sizeof(uint32_t): {
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
  }
  default: {
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return v;
  }
  }
}

void qcc_cfg_set_num(void *rec, enum qcc_knob_id k, uint64_t v) {
  const struct qcc_cfg_field *f = &qcc_cfg_fields[k];
  unsigned char *p = (unsigned char *)rec + f->offset;
  switch (f->size) {
  case sizeof(bool) : {
    bool b = v != 0;
    memcpy(p, &b, 1);
    break;
  }
  case sizeof(uint16_t): {
    uint16_t x = (uint16_t)v;
    memcpy(p, &x, sizeof x);
    break;
  }
  case sizeof(uint32_t): {
    uint32_t x = (uint32_t)v;
    memcpy(p, &x, sizeof x);
    break;
  }
  default:
    memcpy(p, &v, sizeof v);
    break;
  }
}

const char *qcc_cfg_str(const void *rec, enum qcc_knob_id k) {
  char *v;
  memcpy(&v, (const unsigned char *)rec + qcc_cfg_fields[k].offset, sizeof v);
  return v;
}

void qcc_cfg_set_str(void *rec, enum qcc_knob_id k, const char *v) {
  char *old, *nv = NULL;
  unsigned char *p = (unsigned char *)rec + qcc_cfg_fields[k].offset;
  memcpy(&old, p, sizeof old);
  if (v != NULL) {
    size_t n = strlen(v) + 1;
    nv = malloc(n);
    if (nv == NULL) abort();
    memcpy(nv, v, n);
  }
  free(old);
  memcpy(p, &nv, sizeof nv);
}

/* Free every string row of one record. */
static void free_strings(void *rec, enum qcc_rec which) {
  for (size_t k = 0; k < QCC_KNOB_COUNT; k++) {
    if (qcc_cfg_fields[k].rec == which && qcc_cfg_fields[k].kind == QCC_KNOB_STRING)
      qcc_cfg_set_str(rec, (enum qcc_knob_id)k, NULL);
  }
}

static void free_pairs(struct qcc_pair *p, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(p[i].key);
    free(p[i].value);
  }
  free(p);
}

void qcc_config_free(struct qcc_config **cfg) {
  if (cfg == NULL || *cfg == NULL) return;
  struct qcc_config *c = *cfg;
  for (size_t i = 0; i < c->profile_count; i++) {
    struct qcc_profile_cfg *p = &c->profiles[i];
    for (size_t j = 0; j < p->endpoint_count; j++) {
      struct qcc_endpoint_cfg *e = &p->endpoints[j];
      free_strings(e, QCC_REC_ENDPOINT);
      free(e->from);
      free(e->key.value);
      free_pairs(e->models, e->model_count);
      free_pairs(e->metadata, e->metadata_count);
    }
    free(p->endpoints);
    free_strings(p, QCC_REC_PROFILE);
  }
  free(c->profiles);
  for (size_t i = 0; i < c->token_count; i++) {
    free_strings(&c->tokens[i], QCC_REC_TOKEN);
    free(c->tokens[i].key.value);
  }
  free(c->tokens);
  for (size_t i = 0; i < c->price_count; i++) free(c->prices[i].model);
  free(c->prices);
  free_strings(&c->settings, QCC_REC_SETTINGS);
  for (size_t i = 0; i < c->file_count; i++) free(c->files[i]);
  free(c->files);
  free(c);
  *cfg = NULL;
}
