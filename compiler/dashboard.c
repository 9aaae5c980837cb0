#include "compiler/dashboard.h"

#include <fcntl.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "compiler/adminclient.h"
#include "compiler/argscan.h"

extern char **environ;

/* A browser can be started: a display and xdg-open on PATH. */
static bool can_open(void) {
  const char *d = getenv("DISPLAY"), *w = getenv("WAYLAND_DISPLAY");
  if ((d == NULL || d[0] == '\0') && (w == NULL || w[0] == '\0')) return false;
  const char *path = getenv("PATH");
  if (path == NULL) return false;
  char dir[4096];
  for (const char *p = path; *p != '\0';) {
    size_t n = strcspn(p, ":");
    snprintf(dir, sizeof dir, "%.*s/xdg-open", (int)n, p);
    if (n > 0 && access(dir, X_OK) == 0) return true;
    p += n;
    if (*p == ':') p++;
  }
  return false;
}

/* xdg-open URL, its output to /dev/null; waits for it (it returns once the
 * browser got the URL). The URL is not on any command line but this one's
 * child, which is ours and short-lived. */
static int open_url(const char *url) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  char *argv[] = {"xdg-open", (char *)url, NULL};
  pid_t pid;
  int rc = posix_spawnp(&pid, "xdg-open", &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return -1;
  int st = 0;
  if (waitpid(pid, &st, 0) < 0) return -1;
  return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

int qccc_dashboard_cmd(int argc, char **argv, FILE *out, FILE *err) {
  const char *state_dir = NULL;
  bool no_open = false;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--no-open") == 0) {
      no_open = true;
    } else if (qcc_arg_is(argv[i], "--state-dir")) {
      state_dir = qcc_arg_value(argc, argv, &i, "--state-dir");
      if (state_dir == NULL) {
        fprintf(err, "qccc dashboard: --state-dir needs a directory\n");
        return 2;
      }
    } else {
      fprintf(err, "qccc dashboard: unexpected argument %s (see qccc dashboard --help)\n", argv[i]);
      return 2;
    }
  }
  char sock[4200];
  struct qcc_err e = {0};
  struct qcc_admin_reply r = {0};
  if (qcc_admin_socket_path(state_dir, sock, sizeof sock, &e) != 0 ||
      qcc_admin_call(sock, "POST", "/qcc/login-link", NULL, 5000, &r, &e) != 0) {
    fprintf(err, "qccc dashboard: %s\n", e.msg);
    return 1;
  }
  const char *url = r.json != NULL ? json_string_value(json_object_get(r.json, "url")) : NULL;
  if (r.status != 200 || url == NULL) {
    fprintf(err, "qccc dashboard: qcc-run: %s\n",
            r.status == 404 ? "this qcc-run has no status page (older version?)"
                            : qcc_admin_reply_error_text(&r));
    qcc_admin_reply_free(&r);
    return 1;
  }
  json_int_t ttl = json_integer_value(json_object_get(r.json, "expires_in_s"));
  fprintf(out, "%s\n", url);
  fprintf(err, "the link works once, for %lld s; it sets a session cookie for /qcc/\n",
          (long long)ttl);
  if (!no_open && can_open()) {
    if (open_url(url) != 0) fprintf(err, "could not open a browser: open the link above\n");
  }
  qcc_admin_reply_free(&r);
  return 0;
}
