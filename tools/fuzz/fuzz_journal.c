/* Fuzz target: the journal reader (scanner + decoder + formatter). Any bytes
 * must be classified (clean, torn tail, corrupt, not ours) without a fault,
 * and the classification must be self-consistent. */
#include <stdint.h>
#include <string.h>

#include "schema/journal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct ctx {
  uint64_t records, next_offset;
};

static int each(const struct qcc_jraw *raw, void *ud) {
  struct ctx *c = ud;
  /* Records are contiguous and inside the input. */
  if (c->records > 0 && raw->offset != c->next_offset) __builtin_trap();
  c->next_offset = raw->offset + raw->size;
  c->records++;
  struct qcc_jrec r;
  if (qcc_journal_decode(raw, &r, NULL) == 0) {
    char text[8192];
    qcc_journal_format_fields(&r, text, sizeof text);
    /* Decoded strings are NUL-terminated inside the payload. */
    const struct qcc_jtype_info *t = qcc_journal_type(r.type);
    for (size_t i = 0; t != NULL && i < t->field_count; i++) {
      if (t->fields[i].kind != QCC_JK_STR) continue;
      const char *s = *(const char *const *)qcc_journal_field_ptr(&r, &t->fields[i]);
      if (strlen(s) > QCC_JOURNAL_MAX_TEXT) __builtin_trap();
    }
  }
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct ctx c = {0};
  struct qcc_jscan_result res;
  int rc = qcc_journal_scan(data, size, each, &c, &res);
  if (res.ok_up_to > size || res.records != c.records) __builtin_trap();
  if ((rc == 0) != (res.status == QCC_JSCAN_OK || res.status == QCC_JSCAN_EMPTY)) __builtin_trap();
  if (res.status == QCC_JSCAN_OK && res.ok_up_to != size) __builtin_trap();
  if (res.status == QCC_JSCAN_CORRUPT &&
      (res.resync_offset <= res.bad_offset || res.resync_offset >= size))
    __builtin_trap();
  if (rc != 0 && res.why[0] == '\0') __builtin_trap();
  return 0;
}
