/* Inside phase 1, load (compiler/load.h is its interface): the loader's
 * state while it walks the files, and the helpers its files share. Nothing
 * outside compiler/load*.c includes this.
 *
 *   load.c         the phase: reading the root file and its includes, YAML
 *                  syntax errors, the libcyaml cross-check, edit distance
 *   load_walk.c    walking a document's mappings against the knob table
 *   load_scalar.c  node positions and validating one scalar against its knob
 *   load_config.c  the struct qcc_config under construction: defaults, list
 *                  items, keys, storing a checked value */
#ifndef QCC_COMPILER_LOAD_INT_H
#define QCC_COMPILER_LOAD_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <yaml.h>

#include "load.h"
#include "schema/config_schema.h"


#define LOAD_MAX_FILE (64u << 20)  /* a config bigger than this is a mistake */
#define LOAD_MAX_DEPTH 16           /* include nesting */
#define LOAD_MAX_VISITS 1000000u    /* nodes walked, against alias bombs */
#define LOAD_DUP_SCAN 512           /* keys checked for duplicates per mapping */

/* Profile load_balancing keys given explicitly (the rest come from loadbalancer). */
enum { LB_SET_STRATEGY = 1, LB_SET_HEALTH = 2, LB_SET_STICKY = 4 };

struct include_frame {
  char *real; /* realpath, to find cycles */
  const char *shown;
};

struct ld {
  struct qcc_loaded *out;
  struct qcc_config *cfg;
  struct qcc_diags *d;
  const char *file; /* display name of the file being walked (owned by cfg) */
  bool is_root;
  size_t prof, ep, tok, price; /* current list items, SIZE_MAX = none */
  unsigned *lb_set;     /* per profile */
  size_t lb_cap;
  struct qcc_pos section_at[QCC_KNOB_COUNT]; /* top-level sections seen, per file set */
  struct include_frame stack[LOAD_MAX_DEPTH + 1];
  size_t depth;
  char **seen; /* realpaths of every file read */
  size_t seen_count;
  char **incs; /* include requests of the current file */
  struct qcc_pos *inc_pos;
  size_t inc_count;
  size_t visits;
  bool over_budget;
};

/* load.c */
char *ld_dupstr(const char *s);
void *ld_append_slot(void *p, size_t count, size_t size);
void *ld_grow(void *p, size_t n, size_t size);

/* load_walk.c */
void ld_walk_map(struct ld *ld, yaml_document_t *doc, const yaml_node_t *map,
                 const struct qcc_knob *parent, const char *prefix);

/* load_scalar.c */
struct qcc_pos ld_pos_of(const struct ld *ld, const yaml_node_t *n);
unsigned ld_span_of(const yaml_node_t *n);
const char *ld_scalar(const yaml_node_t *n);
bool ld_is_null(const yaml_node_t *n);
const char *ld_node_kind(const yaml_node_t *n);
void ld_where_text(const char *prefix, char *buf, size_t cap);
void ld_wrong_type(struct ld *ld, const struct qcc_knob *kn, const yaml_node_t *val);
bool ld_check_scalar(struct ld *ld, const struct qcc_knob *kn, const yaml_node_t *val,
                     struct qcc_knob_value *out);

/* load_config.c */
struct qcc_endpoint_cfg *ld_cur_endpoint(struct ld *ld);
void ld_settings_defaults(struct qcc_config *cfg);
void ld_begin_item(struct ld *ld, enum qcc_knob_id list, struct qcc_pos at);
void ld_begin_price(struct ld *ld, const char *model, struct qcc_pos at);
void ld_end_item(struct ld *ld, enum qcc_knob_id list);
void ld_add_pair(struct qcc_pair **v, size_t *n, const char *key, const char *value,
                 struct qcc_pos pos);
void ld_store(struct ld *ld, const struct qcc_knob *kn, const struct qcc_knob_value *v,
              const yaml_node_t *k, const yaml_node_t *val);
void ld_note_present(struct ld *ld, const struct qcc_knob *kn);

#endif
