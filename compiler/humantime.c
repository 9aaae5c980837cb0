#include "compiler/humantime.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static int fmt(int64_t unix_s, int ms, char *out, size_t cap) {
  time_t tt = (time_t)unix_s;
  struct tm tm;
  char day[32], zone[16];
  if (localtime_r(&tt, &tm) == NULL || strftime(day, sizeof day, "%Y-%m-%d %H:%M:%S", &tm) == 0 ||
      strftime(zone, sizeof zone, "%Z", &tm) == 0) {
    snprintf(out, cap, "-");
    return -1;
  }
  int n = ms >= 0 ? snprintf(out, cap, "%s.%03d %s", day, ms, zone)
                  : snprintf(out, cap, "%s %s", day, zone);
  if (n < 0 || (size_t)n >= cap) {
    snprintf(out, cap, "-");
    return -1;
  }
  return 0;
}

int qccc_humantime(int64_t unix_s, char *out, size_t cap) { return fmt(unix_s, -1, out, cap); }

int qccc_humantime_ms(int64_t unix_ms, char *out, size_t cap) {
  int64_t s = unix_ms / 1000, ms = unix_ms % 1000;
  if (ms < 0) {
    s--;
    ms += 1000;
  }
  return fmt(s, (int)ms, out, cap);
}

static bool digits(const char *s, int n, int *v) {
  *v = 0;
  for (int i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return false;
    *v = *v * 10 + (s[i] - '0');
  }
  return true;
}

bool qccc_humantime_parse_iso(const char *s, int64_t *unix_ms, size_t *len) {
  int y, mo, d, h, mi, se;
  if (strlen(s) < 20 || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) || s[7] != '-' ||
      !digits(s + 8, 2, &d) || s[10] != 'T' || !digits(s + 11, 2, &h) || s[13] != ':' ||
      !digits(s + 14, 2, &mi) || s[16] != ':' || !digits(s + 17, 2, &se))
    return false;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60) return false;
  size_t at = 19;
  int ms = 0;
  if (s[at] == '.') {
    at++;
    int k = 0;
    for (; s[at] >= '0' && s[at] <= '9'; at++, k++)
      if (k < 3) ms = ms * 10 + (s[at] - '0');
    if (k == 0) return false;
    for (; k < 3; k++) ms *= 10;
  }
  if (s[at] != 'Z') return false;
  struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h,
                  .tm_min = mi, .tm_sec = se};
  time_t t = timegm(&tm);
  if (t == (time_t)-1) return false;
  *unix_ms = (int64_t)t * 1000 + ms;
  *len = at + 1;
  return true;
}

const char *qccc_humantime_line(const char *line, char *buf, size_t cap) {
  int64_t ms;
  size_t len;
  if (!qccc_humantime_parse_iso(line, &ms, &len)) return line;
  char t[64];
  int rc = line[19] == '.' ? qccc_humantime_ms(ms, t, sizeof t) : qccc_humantime(ms / 1000, t, sizeof t);
  if (rc != 0) return line;
  int n = snprintf(buf, cap, "%s%s", t, line + len);
  return n < 0 || (size_t)n >= cap ? line : buf;
}
