/* Test helpers: deterministic records of every type, generic comparison,
 * temp state directories, whole-file reads. */
#ifndef QCC_TESTS_JOURNAL_SAMPLE_H
#define QCC_TESTS_JOURNAL_SAMPLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "schema/journal.h"

/* Record number i of type t (every field set, varying with i). Strings live
 * in static storage per slot (0..7) so eight samples can coexist. */
void sample_record(uint16_t type, unsigned i, struct qcc_jrec *out);
/* Record i of a mixed sequence cycling through every type but state_snapshot. */
void sample_mixed(unsigned i, struct qcc_jrec *out);
/* Field-by-field equality (strings by content); names the first difference. */
bool records_equal(const struct qcc_jrec *a, const struct qcc_jrec *b, char *why, size_t cap);
/* mkdtemp under /tmp; the path is written to out. */
void make_temp_dir(char *out, size_t cap);
/* rm -r of a directory made by make_temp_dir (files only, one level + subdir). */
void remove_temp_dir(const char *dir);
/* Whole file into a malloc'd buffer; NULL on error. */
uint8_t *read_whole(const char *path, size_t *len);
int write_whole(const char *path, const uint8_t *p, size_t len);
/* Encode n mixed records into a journal image (header first); returns
 * malloc'd bytes, record end offsets in ends[0..n) when ends != NULL. */
uint8_t *build_image(unsigned n, size_t *len, size_t *ends);

#endif
