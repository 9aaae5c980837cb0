/* Usage: the tokens one /v1/messages exchange used, as Anthropic reports them.
 *
 * This header is the contract between the runtime's capture (runtime/), the
 * usage store's records and `qccc usage` (compiler/), and the pricing
 * arithmetic (schema/pricing.h). The record format that carries these counts
 * on disk is described in docs/usage.md. */
#ifndef QCC_SCHEMA_USAGE_H
#define QCC_SCHEMA_USAGE_H

#include <stdint.h>

/* Token counts by kind. A count that the upstream did not report, or reported
 * as something that is not a sane non-negative integer, is QCC_USAGE_UNKNOWN:
 * unknown is never added as 0 by accident. */
#define QCC_USAGE_UNKNOWN INT64_C(-1)

struct qcc_usage_tokens {
  int64_t input;          /* input_tokens (uncached input) */
  int64_t output;         /* output_tokens (last cumulative value of a stream) */
  int64_t cache_write_5m; /* cache_creation 5-minute writes (all writes when no split is given) */
  int64_t cache_write_1h; /* cache_creation 1-hour writes */
  int64_t cache_read;     /* cache_read_input_tokens */
};

#endif
