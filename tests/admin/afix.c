#include "afix.h"

#include <criterion/criterion.h>
#include <ev.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "compiler/opcmd.h"
#include "runtime/deadletters.h"
#include "runtime/metrics.h"
#include "runtime/queue.h"

/* The router's clock: monotonic, offset so that "started an hour ago"
 * does not go below zero on a freshly booted machine. */
static uint64_t mono(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u + 100000000u;
}

static struct qcc_generation *current(void *arg) { return &((struct afix *)arg)->gen; }

static void counters(void *arg, struct qcc_admin_counters *out) {
  (void)arg;
  *out = (struct qcc_admin_counters){.active_connections = 3, .active_requests = 2,
                                     .waiting_requests = 1, .rejected_requests = 7};
}

/* A probe answers 20 ms later on the loop, like a real one would. */
struct pending_probe {
  ev_timer t;
  struct qcc_admin_probe res;
  qcc_admin_probe_done done;
  void *arg;
};

static void probe_fire(struct ev_loop *loop, ev_timer *w, int revents) {
  (void)loop;
  (void)revents;
  struct pending_probe *p = (struct pending_probe *)w;
  p->done(p->arg, &p->res);
  free(p);
}

static int test_endpoint(struct qcc_admin_ctx *ctx, uint32_t idx, qcc_admin_probe_done done,
                         void *arg) {
  struct afix *f = ctx->user;
  struct qcc_route_snapshot s;
  if (qcc_router_snapshot(ctx->router, idx, mono(), &s) != 0) return -1;
  struct pending_probe *p = calloc(1, sizeof *p);
  if (p == NULL) return -1;
  bool bad = strncmp(s.id, "bad", 3) == 0;
  p->res.ok = !bad;
  p->res.http_status = bad ? 401 : 200;
  p->res.latency_ms = 42;
  snprintf(p->res.detail, sizeof p->res.detail, "%s", bad ? "authentication_error" : "models: 3");
  p->done = done;
  p->arg = arg;
  ev_timer_init(&p->t, probe_fire, 0.02, 0);
  ev_timer_start(f->loop, &p->t);
  f->probes++;
  return 0;
}

/* Replays answer at once (the synchronous path of the contract). */
static int replay(struct qcc_admin_ctx *ctx, const char *id, qcc_admin_replay_done done,
                  void *arg) {
  struct qcc_err err = {0};
  static const char body[] = "{\"type\":\"message\"}";
  if (qcc_deadletters_set_replay(ctx->deadletters, id, 200, body, sizeof body - 1, 1700000000000,
                                 &err) != 0)
    return -1;
  done(arg, 200, "replayed");
  return 0;
}

static void stop_cb(struct ev_loop *loop, ev_async *w, int revents) {
  (void)w;
  (void)revents;
  ev_break(loop, EVBREAK_ALL);
}

static void *run(void *arg) {
  struct afix *f = arg;
  ev_run(f->loop, 0);
  qcc_admin_close(&f->admin);
  return NULL;
}

static void add_deadletter(struct afix *f, int i, const char *target) {
  struct qcc_header h[2] = {{"x-api-key", 9, AFIX_SECRET, strlen(AFIX_SECRET)},
                            {"anthropic-version", 17, "2023-06-01", 10}};
  struct qcc_queue_attempt tried[2] = {{"prod-1", 503, "HTTP 503"}, {"prod-2", 0, "timeout"}};
  struct qcc_deadletter_in in = {.id = 0x1000 + (uint64_t)i,
                                 .time_ms = 1700000000000 + i,
                                 .method = "POST",
                                 .target = target,
                                 .priority = 5,
                                 .headers = h,
                                 .header_count = 2,
                                 .tried = tried,
                                 .tried_count = 2,
                                 .attempts = 3,
                                 .reason = "every endpoint failed",
                                 .body = "{\"model\":\"x\"}",
                                 .body_len = 13};
  const char *id = NULL;
  struct qcc_err err = {0};
  cr_assert_eq(qcc_deadletters_add(f->dl, &in, &id, &err), 0, "%s", err.msg);
  cr_assert_not_null(id);
  snprintf(f->dl_id[i], sizeof f->dl_id[i], "%s", id);
}

void afix_start(struct afix *f, const struct afix_opts *o) {
  struct afix_opts none = {0};
  if (o == NULL) o = &none;
  memset(f, 0, sizeof *f);
  snprintf(f->dir, sizeof f->dir, "/tmp/qcc-admin-XXXXXX");
  cr_assert_not_null(mkdtemp(f->dir));
  snprintf(f->sock, sizeof f->sock, "%s/admin.sock", f->dir);
  setenv("ROUTING_TEST_KEY", AFIX_SECRET, 1);

  struct rfix_cfg cfg = {
      .auto_switch = true, .auto_recovery = true, .health_enabled = true,
      .switch_threshold = 3, .cooldown_ms = 300000, .n = 2,
      .profs = {{.name = "main", .group = QCC_GROUP_PRIMARY, .lb = QCC_LB_WEIGHTED, .n = 2,
                 .eps = {{.id = "prod-1", .weight = 100, .priority = 1},
                         {.id = "prod-2", .weight = 50, .priority = 2,
                          .url = "https://user:" AFIX_URL_PASSWORD "@prod-2.example.com/v"}}},
                {.name = "backup", .group = QCC_GROUP_SECONDARY, .lb = QCC_LB_FAILOVER, .n = 2,
                 .eps = {{.id = "backup-1"}, {.id = "bad-1"}}}}};
  uint64_t now = mono();
  rfix_init(&f->rf, &cfg, NULL, now);
  f->gen.table = f->rf.t;
  f->gen.number = qcc_table_header(f->rf.t)->generation;
  f->gen.refs = 1;

  struct qcc_err err = {0};
  cr_assert_eq(qcc_metrics_new(&f->metrics, &err), 0);
  qcc_metrics_request(f->metrics, "prod-1", 200, 420, 180, false);
  qcc_metrics_request(f->metrics, "prod-1", 529, 30, 25, true);
  qcc_metrics_request(f->metrics, NULL, 400, 1, -1, true);
  qcc_metrics_retry(f->metrics, "prod-2");
  qcc_metrics_reload(f->metrics, true, f->gen.number, 1700000000000, NULL);

  if (!o->no_queue) {
    struct qcc_queue_params qp;
    qcc_queue_params_default(&qp);
    cr_assert_eq(qcc_queue_new(&qp, &f->queue, &err), 0, "%s", err.msg);
    static int handle_a, handle_b;
    cr_assert_eq(qcc_queue_push(f->queue, &handle_a, 7, now, NULL, NULL), QCC_QUEUE_PUSHED);
    cr_assert_eq(qcc_queue_push(f->queue, &handle_b, 3, now, NULL, NULL), QCC_QUEUE_PUSHED);
    struct qcc_deadletters_params dp;
    qcc_deadletters_params_default(&dp);
    dp.state_dir = f->dir;
    dp.persist_bodies = true;
    cr_assert_eq(qcc_deadletters_open(&dp, &f->dl, &err), 0, "%s", err.msg);
    add_deadletter(f, 0, "/v1/messages");
    add_deadletter(f, 1, "/v1/messages?beta=true");
  }

  f->ctx = (struct qcc_admin_ctx){
      .router = f->rf.r,
      .now_ms = mono,
      .current = current,
      .current_arg = f,
      .table_path = "/srv/qcc/table.bin",
      .state_dir = f->dir,
      .version = "0.1.0-test",
      .started_wall_ms = 1700000000000,
      .started_mono_ms = now - 3723000, /* up 1h 02m 03s */
      .metrics = f->metrics,
      .counters = counters,
      .queue = f->queue,
      .deadletters = f->dl,
      .test_endpoint = o->no_probe ? NULL : test_endpoint,
      .replay = o->no_probe ? NULL : replay,
      .user = f,
  };
  f->loop = ev_loop_new(EVFLAG_AUTO);
  cr_assert_not_null(f->loop);
  size_t n = 0;
  const struct qcc_admin_route *rt = qcc_adminapi_routes(&n);
  cr_assert_eq(qcc_admin_open(f->loop, f->dir, rt, n, &f->ctx, &f->admin, &err), 0, "%s",
               err.msg);
  ev_async *stop = calloc(1, sizeof *stop);
  cr_assert_not_null(stop);
  ev_async_init(stop, stop_cb);
  ev_async_start(f->loop, stop);
  f->stop = stop;
  cr_assert_eq(pthread_create(&f->thread, NULL, run, f), 0);
}

void afix_stop(struct afix *f) {
  ev_async_send(f->loop, f->stop);
  pthread_join(f->thread, NULL);
  cr_assert_null(f->admin);
  ev_async_stop(f->loop, f->stop);
  free(f->stop);
  ev_loop_destroy(f->loop);
  qcc_deadletters_close(&f->dl);
  qcc_queue_free(&f->queue);
  qcc_metrics_free(&f->metrics);
  rfix_done(&f->rf);
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
  cr_assert_eq(system(cmd), 0);
}

struct qcc_admin_reply afix_call(struct afix *f, const char *method, const char *path,
                                 const char *body) {
  struct qcc_admin_reply r;
  struct qcc_err err = {0};
  cr_assert_eq(qcc_admin_call(f->sock, method, path, body, 5000, &r, &err), 0, "%s %s: %s",
               method, path, err.msg);
  return r;
}

json_t *afix_json(struct afix *f, const char *method, const char *path, const char *body,
                  int status) {
  struct qcc_admin_reply r = afix_call(f, method, path, body);
  cr_assert_eq(r.status, status, "%s %s: status %d, want %d: %s", method, path, r.status, status,
               r.body);
  cr_assert_not_null(r.json, "%s %s: not JSON: %s", method, path, r.body);
  cr_assert_null(strstr(r.body, AFIX_SECRET), "%s %s leaks the key", method, path);
  cr_assert_null(strstr(r.body, AFIX_URL_PASSWORD), "%s %s leaks a URL password", method, path);
  json_t *j = json_incref(r.json);
  qcc_admin_reply_free(&r);
  return j;
}

int afix_qccc(struct afix *f, char **out, char **err, const char *first, ...) {
  char *argv[40];
  int argc = 0;
  va_list ap;
  va_start(ap, first);
  for (const char *a = first; a != NULL && argc < 36; a = va_arg(ap, const char *))
    argv[argc++] = (char *)a;
  va_end(ap);
  argv[argc++] = "--state-dir";
  argv[argc++] = f->dir;
  argv[argc] = NULL;
  size_t ol = 0, el = 0;
  FILE *o = open_memstream(out, &ol), *e = open_memstream(err, &el);
  cr_assert(o != NULL && e != NULL);
  int rc = qccc_op_cmd(argc, argv, o, e);
  fclose(o);
  fclose(e);
  cr_assert_null(strstr(*out, AFIX_SECRET), "qccc %s leaks the key", first);
  return rc;
}
