#include "generation.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "egress.h"
#include "keystore.h"

int qcc_generation_load(const char *path, struct qcc_generation **out, struct qcc_err *err) {
  *out = NULL;
  struct qcc_table_error terr = {0};
  struct qcc_table *t = NULL;
  if (qcc_table_open(path, &t, &terr) != 0) {
    const char *kind = qcc_table_status_name(terr.status);
    if (strstr(terr.message, kind) != NULL) /* the reader already said it */
      return qcc_err_set(err, (int)terr.status, "%s: %s", path, terr.message);
    return qcc_err_set(err, (int)terr.status, "%s: %s: %s", path, kind, terr.message);
  }
  struct qcc_keystore *ks = NULL;
  if (qcc_keystore_new(t, &ks, err) != 0) {
    qcc_table_close(&t);
    return qcc_err_wrap(err, "%s", path);
  }
  struct qcc_egress *eg = NULL;
  if (qcc_egress_new(t, &eg, err) != 0) {
    qcc_keystore_free(&ks);
    qcc_table_close(&t);
    return qcc_err_wrap(err, "%s", path);
  }
  struct qcc_generation *g = calloc(1, sizeof *g);
  if (g == NULL) {
    qcc_egress_free(&eg);
    qcc_keystore_free(&ks);
    qcc_table_close(&t);
    return qcc_err_set(err, ENOMEM, "%s: out of memory", path);
  }
  g->table = t;
  g->keys = ks;
  g->egress = eg;
  g->number = qcc_table_header(t)->generation;
  for (uint32_t i = 0; i < qcc_table_endpoint_count(t) && !g->model_maps; i++)
    g->model_maps = qcc_table_endpoint(t, i)->model_map_count > 0;
  g->refs = 1;
  *out = g;
  return 0;
}

struct qcc_generation *qcc_generation_ref(struct qcc_generation *g) {
  if (g != NULL) g->refs++;
  return g;
}

void qcc_generation_unref(struct qcc_generation **g) {
  if (g == NULL || *g == NULL) return;
  struct qcc_generation *gen = *g;
  *g = NULL;
  if (gen->refs > 1) {
    gen->refs--;
    return;
  }
  /* Last holder: the private copy of the file goes away with the table. */
  qcc_egress_free(&gen->egress);
  qcc_keystore_free(&gen->keys);
  qcc_table_close(&gen->table);
  free(gen);
}
