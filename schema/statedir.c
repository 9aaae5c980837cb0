#include "statedir.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int qcc_statedir_resolve(const char *flag, char *out, size_t cap, struct qcc_err *err) {
  const char *env = getenv(QCC_STATE_DIR_ENV);
  const char *home = getenv("HOME");
  int n;
  if (flag != NULL && flag[0] != '\0')
    n = snprintf(out, cap, "%s", flag);
  else if (env != NULL && env[0] != '\0')
    n = snprintf(out, cap, "%s", env);
  else if (home != NULL && home[0] != '\0')
    n = snprintf(out, cap, "%s/%s", home, QCC_STATE_DIR_DEFAULT);
  else
    return qcc_err_set(err, ENOENT,
                       "no state directory: pass --state-dir DIR or set " QCC_STATE_DIR_ENV
                       " (HOME is not set either)");
  if (n < 0 || (size_t)n >= cap) return qcc_err_set(err, ENAMETOOLONG, "state directory path too long");
  /* "dir/" and "dir" are the same directory; keep one spelling in messages. */
  size_t len = (size_t)n;
  while (len > 1 && out[len - 1] == '/') out[--len] = '\0';
  return 0;
}

static int mkdir_one(const char *path, struct qcc_err *err) {
  if (mkdir(path, 0700) == 0) return 0;
  if (errno != EEXIST)
    return qcc_err_set(err, errno, "cannot create state directory %s: %s", path, strerror(errno));
  struct stat st;
  if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
    return qcc_err_set(err, ENOTDIR, "%s exists and is not a directory", path);
  return 0;
}

int qcc_statedir_ensure(const char *dir, struct qcc_err *err) {
  char p[4096];
  size_t len = strlen(dir);
  if (len == 0 || len >= sizeof p) return qcc_err_set(err, ENAMETOOLONG, "bad state directory path");
  memcpy(p, dir, len + 1);
  struct stat st;
  if (stat(p, &st) == 0) {
    if (!S_ISDIR(st.st_mode)) return qcc_err_set(err, ENOTDIR, "%s exists and is not a directory", p);
    return 0;
  }
  /* Parents are created 0700 too: they did not exist, so nobody relies on
   * them being wider. */
  for (size_t i = 1; i < len; i++) {
    if (p[i] != '/') continue;
    p[i] = '\0';
    int rc = mkdir_one(p, err);
    p[i] = '/';
    if (rc != 0) return -1;
  }
  return mkdir_one(p, err);
}

int qcc_statedir_path(const char *dir, const char *name, char *out, size_t cap,
                      struct qcc_err *err) {
  int n = snprintf(out, cap, "%s/%s", dir, name);
  if (n < 0 || (size_t)n >= cap) return qcc_err_set(err, ENAMETOOLONG, "path too long: %s/%s", dir, name);
  return 0;
}

const char *qcc_statedir_take_flag(int *argc, char **argv, bool *missing) {
  const char *val = NULL;
  *missing = false;
  for (int i = 0; i < *argc; i++) {
    int take = 0;
    if (strcmp(argv[i], "--state-dir") == 0) {
      if (i + 1 >= *argc) {
        *missing = true;
        take = 1;
      } else {
        val = argv[i + 1];
        take = 2;
      }
    } else if (strncmp(argv[i], "--state-dir=", 12) == 0) {
      val = argv[i] + 12;
      if (*val == '\0') *missing = true;
      take = 1;
    }
    if (take == 0) continue;
    memmove(&argv[i], &argv[i + take], (size_t)(*argc - i - take) * sizeof *argv);
    *argc -= take;
    argv[*argc] = NULL;
    i--;
  }
  return val;
}
