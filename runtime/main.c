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
#include "exchange.h"
#include "generation.h"
#include "keystore.h"
#include "log.h"
#include "server.h"
#include "tableset.h"

#define DEF_DRAIN_TIMEOUT_MS 30000u

struct app {
  struct ev_loop *loop;
  struct qcc_tableset *tables;
  struct qcc_proxy *proxy;
  struct qcc_accesslog *alog;
  struct qcc_server *server;
  bool loopback;
  bool stopping;
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

static int state_dir_path(const char *opt, char *out, size_t cap) {
  const char *env = getenv("QCC_STATE_DIR");
  int n;
  if (opt != NULL) {
    n = snprintf(out, cap, "%s", opt);
  } else if (env != NULL && env[0] != '\0') {
    n = snprintf(out, cap, "%s", env);
  } else {
    const char *home = getenv("HOME");
    if (home == NULL || home[0] == '\0') return -1;
    n = snprintf(out, cap, "%s/.qcc", home);
  }
  return n > 0 && (size_t)n < cap ? 0 : -1;
}

/* A non-loopback listener must not serve a table without client tokens. */
static int auth_check(void *ctx, const struct qcc_generation *g, struct qcc_err *err) {
  const struct app *a = ctx;
  if (a->loopback || qcc_keystore_token_count(g->keys) > 0) return 0;
  return qcc_err_set(err, EPERM,
                     "listening on %s (not loopback) needs client auth, but this table has no "
                     "resolved proxy.auth_tokens",
                     qcc_server_address(a->server));
}

static void drained(void *ctx) {
  struct app *a = ctx;
  qcc_log_info("drained; exiting");
  ev_break(a->loop, EVBREAK_ALL);
}

static void signal_cb(struct ev_loop *loop, ev_signal *w, int revents) {
  (void)revents;
  struct app *a = w->data;
  switch (w->signum) {
  case SIGHUP:
    qcc_tableset_reload(a->tables, "SIGHUP", NULL);
    break;
  case SIGUSR1: {
    if (qcc_log_reopen() != 0) qcc_log_error("reopen error log: %s", strerror(errno));
    struct qcc_err err = {0};
    if (qcc_accesslog_reopen(a->alog, &err) != 0) qcc_log_error("%s", err.msg);
    qcc_log_info("log files reopened");
    break;
  }
  default: /* SIGTERM, SIGINT */
    if (a->stopping) {
      qcc_log_warn("second stop signal: exiting without waiting");
      ev_break(loop, EVBREAK_ALL);
      return;
    }
    a->stopping = true;
    qcc_tableset_unwatch(a->tables);
    const struct qcc_tbl_settings *s = qcc_table_settings(qcc_tableset_current(a->tables)->table);
    unsigned ms = s->drain_timeout_ms != 0 ? s->drain_timeout_ms : DEF_DRAIN_TIMEOUT_MS;
    qcc_log_info("%s: draining %zu connections (up to %u ms)", strsignal(w->signum),
                 qcc_server_connections(a->server), ms);
    qcc_server_drain(a->server, ms / 1e3, drained, a);
    break;
  }
}

static void watch_signal(struct app *a, ev_signal *w, int signum) {
  ev_signal_init(w, signal_cb, signum);
  w->data = a;
  ev_signal_start(a->loop, w);
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
  if (state_dir_path(state_opt, state_dir, sizeof state_dir) != 0) {
    fprintf(stderr, "qcc-run: no state directory: pass --state-dir or set QCC_STATE_DIR or HOME\n");
    return 2;
  }
  if (mkdir(state_dir, 0700) != 0 && errno != EEXIST) {
    fprintf(stderr, "qcc-run: state directory %s: %s\n", state_dir, strerror(errno));
    return 1;
  }
  signal(SIGPIPE, SIG_IGN);

  struct app a = {0};
  a.loop = ev_default_loop(EVFLAG_AUTO);
  if (a.loop == NULL) {
    fprintf(stderr, "qcc-run: cannot initialise the event loop\n");
    return 1;
  }
  struct qcc_err err = {0};
  int rc = 1;
  if (qcc_tableset_new(a.loop, table_path, &a.tables, &err) != 0) {
    fprintf(stderr, "qcc-run: %s\n", err.msg);
    goto out;
  }
  const struct qcc_generation *g = qcc_tableset_current(a.tables);
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

  char alog_path[4200];
  if (alog_opt != NULL) snprintf(alog_path, sizeof alog_path, "%s", alog_opt);
  else snprintf(alog_path, sizeof alog_path, "%s/access.log", state_dir);
  /* Opened even when proxy.access_log is off: a reload may turn it on. */
  if (qcc_accesslog_open(alog_path, &a.alog, &err) != 0) {
    fprintf(stderr, "qcc-run: %s\n", err.msg);
    goto out;
  }
  if (qcc_proxy_new(a.loop, &a.proxy, &err) != 0) {
    fprintf(stderr, "qcc-run: %s\n", err.msg);
    goto out;
  }
  struct qcc_server_opts so = {.tables = a.tables, .proxy = a.proxy, .alog = a.alog};
  if (qcc_server_new(a.loop, &so, &a.server, &err) != 0 ||
      qcc_server_listen(a.server, host, port, &err) != 0) {
    fprintf(stderr, "qcc-run: %s\n", err.msg);
    goto out;
  }
  a.loopback = qcc_server_is_loopback(a.server);
  if (auth_check(&a, g, &err) != 0) {
    fprintf(stderr,
            "qcc-run: refusing to start: %s. Set proxy.auth_tokens (and export the tokens), "
            "or listen on a loopback address such as 127.0.0.1\n",
            err.msg);
    goto out;
  }
  qcc_tableset_set_check(a.tables, auth_check, &a);
  qcc_tableset_watch(a.tables, 0.05);
  watch_signal(&a, &a.sighup, SIGHUP);
  watch_signal(&a, &a.sigterm, SIGTERM);
  watch_signal(&a, &a.sigint, SIGINT);
  watch_signal(&a, &a.sigusr1, SIGUSR1);
  qcc_log_info("qcc-run listening on http://%s, table %s generation %llu, state %s",
               qcc_server_address(a.server), table_path, (unsigned long long)g->number, state_dir);
  ev_run(a.loop, 0);
  rc = 0;
out:
  if (a.sighup.signum != 0) {
    ev_signal_stop(a.loop, &a.sighup);
    ev_signal_stop(a.loop, &a.sigterm);
    ev_signal_stop(a.loop, &a.sigint);
    ev_signal_stop(a.loop, &a.sigusr1);
  }
  qcc_server_free(&a.server);
  qcc_proxy_free(&a.proxy);
  if (a.tables != NULL) qcc_tableset_unwatch(a.tables);
  qcc_tableset_free(&a.tables);
  qcc_accesslog_close(&a.alog);
  ev_loop_destroy(a.loop);
  return rc;
}
