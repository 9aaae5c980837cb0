#include "daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "schema/fileio.h"

/* The daemon tells the first parent how the start went: 'R' once serving,
 * or 'F' and the exit status; its stderr goes to the parent meanwhile, which
 * shows it only when the start failed (a daemon has no terminal to say why). */
static int daemon_status_fd = -1;
#define DAEMON_MSG_CAP 8192

/* The first parent: collect the daemon's stderr until it closes, then its
 * status. Returns the exit status for `qcc-run --daemon`. */
static int daemon_wait(int status_fd, int msg_fd) {
  char msg[DAEMON_MSG_CAP];
  size_t len = 0;
  for (;;) {
    char buf[1024];
    ssize_t n = read(msg_fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if ((size_t)n > sizeof msg - len) { /* keep the newest: the reason is last */
      size_t drop = (size_t)n - (sizeof msg - len);
      if (drop > len) drop = len;
      memmove(msg, msg + drop, len - drop);
      len -= drop;
    }
    size_t take = (size_t)n < sizeof msg - len ? (size_t)n : sizeof msg - len;
    memcpy(msg + len, buf + (size_t)n - take, take);
    len += take;
  }
  unsigned char st[2] = {0, 0};
  size_t got = 0;
  while (got < sizeof st) {
    ssize_t n = read(status_fd, st + got, sizeof st - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += (size_t)n;
  }
  if (got >= 1 && st[0] == 'R') return 0;
  int rc = got == 2 && st[0] == 'F' && st[1] != 0 ? st[1] : 1;
  if (len > 0) fwrite(msg, 1, len, stderr);
  fprintf(stderr, "qcc-run: --daemon: the daemon did not start (exit status %d)%s\n", rc,
          len == 0 ? "; it died without a reason, see --log" : "");
  return rc;
}

/* Double fork: the first parent exits with 0 once the grandchild says the
 * listener is up, else with the daemon's status and its reason on stderr,
 * so `qcc-run --daemon` in a script fails like a foreground start would. */
int qcc_daemon_start(void) {
  int st[2], msg[2];
  if (pipe2(st, O_CLOEXEC) != 0) return -1;
  if (pipe2(msg, O_CLOEXEC) != 0) {
    close(st[0]);
    close(st[1]);
    return -1;
  }
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid > 0) {
    close(st[1]);
    close(msg[1]);
    _exit(daemon_wait(st[0], msg[0]));
  }
  close(st[0]);
  close(msg[0]);
  if (setsid() < 0) {
    fprintf(stderr, "qcc-run: --daemon: setsid: %s\n", strerror(errno));
    _exit(1);
  }
  pid = fork();
  if (pid < 0) {
    fprintf(stderr, "qcc-run: --daemon: fork: %s\n", strerror(errno));
    _exit(1);
  }
  if (pid > 0) _exit(0);
  if (chdir("/") != 0) _exit(1);
  int null = open("/dev/null", O_RDWR);
  if (null >= 0) {
    dup2(null, STDIN_FILENO);
    dup2(null, STDOUT_FILENO);
    if (null > STDERR_FILENO) close(null);
  }
  dup2(msg[1], STDERR_FILENO); /* start-up errors reach the waiting parent */
  close(msg[1]);
  daemon_status_fd = st[1];
  return 0;
}

/* Serving: tell the parent, and stderr goes to /dev/null from now on. */
void qcc_daemon_ready(void) {
  if (daemon_status_fd < 0) return;
  ssize_t n = write(daemon_status_fd, "R", 1);
  (void)n;
  fflush(stderr);
  int null = open("/dev/null", O_WRONLY);
  if (null >= 0) {
    dup2(null, STDERR_FILENO);
    if (null != STDERR_FILENO) close(null);
  }
  close(daemon_status_fd);
  daemon_status_fd = -1;
}

/* The start failed with RC: the parent exits with it. */
void qcc_daemon_failed(int rc) {
  if (daemon_status_fd < 0) return;
  fflush(stderr);
  unsigned char m[2] = {'F', (unsigned char)(rc > 0 && rc < 256 ? rc : 1)};
  ssize_t n = write(daemon_status_fd, m, sizeof m);
  (void)n;
  close(daemon_status_fd);
  daemon_status_fd = -1;
}

/* PATH made absolute against the working directory (a daemon leaves it). */
int qcc_daemon_absolute(const char *path, char *out, size_t cap) {
  if (path[0] == '/') return snprintf(out, cap, "%s", path) < (int)cap ? 0 : -1;
  char cwd[2048];
  if (getcwd(cwd, sizeof cwd) == NULL) return -1;
  return snprintf(out, cap, "%s/%s", cwd, path) < (int)cap ? 0 : -1;
}

/* The pid in FILE when it names a live qcc-run, else 0. */
pid_t qcc_pidfile_live(const char *file) {
  FILE *f = fopen(file, "r");
  if (f == NULL) return 0;
  long pid = 0;
  int ok = fscanf(f, "%ld", &pid);
  fclose(f);
  if (ok != 1 || pid <= 0 || pid == (long)getpid()) return 0;
  if (kill((pid_t)pid, 0) != 0 && errno != EPERM) return 0;
  char path[64], comm[64] = "";
  snprintf(path, sizeof path, "/proc/%ld/comm", pid);
  f = fopen(path, "r");
  if (f == NULL) return 0;
  if (fgets(comm, sizeof comm, f) == NULL) comm[0] = '\0';
  fclose(f);
  return strncmp(comm, "qcc-run", 7) == 0 ? (pid_t)pid : 0;
}

int qcc_pidfile_write(const char *file, struct qcc_err *err) {
  char buf[32];
  int n = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
  if (qcc_file_replace(file, buf, (size_t)n, 0600, err) != 0) return qcc_err_wrap(err, "pidfile");
  return 0;
}

/* Remove FILE only while it still names us (a successor may own it). */
void qcc_pidfile_remove(const char *file) {
  FILE *f = fopen(file, "r");
  if (f == NULL) return;
  long pid = 0;
  int ok = fscanf(f, "%ld", &pid);
  fclose(f);
  if (ok == 1 && pid == (long)getpid()) unlink(file);
}

