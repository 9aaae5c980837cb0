/* Scenario tests: the real qcc-run on 127.0.0.1 (port chosen by the kernel),
 * tables written by qcc-test-mktable (and one by qccc), requests over raw
 * sockets, tools/mock-upstream where an upstream is needed. Every process
 * started here is stopped in the fini (SIGTERM, then SIGKILL), every wait is
 * bounded. Env: QCC_TEST_RUN, QCC_TEST_MKTABLE, QCC_TEST_MOCK, QCC_TEST_QCCC
 * (set by meson), optional QCC_RUN_WRAPPER (e.g. valgrind). */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TOKEN_ENV "QCC_TEST_CLIENT_TOKEN"
#define TOKEN_VALUE "tok-7f3a9c-never-logged"

struct runner {
  char dir[64];
  char table[128];
  char errlog[128];
  char alog[128];
  pid_t pid;
  int port;
};

static struct runner R;
static pid_t mock_pid = -1;
static rlim_t child_nofile; /* 0 = inherit */

static long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static const char *env_or_die(const char *name) {
  const char *v = getenv(name);
  cr_assert(v != NULL && v[0] != '\0', "%s is not set (run through meson test)", name);
  return v;
}

/* Run qcc-test-mktable OUT ARGS... and wait for it. */
static int mktable(const char *out, const char *const *args) {
  const char *argv[32];
  int n = 0;
  argv[n++] = env_or_die("QCC_TEST_MKTABLE");
  argv[n++] = out;
  for (int i = 0; args != NULL && args[i] != NULL && n < 31; i++) argv[n++] = args[i];
  argv[n] = NULL;
  pid_t pid = fork();
  if (pid == 0) {
    execv(argv[0], (char *const *)argv);
    _exit(127);
  }
  int st = 0;
  waitpid(pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char *slurp(const char *path) {
  FILE *f = fopen(path, "r");
  if (f == NULL) return strdup("");
  char *buf = calloc(1, 1 << 20);
  size_t n = fread(buf, 1, (1 << 20) - 1, f);
  buf[n] = '\0';
  fclose(f);
  return buf;
}

/* Wait (bounded) until the error log contains NEEDLE. */
static bool log_has(const char *needle, long timeout_ms) {
  long end = now_ms() + timeout_ms;
  do {
    char *s = slurp(R.errlog);
    bool found = strstr(s, needle) != NULL;
    free(s);
    if (found) return true;
    sleep_ms(20);
  } while (now_ms() < end);
  return false;
}

static void start_run_with(const char *const *table_args, const char *listen) {
  memset(&R, 0, sizeof R);
  R.pid = -1;
  snprintf(R.dir, sizeof R.dir, "/tmp/qcc-rt-XXXXXX");
  cr_assert_not_null(mkdtemp(R.dir));
  snprintf(R.table, sizeof R.table, "%s/table.bin", R.dir);
  snprintf(R.errlog, sizeof R.errlog, "%s/err.log", R.dir);
  snprintf(R.alog, sizeof R.alog, "%s/access.log", R.dir);
  cr_assert_eq(mktable(R.table, table_args), 0, "mktable failed");
  const char *run = env_or_die("QCC_TEST_RUN");
  R.pid = fork();
  cr_assert_geq(R.pid, 0);
  if (R.pid == 0) {
    int fd = open(R.errlog, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fd, 2);
    dup2(fd, 1);
    setenv(TOKEN_ENV, TOKEN_VALUE, 1);
    if (child_nofile != 0) {
      struct rlimit rl = {child_nofile, child_nofile};
      setrlimit(RLIMIT_NOFILE, &rl);
    }
    /* QCC_RUN_WRAPPER="valgrind --error-exitcode=99 --leak-check=full" runs
     * qcc-run under a checker; a checker error then fails the exit-status
     * check after SIGTERM. */
    const char *argv[40];
    int n = 0;
    char *wrap = getenv("QCC_RUN_WRAPPER") != NULL ? strdup(getenv("QCC_RUN_WRAPPER")) : NULL;
    for (char *save = NULL, *w = wrap != NULL ? strtok_r(wrap, " ", &save) : NULL;
         w != NULL && n < 30; w = strtok_r(NULL, " ", &save))
      argv[n++] = w;
    const char *rest[] = {run, "--state-dir", R.dir, "--listen", listen, "--access-log", R.alog,
                          R.table, NULL};
    for (int i = 0; rest[i] != NULL; i++) argv[n++] = rest[i];
    argv[n] = NULL;
    execvp(argv[0], (char *const *)argv);
    _exit(127);
  }
}

static void start_run_on(const char *const *table_args, const char *listen) {
  start_run_with(table_args, listen);
  cr_assert(log_has("listening on http://", 5000), "qcc-run did not start");
  char *s = slurp(R.errlog);
  const char *p = strstr(s, "listening on http://");
  cr_assert_not_null(p, "no address in: %s", s);
  const char *comma = strchr(p, ',');
  cr_assert_not_null(comma, "%s", s);
  const char *colon = comma;
  while (colon > p && *colon != ':') colon--;
  R.port = atoi(colon + 1); /* the kernel's choice for port 0 */
  free(s);
  cr_assert_gt(R.port, 0);
}

static void start_run(const char *const *table_args) { start_run_on(table_args, "127.0.0.1:0"); }

/* Wait for the child to exit; returns its exit status or -1 on timeout. */
static int wait_exit(long timeout_ms) {
  long end = now_ms() + timeout_ms;
  while (now_ms() < end) {
    int st = 0;
    pid_t r = waitpid(R.pid, &st, WNOHANG);
    if (r == R.pid) {
      R.pid = -1;
      return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    }
    sleep_ms(10);
  }
  return -1;
}

static void stop_run(void) {
  if (mock_pid > 0) {
    kill(mock_pid, SIGKILL);
    waitpid(mock_pid, NULL, 0);
    mock_pid = -1;
  }
  /* A graceful stop first, so a sanitizer build reports leaks and errors. */
  int rc = -2;
  if (R.pid > 0) {
    kill(R.pid, SIGTERM);
    rc = wait_exit(8000);
  }
  if (R.pid > 0) {
    kill(R.pid, SIGKILL);
    waitpid(R.pid, NULL, 0);
    R.pid = -1;
  }
  char *e = R.errlog[0] != '\0' ? slurp(R.errlog) : strdup("");
  bool sanitizer = strstr(e, "Sanitizer") != NULL || strstr(e, "runtime error:") != NULL;
  if (sanitizer) fprintf(stderr, "%s\n", e);
  free(e);
  char cmd[160];
  if (R.dir[0] != '\0') {
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", R.dir);
    int sr = system(cmd);
    (void)sr;
  }
  cr_assert(!sanitizer, "qcc-run reported a sanitizer error (log above)");
  cr_assert(rc == -2 || rc == 0, "qcc-run exit status %d after SIGTERM", rc);
}

/* ---- raw HTTP -------------------------------------------------------------- */

static int conn(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  cr_assert_geq(fd, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)R.port),
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0, "connect: %s", strerror(errno));
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

static void send_all(int fd, const char *p, size_t len) {
  while (len > 0) {
    ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
    if (n <= 0) return; /* the server may close early on purpose (413, 431) */
    p += n;
    len -= (size_t)n;
  }
}

/* Read until EOF, TIMEOUT, or (when UNTIL is set) until UNTIL appears COUNT times. */
static size_t recv_until(int fd, char *buf, size_t cap, long timeout_ms, const char *until,
                         int count) {
  size_t len = 0;
  long end = now_ms() + timeout_ms;
  buf[0] = '\0';
  while (len + 1 < cap) {
    long left = end - now_ms();
    if (left <= 0) break;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, (int)left) <= 0) break;
    ssize_t n = recv(fd, buf + len, cap - 1 - len, 0);
    if (n <= 0) break;
    len += (size_t)n;
    buf[len] = '\0';
    if (until != NULL) {
      int seen = 0;
      for (const char *s = strstr(buf, until); s != NULL; s = strstr(s + 1, until)) seen++;
      if (seen >= count) break;
    }
  }
  return len;
}

static int status_of(const char *resp) {
  int st = 0;
  if (sscanf(resp, "HTTP/1.1 %d", &st) != 1) return -1;
  return st;
}

/* One request on a fresh connection; the whole response (until close) in buf. */
static int roundtrip(const char *req, size_t len, char *buf, size_t cap) {
  int fd = conn();
  send_all(fd, req, len);
  recv_until(fd, buf, cap, 5000, NULL, 0);
  close(fd);
  return status_of(buf);
}

static int get_generation(void) {
  char buf[4096];
  const char req[] = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  if (roundtrip(req, sizeof req - 1, buf, sizeof buf) != 200) return -1;
  const char *b = strstr(buf, "\r\n\r\n");
  if (b == NULL) return -1;
  json_t *o = json_loads(b + 4, 0, NULL);
  if (o == NULL) return -1;
  int g = (int)json_integer_value(json_object_get(o, "generation"));
  json_decref(o);
  return g;
}

static const char *body_of(const char *resp) {
  const char *b = strstr(resp, "\r\n\r\n");
  return b != NULL ? b + 4 : "";
}

static void assert_error_type(const char *resp, const char *type) {
  json_t *o = json_loads(body_of(resp), 0, NULL);
  cr_assert_not_null(o, "body is not JSON: %s", resp);
  cr_assert_str_eq(json_string_value(json_object_get(o, "type")), "error");
  json_t *e = json_object_get(o, "error");
  cr_assert_str_eq(json_string_value(json_object_get(e, "type")), type, "in %s", resp);
  cr_assert_not_null(json_string_value(json_object_get(e, "message")));
  json_decref(o);
}

static const char *const DEFAULT_ARGS[] = {"--gen", "1", NULL};

TestSuite(runtime_serve, .fini = stop_run, .timeout = 60);

/* ---- basic ------------------------------------------------------------------ */

Test(runtime_serve, a01_healthz_reports_generation) {
  const char *const args[] = {"--gen", "5", NULL};
  start_run(args);
  char buf[4096];
  const char req[] = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  cr_assert_eq(roundtrip(req, sizeof req - 1, buf, sizeof buf), 200, "%s", buf);
  json_t *o = json_loads(body_of(buf), 0, NULL);
  cr_assert_not_null(o, "%s", buf);
  cr_assert_str_eq(json_string_value(json_object_get(o, "status")), "ok");
  cr_assert_eq(json_integer_value(json_object_get(o, "generation")), 5);
  json_decref(o);
  const char *rid = strstr(buf, "x-request-id: ");
  cr_assert_not_null(rid, "%s", buf);
  cr_assert_eq(strspn(rid + 14, "0123456789abcdef"), 16, "%s", buf);
}

Test(runtime_serve, a02_check_mode_exit_codes) {
  start_run(DEFAULT_ARGS);
  const char *run = env_or_die("QCC_TEST_RUN");
  char cmd[512];
  snprintf(cmd, sizeof cmd, "'%s' --check '%s' >/dev/null 2>&1", run, R.table);
  int st = system(cmd);
  cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "good table: status %d", st);
  char bad[160];
  snprintf(bad, sizeof bad, "%s/bad.bin", R.dir);
  FILE *f = fopen(bad, "w");
  fputs("this is not a table", f);
  fclose(f);
  snprintf(cmd, sizeof cmd, "'%s' --check '%s' 2>'%s/check.err'", run, bad, R.dir);
  st = system(cmd);
  cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 1, "bad table: status %d", st);
  char errpath[160];
  snprintf(errpath, sizeof errpath, "%s/check.err", R.dir);
  char *msg = slurp(errpath);
  cr_assert(strstr(msg, "bad.bin") != NULL, "reason should name the file: %s", msg);
  free(msg);
}

Test(runtime_serve, a03_not_found_outside_v1) {
  start_run(DEFAULT_ARGS);
  char buf[4096];
  const char req[] = "GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  cr_assert_eq(roundtrip(req, sizeof req - 1, buf, sizeof buf), 404, "%s", buf);
  assert_error_type(buf, "not_found_error");
}

Test(runtime_serve, a04_garbage_is_400) {
  start_run(DEFAULT_ARGS);
  char buf[4096];
  const char req[] = "\x01\x02 hello\r\n\r\n";
  cr_assert_eq(roundtrip(req, sizeof req - 1, buf, sizeof buf), 400, "%s", buf);
  const char req2[] = "GET /healthz HTTP/1.1\r\nBad Header\r\n\r\n";
  cr_assert_eq(roundtrip(req2, sizeof req2 - 1, buf, sizeof buf), 400, "%s", buf);
  assert_error_type(buf, "invalid_request_error");
}

Test(runtime_serve, a05_unknown_method_is_501) {
  start_run(DEFAULT_ARGS);
  char buf[4096];
  const char req[] = "BREW /v1/messages HTTP/1.1\r\nHost: x\r\n\r\n";
  cr_assert_eq(roundtrip(req, sizeof req - 1, buf, sizeof buf), 501, "%s", buf);
  const char req2[] = "PROPFIND /v1/messages HTTP/1.1\r\nHost: x\r\n\r\n";
  cr_assert_eq(roundtrip(req2, sizeof req2 - 1, buf, sizeof buf), 501, "%s", buf);
}

/* ---- limits ------------------------------------------------------------------ */

Test(runtime_serve, b01_huge_head_is_431) {
  const char *const args[] = {"--max-header", "8192", NULL};
  start_run(args);
  size_t big = 20000;
  char *req = malloc(big + 256);
  int n = snprintf(req, 256, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ");
  memset(req + n, 'a', big);
  memcpy(req + n + big, "\r\n\r\n", 4);
  char buf[4096];
  cr_assert_eq(roundtrip(req, (size_t)n + big + 4, buf, sizeof buf), 431, "%s", buf);
  /* Just under the limit still works. */
  n = snprintf(req, 256, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Big: ");
  memset(req + n, 'a', 4000);
  memcpy(req + n + 4000, "\r\n\r\n", 4);
  cr_assert_eq(roundtrip(req, (size_t)n + 4004, buf, sizeof buf), 200, "%s", buf);
  free(req);
}

Test(runtime_serve, b02_huge_body_is_413_from_content_length) {
  const char *const args[] = {"--max-body", "1000", NULL};
  start_run(args);
  char buf[4096];
  /* Refused from the declared length: no body is sent at all. */
  const char req[] = "POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Length: 1001\r\n\r\n";
  int fd = conn();
  send_all(fd, req, sizeof req - 1);
  recv_until(fd, buf, sizeof buf, 3000, NULL, 0);
  close(fd);
  cr_assert_eq(status_of(buf), 413, "%s", buf);
  assert_error_type(buf, "request_too_large");
}

Test(runtime_serve, b03_huge_chunked_body_is_413) {
  const char *const args[] = {"--max-body", "1000", NULL};
  start_run(args);
  char req[4096];
  int n = snprintf(req, sizeof req,
                   "POST /v1/messages HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
  for (int i = 0; i < 3; i++) {
    n += snprintf(req + n, sizeof req - (size_t)n, "190\r\n");
    memset(req + n, 'b', 400);
    n += 400;
    n += snprintf(req + n, sizeof req - (size_t)n, "\r\n");
  }
  n += snprintf(req + n, sizeof req - (size_t)n, "0\r\n\r\n");
  char buf[4096];
  cr_assert_eq(roundtrip(req, (size_t)n, buf, sizeof buf), 413, "%s", buf);
}

Test(runtime_serve, b04_chunked_body_within_limit_is_read) {
  const char *const args[] = {"--max-body", "1000", NULL};
  start_run(args);
  /* A small chunked body to a non-/v1 path: fully read, then 404 (not 400/413). */
  const char req[] = "POST /other HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                     "Connection: close\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
  char buf[4096];
  cr_assert_eq(roundtrip(req, sizeof req - 1, buf, sizeof buf), 404, "%s", buf);
}

Test(runtime_serve, b05_slow_client_times_out) {
  const char *const args[] = {"--header-timeout-ms", "300", "--idle-timeout-ms", "300", NULL};
  start_run(args);
  int fd = conn();
  const char part[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n";
  send_all(fd, part, sizeof part - 1);
  long t0 = now_ms();
  char buf[4096];
  recv_until(fd, buf, sizeof buf, 5000, NULL, 0); /* until the server closes */
  long took = now_ms() - t0;
  close(fd);
  cr_assert_eq(status_of(buf), 408, "%s", buf);
  cr_assert(took >= 250 && took < 3000, "closed after %ld ms", took);
  /* An idle connection that sends nothing is closed too. */
  fd = conn();
  t0 = now_ms();
  size_t n = recv_until(fd, buf, sizeof buf, 5000, NULL, 0);
  took = now_ms() - t0;
  close(fd);
  cr_assert_eq(n, 0);
  cr_assert(took >= 250 && took < 3000, "idle closed after %ld ms", took);
}

Test(runtime_serve, b06_max_connections_enforced) {
  const char *const args[] = {"--max-connections", "2", NULL};
  start_run(args);
  int a = conn(), b = conn();
  sleep_ms(150);
  int c = conn();
  char buf[4096];
  recv_until(c, buf, sizeof buf, 3000, NULL, 0);
  close(c);
  cr_assert_eq(status_of(buf), 503, "%s", buf);
  close(a);
  sleep_ms(150);
  /* A slot is free again. */
  const char req[] = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  cr_assert_eq(roundtrip(req, sizeof req - 1, buf, sizeof buf), 200, "%s", buf);
  close(b);
}

Test(runtime_serve, b07_emfile_on_accept_survives) {
  child_nofile = 48; /* qcc-run runs out of descriptors long before 1000 connections */
  start_run(DEFAULT_ARGS);
  child_nofile = 0;
  enum { N = 80 };
  int fds[N];
  for (int i = 0; i < N; i++) fds[i] = conn();
  sleep_ms(300);
  cr_assert(log_has("out of file descriptors", 2000), "EMFILE not noticed");
  for (int i = 0; i < N; i++) close(fds[i]);
  sleep_ms(300);
  /* Still serving once descriptors are free again. */
  char buf[4096];
  const char req[] = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  long end = now_ms() + 3000;
  int st = -1;
  while (st != 200 && now_ms() < end) {
    st = roundtrip(req, sizeof req - 1, buf, sizeof buf);
    if (st != 200) sleep_ms(50);
  }
  cr_assert_eq(st, 200, "%s", buf);
}

/* ---- protocol ----------------------------------------------------------------- */

Test(runtime_serve, c01_keep_alive_two_requests_one_connection) {
  start_run(DEFAULT_ARGS);
  int fd = conn();
  const char req[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
  char buf[8192];
  send_all(fd, req, sizeof req - 1);
  recv_until(fd, buf, sizeof buf, 3000, "\"generation\"", 1);
  cr_assert_eq(status_of(buf), 200, "%s", buf);
  cr_assert(strstr(buf, "connection: keep-alive") != NULL, "%s", buf);
  send_all(fd, req, sizeof req - 1);
  recv_until(fd, buf, sizeof buf, 3000, "\"generation\"", 1);
  cr_assert_eq(status_of(buf), 200, "second request on the same connection: %s", buf);
  /* Pipelined: three requests in one write, three answers in order. */
  const char three[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                       "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n"
                       "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  send_all(fd, three, sizeof three - 1);
  recv_until(fd, buf, sizeof buf, 3000, NULL, 0);
  close(fd);
  const char *p1 = strstr(buf, "HTTP/1.1 200");
  const char *p2 = p1 != NULL ? strstr(p1 + 1, "HTTP/1.1 404") : NULL;
  const char *p3 = p2 != NULL ? strstr(p2 + 1, "HTTP/1.1 200") : NULL;
  cr_assert(p1 != NULL && p2 != NULL && p3 != NULL, "pipelined answers: %s", buf);
}

Test(runtime_serve, c02_expect_100_continue) {
  start_run(DEFAULT_ARGS);
  int fd = conn();
  const char head[] = "POST /other HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                      "Expect: 100-continue\r\nConnection: close\r\n\r\n";
  send_all(fd, head, sizeof head - 1);
  char buf[4096];
  recv_until(fd, buf, sizeof buf, 3000, "\r\n\r\n", 1);
  cr_assert_eq(strncmp(buf, "HTTP/1.1 100 Continue\r\n\r\n", 25), 0, "%s", buf);
  send_all(fd, "hello", 5);
  recv_until(fd, buf, sizeof buf, 3000, NULL, 0);
  close(fd);
  cr_assert_eq(status_of(buf), 404, "%s", buf);
}

Test(runtime_serve, c02b_request_byte_by_byte) {
  start_run(DEFAULT_ARGS);
  int fd = conn();
  /* Every split point of a chunked request and of a pipelined one. */
  const char req[] = "POST /other?q=1 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                     "3\r\nabc\r\n0\r\n\r\n"
                     "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  for (size_t i = 0; i < sizeof req - 1; i++) {
    send_all(fd, req + i, 1);
    sleep_ms(1);
  }
  char buf[8192];
  recv_until(fd, buf, sizeof buf, 3000, NULL, 0);
  close(fd);
  const char *p1 = strstr(buf, "HTTP/1.1 404");
  cr_assert(p1 != NULL && strstr(p1, "HTTP/1.1 200") != NULL, "%s", buf);
  /* HEAD gets the head only. */
  const char head[] = "HEAD /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  cr_assert_eq(roundtrip(head, sizeof head - 1, buf, sizeof buf), 200, "%s", buf);
  cr_assert_str_eq(body_of(buf), "", "HEAD answered with a body: %s", buf);
}

Test(runtime_serve, c03_client_auth_required_when_tokens_set) {
  const char *const args[] = {"--token-env", TOKEN_ENV, NULL};
  start_run(args);
  char buf[4096];
  const char none[] = "POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
                      "Connection: close\r\n\r\n{}";
  cr_assert_eq(roundtrip(none, sizeof none - 1, buf, sizeof buf), 401, "%s", buf);
  assert_error_type(buf, "authentication_error");
  const char wrong[] = "POST /v1/messages HTTP/1.1\r\nHost: x\r\nx-api-key: nope\r\n"
                       "Content-Length: 2\r\nConnection: close\r\n\r\n{}";
  cr_assert_eq(roundtrip(wrong, sizeof wrong - 1, buf, sizeof buf), 401, "%s", buf);
  const char wrong_bearer[] = "POST /v1/messages HTTP/1.1\r\nHost: x\r\n"
                              "Authorization: Bearer tok-7f3a9c-never-loggeX\r\n"
                              "Content-Length: 2\r\nConnection: close\r\n\r\n{}";
  cr_assert_eq(roundtrip(wrong_bearer, sizeof wrong_bearer - 1, buf, sizeof buf), 401, "%s", buf);
  /* The right token passes auth (the upstream is unreachable, so any non-401 answer). */
  const char right[] = "POST /v1/messages HTTP/1.1\r\nHost: x\r\nx-api-key: " TOKEN_VALUE
                       "\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}";
  int st = roundtrip(right, sizeof right - 1, buf, sizeof buf);
  cr_assert(st > 0 && st != 401, "status %d: %s", st, buf);
  const char bearer[] = "POST /v1/messages HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " TOKEN_VALUE
                        "\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}";
  st = roundtrip(bearer, sizeof bearer - 1, buf, sizeof buf);
  cr_assert(st > 0 && st != 401, "status %d: %s", st, buf);
  /* healthz needs no token. */
  cr_assert_eq(get_generation(), 1);
  /* The token never reaches a log. */
  sleep_ms(100);
  char *a = slurp(R.alog), *e = slurp(R.errlog);
  cr_assert(strstr(a, "\"status\":401") != NULL, "access log: %s", a);
  cr_assert(strstr(a, TOKEN_VALUE) == NULL && strstr(e, TOKEN_VALUE) == NULL, "token leaked");
  free(a);
  free(e);
}

Test(runtime_serve, c04_access_log_lines) {
  start_run(DEFAULT_ARGS);
  char buf[4096];
  const char req[] = "GET /nope?secret=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  cr_assert_eq(roundtrip(req, sizeof req - 1, buf, sizeof buf), 404);
  const char *rid = strstr(buf, "x-request-id: ");
  cr_assert_not_null(rid);
  char id[17];
  memcpy(id, rid + 14, 16);
  id[16] = '\0';
  sleep_ms(100);
  char *a = slurp(R.alog);
  char *line = strstr(a, id);
  cr_assert_not_null(line, "request id %s not in access log: %s", id, a);
  while (line > a && line[-1] != '\n') line--;
  char *nl = strchr(line, '\n');
  cr_assert_not_null(nl);
  *nl = '\0';
  json_t *o = json_loads(line, 0, NULL);
  cr_assert_not_null(o, "%s", line);
  cr_assert_str_eq(json_string_value(json_object_get(o, "path")), "/nope");
  cr_assert_str_eq(json_string_value(json_object_get(o, "method")), "GET");
  cr_assert_eq(json_integer_value(json_object_get(o, "status")), 404);
  cr_assert_eq(json_integer_value(json_object_get(o, "generation")), 1);
  cr_assert_gt(json_integer_value(json_object_get(o, "bytes_out")), 0);
  json_decref(o);
  free(a);
}

/* ---- hot swap and lifecycle ------------------------------------------------------ */

static bool wait_generation(int want, long timeout_ms) {
  long end = now_ms() + timeout_ms;
  do {
    if (get_generation() == want) return true;
    sleep_ms(20);
  } while (now_ms() < end);
  return false;
}

Test(runtime_serve, d01_hot_swap_rejects_corrupt_and_takes_valid) {
  start_run(DEFAULT_ARGS);
  cr_assert_eq(get_generation(), 1);
  /* A corrupt table renamed over the path: rejected, generation 1 keeps serving. */
  char tmp[160];
  snprintf(tmp, sizeof tmp, "%s/tmp.bin", R.dir);
  const char *const gen2[] = {"--gen", "2", NULL};
  cr_assert_eq(mktable(tmp, gen2), 0);
  int fd = open(tmp, O_RDWR);
  struct stat st;
  fstat(fd, &st);
  char byte = 0;
  cr_assert_eq(pread(fd, &byte, 1, st.st_size - 1), 1);
  byte ^= 0x5a; /* flip a payload byte: the checksum must catch it */
  cr_assert_eq(pwrite(fd, &byte, 1, st.st_size - 1), 1);
  close(fd);
  cr_assert_eq(rename(tmp, R.table), 0);
  cr_assert(log_has("rejected", 3000), "no rejection logged");
  cr_assert_eq(get_generation(), 1);
  /* A valid new table: taken without restart. */
  const char *const gen3[] = {"--gen", "3", NULL};
  cr_assert_eq(mktable(R.table, gen3), 0);
  cr_assert(wait_generation(3, 3000), "generation did not advance to 3");
  cr_assert(log_has("table generation 1 -> 3", 1000), "swap not logged");
  /* SIGHUP reloads too (same file, so same generation, but a logged swap). */
  kill(R.pid, SIGHUP);
  cr_assert(log_has("(SIGHUP)", 2000), "SIGHUP reload not logged");
  cr_assert_eq(get_generation(), 3);
}

/* Run "qccc ARGS..." quietly; its exit status. */
static int qccc(const char *const *args) {
  const char *argv[16];
  int n = 0;
  argv[n++] = env_or_die("QCC_TEST_QCCC");
  for (int i = 0; args[i] != NULL && n < 15; i++) argv[n++] = args[i];
  argv[n] = NULL;
  pid_t pid = fork();
  if (pid == 0) {
    int fd = open("/dev/null", O_WRONLY);
    dup2(fd, 1);
    execv(argv[0], (char *const *)argv);
    _exit(127);
  }
  int st = 0;
  waitpid(pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void write_config(const char *path, int weight) {
  FILE *f = fopen(path, "w");
  cr_assert_not_null(f);
  fprintf(f,
          "version: 1\n"
          "proxy: {host: 127.0.0.1, port: 7860}\n"
          "profiles:\n"
          "  - name: main\n"
          "    priority: primary\n"
          "    endpoints:\n"
          "      - id: up-1\n"
          "        base_url: http://127.0.0.1:9\n"
          "        api_key_env: QCC_TEST_UP_KEY\n"
          "        weight: %d\n",
          weight);
  fclose(f);
}

Test(runtime_serve, d01b_qccc_build_and_rollback_swap_without_restart) {
  start_run(DEFAULT_ARGS);
  char cfg[160];
  snprintf(cfg, sizeof cfg, "%s/qcc.yaml", R.dir);
  /* Replace the test table by qccc's own output (generation 1 again, new file). */
  unlink(R.table);
  write_config(cfg, 10);
  const char *const build[] = {"build", "-c", cfg, "-o", R.table, NULL};
  cr_assert_eq(qccc(build), 0, "qccc build failed");
  write_config(cfg, 20);
  cr_assert_eq(qccc(build), 0, "qccc build failed");
  cr_assert(wait_generation(2, 3000), "qccc build did not take effect");
  const char *const rollback[] = {"rollback", R.table, "--to", "1", NULL};
  cr_assert_eq(qccc(rollback), 0, "qccc rollback failed");
  cr_assert(wait_generation(1, 3000), "qccc rollback did not take effect");
  cr_assert_eq(kill(R.pid, 0), 0, "qcc-run restarted or died");
}

Test(runtime_serve, d02_truncated_table_in_place_is_rejected) {
  start_run(DEFAULT_ARGS);
  cr_assert_eq(truncate(R.table, 100), 0); /* in place, not atomic */
  cr_assert(log_has("rejected", 3000), "no rejection logged");
  cr_assert_eq(get_generation(), 1);
  const char *const gen4[] = {"--gen", "4", NULL};
  cr_assert_eq(mktable(R.table, gen4), 0);
  cr_assert(wait_generation(4, 3000), "generation did not advance to 4");
}

Test(runtime_serve, d03_sigterm_exits_zero) {
  start_run(DEFAULT_ARGS);
  int idle = conn(); /* an idle keep-alive connection must not hold up the exit */
  const char req[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
  send_all(idle, req, sizeof req - 1);
  char buf[4096];
  recv_until(idle, buf, sizeof buf, 3000, "\"generation\"", 1);
  cr_assert_eq(status_of(buf), 200);
  kill(R.pid, SIGTERM);
  int rc = wait_exit(5000);
  close(idle);
  cr_assert_eq(rc, 0, "exit status %d", rc);
}

Test(runtime_serve, d04_non_loopback_without_tokens_refuses) {
  start_run_with(DEFAULT_ARGS, "0.0.0.0:0");
  int rc = wait_exit(5000);
  cr_assert_eq(rc, 1, "exit status %d", rc);
  char *e = slurp(R.errlog);
  cr_assert(strstr(e, "auth_tokens") != NULL, "message should say what to set: %s", e);
  free(e);
}

Test(runtime_serve, d04b_non_loopback_reload_without_tokens_is_refused) {
  const char *const args[] = {"--gen", "1", "--token-env", TOKEN_ENV, NULL};
  start_run_on(args, "0.0.0.0:0");
  cr_assert_eq(get_generation(), 1);
  const char *const gen2[] = {"--gen", "2", NULL}; /* no auth_tokens */
  cr_assert_eq(mktable(R.table, gen2), 0);
  cr_assert(log_has("rejected", 3000), "reload without tokens was not refused");
  cr_assert_eq(get_generation(), 1);
  const char *const gen3[] = {"--gen", "3", "--token-env", TOKEN_ENV, NULL};
  cr_assert_eq(mktable(R.table, gen3), 0);
  cr_assert(wait_generation(3, 3000), "generation did not advance to 3");
}

Test(runtime_serve, d06_sigusr1_reopens_access_log) {
  start_run(DEFAULT_ARGS);
  cr_assert_eq(get_generation(), 1);
  char moved[160];
  snprintf(moved, sizeof moved, "%s.1", R.alog);
  cr_assert_eq(rename(R.alog, moved), 0);
  kill(R.pid, SIGUSR1);
  cr_assert(log_has("log files reopened", 2000));
  cr_assert_eq(get_generation(), 1);
  sleep_ms(50);
  char *fresh = slurp(R.alog), *old = slurp(moved);
  cr_assert(strstr(fresh, "/healthz") != NULL, "new file empty: '%s'", fresh);
  cr_assert(strstr(old, "/healthz") != NULL, "old file lost its line");
  free(fresh);
  free(old);
}

Test(runtime_serve, d05_ipv6_loopback_listen) {
  start_run_with(DEFAULT_ARGS, "[::1]:0");
  cr_assert(log_has("listening on http://[::1]:", 5000), "no IPv6 listener");
  char *e = slurp(R.errlog);
  const char *p = strstr(e, "[::1]:");
  int port = atoi(p + 6);
  free(e);
  int fd = socket(AF_INET6, SOCK_STREAM, 0);
  struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port),
                           .sin6_addr = IN6ADDR_LOOPBACK_INIT};
  cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0, "connect [::1]:%d", port);
  const char req[] = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  send_all(fd, req, sizeof req - 1);
  char buf[2048];
  recv_until(fd, buf, sizeof buf, 3000, NULL, 0);
  close(fd);
  cr_assert_eq(status_of(buf), 200, "%s", buf);
}

/* ---- with an upstream ---------------------------------------------------------------- */

/* Start tools/mock-upstream on a free port in DIR; returns its port. */
static int start_mock(const char *dir, const char *events, const char *delay_ms) {
  char portfile[160];
  snprintf(portfile, sizeof portfile, "%s/mock.port", dir);
  const char *mock = env_or_die("QCC_TEST_MOCK");
  mock_pid = fork();
  cr_assert_geq(mock_pid, 0);
  if (mock_pid == 0) {
    int fd = open("/dev/null", O_WRONLY);
    dup2(fd, 1);
    execl(mock, mock, "--listen", "127.0.0.1:0", "--name", "up1", "--port-file", portfile,
          "--events", events, "--event-delay-ms", delay_ms, (char *)NULL);
    _exit(127);
  }
  long end = now_ms() + 5000;
  while (now_ms() < end) {
    char *s = slurp(portfile);
    int port = atoi(s);
    free(s);
    if (port > 0) return port;
    sleep_ms(20);
  }
  cr_assert_fail("mock-upstream did not start");
  return -1;
}

Test(runtime_serve, e01_stream_keeps_generation_across_swap_and_drains_on_sigterm) {
  char dir[] = "/tmp/qcc-mock-XXXXXX";
  cr_assert_not_null(mkdtemp(dir));
  int mport = start_mock(dir, "20", "50"); /* a stream of about one second */
  char upstream[64];
  snprintf(upstream, sizeof upstream, "http://127.0.0.1:%d", mport);
  const char *const args[] = {"--gen", "1", "--upstream", upstream, NULL};
  start_run(args);
  int fd = conn();
  const char body[] = "{\"model\":\"m\",\"stream\":true,\"max_tokens\":1}";
  char req[512];
  int rn = snprintf(req, sizeof req,
                    "POST /v1/messages?beta=true HTTP/1.1\r\nHost: x\r\n"
                    "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                    sizeof body - 1, body);
  send_all(fd, req, (size_t)rn);
  static char buf[65536];
  recv_until(fd, buf, sizeof buf, 3000, "event: content_block_delta", 1);
  cr_assert_eq(status_of(buf), 200, "%s", buf);
  cr_assert(strstr(buf, "transfer-encoding: chunked") != NULL, "%s", buf);
  /* Swap the table while the stream runs: new requests see generation 2. */
  const char *const gen2[] = {"--gen", "2", "--upstream", upstream, NULL};
  cr_assert_eq(mktable(R.table, gen2), 0);
  cr_assert(wait_generation(2, 3000), "generation did not advance");
  /* Stop: the running stream still ends properly, then the process exits 0. */
  kill(R.pid, SIGTERM);
  size_t have = strlen(buf);
  recv_until(fd, buf + have, sizeof buf - have, 5000, "0\r\n\r\n", 1);
  close(fd);
  cr_assert(strstr(buf, "event: message_stop") != NULL, "stream cut short: %s", buf);
  cr_assert(strstr(buf, "upstream stream broken") == NULL, "%s", buf);
  int rc = wait_exit(5000);
  cr_assert_eq(rc, 0, "exit status %d", rc);
  sleep_ms(50);
  char *a = slurp(R.alog);
  cr_assert(strstr(a, "\"path\":\"/v1/messages\"") != NULL, "%s", a);
  char *line = strstr(a, "\"path\":\"/v1/messages\"");
  char *nl = line != NULL ? strchr(line, '\n') : NULL;
  if (nl != NULL) *nl = '\0';
  /* The stream was served by the generation it started on. */
  cr_assert(line != NULL && strstr(line, "\"generation\":1,") != NULL, "%s", line);
  cr_assert(strstr(line, "\"upstream_status\":200") != NULL, "%s", line);
  free(a);
  char cmd[96];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  int sr = system(cmd);
  (void)sr;
}

Test(runtime_serve, e02_drain_timeout_cuts_a_long_stream) {
  char dir[] = "/tmp/qcc-mock-XXXXXX";
  cr_assert_not_null(mkdtemp(dir));
  int mport = start_mock(dir, "40", "200"); /* about eight seconds */
  char upstream[64];
  snprintf(upstream, sizeof upstream, "http://127.0.0.1:%d", mport);
  const char *const args[] = {"--upstream", upstream, "--drain-timeout-ms", "300", NULL};
  start_run(args);
  int fd = conn();
  const char req[] = "POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Length: 15\r\n\r\n"
                     "{\"stream\":true}";
  send_all(fd, req, sizeof req - 1);
  static char buf[65536];
  recv_until(fd, buf, sizeof buf, 3000, "event: message_start", 1);
  cr_assert_eq(status_of(buf), 200, "%s", buf);
  long t0 = now_ms();
  kill(R.pid, SIGTERM);
  int rc = wait_exit(5000);
  long took = now_ms() - t0;
  cr_assert_eq(rc, 0, "exit status %d", rc);
  cr_assert(took >= 250 && took < 3000, "exited after %ld ms", took);
  size_t have = strlen(buf);
  recv_until(fd, buf + have, sizeof buf - have, 2000, NULL, 0); /* the connection is closed */
  close(fd);
  cr_assert(strstr(buf, "event: message_stop") == NULL, "the stream should have been cut");
  char cmd[96];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  int sr = system(cmd);
  (void)sr;
}

/* drain_timeout 0 means no grace (it used to mean 30 s). */
Test(runtime_serve, e03_drain_timeout_zero_cuts_at_once) {
  char dir[] = "/tmp/qcc-mock-XXXXXX";
  cr_assert_not_null(mkdtemp(dir));
  int mport = start_mock(dir, "40", "200"); /* about eight seconds */
  char upstream[64];
  snprintf(upstream, sizeof upstream, "http://127.0.0.1:%d", mport);
  const char *const args[] = {"--upstream", upstream, "--drain-timeout-ms", "0", NULL};
  start_run(args);
  int fd = conn();
  const char req[] = "POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Length: 15\r\n\r\n"
                     "{\"stream\":true}";
  send_all(fd, req, sizeof req - 1);
  static char buf[65536];
  recv_until(fd, buf, sizeof buf, 3000, "event: message_start", 1);
  cr_assert_eq(status_of(buf), 200, "%s", buf);
  long t0 = now_ms();
  kill(R.pid, SIGTERM);
  int rc = wait_exit(5000);
  long took = now_ms() - t0;
  cr_assert_eq(rc, 0, "exit status %d", rc);
  cr_assert(took < 2000, "exited after %ld ms; 0 means no grace", took);
  close(fd);
  char cmd[96];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  int sr = system(cmd);
  (void)sr;
}

/* ---- robustness ------------------------------------------------------------------------ */

Test(runtime_serve, f01_random_bytes_and_cuts_never_kill_it) {
  const char *const args[] = {"--max-header", "4096", "--max-body", "2048",
                              "--header-timeout-ms", "500", NULL};
  start_run(args);
  static const char *const seeds[] = {
      "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
      "POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
      "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
      "GET /healthz HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nx",
  };
  unsigned seed = 12345;
  char req[512];
  char buf[8192];
  for (int round = 0; round < 150; round++) {
    const char *base = seeds[round % 4];
    size_t len = strlen(base);
    memcpy(req, base, len);
    /* Mutate a few bytes, then cut at a random point. */
    int flips = (int)(rand_r(&seed) % 4);
    for (int f = 0; f < flips; f++) req[rand_r(&seed) % len] = (char)(rand_r(&seed) & 0xff);
    size_t cut = 1 + rand_r(&seed) % len;
    int fd = conn();
    send_all(fd, req, cut);
    if (round % 3 == 0) shutdown(fd, SHUT_WR); /* sometimes an early EOF */
    recv_until(fd, buf, sizeof buf, round % 3 == 0 ? 1000 : 30, NULL, 0);
    close(fd);
  }
  cr_assert_eq(get_generation(), 1, "qcc-run stopped answering");
  cr_assert_eq(kill(R.pid, 0), 0, "qcc-run died");
}
