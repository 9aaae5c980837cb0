/* Dead letters: bounds, file modes, bodies only with persistence, no
 * credentials stored, restore after a "restart" (a new store on the same
 * directory). Each test works in its own fresh directory under /tmp. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "runtime/deadletters.h"

#define SECRET "sk-ant-SECRET.do-not-store-0123456789"

static char state[256];
static char dldir[320];

static void rm_tree(const char *dir) {
  DIR *d = opendir(dir);
  if (d == NULL)
    return;
  struct dirent *de;
  char p[1024];
  for (de = readdir(d); de != NULL; de = readdir(d)) {
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
      continue;
    snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
    unlink(p);
  }
  closedir(d);
  rmdir(dir);
}

static void setup(void) {
  snprintf(state, sizeof(state), "/tmp/qcc-dl-test-XXXXXX");
  cr_assert_not_null(mkdtemp(state));
  snprintf(dldir, sizeof(dldir), "%s/%s", state, QCC_DL_SUBDIR);
}

static void teardown(void) {
  rm_tree(dldir);
  rmdir(state);
}

static struct qcc_deadletters *open_store(bool persist, uint32_t max_entries, uint64_t max_bytes) {
  struct qcc_deadletters_params p;
  qcc_deadletters_params_default(&p);
  p.state_dir = state;
  p.persist_bodies = persist;
  if (max_entries)
    p.max_entries = max_entries;
  if (max_bytes)
    p.max_bytes = max_bytes;
  struct qcc_deadletters *s = NULL;
  struct qcc_err err = {0};
  cr_assert_eq(qcc_deadletters_open(&p, &s, &err), 0, "%s", err.msg);
  return s;
}

#define HDR(n, v) {.name = n, .name_len = sizeof(n) - 1, .value = v, .value_len = sizeof(v) - 1}

static const struct qcc_header headers[] = {
    HDR("X-Api-Key", SECRET),
    HDR("Authorization", "Bearer " SECRET),
    HDR("anthropic-version", "2023-06-01"),
    HDR("Cookie", "session=" SECRET),
    HDR("Host", "127.0.0.1:8080"),
    HDR("X-QCC-Priority", "7"),
    HDR("x-auth-token", SECRET),
    HDR("content-type", "application/json"),
};

static const struct qcc_queue_attempt tried[] = {
    {.endpoint = "prod-1", .status = 503, .reason = "HTTP 503"},
    {.endpoint = "prod-2", .status = 0, .reason = "timeout"},
};

static const char *add(struct qcc_deadletters *s, uint64_t id, int64_t t, const char *body) {
  struct qcc_deadletter_in in = {
      .id = id, .time_ms = t, .method = "POST", .target = "/v1/messages?beta=true",
      .priority = 7, .headers = headers, .header_count = sizeof(headers) / sizeof(headers[0]),
      .tried = tried, .tried_count = 2, .attempts = 6, .reason = "all endpoints failed",
      .body = body, .body_len = body != NULL ? strlen(body) : 0};
  const char *id_out = NULL;
  struct qcc_err err = {0};
  cr_assert_eq(qcc_deadletters_add(s, &in, &id_out, &err), 0, "%s", err.msg);
  cr_assert_not_null(id_out);
  return id_out;
}

static bool file_exists(const char *id, const char *ext, mode_t *mode) {
  char p[512];
  snprintf(p, sizeof(p), "%s/%s.%s", dldir, id, ext);
  struct stat st;
  if (stat(p, &st) != 0)
    return false;
  if (mode != NULL)
    *mode = st.st_mode & 07777;
  return true;
}

static char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (f == NULL)
    return NULL;
  char *buf = malloc(1 << 20);
  size_t n = fread(buf, 1, (1 << 20) - 1, f);
  fclose(f);
  buf[n] = '\0';
  if (len != NULL)
    *len = n;
  return buf;
}

static size_t count_files(void) {
  DIR *d = opendir(dldir);
  cr_assert_not_null(d);
  size_t n = 0;
  struct dirent *de;
  for (de = readdir(d); de != NULL; de = readdir(d))
    if (de->d_name[0] != '.')
      n++;
  closedir(d);
  return n;
}

TestSuite(deadletters, .init = setup, .fini = teardown);

Test(deadletters, memory_only_store) {
  struct qcc_deadletters_params p;
  qcc_deadletters_params_default(&p);
  p.persist_bodies = true; /* no directory: nothing can be persisted */
  struct qcc_deadletters *s = NULL;
  cr_assert_eq(qcc_deadletters_open(&p, &s, NULL), 0);
  const char *id = add(s, 0, 1000, "{\"model\":\"m\"}");
  const struct qcc_deadletter *d = qcc_deadletters_get(s, id);
  cr_assert_not_null(d);
  cr_expect_str_eq(d->method, "POST");
  cr_expect_str_eq(d->target, "/v1/messages?beta=true");
  cr_expect_eq(d->body_hash, XXH3_64bits("{\"model\":\"m\"}", 13));
  cr_expect_eq(d->body_len, 13);
  cr_expect_not(d->body_kept);
  cr_expect_eq(d->tried_count, 2);
  cr_expect_str_eq(d->tried[1].reason, "timeout");
  cr_expect_eq(qcc_deadletters_count(s), 1);
  qcc_deadletters_close(&s);
  cr_expect_null(s);
  cr_expect_eq(access(dldir, F_OK), -1, "no directory was made");
}

Test(deadletters, body_file_0600_in_dir_0700) {
  struct qcc_deadletters *s = open_store(true, 0, 0);
  const char *body = "{\"model\":\"claude\",\"messages\":[]}";
  const char *id = add(s, 0x1234, 5000, body);
  cr_expect_str_eq(id, "1234");
  struct stat st;
  cr_assert_eq(stat(dldir, &st), 0);
  cr_expect_eq(st.st_mode & 0777, 0700);
  mode_t m = 0;
  cr_assert(file_exists(id, "body", &m));
  cr_expect_eq(m, 0600);
  cr_assert(file_exists(id, "meta", &m));
  cr_expect_eq(m, 0600);
  const struct qcc_deadletter *d = qcc_deadletters_get(s, id);
  cr_assert(d->body_kept);
  char *got = NULL;
  size_t len = 0;
  struct qcc_err err = {0};
  cr_assert_eq(qcc_deadletters_body(s, id, &got, &len, &err), 0, "%s", err.msg);
  cr_expect_eq(len, strlen(body));
  cr_expect_eq(memcmp(got, body, len), 0);
  free(got);
  /* no temp files left behind */
  DIR *dh = opendir(dldir);
  struct dirent *de;
  for (de = readdir(dh); de != NULL; de = readdir(dh))
    cr_expect(de->d_name[0] != '.' || strcmp(de->d_name, ".") == 0 ||
                  strcmp(de->d_name, "..") == 0,
              "leftover %s", de->d_name);
  closedir(dh);
  qcc_deadletters_close(&s);
}

Test(deadletters, body_only_with_persistence) {
  struct qcc_deadletters *s = open_store(false, 0, 0);
  const char *id = add(s, 0, 5000, "{\"secret-ish\":true}");
  cr_expect_not(file_exists(id, "body", NULL));
  cr_expect(file_exists(id, "meta", NULL));
  const struct qcc_deadletter *d = qcc_deadletters_get(s, id);
  cr_expect_not(d->body_kept);
  cr_expect_eq(d->body_hash, XXH3_64bits("{\"secret-ish\":true}", 19));
  char *got = (char *)1;
  size_t len = 9;
  struct qcc_err err = {0};
  cr_expect_eq(qcc_deadletters_body(s, id, &got, &len, &err), -1);
  cr_expect_eq(err.code, ENODATA);
  cr_expect_null(got);
  cr_expect_not_null(strstr(err.msg, "persistence_enabled"));
  size_t mlen = 0;
  char p[512];
  snprintf(p, sizeof(p), "%s/%s.meta", dldir, id);
  char *meta = slurp(p, &mlen);
  cr_assert_not_null(meta);
  cr_expect_null(strstr(meta, "secret-ish"), "the body leaked into the meta");
  free(meta);
  qcc_deadletters_close(&s);
}

Test(deadletters, no_auth_header_stored) {
  struct qcc_deadletters *s = open_store(true, 0, 0);
  const char *id = add(s, 0, 5000, "{}");
  const struct qcc_deadletter *d = qcc_deadletters_get(s, id);
  cr_assert_eq(d->header_count, 3);
  cr_expect_str_eq(d->headers[0].name, "anthropic-version");
  cr_expect_str_eq(d->headers[1].name, "x-qcc-priority");
  cr_expect_str_eq(d->headers[1].value, "7");
  cr_expect_str_eq(d->headers[2].name, "content-type");
  for (size_t i = 0; i < d->header_count; i++)
    cr_expect_null(strstr(d->headers[i].value, SECRET));
  /* nowhere on disk either */
  DIR *dh = opendir(dldir);
  struct dirent *de;
  size_t files = 0;
  for (de = readdir(dh); de != NULL; de = readdir(dh)) {
    if (de->d_name[0] == '.')
      continue;
    char p[1024];
    snprintf(p, sizeof(p), "%s/%s", dldir, de->d_name);
    char *text = slurp(p, NULL);
    cr_assert_not_null(text);
    cr_expect_null(strstr(text, SECRET), "%s holds the secret", de->d_name);
    cr_expect_null(strstr(text, "x-api-key"), "%s names x-api-key", de->d_name);
    cr_expect_null(strstr(text, "authorization"), "%s names authorization", de->d_name);
    free(text);
    files++;
  }
  closedir(dh);
  cr_expect_eq(files, 2);
  cr_expect_not(qcc_deadletters_header_kept("X-API-KEY", 9));
  cr_expect_not(qcc_deadletters_header_kept("Proxy-Authorization", 19));
  cr_expect(qcc_deadletters_header_kept("anthropic-beta", 14));
  qcc_deadletters_close(&s);
}

Test(deadletters, meta_is_versioned_json) {
  struct qcc_deadletters *s = open_store(true, 0, 0);
  const char *id = add(s, 0xabc, 5000, "{\"x\":1}");
  char p[512];
  snprintf(p, sizeof(p), "%s/%s.meta", dldir, id);
  char *text = slurp(p, NULL);
  cr_assert_not_null(text);
  cr_expect_eq(strncmp(text, "{\"v\":1,", 7), 0, "version is not the first field: %.40s", text);
  json_error_t je;
  json_t *o = json_loads(text, 0, &je);
  cr_assert_not_null(o, "%s", je.text);
  cr_expect_str_eq(json_string_value(json_object_get(o, "id")), "abc");
  char hash[17];
  snprintf(hash, sizeof(hash), "%016llx", (unsigned long long)XXH3_64bits("{\"x\":1}", 7));
  cr_expect_str_eq(json_string_value(json_object_get(o, "body_hash")), hash);
  cr_expect_eq(json_array_size(json_object_get(o, "tried")), 2);
  cr_expect_eq(json_integer_value(json_object_get(o, "attempts")), 6);
  json_decref(o);
  free(text);
  qcc_deadletters_close(&s);
}

Test(deadletters, bounded_by_count_oldest_dropped) {
  struct qcc_deadletters *s = open_store(true, 3, 0);
  char ids[5][QCC_DL_ID_MAX];
  for (int i = 0; i < 5; i++)
    snprintf(ids[i], sizeof(ids[i]), "%s", add(s, 0, 1000 + i, "{\"n\":1}"));
  cr_expect_eq(qcc_deadletters_count(s), 3);
  cr_expect_null(qcc_deadletters_get(s, ids[0]));
  cr_expect_null(qcc_deadletters_get(s, ids[1]));
  cr_expect_not(file_exists(ids[0], "meta", NULL));
  cr_expect_not(file_exists(ids[0], "body", NULL));
  cr_expect(file_exists(ids[4], "body", NULL));
  cr_expect_eq(count_files(), 6);
  const struct qcc_deadletter *l[8];
  cr_assert_eq(qcc_deadletters_list(s, l, 8), 3);
  cr_expect_str_eq(l[0]->id, ids[2]);
  cr_expect_str_eq(l[2]->id, ids[4]);
  struct qcc_deadletters_counters c;
  qcc_deadletters_counters(s, &c);
  cr_expect_eq(c.dropped, 2);
  cr_expect_eq(c.added, 5);
  qcc_deadletters_close(&s);
}

Test(deadletters, bounded_by_bytes) {
  struct qcc_deadletters *s = open_store(true, 100, 100);
  char body[41];
  memset(body, 'b', 40);
  body[40] = '\0';
  for (int i = 0; i < 4; i++)
    add(s, 0, 1000 + i, body);
  cr_expect_eq(qcc_deadletters_count(s), 2);
  struct qcc_deadletters_counters c;
  qcc_deadletters_counters(s, &c);
  cr_expect_eq(c.bytes, 80);
  cr_expect_leq(c.bytes, 100);
  qcc_deadletters_close(&s);
}

Test(deadletters, ids_are_unique_and_checked) {
  struct qcc_deadletters *s = open_store(false, 0, 0);
  char a[QCC_DL_ID_MAX], b[QCC_DL_ID_MAX];
  snprintf(a, sizeof(a), "%s", add(s, 5, 1, NULL));
  snprintf(b, sizeof(b), "%s", add(s, 5, 2, NULL));
  cr_expect_str_eq(a, "5");
  cr_expect_str_neq(a, b);
  cr_expect_null(qcc_deadletters_get(s, "../../etc/passwd"));
  cr_expect_null(qcc_deadletters_get(s, "5.meta"));
  cr_expect_null(qcc_deadletters_get(s, ""));
  cr_expect_null(qcc_deadletters_get(s, NULL));
  cr_expect_not_null(qcc_deadletters_get(s, "5"));
  qcc_deadletters_close(&s);
}

Test(deadletters, replay_response_kept_and_cut) {
  struct qcc_deadletters_params p;
  qcc_deadletters_params_default(&p);
  p.state_dir = state;
  p.persist_bodies = true;
  p.max_response_bytes = 10;
  struct qcc_deadletters *s = NULL;
  cr_assert_eq(qcc_deadletters_open(&p, &s, NULL), 0);
  const char *id = add(s, 0, 1, "{}");
  struct qcc_err err = {0};
  cr_assert_eq(qcc_deadletters_set_replay(s, id, 200, "0123456789abcdefghij", 20, 99, &err), 0,
               "%s", err.msg);
  const struct qcc_deadletter *d = qcc_deadletters_get(s, id);
  cr_expect_eq(d->replay_status, 200);
  cr_expect_eq(d->replay_len, 10);
  cr_expect(d->replay_truncated);
  cr_expect_eq(memcmp(d->replay_body, "0123456789", 10), 0);
  mode_t m;
  cr_expect(file_exists(id, "resp", &m));
  cr_expect_eq(m, 0600);
  cr_expect_eq(qcc_deadletters_set_replay(s, "ffff", 200, "x", 1, 1, &err), -1);
  cr_expect_eq(err.code, ENOENT);
  qcc_deadletters_close(&s);
}

Test(deadletters, restore_after_restart) {
  struct qcc_deadletters *s = open_store(true, 0, 0);
  char ids[3][QCC_DL_ID_MAX];
  snprintf(ids[0], QCC_DL_ID_MAX, "%s", add(s, 0x100, 3000, "{\"a\":1}"));
  snprintf(ids[1], QCC_DL_ID_MAX, "%s", add(s, 0x200, 1000, "{\"b\":2}"));
  snprintf(ids[2], QCC_DL_ID_MAX, "%s", add(s, 0x300, 2000, NULL));
  cr_assert_eq(qcc_deadletters_set_replay(s, ids[1], 529, "{\"type\":\"error\"}", 16, 4000, NULL),
               0);
  qcc_deadletters_close(&s);

  /* debris a crash could leave: a temp file and a body without a meta */
  char p[512];
  snprintf(p, sizeof(p), "%s/.77.meta.AbCdEf", dldir);
  FILE *f = fopen(p, "w");
  fputs("partial", f);
  fclose(f);
  snprintf(p, sizeof(p), "%s/77.body", dldir);
  f = fopen(p, "w");
  fputs("orphan", f);
  fclose(f);
  /* a newer writer's meta: not ours to read or delete */
  snprintf(p, sizeof(p), "%s/88.meta", dldir);
  f = fopen(p, "w");
  fputs("{\"v\":2,\"id\":\"88\"}", f);
  fclose(f);

  s = open_store(true, 0, 0);
  cr_assert_eq(qcc_deadletters_count(s), 3);
  struct qcc_deadletters_counters c;
  qcc_deadletters_counters(s, &c);
  cr_expect_eq(c.restored, 3);
  const struct qcc_deadletter *l[4];
  cr_assert_eq(qcc_deadletters_list(s, l, 4), 3);
  /* oldest first, by time */
  cr_expect_str_eq(l[0]->id, ids[1]);
  cr_expect_str_eq(l[1]->id, ids[2]);
  cr_expect_str_eq(l[2]->id, ids[0]);
  const struct qcc_deadletter *d = qcc_deadletters_get(s, ids[1]);
  cr_assert_not_null(d);
  cr_expect_eq(d->time_ms, 1000);
  cr_expect_str_eq(d->target, "/v1/messages?beta=true");
  cr_expect_eq(d->priority, 7);
  cr_expect_eq(d->attempts, 6);
  cr_expect_str_eq(d->reason, "all endpoints failed");
  cr_expect_eq(d->tried_count, 2);
  cr_expect_str_eq(d->tried[0].endpoint, "prod-1");
  cr_expect_eq(d->tried[0].status, 503);
  cr_expect_eq(d->header_count, 3);
  cr_expect_eq(d->body_hash, XXH3_64bits("{\"b\":2}", 7));
  cr_expect(d->body_kept);
  cr_expect_eq(d->replay_status, 529);
  cr_expect_eq(d->replay_len, 16);
  cr_expect_eq(memcmp(d->replay_body, "{\"type\":\"error\"}", 16), 0);
  char *body = NULL;
  size_t len = 0;
  struct qcc_err err = {0};
  cr_assert_eq(qcc_deadletters_body(s, ids[1], &body, &len, &err), 0, "%s", err.msg);
  cr_expect_eq(len, 7);
  cr_expect_eq(memcmp(body, "{\"b\":2}", 7), 0);
  free(body);
  cr_expect_not(qcc_deadletters_get(s, ids[2])->body_kept);
  /* debris gone, the foreign meta left alone */
  snprintf(p, sizeof(p), "%s/.77.meta.AbCdEf", dldir);
  cr_expect_eq(access(p, F_OK), -1);
  snprintf(p, sizeof(p), "%s/77.body", dldir);
  cr_expect_eq(access(p, F_OK), -1);
  snprintf(p, sizeof(p), "%s/88.meta", dldir);
  cr_expect_eq(access(p, F_OK), 0);
  cr_expect_null(qcc_deadletters_get(s, "88"));
  /* new ids do not collide with restored ones */
  const char *nid = add(s, 0x100, 5000, NULL);
  cr_expect_str_neq(nid, ids[0]);
  qcc_deadletters_close(&s);
  unlink(p);
}

Test(deadletters, damaged_body_is_refused) {
  struct qcc_deadletters *s = open_store(true, 0, 0);
  const char *id = add(s, 0, 1, "{\"hello\":\"world\"}");
  char p[512];
  snprintf(p, sizeof(p), "%s/%s.body", dldir, id);
  FILE *f = fopen(p, "r+");
  cr_assert_not_null(f);
  fputc('X', f); /* same length, different bytes */
  fclose(f);
  char *body = NULL;
  size_t len = 0;
  struct qcc_err err = {0};
  cr_expect_eq(qcc_deadletters_body(s, id, &body, &len, &err), -1);
  cr_expect_eq(err.code, EBADMSG);
  cr_expect_null(body);
  qcc_deadletters_close(&s);
}

Test(deadletters, restore_without_persistence_drops_bodies) {
  struct qcc_deadletters *s = open_store(true, 0, 0);
  char id[QCC_DL_ID_MAX];
  snprintf(id, sizeof(id), "%s", add(s, 0, 1, "{\"a\":1}"));
  qcc_deadletters_close(&s);
  cr_assert(file_exists(id, "body", NULL));
  s = open_store(false, 0, 0);
  cr_assert_not_null(qcc_deadletters_get(s, id));
  cr_expect_not(qcc_deadletters_get(s, id)->body_kept);
  cr_expect_not(file_exists(id, "body", NULL));
  qcc_deadletters_close(&s);
}

Test(deadletters, remove_and_clear) {
  struct qcc_deadletters *s = open_store(true, 0, 0);
  char a[QCC_DL_ID_MAX];
  snprintf(a, sizeof(a), "%s", add(s, 0, 1, "{}"));
  add(s, 0, 2, "{}");
  add(s, 0, 3, "{}");
  struct qcc_err err = {0};
  cr_expect_eq(qcc_deadletters_remove(s, a, &err), 0);
  cr_expect_null(qcc_deadletters_get(s, a));
  cr_expect_not(file_exists(a, "meta", NULL));
  cr_expect_not(file_exists(a, "body", NULL));
  cr_expect_eq(qcc_deadletters_remove(s, a, &err), -1);
  cr_expect_eq(err.code, ENOENT);
  cr_expect_eq(qcc_deadletters_clear(s, &err), 0);
  cr_expect_eq(qcc_deadletters_count(s), 0);
  cr_expect_eq(count_files(), 0);
  qcc_deadletters_close(&s);
  s = open_store(true, 0, 0);
  cr_expect_eq(qcc_deadletters_count(s), 0);
  qcc_deadletters_close(&s);
}

/* docs/queue.md's ".meta fields" table and the writer agree, both ways and
 * in order. */
Test(deadletters, meta_fields_match_the_doc) {
  const char *root = getenv("QCC_SOURCE_ROOT");
  cr_assert_not_null(root, "QCC_SOURCE_ROOT not set (run through meson test)");
  char p[1024];
  snprintf(p, sizeof(p), "%s/docs/queue.md", root);
  char *doc = slurp(p, NULL);
  cr_assert_not_null(doc, "cannot read %s", p);
  char *sec = strstr(doc, "### `.meta` fields");
  cr_assert_not_null(sec);
  char names[32][32];
  size_t nn = 0;
  char *line = strchr(sec, '\n');
  while (line != NULL && nn < 32) {
    line++;
    if (strncmp(line, "### ", 4) == 0 || strncmp(line, "## ", 3) == 0)
      break;
    if (strncmp(line, "| `", 3) == 0) {
      char *end = strchr(line + 3, '`');
      cr_assert_not_null(end);
      snprintf(names[nn], sizeof(names[nn]), "%.*s", (int)(end - line - 3), line + 3);
      nn++;
    }
    line = strchr(line, '\n');
  }
  free(doc);
  cr_assert_gt(nn, 5);

  struct qcc_deadletters *s = open_store(true, 0, 0);
  const char *id = add(s, 0, 1, "{}");
  snprintf(p, sizeof(p), "%s/%s.meta", dldir, id);
  char *text = slurp(p, NULL);
  json_t *o = json_loads(text, JSON_PRESERVE_ORDER, NULL);
  cr_assert_not_null(o);
  cr_expect_eq(json_object_size(o), nn, "the doc lists %zu fields, the file has %zu", nn,
               json_object_size(o));
  size_t i = 0;
  const char *key;
  json_t *v;
  json_object_foreach(o, key, v) {
    cr_expect(i < nn && strcmp(key, names[i]) == 0, "field %zu is %s, the doc says %s", i, key,
              i < nn ? names[i] : "(none)");
    i++;
  }
  json_decref(o);
  free(text);
  qcc_deadletters_close(&s);
}
