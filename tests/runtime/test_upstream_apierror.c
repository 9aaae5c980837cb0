/* runtime/apierror.c: an Anthropic error object is recognised in a 200 body
 * or an error event's data, and a real message is not mistaken for one. */
#include <criterion/criterion.h>
#include <string.h>

#include "runtime/apierror.h"

static bool parse(const char *s, struct qcc_apierror *e) {
  return qcc_apierror_parse(s, strlen(s), e);
}

Test(apierror, error_object_read) {
  struct qcc_apierror e;
  cr_assert(parse("{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\","
                  "\"message\":\"Overloaded\"}}", &e));
  cr_assert_str_eq(e.type, "overloaded_error");
  cr_assert_str_eq(e.message, "Overloaded");
  cr_assert_eq(qcc_apierror_status(e.type), 529);
}

Test(apierror, error_object_without_details_is_an_api_error) {
  struct qcc_apierror e;
  cr_assert(parse(" {\"type\" : \"error\"}\n", &e));
  cr_assert_str_eq(e.type, "api_error");
  cr_assert_str_eq(e.message, "");
  cr_assert_eq(qcc_apierror_status(e.type), 500);
}

Test(apierror, messages_are_not_errors) {
  struct qcc_apierror e;
  cr_assert(!parse("{\"id\":\"msg_1\",\"type\":\"message\",\"content\":[{\"type\":\"text\","
                   "\"text\":\"say \\\"error\\\" and {\\\"type\\\":\\\"error\\\"}\"}]}", &e));
  cr_assert(!parse("{\"type\":\"message\",\"stop_reason\":\"error\"}", &e),
                   "\"error\" as a value of another key");
  cr_assert(!parse("{\"type\":\"error\"", &e), "cut JSON");
  cr_assert(!parse("[\"error\"]", &e));
  cr_assert(!qcc_apierror_parse(NULL, 0, &e));
}

Test(apierror, statuses) {
  cr_assert_eq(qcc_apierror_status("rate_limit_error"), 429);
  cr_assert_eq(qcc_apierror_status("timeout_error"), 504);
  cr_assert_eq(qcc_apierror_status("authentication_error"), 401);
  cr_assert_eq(qcc_apierror_status("something_new"), 502);
}
