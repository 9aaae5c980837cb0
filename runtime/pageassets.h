/* The status page's files (runtime/page/), embedded into qcc-run at build
 * time by tools/embed_assets.py: name, content type, bytes and an ETag
 * (a digest of the bytes, so it changes exactly when the file does). */
#ifndef QCC_RUNTIME_PAGEASSETS_H
#define QCC_RUNTIME_PAGEASSETS_H

#include <stddef.h>

struct qcc_page_asset {
  const char *name; /* "index.html" */
  const char *type; /* "text/html; charset=utf-8" */
  const unsigned char *data;
  size_t len;
  const char *etag; /* "\"3f2a...\"" */
};

extern const struct qcc_page_asset qcc_page_assets[];
extern const size_t qcc_page_asset_count;

#endif
