/* runtime/h2origins.c: origins are scheme://host:port, learned on and off by
 * the HTTP version a transfer spoke; paths, queries and other ports are
 * other URLs of the same or another origin. */
#include <criterion/criterion.h>
#include <curl/curl.h>

#include "runtime/h2origins.h"

Test(h2origins, origin_length) {
  cr_assert_eq(qcc_h2origins_origin_len("https://h:1/x/y"), strlen("https://h:1"));
  cr_assert_eq(qcc_h2origins_origin_len("https://h"), strlen("https://h"));
  cr_assert_eq(qcc_h2origins_origin_len("https://h?q=1"), strlen("https://h"));
  cr_assert_eq(qcc_h2origins_origin_len("https://[::1]:8443/api"), strlen("https://[::1]:8443"));
}

Test(h2origins, learned_on_and_off) {
  struct qcc_h2origins *o = qcc_h2origins_new();
  cr_assert_not_null(o);
  cr_assert(!qcc_h2origins_has(o, "https://relay:8443/api/anthropic/v1/messages"));
  qcc_h2origins_note(o, "https://relay:8443/api/anthropic/v1/models", CURL_HTTP_VERSION_2_0);
  cr_assert(qcc_h2origins_has(o, "https://relay:8443/api/anthropic/v1/messages"));
  cr_assert(qcc_h2origins_has(o, "https://relay:8443"));
  cr_assert(!qcc_h2origins_has(o, "https://relay:8444/v1/messages"), "another port");
  cr_assert(!qcc_h2origins_has(o, "https://relay:84/v1/messages"), "a prefix of the port");
  cr_assert(!qcc_h2origins_has(o, "http://relay:8443/v1/messages"), "another scheme");
  /* twice is once */
  qcc_h2origins_note(o, "https://relay:8443/x", CURL_HTTP_VERSION_2_0);
  /* no response (0) changes nothing */
  qcc_h2origins_note(o, "https://relay:8443/x", 0);
  cr_assert(qcc_h2origins_has(o, "https://relay:8443/v1"));
  /* the relay now speaks HTTP/1.1 only */
  qcc_h2origins_note(o, "https://relay:8443/v1/messages", CURL_HTTP_VERSION_1_1);
  cr_assert(!qcc_h2origins_has(o, "https://relay:8443/v1/messages"));
  qcc_h2origins_free(&o);
  cr_assert_null(o);
  cr_assert(!qcc_h2origins_has(NULL, "https://relay:8443/"));
}
