#include "compiler/instance.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compiler/adminclient.h"
#include "schema/enums.h"
#include "schema/fileio.h"
#include "schema/statedir.h"
#include "schema/table.h"

#define RUN_INFO_CAP (64u << 10)
#define LOG_SCAN_BYTES (256u << 10) /* the start line is near the end */

struct qcc_instance {
  char dir[QCC_INSTANCE_PATH_MAX];
  char pidfile[QCC_INSTANCE_PATH_MAX];
  char errlog[QCC_INSTANCE_PATH_MAX];
  char accesslog[QCC_INSTANCE_PATH_MAX];
  char runinfo[QCC_INSTANCE_PATH_MAX];
  char socket[QCC_INSTANCE_PATH_MAX];
};

int qcc_instance_new(const char *state_dir_flag, struct qcc_instance **out, struct qcc_err *err) {
  *out = NULL;
  char dir[QCC_INSTANCE_PATH_MAX];
  if (qcc_statedir_resolve(state_dir_flag, dir, sizeof dir, err) != 0) return -1;
  if (qcc_statedir_ensure(dir, err) != 0) return -1;
  struct qcc_instance *i = calloc(1, sizeof *i);
  if (i == NULL) return qcc_err_set(err, ENOMEM, "out of memory");
  if (realpath(dir, i->dir) == NULL) {
    int e = errno;
    free(i);
    return qcc_err_set(err, e, "%s: %s", dir, strerror(e));
  }
  if (qcc_statedir_path(i->dir, "qcc-run.pid", i->pidfile, sizeof i->pidfile, err) != 0 ||
      qcc_statedir_path(i->dir, "qcc-run.log", i->errlog, sizeof i->errlog, err) != 0 ||
      qcc_statedir_path(i->dir, "access.log", i->accesslog, sizeof i->accesslog, err) != 0 ||
      qcc_statedir_path(i->dir, "run.json", i->runinfo, sizeof i->runinfo, err) != 0 ||
      qcc_statedir_path(i->dir, "admin.sock", i->socket, sizeof i->socket, err) != 0) {
    free(i);
    return -1;
  }
  *out = i;
  return 0;
}

void qcc_instance_free(struct qcc_instance **inst) {
  if (inst == NULL || *inst == NULL) return;
  free(*inst);
  *inst = NULL;
}

const char *qcc_instance_dir(const struct qcc_instance *i) { return i->dir; }
const char *qcc_instance_pidfile(const struct qcc_instance *i) { return i->pidfile; }
const char *qcc_instance_errlog(const struct qcc_instance *i) { return i->errlog; }
const char *qcc_instance_accesslog(const struct qcc_instance *i) { return i->accesslog; }
const char *qcc_instance_socket(const struct qcc_instance *i) { return i->socket; }

/* /proc/PID/comm is "qcc-run": the pid was not reused by something else. */
static bool is_qcc_run(pid_t pid) {
  char path[64], comm[64] = "";
  snprintf(path, sizeof path, "/proc/%ld/comm", (long)pid);
  FILE *f = fopen(path, "r");
  if (f == NULL) return errno != ENOENT; /* no /proc: trust kill(0) */
  bool ok = fgets(comm, sizeof comm, f) != NULL;
  fclose(f);
  return ok && strncmp(comm, "qcc-run", 7) == 0 && (comm[7] == '\n' || comm[7] == '\0');
}

bool qcc_instance_alive(pid_t pid) {
  if (kill(pid, 0) != 0 && errno == ESRCH) return false;
  char path[64], buf[512];
  snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
  FILE *f = fopen(path, "r");
  if (f == NULL) return errno != ENOENT; /* no /proc: trust kill(0) */
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  /* "PID (comm) STATE ...": comm may hold ')' itself, so the last one */
  const char *rp = strrchr(buf, ')');
  return rp == NULL || rp[1] != ' ' || (rp[2] != 'Z' && rp[2] != 'X');
}

pid_t qcc_instance_pid(const struct qcc_instance *i) {
  void *buf = NULL;
  size_t len = 0;
  struct qcc_err err = {0};
  if (qcc_file_read(i->pidfile, 64, &buf, &len, &err) != 0) return 0;
  char *end = NULL;
  errno = 0;
  long v = strtol(buf, &end, 10);
  bool good = errno == 0 && end != buf && v > 1 && v < INT_MAX && (*end == '\n' || *end == '\0');
  free(buf);
  if (!good) return 0;
  pid_t pid = (pid_t)v;
  if (!qcc_instance_alive(pid)) return 0;
  return is_qcc_run(pid) ? pid : 0;
}

int qcc_instance_healthz(const struct qcc_instance *i, uint64_t *generation, struct qcc_err *err) {
  struct qcc_admin_reply r = {0};
  if (qcc_admin_call(i->socket, "GET", "/healthz", NULL, 2000, &r, err) != 0) return -1;
  int rc = 0;
  json_t *g = r.json != NULL ? json_object_get(r.json, "generation") : NULL;
  if (r.status != 200 || !json_is_integer(g))
    rc = qcc_err_set(err, QCC_ADMIN_BAD_REPLY, "qcc-run answers /healthz with %d: %s", r.status,
                     qcc_admin_reply_error_text(&r));
  else
    *generation = (uint64_t)json_integer_value(g);
  qcc_admin_reply_free(&r);
  return rc;
}

void qcc_instance_reload_error(const struct qcc_instance *i, char *buf, size_t cap) {
  buf[0] = '\0';
  struct qcc_admin_reply r = {0};
  struct qcc_err err = {0};
  if (qcc_admin_call(i->socket, "GET", "/status", NULL, 2000, &r, &err) != 0) return;
  json_t *lr = r.json != NULL ? json_object_get(r.json, "last_reload") : NULL;
  json_t *e = json_is_object(lr) ? json_object_get(lr, "error") : NULL;
  if (json_is_string(e)) snprintf(buf, cap, "%s", json_string_value(e));
  qcc_admin_reply_free(&r);
}

int qcc_instance_served_table(const struct qcc_instance *i, char *out, size_t cap) {
  struct qcc_admin_reply r = {0};
  struct qcc_err err = {0};
  if (qcc_admin_call(i->socket, "GET", "/status", NULL, 2000, &r, &err) != 0) return -1;
  json_t *t = r.json != NULL ? json_object_get(r.json, "table") : NULL;
  const char *p = json_is_object(t) ? json_string_value(json_object_get(t, "path")) : NULL;
  int rc = -1;
  if (p != NULL && p[0] == '/' && strlen(p) < cap) {
    snprintf(out, cap, "%s", p);
    rc = 0;
  } else if (p != NULL && realpath(p, out) != NULL) {
    rc = 0;
  }
  qcc_admin_reply_free(&r);
  return rc;
}

static void copy_field(json_t *j, const char *key, char *out, size_t cap) {
  const char *v = json_string_value(json_object_get(j, key));
  snprintf(out, cap, "%s", v != NULL ? v : "");
}

int qcc_instance_info_load(const struct qcc_instance *i, struct qcc_run_info *info, struct qcc_err *err) {
  memset(info, 0, sizeof *info);
  void *buf = NULL;
  size_t len = 0;
  if (qcc_file_read(i->runinfo, RUN_INFO_CAP, &buf, &len, err) != 0) return -1;
  json_error_t je;
  json_t *j = json_loadb(buf, len, 0, &je);
  free(buf);
  if (!json_is_object(j)) {
    json_decref(j);
    return qcc_err_set(err, EINVAL, "%s: not a JSON object", i->runinfo);
  }
  json_int_t v = json_integer_value(json_object_get(j, "version"));
  if (v != QCC_RUN_INFO_VERSION) {
    json_decref(j);
    return qcc_err_set(err, EINVAL, "%s: version %lld, not %d: written by another qccc", i->runinfo,
                       (long long)v, QCC_RUN_INFO_VERSION);
  }
  copy_field(j, "config", info->config, sizeof info->config);
  copy_field(j, "table", info->table, sizeof info->table);
  copy_field(j, "listen", info->listen, sizeof info->listen);
  copy_field(j, "url", info->url, sizeof info->url);
  json_decref(j);
  return 0;
}

int qcc_instance_info_save(const struct qcc_instance *i, const struct qcc_run_info *info, struct qcc_err *err) {
  json_t *j = json_pack("{s:i, s:s, s:s, s:s, s:s}", "version", QCC_RUN_INFO_VERSION, "config", info->config,
                        "table", info->table, "listen", info->listen, "url", info->url);
  char *text = j != NULL ? json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
  json_decref(j);
  if (text == NULL) return qcc_err_set(err, ENOMEM, "out of memory");
  size_t n = strlen(text);
  char *line = malloc(n + 2);
  if (line == NULL) {
    free(text);
    return qcc_err_set(err, ENOMEM, "out of memory");
  }
  memcpy(line, text, n);
  line[n] = '\n';
  free(text);
  int rc = qcc_file_replace(i->runinfo, line, n + 1, 0600, err);
  free(line);
  return rc;
}

int qcc_instance_logged_url(const struct qcc_instance *i, char *url, size_t cap) {
  FILE *f = fopen(i->errlog, "r");
  if (f == NULL) return -1;
  struct stat st;
  if (fstat(fileno(f), &st) == 0 && st.st_size > (off_t)LOG_SCAN_BYTES)
    fseeko(f, st.st_size - (off_t)LOG_SCAN_BYTES, SEEK_SET);
  static const char mark[] = "qcc-run listening on ";
  char line[8192];
  int found = -1;
  while (fgets(line, sizeof line, f) != NULL) {
    char *p = strstr(line, mark);
    if (p == NULL) continue;
    p += sizeof mark - 1;
    size_t n = strcspn(p, ", \n");
    if (n == 0 || n >= cap) continue;
    memcpy(url, p, n);
    url[n] = '\0';
    found = 0;
  }
  fclose(f);
  return found;
}

static bool executable(const char *path) { return access(path, X_OK) == 0; }

int qcc_instance_program(char *out, size_t cap, struct qcc_err *err) {
  const char *env = getenv("QCC_RUN");
  char cand[QCC_INSTANCE_PATH_MAX];
  if (env != NULL && *env != '\0') {
    if (realpath(env, cand) == NULL || !executable(cand))
      return qcc_err_set(err, ENOENT, "QCC_RUN=%s: not an executable", env);
    snprintf(out, cap, "%s", cand);
    return 0;
  }
  char self[QCC_INSTANCE_PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n > 0) {
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (slash != NULL) {
      *slash = '\0';
      const char *rel[] = {"/qcc-run", "/../runtime/qcc-run"};
      for (size_t k = 0; k < 2; k++) {
        int len = snprintf(cand, sizeof cand, "%s%s", self, rel[k]);
        if (len < 0 || (size_t)len >= sizeof cand) continue; /* too long to be ours */
        char real[QCC_INSTANCE_PATH_MAX];
        if (executable(cand) && realpath(cand, real) != NULL) {
          snprintf(out, cap, "%s", real);
          return 0;
        }
      }
    }
  }
  const char *path = getenv("PATH");
  while (path != NULL && *path != '\0') {
    size_t len = strcspn(path, ":");
    snprintf(cand, sizeof cand, "%.*s/qcc-run", (int)len, path);
    if (len > 0 && cand[0] == '/' && executable(cand)) {
      snprintf(out, cap, "%s", cand);
      return 0;
    }
    path += len + (path[len] == ':');
  }
  return qcc_err_set(err, ENOENT, "qcc-run not found beside qccc nor on PATH (set QCC_RUN=/path/to/qcc-run)");
}

static int open_table(const char *table, struct qcc_table **t, struct qcc_err *err) {
  struct qcc_table_error te;
  if (qcc_table_open(table, t, &te) != 0)
    return qcc_err_set(err, EINVAL, "%s: %s (build it with `qccc build`)", table, te.message);
  return 0;
}

int qcc_instance_table_url(const char *table, const char *listen, char *out, size_t cap,
                           struct qcc_err *err) {
  struct qcc_table *t = NULL;
  if (open_table(table, &t, err) != 0) return -1;
  const struct qcc_tbl_settings *s = qcc_table_settings(t);
  const char *scheme = s->ssl_enabled ? "https" : "http";
  char host[256];
  unsigned port = s->port;
  if (listen != NULL && *listen != '\0') {
    const char *colon = strrchr(listen, ':');
    if (colon == NULL) {
      qcc_table_close(&t);
      return qcc_err_set(err, EINVAL, "--listen %s: expected HOST:PORT", listen);
    }
    snprintf(host, sizeof host, "%.*s", (int)(colon - listen), listen);
    port = (unsigned)strtoul(colon + 1, NULL, 10);
  } else {
    snprintf(host, sizeof host, "%s", qcc_table_str(t, s->host));
  }
  qcc_table_close(&t);
  if (strcmp(host, "0.0.0.0") == 0 || host[0] == '\0') snprintf(host, sizeof host, "127.0.0.1");
  else if (strcmp(host, "::") == 0 || strcmp(host, "[::]") == 0) snprintf(host, sizeof host, "[::1]");
  bool v6 = strchr(host, ':') != NULL && host[0] != '[';
  snprintf(out, cap, "%s://%s%s%s:%u", scheme, v6 ? "[" : "", host, v6 ? "]" : "", port);
  return 0;
}

int qcc_instance_client_token(const char *table, char **token, char *ref, size_t refcap,
                              struct qcc_err *err) {
  *token = NULL;
  snprintf(ref, refcap, "none");
  struct qcc_table *t = NULL;
  if (open_table(table, &t, err) != 0) return -1;
  if (qcc_table_token_count(t) == 0) {
    qcc_table_close(&t);
    return 0;
  }
  const struct qcc_tbl_token *tok = qcc_table_token(t, 0);
  const char *v = qcc_table_str(t, tok->key.value);
  int rc = 0;
  switch (tok->key.kind) {
  case QCC_KEY_ENV: {
    snprintf(ref, refcap, "env:%s", v);
    const char *val = getenv(v);
    if (val == NULL || *val == '\0') rc = qcc_err_set(err, ENOENT, "client token env:%s is not set here", v);
    else *token = strdup(val);
    if (rc == 0 && *token == NULL) rc = qcc_err_set(err, ENOMEM, "out of memory");
    break;
  }
  case QCC_KEY_FILE: {
    snprintf(ref, refcap, "file:%s", v);
    void *buf = NULL;
    size_t len = 0;
    if (qcc_file_read(v, 64u << 10, &buf, &len, err) != 0) {
      rc = qcc_err_wrap(err, "client token");
      break;
    }
    char *s = buf;
    while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == '\r' || s[len - 1] == ' ')) s[--len] = '\0';
    if (len == 0) {
      free(buf);
      rc = qcc_err_set(err, EINVAL, "client token file:%s is empty", v);
    } else {
      *token = s;
    }
    break;
  }
  case QCC_KEY_LITERAL:
    snprintf(ref, refcap, "literal");
    *token = strdup(v);
    if (*token == NULL) rc = qcc_err_set(err, ENOMEM, "out of memory");
    break;
  default:
    rc = qcc_err_set(err, EINVAL, "client token: unknown kind %u", tok->key.kind);
  }
  qcc_table_close(&t);
  return rc;
}
