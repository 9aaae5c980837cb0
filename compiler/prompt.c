/* Terminal prompting (see prompt.h). */
#include "prompt.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

/* A user who keeps typing nonsense is not helped by being asked forever. */
#define MAX_TRIES 10
#define MAX_LINE 4096

struct qcc_prompt {
  FILE *in, *out;
};

struct qcc_prompt *qcc_prompt_new(FILE *in, FILE *out) {
  struct qcc_prompt *p = calloc(1, sizeof *p);
  if (!p)
    return NULL;
  p->in = in;
  p->out = out;
  return p;
}

void qcc_prompt_free(struct qcc_prompt **p) {
  if (!p || !*p)
    return;
  free(*p);
  *p = NULL;
}

bool qcc_prompt_interactive(const struct qcc_prompt *p) { return p && isatty(fileno(p->in)) == 1; }

/* Read one line without its newline. 0, CANCEL on end of input, -1 on error
 * or a line longer than MAX_LINE. */
static int read_line(struct qcc_prompt *p, char **out) {
  char *line = NULL;
  size_t cap = 0;
  *out = NULL;
  errno = 0;
  ssize_t n = getline(&line, &cap, p->in);
  if (n < 0) {
    free(line);
    if (feof(p->in)) {
      clearerr(p->in);
      return QCC_PROMPT_CANCEL;
    }
    return -1;
  }
  if (n > MAX_LINE) {
    explicit_bzero(line, (size_t)n);
    free(line);
    return -1;
  }
  while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
    line[--n] = '\0';
  *out = line;
  return 0;
}

/* Trimmed copy of an answer; "q" means cancel. */
static int ask(struct qcc_prompt *p, const char *question, const char *def, char **out) {
  if (def && def[0])
    fprintf(p->out, "%s [%s]: ", question, def);
  else
    fprintf(p->out, "%s: ", question);
  fflush(p->out);
  char *line;
  int rc = read_line(p, &line);
  if (rc != 0) {
    if (rc == QCC_PROMPT_CANCEL)
      fputc('\n', p->out);
    return rc;
  }
  char *s = line;
  while (*s == ' ' || *s == '\t')
    s++;
  size_t n = strlen(s);
  while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
    s[--n] = '\0';
  if (strcmp(s, "q") == 0) {
    free(line);
    return QCC_PROMPT_CANCEL;
  }
  memmove(line, s, n + 1);
  *out = line;
  return 0;
}

static void again(struct qcc_prompt *p, const char *why) {
  fprintf(p->out, "  %s; try again (q to cancel)\n", why);
}

static int too_many(struct qcc_prompt *p) {
  fprintf(p->out, "  too many invalid answers\n");
  return QCC_PROMPT_CANCEL;
}

int qcc_prompt_choice(struct qcc_prompt *p, const char *question, const char *const *items,
                      size_t n, size_t def, size_t *out) {
  for (size_t i = 0; i < n; i++)
    fprintf(p->out, "  %zu. %s\n", i + 1, items[i]);
  char defbuf[32] = "";
  if (def < n)
    snprintf(defbuf, sizeof defbuf, "%zu", def + 1);
  char q[512];
  snprintf(q, sizeof q, "%s (1-%zu)", question, n);
  for (int t = 0; t < MAX_TRIES; t++) {
    char *ans;
    int rc = ask(p, q, defbuf, &ans);
    if (rc != 0)
      return rc;
    if (ans[0] == '\0' && def < n) {
      free(ans);
      *out = def;
      return 0;
    }
    char *end = NULL;
    unsigned long v = strtoul(ans, &end, 10);
    bool ok = ans[0] >= '0' && ans[0] <= '9' && *end == '\0' && v >= 1 && v <= n;
    free(ans);
    if (ok) {
      *out = v - 1;
      return 0;
    }
    char why[64];
    snprintf(why, sizeof why, "please answer a number from 1 to %zu", n);
    again(p, why);
  }
  return too_many(p);
}

int qcc_prompt_text(struct qcc_prompt *p, const char *question, const char *def,
                    qcc_prompt_check check, void *ctx, char **out) {
  for (int t = 0; t < MAX_TRIES; t++) {
    char *ans;
    int rc = ask(p, question, def, &ans);
    if (rc != 0)
      return rc;
    if (ans[0] == '\0' && def) {
      free(ans);
      ans = strdup(def);
      if (!ans)
        return -1;
    }
    char why[256] = "an answer is needed";
    if (ans[0] != '\0' && (!check || check(ans, why, sizeof why, ctx))) {
      *out = ans;
      return 0;
    }
    free(ans);
    again(p, why);
  }
  return too_many(p);
}

int qcc_prompt_uint(struct qcc_prompt *p, const char *question, uint32_t def, uint32_t min,
                    uint32_t max, uint32_t *out) {
  char defbuf[16];
  snprintf(defbuf, sizeof defbuf, "%u", def);
  for (int t = 0; t < MAX_TRIES; t++) {
    char *ans;
    int rc = ask(p, question, defbuf, &ans);
    if (rc != 0)
      return rc;
    if (ans[0] == '\0') {
      free(ans);
      *out = def;
      return 0;
    }
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(ans, &end, 10);
    bool ok = ans[0] >= '0' && ans[0] <= '9' && *end == '\0' && errno == 0 && v >= min && v <= max;
    free(ans);
    if (ok) {
      *out = (uint32_t)v;
      return 0;
    }
    char why[96];
    snprintf(why, sizeof why, "please answer a whole number from %u to %u", min, max);
    again(p, why);
  }
  return too_many(p);
}

int qcc_prompt_yesno(struct qcc_prompt *p, const char *question, bool def, bool *out) {
  char q[512];
  snprintf(q, sizeof q, "%s (%s)", question, def ? "Y/n" : "y/N");
  for (int t = 0; t < MAX_TRIES; t++) {
    char *ans;
    int rc = ask(p, q, NULL, &ans);
    if (rc != 0)
      return rc;
    int v = -1;
    if (ans[0] == '\0')
      v = def;
    else if (strcasecmp(ans, "y") == 0 || strcasecmp(ans, "yes") == 0)
      v = 1;
    else if (strcasecmp(ans, "n") == 0 || strcasecmp(ans, "no") == 0)
      v = 0;
    free(ans);
    if (v >= 0) {
      *out = v == 1;
      return 0;
    }
    again(p, "please answer y or n");
  }
  return too_many(p);
}

/* The terminal state to restore if a signal arrives while echo is off, so
 * an interrupted key entry does not leave the user's shell without echo. */
static struct termios saved_tio;
static volatile sig_atomic_t saved_fd = -1;

static void restore_and_reraise(int sig) {
  if (saved_fd >= 0)
    tcsetattr(saved_fd, TCSAFLUSH, &saved_tio);
  signal(sig, SIG_DFL);
  raise(sig);
}

int qcc_prompt_secret(struct qcc_prompt *p, const char *question, char **out) {
  int fd = fileno(p->in);
  struct termios tio;
  if (tcgetattr(fd, &tio) != 0)
    return -1;
  for (int t = 0; t < MAX_TRIES; t++) {
    struct termios quiet = tio;
    quiet.c_lflag &= ~(tcflag_t)ECHO;
    quiet.c_lflag |= ECHONL;
    saved_tio = tio;
    saved_fd = fd;
    struct sigaction sa = {0}, old_int, old_term, old_hup;
    sa.sa_handler = restore_and_reraise;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    sigaction(SIGHUP, &sa, &old_hup);
    /* Echo goes off before the prompt is shown: a key typed or pasted as
     * soon as the prompt appears must never reach the screen. TCSAFLUSH
     * drops anything typed before the prompt. */
    if (tcsetattr(fd, TCSAFLUSH, &quiet) != 0) {
      saved_fd = -1;
      sigaction(SIGINT, &old_int, NULL);
      sigaction(SIGTERM, &old_term, NULL);
      sigaction(SIGHUP, &old_hup, NULL);
      return -1;
    }
    fprintf(p->out, "%s (input hidden): ", question);
    fflush(p->out);
    char *line;
    int rc = read_line(p, &line);
    tcsetattr(fd, TCSANOW, &tio);
    saved_fd = -1;
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    sigaction(SIGHUP, &old_hup, NULL);
    if (rc != 0) {
      if (rc == QCC_PROMPT_CANCEL)
        fputc('\n', p->out);
      return rc;
    }
    if (strcmp(line, "q") == 0) {
      qcc_prompt_wipe(&line);
      return QCC_PROMPT_CANCEL;
    }
    bool ok = line[0] != '\0' && !strpbrk(line, " \t");
    if (ok) {
      *out = line;
      return 0;
    }
    qcc_prompt_wipe(&line);
    again(p, "the key must be one word, not empty");
  }
  return too_many(p);
}

void qcc_prompt_wipe(char **secret) {
  if (!secret || !*secret)
    return;
  explicit_bzero(*secret, strlen(*secret));
  free(*secret);
  *secret = NULL;
}
