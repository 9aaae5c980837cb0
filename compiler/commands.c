/* qccc's command table and dispatch (see commands.h). */
#include "compiler/commands.h"

#include <getopt.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/dashboard.h"
#include "compiler/editcmd.h"
#include "compiler/freshness.h"
#include "compiler/journalcmd.h"
#include "compiler/lifecycle.h"
#include "compiler/migrate.h"
#include "compiler/opcmd.h"
#include "compiler/probecmd.h"
#include "compiler/tablecmd.h"
#include "compiler/usagecmd.h"
#include "schema/journal.h"
#include "schema/table.h"

#ifndef QCC_VERSION
#define QCC_VERSION "0.1.0"
#endif

#define EXIT_OK 0
#define EXIT_USAGE 2

static int run_op(int argc, char **argv) { return qccc_op_cmd(argc, argv, stdout, stderr); }
static int run_dashboard(int argc, char **argv) { return qccc_dashboard_cmd(argc, argv, stdout, stderr); }
static int run_journal(int argc, char **argv) { return qccc_journal_cmd(argc, argv, stdout, stderr); }
static int run_usage(int argc, char **argv) {
  return qccc_usage_cmd(argc, argv, qcc_journal_now_ms(), stdout, stderr);
}
static int run_lifecycle(int argc, char **argv) { return qccc_lifecycle_cmd(argc, argv, stdout, stderr); }
/* `logs` is the access log (opcmd); --errors / --all / --level the error log (logview). */
static int run_logs(int argc, char **argv) {
  if (qccc_lifecycle_handles(argc, argv)) return run_lifecycle(argc, argv);
  return run_op(argc, argv);
}
static int run_completion(int argc, char **argv);

/* The -c FILE an editing command named, else $QCC_CONFIG, else qcc.yaml. */
static const char *edit_config(int argc, char **argv) {
  const char *config = NULL;
  for (int i = 0; i < argc; i++) {
    if (strcmp(argv[i], "--") == 0) break;
    if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) && i + 1 < argc)
      config = argv[++i];
    else if (strncmp(argv[i], "--config=", 9) == 0)
      config = argv[i] + 9;
  }
  const char *env = getenv("QCC_CONFIG");
  return config != NULL ? config : env != NULL && env[0] ? env : "qcc.yaml";
}

/* ARGV[0] is "endpoint", "policy", ...; the editing module takes the words
 * after it. */
static int run_edit(int argc, char **argv) {
  return qccc_edit_cmd(argv[0], argc - 1, argv + 1, stdin, stdout, stderr);
}

/* An edit of qcc.yaml (QCCC_CMD_EDITS) ends saying when it is live. */
static int run_edit_live(const struct qccc_cmd *cmd, int argc, char **argv) {
  const char *config = edit_config(argc, argv);
  uint8_t before[16];
  bool had = qccc_config_digest(config, before, NULL) == 0;
  int rc = cmd->run(argc, argv);
  if (rc != EXIT_OK) return rc;
  uint8_t after[16];
  if (qccc_config_digest(config, after, NULL) == 0 && had && memcmp(before, after, 16) == 0)
    return rc; /* nothing that the table carries changed */
  fflush(stdout);
  /* Into the table a running qcc-run serves, else ./table.bin. */
  char table[4096] = "table.bin";
  bool running = qccc_running_table(NULL, table, sizeof table) == 0;
  if (!qccc_edit_wants_build(argc - 1, argv + 1)) {
    if (running)
      printf("not live until `qccc reload -c %s` (build + hot swap; or edit with --build)\n", config);
    else
      printf("not live until `qccc build -c %s` (then `qccc start`, or qcc-run swaps to it)\n", config);
    return rc;
  }
  char *bargv[] = {"build", "-c", (char *)config, "-o", table, NULL};
  optind = 0;
  rc = qccc_cmd_build(5, bargv);
  if (rc != EXIT_OK) return rc;
  return qccc_report_live(table, NULL, stdout, stderr);
}

/* ---- the tables -------------------------------------------------------------- */

#define OP_OPTS "--json --state-dir=DIR"
#define OP_HELP                                                                              \
  "  --json            print qcc-run's JSON answer as is\n"                                  \
  "  --state-dir DIR   where admin.sock is (default $QCC_STATE_DIR, else ~/.qcc)\n"
#define EDIT_OPTS "-c|--config=FILE -y|--yes --build"
#define EDIT_HELP                                                                            \
  "  -c, --config FILE the config to edit (default $QCC_CONFIG, else qcc.yaml)\n"           \
  "  -y, --yes         no confirmation questions\n"                                          \
  "  --build           compile the table after the edit (the one qcc-run serves, else\n"     \
  "                    ./table.bin) and wait until qcc-run serves the new generation\n"      \
  "The file is validated before it is replaced; the previous one is kept as FILE.bak.\n"
#define JOURNAL_HELP "  --state-dir DIR   where journal.qj is (default $QCC_STATE_DIR, else ~/.qcc)\n"

static const struct qccc_cmd cmds[] = {
    /* ---- configs and tables (no qcc-run needed) ---- */
    {"init", "write a commented starter qcc.yaml",
     "usage: qccc init [DIR]\n"
     "Write DIR/qcc.yaml (DIR defaults to .), a commented starter config.\n"
     "Never overwrites an existing file (exit 1).\n",
     "", 0, qccc_cmd_init},
    {"validate", "check a config; exit 0 valid, 1 invalid, 2 usage/IO",
     "usage: qccc validate [-c FILE] [--strict] [--check-secrets] [--format text|json|github]\n"
     "Check FILE (default ./qcc.yaml) and every file it includes; report every error at once.\n"
     "  -c, --config FILE   the config (default qcc.yaml)\n"
     "  --strict            warnings are errors (e.g. a literal api_key)\n"
     "  --check-secrets     also check that api_key_env / api_key_file resolve on this machine\n"
     "  --format FMT        text (default, stderr), json or github (CI annotations), on stdout\n"
     "Exit: 0 valid, 1 invalid, 2 usage or I/O error.\n",
     "-c|--config=FILE --strict --check-secrets --format=FMT", 0, qccc_cmd_validate},
    {"build", "compile a config into a table (+ snapshot)",
     "usage: qccc build [-c FILE] [-o OUT] [--keep N] [--strict]\n"
     "Compile FILE (default ./qcc.yaml) into OUT (default ./table.bin), atomically, keeping\n"
     "the last N snapshots (default 10, 0 = none) in OUT.snapshots/. An unchanged config makes\n"
     "no new generation. SOURCE_DATE_EPOCH sets the recorded build time.\n"
     "  -c, --config FILE   the config (default qcc.yaml)\n"
     "  -o, --output OUT    the table (default table.bin)\n"
     "  --keep N            snapshots to keep\n"
     "  --strict            warnings are errors\n"
     "Prints: OUT: generation G, P profiles, E endpoints, digest D\n"
     "Exit: 0 built or unchanged, 1 invalid config, 2 usage or I/O error.\n",
     "-c|--config=FILE -o|--output=OUT --keep=N --strict", 0, qccc_cmd_build},
    {"show", "print everything compiled in a table (keys redacted)",
     "usage: qccc show [TABLE] [--json]\n"
     "Print the header, settings, profiles, endpoints, model maps and metadata of TABLE\n"
     "(default ./table.bin). Keys are shown as env:NAME, file:PATH or literal:<redacted>.\n"
     "  --json   the same as JSON\n",
     "--json", 0, qccc_cmd_show},
    {"diff", "semantic difference of two tables, snapshots or configs",
     "usage: qccc diff [-t TABLE] A B\n"
     "Compare A and B, each a table file, a snapshot generation number (of TABLE, default\n"
     "./table.bin) or a .yaml/.yml config (compiled in memory).\n"
     "  -t, --table TABLE   whose snapshots numbers name\n"
     "Exit: 0 same, 1 different, 2 trouble.\n",
     "-t|--table=TABLE", 0, qccc_cmd_diff},
    {"snapshots", "list the kept generations of a table",
     "usage: qccc snapshots [TABLE]\n"
     "List TABLE.snapshots/ (TABLE defaults to ./table.bin), marking the current one.\n",
     "", 0, qccc_cmd_snapshots},
    {"rollback", "make an earlier snapshot current again",
     "usage: qccc rollback [TABLE] [--to GEN] [-y]\n"
     "Atomically make snapshot GEN (default: the one before the current generation) the\n"
     "current TABLE (default ./table.bin). A running qcc-run swaps to it. qcc.yaml is not\n"
     "changed: `qccc status` says when it is ahead of the table.\n"
     "  --to GEN   the generation to make current\n"
     "  -y, --yes  do not ask (it asks on a terminal)\n",
     "--to=GEN -y|--yes", 0, qccc_cmd_rollback},
    {"check", "verify a table file; exit 0 ok, 1 with the reason",
     "usage: qccc check TABLE\n"
     "Verify every byte of TABLE as qcc-run would before using it.\n"
     "Exit: 0 ok, 1 damaged or unreadable (with the reason), 2 usage.\n",
     "", 0, qccc_cmd_check},
    {"schema", "print the JSON Schema of qcc.yaml (for editors' YAML language servers)",
     "usage: qccc schema\n"
     "Print the JSON Schema of qcc.yaml, generated from the same key table that\n"
     "`qccc validate` enforces (schema/qcc.schema.json is a copy of it).\n",
     "", 0, qccc_cmd_schema},
    {"migrate", "convert the Python qcc's ~/.qcc/config.json (0.4.0) into a qcc.yaml",
     "usage: qccc migrate [JSON] [-o OUT] [--key-dir DIR] [-y]\n"
     "Convert the Python qcc's config.json (default ~/.qcc/config.json, format 0.4.0) into\n"
     "OUT (default ./qcc.yaml). Literal api_key values are moved to files KEY-DIR/ID.key\n"
     "(mode 0600, default ~/.qcc/keys) referenced by api_key_file with an absolute path;\n"
     "fields qcc has no place for are reported, and the result is validated before it is\n"
     "written. Never overwrites OUT or a key file (exit 1) unless -y.\n"
     "(Not `qccc config import`, which replaces qcc.yaml with another qcc YAML file.)\n"
     "  -o, --output OUT    the qcc.yaml to write\n"
     "  --key-dir DIR       where the key files go\n"
     "  -y, --yes           overwrite OUT and key files that exist\n"
     "Exit: 0 converted, 1 not convertible or would overwrite, 2 usage or I/O error.\n",
     "-o|--output=OUT --key-dir=DIR -y|--yes", 0, qccc_cmd_migrate},
    {"completion", "print shell completion for bash, zsh or fish",
     "usage: qccc completion bash|zsh|fish\n"
     "Print a completion script generated from qccc's command table. Load it with\n"
     "  bash:  source <(qccc completion bash)\n"
     "         (or save it as ~/.local/share/bash-completion/completions/qccc)\n"
     "  zsh:   source <(qccc completion zsh)\n"
     "  fish:  qccc completion fish > ~/.config/fish/completions/qccc.fish\n",
     "", 0, run_completion},

    /* ---- running qcc-run and Claude Code through it ---- */
    {"start", "build if changed, start qcc-run in the background, wait until it serves",
     "usage: qccc start [-c FILE] [-o TABLE] [--listen HOST:PORT] [--timeout S] [--state-dir DIR]\n"
     "Build FILE (default ./qcc.yaml) into TABLE (default ./table.bin) when it changed, start\n"
     "qcc-run in the background and wait until it serves. Its files go to the state dir\n"
     "(--state-dir, $QCC_STATE_DIR, ~/.qcc): qcc-run.log (errors), access.log, qcc-run.pid.\n"
     "Prints the address and the line to export. Already running: says so (exit 0).\n"
     "  -c, --config FILE   the config\n"
     "  -o, --table TABLE   the table to build and serve\n"
     "  --listen HOST:PORT  another address than the config's proxy.host:proxy.port\n"
     "  --timeout S         how long to wait for it to serve\n"
     "  --state-dir DIR     its state dir\n",
     "-c|--config=FILE -o|--table=TABLE --listen=HOST:PORT --timeout=S --state-dir=DIR", 0, run_lifecycle},
    {"stop", "drain and stop qcc-run, report how it ended",
     "usage: qccc stop [--timeout S] [--force] [--state-dir DIR]\n"
     "SIGTERM: qcc-run stops taking requests and lets open ones finish (proxy.drain_timeout).\n"
     "Waits up to S seconds (default 60) and reports how it ended; --force kills it after that.\n"
     "  --timeout S         how long to wait\n"
     "  --force             kill it when it has not stopped by then\n"
     "  --state-dir DIR     its state dir\n"
     "Exit: 0 stopped or not running, 1 still running (or not started by qccc).\n",
     "--timeout=S --force --state-dir=DIR", 0, run_lifecycle},
    {"restart", "stop, then start with the same config, table and address",
     "usage: qccc restart [-c FILE] [-o TABLE] [--listen HOST:PORT] [--timeout S] [--state-dir DIR]\n"
     "stop, then start with the same config, table and address as before (unless given).\n"
     "  -c, --config FILE   -o, --table TABLE   --listen HOST:PORT   --timeout S   --state-dir DIR\n"
     "                      as for `qccc start`\n",
     "-c|--config=FILE -o|--table=TABLE --listen=HOST:PORT --timeout=S --state-dir=DIR", 0, run_lifecycle},
    {"reload", "build and hot-swap the table qcc-run serves (no request dropped)",
     "usage: qccc reload [-c FILE] [--timeout S] [--state-dir DIR]\n"
     "Build the config qcc-run was started with (or FILE) into the table it serves; qcc-run\n"
     "swaps to it without dropping a request. Prints the generation now serving.\n"
     "  -c, --config FILE   another config\n"
     "  --timeout S         how long to wait for the swap\n"
     "  --state-dir DIR     its state dir\n"
     "Exit: 0 live (or unchanged), 1 invalid config or the new table was rejected.\n",
     "-c|--config=FILE --timeout=S --state-dir=DIR", 0, run_lifecycle},
    {"run", "start qcc-run if needed, then run Claude Code (or COMMAND) through it",
     "usage: qccc run [-c FILE] [-o TABLE] [--state-dir DIR] [-- COMMAND ARGS...]\n"
     "Start qcc-run unless it runs (as `qccc start`), then run COMMAND (default: claude) with\n"
     "ANTHROPIC_BASE_URL pointing at it and ANTHROPIC_AUTH_TOKEN set (a client token of\n"
     "proxy.auth_tokens, else a placeholder qcc-run accepts); ANTHROPIC_API_KEY is removed.\n"
     "  -c, --config FILE   -o, --table TABLE   --state-dir DIR   as for `qccc start`\n"
     "Exit: COMMAND's exit status; 127 when COMMAND is not found; 1 when qcc-run cannot start.\n",
     "-c|--config=FILE -o|--table=TABLE --state-dir=DIR", 0, run_lifecycle},
    {"env", "the exports that point a shell's Claude Code at qcc-run",
     "usage: qccc env [--shell bash|zsh|fish] [-o TABLE] [--state-dir DIR]\n"
     "Print the lines that point a shell's Claude Code at qcc-run:  eval \"$(qccc env)\"\n"
     "(fish: qccc env --shell fish | source). Tokens are printed as references ($VAR,\n"
     "$(cat FILE)), not their values. Default shell: from $SHELL.\n"
     "  --shell SHELL       bash, zsh or fish\n"
     "  -o, --table TABLE   --state-dir DIR   which qcc-run\n",
     "--shell=SHELL -o|--table=TABLE --state-dir=DIR", 0, run_lifecycle},
    {"claude-settings", "show, write or undo the env block of ~/.claude/settings.json (IDEs)",
     "usage: qccc claude-settings [--write | --undo [-y]] [-o TABLE] [--state-dir DIR]\n"
     "Show (default), write or take out the env block of Claude Code's settings.json\n"
     "($CLAUDE_CONFIG_DIR/settings.json, else ~/.claude/settings.json) that the IDE\n"
     "extensions use. --write merges ANTHROPIC_BASE_URL and one auth variable into the file\n"
     "as it is, keeping every other setting; the first write keeps a backup\n"
     "(settings.json.qcc.bak). --undo removes just those (restoring values they replaced).\n"
     "  --write   --undo    as above (--undo asks on a terminal; -y, --yes: do not ask)\n"
     "  -o, --table TABLE   --state-dir DIR   which qcc-run\n",
     "--write --undo -y|--yes -o|--table=TABLE --state-dir=DIR", 0, run_lifecycle},
    {"service install", "a hardened systemd unit for qcc-run (user unit by default), enabled and started",
     "usage: qccc service install [--user | --system] [-c FILE] [-o TABLE] [--state-dir DIR]\n"
     "                            [--run-as USER] [--root DIR] [--no-start]\n"
     "Build FILE (default ./qcc.yaml) into TABLE (default ./table.bin) and write a hardened\n"
     "systemd unit qcc-run.service running qcc-run on it, logs and pidfile in the state dir;\n"
     "a user unit (~/.config/systemd/user) unless --system (/etc/systemd/system, run as\n"
     "--run-as USER, default $SUDO_USER or you). Enables and starts it where systemd runs,\n"
     "else prints what to run. Keys named by api_key_env go in STATE_DIR/keys.env (VAR=value\n"
     "lines, mode 0600), which the unit reads.\n"
     "  --user, --system    which unit\n"
     "  -c, --config FILE   -o, --table TABLE   --state-dir DIR\n"
     "  --run-as USER       the user a --system unit runs as\n"
     "  --root DIR          write under DIR, never call systemctl (also $QCC_SERVICE_ROOT)\n"
     "  --no-start          write and enable, do not start\n",
     "--user --system -c|--config=FILE -o|--table=TABLE --state-dir=DIR --run-as=USER --root=DIR --no-start", 0,
     run_lifecycle},
    {"service uninstall", "stop and disable the unit, remove it",
     "usage: qccc service uninstall [--user | --system] [--root DIR] [-y]\n"
     "  --user, --system    which unit\n"
     "  --root DIR          under DIR, never call systemctl\n"
     "  -y, --yes           do not ask (it asks on a terminal)\n",
     "--user --system --root=DIR -y|--yes", 0, run_lifecycle},
    {"service status", "the unit and whether it serves",
     "usage: qccc service status [--user | --system] [--root DIR]\n"
     "  --user, --system    which unit\n"
     "  --root DIR          under DIR, never call systemctl\n",
     "--user --system --root=DIR", 0, run_lifecycle},

    /* ---- a running qcc-run ---- */
    {"status", "what qcc-run serves: generation, active profile, counters, config drift",
     "usage: qccc status [-c FILE] [--json] [--state-dir DIR]\n"
     "Ask qcc-run for its table generation, uptime, active profile and counters, and compare\n"
     "the config on disk (-c FILE, else $QCC_CONFIG, else ./qcc.yaml when it exists) with\n"
     "the table it serves: a warning says when an edit is not built yet or a rollback left\n"
     "the config ahead of the table.\n"
     "  -c, --config FILE the config to compare with the running table\n" OP_HELP,
     "-c|--config=FILE " OP_OPTS, 0, run_op},
    {"dashboard", "open the status page: a single-use login link to qcc-run's /qcc/",
     "usage: qccc dashboard [--no-open] [--state-dir DIR]\n"
     "Ask qcc-run for a login link to its status page (live state, timeline, queue, usage,\n"
     "actions), print it and open it with xdg-open when a display is available. The link\n"
     "works once, for 60 s, and sets a session cookie (docs/status-page.md).\n"
     "  --no-open         only print the link\n"
     "  --state-dir DIR   where admin.sock is (default $QCC_STATE_DIR, else ~/.qcc)\n",
     "--no-open --state-dir=DIR", 0, run_dashboard},
    {"logs", "the access log, the error log (--errors) or both (--all), filtered or followed",
     "usage: qccc logs [-f] [--endpoint ID] [--status N] [-n LINES] [--for SECONDS] [--file PATH]\n"
     "       qccc logs --errors [-n LINES] [-f] [--for S] [--level L] [--file PATH]\n"
     "       qccc logs --all [-n LINES] [--level L]\n"
     "Print the last LINES (default 20) requests of the access log (STATE_DIR/access.log).\n"
     "  --errors          qcc-run's error log instead (STATE_DIR/qcc-run.log: failovers,\n"
     "                    breakers, reloads, start-up problems)\n"
     "  --all             both, merged by time, each line with its level\n"
     "  --level L         debug, info, warning or error and above (a failed request: warning)\n"
     "  -f, --follow      keep printing new lines\n"
     "  --endpoint ID     only requests answered by ID\n"
     "  --status N        only requests answered with HTTP status N\n"
     "  -n, --lines N     how many lines\n"
     "  --for SECONDS     stop following after SECONDS\n"
     "  --file PATH       another access log\n" OP_HELP,
     "--errors --all --level=L -f|--follow --endpoint=ID --status=N -n|--lines=N --for=SECONDS --file=PATH "
     OP_OPTS, 0, run_logs},
    {"health status", "live health of every endpoint: state, breaker, latency, last error",
     "usage: qccc health status [--wide] [--json] [--state-dir DIR]\n"
     "Every endpoint's health, breaker (closed / open / ready to probe / half-open), success\n"
     "rate, latency and last error with its age.\n"
     "  --wide            do not fit the table to 100 columns\n" OP_HELP,
     "--wide " OP_OPTS, 0, run_op},
    {"health check", "probe every endpoint now, printing each as it answers",
     "usage: qccc health check [--reason TEXT] [--wide] [--json] [--state-dir DIR]\n"
     "Ask qcc-run to probe every endpoint now; each endpoint is printed as its check\n"
     "finishes, then the table of results. Exit 1 when one failed.\n"
     "  --reason TEXT     recorded in the journal\n"
     "  --wide            do not fit the table to 100 columns\n" OP_HELP,
     "--reason=TEXT --wide " OP_OPTS, 0, run_op},
    {"health history", "an endpoint's health changes and alerts, from the journal (qcc-run may be down)",
     "usage: qccc health history ENDPOINT [--since T] [--json] [--state-dir DIR]\n"
     "  --since T         an ISO time (UTC) or a duration back from now (1h, 2d)\n"
     "  --json            JSON lines\n" JOURNAL_HELP,
     "--since=T --json --state-dir=DIR", 0, run_journal},
    {"endpoint list", "endpoints: live state from qcc-run, else from the config",
     "usage: qccc endpoint list [PROFILE] [-c FILE] [--wide] [--json] [--state-dir DIR]\n"
     "List the endpoints (of PROFILE) with their live state; when qcc-run is not running, or\n"
     "with -c FILE, list them from the config.\n"
     "  -c, --config FILE list the config's endpoints\n"
     "  --wide            also GROUP, PRIO and INFLIGHT, and nothing cut to fit 100 columns\n" OP_HELP,
     "-c|--config=FILE --wide " OP_OPTS, 0, run_op},
    {"endpoint add", "add an endpoint to a profile (asks for what is missing on a terminal)",
     "usage: qccc endpoint add PROFILE [--from ID | --base-url URL | --preset NAME]\n"
     "                         [--key-env NAME | --key-file PATH] [--auth x-api-key|bearer]\n"
     "                         [--id ID] [--weight N] [--priority N] [--timeout D]\n"
     "  --from ID         copy an existing endpoint's URL and key reference\n"
     "  --base-url URL    the upstream's base URL\n"
     "  --preset NAME     a provider preset\n"
     "  --key-env NAME    the environment variable that holds the key\n"
     "  --key-file PATH   the file that holds the key\n"
     "  --auth STYLE      x-api-key or bearer\n"
     "  --id ID           the endpoint's id (unique in the config)\n"
     "  --weight N        load-balancing weight\n"
     "  --priority N      order inside the profile\n"
     "  --timeout D       request timeout (30s, 2m)\n" EDIT_HELP,
     "--from=ID --base-url=URL --preset=NAME --key-env=NAME --key-file=PATH --auth=STYLE --id=ID "
     "--weight=N --priority=N --timeout=D " EDIT_OPTS,
     QCCC_CMD_EDITS, run_edit},
    {"endpoint remove", "remove an endpoint from the config",
     "usage: qccc endpoint remove ID [-c FILE] [-y] [--build]\n" EDIT_HELP, EDIT_OPTS,
     QCCC_CMD_EDITS, run_edit},
    {"endpoint enable", "put a disabled endpoint back into rotation (live, not in the config)",
     "usage: qccc endpoint enable ID [--reason TEXT] [--json] [--state-dir DIR]\n"
     "  --reason TEXT     recorded in the journal\n" OP_HELP,
     "--reason=TEXT " OP_OPTS, 0, run_op},
    {"endpoint disable", "take an endpoint out of rotation now (live, not in the config)",
     "usage: qccc endpoint disable ID [--reason TEXT] [--json] [--state-dir DIR]\n"
     "  --reason TEXT     recorded in the journal\n" OP_HELP,
     "--reason=TEXT " OP_OPTS, 0, run_op},
    {"endpoint test", "send one request to an endpoint directly; one verdict line",
     "usage: qccc endpoint test [PROFILE] ID [-c FILE] [--verbose] [--json] [--timeout SECONDS]\n"
     "Ask the endpoint ID of the config for its model list (GET /v1/models) straight from\n"
     "qccc, with the config's key reference, TLS and proxy settings; qcc-run need not run.\n"
     "Prints one line: the verdict, HTTP status, latency and model count.\n"
     "  -c, --config FILE the config (default $QCC_CONFIG, else qcc.yaml)\n"
     "  -v, --verbose     also the URL, TLS and proxy used and the first models\n"
     "  --json            the result as JSON\n"
     "  --timeout SECONDS give up after SECONDS (default 15)\n"
     "Exit: 0 the endpoint answered 2xx, 1 it did not, 2 usage or config trouble.\n",
     "-c|--config=FILE -v|--verbose --json --timeout=SECONDS", 0, qccc_cmd_endpoint_test},
    {"profile add", "add a profile (a group of endpoints)",
     "usage: qccc profile add NAME [--description TEXT] [--priority GROUP] [-c FILE] [-y] [--build]\n"
     "  --description TEXT\n"
     "  --priority GROUP  primary, secondary or fallback\n" EDIT_HELP,
     "--description=TEXT --priority=GROUP " EDIT_OPTS, QCCC_CMD_EDITS, run_edit},
    {"profile remove", "remove a profile and its endpoints",
     "usage: qccc profile remove NAME [-c FILE] [-y] [--build]\n" EDIT_HELP, EDIT_OPTS,
     QCCC_CMD_EDITS, run_edit},
    {"priority list", "profiles by group; the one serving is starred",
     "usage: qccc priority list [--json] [--state-dir DIR]\n" OP_HELP, OP_OPTS, 0, run_op},
    {"priority set", "move a profile to primary, secondary or fallback (in the config)",
     "usage: qccc priority set PROFILE primary|secondary|fallback [-c FILE] [-y] [--build]\n" EDIT_HELP,
     EDIT_OPTS, QCCC_CMD_EDITS, run_edit},
    {"priority switch", "pin a profile now, or --auto to resume automatic switching",
     "usage: qccc priority switch PROFILE [--reason TEXT] | switch --auto [--reason TEXT]\n"
     "                            [--json] [--state-dir DIR]\n"
     "  --reason TEXT     recorded in the journal\n"
     "  --auto            unpin: switch automatically again\n" OP_HELP,
     "--reason=TEXT --auto " OP_OPTS, 0, run_op},
    {"priority history", "profile switches, from the journal (qcc-run may be down)",
     "usage: qccc priority history [--since T] [--json] [--state-dir DIR]\n"
     "  --since T         an ISO time (UTC) or a duration back from now (1h, 2d)\n"
     "  --json            JSON lines\n" JOURNAL_HELP,
     "--since=T --json --state-dir=DIR", 0, run_journal},
    {"policy", "failover policy: auto failover/recovery, threshold, cooldown (in the config)",
     "usage: qccc policy [--[no-]auto-failover] [--[no-]auto-recovery] [--failure-threshold N]\n"
     "                   [--cooldown D] [-c FILE] [-y] [--build]\n"
     "Without options, show the policy.\n"
     "  --auto-failover, --no-auto-failover   switch groups when one has no endpoint left\n"
     "  --auto-recovery, --no-auto-recovery   come back once it is healthy again\n"
     "  --failure-threshold N                 failures before an endpoint's breaker opens\n"
     "  --cooldown D                          how long a group must stay healthy (300s, 5m)\n" EDIT_HELP,
     "--auto-failover --no-auto-failover --auto-recovery --no-auto-recovery --failure-threshold=N "
     "--cooldown=D " EDIT_OPTS,
     QCCC_CMD_EDITS, run_edit},
    {"queue status", "the retry queue: depth, retrying, dead letters",
     "usage: qccc queue status [--json] [--state-dir DIR]\n" OP_HELP, OP_OPTS, 0, run_op},
    {"queue list", "requests waiting for a retry and dead letters",
     "usage: qccc queue list [--wide] [--json] [--state-dir DIR]\n"
     "  --wide            do not shorten columns to 100 characters\n" OP_HELP,
     "--wide " OP_OPTS, 0, run_op},
    {"queue retry", "replay one dead letter now",
     "usage: qccc queue retry ID [--reason TEXT] [--json] [--state-dir DIR]\n"
     "  --reason TEXT     recorded in the journal\n" OP_HELP,
     "--reason=TEXT " OP_OPTS, 0, run_op},
    {"queue retry-all", "replay every dead letter now",
     "usage: qccc queue retry-all [--json] [--state-dir DIR]\n" OP_HELP, OP_OPTS, 0, run_op},
    {"queue clear", "drop every dead letter (asks first)",
     "usage: qccc queue clear [-y] [--json] [--state-dir DIR]\n"
     "  -y, --yes         do not ask\n" OP_HELP,
     "-y|--yes " OP_OPTS, 0, run_op},
    {"config get", "print one setting", "usage: qccc config get KEY [-c FILE]\n" EDIT_HELP,
     EDIT_OPTS, 0, run_edit},
    {"config set", "change one setting", "usage: qccc config set KEY VALUE [-c FILE] [-y] [--build]\n" EDIT_HELP,
     EDIT_OPTS, QCCC_CMD_EDITS, run_edit},
    {"config list", "every setting with its value or default",
     "usage: qccc config list [-c FILE]\n" EDIT_HELP, EDIT_OPTS, 0, run_edit},
    {"config reset", "back to the default: one setting, or all (asks first)",
     "usage: qccc config reset [KEY] [-c FILE] [-y] [--build]\n" EDIT_HELP, EDIT_OPTS,
     QCCC_CMD_EDITS, run_edit},
    {"config export", "write the config with defaults spelled out, keys as references",
     "usage: qccc config export FILE [-c FILE]\n" EDIT_HELP, EDIT_OPTS, 0, run_edit},
    {"config import", "replace qcc.yaml with another qcc YAML file (validated first)",
     "usage: qccc config import FILE [-c FILE] [-y] [--build]\n"
     "(For the Python qcc's config.json, use `qccc migrate`.)\n" EDIT_HELP,
     EDIT_OPTS, QCCC_CMD_EDITS, run_edit},
    {"config validate", "the same as `qccc validate`",
     "usage: qccc config validate [-c FILE]\n" EDIT_HELP, EDIT_OPTS, 0, run_edit},
    {"usage", "tokens and cost by endpoint, profile, model, client, session, hour, day",
     "usage: qccc usage [--since T] [--until T] [--by KEY]... [--json|--csv] [--tz ZONE]\n"
     "                  [--state-dir DIR]\n"
     "       qccc usage export FILE [--since T] [--until T] [--by KEY]...   (.csv or .json)\n"
     "Reads STATE_DIR/usage.qu directly: works while qcc-run is down (docs/usage.md).\n"
     "  --since T         24h, 7d, a date (2026-12-01, midnight in ZONE) or an ISO time (UTC)\n"
     "  --until T         the same; the end (excluded)\n"
     "  --by KEY          endpoint (default), profile, model, client, session, hour, day,\n"
     "                    request, requested_model; repeat it or separate keys with commas\n"
     "                    (at most 5)\n"
     "  --json            JSON (times in UTC)\n"
     "  --csv             CSV (times in UTC)\n"
     "  --tz ZONE         hours, days and dates in ZONE (IANA name or local); default the\n"
     "                    usage.timezone of the table qcc-run serves, else local time\n"
     "  --state-dir DIR   where usage.qu is (default $QCC_STATE_DIR, else ~/.qcc)\n",
     "--since=T --until=T --by=KEY --json --csv --tz=ZONE --state-dir=DIR", 0, run_usage},
    {"journal check", "verify the journal; --fix cuts a torn tail",
     "usage: qccc journal check [--fix] [--state-dir DIR]\n"
     "  --fix             cut a torn tail (keeps a copy)\n" JOURNAL_HELP,
     "--fix --state-dir=DIR", 0, run_journal},
    {"journal show", "print the journal's records",
     "usage: qccc journal show [--since T] [--type T[,T...]] [--json] [--state-dir DIR]\n"
     "  --since T         an ISO time (UTC) or a duration back from now (1h, 2d)\n"
     "  --type T          only these record types\n"
     "  --json            JSON lines\n" JOURNAL_HELP,
     "--since=T --type=T --json --state-dir=DIR", 0, run_journal},
};

static const struct qccc_spelling spellings[] = {
    /* the seed plan's (proxy-plan.zh.md) spellings */
    {"priority policy", "policy", NULL},
    {"proxy status", "status", NULL},
    {"proxy logs", "logs", NULL},
    {"add", "profile add", NULL},
    {"remove", "profile remove", NULL},
    {"list", "priority list", NULL},
    {"proxy start", "start", NULL},
    {"proxy stop", "stop", NULL},
    {"proxy restart", "restart", NULL},
    {"proxy reload", "reload", NULL},
    {"install-service", "service install", NULL},
    {"use", NULL, "`qccc run` runs Claude Code through qcc; `qccc priority switch PROFILE` pins a profile"},
    {"health config", NULL, "`qccc config list` shows the health.* settings, `qccc config set health.check_interval 30s` changes one"},
    {"queue config", NULL, "`qccc config set queue.retry_strategy fixed_interval` (see `qccc config list` for the queue.* settings)"},
    {"endpoint stats", "usage", NULL},
    {"stats", "usage", NULL},
    {"fc", NULL, "`qccc endpoint add PROFILE --preset NAME` (a provider preset)"},
    {"import", "migrate", NULL}, /* the issue-16 spelling: qccc import ~/.qcc/config.json */
    {"benchmark", NULL, "no benchmark command: tools/load-test or `qccc logs` latencies"},
};

/* Groups: the first word of a two-word path. */
static const struct {
  const char *name, *summary;
} groups[] = {
    {"health", "endpoint health: live, probe now, history"},
    {"endpoint", "endpoints: list, add, remove, enable, disable, test"},
    {"profile", "profiles (groups of endpoints): add, remove"},
    {"priority", "which profile serves: list, set, switch, history"},
    {"queue", "the retry queue and its dead letters"},
    {"config", "read and change qcc.yaml's settings"},
    {"service", "qcc-run as a systemd service: install, uninstall, status"},
    {"journal", "qcc-run's event journal (works while it is down)"},
};

const struct qccc_cmd *qccc_commands(size_t *count) {
  *count = sizeof cmds / sizeof cmds[0];
  return cmds;
}

const struct qccc_spelling *qccc_spellings(size_t *count) {
  *count = sizeof spellings / sizeof spellings[0];
  return spellings;
}

const struct qccc_cmd *qccc_command_find(const char *words) {
  for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
    if (strcmp(cmds[i].path, words) == 0) return &cmds[i];
  return NULL;
}

static const char *group_summary(const char *name) {
  for (size_t i = 0; i < sizeof groups / sizeof groups[0]; i++)
    if (strcmp(groups[i].name, name) == 0) return groups[i].summary;
  return NULL;
}

/* The group of PATH ("endpoint" for "endpoint add"), or "" for one word. */
static size_t group_len(const char *path) {
  const char *sp = strchr(path, ' ');
  return sp != NULL ? (size_t)(sp - path) : 0;
}

static bool in_group(const struct qccc_cmd *c, const char *group) {
  size_t n = group_len(c->path);
  return n > 0 && strlen(group) == n && strncmp(c->path, group, n) == 0;
}

static void group_help(const char *group, FILE *out) {
  fprintf(out, "usage: qccc %s COMMAND [OPTIONS]   (qccc %s COMMAND --help for its options)\n%s\n\n",
          group, group, group_summary(group));
  for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
    if (in_group(&cmds[i], group))
      fprintf(out, "  %-18s %s\n", cmds[i].path, cmds[i].summary);
}

int qccc_help(const char *path, FILE *out) {
  const struct qccc_cmd *c = qccc_command_find(path);
  if (c != NULL) {
    fputs(c->usage, out);
    return EXIT_OK;
  }
  if (group_summary(path) != NULL) {
    group_help(path, out);
    return EXIT_OK;
  }
  return EXIT_USAGE;
}

static size_t command_index(const char *path) {
  for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
    if (strcmp(cmds[i].path, path) == 0) return i;
  return sizeof cmds / sizeof cmds[0];
}

static void main_usage(FILE *out) {
  fprintf(out, "usage: qccc COMMAND [OPTIONS]   (qccc COMMAND --help for its options)\n");
  /* The table's order makes the sections: each starts at its first command. */
  static const struct {
    const char *title, *first;
  } sections[] = {
      {"configs and tables (no qcc-run needed):", "init"},
      {"running qcc-run and Claude Code through it (files in the state dir):", "start"},
      {"a running qcc-run (admin socket in the state dir), and editing qcc.yaml:", "status"},
  };
  size_t nsec = sizeof sections / sizeof sections[0], ncmd = sizeof cmds / sizeof cmds[0];
  for (size_t s = 0; s < nsec; s++) {
    fprintf(out, "\n%s\n", sections[s].title);
    size_t from = command_index(sections[s].first);
    size_t to = s + 1 < nsec ? command_index(sections[s + 1].first) : ncmd;
    for (size_t i = from; i < to; i++) {
      size_t g = group_len(cmds[i].path);
      if (g == 0) {
        fprintf(out, "  %-18s %s\n", cmds[i].path, cmds[i].summary);
        continue;
      }
      bool first = true; /* a group: once, at its first command */
      for (size_t k = from; k < i; k++)
        if (group_len(cmds[k].path) == g && strncmp(cmds[k].path, cmds[i].path, g) == 0) first = false;
      if (!first) continue;
      char name[32];
      snprintf(name, sizeof name, "%.*s", (int)g, cmds[i].path);
      fprintf(out, "  %-18s %s\n", name, group_summary(name));
    }
  }
  fprintf(out, "\n`qccc GROUP` lists a group's commands; `qccc --version` prints the version.\n");
}

/* ---- did you mean ---------------------------------------------------------- */

size_t qccc_edit_distance(const char *a, const char *b) {
  size_t n = strlen(a), m = strlen(b);
  if (n > 100 || m > 100) return 100;
  size_t row[101];
  for (size_t j = 0; j <= m; j++) row[j] = j;
  for (size_t i = 1; i <= n; i++) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= m; j++) {
      size_t up = row[j];
      size_t best = diag + (a[i - 1] != b[j - 1]);
      if (up + 1 < best) best = up + 1;
      if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
      row[j] = best;
      diag = up;
    }
  }
  return row[m];
}

/* Close enough to be a typo: a third of the word, at least 1, at most 3. */
static bool close_to(const char *typed, const char *name) {
  size_t lim = strlen(typed) / 3;
  if (lim < 1) lim = 1;
  if (lim > 3) lim = 3;
  if (strlen(typed) >= 3 && strncmp(name, typed, strlen(typed)) == 0) return true; /* a prefix */
  return qccc_edit_distance(typed, name) <= lim;
}

/* Suggestions for the first word WORD: top-level commands and groups. */
static void suggest_top(const char *word, FILE *err) {
  int n = 0;
  for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
    char first[32];
    size_t g = group_len(cmds[i].path);
    snprintf(first, sizeof first, "%.*s", (int)(g ? g : strlen(cmds[i].path)), cmds[i].path);
    bool seen = false;
    for (size_t k = 0; k < i && !seen; k++) {
      size_t gk = group_len(cmds[k].path);
      seen = strlen(first) == (gk ? gk : strlen(cmds[k].path)) && strncmp(cmds[k].path, first, strlen(first)) == 0;
    }
    if (seen || !close_to(word, first)) continue;
    fprintf(err, "%s `qccc %s`", n == 0 ? "  did you mean" : " or", first);
    n++;
  }
  if (n > 0) fprintf(err, "?\n");
}

static void suggest_sub(const char *group, const char *word, FILE *err) {
  int n = 0;
  for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
    if (!in_group(&cmds[i], group) || !close_to(word, cmds[i].path + strlen(group) + 1)) continue;
    fprintf(err, "%s `qccc %s`", n == 0 ? "  did you mean" : " or", cmds[i].path);
    n++;
  }
  if (n > 0) fprintf(err, "?\n");
}

/* ---- options ----------------------------------------------------------------- */

/* Does options string OPTS list NAME ("--config", "-c")? *VALUE: it takes one. */
static bool option_known(const char *opts, const char *name, size_t nl, bool *value) {
  const char *p = opts;
  while (*p) {
    while (*p == ' ') p++;
    const char *end = p + strcspn(p, " ");
    const char *eq = memchr(p, '=', (size_t)(end - p));
    const char *names_end = eq != NULL ? eq : end;
    for (const char *q = p; q < names_end;) {
      const char *bar = memchr(q, '|', (size_t)(names_end - q));
      const char *ne = bar != NULL ? bar : names_end;
      if ((size_t)(ne - q) == nl && strncmp(q, name, nl) == 0) {
        *value = eq != NULL;
        return true;
      }
      q = ne + (bar != NULL);
    }
    p = end;
  }
  return false;
}

static void suggest_option(const char *opts, const char *typed, size_t tl, FILE *err) {
  char t[64];
  snprintf(t, sizeof t, "%.*s", (int)(tl < 63 ? tl : 63), typed);
  const char *best = NULL;
  size_t best_len = 0, best_d = 100;
  const char *p = opts;
  while (*p) {
    while (*p == ' ') p++;
    size_t len = strcspn(p, " =|");
    char name[64];
    for (;;) { /* each spelling of the token */
      snprintf(name, sizeof name, "%.*s", (int)(len < 63 ? len : 63), p);
      size_t d = qccc_edit_distance(t, name);
      if (d < best_d) {
        best_d = d;
        best = p;
        best_len = len;
      }
      if (p[len] != '|') break;
      p += len + 1;
      len = strcspn(p, " =|");
    }
    p += strcspn(p, " ");
  }
  size_t lim = strlen(t) / 3 < 1 ? 1 : strlen(t) / 3 > 3 ? 3 : strlen(t) / 3;
  if (best != NULL && best_d <= lim) fprintf(err, "  did you mean %.*s?\n", (int)best_len, best);
}

/* Check ARGV (the words after the command path) against C's options before
 * the command parses them, so every command gets --help and "did you mean"
 * the same way. 0 = go on; else the exit code (help printed, or an error). */
static int check_options(const struct qccc_cmd *c, int argc, char **argv) {
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--") == 0) break;
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      fputs(c->usage, stdout);
      return -1;
    }
  }
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--") == 0) break;
    if (a[0] != '-' || a[1] == '\0' || (a[1] >= '0' && a[1] <= '9')) continue;
    size_t nl = strcspn(a, "=");
    bool value = false;
    if (!option_known(c->options, a, nl, &value)) {
      fprintf(stderr, "qccc %s: unknown option %.*s\n", c->path, (int)nl, a);
      suggest_option(c->options, a, nl, stderr);
      fprintf(stderr, "  hint: run `qccc %s --help`\n", c->path);
      return EXIT_USAGE;
    }
    if (value && a[nl] != '=') i++; /* its value may start with '-' */
  }
  return 0;
}

/* ---- completion -------------------------------------------------------------- */

/* Words that may follow WORDS ("" = the first word), space separated. */
static void next_words(const char *group, FILE *out) {
  bool first = true;
  for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
    const char *w;
    size_t wl;
    if (group[0] == '\0') {
      w = cmds[i].path;
      size_t g = group_len(w);
      wl = g ? g : strlen(w);
      bool seen = false;
      for (size_t k = 0; k < i && !seen; k++) {
        size_t gk = group_len(cmds[k].path);
        seen = wl == (gk ? gk : strlen(cmds[k].path)) && strncmp(cmds[k].path, w, wl) == 0;
      }
      if (seen) continue;
    } else {
      if (!in_group(&cmds[i], group)) continue;
      w = cmds[i].path + strlen(group) + 1;
      wl = strlen(w);
    }
    fprintf(out, "%s%.*s", first ? "" : " ", (int)wl, w);
    first = false;
  }
}

static void option_words(const char *opts, FILE *out) {
  const char *p = opts;
  bool first = true;
  while (*p) {
    while (*p == ' ') p++;
    size_t len = strcspn(p, " =|");
    if (len > 0) fprintf(out, "%s%.*s", first ? "" : " ", (int)len, p);
    first = false;
    p += len;
    if (*p == '|') p++;
    else p += strcspn(p, " ");
  }
  fprintf(out, "%s--help", first ? "" : " ");
}

static void completion_bash(FILE *out) {
  fprintf(out, "# qccc completion for bash (generated by `qccc completion bash`)\n_qccc() {\n"
               "  local cur=${COMP_WORDS[COMP_CWORD]} w1=${COMP_WORDS[1]} w2=${COMP_WORDS[2]} words\n"
               "  if [ \"$COMP_CWORD\" -eq 1 ]; then words='");
  next_words("", out);
  fprintf(out, " --help --version'\n  else\n    case \"$w1 $w2\" in\n");
  for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
    if (group_len(cmds[i].path) == 0) continue;
    fprintf(out, "      '%s') words='", cmds[i].path);
    option_words(cmds[i].options, out);
    fprintf(out, "' ;;\n");
  }
  fprintf(out, "      *) case \"$w1\" in\n");
  for (size_t i = 0; i < sizeof groups / sizeof groups[0]; i++) {
    fprintf(out, "        %s) if [ \"$COMP_CWORD\" -eq 2 ]; then words='", groups[i].name);
    next_words(groups[i].name, out);
    fprintf(out, "'; else words=''; fi ;;\n");
  }
  for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
    if (group_len(cmds[i].path) != 0) continue;
    fprintf(out, "        %s) words='", cmds[i].path);
    if (strcmp(cmds[i].path, "completion") == 0) fputs("bash zsh fish", out);
    else option_words(cmds[i].options, out);
    fprintf(out, "' ;;\n");
  }
  fprintf(out, "      esac ;;\n    esac\n  fi\n"
               "  COMPREPLY=($(compgen -W \"$words\" -- \"$cur\"))\n"
               "  [ ${#COMPREPLY[@]} -eq 0 ] && COMPREPLY=($(compgen -f -- \"$cur\"))\n"
               "  return 0\n}\ncomplete -F _qccc qccc\n");
}

static void completion_zsh(FILE *out) {
  /* zsh runs bash completion functions through bashcompinit. */
  fprintf(out, "# qccc completion for zsh (generated by `qccc completion zsh`)\n"
               "autoload -U +X bashcompinit && bashcompinit\n");
  completion_bash(out);
}

static void completion_fish(FILE *out) {
  fprintf(out, "# qccc completion for fish (generated by `qccc completion fish`)\ncomplete -c qccc -f\n");
  fprintf(out, "complete -c qccc -n '__fish_use_subcommand' -l help -l version\n");
  for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
    size_t g = group_len(cmds[i].path);
    if (g == 0) {
      fprintf(out, "complete -c qccc -n '__fish_use_subcommand' -a '%s' -d '%s'\n", cmds[i].path,
              cmds[i].summary);
      continue;
    }
    bool first = true;
    for (size_t k = 0; k < i; k++)
      if (group_len(cmds[k].path) == g && strncmp(cmds[k].path, cmds[i].path, g) == 0) first = false;
    char group[32];
    snprintf(group, sizeof group, "%.*s", (int)g, cmds[i].path);
    if (first)
      fprintf(out, "complete -c qccc -n '__fish_use_subcommand' -a '%s' -d '%s'\n", group,
              group_summary(group));
    fprintf(out, "complete -c qccc -n '__fish_seen_subcommand_from %s; and not __fish_seen_subcommand_from",
            group);
    for (size_t k = 0; k < sizeof cmds / sizeof cmds[0]; k++)
      if (in_group(&cmds[k], group)) fprintf(out, " %s", cmds[k].path + g + 1);
    fprintf(out, "' -a '%s' -d '%s'\n", cmds[i].path + g + 1, cmds[i].summary);
  }
}

static int run_completion(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "qccc completion: expected one of bash, zsh, fish\n  hint: run `qccc completion --help`\n");
    return EXIT_USAGE;
  }
  if (strcmp(argv[1], "bash") == 0) completion_bash(stdout);
  else if (strcmp(argv[1], "zsh") == 0) completion_zsh(stdout);
  else if (strcmp(argv[1], "fish") == 0) completion_fish(stdout);
  else {
    fprintf(stderr, "qccc completion: unknown shell '%s'; bash, zsh or fish\n", argv[1]);
    return EXIT_USAGE;
  }
  return EXIT_OK;
}

/* ---- dispatch ------------------------------------------------------------------ */

/* Run C with the words from ARGV (ARGV[0] is the first word of the path). */
static int run_cmd(const struct qccc_cmd *c, int argc, char **argv) {
  int words = group_len(c->path) ? 2 : 1;
  int rc = check_options(c, argc - words, argv + words);
  if (rc != 0) return rc < 0 ? EXIT_OK : rc;
  optind = 0; /* glibc: full reinitialisation of getopt */
  if (c->flags & QCCC_CMD_EDITS) return run_edit_live(c, argc, argv);
  return c->run(argc, argv);
}

/* ARGV (the words after "qccc") rewritten by a spelling of the seed plan:
 * "priority policy --auto-failover" runs "policy --auto-failover". */
static int run_spelling(const struct qccc_spelling *s, size_t spelled_words, int argc, char **argv) {
  if (s->target == NULL) {
    fprintf(stderr, "qccc: `%s` is the seed plan's spelling; here: %s\n", s->words, s->note);
    return EXIT_USAGE;
  }
  const struct qccc_cmd *c = qccc_command_find(s->target);
  if (c == NULL) return EXIT_USAGE;
  int target_words = group_len(c->path) ? 2 : 1;
  char **nargv = calloc((size_t)argc + 2, sizeof *nargv);
  if (nargv == NULL) return EXIT_USAGE;
  char w0[32], w1[32];
  size_t g = group_len(c->path);
  snprintf(w0, sizeof w0, "%.*s", (int)(g ? g : strlen(c->path)), c->path);
  snprintf(w1, sizeof w1, "%s", g ? c->path + g + 1 : "");
  int n = 0;
  nargv[n++] = w0;
  if (target_words == 2) nargv[n++] = w1;
  for (int i = (int)spelled_words; i < argc; i++) nargv[n++] = argv[i];
  int rc = run_cmd(c, n, nargv);
  free(nargv);
  return rc;
}

static const struct qccc_spelling *find_spelling(const char *words) {
  for (size_t i = 0; i < sizeof spellings / sizeof spellings[0]; i++)
    if (strcmp(spellings[i].words, words) == 0) return &spellings[i];
  return NULL;
}

int qccc_main(int argc, char **argv) {
  if (argc < 2) {
    main_usage(stderr);
    return EXIT_USAGE;
  }
  const char *w0 = argv[1];
  const char *w1 = argc > 2 ? argv[2] : NULL;
  if (strcmp(w0, "--help") == 0 || strcmp(w0, "-h") == 0) {
    main_usage(stdout);
    return EXIT_OK;
  }
  if (strcmp(w0, "--version") == 0 || strcmp(w0, "version") == 0) {
    printf("qccc %s (table format %d.%d)\n", QCC_VERSION, QCC_TABLE_MAJOR, QCC_TABLE_MINOR);
    return EXIT_OK;
  }
  if (strcmp(w0, "help") == 0) {
    if (argc == 2) {
      main_usage(stdout);
      return EXIT_OK;
    }
    if (strcmp(argv[2], "--commands") == 0) { /* for tests and scripts: PATH<TAB>OPTIONS */
      for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        printf("%s\t", cmds[i].path);
        option_words(cmds[i].options, stdout);
        printf("\n");
      }
      return EXIT_OK;
    }
    if (strcmp(argv[2], "--spellings") == 0) { /* the seed plan's: WORDS<TAB>TARGET or - */
      for (size_t i = 0; i < sizeof spellings / sizeof spellings[0]; i++)
        printf("%s\t%s\n", spellings[i].words, spellings[i].target ? spellings[i].target : "-");
      return EXIT_OK;
    }
    char path[128];
    snprintf(path, sizeof path, "%s%s%s", argv[2], argc > 3 ? " " : "", argc > 3 ? argv[3] : "");
    if (qccc_help(path, stdout) == EXIT_OK) return EXIT_OK;
    fprintf(stderr, "qccc help: no command '%s'\n", path);
    suggest_top(argv[2], stderr);
    return EXIT_USAGE;
  }
  char two[128];
  if (w1 != NULL) {
    snprintf(two, sizeof two, "%s %s", w0, w1);
    const struct qccc_cmd *c = qccc_command_find(two);
    if (c != NULL) return run_cmd(c, argc - 1, argv + 1);
    const struct qccc_spelling *s = find_spelling(two);
    if (s != NULL) return run_spelling(s, 2, argc - 1, argv + 1);
  }
  const struct qccc_cmd *c = qccc_command_find(w0);
  if (c != NULL) return run_cmd(c, argc - 1, argv + 1);
  if (group_summary(w0) != NULL) {
    if (w1 == NULL || strcmp(w1, "--help") == 0 || strcmp(w1, "-h") == 0) {
      group_help(w0, stdout);
      return EXIT_OK;
    }
    fprintf(stderr, "qccc %s: unknown command '%s'\n", w0, w1);
    suggest_sub(w0, w1, stderr);
    fprintf(stderr, "  hint: run `qccc %s` for its commands\n", w0);
    return EXIT_USAGE;
  }
  const struct qccc_spelling *s = find_spelling(w0);
  if (s != NULL) return run_spelling(s, 1, argc - 1, argv + 1);
  if (strcmp(w0, "proxy") == 0) { /* the seed plan's group: its spellings above */
    bool help = w1 != NULL && (strcmp(w1, "--help") == 0 || strcmp(w1, "-h") == 0);
    FILE *out = help ? stdout : stderr;
    if (w1 != NULL && !help) fprintf(stderr, "qccc proxy: unknown command '%s'\n", w1);
    fprintf(out, "usage: qccc proxy start|stop|restart|reload|status|logs [OPTIONS]\n"
                 "The seed plan's spellings of `qccc start`, `stop`, `restart`, `reload`, `status`, `logs`.\n");
    return help ? EXIT_OK : EXIT_USAGE;
  }
  fprintf(stderr, "qccc: unknown command '%s'\n", w0);
  suggest_top(w0, stderr);
  fprintf(stderr, "  hint: run `qccc --help` for the list\n");
  return EXIT_USAGE;
}
