#include "rfix.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/config.h"
#include "compiler/layout.h"

static char *dup(const char *s) {
  char *d = strdup(s);
  cr_assert_not_null(d);
  return d;
}

static struct qcc_config *build(const struct rfix_cfg *c) {
  struct qcc_config *cfg = calloc(1, sizeof *cfg);
  cr_assert_not_null(cfg);
  cfg->version = 1;
  struct qcc_settings *s = &cfg->settings;
  s->host = dup("127.0.0.1");
  s->port = 7860;
  s->max_connections = 100;
  s->max_header_bytes = 65536;
  s->max_body_bytes = 1 << 20;
  s->header_timeout_ms = 10000;
  s->idle_timeout_ms = 60000;
  s->drain_timeout_ms = 1000;
  s->health_enabled = c->health_enabled;
  s->health_check = QCC_CHECK_TCP;
  s->check_interval_ms = c->check_interval_ms ? c->check_interval_ms : 60000;
  s->health_timeout_ms = c->health_timeout_ms ? c->health_timeout_ms : 10000;
  s->retry_count = 1;
  s->queue_max_size = 10;
  s->max_retries = 1;
  s->max_wait_ms = 1000;
  s->lb_strategy = QCC_LB_WEIGHTED;
  s->auto_switch = c->auto_switch;
  s->auto_recovery = c->auto_recovery;
  s->fallback_enabled = c->fallback_enabled;
  s->switch_threshold = c->switch_threshold;
  s->cooldown_ms = c->cooldown_ms;
  cfg->profile_count = c->n;
  cfg->profiles = calloc(c->n ? c->n : 1, sizeof *cfg->profiles);
  cr_assert_not_null(cfg->profiles);
  for (size_t i = 0; i < c->n; i++) {
    const struct rfix_prof *rp = &c->profs[i];
    struct qcc_profile_cfg *p = &cfg->profiles[i];
    p->name = dup(rp->name);
    p->group = rp->group;
    p->enabled = true;
    p->lb_override = true;
    p->lb_strategy = rp->lb;
    p->health_aware = rp->health_aware;
    p->sticky_session = rp->sticky;
    p->endpoint_count = rp->n;
    p->endpoints = calloc(rp->n ? rp->n : 1, sizeof *p->endpoints);
    cr_assert_not_null(p->endpoints);
    for (size_t j = 0; j < rp->n; j++) {
      const struct rfix_ep *re = &rp->eps[j];
      struct qcc_endpoint_cfg *e = &p->endpoints[j];
      char url[128];
      snprintf(url, sizeof url, "https://%s.example.com", re->id);
      e->id = dup(re->id);
      e->base_url = dup(re->url ? re->url : url);
      e->key.kind = QCC_KEY_ENV;
      e->key.value = dup("ROUTING_TEST_KEY");
      e->auth = QCC_AUTH_X_API_KEY;
      e->weight = re->weight ? re->weight : 1;
      e->priority = re->priority;
      e->max_failures = re->max_failures ? re->max_failures : 3;
      e->timeout_ms = 30000;
      e->rate_limit = re->rate_limit;
      e->max_concurrency = re->max_conc;
      e->enabled = !re->disabled;
    }
  }
  return cfg;
}

struct qcc_table *rfix_table(const struct rfix_cfg *c, void **image) {
  struct qcc_config *cfg = build(c);
  struct qcc_layout *l = NULL;
  struct qcc_err err = {0};
  struct qcc_layout_opts o = {.generation = 1, .build_time = 1700000000};
  cr_assert_eq(qcc_layout_new(cfg, &o, &l, &err), 0, "layout: %s", err.msg);
  size_t len = 0;
  const void *b = qcc_layout_bytes(l, &len);
  *image = aligned_alloc(8, (len + 7) & ~(size_t)7);
  cr_assert_not_null(*image);
  memcpy(*image, b, len);
  qcc_layout_free(&l);
  qcc_config_free(&cfg);
  struct qcc_table *t = NULL;
  struct qcc_table_error terr = {0};
  cr_assert_eq(qcc_table_open_buffer(*image, len, &t, &terr), 0, "open: %s", terr.message);
  return t;
}

void rfix_table_close(struct qcc_table **t, void **image) {
  qcc_table_close(t);
  free(*image);
  *image = NULL;
}

void rfix_init(struct rfix *f, const struct rfix_cfg *c, const struct qcc_router_params *p,
               uint64_t now) {
  struct qcc_err err = {0};
  *f = (struct rfix){0};
  cr_assert_eq(qcc_router_new(p, &f->r, &err), 0);
  f->t = rfix_table(c, &f->image);
  cr_assert_eq(qcc_router_attach(f->r, f->t, now, &err), 0, "%s", err.msg);
}

void rfix_swap(struct rfix *f, const struct rfix_cfg *c, uint64_t now) {
  void *image = NULL;
  struct qcc_table *t = rfix_table(c, &image);
  struct qcc_err err = {0};
  cr_assert_eq(qcc_router_attach(f->r, t, now, &err), 0, "%s", err.msg);
  /* Scribble over the old image before freeing it: the router must not
   * have kept a pointer into it. */
  size_t len = 0;
  void *old = (void *)qcc_table_bytes(f->t, &len);
  qcc_table_close(&f->t);
  memset(old, 0xA5, len);
  free(f->image);
  f->t = t;
  f->image = image;
}

void rfix_done(struct rfix *f) {
  qcc_router_free(&f->r);
  cr_assert_null(f->r);
  rfix_table_close(&f->t, &f->image);
}

uint32_t rfix_idx(const struct rfix *f, const char *id) {
  for (uint32_t i = 0; i < qcc_table_endpoint_count(f->t); i++)
    if (strcmp(qcc_table_str(f->t, qcc_table_endpoint(f->t, i)->id), id) == 0) return i;
  cr_assert_fail("no endpoint %s", id);
  return 0;
}

const char *rfix_id(const struct rfix *f, uint32_t i) {
  return qcc_table_str(f->t, qcc_table_endpoint(f->t, i)->id);
}

struct qcc_pick rfix_pick(struct rfix *f, const struct qcc_pick_req *req, uint64_t now) {
  struct qcc_pick p;
  int rc = qcc_router_pick(f->r, req, now, &p);
  cr_assert_eq(rc, 0, "pick failed: %s", qcc_pick_result_name(p.result));
  cr_assert_eq(p.result, QCC_PICK_OK);
  return p;
}

void rfix_finish(struct rfix *f, const struct qcc_pick *p, enum qcc_outcome_kind kind,
                 int status, uint64_t now) {
  struct qcc_outcome o = {.kind = kind, .http_status = status, .latency_ms = 100};
  qcc_router_end(f->r, p, &o, now);
}

uint32_t rfix_ok(struct rfix *f, const struct qcc_pick_req *req, uint64_t now) {
  struct qcc_pick p = rfix_pick(f, req, now);
  qcc_router_begin(f->r, &p, now);
  rfix_finish(f, &p, QCC_OUT_OK, 0, now);
  return p.endpoint;
}
