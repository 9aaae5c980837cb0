/* The client side: pointing Claude Code at qcc-run.
 *
 *   run [-c FILE] [-o TABLE] [--state-dir DIR] [-- COMMAND ARGS]   (default: claude)
 *   env [--shell bash|zsh|fish] [-o TABLE] [--state-dir DIR]
 *   claude-settings [--write | --undo] [-o TABLE] [--state-dir DIR]
 *
 * The client gets ANTHROPIC_BASE_URL and ANTHROPIC_AUTH_TOKEN: the first of
 * proxy.auth_tokens when configured (read from its env/file reference),
 * else a placeholder qcc-run accepts (it sends the endpoint's key upstream).
 * ANTHROPIC_API_KEY is removed, so Claude Code does not send it instead.
 *
 * claude-settings edits the "env" block of Claude Code's settings.json
 * ($CLAUDE_CONFIG_DIR/settings.json, else ~/.claude/settings.json) for the
 * IDE extensions: it merges only ANTHROPIC_BASE_URL and one auth variable
 * (ANTHROPIC_AUTH_TOKEN, or ANTHROPIC_API_KEY when the file already uses
 * that one), keeps every other setting and the key order, takes a backup
 * (settings.json.qcc.bak) unless the file already points at qcc, and
 * records what it changed in settings.json.qcc-undo so --undo takes out
 * just that (restoring a value it replaced). */
#ifndef QCC_COMPILER_CLIENTENV_H
#define QCC_COMPILER_CLIENTENV_H

#include <stdbool.h>
#include <stdio.h>

bool qccc_clientenv_handles(const char *cmd);
/* argv[0] is the command word. `run` replaces the process with COMMAND on
 * success (its exit status is the command's). Returns the exit code. */
int qccc_clientenv_cmd(int argc, char **argv, FILE *out, FILE *err);

#endif
