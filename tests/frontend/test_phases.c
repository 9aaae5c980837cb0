/* Each frontend phase on its own: which phase reports which rule, and that
 * later phases see what earlier ones produced. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compiler/check.h"
#include "compiler/load.h"
#include "compiler/resolve.h"
#include "schema/config_schema.h"

static void to_source_root(void) {
  const char *root = getenv("QCC_SOURCE_ROOT");
  cr_assert_not_null(root, "QCC_SOURCE_ROOT is not set (run through meson test)");
  cr_assert_eq(chdir(root), 0);
}

/* Run load, resolve and check; rc and the running error count of each. */
static void phases(const char *path, int rc[3], size_t errors[3]) {
  struct qcc_loaded l;
  struct qcc_diags *d = qcc_diags_new();
  struct qcc_frontend_opts o = {false, false};
  rc[0] = qcc_load(path, &l, d);
  errors[0] = qcc_diags_errors(d);
  rc[1] = qcc_resolve(&l, d);
  errors[1] = qcc_diags_errors(d);
  rc[2] = qcc_check(&l, &o, d);
  errors[2] = qcc_diags_errors(d);
  qcc_loaded_release(&l);
  cr_assert_null(l.cfg, "release clears the config");
  qcc_diags_free(&d);
}

struct expect {
  const char *file;
  int phase; /* 0 load, 1 resolve, 2 check: the only phase that fails */
};

Test(frontend_phases, each_rule_belongs_to_one_phase) {
  to_source_root();
  static const struct expect cases[] = {
      {"tests/configs/bad/002-unknown-key-did-you-mean.yaml", 0},
      {"tests/configs/bad/006-bad-duration.yaml", 0},
      {"tests/configs/bad/022-two-key-sources.yaml", 0},
      {"tests/configs/bad/024-include-missing.yaml", 0},
      {"tests/configs/bad/011-from-missing.yaml", 1},
      {"tests/configs/bad/012-from-cycle.yaml", 1},
      {"tests/configs/bad/013-group-missing-profile.yaml", 1},
      {"tests/configs/bad/014-group-disagrees.yaml", 1},
      {"tests/configs/bad/009-duplicate-profile.yaml", 2},
      {"tests/configs/bad/010-duplicate-endpoint-id.yaml", 2},
      {"tests/configs/bad/015-no-primary-endpoint.yaml", 2},
      {"tests/configs/bad/019-http-non-loopback.yaml", 2},
      {"tests/configs/bad/023-no-key-source.yaml", 2},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    int rc[3];
    size_t errors[3];
    phases(cases[i].file, rc, errors);
    for (int p = 0; p < 3; p++) {
      size_t added = errors[p] - (p == 0 ? 0 : errors[p - 1]);
      if (p == cases[i].phase) {
        cr_assert_eq(rc[p], -1, "%s: phase %d should fail", cases[i].file, p);
        cr_assert_gt(added, 0);
      } else {
        cr_assert_eq(rc[p], 0, "%s: phase %d should pass", cases[i].file, p);
        cr_assert_eq(added, 0);
      }
    }
  }
}

Test(frontend_phases, resolve_applies_groups_before_check) {
  to_source_root();
  struct qcc_loaded l;
  struct qcc_diags *d = qcc_diags_new();
  cr_assert_eq(qcc_load("tests/configs/good/includes.yaml", &l, d), 0);
  cr_assert_eq(l.group_count, 1);
  cr_assert_str_eq(l.groups[0].name, "team-b");
  cr_assert_eq(l.groups[0].group, QCC_GROUP_FALLBACK);
  cr_assert_str_eq(l.groups[0].pos.file, "tests/configs/good/include/team-b.yaml");
  cr_assert_eq(l.cfg->profiles[2].group, QCC_GROUP_PRIMARY, "load keeps the default");
  const struct qcc_endpoint_cfg *a1 = &l.cfg->profiles[1].endpoints[0];
  cr_assert_null(a1->base_url, "from: is not resolved by load");
  cr_assert_eq(a1->set_mask & QCC_EP_SET_FROM, QCC_EP_SET_FROM);
  cr_assert_eq(a1->set_mask & QCC_EP_SET_BASE_URL, 0);
  cr_assert_eq(qcc_resolve(&l, d), 0);
  cr_assert_eq(l.cfg->profiles[2].group, QCC_GROUP_FALLBACK, "resolve applies profile_groups");
  cr_assert_str_eq(a1->base_url, "https://r.example.com");
  cr_assert_eq(a1->key.kind, QCC_KEY_ENV);
  cr_assert_eq(l.setting_pos[QCC_K_PROXY_PORT].line, 7);
  cr_assert_eq(l.setting_pos[QCC_K_PROXY_HOST].line, 0, "not given");
  qcc_loaded_release(&l);
  qcc_diags_free(&d);
}
