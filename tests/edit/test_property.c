/* Property test of the in-place editor: random valid configs, written in
 * block YAML (with comments, inline {...}/[...] parts), JSON, or JSON with
 * comments, all with CJK and 4-byte characters in keys, values and comments,
 * some with CRLF line ends or a byte order mark; random edits (set an
 * existing value, create keys, remove entries, append items). After each
 * edit:
 *   - libyaml's reading of the new text equals the test's own model of the
 *     config with that one change applied;
 *   - the bytes before and after the edited region are unchanged (the diff
 *     window lies inside the lines of the node edited);
 *   - a refused edit leaves the text byte-identical.
 * The model and the expected effect of each edit are computed here, from
 * yamledit.h's documented rules, not by the editor's code.
 *
 * QCC_PROP_SEED=N picks the seed (default fixed); QCC_PROP_CASES=N the
 * number of configs. Failures print the seed, the case and both texts. */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "compiler/yamledit.h"

/* ---- PRNG (splitmix64) ---- */

static uint64_t rng_state;
static uint64_t rnd(void) {
  uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}
static unsigned pick(unsigned n) { return (unsigned)(rnd() % n); }
static bool chance(unsigned pct) { return pick(100) < pct; }

/* ---- buffer ---- */

struct buf {
  char *p;
  size_t len, cap;
};
static void badd(struct buf *b, const char *s, size_t n) {
  if (b->len + n + 1 > b->cap) {
    b->cap = (b->len + n + 1) * 2;
    b->p = realloc(b->p, b->cap);
    cr_assert_not_null(b->p);
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
}
static void bstr(struct buf *b, const char *s) { badd(b, s, strlen(s)); }
static void bsp(struct buf *b, size_t n) {
  for (size_t i = 0; i < n; i++)
    badd(b, " ", 1);
}
static void bfmt(struct buf *b, const char *fmt, ...) {
  char tmp[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  bstr(b, tmp);
}

/* ---- model ---- */

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

static struct mn *mnew(int kind) {
  struct mn *m = calloc(1, sizeof *m);
  cr_assert_not_null(m);
  m->kind = kind;
  return m;
}
static struct mn *mscalar(const char *s, bool num) {
  struct mn *m = mnew(MS);
  m->s = strdup(s);
  m->num = num;
  return m;
}
static void mfree(struct mn *m) {
  if (!m)
    return;
  for (size_t i = 0; i < m->n; i++) {
    if (m->keys)
      free(m->keys[i]);
    mfree(m->kids[i]);
  }
  free(m->keys);
  free(m->kids);
  free(m->s);
  free(m);
}
static void mput(struct mn *m, const char *key, struct mn *v) {
  m->keys = realloc(m->keys, (m->n + 1) * sizeof *m->keys);
  m->kids = realloc(m->kids, (m->n + 1) * sizeof *m->kids);
  m->keys[m->n] = key ? strdup(key) : NULL;
  m->kids[m->n++] = v;
}
static void mdel(struct mn *m, size_t i) {
  if (m->keys)
    free(m->keys[i]);
  mfree(m->kids[i]);
  for (size_t j = i; j + 1 < m->n; j++) {
    if (m->keys)
      m->keys[j] = m->keys[j + 1];
    m->kids[j] = m->kids[j + 1];
  }
  m->n--;
}
static struct mn *mcopy(const struct mn *m) {
  struct mn *c = mnew(m->kind);
  c->s = m->s ? strdup(m->s) : NULL;
  c->null = m->null;
  c->num = m->num;
  c->anchor = m->anchor;
  c->alias = m->alias;
  for (size_t i = 0; i < m->n; i++)
    mput(c, m->keys ? m->keys[i] : NULL, mcopy(m->kids[i]));
  if (m->kind == MQ) {
    free(c->keys);
    c->keys = NULL;
  }
  return c;
}
static const char *mget_scalar(const struct mn *m, const char *key) {
  for (size_t i = 0; m->kind == MM && i < m->n; i++)
    if (!strcmp(m->keys[i], key))
      return m->kids[i]->kind == MS && !m->kids[i]->null ? m->kids[i]->s : NULL;
  return NULL;
}
/* yamledit.h's rule: under a mapping a key; under a list the item equal to
 * SEG, or whose name/id is SEG, else a decimal index. */
static long mchild(const struct mn *m, const char *seg) {
  if (m->kind == MM) {
    for (size_t i = 0; i < m->n; i++)
      if (!strcmp(m->keys[i], seg))
        return (long)i;
    return -1;
  }
  if (m->kind != MQ)
    return -1;
  for (size_t i = 0; i < m->n; i++) {
    const struct mn *it = m->kids[i];
    if (it->kind == MS && !it->null && !strcmp(it->s, seg))
      return (long)i;
    if (it->kind != MM)
      continue;
    const char *nm = mget_scalar(it, "name"), *id = mget_scalar(it, "id");
    if ((nm && !strcmp(nm, seg)) || (id && !strcmp(id, seg)))
      return (long)i;
  }
  char *end;
  unsigned long ix = strtoul(seg, &end, 10);
  if (seg[0] >= '0' && seg[0] <= '9' && !*end && ix < m->n)
    return (long)ix;
  return -1;
}

/* ---- random content ---- */

static const char *const words[] = {
    "备份配置",
    "生产环境配置",
    "主配置",
    "🚀",
    "emoji 😀 ok",
    "naïve café",
    "日本語テキスト",
    "한국어",
    "a: b",
    "#hash",
    "- dash",
    "yes",
    "123",
    "x, y",
    "[br]",
    "{c}",
    "say \"hi\"",
    "it's",
    "tab\there",
    "中文: 冒号",
    "plain",
    "weighted",
    "https://api.example.com/v1",
    "𝄞 clef",
    "Ω≈ç√",
    "line\nbreak",
    "  padded ",
    "~",
    "null",
    "true",
    "0x1F",
    "3.5",
    "a#b",
    "'q'",
    "\\back",
    "end:",
};
static const char *const keywords[] = {"host",   "port",     "名字",       "描述",
                                       "region", "provider", "rate_limit", "🔑",
                                       "clé",    "timeout",  "weight",     "mode"};
static const char *const comments[] = {"注释",       "说明：这里是中文", "emoji 🎉 comment",
                                       "plain note", "日本語のコメント", "x: y # nested",
                                       "𝄞"};

static char *rand_text(void) {
  struct buf b = {0};
  bstr(&b, words[pick(sizeof words / sizeof words[0])]);
  if (chance(30)) {
    bstr(&b, " ");
    bstr(&b, words[pick(sizeof words / sizeof words[0])]);
  }
  return b.p;
}

static struct mn *rand_scalar(void) {
  if (chance(25)) {
    char n[32];
    snprintf(n, sizeof n, "%u", pick(100000));
    return mscalar(n, true);
  }
  if (chance(5)) {
    struct mn *m = mscalar("", false);
    m->null = true;
    return m;
  }
  char *t = rand_text();
  struct mn *m = mscalar(t, false);
  free(t);
  return m;
}

static unsigned uniq;
static void fresh_key(struct mn *map, char *out, size_t cap) {
  for (;;) {
    snprintf(out, cap, "%s%u", keywords[pick(sizeof keywords / sizeof keywords[0])], uniq++ % 7);
    if (mchild(map, out) < 0)
      return;
  }
}

static struct mn *rand_map(int depth);
static struct mn *rand_seq(int depth) {
  struct mn *q = mnew(MQ);
  unsigned n = pick(4);
  for (unsigned i = 0; i < n; i++)
    mput(q, NULL, depth > 0 && chance(30) ? rand_map(depth - 1) : rand_scalar());
  free(q->keys);
  q->keys = NULL;
  return q;
}
static struct mn *rand_map(int depth) {
  struct mn *m = mnew(MM);
  unsigned n = 1 + pick(4);
  for (unsigned i = 0; i < n; i++) {
    char k[64];
    fresh_key(m, k, sizeof k);
    struct mn *v = depth > 0 && chance(25)   ? rand_map(depth - 1)
                   : depth > 0 && chance(15) ? rand_seq(depth - 1)
                                             : rand_scalar();
    mput(m, k, v);
  }
  return m;
}

static struct mn *rand_config(void) {
  struct mn *root = mnew(MM);
  mput(root, "version", mscalar("1", true));
  struct mn *proxy = mnew(MM);
  mput(proxy, "host", mscalar("127.0.0.1", false));
  mput(proxy, "port", mscalar("7860", true));
  if (chance(50))
    mput(proxy, "描述", rand_scalar());
  mput(root, "proxy", proxy);
  unsigned extra = pick(3);
  for (unsigned i = 0; i < extra; i++) {
    char k[32];
    snprintf(k, sizeof k, "section%u", i);
    mput(root, k, rand_map(2));
  }
  if (extra && chance(20)) { /* shared by an alias: edits there must be refused */
    struct mn *sec = root->kids[root->n - 1];
    sec->anchor = "shared";
    struct mn *copy = mcopy(sec);
    copy->anchor = NULL;
    copy->alias = "shared";
    mput(root, "alias_of_shared", copy);
  }
  struct mn *profiles = mnew(MQ);
  unsigned np = 1 + pick(3);
  for (unsigned p = 0; p < np; p++) {
    struct mn *pr = mnew(MM);
    char name[32];
    snprintf(name, sizeof name, "p%u", p);
    mput(pr, "name", mscalar(name, false));
    if (chance(70))
      mput(pr, "description", rand_scalar());
    struct mn *eps = mnew(MQ);
    unsigned ne = pick(4);
    for (unsigned e = 0; e < ne; e++) {
      struct mn *ep = mnew(MM);
      char id[32];
      snprintf(id, sizeof id, "p%u-e%u", p, e);
      mput(ep, "id", mscalar(id, false));
      char w[16];
      snprintf(w, sizeof w, "%u", 1 + pick(100));
      mput(ep, "weight", mscalar(w, true));
      if (chance(50))
        mput(ep, "metadata", rand_map(0));
      mput(eps, NULL, ep);
    }
    free(eps->keys);
    eps->keys = NULL;
    mput(pr, "endpoints", eps);
    mput(profiles, NULL, pr);
  }
  free(profiles->keys);
  profiles->keys = NULL;
  mput(root, "profiles", profiles);
  if (chance(50)) {
    struct mn *g = mnew(MM);
    struct mn *prim = mnew(MQ);
    mput(prim, NULL, mscalar("p0", false));
    free(prim->keys);
    prim->keys = NULL;
    mput(g, "primary", prim);
    mput(root, "groups", g);
  }
  return root;
}

/* ---- writing the model as text ---- */

enum style { ST_BLOCK, ST_JSON, ST_JSONC, ST_COUNT };

static void json_quote(struct buf *b, const char *s) {
  bstr(b, "\"");
  for (const char *p = s; *p; p++) {
    if (*p == '"' || *p == '\\') {
      badd(b, "\\", 1);
      badd(b, p, 1);
    } else if (*p == '\n') {
      bstr(b, "\\n");
    } else if (*p == '\t') {
      bstr(b, "\\t");
    } else {
      badd(b, p, 1);
    }
  }
  bstr(b, "\"");
}

/* Safe as a plain scalar in block and flow context, and not typed. */
static bool simple(const char *s) {
  if (!s[0])
    return false;
  for (const unsigned char *p = (const unsigned char *)s; *p; p++)
    if (!(*p >= 0x80 || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
          (*p >= '0' && *p <= '9' && p != (const unsigned char *)s) || *p == '_' ||
          (*p == ' ' && p[1] && p != (const unsigned char *)s) || *p == '.'))
      return false;
  return strcmp(s, "yes") && strcmp(s, "true") && strcmp(s, "null") && strcmp(s, "y") &&
         strcmp(s, "n") && strcmp(s, "no") && strcmp(s, "on") && strcmp(s, "off");
}

static void w_scalar(struct buf *b, const struct mn *m, bool json, bool flow) {
  if (m->null) {
    bstr(b, json ? "null" : chance(50) ? "~" : "null");
    return;
  }
  if (m->num) {
    bstr(b, m->s);
    return;
  }
  if (!json && simple(m->s) && chance(60)) {
    bstr(b, m->s);
    return;
  }
  if (!json && !strpbrk(m->s, "\n\t") && chance(30)) {
    bstr(b, "'");
    for (const char *p = m->s; *p; p++)
      if (*p == '\'')
        bstr(b, "''"); /* '' inside '...' */
      else
        badd(b, p, 1);
    bstr(b, "'");
    return;
  }
  (void)flow;
  json_quote(b, m->s);
}

static void w_key(struct buf *b, const char *k, bool json) {
  if (!json && simple(k) && chance(85))
    bstr(b, k);
  else
    json_quote(b, k);
}

static void w_comment(struct buf *b) {
  bstr(b, chance(50) ? "  # " : " # ");
  bstr(b, comments[pick(sizeof comments / sizeof comments[0])]);
}

static bool small(const struct mn *m) {
  if (m->kind == MS)
    return true;
  for (size_t i = 0; i < m->n; i++)
    if (m->kids[i]->kind != MS)
      return false;
  return m->n <= 3;
}

/* One line flow text: {a: 1, b: x} / [1, 2]. */
static void w_inline(struct buf *b, const struct mn *m, bool json) {
  if (m->kind == MS) {
    w_scalar(b, m, json, true);
    return;
  }
  bstr(b, m->kind == MM ? "{" : "[");
  for (size_t i = 0; i < m->n; i++) {
    if (i)
      bstr(b, ", ");
    if (m->kind == MM) {
      w_key(b, m->keys[i], json);
      bstr(b, ": ");
    }
    w_inline(b, m->kids[i], json);
  }
  bstr(b, m->kind == MM ? "}" : "]");
}

/* Pretty JSON; COMMENTS puts YAML comments after some lines. */
static void w_json(struct buf *b, const struct mn *m, size_t ind, size_t step, bool comments_on) {
  if (m->kind == MS || m->n == 0 || (small(m) && chance(20))) {
    w_inline(b, m, true);
    return;
  }
  bstr(b, m->kind == MM ? "{" : "[");
  if (comments_on && chance(20))
    w_comment(b);
  for (size_t i = 0; i < m->n; i++) {
    bstr(b, "\n");
    if (comments_on && chance(10)) {
      bsp(b, ind + step);
      bstr(b, "# ");
      bstr(b, comments[pick(sizeof comments / sizeof comments[0])]);
      bstr(b, "\n");
    }
    bsp(b, ind + step);
    if (m->kind == MM) {
      json_quote(b, m->keys[i]);
      bstr(b, ": ");
    }
    w_json(b, m->kids[i], ind + step, step, comments_on);
    if (i + 1 < m->n)
      bstr(b, ",");
    if (comments_on && chance(20))
      w_comment(b);
  }
  bstr(b, "\n");
  bsp(b, ind);
  bstr(b, m->kind == MM ? "}" : "]");
}

static void w_block_value(struct buf *b, const struct mn *v, size_t ind);

static void w_block_map(struct buf *b, const struct mn *m, size_t ind, bool first_inline) {
  for (size_t i = 0; i < m->n; i++) {
    if (!(first_inline && i == 0)) {
      if (chance(8)) {
        bsp(b, ind);
        bstr(b, "# ");
        bstr(b, comments[pick(sizeof comments / sizeof comments[0])]);
        bstr(b, "\n");
      }
      if (chance(5))
        bstr(b, "\n");
      bsp(b, ind);
    }
    w_key(b, m->keys[i], false);
    bstr(b, ":");
    w_block_value(b, m->kids[i], ind);
  }
}

static void w_block_seq(struct buf *b, const struct mn *q, size_t dash) {
  for (size_t i = 0; i < q->n; i++) {
    bsp(b, dash);
    bstr(b, "- ");
    const struct mn *it = q->kids[i];
    if (it->kind == MM && it->n > 0 && !(small(it) && chance(15))) {
      w_block_map(b, it, dash + 2, true);
    } else {
      w_inline(b, it, false);
      if (chance(20))
        w_comment(b);
      bstr(b, "\n");
    }
  }
}

/* After "key:": the value, its comment, the newline. */
static void w_block_value(struct buf *b, const struct mn *v, size_t ind) {
  if (v->alias) {
    bfmt(b, " *%s\n", v->alias);
    return;
  }
  if (v->anchor) {
    bfmt(b, " &%s\n", v->anchor);
    w_block_map(b, v, ind + 2, false);
    return;
  }
  if (v->kind == MS && v->s && strchr(v->s, '\n') && !strstr(v->s, "\n ") && v->s[0] != ' ' &&
      v->s[strlen(v->s) - 1] != ' ' && !strstr(v->s, " \n") && chance(50)) {
    /* a literal block scalar: set must refuse it, remove must take it whole */
    bstr(b, " |-\n");
    for (const char *p = v->s; *p;) {
      const char *nl = strchr(p, '\n');
      size_t l = nl ? (size_t)(nl - p) : strlen(p);
      bsp(b, ind + 2);
      badd(b, p, l);
      bstr(b, "\n");
      p += l + (nl ? 1 : 0);
    }
    return;
  }
  if (v->kind == MS || v->n == 0 || (small(v) && chance(20))) {
    if (!(v->kind == MS && v->null && chance(50))) {
      bstr(b, " ");
      w_inline(b, v, false);
    }
    if (chance(25))
      w_comment(b);
    bstr(b, "\n");
    return;
  }
  if (chance(15))
    w_comment(b);
  bstr(b, "\n");
  if (v->kind == MM)
    w_block_map(b, v, ind + 2, false);
  else
    w_block_seq(b, v, chance(25) ? ind : ind + 2);
}

static char *write_text(const struct mn *root, enum style st) {
  struct buf b = {0};
  if (st == ST_BLOCK) {
    if (chance(50))
      bstr(&b, "# 配置文件 qcc 🚀\n");
    w_block_map(&b, root, 0, false);
    if (chance(30))
      bstr(&b, "# 结束\n");
  } else {
    w_json(&b, root, 0, chance(50) ? 2 : 4, st == ST_JSONC);
    bstr(&b, "\n");
  }
  struct buf o = {0};
  if (chance(10))
    bstr(&o, "\xEF\xBB\xBF"); /* a byte order mark, as some editors write */
  bool crlf = chance(15);
  for (const char *p = b.p; *p; p++)
    badd(&o, crlf && *p == '\n' ? "\r\n" : p, crlf && *p == '\n' ? 2 : 1);
  free(b.p);
  return o.p;
}

/* ---- reading text back (libyaml document API) ---- */

static bool same_as(yaml_document_t *doc, yaml_node_t *n, const struct mn *m, char *why, size_t cap,
                    const char *at) {
  if (n->type == YAML_SCALAR_NODE) {
    const char *v = (const char *)n->data.scalar.value;
    bool plain = n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
    bool null = plain && (!v[0] || !strcmp(v, "~") || !strcmp(v, "null"));
    if (m->kind != MS || null != m->null || (!null && strcmp(v, m->s) != 0)) {
      snprintf(why, cap, "%s: read \"%s\"%s, model %s \"%s\"", at, v, null ? " (null)" : "",
               m->kind == MS ? (m->null ? "null" : "text") : "collection", m->s ? m->s : "");
      return false;
    }
    return true;
  }
  if (n->type == YAML_MAPPING_NODE) {
    size_t cnt = (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
    if (m->kind != MM || cnt != m->n) {
      snprintf(why, cap, "%s: mapping of %zu, model kind %d of %zu", at, cnt, m->kind, m->n);
      return false;
    }
    for (size_t i = 0; i < cnt; i++) {
      yaml_node_pair_t *pr = n->data.mapping.pairs.start + i;
      yaml_node_t *k = yaml_document_get_node(doc, pr->key);
      char sub[256];
      snprintf(sub, sizeof sub, "%s.%s", at, m->keys[i]);
      if (k->type != YAML_SCALAR_NODE || strcmp((const char *)k->data.scalar.value, m->keys[i])) {
        snprintf(why, cap, "%s: key %zu differs", sub, i);
        return false;
      }
      if (!same_as(doc, yaml_document_get_node(doc, pr->value), m->kids[i], why, cap, sub))
        return false;
    }
    return true;
  }
  size_t cnt = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
  if (m->kind != MQ || cnt != m->n) {
    snprintf(why, cap, "%s: list of %zu, model kind %d of %zu", at, cnt, m->kind, m->n);
    return false;
  }
  for (size_t i = 0; i < cnt; i++) {
    char sub[256];
    snprintf(sub, sizeof sub, "%s[%zu]", at, i);
    if (!same_as(doc, yaml_document_get_node(doc, n->data.sequence.items.start[i]), m->kids[i], why,
                 cap, sub))
      return false;
  }
  return true;
}

static bool text_is(const char *text, size_t len, const struct mn *m, char *why, size_t cap) {
  yaml_parser_t p;
  yaml_document_t doc;
  yaml_parser_initialize(&p);
  yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
  bool ok = yaml_parser_load(&p, &doc);
  if (!ok) {
    snprintf(why, cap, "does not parse: %s", p.problem ? p.problem : "?");
    yaml_parser_delete(&p);
    return false;
  }
  yaml_node_t *root = yaml_document_get_root_node(&doc);
  /* a document emptied of its last key reads as nothing at all */
  ok = root ? same_as(&doc, root, m, why, cap, "")
            : (m->kind == MM && m->n == 0) || (snprintf(why, cap, "empty"), false);
  yaml_document_delete(&doc);
  yaml_parser_delete(&p);
  return ok;
}

/* ---- where an edit may touch (old text, its own mark -> byte map) ---- */

struct region {
  size_t lo, hi;
};

static size_t byte_of(const char *t, size_t len, size_t ch) {
  size_t b = len >= 3 && !memcmp(t, "\xEF\xBB\xBF", 3) ? 3 : 0; /* libyaml skips a BOM */
  for (size_t c = 0; c < ch && b < len; c++) {
    b++;
    while (b < len && ((unsigned char)t[b] & 0xC0) == 0x80)
      b++;
  }
  return b;
}
static size_t lstart(const char *t, size_t p) {
  while (p > 0 && t[p - 1] != '\n')
    p--;
  return p;
}
static size_t lend(const char *t, size_t len, size_t p) {
  while (p < len && t[p] != '\n')
    p++;
  return p < len ? p + 1 : len;
}

struct yview {
  yaml_document_t doc;
  const char *t;
  size_t len;
};
static size_t ystart(struct yview *v, yaml_node_t *n) {
  return byte_of(v->t, v->len, n->start_mark.index);
}
/* End of the node's own text (a block collection: its last child's). */
static size_t yend(struct yview *v, yaml_node_t *n) {
  bool block =
      (n->type == YAML_MAPPING_NODE && n->data.mapping.style != YAML_FLOW_MAPPING_STYLE) ||
      (n->type == YAML_SEQUENCE_NODE && n->data.sequence.style != YAML_FLOW_SEQUENCE_STYLE);
  if (block && n->type == YAML_MAPPING_NODE &&
      n->data.mapping.pairs.top > n->data.mapping.pairs.start)
    return yend(v, yaml_document_get_node(&v->doc, n->data.mapping.pairs.top[-1].value));
  if (block && n->type == YAML_SEQUENCE_NODE &&
      n->data.sequence.items.top > n->data.sequence.items.start)
    return yend(v, yaml_document_get_node(&v->doc, n->data.sequence.items.top[-1]));
  return byte_of(v->t, v->len, n->end_mark.index);
}
static size_t ycount(yaml_node_t *n) {
  if (n->type == YAML_MAPPING_NODE)
    return (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
  if (n->type == YAML_SEQUENCE_NODE)
    return (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
  return 0;
}
static yaml_node_t *ykid(struct yview *v, yaml_node_t *n, size_t i) {
  if (n->type == YAML_MAPPING_NODE)
    return yaml_document_get_node(&v->doc, n->data.mapping.pairs.start[i].value);
  return yaml_document_get_node(&v->doc, n->data.sequence.items.start[i]);
}
static yaml_node_t *ykey(struct yview *v, yaml_node_t *n, size_t i) {
  return yaml_document_get_node(&v->doc, n->data.mapping.pairs.start[i].key);
}

/* ---- edits ---- */

enum { E_SET, E_CREATE, E_REMOVE, E_APPEND };

struct pathbuf {
  const char *seg[16];
  char store[16][96];
  size_t n;
};

/* A random path into the model: walks down choosing children, stops at a
 * node satisfying WANT (or gives up). Returns the node, its parent and index. */
static struct mn *rand_path(struct mn *root, struct pathbuf *pb, int want, struct mn **parent,
                            size_t *idx) {
  struct mn *cur = root;
  *parent = NULL;
  pb->n = 0;
  for (int depth = 0; depth < 12; depth++) {
    bool ok = want == MS ? cur->kind == MS : cur->kind == want;
    if (ok && (depth > 0 || want != MS) && (chance(35) || cur->kind == MS))
      return cur;
    if (cur->kind == MS || cur->n == 0)
      return ok ? cur : NULL;
    size_t i = pick((unsigned)cur->n);
    const char *seg;
    char ix[16];
    if (cur->kind == MM) {
      seg = cur->keys[i];
    } else {
      struct mn *it = cur->kids[i];
      const char *nm = it->kind == MM ? mget_scalar(it, "name") : NULL;
      const char *id = it->kind == MM ? mget_scalar(it, "id") : NULL;
      snprintf(ix, sizeof ix, "%zu", i);
      seg = id && chance(70) ? id : nm && chance(70) ? nm : ix;
      if (mchild(cur, seg) != (long)i)
        return NULL; /* ambiguous under the rule: skip */
    }
    snprintf(pb->store[pb->n], sizeof pb->store[0], "%s", seg);
    pb->seg[pb->n] = pb->store[pb->n];
    pb->n++;
    *parent = cur;
    *idx = i;
    cur = cur->kids[i];
  }
  return NULL;
}

/* Node of the old document at PATH (same rule as the model). */
static yaml_node_t *ylocate(struct yview *v, const struct mn *model, const struct pathbuf *pb,
                            size_t n, yaml_node_t **parent, size_t *idx) {
  yaml_node_t *cur = yaml_document_get_root_node(&v->doc);
  const struct mn *m = model;
  *parent = NULL;
  for (size_t i = 0; i < n && cur; i++) {
    long c = mchild(m, pb->seg[i]);
    if (c < 0)
      return NULL;
    *parent = cur;
    *idx = (size_t)c;
    cur = ykid(v, cur, (size_t)c);
    m = m->kids[c];
  }
  return cur;
}

struct stats {
  unsigned long cases, edits, done[4], refused[4];
};

static void fail_case(uint64_t seed, unsigned cs, const char *what, const char *before,
                      const char *after, const char *why) {
  cr_assert_fail("seed %llu case %u: %s: %s\n--- before ---\n%s\n--- after ---\n%s",
                 (unsigned long long)seed, cs, what, why, before, after ? after : "(same)");
}

static void one_case(uint64_t seed, unsigned cs, struct stats *st) {
  struct mn *model = rand_config();
  enum style style = (enum style)pick(ST_COUNT);
  char *text = write_text(model, style);
  char why[512];
  if (!text_is(text, strlen(text), model, why, sizeof why))
    fail_case(seed, cs, "generator", text, NULL, why);
  struct qcc_yamldoc *d = NULL;
  struct qcc_err e = {0};
  if (qcc_yamldoc_parse(text, strlen(text), &d, &e) != 0)
    fail_case(seed, cs, "parse", text, NULL, e.msg);
  unsigned nedits = 1 + pick(6);
  for (unsigned k = 0; k < nedits; k++) {
    size_t olen;
    char *before = strdup(qcc_yamldoc_text(d, &olen));
    struct yview v = {.t = before, .len = olen};
    yaml_parser_t yp;
    yaml_parser_initialize(&yp);
    yaml_parser_set_input_string(&yp, (const unsigned char *)before, olen);
    cr_assert(yaml_parser_load(&yp, &v.doc));
    yaml_parser_delete(&yp);

    int kind = (int)pick(4);
    struct pathbuf pb;
    struct mn *parent = NULL;
    size_t idx = 0;
    struct mn *want = mcopy(model);
    struct region r = {0, olen};
    int rc = -2;
    char desc[256] = "";
    if (kind == E_SET) {
      struct mn *node = rand_path(model, &pb, MS, &parent, &idx);
      if (node) {
        struct mn *nv = rand_scalar();
        if (nv->null) {
          free(nv->s);
          nv->s = strdup("x");
          nv->null = false;
        }
        char *s = qcc_yaml_scalar(nv->s, !nv->num);
        cr_assert_not_null(s);
        rc = qcc_yamldoc_set(d, pb.seg, pb.n, s, &e);
        snprintf(desc, sizeof desc, "set %s (path of %zu) to %s", pb.n ? pb.seg[pb.n - 1] : "",
                 pb.n, s);
        free(s);
        /* expected: that scalar's text */
        struct mn *w = want;
        for (size_t i = 0; i < pb.n; i++)
          w = w->kids[mchild(w, pb.seg[i])];
        free(w->s);
        w->s = strdup(nv->s);
        w->null = false;
        w->num = nv->num;
        mfree(nv);
        yaml_node_t *yp2 = NULL;
        size_t yi;
        yaml_node_t *yn = ylocate(&v, model, &pb, pb.n, &yp2, &yi);
        cr_assert_not_null(yn);
        r.lo = lstart(before, yp2 && yp2->type == YAML_MAPPING_NODE ? ystart(&v, ykey(&v, yp2, yi))
                                                                    : ystart(&v, yn));
        r.hi = lend(before, olen, yend(&v, yn));
        if (rc == 0 && ((const struct mn *)w)->null == false && yn->type == YAML_SCALAR_NODE &&
            yn->start_mark.index == yn->end_mark.index)
          r.hi = lend(before, olen, r.hi); /* "key:" + value */
      }
    } else if (kind == E_CREATE) {
      struct mn *node = rand_path(model, &pb, MM, &parent, &idx);
      if (node && pb.n + 2 < 16) {
        char k1[64], k2[64];
        fresh_key(node, k1, sizeof k1);
        snprintf(pb.store[pb.n], sizeof pb.store[0], "%s", k1);
        pb.seg[pb.n] = pb.store[pb.n];
        pb.n++;
        bool two = chance(30);
        if (two) {
          snprintf(k2, sizeof k2, "子%u", pick(9));
          snprintf(pb.store[pb.n], sizeof pb.store[0], "%s", k2);
          pb.seg[pb.n] = pb.store[pb.n];
          pb.n++;
        }
        struct mn *nv = rand_scalar();
        if (nv->null) {
          free(nv->s);
          nv->s = strdup("v");
          nv->null = false;
        }
        char *s = qcc_yaml_scalar(nv->s, !nv->num);
        rc = qcc_yamldoc_set(d, pb.seg, pb.n, s, &e);
        snprintf(desc, sizeof desc, "create %s%s%s = %s", k1, two ? "." : "", two ? k2 : "", s);
        free(s);
        struct mn *w = want;
        for (size_t i = 0; i + (two ? 2 : 1) < pb.n; i++)
          w = w->kids[mchild(w, pb.seg[i])];
        if (two) {
          struct mn *inner = mnew(MM);
          mput(inner, k2, nv);
          mput(w, k1, inner);
        } else {
          mput(w, k1, nv);
        }
        yaml_node_t *yp2 = NULL;
        size_t yi;
        yaml_node_t *yn = ylocate(&v, model, &pb, pb.n - (two ? 2 : 1), &yp2, &yi);
        if (yn) { /* else an emptied document: anywhere */
          size_t cnt = ycount(yn);
          size_t at = cnt ? yend(&v, ykid(&v, yn, cnt - 1)) : ystart(&v, yn);
          r.lo = lstart(before, at);
          r.hi = lend(before, olen, cnt ? at : yend(&v, yn));
          if (cnt && node->kids[cnt - 1]->alias) { /* libyaml gives the anchor's marks */
            r.lo = lstart(before, ystart(&v, ykey(&v, yn, cnt - 1)));
            r.hi = olen;
          }
        }
      }
    } else if (kind == E_REMOVE) {
      int k2 = chance(50) ? MM : MQ;
      struct mn *node = rand_path(model, &pb, k2, &parent, &idx);
      (void)node;
      if (node && node->n > 0 && pb.n + 1 < 16) {
        size_t i = pick((unsigned)node->n);
        const char *seg;
        char ix[16];
        if (node->kind == MM) {
          seg = node->keys[i];
        } else {
          snprintf(ix, sizeof ix, "%zu", i);
          struct mn *it = node->kids[i];
          const char *id = it->kind == MM ? mget_scalar(it, "id") : NULL;
          seg = id ? id : it->kind == MS && !it->null ? it->s : ix;
        }
        if (mchild(node, seg) == (long)i) {
          snprintf(pb.store[pb.n], sizeof pb.store[0], "%s", seg);
          pb.seg[pb.n] = pb.store[pb.n];
          pb.n++;
          rc = qcc_yamldoc_remove(d, pb.seg, pb.n, &e);
          snprintf(desc, sizeof desc, "remove %s (path of %zu)", seg, pb.n);
          /* expected: gone; a mapping left empty goes with its key */
          size_t depth = pb.n;
          for (;;) {
            struct mn *w = want, *wp = NULL;
            for (size_t j = 0; j + 1 < depth; j++) {
              wp = w;
              w = w->kids[mchild(w, pb.seg[j])];
            }
            if (w->kind == MM && w->n == 1 && wp && depth > 1) {
              depth--;
              continue;
            }
            mdel(w, (size_t)mchild(w, pb.seg[depth - 1]));
            break;
          }
          yaml_node_t *yc = NULL;
          size_t yi = 0;
          yaml_node_t *yn = ylocate(&v, model, &pb, depth, &yc, &yi);
          cr_assert_not_null(yn);
          size_t s0 = yc->type == YAML_MAPPING_NODE ? ystart(&v, ykey(&v, yc, yi)) : ystart(&v, yn);
          size_t lo = yi > 0 ? yend(&v, ykid(&v, yc, yi - 1)) : ystart(&v, yc);
          if (yi == 0 && depth >= 2) { /* "key: []" / a parent's line */
            yaml_node_t *gp = NULL;
            size_t gi = 0;
            ylocate(&v, model, &pb, depth - 1, &gp, &gi);
            if (gp && gp->type == YAML_MAPPING_NODE)
              lo = ystart(&v, ykey(&v, gp, gi));
          }
          r.lo = lstart(before, lo < s0 ? lo : s0);
          r.hi = lend(before, olen, yend(&v, yn));
          if (yi + 1 < ycount(yc)) {
            size_t next = yc->type == YAML_MAPPING_NODE ? ystart(&v, ykey(&v, yc, yi + 1))
                                                        : ystart(&v, ykid(&v, yc, yi + 1));
            if (next > r.hi)
              r.hi = next;
          }
          if (yc->type == YAML_SEQUENCE_NODE && ycount(yc) == 1)
            r.hi = lend(before, olen, yend(&v, yc) > r.hi ? yend(&v, yc) : r.hi);
        }
      }
    } else {
      struct mn *node = rand_path(model, &pb, MQ, &parent, &idx);
      if (node) {
        struct mn *item;
        char *itext;
        if (chance(50)) {
          item = rand_scalar();
          if (item->null) {
            free(item->s);
            item->s = strdup("i");
            item->null = false;
          }
          itext = qcc_yaml_scalar(item->s, !item->num);
        } else {
          item = mnew(MM);
          char id[32];
          snprintf(id, sizeof id, "new-%u", pick(1000));
          mput(item, "id", mscalar(id, false));
          struct mn *dv = rand_scalar();
          if (dv->null) {
            free(dv->s);
            dv->s = strdup("d");
            dv->null = false;
          }
          mput(item, "描述", dv);
          struct buf ib = {0};
          char *q = qcc_yaml_scalar(dv->s, !dv->num);
          bfmt(&ib, "id: %s\n描述: %s\n", id, q);
          free(q);
          itext = ib.p;
        }
        rc = qcc_yamldoc_append(d, pb.seg, pb.n, itext, &e);
        snprintf(desc, sizeof desc, "append to list (path of %zu): %s", pb.n, itext);
        free(itext);
        struct mn *w = want;
        for (size_t i = 0; i < pb.n; i++)
          w = w->kids[mchild(w, pb.seg[i])];
        mput(w, NULL, item);
        free(w->keys);
        w->keys = NULL;
        yaml_node_t *yp2 = NULL;
        size_t yi = 0;
        yaml_node_t *yn = ylocate(&v, model, &pb, pb.n, &yp2, &yi);
        cr_assert_not_null(yn);
        size_t cnt = ycount(yn);
        size_t at = cnt ? yend(&v, ykid(&v, yn, cnt - 1)) : ystart(&v, yn);
        if (!cnt && yp2 && yp2->type == YAML_MAPPING_NODE)
          at = ystart(&v, ykey(&v, yp2, yi));
        r.lo = lstart(before, at);
        r.hi = lend(before, olen, cnt ? at : yend(&v, yn));
      }
    }
    yaml_document_delete(&v.doc);
    if (rc == -2) { /* nothing suitable drawn */
      mfree(want);
      free(before);
      continue;
    }
    st->edits++;
    size_t nlen;
    const char *after = qcc_yamldoc_text(d, &nlen);
    if (rc != 0) {
      st->refused[kind]++;
      if (getenv("QCC_PROP_VERBOSE"))
        fprintf(stderr, "case %u refused %s: %s\n%s\n", cs, desc, e.msg,
                getenv("QCC_PROP_VERBOSE")[0] == '2' ? before : "");
      if (nlen != olen || memcmp(after, before, olen) != 0)
        fail_case(seed, cs, desc, before, after, "refused, yet the text changed");
      mfree(want);
      free(before);
      continue;
    }
    st->done[kind]++;
    if (!text_is(after, nlen, want, why, sizeof why))
      fail_case(seed, cs, desc, before, after, why);
    /* old = A X B and new = A Y B with X inside [lo, hi): the common prefix
     * reaches lo and the common suffix reaches hi */
    size_t p = 0, s = 0;
    while (p < olen && p < nlen && before[p] == after[p])
      p++;
    while (s < olen && s < nlen && before[olen - 1 - s] == after[nlen - 1 - s])
      s++;
    if (p < r.lo || s < olen - r.hi || nlen + r.hi < olen + r.lo) {
      char w2[256];
      snprintf(w2, sizeof w2,
               "bytes changed at [%zu, %zu) outside the edited lines [%zu, %zu): \"%.*s\"", p,
               olen - s, r.lo, r.hi, (int)(r.hi - r.lo), before + r.lo);
      fail_case(seed, cs, desc, before, after, w2);
    }
    mfree(model);
    model = want;
    free(before);
  }
  qcc_yamldoc_free(&d);
  free(text);
  mfree(model);
  st->cases++;
}

Test(edit_property, random_configs_random_edits, .timeout = 120) {
  const char *se = getenv("QCC_PROP_SEED"), *ce = getenv("QCC_PROP_CASES");
  uint64_t seed = se ? strtoull(se, NULL, 10) : 20261206ull;
  unsigned cases = ce ? (unsigned)strtoul(ce, NULL, 10) : 5000;
  struct stats st = {0};
  for (unsigned c = 0; c < cases; c++) {
    rng_state = seed * 1000003ull + c; /* each case replayable on its own */
    one_case(seed, c, &st);
  }
  unsigned long done = st.done[0] + st.done[1] + st.done[2] + st.done[3];
  unsigned long refused = st.refused[0] + st.refused[1] + st.refused[2] + st.refused[3];
  fprintf(stderr,
          "edit property: seed %llu, %lu configs, %lu edits: %lu exact (set %lu, create %lu, "
          "remove %lu, append %lu), %lu refused (set %lu, create %lu, remove %lu, append %lu)\n",
          (unsigned long long)seed, st.cases, st.edits, done, st.done[0], st.done[1], st.done[2],
          st.done[3], refused, st.refused[0], st.refused[1], st.refused[2], st.refused[3]);
  cr_assert_eq(st.cases, cases);
  /* refusals are for layouts the editor cannot keep exact, not the norm */
  cr_assert(refused * 20 < st.edits, "%lu of %lu edits refused", refused, st.edits);
  cr_assert(refused > 0, "the anchored sections were never hit: the refusal path went untested");
}
