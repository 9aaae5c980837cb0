/* The table commands of qccc (see tablecmd.h): init, validate, build, show,
 * diff, snapshots, rollback, check, schema. Each parses its own options and
 * returns the exit code: 0 ok / valid / same, 1 invalid / different /
 * failed, 2 usage or I/O trouble. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "compiler/commands.h"
#include "compiler/confirm.h"
#include "compiler/diag.h"
#include "compiler/tablecmd.h"
#include "compiler/diff.h"
#include "compiler/frontend.h"
#include "compiler/humantime.h"
#include "compiler/layout.h"
#include "compiler/show.h"
#include "compiler/snapshots.h"
#include "schema/config_schema.h"
#include "schema/fileio.h"
#include "schema/table.h"

#define EXIT_OK 0
#define EXIT_FAIL 1
#define EXIT_USAGE 2

#define DEFAULT_CONFIG "qcc.yaml"
#define DEFAULT_TABLE "table.bin"

static int usage_error(const char *cmd, const char *fmt, const char *arg) {
  fprintf(stderr, "qccc %s: ", cmd);
  fprintf(stderr, fmt, arg);
  fprintf(stderr, "\n  hint: run `qccc %s --help`\n", cmd);
  return EXIT_USAGE;
}

static int print_help(const char *cmd) { return qccc_help(cmd, stdout); }

/* getopt_long with the state reset, so each subcommand parses afresh. Returns
 * the option, -1 at the end, or '?' after printing a usage error. */
static int next_opt(int argc, char **argv, const char *shortopts, const struct option *longopts) {
  opterr = 0;
  return getopt_long(argc, argv, shortopts, longopts, NULL);
}

static int bad_option(const char *cmd, char **argv) {
  const char *o = argv[optind - 1];
  if (optopt != 0 && o != NULL && o[0] == '-' && o[1] != '-') {
    char buf[3] = {'-', (char)optopt, '\0'};
    return usage_error(cmd, "unknown option or missing argument: %s", buf);
  }
  return usage_error(cmd, "unknown option or missing argument: %s", o != NULL ? o : "?");
}

/* "s" unless N is 1: "1 profile", "2 profiles". */
static const char *plural(uint64_t n) { return n == 1 ? "" : "s"; }

static bool parse_u64(const char *s, uint64_t *out) {
  if (s == NULL || *s == '\0') return false;
  for (const char *p = s; *p; p++)
    if (*p < '0' || *p > '9') return false;
  errno = 0;
  char *end = NULL;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno != 0 || *end != '\0') return false;
  *out = v;
  return true;
}

static void print_table_error(const char *path, const struct qcc_table_error *te) {
  if (te->status == QCC_TABLE_ERR_IO)
    fprintf(stderr, "qccc: %s: %s\n", path, te->message);
  else
    fprintf(stderr, "qccc: %s: %s at offset %" PRIu64 ": %s\n", path, qcc_table_status_name(te->status),
            te->offset, te->message);
}

/* ---- init ------------------------------------------------------------------ */

static const char starter_config[] =
    "# qcc.yaml: where Claude Code's requests go.\n"
    "#   qccc validate        check this file (exit 0 good, 1 bad, 2 usage/IO)\n"
    "#   qccc start           compile it to table.bin, serve http://127.0.0.1:7860\n"
    "#   qccc run             run Claude Code through it (`qccc reload` after an edit)\n"
    "#\n"
    "# Keys are not written here: api_key_env names an environment variable and\n"
    "# api_key_file a file holding the key; qcc-run reads them when it loads the table.\n"
    "version: 1\n"
    "\n"
    "proxy:\n"
    "  host: 127.0.0.1          # loopback; another address needs auth_tokens\n"
    "  port: 7860\n"
    "  log_level: info          # debug | info | warning | error\n"
    "\n"
    "health:\n"
    "  enabled: true\n"
    "  check_interval: 60s      # 30s, 5m, 1h or plain seconds\n"
    "  timeout: 10s\n"
    "  check: models            # tcp | models | count_tokens | messages\n"
    "\n"
    "queue:\n"
    "  enabled: true\n"
    "  max_size: 1000\n"
    "  retry_strategy: exponential_backoff   # exponential_backoff | fixed_interval | immediate\n"
    "  max_wait: 120s\n"
    "\n"
    "loadbalancer:\n"
    "  strategy: weighted       # weighted | round_robin | least_connections | failover\n"
    "  health_aware: true\n"
    "\n"
    "switching_policy:\n"
    "  auto_switch: true        # fail over to the next group when one has no endpoint left\n"
    "  auto_recovery: true      # and come back once it is healthy for cooldown_period\n"
    "  cooldown_period: 300s\n"
    "\n"
    "profiles:\n"
    "  - name: main\n"
    "    description: Anthropic API keys\n"
    "    priority: primary      # primary | secondary | fallback\n"
    "    endpoints:\n"
    "      - id: anthropic-1    # unique across the whole config\n"
    "        base_url: https://api.anthropic.com\n"
    "        api_key_env: ANTHROPIC_API_KEY\n"
    "        auth: x-api-key    # or bearer\n"
    "        weight: 100\n"
    "\n"
    "  # A second group, used when every primary endpoint is down:\n"
    "  # - name: backup\n"
    "  #   priority: secondary\n"
    "  #   endpoints:\n"
    "  #     - id: backup-1\n"
    "  #       base_url: https://api.anthropic.com\n"
    "  #       api_key_file: /etc/qcc/backup.key\n";

int qccc_cmd_init(int argc, char **argv) {
  static const struct option lo[] = {{"help", no_argument, NULL, 'h'}, {0}};
  for (int c = next_opt(argc, argv, "h", lo); c != -1; c = next_opt(argc, argv, "h", lo)) {
    if (c == 'h') return print_help("init");
    return bad_option("init", argv);
  }
  if (argc - optind > 1) return usage_error("init", "too many arguments: %s", argv[optind + 1]);
  const char *dir = optind < argc ? argv[optind] : ".";
  char path[4096];
  int n = snprintf(path, sizeof path, "%s/%s", dir, DEFAULT_CONFIG);
  if (n < 0 || (size_t)n >= sizeof path) return usage_error("init", "directory name too long: %s", dir);
  if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
    fprintf(stderr, "qccc init: %s: cannot create: %s\n", dir, strerror(errno));
    return EXIT_USAGE;
  }
  /* Appears whole or not at all, and never over a file that exists. */
  struct qcc_newfile *nf = NULL;
  struct qcc_err err = {0};
  if (qcc_newfile_new(path, 0644, &nf, &err) != 0 ||
      qcc_newfile_write(nf, starter_config, sizeof starter_config - 1, &err) != 0 ||
      qcc_newfile_commit(&nf, QCC_NEWFILE_CREATE, NULL, &err) != 0) {
    qcc_newfile_free(&nf);
    if (err.code == EEXIST) {
      fprintf(stderr, "qccc init: %s already exists; not overwriting it\n  hint: edit it, or remove it first\n",
              path);
      return EXIT_FAIL;
    }
    fprintf(stderr, "qccc init: %s\n", err.msg);
    return EXIT_USAGE;
  }
  printf("wrote %s\n  next: set ANTHROPIC_API_KEY, then `qccc start -c %s` and `qccc run`\n", path, path);
  return EXIT_OK;
}

/* ---- validate / build ------------------------------------------------------- */

/* Run the frontend; prints diagnostics. Returns EXIT_OK with *cfg set, or the
 * exit code. */
static int load_config(const char *path, const struct qcc_frontend_opts *fo, enum qcc_diag_format fmt,
                       struct qcc_config **cfg) {
  struct qcc_diags *d = qcc_diags_new();
  if (d == NULL) {
    fprintf(stderr, "qccc: out of memory\n");
    return EXIT_USAGE;
  }
  bool io_error = false;
  int rc = qcc_frontend_run(path, fo, cfg, d, &io_error);
  qcc_diags_print(d, fmt, fmt == QCC_DIAG_TEXT ? stderr : stdout);
  qcc_diags_free(&d);
  if (rc != 0) {
    *cfg = NULL;
    return io_error ? EXIT_USAGE : EXIT_FAIL;
  }
  return EXIT_OK;
}

static size_t count_endpoints(const struct qcc_config *cfg) {
  size_t n = 0;
  for (size_t i = 0; i < cfg->profile_count; i++) n += cfg->profiles[i].endpoint_count;
  return n;
}

int qccc_cmd_validate(int argc, char **argv) {
  static const struct option lo[] = {{"config", required_argument, NULL, 'c'},
                                     {"strict", no_argument, NULL, 's'},
                                     {"check-secrets", no_argument, NULL, 'S'},
                                     {"format", required_argument, NULL, 'f'},
                                     {"help", no_argument, NULL, 'h'},
                                     {0}};
  const char *config = DEFAULT_CONFIG;
  struct qcc_frontend_opts fo = {0};
  enum qcc_diag_format fmt = QCC_DIAG_TEXT;
  for (int c = next_opt(argc, argv, "c:f:h", lo); c != -1; c = next_opt(argc, argv, "c:f:h", lo)) {
    switch (c) {
    case 'c': config = optarg; break;
    case 's': fo.strict = true; break;
    case 'S': fo.check_secrets = true; break;
    case 'f':
      if (strcmp(optarg, "text") == 0) fmt = QCC_DIAG_TEXT;
      else if (strcmp(optarg, "json") == 0) fmt = QCC_DIAG_JSON;
      else if (strcmp(optarg, "github") == 0) fmt = QCC_DIAG_GITHUB;
      else return usage_error("validate", "--format %s: expected text, json or github", optarg);
      break;
    case 'h': return print_help("validate");
    default: return bad_option("validate", argv);
    }
  }
  if (optind < argc) return usage_error("validate", "unexpected argument: %s (use -c FILE)", argv[optind]);
  struct qcc_config *cfg = NULL;
  int rc = load_config(config, &fo, fmt, &cfg);
  if (rc == EXIT_OK && fmt == QCC_DIAG_TEXT)
    printf("%s: valid (%zu profile%s, %zu endpoint%s)\n", config, cfg->profile_count, plural(cfg->profile_count),
           count_endpoints(cfg), plural(count_endpoints(cfg)));
  qcc_config_free(&cfg);
  return rc;
}

int qccc_cmd_build(int argc, char **argv) {
  static const struct option lo[] = {{"config", required_argument, NULL, 'c'},
                                     {"output", required_argument, NULL, 'o'},
                                     {"keep", required_argument, NULL, 'k'},
                                     {"strict", no_argument, NULL, 's'},
                                     {"help", no_argument, NULL, 'h'},
                                     {0}};
  const char *config = DEFAULT_CONFIG, *out = DEFAULT_TABLE;
  uint64_t keep = QCC_SNAPSHOTS_KEEP_DEFAULT;
  struct qcc_frontend_opts fo = {0};
  for (int c = next_opt(argc, argv, "c:o:h", lo); c != -1; c = next_opt(argc, argv, "c:o:h", lo)) {
    switch (c) {
    case 'c': config = optarg; break;
    case 'o': out = optarg; break;
    case 'k':
      if (!parse_u64(optarg, &keep) || keep > 100000)
        return usage_error("build", "--keep %s: expected a number of snapshots (0 = none)", optarg);
      break;
    case 's': fo.strict = true; break;
    case 'h': return print_help("build");
    default: return bad_option("build", argv);
    }
  }
  if (optind < argc) return usage_error("build", "unexpected argument: %s (use -c FILE -o OUT)", argv[optind]);
  struct qcc_config *cfg = NULL;
  int rc = load_config(config, &fo, QCC_DIAG_TEXT, &cfg);
  if (rc != EXIT_OK) return rc;
  struct qcc_snapshots *s = NULL;
  struct qcc_err err = {0};
  struct qcc_build_result r;
  if (qcc_snapshots_open(out, &s, &err) != 0 ||
      qcc_snapshots_publish(s, cfg, qcc_layout_build_time(), (unsigned)keep, &r, &err) != 0) {
    fprintf(stderr, "qccc build: %s\n", err.msg);
    qcc_snapshots_close(&s);
    qcc_config_free(&cfg);
    return EXIT_USAGE;
  }
  char hex[33];
  qcc_digest_hex(r.digest, hex);
  printf("%s: %sgeneration %" PRIu64 ", %" PRIu32 " profile%s, %" PRIu32 " endpoint%s, digest %s\n", out,
         r.unchanged ? "unchanged, " : "", r.generation, r.profiles, plural(r.profiles), r.endpoints,
         plural(r.endpoints), hex);
  qcc_snapshots_close(&s);
  qcc_config_free(&cfg);
  return EXIT_OK;
}

/* ---- show / check ------------------------------------------------------------- */

int qccc_cmd_show(int argc, char **argv) {
  static const struct option lo[] = {{"json", no_argument, NULL, 'j'}, {"help", no_argument, NULL, 'h'}, {0}};
  bool json = false;
  for (int c = next_opt(argc, argv, "h", lo); c != -1; c = next_opt(argc, argv, "h", lo)) {
    if (c == 'j') json = true;
    else if (c == 'h') return print_help("show");
    else return bad_option("show", argv);
  }
  if (argc - optind > 1) return usage_error("show", "too many arguments: %s", argv[optind + 1]);
  const char *path = optind < argc ? argv[optind] : DEFAULT_TABLE;
  struct qcc_table *t = NULL;
  struct qcc_table_error te;
  if (qcc_table_open(path, &t, &te) != 0) {
    print_table_error(path, &te);
    if (te.status == QCC_TABLE_ERR_IO) {
      fprintf(stderr, "  hint: compile one with `qccc build`, or name it: `qccc show TABLE`\n");
      return EXIT_USAGE;
    }
    fprintf(stderr, "  hint: rebuild it with `qccc build`, or `qccc rollback` to a snapshot\n");
    return EXIT_FAIL;
  }
  if (json) {
    json_t *j = qcc_show_json(t, path);
    json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    fputc('\n', stdout);
    json_decref(j);
  } else {
    qcc_show_text(t, path, stdout);
  }
  qcc_table_close(&t);
  return EXIT_OK;
}

int qccc_cmd_schema(int argc, char **argv) {
  static const struct option lo[] = {{"help", no_argument, NULL, 'h'}, {0}};
  for (int c = next_opt(argc, argv, "h", lo); c != -1; c = next_opt(argc, argv, "h", lo)) {
    if (c == 'h') return print_help("schema");
    return bad_option("schema", argv);
  }
  if (optind < argc) return usage_error("schema", "unexpected argument: %s", argv[optind]);
  return qcc_config_schema_json(stdout) == 0 ? EXIT_OK : EXIT_USAGE;
}

int qccc_cmd_check(int argc, char **argv) {
  static const struct option lo[] = {{"help", no_argument, NULL, 'h'}, {0}};
  for (int c = next_opt(argc, argv, "h", lo); c != -1; c = next_opt(argc, argv, "h", lo)) {
    if (c == 'h') return print_help("check");
    return bad_option("check", argv);
  }
  if (argc - optind != 1) return usage_error("check", "expected one TABLE argument%s", "");
  const char *path = argv[optind];
  struct qcc_table *t = NULL;
  struct qcc_table_error te;
  if (qcc_table_open(path, &t, &te) != 0) {
    print_table_error(path, &te);
    return EXIT_FAIL;
  }
  const struct qcc_tbl_header *h = qcc_table_header(t);
  char hex[33];
  qcc_digest_hex(h->source_digest, hex);
  uint32_t np = qcc_table_profile_count(t), ne = qcc_table_endpoint_count(t);
  printf("%s: ok (format %u.%u, generation %" PRIu64 ", %" PRIu32 " profile%s, %" PRIu32
         " endpoint%s, digest %s)\n",
         path, h->version_major, h->version_minor, h->generation, np, plural(np), ne, plural(ne), hex);
  qcc_table_close(&t);
  return EXIT_OK;
}

/* ---- diff --------------------------------------------------------------------- */

/* One side of a diff: a table file, a snapshot generation or a config. */
struct side {
  struct qcc_table *table;
  struct qcc_layout *layout; /* when compiled from a config */
  char label[4400];
};

static bool ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int open_side(const char *arg, const char *table_path, struct side *sd) {
  struct qcc_table_error te;
  uint64_t gen = 0;
  struct stat st;
  memset(sd, 0, sizeof *sd);
  if (ends_with(arg, ".yaml") || ends_with(arg, ".yml")) {
    struct qcc_config *cfg = NULL;
    struct qcc_frontend_opts fo = {0};
    int rc = load_config(arg, &fo, QCC_DIAG_TEXT, &cfg);
    if (rc != EXIT_OK) return EXIT_USAGE;
    struct qcc_err err = {0};
    struct qcc_layout_opts lo = {.generation = 0, .build_time = 0};
    rc = qcc_layout_new(cfg, &lo, &sd->layout, &err);
    qcc_config_free(&cfg);
    if (rc != 0) {
      fprintf(stderr, "qccc diff: %s: %s\n", arg, err.msg);
      return EXIT_USAGE;
    }
    size_t len = 0;
    const void *b = qcc_layout_bytes(sd->layout, &len);
    if (qcc_table_open_buffer(b, len, &sd->table, &te) != 0) {
      print_table_error(arg, &te);
      return EXIT_USAGE;
    }
    snprintf(sd->label, sizeof sd->label, "%s", arg);
    return EXIT_OK;
  }
  const char *path = arg;
  char snap[4352];
  if (parse_u64(arg, &gen) && stat(arg, &st) != 0) {
    struct qcc_snapshots *s = NULL;
    struct qcc_err err = {0};
    if (qcc_snapshots_open(table_path, &s, &err) != 0) {
      fprintf(stderr, "qccc diff: %s\n", err.msg);
      return EXIT_USAGE;
    }
    bool has = qcc_snapshots_has(s, gen);
    qcc_snapshots_path(s, gen, snap, sizeof snap);
    qcc_snapshots_close(&s);
    if (!has) {
      fprintf(stderr, "qccc diff: no snapshot of generation %" PRIu64 " for %s\n  hint: `qccc snapshots %s` lists them\n",
              gen, table_path, table_path);
      return EXIT_USAGE;
    }
    path = snap;
  }
  if (qcc_table_open(path, &sd->table, &te) != 0) {
    print_table_error(path, &te);
    return EXIT_USAGE;
  }
  snprintf(sd->label, sizeof sd->label, "%s", path);
  return EXIT_OK;
}

static void close_side(struct side *sd) {
  qcc_table_close(&sd->table);
  qcc_layout_free(&sd->layout);
}

int qccc_cmd_diff(int argc, char **argv) {
  static const struct option lo[] = {{"table", required_argument, NULL, 't'},
                                     {"help", no_argument, NULL, 'h'},
                                     {0}};
  const char *table_path = DEFAULT_TABLE;
  for (int c = next_opt(argc, argv, "t:h", lo); c != -1; c = next_opt(argc, argv, "t:h", lo)) {
    if (c == 't') table_path = optarg;
    else if (c == 'h') return print_help("diff");
    else return bad_option("diff", argv);
  }
  if (argc - optind != 2) return usage_error("diff", "expected two arguments A B%s", "");
  struct side a, b;
  int rc = open_side(argv[optind], table_path, &a);
  if (rc == EXIT_OK) {
    rc = open_side(argv[optind + 1], table_path, &b);
    if (rc != EXIT_OK) close_side(&a);
  }
  if (rc != EXIT_OK) return EXIT_USAGE;
  size_t n = qcc_diff_tables(a.table, b.table, stdout);
  if (n > 0) printf("%zu difference%s between %s and %s\n", n, n == 1 ? "" : "s", a.label, b.label);
  close_side(&a);
  close_side(&b);
  return n > 0 ? EXIT_FAIL : EXIT_OK;
}

/* ---- snapshots / rollback ------------------------------------------------------- */

int qccc_cmd_snapshots(int argc, char **argv) {
  static const struct option lo[] = {{"help", no_argument, NULL, 'h'}, {0}};
  for (int c = next_opt(argc, argv, "h", lo); c != -1; c = next_opt(argc, argv, "h", lo)) {
    if (c == 'h') return print_help("snapshots");
    return bad_option("snapshots", argv);
  }
  if (argc - optind > 1) return usage_error("snapshots", "too many arguments: %s", argv[optind + 1]);
  const char *out = optind < argc ? argv[optind] : DEFAULT_TABLE;
  struct qcc_snapshots *s = NULL;
  struct qcc_err err = {0};
  if (qcc_snapshots_open(out, &s, &err) != 0) {
    fprintf(stderr, "qccc snapshots: %s\n", err.msg);
    return EXIT_USAGE;
  }
  struct qcc_tbl_header cur;
  struct qcc_table_error te;
  bool have_cur = qcc_snapshots_current(s, &cur, &te) == 0;
  if (qcc_snapshots_count(s) == 0) {
    printf("no snapshots in %s\n", qcc_snapshots_dir(s));
  } else {
    printf("%-12s  %-23s  %8s  %9s  %-32s\n", "GENERATION", "BUILT", "PROFILES", "ENDPOINTS", "DIGEST");
  }
  for (size_t i = 0; i < qcc_snapshots_count(s); i++) {
    uint64_t g = qcc_snapshots_generation(s, i);
    char path[4352];
    qcc_snapshots_path(s, g, path, sizeof path);
    struct qcc_table *t = NULL;
    if (qcc_table_open(path, &t, &te) != 0) {
      printf("%-12" PRIu64 "  damaged: %s: %s\n", g, qcc_table_status_name(te.status), te.message);
      continue;
    }
    const struct qcc_tbl_header *h = qcc_table_header(t);
    char hex[33], when[48];
    if (qccc_humantime(h->build_time, when, sizeof when) != 0)
      snprintf(when, sizeof when, "%" PRId64, h->build_time);
    qcc_digest_hex(h->source_digest, hex);
    bool is_cur = have_cur && cur.generation == g && memcmp(cur.source_digest, h->source_digest, 16) == 0;
    printf("%-12" PRIu64 "  %-23s  %8" PRIu32 "  %9" PRIu32 "  %s%s\n", g, when, qcc_table_profile_count(t),
           qcc_table_endpoint_count(t), hex, is_cur ? "  (current)" : "");
    qcc_table_close(&t);
  }
  if (!have_cur) printf("%s: no valid current table (%s)\n", out, te.message);
  qcc_snapshots_close(&s);
  return EXIT_OK;
}

int qccc_cmd_rollback(int argc, char **argv) {
  static const struct option lo[] = {{"to", required_argument, NULL, 't'}, {"yes", no_argument, NULL, 'y'},
                                     {"help", no_argument, NULL, 'h'}, {0}};
  uint64_t to = 0;
  bool yes = false;
  for (int c = next_opt(argc, argv, "hy", lo); c != -1; c = next_opt(argc, argv, "hy", lo)) {
    if (c == 'y') {
      yes = true;
    } else if (c == 't') {
      if (!parse_u64(optarg, &to) || to == 0)
        return usage_error("rollback", "--to %s: expected a generation number", optarg);
    } else if (c == 'h') {
      return print_help("rollback");
    } else {
      return bad_option("rollback", argv);
    }
  }
  if (argc - optind > 1) return usage_error("rollback", "too many arguments: %s", argv[optind + 1]);
  const char *out = optind < argc ? argv[optind] : DEFAULT_TABLE;
  struct qcc_snapshots *s = NULL;
  struct qcc_err err = {0};
  struct qcc_tbl_header cur;
  struct qcc_table_error te;
  uint64_t became = 0;
  if (qcc_snapshots_open(out, &s, &err) != 0) {
    fprintf(stderr, "qccc rollback: %s\n", err.msg);
    return EXIT_USAGE;
  }
  bool have_cur = qcc_snapshots_current(s, &cur, &te) == 0;
  /* what qcc-run serves changes: ask on a terminal (the snapshots stay) */
  char what[600], gen[32] = "the generation before";
  if (to != 0) snprintf(gen, sizeof gen, "generation %" PRIu64, to);
  snprintf(what, sizeof what, "make %s current in %s (a running qcc-run swaps to it)", gen, out);
  if (qccc_confirm(yes, false, what, stdin, stdout, stderr) != QCCC_CONFIRM_GO) {
    qcc_snapshots_close(&s);
    return EXIT_FAIL;
  }
  if (qcc_snapshots_rollback(s, to, &became, &err) != 0) {
    fprintf(stderr, "qccc rollback: %s\n  hint: `qccc snapshots %s` lists the generations\n", err.msg, out);
    qcc_snapshots_close(&s);
    return EXIT_FAIL;
  }
  struct qcc_table *t = NULL;
  if (qcc_table_open(out, &t, &te) != 0) {
    print_table_error(out, &te);
    qcc_snapshots_close(&s);
    return EXIT_FAIL;
  }
  char hex[33];
  qcc_digest_hex(qcc_table_header(t)->source_digest, hex);
  printf("%s: now generation %" PRIu64 " (was ", out, became);
  if (have_cur) printf("%" PRIu64 ")", cur.generation);
  else printf("none)");
  uint32_t np = qcc_table_profile_count(t), ne = qcc_table_endpoint_count(t);
  printf(", %" PRIu32 " profile%s, %" PRIu32 " endpoint%s, digest %s\n", np, plural(np), ne, plural(ne), hex);
  qcc_table_close(&t);
  qcc_snapshots_close(&s);
  return EXIT_OK;
}

