/* Fuzz target: `qccc claude-settings` on any settings.json bytes
 * (compiler/claudesettings.h). A document that parses must survive write
 * then undo unchanged (json_equal), keep every other key through the write,
 * and its undo record must read back from its own text. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/claudesettings.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char url[] = "http://127.0.0.1:7860";
static const char token[] = "qcc-local";

/* Every key of A but the two qcc sets holds the same in B. */
static void same_others(json_t *a, json_t *b, const char *auth) {
  const char *k;
  json_t *v;
  json_object_foreach(a, k, v) {
    if (strcmp(k, "env") == 0) continue;
    if (!json_equal(v, json_object_get(b, k))) __builtin_trap();
  }
  json_t *ea = json_object_get(a, "env"), *eb = json_object_get(b, "env");
  json_object_foreach(ea, k, v) {
    if (strcmp(k, QCC_CS_URL) == 0 || strcmp(k, auth) == 0) continue;
    if (!json_equal(v, json_object_get(eb, k))) __builtin_trap();
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  json_t *root = NULL, *undo = NULL;
  struct qcc_err err = {0};
  if (qcc_claudesettings_parse((const char *)data, size, &root, &err) != 0) return 0;
  json_t *orig = json_deep_copy(root);
  const char *auth = qcc_claudesettings_auth_var(root);
  int changed = qcc_claudesettings_write(root, &undo, url, token);
  if (!qcc_claudesettings_points_at(root, url, token)) __builtin_trap();
  same_others(orig, root, auth);
  if (changed == 0) {
    if (undo != NULL || !json_equal(orig, root)) __builtin_trap();
  } else {
    if (qcc_claudesettings_write(root, &undo, url, token) != 0) __builtin_trap(); /* idempotent */
    char *text = json_dumps(undo, JSON_PRESERVE_ORDER);
    json_t *back = text != NULL ? qcc_claudesettings_parse_undo(text, strlen(text)) : NULL;
    free(text);
    if (back == NULL) __builtin_trap();
    size_t restored = 0, kept = 0;
    qcc_claudesettings_undo(root, back, &restored, &kept);
    if (kept != 0 || !json_equal(orig, root)) __builtin_trap();
    json_decref(back);
  }
  json_decref(undo);
  json_decref(orig);
  json_decref(root);
  return 0;
}
