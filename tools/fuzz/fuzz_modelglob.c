/* Fuzz target: model-map globs (schema/modelglob.c). The pattern comes from
 * a config, the name from a client's request body. Input: PATTERN '\n' NAME.
 * Any input must check and match without a fault; for a valid pattern
 * without POSIX classes, the match must agree with fnmatch(3) (C locale,
 * FNM_NOESCAPE), and the rank must be SIZE_MAX exactly for patterns
 * without glob characters. */
#include <fnmatch.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "schema/modelglob.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *s = (const char *)data;
  const char *nl = memchr(s, '\n', size);
  size_t plen = nl ? (size_t)(nl - s) : size;
  const char *name = nl ? nl + 1 : "";
  size_t nlen = nl ? size - plen - 1 : 0;
  size_t at = 0;
  const char *why = NULL;
  int ok = qcc_modelglob_check(s, plen, &at, &why);
  if (ok != 0 && (why == NULL || at > plen)) __builtin_trap();
  if (ok != 0) return 0;
  bool hit = qcc_modelglob_match(s, plen, name, nlen);
  size_t rank = qcc_modelglob_rank(s, plen);
  if ((rank == SIZE_MAX) == qcc_modelglob_is_glob(s, plen)) __builtin_trap();
  if (rank == SIZE_MAX && hit != (plen == nlen && memcmp(s, name, plen) == 0)) __builtin_trap();
  if (memchr(s, '\0', size) != NULL) return 0;
  for (size_t i = 0; i + 1 < plen; i++)
    if (s[i] == '[' && (s[i + 1] == ':' || s[i + 1] == '=' || s[i + 1] == '.')) return 0;
  char *p = strndup(s, plen);
  char *n = strndup(name, nlen);
  if (p == NULL || n == NULL) __builtin_trap();
  if (hit != (fnmatch(p, n, FNM_NOESCAPE) == 0)) __builtin_trap();
  free(p);
  free(n);
  return 0;
}
