/* Random configs and their reading back (see confgen.h). */
#include "confgen.h"

#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* ---- PRNG (splitmix64) ---- */

uint64_t rng_state;
uint64_t rnd(void) {
  uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}
unsigned pick(unsigned n) { return (unsigned)(rnd() % n); }
bool chance(unsigned pct) { return pick(100) < pct; }

/* ---- buffer ---- */

void badd(struct buf *b, const char *s, size_t n) {
  if (b->len + n + 1 > b->cap) {
    b->cap = (b->len + n + 1) * 2;
    b->p = realloc(b->p, b->cap);
    cr_assert_not_null(b->p);
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
}
void bstr(struct buf *b, const char *s) { badd(b, s, strlen(s)); }
void bsp(struct buf *b, size_t n) {
  for (size_t i = 0; i < n; i++)
    badd(b, " ", 1);
}
void bfmt(struct buf *b, const char *fmt, ...) {
  char tmp[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  bstr(b, tmp);
}

/* ---- model ---- */

struct mn *mnew(int kind) {
  struct mn *m = calloc(1, sizeof *m);
  cr_assert_not_null(m);
  m->kind = kind;
  return m;
}
struct mn *mscalar(const char *s, bool num) {
  struct mn *m = mnew(MS);
  m->s = strdup(s);
  m->num = num;
  return m;
}
void mfree(struct mn *m) {
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
void mput(struct mn *m, const char *key, struct mn *v) {
  m->keys = realloc(m->keys, (m->n + 1) * sizeof *m->keys);
  m->kids = realloc(m->kids, (m->n + 1) * sizeof *m->kids);
  m->keys[m->n] = key ? strdup(key) : NULL;
  m->kids[m->n++] = v;
}
void mdel(struct mn *m, size_t i) {
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
struct mn *mcopy(const struct mn *m) {
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
const char *mget_scalar(const struct mn *m, const char *key) {
  for (size_t i = 0; m->kind == MM && i < m->n; i++)
    if (!strcmp(m->keys[i], key))
      return m->kids[i]->kind == MS && !m->kids[i]->null ? m->kids[i]->s : NULL;
  return NULL;
}
/* yamledit.h's rule: under a mapping a key; under a list the item equal to
 * SEG, or whose name/id is SEG, else a decimal index. */
long mchild(const struct mn *m, const char *seg) {
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

struct mn *rand_scalar(void) {
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
void fresh_key(struct mn *map, char *out, size_t cap) {
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

struct mn *rand_config(void) {
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

char *write_text(const struct mn *root, enum style st) {
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

bool text_is(const char *text, size_t len, const struct mn *m, char *why, size_t cap) {
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
