/* The status page's login links and sessions (runtime/pagesession.h): single
 * use, expiry on the caller's clock, forged tokens, eviction when full. */
#include <criterion/criterion.h>
#include <string.h>

#include "runtime/pagesession.h"

static struct qcc_pagesession *s;

static void setup(void) {
  struct qcc_err err = {0};
  cr_assert_eq(qcc_pagesession_new(&s, &err), 0);
}
static void teardown(void) { qcc_pagesession_free(&s); }

TestSuite(pagesession, .init = setup, .fini = teardown);

Test(pagesession, link_is_random_hex_and_single_use) {
  char a[QCC_PAGE_TOKEN_LEN + 1], b[QCC_PAGE_TOKEN_LEN + 1], sid[QCC_PAGE_TOKEN_LEN + 1];
  cr_assert_eq(qcc_pagesession_link(s, 1000, 0, a, NULL), 0);
  cr_assert_eq(qcc_pagesession_link(s, 1000, 0, b, NULL), 0);
  cr_assert_eq(strlen(a), QCC_PAGE_TOKEN_LEN);
  cr_assert_eq(strspn(a, "0123456789abcdef"), QCC_PAGE_TOKEN_LEN);
  cr_assert_str_neq(a, b);
  cr_assert(qcc_pagesession_redeem(s, a, strlen(a), 2000, sid));
  cr_assert_not(qcc_pagesession_redeem(s, a, strlen(a), 2000, sid), "used twice");
  cr_assert(qcc_pagesession_check(s, sid, strlen(sid), 3000, NULL));
  cr_assert_eq(qcc_pagesession_count(s, true), 1); /* b is still there */
}

Test(pagesession, link_expires) {
  char a[QCC_PAGE_TOKEN_LEN + 1], sid[QCC_PAGE_TOKEN_LEN + 1];
  cr_assert_eq(qcc_pagesession_link(s, 1000, 0, a, NULL), 0);
  cr_assert_not(qcc_pagesession_redeem(s, a, strlen(a), 1000 + QCC_PAGE_LINK_TTL_MS, sid));
  cr_assert_eq(qcc_pagesession_count(s, false), 0);
  cr_assert_eq(qcc_pagesession_link(s, 1000, 0, a, NULL), 0);
  cr_assert(qcc_pagesession_redeem(s, a, strlen(a), 1000 + QCC_PAGE_LINK_TTL_MS - 1, sid));
}

Test(pagesession, link_lifetime_can_be_shortened) {
  char a[QCC_PAGE_TOKEN_LEN + 1], sid[QCC_PAGE_TOKEN_LEN + 1];
  cr_assert_eq(qcc_pagesession_link(s, 1000, 500, a, NULL), 0);
  cr_assert_not(qcc_pagesession_redeem(s, a, strlen(a), 1500, sid));
}

Test(pagesession, forged_and_truncated_tokens_fail) {
  char a[QCC_PAGE_TOKEN_LEN + 1], sid[QCC_PAGE_TOKEN_LEN + 1];
  cr_assert_eq(qcc_pagesession_link(s, 0, 0, a, NULL), 0);
  char f[QCC_PAGE_TOKEN_LEN + 1];
  memcpy(f, a, sizeof f);
  f[10] = f[10] == 'a' ? 'b' : 'a';
  cr_assert_not(qcc_pagesession_redeem(s, f, strlen(f), 1, sid));
  cr_assert_not(qcc_pagesession_redeem(s, a, QCC_PAGE_TOKEN_LEN - 1, 1, sid), "a prefix");
  cr_assert_not(qcc_pagesession_redeem(s, "", 0, 1, sid));
  cr_assert(qcc_pagesession_redeem(s, a, strlen(a), 1, sid), "the real one still works");
  cr_assert_not(qcc_pagesession_check(s, a, strlen(a), 2, NULL), "a link is not a session");
}

Test(pagesession, session_has_csrf_and_expires) {
  char a[QCC_PAGE_TOKEN_LEN + 1], sid[QCC_PAGE_TOKEN_LEN + 1], c1[QCC_PAGE_TOKEN_LEN + 1],
      c2[QCC_PAGE_TOKEN_LEN + 1];
  cr_assert_eq(qcc_pagesession_link(s, 0, 0, a, NULL), 0);
  cr_assert(qcc_pagesession_redeem(s, a, strlen(a), 0, sid));
  cr_assert(qcc_pagesession_check(s, sid, strlen(sid), 10, c1));
  cr_assert(qcc_pagesession_check(s, sid, strlen(sid), 20, c2));
  cr_assert_str_eq(c1, c2, "one CSRF token per session");
  cr_assert_str_neq(c1, sid);
  cr_assert_not(qcc_pagesession_check(s, sid, strlen(sid), QCC_PAGE_SESSION_TTL_MS, NULL));
  cr_assert_eq(qcc_pagesession_count(s, false), 0, "an expired session is forgotten");
}

Test(pagesession, full_tables_evict_the_oldest) {
  char first[QCC_PAGE_TOKEN_LEN + 1], t[QCC_PAGE_TOKEN_LEN + 1], sid[QCC_PAGE_TOKEN_LEN + 1];
  cr_assert_eq(qcc_pagesession_link(s, 0, 0, first, NULL), 0);
  for (int i = 1; i <= QCC_PAGE_MAX_LINKS; i++) cr_assert_eq(qcc_pagesession_link(s, (uint64_t)i, 0, t, NULL), 0);
  cr_assert_eq(qcc_pagesession_count(s, true), QCC_PAGE_MAX_LINKS);
  cr_assert_not(qcc_pagesession_redeem(s, first, strlen(first), 100, sid), "evicted");
  cr_assert(qcc_pagesession_redeem(s, t, strlen(t), 100, sid), "the newest stays");
}
