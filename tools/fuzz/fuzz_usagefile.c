/* Fuzz target: the usage file reader (schema/usage.c), which `qccc usage`
 * and qcc-run's start run over STATE_DIR/usage.qu, and the rollup that
 * rewrites it. Any bytes must scan and decode without a fault or a read
 * outside the buffer; a clean scan must roll up (to /dev/null) without one. */
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "schema/journal.h"
#include "schema/usage.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int each(const struct qcc_jraw *raw, void *ud) {
  struct qcc_usage_rec r;
  struct qcc_err err = {0};
  if (qcc_usage_decode(raw, &r, &err) == 0) {
    const char *s[] = {r.request_id, r.endpoint, r.profile, r.model, r.upstream_model, r.client,
                       r.session};
    for (size_t i = 0; i < sizeof s / sizeof s[0]; i++)
      if (strlen(s[i]) > QCC_USAGE_MAX_TEXT) __builtin_trap();
    (*(uint64_t *)ud)++;
  }
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uint64_t n = 0;
  struct qcc_jscan_result res;
  int rc = qcc_usage_scan(data, size, each, &n, &res);
  if (rc == 0 && res.ok_up_to > size) __builtin_trap();
  if (rc == 0) {
    static int devnull = -1;
    if (devnull < 0) devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
    struct qcc_usage_retention ret = {30, 400};
    struct qcc_usage_fold_stats st;
    struct qcc_err err = {0};
    /* as of a time inside the data's range: some fold, some stay */
    (void)qcc_usage_fold(data, size, INT64_C(1767225600000), &ret, devnull, &st, &err);
  }
  return 0;
}
