/* The node tree behind qcc_yamldoc, private to the editor's files:
 * yamltree.c builds it and looks paths up, yamltext.c writes YAML/JSON text,
 * yamlverify.c checks an edit, yamledit.c makes them. Every node knows its
 * byte span in the text, so edits can splice exactly. */
#ifndef QCC_COMPILER_YAMLTREE_H
#define QCC_COMPILER_YAMLTREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "yamledit.h"

#define QCC_NO_NODE SIZE_MAX

enum ystyle { YS_PLAIN, YS_SINGLE, YS_DOUBLE, YS_BLOCK, YS_NONE };

struct ynode {
  enum qcc_ynode_kind kind;
  enum ystyle style; /* scalars */
  bool flow;
  bool empty;        /* plain scalar with no text: a null value */
  bool alias;        /* *name (kind SCALAR, value = the name) */
  bool tagged;       /* an explicit !tag */
  char *anchor;      /* &name, or NULL */
  size_t start, end; /* byte offsets */
  size_t parent;
  size_t *kids; /* map: key0, value0, key1, value1 ...; seq: items */
  size_t nkids, capkids;
  char *value; /* scalar value, alias name */
};

struct qcc_yamldoc {
  char *text;
  size_t len;
  struct ynode *nodes;
  size_t count, cap;
  size_t root;
};

/* Free the nodes (not the text); the tree is then empty. */
void qcc_ytree_clear(struct qcc_yamldoc *d);

/* Child of N selected by SEG (see yamledit.h), or QCC_NO_NODE. */
size_t qcc_ytree_child(const struct qcc_yamldoc *d, size_t n, const char *seg);

/* True when S, written plain, reads back as something other than a string
 * (bool, null, number). */
bool qcc_ytree_looks_typed(const char *s);

/* What an edit was asked to do, for qcc_yamldoc_verify. */
enum yop_kind { YOP_SET, YOP_REMOVE, YOP_APPEND };
struct yop {
  enum yop_kind kind;
  const char *const *path;
  size_t n;
  const char *leaf; /* SET: the scalar's YAML text; APPEND: the item (block YAML) */
};

/* Text of the block chain "s0:\n  s1: LEAF\n" (or ending in "- ITEM") at
 * column IND; keys quoted as needed. malloc'd, NULL on out of memory. */
char *qcc_ytree_chain(size_t ind, const char *const *segs, size_t k, const char *scalar,
                      const char *item);

/* 0 when NEW is OLD with exactly OP applied (values compared as the loader
 * reads them: a scalar's text, or null); else -1 with
 * "LINE:COL: ..." (a position in OLD) in err. */
int qcc_yamldoc_verify(const struct qcc_yamldoc *old, const struct qcc_yamldoc *new_doc,
                       const struct yop *op, struct qcc_err *err);

/* ---- writing text (yamltext.c) ---- */

/* A growing string; after an allocation failure it only records oom. */
struct qcc_ytext {
  char *p;
  size_t len, cap;
  bool oom;
};

void qcc_yt_add(struct qcc_ytext *b, const char *s, size_t n);
void qcc_yt_str(struct qcc_ytext *b, const char *s);
void qcc_yt_spaces(struct qcc_ytext *b, size_t n);
/* The string (the caller's to free), or NULL after out of memory. */
char *qcc_yt_take(struct qcc_ytext *b);
/* ITEM (block YAML at column 0) as a sequence item: "- " at column DASH. */
void qcc_yt_item(struct qcc_ytext *b, size_t dash, const char *item);
/* S double-quoted with escapes YAML and JSON both read (S is UTF-8). */
void qcc_yt_quoted(struct qcc_ytext *b, const char *s);
/* A key as block YAML writes it: plain where safe, else quoted. */
void qcc_yt_key(struct qcc_ytext *b, const char *k);

bool qcc_yt_json_literal(const char *s);
/* Every character of S is one libyaml takes raw (and no line break). */
bool qcc_yt_printable(const char *s);
bool qcc_yt_printable_cp(unsigned long cp);
bool qcc_yt_plain_safe(const char *s);
/* Plain inside {...} / [...] too. */
bool qcc_yt_plain_flow_safe(const char *s);

/* How a flow rendering is laid out: JSON quoting, one entry per line (ML)
 * indented by STEP. */
struct qcc_ytstyle {
  bool json, ml;
  size_t step;
};
void qcc_yt_flow_scalar(struct qcc_ytext *b, const struct ynode *x, bool json);
/* Node N of snippet S in flow style F; IND is the indentation of the line
 * it starts on. */
void qcc_yt_flow(struct qcc_ytext *b, const struct qcc_yamldoc *s, size_t n,
                 const struct qcc_ytstyle *f, size_t ind);

#endif
