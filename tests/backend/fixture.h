/* Hand-built struct qcc_config values for the backend tests, so they do not
 * depend on the YAML frontend. */
#ifndef QCC_TESTS_BACKEND_FIXTURE_H
#define QCC_TESTS_BACKEND_FIXTURE_H

#include <stddef.h>

#include "compiler/config.h"

/* PROFILES profiles of EPS endpoints each, every field set to a value derived
 * from its position (so a round trip can tell fields apart). SEED varies the
 * values. Endpoint j of profile i has id "ep-<i>-<j>". */
struct qcc_config *fixture_config(size_t profiles, size_t eps, unsigned seed);
void fixture_free(struct qcc_config **cfg);

/* A config laid out as a malloc'd image (8-aligned); *len set. */
void *fixture_image(const struct qcc_config *cfg, unsigned long long generation, size_t *len);

/* Read a whole file; NULL on error. */
void *fixture_read_file(const char *path, size_t *len);

/* A fresh temporary directory (mkdtemp) under /tmp; caller removes it. */
char *fixture_tmpdir(void);
void fixture_rmtree(const char *dir);

#endif
