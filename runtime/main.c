/* qcc-run: serve a compiled routing table on one libev loop.
 * Exit codes: 0 clean exit (also after SIGTERM/SIGINT drain) and --check ok,
 * 1 the table or the environment is not usable, 2 usage error. */
#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#ifdef QCC_MIMALLOC
#include <mimalloc.h>
#endif

#include "accesslog.h"
#include "admin.h"
#include "adminapi.h"
#include "alerts.h"
#include "budget.h"
#include "deadletters.h"
#include "events.h"
#include "exchange.h"
#include "generation.h"
#include "journal_writer.h"
#include "budgetgate.h"
#include "daemon.h"
#include "usagelog.h"
#include "usagesum.h"
#include "keystore.h"
#include "limits.h"
#include "log.h"
#include "metrics.h"
#include "prober.h"
#include "proxy.h"
#include "queue.h"
#include "replay.h"
#include "router.h"
#include "runtime.h"
#include "schema/fileio.h"
#include "schema/statedir.h"
#include "schema/zone.h"
#include "select.h"
#include "statuspage.h"
#include "server.h"
#include "tableset.h"
#include "warmer.h"
#include "tlsserver.h"
#include "app.h"

#ifndef QCC_VERSION
#define QCC_VERSION "0.1.0"
#endif
#define MAX_IN_FLIGHT_ENV "QCC_MAX_IN_FLIGHT" /* overrides the in-flight limit (tests, ops) */
#define PAGE_LINK_TTL_ENV "QCC_PAGE_LINK_TTL_MS" /* status page login links' lifetime (tests) */

/* GnuTLS is loaded but never used: Debian's libcurl pulls it in through
 * libldap and librtmp (curl itself does TLS with OpenSSL, and qcc-run only
 * allows http and https). Its library constructor calls gnutls_global_init()
 * unless the program defines this hook (exported by GnuTLS as a weak symbol,
 * called through the PLT; meson exports ours): that init costs ~1 MiB of RSS
 * (GnuTLS, p11-kit, nettle pages) and some start-up time. A user of GnuTLS
 * that calls gnutls_global_init() itself, as libldap does, still works. */
int _gnutls_global_init_skip(void);
int _gnutls_global_init_skip(void) { return 1; }


static void usage(FILE *f) {
  fprintf(f,
          "usage: qcc-run [--state-dir DIR] [--listen HOST:PORT] [--access-log PATH|-]\n"
          "               [--log PATH] [--log-level debug|info|warning|error] [--check] TABLE\n"
          "  --version      print the version and the table format it reads, and exit\n"
          "  --check        verify TABLE and exit (0 valid, 1 not)\n"
          "  --state-dir    default $QCC_STATE_DIR, else ~/.qcc\n"
          "  --listen       default: the table's proxy.host:proxy.port ([::1]:PORT for IPv6)\n"
          "  --access-log   default STATE_DIR/access.log; '-' = stdout\n"
          "  --log          error log file (default stderr); reopened on SIGUSR1\n"
          "  --daemon       detach (double fork, setsid, chdir /); stdio to /dev/null;\n"
          "                 returns 0 once serving, else the start-up error and status\n"
          "  --pidfile FILE write the pid there once listening (0600), removed on exit;\n"
          "                 refuses to start while it names a live qcc-run\n"
          "  --metrics-listen 127.0.0.1:PORT\n"
          "                 also serve GET /metrics and /healthz on this loopback TCP port\n"
          "                 (loopback addresses only; PORT 0 picks one, logged at start)\n"
          "  --allow-core   allow core dumps; by default qcc-run is not dumpable (no core,\n"
          "                 no ptrace by other processes of the user): a core holds every key\n");
}

static int check_table(const char *path) {
  struct qcc_table *t = NULL;
  struct qcc_table_error terr = {0};
  if (qcc_table_open(path, &t, &terr) != 0) {
    const char *kind = qcc_table_status_name(terr.status);
    if (strstr(terr.message, kind) != NULL) kind = "error";
    fprintf(stderr, "qcc-run: %s: %s: %s\n", path, kind, terr.message);
    return 1;
  }
  const struct qcc_tbl_header *h = qcc_table_header(t);
  printf("%s: ok: generation %llu, %u profiles, %u endpoints, format %u.%u\n", path,
         (unsigned long long)h->generation, qcc_table_profile_count(t), qcc_table_endpoint_count(t),
         (unsigned)h->version_major, (unsigned)h->version_minor);
  qcc_table_close(&t);
  return 0;
}

/* The router's tunables that the table does not carry, derived from it:
 * the breaker's first cooldown is the switching cooldown when that is
 * shorter than the default 30 s, so a group whose cooldown is short can
 * start proving itself as soon as its cooldown allows. Fixed at start. */
static void router_params(const struct qcc_tbl_settings *st, struct qcc_router_params *p) {
  qcc_router_params_default(p);
  if (st->cooldown_ms > 0 && st->cooldown_ms < p->breaker_base_ms)
    p->breaker_base_ms = st->cooldown_ms < 100 ? 100 : st->cooldown_ms;
}

/* A non-loopback listener must not serve a table without client tokens. */
static int auth_check(void *ctx, const struct qcc_generation *g, struct qcc_err *err) {
  const struct app *a = ctx;
  if (a->loopback || qcc_keystore_token_count(g->keys) > 0) return 0;
  return qcc_err_set(err, EPERM,
                     "listening on %s (not loopback) needs client auth, but this table has no "
                     "resolved proxy.auth_tokens",
                     qcc_server_address(a->rt.server));
}

/* proxy.ssl_enabled: the table's certificate and key, loaded now, so a table
 * whose files are missing or wrong is rejected and the old one (and its
 * certificate) keeps serving. Every load reads the files again: SIGHUP after
 * renewing a certificate is enough. */
static int tls_check(struct app *a, const struct qcc_generation *g, struct qcc_err *err) {
  qcc_tlsserver_free(&a->tls_next);
  const struct qcc_tbl_settings *st = qcc_table_settings(g->table);
  if (!st->ssl_enabled) return 0;
  return qcc_tlsserver_new(qcc_table_str(g->table, st->tls_cert),
                           qcc_table_str(g->table, st->tls_key), &a->tls_next, err);
}

/* A table went live: its TLS context (or none) serves new connections. */
static void tls_apply(struct app *a) {
  bool was = a->tls != NULL;
  qcc_tlsserver_free(&a->tls);
  a->tls = a->tls_next;
  a->tls_next = NULL;
  qcc_server_set_tls(a->rt.server, a->tls);
  if (was != (a->tls != NULL))
    qcc_log_warn("the listener now speaks %s to new connections", a->tls ? "HTTPS" : "plain HTTP");
}

/* usage.timezone must name a zone of this machine's tz database (glibc would
 * silently use UTC): a table that does not is refused before it goes live,
 * so the budget and the router always count over the same table. */
static int zone_check(const struct qcc_generation *g, struct qcc_err *err) {
  const char *zone = qcc_table_str(g->table, qcc_table_settings(g->table)->usage_timezone);
  if (zone[0] != '\0' && !qcc_zone_known(zone))
    return qcc_err_set(err, EINVAL, "usage.timezone '%s' is not in this machine's tz database",
                       zone);
  return 0;
}

static int table_check(void *ctx, const struct qcc_generation *g, struct qcc_err *err) {
  if (zone_check(g, err) != 0) return -1;
  return auth_check(ctx, g, err) != 0 ? -1 : tls_check(ctx, g, err);
}

static void configure_alerts(struct app *a, const struct qcc_table *t) {
  const struct qcc_tbl_settings *st = qcc_table_settings(t);
  struct qcc_alerts_config c = {.enabled = st->alert_enabled, .threshold = st->alert_threshold,
                                .exec = qcc_table_str(t, st->alerts_exec),
                                .webhook = qcc_table_str(t, st->alerts_webhook),
                                .timeout_ms = st->alerts_timeout_ms};
  struct qcc_err err = {0};
  if (qcc_alerts_configure(a->alerts, &c, &err) != 0) qcc_log_error("alerts: %s", err.msg);
}

static void drained(void *ctx) {
  struct app *a = ctx;
  qcc_log_info("drained; exiting");
  a->drained = true;
  ev_break(a->rt.loop, EVBREAK_ALL);
}

/* The in-flight limit: proxy.max_connections, unless $QCC_MAX_IN_FLIGHT says
 * otherwise: "N" (0 = none) or "N:W" with W the wait list's size (0 = a
 * request over the limit is answered 429 at once). */
static void limits_params(const struct qcc_tbl_settings *st, struct qcc_limits_params *lp) {
  qcc_limits_params_default(lp);
  lp->max_in_flight = st->max_connections;
  const char *e = getenv(MAX_IN_FLIGHT_ENV);
  if (e == NULL || e[0] == '\0') return;
  char *end = NULL;
  unsigned long v = strtoul(e, &end, 10);
  if (end == e || v > 1000000ul) return;
  unsigned long w = lp->max_waiting;
  if (*end == ':') {
    const char *ws = end + 1;
    w = strtoul(ws, &end, 10);
    if (end == ws || w > QCC_LIMITS_WAIT_HARD_MAX) return;
  }
  if (*end != '\0') return;
  lp->max_in_flight = (uint32_t)v;
  lp->max_waiting = (uint32_t)w;
}

/* Queue and limit settings of the table now serving. */
static void configure_queue(struct app *a, const struct qcc_tbl_settings *st) {
  struct qcc_queue_params qp;
  qcc_queue_params_from_settings(&qp, st, a->time_scale, a->first_id);
  qcc_queue_configure(a->rt.queue, &qp);
  struct qcc_limits_params lp;
  limits_params(st, &lp);
  qcc_limits_configure(a->rt.limits, &lp);
  qcc_proxy_limits_changed(a->rt.proxy);
}

/* Router events: metrics, and waking the failure queue when something may
 * take requests again (a breaker closing, an endpoint healthy or enabled, a
 * switch): the waiting requests are retried at once. */
static void on_route_event(void *ctx, const struct qcc_route_event *e) {
  struct app *a = ctx;
  qcc_metrics_route_event(a->rt.metrics, e);
  qcc_alerts_route_event(a->alerts, e);
  qcc_statuspage_route_event(a->page, e);
  bool recovers = false;
  switch (e->kind) {
  case QCC_EV_BREAKER: recovers = strcmp(e->to, "closed") == 0; break;
  case QCC_EV_HEALTH: recovers = strcmp(e->to, "healthy") == 0; break;
  case QCC_EV_ENABLE:
  case QCC_EV_SWITCH:
  case QCC_EV_PIN:
  case QCC_EV_UNPIN:
  case QCC_EV_RESET: recovers = true; break;
  default: break;
  }
  if (recovers && a->rt.proxy != NULL) qcc_proxy_queue_wake(a->rt.proxy);
}

static void journal_record(void *ctx, struct qcc_jrec *r) {
  struct app *a = ctx;
  qcc_events_record(a->rt.events, r);
  qcc_statuspage_record(a->page, r);
}

/* Alerts are history the status page shows from before it was opened. */
static void on_alert(void *ctx, const struct qcc_alert *al) {
  struct qcc_jrec r = {.type = QCC_JT_ALERT};
  r.u.alert = (struct qcc_jrec_alert){.kind = al->kind,
                                      .endpoint = {.sid = al->endpoint_sid, .id = al->endpoint},
                                      .profile = al->profile, .message = al->message};
  journal_record(ctx, &r);
}

/* ---- the admin socket's callbacks (adminapi.h) ---- */

static struct qcc_generation *admin_current(void *arg) {
  struct app *a = arg;
  return qcc_tableset_current(a->rt.tables);
}

static void admin_counters(void *arg, struct qcc_admin_counters *out) {
  struct app *a = arg;
  struct qcc_limits_counters lc;
  qcc_limits_counters(a->rt.limits, &lc);
  struct qcc_queue_counters qc;
  qcc_queue_counters(a->rt.queue, &qc);
  /* exchanges that wait (queue, wait list) are not being forwarded */
  int64_t busy = (int64_t)qcc_proxy_active(a->rt.proxy) - (int64_t)(qc.queued - qc.retrying) -
                 (int64_t)lc.waiting;
  *out = (struct qcc_admin_counters){
      .active_connections = a->rt.server != NULL ? qcc_server_connections(a->rt.server) : 0,
      .active_requests = busy > 0 ? (uint64_t)busy : 0,
      .waiting_requests = lc.waiting,
      .rejected_requests = lc.rejected + lc.timed_out + qc.rejected,
  };
  qcc_warmer_counts(a->warmer, &out->warm_requests, &out->warm_connections);
}

struct probe_wait {
  qcc_admin_probe_done done;
  void *arg;
};

static void probe_cb(void *ctx, const struct qcc_probe_result *res) {
  struct probe_wait *w = ctx;
  struct qcc_admin_probe out = {.ok = res->ok, .http_status = res->http_status,
                                .latency_ms = res->latency_ms};
  snprintf(out.detail, sizeof out.detail, "%s", res->error[0] != '\0' ? res->error : res->answer);
  w->done(w->arg, &out);
  free(w);
}

static int admin_test_endpoint(struct qcc_admin_ctx *ctx, uint32_t idx, qcc_admin_probe_done done,
                               void *arg) {
  struct app *a = ctx->user;
  struct probe_wait *w = malloc(sizeof *w);
  if (w == NULL) return -1;
  *w = (struct probe_wait){.done = done, .arg = arg};
  struct qcc_err err = {0};
  if (qcc_prober_test_endpoint(a->rt.prober, idx, probe_cb, w, &err) != 0) {
    qcc_log_warn("endpoint test: %s", err.msg);
    free(w);
    return -1;
  }
  return 0;
}

static int admin_replay(struct qcc_admin_ctx *ctx, const char *id, qcc_admin_replay_done done,
                        void *arg) {
  struct app *a = ctx->user;
  struct qcc_err err = {0};
  if (qcc_replay_start(a->rt.proxy, a->rt.tables, a->rt.deadletters, id, done, arg, &err) != 0) {
    qcc_log_warn("queue retry %s: %s", id, err.msg);
    return -1;
  }
  return 0;
}

/* A core dump (or another process of the user reading our memory through
 * ptrace or /proc/PID/mem) would hold every key: not dumpable, no core. */
static int no_core_dumps(void) {
  struct rlimit rl = {.rlim_cur = 0, .rlim_max = 0};
  if (setrlimit(RLIMIT_CORE, &rl) != 0) return -1;
  return prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

/* An endpoint whose key does not resolve here takes no requests: say which,
 * and why (the variable or file it names, never a value), at start and at
 * every load, rather than let requests wait in the queue for it. */
static void warn_missing_keys(const struct qcc_generation *g) {
  uint32_t n = qcc_table_endpoint_count(g->table);
  for (uint32_t i = 0; i < n; i++) {
    const char *why = NULL;
    if (qcc_keystore_endpoint_key(g->keys, i, &why) != NULL) continue;
    qcc_log_warn("endpoint %s has no key: %s; it takes no requests until a reload finds one",
                 qcc_table_str(g->table, qcc_table_endpoint(g->table, i)->id), why != NULL ? why : "unresolved");
  }
}

/* GET /endpoints' key_problem: why endpoint IDX of the current table has no key, or NULL. */
static const char *admin_key_problem(void *arg, uint32_t idx) {
  struct app *a = arg;
  const struct qcc_generation *g = qcc_tableset_current(a->rt.tables);
  const char *why = NULL;
  if (g == NULL || idx >= qcc_table_endpoint_count(g->table)) return NULL;
  if (qcc_keystore_endpoint_key(g->keys, idx, &why) != NULL) return NULL;
  return why != NULL ? why : "unresolved";
}

/* usage.detail_retention / usage.retention in whole days (a part day counts
 * as one; 0 = the default). */
static struct qcc_usage_retention usage_retention(const struct qcc_tbl_settings *st) {
  const uint64_t day = UINT64_C(86400000);
  uint64_t d = (st->usage_detail_retention_ms + day - 1) / day;
  uint64_t r = (st->usage_retention_ms + day - 1) / day;
  return (struct qcc_usage_retention){.detail_days = d > UINT32_MAX ? UINT32_MAX : (uint32_t)d,
                                      .retention_days = r > UINT32_MAX ? UINT32_MAX : (uint32_t)r};
}

/* Every table load: re-attach the router (live state kept by stable id)
 * and journal the swap or the rejection. */
static void on_swap(void *ctx, uint64_t from, const struct qcc_generation *to, uint64_t to_number,
                    const char *reason) {
  struct app *a = ctx;
  if (to != NULL) {
    struct qcc_err err = {0};
    if (qcc_router_attach(a->rt.router, to->table, qcc_runtime_now_ms(), &err) != 0)
      qcc_log_error("routing keeps the previous table's view: %s", err.msg);
  }
  if (to != NULL) {
    struct qcc_err err = {0};
    /* after the attach: the rests of spent endpoints land on the new view */
    int rc = qcc_budgetgate_load(a->budget, to->table, &err);
    if (rc < 0) qcc_log_error("budgets keep the previous table's view: %s", err.msg);
    else if (rc == 1) app_usage_rescan(a, "usage.timezone changed (budgets and page)");
    struct qcc_usage_retention ret = usage_retention(qcc_table_settings(to->table));
    qcc_usagelog_set_retention(a->usage, &ret);
    tls_apply(a);
  }
  qcc_events_table_swap(a->rt.events, from, to_number, to != NULL, reason);
  char note[300];
  snprintf(note, sizeof note, "generation %llu -> %llu%s%s", (unsigned long long)from,
           (unsigned long long)to_number, to != NULL ? "" : ": ", to != NULL ? "" : reason);
  qcc_statuspage_note(a->page, to != NULL ? "reload" : "reload_rejected", note);
  qcc_metrics_reload(a->rt.metrics, to != NULL, to != NULL ? to_number : from,
                     qcc_journal_now_ms(), to != NULL ? NULL : reason);
  if (to != NULL) {
    configure_queue(a, qcc_table_settings(to->table));
    configure_alerts(a, to->table);
    warn_missing_keys(to);
  }
}

static void signal_cb(struct ev_loop *loop, ev_signal *w, int revents) {
  (void)revents;
  struct app *a = w->data;
  switch (w->signum) {
  case SIGHUP:
    qcc_tableset_reload(a->rt.tables, "SIGHUP", NULL);
    break;
  case SIGUSR1: {
    if (qcc_log_reopen() != 0) qcc_log_error("reopen error log: %s", strerror(errno));
    struct qcc_err err = {0};
    if (qcc_accesslog_reopen(a->rt.alog, &err) != 0) qcc_log_error("%s", err.msg);
    qcc_log_info("log files reopened");
    break;
  }
  default: /* SIGTERM, SIGINT */
    if (a->rt.stopping) {
      qcc_log_warn("second stop signal: exiting without waiting");
      ev_break(loop, EVBREAK_ALL);
      return;
    }
    a->rt.stopping = true;
    a->stop_reason = w->signum == SIGTERM ? "SIGTERM" : "SIGINT";
    qcc_tableset_unwatch(a->rt.tables);
    qcc_prober_stop(a->rt.prober);
    qcc_proxy_stop_queue(a->rt.proxy);
    const struct qcc_tbl_settings *s =
        qcc_table_settings(qcc_tableset_current(a->rt.tables)->table);
    unsigned ms = s->drain_timeout_ms; /* 0: no grace, in-flight requests are cut */
    qcc_log_info("%s: draining %zu connections (up to %u ms)", strsignal(w->signum),
                 qcc_server_connections(a->rt.server), ms);
    qcc_server_drain(a->rt.server, ms / 1e3, drained, a);
    break;
  }
}

static void watch_signal(struct app *a, ev_signal *w, int signum) {
  ev_signal_init(w, signal_cb, signum);
  w->data = a;
  ev_signal_start(a->rt.loop, w);
}

int main(int argc, char **argv) {
  static const struct option opts[] = {
      {"state-dir", required_argument, NULL, 's'}, {"listen", required_argument, NULL, 'l'},
      {"access-log", required_argument, NULL, 'a'}, {"log", required_argument, NULL, 'L'},
      {"log-level", required_argument, NULL, 'v'},  {"check", no_argument, NULL, 'c'},
      {"help", no_argument, NULL, 'h'},             {"daemon", no_argument, NULL, 'd'},
      {"pidfile", required_argument, NULL, 'p'},    {"metrics-listen", required_argument, NULL, 'm'},
      {"allow-core", no_argument, NULL, 'C'},       {"version", no_argument, NULL, 'V'},
      {NULL, 0, NULL, 0},
  };
  const char *state_opt = NULL, *listen_opt = NULL, *alog_opt = NULL, *log_opt = NULL;
  const char *level_opt = NULL;
  bool check = false, daemon_opt = false, allow_core = false;
  const char *pid_opt = NULL, *metrics_opt = NULL;
  for (;;) {
    int ch = getopt_long(argc, argv, "h", opts, NULL);
    if (ch == -1) break;
    switch (ch) {
    case 's': state_opt = optarg; break;
    case 'l': listen_opt = optarg; break;
    case 'a': alog_opt = optarg; break;
    case 'L': log_opt = optarg; break;
    case 'v': level_opt = optarg; break;
    case 'c': check = true; break;
    case 'd': daemon_opt = true; break;
    case 'p': pid_opt = optarg; break;
    case 'm': metrics_opt = optarg; break;
    case 'C': allow_core = true; break;
    case 'h': usage(stdout); return 0;
    case 'V':
      printf("qcc-run %s (table format %d.%d)\n", QCC_VERSION, QCC_TABLE_MAJOR, QCC_TABLE_MINOR);
#ifdef QCC_MIMALLOC
      printf("allocator: mimalloc %d.%d.%d\n", mi_version() / 100, mi_version() / 10 % 10,
             mi_version() % 10);
#else
      printf("allocator: system malloc\n");
#endif
      return 0;
    default: usage(stderr); return 2;
    }
  }
  if (optind != argc - 1) {
    fprintf(stderr, "qcc-run: expected exactly one TABLE argument\n");
    usage(stderr);
    return 2;
  }
  /* Before any table (and so any key) is read. */
  if (!allow_core && no_core_dumps() != 0) {
    fprintf(stderr, "qcc-run: cannot turn core dumps off (%s); pass --allow-core to run anyway\n",
            strerror(errno));
    return 1;
  }
  if (check) return check_table(argv[optind]);
  /* checked before anything starts: a bad --metrics-listen is a usage error */
  char mhost[256] = "";
  uint16_t mport = 0;
  if (metrics_opt != NULL) {
    struct qcc_err merr = {0};
    if (qcc_parse_hostport(metrics_opt, mhost, sizeof mhost, &mport, &merr) != 0) {
      fprintf(stderr, "qcc-run: --metrics-listen: %s\n", merr.msg);
      return 2;
    }
    if (!qcc_admin_is_loopback(mhost)) {
      fprintf(stderr, "qcc-run: --metrics-listen: %s is not a loopback address; the metrics "
                      "port serves anyone who can connect, so it only listens on 127.0.0.1 or "
                      "::1\n", mhost);
      return 2;
    }
  }
  /* absolute: a daemon leaves the working directory, and reloads and log
   * reopens use these paths later */
  char table_abs[4096], pid_abs[4096], log_abs[4096], alog_abs[4096], state_abs[4096];
  if (qcc_daemon_absolute(argv[optind], table_abs, sizeof table_abs) != 0 ||
      (pid_opt != NULL && qcc_daemon_absolute(pid_opt, pid_abs, sizeof pid_abs) != 0) ||
      (log_opt != NULL && qcc_daemon_absolute(log_opt, log_abs, sizeof log_abs) != 0) ||
      (alog_opt != NULL && strcmp(alog_opt, "-") != 0 &&
       qcc_daemon_absolute(alog_opt, alog_abs, sizeof alog_abs) != 0) ||
      (state_opt != NULL && qcc_daemon_absolute(state_opt, state_abs, sizeof state_abs) != 0)) {
    fprintf(stderr, "qcc-run: a path is too long or the working directory is unknown\n");
    return 2;
  }
  const char *table_path = table_abs;
  if (pid_opt != NULL) pid_opt = pid_abs;
  if (log_opt != NULL) log_opt = log_abs;
  if (alog_opt != NULL && strcmp(alog_opt, "-") != 0) alog_opt = alog_abs;
  if (state_opt != NULL) state_opt = state_abs;
  if (pid_opt != NULL) {
    pid_t other = qcc_pidfile_live(pid_opt);
    if (other != 0) {
      fprintf(stderr, "qcc-run: %s names a running qcc-run (pid %ld); stop it first\n", pid_opt,
              (long)other);
      return 1;
    }
  }

  unsigned level = QCC_LOG_INFO;
  if (level_opt != NULL && !qcc_enum_parse(&qcc_log_desc, level_opt, &level)) {
    char legal[128];
    qcc_enum_list(&qcc_log_desc, legal, sizeof legal);
    fprintf(stderr, "qcc-run: --log-level %s: expected %s\n", level_opt, legal);
    return 2;
  }
  if (log_opt != NULL && qcc_log_open(log_opt) != 0) {
    fprintf(stderr, "qcc-run: --log %s: %s\n", log_opt, strerror(errno));
    return 1;
  }
  char state_dir[4096];
  struct qcc_err err = {0};
  if (qcc_statedir_resolve(state_opt, state_dir, sizeof state_dir, &err) != 0) {
    fprintf(stderr, "qcc-run: no state directory (%s): pass --state-dir or set QCC_STATE_DIR or HOME\n",
            err.msg);
    return 2;
  }
  if (qcc_statedir_ensure(state_dir, &err) != 0) {
    fprintf(stderr, "qcc-run: state directory %s: %s\n", state_dir, err.msg);
    return 1;
  }
  signal(SIGPIPE, SIG_IGN);
  /* before any thread or loop exists: fork is only safe then */
  if (daemon_opt && qcc_daemon_start() != 0) {
    fprintf(stderr, "qcc-run: --daemon: %s\n", strerror(errno));
    return 1;
  }

  struct app a = {0};
  struct qcc_runtime *rt = &a.rt;
  rt->state_dir = state_dir;
  rt->table_path = table_path;
  rt->loop = ev_default_loop(EVFLAG_AUTO);
  if (rt->loop == NULL) {
    fprintf(stderr, "qcc-run: cannot initialise the event loop\n");
    return 1;
  }
  int rc = 1;
  if (qcc_tableset_new(rt->loop, table_path, &rt->tables, &err) != 0) {
    fprintf(stderr, "qcc-run: %s\n", err.msg);
    goto out;
  }
  const struct qcc_generation *g = qcc_tableset_current(rt->tables);
  const struct qcc_tbl_settings *st = qcc_table_settings(g->table);
  if (level_opt == NULL && st->log_level < QCC_LOG_COUNT) level = st->log_level;
  qcc_log_set_level((enum qcc_log_level)level);
  warn_missing_keys(g);

  char host[256];
  uint16_t port = st->port;
  if (listen_opt != NULL) {
    if (qcc_parse_hostport(listen_opt, host, sizeof host, &port, &err) != 0) {
      fprintf(stderr, "qcc-run: --listen: %s\n", err.msg);
      rc = 2;
      goto out;
    }
  } else {
    const char *h = qcc_table_str(g->table, st->host);
    snprintf(host, sizeof host, "%s", h[0] != '\0' ? h : "127.0.0.1");
    if (port == 0) port = 7860;
  }

  /* The journal first: it refuses to start on damage before its tail, and
   * holds a lock so two processes cannot share one state directory. */
  enum qcc_fsync_policy fsync_policy =
      st->journal_fsync < QCC_FSYNC_COUNT ? (enum qcc_fsync_policy)st->journal_fsync : 0;
  if (qcc_journal_open(state_dir, fsync_policy, &rt->journal, &err) != 0) {
    fprintf(stderr, "qcc-run: journal: %s\n", err.msg);
    if (strstr(err.msg, "journal check") == NULL)
      fprintf(stderr, "qcc-run: inspect it with `qccc journal check --state-dir %s` "
                      "(--fix truncates it to the last good record)\n", state_dir);
    goto out;
  }
  const struct qcc_journal_recovery *jr = qcc_journal_recovery(rt->journal);
  if (jr->created)
    qcc_log_info("journal %s created", qcc_journal_path(rt->journal));
  else if (jr->truncated_bytes > 0)
    qcc_log_warn("journal %s: torn tail of %llu bytes cut at offset %llu (%s); %llu records kept",
                 qcc_journal_path(rt->journal), (unsigned long long)jr->truncated_bytes,
                 (unsigned long long)jr->ok_up_to, jr->why, (unsigned long long)jr->records);
  else
    qcc_log_info("journal %s: %llu records, clean", qcc_journal_path(rt->journal),
                 (unsigned long long)jr->records);

  struct qcc_router_params rp;
  router_params(st, &rp);
  if (qcc_router_new(&rp, &rt->router, &err) != 0 ||
      qcc_router_attach(rt->router, g->table, qcc_runtime_now_ms(), &err) != 0) {
    fprintf(stderr, "qcc-run: %s\n", err.msg);
    goto out;
  }
  struct qcc_restore_summary rs;
  if (qcc_events_restore(rt->journal, rt->router, g->table, qcc_runtime_now_ms(),
                         qcc_journal_now_ms(), &rs, &err) != 0) {
    fprintf(stderr, "qcc-run: journal: %s\n", err.msg);
    goto out;
  }
  qcc_log_info("restored from the journal: pin %s, active profile %s, %u disabled, %u open "
               "breakers, %u health states, %u refused keys, %u 429 rests, %u dropped (endpoint "
               "gone or changed)",
               rs.pinned ? rs.pin_profile : "none",
               rs.active_profile[0] != '\0' ? rs.active_profile : "default", rs.disabled,
               rs.breakers, rs.health, rs.key_rejected, rs.resting, rs.dropped);
  if (qcc_events_new(rt->loop, rt->journal, rt->router, rt->tables, &rt->events, &err) != 0) {
    fprintf(stderr, "qcc-run: %s\n", err.msg);
    goto out;
  }
  qcc_events_startup(rt->events, g->number);
  if (qcc_events_flush(rt->events, &err) != 0) {
    fprintf(stderr, "qcc-run: journal: %s\n", err.msg);
    goto out;
  }

  char alog_path[4200];
  if (alog_opt != NULL) snprintf(alog_path, sizeof alog_path, "%s", alog_opt);
  else snprintf(alog_path, sizeof alog_path, "%s/access.log", state_dir);
  /* Opened even when proxy.access_log is off: a reload may turn it on. */
  if (qcc_accesslog_open(alog_path, &rt->alog, &err) != 0) {
    fprintf(stderr, "qcc-run: %s\n", err.msg);
    goto out;
  }
  if (qcc_proxy_new(rt->loop, &rt->proxy, &err) != 0) {
    fprintf(stderr, "qcc-run: %s\n", err.msg);
    goto out;
  }
  qcc_proxy_set_router(rt->proxy, rt->router);
  if (qcc_metrics_new(&rt->metrics, &err) != 0) {
    fprintf(stderr, "qcc-run: %s\n", err.msg);
    goto out;
  }
  qcc_metrics_reload(rt->metrics, true, g->number, qcc_journal_now_ms(), NULL);
  /* the failure queue: ids seeded with the wall clock stay unique across
   * restarts (dead letters keep them) */
  a.time_scale = qcc_queue_parse_time_scale(getenv(QCC_QUEUE_TIME_SCALE_ENV));
  a.first_id = (uint64_t)qcc_journal_now_ms();
  struct qcc_queue_params qp;
  qcc_queue_params_from_settings(&qp, st, a.time_scale, a.first_id);
  struct qcc_deadletters_params dp;
  qcc_deadletters_params_from_settings(&dp, st, state_dir);
  struct qcc_limits_params lp;
  limits_params(st, &lp);
  if (qcc_queue_new(&qp, &rt->queue, &err) != 0 ||
      qcc_deadletters_open(&dp, &rt->deadletters, &err) != 0 ||
      qcc_limits_new(&lp, &rt->limits, &err) != 0) {
    fprintf(stderr, "qcc-run: %s\n", err.msg);
    goto out;
  }
  if (qcc_deadletters_count(rt->deadletters) > 0)
    qcc_log_info("%zu dead letters kept from before", qcc_deadletters_count(rt->deadletters));
  /* budgets: reset to the table, then seeded from this month's records by
   * the usage file's one pass below (spent endpoints rest at its end; the
   * rests are journaled: the events are tapped by now) */
  if (qcc_budgetgate_new(rt->router, &a.budget, &err) != 0 ||
      qcc_budgetgate_load(a.budget, g->table, &err) < 0) {
    fprintf(stderr, "qcc-run: budgets: %s\n", err.msg);
    goto out;
  }
  /* the page's usage sums: seeded by the same pass, then every new record */
  if (qcc_usagesum_new(&a.usagesum, &err) != 0) {
    fprintf(stderr, "qcc-run: %s\n", err.msg);
    goto out;
  }
  /* usage records (docs/usage.md): the journal's fsync policy; the one
   * pass at open feeds both readers */
  const struct qcc_usagelog_consumer readers[] = {
      {.begin = app_budget_begin, .seen = app_budget_seen, .end = app_budget_end, .arg = &a},
      {.begin = app_usagesum_begin, .seen = app_usagesum_seen, .added = app_usage_observed, .arg = &a}};
  struct qcc_usagelog_params up = {.dir = state_dir, .policy = fsync_policy,
                                   .ret = usage_retention(st), .consumers = readers,
                                   .nconsumers = 2};
  if (qcc_usagelog_open(rt->loop, &up, &a.usage, &err) != 0) {
    fprintf(stderr, "qcc-run: %s\n", err.msg);
    goto out;
  } else {
    struct qcc_usagelog_stats us;
    qcc_usagelog_get_stats(a.usage, &us);
    if (us.moved_aside)
      qcc_log_warn("usage file %s was damaged: moved aside, a new one started",
                   qcc_usagelog_path(a.usage));
    else if (us.truncated > 0)
      qcc_log_warn("usage file %s: torn tail of %llu bytes cut", qcc_usagelog_path(a.usage),
                   (unsigned long long)us.truncated);
  }
  qcc_log_info("budgets seeded from %llu usage records of this month",
               (unsigned long long)qcc_budgetgate_seeded(a.budget));
  struct qcc_proxy_hooks hooks = {.queue = rt->queue, .deadletters = rt->deadletters,
                                  .limits = rt->limits, .metrics = rt->metrics,
                                  .usage = a.usage, .budget = a.budget,
                                  .journal = journal_record, .ctx = &a};
  qcc_proxy_set_hooks(rt->proxy, &hooks);
  if (qcc_alerts_new(rt->loop, rt->router, qcc_runtime_now_ms, &a.alerts, &err) != 0) {
    fprintf(stderr, "qcc-run: %s\n", err.msg);
    goto out;
  }
  qcc_alerts_set_hook(a.alerts, on_alert, &a);
  configure_alerts(&a, g->table);
  qcc_events_tap(rt->events, on_route_event, &a);
  if (qcc_prober_new(rt->loop, rt->router, rt->tables, rt->events, &rt->prober, &err) != 0) {
    fprintf(stderr, "qcc-run: %s\n", err.msg);
    goto out;
  }
  struct qcc_warmer_params wp;
  qcc_warmer_params_default(&wp);
  if (qcc_warmer_new(rt->loop, rt->proxy, rt->router, rt->tables, &wp,
                     &a.warmer, &err) != 0) {
    fprintf(stderr, "qcc-run: %s\n", err.msg);
    goto out;
  }
  struct qcc_server_opts so = {.tables = rt->tables, .proxy = rt->proxy, .alog = rt->alog,
                               .budget = a.budget};
  if (qcc_server_new(rt->loop, &so, &rt->server, &err) != 0 ||
      qcc_server_listen(rt->server, host, port, &err) != 0) {
    fprintf(stderr, "qcc-run: %s\n", err.msg);
    goto out;
  }
  a.loopback = qcc_server_is_loopback(rt->server);
  if (auth_check(&a, g, &err) != 0) {
    fprintf(stderr,
            "qcc-run: refusing to start: %s. Set proxy.auth_tokens (and export the tokens), "
            "or listen on a loopback address such as 127.0.0.1\n",
            err.msg);
    goto out;
  }
  if (tls_check(&a, g, &err) != 0) {
    fprintf(stderr, "qcc-run: refusing to start: %s\n", err.msg);
    goto out;
  }
  tls_apply(&a);
  qcc_tableset_set_check(rt->tables, table_check, &a);
  qcc_tableset_on_swap(rt->tables, on_swap, &a);
  qcc_tableset_watch(rt->tables, 0.05);
  qcc_prober_start(rt->prober);
  a.admin_ctx = (struct qcc_admin_ctx){
      .router = rt->router, .current = admin_current, .current_arg = &a,
      .now_ms = qcc_runtime_now_ms, .table_path = table_path, .state_dir = state_dir,
      .version = QCC_VERSION, .started_wall_ms = qcc_journal_now_ms(),
      .started_mono_ms = qcc_runtime_now_ms(), .metrics = rt->metrics,
      .counters = admin_counters, .counters_arg = &a, .queue = rt->queue,
      .deadletters = rt->deadletters, .test_endpoint = admin_test_endpoint,
      .replay = admin_replay, .user = &a, .journal = journal_record, .journal_arg = &a,
      .key_problem = admin_key_problem, .budget = a.budget};
  size_t nroutes = 0, npage = 0;
  const struct qcc_admin_route *routes = qcc_adminapi_routes(&nroutes);
  const struct qcc_admin_route *proutes = qcc_statuspage_admin_routes(&npage);
  a.admin_routes = calloc(nroutes + npage, sizeof *a.admin_routes);
  if (a.admin_routes == NULL) {
    fprintf(stderr, "qcc-run: out of memory\n");
    goto out;
  }
  memcpy(a.admin_routes, routes, nroutes * sizeof *routes);
  memcpy(a.admin_routes + nroutes, proutes, npage * sizeof *proutes);
  struct qcc_statuspage_params pp = {
      .loop = rt->loop, .admin = &a.admin_ctx, .routes = routes, .route_count = nroutes,
      .journal = rt->journal, .address = qcc_server_address(rt->server), .host = host,
      .tls = a.tls != NULL, .usage = app_usage_fill, .usage_arg = &a};
  const char *ttl_env = getenv(PAGE_LINK_TTL_ENV);
  if (ttl_env != NULL && ttl_env[0] != '\0') pp.link_ttl_ms = strtoull(ttl_env, NULL, 10);
  if (qcc_statuspage_new(&pp, &a.page, &err) != 0) {
    fprintf(stderr, "qcc-run: status page: %s\n", err.msg);
    goto out;
  }
  a.admin_ctx.page = a.page;
  qcc_server_set_page(rt->server, a.page, qcc_statuspage_owns, qcc_statuspage_start,
                      qcc_statuspage_cancel);
  if (qcc_admin_open(rt->loop, state_dir, a.admin_routes, nroutes + npage, &a.admin_ctx,
                     &rt->admin, &err) != 0) {
    fprintf(stderr, "qcc-run: admin socket: %s\n", err.msg);
    goto out;
  }
  if (metrics_opt != NULL) {
    size_t nm = 0;
    const struct qcc_admin_route *mroutes = qcc_adminapi_metrics_routes(&nm);
    if (qcc_admin_open_tcp(rt->loop, mhost, mport, mroutes, nm, &a.admin_ctx, &a.metrics_port,
                           &err) != 0) {
      fprintf(stderr, "qcc-run: --metrics-listen: %s\n", err.msg);
      goto out;
    }
    qcc_log_info("metrics on http://%s/metrics", qcc_admin_path(a.metrics_port));
  }
  if (pid_opt != NULL && qcc_pidfile_write(pid_opt, &err) != 0) {
    fprintf(stderr, "qcc-run: %s\n", err.msg);
    goto out;
  }
  watch_signal(&a, &a.sighup, SIGHUP);
  watch_signal(&a, &a.sigterm, SIGTERM);
  watch_signal(&a, &a.sigint, SIGINT);
  watch_signal(&a, &a.sigusr1, SIGUSR1);
  qcc_log_info("qcc-run listening on %s://%s, table %s generation %llu, state %s",
               a.tls != NULL ? "https" : "http", qcc_server_address(rt->server), table_path, (unsigned long long)g->number,
               state_dir);
  qcc_daemon_ready();
  ev_run(rt->loop, 0);
  qcc_events_shutdown(rt->events, a.drained, a.stop_reason != NULL ? a.stop_reason : "loop ended");
  rc = 0;
out:
  if (a.sighup.signum != 0) {
    ev_signal_stop(rt->loop, &a.sighup);
    ev_signal_stop(rt->loop, &a.sigterm);
    ev_signal_stop(rt->loop, &a.sigint);
    ev_signal_stop(rt->loop, &a.sigusr1);
  }
  qcc_admin_close(&a.metrics_port);
  qcc_admin_close(&rt->admin);
  if (pid_opt != NULL) qcc_pidfile_remove(pid_opt);
  qcc_server_free(&rt->server);
  qcc_statuspage_free(&a.page); /* after the server: its streams belong to clients */
  free(a.admin_routes);
  qcc_tlsserver_free(&a.tls);
  qcc_tlsserver_free(&a.tls_next);
  qcc_prober_free(&rt->prober);
  qcc_warmer_free(&a.warmer); /* before the proxy: its transfers are on the proxy's loop */
  qcc_alerts_free(&a.alerts);
  qcc_proxy_free(&rt->proxy);
  qcc_usagelog_close(&a.usage); /* after the proxy: cancelled exchanges record on the way out */
  qcc_budgetgate_free(&a.budget);
  /* after the proxy: its exchanges leave the queue and the limit */
  if (rt->events != NULL) qcc_events_tap(rt->events, NULL, NULL);
  qcc_queue_free(&rt->queue);
  qcc_limits_free(&rt->limits);
  qcc_deadletters_close(&rt->deadletters);
  qcc_metrics_free(&rt->metrics);
  qcc_usagesum_free(&a.usagesum); /* after the usage log: its last records feed it */
  if (rt->tables != NULL) qcc_tableset_unwatch(rt->tables);
  qcc_events_free(&rt->events);
  qcc_journal_close(&rt->journal);
  qcc_router_free(&rt->router);
  qcc_tableset_free(&rt->tables);
  qcc_accesslog_close(&rt->alog);
  ev_loop_destroy(rt->loop);
  if (rc != 0) qcc_daemon_failed(rc);
  return rc;
}
