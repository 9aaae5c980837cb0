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
 * The configs come from confgen.c; the expected effect of each edit is
 * computed here on the model, from yamledit.h's documented rules, not by the
 * editor's code.
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
#include "confgen.h"

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
