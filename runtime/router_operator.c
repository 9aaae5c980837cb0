/* The operator's hand on the router (runtime/router.h, "operator" and
 * "restore"): disabling, enabling, pinning and unpinning, a budget's rest,
 * and putting back the state the journal recorded before a restart.
 * Shares the router's private state through router_int.h. */
#include "router_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* ---- operator ------------------------------------------------------------- */

int qcc_router_disable(struct qcc_router *r, uint32_t idx, const char *reason, uint64_t now,
                       struct qcc_err *err) {
  if (idx >= r->n_eps) return qcc_err_set(err, ENOENT, "no endpoint with index %u", idx);
  struct ep *e = &r->eps[idx];
  snprintf(e->lv.op_reason, sizeof e->lv.op_reason, "%s", reason ? reason : "operator");
  if (e->lv.op_disabled) return 0;
  e->lv.op_disabled = true;
  rt_emit(r, QCC_EV_DISABLE, e, NULL, "enabled", "disabled", now, "%s", e->lv.op_reason);
  return 0;
}

int qcc_router_enable(struct qcc_router *r, uint32_t idx, const char *reason, uint64_t now,
                      struct qcc_err *err) {
  if (idx >= r->n_eps) return qcc_err_set(err, ENOENT, "no endpoint with index %u", idx);
  struct ep *e = &r->eps[idx];
  bool was = e->lv.op_disabled || e->lv.key_rejected || e->lv.rest_until > now ||
             e->lv.br.state != QCC_BREAKER_CLOSED || e->lv.h.status == QCC_HEALTH_UNHEALTHY;
  e->lv.op_disabled = false;
  e->lv.op_reason[0] = 0;
  e->lv.key_rejected = false; /* the operator says the key is fixed */
  e->lv.rest_until = 0;
  e->lv.rest_spend = e->lv.rest_budget = false;
  e->lv.rest_hard = false;
  /* ... and that it works: eligible now, not after a cooldown or a check */
  qcc_breaker_reset(&e->lv.br, now);
  qcc_health_lift(&e->lv.h, now);
  if (was)
    rt_emit(r, QCC_EV_ENABLE, e, NULL, "disabled", "enabled", now, "%s",
            reason != NULL && reason[0] != '\0' ? reason : "operator");
  /* the recovery clock of its profile starts now */
  rt_refresh_profile(r, e->profile, now);
  rt_ready(r);
  return 0;
}

int qcc_router_pin(struct qcc_router *r, const char *profile, const char *reason, uint64_t now,
                   struct qcc_err *err) {
  bool found = false;
  for (uint32_t i = 0; i < r->n_profs && !found; i++)
    found = strcmp(r->profs[i].name, profile) == 0;
  if (!found) return qcc_err_set(err, ENOENT, "no profile named '%s'", profile);
  if (strlen(profile) >= sizeof r->pin_name)
    return qcc_err_set(err, ENAMETOOLONG, "profile name too long to pin");
  char from[64];
  snprintf(from, sizeof from, "%s", r->pinned ? r->pin_name : rt_rung_name(r, r->active));
  r->pinned = true;
  snprintf(r->pin_name, sizeof r->pin_name, "%s", profile);
  snprintf(r->pin_reason, sizeof r->pin_reason, "%s", reason ? reason : "operator");
  rt_emit(r, QCC_EV_PIN, NULL, profile, from, profile, now, "%s", r->pin_reason);
  rt_ready(r);
  return 0;
}

void qcc_router_unpin(struct qcc_router *r, const char *reason, uint64_t now) {
  if (!r->pinned) return;
  r->pinned = false;
  r->fail_streak = 0;
  rt_emit(r, QCC_EV_UNPIN, NULL, r->pin_name, r->pin_name, "auto", now, "%s",
          reason != NULL && reason[0] != '\0' ? reason : "switch --auto");
  r->pin_reason[0] = 0;
  rt_ready(r);
}

/* ---- restore -------------------------------------------------------------- */

int qcc_router_restore_breaker(struct qcc_router *r, uint32_t idx, uint32_t failures,
                               uint64_t open_until, uint64_t now, struct qcc_err *err) {
  if (idx >= r->n_eps) return qcc_err_set(err, ENOENT, "no endpoint with index %u", idx);
  struct qcc_breaker *b = &r->eps[idx].lv.br;
  b->state = QCC_BREAKER_OPEN;
  b->failures = failures;
  b->open_until = open_until;
  b->changed_at = now;
  b->probe_in_flight = false;
  /* the cooldown it was serving, so a failed probe doubles from there */
  uint64_t left = open_until > now ? open_until - now : 0;
  if (left > b->cooldown_ms && left <= b->max_ms) b->cooldown_ms = (uint32_t)left;
  b->trips++;
  rt_refresh_profile(r, r->eps[idx].profile, now);
  return 0;
}

int qcc_router_restore_disabled(struct qcc_router *r, uint32_t idx, const char *reason,
                                struct qcc_err *err) {
  if (idx >= r->n_eps) return qcc_err_set(err, ENOENT, "no endpoint with index %u", idx);
  struct ep *e = &r->eps[idx];
  e->lv.op_disabled = true;
  snprintf(e->lv.op_reason, sizeof e->lv.op_reason, "%s", reason && reason[0] ? reason : "operator");
  return 0;
}

int qcc_router_restore_health(struct qcc_router *r, uint32_t idx, enum qcc_health_status st,
                              uint64_t now, struct qcc_err *err) {
  if (idx >= r->n_eps) return qcc_err_set(err, ENOENT, "no endpoint with index %u", idx);
  if ((unsigned)st >= QCC_HEALTH_STATUS_COUNT) return qcc_err_set(err, EINVAL, "bad status");
  struct qcc_health *h = &r->eps[idx].lv.h;
  h->status = st;
  h->status_since = now;
  return 0;
}

int qcc_router_restore_key_rejected(struct qcc_router *r, uint32_t idx, struct qcc_err *err) {
  if (idx >= r->n_eps) return qcc_err_set(err, ENOENT, "no endpoint with index %u", idx);
  r->eps[idx].lv.key_rejected = true;
  return 0;
}

int qcc_router_restore_rest(struct qcc_router *r, uint32_t idx, uint64_t until,
                            bool spend_exhausted, struct qcc_err *err) {
  if (idx >= r->n_eps) return qcc_err_set(err, ENOENT, "no endpoint with index %u", idx);
  if (until <= r->eps[idx].lv.rest_until) return 0;
  r->eps[idx].lv.rest_until = until;
  r->eps[idx].lv.rest_spend = spend_exhausted;
  return 0;
}

int qcc_router_budget_rest(struct qcc_router *r, uint32_t idx, uint64_t until, uint64_t now,
                           const char *why, struct qcc_err *err) {
  if (idx >= r->n_eps) return qcc_err_set(err, ENOENT, "no endpoint with index %u", idx);
  struct ep *e = &r->eps[idx];
  if (until <= now) {
    if (!e->lv.rest_budget) return 0;
    bool resting = e->lv.rest_until > now;
    e->lv.rest_until = 0;
    e->lv.rest_budget = e->lv.rest_hard = false;
    if (resting) rt_ready(r);
    return 0;
  }
  if (e->lv.rest_budget && e->lv.rest_until == until) return 0; /* already said */
  e->lv.rest_until = until;
  e->lv.rest_spend = false;
  e->lv.rest_budget = true;
  e->lv.rest_hard = true; /* no rest probe: the answer would be billed */
  rt_emit(r, QCC_EV_REST, e, NULL, "available", "resting", now, "%s", why);
  return 0;
}

int qcc_router_restore_pin(struct qcc_router *r, const char *profile, const char *reason,
                           struct qcc_err *err) {
  bool found = false;
  for (uint32_t i = 0; i < r->n_profs && !found; i++) found = strcmp(r->profs[i].name, profile) == 0;
  if (!found) return qcc_err_set(err, ENOENT, "no profile named '%s'", profile);
  if (strlen(profile) >= sizeof r->pin_name)
    return qcc_err_set(err, ENAMETOOLONG, "profile name too long to pin");
  r->pinned = true;
  snprintf(r->pin_name, sizeof r->pin_name, "%s", profile);
  snprintf(r->pin_reason, sizeof r->pin_reason, "%s", reason && reason[0] ? reason : "operator");
  return 0;
}

int qcc_router_restore_active(struct qcc_router *r, const char *profile, uint64_t now,
                              struct qcc_err *err) {
  for (uint32_t i = 0; i < r->n_rungs; i++) {
    if (strcmp(r->profs[r->ladder[i].profile].name, profile) != 0) continue;
    /* as after a switch: higher rungs must prove themselves for a cooldown */
    for (uint32_t k = 0; k < r->n_rungs; k++) r->ladder[k].up = false;
    r->active = i;
    r->active_since = now;
    r->fail_streak = 0;
    return 0;
  }
  return qcc_err_set(err, ENOENT, "profile '%s' is not on the ladder", profile);
}

uint64_t qcc_router_stable_id(const struct qcc_router *r, uint32_t idx) {
  return idx < r->n_eps ? r->eps[idx].stable_id : 0;
}
