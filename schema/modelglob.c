#include "modelglob.h"

#include <stdint.h>

bool qcc_modelglob_is_glob(const char *pat, size_t len) {
  for (size_t i = 0; i < len; i++)
    if (pat[i] == '*' || pat[i] == '?' || pat[i] == '[') return true;
  return false;
}

/* End of the set starting at PAT[I] == '[' (index of its ']'), or LEN when
 * it is not closed. A ']' right after '[' or '[!' is a member. */
static size_t set_end(const char *pat, size_t len, size_t i) {
  size_t j = i + 1;
  if (j < len && (pat[j] == '!' || pat[j] == '^')) j++;
  if (j < len && pat[j] == ']') j++;
  while (j < len && pat[j] != ']') j++;
  return j;
}

int qcc_modelglob_check(const char *pat, size_t len, size_t *at, const char **why) {
  if (len == 0) {
    *at = 0;
    *why = "empty model name";
    return -1;
  }
  for (size_t i = 0; i < len; i++) {
    if (pat[i] == ']') {
      *at = i;
      *why = "']' without '['";
      return -1;
    }
    if (pat[i] != '[') continue;
    size_t e = set_end(pat, len, i);
    if (e >= len) {
      *at = i;
      *why = "'[' is not closed by ']'";
      return -1;
    }
    size_t j = i + 1;
    if (pat[j] == '!' || pat[j] == '^') j++;
    for (; j < e; j++) {
      if (j + 2 < e && pat[j + 1] == '-' && (unsigned char)pat[j + 2] < (unsigned char)pat[j]) {
        *at = j;
        *why = "range runs backwards";
        return -1;
      }
    }
    i = e;
  }
  return 0;
}

/* Does C match the set PAT[I..E) (I at '[', E at ']')? */
static bool in_set(const char *pat, size_t i, size_t e, unsigned char c) {
  size_t j = i + 1;
  bool neg = pat[j] == '!' || pat[j] == '^';
  if (neg) j++;
  bool hit = false;
  for (; j < e; j++) {
    unsigned char lo = (unsigned char)pat[j];
    unsigned char hi = lo;
    if (j + 2 < e && pat[j + 1] == '-') {
      hi = (unsigned char)pat[j + 2];
      j += 2;
    }
    if (c >= lo && c <= hi) hit = true;
  }
  return hit != neg;
}

/* Iterative matcher with one backtrack point (the last '*'): linear in
 * practice, never exponential. */
bool qcc_modelglob_match(const char *pat, size_t plen, const char *name, size_t nlen) {
  size_t p = 0, n = 0;
  size_t star_p = SIZE_MAX, star_n = 0;
  while (n < nlen) {
    if (p < plen && pat[p] == '*') {
      star_p = ++p;
      star_n = n;
      continue;
    }
    if (p < plen) {
      if (pat[p] == '?') {
        p++;
        n++;
        continue;
      }
      if (pat[p] == '[') {
        size_t e = set_end(pat, plen, p);
        if (e < plen && in_set(pat, p, e, (unsigned char)name[n])) {
          p = e + 1;
          n++;
          continue;
        }
      } else if (pat[p] == name[n]) {
        p++;
        n++;
        continue;
      }
    }
    if (star_p == SIZE_MAX) return false;
    p = star_p;
    n = ++star_n;
  }
  while (p < plen && pat[p] == '*') p++;
  return p == plen;
}

size_t qcc_modelglob_rank(const char *pat, size_t len) {
  if (!qcc_modelglob_is_glob(pat, len)) return SIZE_MAX;
  size_t lit = 0;
  for (size_t i = 0; i < len; i++) {
    if (pat[i] == '*' || pat[i] == '?') continue;
    if (pat[i] == '[') {
      size_t e = set_end(pat, len, i);
      i = e < len ? e : len;
      continue;
    }
    lit++;
  }
  return lit;
}
