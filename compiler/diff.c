#include "diff.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "compiler/show.h"

struct diff {
  const struct qcc_table *a, *b;
  FILE *out;
  size_t n;
};

__attribute__((format(printf, 2, 3))) static void line(struct diff *d, const char *fmt, ...) {
  d->n++;
  if (d->out == NULL) return;
  va_list ap;
  va_start(ap, fmt);
  vfprintf(d->out, fmt, ap);
  va_end(ap);
  fputc('\n', d->out);
}

/* Compare the fields of two records; WHAT names the record ("profile x"). */
static void fields(struct diff *d, const char *what, const void *ra, const void *rb,
                   const struct qcc_field *fs, size_t n) {
  char va[1024], vb[1024];
  for (size_t i = 0; i < n; i++) {
    const struct qcc_field *f = &fs[i];
    if (f->derived || qcc_field_equal(d->a, ra, d->b, rb, f)) continue;
    qcc_field_text(d->a, ra, f, va, sizeof va);
    qcc_field_text(d->b, rb, f, vb, sizeof vb);
    /* Redacted values can be equal as text and still differ. */
    line(d, "~ %s %s: %s -> %s%s", what, f->name, va, vb, strcmp(va, vb) == 0 ? " (value changed)" : "");
  }
}

static void pairs(struct diff *d, const char *what, bool models, const struct qcc_tbl_endpoint *ea,
                  const struct qcc_tbl_endpoint *eb) {
  char va[4096], vb[4096];
  uint32_t fa = models ? ea->model_map_first : ea->metadata_first;
  uint32_t ca = models ? ea->model_map_count : ea->metadata_count;
  uint32_t fb = models ? eb->model_map_first : eb->metadata_first;
  uint32_t cb = models ? eb->model_map_count : eb->metadata_count;
  qcc_pairs_text(d->a, models, fa, ca, va, sizeof va);
  qcc_pairs_text(d->b, models, fb, cb, vb, sizeof vb);
  if (strcmp(va, vb) != 0)
    line(d, "~ %s %s: {%s} -> {%s}", what, models ? "models" : "metadata", va, vb);
}

static const char *profile_name(const struct qcc_table *t, uint32_t i) {
  const struct qcc_tbl_profile *p = qcc_table_profile(t, i);
  return p != NULL ? qcc_table_str(t, p->name) : "?";
}

/* Index in T of the endpoint with the same id as E of table S, or -1. */
static int64_t find_ep(const struct qcc_table *t, const struct qcc_table *s, const struct qcc_tbl_endpoint *e) {
  int64_t j = qcc_table_find_endpoint(t, e->stable_id);
  if (j < 0) return -1;
  const struct qcc_tbl_endpoint *o = qcc_table_endpoint(t, (uint32_t)j);
  return strcmp(qcc_table_str(t, o->id), qcc_table_str(s, e->id)) == 0 ? j : -1;
}

static void profiles(struct diff *d) {
  const struct qcc_table *a = d->a, *b = d->b;
  char what[512];
  for (uint32_t i = 0; i < qcc_table_profile_count(a); i++) {
    const struct qcc_tbl_profile *pa = qcc_table_profile(a, i);
    int64_t j = qcc_table_find_profile(b, qcc_table_str(a, pa->name));
    if (j < 0) {
      line(d, "- profile %s", qcc_table_str(a, pa->name));
      continue;
    }
    const struct qcc_tbl_profile *pb = qcc_table_profile(b, (uint32_t)j);
    snprintf(what, sizeof what, "profile %s", qcc_table_str(a, pa->name));
    size_t n;
    const struct qcc_field *fs = qcc_record_fields(QCC_REC_PROFILE, &n);
    fields(d, what, pa, pb, fs, n);
    /* The endpoints both sides have in this profile: same relative order? */
    bool reordered = false;
    int64_t last = -1;
    for (uint32_t k = 0; k < pa->endpoint_count; k++) {
      int64_t x = find_ep(b, a, qcc_table_endpoint(a, pa->endpoint_first + k));
      if (x < 0 || qcc_table_endpoint(b, (uint32_t)x)->profile_index != (uint32_t)j) continue;
      if (x < last) reordered = true;
      last = x;
    }
    if (reordered) line(d, "~ %s endpoint order changed", what);
  }
  for (uint32_t i = 0; i < qcc_table_profile_count(b); i++) {
    const struct qcc_tbl_profile *pb = qcc_table_profile(b, i);
    if (qcc_table_find_profile(a, qcc_table_str(b, pb->name)) < 0)
      line(d, "+ profile %s (%s)", qcc_table_str(b, pb->name), qcc_enum_name(&qcc_group_desc, pb->group));
  }
}

static void endpoints(struct diff *d) {
  const struct qcc_table *a = d->a, *b = d->b;
  char what[512];
  for (uint32_t i = 0; i < qcc_table_endpoint_count(a); i++) {
    const struct qcc_tbl_endpoint *ea = qcc_table_endpoint(a, i);
    int64_t j = find_ep(b, a, ea);
    if (j < 0) {
      line(d, "- endpoint %s (profile %s)", qcc_table_str(a, ea->id), profile_name(a, ea->profile_index));
      continue;
    }
    const struct qcc_tbl_endpoint *eb = qcc_table_endpoint(b, (uint32_t)j);
    snprintf(what, sizeof what, "endpoint %s", qcc_table_str(a, ea->id));
    const char *pa = profile_name(a, ea->profile_index), *pb = profile_name(b, eb->profile_index);
    if (strcmp(pa, pb) != 0) line(d, "~ %s profile: %s -> %s", what, pa, pb);
    size_t n;
    const struct qcc_field *fs = qcc_record_fields(QCC_REC_ENDPOINT, &n);
    fields(d, what, ea, eb, fs, n);
    pairs(d, what, true, ea, eb);
    pairs(d, what, false, ea, eb);
  }
  for (uint32_t i = 0; i < qcc_table_endpoint_count(b); i++) {
    const struct qcc_tbl_endpoint *eb = qcc_table_endpoint(b, i);
    if (find_ep(a, b, eb) < 0)
      line(d, "+ endpoint %s (profile %s)", qcc_table_str(b, eb->id), profile_name(b, eb->profile_index));
  }
}

static void tokens(struct diff *d) {
  uint32_t na = qcc_table_token_count(d->a), nb = qcc_table_token_count(d->b);
  char what[64];
  for (uint32_t i = 0; i < na && i < nb; i++) {
    snprintf(what, sizeof what, "auth_token %u", i);
    size_t n;
    const struct qcc_field *fs = qcc_record_fields(QCC_REC_TOKEN, &n);
    fields(d, what, qcc_table_token(d->a, i), qcc_table_token(d->b, i), fs, n);
  }
  for (uint32_t i = nb; i < na; i++) line(d, "- auth_token %u", i);
  for (uint32_t i = na; i < nb; i++) line(d, "+ auth_token %u", i);
}

static int64_t find_price(const struct qcc_table *t, const char *model) {
  for (uint32_t i = 0; i < qcc_table_price_count(t); i++)
    if (strcmp(qcc_table_str(t, qcc_table_price(t, i)->model), model) == 0) return i;
  return -1;
}

/* A kind without a price reads "no price", so 0 and none differ visibly. */
static void price_text(const struct qcc_table *t, const struct qcc_tbl_price *p,
                       const struct qcc_field *f, unsigned kind, char *buf, size_t cap) {
  if ((p->priced >> kind) & 1) qcc_field_text(t, p, f, buf, cap);
  else snprintf(buf, cap, "no price");
}

static void prices(struct diff *d) {
  size_t n;
  const struct qcc_field *fs = qcc_record_fields(QCC_REC_PRICE, &n);
  char va[64], vb[64];
  for (uint32_t i = 0; i < qcc_table_price_count(d->a); i++) {
    const struct qcc_tbl_price *pa = qcc_table_price(d->a, i);
    const char *model = qcc_table_str(d->a, pa->model);
    int64_t j = find_price(d->b, model);
    if (j < 0) {
      line(d, "- price %s", model);
      continue;
    }
    const struct qcc_tbl_price *pb = qcc_table_price(d->b, (uint32_t)j);
    for (size_t k = 0; k < n; k++) { /* the rows are the kinds, in order */
      price_text(d->a, pa, &fs[k], (unsigned)k, va, sizeof va);
      price_text(d->b, pb, &fs[k], (unsigned)k, vb, sizeof vb);
      if (strcmp(va, vb) != 0) line(d, "~ price %s %s: %s -> %s", model, fs[k].name, va, vb);
    }
  }
  for (uint32_t i = 0; i < qcc_table_price_count(d->b); i++) {
    const char *model = qcc_table_str(d->b, qcc_table_price(d->b, i)->model);
    if (find_price(d->a, model) < 0) line(d, "+ price %s", model);
  }
}

size_t qcc_diff_tables(const struct qcc_table *a, const struct qcc_table *b, FILE *out) {
  struct diff d = {a, b, out, 0};
  size_t n;
  const struct qcc_field *fs = qcc_record_fields(QCC_REC_SETTINGS, &n);
  fields(&d, "settings", qcc_table_settings(a), qcc_table_settings(b), fs, n);
  profiles(&d);
  endpoints(&d);
  tokens(&d);
  prices(&d);
  return d.n;
}
