/* Phase 1, load: read the root file and its includes with libyaml, keeping
 * the line:col of every key and value, check every key against the knob table
 * (schema/config_keys.h: unknown keys, types, ranges, enums, durations,
 * sizes), apply defaults and fill a struct qcc_config. libcyaml loads the same
 * document skeleton as an independent schema check. */
#ifndef QCC_COMPILER_LOAD_H
#define QCC_COMPILER_LOAD_H

#include <stdbool.h>

#include "config.h"
#include "diag.h"

/* qcc_endpoint_cfg.set_mask bits: keys present in the endpoint's mapping
 * (even when their value was invalid, so later phases do not cascade). */
enum {
  QCC_EP_SET_BASE_URL = 1u << 0,
  QCC_EP_SET_KEY = 1u << 1,
  QCC_EP_SET_AUTH = 1u << 2,
  QCC_EP_SET_FROM = 1u << 3,
  QCC_EP_SET_ID = 1u << 4,
  QCC_EP_SET_KEEP_WARM = 1u << 5, /* its 0 (off) is a value, not "not given" */
};

/* One name under profile_groups.{primary,secondary,fallback}. */
struct qcc_group_ref {
  char *name;
  enum qcc_group group;
  struct qcc_pos pos;
};

/* What load hands to resolve and check besides the config itself. */
struct qcc_loaded {
  struct qcc_config *cfg;          /* NULL only when nothing could be read */
  struct qcc_group_ref *groups;    /* profile_groups, in source order */
  size_t group_count;
  /* Where each top-level setting (proxy.port ...) was given; line 0 = not
   * given. Indexed by enum qcc_knob_id (schema/config_schema.h). */
  struct qcc_pos *setting_pos;
  bool fatal;     /* going on would cascade (YAML syntax, unreadable root) */
  bool io_error;  /* the root file could not be read */
};

/* Load PATH into L (zeroed first). Diagnostics go to D. Returns 0 when no
 * error was added, -1 otherwise; L is filled either way (release it). */
int qcc_load(const char *path, struct qcc_loaded *l, struct qcc_diags *d);
void qcc_loaded_release(struct qcc_loaded *l);

/* Levenshtein distance (capped at 255), for "did you mean" hints. */
unsigned qcc_edit_distance(const char *a, const char *b);

#endif
