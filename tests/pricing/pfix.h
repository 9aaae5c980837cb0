/* A table compiled from YAML text through the real frontend and layout, so
 * the pricing and budget tests read what qccc writes. */
#ifndef QCC_TESTS_PRICING_PFIX_H
#define QCC_TESTS_PRICING_PFIX_H

#include "schema/table.h"

struct pfix {
  struct qcc_table *t;
  void *img;
};

/* YAML is a whole config; any diagnostic fails the test. */
struct pfix pfix_build(const char *yaml);
void pfix_free(struct pfix *p);

#endif
