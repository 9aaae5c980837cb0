#include "alerts.h"

#include <curl/curl.h>
#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "curlloop.h"
#include "log.h"
#include "router.h"

#define TICK_SECONDS 1.0
#define WEBHOOK_TRIES 3

extern char **environ;

/* Variables a desktop notifier or a chat script needs; nothing else of
 * qcc-run's environment (which holds the API keys) reaches a hook. */
static const char *const kept_env[] = {"PATH", "HOME", "USER", "LANG", "LC_ALL", "DISPLAY",
                                       "WAYLAND_DISPLAY", "XDG_RUNTIME_DIR",
                                       "DBUS_SESSION_BUS_ADDRESS"};

struct delivery {
  struct qcc_alerts *a;
  struct delivery *next;
  char *json;
  char kind[32];
  /* exec */
  pid_t pid;
  ev_child child;
  /* webhook */
  CURL *easy;
  struct qcc_curl_job job;
  struct curl_slist *hdrs;
  int tries;
  ev_timer timer; /* exec: the kill deadline; webhook: the next try */
};

struct ep_state {
  uint64_t sid;
  bool alerted;
};

struct qcc_alerts {
  struct ev_loop *loop;
  struct qcc_router *router;
  uint64_t (*now_ms)(void);
  struct qcc_curlloop *cl;
  ev_timer tick;
  bool enabled;
  uint32_t threshold;
  char *exec, *webhook;
  uint32_t timeout_ms;
  struct ep_state *eps; /* sorted by sid */
  size_t neps;
  uint32_t down_ticks;
  bool all_down;
  struct delivery *busy; /* running deliveries */
  size_t nbusy;
  struct qcc_alerts_stats stats;
  qcc_alert_hook hook;
  void *hook_arg;
};

/* ---- delivery ------------------------------------------------------------- */

static void delivery_free(struct delivery *d) {
  struct qcc_alerts *a = d->a;
  for (struct delivery **p = &a->busy; *p != NULL; p = &(*p)->next)
    if (*p == d) {
      *p = d->next;
      a->nbusy--;
      break;
    }
  ev_timer_stop(a->loop, &d->timer);
  if (d->pid > 0) ev_child_stop(a->loop, &d->child);
  if (d->easy != NULL) {
    qcc_curlloop_remove(a->cl, d->easy);
    curl_easy_cleanup(d->easy);
  }
  curl_slist_free_all(d->hdrs);
  free(d->json);
  free(d);
}

static void delivered(struct delivery *d, bool ok, const char *how) {
  if (ok) {
    d->a->stats.delivered++;
    qcc_log_debug("alert %s delivered (%s)", d->kind, how);
  } else {
    d->a->stats.failed++;
    qcc_log_warn("alert %s not delivered: %s", d->kind, how);
  }
  delivery_free(d);
}

static void child_cb(struct ev_loop *loop, ev_child *w, int revents) {
  (void)loop;
  (void)revents;
  struct delivery *d = w->data;
  int st = w->rstatus;
  char how[96];
  if (WIFEXITED(st))
    snprintf(how, sizeof how, "alerts.exec exited with status %d", WEXITSTATUS(st));
  else
    snprintf(how, sizeof how, "alerts.exec killed by signal %d%s", WTERMSIG(st),
             WTERMSIG(st) == SIGKILL ? " (alerts.timeout)" : "");
  d->pid = 0; /* reaped */
  ev_child_stop(d->a->loop, &d->child);
  delivered(d, WIFEXITED(st) && WEXITSTATUS(st) == 0, how);
}

static void exec_deadline_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  (void)loop;
  (void)revents;
  struct delivery *d = w->data;
  if (d->pid > 0) kill(-d->pid, SIGKILL); /* the whole group: sh and what it started */
}

static char **hook_env(const char *kind, char *kindvar, size_t cap) {
  size_t n = sizeof kept_env / sizeof kept_env[0];
  char **env = calloc(n + 2, sizeof *env);
  if (env == NULL) return NULL;
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    size_t len = strlen(kept_env[i]);
    for (char **e = environ; e != NULL && *e != NULL; e++)
      if (strncmp(*e, kept_env[i], len) == 0 && (*e)[len] == '=') {
        env[k++] = *e;
        break;
      }
  }
  snprintf(kindvar, cap, "QCC_ALERT_KIND=%s", kind);
  env[k++] = kindvar;
  return env;
}

static int start_exec(struct delivery *d) {
  struct qcc_alerts *a = d->a;
  int pfd[2];
  if (pipe2(pfd, O_CLOEXEC) != 0) return -1;
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t at;
  posix_spawn_file_actions_init(&fa);
  posix_spawnattr_init(&at);
  posix_spawn_file_actions_adddup2(&fa, pfd[0], 0);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  sigset_t none, dflt;
  sigemptyset(&none);
  sigemptyset(&dflt);
  sigaddset(&dflt, SIGPIPE); /* ignored by qcc-run; a hook gets the default */
  posix_spawnattr_setsigmask(&at, &none);
  posix_spawnattr_setsigdefault(&at, &dflt);
  posix_spawnattr_setpgroup(&at, 0);
  posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                    POSIX_SPAWN_SETSIGDEF);
  char kindvar[64];
  char **env = hook_env(d->kind, kindvar, sizeof kindvar);
  char *argv[] = {"/bin/sh", "-c", a->exec, NULL};
  pid_t pid = -1;
  int rc = env != NULL ? posix_spawn(&pid, "/bin/sh", &fa, &at, argv, env) : ENOMEM;
  free(env);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&at);
  close(pfd[0]);
  if (rc != 0) {
    close(pfd[1]);
    errno = rc;
    return -1;
  }
  /* An alert (bounded fields, under 3 KiB) fits the pipe's buffer: this
   * never waits, even for a hook that does not read its stdin. */
  fcntl(pfd[1], F_SETFL, O_NONBLOCK);
  /* one line per alert: `cat >> FILE` makes a JSON-lines file */
  struct iovec iov[2] = {{d->json, strlen(d->json)}, {"\n", 1}};
  ssize_t w = writev(pfd[1], iov, 2);
  (void)w;
  close(pfd[1]);
  d->pid = pid;
  ev_child_init(&d->child, child_cb, pid, 0);
  d->child.data = d;
  ev_child_start(a->loop, &d->child);
  ev_timer_init(&d->timer, exec_deadline_cb, (double)a->timeout_ms / 1e3, 0.);
  d->timer.data = d;
  ev_timer_start(a->loop, &d->timer);
  return 0;
}

static void webhook_try(struct delivery *d);

static size_t discard(char *p, size_t s, size_t n, void *ud) {
  (void)p;
  (void)ud;
  return s * n;
}

static void webhook_retry_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  (void)loop;
  (void)revents;
  webhook_try(w->data);
}

static void webhook_done(struct qcc_curl_job *job, CURL *easy, CURLcode rc) {
  struct delivery *d = job->arg;
  long code = 0;
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
  char how[160];
  if (rc == CURLE_OK && code >= 200 && code < 300) {
    snprintf(how, sizeof how, "alerts.webhook answered %ld", code);
    delivered(d, true, how);
    return;
  }
  if (rc != CURLE_OK) snprintf(how, sizeof how, "alerts.webhook: %s", curl_easy_strerror(rc));
  else snprintf(how, sizeof how, "alerts.webhook answered %ld", code);
  bool again = rc != CURLE_OK || code >= 500 || code == 429;
  if (!again || d->tries >= WEBHOOK_TRIES) {
    delivered(d, false, how);
    return;
  }
  qcc_log_info("alert %s: %s; trying again", d->kind, how);
  /* 1 s, then 2 s: a chat service's hiccup, not an outage to wait out */
  ev_timer_init(&d->timer, webhook_retry_cb, (double)d->tries, 0.);
  d->timer.data = d;
  ev_timer_start(d->a->loop, &d->timer);
}

static void webhook_try(struct delivery *d) {
  struct qcc_alerts *a = d->a;
  if (d->easy != NULL) qcc_curlloop_remove(a->cl, d->easy);
  else d->easy = curl_easy_init();
  CURL *e = d->easy;
  if (e == NULL) {
    delivered(d, false, "out of memory");
    return;
  }
  d->tries++;
  curl_easy_reset(e);
  curl_easy_setopt(e, CURLOPT_URL, a->webhook);
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, d->hdrs);
  curl_easy_setopt(e, CURLOPT_POSTFIELDS, d->json);
  curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(d->json));
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)a->timeout_ms);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_USERAGENT, "qcc-run alerts");
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard); /* the answer body is not ours */
  d->job = (struct qcc_curl_job){.done = webhook_done, .arg = d};
  if (qcc_curlloop_add(a->cl, e, &d->job) != 0) delivered(d, false, "libcurl refused the transfer");
}

static void deliver(struct qcc_alerts *a, const char *kind, const char *json, bool webhook) {
  if (a->nbusy >= QCC_ALERTS_MAX_BUSY) {
    a->stats.dropped++;
    qcc_log_warn("alert %s not delivered: %d deliveries already running", kind,
                 QCC_ALERTS_MAX_BUSY);
    return;
  }
  struct delivery *d = calloc(1, sizeof *d);
  if (d == NULL || (d->json = strdup(json)) == NULL) {
    free(d);
    a->stats.failed++;
    return;
  }
  d->a = a;
  snprintf(d->kind, sizeof d->kind, "%s", kind);
  d->next = a->busy;
  a->busy = d;
  a->nbusy++;
  if (!webhook) {
    if (start_exec(d) != 0) {
      char how[128];
      snprintf(how, sizeof how, "alerts.exec: cannot start /bin/sh: %s", strerror(errno));
      delivered(d, false, how);
    }
    return;
  }
  d->hdrs = curl_slist_append(NULL, "Content-Type: application/json");
  webhook_try(d);
}

/* ---- raising -------------------------------------------------------------- */

static void raise_alert(struct qcc_alerts *a, const char *kind, const char *endpoint,
                        uint64_t sid, const char *profile, const char *message,
                        const char *detail) {
  a->stats.raised++;
  qcc_log_warn("ALERT %s: %s", kind, message);
  if (a->hook != NULL)
    a->hook(a->hook_arg, &(struct qcc_alert){.kind = kind,
                                             .endpoint = endpoint != NULL ? endpoint : "",
                                             .endpoint_sid = sid,
                                             .profile = profile != NULL ? profile : "",
                                             .message = message});
  if ((a->exec == NULL || a->exec[0] == '\0') && (a->webhook == NULL || a->webhook[0] == '\0'))
    return;
  char when[32];
  time_t t = time(NULL);
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
  json_t *o = json_pack("{s:s,s:s,s:s,s:s}", "type", "qcc_alert", "kind", kind, "time", when,
                        "message", message);
  if (o == NULL) return;
  if (endpoint != NULL && endpoint[0] != '\0') json_object_set_new(o, "endpoint", json_string(endpoint));
  if (profile != NULL && profile[0] != '\0') json_object_set_new(o, "profile", json_string(profile));
  if (detail != NULL && detail[0] != '\0') json_object_set_new(o, "detail", json_string(detail));
  char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
  json_decref(o);
  if (s == NULL) return;
  if (a->exec != NULL && a->exec[0] != '\0') deliver(a, kind, s, false);
  if (a->webhook != NULL && a->webhook[0] != '\0') deliver(a, kind, s, true);
  free(s);
}

static int sid_cmp(const void *x, const void *y) {
  uint64_t a = ((const struct ep_state *)x)->sid, b = ((const struct ep_state *)y)->sid;
  return a < b ? -1 : a > b;
}

static void evaluate(struct qcc_alerts *a) {
  uint64_t now = a->now_ms();
  uint32_t n = qcc_router_endpoint_count(a->router);
  struct ep_state *next = n > 0 ? calloc(n, sizeof *next) : NULL;
  if (n > 0 && next == NULL) return;
  size_t considered = 0, available = 0;
  for (uint32_t i = 0; i < n; i++) {
    struct qcc_route_snapshot s;
    if (qcc_router_snapshot(a->router, i, now, &s) != 0) continue;
    struct ep_state key = {.sid = s.stable_id};
    const struct ep_state *old =
        a->neps > 0 ? bsearch(&key, a->eps, a->neps, sizeof *a->eps, sid_cmp) : NULL;
    next[i] = (struct ep_state){.sid = s.stable_id, .alerted = old != NULL && old->alerted};
    if (s.enabled && !s.operator_disabled) {
      considered++;
      if (s.available) available++;
    }
    char msg[320];
    if (!next[i].alerted && s.health == QCC_HEALTH_UNHEALTHY &&
        s.consecutive_failures >= a->threshold) {
      next[i].alerted = true;
      snprintf(msg, sizeof msg, "endpoint %s (profile %s) is unhealthy after %u failures in a row",
               s.id, s.profile, s.consecutive_failures);
      raise_alert(a, "endpoint_unhealthy", s.id, s.stable_id, s.profile, msg, s.last_error);
    } else if (next[i].alerted && s.health == QCC_HEALTH_HEALTHY) {
      next[i].alerted = false;
      snprintf(msg, sizeof msg, "endpoint %s (profile %s) is healthy again", s.id, s.profile);
      raise_alert(a, "endpoint_recovered", s.id, s.stable_id, s.profile, msg, NULL);
    }
  }
  qsort(next, n, sizeof *next, sid_cmp);
  free(a->eps);
  a->eps = next;
  a->neps = n;
  if (considered > 0 && available == 0) {
    a->down_ticks++;
    if (!a->all_down && a->down_ticks >= a->threshold) {
      a->all_down = true;
      char msg[160];
      snprintf(msg, sizeof msg, "no endpoint can take a request (%zu enabled, all down for %u s)",
               considered, a->down_ticks);
      raise_alert(a, "all_down", NULL, 0, NULL, msg, NULL);
    }
  } else {
    a->down_ticks = 0;
    if (a->all_down) {
      a->all_down = false;
      char msg[96];
      snprintf(msg, sizeof msg, "endpoints are available again (%zu of %zu)", available, considered);
      raise_alert(a, "all_down_over", NULL, 0, NULL, msg, NULL);
    }
  }
}

static void tick_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  (void)loop;
  (void)revents;
  evaluate(w->data);
}

void qcc_alerts_route_event(struct qcc_alerts *a, const struct qcc_route_event *e) {
  if (a == NULL || !a->enabled) return;
  if (e->kind == QCC_EV_REST && strstr(e->reason, "budget spent") != NULL) {
    char msg[320];
    snprintf(msg, sizeof msg, "endpoint %s: %s", e->endpoint, e->reason);
    raise_alert(a, "budget_spent", e->endpoint, e->stable_id, e->profile, msg, e->reason);
    return;
  }
  if (e->kind != QCC_EV_SWITCH) return;
  char msg[320];
  snprintf(msg, sizeof msg, "active profile %s -> %s (%s)", e->from[0] ? e->from : "none", e->to,
           e->reason);
  raise_alert(a, "profile_switch", NULL, 0, e->to, msg, e->reason);
}

/* ---- lifecycle ------------------------------------------------------------- */

int qcc_alerts_new(struct ev_loop *loop, struct qcc_router *router, uint64_t (*now_ms)(void),
                   struct qcc_alerts **out, struct qcc_err *err) {
  *out = NULL;
  struct qcc_alerts *a = calloc(1, sizeof *a);
  if (a == NULL) return qcc_err_set(err, ENOMEM, "out of memory");
  a->loop = loop;
  a->router = router;
  a->now_ms = now_ms;
  if (qcc_curlloop_new(loop, NULL, NULL, &a->cl, err) != 0) {
    free(a);
    return -1;
  }
  ev_timer_init(&a->tick, tick_cb, TICK_SECONDS, TICK_SECONDS);
  a->tick.data = a;
  *out = a;
  return 0;
}

static int set_str(char **dst, const char *src) {
  char *c = src != NULL && src[0] != '\0' ? strdup(src) : NULL;
  if (src != NULL && src[0] != '\0' && c == NULL) return -1;
  free(*dst);
  *dst = c;
  return 0;
}

int qcc_alerts_configure(struct qcc_alerts *a, const struct qcc_alerts_config *c,
                         struct qcc_err *err) {
  if (set_str(&a->exec, c->exec) != 0 || set_str(&a->webhook, c->webhook) != 0)
    return qcc_err_set(err, ENOMEM, "out of memory");
  a->enabled = c->enabled;
  a->threshold = c->threshold > 0 ? c->threshold : 1;
  a->timeout_ms = c->timeout_ms > 0 ? c->timeout_ms : 10000;
  if (a->enabled && !ev_is_active(&a->tick)) ev_timer_again(a->loop, &a->tick);
  if (!a->enabled) ev_timer_stop(a->loop, &a->tick);
  return 0;
}

void qcc_alerts_set_hook(struct qcc_alerts *a, qcc_alert_hook hook, void *arg) {
  a->hook = hook;
  a->hook_arg = arg;
}

void qcc_alerts_get_stats(const struct qcc_alerts *a, struct qcc_alerts_stats *out) {
  *out = a != NULL ? a->stats : (struct qcc_alerts_stats){0};
}

void qcc_alerts_free(struct qcc_alerts **pa) {
  if (pa == NULL || *pa == NULL) return;
  struct qcc_alerts *a = *pa;
  while (a->busy != NULL) {
    struct delivery *d = a->busy;
    if (d->pid > 0) {
      kill(-d->pid, SIGKILL);
      waitpid(d->pid, NULL, 0); /* just killed: returns at once */
    }
    delivery_free(d);
  }
  ev_timer_stop(a->loop, &a->tick);
  qcc_curlloop_free(&a->cl);
  free(a->eps);
  free(a->exec);
  free(a->webhook);
  free(a);
  *pa = NULL;
}
