#include "frontend.h"

#include <stddef.h>

#include "check.h"
#include "load.h"
#include "resolve.h"

int qcc_frontend_run(const char *path, const struct qcc_frontend_opts *opts,
                     struct qcc_config **out, struct qcc_diags *d, bool *io_error) {
  static const struct qcc_frontend_opts defaults = {false, false};
  struct qcc_loaded l;
  size_t before = qcc_diags_errors(d);
  if (opts == NULL) opts = &defaults;
  *out = NULL;
  qcc_load(path, &l, d);
  if (io_error != NULL) *io_error = l.io_error;
  /* After a syntax error or an unreadable root file there is nothing sound
   * to resolve; every other load error leaves a usable partial config, so
   * the later phases still run and report everything in one go. */
  if (!l.fatal) {
    qcc_resolve(&l, d);
    qcc_check(&l, opts, d);
  }
  if (opts->strict) qcc_diags_promote_warnings(d);
  if (qcc_diags_errors(d) > before) {
    qcc_loaded_release(&l);
    return -1;
  }
  *out = l.cfg;
  l.cfg = NULL;
  qcc_loaded_release(&l);
  return 0;
}
