#include "compiler/claudesettings.h"

#include <errno.h>
#include <string.h>

int qcc_claudesettings_parse(const char *buf, size_t len, json_t **root, struct qcc_err *err) {
  *root = NULL;
  json_error_t je;
  json_t *j = len == 0 ? json_object() : json_loadb(buf, len, 0, &je);
  if (j == NULL) return qcc_err_set(err, EINVAL, "not valid JSON (line %d: %s)", je.line, je.text);
  if (!json_is_object(j)) {
    json_decref(j);
    return qcc_err_set(err, EINVAL, "not a JSON object");
  }
  json_t *env = json_object_get(j, "env");
  if (env != NULL && !json_is_object(env)) {
    json_decref(j);
    return qcc_err_set(err, EINVAL, "\"env\" is not an object");
  }
  *root = j;
  return 0;
}

json_t *qcc_claudesettings_parse_undo(const char *buf, size_t len) {
  json_error_t je;
  json_t *u = json_loadb(buf, len, 0, &je);
  json_t *vars = json_object_get(u, "vars");
  bool good = json_is_object(vars) && json_integer_value(json_object_get(u, "version")) == QCC_CS_UNDO_VERSION;
  const char *k;
  json_t *rec;
  json_object_foreach(vars, k, rec) {
    if (!json_is_object(rec) || !json_is_string(json_object_get(rec, "wrote"))) good = false;
  }
  if (!good) {
    json_decref(u);
    return NULL;
  }
  return u;
}

static const char *env_str(json_t *root, const char *key) {
  return json_string_value(json_object_get(json_object_get(root, "env"), key));
}

const char *qcc_claudesettings_auth_var(json_t *root) {
  return env_str(root, QCC_CS_KEY) != NULL && env_str(root, QCC_CS_TOKEN) == NULL ? QCC_CS_KEY : QCC_CS_TOKEN;
}

bool qcc_claudesettings_has_url(json_t *root, const char *url) {
  const char *v = env_str(root, QCC_CS_URL);
  return v != NULL && strcmp(v, url) == 0;
}

bool qcc_claudesettings_points_at(json_t *root, const char *url, const char *token) {
  const char *t = env_str(root, qcc_claudesettings_auth_var(root));
  return qcc_claudesettings_has_url(root, url) && t != NULL && strcmp(t, token) == 0;
}

int qcc_claudesettings_write(json_t *root, json_t **undo, const char *url, const char *token) {
  if (qcc_claudesettings_points_at(root, url, token)) return 0;
  const char *auth = qcc_claudesettings_auth_var(root);
  json_t *env = json_object_get(root, "env");
  if (*undo == NULL)
    *undo = json_pack("{s:i, s:{}, s:b}", "version", QCC_CS_UNDO_VERSION, "vars", "created_env", env == NULL);
  if (env == NULL) {
    env = json_object();
    json_object_set_new(root, "env", env);
  }
  json_t *vars = json_object_get(*undo, "vars");
  const char *keys[2] = {QCC_CS_URL, auth}, *vals[2] = {url, token};
  for (int k = 0; k < 2; k++) {
    json_t *rec = json_object_get(vars, keys[k]);
    if (rec == NULL) { /* the first write remembers what was there (no "had": nothing) */
      json_t *had = json_object_get(env, keys[k]);
      rec = json_object();
      if (had != NULL) json_object_set(rec, "had", had);
      json_object_set_new(vars, keys[k], rec);
    }
    json_object_set_new(rec, "wrote", json_string(vals[k]));
    json_object_set_new(env, keys[k], json_string(vals[k]));
  }
  return 1;
}

int qcc_claudesettings_undo(json_t *root, json_t *undo, size_t *restored, size_t *kept) {
  *restored = *kept = 0;
  json_t *env = json_object_get(root, "env");
  json_t *vars = json_object_get(undo, "vars"), *rec;
  const char *key;
  json_object_foreach(vars, key, rec) {
    const char *wrote = json_string_value(json_object_get(rec, "wrote"));
    const char *now = json_string_value(json_object_get(env, key));
    json_t *had = json_object_get(rec, "had");
    if (now == NULL || wrote == NULL || strcmp(now, wrote) != 0) {
      (*kept)++;
      continue;
    }
    if (had != NULL) json_object_set(env, key, had);
    else json_object_del(env, key);
    (*restored)++;
  }
  if (json_is_object(env) && json_object_size(env) == 0 && json_is_true(json_object_get(undo, "created_env"))) {
    json_object_del(root, "env");
    return 1;
  }
  return *restored > 0;
}
