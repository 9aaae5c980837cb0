/* Admin test fixture: a real admin server on its own libev loop in a
 * thread, over a router attached to an in-memory table (tests/routing's
 * rfix), a real failure queue and dead-letter store, fake probe and replay
 * callbacks, and a metrics registry with some traffic recorded. The test
 * thread talks to it only through the socket. */
#ifndef QCC_TESTS_ADMIN_AFIX_H
#define QCC_TESTS_ADMIN_AFIX_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>

#include "compiler/adminclient.h"
#include "runtime/admin.h"
#include "runtime/adminapi.h"
#include "runtime/generation.h"
#include "tests/routing/rfix.h"

/* What the fake table's keys resolve to: must never be in any reply. */
#define AFIX_SECRET "sk-ant-afix.SECRET-0123456789"
#define AFIX_URL_PASSWORD "hunter2pw"

struct afix_opts {
  bool no_queue;   /* ctx.queue / ctx.deadletters NULL */
  bool no_probe;   /* ctx.test_endpoint / ctx.replay NULL */
};

struct afix {
  char dir[256];          /* state dir (mkdtemp) */
  char sock[512];
  struct rfix rf;
  struct qcc_generation gen;
  struct qcc_admin_ctx ctx;
  struct qcc_metrics *metrics;
  struct qcc_queue *queue;
  struct qcc_deadletters *dl;
  struct ev_loop *loop;
  struct qcc_admin *admin;
  void *stop;             /* ev_async */
  pthread_t thread;
  int probes;             /* probes started (loop thread) */
  char dl_id[2][32];      /* ids of the two dead letters added */
};

/* Build everything and start the loop thread. Endpoints: profile "main"
 * (primary): prod-1, prod-2; profile "backup" (secondary): backup-1,
 * bad-1 (its probe fails). */
void afix_start(struct afix *f, const struct afix_opts *o);
void afix_stop(struct afix *f);

/* One call; asserts the transport worked. */
struct qcc_admin_reply afix_call(struct afix *f, const char *method, const char *path,
                                 const char *body);
/* The same, asserting STATUS and a JSON body; returns the JSON (caller decrefs). */
json_t *afix_json(struct afix *f, const char *method, const char *path, const char *body,
                  int status);

/* Run qccc_op_cmd with the fixture's --state-dir added; output in *out and *err (free them). */
int afix_qccc(struct afix *f, char **out, char **err, const char *first, ...);

#endif
