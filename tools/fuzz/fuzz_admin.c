/* Fuzz target: the admin socket (runtime/admin.c: http_parser callbacks,
 * percent-decoding, route matching, query parsing) and the handlers behind
 * it (runtime/adminapi*.c: path parameters, query values, JSON bodies).
 *
 * The input is what a client sends on one admin connection. A real admin
 * server listens in a private state directory on a private loop; each input
 * connects, is sent in one piece or (for half the inputs) in two, and for
 * half the inputs the client then closes its write side. The context has a
 * router over a small in-memory table, a metrics registry, an empty failure
 * queue and a fake endpoint probe that answers at once or on the next loop
 * turn (so a reply can outlive its client); no dead-letter store, no replay
 * (those routes answer 503). The router is rebuilt for every input so that
 * operator commands (disable, switch) do not leak into the next one. */
#include <errno.h>
#include <ev.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "compiler/config.h"
#include "compiler/layout.h"
#include "runtime/admin.h"
#include "runtime/adminapi.h"
#include "runtime/generation.h"
#include "runtime/metrics.h"
#include "runtime/queue.h"
#include "runtime/router.h"
#include "sockpump.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ROUNDS 4000 /* loop turns per phase: bounds the run */
#define IDLE_ROUNDS 4   /* turns without I/O before the phase is over */
#define MAX_PROBES 8    /* deferred probes in flight */

struct probe {
  qcc_admin_probe_done done;
  void *arg;
  uint32_t idx;
};

struct harness {
  struct ev_loop *loop;
  char dir[64];
  struct qcc_layout *layout;
  struct qcc_table *table;
  struct qcc_generation gen;
  struct qcc_metrics *metrics;
  struct qcc_queue *queue;
  struct qcc_admin_ctx ctx;
  const struct qcc_admin_route *routes;
  size_t route_count;
  struct qcc_admin *admin;
  bool defer_probes;           /* this input's probes answer on the next turn */
  struct probe probes[MAX_PROBES];
  size_t nprobes;
  ev_timer probe_timer;
  struct qcc_fuzz_pump pump; /* the socket we drive, and the reply seen */
};

static struct harness H;

static struct qcc_generation *current(void *arg) {
  struct harness *h = arg;
  return &h->gen;
}

static void probe_answer(const struct probe *p) {
  /* Odd endpoints fail, with a detail, so both result shapes are built. */
  struct qcc_admin_probe res = {.ok = p->idx % 2 == 0, .http_status = p->idx % 2 == 0 ? 200 : 401,
                                .latency_ms = 12};
  snprintf(res.detail, sizeof res.detail, "%s", res.ok ? "ok" : "invalid x-api-key");
  p->done(p->arg, &res);
}

static void flush_probes(void) {
  /* Pop before calling: done() replies, and a reply may run handlers' code. */
  while (H.nprobes > 0) {
    struct probe p = H.probes[--H.nprobes];
    probe_answer(&p);
  }
}

static void probe_timer_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  (void)loop;
  (void)w;
  (void)revents;
  flush_probes();
}

static int test_endpoint(struct qcc_admin_ctx *ctx, uint32_t idx, qcc_admin_probe_done done,
                         void *arg) {
  (void)ctx;
  struct probe p = {.done = done, .arg = arg, .idx = idx};
  if (!H.defer_probes) {
    probe_answer(&p);
    return 0;
  }
  if (H.nprobes == MAX_PROBES) return -1;
  H.probes[H.nprobes++] = p;
  if (!ev_is_active(&H.probe_timer)) {
    ev_timer_set(&H.probe_timer, 0., 0.);
    ev_timer_start(H.loop, &H.probe_timer);
  }
  return 0;
}

/* Two profiles, three endpoints, no keys: the table the handlers report on. */
static int build_table(void) {
  struct qcc_endpoint_cfg main_eps[] = {
      {.id = "prod-1", .base_url = "https://api.example.com", .key = {.kind = QCC_KEY_NONE,
       .value = ""}, .auth = QCC_AUTH_X_API_KEY, .weight = 100, .priority = 1,
       .max_failures = 3, .timeout_ms = 2000, .enabled = true},
      {.id = "prod-2", .base_url = "https://user:pw@api2.example.com/v", .key = {.kind =
       QCC_KEY_NONE, .value = ""}, .auth = QCC_AUTH_BEARER, .weight = 50, .priority = 2,
       .max_failures = 3, .timeout_ms = 2000, .enabled = true},
  };
  struct qcc_endpoint_cfg backup_eps[] = {
      {.id = "backup-1", .base_url = "http://127.0.0.1:9", .key = {.kind = QCC_KEY_NONE,
       .value = ""}, .auth = QCC_AUTH_X_API_KEY, .weight = 100, .priority = 1,
       .max_failures = 3, .timeout_ms = 2000, .enabled = true},
  };
  struct qcc_profile_cfg profs[] = {
      {.name = "main", .description = "", .group = QCC_GROUP_PRIMARY, .enabled = true,
       .lb_strategy = QCC_LB_WEIGHTED, .health_aware = true, .endpoints = main_eps,
       .endpoint_count = 2},
      {.name = "backup", .description = "", .group = QCC_GROUP_SECONDARY, .enabled = true,
       .lb_strategy = QCC_LB_FAILOVER, .health_aware = true, .endpoints = backup_eps,
       .endpoint_count = 1},
  };
  struct qcc_config cfg = {
      .version = 1,
      .settings =
          {
              .host = "127.0.0.1",
              .port = 7860,
              .tls_cert = "",
              .tls_key = "",
              .log_level = QCC_LOG_ERROR,
              .max_connections = 1000,
              .max_header_bytes = 65536,
              .max_body_bytes = 1 << 20,
              .header_timeout_ms = 10000,
              .idle_timeout_ms = 60000,
              .drain_timeout_ms = 5000,
              .health_enabled = true,
              .check_interval_ms = 60000,
              .health_timeout_ms = 10000,
              .retry_count = 3,
              .alert_threshold = 3,
              .auto_switch = true,
              .auto_recovery = true,
              .queue_enabled = true,
              .queue_max_size = 1000,
              .max_retries = 5,
              .max_wait_ms = 120000,
              .switch_threshold = 3,
              .cooldown_ms = 300000,
          },
      .profiles = profs,
      .profile_count = 2,
  };
  struct qcc_layout_opts lo = {.generation = 3, .build_time = 1700000000};
  struct qcc_err err = {0};
  if (qcc_layout_new(&cfg, &lo, &H.layout, &err) != 0) {
    fprintf(stderr, "fuzz_admin: layout: %s\n", err.msg);
    return -1;
  }
  size_t len = 0;
  const void *img = qcc_layout_bytes(H.layout, &len);
  struct qcc_table_error terr;
  if (qcc_table_open_buffer(img, len, &H.table, &terr) != 0) {
    fprintf(stderr, "fuzz_admin: table: %s\n", terr.message);
    return -1;
  }
  H.gen = (struct qcc_generation){.table = H.table, .number = 3, .refs = 1};
  return 0;
}

static int open_admin(void) {
  struct qcc_err err = {0};
  if (qcc_admin_open(H.loop, H.dir, H.routes, H.route_count, &H.ctx, &H.admin, &err) != 0) {
    fprintf(stderr, "fuzz_admin: %s\n", err.msg);
    return -1;
  }
  return 0;
}

static void cleanup(void) {
  /* Leave no socket or directory behind (the replay run returns from main). */
  qcc_admin_close(&H.admin);
  rmdir(H.dir);
}

static int setup(void) {
  snprintf(H.dir, sizeof H.dir, "/tmp/qcc-fuzz-admin-XXXXXX");
  if (mkdtemp(H.dir) == NULL) return -1;
  H.loop = ev_loop_new(EVFLAG_AUTO);
  H.pump = (struct qcc_fuzz_pump){.loop = H.loop, .max_rounds = MAX_ROUNDS, .idle_rounds = IDLE_ROUNDS};
  if (H.loop == NULL || build_table() != 0) return -1;
  struct qcc_err err = {0};
  struct qcc_queue_params qp;
  qcc_queue_params_default(&qp);
  if (qcc_metrics_new(&H.metrics, &err) != 0 || qcc_queue_new(&qp, &H.queue, &err) != 0) {
    fprintf(stderr, "fuzz_admin: setup: %s\n", err.msg);
    return -1;
  }
  qcc_metrics_request(H.metrics, "prod-1", 200, 420, 180, false);
  qcc_metrics_request(H.metrics, NULL, 400, 1, -1, true);
  qcc_metrics_reload(H.metrics, true, H.gen.number, 1700000000000, NULL);
  ev_init(&H.probe_timer, probe_timer_cb);
  H.ctx = (struct qcc_admin_ctx){
      .current = current,
      .current_arg = &H,
      .table_path = "/srv/qcc/table.bin",
      .state_dir = H.dir,
      .version = "0.1.0-fuzz",
      .started_wall_ms = 1700000000000,
      .metrics = H.metrics,
      .queue = H.queue,
      .test_endpoint = test_endpoint,
      .user = &H,
  };
  H.routes = qcc_adminapi_routes(&H.route_count);
  if (open_admin() != 0) return -1;
  atexit(cleanup);
  return 0;
}

static int connect_admin(void) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof sa.sun_path, "%s", qcc_admin_path(H.admin));
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static int ready;
  static bool verbose;
  if (ready == 0) {
    ready = setup() == 0 ? 1 : -1;
    verbose = getenv("QCC_FUZZ_VERBOSE") != NULL;
  }
  if (ready < 0) abort();

  struct qcc_err err = {0};
  struct qcc_router *r = NULL;
  if (qcc_router_new(NULL, &r, &err) != 0) return 0;
  if (qcc_router_attach(r, H.table, 1000, &err) != 0) {
    qcc_router_free(&r);
    return 0;
  }
  H.ctx.router = r;
  uint64_t h = qcc_fuzz_hash(data, size);
  H.defer_probes = (h & 4) != 0;
  qcc_fuzz_pump_reset(&H.pump);
  int fd = connect_admin();
  if (fd < 0) {
    qcc_router_free(&r);
    return 0;
  }
  size_t split = size;
  if ((h & 1) && size > 1) split = 1 + (size_t)((h >> 8) % (size - 1));
  bool ok = qcc_fuzz_pump_run(&H.pump, fd, data, split);
  if (ok) ok = qcc_fuzz_pump_run(&H.pump, fd, data + split, size - split);
  if (ok && (h & 2)) {
    shutdown(fd, SHUT_WR);
    ok = qcc_fuzz_pump_run(&H.pump, fd, NULL, 0);
    /* Answered or abandoned: either way the server side must be gone. */
    if (ok && qcc_admin_connections(H.admin) != 0) __builtin_trap();
  }
  qcc_fuzz_pump_check_reply(&H.pump, data, size, verbose);
  close(fd);
  /* Probes still owed answer now (their client may be gone: orphans). */
  flush_probes();
  ev_timer_stop(H.loop, &H.probe_timer);
  for (int i = 0; i < MAX_ROUNDS && qcc_admin_connections(H.admin) > 0; i++)
    ev_run(H.loop, EVRUN_NOWAIT);
  if (qcc_admin_connections(H.admin) != 0) {
    /* A connection that outlives its client: start clean for the next input. */
    qcc_admin_close(&H.admin);
    if (open_admin() != 0) abort();
  }
  H.ctx.router = NULL;
  qcc_router_free(&r);
  return 0;
}
