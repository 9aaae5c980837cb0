/* The process-wide state of qcc-run, owned by main: the loop, the table
 * generations, the upstream side, the routing engine, the journal and the
 * active health checks. main fills it once at start and hands a pointer to
 * the pieces that need more than one of them (admin socket, metrics, queue);
 * every field is used from the loop thread only. */
#ifndef QCC_RUNTIME_RUNTIME_H
#define QCC_RUNTIME_RUNTIME_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

struct ev_loop;
struct qcc_tableset;
struct qcc_proxy;
struct qcc_router;
struct qcc_journal;
struct qcc_events;
struct qcc_prober;
struct qcc_accesslog;
struct qcc_server;
struct qcc_metrics;
struct qcc_queue;
struct qcc_deadletters;
struct qcc_limits;
struct qcc_admin;

struct qcc_runtime {
  struct ev_loop *loop;
  struct qcc_tableset *tables;   /* current generation: qcc_tableset_current */
  struct qcc_proxy *proxy;       /* exchanges; routes through `router` */
  struct qcc_router *router;     /* attached to the current table on every swap */
  struct qcc_journal *journal;   /* STATE_DIR/journal.qj, NULL only before open */
  struct qcc_events *events;     /* router events -> journal + log; restore */
  struct qcc_prober *prober;     /* active health checks */
  struct qcc_accesslog *alog;
  struct qcc_server *server;
  struct qcc_metrics *metrics;   /* GET /metrics; fed by client.c, proxy.c, events */
  struct qcc_queue *queue;       /* failure queue (queue.enabled false: max_size 0) */
  struct qcc_deadletters *deadletters; /* STATE_DIR/deadletters */
  struct qcc_limits *limits;     /* global in-flight limit */
  struct qcc_admin *admin;       /* STATE_DIR/admin.sock */
  const char *state_dir;
  const char *table_path;
  bool stopping;
};

/* Monotonic milliseconds: the router's clock. */
static inline uint64_t qcc_runtime_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

#endif
