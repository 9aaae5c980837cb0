/* Fuzz target: request bodies read by runtime/jsonscan.c (and the model
 * rewrite built on it, runtime/modelmap.c). Every byte is the client's. Any
 * input must scan without a fault and with spans inside the body; wherever
 * jansson parses the input, the scanner must find exactly what jansson finds
 * (model, stream, metadata.user_id), the bounded mode too (front and back
 * only, the middle looked at for later duplicates), and a rewritten model must parse back
 * to the new name with every other member unchanged. */
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/jsonscan.h"
#include "runtime/modelmap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_span(const struct qcc_json_span *sp, size_t size, const char *body) {
  if (sp->len < 2 || sp->off > size || size - sp->off < sp->len) __builtin_trap();
  if (body[sp->off] != '"' || body[sp->off + sp->len - 1] != '"') __builtin_trap();
}

/* The scanner's string at SP equals jansson's string J (or both are absent). */
static void same_string(const char *body, bool has, const struct qcc_json_span *sp, json_t *j) {
  if (has != json_is_string(j)) __builtin_trap();
  if (!has) return;
  size_t n = json_string_length(j);
  char *buf = malloc(n + 1);
  if (buf == NULL) __builtin_trap();
  long got = qcc_jsonscan_decode(body + sp->off, sp->len, buf, n + 1);
  if (got < 0 || (size_t)got != n || memcmp(buf, json_string_value(j), n) != 0) __builtin_trap();
  /* encoding the decoded value gives a token that decodes to it again */
  size_t elen = qcc_jsonscan_encode(buf, n, NULL);
  char *enc = malloc(elen), *back = malloc(n + 1);
  if (enc == NULL || back == NULL) __builtin_trap();
  if (qcc_jsonscan_encode(buf, n, enc) != elen) __builtin_trap();
  long b = qcc_jsonscan_decode(enc, elen, back, n + 1);
  if (b < 0 || (size_t)b != n || memcmp(back, buf, n) != 0) __builtin_trap();
  free(enc);
  free(back);
  free(buf);
}

static const char *to_new(void *ctx, const char *model, size_t len, size_t *to_len) {
  (void)ctx;
  (void)model;
  (void)len;
  *to_len = 6;
  return "n\"e\\w\x01";
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *body = (const char *)data;
  struct qcc_jsonscan_facts f;
  int rc = qcc_jsonscan_body(body, size, &f);
  if ((rc == 0) != f.object) __builtin_trap();
  if (f.model_count > QCC_JSONSCAN_MAX_MODELS) __builtin_trap();
  for (unsigned k = 0; k < f.model_count; k++) check_span(&f.models[k], size, body);
  if (f.has_model) check_span(&f.model, size, body);
  if (f.has_user_id) check_span(&f.user_id, size, body);
  if (f.stream < -1 || f.stream > 1) __builtin_trap();
  /* the tail shortcut: exact for a JSON object (the scan accepted it) */
  int tail = qcc_jsonscan_tail_stream(body, size);
  if (tail < -1 || tail > 1) __builtin_trap();
  if (rc == 0 && tail >= 0 && tail != f.stream) __builtin_trap();

  /* the bounded mode (no size threshold here): spans inside the body; its
   * facts are compared with jansson's below */
  struct qcc_jsonscan_facts q;
  int qrc = qcc_jsonscan_bounded(body, size, &q);
  if ((qrc == 0) != q.object || (q.quick && qrc != 0)) __builtin_trap();
  if (q.has_model) check_span(&q.model, size, body);
  if (q.has_user_id) check_span(&q.user_id, size, body);
  if (q.stream < -1 || q.stream > 1) __builtin_trap();
  /* walked (not quick): exactly the walk's facts */
  if (!q.quick && (qrc != rc || q.has_model != f.has_model || q.stream != f.stream ||
                   q.has_user_id != f.has_user_id || q.model_count != f.model_count))
    __builtin_trap();

  /* jansson reads a NUL byte outside strings as the end of its input; a
   * JSON text has none there, so such inputs are not compared */
  if (memchr(body, '\0', size) != NULL) return 0;
  json_t *root = json_loadb(body, size, 0, NULL);
  if (root == NULL) return 0;
  if (json_is_object(root) != f.object) __builtin_trap();
  if (f.object) {
    same_string(body, f.has_model, &f.model, json_object_get(root, "model"));
    json_t *st = json_object_get(root, "stream");
    int want = json_is_true(st) ? 1 : json_is_false(st) ? 0 : -1;
    if (f.stream != want) __builtin_trap();
    json_t *md = json_object_get(root, "metadata");
    same_string(body, f.has_user_id, &f.user_id, json_object_get(md, "user_id"));
    /* the bounded mode finds the same (the last member of each name) */
    if (!q.object || q.stream != want) __builtin_trap();
    same_string(body, q.has_model, &q.model, json_object_get(root, "model"));
    same_string(body, q.has_user_id, &q.user_id, json_object_get(md, "user_id"));

    char *out = NULL;
    size_t out_len = 0;
    int mm = qcc_modelmap_apply(body, size, &f, to_new, NULL, &out, &out_len);
    if (mm < 0) __builtin_trap();
    /* names longer than QCC_MODELMAP_MAX_NAME are never mapped */
    json_t *m0 = json_object_get(root, "model");
    bool last_mapped = json_is_string(m0) && json_string_length(m0) <= QCC_MODELMAP_MAX_NAME;
    if (mm == 1 && f.model_count == 0) __builtin_trap();
    if (mm == 0 && last_mapped) __builtin_trap();
    if (mm == 1) {
      json_t *re = json_loadb(out, out_len, 0, NULL);
      if (re == NULL) __builtin_trap();
      json_t *m = json_object_get(re, "model");
      if (last_mapped && (!json_is_string(m) || json_string_length(m) != 6 ||
                          memcmp(json_string_value(m), "n\"e\\w\x01", 6) != 0))
        __builtin_trap();
      if (json_object_size(re) != json_object_size(root)) __builtin_trap();
      json_object_del(re, "model");
      json_object_del(root, "model");
      if (!json_equal(re, root)) __builtin_trap();
      json_decref(re);
      free(out);
    }
  }
  json_decref(root);
  return 0;
}
