/* A loaded table generation: the verified table (a private copy of the file,
 * so the file can be truncated or rewritten without touching it) plus the
 * secrets resolved for it. Requests pin the generation they started on
 * (refcount) so a hot swap never changes the table under an in-flight
 * request; the copy is freed when the last reference drops. */
#ifndef QCC_RUNTIME_GENERATION_H
#define QCC_RUNTIME_GENERATION_H

#include <stdbool.h>
#include <stdint.h>

#include "schema/error.h"
#include "schema/table.h"

struct qcc_keystore;
struct qcc_egress;

struct qcc_generation {
  struct qcc_table *table;     /* verified, read-only */
  struct qcc_keystore *keys;   /* endpoint keys + client tokens resolved at load */
  struct qcc_egress *egress;   /* CA stores + proxies resolved at load (egress.h) */
  uint64_t number;             /* header generation, for logs */
  bool model_maps;             /* some endpoint maps models: bodies are walked whole */
  unsigned refs;
};

/* Open + verify PATH, resolve keys, load CA stores. refs = 1. */
int qcc_generation_load(const char *path, struct qcc_generation **out, struct qcc_err *err);
struct qcc_generation *qcc_generation_ref(struct qcc_generation *g);
/* Drop one reference; frees (the table copy too) at zero; NULLs *g. */
void qcc_generation_unref(struct qcc_generation **g);

#endif
