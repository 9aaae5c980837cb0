/* Cost of one routing decision: pick + begin + end(ok) on the routing engine
 * (runtime/router.h), per strategy, with a table laid out in memory. Pure CPU,
 * no I/O. Run: build/tools/bench/route-bench [picks] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "compiler/config.h"
#include "compiler/layout.h"
#include "runtime/router.h"
#include "schema/table.h"

#define ENDPOINTS 8

static char *dupstr(const char *s) {
  char *d = strdup(s);
  if (d == NULL) abort();
  return d;
}

/* Two profiles (primary with ENDPOINTS endpoints, a secondary with 2) */
static struct qcc_config *config(enum qcc_lb_strategy lb, bool sticky) {
  struct qcc_config *c = calloc(1, sizeof *c);
  if (c == NULL) abort();
  c->version = 1;
  struct qcc_settings *s = &c->settings;
  s->host = dupstr("127.0.0.1");
  s->port = 7860;
  s->max_connections = 100;
  s->max_header_bytes = 65536;
  s->max_body_bytes = 1 << 20;
  s->header_timeout_ms = s->idle_timeout_ms = s->drain_timeout_ms = 1000;
  s->check_interval_ms = 60000;
  s->health_timeout_ms = 10000;
  s->auto_switch = s->auto_recovery = s->fallback_enabled = true;
  s->switch_threshold = 3;
  s->cooldown_ms = 300000;
  c->profile_count = 2;
  c->profiles = calloc(2, sizeof *c->profiles);
  if (c->profiles == NULL) abort();
  for (size_t i = 0; i < 2; i++) {
    struct qcc_profile_cfg *p = &c->profiles[i];
    char name[32];
    snprintf(name, sizeof name, "profile-%zu", i);
    p->name = dupstr(name);
    p->group = i == 0 ? QCC_GROUP_PRIMARY : QCC_GROUP_SECONDARY;
    p->enabled = true;
    p->lb_override = true;
    p->lb_strategy = lb;
    p->health_aware = true;
    p->sticky_session = sticky;
    p->endpoint_count = i == 0 ? ENDPOINTS : 2;
    p->endpoints = calloc(p->endpoint_count, sizeof *p->endpoints);
    if (p->endpoints == NULL) abort();
    for (size_t j = 0; j < p->endpoint_count; j++) {
      struct qcc_endpoint_cfg *e = &p->endpoints[j];
      char buf[64];
      snprintf(buf, sizeof buf, "ep-%zu-%zu", i, j);
      e->id = dupstr(buf);
      snprintf(buf, sizeof buf, "https://ep%zu-%zu.example.com", i, j);
      e->base_url = dupstr(buf);
      e->key.kind = QCC_KEY_ENV;
      e->key.value = dupstr("BENCH_KEY");
      e->weight = (uint32_t)(1 + j * 3);
      e->priority = (uint32_t)j;
      e->max_failures = 3;
      e->timeout_ms = 30000;
      e->enabled = true;
    }
  }
  return c;
}

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int run(const char *label, enum qcc_lb_strategy lb, bool sticky, long picks) {
  struct qcc_config *cfg = config(lb, sticky);
  struct qcc_layout *l = NULL;
  struct qcc_err err = {0};
  struct qcc_layout_opts o = {.generation = 1, .build_time = 1700000000};
  if (qcc_layout_new(cfg, &o, &l, &err) != 0) {
    fprintf(stderr, "route-bench: layout: %s\n", err.msg);
    return -1;
  }
  size_t len = 0;
  const void *bytes = qcc_layout_bytes(l, &len);
  struct qcc_table *t = NULL;
  struct qcc_table_error terr = {0};
  struct qcc_router *r = NULL;
  if (qcc_table_open_buffer(bytes, len, &t, &terr) != 0 || qcc_router_new(NULL, &r, &err) != 0 ||
      qcc_router_attach(r, t, 0, &err) != 0) {
    fprintf(stderr, "route-bench: setup failed: %s%s\n", terr.message, err.msg);
    return -1;
  }
  char keys[64][40];
  for (int i = 0; i < 64; i++) snprintf(keys[i], sizeof keys[i], "session-%08x-%d", i * 2654435761u, i);
  struct qcc_outcome ok = {.kind = QCC_OUT_OK, .latency_ms = 800, .ttfb_ms = 300};
  unsigned hits[ENDPOINTS + 2] = {0};
  double t0 = now_ns();
  for (long i = 0; i < picks; i++) {
    struct qcc_pick_req req = {.session_key = sticky ? keys[i & 63] : NULL};
    struct qcc_pick p;
    uint64_t ms = (uint64_t)i / 1000; /* a thousand requests per ms of fake clock */
    if (qcc_router_pick(r, &req, ms, &p) != 0) {
      fprintf(stderr, "route-bench: pick failed: %s\n", qcc_pick_result_name(p.result));
      return -1;
    }
    qcc_router_begin(r, &p, ms);
    qcc_router_end(r, &p, &ok, ms);
    hits[p.endpoint]++;
  }
  double ns = (now_ns() - t0) / (double)picks;
  printf("%-22s %8.1f ns/pick   endpoint 0..%d share:", label, ns, ENDPOINTS - 1);
  for (int i = 0; i < ENDPOINTS; i++) printf(" %4.1f", 100.0 * hits[i] / (double)picks);
  printf("\n");
  qcc_router_free(&r);
  qcc_table_close(&t);
  qcc_layout_free(&l);
  qcc_config_free(&cfg);
  return 0;
}

int main(int argc, char **argv) {
  long picks = argc > 1 ? atol(argv[1]) : 2000000;
  if (picks <= 0) {
    fprintf(stderr, "usage: route-bench [picks]\n");
    return 2;
  }
  printf("route-bench: %ld x (pick + begin + end ok), %d endpoints in the active profile\n", picks,
         ENDPOINTS);
  int rc = 0;
  rc |= run("weighted", QCC_LB_WEIGHTED, false, picks);
  rc |= run("round_robin", QCC_LB_ROUND_ROBIN, false, picks);
  rc |= run("least_connections", QCC_LB_LEAST_CONNECTIONS, false, picks);
  rc |= run("failover", QCC_LB_FAILOVER, false, picks);
  rc |= run("sticky (weighted)", QCC_LB_WEIGHTED, true, picks);
  return rc ? 1 : 0;
}
