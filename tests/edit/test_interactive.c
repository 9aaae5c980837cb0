/* The interactive `endpoint add` flow driven through a pseudo-terminal
 * (forkpty): the child runs qccc_edit_cmd on the pty, the test reads the
 * screen and types answers, expect-style. Checks: invalid answers are asked
 * again, Ctrl-D and "q" cancel without touching the file, a typed key is
 * never echoed, never shown, never written into the YAML (it goes to a 0600
 * key file), and a reused endpoint shows only a masked key.
 * Every wait is bounded; the child is killed if it outlives the test. */
#include <criterion/criterion.h>
#include <errno.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "compiler/editcmd.h"

#define WAIT_MS 5000

static char dir[256];
static char cfg[512];
static const char SECRET[] = "sk-test-SUPERSECRET-0123456789abcdef";
static const char ENVKEY[] = "sk-ant-api03.abcdefghijklmnopqrstuv-yyyy";

static char *slurp(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  static char buf[1 << 16];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  char *r = strdup(buf);
  cr_assert_not_null(r);
  return r;
}

static void setup(void) {
  snprintf(dir, sizeof dir, "/tmp/qcc-edit-tty-XXXXXX");
  cr_assert_not_null(mkdtemp(dir));
  snprintf(cfg, sizeof cfg, "%s/qcc.yaml", dir);
  const char *root = getenv("QCC_SOURCE_ROOT");
  cr_assert_not_null(root);
  char p[1024];
  snprintf(p, sizeof p, "%s/tests/edit/base.yaml", root);
  char *base = slurp(p);
  cr_assert_not_null(base);
  FILE *f = fopen(cfg, "wb");
  cr_assert_not_null(f);
  fputs(base, f);
  fclose(f);
  free(base);
}

static void rm(const char *rel) {
  char p[1024];
  snprintf(p, sizeof p, "%s/%s", dir, rel);
  unlink(p);
  rmdir(p);
}

static void teardown(void) {
  rm(".qcc/keys/production-1.key");
  rm(".qcc/keys");
  rm(".qcc");
  rm("qcc.yaml.bak");
  rm("qcc.yaml");
  rmdir(dir);
}

struct tty {
  pid_t pid;
  int fd;
  char screen[1 << 16];
  size_t len, seen;
  bool eof;
};

/* Start `qccc CMD ARGS... -c CFG` on a new pty. */
static void spawn_cmd(struct tty *t, const char *cmd, const char *a0, const char *a1) {
  memset(t, 0, sizeof *t);
  struct winsize ws = {.ws_row = 50, .ws_col = 200};
  t->pid = forkpty(&t->fd, NULL, NULL, &ws);
  cr_assert_neq(t->pid, -1, "forkpty: %s", strerror(errno));
  if (t->pid == 0) {
    setenv("HOME", dir, 1);
    setenv("ANTHROPIC_KEY_PROD1", ENVKEY, 1);
    alarm(30); /* never outlive a broken test */
    char *argv[6];
    int argc = 0;
    if (a0)
      argv[argc++] = (char *)a0;
    if (a1)
      argv[argc++] = (char *)a1;
    argv[argc++] = "-c";
    argv[argc++] = cfg;
    argv[argc] = NULL;
    int rc = qccc_edit_cmd(cmd, argc, argv, stdin, stdout, stderr);
    fflush(stdout);
    fflush(stderr);
    _exit(rc);
  }
}

/* `qccc endpoint add production` */
static void spawn(struct tty *t) { spawn_cmd(t, "endpoint", "add", "production"); }

static long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Read what the child printed, waiting up to MS for something new. */
static void pump(struct tty *t, int ms) {
  struct pollfd p = {.fd = t->fd, .events = POLLIN};
  if (t->eof || poll(&p, 1, ms) <= 0)
    return;
  ssize_t n = read(t->fd, t->screen + t->len, sizeof t->screen - 1 - t->len);
  if (n <= 0) {
    t->eof = true; /* EIO once the child is gone */
    return;
  }
  t->len += (size_t)n;
  t->screen[t->len] = '\0';
}

/* Wait until WANT appears after what earlier expects consumed. */
static void expect(struct tty *t, const char *want) {
  long end = now_ms() + WAIT_MS;
  for (;;) {
    char *hit = strstr(t->screen + t->seen, want);
    if (hit) {
      t->seen = (size_t)(hit - t->screen) + strlen(want);
      return;
    }
    if (t->eof || now_ms() > end)
      break;
    pump(t, 100);
  }
  kill(t->pid, SIGKILL);
  waitpid(t->pid, NULL, 0);
  cr_assert_fail("timed out waiting for \"%s\"; screen:\n%s", want, t->screen);
}

static void type(struct tty *t, const char *keys) {
  cr_assert_eq(write(t->fd, keys, strlen(keys)), (ssize_t)strlen(keys));
}

/* Drain the screen and reap the child; its exit code. */
static int finish(struct tty *t) {
  long end = now_ms() + WAIT_MS;
  while (!t->eof && now_ms() < end)
    pump(t, 100);
  int st = 0;
  pid_t r = waitpid(t->pid, &st, WNOHANG);
  while (r == 0 && now_ms() < end + WAIT_MS) {
    usleep(10000);
    r = waitpid(t->pid, &st, WNOHANG);
  }
  if (r == 0) {
    kill(t->pid, SIGKILL);
    waitpid(t->pid, &st, 0);
  }
  close(t->fd);
  cr_assert(WIFEXITED(st), "child did not exit normally; screen:\n%s", t->screen);
  return WEXITSTATUS(st);
}

static bool cfg_is_base(void) {
  const char *root = getenv("QCC_SOURCE_ROOT");
  char p[1024];
  snprintf(p, sizeof p, "%s/tests/edit/base.yaml", root);
  char *a = slurp(p), *b = slurp(cfg);
  bool same = a && b && strcmp(a, b) == 0;
  free(a);
  free(b);
  return same;
}

TestSuite(edit_tty, .init = setup, .fini = teardown, .timeout = 60);

Test(edit_tty, a_new_endpoint_with_typed_key) {
  struct tty t;
  spawn(&t);
  expect(&t, "How do you want to add the endpoint?");
  expect(&t, "Choose (1-3) [1]: ");
  type(&t, "7\n"); /* out of range: asked again */
  expect(&t, "please answer a number from 1 to 3; try again");
  expect(&t, "Choose (1-3) [1]: ");
  type(&t, "2\n");
  expect(&t, "Base URL [https://api.anthropic.com]: ");
  type(&t, "ftp://nope\n");
  expect(&t, "a base URL looks like");
  expect(&t, "Base URL [https://api.anthropic.com]: ");
  type(&t, "https://relay.example.com/api\n");
  expect(&t, "How is the key sent (1-2) [1]: ");
  type(&t, "2\n");
  expect(&t, "Endpoint id [production-1]: ");
  type(&t, "\n");
  expect(&t, "Key source (1-3) [1]: ");
  type(&t, "2\n");
  expect(&t, "API key (input hidden): ");
  type(&t, SECRET);
  type(&t, "\n");
  expect(&t, "Where should the key live (1-2) [1]: ");
  type(&t, "\n");
  expect(&t, "Key file (created with mode 0600) [~/.qcc/keys/production-1.key]: ");
  type(&t, "\n");
  expect(&t, "Weight [100]: ");
  type(&t, "abc\n");
  expect(&t, "please answer a whole number from 0 to 10000");
  expect(&t, "Weight [100]: ");
  type(&t, "20\n");
  expect(&t, "Priority (1 = first) [1]: ");
  type(&t, "\n");
  expect(&t, "Timeout [30s]: ");
  type(&t, "forever\n");
  expect(&t, "must be a duration");
  expect(&t, "Timeout [30s]: ");
  type(&t, "\n");
  expect(&t, "api_key_file:");
  expect(&t, "(Y/n): ");
  type(&t, "y\n");
  int rc = finish(&t);
  cr_assert_eq(rc, 0, "screen:\n%s", t.screen);
  /* never echoed, never shown */
  cr_assert_null(strstr(t.screen, SECRET), "the key appeared on screen:\n%s", t.screen);
  cr_assert_null(strstr(t.screen, "SUPERSECRET"));
  /* never written into the YAML; the YAML references the key file */
  char *text = slurp(cfg);
  cr_assert_null(strstr(text, "SUPERSECRET"));
  char want[1024];
  snprintf(want, sizeof want,
           "      - id: production-1\n"
           "        base_url: https://relay.example.com/api\n"
           "        api_key_file: %s/.qcc/keys/production-1.key\n"
           "        auth: bearer\n"
           "        weight: 20\n"
           "        priority: 1\n"
           "        timeout: 30s\n",
           dir);
  cr_assert(strstr(text, want), "config:\n%s", text);
  free(text);
  /* the key file holds exactly the key, mode 0600, in a 0700 directory */
  char kf[600];
  snprintf(kf, sizeof kf, "%s/.qcc/keys/production-1.key", dir);
  char *key = slurp(kf);
  cr_assert_not_null(key);
  cr_assert_str_eq(key, SECRET);
  free(key);
  struct stat st;
  cr_assert_eq(stat(kf, &st), 0);
  cr_assert_eq(st.st_mode & 0777, 0600);
  snprintf(kf, sizeof kf, "%s/.qcc/keys", dir);
  cr_assert_eq(stat(kf, &st), 0);
  cr_assert_eq(st.st_mode & 0777, 0700);
}

Test(edit_tty, b_ctrl_d_cancels) {
  struct tty t;
  spawn(&t);
  expect(&t, "Choose (1-3) [1]: ");
  type(&t, "\x04");
  int rc = finish(&t);
  cr_assert_eq(rc, QCCC_EDIT_CANCELLED, "screen:\n%s", t.screen);
  cr_assert(strstr(t.screen, "cancelled"), "%s", t.screen);
  cr_assert(cfg_is_base(), "the file must be untouched");
  char bak[600];
  snprintf(bak, sizeof bak, "%s.bak", cfg);
  cr_assert_neq(access(bak, F_OK), 0);
}

Test(edit_tty, c_q_cancels_after_key_typed) {
  struct tty t;
  spawn(&t);
  expect(&t, "Choose (1-3) [1]: ");
  type(&t, "2\n");
  expect(&t, "Base URL");
  type(&t, "https://relay.example.com\n");
  expect(&t, "How is the key sent");
  type(&t, "\n");
  expect(&t, "Endpoint id");
  type(&t, "\n");
  expect(&t, "Key source");
  type(&t, "2\n");
  expect(&t, "API key (input hidden): ");
  type(&t, SECRET);
  type(&t, "\n");
  expect(&t, "Where should the key live");
  type(&t, "\n");
  expect(&t, "Key file");
  type(&t, "\n");
  expect(&t, "Weight [100]: ");
  type(&t, "q\n");
  int rc = finish(&t);
  cr_assert_eq(rc, QCCC_EDIT_CANCELLED, "screen:\n%s", t.screen);
  cr_assert(cfg_is_base());
  char kf[600];
  snprintf(kf, sizeof kf, "%s/.qcc/keys/production-1.key", dir);
  cr_assert_neq(access(kf, F_OK), 0, "no key file after a cancel");
  cr_assert_null(strstr(t.screen, "SUPERSECRET"));
}

Test(edit_tty, d_reuse_shows_masked_key_and_writes_from) {
  struct tty t;
  spawn(&t);
  expect(&t, "Reuse an existing endpoint (recommended)");
  expect(&t, "Choose (1-3) [1]: ");
  type(&t, "\n");
  expect(&t, "prod-1 (production)  https://api.anthropic.com  key: env ANTHROPIC_KEY_PROD1");
  expect(&t, "Reuse which endpoint (1-3) [1]: ");
  type(&t, "\n");
  expect(&t, "Change the base URL? (y/N): ");
  type(&t, "maybe\n");
  expect(&t, "please answer y or n");
  expect(&t, "Change the base URL? (y/N): ");
  type(&t, "\n");
  expect(&t, "Change the key? (y/N): ");
  type(&t, "n\n");
  expect(&t, "Endpoint id [production-1]: ");
  type(&t, "prod-2\n"); /* taken: asked again */
  expect(&t, "already used");
  expect(&t, "Endpoint id [production-1]: ");
  type(&t, "prod-9\n");
  expect(&t, "Weight [100]: ");
  type(&t, "\n");
  expect(&t, "Priority (1 = first) [1]: ");
  type(&t, "2\n");
  expect(&t, "Timeout [30s]: ");
  type(&t, "1m\n");
  expect(&t, "(Y/n): ");
  type(&t, "\n");
  int rc = finish(&t);
  cr_assert_eq(rc, 0, "screen:\n%s", t.screen);
  /* the masked key: recognisable, not usable */
  cr_assert(strstr(t.screen, "sk-ant-\xe2\x80\xa6yyyy"), "screen:\n%s", t.screen);
  cr_assert_null(strstr(t.screen, ENVKEY));
  cr_assert_null(strstr(t.screen, "abcdefghijklmnop"));
  char *text = slurp(cfg);
  cr_assert(strstr(text, "      - id: prod-9\n"
                         "        from: prod-1\n"
                         "        weight: 100\n"
                         "        priority: 2\n"
                         "        timeout: 1m\n"),
            "config:\n%s", text);
  free(text);
}

Test(edit_tty, e_preset_with_env_reference) {
  struct tty t;
  spawn(&t);
  expect(&t, "Choose (1-3) [1]: ");
  type(&t, "3\n");
  expect(&t, "Providers with an Anthropic-compatible endpoint:");
  expect(&t, "DeepSeek");
  expect(&t, "Provider (1-11) [1]: ");
  type(&t, "6\n");
  expect(&t, "Endpoint id [production-1]: ");
  type(&t, "ds-1\n");
  expect(&t, "Key source (1-3) [1]: ");
  type(&t, "\n");
  expect(&t, "Environment variable name [DEEPSEEK_API_KEY]: ");
  type(&t, "9BAD\n");
  expect(&t, "letters, digits and '_' only");
  expect(&t, "Environment variable name [DEEPSEEK_API_KEY]: ");
  type(&t, "\n");
  expect(&t, "Weight [100]: ");
  type(&t, "\n");
  expect(&t, "Priority (1 = first) [1]: ");
  type(&t, "\n");
  expect(&t, "Timeout [30s]: ");
  type(&t, "\n");
  expect(&t, "(Y/n): ");
  type(&t, "y\n");
  int rc = finish(&t);
  cr_assert_eq(rc, 0, "screen:\n%s", t.screen);
  char *text = slurp(cfg);
  cr_assert(strstr(text, "      - id: ds-1\n"
                         "        base_url: https://api.deepseek.com/anthropic\n"
                         "        api_key_env: DEEPSEEK_API_KEY\n"
                         "        auth: x-api-key\n"),
            "config:\n%s", text);
  cr_assert(strstr(text, "          provider: deepseek\n"), "config:\n%s", text);
  free(text);
}

Test(edit_tty, f_policy_asks_with_current_values) {
  struct tty t;
  spawn_cmd(&t, "policy", NULL, NULL);
  expect(&t, "Fail over automatically when a group is down (Y/n): ");
  type(&t, "n\n");
  expect(&t, "Recover back to primary automatically (Y/n): ");
  type(&t, "\n");
  expect(&t, "Consecutive failures before failing over [3]: ");
  type(&t, "0\n"); /* below the knob's minimum: asked again */
  expect(&t, "from 1 to 1000");
  expect(&t, "Consecutive failures before failing over [3]: ");
  type(&t, "4\n");
  expect(&t, "Cooldown between switches [300s]: ");
  type(&t, "2m\n");
  int rc = finish(&t);
  cr_assert_eq(rc, 0, "screen:\n%s", t.screen);
  char *text = slurp(cfg);
  cr_assert(strstr(text, "switching_policy:\n"
                         "  auto_switch: false        # fail over by itself\n"
                         "  cooldown_period: 2m\n"
                         "  auto_recovery: true\n"
                         "  switch_threshold: 4\n"),
            "config:\n%s", text);
  free(text);
}

Test(edit_tty, g_profile_add_asks_group_and_description) {
  struct tty t;
  spawn_cmd(&t, "profile", "add", "staging");
  expect(&t, "Priority group of the new profile (1-3) [1]: ");
  type(&t, "4\n");
  expect(&t, "please answer a number from 1 to 3");
  type(&t, "2\n");
  expect(&t, "Description (empty for none): ");
  type(&t, "staging: keys #2\n");
  int rc = finish(&t);
  cr_assert_eq(rc, 0, "screen:\n%s", t.screen);
  char *text = slurp(cfg);
  cr_assert(strstr(text, "  - name: staging\n"
                         "    description: \"staging: keys #2\"\n"
                         "    priority: secondary\n"
                         "    endpoints: []\n"
                         "# end of file\n"),
            "config:\n%s", text);
  free(text);
}

Test(edit_tty, h_reset_all_needs_confirmation) {
  struct tty t;
  spawn_cmd(&t, "config", "reset", NULL);
  expect(&t, "to its default? Profiles stay (y/N): ");
  type(&t, "\n"); /* default is no */
  int rc = finish(&t);
  cr_assert_eq(rc, QCCC_EDIT_CANCELLED, "screen:\n%s", t.screen);
  cr_assert(cfg_is_base());
}

/* Issue 16: removals ask on a terminal; "no" (the default) leaves the file
 * as it was, "y" removes, -y never asks. */
Test(edit_tty, i_endpoint_remove_asks) {
  struct tty t;
  spawn_cmd(&t, "endpoint", "remove", "prod-2");
  expect(&t, "Remove endpoint prod-2 from profile production in ");
  expect(&t, "(y/N): ");
  type(&t, "\n");
  int rc = finish(&t);
  cr_assert_eq(rc, QCCC_EDIT_CANCELLED, "screen:\n%s", t.screen);
  cr_assert(cfg_is_base());
  spawn_cmd(&t, "endpoint", "remove", "prod-2");
  expect(&t, "(y/N): ");
  type(&t, "y\n");
  rc = finish(&t);
  cr_assert_eq(rc, 0, "screen:\n%s", t.screen);
  char *text = slurp(cfg);
  cr_assert_null(strstr(text, "prod-2"), "config:\n%s", text);
  free(text);
}

Test(edit_tty, j_profile_remove_asks_and_y_skips) {
  struct tty t;
  spawn_cmd(&t, "profile", "remove", "backup");
  expect(&t, "Remove profile backup and every endpoint in it from ");
  type(&t, "n\n");
  cr_assert_eq(finish(&t), QCCC_EDIT_CANCELLED, "screen:\n%s", t.screen);
  cr_assert(cfg_is_base());
  /* -y on a terminal: no question */
  memset(&t, 0, sizeof t);
  t.pid = forkpty(&t.fd, NULL, NULL, &(struct winsize){.ws_row = 50, .ws_col = 200});
  cr_assert_neq(t.pid, -1);
  if (t.pid == 0) {
    char *argv[] = {"remove", "backup", "-y", "-c", cfg, NULL};
    int r = qccc_edit_cmd("profile", 5, argv, stdin, stdout, stderr);
    fflush(stdout);
    _exit(r);
  }
  cr_assert_eq(finish(&t), 0, "-y does not ask; screen:\n%s", t.screen);
  cr_assert_null(strstr(t.screen, "(y/N)"), "screen:\n%s", t.screen);
  char *text = slurp(cfg);
  cr_assert_null(strstr(text, "name: backup"), "config:\n%s", text);
  free(text);
}
