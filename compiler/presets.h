/* Provider presets for `qccc endpoint add --preset NAME` and the interactive
 * "quick setup": providers that document an Anthropic Messages-compatible
 * endpoint for Claude Code. A preset fills base_url, the auth style and a
 * suggested models map; the user supplies the key. One data table
 * (presets.c), each row with the documentation it was taken from. */
#ifndef QCC_COMPILER_PRESETS_H
#define QCC_COMPILER_PRESETS_H

#include <stddef.h>

#include "schema/enums.h"

struct qcc_preset_model {
  const char *requested; /* model name the client sends */
  const char *upstream;  /* model name sent to the provider */
};

struct qcc_preset {
  const char *name;  /* --preset spelling */
  const char *title; /* shown in the menu */
  const char *base_url;
  enum qcc_auth_style auth;
  const char *key_env;                   /* suggested environment variable for the key */
  const char *provider;                  /* metadata.provider */
  const struct qcc_preset_model *models; /* may be NULL */
  size_t model_count;
  const char *source; /* documentation URL the values come from */
};

size_t qcc_preset_count(void);
const struct qcc_preset *qcc_preset_at(size_t i);
/* NULL when NAME is not a preset. */
const struct qcc_preset *qcc_preset_find(const char *name);

#endif
