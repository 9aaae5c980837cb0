/* frontend-tool: drive the frontend from the command line for tests and for
 * regenerating the generated files:
 *   frontend-tool validate FILE [--strict] [--check-secrets] [--format text|json|github]
 *   frontend-tool schema-json     > schema/qcc.schema.json
 *   frontend-tool reference-md    > docs/config-reference.md
 * Exit: 0 valid, 1 invalid, 2 usage or I/O. */
#include <stdio.h>
#include <string.h>

#include "compiler/frontend.h"
#include "schema/config_schema.h"

int main(int argc, char **argv) {
  if (argc == 2 && strcmp(argv[1], "schema-json") == 0) {
    return qcc_config_schema_json(stdout) == 0 ? 0 : 2;
  }
  if (argc == 2 && strcmp(argv[1], "reference-md") == 0) {
    return qcc_config_reference_md(stdout) == 0 ? 0 : 2;
  }
  if (argc < 3 || strcmp(argv[1], "validate") != 0) {
    fprintf(stderr, "usage: %s validate FILE [--strict] [--check-secrets] [--format F] | "
                    "schema-json | reference-md\n", argv[0]);
    return 2;
  }
  struct qcc_frontend_opts opts = {false, false};
  enum qcc_diag_format fmt = QCC_DIAG_TEXT;
  for (int i = 3; i < argc; i++) {
    if (strcmp(argv[i], "--strict") == 0) opts.strict = true;
    else if (strcmp(argv[i], "--check-secrets") == 0) opts.check_secrets = true;
    else if (strcmp(argv[i], "--format") == 0 && i + 1 < argc) {
      i++;
      if (strcmp(argv[i], "json") == 0) fmt = QCC_DIAG_JSON;
      else if (strcmp(argv[i], "github") == 0) fmt = QCC_DIAG_GITHUB;
    } else {
      fprintf(stderr, "unknown option %s\n", argv[i]);
      return 2;
    }
  }
  struct qcc_diags *d = qcc_diags_new();
  struct qcc_config *cfg = NULL;
  bool io = false;
  int rc = qcc_frontend_run(argv[2], &opts, &cfg, d, &io);
  qcc_diags_print(d, fmt, stdout);
  if (rc == 0) {
    fprintf(stderr, "ok: %zu profiles\n", cfg->profile_count);
  }
  qcc_config_free(&cfg);
  qcc_diags_free(&d);
  return rc == 0 ? 0 : (io ? 2 : 1);
}
