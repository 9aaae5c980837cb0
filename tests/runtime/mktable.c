/* qcc-test-mktable: writes a small valid table for the runtime tests without
 * going through YAML, so the tests control every limit exactly.
 *   qcc-test-mktable OUT [--gen N] [--token-env NAME] [--max-header N]
 *       [--max-body N] [--header-timeout-ms N] [--idle-timeout-ms N]
 *       [--max-connections N] [--drain-timeout-ms N] [--access-log 0|1] [--upstream URL]
 * The table is written atomically (temp file + rename), like qccc build. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/config.h"
#include "compiler/layout.h"
#include "compiler/tablefile.h"

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: qcc-test-mktable OUT [options]\n");
    return 2;
  }
  const char *out = argv[1];
  uint64_t gen = 1;
  struct qcc_endpoint_cfg ep = {
      .id = "ep-1",
      .base_url = "http://127.0.0.1:9",
      .key = {.kind = QCC_KEY_NONE, .value = ""},
      .auth = QCC_AUTH_X_API_KEY,
      .weight = 100,
      .priority = 1,
      .max_failures = 3,
      .timeout_ms = 2000,
      .connect_timeout_ms = 5000,
      .request_timeout_ms = 600000,
      .stream_idle_timeout_ms = 90000,
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
  struct qcc_token_cfg tok = {.name = "test", .key = {.kind = QCC_KEY_ENV}};
  struct qcc_config cfg = {
      .version = 1,
      .settings =
          {
              .host = "127.0.0.1",
              .port = 7860,
              .tls_cert = "",
              .tls_key = "",
              .log_level = QCC_LOG_INFO,
              .access_log = true,
              .max_connections = 1000,
              .max_header_bytes = 64 * 1024,
              .max_body_bytes = 32ull * 1024 * 1024,
              .header_timeout_ms = 10000,
              .idle_timeout_ms = 60000,
              .drain_timeout_ms = 5000,
              .health_enabled = false,
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
  };
  for (int i = 2; i + 1 < argc; i += 2) {
    const char *k = argv[i], *v = argv[i + 1];
    unsigned long long n = strtoull(v, NULL, 10);
    if (strcmp(k, "--gen") == 0) gen = n;
    else if (strcmp(k, "--token-env") == 0) {
      tok.key.value = (char *)v;
      cfg.tokens = &tok;
      cfg.token_count = 1;
    } else if (strcmp(k, "--max-header") == 0) cfg.settings.max_header_bytes = (uint32_t)n;
    else if (strcmp(k, "--max-body") == 0) cfg.settings.max_body_bytes = n;
    else if (strcmp(k, "--header-timeout-ms") == 0) cfg.settings.header_timeout_ms = (uint32_t)n;
    else if (strcmp(k, "--idle-timeout-ms") == 0) cfg.settings.idle_timeout_ms = (uint32_t)n;
    else if (strcmp(k, "--drain-timeout-ms") == 0) cfg.settings.drain_timeout_ms = (uint32_t)n;
    else if (strcmp(k, "--max-connections") == 0) cfg.settings.max_connections = (uint32_t)n;
    else if (strcmp(k, "--access-log") == 0) cfg.settings.access_log = n != 0;
    else if (strcmp(k, "--upstream") == 0) ep.base_url = (char *)v;
    else {
      fprintf(stderr, "qcc-test-mktable: unknown option %s\n", k);
      return 2;
    }
  }
  struct qcc_layout_opts lo = {.generation = gen, .build_time = 1700000000};
  struct qcc_layout *l = NULL;
  struct qcc_err err = {0};
  if (qcc_layout_new(&cfg, &lo, &l, &err) != 0) {
    fprintf(stderr, "qcc-test-mktable: %s\n", err.msg);
    return 1;
  }
  size_t len = 0;
  const void *img = qcc_layout_bytes(l, &len);
  int rc = qcc_tablefile_write(out, img, len, &err);
  if (rc != 0) fprintf(stderr, "qcc-test-mktable: %s\n", err.msg);
  qcc_layout_free(&l);
  return rc == 0 ? 0 : 1;
}
