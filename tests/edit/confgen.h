/* Random qcc-like configs for the editor's property test: a model (the
 * test's own idea of the config), written as block YAML with comments and
 * inline parts, as JSON, or as JSON with comments; CJK and 4-byte text in
 * keys, values and comments; CRLF and byte order marks now and then. And
 * the check that a text reads (libyaml) as a model. Deterministic from
 * rng_state. */
#ifndef QCC_TESTS_EDIT_CONFGEN_H
#define QCC_TESTS_EDIT_CONFGEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

extern uint64_t rng_state;
uint64_t rnd(void);
unsigned pick(unsigned n);
bool chance(unsigned pct);

struct buf {
  char *p;
  size_t len, cap;
};
void badd(struct buf *b, const char *s, size_t n);
void bstr(struct buf *b, const char *s);
void bsp(struct buf *b, size_t n);
void bfmt(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

enum { MS, MM, MQ };
struct mn {
  int kind;
  char *s;                    /* scalar text */
  bool null;                  /* scalar: null */
  bool num;                   /* scalar: a number (written plain) */
  const char *anchor, *alias; /* block style writes &anchor / *alias */
  size_t n;
  char **keys;
  struct mn **kids;
};
struct mn *mnew(int kind);
struct mn *mscalar(const char *s, bool num);
void mfree(struct mn *m);
void mput(struct mn *m, const char *key, struct mn *v);
void mdel(struct mn *m, size_t i);
struct mn *mcopy(const struct mn *m);
const char *mget_scalar(const struct mn *m, const char *key);
/* yamledit.h's rule: under a mapping a key; under a list the item equal to
 * SEG, or whose name/id is SEG, else a decimal index. -1 when none. */
long mchild(const struct mn *m, const char *seg);

struct mn *rand_scalar(void);
/* A key not yet in MAP. */
void fresh_key(struct mn *map, char *out, size_t cap);
struct mn *rand_config(void);

enum style { ST_BLOCK, ST_JSON, ST_JSONC, ST_COUNT };
char *write_text(const struct mn *root, enum style st);
/* TEXT reads as M; else false with the first difference in WHY. */
bool text_is(const char *text, size_t len, const struct mn *m, char *why, size_t cap);

#endif
