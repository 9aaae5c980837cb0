/* Fuzz target: qcc-run's inbound HTTP/1.1 connection (runtime/client.c) as a
 * whole: http_parser callbacks, limits, path normalisation (reqpath.c) and
 * routing, client tokens checked at the end of the head, the error replies,
 * pipelining, Expect: 100-continue, linger and EOF handling.
 *
 * The input is what a client sends on one connection. It goes through a
 * socketpair to a real struct qcc_client on a private loop, in one piece or
 * (for half the inputs) in two, with a graceful drain between the parts for
 * half of those, and for half the inputs the client then closes its write
 * side. The table's one endpoint takes its key from an
 * environment variable that is never set, so a /v1/ request reaches the
 * upstream side (session key, selection) and ends in a 503 without any
 * network I/O. Every loop is bounded. */
#include <errno.h>
#include <ev.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "compiler/config.h"
#include "compiler/layout.h"
#include "compiler/tablefile.h"
#include "runtime/accesslog.h"
#include "runtime/client.h"
#include "runtime/exchange.h"
#include "runtime/log.h"
#include "runtime/tableset.h"
#include "sockpump.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The client token the seeds use ("x-api-key: fuzz-client-token"). */
#define TOKEN_ENV "QCC_FUZZ_HTTP_TOKEN"
#define TOKEN_VALUE "fuzz-client-token"
#define UNSET_KEY_ENV "QCC_FUZZ_HTTP_UNSET_KEY"
#define MAX_ROUNDS 10000 /* loop turns per phase: bounds the run (about 3 per request) */
#define IDLE_ROUNDS 4   /* turns without I/O before the phase is over (0-delay timers chain) */

struct harness {
  struct ev_loop *loop;
  struct qcc_tableset *tables;
  struct qcc_proxy *proxy;
  struct qcc_accesslog *alog;
  struct qcc_client_env env;
  bool closed;      /* the client closed itself (env.closed ran) */
  struct qcc_fuzz_pump pump; /* the socket we drive, and the reply seen */
};

static struct harness H;

static void on_closed(void *ctx, struct qcc_client *c) {
  (void)c;
  struct harness *h = ctx;
  h->closed = true; /* freed by the input's end, as the server's owner would */
}

/* The table: small limits so the 413/431 seeds stay small. */
static int write_table(const char *path) {
  struct qcc_endpoint_cfg ep = {
      .id = "ep-1",
      .base_url = "http://127.0.0.1:9",
      /* never set: no endpoint can be picked, so no network I/O */
      .key = {.kind = QCC_KEY_ENV, .value = UNSET_KEY_ENV},
      .auth = QCC_AUTH_X_API_KEY,
      .weight = 100,
      .priority = 1,
      .max_failures = 3,
      .timeout_ms = 2000,
      .enabled = true,
  };
  struct qcc_profile_cfg prof = {
      .name = "main",
      .description = "",
      .group = QCC_GROUP_PRIMARY,
      .enabled = true,
      .lb_strategy = QCC_LB_WEIGHTED,
      .health_aware = true,
      .endpoints = &ep,
      .endpoint_count = 1,
  };
  struct qcc_token_cfg tok = {.name = "fuzz", .key = {.kind = QCC_KEY_ENV, .value = TOKEN_ENV}};
  struct qcc_config cfg = {
      .version = 1,
      .settings =
          {
              .host = "127.0.0.1",
              .port = 7860,
              .tls_cert = "",
              .tls_key = "",
              .log_level = QCC_LOG_ERROR,
              .access_log = true,
              .max_connections = 1000,
              .max_header_bytes = 8192,
              .max_body_bytes = 65536,
              .header_timeout_ms = 10000,
              .idle_timeout_ms = 60000,
              .drain_timeout_ms = 5000,
              .check_interval_ms = 60000,
              .health_timeout_ms = 10000,
              .retry_count = 3,
              .alert_threshold = 3,
              .queue_max_size = 1000,
              .max_retries = 5,
              .max_wait_ms = 120000,
              .switch_threshold = 3,
              .cooldown_ms = 300000,
          },
      .profiles = &prof,
      .profile_count = 1,
      .tokens = &tok,
      .token_count = 1,
  };
  struct qcc_layout_opts lo = {.generation = 7, .build_time = 1700000000};
  struct qcc_layout *l = NULL;
  struct qcc_err err = {0};
  if (qcc_layout_new(&cfg, &lo, &l, &err) != 0) {
    fprintf(stderr, "fuzz_http: layout: %s\n", err.msg);
    return -1;
  }
  size_t len = 0;
  const void *img = qcc_layout_bytes(l, &len);
  int rc = qcc_tablefile_write(path, img, len, &err);
  if (rc != 0) fprintf(stderr, "fuzz_http: %s\n", err.msg);
  qcc_layout_free(&l);
  return rc;
}

static int setup(void) {
  qcc_log_set_level(QCC_LOG_ERROR); /* every /v1/ input would log a 503 warning */
  setenv(TOKEN_ENV, TOKEN_VALUE, 1);
  unsetenv(UNSET_KEY_ENV);
  char dir[] = "/tmp/qcc-fuzz-http-XXXXXX";
  if (mkdtemp(dir) == NULL) return -1;
  char path[sizeof dir + 16];
  snprintf(path, sizeof path, "%s/table.bin", dir);
  struct qcc_err err = {0};
  H.loop = ev_loop_new(EVFLAG_AUTO);
  H.pump = (struct qcc_fuzz_pump){.loop = H.loop, .max_rounds = MAX_ROUNDS, .idle_rounds = IDLE_ROUNDS};
  int rc = H.loop != NULL ? write_table(path) : -1;
  if (rc == 0) rc = qcc_tableset_new(H.loop, path, &H.tables, &err);
  /* The generation keeps its mapping: the file can go now. */
  unlink(path);
  rmdir(dir);
  if (rc == 0) rc = qcc_proxy_new(H.loop, &H.proxy, &err);
  if (rc == 0) rc = qcc_accesslog_open("/dev/null", &H.alog, &err);
  if (rc != 0) {
    fprintf(stderr, "fuzz_http: setup: %s\n", err.msg);
    return -1;
  }
  H.env = (struct qcc_client_env){
      .loop = H.loop,
      .tables = H.tables,
      .proxy = H.proxy,
      .alog = H.alog,
      .closed = on_closed,
      .ctx = &H,
  };
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static int ready;
  static bool verbose;
  if (ready == 0) {
    ready = setup() == 0 ? 1 : -1;
    verbose = getenv("QCC_FUZZ_VERBOSE") != NULL;
  }
  if (ready < 0) abort();

  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0) return 0;
  H.closed = false;
  qcc_fuzz_pump_reset(&H.pump);
  struct qcc_client *c = NULL;
  if (qcc_client_new(&H.env, sv[0], &c) != 0) {
    close(sv[0]);
    close(sv[1]);
    return 0;
  }
  uint64_t h = qcc_fuzz_hash(data, size);
  size_t split = size;
  if ((h & 1) && size > 1) split = 1 + (size_t)((h >> 8) % (size - 1));
  bool ok = qcc_fuzz_pump_run(&H.pump, sv[1], data, split);
  if (ok && (h & 8)) {
    /* A graceful stop arrives between the two parts (SIGTERM in qcc-run). */
    H.env.draining = true;
    if (!H.closed) qcc_client_drain(c);
  }
  if (ok) ok = qcc_fuzz_pump_run(&H.pump, sv[1], data + split, size - split);
  if (ok && (h & 2)) {
    shutdown(sv[1], SHUT_WR);
    ok = qcc_fuzz_pump_run(&H.pump, sv[1], NULL, 0);
    /* Once the peer is gone and everything is answered, the connection must
     * have closed itself: anything else is a connection that never ends. */
    if (ok && !H.closed) __builtin_trap();
  }
  qcc_fuzz_pump_check_reply(&H.pump, data, size, verbose);
  qcc_client_free(&c);
  close(sv[1]);
  H.env.draining = false;
  /* Let the upstream side finish anything the free cancelled. */
  for (int i = 0; i < IDLE_ROUNDS; i++) ev_run(H.loop, EVRUN_NOWAIT);
  if (qcc_proxy_active(H.proxy) != 0) __builtin_trap();
  return 0;
}
