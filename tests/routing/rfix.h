/* Routing test fixture: small tables built in memory from a compact
 * description (laid out by the backend's compiler/layout.h, opened with
 * qcc_table_open_buffer), a router attached to them, and a fake clock. */
#ifndef QCC_TESTS_ROUTING_RFIX_H
#define QCC_TESTS_ROUTING_RFIX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/router.h"
#include "schema/enums.h"
#include "schema/table.h"

struct rfix_ep {
  const char *id;
  uint32_t weight;       /* 0 -> 1 */
  uint32_t priority;
  uint32_t max_failures; /* 0 -> 3 */
  uint32_t rate_limit;
  uint32_t max_conc;
  const char *url;       /* NULL -> https://ID.example.com */
  bool disabled;
};

#define RFIX_MAX_EPS 8
#define RFIX_MAX_PROFS 4

struct rfix_prof {
  const char *name;
  enum qcc_group group;
  enum qcc_lb_strategy lb;
  bool health_aware, sticky;
  size_t n;
  struct rfix_ep eps[RFIX_MAX_EPS];
};

struct rfix_cfg {
  bool auto_switch, auto_recovery, fallback_enabled, health_enabled;
  uint32_t switch_threshold, cooldown_ms, check_interval_ms, health_timeout_ms;
  size_t n;
  struct rfix_prof profs[RFIX_MAX_PROFS];
};

/* A verified table for C; *IMAGE must outlive it. */
struct qcc_table *rfix_table(const struct rfix_cfg *c, void **image);
void rfix_table_close(struct qcc_table **t, void **image);

/* A router (default params unless P) attached to a table of C at NOW. The
 * fixture keeps the table; rfix_done frees everything. */
struct rfix {
  struct qcc_router *r;
  struct qcc_table *t;
  void *image;
};
void rfix_init(struct rfix *f, const struct rfix_cfg *c, const struct qcc_router_params *p,
               uint64_t now);
/* Attach a new table of C (the old one is closed after the attach). */
void rfix_swap(struct rfix *f, const struct rfix_cfg *c, uint64_t now);
void rfix_done(struct rfix *f);

/* Index of endpoint ID in the current table (asserts it exists). */
uint32_t rfix_idx(const struct rfix *f, const char *id);
/* The endpoint ID of index I. */
const char *rfix_id(const struct rfix *f, uint32_t i);

/* Pick (asserting success), begin, end with an outcome of KIND / STATUS. */
struct qcc_pick rfix_pick(struct rfix *f, const struct qcc_pick_req *req, uint64_t now);
void rfix_finish(struct rfix *f, const struct qcc_pick *p, enum qcc_outcome_kind kind,
                 int status, uint64_t now);
/* Pick + begin + end ok; returns the endpoint index. */
uint32_t rfix_ok(struct rfix *f, const struct qcc_pick_req *req, uint64_t now);

#endif
