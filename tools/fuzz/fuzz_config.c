/* Fuzz target: the config loader (libyaml pass + libcyaml + all checks).
 * Input is written to a temp file because the frontend reads paths (it must
 * also resolve includes relative to the file). Never a crash, and a failed
 * run must have produced at least one error diagnostic. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "compiler/frontend.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (path[0] == '\0') snprintf(path, sizeof path, "/tmp/qcc-fuzz-%ld.yaml", (long)getpid());
  FILE *f = fopen(path, "wb");
  if (f == NULL) return 0;
  fwrite(data, 1, size, f);
  fclose(f);

  struct qcc_diags *d = qcc_diags_new();
  if (d == NULL) return 0;
  struct qcc_config *cfg = NULL;
  bool io_error = false;
  struct qcc_frontend_opts opts = {.strict = (size & 1) != 0};
  int rc = qcc_frontend_run(path, &opts, &cfg, d, &io_error);
  if (rc != 0 && qcc_diags_errors(d) == 0) __builtin_trap();
  if (rc == 0 && cfg == NULL) __builtin_trap();
  FILE *null = fopen("/dev/null", "w");
  if (null != NULL) {
    qcc_diags_print(d, QCC_DIAG_TEXT, null);
    qcc_diags_print(d, QCC_DIAG_JSON, null);
    qcc_diags_print(d, QCC_DIAG_GITHUB, null);
    fclose(null);
  }
  qcc_config_free(&cfg);
  qcc_diags_free(&d);
  unlink(path);
  return 0;
}
