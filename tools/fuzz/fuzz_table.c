/* Fuzz target: the table reader. Any bytes must be rejected with a status or
 * accepted, and an accepted table must be fully walkable without a fault. */
#include <stdint.h>
#include <string.h>

#include "schema/table.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct qcc_table *t = NULL;
  struct qcc_table_error err;
  if (qcc_table_open_buffer(data, size, &t, &err) != 0) {
    /* A rejection must carry a reason. */
    if (err.status == QCC_TABLE_OK || err.message[0] == '\0') __builtin_trap();
    return 0;
  }
  volatile size_t sink = 0;
  for (uint32_t i = 0; i < qcc_table_profile_count(t); i++) {
    const struct qcc_tbl_profile *p = qcc_table_profile(t, i);
    sink += strlen(qcc_table_str(t, p->name));
    for (uint32_t j = 0; j < p->endpoint_count; j++) {
      const struct qcc_tbl_endpoint *e = qcc_table_endpoint(t, p->endpoint_first + j);
      sink += strlen(qcc_table_str(t, e->id)) + strlen(qcc_table_str(t, e->base_url));
      for (uint32_t k = 0; k < e->model_map_count; k++)
        sink += strlen(qcc_table_str(t, qcc_table_model_map(t, e->model_map_first + k)->value));
      for (uint32_t k = 0; k < e->metadata_count; k++)
        sink += strlen(qcc_table_str(t, qcc_table_metadata(t, e->metadata_first + k)->key));
      if (qcc_table_find_endpoint(t, e->stable_id) < 0) __builtin_trap();
    }
  }
  for (uint32_t i = 0; i < qcc_table_token_count(t); i++)
    sink += strlen(qcc_table_str(t, qcc_table_token(t, i)->name));
  sink += strlen(qcc_table_str(t, qcc_table_settings(t)->host));
  (void)sink;
  qcc_table_close(&t);
  return 0;
}
