#include "apierror.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

bool qcc_apierror_parse(const char *body, size_t len, struct qcc_apierror *out) {
  out->type[0] = out->message[0] = '\0';
  /* "error" as a JSON string (a key or a value): a message whose text
   * mentions "error" has it escaped (\"error\"), so this passes over almost
   * every good answer without parsing it */
  if (body == NULL || memmem(body, len, "\"error\"", 7) == NULL) return false;
  json_t *j = json_loadb(body, len, JSON_DISABLE_EOF_CHECK, NULL);
  const char *t = json_string_value(json_object_get(j, "type"));
  bool is = t != NULL && strcmp(t, "error") == 0;
  if (is) {
    json_t *e = json_object_get(j, "error");
    const char *et = json_string_value(json_object_get(e, "type"));
    const char *m = json_string_value(json_object_get(e, "message"));
    snprintf(out->type, sizeof out->type, "%s", et != NULL ? et : "api_error");
    snprintf(out->message, sizeof out->message, "%s", m != NULL ? m : "");
  }
  json_decref(j);
  return is;
}

int qcc_apierror_status(const char *type) {
  static const struct {
    const char *type;
    int status;
  } map[] = {{"invalid_request_error", 400}, {"authentication_error", 401},
             {"billing_error", 402},         {"permission_error", 403},
             {"not_found_error", 404},       {"request_too_large", 413},
             {"rate_limit_error", 429},      {"api_error", 500},
             {"timeout_error", 504},         {"overloaded_error", 529}};
  for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
    if (strcmp(type, map[i].type) == 0) return map[i].status;
  return 502;
}
