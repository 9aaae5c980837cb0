#include "pfix.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compiler/frontend.h"
#include "compiler/layout.h"

struct pfix pfix_build(const char *yaml) {
  char path[] = "/tmp/qcc-pricing-XXXXXX";
  int fd = mkstemp(path);
  cr_assert_geq(fd, 0);
  size_t n = strlen(yaml);
  cr_assert_eq(write(fd, yaml, n), (ssize_t)n);
  close(fd);
  struct qcc_diags *d = qcc_diags_new();
  struct qcc_config *cfg = NULL;
  int rc = qcc_frontend_run(path, NULL, &cfg, d, NULL);
  unlink(path);
  if (rc != 0) {
    char *text = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&text, &len);
    qcc_diags_print(d, QCC_DIAG_TEXT, m);
    fclose(m);
    cr_assert_fail("the fixture does not validate:\n%s", text);
  }
  qcc_diags_free(&d);
  struct qcc_layout_opts o = {1, 0};
  struct qcc_layout *l = NULL;
  struct qcc_err e = {0};
  cr_assert_eq(qcc_layout_new(cfg, &o, &l, &e), 0, "layout: %s", e.msg);
  size_t len = 0;
  const void *bytes = qcc_layout_bytes(l, &len);
  struct pfix p = {NULL, aligned_alloc(8, (len + 7) & ~(size_t)7)};
  cr_assert_not_null(p.img);
  memcpy(p.img, bytes, len);
  qcc_layout_free(&l);
  qcc_config_free(&cfg);
  struct qcc_table_error te;
  cr_assert_eq(qcc_table_open_buffer(p.img, len, &p.t, &te), 0, "%s", te.message);
  return p;
}

void pfix_free(struct pfix *p) {
  qcc_table_close(&p->t);
  free(p->img);
}
