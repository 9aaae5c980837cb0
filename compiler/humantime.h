/* Times for people: local time with its zone ("2026-11-26 05:10:02 CET"),
 * the one spelling of every human-facing time qccc prints. JSON output and
 * files keep UTC (ISO 8601 with Z); these only format for reading. */
#ifndef QCC_COMPILER_HUMANTIME_H
#define QCC_COMPILER_HUMANTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* UNIX_S as "YYYY-MM-DD HH:MM:SS ZONE" in the local zone ($TZ). Returns 0, or
 * -1 (OUT holds "-") when it cannot be formatted. */
int qccc_humantime(int64_t unix_s, char *out, size_t cap);
/* The same with milliseconds: "YYYY-MM-DD HH:MM:SS.mmm ZONE". */
int qccc_humantime_ms(int64_t unix_ms, char *out, size_t cap);

/* Parse an ISO UTC time "YYYY-MM-DDTHH:MM:SS[.fff]Z" at the start of S:
 * true with *UNIX_MS and *LEN (bytes it takes). Fractions past ms are read
 * and dropped. */
bool qccc_humantime_parse_iso(const char *s, int64_t *unix_ms, size_t *len);

/* LINE with the ISO UTC time that starts it written in local time (with ms
 * when the original had a fraction), into BUF; LINE itself when it does not
 * start with one or BUF is too small. */
const char *qccc_humantime_line(const char *line, char *buf, size_t cap);

#endif
