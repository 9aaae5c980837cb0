/* Inside the admin API (runtime/adminapi.h is its public interface): the
 * helpers and handlers its files share. Nothing outside runtime/adminapi*.c
 * includes this.
 *
 *   adminapi.c          JSON and time helpers, endpoint lookup and the
 *                       endpoint object, the route tables
 *   adminapi_status.c   GET /healthz, /status, /health, /endpoints
 *   adminapi_metrics.c  GET /metrics (Prometheus text)
 *   adminapi_control.c  enable/disable, probes, priority, switch, history
 *   adminapi_queue.c    the failure queue and dead letters */
#ifndef QCC_RUNTIME_ADMINAPI_INT_H
#define QCC_RUNTIME_ADMINAPI_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "adminapi.h"

struct qcc_table;
struct qcc_route_snapshot;

/* adminapi.c */
uint64_t api_now_of(const struct qcc_admin_ctx *c);
json_t *api_iso_wall(int64_t ms);
json_t *api_iso_mono(const struct qcc_admin_ctx *c, uint64_t t);
json_t *api_str_or_null(const char *s);
json_t *api_jstr(const char *s);
const struct qcc_table *api_table_of(const struct qcc_admin_ctx *c);
int64_t api_find_endpoint(const struct qcc_admin_ctx *c, const char *id, uint64_t now);
int64_t api_find_stable(const struct qcc_admin_ctx *c, uint64_t stable_id, uint64_t now);
void api_spending_json(const struct qcc_admin_ctx *c, const struct qcc_table *t, uint32_t i,
                       json_t *o);
json_t *api_endpoint_json(const struct qcc_admin_ctx *c, const struct qcc_table *t, uint32_t i,
                          const struct qcc_route_snapshot *s, uint64_t now);
void api_reply_oom(struct qcc_admin_req *req);
bool api_body_reason(struct qcc_admin_req *req, char *out, size_t cap);
void api_journal_action(const struct qcc_admin_ctx *c, const char *action, const char *target,
                        const char *reason);

/* adminapi_status.c */
void api_h_healthz(struct qcc_admin_req *req, void *arg);
void api_h_status(struct qcc_admin_req *req, void *arg);
void api_h_health(struct qcc_admin_req *req, void *arg);
void api_h_endpoints(struct qcc_admin_req *req, void *arg);

/* adminapi_metrics.c */
void api_h_metrics(struct qcc_admin_req *req, void *arg);

/* adminapi_control.c */
void api_h_enable(struct qcc_admin_req *req, void *arg);
void api_h_disable(struct qcc_admin_req *req, void *arg);
void api_h_test(struct qcc_admin_req *req, void *arg);
void api_h_check(struct qcc_admin_req *req, void *arg);
void api_h_priority(struct qcc_admin_req *req, void *arg);
void api_h_switch(struct qcc_admin_req *req, void *arg);
void api_h_history(struct qcc_admin_req *req, void *arg);

/* adminapi_queue.c */
void api_h_queue(struct qcc_admin_req *req, void *arg);
void api_h_deadletters(struct qcc_admin_req *req, void *arg);
void api_h_retry(struct qcc_admin_req *req, void *arg);
void api_h_retry_all(struct qcc_admin_req *req, void *arg);
void api_h_clear(struct qcc_admin_req *req, void *arg);
void api_h_drop(struct qcc_admin_req *req, void *arg);

#endif
