/* qcc-run: serve a compiled routing table on one libev loop.
 * Exit codes: 0 clean exit (also after SIGTERM/SIGINT drain) and --check ok,
 * 1 the table or the environment is not usable, 2 usage error. */
#include <errno.h>
#include <ev.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "accesslog.h"
#include "events.h"
#include "exchange.h"
#include "generation.h"
#include "journal_writer.h"
#include "keystore.h"
#include "log.h"
#include "prober.h"
#include "router.h"
#include "runtime.h"
#include "schema/statedir.h"
#include "select.h"
#include "server.h"
#include "tableset.h"

#define DEF_DRAIN_TIMEOUT_MS 30000u

struct app {
  struct qcc_runtime rt;
  bool loopback;
  bool drained;
  const char *stop_reason;
  ev_signal sighup, sigterm, sigint, sigusr1;
};

static void usage(FILE *f) {
  fprintf(f,
          "usage: qcc-run [--state-dir DIR] [--listen HOST:PORT] [--access-log PATH|-]\n"
          "               [--log PATH] [--log-level debug|info|warning|error] [--check] TABLE\n"
          "  --check        verify TABLE and exit (0 valid, 1 not)\n"
          "  --state-dir    default $QCC_STATE_DIR, else ~/.qcc\n"
          "  --listen       default: the table's proxy.host:proxy.port ([::1]:PORT for IPv6)\n"
          "  --access-log   default STATE_DIR/access.log; '-' = stdout\n"
          "  --log          error log file (default stderr); reopened on SIGUSR1\n");
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

static void drained(void *ctx) {
  struct app *a = ctx;
  qcc_log_info("drained; exiting");
  a->drained = true;
  ev_break(a->rt.loop, EVBREAK_ALL);
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
  qcc_events_table_swap(a->rt.events, from, to_number, to != NULL, reason);
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
    const struct qcc_tbl_settings *s =
        qcc_table_settings(qcc_tableset_current(a->rt.tables)->table);
    unsigned ms = s->drain_timeout_ms != 0 ? s->drain_timeout_ms : DEF_DRAIN_TIMEOUT_MS;
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
      {"help", no_argument, NULL, 'h'},             {NULL, 0, NULL, 0},
  };
  const char *state_opt = NULL, *listen_opt = NULL, *alog_opt = NULL, *log_opt = NULL;
  const char *level_opt = NULL;
  bool check = false;
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
    case 'h': usage(stdout); return 0;
    default: usage(stderr); return 2;
    }
  }
  if (optind != argc - 1) {
    fprintf(stderr, "qcc-run: expected exactly one TABLE argument\n");
    usage(stderr);
    return 2;
  }
  const char *table_path = argv[optind];
  if (check) return check_table(table_path);

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
               "breakers, %u health states, %u dropped (endpoint gone or changed)",
               rs.pinned ? rs.pin_profile : "none",
               rs.active_profile[0] != '\0' ? rs.active_profile : "default", rs.disabled,
               rs.breakers, rs.health, rs.dropped);
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
  if (qcc_prober_new(rt->loop, rt->router, rt->tables, rt->events, &rt->prober, &err) != 0) {
    fprintf(stderr, "qcc-run: %s\n", err.msg);
    goto out;
  }
  struct qcc_server_opts so = {.tables = rt->tables, .proxy = rt->proxy, .alog = rt->alog};
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
  qcc_tableset_set_check(rt->tables, auth_check, &a);
  qcc_tableset_on_swap(rt->tables, on_swap, &a);
  qcc_tableset_watch(rt->tables, 0.05);
  qcc_prober_start(rt->prober);
  watch_signal(&a, &a.sighup, SIGHUP);
  watch_signal(&a, &a.sigterm, SIGTERM);
  watch_signal(&a, &a.sigint, SIGINT);
  watch_signal(&a, &a.sigusr1, SIGUSR1);
  qcc_log_info("qcc-run listening on http://%s, table %s generation %llu, state %s",
               qcc_server_address(rt->server), table_path, (unsigned long long)g->number,
               state_dir);
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
  qcc_server_free(&rt->server);
  qcc_prober_free(&rt->prober);
  qcc_proxy_free(&rt->proxy);
  if (rt->tables != NULL) qcc_tableset_unwatch(rt->tables);
  qcc_events_free(&rt->events);
  qcc_journal_close(&rt->journal);
  qcc_router_free(&rt->router);
  qcc_tableset_free(&rt->tables);
  qcc_accesslog_close(&rt->alog);
  ev_loop_destroy(rt->loop);
  return rc;
}
