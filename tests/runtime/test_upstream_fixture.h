/* Test helper for the upstream-side tests: builds a small, valid routing
 * table image in memory (the format of schema/table.h) and opens it with the
 * real reader, so tests need neither the compiler nor files. */
#ifndef QCC_TEST_UPSTREAM_FIXTURE_H
#define QCC_TEST_UPSTREAM_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include "schema/table.h"

struct fx_endpoint {
  const char *id;
  const char *base_url;
  uint8_t key_kind;        /* enum qcc_key_kind */
  const char *key_value;   /* env name / path / literal */
  uint8_t auth;            /* enum qcc_auth_style */
  uint8_t enabled;
  uint32_t timeout_ms;
  const char *const *models; /* from, to, from, to, ..., NULL */
  uint32_t request_timeout_ms;     /* 0 = qcc-run's default */
  uint32_t stream_idle_timeout_ms; /* 0 = qcc-run's default */
};

struct fx_profile {
  const char *name;
  uint8_t group;           /* enum qcc_group */
  uint8_t enabled;
  const struct fx_endpoint *eps;
  size_t count;
};

struct fx_token {
  const char *name;
  uint8_t key_kind;
  const char *key_value;
  uint32_t priority;
};

struct fx_table {
  void *image;
  struct qcc_table *table;
};

/* Build and open; aborts the test (cr_assert) on failure. */
void fx_table_build(struct fx_table *out, const struct fx_profile *profiles, size_t np,
                    const struct fx_token *tokens, size_t nt);
void fx_table_free(struct fx_table *t);

#endif
